//! Helpers for the per-namespace platform (issue 3): Device objects, the
//! NetNsInstance link/address/route/rule methods, and iproute2 as the
//! independent observer of what is really in each namespace.
//!
//! Namespaces are named as the bus names them: [`ROOT_NS_NAME`] ("rootns") is
//! the sandbox's own network namespace, where `ip` runs without `-n`.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use futures::{Stream, StreamExt};
use zbus::Connection;
use zbus::proxy::CacheProperties;
use zbus::wire::{ObjectPath, OwnedVariant, Variant};

use crate::harness::*;

pub use netnsd_api::device_path;
pub use netnsd_api::proxy::{DeviceProxy, NetNsPlatformProxy};

/// A device made, removed or moved with iproute2 must show on the bus within this.
pub const DEVICE_TIMEOUT: Duration = Duration::from_secs(3);

/// The error name of every netnsd error on the wire.
pub fn netnsd_error(short: &str) -> String {
    format!("{}.{short}", netnsd_api::error::ERROR_PREFIX)
}

// ---------------------------------------------------------------------------
// Proxies

/// The platform methods of a namespace object, reading properties afresh.
pub async fn platform(conn: &Connection, ns_path: &str) -> NetNsPlatformProxy<'static> {
    NetNsPlatformProxy::builder(conn)
        .path(ns_path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("platform proxy")
}

/// A Device object's proxy, reading properties afresh.
pub async fn device(conn: &Connection, path: &str) -> DeviceProxy<'static> {
    DeviceProxy::builder(conn)
        .path(path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("device proxy")
}

/// An object path argument.
pub fn op(p: &str) -> ObjectPath<'_> {
    ObjectPath::try_from(p).unwrap_or_else(|e| panic!("{p:?} is not an object path: {e}"))
}

/// An `a{sv}` argument (options, route and rule dictionaries).
pub fn dict<'a>(entries: Vec<(&'a str, Variant<'a>)>) -> HashMap<&'a str, Variant<'a>> {
    entries.into_iter().collect()
}

/// No options.
pub fn no_opts() -> HashMap<&'static str, Variant<'static>> {
    HashMap::new()
}

/// A string variant.
pub fn vs(s: &str) -> Variant<'_> {
    Variant::from(s)
}

/// A uint32 variant.
pub fn vu(n: u32) -> Variant<'static> {
    Variant::from(n)
}

/// A boolean variant.
pub fn vb(b: bool) -> Variant<'static> {
    Variant::from(b)
}

/// An object path variant.
pub fn vo(p: &str) -> Variant<'_> {
    Variant::from(op(p))
}

/// A string out of an `a{sv}` the daemon answered.
pub fn dict_str(d: &HashMap<String, OwnedVariant>, key: &str) -> Option<String> {
    d.get(key)
        .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
}

/// A uint32 out of an `a{sv}` the daemon answered.
pub fn dict_u32(d: &HashMap<String, OwnedVariant>, key: &str) -> Option<u32> {
    d.get(key).and_then(|v| u32::try_from(v).ok())
}

/// An object path out of an `a{sv}` the daemon answered.
pub fn dict_path(d: &HashMap<String, OwnedVariant>, key: &str) -> Option<String> {
    d.get(key).and_then(|v| match &**v {
        Variant::ObjectPath(p) => Some(p.to_string()),
        _ => None,
    })
}

// ---------------------------------------------------------------------------
// Devices on the bus

/// Every property of a Device object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevInfo {
    pub path: String,
    pub interface: String,
    pub ifindex: i32,
    pub kind: String,
    pub hw_address: String,
    pub mtu: u32,
    /// `State u`: NMDeviceState (netnsd_api::state::device).
    pub state: u32,
    /// `OperState s`: the kernel's operational state, as `ip link` names it.
    pub oper_state: String,
    pub addresses: BTreeSet<String>,
    pub netns: String,
}

/// The Device's properties, or None if the object is gone (or vanished
/// half-way through the reads).
pub async fn try_dev_info(conn: &Connection, path: &str) -> Option<DevInfo> {
    let d = device(conn, path).await;
    Some(DevInfo {
        path: path.to_owned(),
        interface: d.interface().await.ok()?,
        ifindex: d.ifindex().await.ok()?,
        kind: d.kind().await.ok()?,
        hw_address: d.hw_address().await.ok()?,
        mtu: d.mtu().await.ok()?,
        state: d.state().await.ok()?,
        oper_state: d.oper_state().await.ok()?,
        addresses: d.addresses().await.ok()?.into_iter().collect(),
        netns: d.network_namespace().await.ok()?.to_string(),
    })
}

/// The Device's properties; panics if it is not on the bus.
pub async fn dev_info(conn: &Connection, path: &str) -> DevInfo {
    try_dev_info(conn, path)
        .await
        .unwrap_or_else(|| panic!("no Device object at {path}"))
}

/// GetAllDevices of a namespace, as strings.
pub async fn all_devices(conn: &Connection, ns_path: &str) -> Vec<String> {
    platform(conn, ns_path)
        .await
        .get_all_devices()
        .await
        .unwrap_or_else(|e| panic!("GetAllDevices on {ns_path}: {e:?}"))
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}

/// GetDevices of a namespace, as strings.
pub async fn devices(conn: &Connection, ns_path: &str) -> Vec<String> {
    platform(conn, ns_path)
        .await
        .get_devices()
        .await
        .unwrap_or_else(|e| panic!("GetDevices on {ns_path}: {e:?}"))
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}

/// The path of the device named `name` that GetAllDevices of `ns_path` lists.
pub async fn find_device(conn: &Connection, ns_path: &str, name: &str) -> Option<String> {
    let paths = platform(conn, ns_path).await.get_all_devices().await.ok()?;
    for p in paths {
        if let Some(i) = try_dev_info(conn, p.as_str()).await
            && i.interface == name
            && i.netns == ns_path
        {
            return Some(p.to_string());
        }
    }
    None
}

/// Polls until the namespace at `ns_path` lists a device named `name`.
pub async fn wait_device(conn: &Connection, ns_path: &str, name: &str) -> String {
    wait_for(
        DEVICE_TIMEOUT,
        &format!("device {name} in {ns_path} on the bus"),
        || find_device(conn, ns_path, name),
    )
    .await
}

/// Polls until the namespace at `ns_path` lists no device named `name`.
pub async fn wait_device_gone(conn: &Connection, ns_path: &str, name: &str) {
    wait_for(
        DEVICE_TIMEOUT,
        &format!("device {name} to leave {ns_path} on the bus"),
        || async {
            find_device(conn, ns_path, name)
                .await
                .is_none()
                .then_some(())
        },
    )
    .await
}

/// Polls the Device at `path` until `check` holds for its properties;
/// returns them.
pub async fn wait_dev<F: Fn(&DevInfo) -> bool>(
    conn: &Connection,
    path: &str,
    what: &str,
    check: F,
) -> DevInfo {
    let mut last = None;
    let r = tokio::time::timeout(DEVICE_TIMEOUT, async {
        loop {
            let info = try_dev_info(conn, path).await;
            if let Some(i) = &info
                && check(i)
            {
                return i.clone();
            }
            last = info;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    r.unwrap_or_else(|_| {
        panic!(
            "timed out after {DEVICE_TIMEOUT:?} waiting for {path} ({what}); last seen: {last:?}"
        )
    })
}

/// Polls until the Device object at `path` is gone from the bus.
pub async fn wait_dev_gone(conn: &Connection, path: &str) {
    wait_for(
        DEVICE_TIMEOUT,
        &format!("Device {path} to leave the bus"),
        || async { try_dev_info(conn, path).await.is_none().then_some(()) },
    )
    .await
}

/// The next item of a signal stream within [`SIGNAL_TIMEOUT`].
pub async fn next_within<S: Stream + Unpin>(stream: &mut S, what: &str) -> S::Item {
    tokio::time::timeout(SIGNAL_TIMEOUT, stream.next())
        .await
        .unwrap_or_else(|_| panic!("no {what} within {SIGNAL_TIMEOUT:?}"))
        .unwrap_or_else(|| panic!("the {what} stream ended"))
}

/// Reads a stream until `pick` accepts an item, within [`SIGNAL_TIMEOUT`]
/// overall.
pub async fn next_matching<S, T, F>(stream: &mut S, what: &str, mut pick: F) -> T
where
    S: Stream + Unpin,
    F: FnMut(S::Item) -> Option<T>,
{
    let r = tokio::time::timeout(SIGNAL_TIMEOUT, async {
        while let Some(item) = stream.next().await {
            if let Some(v) = pick(item) {
                return Some(v);
            }
        }
        None
    })
    .await;
    match r {
        Ok(Some(v)) => v,
        Ok(None) => panic!("the stream ended before {what}"),
        Err(_) => panic!("no {what} within {SIGNAL_TIMEOUT:?}"),
    }
}

/// Whether a stream yields an item `pick` accepts within `limit` (for
/// signals that must *not* come, a short look).
pub async fn comes_within<S, F>(stream: &mut S, limit: Duration, mut pick: F) -> bool
where
    S: Stream + Unpin,
    F: FnMut(S::Item) -> bool,
{
    tokio::time::timeout(limit, async {
        while let Some(item) = stream.next().await {
            if pick(item) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

/// Adds a namespace and waits until its loopback device is on the bus, so
/// the platform of the namespace is known to be up.
pub async fn add_ns_ready(conn: &Connection, name: &str) -> String {
    let path = add_ns(conn, name).await;
    wait_device(conn, &path, "lo").await;
    path
}

// ---------------------------------------------------------------------------
// iproute2, the observer

/// `ip [-n NS] ARGS…`; rootns is the sandbox's own namespace (no `-n`).
pub async fn ip_ns<S: AsRef<str>>(ns: &str, args: &[S]) -> Out {
    let mut full: Vec<String> = Vec::new();
    if ns != ROOT_NS_NAME {
        full.extend(["-n".to_owned(), ns.to_owned()]);
    }
    full.extend(args.iter().map(|a| a.as_ref().to_owned()));
    ip(&full).await
}

/// `ip -j [-n NS] link show dev NAME`: the link as iproute2 sees it, or
/// None if there is no such link there.
pub async fn ip_link(ns: &str, name: &str) -> Option<serde_json::Value> {
    let out = ip_ns(ns, &["-d", "-j", "link", "show", "dev", name]).await;
    if !out.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("ip printed no JSON ({e}): {out}"));
    v.as_array()?.first().cloned()
}

/// The link, which must exist.
#[track_caller]
pub fn must<T>(v: Option<T>, what: &str) -> T {
    v.unwrap_or_else(|| panic!("{what}"))
}

/// The flags iproute2 shows for a link (`UP`, `LOWER_UP`, …).
pub fn link_flags(link: &serde_json::Value) -> Vec<String> {
    link["flags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The names of the links in a namespace.
pub async fn ip_link_names(ns: &str) -> BTreeSet<String> {
    let out = ip_ns(ns, &["-j", "link", "show"]).await.ok();
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("ip printed no JSON ({e}): {out}"));
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l["ifname"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The addresses (CIDR) iproute2 shows on a link.
pub async fn ip_addrs(ns: &str, name: &str) -> BTreeSet<String> {
    let out = ip_ns(ns, &["-j", "addr", "show", "dev", name]).await.ok();
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("ip printed no JSON ({e}): {out}"));
    let mut set = BTreeSet::new();
    for l in v.as_array().into_iter().flatten() {
        for a in l["addr_info"].as_array().into_iter().flatten() {
            if let (Some(ip), Some(p)) = (a["local"].as_str(), a["prefixlen"].as_u64()) {
                set.insert(format!("{ip}/{p}"));
            }
        }
    }
    set
}

/// Polls until `ip -n NS link show NAME` finds it (true) or not (false).
pub async fn wait_ip_link(ns: &str, name: &str, present: bool) {
    let what = format!(
        "`ip -n {ns} link show {name}` to {}",
        if present { "find it" } else { "find nothing" }
    );
    wait_for(DEVICE_TIMEOUT, &what, || async {
        (ip_link(ns, name).await.is_some() == present).then_some(())
    })
    .await
}

/// Everything iproute2 shows of a namespace's network configuration, to
/// compare before and after a call that must change nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSnapshot {
    pub ns: String,
    pub links: String,
    pub addrs: String,
    pub routes4: String,
    pub routes6: String,
    pub rules4: String,
    pub rules6: String,
}

pub async fn net_snapshot(ns: &str) -> NetSnapshot {
    let get = |args: &'static [&'static str]| async move { ip_ns(ns, args).await.ok().stdout };
    NetSnapshot {
        ns: ns.to_owned(),
        links: get(&["-br", "link"]).await,
        addrs: get(&["-br", "addr"]).await,
        routes4: get(&["-4", "route", "show", "table", "all"]).await,
        routes6: get(&["-6", "route", "show", "table", "all"]).await,
        rules4: get(&["-4", "rule"]).await,
        rules6: get(&["-6", "rule"]).await,
    }
}

/// Snapshots of several namespaces, taken once they have stopped changing
/// (link states and IPv6 link-local addresses settle a moment after a link
/// comes up): once no IPv6 address is tentative, two reads 300 ms apart
/// that agree, within 5 s.
pub async fn settled_snapshots(namespaces: &[&str]) -> Vec<NetSnapshot> {
    // IPv6 duplicate address detection adds routes to the local table when
    // it ends (a second or two after a link comes up): wait for it first.
    for ns in namespaces {
        wait_for(
            Duration::from_secs(10),
            &format!("IPv6 DAD to finish in {ns}"),
            || async {
                let out = ip_ns(ns, &["-6", "addr", "show", "tentative"]).await.ok();
                out.stdout.trim().is_empty().then_some(())
            },
        )
        .await;
    }
    let take = || async {
        let mut v = Vec::new();
        for ns in namespaces {
            v.push(net_snapshot(ns).await);
        }
        v
    };
    let mut last = take().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = take().await;
        if now == last {
            return now;
        }
        if std::time::Instant::now() >= deadline {
            panic!("the namespaces' configuration kept changing: {last:#?}\nthen {now:#?}");
        }
        last = now;
    }
}

/// Asserts that iproute2 shows the same as in `before`.
pub async fn assert_unchanged(before: &[NetSnapshot], after_what: &str) {
    for b in before {
        let now = net_snapshot(&b.ns).await;
        assert_eq!(&now, b, "{after_what} changed namespace {}", b.ns);
    }
}

/// `ip netns exec NS ping -c1 -W SECS ARGS…` (rootns: plain ping).
pub async fn ping(ns: &str, wait_secs: u32, args: &[&str]) -> Out {
    let w = wait_secs.to_string();
    let mut full: Vec<&str> = vec!["-n", "-c1", "-W", &w];
    full.extend_from_slice(args);
    if ns == ROOT_NS_NAME {
        run("ping", &full).await
    } else {
        let mut exec = vec!["netns", "exec", ns, "ping"];
        exec.extend(full);
        ip(&exec).await
    }
}

/// Pings until one answer comes (IPv6 addresses need DAD first), within 10 s.
pub async fn ping_until_answered(ns: &str, args: &[&str]) -> Out {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let out = ping(ns, 1, args).await;
        if out.success() || std::time::Instant::now() >= deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs `f` and returns its value with the time it took.
pub async fn timed_call<T, F: Future<Output = T>>(f: F) -> (T, Duration) {
    let start = std::time::Instant::now();
    let v = f.await;
    (v, start.elapsed())
}

/// The tun devices in a namespace (by kind, whatever their names).
pub async fn tun_links(ns: &str) -> Vec<String> {
    links_of_kinds(ns, &["tun"]).await
}

/// The links of a namespace whose kind (`ip -d link`'s info_kind) is one
/// of `kinds`.
pub async fn links_of_kinds(ns: &str, kinds: &[&str]) -> Vec<String> {
    let out = ip_ns(ns, &["-d", "-j", "link", "show"]).await;
    if !out.success() {
        return Vec::new();
    }
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("ip printed no JSON ({e}): {out}"));
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|l| {
            l["linkinfo"]["info_kind"]
                .as_str()
                .is_some_and(|k| kinds.contains(&k))
        })
        .filter_map(|l| l["ifname"].as_str().map(str::to_owned))
        .collect()
}

/// Lines of iproute2 output, trimmed, without empty ones.
pub fn out_lines(out: &Out) -> Vec<String> {
    out.stdout
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Every route of a namespace, IPv4 and IPv6, all tables.
pub async fn all_routes(ns: &str) -> Vec<String> {
    let mut v = out_lines(
        &ip_ns(ns, &["-4", "route", "show", "table", "all"])
            .await
            .ok(),
    );
    v.extend(out_lines(
        &ip_ns(ns, &["-6", "route", "show", "table", "all"])
            .await
            .ok(),
    ));
    v
}

/// The `dev X` of a route line, if it has one.
pub fn route_dev(line: &str) -> Option<&str> {
    let mut w = line.split_whitespace();
    while let Some(x) = w.next() {
        if x == "dev" {
            return w.next();
        }
    }
    None
}

/// Whether a route line sends nothing anywhere (unreachable, prohibit,
/// blackhole, throw).
pub fn route_is_dead_end(line: &str) -> bool {
    matches!(
        line.split_whitespace().next(),
        Some("unreachable" | "prohibit" | "blackhole" | "throw")
    )
}

/// `ip [-n NS] -br link` as (name, state) pairs, the `@peer` suffix cut.
pub async fn brief_links(ns: &str) -> Vec<String> {
    out_lines(&ip_ns(ns, &["-br", "link"]).await.ok())
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .map(|n| n.split('@').next().unwrap_or(n).to_owned())
        .collect()
}
