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
