//! netnsd: a root daemon that owns the host's network namespaces and exposes
//! them on the D-Bus system bus. The binary (`src/bin/netnsd.rs`) is a thin
//! layer over [`run`].
//!
//! The shape: `manager` owns all state (in parts, under `manager/state`) and
//! reports every change as a typed `Change` to a `Publisher`; `dbus` is the
//! bus edge — it validates, asks polkit, asks the manager, and implements the
//! publisher, the only code that touches the object server. Below the
//! manager: `netlink` (one file per kernel object), `netns` (named
//! namespaces, and the thread that enters one), `vpn` (one file per VPN type
//! behind the `VpnType` trait, and the common launch), `settings` (profiles),
//! `firewall`, `dns`, `spawn`, `record` (the journal). Public here is only
//! what the binary and the benchmark (`netnsd-bench`) use.

mod dbus;
mod declared;
mod dhcp;
mod dispatcher;
pub mod dns;
pub mod firewall;
mod forwarder;
pub mod helpers;
pub mod limits;
mod manager;
pub mod mss;
pub mod netlink;
pub mod netns;
mod record;
mod settings;
pub mod spare;
mod spawn;
pub mod sysctl;
pub mod uplink;
pub mod vpn;
mod watch;

use std::path::PathBuf;

use std::sync::Arc;

use netnsd_api::BUS_NAME;
use tokio::sync::mpsc;

use crate::dbus::{auth::Authority, publish::Bus};
use crate::manager::Manager;
use crate::netns::RunDir;

/// Where the daemon keeps its record of what it changed on the host.
pub const STATE_DIR: &str = "/run/netnsd";

pub struct Config {
    pub run_dir: PathBuf,
    pub state_dir: PathBuf,
    /// Where per-namespace resolv.conf, hosts, nsswitch.conf go.
    pub etc_netns: PathBuf,
    /// The host's nsswitch.conf, the model for the namespaces' own.
    pub host_nsswitch: PathBuf,
    /// Address pools for veth uplinks.
    pub pool_v4: netnsd_api::Cidr,
    pub pool_v6: Option<netnsd_api::Cidr>,
    /// How new veth uplinks reach their uplink namespace.
    pub uplink_topology: uplink::Topology,
    /// Connection profiles (NetworkManager keyfiles).
    pub connections_dir: PathBuf,
    /// Declared namespaces (`NAME.conf` keyfiles).
    pub declared_dir: PathBuf,
    /// Dispatcher scripts, and how long each may run.
    pub dispatcher_dir: PathBuf,
    pub dispatcher_timeout: std::time::Duration,
    /// Spare namespaces made ahead of need (see [`spare`]); 0: none.
    pub spare_namespaces: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            run_dir: netnsd_api::NETNS_RUN_DIR.into(),
            state_dir: STATE_DIR.into(),
            etc_netns: netnsd_api::NETNS_ETC_DIR.into(),
            host_nsswitch: "/etc/nsswitch.conf".into(),
            pool_v4: uplink::DEFAULT_POOL_V4.parse().expect("valid default pool"),
            pool_v6: Some(uplink::DEFAULT_POOL_V6.parse().expect("valid default pool")),
            uplink_topology: uplink::Topology::default(),
            connections_dir: netnsd_api::CONNECTIONS_DIR.into(),
            declared_dir: declared::DIR.into(),
            dispatcher_dir: dispatcher::DIR.into(),
            dispatcher_timeout: dispatcher::DEFAULT_TIMEOUT,
            spare_namespaces: spare::DEFAULT_SPARES,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Manager(String),
    #[error("{step}: {source}")]
    Bus {
        step: &'static str,
        #[source]
        source: zbus::Error,
    },
    #[error("another netnsd already owns {BUS_NAME} on the system bus")]
    NameTaken,
    /// Another netnsd holds the lock on the state directory.
    #[error("another netnsd is running (it holds the lock on {0}); this one touched nothing")]
    Running(String),
    #[error("lock {0}: {1}")]
    Lock(String, std::io::Error),
    /// The bus went away, or took the name back, while serving.
    #[error("{0}")]
    Lost(&'static str),
    #[error("watch {0}: {1}")]
    Watch(String, std::io::Error),
}

fn bus(step: &'static str) -> impl FnOnce(zbus::Error) -> StartError {
    move |source| StartError::Bus { step, source }
}

/// Serves on the system bus until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartError> {
    let run_dir = RunDir::new(&config.run_dir);
    // Before anything of the host's is read or changed: a second netnsd
    // must find the first here and go, leaving the journal, /run/netns,
    // /etc/netns and the NAT table alone.
    let _lock = lock_state_dir(&config.state_dir)?;
    let manager = Manager::start(&config).map_err(|e| StartError::Manager(e.message()))?;
    let (handle, requests) = manager::channel(manager.registry());

    let conn = zbus::connection::Builder::system()
        .build()
        .await
        .map_err(bus("connect to the system bus"))?;
    let auth = Authority::new(&conn)
        .await
        .map_err(bus("make the polkit proxy"))?;
    let handle_for_reload = handle.clone();
    let handle_for_private = handle.clone();
    let auth_for_agents = auth.clone();
    let published = Bus::serve(&conn, handle, auth)
        .await
        .map_err(|(step, source)| StartError::Bus { step, source })?;
    // The ends of programs for the private socket's connections, told
    // by the manager where it sees them.
    let exit_feed = dbus::private::ExitFeed::default();
    let mut manager = manager;
    let agents = dbus::agents::Agents::serve(&conn, auth_for_agents)
        .await
        .map_err(bus("export the agent manager"))?;
    manager.set_agents(Arc::new(agents));
    manager.set_exit_feed(exit_feed.clone());
    let published = dispatcher::Dispatching::new(
        published,
        manager.registry(),
        config.dispatcher_dir.clone(),
        config.dispatcher_timeout,
    );
    manager.attach(Arc::new(published)).await;

    let (dir_tx, dir_rx) = mpsc::unbounded_channel();
    watch::spawn(run_dir.dir(), dir_tx)
        .map_err(|e| StartError::Watch(run_dir.dir().display().to_string(), e))?;

    // Never take the name from a running netnsd, and never wait in line:
    // two daemons must not manage the same namespaces.
    let reply = conn
        .request_name_with_flags(BUS_NAME, zbus::fdo::RequestNameFlags::DO_NOT_QUEUE)
        .await
        .map_err(bus("own the name net.netnsd.Netns1"))?;
    if reply != zbus::fdo::RequestNameReply::PrimaryOwner {
        return Err(StartError::NameTaken);
    }
    let dbus = zbus::fdo::DBusProxy::new(&conn)
        .await
        .map_err(bus("watch the bus name"))?;
    let mut lost = dbus
        .receive_name_lost()
        .await
        .map_err(bus("watch the bus name"))?;
    // Losing the bus (or the name) is a failure: the daemon then exits
    // non-zero, so that systemd's Restart=on-failure starts it again and
    // the new daemon adopts everything. A daemon that serves nobody must
    // not linger.
    let lost_why = Arc::new(std::sync::Mutex::new(None));
    let why = lost_why.clone();
    let shutdown = async move {
        tokio::select! {
            _ = shutdown => {}
            n = futures::StreamExt::next(&mut lost) => {
                let e = match n {
                    Some(_) => "lost the name net.netnsd.Netns1 on the system bus",
                    None => "the connection to the system bus closed (dbus-daemon stopped or restarted)",
                };
                tracing::error!("{e}; stopping");
                *why.lock().unwrap() = Some(e);
            }
        }
    };
    // Root's shortcut past the bus daemon (dbus/private.rs); the bus
    // serves everyone without it.
    let private_path = config.state_dir.join(dbus::private::FILE_NAME);
    let _private = dbus::private::listen(&private_path, handle_for_private, exit_feed)
        .inspect_err(|e| {
            tracing::warn!(
                "private socket {}: {e}; nsctl uses the bus",
                private_path.display()
            )
        })
        .ok();
    tracing::info!("serving {BUS_NAME} on the system bus");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);

    // Declared namespaces are made once the manager runs; the bus is
    // served meanwhile.
    let reload = handle_for_reload.clone();
    tokio::spawn(async move {
        if let Err(e) = reload.reload_declared().await {
            tracing::warn!("declared namespaces: {}", e.message());
        }
    });
    manager.run(requests, dir_rx, shutdown).await;

    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("stopping; namespaces stay in place");
    if let Some(e) = lost_why.lock().unwrap().take() {
        return Err(StartError::Lost(e));
    }
    let _ = conn.release_name(BUS_NAME).await;
    Ok(())
}

/// Takes an exclusive lock on `state_dir` (made if missing) for as long
/// as the returned file is open. The lock goes with the process, even on
/// SIGKILL, and no child inherits it (the file is close-on-exec).
fn lock_state_dir(state_dir: &std::path::Path) -> Result<std::fs::File, StartError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::DirBuilderExt;
    let shown = || state_dir.display().to_string();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(state_dir)
        .map_err(|e| StartError::Lock(shown(), e))?;
    let dir = std::fs::File::open(state_dir).map_err(|e| StartError::Lock(shown(), e))?;
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            StartError::Running(shown())
        } else {
            StartError::Lock(shown(), e)
        });
    }
    Ok(dir)
}
