//! The manager: the one owner of the daemon's state. Bus methods, the
//! directory watcher and the per-namespace netlink platforms send it
//! requests and events; it does the work in order, keeps the journal, and
//! puts objects on and off the bus.

mod config;
mod connections;
mod devices;
mod namespaces;
mod processes;
mod profiles;
mod uplink;

pub use config::{ConfigOp, ConfigReply};
pub use connections::{ActiveInfo, ProfileEntry, Profiles};
pub use processes::SpawnArgs;
pub use profiles::ProfileOp;
pub use uplink::{NsOptions, UPLINK_IF, UplinkKind, UplinkSpec};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::PathBuf;

use crate::dns::Dns;
use crate::record::UplinkRecord;
use crate::uplink::Pool;
use std::sync::{Arc, RwLock};

use netnsd_api::{Error, ROOT_NS_NAME, device_path, namespace_path};
use tokio::sync::{mpsc, oneshot};
use zbus::Connection;
use zbus::object_server::InterfaceRef;
use zbus::wire::{ObjectPath, OwnedObjectPath};

use crate::dbus::auth::Authority;
use crate::dbus::controller::Controller;
use crate::netlink::{Event, Events, LinkState, Platform};
use crate::netns::RunDir;
use crate::record::{Entry, Journal};
use crate::watch::DirEvent;

/// One namespace as the daemon knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// N in `/net/netnsd/Netns1/NetworkNamespace/N`; 0 is the root namespace.
    pub number: u32,
    pub name: String,
    /// The namespace's inode (`ip netns identify` compares these).
    pub inode: u64,
    /// `/run/netns/NAME`; empty for the root namespace.
    pub path: String,
    /// Outlives the daemon and any connection that uses it.
    pub persistent: bool,
    /// Made by this daemon (false: adopted, e.g. from `ip netns add`).
    pub managed: bool,
    /// Its uplink, if it has one.
    pub uplink: Option<UplinkRecord>,
    /// Its /etc/netns DNS settings, if the daemon wrote them.
    pub dns: Option<Dns>,
}

impl Namespace {
    /// A namespace with no uplink and no DNS settings yet.
    pub fn new(
        number: u32,
        name: String,
        inode: u64,
        path: String,
        persistent: bool,
        managed: bool,
    ) -> Self {
        Namespace {
            number,
            name,
            inode,
            path,
            persistent,
            managed,
            uplink: None,
            dns: None,
        }
    }

    pub fn object_path(&self) -> OwnedObjectPath {
        owned_path(namespace_path(self.number))
    }
}

/// One network device as the daemon knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// N in `/net/netnsd/Netns1/Devices/N`; kept across moves.
    pub number: u32,
    /// Number of the namespace that holds it.
    pub ns: u32,
    pub link: LinkState,
    /// Addresses in CIDR form.
    pub addresses: BTreeSet<String>,
    /// Seen leaving its namespace, not yet seen arriving in another.
    pub in_transit: bool,
}

impl Device {
    pub fn object_path(&self) -> OwnedObjectPath {
        owned_path(device_path(self.number))
    }

    /// Loopback and the like: announced with the Internal signals.
    pub fn internal(&self) -> bool {
        self.link.loopback
    }
}

fn owned_path(p: String) -> OwnedObjectPath {
    ObjectPath::try_from(p)
        .expect("generated object paths are valid")
        .into()
}

/// What the bus layer reads without a round trip to the manager. Only the
/// manager writes it, and never holds the lock across an await.
#[derive(Debug, Default)]
pub struct Registry {
    /// By number, so that lists come out in numbering order.
    namespaces: BTreeMap<u32, Namespace>,
    names: HashMap<String, u32>,
    devices: BTreeMap<u32, Device>,
    /// Connection profiles, by object number.
    pub profiles: Profiles,
    /// Active connections, by object number.
    pub actives: BTreeMap<u32, ActiveInfo>,
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<&Namespace> {
        self.names.get(name).and_then(|n| self.namespaces.get(n))
    }

    pub fn by_number(&self, number: u32) -> Option<&Namespace> {
        self.namespaces.get(&number)
    }

    fn by_number_mut(&mut self, number: u32) -> Option<&mut Namespace> {
        self.namespaces.get_mut(&number)
    }

    /// All namespaces, in numbering order.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.namespaces.values()
    }

    fn insert(&mut self, ns: Namespace) {
        self.names.insert(ns.name.clone(), ns.number);
        self.namespaces.insert(ns.number, ns);
    }

    fn remove(&mut self, number: u32) -> Option<Namespace> {
        let ns = self.namespaces.remove(&number)?;
        self.names.remove(&ns.name);
        Some(ns)
    }

    /// Namespace object paths in the order the namespaces were numbered.
    pub fn paths(&self) -> Vec<OwnedObjectPath> {
        self.namespaces
            .values()
            .map(Namespace::object_path)
            .collect()
    }

    pub fn device(&self, number: u32) -> Option<&Device> {
        self.devices.get(&number)
    }

    /// Devices in namespace `ns`, by ifindex; loopback and the like only if
    /// `internal` is set.
    pub fn device_paths(&self, ns: u32, internal: bool) -> Vec<OwnedObjectPath> {
        let mut devs: Vec<&Device> = self
            .devices
            .values()
            .filter(|d| d.ns == ns && !d.in_transit && (internal || !d.internal()))
            .collect();
        devs.sort_by_key(|d| d.link.ifindex);
        devs.into_iter().map(Device::object_path).collect()
    }

    /// The device in `ns` named `name`.
    pub fn device_named(&self, ns: u32, name: &str) -> Option<&Device> {
        self.devices
            .values()
            .find(|d| d.ns == ns && !d.in_transit && d.link.name == name)
    }
}

pub type SharedRegistry = Arc<RwLock<Registry>>;

/// What the bus layer may ask of the manager.
pub enum Request {
    Add {
        name: String,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    },
    Remove {
        name: String,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// Move a device; the answer carries a receiver that fires once the
    /// device is seen in the target namespace.
    TakeDevice {
        device: u32,
        target: u32,
        reply: oneshot::Sender<Result<oneshot::Receiver<()>, Error>>,
    },
    /// A TakeDevice ran out of time: move the device back; `reply` fires
    /// once it is seen back (or was never gone).
    UndoTake {
        device: u32,
        back_to: u32,
        reply: oneshot::Sender<()>,
    },
    AddWithOptions {
        name: String,
        opts: NsOptions,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    },
    SetUplink {
        ns: u32,
        spec: Option<UplinkSpec>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    SetDns {
        ns: u32,
        dns: Option<Dns>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Spawn {
        ns: u32,
        args: SpawnArgs,
        reply: oneshot::Sender<Result<u32, Error>>,
    },
    Activate {
        profile: u32,
        ns: u32,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    },
    Deactivate {
        active: u32,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Profile {
        op: ProfileOp,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    },
    /// Links, addresses, routes, rules in namespace `ns`.
    Configure {
        ns: u32,
        op: ConfigOp,
        reply: oneshot::Sender<Result<ConfigReply, Error>>,
    },
}

/// The bus layer's handle on the manager.
#[derive(Clone)]
pub struct ManagerHandle {
    tx: mpsc::Sender<Request>,
    pub registry: SharedRegistry,
}

impl ManagerHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Request,
    ) -> Result<T, Error> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| Error::Failed("the daemon is shutting down".into()))?;
        rx.await
            .map_err(|_| Error::Failed("the daemon is shutting down".into()))?
    }

    pub async fn add(&self, name: String) -> Result<OwnedObjectPath, Error> {
        self.ask(|reply| Request::Add { name, reply }).await
    }

    pub async fn remove(&self, name: String) -> Result<(), Error> {
        self.ask(|reply| Request::Remove { name, reply }).await
    }

    pub async fn take_device(
        &self,
        device: u32,
        target: u32,
    ) -> Result<oneshot::Receiver<()>, Error> {
        self.ask(|reply| Request::TakeDevice {
            device,
            target,
            reply,
        })
        .await
    }

    pub async fn add_with_options(
        &self,
        name: String,
        opts: NsOptions,
    ) -> Result<OwnedObjectPath, Error> {
        self.ask(|reply| Request::AddWithOptions { name, opts, reply })
            .await
    }

    /// Sets (Some) or clears (None) a namespace's uplink.
    pub async fn set_uplink(&self, ns: u32, spec: Option<UplinkSpec>) -> Result<(), Error> {
        self.ask(|reply| Request::SetUplink { ns, spec, reply })
            .await
    }

    /// Writes (Some) or removes (None) a namespace's DNS files.
    pub async fn set_dns(&self, ns: u32, dns: Option<Dns>) -> Result<(), Error> {
        self.ask(|reply| Request::SetDns { ns, dns, reply }).await
    }

    pub async fn activate(&self, profile: u32, ns: u32) -> Result<OwnedObjectPath, Error> {
        self.ask(|reply| Request::Activate { profile, ns, reply })
            .await
    }

    pub async fn deactivate(&self, active: u32) -> Result<(), Error> {
        self.ask(|reply| Request::Deactivate { active, reply })
            .await
    }

    /// Adds, updates, deletes or reloads profiles; answers with the profile's
    /// object path ("/" for a reload).
    pub async fn profile(&self, op: ProfileOp) -> Result<OwnedObjectPath, Error> {
        self.ask(|reply| Request::Profile { op, reply }).await
    }

    pub async fn spawn(&self, ns: u32, args: SpawnArgs) -> Result<u32, Error> {
        self.ask(|reply| Request::Spawn { ns, args, reply }).await
    }

    pub async fn configure(&self, ns: u32, op: ConfigOp) -> Result<ConfigReply, Error> {
        self.ask(|reply| Request::Configure { ns, op, reply }).await
    }

    /// Moves a device back after a TakeDevice that ran out of time; the
    /// receiver fires once it is seen back where it was.
    pub async fn undo_take(&self, device: u32, back_to: u32) -> oneshot::Receiver<()> {
        let (reply, rx) = oneshot::channel();
        let _ = self
            .tx
            .send(Request::UndoTake {
                device,
                back_to,
                reply,
            })
            .await;
        rx
    }
}

/// Work the manager schedules for itself a little later.
enum Later {
    /// Look again at a /run/netns entry that was not a mounted namespace yet.
    Adopt(String, usize),
    /// A link that appeared while a device of the same name existed elsewhere:
    /// perhaps the arrival of a move whose departure is not seen yet.
    Link(u32, LinkState),
    /// Give up on a device seen leaving and never seen arriving: device
    /// number and the number of that departure.
    ExpireMove(u32, u64),
    /// Removals have paused: take out the NAT elements queued (the
    /// generation of the removal that armed it).
    FlushNat(u64),
    /// A host end left to die with its namespace should be gone by now.
    ReapHostEnd(u32),
    /// A VPN client sent SIGTERM should have ended by now: activation, pid.
    KillClient(u32, u32),
    /// A spawned process ended: pid, status.
    Exited(u32, i32),
    /// A VPN client's up hook reported the pushed configuration.
    /// (An unreadable message — too long, not JSON — is an error.)
    VpnUp(
        u32,
        Result<HashMap<String, String>, Error>,
        oneshot::Sender<String>,
    ),
    /// A client configured by the daemon itself (WireGuard) is up, or not.
    Configured(u32, Result<crate::vpn::VpnConfig, String>),
    /// The tunnel was seen in the isolated namespace.
    TunArrived(u32),
    /// It was not, within netns-timeout.
    TunTimeout(u32),
    /// A VPN client process ended.
    VpnExited(u32, i32),
    /// The activation took too long.
    ConnectTimeout(u32),
    /// Take a deactivated connection's object off the bus.
    ForgetActive(u32),
}

struct Moving {
    device: u32,
    /// Which departure this is: a device can leave, arrive and leave again
    /// before the first departure's timer fires.
    seq: u64,
    name: String,
    new_ifindex: u32,
}

struct Waiter {
    device: u32,
    target: u32,
    name: String,
    tx: oneshot::Sender<()>,
    /// The caller gave up: on arrival, move the device back here.
    undo_to: Option<u32>,
}

pub struct Manager {
    run_dir: RunDir,
    journal: Journal,
    registry: SharedRegistry,
    next_number: u32,
    next_device: u32,
    rt: tokio::runtime::Handle,
    conn: Option<Connection>,
    controller: Option<InterfaceRef<Controller>>,
    bus: Option<(ManagerHandle, Authority)>,
    later_tx: mpsc::UnboundedSender<Later>,
    later_rx: Option<mpsc::UnboundedReceiver<Later>>,
    /// The link and address events of every namespace (one socket).
    events_tx: Events,
    events_rx: Option<mpsc::UnboundedReceiver<Event>>,
    platforms: HashMap<u32, Platform>,
    /// (namespace number, ifindex) → device number.
    ifindex: HashMap<(u32, u32), u32>,
    moving: Vec<Moving>,
    /// Numbers departures, so a stale timer cannot expire a later move.
    next_move: u64,
    waiters: Vec<Waiter>,
    /// The daemon's own network namespace, for moving devices back to it.
    root_ns: File,
    pool: Pool,
    etc_netns: PathBuf,
    host_nsswitch: PathBuf,
    /// Sysctls changed for uplinks: (namespace, key) → original value.
    sysctls: BTreeMap<(String, String), String>,
    /// Uplinks of namespaces that vanished while the daemon was down.
    pending_teardown: Vec<(String, UplinkRecord)>,
    /// Uplink namespaces whose NAT table this daemon has declared.
    nat_declared: BTreeSet<String>,
    /// The default-route devices forwarding was turned on for, by uplink
    /// namespace, while it has uplinks.
    forward_devs: BTreeMap<String, BTreeSet<String>>,
    /// Host ends whose NAT elements are to go, by uplink namespace: removed
    /// in one batch once removals pause (a removal's commit waits for an
    /// RCU grace period, ~15 ms, which no caller should wait for).
    nat_removals: BTreeMap<String, BTreeSet<String>>,
    /// Counts removals, so only the timer of the latest one flushes.
    nat_generation: u64,
    /// Uplink slots whose host end has not been seen gone yet: slot →
    /// (uplink namespace, host end). A host end dies with its namespace, in
    /// the kernel's own time; the slot is free again once it has.
    draining: BTreeMap<u32, (String, String)>,
    /// Spawned processes still running: pid → namespace number.
    processes: HashMap<u32, u32>,
    state_dir: PathBuf,
    next_active: u32,
    /// Running VPN clients, by active connection number.
    runs: HashMap<u32, connections::VpnRun>,
    /// Namespaces to remove once their last spawned process exits.
    remove_when_idle: BTreeSet<u32>,
    next_profile: u32,
    store: crate::settings::Store,
}

impl Manager {
    /// Reads the journal, reconciles it with /run/netns, and builds the
    /// registry. Touches nothing but half-made leftovers of its own.
    pub fn start(config: &crate::Config) -> Result<Manager, Error> {
        let run_dir = RunDir::new(&config.run_dir);
        let state_dir = config.state_dir.clone();
        let pool =
            Pool::new(&config.pool_v4, config.pool_v6.as_ref()).map_err(Error::InvalidArgument)?;
        run_dir
            .prepare()
            .map_err(|e| Error::Failed(format!("prepare {}: {e}", run_dir.dir().display())))?;
        let (journal, records) = Journal::open(&state_dir).map_err(|e| {
            Error::Failed(format!("open the journal in {}: {e}", state_dir.display()))
        })?;
        let root_inode = crate::netns::current_netns_inode()
            .map_err(|e| Error::Failed(format!("read own network namespace: {e}")))?;
        let root_ns = File::open("/proc/thread-self/ns/net")
            .map_err(|e| Error::Failed(format!("open own network namespace: {e}")))?;
        let (later_tx, later_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let events_tx = Events::start(&tokio::runtime::Handle::current(), events_tx)
            .map_err(|e| Error::Failed(format!("open the netlink events socket: {e}")))?;
        let mut m = Manager {
            run_dir,
            journal,
            registry: Arc::default(),
            next_number: 0,
            next_device: 0,
            rt: tokio::runtime::Handle::current(),
            conn: None,
            controller: None,
            bus: None,
            later_tx,
            later_rx: Some(later_rx),
            events_tx,
            events_rx: Some(events_rx),
            platforms: HashMap::new(),
            ifindex: HashMap::new(),
            moving: Vec::new(),
            next_move: 0,
            waiters: Vec::new(),
            root_ns,
            pool,
            etc_netns: config.etc_netns.clone(),
            host_nsswitch: config.host_nsswitch.clone(),
            sysctls: BTreeMap::new(),
            pending_teardown: Vec::new(),
            nat_declared: BTreeSet::new(),
            forward_devs: BTreeMap::new(),
            nat_removals: BTreeMap::new(),
            nat_generation: 0,
            draining: BTreeMap::new(),
            processes: HashMap::new(),
            state_dir: state_dir.clone(),
            next_active: 0,
            runs: HashMap::new(),
            remove_when_idle: BTreeSet::new(),
            next_profile: 0,
            store: crate::settings::Store::new(&config.connections_dir),
        };
        let number = m.allocate_number();
        m.insert(Namespace::new(
            number,
            ROOT_NS_NAME.into(),
            root_inode,
            String::new(),
            true,
            false,
        ));
        m.reconcile(records)?;
        m.load_profiles();
        Ok(m)
    }

    pub fn registry(&self) -> SharedRegistry {
        self.registry.clone()
    }

    /// Puts the namespaces and their devices on the bus. `handle` and `auth`
    /// are what the exported objects use to reach back.
    pub async fn attach(&mut self, conn: Connection, handle: ManagerHandle, auth: Authority) {
        self.controller = Some(
            conn.object_server()
                .interface::<_, Controller>(netnsd_api::CONTROLLER_PATH)
                .await
                .expect("the controller is served before the manager attaches"),
        );
        self.conn = Some(conn);
        self.bus = Some((handle, auth));
        let all: Vec<Namespace> = self
            .registry
            .read()
            .unwrap()
            .namespaces()
            .cloned()
            .collect();
        for ns in all {
            self.export_namespace(&ns).await;
            self.open_platform(&ns, None).await;
        }
        self.finish_pending_teardown().await;
        self.heal_nat().await;
        self.export_profiles().await;
    }

    /// Runs the manager until `shutdown` resolves.
    pub async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut dir_events: mpsc::UnboundedReceiver<DirEvent>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let mut later = self.later_rx.take().expect("run is called once");
        let mut events = self.events_rx.take().expect("run is called once");
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(req) = requests.recv() => self.handle(req).await,
                Some((ns, msg)) = events.recv() => self.on_netlink(ns, msg).await,
                Some(ev) = dir_events.recv() => self.on_dir_event(ev, 0).await,
                Some(l) = later.recv() => match l {
                    Later::Adopt(name, attempt) => self.on_dir_event(DirEvent::Appeared(name), attempt).await,
                    Later::Link(ns, link) => self.link_seen(ns, link, true).await,
                    Later::ExpireMove(device, seq) => self.expire_move(device, seq).await,
                    Later::FlushNat(generation) => self.flush_nat(Some(generation)).await,
                    Later::ReapHostEnd(slot) => self.reap_host_end(slot).await,
                    Later::KillClient(n, pid) => self.kill_client(n, pid),
                    Later::Exited(pid, status) => self.process_exited(pid, status).await,
                    Later::VpnUp(n, env, reply) => self.vpn_up(n, env, reply).await,
                    Later::TunArrived(n) => self.tun_arrived(n).await,
                    Later::Configured(n, Ok(config)) => self.vpn_configured(n, config).await,
                    Later::Configured(n, Err(e)) => {
                        tracing::warn!(active = n, "configuring the VPN client: {e}");
                        self.fail(n, netnsd_api::state::reason::SERVICE_START_FAILED).await
                    }
                    Later::TunTimeout(n) => {
                        tracing::warn!(active = n, "the tunnel was not seen in its namespace within netns-timeout");
                        self.fail(n, netnsd_api::state::reason::CONNECT_TIMEOUT).await
                    }
                    Later::VpnExited(n, status) => self.vpn_exited(n, status).await,
                    Later::ConnectTimeout(n) => self.connect_timeout(n).await,
                    Later::ForgetActive(n) => self.forget_active(n).await,
                },
            }
        }
        // NAT elements queued for removal go now rather than at the next start.
        self.flush_nat(None).await;
    }

    async fn handle(&mut self, req: Request) {
        match req {
            Request::Add { name, reply } => {
                let r = self.add(&name).await;
                let _ = reply.send(r);
            }
            Request::Remove { name, reply } => {
                let r = self.remove(&name).await;
                let _ = reply.send(r);
            }
            Request::TakeDevice {
                device,
                target,
                reply,
            } => {
                let r = self.take_device(device, target).await;
                let _ = reply.send(r);
            }
            Request::UndoTake {
                device,
                back_to,
                reply,
            } => self.undo_take(device, back_to, reply).await,
            Request::AddWithOptions { name, opts, reply } => {
                let r = self.add_with_options(&name, opts).await;
                let _ = reply.send(r);
            }
            Request::SetUplink { ns, spec, reply } => {
                let r = match spec {
                    Some(spec) => self.set_uplink(ns, spec).await,
                    None => self.clear_uplink(ns).await,
                };
                let _ = reply.send(r);
            }
            Request::SetDns { ns, dns, reply } => {
                let r = self.set_dns(ns, dns).await;
                let _ = reply.send(r);
            }
            Request::Activate { profile, ns, reply } => {
                let r = self.activate(profile, ns).await;
                let _ = reply.send(r);
            }
            Request::Deactivate { active, reply } => {
                let r = self.deactivate(active).await;
                let _ = reply.send(r);
            }
            Request::Profile { op, reply } => {
                let r = self.profile_op(op).await;
                let _ = reply.send(r);
            }
            Request::Spawn { ns, args, reply } => {
                let r = self.spawn(ns, args).await;
                let _ = reply.send(r);
            }
            Request::Configure { ns, op, reply } => {
                let r = self.configure(ns, op).await;
                let _ = reply.send(r);
            }
        }
    }

    fn record(&mut self, entry: Entry) -> Result<(), Error> {
        self.journal
            .append(&entry)
            .map_err(|e| Error::Failed(format!("record {entry:?} in the journal: {e}")))
    }

    fn later(&self, after: std::time::Duration, what: Later) {
        let tx = self.later_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx.send(what);
        });
    }
}

/// Makes the manager's request channel.
pub fn channel(registry: SharedRegistry) -> (ManagerHandle, mpsc::Receiver<Request>) {
    let (tx, rx) = mpsc::channel(64);
    (ManagerHandle { tx, registry }, rx)
}
