//! Kernel IPsec, isolated: the way for kernels with ESP and XFRM
//! interfaces (written and unit-tested; the kernels netnsd is tested on
//! have neither, so IPsec goes through kernel-libipsec's TUN device there,
//! see `plugin`).
//!
//! IPsec in the kernel makes no device of its own: its states and
//! policies match packets by address. An XFRM interface with an `if_id`
//! is one: the states and policies installed with that `if_id` (strongSwan:
//! `if_id_in`/`if_id_out` of a CHILD_SA) send what they decrypt out of the
//! interface, and take what is routed into the interface. So the interface
//! is made in the uplink namespace, where the IKE daemon and its states
//! live, with the activation's `if_id`, and moved into the isolated
//! namespace like any tunnel: there it is the only way out, and the
//! states stay behind, where the uplink is.

use netnsd_api::Error;

use crate::netlink::{NetlinkHandle, add_xfrm};

/// The high half of every if_id netnsd uses ("ns"), so they stay apart
/// from those an administrator gives by hand (small numbers).
const IF_ID_BASE: u32 = 0x6e73_0000;

/// The `if_id` of activation `number`'s XFRM interface: never 0 (which
/// means "none" to the kernel), one per active connection.
pub fn if_id(number: u32) -> u32 {
    IF_ID_BASE | (number & 0xffff).max(1)
}

/// Makes activation `number`'s XFRM interface `tundev` in the handle's
/// (the uplink) namespace; NotSupported where the kernel has no XFRM
/// interfaces.
pub async fn make(h: &NetlinkHandle, tundev: &str, number: u32) -> Result<u32, Error> {
    let id = if_id(number);
    add_xfrm(h, tundev, id).await?;
    Ok(id)
}

/// What the IKE daemon is told for the CHILD_SA (swanctl.conf), so its
/// states and policies carry the interface's `if_id`.
pub fn swanctl_child_options(number: u32) -> String {
    let id = if_id(number);
    format!("if_id_in = {id:#x}\nif_id_out = {id:#x}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::link_xfrm_message;
    use netlink_packet_route::link::{InfoData, InfoKind, InfoXfrm, LinkAttribute, LinkInfo};

    #[test]
    fn if_ids_are_never_zero_and_one_per_activation() {
        assert_eq!(if_id(0), 0x6e73_0001);
        assert_eq!(if_id(1), 0x6e73_0001);
        assert_eq!(if_id(7), 0x6e73_0007);
        assert_ne!(if_id(7), if_id(8));
        assert!(swanctl_child_options(7).contains("if_id_in = 0x6e730007"));
        assert!(swanctl_child_options(7).contains("if_id_out = 0x6e730007"));
    }

    #[test]
    fn the_link_is_an_xfrm_interface_with_its_if_id() {
        let m = link_xfrm_message("nsvpn7", if_id(7), None);
        assert!(
            m.attributes
                .contains(&LinkAttribute::IfName("nsvpn7".into()))
        );
        let info = m
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(i) => Some(i.clone()),
                _ => None,
            })
            .unwrap();
        assert!(info.contains(&LinkInfo::Kind(InfoKind::Xfrm)));
        assert!(
            info.contains(&LinkInfo::Data(InfoData::Xfrm(vec![InfoXfrm::IfId(
                0x6e73_0007
            )])))
        );
        // Down, as made: it is configured where it ends up.
        assert!(m.header.flags.is_empty());
    }
}
