//! The daemon's descriptor limit. Each namespace costs the daemon open
//! descriptors, so the soft RLIMIT_NOFILE (1024 under systemd by default) is
//! raised to the hard limit at start, as systemd advises programs that need
//! many; programs the daemon starts for users get the original soft limit
//! back, since some (select()-based ones) misbehave above 1024.

use std::sync::atomic::{AtomicU64, Ordering};

/// The soft limit the daemon was started with; 0 until raised.
static ORIGINAL_SOFT: AtomicU64 = AtomicU64::new(0);

/// Raises the soft descriptor limit to the hard one; returns (old, new).
pub fn raise_nofile() -> std::io::Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: r is a valid rlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let old = r.rlim_cur;
    if r.rlim_cur < r.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: r.rlim_max,
            rlim_max: r.rlim_max,
        };
        // SAFETY: a valid rlimit; raising the soft limit up to the hard one
        // needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        ORIGINAL_SOFT.store(old, Ordering::Relaxed);
    }
    Ok((old, r.rlim_max))
}

/// In a child between fork and exec: puts the original soft limit back.
/// Async-signal-safe (an atomic load and one system call).
pub fn restore_nofile_in_child() -> std::io::Result<()> {
    let old = ORIGINAL_SOFT.load(Ordering::Relaxed);
    if old == 0 {
        return Ok(());
    }
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit are async-signal-safe; r is valid.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        r.rlim_cur = old.min(r.rlim_max);
        if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
