//! Seed 001's routing pieces (issue 16, item 7) through nsctl, observed with
//! iproute2, nft and real traffic: a router namespace between a client and
//! a server, joined by point-to-point addresses on one side and a bridge
//! (with a port whose MTU is smaller) on the other; a MAC address set and
//! seen by the neighbour; TCP MSS clamping on the bridge, seen in the MSS
//! the server gets; GRE/IPIP/SIT tunnels, or NotSupported naming the
//! module where the kernel lacks them.

use std::time::Duration;

use netnsd_tests::*;
use serde_json::Value;

const INVALID_ARGUMENT: i32 = 6;
const NOT_SUPPORTED: i32 = 9;

async fn ok(args: &[&str]) -> Out {
    nsctl(None, args).await.ok()
}

fn json(out: &Out) -> Value {
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The MSS the server in s1b sees on one connection from s1a (Linux's
/// TCP_MAXSEG of the accepted socket: the peer's SYN MSS, less options).
async fn mss_seen(port: u16) -> u32 {
    let server = format!(
        "import socket\n\
         s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('10.62.0.2', {port})); s.listen(1); print('ready', flush=True)\n\
         c, _ = s.accept(); print(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), flush=True)\n"
    );
    let mut child = tokio::process::Command::new("ip")
        .args(["netns", "exec", "s1b", "python3", "-c", &server])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run python3 in s1b");
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    use tokio::io::AsyncBufReadExt;
    tokio::time::timeout(Duration::from_secs(10), out.read_line(&mut line))
        .await
        .expect("server ready")
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let client = format!(
        "import socket; c = socket.create_connection(('10.62.0.2', {port}), timeout=5); c.close()"
    );
    in_ns("s1a", &["python3", "-c", &client]).await.ok();
    line.clear();
    tokio::time::timeout(Duration::from_secs(10), out.read_line(&mut line))
        .await
        .expect("server saw the connection")
        .unwrap();
    let _ = child.wait().await;
    line.trim()
        .parse()
        .unwrap_or_else(|_| panic!("server printed {line:?}"))
}

async fn mss_table(ns: &str) -> Option<Value> {
    let out = in_ns(ns, &["nft", "-j", "list", "table", "inet", "netnsd-mss"]).await;
    out.success().then(|| json(&out))
}

fn mss_elements(table: &Value) -> Vec<String> {
    table["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["set"]["elem"].as_array())
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed001_router_with_peer_addresses_bridge_mac_and_mss_clamping() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        for ns in ["s1a", "s1r", "s1b"] {
            ok(&["add", ns]).await;
        }
        // a ── ar/ra (point to point) ── r ── rb ⊂ br0 (bridge) … br ── b
        ok(&[
            "link",
            "add",
            "veth",
            "ra",
            "--peer",
            "ar",
            "--peer-netns",
            "s1a",
            "-n",
            "s1r",
            "--up",
            "--peer-up",
        ])
        .await;
        ok(&[
            "link",
            "add",
            "veth",
            "rb",
            "--peer",
            "br",
            "--peer-netns",
            "s1b",
            "-n",
            "s1r",
            "--up",
            "--peer-up",
        ])
        .await;

        // Point-to-point addresses: a /32 each, the peer routed by the kernel.
        ok(&[
            "addr",
            "add",
            "10.61.0.1",
            "--dev",
            "ar",
            "-n",
            "s1a",
            "--peer",
            "10.61.0.2/32",
        ])
        .await;
        ok(&[
            "addr",
            "add",
            "10.61.0.2",
            "--dev",
            "ra",
            "-n",
            "s1r",
            "--peer",
            "10.61.0.1/32",
        ])
        .await;
        let a = json(
            &ip_ns("s1a", &["-j", "addr", "show", "dev", "ar"])
                .await
                .ok(),
        );
        let inet = a[0]["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["family"] == "inet")
            .unwrap_or_else(|| panic!("no IPv4 address on ar: {a}"));
        assert_eq!(
            (
                inet["local"].as_str(),
                inet["address"].as_str(),
                inet["prefixlen"].as_u64()
            ),
            (Some("10.61.0.1"), Some("10.61.0.2"), Some(32)),
            "{inet}"
        );
        in_ns("s1a", &["ping", "-c1", "-W2", "10.61.0.2"])
            .await
            .ok();
        // With a peer, the prefix goes with the peer.
        let bad = nsctl(
            None,
            &[
                "addr",
                "add",
                "10.61.0.9/24",
                "--dev",
                "ar",
                "-n",
                "s1a",
                "--peer",
                "10.61.0.8",
            ],
        )
        .await;
        assert_eq!(bad.code(), Some(INVALID_ARGUMENT), "{bad}");
        assert!(
            bad.stderr.contains("prefix length goes with the peer"),
            "{bad}"
        );

        // A bridge in the router, rb enslaved to it (and freed, and again).
        ok(&["link", "add", "bridge", "br0", "-n", "s1r", "--up"]).await;
        ok(&["link", "set", "rb", "-n", "s1r", "--master", "br0"]).await;
        let rb = must(ip_link("s1r", "rb").await, "rb");
        assert_eq!(rb["master"], "br0", "{rb}");
        ok(&["link", "set", "rb", "-n", "s1r", "--nomaster"]).await;
        let rb = must(ip_link("s1r", "rb").await, "rb");
        assert!(rb.get("master").is_none(), "nomaster: {rb}");
        // A veth cannot be a master; nothing changes.
        let bad = nsctl(None, &["link", "set", "rb", "-n", "s1r", "--master", "ra"]).await;
        assert!(
            !bad.success() && bad.stderr.contains("not a bridge"),
            "{bad}"
        );
        ok(&[
            "link", "set", "rb", "-n", "s1r", "--master", "br0", "--mtu", "1400",
        ])
        .await;
        ok(&["addr", "add", "10.62.0.1/24", "--dev", "br0", "-n", "s1r"]).await;

        // The server's MAC, set by nsctl, seen by the router as a neighbour.
        ok(&[
            "link",
            "set",
            "br",
            "-n",
            "s1b",
            "--address",
            "02:61:00:00:00:02",
        ])
        .await;
        let bad = nsctl(
            None,
            &[
                "link",
                "set",
                "br",
                "-n",
                "s1b",
                "--address",
                "01:00:5e:00:00:01",
            ],
        )
        .await;
        assert_eq!(bad.code(), Some(INVALID_ARGUMENT), "{bad}");
        assert!(bad.stderr.contains("multicast"), "{bad}");
        let br = must(ip_link("s1b", "br").await, "br");
        assert_eq!(br["address"], "02:61:00:00:00:02", "{br}");
        ok(&["addr", "add", "10.62.0.2/24", "--dev", "br", "-n", "s1b"]).await;
        in_ns("s1r", &["ping", "-c1", "-W2", "10.62.0.2"])
            .await
            .ok();
        let neigh = json(
            &ip_ns("s1r", &["-j", "neigh", "show", "10.62.0.2"])
                .await
                .ok(),
        );
        assert_eq!(neigh[0]["lladdr"], "02:61:00:00:00:02", "{neigh}");

        // Routing through the router.
        ok(&[
            "route",
            "add",
            "10.62.0.0/24",
            "--via",
            "10.61.0.2",
            "-n",
            "s1a",
        ])
        .await;
        ok(&[
            "route",
            "add",
            "10.61.0.1/32",
            "--via",
            "10.62.0.1",
            "-n",
            "s1b",
        ])
        .await;
        in_ns("s1r", &["sysctl", "-qw", "net.ipv4.ip_forward=1"])
            .await
            .ok();
        in_ns("s1a", &["ping", "-c1", "-W2", "10.62.0.2"])
            .await
            .ok();

        // MSS: a's SYN says 1460 (MTU 1500); the bridge out of the router has
        // MTU 1400 (its port's), so a clamped SYN says 1360.
        let unclamped = mss_seen(8061).await;
        assert!(
            unclamped > 1360,
            "without clamping the server sees {unclamped}"
        );
        ok(&["link", "set", "br0", "-n", "s1r", "--mss-clamp", "on"]).await;
        let t = must(mss_table("s1r").await, "no table inet netnsd-mss in s1r");
        assert_eq!(mss_elements(&t), ["br0"]);
        assert!(
            mss_table("s1a").await.is_none(),
            "only the router's namespace"
        );
        let clamped = mss_seen(8062).await;
        assert!(
            clamped <= 1360,
            "clamped to the route's MTU 1400: the server sees {clamped}"
        );
        // Again is no error; off removes the table.
        ok(&["link", "set", "br0", "-n", "s1r", "--mss-clamp", "on"]).await;
        ok(&["link", "set", "br0", "-n", "s1r", "--mss-clamp", "off"]).await;
        assert!(
            mss_table("s1r").await.is_none(),
            "clamping off leaves no table"
        );
        assert!(mss_seen(8063).await > 1360, "off: unclamped again");

        // A restarted daemon keeps the clamp and knows it is there.
        ok(&["link", "set", "br0", "-n", "s1r", "--mss-clamp", "on"]).await;
        daemon.stop().await;
        let _daemon = Daemon::start().await;
        let t = must(mss_table("s1r").await, "the clamp survives a restart");
        assert_eq!(mss_elements(&t), ["br0"]);
        ok(&["link", "set", "ra", "-n", "s1r", "--mss-clamp", "on"]).await;
        let t = must(mss_table("s1r").await, "table");
        assert_eq!(
            mss_elements(&t),
            ["br0", "ra"],
            "the restarted daemon added to what it found"
        );
        // A clamped device that goes takes its clamp along.
        ok(&["link", "delete", "br0", "-n", "s1r"]).await;
        wait_for(
            Duration::from_secs(5),
            "br0's clamp to go with it",
            || async {
                mss_table("s1r")
                    .await
                    .filter(|t| mss_elements(t) == ["ra"])
                    .map(|_| ())
            },
        )
        .await;

        for ns in ["s1a", "s1r", "s1b"] {
            ok(&["delete", ns]).await;
        }
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed001_tunnels_are_made_or_refused_naming_the_module() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        ok(&["add", "s1t"]).await;
        for (kind, module, extra) in [
            ("gre", "ip_gre", vec!["--key", "7"]),
            ("ipip", "ipip", vec![]),
            ("sit", "sit", vec![]),
        ] {
            let name = format!("t{kind}");
            let mut args = vec![
                "link",
                "add",
                "tunnel",
                &name,
                "--kind",
                kind,
                "--remote",
                "192.0.2.1",
                "--local",
                "192.0.2.2",
                "--ttl",
                "64",
                "-n",
                "s1t",
            ];
            args.extend(extra.iter().copied());
            let out = nsctl(None, &args).await;
            if out.success() {
                // A kernel with the module: iproute2 sees what was asked.
                let l = must(ip_link("s1t", &name).await, "the tunnel");
                let info = &l["linkinfo"];
                assert_eq!(info["info_kind"], kind, "{l}");
                assert_eq!(info["info_data"]["remote"], "192.0.2.1", "{l}");
                assert_eq!(info["info_data"]["ttl"], 64, "{l}");
            } else {
                assert_eq!(out.code(), Some(NOT_SUPPORTED), "{out}");
                assert!(
                    out.stderr.contains(module),
                    "names the module {module}: {out}"
                );
                assert!(ip_link("s1t", &name).await.is_none(), "nothing half-made");
            }
        }
        // Refusals before the kernel is asked.
        let out = nsctl(
            None,
            &[
                "link",
                "add",
                "tunnel",
                "tx",
                "--kind",
                "vxlan",
                "--remote",
                "192.0.2.1",
                "-n",
                "s1t",
            ],
        )
        .await;
        assert_eq!(out.code(), Some(INVALID_ARGUMENT), "{out}");
        assert!(out.stderr.contains("gre, ipip, sit"), "{out}");
        let out = nsctl(
            None,
            &[
                "link",
                "add",
                "tunnel",
                "tx",
                "--kind",
                "ipip",
                "--remote",
                "192.0.2.1",
                "--key",
                "1",
                "-n",
                "s1t",
            ],
        )
        .await;
        assert_eq!(out.code(), Some(INVALID_ARGUMENT), "{out}");
        assert!(out.stderr.contains("only GRE tunnels have keys"), "{out}");
        let out = nsctl(
            None,
            &[
                "link", "add", "tunnel", "tx", "--kind", "gre", "--remote", "fd00::1", "-n", "s1t",
            ],
        )
        .await;
        assert_eq!(out.code(), Some(INVALID_ARGUMENT), "{out}");
        ok(&["delete", "s1t"]).await;
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}
