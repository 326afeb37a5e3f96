//! A scripted secret agent (python3-dbus, run as a given user on the
//! sandbox's bus, exporting net.netnsd.Netns1.SecretAgent) and activation
//! as nsadmin, for tests outside agents.rs that need the user's agent
//! (the VPN plugin host's secrets, issue 17).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::openvpn::rootns_path;
use crate::*;

const DIR: &str = "/run/netnsd-tests-secret-agent";

/// The scripted agent: AGENT IDENTIFIER MODE LOG [CAPABILITIES] (with
/// CAPABILITIES it registers with RegisterWithCapabilities). MODE is `answer:VALUE`
/// (every hinted key gets VALUE, but for the `x-vpn-message:` hint;
/// `password` when there is no hint), `refuse` (UserCanceled) or `hang` (no
/// answer until CancelGetSecrets). Every call is appended to LOG.
pub const AGENT_PY: &str = r#"
import sys, dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

ident, mode, log = sys.argv[1:4]
caps = int(sys.argv[4]) if len(sys.argv) > 4 else None
IFACE = 'net.netnsd.Netns1.SecretAgent'

def note(s):
    with open(log, 'a') as f:
        f.write(s + '\n')

class UserCanceled(dbus.DBusException):
    _dbus_error_name = 'net.netnsd.Netns1.SecretAgent.Error.UserCanceled'

class Agent(dbus.service.Object):
    pending = []

    @dbus.service.method(IFACE, in_signature='a{sa{sv}}osasu', out_signature='a{sa{sv}}',
                         async_callbacks=('ok', 'err'))
    def GetSecrets(self, connection, path, setting, hints, flags, ok, err):
        note('GetSecrets %s %s %s %s %d' % (connection['connection']['id'], path, setting,
                                            ','.join(hints), flags))
        if mode.startswith('answer:'):
            value = mode[len('answer:'):]
            # As NetworkManager's agents: the message hint is shown, not answered.
            keys = [h for h in hints if not h.startswith('x-vpn-message:')]
            # No hints (a plugin's NeedSecrets): the password, as
            # strongSwan's auth dialog asks for it.
            secrets = dbus.Dictionary({h: value for h in keys or ['password']},
                                      signature='ss')
            ok({setting: {'secrets': secrets}})
        elif mode == 'refuse':
            err(UserCanceled('the user said no'))
        else:
            self.pending.append(err)

    @dbus.service.method(IFACE, in_signature='os')
    def CancelGetSecrets(self, path, setting):
        note('CancelGetSecrets %s %s' % (path, setting))
        for e in self.pending:
            e(UserCanceled('canceled'))
        self.pending.clear()

    @dbus.service.method(IFACE, in_signature='a{sa{sv}}o')
    def SaveSecrets(self, connection, path):
        secrets = dict(connection.get('vpn', {}).get('secrets', {}))
        if 'private-key' in connection.get('wireguard', {}):
            secrets['wireguard.private-key'] = connection['wireguard']['private-key']
        note('SaveSecrets %s %s %s' % (connection['connection']['id'], path,
             ','.join('%s=%s' % (k, secrets[k]) for k in sorted(secrets))))

    @dbus.service.method(IFACE, in_signature='a{sa{sv}}o')
    def DeleteSecrets(self, connection, path):
        note('DeleteSecrets %s %s' % (connection['connection']['id'], path))

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
agent = Agent(bus, '/net/netnsd/Netns1/SecretAgent')
mgr = bus.get_object('net.netnsd.Netns1', '/net/netnsd/Netns1/AgentManager')
try:
    if caps is None:
        mgr.Register(ident, dbus_interface='net.netnsd.Netns1.AgentManager')
    else:
        mgr.RegisterWithCapabilities(ident, dbus.UInt32(caps),
                                     dbus_interface='net.netnsd.Netns1.AgentManager')
except dbus.DBusException as e:
    note('register-failed %s' % e.get_dbus_name())
    sys.exit(3)
note('registered')

import os
activate = os.environ.get('NETNSD_TEST_ACTIVATE')
if activate:
    # The agent's own process activates (as nsctl vpn up does).
    instance, iface, connection = activate.split('|')
    def go():
        obj = bus.get_object('net.netnsd.Netns1', instance)
        try:
            ac = obj.ActivateConnection(dbus.ObjectPath(connection), dbus.ObjectPath('/'),
                                        dbus.ObjectPath('/'), dbus_interface=iface)
            note('activated %s' % ac)
        except dbus.DBusException as e:
            note('activate-failed %s' % e)
        return False
    GLib.idle_add(go)
GLib.MainLoop().run()
"#;

/// `text` written as DIR/`file`, the script of an agent.
pub fn write_script(file: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(DIR).unwrap();
    let script = Path::new(DIR).join(file);
    std::fs::write(&script, text).unwrap();
    script
}

/// An empty log under DIR named after `stem`, writable by `uid`.
pub fn fresh_log(uid: u32, stem: &str) -> PathBuf {
    std::fs::create_dir_all(DIR).unwrap();
    let log = Path::new(DIR).join(format!("{stem}-{}.log", unique("a")));
    std::fs::write(&log, "").unwrap();
    nix::unistd::chown(&log, Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
    log
}

/// `setpriv` running what follows as `uid` with its group and groups.
pub fn as_user(uid: u32) -> [String; 5] {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .unwrap()
        .unwrap();
    [
        "setpriv".to_owned(),
        format!("--reuid={uid}"),
        format!("--regid={}", user.gid.as_raw()),
        "--init-groups".into(),
        "--".into(),
    ]
}

/// Waits until an agent wrote "registered" to its `log`.
pub async fn wait_registered(log: &Path) {
    wait_for(Duration::from_secs(10), "the agent registered", || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        async move { text.contains("registered").then_some(()) }
    })
    .await;
}

/// A running scripted agent; killed when dropped.
pub struct ScriptedAgent {
    child: tokio::process::Child,
    log: PathBuf,
}

impl ScriptedAgent {
    /// Starts the agent as `uid` under `identifier` in `mode` (see
    /// [`AGENT_PY`]) and waits until it registered.
    pub async fn start(uid: u32, identifier: &str, mode: &str) -> ScriptedAgent {
        Self::start_with(uid, identifier, mode, None).await
    }

    /// As [`start`](Self::start), registered with RegisterWithCapabilities
    /// when `capabilities` is given (1: NetworkManager's VPN hints).
    pub async fn start_with(
        uid: u32,
        identifier: &str,
        mode: &str,
        capabilities: Option<u32>,
    ) -> ScriptedAgent {
        Self::spawn(uid, identifier, mode, capabilities, None, None).await
    }

    /// As [`start`](Self::start); once registered, the agent's own process
    /// activates `connection` in the root namespace's instance, as `nsctl
    /// vpn up` does (its log then shows `activated PATH`).
    pub async fn start_activating(
        uid: u32,
        identifier: &str,
        mode: &str,
        connection: &str,
    ) -> ScriptedAgent {
        let env = format!("{}|{INSTANCE_INTERFACE}|{connection}", rootns_path());
        Self::spawn(uid, identifier, mode, None, Some(env), None).await
    }

    /// As [`start`](Self::start), in an audit session of its own (a fresh
    /// `/proc/PID/sessionid`, as a login gives: `loginuid` is written
    /// before the agent starts). With `connection`, a process of that same
    /// session (not the agent's own) activates it as `uid` in the root
    /// namespace's instance once the agent registered; its answer is in
    /// [`activation`](Self::activation).
    pub async fn start_in_new_session(
        uid: u32,
        identifier: &str,
        mode: &str,
        connection: Option<&str>,
    ) -> ScriptedAgent {
        Self::spawn(
            uid,
            identifier,
            mode,
            None,
            None,
            Some(connection.map(str::to_owned)),
        )
        .await
    }

    /// What the activation of [`start_in_new_session`](Self::start_in_new_session)
    /// printed (gdbus's answer), once it is there.
    pub async fn activation(&self) -> String {
        let out = PathBuf::from(format!("{}.activated", self.log.display()));
        wait_for(Duration::from_secs(20), "the session's activation", || {
            let out = out.clone();
            async move {
                let text = std::fs::read_to_string(&out).unwrap_or_default();
                text.contains('\n').then_some(text)
            }
        })
        .await
    }

    async fn spawn(
        uid: u32,
        identifier: &str,
        mode: &str,
        capabilities: Option<u32>,
        activate: Option<String>,
        session: Option<Option<String>>,
    ) -> ScriptedAgent {
        let script = write_script("agent.py", AGENT_PY);
        let log = fresh_log(uid, &format!("{identifier}-{uid}"));
        let as_user = as_user(uid);
        let mut command = match &session {
            None => tokio::process::Command::new(&as_user[0]),
            Some(connection) => {
                // A fresh audit session (what pam_loginuid does at a
                // login), then, in the background of the same session,
                // the activation once the agent registered; then the
                // agent itself.
                let activate = connection.as_ref().map_or(String::new(), |c| {
                    format!(
                        "(while ! grep -q registered {log}; do sleep 0.05; done; \
                         {user} gdbus call --system --dest {BUS_NAME} --object-path {root} \
                         --method {INSTANCE_INTERFACE}.ActivateConnection {c} / / \
                         > {log}.activated 2>&1; echo >> {log}.activated) & ",
                        log = log.display(),
                        user = as_user.join(" "),
                        root = rootns_path(),
                        c = gvariant_str(c),
                    )
                });
                let mut c = tokio::process::Command::new("sh");
                c.arg("-c")
                    .arg(format!(
                        "echo {uid} > /proc/self/loginuid || exit 1; {activate}exec \"$@\""
                    ))
                    .arg("sh")
                    .arg(&as_user[0]);
                c
            }
        };
        let child = command
            .args(&as_user[1..])
            .args([
                "/usr/bin/python3".into(),
                script.display().to_string(),
                identifier.into(),
                mode.into(),
                log.display().to_string(),
            ])
            .args(capabilities.map(|c| c.to_string()))
            .envs(activate.map(|a| ("NETNSD_TEST_ACTIVATE", a)))
            .kill_on_drop(true)
            .spawn()
            .expect("start the scripted agent");
        wait_registered(&log).await;
        ScriptedAgent { child, log }
    }

    /// Every call the agent got, one a line.
    pub fn calls(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
    }
}

/// ActivateConnection in the root namespace's instance as nsadmin (whose
/// agent is then the one asked); the active connection's path.
pub async fn activate_as_admin(connection: &str) -> String {
    let out = gdbus_call(
        Some(ADMIN_UID),
        &rootns_path(),
        &format!("{INSTANCE_INTERFACE}.ActivateConnection"),
        &[
            gvariant_str(connection),
            gvariant_str("/"),
            gvariant_str("/"),
        ],
    )
    .await
    .ok();
    out.stdout
        .split('\'')
        .nth(1)
        .unwrap_or_else(|| panic!("no object path in {out}"))
        .to_owned()
}
