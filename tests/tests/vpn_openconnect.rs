//! Isolated OpenConnect connections (issue 6) against a real gateway:
//! Debian's ocserv in `wan` (tcp/udp 443 on 203.0.113.1, a password user
//! made with ocpasswd, a CA and server certificate made now with openssl,
//! `isolate-workers = false`), handing out 192.168.100.0/24, DNS 10.99.0.53,
//! domain corp.test and a route to the OpenVPN rig's private network corp
//! (10.99.0.0/24, intranet.corp.test known only to its dnsmasq).
//!
//! The daemon runs openconnect in rootns with its helper as --script and the
//! password on stdin; the tunnel is moved into the isolated namespace.
//! Besides a working connection: a wrong password, openconnect dying, a
//! netns-timeout of 0 and deactivation leave nothing (as ps and iproute2
//! see it); a persistent namespace stays, empty, and is used again.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

async fn assert_isolated_and_working(
    conn: &zbus::Connection,
    rig: &OpenVpnRig,
    daemon: &Daemon,
    ns: &str,
    ac: &str,
) {
    let ns_path = wait_ns_on_bus(conn, ns, Duration::from_secs(1)).await;
    assert_eq!(
        active_proxy(conn, ac)
            .await
            .network_namespace()
            .await
            .unwrap()
            .to_string(),
        ns_path
    );
    let links = brief_links(ns).await;
    let tuns = tun_links(ns).await;
    assert_eq!(tuns.len(), 1, "one tunnel in {ns}: {links:?}");
    let tun = tuns[0].clone();
    assert_eq!(
        links.iter().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(["lo".to_owned(), tun.clone()]),
        "{ns} must hold only lo and the tunnel"
    );
    let addrs = ip_addrs(ns, &tun).await;
    assert!(
        addrs.iter().any(|a| a.starts_with(OC_NET_PREFIX)),
        "{tun} has no address the gateway gave ({OC_NET_PREFIX}x): {}",
        names(&addrs)
    );
    let routes = all_routes(ns).await;
    for r in &routes {
        let dev = route_dev(r);
        assert!(
            dev == Some("lo") || dev == Some(tun.as_str()) || route_is_dead_end(r),
            "route in {ns} that bypasses the tunnel: {r:?}\n{}",
            routes.join("\n")
        );
    }
    assert!(
        routes
            .iter()
            .any(|r| r.starts_with(CORP_NET) && route_dev(r) == Some(tun.as_str())),
        "no pushed route to {CORP_NET} through {tun}:\n{}",
        routes.join("\n")
    );
    let resolv = read(&format!("{NETNS_ETC_DIR}/{ns}/resolv.conf"));
    assert!(
        resolv
            .lines()
            .any(|l| l.split_whitespace().eq(["nameserver", CORP_DNS])),
        "/etc/netns/{ns}/resolv.conf lacks the gateway's DNS:\n{resolv}"
    );
    assert!(
        resolv.lines().any(|l| {
            let mut w = l.split_whitespace();
            matches!(w.next(), Some("search" | "domain")) && w.any(|d| d == CORP_DOMAIN)
        }),
        "/etc/netns/{ns}/resolv.conf lacks the gateway's domain:\n{resolv}"
    );
    let out = curl_in(ns, &intranet_url(), 10).await;
    assert!(
        out.success() && out.stdout.contains(INTRANET_TOKEN),
        "`ip netns exec {ns} curl {}` failed: {out}\n{}",
        intranet_url(),
        rig.logs()
    );
    rig.assert_rootns_cut_off().await;
    let hits = processes_mentioning(OC_PASSWORD);
    assert!(
        hits.is_empty(),
        "the password is visible in /proc:\n{}",
        hits.join("\n")
    );
    let exposed = exposed_files_with(
        &["/run", "/etc/netnsd", "/etc/netns", "/tmp"],
        &[OC_PASSWORD],
        // The checkout (sources, build products) holds the test's own
        // literals; it is not where a secret could leak to.
        &[rig.dir(), repo_root().as_path()],
    );
    assert!(exposed.is_empty(), "the password is in {exposed:?}");
    assert!(
        !daemon.log_text().contains(OC_PASSWORD),
        "the daemon logged the password"
    );
    let clients = processes_of(OPENCONNECT_BIN);
    assert_eq!(clients.len(), 1, "one openconnect: {clients:?}");
    assert!(
        clients[0].1.contains("--passwd-on-stdin"),
        "{}",
        clients[0].1
    );
}

/// (a) Password login with the CA given: activated, the tunnel in the
/// isolated namespace with the gateway's address, route, DNS and domain;
/// only that namespace reaches corp; deactivation leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_login_reaches_the_private_network_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start(&rig).await;
        rig.assert_rootns_cut_off().await;
        let profile = oc
            .profile("corp-oc")
            .secret("password", OC_PASSWORD)
            .isolated("oc1");
        profile.install_keyfile("corp-oc");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&profile.uuid)
            .await
            .unwrap()
            .to_string();
        let mut log = StateLog::new(&conn).await;
        let t0 = std::time::Instant::now();
        let ac = activate_until_up(&conn, &mut log, &path).await;
        eprintln!("openconnect activation took {:?}", t0.elapsed());
        assert_isolated_and_working(&conn, &rig, &daemon, "oc1", &ac).await;
        let t0 = std::time::Instant::now();
        deactivate_until_down(&conn, &mut log, &ac).await;
        wait_clean_of(&conn, OPENCONNECT_BIN, &[], Some("oc1"), VPN_DOWN_TIMEOUT).await;
        eprintln!(
            "openconnect deactivation and cleanup took {:?}",
            t0.elapsed()
        );
        rig.assert_rootns_cut_off().await;
        drop(daemon);
        drop(oc);
    })
    .await
}

/// (b) The server certificate pinned (servercert) instead of a CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_server_certificate_connects() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start(&rig).await;
        let mut profile = oc
            .profile("corp-oc-pin")
            .secret("password", OC_PASSWORD)
            .data("servercert", &oc.pin)
            .isolated("ocpin");
        profile.data.remove("cacert");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        let out = curl_in("ocpin", &intranet_url(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        deactivate_until_down(&conn, &mut log, &ac).await;
        wait_clean_of(&conn, OPENCONNECT_BIN, &[], Some("ocpin"), VPN_DOWN_TIMEOUT).await;
        drop(daemon);
        drop(oc);
    })
    .await
}

/// (c) A wrong password: the connection fails with login-failed and leaves
/// no namespace, tunnel or openconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_fails_with_login_failed_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start(&rig).await;
        let profile = oc
            .profile("corp-oc-bad")
            .secret("password", "not-the-password")
            .isolated("ocbad");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate(&conn, &path)
            .await
            .unwrap_or_else(|e| panic!("ActivateConnection: {e:?}"));
        log.wait_deactivated(&ac, VPN_UP_TIMEOUT).await;
        let states = log.states(&ac, Sig::State);
        assert!(
            !states.iter().any(|s| s.0 == active::ACTIVATED),
            "{}",
            log.describe()
        );
        assert_eq!(
            states.last().unwrap().1,
            reason::LOGIN_FAILED,
            "{}\n{}",
            log.describe(),
            daemon.log_text()
        );
        wait_clean_of(&conn, OPENCONNECT_BIN, &[], Some("ocbad"), VPN_DOWN_TIMEOUT).await;
        drop(daemon);
        drop(oc);
    })
    .await
}

/// What the activation keeps for itself under the daemon's state
/// directory (its helper socket, credentials files): nothing once it ended.
fn vpn_state_files() -> Vec<String> {
    std::fs::read_dir("/run/netnsd/vpn")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `ps -C openconnect`: the openconnect processes ps sees (pid and args).
async fn ps_openconnect() -> Vec<String> {
    let out = run("ps", &["-C", "openconnect", "-o", "pid=,args="]).await;
    out_lines(&out)
}

/// Everything an ended activation into `ns` must have taken down, seen
/// from outside the daemon: no openconnect (ps), no client tunnel anywhere
/// (ip link), no namespace `ns` (ip netns list, the bus, /etc/netns), no
/// state files, and rootns as it was in `before`.
async fn assert_all_gone(ns: &str, before: &[NetSnapshot]) {
    let ps = ps_openconnect().await;
    assert!(ps.is_empty(), "ps still shows openconnect: {ps:?}");
    let tuns = client_tunnels().await;
    assert!(tuns.is_empty(), "client tunnels left: {tuns:?}");
    let root_links = brief_links(ROOT_NS_NAME).await;
    assert!(
        !root_links.iter().any(|l| l.starts_with("nsvpn")),
        "a tunnel is left in rootns: {root_links:?}"
    );
    assert!(
        !ip_netns_list().await.iter().any(|n| n == ns),
        "`ip netns list` still shows {ns}"
    );
    let probe = ip_ns(ns, &["link"]).await;
    assert!(!probe.success(), "`ip -n {ns} link` still works: {probe}");
    assert!(!Path::new(&format!("/run/netns/{ns}")).exists());
    assert!(!Path::new(&format!("{NETNS_ETC_DIR}/{ns}")).exists());
    let files = vpn_state_files();
    assert!(files.is_empty(), "left in /run/netnsd/vpn: {files:?}");
    assert_unchanged(before, "the activation").await;
}

/// (d) openconnect killed under an activated connection: it fails with
/// NetworkManager's reason for a VPN service that stopped
/// (service-stopped, State deactivated, VpnState failed), and the
/// transient namespace, the tunnel and the daemon's files for it are all
/// gone, as ps and iproute2 see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openconnect_dying_fails_the_connection_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start(&rig).await;
        let before = settled_snapshots(&[ROOT_NS_NAME]).await;
        let profile = oc
            .profile("corp-oc-dies")
            .secret("password", OC_PASSWORD)
            .isolated("ocdies");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_eq!(tun_links("ocdies").await.len(), 1, "no tunnel in ocdies");
        let clients = processes_of(OPENCONNECT_BIN);
        assert_eq!(clients.len(), 1, "one openconnect: {clients:?}");
        let pid = clients[0].0;
        assert_eq!(ps_openconnect().await.len(), 1);

        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        let (st, why) = log.states(&ac, Sig::State).last().copied().unwrap();
        assert_eq!(
            (st, why),
            (active::DEACTIVATED, reason::SERVICE_STOPPED),
            "{}\n{}",
            log.describe(),
            daemon.log_text()
        );
        assert_eq!(
            log.states(&ac, Sig::Vpn).last().copied(),
            Some((vpn::FAILED, reason::SERVICE_STOPPED)),
            "{}",
            log.describe()
        );
        wait_clean_of(
            &conn,
            OPENCONNECT_BIN,
            &[],
            Some("ocdies"),
            VPN_DOWN_TIMEOUT,
        )
        .await;
        assert_all_gone("ocdies", &before).await;
        rig.assert_rootns_cut_off().await;
        drop(daemon);
        drop(oc);
    })
    .await
}

/// (e) netns-timeout=0: the tunnel cannot be seen in the isolated
/// namespace in no time, so the activation fails with connect-timeout
/// (never activated) and leaves no namespace, tunnel, openconnect or file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_timeout_zero_fails_and_leaves_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start(&rig).await;
        let before = settled_snapshots(&[ROOT_NS_NAME]).await;
        let profile = oc
            .profile("corp-oc-hurry")
            .secret("password", OC_PASSWORD)
            .isolated("ochurry")
            .timeout_ms(0);
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate(&conn, &path)
            .await
            .unwrap_or_else(|e| panic!("ActivateConnection: {e:?}"));
        log.wait_deactivated(&ac, VPN_UP_TIMEOUT).await;
        let states = log.states(&ac, Sig::State);
        assert!(
            !states.iter().any(|s| s.0 == active::ACTIVATED),
            "netns-timeout 0 must not let it come up:\n{}",
            log.describe()
        );
        assert_eq!(
            states.last().copied(),
            Some((active::DEACTIVATED, reason::CONNECT_TIMEOUT)),
            "{}\n{}",
            log.describe(),
            daemon.log_text()
        );
        // It got as far as the gateway's configuration: the timeout is the
        // namespace's, not vpn.timeout's.
        assert!(
            log.states(&ac, Sig::Vpn)
                .iter()
                .any(|s| s.0 == vpn::IP_CONFIG_GET),
            "{}",
            log.describe()
        );
        assert_eq!(
            log.states(&ac, Sig::Vpn).last().copied(),
            Some((vpn::FAILED, reason::CONNECT_TIMEOUT)),
            "{}",
            log.describe()
        );
        wait_clean_of(
            &conn,
            OPENCONNECT_BIN,
            &[],
            Some("ochurry"),
            VPN_DOWN_TIMEOUT,
        )
        .await;
        assert_all_gone("ochurry", &before).await;
        drop(daemon);
        drop(oc);
    })
    .await
}

/// (f) A persistent namespace (netns-persistent, netns-name given): after
/// deactivation it stays, on the bus (Persistent) and for iproute2, with
/// only lo, no route but lo's and no DNS files; the tunnel and openconnect
/// are gone and it reaches nothing. A second activation reuses it (same
/// object) and works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_namespace_stays_empty_after_deactivation() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start(&rig).await;
        let profile = oc
            .profile("corp-oc-keep")
            .secret("password", OC_PASSWORD)
            .isolated("ockeep")
            .persistent(true);
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let mut kept: Option<String> = None;
        for round in 0..2 {
            let ac = activate_until_up(&conn, &mut log, &path).await;
            assert_isolated_and_working(&conn, &rig, &daemon, "ockeep", &ac).await;
            let ns_path = wait_ns_on_bus(&conn, "ockeep", Duration::from_secs(1)).await;
            assert!(
                instance(&conn, &ns_path).await.persistent().await.unwrap(),
                "round {round}: ockeep.Persistent"
            );
            if let Some(k) = &kept {
                assert_eq!(k, &ns_path, "round {round}: the kept namespace is reused");
            }
            deactivate_until_down(&conn, &mut log, &ac).await;
            let (st, why) = log.states(&ac, Sig::State).last().copied().unwrap();
            assert_eq!((st, why), (active::DEACTIVATED, reason::USER_DISCONNECTED));
            wait_clean_of(&conn, OPENCONNECT_BIN, &[], None, VPN_DOWN_TIMEOUT).await;

            // Kept, as iproute2 and the bus see it, with only lo in it.
            assert!(
                ip_netns_list().await.iter().any(|n| n == "ockeep"),
                "round {round}: `ip netns list` lost ockeep"
            );
            assert_eq!(
                wait_ns_on_bus(&conn, "ockeep", Duration::from_secs(1)).await,
                ns_path,
                "round {round}: the namespace kept its object"
            );
            assert_eq!(brief_links("ockeep").await, ["lo"], "round {round}");
            assert!(tun_links("ockeep").await.is_empty());
            for r in all_routes("ockeep").await {
                assert_eq!(route_dev(&r), Some("lo"), "left in ockeep: {r}");
            }
            assert!(
                !Path::new(&format!("{NETNS_ETC_DIR}/ockeep/resolv.conf")).exists(),
                "round {round}: the VPN's resolv.conf is left"
            );
            let ps = ps_openconnect().await;
            assert!(ps.is_empty(), "ps still shows openconnect: {ps:?}");
            let out = curl_in("ockeep", &intranet_url_by_addr(), 2).await;
            assert!(
                !out.success() && !out.stdout.contains(INTRANET_TOKEN),
                "round {round}: the kept namespace still reaches corp: {out}"
            );
            kept = Some(ns_path);
        }
        drop(daemon);
        drop(oc);
    })
    .await
}
