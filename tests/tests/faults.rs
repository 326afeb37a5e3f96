//! Faults of issue 13 item 1 not covered elsewhere (the table is in
//! docs/reliability.md): a namespace with a veth uplink and DNS deleted
//! with `ip netns del` behind the daemon's back, and /etc/netns read-only
//! or full when a namespace with DNS is asked for.

use std::time::Duration;

use netnsd_tests::wan::*;
use netnsd_tests::*;

/// `ip netns del` of a namespace with a veth uplink and DNS: the bus drops
/// it, and its host end, NAT element and /etc/netns files go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_deleted_behind_the_daemon_with_an_uplink_is_cleaned_up() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_veth_ns(&conn, "fault-del").await;
        assert_fetched(&curl_web("fault-del").await, "fault-del");
        assert!(std::path::Path::new(&format!("{NETNS_ETC_DIR}/fault-del/resolv.conf")).exists());

        ip(&["netns", "del", "fault-del"]).await.ok();
        wait_ns_off_bus(&conn, "fault-del", Duration::from_secs(10)).await;
        assert_nothing_left_within(&wan.keep(), Duration::from_secs(10)).await;
        // And the name can be used again, uplink and all.
        add_veth_ns(&conn, "fault-del").await;
        assert_fetched(&curl_web("fault-del").await, "fault-del");
    })
    .await
}

/// /etc/netns read-only, then full (a tmpfs with no inode to spare): a
/// namespace asked for with DNS is refused with a typed error naming
/// /etc/netns, and nothing of it is made; the daemon goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etc_netns_read_only_or_full_is_a_typed_error_and_nothing_half_made() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        std::fs::create_dir_all(NETNS_ETC_DIR).unwrap();
        for (what, opts) in [
            ("read-only", "ro,size=64k"),
            ("full", "size=64k,nr_inodes=1"),
        ] {
            let out = run(
                "mount",
                &["-t", "tmpfs", "-o", opts, "netnsd-test", NETNS_ETC_DIR],
            )
            .await;
            assert!(out.success(), "mount a tmpfs over /etc/netns: {out}");
            let _guard = Unmount(NETNS_ETC_DIR);
            let e = add_veth_ns_result(&conn, "fault-etc").await.unwrap_err();
            let text = format!("{e:?}");
            assert!(
                text.contains("/etc/netns") && !text.contains("NoReply"),
                "/etc/netns {what}: {text}"
            );
            assert_nothing_left(&wan.keep()).await;
            drop(_guard);
            // Writable again: the same call works.
            add_veth_ns(&conn, "fault-etc").await;
            remove_ns(&conn, "fault-etc").await;
            assert_nothing_left_within(&wan.keep(), Duration::from_secs(10)).await;
        }
    })
    .await
}

async fn add_veth_ns_result(
    conn: &zbus::Connection,
    name: &str,
) -> Result<String, netnsd_tests::ApiError> {
    add_with_options(
        conn,
        name,
        options(vec![
            ("uplink", zbus::wire::Variant::from("veth")),
            ("dns", strs(&[WAN_V4])),
        ]),
    )
    .await
}
