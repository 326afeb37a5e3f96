//! Isolated OpenVPN connections (issue 5) against a real OpenVPN server.
//!
//! The rig (tests/src/openvpn.rs): a `wan` namespace stands in for the
//! internet, with Debian's openvpn as the server (certificates made now with
//! openssl) and a private network `corp` behind it (an HTTP server on
//! 10.99.0.10:8080, dnsmasq on 10.99.0.53 answering intranet.corp.test). The
//! sandbox's own namespace (rootns) reaches the server but never the private
//! network. The server pushes a route to 10.99.0.0/24, the DNS server and
//! the domain corp.test.
//!
//! The tests drive netnsd over the bus (Settings, ActivateConnection,
//! Connection.Active and VPN.Connection state signals) and check what really
//! happened with iproute2, curl, /etc/netns and /proc: the isolated
//! namespace holds only lo and the tunnel, reaches the private host by name,
//! has no route around the tunnel; rootns and the host's resolv.conf are
//! untouched; deactivation, a vanished server and the netns-timeout path
//! leave nothing behind; bad profiles are refused naming the key; a
//! NetworkManager keyfile round-trips; polkit guards activation and secrets.

use std::collections::BTreeMap;
use std::time::Duration;

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::*;

const DENIED: &str = "net.netnsd.Netns1.Error.PermissionDenied";

/// Reads the whole of a file, or "" if it is missing.
fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// What must not change on the host while a VPN comes and goes.
#[derive(Debug, PartialEq, Eq)]
struct HostView {
    resolv_conf: String,
    hosts: String,
    routes: Vec<String>,
    rules4: String,
    rules6: String,
    addrs: String,
    links: Vec<String>,
}

async fn host_view() -> HostView {
    HostView {
        resolv_conf: read("/etc/resolv.conf"),
        hosts: read("/etc/hosts"),
        routes: all_routes(ROOT_NS_NAME).await,
        rules4: ip_ns(ROOT_NS_NAME, &["-4", "rule"]).await.ok().stdout,
        rules6: ip_ns(ROOT_NS_NAME, &["-6", "rule"]).await.ok().stdout,
        addrs: ip_ns(ROOT_NS_NAME, &["-br", "addr"]).await.ok().stdout,
        links: brief_links(ROOT_NS_NAME).await,
    }
}

/// The host view once IPv6 on the rig's links has settled.
async fn settled_host_view() -> HostView {
    settled_snapshots(&[ROOT_NS_NAME]).await;
    host_view().await
}

/// Activates `connection` on rootns and waits until it is activated;
/// checks the order of the states on the way. Returns the active path.
async fn activate_and_wait(
    conn: &zbus::Connection,
    log: &mut StateLog,
    connection: &str,
) -> String {
    let ac = activate(conn, connection)
        .await
        .unwrap_or_else(|e| panic!("ActivateConnection({connection}): {e:?}"));
    log.wait(&ac, VPN_UP_TIMEOUT, "activated or deactivated", |ev| {
        ev.iter().any(|e| {
            e.sig == Sig::State && (e.state == active::ACTIVATED || e.state == active::DEACTIVATED)
        })
    })
    .await;
    // VpnStateChanged(activated) may trail StateChanged by a moment.
    log.wait(
        &ac,
        Duration::from_secs(5),
        "VpnState activated or failed",
        |ev| {
            ev.iter()
                .any(|e| e.sig == Sig::Vpn && e.state >= vpn::ACTIVATED)
        },
    )
    .await;
    let states: Vec<u32> = log.states(&ac, Sig::State).iter().map(|s| s.0).collect();
    let vpn_states: Vec<u32> = log.states(&ac, Sig::Vpn).iter().map(|s| s.0).collect();
    assert!(
        states.last() == Some(&active::ACTIVATED),
        "the connection did not come up; signals:\n{}",
        log.describe()
    );
    assert!(
        in_order(&states, &[active::ACTIVATING, active::ACTIVATED]),
        "State must go activating → activated; signals:\n{}",
        log.describe()
    );
    assert!(
        in_order(
            &vpn_states,
            &[
                vpn::PREPARE,
                vpn::CONNECT,
                vpn::IP_CONFIG_GET,
                vpn::ACTIVATED
            ]
        ),
        "VpnState must go prepare → connect → ip-config-get → activated; signals:\n{}",
        log.describe()
    );
    assert!(
        vpn_states.windows(2).all(|w| w[0] < w[1]),
        "VpnState went backwards on the way up: {vpn_states:?}; signals:\n{}",
        log.describe()
    );
    // The properties agree with the signals.
    assert_eq!(
        active_proxy(conn, &ac).await.state().await.unwrap(),
        active::ACTIVATED
    );
    assert_eq!(
        vpn_proxy(conn, &ac).await.vpn_state().await.unwrap(),
        vpn::ACTIVATED
    );
    ac
}

/// Deactivates and waits for deactivating → deactivated.
async fn deactivate_and_wait(conn: &zbus::Connection, log: &mut StateLog, ac: &str) {
    deactivate(conn, ac)
        .await
        .unwrap_or_else(|e| panic!("DeactivateConnection({ac}): {e:?}"));
    log.wait_deactivated(ac, VPN_DOWN_TIMEOUT).await;
    let states: Vec<u32> = log.states(ac, Sig::State).iter().map(|s| s.0).collect();
    assert!(
        in_order(
            &states,
            &[active::ACTIVATED, active::DEACTIVATING, active::DEACTIVATED]
        ),
        "State must go activated → deactivating → deactivated; signals:\n{}",
        log.describe()
    );
    let last = log.states(ac, Sig::State).last().copied().unwrap();
    assert_eq!(
        last.1,
        reason::USER_DISCONNECTED,
        "a deactivation asked for is user-disconnected; signals:\n{}",
        log.describe()
    );
    log.wait(ac, Duration::from_secs(5), "VpnState disconnected", |ev| {
        ev.iter()
            .any(|e| e.sig == Sig::Vpn && e.state == vpn::DISCONNECTED)
    })
    .await;
}

// ---------------------------------------------------------------------------
// The rig itself

/// The rig without netnsd: the server runs, rootns is cut off from the
/// private network, and a plain `openvpn --client` run by hand in a scratch
/// namespace connects, gets the pushed route, DNS and domain, and reaches
/// intranet.corp.test by name. Then it all goes away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rig_works_without_netnsd() {
    let _env = TestEnv::new();
    timed(async {
        {
            let mut rig = OpenVpnRig::start().await;
            rig.assert_rootns_cut_off().await;
            rig.add_scratch().await;
            let before = curl_in(RIG_SCRATCH_NS, &intranet_url_by_addr(), 2).await;
            assert!(
                !before.stdout.contains(INTRANET_TOKEN),
                "the scratch namespace reached corp without a tunnel: {before}"
            );

            let env = rig.run_client_by_hand(RIG_SCRATCH_NS, SCRATCH_GW).await;
            let get = |k: &str| env.get(k).cloned().unwrap_or_default();
            assert_eq!(get("route_network_1"), "10.99.0.0", "{env:?}");
            assert_eq!(get("route_netmask_1"), "255.255.255.0", "{env:?}");
            assert!(get("ifconfig_local").starts_with("10.8.0."), "{env:?}");
            let foreign: Vec<String> = env
                .iter()
                .filter(|(k, _)| k.starts_with("foreign_option_"))
                .map(|(_, v)| v.clone())
                .collect();
            assert!(
                foreign.contains(&format!("dhcp-option DNS {CORP_DNS}")),
                "{foreign:?}"
            );
            assert!(
                foreign.contains(&format!("dhcp-option DOMAIN {CORP_DOMAIN}")),
                "{foreign:?}"
            );
            let tun = get("dev");
            assert_eq!(tun_links(RIG_SCRATCH_NS).await, vec![tun.clone()]);

            // What the pushed DNS says, as the namespace's resolv.conf.
            let etc = format!("{NETNS_ETC_DIR}/{RIG_SCRATCH_NS}");
            std::fs::create_dir_all(&etc).unwrap();
            std::fs::write(
                format!("{etc}/resolv.conf"),
                format!("nameserver {CORP_DNS}\nsearch {CORP_DOMAIN}\n"),
            )
            .unwrap();
            let out = curl_in(RIG_SCRATCH_NS, &intranet_url(), 10).await;
            assert!(
                out.success() && out.stdout.contains(INTRANET_TOKEN),
                "through the hand-run tunnel: {out}\n{}",
                rig.logs()
            );
            let get = ip_ns(RIG_SCRATCH_NS, &["route", "get", INTRANET_ADDR])
                .await
                .ok();
            assert_eq!(route_dev(&get.stdout), Some(tun.as_str()), "{get}");
            // rootns is still cut off while a tunnel is up.
            rig.assert_rootns_cut_off().await;

            rig.stop_clients();
            wait_for(
                Duration::from_secs(5),
                "the hand-run tunnel to go",
                || async { tun_links(RIG_SCRATCH_NS).await.is_empty().then_some(()) },
            )
            .await;
            let after = curl_in(RIG_SCRATCH_NS, &intranet_url_by_addr(), 2).await;
            assert!(!after.stdout.contains(INTRANET_TOKEN), "{after}");
            assert!(!openvpn_processes().is_empty(), "the server runs");
        }
        // The rig is gone: no namespaces, no openvpn, no veth, /etc/hosts back.
        assert!(
            ip_netns_list()
                .await
                .iter()
                .all(|n| n != RIG_WAN_NS && n != RIG_CORP_NS && n != RIG_SCRATCH_NS),
            "{:?}",
            ip_netns_list().await
        );
        assert_eq!(openvpn_processes(), vec![]);
        assert!(ip_link(ROOT_NS_NAME, RIG_HOST_IF).await.is_none());
        assert!(!read("/etc/hosts").contains("corp-web.rig"));
        assert!(!std::path::Path::new(RIG_DIR).exists());
    })
    .await
}

// ---------------------------------------------------------------------------
// Activation and deactivation

/// (a) + (b): an isolated profile from a NetworkManager keyfile placed before
/// the daemon starts comes up through prepare/connect/ip-config-get; the
/// isolated namespace reaches the private host by name and nothing else;
/// rootns and the host's DNS are untouched. Deactivation goes through
/// deactivating to deactivated and removes the namespace and the tunnel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolated_vpn_reaches_the_private_network_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        rig.assert_rootns_cut_off().await;
        let profile = rig.profile("corp-vpn").isolated("vpn1");
        profile.install_keyfile("corp-vpn");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let before = settled_host_view().await;

        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&profile.uuid)
            .await
            .expect("the keyfile's connection")
            .to_string();
        let mut log = StateLog::new(&conn).await;
        let ac = activate_and_wait(&conn, &mut log, &path).await;

        // The namespace's properties.
        let root = ns_connections(&conn, &rootns_path()).await;
        assert!(
            root.active_connections()
                .await
                .unwrap()
                .iter()
                .any(|p| p.as_str() == ac),
            "rootns.ActiveConnections lacks {ac}"
        );
        assert_eq!(root.activating_connection().await.unwrap().as_str(), "/");
        let active = active_proxy(&conn, &ac).await;
        assert_eq!(active.uuid().await.unwrap(), profile.uuid);
        assert_eq!(active.id().await.unwrap(), "corp-vpn");
        assert!(active.vpn().await.unwrap());
        assert_eq!(active.connection().await.unwrap().as_str(), path);

        assert_isolated_and_working(&conn, &rig, &daemon, "vpn1", &ac, &Isolated::openvpn()).await;
        let vpn1 = wait_ns_on_bus(&conn, "vpn1", Duration::from_secs(1)).await;
        let isolated = ns_connections(&conn, &vpn1).await;
        assert_eq!(
            isolated.primary_connection().await.unwrap().as_str(),
            ac,
            "vpn1.PrimaryConnection"
        );

        // A process spawned over the bus in the namespace gets there too.
        let out = spawn_curl(&conn, &vpn1).await;
        assert!(out.contains(INTRANET_TOKEN), "Spawn curl printed {out:?}");
        // And so does an ordinary user's program, through nsctl exec (a
        // polkit rule lets netns-admins spawn), by name.
        let _rules = PolkitRules::install("50-netns-admins", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, netnsd_api::actions::SPAWN, true).await;
        let url = intranet_url();
        let out = nsctl(
            Some(ADMIN_UID),
            &[
                "exec",
                "--cwd",
                "/",
                "vpn1",
                "--",
                "curl",
                "-sS",
                "--max-time",
                "10",
                &url,
            ],
        )
        .await;
        assert!(
            out.success() && out.stdout.contains(INTRANET_TOKEN),
            "nsctl exec vpn1 -- curl, as {ADMIN_USER}: {out}"
        );

        // Nothing of the host changed.
        assert_eq!(
            host_view().await,
            before,
            "the host changed while the VPN was up"
        );

        // (b) deactivation.
        deactivate_and_wait(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep()).await;
        wait_for(
            VPN_DOWN_TIMEOUT,
            "rootns.ActiveConnections to drop it",
            || async {
                let l = root.active_connections().await.ok()?;
                (!l.iter().any(|p| p.as_str() == ac)).then_some(())
            },
        )
        .await;
        assert_eq!(host_view().await, before, "the host changed after the VPN");
        rig.assert_rootns_cut_off().await;
        drop(daemon);
    })
    .await
}

/// Runs curl in the namespace with Spawn (as root, stdout to a file);
/// returns what it printed.
async fn spawn_curl(conn: &zbus::Connection, ns_path: &str) -> String {
    use std::os::fd::AsFd;
    let out_path = format!("{RIG_DIR}/spawn-curl.out");
    let file = std::fs::File::create(&out_path).unwrap();
    let inst = instance(conn, ns_path).await;
    let mut exits = inst.receive_process_exited().await.unwrap();
    let url = intranet_url();
    let argv = ["/usr/bin/curl", "-sS", "--max-time", "10", url.as_str()];
    let env = std::collections::HashMap::from([("PATH", "/usr/bin:/bin")]);
    let fds = std::collections::HashMap::from([
        ("stdout", zbus::wire::Fd::from(file.as_fd())),
        ("stderr", zbus::wire::Fd::from(file.as_fd())),
    ]);
    let pid = inst
        .spawn(&argv, env, "/", fds, std::collections::HashMap::new())
        .await
        .unwrap_or_else(|e| panic!("Spawn curl in {ns_path}: {e:?}"));
    drop(file);
    let status = tokio::time::timeout(Duration::from_secs(15), async {
        use futures::StreamExt;
        while let Some(sig) = exits.next().await {
            let a = sig.args().unwrap();
            if a.pid == pid {
                return a.status;
            }
        }
        panic!("the ProcessExited stream ended")
    })
    .await
    .expect("ProcessExited within 15 s");
    let out = read(&out_path);
    assert_eq!(
        status, 0,
        "curl spawned in {ns_path} ended with {status}: {out}"
    );
    out
}

/// (c) A persistent profile keeps its namespace after deactivation, empty
/// (only lo, no routes but lo's); activating again reuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_namespace_stays_empty_after_deactivation() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = rig
            .profile("corp-keep")
            .isolated("vpnkeep")
            .persistent(true);
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;

        for round in 0..2 {
            let ac = activate_and_wait(&conn, &mut log, &path).await;
            assert_isolated_and_working(&conn, &rig, &daemon, "vpnkeep", &ac, &Isolated::openvpn())
                .await;
            let ns_path = wait_ns_on_bus(&conn, "vpnkeep", Duration::from_secs(1)).await;
            assert!(
                instance(&conn, &ns_path).await.persistent().await.unwrap(),
                "round {round}: vpnkeep.Persistent"
            );
            deactivate_and_wait(&conn, &mut log, &ac).await;
            // Still there, empty (only lo, only lo's routes, no DNS files);
            // the client and its tunnel are gone.
            assert_nothing_left(&rig.keep().empty_ns("vpnkeep")).await;
            assert!(ip_netns_list().await.iter().any(|n| n == "vpnkeep"));
            assert_eq!(
                wait_ns_on_bus(&conn, "vpnkeep", Duration::from_secs(1)).await,
                ns_path,
                "round {round}: the namespace kept its object"
            );
            assert_eq!(brief_links("vpnkeep").await, vec!["lo".to_owned()]);
            let out = curl_in("vpnkeep", &intranet_url_by_addr(), 2).await;
            assert!(!out.stdout.contains(INTRANET_TOKEN), "{out}");
        }
    })
    .await
}

// ---------------------------------------------------------------------------
// Failure

/// (d) The server goes away: the connection fails (VpnState failed or
/// disconnected, with a reason; State deactivated) and everything is
/// cleaned up, within a bounded wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_going_away_fails_the_connection_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let mut rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        // NetworkManager-openvpn's keys for liveness: a ping every 2 s, give
        // up after 10 s of silence.
        let profile = rig
            .profile("corp-gone")
            .isolated("vpngone")
            .data("ping", "2")
            .data("ping-exit", "10");
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_and_wait(&conn, &mut log, &path).await;
        let before = log.events.len();

        rig.kill_server();
        log.wait_deactivated(&ac, SERVER_GONE_TIMEOUT).await;
        let after: Vec<Event> = log.of(&ac);
        let vpn_end = after.iter().rfind(|e| e.sig == Sig::Vpn).cloned();
        let vpn_end = vpn_end.unwrap_or_else(|| panic!("no VpnStateChanged:\n{}", log.describe()));
        assert!(
            matches!(vpn_end.state, vpn::FAILED | vpn::DISCONNECTED),
            "VpnState must end failed or disconnected; signals:\n{}",
            log.describe()
        );
        assert!(
            vpn_end.reason > reason::NONE && vpn_end.reason != reason::USER_DISCONNECTED,
            "a vanished server needs a reason of its own; signals:\n{}",
            log.describe()
        );
        let state_end = log.states(&ac, Sig::State).last().copied().unwrap();
        assert_eq!(state_end.0, active::DEACTIVATED);
        assert!(
            state_end.1 > reason::NONE && state_end.1 != reason::USER_DISCONNECTED,
            "StateChanged(deactivated) needs a reason; signals:\n{}",
            log.describe()
        );
        assert!(log.events.len() > before);
        assert_nothing_left_within(&rig.keep(), SERVER_GONE_TIMEOUT).await;
        rig.assert_rootns_cut_off().await;
    })
    .await
}

/// (e) netns-timeout=0 is the default timeout, as in the 2016 prototype
/// (`timeout > 0 ? timeout : default`): the connection comes up isolated
/// and working, and goes leaving nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_timeout_zero_is_the_default_as_in_the_prototype() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = rig.profile("corp-zero").isolated("vpnzero").timeout_ms(0);
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_and_wait(&conn, &mut log, &path).await;
        assert_isolated_and_working(&conn, &rig, &daemon, "vpnzero", &ac, &Isolated::openvpn())
            .await;
        deactivate_and_wait(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

// ---------------------------------------------------------------------------
// Profiles

/// (f) Bad profiles are refused with InvalidArgument naming the key, and
/// nothing is stored; a profile of a VPN type netnsd has no plugin for is
/// stored but its activation is NotSupported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_profiles_are_refused_naming_the_key() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let settings = settings_proxy(&conn).await;
        let good = rig.profile("good").isolated("vpngood");

        let cases: Vec<(&str, VpnProfile, &str)> = vec![
            (
                "netns-name a/b",
                good.clone().with("netns-name", Key::Str("a/b".into())),
                "netns-name",
            ),
            (
                "netns-timeout -1",
                good.clone().timeout_ms(-1),
                "netns-timeout",
            ),
            (
                "netns-isolate as a string",
                good.clone()
                    .with("netns-isolate", Key::Str("yes please".into())),
                "netns-isolate",
            ),
            (
                "no service-type",
                good.clone().service_type(None),
                "service-type",
            ),
        ];
        for (what, profile, key) in cases {
            let listed = list_connections(&conn).await;
            let files = connection_files();
            let r = settings
                .add_connection(settings_arg(&profile.settings()))
                .await;
            let (name, msg) = err_name(r);
            assert_eq!(name, "InvalidArgument", "{what}: {msg}");
            assert!(
                msg.contains(key),
                "{what}: the message must name {key}: {msg}"
            );
            assert_eq!(list_connections(&conn).await, listed, "{what} was stored");
            assert_eq!(connection_files(), files, "{what} was written to disk");
        }

        // Update with a bad value is refused the same way and changes nothing.
        let path = add_connection(&conn, &good).await;
        let c = connection_proxy(&conn, &path).await;
        let stored = c.get_settings().await.unwrap();
        let bad = good.clone().timeout_ms(-5);
        let (name, msg) = err_name(c.update(settings_arg(&bad.settings())).await);
        assert_eq!(name, "InvalidArgument", "{msg}");
        assert!(msg.contains("netns-timeout"), "{msg}");
        assert_eq!(c.get_settings().await.unwrap(), stored);

        // An unknown VPN type is a profile like any other, but cannot be
        // activated: NotSupported, and nothing is made.
        let before = ip_netns_list().await;
        let odd = rig
            .profile("odd")
            .isolated("vpnodd")
            .service_type(Some("org.freedesktop.NetworkManager.no-such-vpn"));
        let odd_path = add_connection(&conn, &odd).await;
        let (name, msg) = err_name(activate(&conn, &odd_path).await);
        assert_eq!(name, "NotSupported", "{msg}");
        assert!(
            msg.contains("no-such-vpn"),
            "the message must name the type: {msg}"
        );
        assert_eq!(ip_netns_list().await, before);
        assert!(!ns_on_bus(&conn, "vpnodd").await);
        assert!(rig.foreign_openvpn_pids().is_empty());
    })
    .await
}

/// A keyfile with a bad value on disk is skipped (the daemon starts, the
/// others load).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_keyfile_is_skipped_and_the_rest_load() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let good = rig.profile("good-on-disk").isolated("vpn1");
        good.install_keyfile("good");
        let bad = rig.profile("bad-on-disk").isolated("vpn2").timeout_ms(-1);
        bad.install_keyfile("bad");
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let settings = settings_proxy(&conn).await;
        assert_eq!(list_connections(&conn).await.len(), 1);
        settings
            .get_connection_by_uuid(&good.uuid)
            .await
            .expect("the good keyfile");
        let (name, _) = err_name(settings.get_connection_by_uuid(&bad.uuid).await);
        assert_eq!(name, "NotFound");
    })
    .await
}

/// (g) A keyfile in NetworkManager's own format, placed before the daemon
/// starts, loads; GetSettings returns its vpn data (and no secrets);
/// GetSettings → Update round-trips, on the bus and on disk; GetSecrets is
/// root's, refused to nobody; Update writes the change; Delete removes the
/// file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networkmanager_keyfile_round_trips() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let profile = rig
            .profile("Corp VPN (NM)")
            .isolated("vpnnm")
            .persistent(false)
            .timeout_ms(3000)
            .data("cert-pass-flags", "0")
            .secret("cert-pass", "s3cret-passphrase");
        let file = profile.install_keyfile("corp-nm");
        let on_disk = parse_keyfile(&read(file.to_str().unwrap()));
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;

        let listed = list_connections(&conn).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        let path = listed[0].clone();
        let c = connection_proxy(&conn, &path).await;
        assert_eq!(c.filename().await.unwrap(), file.to_str().unwrap());

        let s = c.get_settings().await.unwrap();
        assert_eq!(
            setting_str(&s, "connection", "id").as_deref(),
            Some("Corp VPN (NM)")
        );
        assert_eq!(
            setting_str(&s, "connection", "uuid"),
            Some(profile.uuid.clone())
        );
        assert_eq!(
            setting_str(&s, "connection", "type").as_deref(),
            Some("vpn")
        );
        assert_eq!(setting_bool(&s, "connection", "netns-isolate"), Some(true));
        assert_eq!(
            setting_bool(&s, "connection", "netns-persistent"),
            Some(false)
        );
        assert_eq!(
            setting_str(&s, "connection", "netns-name").as_deref(),
            Some("vpnnm")
        );
        assert_eq!(setting_i32(&s, "connection", "netns-timeout"), Some(3000));
        assert_eq!(
            setting_str(&s, "vpn", "service-type").as_deref(),
            Some(OPENVPN_SERVICE)
        );
        assert_eq!(setting_map(&s, "vpn", "data"), Some(profile.data.clone()));
        assert!(
            !format!("{s:?}").contains("s3cret-passphrase"),
            "GetSettings must not return secrets: {s:?}"
        );

        // GetSecrets: root yes, nobody no.
        let secrets = c.get_secrets("vpn").await.expect("GetSecrets as root");
        assert_eq!(
            setting_map(&secrets, "vpn", "secrets"),
            Some(profile.secrets.clone())
        );
        let out = gdbus_call(
            Some(NOBODY_UID),
            &path,
            &format!("{CONNECTION_INTERFACE}.GetSecrets"),
            &[gvariant_str("vpn")],
        )
        .await
        .failed();
        assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{out}");
        assert!(!out.stdout.contains("s3cret"), "{out}");
        // Reading settings is open to all, without secrets.
        let out = gdbus_call(
            Some(NOBODY_UID),
            &path,
            &format!("{CONNECTION_INTERFACE}.GetSettings"),
            &[],
        )
        .await
        .ok();
        assert!(out.stdout.contains("vpnnm"), "{out}");
        assert!(!out.stdout.contains("s3cret"), "{out}");

        // GetSettings (+ GetSecrets, as nmcli does) → Update → GetSettings.
        let mut full = s.clone();
        for (setting, keys) in &secrets {
            full.entry(setting.clone()).or_default().extend(
                keys.iter()
                    .map(|(k, v)| (k.clone(), v.try_clone().unwrap())),
            );
        }
        c.update(settings_arg(&full))
            .await
            .expect("Update with what GetSettings gave");
        assert_eq!(
            c.get_settings().await.unwrap(),
            s,
            "GetSettings after a same-content Update"
        );
        assert_eq!(
            setting_map(&c.get_secrets("vpn").await.unwrap(), "vpn", "secrets"),
            Some(profile.secrets.clone())
        );
        let meta = std::fs::metadata(&file).expect("the keyfile is still there");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (meta.uid(), meta.mode() & 0o777),
            (0, 0o600),
            "{}",
            file.display()
        );
        let rewritten = parse_keyfile(&read(file.to_str().unwrap()));
        for section in ["connection", "vpn", "vpn-secrets"] {
            let want: BTreeMap<_, _> = on_disk[section]
                .iter()
                .filter(|(k, _)| !(section == "connection" && k.as_str() == "permissions"))
                .collect();
            let got: BTreeMap<_, _> = rewritten
                .get(section)
                .unwrap_or_else(|| panic!("[{section}] is gone from the rewritten keyfile"))
                .iter()
                .filter(|(k, _)| want.contains_key(k))
                .collect();
            assert_eq!(got, want, "[{section}] after the round trip");
        }

        // A change is written to disk and survives ReloadConnections.
        let mut changed = full;
        changed.get_mut("connection").unwrap().insert(
            "netns-name".into(),
            zbus::wire::OwnedVariant::try_from(zbus::wire::Variant::from("vpnnm2")).unwrap(),
        );
        c.update(settings_arg(&changed))
            .await
            .expect("Update netns-name");
        let disk = parse_keyfile(&read(file.to_str().unwrap()));
        assert_eq!(disk["connection"]["netns-name"], "vpnnm2");
        assert_eq!(disk["vpn"]["remote"], profile.data["remote"]);
        assert!(
            settings_proxy(&conn)
                .await
                .reload_connections()
                .await
                .unwrap()
        );
        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&profile.uuid)
            .await
            .unwrap()
            .to_string();
        let c = connection_proxy(&conn, &path).await;
        assert_eq!(
            setting_str(&c.get_settings().await.unwrap(), "connection", "netns-name").as_deref(),
            Some("vpnnm2")
        );

        // Delete removes it everywhere.
        c.delete().await.expect("Delete");
        assert!(list_connections(&conn).await.is_empty());
        assert!(!file.exists(), "{} is left", file.display());
    })
    .await
}

// ---------------------------------------------------------------------------
// Authorization

fn grant_nobody(action: &str) -> String {
    format!(
        "polkit.addRule(function(action, subject) {{\n    \
         if (action.id == \"{action}\" && subject.user == \"nobody\")\n        \
         return polkit.Result.YES;\n}});\n"
    )
}

/// ActivateConnection over gdbus as `uid`.
async fn gdbus_activate(uid: u32, connection: &str) -> Out {
    gdbus_call(
        Some(uid),
        &rootns_path(),
        &format!("{INSTANCE_INTERFACE}.ActivateConnection"),
        &[
            gvariant_str(connection),
            gvariant_str("/"),
            gvariant_str("/"),
        ],
    )
    .await
}

/// (h) nobody may not activate a connection (nothing starts) unless a
/// polkit rule grants net.netnsd.Netns1.activate-connection; then the
/// connection comes up as for root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_needs_polkit() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = rig.profile("corp-pk").isolated("vpnpk");
        let path = add_connection(&conn, &profile).await;
        let namespaces = ip_netns_list().await;

        assert!(!pkcheck(NOBODY_UID, netnsd_api::actions::ACTIVATE_CONNECTION).await);
        let out = gdbus_activate(NOBODY_UID, &path).await.failed();
        assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{out}");
        assert_eq!(ip_netns_list().await, namespaces);
        assert!(rig.foreign_openvpn_pids().is_empty());
        assert!(client_tuns().await.is_empty());
        assert!(
            ns_connections(&conn, &rootns_path())
                .await
                .active_connections()
                .await
                .unwrap()
                .is_empty()
        );

        let _rules = PolkitRules::install(
            "50-nobody-activates",
            &grant_nobody(netnsd_api::actions::ACTIVATE_CONNECTION),
        );
        wait_polkit(NOBODY_UID, netnsd_api::actions::ACTIVATE_CONNECTION, true).await;
        let mut log = StateLog::new(&conn).await;
        let out = gdbus_activate(NOBODY_UID, &path).await.ok();
        let ac = out
            .stdout
            .split('\'')
            .nth(1)
            .unwrap_or_else(|| panic!("no object path in {out}"))
            .to_owned();
        log.wait(&ac, VPN_UP_TIMEOUT, "activated", |ev| {
            ev.iter()
                .any(|e| e.sig == Sig::State && e.state >= active::ACTIVATED)
        })
        .await;
        assert_eq!(
            log.states(&ac, Sig::State).last().map(|s| s.0),
            Some(active::ACTIVATED),
            "{}",
            log.describe()
        );
        let out = curl_in("vpnpk", &intranet_url(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        deactivate_and_wait(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

// ---------------------------------------------------------------------------
// More of the lifecycle

/// Without netns-isolate the tunnel is configured where openvpn runs (the
/// root namespace), as NetworkManager would: the pushed route goes through
/// it there, no namespace is made, the host's resolv.conf is left alone;
/// deactivation puts rootns back as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_isolated_vpn_is_configured_in_the_uplink_namespace() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        rig.assert_rootns_cut_off().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let before = settled_host_view().await;
        let namespaces = ip_netns_list().await;
        let path = add_connection(&conn, &rig.profile("corp-plain")).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_and_wait(&conn, &mut log, &path).await;

        assert_eq!(
            active_proxy(&conn, &ac)
                .await
                .network_namespace()
                .await
                .unwrap()
                .as_str(),
            rootns_path()
        );
        assert_eq!(ip_netns_list().await, namespaces, "no namespace is made");
        let tuns = client_tuns().await;
        let tun = match tuns.get(ROOT_NS_NAME).map(Vec::as_slice) {
            Some([t]) if tuns.len() == 1 => t.clone(),
            _ => panic!("one client tunnel, in rootns: {tuns:?}"),
        };
        let addrs = ip_addrs(ROOT_NS_NAME, &tun).await;
        assert!(
            addrs.iter().any(|a| a.starts_with("10.8.0.")),
            "{tun}: {addrs:?}"
        );
        let get = ip_ns(ROOT_NS_NAME, &["route", "get", INTRANET_ADDR])
            .await
            .ok();
        assert_eq!(route_dev(&get.stdout), Some(tun.as_str()), "{get}");
        let out = curl_in(ROOT_NS_NAME, &intranet_url_by_addr(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        // The rest of rootns's routing is as it was: the server is still
        // reached over the wan link, not through the tunnel.
        let get = ip_ns(ROOT_NS_NAME, &["route", "get", SERVER_ADDR])
            .await
            .ok();
        assert_eq!(route_dev(&get.stdout), Some(RIG_HOST_IF), "{get}");
        assert_eq!(read("/etc/resolv.conf"), before.resolv_conf);

        deactivate_and_wait(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep()).await;
        assert_eq!(ip_netns_list().await, namespaces);
        assert_eq!(host_view().await, before, "rootns after the VPN");
        rig.assert_rootns_cut_off().await;
    })
    .await
}

/// The openvpn client dying (killed) fails the connection with
/// service-stopped and takes everything down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openvpn_dying_fails_the_connection_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &rig.profile("corp-dies").isolated("vpndies")).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_and_wait(&conn, &mut log, &path).await;
        let clients = rig.foreign_openvpn_pids();
        assert_eq!(clients.len(), 1, "one openvpn client: {clients:?}");
        let (pid, cmdline) = &clients[0];
        assert!(cmdline.contains("--client"), "{cmdline}");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();

        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        let (st, why) = log.states(&ac, Sig::State).last().copied().unwrap();
        assert_eq!(
            (st, why),
            (active::DEACTIVATED, reason::SERVICE_STOPPED),
            "{}",
            log.describe()
        );
        let vpn_end = log.states(&ac, Sig::Vpn).last().copied();
        assert_eq!(
            vpn_end,
            Some((vpn::FAILED, reason::SERVICE_STOPPED)),
            "{}",
            log.describe()
        );
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// A server that refuses the password: the connection fails with
/// login-failed and leaves nothing; with the right password (a secret,
/// never on a command line) it comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_login_fails_and_the_right_password_connects() {
    let _env = TestEnv::new();
    timed(async {
        const USER: &str = "alice";
        const PASSWORD: &str = "correct-horse-7Qx";
        let rig = OpenVpnRig::start_with(RigOptions {
            user_pass: Some((USER.into(), PASSWORD.into())),
            ..RigOptions::default()
        })
        .await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;

        let wrong = rig
            .profile("corp-wrong")
            .isolated("vpnlogin")
            .secret("password", "wrong-password");
        let path = add_connection(&conn, &wrong).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate(&conn, &path)
            .await
            .unwrap_or_else(|e| panic!("ActivateConnection: {e:?}"));
        log.wait_deactivated(&ac, VPN_UP_TIMEOUT).await;
        assert!(
            !log.states(&ac, Sig::State)
                .iter()
                .any(|s| s.0 == active::ACTIVATED),
            "{}",
            log.describe()
        );
        let (_, why) = log.states(&ac, Sig::State).last().copied().unwrap();
        assert_eq!(why, reason::LOGIN_FAILED, "{}", log.describe());
        assert_eq!(
            log.states(&ac, Sig::Vpn).last().copied(),
            Some((vpn::FAILED, reason::LOGIN_FAILED)),
            "{}",
            log.describe()
        );
        assert_nothing_left(&rig.keep()).await;

        let right = rig
            .profile("corp-right")
            .isolated("vpnlogin")
            .secret("password", PASSWORD);
        let path = add_connection(&conn, &right).await;
        let ac = activate_and_wait(&conn, &mut log, &path).await;
        for (pid, cmdline) in rig.foreign_openvpn_pids() {
            assert!(
                !cmdline.contains(PASSWORD),
                "the password is on openvpn's command line (pid {pid}): {cmdline}"
            );
        }
        let out = curl_in("vpnlogin", &intranet_url(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        deactivate_and_wait(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// A non-persistent namespace with a process the daemon started in it
/// (Spawn) outlives the connection: the tunnel goes, the process stays
/// inside with no way out (only lo), and the namespace is removed once the
/// process has exited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolated_namespace_goes_once_its_last_process_exits() {
    use std::os::fd::AsFd;
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &rig.profile("corp-busy").isolated("vpnbusy")).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_and_wait(&conn, &mut log, &path).await;
        let ns_path = wait_ns_on_bus(&conn, "vpnbusy", Duration::from_secs(1)).await;

        // `sh -c 'read x'` with its stdin a pipe we hold: it runs until we
        // close our end.
        let (rd, wr) = nix::unistd::pipe().unwrap();
        let inst = instance(&conn, &ns_path).await;
        let mut exits = inst.receive_process_exited().await.unwrap();
        let pid = inst
            .spawn(
                &["/bin/sh", "-c", "read x"],
                std::collections::HashMap::from([("PATH", "/usr/bin:/bin")]),
                "/",
                std::collections::HashMap::from([("stdin", zbus::wire::Fd::from(rd.as_fd()))]),
                std::collections::HashMap::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("Spawn in vpnbusy: {e:?}"));
        drop(rd);

        deactivate_and_wait(&conn, &mut log, &ac).await;
        // The process is still there, and so is its namespace, with
        // nothing in it but lo; the client and its tunnel are gone.
        assert_nothing_left(&rig.keep().empty_ns("vpnbusy").pid(pid)).await;
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "the spawned process died with the connection"
        );
        assert!(ip_netns_list().await.iter().any(|n| n == "vpnbusy"));
        assert!(ns_on_bus(&conn, "vpnbusy").await);
        assert_eq!(brief_links("vpnbusy").await, vec!["lo".to_owned()]);
        let out = curl_in("vpnbusy", &intranet_url_by_addr(), 2).await;
        assert!(!out.stdout.contains(INTRANET_TOKEN), "{out}");

        // The process ends; the namespace goes.
        drop(wr);
        tokio::time::timeout(Duration::from_secs(10), async {
            use futures::StreamExt;
            while let Some(sig) = exits.next().await {
                if sig.args().unwrap().pid == pid {
                    return;
                }
            }
            panic!("the ProcessExited stream ended")
        })
        .await
        .expect("ProcessExited within 10 s");
        wait_ns_off_bus(&conn, "vpnbusy", VPN_DOWN_TIMEOUT).await;
        assert!(!ip_netns_list().await.iter().any(|n| n == "vpnbusy"));
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// Deleting the profile of an active connection ends the connection, as
/// NetworkManager does, with connection-removed (not user-disconnected),
/// and leaves nothing: no client, no isolated namespace, no profile file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_profile_ends_its_connection_with_connection_removed() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &rig.profile("corp-del").isolated("vpndel")).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_and_wait(&conn, &mut log, &path).await;
        assert_eq!(rig.foreign_openvpn_pids().len(), 1);

        connection_proxy(&conn, &path)
            .await
            .delete()
            .await
            .expect("Delete");
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        let states: Vec<(u32, u32)> = log.states(&ac, Sig::State);
        assert!(
            in_order(
                &states.iter().map(|s| s.0).collect::<Vec<_>>(),
                &[active::ACTIVATED, active::DEACTIVATING, active::DEACTIVATED]
            ),
            "{}",
            log.describe()
        );
        assert_eq!(
            states.last().copied(),
            Some((active::DEACTIVATED, reason::CONNECTION_REMOVED)),
            "{}",
            log.describe()
        );
        assert_nothing_left(&rig.keep()).await;
        assert!(list_connections(&conn).await.is_empty());
    })
    .await
}

/// A client that does not end on SIGTERM (here: stopped with SIGSTOP, so the
/// signal stays pending) is killed a few seconds later: the deactivation
/// completes, with user-disconnected, and leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_ignores_sigterm_is_killed_and_the_deactivation_ends() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &rig.profile("corp-hung").isolated("vpnhung")).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_and_wait(&conn, &mut log, &path).await;
        let clients = rig.foreign_openvpn_pids();
        assert_eq!(clients.len(), 1, "{clients:?}");
        let pid = nix::unistd::Pid::from_raw(clients[0].0 as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();

        deactivate(&conn, &ac).await.expect("DeactivateConnection");
        // SIGTERM cannot end a stopped process; only the daemon's SIGKILL can.
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_eq!(
            log.states(&ac, Sig::State).last().copied(),
            Some((active::DEACTIVATED, reason::USER_DISCONNECTED)),
            "{}",
            log.describe()
        );
        assert!(
            rig.foreign_openvpn_pids().is_empty(),
            "the stopped client is still there"
        );
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// Issue 13, item 7: two activations competing for one isolated namespace —
/// the kill switch's main risk. Two profiles isolate into the same
/// `netns-name` and are activated at the same moment: exactly one comes up;
/// the other is refused with Busy naming the namespace, and starts nothing;
/// the namespace holds only lo and the winner's tunnel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_activations_into_one_namespace_one_wins_the_other_is_busy() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let a = rig.profile("race-a").isolated("raced");
        let b = rig.profile("race-b").isolated("raced");
        a.install_keyfile("race-a");
        b.install_keyfile("race-b");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let settings = settings_proxy(&conn).await;
        let pa = settings
            .get_connection_by_uuid(&a.uuid)
            .await
            .unwrap()
            .to_string();
        let pb = settings
            .get_connection_by_uuid(&b.uuid)
            .await
            .unwrap()
            .to_string();
        let mut log = StateLog::new(&conn).await;

        let (ra, rb) = tokio::join!(activate(&conn, &pa), activate(&conn, &pb));
        let (winner, loser) = match (ra, rb) {
            (Ok(ac), Err(e)) | (Err(e), Ok(ac)) => (ac, e),
            other => panic!("exactly one activation must be taken: {other:?}"),
        };
        let (name, msg) = err_name::<()>(Err(loser));
        assert_eq!(name, "Busy", "{msg}");
        assert!(msg.contains("\"raced\"") && msg.contains("in use"), "{msg}");
        log.wait(&winner, VPN_UP_TIMEOUT, "activated", |ev| {
            ev.iter()
                .any(|e| e.sig == Sig::State && e.state == active::ACTIVATED)
        })
        .await;
        assert_isolated_and_working(&conn, &rig, &daemon, "raced", &winner, &Isolated::openvpn())
            .await;
        assert_eq!(
            rig.foreign_openvpn_pids().len(),
            1,
            "one client runs: {:?}",
            rig.foreign_openvpn_pids()
        );

        deactivate_and_wait(&conn, &mut log, &winner).await;
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// Issue 13, item 7: a missing client is NotSupported, naming it, and the
/// activation leaves nothing (no isolated namespace). The test hides
/// /usr/sbin/openvpn (the rig's server already runs) under /dev/null in the
/// sandbox's mount namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_client_is_not_supported_and_leaves_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let p = rig.profile("noclient").isolated("noclient");
        p.install_keyfile("noclient");
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        const OPENVPN: &str = "/usr/sbin/openvpn";
        run("mount", &["--bind", "/dev/null", OPENVPN]).await.ok();
        let _hidden = Unmount(OPENVPN);
        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&p.uuid)
            .await
            .unwrap()
            .to_string();
        let (name, msg) = err_name(activate(&conn, &path).await);
        assert_eq!(name, "NotSupported", "{msg}");
        assert!(msg.contains("openvpn is not installed"), "{msg}");
        assert!(!ip_netns_list().await.contains(&"noclient".to_owned()));
        drop(_hidden);
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// Issue 13, item 7: a daemon stopped (SIGTERM, a clean exit 0: the harness
/// checks) or killed (SIGKILL) with an isolated OpenVPN connection up; the
/// next start stops the previous run's client and removes the transient
/// namespace, and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_or_crash_with_a_vpn_up_is_cleaned_up_by_the_next_start() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let p = rig.profile("upstop").isolated("upstop").persistent(false);
        p.install_keyfile("upstop");
        for crash in [false, true] {
            let daemon = Daemon::start().await;
            let conn = system_conn().await;
            let path = settings_proxy(&conn)
                .await
                .get_connection_by_uuid(&p.uuid)
                .await
                .unwrap()
                .to_string();
            let mut log = StateLog::new(&conn).await;
            activate_and_wait(&conn, &mut log, &path).await;
            let clients = rig.foreign_openvpn_pids();
            assert_eq!(clients.len(), 1, "{clients:?}");
            drop(log);
            if crash {
                daemon.kill9().await;
            } else {
                let status = daemon.stop().await;
                assert_eq!(status.code(), Some(0), "a clean stop with a VPN up");
            }
            let _daemon = Daemon::start().await;
            let conn = system_conn().await;
            wait_ns_off_bus(&conn, "upstop", Duration::from_secs(10)).await;
            assert!(
                rig.foreign_openvpn_pids().is_empty(),
                "the previous run's client still runs (crash: {crash})"
            );
            assert_nothing_left(&rig.keep()).await;
        }
    })
    .await
}
