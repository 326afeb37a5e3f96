//! Agent-owned secrets kept by agents, as NetworkManager keeps them
//! (issue 14): a profile added or updated with a `vpn.secrets` key whose
//! `KEY-flags` says agent-owned (1), or a `wireguard.private-key` whose
//! `private-key-flags` does, is stored without it, and the secret
//! goes to the caller's agents in `SaveSecrets` (one after the other until
//! one takes it, as `nm-agent-manager.c`'s save request); a not-saved (2)
//! secret is neither stored nor sent. A profile with agent-owned secrets
//! that is deleted is announced to every agent in `DeleteSecrets`, so the
//! one that keeps them forgets them.

use std::collections::BTreeMap;

use zbus::wire::{OwnedObjectPath, OwnedVariant, Variant};

use crate::settings::{DbusSettings, Profile, Value};
use crate::vpn::secrets::{AGENT_OWNED, NOT_SAVED, wireguard_key_flags};

fn flags_of(data: &BTreeMap<String, String>, key: &str) -> u32 {
    data.get(&format!("{key}-flags"))
        .and_then(|f| f.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether any vpn.data `KEY-flags` says an agent owns KEY, or
/// `wireguard.private-key-flags` does.
pub fn has_agent_owned(p: &Profile) -> bool {
    wireguard_key_flags(p) & AGENT_OWNED != 0
        || p.vpn_data().iter().any(|(k, v)| {
            k.ends_with("-flags") && v.trim().parse::<u32>().unwrap_or(0) & AGENT_OWNED != 0
        })
}

/// The agent-owned secrets taken out of a profile.
#[derive(Debug, Default)]
pub struct AgentOwned {
    /// vpn.secrets keys.
    pub vpn: BTreeMap<String, String>,
    /// wireguard.private-key.
    pub wireguard_key: Option<String>,
}

impl AgentOwned {
    pub fn is_empty(&self) -> bool {
        self.vpn.is_empty() && self.wireguard_key.is_none()
    }
}

/// The profile to store (without agent-owned and not-saved vpn secrets
/// and WireGuard private key), and the agent-owned secrets taken out of it.
pub fn split(p: &Profile) -> (Profile, AgentOwned) {
    let mut stored = p.clone();
    let mut agents = AgentOwned::default();
    let key_flags = wireguard_key_flags(p);
    if key_flags & (AGENT_OWNED | NOT_SAVED) != 0
        && let Ok(Some(Value::Str(key))) = stored.remove("wireguard", "private-key")
        && key_flags & AGENT_OWNED != 0
    {
        agents.wireguard_key = Some(key);
    }
    let data = p.vpn_data();
    let secrets = p.vpn_secrets();
    let mut kept = BTreeMap::new();
    for (k, v) in secrets.iter() {
        let f = flags_of(&data, k);
        if f & AGENT_OWNED != 0 {
            agents.vpn.insert(k.clone(), v.clone());
        } else if f & NOT_SAVED == 0 {
            kept.insert(k.clone(), v.clone());
        }
    }
    if kept.len() != secrets.len() && stored.set("vpn", "secrets", Value::StrMap(kept)).is_err() {
        // Cannot happen (vpn.secrets is a{ss}); keep nothing rather than
        // an agent's secret.
        stored.clear_secrets();
    }
    (stored, agents)
}

/// The connection as the agents get it in SaveSecrets: its settings with
/// the agent-owned secrets only.
pub fn for_agents(p: &Profile, secrets: &AgentOwned) -> DbusSettings {
    let mut d = p.to_dbus(false);
    if !secrets.vpn.is_empty() {
        let v = OwnedVariant::try_from(Variant::from(
            secrets
                .vpn
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<std::collections::HashMap<_, _>>(),
        ))
        .expect("no fds");
        d.entry("vpn".into())
            .or_default()
            .insert("secrets".into(), v);
    }
    if let Some(key) = &secrets.wireguard_key {
        let v = OwnedVariant::try_from(Variant::from(key.as_str())).expect("no fds");
        d.entry("wireguard".into())
            .or_default()
            .insert("private-key".into(), v);
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
            agents.vpn,
            BTreeMap::from([("password".to_owned(), "agent-pw".to_owned())])
        );
        assert_eq!(agents.wireguard_key, None);
        let d = for_agents(&stored, &agents);
        let s: std::collections::HashMap<String, String> =
            d["vpn"]["secrets"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s["password"], "agent-pw");
    }

    /// WireGuard's private key with private-key-flags=1 (as NetworkManager's
    /// importer writes it for an agent-kept key) is not stored and goes to
    /// the agents as wireguard.private-key; with 2 it goes nowhere.
    #[test]
    fn an_agent_owned_wireguard_key_is_not_stored() {
        let text = |flags: u32| {
            format!(
                "[connection]\nid=wg\nuuid=6d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a12\ntype=wireguard\n\
                 interface-name=wg0\n\n[wireguard]\nprivate-key=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n\
                 private-key-flags={flags}\n\n[wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=]\n\
                 endpoint=192.0.2.1:51820\nallowed-ips=0.0.0.0/0;\n\n[ipv4]\nmethod=manual\naddress1=10.0.0.2/32\n"
            )
        };
        let p = Profile::from_keyfile(&text(1)).unwrap();
        assert!(has_agent_owned(&p));
        let (stored, agents) = split(&p);
        assert!(stored.get("wireguard", "private-key").is_none());
        assert_eq!(
            agents.wireguard_key.as_deref(),
            Some("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=")
        );
        let d = for_agents(&stored, &agents);
        let k: String = d["wireguard"]["private-key"]
            .try_clone()
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=");

        let p = Profile::from_keyfile(&text(2)).unwrap();
        assert!(!has_agent_owned(&p));
        let (stored, agents) = split(&p);
        assert!(stored.get("wireguard", "private-key").is_none());
        assert!(agents.is_empty());

        let p = Profile::from_keyfile(&text(0)).unwrap();
        let (stored, agents) = split(&p);
        assert!(stored.get("wireguard", "private-key").is_some());
        assert!(agents.is_empty());
    }
}
