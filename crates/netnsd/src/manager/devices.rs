//! Devices: kept live from each namespace's netlink events, one object per
//! device that keeps its path when the device moves between namespaces, and
//! TakeDevice.

use std::fs::File;
use std::os::fd::AsFd;
use std::time::Duration;

use netlink_packet_route::RouteNetlinkMessage;
use netnsd_api::{Error, namespace_path};
use tokio::sync::oneshot;
use zbus::wire::OwnedObjectPath;

use super::{Device, Later, Manager, Moving, Namespace, Waiter};
use crate::dbus::device::DeviceObject;
use crate::dbus::instance::NetNsInstance;
use crate::netlink::{self, LinkState, Platform, address_of};

/// How long a device seen leaving a namespace is kept for its arrival in
/// another one; after that it is dropped (it went somewhere we do not see).
const MOVE_GRACE: Duration = Duration::from_secs(2);
/// How long an appearing device waits for the departure it may belong to.
const ARRIVAL_GRACE: Duration = Duration::from_millis(100);

impl Manager {
    /// Publishes every link and address of a namespace (after a fresh open).
    pub(super) async fn sync_devices(&mut self, ns: u32, p: &Platform) {
        match p.dump_links().await {
            Ok(links) => {
                for m in links {
                    self.link_seen(ns, LinkState::from_message(&m), true).await;
                }
            }
            Err(e) => tracing::warn!(ns, "dump links: {e}"),
        }
        match p.dump_addresses().await {
            Ok(addrs) => {
                for m in addrs {
                    if let Some((ifindex, a)) = address_of(&m) {
                        self.address_seen(ns, ifindex, a, true).await;
                    }
                }
            }
            Err(e) => tracing::warn!(ns, "dump addresses: {e}"),
        }
    }

    pub(super) async fn on_netlink(&mut self, ns: u32, msg: RouteNetlinkMessage) {
        if !self.platforms.contains_key(&ns) {
            return;
        }
        match msg {
            RouteNetlinkMessage::NewLink(m) => {
                self.link_seen(ns, LinkState::from_message(&m), false).await
            }
            RouteNetlinkMessage::DelLink(m) => {
                let link = LinkState::from_message(&m);
                if link.moved_to_ifindex.is_none() {
                    self.host_end_gone(ns, &link.name);
                }
                self.link_gone(ns, link).await
            }
            RouteNetlinkMessage::NewAddress(m) => {
                if let Some((ifindex, a)) = address_of(&m) {
                    self.address_seen(ns, ifindex, a, true).await;
                }
            }
            RouteNetlinkMessage::DelAddress(m) => {
                if let Some((ifindex, a)) = address_of(&m) {
                    self.address_seen(ns, ifindex, a, false).await;
                }
            }
            _ => {}
        }
    }

    /// A link exists in `ns`: update its device, or recognise a device that
    /// moved here, or make a new one. `settled` is false for a live event,
    /// which may be the arrival half of a move whose departure is not seen yet.
    pub(super) async fn link_seen(&mut self, ns: u32, link: LinkState, settled: bool) {
        if !self.platforms.contains_key(&ns) {
            return;
        }
        if let Some(&number) = self.ifindex.get(&(ns, link.ifindex)) {
            return self.update_device(number, link).await;
        }
        if let Some(pos) = self
            .moving
            .iter()
            .position(|m| m.name == link.name && m.new_ifindex == link.ifindex)
        {
            let mv = self.moving.remove(pos);
            return self.arrive(mv.device, ns, link).await;
        }
        // The arrival of a device we are moving here ourselves (TakeDevice,
        // or its undo): no need to wait for the departure, which comes on
        // another socket, in no fixed order.
        if let Some(number) = self.expected_arrival(ns, &link) {
            return self.arrive_early(number, ns, link).await;
        }
        let elsewhere = self
            .registry
            .read()
            .unwrap()
            .devices
            .values()
            .any(|d| d.ns != ns && !d.in_transit && d.link.name == link.name);
        if !settled && elsewhere {
            return self.later(ARRIVAL_GRACE, Later::Link(ns, link));
        }
        self.new_device(ns, link).await;
    }

    async fn link_gone(&mut self, ns: u32, link: LinkState) {
        let Some(number) = self.ifindex.remove(&(ns, link.ifindex)) else {
            return;
        };
        match link.moved_to_ifindex {
            Some(new_ifindex) => {
                if let Some(d) = self.registry.write().unwrap().devices.get_mut(&number) {
                    d.in_transit = true;
                }
                let seq = self.next_move;
                self.next_move += 1;
                self.moving.push(Moving {
                    device: number,
                    seq,
                    name: link.name,
                    new_ifindex,
                });
                self.device_listed(ns, number, false).await;
                self.later(MOVE_GRACE, Later::ExpireMove(number, seq));
            }
            None => {
                self.drop_device(number).await;
                self.link_deleted(ns, &link.name).await;
            }
        }
    }

    pub(super) async fn expire_move(&mut self, number: u32, seq: u64) {
        if let Some(pos) = self
            .moving
            .iter()
            .position(|m| m.device == number && m.seq == seq)
        {
            self.moving.remove(pos);
            tracing::debug!(number, "device left for a namespace netnsd does not know");
            self.drop_device(number).await;
        }
    }

    /// The device a waiter expects to arrive in `ns` under this name, if it
    /// is still recorded where it came from (its departure not seen yet).
    fn expected_arrival(&self, ns: u32, link: &LinkState) -> Option<u32> {
        let reg = self.registry.read().unwrap();
        self.waiters
            .iter()
            .filter(|w| w.target == ns && w.name == link.name)
            .map(|w| w.device)
            .find(|n| {
                reg.devices
                    .get(n)
                    .is_some_and(|d| d.ns != ns && !d.in_transit && d.link.kind == link.kind)
            })
    }

    /// A moved device's arrival, handled before its departure: the
    /// departure is done here, and its RTM_DELLINK will find nothing left.
    async fn arrive_early(&mut self, number: u32, ns: u32, link: LinkState) {
        let from = self
            .registry
            .read()
            .unwrap()
            .devices
            .get(&number)
            .map(|d| (d.ns, d.link.ifindex));
        if let Some((from_ns, from_ifindex)) = from {
            self.ifindex.remove(&(from_ns, from_ifindex));
            self.device_listed(from_ns, number, false).await;
        }
        self.arrive(number, ns, link).await;
    }

    async fn new_device(&mut self, ns: u32, link: LinkState) {
        let number = self.next_device;
        self.next_device += 1;
        let dev = Device {
            number,
            ns,
            link,
            addresses: Default::default(),
            in_transit: false,
        };
        self.ifindex.insert((ns, dev.link.ifindex), number);
        self.registry
            .write()
            .unwrap()
            .devices
            .insert(number, dev.clone());
        if let Some(conn) = &self.conn {
            let obj = DeviceObject::new(number, self.registry.clone());
            if let Err(e) = conn.object_server().at(dev.object_path(), obj).await {
                tracing::error!("export device {}: {e}", dev.link.name);
            }
        }
        self.device_listed(ns, number, true).await;
        self.wake_waiters(ns, &dev.link.name).await;
    }

    async fn arrive(&mut self, number: u32, ns: u32, link: LinkState) {
        tracing::debug!(number, ns, name = %link.name, "device moved");
        self.ifindex.insert((ns, link.ifindex), number);
        let name = link.name.clone();
        if let Some(d) = self.registry.write().unwrap().devices.get_mut(&number) {
            d.ns = ns;
            d.link = link;
            d.addresses.clear();
            d.in_transit = false;
        }
        self.device_changed(number, &ALL_PROPS).await;
        self.device_listed(ns, number, true).await;
        self.wake_waiters(ns, &name).await;
    }

    async fn update_device(&mut self, number: u32, link: LinkState) {
        let changed: Vec<&str> = {
            let mut reg = self.registry.write().unwrap();
            let Some(d) = reg.devices.get_mut(&number) else {
                return;
            };
            let old = std::mem::replace(&mut d.link, link);
            let new = &d.link;
            let mut c = Vec::new();
            if old.name != new.name {
                c.push("Interface");
            }
            if old.kind != new.kind {
                c.push("Kind");
            }
            if old.hw_address != new.hw_address {
                c.push("HwAddress");
            }
            if old.mtu != new.mtu {
                c.push("Mtu");
            }
            if old.state != new.state {
                c.push("State");
            }
            if old.up != new.up {
                c.push("Up");
            }
            c
        };
        if !changed.is_empty() {
            self.device_changed(number, &changed).await;
        }
    }

    async fn address_seen(&mut self, ns: u32, ifindex: u32, address: String, present: bool) {
        let Some(&number) = self.ifindex.get(&(ns, ifindex)) else {
            return;
        };
        let changed = {
            let mut reg = self.registry.write().unwrap();
            let Some(d) = reg.devices.get_mut(&number) else {
                return;
            };
            if present {
                d.addresses.insert(address)
            } else {
                d.addresses.remove(&address)
            }
        };
        if changed {
            self.device_changed(number, &["Addresses"]).await;
        }
    }

    pub(super) async fn drop_device(&mut self, number: u32) {
        let Some(dev) = self.registry.write().unwrap().devices.remove(&number) else {
            return;
        };
        self.ifindex.retain(|_, n| *n != number);
        self.moving.retain(|m| m.device != number);
        if !dev.in_transit {
            self.device_listed_as(dev.ns, number, false, dev.internal())
                .await;
        }
        if let Some(conn) = &self.conn
            && let Err(e) = conn
                .object_server()
                .remove::<DeviceObject, _>(dev.object_path())
                .await
        {
            tracing::warn!("unexport device {}: {e}", dev.link.name);
        }
    }

    /// Drops every device object of a namespace that is going away.
    pub(super) async fn drop_devices_of(&mut self, ns: u32) {
        let numbers: Vec<u32> = self
            .registry
            .read()
            .unwrap()
            .devices
            .values()
            .filter(|d| d.ns == ns && !d.in_transit)
            .map(|d| d.number)
            .collect();
        for n in numbers {
            self.drop_device(n).await;
        }
    }

    /// Announces a device joining or leaving namespace `ns`'s lists.
    async fn device_listed(&self, ns: u32, number: u32, added: bool) {
        let internal = self
            .registry
            .read()
            .unwrap()
            .devices
            .get(&number)
            .map(Device::internal);
        if let Some(internal) = internal {
            self.device_listed_as(ns, number, added, internal).await;
        }
    }

    /// As device_listed, for a device that may be gone from the registry.
    async fn device_listed_as(&self, ns: u32, number: u32, added: bool, internal: bool) {
        let Some(conn) = &self.conn else { return };
        let iface = match conn
            .object_server()
            .interface::<_, NetNsInstance>(namespace_path(ns))
            .await
        {
            Ok(i) => i,
            Err(_) => return,
        };
        let emitter = iface.signal_emitter();
        let path: OwnedObjectPath =
            zbus::wire::ObjectPath::try_from(netnsd_api::device_path(number))
                .expect("valid path")
                .into();
        let sent = match (internal, added) {
            (false, true) => NetNsInstance::netns_device_added(emitter, path.as_ref()).await,
            (false, false) => NetNsInstance::netns_device_removed(emitter, path.as_ref()).await,
            (true, true) => {
                NetNsInstance::netns_internal_device_added(emitter, path.as_ref()).await
            }
            (true, false) => {
                NetNsInstance::netns_internal_device_removed(emitter, path.as_ref()).await
            }
        };
        if let Err(e) = sent {
            tracing::warn!("device signal: {e}");
        }
        let inst = iface.get().await;
        if !internal {
            let _ = inst.devices_changed(emitter).await;
        }
        let _ = inst.all_devices_changed(emitter).await;
    }

    /// Emits PropertiesChanged for the named Device properties.
    async fn device_changed(&self, number: u32, props: &[&str]) {
        let Some(conn) = &self.conn else { return };
        let Ok(iface) = conn
            .object_server()
            .interface::<_, DeviceObject>(netnsd_api::device_path(number))
            .await
        else {
            return;
        };
        let e = iface.signal_emitter();
        let d = iface.get().await;
        for p in props {
            let r = match *p {
                "Interface" => d.interface_changed(e).await,
                "Ifindex" => d.ifindex_changed(e).await,
                "Kind" => d.kind_changed(e).await,
                "HwAddress" => d.hw_address_changed(e).await,
                "Mtu" => d.mtu_changed(e).await,
                "State" => d.state_changed(e).await,
                "Up" => d.up_changed(e).await,
                "Addresses" => d.addresses_changed(e).await,
                "NetworkNamespace" => d.network_namespace_changed(e).await,
                _ => Ok(()),
            };
            if let Err(err) = r {
                tracing::warn!("PropertiesChanged for {p}: {err}");
            }
        }
    }

    async fn wake_waiters(&mut self, ns: u32, name: &str) {
        let (ready, rest): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|w| w.target == ns && w.name == name);
        self.waiters = rest
            .into_iter()
            .filter(|w| w.undo_to.is_some() || !w.tx.is_closed())
            .collect();
        for w in ready {
            match w.undo_to {
                None => {
                    tracing::debug!(device = w.device, ns, name, "device arrived");
                    let _ = w.tx.send(());
                }
                Some(back_to) => self.move_back(w.device, back_to, w.tx).await,
            }
        }
    }

    /// A file open on namespace `ns`, to hand to the kernel for a move.
    pub(super) fn ns_file(&self, ns: &Namespace) -> Result<File, Error> {
        let opened = if ns.number == 0 {
            self.root_ns.try_clone()
        } else {
            File::open(self.run_dir.path_of(&ns.name))
        };
        opened.map_err(|e| Error::Failed(format!("open namespace {:?}: {e}", ns.name)))
    }

    pub(super) async fn take_device(
        &mut self,
        device: u32,
        target: u32,
    ) -> Result<oneshot::Receiver<()>, Error> {
        let (dev, target_ns) = {
            let reg = self.registry.read().unwrap();
            let dev = reg.device(device).cloned().ok_or_else(|| {
                Error::UnknownDevice(format!("no device {}", netnsd_api::device_path(device)))
            })?;
            let ns = reg.by_number(target).cloned().ok_or_else(|| {
                Error::NotFound(format!("no namespace {}", namespace_path(target)))
            })?;
            (dev, ns)
        };
        if dev.in_transit {
            return Err(Error::Busy(format!(
                "device {} is moving between namespaces",
                dev.link.name
            )));
        }
        if dev.ns == target {
            return Err(Error::DeviceAlreadyInTargetNetns(format!(
                "device {} is already in namespace {:?}",
                dev.link.name, target_ns.name
            )));
        }
        if dev.internal() {
            return Err(Error::InvalidArgument(format!(
                "{} is a loopback device, which cannot leave its namespace",
                dev.link.name
            )));
        }
        if self
            .registry
            .read()
            .unwrap()
            .device_named(target, &dev.link.name)
            .is_some()
        {
            return Err(Error::AlreadyExists(format!(
                "namespace {:?} already has a device named {}",
                target_ns.name, dev.link.name
            )));
        }
        let file = self.ns_file(&target_ns)?;
        let platform = self.platforms.get(&dev.ns).cloned().ok_or_else(|| {
            Error::Failed(format!(
                "no netlink connection for the namespace of {}",
                dev.link.name
            ))
        })?;
        let (tx, rx) = oneshot::channel();
        self.waiters.push(Waiter {
            device,
            target,
            name: dev.link.name.clone(),
            tx,
            undo_to: None,
        });
        let moved = netlink::set_netns(&platform.handle, dev.link.ifindex, file.as_fd()).await;
        if let Err(e) = moved {
            self.waiters
                .retain(|w| !(w.device == device && w.target == target));
            let ctx = format!("take {} into {:?}", dev.link.name, target_ns.name);
            return Err(netlink::with_context(e, &ctx));
        }
        tracing::info!(device = %dev.link.name, to = %target_ns.name, "moved device");
        Ok(rx)
    }

    /// A TakeDevice ran out of time: the device goes back to `back_to`, now
    /// if it has arrived, or as soon as it does; `reply` fires once it is
    /// seen back.
    pub(super) async fn undo_take(
        &mut self,
        device: u32,
        back_to: u32,
        reply: oneshot::Sender<()>,
    ) {
        if let Some(w) = self.waiters.iter_mut().find(|w| w.device == device) {
            w.undo_to = Some(back_to);
            w.tx = reply;
            return;
        }
        self.move_back(device, back_to, reply).await;
    }

    async fn move_back(&mut self, device: u32, back_to: u32, reply: oneshot::Sender<()>) {
        let (dev, ns) = {
            let reg = self.registry.read().unwrap();
            (reg.device(device).cloned(), reg.by_number(back_to).cloned())
        };
        let (Some(dev), Some(ns)) = (dev, ns) else {
            return;
        };
        if dev.ns == back_to && !dev.in_transit {
            let _ = reply.send(());
            return;
        }
        let (Ok(file), Some(p)) = (self.ns_file(&ns), self.platforms.get(&dev.ns).cloned()) else {
            return;
        };
        match netlink::set_netns(&p.handle, dev.link.ifindex, file.as_fd()).await {
            Ok(()) => {
                tracing::info!(device = %dev.link.name, to = %ns.name, "moving device back after a timeout");
                self.waiters.push(Waiter {
                    device,
                    target: back_to,
                    name: dev.link.name,
                    tx: reply,
                    undo_to: None,
                });
            }
            Err(e) => {
                tracing::warn!(device = %dev.link.name, "moving back after a timeout: {}", e.message())
            }
        }
    }
}

const ALL_PROPS: [&str; 9] = [
    "Interface",
    "Up",
    "Ifindex",
    "Kind",
    "HwAddress",
    "Mtu",
    "State",
    "Addresses",
    "NetworkNamespace",
];
