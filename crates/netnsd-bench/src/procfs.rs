//! What /proc says about a process and about the machine.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// A `Key:   value kB` line of /proc/PID/status.
fn status_field(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resident memory, descriptors and threads of a process at one moment.
#[derive(Debug, Clone)]
pub struct Usage {
    pub label: String,
    pub alive: usize,
    pub rss_kb: u64,
    pub fds: usize,
    pub threads: u64,
}

impl Usage {
    pub fn of(pid: u32, label: impl Into<String>, alive: usize) -> Result<Usage, String> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("read /proc/{pid}/status: {e}"))?;
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map_err(|e| format!("read /proc/{pid}/fd: {e}"))?
            .count();
        Ok(Usage {
            label: label.into(),
            alive,
            rss_kb: status_field(&status, "VmRSS").unwrap_or(0),
            fds,
            threads: status_field(&status, "Threads").unwrap_or(0),
        })
    }

    pub fn rss_mb(&self) -> f64 {
        self.rss_kb as f64 / 1024.0
    }

    pub fn to_json(&self) -> Value {
        json!({
            "label": self.label,
            "alive": self.alive,
            "rss_kb": self.rss_kb,
            "fds": self.fds,
            "threads": self.threads,
        })
    }
}

/// CPU time a process's threads alive now have used so far, in ns: the
/// first field of /proc/PID/task/*/schedstat (run time, in nanoseconds,
/// where /proc/PID/stat counts in 10 ms ticks).
pub fn cpu_ns(pid: u32) -> Result<u64, String> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir).map_err(|e| format!("read {dir}: {e}"))?;
    let mut sum = 0;
    for t in tasks.flatten() {
        // A thread may end meanwhile.
        let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) else {
            continue;
        };
        sum += s
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(sum)
}

/// voluntary + nonvoluntary context switches of every thread of `pid`.
pub fn context_switches(pid: u32) -> Result<BTreeMap<u32, u64>, String> {
    let dir = format!("/proc/{pid}/task");
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(&dir).map_err(|e| format!("read {dir}: {e}"))? {
        let Ok(e) = e else { continue };
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // A thread may end between the listing and the read.
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let v = status_field(&status, "voluntary_ctxt_switches").unwrap_or(0);
        let n = status_field(&status, "nonvoluntary_ctxt_switches").unwrap_or(0);
        out.insert(tid, v + n);
    }
    Ok(out)
}

/// Wake-ups of an idle process over a window.
#[derive(Debug, Clone)]
pub struct Idle {
    pub alive: usize,
    pub seconds: f64,
    pub switches: u64,
    pub threads_started: usize,
    pub threads_ended: usize,
    /// Context switches per thread name, for the threads that woke up.
    pub by_thread: BTreeMap<String, u64>,
}

impl Idle {
    pub fn per_second(&self) -> f64 {
        self.switches as f64 / self.seconds
    }

    pub fn to_json(&self) -> Value {
        json!({
            "alive": self.alive,
            "seconds": self.seconds,
            "context_switches": self.switches,
            "per_second": self.per_second(),
            "threads_started": self.threads_started,
            "threads_ended": self.threads_ended,
            "by_thread": self.by_thread,
        })
    }
}

fn thread_name(pid: u32, tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}

/// Counts the context switches of `pid`'s threads over `window` while
/// nothing talks to it. Threads that end during the window lose their last
/// switches (counted in `threads_ended`); new ones count in full.
pub async fn idle_window(pid: u32, alive: usize, window: Duration) -> Result<Idle, String> {
    let before = context_switches(pid)?;
    tokio::time::sleep(window).await;
    let after = context_switches(pid)?;
    let mut switches = 0;
    let mut by_thread = BTreeMap::new();
    for (tid, n) in &after {
        let d = n.saturating_sub(before.get(tid).copied().unwrap_or(0));
        if d > 0 {
            *by_thread.entry(thread_name(pid, *tid)).or_insert(0) += d;
        }
        switches += d;
    }
    Ok(Idle {
        alive,
        seconds: window.as_secs_f64(),
        switches,
        threads_started: after.keys().filter(|t| !before.contains_key(t)).count(),
        threads_ended: before.keys().filter(|t| !after.contains_key(t)).count(),
        by_thread,
    })
}

/// The machine the benchmark ran on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub kernel: String,
    pub nproc: usize,
    pub cpu: String,
    pub date: String,
    pub load_start: String,
    pub load_end: String,
}

impl Machine {
    pub fn now() -> Machine {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "?".into());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "?".into());
        Machine {
            kernel,
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            date: utc_now(),
            load_start: loadavg(),
            load_end: String::new(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "kernel": self.kernel,
            "nproc": self.nproc,
            "cpu": self.cpu,
            "date": self.date,
            "load_start": self.load_start,
            "load_end": self.load_end,
        })
    }
}

/// The 1, 5 and 15 minute load averages, as `uptime` prints them.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "?".into())
}

/// The current time in UTC, `2025-01-31 12:34 UTC`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_usage_and_switches() {
        let pid = std::process::id();
        let u = Usage::of(pid, "self", 0).unwrap();
        assert!(u.rss_kb > 0 && u.fds > 0 && u.threads >= 1);
        assert!(!context_switches(pid).unwrap().is_empty());
        assert!(cpu_ns(pid).unwrap() > 0);
    }

    #[test]
    fn date_looks_like_a_date() {
        let d = utc_now();
        assert_eq!(d.len(), "2025-01-31 12:34 UTC".len(), "{d}");
        assert!(d.starts_with("20"), "{d}");
    }
}
