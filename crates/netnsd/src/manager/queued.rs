//! The events queued now, handled before the next request.
//!
//! The manager's loop (`Manager::run`) takes one ready branch of its
//! `select!` at random. A create makes a dozen link and address events (more
//! in the bridge topology, whose ports send two families of link messages),
//! so after each request about one of them was handled and the others waited
//! in the unbounded queue, decoded: with 3000 namespaces made one after
//! another, over 100 MB of them, and the bus lagging the kernel by as much
//! (docs/benchmarks.md, "Daemon memory in the bridge topology"). After a
//! request the manager now handles what is queued at that moment, and no
//! more, so that a burst of events cannot hold requests back.

use tokio::sync::mpsc::UnboundedReceiver;

/// Hands `handle` the messages queued in `rx` when it is called, in order,
/// and no more (messages sent meanwhile wait for the next turn); never waits
/// for one. How many it handled.
pub(super) async fn handle_queued<T>(
    rx: &mut UnboundedReceiver<T>,
    mut handle: impl AsyncFnMut(T),
) -> usize {
    let mut handled = 0;
    for _ in 0..rx.len() {
        let Ok(m) = rx.try_recv() else { break };
        handle(m).await;
        handled += 1;
    }
    handled
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    #[tokio::test]
    async fn what_is_queued_now_is_handled_in_order_and_nothing_sent_meanwhile() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..3 {
            tx.send(i).unwrap();
        }
        let mut seen = Vec::new();
        // Each message handled makes another (as an event handled can make
        // more events): those wait.
        let n = handle_queued(&mut rx, async |m: u32| {
            seen.push(m);
            tx.send(m + 10).unwrap();
        })
        .await;
        assert_eq!((n, seen), (3, vec![0, 1, 2]));
        assert_eq!(rx.len(), 3);
        assert_eq!(rx.try_recv().unwrap(), 10);
    }

    #[tokio::test]
    async fn an_empty_queue_returns_at_once() {
        let (_tx, mut rx) = mpsc::unbounded_channel::<u32>();
        assert_eq!(handle_queued(&mut rx, async |_| unreachable!()).await, 0);
    }
}
