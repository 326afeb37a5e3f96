//! Request connections, one per namespace, opened when a request comes and
//! closed once unused for [`IDLE`], so an idle namespace costs no socket and
//! no buffer, only the namespace's file, kept open: it is how the connection
//! is opened again, and it keeps the namespace reachable (and alive) after
//! `/run/netns/NAME` is gone until the daemon has cleaned up after it. A
//! socket belongs to the namespace it was opened in, so a socket for another
//! namespace is opened on a throw-away OS thread that enters it
//! ([`crate::netns::thread`], never a tokio worker) and is then driven from
//! the runtime like any other.
//!
//! When the daemon goes idle, and above all after removals, it gives the
//! allocator's free memory back to the kernel (`malloc_trim`), so that its
//! size follows its population down.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rtnetlink::Handle;
use tokio::time::Instant;

use crate::netns::thread;

/// How long a namespace's request connection stays open after its last use.
pub const IDLE: Duration = Duration::from_secs(1);

/// Requests to one namespace over a netlink connection that is opened on the
/// first request and closed after [`IDLE`] without one. Cheap to clone.
#[derive(Clone)]
pub struct NetlinkHandle(Arc<Lazy>);

struct Lazy {
    rt: tokio::runtime::Handle,
    target: Target,
    open: tokio::sync::Mutex<Option<Open>>,
}

pub(super) enum Target {
    /// The daemon's own namespace, where all its threads are.
    Own,
    /// Another namespace: its nsfs file, and where it is bound (for messages).
    Other { file: File, path: PathBuf },
}

struct Open {
    handle: Handle,
    last_use: Instant,
}

/// Request connections open right now, in all namespaces.
static OPEN: AtomicUsize = AtomicUsize::new(0);

impl Open {
    fn new(handle: Handle) -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        Open {
            handle,
            last_use: Instant::now(),
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

impl NetlinkHandle {
    pub(super) fn new(rt: &tokio::runtime::Handle, target: Target, open: Option<Handle>) -> Self {
        let opened = open.is_some();
        let h = NetlinkHandle(Arc::new(Lazy {
            rt: rt.clone(),
            target,
            open: tokio::sync::Mutex::new(open.map(Open::new)),
        }));
        if opened {
            h.close_when_idle();
        }
        h
    }

    /// The connection, opened if it is not; it stays open until unused for
    /// [`IDLE`]. Keep the returned handle until the answer is read: the
    /// connection ends when the last handle is gone.
    pub async fn get(&self) -> Result<Handle, rtnetlink::Error> {
        let mut open = self.0.open.lock().await;
        if let Some(o) = open.as_mut() {
            o.last_use = Instant::now();
            return Ok(o.handle.clone());
        }
        let handle = self.connect().await.map_err(|e| {
            let wher = match &self.0.target {
                Target::Own => "the daemon's namespace".to_owned(),
                Target::Other { path, .. } => path.display().to_string(),
            };
            rtnetlink::Error::NamespaceError(format!("cannot open netlink in {wher}: {e}"))
        })?;
        *open = Some(Open::new(handle.clone()));
        drop(open);
        self.close_when_idle();
        Ok(handle)
    }

    async fn connect(&self) -> io::Result<Handle> {
        if let Target::Own = self.0.target {
            return connect_here(&self.0.rt);
        }
        let lazy = self.0.clone();
        thread::run_async("netns-open", move || {
            let Target::Other { file, .. } = &lazy.target else {
                unreachable!("the daemon's namespace needs no thread")
            };
            thread::within(file, || connect_here(&lazy.rt))?
        })
        .await
    }

    /// Drops the connection once unused for [`IDLE`]: one timer per opening,
    /// which wakes once per IDLE while the connection is in use, and not at
    /// all once it is closed.
    fn close_when_idle(&self) {
        let lazy: Weak<Lazy> = Arc::downgrade(&self.0);
        self.0.rt.spawn(async move {
            let mut deadline = Instant::now() + IDLE;
            loop {
                tokio::time::sleep_until(deadline).await;
                let Some(lazy) = lazy.upgrade() else { return };
                let mut open = lazy.open.lock().await;
                match open.as_ref() {
                    Some(o) if o.last_use + IDLE > Instant::now() => deadline = o.last_use + IDLE,
                    _ => {
                        // Requests still under way keep their own handles.
                        *open = None;
                        release_memory_when_idle(&lazy.rt);
                        return;
                    }
                }
            }
        });
    }
}

impl Drop for Lazy {
    fn drop(&mut self) {
        // A namespace forgotten: removals free memory.
        release_memory_when_idle(&self.rt);
    }
}

/// When to give free memory back, and whether a timer is set for it.
static TRIM: Mutex<(Option<Instant>, bool)> = Mutex::new((None, false));

/// Gives the allocator's free memory back to the kernel once, when for
/// [`IDLE`] no connection has been open and no namespace has been dropped
/// since the last call: after a burst of work, and above all after removals,
/// so that the daemon's size follows its population down. One timer at a
/// time, which wakes at most once per IDLE while the burst lasts and not at
/// all once it is done.
fn release_memory_when_idle(rt: &tokio::runtime::Handle) {
    let mut trim = TRIM.lock().unwrap_or_else(|e| e.into_inner());
    trim.0 = Some(Instant::now() + IDLE);
    if trim.1 {
        return;
    }
    trim.1 = true;
    drop(trim);
    rt.spawn(async {
        loop {
            let deadline = TRIM.lock().unwrap_or_else(|e| e.into_inner()).0;
            let deadline = deadline.unwrap_or_else(Instant::now);
            tokio::time::sleep_until(deadline).await;
            let mut trim = TRIM.lock().unwrap_or_else(|e| e.into_inner());
            if trim.0.is_some_and(|d| d > Instant::now()) {
                continue;
            }
            *trim = (None, false);
            drop(trim);
            // Still busy: the last connection to close calls again.
            if OPEN.load(Ordering::Relaxed) == 0 {
                release_free_memory();
            }
            return;
        }
    });
}

/// Returns the allocator's free memory to the kernel (glibc keeps freed
/// memory in its arenas, most of it below live chunks where it never trims
/// on its own).
fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    {
        let t = std::time::Instant::now();
        // SAFETY: malloc_trim only walks the allocator's own free lists.
        unsafe {
            libc::malloc_trim(0);
        }
        // SAFETY: mallinfo2 only reads the allocator's counters.
        let m = unsafe { libc::mallinfo2() };
        tracing::debug!(
            elapsed = ?t.elapsed(),
            in_use = m.uordblks + m.hblkhd,
            free = m.fordblks,
            "gave free memory back to the kernel"
        );
    }
}

/// Opens a request connection in the calling thread's namespace, driven on
/// `rt`; it ends when the last clone of the handle is dropped.
pub(super) fn connect_here(rt: &tokio::runtime::Handle) -> io::Result<Handle> {
    let _enter = rt.enter();
    let (conn, handle, unsolicited) = rtnetlink::new_connection()?;
    // The socket is in no multicast group: nothing unsolicited comes.
    drop(unsolicited);
    rt.spawn(conn);
    Ok(handle)
}
