//! Uplinks with their NAT and forwarding: each namespace's uplink record,
//! the address pool of veth uplinks and the slots whose host end has not
//! been seen gone yet, the sysctls changed for forwarding (to put back),
//! the default-route devices forwarding was turned on for, and the NAT
//! table of each uplink namespace: declared or not, and the host ends whose
//! elements are queued for removal.

use std::collections::{BTreeMap, BTreeSet};

use super::Shared;
use crate::manager::publish::{Change, InstanceProperty};
use crate::record::UplinkRecord;
use crate::uplink::{Pool, Slot, Topology};

/// How many NAT removals may queue before they are flushed at once.
const NAT_FLUSH_AT: usize = 256;

/// What queueing a NAT removal asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum NatQueued {
    /// Enough are queued: flush them now.
    FlushNow,
    /// Flush once removals pause, if none came after this generation.
    FlushLater(u64),
}

/// The uplinks part.
#[derive(Debug)]
pub struct Uplinks {
    /// Uplink records, by namespace number.
    records: Shared<BTreeMap<u32, UplinkRecord>>,
    pool: Pool,
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
    /// The bridges of the bridge topology ready for ports, by (uplink
    /// namespace, bridge): their ifindex.
    bridges: BTreeMap<(String, String), u32>,
}

impl Uplinks {
    pub fn new(pool: Pool) -> Self {
        Uplinks {
            records: Shared::default(),
            pool,
            sysctls: BTreeMap::new(),
            pending_teardown: Vec::new(),
            nat_declared: BTreeSet::new(),
            forward_devs: BTreeMap::new(),
            nat_removals: BTreeMap::new(),
            nat_generation: 0,
            draining: BTreeMap::new(),
            bridges: BTreeMap::new(),
        }
    }

    /// The records, for the bus layer.
    pub fn table(&self) -> Shared<BTreeMap<u32, UplinkRecord>> {
        self.records.clone()
    }

    /// Namespace `ns`'s uplink.
    pub fn get(&self, ns: u32) -> Option<UplinkRecord> {
        self.records.read().get(&ns).cloned()
    }

    /// An uplink found at start: its slot stays taken.
    pub fn found(&mut self, ns: u32, record: UplinkRecord) {
        if let UplinkRecord::Veth { slot, .. } = &record {
            self.pool.reserve(*slot);
        }
        self.records.write().insert(ns, record);
    }

    /// Namespace `ns` has this uplink now.
    pub fn set(&mut self, ns: u32, record: UplinkRecord) -> Vec<Change> {
        self.records.write().insert(ns, record);
        vec![uplink_changed(ns)]
    }

    /// Namespace `ns` has no uplink any more.
    pub fn clear(&mut self, ns: u32) -> Vec<Change> {
        self.records.write().remove(&ns);
        vec![uplink_changed(ns)]
    }

    /// Takes the uplink of a namespace that is going away, unannounced.
    pub fn take(&mut self, ns: u32) -> Option<UplinkRecord> {
        self.records.write().remove(&ns)
    }

    /// Whether any veth uplink goes through uplink namespace `up`.
    pub fn still_used(&self, up: &str) -> bool {
        self.records
            .read()
            .values()
            .any(|r| matches!(r, UplinkRecord::Veth { uplink_ns, .. } if uplink_ns == up))
    }

    /// The interfaces of uplink namespace `up` its live veth uplinks come
    /// in by (in its NAT set): routed host ends, and the bridge of bridged
    /// ones, once.
    pub fn live_host_ifs(&self, up: &str) -> Vec<String> {
        let mut ifs: Vec<String> = self
            .records
            .read()
            .values()
            .filter_map(|r| match r {
                UplinkRecord::Veth {
                    uplink_ns,
                    host_if,
                    bridge,
                    ..
                } if uplink_ns == up => Some(bridge.clone().unwrap_or_else(|| host_if.clone())),
                _ => None,
            })
            .collect();
        ifs.sort();
        ifs.dedup();
        ifs
    }

    /// Whether bridged (`bridge`) or routed veth uplinks go through `up`.
    pub fn has_veth_through(&self, up: &str, bridged: bool) -> bool {
        self.records.read().values().any(|r| {
            matches!(r, UplinkRecord::Veth { uplink_ns, bridge, .. }
                if uplink_ns == up && bridge.is_some() == bridged)
        })
    }

    /// The bridged uplinks through `up`: (slot, bridge).
    pub fn bridged_slots(&self, up: &str) -> Vec<(u32, String)> {
        self.records
            .read()
            .values()
            .filter_map(|r| match r {
                UplinkRecord::Veth {
                    uplink_ns,
                    slot,
                    bridge: Some(b),
                    ..
                } if uplink_ns == up => Some((*slot, b.clone())),
                _ => None,
            })
            .collect()
    }

    /// Whether a bridged uplink through `up` has its port on `bridge`.
    pub fn bridge_used(&self, up: &str, bridge: &str) -> bool {
        self.records.read().values().any(|r| {
            matches!(r, UplinkRecord::Veth { uplink_ns, bridge: Some(b), .. }
                if uplink_ns == up && b == bridge)
        })
    }

    /// The topology new veth uplinks are made in.
    pub fn topology(&self) -> Topology {
        self.pool.topology()
    }

    /// Bridge `bridge` of uplink namespace `up`, if this daemon has it
    /// ready (made or found, forwarding and NAT on): its ifindex.
    pub fn bridge_ready(&self, up: &str, bridge: &str) -> Option<u32> {
        self.bridges
            .get(&(up.to_owned(), bridge.to_owned()))
            .copied()
    }

    pub fn set_bridge_ready(&mut self, up: &str, bridge: &str, ifindex: u32) {
        self.bridges
            .insert((up.to_owned(), bridge.to_owned()), ifindex);
    }

    /// Bridge `bridge` of `up` (every bridge of `up` with None) must be
    /// looked at again before its next port (its forwarding was put back,
    /// or it is gone).
    pub fn bridge_unready(&mut self, up: &str, bridge: Option<&str>) {
        self.bridges
            .retain(|(u, b), _| !(u == up && bridge.is_none_or(|x| x == b)));
    }

    /// The uplink namespaces that veth uplinks go through.
    pub fn uplink_namespaces(&self) -> BTreeSet<String> {
        self.records
            .read()
            .values()
            .filter_map(|r| match r {
                UplinkRecord::Veth { uplink_ns, .. } => Some(uplink_ns.clone()),
                _ => None,
            })
            .collect()
    }

    /// The addresses of the slot of a veth uplink `record`, in its topology.
    pub fn slot_of(&self, slot: u32, bridge: &Option<String>) -> Slot {
        self.pool.slot_in(slot, bridge.is_some())
    }

    /// The gateway's addresses on bridge `k` of the bridge topology.
    pub fn bridge_addresses(&self, k: u32) -> (netnsd_api::Cidr, Option<netnsd_api::Cidr>) {
        self.pool.bridge_addresses(k)
    }

    /// The lowest free slot of the pool.
    pub fn allocate(&mut self) -> Option<Slot> {
        self.pool.allocate()
    }

    /// Keeps `slot` taken (by an uplink to undo at start) until released.
    pub fn reserve(&mut self, slot: u32) {
        self.pool.reserve(slot);
    }

    pub fn release(&mut self, slot: u32) {
        self.pool.release(slot);
    }

    /// An uplink whose namespace went while the daemon was down, or that a
    /// crash left half made, to take down once the platforms are open.
    pub fn defer_teardown(&mut self, name: String, record: UplinkRecord) {
        self.pending_teardown.push((name, record));
    }

    pub fn take_pending_teardown(&mut self) -> Vec<(String, UplinkRecord)> {
        std::mem::take(&mut self.pending_teardown)
    }

    /// A sysctl changed for uplinks through `up`, found in the journal.
    pub fn sysctl_found(&mut self, up: String, key: String, old: String) {
        self.sysctls.insert((up, key), old);
    }

    /// Whether a sysctl of `up` that was `old` before forwarding was turned
    /// on must be remembered, to put back: it was not on, and is not
    /// remembered yet.
    pub fn must_remember(&self, up: &str, key: &str, old: &str) -> bool {
        old != "1" && !self.sysctls.contains_key(&(up.to_owned(), key.to_owned()))
    }

    pub fn remember_sysctl(&mut self, up: String, key: String, old: String) {
        self.sysctls.insert((up, key), old);
    }

    /// The sysctls of `up` to put back, with their old values; forgotten.
    pub fn take_sysctls(&mut self, up: &str) -> Vec<((String, String), String)> {
        let keys: Vec<(String, String)> = self
            .sysctls
            .keys()
            .filter(|(ns, _)| ns == up)
            .cloned()
            .collect();
        keys.into_iter()
            .map(|k| {
                let old = self.sysctls.remove(&k).unwrap_or_default();
                (k, old)
            })
            .collect()
    }

    /// Whether the default-route devices of `up` are known.
    pub fn forwarding_known(&self, up: &str) -> bool {
        self.forward_devs.contains_key(up)
    }

    /// The devices of `up` that forward for its uplinks (none if unknown).
    pub fn forwarding_devices(&self, up: &str) -> BTreeSet<String> {
        self.forward_devs.get(up).cloned().unwrap_or_default()
    }

    /// `devs` of `up` forward now too (the default route moved there).
    pub fn forwarding_add(&mut self, up: String, devs: BTreeSet<String>) {
        self.forward_devs.entry(up).or_default().extend(devs);
    }

    /// The last uplink through `up` went: its devices are looked for again
    /// by the next one.
    pub fn forwarding_off(&mut self, up: &str) {
        self.forward_devs.remove(up);
    }

    pub fn nat_declared(&self, up: &str) -> bool {
        self.nat_declared.contains(up)
    }

    /// The NAT table of `up` was declared afresh: it holds the live host
    /// ends, and nothing queued for removal is in it.
    pub fn nat_declared_now(&mut self, up: &str) {
        self.nat_removals.remove(up);
        self.nat_declared.insert(up.to_owned());
    }

    /// The NAT table of `up` is gone.
    pub fn nat_gone(&mut self, up: &str) {
        self.nat_declared.remove(up);
    }

    /// A host end is (again) in use: its element must not be removed.
    pub fn nat_keep(&mut self, up: &str, host_if: &str) {
        if let Some(q) = self.nat_removals.get_mut(up) {
            q.remove(host_if);
        }
    }

    /// Queues the removal of a host end's NAT element.
    pub fn queue_nat_removal(&mut self, up: &str, host_if: &str) -> NatQueued {
        self.nat_removals
            .entry(up.to_owned())
            .or_default()
            .insert(host_if.to_owned());
        self.nat_generation += 1;
        let queued: usize = self.nat_removals.values().map(BTreeSet::len).sum();
        if queued >= NAT_FLUSH_AT {
            NatQueued::FlushNow
        } else {
            NatQueued::FlushLater(self.nat_generation)
        }
    }

    /// The NAT removals to do now, by uplink namespace: all of them, or
    /// with a generation, none if a removal came since it.
    pub fn take_nat_removals(
        &mut self,
        generation: Option<u64>,
    ) -> BTreeMap<String, BTreeSet<String>> {
        if generation.is_some_and(|g| g != self.nat_generation) {
            return BTreeMap::new();
        }
        std::mem::take(&mut self.nat_removals)
    }

    /// A host end left to die with its namespace: its slot stays taken
    /// until it is seen gone.
    pub fn drain(&mut self, slot: u32, up: String, host_if: String) {
        self.pool.reserve(slot);
        self.draining.insert(slot, (up, host_if));
    }

    /// A link called `name` went from uplink namespace `up`: if it was a
    /// draining host end, its slot is free again.
    pub fn host_end_gone(&mut self, up: &str, name: &str) -> Option<u32> {
        let slot = self
            .draining
            .iter()
            .find(|(_, (u, h))| u == up && h == name)
            .map(|(s, _)| *s)?;
        self.draining.remove(&slot);
        self.pool.release(slot);
        Some(slot)
    }

    /// Whether any host end is draining.
    pub fn draining(&self) -> bool {
        !self.draining.is_empty()
    }

    /// The draining host end of `slot`, still there when it should be gone:
    /// (uplink namespace, host end). Its slot stays taken until released.
    pub fn reap(&mut self, slot: u32) -> Option<(String, String)> {
        self.draining.remove(&slot)
    }
}

fn uplink_changed(ns: u32) -> Change {
    Change::InstanceChanged {
        ns,
        prop: InstanceProperty::Uplink,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uplinks() -> Uplinks {
        let v4 = "10.231.0.0/28".parse().unwrap();
        Uplinks::new(Pool::new(&v4, None).unwrap())
    }

    fn veth(up: &str, host_if: &str, slot: u32) -> UplinkRecord {
        UplinkRecord::Veth {
            uplink_ns: up.into(),
            host_if: host_if.into(),
            slot,
            ipv6: false,
            bridge: None,
        }
    }

    #[test]
    fn setting_and_clearing_an_uplink_are_announced() {
        let mut u = uplinks();
        let changed = [Change::InstanceChanged {
            ns: 3,
            prop: InstanceProperty::Uplink,
        }];
        assert_eq!(u.set(3, veth("rootns", "nsu0", 0)), changed);
        assert!(u.still_used("rootns"));
        assert_eq!(u.live_host_ifs("rootns"), ["nsu0"]);
        assert_eq!(u.clear(3), changed);
        assert!(!u.still_used("rootns"));
        assert_eq!(u.get(3), None);
    }

    #[test]
    fn slots_found_at_start_stay_taken() {
        let mut u = uplinks();
        u.found(1, veth("rootns", "nsu0", 0));
        u.found(2, veth("rootns", "nsu2", 2));
        let slots: Vec<u32> = std::iter::from_fn(|| u.allocate().map(|s| s.index)).collect();
        assert_eq!(slots, [1, 3]);
        assert_eq!(
            u.uplink_namespaces().into_iter().collect::<Vec<_>>(),
            ["rootns"]
        );
    }

    #[test]
    fn a_draining_host_end_frees_its_slot_when_seen_gone() {
        let mut u = uplinks();
        let slot = u.allocate().unwrap().index;
        u.drain(slot, "rootns".into(), "nsu0".into());
        assert!(u.draining());
        assert_eq!(u.host_end_gone("other", "nsu0"), None);
        assert_eq!(u.host_end_gone("rootns", "nsu0"), Some(slot));
        assert!(!u.draining());
        assert_eq!(u.allocate().unwrap().index, slot);
    }

    #[test]
    fn a_reaped_host_end_keeps_its_slot_until_released() {
        let mut u = uplinks();
        let slot = u.allocate().unwrap().index;
        u.drain(slot, "rootns".into(), "nsu0".into());
        assert_eq!(u.reap(slot), Some(("rootns".into(), "nsu0".into())));
        assert_eq!(u.reap(slot), None);
        assert_ne!(u.allocate().unwrap().index, slot);
        u.release(slot);
        assert_eq!(u.allocate().unwrap().index, slot);
    }

    #[test]
    fn nat_removals_flush_once_they_pause() {
        let mut u = uplinks();
        assert_eq!(
            u.queue_nat_removal("rootns", "nsu0"),
            NatQueued::FlushLater(1)
        );
        assert_eq!(
            u.queue_nat_removal("rootns", "nsu1"),
            NatQueued::FlushLater(2)
        );
        // The first timer is stale: a removal came after it.
        assert!(u.take_nat_removals(Some(1)).is_empty());
        let taken = u.take_nat_removals(Some(2));
        assert_eq!(taken["rootns"].len(), 2);
        assert!(u.take_nat_removals(None).is_empty());
    }

    #[test]
    fn many_nat_removals_flush_at_once() {
        let mut u = uplinks();
        for i in 0..NAT_FLUSH_AT - 1 {
            assert!(matches!(
                u.queue_nat_removal("rootns", &format!("nsu{i}")),
                NatQueued::FlushLater(_)
            ));
        }
        assert_eq!(u.queue_nat_removal("up", "nsu0"), NatQueued::FlushNow);
    }

    #[test]
    fn a_host_end_in_use_again_leaves_the_removal_queue() {
        let mut u = uplinks();
        u.queue_nat_removal("rootns", "nsu0");
        u.queue_nat_removal("rootns", "nsu1");
        u.nat_keep("rootns", "nsu0");
        assert_eq!(
            u.take_nat_removals(None)["rootns"]
                .iter()
                .collect::<Vec<_>>(),
            ["nsu1"]
        );
        u.queue_nat_removal("rootns", "nsu1");
        u.nat_declared_now("rootns");
        assert!(u.nat_declared("rootns"));
        assert!(u.take_nat_removals(None).is_empty());
        u.nat_gone("rootns");
        assert!(!u.nat_declared("rootns"));
    }

    #[test]
    fn sysctls_are_remembered_once_and_put_back_per_namespace() {
        let mut u = uplinks();
        let key = "net/ipv4/conf/eth0/forwarding";
        assert!(!u.must_remember("rootns", key, "1"));
        assert!(u.must_remember("rootns", key, "0"));
        u.remember_sysctl("rootns".into(), key.into(), "0".into());
        assert!(!u.must_remember("rootns", key, "0"));
        u.sysctl_found("up".into(), key.into(), "0".into());
        assert_eq!(
            u.take_sysctls("rootns"),
            [(("rootns".to_string(), key.to_string()), "0".to_string())]
        );
        assert!(u.take_sysctls("rootns").is_empty());
        assert_eq!(u.take_sysctls("up").len(), 1);
    }

    #[test]
    fn forwarding_devices_are_known_while_uplinks_go_through() {
        let mut u = uplinks();
        assert!(!u.forwarding_known("rootns"));
        u.forwarding_add("rootns".into(), ["eth0".to_string()].into());
        u.forwarding_add("rootns".into(), ["wlan0".to_string()].into());
        assert_eq!(
            u.forwarding_devices("rootns").len(),
            2,
            "a moved default route adds"
        );
        assert!(u.forwarding_known("rootns"));
        u.forwarding_off("rootns");
        assert!(!u.forwarding_known("rootns"));
    }
}
