//! org.freedesktop.DBus.ObjectManager at the root, answered by netnsd.
//!
//! zbus's own `fdo::ObjectManager` walks its object tree and, for every
//! interface of every object, takes the interface's async lock and calls its
//! `get_all` through the object server: ~25–40 µs an object, 100 ms for
//! the 4006 objects of 1000 namespaces. This one answers from the index of
//! exported objects that [`Bus`](super::publish::Bus) keeps as it exports
//! and unexports them, and builds each object's properties with the
//! interface's own `get_all` on a value made from the registry for the two
//! kinds that grow with the population (devices and namespaces: no lock,
//! no tree walk), through the object server for the few others. So the
//! reply is what each object's Properties.GetAll says (a test compares
//! them), built in one pass.
//!
//! InterfacesAdded and InterfacesRemoved are still emitted by the object
//! server, which sends them from the closest ancestor serving an interface
//! named org.freedesktop.DBus.ObjectManager: this one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use netnsd_api::{
    AGENT_MANAGER_PATH, CONTROLLER_PATH, SETTINGS_PATH, active_path, connection_path, device_path,
};
use zbus::fdo::{self, ManagedObjects};
use zbus::names::{InterfaceName, OwnedInterfaceName};
use zbus::object_server::{Interface, SignalEmitter};
use zbus::wire::{ObjectPath, OwnedObjectPath, OwnedVariant, Variant};
use zbus::{Connection, ObjectServer, interface};

use super::active::{Active, Vpn};
use super::agents::AgentManager;
use super::auth::Authority;
use super::controller::Controller;
use super::device::DeviceObject;
use super::instance::NetNsInstance;
use super::settings::{Settings, SettingsConnection};
use crate::manager::{ManagerHandle, Namespace};

/// What is exported under the root besides the fixed objects, as the
/// publisher exported it.
#[derive(Default)]
struct Exported {
    namespaces: BTreeMap<u32, Namespace>,
    devices: BTreeSet<u32>,
    actives: BTreeSet<u32>,
    profiles: BTreeSet<u32>,
}

/// The publisher's record of its exports, shared with [`Objects`].
#[derive(Clone, Default)]
pub struct Index(Arc<Mutex<Exported>>);

impl Index {
    fn with<T>(&self, f: impl FnOnce(&mut Exported) -> T) -> T {
        f(&mut self.0.lock().unwrap())
    }

    pub fn namespace(&self, ns: &Namespace, exported: bool) {
        self.with(|x| {
            if exported {
                x.namespaces.insert(ns.number, ns.clone());
            } else {
                x.namespaces.remove(&ns.number);
            }
        })
    }

    pub fn device(&self, n: u32, exported: bool) {
        self.with(|x| set(&mut x.devices, n, exported))
    }

    pub fn active(&self, n: u32, exported: bool) {
        self.with(|x| set(&mut x.actives, n, exported))
    }

    pub fn profile(&self, n: u32, exported: bool) {
        self.with(|x| set(&mut x.profiles, n, exported))
    }
}

fn set(s: &mut BTreeSet<u32>, n: u32, exported: bool) {
    if exported {
        s.insert(n);
    } else {
        s.remove(&n);
    }
}

/// The root's ObjectManager.
pub struct Objects {
    index: Index,
    manager: ManagerHandle,
    auth: Authority,
}

impl Objects {
    pub fn new(index: Index, manager: ManagerHandle, auth: Authority) -> Self {
        Objects {
            index,
            manager,
            auth,
        }
    }
}

type Props = HashMap<String, OwnedVariant>;
type Ifaces = HashMap<OwnedInterfaceName, Props>;

/// One interface's properties, from a value that is not on the object
/// server (made from the registry as the exported one was).
async fn props_of<I: Interface>(
    iface: &I,
    server: &ObjectServer,
    conn: &Connection,
    emitter: &SignalEmitter<'_>,
) -> fdo::Result<(OwnedInterfaceName, Props)> {
    let props = iface.get_all(server, conn, None, emitter).await?;
    Ok((I::name().into(), props))
}

/// One interface's properties, through the object server; none if `path`
/// has no such interface (it went meanwhile).
async fn exported<I: Interface>(
    path: &str,
    server: &ObjectServer,
    conn: &Connection,
    into: &mut Ifaces,
) -> fdo::Result<()> {
    let Ok(iface) = server.interface::<_, I>(path).await else {
        return Ok(());
    };
    let emitter = iface.signal_emitter().clone();
    let props = iface
        .get()
        .await
        .get_all(server, conn, None, &emitter)
        .await?;
    into.insert(I::name().into(), props);
    Ok(())
}

fn object_path(p: String) -> OwnedObjectPath {
    ObjectPath::try_from(p).expect("valid path").into()
}

#[interface(
    name = "org.freedesktop.DBus.ObjectManager",
    introspection_docs = false
)]
impl Objects {
    /// Every object under the root: for each, its interfaces and what each
    /// one's Properties.GetAll says.
    async fn get_managed_objects(
        &self,
        #[zbus(object_server)] server: &ObjectServer,
        #[zbus(connection)] conn: &Connection,
    ) -> fdo::Result<ManagedObjects> {
        let (namespaces, devices, actives, profiles) = self.index.with(|x| {
            (
                x.namespaces.values().cloned().collect::<Vec<_>>(),
                x.devices.iter().copied().collect::<Vec<_>>(),
                x.actives.iter().copied().collect::<Vec<_>>(),
                x.profiles.iter().copied().collect::<Vec<_>>(),
            )
        });
        let mut out =
            ManagedObjects::with_capacity(namespaces.len() + devices.len() + actives.len() + 8);

        for (path, kind) in [
            (CONTROLLER_PATH, 0),
            (SETTINGS_PATH, 1),
            (AGENT_MANAGER_PATH, 2),
        ] {
            let mut ifaces = Ifaces::new();
            match kind {
                0 => exported::<Controller>(path, server, conn, &mut ifaces).await?,
                1 => exported::<Settings>(path, server, conn, &mut ifaces).await?,
                _ => exported::<AgentManager>(path, server, conn, &mut ifaces).await?,
            }
            if !ifaces.is_empty() {
                out.insert(object_path(path.to_owned()), ifaces);
            }
        }
        for n in profiles {
            let path = connection_path(n);
            let mut ifaces = Ifaces::new();
            exported::<SettingsConnection>(&path, server, conn, &mut ifaces).await?;
            if !ifaces.is_empty() {
                out.insert(object_path(path), ifaces);
            }
        }
        for n in actives {
            let path = active_path(n);
            let mut ifaces = Ifaces::new();
            exported::<Active>(&path, server, conn, &mut ifaces).await?;
            exported::<Vpn>(&path, server, conn, &mut ifaces).await?;
            if !ifaces.is_empty() {
                out.insert(object_path(path), ifaces);
            }
        }
        for ns in namespaces {
            let path = ns.object_path();
            let emitter = SignalEmitter::new(conn, path.clone())?;
            let iface = NetNsInstance::new(ns, self.manager.clone(), self.auth.clone());
            let (name, props) = props_of(&iface, server, conn, &emitter).await?;
            out.insert(path, HashMap::from([(name, props)]));
        }
        let table = self.manager.registry.devices.clone();
        for n in devices {
            let path = object_path(device_path(n));
            let emitter = SignalEmitter::new(conn, path.clone())?;
            let iface = DeviceObject::new(n, table.clone());
            let (name, props) = props_of(&iface, server, conn, &emitter).await?;
            out.insert(path, HashMap::from([(name, props)]));
        }
        Ok(out)
    }

    /// An object appeared, or gained interfaces (emitted by the object
    /// server as it exports).
    #[zbus(signal)]
    async fn interfaces_added(
        emitter: &SignalEmitter<'_>,
        object_path: ObjectPath<'_>,
        interfaces_and_properties: HashMap<InterfaceName<'_>, HashMap<&str, Variant<'_>>>,
    ) -> zbus::Result<()>;

    /// An object went, or lost interfaces.
    #[zbus(signal)]
    async fn interfaces_removed(
        emitter: &SignalEmitter<'_>,
        object_path: ObjectPath<'_>,
        interfaces: Vec<InterfaceName<'_>>,
    ) -> zbus::Result<()>;
}
