//! Kernel route and rule messages as GetRoutes and GetRules answer them (the
//! names `ip route` and `ip rule` print), and the link values the daemon
//! derives itself (stable MAC addresses). The values and their `a{sv}` form
//! are netnsd-api's.

use std::collections::HashMap;
use std::net::IpAddr;

use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType, RouteVia,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use netnsd_api::{Cidr, Family, RouteEntry, RuleEntry, Scope};
use zbus::wire::{OwnedObjectPath, OwnedVariant};

/// The kernel's name of a family.
pub fn address_family(f: Family) -> AddressFamily {
    match f {
        Family::V4 => AddressFamily::Inet,
        Family::V6 => AddressFamily::Inet6,
    }
}

/// The kernel's value of a scope.
pub fn route_scope(s: Scope) -> RouteScope {
    match s {
        Scope::Global => RouteScope::Universe,
        Scope::Link => RouteScope::Link,
        Scope::Host => RouteScope::Host,
    }
}

fn family_of(f: AddressFamily) -> Family {
    match f {
        AddressFamily::Inet6 => Family::V6,
        _ => Family::V4,
    }
}

/// FNV-1a, 64 bits: fixed by its definition, so the same on every build.
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A separator, so ("ab", "c") and ("a", "bc") differ.
            h ^= 0xff;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// murmur3's fmix64 finalizer: FNV's low bits are weakly mixed.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A MAC address derived from the namespace and interface names: the same
/// names give the same address on every run, and it is a locally
/// administered unicast address (first octet: bit 0 clear, bit 1 set).
pub fn stable_mac(namespace: &str, ifname: &str) -> [u8; 6] {
    let h = fmix64(fnv1a64(&[namespace.as_bytes(), ifname.as_bytes()])).to_be_bytes();
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&h[..6]);
    mac[0] = (mac[0] & !0x01) | 0x02;
    mac
}

/// `aa:bb:cc:dd:ee:ff`, lowercase.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn route_address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// The table a route or rule is in: the 32-bit attribute when present,
/// else the 8-bit header field.
fn table_of(header: u8, attr: Option<u32>) -> u32 {
    attr.unwrap_or(u32::from(header))
}

/// The name `ip route` prints for a route protocol, or its number.
pub fn protocol_name(p: RouteProtocol) -> String {
    match p {
        RouteProtocol::Unspec => "unspec".into(),
        RouteProtocol::IcmpRedirect => "redirect".into(),
        RouteProtocol::Kernel => "kernel".into(),
        RouteProtocol::Boot => "boot".into(),
        RouteProtocol::Static => "static".into(),
        RouteProtocol::Ra => "ra".into(),
        RouteProtocol::Dhcp => "dhcp".into(),
        RouteProtocol::KeepAlived => "keepalived".into(),
        RouteProtocol::Babel => "babel".into(),
        RouteProtocol::Bird => "bird".into(),
        RouteProtocol::Zebra => "zebra".into(),
        RouteProtocol::Bgp => "bgp".into(),
        RouteProtocol::Isis => "isis".into(),
        RouteProtocol::Ospf => "ospf".into(),
        RouteProtocol::Rip => "rip".into(),
        RouteProtocol::Eigrp => "eigrp".into(),
        other if u8::from(other) == crate::netlink_ops::RTPROT_NETNSD => "netnsd".into(),
        other => u8::from(other).to_string(),
    }
}

fn scope_name(s: RouteScope) -> String {
    match s {
        RouteScope::Universe => "global".into(),
        RouteScope::Site => "site".into(),
        RouteScope::Link => "link".into(),
        RouteScope::Host => "host".into(),
        RouteScope::NoWhere => "nowhere".into(),
        other => u8::from(other).to_string(),
    }
}

fn route_type_name(t: RouteType) -> String {
    match t {
        RouteType::Unicast => "unicast".into(),
        RouteType::Local => "local".into(),
        RouteType::Broadcast => "broadcast".into(),
        RouteType::Anycast => "anycast".into(),
        RouteType::Multicast => "multicast".into(),
        RouteType::BlackHole => "blackhole".into(),
        RouteType::Unreachable => "unreachable".into(),
        RouteType::Prohibit => "prohibit".into(),
        RouteType::Throw => "throw".into(),
        RouteType::Nat => "nat".into(),
        other => u8::from(other).to_string(),
    }
}

/// A kernel route as GetRoutes lists it. `device_path` maps an ifindex of
/// this namespace to its Device object; a device without one is left out.
pub fn route_entry(
    msg: &RouteMessage,
    device_path: &dyn Fn(u32) -> Option<OwnedObjectPath>,
) -> RouteEntry {
    let h = &msg.header;
    let mut destination = None;
    let mut gateway = None;
    let mut device = None;
    let mut table = None;
    let mut metric = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(a) => destination = route_address(a),
            RouteAttribute::Gateway(a) => {
                if let Some(gw) = route_address(a) {
                    gateway = Some(gw);
                }
            }
            RouteAttribute::Via(RouteVia::Inet6(gw)) => gateway = Some(IpAddr::V6(*gw)),
            RouteAttribute::Via(RouteVia::Inet(gw)) => gateway = Some(IpAddr::V4(*gw)),
            RouteAttribute::Oif(i) => {
                if let Some(p) = device_path(*i) {
                    device = Some(p);
                }
            }
            RouteAttribute::Table(t) => table = Some(*t),
            RouteAttribute::Priority(m) => metric = Some(*m),
            _ => {}
        }
    }
    RouteEntry {
        destination: destination
            .filter(|_| h.destination_prefix_length > 0)
            .map(|addr| Cidr {
                addr,
                prefix: h.destination_prefix_length,
            }),
        family: family_of(h.address_family),
        gateway,
        device,
        table: table_of(h.table, table),
        metric,
        scope: Some(scope_name(h.scope)),
        protocol: Some(protocol_name(h.protocol)),
        kind: (h.kind != RouteType::Unicast).then(|| route_type_name(h.kind)),
    }
}

/// [`route_entry`] as the dictionary GetRoutes answers with.
pub fn route_to_dict(
    msg: &RouteMessage,
    device_path: &dyn Fn(u32) -> Option<OwnedObjectPath>,
) -> HashMap<String, OwnedVariant> {
    route_entry(msg, device_path).to_dict()
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
    use netlink_packet_route::route::RouteHeader;
    use netnsd_api::{Error, Route, Rule};
    use zbus::wire::Variant;

    #[test]
    fn stable_macs() {
        let a = stable_mac("vpn1", "veth0");
        assert_eq!(a, stable_mac("vpn1", "veth0"));
        assert_eq!(a[0] & 0x01, 0, "unicast");
        assert_eq!(a[0] & 0x02, 0x02, "locally administered");
        assert_ne!(a, stable_mac("vpn2", "veth0"));
        assert_ne!(a, stable_mac("vpn1", "veth1"));
        assert_ne!(stable_mac("ab", "c"), stable_mac("a", "bc"));
        // Pinned (computed independently): a change here changes every
        // stable address in the field.
        assert_eq!(format_mac(&a), "c6:33:21:34:58:79");
        // FNV-1a's published test vectors.
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&[b"foobar"]), 0x8594_4171_f739_67e8);
        for i in 0..200 {
            let m = stable_mac(&format!("ns{i}"), "eth0");
            assert_eq!(m[0] & 0x03, 0x02, "{}", format_mac(&m));
        }
    }

    #[test]
    fn macs_format() {
        assert_eq!(
            format_mac(&[0x02, 0xAB, 0, 1, 0x10, 0xff]),
            "02:ab:00:01:10:ff"
        );
        assert_eq!(format_mac(&[]), "");
    }

    /// Resolves /dev/N to ifindex N.
    fn resolver(path: &str) -> Result<u32, Error> {
        match path.strip_prefix("/dev/") {
            Some(n) => Ok(n.parse().unwrap()),
            None => Err(Error::UnknownDevice(format!("no device {path}"))),
        }
    }

    fn kernel_route() -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = 24;
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Kernel;
        m.header.scope = RouteScope::Link;
        m.header.kind = RouteType::Unicast;
        m.attributes = vec![
            RouteAttribute::Table(254),
            RouteAttribute::Destination(RouteAddress::Inet("10.0.0.0".parse().unwrap())),
            RouteAttribute::Oif(3),
            RouteAttribute::PrefSource(RouteAddress::Inet("10.0.0.1".parse().unwrap())),
        ];
        m
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
    fn routes_to_dicts() {
        let path = |i: u32| {
            (i == 3).then(|| OwnedObjectPath::try_from("/net/netnsd/Netns1/Devices/7").unwrap())
        };
        let d = route_to_dict(&kernel_route(), &path);
        assert_eq!(get_str(&d, "destination"), "10.0.0.0/24");
        assert_eq!(get_str(&d, "family"), "inet");
        assert_eq!(get_str(&d, "scope"), "link");
        assert_eq!(get_str(&d, "protocol"), "kernel");
        assert_eq!(get_u32(&d, "table"), 254);
        match &**d.get("device").unwrap() {
            Variant::ObjectPath(p) => assert_eq!(p.as_str(), "/net/netnsd/Netns1/Devices/7"),
            other => panic!("device is {other:?}"),
        }
        assert!(!d.contains_key("gateway") && !d.contains_key("metric"));
        assert!(!d.contains_key("type"));

        // A default route in a big table, via a gateway on a device without a
        // Device object, with a metric.
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet6;
        m.header.table = 0;
        m.header.protocol = RouteProtocol::Static;
        m.header.kind = RouteType::Unicast;
        m.attributes = vec![
            RouteAttribute::Table(1000),
            RouteAttribute::Gateway(RouteAddress::Inet6("fe80::1".parse().unwrap())),
            RouteAttribute::Oif(9),
            RouteAttribute::Priority(1024),
        ];
        let d = route_to_dict(&m, &path);
        assert_eq!(get_str(&d, "destination"), "default");
        assert_eq!(get_str(&d, "family"), "inet6");
        assert_eq!(get_str(&d, "gateway"), "fe80::1");
        assert_eq!(get_str(&d, "scope"), "global");
        assert_eq!(get_str(&d, "protocol"), "static");
        assert_eq!(get_u32(&d, "table"), 1000);
        assert_eq!(get_u32(&d, "metric"), 1024);
        assert!(!d.contains_key("device"));

        // Non-unicast routes say so; unknown protocols are numbers.
        let mut m = kernel_route();
        m.header.kind = RouteType::Unreachable;
        m.header.protocol = RouteProtocol::from(99);
        let d = route_to_dict(&m, &path);
        assert_eq!(get_str(&d, "type"), "unreachable");
        assert_eq!(get_str(&d, "protocol"), "99");
    }

    /// What GetRoutes answers reads back as a Route, once the output-only
    /// keys are dropped.
    #[test]
    fn route_dict_round_trip() {
        let path = |i: u32| OwnedObjectPath::try_from(format!("/dev/{i}")).ok();
        let mut d = route_to_dict(&kernel_route(), &path);
        d.remove("protocol");
        let r = Route::from_dict(&d, &resolver).unwrap();
        assert_eq!(r.destination, Some("10.0.0.0/24".parse().unwrap()));
        assert_eq!((r.oif, r.table, r.scope), (Some(3), 254, Some(Scope::Link)));
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
