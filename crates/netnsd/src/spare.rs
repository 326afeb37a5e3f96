//! Spare namespaces: a few network namespaces made ahead of need, so that a
//! create takes one and only binds it at `/run/netns/NAME` instead of
//! waiting for the kernel to make one (`unshare(CLONE_NEWNET)`, the largest
//! single cost of a create).
//!
//! A spare is made on a throw-away thread ([`crate::netns::thread`]): the
//! thread moves into a new namespace, opens its file and a netlink request
//! connection there, gives it an nsid in the daemon's namespace, and goes
//! back; then its loopback is brought up. Nothing of it is on the host: no
//! mount, no name, no device outside it — it is held only by the daemon's
//! descriptors (its file and its socket), so it vanishes with the daemon,
//! crash or not, and there is nothing to journal or clean up.
//!
//! The pool is refilled in the background, one spare at a time, once the
//! create that took one has answered, never on the caller's path; when it
//! is empty a create makes its namespace itself, as without the pool. Its size is the daemon's
//! `--spare-namespaces` (0: no pool).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::netlink::{Events, Unnamed};
use crate::netns::thread;

/// Spare namespaces kept ready by default.
pub const DEFAULT_SPARES: usize = 2;

/// The pool; cheap to clone.
#[derive(Clone)]
pub struct Spares(Arc<Inner>);

struct Inner {
    want: usize,
    rt: tokio::runtime::Handle,
    events: Events,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    ready: VecDeque<Unnamed>,
    /// A refill is under way.
    filling: bool,
    /// When making a spare last failed: no new try before
    /// [`RETRY_AFTER`], so that a lasting failure (out of descriptors, say)
    /// is not tried and logged after every request.
    failed: Option<std::time::Instant>,
}

/// How long after a failure to make a spare the pool tries again.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

impl Spares {
    /// A pool of `want` spares (0: none ever made), their events on
    /// `events`. Empty until [`Spares::fill`].
    pub fn new(want: usize, rt: &tokio::runtime::Handle, events: Events) -> Self {
        Spares(Arc::new(Inner {
            want,
            rt: rt.clone(),
            events,
            state: Mutex::new(State::default()),
        }))
    }

    /// How many spares the pool keeps.
    pub fn size(&self) -> usize {
        self.0.want
    }

    /// How many are ready now.
    pub fn ready(&self) -> usize {
        self.lock().ready.len()
    }

    /// Takes a spare, if one is ready. Its replacement is made by the next
    /// [`Spares::fill`], which the caller makes once its reply is sent: a
    /// namespace being made takes the kernel's locks that the rest of a
    /// create (its veth, addresses and routes) needs too.
    pub fn take(&self) -> Option<Unnamed> {
        self.lock().ready.pop_front()
    }

    /// Starts making spares in the background until the pool is full, if
    /// that is not under way already.
    pub fn fill(&self) {
        {
            let mut st = self.lock();
            if st.filling
                || st.ready.len() >= self.0.want
                || st.failed.is_some_and(|t| t.elapsed() < RETRY_AFTER)
            {
                return;
            }
            st.filling = true;
        }
        let inner = self.0.clone();
        self.0.rt.spawn(refill(inner));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn refill(inner: Arc<Inner>) {
    loop {
        let made = make(&inner).await;
        let mut st = inner.state.lock().unwrap_or_else(|e| e.into_inner());
        match made {
            Ok(spare) => {
                st.ready.push_back(spare);
                st.failed = None;
            }
            Err(e) => {
                // Creates make their own namespaces meanwhile; a fill after
                // RETRY_AFTER tries again.
                tracing::warn!("making a spare namespace: {e}");
                st.filling = false;
                st.failed = Some(std::time::Instant::now());
                return;
            }
        }
        if st.ready.len() >= inner.want {
            st.filling = false;
            return;
        }
    }
}

/// Makes one spare: a new namespace, its file, connection and nsid, lo up.
async fn make(inner: &Inner) -> std::io::Result<Unnamed> {
    let (rt, events) = (inner.rt.clone(), inner.events.clone());
    let spare = thread::run_async("netns-spare", move || {
        thread::within_new(|| Unnamed::here(&rt, &events))?
    })
    .await?;
    spare
        .loopback_up()
        .await
        .map_err(|e| std::io::Error::other(format!("bring lo up: {e}")))?;
    Ok(spare)
}
