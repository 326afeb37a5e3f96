//! Naming a running process's network namespace, as `ip netns attach NAME
//! PID` does: `/proc/PID/ns/net` bind-mounted on `/run/netns/NAME`.

use std::fs::{self, File};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use netnsd_api::Error;
use nix::mount::{MntFlags, umount2};

use super::{NetnsError, RunDir, nsfs_inode};

/// A process's network namespace, opened, with who owns the process.
pub struct ProcessNetns {
    pub file: File,
    pub inode: u64,
    /// The process's owner (the owner of /proc/PID).
    pub uid: u32,
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: a plain system call; the result is a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn still_alive(pidfd: &OwnedFd) -> bool {
    // SAFETY: signal 0 only checks; the pidfd is valid.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Opens process `pid`'s network namespace. A pidfd taken first makes sure
/// the namespace and the owner read belong to that process and not to one
/// that got its pid later.
pub fn process_netns(pid: u32) -> Result<ProcessNetns, Error> {
    let no_such = || Error::NotFound(format!("no process with pid {pid}"));
    if pid == 0 || pid > i32::MAX as u32 {
        return Err(Error::InvalidArgument(format!("{pid} is not a pid")));
    }
    let pidfd = pidfd_open(pid).map_err(|e| match e.raw_os_error() {
        Some(libc::ESRCH) => no_such(),
        _ => Error::Failed(format!("pidfd_open({pid}): {e}")),
    })?;
    let file = File::open(format!("/proc/{pid}/ns/net")).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => no_such(),
        _ => Error::Failed(format!("open /proc/{pid}/ns/net: {e}")),
    })?;
    let uid = fs::metadata(format!("/proc/{pid}"))
        .map_err(|_| no_such())?
        .uid();
    if !still_alive(&pidfd) {
        return Err(no_such());
    }
    let inode = file
        .metadata()
        .map_err(|e| Error::Failed(format!("stat /proc/{pid}/ns/net: {e}")))?
        .ino();
    Ok(ProcessNetns { file, inode, uid })
}

impl RunDir {
    /// Binds the namespace open as `ns` at `/run/netns/NAME`; returns the
    /// inode seen there. On failure nothing is left behind.
    pub fn attach(&self, name: &str, ns: &File) -> Result<u64, NetnsError> {
        self.bind(name, ns)?;
        let path = self.path_of(name);
        nsfs_inode(&path).ok_or_else(|| {
            let _ = umount2(&path, MntFlags::MNT_DETACH);
            let _ = fs::remove_file(&path);
            NetnsError::Os {
                step: format!("check {}", path.display()),
                source: io::Error::other("not a namespace after the bind mount"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_netns_is_found_and_bad_pids_are_refused() {
        let me = process_netns(std::process::id()).unwrap();
        assert_eq!(me.inode, crate::netns::current_netns_inode().unwrap());
        assert!(matches!(process_netns(0), Err(Error::InvalidArgument(_))));
        assert!(matches!(
            process_netns(i32::MAX as u32 + 1),
            Err(Error::InvalidArgument(_))
        ));
    }
}
