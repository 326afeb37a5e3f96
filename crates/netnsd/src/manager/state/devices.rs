//! Devices and their moves: one Device per network device, numbered once
//! and kept across moves between namespaces; the map from (namespace,
//! ifindex) to device; departures seen and not yet matched by an arrival;
//! and the waiters of TakeDevice (and of a VPN's tunnel) for an arrival.
//!
//! A move shows up as an RTM_DELLINK in the old namespace that names the new
//! ifindex, and an RTM_NEWLINK in the new one, on different sockets and in
//! no fixed order. Both orders end with the same device, listed once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use netnsd_api::{Error, device_path};
use tokio::sync::oneshot;
use zbus::wire::{ObjectPath, OwnedObjectPath};

use super::Namespace;
use super::Shared;
use crate::manager::publish::{Change, DeviceProperty};
use crate::netlink::LinkState;

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
        ObjectPath::try_from(device_path(self.number))
            .expect("generated object paths are valid")
            .into()
    }

    /// Loopback and the like: announced with the Internal signals.
    pub fn internal(&self) -> bool {
        self.link.loopback
    }

    /// Its NMDeviceState (`Device.State`), derived from what the kernel
    /// says of it (netnsd_api::state::device::derive).
    pub fn nm_state(&self) -> u32 {
        use netnsd_api::state::device;
        let state = |configured| {
            device::derive(device::Facts {
                operstate: &self.link.state,
                up: self.link.up,
                loopback: self.link.loopback,
                configured,
            })
        };
        // The addresses are parsed only where they decide the state: an
        // address makes the state activated where it would be disconnected
        // without one, and changes nothing else (derive). GetManagedObjects
        // derives it for every device. A bridge's port is configured by its
        // bridge, as NetworkManager activates a port with its controller.
        match state(true) {
            device::ACTIVATED
                if !self.link.port && !self.addresses.iter().any(|a| device::configures(a)) =>
            {
                state(false)
            }
            s => s,
        }
    }
}

/// A device as a namespace's Devices and AllDevices list it
/// ([`DeviceTable::all_listed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    pub ns: u32,
    pub ifindex: u32,
    pub number: u32,
    pub internal: bool,
}

/// The devices, as the bus layer reads them.
#[derive(Debug, Default)]
pub struct DeviceTable {
    devices: BTreeMap<u32, Device>,
    /// The numbers of the devices each namespace holds (in transit or not),
    /// so that reading one namespace's devices does not walk every device
    /// of every namespace (GetManagedObjects reads them all: that walk made
    /// it quadratic in the population).
    by_ns: HashMap<u32, BTreeSet<u32>>,
    /// The numbers of the devices of each name, in every namespace, so that
    /// a new link's look for a namesake elsewhere (a move's arrival seen
    /// before its departure) does not walk every device: that walk, on
    /// every link event, grew with the population.
    by_name: HashMap<String, BTreeSet<u32>>,
}

impl DeviceTable {
    pub fn device(&self, number: u32) -> Option<&Device> {
        self.devices.get(&number)
    }

    /// The devices recorded in namespace `ns`, in transit ones included.
    fn of_ns(&self, ns: u32) -> impl Iterator<Item = &Device> {
        self.by_ns
            .get(&ns)
            .into_iter()
            .flatten()
            .filter_map(|n| self.devices.get(n))
    }

    fn insert(&mut self, dev: Device) {
        self.by_ns.entry(dev.ns).or_default().insert(dev.number);
        self.by_name
            .entry(dev.link.name.clone())
            .or_default()
            .insert(dev.number);
        self.devices.insert(dev.number, dev);
    }

    fn remove(&mut self, number: u32) -> Option<Device> {
        let dev = self.devices.remove(&number)?;
        self.unlist(dev.ns, number);
        self.unname(&dev.link.name, number);
        Some(dev)
    }

    fn unname(&mut self, name: &str, number: u32) {
        if let Some(set) = self.by_name.get_mut(name) {
            set.remove(&number);
            if set.is_empty() {
                self.by_name.remove(name);
            }
        }
    }

    /// Gives device `number` the link state `link`, keeping the name index
    /// right; returns the state it had, and the device.
    fn set_link(&mut self, number: u32, link: LinkState) -> Option<(LinkState, &Device)> {
        let d = self.devices.get_mut(&number)?;
        let old = std::mem::replace(&mut d.link, link);
        if old.name != d.link.name {
            let new = d.link.name.clone();
            self.unname(&old.name, number);
            self.by_name.entry(new).or_default().insert(number);
        }
        self.devices.get(&number).map(|d| (old, d))
    }

    /// Whether a device named `name`, not in transit, is recorded in a
    /// namespace other than `ns`.
    fn named_elsewhere(&self, ns: u32, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|set| {
            set.iter()
                .filter_map(|n| self.devices.get(n))
                .any(|d| d.ns != ns && !d.in_transit)
        })
    }

    fn unlist(&mut self, ns: u32, number: u32) {
        if let Some(set) = self.by_ns.get_mut(&ns) {
            set.remove(&number);
            if set.is_empty() {
                self.by_ns.remove(&ns);
            }
        }
    }

    /// Records device `number` in namespace `ns`; returns it to change more.
    fn move_to(&mut self, number: u32, ns: u32) -> Option<&mut Device> {
        let old = self.devices.get(&number)?.ns;
        if old != ns {
            self.unlist(old, number);
            self.by_ns.entry(ns).or_default().insert(number);
        }
        let d = self.devices.get_mut(&number)?;
        d.ns = ns;
        Some(d)
    }

    /// Devices in namespace `ns`, by ifindex; loopback and the like only if
    /// `internal` is set.
    pub fn device_paths(&self, ns: u32, internal: bool) -> Vec<OwnedObjectPath> {
        self.listed_in(ns, internal)
            .into_iter()
            .map(Device::object_path)
            .collect()
    }

    /// The devices [`device_paths`](Self::device_paths) lists, by ifindex.
    pub fn listed_in(&self, ns: u32, internal: bool) -> Vec<&Device> {
        let mut devs: Vec<&Device> = self
            .of_ns(ns)
            .filter(|d| !d.in_transit && (internal || !d.internal()))
            .collect();
        devs.sort_by_key(|d| d.link.ifindex);
        devs
    }

    /// Every device not in transit, sorted by namespace and, within one, as
    /// [`DeviceTable::listed_in`] orders them: every namespace's device
    /// lists in one walk of the table (GetManagedObjects writes them all).
    pub fn all_listed(&self) -> Vec<Listed> {
        let mut all: Vec<Listed> = self
            .devices
            .values()
            .filter(|d| !d.in_transit)
            .map(|d| Listed {
                ns: d.ns,
                ifindex: d.link.ifindex,
                number: d.number,
                internal: d.internal(),
            })
            .collect();
        all.sort_unstable_by_key(|l| (l.ns, l.ifindex, l.number));
        all
    }

    /// The devices in `ns` that are not loopback, by ifindex.
    pub fn external_in(&self, ns: u32) -> Vec<&Device> {
        let mut devs: Vec<&Device> = self
            .of_ns(ns)
            .filter(|d| !d.in_transit && !d.internal())
            .collect();
        devs.sort_by_key(|d| d.link.ifindex);
        devs
    }

    /// The device in `ns` named `name`.
    pub fn device_named(&self, ns: u32, name: &str) -> Option<&Device> {
        self.of_ns(ns)
            .find(|d| !d.in_transit && d.link.name == name)
    }
}

/// A device seen leaving, not yet seen arriving.
#[derive(Debug)]
struct Moving {
    device: u32,
    /// Which departure this is: a device can leave, arrive and leave again
    /// before the first departure's timer fires.
    seq: u64,
    name: String,
    new_ifindex: u32,
}

/// Someone waiting for a device called `name` to arrive in `target`.
#[derive(Debug)]
pub struct Waiter {
    /// The device moved (u32::MAX: a VPN's tunnel, not a device object).
    pub device: u32,
    pub target: u32,
    pub name: String,
    pub tx: oneshot::Sender<()>,
    /// The caller gave up: on arrival, move the device back here.
    pub undo_to: Option<u32>,
}

/// What seeing a link did.
#[derive(Debug, Default)]
pub struct Seen {
    pub changes: Vec<Change>,
    /// Waiters whose device arrived: to answer (or to move the device back
    /// for) once the changes are published.
    pub arrived: Vec<Waiter>,
    /// Seen while a device of that name is elsewhere: perhaps the arrival
    /// of a move whose departure is not seen yet. Look again a little later.
    pub retry: Option<LinkState>,
}

/// What a link going away did.
#[derive(Debug, PartialEq, Eq)]
pub enum Gone {
    /// Not a device the daemon knows.
    Unknown,
    /// It left for another namespace: unless it arrives, departure `seq`
    /// of `device` expires a little later.
    Departed {
        changes: Vec<Change>,
        device: u32,
        seq: u64,
    },
    /// It was deleted.
    Deleted { changes: Vec<Change> },
}

/// The devices part.
#[derive(Debug, Default)]
pub struct Devices {
    table: Shared<DeviceTable>,
    next: u32,
    /// (namespace number, ifindex) → device number.
    ifindex: HashMap<(u32, u32), u32>,
    moving: Vec<Moving>,
    /// Numbers departures, so a stale timer cannot expire a later move.
    next_move: u64,
    waiters: Vec<Waiter>,
}

impl Devices {
    /// The table, for the bus layer.
    pub fn table(&self) -> Shared<DeviceTable> {
        self.table.clone()
    }

    pub fn get(&self, number: u32) -> Option<Device> {
        self.table.read().device(number).cloned()
    }

    pub fn named(&self, ns: u32, name: &str) -> Option<Device> {
        self.table.read().device_named(ns, name).cloned()
    }

    /// The devices of namespace `ns` (not those in transit).
    pub fn in_ns(&self, ns: u32) -> Vec<Device> {
        self.table
            .read()
            .of_ns(ns)
            .filter(|d| !d.in_transit)
            .cloned()
            .collect()
    }

    /// The device at `ifindex` in namespace `ns`.
    pub fn at(&self, ns: u32, ifindex: u32) -> Option<u32> {
        self.ifindex.get(&(ns, ifindex)).copied()
    }

    /// A link exists in `ns`: update its device, or recognise a device that
    /// moved here, or make a new one. `settled` is false for a live event,
    /// which may be the arrival half of a move whose departure is not seen yet.
    pub fn link_seen(&mut self, ns: u32, link: LinkState, settled: bool) -> Seen {
        if let Some(number) = self.at(ns, link.ifindex) {
            return Seen {
                changes: self.update(number, link),
                ..Seen::default()
            };
        }
        if let Some(pos) = self
            .moving
            .iter()
            .position(|m| m.name == link.name && m.new_ifindex == link.ifindex)
        {
            let mv = self.moving.remove(pos);
            return self.arrive(mv.device, ns, link, Vec::new());
        }
        // The arrival of a device we are moving here ourselves (TakeDevice,
        // or its undo): no need to wait for the departure, which comes on
        // another socket, in no fixed order.
        if let Some(number) = self.expected_arrival(ns, &link) {
            return self.arrive_early(number, ns, link);
        }
        if !settled && self.table.read().named_elsewhere(ns, &link.name) {
            return Seen {
                retry: Some(link),
                ..Seen::default()
            };
        }
        self.new_device(ns, link)
    }

    /// A link went away from `ns`: moved (the message names its new
    /// ifindex) or deleted.
    pub fn link_gone(&mut self, ns: u32, link: LinkState) -> Gone {
        let Some(number) = self.ifindex.remove(&(ns, link.ifindex)) else {
            return Gone::Unknown;
        };
        match link.moved_to_ifindex {
            Some(new_ifindex) => {
                let internal = {
                    let mut t = self.table.write();
                    t.devices.get_mut(&number).map(|d| {
                        d.in_transit = true;
                        d.internal()
                    })
                };
                let seq = self.next_move;
                self.next_move += 1;
                self.moving.push(Moving {
                    device: number,
                    seq,
                    name: link.name,
                    new_ifindex,
                });
                let changes = internal
                    .map(|internal| Change::DeviceListed {
                        device: number,
                        ns,
                        internal,
                        listed: false,
                    })
                    .into_iter()
                    .collect();
                Gone::Departed {
                    changes,
                    device: number,
                    seq,
                }
            }
            None => Gone::Deleted {
                changes: self.drop(number),
            },
        }
    }

    /// Departure `seq` of `number` was never matched by an arrival: the
    /// device went somewhere the daemon does not see.
    pub fn expire_move(&mut self, number: u32, seq: u64) -> Vec<Change> {
        let Some(pos) = self
            .moving
            .iter()
            .position(|m| m.device == number && m.seq == seq)
        else {
            return Vec::new();
        };
        self.moving.remove(pos);
        tracing::debug!(number, "device left for a namespace netnsd does not know");
        self.drop(number)
    }

    /// An address appeared on (`present`) or went from a device.
    pub fn address_seen(
        &mut self,
        ns: u32,
        ifindex: u32,
        address: String,
        present: bool,
    ) -> Vec<Change> {
        let Some(number) = self.at(ns, ifindex) else {
            return Vec::new();
        };
        let (changed, state_changed) = {
            let mut t = self.table.write();
            let Some(d) = t.devices.get_mut(&number) else {
                return Vec::new();
            };
            let before = d.nm_state();
            let changed = if present {
                d.addresses.insert(address)
            } else {
                d.addresses.remove(&address)
            };
            (changed, d.nm_state() != before)
        };
        if !changed {
            return Vec::new();
        }
        let mut props = vec![DeviceProperty::Addresses];
        if state_changed {
            props.push(DeviceProperty::State);
        }
        vec![Change::DeviceChanged {
            device: number,
            props,
        }]
    }

    /// Takes a device out of the table.
    pub fn drop(&mut self, number: u32) -> Vec<Change> {
        let Some(dev) = self.table.write().remove(number) else {
            return Vec::new();
        };
        // Its entry, if it has one (none while in transit): the map is
        // kept in step with the table, so no walk of it is needed.
        let key = (dev.ns, dev.link.ifindex);
        if self.ifindex.get(&key) == Some(&number) {
            self.ifindex.remove(&key);
        }
        debug_assert!(self.ifindex.values().all(|n| *n != number));
        self.moving.retain(|m| m.device != number);
        vec![Change::DeviceRemoved {
            device: number,
            listed_in: (!dev.in_transit).then_some(dev.ns),
            internal: dev.internal(),
        }]
    }

    /// Takes out every device of a namespace that is going away.
    pub fn drop_all_in(&mut self, ns: u32) -> Vec<Change> {
        let numbers: Vec<u32> = self
            .table
            .read()
            .of_ns(ns)
            .filter(|d| !d.in_transit)
            .map(|d| d.number)
            .collect();
        numbers.into_iter().flat_map(|n| self.drop(n)).collect()
    }

    /// Whether device `dev` may be taken into namespace `target`.
    pub fn check_take(&self, dev: &Device, target: &Namespace) -> Result<(), Error> {
        if dev.in_transit {
            return Err(Error::Busy(format!(
                "device {} is moving between namespaces",
                dev.link.name
            )));
        }
        if dev.ns == target.number {
            return Err(Error::DeviceAlreadyInTargetNetns(format!(
                "device {} is already in namespace {:?}",
                dev.link.name, target.name
            )));
        }
        if dev.internal() {
            return Err(Error::InvalidArgument(format!(
                "{} is a loopback device, which cannot leave its namespace",
                dev.link.name
            )));
        }
        if self.named(target.number, &dev.link.name).is_some() {
            return Err(Error::AlreadyExists(format!(
                "namespace {:?} already has a device named {}",
                target.name, dev.link.name
            )));
        }
        Ok(())
    }

    /// Waits for a device to arrive.
    pub fn expect(&mut self, w: Waiter) {
        self.waiters.push(w);
    }

    /// The move of `device` into `target` failed: nobody waits for it.
    pub fn cancel(&mut self, device: u32, target: u32) {
        self.waiters
            .retain(|w| !(w.device == device && w.target == target));
    }

    /// A TakeDevice ran out of time. If the device has not arrived yet, it
    /// is moved back to `back_to` on arrival and `reply` fires once it is
    /// back; otherwise `reply` is handed back, to move it back now.
    pub fn undo(
        &mut self,
        device: u32,
        back_to: u32,
        reply: oneshot::Sender<()>,
    ) -> Option<oneshot::Sender<()>> {
        match self.waiters.iter_mut().find(|w| w.device == device) {
            Some(w) => {
                w.undo_to = Some(back_to);
                w.tx = reply;
                None
            }
            None => Some(reply),
        }
    }

    /// The device a waiter expects to arrive in `ns` under this name, if it
    /// is still recorded where it came from (its departure not seen yet).
    fn expected_arrival(&self, ns: u32, link: &LinkState) -> Option<u32> {
        let t = self.table.read();
        self.waiters
            .iter()
            .filter(|w| w.target == ns && w.name == link.name)
            .map(|w| w.device)
            .find(|n| {
                t.devices
                    .get(n)
                    .is_some_and(|d| d.ns != ns && !d.in_transit && d.link.kind == link.kind)
            })
    }

    /// A moved device's arrival, handled before its departure: the
    /// departure is done here, and its RTM_DELLINK will find nothing left.
    fn arrive_early(&mut self, number: u32, ns: u32, link: LinkState) -> Seen {
        let from = self
            .table
            .read()
            .devices
            .get(&number)
            .map(|d| (d.ns, d.link.ifindex, d.internal()));
        let mut changes = Vec::new();
        if let Some((from_ns, from_ifindex, internal)) = from {
            self.ifindex.remove(&(from_ns, from_ifindex));
            changes.push(Change::DeviceListed {
                device: number,
                ns: from_ns,
                internal,
                listed: false,
            });
        }
        self.arrive(number, ns, link, changes)
    }

    fn new_device(&mut self, ns: u32, link: LinkState) -> Seen {
        let number = self.next;
        self.next += 1;
        let dev = Device {
            number,
            ns,
            link,
            addresses: Default::default(),
            in_transit: false,
        };
        self.ifindex.insert((ns, dev.link.ifindex), number);
        let (name, internal) = (dev.link.name.clone(), dev.internal());
        self.table.write().insert(dev);
        Seen {
            changes: vec![Change::DeviceAdded {
                device: number,
                ns,
                internal,
            }],
            arrived: self.arrived(ns, &name),
            retry: None,
        }
    }

    fn arrive(&mut self, number: u32, ns: u32, link: LinkState, mut changes: Vec<Change>) -> Seen {
        tracing::debug!(number, ns, name = %link.name, "device moved");
        self.ifindex.insert((ns, link.ifindex), number);
        let name = link.name.clone();
        let internal = {
            let mut t = self.table.write();
            t.set_link(number, link);
            t.move_to(number, ns).map(|d| {
                d.addresses.clear();
                d.in_transit = false;
                d.internal()
            })
        };
        if let Some(internal) = internal {
            changes.push(Change::DeviceChanged {
                device: number,
                props: DeviceProperty::ALL.to_vec(),
            });
            changes.push(Change::DeviceListed {
                device: number,
                ns,
                internal,
                listed: true,
            });
        }
        Seen {
            changes,
            arrived: self.arrived(ns, &name),
            retry: None,
        }
    }

    fn update(&mut self, number: u32, link: LinkState) -> Vec<Change> {
        let mut t = self.table.write();
        let Some(old_state) = t.devices.get(&number).map(Device::nm_state) else {
            return Vec::new();
        };
        let Some((old, d)) = t.set_link(number, link) else {
            return Vec::new();
        };
        let new_state = d.nm_state();
        let new = &d.link;
        let mut props = Vec::new();
        if old.name != new.name {
            props.push(DeviceProperty::Interface);
        }
        if old.kind != new.kind {
            props.push(DeviceProperty::Kind);
        }
        if old.hw_address != new.hw_address {
            props.push(DeviceProperty::HwAddress);
        }
        if old.mtu != new.mtu {
            props.push(DeviceProperty::Mtu);
        }
        if old.state != new.state {
            props.push(DeviceProperty::OperState);
        }
        if old_state != new_state {
            props.push(DeviceProperty::State);
        }
        if old.up != new.up {
            props.push(DeviceProperty::Up);
        }
        if props.is_empty() {
            return Vec::new();
        }
        vec![Change::DeviceChanged {
            device: number,
            props,
        }]
    }

    /// The waiters for `name` in `ns`, which has arrived; waiters whose
    /// caller went away are forgotten.
    fn arrived(&mut self, ns: u32, name: &str) -> Vec<Waiter> {
        let (ready, rest): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|w| w.target == ns && w.name == name);
        self.waiters = rest
            .into_iter()
            .filter(|w| w.undo_to.is_some() || !w.tx.is_closed())
            .collect();
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netnsd_api::state::device as ds;

    fn link(ifindex: u32, name: &str) -> LinkState {
        LinkState {
            ifindex,
            name: name.into(),
            kind: "veth".into(),
            mtu: 1500,
            state: "up".into(),
            up: true,
            ..Default::default()
        }
    }

    fn moved(mut l: LinkState, to: u32) -> LinkState {
        l.moved_to_ifindex = Some(to);
        l
    }

    fn added(device: u32, ns: u32) -> Change {
        Change::DeviceAdded {
            device,
            ns,
            internal: false,
        }
    }

    fn listed(device: u32, ns: u32, listed: bool) -> Change {
        Change::DeviceListed {
            device,
            ns,
            internal: false,
            listed,
        }
    }

    fn all_changed(device: u32) -> Change {
        Change::DeviceChanged {
            device,
            props: DeviceProperty::ALL.to_vec(),
        }
    }

    fn waiter(device: u32, target: u32, name: &str) -> (Waiter, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let w = Waiter {
            device,
            target,
            name: name.into(),
            tx,
            undo_to: None,
        };
        (w, rx)
    }

    #[test]
    fn a_new_link_is_a_new_device_and_loopback_is_internal() {
        let mut d = Devices::default();
        let mut lo = link(1, "lo");
        lo.loopback = true;
        let seen = d.link_seen(0, lo, true);
        assert_eq!(
            seen.changes,
            [Change::DeviceAdded {
                device: 0,
                ns: 0,
                internal: true
            }]
        );
        assert_eq!(d.link_seen(0, link(2, "eth0"), true).changes, [added(1, 0)]);
        let t = d.table();
        assert_eq!(t.read().device_paths(0, false).len(), 1);
        assert_eq!(t.read().device_paths(0, true).len(), 2);
        assert_eq!(d.at(0, 2), Some(1));
    }

    #[test]
    fn the_state_is_derived_as_from_every_address() {
        use netnsd_api::state::device;
        let addresses: [&[&str]; 4] = [
            &[],
            &["fe80::1/64"],
            &["10.0.0.1/24", "fe80::1/64"],
            &["fd00::1/64"],
        ];
        for operstate in ["up", "unknown", "down", "lowerlayerdown", "dormant"] {
            for (up, loopback) in [(true, false), (false, false), (true, true)] {
                for a in addresses {
                    for port in [false, true] {
                        let mut l = link(2, "x");
                        (l.state, l.up, l.loopback, l.port) =
                            (operstate.into(), up, loopback, port);
                        let d = Device {
                            number: 0,
                            ns: 0,
                            link: l,
                            addresses: a.iter().map(|s| s.to_string()).collect(),
                            in_transit: false,
                        };
                        let eager = device::derive(device::Facts {
                            operstate,
                            up,
                            loopback,
                            configured: port || a.iter().any(|a| device::configures(a)),
                        });
                        assert_eq!(
                            d.nm_state(),
                            eager,
                            "{operstate} {up} {loopback} {a:?} port {port}"
                        );
                    }
                }
            }
        }
        // A bridge's port, up with a carrier and no address, is activated.
        let mut l = link(2, "nsu0");
        l.port = true;
        let d = Device {
            number: 0,
            ns: 0,
            link: l,
            addresses: Default::default(),
            in_transit: false,
        };
        assert_eq!(d.nm_state(), device::ACTIVATED);
    }

    #[test]
    fn all_listed_gives_every_namespaces_lists_in_one_walk() {
        let mut d = Devices::default();
        let mut lo = link(1, "lo");
        lo.loopback = true;
        d.link_seen(3, lo.clone(), true);
        d.link_seen(3, link(7, "b"), true);
        d.link_seen(3, link(4, "a"), true);
        d.link_seen(0, lo, true);
        d.link_seen(0, link(9, "host"), true);
        d.link_seen(0, link(5, "moving"), true);
        d.link_gone(0, moved(link(5, "moving"), 2));
        let t = d.table();
        let t = t.read();
        let all = t.all_listed();
        assert_eq!(all.len(), 5, "the one in transit is not listed");
        for ns in [0, 3] {
            for internal in [false, true] {
                let own: Vec<u32> = all
                    .iter()
                    .filter(|l| l.ns == ns && (internal || !l.internal))
                    .map(|l| l.number)
                    .collect();
                let expected: Vec<u32> =
                    t.listed_in(ns, internal).iter().map(|d| d.number).collect();
                assert_eq!(own, expected, "namespace {ns}, internal {internal}");
            }
        }
        assert!(all.windows(2).all(|w| w[0].ns <= w[1].ns));
    }

    #[test]
    fn changes_name_only_the_properties_that_changed() {
        let mut d = Devices::default();
        d.link_seen(0, link(2, "eth0"), true);
        assert!(d.link_seen(0, link(2, "eth0"), false).changes.is_empty());
        let mut l = link(2, "wan");
        l.mtu = 9000;
        assert_eq!(
            d.link_seen(0, l, false).changes,
            [Change::DeviceChanged {
                device: 0,
                props: vec![DeviceProperty::Interface, DeviceProperty::Mtu]
            }]
        );
        let addr = || "10.0.0.1/24".to_string();
        // Up with a carrier: its first address makes it activated (State
        // follows), the last one gone disconnected again.
        let addresses = Change::DeviceChanged {
            device: 0,
            props: vec![DeviceProperty::Addresses, DeviceProperty::State],
        };
        assert_eq!(d.get(0).unwrap().nm_state(), ds::DISCONNECTED);
        assert_eq!(d.address_seen(0, 2, addr(), true), vec![addresses.clone()]);
        assert_eq!(d.get(0).unwrap().nm_state(), ds::ACTIVATED);
        assert_eq!(d.address_seen(0, 2, addr(), true), []);
        assert_eq!(d.address_seen(0, 9, addr(), true), []);
        let link_local = Change::DeviceChanged {
            device: 0,
            props: vec![DeviceProperty::Addresses],
        };
        assert_eq!(
            d.address_seen(0, 2, "fe80::1/64".into(), true),
            std::slice::from_ref(&link_local)
        );
        assert_eq!(d.address_seen(0, 2, addr(), false), [addresses]);
        assert_eq!(
            d.address_seen(0, 2, "fe80::1/64".into(), false),
            [link_local]
        );
        assert_eq!(d.get(0).unwrap().nm_state(), ds::DISCONNECTED);
        // Its carrier lost: OperState and State both change.
        let mut l = link(2, "wan");
        l.mtu = 9000;
        l.state = "lowerlayerdown".into();
        assert_eq!(
            d.link_seen(0, l, false).changes,
            [Change::DeviceChanged {
                device: 0,
                props: vec![DeviceProperty::OperState, DeviceProperty::State]
            }]
        );
        assert_eq!(d.get(0).unwrap().nm_state(), ds::UNAVAILABLE);
    }

    #[test]
    fn a_move_seen_departure_first_keeps_the_device() {
        let mut d = Devices::default();
        d.link_seen(0, link(5, "veth1"), true);
        let gone = d.link_gone(0, moved(link(5, "veth1"), 2));
        assert_eq!(
            gone,
            Gone::Departed {
                changes: vec![listed(0, 0, false)],
                device: 0,
                seq: 0
            }
        );
        assert!(d.get(0).unwrap().in_transit);
        assert!(d.table().read().device_paths(0, true).is_empty());
        let seen = d.link_seen(1, link(2, "veth1"), false);
        assert_eq!(seen.changes, [all_changed(0), listed(0, 1, true)]);
        let dev = d.get(0).unwrap();
        assert_eq!((dev.ns, dev.link.ifindex, dev.in_transit), (1, 2, false));
        // The departure's timer finds nothing to expire.
        assert_eq!(d.expire_move(0, 0), []);
    }

    #[test]
    fn an_arrival_before_its_departure_waits_for_it() {
        let mut d = Devices::default();
        d.link_seen(0, link(5, "veth1"), true);
        let seen = d.link_seen(1, link(2, "veth1"), false);
        assert!(seen.changes.is_empty());
        assert_eq!(seen.retry, Some(link(2, "veth1")));
        let gone = d.link_gone(0, moved(link(5, "veth1"), 2));
        assert!(matches!(gone, Gone::Departed { device: 0, .. }));
        let again = d.link_seen(1, seen.retry.unwrap(), true);
        assert_eq!(again.changes, [all_changed(0), listed(0, 1, true)]);
    }

    #[test]
    fn a_namesake_elsewhere_follows_renames_and_removals() {
        let mut d = Devices::default();
        d.link_seen(0, link(5, "veth1"), true);
        // Renamed in place: its old name no longer holds an arrival back.
        d.link_seen(0, link(5, "up0"), true);
        let seen = d.link_seen(1, link(2, "veth1"), false);
        assert_eq!(seen.changes, [added(1, 1)]);
        assert!(seen.retry.is_none());
        // Its new name does, in another namespace only.
        let seen = d.link_seen(2, link(3, "up0"), false);
        assert_eq!(seen.retry, Some(link(3, "up0")));
        assert!(!d.table().read().named_elsewhere(0, "up0"));
        // Deleted: neither its name nor its ifindex is left behind.
        assert!(matches!(
            d.link_gone(0, link(5, "up0")),
            Gone::Deleted { .. }
        ));
        assert!(!d.table().read().named_elsewhere(2, "up0"));
        assert_eq!(d.at(0, 5), None);
        let seen = d.link_seen(2, link(3, "up0"), false);
        assert_eq!(seen.changes, [added(2, 2)]);
    }

    #[test]
    fn a_device_dropped_leaves_no_ifindex_entry() {
        let mut d = Devices::default();
        d.link_seen(0, link(5, "veth1"), true);
        d.link_seen(1, link(5, "veth2"), true);
        d.drop(0);
        assert_eq!(d.at(0, 5), None);
        assert_eq!(d.at(1, 5), Some(1));
        // A device moved keeps one entry, at its new place, and loses it
        // when dropped there.
        d.link_gone(1, moved(link(5, "veth2"), 7));
        d.link_seen(2, link(7, "veth2"), false);
        assert_eq!(d.at(2, 7), Some(1));
        d.drop(1);
        assert_eq!((d.at(1, 5), d.at(2, 7)), (None, None));
    }

    #[test]
    fn a_departure_never_matched_expires() {
        let mut d = Devices::default();
        d.link_seen(0, link(5, "veth1"), true);
        let Gone::Departed { device, seq, .. } = d.link_gone(0, moved(link(5, "veth1"), 2)) else {
            panic!("not a departure");
        };
        assert_eq!(d.expire_move(device, seq + 1), []);
        assert_eq!(
            d.expire_move(device, seq),
            [Change::DeviceRemoved {
                device: 0,
                listed_in: None,
                internal: false
            }]
        );
        assert!(d.get(0).is_none());
    }

    #[test]
    fn a_deleted_link_removes_its_device() {
        let mut d = Devices::default();
        d.link_seen(3, link(5, "veth1"), true);
        assert_eq!(
            d.link_gone(3, link(5, "veth1")),
            Gone::Deleted {
                changes: vec![Change::DeviceRemoved {
                    device: 0,
                    listed_in: Some(3),
                    internal: false
                }]
            }
        );
        assert_eq!(d.link_gone(3, link(5, "veth1")), Gone::Unknown);
        assert_eq!(d.at(3, 5), None);
    }

    #[test]
    fn a_taken_device_arrives_early_and_answers_its_waiter() {
        let mut d = Devices::default();
        d.link_seen(0, link(5, "veth1"), true);
        let (w, mut rx) = waiter(0, 1, "veth1");
        d.expect(w);
        let seen = d.link_seen(1, link(2, "veth1"), false);
        assert_eq!(
            seen.changes,
            [listed(0, 0, false), all_changed(0), listed(0, 1, true)]
        );
        assert_eq!(seen.arrived.len(), 1);
        assert!(
            rx.try_recv().is_err(),
            "answered by the manager, after publishing"
        );
        // Its departure, seen afterwards, finds nothing left.
        assert_eq!(d.link_gone(0, moved(link(5, "veth1"), 2)), Gone::Unknown);
        assert_eq!(d.get(0).unwrap().ns, 1);
    }

    #[test]
    fn waiters_whose_caller_left_are_forgotten() {
        let mut d = Devices::default();
        let (w, rx) = waiter(u32::MAX, 1, "nsvpn0");
        d.expect(w);
        drop(rx);
        d.link_seen(1, link(4, "other"), true);
        assert!(d.link_seen(1, link(5, "nsvpn0"), true).arrived.is_empty());
    }

    #[test]
    fn an_undo_before_arrival_is_kept_with_the_waiter() {
        let mut d = Devices::default();
        d.link_seen(0, link(5, "veth1"), true);
        let (w, _rx) = waiter(0, 1, "veth1");
        d.expect(w);
        let (back, _back_rx) = oneshot::channel();
        assert!(d.undo(0, 0, back).is_none());
        let seen = d.link_seen(1, link(2, "veth1"), false);
        assert_eq!(seen.arrived[0].undo_to, Some(0));
        // With nobody waiting, the undo is the caller's to do now.
        let (back, _back_rx) = oneshot::channel();
        assert!(d.undo(0, 0, back).is_some());
    }

    #[test]
    fn a_failed_move_cancels_its_waiter() {
        let mut d = Devices::default();
        let (w, _rx) = waiter(0, 1, "veth1");
        d.expect(w);
        d.cancel(0, 1);
        assert!(d.link_seen(1, link(2, "veth1"), true).arrived.is_empty());
    }

    #[test]
    fn take_is_refused_for_what_cannot_move() {
        let mut d = Devices::default();
        let mut lo = link(1, "lo");
        lo.loopback = true;
        d.link_seen(0, lo, true);
        d.link_seen(0, link(2, "veth1"), true);
        d.link_seen(1, link(2, "veth1"), true);
        let root = Namespace::new(0, "rootns".into(), 1, String::new(), true, false);
        let other = Namespace::new(1, "other".into(), 2, String::new(), true, true);
        let loopback = d.get(0).unwrap();
        assert!(matches!(
            d.check_take(&loopback, &other),
            Err(Error::InvalidArgument(_))
        ));
        let veth = d.get(1).unwrap();
        assert!(matches!(
            d.check_take(&veth, &root),
            Err(Error::DeviceAlreadyInTargetNetns(_))
        ));
        assert!(matches!(
            d.check_take(&veth, &other),
            Err(Error::AlreadyExists(_))
        ));
        d.link_gone(1, link(2, "veth1"));
        assert!(d.check_take(&veth, &other).is_ok());
        d.link_gone(0, moved(link(2, "veth1"), 3));
        let leaving = d.get(1).unwrap();
        assert!(matches!(
            d.check_take(&leaving, &other),
            Err(Error::Busy(_))
        ));
    }

    #[test]
    fn a_namespace_going_drops_its_devices() {
        let mut d = Devices::default();
        d.link_seen(1, link(1, "a"), true);
        d.link_seen(1, link(2, "b"), true);
        d.link_seen(2, link(1, "c"), true);
        let changes = d.drop_all_in(1);
        assert_eq!(changes.len(), 2);
        assert!(d.get(0).is_none() && d.get(1).is_none() && d.get(2).is_some());
    }
}
