//! Namespaces: the table of the namespaces the daemon knows, by number and
//! by name, and their numbering (N in `/net/netnsd/Netns1/NetworkNamespace/N`,
//! never reused while the daemon runs; 0 is the root namespace).

use std::collections::{BTreeMap, HashMap};

use netnsd_api::namespace_path;
use zbus::wire::{ObjectPath, OwnedObjectPath};

use super::Shared;
use crate::manager::publish::Change;

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
    pub fn new(
        number: u32,
        name: String,
        inode: u64,
        path: String,
        persistent: bool,
        managed: bool,
    ) -> Self {
        Namespace {
            number,
            name,
            inode,
            path,
            persistent,
            managed,
        }
    }

    pub fn object_path(&self) -> OwnedObjectPath {
        ObjectPath::try_from(namespace_path(self.number))
            .expect("generated object paths are valid")
            .into()
    }
}

/// The namespaces, as the bus layer reads them.
#[derive(Debug, Default)]
pub struct NsTable {
    /// By number, so that lists come out in numbering order.
    by_number: BTreeMap<u32, Namespace>,
    names: HashMap<String, u32>,
}

impl NsTable {
    pub fn get(&self, name: &str) -> Option<&Namespace> {
        self.names.get(name).and_then(|n| self.by_number.get(n))
    }

    pub fn by_number(&self, number: u32) -> Option<&Namespace> {
        self.by_number.get(&number)
    }

    /// All namespaces, in numbering order.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.by_number.values()
    }

    /// Namespace object paths in the order the namespaces were numbered.
    pub fn paths(&self) -> Vec<OwnedObjectPath> {
        self.by_number
            .values()
            .map(Namespace::object_path)
            .collect()
    }

    fn insert(&mut self, ns: Namespace) {
        self.names.insert(ns.name.clone(), ns.number);
        self.by_number.insert(ns.number, ns);
    }

    fn remove(&mut self, number: u32) -> Option<Namespace> {
        let ns = self.by_number.remove(&number)?;
        self.names.remove(&ns.name);
        Some(ns)
    }
}

/// The namespaces part: owns the table and the numbering.
#[derive(Debug, Default)]
pub struct Namespaces {
    table: Shared<NsTable>,
    next: u32,
}

impl Namespaces {
    /// The table, for the bus layer.
    pub fn table(&self) -> Shared<NsTable> {
        self.table.clone()
    }

    /// A number for a new namespace.
    pub fn number(&mut self) -> u32 {
        let n = self.next;
        self.next += 1;
        n
    }

    pub fn get(&self, name: &str) -> Option<Namespace> {
        self.table.read().get(name).cloned()
    }

    pub fn by_number(&self, number: u32) -> Option<Namespace> {
        self.table.read().by_number(number).cloned()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.table.read().get(name).is_some()
    }

    /// All namespaces, in numbering order.
    pub fn all(&self) -> Vec<Namespace> {
        self.table.read().namespaces().cloned().collect()
    }

    /// A namespace found at start, before anything is published.
    pub fn insert(&mut self, ns: Namespace) {
        self.table.write().insert(ns);
    }

    /// Drops a namespace found at start from the table, unannounced.
    pub fn discard(&mut self, number: u32) -> Option<Namespace> {
        self.table.write().remove(number)
    }

    /// A namespace made or adopted now.
    pub fn add(&mut self, ns: Namespace) -> Vec<Change> {
        self.table.write().insert(ns.clone());
        vec![Change::NamespaceAdded(ns)]
    }

    /// A namespace that went away.
    pub fn remove(&mut self, number: u32) -> Vec<Change> {
        match self.table.write().remove(number) {
            Some(ns) => vec![Change::NamespaceRemoved(ns)],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(parts: &mut Namespaces, name: &str) -> Namespace {
        let n = parts.number();
        Namespace::new(n, name.into(), 100 + n as u64, String::new(), true, true)
    }

    #[test]
    fn numbers_are_never_reused() {
        let mut p = Namespaces::default();
        let a = ns(&mut p, "a");
        p.add(a.clone());
        p.remove(a.number);
        let b = ns(&mut p, "a");
        assert_eq!((a.number, b.number), (0, 1));
    }

    #[test]
    fn adding_and_removing_are_announced() {
        let mut p = Namespaces::default();
        let root = ns(&mut p, "rootns");
        p.insert(root.clone());
        let a = ns(&mut p, "a");
        assert_eq!(p.add(a.clone()), [Change::NamespaceAdded(a.clone())]);
        assert_eq!(p.get("a"), Some(a.clone()));
        assert_eq!(p.by_number(1), Some(a.clone()));
        assert_eq!(
            p.table().read().paths(),
            [root.object_path(), a.object_path()]
        );
        assert_eq!(p.remove(a.number), [Change::NamespaceRemoved(a)]);
        assert!(!p.contains("a"));
        assert_eq!(p.remove(7), []);
    }

    #[test]
    fn namespaces_found_at_start_can_be_discarded_unannounced() {
        let mut p = Namespaces::default();
        let root = ns(&mut p, "rootns");
        let kept = ns(&mut p, "kept");
        let gone = ns(&mut p, "gone");
        for n in [&root, &kept, &gone] {
            p.insert(n.clone());
        }
        assert_eq!(p.discard(gone.number), Some(gone));
        assert_eq!(p.all(), [root, kept]);
    }
}
