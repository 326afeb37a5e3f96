//! Named network namespaces under /run/netns, made and removed the way
//! iproute2 does (`ip/ipnetns.c`): the directory made a shared mount point,
//! and the new namespace bind-mounted on a file of its own. Everything here
//! blocks; callers run it off the async workers, and the `unshare`/`setns`
//! happen on a dedicated OS thread that is thrown away ([`thread`], which the
//! netlink layer and sysctls use too).
//!
//! iproute2 flocks the directory around making it a shared mount point, so
//! that two `ip netns add` do not stack bind mounts. Any user can open the
//! directory and hold that lock, so the daemon takes it only when the
//! directory is not a shared mount point yet (once after boot: it makes it
//! one at start), never blocks on it, and gives up after a bounded wait with
//! [`NetnsError::Busy`], naming the holder from /proc/locks.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;

pub mod attach;
pub mod thread;

/// `f_type` of the nsfs pseudo file system that namespace files live on.
const NSFS_MAGIC: i64 = 0x6e73_6673;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("namespace {0:?} already exists in {1}")]
    AlreadyExists(String, String),
    #[error("namespace {0:?} does not exist")]
    NotFound(String),
    /// iproute2's lock on the run directory is held by someone else.
    #[error("{dir} is locked (iproute2's flock) by {holders}; try again when it is released")]
    Busy { dir: String, holders: String },
    #[error("{step}: {source}")]
    Os {
        step: String,
        #[source]
        source: io::Error,
    },
}

fn os<E: Into<io::Error>>(step: impl Into<String>) -> impl FnOnce(E) -> NetnsError {
    let step = step.into();
    move |e| NetnsError::Os {
        step,
        source: e.into(),
    }
}

/// A namespace the daemon has just made: its inode, and what was opened
/// inside it while it was made (the daemon's netlink platform).
pub struct Created<T> {
    pub inode: u64,
    pub platform: T,
}

/// An entry found in the run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    /// The namespace inode when the entry is a mounted namespace; `None` for a
    /// plain file (a namespace half made, by us or by `ip netns add` right now).
    pub inode: Option<u64>,
}

/// The directory of named namespaces (`/run/netns`).
#[derive(Debug, Clone)]
pub struct RunDir {
    dir: PathBuf,
}

impl RunDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RunDir { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn create_dir(&self) -> Result<(), NetnsError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&self.dir)
            .map_err(os(format!("create {}", self.dir.display())))
    }

    /// Takes iproute2's lock on the directory, trying again every few
    /// milliseconds for at most `wait` (never blocking in flock), then fails
    /// with Busy naming who holds it.
    fn lock(&self, wait: Duration) -> Result<Flock<File>, NetnsError> {
        let deadline = Instant::now() + wait;
        let mut f = File::open(&self.dir).map_err(os(format!("open {}", self.dir.display())))?;
        loop {
            match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(lock),
                Err((back, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                    f = back;
                    std::thread::sleep(LOCK_POLL);
                }
                Err((back, Errno::EWOULDBLOCK)) => {
                    return Err(NetnsError::Busy {
                        dir: self.dir.display().to_string(),
                        holders: describe_holders(&lock_holders(&back)),
                    });
                }
                Err((_, e)) => return Err(os(format!("lock {}", self.dir.display()))(e)),
            }
        }
    }

    /// Makes the directory a shared mount point if it is a mount point
    /// already (no lock needed: that is idempotent); false if it is not one.
    /// Not recursive: it is asked before every create, and MS_REC would walk
    /// every namespace mounted below (O(n) in the population); a namespace
    /// bound below a shared mount point is made shared by the kernel anyway.
    fn make_shared_if_mounted(&self) -> Result<bool, NetnsError> {
        let flags = MsFlags::MS_SHARED;
        match mount(None::<&str>, &self.dir, Some("none"), flags, None::<&str>) {
            Ok(()) => Ok(true),
            Err(Errno::EINVAL) => Ok(false),
            Err(e) => Err(os(format!("make {} shared", self.dir.display()))(e)),
        }
    }

    /// Whether the directory is a shared mount point now (made so if it is a
    /// mount point at all). Takes no lock.
    pub fn is_ready(&self) -> Result<bool, NetnsError> {
        self.create_dir()?;
        self.make_shared_if_mounted()
    }

    /// Makes the directory a shared mount point, binding it onto itself first
    /// if it is not a mount point yet, so that namespace mounts propagate to
    /// every mount namespace that shares it (as iproute2 does). Only the
    /// binding needs iproute2's lock, waited for at most `wait`.
    fn make_shared(&self, wait: Duration) -> Result<(), NetnsError> {
        if self.make_shared_if_mounted()? {
            return Ok(());
        }
        let _lock = self.lock(wait)?;
        // Someone else may have made it while we waited for the lock.
        if self.make_shared_if_mounted()? {
            return Ok(());
        }
        let flags = MsFlags::MS_SHARED | MsFlags::MS_REC;
        mount(
            Some(&self.dir),
            &self.dir,
            Some("none"),
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(os(format!("bind {} onto itself", self.dir.display())))?;
        mount(None::<&str>, &self.dir, Some("none"), flags, None::<&str>)
            .map_err(os(format!("make {} shared", self.dir.display())))
    }

    /// Prepares the directory (created, shared mount point), waiting at
    /// most `wait` for iproute2's lock if it is needed.
    pub fn prepare(&self, wait: Duration) -> Result<(), NetnsError> {
        self.create_dir()?;
        self.make_shared(wait)
    }

    /// Makes a new namespace bound at `/run/netns/NAME` and runs `open`
    /// inside it, on the thread that made it, with the path it is bound at
    /// (the daemon opens its netlink platform there). The directory should
    /// be prepared first ([`RunDir::prepare`]): if it is not, iproute2's lock
    /// is tried once, without waiting. On failure nothing is left behind.
    pub fn create<T: Send + 'static>(
        &self,
        name: &str,
        open: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
    ) -> Result<Created<T>, NetnsError> {
        self.create_on(name, open, false)
    }

    /// As [`RunDir::create`], all of it on the calling thread, which must be
    /// a throw-away thread of its own ([`thread::run_async`]): one hand-off
    /// for the caller instead of a blocking-pool thread and then another.
    pub fn create_here<T: Send + 'static>(
        &self,
        name: &str,
        open: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
    ) -> Result<Created<T>, NetnsError> {
        self.create_on(name, open, true)
    }

    fn create_on<T: Send + 'static>(
        &self,
        name: &str,
        open: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
        here: bool,
    ) -> Result<Created<T>, NetnsError> {
        self.prepare(Duration::ZERO)?;
        let path = self.mount_point(name)?;
        let made = if here {
            in_new_netns(&path, open)
        } else {
            let path = path.clone();
            thread::run("netns-create", move || Ok(in_new_netns(&path, open)))
                .map_err(os("start the namespace thread"))
                .and_then(|made| made)
        };
        let result = made.and_then(|platform| {
            let inode = fs::metadata(&path)
                .map_err(os(format!("stat {}", path.display())))?
                .ino();
            Ok(Created { inode, platform })
        });
        if result.is_err() {
            let _ = umount2(&path, MntFlags::MNT_DETACH);
            let _ = fs::remove_file(&path);
        }
        result
    }

    /// Makes the empty file `/run/netns/NAME` a namespace is then bound
    /// on: O_RDONLY|O_CREAT|O_EXCL, mode 0, as iproute2 makes it.
    fn mount_point(&self, name: &str) -> Result<PathBuf, NetnsError> {
        let path = self.path_of(name);
        match nix::fcntl::open(
            &path,
            OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => drop(fd),
            Err(Errno::EEXIST) => {
                return Err(NetnsError::AlreadyExists(
                    name.to_owned(),
                    self.dir.display().to_string(),
                ));
            }
            Err(e) => return Err(os(format!("create {}", path.display()))(e)),
        }
        Ok(path)
    }

    /// Binds an existing namespace — `ns`, its open nsfs file (a spare made
    /// ahead, see `crate::spare`) — at `/run/netns/NAME`, as [`RunDir::create`]
    /// binds a new one: the file made O_EXCL, then the bind mount. A few
    /// system calls on a root-only directory and no wait: done in place,
    /// with no hand-off to another thread. The directory should be
    /// prepared first (see `create`). On failure nothing is left behind.
    pub fn bind(&self, name: &str, ns: &File) -> Result<(), NetnsError> {
        self.prepare(Duration::ZERO)?;
        let path = self.mount_point(name)?;
        let source = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(ns));
        if let Err(e) = mount(
            Some(source.as_str()),
            &path,
            Some("none"),
            MsFlags::MS_BIND,
            None::<&str>,
        ) {
            let _ = fs::remove_file(&path);
            return Err(os(format!("bind the namespace at {}", path.display()))(e));
        }
        Ok(())
    }

    /// Unmounts and removes `/run/netns/NAME`, as `ip netns del` does (with
    /// no lock, as it).
    pub fn remove(&self, name: &str) -> Result<(), NetnsError> {
        let path = self.path_of(name);
        if fs::symlink_metadata(&path).is_err() {
            return Err(NetnsError::NotFound(name.to_owned()));
        }
        match umount2(&path, MntFlags::MNT_DETACH) {
            Ok(()) | Err(Errno::EINVAL) => {}
            Err(e) => return Err(os(format!("unmount {}", path.display()))(e)),
        }
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(os(format!("remove {}", path.display()))(e)),
        }
    }

    /// Removes a plain file left by a create that did not finish (never a
    /// mounted namespace).
    pub fn remove_leftover(&self, name: &str) -> Result<(), NetnsError> {
        let path = self.path_of(name);
        if nsfs_inode(&path).is_some() {
            return Ok(());
        }
        fs::remove_file(&path).map_err(os(format!("remove leftover {}", path.display())))
    }

    /// Lists the entries of the directory.
    pub fn scan(&self) -> Result<Vec<Found>, NetnsError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(os(format!("read {}", self.dir.display()))(e)),
        };
        let mut found = Vec::new();
        for entry in rd {
            let entry = entry.map_err(os(format!("read {}", self.dir.display())))?;
            let Ok(name) = entry.file_name().into_string() else {
                tracing::warn!(name = ?entry.file_name(), "skipping a namespace whose name is not UTF-8");
                continue;
            };
            found.push(Found {
                inode: nsfs_inode(&entry.path()),
                name,
            });
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// The inode of `/run/netns/NAME` if it is a mounted namespace.
    pub fn inode_of(&self, name: &str) -> Option<u64> {
        nsfs_inode(&self.path_of(name))
    }
}

/// How often a lock held by someone else is tried again.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// A process holding a lock, as /proc/locks and /proc/PID tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub uid: Option<u32>,
    pub command: Option<String>,
}

/// The processes holding a flock on the file open as `file`.
fn lock_holders(file: &File) -> Vec<Holder> {
    let Ok(meta) = file.metadata() else {
        return Vec::new();
    };
    let locks = fs::read_to_string("/proc/locks").unwrap_or_default();
    flock_pids(&locks, meta.dev(), meta.ino())
        .into_iter()
        .map(|pid| Holder {
            pid,
            uid: fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid()),
            command: fs::read_to_string(format!("/proc/{pid}/comm"))
                .ok()
                .map(|c| c.trim_end().to_owned()),
        })
        .collect()
}

/// The pids holding a FLOCK on device `dev`, inode `ino`, from the text of
/// /proc/locks (`1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF`; the
/// device as hexadecimal major:minor; waiters, `->` lines, left out).
fn flock_pids(locks: &str, dev: u64, ino: u64) -> Vec<u32> {
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let mut pids = Vec::new();
    for line in locks.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[1] != "FLOCK" {
            continue;
        }
        let mut id = f[5].split(':');
        let (Some(ma), Some(mi), Some(i)) = (id.next(), id.next(), id.next()) else {
            continue;
        };
        let same = u32::from_str_radix(ma, 16) == Ok(major)
            && u32::from_str_radix(mi, 16) == Ok(minor)
            && i.parse::<u64>() == Ok(ino);
        if let (true, Ok(pid)) = (same, f[4].parse::<u32>())
            && !pids.contains(&pid)
        {
            pids.push(pid);
        }
    }
    pids
}

fn describe_holders(holders: &[Holder]) -> String {
    if holders.is_empty() {
        return "another process (not shown in /proc/locks)".into();
    }
    holders
        .iter()
        .map(|h| {
            let mut s = format!("pid {}", h.pid);
            match (&h.command, h.uid) {
                (Some(c), Some(u)) => s += &format!(" ({c}, uid {u})"),
                (Some(c), None) => s += &format!(" ({c})"),
                (None, Some(u)) => s += &format!(" (uid {u})"),
                (None, None) => {}
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The namespace inode if `path` is a mounted namespace file.
pub fn nsfs_inode(path: &Path) -> Option<u64> {
    let st = nix::sys::statfs::statfs(path).ok()?;
    if st.filesystem_type().0 as i64 != NSFS_MAGIC {
        return None;
    }
    fs::metadata(path).ok().map(|m| m.ino())
}

/// The inode of the calling thread's network namespace.
pub fn current_netns_inode() -> io::Result<u64> {
    fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino())
}

/// Runs on a throw-away thread: moves the thread into a new namespace, binds
/// it at `path`, runs `open` inside it and moves back.
fn in_new_netns<T>(
    path: &Path,
    open: impl FnOnce(&Path) -> io::Result<T>,
) -> Result<T, NetnsError> {
    thread::within_new(|| {
        mount(
            Some("/proc/thread-self/ns/net"),
            path,
            Some("none"),
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(os(format!("bind the new namespace at {}", path.display())))?;
        open(path).map_err(os("open a netlink socket in the new namespace"))
    })
    .map_err(os("unshare the network namespace"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_of_missing_dir_is_empty() {
        let rd = RunDir::new("/nonexistent/netnsd-test/netns");
        assert_eq!(rd.scan().unwrap(), Vec::new());
    }

    #[test]
    fn scan_reports_plain_files_without_inode() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("b"), b"").unwrap();
        fs::write(tmp.path().join("a"), b"").unwrap();
        let rd = RunDir::new(tmp.path());
        let found = rd.scan().unwrap();
        assert_eq!(
            found,
            vec![
                Found {
                    name: "a".into(),
                    inode: None
                },
                Found {
                    name: "b".into(),
                    inode: None
                }
            ]
        );
    }

    #[test]
    fn flock_holders_are_read_from_proc_locks() {
        let locks = "\
1: FLOCK  ADVISORY  WRITE 4242 00:1a:77 0 EOF
1: -> FLOCK  ADVISORY  WRITE 5555 00:1a:77 0 EOF
2: POSIX  ADVISORY  WRITE 6666 00:1a:77 0 EOF
3: FLOCK  ADVISORY  WRITE 7777 00:1b:77 0 EOF
4: FLOCK  ADVISORY  READ 8888 fd:01:77 0 EOF
5: FLOCK  ADVISORY  WRITE 9999 00:1a:78 0 EOF
";
        let dev = libc::makedev(0, 0x1a);
        assert_eq!(flock_pids(locks, dev, 77), vec![4242]);
        assert_eq!(flock_pids(locks, libc::makedev(0xfd, 1), 77), vec![8888]);
        assert!(flock_pids(locks, dev, 1).is_empty());
        assert!(flock_pids("", dev, 77).is_empty());
    }

    #[test]
    fn a_held_lock_is_busy_after_the_wait_naming_its_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let rd = RunDir::new(tmp.path());
        let held = Flock::lock(File::open(tmp.path()).unwrap(), FlockArg::LockExclusive).unwrap();
        let start = Instant::now();
        match rd.lock(Duration::from_millis(100)) {
            Err(NetnsError::Busy { dir, holders }) => {
                assert_eq!(dir, tmp.path().display().to_string());
                assert!(
                    holders.contains(&format!("pid {}", std::process::id())),
                    "{holders}"
                );
            }
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert!(start.elapsed() < Duration::from_secs(2));
        drop(held);
        rd.lock(Duration::ZERO).expect("free now");
    }

    #[test]
    fn own_netns_file_is_nsfs() {
        assert!(nsfs_inode(Path::new("/proc/self/ns/net")).is_some());
        assert!(nsfs_inode(Path::new("/proc/self/status")).is_none());
    }
}
