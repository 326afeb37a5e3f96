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
    /// Programs being started (not exec'd yet), by namespace.
    starting: HashMap<u32, usize>,
}

impl Processes {
    /// A program is being started in namespace `ns`.
    pub fn starting(&mut self, ns: u32) {
        *self.starting.entry(ns).or_default() += 1;
    }

    /// How many programs are being started in namespace `ns`.
    pub fn starting_in(&self, ns: u32) -> usize {
        self.starting.get(&ns).copied().unwrap_or(0)
    }

    fn start_ended(&mut self, ns: u32) {
        if let Some(n) = self.starting.get_mut(&ns) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.starting.remove(&ns);
            }
        }
    }

    /// Program `pid`, started in namespace `ns`, runs (it has exec'd).
    pub fn started(&mut self, pid: u32, ns: u32) {
        self.start_ended(ns);
        self.running.insert(pid, ns);
    }

    /// A program being started in `ns` could not start; true if that was
    /// the last thing a namespace waiting to be removed waited for.
    pub fn start_failed(&mut self, ns: u32) -> bool {
        self.start_ended(ns);
        self.idle(ns) && self.remove_when_idle.remove(&ns)
    }

    fn idle(&self, ns: u32) -> bool {
        self.in_ns(ns).is_empty() && self.starting_in(ns) == 0
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
        let remove_ns = self.idle(ns) && self.remove_when_idle.remove(&ns);
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
    fn a_program_being_started_keeps_its_namespace() {
        let mut p = Processes::default();
        p.starting(2);
        p.starting(2);
        assert_eq!(p.starting_in(2), 2);
        p.remove_when_idle(2);
        p.started(100, 2);
        assert_eq!(p.starting_in(2), 1);
        // The running one ended, but one is still being started.
        assert!(!p.exited(100, 0).unwrap().remove_ns);
        // It could not start: now the namespace goes, once.
        assert!(p.start_failed(2));
        assert_eq!(p.starting_in(2), 0);
        p.starting(2);
        assert!(!p.start_failed(2));
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
