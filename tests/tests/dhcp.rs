//! DHCP on macvlan uplinks (issue 16, item 2): the `dhcp` option and
//! `nsctl add --dhcp` take address, gateway and DNS from a real dnsmasq
//! serving DHCP (and router advertisements, for SLAAC) on wan's side of
//! the `wan0` veth; the lease is released when the namespace goes; no
//! server gives a clean Timeout naming the parent and leaves nothing; a
//! crashed daemon's namespace keeps its address and the restarted daemon
//! takes the lease up again. iproute2, /etc/netns, dnsmasq's lease file and
//! log are the observers; ping carries the traffic.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use netnsd_tests::wan::*;
use netnsd_tests::*;
use zbus::wire::Variant;

const DIR: &str = "/run/netnsd-tests-dhcp";

/// dnsmasq in wan serving DHCP on eth0 (203.0.113.100–150, 2-minute
/// leases, router and DNS 203.0.113.1, domain lan.test) and RAs for
/// 2001:db8::/64; no DNS (port 0: wan's own dnsmasq has that).
struct DhcpServer {
    child: Child,
}

impl DhcpServer {
    fn start() -> DhcpServer {
        let _ = std::fs::remove_dir_all(DIR);
        std::fs::create_dir_all(DIR).unwrap();
        let log = std::fs::File::create(format!("{DIR}/dnsmasq.log")).unwrap();
        let child = std::process::Command::new("ip")
            .args(["netns", "exec", WAN_NS, "dnsmasq"])
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--port=0",
                "--interface=eth0",
                "--dhcp-range=203.0.113.100,203.0.113.150,255.255.255.0,2m",
                "--dhcp-range=2001:db8::,ra-only,64",
                "--enable-ra",
                "--dhcp-option=option:router,203.0.113.1",
                "--dhcp-option=option:dns-server,203.0.113.1",
                "--domain=lan.test",
                "--dhcp-authoritative",
                &format!("--dhcp-leasefile={DIR}/leases"),
                "--pid-file=",
                "--user=root",
                "--log-dhcp",
                "--log-facility=-",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dnsmasq");
        DhcpServer { child }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(format!("{DIR}/dnsmasq.log")).unwrap_or_default()
    }

    fn leases(&self) -> String {
        std::fs::read_to_string(format!("{DIR}/leases")).unwrap_or_default()
    }
}

impl Drop for DhcpServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("----- dhcp dnsmasq log -----\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dhcp_options() -> std::collections::HashMap<String, zbus::wire::OwnedVariant> {
    options(vec![
        ("uplink", Variant::from("macvlan")),
        ("uplink-parent", Variant::from(WAN_HOST_IF)),
        ("dhcp", Variant::from(true)),
    ])
}

/// The namespace's IPv4 address on uplink0, from iproute2.
async fn leased_v4(ns: &str) -> String {
    global_addrs(ns, UPLINK_IF)
        .await
        .into_iter()
        .find(|a| a.starts_with("203.0.113."))
        .unwrap_or_else(|| panic!("no IPv4 address on {ns}'s {UPLINK_IF}"))
}

/// The DhcpLease property, as busctl prints it (JSON).
async fn lease_property(path: &str) -> serde_json::Value {
    let out = busctl(
        None,
        &[
            "--json=short",
            "get-property",
            "net.netnsd.Netns1",
            path,
            "net.netnsd.Netns1.NetNsInstance",
            "DhcpLease",
        ],
    )
    .await
    .ok();
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    v["data"].clone()
}

/// What a bound lease must have done in namespace `ns`.
async fn assert_bound(ns: &str, path: &str) -> String {
    let addr = leased_v4(ns).await;
    let ip_only = addr.split('/').next().unwrap().to_owned();
    let last: u8 = ip_only.rsplit('.').next().unwrap().parse().unwrap();
    assert!(
        (100..=150).contains(&last) && addr.ends_with("/24"),
        "{addr}"
    );
    let (d4, _) = default_routes(ns).await;
    assert!(
        d4.contains(&format!("default via {WAN_V4} dev {UPLINK_IF}")),
        "{d4:?}"
    );
    let resolv = std::fs::read_to_string(format!("/etc/netns/{ns}/resolv.conf")).unwrap();
    assert!(resolv.contains(&format!("nameserver {WAN_V4}")), "{resolv}");
    assert!(resolv.contains("lan.test"), "{resolv}");
    let lease = lease_property(path).await;
    assert_eq!(lease["address"]["data"], addr.as_str(), "{lease}");
    assert_eq!(lease["server"]["data"], WAN_V4, "{lease}");
    assert_eq!(lease["lease-time"]["data"], 120, "{lease}");
    let p = ping(ns, 3, &["-c", "1", WAN_V4]).await;
    assert!(p.success(), "{p}");
    ip_only
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dhcp_uplink_takes_a_lease_from_dnsmasq_and_releases_it() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let server = DhcpServer::start();
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;

        let t = Instant::now();
        let path = add_with_options(&conn, "dh1", dhcp_options())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "AddNetworkNamespaceWithOptions dhcp: {e:?}\n{}",
                    server.log()
                )
            });
        eprintln!("bound in {:?}", t.elapsed());
        let ip_only = assert_bound("dh1", &path).await;
        assert!(server.leases().contains(&ip_only), "{}", server.leases());
        // IPv6 by SLAAC from dnsmasq's router advertisements.
        wait_for(
            Duration::from_secs(10),
            "a SLAAC address on uplink0",
            || async {
                global_addrs("dh1", UPLINK_IF)
                    .await
                    .into_iter()
                    .find(|a| a.starts_with("2001:db8::"))
            },
        )
        .await;

        let r = controller(&conn)
            .await
            .remove_network_namespace("dh1")
            .await
            .unwrap();
        assert_eq!(r, "Success");
        wait_for(
            Duration::from_secs(5),
            "dnsmasq to see the RELEASE",
            || async {
                (server.log().contains("DHCPRELEASE") && !server.leases().contains(&ip_only))
                    .then_some(())
            },
        )
        .await;
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dhcp_without_a_server_times_out_naming_the_parent_and_leaves_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let t = Instant::now();
        let (name, msg) = err_name(add_with_options(&conn, "dh2", dhcp_options()).await);
        let took = t.elapsed();
        assert_eq!(name, "Timeout", "{msg}");
        assert!(msg.contains(WAN_HOST_IF), "{msg}");
        assert!(
            took >= Duration::from_secs(9) && took < Duration::from_secs(15),
            "{took:?}"
        );
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_dhcp_lease_survives_a_crash_and_is_released_after() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let server = DhcpServer::start();
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let out = nsctl(
            None,
            &[
                "add",
                "dh3",
                "--uplink",
                "macvlan",
                "--uplink-parent",
                WAN_HOST_IF,
                "--dhcp",
            ],
        )
        .await
        .ok();
        let path = out.stdout.trim().to_owned();
        let ip_only = assert_bound("dh3", &path).await;
        let show = nsctl(None, &["show", "dh3"]).await.ok();
        assert!(
            show.stdout
                .contains(&format!("DHCP:       {ip_only}/24 from {WAN_V4}")),
            "{show}"
        );

        daemon.kill9().await;
        // The namespace keeps its address and route with no daemon.
        assert_eq!(
            leased_v4("dh3").await.split('/').next(),
            Some(ip_only.as_str())
        );
        let p = ping("dh3", 3, &["-c", "1", WAN_V4]).await;
        assert!(p.success(), "{p}");

        let _daemon = Daemon::start().await;
        let conn2 = system_conn().await;
        drop(conn);
        let path = wait_ns_on_bus(&conn2, "dh3", Duration::from_secs(5)).await;
        let lease = lease_property(&path).await;
        assert_eq!(
            lease["address"]["data"],
            format!("{ip_only}/24").as_str(),
            "{lease}"
        );
        nsctl(None, &["del", "dh3"]).await.ok();
        wait_for(
            Duration::from_secs(5),
            "dnsmasq to see the RELEASE",
            || async {
                (server.log().contains("DHCPRELEASE") && !server.leases().contains(&ip_only))
                    .then_some(())
            },
        )
        .await;
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}
