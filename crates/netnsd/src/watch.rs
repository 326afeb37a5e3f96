//! Watches /run/netns with inotify, so that namespaces made or removed by
//! `ip netns add`/`del` (or anyone else) appear on and vanish from the bus.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

struct Watched(Inotify);

impl AsRawFd for Watched {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirEvent {
    /// A file appeared (it may not be a mounted namespace yet).
    Appeared(String),
    /// A file went away.
    Vanished(String),
}

/// Starts watching `dir` (which must exist); events go to `tx` until it closes.
pub fn spawn(dir: &Path, tx: mpsc::UnboundedSender<DirEvent>) -> io::Result<()> {
    let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    ino.add_watch(
        dir,
        AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_MOVED_TO,
    )?;
    // SAFETY: the inotify descriptor is owned by `Watched` and stays open for
    // as long as the AsyncFd that wraps it.
    let fd = unsafe { AsyncFd::register(Watched(ino)) }.map_err(io::Error::from)?;
    tokio::spawn(async move {
        loop {
            let mut guard = match fd.readable().await {
                Ok(g) => g,
                Err(e) => {
                    tracing::error!("watching the namespace directory failed: {e}");
                    return;
                }
            };
            match guard.get_inner().0.read_events() {
                Ok(events) => {
                    for ev in events {
                        let Some(name) = ev.name.and_then(|n| n.into_string().ok()) else {
                            continue;
                        };
                        let m = ev.mask;
                        let event = if m
                            .intersects(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO)
                        {
                            DirEvent::Appeared(name)
                        } else {
                            DirEvent::Vanished(name)
                        };
                        if tx.send(event).is_err() {
                            return;
                        }
                    }
                }
                Err(Errno::EAGAIN) => guard.clear_ready(),
                Err(e) => {
                    tracing::error!("reading inotify events failed: {e}");
                    return;
                }
            }
        }
    });
    Ok(())
}
