//! Programs `Spawn` forked itself (where systemd does not run): each is
//! journalled (`spawn-forked`, with its start time, so that a pid used
//! again by another process is not mistaken for it) and, when it ends,
//! let go (`spawn-forked-ended`). They outlive a crash of the daemon; a
//! restarted daemon takes back those still running in a namespace still
//! there: they count in it again (its removal is `Busy`), and their end is
//! announced with `ProcessExited(pid, -1)` (a program that is not its
//! child, its exit status cannot be known).

use std::time::Duration;

use crate::manager::{Later, Manager};
use crate::record::Entry;

/// How often a taken-back program is looked at.
const POLL: Duration = Duration::from_millis(500);

/// The start time of process `pid` (field 22 of /proc/PID/stat, in clock
/// ticks since boot), or None if there is no such process.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command (field 2) is in parentheses and may hold anything.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` is still the process that started at `start` (and not a
/// zombie).
fn still(pid: u32, start: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    let mut f = rest.split_whitespace();
    let state = f.next();
    state != Some("Z") && f.nth(18).and_then(|s| s.parse().ok()) == Some(start)
}

impl Manager {
    /// Journals a program just forked in namespace `ns`.
    pub(super) fn record_forked(&mut self, ns: &str, pid: u32) {
        let Some(start) = start_time(pid) else { return };
        let entry = Entry::SpawnForked {
            ns: ns.to_owned(),
            pid,
            start,
        };
        if let Err(e) = self.record(entry) {
            tracing::warn!("{}", e.message());
        }
    }

    /// Lets a forked program go from the journal.
    pub(super) fn record_forked_ended(&mut self, pid: u32) {
        if let Err(e) = self.record(Entry::SpawnForkedEnded { pid }) {
            tracing::warn!("{}", e.message());
        }
    }

    /// At start: the programs a previous run forked that still run, in a
    /// namespace still here (number), are taken back. Returns the entries
    /// to keep.
    pub(super) fn adopt_forked(&mut self, forked: Vec<(String, u32, u32, u64)>) -> Vec<Entry> {
        let mut keep = Vec::new();
        for (ns_name, ns, pid, start) in forked {
            if !still(pid, start) {
                continue;
            }
            tracing::info!(pid, ns = %ns_name, "took back a program started by a previous run");
            keep.push(Entry::SpawnForked {
                ns: ns_name,
                pid,
                start,
            });
            self.processes.started(pid, ns);
            let tx = self.later_tx.clone();
            tokio::spawn(async move {
                while still(pid, start) {
                    tokio::time::sleep(POLL).await;
                }
                let _ = tx.send(Later::Exited(pid, -1));
            });
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_read_and_checked() {
        let me = std::process::id();
        let t = start_time(me).unwrap();
        assert!(still(me, t));
        assert!(!still(me, t + 1));
        assert!(start_time(u32::MAX).is_none());
    }
}
