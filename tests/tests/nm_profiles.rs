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
