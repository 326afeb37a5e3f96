//! NetworkManager fidelity (issue 15): what a VPN profile's own `[ipv4]`
//! and `[ipv6]` groups say is applied in the isolated namespace
//! (`routeN`, `never-default`, `dns`, `dns-search`, `route-metric`,
//! `ignore-auto-routes`, `ignore-auto-dns`), and the tunnel stays the only
//! way out; an OpenVPN `tap-dev=yes` profile is refused.
//!
//! The rig is tests/src/openvpn.rs: the server pushes a route to corp
//! (10.99.0.0/24), corp's DNS and the domain corp.test.

use std::time::Duration;

use netnsd_api::state::active;
use netnsd_tests::openvpn::*;
use netnsd_tests::*;

/// A keyfile whose [ipv4] group is `ipv4` instead of NetworkManager's
/// plain `method=auto`.
fn with_ipv4(profile: &VpnProfile, ipv4: &str) -> String {
    let kf = profile.keyfile();
    assert!(kf.contains("\n[ipv4]\nmethod=auto\n"), "{kf}");
    kf.replace("\n[ipv4]\nmethod=auto\n", &format!("\n[ipv4]\n{ipv4}\n"))
}

async fn activated(conn: &zbus::Connection, path: &str) -> (StateLog, String) {
    let mut log = StateLog::new(conn).await;
    let ac = activate(conn, path)
        .await
        .unwrap_or_else(|e| panic!("ActivateConnection({path}): {e:?}"));
    log.wait(&ac, VPN_UP_TIMEOUT, "activated or deactivated", |ev| {
        ev.iter().any(|e| {
            e.sig == Sig::State && (e.state == active::ACTIVATED || e.state == active::DEACTIVATED)
        })
    })
    .await;
    assert_eq!(
        active_proxy(conn, &ac).await.state().await.unwrap(),
        active::ACTIVATED,
        "the connection did not come up; signals:\n{}",
        log.describe()
    );
    (log, ac)
}

async fn path_of(conn: &zbus::Connection, uuid: &str) -> String {
    settings_proxy(conn)
        .await
        .get_connection_by_uuid(uuid)
        .await
        .expect("the keyfile's connection")
        .to_string()
}

/// never-default, ignore-auto-routes and ignore-auto-dns with routeN,
/// route-metric, dns and dns-search: in the isolated namespace the routes
/// are exactly the profile's (through the tunnel, with its metrics), there
/// is no default route, nothing is reachable but what they name, and
/// resolv.conf holds the profile's DNS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_group_of_a_vpn_profile_is_applied_in_the_isolated_namespace() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let profile = rig.profile("ipv4-keys").isolated("nmip");
        // The server's pushed route (corp) is ignored; the profile routes
        // only the intranet host, with metric 77, the rest of its routes
        // get route-metric 55.
        let kf = with_ipv4(
            &profile,
            &format!(
                "method=auto\nnever-default=true\nignore-auto-routes=true\nignore-auto-dns=true\n\
                 route1={INTRANET_ADDR}/32,,77\nroute2=192.0.2.0/24\nroute-metric=55\n\
                 dns={CORP_DNS}#dns.{CORP_DOMAIN};\ndns-search=~;lab.test;"
            ),
        );
        install_keyfile_text("ipv4-keys", &kf);
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = path_of(&conn, &profile.uuid).await;
        let (mut log, ac) = activated(&conn, &path).await;

        let tun = links_of_kinds("nmip", &["tun"]).await;
        assert_eq!(tun.len(), 1, "one tunnel in nmip: {tun:?}");
        let tun = &tun[0];
        let routes = ip_ns("nmip", &["-4", "route", "show", "table", "main"])
            .await
            .ok()
            .stdout;
        assert!(
            !routes.contains("default"),
            "never-default: no default route in nmip:\n{routes}"
        );
        assert!(
            routes.contains(&format!("{INTRANET_ADDR} dev {tun}")) && routes.contains("metric 77"),
            "route1 through the tunnel with metric 77:\n{routes}"
        );
        assert!(
            routes.contains(&format!("192.0.2.0/24 dev {tun}")) && routes.contains("metric 55"),
            "route2 through the tunnel with route-metric 55:\n{routes}"
        );
        assert!(
            !routes.contains("10.99.0.0/24"),
            "ignore-auto-routes: the pushed route to corp stays out:\n{routes}"
        );
        for line in routes.lines() {
            assert!(
                line.contains(&format!("dev {tun}")),
                "every route goes through the tunnel: {line:?}\n{routes}"
            );
        }
        // The intranet host is reached (by address) through route1; the
        // server's own address is not (no default route, no way around).
        let out = curl_in("nmip", &intranet_url_by_addr(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "curl in nmip: {out}");
        let out = in_ns("nmip", &["ping", "-c1", "-W1", SERVER_ADDR]).await;
        assert!(!out.success(), "{SERVER_ADDR} reached from nmip: {out}");
        // resolv.conf: the profile's server (the #name dropped), its
        // domain and no "~".
        let resolv = std::fs::read_to_string("/etc/netns/nmip/resolv.conf").unwrap_or_default();
        assert!(
            resolv.contains(&format!("nameserver {CORP_DNS}")),
            "resolv.conf:\n{resolv}"
        );
        assert!(
            resolv.contains("lab.test") && !resolv.contains('~') && !resolv.contains("#dns."),
            "resolv.conf:\n{resolv}"
        );
        assert!(
            !resolv.contains(CORP_DOMAIN),
            "ignore-auto-dns: the pushed domain stays out:\nresolv.conf:\n{resolv}"
        );

        deactivate(&conn, &ac).await.unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_nothing_left(&rig.keep()).await;
        drop(daemon);
    })
    .await
}

/// Without the ignore keys, the profile's route and DNS come on top of
/// what the server pushed, and the default route stays (everything
/// through the tunnel).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_routes_and_dns_add_to_the_pushed_ones() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let profile = rig.profile("ipv4-add").isolated("nmadd");
        let kf = with_ipv4(
            &profile,
            "method=auto\nroute1=198.18.0.0/15\ndns=192.0.2.53;\ndns-search=lab.test;",
        );
        install_keyfile_text("ipv4-add", &kf);
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = path_of(&conn, &profile.uuid).await;
        let (mut log, ac) = activated(&conn, &path).await;
        let routes = ip_ns("nmadd", &["-4", "route"]).await.ok().stdout;
        assert!(routes.contains("default dev nsvpn"), "{routes}");
        assert!(routes.contains("10.99.0.0/24 dev nsvpn"), "{routes}");
        assert!(routes.contains("198.18.0.0/15 dev nsvpn"), "{routes}");
        let resolv = std::fs::read_to_string("/etc/netns/nmadd/resolv.conf").unwrap_or_default();
        let first_ns = resolv.lines().find(|l| l.starts_with("nameserver"));
        assert_eq!(
            first_ns,
            Some("nameserver 192.0.2.53"),
            "the profile's DNS first:\n{resolv}"
        );
        assert!(
            resolv.contains(&format!("nameserver {CORP_DNS}"))
                && resolv.contains("lab.test")
                && resolv.contains(CORP_DOMAIN),
            "{resolv}"
        );
        let out = curl_in("nmadd", &intranet_url(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "curl by name: {out}");
        deactivate(&conn, &ac).await.unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_nothing_left(&rig.keep()).await;
        drop(daemon);
    })
    .await
}

/// NetworkManager-openvpn's `tap-dev=yes` (a `dev tap` configuration) is
/// refused NotSupported naming the key, and leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openvpn_tap_dev_is_refused_not_run_as_tun() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let profile = rig.profile("tap").isolated("nmtap").data("tap-dev", "yes");
        profile.install_keyfile("tap");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = path_of(&conn, &profile.uuid).await;
        let e = activate(&conn, &path)
            .await
            .expect_err("tap-dev=yes activated");
        let name = e.short_name();
        assert_eq!(name, "NotSupported", "{e:?}");
        assert!(e.message().contains("vpn.data.tap-dev"), "{}", e.message());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(client_tuns().await.is_empty(), "{:?}", client_tuns().await);
        assert_nothing_left(&rig.keep()).await;
        drop(daemon);
    })
    .await
}

/// A python3-dbus client sending a WireGuard profile the way libnm does
/// (ipv4.address-data and route-data as aa{sv}, the deprecated
/// addresses/routes beside them, dns as au, ipv6.addr-gen-mode as i,
/// wireguard.peers as aa{sv}); AddConnection takes it, GetSettings gives
/// those forms back with the same values, Update with them keeps the
/// profile, and the stored keyfile has NetworkManager's keyfile keys.
const NM_FORMS_CLIENT: &str = r#"
import dbus, socket, struct, sys
bus = dbus.SystemBus()
B = "net.netnsd.Netns1"
S = dbus.Interface(bus.get_object(B, "/net/netnsd/Netns1/Settings"), B + ".Settings")
def au(ip): return dbus.UInt32(struct.unpack("=I", socket.inet_aton(ip))[0])
peer = dbus.Dictionary({
    "public-key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
    "endpoint": "203.0.113.1:51820",
    "allowed-ips": dbus.Array(["0.0.0.0/0"], signature="s"),
    "persistent-keepalive": dbus.UInt32(25),
}, signature="sv")
s = {
    "connection": dbus.Dictionary({"id": "nm-forms", "type": "wireguard",
        "uuid": "0d5e3a3a-7e0c-4a57-9a3d-5b1b0d6f1a15", "autoconnect": False}, signature="sv"),
    "wireguard": dbus.Dictionary({"private-key": "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
        "peers": dbus.Array([peer], signature="a{sv}")}, signature="sv"),
    "ipv4": dbus.Dictionary({"method": "manual",
        "address-data": dbus.Array([dbus.Dictionary({"address": "10.66.0.2", "prefix": dbus.UInt32(24)}, signature="sv")], signature="a{sv}"),
        "addresses": dbus.Array([dbus.Array([au("10.66.0.2"), dbus.UInt32(24), dbus.UInt32(0)], signature="u")], signature="au"),
        "route-data": dbus.Array([dbus.Dictionary({"dest": "10.50.0.0", "prefix": dbus.UInt32(16), "metric": dbus.UInt32(77)}, signature="sv")], signature="a{sv}"),
        "routes": dbus.Array([], signature="au"),
        "dns": dbus.Array([au("10.99.0.53")], signature="u"),
    }, signature="sv"),
    "ipv6": dbus.Dictionary({"method": "disabled", "addr-gen-mode": dbus.Int32(1)}, signature="sv"),
}
path = S.AddConnection(s)
C = dbus.Interface(bus.get_object(B, path), B + ".Settings.Connection")
g = C.GetSettings()
assert g["ipv4"]["address-data"].signature == "a{sv}", g["ipv4"]["address-data"]
a = g["ipv4"]["address-data"][0]
assert (str(a["address"]), int(a["prefix"])) == ("10.66.0.2", 24), a
r = g["ipv4"]["route-data"][0]
assert (str(r["dest"]), int(r["prefix"]), int(r["metric"])) == ("10.50.0.0", 16, 77), r
assert g["ipv4"]["dns"].signature == "u", g["ipv4"]["dns"]
assert socket.inet_ntoa(struct.pack("=I", int(g["ipv4"]["dns"][0]))) == "10.99.0.53"
assert isinstance(g["ipv6"]["addr-gen-mode"], dbus.Int32) and int(g["ipv6"]["addr-gen-mode"]) == 1
p = g["wireguard"]["peers"][0]
assert str(p["public-key"]) == "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", p
assert [str(x) for x in p["allowed-ips"]] == ["0.0.0.0/0"], p
assert int(p["persistent-keepalive"]) == 25, p
C.Update(g)
g2 = C.GetSettings()
assert g2 == g, (g2, g)
print(path)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networkmanagers_bus_forms_round_trip_through_add_and_get_settings() {
    let _env = TestEnv::new();
    timed(async {
        clear_connections_dir();
        let daemon = Daemon::start().await;
        let out = run("/usr/bin/python3", &["-c", NM_FORMS_CLIENT]).await;
        assert!(out.success(), "the python3-dbus client: {out}");
        // The keyfile has NetworkManager's keyfile keys.
        let file = connection_files()
            .into_iter()
            .find(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .contains("id=nm-forms")
            })
            .expect("the stored keyfile");
        let kf = std::fs::read_to_string(&file).unwrap();
        for want in [
            "address1=10.66.0.2/24",
            "route1=10.50.0.0/16,0.0.0.0,77",
            "dns=10.99.0.53;",
            "addr-gen-mode=stable-privacy",
            "[wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=]",
            "allowed-ips=0.0.0.0/0;",
        ] {
            assert!(kf.contains(want), "{want:?} not in the keyfile:\n{kf}");
        }
        for absent in ["address-data", "route-data", "peers=", "address2"] {
            assert!(!kf.contains(absent), "{absent:?} in the keyfile:\n{kf}");
        }
        drop(daemon);
    })
    .await
}

/// The prototype's error names (item 6): ActivateConnection of a path
/// that names no profile is UnknownConnection, of an active profile
/// ConnectionAlreadyActive, of a profile that is no VPN
/// ConnectionNotAvailable; DeactivateConnection of a path that names no
/// active connection is ConnectionNotActive. Nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prototypes_error_names() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let profile = rig.profile("err-names").isolated("nmerr");
        profile.install_keyfile("err-names");
        install_keyfile_text(
            "err-eth",
            "[connection]\nid=err-eth\nuuid=3c1d6f0e-2b7a-4e59-8f43-6a1d2c3b4e5f\ntype=ethernet\n",
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let name = |e: ApiError| (e.short_name(), e.message());

        let (n, m) = name(
            activate(&conn, &netnsd_api::connection_path(9999))
                .await
                .expect_err("an unknown connection activated"),
        );
        assert_eq!(n, "UnknownConnection", "{m}");
        let eth = path_of(&conn, "3c1d6f0e-2b7a-4e59-8f43-6a1d2c3b4e5f").await;
        let (n, m) = name(activate(&conn, &eth).await.expect_err("ethernet activated"));
        assert_eq!(n, "ConnectionNotAvailable", "{m}");
        let (n, m) = name(
            deactivate(&conn, &netnsd_api::active_path(9999))
                .await
                .expect_err("an unknown active connection deactivated"),
        );
        assert_eq!(n, "ConnectionNotActive", "{m}");

        let path = path_of(&conn, &profile.uuid).await;
        let (mut log, ac) = activated(&conn, &path).await;
        let (n, m) = name(activate(&conn, &path).await.expect_err("activated twice"));
        assert_eq!(n, "ConnectionAlreadyActive", "{m}");
        assert!(m.contains("err-names"), "{m}");
        deactivate(&conn, &ac).await.unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_nothing_left(&rig.keep()).await;
        drop(daemon);
    })
    .await
}
