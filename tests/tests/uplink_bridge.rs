//! Veth uplinks in the bridge topology (the default; `netnsd
//! --uplink-topology bridge`, NETNSD_UPLINK_TOPOLOGY=bridge; issue 18 item 4): the host ends are
//! isolated ports of a bridge (nsbr0 for the first 512), which holds the
//! gateway's addresses;
//! no IPv6 on the ports, so no route per uplink in rootns. What must hold:
//! the namespaces reach wan through NAT over both families, reach each
//! other only through rootns's routing, cannot take each other's MAC or
//! addresses, and leave nothing behind (no port, neighbour entry, bridge or
//! NAT table), also across a daemon crash; and a restart with the other
//! topology changes no uplink.
//!
//! iproute2 (`ip -d link`, `ip neigh`, `bridge fdb`), nft and /proc/sys are
//! the observers; curl and ping carry real traffic; python3 sends the forged
//! frames.

use std::collections::BTreeSet;
use std::time::Duration;

use netnsd_tests::wan::*;
use netnsd_tests::*;
use zbus::wire::Variant;

const TOPOLOGY: (&str, &str) = ("NETNSD_UPLINK_TOPOLOGY", "bridge");

async fn start_bridged() -> Daemon {
    Daemon::start_with_env(&[TOPOLOGY]).await
}

/// The addresses of bridged slot N (N < 512, on nsbr0): the namespace's
/// IPv4 (in the bridge's /21) and IPv6 (/128 of the pool's first /64), as
/// CIDR.
fn bridged_addrs(n: u32) -> (String, String) {
    assert!(n < 512, "slot {n} is not on nsbr0");
    (
        format!("10.231.{}.{}/21", (4 * n + 2) >> 8, (4 * n + 2) & 0xff),
        format!("fd6e:6574:6e73::{:x}/128", 4 * n + 2),
    )
}

/// uplink0's MAC in namespace `ns`.
async fn uplink_mac(ns: &str) -> String {
    let l = must(ip_link(ns, UPLINK_IF).await, &format!("no uplink0 in {ns}"));
    l["address"].as_str().expect("uplink0 has a MAC").to_owned()
}

/// nsbr0's permanent neighbour entries: (address, MAC).
async fn bridge_neighbours() -> BTreeSet<(String, String)> {
    let out = ip(&["-j", "neigh", "show", "dev", BRIDGE_IF, "nud", "permanent"])
        .await
        .ok();
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("ip -j neigh");
    v.as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n["dst"].as_str().unwrap_or_default().to_owned(),
                n["lladdr"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The bridge ports `bridge fdb` shows MAC `mac` on.
async fn fdb_ports(mac: &str) -> BTreeSet<String> {
    let out = run("bridge", &["-j", "fdb", "show", "br", BRIDGE_IF])
        .await
        .ok();
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("bridge -j fdb");
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["mac"].as_str() == Some(mac))
        .filter_map(|e| e["ifname"].as_str().map(str::to_owned))
        .collect()
}

/// Asserts namespace `ns`'s uplink is a bridged one of its slot: the host
/// end an isolated, non-learning port of nsbr0 with IPv6 off and no route
/// in rootns, uplink0's MAC its static FDB entry and the neighbour entry of
/// both of its addresses, the namespace's addresses and default routes.
async fn assert_bridged(ns: &str) -> VethUplink {
    let u = veth_uplink(ns).await;
    let (n4, n6) = bridged_addrs(u.slot);
    assert_eq!(u.ns_addrs, BTreeSet::from([n4.clone(), n6.clone()]), "{ns}");
    assert!(u.host_addrs.is_empty(), "{}: {:?}", u.host_if, u.host_addrs);
    let (d4, d6) = default_routes(ns).await;
    assert!(
        d4.contains(&format!("default via 10.231.0.1 dev {UPLINK_IF}")),
        "{ns}: {d4:?}"
    );
    assert!(
        d6.contains(&format!("default via fe80::1 dev {UPLINK_IF}")),
        "{ns}: {d6:?}"
    );
    let port = must(ip_link(ROOT_NS_NAME, &u.host_if).await, &u.host_if);
    assert_eq!(port["master"], BRIDGE_IF, "{port}");
    assert_eq!(port["linkinfo"]["info_slave_kind"], "bridge", "{port}");
    let data = &port["linkinfo"]["info_slave_data"];
    assert_eq!(data["isolated"], true, "{} not isolated: {port}", u.host_if);
    assert_eq!(data["learning"], false, "{} learns: {port}", u.host_if);
    let v6off = std::fs::read_to_string(format!(
        "/proc/sys/net/ipv6/conf/{}/disable_ipv6",
        u.host_if
    ))
    .unwrap();
    assert_eq!(v6off.trim(), "1", "IPv6 on port {}", u.host_if);
    let routes = ip(&["-6", "route", "show", "table", "all", "dev", &u.host_if])
        .await
        .stdout;
    assert_eq!(routes.trim(), "", "IPv6 routes of port {}", u.host_if);
    let mac = uplink_mac(ns).await;
    assert_eq!(fdb_ports(&mac).await, BTreeSet::from([u.host_if.clone()]));
    let neigh = bridge_neighbours().await;
    for a in [&n4, &n6] {
        let addr = a.split('/').next().unwrap().to_owned();
        assert!(
            neigh.contains(&(addr.clone(), mac.clone())),
            "no permanent neighbour {addr} → {mac} on {BRIDGE_IF}: {neigh:?}"
        );
    }
    u
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridged_uplinks_reach_wan_and_each_other_only_through_rootns() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        set_sysctl(&format!("net.ipv4.conf.{WAN_HOST_IF}.forwarding"), "0");
        let sysctls_before = forwarding_sysctls();
        let _daemon = start_bridged().await;
        let conn = system_conn().await;
        add_veth_ns(&conn, "br-a").await;
        add_veth_ns(&conn, "br-b").await;
        let a = assert_bridged("br-a").await;
        let b = assert_bridged("br-b").await;
        assert_ne!(a.slot, b.slot);

        // The bridge holds the gateway's addresses, once for all.
        assert_eq!(
            ip_addrs(ROOT_NS_NAME, BRIDGE_IF).await,
            BTreeSet::from([
                "10.231.0.1/21".to_owned(),
                "fd6e:6574:6e73::1/64".to_owned(),
                "fe80::1/64".to_owned()
            ])
        );
        // One NAT element: the bridge, not a host end per namespace.
        let sets = nft_sets().await;
        assert_eq!(
            sets.get("hostifs"),
            Some(&BTreeSet::from([BRIDGE_IF.to_owned()])),
            "{sets:?}"
        );

        // To wan, masqueraded, both families.
        assert_fetched(&curl_web("br-a").await, "br-a");
        assert_eq!(wan.http_clients(), BTreeSet::from([HOST_V4.to_owned()]));
        let p = ping_until_answered("br-b", &["-6", WAN_V6]).await;
        assert!(p.success(), "ping -6 {WAN_V6} from br-b: {p}");

        // To each other, both families, through rootns: br-a's neighbour
        // for br-b's address is the bridge (proxy ARP for the isolated
        // port), never br-b's own MAC.
        let (b4, b6) = bridged_addrs(b.slot);
        let b4 = b4.split('/').next().unwrap().to_owned();
        let b6 = b6.split('/').next().unwrap().to_owned();
        let p = ping_until_answered("br-a", &["-4", &b4]).await;
        assert!(p.success(), "br-a → br-b {b4}: {p}");
        let p = ping_until_answered("br-a", &["-6", &b6]).await;
        assert!(p.success(), "br-a → br-b {b6}: {p}");
        let bridge_mac = must(ip_link(ROOT_NS_NAME, BRIDGE_IF).await, BRIDGE_IF)["address"]
            .as_str()
            .unwrap()
            .to_owned();
        let n = ip_ns("br-a", &["neigh", "show", &b4]).await.ok().stdout;
        assert!(n.contains(&bridge_mac), "br-a's neighbour {b4}: {n}");
        assert!(!n.contains(&uplink_mac("br-b").await), "{n}");

        // br-a goes: its port and neighbour entries with it; br-b stays up.
        remove_ns(&conn, "br-a").await;
        let (a4, _) = bridged_addrs(a.slot);
        let a4 = a4.split('/').next().unwrap().to_owned();
        wait_for(
            Duration::from_secs(10),
            "br-a's neighbour entries to go",
            || {
                let a4 = a4.clone();
                async move {
                    let n = bridge_neighbours().await;
                    (n.len() == 2 && !n.iter().any(|(addr, _)| *addr == a4)).then_some(())
                }
            },
        )
        .await;
        assert_nothing_left(
            &wan.keep()
                .ns("br-b")
                .host_end(&b.host_if)
                .host_end(BRIDGE_IF),
        )
        .await;
        assert_fetched(&curl_web("br-b").await, "br-b");

        // The last goes: the bridge and the NAT table too, and forwarding
        // is put back.
        remove_ns(&conn, "br-b").await;
        assert_nothing_left(&wan.keep()).await;
        assert_eq!(forwarding_sysctls(), sysctls_before);
    })
    .await
}

/// Sends, from namespace `ns`, raw frames that claim `victim_ip` (IPv4) and
/// come from `victim_mac`: a gratuitous ARP reply with the sender's own MAC,
/// and an ARP request with the victim's MAC as source (to teach a learning
/// bridge the victim's MAC on this port).
async fn forge(ns: &str, victim_ip: &str, victim_mac: &str) -> Out {
    let script = r#"
import socket, sys
ip, victim = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("uplink0", 0))
own = s.getsockname()[4]
addr = socket.inet_aton(ip)
def arp(src, op, sha):
    return (b"\xff" * 6 + src + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04"
            + op + sha + addr + b"\xff" * 6 + addr)
for _ in range(3):
    s.send(arp(own, b"\x00\x02", own))
    s.send(arp(victim, b"\x00\x01", victim))
"#;
    in_ns(ns, &["python3", "-c", script, victim_ip, victim_mac]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_cannot_take_anothers_address_or_mac_behind_the_bridge() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let _daemon = start_bridged().await;
        let conn = system_conn().await;
        add_veth_ns(&conn, "br-x").await;
        add_veth_ns(&conn, "br-v").await;
        let _x = assert_bridged("br-x").await;
        let v = assert_bridged("br-v").await;
        let v_mac = uplink_mac("br-v").await;
        let (v4, _) = bridged_addrs(v.slot);
        let v4 = v4.split('/').next().unwrap().to_owned();
        let neigh_before = bridge_neighbours().await;

        forge("br-x", &v4, &v_mac).await.ok();
        tokio::time::sleep(Duration::from_millis(300)).await;

        // rootns still sends br-v's traffic to br-v: its neighbour entries
        // are unchanged and its MAC is on its own port only.
        assert_eq!(bridge_neighbours().await, neigh_before);
        assert_eq!(fdb_ports(&v_mac).await, BTreeSet::from([v.host_if.clone()]));
        let p = ping(ROOT_NS_NAME, 2, &["-4", &v4]).await;
        assert!(p.success(), "rootns → br-v after the forgery: {p}");
        assert_fetched(&curl_web("br-v").await, "br-v");

        remove_ns(&conn, "br-x").await;
        remove_ns(&conn, "br-v").await;
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridged_uplinks_survive_a_crash_and_what_died_meanwhile_is_cleaned() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let daemon = start_bridged().await;
        let conn = system_conn().await;
        add_veth_ns(&conn, "br-c1").await;
        add_veth_ns(&conn, "br-c2").await;
        let c1 = assert_bridged("br-c1").await;
        let c2 = assert_bridged("br-c2").await;

        daemon.kill9().await;
        // br-c2 goes while no daemon runs: its port dies with it, its
        // neighbour entries stay on the bridge until the next start.
        ip(&["netns", "del", "br-c2"]).await.ok();
        wait_for(Duration::from_secs(10), "br-c2's port to go", || async {
            ip_link(ROOT_NS_NAME, &c2.host_if)
                .await
                .is_none()
                .then_some(())
        })
        .await;
        assert_eq!(bridge_neighbours().await.len(), 4);

        let _daemon = start_bridged().await;
        let conn = system_conn().await;
        wait_ns_on_bus(&conn, "br-c1", WATCH_TIMEOUT).await;
        wait_for(
            Duration::from_secs(10),
            "br-c2's neighbours to go",
            || async { (bridge_neighbours().await.len() == 2).then_some(()) },
        )
        .await;
        assert_eq!(&assert_bridged("br-c1").await, &c1);
        assert_fetched(&curl_web("br-c1").await, "br-c1");
        // The live one's slot stays taken.
        add_veth_ns(&conn, "br-c3").await;
        let c3 = assert_bridged("br-c3").await;
        assert_ne!(c3.slot, c1.slot);

        remove_ns(&conn, "br-c1").await;
        remove_ns(&conn, "br-c3").await;
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}

/// A daemon restarted with the other topology keeps the uplinks it finds,
/// and new ones through the same uplink namespace follow them (routed host
/// ends and a bridge there would both hold the pool's first address) until
/// none is left; then the option decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_uplinks_follow_the_topology_already_in_their_uplink_namespace() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let daemon = Daemon::start_with_env(&[("NETNSD_UPLINK_TOPOLOGY", "routed")]).await;
        let conn = system_conn().await;
        add_veth_ns(&conn, "br-old").await;
        daemon.stop().await;

        let _daemon = start_bridged().await;
        let conn = system_conn().await;
        wait_ns_on_bus(&conn, "br-old", WATCH_TIMEOUT).await;
        // The routed one still works after the restart.
        assert_fetched(&curl_web("br-old").await, "br-old");
        // A new one through rootns is routed too: a /30 on its host end, no
        // bridge.
        add_veth_ns(&conn, "br-new").await;
        let u = veth_uplink("br-new").await;
        assert!(
            u.host_addrs.iter().any(|a| a.ends_with("/30")),
            "br-new's host end: {u:?}"
        );
        assert!(ip_link(ROOT_NS_NAME, BRIDGE_IF).await.is_none());
        assert_fetched(&curl_web("br-new").await, "br-new");

        // Once the routed ones are gone, the option decides: bridged.
        remove_ns(&conn, "br-old").await;
        remove_ns(&conn, "br-new").await;
        add_veth_ns(&conn, "br-3").await;
        assert_bridged("br-3").await;
        assert_fetched(&curl_web("br-3").await, "br-3");
        remove_ns(&conn, "br-3").await;
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_513th_uplink_gets_a_second_bridge_with_a_subnet_of_its_own() {
    let _env = TestEnv::new();
    // 513 creates and removals over the bus: more than one slow step.
    timed_within(Duration::from_secs(300), async {
        let wan = Wan::start().await;
        // The default topology: no option given.
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let names: Vec<String> = (0..513).map(|i| format!("m{i}")).collect();
        for n in &names {
            ctl.add_network_namespace_with_options(
                n,
                options(vec![("uplink", Variant::from("veth"))]),
            )
            .await
            .unwrap_or_else(|e| panic!("add {n}: {e:?}"));
        }
        let last = veth_uplink("m512").await;
        assert_eq!(last.slot, 512, "{last:?}");
        let port = must(ip_link(ROOT_NS_NAME, &last.host_if).await, &last.host_if);
        assert_eq!(port["master"], "nsbr1", "{port}");
        assert_eq!(
            last.ns_addrs,
            BTreeSet::from([
                "10.231.8.2/21".to_owned(),
                "fd6e:6574:6e73:1::2/128".to_owned()
            ])
        );
        assert_eq!(
            ip_addrs(ROOT_NS_NAME, "nsbr1").await,
            BTreeSet::from([
                "10.231.8.1/21".to_owned(),
                "fd6e:6574:6e73:1::1/64".to_owned(),
                "fe80::1/64".to_owned()
            ])
        );
        let sets = nft_sets().await;
        assert_eq!(
            sets.get("hostifs"),
            Some(&BTreeSet::from(["nsbr0".to_owned(), "nsbr1".to_owned()])),
            "{sets:?}"
        );
        let p = ping_until_answered("m512", &["-4", WAN_V4]).await;
        assert!(p.success(), "m512 → wan: {p}");
        let p = ping_until_answered("m512", &["-6", WAN_V6]).await;
        assert!(p.success(), "m512 → wan over IPv6: {p}");
        // The first bridge's namespaces reach the second's through rootns.
        let p = ping_until_answered("m0", &["-4", "10.231.8.2"]).await;
        assert!(p.success(), "m0 → m512: {p}");

        // The second bridge goes with its only port; the first stays.
        ctl.remove_network_namespace("m512").await.unwrap();
        wait_for(Duration::from_secs(10), "nsbr1 to go", || async {
            ip_link(ROOT_NS_NAME, "nsbr1").await.is_none().then_some(())
        })
        .await;
        assert!(ip_link(ROOT_NS_NAME, BRIDGE_IF).await.is_some());
        let p = ping("m511", 2, &["-4", WAN_V4]).await;
        assert!(p.success(), "m511 → wan: {p}");

        for n in &names[..512] {
            ctl.remove_network_namespace(n)
                .await
                .unwrap_or_else(|e| panic!("remove {n}: {e:?}"));
        }
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}
