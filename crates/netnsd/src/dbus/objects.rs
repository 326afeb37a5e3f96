//! org.freedesktop.DBus.ObjectManager at the root, answered by netnsd.
//!
//! zbus's own `fdo::ObjectManager` walks its object tree and, for every
//! interface of every object, takes the interface's async lock and calls its
//! `get_all` through the object server: ~25–40 µs an object, 100 ms for
//! the 4006 objects of 1000 namespaces. This one answers from the index of
//! exported objects that [`Bus`](super::publish::Bus) keeps as it exports
//! and unexports them, with
//! the two kinds that grow with the population (devices and namespaces)
//! written straight into the reply as zbus serializes it ([`Reply`]: no
//! map of variants per object, no lock or tree walk), the few others through
//! the object server's get_all. The reply is what each object's
//! Properties.GetAll says (the test managed_objects compares them).
//!
//! InterfacesAdded and InterfacesRemoved are still emitted by the object
//! server, which sends them from the closest ancestor serving an interface
//! named org.freedesktop.DBus.ObjectManager: this one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use netnsd_api::DEVICE_PATH_PREFIX;
use netnsd_api::{
    AGENT_MANAGER_PATH, CONTROLLER_PATH, SETTINGS_PATH, active_path, connection_path,
};
use serde::ser::{Serialize, SerializeMap, Serializer};
use zbus::fdo::{self, ManagedObjects};
use zbus::names::{InterfaceName, OwnedInterfaceName};
use zbus::object_server::{Interface, SignalEmitter};
use zbus::wire::{ObjectPath, OwnedObjectPath, OwnedVariant, Signature, Type, Variant};
use zbus::{Connection, ObjectServer, interface};

use super::active::{Active, Vpn};
use super::agents::AgentManager;
use super::auth::Authority;
use super::controller::Controller;
use super::device::{self, DeviceObject};
use super::instance::NetNsInstance;
use super::settings::{Settings, SettingsConnection};
use crate::manager::{Device, DeviceTable, ManagerHandle, Namespace, Shared};

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

/// The reply of GetManagedObjects, `a{oa{sa{sv}}}`, written in one pass
/// as zbus serializes it: namespaces and devices (nearly all of the
/// objects) straight from the registry, each property wrapped as a variant
/// where it lies, with no map of variants built per object (which is where
/// zbus's own ObjectManager spent its time: docs/benchmarks.md).
pub struct Reply {
    /// The few other objects, as their interfaces' get_all gave them.
    others: Vec<(String, Ifaces)>,
    namespaces: Vec<(OwnedObjectPath, NetNsInstance)>,
    devices: Vec<u32>,
    table: Shared<DeviceTable>,
}

impl Type for Reply {
    const SIGNATURE: &'static Signature = <ManagedObjects as Type>::SIGNATURE;
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let table = self.table.read();
        let len = self.others.len() + self.namespaces.len() + self.devices.len();
        let mut m = s.serialize_map(Some(len))?;
        for (path, ifaces) in &self.others {
            m.serialize_entry(&ObjectPath::from_str_unchecked(path), ifaces)?;
        }
        for (path, ns) in &self.namespaces {
            m.serialize_entry(path, &NsObject(ns))?;
        }
        let mut path = String::with_capacity(64);
        for &n in &self.devices {
            // Gone since the index was read: left out, as its unexport is
            // on the way.
            let Some(d) = table.device(n) else { continue };
            path.clear();
            path.push_str(DEVICE_PATH_PREFIX);
            path.push('/');
            path.push_str(itoa(n, &mut [0; 10]));
            m.serialize_entry(&ObjectPath::from_str_unchecked(&path), &DeviceObj(d))?;
        }
        m.end()
    }
}

/// `n` in decimal, in `buf`.
fn itoa(mut n: u32, buf: &mut [u8; 10]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("digits")
}

/// A namespace's `a{sa{sv}}`: its one interface.
struct NsObject<'a>(&'a NetNsInstance);

/// Its `a{sv}`.
struct NsProps<'a>(&'a NetNsInstance);

impl Serialize for NsObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(NetNsInstance::name().as_str(), &NsProps(self.0))?;
        m.end()
    }
}

impl Serialize for NsProps<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.0.write_properties(&mut m)?;
        m.end()
    }
}

/// A device's `a{sa{sv}}`: its one interface.
struct DeviceObj<'a>(&'a Device);

/// Its `a{sv}`.
struct DeviceProps<'a>(&'a Device);

impl Serialize for DeviceObj<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(DeviceObject::name().as_str(), &DeviceProps(self.0))?;
        m.end()
    }
}

impl Serialize for DeviceProps<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        device::write_properties(self.0, &mut m)?;
        m.end()
    }
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
    ) -> fdo::Result<Reply> {
        let (namespaces, devices, actives, profiles) = self.index.with(|x| {
            (
                x.namespaces.values().cloned().collect::<Vec<_>>(),
                x.devices.iter().copied().collect::<Vec<_>>(),
                x.actives.iter().copied().collect::<Vec<_>>(),
                x.profiles.iter().copied().collect::<Vec<_>>(),
            )
        });
        let mut others = Vec::with_capacity(actives.len() + profiles.len() + 3);

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
                others.push((path.to_owned(), ifaces));
            }
        }
        for n in profiles {
            let path = connection_path(n);
            let mut ifaces = Ifaces::new();
            exported::<SettingsConnection>(&path, server, conn, &mut ifaces).await?;
            if !ifaces.is_empty() {
                others.push((path, ifaces));
            }
        }
        for n in actives {
            let path = active_path(n);
            let mut ifaces = Ifaces::new();
            exported::<Active>(&path, server, conn, &mut ifaces).await?;
            exported::<Vpn>(&path, server, conn, &mut ifaces).await?;
            if !ifaces.is_empty() {
                others.push((path, ifaces));
            }
        }
        let namespaces = namespaces
            .into_iter()
            .map(|ns| {
                let path = ns.object_path();
                let iface = NetNsInstance::new(ns, self.manager.clone(), self.auth.clone());
                (path, iface)
            })
            .collect();
        Ok(Reply {
            others,
            namespaces,
            devices,
            table: self.manager.registry.devices.clone(),
        })
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
