//! Activations waiting for secrets (issue 14). A profile that lacks a
//! secret it needs (after the secret's flags, `vpn::secrets`) is not
//! launched at once: its active connection is published, goes to
//! activating with VpnState need-auth, and the user's secret agents are
//! asked through [`SecretAgents`] (the bus layer's, `dbus/agents.rs`).
//! Their answer launches it with the secrets merged in (never saved);
//! none, a refusal or a timeout ends it with the no-secrets reason.
//! Nothing is made on the host before the answer, so there is nothing to
//! journal or clean up; deactivating it while it waits cancels the
//! request (CancelGetSecrets).

use futures::future::BoxFuture;
use netnsd_api::state::{active as st, reason, vpn as vs};
use netnsd_api::{Error, connection_path};
use zbus::wire::OwnedObjectPath;

use super::{ActiveInfo, Later, Manager};
use crate::settings::{DbusSettings, Profile};
use crate::vpn::VpnType;
use crate::vpn::secrets::{self, Wanted};

/// Who asked for an activation: their agents are the ones asked.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub uid: u32,
    /// Their logind session (object path), where logind runs; else
    /// their audit session (`/proc/PID/sessionid`), where set.
    pub session: Option<String>,
    /// The calling process: its own agent is asked first (nsctl's).
    pub pid: Option<u32>,
}

/// NetworkManager's NMSecretAgentGetSecretsFlags.
pub mod flags {
    pub const ALLOW_INTERACTION: u32 = 0x1;
    pub const USER_REQUESTED: u32 = 0x4;
}

/// NetworkManager's NMSecretAgentCapabilities.
pub mod capability {
    /// The agent passes a VPN plugin's hints (`x-vpn-message:` and the
    /// secrets' names) to its dialog.
    pub const VPN_HINTS: u32 = 0x1;
}

/// One GetSecrets request, as the agents get it.
#[derive(Debug, Clone)]
pub struct SecretRequest {
    pub caller: Caller,
    /// The profile without its secrets.
    pub connection: DbusSettings,
    pub connection_path: OwnedObjectPath,
    pub setting: String,
    pub hints: Vec<String>,
    pub flags: u32,
}

/// The agents, as the manager asks them (the bus layer implements it).
pub trait SecretAgents: Send + Sync {
    /// Asks the caller's agents, one at a time, for activation `n`'s
    /// secrets: the first answer, or why there is none.
    fn get_secrets(
        &self,
        n: u32,
        req: SecretRequest,
    ) -> BoxFuture<'static, Result<DbusSettings, String>>;
    /// Activation `n` stopped waiting: the agent being asked is told
    /// (CancelGetSecrets).
    fn cancel(&self, n: u32) -> BoxFuture<'static, ()>;
    /// Whether every agent of `uid` registered with `capability`
    /// (NetworkManager's `nm_agent_manager_all_agents_have_capability`:
    /// true when there is none).
    fn all_have_capability(&self, _uid: u32, _capability: u32) -> bool {
        true
    }
}

/// Before the bus is up (and in unit tests): no agent at all.
pub struct NoAgents;

impl SecretAgents for NoAgents {
    fn get_secrets(
        &self,
        _: u32,
        _: SecretRequest,
    ) -> BoxFuture<'static, Result<DbusSettings, String>> {
        Box::pin(async { Err("no secret agent is registered".to_owned()) })
    }
    fn cancel(&self, _: u32) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// An activation waiting for its secrets.
pub(super) struct Pending {
    profile: Profile,
    profile_number: u32,
    uplink_ns: u32,
    vpn: &'static dyn VpnType,
    wanted: Wanted,
    caller: Caller,
    task: tokio::task::AbortHandle,
}

impl Manager {
    /// Publishes activation of `profile` (which lacks `wanted`) in
    /// need-auth and asks the caller's agents.
    pub(super) async fn activate_needing_secrets(
        &mut self,
        profile_number: u32,
        uplink_ns: u32,
        profile: Profile,
        vpn: &'static dyn VpnType,
        wanted: Wanted,
        caller: Caller,
    ) -> Result<OwnedObjectPath, Error> {
        // A profile that is wrong apart from its secrets fails now, before
        // anyone is asked.
        vpn.validate(&secrets::with_placeholders(&profile, &wanted)?)?;
        let number = self.actives.next_number();
        self.actives.take_number();
        let info = ActiveInfo {
            number,
            profile: profile_number,
            id: profile.id().to_owned(),
            uuid: profile.uuid().to_owned(),
            kind: profile.kind().to_owned(),
            vpn: true,
            state: st::UNKNOWN,
            vpn_state: vs::UNKNOWN,
            reason: reason::NONE,
            uplink_ns,
            ns: uplink_ns,
            banner: String::new(),
        };
        let changes = self.actives.add(info.clone());
        self.publish(changes).await;
        self.transition(
            number,
            Some(st::ACTIVATING),
            Some(vs::PREPARE),
            reason::NONE,
        )
        .await;
        self.transition(number, None, Some(vs::NEED_AUTH), reason::NONE)
            .await;
        let req = SecretRequest {
            caller: caller.clone(),
            connection: profile.to_dbus(false),
            connection_path: OwnedObjectPath::try_from(connection_path(profile_number))
                .expect("a valid object path"),
            setting: wanted.setting.to_owned(),
            hints: wanted.hints.clone(),
            flags: flags::ALLOW_INTERACTION | flags::USER_REQUESTED,
        };
        tracing::info!(id = %info.id, setting = wanted.setting, keys = ?wanted.keys, "asking the secret agents");
        let task = match self.start_login(number, uplink_ns, &profile, vpn, &req)? {
            Some(task) => task,
            None => {
                let agents = self.agents.clone();
                let later = self.later_tx.clone();
                tokio::spawn(async move {
                    let r = agents.get_secrets(number, req).await;
                    let _ = later.send(Later::Secrets(number, r));
                })
            }
        };
        self.pending.insert(
            number,
            Pending {
                profile,
                profile_number,
                uplink_ns,
                vpn,
                wanted,
                caller,
                task: task.abort_handle(),
            },
        );
        Ok(info.object_path())
    }

    /// The agents answered activation `n` (or could not).
    pub(super) async fn secrets_answered(&mut self, n: u32, answer: Result<DbusSettings, String>) {
        let Some(p) = self.pending.remove(&n) else {
            return;
        };
        let merged = answer.and_then(|a| secrets::merge_answer(&p.profile, &p.wanted, &a));
        self.launch_pending(n, p, merged.map_err(|why| (reason::NO_SECRETS, why)))
            .await
    }

    /// The login of activation `n` ended (`login.rs`).
    pub(super) async fn logged_in(
        &mut self,
        n: u32,
        r: Result<std::collections::BTreeMap<String, String>, crate::vpn::oclogin::Failed>,
    ) {
        let Some(p) = self.pending.remove(&n) else {
            return;
        };
        let merged = r.map_err(|f| (f.reason, f.why)).and_then(|got| {
            crate::vpn::with_login(&p.profile, got)
                .map_err(|e| (reason::SERVICE_START_FAILED, e.message()))
        });
        self.launch_pending(n, p, merged).await
    }

    /// Launches waiting activation `n` with its secrets, or ends it.
    async fn launch_pending(&mut self, n: u32, p: Pending, merged: Result<Profile, (u32, String)>) {
        let profile = match merged {
            Ok(profile) => profile,
            Err((why_reason, why)) => {
                tracing::warn!(active = n, reason = why_reason, "no secrets: {why}");
                return self.end_unlaunched(n, vs::FAILED, why_reason).await;
            }
        };
        tracing::info!(active = n, "the secrets came: launching");
        if let Err(e) = self
            .launch_active(n, p.profile_number, p.uplink_ns, profile, p.vpn, p.caller)
            .await
        {
            tracing::warn!(
                active = n,
                "launching after the secrets came: {}",
                e.message()
            );
            if !self.runs.contains_key(&n) {
                let why = match e {
                    Error::DependencyFailed(_) => reason::DEPENDENCY_FAILED,
                    _ => reason::SERVICE_START_FAILED,
                };
                self.end_unlaunched(n, vs::FAILED, why).await;
            }
        }
    }

    /// Deactivation of an activation still waiting for secrets: the
    /// request is cancelled. False if `n` is not waiting.
    pub(super) async fn cancel_pending(&mut self, n: u32, why: u32) -> bool {
        let Some(p) = self.pending.remove(&n) else {
            return false;
        };
        p.task.abort();
        let agents = self.agents.clone();
        tokio::spawn(async move { agents.cancel(n).await });
        self.end_unlaunched(n, vs::DISCONNECTED, why).await;
        true
    }

    /// Ends an activation that never launched (nothing on the host to undo).
    async fn end_unlaunched(&mut self, n: u32, vpn_state: u32, why: u32) {
        self.transition(n, Some(st::DEACTIVATING), Some(vpn_state), why)
            .await;
        self.transition(n, Some(st::DEACTIVATED), None, why).await;
        self.later(std::time::Duration::from_secs(2), Later::ForgetActive(n));
    }
}
