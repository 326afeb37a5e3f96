//! netnsd's private socket, /run/netnsd/private (issue 18 item 2): D-Bus
//! peer to peer for root, as systemd's /run/systemd/private is for
//! systemctl. `nsctl exec` run as root uses it and skips the bus daemon;
//! the results are the same as on the bus. The socket answers root alone
//! and only the calls `nsctl exec` makes; it follows the daemon (made at
//! start, replaced after a crash, removed at a stop); a program started
//! over it outlives a crash of the daemon and its end still reaches
//! `nsctl exec`, from the next daemon, over the bus.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::time::Duration;

use futures::StreamExt;
use netnsd_tests::*;
use zbus::message::Type;

const SOCKET: &str = "/run/netnsd/private";
const SPAWN: &str = netnsd_api::actions::SPAWN;

/// `nsctl exec ARGS…` as root, with NETNSD_PRIVATE_SOCKET set to `private`
/// (empty: the bus only) or left unset (None).
async fn exec_with(private: Option<&str>, args: &[&str]) -> Out {
    let mut argv: Vec<String> = match private {
        Some(p) => vec![format!("NETNSD_PRIVATE_SOCKET={p}")],
        None => vec!["-u".into(), "NETNSD_PRIVATE_SOCKET".into()],
    };
    argv.push(nsctl_bin().to_str().unwrap().to_owned());
    argv.push("exec".into());
    argv.extend(args.iter().map(|a| a.to_string()));
    run("env", &argv).await
}

/// A call over a peer-to-peer connection: the reply, or the error's name.
async fn call<B>(
    peer: &zbus::Connection,
    path: &str,
    iface: &str,
    member: &str,
    body: &B,
) -> Result<zbus::Message, String>
where
    B: zbus::export::serde::Serialize + zbus::zvariant::DynamicType,
{
    match peer
        .call_method(None::<&str>, path, Some(iface), member, body)
        .await
    {
        Ok(m) => Ok(m),
        Err(zbus::Error::MethodError(name, _, _)) => Err(name.to_string()),
        Err(zbus::Error::FDO(e)) => Err(zbus::DBusError::name(&*e).to_string()),
        Err(e) => panic!("{member}: {e}"),
    }
}

/// The next ProcessExited on a private connection (within 10 s), sent
/// from the namespace at `path`: (pid, status).
async fn process_exited(exits: &mut zbus::MessageStream, path: &str) -> (u32, i32) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = exits.next().await.unwrap().unwrap();
            let h = m.header();
            if h.message_type() == Type::Signal && h.member().is_some_and(|n| n == "ProcessExited")
            {
                assert_eq!(h.path().unwrap().as_str(), path);
                return m.body().deserialize::<(u32, i32)>().unwrap();
            }
        }
    })
    .await
    .expect("ProcessExited on the private connection")
}

const CONTROLLER: &str = "/net/netnsd/Netns1/NetworkNamespacesController";
const CONTROLLER_IFACE: &str = "net.netnsd.Netns1.NetworkNamespacesController";
const INSTANCE_IFACE: &str = "net.netnsd.Netns1.NetNsInstance";
const PRIVATE_IFACE: &str = "net.netnsd.Netns1.Private";

/// What a monitor of the system bus (dbus-daemon's BecomeMonitor) saw
/// of netnsd's interfaces: the members of the calls, and ProcessExited.
/// The messages are read as they come and let go (a copy of Spawn carries
/// the caller's descriptors: kept, they would hold its pipes open).
struct Monitor {
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Monitor {
    async fn start() -> Monitor {
        let (monitor, mut stream) = bus_monitor().await;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let into = seen.clone();
        let task = tokio::spawn(async move {
            let _monitor = monitor;
            while let Some(Ok(m)) = stream.next().await {
                let h = m.header();
                let member = h.member().map(|m| m.to_string()).unwrap_or_default();
                let iface = h.interface().map(|i| i.to_string()).unwrap_or_default();
                if !iface.starts_with("net.netnsd.Netns1") {
                    continue;
                }
                match h.message_type() {
                    Type::MethodCall => into.lock().unwrap().push(member),
                    Type::Signal if member == "ProcessExited" => into.lock().unwrap().push(member),
                    _ => {}
                }
            }
        });
        Monitor { seen, _task: task }
    }

    /// What it saw since the last call (once 300 ms went by quietly).
    async fn take(&self) -> Vec<String> {
        let mut n = usize::MAX;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = self.seen.lock().unwrap().len();
            if now == n {
                return std::mem::take(&mut *self.seen.lock().unwrap());
            }
            n = now;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_exec_as_root_goes_past_the_bus_with_the_same_results() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        nsctl(None, &["add", "pv-app"]).await.ok();
        // root's alone: a socket, mode 0600, owned by root.
        let meta = std::fs::metadata(SOCKET).expect("the private socket is there");
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.uid(), 0);

        let monitor = Monitor::start().await;
        let inode = netns_inode("pv-app");
        let script = "echo out; echo err >&2; readlink /proc/self/ns/net; exit 3";
        for private in [None, Some("")] {
            let out = exec_with(private, &["pv-app", "--", "sh", "-c", script]).await;
            assert_eq!(out.code(), Some(3), "{out}");
            assert_eq!(out.stdout, format!("out\nnet:[{inode}]\n"), "{out}");
            assert!(out.stderr.contains("err"), "{out}");
            let out = exec_with(private, &["pv-app", "--", "/nonexistent/prog"]).await;
            assert_eq!(out.code(), Some(127), "{out}");
            assert!(out.stderr.contains("could not start"), "{out}");
            let out = exec_with(private, &["pv-nope", "--", "true"]).await;
            assert_eq!(out.code(), Some(3), "{out}");
            assert!(out.stderr.contains("not found"), "{out}");

            let traffic = monitor.take().await;
            if private.is_none() {
                // Nothing went over the bus but the program's end, which
                // the bus's listeners still get.
                assert_eq!(traffic, ["ProcessExited"], "{traffic:?}");
            } else {
                assert!(
                    traffic.iter().filter(|m| *m == "Spawn").count() == 2
                        && traffic.contains(&"GetNetworkNamespaceByName".to_string()),
                    "the bus path: {traffic:?}"
                );
            }
        }
        // Another user's nsctl uses the bus (and polkit refuses nobody).
        wait_polkit(NOBODY_UID, SPAWN, false).await;
        let out = nsctl(Some(NOBODY_UID), &["exec", "pv-app", "--", "true"]).await;
        assert_eq!(out.code(), Some(5), "{out}");
        assert!(out.stderr.contains("polkit"), "{out}");
        assert_eq!(monitor.take().await, ["GetNetworkNamespaceByName", "Spawn"]);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_socket_answers_root_alone_and_only_its_calls() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns(&conn, "pv-b").await;

        // A client of its own (zbus, peer to peer).
        let sock = std::os::unix::net::UnixStream::connect(SOCKET).unwrap();
        let peer = zbus::connection::Builder::unix_stream(sock)
            .p2p()
            .build()
            .await
            .expect("the handshake");
        let lookup = |name: &'static str| {
            let peer = peer.clone();
            async move {
                call(
                    &peer,
                    CONTROLLER,
                    CONTROLLER_IFACE,
                    "GetNetworkNamespaceByName",
                    &(name,),
                )
                .await
            }
        };
        let r = lookup("pv-b").await.unwrap();
        assert_eq!(
            r.body()
                .deserialize::<zbus::wire::ObjectPath<'_>>()
                .unwrap()
                .as_str(),
            path
        );
        assert_eq!(
            lookup("pv-none").await.unwrap_err(),
            "net.netnsd.Netns1.Error.NotFound"
        );
        assert_eq!(
            lookup("bad/name").await.unwrap_err(),
            "net.netnsd.Netns1.Error.InvalidArgument"
        );

        // Its Id, as on the bus; no other property.
        let props = "org.freedesktop.DBus.Properties";
        let r = call(&peer, &path, props, "Get", &(INSTANCE_IFACE, "Id"))
            .await
            .unwrap();
        let id: zbus::OwnedVariant = r.body().deserialize().unwrap();
        assert_eq!(u64::try_from(id).unwrap(), netns_inode("pv-b"));
        assert_eq!(
            call(&peer, &path, props, "Get", &(INSTANCE_IFACE, "Name"))
                .await
                .unwrap_err(),
            "org.freedesktop.DBus.Error.UnknownProperty"
        );

        // Spawn: its checks, and a program's end on this connection.
        let mut exits = zbus::MessageStream::from(&peer);
        let null = std::fs::File::open("/dev/null").unwrap();
        let spawn = |at: String, argv: Vec<&'static str>| {
            let peer = peer.clone();
            let null = null.try_clone().unwrap();
            async move {
                let args = (
                    argv,
                    HashMap::from([("PATH", "/usr/bin:/bin")]),
                    "/",
                    HashMap::from([("stdout", zbus::wire::Fd::from(null.as_fd()))]),
                    HashMap::<&str, zbus::Variant<'_>>::new(),
                );
                call(&peer, &at, INSTANCE_IFACE, "Spawn", &args).await
            }
        };
        assert_eq!(
            spawn(path.clone(), vec![]).await.unwrap_err(),
            "net.netnsd.Netns1.Error.InvalidArgument"
        );
        assert_eq!(
            spawn(
                "/net/netnsd/Netns1/NetworkNamespace/4040".into(),
                vec!["true"]
            )
            .await
            .unwrap_err(),
            "net.netnsd.Netns1.Error.NotFound"
        );
        let r = spawn(path.clone(), vec!["sh", "-c", "exit 5"])
            .await
            .unwrap();
        let pid: u32 = r.body().deserialize().unwrap();
        let (p, status) = process_exited(&mut exits, &path).await;
        assert_eq!((p, status), (pid, 5));

        // SpawnByName: the lookup and Spawn in one call, the namespace's
        // path and the pid back; a name no namespace has is UnknownObject
        // (nsctl tells it from a program not found), and nothing starts.
        let by_name = |name: &'static str, argv: Vec<&'static str>| {
            let peer = peer.clone();
            let null = null.try_clone().unwrap();
            async move {
                let args = (
                    name,
                    argv,
                    HashMap::from([("PATH", "/usr/bin:/bin")]),
                    "/",
                    HashMap::from([("stdout", zbus::wire::Fd::from(null.as_fd()))]),
                    HashMap::<&str, zbus::Variant<'_>>::new(),
                );
                call(&peer, CONTROLLER, PRIVATE_IFACE, "SpawnByName", &args).await
            }
        };
        let marker = "/run/pv-by-name-ran";
        let touch = "touch /run/pv-by-name-ran";
        assert_eq!(
            by_name("pv-none", vec!["sh", "-c", touch])
                .await
                .unwrap_err(),
            "org.freedesktop.DBus.Error.UnknownObject"
        );
        assert_eq!(
            by_name("bad/name", vec!["sh", "-c", touch])
                .await
                .unwrap_err(),
            "net.netnsd.Netns1.Error.InvalidArgument"
        );
        assert_eq!(
            by_name("pv-b", vec![]).await.unwrap_err(),
            "net.netnsd.Netns1.Error.InvalidArgument"
        );
        assert_eq!(
            by_name("pv-b", vec!["/nonexistent/prog"])
                .await
                .unwrap_err(),
            "net.netnsd.Netns1.Error.NotFound"
        );
        assert!(!std::path::Path::new(marker).exists());
        let r = by_name(
            "pv-b",
            vec![
                "sh",
                "-c",
                "readlink /proc/self/ns/net > /run/pv-by-name-ran; exit 6",
            ],
        )
        .await
        .unwrap();
        let (at, pid): (zbus::OwnedObjectPath, u32) = r.body().deserialize().unwrap();
        assert_eq!(at.as_str(), path);
        let (p, status) = process_exited(&mut exits, &path).await;
        assert_eq!((p, status), (pid, 6));
        assert_eq!(
            std::fs::read_to_string(marker).unwrap().trim(),
            format!("net:[{}]", netns_inode("pv-b")),
            "it ran in the namespace named"
        );
        std::fs::remove_file(marker).unwrap();

        // Anything else: UnknownMethod, and nothing done.
        let r = call(
            &peer,
            CONTROLLER,
            CONTROLLER_IFACE,
            "AddNetworkNamespace",
            &("pv-made",),
        )
        .await;
        assert_eq!(r.unwrap_err(), "org.freedesktop.DBus.Error.UnknownMethod");
        assert!(!ip_netns_list().await.contains(&"pv-made".to_string()));

        // gdbus, an independent client, on the socket.
        let out = run(
            "gdbus",
            &[
                "call",
                "--address",
                &format!("unix:path={SOCKET}"),
                "--dest",
                "net.netnsd.Netns1",
                "--object-path",
                "/net/netnsd/Netns1/NetworkNamespacesController",
                "--method",
                "net.netnsd.Netns1.NetworkNamespacesController.GetNetworkNamespaceByName",
                "pv-b",
            ],
        )
        .await
        .ok();
        assert_eq!(out.stdout.trim(), format!("(objectpath '{path}',)"));

        // Not root: the file refuses nobody; and were it open, the daemon
        // closes a connection that is not root's before answering.
        let connect = format!(
            "import socket\ns=socket.socket(socket.AF_UNIX)\ns.connect('{SOCKET}')\n\
             try:\n  s.sendall(b'\\0AUTH EXTERNAL 3635353334\\r\\nBEGIN\\r\\n')\n  \
             print(repr(s.recv(100)))\nexcept OSError:\n  print('closed')"
        );
        let out = as_user(NOBODY_UID, "/usr/bin/python3", &["-c", &connect]).await;
        assert!(
            !out.success() && out.stderr.contains("PermissionError"),
            "{out}"
        );
        std::fs::set_permissions(SOCKET, std::fs::Permissions::from_mode(0o666)).unwrap();
        let out = as_user(NOBODY_UID, "/usr/bin/python3", &["-c", &connect]).await;
        std::fs::set_permissions(SOCKET, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(
            ["b''", "closed"].contains(&out.stdout.trim()),
            "no answer but the close: {out}"
        );
        wait_for(Duration::from_secs(5), "the daemon's log line", || async {
            daemon
                .log_text()
                .contains("closed a connection that is not root's")
                .then_some(())
        })
        .await;
        drop(peer);
        remove_ns(&conn, "pv-b").await;
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_socket_follows_the_daemon() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        nsctl(None, &["add", "pv-c"]).await.ok();
        let first = std::fs::metadata(SOCKET).unwrap().ino();

        // Connections past the limit are closed at once: nsctl exec then
        // goes over the bus, and works.
        let held: Vec<_> = (0..64)
            .map(|_| std::os::unix::net::UnixStream::connect(SOCKET).unwrap())
            .collect();
        let out = exec_with(None, &["pv-c", "--", "true"]).await;
        assert_eq!(out.code(), Some(0), "{out}");
        drop(held);

        // A crash leaves the socket; nsctl then finds no daemon, as on the
        // bus, and says so.
        daemon.kill9().await;
        assert!(std::fs::metadata(SOCKET).is_ok());
        let out = exec_with(None, &["pv-c", "--", "true"]).await;
        assert_eq!(out.code(), Some(10), "{out}");
        assert!(out.stderr.contains("netnsd is not running"), "{out}");

        // The next daemon makes it anew; a stop removes it.
        let daemon = Daemon::start().await;
        let second = std::fs::metadata(SOCKET).unwrap().ino();
        assert_ne!(first, second);
        let out = exec_with(None, &["pv-c", "--", "true"]).await;
        assert_eq!(out.code(), Some(0), "{out}");
        daemon.stop().await;
        assert!(
            std::fs::metadata(SOCKET).is_err(),
            "the socket outlived the daemon"
        );

        let _daemon = Daemon::start().await;
        nsctl(None, &["delete", "pv-c"]).await.ok();
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_started_over_the_private_socket_outlives_a_daemon_crash() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        nsctl(None, &["add", "pv-d"]).await.ok();
        let marker = "/run/pv-d-started";
        let _ = std::fs::remove_file(marker);
        let bin = nsctl_bin();
        let script = format!("touch {marker}; sleep 3");
        let mut child = tokio::process::Command::new("env")
            .args(["-u", "NETNSD_PRIVATE_SOCKET"])
            .arg(&bin)
            .args(["exec", "pv-d", "--", "sh", "-c", &script])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(Duration::from_secs(10), "the program's start", || async {
            std::path::Path::new(marker).exists().then_some(())
        })
        .await;
        daemon.kill9().await;
        // nsctl waits through the daemon's absence, and takes the end from
        // the next daemon (a forked program's status is unknown to it: -1,
        // which nsctl gives as 129).
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(child.try_wait().unwrap().is_none(), "nsctl gave up");
        let _daemon = Daemon::start().await;
        let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
            .await
            .expect("nsctl ends after the program")
            .unwrap();
        let mut err = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut err)
            .await
            .unwrap();
        assert_eq!(status.code(), Some(129), "{err}");
        let _ = std::fs::remove_file(marker);
        nsctl(None, &["delete", "pv-d"]).await.ok();
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_that_does_not_answer_is_not_waited_for_for_ever() {
    let _env = TestEnv::new();
    timed_within(Duration::from_secs(90), async {
        let daemon = Daemon::start().await;
        nsctl(None, &["add", "pv-e"]).await.ok();
        // Stopped: the socket takes the connection, and nothing answers.
        let pid = nix::unistd::Pid::from_raw(daemon.pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
        // nsctl's output goes to a file: the descriptors it passed with its
        // call wait in the stopped daemon's socket (a pipe would stay open
        // until the daemon reads them).
        let marker = "/run/pv-e-ran";
        let script = format!(
            "env -u NETNSD_PRIVATE_SOCKET {} exec pv-e -- touch {marker} >/run/pv-e.out 2>&1 </dev/null; echo $?",
            nsctl_bin().display()
        );
        let t0 = std::time::Instant::now();
        let out = run("sh", &["-c", &script]).await;
        let waited = t0.elapsed();
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
        let said = std::fs::read_to_string("/run/pv-e.out").unwrap();
        assert_eq!(out.stdout.trim(), "10", "{out} {said}");
        assert!(
            said.contains(
                "netnsd did not answer on its private socket /run/netnsd/private within 25 s"
            ),
            "{said}"
        );
        assert!(
            waited >= Duration::from_secs(24),
            "gave up after {waited:?}"
        );
        // Resumed, the daemon finds the caller gone and starts nothing.
        wait_for(Duration::from_secs(5), "the daemon's log line", || async {
            daemon
                .log_text()
                .contains("whose caller had left: not started")
                .then_some(())
        })
        .await;
        assert!(!std::path::Path::new(marker).exists(), "the program ran");
        // Going again, it answers.
        let out = exec_with(None, &["pv-e", "--", "true"]).await;
        assert_eq!(out.code(), Some(0), "{out}");
        nsctl(None, &["delete", "pv-e"]).await.ok();
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}
