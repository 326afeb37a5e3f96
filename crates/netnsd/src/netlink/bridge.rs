//! Bridge ports and neighbours, for the bridge topology of veth uplinks
//! (`crate::uplink::configure_bridge_port`): a port's flags (`ip link set
//! DEV type bridge_slave isolated on learning off`), a static FDB entry
//! (`bridge fdb add MAC dev PORT master static`), and permanent neighbour
//! entries (`ip neigh replace ADDR lladdr MAC dev BR nud permanent`),
//! listed and deleted again. Each message is built by a pure function,
//! tested below without a kernel.

use std::net::IpAddr;

use netlink_packet_route::link::{
    InfoBridgePort, InfoPortData, InfoPortKind, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::RouteType;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netnsd_api::Error;
use nix::errno::Errno;
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_REPLACE};

use crate::netlink::error::{errno, map_err_with};
use crate::netlink::format_mac;
use crate::netlink::handles::NetlinkHandle as Handle;
use crate::netlink::request::{CHANGE, DUMP, request};

/// RTM_NEWLINK (no create) setting bridge port `port`'s isolation and
/// learning: the kernel takes a port's flags as slave data of a NEWLINK,
/// not of a SETLINK.
fn port_message(port: u32, isolated: bool, learning: bool) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = port;
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::PortKind(InfoPortKind::Bridge),
        LinkInfo::PortData(InfoPortData::BridgePort(vec![
            InfoBridgePort::Isolated(isolated),
            InfoBridgePort::Learning(learning),
        ])),
    ]));
    m
}

/// Sets bridge port `port`'s isolation (an isolated port reaches only the
/// bridge's non-isolated ports: here, the bridge itself) and learning.
pub async fn set_bridge_port(
    h: &Handle,
    port: u32,
    isolated: bool,
    learning: bool,
) -> Result<(), Error> {
    request(
        h,
        RouteNetlinkMessage::NewLink(port_message(port, isolated, learning)),
        CHANGE,
    )
    .await
    .map_err(|e| {
        map_err_with(
            e,
            &format!("set bridge port flags of device {port}"),
            &[
                (Errno::ENODEV, "no such device"),
                (Errno::EOPNOTSUPP, "the device is not a bridge port"),
            ],
        )
    })?;
    Ok(())
}

fn neighbour_address(a: IpAddr) -> NeighbourAddress {
    match a {
        IpAddr::V4(v4) => NeighbourAddress::Inet(v4),
        IpAddr::V6(v6) => NeighbourAddress::Inet6(v6),
    }
}

/// The static FDB entry of `mac` on bridge port `port` (`master static`:
/// NUD_NOARP, NTF_MASTER; NUD_PERMANENT would make it the bridge's own).
fn fdb_message(port: u32, mac: [u8; 6]) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Bridge;
    m.header.ifindex = port;
    m.header.state = NeighbourState::Noarp;
    m.header.flags = NeighbourFlags::Controller;
    m.header.kind = RouteType::Unspec;
    m.attributes
        .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
    m
}

/// Adds `mac` as a static FDB entry of bridge port `port`.
pub async fn add_fdb_static(h: &Handle, port: u32, mac: [u8; 6]) -> Result<(), Error> {
    request(
        h,
        RouteNetlinkMessage::NewNeighbour(fdb_message(port, mac)),
        CHANGE | NLM_F_CREATE | NLM_F_REPLACE,
    )
    .await
    .map_err(|e| {
        map_err_with(
            e,
            &format!("add {} to the FDB of bridge port {port}", format_mac(&mac)),
            &[(Errno::ENODEV, "no such device")],
        )
    })?;
    Ok(())
}

/// The permanent neighbour entry `addr` → `mac` on device `dev`.
fn neighbour_message(dev: u32, addr: IpAddr, mac: Option<[u8; 6]>) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.ifindex = dev;
    m.header.state = NeighbourState::Permanent;
    m.header.kind = RouteType::Unspec;
    m.attributes
        .push(NeighbourAttribute::Destination(neighbour_address(addr)));
    m.attributes
        .extend(mac.map(|mac| NeighbourAttribute::LinkLayerAddress(mac.to_vec())));
    m
}

/// Sets (or replaces) the permanent neighbour entry `addr` → `mac` on
/// device `dev`: no ARP or neighbour advertisement changes it.
pub async fn set_permanent_neighbour(
    h: &Handle,
    dev: u32,
    addr: IpAddr,
    mac: [u8; 6],
) -> Result<(), Error> {
    request(
        h,
        RouteNetlinkMessage::NewNeighbour(neighbour_message(dev, addr, Some(mac))),
        CHANGE | NLM_F_CREATE | NLM_F_REPLACE,
    )
    .await
    .map_err(|e| {
        map_err_with(
            e,
            &format!("set neighbour {addr} on device {dev}"),
            &[(Errno::ENODEV, "no such device")],
        )
    })?;
    Ok(())
}

/// Deletes the neighbour entry `addr` of device `dev`; none there is fine.
pub async fn del_neighbour(h: &Handle, dev: u32, addr: IpAddr) -> Result<(), Error> {
    match request(
        h,
        RouteNetlinkMessage::DelNeighbour(neighbour_message(dev, addr, None)),
        CHANGE,
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if matches!(errno(&e), Some(Errno::ENOENT | Errno::ENODEV)) => Ok(()),
        Err(e) => Err(map_err_with(
            e,
            &format!("delete neighbour {addr} of device {dev}"),
            &[],
        )),
    }
}

/// The addresses of the permanent neighbour entries of device `dev`.
pub async fn permanent_neighbours(h: &Handle, dev: u32) -> Result<Vec<IpAddr>, Error> {
    let mut q = NeighbourMessage::default();
    q.header.ifindex = dev;
    let answers = request(h, RouteNetlinkMessage::GetNeighbour(q), DUMP)
        .await
        .map_err(|e| map_err_with(e, &format!("list the neighbours of device {dev}"), &[]))?;
    Ok(answers
        .into_iter()
        .filter_map(|a| match a {
            RouteNetlinkMessage::NewNeighbour(n)
                if n.header.ifindex == dev && n.header.state == NeighbourState::Permanent =>
            {
                n.attributes.iter().find_map(|a| match a {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => {
                        Some(IpAddr::V4(*v4))
                    }
                    NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => {
                        Some(IpAddr::V6(*v6))
                    }
                    _ => None,
                })
            }
            _ => None,
        })
        .collect())
}

/// The links of the handle's namespace whose names `keep` accepts:
/// (ifindex, name).
pub async fn links_named(
    h: &Handle,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<(u32, String)>, Error> {
    let answers = request(
        h,
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        DUMP,
    )
    .await
    .map_err(|e| map_err_with(e, "list the links", &[]))?;
    Ok(answers
        .into_iter()
        .filter_map(|a| match a {
            RouteNetlinkMessage::NewLink(l) => l.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) if keep(n) => Some((l.header.index, n.clone())),
                _ => None,
            }),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_message_carries_isolation_and_learning_as_bridge_slave_data() {
        let m = port_message(7, true, false);
        assert_eq!(m.header.index, 7);
        let [LinkAttribute::LinkInfo(info)] = m.attributes.as_slice() else {
            panic!("{m:?}")
        };
        assert_eq!(info[0], LinkInfo::PortKind(InfoPortKind::Bridge));
        assert_eq!(
            info[1],
            LinkInfo::PortData(InfoPortData::BridgePort(vec![
                InfoBridgePort::Isolated(true),
                InfoBridgePort::Learning(false),
            ]))
        );
    }

    #[test]
    fn an_fdb_entry_is_static_on_the_port_not_the_bridges_own() {
        let m = fdb_message(9, [0x0a, 0x6e, 0x73, 0, 0, 1]);
        assert_eq!(m.header.family, AddressFamily::Bridge);
        assert_eq!(m.header.ifindex, 9);
        assert_eq!(m.header.state, NeighbourState::Noarp);
        assert_eq!(m.header.flags, NeighbourFlags::Controller);
    }

    #[test]
    fn a_neighbour_is_permanent_in_its_family() {
        let m = neighbour_message(3, "fd00::6".parse().unwrap(), Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert_eq!(m.header.state, NeighbourState::Permanent);
        assert_eq!(m.attributes.len(), 2);
        let m = neighbour_message(3, "10.0.0.6".parse().unwrap(), None);
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert_eq!(m.attributes.len(), 1);
    }
}
