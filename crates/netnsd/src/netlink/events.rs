//! The daemon's one events socket, for all the namespaces it follows.
//!
//! It is opened in the daemon's own namespace with NETLINK_LISTEN_ALL_NSID
//! and subscribed to link and address events. The kernel delivers to it the
//! events of every namespace that has a namespace id (nsid) in the daemon's
//! namespace, each tagged with that nsid in a control message (`ip monitor
//! all-nsid` works the same way; events of the socket's own namespace come
//! untagged). Every namespace the daemon follows is given an nsid when its
//! platform opens ([`super::nsid`]), before the first dump of its links and
//! addresses, so that nothing between the two is missed; the nsid is mapped
//! back to netnsd's namespace number and the event goes to the manager
//! tagged with that number. The kernel frees an nsid only when its namespace
//! is destroyed, which is after the daemon stopped following it (and closed
//! its file); the reader keeps the socket drained, so an event of a dead
//! namespace is not left to be read after its nsid went to a new one.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::sys::Socket;
use rtnetlink::sys::protocols::NETLINK_ROUTE;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use super::nsid::NsidSocket;

/// Multicast groups the events socket listens to.
const GROUPS: &[u32] = &[
    libc::RTNLGRP_LINK,
    libc::RTNLGRP_IPV4_IFADDR,
    libc::RTNLGRP_IPV6_IFADDR,
];

/// The receive buffer asked for the events socket: the events of every
/// namespace queue there. The kernel charges only what is queued.
/// `NETNSD_EVENTS_RCVBUF` (bytes) overrides it, for tests that make it
/// overflow.
const EVENTS_RCVBUF: libc::c_int = 8 << 20;

fn events_rcvbuf() -> libc::c_int {
    std::env::var("NETNSD_EVENTS_RCVBUF")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &libc::c_int| n > 0)
        .unwrap_or(EVENTS_RCVBUF)
}

/// The one buffer events are read into; a kernel notification is far
/// smaller.
const EVENTS_READ_BUF: usize = 64 << 10;

/// The map key of events without an nsid: those of the events socket's own
/// namespace (-1 is NETNSA_NSID_NOT_ASSIGNED, never a tag).
const OWN: i32 = -1;

/// A netlink event, tagged with the number of the namespace it came from.
pub type Event = (u32, RouteNetlinkMessage);
pub type EventTx = mpsc::UnboundedSender<Event>;

/// The daemon's link and address events, from all the namespaces it follows.
/// Cheap to clone; the socket closes when the last clone is dropped.
#[derive(Clone)]
pub struct Events(Arc<Hub>);

struct Hub {
    routes: Arc<Routes>,
    /// A socket of the daemon's namespace for RTM_NEWNSID and RTM_GETNSID,
    /// used blocking: the kernel answers before send returns.
    nsid_socket: Mutex<NsidSocket>,
    /// The inode of the daemon's own network namespace.
    own_inode: u64,
    reader: tokio::task::AbortHandle,
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Where the events of each nsid go.
struct Routes {
    tx: EventTx,
    /// Told when the socket overflowed (ENOBUFS): events were lost, and
    /// whoever follows them must read the whole state again.
    overflowed: Arc<tokio::sync::Notify>,
    /// nsid (or [`OWN`]) → the numbers of the namespaces it is; more than one
    /// when the same namespace is bound under several names.
    map: Mutex<HashMap<i32, Vec<u32>>>,
}

impl Events {
    /// Opens the events socket in the calling thread's namespace, which must
    /// be the daemon's own, and starts reading it on `rt`; the events go to
    /// `tx`.
    pub fn start(rt: &tokio::runtime::Handle, tx: EventTx) -> io::Result<Events> {
        let _enter = rt.enter();
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        for group in GROUPS {
            socket.add_membership(*group)?;
        }
        socket.set_listen_all_namespaces(true)?;
        set_rcvbuf(socket.as_raw_fd(), events_rcvbuf());
        socket.set_non_blocking(true)?;
        // SAFETY: the Socket owns its fd, which stays open and the same
        // until the AsyncFd (which owns the Socket) is dropped.
        let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(io::Error::from)?;
        let routes = Arc::new(Routes {
            tx,
            overflowed: Arc::new(tokio::sync::Notify::new()),
            map: Mutex::new(HashMap::new()),
        });
        let reader = rt.spawn(read_events(socket, routes.clone())).abort_handle();
        let own_inode = crate::netns::current_netns_inode()?;
        let nsid_socket = Mutex::new(NsidSocket::new()?);
        Ok(Events(Arc::new(Hub {
            routes,
            nsid_socket,
            own_inode,
            reader,
        })))
    }

    /// Notified after the events socket overflowed (one permit for any
    /// number of overflows until it is awaited): read the state again.
    pub fn overflowed(&self) -> Arc<tokio::sync::Notify> {
        self.0.routes.overflowed.clone()
    }

    /// Follows the namespace of `ns` (its nsfs file) as netnsd's namespace
    /// `number`: gives it an nsid in the daemon's namespace if it has none,
    /// and from then on sends its events tagged `number`, until the returned
    /// [`Watch`] is dropped. Blocks briefly (two netlink requests).
    pub(super) fn watch(&self, number: u32, ns: &File) -> io::Result<Watch> {
        let hub = &self.0;
        let inode = ns.metadata()?.ino();
        let mut keys = vec![];
        let mut sock = hub.nsid_socket.lock().unwrap_or_else(|e| e.into_inner());
        if inode == hub.own_inode {
            // Untagged; and tagged too if someone gave the daemon's namespace
            // an nsid of its own.
            keys.push(OWN);
            keys.extend(sock.get(ns)?);
        } else {
            keys.push(sock.assign(ns)?);
        }
        drop(sock);
        let mut map = hub.routes.map.lock().unwrap_or_else(|e| e.into_inner());
        for k in &keys {
            map.entry(*k).or_default().push(number);
        }
        Ok(Watch {
            routes: hub.routes.clone(),
            keys,
            number,
        })
    }
}

impl Events {
    /// Gives namespace `ns` (its nsfs file; not the daemon's own) an nsid
    /// now, ahead of [`Events::watch_assigned`]: a spare namespace's events
    /// are dropped until it is followed. Blocks briefly (two requests).
    pub(super) fn assign(&self, ns: &File) -> io::Result<i32> {
        let mut sock = self.0.nsid_socket.lock().unwrap_or_else(|e| e.into_inner());
        sock.assign(ns)
    }

    /// As [`Events::watch`], for a namespace whose nsid is known
    /// ([`Events::assign`]): no request at all.
    pub(super) fn watch_assigned(&self, number: u32, nsid: i32) -> Watch {
        let hub = &self.0;
        let mut map = hub.routes.map.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(nsid).or_default().push(number);
        Watch {
            routes: hub.routes.clone(),
            keys: vec![nsid],
            number,
        }
    }
}

/// A namespace followed by [`Events`]; dropping it stops the events.
pub(super) struct Watch {
    routes: Arc<Routes>,
    keys: Vec<i32>,
    number: u32,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut map = self.routes.map.lock().unwrap_or_else(|e| e.into_inner());
        for k in &self.keys {
            if let Some(numbers) = map.get_mut(k) {
                if let Some(i) = numbers.iter().position(|n| *n == self.number) {
                    numbers.swap_remove(i);
                }
                if numbers.is_empty() {
                    map.remove(k);
                }
            }
        }
    }
}

fn set_rcvbuf(fd: RawFd, size: libc::c_int) {
    let set = |opt| {
        // SAFETY: a plain setsockopt with an int option on an fd we own.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        }
    };
    // Beyond net.core.rmem_max needs CAP_NET_ADMIN, which the daemon has.
    if set(libc::SO_RCVBUFFORCE) < 0 && set(libc::SO_RCVBUF) < 0 {
        tracing::warn!(
            "could not enlarge the netlink events buffer: {}",
            io::Error::last_os_error()
        );
    }
}

/// Reads the events socket until the manager is gone.
async fn read_events(socket: AsyncFd<Socket>, routes: Arc<Routes>) {
    let mut buf = vec![0u8; EVENTS_READ_BUF];
    loop {
        let mut ready = match socket.readable().await {
            Ok(r) => r,
            Err(e) => return tracing::error!("waiting for netlink events: {e}"),
        };
        let (len, nsid) = match ready.try_io(|s| recv_tagged(s.get_ref().as_raw_fd(), &mut buf)) {
            Err(_would_block) => continue,
            Ok(Ok(got)) => got,
            Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                tracing::warn!(
                    "the netlink events socket overflowed: some link and address changes were missed; reading them all again"
                );
                // What is still queued came before the overflow, and the
                // state read again will hold it: dropped here, or the
                // manager would apply it after reading the state again
                // (a link removed in the burst would come back).
                let dropped = drain(socket.get_ref().as_raw_fd(), &mut buf);
                tracing::debug!(dropped, "events queued before the overflow dropped");
                routes.overflowed.notify_one();
                continue;
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
            Ok(Err(e)) => return tracing::error!("reading netlink events: {e}"),
        };
        if len > buf.len() {
            tracing::warn!(len, "a netlink event larger than the buffer was dropped");
            continue;
        }
        if !routes.dispatch(&buf[..len], nsid.unwrap_or(OWN)) {
            return;
        }
    }
}

/// Reads and drops what the events socket holds, until it is empty (or
/// after as many messages as the largest receive buffer could hold, should
/// events keep coming as fast as they are read); how many were dropped.
fn drain(fd: RawFd, buf: &mut [u8]) -> usize {
    const MOST: usize = 1 << 16;
    let mut dropped = 0;
    while dropped < MOST {
        match recv_tagged(fd, buf) {
            Ok(_) => dropped += 1,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Empty (EAGAIN), or overflowed again: the state is read
            // again after this anyway.
            Err(_) => break,
        }
    }
    dropped
}

/// Receives one datagram from the kernel: its full length (more than the
/// buffer if it was truncated) and the nsid it is tagged with, if any.
fn recv_tagged(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<i32>)> {
    // u64s for the alignment of cmsghdr; room for a few control messages.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: zeroed sockaddr_nl and msghdr are valid values.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut addr as *mut libc::sockaddr_nl).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: every pointer in msg points at live buffers of the given sizes.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT | libc::MSG_TRUNC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if addr.nl_pid != 0 {
        // Not from the kernel: nothing to believe.
        return Ok((0, None));
    }
    let mut nsid = None;
    // SAFETY: the CMSG_* walk stays within msg_control as the kernel filled it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_NETLINK
                && (*c).cmsg_type == libc::NETLINK_LISTEN_ALL_NSID
            {
                nsid = Some(std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>()));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, nsid))
}

impl Routes {
    /// Sends the messages of one datagram to the namespaces `key` is;
    /// false once nobody listens any more.
    fn dispatch(&self, datagram: &[u8], key: i32) -> bool {
        let numbers = match self.map.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            Some(n) => n.clone(),
            // A namespace the daemon does not follow.
            None => return !self.tx.is_closed(),
        };
        for m in messages(datagram) {
            for &n in &numbers {
                if self.tx.send((n, m.clone())).is_err() {
                    return false;
                }
            }
        }
        true
    }
}

/// The route messages in a datagram; what does not decode is skipped.
pub(super) fn messages(mut rest: &[u8]) -> Vec<RouteNetlinkMessage> {
    const HEADER: usize = 16;
    let mut out = Vec::new();
    while rest.len() >= HEADER {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < HEADER || len > rest.len() {
            break;
        }
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len]) {
            Ok(m) => {
                if let NetlinkPayload::InnerMessage(m) = m.payload {
                    out.push(m);
                }
            }
            Err(e) => tracing::debug!("undecodable netlink event: {e}"),
        }
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{LinkAttribute, LinkHeader, LinkLayerType, LinkMessage};

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

    fn datagram(msgs: Vec<RouteNetlinkMessage>) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            let mut m = NetlinkMessage::from(m);
            m.finalize();
            let mut b = vec![0u8; m.buffer_len()];
            m.serialize(&mut b);
            out.extend_from_slice(&b);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out
    }

    #[test]
    fn a_datagram_splits_into_its_messages() {
        let d = datagram(vec![
            RouteNetlinkMessage::NewLink(msg(3, vec![LinkAttribute::IfName("a".into())])),
            RouteNetlinkMessage::DelLink(msg(4, vec![LinkAttribute::IfName("bb".into())])),
        ]);
        let got = messages(&d);
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], RouteNetlinkMessage::NewLink(m) if m.header.index == 3));
        assert!(matches!(&got[1], RouteNetlinkMessage::DelLink(m) if m.header.index == 4));
        // A truncated tail is dropped, not misread.
        assert_eq!(messages(&d[..d.len() - 4]).len(), 1);
        assert!(messages(&[]).is_empty());
    }

    #[test]
    fn events_go_to_the_namespaces_of_their_nsid_while_watched() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let routes = Arc::new(Routes {
            tx,
            overflowed: Arc::new(tokio::sync::Notify::new()),
            map: Mutex::new(HashMap::new()),
        });
        let watch = |keys: Vec<i32>, number| {
            let mut map = routes.map.lock().unwrap();
            for k in &keys {
                map.entry(*k).or_default().push(number);
            }
            Watch {
                routes: routes.clone(),
                keys,
                number,
            }
        };
        let root = watch(vec![OWN], 0);
        let a = watch(vec![5], 1);
        // The same namespace under a second name.
        let b = watch(vec![5], 2);
        let d = datagram(vec![RouteNetlinkMessage::NewLink(msg(1, vec![]))]);
        let mut seen = || {
            let mut v = Vec::new();
            while let Ok((n, _)) = rx.try_recv() {
                v.push(n);
            }
            v.sort();
            v
        };
        assert!(routes.dispatch(&d, OWN));
        assert_eq!(seen(), vec![0]);
        assert!(routes.dispatch(&d, 5));
        assert_eq!(seen(), vec![1, 2]);
        assert!(routes.dispatch(&d, 6));
        assert_eq!(seen(), Vec::<u32>::new());
        drop(a);
        assert!(routes.dispatch(&d, 5));
        assert_eq!(seen(), vec![2]);
        drop(b);
        drop(root);
        assert!(routes.map.lock().unwrap().is_empty());
    }
}
