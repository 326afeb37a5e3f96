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

use std::process::Stdio;
use std::time::{Duration, Instant};

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::*;

const LOOP_OUT: &str = "/run/netnsd-tests-openvpn/reconnect-loop.out";
const CAPTURE: &str = "/run/netnsd-tests-openvpn/reconnect-capture.txt";

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

/// Spawns, over the bus, a shell loop in `ns_path` that fetches the
/// intranet's page every second and prints `ok` or `fail`; its pid.
async fn spawn_fetch_loop(conn: &zbus::Connection, ns_path: &str) -> u32 {
    use std::os::fd::AsFd;
    let file = std::fs::File::create(LOOP_OUT).unwrap();
    let inst = instance(conn, ns_path).await;
    let script = format!(
        "while :; do if curl -s --max-time 2 {} | grep -q {INTRANET_TOKEN}; \
         then echo ok; else echo fail; fi; sleep 1; done",
        intranet_url()
    );
    let argv = ["/bin/sh", "-c", script.as_str()];
    let env = std::collections::HashMap::from([("PATH", "/usr/bin:/bin")]);
    let fds = std::collections::HashMap::from([
        ("stdout", zbus::wire::Fd::from(file.as_fd())),
        ("stderr", zbus::wire::Fd::from(file.as_fd())),
    ]);
    inst.spawn(&argv, env, "/", fds, std::collections::HashMap::new())
        .await
        .unwrap_or_else(|e| panic!("Spawn the fetch loop in {ns_path}: {e:?}"))
}

/// The loop's output lines.
fn loop_lines() -> Vec<String> {
    std::fs::read_to_string(LOOP_OUT)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until the loop prints `want` after its first `from` lines.
async fn wait_loop(want: &str, from: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let lines = loop_lines();
        if let Some(i) = lines.iter().skip(from).position(|l| l == want) {
            return from + i + 1;
        }
        assert!(
            Instant::now() < deadline,
            "the fetch loop printed no {want:?} within {limit:?}: {lines:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// tcpdump on the uplink (rootns's link to wan): anything to or from the
/// private network, the tunnel's addresses or the intranet's port.
fn capture_leaks() -> std::process::Child {
    let out = std::fs::File::create(CAPTURE).unwrap();
    let mut child = std::process::Command::new("tcpdump")
        .args(["-i", RIG_HOST_IF, "-n", "-l", "-U", "-Z", "root"])
        .args(["net", CORP_NET, "or", "net", VPN_NET, "or", "port", "8080"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcpdump (tests/run installs it)");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("tcpdump did not start listening");
    child
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
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

        let pid = spawn_fetch_loop(&conn, &ns_path).await;
        let seen = wait_loop("ok", 0, Duration::from_secs(20)).await;
        let mut tcpdump = capture_leaks();

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
        let fails = wait_loop("fail", seen, Duration::from_secs(20)).await;
        // Sealed while the server is away: the same links and routes, the
        // program running, the connection still there.
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(8)).await;
            assert_eq!(brief_links("vpnout").await, links_up, "vpnout's links");
            assert_eq!(all_routes("vpnout").await, routes_up, "vpnout's routes");
            assert!(alive(pid), "the program in vpnout ended");
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
        wait_loop("ok", fails, Duration::from_secs(20)).await;
        assert!(alive(pid), "the program in vpnout ended");
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
        let _ = tcpdump.kill();
        let _ = tcpdump.wait();
        let leaked = std::fs::read_to_string(CAPTURE).unwrap_or_default();
        assert!(
            leaked.trim().is_empty(),
            "the namespace's traffic reached the uplink:\n{leaked}"
        );

        // Still an ordinary connection: it ends as asked, leaving nothing
        // (the loop first, so the namespace can go).
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
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
