//! The leftovers check itself (tests/src/leftovers.rs), which every test
//! that ends a namespace or a connection relies on: it must see each kind of
//! thing it looks for, name it with its observer, report them all at once,
//! and let be what a `Keep` names. A check that saw nothing would pass
//! everywhere.

use std::time::Duration;

use netnsd_tests::leftovers::VPN_STATE_DIR;
use netnsd_tests::wan::*;
use netnsd_tests::*;

/// Asserts that every one of `wanted` is part of some line of `left`.
fn assert_sees(left: &[String], wanted: &[&str]) {
    for want in wanted {
        assert!(
            left.iter().any(|l| l.contains(want)),
            "the check missed {want:?}; it saw:\n{}",
            left.join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leftovers_check_sees_every_kind_and_lets_be_what_is_kept() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        assert_nothing_left(&Keep::nothing()).await;

        // A namespace with DNS files, over the bus; by hand, a client's
        // tunnel and an uplink's host end (its peer in the namespace), the
        // NAT table with the host end's element, an activation's file.
        let ns_path = add_with_options(&conn, "left-ns", options(vec![("dns", strs(&[WAN_V4]))]))
            .await
            .expect("AddNetworkNamespaceWithOptions");
        ip(&["tuntap", "add", "nsvpn97", "mode", "tun"]).await.ok();
        ip(&[
            "link",
            "add",
            "nsu98",
            "type",
            "veth",
            "peer",
            "name",
            "left-peer",
            "netns",
            "left-ns",
        ])
        .await
        .ok();
        run(
            "nft",
            &[
                "add table inet netnsd; add set inet netnsd hostifs { type ifname; }; \
               add element inet netnsd hostifs { \"nsu98\" }",
            ],
        )
        .await
        .ok();
        std::fs::create_dir_all(VPN_STATE_DIR).unwrap();
        std::fs::write(format!("{VPN_STATE_DIR}/left.sock"), "").unwrap();
        // A process inside the namespace, and one the daemon started in
        // another namespace, which stays.
        let mut inside = tokio::process::Command::new("ip")
            .args(["netns", "exec", "left-ns", "sleep", "60"])
            .kill_on_drop(true)
            .spawn()
            .expect("ip netns exec sleep");
        let inside_pid = inside.id().unwrap();
        wait_for(Duration::from_secs(5), "sleep inside left-ns", || async {
            let comm = std::fs::read_to_string(format!("/proc/{inside_pid}/comm")).ok()?;
            (comm.trim() == "sleep").then_some(())
        })
        .await;
        let kept_path = add_ns(&conn, "left-kept").await;
        let spawned = spawn_root(&conn, &kept_path, &["/bin/sleep", "60"], &[])
            .await
            .expect("Spawn sleep in left-kept");

        let left = leftovers(&Keep::nothing()).await;
        let inside_line = format!("pid {inside_pid} ");
        let spawned_line = format!("pid {spawned} ");
        let bus_line = format!("bus: {ns_path} (namespace left-ns)");
        assert_sees(
            &left,
            &[
                "/run/netns: left-ns",
                "ip netns list: left-ns",
                "/etc/netns: left-ns",
                &bus_line,
                "ip link (rootns): nsvpn97 (tun), a VPN tunnel",
                "ip link (rootns): nsu98, an uplink's host end",
                "nft (rootns): element nsu98 of set hostifs",
                "/run/netnsd/vpn: left.sock",
                &inside_line,
                "a namespace not kept",
                &spawned_line,
                "started by netnsd",
            ],
        );

        // What a Keep names is let be: only the tunnel, the file and the
        // daemon's program (in a kept namespace, but not kept) remain.
        let keep = Keep::nothing()
            .ns("left-ns")
            .ns("left-kept")
            .host_end("nsu98");
        let left = leftovers(&keep).await;
        assert_eq!(left.len(), 3, "{}", left.join("\n"));
        assert_sees(&left, &["nsvpn97", "left.sock", &spawned_line]);

        // A namespace kept empty must be: no link but lo, no DNS files, no
        // process inside.
        let keep = Keep::nothing()
            .empty_ns("left-ns")
            .ns("left-kept")
            .host_end("nsu98")
            .pid(spawned);
        assert_sees(
            &leftovers(&keep).await,
            &[
                "ip link (left-ns): left-peer, in a namespace kept empty",
                "/etc/netns/left-ns/resolv.conf, in a namespace kept empty",
                "inside left-ns, kept empty",
            ],
        );

        // A failing check reports everything at once.
        let failed = tokio::spawn(async {
            assert_nothing_left_within(&Keep::nothing(), Duration::from_millis(300)).await
        })
        .await
        .expect_err("the check passed with everything left");
        let msg = failed
            .into_panic()
            .downcast::<String>()
            .map(|m| *m)
            .unwrap_or_default();
        assert_sees(&[msg], &["left-ns", "nsvpn97", "nsu98", "left.sock"]);

        // Taken away, nothing is left.
        inside.kill().await.ok();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(spawned as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        ip(&["link", "del", "nsvpn97"]).await.ok();
        ip(&["link", "del", "nsu98"]).await.ok();
        run("nft", &["delete", "table", "inet", "netnsd"])
            .await
            .ok();
        std::fs::remove_file(format!("{VPN_STATE_DIR}/left.sock")).unwrap();
        assert_nothing_left(&Keep::nothing().ns("left-ns").ns("left-kept")).await;
        for name in ["left-ns", "left-kept"] {
            wait_for(
                Duration::from_secs(5),
                &format!("RemoveNetworkNamespace({name})"),
                || async {
                    controller(&conn)
                        .await
                        .remove_network_namespace(name)
                        .await
                        .ok()
                },
            )
            .await;
        }
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}
