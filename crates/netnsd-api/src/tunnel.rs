//! The options of AddTunnel (GRE, IPIP and SIT tunnels: `ip link add NAME
//! type gre|ipip|sit local A remote B [ttl N] [key K]`) and their `a{sv}`
//! form.
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `remote` | s | – (required) | the far end's IPv4 address |
//! | `local` | s | any | the local IPv4 address the tunnel's packets leave from |
//! | `ttl` | u | inherit | 1..=255; 0 means inherit the inner packet's TTL |
//! | `key` | u | – | GRE only: the key for both directions |
//!
//! The link options of AddVeth and friends (`mtu`, `up`, `stable-mac`) are
//! accepted in the same dictionary.

use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::Error;
use crate::dict::{Dict, Dictionary};

/// The keys of a tunnel options dictionary (besides the link options).
pub mod key {
    pub const REMOTE: &str = "remote";
    pub const LOCAL: &str = "local";
    pub const TTL: &str = "ttl";
    pub const KEY: &str = "key";
}

/// Tunnel kinds: IPv4 outer headers, as iproute2's `type gre|ipip|sit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelKind {
    /// GRE over IPv4 (kernel module ip_gre).
    Gre,
    /// IPv4 in IPv4 (module ipip).
    Ipip,
    /// IPv6 in IPv4 (module sit).
    Sit,
}

impl TunnelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre",
            TunnelKind::Ipip => "ipip",
            TunnelKind::Sit => "sit",
        }
    }

    /// The kernel module that provides the kind.
    pub fn module(self) -> &'static str {
        match self {
            TunnelKind::Gre => "ip_gre",
            TunnelKind::Ipip => "ipip",
            TunnelKind::Sit => "sit",
        }
    }
}

impl FromStr for TunnelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "gre" => TunnelKind::Gre,
            "ipip" => TunnelKind::Ipip,
            "sit" => TunnelKind::Sit,
            _ => return Err(format!("'{s}' is not a tunnel kind (gre, ipip, sit)")),
        })
    }
}

/// The tunnel's own options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelOptions {
    pub remote: Ipv4Addr,
    pub local: Option<Ipv4Addr>,
    pub ttl: Option<u8>,
    pub key: Option<u32>,
}

impl TunnelOptions {
    pub const KEYS: &'static [&'static str] = &[key::REMOTE, key::LOCAL, key::TTL, key::KEY];

    /// Reads the tunnel keys of `dict`; `also` are further keys the caller
    /// reads itself (the link options).
    pub fn from_dict(kind: TunnelKind, dict: &Dictionary, also: &[&str]) -> Result<Self, Error> {
        let known: Vec<&str> = Self::KEYS.iter().chain(also).copied().collect();
        let d = Dict::new(dict, "option", &known)?;
        let addr = |k: &str| -> Result<Option<Ipv4Addr>, Error> {
            match d.str(k)? {
                None => Ok(None),
                Some(s) => s
                    .parse()
                    .map(Some)
                    .map_err(|_| d.invalid(k, format!("'{s}' is not an IPv4 address"))),
            }
        };
        let remote = addr(key::REMOTE)?.ok_or_else(|| {
            Error::InvalidArgument(format!(
                "option \"{}\" is required: the far end's IPv4 address",
                key::REMOTE
            ))
        })?;
        if remote.is_unspecified() || remote.is_multicast() || remote.is_broadcast() {
            return Err(d.invalid(key::REMOTE, format!("{remote} is not a unicast address")));
        }
        let local = addr(key::LOCAL)?;
        let ttl = match d.u32(key::TTL)? {
            None => None,
            Some(t) if t <= 255 => Some(t as u8),
            Some(t) => return Err(d.invalid(key::TTL, format!("{t} is outside 0-255"))),
        };
        let k = d.u32(key::KEY)?;
        if k.is_some() && kind != TunnelKind::Gre {
            return Err(d.invalid(
                key::KEY,
                format!("only GRE tunnels have keys, not {}", kind.as_str()),
            ));
        }
        Ok(TunnelOptions {
            remote,
            local,
            ttl,
            key: k,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict::tests::{assert_invalid, dict, s, u};

    #[test]
    fn tunnel_options() {
        let o = TunnelOptions::from_dict(
            TunnelKind::Gre,
            &dict(&[
                ("remote", s("192.0.2.1")),
                ("local", s("192.0.2.2")),
                ("ttl", u(64)),
                ("key", u(7)),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(o.remote, "192.0.2.1".parse::<Ipv4Addr>().unwrap());
        assert_eq!(o.local, Some("192.0.2.2".parse().unwrap()));
        assert_eq!((o.ttl, o.key), (Some(64), Some(7)));
        assert_eq!("sit".parse(), Ok(TunnelKind::Sit));
        assert_eq!(TunnelKind::Gre.module(), "ip_gre");
    }

    #[test]
    fn tunnel_options_refuse() {
        assert_invalid(
            TunnelOptions::from_dict(TunnelKind::Gre, &dict(&[]), &[]),
            &["\"remote\" is required"],
        );
        assert_invalid(
            TunnelOptions::from_dict(TunnelKind::Ipip, &dict(&[("remote", s("fd00::1"))]), &[]),
            &["remote", "not an IPv4 address"],
        );
        assert_invalid(
            TunnelOptions::from_dict(
                TunnelKind::Ipip,
                &dict(&[("remote", s("192.0.2.1")), ("key", u(1))]),
                &[],
            ),
            &["only GRE tunnels have keys"],
        );
        assert_invalid(
            TunnelOptions::from_dict(
                TunnelKind::Sit,
                &dict(&[("remote", s("192.0.2.1")), ("ttl", u(300))]),
                &[],
            ),
            &["ttl", "outside 0-255"],
        );
        assert!(
            "vxlan"
                .parse::<TunnelKind>()
                .unwrap_err()
                .contains("gre, ipip, sit")
        );
    }
}
