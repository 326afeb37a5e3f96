//! Profiles as nsctl shows them: the summary of `connection list`, and the
//! `setting.key = value` lines and JSON of `connection show`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use zbus::wire::{OwnedVariant, Variant};

use super::settings::{DEFAULT_NETNS_TIMEOUT_MS, Settings, get_bool, get_i32, get_str, strip};
use crate::cli::vpn_type_name;

/// One profile as `nsctl connection list` shows it. The field order is the
/// order of the JSON keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// connection.id
    pub id: String,
    /// connection.uuid
    pub uuid: String,
    /// connection.type
    #[serde(rename = "type")]
    pub kind: String,
    /// The short name of vpn.service-type (openvpn), for a VPN.
    pub vpn_type: Option<String>,
    /// connection.netns-isolate
    pub isolate: bool,
    /// connection.netns-name as the profile has it (default `uuid`).
    pub netns_name: String,
    /// connection.netns-persistent
    pub persistent: bool,
    /// connection.netns-timeout, ms.
    pub timeout: i32,
    /// The state of its active connection (not deactivated), if any.
    pub active: Option<String>,
    /// That active connection's object.
    pub active_object: Option<String>,
    /// The keyfile.
    pub filename: String,
    /// The Settings.Connection object.
    pub object: String,
}

impl Summary {
    pub fn new(object: &str, filename: String, s: &Settings) -> Self {
        let kind = get_str(s, "connection", "type").unwrap_or_default();
        let vpn_type = (kind == "vpn").then(|| {
            vpn_type_name(&get_str(s, "vpn", "service-type").unwrap_or_default()).to_owned()
        });
        Summary {
            id: get_str(s, "connection", "id").unwrap_or_default(),
            uuid: get_str(s, "connection", "uuid").unwrap_or_default(),
            kind,
            vpn_type,
            isolate: get_bool(s, "connection", "netns-isolate").unwrap_or(false),
            netns_name: get_str(s, "connection", "netns-name").unwrap_or_else(|| "uuid".into()),
            persistent: get_bool(s, "connection", "netns-persistent").unwrap_or(false),
            timeout: get_i32(s, "connection", "netns-timeout").unwrap_or(DEFAULT_NETNS_TIMEOUT_MS),
            active: None,
            active_object: None,
            filename,
            object: object.to_owned(),
        }
    }

    /// The TYPE column: `vpn/openvpn` for a VPN, else the type.
    pub fn type_label(&self) -> String {
        match &self.vpn_type {
            Some(t) if !t.is_empty() => format!("{}/{t}", self.kind),
            _ => self.kind.clone(),
        }
    }
}

/// A value as JSON: numbers, strings and booleans as themselves, arrays as
/// arrays, dictionaries as objects (keys in text form).
pub fn variant_json(v: &Variant<'_>) -> Value {
    match v {
        Variant::Bool(b) => Value::from(*b),
        Variant::U8(n) => Value::from(*n),
        Variant::I16(n) => Value::from(*n),
        Variant::U16(n) => Value::from(*n),
        Variant::I32(n) => Value::from(*n),
        Variant::U32(n) => Value::from(*n),
        Variant::I64(n) => Value::from(*n),
        Variant::U64(n) => Value::from(*n),
        Variant::F64(n) => Value::from(*n),
        Variant::Str(s) => Value::from(s.as_str()),
        Variant::ObjectPath(p) => Value::from(p.as_str()),
        Variant::Variant(inner) => variant_json(inner),
        Variant::Array(a) => Value::Array(a.iter().map(variant_json).collect()),
        Variant::Dict(d) => Value::Object(
            d.iter()
                .map(|(k, v)| {
                    let k = match strip(k) {
                        Variant::Str(s) => s.as_str().to_owned(),
                        other => value_text(other),
                    };
                    (k, variant_json(v))
                })
                .collect(),
        ),
        other => Value::from(other.to_string()),
    }
}

/// A profile as `connection show` shows it: without the forms GetSettings
/// adds for NetworkManager's clients beside the keyfile keys
/// (ipvN.address-data and route-data, wireguard.peers), and with ipv4.dns
/// (au) and ipv6.dns (aay) as addresses.
pub fn shown(s: &Settings) -> Settings {
    let mut out = s.clone();
    for (setting, keys) in out.iter_mut() {
        if setting == "ipv4" || setting == "ipv6" {
            keys.remove("address-data");
            keys.remove("route-data");
        }
        if setting == "wireguard" {
            keys.remove("peers");
        }
        let Some(v) = keys.get("dns") else { continue };
        let text: Option<Vec<String>> = match strip(v) {
            Variant::Array(a) if a.element_signature().to_string() == "u" => a
                .iter()
                .map(|e| match e {
                    Variant::U32(n) => Some(std::net::Ipv4Addr::from(n.to_ne_bytes()).to_string()),
                    _ => None,
                })
                .collect(),
            Variant::Array(a) if a.element_signature().to_string() == "ay" => a
                .iter()
                .map(|e| match e {
                    Variant::Array(b) => {
                        let bytes: Vec<u8> = b
                            .iter()
                            .filter_map(|x| match x {
                                Variant::U8(x) => Some(*x),
                                _ => None,
                            })
                            .collect();
                        <[u8; 16]>::try_from(bytes)
                            .ok()
                            .map(|o| std::net::Ipv6Addr::from(o).to_string())
                    }
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        if let Some(l) = text
            && let Ok(v) = OwnedVariant::try_from(Variant::from(l))
        {
            keys.insert("dns".into(), v);
        }
    }
    out
}

/// A profile as JSON: `{"setting": {"key": value}}`.
pub fn settings_json(s: &Settings) -> Value {
    let s = &shown(s);
    Value::Object(
        s.iter()
            .map(|(setting, keys)| {
                let keys = keys
                    .iter()
                    .map(|(k, v)| (k.clone(), variant_json(v)))
                    .collect();
                (setting.clone(), Value::Object(keys))
            })
            .collect(),
    )
}

/// A value in text: booleans as true/false, lists comma-separated, a byte
/// array as text if it is printable UTF-8 (an SSID) and as hex otherwise.
pub fn value_text(v: &Variant<'_>) -> String {
    match v {
        Variant::Bool(b) => b.to_string(),
        Variant::U8(n) => n.to_string(),
        Variant::I16(n) => n.to_string(),
        Variant::U16(n) => n.to_string(),
        Variant::I32(n) => n.to_string(),
        Variant::U32(n) => n.to_string(),
        Variant::I64(n) => n.to_string(),
        Variant::U64(n) => n.to_string(),
        Variant::F64(n) => n.to_string(),
        Variant::Str(s) => s.as_str().to_owned(),
        Variant::ObjectPath(p) => p.as_str().to_owned(),
        Variant::Variant(inner) => value_text(inner),
        Variant::Array(a) if a.element_signature().to_string() == "y" => {
            let bytes: Vec<u8> = a
                .iter()
                .filter_map(|b| match b {
                    Variant::U8(b) => Some(*b),
                    _ => None,
                })
                .collect();
            match String::from_utf8(bytes.clone()) {
                Ok(s) if !s.chars().any(char::is_control) => s,
                _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            }
        }
        Variant::Array(a) => a.iter().map(value_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// The settings in the order `connection show` prints them: `connection`
/// first, then by name.
fn setting_order(a: &str, b: &str) -> std::cmp::Ordering {
    (a != "connection").cmp(&(b != "connection")).then(a.cmp(b))
}

/// A profile as (`setting.key`, value) lines: settings in [`setting_order`],
/// keys by name, each item of a dictionary on a line of its own as
/// `setting.key.item`.
pub fn settings_lines(s: &Settings) -> Vec<(String, String)> {
    let s = &shown(s);
    let mut settings: Vec<&String> = s.keys().collect();
    settings.sort_by(|a, b| setting_order(a, b));
    let mut lines = Vec::new();
    for setting in settings {
        let keys: BTreeMap<&String, &OwnedVariant> = s[setting].iter().collect();
        for (k, v) in keys {
            match strip(v) {
                Variant::Dict(d) => {
                    let items: BTreeMap<String, String> = d
                        .iter()
                        .map(|(ik, iv)| (value_text(ik), value_text(iv)))
                        .collect();
                    if items.is_empty() {
                        lines.push((format!("{setting}.{k}"), String::new()));
                    }
                    for (ik, iv) in items {
                        lines.push((format!("{setting}.{k}.{ik}"), iv));
                    }
                }
                other => lines.push((format!("{setting}.{k}"), value_text(other))),
            }
        }
    }
    lines
}

/// Adds the secrets of a GetSecrets reply to a profile, for showing it.
pub fn merge_secrets(s: &mut Settings, secrets: Settings) {
    for (setting, keys) in secrets {
        if keys.is_empty() {
            continue;
        }
        s.entry(setting).or_default().extend(keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::NetnsKeysOpts;
    use crate::profile::build::new_vpn;
    use crate::profile::build::tests::office;
    use crate::profile::settings::{get_map, set, set_map};
    use std::collections::HashMap;

    #[test]
    fn summary_reads_the_keys_with_defaults() {
        let mut s = office();
        set(&mut s, "connection", "uuid", Variant::from("u-1"));
        let sum = Summary::new("/net/netnsd/Netns1/Settings/3", "/etc/x".into(), &s);
        assert_eq!(
            (sum.id.as_str(), sum.uuid.as_str(), sum.type_label()),
            ("office", "u-1", "vpn/openvpn".to_owned())
        );
        assert!(sum.isolate && !sum.persistent);
        assert_eq!((sum.netns_name.as_str(), sum.timeout), ("vpn1", 5000));
        let plain = new_vpn("x", "openvpn", &NetnsKeysOpts::default(), &[], &[]);
        let sum = Summary::new("/o", String::new(), &plain);
        assert!(!sum.isolate);
        assert_eq!((sum.netns_name.as_str(), sum.timeout), ("uuid", 2000));
        let mut eth = Settings::new();
        set(&mut eth, "connection", "type", Variant::from("ethernet"));
        let sum = Summary::new("/o", String::new(), &eth);
        assert_eq!((sum.type_label(), sum.vpn_type), ("ethernet".into(), None));
    }

    /// GetSettings' NetworkManager forms: dns as au/aay shown as
    /// addresses, address-data, route-data and peers left out.
    #[test]
    fn networkmanagers_bus_forms_are_shown_as_the_keyfile_keys() {
        let mut s = office();
        set(
            &mut s,
            "ipv4",
            "dns",
            Variant::from(vec![u32::from_ne_bytes([10, 0, 0, 53])]),
        );
        let mut a6 = [0u8; 16];
        a6[0] = 0xfd;
        a6[15] = 0x53;
        set(&mut s, "ipv6", "dns", Variant::from(vec![a6.to_vec()]));
        set(&mut s, "ipv4", "address1", Variant::from("10.0.0.2/24"));
        set(
            &mut s,
            "ipv4",
            "address-data",
            Variant::from(Vec::<std::collections::HashMap<String, OwnedVariant>>::new()),
        );
        let lines: Vec<String> = settings_lines(&s)
            .into_iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        assert!(
            lines.contains(&"ipv4.dns = 10.0.0.53".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"ipv6.dns = fd00::53".to_string()),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("address-data")),
            "{lines:?}"
        );
        let j = settings_json(&s);
        assert_eq!(j["ipv4"]["dns"], serde_json::json!(["10.0.0.53"]));
    }

    #[test]
    fn lines_put_connection_first_and_expand_dictionaries() {
        let mut s = office();
        set(
            &mut s,
            "ipv4",
            "dns",
            Variant::from(vec!["10.0.0.53".to_owned(), "10.0.0.54".to_owned()]),
        );
        set(
            &mut s,
            "802-11-wireless",
            "ssid",
            Variant::from(&b"home"[..]),
        );
        set(&mut s, "x", "raw", Variant::from(&[0u8, 1, 255][..]));
        set_map(&mut s, "x", "empty", BTreeMap::new());
        let lines: Vec<String> = settings_lines(&s)
            .into_iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        assert_eq!(
            lines,
            [
                "connection.id = office",
                "connection.netns-isolate = true",
                "connection.netns-name = vpn1",
                "connection.netns-timeout = 5000",
                "connection.type = vpn",
                "802-11-wireless.ssid = home",
                "ipv4.dns = 10.0.0.53,10.0.0.54",
                "vpn.data.connection-type = tls",
                "vpn.data.remote = 203.0.113.1:1194",
                "vpn.secrets.cert-pass = s3cret",
                "vpn.service-type = org.freedesktop.NetworkManager.openvpn",
                "x.empty = ",
                "x.raw = 0001ff",
            ]
        );
    }

    #[test]
    fn json_keeps_types() {
        let mut s = office();
        set(&mut s, "ipv4", "dns", Variant::from(vec!["a".to_owned()]));
        set(&mut s, "ipv4", "route-metric", Variant::from(-1i64));
        let j = settings_json(&s);
        assert_eq!(j["connection"]["netns-isolate"], Value::from(true));
        assert_eq!(j["connection"]["netns-timeout"], Value::from(5000));
        assert_eq!(j["vpn"]["data"]["remote"], Value::from("203.0.113.1:1194"));
        assert_eq!(j["ipv4"]["dns"], serde_json::json!(["a"]));
        assert_eq!(j["ipv4"]["route-metric"], Value::from(-1));
    }

    #[test]
    fn secrets_are_merged_for_show() {
        let mut s = office();
        s.get_mut("vpn").unwrap().remove("secrets");
        let mut secrets = Settings::new();
        set_map(
            &mut secrets,
            "vpn",
            "secrets",
            BTreeMap::from([("password".to_owned(), "pw".to_owned())]),
        );
        secrets.insert("empty".into(), HashMap::new());
        merge_secrets(&mut s, secrets);
        assert_eq!(get_map(&s, "vpn", "secrets")["password"], "pw");
        assert!(!s.contains_key("empty"));
    }
}
