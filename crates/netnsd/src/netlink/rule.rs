//! Policy-routing rules: adding and removing them (`ip rule add|del`),
//! listing them, and a kernel rule as GetRules lists it.

use std::collections::HashMap;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use netnsd_api::{Cidr, Error, Family, Rule, RuleEntry};
use nix::errno::Errno;
use zbus::wire::OwnedVariant;

use super::error::{map_err, map_err_with};
use super::handles::NetlinkHandle as Handle;
use super::request::{CHANGE, CREATE, DUMP, request};
use super::route::{
    RTPROT_NETNSD, address_family, family_of, header_table, protocol_name, table_of,
};

/// The rule message for `ip rule add`. (RemoveRule sends back the kernel's
/// own message instead.)
fn rule_message(r: &Rule) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.attributes
        .push(RuleAttribute::Protocol(RouteProtocol::from(RTPROT_NETNSD)));
    m.header.family = address_family(r.family);
    m.header.table = header_table(r.table);
    m.header.action = RuleAction::ToTable;
    m.attributes.push(RuleAttribute::Table(r.table));
    m.attributes.extend(r.priority.map(RuleAttribute::Priority));
    if let Some(c) = r.from {
        m.header.src_len = c.prefix;
        m.attributes.push(RuleAttribute::Source(c.addr));
    }
    if let Some(c) = r.to {
        m.header.dst_len = c.prefix;
        m.attributes.push(RuleAttribute::Destination(c.addr));
    }
    m.attributes
        .extend(r.iif.clone().map(RuleAttribute::Iifname));
    m.attributes
        .extend(r.oif.clone().map(RuleAttribute::Oifname));
    m.attributes.extend(r.fwmark.map(RuleAttribute::FwMark));
    m.attributes.extend(r.fwmask.map(RuleAttribute::FwMask));
    m
}

/// Adds a policy-routing rule (`ip rule add … lookup TABLE`).
pub async fn add_rule(h: &Handle, r: &Rule) -> Result<(), Error> {
    request(h, RouteNetlinkMessage::NewRule(rule_message(r)), CREATE)
        .await
        .map_err(|e| {
            map_err_with(
                e,
                &format!("add rule {r}"),
                &[(Errno::EEXIST, "the rule already exists")],
            )
        })?;
    Ok(())
}

/// Removes the rule AddRule of `r` makes, with routing protocol `protocol`
/// (netnsd's own, unless the caller named another): the rules are listed,
/// the first that matches exactly is sent back to be deleted, as `ip rule
/// flush` does. NotFound if none matches.
pub async fn del_rule(h: &Handle, r: &Rule, protocol: u8) -> Result<(), Error> {
    let what = format!("remove rule {r}");
    let rules = list_rules(h).await?;
    let found = rules
        .iter()
        .find(|m| is_exactly(r, protocol, m))
        .ok_or_else(|| Error::NotFound(format!("{what}: no such rule")))?;
    // The kernel deletes the first rule the message matches, a selector it
    // does not give matching anything: a rule before this one with the same
    // selectors and more would go instead.
    if let Some(first) = rules
        .iter()
        .find(|m| kernel_matches(found, m))
        .filter(|m| *m != found)
    {
        let e = rule_entry(first);
        return Err(Error::NotSupported(format!(
            "{what}: the kernel cannot remove it alone: rule {} (protocol {}) comes first with \
             the same selectors and more, and would go instead; remove that one first",
            e.priority,
            e.protocol.as_deref().unwrap_or("unspec")
        )));
    }
    request(h, RouteNetlinkMessage::DelRule(found.clone()), CHANGE)
        .await
        .map_err(|e| map_err_with(e, &what, &[(Errno::ENOENT, "no such rule")]))?;
    Ok(())
}

/// A selector the kernel was given matches only itself; one not given, anything.
fn given<T: PartialEq>(sent: &Option<T>, m: &Option<T>) -> bool {
    sent.is_none() || sent == m
}

/// Whether the kernel, asked to delete `sent`, would take `m` (its
/// `rule_find`): every selector `sent` has, `m` has too; what `sent` lacks
/// matches anything.
fn kernel_matches(sent: &RuleMessage, m: &RuleMessage) -> bool {
    let (s, e) = (rule_entry(sent), rule_entry(m));
    let nonzero = |a: Option<u32>, b: Option<u32>| a.unwrap_or(0) == 0 || a == b;
    s.family == e.family
        && sent.header.action == m.header.action
        && s.table == e.table
        && (s.priority == 0 || s.priority == e.priority)
        && given(&s.from, &e.from)
        && given(&s.to, &e.to)
        && given(&s.iif, &e.iif)
        && given(&s.oif, &e.oif)
        && nonzero(s.fwmark, e.fwmark)
        && nonzero(s.fwmask, e.fwmask)
        && (matches!(s.protocol.as_deref(), None | Some("unspec")) || s.protocol == e.protocol)
}

/// Whether the kernel rule `m` is one AddRule of `r` makes, with routing
/// protocol `protocol`: a table lookup, not inverted, whose every selector
/// is the one `r` gives (none where `r` gives none; a mark without mask has
/// the kernel's mask 0xffffffff), with nothing else to it. Only the priority
/// may be anything when left out: the kernel picks it.
pub(super) fn is_exactly(r: &Rule, protocol: u8, m: &RuleMessage) -> bool {
    let e = rule_entry(m);
    let plain = m.attributes.iter().all(|a| match a {
        RuleAttribute::Source(_)
        | RuleAttribute::Destination(_)
        | RuleAttribute::Iifname(_)
        | RuleAttribute::Oifname(_)
        | RuleAttribute::Priority(_)
        | RuleAttribute::FwMark(_)
        | RuleAttribute::FwMask(_)
        | RuleAttribute::Table(_)
        | RuleAttribute::Protocol(_) => true,
        // The kernel reports these unset as all ones.
        RuleAttribute::SuppressPrefixLen(n) | RuleAttribute::SuppressIfGroup(n) => *n == u32::MAX,
        _ => false,
    });
    let proto = m.attributes.iter().find_map(|a| match a {
        RuleAttribute::Protocol(p) => Some(u8::from(*p)),
        _ => None,
    });
    // The kernel keeps no mask for mark 0, and all ones for a mark alone.
    let mark = |mark: Option<u32>, mask: Option<u32>| {
        let mark = mark.unwrap_or(0);
        (mark, mask.unwrap_or(if mark == 0 { 0 } else { u32::MAX }))
    };
    plain
        && m.header.tos == 0
        && m.header.action == RuleAction::ToTable
        && !e.invert
        && e.family == r.family
        && e.table == Some(r.table)
        && r.priority.is_none_or(|p| p == e.priority)
        && e.from == r.from
        && e.to == r.to
        && e.iif == r.iif
        && e.oif == r.oif
        && mark(e.fwmark, e.fwmask) == mark(r.fwmark, r.fwmask)
        && proto.unwrap_or(0) == protocol
}

/// The rules of both families.
pub async fn list_rules(h: &Handle) -> Result<Vec<RuleMessage>, Error> {
    let mut out = Vec::new();
    for family in [Family::V4, Family::V6] {
        let mut m = RuleMessage::default();
        m.header.family = address_family(family);
        let answers = request(h, RouteNetlinkMessage::GetRule(m), DUMP)
            .await
            .map_err(|e| map_err(e, &format!("list {family} rules")))?;
        out.extend(answers.into_iter().filter_map(|a| match a {
            RouteNetlinkMessage::NewRule(r) => Some(r),
            _ => None,
        }));
    }
    Ok(out)
}

fn rule_action_name(a: RuleAction) -> String {
    match a {
        RuleAction::ToTable => "lookup".into(),
        RuleAction::Goto => "goto".into(),
        RuleAction::Nop => "nop".into(),
        RuleAction::Blackhole => "blackhole".into(),
        RuleAction::Unreachable => "unreachable".into(),
        RuleAction::Prohibit => "prohibit".into(),
        other => u8::from(other).to_string(),
    }
}

/// A kernel rule as GetRules lists it.
pub fn rule_entry(msg: &RuleMessage) -> RuleEntry {
    let h = &msg.header;
    let mut e = RuleEntry {
        family: family_of(h.family),
        ..Default::default()
    };
    let mut table = None;
    for attr in &msg.attributes {
        match attr {
            RuleAttribute::Source(a) => {
                e.from = Some(Cidr {
                    addr: *a,
                    prefix: h.src_len,
                });
            }
            RuleAttribute::Destination(a) => {
                e.to = Some(Cidr {
                    addr: *a,
                    prefix: h.dst_len,
                });
            }
            RuleAttribute::Iifname(n) => e.iif = Some(n.clone()),
            RuleAttribute::Oifname(n) => e.oif = Some(n.clone()),
            RuleAttribute::FwMark(m) => e.fwmark = Some(*m),
            RuleAttribute::FwMask(m) => e.fwmask = Some(*m),
            RuleAttribute::Table(t) => table = Some(*t),
            // The kernel leaves FRA_PRIORITY out for priority 0 (the local rule).
            RuleAttribute::Priority(p) => e.priority = *p,
            RuleAttribute::Protocol(p) => e.protocol = Some(protocol_name(*p)),
            _ => {}
        }
    }
    e.table = Some(table_of(h.table, table)).filter(|t| *t != 0);
    e.action = (h.action != RuleAction::ToTable).then(|| rule_action_name(h.action));
    e.invert = h.flags.contains(RuleFlags::Invert);
    e
}

/// [`rule_entry`] as the dictionary GetRules answers with.
pub fn rule_to_dict(msg: &RuleMessage) -> HashMap<String, OwnedVariant> {
    rule_entry(msg).to_dict()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::AddressFamily;
    use zbus::wire::Variant;

    #[test]
    fn rule_messages() {
        let r = Rule {
            family: Family::V4,
            from: Some("10.8.0.0/24".parse().unwrap()),
            to: None,
            iif: None,
            oif: Some("tun0".into()),
            fwmark: Some(1),
            fwmask: Some(0xff),
            table: 100,
            priority: Some(1000),
        };
        let m = rule_message(&r);
        assert!(
            m.attributes
                .contains(&RuleAttribute::Protocol(RouteProtocol::from(RTPROT_NETNSD)))
        );
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert_eq!(m.header.action, RuleAction::ToTable);
        assert_eq!(
            (m.header.table, m.header.src_len, m.header.dst_len),
            (100, 24, 0)
        );
        for a in [
            RuleAttribute::Table(100),
            RuleAttribute::Priority(1000),
            RuleAttribute::Source("10.8.0.0".parse().unwrap()),
            RuleAttribute::Oifname("tun0".into()),
            RuleAttribute::FwMark(1),
            RuleAttribute::FwMask(0xff),
        ] {
            assert!(m.attributes.contains(&a), "{a:?} missing from {m:?}");
        }
        let big = Rule {
            table: 51820,
            from: None,
            ..r
        };
        assert_eq!(rule_message(&big).header.table, 0);
    }

    fn get_str(d: &HashMap<String, OwnedVariant>, k: &str) -> String {
        match &**d.get(k).unwrap_or_else(|| panic!("no {k} in {d:?}")) {
            Variant::Str(s) => s.as_str().to_owned(),
            other => panic!("{k} is {other:?}"),
        }
    }

    fn get_u32(d: &HashMap<String, OwnedVariant>, k: &str) -> u32 {
        u32::try_from(d.get(k).unwrap_or_else(|| panic!("no {k} in {d:?}"))).unwrap()
    }

    #[test]
    fn rules_to_dicts() {
        let mut m = RuleMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.src_len = 24;
        m.header.table = 100;
        m.header.action = RuleAction::ToTable;
        m.attributes = vec![
            RuleAttribute::Table(100),
            RuleAttribute::Priority(1000),
            RuleAttribute::Source("10.8.0.0".parse().unwrap()),
            RuleAttribute::Iifname("veth0".into()),
            RuleAttribute::FwMark(0x10),
            RuleAttribute::FwMask(0xff),
        ];
        let d = rule_to_dict(&m);
        assert_eq!(get_str(&d, "family"), "inet");
        assert_eq!(get_str(&d, "from"), "10.8.0.0/24");
        assert_eq!(get_str(&d, "iif"), "veth0");
        assert_eq!(get_u32(&d, "table"), 100);
        assert_eq!(get_u32(&d, "priority"), 1000);
        assert_eq!(get_u32(&d, "fwmark"), 0x10);
        assert_eq!(get_u32(&d, "fwmask"), 0xff);
        assert!(!d.contains_key("action") && !d.contains_key("invert"));
        assert!(!d.contains_key("to") && !d.contains_key("oif"));
        assert!(!d.contains_key("protocol"));
        // It reads back as the same rule.
        let r = Rule::from_dict(&d).unwrap();
        assert_eq!(
            r.to_string(),
            "pref 1000 from 10.8.0.0/24 iif veth0 fwmark 0x10/0xff lookup 100"
        );

        let mut m = RuleMessage::default();
        m.header.family = AddressFamily::Inet6;
        m.header.action = RuleAction::Unreachable;
        m.header.flags = RuleFlags::Invert;
        let d = rule_to_dict(&m);
        assert_eq!(get_str(&d, "family"), "inet6");
        assert_eq!(get_str(&d, "action"), "unreachable");
        assert!(bool::try_from(d.get("invert").unwrap()).unwrap());
        assert!(!d.contains_key("table"));
        assert_eq!(get_u32(&d, "priority"), 0);
    }

    /// RemoveRule's match: what AddRule of the same keys made, no other.
    #[test]
    fn removal_matches_exactly() {
        let base = Rule {
            family: Family::V4,
            from: Some("10.8.0.0/24".parse().unwrap()),
            to: None,
            iif: None,
            oif: None,
            fwmark: None,
            fwmask: None,
            table: 100,
            priority: Some(1000),
        };
        let added = |r: &Rule| {
            let mut m = rule_message(r);
            if r.fwmark.is_some() && r.fwmask.is_none() {
                m.attributes.push(RuleAttribute::FwMask(u32::MAX));
            }
            m
        };
        let variants = [
            base.clone(),
            Rule {
                from: None,
                ..base.clone()
            },
            Rule {
                table: 101,
                ..base.clone()
            },
            Rule {
                priority: Some(1001),
                ..base.clone()
            },
            Rule {
                iif: Some("r0".into()),
                ..base.clone()
            },
            Rule {
                fwmark: Some(7),
                ..base.clone()
            },
            Rule {
                fwmark: Some(7),
                fwmask: Some(0xff),
                ..base.clone()
            },
        ];
        for (i, a) in variants.iter().enumerate() {
            for (j, b) in variants.iter().enumerate() {
                assert_eq!(
                    is_exactly(a, RTPROT_NETNSD, &added(b)),
                    i == j,
                    "remove {a} / added {b}"
                );
            }
        }
        // Left out, the priority is the kernel's choice.
        let any = Rule {
            priority: None,
            ..base.clone()
        };
        assert!(is_exactly(&any, RTPROT_NETNSD, &added(&base)));
        // Someone else's rule is left alone unless its protocol is given, and
        // so is a rule with more to it.
        let mut boot = added(&base);
        boot.attributes
            .retain(|a| !matches!(a, RuleAttribute::Protocol(_)));
        boot.attributes
            .push(RuleAttribute::Protocol(RouteProtocol::Boot));
        assert!(!is_exactly(&base, RTPROT_NETNSD, &boot));
        assert!(is_exactly(&base, 3, &boot));
        assert_eq!(rule_entry(&boot).protocol.as_deref(), Some("boot"));
        let mut inverted = added(&base);
        inverted.header.flags = RuleFlags::Invert;
        assert!(!is_exactly(&base, RTPROT_NETNSD, &inverted));
        let mut sport = added(&base);
        sport.attributes.push(RuleAttribute::IpProtocol(
            netlink_packet_route::IpProtocol::Tcp,
        ));
        assert!(!is_exactly(&base, RTPROT_NETNSD, &sport));

        // Asked to delete the plain rule, the kernel would take the marked
        // one as well; not the reverse.
        let plain = added(&base);
        let marked = added(&variants[5]);
        assert!(kernel_matches(&plain, &marked));
        assert!(kernel_matches(&plain, &plain));
        assert!(!kernel_matches(&marked, &plain));
        assert!(!kernel_matches(&plain, &added(&variants[3])));
    }
}
