//! netnsd over the bus: AddNetworkNamespaceWithOptions with a veth uplink,
//! NAT and DNS (polkit check included, as root) and RemoveNetworkNamespace;
//! with the largest population alive, the read calls, TakeDevice and
//! running a program in a namespace; and the daemon's memory, descriptors
//! and idle wake-ups.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use netnsd_api::proxy::{NetNsInstanceProxy, NetNsPlatformProxy, NetworkNamespacesControllerProxy};
use netnsd_api::{BUS_NAME, ROOT_PATH};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use zbus::Connection;
use zbus::names::BusName;
use zbus::proxy::CacheProperties;
use zbus::wire::{ObjectPath, OwnedVariant, Variant};

use crate::procfs::{Idle, Usage, idle_window};
use crate::scale::Subject;
use crate::stats::Samples;
use crate::{DNS_SERVERS, err};

const START_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A netnsd started for the benchmark; SIGTERM on drop.
pub struct Daemon {
    child: Option<Child>,
    pub pid: u32,
    log: PathBuf,
}

impl Daemon {
    /// Starts `bin` with `RUST_LOG=rust_log`, its output in `log`, and waits
    /// until it owns net.netnsd.Netns1.
    pub async fn start(
        bin: &Path,
        rust_log: &str,
        env: &[(String, String)],
        log: &Path,
    ) -> Result<Daemon, String> {
        let file =
            std::fs::File::create(log).map_err(|e| format!("create {}: {e}", log.display()))?;
        let out = file.try_clone().map_err(err("dup the log file"))?;
        let child = Command::new(bin)
            .env("RUST_LOG", rust_log)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(file)
            .spawn()
            .map_err(|e| format!("start {}: {e}", bin.display()))?;
        let mut d = Daemon {
            pid: child.id(),
            child: Some(child),
            log: log.to_owned(),
        };
        let conn = Connection::system()
            .await
            .map_err(err("connect to the system bus"))?;
        let dbus = zbus::fdo::DBusProxy::new(&conn)
            .await
            .map_err(err("bus proxy"))?;
        let name = BusName::try_from(BUS_NAME).map_err(err("bus name"))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = d.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                d.child = None;
                return Err(format!(
                    "netnsd exited during start-up ({status})\n{}",
                    d.log_tail(40)
                ));
            }
            if dbus.get_connection_unix_process_id(name.clone()).await.ok() == Some(d.pid) {
                return Ok(d);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "netnsd did not own {BUS_NAME} within {START_TIMEOUT:?}\n{}",
                    d.log_tail(40)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!(
            "--- last lines of {} ---\n{tail}\n--- end ---",
            self.log.display()
        )
    }

    /// SIGTERM, and wait for it to exit.
    pub async fn stop(mut self) -> Result<(), String> {
        self.stop_inner().await
    }

    async fn stop_inner(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("netnsd ignored SIGTERM for {STOP_TIMEOUT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The options of every namespace the benchmark makes over the bus.
pub fn ns_options() -> Result<HashMap<String, OwnedVariant>, String> {
    let mut o = HashMap::new();
    o.insert(
        "uplink".to_owned(),
        OwnedVariant::try_from(Variant::from("veth")).map_err(err("option"))?,
    );
    let dns: Vec<String> = DNS_SERVERS.iter().map(|s| s.to_string()).collect();
    o.insert(
        "dns".to_owned(),
        OwnedVariant::try_from(Variant::from(dns)).map_err(err("option"))?,
    );
    Ok(o)
}

/// GetManagedObjects's reply decoded without copying: paths, names and
/// strings borrowed from the message.
type Borrowed<'m> = HashMap<ObjectPath<'m>, HashMap<&'m str, HashMap<&'m str, Variant<'m>>>>;

/// The client's part alone: one reply decoded `iters` times each way,
/// typed and borrowed, without the bus (printed, not reported).
fn decoding_alone(reply: &zbus::Message, iters: usize, alive: usize) -> Result<(), String> {
    let body = reply.body();
    let mut typed = Samples::new();
    let mut borrowed = Samples::new();
    let (mut typed_count, mut borrowed_count) = (0, 0);
    for _ in 0..iters {
        let t = Instant::now();
        let objs: zbus::fdo::ManagedObjects = body
            .deserialize()
            .map_err(err("GetManagedObjects (typed)"))?;
        typed_count = objs.len();
        drop(objs);
        typed.push(t.elapsed());
        let t = Instant::now();
        let objs: Borrowed<'_> = body
            .deserialize()
            .map_err(err("GetManagedObjects (borrowed)"))?;
        borrowed_count = objs.len();
        drop(objs);
        borrowed.push(t.elapsed());
    }
    eprintln!(
        "bench: daemon: GetManagedObjects at {alive}: the reply decoded alone, p50: typed {:.3} ms, borrowed {:.3} ms",
        typed.p50(),
        borrowed.p50()
    );
    // The same reply both ways: the calls above may differ by a host end
    // the kernel deletes after its namespace's removal was answered.
    if typed_count != borrowed_count {
        return Err(format!(
            "GetManagedObjects at {alive}: one reply decoded to {typed_count} objects typed, {borrowed_count} borrowed"
        ));
    }
    Ok(())
}

/// Everything measured of the daemon besides the scaling run.
#[derive(Debug, Default)]
pub struct Extras {
    pub usage: Vec<Usage>,
    pub idle: Vec<Idle>,
    /// (operation, alive, samples)
    pub ops: Vec<(String, usize, Samples)>,
    pub notes: Vec<String>,
    /// Operations that failed (the run goes on without their figures).
    pub failures: Vec<String>,
    /// (alive, objects) GetManagedObjects returned at each size it ran.
    pub managed_objects: Vec<(usize, usize)>,
    /// Plain namespaces (AddNetworkNamespace, no uplink) made one after
    /// another from 0 to the largest size, in order.
    pub plain_growth: Samples,
}

impl Extras {
    pub fn to_json(&self) -> Value {
        json!({
            "usage": self.usage.iter().map(Usage::to_json).collect::<Vec<_>>(),
            "idle": self.idle.iter().map(Idle::to_json).collect::<Vec<_>>(),
            "ops": self.ops.iter().map(|(op, alive, s)| {
                let mut v = s.to_json();
                v["op"] = json!(op);
                v["alive"] = json!(alive);
                v
            }).collect::<Vec<_>>(),
            "notes": self.notes,
            "failures": self.failures,
            "managed_objects": self.managed_objects,
            "plain_growth": self.plain_growth.to_json(),
        })
    }
}

pub struct DaemonSubject {
    pub conn: Connection,
    ctl: NetworkNamespacesControllerProxy<'static>,
    options: HashMap<String, OwnedVariant>,
    pub pid: u32,
    pub nsctl: Option<PathBuf>,
    pub iterations: usize,
    pub idle: Duration,
    pub settle: Duration,
    /// Move one device back and forth throughout, instead of a fresh one
    /// per round trip.
    pub take_one_device: bool,
    pub extras: Extras,
    /// The first two namespaces of the population (for TakeDevice and exec).
    prefix: String,
}

impl DaemonSubject {
    pub async fn new(
        pid: u32,
        prefix: &str,
        nsctl: Option<PathBuf>,
        iterations: usize,
        idle: Duration,
        settle: Duration,
    ) -> Result<Self, String> {
        let conn = Connection::system()
            .await
            .map_err(err("connect to the system bus"))?;
        let ctl = NetworkNamespacesControllerProxy::builder(&conn)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(err("controller proxy"))?;
        Ok(DaemonSubject {
            conn,
            ctl,
            options: ns_options()?,
            pid,
            nsctl,
            iterations,
            idle,
            settle,
            take_one_device: false,
            extras: Extras::default(),
            prefix: prefix.to_owned(),
        })
    }

    pub fn usage(&mut self, label: &str, alive: usize) -> Result<(), String> {
        let u = Usage::of(self.pid, label, alive)?;
        eprintln!(
            "bench: daemon: {label}: VmRSS {:.1} MB, {} fds, {} threads",
            u.rss_mb(),
            u.fds,
            u.threads
        );
        self.extras.usage.push(u);
        Ok(())
    }

    pub async fn idle(&mut self, alive: usize) -> Result<(), String> {
        eprintln!(
            "bench: daemon: idle window of {:.0} s with {alive} namespaces, {:.0} s after the last call",
            self.idle.as_secs_f64(),
            self.settle.as_secs_f64()
        );
        // Let the last call's after-effects settle: tokio's blocking-pool
        // threads end 10 s after their last job.
        tokio::time::sleep(self.settle).await;
        let i = idle_window(self.pid, alive, self.idle).await?;
        self.extras.idle.push(i);
        Ok(())
    }

    fn op(&mut self, name: &str, alive: usize, s: Samples) {
        eprintln!(
            "bench: daemon: {name} at {alive}: p50 {:.3} ms, p99 {:.3} ms",
            s.p50(),
            s.p99()
        );
        self.extras.ops.push((name.to_owned(), alive, s));
    }

    /// The cost of reaching the daemon and polkit at all: a read-only call
    /// (GetNetworkNamespaceByName "rootns") and polkit's CheckAuthorization
    /// for this connection, asked directly.
    pub async fn probes(&mut self, alive: usize) -> Result<(), String> {
        let mut rt = Samples::new();
        for _ in 0..self.iterations.max(20) {
            let t = Instant::now();
            self.ctl
                .get_network_namespace_by_name(netnsd_api::ROOT_NS_NAME)
                .await
                .map_err(err("GetNetworkNamespaceByName"))?;
            rt.push(t.elapsed());
        }
        self.op("bus round trip (GetNetworkNamespaceByName)", alive, rt);
        let mut pk = Samples::new();
        let me = self
            .conn
            .unique_name()
            .ok_or("the bus connection has no unique name")?
            .to_string();
        for _ in 0..self.iterations.max(20) {
            let mut details: HashMap<&str, Variant<'_>> = HashMap::new();
            details.insert("name", Variant::from(me.as_str()));
            let subject = ("system-bus-name", details);
            let t = Instant::now();
            let reply = self
                .conn
                .call_method(
                    Some("org.freedesktop.PolicyKit1"),
                    "/org/freedesktop/PolicyKit1/Authority",
                    Some("org.freedesktop.PolicyKit1.Authority"),
                    "CheckAuthorization",
                    &(
                        subject,
                        netnsd_api::actions::MANAGE_NAMESPACES,
                        HashMap::<&str, &str>::new(),
                        0u32,
                        "",
                    ),
                )
                .await
                .map_err(err("polkit CheckAuthorization"))?;
            pk.push(t.elapsed());
            let (authorized, _, _): (bool, bool, HashMap<String, String>) =
                reply.body().deserialize().map_err(err("polkit's reply"))?;
            if !authorized {
                return Err("polkit does not authorize root for manage-namespaces".into());
            }
        }
        self.op("polkit CheckAuthorization (asked directly)", alive, pk);
        Ok(())
    }

    /// ListNetworkNamespaces, GetManagedObjects and TakeDevice (running a
    /// program is timed at every size, see `at_size`).
    async fn ops(&mut self, alive: usize) -> Result<(), String> {
        let iters = self.iterations;
        let mut s = Samples::new();
        let mut count = 0;
        for _ in 0..iters {
            let t = Instant::now();
            count = self
                .ctl
                .list_network_namespaces()
                .await
                .map_err(err("ListNetworkNamespaces"))?
                .len();
            s.push(t.elapsed());
        }
        if count != alive + 1 {
            return Err(format!(
                "ListNetworkNamespaces listed {count} namespaces, expected {} (rootns and {alive})",
                alive + 1
            ));
        }
        self.op("ListNetworkNamespaces", alive, s);

        let om = zbus::fdo::ObjectManagerProxy::builder(&self.conn)
            .destination(BUS_NAME)
            .path(ROOT_PATH)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(err("object manager proxy"))?;
        let mut s = Samples::new();
        for _ in 0..iters {
            let t = Instant::now();
            let objs = om
                .get_managed_objects()
                .await
                .map_err(err("GetManagedObjects"))?;
            s.push(t.elapsed());
            count = objs.len();
        }
        self.extras.managed_objects.retain(|(n, _)| *n != alive);
        self.extras.managed_objects.push((alive, count));
        self.op("GetManagedObjects", alive, s);

        // The same call with the reply left unparsed: the daemon's part and
        // the bus's, without the client's decoding into maps of variants;
        // the CPU the daemon and the bus spent on it, per call.
        let bus = self.bus_pid().await;
        let cpu = |pid: Option<u32>| pid.and_then(|p| crate::procfs::cpu_ns(p).ok());
        let before = (cpu(Some(self.pid)), cpu(bus));
        let mut s = Samples::new();
        let mut size = 0;
        for _ in 0..iters {
            let t = Instant::now();
            let reply = self.get_managed_objects().await?;
            s.push(t.elapsed());
            size = reply.data().len();
            if let Some(file) = std::env::var_os("NETNSD_BENCH_DUMP_MANAGED_OBJECTS") {
                std::fs::write(&file, &reply.body().data()[..])
                    .map_err(err("write the GetManagedObjects dump"))?;
            }
        }
        let after = (cpu(Some(self.pid)), cpu(bus));
        let per_call = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) if iters > 0 => {
                format!("{:.2} ms", (b - a) as f64 / 1e6 / iters as f64)
            }
            _ => "?".to_owned(),
        };
        eprintln!(
            "bench: daemon: GetManagedObjects at {alive}: reply {size} bytes; CPU a call: netnsd {}, dbus-daemon {} ({iters} calls)",
            per_call(before.0, after.0),
            per_call(before.1, after.1),
        );
        self.op("GetManagedObjects, reply not parsed", alive, s);

        // Decoded without copying: paths, names and strings borrowed from
        // the message, as a client that reads the reply once can.
        let mut s = Samples::new();
        let mut last = None;
        for _ in 0..iters {
            let t = Instant::now();
            let reply = self.get_managed_objects().await?;
            let body = reply.body();
            let objs: Borrowed<'_> = body
                .deserialize()
                .map_err(err("GetManagedObjects (borrowed)"))?;
            drop(objs);
            s.push(t.elapsed());
            last = Some(reply);
        }
        self.op("GetManagedObjects, decoded borrowed", alive, s);
        if let Some(reply) = last {
            decoding_alone(&reply, iters, alive)?;
        }

        if let Err(e) = self.take_device(alive).await {
            self.failed("TakeDevice", e);
        }
        if let Err(e) = self.ip_link_move(alive) {
            self.failed("ip link set DEV netns", e);
        }
        Ok(())
    }

    /// GetManagedObjects, the reply as it came.
    async fn get_managed_objects(&self) -> Result<zbus::Message, String> {
        self.conn
            .call_method(
                Some(BUS_NAME),
                ROOT_PATH,
                Some("org.freedesktop.DBus.ObjectManager"),
                "GetManagedObjects",
                &(),
            )
            .await
            .map_err(err("GetManagedObjects (unparsed)"))
    }

    /// The bus daemon's pid, as it tells it (none if it does not).
    async fn bus_pid(&self) -> Option<u32> {
        let dbus = zbus::fdo::DBusProxy::new(&self.conn).await.ok()?;
        let name = BusName::try_from("org.freedesktop.DBus").ok()?;
        dbus.get_connection_unix_process_id(name).await.ok()
    }

    /// An operation that failed is reported, and the run goes on.
    pub fn failed(&mut self, what: &str, e: String) {
        eprintln!("bench: daemon: {what} FAILED: {e}");
        self.extras.failures.push(format!("{what}: {e}"));
    }

    /// For comparison with TakeDevice: the same move made with iproute2,
    /// `ip -n A link set DEV netns B` and back.
    fn ip_link_move(&mut self, alive: usize) -> Result<(), String> {
        let a = format!("{}-0", self.prefix);
        let b = format!("{}-1", self.prefix);
        crate::recipe::sh(
            "ip",
            &[
                "-n",
                &a,
                "link",
                "add",
                "bench-ip0",
                "type",
                "veth",
                "peer",
                "name",
                "bench-ip1",
            ],
        )?;
        let mut s = Samples::new();
        let r = (|| {
            for _ in 0..self.iterations.div_ceil(2) {
                for (from, to) in [(&a, &b), (&b, &a)] {
                    let t = Instant::now();
                    crate::recipe::sh(
                        "ip",
                        &["-n", from, "link", "set", "bench-ip0", "netns", to],
                    )?;
                    s.push(t.elapsed());
                }
            }
            Ok::<_, String>(())
        })();
        let deleted = crate::recipe::sh("ip", &["-n", &a, "link", "del", "bench-ip0"]);
        r?;
        deleted?;
        self.op(
            "ip link set DEV netns NS (iproute2, for comparison)",
            alive,
            s,
        );
        Ok(())
    }

    async fn ns_path(&self, name: &str) -> Result<String, String> {
        Ok(self
            .ctl
            .get_network_namespace_by_name(name)
            .await
            .map_err(err("GetNetworkNamespaceByName"))?
            .to_string())
    }

    async fn platform(&self, path: &str) -> Result<NetNsPlatformProxy<'static>, String> {
        NetNsPlatformProxy::builder(&self.conn)
            .path(path.to_owned())
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(err("instance proxy"))
    }

    /// A veth end moved from the first namespace to the second and back.
    /// Each round trip uses a fresh veth: moving one device back and forth
    /// for more than 2 s trips a daemon bug (a stale 2 s expiry timer of an
    /// earlier move drops the device object in the middle of a later move,
    /// and the next TakeDevice answers UnknownDevice); `--take-one-device`
    /// shows it.
    async fn take_device(&mut self, alive: usize) -> Result<(), String> {
        let a_path = self.ns_path(&format!("{}-0", self.prefix)).await?;
        let b_path = self.ns_path(&format!("{}-1", self.prefix)).await?;
        let a = self.platform(&a_path).await?;
        let b = self.platform(&b_path).await?;
        let a_obj = ObjectPath::try_from(a_path.as_str()).map_err(err("path"))?;
        let rounds = self.iterations.div_ceil(2);
        let fresh = !self.take_one_device;
        let mut s = Samples::new();
        let mut dev = None;
        for round in 0..rounds {
            if dev.is_none() {
                let name = format!("bench-tk{round}");
                let (d, _peer) = a
                    .add_veth(&name, &format!("bench-tp{round}"), &a_obj, HashMap::new())
                    .await
                    .map_err(err("AddVeth"))?;
                dev = Some(d);
            }
            let d = dev.clone().expect("made above");
            let mut r = Ok(());
            for to in [&b, &a] {
                let t = Instant::now();
                r = to.take_device(&d.as_ref(), 10_000).await;
                if r.is_err() {
                    break;
                }
                s.push(t.elapsed());
            }
            if fresh || round + 1 == rounds || r.is_err() {
                let deleted = a.delete_device(&d.as_ref()).await;
                dev = None;
                r.map_err(err("TakeDevice"))?;
                deleted.map_err(err("DeleteDevice after the moves"))?;
            }
        }
        self.op("TakeDevice (veth end, there and back)", alive, s);
        Ok(())
    }

    /// /bin/true in a namespace, three ways taken in turn in each iteration
    /// (so that the machine's load weighs on all three alike): the `nsctl
    /// exec NS -- true` binary, fork and exec and all (when nsctl has it);
    /// NetNsInstance.Spawn over the bus until ProcessExited (what nsctl
    /// exec does, without starting a client); and `ip netns exec NS true`.
    async fn exec(&mut self, alive: usize) -> Result<(), String> {
        let ns = format!("{}-0", self.prefix);
        let nsctl = self.nsctl.clone().filter(|n| {
            Command::new(n)
                .args(["exec", "--help"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        if nsctl.is_none() {
            self.extras.notes.push(
                "nsctl has no `exec` subcommand in this build: only NetNsInstance.Spawn of \
                 /bin/true over the bus was timed"
                    .into(),
            );
        }
        let path = self.ns_path(&ns).await?;
        let inst = NetNsInstanceProxy::builder(&self.conn)
            .path(path)
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(err("instance proxy"))?;
        let mut exited = inst
            .receive_process_exited()
            .await
            .map_err(err("subscribe to ProcessExited"))?;
        let (mut by_nsctl, mut by_spawn, mut by_ip) =
            (Samples::new(), Samples::new(), Samples::new());
        let run = |program: &Path, args: &[&str]| -> Result<Duration, String> {
            let t = Instant::now();
            let st = Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("{} {}: {e}", program.display(), args.join(" ")))?;
            let d = t.elapsed();
            if !st.success() {
                return Err(format!("{} {}: {st}", program.display(), args.join(" ")));
            }
            Ok(d)
        };
        for _ in 0..self.iterations {
            if let Some(nsctl) = &nsctl {
                by_nsctl.push(run(nsctl, &["exec", &ns, "--", "true"])?);
            }
            let t = Instant::now();
            let pid = inst
                .spawn(
                    &["/bin/true"],
                    HashMap::new(),
                    "/",
                    HashMap::new(),
                    HashMap::new(),
                )
                .await
                .map_err(err("Spawn"))?;
            let status = tokio::time::timeout(Duration::from_secs(10), async {
                while let Some(sig) = exited.next().await {
                    if let Ok(a) = sig.args()
                        && a.pid == pid
                    {
                        return Some(a.status);
                    }
                }
                None
            })
            .await
            .map_err(|_| format!("no ProcessExited for pid {pid} within 10 s"))?
            .ok_or("the ProcessExited stream ended")?;
            by_spawn.push(t.elapsed());
            if status != 0 {
                return Err(format!("/bin/true in {ns} ended with status {status}"));
            }
            by_ip.push(run(Path::new("ip"), &["netns", "exec", &ns, "true"])?);
        }
        if nsctl.is_some() {
            self.op(NSCTL_EXEC, alive, by_nsctl);
        }
        self.op(SPAWN_EXEC, alive, by_spawn);
        self.op(IP_EXEC, alive, by_ip);
        Ok(())
    }
}

/// The names of the three ways of running a program in the report.
pub const NSCTL_EXEC: &str = "nsctl exec NS -- true";
pub const SPAWN_EXEC: &str = "Spawn /bin/true until ProcessExited";
pub const IP_EXEC: &str = "ip netns exec NS true";

impl DaemonSubject {
    /// Plain namespaces (AddNetworkNamespace: no uplink, no DNS) made one
    /// after another up to `n`, each timed, then all removed: how creation
    /// grows with the population without the uplinks' costs.
    pub async fn plain_growth(&mut self, n: usize) -> Result<(), String> {
        eprintln!("bench: daemon: plain namespaces, growing to {n} and removing them all");
        let names: Vec<String> = (0..n).map(|i| format!("{}p-{i}", self.prefix)).collect();
        let mut made = 0;
        let mut r = Ok(());
        let mut s = Samples::new();
        for name in &names {
            let t = Instant::now();
            if let Err(e) = self.ctl.add_network_namespace(name).await {
                r = Err(format!("create {name}: {e}"));
                break;
            }
            s.push(t.elapsed());
            made += 1;
        }
        for name in names[..made].iter().rev() {
            if let Err(e) = self.remove(name).await {
                r = r.and(Err(format!("remove {name}: {e}")));
            }
        }
        self.extras.plain_growth = s;
        r
    }

    /// Another round of growing to `n` and removing everything, for the
    /// memory figures: does the daemon give back what it took?
    pub async fn churn(&mut self, n: usize, round: usize) -> Result<(), String> {
        eprintln!("bench: daemon: round {round}: growing to {n} and removing them all");
        let names: Vec<String> = (0..n)
            .map(|i| format!("{}r{round}-{i}", self.prefix))
            .collect();
        let mut made = 0;
        let mut r = Ok(());
        for name in &names {
            if let Err(e) = self.create(name).await {
                r = Err(format!("create {name}: {e}"));
                break;
            }
            made += 1;
        }
        if r.is_ok() {
            self.usage(&format!("{n} namespaces, round {round}"), n)?;
        }
        for name in names[..made].iter().rev() {
            if let Err(e) = self.remove(name).await {
                r = r.and(Err(format!("remove {name}: {e}")));
            }
        }
        r?;
        self.usage(&format!("0 after round {round}"), 0)
    }
}

impl Subject for DaemonSubject {
    async fn create(&mut self, name: &str) -> Result<(), String> {
        self.ctl
            .add_network_namespace_with_options(name, self.options.clone())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn remove(&mut self, name: &str) -> Result<(), String> {
        self.ctl
            .remove_network_namespace(name)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn at_size(&mut self, alive: usize, largest: bool) -> Result<(), String> {
        self.usage(&format!("{alive} namespaces"), alive)?;
        // Running a program, at every size: it grows with the mount table.
        if let Err(e) = self.exec(alive).await {
            self.failed("exec", e);
        }
        // The read calls at the largest size, and at 1000 (issue 18's size
        // for GetManagedObjects).
        if largest || alive == 1000 {
            self.ops(alive).await?;
        }
        if largest {
            self.idle(alive).await?;
        }
        Ok(())
    }
}
