//! Policy-routing rules: what AddRule and RemoveRule take ([`Rule`]) and what
//! GetRules answers ([`RuleEntry`]), and their `a{sv}` form.
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `family` | s | `inet` or `inet6`; taken from `from`/`to` when given |
//! | `from`, `to` | s | CIDR of the source / destination |
//! | `iif`, `oif` | s | input / output interface name |
//! | `fwmark`, `fwmask` | u | firewall mark and mask |
//! | `table` | u | table to look up (required, not 0) |
//! | `priority` | u | rule priority (`ip rule … pref`) |
//! | `action` | s | (GetRules only, when not a table lookup) blackhole, … |
//! | `invert` | b | (GetRules only, when set) the rule is negated (`not`) |
//! | `protocol` | s | (GetRules; RemoveRule may give it) who installed it: kernel, boot, netnsd, … |

use std::fmt;

use zbus::wire::OwnedVariant;

use crate::Error;
use crate::cidr::{Cidr, Family, invalid, no_host_bits};
use crate::dict::{Dict, Dictionary, Reply, string_value};
use crate::validate;

/// The keys of a rule dictionary.
pub mod key {
    pub const FAMILY: &str = "family";
    pub const FROM: &str = "from";
    pub const TO: &str = "to";
    pub const IIF: &str = "iif";
    pub const OIF: &str = "oif";
    pub const FWMARK: &str = "fwmark";
    pub const FWMASK: &str = "fwmask";
    pub const TABLE: &str = "table";
    pub const PRIORITY: &str = "priority";
    /// GetRules only, when the rule is not a table lookup.
    pub const ACTION: &str = "action";
    /// GetRules only, when set.
    pub const INVERT: &str = "invert";
    /// GetRules; RemoveRule may give it (default `netnsd`).
    pub const PROTOCOL: &str = "protocol";
}

/// A policy-routing rule: `ip rule add [from C] [to C] [iif I] [oif O]
/// [fwmark M[/MASK]] lookup TABLE [pref P]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    pub family: Family,
    pub from: Option<Cidr>,
    pub to: Option<Cidr>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub table: u32,
    pub priority: Option<u32>,
}

impl Rule {
    /// The keys a caller may send.
    pub const KEYS: &'static [&'static str] = &[
        key::FAMILY,
        key::FROM,
        key::TO,
        key::IIF,
        key::OIF,
        key::FWMARK,
        key::FWMASK,
        key::TABLE,
        key::PRIORITY,
    ];

    pub fn from_dict(dict: &Dictionary) -> Result<Self, Error> {
        let d = Dict::new(dict, "rule key", Self::KEYS)?;
        let from = d.cidr(key::FROM)?;
        let to = d.cidr(key::TO)?;
        for (key, c) in [(key::FROM, &from), (key::TO, &to)] {
            if let Some(c) = c {
                no_host_bits(&format!("rule key \"{key}\""), c)?;
            }
        }
        if let (Some(f), Some(t)) = (&from, &to)
            && f.family() != t.family()
        {
            return Err(invalid(format!(
                "rule \"from\" {f} is {} but \"to\" {t} is {}",
                f.family(),
                t.family()
            )));
        }
        let asked = d.family(key::FAMILY)?;
        let family = from
            .or(to)
            .map(|c| c.family())
            .or(asked)
            .unwrap_or(Family::V4);
        if let Some(a) = asked.filter(|&a| a != family) {
            return Err(invalid(format!(
                "rule key \"family\" is \"{}\" but the rule's addresses are {family}",
                a.as_str()
            )));
        }
        let name = |key: &str| -> Result<Option<String>, Error> {
            let n = d.str(key)?;
            if let Some(n) = n {
                validate::ifname(n).map_err(|e| d.invalid(key, e))?;
            }
            Ok(n.map(str::to_owned))
        };
        let iif = name(key::IIF)?;
        let oif = name(key::OIF)?;
        let fwmark = d.u32(key::FWMARK)?;
        let fwmask = d.u32(key::FWMASK)?;
        if fwmask.is_some() && fwmark.is_none() {
            return Err(invalid(
                "rule key \"fwmask\" needs \"fwmark\": a mask alone matches nothing",
            ));
        }
        let table = match d.u32(key::TABLE)? {
            None => return Err(invalid("rule key \"table\" is required")),
            Some(0) => return Err(d.invalid(key::TABLE, "0 is not a routing table")),
            Some(t) => t,
        };
        Ok(Rule {
            family,
            from,
            to,
            iif,
            oif,
            fwmark,
            fwmask,
            table,
            priority: d.u32(key::PRIORITY)?,
        })
    }
}

impl fmt::Display for Rule {
    /// In `ip rule` syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.priority {
            write!(f, "pref {p} ")?;
        }
        match self.from {
            Some(c) => write!(f, "from {c}")?,
            None => write!(f, "from all ({})", self.family.as_str())?,
        }
        if let Some(c) = self.to {
            write!(f, " to {c}")?;
        }
        if let Some(i) = &self.iif {
            write!(f, " iif {i}")?;
        }
        if let Some(o) = &self.oif {
            write!(f, " oif {o}")?;
        }
        if let Some(m) = self.fwmark {
            write!(f, " fwmark {m:#x}")?;
            if let Some(k) = self.fwmask {
                write!(f, "/{k:#x}")?;
            }
        }
        write!(f, " lookup {}", self.table)
    }
}

/// A rule as GetRules lists it: the keys of [`Rule`], plus `action` when it
/// is not a table lookup and `invert` when set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleEntry {
    /// The kernel leaves it out for priority 0 (the local rule).
    pub priority: u32,
    pub family: Family,
    pub from: Option<Cidr>,
    pub to: Option<Cidr>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    /// None for a rule that looks up no table.
    pub table: Option<u32>,
    /// Only when the rule does not look up a table: blackhole, goto, ...
    pub action: Option<String>,
    pub invert: bool,
    /// Who installed it, as `ip rule` names it (or the number).
    pub protocol: Option<String>,
}

impl RuleEntry {
    /// The dictionary GetRules answers with.
    pub fn to_dict(&self) -> Dictionary {
        let mut d = Dictionary::new();
        d.insert(key::FAMILY.into(), string_value(self.family.as_str()));
        for (k, c) in [(key::FROM, &self.from), (key::TO, &self.to)] {
            if let Some(c) = c {
                d.insert(k.into(), string_value(c.to_string()));
            }
        }
        for (k, n) in [(key::IIF, &self.iif), (key::OIF, &self.oif)] {
            if let Some(n) = n {
                d.insert(k.into(), string_value(n.as_str()));
            }
        }
        for (k, n) in [
            (key::FWMARK, self.fwmark),
            (key::FWMASK, self.fwmask),
            (key::PRIORITY, Some(self.priority)),
            (key::TABLE, self.table),
        ] {
            if let Some(n) = n {
                d.insert(k.into(), OwnedVariant::from(n));
            }
        }
        if let Some(a) = &self.action {
            d.insert(key::ACTION.into(), string_value(a.as_str()));
        }
        if self.invert {
            d.insert(key::INVERT.into(), OwnedVariant::from(true));
        }
        if let Some(p) = &self.protocol {
            d.insert(key::PROTOCOL.into(), string_value(p.as_str()));
        }
        d
    }

    /// Reads a dictionary of GetRules; also answers the keys it does not
    /// know (a newer daemon's). A missing priority is 0, a missing family
    /// inet.
    pub fn from_dict(dict: Dictionary) -> Result<(Self, Dictionary), Error> {
        let mut r = Reply::new(dict, "rule");
        let entry = RuleEntry {
            priority: r.u32(key::PRIORITY)?.unwrap_or(0),
            family: r
                .parsed(key::FAMILY, |s| {
                    Family::from_name(s).ok_or("neither \"inet\" nor \"inet6\"")
                })?
                .unwrap_or(Family::V4),
            from: r.parsed(key::FROM, str::parse::<Cidr>)?,
            to: r.parsed(key::TO, str::parse::<Cidr>)?,
            iif: r.str(key::IIF)?,
            oif: r.str(key::OIF)?,
            fwmark: r.u32(key::FWMARK)?,
            fwmask: r.u32(key::FWMASK)?,
            table: r.u32(key::TABLE)?,
            action: r.str(key::ACTION)?,
            invert: r.bool(key::INVERT)?.unwrap_or(false),
            protocol: r.str(key::PROTOCOL)?,
        };
        Ok((entry, r.rest()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict::tests::{assert_invalid, dict, o, s, u};

    fn rule(entries: &[(&str, OwnedVariant)]) -> Result<Rule, Error> {
        Rule::from_dict(&dict(entries))
    }

    #[test]
    fn rules() {
        let r = rule(&[
            ("from", s("10.8.0.0/24")),
            ("to", s("192.168.0.0/16")),
            ("iif", s("veth0")),
            ("oif", s("tun0")),
            ("fwmark", u(0x10)),
            ("fwmask", u(0xff)),
            ("table", u(100)),
            ("priority", u(1000)),
        ])
        .unwrap();
        assert_eq!(
            r,
            Rule {
                family: Family::V4,
                from: Some("10.8.0.0/24".parse().unwrap()),
                to: Some("192.168.0.0/16".parse().unwrap()),
                iif: Some("veth0".into()),
                oif: Some("tun0".into()),
                fwmark: Some(0x10),
                fwmask: Some(0xff),
                table: 100,
                priority: Some(1000),
            }
        );
        assert_eq!(
            r.to_string(),
            "pref 1000 from 10.8.0.0/24 to 192.168.0.0/16 iif veth0 oif tun0 \
             fwmark 0x10/0xff lookup 100"
        );
        let r = rule(&[("table", u(7))]).unwrap();
        assert_eq!((r.family, r.from, r.priority), (Family::V4, None, None));
        let r = rule(&[("table", u(7)), ("family", s("inet6"))]).unwrap();
        assert_eq!(r.family, Family::V6);
        let r = rule(&[("table", u(7)), ("to", s("fd00::/8"))]).unwrap();
        assert_eq!(r.family, Family::V6);
        let r = rule(&[("table", u(7)), ("from", s("10.0.0.5"))]).unwrap();
        assert_eq!(r.from.unwrap().prefix, 32);
        let r = rule(&[("table", u(100_000)), ("fwmark", u(1))]).unwrap();
        assert_eq!((r.table, r.fwmark, r.fwmask), (100_000, Some(1), None));
    }

    #[test]
    fn rules_refuse() {
        assert_invalid(
            rule(&[("from", s("10.0.0.0/8"))]),
            &["\"table\"", "required"],
        );
        assert_invalid(
            rule(&[("table", u(0))]),
            &["rule key \"table\"", "0 is not"],
        );
        assert_invalid(
            rule(&[
                ("table", u(1)),
                ("from", s("10.0.0.0/8")),
                ("to", s("fd00::/8")),
            ]),
            &["\"from\" 10.0.0.0/8 is IPv4", "\"to\" fd00::/8 is IPv6"],
        );
        assert_invalid(
            rule(&[
                ("table", u(1)),
                ("from", s("10.0.0.0/8")),
                ("family", s("inet6")),
            ]),
            &["\"family\" is \"inet6\"", "IPv4"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("fwmask", u(0xff))]),
            &["\"fwmask\" needs \"fwmark\""],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("from", s("10.0.0.1/8"))]),
            &["rule key \"from\" 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("to", s("10.0.0/8"))]),
            &["rule key \"to\"", "'10.0.0'"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("iif", s("much-too-long-name"))]),
            &["rule key \"iif\"", "at most 15"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("oif", s("a/b"))]),
            &["rule key \"oif\"", "'/'"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("iif", o("/dev/1"))]),
            &["rule key \"iif\" must be s (string)"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("fwmark", s("0x10"))]),
            &["rule key \"fwmark\" must be u (uint32)"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("priority", OwnedVariant::from(-1i32))]),
            &["rule key \"priority\" must be u (uint32)"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("lookup", u(1))]),
            &["unknown rule key \"lookup\"", "table"],
        );
    }

    #[test]
    fn entries_round_trip() {
        let e = RuleEntry {
            priority: 1000,
            family: Family::V4,
            from: Some("10.8.0.0/24".parse().unwrap()),
            iif: Some("veth0".into()),
            fwmark: Some(0x10),
            fwmask: Some(0xff),
            table: Some(100),
            protocol: Some("netnsd".into()),
            ..Default::default()
        };
        let d = e.to_dict();
        let mut keys: Vec<&str> = d.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "family", "from", "fwmark", "fwmask", "iif", "priority", "protocol", "table"
            ]
        );
        let (back, rest) = RuleEntry::from_dict(d).unwrap();
        assert_eq!(back, e);
        assert!(rest.is_empty());
        // It reads back as the same rule (RemoveRule's protocol aside).
        let mut d = e.to_dict();
        d.remove("protocol");
        let r = Rule::from_dict(&d).unwrap();
        assert_eq!(
            r.to_string(),
            "pref 1000 from 10.8.0.0/24 iif veth0 fwmark 0x10/0xff lookup 100"
        );

        let e = RuleEntry {
            family: Family::V6,
            action: Some("unreachable".into()),
            invert: true,
            ..Default::default()
        };
        let d = e.to_dict();
        assert!(bool::try_from(d.get("invert").unwrap()).unwrap());
        assert!(!d.contains_key("table"));
        assert_eq!(u32::try_from(d.get("priority").unwrap()).unwrap(), 0);
        assert_eq!(RuleEntry::from_dict(d).unwrap().0, e);
    }
}
