//! org.freedesktop.DBus.ObjectManager at the root, answered by netnsd.
//!
//! zbus's own `fdo::ObjectManager` walks its object tree and, for every
//! interface of every object, takes the interface's async lock and calls its
//! `get_all` into a map of variants, then serializes the maps into a buffer
//! that grows as it goes: ~25–40 µs an object, 100 ms for the 4006 objects
//! of 1000 namespaces (docs/benchmarks.md). This one answers from the index
//! of exported objects that [`Bus`](super::publish::Bus) keeps as it exports
//! and unexports them: namespaces and devices (nearly all of the objects)
//! written straight from the registry's tables in the wire format into one
//! buffer sized from the last reply ([`body`]: no map, variant or string per
//! property, no object-server lock per object), the few others (controller,
//! settings, agent manager, profiles, active connections) through the
//! object server's get_all. The reply is what each object's
//! Properties.GetAll says (the test managed_objects compares them; busctl
//! and gdbus read it).
//!
//! The reply is built and sent here, which the `#[interface]` macro does
//! not allow: [`Objects`] implements zbus's `Interface` by hand (one
//! method, two signals, no properties). InterfacesAdded and
//! InterfacesRemoved are still emitted by the object server, which sends
//! them from the closest ancestor serving an interface named
//! org.freedesktop.DBus.ObjectManager: this one.

mod body;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use netnsd_api::{
    AGENT_MANAGER_PATH, CONTROLLER_PATH, DEVICE_PATH_PREFIX, SETTINGS_PATH, active_path,
    connection_path,
};
use zbus::fdo::{self, ManagedObjects};
use zbus::message::{Flags, Header, Message};
use zbus::names::{InterfaceName, MemberName, OwnedInterfaceName};
use zbus::object_server::{DispatchResult, Interface, SignalEmitter};
use zbus::wire::{LE, OwnedVariant, Type, Variant};
use zbus::{BoxDBusError, Connection, ObjectServer};

use super::active::{Active, Vpn};
use super::agents::AgentManager;
use super::auth::Authority;
use super::controller::Controller;
use super::device::{self, DeviceObject};
use super::instance::NetNsInstance;
use super::settings::{Settings, SettingsConnection};
use crate::manager::{ManagerHandle, Namespace};
pub(super) use body::{Body, Path};

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
    /// The last reply's body size: the next one's buffer is made that
    /// large at once (the population changes little between two calls).
    last_size: AtomicUsize,
}

impl Objects {
    pub fn new(index: Index, manager: ManagerHandle, auth: Authority) -> Self {
        Objects {
            index,
            manager,
            auth,
            last_size: AtomicUsize::new(0),
        }
    }

    /// GetManagedObjects's reply body, `a{oa{sa{sv}}}`, behind the
    /// message header `head`: every object under the root with its
    /// interfaces, and for each what its Properties.GetAll says.
    async fn managed_objects(
        &self,
        server: &ObjectServer,
        conn: &Connection,
        head: &[u8],
    ) -> fdo::Result<Body> {
        let (namespaces, devices, actives, profiles) = self.index.with(|x| {
            (
                x.namespaces.values().cloned().collect::<Vec<_>>(),
                x.devices.iter().copied().collect::<Vec<_>>(),
                x.actives.iter().copied().collect::<Vec<_>>(),
                x.profiles.iter().copied().collect::<Vec<_>>(),
            )
        });
        let others = others(server, conn, &actives, &profiles).await?;

        let last = self.last_size.load(Ordering::Relaxed);
        let guess = 1024 * (others.len() + 1) + 800 * namespaces.len() + 500 * devices.len();
        let mut b = Body::behind(head, if last > 0 { last + last / 8 } else { guess });
        let failed = |e: zbus::Error| fdo::Error::Failed(format!("GetManagedObjects: {e}"));
        // Every namespace's devices, in one walk of the device table (read
        // once, and let go before the namespaces read their other tables).
        let listed = self.manager.registry.devices.read().all_listed();
        b.objects(|b| {
            for (path, ifaces) in &others {
                b.object_value(path, ifaces)?;
            }
            // Both sorted by namespace number: each namespace's devices are
            // the next run of `listed`.
            let mut rest = &listed[..];
            for ns in namespaces {
                let skip = rest.partition_point(|d| d.ns < ns.number);
                let len = rest[skip..].partition_point(|d| d.ns == ns.number);
                let (own, after) = rest[skip..].split_at(len);
                rest = after;
                let iface = NetNsInstance::new(ns, self.manager.clone(), self.auth.clone());
                iface.write_object(b, own)?;
            }
            // Read once for all devices; nothing else is locked meanwhile.
            let table = self.manager.registry.devices.read();
            let name = DeviceObject::name();
            for n in devices {
                // Gone since the index was read: left out, as its unexport
                // is on the way.
                let Some(d) = table.device(n) else { continue };
                b.object(Path::Numbered(DEVICE_PATH_PREFIX, n), &name, |b| {
                    device::write_properties(d, b)
                });
            }
            Ok::<_, zbus::Error>(())
        })
        .map_err(failed)?;
        self.last_size.store(b.len(), Ordering::Relaxed);
        Ok(b)
    }

    /// Answers a GetManagedObjects call: the reply's header is made first
    /// (its length does not depend on the body's, which is filled in
    /// after), the body written behind it in the same buffer, and the
    /// message made from that buffer as it is.
    async fn reply(
        &self,
        server: &ObjectServer,
        conn: &Connection,
        msg: &Message,
    ) -> zbus::Result<()> {
        let hdr = msg.header();
        if no_reply(&hdr) {
            return Ok(());
        }
        // SAFETY: an empty body, the signature of the one written behind
        // it (Body::into_message), no descriptors.
        let head = unsafe {
            Message::method_return(&hdr).endian(LE).build_raw_body(
                &[],
                <ManagedObjects as Type>::SIGNATURE.clone(),
                Vec::new(),
            )
        }?;
        match self.managed_objects(server, conn, head.data()).await {
            Ok(body) => conn.send(&body.into_message()?).await,
            Err(e) => conn.reply_dbus_error(&hdr, e).await.map(drop),
        }
    }
}

fn no_reply(hdr: &Header<'_>) -> bool {
    hdr.primary().flags().contains(Flags::NO_REPLY_EXPECTED)
}

type Props = HashMap<String, OwnedVariant>;
type Ifaces = HashMap<OwnedInterfaceName, Props>;

/// The few objects that are not namespaces or devices, with their
/// interfaces' properties as get_all gives them.
async fn others(
    server: &ObjectServer,
    conn: &Connection,
    actives: &[u32],
    profiles: &[u32],
) -> fdo::Result<Vec<(String, Ifaces)>> {
    let mut others = Vec::with_capacity(actives.len() + profiles.len() + 3);
    let mut push = |path: String, ifaces: Ifaces| {
        if !ifaces.is_empty() {
            others.push((path, ifaces));
        }
    };
    let mut ifaces = Ifaces::new();
    exported::<Controller>(CONTROLLER_PATH, server, conn, &mut ifaces).await?;
    push(CONTROLLER_PATH.to_owned(), ifaces);
    let mut ifaces = Ifaces::new();
    exported::<Settings>(SETTINGS_PATH, server, conn, &mut ifaces).await?;
    push(SETTINGS_PATH.to_owned(), ifaces);
    let mut ifaces = Ifaces::new();
    exported::<AgentManager>(AGENT_MANAGER_PATH, server, conn, &mut ifaces).await?;
    push(AGENT_MANAGER_PATH.to_owned(), ifaces);
    for &n in profiles {
        let path = connection_path(n);
        let mut ifaces = Ifaces::new();
        exported::<SettingsConnection>(&path, server, conn, &mut ifaces).await?;
        push(path, ifaces);
    }
    for &n in actives {
        let path = active_path(n);
        let mut ifaces = Ifaces::new();
        exported::<Active>(&path, server, conn, &mut ifaces).await?;
        exported::<Vpn>(&path, server, conn, &mut ifaces).await?;
        push(path, ifaces);
    }
    Ok(others)
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

const INTERFACE: &str = "org.freedesktop.DBus.ObjectManager";

#[async_trait::async_trait]
impl Interface for Objects {
    fn name() -> InterfaceName<'static> {
        InterfaceName::from_static_str_unchecked(INTERFACE)
    }

    async fn get(
        &self,
        _property: &str,
        _server: &ObjectServer,
        _conn: &Connection,
        _header: Option<&Header<'_>>,
        _emitter: &SignalEmitter<'_>,
    ) -> Option<Result<OwnedVariant, BoxDBusError>> {
        None
    }

    async fn get_all(
        &self,
        _server: &ObjectServer,
        _conn: &Connection,
        _header: Option<&Header<'_>>,
        _emitter: &SignalEmitter<'_>,
    ) -> fdo::Result<HashMap<String, OwnedVariant>> {
        Ok(HashMap::new())
    }

    async fn set_mut(
        &mut self,
        _property: &str,
        _value: &Variant<'_>,
        _server: &ObjectServer,
        _conn: &Connection,
        _header: Option<&Header<'_>>,
        _emitter: &SignalEmitter<'_>,
    ) -> Option<Result<(), BoxDBusError>> {
        None
    }

    fn call<'call>(
        &'call self,
        server: &'call ObjectServer,
        conn: &'call Connection,
        msg: &'call Message,
        name: MemberName<'call>,
    ) -> DispatchResult<'call> {
        match name.as_str() {
            "GetManagedObjects" => DispatchResult::Async(Box::pin(async move {
                self.reply(server, conn, msg).await.map_err(|e| {
                    Box::new(fdo::Error::Failed(format!("GetManagedObjects: {e}"))) as BoxDBusError
                })
            })),
            _ => DispatchResult::NotFound,
        }
    }

    fn call_mut<'call>(
        &'call mut self,
        _server: &'call ObjectServer,
        _conn: &'call Connection,
        _msg: &'call Message,
        _name: MemberName<'call>,
    ) -> DispatchResult<'call> {
        DispatchResult::NotFound
    }

    /// As zbus's `fdo::ObjectManager` describes itself.
    fn introspect_to_writer(&self, w: &mut dyn std::fmt::Write, level: usize) {
        let i = |n: usize| " ".repeat(level + n);
        let lines = [
            format!("{}<interface name=\"{INTERFACE}\">", i(0)),
            format!("{}<method name=\"GetManagedObjects\">", i(2)),
            format!(
                "{}<arg type=\"a{{oa{{sa{{sv}}}}}}\" direction=\"out\"/>",
                i(4)
            ),
            format!("{}</method>", i(2)),
            format!("{}<signal name=\"InterfacesAdded\">", i(2)),
            format!("{}<arg name=\"object_path\" type=\"o\"/>", i(4)),
            format!(
                "{}<arg name=\"interfaces_and_properties\" type=\"a{{sa{{sv}}}}\"/>",
                i(4)
            ),
            format!("{}</signal>", i(2)),
            format!("{}<signal name=\"InterfacesRemoved\">", i(2)),
            format!("{}<arg name=\"object_path\" type=\"o\"/>", i(4)),
            format!("{}<arg name=\"interfaces\" type=\"as\"/>", i(4)),
            format!("{}</signal>", i(2)),
            format!("{}</interface>", i(0)),
        ];
        for l in lines {
            let _ = std::fmt::Write::write_fmt(w, format_args!("{l}\n"));
        }
    }
}
