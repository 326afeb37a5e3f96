//! The options of the link methods (AddVeth, AddMacvlan, AddBridge, AddVlan)
//! and their `a{sv}` form.
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `mtu` | u | kernel's | MTU, 68..=65535 |
//! | `up` | b | false | bring the link up once created |
//! | `peer-up` | b | false | veth: bring the peer end up too |
//! | `stable-mac` | b | false | MAC derived from the namespace and interface names |
//! | `mode` | s | `bridge` | macvlan mode: bridge, private, vepa, passthru, source |

use std::str::FromStr;

use crate::Error;
use crate::dict::{Dict, Dictionary};
use crate::validate;

/// The keys of a link options dictionary.
pub mod key {
    pub const MTU: &str = "mtu";
    pub const UP: &str = "up";
    pub const PEER_UP: &str = "peer-up";
    pub const STABLE_MAC: &str = "stable-mac";
    pub const MODE: &str = "mode";
}

/// macvlan modes (`ip link add … type macvlan mode MODE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MacvlanMode {
    Private,
    Vepa,
    #[default]
    Bridge,
    Passthru,
    Source,
}

impl MacvlanMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MacvlanMode::Private => "private",
            MacvlanMode::Vepa => "vepa",
            MacvlanMode::Bridge => "bridge",
            MacvlanMode::Passthru => "passthru",
            MacvlanMode::Source => "source",
        }
    }
}

impl FromStr for MacvlanMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "private" => MacvlanMode::Private,
            "vepa" => MacvlanMode::Vepa,
            "bridge" => MacvlanMode::Bridge,
            "passthru" => MacvlanMode::Passthru,
            "source" => MacvlanMode::Source,
            _ => {
                return Err(format!(
                    "'{s}' is not a macvlan mode (bridge, private, vepa, passthru, source)"
                ));
            }
        })
    }
}

/// The options of the link-creating methods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkOptions {
    pub mtu: Option<u32>,
    pub up: bool,
    pub stable_mac: bool,
    pub macvlan_mode: MacvlanMode,
    /// veth: bring the peer end up too.
    pub peer_up: bool,
}

impl LinkOptions {
    /// The keys a caller may send.
    pub const KEYS: &'static [&'static str] =
        &[key::MTU, key::UP, key::PEER_UP, key::STABLE_MAC, key::MODE];

    /// Reads the options; `mode` is accepted for every kind and used by
    /// macvlan only.
    pub fn from_dict(dict: &Dictionary) -> Result<Self, Error> {
        let d = Dict::new(dict, "option", Self::KEYS)?;
        let mtu = d.u32(key::MTU)?;
        if let Some(m) = mtu {
            validate::mtu(m).map_err(|e| d.invalid(key::MTU, e))?;
        }
        let macvlan_mode = match d.str(key::MODE)? {
            Some(s) => s.parse().map_err(|e| d.invalid(key::MODE, e))?,
            None => MacvlanMode::default(),
        };
        Ok(LinkOptions {
            mtu,
            up: d.bool(key::UP)?.unwrap_or(false),
            stable_mac: d.bool(key::STABLE_MAC)?.unwrap_or(false),
            macvlan_mode,
            peer_up: d.bool(key::PEER_UP)?.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict::tests::{assert_invalid, dict, s, u};
    use zbus::wire::OwnedVariant;

    #[test]
    fn link_options() {
        assert_eq!(
            LinkOptions::from_dict(&Dictionary::new()).unwrap(),
            LinkOptions {
                mtu: None,
                up: false,
                stable_mac: false,
                macvlan_mode: MacvlanMode::Bridge,
                peer_up: false,
            }
        );
        let o = LinkOptions::from_dict(&dict(&[
            ("mtu", u(1400)),
            ("up", OwnedVariant::from(true)),
            ("stable-mac", OwnedVariant::from(true)),
            ("mode", s("private")),
        ]))
        .unwrap();
        assert_eq!(o.mtu, Some(1400));
        assert!(o.up && o.stable_mac);
        assert_eq!(o.macvlan_mode, MacvlanMode::Private);
        for m in ["bridge", "private", "vepa", "passthru", "source"] {
            let o = LinkOptions::from_dict(&dict(&[("mode", s(m))])).unwrap();
            assert_eq!(o.macvlan_mode.as_str(), m);
        }
    }

    #[test]
    fn link_options_refuse() {
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", s("1400"))])),
            &["option \"mtu\" must be u (uint32)", "not s"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", OwnedVariant::from(1400i32))])),
            &["option \"mtu\" must be u (uint32)", "not i"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", u(67))])),
            &["\"mtu\"", "68 (the IPv4 minimum)"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", u(70000))])),
            &["\"mtu\"", "65535"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("up", u(1))])),
            &["option \"up\" must be b (boolean)"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("stable-mac", s("yes"))])),
            &["option \"stable-mac\" must be b (boolean)"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mode", s("fast"))])),
            &["option \"mode\"", "'fast' is not a macvlan mode"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", u(1400)), ("colour", s("red"))])),
            &["unknown option \"colour\"", "mtu"],
        );
    }
}
