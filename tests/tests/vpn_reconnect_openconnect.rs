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
//! keeps its sessions through an outage is not in this rig.) About 20 s.

use std::time::{Duration, Instant};

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
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
