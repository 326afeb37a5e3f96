//! Files read for a caller are read as the caller: on a thread of its own
//! whose filesystem ids (fsuid, fsgid) and supplementary groups are the
//! caller's, so the kernel checks every open — each directory on the way,
//! symlinks followed, ACLs — exactly as it would for the caller. Nothing a
//! caller could not read is read for it, and there is no window between a
//! check and the open (the open is the check).
//!
//! Only that thread's credentials change (setfsuid, setfsgid and the raw
//! setgroups system call are per thread; glibc's setgroups() would change
//! every thread of the daemon), and the thread ends with the work.

use netnsd_api::Error;

/// Who asked: the bus's credentials of the caller's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Caller {
    /// The caller `uid`, as the bus reported it (`bus_groups`: its
    /// supplementary groups, when the bus knows them), completed from the
    /// user database as a spawned program's identity is (blocking).
    pub fn lookup(uid: u32, bus_groups: Option<Vec<u32>>) -> Result<Caller, Error> {
        let id = crate::spawn::identity(uid, bus_groups)
            .map_err(|e| Error::Failed(format!("look up uid {uid}: {e}")))?;
        Ok(Caller {
            uid: id.uid,
            gid: id.gid,
            groups: id.groups,
        })
    }
}

/// Runs `work` on a new thread with the caller's filesystem credentials and
/// returns its result.
pub async fn run_as<T: Send + 'static>(
    caller: Caller,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("netnsd-as-caller".into())
        .spawn(move || {
            let r = become_caller(&caller).map(|()| work());
            let _ = tx.send(r);
        })
        .map_err(|e| Error::Failed(format!("start a thread: {e}")))?;
    rx.await
        .map_err(|_| Error::Failed("the thread reading as the caller died".into()))?
}

/// Takes the caller's filesystem credentials on this thread, and checks
/// they took.
fn become_caller(c: &Caller) -> Result<(), Error> {
    let me = nix::unistd::geteuid().as_raw();
    if me != 0 && c.uid == me {
        // Not root (a test): the caller is who we already are.
        return Ok(());
    }
    let failed = |what: &str| {
        Error::Failed(format!(
            "reading as uid {}: {what}: {}",
            c.uid,
            std::io::Error::last_os_error()
        ))
    };
    let groups: Vec<libc::gid_t> = c.groups.clone();
    // SAFETY: the raw system call changes this thread's groups only; the
    // pointer and length describe `groups`, alive for the call.
    let r = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    if r != 0 {
        return Err(failed("setgroups"));
    }
    // setfsgid/setfsuid return the previous id and report no error: set,
    // then read back (an invalid id, -1, changes nothing and returns it).
    // SAFETY: plain system calls on this thread's credentials.
    unsafe {
        libc::setfsgid(c.gid);
        if libc::setfsgid(u32::MAX) as u32 != c.gid {
            return Err(failed("setfsgid"));
        }
        libc::setfsuid(c.uid);
        if libc::setfsuid(u32::MAX) as u32 != c.uid {
            return Err(failed("setfsuid"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn as_ourselves_nothing_changes() {
        let me = nix::unistd::getuid().as_raw();
        let c = Caller::lookup(me, None).unwrap();
        assert_eq!(c.uid, me);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        let read = run_as(c, move || std::fs::read_to_string(f).unwrap())
            .await
            .unwrap();
        assert_eq!(read, "x");
    }

    #[tokio::test]
    async fn as_nobody_a_root_only_file_is_unreadable() {
        if !nix::unistd::geteuid().is_root() {
            return; // needs root to become someone else
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret");
        std::fs::write(&f, "root only").unwrap();
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        let nobody = Caller {
            uid: 65534,
            gid: 65534,
            groups: Vec::new(),
        };
        let e = run_as(nobody, move || std::fs::read_to_string(link))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        // The daemon's own threads are still root.
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "root only");
    }
}
