//! Per-namespace netlink, cheap enough for thousands of namespaces.
//!
//! Events: one socket for the whole daemon ([`Events`]), opened in the
//! daemon's own namespace with NETLINK_LISTEN_ALL_NSID and subscribed to link
//! and address events. The kernel delivers to it the events of every
//! namespace that has a namespace id (nsid) in the daemon's namespace, each
//! tagged with that nsid in a control message (`ip monitor all-nsid` works
//! the same way; events of the socket's own namespace come untagged). Every
//! namespace the daemon follows is given an nsid when its platform opens
//! (RTM_NEWNSID, the kernel picks the number), before the first dump of its
//! links and addresses, so that nothing between the two is missed; the nsid is
//! mapped back to netnsd's namespace number and the event goes to the manager
//! tagged with that number. The kernel frees an nsid only when its namespace
//! is destroyed, which is after the daemon stopped following it (and closed
//! its file); the reader keeps the socket drained, so an event of a dead
//! namespace is not left to be read after its nsid went to a new one.
//!
//! Requests: a [`NetlinkHandle`] per namespace opens its netlink connection
//! when a request comes and drops it once unused for [`IDLE`], so an idle
//! namespace costs no socket and no buffer, only the namespace's file, kept
//! open: it is how the connection is opened again, and it keeps the namespace
//! reachable (and alive) after `/run/netns/NAME` is gone until the daemon has
//! cleaned up after it, as the old per-namespace sockets did. A socket
//! belongs to the namespace it was opened in, so a socket for another
//! namespace is opened on a throw-away OS thread that enters it (never a
//! tokio worker) and is then driven from the runtime like any other.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::StreamExt;
use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    LinkAttribute, LinkFlags, LinkInfo, LinkLayerType, LinkMessage, State,
};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use nix::sched::{CloneFlags, setns};
use rtnetlink::sys::Socket;
use rtnetlink::sys::protocols::NETLINK_ROUTE;
use rtnetlink::{Handle, LinkUnspec};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Multicast groups the events socket listens to.
const GROUPS: &[u32] = &[
    libc::RTNLGRP_LINK,
    libc::RTNLGRP_IPV4_IFADDR,
    libc::RTNLGRP_IPV6_IFADDR,
];

/// How long a namespace's request connection stays open after its last use.
pub const IDLE: Duration = Duration::from_secs(1);

/// The receive buffer asked for the events socket: the events of every
/// namespace queue there. The kernel charges only what is queued.
const EVENTS_RCVBUF: libc::c_int = 8 << 20;

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
        set_rcvbuf(socket.as_raw_fd(), EVENTS_RCVBUF);
        socket.set_non_blocking(true)?;
        // SAFETY: the Socket owns its fd, which stays open and the same
        // until the AsyncFd (which owns the Socket) is dropped.
        let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(io::Error::from)?;
        let routes = Arc::new(Routes {
            tx,
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

    /// Follows the namespace of `ns` (its nsfs file) as netnsd's namespace
    /// `number`: gives it an nsid in the daemon's namespace if it has none,
    /// and from then on sends its events tagged `number`, until the returned
    /// [`Watch`] is dropped. Blocks briefly (two netlink requests).
    fn watch(&self, number: u32, ns: &File) -> io::Result<Watch> {
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

/// A namespace followed by [`Events`]; dropping it stops the events.
struct Watch {
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
                    "the netlink events socket overflowed: some link and address changes were missed"
                );
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
fn messages(mut rest: &[u8]) -> Vec<RouteNetlinkMessage> {
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

/// A blocking netlink socket of the daemon's namespace for nsid requests.
struct NsidSocket {
    socket: Socket,
    seq: u32,
}

impl NsidSocket {
    fn new() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        Ok(NsidSocket { socket, seq: 0 })
    }

    /// The nsid the daemon's namespace has for `ns`, giving it one (picked
    /// by the kernel) if it has none, as `ip netns set NAME auto` does.
    fn assign(&mut self, ns: &File) -> io::Result<i32> {
        let mut m = NsidMessage::default();
        m.attributes = vec![
            NsidAttribute::Fd(ns.as_raw_fd() as u32),
            NsidAttribute::Id(-1),
        ];
        match self.request(RouteNetlinkMessage::NewNsId(m), NLM_F_REQUEST | NLM_F_ACK) {
            // EEXIST: it has one already (the kernel gives one to the far
            // namespace of a veth, for instance).
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e),
        }
        self.get(ns)?
            .ok_or_else(|| io::Error::other("the namespace has no nsid right after RTM_NEWNSID"))
    }

    /// The nsid the daemon's namespace has for `ns`, if any.
    fn get(&mut self, ns: &File) -> io::Result<Option<i32>> {
        let mut m = NsidMessage::default();
        m.attributes = vec![NsidAttribute::Fd(ns.as_raw_fd() as u32)];
        let answer = self.request(RouteNetlinkMessage::GetNsId(m), NLM_F_REQUEST)?;
        let Some(RouteNetlinkMessage::NewNsId(m)) = answer else {
            return Err(io::Error::other("no answer to RTM_GETNSID"));
        };
        Ok(m.attributes.iter().find_map(|a| match a {
            NsidAttribute::Id(id) if *id >= 0 => Some(*id),
            _ => None,
        }))
    }

    /// Sends one request and reads its answer: the message the kernel sent
    /// back, or None for a bare acknowledgement; a refusal is an error.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Option<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        req.header.sequence_number = self.seq;
        req.finalize();
        let mut out = vec![0u8; req.buffer_len()];
        req.serialize(&mut out);
        self.socket.send(&out, 0)?;
        let mut buf = vec![0u8; 8192];
        loop {
            // The kernel handles a route request within send: the answer is
            // already queued, and a missing one must not hang the daemon.
            let n = self
                .socket
                .recv(&mut &mut buf[..], libc::MSG_DONTWAIT)?
                .min(buf.len());
            let mut rest = &buf[..n];
            while rest.len() >= 16 {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                if len < 16 || len > rest.len() {
                    break;
                }
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len])
                    .map_err(|e| io::Error::other(format!("undecodable netlink answer: {e}")))?;
                rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
                if m.header.sequence_number != self.seq {
                    continue;
                }
                return match m.payload {
                    NetlinkPayload::Error(e) => match e.code {
                        Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                        None => Ok(None),
                    },
                    NetlinkPayload::InnerMessage(m) => Ok(Some(m)),
                    _ => Ok(None),
                };
            }
        }
    }
}

/// Requests to one namespace over a netlink connection that is opened on the
/// first request and closed after [`IDLE`] without one. Cheap to clone.
#[derive(Clone)]
pub struct NetlinkHandle(Arc<Lazy>);

struct Lazy {
    rt: tokio::runtime::Handle,
    target: Target,
    open: tokio::sync::Mutex<Option<Open>>,
}

enum Target {
    /// The daemon's own namespace, where all its threads are.
    Own,
    /// Another namespace: its nsfs file, and where it is bound (for messages).
    Other { file: File, path: PathBuf },
}

struct Open {
    handle: Handle,
    last_use: Instant,
}

/// Request connections open right now, in all namespaces.
static OPEN: AtomicUsize = AtomicUsize::new(0);

impl Open {
    fn new(handle: Handle) -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        Open {
            handle,
            last_use: Instant::now(),
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

impl NetlinkHandle {
    fn new(rt: &tokio::runtime::Handle, target: Target, open: Option<Handle>) -> Self {
        let opened = open.is_some();
        let h = NetlinkHandle(Arc::new(Lazy {
            rt: rt.clone(),
            target,
            open: tokio::sync::Mutex::new(open.map(Open::new)),
        }));
        if opened {
            h.close_when_idle();
        }
        h
    }

    /// The connection, opened if it is not; it stays open until unused for
    /// [`IDLE`]. Keep the returned handle until the answer is read: the
    /// connection ends when the last handle is gone.
    pub async fn get(&self) -> Result<Handle, rtnetlink::Error> {
        let mut open = self.0.open.lock().await;
        if let Some(o) = open.as_mut() {
            o.last_use = Instant::now();
            return Ok(o.handle.clone());
        }
        let handle = self.connect().await.map_err(|e| {
            let wher = match &self.0.target {
                Target::Own => "the daemon's namespace".to_owned(),
                Target::Other { path, .. } => path.display().to_string(),
            };
            rtnetlink::Error::NamespaceError(format!("cannot open netlink in {wher}: {e}"))
        })?;
        *open = Some(Open::new(handle.clone()));
        drop(open);
        self.close_when_idle();
        Ok(handle)
    }

    async fn connect(&self) -> io::Result<Handle> {
        if let Target::Own = self.0.target {
            return connect_here(&self.0.rt);
        }
        let lazy = self.0.clone();
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("netns-open".into())
            .spawn(move || {
                let Target::Other { file, .. } = &lazy.target else {
                    unreachable!("the daemon's namespace needs no thread")
                };
                let _ = tx.send(connect_in(file, &lazy.rt));
            })?;
        rx.await
            .unwrap_or_else(|_| Err(io::Error::other("the netlink thread panicked")))
    }

    /// Drops the connection once unused for [`IDLE`]: one timer per opening,
    /// which wakes once per IDLE while the connection is in use, and not at
    /// all once it is closed.
    fn close_when_idle(&self) {
        let lazy: Weak<Lazy> = Arc::downgrade(&self.0);
        self.0.rt.spawn(async move {
            let mut deadline = Instant::now() + IDLE;
            loop {
                tokio::time::sleep_until(deadline).await;
                let Some(lazy) = lazy.upgrade() else { return };
                let mut open = lazy.open.lock().await;
                match open.as_ref() {
                    Some(o) if o.last_use + IDLE > Instant::now() => deadline = o.last_use + IDLE,
                    _ => {
                        // Requests still under way keep their own handles.
                        *open = None;
                        release_memory_when_idle(&lazy.rt);
                        return;
                    }
                }
            }
        });
    }
}

impl Drop for Lazy {
    fn drop(&mut self) {
        // A namespace forgotten: removals free memory.
        release_memory_when_idle(&self.rt);
    }
}

/// When to give free memory back, and whether a timer is set for it.
static TRIM: Mutex<(Option<Instant>, bool)> = Mutex::new((None, false));

/// Gives the allocator's free memory back to the kernel once, when for
/// [`IDLE`] no connection has been open and no namespace has been dropped
/// since the last call: after a burst of work, and above all after removals,
/// so that the daemon's size follows its population down. One timer at a
/// time, which wakes at most once per IDLE while the burst lasts and not at
/// all once it is done.
fn release_memory_when_idle(rt: &tokio::runtime::Handle) {
    let mut trim = TRIM.lock().unwrap_or_else(|e| e.into_inner());
    trim.0 = Some(Instant::now() + IDLE);
    if trim.1 {
        return;
    }
    trim.1 = true;
    drop(trim);
    rt.spawn(async {
        loop {
            let deadline = TRIM.lock().unwrap_or_else(|e| e.into_inner()).0;
            let deadline = deadline.unwrap_or_else(Instant::now);
            tokio::time::sleep_until(deadline).await;
            let mut trim = TRIM.lock().unwrap_or_else(|e| e.into_inner());
            if trim.0.is_some_and(|d| d > Instant::now()) {
                continue;
            }
            *trim = (None, false);
            drop(trim);
            // Still busy: the last connection to close calls again.
            if OPEN.load(Ordering::Relaxed) == 0 {
                release_free_memory();
            }
            return;
        }
    });
}

/// Returns the allocator's free memory to the kernel (glibc keeps freed
/// memory in its arenas, most of it below live chunks where it never trims
/// on its own).
fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    {
        let t = std::time::Instant::now();
        // SAFETY: malloc_trim only walks the allocator's own free lists.
        unsafe {
            libc::malloc_trim(0);
        }
        tracing::debug!(elapsed = ?t.elapsed(), "gave free memory back to the kernel");
    }
}

/// Opens a request connection in the calling thread's namespace, driven on
/// `rt`; it ends when the last clone of the handle is dropped.
fn connect_here(rt: &tokio::runtime::Handle) -> io::Result<Handle> {
    let _enter = rt.enter();
    let (conn, handle, unsolicited) = rtnetlink::new_connection()?;
    // The socket is in no multicast group: nothing unsolicited comes.
    drop(unsolicited);
    rt.spawn(conn);
    Ok(handle)
}

/// Runs on a throw-away thread: enters the namespace of `target`, opens a
/// connection there, and leaves.
fn connect_in(target: &File, rt: &tokio::runtime::Handle) -> io::Result<Handle> {
    let own = File::open("/proc/thread-self/ns/net")?;
    setns(target, CloneFlags::CLONE_NEWNET)?;
    let opened = connect_here(rt);
    if let Err(e) = setns(&own, CloneFlags::CLONE_NEWNET) {
        tracing::error!("could not return the netlink thread to its namespace: {e}");
    }
    opened
}

/// One namespace as the daemon sees it: its requests, and its events, which
/// go to the manager while a clone lives. The namespace's file and any open
/// connection close when the last clone is dropped, which matters: either
/// keeps the namespace alive after `/run/netns/NAME` is gone.
#[derive(Clone)]
pub struct Platform {
    pub handle: NetlinkHandle,
    _events: Arc<Watch>,
}

impl Platform {
    /// The daemon's own namespace (the calling thread's, which must be
    /// the daemon's), as namespace `ns`, its events going to `events`.
    /// Opens no connection yet.
    pub fn open_here(rt: &tokio::runtime::Handle, ns: u32, events: Events) -> io::Result<Self> {
        let own = File::open("/proc/thread-self/ns/net")?;
        Ok(Platform {
            _events: Arc::new(events.watch(ns, &own)?),
            handle: NetlinkHandle::new(rt, Target::Own, None),
        })
    }

    /// A namespace just made and bound at `path`, from a thread that is
    /// inside it: follows its events, and opens the request connection
    /// right away since the thread is there anyway.
    pub fn open_new(
        path: &Path,
        rt: &tokio::runtime::Handle,
        ns: u32,
        events: Events,
    ) -> io::Result<Self> {
        let here = File::open("/proc/thread-self/ns/net")?;
        let watch = events.watch(ns, &here)?;
        let handle = connect_here(rt)?;
        let target = Target::Other {
            file: here,
            path: path.to_owned(),
        };
        Ok(Platform {
            _events: Arc::new(watch),
            handle: NetlinkHandle::new(rt, target, Some(handle)),
        })
    }

    /// The namespace bound at `path`, as namespace `ns`. Blocks briefly
    /// (opens the file, asks for an nsid); opens no connection yet.
    pub fn open_in(
        path: &Path,
        rt: &tokio::runtime::Handle,
        ns: u32,
        events: Events,
    ) -> io::Result<Self> {
        let file = File::open(path)?;
        let watch = events.watch(ns, &file)?;
        let target = Target::Other {
            file,
            path: path.to_owned(),
        };
        Ok(Platform {
            _events: Arc::new(watch),
            handle: NetlinkHandle::new(rt, target, None),
        })
    }

    /// Brings the loopback device (ifindex 1 in every namespace) up.
    pub async fn loopback_up(&self) -> Result<(), rtnetlink::Error> {
        self.handle
            .get()
            .await?
            .link()
            .set(LinkUnspec::new_with_index(1).up().build())
            .execute()
            .await
    }

    /// Every link in the namespace.
    pub async fn dump_links(&self) -> Result<Vec<LinkMessage>, rtnetlink::Error> {
        let h = self.handle.get().await?;
        let mut out = Vec::new();
        let mut s = h.link().get().execute();
        while let Some(m) = s.next().await {
            out.push(m?);
        }
        Ok(out)
    }

    /// Every address in the namespace.
    pub async fn dump_addresses(&self) -> Result<Vec<AddressMessage>, rtnetlink::Error> {
        let h = self.handle.get().await?;
        let mut out = Vec::new();
        let mut s = h.address().get().execute();
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
