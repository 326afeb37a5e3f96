//! Creating links (`ip link add … type KIND`): veth, macvlan, bridge,
//! WireGuard, VLAN. Each message is built by a pure function (tested below
//! without a kernel). A link for another namespace is born there: the veth
//! peer and the macvlan carry the target namespace's fd (IFLA_NET_NS_FD), so
//! nothing is moved afterwards, which would cost an `rcu_barrier` per move.
//! A kernel without the kind refuses with NotSupported naming it.

use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::NLM_F_ECHO;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    GreIOFlags, InfoData, InfoGre, InfoIpTunnel, InfoKind, InfoMacVlan, InfoVeth, InfoVlan,
    InfoXfrm, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use netnsd_api::link::{LinkOptions, MacvlanMode as Mode};
pub use netnsd_api::tunnel::{TunnelKind, TunnelOptions};
use netnsd_api::{Error, validate};
use nix::errno::Errno;

use crate::netlink::error::{invalid, map_err_with};
use crate::netlink::handles::NetlinkHandle as Handle;
use crate::netlink::request::{CREATE, request};

/// How the kernel's missing link kinds are known to users.
fn kind_feature(kind: &str) -> &'static str {
    match kind {
        "vlan" => " (802.1Q)",
        "wireguard" => " (WireGuard)",
        "gre" | "gretap" => " (GRE, kernel module ip_gre)",
        "ipip" => " (IPv4 in IPv4, kernel module ipip)",
        "sit" => " (IPv6 in IPv4, kernel module sit)",
        "bond" => " (bonding)",
        "vrf" => " (VRF)",
        "xfrm" => " (XFRM interfaces, kernel module xfrm_interface)",
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

pub(super) fn check_name(name: &str) -> Result<(), Error> {
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
    veth_request(h, name, peer, peer_ns, opts, (mac, peer_mac), None, CREATE).await?;
    Ok(())
}

/// The RTM_NEWLINK of a veth pair, this end a port of `master` if given,
/// sent with `flags`: what the kernel answered.
#[allow(clippy::too_many_arguments)]
async fn veth_request(
    h: &Handle,
    name: &str,
    peer: &str,
    peer_ns: BorrowedFd<'_>,
    opts: &LinkOptions,
    (mac, peer_mac): (Option<[u8; 6]>, Option<[u8; 6]>),
    master: Option<u32>,
    flags: u16,
) -> Result<Vec<RouteNetlinkMessage>, Error> {
    check_name(name)?;
    check_name(peer)?;
    check_mtu(opts)?;
    let mut msg = veth_message(name, peer, peer_ns, opts, mac, peer_mac);
    msg.attributes.extend(master.map(LinkAttribute::Controller));
    request(h, RouteNetlinkMessage::NewLink(msg), flags)
        .await
        .map_err(|e| {
            create_err(
                e,
                &format!("create veth {name} with peer {peer} in the peer namespace"),
                "veth",
            )
        })
}

/// The two ends of a veth just made: this end's ifindex and the peer's
/// (in the peer's namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VethEnds {
    pub here: u32,
    pub peer: u32,
}

/// As [`add_veth`], for an uplink: the request asks the kernel to echo the
/// new link (NLM_F_ECHO, honoured for RTM_NEWLINK since Linux 6.3), whose
/// message carries both ifindexes (the peer's as IFLA_LINK): no lookup of
/// either end after. None when the kernel sent no echo (an older kernel):
/// look them up. (The peer cannot be born up: the kernel refuses to open a
/// veth end before its peer is registered, ENOTCONN.) With `port`, this
/// end is born a port of that bridge and the peer gets that MAC.
pub async fn add_veth_echo(
    h: &Handle,
    name: &str,
    peer: &str,
    peer_ns: BorrowedFd<'_>,
    opts: &LinkOptions,
    port: Option<(u32, [u8; 6])>,
) -> Result<Option<VethEnds>, Error> {
    let answers = veth_request(
        h,
        name,
        peer,
        peer_ns,
        opts,
        (None, port.map(|p| p.1)),
        port.map(|p| p.0),
        CREATE | NLM_F_ECHO,
    )
    .await?;
    Ok(answers.iter().find_map(|a| match a {
        RouteNetlinkMessage::NewLink(l) => veth_ends(l, name),
        _ => None,
    }))
}

/// Both ends' ifindexes from the echoed RTM_NEWLINK of veth `name`.
fn veth_ends(l: &LinkMessage, name: &str) -> Option<VethEnds> {
    let named = l
        .attributes
        .iter()
        .any(|a| matches!(a, LinkAttribute::IfName(n) if n == name));
    let peer = l.attributes.iter().find_map(|a| match a {
        LinkAttribute::Link(i) if *i != 0 => Some(*i),
        _ => None,
    })?;
    (named && l.header.index != 0).then_some(VethEnds {
        here: l.header.index,
        peer,
    })
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

/// The XFRM interface message: `ip link add NAME type xfrm [dev LINK]
/// if_id IF_ID`.
pub(crate) fn xfrm_message(name: &str, if_id: u32, link: Option<u32>) -> LinkMessage {
    let mut data = vec![InfoXfrm::IfId(if_id)];
    data.extend(link.map(InfoXfrm::Link));
    new_link(
        name,
        InfoKind::Xfrm,
        Some(InfoData::Xfrm(data)),
        &LinkOptions::default(),
        None,
    )
}

/// Creates an XFRM interface (down, unconfigured) with `if_id` in the
/// handle's namespace: the states and policies the IKE daemon installs
/// there with that if_id send their traffic through it, wherever it is
/// moved. A kernel without XFRM interfaces refuses it with NotSupported.
pub async fn add_xfrm(h: &Handle, name: &str, if_id: u32) -> Result<(), Error> {
    check_name(name)?;
    if if_id == 0 {
        return Err(Error::InvalidArgument(
            "an XFRM interface needs an if_id other than 0".into(),
        ));
    }
    request(
        h,
        RouteNetlinkMessage::NewLink(xfrm_message(name, if_id, None)),
        CREATE,
    )
    .await
    .map_err(|e| create_err(e, &format!("create XFRM interface {name}"), "xfrm"))?;
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

/// `ip link add NAME type gre|ipip|sit remote R [local L] [ttl T] [key K]`.
fn tunnel_message(
    name: &str,
    kind: TunnelKind,
    t: &TunnelOptions,
    opts: &LinkOptions,
) -> LinkMessage {
    let (info_kind, data) = match kind {
        TunnelKind::Gre => {
            let mut d = vec![InfoGre::Remote(t.remote)];
            d.extend(t.local.map(InfoGre::Local));
            d.extend(t.ttl.map(InfoGre::Ttl));
            if let Some(k) = t.key {
                d.extend([
                    InfoGre::IKey(k),
                    InfoGre::OKey(k),
                    InfoGre::IFlags(GreIOFlags::Key),
                    InfoGre::OFlags(GreIOFlags::Key),
                ]);
            }
            (InfoKind::GreTun, InfoData::GreTun(d))
        }
        TunnelKind::Ipip | TunnelKind::Sit => {
            let mut d = vec![InfoIpTunnel::Remote(t.remote.into())];
            d.extend(t.local.map(|l| InfoIpTunnel::Local(l.into())));
            d.extend(t.ttl.map(InfoIpTunnel::Ttl));
            let k = if kind == TunnelKind::Ipip {
                InfoKind::IpIp
            } else {
                InfoKind::SitTun
            };
            (k, InfoData::IpTunnel(d))
        }
    };
    new_link(name, info_kind, Some(data), opts, None)
}

/// Creates a GRE, IPIP or SIT tunnel. A kernel without the kind answers
/// NotSupported naming its module.
pub async fn add_tunnel(
    h: &Handle,
    name: &str,
    kind: TunnelKind,
    t: &TunnelOptions,
    opts: &LinkOptions,
) -> Result<(), Error> {
    check_name(name)?;
    check_mtu(opts)?;
    let msg = tunnel_message(name, kind, t, opts);
    request(h, RouteNetlinkMessage::NewLink(msg), CREATE)
        .await
        .map_err(|e| {
            create_err(
                e,
                &format!("create {} tunnel {name} to {}", kind.as_str(), t.remote),
                kind.as_str(),
            )
        })?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_messages() {
        let t = TunnelOptions {
            remote: "192.0.2.1".parse().unwrap(),
            local: Some("192.0.2.2".parse().unwrap()),
            ttl: Some(64),
            key: Some(9),
        };
        let m = tunnel_message("gre1", TunnelKind::Gre, &t, &LinkOptions::default());
        let info = m
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(i) => Some(i.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(info[0], LinkInfo::Kind(InfoKind::GreTun));
        let LinkInfo::Data(InfoData::GreTun(d)) = &info[1] else {
            panic!("{info:?}")
        };
        assert!(d.contains(&InfoGre::IKey(9)) && d.contains(&InfoGre::OFlags(GreIOFlags::Key)));
        assert!(d.contains(&InfoGre::Remote("192.0.2.1".parse().unwrap())));
        let m = tunnel_message(
            "sit1",
            TunnelKind::Sit,
            &TunnelOptions { key: None, ..t },
            &LinkOptions::default(),
        );
        assert!(format!("{m:?}").contains("SitTun"));
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::Address(_)))
        );
    }
    use std::os::fd::AsFd;

    use crate::netlink::error::tests::nl_err;
    use crate::netlink::link::format_mac;

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
}
