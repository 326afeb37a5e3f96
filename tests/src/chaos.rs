//! The chaos runs of `sudo tests/chaos` (issue 13) and of the short storm
//! in tests/tests/chaos_short.rs:
//!
//! - [`storm`]: concurrent clients doing random operations over the bus
//!   (namespaces with a veth uplink and DNS, removals, TakeDevice of a veth
//!   end between namespaces, Spawn of `true`, isolated WireGuard
//!   connections brought up and down) while the daemon is SIGKILLed
//!   at random moments and restarted; then a clean stop, one more start, and
//!   the count of leftovers and of namespaces the daemon lost track of.
//! - [`load`]: many clients adding, removing and listing namespaces for a
//!   while: every call must answer (bounded), latencies per method, errors
//!   by name, the daemon's RSS before and after.
//!
//! Errors of calls cut by a kill are expected and counted by name, never a
//! failure; the figures are what the caller asserts on or prints.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, watch};
use zbus::Connection;
use zbus::wire::Variant as Value;

use crate::harness::*;
use crate::leftovers::*;
use crate::openvpn::{
    activate, active_proxy, clear_connections_dir, deactivate, install_keyfile_text, settings_proxy,
};
use crate::platform::*;
use crate::vpnpeers::{WG_BIN, WG_PORT, WG_SERVER_IF, WG_SERVER_TUN, WgPeer, wg_keypair};
use crate::wan::*;

/// A small xorshift generator: no dependency, reproducible with a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A seed from the clock, for runs that say which seed they used.
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

/// How big a storm is.
#[derive(Debug, Clone)]
pub struct StormOpts {
    pub ops: u64,
    pub clients: u64,
    pub kills: u64,
    /// Namespace names per client (`chaosC-K`).
    pub names_per_client: u64,
    pub seed: u64,
}

impl Default for StormOpts {
    fn default() -> Self {
        StormOpts {
            ops: 10_000,
            clients: 8,
            kills: 100,
            names_per_client: 4,
            seed: clock_seed(),
        }
    }
}

/// What a storm found.
#[derive(Debug, Clone, Default)]
pub struct StormReport {
    pub opts_seed: u64,
    pub ops: u64,
    pub ok_by_op: BTreeMap<String, u64>,
    /// (operation, error name) → count.
    pub errors: BTreeMap<(String, String), u64>,
    pub kills: u64,
    /// Leftovers after the clean stop and one more start (Keep: what the
    /// bus lists as alive).
    pub leftovers: Vec<String>,
    /// Namespaces on disk but not on the bus, or the reverse; and
    /// namespaces whose Uplink property disagrees with their links.
    pub lost: Vec<String>,
    /// Namespaces alive at the end (before the final removal).
    pub alive_at_end: usize,
    /// Leftovers after every namespace was removed.
    pub leftovers_after_remove: Vec<String>,
    pub wall: Duration,
}

impl StormReport {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The figures, for a terminal or docs/reliability.md.
    pub fn text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "kill -9 storm (seed {}): {} operations, {} kills, {:.1} s wall\n",
            self.opts_seed,
            self.ops,
            self.kills,
            self.wall.as_secs_f64()
        ));
        s.push_str("  succeeded:");
        for (op, n) in &self.ok_by_op {
            s.push_str(&format!(" {op} {n};"));
        }
        s.push_str(&format!("\n  errors: {} in all\n", self.error_count()));
        for ((op, name), n) in &self.errors {
            s.push_str(&format!("    {op:<8} {name}: {n}\n"));
        }
        s.push_str(&format!(
            "  namespaces alive at the end: {}\n  leftovers after restart: {}\n",
            self.alive_at_end,
            self.leftovers.len()
        ));
        for l in &self.leftovers {
            s.push_str(&format!("    {l}\n"));
        }
        s.push_str(&format!("  lost namespaces: {}\n", self.lost.len()));
        for l in &self.lost {
            s.push_str(&format!("    {l}\n"));
        }
        s.push_str(&format!(
            "  leftovers after removing everything: {}\n",
            self.leftovers_after_remove.len()
        ));
        for l in &self.leftovers_after_remove {
            s.push_str(&format!("    {l}\n"));
        }
        s
    }
}

/// An error's name for the counts: netnsd's short name, the bus's error
/// name, or the transport error's text.
fn error_kind(e: &ApiError) -> String {
    match e {
        ApiError::ZBus(zbus::Error::MethodError(name, _, _)) => name.to_string(),
        ApiError::ZBus(other) => {
            // "org.freedesktop.DBus.Error.NoReply: Message recipient
            // disconnected…": the name is enough.
            let t = other.to_string();
            match t.split_once(": ") {
                Some((name, _)) if name.starts_with("org.") => name.to_owned(),
                _ => t.chars().take(60).collect(),
            }
        }
        other => other.short_name(),
    }
}

struct Shared {
    done: AtomicU64,
    kills: AtomicU64,
    stop: std::sync::atomic::AtomicBool,
    ok: std::sync::Mutex<BTreeMap<String, u64>>,
    errors: std::sync::Mutex<BTreeMap<(String, String), u64>>,
}

impl Shared {
    fn count(&self, op: &str, r: Result<(), String>) {
        self.done.fetch_add(1, Ordering::SeqCst);
        match r {
            Ok(()) => *self.ok.lock().unwrap().entry(op.into()).or_default() += 1,
            Err(kind) => {
                *self
                    .errors
                    .lock()
                    .unwrap()
                    .entry((op.into(), kind))
                    .or_default() += 1
            }
        }
    }
}

fn ns_name(client: u64, k: u64) -> String {
    format!("chaos{client}-{k}")
}

async fn ns_path_of(conn: &Connection, name: &str) -> Result<String, String> {
    controller(conn)
        .await
        .get_network_namespace_by_name(name)
        .await
        .map(|p| p.to_string())
        .map_err(|e| error_kind(&e))
}

/// What a client keeps between its operations: its VPN profile's uuid and
/// the active connection it brought up, if any.
#[derive(Default)]
struct ClientVpn {
    uuid: String,
    active: Option<String>,
}

/// One random operation of client `c`; returns its name and outcome.
async fn one_op(
    conn: &Connection,
    c: u64,
    rng: &mut Rng,
    names: u64,
    vpn: &mut ClientVpn,
) -> (&'static str, Result<(), String>) {
    let a = ns_name(c, rng.below(names));
    let b = ns_name(c, rng.below(names));
    match rng.below(100) {
        90..100 => vpn_op(conn, vpn).await,
        0..36 => {
            let r = add_with_options(
                conn,
                &a,
                options(vec![
                    ("uplink", Value::from("veth")),
                    ("dns", strs(&[WAN_V4])),
                    ("dns-search", strs(&["test"])),
                ]),
            )
            .await;
            ("add", r.map(drop).map_err(|e| error_kind(&e)))
        }
        36..63 => {
            let r = controller(conn).await.remove_network_namespace(&a).await;
            ("remove", r.map(drop).map_err(|e| error_kind(&e)))
        }
        63..77 => ("take", take_op(conn, c, &a, &b).await),
        _ => {
            let r = async {
                let p = ns_path_of(conn, &a).await?;
                spawn_root(conn, &p, &["/bin/true"], &[])
                    .await
                    .map(drop)
                    .map_err(|e| error_kind(&e))
            }
            .await;
            ("spawn", r)
        }
    }
}

/// The VPN operation of a client: its connection down if it brought one
/// up (DeactivateConnection), else up (ActivateConnection of its isolated
/// WireGuard profile, then the Active object's State polled until
/// activated, at most 15 s). A kill in between makes the path it holds
/// stale: the deactivation's error is counted and the next one activates.
async fn vpn_op(conn: &Connection, vpn: &mut ClientVpn) -> (&'static str, Result<(), String>) {
    if let Some(ac) = vpn.active.take() {
        let r = deactivate(conn, &ac).await.map_err(|e| error_kind(&e));
        return ("vpn-down", r);
    }
    let r = async {
        let path = settings_proxy(conn)
            .await
            .get_connection_by_uuid(&vpn.uuid)
            .await
            .map_err(|e| error_kind(&e))?;
        let ac = activate(conn, path.as_str())
            .await
            .map_err(|e| error_kind(&e))?;
        vpn.active = Some(ac.clone());
        let proxy = active_proxy(conn, &ac).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match proxy.state().await {
                Ok(s) if s == netnsd_api::state::active::ACTIVATED => return Ok(()),
                Ok(s) if s == netnsd_api::state::active::DEACTIVATED => {
                    vpn.active = None;
                    return Err("deactivated before activated".to_owned());
                }
                Ok(_) if Instant::now() < deadline => {}
                Ok(s) => return Err(format!("still in state {s} after 15 s")),
                Err(e) => {
                    vpn.active = None;
                    return Err(error_kind(&ApiError::ZBus(e)));
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    .await;
    ("vpn-up", r)
}

/// The storm's VPN side: a WireGuard gateway (wireguard-go as `wgs0` in
/// wan, 203.0.113.1:51820) with one peer per client, and per client an
/// isolated profile (`chaos-wgC`, transient namespace `cvpnC`, address
/// 10.66.0.(10+C)) installed before the daemon starts. Returns the peer
/// and the profiles' uuids.
async fn storm_vpn(clients: u64) -> (WgPeer, Vec<String>) {
    let dir = std::path::Path::new(CHAOS_DIR);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create the storm's directory");
    clear_connections_dir();
    let peer = WgPeer::start_in(dir).await;
    let mut uuids = Vec::new();
    for c in 0..clients {
        let (private, public) = wg_keypair();
        let addr = format!("10.66.0.{}", 10 + c % 240);
        ip(&[
            "netns",
            "exec",
            WAN_NS,
            WG_BIN,
            "set",
            WG_SERVER_IF,
            "peer",
            &public,
            "allowed-ips",
            &format!("{addr}/32"),
        ])
        .await
        .ok();
        let uuid = format!("c4a05000-0000-4000-8000-{c:012x}");
        install_keyfile_text(
            &format!("chaos-wg{c}"),
            &format!(
                "[connection]\nid=chaos-wg{c}\nuuid={uuid}\ntype=wireguard\n\
                 interface-name=wg-chaos{c}\nautoconnect=false\nnetns-isolate=true\n\
                 netns-name=cvpn{c}\n\n[wireguard]\nprivate-key={private}\n\
                 private-key-flags=0\n\n[wireguard-peer.{}]\nendpoint={WAN_V4}:{WG_PORT}\n\
                 allowed-ips=0.0.0.0/0;\npersistent-keepalive=25\n\n\
                 [ipv4]\naddress1={addr}/24\ndns={WG_SERVER_TUN};\nmethod=manual\n\n\
                 [ipv6]\nmethod=disabled\n",
                peer.server_public
            ),
        );
        uuids.push(uuid);
    }
    (peer, uuids)
}

/// Where the storm keeps its WireGuard gateway's key and log.
pub const CHAOS_DIR: &str = "/run/netnsd-tests-chaos";

/// TakeDevice of a veth end between two namespaces of the client: the end
/// `cxCb` goes from wherever it is to the other namespace; if neither has
/// it, AddVeth makes the pair in `a` first.
async fn take_op(conn: &Connection, c: u64, a: &str, b: &str) -> Result<(), String> {
    let pa = ns_path_of(conn, a).await?;
    let pb = ns_path_of(conn, b).await?;
    let end = format!("cx{c}b");
    let (ia, ib) = (platform(conn, &pa).await, platform(conn, &pb).await);
    if let Ok(dev) = ia.get_device_by_name(&end).await {
        return ib.take_device(&dev, 3000).await.map_err(|e| error_kind(&e));
    }
    if let Ok(dev) = ib.get_device_by_name(&end).await {
        return ia.take_device(&dev, 3000).await.map_err(|e| error_kind(&e));
    }
    ia.add_veth(&format!("cx{c}a"), &end, &op(&pa), HashMap::new())
        .await
        .map(drop)
        .map_err(|e| error_kind(&e))
}

/// Names on the bus (rootns left out), tolerating objects that vanish
/// while they are read.
async fn bus_ns_names(conn: &Connection) -> BTreeSet<String> {
    loop {
        if let Some(mut names) = try_bus_names(conn).await {
            names.remove(ROOT_NS_NAME);
            return names;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The host end (in rootns) of `ns`'s uplink0, if it has one.
async fn host_end_of(ns: &str) -> Option<String> {
    let link = ip_link(ns, UPLINK_IF).await?;
    let peer = link["link_index"].as_i64()?;
    let out = ip_ns(ROOT_NS_NAME, &["-j", "link", "show"]).await;
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).ok()?;
    v.as_array()?
        .iter()
        .find(|l| l["ifindex"].as_i64() == Some(peer))
        .and_then(|l| l["ifname"].as_str().map(str::to_owned))
}

/// What `/run/netns/NAME` is (a namespace's mount or a plain file) and
/// what the journal says of the name, for the report of a lost namespace.
fn describe_entry(name: &str) -> String {
    let path = format!("{NETNS_RUN_DIR}/{name}");
    let mounted = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some(path.as_str()));
    let journal = std::fs::read_to_string("/run/netnsd/journal").unwrap_or_default();
    let needle = format!("\"{name}\"");
    let lines: Vec<&str> = journal.lines().filter(|l| l.contains(&needle)).collect();
    format!(
        "{}; journal: {}",
        if mounted {
            "a mount"
        } else {
            "a plain file, not a mount"
        },
        if lines.is_empty() {
            "nothing of it".to_owned()
        } else {
            lines[lines.len().saturating_sub(3)..].join(" | ")
        }
    )
}

/// The leftovers after a settled restart, polled for the daemon's deferred
/// cleanup, with a Keep of what the bus lists; and the namespaces the
/// daemon lost track of.
async fn settled_counts(conn: &Connection, wan_keep: Keep) -> (Vec<String>, Vec<String>, usize) {
    // Settled: the bus's list the same on two reads a second apart.
    let mut last = bus_ns_names(conn).await;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = bus_ns_names(conn).await;
        if now == last {
            break;
        }
        last = now;
    }
    let mut lost = Vec::new();
    let disk: BTreeSet<String> = run_netns_entries().into_iter().collect();
    for n in disk.difference(&last) {
        lost.push(format!(
            "{n}: in {NETNS_RUN_DIR} but not on the bus ({})",
            describe_entry(n)
        ));
    }
    for n in last.difference(&disk) {
        lost.push(format!("{n}: on the bus but not in {NETNS_RUN_DIR}"));
    }
    let mut keep = wan_keep;
    for n in last.iter().filter(|n| n.starts_with("chaos")) {
        keep = keep.ns(n);
        let uplink = match ns_path_of(conn, n).await {
            Ok(p) => instance(conn, &p).await.uplink().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let end = host_end_of(n).await;
        match (uplink.as_str(), &end) {
            ("veth", Some(end)) => keep = keep.host_end(end),
            ("veth", None) => lost.push(format!("{n}: Uplink veth but no {UPLINK_IF}")),
            (u, Some(end)) => {
                lost.push(format!("{n}: Uplink {u:?} but {UPLINK_IF} and {end} exist"))
            }
            _ => {}
        }
    }
    let left = poll_leftovers(&keep).await;
    (left, lost, last.len())
}

/// [`leftovers`], polled up to [`LEFTOVERS_TIMEOUT`] until none.
pub async fn poll_leftovers(keep: &Keep) -> Vec<String> {
    let deadline = Instant::now() + LEFTOVERS_TIMEOUT;
    loop {
        let left = leftovers(keep).await;
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// With NETNSD_CHAOS_LOGS=FILE, every killed daemon's log (read just
/// before the kill) is appended to FILE, for finding what a leftover came
/// from.
fn keep_log(d: &Daemon) {
    if let Some(f) = std::env::var_os("NETNSD_CHAOS_LOGS") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(f)
        {
            let _ = writeln!(f, "{}", d.log_text());
        }
    }
}

/// The kill -9 storm. Runs in the sandbox with no daemon running; starts
/// wan and the daemon itself, and leaves neither.
pub async fn storm(opts: StormOpts) -> StormReport {
    let started = Instant::now();
    let wan = Wan::start().await;
    let (peer, uuids) = storm_vpn(opts.clients).await;
    let wan_keep = || wan.keep().pid(peer.pid());
    let daemon = Arc::new(Mutex::new(Some(Daemon::start().await)));
    let shared = Arc::new(Shared {
        done: AtomicU64::new(0),
        kills: AtomicU64::new(0),
        stop: Default::default(),
        ok: Default::default(),
        errors: Default::default(),
    });
    let (up_tx, up_rx) = watch::channel(true);
    let mut rng = Rng::new(opts.seed);

    // The moments of the kills: K operation counts, sorted.
    let mut at: Vec<u64> = (0..opts.kills)
        .map(|_| rng.below(opts.ops.max(1)))
        .collect();
    at.sort_unstable();
    let killer = {
        let daemon = daemon.clone();
        let shared = shared.clone();
        let mut rng = Rng::new(rng.next_u64());
        tokio::spawn(async move {
            for n in at {
                while shared.done.load(Ordering::SeqCst) < n {
                    if shared.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                // A random moment within what is in flight now.
                tokio::time::sleep(Duration::from_millis(rng.below(25))).await;
                let mut d = daemon.lock().await;
                up_tx.send_replace(false);
                let dead = d.take().unwrap();
                keep_log(&dead);
                dead.kill9().await;
                shared.kills.fetch_add(1, Ordering::SeqCst);
                *d = Some(Daemon::start().await);
                up_tx.send_replace(true);
            }
        })
    };

    let per_client = opts.ops / opts.clients.max(1);
    let mut clients = Vec::new();
    for c in 0..opts.clients {
        let shared = shared.clone();
        let mut up = up_rx.clone();
        let mut rng = Rng::new(rng.next_u64());
        let names = opts.names_per_client;
        let n = per_client + u64::from(c < opts.ops % opts.clients.max(1));
        let mut vpn = ClientVpn {
            uuid: uuids[c as usize].clone(),
            active: None,
        };
        clients.push(tokio::spawn(async move {
            let conn = system_conn().await;
            for _ in 0..n {
                // While the daemon is down, wait for it (a call then would
                // only count ServiceUnknown).
                let _ = up.wait_for(|u| *u).await;
                let (op, r) = match tokio::time::timeout(
                    Duration::from_secs(60),
                    one_op(&conn, c, &mut rng, names, &mut vpn),
                )
                .await
                {
                    Ok(x) => x,
                    Err(_) => ("any", Err("no reply within 60 s".to_owned())),
                };
                shared.count(op, r);
            }
        }));
    }
    for c in clients {
        c.await.expect("a chaos client panicked");
    }
    // Kills whose moment was past the last operation are not made: the
    // figures say how many were.
    shared.stop.store(true, Ordering::SeqCst);
    killer.await.expect("the killer panicked");

    let d = daemon.lock().await.take();
    if let Some(d) = d {
        keep_log(&d);
        d.stop().await;
    }
    let daemon = Daemon::start().await;
    let conn = system_conn().await;
    let (left, lost, alive) = settled_counts(&conn, wan_keep()).await;
    keep_log(&daemon);

    // Remove everything and count again.
    for n in bus_ns_names(&conn).await {
        if n.starts_with("chaos") {
            let _ = controller(&conn).await.remove_network_namespace(&n).await;
        }
    }
    let after = poll_leftovers(&wan_keep()).await;
    daemon.stop().await;
    drop(peer);
    clear_connections_dir();
    let _ = std::fs::remove_dir_all(CHAOS_DIR);
    drop(wan);
    let ok = shared.ok.lock().unwrap().clone();
    let errors = shared.errors.lock().unwrap().clone();
    StormReport {
        opts_seed: opts.seed,
        ops: shared.done.load(Ordering::SeqCst),
        ok_by_op: ok,
        errors,
        kills: shared.kills.load(Ordering::SeqCst),
        leftovers: left,
        lost,
        alive_at_end: alive,
        leftovers_after_remove: after,
        wall: started.elapsed(),
    }
}

/// How big a load run is.
#[derive(Debug, Clone)]
pub struct LoadOpts {
    pub clients: u64,
    pub seconds: u64,
    pub seed: u64,
}

impl Default for LoadOpts {
    fn default() -> Self {
        LoadOpts {
            clients: 64,
            seconds: 60,
            seed: clock_seed(),
        }
    }
}

/// What a load run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub clients: u64,
    pub wall: Duration,
    /// Method → latencies of answered calls (sorted).
    pub latencies: BTreeMap<String, Vec<Duration>>,
    /// (method, error name) → count; the caller's fault or not is said by
    /// [`caller_fault`].
    pub errors: BTreeMap<(String, String), u64>,
    /// Calls that got no answer within the bound.
    pub lost_replies: u64,
    pub rss_before_kb: u64,
    pub rss_after_kb: u64,
    /// After 10 s idle with everything removed.
    pub rss_idle_kb: u64,
    pub leftovers: Vec<String>,
}

/// Errors that random clients racing over the same names cause themselves.
pub fn caller_fault(name: &str) -> bool {
    matches!(
        name,
        "AlreadyExists" | "NotFound" | "Busy" | "TargetNetnsNotFound"
    )
}

fn pct(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

impl LoadReport {
    /// Errors that are not the caller's fault.
    pub fn daemon_errors(&self) -> u64 {
        self.errors
            .iter()
            .filter(|((_, n), _)| !caller_fault(n))
            .map(|(_, c)| c)
            .sum()
    }

    pub fn text(&self) -> String {
        let calls: usize = self.latencies.values().map(Vec::len).sum();
        let mut s = format!(
            "load: {} clients, {:.1} s, {} calls answered ({:.0}/s), {} lost replies, {} errors not the caller's fault\n",
            self.clients,
            self.wall.as_secs_f64(),
            calls,
            calls as f64 / self.wall.as_secs_f64().max(0.001),
            self.lost_replies,
            self.daemon_errors()
        );
        s.push_str("  method                          calls     p50       p99       max\n");
        for (m, v) in &self.latencies {
            s.push_str(&format!(
                "  {m:<30} {:>6} {:>8.1}ms {:>8.1}ms {:>8.1}ms\n",
                v.len(),
                pct(v, 0.5).as_secs_f64() * 1e3,
                pct(v, 0.99).as_secs_f64() * 1e3,
                v.last().copied().unwrap_or_default().as_secs_f64() * 1e3
            ));
        }
        s.push_str("  errors:\n");
        for ((m, n), c) in &self.errors {
            let whose = if caller_fault(n) {
                "caller's"
            } else {
                "DAEMON'S"
            };
            s.push_str(&format!("    {m:<30} {n}: {c} ({whose} fault)\n"));
        }
        s.push_str(&format!(
            "  daemon RSS: {} kB before, {} kB after, {} kB after 10 s idle\n  leftovers after removing everything: {}\n",
            self.rss_before_kb,
            self.rss_after_kb,
            self.rss_idle_kb,
            self.leftovers.len()
        ));
        for l in &self.leftovers {
            s.push_str(&format!("    {l}\n"));
        }
        s
    }
}

/// VmRSS of `pid` in kB (0 if unreadable).
pub fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

type Lat = BTreeMap<String, Vec<Duration>>;
type Errs = BTreeMap<(String, String), u64>;

/// The load run: clients adding (plain), removing and listing namespaces
/// for `seconds`. Runs with no daemon running; starts and stops its own.
pub async fn load(opts: LoadOpts) -> LoadReport {
    const BOUND: Duration = Duration::from_secs(30);
    let daemon = Daemon::start().await;
    let pid = daemon.pid();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before_kb = rss_kb(pid);
    let started = Instant::now();
    let end = started + Duration::from_secs(opts.seconds);
    let mut rng = Rng::new(opts.seed);
    let mut clients = Vec::new();
    for c in 0..opts.clients {
        let mut rng = Rng::new(rng.next_u64());
        clients.push(tokio::spawn(async move {
            let conn = system_conn().await;
            let ctl = controller(&conn).await;
            let (mut lat, mut errs, mut lost) = (Lat::new(), Errs::new(), 0u64);
            while Instant::now() < end {
                let name = format!("load{c}-{}", rng.below(3));
                let t = Instant::now();
                let (m, r) = match rng.below(10) {
                    0..4 => (
                        "AddNetworkNamespace",
                        tokio::time::timeout(BOUND, ctl.add_network_namespace(&name))
                            .await
                            .map(|r| r.map(drop)),
                    ),
                    4..8 => (
                        "RemoveNetworkNamespace",
                        tokio::time::timeout(BOUND, ctl.remove_network_namespace(&name))
                            .await
                            .map(|r| r.map(drop)),
                    ),
                    _ => (
                        "ListNetworkNamespaces",
                        tokio::time::timeout(BOUND, ctl.list_network_namespaces())
                            .await
                            .map(|r| r.map(drop)),
                    ),
                };
                let took = t.elapsed();
                match r {
                    Err(_) => lost += 1,
                    Ok(r) => {
                        lat.entry(m.to_owned()).or_default().push(took);
                        if let Err(e) = r {
                            *errs.entry((m.to_owned(), error_kind(&e))).or_default() += 1;
                        }
                    }
                }
            }
            (lat, errs, lost)
        }));
    }
    let mut report = LoadReport {
        clients: opts.clients,
        rss_before_kb,
        ..Default::default()
    };
    for c in clients {
        let (lat, errs, lost) = c.await.expect("a load client panicked");
        for (m, v) in lat {
            report.latencies.entry(m).or_default().extend(v);
        }
        for (k, n) in errs {
            *report.errors.entry(k).or_default() += n;
        }
        report.lost_replies += lost;
    }
    report.wall = started.elapsed();
    for v in report.latencies.values_mut() {
        v.sort_unstable();
    }
    report.rss_after_kb = rss_kb(pid);
    let conn = system_conn().await;
    for n in bus_ns_names(&conn).await {
        if n.starts_with("load") {
            let _ = controller(&conn).await.remove_network_namespace(&n).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    report.rss_idle_kb = rss_kb(pid);
    report.leftovers = poll_leftovers(&Keep::nothing()).await;
    daemon.stop().await;
    report
}
