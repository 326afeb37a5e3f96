//! Values to and from D-Bus variants.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use netnsd_api::Error;
use zbus::wire::{OwnedVariant, Variant};

use super::Value;
use super::schema::{self, Kind};

fn owned(v: Variant<'static>) -> OwnedVariant {
    // Only variants holding file descriptors fail to convert.
    OwnedVariant::try_from(v).expect("a variant without file descriptors")
}

pub(crate) fn to_variant(v: &Value) -> OwnedVariant {
    match v {
        Value::Str(s) => owned(Variant::from(s.clone())),
        Value::Bool(b) => OwnedVariant::from(*b),
        Value::I32(n) => OwnedVariant::from(*n),
        Value::U32(n) => OwnedVariant::from(*n),
        Value::I64(n) => OwnedVariant::from(*n),
        Value::U64(n) => OwnedVariant::from(*n),
        Value::StrList(l) => owned(Variant::from(l.clone())),
        Value::StrMap(m) => OwnedVariant::from(m.clone()),
        Value::Bytes(b) => owned(Variant::from(b.clone())),
    }
}

fn bad(setting: &str, key: &str, problem: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{setting}.{key}: {problem}"))
}

/// The value of `setting.key` from a D-Bus variant: strings, booleans,
/// 32- and 64-bit integers, string arrays, byte arrays and (for vpn.data and
/// vpn.secrets) string dictionaries. A known key must have its own type;
/// ipv4.dns and ipv6.dns are also accepted in NetworkManager's older forms
/// (`au` in network byte order, `aay`).
pub(crate) fn from_variant(setting: &str, key: &str, v: &Variant<'_>) -> Result<Value, Error> {
    let kind = schema::kind(setting, key);
    let sig = v.value_signature().to_string();
    let unsupported = || {
        let what = match kind {
            Some(k) => format!(
                "must be {}, not of type {sig}",
                schema::expectation(setting, key, k)
            ),
            None => format!(
                "values of D-Bus type {sig} are not supported (use s, b, i, u, x, t, as or ay)"
            ),
        };
        bad(setting, key, what)
    };
    let value = match v {
        Variant::Str(s) => Value::Str(s.to_string()),
        Variant::Bool(b) => Value::Bool(*b),
        Variant::I32(n) => Value::I32(*n),
        Variant::U32(n) => Value::U32(*n),
        Variant::I64(n) => Value::I64(*n),
        Variant::U64(n) => Value::U64(*n),
        Variant::Array(a) => match sig.as_str() {
            "as" => Value::StrList(
                a.inner()
                    .iter()
                    .map(|e| match e {
                        Variant::Str(s) => s.to_string(),
                        _ => unreachable!("an array of signature as holds strings"),
                    })
                    .collect(),
            ),
            "ay" => Value::Bytes(
                a.inner()
                    .iter()
                    .map(|e| match e {
                        Variant::U8(b) => *b,
                        _ => unreachable!("an array of signature ay holds bytes"),
                    })
                    .collect(),
            ),
            "au" if setting == "ipv4" && key == "dns" => Value::StrList(
                a.inner()
                    .iter()
                    .map(|e| match e {
                        Variant::U32(n) => Ipv4Addr::from(n.to_ne_bytes()).to_string(),
                        _ => unreachable!("an array of signature au holds uint32s"),
                    })
                    .collect(),
            ),
            "aay" if setting == "ipv6" && key == "dns" => {
                let mut l = Vec::new();
                for e in a.inner() {
                    let bytes: Vec<u8> = match e {
                        Variant::Array(b) => b
                            .inner()
                            .iter()
                            .map(|x| match x {
                                Variant::U8(b) => *b,
                                _ => unreachable!("an array of signature ay holds bytes"),
                            })
                            .collect(),
                        _ => unreachable!("an array of signature aay holds arrays"),
                    };
                    let octets: [u8; 16] = bytes.try_into().map_err(|b: Vec<u8>| {
                        bad(
                            setting,
                            key,
                            format!("an IPv6 address has 16 bytes, not {}", b.len()),
                        )
                    })?;
                    l.push(Ipv6Addr::from(octets).to_string());
                }
                Value::StrList(l)
            }
            _ => return Err(unsupported()),
        },
        Variant::Dict(d) if sig == "a{ss}" => {
            let mut m = BTreeMap::new();
            for (k, v) in d.iter() {
                match (k, v) {
                    (Variant::Str(k), Variant::Str(v)) => {
                        m.insert(k.to_string(), v.to_string());
                    }
                    _ => unreachable!("a dictionary of signature a{{ss}} holds strings"),
                }
            }
            Value::StrMap(m)
        }
        _ => return Err(unsupported()),
    };
    match kind {
        Some(k) if k != Kind::of(&value) => Err(unsupported()),
        None if matches!(value, Value::StrMap(_)) => Err(bad(
            setting,
            key,
            "string dictionaries are only supported for vpn.data and vpn.secrets",
        )),
        _ => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(setting: &str, key: &str, v: Value) {
        let ov = to_variant(&v);
        assert_eq!(
            ov.value_signature().to_string(),
            Kind::of(&v).signature(),
            "{v:?}"
        );
        assert_eq!(from_variant(setting, key, &ov).unwrap(), v);
    }

    #[test]
    fn round_trips() {
        round("connection", "id", Value::Str("office".into()));
        round("connection", "autoconnect", Value::Bool(false));
        round("connection", "netns-timeout", Value::I32(2500));
        round("vpn", "timeout", Value::U32(60));
        round("ipv4", "route-metric", Value::I64(-1));
        round("connection", "timestamp", Value::U64(1_700_000_000));
        round(
            "ipv4",
            "dns",
            Value::StrList(vec!["10.8.0.1".into(), "1.1.1.1".into()]),
        );
        round("connection", "permissions", Value::StrList(vec![]));
        let mut m = BTreeMap::new();
        m.insert("remote".to_string(), "vpn.example.com:1194".to_string());
        round("vpn", "data", Value::StrMap(m));
        round("vpn", "secrets", Value::StrMap(BTreeMap::new()));
        round("802-11-wireless", "ssid", Value::Bytes(b"cafe;1".to_vec()));
        round("x-other", "blob", Value::Bytes(vec![0, 255]));
        round("x-other", "n", Value::U32(7));
    }

    #[test]
    fn known_keys_keep_their_type() {
        let e = from_variant("connection", "autoconnect", &Variant::from("yes")).unwrap_err();
        assert_eq!(
            e.message(),
            "connection.autoconnect: must be a boolean (b), not of type s"
        );
        let e = from_variant("vpn", "data", &Variant::from(vec!["a".to_string()])).unwrap_err();
        assert!(
            e.message()
                .starts_with("vpn.data: must be a string-to-string dictionary")
        );
    }

    #[test]
    fn unknown_keys_of_unsupported_types() {
        let v = Variant::from((1u32, 2u32));
        let e = from_variant("ipv4", "address-data", &v).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)));
        assert!(
            e.message()
                .starts_with("ipv4.address-data: values of D-Bus type (uu)"),
            "{}",
            e.message()
        );
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), "b".to_string());
        let e = from_variant("bond", "options", &Variant::from(m)).unwrap_err();
        assert!(e.message().contains("only supported for vpn.data"));
    }

    #[test]
    fn networkmanager_dns_forms() {
        let v = Variant::from(vec![u32::from_ne_bytes([10, 8, 0, 1])]);
        assert_eq!(
            from_variant("ipv4", "dns", &v).unwrap(),
            Value::StrList(vec!["10.8.0.1".into()])
        );
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[15] = 1;
        let v = Variant::from(vec![a.to_vec()]);
        assert_eq!(
            from_variant("ipv6", "dns", &v).unwrap(),
            Value::StrList(vec!["fd00::1".into()])
        );
        let v = Variant::from(vec![vec![1u8, 2]]);
        assert!(from_variant("ipv6", "dns", &v).is_err());
    }
}
