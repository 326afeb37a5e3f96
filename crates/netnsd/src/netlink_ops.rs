//! Link, address, route and rule operations over one namespace's
//! [`NetlinkHandle`] (`Handle` here).
//!
//! The handle is already bound to the namespace the operation happens in (its
//! socket is opened there when needed; see `platform`): nothing here forks,
//! runs `ip` or calls setns. Devices are named by ifindex in the handle's
//! namespace; other namespaces by a borrowed fd of their nsfs file, which the
//! kernel takes as IFLA_NET_NS_FD so that a new link is born directly where
//! it belongs.
//!
//! Each operation builds its message with a pure function (tested below
//! without a kernel), sends it with [`request`], and turns a kernel refusal
//! into a typed [`Error`] that says which step failed and why. Callers add the
//! namespace with [`with_context`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use futures::StreamExt;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressFlags};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, InfoVeth, InfoVlan, LinkAttribute, LinkFlags, LinkInfo,
    LinkMessage, MacVlanMode,
};
use netlink_packet_route::route::{
    RouteAttribute, RouteFlags, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netnsd_api::Error;
use nix::errno::Errno;
use rtnetlink::AddressMessageBuilder;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};

use crate::platform::NetlinkHandle as Handle;
use netnsd_api::link::{LinkOptions, MacvlanMode as Mode};
use netnsd_api::route::TABLE_LOCAL;
use netnsd_api::{Cidr, Family, Route, Rule, validate};

use crate::spec::{address_family, route_scope};

/// Create something new; fail if it exists (`ip … add`).
const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
/// Change or delete something that exists.
const CHANGE: u16 = NLM_F_REQUEST | NLM_F_ACK;
const DUMP: u16 = NLM_F_REQUEST | NLM_F_DUMP;

/// Sends one request and collects what the kernel answers; a NACK becomes
/// the error. The one place where messages go out.
async fn request(
    h: &Handle,
    msg: RouteNetlinkMessage,
    flags: u16,
) -> Result<Vec<RouteNetlinkMessage>, rtnetlink::Error> {
    tracing::trace!(?msg, flags, "netlink request");
    let mut req = NetlinkMessage::from(msg);
    req.header.flags = flags;
    // Held until the last answer: the connection ends with its last handle.
    let mut handle = h.get().await?;
    let mut answers = handle.request(req)?;
    let mut out = Vec::new();
    while let Some(answer) = answers.next().await {
        match answer.payload {
            NetlinkPayload::InnerMessage(m) => out.push(m),
            NetlinkPayload::Error(e) if e.code.is_some() => {
                return Err(rtnetlink::Error::NetlinkError(e));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The errno of a kernel refusal (positive: `libc::EEXIST`), if it is one.
/// The routing protocol number netnsd marks its routes and rules with
/// (`ip route show proto 110`), so that the kernel itself records which
/// routes the daemon installed, and they can be found after a restart and
/// removed exactly. 110 is unassigned in iproute2's rt_protos.
pub const RTPROT_NETNSD: u8 = 110;

pub fn errno(e: &rtnetlink::Error) -> Option<Errno> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| Errno::from_raw(-c.get())),
        _ => None,
    }
}

/// Maps a failed request to the error the bus answers with, as
/// "WHAT: REASON". `what` names the step and the device.
pub fn map_err(e: rtnetlink::Error, what: &str) -> Error {
    let Some(errno) = errno(&e) else {
        return Error::Failed(format!("{what}: {e}"));
    };
    let msg = format!("{what}: {}", errno.desc());
    use Errno::*;
    match errno {
        EEXIST => Error::AlreadyExists(msg),
        ENODEV => Error::UnknownDevice(msg),
        EOPNOTSUPP | EAFNOSUPPORT => Error::NotSupported(msg),
        EINVAL | ENETUNREACH | EHOSTUNREACH | ERANGE | ENETDOWN => Error::InvalidArgument(msg),
        EPERM | EACCES => Error::PermissionDenied(msg),
        EBUSY => Error::Busy(msg),
        // What a delete answers when there is nothing to delete: ESRCH for
        // routes, ENOENT for rules, EADDRNOTAVAIL for addresses.
        ESRCH | ENOENT | EADDRNOTAVAIL => Error::NotFound(msg),
        _ => Error::Failed(msg),
    }
}

/// Like [`map_err`], with the errnos that `special` names given a message
/// of their own (same error kind).
fn map_err_with(e: rtnetlink::Error, what: &str, special: &[(Errno, &str)]) -> Error {
    let errno = errno(&e);
    let err = map_err(e, what);
    match special.iter().find(|(n, _)| Some(*n) == errno) {
        Some((_, reason)) => replace_message(err, format!("{what}: {reason}")),
        None => err,
    }
}

fn replace_message(e: Error, m: String) -> Error {
    match e {
        Error::InvalidArgument(_) => Error::InvalidArgument(m),
        Error::AlreadyExists(_) => Error::AlreadyExists(m),
        Error::NotFound(_) => Error::NotFound(m),
        Error::PermissionDenied(_) => Error::PermissionDenied(m),
        Error::Busy(_) => Error::Busy(m),
        Error::Timeout(_) => Error::Timeout(m),
        Error::NotSupported(_) => Error::NotSupported(m),
        Error::UnknownDevice(_) => Error::UnknownDevice(m),
        Error::DeviceAlreadyInTargetNetns(_) => Error::DeviceAlreadyInTargetNetns(m),
        Error::Failed(_) => Error::Failed(m),
        e @ Error::ZBus(_) => e,
    }
}

/// Prefixes an error's message with `ctx` ("in namespace vpn1"), keeping its
/// kind.
pub fn with_context(e: Error, ctx: &str) -> Error {
    let m = format!("{ctx}: {}", e.message());
    replace_message(e, m)
}

fn invalid(m: impl Into<String>) -> Error {
    Error::InvalidArgument(m.into())
}

/// How the kernel's missing link kinds are known to users.
fn kind_feature(kind: &str) -> &'static str {
    match kind {
        "vlan" => " (802.1Q)",
        "wireguard" => " (WireGuard)",
        "gre" | "gretap" => " (GRE)",
        "bond" => " (bonding)",
        "vrf" => " (VRF)",
        _ => "",
    }
}

/// The error for a failed link creation.
fn create_err(e: rtnetlink::Error, what: &str, kind: &str) -> Error {
    let no_kind = format!(
        "the kernel has no support for link kind '{kind}'{}",
        kind_feature(kind)
    );
    let err = map_err_with(
        e,
        what,
        &[
            (Errno::EOPNOTSUPP, &no_kind),
            (Errno::EEXIST, "a device of that name already exists"),
        ],
    );
    match kind {
        "macvlan" | "vlan" => replace_enodev(err, what),
        _ => err,
    }
}

fn replace_enodev(err: Error, what: &str) -> Error {
    match err {
        Error::UnknownDevice(_) => {
            Error::UnknownDevice(format!("{what}: the parent device does not exist"))
        }
        e => e,
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    validate::ifname(name).map_err(invalid)
}

fn check_mtu(opts: &LinkOptions) -> Result<(), Error> {
    match opts.mtu {
        Some(m) => validate::mtu(m).map_err(invalid),
        None => Ok(()),
    }
}

fn mode(m: Mode) -> MacVlanMode {
    match m {
        Mode::Private => MacVlanMode::Private,
        Mode::Vepa => MacVlanMode::Vepa,
        Mode::Bridge => MacVlanMode::Bridge,
        Mode::Passthru => MacVlanMode::Passthrough,
        Mode::Source => MacVlanMode::Source,
    }
}

/// A link to create: `ip link add NAME [address MAC] [mtu MTU] [up] type KIND`.
fn new_link(
    name: &str,
    kind: InfoKind,
    data: Option<InfoData>,
    opts: &LinkOptions,
    mac: Option<[u8; 6]>,
) -> LinkMessage {
    let mut m = LinkMessage::default();
    if opts.up {
        m.header.flags |= LinkFlags::Up;
        m.header.change_mask |= LinkFlags::Up;
    }
    m.attributes.push(LinkAttribute::IfName(name.into()));
    m.attributes.extend(opts.mtu.map(LinkAttribute::Mtu));
    m.attributes
        .extend(mac.map(|mac| LinkAttribute::Address(mac.to_vec())));
    let mut info = vec![LinkInfo::Kind(kind)];
    info.extend(data.map(LinkInfo::Data));
    m.attributes.push(LinkAttribute::LinkInfo(info));
    m
}

/// The veth message: the peer carries its own name, MTU, MAC and namespace
/// fd, so the kernel creates it in `peer_ns` directly.
fn veth_message(
    name: &str,
    peer: &str,
    peer_ns: BorrowedFd<'_>,
    opts: &LinkOptions,
    mac: Option<[u8; 6]>,
    peer_mac: Option<[u8; 6]>,
) -> LinkMessage {
    let mut p = LinkMessage::default();
    p.attributes.push(LinkAttribute::IfName(peer.into()));
    p.attributes.extend(opts.mtu.map(LinkAttribute::Mtu));
    p.attributes
        .extend(peer_mac.map(|mac| LinkAttribute::Address(mac.to_vec())));
    p.attributes
        .push(LinkAttribute::NetNsFd(peer_ns.as_raw_fd()));
    new_link(
        name,
        InfoKind::Veth,
        Some(InfoData::Veth(InfoVeth::Peer(p))),
        opts,
        mac,
    )
}

/// Creates the veth pair NAME (here) and PEER (born in `peer_ns`). The MTU
/// goes to both ends; `opts.up` brings up this end only — bring the peer up
/// with [`set_up`] on a handle of its namespace.
pub async fn add_veth(
    h: &Handle,
    name: &str,
    peer: &str,
    peer_ns: BorrowedFd<'_>,
    opts: &LinkOptions,
    mac: Option<[u8; 6]>,
    peer_mac: Option<[u8; 6]>,
) -> Result<(), Error> {
    check_name(name)?;
    check_name(peer)?;
    check_mtu(opts)?;
    let msg = veth_message(name, peer, peer_ns, opts, mac, peer_mac);
    request(h, RouteNetlinkMessage::NewLink(msg), CREATE)
        .await
        .map_err(|e| {
            create_err(
                e,
                &format!("create veth {name} with peer {peer} in the peer namespace"),
                "veth",
            )
        })?;
    Ok(())
}

/// Adds IFLA_LINK (the parent, in the handle's namespace) and, when given,
/// IFLA_NET_NS_FD (where the link is born).
fn on_parent(mut m: LinkMessage, parent: u32, target_ns: Option<BorrowedFd<'_>>) -> LinkMessage {
    m.attributes.push(LinkAttribute::Link(parent));
    m.attributes
        .extend(target_ns.map(|fd| LinkAttribute::NetNsFd(fd.as_raw_fd())));
    m
}

fn macvlan_message(
    name: &str,
    parent: u32,
    target_ns: Option<BorrowedFd<'_>>,
    m: Mode,
    opts: &LinkOptions,
    mac: Option<[u8; 6]>,
) -> LinkMessage {
    let data = InfoData::MacVlan(vec![InfoMacVlan::Mode(mode(m))]);
    on_parent(
        new_link(name, InfoKind::MacVlan, Some(data), opts, mac),
        parent,
        target_ns,
    )
}

/// Creates a macvlan on `parent_ifindex` (a device of the handle's
/// namespace); with `target_ns` it is born in that namespace.
pub async fn add_macvlan(
    h: &Handle,
    name: &str,
    parent_ifindex: u32,
    target_ns: Option<BorrowedFd<'_>>,
    mode: Mode,
    opts: &LinkOptions,
    mac: Option<[u8; 6]>,
) -> Result<(), Error> {
    check_name(name)?;
    check_mtu(opts)?;
    let msg = macvlan_message(name, parent_ifindex, target_ns, mode, opts, mac);
    request(h, RouteNetlinkMessage::NewLink(msg), CREATE)
        .await
        .map_err(|e| {
            create_err(
                e,
                &format!(
                    "create macvlan {name} (mode {}) on device {parent_ifindex}",
                    mode.as_str()
                ),
                "macvlan",
            )
        })?;
    Ok(())
}

/// Creates a bridge (down unless `opts.up`).
pub async fn add_bridge(
    h: &Handle,
    name: &str,
    opts: &LinkOptions,
    mac: Option<[u8; 6]>,
) -> Result<(), Error> {
    check_name(name)?;
    check_mtu(opts)?;
    let msg = new_link(name, InfoKind::Bridge, None, opts, mac);
    request(h, RouteNetlinkMessage::NewLink(msg), CREATE)
        .await
        .map_err(|e| create_err(e, &format!("create bridge {name}"), "bridge"))?;
    Ok(())
}

/// Creates a WireGuard interface (down, unconfigured) in the handle's
/// namespace. A kernel without WireGuard refuses it with NotSupported.
pub async fn add_wireguard(h: &Handle, name: &str) -> Result<(), Error> {
    check_name(name)?;
    let msg = new_link(
        name,
        InfoKind::Wireguard,
        None,
        &LinkOptions::default(),
        None,
    );
    request(h, RouteNetlinkMessage::NewLink(msg), CREATE)
        .await
        .map_err(|e| {
            create_err(
                e,
                &format!("create WireGuard interface {name}"),
                "wireguard",
            )
        })?;
    Ok(())
}

fn vlan_message(
    name: &str,
    parent: u32,
    vlan_id: u16,
    target_ns: Option<BorrowedFd<'_>>,
    opts: &LinkOptions,
    mac: Option<[u8; 6]>,
) -> LinkMessage {
    let data = InfoData::Vlan(vec![InfoVlan::Id(vlan_id)]);
    on_parent(
        new_link(name, InfoKind::Vlan, Some(data), opts, mac),
        parent,
        target_ns,
    )
}

/// Creates an 802.1Q VLAN `vlan_id` (1..=4094) on `parent_ifindex`; with
/// `target_ns` it is born in that namespace.
pub async fn add_vlan(
    h: &Handle,
    name: &str,
    parent_ifindex: u32,
    vlan_id: u16,
    target_ns: Option<BorrowedFd<'_>>,
    opts: &LinkOptions,
    mac: Option<[u8; 6]>,
) -> Result<(), Error> {
    check_name(name)?;
    check_mtu(opts)?;
    if !(1..=4094).contains(&vlan_id) {
        return Err(invalid(format!(
            "VLAN id {vlan_id} is out of range: it must be between 1 and 4094"
        )));
    }
    let msg = vlan_message(name, parent_ifindex, vlan_id, target_ns, opts, mac);
    request(h, RouteNetlinkMessage::NewLink(msg), CREATE)
        .await
        .map_err(|e| {
            create_err(
                e,
                &format!("create VLAN {name} (id {vlan_id}) on device {parent_ifindex}"),
                "vlan",
            )
        })?;
    Ok(())
}

/// A change to the existing link `ifindex`.
fn link_change(ifindex: u32) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = ifindex;
    m
}

async fn change_link(h: &Handle, m: LinkMessage) -> Result<(), rtnetlink::Error> {
    request(h, RouteNetlinkMessage::SetLink(m), CHANGE)
        .await
        .map(drop)
}

/// Deletes a link (a veth takes its peer with it).
pub async fn delete_link(h: &Handle, ifindex: u32) -> Result<(), Error> {
    request(
        h,
        RouteNetlinkMessage::DelLink(link_change(ifindex)),
        CHANGE,
    )
    .await
    .map_err(|e| {
        map_err_with(
            e,
            &format!("delete device {ifindex}"),
            &[
                (Errno::ENODEV, "no such device"),
                (
                    Errno::EOPNOTSUPP,
                    "this kind of device cannot be deleted (a physical device, or lo)",
                ),
            ],
        )
    })?;
    Ok(())
}

/// Brings a link up or down.
pub async fn set_up(h: &Handle, ifindex: u32, up: bool) -> Result<(), Error> {
    let mut m = link_change(ifindex);
    if up {
        m.header.flags |= LinkFlags::Up;
    }
    m.header.change_mask |= LinkFlags::Up;
    let what = format!("bring device {ifindex} {}", if up { "up" } else { "down" });
    change_link(h, m)
        .await
        .map_err(|e| map_err_with(e, &what, &[(Errno::ENODEV, "no such device")]))
}

/// Sets a link's MTU.
pub async fn set_mtu(h: &Handle, ifindex: u32, mtu: u32) -> Result<(), Error> {
    validate::mtu(mtu).map_err(invalid)?;
    let mut m = link_change(ifindex);
    m.attributes.push(LinkAttribute::Mtu(mtu));
    change_link(h, m).await.map_err(|e| {
        map_err_with(
            e,
            &format!("set the MTU of device {ifindex} to {mtu}"),
            &[
                (Errno::ENODEV, "no such device"),
                (Errno::EINVAL, "outside the range this device accepts"),
            ],
        )
    })
}

/// Renames a link. Older kernels rename only a link that is down (EBUSY);
/// this never takes it down, and answers Busy saying so. (The 6.18 kernel
/// here renames an up veth without complaint.)
pub async fn rename(h: &Handle, ifindex: u32, new_name: &str) -> Result<(), Error> {
    check_name(new_name)?;
    let mut m = link_change(ifindex);
    m.attributes.push(LinkAttribute::IfName(new_name.into()));
    change_link(h, m).await.map_err(|e| {
        map_err_with(
            e,
            &format!("rename device {ifindex} to {new_name}"),
            &[
                (Errno::EBUSY, "the device is up; bring it down first"),
                (Errno::EEXIST, "a device of that name already exists"),
                (Errno::ENODEV, "no such device"),
            ],
        )
    })
}

/// Moves a link into the namespace of `target_ns` (TakeDevice). The kernel
/// gives it a new ifindex there when its own is taken.
pub async fn set_netns(h: &Handle, ifindex: u32, target_ns: BorrowedFd<'_>) -> Result<(), Error> {
    let mut m = link_change(ifindex);
    m.attributes
        .push(LinkAttribute::NetNsFd(target_ns.as_raw_fd()));
    change_link(h, m).await.map_err(|e| {
        map_err_with(
            e,
            &format!("move device {ifindex} to another namespace"),
            &[
                (
                    Errno::EEXIST,
                    "a device of the same name exists in the target namespace",
                ),
                (
                    Errno::EINVAL,
                    "the kernel refuses to move it (lo, bridges and some \
                     other devices are bound to their namespace)",
                ),
                (Errno::ENODEV, "no such device"),
            ],
        )
    })
}

/// Looks a link up by name: None if there is none.
pub async fn ifindex_by_name(h: &Handle, name: &str) -> Result<Option<u32>, Error> {
    Ok(link_by_name(h, name).await?.map(|l| l.header.index))
}

/// The link named `name`, as the kernel describes it, if there is one.
pub async fn link_by_name(h: &Handle, name: &str) -> Result<Option<LinkMessage>, Error> {
    check_name(name)?;
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.into()));
    match request(h, RouteNetlinkMessage::GetLink(m), NLM_F_REQUEST).await {
        Ok(answers) => Ok(answers.into_iter().find_map(|a| match a {
            RouteNetlinkMessage::NewLink(l) => Some(l),
            _ => None,
        })),
        Err(e) if errno(&e) == Some(Errno::ENODEV) => Ok(None),
        Err(e) => Err(map_err(e, &format!("look up device {name}"))),
    }
}

/// A link's name: None if there is no such link.
pub async fn link_name(h: &Handle, ifindex: u32) -> Result<Option<String>, Error> {
    match request(
        h,
        RouteNetlinkMessage::GetLink(link_change(ifindex)),
        NLM_F_REQUEST,
    )
    .await
    {
        Ok(answers) => Ok(answers.into_iter().find_map(|a| match a {
            RouteNetlinkMessage::NewLink(l) => l.attributes.into_iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n),
                _ => None,
            }),
            _ => None,
        })),
        Err(e) if errno(&e) == Some(Errno::ENODEV) => Ok(None),
        Err(e) => Err(map_err(e, &format!("look up device {ifindex}"))),
    }
}

/// `ip addr add|del ADDR/PREFIX dev IFINDEX`; IPv4 with the broadcast
/// address `brd +` would compute, IPv6 with duplicate address detection.
fn address_message(ifindex: u32, a: &Cidr) -> RouteNetlinkMessage {
    let m = match a.addr {
        IpAddr::V4(v4) => AddressMessageBuilder::<Ipv4Addr>::new()
            .index(ifindex)
            .address(v4, a.prefix)
            .build(),
        IpAddr::V6(v6) => AddressMessageBuilder::<Ipv6Addr>::new()
            .index(ifindex)
            .address(v6, a.prefix)
            .build(),
    };
    RouteNetlinkMessage::NewAddress(m)
}

/// Adds an address to a device (`ip addr add`).
pub async fn add_address(h: &Handle, ifindex: u32, a: &Cidr) -> Result<(), Error> {
    add_address_with(h, ifindex, a, false).await
}

/// Adds an address to a device; with `no_dad`, an IPv6 address is usable at
/// once (`ip addr add … nodad`), for links whose other end the daemon owns.
pub async fn add_address_with(
    h: &Handle,
    ifindex: u32,
    a: &Cidr,
    no_dad: bool,
) -> Result<(), Error> {
    let mut msg = address_message(ifindex, a);
    if no_dad
        && a.addr.is_ipv6()
        && let RouteNetlinkMessage::NewAddress(m) = &mut msg
    {
        m.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    request(h, msg, CREATE).await.map_err(|e| {
        map_err_with(
            e,
            &format!("add address {a} to device {ifindex}"),
            &[
                (Errno::EEXIST, "the device already has this address"),
                (Errno::ENODEV, "no such device"),
            ],
        )
    })?;
    Ok(())
}

/// Removes an address from a device (`ip addr del`); NotFound if absent.
pub async fn del_address(h: &Handle, ifindex: u32, a: &Cidr) -> Result<(), Error> {
    let RouteNetlinkMessage::NewAddress(m) = address_message(ifindex, a) else {
        unreachable!("address_message builds NewAddress")
    };
    request(h, RouteNetlinkMessage::DelAddress(m), CHANGE)
        .await
        .map_err(|e| {
            map_err_with(
                e,
                &format!("remove address {a} from device {ifindex}"),
                &[
                    (Errno::EADDRNOTAVAIL, "the device has no such address"),
                    (Errno::ENODEV, "no such device"),
                ],
            )
        })?;
    Ok(())
}

/// The table in a route or rule header: the 8-bit field for tables below 256,
/// else "unspec" with the 32-bit attribute deciding (as iproute2 sends it).
fn header_table(table: u32) -> u8 {
    u8::try_from(table).unwrap_or(0)
}

/// The route message for `ip route add` (`add`) or `ip route del`. An added
/// route without gateway gets scope link unless told otherwise, like
/// iproute2; a delete matches any scope, protocol and type unless told.
fn route_message(r: &Route, add: bool) -> RouteMessage {
    let mut m = RouteMessage::default();
    let h = &mut m.header;
    h.address_family = address_family(r.family);
    h.table = header_table(r.table);
    if add {
        h.protocol = RouteProtocol::from(RTPROT_NETNSD);
        h.kind = RouteType::Unicast;
        h.scope = match (r.scope, r.gateway) {
            (Some(s), _) => route_scope(s),
            (None, None) => RouteScope::Link,
            (None, Some(_)) => RouteScope::Universe,
        };
    } else {
        h.scope = r.scope.map_or(RouteScope::NoWhere, route_scope);
    }
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
    let Err(e) = request(
        h,
        RouteNetlinkMessage::NewRoute(route_message(r, true)),
        CREATE,
    )
    .await
    else {
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

/// Removes a route (`ip route del`); NotFound if there is no such route.
pub async fn del_route(h: &Handle, r: &Route) -> Result<(), Error> {
    request(
        h,
        RouteNetlinkMessage::DelRoute(route_message(r, false)),
        CHANGE,
    )
    .await
    .map_err(|e| {
        map_err_with(
            e,
            &format!("remove route {r}"),
            &[(Errno::ESRCH, "no such route")],
        )
    })?;
    Ok(())
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
    let mut out = Vec::new();
    for family in [Family::V4, Family::V6] {
        let mut m = RouteMessage::default();
        m.header.address_family = address_family(family);
        let answers = request(h, RouteNetlinkMessage::GetRoute(m), DUMP)
            .await
            .map_err(|e| map_err(e, &format!("list {family} routes")))?;
        out.extend(answers.into_iter().filter_map(|a| match a {
            RouteNetlinkMessage::NewRoute(r)
                if route_table(&r) != TABLE_LOCAL
                    && !r.header.flags.contains(RouteFlags::Cloned) =>
            {
                Some(r)
            }
            _ => None,
        }));
    }
    Ok(out)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroI32;
    use std::os::fd::AsFd;

    use netlink_packet_route::AddressFamily;
    use netlink_packet_route::address::AddressAttribute;
    use rtnetlink::packet_core::ErrorMessage;

    use netnsd_api::Scope;
    use netnsd_api::route::TABLE_MAIN;

    fn nl_err(errno: i32) -> rtnetlink::Error {
        let mut m = ErrorMessage::default();
        m.code = NonZeroI32::new(-errno);
        rtnetlink::Error::NetlinkError(m)
    }

    #[test]
    fn errors_map_by_errno() {
        for (errno, kind) in [
            (libc::EEXIST, "AlreadyExists"),
            (libc::ENODEV, "UnknownDevice"),
            (libc::EOPNOTSUPP, "NotSupported"),
            (libc::EAFNOSUPPORT, "NotSupported"),
            (libc::EINVAL, "InvalidArgument"),
            (libc::ENETUNREACH, "InvalidArgument"),
            (libc::EHOSTUNREACH, "InvalidArgument"),
            (libc::ERANGE, "InvalidArgument"),
            (libc::ENETDOWN, "InvalidArgument"),
            (libc::EPERM, "PermissionDenied"),
            (libc::EACCES, "PermissionDenied"),
            (libc::EBUSY, "Busy"),
            (libc::ESRCH, "NotFound"),
            (libc::ENOENT, "NotFound"),
            (libc::EADDRNOTAVAIL, "NotFound"),
            (libc::ENOBUFS, "Failed"),
        ] {
            let e = map_err(nl_err(errno), "do the thing to veth0");
            assert_eq!(e.short_name(), kind, "errno {errno} gave {e:?}");
            let want = format!("do the thing to veth0: {}", Errno::from_raw(errno).desc());
            assert_eq!(e.message(), want);
        }
        let e = map_err(nl_err(libc::EEXIST), "create veth veth0");
        assert_eq!(e.message(), "create veth veth0: File exists");
        // Not a kernel refusal.
        let e = map_err(rtnetlink::Error::RequestFailed, "list routes");
        assert!(matches!(&e, Error::Failed(m) if m.starts_with("list routes: ")));
    }

    #[test]
    fn missing_link_kinds_are_named() {
        let e = create_err(nl_err(libc::EOPNOTSUPP), "create VLAN v10", "vlan");
        assert!(matches!(e, Error::NotSupported(_)), "{e:?}");
        assert_eq!(
            e.message(),
            "create VLAN v10: the kernel has no support for link kind 'vlan' (802.1Q)"
        );
        let e = create_err(nl_err(libc::EEXIST), "create bridge br0", "bridge");
        assert!(matches!(e, Error::AlreadyExists(_)), "{e:?}");
        assert!(e.message().contains("already exists"));
        let e = create_err(
            nl_err(libc::ENODEV),
            "create macvlan mv0 on device 9",
            "macvlan",
        );
        assert!(matches!(e, Error::UnknownDevice(_)), "{e:?}");
        assert!(e.message().ends_with("the parent device does not exist"));
        let e = create_err(nl_err(libc::EINVAL), "create bridge br0", "bridge");
        assert_eq!(e.message(), "create bridge br0: Invalid argument");
    }

    #[test]
    fn context_keeps_the_kind() {
        let e = with_context(
            Error::Busy("rename device 3 to x: up".into()),
            "in namespace vpn",
        );
        assert!(matches!(&e, Error::Busy(m) if m == "in namespace vpn: rename device 3 to x: up"));
    }

    fn link_info(m: &LinkMessage) -> &[LinkInfo] {
        m.attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(i) => Some(i.as_slice()),
                _ => None,
            })
            .expect("IFLA_LINKINFO")
    }

    fn null_fd() -> std::fs::File {
        std::fs::File::open("/dev/null").unwrap()
    }

    #[test]
    fn veth_peer_is_born_in_its_namespace() {
        let ns = null_fd();
        let opts = LinkOptions {
            mtu: Some(1400),
            up: true,
            ..Default::default()
        };
        let mac = [2, 0, 0, 0, 0, 1];
        let peer_mac = [2, 0, 0, 0, 0, 2];
        let m = veth_message(
            "veth0",
            "eth0",
            ns.as_fd(),
            &opts,
            Some(mac),
            Some(peer_mac),
        );
        assert!(m.header.flags.contains(LinkFlags::Up));
        assert!(m.header.change_mask.contains(LinkFlags::Up));
        assert!(
            m.attributes
                .contains(&LinkAttribute::IfName("veth0".into()))
        );
        assert!(m.attributes.contains(&LinkAttribute::Mtu(1400)));
        assert!(m.attributes.contains(&LinkAttribute::Address(mac.to_vec())));
        // The local end stays here.
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::NetNsFd(_)))
        );
        let info = link_info(&m);
        assert_eq!(info[0], LinkInfo::Kind(InfoKind::Veth));
        let LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))) = &info[1] else {
            panic!("no peer in {info:?}");
        };
        assert!(p.attributes.contains(&LinkAttribute::IfName("eth0".into())));
        assert!(
            p.attributes
                .contains(&LinkAttribute::NetNsFd(ns.as_raw_fd()))
        );
        assert!(p.attributes.contains(&LinkAttribute::Mtu(1400)));
        assert!(
            p.attributes
                .contains(&LinkAttribute::Address(peer_mac.to_vec()))
        );
        // The peer is brought up by the caller, in its namespace.
        assert!(!p.header.flags.contains(LinkFlags::Up));
    }

    #[test]
    fn plain_link_stays_down_without_extras() {
        let m = new_link(
            "wg9",
            InfoKind::Wireguard,
            None,
            &LinkOptions::default(),
            None,
        );
        assert!(
            m.attributes
                .contains(&LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                    InfoKind::Wireguard
                )]))
        );
        let e = create_err(
            nl_err(libc::EOPNOTSUPP),
            "create WireGuard interface x",
            "wireguard",
        );
        assert!(
            matches!(&e, Error::NotSupported(m) if m.contains("(WireGuard)")),
            "{e:?}"
        );
        let m = new_link("br0", InfoKind::Bridge, None, &LinkOptions::default(), None);
        assert!(!m.header.flags.contains(LinkFlags::Up));
        assert_eq!(
            m.attributes,
            vec![
                LinkAttribute::IfName("br0".into()),
                LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]),
            ]
        );
    }

    #[test]
    fn macvlan_and_vlan_on_parent() {
        let ns = null_fd();
        let opts = LinkOptions::default();
        let m = macvlan_message("mv0", 2, Some(ns.as_fd()), Mode::Private, &opts, None);
        assert!(m.attributes.contains(&LinkAttribute::Link(2)));
        assert!(
            m.attributes
                .contains(&LinkAttribute::NetNsFd(ns.as_raw_fd()))
        );
        assert_eq!(
            link_info(&m),
            &[
                LinkInfo::Kind(InfoKind::MacVlan),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                    MacVlanMode::Private
                )])),
            ]
        );
        let m = macvlan_message("mv0", 2, None, Mode::Bridge, &opts, None);
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::NetNsFd(_)))
        );

        let m = vlan_message("v10", 3, 10, None, &opts, None);
        assert!(m.attributes.contains(&LinkAttribute::Link(3)));
        assert_eq!(
            link_info(&m)[1],
            LinkInfo::Data(InfoData::Vlan(vec![InfoVlan::Id(10)]))
        );
    }

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
        let m = route_message(&spec(Some("10.0.0.0/24"), None, Some(3)), true);
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
        let m = route_message(&r, true);
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

        // A delete matches any scope, protocol and type unless told.
        let m = route_message(&spec(Some("10.0.0.0/24"), None, Some(3)), false);
        assert_eq!(m.header.scope, RouteScope::NoWhere);
        assert_eq!(m.header.protocol, RouteProtocol::Unspec);
        assert_eq!(m.header.kind, RouteType::Unspec);
        let mut r = spec(Some("10.0.0.1/32"), None, Some(1));
        r.scope = Some(Scope::Host);
        assert_eq!(route_message(&r, false).header.scope, RouteScope::Host);
        assert_eq!(route_message(&r, true).header.scope, RouteScope::Host);
    }

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

    #[test]
    fn address_messages() {
        let RouteNetlinkMessage::NewAddress(m) =
            address_message(4, &"10.0.0.1/24".parse().unwrap())
        else {
            panic!()
        };
        assert_eq!((m.header.index, m.header.prefix_len), (4, 24));
        assert!(
            m.attributes
                .contains(&AddressAttribute::Broadcast("10.0.0.255".parse().unwrap()))
        );
        let RouteNetlinkMessage::NewAddress(m) = address_message(4, &"fd00::1/64".parse().unwrap())
        else {
            panic!()
        };
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert!(m.header.flags.is_empty(), "no NODAD by default");
    }
}
