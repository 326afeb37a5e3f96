//! `nsctl graph`: the namespaces, their devices, veth pairs, uplinks,
//! tunnels and active VPNs as a Graphviz graph (DOT on stdout; `--svg FILE`
//! renders it with `dot -Tsvg`).
//!
//! Everything comes from one GetManagedObjects. The bus does not say which
//! veth is whose peer, so two veth ends in different namespaces are drawn
//! as a pair when they have addresses in one subnet (a routed uplink's two
//! ends always do: netnsd gives them a /30 and a /64); a veth without such
//! an address is drawn alone. A bridged uplink (the default) is drawn from
//! its uplink0 to the bridge in the uplink namespace whose subnet it is in
//! (a bridge joins many); its host end, an address-less port, alone.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use netnsd_api::{
    ACTIVE_PATH_PREFIX, DEVICE_INTERFACE, DEVICE_PATH_PREFIX, INSTANCE_INTERFACE,
    NAMESPACE_PATH_PREFIX, object_number,
};
use zbus::Connection;

use crate::active::{Active, ManagedObjects, actives_of};
use crate::cmd::managed_objects;
use crate::device::Device;
use crate::error::{CliError, Kind};
use crate::namespace::{Namespace, list_order};

/// The name of a veth uplink's end inside its namespace (netnsd's
/// `manager::uplink::UPLINK_IF`).
const UPLINK_IF: &str = "uplink0";

/// Link kinds drawn as tunnels.
const TUNNEL_KINDS: &[&str] = &[
    "tun",
    "wireguard",
    "gre",
    "gretap",
    "ipip",
    "sit",
    "ip6tnl",
    "ip6gre",
    "ip6gretap",
    "vti",
    "vti6",
];

pub async fn exec(conn: &Connection, svg: Option<&Path>) -> Result<String, CliError> {
    let objects = managed_objects(conn).await?;
    let dot = dot_of(&objects)?;
    match svg {
        None => Ok(dot),
        Some(file) => {
            render_svg(&dot, file)?;
            Ok(String::new())
        }
    }
}

/// Runs `dot -Tsvg -o FILE` with the graph on its stdin.
fn render_svg(dot: &str, file: &Path) -> Result<(), CliError> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .arg("-o")
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                CliError::new(
                    Kind::NotSupported,
                    "cannot render SVG: dot (Graphviz) is not installed; install the graphviz \
                     package, or run \"nsctl graph\" without --svg for the DOT text",
                )
            } else {
                CliError::new(Kind::Failed, format!("cannot run dot (Graphviz): {e}"))
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(dot.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| CliError::new(Kind::Failed, format!("dot (Graphviz): {e}")))?;
    if !out.status.success() {
        return Err(CliError::new(
            Kind::Failed,
            format!(
                "dot (Graphviz) could not write {}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}

/// The graph of everything in `objects`.
pub fn dot_of(objects: &ManagedObjects) -> Result<String, CliError> {
    let mut namespaces = Vec::new();
    let mut devices = Vec::new();
    for (path, ifaces) in objects {
        if let Some(props) = ifaces.get(INSTANCE_INTERFACE) {
            let props = props
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.try_clone().ok()?)))
                .collect();
            namespaces.push(Namespace::from_properties(path.as_str(), props)?);
        }
        if let Some(props) = ifaces.get(DEVICE_INTERFACE) {
            let props = props
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.try_clone().ok()?)))
                .collect();
            devices.push(Device::from_properties(path.as_str(), props)?);
        }
    }
    namespaces.sort_by(list_order);
    devices.sort_by_key(|d| number(&d.object, DEVICE_PATH_PREFIX));
    let actives: Vec<Active> = actives_of(objects)
        .into_iter()
        .filter(|a| !a.is_deactivated())
        .collect();
    Ok(dot(&namespaces, &devices, &actives))
}

fn number(object: &str, prefix: &str) -> u32 {
    object_number(object, prefix).unwrap_or(u32::MAX)
}

/// A DOT string literal.
fn quote(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

fn ns_id(ns: &Namespace) -> String {
    format!("ns{}", number(&ns.object, NAMESPACE_PATH_PREFIX))
}

fn dev_id(d: &Device) -> String {
    format!("dev{}", number(&d.object, DEVICE_PATH_PREFIX))
}

fn active_id(a: &Active) -> String {
    format!("vpn{}", number(&a.object, ACTIVE_PATH_PREFIX))
}

/// The network of an address in CIDR form, if it can be shared with a peer
/// (not loopback, not link-local, not a single host).
fn network(cidr: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = cidr.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    match addr {
        IpAddr::V4(a) if !a.is_loopback() && !a.is_link_local() && len < 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            Some((IpAddr::V4((u32::from(a) & mask).into()), len))
        }
        IpAddr::V6(a) if !a.is_loopback() && (a.segments()[0] & 0xffc0) != 0xfe80 && len < 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            Some((IpAddr::V6((u128::from(a) & mask).into()), len))
        }
        _ => None,
    }
}

/// The veth pairs: ends in different namespaces that share a subnet, each
/// end in one pair at most; and a veth end with a bridge in another
/// namespace whose subnet it shares (a bridged uplink), a bridge in any
/// number of them.
fn veth_pairs(devices: &[Device]) -> Vec<(usize, usize)> {
    let nets: Vec<BTreeSet<(IpAddr, u8)>> = devices
        .iter()
        .map(|d| d.addresses.iter().filter_map(|a| network(a)).collect())
        .collect();
    let mut paired = BTreeSet::new();
    let mut pairs = Vec::new();
    for i in 0..devices.len() {
        for j in i + 1..devices.len() {
            let (a, b) = (&devices[i], &devices[j]);
            let kinds = (a.kind.as_str(), b.kind.as_str());
            if !matches!(kinds, ("veth", "veth" | "bridge") | ("bridge", "veth"))
                || a.namespace_object == b.namespace_object
                || (a.kind == "veth" && paired.contains(&i))
                || (b.kind == "veth" && paired.contains(&j))
                || nets[i].is_disjoint(&nets[j])
            {
                continue;
            }
            paired.insert(i);
            paired.insert(j);
            pairs.push((i, j));
        }
    }
    pairs
}

/// The graph: one cluster per namespace holding its devices (loopback left
/// out), veth pairs and uplinks as edges between clusters, tunnels as
/// their own shape, active VPNs as a node in the namespace their client
/// runs in, joined to their tunnel.
pub fn dot(namespaces: &[Namespace], devices: &[Device], actives: &[Active]) -> String {
    let mut out = String::from(
        "graph netnsd {\n\
         \tgraph [rankdir=LR, fontname=\"sans-serif\", compound=true];\n\
         \tnode [fontname=\"sans-serif\", fontsize=10];\n\
         \tedge [fontname=\"sans-serif\", fontsize=9];\n",
    );
    let shown: Vec<&Device> = devices.iter().filter(|d| d.kind != "loopback").collect();
    let uplink_of: BTreeMap<&str, &str> = namespaces
        .iter()
        .map(|n| (n.object.as_str(), n.uplink.as_str()))
        .collect();
    for ns in namespaces {
        let mut label = ns.name.clone();
        if ns.uplink != "none" && !ns.uplink.is_empty() {
            label.push_str(&format!("\nuplink {}", ns.uplink));
        }
        if !ns.dns_servers.is_empty() {
            label.push_str(&format!("\ndns {}", ns.dns_servers.join(", ")));
        }
        out.push_str(&format!(
            "\tsubgraph {} {{\n\t\tlabel={};\n\t\tstyle=rounded;\n",
            quote(&format!("cluster_{}", ns_id(ns))),
            quote(&label)
        ));
        // A namespace node, so that an empty namespace shows too.
        out.push_str(&format!(
            "\t\t{} [label={}, shape=plaintext];\n",
            ns_id(ns),
            quote(&ns.name)
        ));
        for d in shown.iter().filter(|d| d.namespace_object == ns.object) {
            let mut label = format!("{}\n{}", d.name, d.kind);
            for a in &d.addresses {
                label.push('\n');
                label.push_str(a);
            }
            // NetworkManager's state by name, the kernel's in brackets.
            label.push_str(&format!("\n{} ({})", d.state, d.oper_state));
            let shape = if TUNNEL_KINDS.contains(&d.kind.as_str()) {
                "cds"
            } else {
                "box"
            };
            out.push_str(&format!(
                "\t\t{} [label={}, shape={shape}];\n",
                dev_id(d),
                quote(&label)
            ));
        }
        for a in actives.iter().filter(|a| a.uplink_namespace == ns.name) {
            let state = a.vpn_state.as_deref().unwrap_or(&a.state);
            out.push_str(&format!(
                "\t\t{} [label={}, shape=ellipse, style=bold];\n",
                active_id(a),
                quote(&format!("{} {}\n{state}", a.kind, a.id))
            ));
        }
        out.push_str("\t}\n");
    }
    let shown_owned: Vec<Device> = shown.iter().map(|d| (*d).clone()).collect();
    for (i, j) in veth_pairs(&shown_owned) {
        let (a, b) = (&shown_owned[i], &shown_owned[j]);
        // netnsd names a veth uplink's end in the namespace uplink0.
        let uplink = [a, b].iter().any(|d| {
            d.name == UPLINK_IF && uplink_of.get(d.namespace_object.as_str()) == Some(&"veth")
        });
        let label = if uplink { "uplink (veth, NAT)" } else { "veth" };
        out.push_str(&format!(
            "\t{} -- {} [label={}];\n",
            dev_id(a),
            dev_id(b),
            quote(label)
        ));
    }
    for a in actives {
        let ns_object = namespaces
            .iter()
            .find(|n| n.name == a.namespace)
            .map(|n| n.object.as_str());
        for d in shown.iter().filter(|d| {
            Some(d.namespace_object.as_str()) == ns_object
                && TUNNEL_KINDS.contains(&d.kind.as_str())
        }) {
            out.push_str(&format!(
                "\t{} -- {} [label=\"tunnel\", style=dashed];\n",
                active_id(a),
                dev_id(d)
            ));
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(n: u32, name: &str, uplink: &str) -> Namespace {
        Namespace {
            name: name.into(),
            id: 4026531840 + u64::from(n),
            path: format!("/run/netns/{name}"),
            persistent: false,
            managed: n != 0,
            uplink: uplink.into(),
            dns_servers: vec![],
            split_dns: Default::default(),
            dhcp: None,
            object: format!("{NAMESPACE_PATH_PREFIX}/{n}"),
        }
    }

    fn dev(n: u32, ns: u32, name: &str, kind: &str, addrs: &[&str]) -> Device {
        Device {
            namespace: String::new(),
            name: name.into(),
            ifindex: n as i32,
            kind: kind.into(),
            state: "connected".into(),
            oper_state: "up".into(),
            mtu: 1500,
            mac: String::new(),
            addresses: addrs.iter().map(|s| s.to_string()).collect(),
            object: format!("{DEVICE_PATH_PREFIX}/{n}"),
            namespace_object: format!("{NAMESPACE_PATH_PREFIX}/{ns}"),
            state_code: 100,
        }
    }

    #[test]
    fn networks_leave_out_what_no_peer_shares() {
        assert_eq!(
            network("10.231.0.2/30"),
            Some(("10.231.0.0".parse().unwrap(), 30))
        );
        assert_eq!(
            network("fd6e:6574:6e73::2/64"),
            Some(("fd6e:6574:6e73::".parse().unwrap(), 64))
        );
        assert_eq!(network("127.0.0.1/8"), None);
        assert_eq!(network("fe80::1/64"), None);
        assert_eq!(network("10.0.0.1/32"), None);
        assert_eq!(network("nonsense"), None);
    }

    #[test]
    fn pairs_uplinks_tunnels_and_vpns() {
        let namespaces = [
            ns(0, "rootns", "none"),
            ns(1, "a", "veth"),
            ns(2, "b", "none"),
        ];
        let devices = [
            dev(1, 0, "lo", "loopback", &["127.0.0.1/8"]),
            dev(2, 0, "nsu0", "veth", &["10.231.0.1/30", "fe80::1/64"]),
            dev(3, 1, "uplink0", "veth", &["10.231.0.2/30"]),
            dev(4, 1, "ab", "veth", &["10.9.0.1/24"]),
            dev(5, 2, "ba", "veth", &["10.9.0.2/24"]),
            dev(6, 2, "lonely", "veth", &[]),
            dev(7, 2, "nsvpn0", "tun", &["10.8.0.2/24"]),
        ];
        let active = Active {
            id: "work".into(),
            uuid: String::new(),
            kind: "vpn".into(),
            state: "activated".into(),
            state_reason: "none".into(),
            vpn_state: Some("activated".into()),
            namespace: "b".into(),
            uplink_namespace: "a".into(),
            banner: String::new(),
            connection: String::new(),
            object: format!("{ACTIVE_PATH_PREFIX}/1"),
            number: 1,
            state_code: 2,
            vpn_state_code: 5,
            uplink_object: String::new(),
        };
        let g = dot(&namespaces, &devices, &[active]);
        assert!(g.starts_with("graph netnsd {\n"), "{g}");
        assert!(g.ends_with("}\n"), "{g}");
        assert!(g.contains("subgraph \"cluster_ns1\""), "{g}");
        assert!(!g.contains("dev1 "), "loopback left out: {g}");
        assert!(
            g.contains("dev2 -- dev3 [label=\"uplink (veth, NAT)\"]"),
            "{g}"
        );
        assert!(g.contains("dev4 -- dev5 [label=\"veth\"]"), "{g}");
        assert!(!g.contains("dev6 --") && !g.contains("-- dev6"), "{g}");
        assert!(
            g.contains("dev7 [label=\"nsvpn0\\ntun\\n10.8.0.2/24\\nconnected (up)\", shape=cds]"),
            "{g}"
        );
        assert!(
            g.contains("vpn1 -- dev7 [label=\"tunnel\", style=dashed]"),
            "{g}"
        );
        // The VPN's node is in the namespace its client runs in.
        let a = &g[g.find("cluster_ns1").unwrap()..g.find("cluster_ns2").unwrap()];
        assert!(a.contains("vpn1 [label=\"vpn work\\nactivated\""), "{a}");
    }

    #[test]
    fn a_bridge_joins_each_bridged_uplink_and_its_ports_stand_alone() {
        let namespaces = [
            ns(0, "rootns", "none"),
            ns(1, "a", "veth"),
            ns(2, "b", "veth"),
        ];
        let devices = [
            dev(2, 0, "nsbr0", "bridge", &["10.231.0.1/21", "fe80::1/64"]),
            dev(3, 0, "nsu0", "veth", &[]),
            dev(4, 0, "nsu1", "veth", &[]),
            dev(5, 1, "uplink0", "veth", &["10.231.0.2/21"]),
            dev(6, 2, "uplink0", "veth", &["10.231.0.6/21"]),
        ];
        let g = dot(&namespaces, &devices, &[]);
        assert!(
            g.contains("dev2 -- dev5 [label=\"uplink (veth, NAT)\"]"),
            "{g}"
        );
        assert!(
            g.contains("dev2 -- dev6 [label=\"uplink (veth, NAT)\"]"),
            "{g}"
        );
        for port in ["dev3", "dev4"] {
            assert!(!g.contains(&format!("{port} --")), "{g}");
            assert!(!g.contains(&format!("-- {port}")), "{g}");
        }
    }

    #[test]
    fn labels_are_quoted() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
