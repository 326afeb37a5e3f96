//! A NetworkManager VPN plugin's requests for secrets while it runs
//! (issue 17): its host asks over the helper socket
//! (`vpn/plugin/ask.rs`) after the plugin's NeedSecrets named a setting or
//! the plugin emitted SecretsRequired; the manager asks the agents of the
//! user who activated, as NetworkManager's `nm-vpn-connection.c` does
//! (GetSecrets with the plugin's hints and flags ALLOW_INTERACTION |
//! USER_REQUESTED), with VpnState need-auth meanwhile and connect again
//! once they answered. A refusal, no agent or the agents' timeout is
//! answered as such: the host then ends with no-secrets, and the
//! activation fails and is taken down as any other. The request is
//! cancelled (CancelGetSecrets) when the connection ends meanwhile.
//! Nothing is made on the host for it, so nothing is journalled.

use std::collections::BTreeMap;
use std::time::Duration;

use netnsd_api::connection_path;
use netnsd_api::state::{reason, vpn as vs};
use tokio::sync::oneshot;
use zbus::wire::OwnedObjectPath;

use super::secrets::flags;
use super::{Later, Manager, SecretRequest};
use crate::settings::{DbusSettings, Value};
use crate::vpn::plugin::ask::{Answer, Ask, MESSAGE_HINT};

/// While a request is answered, the connect timeout looks again after this.
pub(super) const RECHECK: Duration = Duration::from_secs(5);

/// `vpn.secrets` of an agent's answer (`a{sa{sv}}`, NetworkManager's
/// shape), less any answer to the message hint.
pub fn vpn_secrets_of(answer: &DbusSettings) -> Result<BTreeMap<String, String>, String> {
    let vpn = answer
        .get("vpn")
        .ok_or("the answer has no \"vpn\" setting")?;
    let secrets = vpn.get("secrets").ok_or("the answer has no vpn.secrets")?;
    match crate::settings::value_from_dbus("vpn", "secrets", secrets) {
        Ok(Value::StrMap(mut m)) => {
            m.retain(|k, _| !k.starts_with(MESSAGE_HINT));
            Ok(m)
        }
        _ => Err("vpn.secrets in the answer is not a{ss}".into()),
    }
}

impl Manager {
    /// The plugin host of activation `n` asks for secrets.
    pub(super) async fn plugin_asks(&mut self, n: u32, ask: Ask, reply: oneshot::Sender<String>) {
        let refuse = |why: &str, reply: oneshot::Sender<String>| {
            let _ = reply.send(Answer::Error(why.to_owned()).to_line());
        };
        let Some(run) = self.runs.get(&n) else {
            return refuse("no such activation", reply);
        };
        if run.ending.is_some() {
            return refuse("the connection is going down", reply);
        }
        if run.asking.is_some() {
            return refuse("a request for secrets is being answered already", reply);
        }
        let caller = run.caller.clone();
        let Some(info) = self.active(n) else {
            return refuse("no such activation", reply);
        };
        let Some(profile) = self.profiles.get(info.profile).map(|p| p.profile) else {
            return refuse("the connection's profile is gone", reply);
        };
        let req = SecretRequest {
            caller,
            connection: profile.to_dbus(false),
            connection_path: OwnedObjectPath::try_from(connection_path(info.profile))
                .expect("a valid object path"),
            setting: ask.setting,
            hints: ask.hints,
            flags: flags::ALLOW_INTERACTION | flags::USER_REQUESTED,
        };
        tracing::info!(active = n, setting = %req.setting, hints = ?req.hints, "the VPN plugin asks for secrets: asking the secret agents");
        self.transition(n, None, Some(vs::NEED_AUTH), reason::NONE)
            .await;
        let agents = self.agents.clone();
        let later = self.later_tx.clone();
        let task = tokio::spawn(async move {
            let r = agents.get_secrets(n, req).await;
            let _ = later.send(Later::PluginSecrets(n, r, reply));
        });
        if let Some(run) = self.runs.get_mut(&n) {
            run.asking = Some(task.abort_handle());
        }
    }

    /// The agents answered activation `n`'s plugin (or could not).
    pub(super) async fn plugin_secrets_answered(
        &mut self,
        n: u32,
        answer: Result<DbusSettings, String>,
        reply: oneshot::Sender<String>,
    ) {
        let Some(run) = self.runs.get_mut(&n) else {
            return;
        };
        run.asking = None;
        if run.ending.is_some() {
            let _ = reply.send(Answer::Error("the connection is going down".into()).to_line());
            return;
        }
        match answer.and_then(|a| vpn_secrets_of(&a)) {
            Ok(secrets) => {
                tracing::info!(active = n, keys = ?secrets.keys().collect::<Vec<_>>(), "the secrets came: to the VPN plugin");
                let _ = reply.send(Answer::Secrets(secrets).to_line());
                self.transition(n, None, Some(vs::CONNECT), reason::NONE)
                    .await;
            }
            Err(why) => {
                tracing::warn!(active = n, "no secrets for the VPN plugin: {why}");
                let _ = reply.send(Answer::Error(why).to_line());
            }
        }
    }

    /// The connection ends while its plugin's request is answered: the
    /// request is cancelled (CancelGetSecrets to the agent asked).
    pub(super) fn cancel_plugin_ask(&self, n: u32, asking: &tokio::task::AbortHandle) {
        asking.abort();
        let agents = self.agents.clone();
        tokio::spawn(async move { agents.cancel(n).await });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use zbus::wire::{OwnedVariant, Variant};

    #[test]
    fn the_answers_vpn_secrets_without_the_message() {
        let secrets = HashMap::from([
            ("Xauth password".to_owned(), "pw".to_owned()),
            ("x-vpn-message:Enter password".to_owned(), "pw".to_owned()),
        ]);
        let answer: DbusSettings = HashMap::from([(
            "vpn".to_owned(),
            HashMap::from([(
                "secrets".to_owned(),
                OwnedVariant::try_from(Variant::from(secrets)).unwrap(),
            )]),
        )]);
        let got = vpn_secrets_of(&answer).unwrap();
        assert_eq!(
            got,
            BTreeMap::from([("Xauth password".to_owned(), "pw".to_owned())])
        );
        assert!(vpn_secrets_of(&HashMap::new()).is_err());
    }
}
