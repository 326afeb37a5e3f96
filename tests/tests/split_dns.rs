//! Split DNS (issue 16, item 1): a namespace with a veth uplink and its own
//! DNS gains an OpenVPN connection that is not isolated (the client runs in
//! that namespace, only the VPN's routes go through the tunnel). The server
//! pushes its DNS server and the domain corp.test; netnsd then runs a
//! forwarder (dnsmasq) inside the namespace: corp.test is asked of the VPN's
//! server through the tunnel, everything else of the uplink's server.
//!
//! The rig is the OpenVPN one (tests/src/openvpn.rs): the server in `wan`,
//! the private network `corp` behind it with dnsmasq on 10.99.0.53 answering
//! intranet.corp.test. The test adds the "internet" DNS server: a dnsmasq in
//! wan on 203.0.113.1 answering www.example, logging every query. The
//! observers: getent and dig inside the namespace, tcpdump on the uplink's
//! host end (every DNS packet that leaves by the uplink), the internet
//! server's query log, /proc, the namespace's resolv.conf.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use netnsd_api::state::active;
use netnsd_tests::openvpn::*;
use netnsd_tests::outage::Capture;
use netnsd_tests::wan::{add_with_options, options, strs, veth_uplink};
use netnsd_tests::*;
use zbus::wire::Variant as Value;

/// The namespace under test.
const NS: &str = "work";
/// The internet's DNS server (in wan, on the server's address) and the
/// name it answers.
const NET_DNS: &str = SERVER_ADDR;
const WWW_NAME: &str = "www.example";
const WWW_ADDR: &str = "203.0.113.80";
const NET_DNS_LOG: &str = "/run/netnsd-tests-openvpn/internet-dns.log";

/// A process the test started; killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The internet's DNS server: dnsmasq in wan on 203.0.113.1, answering
/// www.example and nothing else, logging the queries it gets.
async fn internet_dns() -> Proc {
    let _ = std::fs::remove_file(NET_DNS_LOG);
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", RIG_WAN_NS, "/usr/sbin/dnsmasq"])
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            &format!("--listen-address={NET_DNS}"),
            &format!("--address=/{WWW_NAME}/{WWW_ADDR}"),
            "--local=/example/",
            "--user=root",
            "--group=root",
            "--pid-file=",
            &format!("--log-facility={NET_DNS_LOG}"),
            "--log-queries",
        ])
        .stdin(Stdio::null())
        .spawn()
        .expect("start the internet's dnsmasq");
    let p = Proc(child);
    wait_for(
        Duration::from_secs(10),
        "the internet's DNS answers",
        || async {
            in_ns(
                RIG_WAN_NS,
                &[
                    "dig",
                    "+short",
                    "+time=1",
                    "+tries=1",
                    &format!("@{NET_DNS}"),
                    WWW_NAME,
                ],
            )
            .await
            .stdout
            .contains(WWW_ADDR)
            .then_some(())
        },
    )
    .await;
    p
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn resolv_conf() -> String {
    read(&format!("{NETNS_ETC_DIR}/{NS}/resolv.conf"))
}

/// The forwarders netnsd runs: pid and network namespace inode.
fn forwarders() -> Vec<(u32, Option<u64>)> {
    processes()
        .into_iter()
        .filter(|p| p.cmdline.contains("--conf-file=/run/netnsd/dnsmasq/"))
        .map(|p| (p.pid, p.net))
        .collect()
}

/// `getent ahostsv4 NAME` inside the namespace: the first address, if any.
async fn getent(name: &str) -> Option<String> {
    let out = in_ns(NS, &["getent", "ahostsv4", name]).await;
    out.stdout.split_whitespace().next().map(str::to_owned)
}

/// `dig +short NAME` inside the namespace (its resolv.conf).
async fn dig(name: &str) -> String {
    let out = in_ns(NS, &["dig", "+short", "+time=2", "+tries=2", name]).await;
    out.stdout.trim().to_owned()
}

/// The namespace with a veth uplink and the internet's DNS; its path.
async fn add_work_ns(conn: &zbus::Connection) -> String {
    add_with_options(
        conn,
        NS,
        options(vec![
            ("uplink", Value::from("veth")),
            ("dns", strs(&[NET_DNS])),
            ("dns-search", strs(&["example"])),
        ]),
    )
    .await
    .unwrap_or_else(|e| panic!("AddNetworkNamespaceWithOptions({NS:?}): {e:?}"))
}

/// Activates `profile` in the namespace at `ns_path` (not isolated) and
/// waits until it is activated.
async fn activate_in(
    conn: &zbus::Connection,
    log: &mut StateLog,
    ns_path: &str,
    profile: &str,
) -> String {
    let ac = ns_connections(conn, ns_path)
        .await
        .activate_connection(&op(profile), &op("/"), &op("/"))
        .await
        .unwrap_or_else(|e| panic!("ActivateConnection in {NS}: {e:?}"))
        .to_string();
    log.wait_state(&ac, active::ACTIVATED, VPN_UP_TIMEOUT).await;
    ac
}

/// The whole story: resolution split while the VPN is up, no query for the
/// VPN's domain by the uplink, everything put back after, nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpn_domains_go_to_the_vpn_and_the_rest_to_the_uplink() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let net_dns = internet_dns().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ns_path = add_work_ns(&conn).await;
        let uplink = veth_uplink(NS).await;
        let before = resolv_conf();
        assert!(
            before.contains(&format!("nameserver {NET_DNS}")),
            "{before}"
        );
        // Before the VPN: the internet's names only.
        assert_eq!(getent(WWW_NAME).await.as_deref(), Some(WWW_ADDR));
        assert_eq!(getent(INTRANET_NAME).await, None);

        // From here on, nothing for corp.test may reach the internet.
        let asked_before = read(NET_DNS_LOG).len();
        // tcpdump on the uplink (in rootns), every DNS packet, one per line.
        let cap = Capture::start(&uplink.host_if, &["port", "53"], "uplink-dns");
        let path = add_connection(&conn, &rig.profile("corp-split")).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_in(&conn, &mut log, &ns_path, &path).await;
        assert_eq!(
            active_proxy(&conn, &ac)
                .await
                .network_namespace()
                .await
                .unwrap()
                .as_str(),
            ns_path,
            "the VPN runs in {NS}"
        );

        // A forwarder runs inside the namespace, and resolv.conf names it.
        let fw = forwarders();
        let inode = netns_inode(NS);
        assert!(
            matches!(fw.as_slice(), [(_, Some(n))] if *n == inode),
            "one forwarder, inside {NS} (net:[{inode}]): {fw:?}"
        );
        let resolv = resolv_conf();
        assert!(resolv.contains("nameserver 127.0.0.1"), "{resolv}");
        assert!(!resolv.contains(NET_DNS), "{resolv}");
        assert!(
            resolv.lines().any(|l| l.starts_with("search")
                && l.contains(CORP_DOMAIN)
                && l.contains("example")),
            "{resolv}"
        );
        for f in ["work.conf", "work.servers", "work.pid"] {
            let p = Path::new(FORWARDER_DIR).join(f);
            wait_for(Duration::from_secs(5), &p.display().to_string(), || async {
                p.exists().then_some(())
            })
            .await;
        }
        let pid = read(&format!("{FORWARDER_DIR}/work.pid"));
        assert_eq!(
            pid.trim(),
            fw[0].0.to_string(),
            "the pid file names the forwarder"
        );
        let conf = read(&format!("{FORWARDER_DIR}/work.conf"));
        for line in ["no-resolv", "no-hosts", "listen-address=127.0.0.1"] {
            assert!(conf.lines().any(|l| l == line), "{line}:\n{conf}");
        }
        assert!(!conf.contains("dhcp-range"), "{conf}");

        // Both names resolve, each from its own server.
        assert_eq!(getent(INTRANET_NAME).await.as_deref(), Some(INTRANET_ADDR));
        assert_eq!(getent(WWW_NAME).await.as_deref(), Some(WWW_ADDR));
        assert_eq!(dig(INTRANET_NAME).await, INTRANET_ADDR);
        assert_eq!(dig(WWW_NAME).await, WWW_ADDR);
        // Short name through the search list (the VPN's domain).
        assert_eq!(getent("intranet").await.as_deref(), Some(INTRANET_ADDR));
        // On the bus (SplitDns) and in nsctl show.
        let show = nsctl(None, &["show", NS]).await.ok();
        assert!(
            show.stdout.contains("Split DNS:") && show.stdout.contains("corp.test via 10.99.0.53"),
            "{show}"
        );
        // And the intranet is reached by name, through the tunnel.
        let out = in_ns(
            NS,
            &[
                "curl",
                "-sS",
                "--noproxy",
                "*",
                "--max-time",
                "10",
                &intranet_url(),
            ],
        )
        .await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");

        // No query for the VPN's domain left by the uplink; the others did.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let seen = cap.so_far();
        assert!(
            seen.contains(&format!("A? {WWW_NAME}.")),
            "the capture on {} shows the uplink's queries:\n{seen}",
            uplink.host_if
        );
        assert!(
            !seen.contains(CORP_DOMAIN),
            "a query for {CORP_DOMAIN} left by the uplink:\n{seen}"
        );
        let asked = read(NET_DNS_LOG)[asked_before..].to_owned();
        assert!(asked.contains(&format!("query[A] {WWW_NAME}")), "{asked}");
        assert!(
            !asked.contains(CORP_DOMAIN),
            "the internet was asked:\n{asked}"
        );
        drop(cap);

        // A forwarder that dies is started again: the VPN's names keep
        // resolving (and never fall back to the uplink's server).
        let old = fw[0].0;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(old as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let again = wait_for(Duration::from_secs(5), "a new forwarder", || async {
            match forwarders().as_slice() {
                [(pid, Some(n))] if *pid != old && *n == inode => Some(*pid),
                _ => None,
            }
        })
        .await;
        assert_ne!(again, old);
        assert!(resolv_conf().contains("nameserver 127.0.0.1"));
        wait_for(Duration::from_secs(5), "the VPN's name again", || async {
            (getent(INTRANET_NAME).await.as_deref() == Some(INTRANET_ADDR)).then_some(())
        })
        .await;

        // Down: the forwarder stops, resolv.conf is the uplink's again.
        ns_connections(&conn, &ns_path)
            .await
            .deactivate_connection(&op(&ac))
            .await
            .unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_eq!(resolv_conf(), before);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !forwarders().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(forwarders(), [], "the forwarder stops with the VPN");
        let show = nsctl(None, &["show", NS]).await.ok();
        assert!(!show.stdout.contains("Split DNS"), "{show}");
        assert_eq!(dir_entries(FORWARDER_DIR), Vec::<String>::new());
        assert_eq!(getent(WWW_NAME).await.as_deref(), Some(WWW_ADDR));
        assert_eq!(getent(INTRANET_NAME).await, None);

        controller(&conn)
            .await
            .remove_network_namespace(NS)
            .await
            .unwrap();
        assert_nothing_left(&rig.keep().pid(net_dns.0.id())).await;
        drop(daemon);
        drop(net_dns);
    })
    .await
}

/// Removing the namespace while the VPN is up takes the forwarder with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_namespace_stops_its_forwarder() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let net_dns = internet_dns().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ns_path = add_work_ns(&conn).await;
        let path = add_connection(&conn, &rig.profile("corp-split-rm")).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_in(&conn, &mut log, &ns_path, &path).await;
        assert_eq!(forwarders().len(), 1);
        assert_eq!(getent(INTRANET_NAME).await.as_deref(), Some(INTRANET_ADDR));

        ns_connections(&conn, &ns_path)
            .await
            .deactivate_connection(&op(&ac))
            .await
            .ok();
        controller(&conn)
            .await
            .remove_network_namespace(NS)
            .await
            .unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_nothing_left(&rig.keep().pid(net_dns.0.id())).await;
    })
    .await
}

/// A daemon killed while the forwarder runs: the restarted one stops the
/// forwarder it left and puts the namespace's own DNS back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_after_a_crash_stops_the_forwarder_and_restores_dns() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let net_dns = internet_dns().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ns_path = add_work_ns(&conn).await;
        let before = resolv_conf();
        let path = add_connection(&conn, &rig.profile("corp-split-crash")).await;
        let mut log = StateLog::new(&conn).await;
        activate_in(&conn, &mut log, &ns_path, &path).await;
        assert_eq!(forwarders().len(), 1);
        assert!(resolv_conf().contains("nameserver 127.0.0.1"));

        daemon.kill9().await;
        // The forwarder outlives the daemon that started it.
        assert_eq!(forwarders().len(), 1);
        let daemon = Daemon::start().await;
        let ns_path = wait_ns_on_bus(&conn, NS, Duration::from_secs(5)).await;
        wait_for(Duration::from_secs(10), "the forwarder stopped", || async {
            forwarders().is_empty().then_some(())
        })
        .await;
        assert_eq!(resolv_conf(), before, "the uplink's DNS is back");
        assert_eq!(dir_entries(FORWARDER_DIR), Vec::<String>::new());
        assert_eq!(getent(WWW_NAME).await.as_deref(), Some(WWW_ADDR));
        // Its DnsServers property says so too.
        let servers = instance(&conn, &ns_path).await.dns_servers().await.unwrap();
        assert_eq!(servers, [NET_DNS.to_string()]);

        controller(&conn)
            .await
            .remove_network_namespace(NS)
            .await
            .unwrap();
        assert_nothing_left(&rig.keep().pid(net_dns.0.id())).await;
        drop(daemon);
    })
    .await
}
