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
use super::route::{RTPROT_NETNSD, address_family, family_of, header_table, table_of};

/// The rule message for `ip rule add|del`.
fn rule_message(r: &Rule, add: bool) -> RuleMessage {
    let mut m = RuleMessage::default();
    if add {
        m.attributes
            .push(RuleAttribute::Protocol(RouteProtocol::from(RTPROT_NETNSD)));
    }
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
    request(
        h,
        RouteNetlinkMessage::NewRule(rule_message(r, true)),
        CREATE,
    )
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

/// Removes a rule (`ip rule del`); NotFound if there is no such rule.
pub async fn del_rule(h: &Handle, r: &Rule) -> Result<(), Error> {
    request(
        h,
        RouteNetlinkMessage::DelRule(rule_message(r, false)),
        CHANGE,
    )
    .await
    .map_err(|e| {
        map_err_with(
            e,
            &format!("remove rule {r}"),
            &[(Errno::ENOENT, "no such rule")],
        )
    })?;
    Ok(())
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
        let m = rule_message(&r, true);
        assert!(
            m.attributes
                .contains(&RuleAttribute::Protocol(RouteProtocol::from(RTPROT_NETNSD)))
        );
        assert!(
            !rule_message(&r, false)
                .attributes
                .iter()
                .any(|a| matches!(a, RuleAttribute::Protocol(_)))
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
        assert_eq!(rule_message(&big, true).header.table, 0);
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
}
