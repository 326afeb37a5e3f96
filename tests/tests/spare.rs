//! Spare namespaces (`crates/netnsd/src/spare.rs`, `--spare-namespaces`,
//! NETNSD_SPARE_NAMESPACES): made ahead of need and held only by the
//! daemon's descriptors, bound at /run/netns/NAME by a create. A namespace
//! made from a spare must be what a create always made — fresh, only lo
//! (up) and its uplink, working traffic — and the spares themselves must be
//! nowhere on the host (no /run/netns entry, no bus object) and gone with
//! the daemon.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use netnsd_tests::wan::*;
use netnsd_tests::*;

/// The network namespaces process `pid` holds open (`net:[INODE]` among
/// its descriptors) that are neither its own nor bound under /run/netns:
/// the daemon's spares.
fn held_spares(pid: u32) -> BTreeSet<u64> {
    let own = own_netns_inode();
    let bound: BTreeSet<u64> = run_netns_entries()
        .iter()
        .filter_map(|n| std::fs::metadata(format!("/run/netns/{n}")).ok())
        .map(|m| m.ino())
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return BTreeSet::new();
    };
    fds.flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            l.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
        })
        .filter(|ino| *ino != own && !bound.contains(ino))
        .collect()
}

/// How many nsids the sandbox's namespace has for others (`ip netns
/// list-id`): a spare has one while it lives.
async fn nsids() -> usize {
    ip(&["netns", "list-id"])
        .await
        .ok()
        .stdout
        .lines()
        .filter(|l| l.starts_with("nsid "))
        .count()
}

/// `ip -n NS -o link` names with their flags.
async fn links_of(ns: &str) -> Vec<(String, String)> {
    ip(&["-n", ns, "-o", "link", "show"])
        .await
        .ok()
        .stdout
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.nth(1)?.trim_end_matches(':');
            let name = name.split('@').next()?.to_owned();
            Some((name, f.next()?.to_owned()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_bind_spares_that_are_fresh_and_gone_with_the_daemon() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let nsids_before = nsids().await;
        let daemon = Daemon::start().await;
        let pid = daemon.pid();
        let conn = system_conn().await;

        // Two spares by default, on nothing the host shows.
        let spares = wait_for(Duration::from_secs(5), "two spare namespaces", || async {
            let s = held_spares(pid);
            (s.len() == 2).then_some(s)
        })
        .await;
        for path in list_paths(&conn).await {
            let id = ns_info(&conn, &path).await.id;
            assert!(!spares.contains(&id), "a spare is on the bus as {path}");
        }
        assert_nothing_left(&wan.keep()).await;

        // More creates than spares, back to back: the first binds a spare;
        // each is a namespace of its own with only lo (up) and its uplink.
        let names: Vec<String> = (1..=5).map(|i| format!("sp-{i}")).collect();
        for n in &names {
            add_veth_ns(&conn, n).await;
        }
        assert!(
            spares.contains(&netns_inode(&names[0])),
            "the first create did not bind a spare ({:?}; spares {spares:?})",
            netns_inode(&names[0])
        );
        let inodes: BTreeSet<u64> = names.iter().map(|n| netns_inode(n)).collect();
        assert_eq!(inodes.len(), names.len(), "namespaces shared: {inodes:?}");
        for n in &names {
            let path = wait_ns_on_bus(&conn, n, Duration::from_secs(2)).await;
            assert_eq!(ns_info(&conn, &path).await.id, netns_inode(n), "{n}: Id");
            let links = links_of(n).await;
            let names_here: Vec<&str> = links.iter().map(|(l, _)| l.as_str()).collect();
            assert_eq!(names_here, vec!["lo", "uplink0"], "{n}: {links:?}");
            assert!(links[0].1.contains("UP"), "{n}: lo is not up: {links:?}");
            assert!(
                links[1].1.contains("UP"),
                "{n}: uplink0 is not up: {links:?}"
            );
            in_ns(n, &["ping", "-c1", "-W2", WAN_V4]).await.ok();
        }

        // The pool is made full again, off the callers' path.
        wait_for(Duration::from_secs(5), "the pool refilled", || async {
            (held_spares(pid).len() == 2).then_some(())
        })
        .await;
        let ctl = controller(&conn).await;
        for n in &names {
            ctl.remove_network_namespace(n)
                .await
                .unwrap_or_else(|e| panic!("remove {n}: {e:?}"));
        }
        assert_nothing_left(&wan.keep()).await;

        // Held by the daemon alone: they go with it.
        assert_eq!(daemon.stop().await.code(), Some(0));
        wait_for(Duration::from_secs(10), "the spares gone", || async {
            (nsids().await == nsids_before).then_some(())
        })
        .await;
        assert_nothing_left(&wan.keep()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_spares_when_set_to_zero() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let daemon = Daemon::start_with_env(&[("NETNSD_SPARE_NAMESPACES", "0")]).await;
        let conn = system_conn().await;
        add_veth_ns(&conn, "sp-none").await;
        in_ns("sp-none", &["ping", "-c1", "-W2", WAN_V4]).await.ok();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(held_spares(daemon.pid()), BTreeSet::new());
        controller(&conn)
            .await
            .remove_network_namespace("sp-none")
            .await
            .expect("remove sp-none");
        assert_nothing_left(&wan.keep()).await;
    })
    .await;
}
