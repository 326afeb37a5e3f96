//! Running a program inside a namespace as the user who asked, with the
//! semantics of `ip netns exec` (a private mount namespace in which
//! /etc/netns/NAME/* is bound over /etc and /sys is remounted) and the known
//! DNS leaks closed: the host's resolver sockets (systemd-resolved's, nscd's)
//! are hidden, and the namespace's nsswitch.conf resolves hosts by files and
//! DNS only.
//!
//! Everything that may allocate or take locks (user lookups, paths, C
//! strings) is prepared in the parent; the child, between fork and exec,
//! only makes system calls. The fork happens on a thread of its own, never
//! on an async worker, and nothing the caller names (its working directory,
//! its program, its home) is looked at in the parent: a path on a file
//! system that does not answer (a stopped FUSE server, a dead NFS server)
//! stalls only the child, which [`start_within`] kills when it has not
//! exec'd in time.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::Duration;

use nix::unistd::{Gid, Uid, User};

pub mod unit;
mod vfork;

/// Who the program runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: Option<PathBuf>,
}

/// The identity of uid `uid`: its primary group and home from the user
/// database; supplementary groups as the bus reported them when it did, else
/// from the group database.
pub fn identity(uid: u32, bus_groups: Option<Vec<u32>>) -> io::Result<Identity> {
    let user = User::from_uid(Uid::from_raw(uid)).map_err(io::Error::from)?;
    let (gid, home, name) = match &user {
        Some(u) => (u.gid.as_raw(), Some(u.dir.clone()), Some(u.name.clone())),
        None => (
            bus_groups
                .as_ref()
                .and_then(|g| g.first().copied())
                .unwrap_or(uid),
            None,
            None,
        ),
    };
    let groups = match (bus_groups, name) {
        (Some(g), _) => g,
        (None, Some(name)) => {
            let c = CString::new(name).map_err(io::Error::other)?;
            nix::unistd::getgrouplist(&c, Gid::from_raw(gid))
                .map_err(io::Error::from)?
                .into_iter()
                .map(Gid::as_raw)
                .collect()
        }
        (None, None) => vec![gid],
    };
    Ok(Identity {
        uid,
        gid,
        groups,
        home,
    })
}

/// Who asked, as the bus knows it: the identity is looked up from it on
/// the thread that starts the program (one hand-off fewer per Spawn than a
/// lookup of its own on the blocking pool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    /// The supplementary groups the bus reported, if it did.
    pub groups: Option<Vec<u32>>,
}

impl Caller {
    /// [`identity`], blocking; its error says whose lookup failed.
    pub fn identity(&self) -> io::Result<Identity> {
        identity(self.uid, self.groups.clone())
            .map_err(|e| io::Error::other(format!("look up uid {}: {e}", self.uid)))
    }
}

/// A program to start.
pub struct Request {
    pub argv: Vec<String>,
    pub env: HashMap<String, String>,
    /// Empty: the user's home directory, else "/".
    pub cwd: String,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Make stdin the controlling terminal of the new session.
    pub pty: bool,
    pub identity: Identity,
    /// The namespace's file (/run/netns/NAME), or the daemon's own.
    pub netns: File,
    /// /etc/netns/NAME, whose entries are bound over /etc; None for rootns.
    pub etc_dir: Option<PathBuf>,
}

/// Resolver sockets of the host that must not be reachable from inside.
const RESOLVER_DIRS: &[&str] = &["/run/systemd/resolve", "/run/nscd"];

fn cstr(s: impl AsRef<[u8]>) -> io::Result<CString> {
    CString::new(s.as_ref())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in an argument"))
}

/// One entry of /etc/netns/NAME bound over the file /etc/ENTRY stands for.
#[derive(Debug)]
struct Bind {
    src: CString,
    /// /etc/ENTRY, or where it links to: mount(2) follows a symbolic link,
    /// so the bind lands on the link's target.
    dst: CString,
    /// The target is under one of the hidden resolver directories (as
    /// /etc/resolv.conf → /run/systemd/resolve/stub-resolv.conf is, with
    /// systemd-resolved): the tmpfs over that directory would hide the
    /// bind, so the file is made in the tmpfs and bound there instead.
    in_hidden: bool,
}

/// Where /etc/ENTRY leads: itself, or its symbolic link's target (followed
/// to the end; a dangling one as far as it goes). None when it is missing.
fn resolve_etc(target: &Path) -> Option<PathBuf> {
    let meta = fs::symlink_metadata(target).ok()?;
    if !meta.file_type().is_symlink() {
        return Some(target.to_path_buf());
    }
    if let Ok(p) = fs::canonicalize(target) {
        return Some(p);
    }
    // Dangling (the resolver is not running): its directory, resolved, and
    // the last name.
    let link = fs::read_link(target).ok()?;
    let link = Path::new("/etc").join(link);
    let parent = fs::canonicalize(link.parent()?).unwrap_or(link.parent()?.to_path_buf());
    Some(parent.join(link.file_name()?))
}

/// Each entry of /etc/netns/NAME over /etc/ENTRY, where /etc/ENTRY exists
/// (as `ip netns exec` does) — or links into a directory that `hidden`
/// covers, where it is made.
fn etc_binds(dir: &Path, hidden: &[&str]) -> io::Result<Vec<Bind>> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for e in rd {
        let e = e?;
        let Some(target) = resolve_etc(&Path::new("/etc").join(e.file_name())) else {
            continue;
        };
        let in_hidden = hidden
            .iter()
            .any(|h| target.starts_with(h) && target != Path::new(h));
        if in_hidden || target.exists() {
            out.push(Bind {
                src: cstr(e.path().as_os_str().as_bytes())?,
                dst: cstr(target.as_os_str().as_bytes())?,
                in_hidden,
            });
        }
    }
    Ok(out)
}

/// Starts the program on a thread of the blocking pool, which is suspended
/// while the child prepares (CLONE_VFORK), and calls `done` on that thread
/// once the child has exec'd (or failed to): no async task between the
/// caller and that thread, two hand-offs fewer per Spawn than awaiting it.
/// Past `limit` the child (stuck before exec: its working directory or
/// program is on a file system that does not answer) is killed and reaped,
/// and `done` is called at once with io::ErrorKind::TimedOut. Call it from
/// within the runtime.
pub fn start_within(
    req: impl FnOnce() -> io::Result<Request> + Send + 'static,
    limit: Duration,
    done: impl FnOnce(io::Result<Proc>) + Send + 'static,
) {
    // The child writes its pid here first thing, so that a child stuck
    // before exec (while the thread still waits for it) can be killed.
    let (pid_r, pid_w) =
        match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK) {
            Ok(p) => p,
            Err(e) => return done(Err(e.into())),
        };
    // Whoever takes it answers: the thread, or the watchdog at the limit.
    // The watchdog holds the lock while it kills, so the thread, finding it
    // taken, reaps the child only after the kill (its pid cannot be reused
    // before).
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some((done, pid_r))));
    let t0 = std::time::Instant::now();
    let watched = slot.clone();
    let watchdog = tokio::spawn(async move {
        tokio::time::sleep(limit).await;
        let mut taken = lock(&watched);
        let Some((done, pid_r)) = taken.take() else {
            return;
        };
        let mut buf = [0u8; 4];
        // SAFETY: reads at most 4 bytes into a 4-byte buffer from a
        // descriptor we own.
        let n = unsafe { libc::read(pid_r.as_raw_fd(), buf.as_mut_ptr().cast(), 4) };
        if n == 4 {
            // Our child, not reaped yet: the pid cannot be anyone else's.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(libc::pid_t::from_ne_bytes(buf)),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        drop(taken);
        done(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "it had not started after {} s (its working directory or program is on a file system that does not answer?); it was killed",
                limit.as_secs()
            ),
        )));
    });
    tokio::task::spawn_blocking(move || {
        // A panic is answered as one, not left to the watchdog's limit.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            req().and_then(|req| start(req, Some(pid_w)))
        }))
        .unwrap_or_else(|_| Err(io::Error::other("the spawn thread panicked")));
        let taken = lock(&slot).take();
        match taken {
            Some((done, pid_r)) => {
                drop(pid_r);
                tracing::debug!(
                    us = t0.elapsed().as_micros() as u64,
                    "spawn: the child exec'd (or failed)"
                );
                done(r);
                watchdog.abort();
            }
            // Answered TimedOut already, and killed: reap it.
            None => {
                if let Ok(child) = r {
                    let _ = child.kill();
                    tokio::spawn(async move {
                        let _ = child.wait().await;
                    });
                }
            }
        }
    });
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the program; the error is the reason it could not start (a missing
/// program comes back as io::ErrorKind::NotFound). Blocks until the child
/// has exec'd. The child writes its pid (native-endian, 4 bytes) to
/// `announce` first, if given.
pub fn start(req: Request, announce: Option<OwnedFd>) -> io::Result<Proc> {
    let program = req
        .argv
        .first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty argv"))?;
    let hidden: Vec<&str> = RESOLVER_DIRS
        .iter()
        .copied()
        .filter(|d| Path::new(d).is_dir())
        .collect();
    let binds = match &req.etc_dir {
        Some(d) => etc_binds(d, &hidden)?,
        None => Vec::new(),
    };
    let hide: Vec<CString> = hidden.iter().map(cstr).collect::<io::Result<_>>()?;
    // Looked at in the child only, as the user (see the module's comment).
    let cwd = if !req.cwd.is_empty() {
        Cwd::Given(cstr(&req.cwd)?)
    } else {
        match &req.identity.home {
            Some(h) => {
                use std::os::unix::ffi::OsStrExt;
                Cwd::HomeOrRoot(cstr(h.as_os_str().as_bytes())?)
            }
            None => Cwd::HomeOrRoot(c"/".to_owned()),
        }
    };
    let announce_fd = announce.as_ref().map_or(-1, |fd| fd.as_raw_fd());
    let sys_ro = sys_is_read_only();
    let groups: Vec<libc::gid_t> = req.identity.groups.clone();
    let (uid, gid) = (req.identity.uid, req.identity.gid);
    let netns_fd = req.netns.as_raw_fd();
    let pty = req.pty;
    let in_ns = req.etc_dir.is_some();

    let path = req.env.get("PATH").map(String::as_str);
    let exec = vfork::Exec {
        candidates: vfork::candidates(program, path)
            .into_iter()
            .map(cstr)
            .collect::<io::Result<_>>()?,
        argv: req.argv.iter().map(cstr).collect::<io::Result<_>>()?,
        envp: req
            .env
            .iter()
            .map(|(k, v)| cstr(format!("{k}={v}")))
            .collect::<io::Result<_>>()?,
    };
    let null = || -> io::Result<OwnedFd> {
        Ok(File::options()
            .read(true)
            .write(true)
            .open("/dev/null")?
            .into())
    };
    let stdin = req.stdin.map_or_else(null, Ok)?;
    let stdout = req.stdout.map_or_else(null, Ok)?;
    let stderr = req.stderr.map_or_else(null, Ok)?;
    let setup = move || {
        child_setup(
            announce_fd,
            netns_fd,
            in_ns,
            &binds,
            sys_ro,
            &hide,
            pty,
            &groups,
            gid,
            uid,
            &cwd,
        )
    };
    let pid = vfork::spawn(&exec, [&stdin, &stdout, &stderr], &setup);
    drop(req.netns);
    drop(announce);
    Ok(Proc { pid: pid? })
}

/// A program started by [`start`]: the daemon's child until waited for.
#[derive(Debug)]
pub struct Proc {
    pid: libc::pid_t,
}

impl Proc {
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    pub fn kill(&self) -> io::Result<()> {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .map_err(io::Error::from)
    }

    fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        use std::os::unix::process::ExitStatusExt;
        let mut status = 0;
        // SAFETY: waits for our own child, without blocking.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        match r {
            0 => Ok(None),
            r if r < 0 => Err(io::Error::last_os_error()),
            _ => Ok(Some(ExitStatus::from_raw(status))),
        }
    }

    /// Waits for the end without holding a thread (see [`wait_exit`]).
    pub async fn wait(self) -> io::Result<ExitStatus> {
        let Some(fd) = pidfd_open(self.pid) else {
            return tokio::task::spawn_blocking(move || {
                use std::os::unix::process::ExitStatusExt;
                let mut status = 0;
                // SAFETY: waits for our own child.
                let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
                if r < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(ExitStatus::from_raw(status))
                }
            })
            .await
            .map_err(io::Error::other)?;
        };
        until_exited(fd, || self.try_wait()).await
    }
}

/// Where the program starts.
enum Cwd {
    /// The directory the caller asked for: it must work.
    Given(CString),
    /// The user's home if the user can enter it, else "/".
    HomeOrRoot(CString),
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn child_setup(
    announce_fd: libc::c_int,
    netns_fd: libc::c_int,
    in_ns: bool,
    binds: &[Bind],
    sys_ro: bool,
    hide: &[CString],
    pty: bool,
    groups: &[libc::gid_t],
    gid: u32,
    uid: u32,
    cwd: &Cwd,
) -> io::Result<()> {
    // SAFETY: plain system calls on valid, NUL-terminated strings.
    unsafe {
        if announce_fd >= 0 {
            let pid = libc::getpid().to_ne_bytes();
            libc::write(announce_fd, pid.as_ptr().cast(), pid.len());
        }
    }
    crate::limits::restore_nofile_in_child()?;
    // SAFETY: plain system calls on valid, NUL-terminated strings.
    unsafe {
        if in_ns {
            check(libc::setns(netns_fd, libc::CLONE_NEWNET))?;
        }
        check(libc::unshare(libc::CLONE_NEWNS))?;
        // Nothing done here may propagate back to the host.
        check(libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_SLAVE | libc::MS_REC,
            std::ptr::null(),
        ))?;
        // The host's resolver directories hidden under an empty tmpfs,
        // writable until the files bound into it are made.
        const HIDE_FLAGS: libc::c_ulong = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        for d in hide {
            check(libc::mount(
                c"tmpfs".as_ptr(),
                d.as_ptr(),
                c"tmpfs".as_ptr(),
                HIDE_FLAGS,
                c"mode=0755,size=4k".as_ptr().cast(),
            ))?;
        }
        for b in binds {
            if b.in_hidden {
                let fd = libc::open(
                    b.dst.as_ptr(),
                    libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                    0o644,
                );
                check(fd)?;
                libc::close(fd);
            }
            check(libc::mount(
                b.src.as_ptr(),
                b.dst.as_ptr(),
                c"none".as_ptr(),
                libc::MS_BIND,
                std::ptr::null(),
            ))?;
        }
        for d in hide {
            check(libc::mount(
                std::ptr::null(),
                d.as_ptr(),
                std::ptr::null(),
                libc::MS_REMOUNT | libc::MS_RDONLY | HIDE_FLAGS,
                std::ptr::null(),
            ))?;
        }
        if in_ns {
            // /sys shows the namespace it was mounted in: mount it anew.
            check(libc::umount2(c"/sys".as_ptr(), libc::MNT_DETACH))?;
            let flags = if sys_ro { libc::MS_RDONLY } else { 0 };
            check(libc::mount(
                c"sysfs".as_ptr(),
                c"/sys".as_ptr(),
                c"sysfs".as_ptr(),
                flags,
                std::ptr::null(),
            ))?;
        }
        check(libc::setsid())?;
        if pty {
            check(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
        }
        // Raw system calls: glibc's wrappers would act on every thread of
        // the daemon's (see spawn::vfork).
        check(libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) as libc::c_int)?;
        check(libc::syscall(libc::SYS_setresgid, gid, gid, gid) as libc::c_int)?;
        check(libc::syscall(libc::SYS_setresuid, uid, uid, uid) as libc::c_int)?;
        match cwd {
            Cwd::Given(dir) => check(libc::chdir(dir.as_ptr()))?,
            Cwd::HomeOrRoot(home) => {
                if libc::chdir(home.as_ptr()) < 0 {
                    check(libc::chdir(c"/".as_ptr()))?;
                }
            }
        }
        // Only stdin, stdout and stderr go to the program.
        check(libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        ) as libc::c_int)?;
    }
    Ok(())
}

fn sys_is_read_only() -> bool {
    nix::sys::statvfs::statvfs("/sys")
        .map(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
        .unwrap_or(false)
}

/// How a child ended, as ProcessExited reports it: the exit code, or minus
/// the number of the signal that killed it.
/// Waits for a child to end without holding a thread: a pidfd becomes
/// readable when the process exits, and is watched by the runtime. (Without
/// pidfd_open, Linux < 5.3, a blocking-pool thread waits instead.)
pub async fn wait_exit(mut child: Child) -> io::Result<std::process::ExitStatus> {
    let Some(fd) = pidfd_open(child.id() as libc::pid_t) else {
        return tokio::task::spawn_blocking(move || child.wait())
            .await
            .map_err(io::Error::other)?;
    };
    until_exited(fd, || child.try_wait()).await
}

/// A pidfd for `pid`; None where the kernel has no pidfd_open (< 5.3).
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: fd is a descriptor just opened that nothing else owns.
    (fd >= 0)
        .then(|| unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as libc::c_int) })
}

/// Watches `pidfd` on the runtime until `try_wait` reports the end.
async fn until_exited(
    pidfd: OwnedFd,
    mut try_wait: impl FnMut() -> io::Result<Option<ExitStatus>>,
) -> io::Result<ExitStatus> {
    // SAFETY: the AsyncFd owns the OwnedFd, which stays open and the same
    // for the AsyncFd's whole life.
    let watched = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE)
    }
    .map_err(|e| e.into_parts().1)?;
    loop {
        if let Some(status) = try_wait()? {
            return Ok(status);
        }
        watched.readable().await?.clear_ready();
    }
}

pub fn status_code(s: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => -sig,
        _ => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_of_root_has_its_groups() {
        let id = identity(0, None).unwrap();
        assert_eq!((id.uid, id.gid), (0, 0));
        assert!(id.groups.contains(&0));
        let id = identity(0, Some(vec![0, 27])).unwrap();
        assert_eq!(id.groups, vec![0, 27]);
    }

    #[test]
    fn etc_binds_only_existing_targets() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("resolv.conf"), "").unwrap();
        fs::write(tmp.path().join("no-such-file-in-etc.conf"), "").unwrap();
        let b = etc_binds(tmp.path(), &[]).unwrap();
        assert_eq!(b.len(), 1);
        assert!(!b[0].in_hidden);
        assert!(
            etc_binds(&tmp.path().join("missing"), &[])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_link_into_a_hidden_directory_is_bound_there() {
        // /etc/mtab links to ../proc/self/mounts on every Linux host: a
        // stand-in for /etc/resolv.conf → /run/systemd/resolve/….
        if !fs::symlink_metadata("/etc/mtab").is_ok_and(|m| m.file_type().is_symlink()) {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("mtab"), "").unwrap();
        let target = resolve_etc(Path::new("/etc/mtab")).unwrap();
        assert!(target.starts_with("/proc"), "{}", target.display());
        let b = etc_binds(tmp.path(), &["/proc"]).unwrap();
        assert_eq!(b.len(), 1);
        assert!(b[0].in_hidden);
        assert_eq!(b[0].dst.to_str().unwrap(), target.to_str().unwrap());
        let b = etc_binds(tmp.path(), &["/run/nscd"]).unwrap();
        assert!(!b[0].in_hidden);
        assert_eq!(resolve_etc(Path::new("/etc/no-such-file")), None);
    }
}
