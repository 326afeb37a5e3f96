//! Dispatcher scripts (issue 16, item 5): executables in
//! /etc/netnsd/dispatcher.d (the sandbox's overlay /etc) run on namespace
//! added and removed, device moved in and out, uplink up and down, VPN up
//! and down — one event at a time, in order, scripts in name order, each
//! with a time limit. The scripts append their arguments and environment to
//! a file under /run (the sandbox's tmpfs): that file is the observer.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use netnsd_api::namespace_path;
use netnsd_tests::openvpn::*;
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;
use zbus::wire::Variant as Value;

const DIR: &str = "/etc/netnsd/dispatcher.d";
const LOG: &str = "/run/dispatcher-test.log";
const WORLD_LOG: &str = "/run/dispatcher-test-world.log";

fn script(name: &str, mode: u32, body: &str) {
    std::fs::create_dir_all(DIR).unwrap();
    let p = Path::new(DIR).join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A script that logs one block per event: "== ARG1 ARG2 (SCRIPT)", then
/// the variables netnsd sets, sorted, then "-- end".
fn logging_script(name: &str) {
    script(
        name,
        0o755,
        &format!(
            "{{ echo \"== $1 $2 ({name})\"; env | grep -E \
             '^(NETNSD_|DEVICE_|CONNECTION_|VPN_)' | sort; echo '-- end'; }} >> {LOG}"
        ),
    );
}

/// The events logged completely: (namespace, action, variables), in order.
fn events() -> Vec<(String, String, Vec<String>)> {
    let text = std::fs::read_to_string(LOG).unwrap_or_default();
    let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut complete = 0;
    for l in text.lines() {
        if l == "-- end" {
            complete = out.len();
        } else if let Some(head) = l.strip_prefix("== ") {
            let mut w = head.split_whitespace();
            out.push((
                w.next().unwrap_or("").to_owned(),
                w.next().unwrap_or("").to_owned(),
                Vec::new(),
            ));
        } else if let Some(e) = out.last_mut() {
            e.2.push(l.to_owned());
        }
    }
    out.truncate(complete);
    out
}

fn var<'a>(vars: &'a [String], key: &str) -> Option<&'a str> {
    vars.iter()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

/// Waits until an event (ns, action) is logged; returns its variables.
async fn wait_event(ns: &str, action: &str) -> Vec<String> {
    wait_for(
        Duration::from_secs(15),
        &format!("dispatcher event {action} for {ns}"),
        || async {
            events()
                .into_iter()
                .find(|(n, a, _)| n == ns && a == action)
                .map(|e| e.2)
        },
    )
    .await
}

fn clear_logs() {
    let _ = std::fs::remove_file(LOG);
    let _ = std::fs::remove_file(WORLD_LOG);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_in_order_on_namespace_device_uplink_and_vpn_events() {
    let _env = TestEnv::new();
    timed(async {
        clear_logs();
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        logging_script("10-log");
        // World-writable: refused, as NetworkManager refuses it.
        script("20-world", 0o777, &format!("echo ran >> {WORLD_LOG}"));
        let uuid = new_uuid();
        install_keyfile_text(
            "disp-wg",
            &peer.keyfile(
                "disp-wg",
                &uuid,
                &["netns-isolate=true", "netns-name=disp-vpn"],
            ),
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;

        // A namespace with a veth uplink.
        netnsd_tests::wan::add_with_options(
            &conn,
            "disp-a",
            netnsd_tests::wan::options(vec![("uplink", Value::from("veth"))]),
        )
        .await
        .expect("AddNetworkNamespaceWithOptions");
        wait_event("disp-a", "uplink-up").await;
        // A device moved in.
        ip(&[
            "link", "add", "dmv0", "type", "veth", "peer", "name", "dmv1",
        ])
        .await
        .ok();
        netnsd_tests::platform::wait_device(&conn, &namespace_path(0), "dmv0").await;
        nsctl(None, &["device", "take", "dmv0", "--to", "disp-a"])
            .await
            .ok();
        let v = wait_event("disp-a", "device-in").await;
        assert_eq!(var(&v, "DEVICE_IFACE"), Some("dmv0"), "{v:?}");
        // And out again, back to rootns.
        nsctl(
            None,
            &[
                "device", "take", "dmv0", "--from", "disp-a", "--to", "rootns",
            ],
        )
        .await
        .ok();
        wait_event("disp-a", "device-out").await;
        let v = wait_event("rootns", "device-in").await;
        assert_eq!(var(&v, "DEVICE_IFACE"), Some("dmv0"), "{v:?}");
        ip(&["link", "del", "dmv0"]).await.ok();

        // An isolated WireGuard VPN, up and down.
        let conn_path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&uuid)
            .await
            .unwrap()
            .to_string();
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &conn_path).await;
        let up = wait_event("disp-vpn", "vpn-up").await;
        deactivate_until_down(&conn, &mut log, &ac).await;
        let down = wait_event("disp-vpn", "vpn-down").await;
        wait_event("disp-vpn", "namespace-removed").await;

        // The namespace with the uplink, removed.
        controller(&conn)
            .await
            .remove_network_namespace("disp-a")
            .await
            .unwrap();
        wait_event("disp-a", "namespace-removed").await;

        // The sequence, in order (rootns's side of the moves left out: a
        // move is seen from both namespaces, in either order).
        let seq: Vec<String> = events()
            .iter()
            .filter(|(n, _, _)| n != "rootns")
            .map(|(n, a, _)| format!("{n} {a}"))
            .collect();
        let want_a = [
            "disp-a namespace-added",
            "disp-a uplink-up",
            "disp-a device-in",
            "disp-a device-out",
        ];
        assert_eq!(&seq[..4], &want_a, "{seq:#?}");
        assert_eq!(
            &seq[seq.len() - 2..],
            ["disp-a uplink-down", "disp-a namespace-removed"],
            "{seq:#?}"
        );
        let vpn: Vec<&String> = seq.iter().filter(|s| s.starts_with("disp-vpn ")).collect();
        assert_eq!(
            vpn.first().map(|s| s.as_str()),
            Some("disp-vpn namespace-added"),
            "{seq:#?}"
        );
        assert_eq!(
            vpn.last().map(|s| s.as_str()),
            Some("disp-vpn namespace-removed"),
            "{seq:#?}"
        );
        let pos = |s: &str| seq.iter().position(|x| x == s).unwrap();
        assert!(
            pos("disp-vpn vpn-up") < pos("disp-vpn vpn-down"),
            "{seq:#?}"
        );
        assert!(pos("disp-vpn vpn-down") < pos("disp-vpn namespace-removed"));
        assert!(pos("disp-a device-out") < pos("disp-vpn namespace-added"));

        // The variables, in NetworkManager's manner.
        let all = events();
        let added = &all
            .iter()
            .find(|e| e.0 == "disp-a" && e.1 == "namespace-added")
            .unwrap()
            .2;
        assert_eq!(
            var(added, "NETNSD_DISPATCHER_ACTION"),
            Some("namespace-added")
        );
        assert_eq!(var(added, "NETNSD_NAMESPACE"), Some("disp-a"));
        assert_eq!(
            var(added, "NETNSD_NAMESPACE_PATH"),
            Some("/run/netns/disp-a")
        );
        let uplink = &all
            .iter()
            .find(|e| e.0 == "disp-a" && e.1 == "uplink-up")
            .unwrap()
            .2;
        assert_eq!(var(uplink, "NETNSD_UPLINK"), Some("veth"), "{uplink:?}");
        assert_eq!(var(uplink, "DEVICE_IFACE"), Some("uplink0"), "{uplink:?}");
        assert!(var(uplink, "NETNSD_UPLINK_HOST_IFACE").is_some_and(|h| h.starts_with("nsu")));
        for v in [&up, &down] {
            assert_eq!(var(v, "CONNECTION_ID"), Some("disp-wg"), "{v:?}");
            assert_eq!(var(v, "CONNECTION_UUID"), Some(uuid.as_str()), "{v:?}");
            assert_eq!(
                var(v, "VPN_IP4_ADDRESS_0"),
                Some(format!("{WG_CLIENT_ADDR}/24").as_str()),
                "{v:?}"
            );
            assert_eq!(var(v, "VPN_IP4_NUM_ADDRESSES"), Some("1"), "{v:?}");
            assert_eq!(var(v, "VPN_IP4_NAMESERVERS"), Some(CORP_DNS), "{v:?}");
            assert_eq!(var(v, "VPN_IP4_DOMAINS"), Some(CORP_DOMAIN), "{v:?}");
            assert!(
                var(v, "VPN_IP_IFACE").is_some_and(|i| !i.is_empty()),
                "{v:?}"
            );
        }
        assert_eq!(var(&up, "NETNSD_DISPATCHER_ACTION"), Some("vpn-up"));

        // The world-writable script never ran, and the log says why.
        assert!(
            !Path::new(WORLD_LOG).exists(),
            "a world-writable script ran"
        );
        let dlog = daemon.log_text();
        assert!(
            dlog.contains(
                "not running /etc/netnsd/dispatcher.d/20-world: writable by group or others"
            ),
            "{dlog}"
        );
        // nsctl dispatcher (GetDispatcherScripts) says which run, and why
        // not — to anyone.
        let out = nsctl(Some(65534), &["dispatcher"]).await.ok();
        assert_eq!(
            out.stdout,
            "/etc/netnsd/dispatcher.d/10-log yes\n\
             /etc/netnsd/dispatcher.d/20-world no: writable by group or others (mode 777)\n",
            "{out}"
        );
        drop(daemon);
        clear_logs();
    })
    .await
}

/// A script that hangs is killed after the limit (here 1 s), with what it
/// started; the events after it still run, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_script_is_killed_and_later_events_still_run() {
    let _env = TestEnv::new();
    timed(async {
        clear_logs();
        // Hangs on the first namespace only; runs before the logger.
        script(
            "05-hang",
            0o755,
            "[ \"$1\" = disp-hang ] && [ \"$2\" = namespace-added ] && exec sleep 1000\nexit 3",
        );
        logging_script("10-log");
        let daemon = Daemon::start_with_env(&[("NETNSD_DISPATCHER_TIMEOUT", "1")]).await;
        let conn = system_conn().await;
        let t0 = std::time::Instant::now();
        add_ns(&conn, "disp-hang").await;
        add_ns(&conn, "disp-next").await;
        // The manager is never blocked: both are made at once.
        assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
        wait_event("disp-next", "namespace-added").await;
        assert!(
            t0.elapsed() >= Duration::from_secs(1),
            "the next event waited for the hanging script's limit"
        );
        let seq: Vec<(String, String)> = events().into_iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(
            seq,
            [
                ("disp-hang".to_owned(), "namespace-added".to_owned()),
                ("disp-next".to_owned(), "namespace-added".to_owned())
            ]
        );
        // Killed, with its process group.
        assert!(
            processes_mentioning("sleep 1000").is_empty(),
            "the hanging script's sleep still runs"
        );
        let log = daemon.log_text();
        assert!(
            log.contains("05-hang namespace-added ran longer than 1s; killed"),
            "{log}"
        );
        // A failing script is logged, never fatal.
        assert!(log.contains("05-hang namespace-added failed"), "{log}");
        drop(daemon);
        clear_logs();
    })
    .await
}
