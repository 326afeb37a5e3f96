//! `nsctl graph` (issue 18 item 8) against the real daemon: a namespace
//! with a veth uplink and DNS, a second one joined to it by a veth pair
//! with addresses, and an isolated WireGuard VPN (wireguard-go, up without
//! a reachable peer); the DOT on stdout is parsed and its clusters, nodes
//! and edges asserted, `--svg` is rendered by Graphviz, and without dot the
//! error names the package.
//!
//! With NETNSD_GRAPH_EXAMPLE=FILE the SVG is also copied to FILE: that is
//! how docs/graph.svg, the README's picture, was made.

use std::collections::BTreeMap;

use netnsd_tests::*;

const WG_PRIVATE: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const WG_PEER: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

/// A DOT graph as `nsctl graph` writes it, read back: node id → (label,
/// cluster label), and edges (a, b, label).
#[derive(Debug, Default)]
struct Dot {
    nodes: BTreeMap<String, (String, String)>,
    edges: Vec<(String, String, String)>,
}

/// The value of `key="..."` in an attribute list, unescaped.
fn attr(attrs: &str, key: &str) -> Option<String> {
    let start = attrs.find(&format!("{key}=\""))? + key.len() + 2;
    let mut out = String::new();
    let mut chars = attrs[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                other => out.push(other),
            },
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

fn parse_dot(text: &str) -> Dot {
    assert!(text.starts_with("graph netnsd {"), "{text}");
    assert!(text.trim_end().ends_with('}'), "{text}");
    let mut dot = Dot::default();
    let mut cluster = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("subgraph ") {
            cluster.clear();
        } else if line.starts_with("label=") {
            cluster = attr(line, "label").unwrap();
        } else if line == "}" {
            cluster.clear();
        } else if let Some((a, rest)) = line.split_once(" -- ") {
            let (b, attrs) = rest.split_once(' ').unwrap();
            dot.edges.push((
                a.to_owned(),
                b.to_owned(),
                attr(attrs, "label").unwrap_or_default(),
            ));
        } else if let Some((id, attrs)) = line.split_once(" [") {
            if ["graph", "node", "edge"].contains(&id) {
                continue;
            }
            let label = attr(attrs, "label").unwrap();
            dot.nodes.insert(id.to_owned(), (label, cluster.clone()));
        }
    }
    dot
}

impl Dot {
    /// The node whose label starts with `label` in the cluster whose label
    /// starts with `ns`.
    #[track_caller]
    fn node(&self, ns: &str, label: &str) -> String {
        self.nodes
            .iter()
            .find(|(_, (l, c))| l.starts_with(label) && c.starts_with(ns))
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("no node `{label}` in namespace {ns}: {self:#?}"))
    }

    #[track_caller]
    fn edge(&self, a: &str, b: &str) -> String {
        self.edges
            .iter()
            .find(|(x, y, _)| (x == a && y == b) || (x == b && y == a))
            .map(|(_, _, l)| l.clone())
            .unwrap_or_else(|| panic!("no edge {a} -- {b}: {self:#?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_draws_namespaces_devices_pairs_uplinks_and_vpns() {
    let _env = TestEnv::new();
    timed(async {
        netnsd_tests::openvpn::clear_connections_dir();
        let _daemon = Daemon::start().await;
        nsctl(
            None,
            &["add", "web", "--uplink", "veth", "--dns", "9.9.9.9"],
        )
        .await
        .ok();
        nsctl(None, &["add", "db"]).await.ok();
        nsctl(
            None,
            &[
                "link",
                "add",
                "veth",
                "web-db",
                "-n",
                "web",
                "--peer",
                "db-web",
                "--peer-netns",
                "db",
                "--up",
                "--peer-up",
            ],
        )
        .await
        .ok();
        nsctl(
            None,
            &[
                "addr",
                "add",
                "10.77.0.1/24",
                "--dev",
                "web-db",
                "-n",
                "web",
            ],
        )
        .await
        .ok();
        nsctl(
            None,
            &["addr", "add", "10.77.0.2/24", "--dev", "db-web", "-n", "db"],
        )
        .await
        .ok();
        let peer = format!("{WG_PEER} endpoint=203.0.113.1:51820 allowed-ips=0.0.0.0/0");
        nsctl_with_input(
            &[
                "connection",
                "add",
                "work",
                "--type",
                "wireguard",
                "--isolate",
                "--netns-name",
                "work",
                "--address",
                "10.66.0.2/24",
                "--peer",
                &peer,
                "--secret",
                "private-key=-",
            ],
            &format!("{WG_PRIVATE}\n"),
        )
        .await
        .ok();
        nsctl(None, &["vpn", "up", "work"]).await.ok();

        let out = nsctl(None, &["graph"]).await.ok();
        let dot = parse_dot(&out.stdout);
        // Every namespace is a cluster, with its uplink and DNS.
        for ns in ["rootns", "web", "db", "work"] {
            dot.node(ns, ns);
        }
        assert!(
            dot.nodes
                .values()
                .any(|(_, c)| c == "web\nuplink veth\ndns 9.9.9.9"),
            "{dot:#?}"
        );
        assert!(
            dot.nodes.values().all(|(l, _)| !l.starts_with("lo\n")),
            "loopback left out: {dot:#?}"
        );
        // The uplink: uplink0 in web, to the bridge its host end is a port
        // of, in rootns (the bridge topology, the default).
        let inside = dot.node("web", "uplink0\nveth\n10.");
        let bridge = dot.node("rootns", "nsbr0\nbridge\n10.231.0.1/21");
        assert_eq!(dot.edge(&inside, &bridge), "uplink (veth, NAT)");
        dot.node("rootns", "nsu");
        // The veth pair across namespaces.
        let a = dot.node("web", "web-db\nveth\n10.77.0.1/24");
        let b = dot.node("db", "db-web\nveth\n10.77.0.2/24");
        assert_eq!(dot.edge(&a, &b), "veth");
        // The VPN: its client in rootns, its tunnel in work.
        let vpn = dot.node("rootns", "wireguard work");
        let tunnel = dot.node("work", "nsvpn0\ntun\n10.66.0.2/24");
        assert_eq!(dot.edge(&vpn, &tunnel), "tunnel");
        let ids: Vec<&String> = dot.nodes.keys().collect();
        for (x, y, _) in &dot.edges {
            assert!(ids.contains(&x) && ids.contains(&y), "{x} -- {y}: {dot:#?}");
        }

        // --svg: rendered by Graphviz.
        // /run is the sandbox's own tmpfs.
        let svg = "/run/netnsd-graph-test.svg";
        let out = nsctl(None, &["graph", "--svg", svg]).await.ok();
        assert!(out.stdout.is_empty(), "{out}");
        let text = std::fs::read_to_string(svg).unwrap();
        assert!(text.contains("<svg"), "{text}");
        for s in ["uplink0", "nsvpn0", "10.77.0.2/24", "wireguard work"] {
            assert!(text.contains(s), "{s} not in the SVG:\n{text}");
        }
        if let Ok(example) = std::env::var("NETNSD_GRAPH_EXAMPLE") {
            std::fs::copy(svg, example).unwrap();
        }
        std::fs::remove_file(svg).unwrap();

        // Without dot: a plain error that names the package, no file.
        let nsctl_path = nsctl_bin();
        let out = run(
            "env",
            &[
                "PATH=/nonexistent",
                nsctl_path.to_str().unwrap(),
                "graph",
                "--svg",
                svg,
            ],
        )
        .await;
        assert_eq!(out.code(), Some(9), "{out}");
        assert!(out.stderr.contains("graphviz"), "{out}");
        assert!(!std::path::Path::new(svg).exists());

        nsctl(None, &["vpn", "down", "work"]).await.ok();
        nsctl(None, &["connection", "delete", "work"]).await.ok();
        for ns in ["web", "db"] {
            nsctl(None, &["delete", ns]).await.ok();
        }
    })
    .await;
}
