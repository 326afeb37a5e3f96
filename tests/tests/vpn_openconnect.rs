//! Isolated OpenConnect connections (issue 6) against a real gateway:
//! Debian's ocserv in `wan` (tcp/udp 443 on 203.0.113.1, a password user
//! made with ocpasswd, a CA and server certificate made now with openssl,
//! `isolate-workers = false`), handing out 192.168.100.0/24, DNS 10.99.0.53,
//! domain corp.test and a route to the OpenVPN rig's private network corp
//! (10.99.0.0/24, intranet.corp.test known only to its dnsmasq).
//!
//! The daemon logs in (openconnect --authenticate, the password answered at
//! its prompt), then runs openconnect in rootns with its helper as --script
//! and the cookie on stdin; the tunnel is moved into the isolated namespace.
//! Besides a working connection: a wrong password, openconnect dying, a
//! netns-timeout of 0 and deactivation leave nothing (as /proc, iproute2,
//! nft and the bus see it: `assert_nothing_left`); a persistent namespace
//! stays, empty, and is used again.

use std::time::Duration;

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

/// The check of every isolated VPN, and openconnect's own: one client,
/// given the cookie of its login on stdin.
async fn assert_openconnect_up(
    conn: &zbus::Connection,
    rig: &OpenVpnRig,
    daemon: &Daemon,
    ns: &str,
    ac: &str,
) {
    assert_isolated_and_working(
        conn,
        rig,
        daemon,
        ns,
        ac,
        &Isolated::openconnect(OC_PASSWORD),
    )
    .await;
    let clients = processes_of(OPENCONNECT_BIN);
    assert_eq!(clients.len(), 1, "one openconnect: {clients:?}");
    assert!(
        // The login (openconnect --authenticate, the password answered at
        // its prompt) got the cookie the tunnel runs with.
        clients[0].1.contains("--cookie-on-stdin") && !clients[0].1.contains("--authenticate"),
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
        assert_openconnect_up(&conn, &rig, &daemon, "oc1", &ac).await;
        let t0 = std::time::Instant::now();
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep()).await;
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
        assert_nothing_left(&rig.keep()).await;
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
        assert_nothing_left(&rig.keep()).await;
        drop(daemon);
        drop(oc);
    })
    .await
}

/// (d) openconnect killed under an activated connection: it fails with
/// NetworkManager's reason for a VPN service that stopped
/// (service-stopped, State deactivated, VpnState failed), and the
/// transient namespace, the tunnel and the daemon's files for it are all
/// gone, as /proc, iproute2 and the bus see it.
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
        assert_nothing_left(&rig.keep()).await;
        assert_unchanged(&before, "the activation").await;
        rig.assert_rootns_cut_off().await;
        drop(daemon);
        drop(oc);
    })
    .await
}

/// (e) netns-timeout=0 is the default timeout, as in the 2016 prototype
/// (`timeout > 0 ? timeout : default`): the connection comes up, works,
/// and goes leaving nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_timeout_zero_is_the_default_as_in_the_prototype() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start(&rig).await;
        let profile = oc
            .profile("corp-oc-zero")
            .secret("password", OC_PASSWORD)
            .isolated("oczero")
            .timeout_ms(0);
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_openconnect_up(&conn, &rig, &daemon, "oczero", &ac).await;
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep()).await;
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
            assert_openconnect_up(&conn, &rig, &daemon, "ockeep", &ac).await;
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
            // Kept, empty (only lo, only lo's routes, no DNS files, no
            // process inside); the tunnel and openconnect are gone.
            assert_nothing_left(&rig.keep().empty_ns("ockeep")).await;
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
