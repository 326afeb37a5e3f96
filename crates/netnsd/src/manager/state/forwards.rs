//! Port forwards: by namespace number, each with an id unique while the
//! daemon runs (and after a restart, above every id recorded).

use std::collections::BTreeMap;

use netnsd_api::forward::Forward;

#[derive(Debug, Default)]
pub struct Forwards {
    by_ns: BTreeMap<u32, BTreeMap<u32, Forward>>,
    next_id: u32,
}

impl Forwards {
    /// A forward found in the journal at start.
    pub fn found(&mut self, ns: u32, id: u32, f: Forward) {
        self.next_id = self.next_id.max(id);
        self.by_ns.entry(ns).or_default().insert(id, f);
    }

    /// The next id (not taken until [`Forwards::add`]).
    pub fn next_id(&self) -> u32 {
        self.next_id + 1
    }

    pub fn add(&mut self, ns: u32, id: u32, f: Forward) {
        self.next_id = self.next_id.max(id);
        self.by_ns.entry(ns).or_default().insert(id, f);
    }

    pub fn remove(&mut self, ns: u32, id: u32) -> Option<Forward> {
        let m = self.by_ns.get_mut(&ns)?;
        let f = m.remove(&id);
        if m.is_empty() {
            self.by_ns.remove(&ns);
        }
        f
    }

    /// Takes all of namespace `ns`'s forwards.
    pub fn take(&mut self, ns: u32) -> BTreeMap<u32, Forward> {
        self.by_ns.remove(&ns).unwrap_or_default()
    }

    pub fn of(&self, ns: u32) -> BTreeMap<u32, Forward> {
        self.by_ns.get(&ns).cloned().unwrap_or_default()
    }

    /// Every forward: (namespace, id, forward).
    pub fn all(&self) -> impl Iterator<Item = (u32, u32, &Forward)> {
        self.by_ns
            .iter()
            .flat_map(|(ns, m)| m.iter().map(move |(id, f)| (*ns, *id, f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netnsd_api::forward::Proto;

    fn f(port: u16) -> Forward {
        Forward {
            proto: Proto::Tcp,
            host_port: port,
            host_address: None,
            port,
        }
    }

    #[test]
    fn ids_grow_past_found_ones_and_namespaces_empty_out() {
        let mut s = Forwards::default();
        assert_eq!(s.next_id(), 1);
        s.found(3, 7, f(80));
        assert_eq!(s.next_id(), 8);
        s.add(3, 8, f(81));
        s.add(4, 9, f(82));
        assert_eq!(s.all().count(), 3);
        assert_eq!(s.remove(3, 7), Some(f(80)));
        assert_eq!(s.remove(3, 7), None);
        assert_eq!(s.take(3).len(), 1);
        assert!(s.of(3).is_empty());
        assert_eq!(s.next_id(), 10, "ids are not reused");
        assert_eq!(s.all().count(), 1);
    }
}
