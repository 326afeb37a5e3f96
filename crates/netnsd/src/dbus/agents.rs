//! Secret agents, in NetworkManager's shape (issue 14; its
//! `nm-agent-manager.c`): `net.netnsd.Netns1.AgentManager` at
//! `/net/netnsd/Netns1/AgentManager`, where any local user's process
//! registers an agent; the agent exports `net.netnsd.Netns1.SecretAgent` at
//! `/net/netnsd/Netns1/SecretAgent` on its own connection and is asked
//! (GetSecrets, CancelGetSecrets) for the secrets an activation lacks.
//!
//! As NetworkManager: the identifier is 3 to 255 characters of letters,
//! digits, `_`, `-` and `.` (not first or last, never two in a row); one
//! agent per bus connection and one per (uid, identifier); an agent goes
//! when its connection leaves the bus (NameOwnerChanged). Asked are the
//! agents of the uid that activates, one at a time ([`order`]): the
//! calling process's own agent first, then those in the caller's session
//! (logind's where it runs, else the audit session of
//! `/proc/PID/sessionid`), then the others, in the order they registered.
//! Capabilities are kept: VPN plugins get ConnectInteractive only when all
//! the user's agents have VPN hints. An agent's UserCanceled ends
//! the request; any other error, or no answer within the timeout (120 s,
//! or `NETNSD_AGENT_TIMEOUT_MS`), moves on to the next agent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use netnsd_api::{Error, SECRET_AGENT_INTERFACE, SECRET_AGENT_PATH, SECRET_AGENT_USER_CANCELED};
use zbus::Connection;
use zbus::interface;
use zbus::message::Header;
use zbus::wire::OwnedObjectPath;

use super::auth::Authority;
use crate::manager::{Caller, SecretAgents, SecretRequest};
use crate::settings::DbusSettings;

/// How long an agent has to answer GetSecrets, as NetworkManager's 120 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Sets that timeout in milliseconds (for tests).
pub const TIMEOUT_ENV: &str = "NETNSD_AGENT_TIMEOUT_MS";

const LOGIND: &str = "org.freedesktop.login1";

/// The agents of the running daemon, for the settings objects
/// (SaveSecrets, DeleteSecrets: `agent_secrets.rs`).
static REGISTERED: Mutex<Option<Agents>> = Mutex::new(None);

/// The running daemon's agents (None before the bus is up).
pub fn registered() -> Option<Agents> {
    REGISTERED.lock().unwrap().clone()
}

#[derive(Debug, Clone)]
struct Agent {
    sender: String,
    identifier: String,
    uid: u32,
    session: Option<String>,
    pid: Option<u32>,
    /// NMSecretAgentCapabilities given to RegisterWithCapabilities.
    capabilities: u32,
}

#[derive(Default)]
struct Inner {
    agents: Vec<Agent>,
    /// The agent being asked for activation N: (sender, connection path,
    /// setting), for CancelGetSecrets.
    asking: HashMap<u32, (String, OwnedObjectPath, String)>,
}

/// The registered agents; the manager's [`SecretAgents`].
#[derive(Clone)]
pub struct Agents {
    conn: Connection,
    inner: Arc<Mutex<Inner>>,
    timeout: Duration,
}

/// NetworkManager's `validate_identifier`.
pub fn validate_identifier(id: &str) -> Result<(), String> {
    if id.len() < 3 || id.len() > 255 {
        return Err(format!(
            "identifier {id:?}: length not between 3 and 255 characters (inclusive)"
        ));
    }
    if id.starts_with('.') || id.ends_with('.') {
        return Err(format!("identifier {id:?}: must not start or end with '.'"));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "identifier {id:?}: contains invalid character {c:?}"
        ));
    }
    if id.contains("..") {
        return Err(format!(
            "identifier {id:?}: contains two '.' characters in sequence"
        ));
    }
    Ok(())
}

impl Agents {
    /// Exports the AgentManager and starts watching agents leave the bus.
    pub async fn serve(conn: &Connection, auth: Authority) -> zbus::Result<Agents> {
        let timeout = std::env::var(TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TIMEOUT);
        let agents = Agents {
            conn: conn.clone(),
            inner: Arc::default(),
            timeout,
        };
        let dbus = zbus::fdo::DBusProxy::new(conn).await?;
        let mut gone = dbus.receive_name_owner_changed().await?;
        let watched = agents.clone();
        tokio::spawn(async move {
            while let Some(sig) = gone.next().await {
                let Ok(args) = sig.args() else { continue };
                if args.new_owner().is_none() && args.name().starts_with(':') {
                    watched.drop_sender(args.name());
                }
            }
        });
        *REGISTERED.lock().unwrap() = Some(agents.clone());
        conn.object_server()
            .at(
                netnsd_api::AGENT_MANAGER_PATH,
                AgentManager {
                    agents: agents.clone(),
                    auth,
                },
            )
            .await?;
        Ok(agents)
    }

    fn drop_sender(&self, sender: &str) {
        let mut inner = self.inner.lock().unwrap();
        let before = inner.agents.len();
        inner.agents.retain(|a| a.sender != sender);
        if inner.agents.len() != before {
            tracing::info!(%sender, "secret agent left the bus: unregistered");
        }
    }

    /// The agents to ask for `caller`, in order.
    fn for_caller(&self, caller: &Caller) -> Vec<Agent> {
        order(&self.inner.lock().unwrap().agents, caller)
    }

    async fn ask(
        &self,
        n: u32,
        agent: &Agent,
        req: &SecretRequest,
    ) -> Result<DbusSettings, AskEnd> {
        self.inner.lock().unwrap().asking.insert(
            n,
            (
                agent.sender.clone(),
                req.connection_path.clone(),
                req.setting.clone(),
            ),
        );
        let body = (
            &req.connection,
            &req.connection_path,
            &req.setting,
            &req.hints,
            req.flags,
        );
        let call = self.conn.call_method(
            Some(agent.sender.as_str()),
            SECRET_AGENT_PATH,
            Some(SECRET_AGENT_INTERFACE),
            "GetSecrets",
            &body,
        );
        let r = tokio::time::timeout(self.timeout, call).await;
        self.inner.lock().unwrap().asking.remove(&n);
        let who = format!("agent {:?} ({})", agent.identifier, agent.sender);
        match r {
            Err(_) => {
                // As NetworkManager: a request that timed out is cancelled.
                self.send_cancel(&agent.sender, &req.connection_path, &req.setting)
                    .await;
                Err(AskEnd::Next(format!(
                    "{who} did not answer within {} ms",
                    self.timeout.as_millis()
                )))
            }
            Ok(Err(zbus::Error::MethodError(name, desc, _))) => {
                let text = format!("{who} refused: {name}: {}", desc.unwrap_or_default());
                if name.as_str() == SECRET_AGENT_USER_CANCELED {
                    Err(AskEnd::Stop(text))
                } else {
                    Err(AskEnd::Next(text))
                }
            }
            Ok(Err(e)) => Err(AskEnd::Next(format!("{who}: {e}"))),
            Ok(Ok(reply)) => reply
                .body()
                .deserialize::<DbusSettings>()
                .map_err(|e| AskEnd::Next(format!("{who} answered no a{{sa{{sv}}}}: {e}"))),
        }
    }

    /// SaveSecrets to `uid`'s agents (their session's first), one after
    /// the other until one takes them, as NetworkManager's save request.
    pub async fn save_secrets(&self, uid: u32, connection: DbusSettings, path: OwnedObjectPath) {
        let caller = Caller {
            uid,
            session: None,
            pid: None,
        };
        let body = (&connection, &path);
        for agent in self.for_caller(&caller) {
            let call = self.conn.call_method(
                Some(agent.sender.as_str()),
                SECRET_AGENT_PATH,
                Some(SECRET_AGENT_INTERFACE),
                "SaveSecrets",
                &body,
            );
            match tokio::time::timeout(self.timeout, call).await {
                Ok(Ok(_)) => {
                    tracing::info!(%path, agent = %agent.identifier, "SaveSecrets: taken");
                    return;
                }
                Ok(Err(e)) => tracing::info!(%path, agent = %agent.identifier, "SaveSecrets: {e}"),
                Err(_) => {
                    tracing::info!(%path, agent = %agent.identifier, "SaveSecrets: no answer")
                }
            }
        }
    }

    /// DeleteSecrets to every agent, as NetworkManager does when a
    /// connection with agent-owned secrets goes.
    pub async fn delete_secrets(&self, connection: DbusSettings, path: OwnedObjectPath) {
        let all = self.inner.lock().unwrap().agents.clone();
        let body = (&connection, &path);
        for agent in all {
            let call = self.conn.call_method(
                Some(agent.sender.as_str()),
                SECRET_AGENT_PATH,
                Some(SECRET_AGENT_INTERFACE),
                "DeleteSecrets",
                &body,
            );
            match tokio::time::timeout(self.timeout, call).await {
                Ok(Ok(_)) => tracing::info!(%path, agent = %agent.identifier, "DeleteSecrets"),
                Ok(Err(e)) => {
                    tracing::info!(%path, agent = %agent.identifier, "DeleteSecrets: {e}")
                }
                Err(_) => {
                    tracing::info!(%path, agent = %agent.identifier, "DeleteSecrets: no answer")
                }
            }
        }
    }

    async fn send_cancel(&self, sender: &str, path: &OwnedObjectPath, setting: &str) {
        let r = self
            .conn
            .call_method(
                Some(sender),
                SECRET_AGENT_PATH,
                Some(SECRET_AGENT_INTERFACE),
                "CancelGetSecrets",
                &(path, setting),
            )
            .await;
        if let Err(e) = r {
            tracing::debug!(%sender, "CancelGetSecrets: {e}");
        }
    }
}

enum AskEnd {
    /// Ask the next agent.
    Next(String),
    /// The user said no: ask nobody else.
    Stop(String),
}

impl SecretAgents for Agents {
    fn get_secrets(
        &self,
        n: u32,
        req: SecretRequest,
    ) -> BoxFuture<'static, Result<DbusSettings, String>> {
        let me = self.clone();
        Box::pin(async move {
            let agents = me.for_caller(&req.caller);
            if agents.is_empty() {
                return Err(format!(
                    "no secret agent is registered for uid {}",
                    req.caller.uid
                ));
            }
            let mut why = Vec::new();
            for agent in &agents {
                tracing::info!(active = n, agent = %agent.identifier, sender = %agent.sender, "GetSecrets");
                match me.ask(n, agent, &req).await {
                    Ok(answer) => return Ok(answer),
                    Err(AskEnd::Next(e)) => why.push(e),
                    Err(AskEnd::Stop(e)) => {
                        why.push(e);
                        break;
                    }
                }
            }
            Err(why.join("; "))
        })
    }

    fn all_have_capability(&self, uid: u32, capability: u32) -> bool {
        let inner = self.inner.lock().unwrap();
        inner
            .agents
            .iter()
            .filter(|a| a.uid == uid)
            .all(|a| a.capabilities & capability != 0)
    }

    fn cancel(&self, n: u32) -> BoxFuture<'static, ()> {
        let me = self.clone();
        Box::pin(async move {
            let asking = me.inner.lock().unwrap().asking.remove(&n);
            if let Some((sender, path, setting)) = asking {
                tracing::info!(active = n, %sender, "CancelGetSecrets");
                me.send_cancel(&sender, &path, &setting).await;
            }
        })
    }
}

/// Who activates: their uid and, where logind runs, their session.
pub async fn caller(auth: &Authority, hdr: &Header<'_>) -> Result<Caller, Error> {
    let conn = auth.connection();
    let sender = hdr
        .sender()
        .ok_or_else(|| Error::PermissionDenied("the call has no sender".into()))?
        .to_owned();
    let (uid, _) = super::auth::credentials(conn, hdr).await?;
    let (session, pid) = session_of(conn, sender.as_str()).await;
    Ok(Caller { uid, session, pid })
}

/// The agents of `caller.uid` in the order they are asked, as
/// NetworkManager's `agent_compare_func` orders them: the agent of the
/// calling process itself first (nsctl's own), then those in the
/// caller's session, then the others, each group in registration order.
fn order(agents: &[Agent], caller: &Caller) -> Vec<Agent> {
    let mut of_uid: Vec<Agent> = agents
        .iter()
        .filter(|a| a.uid == caller.uid)
        .cloned()
        .collect();
    of_uid.sort_by_key(|a| {
        let own = caller.pid.is_some() && a.pid == caller.pid;
        let same_session = caller.session.is_some() && a.session == caller.session;
        (!own, !same_session)
    });
    of_uid
}

/// The audit session of a process (`/proc/PID/sessionid`, set at login by
/// pam_loginuid), where it is set.
fn audit_session(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/sessionid")).ok()?;
    let id: u32 = text.trim().parse().ok()?;
    (id != u32::MAX).then(|| format!("audit-session:{id}"))
}

/// The session of a bus connection's process and its pid: its logind
/// session where logind runs (it is never started for this), else its
/// audit session; None outside any.
async fn session_of(conn: &Connection, sender: &str) -> (Option<String>, Option<u32>) {
    let Ok(dbus) = zbus::fdo::DBusProxy::new(conn).await else {
        return (None, None);
    };
    let Ok(name) = zbus::names::BusName::try_from(sender) else {
        return (None, None);
    };
    let Ok(pid) = dbus.get_connection_unix_process_id(name).await else {
        return (None, None);
    };
    let logind = zbus::names::BusName::try_from(LOGIND).expect("a bus name");
    let session = if dbus.name_has_owner(logind).await.unwrap_or(false) {
        logind_session(conn, pid).await
    } else {
        audit_session(pid)
    };
    (session, Some(pid))
}

async fn logind_session(conn: &Connection, pid: u32) -> Option<String> {
    let reply = conn
        .call_method(
            Some(LOGIND),
            "/org/freedesktop/login1",
            Some("org.freedesktop.login1.Manager"),
            "GetSessionByPID",
            &(pid),
        )
        .await
        .ok()?;
    let path: OwnedObjectPath = reply.body().deserialize().ok()?;
    Some(path.to_string())
}

/// `net.netnsd.Netns1.AgentManager`.
pub struct AgentManager {
    agents: Agents,
    auth: Authority,
}

#[interface(name = "net.netnsd.Netns1.AgentManager")]
impl AgentManager {
    /// Registers the caller's connection as a secret agent named
    /// IDENTIFIER; it must export net.netnsd.Netns1.SecretAgent at
    /// /net/netnsd/Netns1/SecretAgent. Any local user may register; the
    /// agent is asked only for activations by its own uid.
    async fn register(
        &self,
        identifier: &str,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        self.register_with_capabilities(identifier, 0, hdr).await
    }

    /// Register, with NetworkManager's NMSecretAgentCapabilities
    /// (0x1 VPN hints). As NetworkManager, a VPN plugin is driven with
    /// ConnectInteractive (its requests for secrets while it connects go
    /// to the agents, with hints) only when every agent of the activating
    /// user has VPN hints; else with Connect.
    async fn register_with_capabilities(
        &self,
        identifier: &str,
        capabilities: u32,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        validate_identifier(identifier).map_err(Error::InvalidArgument)?;
        let sender = hdr
            .sender()
            .ok_or_else(|| Error::PermissionDenied("the call has no sender".into()))?
            .to_string();
        let Caller { uid, session, pid } = caller(&self.auth, &hdr).await?;
        let mut inner = self.agents.inner.lock().unwrap();
        if inner.agents.iter().any(|a| a.sender == sender) {
            return Err(Error::AlreadyExists(format!(
                "{sender} is registered as a secret agent already"
            )));
        }
        if inner
            .agents
            .iter()
            .any(|a| a.uid == uid && a.identifier == identifier)
        {
            return Err(Error::AlreadyExists(format!(
                "an agent with the identifier {identifier:?} is registered for uid {uid} already"
            )));
        }
        tracing::info!(%identifier, %sender, uid, ?session, capabilities, "secret agent registered");
        inner.agents.push(Agent {
            sender,
            identifier: identifier.to_owned(),
            uid,
            session,
            pid,
            capabilities,
        });
        Ok(())
    }

    /// Unregisters the caller's agent.
    async fn unregister(&self, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        let sender = hdr
            .sender()
            .ok_or_else(|| Error::PermissionDenied("the call has no sender".into()))?
            .to_string();
        let mut inner = self.agents.inner.lock().unwrap();
        let before = inner.agents.len();
        inner.agents.retain(|a| a.sender != sender);
        if inner.agents.len() == before {
            return Err(Error::NotFound(format!(
                "{sender} is not registered as a secret agent"
            )));
        }
        tracing::info!(%sender, "secret agent unregistered");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_own_agent_then_its_session_then_the_rest() {
        let agent = |id: &str, uid: u32, session: Option<&str>, pid: u32| Agent {
            sender: format!(":1.{pid}"),
            identifier: id.into(),
            uid,
            session: session.map(str::to_owned),
            pid: Some(pid),
            capabilities: 0,
        };
        let agents = [
            agent("elsewhere", 1001, Some("audit-session:7"), 10),
            agent("other-user", 1002, Some("audit-session:3"), 11),
            agent("same-session", 1001, Some("audit-session:3"), 12),
            agent("no-session", 1001, None, 13),
            agent("own", 1001, Some("audit-session:9"), 14),
        ];
        let ids = |c: &Caller| -> Vec<String> {
            order(&agents, c)
                .into_iter()
                .map(|a| a.identifier)
                .collect()
        };
        let caller = Caller {
            uid: 1001,
            session: Some("audit-session:3".into()),
            pid: Some(14),
        };
        assert_eq!(
            ids(&caller),
            ["own", "same-session", "elsewhere", "no-session"]
        );
        // Without a session or pid: registration order, of the uid only.
        let plain = Caller {
            uid: 1001,
            session: None,
            pid: None,
        };
        assert_eq!(
            ids(&plain),
            ["elsewhere", "same-session", "no-session", "own"]
        );
        assert_eq!(audit_session(u32::MAX), None);
    }

    #[test]
    fn identifiers_as_networkmanager_checks_them() {
        for ok in ["nsctl", "org.gnome.Shell.NetworkAgent", "a-b_c.d", "abc"] {
            assert!(validate_identifier(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ab",
            ".abc",
            "abc.",
            "a..b",
            "a b c",
            "abc/",
            &"x".repeat(256),
        ] {
            assert!(validate_identifier(bad).is_err(), "{bad}");
        }
    }
}
