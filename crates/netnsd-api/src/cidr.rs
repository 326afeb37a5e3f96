//! Addresses with a prefix ([`Cidr`]) and their [`Family`], as the daemon
//! reads them from callers and writes them in its answers: `10.0.0.1/24`,
//! `fd00::/64`; a bare address is a /32 or /128.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::Error;

/// IPv4 or IPv6; IPv4 where nothing tells (as `ip` has it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Family {
    #[default]
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The name `ip` uses: `inet` or `inet6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "inet",
            Family::V6 => "inet6",
        }
    }

    /// The longest prefix of an address of this family.
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    /// The family `ip` calls `s` (`inet`, `inet6`).
    pub fn from_name(s: &str) -> Option<Family> {
        match s {
            "inet" => Some(Family::V4),
            "inet6" => Some(Family::V6),
            _ => None,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// An address with a prefix length: `10.0.0.1/24`, `fd00::1/64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// The same prefix with the host bits cleared: 10.0.0.1/24 → 10.0.0.0/24.
    pub fn network(&self) -> Cidr {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Cidr {
            addr,
            prefix: self.prefix,
        }
    }

    /// True if the address has bits set past the prefix.
    pub fn has_host_bits(&self) -> bool {
        self.network() != *self
    }
}

impl FromStr for Cidr {
    type Err = String;

    /// `ADDR/PREFIX`, or a bare `ADDR` meaning /32 or /128.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("empty address".into());
        }
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("'{a}' is not an IPv4 or IPv6 address"))?;
        let max = Family::of(&addr).max_prefix();
        let prefix = match p {
            None => max,
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("prefix '{p}' of '{s}' is not a number"));
                }
                let n: u8 = p.parse().unwrap_or(u8::MAX);
                if n > max {
                    return Err(format!(
                        "prefix /{p} of '{s}' is longer than the {max} bits of an {} address",
                        Family::of(&addr)
                    ));
                }
                n
            }
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(msg.into())
}

/// Refuses a prefix with host bits set, as `ip route` does.
pub(crate) fn no_host_bits(what: &str, c: &Cidr) -> Result<(), Error> {
    if c.has_host_bits() {
        return Err(invalid(format!(
            "{what} {c} has host bits set; did you mean {}?",
            c.network()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: &str) -> IpAddr {
        a.parse().unwrap()
    }

    #[test]
    fn cidr_parses() {
        let c: Cidr = "10.0.0.1/24".parse().unwrap();
        assert_eq!(
            c,
            Cidr {
                addr: v4("10.0.0.1"),
                prefix: 24
            }
        );
        assert_eq!(c.family(), Family::V4);
        assert_eq!(c.to_string(), "10.0.0.1/24");
        assert_eq!(c.network().to_string(), "10.0.0.0/24");
        assert!(c.has_host_bits());

        let c: Cidr = "fd00::1/64".parse().unwrap();
        assert_eq!(c.family(), Family::V6);
        assert_eq!(c.network().to_string(), "fd00::/64");

        assert_eq!("10.0.0.1".parse::<Cidr>().unwrap().prefix, 32);
        assert_eq!("fd00::1".parse::<Cidr>().unwrap().prefix, 128);
        assert_eq!("::1".parse::<Cidr>().unwrap().to_string(), "::1/128");
        let zero: Cidr = "192.168.1.7/0".parse().unwrap();
        assert_eq!(zero.network().to_string(), "0.0.0.0/0");
        let full: Cidr = "192.168.1.7/32".parse().unwrap();
        assert!(!full.has_host_bits());
        let v6zero: Cidr = "fd00::7/0".parse().unwrap();
        assert_eq!(v6zero.network().to_string(), "::/0");
    }

    #[test]
    fn cidr_refuses() {
        for (bad, word) in [
            ("", "empty"),
            ("10.0.0.256/24", "not an IPv4 or IPv6 address"),
            ("nonsense", "not an IPv4 or IPv6 address"),
            ("10.0.0.1/33", "longer than the 32 bits"),
            ("fd00::1/129", "longer than the 128 bits"),
            ("10.0.0.1/", "not a number"),
            ("10.0.0.1/x", "not a number"),
            ("10.0.0.1/-1", "not a number"),
            ("10.0.0.1/99999", "not a number"),
            ("10.0.0.1/24/1", "not a number"),
            (" 10.0.0.1/24", "not an IPv4 or IPv6 address"),
            ("fe80::1%eth0/64", "not an IPv4 or IPv6 address"),
        ] {
            let e = bad.parse::<Cidr>().unwrap_err();
            assert!(e.contains(word), "{bad:?}: {e:?} should say {word:?}");
        }
    }
}
