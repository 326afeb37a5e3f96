//! Port forwards from the uplink namespace (the host) into a namespace:
//! the `a{sv}` of `AddForward` and `GetForwards`, written once.
//!
//! Keys: `proto` s (`tcp`, `udp`; required), `host-port` u (1–65535;
//! required), `host-address` s (an IPv4 or IPv6 address of the host; absent:
//! every local address, both families), `port` u (1–65535; default
//! `host-port`). GetForwards adds `id` u, and `address` s / `address6` s,
//! the namespace's uplink addresses the forward goes to.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use zbus::wire::{OwnedVariant, Variant};

use crate::Error;
use crate::dict::{Dict, Dictionary, Reply, string_value};

pub const KEYS: &[&str] = &["proto", "host-port", "host-address", "port"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    pub fn parse(s: &str) -> Result<Proto, String> {
        match s {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            _ => Err(format!("{s:?} is not a protocol (tcp or udp)")),
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One forward: `host-address:host-port` of the host to `port` in the
/// namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    pub proto: Proto,
    pub host_port: u16,
    pub host_address: Option<IpAddr>,
    pub port: u16,
}

fn port(d: &Dict<'_>, key: &str) -> Result<Option<u16>, Error> {
    match d.u32(key)? {
        None => Ok(None),
        Some(p @ 1..=65535) => Ok(Some(p as u16)),
        Some(p) => Err(d.invalid(key, format!("port {p} is out of range (1-65535)"))),
    }
}

impl Forward {
    /// Reads an `AddForward` dictionary.
    pub fn from_dict(dict: &Dictionary) -> Result<Forward, Error> {
        let d = Dict::new(dict, "forward key", KEYS)?;
        let proto = d
            .str("proto")?
            .ok_or_else(|| d.invalid("proto", "is required (tcp or udp)"))?;
        let proto = Proto::parse(proto).map_err(|e| d.invalid("proto", e))?;
        let host_port =
            port(&d, "host-port")?.ok_or_else(|| d.invalid("host-port", "is required"))?;
        let host_address = match d.str("host-address")? {
            None | Some("") => None,
            Some(s) => {
                let a: IpAddr = s.parse().map_err(|_| {
                    d.invalid("host-address", format!("{s:?} is not an IP address"))
                })?;
                if a.is_loopback() || a.is_unspecified() || a.is_multicast() {
                    return Err(d.invalid(
                        "host-address",
                        format!("{a} is not usable (loopback, unspecified or multicast)"),
                    ));
                }
                Some(a)
            }
        };
        let port = port(&d, "port")?.unwrap_or(host_port);
        Ok(Forward {
            proto,
            host_port,
            host_address,
            port,
        })
    }

    /// The dictionary form (without `id` and the target addresses).
    pub fn to_dict(&self) -> Dictionary {
        let mut d = Dictionary::new();
        d.insert("proto".into(), string_value(self.proto.as_str()));
        d.insert("host-port".into(), u32_value(self.host_port.into()));
        if let Some(a) = self.host_address {
            d.insert("host-address".into(), string_value(a.to_string()));
        }
        d.insert("port".into(), u32_value(self.port.into()));
        d
    }

    /// Whether the two take the same host port: same protocol and port, and
    /// an address in common (no address is every address).
    pub fn clashes(&self, other: &Forward) -> bool {
        self.proto == other.proto
            && self.host_port == other.host_port
            && match (self.host_address, other.host_address) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

pub fn u32_value(n: u32) -> OwnedVariant {
    OwnedVariant::try_from(Variant::from(n)).expect("a u32 variant is always owned")
}

/// A forward as GetForwards lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardEntry {
    pub id: u32,
    pub forward: Forward,
    pub address: Option<String>,
    pub address6: Option<String>,
}

impl ForwardEntry {
    pub fn to_dict(&self) -> Dictionary {
        let mut d = self.forward.to_dict();
        d.insert("id".into(), u32_value(self.id));
        if let Some(a) = &self.address {
            d.insert("address".into(), string_value(a.clone()));
        }
        if let Some(a) = &self.address6 {
            d.insert("address6".into(), string_value(a.clone()));
        }
        d
    }

    pub fn from_reply(dict: Dictionary) -> Result<ForwardEntry, Error> {
        let mut r = Reply::new(dict, "forward");
        let id = r.u32("id")?.ok_or_else(|| r.invalid("id", "missing"))?;
        let proto = r
            .parsed("proto", Proto::parse)?
            .ok_or_else(|| r.invalid("proto", "missing"))?;
        let port16 = |r: &Reply, k: &str, v: Option<u32>| {
            v.and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| r.invalid(k, "missing or out of range"))
        };
        let hp = r.u32("host-port")?;
        let host_port = port16(&r, "host-port", hp)?;
        let p = r.u32("port")?;
        let port = port16(&r, "port", p)?;
        let host_address = r.parsed("host-address", |s| s.parse::<IpAddr>())?;
        let address = r.str("address")?;
        let address6 = r.str("address6")?;
        Ok(ForwardEntry {
            id,
            forward: Forward {
                proto,
                host_port,
                host_address,
                port,
            },
            address,
            address6,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(entries: &[(&str, OwnedVariant)]) -> Dictionary {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.try_clone().unwrap()))
            .collect()
    }

    #[test]
    fn forwards_are_read_and_bad_ones_refused_naming_the_key() {
        let f = Forward::from_dict(&dict(&[
            ("proto", string_value("udp")),
            ("host-port", u32_value(5353)),
        ]))
        .unwrap();
        assert_eq!(
            (f.proto, f.host_port, f.port, f.host_address),
            (Proto::Udp, 5353, 5353, None)
        );
        let back = Forward::from_dict(&f.to_dict()).unwrap();
        assert_eq!(back, f);

        let bad = |entries: &[(&str, OwnedVariant)], key: &str| {
            let e = Forward::from_dict(&dict(entries)).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
            assert!(e.message().contains(key), "{}", e.message());
        };
        bad(&[("host-port", u32_value(80))], "proto");
        bad(
            &[
                ("proto", string_value("sctp")),
                ("host-port", u32_value(80)),
            ],
            "proto",
        );
        bad(&[("proto", string_value("tcp"))], "host-port");
        bad(
            &[("proto", string_value("tcp")), ("host-port", u32_value(0))],
            "host-port",
        );
        bad(
            &[
                ("proto", string_value("tcp")),
                ("host-port", u32_value(70000)),
            ],
            "host-port",
        );
        bad(
            &[
                ("proto", string_value("tcp")),
                ("host-port", u32_value(80)),
                ("port", u32_value(65536)),
            ],
            "port",
        );
        bad(
            &[
                ("proto", string_value("tcp")),
                ("host-port", u32_value(80)),
                ("host-address", string_value("127.0.0.1")),
            ],
            "host-address",
        );
        bad(
            &[
                ("proto", string_value("tcp")),
                ("host-port", u32_value(80)),
                ("host-address", string_value("nope")),
            ],
            "host-address",
        );
        bad(
            &[
                ("proto", string_value("tcp")),
                ("host-port", u32_value(80)),
                ("color", u32_value(1)),
            ],
            "color",
        );
    }

    #[test]
    fn clashes_are_same_proto_port_and_a_common_address() {
        let f = |p, port, a: Option<&str>| Forward {
            proto: p,
            host_port: port,
            host_address: a.map(|a| a.parse().unwrap()),
            port: 1,
        };
        assert!(f(Proto::Tcp, 80, None).clashes(&f(Proto::Tcp, 80, Some("192.0.2.1"))));
        assert!(f(Proto::Tcp, 80, Some("192.0.2.1")).clashes(&f(
            Proto::Tcp,
            80,
            Some("192.0.2.1")
        )));
        assert!(!f(Proto::Tcp, 80, Some("192.0.2.1")).clashes(&f(
            Proto::Tcp,
            80,
            Some("192.0.2.2")
        )));
        assert!(!f(Proto::Tcp, 80, None).clashes(&f(Proto::Udp, 80, None)));
        assert!(!f(Proto::Tcp, 80, None).clashes(&f(Proto::Tcp, 81, None)));
    }
}
