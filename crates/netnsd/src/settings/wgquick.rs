//! Importing a wg-quick configuration (`wg0.conf`) as a NetworkManager
//! `wireguard` profile, the way NetworkManager's importer
//! (`nm_vpn_wireguard_import`) does: `[Interface]` PrivateKey, Address, DNS,
//! ListenPort, MTU and FwMark; `[Peer]` PublicKey, PresharedKey, AllowedIPs,
//! Endpoint and PersistentKeepalive.
//!
//! Table and SaveConfig are wg-quick's own business and are skipped; the
//! hooks (PreUp, PostUp, PreDown, PostDown) are refused, since netnsd never
//! runs them and a configuration that relies on them would silently work
//! differently.

use std::collections::BTreeMap;
use std::net::IpAddr;

use netnsd_api::Error;

use super::schema::WIREGUARD_PEER_PREFIX;
use super::{Profile, Settings, Value, new_uuid_v4};

/// What a line is wrong about, naming it.
fn bad(lineno: usize, line: &str, problem: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("line {lineno} ({:?}): {problem}", line.trim()))
}

/// Whether `s` is a standard base64 encoding of 32 bytes (a WireGuard key).
fn is_key(s: &str) -> bool {
    s.len() == 44 && s.ends_with('=') && !s[..43].ends_with('=') && super::wgkey::key(s).is_ok()
}

/// An address with its prefix (/32 or /128 when it has none), checked.
fn cidr(s: &str, host_prefix: bool) -> Result<(IpAddr, String), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("{s:?}: bad prefix length (0-{max})"))?,
        None if host_prefix => max,
        None => return Err(format!("{s:?} has no prefix length")),
    };
    Ok((ip, format!("{ip}/{prefix}")))
}

fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|x| !x.is_empty())
}

fn number(v: &str, max: u32) -> Result<u32, String> {
    let n = if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else {
        v.parse::<u32>().ok()
    };
    n.filter(|n| *n <= max)
        .ok_or_else(|| format!("{v:?} is not a number (0-{max})"))
}

/// A wg-quick endpoint: host:port, an IPv6 address in brackets.
fn endpoint(v: &str) -> Result<(), String> {
    let (host, port) = match v.strip_prefix('[') {
        Some(rest) => {
            let (h, p) = rest
                .split_once("]:")
                .ok_or_else(|| format!("{v:?}: expected [IPv6]:port"))?;
            h.parse::<std::net::Ipv6Addr>()
                .map_err(|_| format!("{v:?}: {h:?} is not an IPv6 address"))?;
            (h, p)
        }
        None => v
            .rsplit_once(':')
            .ok_or_else(|| format!("{v:?}: expected host:port"))?,
    };
    if host.is_empty() || host.contains(':') && !v.starts_with('[') {
        return Err(format!("{v:?}: expected host:port (IPv6 in brackets)"));
    }
    match port.parse::<u16>() {
        Ok(p) if p != 0 => Ok(()),
        _ => Err(format!("{v:?}: {port:?} is not a port")),
    }
}

#[derive(Default)]
struct Peer {
    public_key: Option<String>,
    keys: BTreeMap<String, Value>,
    line: usize,
}

#[derive(PartialEq)]
enum Section {
    None,
    Interface,
    Peer,
}

/// A wg-quick configuration as a `wireguard` profile named `id`: a new
/// uuid, connection.interface-name `id` when that is a valid interface
/// name, the addresses as ipv4/ipv6.address1..N (method manual, else
/// disabled/ignore), DNS servers in ipv4/ipv6.dns and DNS's other entries
/// in dns-search, the peers as `wireguard-peer.<public key>` settings.
/// Errors are InvalidArgument naming the line.
pub fn import_wg_quick(text: &str, id: &str) -> Result<Profile, Error> {
    if id.is_empty() {
        return Err(Error::InvalidArgument("id is empty".into()));
    }
    let mut section = Section::None;
    let mut seen_interface = false;
    let mut private_key: Option<String> = None;
    let mut wg: BTreeMap<String, Value> = BTreeMap::new();
    let mut addrs: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut dns: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut search: Vec<String> = Vec::new();
    let mut peers: Vec<Peer> = Vec::new();

    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            let name = line
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .map(str::trim)
                .ok_or_else(|| bad(lineno, raw, "malformed section header"))?;
            if name.eq_ignore_ascii_case("interface") {
                if seen_interface {
                    return Err(bad(lineno, raw, "a second [Interface] section"));
                }
                seen_interface = true;
                section = Section::Interface;
            } else if name.eq_ignore_ascii_case("peer") {
                peers.push(Peer {
                    line: lineno,
                    ..Peer::default()
                });
                section = Section::Peer;
            } else {
                return Err(bad(
                    lineno,
                    raw,
                    "unknown section (only [Interface] and [Peer])",
                ));
            }
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| bad(lineno, raw, "expected Key = Value"))?;
        let lkey = key.to_ascii_lowercase();
        match section {
            Section::None => {
                return Err(bad(lineno, raw, "outside of [Interface] or [Peer]"));
            }
            Section::Interface => match lkey.as_str() {
                "privatekey" => {
                    if !is_key(value) {
                        return Err(bad(lineno, raw, "PrivateKey is not a base64 32-byte key"));
                    }
                    private_key = Some(value.to_string());
                }
                "address" => {
                    for a in list(value) {
                        let (ip, c) = cidr(a, true).map_err(|e| bad(lineno, raw, e))?;
                        addrs[usize::from(ip.is_ipv6())].push(c);
                    }
                }
                "dns" => {
                    for d in list(value) {
                        match d.parse::<IpAddr>() {
                            Ok(ip) => dns[usize::from(ip.is_ipv6())].push(ip.to_string()),
                            Err(_) => {
                                if d.chars().any(|c| c.is_whitespace() || c == ';') {
                                    return Err(bad(
                                        lineno,
                                        raw,
                                        format!("{d:?} is neither an IP address nor a domain"),
                                    ));
                                }
                                search.push(d.to_string());
                            }
                        }
                    }
                }
                "listenport" => {
                    let p = number(value, 65535).map_err(|e| bad(lineno, raw, e))?;
                    wg.insert("listen-port".into(), Value::U32(p));
                }
                "mtu" => {
                    let m = number(value, u32::MAX).map_err(|e| bad(lineno, raw, e))?;
                    wg.insert("mtu".into(), Value::U32(m));
                }
                "fwmark" => {
                    let m = if value.eq_ignore_ascii_case("off") {
                        0
                    } else {
                        number(value, u32::MAX).map_err(|e| bad(lineno, raw, e))?
                    };
                    wg.insert("fwmark".into(), Value::U32(m));
                }
                "table" | "saveconfig" => {}
                "preup" | "postup" | "predown" | "postdown" => {
                    return Err(bad(
                        lineno,
                        raw,
                        format!("{key}: netnsd does not run wg-quick's hook commands"),
                    ));
                }
                _ => {
                    return Err(bad(
                        lineno,
                        raw,
                        format!("unknown key {key} in [Interface]"),
                    ));
                }
            },
            Section::Peer => {
                let peer = peers.last_mut().expect("in a [Peer] section");
                match lkey.as_str() {
                    "publickey" => {
                        if !is_key(value) {
                            return Err(bad(lineno, raw, "PublicKey is not a base64 32-byte key"));
                        }
                        peer.public_key = Some(value.to_string());
                    }
                    "presharedkey" => {
                        if !is_key(value) {
                            return Err(bad(
                                lineno,
                                raw,
                                "PresharedKey is not a base64 32-byte key",
                            ));
                        }
                        peer.keys.insert("preshared-key".into(), Value::from(value));
                        peer.keys
                            .insert("preshared-key-flags".into(), Value::U32(0));
                    }
                    "allowedips" => {
                        let mut ips = match peer.keys.remove("allowed-ips") {
                            Some(Value::StrList(l)) => l,
                            _ => Vec::new(),
                        };
                        for a in list(value) {
                            let (_, c) = cidr(a, true).map_err(|e| bad(lineno, raw, e))?;
                            ips.push(c);
                        }
                        peer.keys.insert("allowed-ips".into(), Value::StrList(ips));
                    }
                    "endpoint" => {
                        endpoint(value).map_err(|e| bad(lineno, raw, e))?;
                        peer.keys.insert("endpoint".into(), Value::from(value));
                    }
                    "persistentkeepalive" => {
                        let n = if value.eq_ignore_ascii_case("off") {
                            0
                        } else {
                            number(value, 65535).map_err(|e| bad(lineno, raw, e))?
                        };
                        peer.keys
                            .insert("persistent-keepalive".into(), Value::U32(n));
                    }
                    _ => return Err(bad(lineno, raw, format!("unknown key {key} in [Peer]"))),
                }
            }
        }
    }

    if !seen_interface {
        return Err(Error::InvalidArgument("no [Interface] section".into()));
    }
    let private_key = private_key
        .ok_or_else(|| Error::InvalidArgument("[Interface]: PrivateKey missing".into()))?;
    if peers.is_empty() {
        return Err(Error::InvalidArgument("no [Peer] section".into()));
    }
    if addrs.iter().all(Vec::is_empty) {
        return Err(Error::InvalidArgument(
            "[Interface]: Address missing (netnsd needs the tunnel's address)".into(),
        ));
    }

    let mut settings = Settings::new();
    let con = settings.entry("connection".into()).or_default();
    con.insert("id".into(), Value::from(id));
    con.insert("uuid".into(), Value::Str(new_uuid_v4()));
    con.insert("type".into(), Value::from("wireguard"));
    if netnsd_api::validate::ifname(id).is_ok() {
        con.insert("interface-name".into(), Value::from(id));
    }
    wg.insert("private-key".into(), Value::Str(private_key));
    wg.insert("private-key-flags".into(), Value::U32(0));
    settings.insert("wireguard".into(), wg);
    for peer in peers {
        let pk = peer.public_key.ok_or_else(|| {
            Error::InvalidArgument(format!("line {}: [Peer] without a PublicKey", peer.line))
        })?;
        let name = format!("{WIREGUARD_PEER_PREFIX}{pk}");
        if settings.contains_key(&name) {
            return Err(Error::InvalidArgument(format!(
                "line {}: a second [Peer] with PublicKey {pk}",
                peer.line
            )));
        }
        settings.insert(name, peer.keys);
    }
    for (n, family) in ["ipv4", "ipv6"].into_iter().enumerate() {
        let s = settings.entry(family.into()).or_default();
        if addrs[n].is_empty() {
            let off = if n == 0 { "disabled" } else { "ignore" };
            s.insert("method".into(), Value::from(off));
            continue;
        }
        s.insert("method".into(), Value::from("manual"));
        for (i, a) in addrs[n].iter().enumerate() {
            s.insert(format!("address{}", i + 1), Value::Str(a.clone()));
        }
        if !dns[n].is_empty() {
            s.insert("dns".into(), Value::StrList(dns[n].clone()));
        }
    }
    // Search domains go with the first family that has an address.
    if !search.is_empty() {
        let family = if addrs[0].is_empty() { "ipv6" } else { "ipv4" };
        settings
            .entry(family.into())
            .or_default()
            .insert("dns-search".into(), Value::StrList(search));
    }
    // DNS servers of a family without addresses still count.
    for (n, family) in ["ipv4", "ipv6"].into_iter().enumerate() {
        if addrs[n].is_empty() && !dns[n].is_empty() {
            let s = settings.entry(family.into()).or_default();
            s.insert("dns".into(), Value::StrList(dns[n].clone()));
        }
    }
    Profile::from_settings(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIV: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const PUB: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    const PSK: &str = "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=";

    fn conf() -> String {
        format!(
            "# a comment
[Interface]
PrivateKey = {PRIV}
Address = 10.66.0.2/24, fd00:66::2/64
Address = 10.67.0.2
DNS = 10.99.0.53, corp.test, fd00:99::53,example.org
ListenPort = 51821
MTU = 1380
FwMark = 0x20
Table = off
SaveConfig = true

[Peer]
PublicKey = {PUB}  # the gateway
PresharedKey = {PSK}
AllowedIPs = 0.0.0.0/0, ::/0
AllowedIPs = 10.99.0.0/24
Endpoint = 203.0.113.1:51820
PersistentKeepalive = 25
"
        )
    }

    fn strs(p: &Profile, s: &str, k: &str) -> Vec<String> {
        match p.get(s, k) {
            Some(Value::StrList(l)) => l.clone(),
            other => panic!("{s}.{k}: {other:?}"),
        }
    }

    #[test]
    fn full_configuration() {
        let p = import_wg_quick(&conf(), "wg0").unwrap();
        assert_eq!(p.id(), "wg0");
        assert_eq!(p.kind(), "wireguard");
        assert_eq!(
            p.get("connection", "interface-name"),
            Some(&Value::from("wg0"))
        );
        assert_eq!(p.get("wireguard", "private-key"), Some(&Value::from(PRIV)));
        assert_eq!(p.get("wireguard", "listen-port"), Some(&Value::U32(51821)));
        assert_eq!(p.get("wireguard", "mtu"), Some(&Value::U32(1380)));
        assert_eq!(p.get("wireguard", "fwmark"), Some(&Value::U32(0x20)));
        assert_eq!(p.get("ipv4", "method"), Some(&Value::from("manual")));
        assert_eq!(
            p.get("ipv4", "address1"),
            Some(&Value::from("10.66.0.2/24"))
        );
        assert_eq!(
            p.get("ipv4", "address2"),
            Some(&Value::from("10.67.0.2/32"))
        );
        assert_eq!(
            p.get("ipv6", "address1"),
            Some(&Value::from("fd00:66::2/64"))
        );
        assert_eq!(p.get("ipv6", "method"), Some(&Value::from("manual")));
        assert_eq!(strs(&p, "ipv4", "dns"), ["10.99.0.53"]);
        assert_eq!(strs(&p, "ipv6", "dns"), ["fd00:99::53"]);
        assert_eq!(strs(&p, "ipv4", "dns-search"), ["corp.test", "example.org"]);
        let peer = format!("wireguard-peer.{PUB}");
        assert_eq!(
            strs(&p, &peer, "allowed-ips"),
            ["0.0.0.0/0", "::/0", "10.99.0.0/24"]
        );
        assert_eq!(
            p.get(&peer, "endpoint"),
            Some(&Value::from("203.0.113.1:51820"))
        );
        assert_eq!(p.get(&peer, "preshared-key"), Some(&Value::from(PSK)));
        assert_eq!(p.get(&peer, "persistent-keepalive"), Some(&Value::U32(25)));
        assert!(p.has_secrets());
        assert!(!p.netns().isolate);
    }

    #[test]
    fn the_daemon_reads_the_import_and_its_keyfile() {
        let p = import_wg_quick(&conf(), "wg0").unwrap();
        for p in [p.clone(), Profile::from_keyfile(&p.to_keyfile()).unwrap()] {
            let c = crate::vpn::wireguard::Config::from_profile(&p).unwrap();
            assert_eq!(c.peers.len(), 1);
            assert_eq!(c.peers[0].allowed_ips.len(), 3);
            assert_eq!(c.peers[0].keepalive, Some(25));
            assert!(c.peers[0].preshared_key.is_some());
            assert_eq!(c.addresses.len(), 3);
            assert_eq!(c.dns.len(), 2);
            assert_eq!(c.search, ["corp.test", "example.org"]);
            assert_eq!(c.listen_port, Some(51821));
        }
    }

    #[test]
    fn minimal_and_case_insensitive() {
        let text = format!(
            "[interface]\nprivatekey={PRIV}\naddress=fd00::2/64\n[PEER]\npublickey={PUB}\nallowedips=::/0\nendpoint=[2001:db8::1]:51820\n"
        );
        let p = import_wg_quick(&text, "a very long name for an interface").unwrap();
        assert_eq!(p.get("connection", "interface-name"), None);
        assert_eq!(p.get("ipv4", "method"), Some(&Value::from("disabled")));
        assert_eq!(p.get("ipv6", "address1"), Some(&Value::from("fd00::2/64")));
        assert_eq!(
            p.get(&format!("wireguard-peer.{PUB}"), "endpoint"),
            Some(&Value::from("[2001:db8::1]:51820"))
        );
    }

    #[test]
    fn several_peers() {
        let text = format!(
            "[Interface]\nPrivateKey={PRIV}\nAddress=10.0.0.2/24\n[Peer]\nPublicKey={PUB}\n[Peer]\nPublicKey={PSK}\nAllowedIPs=10.1.0.0/16\n"
        );
        let p = import_wg_quick(&text, "two").unwrap();
        assert!(p.has_setting(&format!("wireguard-peer.{PUB}")));
        assert!(p.has_setting(&format!("wireguard-peer.{PSK}")));
    }

    fn err(text: &str) -> String {
        match import_wg_quick(text, "wg0") {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn hooks_are_refused_naming_the_line() {
        for hook in ["PreUp", "PostUp", "PreDown", "PostDown"] {
            let text = conf().replace(
                "Table = off",
                &format!("{hook} = iptables -A FORWARD -i %i -j ACCEPT"),
            );
            let m = err(&text);
            assert!(m.contains("line 10"), "{m}");
            assert!(m.contains(hook), "{m}");
            assert!(m.contains("iptables"), "{m}");
        }
    }

    #[test]
    fn errors() {
        let base = conf();
        for (from, to, want) in [
            (PRIV, "short", "PrivateKey"),
            ("10.66.0.2/24,", "10.66.0.2/33,", "prefix"),
            ("10.67.0.2", "10.67.0.x", "not an IP"),
            ("ListenPort = 51821", "ListenPort = 70000", "not a number"),
            ("203.0.113.1:51820", "203.0.113.1", "host:port"),
            ("203.0.113.1:51820", "203.0.113.1:0", "not a port"),
            ("MTU = 1380", "Bogus = 1", "unknown key Bogus"),
            (
                "PersistentKeepalive = 25",
                "Foo = 1",
                "unknown key Foo in [Peer]",
            ),
            ("[Peer]", "[Pear]", "unknown section"),
            ("[Peer]", "[Interface]", "second [Interface]"),
            ("MTU = 1380", "MTU 1380", "Key = Value"),
        ] {
            let m = err(&base.replace(from, to));
            assert!(m.contains(want), "{from} → {to}: {m}");
            assert!(m.contains("line "), "{m}");
        }
        assert!(
            err(&base.replace(&format!("PrivateKey = {PRIV}"), "")).contains("PrivateKey missing")
        );
        assert!(
            err(&base.replace(&format!("PublicKey = {PUB}"), "")).contains("without a PublicKey")
        );
        assert!(err(base.split("[Peer]").next().unwrap()).contains("no [Peer]"));
        assert!(err("PrivateKey = x\n").contains("outside"));
        assert!(err("").contains("no [Interface]"));
        let no_addr = base
            .replace("Address = 10.66.0.2/24, fd00:66::2/64\n", "")
            .replace("Address = 10.67.0.2\n", "");
        assert!(err(&no_addr).contains("Address missing"));
        let dup = format!("{base}[Peer]\nPublicKey = {PUB}\n");
        assert!(err(&dup).contains("second [Peer]"));
        assert!(matches!(
            import_wg_quick(&base, ""),
            Err(Error::InvalidArgument(_))
        ));
    }
}
