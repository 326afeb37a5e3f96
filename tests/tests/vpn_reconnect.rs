//! A VPN that survives an outage (issue 13 item 4), against the real
//! OpenVPN rig (tests/src/openvpn.rs): the server is killed while an
//! isolated connection is up and a program in its namespace keeps
//! fetching the intranet's page. The client reconnects by itself
//! (ping-restart) and the connection says so on the bus (State activating,
//! VpnState connect); the namespace stays sealed (nothing but lo and the
//! tunnel in it, and a capture on the uplink sees nothing of its traffic),
//! the program keeps running, and once the server is back it fetches the
//! page again and the connection is activated again. A profile's bound
//! (`reconnect-timeout`) exceeded fails the connection (connect-timeout)
//! and removes everything.

use std::time::{Duration, Instant};

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::outage::{Capture, FetchLoop, PathCut};
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

/// Activates `connection` on rootns and waits until it is activated.
async fn activate_up(conn: &zbus::Connection, log: &mut StateLog, connection: &str) -> String {
    let ac = activate(conn, connection)
        .await
        .unwrap_or_else(|e| panic!("ActivateConnection({connection}): {e:?}"));
    log.wait(&ac, VPN_UP_TIMEOUT, "activated", |ev| {
        ev.iter()
            .any(|e| e.sig == Sig::Vpn && e.state == vpn::ACTIVATED)
    })
    .await;
    ac
}

/// tcpdump on the uplink (rootns's link to wan): anything to or from the
/// private network, the OpenVPN tunnel's addresses or the intranet's port.
fn capture_leaks() -> Capture {
    Capture::start(
        RIG_HOST_IF,
        &["net", CORP_NET, "or", "net", VPN_NET, "or", "port", "8080"],
        "reconnect-capture",
    )
}

/// The server gone for 60 s and back: the connection reconnects, sealed
/// meanwhile, the program in its namespace runs on and works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_gone_for_60_s_and_back_the_vpn_reconnects_sealed() {
    let _env = TestEnv::new();
    timed_within(Duration::from_secs(240), async {
        let mut rig = OpenVpnRig::start().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        // Silence noticed after 4 s; the default bound (300 s) outlasts the outage.
        let profile = rig
            .profile("corp-outage")
            .isolated("vpnout")
            .data("ping", "1")
            .data("ping-restart", "4");
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_up(&conn, &mut log, &path).await;
        let ns_path = wait_ns_on_bus(&conn, "vpnout", Duration::from_secs(5)).await;
        let links_up = brief_links("vpnout").await;
        assert_eq!(links_up.len(), 2, "lo and the tunnel: {links_up:?}");
        let routes_up = all_routes("vpnout").await;

        let fetch = FetchLoop::spawn(&conn, &ns_path, &intranet_url(), "reconnect-loop").await;
        let seen = fetch.wait("ok", 0, Duration::from_secs(20)).await;
        let tcpdump = capture_leaks();

        rig.kill_server();
        let killed = Instant::now();
        // The connection says it is reconnecting.
        log.wait(&ac, Duration::from_secs(20), "reconnecting", |ev| {
            ev.iter()
                .any(|e| e.sig == Sig::Vpn && e.state == vpn::CONNECT)
                && ev
                    .iter()
                    .rev()
                    .find(|e| e.sig == Sig::State)
                    .is_some_and(|e| e.state == active::ACTIVATING)
        })
        .await;
        let fails = fetch.wait("fail", seen, Duration::from_secs(20)).await;
        // Sealed while the server is away: the same links and routes, the
        // program running, the connection still there.
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(8)).await;
            assert_eq!(brief_links("vpnout").await, links_up, "vpnout's links");
            assert_eq!(all_routes("vpnout").await, routes_up, "vpnout's routes");
            assert!(fetch.alive(), "the program in vpnout ended");
            let out = curl_in("vpnout", &intranet_url_by_addr(), 1).await;
            assert!(!out.stdout.contains(INTRANET_TOKEN), "{out}");
        }
        let a = active_proxy(&conn, &ac).await;
        assert_eq!(a.state().await.unwrap(), active::ACTIVATING);
        assert_eq!(
            vpn_proxy(&conn, &ac).await.vpn_state().await.unwrap(),
            vpn::CONNECT
        );
        let left = Duration::from_secs(60).saturating_sub(killed.elapsed());
        tokio::time::sleep(left).await;

        rig.restart_server().await;
        log.wait(&ac, Duration::from_secs(30), "activated again", |ev| {
            let again = |sig| {
                ev.iter()
                    .filter(|e| e.sig == sig && e.state == active::ACTIVATED)
                    .count()
                    == 2
            };
            // (active::ACTIVATED and vpn::ACTIVATED differ: count each.)
            again(Sig::State)
                && ev
                    .iter()
                    .filter(|e| e.sig == Sig::Vpn && e.state == vpn::ACTIVATED)
                    .count()
                    == 2
        })
        .await;
        fetch.wait("ok", fails, Duration::from_secs(20)).await;
        assert!(fetch.alive(), "the program in vpnout ended");
        assert_eq!(
            vpn_proxy(&conn, &ac).await.vpn_state().await.unwrap(),
            vpn::ACTIVATED
        );
        let states: Vec<u32> = log.states(&ac, Sig::Vpn).iter().map(|s| s.0).collect();
        assert!(
            in_order(
                &states,
                &[
                    vpn::ACTIVATED,
                    vpn::CONNECT,
                    vpn::IP_CONFIG_GET,
                    vpn::ACTIVATED
                ]
            ),
            "VpnState activated → connect → ip-config-get → activated: {}",
            log.describe()
        );
        let leaked = tcpdump.finish();
        assert!(
            leaked.trim().is_empty(),
            "the namespace's traffic reached the uplink:\n{leaked}"
        );

        // Still an ordinary connection: it ends as asked, leaving nothing
        // (the loop first, so the namespace can go).
        fetch.kill();
        deactivate(&conn, &ac).await.unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_nothing_left_within(&rig.keep(), Duration::from_secs(10)).await;
        drop(daemon);
    })
    .await
}

/// The server gone for longer than the profile's reconnect-timeout: the
/// connection fails with connect-timeout and everything goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_reconnect_timeout_fails_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let mut rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = rig
            .profile("corp-bound")
            .isolated("vpnbound")
            .data("ping", "1")
            .data("ping-restart", "3")
            .data("reconnect-timeout", "6");
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_up(&conn, &mut log, &path).await;

        rig.kill_server();
        let killed = Instant::now();
        log.wait_deactivated(&ac, Duration::from_secs(40)).await;
        let took = killed.elapsed();
        assert!(
            took >= Duration::from_secs(6),
            "failed after {took:?}, before the bound"
        );
        let vpn_states = log.states(&ac, Sig::Vpn);
        let states: Vec<u32> = vpn_states.iter().map(|s| s.0).collect();
        assert!(
            in_order(&states, &[vpn::ACTIVATED, vpn::CONNECT, vpn::FAILED]),
            "VpnState activated → connect → failed: {}",
            log.describe()
        );
        assert_eq!(
            vpn_states.last().unwrap().1,
            reason::CONNECT_TIMEOUT,
            "{}",
            log.describe()
        );
        let last = log.states(&ac, Sig::State).last().copied().unwrap();
        assert_eq!(last, (active::DEACTIVATED, reason::CONNECT_TIMEOUT));
        assert_nothing_left_within(&rig.keep(), Duration::from_secs(10)).await;
    })
    .await
}

/// A reconnect-timeout that is no number of seconds is refused, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_reconnect_timeout_is_refused_naming_the_key() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = rig
            .profile("corp-badbound")
            .isolated("vpnbad")
            .data("reconnect-timeout", "0");
        let path = add_connection(&conn, &profile).await;
        let e = activate(&conn, &path).await.unwrap_err();
        assert!(
            format!("{e:?}").contains("vpn.data.reconnect-timeout"),
            "{e:?}"
        );
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// WireGuard through an outage of its path (issue 13): every packet
/// between rootns and wan, where the peer is, dropped for 60 s (nft in
/// wan), then let through again. WireGuard has no session to lose: the
/// connection stays activated throughout, with no state change at all; the
/// namespace stays sealed (the same links and routes; a capture on the
/// uplink sees none of its traffic, only WireGuard's own UDP); the program
/// in it runs on, fails meanwhile, and fetches the page again after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wireguard_through_a_60_s_path_outage_stays_activated_and_sealed() {
    let _env = TestEnv::new();
    timed_within(Duration::from_secs(180), async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let uuid = new_uuid();
        install_keyfile_text(
            "corp-wg-outage",
            &peer.keyfile(
                "corp-wg-outage",
                &uuid,
                &["netns-isolate=true", "netns-name=wgout"],
            ),
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&uuid)
            .await
            .unwrap()
            .to_string();
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        let ns_path = wait_ns_on_bus(&conn, "wgout", Duration::from_secs(5)).await;
        let links_up = brief_links("wgout").await;
        assert_eq!(links_up.len(), 2, "lo and the tunnel: {links_up:?}");
        let routes_up = all_routes("wgout").await;
        let clients = peer.client_processes();

        let fetch = FetchLoop::spawn(&conn, &ns_path, &intranet_url(), "wg-outage-loop").await;
        let seen = fetch.wait("ok", 0, Duration::from_secs(20)).await;
        let events_before = log.of(&ac).len();
        let tcpdump = Capture::start(
            RIG_HOST_IF,
            &[
                "net",
                CORP_NET,
                "or",
                "net",
                "10.66.0.0/24",
                "or",
                "port",
                "8080",
                "or",
                "port",
                "53",
            ],
            "wg-outage-capture",
        );

        let cut = PathCut::cut(RIG_WAN_NS, RIG_UP_IF).await;
        let t0 = Instant::now();
        let fails = fetch.wait("fail", seen, Duration::from_secs(20)).await;
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(9)).await;
            assert_eq!(brief_links("wgout").await, links_up, "wgout's links");
            assert_eq!(all_routes("wgout").await, routes_up, "wgout's routes");
            assert!(fetch.alive(), "the program in wgout ended");
            assert_eq!(peer.client_processes(), clients, "the same client");
            assert_eq!(
                active_proxy(&conn, &ac).await.state().await.unwrap(),
                active::ACTIVATED
            );
        }
        tokio::time::sleep(Duration::from_secs(60).saturating_sub(t0.elapsed())).await;
        cut.restore().await;
        eprintln!("path restored after {:?}", t0.elapsed());
        let back = Instant::now();
        fetch.wait("ok", fails, Duration::from_secs(20)).await;
        eprintln!("the page fetched again {:?} after", back.elapsed());
        assert!(fetch.alive(), "the program in wgout ended");
        assert_eq!(
            log.of(&ac).len(),
            events_before,
            "the connection changed state in the outage: {}",
            log.describe()
        );
        assert_eq!(
            vpn_proxy(&conn, &ac).await.vpn_state().await.unwrap(),
            vpn::ACTIVATED
        );
        let leaked = tcpdump.finish();
        assert!(
            leaked.trim().is_empty(),
            "the namespace's traffic reached the uplink:\n{leaked}"
        );

        fetch.kill();
        deactivate(&conn, &ac).await.unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_nothing_left_within(&rig.keep().pid(peer.pid()), Duration::from_secs(10)).await;
        drop(daemon);
    })
    .await
}
