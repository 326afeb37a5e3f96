//! Starting a child as posix_spawn does: `clone(CLONE_VM | CLONE_VFORK)`
//! on a stack of its own, so that the daemon's page tables are not copied
//! (a fork of a process with tens of MB resident costs a millisecond or more
//! on a loaded machine, and every page the parent writes afterwards faults).
//!
//! The child shares the daemon's memory until it execs: it must not
//! allocate, take a lock, or call a libc wrapper that acts on the whole
//! process (glibc's setuid family signals every thread it knows of — the
//! daemon's); setgroups/setresgid/setresuid are made as raw system calls.
//! Every signal is blocked around the clone, and the child resets the
//! handlers the daemon installed before it unblocks them, so that no
//! handler of the daemon's runs on the child's stack.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// The child's stack; the lowest page is a guard.
const STACK: usize = 256 * 1024;

/// The program and how to find it, prepared in the parent.
pub struct Exec {
    /// The paths to try, in order (one for a program with a '/', else one
    /// per PATH entry, as execvp does).
    pub candidates: Vec<CString>,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

/// What the child does before exec: system calls only, on prepared data.
pub type Setup<'a> = &'a (dyn Fn() -> io::Result<()> + Sync);

struct Shared<'a> {
    exec: &'a Exec,
    /// argv as pointers; slot 0 is replaced for each candidate.
    argv: Vec<*const libc::c_char>,
    /// /bin/sh, the candidate, argv[1..]: for a file without a format
    /// the kernel knows (ENOEXEC), as execvp does.
    sh_argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    stdio: [libc::c_int; 3],
    setup: Setup<'a>,
    parent_mask: libc::sigset_t,
    /// The errno that made the child give up; 0 when it exec'd.
    error: AtomicI32,
}

/// Starts the child; returns its pid once it has exec'd, or the reason it
/// could not. Blocks the calling thread until then.
pub fn spawn(exec: &Exec, stdio: [&OwnedFd; 3], setup: Setup<'_>) -> io::Result<libc::pid_t> {
    let argv: Vec<*const libc::c_char> = exec
        .argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let mut sh_argv: Vec<*const libc::c_char> = vec![c"/bin/sh".as_ptr(), std::ptr::null()];
    sh_argv.extend(exec.argv.iter().skip(1).map(|a| a.as_ptr()));
    sh_argv.push(std::ptr::null());
    let envp: Vec<*const libc::c_char> = exec
        .envp
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // SAFETY: an anonymous private mapping of STACK bytes; its lowest page
    // made inaccessible as a guard; unmapped below.
    let stack = unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        libc::mprotect(p, 4096, libc::PROT_NONE);
        p
    };
    let mut shared = Shared {
        exec,
        argv,
        sh_argv,
        envp,
        stdio: stdio.map(|f| f.as_raw_fd()),
        setup,
        // SAFETY: a zeroed sigset_t is a valid value to be filled below.
        parent_mask: unsafe { std::mem::zeroed() },
        error: AtomicI32::new(0),
    };
    // SAFETY: every signal blocked on this thread around the clone (the
    // child unblocks after resetting the handlers); the child runs
    // `child` on the mapping's top with `shared`, which stays alive and
    // untouched since this thread is suspended (CLONE_VFORK) until the
    // child execs or exits.
    let pid = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut shared.parent_mask);
        let top = (stack as *mut u8).add(STACK);
        let pid = libc::clone(
            child,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&raw mut shared).cast(),
        );
        let err = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &shared.parent_mask, std::ptr::null_mut());
        libc::munmap(stack, STACK);
        if pid < 0 {
            return Err(err);
        }
        pid
    };
    match shared.error.load(Ordering::SeqCst) {
        0 => Ok(pid),
        errno => {
            // It exited: reap it.
            let mut status = 0;
            // SAFETY: waits for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}

extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg is the parent's Shared, alive while the parent waits.
    let s = unsafe { &*(arg as *const Shared<'_>) };
    let errno = match child_run(s) {
        Ok(()) => libc::EINVAL,
        Err(e) => e.raw_os_error().unwrap_or(libc::EINVAL),
    };
    s.error.store(errno.max(1), Ordering::SeqCst);
    // SAFETY: ends the child without running anything of the parent's.
    unsafe { libc::_exit(127) }
}

/// Returns only on failure.
fn child_run(s: &Shared<'_>) -> io::Result<()> {
    // SAFETY: plain system calls on prepared data; the pointer arrays are
    // the child's to change (the parent is suspended).
    unsafe {
        // Handlers of the daemon's back to their defaults (exec would do it,
        // but a signal may arrive before); SIGPIPE, which the Rust runtime
        // ignores, as a program expects it.
        for sig in 1..65 {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && (old.sa_sigaction != libc::SIG_IGN || sig == libc::SIGPIPE)
                && old.sa_sigaction != libc::SIG_DFL
            {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        for (target, &fd) in s.stdio.iter().enumerate() {
            let target = target as libc::c_int;
            if fd == target {
                check(libc::fcntl(fd, libc::F_SETFD, 0))?;
            } else {
                check(libc::dup2(fd, target))?;
            }
        }
        (s.setup)()?;
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        let argv = s.argv.as_ptr() as *mut *const libc::c_char;
        let sh_argv = s.sh_argv.as_ptr() as *mut *const libc::c_char;
        let envp = s.envp.as_ptr();
        let mut denied = false;
        let mut last = libc::ENOENT;
        for c in &s.exec.candidates {
            libc::execve(c.as_ptr(), argv, envp);
            let e = *libc::__errno_location();
            match e {
                libc::ENOEXEC => {
                    *sh_argv.add(1) = c.as_ptr();
                    libc::execve(c"/bin/sh".as_ptr(), sh_argv, envp);
                    return Err(io::Error::last_os_error());
                }
                libc::EACCES => denied = true,
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
                _ => return Err(io::Error::from_raw_os_error(e)),
            }
            last = e;
        }
        Err(io::Error::from_raw_os_error(if denied {
            libc::EACCES
        } else {
            last
        }))
    }
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The paths execvp would try for `program` with the environment's PATH
/// (glibc's default when it has none).
pub fn candidates(program: &str, path: Option<&str>) -> Vec<String> {
    if program.contains('/') {
        return vec![program.to_string()];
    }
    path.unwrap_or("/bin:/usr/bin")
        .split(':')
        .map(|d| {
            let d = if d.is_empty() { "." } else { d };
            format!("{}/{program}", d.trim_end_matches('/'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_path_as_execvp_does() {
        assert_eq!(candidates("/bin/true", Some("/x")), vec!["/bin/true"]);
        assert_eq!(candidates("./a", None), vec!["./a"]);
        assert_eq!(candidates("true", None), vec!["/bin/true", "/usr/bin/true"]);
        assert_eq!(
            candidates("true", Some("/a/::/b")),
            vec!["/a/true", "./true", "/b/true"]
        );
    }
}
