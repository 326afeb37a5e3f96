//! Links: creating them (`add`), changing, moving and deleting them, and
//! looking them up by name or ifindex; what a link message says (`state`).
//! Devices are named by ifindex in the handle's namespace; another namespace
//! by a borrowed fd of its nsfs file, which the kernel takes as
//! IFLA_NET_NS_FD.

use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, LinkAttribute, LinkFlags, LinkMessage,
};
use netnsd_api::{Error, validate};
use nix::errno::Errno;

use crate::netlink::error::{errno, invalid, map_err, map_err_with};
use crate::netlink::handles::NetlinkHandle as Handle;
use crate::netlink::request::{CHANGE, GET, request};

mod add;
mod state;

use add::check_name;
#[cfg(test)]
pub(crate) use add::xfrm_message;
pub use add::{
    TunnelKind, TunnelOptions, VethEnds, add_bridge, add_macvlan, add_tunnel, add_veth,
    add_veth_echo, add_vlan, add_wireguard, add_xfrm, stable_mac,
};
pub use state::{LinkState, format_mac};

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

/// The first message of [`set_up_without_link_local`]: `ip link set DEV
/// addrgenmode none`.
fn no_link_local(ifindex: u32) -> LinkMessage {
    let mut m = link_change(ifindex);
    m.attributes
        .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
            vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
        )]));
    m
}

/// Brings a link up with no generated IPv6 link-local address (`ip link
/// set DEV addrgenmode none`, then up): no fe80::/64 route, no local route
/// for it, no DAD. For links whose link-local, if any, the caller adds
/// itself — the host ends of veth uplinks, thousands of which share one
/// namespace, where the kernel walks every route on link changes.
///
/// Two requests, the mode while the link is down, then up: in one (as `ip
/// link set DEV addrgenmode none up` sends it) the kernel announces the
/// mode's change after the up, before the link's operational state has
/// caught up with its carrier, and IPv6 takes that for a link going down
/// (a walk of the namespace's whole IPv6 table). A kernel without IPv6
/// refuses the mode (EAFNOSUPPORT): the link is then only brought up.
pub async fn set_up_without_link_local(h: &Handle, ifindex: u32) -> Result<(), Error> {
    set_no_link_local(h, ifindex).await?;
    set_up(h, ifindex, true).await
}

/// The first half of [`set_up_without_link_local`], `ip link set DEV
/// addrgenmode none`, for a caller that sends the up itself (right after,
/// without waiting, see [`in_order`](crate::netlink::in_order)). A kernel
/// without IPv6 refuses the mode: then there is nothing to turn off.
pub async fn set_no_link_local(h: &Handle, ifindex: u32) -> Result<(), Error> {
    let what = format!("turn off IPv6 link-local addresses on device {ifindex}");
    match change_link(h, no_link_local(ifindex)).await {
        Err(e) if errno(&e) == Some(Errno::EAFNOSUPPORT) => Ok(()),
        r => r.map_err(|e| map_err_with(e, &what, &[(Errno::ENODEV, "no such device")])),
    }
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

/// Enslaves a link to a bridge (or another controller), or frees it with
/// `None` (`ip link set DEV master BR | nomaster`).
pub async fn set_master(h: &Handle, ifindex: u32, master: Option<u32>) -> Result<(), Error> {
    let mut m = link_change(ifindex);
    m.attributes
        .push(LinkAttribute::Controller(master.unwrap_or(0)));
    let what = match master {
        Some(b) => format!("enslave device {ifindex} to device {b}"),
        None => format!("free device {ifindex} from its master"),
    };
    change_link(h, m).await.map_err(|e| {
        map_err_with(
            e,
            &what,
            &[
                (Errno::ENODEV, "no such device"),
                (
                    Errno::EOPNOTSUPP,
                    "the master cannot take devices (it is not a bridge or bond)",
                ),
                (
                    Errno::ELOOP,
                    "a device cannot be enslaved to itself or its own port",
                ),
                (Errno::EBUSY, "the device is already enslaved elsewhere"),
            ],
        )
    })
}

/// Sets a link's MAC address (`ip link set DEV address MAC`).
pub async fn set_hw_address(h: &Handle, ifindex: u32, mac: [u8; 6]) -> Result<(), Error> {
    let mut m = link_change(ifindex);
    m.attributes.push(LinkAttribute::Address(mac.to_vec()));
    change_link(h, m).await.map_err(|e| {
        map_err_with(
            e,
            &format!(
                "set the MAC address of device {ifindex} to {}",
                format_mac(&mac)
            ),
            &[
                (Errno::ENODEV, "no such device"),
                (
                    Errno::EADDRNOTAVAIL,
                    "the device refuses this address (multicast or zero)",
                ),
                (
                    Errno::EBUSY,
                    "the device changes its address only while down",
                ),
                (
                    Errno::EOPNOTSUPP,
                    "this kind of device has no changeable MAC address",
                ),
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
    match request(h, RouteNetlinkMessage::GetLink(m), GET).await {
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
    match request(h, RouteNetlinkMessage::GetLink(link_change(ifindex)), GET).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_link_local_sets_the_mode_and_nothing_else() {
        let m = no_link_local(7);
        assert_eq!(m.header.index, 7);
        assert!(m.header.flags.is_empty());
        assert!(m.header.change_mask.is_empty());
        assert_eq!(
            m.attributes,
            vec![LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)]
            )])]
        );
    }
}
