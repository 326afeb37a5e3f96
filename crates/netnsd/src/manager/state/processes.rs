//! Spawned processes: which namespace each running one was started in, and
//! the namespaces to remove once their last one has exited.

use std::collections::{BTreeSet, HashMap};

use crate::manager::publish::Change;

/// A spawned process ended.
#[derive(Debug, PartialEq, Eq)]
pub struct Exit {
    /// The namespace it ran in.
    pub ns: u32,
    pub changes: Vec<Change>,
    /// It was the last process of a namespace waiting to be removed: remove
    /// that namespace now.
    pub remove_ns: bool,
}

/// The processes part.
#[derive(Debug, Default)]
pub struct Processes {
    /// Spawned processes still running: pid → namespace number.
    running: HashMap<u32, u32>,
    /// Namespaces to remove once their last spawned process exits.
    remove_when_idle: BTreeSet<u32>,
}

impl Processes {
    pub fn started(&mut self, pid: u32, ns: u32) {
        self.running.insert(pid, ns);
    }

    /// Processes still running in namespace `ns`.
    pub fn in_ns(&self, ns: u32) -> Vec<u32> {
        self.running
            .iter()
            .filter(|(_, n)| **n == ns)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Namespace `ns` goes once its last process has exited.
    pub fn remove_when_idle(&mut self, ns: u32) {
        self.remove_when_idle.insert(ns);
    }

    /// Process `pid` exited with `status`; None if it was not spawned here.
    pub fn exited(&mut self, pid: u32, status: i32) -> Option<Exit> {
        let ns = self.running.remove(&pid)?;
        let remove_ns = self.in_ns(ns).is_empty() && self.remove_when_idle.remove(&ns);
        Some(Exit {
            ns,
            changes: vec![Change::ProcessExited { ns, pid, status }],
            remove_ns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exit_is_announced_in_its_namespace() {
        let mut p = Processes::default();
        p.started(100, 2);
        assert_eq!(p.in_ns(2), [100]);
        assert_eq!(
            p.exited(100, 3),
            Some(Exit {
                ns: 2,
                changes: vec![Change::ProcessExited {
                    ns: 2,
                    pid: 100,
                    status: 3
                }],
                remove_ns: false,
            })
        );
        assert!(p.in_ns(2).is_empty());
        assert_eq!(p.exited(100, 3), None);
    }

    #[test]
    fn a_waiting_namespace_goes_with_its_last_process() {
        let mut p = Processes::default();
        p.started(100, 2);
        p.started(101, 2);
        p.started(102, 3);
        p.remove_when_idle(2);
        assert!(!p.exited(100, 0).unwrap().remove_ns);
        assert!(!p.exited(102, 0).unwrap().remove_ns);
        assert!(p.exited(101, 0).unwrap().remove_ns);
        // Only once.
        p.started(103, 2);
        assert!(!p.exited(103, 0).unwrap().remove_ns);
    }
}
