//! The harness every integration test starts from: the sandbox guard, one
//! test at a time with a clean state ([`TestEnv`]), the daemon ([`Daemon`]),
//! the bus's basic proxies, the host's own state (/run/netns, /etc/netns,
//! the daemon's records), external commands with a timeout (ip, busctl,
//! gdbus, nsctl, as root or as another user), and polkit rules files.
//!
//! The tests run as root inside the sandbox that `tests/run` builds with
//! `tests/sandbox/enter`: fresh mount, network and pid namespaces, tmpfs on
//! `/run`, overlays over `/etc`, `/var/lib`, `/usr/share/dbus-1` and
//! `/usr/share/polkit-1`, a private `dbus-daemon --system` and a real polkitd.
//! [`Sandbox::check`] refuses to go on anywhere else.
//!
//! Every test starts with a [`TestEnv`] (one test at a time, a clean
//! `/run/netns`, `/run/netnsd`, `/etc/netns` and polkit rules directory before
//! and after) and runs its body under [`timed`], so a hang fails instead of
//! blocking the suite. The daemon is started with [`Daemon::start`]; its log
//! goes to a file under /tmp and is printed when the test fails.

use std::collections::BTreeSet;
use std::future::Future;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub use netnsd_api::names::*;
pub use netnsd_api::proxy::{NetNsInstanceProxy, NetworkNamespacesControllerProxy};
pub use netnsd_api::{Error as ApiError, namespace_path};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use zbus::names::BusName;
use zbus::proxy::CacheProperties;
use zbus::{Connection, OwnedObjectPath};

/// How long one test may run before it fails as hung.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(90);
/// How long one external command (ip, busctl, gdbus, nsctl) may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the daemon may take to own its bus name.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the daemon may take to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// A namespace made or removed with `ip netns` must show on the bus within this.
pub const WATCH_TIMEOUT: Duration = Duration::from_secs(3);
/// How long to wait for a signal that must come.
pub const SIGNAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Test users, made by tests/sandbox/inner in the sandbox's /etc.
pub const NOBODY_UID: u32 = 65534;
/// Member of [`ADMIN_GROUP`].
pub const ADMIN_UID: u32 = 4242;
pub const ADMIN_USER: &str = "nsadmin";
pub const ADMIN_GROUP: &str = "netns-admins";
/// An ordinary user in no special group.
pub const PLAIN_UID: u32 = 4243;

/// The polkit action that guards adding and removing namespaces.
pub const MANAGE_ACTION: &str = netnsd_api::actions::MANAGE_NAMESPACES;

/// The rule of docs/bus-api.md (Authorization): members of netns-admins may do everything netnsd offers.
pub const GRANT_ADMINS_RULE: &str = r#"polkit.addRule(function(action, subject) {
    if (action.id.indexOf("net.netnsd.Netns1.") == 0 && subject.isInGroup("netns-admins"))
        return polkit.Result.YES;
});
"#;

const POLKIT_RULES_DIR: &str = "/etc/polkit-1/rules.d";
const RECORDS_DIR: &str = "/run/netnsd";

// ---------------------------------------------------------------------------
// The sandbox

/// Guards against running anywhere but in the sandbox.
pub struct Sandbox;

impl Sandbox {
    /// Panics with a clear message unless this process is in the sandbox of
    /// `tests/sandbox/enter`: NETNSD_SANDBOX=1, a network namespace that is not
    /// the host's, and `/run` (so `/run/netns`) on a tmpfs.
    pub fn check() {
        const HOW: &str = "the integration tests change network namespaces, /run and /etc: \
                           they run only inside the sandbox; run them with `sudo tests/run`";
        if std::env::var("NETNSD_SANDBOX").as_deref() != Ok("1") {
            panic!("NETNSD_SANDBOX is not 1: {HOW}");
        }
        let host: u64 = std::env::var("NETNSD_HOST_NETNS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("NETNSD_HOST_NETNS is not set: {HOW}"));
        let own = own_netns_inode();
        assert_ne!(own, host, "this is the host's network namespace: {HOW}");
        for dir in ["/run", NETNS_RUN_DIR] {
            if Path::new(dir).exists() {
                let fs = nix::sys::statfs::statfs(dir).expect("statfs");
                assert!(
                    fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC,
                    "{dir} is not on a tmpfs: {HOW}"
                );
            }
        }
        assert!(
            Path::new("/run/dbus/system_bus_socket").exists(),
            "no system bus in the sandbox: {HOW}"
        );
    }
}

static ONE_TEST_AT_A_TIME: Mutex<()> = Mutex::new(());

/// One test's hold on the sandbox: only one test at a time, and the state it
/// leaves (namespaces, records, polkit rules, /etc/netns) is cleaned before
/// and after it.
pub struct TestEnv {
    _guard: MutexGuard<'static, ()>,
}

impl TestEnv {
    pub fn new() -> Self {
        Sandbox::check();
        let guard = ONE_TEST_AT_A_TIME
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        reset_state();
        TestEnv { _guard: guard }
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        reset_state();
    }
}

/// Kills any netnsd left running, removes every named namespace (with
/// `ip netns del`, as a user would), the daemon's records, /etc/netns and the
/// tests' polkit rules.
fn reset_state() {
    kill_stray_daemons();
    for name in run_netns_entries() {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let path = Path::new(NETNS_RUN_DIR).join(&name);
        if path.exists() {
            let _ = nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH);
            let _ = std::fs::remove_file(&path);
        }
    }
    let _ = std::fs::remove_dir_all(RECORDS_DIR);
    // Declared namespaces and dispatcher scripts a test left would act in
    // the next test's daemon.
    for dir in ["/etc/netnsd/namespaces.d", "/etc/netnsd/dispatcher.d"] {
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Ok(dir) = std::fs::read_dir(NETNS_ETC_DIR) {
        for e in dir.flatten() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    if let Ok(dir) = std::fs::read_dir(POLKIT_RULES_DIR) {
        for e in dir.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Any process running the netnsd binary that no [`Daemon`] guard owns any
/// more, and any VPN client an earlier test left running (a daemon stopped
/// with a connection up leaves its client behind): every test starts
/// without them.
fn kill_stray_daemons() {
    let Ok(bin) = std::fs::canonicalize(netnsd_bin()) else {
        return;
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in procs.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == std::process::id() as i32 {
            continue;
        }
        let Ok(exe) = std::fs::read_link(e.path().join("exe")) else {
            continue;
        };
        let what = if exe == bin {
            "netnsd"
        } else if VPN_CLIENT_BINS.iter().any(|b| exe == Path::new(b)) {
            "VPN client"
        } else {
            continue;
        };
        eprintln!(
            "harness: killing a stray {what}, pid {pid} ({})",
            exe.display()
        );
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Runs a test body with [`TEST_TIMEOUT`]; a hang fails the test. On
/// timeout the body is dropped while the test panics, so a running daemon's
/// log is printed.
pub async fn timed<F: Future>(body: F) -> F::Output {
    timed_within(TEST_TIMEOUT, body).await
}

/// [`timed`] with a limit of its own, for a test that repeats a slow step
/// many times (its time grows with the machine's load).
pub async fn timed_within<F: Future>(limit: Duration, body: F) -> F::Output {
    let mut body = std::pin::pin!(body);
    match tokio::time::timeout(limit, body.as_mut()).await {
        Ok(v) => v,
        Err(_) => panic!("test timed out after {limit:?}"),
    }
}

/// Polls `check` every 50 ms until it returns Some, or panics with `what`
/// after `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------
// Binaries

fn bin_from_env(var: &str) -> PathBuf {
    let p = std::env::var_os(var).unwrap_or_else(|| {
        panic!("{var} is not set: tests/run sets it to the built binary; run `sudo tests/run`")
    });
    let p = PathBuf::from(p);
    assert!(
        p.is_absolute(),
        "{var}={} is not an absolute path",
        p.display()
    );
    p
}

/// target/debug/netnsd, from NETNSD_BIN.
pub fn netnsd_bin() -> PathBuf {
    bin_from_env("NETNSD_BIN")
}

/// target/debug/nsctl, from NSCTL_BIN.
pub fn nsctl_bin() -> PathBuf {
    bin_from_env("NSCTL_BIN")
}

pub const OPENVPN_BIN: &str = "/usr/sbin/openvpn";
pub const OPENCONNECT_BIN: &str = "/usr/sbin/openconnect";
pub const WG_GO_BIN: &str = "/usr/bin/wireguard-go";

/// The VPN clients the daemon runs. (The VPN rig runs some of them as
/// servers.)
pub const VPN_CLIENT_BINS: &[&str] = &[OPENVPN_BIN, OPENCONNECT_BIN, WG_GO_BIN];

/// The repository's root (for dbus-interfaces/ and the like).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

// ---------------------------------------------------------------------------
// The daemon

static DAEMON_RUNNING: AtomicBool = AtomicBool::new(false);
static LOG_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Waits up to `limit` for `child` to exit; kills and reaps it, and
/// answers None, if it has not.
async fn exit_within(child: &mut std::process::Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A running netnsd. Dropping it sends SIGTERM and waits; if the test is
/// failing, the daemon's log is printed. Every stop by SIGTERM or SIGINT
/// (a drop, [`Daemon::stop`]) must be clean: exit status 0 and no panic in
/// the log, or the test fails.
pub struct Daemon {
    child: Option<std::process::Child>,
    pid: u32,
    log: PathBuf,
}

impl Daemon {
    /// Starts NETNSD_BIN with RUST_LOG=netnsd=debug and waits until it owns
    /// net.netnsd.Netns1 on the system bus.
    pub async fn start() -> Daemon {
        Self::start_with_env(&[]).await
    }

    /// As [`Daemon::start`], with extra environment variables.
    pub async fn start_with_env(env: &[(&str, &str)]) -> Daemon {
        let daemon = Self::spawn(env);
        let conn = system_conn().await;
        let want = daemon.pid;
        let mut daemon = daemon;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = daemon.child.as_mut().unwrap().try_wait().unwrap() {
                daemon.child = None;
                panic!(
                    "netnsd exited during start-up with {}\n{}",
                    describe_status(status),
                    daemon.log_text()
                );
            }
            if name_owner_pid(&conn).await == Some(want) {
                return daemon;
            }
            if Instant::now() >= deadline {
                panic!(
                    "netnsd (pid {want}) did not own {BUS_NAME} within {START_TIMEOUT:?}\n{}",
                    daemon.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the daemon without waiting for its bus name.
    pub fn spawn(env: &[(&str, &str)]) -> Daemon {
        assert!(
            !DAEMON_RUNNING.swap(true, Ordering::SeqCst),
            "harness: a second netnsd started while one runs"
        );
        let n = LOG_COUNTER.fetch_add(1, Ordering::SeqCst);
        let log = PathBuf::from(format!("/tmp/netnsd-test.{}.{n}.log", tmp_tag()));
        let file = std::fs::File::create(&log).expect("create the daemon's log file");
        let mut cmd = std::process::Command::new(netnsd_bin());
        cmd.env("RUST_LOG", "netnsd=debug")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("LISTEN_FDS")
            .env_remove("INVOCATION_ID")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                DAEMON_RUNNING.store(false, Ordering::SeqCst);
                panic!("cannot start {}: {e}", netnsd_bin().display());
            }
        };
        Daemon {
            pid: child.id(),
            child: Some(child),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What the daemon has logged so far.
    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!(
            "----- netnsd log ({}) -----\n{text}----- end of netnsd log -----",
            self.log.display()
        )
    }

    /// Sends `sig` and waits for the daemon to exit; returns how it ended.
    /// Panics if it does not exit within [`STOP_TIMEOUT`]. Waits too until
    /// the bus has dropped its name.
    pub async fn stop_with(mut self, sig: Signal) -> ExitStatus {
        let mut child = self.child.take().expect("daemon already stopped");
        let _ = kill(Pid::from_raw(self.pid as i32), sig);
        let Some(status) = exit_within(&mut child, STOP_TIMEOUT).await else {
            panic!(
                "netnsd did not exit within {STOP_TIMEOUT:?} of {sig}\n{}",
                self.log_text()
            );
        };
        DAEMON_RUNNING.store(false, Ordering::SeqCst);
        if matches!(sig, Signal::SIGTERM | Signal::SIGINT)
            && let Err(why) = self.clean_stop(status)
        {
            panic!("netnsd did not stop cleanly on {sig}: {why}");
        }
        wait_name_released().await;
        status
    }

    /// Waits up to `limit` for the daemon to exit on its own (no signal
    /// sent) and returns how it ended; panics if it does not.
    pub async fn wait_exit(mut self, limit: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("daemon already stopped");
        let Some(status) = exit_within(&mut child, limit).await else {
            DAEMON_RUNNING.store(false, Ordering::SeqCst);
            panic!(
                "netnsd did not exit on its own within {limit:?}\n{}",
                self.log_text()
            );
        };
        DAEMON_RUNNING.store(false, Ordering::SeqCst);
        status
    }

    /// A stop is clean when the daemon exited with status 0 and its log
    /// shows no panic.
    fn clean_stop(&self, status: ExitStatus) -> Result<(), String> {
        if status.code() != Some(0) {
            return Err(format!("it ended with {}", describe_status(status)));
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        if log.contains("panicked") {
            return Err("its log shows a panic".into());
        }
        Ok(())
    }

    /// SIGTERM, as systemd stops it.
    pub async fn stop(self) -> ExitStatus {
        self.stop_with(Signal::SIGTERM).await
    }

    /// SIGKILL: a crash, with no chance to clean up.
    pub async fn kill9(self) {
        let status = self.stop_with(Signal::SIGKILL).await;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            let unclean = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break self.clean_stop(status).err(),
                    Err(e) => break Some(format!("cannot wait for it: {e}")),
                    Ok(None) if Instant::now() >= deadline => {
                        eprintln!("harness: netnsd ignored SIGTERM; killing it");
                        let _ = child.kill();
                        let _ = child.wait();
                        break Some(format!("it ignored SIGTERM for {STOP_TIMEOUT:?}"));
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            };
            DAEMON_RUNNING.store(false, Ordering::SeqCst);
            // Every stop at the end of a test must be clean: SIGTERM, exit
            // status 0, no panic in the log.
            if let Some(why) = unclean
                && !std::thread::panicking()
            {
                eprintln!("{}", self.log_text());
                let _ = std::fs::remove_file(&self.log);
                panic!("netnsd did not stop cleanly on SIGTERM: {why}");
            }
        }
        // A failing test shows the log (libtest prints what a failed test
        // wrote); the file itself is not kept.
        if std::thread::panicking() {
            eprintln!("{}", self.log_text());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("signal {s}"),
        _ => format!("{status:?}"),
    }
}

// ---------------------------------------------------------------------------
// The bus

/// A new connection to the sandbox's system bus.
/// A connection that has become a monitor of the system bus (dbus-daemon's
/// BecomeMonitor: root's), and the stream of everything it sees.
pub async fn bus_monitor() -> (Connection, zbus::MessageStream) {
    let monitor = zbus::connection::Builder::system().build().await.unwrap();
    let stream = zbus::MessageStream::from(&monitor);
    zbus::fdo::MonitoringProxy::new(&monitor)
        .await
        .unwrap()
        .become_monitor(&[], 0)
        .await
        .expect("root may monitor the bus");
    (monitor, stream)
}

pub async fn system_conn() -> Connection {
    Connection::system()
        .await
        .expect("connect to the system bus")
}

/// The pid of whoever owns net.netnsd.Netns1, if anyone does.
pub async fn name_owner_pid(conn: &Connection) -> Option<u32> {
    let dbus = zbus::fdo::DBusProxy::new(conn).await.ok()?;
    let name = BusName::try_from(BUS_NAME).unwrap();
    dbus.get_connection_unix_process_id(name).await.ok()
}

/// Waits until nobody owns net.netnsd.Netns1.
pub async fn wait_name_released() {
    let conn = system_conn().await;
    wait_for(
        STOP_TIMEOUT,
        "net.netnsd.Netns1 to lose its owner",
        || async { name_owner_pid(&conn).await.is_none().then_some(()) },
    )
    .await
}

/// The controller proxy, reading properties afresh on every get.
pub async fn controller(conn: &Connection) -> NetworkNamespacesControllerProxy<'static> {
    NetworkNamespacesControllerProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("controller proxy")
}

/// A namespace object's proxy, reading properties afresh on every get.
pub async fn instance(conn: &Connection, path: &str) -> NetNsInstanceProxy<'static> {
    NetNsInstanceProxy::builder(conn)
        .path(path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("instance proxy")
}

/// The NetNsInstance properties of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsInfo {
    pub object: String,
    pub name: String,
    pub id: u64,
    pub path: String,
    pub persistent: bool,
    pub managed: bool,
}

pub async fn ns_info(conn: &Connection, object: &str) -> NsInfo {
    let p = instance(conn, object).await;
    let get = |what: &str, e: zbus::Error| -> ! { panic!("{object}: reading {what}: {e}") };
    NsInfo {
        object: object.to_owned(),
        name: p.name().await.unwrap_or_else(|e| get("Name", e)),
        id: p.id().await.unwrap_or_else(|e| get("Id", e)),
        path: p.path().await.unwrap_or_else(|e| get("Path", e)),
        persistent: p
            .persistent()
            .await
            .unwrap_or_else(|e| get("Persistent", e)),
        managed: p.managed().await.unwrap_or_else(|e| get("Managed", e)),
    }
}

/// ListNetworkNamespaces as strings.
pub async fn list_paths(conn: &Connection) -> Vec<String> {
    controller(conn)
        .await
        .list_network_namespaces()
        .await
        .expect("ListNetworkNamespaces")
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}

/// The names of every namespace the daemon lists.
pub async fn bus_names(conn: &Connection) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for p in list_paths(conn).await {
        names.insert(ns_info(conn, &p).await.name);
    }
    names
}

/// As [`bus_names`], for polling while namespaces come and go: None if an
/// object vanished between the list and the read.
pub async fn try_bus_names(conn: &Connection) -> Option<BTreeSet<String>> {
    let paths = controller(conn)
        .await
        .list_network_namespaces()
        .await
        .ok()?;
    let mut names = BTreeSet::new();
    for p in paths {
        names.insert(instance(conn, p.as_str()).await.name().await.ok()?);
    }
    Some(names)
}

/// Adds a namespace over the bus, as root; panics on failure.
pub async fn add_ns(conn: &Connection, name: &str) -> String {
    controller(conn)
        .await
        .add_network_namespace(name)
        .await
        .unwrap_or_else(|e| panic!("AddNetworkNamespace({name:?}): {e:?}"))
        .to_string()
}

/// Removes a namespace over the bus, as root; panics unless it answers
/// "Success".
pub async fn remove_ns(conn: &Connection, name: &str) {
    let r = controller(conn)
        .await
        .remove_network_namespace(name)
        .await
        .unwrap_or_else(|e| panic!("RemoveNetworkNamespace({name:?}): {e:?}"));
    assert_eq!(r, "Success", "RemoveNetworkNamespace({name:?})");
}

/// Polls GetNetworkNamespaceByName until it finds `name`.
pub async fn wait_ns_on_bus(conn: &Connection, name: &str, limit: Duration) -> String {
    let ctl = controller(conn).await;
    wait_for(limit, &format!("namespace {name:?} on the bus"), || async {
        ctl.get_network_namespace_by_name(name)
            .await
            .ok()
            .map(|p| p.to_string())
    })
    .await
}

/// Polls until GetNetworkNamespaceByName says NotFound for `name` and it is
/// gone from ListNetworkNamespaces.
pub async fn wait_ns_off_bus(conn: &Connection, name: &str, limit: Duration) {
    let ctl = controller(conn).await;
    wait_for(
        limit,
        &format!("namespace {name:?} to leave the bus"),
        || async {
            match ctl.get_network_namespace_by_name(name).await {
                Err(ApiError::NotFound(_)) => try_bus_names(conn)
                    .await
                    .filter(|names| !names.contains(name))
                    .map(|_| ()),
                _ => None,
            }
        },
    )
    .await
}

/// The error's short name (`InvalidArgument`), or the full name for foreign ones.
pub fn err_name<T: std::fmt::Debug>(r: Result<T, ApiError>) -> (String, String) {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => (e.short_name(), e.message()),
    }
}

/// The object path's number (`/…/NetworkNamespace/7` → 7).
pub fn object_number(path: &str) -> u32 {
    let prefix = format!("{NAMESPACE_PATH_PREFIX}/");
    path.strip_prefix(&prefix)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{path} is not {prefix}N"))
}

pub fn owned_path(p: &str) -> OwnedObjectPath {
    OwnedObjectPath::try_from(p.to_owned()).expect("object path")
}

// ---------------------------------------------------------------------------
// The host side: /run/netns, stat, records

/// The inode of this process's network namespace (the sandbox's own).
pub fn own_netns_inode() -> u64 {
    std::fs::metadata("/proc/self/ns/net")
        .expect("stat /proc/self/ns/net")
        .ino()
}

/// The inode of the namespace bound at /run/netns/NAME: what `Id` must be.
pub fn netns_inode(name: &str) -> u64 {
    let p = Path::new(NETNS_RUN_DIR).join(name);
    std::fs::metadata(&p)
        .unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
        .ino()
}

/// The names in a directory, sorted; none if it is not there.
pub fn dir_entries(dir: impl AsRef<Path>) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The entries of /run/netns, sorted.
pub fn run_netns_entries() -> Vec<String> {
    dir_entries(NETNS_RUN_DIR)
}

/// The entries of /etc/netns, sorted.
pub fn etc_netns_entries() -> Vec<String> {
    dir_entries(NETNS_ETC_DIR)
}

/// Every file under /run/netnsd with its content, sorted by path.
pub fn records() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push((format!("{}/", p.display()), String::new()));
                walk(&p, out);
            } else {
                let content = std::fs::read(&p)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                out.push((p.display().to_string(), content));
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(RECORDS_DIR), &mut out);
    out.sort();
    out
}

/// Whether any file under /run/netnsd names `name`, in its path or content.
pub fn records_mention(name: &str) -> bool {
    records()
        .iter()
        .any(|(p, c)| p.contains(name) || c.contains(name))
}

/// What a failed call must leave unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostState {
    pub run_netns: Vec<String>,
    pub ip_netns_list: Vec<String>,
    pub records: Vec<(String, String)>,
    pub etc_netns: Vec<String>,
    pub bus_objects: Vec<String>,
}

pub async fn host_state(conn: &Connection) -> HostState {
    let etc_netns = etc_netns_entries();
    let mut bus_objects = list_paths(conn).await;
    bus_objects.sort();
    HostState {
        run_netns: run_netns_entries(),
        ip_netns_list: ip_netns_list().await,
        records: records(),
        etc_netns,
        bus_objects,
    }
}

// ---------------------------------------------------------------------------
// External commands

/// A finished command.
#[derive(Debug, Clone)]
pub struct Out {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics (showing everything) unless the command succeeded.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(self.success(), "command failed: {self}");
        self
    }

    /// Panics (showing everything) unless the command failed.
    #[track_caller]
    pub fn failed(self) -> Self {
        assert!(!self.success(), "command should have failed: {self}");
        self
    }

    /// The D-Bus error name in a gdbus error message
    /// (`GDBus.Error:net.netnsd.Netns1.Error.NotFound: …`).
    pub fn gdbus_error(&self) -> Option<String> {
        let rest = self.stderr.split("GDBus.Error:").nth(1)?;
        Some(rest.split(':').next()?.trim().to_owned())
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` ended with {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.what,
            describe_status(self.status),
            self.stdout,
            self.stderr
        )
    }
}

/// Runs a command with [`COMMAND_TIMEOUT`]; it is killed if the test gives up.
pub async fn run<S: AsRef<str>>(program: &str, args: &[S]) -> Out {
    run_env(program, args, &[]).await
}

async fn run_env<S: AsRef<str>>(program: &str, args: &[S], env: &[(&str, &str)]) -> Out {
    run_full(program, args, env, None).await
}

/// Runs a command with `input` on its stdin (then closed).
pub async fn run_with_input<S: AsRef<str>>(program: &str, args: &[S], input: &str) -> Out {
    run_full(program, args, &[], Some(input)).await
}

/// nsctl (NSCTL_BIN) as root, with `input` on its stdin (`--secret KEY=-`).
pub async fn nsctl_with_input<S: AsRef<str>>(args: &[S], input: &str) -> Out {
    let bin = nsctl_bin();
    run_with_input(bin.to_str().expect("NSCTL_BIN is UTF-8"), args, input).await
}

async fn run_full<S: AsRef<str>>(
    program: &str,
    args: &[S],
    env: &[(&str, &str)],
    input: Option<&str>,
) -> Out {
    let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
    let what = std::iter::once(program)
        .chain(args.iter().copied())
        .map(|a| {
            if a.is_empty() || a.contains([' ', '\'', '"']) {
                format!("{a:?}")
            } else {
                a.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"));
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        use tokio::io::AsyncWriteExt;
        stdin
            .write_all(text.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("`{what}`: writing its stdin: {e}"));
    }
    let out = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`{what}` did not finish within {COMMAND_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("`{what}`: {e}"));
    Out {
        what,
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a command as user `uid` (with that user's primary group and, from
/// /etc/group, supplementary groups; none for nobody), via setpriv.
pub async fn as_user<S: AsRef<str>>(uid: u32, program: &str, args: &[S]) -> Out {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .expect("getpwuid")
        .unwrap_or_else(|| panic!("no user with uid {uid} in the sandbox's /etc/passwd"));
    let mut full: Vec<String> = vec![
        format!("--reuid={uid}"),
        format!("--regid={}", user.gid.as_raw()),
    ];
    if uid == NOBODY_UID {
        full.push("--clear-groups".into());
    } else {
        full.push("--init-groups".into());
    }
    full.extend([
        "--".into(),
        "env".into(),
        "HOME=/".into(),
        format!("USER={}", user.name),
    ]);
    full.push(program.into());
    full.extend(args.iter().map(|a| a.as_ref().to_owned()));
    let mut out = run("setpriv", &full).await;
    out.what = format!("(as uid {uid}) {}", out.what);
    out
}

/// `ip ARGS…` (iproute2, the independent observer).
pub async fn ip<S: AsRef<str>>(args: &[S]) -> Out {
    run("ip", args).await
}

/// `ip netns exec NS ARGS…` (iproute2 binds /etc/netns/NS/* over /etc, as
/// Spawn does).
pub async fn in_ns<S: AsRef<str>>(ns: &str, args: &[S]) -> Out {
    let mut full: Vec<String> = vec!["netns".into(), "exec".into(), ns.into()];
    full.extend(args.iter().map(|a| a.as_ref().to_owned()));
    ip(&full).await
}

/// The names `ip netns list` shows, sorted.
pub async fn ip_netns_list() -> Vec<String> {
    let out = ip(&["netns", "list"]).await.ok();
    let mut v: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.split(" (id:").next())
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

/// `busctl --system ARGS…`, as root or as `uid`.
pub async fn busctl<S: AsRef<str>>(uid: Option<u32>, args: &[S]) -> Out {
    let mut full: Vec<String> = vec!["--system".into(), "--timeout=20".into()];
    full.extend(args.iter().map(|a| a.as_ref().to_owned()));
    match uid {
        None => run("busctl", &full).await,
        Some(uid) => as_user(uid, "busctl", &full).await,
    }
}

/// `busctl --system call net.netnsd.Netns1 PATH IFACE METHOD [SIG ARGS…]`.
pub async fn busctl_call(
    uid: Option<u32>,
    path: &str,
    iface: &str,
    method: &str,
    sig_and_args: &[&str],
) -> Out {
    let mut args = vec!["--json=short", "call", BUS_NAME, path, iface, method];
    args.extend_from_slice(sig_and_args);
    busctl(uid, &args).await
}

/// The `data` of `busctl --json=short call` output.
pub fn busctl_json_data(out: &Out) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("busctl printed no JSON ({e}): {out}"));
    v["data"].clone()
}

/// `gdbus ARGS…`, as root or as `uid`.
pub async fn gdbus<S: AsRef<str>>(uid: Option<u32>, args: &[S]) -> Out {
    match uid {
        None => run("gdbus", args).await,
        Some(uid) => as_user(uid, "gdbus", args).await,
    }
}

/// `gdbus call --system --dest net.netnsd.Netns1 --object-path PATH --method IFACE.METHOD ARGS…`
/// (ARGS in GVariant text; see [`gvariant_str`]).
pub async fn gdbus_call(uid: Option<u32>, path: &str, method: &str, args: &[String]) -> Out {
    let mut full: Vec<String> = [
        "call",
        "--system",
        "--timeout",
        "20",
        "--dest",
        BUS_NAME,
        "--object-path",
        path,
        "--method",
        method,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    full.extend(args.iter().cloned());
    gdbus(uid, &full).await
}

/// A string as GVariant text: `'name'`, quotes and backslashes escaped.
pub fn gvariant_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The controller method `M` over gdbus: `net.netnsd.Netns1.NetworkNamespacesController.M`.
pub async fn gdbus_controller(uid: Option<u32>, method: &str, name: Option<&str>) -> Out {
    let args: Vec<String> = name.map(gvariant_str).into_iter().collect();
    gdbus_call(
        uid,
        CONTROLLER_PATH,
        &format!("{CONTROLLER_INTERFACE}.{method}"),
        &args,
    )
    .await
}

/// nsctl (NSCTL_BIN), as root or as `uid`.
pub async fn nsctl<S: AsRef<str>>(uid: Option<u32>, args: &[S]) -> Out {
    let bin = nsctl_bin();
    let bin = bin.to_str().expect("NSCTL_BIN is UTF-8");
    match uid {
        None => run(bin, args).await,
        Some(uid) => as_user(uid, bin, args).await,
    }
}

// ---------------------------------------------------------------------------
// polkit

/// A rules file in /etc/polkit-1/rules.d (the sandbox's overlay), removed on drop.
pub struct PolkitRules {
    path: PathBuf,
}

impl PolkitRules {
    /// Writes `/etc/polkit-1/rules.d/NAME.rules`. polkitd notices on its own;
    /// use [`wait_polkit`] to know when it has.
    pub fn install(name: &str, js: &str) -> PolkitRules {
        let path = Path::new(POLKIT_RULES_DIR).join(format!("{name}.rules"));
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, js).expect("write polkit rules");
        std::fs::rename(&tmp, &path).expect("install polkit rules");
        PolkitRules { path }
    }
}

impl Drop for PolkitRules {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether polkit, asked directly with pkcheck, authorizes `uid` for `action`.
pub async fn pkcheck(uid: u32, action: &str) -> bool {
    let script = format!("exec pkcheck --action-id {action} --process $$");
    as_user(uid, "sh", &["-c", &script]).await.success()
}

/// Polls pkcheck until polkit's answer for `uid` and `action` is `authorized`
/// (rules files take effect a little after they are written).
pub async fn wait_polkit(uid: u32, action: &str, authorized: bool) {
    let what = format!(
        "polkit to {} {action} for uid {uid}",
        if authorized { "allow" } else { "refuse" }
    );
    wait_for(Duration::from_secs(10), &what, || async {
        (pkcheck(uid, action).await == authorized).then_some(())
    })
    .await
}

// ---------------------------------------------------------------------------
// Small things

/// What names this test process's files in /tmp, which every sandbox shares:
/// the sandbox (`NETNSD_SANDBOX_ID`, set by tests/sandbox/enter) and the
/// process, whose pid another sandbox may have too.
pub fn tmp_tag() -> String {
    let sandbox = std::env::var("NETNSD_SANDBOX_ID").unwrap_or_else(|_| "0".into());
    format!("{sandbox}.{}", std::process::id())
}

/// A random-enough suffix so names from a failed earlier run never collide.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

// ---------------------------------------------------------------------------
// Standard interfaces of the daemon's objects

/// org.freedesktop.DBus.Properties of one of the daemon's objects.
pub async fn properties_proxy(
    conn: &Connection,
    path: &str,
) -> zbus::fdo::PropertiesProxy<'static> {
    zbus::fdo::PropertiesProxy::builder(conn)
        .destination(BUS_NAME)
        .path(path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("properties proxy")
}

/// org.freedesktop.DBus.ObjectManager at /net/netnsd/Netns1.
pub async fn object_manager(conn: &Connection) -> zbus::fdo::ObjectManagerProxy<'static> {
    zbus::fdo::ObjectManagerProxy::builder(conn)
        .destination(BUS_NAME)
        .path(ROOT_PATH)
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("object manager proxy")
}

/// The introspection XML of one of the daemon's objects, over zbus.
pub async fn introspect(conn: &Connection, path: &str) -> String {
    zbus::fdo::IntrospectableProxy::builder(conn)
        .destination(BUS_NAME)
        .path(path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("introspectable proxy")
        .introspect()
        .await
        .unwrap_or_else(|e| panic!("Introspect {path}: {e}"))
}

/// Parses introspection XML, which starts with a DOCTYPE.
pub fn parse_xml(xml: &str) -> roxmltree::Document<'_> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(xml, opts)
        .unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{xml}"))
}

/// The names of the child nodes in introspection XML.
pub fn child_nodes(xml: &str) -> Vec<String> {
    let doc = parse_xml(xml);
    doc.root_element()
        .children()
        .filter(|n| n.has_tag_name("node"))
        .filter_map(|n| n.attribute("name").map(str::to_owned))
        .collect()
}

/// The interface names in introspection XML.
pub fn interface_names(xml: &str) -> Vec<String> {
    let doc = parse_xml(xml);
    doc.root_element()
        .children()
        .filter(|n| n.has_tag_name("interface"))
        .filter_map(|n| n.attribute("name").map(str::to_owned))
        .collect()
}

/// The D-Bus error name of a failed raw call (`org.freedesktop.DBus.Error.InvalidArgs`).
pub fn zbus_error_name(e: &zbus::Error) -> String {
    use zbus::DBusError;
    match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        zbus::Error::FDO(f) => f.name().to_string(),
        other => format!("(not a D-Bus error: {other})"),
    }
}

/// Unmounts its path when dropped: for a test that hides a file or a
/// directory of the sandbox under a mount (a program under /dev/null, a
/// sysctl directory under a tmpfs) and must put it back whatever happens.
pub struct Unmount(pub &'static str);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.0).status();
    }
}

/// /dev/null opened for reading and writing: a descriptor to pass as a
/// program's stdin, stdout or stderr.
pub fn dev_null() -> std::os::fd::OwnedFd {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .expect("/dev/null")
        .into()
}
