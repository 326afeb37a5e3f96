//! No user can freeze the daemon (issue 12, items 2 and 3).
//!
//! - iproute2's lock on /run/netns, taken by any user with
//!   `setpriv --reuid=65534 flock -x /run/netns …`: creation needs it only to
//!   make /run/netns a shared mount point (once); then a held lock changes
//!   nothing. When it is needed and held too long, the one call fails with
//!   Busy naming the holder, and every other call is answered meanwhile.
//! - Spawn with a working directory or a program on a file system that does
//!   not answer (a FUSE mount whose server never replies, made here by
//!   opening /dev/fuse and never reading it): the other calls are answered
//!   meanwhile, and the Spawn itself within a bound, with Timeout.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use netnsd_tests::*;
use tokio::process::{Child, Command};
use zbus::Connection;

/// How long a bus call that must not wait at all may take.
const AT_ONCE: Duration = Duration::from_millis(1500);

/// An unprivileged user (nobody) holding iproute2's flock on /run/netns.
struct UserLock {
    child: Child,
}

impl UserLock {
    async fn take() -> UserLock {
        let child = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "flock",
                "-o",
                "-x",
                NETNS_RUN_DIR,
                "cat",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start setpriv flock");
        let pid = child.id().expect("flock's pid");
        wait_for(
            Duration::from_secs(5),
            "nobody's flock on /run/netns",
            || async {
                let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
                locks
                    .lines()
                    .any(|l| {
                        l.contains("FLOCK") && l.split_whitespace().nth(4) == Some(&pid.to_string())
                    })
                    .then_some(())
            },
        )
        .await;
        UserLock { child }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("flock is running")
    }

    async fn release(mut self) {
        drop(self.child.stdin.take());
        let _ = tokio::time::timeout(COMMAND_TIMEOUT, self.child.wait()).await;
    }
}

fn is_mount_point(dir: &str) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .any(|l| l.split_whitespace().nth(4) == Some(dir))
}

/// Takes every mount off /run/netns, as after a boot where nothing made it
/// a mount point yet (the daemon made it one at start).
fn unmount_run_netns() {
    while is_mount_point(NETNS_RUN_DIR) {
        nix::mount::umount2(NETNS_RUN_DIR, nix::mount::MntFlags::MNT_DETACH)
            .expect("unmount /run/netns");
    }
}

async fn answers_at_once(conn: &Connection, what: &str) {
    let start = Instant::now();
    let listed = tokio::time::timeout(AT_ONCE, async {
        controller(conn).await.list_network_namespaces().await
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: ListNetworkNamespaces did not answer within {AT_ONCE:?}"));
    listed.expect("ListNetworkNamespaces");
    let routes = tokio::time::timeout(AT_ONCE, async {
        platform(conn, &namespace_path(0)).await.get_routes().await
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: GetRoutes on rootns did not answer within {AT_ONCE:?}"));
    routes.expect("GetRoutes");
    eprintln!("{what}: answered in {:?}", start.elapsed());
}

async fn add_within(
    conn: &Connection,
    name: &str,
    limit: Duration,
) -> Result<zbus::OwnedObjectPath, ApiError> {
    tokio::time::timeout(limit, async {
        controller(conn).await.add_network_namespace(name).await
    })
    .await
    .unwrap_or_else(|_| panic!("AddNetworkNamespace({name:?}) did not answer within {limit:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_flock_on_run_netns_freezes_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        assert!(
            is_mount_point(NETNS_RUN_DIR),
            "the daemon made /run/netns a mount point"
        );

        // /run/netns is a shared mount point already: creating needs no lock,
        // and a lock held by nobody changes nothing.
        let lock = UserLock::take().await;
        answers_at_once(&conn, "with the lock held").await;
        let path = add_within(&conn, "lk-ready", Duration::from_secs(3))
            .await
            .expect("AddNetworkNamespace while nobody holds the lock");
        assert_eq!(ip_netns_list().await, vec!["lk-ready".to_owned()]);
        assert_eq!(
            controller(&conn)
                .await
                .remove_network_namespace("lk-ready")
                .await
                .expect("remove"),
            "Success"
        );
        lock.release().await;
        drop(path);

        // Not a mount point (as on a fresh boot): the lock is needed, and held.
        unmount_run_netns();
        let lock = UserLock::take().await;
        let holder = lock.pid();
        let started = Instant::now();
        let add = {
            let conn = conn.clone();
            tokio::spawn(async move { add_within(&conn, "lk-wait", Duration::from_secs(10)).await })
        };
        // While the Add waits for the lock, everything else is answered.
        tokio::time::sleep(Duration::from_millis(300)).await;
        answers_at_once(&conn, "while an Add waits for the lock").await;
        let (name, msg) = err_name(add.await.expect("the Add task"));
        let took = started.elapsed();
        assert_eq!(name, "Busy", "{msg}");
        assert!(
            msg.contains(&format!("pid {holder}")) && msg.contains(NETNS_RUN_DIR),
            "Busy should name /run/netns and the holder, pid {holder}: {msg}"
        );
        assert!(took < Duration::from_secs(6), "Busy came after {took:?}");
        // Nothing half made.
        assert!(run_netns_entries().is_empty(), "{:?}", run_netns_entries());
        assert_eq!(list_paths(&conn).await, vec![namespace_path(0)]);

        // Once the lock is let go, creation works (and made the mount point).
        lock.release().await;
        add_within(&conn, "lk-wait", Duration::from_secs(5))
            .await
            .expect("AddNetworkNamespace after the lock was released");
        assert!(is_mount_point(NETNS_RUN_DIR));
        assert_eq!(ip_netns_list().await, vec!["lk-wait".to_owned()]);
        assert_eq!(
            controller(&conn)
                .await
                .remove_network_namespace("lk-wait")
                .await
                .expect("remove"),
            "Success"
        );
        assert!(run_netns_entries().is_empty(), "{:?}", run_netns_entries());
    })
    .await
}

/// A FUSE mount whose server never answers: every lookup below it waits
/// (killably) until the connection is aborted, which dropping this does.
struct DeadFuse {
    dir: PathBuf,
    dev: Option<OwnedFd>,
}

impl DeadFuse {
    fn mount(dir: &str) -> DeadFuse {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create the FUSE mount point");
        let dev: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/fuse")
            .expect("open /dev/fuse")
            .into();
        let opts = format!(
            "fd={},rootmode=40000,user_id=0,group_id=0,allow_other",
            dev.as_raw_fd()
        );
        nix::mount::mount(
            Some("netnsd-test-dead"),
            &dir,
            Some("fuse"),
            nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
            Some(opts.as_str()),
        )
        .expect("mount a FUSE file system");
        DeadFuse {
            dir,
            dev: Some(dev),
        }
    }

    fn path(&self, rest: &str) -> String {
        self.dir.join(rest).display().to_string()
    }
}

impl Drop for DeadFuse {
    fn drop(&mut self) {
        // Closing the device aborts the connection: waiting lookups fail.
        drop(self.dev.take());
        let _ = nix::mount::umount2(&self.dir, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

async fn spawn_with(
    conn: &Connection,
    ns_path: &str,
    argv: &[&str],
    cwd: &str,
) -> Result<u32, ApiError> {
    let null = dev_null();
    let fds: HashMap<&str, zbus::wire::Fd<'_>> = ["stdin", "stdout", "stderr"]
        .into_iter()
        .map(|k| (k, zbus::wire::Fd::from(std::os::fd::AsFd::as_fd(&null))))
        .collect();
    instance(conn, ns_path)
        .await
        .spawn(argv, HashMap::new(), cwd, fds, HashMap::new())
        .await
}

/// Pids of the children of process `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...: comm may hold spaces, so after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawn_stuck_before_exec_freezes_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns_ready(&conn, "sf-stuck").await;
        let fuse = DeadFuse::mount("/run/netnsd-test-dead-fuse");

        // One Spawn whose working directory, one whose program, is on it.
        let started = Instant::now();
        let in_cwd = {
            let (conn, path, cwd) = (conn.clone(), path.clone(), fuse.path("dir"));
            tokio::spawn(async move { spawn_with(&conn, &path, &["true"], &cwd).await })
        };
        let as_program = {
            let (conn, path, prog) = (conn.clone(), path.clone(), fuse.path("prog"));
            tokio::spawn(async move { spawn_with(&conn, &path, &[&prog], "").await })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;

        // Meanwhile the daemon answers.
        answers_at_once(&conn, "while two Spawns are stuck").await;
        add_within(&conn, "sf-other", Duration::from_secs(5))
            .await
            .expect("AddNetworkNamespace while two Spawns are stuck");
        // The namespace with a program being started in it stays.
        let (name, msg) = err_name(
            controller(&conn)
                .await
                .remove_network_namespace("sf-stuck")
                .await,
        );
        assert_eq!(name, "Busy", "{msg}");

        // Each Spawn is answered within its bound, with Timeout.
        for (what, task) in [("cwd", in_cwd), ("argv[0]", as_program)] {
            let r = tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .unwrap_or_else(|_| {
                    panic!("Spawn with its {what} on a dead FUSE mount never answered")
                })
                .expect("the Spawn task");
            let (name, msg) = err_name(r);
            assert_eq!(name, "Timeout", "{what}: {msg}");
        }
        let took = started.elapsed();
        assert!(took < Duration::from_secs(16), "the Spawns took {took:?}");
        // The children were stopped and reaped: none is left waiting on the
        // mount (the FUSE connection is still up).
        wait_for(
            Duration::from_secs(5),
            "the daemon to have no children",
            || async { children_of(daemon.pid()).is_empty().then_some(()) },
        )
        .await;
        drop(fuse);

        // Nothing holds the namespaces now.
        for n in ["sf-stuck", "sf-other"] {
            assert_eq!(
                controller(&conn)
                    .await
                    .remove_network_namespace(n)
                    .await
                    .expect("remove"),
                "Success"
            );
        }
        assert!(run_netns_entries().is_empty(), "{:?}", run_netns_entries());
    })
    .await
}
