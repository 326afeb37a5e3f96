//! Connection profiles, as NetworkManager has them: `a{sa{sv}}` dictionaries
//! on the bus (setting name → key → value) and keyfiles on disk
//! (`/etc/netnsd/connections/*.nmconnection`).
//!
//! A [`Profile`] is always valid: it has a `connection` setting with an id,
//! a uuid and a type, a vpn profile has a `vpn.service-type`, the keys netnsd
//! knows have their own types, and the namespace keys of the `connection`
//! setting (see DESIGN.md) are in range:
//!
//! | key | type | default |
//! |---|---|---|
//! | netns-isolate | bool | false |
//! | netns-persistent | bool | false |
//! | netns-name | string | `uuid` (also `name`, or a namespace name) |
//! | netns-timeout | int32 ms, not negative; 0 means the default | 2000 |
//!
//! Keys netnsd does not know are carried as they are: from the bus with
//! their D-Bus type (s, b, i, u, x, t, as or ay), from a keyfile as strings
//! (a keyfile does not record types), and written back unchanged.
//!
//! Everything here is pure: no D-Bus objects, and no files but the
//! [`Store`]'s, [`Imported::place_files`] and those an imported
//! configuration names (read as the caller: [`caller`]).

pub mod caller;
pub mod ipgroup;
pub(crate) mod keyfile;
mod nmforms;
mod ovpn;
mod schema;
mod store;
mod uuid;
pub mod wgkey;
pub mod wgquick;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use netnsd_api::Error;
use zbus::wire::OwnedVariant;

#[cfg(test)]
pub use ovpn::import_ovpn;
pub use ovpn::{Imported, import_ovpn_as};
pub use schema::is_secret;
pub use store::{KEYFILE_SUFFIX, Store};
pub use uuid::{is_valid_uuid, new_uuid_v4};
pub use wgquick::import_wg_quick;

use schema::{Kind, VPN_PROPERTIES, VPN_SECRETS_GROUP, WIREGUARD_PEER_PREFIX};

/// NetworkManager's connection dictionary: setting name → key → value.
pub type DbusSettings = HashMap<String, HashMap<String, OwnedVariant>>;

/// A profile's settings: setting name → key → value.
pub type Settings = BTreeMap<String, BTreeMap<String, Value>>;

/// connection.netns-timeout when the profile does not set it.
pub const DEFAULT_NETNS_TIMEOUT_MS: i32 = 2000;

/// vpn.service-type of NetworkManager's OpenVPN plugin.
pub const OPENVPN_SERVICE_TYPE: &str = "org.freedesktop.NetworkManager.openvpn";

/// The value of one key. The D-Bus types are s, b, i, u, x, t, as, a{ss}
/// and ay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    StrList(Vec<String>),
    StrMap(BTreeMap<String, String>),
    Bytes(Vec<u8>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value's D-Bus type signature.
    pub fn signature(&self) -> &'static str {
        Kind::of(self).signature()
    }

    /// The value as a D-Bus variant.
    pub fn to_variant(&self) -> OwnedVariant {
        wire::to_variant(self)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::I32(n)
    }
}

/// connection.netns-name: which namespace an isolated connection uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NetnsName {
    /// `uuid`: the connection's uuid.
    #[default]
    Uuid,
    /// `name`: the connection's id, made a valid namespace name.
    Name,
    /// Any other value: that namespace.
    Literal(String),
}

impl NetnsName {
    /// The key's value read: "uuid", "name", or a namespace name (checked
    /// as iproute2 does; the error names the problem).
    pub fn parse(s: &str) -> Result<NetnsName, String> {
        match s {
            "uuid" => Ok(NetnsName::Uuid),
            "name" => Ok(NetnsName::Name),
            _ => {
                netnsd_api::validate::netns_name(s)?;
                Ok(NetnsName::Literal(s.to_string()))
            }
        }
    }

    /// The key's value: "uuid", "name" or the literal name.
    pub fn as_str(&self) -> &str {
        match self {
            NetnsName::Uuid => "uuid",
            NetnsName::Name => "name",
            NetnsName::Literal(s) => s,
        }
    }
}

/// The four namespace keys of the connection setting, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetnsKeys {
    /// Put the connection's device into a namespace of its own.
    pub isolate: bool,
    /// Keep that namespace after the connection goes down.
    pub persistent: bool,
    /// Which namespace.
    pub name: NetnsName,
    /// How long to wait for the device to appear there, in milliseconds.
    pub timeout_ms: i32,
}

impl Default for NetnsKeys {
    fn default() -> Self {
        NetnsKeys {
            isolate: false,
            persistent: false,
            name: NetnsName::Uuid,
            timeout_ms: DEFAULT_NETNS_TIMEOUT_MS,
        }
    }
}

/// A connection's id made a valid namespace name: '/' and NUL become '_',
/// it is cut to 255 bytes (on a character boundary), "." and ".." get a
/// '_' in front.
pub fn netns_name_from_id(id: &str) -> String {
    let mut s: String = id
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    let max = netnsd_api::validate::NETNS_NAME_MAX;
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    if s.is_empty() || s == "." || s == ".." {
        s.insert(0, '_');
    }
    s
}

fn invalid(setting: &str, key: &str, problem: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{setting}.{key}: {problem}"))
}

/// A connection profile: NetworkManager's settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    settings: Settings,
    netns: NetnsKeys,
}

/// Checks and completes settings: names, types of known keys, the
/// connection setting (id, uuid — made when missing — and type), the vpn
/// setting, and the namespace keys, which it returns.
fn validate(
    settings: &mut Settings,
    fallback_id: Option<&str>,
    uuid_seed: Option<&str>,
) -> Result<NetnsKeys, Error> {
    for (name, keys) in settings.iter() {
        if !keyfile::valid_group_name(name) {
            return Err(Error::InvalidArgument(format!(
                "{name:?}: invalid setting name (empty, or with '[', ']' or control characters)"
            )));
        }
        if name == VPN_SECRETS_GROUP {
            return Err(Error::InvalidArgument(format!(
                "{name}: not a setting; VPN secrets go in vpn.secrets"
            )));
        }
        if name.len() == WIREGUARD_PEER_PREFIX.len() && name.starts_with(WIREGUARD_PEER_PREFIX) {
            return Err(Error::InvalidArgument(format!(
                "{name}: a WireGuard peer's setting is named {WIREGUARD_PEER_PREFIX}<public key>"
            )));
        }
        for (key, v) in keys {
            if key.is_empty() {
                return Err(Error::InvalidArgument(format!("{name}: empty key name")));
            }
            if name == "vpn" && schema::kind(name, key).is_none() {
                return Err(invalid(
                    name,
                    key,
                    "not a property of the vpn setting (VPN options go in vpn.data)",
                ));
            }
            match schema::kind(name, key) {
                Some(kind) if kind != Kind::of(v) => {
                    return Err(invalid(
                        name,
                        key,
                        format!(
                            "must be {}, not {}",
                            schema::expectation(name, key, kind),
                            Kind::of(v).describe()
                        ),
                    ));
                }
                None if matches!(v, Value::StrMap(_)) => {
                    return Err(invalid(
                        name,
                        key,
                        "string dictionaries are only supported for vpn.data and vpn.secrets",
                    ));
                }
                _ => {}
            }
        }
    }

    let con = settings
        .get_mut("connection")
        .ok_or_else(|| Error::InvalidArgument("connection: setting missing".into()))?;
    match (con.get("id"), fallback_id) {
        (Some(Value::Str(id)), _) if !id.is_empty() => {}
        (Some(_), _) => return Err(invalid("connection", "id", "empty")),
        (None, Some(f)) if !f.is_empty() => {
            con.insert("id".into(), Value::Str(f.to_string()));
        }
        (None, _) => return Err(invalid("connection", "id", "missing")),
    }
    match con.get("uuid") {
        Some(Value::Str(u)) if is_valid_uuid(u) => {}
        Some(Value::Str(u)) => {
            return Err(invalid(
                "connection",
                "uuid",
                format!("{u:?} is not a valid UUID (8-4-4-4-12 hexadecimal digits)"),
            ));
        }
        _ => {
            let u = uuid_seed.map_or_else(new_uuid_v4, uuid::uuid_from_seed);
            con.insert("uuid".into(), Value::Str(u));
        }
    }
    let kind = match con.get_mut("type") {
        Some(Value::Str(t)) if !t.is_empty() => {
            *t = schema::setting_for_alias(t).to_string();
            if !keyfile::valid_group_name(t) {
                return Err(invalid(
                    "connection",
                    "type",
                    format!("{t:?} is not a setting name"),
                ));
            }
            t.clone()
        }
        _ => return Err(invalid("connection", "type", "missing")),
    };
    let netns = netns_keys(con)?;

    if kind == "vpn" {
        match settings.get("vpn").and_then(|v| v.get("service-type")) {
            Some(Value::Str(s)) if !s.is_empty() => {}
            _ => {
                return Err(invalid(
                    "vpn",
                    "service-type",
                    "missing for a vpn connection",
                ));
            }
        }
    }
    if let Some(vpn) = settings.get("vpn") {
        for which in ["data", "secrets"] {
            let Some(Value::StrMap(m)) = vpn.get(which) else {
                continue;
            };
            for k in m.keys() {
                if k.is_empty() {
                    return Err(invalid("vpn", which, "an item has an empty name"));
                }
                if which == "data" && VPN_PROPERTIES.contains(&k.as_str()) {
                    return Err(invalid(
                        "vpn",
                        which,
                        format!(
                            "item {k:?} has the name of a vpn property and cannot be stored in a keyfile"
                        ),
                    ));
                }
            }
        }
    }
    Ok(netns)
}

fn netns_keys(con: &BTreeMap<String, Value>) -> Result<NetnsKeys, Error> {
    let mut keys = NetnsKeys::default();
    if let Some(v) = con.get("netns-isolate") {
        keys.isolate = v.as_bool().expect("type checked");
    }
    if let Some(v) = con.get("netns-persistent") {
        keys.persistent = v.as_bool().expect("type checked");
    }
    if let Some(v) = con.get("netns-name") {
        keys.name = NetnsName::parse(v.as_str().expect("type checked"))
            .map_err(|e| invalid("connection", "netns-name", e))?;
    }
    if let Some(v) = con.get("netns-timeout") {
        let Value::I32(ms) = v else {
            unreachable!("type checked")
        };
        if *ms < 0 {
            return Err(invalid(
                "connection",
                "netns-timeout",
                format!(
                    "must be {}, not {ms}",
                    schema::expectation("connection", "netns-timeout", Kind::I32)
                ),
            ));
        }
        // As the 2016 prototype (`timeout > 0 ? timeout : default`): 0
        // means the default, so that its profiles behave the same here.
        keys.timeout_ms = if *ms == 0 {
            DEFAULT_NETNS_TIMEOUT_MS
        } else {
            *ms
        };
    }
    Ok(keys)
}

/// One value from the bus, read as `setting.key` is typed (what a secret
/// agent answered, issue 14).
pub fn value_from_dbus(setting: &str, key: &str, v: &OwnedVariant) -> Result<Value, Error> {
    wire::from_variant(setting, key, v)
}

fn settings_from_dbus(d: &DbusSettings) -> Result<Settings, Error> {
    let mut settings = Settings::new();
    let mut peers: Option<Settings> = None;
    for (name, keys) in d {
        let name = schema::setting_for_alias(name).to_string();
        // NetworkManager's bus forms (address-data, wireguard.peers, …)
        // become the keys a keyfile stores.
        let mut keys = keys.clone();
        let has_peers = name == "wireguard" && keys.contains_key("peers");
        let (stored, extra) = nmforms::from_dbus(&name, &mut keys)?;
        let setting = settings.entry(name.clone()).or_default();
        for (key, v) in &keys {
            setting.insert(key.clone(), wire::from_variant(&name, key, v)?);
        }
        setting.extend(stored);
        if has_peers {
            peers = Some(extra);
        }
    }
    if let Some(peers) = peers {
        // wireguard.peers names every peer and says all it has a form for:
        // it replaces the groups. Keys of a peer's group it has no form for
        // (carried, as any key netnsd does not know) stay with that peer, as
        // GetSettings sent them beside it.
        let mut groups = Settings::new();
        settings.retain(|n, keys| {
            if n.starts_with(WIREGUARD_PEER_PREFIX) {
                groups.insert(n.clone(), std::mem::take(keys));
                false
            } else {
                true
            }
        });
        for (name, mut keys) in peers {
            if let Some(group) = groups.remove(&name) {
                for (k, v) in group {
                    if !nmforms::PEER_ITEMS.contains(&k.as_str()) {
                        keys.entry(k).or_insert(v);
                    }
                }
            }
            settings.insert(name, keys);
        }
    }
    Ok(settings)
}

fn has_any_secret(settings: &Settings) -> bool {
    settings.iter().any(|(name, keys)| {
        keys.iter()
            .any(|(k, v)| is_secret(name, k) && !matches!(v, Value::StrMap(m) if m.is_empty()))
    })
}

impl Profile {
    /// A profile from settings, validated; a missing uuid is made.
    pub fn from_settings(settings: Settings) -> Result<Profile, Error> {
        Profile::build(settings, None, None)
    }

    fn build(
        mut settings: Settings,
        fallback_id: Option<&str>,
        uuid_seed: Option<&str>,
    ) -> Result<Profile, Error> {
        let netns = validate(&mut settings, fallback_id, uuid_seed)?;
        Ok(Profile { settings, netns })
    }

    fn str_of(&self, setting: &str, key: &str) -> Option<&str> {
        self.get(setting, key).and_then(Value::as_str)
    }

    /// connection.id
    pub fn id(&self) -> &str {
        self.str_of("connection", "id").expect("validated")
    }

    /// connection.uuid
    pub fn uuid(&self) -> &str {
        self.str_of("connection", "uuid").expect("validated")
    }

    /// connection.type, e.g. "vpn", "wireguard", "802-3-ethernet".
    pub fn kind(&self) -> &str {
        self.str_of("connection", "type").expect("validated")
    }

    /// The namespace keys, defaults filled in.
    pub fn netns(&self) -> &NetnsKeys {
        &self.netns
    }

    /// The namespace the connection uses when isolated: its uuid, its id
    /// made a valid namespace name, or the literal name, after
    /// connection.netns-name.
    pub fn netns_name(&self) -> String {
        match &self.netns.name {
            NetnsName::Uuid => self.uuid().to_string(),
            NetnsName::Name => netns_name_from_id(self.id()),
            NetnsName::Literal(s) => s.clone(),
        }
    }

    /// vpn.service-type
    pub fn vpn_service_type(&self) -> Option<&str> {
        self.str_of("vpn", "service-type")
    }

    fn vpn_map(&self, key: &str) -> BTreeMap<String, String> {
        match self.get("vpn", key) {
            Some(Value::StrMap(m)) => m.clone(),
            _ => BTreeMap::new(),
        }
    }

    /// vpn.data (empty without a vpn setting).
    pub fn vpn_data(&self) -> BTreeMap<String, String> {
        self.vpn_map("data")
    }

    /// vpn.secrets (empty without a vpn setting).
    pub fn vpn_secrets(&self) -> BTreeMap<String, String> {
        self.vpn_map("secrets")
    }

    /// The value of setting.key, if set.
    pub fn get(&self, setting: &str, key: &str) -> Option<&Value> {
        self.settings.get(setting)?.get(key)
    }

    /// All settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn has_setting(&self, setting: &str) -> bool {
        self.settings.contains_key(setting)
    }

    /// Whether any secret is stored (a non-empty vpn.secrets, a password…).
    pub fn has_secrets(&self) -> bool {
        has_any_secret(&self.settings)
    }

    /// Sets setting.key (creating the setting), if the profile stays
    /// valid; the uuid cannot change.
    pub fn set(&mut self, setting: &str, key: &str, value: Value) -> Result<(), Error> {
        if setting == "connection" && key == "uuid" && value.as_str() != Some(self.uuid()) {
            return Err(invalid(
                "connection",
                "uuid",
                format!(
                    "cannot change the uuid of a profile (it is {})",
                    self.uuid()
                ),
            ));
        }
        let mut settings = self.settings.clone();
        settings
            .entry(setting.to_string())
            .or_default()
            .insert(key.to_string(), value);
        *self = Profile::build(settings, None, None)?;
        Ok(())
    }

    /// Removes setting.key, if the profile stays valid; returns the old
    /// value.
    pub fn remove(&mut self, setting: &str, key: &str) -> Result<Option<Value>, Error> {
        if setting == "connection" && key == "uuid" {
            return Err(invalid("connection", "uuid", "cannot be removed"));
        }
        let mut settings = self.settings.clone();
        let old = settings.get_mut(setting).and_then(|s| s.remove(key));
        *self = Profile::build(settings, None, None)?;
        Ok(old)
    }

    /// Sets one vpn.data item (the setting exists in every vpn profile).
    pub(crate) fn set_vpn_data_item(&mut self, key: &str, value: &str) {
        let vpn = self.settings.entry("vpn".into()).or_default();
        match vpn
            .entry("data".into())
            .or_insert_with(|| Value::StrMap(BTreeMap::new()))
        {
            Value::StrMap(m) => {
                m.insert(key.to_string(), value.to_string());
            }
            _ => unreachable!("vpn.data is a dictionary"),
        }
    }

    /// Forgets every secret (NetworkManager's ClearSecrets).
    pub fn clear_secrets(&mut self) {
        for (name, keys) in self.settings.iter_mut() {
            keys.retain(|k, _| !is_secret(name, k));
        }
    }

    /// A profile from the bus (AddConnection): validated, a missing uuid
    /// made. Errors are InvalidArgument naming "setting.key" and the
    /// problem.
    pub fn from_dbus(d: &DbusSettings) -> Result<Profile, Error> {
        Profile::from_settings(settings_from_dbus(d)?)
    }

    /// The profile for the bus (GetSettings): without secrets unless
    /// asked for.
    pub fn to_dbus(&self, with_secrets: bool) -> DbusSettings {
        let mut out: DbusSettings = self
            .settings
            .iter()
            .map(|(name, keys)| {
                let keys = keys
                    .iter()
                    .filter(|(k, _)| with_secrets || !is_secret(name, k))
                    .map(|(k, v)| (k.clone(), wire::to_variant(v)))
                    .collect();
                (name.clone(), keys)
            })
            .collect();
        nmforms::to_dbus(self, &mut out, with_secrets);
        out
    }

    /// GetSecrets(setting): only that setting's secrets (for "wireguard"
    /// also its peers'; for "" every setting's). A setting the profile
    /// does not have gives an empty dictionary.
    pub fn secrets_dbus(&self, setting: &str) -> DbusSettings {
        let wanted = |name: &str| {
            setting.is_empty()
                || name == setting
                || (setting == "wireguard" && name.starts_with(WIREGUARD_PEER_PREFIX))
        };
        let mut out = DbusSettings::new();
        for (name, keys) in &self.settings {
            if !wanted(name) {
                continue;
            }
            let secrets: HashMap<String, OwnedVariant> = keys
                .iter()
                .filter(|(k, _)| is_secret(name, k))
                .map(|(k, v)| (k.clone(), wire::to_variant(v)))
                .collect();
            if name == setting || !secrets.is_empty() {
                out.insert(name.clone(), secrets);
            }
        }
        out
    }

    /// A profile from a NetworkManager keyfile; a missing uuid is made.
    pub fn from_keyfile(text: &str) -> Result<Profile, Error> {
        Profile::build(keyfile::read(text)?, None, None)
    }

    /// A profile from the keyfile at `path`: as NetworkManager does, a
    /// missing id is the file's name without ".nmconnection", and a
    /// missing uuid is derived from the path, so it stays the same.
    pub fn from_keyfile_at(text: &str, path: &Path) -> Result<Profile, Error> {
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
        let id = file
            .as_deref()
            .map(|f| f.strip_suffix(KEYFILE_SUFFIX).unwrap_or(f));
        let seed = path.to_string_lossy();
        Profile::build(keyfile::read(text)?, id, Some(&seed))
    }

    /// The profile as a NetworkManager keyfile, secrets included.
    pub fn to_keyfile(&self) -> String {
        keyfile::write(&self.settings)
    }

    /// NetworkManager's Update: all settings replaced by `d`, which must
    /// make a valid profile. The uuid stays (it may be left out, not
    /// changed); if `d` carries no secrets at all, the current ones are
    /// kept for the settings that remain.
    pub fn update(&mut self, d: &DbusSettings) -> Result<(), Error> {
        let mut new = settings_from_dbus(d)?;
        if let Some(con) = new.get_mut("connection") {
            match con.get("uuid") {
                None => {
                    con.insert("uuid".into(), Value::Str(self.uuid().to_string()));
                }
                Some(Value::Str(u)) if u == self.uuid() => {}
                Some(v) => {
                    return Err(invalid(
                        "connection",
                        "uuid",
                        format!(
                            "cannot change the uuid of a profile (it is {}, not {})",
                            self.uuid(),
                            match v {
                                Value::Str(u) => u.clone(),
                                other => format!("{other:?}"),
                            }
                        ),
                    ));
                }
            }
        }
        if !has_any_secret(&new) {
            for (name, keys) in &self.settings {
                if let Some(target) = new.get_mut(name) {
                    for (k, v) in keys.iter().filter(|(k, _)| is_secret(name, k)) {
                        target.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        *self = Profile::build(new, None, None)?;
        Ok(())
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
