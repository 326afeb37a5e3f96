//! Profiles built and changed from the command line: `connection add` (a
//! VPN of a NetworkManager plugin, or WireGuard as NetworkManager has it),
//! `connection import`'s namespace keys, and `connection modify` key by key.

use std::collections::{BTreeMap, HashMap};

use zbus::wire::Variant;

use super::settings::{Settings, get_map, get_str, set, set_map};
use crate::cli::{KeyValue, NetnsKeysOpts, WireGuardOpts, is_wg_key, vpn_service_type};
use crate::error::{CliError, Kind};

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
pub(crate) mod tests {
    use super::*;

    pub(crate) fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: v.into(),
        }
    }

    pub(crate) fn office() -> Settings {
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
