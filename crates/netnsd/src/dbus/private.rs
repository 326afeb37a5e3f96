//! The private socket, `/run/netnsd/private`: D-Bus peer to peer with the
//! daemon, for root only, as systemd's `/run/systemd/private` serves
//! `systemctl` run as root. `nsctl exec` run as root uses it when it is
//! there, and skips the bus daemon: no Hello, no routing through
//! dbus-daemon, no question to the bus about who the caller is (the socket
//! says: SO_PEERCRED, SO_PEERGROUPS) — issue 18 item 2.
//!
//! It answers the calls `nsctl exec` makes, with the same code, checks and
//! errors as on the bus: the controller's GetNetworkNamespaceByName, a
//! namespace's Spawn and Properties.Get of its Id, Peer.Ping, and Hello
//! (which gdbus sends to any address; `gdbus call --address` works); and
//! its own `net.netnsd.Netns1.Private.SpawnByName` on the controller's
//! path, the lookup and Spawn in one call, which nsctl sends with the
//! handshake: one round trip in all before the program starts. The
//! ProcessExited of a program started over a connection comes on that
//! connection (as well as on the bus). Any other call is answered
//! UnknownMethod: the bus is the API; this is a shortcut for one path.
//!
//! Root only: the socket is made mode 0600, and a peer whose uid is not 0
//! is dropped before a byte is read (the daemon runs programs as the
//! caller, so the caller must be known for certain). At most
//! [`MAX_CONNECTIONS`] at once; more are closed at once (nsctl then uses
//! the bus). The socket is made anew at each start (a crashed daemon's is
//! replaced) and removed when the daemon stops.

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netnsd_api::{
    CONTROLLER_INTERFACE, CONTROLLER_PATH, Error, INSTANCE_INTERFACE, NAMESPACE_PATH_PREFIX,
    PRIVATE_INTERFACE, namespace_path, object_number,
};
use tokio::sync::mpsc;
use zbus::Message;
use zbus::message::Type;

mod peer;
use peer::Peer;

use super::controller::{namespace_named, valid_name};
use super::instance::spawn::{Dict, checked_spawn};
use crate::manager::ManagerHandle;
use crate::spawn::Caller;

/// The socket's name in the state directory.
pub const FILE_NAME: &str = "private";

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;

const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const PEER: &str = "org.freedesktop.DBus.Peer";

/// A program started with Spawn ended (what ProcessExited says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exited {
    pub ns: u32,
    pub pid: u32,
    pub status: i32,
}

/// Where the ends of programs go besides the bus: a queue per private
/// connection (each keeps those of the programs it started).
#[derive(Clone, Default)]
pub struct ExitFeed(Arc<Mutex<Feed>>);

#[derive(Default)]
struct Feed {
    next: u64,
    queues: HashMap<u64, mpsc::UnboundedSender<Exited>>,
}

impl ExitFeed {
    /// Hands `e` to every private connection.
    pub fn send(&self, e: Exited) {
        let mut f = self.0.lock().expect("exit feed");
        if !f.queues.is_empty() {
            f.queues.retain(|_, q| q.send(e).is_ok());
        }
    }

    fn subscribe(&self) -> Subscription {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut f = self.0.lock().expect("exit feed");
        let id = f.next;
        f.next += 1;
        f.queues.insert(id, tx);
        Subscription {
            feed: self.clone(),
            id,
            rx,
        }
    }

    #[cfg(test)]
    fn queues(&self) -> usize {
        self.0.lock().expect("exit feed").queues.len()
    }
}

/// One connection's queue of ends, dropped with it.
struct Subscription {
    feed: ExitFeed,
    id: u64,
    rx: mpsc::UnboundedReceiver<Exited>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut f) = self.feed.0.lock() {
            f.queues.remove(&self.id);
        }
    }
}

/// The listening socket; removed (and its connections' acceptor stopped)
/// when this is dropped.
pub struct Private {
    path: PathBuf,
    acceptor: tokio::task::JoinHandle<()>,
}

impl Drop for Private {
    fn drop(&mut self) {
        self.acceptor.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens at `path` (what was there goes: a crashed daemon's socket).
pub fn listen(path: &Path, manager: ManagerHandle, feed: ExitFeed) -> io::Result<Private> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::UnixListener::from_std(listener)?;
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let acceptor = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of descriptors, most likely: let some go.
                    tracing::warn!("private socket: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::debug!(
                    "private socket: {MAX_CONNECTIONS} connections already; closed one"
                );
                continue;
            };
            match stream.peer_cred() {
                Ok(c) if c.uid() == 0 => {}
                Ok(c) => {
                    tracing::warn!(
                        uid = c.uid(),
                        pid = c.pid(),
                        "private socket: closed a connection that is not root's"
                    );
                    continue;
                }
                Err(e) => {
                    tracing::debug!("private socket: peer credentials: {e}");
                    continue;
                }
            }
            let groups = peer_groups(stream.as_raw_fd());
            let (manager, feed) = (manager.clone(), feed.clone());
            tokio::spawn(async move {
                let _slot = slot;
                if let Err(e) = serve(stream, manager, feed, groups).await {
                    tracing::debug!("private socket: connection ended: {e}");
                }
            });
        }
    });
    Ok(Private {
        path: path.to_owned(),
        acceptor,
    })
}

/// The peer's supplementary groups (SO_PEERGROUPS, as dbus-daemon reports
/// them as UnixGroupIDs); None if the kernel does not say.
fn peer_groups(fd: RawFd) -> Option<Vec<u32>> {
    let mut groups = vec![0u32; 64];
    for _ in 0..2 {
        let mut len = (groups.len() * 4) as libc::socklen_t;
        // SAFETY: the buffer holds `len` bytes, and the kernel writes at
        // most that many (or says how many it needs with ERANGE).
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r == 0 {
            groups.truncate(len as usize / 4);
            return Some(groups);
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE) {
            return None;
        }
        groups.resize(len as usize / 4 + 1, 0);
    }
    None
}

/// How long a new connection may take to authenticate.
const HANDSHAKE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Answers one connection until it closes.
async fn serve(
    stream: tokio::net::UnixStream,
    manager: ManagerHandle,
    feed: ExitFeed,
    groups: Option<Vec<u32>>,
) -> io::Result<()> {
    // Subscribed before the first Spawn, so no end is missed.
    let mut ends = feed.subscribe();
    let mut peer = Peer::new(stream);
    tokio::time::timeout(HANDSHAKE_LIMIT, peer.handshake())
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no handshake"))??;
    let mut started = HashSet::new();
    let caller = Caller { uid: 0, groups };
    loop {
        tokio::select! {
            m = peer.next_message() => {
                let Some(m) = m? else { return Ok(()) };
                if let Some(pid) = answer(&mut peer, &m, &manager, &caller).await? {
                    started.insert(pid);
                }
            }
            Some(e) = ends.rx.recv() => {
                if started.remove(&e.pid) {
                    let m = Message::signal(namespace_path(e.ns), INSTANCE_INTERFACE, "ProcessExited")
                        .build(&(e.pid, e.status))
                        .map_err(io::Error::other)?;
                    peer.send(&m).await?;
                }
            }
        }
    }
}

/// Answers a call; Some(pid) for a program started.
async fn answer(
    peer: &mut Peer,
    m: &Message,
    manager: &ManagerHandle,
    caller: &Caller,
) -> io::Result<Option<u32>> {
    let hdr = m.header();
    if hdr.message_type() != Type::MethodCall {
        return Ok(None);
    }
    let path = hdr.path().map(|p| p.as_str()).unwrap_or_default();
    let iface = hdr.interface().map(|i| i.as_str()).unwrap_or_default();
    let member = hdr.member().map(|m| m.as_str()).unwrap_or_default();
    let bad_args = |e: zbus::Error| zbus::fdo::Error::InvalidArgs(format!("{iface}.{member}: {e}"));
    let call = Call::of(path, iface, member);
    if matches!(call, Call::Spawn(_) | Call::SpawnByName) && peer.gone() {
        // Its caller left (a daemon stopped for longer than nsctl waits):
        // the program is not started for no one.
        tracing::info!("a {member} whose caller had left: not started");
        return Ok(None);
    }
    match call {
        Call::Lookup => match m.body().deserialize::<String>() {
            Ok(name) => {
                let found = valid_name(&name).and_then(|()| namespace_named(manager, &name));
                peer.answer(&hdr, found).await?;
            }
            Err(e) => peer.reply_error(&hdr, bad_args(e)).await?,
        },
        Call::Spawn(ns) => match m.body().deserialize::<SpawnArgs>() {
            Ok(args) => {
                let pid = async {
                    known(manager, ns)?;
                    spawn(manager, caller, ns, args).await
                }
                .await;
                let started = pid.as_ref().ok().copied();
                peer.answer(&hdr, pid).await?;
                return Ok(started);
            }
            Err(e) => peer.reply_error(&hdr, bad_args(e)).await?,
        },
        Call::SpawnByName => {
            let body = m.body();
            type ByName = (
                String,
                Vec<String>,
                HashMap<String, String>,
                String,
                HashMap<String, zbus::wire::OwnedFd>,
                Dict,
            );
            match body.deserialize::<ByName>() {
                Ok((name, argv, env, cwd, fds, options)) => {
                    if let Err(e) = valid_name(&name) {
                        peer.reply_error(&hdr, e).await?;
                        return Ok(None);
                    }
                    let found = manager
                        .registry
                        .namespaces
                        .read()
                        .get(&name)
                        .map(|ns| ns.number);
                    let Some(ns) = found else {
                        // Told apart from Spawn's NotFound (no such
                        // program): nsctl says each as on the bus.
                        let e = zbus::fdo::Error::UnknownObject(format!(
                            "namespace {name:?} not found"
                        ));
                        peer.reply_error(&hdr, e).await?;
                        return Ok(None);
                    };
                    let path = zbus::OwnedObjectPath::try_from(namespace_path(ns))
                        .map_err(io::Error::other)?;
                    let started = spawn(manager, caller, ns, (argv, env, cwd, fds, options))
                        .await
                        .map(|pid| (path, pid));
                    let pid = started.as_ref().ok().map(|(_, pid)| *pid);
                    peer.answer(&hdr, started).await?;
                    return Ok(pid);
                }
                Err(e) => peer.reply_error(&hdr, bad_args(e)).await?,
            }
        }
        Call::GetId(ns) => match m.body().deserialize::<(String, String)>() {
            Ok((i, p)) if i == INSTANCE_INTERFACE && p == "Id" => {
                let id = manager
                    .registry
                    .namespaces
                    .read()
                    .by_number(ns)
                    .map(|n| zbus::Variant::from(n.inode))
                    .ok_or_else(|| Error::NotFound(format!("no namespace at {path}")));
                peer.answer(&hdr, id).await?;
            }
            Ok((i, p)) => {
                let e = zbus::fdo::Error::UnknownProperty(format!(
                    "the private socket reads only {INSTANCE_INTERFACE}.Id, not {i}.{p}; use the system bus"
                ));
                peer.reply_error(&hdr, e).await?;
            }
            Err(e) => peer.reply_error(&hdr, bad_args(e)).await?,
        },
        Call::Ping => peer.reply(&hdr, &()).await?,
        // gdbus says Hello to any address; the name is this connection's
        // only (there is no bus).
        Call::Hello => peer.reply(&hdr, &":netnsd.private").await?,
        Call::Other => {
            let e = zbus::fdo::Error::UnknownMethod(format!(
                "the private socket answers only GetNetworkNamespaceByName, Spawn, SpawnByName, the Id property, Ping and Hello, not {iface}.{member} at {path}; use the system bus"
            ));
            peer.reply_error(&hdr, e).await?;
        }
    }
    Ok(None)
}

/// Spawn's arguments: argv, env, cwd, fds, options.
type SpawnArgs = (
    Vec<String>,
    HashMap<String, String>,
    String,
    HashMap<String, zbus::wire::OwnedFd>,
    Dict,
);

/// Spawn's checks, as on the bus, then the start.
async fn spawn(
    manager: &ManagerHandle,
    caller: &Caller,
    ns: u32,
    (argv, env, cwd, fds, options): SpawnArgs,
) -> Result<u32, Error> {
    let checked = checked_spawn(ns, argv, env, cwd, fds, &options)?;
    manager.spawn(ns, checked.by(caller.clone())).await
}

/// NotFound unless namespace number `ns` exists.
fn known(manager: &ManagerHandle, ns: u32) -> Result<(), Error> {
    match manager.registry.namespaces.read().by_number(ns) {
        Some(_) => Ok(()),
        None => Err(Error::NotFound(format!(
            "no namespace at {}",
            namespace_path(ns)
        ))),
    }
}

/// What a call asks for.
#[derive(Debug, PartialEq, Eq)]
enum Call {
    Lookup,
    Spawn(u32),
    SpawnByName,
    GetId(u32),
    Ping,
    Hello,
    Other,
}

impl Call {
    fn of(path: &str, iface: &str, member: &str) -> Call {
        let ns = || object_number(path, NAMESPACE_PATH_PREFIX);
        match (iface, member) {
            (CONTROLLER_INTERFACE, "GetNetworkNamespaceByName") if path == CONTROLLER_PATH => {
                Call::Lookup
            }
            (INSTANCE_INTERFACE, "Spawn") => ns().map_or(Call::Other, Call::Spawn),
            (PRIVATE_INTERFACE, "SpawnByName") if path == CONTROLLER_PATH => Call::SpawnByName,
            (PROPERTIES, "Get") => ns().map_or(Call::Other, Call::GetId),
            (PEER, "Ping") => Call::Ping,
            ("org.freedesktop.DBus", "Hello") if path == "/org/freedesktop/DBus" => Call::Hello,
            _ => Call::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_told_apart_by_path_interface_and_member() {
        let ns = namespace_path(7);
        assert_eq!(
            Call::of(
                CONTROLLER_PATH,
                CONTROLLER_INTERFACE,
                "GetNetworkNamespaceByName"
            ),
            Call::Lookup
        );
        assert_eq!(
            Call::of("/x", CONTROLLER_INTERFACE, "GetNetworkNamespaceByName"),
            Call::Other
        );
        assert_eq!(Call::of(&ns, INSTANCE_INTERFACE, "Spawn"), Call::Spawn(7));
        assert_eq!(
            Call::of(CONTROLLER_PATH, INSTANCE_INTERFACE, "Spawn"),
            Call::Other
        );
        assert_eq!(
            Call::of(CONTROLLER_PATH, PRIVATE_INTERFACE, "SpawnByName"),
            Call::SpawnByName
        );
        assert_eq!(Call::of(&ns, PRIVATE_INTERFACE, "SpawnByName"), Call::Other);
        assert_eq!(Call::of(&ns, PROPERTIES, "Get"), Call::GetId(7));
        assert_eq!(Call::of(&ns, PROPERTIES, "Set"), Call::Other);
        assert_eq!(Call::of("/", PEER, "Ping"), Call::Ping);
        assert_eq!(
            Call::of("/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello"),
            Call::Hello
        );
        assert_eq!(
            Call::of(CONTROLLER_PATH, CONTROLLER_INTERFACE, "AddNetworkNamespace"),
            Call::Other
        );
    }

    #[test]
    fn ends_reach_every_connection_until_it_goes() {
        let feed = ExitFeed::default();
        let mut a = feed.subscribe();
        let b = feed.subscribe();
        assert_eq!(feed.queues(), 2);
        drop(b);
        assert_eq!(feed.queues(), 1);
        let e = Exited {
            ns: 1,
            pid: 42,
            status: 0,
        };
        feed.send(e);
        assert_eq!(a.rx.try_recv().ok(), Some(e));
        drop(a);
        assert_eq!(feed.queues(), 0);
        feed.send(e);
    }

    #[test]
    fn the_peers_groups_are_read_off_the_socket() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let groups = peer_groups(a.as_raw_fd()).expect("SO_PEERGROUPS");
        let mut ours: Vec<u32> = nix::unistd::getgroups()
            .unwrap()
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        let mut got = groups.clone();
        ours.sort();
        got.sort();
        assert_eq!(got, ours);
    }
}
