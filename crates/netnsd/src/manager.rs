//! The manager: the one owner of the daemon's state. Bus methods and the
//! directory watcher send it requests; it does the work in order, keeps the
//! journal, and puts objects on and off the bus.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use netnsd_api::{Error, ROOT_NS_NAME, namespace_path};
use tokio::sync::{mpsc, oneshot};
use zbus::Connection;
use zbus::object_server::InterfaceRef;
use zbus::wire::{ObjectPath, OwnedObjectPath};

use crate::dbus::controller::Controller;
use crate::dbus::instance::NetNsInstance;
use crate::netns::{NetnsError, RunDir};
use crate::record::{Entry, Journal, NetnsRecord};
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
}

impl Namespace {
    pub fn object_path(&self) -> OwnedObjectPath {
        ObjectPath::try_from(namespace_path(self.number))
            .expect("namespace paths are valid object paths")
            .into()
    }
}

/// The namespaces, readable by the bus layer without a round trip to the
/// manager. Only the manager writes it, and never holds the lock across an
/// await.
#[derive(Debug, Default)]
pub struct Registry {
    by_name: BTreeMap<String, Namespace>,
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<&Namespace> {
        self.by_name.get(name)
    }

    /// Object paths in the order the namespaces were numbered.
    pub fn paths(&self) -> Vec<OwnedObjectPath> {
        let mut all: Vec<&Namespace> = self.by_name.values().collect();
        all.sort_by_key(|ns| ns.number);
        all.into_iter().map(Namespace::object_path).collect()
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
}

/// How long to keep looking at a new /run/netns entry that is not a mounted
/// namespace yet (`ip netns add` creates the file, then mounts on it).
const ADOPT_RETRIES: &[u64] = &[5, 10, 20, 50, 100, 200, 400, 800, 1600];

pub struct Manager {
    run_dir: RunDir,
    journal: Journal,
    registry: SharedRegistry,
    next_number: u32,
    conn: Option<Connection>,
    controller: Option<InterfaceRef<Controller>>,
    rt: tokio::runtime::Handle,
    recheck_tx: mpsc::UnboundedSender<(String, usize)>,
    recheck_rx: Option<mpsc::UnboundedReceiver<(String, usize)>>,
}

impl Manager {
    /// Reads the journal, reconciles it with /run/netns, and builds the
    /// registry. Touches nothing but half-made leftovers of its own.
    pub fn start(run_dir: RunDir, state_dir: PathBuf) -> Result<Manager, Error> {
        run_dir
            .prepare()
            .map_err(|e| Error::Failed(format!("prepare {}: {e}", run_dir.dir().display())))?;
        let (journal, records) = Journal::open(&state_dir).map_err(|e| {
            Error::Failed(format!("open the journal in {}: {e}", state_dir.display()))
        })?;
        let root_inode = crate::netns::current_netns_inode()
            .map_err(|e| Error::Failed(format!("read own network namespace: {e}")))?;
        let (recheck_tx, recheck_rx) = mpsc::unbounded_channel();
        let mut m = Manager {
            run_dir,
            journal,
            registry: Arc::default(),
            next_number: 0,
            conn: None,
            controller: None,
            rt: tokio::runtime::Handle::current(),
            recheck_tx,
            recheck_rx: Some(recheck_rx),
        };
        m.insert(ROOT_NS_NAME, root_inode, String::new(), true, false);
        m.reconcile(records)?;
        Ok(m)
    }

    fn reconcile(&mut self, records: BTreeMap<String, NetnsRecord>) -> Result<(), Error> {
        let found = self
            .run_dir
            .scan()
            .map_err(|e| Error::Failed(format!("scan {}: {e}", self.run_dir.dir().display())))?;
        let mut keep = Vec::new();
        for f in found {
            let record = records.get(&f.name);
            match (f.inode, record) {
                (Some(inode), rec) => {
                    if f.name == ROOT_NS_NAME {
                        tracing::warn!(
                            "ignoring /run/netns/{ROOT_NS_NAME}: the name is reserved for the root namespace"
                        );
                        continue;
                    }
                    let (managed, persistent) = match rec {
                        Some(NetnsRecord::Created {
                            inode: i,
                            persistent,
                        }) if *i == inode => (true, *persistent),
                        // Made by us, crashed before the end was recorded.
                        Some(NetnsRecord::Creating) => (true, true),
                        _ => (false, true),
                    };
                    if managed {
                        keep.push(Entry::NetnsCreated {
                            name: f.name.clone(),
                            inode,
                            persistent,
                        });
                    }
                    tracing::info!(name = %f.name, inode, managed, "found namespace");
                    let path = self.run_dir.path_of(&f.name).display().to_string();
                    self.insert(&f.name, inode, path, persistent, managed);
                }
                (None, Some(NetnsRecord::Creating)) => {
                    tracing::info!(name = %f.name, "removing a namespace file left half made by a crash");
                    if let Err(e) = self.run_dir.remove_leftover(&f.name) {
                        tracing::warn!(name = %f.name, "{e}");
                    }
                }
                (None, _) => {
                    // Perhaps `ip netns add` is under way: look again shortly.
                    let _ = self.recheck_tx.send((f.name, 0));
                }
            }
        }
        for (name, rec) in &records {
            if !self.registry.read().unwrap().by_name.contains_key(name) {
                tracing::info!(%name, ?rec, "dropping the record of a namespace that is gone");
            }
        }
        self.journal
            .rewrite(&keep)
            .map_err(|e| Error::Failed(format!("rewrite the journal: {e}")))
    }

    fn insert(
        &mut self,
        name: &str,
        inode: u64,
        path: String,
        persistent: bool,
        managed: bool,
    ) -> Namespace {
        let ns = Namespace {
            number: self.next_number,
            name: name.to_owned(),
            inode,
            path,
            persistent,
            managed,
        };
        self.next_number += 1;
        self.registry
            .write()
            .unwrap()
            .by_name
            .insert(name.to_owned(), ns.clone());
        ns
    }

    pub fn registry(&self) -> SharedRegistry {
        self.registry.clone()
    }

    /// Namespaces to put on the bus at start, in number order.
    pub fn namespaces(&self) -> Vec<Namespace> {
        let mut all: Vec<Namespace> = self
            .registry
            .read()
            .unwrap()
            .by_name
            .values()
            .cloned()
            .collect();
        all.sort_by_key(|ns| ns.number);
        all
    }

    /// Runs the manager until `shutdown` resolves.
    pub async fn run(
        mut self,
        conn: Connection,
        mut requests: mpsc::Receiver<Request>,
        mut dir_events: mpsc::UnboundedReceiver<DirEvent>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        self.controller = Some(
            conn.object_server()
                .interface::<_, Controller>(netnsd_api::CONTROLLER_PATH)
                .await
                .expect("the controller is served before the manager runs"),
        );
        self.conn = Some(conn);
        let mut rechecks = self.recheck_rx.take().expect("run is called once");
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(req) = requests.recv() => self.handle(req).await,
                Some(ev) = dir_events.recv() => self.on_dir_event(ev, 0).await,
                Some((name, attempt)) = rechecks.recv() => {
                    self.on_dir_event(DirEvent::Appeared(name), attempt).await
                }
            }
        }
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
        }
    }

    fn record(&mut self, entry: Entry) -> Result<(), Error> {
        self.journal
            .append(&entry)
            .map_err(|e| Error::Failed(format!("record {entry:?} in the journal: {e}")))
    }

    async fn add(&mut self, name: &str) -> Result<OwnedObjectPath, Error> {
        if self.registry.read().unwrap().get(name).is_some() {
            return Err(Error::AlreadyExists(format!(
                "namespace {name:?} already exists"
            )));
        }
        self.record(Entry::NetnsCreating {
            name: name.to_owned(),
        })?;
        let created = {
            let run_dir = self.run_dir.clone();
            let name = name.to_owned();
            let rt = self.rt.clone();
            tokio::task::spawn_blocking(move || run_dir.create(&name, &rt))
                .await
                .unwrap_or_else(|e| {
                    Err(NetnsError::Os {
                        step: "create".into(),
                        source: std::io::Error::other(e),
                    })
                })
        };
        let created = match created {
            Ok(c) => c,
            Err(e) => {
                let _ = self.record(Entry::NetnsRemoved {
                    name: name.to_owned(),
                });
                return Err(match e {
                    NetnsError::AlreadyExists(..) => Error::AlreadyExists(e.to_string()),
                    _ => Error::Failed(format!("create namespace {name:?}: {e}")),
                });
            }
        };
        if let Err(e) = created.netlink.loopback_up().await {
            self.undo_create(name);
            return Err(Error::Failed(format!(
                "bring lo up in namespace {name:?}: {e}"
            )));
        }
        if let Err(e) = self.record(Entry::NetnsCreated {
            name: name.to_owned(),
            inode: created.inode,
            persistent: true,
        }) {
            self.undo_create(name);
            return Err(e);
        }
        let path = self.run_dir.path_of(name).display().to_string();
        let ns = self.insert(name, created.inode, path, true, true);
        tracing::info!(
            name,
            inode = created.inode,
            number = ns.number,
            "created namespace"
        );
        self.publish(&ns).await;
        Ok(ns.object_path())
    }

    fn undo_create(&mut self, name: &str) {
        if let Err(e) = self.run_dir.remove(name) {
            tracing::error!(name, "undoing a failed create: {e}");
        }
        let _ = self.record(Entry::NetnsRemoved {
            name: name.to_owned(),
        });
    }

    async fn remove(&mut self, name: &str) -> Result<(), Error> {
        if name == ROOT_NS_NAME {
            return Err(Error::PermissionDenied(format!(
                "the root namespace {ROOT_NS_NAME:?} cannot be removed"
            )));
        }
        let Some(ns) = self.registry.read().unwrap().get(name).cloned() else {
            return Err(Error::NotFound(format!("namespace {name:?} not found")));
        };
        let run_dir = self.run_dir.clone();
        let n = name.to_owned();
        let removed = tokio::task::spawn_blocking(move || run_dir.remove(&n))
            .await
            .unwrap_or_else(|e| {
                Err(NetnsError::Os {
                    step: "remove".into(),
                    source: std::io::Error::other(e),
                })
            });
        match removed {
            Ok(()) | Err(NetnsError::NotFound(_)) => {}
            Err(e) => return Err(Error::Failed(format!("remove namespace {name:?}: {e}"))),
        }
        if ns.managed {
            self.record(Entry::NetnsRemoved {
                name: name.to_owned(),
            })?;
        }
        self.forget(&ns).await;
        tracing::info!(name, "removed namespace");
        Ok(())
    }

    async fn on_dir_event(&mut self, ev: DirEvent, attempt: usize) {
        match ev {
            DirEvent::Appeared(name) => {
                if name == ROOT_NS_NAME || self.registry.read().unwrap().get(&name).is_some() {
                    return;
                }
                match self.run_dir.inode_of(&name) {
                    Some(inode) => {
                        let path = self.run_dir.path_of(&name).display().to_string();
                        let ns = self.insert(&name, inode, path, true, false);
                        tracing::info!(%name, inode, "adopted a namespace made outside the daemon");
                        self.publish(&ns).await;
                    }
                    None if self.run_dir.path_of(&name).exists()
                        && attempt < ADOPT_RETRIES.len() =>
                    {
                        let tx = self.recheck_tx.clone();
                        let delay = Duration::from_millis(ADOPT_RETRIES[attempt]);
                        tokio::spawn(async move {
                            tokio::time::sleep(delay).await;
                            let _ = tx.send((name, attempt + 1));
                        });
                    }
                    None => {}
                }
            }
            DirEvent::Vanished(name) => {
                let Some(ns) = self.registry.read().unwrap().get(&name).cloned() else {
                    return;
                };
                if ns.number == 0 || self.run_dir.inode_of(&name) == Some(ns.inode) {
                    return;
                }
                if ns.managed {
                    let _ = self.record(Entry::NetnsRemoved { name: name.clone() });
                }
                tracing::info!(%name, "namespace removed outside the daemon");
                self.forget(&ns).await;
            }
        }
    }

    /// Puts a namespace on the bus and announces it.
    async fn publish(&self, ns: &Namespace) {
        let Some(conn) = &self.conn else { return };
        let path = ns.object_path();
        if let Err(e) = conn
            .object_server()
            .at(&path, NetNsInstance::new(ns.clone()))
            .await
        {
            tracing::error!(name = %ns.name, "export {path}: {e}");
        }
        self.announce(&path, true).await;
    }

    /// Takes a namespace off the registry and the bus, and announces it.
    async fn forget(&self, ns: &Namespace) {
        self.registry.write().unwrap().by_name.remove(&ns.name);
        let Some(conn) = &self.conn else { return };
        let path = ns.object_path();
        if let Err(e) = conn.object_server().remove::<NetNsInstance, _>(&path).await {
            tracing::error!(name = %ns.name, "unexport {path}: {e}");
        }
        self.announce(&path, false).await;
    }

    async fn announce(&self, path: &OwnedObjectPath, added: bool) {
        let Some(controller) = &self.controller else {
            return;
        };
        let emitter = controller.signal_emitter();
        let sent = if added {
            Controller::network_namespace_added(emitter, path.as_ref()).await
        } else {
            Controller::network_namespace_removed(emitter, path.as_ref()).await
        };
        if let Err(e) = sent {
            tracing::warn!("signal for {path}: {e}");
        }
        if let Err(e) = controller
            .get()
            .await
            .network_namespaces_changed(emitter)
            .await
        {
            tracing::warn!("PropertiesChanged for NetworkNamespaces: {e}");
        }
    }
}

/// Makes the manager's request channel.
pub fn channel(registry: SharedRegistry) -> (ManagerHandle, mpsc::Receiver<Request>) {
    let (tx, rx) = mpsc::channel(64);
    (ManagerHandle { tx, registry }, rx)
}
