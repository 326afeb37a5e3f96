//! The failure reasons and clean-ups issue 13 item 7 found untested,
//! against the real OpenVPN and ocserv rigs: a server that never answers
//! fails the activation with connect-timeout once `vpn.timeout` is up; a
//! client that stops on a fatal error is service-start-failed; a daemon
//! killed with an OpenConnect connection up leaves nothing once it is
//! started again. (ip-config-invalid is in security_vpn.rs.)

use std::time::{Duration, Instant};

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

/// Activates and waits for the end; the (State, reason) and (VpnState,
/// reason) it ended with, and that it was never activated.
async fn activate_until_failed(
    conn: &zbus::Connection,
    path: &str,
    limit: Duration,
) -> ((u32, u32), (u32, u32), Duration) {
    let mut log = StateLog::new(conn).await;
    let t0 = Instant::now();
    let ac = activate(conn, path)
        .await
        .unwrap_or_else(|e| panic!("ActivateConnection: {e:?}"));
    log.wait_deactivated(&ac, limit).await;
    let took = t0.elapsed();
    log.wait(&ac, Duration::from_secs(5), "VpnState failed", |ev| {
        ev.iter()
            .any(|e| e.sig == Sig::Vpn && e.state == vpn::FAILED)
    })
    .await;
    let states = log.states(&ac, Sig::State);
    assert!(
        !states.iter().any(|s| s.0 == active::ACTIVATED),
        "it came up: {}",
        log.describe()
    );
    let last = *states.last().unwrap();
    let vpn_last = *log.states(&ac, Sig::Vpn).last().unwrap();
    (last, vpn_last, took)
}

/// No server at all: the client tries on (it would reconnect for ever) and
/// the daemon ends the activation at `vpn.timeout` (5 s here) with
/// connect-timeout, leaving nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_connect_timeout_at_vpn_timeout() {
    let _env = TestEnv::new();
    timed(async {
        let mut rig = OpenVpnRig::start().await;
        rig.kill_server();
        let profile = rig.profile("corp-silent").isolated("vpnsilent");
        let text = profile.keyfile().replace("[vpn]\n", "[vpn]\ntimeout=5\n");
        install_keyfile_text("corp-silent", &text);
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&profile.uuid)
            .await
            .unwrap()
            .to_string();
        let (state, vpn_state, took) =
            activate_until_failed(&conn, &path, Duration::from_secs(30)).await;
        assert_eq!(state, (active::DEACTIVATED, reason::CONNECT_TIMEOUT));
        assert_eq!(vpn_state, (vpn::FAILED, reason::CONNECT_TIMEOUT));
        assert!(
            took >= Duration::from_secs(5) && took < Duration::from_secs(15),
            "ended after {took:?}, not at vpn.timeout (5 s)"
        );
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// openvpn stopped by an options error (a CA file that does not exist):
/// service-start-failed, nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_ending_on_a_fatal_error_is_service_start_failed() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = rig
            .profile("corp-noca")
            .isolated("vpnnoca")
            .data("ca", "/nonexistent/netnsd-test-ca.crt");
        let path = add_connection(&conn, &profile).await;
        let (state, vpn_state, _) =
            activate_until_failed(&conn, &path, Duration::from_secs(20)).await;
        assert_eq!(state, (active::DEACTIVATED, reason::SERVICE_START_FAILED));
        assert_eq!(vpn_state, (vpn::FAILED, reason::SERVICE_START_FAILED));
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// A daemon killed (SIGKILL) with an isolated OpenConnect connection up:
/// the next start stops the previous run's openconnect and removes the
/// transient namespace; nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_with_openconnect_up_is_cleaned_up_by_the_next_start() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start(&rig).await;
        let profile = oc
            .profile("corp-oc-crash")
            .secret("password", OC_PASSWORD)
            .isolated("occrash");
        profile.install_keyfile("corp-oc-crash");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&profile.uuid)
            .await
            .unwrap()
            .to_string();
        let mut log = StateLog::new(&conn).await;
        activate_until_up(&conn, &mut log, &path).await;
        assert_eq!(processes_of(OPENCONNECT_BIN).len(), 1);
        assert!(ip_netns_list().await.iter().any(|n| n == "occrash"));
        drop(log);
        daemon.kill9().await;

        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        wait_ns_off_bus(&conn, "occrash", Duration::from_secs(10)).await;
        wait_for(Duration::from_secs(10), "openconnect to end", || async {
            processes_of(OPENCONNECT_BIN).is_empty().then_some(())
        })
        .await;
        assert_nothing_left(&rig.keep()).await;
        drop(oc);
    })
    .await
}
