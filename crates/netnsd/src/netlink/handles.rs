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
use std::future::Future;
use std::io;
use std::ops::Deref;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{FutureExt, Stream};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::Handle;
use rtnetlink::packet_core::NetlinkMessage;
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
    handle: Conn,
    last_use: Instant,
}

/// Request connections open right now, in all namespaces.
static OPEN: AtomicUsize = AtomicUsize::new(0);

impl Open {
    fn new(handle: Conn) -> Self {
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
    pub(super) fn new(rt: &tokio::runtime::Handle, target: Target, open: Option<Conn>) -> Self {
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
    pub async fn get(&self) -> Result<Conn, rtnetlink::Error> {
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

    async fn connect(&self) -> io::Result<Conn> {
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
pub(super) fn connect_here(rt: &tokio::runtime::Handle) -> io::Result<Conn> {
    let _enter = rt.enter();
    let (conn, handle, unsolicited) = rtnetlink::new_connection()?;
    // The socket is in no multicast group: nothing unsolicited comes.
    drop(unsolicited);
    let unsent = Arc::new(AtomicUsize::new(0));
    rt.spawn(Eager {
        conn,
        unsent: unsent.clone(),
    });
    Ok(Conn { handle, unsent })
}

/// A request connection: rtnetlink's handle, and how many of the requests
/// given to it through [`Conn::request`] its task may not have sent yet.
/// Cheap to clone; it dereferences to the handle for rtnetlink's own
/// request builders (which are not counted, and go out as before).
#[derive(Clone)]
pub struct Conn {
    handle: Handle,
    unsent: Arc<AtomicUsize>,
}

impl Conn {
    /// Queues one request on the connection; its answers as they come.
    pub fn request(
        &mut self,
        req: NetlinkMessage<RouteNetlinkMessage>,
    ) -> Result<impl Stream<Item = NetlinkMessage<RouteNetlinkMessage>> + use<>, rtnetlink::Error>
    {
        // Counted before it is queued, so the count never exceeds what is
        // queued and not sent (see `Eager`).
        self.unsent.fetch_add(1, Ordering::AcqRel);
        self.handle.request(req)
    }
}

impl Deref for Conn {
    type Target = Handle;

    fn deref(&self) -> &Handle {
        &self.handle
    }
}

/// A connection's task that sends every queued request when it wakes.
/// rtnetlink's task (netlink-proto 0.14's `Connection`) takes all queued
/// requests when it is polled but sends only the first; the next goes out
/// when the task wakes again, which is when an answer comes in. So requests
/// queued back to back ([`in_order`](super::in_order)) went out one per
/// answer: a wake-up of the runtime each, where the kernel would have taken
/// them all at once. `Eager` polls the task again while requests counted by
/// [`Conn::request`] may be waiting: each poll sends at most one, and the
/// count goes down by one a poll, so it never exceeds the requests that
/// wait (a count too low only leaves a request to the task's next wake-up,
/// as before). Each extra poll also reads what the kernel has answered.
struct Eager<C> {
    conn: C,
    unsent: Arc<AtomicUsize>,
}

impl<C: Future<Output = ()> + Unpin> Future for Eager<C> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.conn.poll_unpin(cx).is_ready() {
                return Poll::Ready(());
            }
            let fewer = self
                .unsent
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
            if fewer.is_err() {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A connection's task as netlink-proto's behaves: each poll sends the
    /// first queued request only.
    struct OnePerPoll {
        queued: Arc<Mutex<VecDeque<u32>>>,
        sent: Arc<Mutex<Vec<u32>>>,
    }

    impl Future for OnePerPoll {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if let Some(r) = self.queued.lock().unwrap().pop_front() {
                self.sent.lock().unwrap().push(r);
            }
            Poll::Pending
        }
    }

    fn eager(queued: &[u32]) -> (Eager<OnePerPoll>, Arc<Mutex<Vec<u32>>>, Arc<AtomicUsize>) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let unsent = Arc::new(AtomicUsize::new(queued.len()));
        let conn = OnePerPoll {
            queued: Arc::new(Mutex::new(queued.iter().copied().collect())),
            sent: sent.clone(),
        };
        let e = Eager {
            conn,
            unsent: unsent.clone(),
        };
        (e, sent, unsent)
    }

    #[test]
    fn one_wake_up_sends_every_counted_request_in_order() {
        let (mut e, sent, unsent) = eager(&[1, 2, 3]);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut e).poll(&mut cx).is_pending());
        assert_eq!(*sent.lock().unwrap(), [1, 2, 3]);
        assert_eq!(unsent.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_count_too_low_leaves_the_rest_to_the_next_wake_up() {
        // One request counted, two queued (one counted late): the first
        // wake-up sends what the count allows, the next the rest.
        let (mut e, sent, unsent) = eager(&[1, 2]);
        unsent.store(0, Ordering::Release);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut e).poll(&mut cx).is_pending());
        assert_eq!(*sent.lock().unwrap(), [1]);
        assert!(Pin::new(&mut e).poll(&mut cx).is_pending());
        assert_eq!(*sent.lock().unwrap(), [1, 2]);
    }
}
