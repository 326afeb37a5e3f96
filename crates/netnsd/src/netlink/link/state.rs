//! What a link message (a dump's answer, or an RTM_NEWLINK/RTM_DELLINK
//! event) says about a device: [`LinkState`], in the words the Device
//! objects use.

use netlink_packet_route::link::{
    LinkAttribute, LinkFlags, LinkInfo, LinkLayerType, LinkMessage, State,
};

/// What a link message says about a device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkState {
    pub ifindex: u32,
    pub name: String,
    pub kind: String,
    pub hw_address: String,
    pub mtu: u32,
    pub state: String,
    /// Administratively up (IFF_UP).
    pub up: bool,
    pub loopback: bool,
    /// A port of a controller (a bridge's port: IFLA_MASTER).
    pub port: bool,
    /// Set on an RTM_DELLINK that reports a move to another namespace.
    pub moved_to_ifindex: Option<u32>,
}

impl LinkState {
    pub fn from_message(m: &LinkMessage) -> Self {
        let mut s = LinkState {
            ifindex: m.header.index,
            loopback: m.header.flags.contains(LinkFlags::Loopback),
            up: m.header.flags.contains(LinkFlags::Up),
            state: "unknown".into(),
            ..Default::default()
        };
        let mut moved = false;
        let mut new_ifindex = None;
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => s.name = n.clone(),
                LinkAttribute::Mtu(v) => s.mtu = *v,
                LinkAttribute::Controller(i) => s.port = *i != 0,
                LinkAttribute::Address(a) => s.hw_address = format_mac(a),
                LinkAttribute::OperState(st) => s.state = state_name(st),
                LinkAttribute::LinkInfo(infos) => {
                    for i in infos {
                        if let LinkInfo::Kind(k) = i {
                            s.kind = k.to_string();
                        }
                    }
                }
                LinkAttribute::NewNetnsId(_) => moved = true,
                LinkAttribute::NewIfIndex(i) => new_ifindex = u32::try_from(*i).ok(),
                _ => {}
            }
        }
        if s.kind.is_empty() {
            s.kind = if s.loopback {
                "loopback".into()
            } else if m.header.link_layer_type == LinkLayerType::Ether {
                "ethernet".into()
            } else {
                format!("{:?}", m.header.link_layer_type).to_lowercase()
            };
        }
        if moved {
            s.moved_to_ifindex = Some(new_ifindex.unwrap_or(s.ifindex));
        }
        s
    }
}

/// `aa:bb:cc:dd:ee:ff`, lowercase.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn state_name(s: &State) -> String {
    match s {
        State::Unknown => "unknown",
        State::NotPresent => "notpresent",
        State::Down => "down",
        State::LowerLayerDown => "lowerlayerdown",
        State::Testing => "testing",
        State::Dormant => "dormant",
        State::Up => "up",
        _ => "other",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{InfoKind, LinkHeader};

    fn msg(index: u32, attrs: Vec<LinkAttribute>) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header = LinkHeader {
            index,
            link_layer_type: LinkLayerType::Ether,
            ..Default::default()
        };
        m.attributes = attrs;
        m
    }

    #[test]
    fn link_state_reads_the_attributes() {
        let m = msg(
            7,
            vec![
                LinkAttribute::IfName("veth0".into()),
                LinkAttribute::Mtu(1400),
                LinkAttribute::Address(vec![0x02, 0, 0, 0xab, 0xcd, 0xef]),
                LinkAttribute::OperState(State::Up),
                LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Veth)]),
            ],
        );
        let s = LinkState::from_message(&m);
        assert_eq!(s.ifindex, 7);
        assert_eq!(s.name, "veth0");
        assert_eq!(s.kind, "veth");
        assert_eq!(s.mtu, 1400);
        assert_eq!(s.hw_address, "02:00:00:ab:cd:ef");
        assert_eq!(s.state, "up");
        assert!(!s.loopback);
        assert_eq!(s.moved_to_ifindex, None);
    }

    #[test]
    fn dellink_of_a_move_reports_the_new_ifindex() {
        let m = msg(
            7,
            vec![
                LinkAttribute::IfName("t".into()),
                LinkAttribute::NewNetnsId(3),
                LinkAttribute::NewIfIndex(2),
            ],
        );
        assert_eq!(LinkState::from_message(&m).moved_to_ifindex, Some(2));
        let m = msg(
            7,
            vec![
                LinkAttribute::IfName("t".into()),
                LinkAttribute::NewNetnsId(3),
            ],
        );
        assert_eq!(LinkState::from_message(&m).moved_to_ifindex, Some(7));
        assert_eq!(LinkState::from_message(&msg(7, vec![])).kind, "ethernet");
    }

    #[test]
    fn macs_format() {
        assert_eq!(
            format_mac(&[0x02, 0xAB, 0, 1, 0x10, 0xff]),
            "02:ab:00:01:10:ff"
        );
        assert_eq!(format_mac(&[]), "");
    }
}
