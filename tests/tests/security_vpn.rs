//! Issue 12, VPN input and the helper channel: what a hostile local user,
//! file or VPN server can do, shown closed against the real daemon.
//!
//! - (1) ImportConnection reads the files an .ovpn names as the caller: a
//!   symlink to a root-only file is refused, and a credentials file's
//!   contents are secrets, never shown by GetSettings.
//! - (4) No activation, failed or deactivated, leaves its helper listener
//!   behind: the daemon's descriptors do not grow over 20 cycles.
//! - (5) A server pushing a prefix longer than its address, or a
//!   CISCO_SPLIT_INC count of 2^64-1, fails the activation
//!   (ip-config-invalid) and the daemon goes on.
//! - (6) The helper socket is root's alone whatever the umask, and a
//!   message over the bound fails the activation cleanly.
//! - (7) An openconnect gateway that is an option is refused.
//!
//! The VPN server here is a TCP listener of the test that accepts and never
//! answers: openconnect waits in its TLS handshake, so the activation stays
//! activating for as long as the test needs, and the test plays the client's
//! hook itself (`netnsd --vpn-helper SOCKET` with the environment a server
//! would have pushed).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

/// A gateway that accepts TCP connections and never says a word.
struct SilentGateway {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl SilentGateway {
    async fn start() -> SilentGateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        SilentGateway { port, task }
    }
}

impl Drop for SilentGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A directory of the test's under /tmp, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(prefix: &str) -> Scratch {
        // The sandbox in the name too: /tmp is every sandbox's.
        let p = PathBuf::from("/tmp").join(unique(&format!("{prefix}-{}", tmp_tag())));
        std::fs::create_dir(&p).unwrap();
        Scratch(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An openconnect profile for `gateway`, not isolated, with a stored
/// cookie: the tunnel client starts at once (a profile with a password
/// would first log in with `openconnect --authenticate`, which these
/// gateways never answer, and no helper socket would exist yet).
fn oc_keyfile(id: &str, uuid: &str, gateway: &str) -> String {
    format!(
        "[connection]\nid={id}\nuuid={uuid}\ntype=vpn\n\n\
         [vpn]\nservice-type={OC_SERVICE}\ngateway={gateway}\nusername=alice\n\n\
         [vpn-secrets]\ncookie=webvpn=sec-test\n"
    )
}

/// Installs an openconnect profile and returns its object path.
async fn install_oc(conn: &zbus::Connection, stem: &str, uuid: &str, gateway: &str) -> String {
    install_keyfile_text(stem, &oc_keyfile(stem, uuid, gateway));
    settings_proxy(conn)
        .await
        .reload_connections()
        .await
        .expect("ReloadConnections");
    settings_proxy(conn)
        .await
        .get_connection_by_uuid(uuid)
        .await
        .unwrap_or_else(|e| panic!("{stem}: {e:?}"))
        .to_string()
}

/// The number of active connection `ac` (`/…/ActiveConnection/N`).
fn active_number(ac: &str) -> u32 {
    ac.rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{ac} is no active connection"))
}

/// The helper socket of active connection `ac`.
fn helper_socket(ac: &str) -> PathBuf {
    PathBuf::from(format!("/run/netnsd/vpn/{}.sock", active_number(ac)))
}

/// Waits until openconnect has reported pre-init (so it is in its
/// handshake): its helper socket is there and the client runs.
async fn wait_connecting(ac: &str) {
    let socket = helper_socket(ac);
    wait_for(Duration::from_secs(10), "openconnect running", || {
        let socket = socket.clone();
        async move { (socket.exists() && !processes_of(OPENCONNECT_BIN).is_empty()).then_some(()) }
    })
    .await;
}

/// Runs `netnsd --vpn-helper SOCKET` with `env`, as root or as `uid`.
async fn hook(uid: Option<u32>, socket: &Path, env: &[(&str, &str)]) -> Out {
    let mut args: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    args.push(netnsd_bin().display().to_string());
    args.push("--vpn-helper".into());
    args.push(socket.display().to_string());
    match uid {
        None => run("env", &args).await,
        Some(uid) => as_user(uid, "env", &args).await,
    }
}

/// The (state, reason) pairs of VpnStateChanged the active connection sent.
fn vpn_states(log: &StateLog, ac: &str) -> Vec<(u32, u32)> {
    log.states(ac, Sig::Vpn)
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// (1) ImportConnection as a member of netns-admins: `auth-user-pass creds`
/// where creds links to a root-only file is refused (nothing added, the
/// file's contents nowhere); a `ca` the caller cannot read is refused; the
/// caller's own credentials file imports, and its user name and password
/// are secrets that GetSettings, asked by nobody, does not show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reads_named_files_only_as_the_caller() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = PolkitRules::install("50-sec-vpn-admins", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, netnsd_api::actions::MODIFY_SETTINGS, true).await;
        let dir = Scratch::new("netnsd-sec-import");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root_only = dir.path().join("root-only");
        std::fs::write(&root_only, "root-user-7f3a\nroot-pass-7f3a\n").unwrap();
        std::fs::set_permissions(&root_only, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&root_only, dir.path().join("creds")).unwrap();
        let own = dir.path().join("own");
        std::fs::write(&own, "alice-4c1d\nalice-pass-4c1d\n").unwrap();
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o600)).unwrap();
        nix::unistd::chown(&own, Some(nix::unistd::Uid::from_raw(ADMIN_UID)), None).unwrap();
        let base = dir.path().display().to_string();

        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let import = |text: &'static str| {
            let base = base.clone();
            async move {
                gdbus_call(
                    Some(ADMIN_UID),
                    netnsd_api::SETTINGS_PATH,
                    &format!("{SETTINGS_INTERFACE}.ImportConnection"),
                    &[
                        gvariant_str("openvpn"),
                        gvariant_str("imported"),
                        gvariant_str(text),
                        gvariant_str(&base),
                    ],
                )
                .await
            }
        };

        let before = list_connections(&conn).await;
        for (text, named) in [
            (
                "client\nremote 192.0.2.1\nca ca.crt\nauth-user-pass creds\n",
                "creds",
            ),
            ("client\nremote 192.0.2.1\nca root-only\n", "root-only"),
        ] {
            let out = import(text).await;
            assert!(!out.success(), "imported as nsadmin: {out}");
            assert_eq!(
                out.gdbus_error().as_deref(),
                Some("net.netnsd.Netns1.Error.InvalidArgument"),
                "{out}"
            );
            assert!(
                out.stderr.contains(named) && out.stderr.contains("ermission denied"),
                "{out}"
            );
            assert!(
                !out.stderr.contains("7f3a"),
                "the root-only file leaked: {out}"
            );
            assert_eq!(list_connections(&conn).await, before);
        }

        let out = import("client\nremote 192.0.2.1\nca ca.crt\nauth-user-pass own\n")
            .await
            .ok();
        let path = out
            .stdout
            .split('\'')
            .nth(1)
            .unwrap_or_else(|| panic!("no path in {out}"))
            .to_string();
        let settings = gdbus_call(
            Some(NOBODY_UID),
            &path,
            &format!("{CONNECTION_INTERFACE}.GetSettings"),
            &[],
        )
        .await
        .ok();
        assert!(
            !settings.stdout.contains("alice-4c1d") && !settings.stdout.contains("alice-pass"),
            "GetSettings shows what the credentials file holds to nobody: {settings}"
        );
        assert!(
            settings.stdout.contains("192.0.2.1"),
            "not the imported profile: {settings}"
        );
        assert!(!daemon.log_text().contains("7f3a"));
        drop(daemon);
    })
    .await
}

/// (4) 10 activations that fail (the gateway refuses) and 10 deactivated
/// while connecting: the daemon's descriptors do not grow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_helper_listener_outlives_its_activation() {
    let _env = TestEnv::new();
    // 22 activations, each followed by a full leftovers check: about 60 s
    // on an idle 2-core machine, more under load.
    timed_within(Duration::from_secs(240), async {
        let gw = SilentGateway::start().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        // Port 1 on lo: refused at once, openconnect fails.
        let failing = install_oc(
            &conn,
            "sec-oc-refused",
            "0e6f3d0a-47b1-4d51-9d60-8a3b2c1d0e01",
            "127.0.0.1:1",
        )
        .await;
        let silent = install_oc(
            &conn,
            "sec-oc-silent",
            "0e6f3d0a-47b1-4d51-9d60-8a3b2c1d0e02",
            &format!("127.0.0.1:{}", gw.port),
        )
        .await;
        let mut log = StateLog::new(&conn).await;
        let mut cycle = async |i: usize| {
            if i.is_multiple_of(2) {
                let ac = activate(&conn, &failing).await.expect("activate");
                log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
            } else {
                let ac = activate(&conn, &silent).await.expect("activate");
                wait_connecting(&ac).await;
                deactivate_until_down(&conn, &mut log, &ac).await;
            }
            assert_nothing_left_within(&Keep::nothing(), VPN_DOWN_TIMEOUT).await;
        };
        // One of each first: whatever the daemon opens once is open.
        cycle(0).await;
        cycle(1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = fd_count(daemon.pid());
        for i in 0..20 {
            cycle(i).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = fd_count(daemon.pid());
        eprintln!("daemon descriptors: {before} before 20 cycles, {after} after");
        assert!(
            after <= before + 2,
            "the daemon's descriptors grew from {before} to {after} over 20 activations"
        );
        let sockets: Vec<_> = std::fs::read_dir("/run/netnsd/vpn")
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(sockets.is_empty(), "left in /run/netnsd/vpn: {sockets:?}");
        drop(daemon);
    })
    .await
}

/// (5) The hook reports what a hostile gateway pushes: a split route with
/// a prefix of 200, then a split-route count of 2^64-1. Each activation
/// fails with ip-config-invalid, nothing is left, and the daemon answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_pushed_prefix_fails_the_activation() {
    let _env = TestEnv::new();
    timed(async {
        let gw = SilentGateway::start().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = install_oc(
            &conn,
            "sec-oc-prefix",
            "0e6f3d0a-47b1-4d51-9d60-8a3b2c1d0e03",
            &format!("127.0.0.1:{}", gw.port),
        )
        .await;
        let mut log = StateLog::new(&conn).await;
        for pushed in [
            &[
                ("CISCO_SPLIT_INC", "1"),
                ("CISCO_SPLIT_INC_0_ADDR", "10.99.0.0"),
                ("CISCO_SPLIT_INC_0_MASKLEN", "200"),
            ][..],
            &[("INTERNAL_IP4_NETMASKLEN", "200")],
            &[("CISCO_SPLIT_INC", "18446744073709551615")],
        ] {
            let ac = activate(&conn, &profile).await.expect("activate");
            wait_connecting(&ac).await;
            let tundev = format!("nsvpn{}", active_number(&ac));
            let mut env = vec![
                ("reason", "connect"),
                ("TUNDEV", tundev.as_str()),
                ("INTERNAL_IP4_ADDRESS", "192.168.100.5"),
            ];
            env.extend_from_slice(pushed);
            let out = hook(None, &helper_socket(&ac), &env).await;
            assert_eq!(out.code(), Some(1), "the hook was not refused: {out}");
            assert!(out.stderr.contains("refused"), "{out}");
            log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
            assert!(
                vpn_states(&log, &ac).contains(&(vpn::FAILED, reason::IP_CONFIG_INVALID)),
                "{pushed:?}: not failed with ip-config-invalid:\n{}",
                log.describe()
            );
            assert_nothing_left_within(&Keep::nothing(), VPN_DOWN_TIMEOUT).await;
            assert_eq!(name_owner_pid(&conn).await, Some(daemon.pid()));
        }
        let _ = list_connections(&conn).await;
        assert!(
            !daemon.log_text().contains("panicked"),
            "{}",
            daemon.log_text()
        );
        drop(daemon);
    })
    .await
}

/// (6) With the daemon started under umask 000, a user who is not root
/// cannot talk to an activation's helper socket (its message would
/// otherwise configure, or fail, someone else's tunnel): the hook run as
/// nsuser is refused and the activation goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_root_talks_to_the_helper_socket() {
    let _env = TestEnv::new();
    timed(async {
        let gw = SilentGateway::start().await;
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        let daemon = Daemon::start().await;
        nix::sys::stat::umask(old);
        let conn = system_conn().await;
        let profile = install_oc(
            &conn,
            "sec-oc-peer",
            "0e6f3d0a-47b1-4d51-9d60-8a3b2c1d0e04",
            &format!("127.0.0.1:{}", gw.port),
        )
        .await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate(&conn, &profile).await.expect("activate");
        wait_connecting(&ac).await;
        let socket = helper_socket(&ac);
        let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
        let dir_mode = std::fs::metadata(socket.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        let tundev = format!("nsvpn{}", active_number(&ac));
        let out = hook(
            Some(PLAIN_UID),
            &socket,
            &[
                ("reason", "connect"),
                ("TUNDEV", &tundev),
                ("INTERNAL_IP4_ADDRESS", "192.168.100.5"),
            ],
        )
        .await;
        assert_eq!(out.code(), Some(1), "{out}");
        tokio::time::sleep(Duration::from_secs(1)).await;
        log.drain().await;
        assert_eq!(
            log.states(&ac, Sig::State).last().map(|s| s.0),
            Some(active::ACTIVATING),
            "nsuser's message changed the activation (socket {mode:o}, directory {dir_mode:o}):\n{}",
            log.describe()
        );
        assert_eq!((mode, dir_mode), (0o600, 0o700));
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left_within(&Keep::nothing(), VPN_DOWN_TIMEOUT).await;
        drop(daemon);
    })
    .await
}

/// (6) A message of 1 MiB with no end of line (the bound is 256 KiB): the
/// daemon stops reading, the activation fails with ip-config-invalid and
/// everything goes, while the sender still holds its connection open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_helper_message_fails_the_activation() {
    let _env = TestEnv::new();
    timed(async {
        let gw = SilentGateway::start().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = install_oc(
            &conn,
            "sec-oc-big",
            "0e6f3d0a-47b1-4d51-9d60-8a3b2c1d0e05",
            &format!("127.0.0.1:{}", gw.port),
        )
        .await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate(&conn, &profile).await.expect("activate");
        wait_connecting(&ac).await;
        let socket = helper_socket(&ac);
        let held = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut s = std::os::unix::net::UnixStream::connect(&socket).unwrap();
            s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..16 {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
            s
        });
        log.wait_deactivated(&ac, Duration::from_secs(20)).await;
        assert!(
            vpn_states(&log, &ac).contains(&(vpn::FAILED, reason::IP_CONFIG_INVALID)),
            "not failed with ip-config-invalid:\n{}",
            log.describe()
        );
        assert_nothing_left_within(&Keep::nothing(), VPN_DOWN_TIMEOUT).await;
        assert!(!helper_socket(&ac).exists());
        drop(held.await.unwrap());
        assert_eq!(name_owner_pid(&conn).await, Some(daemon.pid()));
        drop(daemon);
    })
    .await
}

/// (7) A profile whose gateway is `--script=/tmp/…`: ActivateConnection is
/// refused with InvalidArgument naming vpn.data.gateway, no openconnect
/// starts, and the script never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openconnect_gateway_that_is_an_option_is_refused() {
    let _env = TestEnv::new();
    timed(async {
        let dir = Scratch::new("netnsd-sec-evil");
        let marker = dir.path().join("ran");
        let script = dir.path().join("evil");
        std::fs::write(&script, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = install_oc(
            &conn,
            "sec-oc-evil",
            "0e6f3d0a-47b1-4d51-9d60-8a3b2c1d0e06",
            &format!("--script={}", script.display()),
        )
        .await;
        let mut log = StateLog::new(&conn).await;
        let r = activate(&conn, &profile).await;
        let ac = r.as_ref().ok().cloned();
        if let Some(ac) = &ac {
            log.wait_deactivated(ac, VPN_DOWN_TIMEOUT).await;
        }
        let e = r.expect_err("a gateway beginning with '-' was accepted");
        assert!(
            matches!(&e, ApiError::InvalidArgument(m) if m.contains("vpn.data.gateway")),
            "{e:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(processes_of(OPENCONNECT_BIN).is_empty());
        assert!(!marker.exists(), "the gateway's --script ran");
        drop(daemon);
    })
    .await
}
