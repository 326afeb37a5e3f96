//! Isolated WireGuard connections (issue 6) against a real peer: Debian's
//! wireguard-go as `wgs0` in `wan` (203.0.113.1:51820, 10.66.0.1/24), keys
//! made now with `wg genkey`/`wg pubkey`, behind it the OpenVPN rig's private
//! network corp (10.99.0.0/24: intranet.corp.test on 10.99.0.10:8080, known
//! only to dnsmasq on 10.99.0.53). rootns reaches the peer but never corp.
//!
//! The daemon makes the interface in rootns (the uplink) and moves it into
//! the isolated namespace: a kernel `wireguard` link where the kernel has
//! WireGuard, else (as on the machines these tests were written on) its
//! own wireguard-go, after the kernel refused the link kind; each test
//! checks from the daemon's log that it chose according to what
//! `ip link add … type wireguard` can do here. The tests check with iproute2, ss,
//! curl and /proc: only the isolated namespace reaches corp, by name through
//! the profile's DNS; it holds only lo and the tunnel, its default route
//! goes through it; the UDP socket stays in rootns; the private key is on no
//! command line and in no file others can read; a dead wireguard-go, a
//! netns-timeout of 0 and deactivation leave nothing; a persistent namespace
//! stays, empty; a wg-quick file imports (ImportConnection "wireguard"),
//! also through `nsctl connection import`, and nsctl brings it up and down.

use std::path::Path;
use std::time::Duration;

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits until the stored profile with `uuid` is on the bus.
async fn connection_by_uuid(conn: &zbus::Connection, uuid: &str) -> String {
    settings_proxy(conn)
        .await
        .get_connection_by_uuid(uuid)
        .await
        .unwrap_or_else(|e| panic!("no connection with uuid {uuid}: {e:?}"))
        .to_string()
}

/// The daemon's wireguard-go: exactly one, run as `wireguard-go -f nsvpnN`.
fn the_client(peer: &WgPeer) -> (u32, String) {
    let clients = peer.client_processes();
    assert_eq!(clients.len(), 1, "one wireguard-go client: {clients:?}");
    clients[0].clone()
}

/// Which WireGuard the daemon used, from its log, checked against what
/// the kernel can do: the kernel's where it has WireGuard, else (as on the
/// machines these tests were written on, whose kernel refuses the link
/// kind) wireguard-go after the kernel refused the link.
async fn assert_the_right_wireguard(daemon: &Daemon) -> bool {
    let kernel = kernel_has_wireguard().await;
    let log = daemon.log_text();
    if kernel {
        assert!(
            log.contains("kernel WireGuard interface made"),
            "the kernel has WireGuard, but the daemon did not use it:\n{log}"
        );
        assert!(!log.contains("falling back to wireguard-go"), "{log}");
    } else {
        assert!(
            log.contains("the kernel has no support for link kind 'wireguard'")
                && log.contains("falling back to wireguard-go"),
            "the kernel has no WireGuard: the daemon must have tried it and fallen back \
             to wireguard-go:\n{log}"
        );
        assert!(!log.contains("kernel WireGuard interface made"), "{log}");
    }
    kernel
}

/// Everything that must hold while an isolated WireGuard connection into
/// `ns` is up: the check of every isolated VPN, and WireGuard's own: the
/// kernel's interface if it has WireGuard, else the daemon's one
/// wireguard-go; the peer answers and saw a handshake; the UDP socket
/// stays in the uplink namespace (rootns), the isolated one has none.
async fn assert_wireguard_up(
    conn: &zbus::Connection,
    rig: &OpenVpnRig,
    peer: &WgPeer,
    daemon: &Daemon,
    ns: &str,
    ac: &str,
) {
    let kernel = assert_the_right_wireguard(daemon).await;
    let hex = key_hex(&peer.client_private);
    let vpn = Isolated::wireguard(kernel, &[peer.client_private.as_str(), hex.as_str()]);
    let tun = assert_isolated_and_working(conn, rig, daemon, ns, ac, &vpn).await;
    let pid = if kernel {
        let clients = peer.client_processes();
        assert!(clients.is_empty(), "wireguard-go runs: {clients:?}");
        None
    } else {
        let (pid, cmdline) = the_client(peer);
        assert!(
            cmdline.ends_with(&format!("-f {tun}")),
            "the client runs as `wireguard-go -f {tun}`: {cmdline}"
        );
        Some(pid)
    };

    // Traffic: the peer's tunnel address.
    let out = ping_until_answered(ns, &[WG_SERVER_TUN]).await;
    assert!(out.success(), "ping {WG_SERVER_TUN} from {ns}: {out}");
    assert!(
        peer.latest_handshake().await > 0,
        "the peer saw no handshake"
    );

    // The UDP socket stays in the uplink namespace (rootns); the isolated
    // namespace has none at all.
    let root_udp = udp_sockets(ROOT_NS_NAME).await;
    match pid {
        Some(pid) => assert!(
            root_udp
                .iter()
                .any(|l| l.contains("\"wireguard-go\"") && l.contains(&format!("pid={pid},"))),
            "no UDP socket of wireguard-go (pid {pid}) in rootns:\n{}",
            root_udp.join("\n")
        ),
        None => {
            // The kernel's socket belongs to no process: find it by the
            // port wg reports for the interface.
            let out = ip(&["netns", "exec", ns, WG_BIN, "show", &tun, "listen-port"])
                .await
                .ok();
            let port = out.stdout.trim().to_owned();
            assert!(
                root_udp.iter().any(|l| l
                    .split_whitespace()
                    .nth(3)
                    .is_some_and(|a| a.ends_with(&format!(":{port}")))),
                "no UDP socket on port {port} in rootns:\n{}",
                root_udp.join("\n")
            );
        }
    }
    let ns_udp = udp_sockets(ns).await;
    assert!(
        ns_udp.is_empty(),
        "UDP sockets in {ns}:\n{}",
        ns_udp.join("\n")
    );
}

/// (a) A keyfile in /etc/netnsd/connections before the daemon starts: the
/// connection comes up isolated in a namespace of its own (not
/// persistent), works, and deactivation removes everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyfile_profile_reaches_the_private_network_only_from_its_namespace() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        rig.assert_rootns_cut_off().await;
        let uuid = new_uuid();
        install_keyfile_text(
            "corp-wg",
            &peer.keyfile("corp-wg", &uuid, &["netns-isolate=true", "netns-name=wg1"]),
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let resolv_before = read("/etc/resolv.conf");
        let path = connection_by_uuid(&conn, &uuid).await;
        let mut log = StateLog::new(&conn).await;
        let t0 = std::time::Instant::now();
        let ac = activate_until_up(&conn, &mut log, &path).await;
        eprintln!("wireguard activation took {:?}", t0.elapsed());
        let active = active_proxy(&conn, &ac).await;
        assert_eq!(active.uuid().await.unwrap(), uuid);
        assert_eq!(active.type_().await.unwrap(), "wireguard");

        assert_wireguard_up(&conn, &rig, &peer, &daemon, "wg1", &ac).await;
        assert_eq!(read("/etc/resolv.conf"), resolv_before);

        let t0 = std::time::Instant::now();
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep().pid(peer.pid())).await;
        eprintln!("wireguard deactivation and cleanup took {:?}", t0.elapsed());
        rig.assert_rootns_cut_off().await;
        assert_eq!(read("/etc/resolv.conf"), resolv_before);
        drop(daemon);
    })
    .await
}

/// (b) A wg-quick file imported with Settings.ImportConnection("wireguard"):
/// stored as a wireguard profile (the private key a secret, the keyfile
/// root's 0600), made isolated and persistent with Update; it connects,
/// and after deactivation the namespace stays with only lo. Hooks are
/// refused naming the line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_wg_quick_file_connects_in_a_persistent_namespace() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;

        // A hook is refused, naming the line; nothing is stored.
        let with_hook = peer.wg_quick().replace(
            "[Peer]",
            "PostUp = iptables -A FORWARD -i %i -j ACCEPT\n[Peer]",
        );
        let err = import_connection(&conn, "wireguard", "hooked", &with_hook, "/")
            .await
            .expect_err("a PostUp line must be refused");
        let name = zbus_error_name(&err);
        assert!(name.ends_with(".InvalidArgument"), "{name}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("PostUp") && msg.contains("line 7"), "{msg}");
        assert!(list_connections(&conn).await.is_empty());

        let path = import_connection(&conn, "wireguard", "corp-wgq", &peer.wg_quick(), "")
            .await
            .unwrap_or_else(|e| panic!("ImportConnection(wireguard): {e}"));
        let proxy = connection_proxy(&conn, &path).await;
        let s = proxy.get_settings().await.unwrap();
        assert_eq!(
            setting_str(&s, "connection", "type").as_deref(),
            Some("wireguard")
        );
        assert_eq!(
            setting_str(&s, "connection", "id").as_deref(),
            Some("corp-wgq")
        );
        assert_eq!(
            setting_str(&s, "ipv4", "address1").as_deref(),
            Some(format!("{WG_CLIENT_ADDR}/24").as_str())
        );
        assert!(
            setting_str(&s, "wireguard", "private-key").is_none(),
            "GetSettings must not show the private key"
        );
        let peer_setting = format!("wireguard-peer.{}", peer.server_public);
        assert_eq!(
            setting_str(&s, &peer_setting, "endpoint").as_deref(),
            Some(format!("{SERVER_ADDR}:{WG_PORT}").as_str())
        );
        let secrets = proxy.get_secrets("wireguard").await.unwrap();
        assert_eq!(
            setting_str(&secrets, "wireguard", "private-key").as_deref(),
            Some(peer.client_private.as_str())
        );
        // Stored in a keyfile only root can read.
        let files = connection_files();
        assert_eq!(files.len(), 1, "{files:?}");
        let text = read(files[0].to_str().unwrap());
        assert!(text.contains("type=wireguard"), "{text}");
        let m = std::fs::metadata(&files[0]).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((m.uid(), m.mode() & 0o777), (0, 0o600));

        set_connection_keys(
            &conn,
            &path,
            &[
                ("netns-isolate", Key::Bool(true)),
                ("netns-name", Key::Str("wgkeep".into())),
                ("netns-persistent", Key::Bool(true)),
            ],
        )
        .await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_wireguard_up(&conn, &rig, &peer, &daemon, "wgkeep", &ac).await;

        deactivate_until_down(&conn, &mut log, &ac).await;
        // The namespace stays, empty; the client and its tunnel are gone.
        assert_nothing_left(&rig.keep().pid(peer.pid()).empty_ns("wgkeep")).await;
        assert!(ip_netns_list().await.iter().any(|n| n == "wgkeep"));
        assert!(ns_on_bus(&conn, "wgkeep").await);
        assert_eq!(brief_links("wgkeep").await, ["lo"]);
        let out = curl_in("wgkeep", &intranet_url_by_addr(), 2).await;
        assert!(
            !out.success(),
            "the kept namespace still reaches corp: {out}"
        );
        drop(daemon);
    })
    .await
}

/// (c) wireguard-go killed under the connection (on a kernel with
/// WireGuard: its interface deleted): it fails with service-stopped and
/// everything goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wireguard_go_dying_fails_the_connection_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let uuid = new_uuid();
        install_keyfile_text(
            "corp-wg-dies",
            &peer.keyfile(
                "corp-wg-dies",
                &uuid,
                &["netns-isolate=true", "netns-name=wgdies"],
            ),
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = connection_by_uuid(&conn, &uuid).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        if assert_the_right_wireguard(&daemon).await {
            // The kernel's WireGuard has no process: its interface deleted
            // is the same loss.
            let tuns = links_of_kinds("wgdies", &["wireguard"]).await;
            assert_eq!(tuns.len(), 1, "{tuns:?}");
            ip_ns("wgdies", &["link", "del", &tuns[0]]).await.ok();
        } else {
            let (pid, _) = the_client(&peer);
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
        }
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        let (st, why) = log.states(&ac, Sig::State).last().copied().unwrap();
        assert_eq!(
            (st, why),
            (active::DEACTIVATED, reason::SERVICE_STOPPED),
            "{}",
            log.describe()
        );
        log.wait(&ac, Duration::from_secs(5), "VpnState failed", |ev| {
            ev.iter()
                .any(|e| e.sig == Sig::Vpn && e.state == vpn::FAILED)
        })
        .await;
        assert_nothing_left(&rig.keep().pid(peer.pid())).await;
    })
    .await
}

/// (d) netns-timeout=0 is the default timeout, as in the 2016 prototype
/// (`timeout > 0 ? timeout : default`): the connection comes up, works,
/// and goes leaving nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netns_timeout_zero_is_the_default_as_in_the_prototype() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let uuid = new_uuid();
        install_keyfile_text(
            "corp-wg-zero",
            &peer.keyfile(
                "corp-wg-zero",
                &uuid,
                &["netns-isolate=true", "netns-name=wgzero", "netns-timeout=0"],
            ),
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = connection_by_uuid(&conn, &uuid).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_wireguard_up(&conn, &rig, &peer, &daemon, "wgzero", &ac).await;
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep().pid(peer.pid())).await;
    })
    .await
}

/// (e) nsctl end to end: `nsctl connection import wg0.conf --isolate
/// --netns-name wgn` makes the wireguard profile (seen over the bus),
/// `nsctl vpn up` brings it up isolated and working, `nsctl vpn down`
/// takes it all away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_imports_a_wg_quick_file_and_brings_it_up() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        // Root-only, as /etc/wireguard's files are.
        let file = rig.dir().join("corp-wgn.conf");
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&file)
                .unwrap();
            std::io::Write::write_all(&mut f, peer.wg_quick().as_bytes()).unwrap();
        }
        let out = nsctl(
            None,
            &[
                "connection",
                "import",
                file.to_str().unwrap(),
                "--isolate",
                "--netns-name",
                "wgn",
            ],
        )
        .await
        .ok();
        let path = out.stdout.trim().to_owned();
        let s = connection_proxy(&conn, &path)
            .await
            .get_settings()
            .await
            .unwrap();
        assert_eq!(
            setting_str(&s, "connection", "type").as_deref(),
            Some("wireguard")
        );
        assert_eq!(
            setting_str(&s, "connection", "id").as_deref(),
            Some("corp-wgn")
        );
        assert_eq!(setting_bool(&s, "connection", "netns-isolate"), Some(true));
        assert_eq!(
            setting_str(&s, "connection", "netns-name").as_deref(),
            Some("wgn")
        );

        let out = nsctl(None, &["vpn", "up", "corp-wgn", "--timeout", "20"]).await;
        assert!(out.success(), "{out}\n{}", daemon.log_text());
        // nsctl returned once it was up: the one active connection of
        // rootns is activated.
        let actives = ns_connections(&conn, &rootns_path())
            .await
            .active_connections()
            .await
            .unwrap();
        assert_eq!(actives.len(), 1, "{actives:?}");
        let ac = actives[0].to_string();
        assert_eq!(
            active_proxy(&conn, &ac).await.state().await.unwrap(),
            active::ACTIVATED
        );
        assert_wireguard_up(&conn, &rig, &peer, &daemon, "wgn", &ac).await;

        let out = nsctl(None, &["vpn", "down", "corp-wgn"]).await;
        assert!(out.success(), "{out}");
        assert_nothing_left(&rig.keep().pid(peer.pid())).await;
        drop(daemon);
    })
    .await
}

/// (f) The daemon crashes (SIGKILL) under an activated connection in a
/// persistent namespace (where the tunnel does not die with a removed
/// namespace): the daemon started again stops the wireguard-go the
/// previous run left (recorded under /run/netnsd), so that no client and
/// no tunnel is left; the namespace stays, with only lo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_daemon_stops_what_a_crashed_one_left() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let uuid = new_uuid();
        install_keyfile_text(
            "corp-wg-crash",
            &peer.keyfile(
                "corp-wg-crash",
                &uuid,
                &[
                    "netns-isolate=true",
                    "netns-name=wgcrash",
                    "netns-persistent=true",
                ],
            ),
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = connection_by_uuid(&conn, &uuid).await;
        let mut log = StateLog::new(&conn).await;
        activate_until_up(&conn, &mut log, &path).await;
        let kernel = assert_the_right_wireguard(&daemon).await;
        let client = (!kernel).then(|| the_client(&peer).0);
        drop(log);
        daemon.kill9().await;
        // The crash left it all behind.
        if let Some(pid) = client {
            assert!(
                Path::new(&format!("/proc/{pid}")).exists(),
                "wireguard-go died with the daemon"
            );
        }
        assert!(ip_netns_list().await.iter().any(|n| n == "wgcrash"));

        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        // Nothing of the crashed activation is left: no client, no tunnel,
        // no DNS files in the kept namespace (it had none before the VPN
        // wrote its own), nothing under /run/netnsd/vpn.
        assert_nothing_left(&rig.keep().pid(peer.pid()).empty_ns("wgcrash")).await;
        assert!(
            !Path::new(&format!("{NETNS_ETC_DIR}/wgcrash")).exists(),
            "the crashed VPN's DNS files are left in the kept namespace"
        );
        if let Some(pid) = client {
            assert!(!Path::new(&format!("/proc/{pid}")).exists());
        }
        assert!(ns_on_bus(&conn, "wgcrash").await);
        assert_eq!(brief_links("wgcrash").await, ["lo"]);
        rig.assert_rootns_cut_off().await;
        drop(daemon);
    })
    .await
}

/// Ends the tunnel of the connection up in `ns` behind the daemon's back:
/// wireguard-go killed, or (kernel WireGuard, no process) its link deleted.
async fn kill_the_tunnel(daemon: &Daemon, peer: &WgPeer, ns: &str) {
    if assert_the_right_wireguard(daemon).await {
        let tuns = links_of_kinds(ns, &["wireguard"]).await;
        assert_eq!(tuns.len(), 1, "{tuns:?}");
        ip_ns(ns, &["link", "del", &tuns[0]]).await.ok();
    } else {
        let (pid, _) = the_client(peer);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
}

/// (g) A VPN isolated into a namespace that has DNS of its own (SetDns)
/// writes its DNS there while it is up; when its client dies, and when
/// the daemon is killed under it and started again, the namespace's own
/// DNS comes back, in its files and on the bus (issue 13: the kill -9
/// storm found a crashed VPN's DNS left in the namespace it kept).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_vpn_or_a_crash_gives_the_namespace_its_own_dns_back() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let uuid = new_uuid();
        install_keyfile_text(
            "corp-wg-dns",
            &peer.keyfile(
                "corp-wg-dns",
                &uuid,
                &["netns-isolate=true", "netns-name=wgdns"],
            ),
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ns_path = controller(&conn)
            .await
            .add_network_namespace("wgdns")
            .await
            .unwrap()
            .to_string();
        instance(&conn, &ns_path)
            .await
            .set_dns(&["192.0.2.53"], &["home.test"])
            .await
            .unwrap();
        let resolv = format!("{NETNS_ETC_DIR}/wgdns/resolv.conf");
        let own = read(&resolv);
        assert!(own.contains("nameserver 192.0.2.53"), "{own}");
        let vpn_dns = format!("nameserver {CORP_DNS}");
        let path = connection_by_uuid(&conn, &uuid).await;
        let mut log = StateLog::new(&conn).await;

        // The client dies under the connection.
        let ac = activate_until_up(&conn, &mut log, &path).await;
        let text = read(&resolv);
        assert!(
            text.contains(&vpn_dns) && !text.contains("192.0.2.53"),
            "{text}"
        );
        kill_the_tunnel(&daemon, &peer, "wgdns").await;
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_eq!(read(&resolv), own, "after the client died");
        let servers = instance(&conn, &ns_path).await.dns_servers().await.unwrap();
        assert_eq!(servers, ["192.0.2.53"]);

        // The daemon is killed under it, and started again.
        let ac = activate_until_up(&conn, &mut log, &path).await;
        let text = read(&resolv);
        assert!(text.contains(&vpn_dns), "{text}");
        drop(log);
        daemon.kill9().await;
        assert!(
            read(&resolv).contains(&vpn_dns),
            "the crash changed nothing yet"
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ns_path = wait_ns_on_bus(&conn, "wgdns", Duration::from_secs(5)).await;
        assert_eq!(read(&resolv), own, "after a restart ({ac} was up)");
        let servers = instance(&conn, &ns_path).await.dns_servers().await.unwrap();
        assert_eq!(servers, ["192.0.2.53"]);
        // ... and a restart more changes nothing.
        let _ = daemon.stop().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ns_path = wait_ns_on_bus(&conn, "wgdns", Duration::from_secs(5)).await;
        assert_eq!(read(&resolv), own, "after a second restart");

        controller(&conn)
            .await
            .remove_network_namespace("wgdns")
            .await
            .unwrap();
        assert_nothing_left(&rig.keep().pid(peer.pid())).await;
        let _ = ns_path;
        drop(daemon);
    })
    .await
}

/// (h) DeactivateConnection answers once the connection is gone (client
/// ended, tunnel and namespace removed), so the same profile activates
/// again at once — the kill -9 storm's clients got ConnectionAlreadyActive
/// there; and an ActivateConnection while the profile's previous
/// activation is still going down (its client slow to end: stopped, so it
/// gets SIGKILL 5 s after SIGTERM) waits for it to be gone, then comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivate_then_activate_at_once_succeeds() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let uuid = new_uuid();
        install_keyfile_text(
            "corp-wg-again",
            &peer.keyfile(
                "corp-wg-again",
                &uuid,
                &["netns-isolate=true", "netns-name=wgagain"],
            ),
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = connection_by_uuid(&conn, &uuid).await;
        let mut log = StateLog::new(&conn).await;
        let mut ac = activate_until_up(&conn, &mut log, &path).await;
        for round in 0..3 {
            deactivate(&conn, &ac)
                .await
                .unwrap_or_else(|e| panic!("round {round}: DeactivateConnection: {e:?}"));
            // Answered: it is deactivated (or its object already gone).
            if let Ok(st) = active_proxy(&conn, &ac).await.state().await {
                assert_eq!(
                    st,
                    active::DEACTIVATED,
                    "round {round}: State after the reply"
                );
            }
            ac = activate_until_up(&conn, &mut log, &path).await;
        }
        let out = ping_until_answered("wgagain", &[WG_SERVER_TUN]).await;
        assert!(out.success(), "ping {WG_SERVER_TUN}: {out}");

        if !assert_the_right_wireguard(&daemon).await {
            let (pid, _) = the_client(&peer);
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
            let (c, old) = (conn.clone(), ac.clone());
            let down = tokio::spawn(async move { deactivate(&c, &old).await });
            log.wait_state(&ac, active::DEACTIVATING, Duration::from_secs(5))
                .await;
            let t0 = std::time::Instant::now();
            let new = activate_until_up(&conn, &mut log, &path).await;
            let took = t0.elapsed();
            eprintln!("the activation waited {took:?} for the previous one to go");
            assert_eq!(
                log.states(&ac, Sig::State).last().map(|s| s.0),
                Some(active::DEACTIVATED),
                "{}",
                log.describe()
            );
            down.await
                .unwrap()
                .unwrap_or_else(|e| panic!("DeactivateConnection of a stopped client: {e:?}"));
            assert!(
                took >= Duration::from_secs(3),
                "came up before the stopped client was killed: {took:?}"
            );
            ac = new;
            let out = ping_until_answered("wgagain", &[WG_SERVER_TUN]).await;
            assert!(out.success(), "ping {WG_SERVER_TUN}: {out}");
        }
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep().pid(peer.pid())).await;
        drop(daemon);
    })
    .await
}
