//! The manager: the one owner of the daemon's state. Bus methods, the
//! directory watcher and the per-namespace netlink platforms send it
//! requests and events; it does the work in order, keeps the journal, and
//! reports every change as a typed [`Change`] to its [`Publisher`] — it
//! never calls the bus itself. Its state is kept in parts (`state/`), each a
//! type that owns its fields; the files here do the work around them.

mod attach;
mod config;
mod connections;
mod declared;
mod devices;
mod dhcp;
mod dns;
mod forked;
mod forwards;
mod handle;
mod login;
mod mss;
mod namespaces;
mod nat;
mod plugin_secrets;
mod processes;
mod profiles;
mod publish;
mod queued;
mod reconcile;
mod registry;
mod secrets;
mod splitdns;
mod state;
mod uplink;

pub use config::{ConfigOp, ConfigReply};
pub use declared::ReloadReport;
pub use forwards::{ForwardOp, ForwardReply};
pub use handle::{ManagerHandle, Request, channel};
pub use processes::SpawnArgs;
pub use profiles::ProfileOp;
pub use publish::{Change, DeviceProperty, InstanceProperty, Publisher, Unattached, coalesce};
pub use registry::{Registry, Shared};
pub use secrets::{Caller, NoAgents, SecretAgents, SecretRequest};
pub use state::{ActiveInfo, ActiveTable, Device, DeviceTable, Listed, Namespace};
pub use uplink::{NsOptions, UPLINK_IF, UplinkKind, UplinkSpec};

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use netnsd_api::{Error, ROOT_NS_NAME};
use tokio::sync::{mpsc, oneshot};

use crate::netlink::{Event, Events, LinkState, Platform};
use crate::netns::RunDir;
use crate::record::{Entry, Journal};
use crate::uplink::Pool;
use crate::watch::DirEvent;
use state::{
    Actives, Devices, DnsFiles, Forwarders, Forwards, Namespaces, Processes, Profiles, Uplinks,
};

/// How long a creation waits for iproute2's lock on /run/netns, when it is
/// needed (the directory is not a shared mount point yet) and someone holds
/// it; then the call fails with Busy. The wait is never on the manager's task.
const RUN_DIR_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
/// How long the manager waits, after answering a create with options, for
/// the caller's side to have the answer before it goes on (see
/// `ManagerHandle::add_with_options`): a wake-up, normally microseconds.
const ANSWER_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// Work the manager schedules for itself a little later.
enum Later {
    /// A request put off until /run/netns was prepared (off the manager's
    /// task: that may wait for iproute2's lock).
    Prepared(Request),
    /// An activation that waited for the deactivation of the same
    /// profile's previous one, which is gone now.
    AfterDown(Request),
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
    /// A default route of this uplink namespace changed.
    DefaultRoutes(String),
    /// A host end left to die with its namespace should be gone by now.
    ReapHostEnd(u32),
    /// A VPN client sent SIGTERM should have ended by now: activation, pid.
    KillClient(u32, u32),
    /// A spawned program has exec'd, or could not.
    Started(Box<processes::Started>),
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
    /// A split DNS forwarder ended: namespace, pid, status.
    ForwarderExited(u32, u32, i32),
    /// The activation took too long.
    ConnectTimeout(u32),
    /// The agents answered a VPN plugin's request for secrets (or could
    /// not): activation, answer, the plugin host waiting for it.
    PluginSecrets(
        u32,
        Result<crate::settings::DbusSettings, String>,
        oneshot::Sender<String>,
    ),
    /// A VPN client's news of a connection that was up (from its log).
    VpnProgress(u32, crate::vpn::Progress),
    /// A reconnection's bound: activation, the reconnection's number.
    ReconnectTimeout(u32, u64),
    /// Take a deactivated connection's object off the bus.
    ForgetActive(u32),
    /// The secret agents answered a waiting activation (issue 14).
    Secrets(u32, Result<crate::settings::DbusSettings, String>),
    /// A waiting activation's login ended (`VpnType::login`).
    LoggedIn(
        u32,
        Result<std::collections::BTreeMap<String, String>, crate::vpn::oclogin::Failed>,
    ),
    /// A DHCP client reports: namespace, client generation, report.
    Dhcp(u32, u64, crate::dhcp::Report),
}

pub struct Manager {
    run_dir: RunDir,
    journal: Journal,
    rt: tokio::runtime::Handle,
    /// Where changes go: nowhere until `attach`.
    publisher: Arc<dyn Publisher>,
    later_tx: mpsc::UnboundedSender<Later>,
    later_rx: Option<mpsc::UnboundedReceiver<Later>>,
    /// The link and address events of every namespace (one socket).
    events_tx: Events,
    events_rx: Option<mpsc::UnboundedReceiver<Event>>,
    platforms: HashMap<u32, Platform>,
    /// Namespaces made ahead of need, taken by creates.
    spares: crate::spare::Spares,
    /// The daemon's own network namespace, for moving devices back to it.
    root_ns: File,
    state_dir: PathBuf,
    store: crate::settings::Store,
    namespaces: Namespaces,
    devices: Devices,
    uplinks: Uplinks,
    dns: DnsFiles,
    forwards: Forwards,
    processes: Processes,
    /// Spawned programs running as systemd units: pid → unit name.
    units: HashMap<u32, String>,
    /// Units started so far (the next unit's number).
    spawn_units: u64,
    profiles: Profiles,
    actives: Actives,
    /// Running VPN clients, by active connection number.
    runs: HashMap<u32, connections::VpnRun>,
    /// The route watches of uplink namespaces (by name) with live uplinks.
    route_watches: HashMap<String, crate::netlink::DefaultRouteWatch>,
    /// MSS-clamped devices (by name), by namespace number.
    mss: HashMap<u32, std::collections::BTreeSet<String>>,
    /// DHCP clients of macvlan uplinks.
    dhcps: dhcp::Dhcps,
    /// Declared namespaces' files (`/etc/netnsd/namespaces.d`).
    declared_dir: PathBuf,
    /// Split DNS forwarders, by namespace.
    forwarders: Forwarders,
    /// The users' secret agents (the bus layer's), and the activations
    /// waiting for them.
    agents: Arc<dyn SecretAgents>,
    /// The ends of the programs it starts, for the private socket's
    /// connections: handed over where the end is seen, ahead of the
    /// journal and the bus (see [`Manager::spawn_started`]).
    exits: crate::dbus::private::ExitFeed,
    pending: HashMap<u32, secrets::Pending>,
    /// Changes held back while a create with options runs (see
    /// [`Manager::hold_changes`]); None: published as they come.
    held: std::sync::Mutex<Option<Vec<Change>>>,
}

impl Manager {
    /// Reads the journal, reconciles it with /run/netns, and builds the
    /// registry. Touches nothing but half-made leftovers of its own.
    pub fn start(config: &crate::Config) -> Result<Manager, Error> {
        let run_dir = RunDir::new(&config.run_dir);
        let state_dir = config.state_dir.clone();
        let pool = Pool::new(&config.pool_v4, config.pool_v6.as_ref())
            .map_err(Error::InvalidArgument)?
            .with_topology(config.uplink_topology);
        match run_dir.prepare(RUN_DIR_LOCK_WAIT) {
            Ok(()) => {}
            // Not fatal: the first creation prepares it, off the manager's task.
            Err(e @ crate::netns::NetnsError::Busy { .. }) => {
                tracing::warn!("prepare {}: {e}", run_dir.dir().display())
            }
            Err(e) => {
                return Err(Error::Failed(format!(
                    "prepare {}: {e}",
                    run_dir.dir().display()
                )));
            }
        }
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
        let spares = crate::spare::Spares::new(
            config.spare_namespaces,
            &tokio::runtime::Handle::current(),
            events_tx.clone(),
        );
        let mut m = Manager {
            spares,
            run_dir,
            journal,
            rt: tokio::runtime::Handle::current(),
            publisher: Arc::new(Unattached),
            held: Default::default(),
            later_tx,
            later_rx: Some(later_rx),
            events_tx,
            events_rx: Some(events_rx),
            platforms: HashMap::new(),
            root_ns,
            state_dir,
            store: crate::settings::Store::new(&config.connections_dir),
            namespaces: Namespaces::default(),
            devices: Devices::default(),
            uplinks: Uplinks::new(pool),
            dns: DnsFiles::new(config.etc_netns.clone(), config.host_nsswitch.clone()),
            forwards: Forwards::default(),
            processes: Processes::default(),
            units: HashMap::new(),
            spawn_units: 0,
            profiles: Profiles::default(),
            actives: Actives::default(),
            runs: HashMap::new(),
            mss: HashMap::new(),
            route_watches: HashMap::new(),
            dhcps: dhcp::Dhcps::default(),
            declared_dir: config.declared_dir.clone(),
            forwarders: Forwarders::default(),
            agents: Arc::new(NoAgents),
            exits: Default::default(),
            pending: HashMap::new(),
        };
        let number = m.namespaces.number();
        m.namespaces.insert(Namespace::new(
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

    /// The tables the bus layer reads.
    pub fn registry(&self) -> Registry {
        Registry {
            namespaces: self.namespaces.table(),
            devices: self.devices.table(),
            uplinks: self.uplinks.table(),
            dns: self.dns.table(),
            profiles: self.profiles.table(),
            actives: self.actives.table(),
            split_dns: self.forwarders.table(),
        }
    }

    /// From now on, changes go to `publisher`: the namespaces, their
    /// devices and the profiles found at start are published first.
    pub async fn attach(&mut self, publisher: Arc<dyn Publisher>) {
        self.publisher = publisher;
        for ns in self.namespaces.all() {
            self.publish(vec![Change::NamespaceFound(ns.clone())]).await;
            self.open_platform(&ns, None).await;
        }
        self.finish_pending_teardown().await;
        self.resume_dhcp();
        self.heal_nat().await;
        let found = self.profiles.found();
        self.publish(found).await;
        self.spares.fill();
    }

    /// From now on, secrets are asked from these agents.
    pub fn set_agents(&mut self, agents: Arc<dyn SecretAgents>) {
        self.agents = agents;
    }

    /// From now on, the ends of the programs it starts also go here.
    pub fn set_exit_feed(&mut self, exits: crate::dbus::private::ExitFeed) {
        self.exits = exits;
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
        let overflowed = self.events_tx.overflowed();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(req) = requests.recv() => {
                    self.handle(req, true).await;
                    // The events it caused (and any before them) next.
                    queued::handle_queued(&mut events, async |(ns, msg)| {
                        self.on_netlink(ns, msg).await
                    })
                    .await;
                }
                Some((ns, msg)) = events.recv() => self.on_netlink(ns, msg).await,
                () = overflowed.notified() => {
                    // What was queued before the overflow first, then the
                    // state as it is now.
                    while let Ok((ns, msg)) = events.try_recv() {
                        self.on_netlink(ns, msg).await;
                    }
                    self.resync_all().await;
                }
                Some(ev) = dir_events.recv() => self.on_dir_event(ev, 0).await,
                Some(l) = later.recv() => match l {
                    Later::Prepared(req) => self.handle(req, false).await,
                    Later::AfterDown(req) => self.handle(req, true).await,
                    Later::Adopt(name, attempt) => self.on_dir_event(DirEvent::Appeared(name), attempt).await,
                    Later::Link(ns, link) => self.link_retry(ns, link).await,
                    Later::ExpireMove(device, seq) => self.expire_move(device, seq).await,
                    Later::FlushNat(generation) => self.flush_nat(Some(generation)).await,
                    Later::ReapHostEnd(slot) => self.reap_host_end(slot).await,
                    Later::DefaultRoutes(up) => self.default_routes_changed(&up).await,
                    Later::KillClient(n, pid) => self.kill_client(n, pid),
                    Later::Started(s) => self.spawn_started(*s).await,
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
                    Later::ForwarderExited(ns, pid, status) => {
                        self.forwarder_exited(ns, pid, status).await
                    }
                    Later::ConnectTimeout(n) => self.connect_timeout(n).await,
                    Later::Secrets(n, r) => self.secrets_answered(n, r).await,
                    Later::PluginSecrets(n, r, reply) => self.plugin_secrets_answered(n, r, reply).await,
                    Later::LoggedIn(n, r) => self.logged_in(n, r).await,
                    Later::VpnProgress(n, p) => self.vpn_progress(n, p).await,
                    Later::ReconnectTimeout(n, r) => self.reconnect_timeout(n, r).await,
                    Later::ForgetActive(n) => self.forget_active(n).await,
                    Later::Dhcp(ns, generation, r) => self.on_dhcp(ns, generation, r).await,
                },
            }
        }
        // NAT elements queued for removal go now rather than at the next start.
        self.flush_nat(None).await;
    }

    /// Answers a request; one that may create a namespace is first held
    /// back, when `gate` is set, until /run/netns is ready.
    async fn handle(&mut self, req: Request, gate: bool) {
        self.answer(req, gate).await;
        // The spares a create took are made again once it has answered.
        self.spares.fill();
    }

    async fn answer(&mut self, req: Request, gate: bool) {
        let req = if gate {
            self.prepare_first(req)
        } else {
            Some(req)
        };
        let Some(req) = req else { return };
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
            Request::AddWithOptions {
                name, opts, reply, ..
            } if opts.uplink.as_ref().is_some_and(|u| u.dhcp) => {
                self.add_with_dhcp(name, opts, reply).await
            }
            Request::SetUplink {
                ns,
                spec: Some(spec),
                reply,
            } if spec.dhcp => self.set_dhcp_uplink(ns, spec, reply).await,
            Request::AddWithOptions {
                name,
                opts,
                reply,
                answered,
            } => {
                self.hold_changes();
                let r = self.add_with_options(&name, opts).await;
                self.publish_held(r.is_ok()).await;
                let _ = reply.send(r);
                // The events the create caused are handled next, and their
                // signals would race the reply to the bus: wait (briefly)
                // until the caller's side has it.
                let _ = tokio::time::timeout(ANSWER_WAIT, answered).await;
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
            Request::Activate {
                profile,
                ns,
                caller,
                reply,
            } => {
                // The profile's previous activation is going down (its
                // client being stopped): this one waits until it is gone,
                // rather than fail ConnectionAlreadyActive.
                if let Some(n) = self.going_down(profile) {
                    let req = Request::Activate {
                        profile,
                        ns,
                        caller,
                        reply,
                    };
                    return self.after_down(n, req);
                }
                let r = self.activate(profile, ns, caller).await;
                let _ = reply.send(r);
            }
            Request::Deactivate { active, reply } => match self.deactivate(active).await {
                // Answered once the connection is gone (its client ended,
                // its tunnel, DNS and namespace removed): the caller may
                // activate the profile again at once.
                Ok(()) => self.when_down(active, reply),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Request::Profile { op, reply } => {
                let r = self.profile_op(op).await;
                let _ = reply.send(r);
            }
            Request::Spawn { ns, args, reply } => self.spawn(ns, args, reply),
            Request::ReloadDeclared { reply } => {
                let r = self.reload_declared().await;
                let _ = reply.send(Ok(r));
            }
            Request::Configure { ns, op, reply } => {
                let r = self.configure(ns, op).await;
                let _ = reply.send(r);
            }
            Request::Forward { ns, op, reply } => {
                let r = self.forward_op(ns, op).await;
                let _ = reply.send(r);
            }
            Request::Attach {
                name,
                pid,
                netns,
                reply,
            } => {
                let r = self.attach_netns(&name, pid, netns).await;
                let _ = reply.send(r);
            }
        }
    }

    /// Requests that may create a namespace need /run/netns to be a shared
    /// mount point. When it is not (after a boot, or someone unmounted it),
    /// making it one takes iproute2's lock, which any user can hold: that
    /// wait happens on a blocking thread while the manager goes on with
    /// other requests, and the request comes back (`Later::Prepared`) or is
    /// answered Busy. None when the request was put off.
    fn prepare_first(&self, req: Request) -> Option<Request> {
        if !matches!(
            req,
            Request::Add { .. }
                | Request::AddWithOptions { .. }
                | Request::Activate { .. }
                | Request::Attach { .. }
                | Request::ReloadDeclared { .. }
        ) {
            return Some(req);
        }
        match self.run_dir.is_ready() {
            Ok(true) => return Some(req),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!("check {}: {e}", self.run_dir.dir().display());
                return Some(req);
            }
        }
        let run_dir = self.run_dir.clone();
        let tx = self.later_tx.clone();
        tokio::spawn(async move {
            let prepared =
                tokio::task::spawn_blocking(move || run_dir.prepare(RUN_DIR_LOCK_WAIT)).await;
            match prepared {
                Ok(Ok(())) => {
                    let _ = tx.send(Later::Prepared(req));
                }
                Ok(Err(e @ crate::netns::NetnsError::Busy { .. })) => {
                    req.fail(Error::Busy(format!("cannot create a namespace now: {e}")))
                }
                Ok(Err(e)) => req.fail(Error::Failed(format!("prepare the run directory: {e}"))),
                Err(e) => req.fail(Error::Failed(format!("prepare the run directory: {e}"))),
            }
        });
        None
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

    /// Publishes changes, in order, each done before the next (or holds
    /// them, see [`Manager::hold_changes`]).
    async fn publish(&self, changes: Vec<Change>) {
        {
            let mut held = self.held.lock().expect("held changes");
            if let Some(held) = held.as_mut() {
                held.extend(changes);
                return;
            }
        }
        for c in changes {
            self.publisher.publish(c).await;
        }
    }

    /// Holds back what is published from now on until
    /// [`Manager::publish_held`]. A namespace made with an uplink and DNS in
    /// one call is then put on the bus once it is complete: its
    /// InterfacesAdded carries its final properties, with no
    /// PropertiesChanged for each step queued ahead of the call's reply.
    fn hold_changes(&self) {
        *self.held.lock().expect("held changes") = Some(Vec::new());
    }

    /// Publishes what was held, in order: with `complete` (the call
    /// succeeded) as one batch, which the bus may shorten (see
    /// [`Publisher::publish_batch`]); after a failure one by one, as it came.
    async fn publish_held(&self, complete: bool) {
        let Some(changes) = self.held.lock().expect("held changes").take() else {
            return;
        };
        if complete {
            self.publisher.publish_batch(changes).await;
        } else {
            self.publish(changes).await;
        }
    }
}
