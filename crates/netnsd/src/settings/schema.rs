//! What netnsd knows about NetworkManager's settings: the type of each key
//! it understands, which keys are secrets, and the keyfile's short names
//! for some settings.

use super::Value;

/// The type of a key's value; the D-Bus signature is in [`Kind::signature`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Bool,
    I32,
    U32,
    I64,
    U64,
    StrList,
    StrMap,
    Bytes,
}

impl Kind {
    pub(crate) fn of(v: &Value) -> Kind {
        match v {
            Value::Str(_) => Kind::Str,
            Value::Bool(_) => Kind::Bool,
            Value::I32(_) => Kind::I32,
            Value::U32(_) => Kind::U32,
            Value::I64(_) => Kind::I64,
            Value::U64(_) => Kind::U64,
            Value::StrList(_) => Kind::StrList,
            Value::StrMap(_) => Kind::StrMap,
            Value::Bytes(_) => Kind::Bytes,
        }
    }

    pub(crate) fn signature(self) -> &'static str {
        match self {
            Kind::Str => "s",
            Kind::Bool => "b",
            Kind::I32 => "i",
            Kind::U32 => "u",
            Kind::I64 => "x",
            Kind::U64 => "t",
            Kind::StrList => "as",
            Kind::StrMap => "a{ss}",
            Kind::Bytes => "ay",
        }
    }

    /// "a string (s)", for error messages.
    pub(crate) fn describe(self) -> String {
        let name = match self {
            Kind::Str => "a string",
            Kind::Bool => "a boolean",
            Kind::I32 => "an int32",
            Kind::U32 => "a uint32",
            Kind::I64 => "an int64",
            Kind::U64 => "a uint64",
            Kind::StrList => "a list of strings",
            Kind::StrMap => "a string-to-string dictionary",
            Kind::Bytes => "a byte array",
        };
        format!("{name} ({})", self.signature())
    }
}

/// What a known key must hold, for error messages: "a boolean (b)"; for
/// connection.netns-timeout "a non-negative int32 (i) in milliseconds".
pub(crate) fn expectation(setting: &str, key: &str, kind: Kind) -> String {
    if setting == "connection" && key == "netns-timeout" {
        return "a non-negative int32 (i) in milliseconds".into();
    }
    kind.describe()
}

/// Keys of the `wireguard-peer.<public key>` groups.
pub(crate) const WIREGUARD_PEER_PREFIX: &str = "wireguard-peer.";

/// The keyfile group that holds vpn.secrets.
pub(crate) const VPN_SECRETS_GROUP: &str = "vpn-secrets";

/// The properties of the vpn setting; every other key of a keyfile's
/// `[vpn]` group is a vpn.data item. "name", "data" and "secrets" are
/// properties NetworkManager's reader skips there, so data items of those
/// names cannot be stored in a keyfile.
pub(crate) const VPN_PROPERTIES: &[&str] = &[
    "service-type",
    "user-name",
    "persistent",
    "timeout",
    "data",
    "secrets",
    "name",
];

/// The type of a key netnsd understands, or None for a key it only
/// carries (kept as a string when read from a keyfile).
pub(crate) fn kind(setting: &str, key: &str) -> Option<Kind> {
    use Kind::*;
    let k = match setting {
        "connection" => match key {
            "id" | "uuid" | "type" | "interface-name" | "zone" | "master" | "controller"
            | "slave-type" | "port-type" | "stable-id" | "mud-url" | "netns-name" => Str,
            "autoconnect" | "read-only" | "netns-isolate" | "netns-persistent" => Bool,
            "autoconnect-priority"
            | "autoconnect-retries"
            | "autoconnect-slaves"
            | "autoconnect-ports"
            | "multi-connect"
            | "auth-retries"
            | "metered"
            | "lldp"
            | "mdns"
            | "llmnr"
            | "dns-over-tls"
            | "wait-device-timeout"
            | "wait-activation-delay"
            | "netns-timeout" => I32,
            "gateway-ping-timeout" | "mptcp-flags" => U32,
            "timestamp" => U64,
            "permissions" | "secondaries" => StrList,
            _ => return None,
        },
        "vpn" => match key {
            "service-type" | "user-name" => Str,
            "persistent" => Bool,
            "timeout" => U32,
            "data" | "secrets" => StrMap,
            _ => return None,
        },
        "ipv4" | "ipv6" => match key {
            "method" | "gateway" | "dhcp-hostname" | "dhcp-client-id" | "dhcp-duid" | "token" => {
                Str
            }
            "ignore-auto-dns" | "ignore-auto-routes" | "never-default" | "may-fail" => Bool,
            "dns-priority" | "dhcp-timeout" | "required-timeout" | "dad-timeout"
            | "ip6-privacy" => I32,
            "route-table" => U32,
            "route-metric" => I64,
            "dns" | "dns-search" | "dns-options" => StrList,
            _ => return None,
        },
        "wireguard" => match key {
            "private-key" => Str,
            "peer-routes" => Bool,
            "ip4-auto-default-route" | "ip6-auto-default-route" => I32,
            "private-key-flags" | "listen-port" | "fwmark" | "mtu" => U32,
            _ => return None,
        },
        s if s.starts_with(WIREGUARD_PEER_PREFIX) => match key {
            "endpoint" | "preshared-key" => Str,
            "preshared-key-flags" | "persistent-keepalive" => U32,
            "allowed-ips" => StrList,
            _ => return None,
        },
        "proxy" => match key {
            "pac-url" | "pac-script" => Str,
            "browser-only" => Bool,
            "method" => I32,
            _ => return None,
        },
        "802-11-wireless" => match key {
            "ssid" => Bytes,
            _ => return None,
        },
        "802-1x" => match key {
            "password-raw" => Bytes,
            _ => return None,
        },
        _ => return None,
    };
    Some(k)
}

/// Whether `setting.key` holds a secret: the keys NetworkManager flags as
/// secrets (vpn.secrets, passwords, PSKs, PINs, WEP keys, WireGuard private
/// and preshared keys, MACsec CAK), and any key ending in "password",
/// "psk" or "private-key" (except 802-1x's private-key, which names a key
/// file and is not a secret in NetworkManager either).
pub fn is_secret(setting: &str, key: &str) -> bool {
    if setting == "vpn" {
        return key == "secrets";
    }
    if key.ends_with("private-key") {
        return setting != "802-1x";
    }
    key.ends_with("password")
        || key.ends_with("psk")
        || key.ends_with("pin")
        || matches!(key, "password-raw" | "preshared-key" | "mka-cak")
        || matches!(key, "wep-key0" | "wep-key1" | "wep-key2" | "wep-key3")
}

/// NetworkManager's keyfile names for settings (and connection types).
const ALIASES: &[(&str, &str)] = &[
    ("802-3-ethernet", "ethernet"),
    ("802-11-wireless", "wifi"),
    ("802-11-wireless-security", "wifi-security"),
];

/// The setting a keyfile group (or `type=` value) names.
pub(crate) fn setting_for_alias(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(_, a)| *a == name)
        .map_or(name, |(s, _)| s)
}

/// The keyfile group (or `type=` value) for a setting.
pub(crate) fn alias_for_setting(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(s, _)| *s == name)
        .map_or(name, |(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        for (s, k) in [
            ("vpn", "secrets"),
            ("802-11-wireless-security", "psk"),
            ("802-11-wireless-security", "wep-key2"),
            ("802-11-wireless-security", "leap-password"),
            ("802-1x", "password"),
            ("802-1x", "private-key-password"),
            ("802-1x", "password-raw"),
            ("gsm", "pin"),
            ("wireguard", "private-key"),
            ("wireguard-peer.abc=", "preshared-key"),
            ("macsec", "mka-cak"),
            ("x-unknown", "admin-password"),
        ] {
            assert!(is_secret(s, k), "{s}.{k}");
        }
        for (s, k) in [
            ("vpn", "data"),
            ("vpn", "password"),
            ("vpn", "service-type"),
            ("802-1x", "private-key"),
            ("802-11-wireless-security", "psk-flags"),
            ("802-11-wireless-security", "wep-key-type"),
            ("wireguard", "private-key-flags"),
            ("connection", "id"),
        ] {
            assert!(!is_secret(s, k), "{s}.{k}");
        }
    }

    #[test]
    fn aliases() {
        assert_eq!(setting_for_alias("ethernet"), "802-3-ethernet");
        assert_eq!(setting_for_alias("vpn"), "vpn");
        assert_eq!(alias_for_setting("802-11-wireless"), "wifi");
        assert_eq!(alias_for_setting("ipv4"), "ipv4");
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("connection", "netns-timeout"), Some(Kind::I32));
        assert_eq!(kind("ipv4", "dns"), Some(Kind::StrList));
        assert_eq!(kind("wireguard-peer.x", "allowed-ips"), Some(Kind::StrList));
        assert_eq!(kind("ipv6", "addr-gen-mode"), None);
        assert_eq!(kind("x", "y"), None);
    }
}
