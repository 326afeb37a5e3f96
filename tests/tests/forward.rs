//! Port forwards (issue 16, item 3): AddForward / RemoveForward /
//! GetForwards and `nsctl forward`, with real TCP and UDP traffic over IPv4
//! and IPv6 from `wan` (standing for another machine on the LAN) and from the
//! host itself to a server inside the namespace; nft as the observer; gone
//! with the forward, the uplink, the namespace; kept across a crash.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use netnsd_tests::wan::*;
use netnsd_tests::*;
use zbus::wire::Variant;

/// TCP and UDP on PORT (both families), answering "TAG PROTO PEER".
const SERVER: &str = r#"
import socket, sys, threading
port = int(sys.argv[1]); tag = sys.argv[2].encode()
def udp():
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        d, a = s.recvfrom(100)
        s.sendto(tag + b" udp " + a[0].encode(), a)
threading.Thread(target=udp, daemon=True).start()
t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("::", port)); t.listen(8)
while True:
    c, a = t.accept(); c.sendall(tag + b" tcp " + a[0].encode()); c.close()
"#;

/// PROTO HOST PORT: one exchange, printing the answer; fails after 3 s.
const CLIENT: &str = r#"
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
if proto == "tcp":
    s = socket.create_connection((host, port), timeout=3)
    print(s.recv(200).decode())
else:
    s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(b"ping", (host, port)); print(s.recv(200).decode())
"#;

const TAG: &str = "fwd-server-5e1c";
const INNER_PORT: &str = "80";

/// One exchange from namespace `from` (rootns: the host itself).
async fn exchange(from: &str, proto: &str, host: &str, port: u16) -> Out {
    let args = [PYTHON, "-c", CLIENT, proto, host, &port.to_string()];
    if from == ROOT_NS_NAME {
        run(args[0], &args[1..]).await
    } else {
        in_ns(from, &args).await
    }
}

#[track_caller]
fn assert_reached(out: &Out, proto: &str, peer: &str) {
    assert!(out.success(), "no answer through the forward: {out}");
    let line = out.stdout.trim();
    assert!(
        line.starts_with(&format!("{TAG} {proto} ")) && line.ends_with(peer),
        "the namespace's server should answer {proto} and see {peer}: {out}"
    );
}

fn fwd(proto: &str, host_port: u32, port: u32) -> HashMap<&'static str, Variant<'static>> {
    HashMap::from([
        ("proto", Variant::from(proto.to_owned())),
        ("host-port", Variant::from(host_port)),
        ("port", Variant::from(port)),
    ])
}

async fn start_server(ns: &str) -> tokio::process::Child {
    let child = tokio::process::Command::new("ip")
        .args(["netns", "exec", ns, PYTHON, "-c", SERVER, INNER_PORT, TAG])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    wait_for(
        Duration::from_secs(10),
        "the server in the namespace",
        || async {
            exchange(ns, "tcp", "127.0.0.1", 80)
                .await
                .success()
                .then_some(())
        },
    )
    .await;
    child
}

/// The DNAT rules of table inet netnsd, as `nft list` prints them.
async fn dnat_rules() -> Vec<String> {
    let out = run("nft", &["list", "table", "inet", NFT_TABLE]).await;
    out.stdout
        .lines()
        .filter(|l| l.contains("dnat"))
        .map(|l| l.trim().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_reach_a_server_in_the_namespace_over_tcp_udp_v4_v6() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_veth_ns(&conn, "fw-app").await;
        let u = veth_uplink("fw-app").await;
        let ns_v4 = u.ns_v4();
        let ns_v6 = u
            .ns_addrs
            .iter()
            .find(|a| a.contains(':'))
            .map(|a| a.split('/').next().unwrap().to_owned())
            .expect("uplink0 has IPv6");
        let mut server = start_server("fw-app").await;

        // No forward yet: nothing answers on the host's port.
        assert!(!exchange(WAN_NS, "tcp", HOST_V4, 8080).await.success());

        let out = nsctl(
            None,
            &[
                "forward",
                "add",
                "fw-app",
                "--proto",
                "tcp",
                "--host-port",
                "8080",
                "--port",
                "80",
            ],
        )
        .await
        .ok();
        let tcp_id: u32 = out.stdout.trim().parse().expect("an id");
        let out = nsctl(
            None,
            &[
                "forward",
                "add",
                "fw-app",
                "--proto",
                "udp",
                "--host-port",
                "5353",
                "--port",
                "80",
            ],
        )
        .await
        .ok();
        let udp_id: u32 = out.stdout.trim().parse().expect("an id");
        assert_ne!(tcp_id, udp_id);

        // nft, the observer: DNAT to the namespace's uplink addresses, both
        // families, from outside (prerouting) and from the host (output).
        let rules = dnat_rules().await;
        for want in [
            format!("tcp dport 8080 dnat ip to {ns_v4}:80"),
            format!("tcp dport 8080 dnat ip6 to [{ns_v6}]:80"),
            format!("udp dport 5353 dnat ip to {ns_v4}:80"),
            format!("udp dport 5353 dnat ip6 to [{ns_v6}]:80"),
        ] {
            assert_eq!(
                rules.iter().filter(|r| r.ends_with(&want)).count(),
                2,
                "{want:?} in prerouting and output: {rules:#?}"
            );
        }

        // From another machine (wan), the client's address preserved.
        assert_reached(&exchange(WAN_NS, "tcp", HOST_V4, 8080).await, "tcp", WAN_V4);
        assert_reached(&exchange(WAN_NS, "udp", HOST_V4, 5353).await, "udp", WAN_V4);
        assert_reached(&exchange(WAN_NS, "tcp", HOST_V6, 8080).await, "tcp", WAN_V6);
        assert_reached(&exchange(WAN_NS, "udp", HOST_V6, 5353).await, "udp", WAN_V6);
        // From the host itself, to its own address.
        assert_reached(
            &exchange(ROOT_NS_NAME, "tcp", HOST_V4, 8080).await,
            "tcp",
            HOST_V4,
        );
        assert_reached(
            &exchange(ROOT_NS_NAME, "udp", HOST_V6, 5353).await,
            "udp",
            HOST_V6,
        );

        // Listed, over the bus and by nsctl.
        let inst = instance(&conn, &path).await;
        let list = inst.get_forwards().await.unwrap();
        assert_eq!(list.len(), 2, "{list:?}");
        let out = nsctl(None, &["--json", "forward", "list", "fw-app"])
            .await
            .ok();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
        assert_eq!(v.as_array().map(Vec::len), Some(2), "{out}");
        assert_eq!(v[0]["id"], tcp_id);
        assert_eq!(v[0]["proto"], "tcp");
        assert_eq!(v[0]["host_port"], 8080);
        assert_eq!(v[0]["port"], 80);
        assert_eq!(v[0]["address"], ns_v4.as_str());
        let out = nsctl(None, &["forward", "list"]).await.ok();
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with("fw-app ") && l.contains("8080")),
            "{out}"
        );

        // Refused, typed, and nothing changes.
        let (name, msg) = err_name(inst.add_forward(fwd("tcp", 8080, 81)).await);
        assert_eq!(name, "AlreadyExists", "{msg}");
        assert!(msg.contains("fw-app"), "{msg}");
        for (bad, key) in [
            (fwd("tcp", 0, 80), "host-port"),
            (fwd("tcp", 70000, 80), "host-port"),
            (fwd("tcp", 8081, 65536), "port"),
            (fwd("sctp", 8081, 80), "proto"),
        ] {
            let (name, msg) = err_name(inst.add_forward(bad).await);
            assert_eq!(name, "InvalidArgument", "{msg}");
            assert!(msg.contains(key), "{msg}");
        }
        let mut loopback = fwd("tcp", 8082, 80);
        loopback.insert("host-address", Variant::from("127.0.0.1"));
        let (name, _) = err_name(inst.add_forward(loopback).await);
        assert_eq!(name, "InvalidArgument");
        let (name, _) = err_name(inst.remove_forward(9999).await);
        assert_eq!(name, "NotFound");
        let bare = add_ns(&conn, "fw-bare").await;
        let (name, msg) = err_name(
            instance(&conn, &bare)
                .await
                .add_forward(fwd("tcp", 8083, 80))
                .await,
        );
        assert_eq!(name, "NotFound", "{msg}");
        assert!(msg.contains("uplink"), "{msg}");
        nsctl(
            None,
            &[
                "forward",
                "add",
                "fw-app",
                "--proto",
                "tcp",
                "--host-port",
                "70000",
            ],
        )
        .await
        .failed();
        assert_eq!(inst.get_forwards().await.unwrap().len(), 2);
        assert_eq!(dnat_rules().await.len(), 8);

        // A crash keeps them: the journal has them, the restarted daemon
        // declares the table with them.
        daemon.kill9().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        // (Numbers are handed out afresh at start: look it up by name.)
        let path = controller(&conn)
            .await
            .get_network_namespace_by_name("fw-app")
            .await
            .unwrap();
        let inst = instance(&conn, path.as_str()).await;
        assert_eq!(inst.get_forwards().await.unwrap().len(), 2);
        assert_eq!(dnat_rules().await.len(), 8, "{:#?}", dnat_rules().await);
        assert_reached(&exchange(WAN_NS, "tcp", HOST_V4, 8080).await, "tcp", WAN_V4);

        // Removing one takes its rules; the other still works.
        nsctl(None, &["forward", "del", "fw-app", &tcp_id.to_string()])
            .await
            .ok();
        assert!(dnat_rules().await.iter().all(|r| !r.contains("8080")));
        assert!(!exchange(WAN_NS, "tcp", HOST_V4, 8080).await.success());
        assert_reached(&exchange(WAN_NS, "udp", HOST_V4, 5353).await, "udp", WAN_V4);

        // The namespace's deletion takes the rest.
        server.kill().await.unwrap();
        let _ = server.wait().await;
        let ctl = controller(&conn).await;
        ctl.remove_network_namespace("fw-app").await.unwrap();
        ctl.remove_network_namespace("fw-bare").await.unwrap();
        assert_eq!(dnat_rules().await, Vec::<String>::new());
        assert_nothing_left(&wan.keep()).await;
        drop(daemon);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_go_with_the_uplink() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_veth_ns(&conn, "fw-up").await;
        let inst = instance(&conn, &path).await;
        let mut only_v4 = fwd("udp", 6000, 60);
        only_v4.insert("host-address", Variant::from(HOST_V4));
        // A user polkit does not authorize opens no port of the host.
        let out = nsctl(
            Some(PLAIN_UID),
            &[
                "forward",
                "add",
                "fw-up",
                "--proto",
                "udp",
                "--host-port",
                "6001",
            ],
        )
        .await;
        assert_eq!(out.code(), Some(5), "refused by polkit (exit 5): {out}");
        assert_eq!(dnat_rules().await, Vec::<String>::new());
        inst.add_forward(only_v4).await.unwrap();
        let rules = dnat_rules().await;
        assert_eq!(
            rules.len(),
            2,
            "IPv4 only, for an IPv4 host address: {rules:#?}"
        );
        assert!(
            rules
                .iter()
                .all(|r| r.contains(&format!("ip daddr {HOST_V4}"))),
            "{rules:#?}"
        );

        inst.clear_uplink().await.unwrap();
        assert_eq!(dnat_rules().await, Vec::<String>::new());
        assert!(inst.get_forwards().await.unwrap().is_empty());
        controller(&conn)
            .await
            .remove_network_namespace("fw-up")
            .await
            .unwrap();
        assert_nothing_left(&wan.keep()).await;
    })
    .await;
}
