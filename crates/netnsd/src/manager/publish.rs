//! What the manager tells the world: every change to its state, as a typed
//! [`Change`], handed to a [`Publisher`] that the manager's side defines.
//! The bus layer (`dbus/publish.rs`) is the publisher the daemon runs
//! with, and the only code that exports objects or emits signals; unit tests
//! use a [`Recorder`].
//!
//! A change is published, and the publish awaited, before any reply that
//! names its object: the object is on the bus by then. Changes are published
//! in the order they happen, which is the order of the signals.

#[cfg(test)]
use std::sync::Mutex;

use futures::future::BoxFuture;

use super::Namespace;

/// A property of a Device object that can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceProperty {
    Interface,
    Up,
    Ifindex,
    Kind,
    HwAddress,
    Mtu,
    /// NMDeviceState, derived (it follows OperState, Up and Addresses).
    State,
    /// The kernel's operational state.
    OperState,
    Addresses,
    NetworkNamespace,
}

impl DeviceProperty {
    /// All of them, in the order a device that moved announces them.
    pub const ALL: [DeviceProperty; 10] = [
        DeviceProperty::Interface,
        DeviceProperty::Up,
        DeviceProperty::Ifindex,
        DeviceProperty::Kind,
        DeviceProperty::HwAddress,
        DeviceProperty::Mtu,
        DeviceProperty::State,
        DeviceProperty::OperState,
        DeviceProperty::Addresses,
        DeviceProperty::NetworkNamespace,
    ];
}

/// A property of a NetNsInstance object that can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceProperty {
    Uplink,
    DnsServers,
    ActiveConnections,
    PrimaryConnection,
    PrimaryConnectionType,
    ActivatingConnection,
}

impl InstanceProperty {
    /// The properties that follow the namespace's active connections.
    pub const CONNECTIONS: [InstanceProperty; 4] = [
        InstanceProperty::ActiveConnections,
        InstanceProperty::PrimaryConnection,
        InstanceProperty::PrimaryConnectionType,
        InstanceProperty::ActivatingConnection,
    ];
}

/// One change to the manager's state that the world should see. Objects are
/// named by their numbers; their current state is in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A namespace found at start: its object goes on the bus, unannounced.
    NamespaceFound(Namespace),
    /// A namespace made or adopted: its object appears, and is announced.
    NamespaceAdded(Namespace),
    /// A namespace went away: its object goes, and that is announced.
    NamespaceRemoved(Namespace),
    /// A NetNsInstance property of namespace `ns` changed.
    InstanceChanged { ns: u32, prop: InstanceProperty },
    /// A process started with Spawn in namespace `ns` ended.
    ProcessExited { ns: u32, pid: u32, status: i32 },
    /// A new device, in namespace `ns`: its object appears, and it joins
    /// the namespace's device lists.
    DeviceAdded {
        device: u32,
        ns: u32,
        internal: bool,
    },
    /// A device joined (`listed`) or left namespace `ns`'s device lists
    /// while its object stays: it moved.
    DeviceListed {
        device: u32,
        ns: u32,
        internal: bool,
        listed: bool,
    },
    /// Device properties changed.
    DeviceChanged {
        device: u32,
        props: Vec<DeviceProperty>,
    },
    /// A device went away: it leaves the lists of `listed_in` (None: it
    /// left them already, when it was seen leaving), then its object goes.
    DeviceRemoved {
        device: u32,
        listed_in: Option<u32>,
        internal: bool,
    },
    /// An active connection's object appears.
    ActiveAdded(u32),
    /// An active connection's state (`state`), VPN state (`vpn_state`), or
    /// both changed, for `reason`.
    ActiveStateChanged {
        active: u32,
        state: Option<u32>,
        vpn_state: Option<u32>,
        reason: u32,
    },
    /// An active connection's object goes.
    ActiveRemoved(u32),
    /// A profile loaded at start: its object goes on the bus, unannounced.
    ProfileFound(u32),
    /// A new profile: its object appears, and is announced.
    ProfileAdded(u32),
    /// A profile's settings changed.
    ProfileUpdated(u32),
    /// A profile was deleted: announced, then its object goes.
    ProfileRemoved(u32),
}

/// Where the manager's changes go.
pub trait Publisher: Send + Sync {
    /// Makes `change` visible; done when the future is.
    fn publish(&self, change: Change) -> BoxFuture<'_, ()>;

    /// Makes the changes of one call visible, in order, once the call is
    /// done: by default one after another. A publisher may leave out what
    /// the batch itself makes redundant (the bus: see [`coalesce`]).
    fn publish_batch(&self, changes: Vec<Change>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for c in changes {
                self.publish(c).await;
            }
        })
    }
}

/// Drops, from a batch of changes, the property changes of the namespaces
/// and devices the batch adds (objects are exported from the registry's current state, which
/// already holds those changes).
pub fn coalesce(changes: &mut Vec<Change>) {
    let mut namespaces = std::collections::HashSet::new();
    let mut devices = std::collections::HashSet::new();
    changes.retain(|c| match c {
        Change::NamespaceAdded(ns) => {
            namespaces.insert(ns.number);
            true
        }
        Change::DeviceAdded { device, .. } => {
            devices.insert(*device);
            true
        }
        Change::InstanceChanged { ns, .. } => !namespaces.contains(ns),
        Change::DeviceChanged { device, .. } => !devices.contains(device),
        _ => true,
    });
}

/// Drops every change: the manager's publisher until it is attached to
/// the bus (nothing is published before that).
pub struct Unattached;

impl Publisher for Unattached {
    fn publish(&self, _: Change) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Keeps every change, in order (for tests of the manager's parts).
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Recorder(Mutex<Vec<Change>>);

#[cfg(test)]
impl Recorder {
    /// The changes published since the last call.
    pub fn take(&self) -> Vec<Change> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

#[cfg(test)]
impl Publisher for Recorder {
    fn publish(&self, change: Change) -> BoxFuture<'_, ()> {
        self.0.lock().unwrap().push(change);
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorder_keeps_changes_in_order() {
        let r = Recorder::default();
        futures::executor::block_on(async {
            r.publish(Change::ActiveAdded(1)).await;
            r.publish(Change::ActiveRemoved(1)).await;
        });
        assert_eq!(r.take(), [Change::ActiveAdded(1), Change::ActiveRemoved(1)]);
        assert!(r.take().is_empty());
    }
}

#[cfg(test)]
mod coalesce_tests {
    use super::*;

    fn kinds(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| {
                format!("{c:?}")
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn a_held_batch_drops_the_property_changes_of_what_it_adds_and_nothing_else() {
        let ns = Namespace::new(7, "a".into(), 1, "/run/netns/a".into(), true, true);
        let mut changes = vec![
            // Of another namespace, before: kept.
            Change::InstanceChanged {
                ns: 3,
                prop: InstanceProperty::Uplink,
            },
            Change::NamespaceAdded(ns),
            Change::DeviceAdded {
                device: 11,
                ns: 7,
                internal: true,
            },
            Change::DeviceChanged {
                device: 11,
                props: vec![DeviceProperty::Addresses],
            },
            Change::InstanceChanged {
                ns: 7,
                prop: InstanceProperty::Uplink,
            },
            Change::InstanceChanged {
                ns: 7,
                prop: InstanceProperty::DnsServers,
            },
            // Of a device the batch did not add: kept.
            Change::DeviceChanged {
                device: 2,
                props: vec![DeviceProperty::Up],
            },
        ];
        coalesce(&mut changes);
        assert_eq!(
            kinds(&changes),
            [
                "InstanceChanged",
                "NamespaceAdded",
                "DeviceAdded",
                "DeviceChanged"
            ]
        );
        assert!(matches!(changes[0], Change::InstanceChanged { ns: 3, .. }));
        assert!(matches!(
            changes[3],
            Change::DeviceChanged { device: 2, .. }
        ));
    }
}
