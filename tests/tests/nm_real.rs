//! Profiles written by the real NetworkManager load and come up isolated
//! (issue 15). Debian's NetworkManager 1.42 runs in the sandbox (keyfile
//! plugin, `unmanaged-devices=*`, on the sandbox's bus: tests/src/nm.rs);
//! `nmcli connection import type openvpn|wireguard` and `nmcli connection
//! add type vpn vpn-type openconnect` make the profiles; the files it wrote
//! are copied unchanged into /etc/netnsd/connections, netnsd loads them,
//! the netns keys are set over the bus (Update; NetworkManager does not
//! know them) and each activates isolated against the rig's servers.
//! Secrets are stored ones (flags 0), as NetworkManager writes them into
//! the file; OpenConnect's login is `form:main:username` and
//! `form:main:password`, as its auth dialog saves it.

use netnsd_tests::nm::RealNm;
use netnsd_tests::openvpn::*;
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

/// The file NetworkManager wrote for `id`, copied unchanged; returns the
/// connection's object path on netnsd's bus.
async fn load_unchanged(conn: &zbus::Connection, nm: &RealNm, id: &str) -> (String, String) {
    let text = nm.keyfile_of(id);
    install_keyfile_text(id, &text);
    let uuid = text
        .lines()
        .find_map(|l| l.strip_prefix("uuid="))
        .expect("NetworkManager wrote a uuid")
        .to_owned();
    let settings = settings_proxy(conn).await;
    settings
        .reload_connections()
        .await
        .expect("ReloadConnections");
    let path = settings
        .get_connection_by_uuid(&uuid)
        .await
        .unwrap_or_else(|e| panic!("{id} ({uuid}) did not load: {e:?}\n{text}"))
        .to_string();
    (path, text)
}

async fn isolate(conn: &zbus::Connection, path: &str, ns: &str) {
    set_connection_keys(
        conn,
        path,
        &[
            ("netns-isolate", Key::Bool(true)),
            ("netns-name", Key::Str(ns.to_owned())),
        ],
    )
    .await;
}

/// OpenVPN: a certificate (and tls-auth) configuration imported by
/// NetworkManager's own importer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networkmanagers_openvpn_import_comes_up_isolated() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let nm = RealNm::start().await;
        let f = &rig.files;
        let mut ovpn = format!(
            "client\ndev tun\nproto udp\nremote {SERVER_ADDR} {SERVER_PORT}\nca {}\ncert {}\nkey {}\n\
             remote-cert-tls server\n",
            f.ca.display(),
            f.cert.display(),
            f.key.display()
        );
        if f.ta.exists() {
            ovpn.push_str(&format!("tls-auth {} 1\n", f.ta.display()));
        }
        let file = nm.file("nm-ovpn.ovpn", &ovpn);
        nm.nmcli(&["connection", "import", "type", "openvpn", "file", &file])
            .await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let (path, text) = load_unchanged(&conn, &nm, "nm-ovpn").await;
        assert!(
            text.contains("service-type=org.freedesktop.NetworkManager.openvpn"),
            "{text}"
        );
        isolate(&conn, &path, "nmovpn").await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_isolated_and_working(&conn, &rig, &daemon, "nmovpn", &ac, &Isolated::openvpn())
            .await;
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep().pid(nm.pid())).await;
        drop(daemon);
    })
    .await
}

/// WireGuard: a wg-quick file imported by NetworkManager (it writes
/// `dns-search=~;` and the interface name from the file name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networkmanagers_wireguard_import_comes_up_isolated() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let kernel = kernel_has_wireguard().await;
        let nm = RealNm::start().await;
        let file = nm.file("nmwg.conf", &peer.wg_quick());
        nm.nmcli(&["connection", "import", "type", "wireguard", "file", &file])
            .await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let (path, text) = load_unchanged(&conn, &nm, "nmwg").await;
        assert!(text.contains("[wireguard-peer."), "{text}");
        isolate(&conn, &path, "nmwgns").await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_isolated_and_working(
            &conn,
            &rig,
            &daemon,
            "nmwgns",
            &ac,
            &Isolated::wireguard(kernel, &[&peer.client_private]),
        )
        .await;
        let resolv = std::fs::read_to_string("/etc/netns/nmwgns/resolv.conf").unwrap_or_default();
        assert!(
            !resolv.contains('~'),
            "dns-search=~ became a search domain:\n{resolv}"
        );
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep().pid(nm.pid()).pid(peer.pid())).await;
        drop(daemon);
        drop(peer);
    })
    .await
}

/// OpenConnect: a profile made with `nmcli connection add type vpn
/// vpn-type openconnect`, the login in the secrets NetworkManager's auth
/// dialog saves (form:main:username, form:main:password), no vpn.data
/// username and no cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networkmanagers_openconnect_profile_comes_up_isolated() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = OcServer::start(&rig).await;
        let nm = RealNm::start().await;
        let data = format!(
            "gateway={SERVER_ADDR},protocol=anyconnect,cacert={}",
            oc.ca.display()
        );
        let secrets = format!("form:main:username={OC_USER},form:main:password={OC_PASSWORD}");
        nm.nmcli(&[
            "connection",
            "add",
            "type",
            "vpn",
            "con-name",
            "nmoc",
            "vpn-type",
            "openconnect",
            "vpn.data",
            &data,
            "vpn.secrets",
            &secrets,
        ])
        .await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let (path, text) = load_unchanged(&conn, &nm, "nmoc").await;
        assert!(
            text.contains("form:main:username=") && !text.contains("\nusername="),
            "{text}"
        );
        isolate(&conn, &path, "nmocns").await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_isolated_and_working(
            &conn,
            &rig,
            &daemon,
            "nmocns",
            &ac,
            &Isolated::openconnect(OC_PASSWORD),
        )
        .await;
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&rig.keep().pid(nm.pid()).pid(oc.pid())).await;
        drop(daemon);
        drop(oc);
    })
    .await
}
