//! A VPN type's login before its launch (`VpnType::login`: OpenConnect's
//! forms, issue 14): run while the activation waits in need-auth, as
//! secrets from the agents are (`secrets.rs`), asking those agents for
//! each field the server's forms want. Nothing is made on the host but
//! the login's own process (`openconnect --authenticate`, killed when the
//! activation is cancelled; it ends by itself when the daemon does, its
//! stdin closed), so there is nothing to journal.

use std::collections::BTreeMap;
use std::sync::Arc;

use netnsd_api::Error;

use super::{Later, Manager, SecretRequest};
use crate::settings::Profile;
use crate::vpn::VpnType;
use crate::vpn::oclogin::Ask;

impl Manager {
    /// Starts activation `n`'s login if its type holds one: the task, or
    /// None (the agents are then asked for the secrets as usual).
    pub(super) fn start_login(
        &mut self,
        n: u32,
        uplink_ns: u32,
        profile: &Profile,
        vpn: &'static dyn VpnType,
        req: &SecretRequest,
    ) -> Result<Option<tokio::task::JoinHandle<()>>, Error> {
        let netns = match self.namespaces.by_number(uplink_ns) {
            Some(ns) if ns.number != 0 => Some(self.ns_file(&ns)?),
            _ => None,
        };
        let agents = self.agents.clone();
        let base = req.clone();
        let ask: Ask = Arc::new(move |hints, flags| {
            let agents = agents.clone();
            let mut req = base.clone();
            req.hints = hints;
            req.flags = flags;
            Box::pin(async move {
                let answer = agents.get_secrets(n, req).await?;
                vpn_secrets(&answer)
            })
        });
        let Some(login) = vpn.login(profile, netns, ask) else {
            return Ok(None);
        };
        tracing::info!(active = n, id = %profile.id(), "logging in before the launch");
        let later = self.later_tx.clone();
        Ok(Some(tokio::spawn(async move {
            let r = login.await;
            let _ = later.send(Later::LoggedIn(n, r));
        })))
    }
}

/// The `vpn.secrets` of an agent's answer.
fn vpn_secrets(answer: &crate::settings::DbusSettings) -> Result<BTreeMap<String, String>, String> {
    let secrets = answer
        .get("vpn")
        .and_then(|v| v.get("secrets"))
        .ok_or("the answer has no vpn.secrets")?;
    match crate::settings::value_from_dbus("vpn", "secrets", secrets) {
        Ok(crate::settings::Value::StrMap(m)) => Ok(m),
        _ => Err("vpn.secrets in the answer is not a{ss}".into()),
    }
}
