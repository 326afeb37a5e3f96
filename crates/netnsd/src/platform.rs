//! Per-namespace netlink: one connection per namespace, opened inside it,
//! used for requests and subscribed to link and address events.
//!
//! A socket belongs to the namespace it was opened in, so a socket for another
//! namespace is opened on a thread that has entered that namespace (a fresh OS
//! thread, never a tokio worker); afterwards it is driven from the runtime
//! like any other.

use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::path::Path;

use futures::StreamExt;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    LinkAttribute, LinkFlags, LinkInfo, LinkLayerType, LinkMessage, State,
};
use nix::sched::{CloneFlags, setns};
use rtnetlink::sys::AsyncSocket;
use rtnetlink::{Handle, LinkUnspec};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

/// Multicast groups every platform listens to.
const GROUPS: &[u32] = &[
    libc::RTNLGRP_LINK,
    libc::RTNLGRP_IPV4_IFADDR,
    libc::RTNLGRP_IPV6_IFADDR,
];

/// A netlink event, tagged with the number of the namespace it came from.
pub type Event = (u32, RouteNetlinkMessage);
pub type EventTx = mpsc::UnboundedSender<Event>;

/// A netlink connection bound to one namespace. The socket closes when the
/// last clone is dropped, which matters: an open socket keeps its namespace
/// alive after `/run/netns/NAME` is gone.
#[derive(Clone)]
pub struct Platform {
    pub handle: Handle,
    _alive: Arc<watch::Sender<()>>,
}

impl Platform {
    /// Opens a connection in the calling thread's namespace, subscribed to
    /// link and address events, which go to `events` tagged with `ns`.
    /// Safe to call from a plain OS thread: the work is started on `rt`.
    pub fn open_here(rt: &tokio::runtime::Handle, ns: u32, events: EventTx) -> io::Result<Self> {
        let _enter = rt.enter();
        // Two sockets: the kernel stamps the notification of a change with
        // the requester's sequence number, so on a shared socket netlink-proto
        // takes our own changes' notifications for replies and they never
        // reach the event stream.
        let (conn, handle, _) = rtnetlink::new_connection()?;
        let (mut events_conn, _, mut messages) = rtnetlink::new_connection()?;
        let events_socket = events_conn.socket_mut().socket_mut();
        // It never sends, so nothing would bind it: bind it to get events.
        events_socket.bind_auto()?;
        for group in GROUPS {
            events_socket.add_membership(*group)?;
        }
        // Both tasks end when the last Platform clone drops its sender.
        let (alive, mut conn_alive) = watch::channel(());
        let mut events_alive = alive.subscribe();
        rt.spawn(async move {
            tokio::select! {
                _ = conn => {}
                _ = events_conn => {}
                _ = conn_alive.changed() => {}
            }
        });
        rt.spawn(async move {
            loop {
                let msg = tokio::select! {
                    m = messages.next() => m,
                    _ = events_alive.changed() => None,
                };
                let Some((msg, _)) = msg else { break };
                if let netlink_packet_core::NetlinkPayload::InnerMessage(m) = msg.payload
                    && events.send((ns, m)).is_err()
                {
                    break;
                }
            }
        });
        Ok(Platform {
            handle,
            _alive: Arc::new(alive),
        })
    }

    /// Opens a connection inside the namespace bound at `path`, from a
    /// throw-away thread that enters it and leaves again.
    pub fn open_in(
        path: &Path,
        rt: &tokio::runtime::Handle,
        ns: u32,
        events: EventTx,
    ) -> io::Result<Self> {
        let target = File::open(path)?;
        let rt = rt.clone();
        std::thread::Builder::new()
            .name("netns-open".into())
            .spawn(move || {
                let own = File::open("/proc/thread-self/ns/net")?;
                setns(&target, CloneFlags::CLONE_NEWNET)?;
                let opened = Platform::open_here(&rt, ns, events);
                if let Err(e) = setns(&own, CloneFlags::CLONE_NEWNET) {
                    tracing::error!("could not return the netlink thread to its namespace: {e}");
                }
                opened
            })?
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the netlink thread panicked")))
    }

    /// Brings the loopback device (ifindex 1 in every namespace) up.
    pub async fn loopback_up(&self) -> Result<(), rtnetlink::Error> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(1).up().build())
            .execute()
            .await
    }

    /// Every link in the namespace.
    pub async fn dump_links(&self) -> Result<Vec<LinkMessage>, rtnetlink::Error> {
        let mut out = Vec::new();
        let mut s = self.handle.link().get().execute();
        while let Some(m) = s.next().await {
            out.push(m?);
        }
        Ok(out)
    }

    /// Every address in the namespace.
    pub async fn dump_addresses(&self) -> Result<Vec<AddressMessage>, rtnetlink::Error> {
        let mut out = Vec::new();
        let mut s = self.handle.address().get().execute();
        while let Some(m) = s.next().await {
            out.push(m?);
        }
        Ok(out)
    }
}

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
                LinkAttribute::Address(a) => s.hw_address = format_hw(a),
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

fn format_hw(bytes: &[u8]) -> String {
    bytes
        .iter()
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
}
