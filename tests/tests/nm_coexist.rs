//! One host, both daemons (issue 15, item 10): NetworkManager runs (in
//! the sandbox) with its own `unmanaged-devices` (not `*`) and netnsd's
//! snippet, networkmanager/90-netnsd.conf, in its conf.d; NetworkManager
//! merges the snippet's names into its configuration, shows netnsd's
//! devices (an uplink's host end, nsu*) as unmanaged, and a veth uplink
//! namespace still fetches from wan while NetworkManager runs.
//!
//! NetworkManager owning the default route: without udev NetworkManager
//! manages no device in the sandbox (it waits for udev to initialize each
//! link) unless /sys is read-only, as in a container; so
//! [`RealNm::start_managing`] gives it a read-only /sys in a mount
//! namespace of its own. It then manages rig-wan1 (a second veth to the
//! wan rig) with a static keyfile profile and installs rootns's only IPv4
//! default route (proto static, its ethernet metric 100); an uplink made
//! through netnsd fetches from wan by that route (wan sees NetworkManager's
//! address), NetworkManager leaves the uplink's host end alone, and after
//! `nmcli connection down`/`up` the uplink follows the route back.
use std::path::Path;
use std::time::Duration;

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
            "interface-name:nsbr*",
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
        for prefix in ["nsu", "nsbr"] {
            let ours: Vec<&str> = devices.lines().filter(|l| l.starts_with(prefix)).collect();
            assert!(
                !ours.is_empty(),
                "nmcli device lists no {prefix}*:\n{devices}"
            );
            for l in ours {
                assert!(l.ends_with(":unmanaged"), "{l}\n{devices}");
            }
        }
        // NetworkManager made no profile for netnsd's devices.
        let profiles = nm.nmcli(&["-t", "-f", "NAME,DEVICE", "connection"]).await;
        assert!(
            !profiles.contains("nsu") && !profiles.contains("nsbr"),
            "{profiles}"
        );
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

/// NetworkManager's device on the way out (rootns) and its peer in wan.
const NM_IF: &str = "rig-wan1";
const NM_PEER_IF: &str = "eth1";
const NM_GW: &str = "198.51.100.1";
const NM_ADDR: &str = "198.51.100.2";
const NM_PROFILE: &str = "rig-wan1-static";

/// rootns's IPv4 default routes, one per line.
async fn v4_defaults() -> String {
    ip(&["-4", "route", "show", "default"]).await.ok().stdout
}

/// NetworkManager's line for `dev` in `nmcli -t device`: DEVICE:STATE:CONNECTION.
async fn nm_device_line(nm: &RealNm, dev: &str) -> String {
    let devices = nm
        .nmcli(&["-t", "-f", "DEVICE,STATE,CONNECTION", "device"])
        .await;
    devices
        .lines()
        .find(|l| l.split(':').next() == Some(dev))
        .unwrap_or_else(|| panic!("nmcli device lists no {dev}:\n{devices}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networkmanager_owns_the_default_route_and_uplinks_follow_it() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        // rootns's IPv4 way out becomes NetworkManager's alone: wan0 keeps
        // no IPv4 (so no route of its own to wan), and rig-wan1 — eth1 in
        // wan (198.51.100.1/24; wan's servers answer on any of its
        // addresses) is the link NetworkManager manages.
        ip(&["-4", "route", "del", "default"]).await.ok();
        ip(&["-4", "addr", "flush", "dev", WAN_HOST_IF]).await.ok();
        ip(&[
            "link", "add", NM_IF, "type", "veth", "peer", "name", NM_PEER_IF, "netns", WAN_NS,
        ])
        .await
        .ok();
        ip_ns(
            WAN_NS,
            &["addr", "add", &format!("{NM_GW}/24"), "dev", NM_PEER_IF],
        )
        .await
        .ok();
        ip_ns(WAN_NS, &["link", "set", NM_PEER_IF, "up"]).await.ok();
        assert_eq!(
            v4_defaults().await.trim(),
            "",
            "no default route before NetworkManager"
        );

        std::fs::create_dir_all(NM_RIG_DIR).unwrap();
        let conf_d = Path::new(NM_RIG_DIR).join("conf.d");
        std::fs::create_dir_all(&conf_d).unwrap();
        std::fs::write(conf_d.join("90-netnsd.conf"), SNIPPET).unwrap();
        let nm = RealNm::start_managing(
            &format!("[keyfile]\nunmanaged-devices=interface-name:{WAN_HOST_IF}\n"),
            Some(&conf_d),
        )
        .await;
        // It manages rig-wan1 (not "unmanaged": udev is not waited for).
        wait_for(
            Duration::from_secs(10),
            "NetworkManager to manage rig-wan1",
            || async {
                let l = nm_device_line(&nm, NM_IF).await;
                (!l.contains(":unmanaged")).then_some(())
            },
        )
        .await;
        nm.nmcli(&[
            "connection",
            "add",
            "type",
            "ethernet",
            "ifname",
            NM_IF,
            "con-name",
            NM_PROFILE,
            "ipv4.method",
            "manual",
            "ipv4.addresses",
            &format!("{NM_ADDR}/24"),
            "ipv4.gateway",
            NM_GW,
            "ipv6.method",
            "disabled",
        ])
        .await;
        let keyfile = nm.keyfile_of(NM_PROFILE);
        assert!(
            keyfile.contains(&format!("address1={NM_ADDR}/24,{NM_GW}")),
            "{keyfile}"
        );
        let nm_default = format!("default via {NM_GW} dev {NM_IF} proto static metric 100");
        let wait_nm_default = || async {
            wait_for(
                Duration::from_secs(15),
                "NetworkManager's default route",
                || async {
                    let d = v4_defaults().await;
                    (d.trim() == nm_default).then_some(d)
                },
            )
            .await
        };
        wait_nm_default().await;
        assert_eq!(
            nm_device_line(&nm, NM_IF).await,
            format!("{NM_IF}:connected:{NM_PROFILE}")
        );

        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_veth_ns(&conn, "nm-own").await;
        let uplink = veth_uplink("nm-own").await;
        // The host end is a port of nsbr0 (the bridge topology), which
        // holds the gateway's addresses.
        let bridge_addrs = global_addrs(ROOT_NS_NAME, BRIDGE_IF).await;
        assert!(!bridge_addrs.is_empty(), "{uplink:?}");
        assert_fetched(&curl_web("nm-own").await, "nm-own");
        // It went by NetworkManager's route: wan saw NetworkManager's address.
        assert_eq!(
            wan.http_clients().into_iter().collect::<Vec<_>>(),
            vec![NM_ADDR.to_owned()],
            "{}",
            wan.http_log()
        );
        // NetworkManager leaves the uplink's host end and its bridge alone.
        let check_host_end = |when: &'static str| {
            let nm = &nm;
            let uplink = &uplink;
            let bridge_addrs = &bridge_addrs;
            async move {
                for dev in [uplink.host_if.as_str(), BRIDGE_IF] {
                    let l = nm_device_line(nm, dev).await;
                    assert_eq!(
                        l,
                        format!("{dev}:unmanaged:"),
                        "{when}: NetworkManager's view of netnsd's {dev}"
                    );
                }
                let profiles = nm.nmcli(&["-t", "-f", "NAME,DEVICE", "connection"]).await;
                assert!(
                    !profiles.contains("nsu") && !profiles.contains("nsbr"),
                    "{when}: {profiles}"
                );
                assert_eq!(
                    global_addrs(ROOT_NS_NAME, &uplink.host_if).await,
                    uplink.host_addrs,
                    "{when}: the addresses of {}",
                    uplink.host_if
                );
                assert_eq!(
                    &global_addrs(ROOT_NS_NAME, BRIDGE_IF).await,
                    bridge_addrs,
                    "{when}: the addresses of {BRIDGE_IF}"
                );
            }
        };
        check_host_end("after the first fetch").await;

        // NetworkManager takes its connection down: the default route goes.
        nm.nmcli(&["connection", "down", NM_PROFILE]).await;
        wait_for(
            Duration::from_secs(10),
            "the default route to go",
            || async { v4_defaults().await.trim().is_empty().then_some(()) },
        )
        .await;
        let out = curl_web("nm-own").await;
        assert!(!out.success(), "fetched with no default route: {out}");
        // ... and up again: the route comes back, the uplink follows it.
        nm.nmcli(&["connection", "up", NM_PROFILE]).await;
        wait_nm_default().await;
        let out = wait_for(
            Duration::from_secs(15),
            "a fetch after connection up",
            || async {
                let out = curl_web("nm-own").await;
                out.success().then_some(out)
            },
        )
        .await;
        assert_fetched(&out, "nm-own");
        check_host_end("after connection down/up").await;

        controller(&conn)
            .await
            .remove_network_namespace("nm-own")
            .await
            .expect("RemoveNetworkNamespace");
        nm.nmcli(&["connection", "delete", NM_PROFILE]).await;
        ip(&["link", "del", NM_IF]).await.ok();
        assert_nothing_left(&wan.keep().pid(nm.pid())).await;
        drop(nm);
        drop(wan);
    })
    .await
}
