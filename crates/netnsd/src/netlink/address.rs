//! Addresses: adding and removing them (`ip addr add|del`), and reading
//! address messages (dumps and events).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netnsd_api::{Cidr, Error};
use nix::errno::Errno;
use rtnetlink::AddressMessageBuilder;

use super::error::map_err_with;
use super::handles::NetlinkHandle as Handle;
use super::request::{CHANGE, CREATE, request};

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

/// `ip addr add LOCAL peer PEER/PREFIX dev IFINDEX`: a point-to-point
/// address. The kernel takes the prefix length with the peer (as iproute2
/// does) and adds a route to the peer's prefix instead of the local one.
fn peer_message(ifindex: u32, local: IpAddr, peer: &Cidr) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.index = ifindex;
    m.header.prefix_len = peer.prefix;
    m.header.family = match local {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.attributes.push(AddressAttribute::Local(local));
    m.attributes.push(AddressAttribute::Address(peer.addr));
    m
}

/// Adds a point-to-point address (`ip addr add LOCAL peer PEER/PREFIX`).
/// InvalidArgument when the two are of different families.
pub async fn add_peer_address(
    h: &Handle,
    ifindex: u32,
    local: IpAddr,
    peer: &Cidr,
) -> Result<(), Error> {
    if local.is_ipv4() != peer.addr.is_ipv4() {
        return Err(Error::InvalidArgument(format!(
            "address {local} and peer {peer} are of different families"
        )));
    }
    let msg = RouteNetlinkMessage::NewAddress(peer_message(ifindex, local, peer));
    request(h, msg, CREATE).await.map_err(|e| {
        map_err_with(
            e,
            &format!("add address {local} peer {peer} to device {ifindex}"),
            &[
                (Errno::EEXIST, "the device already has this address"),
                (Errno::ENODEV, "no such device"),
            ],
        )
    })?;
    Ok(())
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

/// `ip addr add ADDR/64 dev IFINDEX nodad noprefixroute`: an IPv6
/// link-local address with no fe80::/64 route of its own, usable at once.
fn link_local_message(ifindex: u32, addr: Ipv6Addr) -> RouteNetlinkMessage {
    let mut m = AddressMessageBuilder::<Ipv6Addr>::new()
        .index(ifindex)
        .address(addr, 64)
        .build();
    m.attributes.push(AddressAttribute::Flags(
        AddressFlags::Nodad | AddressFlags::Noprefixroute,
    ));
    RouteNetlinkMessage::NewAddress(m)
}

/// Adds a link-local address without its prefix route (see
/// [`link_local_message`]): what a router needs to resolve its neighbours
/// on a link (neighbour solicitations go out from a link-local address),
/// without the route to all of fe80::/64 on that link.
pub async fn add_link_local(h: &Handle, ifindex: u32, addr: Ipv6Addr) -> Result<(), Error> {
    request(h, link_local_message(ifindex, addr), CREATE)
        .await
        .map_err(|e| {
            map_err_with(
                e,
                &format!("add link-local address {addr}/64 to device {ifindex}"),
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
    let RouteNetlinkMessage::NewAddress(mut m) = address_message(ifindex, a) else {
        unreachable!("address_message builds NewAddress")
    };
    // The local address and prefix length name the address; IFA_ADDRESS
    // would have to match a point-to-point address's peer too.
    if m.attributes
        .iter()
        .any(|x| matches!(x, AddressAttribute::Local(_)))
    {
        m.attributes
            .retain(|x| !matches!(x, AddressAttribute::Address(_)));
    }
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

/// `addr/prefix` and ifindex of an address message.
pub fn address_of(m: &AddressMessage) -> Option<(u32, String)> {
    let mut local: Option<IpAddr> = None;
    let mut address: Option<IpAddr> = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    let ip = local.or(address)?;
    Some((m.header.index, format!("{ip}/{}", m.header.prefix_len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_addresses_carry_local_and_peer_with_the_peer_prefix() {
        let m = peer_message(
            3,
            "10.9.0.1".parse().unwrap(),
            &"10.9.0.2/32".parse().unwrap(),
        );
        assert_eq!((m.header.index, m.header.prefix_len), (3, 32));
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert!(
            m.attributes
                .contains(&AddressAttribute::Local("10.9.0.1".parse().unwrap()))
        );
        assert!(
            m.attributes
                .contains(&AddressAttribute::Address("10.9.0.2".parse().unwrap()))
        );
        assert_eq!(address_of(&m), Some((3, "10.9.0.1/32".into())));
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
