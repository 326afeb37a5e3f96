//! One host, both daemons (issue 15, item 10): NetworkManager runs (in
//! the sandbox) with its own `unmanaged-devices` (not `*`) and netnsd's
//! snippet, networkmanager/90-netnsd.conf, in its conf.d; NetworkManager
//! merges the snippet's names into its configuration, shows netnsd's
//! devices (an uplink's host end, nsu*) as unmanaged, and a veth uplink
//! namespace still fetches from wan while NetworkManager runs.
//!
//! What this sandbox cannot show: NetworkManager managing a device of its
//! own (without udev it manages none here), so "NetworkManager owns the
//! default route" is not exercised; rootns's default route is the wan
//! rig's.

use std::path::Path;

use netnsd_tests::nm::{NM_RIG_DIR, RealNm};
use netnsd_tests::wan::*;
use netnsd_tests::*;

const SNIPPET: &str = include_str!("../../networkmanager/90-netnsd.conf");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networkmanager_leaves_netnsd_devices_alone_and_uplinks_work() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        std::fs::create_dir_all(NM_RIG_DIR).unwrap();
        let conf_d = Path::new(NM_RIG_DIR).join("conf.d");
        std::fs::create_dir_all(&conf_d).unwrap();
        std::fs::write(conf_d.join("90-netnsd.conf"), SNIPPET).unwrap();
        let nm = RealNm::start_with(
            "[keyfile]\nunmanaged-devices=interface-name:rig-*\n",
            Some(&conf_d),
        )
        .await;
        // NetworkManager's own reading of its configuration: its own
        // entry kept, netnsd's names added.
        let printed = run(
            "/usr/sbin/NetworkManager",
            &[
                "--print-config",
                &format!("--config={NM_RIG_DIR}/NetworkManager.conf"),
                &format!("--config-dir={}", conf_d.display()),
                &format!("--system-config-dir={NM_RIG_DIR}/conf.d.empty"),
            ],
        )
        .await
        .ok()
        .stdout;
        let line = printed
            .lines()
            .find(|l| l.starts_with("unmanaged-devices="))
            .unwrap_or_else(|| panic!("no unmanaged-devices in:\n{printed}"));
        for want in [
            "interface-name:rig-*",
            "interface-name:nsu*",
            "interface-name:nsvpn*",
            "interface-name:uplink0",
        ] {
            assert!(line.contains(want), "{want} not in {line}");
        }

        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_veth_ns(&conn, "nm-up").await;
        assert_fetched(&curl_web("nm-up").await, "nm-up");
        let devices = nm.nmcli(&["-t", "-f", "DEVICE,STATE", "device"]).await;
        let host_ends: Vec<&str> = devices.lines().filter(|l| l.starts_with("nsu")).collect();
        assert!(
            !host_ends.is_empty(),
            "nmcli device lists no nsu*:\n{devices}"
        );
        for l in host_ends {
            assert!(l.ends_with(":unmanaged"), "{l}\n{devices}");
        }
        // NetworkManager made no profile for netnsd's devices.
        let profiles = nm.nmcli(&["-t", "-f", "NAME,DEVICE", "connection"]).await;
        assert!(!profiles.contains("nsu"), "{profiles}");
        assert_fetched(&curl_web("nm-up").await, "nm-up");
        controller(&conn)
            .await
            .remove_network_namespace("nm-up")
            .await
            .expect("RemoveNetworkNamespace");
        assert_nothing_left(&wan.keep().pid(nm.pid())).await;
        drop(nm);
        drop(wan);
    })
    .await
}
