//! Lifecycle: clean stop on SIGTERM and SIGINT, namespaces that outlive the
//! daemon, records under /run/netnsd, restart after a stop and after a crash,
//! namespaces added or removed while the daemon was down, readiness
//! notification.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;

use netnsd_tests::*;
use nix::sys::signal::Signal;

fn assert_clean_exit(status: std::process::ExitStatus, how: &str) {
    assert_eq!(
        status.code(),
        Some(0),
        "netnsd must exit 0 on {how}, ended with {} (signal {:?})",
        describe_status(status),
        status.signal()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_namespaces_survive_a_restart() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let a = ns_info(&conn, &add_ns(&conn, "lc-a").await).await;
        let b = ns_info(&conn, &add_ns(&conn, "lc-b").await).await;
        assert!(
            records_mention("lc-a"),
            "no record of lc-a under /run/netnsd: {:?}",
            records()
        );

        assert_clean_exit(daemon.stop().await, "SIGTERM");

        // The namespaces outlive the daemon: same namespaces, still usable.
        assert_eq!(
            ip_netns_list().await,
            vec!["lc-a".to_owned(), "lc-b".to_owned()]
        );
        assert_eq!(netns_inode("lc-a"), a.id);
        assert_eq!(netns_inode("lc-b"), b.id);
        ip(&["netns", "exec", "lc-a", "true"]).await.ok();
        assert!(
            records_mention("lc-a"),
            "records gone after a clean stop: {:?}",
            records()
        );

        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        for old in [&a, &b] {
            let path = controller(&conn)
                .await
                .get_network_namespace_by_name(&old.name)
                .await
                .unwrap_or_else(|e| panic!("{} not found after restart: {e:?}", old.name))
                .to_string();
            let new = ns_info(&conn, &path).await;
            assert_eq!(new.name, old.name);
            assert_eq!(new.id, old.id, "a different namespace under the same name");
            assert_eq!(new.path, old.path);
            assert!(
                new.managed,
                "{}: its own namespace again, Managed=true",
                old.name
            );
            assert!(new.persistent);
        }
        assert_eq!(list_paths(&conn).await.len(), 3, "rootns, lc-a, lc-b");
        // And they are fully the daemon's again: it removes them.
        let ok = controller(&conn)
            .await
            .remove_network_namespace("lc-a")
            .await
            .unwrap();
        assert_eq!(ok, "Success");
        assert_eq!(ip_netns_list().await, vec!["lc-b".to_owned()]);
        assert_nothing_left(&Keep::nothing().ns("lc-b")).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_cleanly() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "lc-int").await;
        assert_clean_exit(daemon.stop_with(Signal::SIGINT).await, "SIGINT");
        assert_eq!(ip_netns_list().await, vec!["lc-int".to_owned()]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_kill9_finds_the_namespaces() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let c = ns_info(&conn, &add_ns(&conn, "lc-crash").await).await;
        ip(&["netns", "add", "lc-crash-ipr"]).await.ok();
        wait_ns_on_bus(&conn, "lc-crash-ipr", WATCH_TIMEOUT).await;

        daemon.kill9().await;
        assert_eq!(
            ip_netns_list().await,
            vec!["lc-crash".to_owned(), "lc-crash-ipr".to_owned()]
        );

        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let path = ctl
            .get_network_namespace_by_name("lc-crash")
            .await
            .expect("lc-crash after a crash and restart")
            .to_string();
        let new = ns_info(&conn, &path).await;
        assert_eq!(new.id, c.id);
        assert!(
            new.managed,
            "the record says the daemon made it: Managed=true"
        );
        let path = ctl
            .get_network_namespace_by_name("lc-crash-ipr")
            .await
            .expect("lc-crash-ipr after a crash and restart")
            .to_string();
        assert!(
            !ns_info(&conn, &path).await.managed,
            "iproute2 made it: Managed=false"
        );

        assert_eq!(
            ctl.remove_network_namespace("lc-crash").await.unwrap(),
            "Success"
        );
        assert_eq!(ip_netns_list().await, vec!["lc-crash-ipr".to_owned()]);
        assert_nothing_left(&Keep::nothing().ns("lc-crash-ipr")).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_added_while_down_is_found_unmanaged() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        assert_clean_exit(daemon.stop().await, "SIGTERM");

        ip(&["netns", "add", "lc-offline"]).await.ok();
        let inode = netns_inode("lc-offline");

        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        // Found at start, not only once the watch notices something.
        let path = controller(&conn)
            .await
            .get_network_namespace_by_name("lc-offline")
            .await
            .expect("a namespace made while the daemon was down is listed at start")
            .to_string();
        let info = ns_info(&conn, &path).await;
        assert!(!info.managed);
        assert_eq!(info.id, inode);
        assert_eq!(info.path, "/run/netns/lc-offline");
        assert!(list_paths(&conn).await.contains(&path));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_of_a_namespace_gone_while_down_is_dropped() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "lc-vanished").await;
        add_ns(&conn, "lc-stays").await;
        assert_clean_exit(daemon.stop().await, "SIGTERM");
        assert!(records_mention("lc-vanished"), "{:?}", records());

        ip(&["netns", "del", "lc-vanished"]).await.ok();

        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let (err, msg) = err_name(ctl.get_network_namespace_by_name("lc-vanished").await);
        assert_eq!(err, "NotFound", "{msg}");
        let names = bus_names(&conn).await;
        assert!(!names.contains("lc-vanished"), "{names:?}");
        assert!(names.contains("lc-stays"), "{names:?}");
        assert!(
            !run_netns_entries().contains(&"lc-vanished".to_owned()),
            "resurrected?"
        );
        wait_for(
            WATCH_TIMEOUT,
            "the stale record of lc-vanished to be dropped",
            || async { (!records_mention("lc-vanished")).then_some(()) },
        )
        .await;
        assert!(records_mention("lc-stays"), "{:?}", records());

        assert_nothing_left(&Keep::nothing().ns("lc-stays")).await;

        // The name is free again.
        let path = add_ns(&conn, "lc-vanished").await;
        assert!(ns_info(&conn, &path).await.managed);
    })
    .await;
}

/// A namespace removed over the bus leaves no claim behind: one made later
/// under the same name by iproute2, while the daemon is down, is not taken
/// for the daemon's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_drops_the_record() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "lc-rec").await;
        assert!(
            records_mention("lc-rec"),
            "no record of lc-rec: {:?}",
            records()
        );
        // Records are root's alone.
        let meta = std::fs::metadata("/run/netnsd").expect("/run/netnsd");
        assert_eq!(meta.uid(), 0);
        assert_eq!(meta.mode() & 0o022, 0, "/run/netnsd is writable by others");
        controller(&conn)
            .await
            .remove_network_namespace("lc-rec")
            .await
            .unwrap();
        assert_clean_exit(daemon.stop().await, "SIGTERM");

        ip(&["netns", "add", "lc-rec"]).await.ok();
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = wait_ns_on_bus(&conn, "lc-rec", WATCH_TIMEOUT).await;
        let info = ns_info(&conn, &path).await;
        assert!(
            !info.managed,
            "iproute2 made this lc-rec; the daemon's removed one must not be remembered"
        );
        assert_eq!(info.id, netns_inode("lc-rec"));
        assert_nothing_left(&Keep::nothing().ns("lc-rec")).await;
    })
    .await;
}

/// The record names one namespace (by inode), not just a name: a namespace
/// deleted and made anew under the same name while the daemon was down is
/// not the daemon's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_replaced_while_down_is_not_claimed() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let old = ns_info(&conn, &add_ns(&conn, "lc-replaced").await).await;
        assert_clean_exit(daemon.stop().await, "SIGTERM");

        // Hold the old namespace so the kernel cannot hand its inode number
        // to the new one.
        let _hold = std::fs::File::open("/run/netns/lc-replaced").unwrap();
        ip(&["netns", "del", "lc-replaced"]).await.ok();
        ip(&["netns", "add", "lc-replaced"]).await.ok();
        let inode = netns_inode("lc-replaced");
        assert_ne!(
            inode, old.id,
            "the kernel reused the inode; cannot tell them apart"
        );

        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = wait_ns_on_bus(&conn, "lc-replaced", WATCH_TIMEOUT).await;
        let info = ns_info(&conn, &path).await;
        assert_eq!(info.id, inode);
        assert!(
            !info.managed,
            "a namespace iproute2 made is claimed as the daemon's"
        );
        assert_nothing_left(&Keep::nothing().ns("lc-replaced")).await;
    })
    .await;
}

/// sd_notify readiness: READY=1 comes once the bus name is owned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_is_notified_after_the_name_is_owned() {
    let _env = TestEnv::new();
    timed(async {
        let sock_path = "/run/netnsd-test-notify.sock";
        let _ = std::fs::remove_file(sock_path);
        let sock = tokio::net::UnixDatagram::bind(sock_path).expect("bind the notify socket");
        let daemon = Daemon::spawn(&[("NOTIFY_SOCKET", sock_path)]);
        let mut buf = vec![0u8; 4096];
        let ready = loop {
            let n = tokio::time::timeout(START_TIMEOUT, sock.recv(&mut buf))
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no READY=1 on NOTIFY_SOCKET within {START_TIMEOUT:?}\n{}",
                        daemon.log_text()
                    )
                })
                .unwrap();
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if msg.lines().any(|l| l == "READY=1") {
                break msg;
            }
        };
        let conn = system_conn().await;
        assert_eq!(
            name_owner_pid(&conn).await,
            Some(daemon.pid()),
            "READY=1 ({ready:?}) came before the daemon owned {BUS_NAME}"
        );
        assert_clean_exit(daemon.stop().await, "SIGTERM");
        let _ = std::fs::remove_file(sock_path);
    })
    .await;
}

/// A second daemon cannot take over from a running one, and does not
/// disturb it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_fails_and_leaves_the_first_alone() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "lc-first").await;

        let out = tokio::process::Command::new(netnsd_bin())
            .env("RUST_LOG", "netnsd=debug")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(START_TIMEOUT, out)
            .await
            .expect("a second netnsd kept running while the first owns the name")
            .unwrap();
        assert!(
            !out.status.success(),
            "a second netnsd exited 0: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(name_owner_pid(&conn).await, Some(daemon.pid()));
        assert_eq!(ip_netns_list().await, vec!["lc-first".to_owned()]);
        assert!(bus_names(&conn).await.contains("lc-first"));
    })
    .await;
}

/// Started with the usual soft limit of 1024 open files (systemd's default
/// for services), the daemon raises it to the hard limit, since every
/// namespace costs it descriptors; a program it starts gets 1024 back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_descriptor_limit_is_raised_for_the_daemon_only() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let _env = TestEnv::new();
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(
        hard > 1024,
        "this test needs a hard limit above 1024, not {hard}"
    );
    setrlimit(Resource::RLIMIT_NOFILE, 1024, hard).unwrap();
    struct Restore(u64, u64);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, self.0, self.1);
        }
    }
    let _restore = Restore(soft, hard);
    timed(async {
        let daemon = Daemon::start().await;
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", daemon.pid())).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .expect("Max open files in /proc/PID/limits");
        let nums: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
        assert_eq!(
            nums,
            [hard.to_string(), hard.to_string()],
            "the daemon's soft limit: {line}"
        );
        let conn = system_conn().await;
        add_ns(&conn, "lc-fd").await;
        let out = nsctl(None, &["exec", "lc-fd", "--", "sh", "-c", "ulimit -n"]).await;
        assert!(out.success(), "{out:?}");
        assert_eq!(out.stdout.trim(), "1024", "a spawned program's soft limit");
    })
    .await;
}
