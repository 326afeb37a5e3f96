//! The desktop applet, examples/applet/netnsd-applet (issue 14, item 4), run
//! as the test user nsadmin under Xvfb against the sandbox's daemon and the
//! OpenVPN rig, driven through its test hook (NETNSD_APPLET_TEST=1:
//! `net.netnsd.Applet.Test` on a session bus of its own, called with busctl
//! as nsadmin).
//!
//! Xvfb, the session bus and the applet run in a mount namespace of their
//! own with a tmpfs on /tmp (the sandbox's /tmp is the host's: the X socket
//! and lock file must not land there); the applet reaches the X server by
//! its abstract socket, which lives in the sandbox's network namespace.
//!
//! - `applet_lists_brings_up_opens_and_down`: the profiles and their states
//!   come from the daemon's signals (a profile added and deleted meanwhile
//!   shows and goes); "Connect" brings the isolated VPN up (the bus says
//!   activated, the intranet answers from the namespace), "Open Terminal in
//!   this VPN" runs a program as nsadmin in that namespace (/proc/PID/ns/net),
//!   a screenshot of the menu open is taken, "Disconnect" takes it down and
//!   nothing is left; a profile that cannot start shows its failure.
//! - `applet_is_a_secret_agent`: GetSecrets called on the applet over the
//!   system bus as the daemon calls it: the dialog names the profile and the
//!   field, the typed password comes back as {"vpn": {"secrets": ...}};
//!   Cancel is UserCanceled; CancelGetSecrets closes the dialog; no
//!   interaction allowed is NoSecrets at once.
//! - `applet_agent_end_to_end`: an agent-owned password, asked by the
//!   daemon through the applet's dialog, brings the VPN up.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netnsd_api::state::active;
use netnsd_tests::openvpn::*;
use netnsd_tests::*;
use serde_json::Value;
use zbus::{OwnedVariant as OwnedValue, Variant as ZValue};

const APPLET_DIR: &str = "/run/netnsd-tests-applet";
const DISPLAY: &str = ":7";
const AGENT_PATH: &str = "/net/netnsd/Netns1/SecretAgent";
const AGENT_IFACE: &str = "net.netnsd.Netns1.SecretAgent";

/// The applet with its X server and session bus; killed (the whole process
/// group) when dropped.
struct AppletSession {
    child: std::process::Child,
    dir: PathBuf,
}

impl AppletSession {
    /// Starts Xvfb, a session bus and the applet as nsadmin, with
    /// `apps_json` as its "Open … in this VPN" list; waits until its hook
    /// answers.
    async fn start(apps_json: &str) -> AppletSession {
        let dir = PathBuf::from(APPLET_DIR);
        let _ = std::fs::remove_dir_all(&dir);
        let conf = dir.join("home/.config/netnsd-applet");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(dir.join("xdg")).unwrap();
        std::fs::write(conf.join("apps.json"), apps_json).unwrap();
        for sub in [
            "",
            "home",
            "home/.config",
            "home/.config/netnsd-applet",
            "xdg",
        ] {
            let p = dir.join(sub);
            std::os::unix::fs::chown(&p, Some(ADMIN_UID), Some(ADMIN_UID)).unwrap();
        }
        std::fs::set_permissions(
            dir.join("xdg"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let applet = repo_root().join("examples/applet/netnsd-applet");
        let d = dir.display();
        let script = format!(
            r#"set -eu
mount -t tmpfs -o mode=1777 tmpfs /tmp
Xvfb {DISPLAY} -screen 0 560x340x24 -nolisten tcp -ac >{d}/xvfb.log 2>&1 &
i=0; until [ -S /tmp/.X11-unix/X7 ]; do i=$((i+1)); [ $i -le 150 ] || {{ echo no Xvfb >&2; exit 1; }}; sleep 0.1; done
as_user() {{
  setpriv --reuid={uid} --regid={uid} --init-groups -- env -i HOME={d}/home USER=nsadmin \
    PATH=/usr/local/bin:/usr/bin:/bin DISPLAY={DISPLAY} XDG_RUNTIME_DIR={d}/xdg \
    XDG_CONFIG_HOME={d}/home/.config DBUS_SESSION_BUS_ADDRESS=unix:path={d}/bus \
    NO_AT_BRIDGE=1 GDK_BACKEND=x11 "$@"
}}
as_user dbus-daemon --session --nofork --nopidfile --address=unix:path={d}/bus >{d}/session-bus.log 2>&1 &
i=0; until [ -S {d}/bus ]; do i=$((i+1)); [ $i -le 100 ] || {{ echo no session bus >&2; exit 1; }}; sleep 0.1; done
as_user env NETNSD_APPLET_TEST=1 /usr/bin/python3 {applet} >{d}/applet.log 2>&1 &
wait
"#,
            uid = ADMIN_UID,
            applet = applet.display(),
        );
        let child = std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("start the applet's session");
        let s = AppletSession { child, dir };
        s.wait(Duration::from_secs(20), "the applet's test hook", |v| {
            v.get("items").map(|_| ())
        })
        .await;
        s
    }

    fn log(&self) -> String {
        let mut out = String::new();
        for f in ["applet.log", "xvfb.log", "session-bus.log"] {
            let text = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
            out.push_str(&format!("--- {f}:\n{text}\n"));
        }
        out
    }

    /// Calls a hook method as nsadmin with busctl.
    async fn hook(&self, method: &str, sig_args: &[&str]) -> Out {
        let addr = format!("--address=unix:path={}/bus", self.dir.display());
        let mut args = vec![
            addr.as_str(),
            "--json=short",
            "--timeout=10",
            "call",
            "net.netnsd.Applet",
            "/net/netnsd/Applet/Test",
            "net.netnsd.Applet.Test",
            method,
        ];
        args.extend_from_slice(sig_args);
        as_user(ADMIN_UID, "busctl", &args).await
    }

    async fn try_state(&self) -> Option<Value> {
        let out = self.hook("State", &[]).await;
        if !out.success() {
            return None;
        }
        let data = busctl_json_data(&out);
        serde_json::from_str(data[0].as_str()?).ok()
    }

    async fn state(&self) -> Value {
        match self.try_state().await {
            Some(v) => v,
            None => panic!("the applet's hook does not answer\n{}", self.log()),
        }
    }

    async fn wait<T, F>(&self, limit: Duration, what: &str, check: F) -> T
    where
        F: Fn(&Value) -> Option<T>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        let mut last = None;
        loop {
            if let Some(v) = self.try_state().await {
                if let Some(t) = check(&v) {
                    return t;
                }
                last = Some(v);
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "the applet: {what} not seen within {limit:?}; last state:\n{}\n{}",
                    serde_json::to_string_pretty(&last).unwrap(),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn click(&self, item: &str) {
        let out = self.hook("Click", &["s", item]).await;
        assert!(out.success(), "clicking {item}: {out}\n{}", self.log());
    }
}

impl Drop for AppletSession {
    fn drop(&mut self) {
        let pg = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pg, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// The profile entry of the applet's state with this uuid.
fn profile_of<'a>(v: &'a Value, uuid: &str) -> Option<&'a Value> {
    v["profiles"]
        .as_array()?
        .iter()
        .find(|p| p["uuid"].as_str() == Some(uuid))
}

/// The menu item with this id.
fn item_of<'a>(v: &'a Value, id: &str) -> Option<&'a Value> {
    v["items"]
        .as_array()?
        .iter()
        .find(|i| i["id"].as_str() == Some(id))
}

/// The applications list of the test: stand-ins that only wait (what runs
/// is checked by its namespace and user, not its window).
const TERMINAL_APPS: &str = r#"[
  {"name": "Terminal", "command": ["/bin/sh", "-c", "exec sleep 600"]},
  {"name": "Firefox", "command": ["/bin/sh", "-c", "exec sleep 600"]},
  {"name": "Files", "command": ["/bin/sh", "-c", "exec sleep 600"]}
]"#;

fn screenshot_copy() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    target.join("applet-screenshot.png")
}

/// The applet lists the profiles live, brings an isolated OpenVPN up, runs
/// a program in its namespace as the user, shows the menu for a
/// screenshot, brings it down; a failing profile's reason is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applet_lists_brings_up_opens_and_down() {
    let _env = TestEnv::new();
    timed_within(Duration::from_secs(150), async {
        let rig = OpenVpnRig::start().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let _rules = PolkitRules::install("50-netns-admins", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, netnsd_api::actions::ACTIVATE_CONNECTION, true).await;
        wait_polkit(ADMIN_UID, netnsd_api::actions::SPAWN, true).await;
        let profile = rig.profile("corp-vpn").isolated("corpvpn");
        let path = add_connection(&conn, &profile).await;
        let lab = rig.profile("lab-vpn").isolated("labvpn");
        add_connection(&conn, &lab).await;

        let applet = AppletSession::start(TERMINAL_APPS).await;
        let up_item = format!("up:{}", profile.uuid);
        applet
            .wait(
                Duration::from_secs(10),
                "corp-vpn listed, disconnected",
                |v| {
                    let p = profile_of(v, &profile.uuid)?;
                    let lab = profile_of(v, &lab.uuid)?;
                    (p["state"] == "disconnected"
                        && p["id"] == "corp-vpn"
                        && lab["state"] == "disconnected"
                        && item_of(v, &up_item).is_some())
                    .then_some(())
                },
            )
            .await;
        let st = applet.state().await;
        assert_eq!(st["daemon"], true, "{st}");
        assert_eq!(
            item_of(&st, &format!("profile:{}", profile.uuid)).unwrap()["label"],
            "○ corp-vpn: disconnected",
            "{st}"
        );

        // Live: a profile added now shows, and goes when deleted.
        let other = rig.profile("other-vpn").isolated("othervpn");
        let other_path = add_connection(&conn, &other).await;
        applet
            .wait(Duration::from_secs(5), "other-vpn to show", |v| {
                profile_of(v, &other.uuid).map(|_| ())
            })
            .await;
        connection_proxy(&conn, &other_path)
            .await
            .delete()
            .await
            .unwrap();
        applet
            .wait(Duration::from_secs(5), "other-vpn to go", |v| {
                profile_of(v, &other.uuid).is_none().then_some(())
            })
            .await;

        // Connect.
        applet.click(&up_item).await;
        let ac = applet
            .wait(VPN_UP_TIMEOUT, "corp-vpn connected", |v| {
                let p = profile_of(v, &profile.uuid)?;
                (p["state"] == "connected").then(|| p["active"].as_str().unwrap().to_owned())
            })
            .await;
        assert_eq!(
            active_proxy(&conn, &ac).await.state().await.unwrap(),
            active::ACTIVATED,
            "the bus says {ac} is not activated"
        );
        assert_eq!(
            active_proxy(&conn, &ac)
                .await
                .connection()
                .await
                .unwrap()
                .as_str(),
            path
        );
        let out = curl_in("corpvpn", &intranet_url(), 10).await;
        assert!(
            out.success() && out.stdout.contains(INTRANET_TOKEN),
            "the intranet from the VPN's namespace: {out}\n{}",
            rig.logs()
        );
        let st = applet.state().await;
        assert_eq!(
            item_of(&st, &format!("profile:{}", profile.uuid)).unwrap()["label"],
            "● corp-vpn: connected",
            "{st}"
        );
        assert!(
            item_of(&st, &format!("down:{}", profile.uuid)).is_some(),
            "{st}"
        );

        // Open Terminal in this VPN.
        let open = format!("open:{}:0", profile.uuid);
        assert_eq!(
            item_of(&st, &open).map(|i| i["label"].clone()),
            Some(Value::from("    Open Terminal in this VPN")),
            "{st}"
        );
        applet.click(&open).await;
        let pid = applet
            .wait(Duration::from_secs(10), "the terminal started", |v| {
                v["launched"].as_array()?.first()?["pid"].as_u64()
            })
            .await as u32;
        let ns_link = std::fs::read_link(format!("/proc/{pid}/ns/net"))
            .unwrap_or_else(|e| panic!("/proc/{pid}/ns/net: {e}\n{}", applet.log()));
        assert_eq!(
            ns_link.to_str().unwrap(),
            format!("net:[{}]", netns_inode("corpvpn")),
            "the terminal (pid {pid}) is not in corpvpn"
        );
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(
            uid_line.split_whitespace().nth(1) == Some(&ADMIN_UID.to_string()),
            "the terminal runs as {uid_line}, not as nsadmin"
        );

        // The menu on screen, a VPN up: the screenshot.
        assert!(applet.hook("PopupMenu", &[]).await.success());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let shot = Path::new(APPLET_DIR).join("shot.png");
        let out = applet
            .hook("Screenshot", &["s", shot.to_str().unwrap()])
            .await;
        assert!(out.success(), "Screenshot: {out}\n{}", applet.log());
        let png = std::fs::read(&shot).unwrap();
        let _ = std::fs::copy(&shot, screenshot_copy());
        let width = png
            .get(16..20)
            .map(|b| u32::from_be_bytes(b.try_into().unwrap()));
        let height = png
            .get(20..24)
            .map(|b| u32::from_be_bytes(b.try_into().unwrap()));
        assert!(
            png.starts_with(b"\x89PNG") && width == Some(560) && height == Some(340),
            "not a 560x340 picture of the screen: {} bytes, {width:?}x{height:?}",
            png.len()
        );
        let st = applet.state().await;
        assert_eq!(st["menu_shown"], true, "the menu is not on screen: {st}");

        // The program ends; Disconnect.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        wait_for(Duration::from_secs(5), "the terminal to end", || async {
            (!Path::new(&format!("/proc/{pid}")).exists()).then_some(())
        })
        .await;
        // The menu closes on the click (it is a real GTK menu).
        applet.click(&format!("down:{}", profile.uuid)).await;
        applet
            .wait(VPN_DOWN_TIMEOUT, "corp-vpn disconnected", |v| {
                let p = profile_of(v, &profile.uuid)?;
                (p["state"] == "disconnected" && item_of(v, &up_item).is_some()).then_some(())
            })
            .await;
        wait_for(VPN_DOWN_TIMEOUT, "corpvpn to go", || async {
            (!ip_netns_list().await.contains(&"corpvpn".to_owned())).then_some(())
        })
        .await;
        let st = applet.state().await;
        assert!(st["errors"].as_array().unwrap().is_empty(), "{st}");

        // A profile that cannot start: the failure is shown in the menu.
        let broken = rig
            .profile("broken-vpn")
            .isolated("brokenvpn")
            .data("ca", "/nonexistent/ca.pem");
        add_connection(&conn, &broken).await;
        let up_broken = format!("up:{}", broken.uuid);
        applet
            .wait(Duration::from_secs(5), "broken-vpn listed", |v| {
                item_of(v, &up_broken).map(|_| ())
            })
            .await;
        applet.click(&up_broken).await;
        let err = applet
            .wait(Duration::from_secs(30), "broken-vpn's failure", |v| {
                v["items"]
                    .as_array()?
                    .iter()
                    .find(|i| i["id"].as_str().is_some_and(|id| id.starts_with("error:")))
                    .map(|i| i["label"].as_str().unwrap().to_owned())
            })
            .await;
        assert!(err.contains("broken-vpn"), "{err}");
        assert!(
            err.contains("failed") || err.contains("InvalidArgument"),
            "the menu shows {err:?}"
        );

        drop(applet);
        assert_nothing_left(&rig.keep()).await;
        drop(daemon);
    })
    .await
}

type Dict = HashMap<String, HashMap<String, OwnedValue>>;

/// A profile's settings as the daemon hands them to an agent.
fn agent_connection(id: &str, flags: &str) -> Dict {
    let s = |v: &str| OwnedValue::try_from(ZValue::from(v)).unwrap();
    let mut connection = HashMap::new();
    connection.insert("id".to_owned(), s(id));
    connection.insert("uuid".to_owned(), s(&new_uuid()));
    connection.insert("type".to_owned(), s("vpn"));
    let mut data: HashMap<String, String> = HashMap::new();
    data.insert("password-flags".into(), flags.into());
    data.insert("username".into(), "alice".into());
    data.insert("cert-pass-flags".into(), "4".into());
    let mut vpn = HashMap::new();
    vpn.insert("service-type".to_owned(), s(OPENVPN_SERVICE));
    vpn.insert(
        "data".to_owned(),
        OwnedValue::try_from(ZValue::from(data)).unwrap(),
    );
    let mut d = Dict::new();
    d.insert("connection".into(), connection);
    d.insert("vpn".into(), vpn);
    d
}

/// Calls the applet's GetSecrets over the system bus, as the daemon (root)
/// does.
async fn get_secrets(
    conn: &zbus::Connection,
    agent: &str,
    connection: &Dict,
    hints: &[&str],
    flags: u32,
) -> Result<Dict, zbus::Error> {
    let reply = conn
        .call_method(
            Some(agent),
            AGENT_PATH,
            Some(AGENT_IFACE),
            "GetSecrets",
            &(
                connection,
                zbus::ObjectPath::try_from("/net/netnsd/Netns1/Settings/7").unwrap(),
                "vpn",
                hints,
                flags,
            ),
        )
        .await?;
    reply.body().deserialize::<Dict>()
}

fn vpn_secrets(d: &Dict) -> HashMap<String, String> {
    let v = d
        .get("vpn")
        .and_then(|s| s.get("secrets"))
        .unwrap_or_else(|| panic!("no vpn.secrets in {d:?}"));
    HashMap::<String, String>::try_from(v.try_clone().unwrap()).unwrap()
}

/// The applet as the secret agent, called as the daemon would call it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applet_is_a_secret_agent() {
    let _env = TestEnv::new();
    timed(async {
        let applet = AppletSession::start("[]").await;
        let st = applet.state().await;
        let agent = st["system_bus_name"].as_str().unwrap().to_owned();
        let conn = system_conn().await;

        // Typed into the dialog → the reply.
        let profile = agent_connection("corp-vpn", "1");
        let call = {
            let conn = conn.clone();
            let agent = agent.clone();
            let profile = profile.clone_dict();
            tokio::spawn(async move { get_secrets(&conn, &agent, &profile, &[], 1).await })
        };
        let dialog = applet
            .wait(Duration::from_secs(10), "the password dialog", |v| {
                v["dialogs"].as_array()?.first().cloned()
            })
            .await;
        assert_eq!(dialog["title"], "corp-vpn", "{dialog}");
        assert_eq!(
            dialog["fields"],
            serde_json::json!(["password"]),
            "{dialog}"
        );
        assert_eq!(dialog["visible"], true, "{dialog}");
        // A picture of the dialog, for a person to look at (not checked),
        // once it has been drawn.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let shot = Path::new(APPLET_DIR).join("dialog.png");
        let out = applet
            .hook("Screenshot", &["s", shot.to_str().unwrap()])
            .await;
        assert!(out.success(), "Screenshot: {out}");
        let _ = std::fs::copy(&shot, screenshot_copy().with_file_name("applet-dialog.png"));
        let out = applet
            .hook(
                "AnswerDialog",
                &["a{ss}b", "1", "password", "s3cret", "true"],
            )
            .await;
        assert!(out.success(), "{out}");
        let reply = call.await.unwrap().expect("GetSecrets answered");
        assert_eq!(
            vpn_secrets(&reply),
            HashMap::from([("password".to_owned(), "s3cret".to_owned())])
        );
        applet
            .wait(Duration::from_secs(5), "the dialog to close", |v| {
                v["dialogs"].as_array()?.is_empty().then_some(())
            })
            .await;

        // Hints name the fields (a one-time code), with a message shown.
        let call = {
            let conn = conn.clone();
            let agent = agent.clone();
            let profile = profile.clone_dict();
            tokio::spawn(async move {
                get_secrets(
                    &conn,
                    &agent,
                    &profile,
                    &["x-vpn-message:Code from your token", "otp"],
                    1,
                )
                .await
            })
        };
        let dialog = applet
            .wait(Duration::from_secs(10), "the one-time code dialog", |v| {
                v["dialogs"].as_array()?.first().cloned()
            })
            .await;
        assert_eq!(dialog["fields"], serde_json::json!(["otp"]), "{dialog}");
        assert_eq!(
            dialog["messages"],
            serde_json::json!(["Code from your token"]),
            "{dialog}"
        );
        // Cancel → UserCanceled.
        let out = applet.hook("AnswerDialog", &["a{ss}b", "0", "false"]).await;
        assert!(out.success(), "{out}");
        let err = call
            .await
            .unwrap()
            .expect_err("a canceled dialog is an error");
        assert_eq!(
            zbus_error_name(&err),
            "net.netnsd.Netns1.SecretAgent.UserCanceled",
            "{err:?}"
        );

        // CancelGetSecrets closes the dialog; the call ends.
        let call = {
            let conn = conn.clone();
            let agent = agent.clone();
            let profile = profile.clone_dict();
            tokio::spawn(async move { get_secrets(&conn, &agent, &profile, &[], 1).await })
        };
        applet
            .wait(Duration::from_secs(10), "the dialog again", |v| {
                (!v["dialogs"].as_array()?.is_empty()).then_some(())
            })
            .await;
        conn.call_method(
            Some(agent.as_str()),
            AGENT_PATH,
            Some(AGENT_IFACE),
            "CancelGetSecrets",
            &(
                zbus::ObjectPath::try_from("/net/netnsd/Netns1/Settings/7").unwrap(),
                "vpn",
            ),
        )
        .await
        .expect("CancelGetSecrets");
        let err = call
            .await
            .unwrap()
            .expect_err("a canceled request is an error");
        assert_eq!(
            zbus_error_name(&err),
            "net.netnsd.Netns1.SecretAgent.AgentCanceled",
            "{err:?}"
        );
        applet
            .wait(Duration::from_secs(5), "the dialog to close", |v| {
                v["dialogs"].as_array()?.is_empty().then_some(())
            })
            .await;

        // Without ALLOW_INTERACTION: NoSecrets at once, no dialog.
        let err = get_secrets(&conn, &agent, &profile, &[], 0)
            .await
            .expect_err("nothing stored, no interaction");
        assert_eq!(
            zbus_error_name(&err),
            "net.netnsd.Netns1.SecretAgent.NoSecrets",
            "{err:?}"
        );
        assert!(
            applet.state().await["dialogs"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    })
    .await
}

trait CloneDict {
    fn clone_dict(&self) -> Dict;
}

impl CloneDict for Dict {
    fn clone_dict(&self) -> Dict {
        self.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.iter()
                        .map(|(k2, v2)| (k2.clone(), v2.try_clone().unwrap()))
                        .collect(),
                )
            })
            .collect()
    }
}

/// End to end with the daemon's AgentManager (issue 14 item 1): the profile's password is agent-owned (password-flags=1, as
/// `nmcli connection import type openvpn` writes it); the applet registers
/// as its session's agent, "Connect" makes the daemon ask it, the dialog
/// names the profile and the password field, the typed password brings the
/// VPN up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applet_agent_end_to_end() {
    let _env = TestEnv::new();
    timed_within(Duration::from_secs(120), async {
        let rig = OpenVpnRig::start_with(RigOptions {
            user_pass: Some(("alice".into(), "wonderland-7".into())),
            ..RigOptions::default()
        })
        .await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let _rules = PolkitRules::install("50-netns-admins", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, netnsd_api::actions::ACTIVATE_CONNECTION, true).await;
        let profile = rig
            .profile("corp-agent")
            .isolated("corpagent")
            .data("password-flags", "1");
        add_connection(&conn, &profile).await;
        let applet = AppletSession::start("[]").await;
        applet
            .wait(Duration::from_secs(10), "the agent registered", |v| {
                (v["agent_registered"] == true).then_some(())
            })
            .await;
        applet.click(&format!("up:{}", profile.uuid)).await;
        let dialog = applet
            .wait(
                Duration::from_secs(20),
                "the daemon asking through the dialog",
                |v| v["dialogs"].as_array()?.first().cloned(),
            )
            .await;
        assert_eq!(dialog["title"], "corp-agent", "{dialog}");
        assert_eq!(
            dialog["fields"],
            serde_json::json!(["password"]),
            "{dialog}"
        );
        let out = applet
            .hook(
                "AnswerDialog",
                &["a{ss}b", "1", "password", "wonderland-7", "true"],
            )
            .await;
        assert!(out.success(), "{out}");
        applet
            .wait(VPN_UP_TIMEOUT, "corp-agent connected", |v| {
                (profile_of(v, &profile.uuid)?["state"] == "connected").then_some(())
            })
            .await;
        let out = curl_in("corpagent", &intranet_url(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}\n{}", rig.logs());
        // The daemon restarts: the applet registers again.
        drop(daemon);
        let daemon = Daemon::start().await;
        applet
            .wait(Duration::from_secs(10), "the agent registered again", |v| {
                (v["agent_registered"] == true && v["daemon"] == true).then_some(())
            })
            .await;
        drop(applet);
        drop(daemon);
    })
    .await
}

/// The applet follows the daemon: gone, the menu says so and lists nothing;
/// back, the profiles are read again, and each time it (re)registers as a
/// secret agent (until the daemon has an AgentManager, the attempt is
/// logged as failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applet_follows_the_daemon_away_and_back() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = VpnProfile {
            id: "away-vpn".into(),
            uuid: new_uuid(),
            service_type: Some(OPENVPN_SERVICE.into()),
            data: [("remote".to_owned(), "203.0.113.1:1194".to_owned())].into(),
            secrets: Default::default(),
            connection: vec![],
        }
        .isolated("awayvpn");
        add_connection(&conn, &profile).await;
        let applet = AppletSession::start("[]").await;
        let listed = |v: &Value| profile_of(v, &profile.uuid).map(|_| ());
        applet
            .wait(Duration::from_secs(10), "away-vpn listed", listed)
            .await;
        let attempts = |log: &str| log.matches("secret agent").count();
        wait_for(Duration::from_secs(5), "a first registration", || async {
            (attempts(&applet.log()) == 1).then_some(())
        })
        .await;

        drop(conn);
        daemon.stop().await;
        applet
            .wait(Duration::from_secs(10), "netnsd gone from the menu", |v| {
                (v["daemon"] == false
                    && v["profiles"].as_array()?.is_empty()
                    && item_of(v, "status")?["label"] == "netnsd is not running")
                    .then_some(())
            })
            .await;

        let daemon = Daemon::start().await;
        applet
            .wait(Duration::from_secs(10), "away-vpn listed again", listed)
            .await;
        wait_for(Duration::from_secs(5), "a second registration", || async {
            (attempts(&applet.log()) == 2).then_some(())
        })
        .await;
        drop(applet);
        drop(daemon);
    })
    .await
}
