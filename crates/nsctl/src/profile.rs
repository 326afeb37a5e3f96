//! Connection profiles as nsctl reads, shows and changes them: NetworkManager's
//! `a{sa{sv}}` dictionaries (setting → key → value), turned into
//! `setting.key = value` lines and JSON, built for AddConnection, and changed
//! key by key for Update.
//!
//! The daemon checks every key and value and is the authority; nsctl only
//! puts them together.

use std::collections::{BTreeMap, HashMap};

use netnsd_api::proxy::SettingsDict;
use serde::Serialize;
use serde_json::Value;
use zbus::wire::{OwnedVariant, Variant};

use crate::cli::{
    KeyValue, NetnsKeysOpts, WireGuardOpts, is_wg_key, vpn_service_type, vpn_type_name,
};
use crate::error::{CliError, Kind};

/// A profile's settings as GetSettings gives them and Update takes them.
pub type Settings = SettingsDict;

/// connection.netns-timeout when the profile does not set it (DESIGN.md).
pub const DEFAULT_NETNS_TIMEOUT_MS: i32 = 2000;

/// A variant made owned. Only file descriptors can make that fail, and
/// profiles hold none.
pub fn owned(v: Variant<'_>) -> OwnedVariant {
    v.try_into_owned()
        .expect("a profile value holds no file descriptor")
}

fn key<'a>(s: &'a Settings, setting: &str, key: &str) -> Option<&'a Variant<'static>> {
    s.get(setting)?.get(key).map(|v| &**v)
}

/// A string key, if the profile has it as a string.
pub fn get_str(s: &Settings, setting: &str, k: &str) -> Option<String> {
    match key(s, setting, k)? {
        Variant::Str(v) => Some(v.as_str().to_owned()),
        _ => None,
    }
}

fn get_bool(s: &Settings, setting: &str, k: &str) -> Option<bool> {
    match key(s, setting, k)? {
        Variant::Bool(b) => Some(*b),
        _ => None,
    }
}

fn get_i32(s: &Settings, setting: &str, k: &str) -> Option<i32> {
    match key(s, setting, k)? {
        Variant::I32(n) => Some(*n),
        _ => None,
    }
}

/// A string-to-string dictionary key (vpn.data, vpn.secrets); empty if absent.
pub fn get_map(s: &Settings, setting: &str, k: &str) -> BTreeMap<String, String> {
    let Some(Variant::Dict(d)) = key(s, setting, k) else {
        return BTreeMap::new();
    };
    d.iter()
        .filter_map(|(k, v)| match (k, strip(v)) {
            (Variant::Str(k), Variant::Str(v)) => {
                Some((k.as_str().to_owned(), v.as_str().to_owned()))
            }
            _ => None,
        })
        .collect()
}

/// A variant inside a variant, unwrapped.
fn strip<'a>(v: &'a Variant<'a>) -> &'a Variant<'a> {
    match v {
        Variant::Variant(inner) => strip(inner),
        other => other,
    }
}

fn set(s: &mut Settings, setting: &str, k: &str, v: Variant<'_>) {
    s.entry(setting.to_owned())
        .or_default()
        .insert(k.to_owned(), owned(v));
}

fn set_map(s: &mut Settings, setting: &str, k: &str, map: BTreeMap<String, String>) {
    let map: HashMap<String, String> = map.into_iter().collect();
    set(s, setting, k, Variant::from(map));
}

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

/// A profile as JSON: `{"setting": {"key": value}}`.
pub fn settings_json(s: &Settings) -> Value {
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

/// Sets the namespace keys that were given (the others keep their values,
/// or netnsd's defaults).
pub fn set_netns_keys(
    s: &mut Settings,
    isolate: Option<bool>,
    name: Option<&str>,
    persistent: Option<bool>,
    timeout: Option<i32>,
) {
    if let Some(b) = isolate {
        set(s, "connection", "netns-isolate", Variant::from(b));
    }
    if let Some(n) = name {
        set(s, "connection", "netns-name", Variant::from(n));
    }
    if let Some(b) = persistent {
        set(s, "connection", "netns-persistent", Variant::from(b));
    }
    if let Some(t) = timeout {
        set(s, "connection", "netns-timeout", Variant::from(t));
    }
}

/// The namespace keys of `connection add` and `connection import`: the
/// flags only when given, since false is the default.
pub fn apply_netns_opts(s: &mut Settings, o: &NetnsKeysOpts) {
    set_netns_keys(
        s,
        o.isolate.then_some(true),
        o.netns_name.as_deref(),
        o.persistent.then_some(true),
        o.timeout,
    );
}

/// The profile of `connection add`: a VPN of plugin `vpn_type` with the
/// given data and secrets (secrets already read).
pub fn new_vpn(
    id: &str,
    vpn_type: &str,
    netns: &NetnsKeysOpts,
    data: &[KeyValue],
    secrets: &[KeyValue],
) -> Settings {
    let mut s = Settings::new();
    set(&mut s, "connection", "id", Variant::from(id));
    set(&mut s, "connection", "type", Variant::from("vpn"));
    apply_netns_opts(&mut s, netns);
    set(
        &mut s,
        "vpn",
        "service-type",
        Variant::from(vpn_service_type(vpn_type)),
    );
    set_map(&mut s, "vpn", "data", to_map(data));
    if !secrets.is_empty() {
        set_map(&mut s, "vpn", "secrets", to_map(secrets));
    }
    s
}

/// The profile of `connection add --type wireguard`, as NetworkManager
/// has one: `[wireguard]` with the private key (a secret, already read),
/// a `wireguard-peer.PUBLIC-KEY` setting per peer, the addresses, name
/// servers and search domains in `ipv4`/`ipv6`.
pub fn new_wireguard(
    id: &str,
    netns: &NetnsKeysOpts,
    wg: &WireGuardOpts,
    secrets: &[KeyValue],
) -> Result<Settings, CliError> {
    let invalid = |m: String| CliError::new(Kind::InvalidArgument, m);
    let mut s = Settings::new();
    set(&mut s, "connection", "id", Variant::from(id));
    set(&mut s, "connection", "type", Variant::from("wireguard"));
    apply_netns_opts(&mut s, netns);
    if wg.peer.is_empty() {
        return Err(invalid(
            "a WireGuard profile needs a peer: give --peer \"PUBLIC-KEY endpoint=HOST:PORT \
             allowed-ips=CIDR\""
                .into(),
        ));
    }
    let mut private_key = None;
    let mut psks: BTreeMap<String, String> = BTreeMap::new();
    for kv in secrets {
        match kv.key.as_str() {
            "private-key" => private_key = Some(kv.value.trim().to_owned()),
            "preshared-key" if wg.peer.len() == 1 => {
                psks.insert(wg.peer[0].public_key.clone(), kv.value.trim().to_owned());
            }
            "preshared-key" => {
                return Err(invalid(
                    "with several peers, name the peer: --secret preshared-key.PUBLIC-KEY=-".into(),
                ));
            }
            k => match k.strip_prefix("preshared-key.") {
                Some(pk) if wg.peer.iter().any(|p| p.public_key == pk) => {
                    psks.insert(pk.to_owned(), kv.value.trim().to_owned());
                }
                Some(pk) => return Err(invalid(format!("--secret {k}: no --peer {pk}"))),
                None => {
                    return Err(invalid(format!(
                        "--secret {k}: a WireGuard profile's secrets are private-key and \
                         preshared-key"
                    )));
                }
            },
        }
    }
    for (what, v) in private_key
        .iter()
        .map(|k| ("private-key", k))
        .chain(psks.values().map(|k| ("preshared-key", k)))
    {
        if !is_wg_key(v) {
            return Err(invalid(format!(
                "--secret {what}: not a WireGuard key (44 characters of base64, as wg genkey \
                 prints it)"
            )));
        }
    }
    let private_key = private_key.ok_or_else(|| {
        invalid(
            "a WireGuard profile needs its private key: --secret private-key=- (read from \
             stdin)"
                .into(),
        )
    })?;
    set(
        &mut s,
        "wireguard",
        "private-key",
        Variant::from(private_key),
    );
    set(
        &mut s,
        "wireguard",
        "private-key-flags",
        Variant::from(0u32),
    );
    if let Some(p) = wg.listen_port {
        set(
            &mut s,
            "wireguard",
            "listen-port",
            Variant::from(u32::from(p)),
        );
    }
    if let Some(m) = wg.mtu {
        set(&mut s, "wireguard", "mtu", Variant::from(m));
    }
    for p in &wg.peer {
        let setting = format!("wireguard-peer.{}", p.public_key);
        if s.contains_key(&setting) {
            return Err(invalid(format!("--peer {} is given twice", p.public_key)));
        }
        s.insert(setting.clone(), HashMap::new());
        if let Some(e) = &p.endpoint {
            set(&mut s, &setting, "endpoint", Variant::from(e.as_str()));
        }
        if !p.allowed_ips.is_empty() {
            set(
                &mut s,
                &setting,
                "allowed-ips",
                Variant::from(p.allowed_ips.clone()),
            );
        }
        if let Some(k) = p.persistent_keepalive {
            set(&mut s, &setting, "persistent-keepalive", Variant::from(k));
        }
        if let Some(psk) = psks.get(&p.public_key) {
            set(
                &mut s,
                &setting,
                "preshared-key",
                Variant::from(psk.as_str()),
            );
            set(&mut s, &setting, "preshared-key-flags", Variant::from(0u32));
        }
    }
    if wg.address.is_empty() {
        return Err(invalid(
            "a WireGuard profile needs the tunnel's address: --address CIDR".into(),
        ));
    }
    let mut counts = [0usize; 2];
    for a in &wg.address {
        let ip = a.split('/').next().unwrap_or_default();
        let v6 = match ip.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.is_ipv6(),
            Err(_) => return Err(invalid(format!("--address {a}: not an IP address or CIDR"))),
        };
        let i = usize::from(v6);
        counts[i] += 1;
        let family = ["ipv4", "ipv6"][i];
        set(
            &mut s,
            family,
            &format!("address{}", counts[i]),
            Variant::from(a.as_str()),
        );
    }
    for (i, family) in ["ipv4", "ipv6"].into_iter().enumerate() {
        let method = match (counts[i], i) {
            (0, 0) => "disabled",
            (0, _) => "ignore",
            _ => "manual",
        };
        set(&mut s, family, "method", Variant::from(method));
        let dns: Vec<String> = wg
            .dns
            .iter()
            .filter(|d| usize::from(d.is_ipv6()) == i)
            .map(ToString::to_string)
            .collect();
        if !dns.is_empty() {
            set(&mut s, family, "dns", Variant::from(dns));
        }
    }
    if !wg.dns_search.is_empty() {
        set(
            &mut s,
            "ipv4",
            "dns-search",
            Variant::from(wg.dns_search.clone()),
        );
    }
    Ok(s)
}

fn to_map(items: &[KeyValue]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect()
}

/// `connection modify --data/--remove-data/--secret`: changes vpn.data
/// items and vpn.secrets items of a VPN profile. `secrets` must hold the
/// profile's current secrets when items are added to them (Update replaces
/// all secrets when it is given any).
pub fn change_vpn_items(
    s: &mut Settings,
    data: &[KeyValue],
    remove: &[String],
    new_secrets: &[KeyValue],
) -> Result<(), CliError> {
    if data.is_empty() && remove.is_empty() && new_secrets.is_empty() {
        return Ok(());
    }
    if !s.contains_key("vpn") {
        let id = get_str(s, "connection", "id").unwrap_or_default();
        return Err(CliError::new(
            Kind::InvalidArgument,
            format!("{id:?} is not a VPN profile: it has no vpn.data or vpn.secrets"),
        ));
    }
    if !data.is_empty() || !remove.is_empty() {
        let mut map = get_map(s, "vpn", "data");
        for k in remove {
            if map.remove(k).is_none() {
                return Err(CliError::new(
                    Kind::NotFound,
                    format!("the profile has no vpn.data item {k:?}"),
                ));
            }
        }
        map.extend(to_map(data));
        set_map(s, "vpn", "data", map);
    }
    if !new_secrets.is_empty() {
        let mut map = get_map(s, "vpn", "secrets");
        map.extend(to_map(new_secrets));
        set_map(s, "vpn", "secrets", map);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: v.into(),
        }
    }

    fn office() -> Settings {
        let netns = NetnsKeysOpts {
            isolate: true,
            netns_name: Some("vpn1".into()),
            persistent: false,
            timeout: Some(5000),
        };
        new_vpn(
            "office",
            "openvpn",
            &netns,
            &[
                kv("remote", "203.0.113.1:1194"),
                kv("connection-type", "tls"),
            ],
            &[kv("cert-pass", "s3cret")],
        )
    }

    #[test]
    fn a_new_vpn_has_the_keys_asked_for_with_their_types() {
        let s = office();
        let keys = |setting: &str| {
            let mut k: Vec<String> = s[setting].keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys("connection"),
            ["id", "netns-isolate", "netns-name", "netns-timeout", "type"]
        );
        assert_eq!(keys("vpn"), ["data", "secrets", "service-type"]);
        assert_eq!(*s["connection"]["netns-isolate"], Variant::from(true));
        assert_eq!(*s["connection"]["netns-timeout"], Variant::from(5000i32));
        assert_eq!(
            s["connection"]["netns-timeout"]
                .value_signature()
                .to_string(),
            "i"
        );
        assert_eq!(s["vpn"]["data"].value_signature().to_string(), "a{ss}");
        assert_eq!(
            get_str(&s, "vpn", "service-type").as_deref(),
            Some("org.freedesktop.NetworkManager.openvpn")
        );
        assert_eq!(
            get_map(&s, "vpn", "data"),
            BTreeMap::from([
                ("connection-type".to_owned(), "tls".to_owned()),
                ("remote".to_owned(), "203.0.113.1:1194".to_owned()),
            ])
        );
        // Nothing given, nothing sent: netnsd's defaults apply.
        let plain = new_vpn("x", "openvpn", &NetnsKeysOpts::default(), &[], &[]);
        assert_eq!(plain["connection"].len(), 2);
        assert!(!plain["vpn"].contains_key("secrets"));
    }

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
    fn modify_changes_only_what_was_asked() {
        let mut s = office();
        set_netns_keys(&mut s, Some(false), None, Some(true), None);
        assert_eq!(*s["connection"]["netns-isolate"], Variant::from(false));
        assert_eq!(*s["connection"]["netns-persistent"], Variant::from(true));
        assert_eq!(
            get_str(&s, "connection", "netns-name").as_deref(),
            Some("vpn1")
        );

        change_vpn_items(
            &mut s,
            &[kv("port", "1195"), kv("remote", "vpn.example")],
            &["connection-type".into()],
            &[kv("password", "pw")],
        )
        .unwrap();
        assert_eq!(
            get_map(&s, "vpn", "data"),
            BTreeMap::from([
                ("port".to_owned(), "1195".to_owned()),
                ("remote".to_owned(), "vpn.example".to_owned()),
            ])
        );
        assert_eq!(get_map(&s, "vpn", "secrets").len(), 2);

        let e = change_vpn_items(&mut s, &[], &["nope".into()], &[]).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let mut eth = Settings::new();
        set(&mut eth, "connection", "id", Variant::from("lan"));
        let e = change_vpn_items(&mut eth, &[kv("a", "b")], &[], &[]).unwrap_err();
        assert_eq!(e.exit_code(), 6);
        assert!(change_vpn_items(&mut eth, &[], &[], &[]).is_ok());
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

    const PEER: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    const PEER2: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
    const KEY: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

    fn wg_opts(peers: &[&str]) -> WireGuardOpts {
        WireGuardOpts {
            address: vec!["10.66.0.2/24".into(), "fd00::2/64".into()],
            dns: vec!["10.99.0.53".parse().unwrap()],
            dns_search: vec!["corp.test".into()],
            listen_port: Some(51821),
            mtu: None,
            peer: peers
                .iter()
                .map(|p| crate::cli::parse_wg_peer(p).unwrap())
                .collect(),
        }
    }

    #[test]
    fn a_new_wireguard_profile_is_networkmanagers() {
        let peer = format!(
            "{PEER} endpoint=203.0.113.1:51820 allowed-ips=0.0.0.0/0 persistent-keepalive=25"
        );
        let s = new_wireguard(
            "wg",
            &NetnsKeysOpts {
                isolate: true,
                ..Default::default()
            },
            &wg_opts(&[&peer]),
            &[kv("private-key", KEY), kv("preshared-key", PEER2)],
        )
        .unwrap();
        assert_eq!(
            get_str(&s, "connection", "type").as_deref(),
            Some("wireguard")
        );
        assert_eq!(*s["connection"]["netns-isolate"], Variant::from(true));
        assert_eq!(
            get_str(&s, "wireguard", "private-key").as_deref(),
            Some(KEY)
        );
        assert_eq!(*s["wireguard"]["listen-port"], Variant::from(51821u32));
        let ps = format!("wireguard-peer.{PEER}");
        assert_eq!(
            get_str(&s, &ps, "endpoint").as_deref(),
            Some("203.0.113.1:51820")
        );
        assert_eq!(s[&ps]["allowed-ips"].value_signature().to_string(), "as");
        assert_eq!(*s[&ps]["persistent-keepalive"], Variant::from(25u32));
        assert_eq!(get_str(&s, &ps, "preshared-key").as_deref(), Some(PEER2));
        assert_eq!(
            get_str(&s, "ipv4", "address1").as_deref(),
            Some("10.66.0.2/24")
        );
        assert_eq!(
            get_str(&s, "ipv6", "address1").as_deref(),
            Some("fd00::2/64")
        );
        assert_eq!(get_str(&s, "ipv4", "method").as_deref(), Some("manual"));
        assert_eq!(s["ipv4"]["dns"].value_signature().to_string(), "as");
        assert!(!s["ipv6"].contains_key("dns"));
        assert_eq!(s["ipv4"]["dns-search"].value_signature().to_string(), "as");
    }

    #[test]
    fn a_wireguard_profile_needs_its_key_peer_and_address() {
        let peer = format!("{PEER} endpoint=203.0.113.1:51820");
        let err = |o: &WireGuardOpts, secrets: &[KeyValue]| {
            let e = new_wireguard("wg", &NetnsKeysOpts::default(), o, secrets).unwrap_err();
            assert_eq!(e.exit_code(), 6);
            e.to_string()
        };
        let key = [kv("private-key", KEY)];
        assert!(err(&wg_opts(&[&peer]), &[]).contains("private-key=-"));
        assert!(err(&wg_opts(&[]), &key).contains("--peer"));
        let mut no_addr = wg_opts(&[&peer]);
        no_addr.address.clear();
        assert!(err(&no_addr, &key).contains("--address"));
        assert!(
            err(&wg_opts(&[&peer]), &[kv("private-key", "short")]).contains("not a WireGuard key")
        );
        assert!(
            err(
                &wg_opts(&[&peer]),
                &[kv("private-key", KEY), kv("password", "x")]
            )
            .contains("private-key and preshared-key")
        );
        // With two peers, a preshared key names its peer.
        let two = wg_opts(&[&peer, PEER2]);
        assert!(
            err(&two, &[kv("private-key", KEY), kv("preshared-key", KEY)])
                .contains("preshared-key.PUBLIC-KEY")
        );
        let s = new_wireguard(
            "wg",
            &NetnsKeysOpts::default(),
            &two,
            &[
                kv("private-key", KEY),
                kv(&format!("preshared-key.{PEER2}"), KEY),
            ],
        )
        .unwrap();
        assert!(!s[&format!("wireguard-peer.{PEER}")].contains_key("preshared-key"));
        assert_eq!(
            get_str(&s, &format!("wireguard-peer.{PEER2}"), "preshared-key").as_deref(),
            Some(KEY)
        );
    }
}
