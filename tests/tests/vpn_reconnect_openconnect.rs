//! OpenConnect's reconnection shown on the bus like OpenVPN's (issue 13),
//! against the real ocserv rig (tests/src/vpnpeers.rs). Every ocserv
//! process is killed while an isolated connection is up: openconnect keeps
//! its tunnel and tries again ("Failed to reconnect to host …"), and the
//! daemon, reading that from its log, says so on the bus at once (State
//! activating, VpnState connect) while the namespace stays sealed (lo and
//! the tunnel only, nothing reached) with the same client. ocserv started
//! again knows nothing of the session: it refuses the client's cookie
//! ("401 Cookie is not acceptable"), openconnect ends ("Cookie was rejected
//! by server; exiting"), and the connection fails and leaves nothing. (The
//! way back, openconnect's "CSTP connected" after a reconnection, is read
//! as activated again: unit-tested in vpn/openconnect.rs; a server that
//! keeps its sessions through a restart is not in this rig.) About 20 s.
//!
//! An outage of the path, not the server (every packet between rootns and
//! wan dropped for 30 s, ocserv running on): ocserv keeps the session, and
//! openconnect reconnects with its cookie once the path is back — the
//! connection goes reconnecting → activated, sealed throughout. About 60 s.

use std::time::{Duration, Instant};

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::outage::{Capture, FetchLoop, PathCut};
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocserv_gone_is_reconnecting_on_the_bus_and_a_restarted_ocserv_ends_it() {
    let _env = TestEnv::new();
    timed_within(Duration::from_secs(120), async {
        let rig = OpenVpnRig::start().await;
        let mut oc = OcServer::start(&rig).await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = oc
            .profile("corp-oc-outage")
            .secret("password", OC_PASSWORD)
            .isolated("ocout");
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        let links_up = brief_links("ocout").await;
        assert_eq!(links_up.len(), 2, "lo and the tunnel: {links_up:?}");
        let out = curl_in("ocout", &intranet_url(), 5).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        let client = processes_of(OPENCONNECT_BIN);
        assert_eq!(client.len(), 1, "one openconnect: {client:?}");

        oc.kill();
        let killed = Instant::now();
        wait_reconnecting(&mut log, &ac, Duration::from_secs(20)).await;
        eprintln!(
            "reconnecting on the bus {:?} after the kill",
            killed.elapsed()
        );
        assert!(
            daemon
                .log_text()
                .contains("the VPN server stopped answering: reconnecting for at most 300s"),
            "{}",
            daemon.log_text()
        );
        // Sealed meanwhile: the same links, nothing reached, the same client.
        assert_eq!(brief_links("ocout").await, links_up, "ocout's links");
        let out = curl_in("ocout", &intranet_url_by_addr(), 2).await;
        assert!(!out.stdout.contains(INTRANET_TOKEN), "{out}");
        assert_eq!(processes_of(OPENCONNECT_BIN), client, "the same client");
        assert_eq!(
            active_proxy(&conn, &ac).await.state().await.unwrap(),
            active::ACTIVATING
        );

        // A new ocserv: the session is gone, the cookie refused.
        oc.resume().await;
        log.wait_deactivated(&ac, Duration::from_secs(40)).await;
        let failed = log.states(&ac, Sig::Vpn);
        assert!(
            failed
                .iter()
                .any(|s| s.0 == vpn::FAILED && s.1 == reason::SERVICE_STOPPED),
            "VpnState failed (service-stopped): {}",
            log.describe()
        );
        assert_nothing_left(&rig.keep()).await;
        drop(daemon);
        drop(oc);
    })
    .await
}

/// The path to ocserv cut for 30 s (nft in wan drops everything on its
/// link to rootns), the server running on with the session. openconnect
/// notices (dead peer detection every 5 s, which the rig's ocserv asks
/// for) and the bus says reconnecting (State activating, VpnState
/// connect); the namespace stays sealed (the same links and routes, the
/// same client, nothing of its traffic on the uplink) and the program in
/// it runs on; once the path is back openconnect reconnects with its cookie
/// and the connection is activated again, and the program fetches the
/// intranet's page again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_outage_reconnects_openconnect_with_its_cookie() {
    let _env = TestEnv::new();
    timed_within(Duration::from_secs(150), async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start_with_dpd(&rig, 5).await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = oc
            .profile("corp-oc-path")
            .secret("password", OC_PASSWORD)
            .isolated("ocpath");
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        let ns_path = wait_ns_on_bus(&conn, "ocpath", Duration::from_secs(5)).await;
        let links_up = brief_links("ocpath").await;
        assert_eq!(links_up.len(), 2, "lo and the tunnel: {links_up:?}");
        let routes_up = all_routes("ocpath").await;
        let client = processes_of(OPENCONNECT_BIN);
        assert_eq!(client.len(), 1, "one openconnect: {client:?}");

        let fetch = FetchLoop::spawn(&conn, &ns_path, &intranet_url(), "oc-path-loop").await;
        let seen = fetch.wait("ok", 0, Duration::from_secs(20)).await;
        // The VPN's own packets (TLS and DTLS to 203.0.113.1:443) only:
        // nothing of the private network, the tunnel's addresses, the
        // intranet's port or DNS.
        let tcpdump = Capture::start(
            RIG_HOST_IF,
            &[
                "net",
                CORP_NET,
                "or",
                "net",
                "192.168.100.0/24",
                "or",
                "port",
                "8080",
                "or",
                "port",
                "53",
            ],
            "oc-path-capture",
        );

        let cut = PathCut::cut(RIG_WAN_NS, RIG_UP_IF).await;
        let t0 = Instant::now();
        wait_reconnecting(&mut log, &ac, Duration::from_secs(30)).await;
        eprintln!("reconnecting on the bus {:?} after the cut", t0.elapsed());
        let fails = fetch.wait("fail", seen, Duration::from_secs(20)).await;
        assert_eq!(brief_links("ocpath").await, links_up, "ocpath's links");
        assert_eq!(all_routes("ocpath").await, routes_up, "ocpath's routes");
        assert!(fetch.alive(), "the program in ocpath ended");
        assert_eq!(processes_of(OPENCONNECT_BIN), client, "the same client");
        let out = curl_in("ocpath", &intranet_url_by_addr(), 1).await;
        assert!(!out.stdout.contains(INTRANET_TOKEN), "{out}");
        tokio::time::sleep(Duration::from_secs(30).saturating_sub(t0.elapsed())).await;
        assert_eq!(
            active_proxy(&conn, &ac).await.state().await.unwrap(),
            active::ACTIVATING
        );

        cut.restore().await;
        let back = Instant::now();
        log.wait(&ac, Duration::from_secs(60), "activated again", |ev| {
            // (active::ACTIVATED and vpn::ACTIVATED differ: count each.)
            ev.iter()
                .filter(|e| e.sig == Sig::State && e.state == active::ACTIVATED)
                .count()
                == 2
                && ev
                    .iter()
                    .filter(|e| e.sig == Sig::Vpn && e.state == vpn::ACTIVATED)
                    .count()
                    == 2
        })
        .await;
        eprintln!(
            "activated again {:?} after the path came back",
            back.elapsed()
        );
        fetch.wait("ok", fails, Duration::from_secs(20)).await;
        assert!(fetch.alive(), "the program in ocpath ended");
        assert_eq!(processes_of(OPENCONNECT_BIN), client, "the same client");
        assert_eq!(brief_links("ocpath").await, links_up, "ocpath's links");
        assert_eq!(
            vpn_proxy(&conn, &ac).await.vpn_state().await.unwrap(),
            vpn::ACTIVATED
        );
        let states: Vec<u32> = log.states(&ac, Sig::Vpn).iter().map(|s| s.0).collect();
        assert!(
            in_order(&states, &[vpn::ACTIVATED, vpn::CONNECT, vpn::ACTIVATED]),
            "VpnState activated → connect → activated: {}",
            log.describe()
        );
        let leaked = tcpdump.finish();
        assert!(
            leaked.trim().is_empty(),
            "the namespace's traffic reached the uplink:\n{leaked}"
        );

        fetch.kill();
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left_within(&rig.keep(), Duration::from_secs(10)).await;
        drop(daemon);
        drop(oc);
    })
    .await
}

/// Waits until `ac` shows openconnect reconnecting: VpnState connect, and
/// State back to activating.
async fn wait_reconnecting(log: &mut StateLog, ac: &str, limit: Duration) {
    log.wait(ac, limit, "reconnecting", |ev| {
        ev.iter()
            .any(|e| e.sig == Sig::Vpn && e.state == vpn::CONNECT)
            && ev
                .iter()
                .rev()
                .find(|e| e.sig == Sig::State)
                .is_some_and(|e| e.state == active::ACTIVATING)
    })
    .await;
}
