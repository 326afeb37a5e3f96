//! Which secrets an activation must ask the user's agents for (issue 14),
//! after NetworkManager's secret flags, and how their answer is merged
//! into the profile for that one activation (it is never saved).
//!
//! A secret's flags (`KEY-flags` in vpn.data, `private-key-flags` in the
//! wireguard setting) are NetworkManager's `NMSettingSecretFlags`:
//!
//! | flags | meaning | asked |
//! |---|---|---|
//! | 0 | kept by the daemon | only when it is not stored |
//! | 1 | owned by an agent | when it is not stored (it never is by NetworkManager) |
//! | 2 | not saved | at every activation, whatever is stored |
//! | 4 | not required | never |

use std::collections::BTreeMap;

use netnsd_api::Error;

use crate::settings::{DbusSettings, Profile, Value};

/// NM_SETTING_SECRET_FLAG_AGENT_OWNED
pub const AGENT_OWNED: u32 = 0x1;
/// NM_SETTING_SECRET_FLAG_NOT_SAVED
pub const NOT_SAVED: u32 = 0x2;
/// NM_SETTING_SECRET_FLAG_NOT_REQUIRED
pub const NOT_REQUIRED: u32 = 0x4;

/// What to ask the agents for: the setting (NetworkManager's
/// `setting_name`), the keys wanted in it, and the hints sent with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub setting: &'static str,
    /// Keys of vpn.secrets for a `vpn` setting; keys of the setting itself
    /// otherwise (wireguard's `private-key`).
    pub keys: Vec<String>,
    pub hints: Vec<String>,
}

impl Wanted {
    fn vpn(keys: Vec<String>) -> Option<Wanted> {
        (!keys.is_empty()).then(|| Wanted {
            setting: "vpn",
            hints: keys.clone(),
            keys,
        })
    }
}

fn flags_of(v: Option<&str>) -> u32 {
    v.and_then(|f| f.trim().parse().ok()).unwrap_or(0)
}

/// Whether a secret with these flags and this stored value is to be asked.
pub fn to_ask(flags: u32, stored: bool) -> bool {
    if flags & NOT_REQUIRED != 0 {
        false
    } else if flags & NOT_SAVED != 0 {
        true
    } else {
        !stored
    }
}

/// A vpn.secrets key asked after its `KEY-flags` in vpn.data.
fn vpn_key(p: &Profile, key: &str) -> bool {
    let flags = flags_of(
        p.vpn_data()
            .get(&format!("{key}-flags"))
            .map(String::as_str),
    );
    to_ask(flags, p.vpn_secrets().contains_key(key))
}

/// OpenVPN: the password of password authentication; the private key's
/// passphrase (cert-pass) when its flags say an agent has it (1 or 2) —
/// with 0 and none stored the key is taken as unencrypted.
pub fn openvpn(p: &Profile) -> Option<Wanted> {
    let data = p.vpn_data();
    let ctype = data.get("connection-type").map(String::as_str);
    let mut keys = Vec::new();
    if matches!(ctype, Some("password" | "password-tls")) && vpn_key(p, "password") {
        keys.push("password".to_owned());
    }
    let cert_flags = flags_of(data.get("cert-pass-flags").map(String::as_str));
    if matches!(ctype, Some("tls" | "password-tls") | None)
        && cert_flags & (AGENT_OWNED | NOT_SAVED) != 0
        && vpn_key(p, "cert-pass")
    {
        keys.push("cert-pass".to_owned());
    }
    Wanted::vpn(keys)
}

/// OpenConnect: without a cookie or a user certificate, the password
/// (stored as `password` or, as NetworkManager-openconnect's auth dialog
/// keeps it, `form:main:password`).
pub fn openconnect(p: &Profile) -> Option<Wanted> {
    let data = p.vpn_data();
    let secrets = p.vpn_secrets();
    if super::openconnect::logs_in(&data, &secrets) {
        // The login (oclogin) asks for what the gateway's forms want; it
        // ends with the cookie.
        return Some(Wanted {
            setting: "vpn",
            keys: vec!["cookie".to_owned()],
            hints: Vec::new(),
        });
    }
    if secrets.contains_key("cookie") || data.contains_key("usercert") {
        return None;
    }
    let flags = flags_of(data.get("password-flags").map(String::as_str));
    let stored = secrets.contains_key("password") || secrets.contains_key("form:main:password");
    Wanted::vpn(if to_ask(flags, stored) {
        vec!["form:main:password".to_owned()]
    } else {
        Vec::new()
    })
}

/// A NetworkManager VPN plugin's profile (issue 17): what the daemon asks
/// the agents for before the plugin is started, from the profile's flags:
/// the secrets that belong to an agent (agent-owned or not saved) and are
/// to be asked. Everything else is the plugin's to say: its NeedSecrets,
/// with the stored secrets, names a setting when it lacks one (a secret
/// with flags 0 that is not stored), and its host then has the user's
/// agents asked as NetworkManager does (`vpn/plugin/ask.rs`); a plugin in
/// ConnectInteractive may ask too (SecretsRequired).
///
/// - strongSwan (`org.freedesktop.NetworkManager.strongswan`): `password`
///   after `password-flags` (the EAP or PSK password, the key's
///   passphrase, the PIN).
/// - vpnc: `Xauth password` and `IPSec secret`, after their `-flags` keys
///   or the older `-type` ones (`save` 0, `ask` not saved, `unused` not
///   required).
/// - any other plugin: every `KEY-flags` of vpn.data.
pub fn plugin(p: &Profile) -> Option<Wanted> {
    let data = p.vpn_data();
    let stored = p.vpn_secrets();
    let short = p
        .vpn_service_type()
        .unwrap_or_default()
        .strip_prefix("org.freedesktop.NetworkManager.")
        .unwrap_or_default();
    let agent_has = |f: u32| f & NOT_REQUIRED == 0 && f & (AGENT_OWNED | NOT_SAVED) != 0;
    let mut keys = Vec::new();
    match short {
        "strongswan" => {
            let flags = flags_of(data.get("password-flags").map(String::as_str));
            let has = stored.contains_key("password");
            let ask = match data.get("method").map(String::as_str) {
                Some("eap" | "psk" | "key" | "cert" | "smartcard") => {
                    agent_has(flags) && to_ask(flags, has)
                }
                _ => false,
            };
            if ask {
                keys.push("password".to_owned());
            }
        }
        "vpnc" => {
            for key in ["Xauth password", "IPSec secret"] {
                let flags = match data.get(&format!("{key}-flags")) {
                    Some(f) => flags_of(Some(f)),
                    None => match data.get(&format!("{key}-type")).map(String::as_str) {
                        Some("ask") => NOT_SAVED,
                        Some("unused") => NOT_REQUIRED,
                        _ => 0,
                    },
                };
                if agent_has(flags) && to_ask(flags, stored.contains_key(key)) {
                    keys.push(key.to_owned());
                }
            }
        }
        _ => {
            for (k, v) in &data {
                let Some(key) = k.strip_suffix("-flags") else {
                    continue;
                };
                let flags = flags_of(Some(v));
                if agent_has(flags) && to_ask(flags, stored.contains_key(key)) {
                    keys.push(key.to_owned());
                }
            }
        }
    }
    Wanted::vpn(keys)
}

/// WireGuard: the private key, after wireguard.private-key-flags.
/// `wireguard.private-key-flags`, as u, i or keyfile text.
pub fn wireguard_key_flags(p: &Profile) -> u32 {
    match p.get("wireguard", "private-key-flags") {
        Some(Value::U32(f)) => *f,
        Some(Value::I32(f)) => *f as u32,
        Some(Value::Str(s)) => flags_of(Some(s)),
        _ => 0,
    }
}

pub fn wireguard(p: &Profile) -> Option<Wanted> {
    let flags = wireguard_key_flags(p);
    let stored = p.get("wireguard", "private-key").is_some();
    to_ask(flags, stored).then(|| Wanted {
        setting: "wireguard",
        keys: vec!["private-key".to_owned()],
        hints: vec!["private-key".to_owned()],
    })
}

/// A stand-in for each wanted secret, so a profile can be checked
/// (`VpnType::validate`) before anyone is asked.
pub fn with_placeholders(p: &Profile, w: &Wanted) -> Result<Profile, Error> {
    let values: BTreeMap<String, String> = w
        .keys
        .iter()
        .map(|k| {
            let v = if w.setting == "wireguard" {
                // A well-formed key: 32 zero bytes.
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()
            } else {
                "placeholder".to_owned()
            };
            (k.clone(), v)
        })
        .collect();
    merge(p, w, values)
}

fn merge(p: &Profile, w: &Wanted, values: BTreeMap<String, String>) -> Result<Profile, Error> {
    let mut p = p.clone();
    if w.setting == "vpn" {
        let mut secrets = p.vpn_secrets();
        secrets.extend(values);
        p.set("vpn", "secrets", Value::StrMap(secrets))?;
    } else {
        for (k, v) in values {
            p.set(w.setting, &k, Value::Str(v))?;
        }
    }
    Ok(p)
}

/// The profile with what an agent answered: every wanted key must be in
/// the answer (`vpn.secrets` as a{ss} for a VPN, NetworkManager's shape),
/// else the answer is refused, naming what is missing.
pub fn merge_answer(p: &Profile, w: &Wanted, answer: &DbusSettings) -> Result<Profile, String> {
    let setting = answer
        .get(w.setting)
        .ok_or_else(|| format!("the answer has no {:?} setting", w.setting))?;
    let mut values = BTreeMap::new();
    if w.setting == "vpn" {
        let secrets = setting
            .get("secrets")
            .ok_or("the answer has no vpn.secrets")?;
        let secrets = match crate::settings::value_from_dbus("vpn", "secrets", secrets) {
            Ok(Value::StrMap(m)) => m,
            _ => return Err("vpn.secrets in the answer is not a{ss}".into()),
        };
        for k in &w.keys {
            let v = secrets
                .get(k)
                .ok_or_else(|| format!("the answer lacks vpn.secrets.{k}"))?;
            values.insert(k.clone(), v.clone());
        }
    } else {
        for k in &w.keys {
            let v = setting
                .get(k)
                .ok_or_else(|| format!("the answer lacks {}.{k}", w.setting))?;
            match crate::settings::value_from_dbus(w.setting, k, v) {
                Ok(Value::Str(s)) => {
                    values.insert(k.clone(), s);
                }
                _ => return Err(format!("{}.{k} in the answer is not a string", w.setting)),
            }
        }
    }
    merge(p, w, values).map_err(|e| e.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(data: &str, secrets: &str) -> Profile {
        Profile::from_keyfile(&format!(
            "[connection]\nid=work\nuuid=5d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a11\ntype=vpn\n\n\
             [vpn]\nservice-type=org.freedesktop.NetworkManager.openvpn\n\
             remote=vpn.example.com\nusername=alice\n{data}\n[vpn-secrets]\n{secrets}\n"
        ))
        .unwrap()
    }

    #[test]
    fn flags_as_networkmanager_has_them() {
        assert!(to_ask(0, false));
        assert!(!to_ask(0, true));
        assert!(to_ask(AGENT_OWNED, false));
        assert!(!to_ask(AGENT_OWNED, true));
        assert!(to_ask(NOT_SAVED, true));
        assert!(!to_ask(NOT_REQUIRED, false));
        assert!(!to_ask(NOT_REQUIRED | NOT_SAVED, false));
    }

    #[test]
    fn nmcli_import_asks_for_the_password() {
        // As `nmcli connection import type openvpn` writes it.
        let p = profile("connection-type=password\npassword-flags=1\n", "");
        let w = openvpn(&p).unwrap();
        assert_eq!(w.setting, "vpn");
        assert_eq!(w.keys, ["password"]);
        let stored = profile(
            "connection-type=password\npassword-flags=0\n",
            "password=x\n",
        );
        assert_eq!(openvpn(&stored), None);
        let not_saved = profile(
            "connection-type=password\npassword-flags=2\n",
            "password=x\n",
        );
        assert_eq!(openvpn(&not_saved).unwrap().keys, ["password"]);
        let tls = profile("connection-type=tls\ncert-pass-flags=1\n", "");
        assert_eq!(openvpn(&tls).unwrap().keys, ["cert-pass"]);
        let plain_key = profile("connection-type=tls\ncert-pass-flags=0\n", "");
        assert_eq!(openvpn(&plain_key), None);
    }

    fn plugin_profile(service: &str, data: &str, secrets: &str) -> Profile {
        Profile::from_keyfile(&format!(
            "[connection]\nid=work\nuuid=5d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a11\ntype=vpn\n\n\
             [vpn]\nservice-type=org.freedesktop.NetworkManager.{service}\n{data}\n\
             [vpn-secrets]\n{secrets}\n"
        ))
        .unwrap()
    }

    #[test]
    fn plugin_secrets_after_their_flags() {
        let keys = |p: &Profile| plugin(p).map(|w| w.keys).unwrap_or_default();
        // strongSwan EAP as its editor writes it with "ask every time"/agent.
        let eap = plugin_profile("strongswan", "method=eap\nuser=bob\npassword-flags=1\n", "");
        assert_eq!(keys(&eap), ["password"]);
        assert_eq!(plugin(&eap).unwrap().setting, "vpn");
        let stored = plugin_profile(
            "strongswan",
            "method=psk\npassword-flags=0\n",
            "password=x\n",
        );
        assert!(keys(&stored).is_empty());
        // Flags 0, not stored: the plugin's NeedSecrets will say so.
        let unstored = plugin_profile("strongswan", "method=psk\n", "");
        assert!(keys(&unstored).is_empty());
        let vpnc = plugin_profile("vpnc", "Xauth password-flags=0\n", "IPSec secret=g\n");
        assert!(keys(&vpnc).is_empty());
        let not_saved = plugin_profile(
            "strongswan",
            "method=eap\npassword-flags=2\n",
            "password=x\n",
        );
        assert_eq!(keys(&not_saved), ["password"]);
        let not_required = plugin_profile("strongswan", "method=eap\npassword-flags=4\n", "");
        assert!(keys(&not_required).is_empty());
        // A certificate's key: unencrypted unless an agent has its passphrase.
        let cert = plugin_profile("strongswan", "method=cert\n", "");
        assert!(keys(&cert).is_empty());
        let cert = plugin_profile("strongswan", "method=key\npassword-flags=1\n", "");
        assert_eq!(keys(&cert), ["password"]);
        assert!(keys(&plugin_profile("strongswan", "method=agent\n", "")).is_empty());
        // vpnc: -flags, or the older -type keys.
        let vpnc = plugin_profile(
            "vpnc",
            "Xauth password-flags=1\nIPSec secret-flags=0\n",
            "IPSec secret=g\n",
        );
        assert_eq!(keys(&vpnc), ["Xauth password"]);
        let vpnc = plugin_profile(
            "vpnc",
            "Xauth password-type=ask\nIPSec secret-type=unused\n",
            "Xauth password=p\n",
        );
        assert_eq!(keys(&vpnc), ["Xauth password"]);
        // Another plugin: only what its flags give to an agent.
        let l2tp = plugin_profile(
            "l2tp",
            "password-flags=1\nuser-flags=0\nipsec-psk-flags=4\n",
            "",
        );
        assert_eq!(keys(&l2tp), ["password"]);
    }

    #[test]
    fn an_answer_is_merged_or_refused() {
        let p = profile("connection-type=password\npassword-flags=1\n", "");
        let w = openvpn(&p).unwrap();
        let mut secrets = std::collections::HashMap::new();
        secrets.insert("password".to_owned(), "s3cret".to_owned());
        let mut vpn = std::collections::HashMap::new();
        vpn.insert(
            "secrets".to_owned(),
            zbus::wire::OwnedVariant::try_from(zbus::wire::Variant::from(secrets)).unwrap(),
        );
        let mut answer = DbusSettings::new();
        answer.insert("vpn".into(), vpn);
        let merged = merge_answer(&p, &w, &answer).unwrap();
        assert_eq!(merged.vpn_secrets()["password"], "s3cret");
        let e = merge_answer(&p, &w, &DbusSettings::new()).unwrap_err();
        assert!(e.contains("vpn"), "{e}");
        let placeholder = with_placeholders(&p, &w).unwrap();
        assert!(placeholder.vpn_secrets().contains_key("password"));
    }
}
