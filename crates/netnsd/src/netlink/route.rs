//! Routes: adding and removing them (`ip route add|del`), listing them, and
//! a kernel route as GetRoutes lists it (the names `ip route` prints). The
//! daemon marks what it installs with its own protocol number,
//! [`RTPROT_NETNSD`].

use std::collections::HashMap;
use std::net::IpAddr;

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteProtocol, RouteScope, RouteType,
    RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netnsd_api::route::TABLE_LOCAL;
use netnsd_api::{Cidr, Error, Family, Route, RouteEntry, Scope};
use nix::errno::Errno;
use zbus::wire::{OwnedObjectPath, OwnedVariant};

use super::error::{errno, invalid, map_err, map_err_with};
use super::handles::NetlinkHandle as Handle;
use super::link::link_name;
use super::request::{CHANGE, CREATE, DUMP, request};

/// The routing protocol number netnsd marks its routes and rules with
/// (`ip route show proto 110`), so that the kernel itself records which
/// routes the daemon installed, and they can be found after a restart and
/// removed exactly. 110 is unassigned in iproute2's rt_protos.
pub const RTPROT_NETNSD: u8 = netnsd_api::route::PROTOCOL_NETNSD;

/// The kernel's name of a family.
pub(super) fn address_family(f: Family) -> AddressFamily {
    match f {
        Family::V4 => AddressFamily::Inet,
        Family::V6 => AddressFamily::Inet6,
    }
}

/// The kernel's value of a scope.
pub(super) fn route_scope(s: Scope) -> RouteScope {
    match s {
        Scope::Global => RouteScope::Universe,
        Scope::Link => RouteScope::Link,
        Scope::Host => RouteScope::Host,
    }
}

pub(super) fn family_of(f: AddressFamily) -> Family {
    match f {
        AddressFamily::Inet6 => Family::V6,
        _ => Family::V4,
    }
}

/// The table in a route or rule header: the 8-bit field for tables below 256,
/// else "unspec" with the 32-bit attribute deciding (as iproute2 sends it).
pub(super) fn header_table(table: u32) -> u8 {
    u8::try_from(table).unwrap_or(0)
}

/// The route message for `ip route add`. A route without gateway gets scope
/// link unless told otherwise, like iproute2. (RemoveRoute sends back the
/// kernel's own message instead.)
fn route_message(r: &Route) -> RouteMessage {
    let mut m = RouteMessage::default();
    let h = &mut m.header;
    h.address_family = address_family(r.family);
    h.table = header_table(r.table);
    h.protocol = RouteProtocol::from(RTPROT_NETNSD);
    h.kind = RouteType::Unicast;
    h.scope = match (r.scope, r.gateway) {
        (Some(s), _) => route_scope(s),
        (None, None) => RouteScope::Link,
        (None, Some(_)) => RouteScope::Universe,
    };
    m.attributes.push(RouteAttribute::Table(r.table));
    if let Some(d) = r.destination {
        m.header.destination_prefix_length = d.prefix;
        m.attributes
            .push(RouteAttribute::Destination(d.addr.into()));
    }
    if let Some(gw) = r.gateway {
        m.attributes.push(RouteAttribute::Gateway(gw.into()));
    }
    m.attributes.extend(r.oif.map(RouteAttribute::Oif));
    m.attributes.extend(r.metric.map(RouteAttribute::Priority));
    m
}

/// Adds a route (`ip route add`). A gateway that is not on-link gives
/// InvalidArgument naming the gateway and the device.
pub async fn add_route(h: &Handle, r: &Route) -> Result<(), Error> {
    let what = format!("add route {r}");
    let Err(e) = request(h, RouteNetlinkMessage::NewRoute(route_message(r)), CREATE).await else {
        return Ok(());
    };
    let unreachable = matches!(errno(&e), Some(Errno::ENETUNREACH | Errno::EHOSTUNREACH));
    if let (true, Some(gw)) = (unreachable, r.gateway) {
        let reason = match r.oif {
            Some(i) => {
                let dev = match link_name(h, i).await {
                    Ok(Some(n)) => n,
                    _ => format!("#{i}"),
                };
                format!("gateway {gw} is not reachable from device {dev}")
            }
            None => format!("gateway {gw} is not reachable on any device"),
        };
        return Err(invalid(format!("{what}: {reason}")));
    }
    Err(map_err_with(
        e,
        &what,
        &[
            (Errno::EEXIST, "the route already exists"),
            (Errno::ENODEV, "no such device"),
            (Errno::ENETDOWN, "the device is down; bring it up first"),
        ],
    ))
}

/// Removes the route AddRoute of `r` makes, with routing protocol
/// `protocol` (netnsd's own, unless the caller named another): the routes
/// are listed, the one that matches exactly is sent back to be deleted, as
/// `ip route flush` does. NotFound if none matches.
pub async fn del_route(h: &Handle, r: &Route, protocol: u8) -> Result<(), Error> {
    let what = format!("remove route {r}");
    let not_found = || Error::NotFound(format!("{what}: no such route"));
    let found = list_family(h, r.family)
        .await?
        .into_iter()
        .find(|m| is_exactly(r, protocol, m))
        .ok_or_else(not_found)?;
    request(h, RouteNetlinkMessage::DelRoute(found), CHANGE)
        .await
        .map_err(|e| map_err_with(e, &what, &[(Errno::ESRCH, "no such route")]))?;
    Ok(())
}

/// Whether the kernel route `m` is the one AddRoute of `r` makes, with
/// routing protocol `protocol`: every key of `r` matches, and so do the
/// defaults of the keys left out (no gateway, metric 0 for IPv4 and 1024 for
/// IPv6, scope link without gateway and global with one, unicast). Only the
/// device may be anything when left out with a gateway given: the kernel
/// picks it.
pub(super) fn is_exactly(r: &Route, protocol: u8, m: &RouteMessage) -> bool {
    let h = &m.header;
    let mut destination = None;
    let mut gateway = None;
    let mut oif = None;
    let mut metric = None;
    for attr in &m.attributes {
        match attr {
            RouteAttribute::Destination(a) => destination = route_address(a),
            RouteAttribute::Gateway(a) => gateway = route_address(a),
            RouteAttribute::Via(RouteVia::Inet6(gw)) => gateway = Some(IpAddr::V6(*gw)),
            RouteAttribute::Via(RouteVia::Inet(gw)) => gateway = Some(IpAddr::V4(*gw)),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => metric = Some(*p),
            _ => {}
        }
    }
    let destination = destination
        .filter(|_| h.destination_prefix_length > 0)
        .map(|addr| Cidr {
            addr,
            prefix: h.destination_prefix_length,
        });
    let default_metric = match r.family {
        Family::V4 => 0,
        Family::V6 => 1024,
    };
    // IPv6 routes have no scope: the kernel reports every one as global.
    let scope_matches = r.family == Family::V6 || h.scope == route_message(r).header.scope;
    family_of(h.address_family) == r.family
        && route_table(m) == r.table
        && destination == r.destination
        && gateway == r.gateway
        && r.oif.is_none_or(|i| oif == Some(i))
        && metric.unwrap_or(0) == r.metric.unwrap_or(default_metric)
        && scope_matches
        && h.kind == RouteType::Unicast
        && u8::from(h.protocol) == protocol
        && !h.flags.contains(RouteFlags::Cloned)
}

fn route_table(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table))
}

/// The routes of both families in every table but `local`, without cached
/// (cloned) entries.
pub async fn list_routes(h: &Handle) -> Result<Vec<RouteMessage>, Error> {
    let mut out = list_family(h, Family::V4).await?;
    out.extend(list_family(h, Family::V6).await?);
    Ok(out
        .into_iter()
        .filter(|r| route_table(r) != TABLE_LOCAL && !r.header.flags.contains(RouteFlags::Cloned))
        .collect())
}

/// Every route of one family, in every table.
async fn list_family(h: &Handle, family: Family) -> Result<Vec<RouteMessage>, Error> {
    let mut m = RouteMessage::default();
    m.header.address_family = address_family(family);
    let answers = request(h, RouteNetlinkMessage::GetRoute(m), DUMP)
        .await
        .map_err(|e| map_err(e, &format!("list {family} routes")))?;
    Ok(answers
        .into_iter()
        .filter_map(|a| match a {
            RouteNetlinkMessage::NewRoute(r) => Some(r),
            _ => None,
        })
        .collect())
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
pub(super) fn table_of(header: u8, attr: Option<u32>) -> u32 {
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
        other if u8::from(other) == RTPROT_NETNSD => "netnsd".into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::route::RouteHeader;
    use netnsd_api::route::TABLE_MAIN;
    use zbus::wire::Variant;

    fn spec(dest: Option<&str>, gw: Option<&str>, oif: Option<u32>) -> Route {
        let destination: Option<Cidr> = dest.map(|d| d.parse().unwrap());
        let gateway: Option<IpAddr> = gw.map(|g| g.parse().unwrap());
        Route {
            family: destination
                .map(|c| c.family())
                .or(gateway.as_ref().map(Family::of))
                .unwrap_or(Family::V4),
            destination,
            gateway,
            oif,
            table: TABLE_MAIN,
            metric: None,
            scope: None,
        }
    }

    #[test]
    fn route_messages() {
        // A device route gets scope link, like `ip route add 10.0.0.0/24 dev X`.
        let m = route_message(&spec(Some("10.0.0.0/24"), None, Some(3)));
        assert_eq!(m.header.address_family, AddressFamily::Inet);
        assert_eq!(m.header.destination_prefix_length, 24);
        assert_eq!(m.header.scope, RouteScope::Link);
        assert_eq!(m.header.protocol, RouteProtocol::from(RTPROT_NETNSD));
        assert_eq!(m.header.kind, RouteType::Unicast);
        assert_eq!(m.header.table, 254);
        assert!(m.attributes.contains(&RouteAttribute::Oif(3)));
        assert!(m.attributes.contains(&RouteAttribute::Table(254)));

        // A default route via a gateway in a big table, with a metric.
        let mut r = spec(None, Some("fd00::1"), None);
        r.table = 1000;
        r.metric = Some(5);
        let m = route_message(&r);
        assert_eq!(m.header.address_family, AddressFamily::Inet6);
        assert_eq!(m.header.destination_prefix_length, 0);
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.table, 0);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(m.attributes.contains(&RouteAttribute::Priority(5)));
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Destination(_)))
        );

        let mut r = spec(Some("10.0.0.1/32"), None, Some(1));
        r.scope = Some(Scope::Host);
        assert_eq!(route_message(&r).header.scope, RouteScope::Host);
    }

    /// RemoveRoute's match: what AddRoute of the same keys made, no other.
    #[test]
    fn removal_matches_exactly() {
        let added = |r: &Route| {
            let mut m = route_message(r);
            // The kernel reports an IPv6 route's metric and no scope.
            if r.family == Family::V6 {
                m.header.scope = RouteScope::Universe;
                m.attributes
                    .extend(r.metric.is_none().then_some(RouteAttribute::Priority(1024)));
            }
            m
        };
        let dev = spec(Some("10.0.0.0/24"), None, Some(3));
        let gw = spec(Some("10.0.0.0/24"), Some("10.9.0.1"), None);
        let mut gw_dev = gw.clone();
        gw_dev.oif = Some(3);
        let mut t100 = dev.clone();
        t100.table = 100;
        let mut metric = dev.clone();
        metric.metric = Some(5);
        let mut host = dev.clone();
        host.scope = Some(Scope::Host);
        let v6 = spec(Some("fd00::/64"), None, Some(3));
        let mut v6_metric = v6.clone();
        v6_metric.metric = Some(1024);
        let all = [&dev, &gw, &t100, &metric, &host, &v6];
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                assert_eq!(
                    is_exactly(a, RTPROT_NETNSD, &added(b)),
                    i == j,
                    "remove {a} / added {b}"
                );
            }
        }
        // Left out, the device is the kernel's choice; given, it must match.
        let mut via3 = added(&gw);
        via3.attributes.push(RouteAttribute::Oif(3));
        assert!(is_exactly(&gw, RTPROT_NETNSD, &via3));
        assert!(is_exactly(&gw_dev, RTPROT_NETNSD, &via3));
        gw_dev.oif = Some(4);
        assert!(!is_exactly(&gw_dev, RTPROT_NETNSD, &via3));
        // IPv6's default metric is 1024, as the kernel gives it.
        assert!(is_exactly(&v6_metric, RTPROT_NETNSD, &added(&v6)));
        // Someone else's route is left alone unless its protocol is given.
        let mut kernel = added(&dev);
        kernel.header.protocol = RouteProtocol::Kernel;
        assert!(!is_exactly(&dev, RTPROT_NETNSD, &kernel));
        assert!(is_exactly(&dev, 2, &kernel));
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
}
