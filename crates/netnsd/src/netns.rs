//! Named network namespaces under /run/netns, made and removed the way
//! iproute2 does (`ip/ipnetns.c`): a flock on the directory, the directory made
//! a shared mount point, and the new namespace bind-mounted on a file of its
//! own. Everything here blocks; callers run it off the async workers, and the
//! `unshare`/`setns` happen on a dedicated OS thread that is thrown away
//! ([`thread`], which the netlink layer and sysctls use too).

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;

pub mod thread;

/// `f_type` of the nsfs pseudo file system that namespace files live on.
const NSFS_MAGIC: i64 = 0x6e73_6673;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("namespace {0:?} already exists in {1}")]
    AlreadyExists(String, String),
    #[error("namespace {0:?} does not exist")]
    NotFound(String),
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

    /// Creates the directory if needed and takes iproute2's lock on it.
    fn lock(&self) -> Result<Flock<File>, NetnsError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&self.dir)
            .map_err(os(format!("create {}", self.dir.display())))?;
        let f = File::open(&self.dir).map_err(os(format!("open {}", self.dir.display())))?;
        Flock::lock(f, FlockArg::LockExclusive)
            .map_err(|(_, e)| os(format!("lock {}", self.dir.display()))(e))
    }

    /// Makes the directory a shared mount point, binding it onto itself first
    /// if it is not a mount point yet, so that namespace mounts propagate to
    /// every mount namespace that shares it (as iproute2 does).
    fn make_shared(&self) -> Result<(), NetnsError> {
        let flags = MsFlags::MS_SHARED | MsFlags::MS_REC;
        match mount(None::<&str>, &self.dir, Some("none"), flags, None::<&str>) {
            Ok(()) => return Ok(()),
            Err(Errno::EINVAL) => {}
            Err(e) => return Err(os(format!("make {} shared", self.dir.display()))(e)),
        }
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

    /// Prepares the directory (created, shared mount point).
    pub fn prepare(&self) -> Result<(), NetnsError> {
        let _lock = self.lock()?;
        self.make_shared()
    }

    /// Makes a new namespace bound at `/run/netns/NAME` and runs `open`
    /// inside it, on the thread that made it, with the path it is bound at
    /// (the daemon opens its netlink platform there). On failure nothing is
    /// left behind.
    pub fn create<T: Send + 'static>(
        &self,
        name: &str,
        open: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
    ) -> Result<Created<T>, NetnsError> {
        let _lock = self.lock()?;
        self.make_shared()?;
        let path = self.path_of(name);
        // O_RDONLY|O_CREAT|O_EXCL, mode 0, as iproute2 makes it.
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
        let made = {
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

    /// Unmounts and removes `/run/netns/NAME`, as `ip netns del` does.
    pub fn remove(&self, name: &str) -> Result<(), NetnsError> {
        let _lock = self.lock()?;
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
        let _lock = self.lock()?;
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
    fn own_netns_file_is_nsfs() {
        assert!(nsfs_inode(Path::new("/proc/self/ns/net")).is_some());
        assert!(nsfs_inode(Path::new("/proc/self/status")).is_none());
    }
}
