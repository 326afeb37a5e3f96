//! Per-namespace sysctls (/proc/sys/net/...). /proc/sys/net shows the
//! namespace of the thread that opens it, so another namespace's values are
//! read and written from a throw-away thread that has entered it
//! ([`crate::netns::thread`]).

use std::fs::{self, File};
use std::io;
use std::path::Path;

use crate::netns::thread;

/// Sets `key` (e.g. `net/ipv4/conf/eth0/forwarding`) to `value` in the
/// namespace open at `netns` (the daemon's own when None), and returns the
/// value it had; `Ok(None)` when the kernel has no such key.
pub fn set(netns: Option<&File>, key: &str, value: &str) -> io::Result<Option<String>> {
    let path = Path::new("/proc/sys").join(key);
    let value = value.to_owned();
    let work = move || -> io::Result<Option<String>> {
        let old = match fs::read_to_string(&path) {
            Ok(s) => s.trim().to_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if old != value {
            fs::write(&path, &value)?;
        }
        Ok(Some(old))
    };
    let Some(ns) = netns else { return work() };
    let target = ns.try_clone()?;
    thread::run("netns-sysctl", move || thread::within(&target, work)?)
}

/// Sets each of `keys` to `value` in the namespace open at `netns` (the
/// daemon's own when None), all from one thread; the old value of each,
/// `None` for a key the kernel does not have. Stops at the first error.
pub fn set_many(
    netns: Option<&File>,
    keys: &[String],
    value: &str,
) -> io::Result<Vec<Option<String>>> {
    let keys = keys.to_vec();
    let value = value.to_owned();
    let work = move || -> io::Result<Vec<Option<String>>> {
        keys.iter().map(|k| set(None, k, &value)).collect()
    };
    let Some(ns) = netns else { return work() };
    let target = ns.try_clone()?;
    thread::run("netns-sysctl", move || thread::within(&target, work)?)
}

/// Reads `key` in the namespace open at `netns` (the daemon's own when
/// None); `Ok(None)` when the kernel has no such key.
pub fn get(netns: Option<&File>, key: &str) -> io::Result<Option<String>> {
    let path = Path::new("/proc/sys").join(key);
    let work = move || -> io::Result<Option<String>> {
        match fs::read_to_string(&path) {
            Ok(s) => Ok(Some(s.trim().to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    };
    let Some(ns) = netns else { return work() };
    let target = ns.try_clone()?;
    thread::run("netns-sysctl", move || thread::within(&target, work)?)
}

/// Seen once: this kernel has per-interface IPv6 `force_forwarding` (a
/// property of the kernel, the same in every namespace, that does not go
/// away), so later uplinks need not ask from a thread again.
static FORCE_FORWARDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this kernel was seen to have per-interface IPv6
/// `force_forwarding` (then [`ipv6_forwarding_possible`] is always true).
pub fn force_forwarding_known() -> bool {
    FORCE_FORWARDING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether namespace `netns` can forward IPv6 for an uplink's host end:
/// the kernel has per-interface `force_forwarding` (6.17 and later), or
/// IPv6 forwarding is on for the whole namespace already (a router). On
/// older kernels (Debian 12's 6.1) with forwarding off neither holds, and
/// an uplink there gets IPv4 only rather than IPv6 routes that go nowhere.
pub fn ipv6_forwarding_possible(netns: Option<&File>) -> io::Result<bool> {
    if force_forwarding_known() {
        return Ok(true);
    }
    if get(netns, "net/ipv6/conf/all/force_forwarding")?.is_some() {
        FORCE_FORWARDING.store(true, std::sync::atomic::Ordering::Relaxed);
        return Ok(true);
    }
    Ok(get(netns, "net/ipv6/conf/all/forwarding")?.as_deref() == Some("1"))
}
