//! Agent-owned secrets kept by agents, as NetworkManager keeps them
//! (issue 14): a profile added or updated with a `vpn.secrets` key whose
//! `KEY-flags` says agent-owned (1) is stored without it, and the secret
//! goes to the caller's agents in `SaveSecrets` (one after the other until
//! one takes it, as `nm-agent-manager.c`'s save request); a not-saved (2)
//! secret is neither stored nor sent. A profile with agent-owned secrets
//! that is deleted is announced to every agent in `DeleteSecrets`, so the
//! one that keeps them forgets them.

use std::collections::BTreeMap;

use zbus::wire::{OwnedObjectPath, OwnedVariant, Variant};

use crate::settings::{DbusSettings, Profile, Value};
use crate::vpn::secrets::{AGENT_OWNED, NOT_SAVED};

fn flags_of(data: &BTreeMap<String, String>, key: &str) -> u32 {
    data.get(&format!("{key}-flags"))
        .and_then(|f| f.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether any vpn.data `KEY-flags` says an agent owns KEY.
pub fn has_agent_owned(p: &Profile) -> bool {
    p.vpn_data().iter().any(|(k, v)| {
        k.ends_with("-flags") && v.trim().parse::<u32>().unwrap_or(0) & AGENT_OWNED != 0
    })
}

/// The profile to store (without agent-owned and not-saved vpn secrets),
/// and the agent-owned secrets taken out of it.
pub fn split(p: &Profile) -> (Profile, BTreeMap<String, String>) {
    let data = p.vpn_data();
    let secrets = p.vpn_secrets();
    let (mut kept, mut agents) = (BTreeMap::new(), BTreeMap::new());
    for (k, v) in secrets.iter() {
        let f = flags_of(&data, k);
        if f & AGENT_OWNED != 0 {
            agents.insert(k.clone(), v.clone());
        } else if f & NOT_SAVED == 0 {
            kept.insert(k.clone(), v.clone());
        }
    }
    if kept.len() == secrets.len() {
        return (p.clone(), agents);
    }
    let mut stored = p.clone();
    let value = Value::StrMap(kept);
    if stored.set("vpn", "secrets", value).is_err() {
        // Cannot happen (vpn.secrets is a{ss}); keep nothing rather than
        // an agent's secret.
        stored.clear_secrets();
    }
    (stored, agents)
}

/// The connection as the agents get it in SaveSecrets: its settings with
/// the agent-owned secrets only.
pub fn for_agents(p: &Profile, secrets: &BTreeMap<String, String>) -> DbusSettings {
    let mut d = p.to_dbus(false);
    if !secrets.is_empty() {
        let v = OwnedVariant::try_from(Variant::from(
            secrets
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<std::collections::HashMap<_, _>>(),
        ))
        .expect("no fds");
        d.entry("vpn".into())
            .or_default()
            .insert("secrets".into(), v);
    }
    d
}

/// SaveSecrets to `uid`'s agents, off the caller's way.
pub fn save(uid: u32, connection: DbusSettings, path: OwnedObjectPath) {
    let Some(agents) = super::agents::registered() else {
        return;
    };
    tokio::spawn(async move { agents.save_secrets(uid, connection, path).await });
}

/// DeleteSecrets to every agent, off the caller's way.
pub fn delete(connection: DbusSettings, path: OwnedObjectPath) {
    let Some(agents) = super::agents::registered() else {
        return;
    };
    tokio::spawn(async move { agents.delete_secrets(connection, path).await });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_owned_secrets_are_not_stored_not_saved_ones_nowhere() {
        let p = Profile::from_keyfile(
            "[connection]\nid=work\nuuid=5d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a11\ntype=vpn\n\n\
             [vpn]\nservice-type=org.freedesktop.NetworkManager.openvpn\n\
             remote=vpn.example.com\npassword-flags=1\ncert-pass-flags=2\nhttp-proxy-password-flags=0\n\n\
             [vpn-secrets]\npassword=agent-pw\ncert-pass=typed\nhttp-proxy-password=kept\n",
        )
        .unwrap();
        assert!(has_agent_owned(&p));
        let (stored, agents) = split(&p);
        assert_eq!(
            stored.vpn_secrets(),
            BTreeMap::from([("http-proxy-password".to_owned(), "kept".to_owned())])
        );
        assert_eq!(
            agents,
            BTreeMap::from([("password".to_owned(), "agent-pw".to_owned())])
        );
        let d = for_agents(&stored, &agents);
        let s: std::collections::HashMap<String, String> =
            d["vpn"]["secrets"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s["password"], "agent-pw");
    }
}
