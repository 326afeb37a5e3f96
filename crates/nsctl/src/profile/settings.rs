//! A profile's settings as GetSettings gives them and Update takes them
//! (NetworkManager's `a{sa{sv}}`: setting → key → value), and the typed
//! reads and writes of one key.

use std::collections::{BTreeMap, HashMap};

use netnsd_api::proxy::SettingsDict;
use zbus::wire::{OwnedVariant, Variant};

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

pub(super) fn key<'a>(s: &'a Settings, setting: &str, key: &str) -> Option<&'a Variant<'static>> {
    s.get(setting)?.get(key).map(|v| &**v)
}

/// A string key, if the profile has it as a string.
pub fn get_str(s: &Settings, setting: &str, k: &str) -> Option<String> {
    match key(s, setting, k)? {
        Variant::Str(v) => Some(v.as_str().to_owned()),
        _ => None,
    }
}

pub(super) fn get_bool(s: &Settings, setting: &str, k: &str) -> Option<bool> {
    match key(s, setting, k)? {
        Variant::Bool(b) => Some(*b),
        _ => None,
    }
}

pub(super) fn get_i32(s: &Settings, setting: &str, k: &str) -> Option<i32> {
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
pub(super) fn strip<'a>(v: &'a Variant<'a>) -> &'a Variant<'a> {
    match v {
        Variant::Variant(inner) => strip(inner),
        other => other,
    }
}

pub(super) fn set(s: &mut Settings, setting: &str, k: &str, v: Variant<'_>) {
    s.entry(setting.to_owned())
        .or_default()
        .insert(k.to_owned(), owned(v));
}

pub(super) fn set_map(s: &mut Settings, setting: &str, k: &str, map: BTreeMap<String, String>) {
    let map: HashMap<String, String> = map.into_iter().collect();
    set(s, setting, k, Variant::from(map));
}
