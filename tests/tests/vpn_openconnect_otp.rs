//! OpenConnect's interactive login (issue 14) against Debian's ocserv in
//! wan, its `plain` authentication given a liboath users file (`otp=`, a
//! TOTP key): the gateway asks the user name, the password, then a
//! one-time code (`oathtool --totp` computes it), all as fields of its
//! form `main` (`form:main:username`, `form:main:password` twice, the code's
//! form saying "Please enter your OTP password."); with `select-group` it
//! asks a group first (`form:main:group_list`).
//!
//! The daemon runs `openconnect --authenticate`, answers each field from
//! the profile or the activating user's agent, then starts the tunnel with
//! the cookie. Shown: (a) a scripted python3-dbus agent answers user,
//! password and code: activated, traffic through the tunnel, the agent saw
//! the code's field with its hints; (b) `nsctl vpn up` at a terminal asks
//! the password and the code without echo; (c) a wrong code twice: asked
//! again with REQUEST_NEW, then failed with login-failed, nothing left;
//! (d) a group choice answered by the agent.

use std::path::Path;
use std::process::{Command, Stdio};

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::secret_agent::{
    activate_as_admin, as_user, fresh_log, wait_registered, write_script,
};
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

const DIR: &str = "/run/netnsd-tests-otp";
/// The TOTP key of the users file (RFC 4226's test key).
const OTP_KEY: &str = "3132333435363738393031323334353637383930";

/// ocserv asking a one-time code after the password (`otp`) and a group
/// (`groups`: eng or ops), restarted with that configuration.
async fn gateway(rig: &OpenVpnRig, otp: bool, groups: bool) -> OcServer {
    let mut oc = OcServer::start(rig).await;
    oc.kill();
    let d = oc.dir.display().to_string();
    let conf_path = oc.dir.join("ocserv.conf");
    let mut conf = std::fs::read_to_string(&conf_path).unwrap();
    if otp {
        std::fs::write(
            oc.dir.join("users.oath"),
            format!("HOTP/T30 {OC_USER} - {OTP_KEY}\n"),
        )
        .unwrap();
        let plain = format!("plain[passwd={d}/ocpasswd]");
        assert!(conf.contains(&plain), "{conf}");
        conf = conf.replace(
            &plain,
            &format!("plain[passwd={d}/ocpasswd,otp={d}/users.oath]"),
        );
    }
    if groups {
        let st = Command::new("sh")
            .args([
                "-ec",
                &format!(
                    "printf '%s\\n%s\\n' '{OC_PASSWORD}' '{OC_PASSWORD}' | {OCPASSWD_BIN} -c {d}/ocpasswd -g eng,ops {OC_USER}"
                ),
            ])
            .stdin(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        conf.push_str("select-group = eng\nselect-group = ops\n");
    }
    std::fs::write(&conf_path, conf).unwrap();
    oc.resume().await;
    oc
}

/// The agent: AGENT IDENTIFIER LOG USER CODE GROUP KEY, the password on
/// its stdin (never on a command line: the test looks there). It answers
/// the field its first hint names: the user, the group, the password, or
/// (the form's message says OTP) CODE (`totp`: the current code). Every
/// call is logged as `GetSecrets KEY FLAGS HINT|HINT…`.
const AGENT_PY: &str = r#"
import sys, subprocess, dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

ident, log, user, code, group, key = sys.argv[1:7]
password = sys.stdin.readline().strip()
IFACE = 'net.netnsd.Netns1.SecretAgent'

def note(s):
    with open(log, 'a') as f:
        f.write(s + '\n')

class UserCanceled(dbus.DBusException):
    _dbus_error_name = 'net.netnsd.Netns1.SecretAgent.Error.UserCanceled'

class Agent(dbus.service.Object):
    @dbus.service.method(IFACE, in_signature='a{sa{sv}}osasu', out_signature='a{sa{sv}}')
    def GetSecrets(self, connection, path, setting, hints, flags):
        name = str(hints[0])
        note('GetSecrets %s %d %s' % (name, flags, '|'.join(hints)))
        message = ''.join(h[len('x-vpn-message:'):] for h in hints if h.startswith('x-vpn-message:'))
        if name == 'form:main:username':
            v = user
        elif name == 'form:main:group_list':
            v = group
        elif name == 'form:main:password' and 'OTP' in message:
            v = subprocess.check_output(['oathtool', '--totp', key]).decode().strip() if code == 'totp' else code
        elif name == 'form:main:password':
            v = password
        else:
            raise UserCanceled('no such field')
        return {setting: {'secrets': dbus.Dictionary({name: v}, signature='ss')}}

    @dbus.service.method(IFACE, in_signature='os')
    def CancelGetSecrets(self, path, setting):
        note('CancelGetSecrets')

    @dbus.service.method(IFACE, in_signature='a{sa{sv}}o')
    def SaveSecrets(self, connection, path):
        pass

    @dbus.service.method(IFACE, in_signature='a{sa{sv}}o')
    def DeleteSecrets(self, connection, path):
        pass

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
agent = Agent(bus, '/net/netnsd/Netns1/SecretAgent')
bus.get_object('net.netnsd.Netns1', '/net/netnsd/Netns1/AgentManager').Register(
    ident, dbus_interface='net.netnsd.Netns1.AgentManager')
note('registered')
GLib.MainLoop().run()
"#;

struct FormAgent {
    child: tokio::process::Child,
    log: std::path::PathBuf,
}

impl FormAgent {
    /// nsadmin's agent answering with `code` (`totp` or a wrong one) and
    /// `group`.
    async fn start(code: &str, group: &str) -> FormAgent {
        let script = write_script("form_agent.py", AGENT_PY);
        let log = fresh_log(ADMIN_UID, "form-agent");
        let as_user = as_user(ADMIN_UID);
        let child = tokio::process::Command::new(&as_user[0])
            .args(&as_user[1..])
            .args([
                "/usr/bin/python3".into(),
                script.display().to_string(),
                "test.form-agent".into(),
                log.display().to_string(),
                OC_USER.into(),
                code.into(),
                group.into(),
                OTP_KEY.into(),
            ])
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the agent");
        let mut child = child;
        let mut input = child.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut input, format!("{OC_PASSWORD}\n").as_bytes())
            .await
            .unwrap();
        drop(input);
        wait_registered(&log).await;
        FormAgent { child, log }
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("GetSecrets "))
            .map(str::to_owned)
            .collect()
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
    }
}

async fn admins_may_activate() -> PolkitRules {
    let rules = PolkitRules::install("50-otp-admins", GRANT_ADMINS_RULE);
    wait_polkit(ADMIN_UID, netnsd_api::actions::ACTIVATE_CONNECTION, true).await;
    rules
}

/// Waits until `ac` is activated or deactivated; true if activated.
async fn settles_activated(log: &mut StateLog, ac: &str) -> bool {
    log.wait(ac, VPN_UP_TIMEOUT, "activated or deactivated", |ev| {
        ev.iter().any(|e| {
            e.sig == Sig::State && (e.state == active::ACTIVATED || e.state == active::DEACTIVATED)
        })
    })
    .await;
    log.states(ac, Sig::State).last().map(|s| s.0) == Some(active::ACTIVATED)
}

/// What the agent tests share: the rig, a `gateway`, administrators
/// allowed to activate, the daemon, `profile` added, nsadmin's FormAgent
/// answering `code` and `group`, and the activation started as nsadmin.
/// Fields drop in order: the agent and the daemon before the gateway and
/// the rig.
struct AgentLogin {
    log: StateLog,
    conn: zbus::Connection,
    ac: String,
    agent: FormAgent,
    daemon: Daemon,
    oc: OcServer,
    _rules: PolkitRules,
    rig: OpenVpnRig,
}

impl AgentLogin {
    async fn start(
        otp: bool,
        groups: bool,
        profile: impl FnOnce(&OcServer) -> VpnProfile,
        code: &str,
        group: &str,
    ) -> AgentLogin {
        let rig = OpenVpnRig::start().await;
        let oc = gateway(&rig, otp, groups).await;
        let _rules = admins_may_activate().await;
        let profile = profile(&oc);
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let agent = FormAgent::start(code, group).await;
        let log = StateLog::new(&conn).await;
        let ac = activate_as_admin(&path).await;
        AgentLogin {
            log,
            conn,
            ac,
            agent,
            daemon,
            oc,
            _rules,
            rig,
        }
    }

    /// Nothing left once the connection is gone; the agent stopped.
    async fn end(self) {
        assert_nothing_left(&self.rig.keep()).await;
        self.agent.stop().await;
    }
}

/// (a) The agent answers the user, the password and the one-time code:
/// activated (need-auth meanwhile), traffic through the tunnel, the tunnel
/// started with the cookie; the code's field came with the form's message
/// and its kind; deactivation leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_code_from_the_agent_brings_openconnect_up() {
    let _env = TestEnv::new();
    timed(async {
        let t0 = std::time::Instant::now();
        let mut t = AgentLogin::start(
            true,
            false,
            |oc| {
                let mut profile = oc.profile("otp-agent").isolated("ocotp");
                profile.data.remove("username");
                profile
            },
            "totp",
            "-",
        )
        .await;
        let up = settles_activated(&mut t.log, &t.ac).await;
        assert!(
            up,
            "{}\nagent: {:?}\n{}\n{}",
            t.log.describe(),
            t.agent.calls(),
            t.daemon.log_text(),
            t.oc.log_text()
        );
        eprintln!(
            "set-up, login with a one-time code and activation took {:?}",
            t0.elapsed()
        );
        let vs: Vec<u32> = t.log.states(&t.ac, Sig::Vpn).iter().map(|s| s.0).collect();
        assert!(
            in_order(&vs, &[vpn::NEED_AUTH, vpn::CONNECT, vpn::IP_CONFIG_GET]),
            "{}",
            t.log.describe()
        );
        let calls = t.agent.calls();
        assert_eq!(calls.len(), 3, "user, password, code: {calls:?}");
        assert!(
            calls[0].starts_with("GetSecrets form:main:username 5 "),
            "{calls:?}"
        );
        assert!(
            calls[1].starts_with("GetSecrets form:main:password 5 ")
                && calls[1].contains("x-vpn-message:Please enter your password."),
            "{calls:?}"
        );
        assert!(
            calls[2].starts_with("GetSecrets form:main:password 5 ")
                && calls[2].contains("x-vpn-message:Please enter your OTP password.")
                && calls[2].contains("x-netnsd-label:Password:")
                && calls[2].contains("x-netnsd-kind:password"),
            "the code's field and its hints: {calls:?}"
        );
        assert_isolated_and_working(
            &t.conn,
            &t.rig,
            &t.daemon,
            "ocotp",
            &t.ac,
            &Isolated::openconnect(OC_PASSWORD),
        )
        .await;
        let clients = processes_of(OPENCONNECT_BIN);
        assert_eq!(clients.len(), 1, "one openconnect: {clients:?}");
        assert!(
            clients[0].1.contains("--cookie-on-stdin") && !clients[0].1.contains("--authenticate"),
            "{}",
            clients[0].1
        );
        deactivate_until_down(&t.conn, &mut t.log, &t.ac).await;
        t.end().await;
    })
    .await
}

/// Drives `nsctl ARGS…` at a pseudo-terminal: for each PROMPT ANSWER pair
/// (`@totp`: the current code), waits for PROMPT after the last one and
/// types ANSWER; prints everything the terminal showed.
const PTY_PY: &str = r#"
import os, pty, sys, select, time, subprocess
n = int(sys.argv[1])
steps = [(sys.argv[2 + 2*i].encode(), sys.argv[3 + 2*i]) for i in range(n)]
key = sys.argv[2 + 2*n]
argv = sys.argv[3 + 2*n:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b''
pos = 0
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if fd in r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    if steps:
        i = out.find(steps[0][0], pos)
        if i >= 0:
            pos = i + len(steps[0][0])
            answer = steps.pop(0)[1]
            if answer == '@totp':
                answer = subprocess.check_output(['oathtool', '--totp', key]).decode().strip()
                sys.stderr.write('CODE %s\n' % answer)
            time.sleep(0.2)
            os.write(fd, answer.encode() + b'\n')
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// (b) `nsctl vpn up` at a terminal: the gateway's password prompt, then
/// its one-time code's, each naming the profile and the field after the
/// form's message, neither echoed; the VPN comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_nsctl_vpn_up_asks_the_password_and_the_code_at_the_terminal() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let oc = gateway(&rig, true, false).await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_connection(&conn, &oc.profile("otp").isolated("ocotptty")).await;
        std::fs::create_dir_all(DIR).unwrap();
        let script = Path::new(DIR).join("drive_tty.py");
        std::fs::write(&script, PTY_PY).unwrap();
        let prompt = "Password for VPN \"otp\" (vpn.secrets.form:main:password): ";
        let out = run(
            "/usr/bin/python3",
            &[
                script.display().to_string(),
                "2".into(),
                prompt.into(),
                OC_PASSWORD.into(),
                prompt.into(),
                "@totp".into(),
                OTP_KEY.into(),
                nsctl_bin().display().to_string(),
                "vpn".into(),
                "up".into(),
                "otp".into(),
            ],
        )
        .await;
        assert!(out.success(), "{out}");
        let shown = &out.stdout;
        let first = shown.find("Please enter your password.").expect(shown);
        let second = shown.find("Please enter your OTP password.").expect(shown);
        assert!(first < second, "{shown}");
        assert_eq!(shown.matches(prompt).count(), 2, "{shown}");
        let code = out
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("CODE "))
            .expect("the code typed")
            .to_owned();
        assert!(
            !shown.contains(OC_PASSWORD) && !shown.contains(&code),
            "echoed: {shown}"
        );
        let got = curl_in("ocotptty", &intranet_url(), 10).await;
        assert!(got.stdout.contains(INTRANET_TOKEN), "{got}");
        nsctl(None, &["vpn", "down", "otp"]).await.ok();
        assert_nothing_left(&rig.keep()).await;
        drop(oc);
    })
    .await
}

/// (c) A wrong code, twice: the gateway refuses the login, the daemon asks
/// the code again with REQUEST_NEW (the password given again, not asked),
/// the gateway refuses again: failed with login-failed after need-auth,
/// no openconnect and nothing else left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_wrong_code_twice_fails_with_login_failed_and_leaves_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let mut t = AgentLogin::start(
            true,
            false,
            |oc| oc.profile("otp-wrong").isolated("ocotpbad"),
            "000000",
            "-",
        )
        .await;
        assert!(
            !settles_activated(&mut t.log, &t.ac).await,
            "{}",
            t.log.describe()
        );
        assert_eq!(
            t.log.states(&t.ac, Sig::State).last().copied(),
            Some((active::DEACTIVATED, reason::LOGIN_FAILED)),
            "{}\n{}",
            t.log.describe(),
            t.daemon.log_text()
        );
        assert_eq!(
            t.log.states(&t.ac, Sig::Vpn).last().copied(),
            Some((vpn::FAILED, reason::LOGIN_FAILED)),
            "{}",
            t.log.describe()
        );
        let calls = t.agent.calls();
        // password, code, then the code again with REQUEST_NEW (0x2).
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert!(
            calls[0].contains("Please enter your password."),
            "{calls:?}"
        );
        assert!(
            calls[1].starts_with("GetSecrets form:main:password 5 ") && calls[1].contains("OTP"),
            "{calls:?}"
        );
        assert!(
            calls[2].starts_with("GetSecrets form:main:password 7 ") && calls[2].contains("OTP"),
            "{calls:?}"
        );
        assert!(processes_of(OPENCONNECT_BIN).is_empty());
        t.end().await;
    })
    .await
}

/// (d) A gateway that asks a group (ocserv's select-group): the agent is
/// asked form:main:group_list with the choices in the hints and answers
/// one by its value; activated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_gateway_group_choice_answered_by_the_agent() {
    let _env = TestEnv::new();
    timed(async {
        let mut t = AgentLogin::start(
            false,
            true,
            |oc| oc.profile("otp-group").isolated("ocgroup"),
            "-",
            "ops",
        )
        .await;
        let up = settles_activated(&mut t.log, &t.ac).await;
        let calls = t.agent.calls();
        assert!(
            up,
            "{}\n{calls:?}\n{}\n{}",
            t.log.describe(),
            t.daemon.log_text(),
            t.oc.log_text()
        );
        let group = calls
            .iter()
            .find(|c| c.starts_with("GetSecrets form:main:group_list "))
            .unwrap_or_else(|| panic!("no group asked: {calls:?}"));
        assert!(
            group.contains("x-netnsd-kind:select")
                && group.contains("x-netnsd-choice:eng:eng")
                && group.contains("x-netnsd-choice:ops:ops"),
            "{group}"
        );
        let out = curl_in("ocgroup", &intranet_url(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        deactivate_until_down(&t.conn, &mut t.log, &t.ac).await;
        t.end().await;
    })
    .await
}
