//! Active connections: one ActiveInfo per activation, numbered as
//! NetworkManager numbers them, with its state and VPN state. A transition
//! announces the states that changed and the connection properties of the
//! namespaces the connection touches.

use std::collections::BTreeMap;

use netnsd_api::active_path;
use netnsd_api::state::{active as st, reason, vpn as vs};
use zbus::wire::{ObjectPath, OwnedObjectPath};

use super::Shared;
use crate::manager::publish::{Change, InstanceProperty};

/// An active connection as the bus sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveInfo {
    pub number: u32,
    /// The profile's object number.
    pub profile: u32,
    pub id: String,
    pub uuid: String,
    pub kind: String,
    pub vpn: bool,
    pub state: u32,
    pub vpn_state: u32,
    pub reason: u32,
    /// Where the client runs.
    pub uplink_ns: u32,
    /// Where the tunnel is (the isolated namespace once it is there).
    pub ns: u32,
    pub banner: String,
}

impl ActiveInfo {
    pub fn object_path(&self) -> OwnedObjectPath {
        ObjectPath::try_from(active_path(self.number))
            .expect("valid path")
            .into()
    }
}

/// Active connections, by object number.
pub type ActiveTable = BTreeMap<u32, ActiveInfo>;

/// The active connections part.
#[derive(Debug, Default)]
pub struct Actives {
    table: Shared<ActiveTable>,
    next: u32,
}

impl Actives {
    /// The table, for the bus layer.
    pub fn table(&self) -> Shared<ActiveTable> {
        self.table.clone()
    }

    /// The number the next activation gets.
    pub fn next_number(&self) -> u32 {
        self.next
    }

    /// The next activation goes ahead: its number is taken.
    pub fn take_number(&mut self) -> u32 {
        let n = self.next;
        self.next += 1;
        n
    }

    pub fn get(&self, n: u32) -> Option<ActiveInfo> {
        self.table.read().get(&n).cloned()
    }

    /// The activation of `profile` that is not deactivated yet.
    pub fn live_of_profile(&self, profile: u32) -> Option<ActiveInfo> {
        self.table
            .read()
            .values()
            .find(|a| a.profile == profile && a.state < st::DEACTIVATED)
            .cloned()
    }

    /// The numbers of the activations not deactivated yet.
    pub fn live(&self) -> Vec<u32> {
        self.table
            .read()
            .values()
            .filter(|a| a.state < st::DEACTIVATED)
            .map(|a| a.number)
            .collect()
    }

    /// The numbers of every activation of `profile`.
    pub fn of_profile(&self, profile: u32) -> Vec<u32> {
        self.table
            .read()
            .values()
            .filter(|a| a.profile == profile)
            .map(|a| a.number)
            .collect()
    }

    /// A new activation: its object appears.
    pub fn add(&mut self, info: ActiveInfo) -> Vec<Change> {
        let n = info.number;
        self.table.write().insert(n, info);
        vec![Change::ActiveAdded(n)]
    }

    /// The tunnel of `n` is in namespace `ns` now (announced with the next
    /// state change).
    pub fn set_ns(&mut self, n: u32, ns: u32) {
        if let Some(a) = self.table.write().get_mut(&n) {
            a.ns = ns;
        }
    }

    pub fn set_banner(&mut self, n: u32, banner: String) {
        if let Some(a) = self.table.write().get_mut(&n) {
            a.banner = banner;
        }
    }

    /// Moves `n` to new states (None: unchanged) for `why`.
    pub fn transition(
        &mut self,
        n: u32,
        state: Option<u32>,
        vpn_state: Option<u32>,
        why: u32,
    ) -> Vec<Change> {
        let before = {
            let mut t = self.table.write();
            let Some(a) = t.get_mut(&n) else {
                return Vec::new();
            };
            let before = a.clone();
            if let Some(s) = state {
                a.state = s;
            }
            if let Some(v) = vpn_state {
                a.vpn_state = v;
            }
            a.reason = why;
            before
        };
        tracing::info!(
            id = %before.id,
            state = st::name(state.unwrap_or(before.state)),
            vpn_state = vs::name(vpn_state.unwrap_or(before.vpn_state)),
            reason = reason::name(why),
            "connection state"
        );
        let mut changes = Vec::new();
        let state = state.filter(|s| *s != before.state);
        let vpn_state = vpn_state.filter(|v| *v != before.vpn_state);
        if state.is_some() || vpn_state.is_some() {
            changes.push(Change::ActiveStateChanged {
                active: n,
                state,
                vpn_state,
                reason: why,
            });
        }
        changes.extend(connections_changed(before.uplink_ns));
        if before.ns != before.uplink_ns {
            changes.extend(connections_changed(before.ns));
        }
        changes
    }

    /// Takes a deactivated connection's object off the bus.
    pub fn forget(&mut self, n: u32) -> Vec<Change> {
        let Some(a) = self.table.write().remove(&n) else {
            return Vec::new();
        };
        let mut changes = vec![Change::ActiveRemoved(n)];
        changes.extend(connections_changed(a.uplink_ns));
        // Its isolated namespace listed it too (and stays, if persistent).
        if a.ns != a.uplink_ns {
            changes.extend(connections_changed(a.ns));
        }
        changes
    }
}

/// The connection properties of namespace `ns` changed.
fn connections_changed(ns: u32) -> impl Iterator<Item = Change> {
    InstanceProperty::CONNECTIONS
        .into_iter()
        .map(move |prop| Change::InstanceChanged { ns, prop })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(number: u32, profile: u32) -> ActiveInfo {
        ActiveInfo {
            number,
            profile,
            id: "vpn".into(),
            uuid: "u".into(),
            kind: "vpn".into(),
            vpn: true,
            state: st::UNKNOWN,
            vpn_state: vs::UNKNOWN,
            reason: reason::NONE,
            uplink_ns: 0,
            ns: 0,
            banner: String::new(),
        }
    }

    fn connections(ns: u32) -> Vec<Change> {
        connections_changed(ns).collect()
    }

    #[test]
    fn numbers_are_taken_only_when_an_activation_goes_ahead() {
        let mut a = Actives::default();
        assert_eq!(a.next_number(), 0);
        assert_eq!(a.next_number(), 0);
        assert_eq!(a.take_number(), 0);
        assert_eq!(a.next_number(), 1);
    }

    #[test]
    fn a_transition_announces_only_what_changed() {
        let mut a = Actives::default();
        assert_eq!(a.add(info(0, 7)), [Change::ActiveAdded(0)]);
        let mut expected = vec![Change::ActiveStateChanged {
            active: 0,
            state: Some(st::ACTIVATING),
            vpn_state: Some(vs::PREPARE),
            reason: reason::NONE,
        }];
        expected.extend(connections(0));
        assert_eq!(
            a.transition(0, Some(st::ACTIVATING), Some(vs::PREPARE), reason::NONE),
            expected
        );
        let mut expected = vec![Change::ActiveStateChanged {
            active: 0,
            state: None,
            vpn_state: Some(vs::CONNECT),
            reason: reason::NONE,
        }];
        expected.extend(connections(0));
        assert_eq!(
            a.transition(0, Some(st::ACTIVATING), Some(vs::CONNECT), reason::NONE),
            expected
        );
        let got = a.get(0).unwrap();
        assert_eq!((got.state, got.vpn_state), (st::ACTIVATING, vs::CONNECT));
        assert_eq!(a.transition(9, Some(st::ACTIVATED), None, reason::NONE), []);
    }

    #[test]
    fn an_isolated_connection_announces_both_namespaces() {
        let mut a = Actives::default();
        a.add(info(0, 7));
        a.set_ns(0, 4);
        let changes = a.transition(0, Some(st::ACTIVATED), Some(vs::ACTIVATED), reason::NONE);
        let mut expected = vec![Change::ActiveStateChanged {
            active: 0,
            state: Some(st::ACTIVATED),
            vpn_state: Some(vs::ACTIVATED),
            reason: reason::NONE,
        }];
        expected.extend(connections(0));
        expected.extend(connections(4));
        assert_eq!(changes, expected);
    }

    #[test]
    fn live_activations_are_those_not_deactivated() {
        let mut a = Actives::default();
        a.add(info(0, 7));
        a.add(info(1, 8));
        a.transition(1, Some(st::DEACTIVATED), None, reason::USER_DISCONNECTED);
        assert_eq!(a.live(), [0]);
        assert_eq!(a.live_of_profile(7).map(|i| i.number), Some(0));
        assert_eq!(a.live_of_profile(8), None);
        assert_eq!(a.of_profile(8), [1]);
        assert_eq!(a.get(1).unwrap().reason, reason::USER_DISCONNECTED);
    }

    #[test]
    fn forgetting_removes_the_object_and_announces_both_namespaces() {
        let mut a = Actives::default();
        a.add(info(0, 7));
        a.set_ns(0, 4);
        // The isolated namespace listed it too, and may stay (persistent).
        let mut expected = vec![Change::ActiveRemoved(0)];
        expected.extend(connections(0));
        expected.extend(connections(4));
        assert_eq!(a.forget(0), expected);
        assert_eq!(a.forget(0), []);
        assert!(a.get(0).is_none());
    }
}
