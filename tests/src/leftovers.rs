//! The one "nothing is left" check of the integration tests.
//!
//! Every test that ends a namespace or a connection calls
//! [`assert_nothing_left`] (netavark's `basic_teardown`, in spirit). It looks
//! with observers independent of the daemon and reports every leftover at
//! once, in one assertion message:
//!
//! | what | observer |
//! |---|---|
//! | namespaces | the filesystem (`/run/netns`), iproute2 (`ip netns list`), the bus (NetNsInstance objects) |
//! | DNS files | the filesystem (`/etc/netns/NAME`) |
//! | an activation's state (helper socket, secrets) | the filesystem (`/run/netnsd/vpn`) |
//! | split DNS forwarders' files | the filesystem (`/run/netnsd/dnsmasq`) |
//! | VPN clients, programs the daemon started, anything still inside a namespace that should be gone | `/proc` (exe, parent, network namespace) |
//! | client tunnels (`nsvpnN`, any tun or WireGuard link in rootns) | `ip -d link`, in rootns and every kept namespace |
//! | uplink host ends (`nsuN`), the bridges of bridged ones (`nsbrK`) | `ip link`, in rootns and every kept namespace |
//! | NAT set elements; where no uplink is kept, anything named netnsd in the ruleset | `nft`, in rootns and every kept namespace |
//! | active connections; devices whose namespace or link is gone | busctl (`GetManagedObjects`), while the daemon runs |
//!
//! What a test legitimately keeps (a rig's namespaces and servers, a
//! persistent namespace that stays empty, an uplink that stays) it says with
//! a [`Keep`]. Where the daemon defers cleanup (NAT elements go in a batch
//! after ~1 s of quiet, host ends are reaped within 2 s, a client gets 5 s
//! to exit) the check polls, bounded, until nothing is left.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use netnsd_api::ACTIVE_INTERFACE;

use crate::harness::*;
use crate::platform::{all_routes, ip_ns, route_dev};

/// The first bridge of bridged veth uplinks (`--uplink-topology bridge`:
/// `nsbrK`, 512 ports each); kept with [`Keep::host_end`] like a host end.
pub const BRIDGE_IF: &str = "nsbr0";

/// How long [`assert_nothing_left`] waits for deferred cleanup.
pub const LEFTOVERS_TIMEOUT: Duration = Duration::from_secs(10);

/// Where an activation keeps its helper socket and secret files.
pub const VPN_STATE_DIR: &str = "/run/netnsd/vpn";

/// Where the split DNS forwarders keep their options, servers and pid files.
pub const FORWARDER_DIR: &str = "/run/netnsd/dnsmasq";

/// What a test legitimately keeps when it checks that nothing is left.
#[derive(Debug, Clone, Default)]
pub struct Keep {
    /// Namespaces that stay as they are (a rig's, a test's own).
    namespaces: BTreeSet<String>,
    /// Namespaces that stay, empty: only lo, only lo's routes, no DNS
    /// files, no process (a persistent VPN namespace after its connection).
    empty: BTreeSet<String>,
    /// Uplink host ends (`nsuN`) that stay, with their NAT elements.
    host_ends: BTreeSet<String>,
    /// Processes that stay: a rig's servers and hand-run clients (which run
    /// a VPN client's binary), a program a test still runs in a namespace.
    pids: BTreeSet<u32>,
    /// Files under /etc/netns or /run/netnsd/vpn that stay (with all below
    /// them): known leftovers of today's daemon, each named where it is kept.
    paths: BTreeSet<PathBuf>,
}

impl Keep {
    /// Nothing: no namespace but rootns, no uplink, no VPN process.
    pub fn nothing() -> Keep {
        Keep::default()
    }

    /// Namespace `name` stays, whatever is in it.
    pub fn ns(mut self, name: &str) -> Keep {
        self.namespaces.insert(name.to_owned());
        self
    }

    /// Namespace `name` stays, empty: only lo, no route but lo's, no files
    /// in /etc/netns/NAME, no process inside.
    pub fn empty_ns(mut self, name: &str) -> Keep {
        self.empty.insert(name.to_owned());
        self
    }

    /// The uplink host end `name` (`nsuN`) stays, and its NAT elements.
    pub fn host_end(mut self, name: &str) -> Keep {
        self.host_ends.insert(name.to_owned());
        self
    }

    /// Process `pid` stays, wherever it runs and whatever it is (a rig's
    /// server, a program the daemon started that the test still runs).
    pub fn pid(mut self, pid: u32) -> Keep {
        self.pids.insert(pid);
        self
    }

    /// The file or directory `path` (under /etc/netns or /run/netnsd/vpn)
    /// stays, and everything below it. For a leftover the daemon is known
    /// to leave today; say where it is used why it is tolerated.
    pub fn path(mut self, path: &str) -> Keep {
        self.paths.insert(PathBuf::from(path));
        self
    }

    fn keeps_path(&self, path: &Path) -> bool {
        self.paths.iter().any(|p| path.starts_with(p))
    }

    fn keeps_ns(&self, name: &str) -> bool {
        self.namespaces.contains(name) || self.empty.contains(name)
    }
}

/// Waits (up to [`LEFTOVERS_TIMEOUT`]) until nothing but what `keep` names
/// is left; panics listing every leftover if something still is.
#[track_caller]
pub fn assert_nothing_left(keep: &Keep) -> impl std::future::Future<Output = ()> + '_ {
    assert_nothing_left_within(keep, LEFTOVERS_TIMEOUT)
}

/// As [`assert_nothing_left`], waiting up to `limit` (a client that must
/// first notice its server is gone takes longer).
#[track_caller]
pub fn assert_nothing_left_within(
    keep: &Keep,
    limit: Duration,
) -> impl std::future::Future<Output = ()> + '_ {
    let caller = std::panic::Location::caller();
    async move {
        let deadline = Instant::now() + limit;
        loop {
            let left = leftovers(keep).await;
            if left.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{caller}: left behind after {limit:?} ({} things; kept: {keep:?}):\n  {}",
                    left.len(),
                    left.join("\n  ")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Everything left now that `keep` does not name, one line each, naming
/// the observer: `"/run/netns: vpn1"`, `"ip link (rootns): nsu3, an uplink's host end"`.
pub async fn leftovers(keep: &Keep) -> Vec<String> {
    let mut left = Vec::new();
    namespaces_left(keep, &mut left).await;
    // What is in rootns and in every kept namespace that is still there.
    let mut looked = vec![ROOT_NS_NAME.to_owned()];
    looked.extend(run_netns_entries().into_iter().filter(|n| keep.keeps_ns(n)));
    let mut links = BTreeMap::new();
    for ns in &looked {
        let (names, bridges) = links_left(keep, ns, &mut left).await;
        links.insert(ns.clone(), names);
        nat_left(keep, &bridges, ns, &mut left).await;
    }
    processes_left(keep, &mut left);
    bus_left(keep, &links, &mut left).await;
    left
}

/// /run/netns, `ip netns list`, /etc/netns, /run/netnsd/vpn and
/// /run/netnsd/dnsmasq.
async fn namespaces_left(keep: &Keep, left: &mut Vec<String>) {
    for n in run_netns_entries() {
        if !keep.keeps_ns(&n) {
            left.push(format!("{NETNS_RUN_DIR}: {n}"));
        }
    }
    for n in ip_netns_list().await {
        if !keep.keeps_ns(&n) {
            left.push(format!("ip netns list: {n}"));
        }
    }
    for n in etc_netns_entries() {
        let dir = Path::new(NETNS_ETC_DIR).join(&n);
        if keep.keeps_path(&dir) || keep.namespaces.contains(&n) {
            continue;
        }
        if keep.empty.contains(&n) {
            for f in dir_entries(&dir) {
                if !keep.keeps_path(&dir.join(&f)) {
                    left.push(format!(
                        "{NETNS_ETC_DIR}/{n}/{f}, in a namespace kept empty"
                    ));
                }
            }
        } else {
            left.push(format!("{NETNS_ETC_DIR}: {n}"));
        }
    }
    for f in dir_entries(Path::new(VPN_STATE_DIR)) {
        if !keep.keeps_path(&Path::new(VPN_STATE_DIR).join(&f)) {
            left.push(format!("{VPN_STATE_DIR}: {f}"));
        }
    }
    for f in dir_entries(Path::new(FORWARDER_DIR)) {
        if !keep.keeps_path(&Path::new(FORWARDER_DIR).join(&f)) {
            left.push(format!("{FORWARDER_DIR}: {f}"));
        }
    }
}

/// Whether `name` is `PREFIX` followed by a number (`nsvpn3`, `nsu12`).
fn numbered(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The links of one namespace: client tunnels, host ends not kept, bridges
/// of bridged uplinks with no kept host end as a port, and in a namespace
/// kept empty anything but lo (and any route not lo's). Returns the names of
/// all its links, for the bus's devices, and the bridges kept for the host
/// ends kept.
async fn links_left(
    keep: &Keep,
    ns: &str,
    left: &mut Vec<String>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = ip_ns(ns, &["-d", "-j", "link", "show"]).await;
    if !out.success() {
        // Gone between the listing and now: the next round sees it.
        return Default::default();
    }
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("ip printed no JSON ({e}): {out}"));
    let links: Vec<&serde_json::Value> = v.as_array().into_iter().flatten().collect();
    // A kept host end that is a bridge port keeps its bridge.
    let bridges: BTreeSet<String> = links
        .iter()
        .filter(|l| {
            l["ifname"]
                .as_str()
                .is_some_and(|n| keep.host_ends.contains(n))
        })
        .filter_map(|l| l["master"].as_str().map(str::to_owned))
        .collect();
    let mut names = BTreeSet::new();
    for l in links {
        let Some(name) = l["ifname"].as_str() else {
            continue;
        };
        names.insert(name.to_owned());
        let kind = l["linkinfo"]["info_kind"].as_str().unwrap_or("");
        let tunnel =
            numbered(name, "nsvpn") || (ns == ROOT_NS_NAME && matches!(kind, "tun" | "wireguard"));
        if tunnel {
            left.push(format!("ip link ({ns}): {name} ({kind}), a VPN tunnel"));
        } else if numbered(name, "nsu") && !keep.host_ends.contains(name) {
            left.push(format!("ip link ({ns}): {name}, an uplink's host end"));
        } else if numbered(name, "nsbr")
            && !keep.host_ends.contains(name)
            && !bridges.contains(name)
        {
            left.push(format!(
                "ip link ({ns}): {name}, the bridge of bridged uplinks"
            ));
        } else if keep.empty.contains(ns) && name != "lo" {
            left.push(format!("ip link ({ns}): {name}, in a namespace kept empty"));
        }
    }
    if keep.empty.contains(ns) {
        for r in all_routes(ns).await {
            if route_dev(&r) != Some("lo") {
                left.push(format!("ip route ({ns}): {r}, in a namespace kept empty"));
            }
        }
    }
    (names, bridges)
}

/// The daemon's NAT in one namespace: elements of its sets that no kept
/// host end (or bridge of kept host ends) accounts for; and where no kept
/// uplink needs it, its table (or anything else in the ruleset that names
/// netnsd).
async fn nat_left(keep: &Keep, bridges: &BTreeSet<String>, ns: &str, left: &mut Vec<String>) {
    let mut needed = false;
    for (set, elems) in nft_table_in(ns).await.unwrap_or_default() {
        for e in elems {
            if keep.host_ends.contains(&e) || bridges.contains(&e) {
                needed = true;
            } else {
                left.push(format!(
                    "nft ({ns}): element {e} of set {set} in table inet {NFT_TABLE}"
                ));
            }
        }
    }
    if needed {
        return;
    }
    let list = ["nft", "list", "ruleset"];
    let out = if ns == ROOT_NS_NAME {
        run(list[0], &list[1..]).await
    } else {
        in_ns(ns, &list).await
    };
    for line in out.stdout.lines().filter(|l| l.contains(NFT_TABLE)) {
        left.push(format!(
            "nft ({ns}): `{}`, with no uplink kept",
            line.trim()
        ));
    }
}

/// One process as /proc shows it.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub exe: Option<PathBuf>,
    /// The inode of its network namespace (None for a zombie).
    pub net: Option<u64>,
    /// Its command line, the arguments joined by spaces.
    pub cmdline: String,
}

/// Every process of the sandbox (its pid namespace), as /proc shows it.
pub fn processes() -> Vec<Proc> {
    let mut v = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return v;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let p = e.path();
        let Ok(stat) = std::fs::read_to_string(p.join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold anything but ends at the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let cmdline = std::fs::read(p.join("cmdline"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .split('\0')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        v.push(Proc {
            pid,
            ppid,
            exe: std::fs::read_link(p.join("exe")).ok(),
            net: std::fs::metadata(p.join("ns/net")).ok().map(|m| m.ino()),
            cmdline,
        });
    }
    v
}

/// Every running process whose executable is `bin`: pid and command
/// line, sorted.
pub fn processes_of(bin: &str) -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = processes()
        .into_iter()
        .filter(|p| p.exe.as_deref() == Some(Path::new(bin)))
        .map(|p| (p.pid, p.cmdline))
        .collect();
    v.sort();
    v
}

/// Programs the daemon started (its descendants, whatever they run), VPN
/// clients no [`Keep`] names, and any process inside a network namespace
/// that is neither rootns nor kept as it is.
fn processes_left(keep: &Keep, left: &mut Vec<String>) {
    let procs = processes();
    let netnsd = std::fs::canonicalize(netnsd_bin()).ok();
    let is_netnsd = |p: &Proc| p.exe.is_some() && p.exe == netnsd;
    let by_pid: BTreeMap<u32, &Proc> = procs.iter().map(|p| (p.pid, p)).collect();
    // A daemon is a netnsd whose parent is not one (`netnsd --vpn-helper`
    // runs under a VPN client, under the daemon).
    let daemons: BTreeSet<u32> = procs
        .iter()
        .filter(|p| is_netnsd(p) && !by_pid.get(&p.ppid).is_some_and(|q| is_netnsd(q)))
        .map(|p| p.pid)
        .collect();
    let started_by = |p: &Proc| -> Option<u32> {
        let mut at = p.ppid;
        for _ in 0..64 {
            if daemons.contains(&at) {
                return Some(at);
            }
            at = by_pid.get(&at)?.ppid;
        }
        None
    };
    let own_net = own_netns_inode();
    let names: BTreeMap<u64, String> = run_netns_entries()
        .into_iter()
        .filter_map(|n| {
            let m = std::fs::metadata(Path::new(NETNS_RUN_DIR).join(&n)).ok()?;
            Some((m.ino(), n))
        })
        .collect();
    let me = std::process::id();
    for p in &procs {
        if p.pid == me || keep.pids.contains(&p.pid) {
            continue;
        }
        let mut why = Vec::new();
        if let Some(d) = started_by(p) {
            why.push(format!("started by netnsd (pid {d})"));
        }
        // Any VPN client alive that no Keep names (a rig's server, a
        // client run by hand) is left over.
        if let Some(exe) = &p.exe
            && VPN_CLIENT_BINS.iter().any(|b| exe == Path::new(b))
        {
            why.push("a VPN client".to_owned());
        }
        match (p.net, p.net.and_then(|n| names.get(&n))) {
            (None, _) => {}
            (Some(n), _) if n == own_net => {}
            (_, Some(name)) if keep.namespaces.contains(name) => {}
            (_, Some(name)) if keep.empty.contains(name) => {
                why.push(format!("inside {name}, kept empty"))
            }
            (_, Some(name)) => why.push(format!("inside {name}, a namespace not kept")),
            (Some(n), None) => why.push(format!("inside net:[{n}], a namespace no longer named")),
        }
        if !why.is_empty() {
            let what = if p.cmdline.is_empty() {
                p.exe
                    .as_ref()
                    .map(|e| e.display().to_string())
                    .unwrap_or_default()
            } else {
                p.cmdline.clone()
            };
            left.push(format!("/proc: pid {} `{what}`, {}", p.pid, why.join(", ")));
        }
    }
}

/// The daemon's objects, read with busctl while it runs: namespaces not
/// kept, active connections, devices whose namespace is not on the bus or
/// whose link iproute2 does not show there.
async fn bus_left(keep: &Keep, links: &BTreeMap<String, BTreeSet<String>>, left: &mut Vec<String>) {
    let out = busctl(
        None,
        &[
            "--json=short",
            "--auto-start=no",
            "call",
            BUS_NAME,
            ROOT_PATH,
            "org.freedesktop.DBus.ObjectManager",
            "GetManagedObjects",
        ],
    )
    .await;
    if !out.success() {
        // Where nobody owns the name (the daemon is not running), nothing
        // is exported. Anything else is worth a look.
        if name_owner_pid(&system_conn().await).await.is_some() {
            left.push(format!(
                "busctl: GetManagedObjects failed: {}",
                out.stderr.trim()
            ));
        }
        return;
    }
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("busctl printed no JSON ({e}): {out}"));
    let Some(objects) = v["data"][0].as_object() else {
        left.push(format!("busctl: no objects in {out}"));
        return;
    };
    let prop = |path: &str, iface: &str, name: &str| -> Option<serde_json::Value> {
        objects
            .get(path)?
            .get(iface)?
            .get(name)?
            .get("data")
            .cloned()
    };
    let mut ns_names = BTreeMap::new();
    for (path, ifaces) in objects {
        if ifaces.get(INSTANCE_INTERFACE).is_some() {
            let name = prop(path, INSTANCE_INTERFACE, "Name")
                .and_then(|n| n.as_str().map(str::to_owned))
                .unwrap_or_default();
            if name != ROOT_NS_NAME && !keep.keeps_ns(&name) {
                left.push(format!("bus: {path} (namespace {name})"));
            }
            ns_names.insert(path.clone(), name);
        }
    }
    for (path, ifaces) in objects {
        if ifaces.get(ACTIVE_INTERFACE).is_some() {
            let id = prop(path, ACTIVE_INTERFACE, "Id").unwrap_or_default();
            let state = prop(path, ACTIVE_INTERFACE, "State").unwrap_or_default();
            left.push(format!(
                "bus: {path} (active connection {id}, State {state})"
            ));
        }
        if ifaces.get(DEVICE_INTERFACE).is_some() {
            let iface = prop(path, DEVICE_INTERFACE, "Interface")
                .and_then(|n| n.as_str().map(str::to_owned))
                .unwrap_or_default();
            let ns_path = prop(path, DEVICE_INTERFACE, "NetworkNamespace")
                .and_then(|n| n.as_str().map(str::to_owned))
                .unwrap_or_default();
            match ns_names.get(&ns_path) {
                None => left.push(format!(
                    "bus: {path} (device {iface}) of {ns_path}, which is not on the bus"
                )),
                Some(ns) => {
                    if links.get(ns).is_some_and(|l| !l.contains(&iface)) {
                        left.push(format!(
                            "bus: {path} (device {iface} in {ns}), which `ip link` does not show"
                        ));
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// nftables, an observer

/// The daemon's nftables table.
pub const NFT_TABLE: &str = "netnsd";

/// `nft list ruleset` of rootns.
pub async fn nft_ruleset() -> String {
    run("nft", &["list", "ruleset"]).await.ok().stdout
}

/// Whether rootns has the table `inet netnsd`.
pub async fn nft_table_exists() -> bool {
    run("nft", &["list", "table", "inet", NFT_TABLE])
        .await
        .success()
}

/// The elements of the sets of table `inet netnsd` (set name → elements:
/// prefixes as `ADDR/LEN`, names as they are); empty if there is no table.
pub async fn nft_sets() -> BTreeMap<String, BTreeSet<String>> {
    nft_table_in(ROOT_NS_NAME).await.unwrap_or_default()
}

/// As [`nft_sets`], in namespace `ns` (rootns: the sandbox's own); None if
/// there is no table `inet netnsd` there.
pub async fn nft_table_in(ns: &str) -> Option<BTreeMap<String, BTreeSet<String>>> {
    let nft = ["nft", "-j", "list", "table", "inet", NFT_TABLE];
    let out = if ns == ROOT_NS_NAME {
        run(nft[0], &nft[1..]).await
    } else {
        in_ns(ns, &nft).await
    };
    if !out.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("nft printed no JSON ({e}): {out}"));
    let mut sets = BTreeMap::new();
    for item in v["nftables"].as_array().into_iter().flatten() {
        let Some(set) = item.get("set") else { continue };
        let name = set["name"].as_str().unwrap_or_default().to_owned();
        let mut elems = BTreeSet::new();
        for e in set["elem"].as_array().into_iter().flatten() {
            let e = e.get("elem").and_then(|x| x.get("val")).unwrap_or(e);
            if let Some(s) = e.as_str() {
                elems.insert(s.to_owned());
            } else if let Some(p) = e.get("prefix") {
                elems.insert(format!(
                    "{}/{}",
                    p["addr"].as_str().unwrap_or_default(),
                    p["len"]
                ));
            } else if let Some(r) = e.get("range") {
                elems.insert(format!("{}-{}", r[0], r[1]));
            } else {
                elems.insert(e.to_string());
            }
        }
        sets.insert(name, elems);
    }
    Some(sets)
}
