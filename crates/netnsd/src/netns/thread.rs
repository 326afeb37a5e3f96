//! Work inside another network namespace, done on a throw-away OS thread.
//!
//! A thread's network namespace decides where the sockets it opens belong
//! and which namespace /proc/sys/net shows it. Entering one (setns) or
//! making one (unshare) changes the calling thread only, so it is done on a
//! thread of its own, never on a tokio worker, which would carry the
//! namespace into whatever task it runs next. The thread goes back to its
//! namespace when the work is done, and ends. What it opened (a netlink
//! socket) stays bound to the namespace it was opened in.
//!
//! Users: the netlink request connections of other namespaces, sysctls of
//! other namespaces, and the making of a new namespace ([`super::RunDir`]).

use std::fs::File;
use std::io;

use nix::sched::{CloneFlags, setns, unshare};
use tokio::sync::oneshot;

/// The calling thread's network namespace, as a file to come back to.
pub fn current() -> io::Result<File> {
    File::open("/proc/thread-self/ns/net")
}

/// Runs `work` on a new OS thread called `name`, and waits for it. Blocks:
/// call it from a thread that may block (spawn_blocking, or a thread of its
/// own).
pub fn run<T: Send + 'static>(
    name: &'static str,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(work)?
        .join()
        .unwrap_or_else(|_| Err(panicked(name)))
}

/// Runs `work` on a new OS thread called `name`; the caller awaits the
/// answer without blocking its worker.
pub async fn run_async<T: Send + 'static>(
    name: &'static str,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tx.send(work());
        })?;
    rx.await.unwrap_or_else(|_| Err(panicked(name)))
}

fn panicked(name: &str) -> io::Error {
    io::Error::other(format!("the {name} thread panicked"))
}

/// On a throw-away thread (see [`run`]): enters the namespace of `ns` (its
/// nsfs file), runs `work` there, and goes back.
pub fn within<T>(ns: &File, work: impl FnOnce() -> T) -> io::Result<T> {
    let own = current()?;
    setns(ns, CloneFlags::CLONE_NEWNET)?;
    let done = work();
    go_back(&own);
    Ok(done)
}

/// On a throw-away thread (see [`run`]): moves into a new network namespace,
/// runs `work` there, and goes back. The namespace lives on only if `work`
/// keeps it (binds it somewhere, or keeps a socket or file of it open).
pub fn within_new<T>(work: impl FnOnce() -> T) -> io::Result<T> {
    let own = current()?;
    unshare(CloneFlags::CLONE_NEWNET)?;
    let done = work();
    go_back(&own);
    Ok(done)
}

fn go_back(own: &File) {
    // The thread ends right after; this is for the record.
    if let Err(e) = setns(own, CloneFlags::CLONE_NEWNET) {
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        tracing::error!("could not return the {name} thread to its namespace: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_a_thread_of_its_own() {
        let me = std::thread::current().id();
        let there = run("netns-test", move || Ok(std::thread::current().id())).unwrap();
        assert_ne!(there, me);
        let name = run("netns-test", || {
            Ok(std::thread::current().name().map(str::to_owned))
        })
        .unwrap();
        assert_eq!(name.as_deref(), Some("netns-test"));
        let e = run::<()>("netns-test", || panic!("on purpose")).unwrap_err();
        assert_eq!(e.to_string(), "the netns-test thread panicked");
    }

    #[tokio::test]
    async fn async_callers_get_the_answer() {
        let n = run_async("netns-test", || Ok(7)).await.unwrap();
        assert_eq!(n, 7);
        let e = run_async::<()>("netns-test", || Err(io::Error::other("no")))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "no");
    }
}
