//! Reliability (issue 13): started by bus activation with dbus-daemon's
//! bare environment (no PATH), the daemon still finds nft; when the system
//! bus goes away it exits non-zero (so Restart=on-failure restarts it) and
//! the restarted daemon adopts everything; a second netnsd started while
//! one runs touches nothing and goes; a stalled polkitd gets the caller a
//! typed answer in time; and the harness holds every stop to a clean exit.
//!
//! Some of these stop the sandbox's dbus-daemon or polkitd: a guard puts
//! them back (running, on the bus) whatever the test's outcome.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use netnsd_tests::wan::*;
use netnsd_tests::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const ACTIVATION_FILE: &str = "/usr/share/dbus-1/system-services/net.netnsd.Netns1.service";
const JOURNAL: &str = "/run/netnsd/journal";
const POLKIT_NAME: &str = "org.freedesktop.PolicyKit1";

/// The pids of processes whose command name is `comm`.
fn pids_of(comm: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let name = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if name.trim_end() == comm {
            pids.push(pid);
        }
    }
    pids
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

async fn wait_gone(pids: &[i32], what: &str) {
    wait_for(Duration::from_secs(10), what, || async {
        (!pids.iter().any(|&p| alive(p))).then_some(())
    })
    .await;
}

async fn bus_answers() -> bool {
    match zbus::Connection::system().await {
        Ok(c) => zbus::fdo::DBusProxy::new(&c).await.is_ok(),
        Err(_) => false,
    }
}

async fn has_owner(name: &str) -> bool {
    let Ok(c) = zbus::Connection::system().await else {
        return false;
    };
    let Ok(dbus) = zbus::fdo::DBusProxy::new(&c).await else {
        return false;
    };
    let name = zbus::names::BusName::try_from(name).unwrap();
    dbus.name_has_owner(name).await.unwrap_or(false)
}

/// Puts the sandbox's dbus-daemon and polkitd back as tests/sandbox/inner
/// starts them, if either is not running (or polkitd is stopped).
struct BusGuard;

impl BusGuard {
    async fn restore(&self) {
        for p in pids_of("polkitd") {
            let _ = kill(Pid::from_raw(p), Signal::SIGCONT);
        }
        if !bus_answers().await {
            // polkitd loses the bus with it: start both afresh.
            let polkit = pids_of("polkitd");
            for &p in &polkit {
                let _ = kill(Pid::from_raw(p), Signal::SIGTERM);
            }
            wait_gone(&polkit, "the old polkitd to exit").await;
            let log = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open("/run/sandbox/dbus-daemon.log")
                .unwrap();
            let st = std::process::Command::new("dbus-daemon")
                .args(["--system", "--fork", "--nopidfile"])
                .stderr(log)
                .status()
                .expect("run dbus-daemon");
            assert!(st.success(), "dbus-daemon --system failed: {st:?}");
            wait_for(
                Duration::from_secs(10),
                "the system bus to answer",
                || async { bus_answers().await.then_some(()) },
            )
            .await;
        }
        if !has_owner(POLKIT_NAME).await {
            let log = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open("/run/sandbox/polkitd.log")
                .unwrap();
            // setsid --fork: polkitd in the background, setsid itself ends.
            let st = std::process::Command::new("setsid")
                .args(["--fork", "/usr/lib/polkit-1/polkitd", "--no-debug"])
                .stdin(std::process::Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .status()
                .expect("start polkitd");
            assert!(st.success(), "setsid polkitd: {st:?}");
            wait_for(Duration::from_secs(20), "polkitd on the bus", || async {
                has_owner(POLKIT_NAME).await.then_some(())
            })
            .await;
        }
    }
}

impl Drop for BusGuard {
    fn drop(&mut self) {
        // Drop cannot await: a runtime of its own, on a thread of its own.
        std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(self.restore())
            });
        });
    }
}

/// The activation file, installed for the test and removed after.
struct Activation;

impl Activation {
    async fn install() -> Activation {
        std::fs::write(
            ACTIVATION_FILE,
            format!(
                "[D-BUS Service]\nName={BUS_NAME}\nExec={}\nUser=root\n",
                netnsd_bin().display()
            ),
        )
        .unwrap();
        reload_bus().await;
        Activation
    }
}

impl Drop for Activation {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(ACTIVATION_FILE);
        let _ = std::process::Command::new("dbus-send")
            .args([
                "--system",
                "--type=method_call",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.ReloadConfig",
            ])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

async fn reload_bus() {
    run(
        "dbus-send",
        &[
            "--system",
            "--type=method_call",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ReloadConfig",
        ],
    )
    .await
    .ok();
}

fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// A client calling while no daemon runs starts it through the activation
/// file; dbus-daemon's launch helper gives it no PATH, and still its veth
/// uplink (nft) works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_activated_with_no_path_the_daemon_finds_nft() {
    let _env = TestEnv::new();
    timed(async {
        let _wan = Wan::start().await;
        let _activation = Activation::install().await;
        let conn = system_conn().await;
        assert_eq!(name_owner_pid(&conn).await, None, "a netnsd already runs");

        let path = add_with_options(
            &conn,
            "act-app",
            options(vec![
                ("uplink", zbus::wire::Variant::from("veth")),
                ("dns", strs(&[WAN_V4])),
            ]),
        )
        .await;
        let pid = name_owner_pid(&conn).await;
        let env = pid.map(environ).unwrap_or_default();
        let stop = async {
            if let Some(pid) = pid {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
                wait_gone(&[pid as i32], "the activated netnsd to exit").await;
            }
        };
        let path = match path {
            Ok(p) => p,
            Err(e) => {
                stop.await;
                panic!("AddNetworkNamespaceWithOptions(veth) from an activated daemon: {e:?}");
            }
        };
        // It really was started by the bus, with the bus's bare environment.
        assert!(
            env.iter().any(|v| v.starts_with("DBUS_STARTER_BUS_TYPE=")),
            "not started by bus activation: {env:?}"
        );
        assert!(
            !env.iter().any(|v| v.starts_with("PATH=")),
            "the activated daemon has a PATH: {env:?}"
        );
        let uplink = instance(&conn, &path).await.uplink().await.unwrap();
        assert_eq!(uplink, "veth");
        assert!(nft_table_exists().await, "no NAT table");
        let out = curl_web("act-app").await;
        stop.await;
        assert_fetched(&out, "act-app");
    })
    .await;
}

/// dbus-daemon goes away: the daemon exits non-zero and says why; started
/// again on the restarted bus, it has every namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_bus_is_a_failure_exit_and_a_restart_adopts_everything() {
    let _env = TestEnv::new();
    let guard = BusGuard;
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "rel-bus").await;
        drop(conn);

        let bus = pids_of("dbus-daemon");
        assert!(!bus.is_empty(), "no dbus-daemon in the sandbox");
        for &p in &bus {
            kill(Pid::from_raw(p), Signal::SIGTERM).unwrap();
        }
        wait_gone(&bus, "dbus-daemon to exit").await;
        let log = daemon.log_text();
        let status = daemon.wait_exit(Duration::from_secs(10)).await;
        assert!(
            status.code().is_some_and(|c| c != 0),
            "netnsd ended with {} when the bus went away\n{log}",
            describe_status(status)
        );
        assert!(
            log.contains("the connection to the system bus closed"),
            "the log does not say why it stopped\n{log}"
        );

        guard.restore().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = wait_ns_on_bus(&conn, "rel-bus", WATCH_TIMEOUT).await;
        assert!(!path.is_empty());
        controller(&conn)
            .await
            .remove_network_namespace("rel-bus")
            .await
            .expect("remove rel-bus after the restart");
        assert!(!run_netns_entries().contains(&"rel-bus".to_owned()));
    })
    .await;
}

/// A second netnsd while one runs: it goes at once, non-zero, saying so,
/// with the journal (inode and content), /run/netns and /etc/netns as they
/// were; the first keeps working, and after its crash a restarted daemon
/// manages every namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_touches_nothing_and_exits() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "rel-one").await;
        let two = add_ns(&conn, "rel-two").await;
        instance(&conn, &two)
            .await
            .set_dns(&["192.0.2.53"], &["example"])
            .await
            .expect("SetDns rel-two");
        let journal = || {
            let m = std::fs::metadata(JOURNAL).expect("the journal");
            (m.ino(), std::fs::read(JOURNAL).unwrap())
        };
        let before = (journal(), run_netns_entries(), etc_netns_entries());

        let started = Instant::now();
        let second = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::process::Command::new(netnsd_bin())
                .env("RUST_LOG", "netnsd=debug")
                .stdin(std::process::Stdio::null())
                .output(),
        )
        .await
        .expect("the second netnsd did not exit within 10 s")
        .unwrap();
        let took = started.elapsed();
        let said = String::from_utf8_lossy(&second.stderr).into_owned();
        assert!(
            second.status.code().is_some_and(|c| c != 0),
            "the second netnsd ended with {}: {said}",
            describe_status(second.status)
        );
        assert!(
            said.contains("another netnsd is running"),
            "the second netnsd did not say why it went: {said}"
        );
        assert!(took < Duration::from_secs(5), "it took {took:?} to go");
        assert!(
            (journal(), run_netns_entries(), etc_netns_entries()) == before,
            "the second netnsd changed the journal, /run/netns or /etc/netns\n{said}"
        );

        // The first still works, and records in the same journal.
        add_ns(&conn, "rel-three").await;
        assert_eq!(journal().0, before.0.0, "the journal was replaced");
        daemon.kill9().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        for name in ["rel-one", "rel-two", "rel-three"] {
            wait_ns_on_bus(&conn, name, WATCH_TIMEOUT).await;
        }
        controller(&conn)
            .await
            .remove_network_namespace("rel-two")
            .await
            .expect("remove rel-two after the restart");
        assert!(
            !Path::new("/etc/netns/rel-two").exists(),
            "rel-two's /etc/netns was left: it came back unmanaged"
        );
    })
    .await;
}

/// polkitd stopped (SIGSTOP): a mutating call is answered in time with a
/// Timeout that names polkit, and nothing is made; with polkitd back, the
/// same call succeeds. The caller is gdbus, which does not allow
/// interactive authorization (the wait for a password prompt is longer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_polkitd_gets_a_timely_typed_answer() {
    let _env = TestEnv::new();
    let _guard = BusGuard;
    timed(async {
        let _daemon = Daemon::start().await;
        // Root needs no polkit (docs/security.md): the caller is an
        // administrator whom polkit's rules grant the action.
        let _rules = PolkitRules::install("50-rel-admins", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, netnsd_api::actions::MANAGE_NAMESPACES, true).await;
        let polkit = pids_of("polkitd");
        assert!(!polkit.is_empty(), "no polkitd in the sandbox");
        for &p in &polkit {
            kill(Pid::from_raw(p), Signal::SIGSTOP).unwrap();
        }
        let started = Instant::now();
        let out = gdbus_controller(Some(ADMIN_UID), "AddNetworkNamespace", Some("rel-pk")).await;
        let took = started.elapsed();
        for &p in &polkit {
            kill(Pid::from_raw(p), Signal::SIGCONT).unwrap();
        }
        assert_eq!(
            out.gdbus_error().as_deref(),
            Some("net.netnsd.Netns1.Error.Timeout"),
            "after {took:?}: {out}"
        );
        assert!(out.stderr.contains("polkit did not answer"), "{out}");
        assert!(took < Duration::from_secs(15), "answered after {took:?}");
        assert!(!run_netns_entries().contains(&"rel-pk".to_owned()));

        gdbus_controller(Some(ADMIN_UID), "AddNetworkNamespace", Some("rel-pk"))
            .await
            .ok();
        assert!(run_netns_entries().contains(&"rel-pk".to_owned()));
    })
    .await;
}

/// The harness's own check: a daemon that does not end with status 0 on
/// SIGTERM at the end of a test fails the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "did not stop cleanly")]
async fn the_harness_fails_a_test_whose_daemon_did_not_stop_cleanly() {
    let _env = TestEnv::new();
    let daemon = Daemon::start().await;
    // Dies behind the harness's back, as a crash would.
    kill(Pid::from_raw(daemon.pid() as i32), Signal::SIGKILL).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(daemon);
}

/// The bus's view of namespace `ns`: interface name → addresses.
async fn bus_view(
    conn: &zbus::Connection,
    ns_path: &str,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut v = std::collections::BTreeMap::new();
    for d in all_devices(conn, ns_path).await {
        if let Some(i) = try_dev_info(conn, &d).await {
            let a: Vec<String> = i
                .addresses
                .iter()
                .filter(|a| !a.contains(':'))
                .cloned()
                .collect();
            v.insert(i.interface.clone(), a);
        }
    }
    v
}

/// iproute2's view of namespace `ns`, in the same shape (IPv4 only: the
/// test adds no IPv6 and ignores the kernel's link-local ones).
async fn ip_view(ns: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let out = ip_ns(ns, &["-j", "addr", "show"]).await.ok();
    let links: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let mut v = std::collections::BTreeMap::new();
    for l in links.as_array().unwrap() {
        let mut a: Vec<String> = l["addr_info"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["family"] == "inet")
            .map(|i| format!("{}/{}", i["local"].as_str().unwrap(), i["prefixlen"]))
            .collect();
        a.sort();
        v.insert(l["ifname"].as_str().unwrap().to_owned(), a);
    }
    v
}

/// ENOBUFS on the events socket (issue 13: "today only logged — a full
/// re-dump must follow"): with a receive buffer of a few kilobytes, a burst
/// of 300 links and addresses made and half removed behind the daemon's
/// back, while the daemon is stopped, overflows it; the daemon reads everything again and its devices
/// and addresses on the bus end up exactly what iproute2 sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_events_socket_is_followed_by_a_full_re_dump() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start_with_env(&[("NETNSD_EVENTS_RCVBUF", "4096")]).await;
        let conn = system_conn().await;
        let ns = add_ns_ready(&conn, "ovf").await;
        let mut batch = String::new();
        for i in 0..150 {
            batch += &format!("link add ova{i} type veth peer name ovb{i}\n");
            batch += &format!("addr add 10.70.{}.{}/32 dev ova{i}\n", i / 200, i % 200 + 1);
            batch += &format!("link set ova{i} up\n");
        }
        for i in (0..150).step_by(2) {
            batch += &format!("link del ova{i}\n");
        }
        for i in (1..150).step_by(4) {
            batch += &format!("addr del 10.70.{}.{}/32 dev ova{i}\n", i / 200, i % 200 + 1);
        }
        std::fs::write("/run/ovf.batch", &batch).unwrap();
        // The daemon stopped while the burst runs, so that nothing reads
        // the socket meanwhile and it must overflow (a daemon reading as
        // fast as ip writes kept up with it once, on a busy machine).
        let daemon_pid = nix::unistd::Pid::from_raw(daemon.pid() as i32);
        nix::sys::signal::kill(daemon_pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
        let burst = ip_ns("ovf", &["-batch", "/run/ovf.batch"]).await;
        nix::sys::signal::kill(daemon_pid, nix::sys::signal::Signal::SIGCONT).unwrap();
        burst.ok();
        let want = ip_view("ovf").await;
        assert_eq!(want.len(), 1 + 150, "lo and 75 veth pairs: {want:?}");
        wait_for(
            Duration::from_secs(20),
            "the bus to show what iproute2 shows",
            || {
                let (conn, ns, want) = (&conn, &ns, &want);
                async move { (bus_view(conn, ns).await == *want).then_some(()) }
            },
        )
        .await;
        assert!(
            daemon.log_text().contains("events socket overflowed"),
            "the burst must overflow the socket for this test to mean anything:\n{}",
            daemon.log_text()
        );
        nsctl(None, &["delete", "ovf"]).await.ok();
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

/// polkitd killed (SIGKILL): the next mutating call is answered in time,
/// and rightly: the system bus starts polkitd again (its activation file)
/// and the daemon asks the new one (it keeps no stale polkit connection);
/// the daemon is never restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_polkitd_is_restarted_by_the_bus_and_the_daemon_follows() {
    let _env = TestEnv::new();
    let _guard = BusGuard;
    timed(async {
        let daemon = Daemon::start().await;
        // Root needs no polkit (docs/security.md): the caller is an
        // administrator whom polkit's rules grant the action.
        let _rules = PolkitRules::install("50-rel-admins", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, netnsd_api::actions::MANAGE_NAMESPACES, true).await;
        gdbus_controller(Some(ADMIN_UID), "AddNetworkNamespace", Some("rel-pk0"))
            .await
            .ok();
        let polkit = pids_of("polkitd");
        assert!(!polkit.is_empty(), "no polkitd in the sandbox");
        for &p in &polkit {
            kill(Pid::from_raw(p), Signal::SIGKILL).unwrap();
        }
        wait_gone(&polkit, "polkitd to die").await;
        let started = Instant::now();
        gdbus_controller(Some(ADMIN_UID), "AddNetworkNamespace", Some("rel-pkk"))
            .await
            .ok();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(15), "answered after {took:?}");
        assert!(run_netns_entries().contains(&"rel-pkk".to_owned()));
        let now = pids_of("polkitd");
        assert!(
            !now.is_empty() && now.iter().all(|p| !polkit.contains(p)),
            "a new polkitd answered: before {polkit:?}, now {now:?}"
        );
        assert!(
            std::path::Path::new(&format!("/proc/{}", daemon.pid())).exists(),
            "the daemon did not live through it"
        );
    })
    .await;
}
