//! The kill -9 storm of `sudo tests/chaos` (issue 13), short: 4 clients doing
//! 200 random operations (namespaces with a veth uplink and DNS, removals,
//! TakeDevice of a veth end between namespaces, Spawn of `true`) while the
//! daemon is SIGKILLed 5 times and restarted. After a clean stop and one more
//! start nothing may be left that the bus does not account for and no
//! namespace may be lost (on disk but not on the bus, or the reverse, or an
//! Uplink property that disagrees with the links); after removing everything,
//! nothing at all may be left. Errors of calls cut by a kill are counted,
//! not failures; nothing about timing is asserted.

use std::time::Duration;

use netnsd_tests::chaos::*;
use netnsd_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_storm_leaves_nothing_and_loses_nothing() {
    let _env = TestEnv::new();
    let opts = StormOpts {
        ops: 200,
        clients: 4,
        kills: 5,
        names_per_client: 3,
        seed: clock_seed(),
    };
    let r = tokio::time::timeout(Duration::from_secs(300), storm(opts))
        .await
        .expect("the short storm did not end within 300 s");
    let text = r.text();
    eprintln!("{text}");
    assert_eq!(r.ops, 200, "{text}");
    assert!(r.kills >= 1, "no kill was made: {text}");
    assert!(r.leftovers.is_empty(), "leftovers after the restart:\n{text}");
    assert!(r.lost.is_empty(), "namespaces lost:\n{text}");
    assert!(
        r.leftovers_after_remove.is_empty(),
        "leftovers after removing everything:\n{text}"
    );
}
