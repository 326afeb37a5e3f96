//! The one check of an isolated VPN connection while it is up, for every
//! VPN type: [`assert_isolated_and_working`]. What differs between the types
//! (the tunnel's kind and address, whether the profile routes everything,
//! the secrets that must show nowhere) is an [`Isolated`]; checks that
//! only one type has (wireguard-go's UDP socket, openconnect's
//! `--passwd-on-stdin`) stay in that type's test file.
//!
//! The rig is tests/src/openvpn.rs (wan, corp behind it, rootns cut off
//! from corp); the observers are iproute2, curl, getent, /etc/netns, /proc
//! and the daemon's log.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use zbus::Connection;

use crate::harness::*;
use crate::openvpn::*;
use crate::platform::*;
use crate::vpnpeers::{OC_NET_PREFIX, WG_CLIENT_ADDR, exposed_files_with, processes_mentioning};

/// What one VPN type's isolated connection looks like while it is up.
#[derive(Debug, Clone)]
pub struct Isolated {
    /// The tunnel's link kind: `tun`, or `wireguard` for the kernel's.
    pub kind: &'static str,
    /// Which address the tunnel must have, for messages.
    pub addr_wanted: String,
    /// Whether an address (`ADDR/LEN`) on the tunnel is that one.
    pub addr_ok: fn(&str) -> bool,
    /// The profile routes everything through the tunnel (WireGuard's
    /// AllowedIPs 0.0.0.0/0: the default route goes there); else the server
    /// pushes a route to corp, and nothing else is reachable.
    pub routes_everything: bool,
    /// Secrets of the profile: on no command line or environment, in no file
    /// others can read, not in the daemon's log.
    pub secrets: Vec<String>,
}

impl Isolated {
    /// OpenVPN against the rig's server: an address in 10.8.0.0/24.
    pub fn openvpn() -> Isolated {
        Isolated {
            kind: "tun",
            addr_wanted: format!("an address in {VPN_NET}"),
            addr_ok: |a| a.starts_with("10.8.0.") && a.ends_with("/24"),
            routes_everything: false,
            secrets: Vec::new(),
        }
    }

    /// WireGuard against the rig's peer: the profile's 10.66.0.2/24, on
    /// the kernel's interface or wireguard-go's tun.
    pub fn wireguard(kernel: bool, secrets: &[&str]) -> Isolated {
        Isolated {
            kind: if kernel { "wireguard" } else { "tun" },
            addr_wanted: format!("{WG_CLIENT_ADDR}/24"),
            addr_ok: |a| a == format!("{WG_CLIENT_ADDR}/24"),
            routes_everything: true,
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// OpenConnect against ocserv: an address the gateway hands out.
    pub fn openconnect(password: &str) -> Isolated {
        Isolated {
            kind: "tun",
            addr_wanted: format!("an address the gateway gave ({OC_NET_PREFIX}x)"),
            addr_ok: |a| a.starts_with(OC_NET_PREFIX),
            routes_everything: false,
            secrets: vec![password.to_owned()],
        }
    }
}

/// Everything that must hold while an isolated VPN connection `ac` into
/// `ns` is up: the active connection lives in `ns`; `ns` holds only lo and
/// one tunnel of the expected kind with the expected address, and no client
/// tunnel is anywhere else; no route in `ns` goes around the tunnel, which
/// carries the way to corp (and, where the profile routes everything, the
/// default route); `/etc/netns/NS/resolv.conf` has corp's DNS and domain; a
/// process in `ns` fetches the intranet's page by name and resolves its
/// short name; rootns still cannot reach corp; the secrets show nowhere.
/// Returns the tunnel's name.
pub async fn assert_isolated_and_working(
    conn: &Connection,
    rig: &OpenVpnRig,
    daemon: &Daemon,
    ns: &str,
    ac: &str,
    vpn: &Isolated,
) -> String {
    // The active connection lives in the isolated namespace.
    let ns_path = wait_ns_on_bus(conn, ns, Duration::from_secs(1)).await;
    assert_eq!(
        active_proxy(conn, ac)
            .await
            .network_namespace()
            .await
            .unwrap()
            .to_string(),
        ns_path,
        "Connection.Active.NetworkNamespace"
    );
    assert!(
        ip_netns_list().await.iter().any(|n| n == ns),
        "`ip netns list` lacks {ns}"
    );

    // Only lo and the tunnel, which has the expected address; no client
    // tunnel anywhere else.
    let links = brief_links(ns).await;
    let tuns = links_of_kinds(ns, &[vpn.kind]).await;
    assert_eq!(tuns.len(), 1, "one {} tunnel in {ns}: {links:?}", vpn.kind);
    let tun = tuns[0].clone();
    assert_eq!(
        links.iter().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(["lo".to_owned(), tun.clone()]),
        "{ns} must hold only lo and the tunnel"
    );
    let addrs = ip_addrs(ns, &tun).await;
    assert!(
        addrs.iter().any(|a| (vpn.addr_ok)(a)),
        "{tun} lacks {}: {addrs:?}",
        vpn.addr_wanted
    );
    assert_eq!(
        client_tuns().await,
        BTreeMap::from([(ns.to_owned(), vec![tun.clone()])]),
        "the client's tunnel must be in {ns} and nowhere else"
    );

    // No route around the tunnel; corp (and, if the profile routes
    // everything, the rest) through it.
    let routes = all_routes(ns).await;
    for r in &routes {
        let dev = route_dev(r);
        assert!(
            dev == Some("lo") || dev == Some(tun.as_str()) || route_is_dead_end(r),
            "route in {ns} that bypasses the tunnel: {r:?}\nall routes:\n{}",
            routes.join("\n")
        );
    }
    let get = ip_ns(ns, &["route", "get", INTRANET_ADDR]).await.ok();
    assert_eq!(
        route_dev(&get.stdout),
        Some(tun.as_str()),
        "the way to {CORP_NET}: {get}"
    );
    let get = ip_ns(ns, &["route", "get", SERVER_ADDR]).await;
    if vpn.routes_everything {
        let default = ip_ns(ns, &["-4", "route", "show", "default"]).await.ok();
        assert_eq!(
            route_dev(&default.stdout),
            Some(tun.as_str()),
            "{ns}'s default route: {default}"
        );
        assert!(get.success(), "{get}");
        assert_eq!(route_dev(&get.stdout), Some(tun.as_str()), "{get}");
    } else {
        assert!(
            routes
                .iter()
                .any(|r| r.starts_with(CORP_NET) && route_dev(r) == Some(tun.as_str())),
            "no pushed route to {CORP_NET} through {tun}:\n{}",
            routes.join("\n")
        );
        assert!(
            !get.success() || route_dev(&get.stdout) == Some(tun.as_str()),
            "{ns} reaches the internet around the tunnel: {get}"
        );
    }

    // The VPN's DNS, in the namespace's own resolv.conf.
    let resolv =
        std::fs::read_to_string(format!("{NETNS_ETC_DIR}/{ns}/resolv.conf")).unwrap_or_default();
    assert!(
        resolv
            .lines()
            .any(|l| l.split_whitespace().eq(["nameserver", CORP_DNS])),
        "/etc/netns/{ns}/resolv.conf has no `nameserver {CORP_DNS}`:\n{resolv}"
    );
    assert!(
        resolv.lines().any(|l| {
            let mut w = l.split_whitespace();
            matches!(w.next(), Some("search" | "domain")) && w.any(|d| d == CORP_DOMAIN)
        }),
        "/etc/netns/{ns}/resolv.conf does not search {CORP_DOMAIN}:\n{resolv}"
    );

    // A process in the namespace reaches the private host by name, through
    // the VPN's DNS; and by its short name through the search domain.
    let out = curl_in(ns, &intranet_url(), 10).await;
    assert!(
        out.success() && out.stdout.contains(INTRANET_TOKEN),
        "`ip netns exec {ns} curl {}` failed: {out}\n{}",
        intranet_url(),
        rig.logs()
    );
    let out = run(
        "ip",
        &["netns", "exec", ns, "getent", "ahostsv4", "intranet"],
    )
    .await;
    assert!(
        out.success() && out.stdout.contains(INTRANET_ADDR),
        "the search domain {CORP_DOMAIN} does not apply in {ns}: {out}"
    );

    // The sandbox's own namespace still cannot.
    rig.assert_rootns_cut_off().await;

    // The secrets: on no command line or environment, in no file anyone
    // but root can read, not in the daemon's log.
    if !vpn.secrets.is_empty() {
        let needles: Vec<&str> = vpn.secrets.iter().map(String::as_str).collect();
        for needle in &needles {
            let hits = processes_mentioning(needle);
            assert!(
                hits.is_empty(),
                "a secret is visible in /proc:\n{}",
                hits.join("\n")
            );
        }
        let exposed = exposed_files_with(
            &["/run", "/etc/netnsd", "/etc/netns", "/tmp"],
            &needles,
            // The checkout (sources, build products) holds the test's own
            // literals; it is not where a secret could leak to.
            &[rig.dir(), repo_root().as_path()],
        );
        assert!(
            exposed.is_empty(),
            "a secret is in files others can read: {exposed:?}"
        );
        let log = daemon.log_text();
        assert!(
            !needles.iter().any(|n| log.contains(n)),
            "the daemon logged a secret"
        );
    }
    tun
}
