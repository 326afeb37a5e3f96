//! Dispatcher scripts, as NetworkManager's dispatcher.d: executables in
//! `/etc/netnsd/dispatcher.d` run when a namespace is added or removed, a
//! device moves in or out, an uplink goes up or down, a VPN goes up or
//! down ([docs/dispatcher.md](../../../docs/dispatcher.md)).
//!
//! [`Dispatching`] wraps the bus publisher: it sees every change the
//! manager publishes, turns the ones above into events, and queues them
//! for one OS thread of its own, which runs the scripts — event after event
//! in order, each event's scripts in name order, each with a time limit
//! after which its process group is killed. A failure is logged, never
//! fatal; nothing of this runs on the manager's task or a tokio worker.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use netnsd_api::state::{active as st, vpn as vs};

use crate::manager::{Change, InstanceProperty, Publisher, Registry};
use crate::record::UplinkRecord;

/// Where the scripts are.
pub const DIR: &str = "/etc/netnsd/dispatcher.d";
/// How long a script may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a vpn-up event waits for the tunnel's addresses to be seen.
const ADDRESS_WAIT: Duration = Duration::from_secs(2);
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One event: the action, the namespace, the environment beyond the
/// common variables.
#[derive(Debug, Clone)]
struct Event {
    action: &'static str,
    ns: String,
    env: Vec<(String, String)>,
    /// Filled in on the dispatcher's thread.
    vpn: Option<Vpn>,
}

#[derive(Debug, Clone, Copy)]
enum Vpn {
    /// Active connection, its namespace: wait for the tunnel's addresses.
    Up(u32, u32),
    /// The environment its vpn-up had.
    Down(u32),
}

/// What was announced, so that "down" follows only an "up".
#[derive(Default)]
struct Seen {
    /// Namespace number → its uplink-up environment.
    uplinks: BTreeMap<u32, Vec<(String, String)>>,
    /// Active connections that had vpn-up.
    vpns: BTreeSet<u32>,
}

/// The bus publisher, with the dispatcher watching what passes.
pub struct Dispatching<P> {
    inner: P,
    registry: Registry,
    tx: Mutex<Sender<Event>>,
    seen: Mutex<Seen>,
}

impl<P: Publisher> Dispatching<P> {
    pub fn new(inner: P, registry: Registry, dir: PathBuf, timeout: Duration) -> Self {
        let (tx, rx) = channel();
        let reg = registry.clone();
        let spawned = std::thread::Builder::new()
            .name("dispatcher".into())
            .spawn(move || run(rx, &dir, timeout, &reg));
        if let Err(e) = spawned {
            tracing::error!("cannot start the dispatcher thread: {e}; no scripts will run");
        }
        // Uplinks found at start: their "down" is announced, their "up"
        // was before this daemon.
        let mut seen = Seen::default();
        for (ns, rec) in registry.uplinks.read().iter() {
            seen.uplinks.insert(*ns, uplink_env(rec));
        }
        Dispatching {
            inner,
            registry,
            tx: Mutex::new(tx),
            seen: Mutex::new(seen),
        }
    }

    fn ns_name(&self, ns: u32) -> String {
        self.registry
            .namespaces
            .read()
            .by_number(ns)
            .map(|n| n.name.clone())
            .unwrap_or_default()
    }

    fn events(&self, change: &Change) -> Vec<Event> {
        let ev = |action, ns: String, env| Event {
            action,
            ns,
            env,
            vpn: None,
        };
        let mut seen = self.seen.lock().unwrap();
        let mut out = Vec::new();
        match change {
            Change::NamespaceAdded(ns) => out.push(ev("namespace-added", ns.name.clone(), vec![])),
            Change::NamespaceRemoved(ns) => {
                if let Some(env) = seen.uplinks.remove(&ns.number) {
                    out.push(ev("uplink-down", ns.name.clone(), env));
                }
                out.push(ev("namespace-removed", ns.name.clone(), vec![]));
            }
            Change::DeviceListed {
                device,
                ns,
                internal: false,
                listed,
            } => {
                let devices = self.registry.devices.read();
                let Some(d) = devices.device(*device) else {
                    return out;
                };
                let env = vec![
                    ("DEVICE_IFACE".into(), d.link.name.clone()),
                    ("DEVICE_IFINDEX".into(), d.link.ifindex.to_string()),
                    ("DEVICE_KIND".into(), d.link.kind.clone()),
                ];
                let action = if *listed { "device-in" } else { "device-out" };
                out.push(ev(action, self.ns_name(*ns), env));
            }
            Change::InstanceChanged {
                ns,
                prop: InstanceProperty::Uplink,
            } => {
                let now = self.registry.uplinks.read().get(ns).cloned();
                match (now, seen.uplinks.contains_key(ns)) {
                    (Some(rec), false) => {
                        let env = uplink_env(&rec);
                        seen.uplinks.insert(*ns, env.clone());
                        out.push(ev("uplink-up", self.ns_name(*ns), env));
                    }
                    (None, true) => {
                        let env = seen.uplinks.remove(ns).unwrap_or_default();
                        out.push(ev("uplink-down", self.ns_name(*ns), env));
                    }
                    _ => {}
                }
            }
            Change::ActiveStateChanged {
                active,
                state,
                vpn_state,
                ..
            } => {
                let Some(a) = self.registry.actives.read().get(active).cloned() else {
                    return out;
                };
                if !a.vpn {
                    return out;
                }
                let env = vec![
                    ("CONNECTION_ID".into(), a.id.clone()),
                    ("CONNECTION_UUID".into(), a.uuid.clone()),
                    (
                        "CONNECTION_ACTIVE_PATH".into(),
                        a.object_path().as_str().to_owned(),
                    ),
                    ("NETNSD_UPLINK_NAMESPACE".into(), self.ns_name(a.uplink_ns)),
                ];
                let up = *vpn_state == Some(vs::ACTIVATED);
                let down = matches!(*vpn_state, Some(vs::FAILED) | Some(vs::DISCONNECTED))
                    || state.is_some_and(|s| s >= st::DEACTIVATING);
                if up && seen.vpns.insert(*active) {
                    out.push(Event {
                        vpn: (a.ns != a.uplink_ns).then_some(Vpn::Up(*active, a.ns)),
                        ..ev("vpn-up", self.ns_name(a.ns), env)
                    });
                } else if down && seen.vpns.remove(active) {
                    out.push(Event {
                        vpn: Some(Vpn::Down(*active)),
                        ..ev("vpn-down", self.ns_name(a.ns), env)
                    });
                }
            }
            _ => {}
        }
        out
    }
}

impl<P: Publisher> Dispatching<P> {
    /// Queues the scripts' events of `change`.
    fn dispatch(&self, change: &Change) {
        let events = self.events(change);
        if !events.is_empty() {
            let tx = self.tx.lock().unwrap();
            for e in events {
                let _ = tx.send(e);
            }
        }
    }
}

impl<P: Publisher> Publisher for Dispatching<P> {
    fn publish(&self, change: Change) -> BoxFuture<'_, ()> {
        self.dispatch(&change);
        self.inner.publish(change)
    }

    /// Every change of the batch is an event for the scripts, whatever the
    /// bus leaves out of it.
    fn publish_batch(&self, changes: Vec<Change>) -> BoxFuture<'_, ()> {
        for c in &changes {
            self.dispatch(c);
        }
        self.inner.publish_batch(changes)
    }
}

fn uplink_env(rec: &UplinkRecord) -> Vec<(String, String)> {
    let mut env = vec![(
        "DEVICE_IFACE".to_string(),
        crate::manager::UPLINK_IF.to_string(),
    )];
    match rec {
        UplinkRecord::Veth {
            uplink_ns, host_if, ..
        } => {
            env.push(("NETNSD_UPLINK".into(), "veth".into()));
            env.push(("NETNSD_UPLINK_NAMESPACE".into(), uplink_ns.clone()));
            env.push(("NETNSD_UPLINK_HOST_IFACE".into(), host_if.clone()));
        }
        UplinkRecord::Macvlan {
            uplink_ns,
            parent,
            address,
            gateway,
            dhcp,
            ..
        } => {
            env.push(("NETNSD_UPLINK".into(), "macvlan".into()));
            env.push(("NETNSD_UPLINK_NAMESPACE".into(), uplink_ns.clone()));
            env.push(("NETNSD_UPLINK_PARENT".into(), parent.clone()));
            if *dhcp {
                env.push(("NETNSD_UPLINK_DHCP".into(), "yes".into()));
            }
            env.push(("NETNSD_UPLINK_ADDRESS".into(), address.clone()));
            if let Some(g) = gateway {
                env.push(("NETNSD_UPLINK_GATEWAY".into(), g.clone()));
            }
        }
    }
    env
}

/// The tunnel's interface, addresses and DNS, NetworkManager's VPN_IP4_*
/// and VPN_IP6_* variables; waits a moment for the addresses to be seen.
fn vpn_env(registry: &Registry, ns: u32) -> Vec<(String, String)> {
    let deadline = Instant::now() + ADDRESS_WAIT;
    let (iface, addrs) = loop {
        let found = registry
            .devices
            .read()
            .external_in(ns)
            .first()
            .map(|d| (d.link.name.clone(), d.addresses.clone()));
        match found {
            Some((i, a)) if !a.is_empty() || Instant::now() >= deadline => break (i, a),
            None if Instant::now() >= deadline => break (String::new(), BTreeSet::new()),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let mut env = vec![
        ("VPN_IP_IFACE".to_string(), iface.clone()),
        ("DEVICE_IFACE".to_string(), iface),
    ];
    let (v6, v4): (Vec<&String>, Vec<&String>) = addrs.iter().partition(|a| a.contains(':'));
    for (fam, list) in [("IP4", v4), ("IP6", v6)] {
        for (i, a) in list.iter().enumerate() {
            env.push((format!("VPN_{fam}_ADDRESS_{i}"), (*a).clone()));
        }
        env.push((format!("VPN_{fam}_NUM_ADDRESSES"), list.len().to_string()));
    }
    if let Some(dns) = registry.dns.read().get(&ns) {
        let join = |v6: bool| {
            dns.servers
                .iter()
                .filter(|s| s.is_ipv6() == v6)
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        env.push(("VPN_IP4_NAMESERVERS".into(), join(false)));
        env.push(("VPN_IP6_NAMESERVERS".into(), join(true)));
        env.push(("VPN_IP4_DOMAINS".into(), dns.search.join(" ")));
    }
    env
}

/// The dispatcher's thread: one event at a time, in order.
fn run(rx: Receiver<Event>, dir: &Path, timeout: Duration, registry: &Registry) {
    let mut vpns: HashMap<u32, Vec<(String, String)>> = HashMap::new();
    while let Ok(mut ev) = rx.recv() {
        match ev.vpn {
            Some(Vpn::Up(n, ns)) => {
                let extra = vpn_env(registry, ns);
                vpns.insert(n, extra.clone());
                ev.env.extend(extra);
            }
            Some(Vpn::Down(n)) => ev.env.extend(vpns.remove(&n).unwrap_or_default()),
            None => {}
        }
        for script in scripts(dir) {
            run_one(&script, &ev, timeout);
        }
    }
}

/// One entry of the dispatcher directory as GetDispatcherScripts shows it:
/// its path, whether it runs, and why not.
pub type Listed = (String, bool, String);

/// The directory's entries in name order, each with whether it runs:
/// regular files, executable, owned by root and writable by no one else
/// run; others are refused (as NetworkManager refuses them), with why.
/// Hidden files and editor or package backups are left out.
pub fn list(dir: &Path) -> Vec<Listed> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    names.sort();
    names
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !(name.starts_with('.')
                || name.ends_with('~')
                || name.ends_with(".dpkg-new")
                || name.ends_with(".dpkg-old")
                || name.ends_with(".rpmsave")
                || name.ends_with(".rpmnew"))
        })
        .map(|p| {
            let shown = p.display().to_string();
            match check(&p) {
                Ok(true) => (shown, true, String::new()),
                Ok(false) => (shown, false, "not an executable file".into()),
                Err(why) => (shown, false, why),
            }
        })
        .collect()
}

/// The scripts to run, in name order (see [`list`]); the refused ones are
/// logged.
fn scripts(dir: &Path) -> Vec<PathBuf> {
    list(dir)
        .into_iter()
        .filter_map(|(path, runs, why)| {
            if !runs && why != "not an executable file" {
                tracing::warn!("dispatcher: not running {path}: {why}");
            }
            runs.then(|| PathBuf::from(path))
        })
        .collect()
}

/// Ok(true): run it; Ok(false): not a script (skipped quietly); Err: refused.
fn check(p: &Path) -> Result<bool, String> {
    let m = std::fs::metadata(p).map_err(|e| e.to_string())?;
    if !m.is_file() {
        return Ok(false);
    }
    let mode = m.permissions().mode();
    if mode & 0o111 == 0 {
        return Ok(false);
    }
    if m.uid() != 0 {
        return Err(format!("owned by uid {}, not root", m.uid()));
    }
    if mode & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:o})",
            mode & 0o7777
        ));
    }
    Ok(true)
}

fn run_one(script: &Path, ev: &Event, timeout: Duration) {
    let shown = script.display().to_string();
    let mut cmd = Command::new(script);
    cmd.arg(&ev.ns)
        .arg(ev.action)
        .env_clear()
        .env("PATH", PATH)
        .env("NETNSD_DISPATCHER_ACTION", ev.action)
        .env("NETNSD_NAMESPACE", &ev.ns)
        .env(
            "NETNSD_NAMESPACE_PATH",
            if ev.ns == netnsd_api::ROOT_NS_NAME {
                String::new()
            } else {
                format!("{}/{}", netnsd_api::NETNS_RUN_DIR, ev.ns)
            },
        )
        .envs(ev.env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Its own process group: a timeout kills what it started too.
        .process_group(0);
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("dispatcher: {shown} {}: cannot run it: {e}", ev.action);
            return;
        }
    };
    if let Some(err) = child.stderr.take() {
        let shown = shown.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                tracing::info!(target: "netnsd::dispatcher", "{shown}: {line}");
            }
        });
    }
    let pid = child.id() as i32;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                if status.success() {
                    tracing::debug!("dispatcher: {shown} {} done", ev.action);
                } else {
                    tracing::warn!("dispatcher: {shown} {} failed: {status}", ev.action);
                }
                return;
            }
            Ok(None) if started.elapsed() >= timeout => {
                tracing::warn!(
                    "dispatcher: {shown} {} ran longer than {timeout:?}; killed",
                    ev.action
                );
                // SAFETY: a signal to the process group the child leads.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                let _ = child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                tracing::warn!("dispatcher: {shown} {}: {e}", ev.action);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_scripts_run_in_name_order() {
        let dir = std::env::temp_dir().join(format!("netnsd-dispatch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mk = |name: &str, mode: u32| {
            let p = dir.join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        mk("20-b", 0o755);
        mk("10-a", 0o700);
        mk("30-world", 0o777);
        mk("40-noexec", 0o644);
        mk(".hidden", 0o755);
        mk("50-c~", 0o755);
        let names: Vec<String> = scripts(&dir)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let root = nix::unistd::geteuid().is_root();
        if root {
            assert_eq!(names, ["10-a", "20-b"]);
        } else {
            assert!(names.is_empty(), "not root-owned: {names:?}");
        }
        assert!(check(&dir.join("30-world")).is_err());
        assert_eq!(check(&dir.join("40-noexec")), Ok(false));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
