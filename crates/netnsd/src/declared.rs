//! Declared namespaces: keyfiles in `/etc/netnsd/namespaces.d/NAME.conf`
//! that the daemon makes into persistent namespaces at start and on
//! ReloadNamespaces ([docs/declared.md](../../../docs/declared.md)).
//!
//! ```ini
//! [namespace]
//! name=web                 # default: the file's name without .conf
//! uplink=veth              # none | veth | macvlan
//! uplink-parent=eth0       # macvlan: the parent device
//! address=192.0.2.10/24    # macvlan: a static address
//! gateway=192.0.2.1        # macvlan: the default gateway
//! ipv6=true                # veth: IPv6 as well
//! dhcp=false               # macvlan: DHCPv4
//! dns=10.0.0.53;10.0.0.54
//! dns-search=example.org
//!
//! [forward-1]              # port forwards (when the daemon has them)
//! proto=tcp
//! host-port=8080
//! host-address=0.0.0.0
//! port=80
//! ```
//!
//! This file only reads and checks; the manager (`manager/declared.rs`)
//! makes, keeps and removes the namespaces. The keys of `[namespace]` are
//! turned into AddNetworkNamespaceWithOptions' dictionary and checked by the
//! same code, so a file means what the bus call means.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netnsd_api::{ROOT_NS_NAME, validate};
use zbus::wire::{OwnedVariant, Variant};

use crate::settings::keyfile::{KeyFile, unescape, unescape_list};

/// Where the files are.
pub const DIR: &str = "/etc/netnsd/namespaces.d";
/// What their names end with.
pub const SUFFIX: &str = ".conf";

/// The keys of `[namespace]`.
const NS_KEYS: &[&str] = &[
    "name",
    "uplink",
    "uplink-netns",
    "uplink-parent",
    "address",
    "gateway",
    "ipv6",
    "dhcp",
    "dns",
    "dns-search",
];
const BOOL_KEYS: &[&str] = &["ipv6", "dhcp"];
const LIST_KEYS: &[&str] = &["dns", "dns-search"];
/// The keys of `[forward-N]`.
const FORWARD_KEYS: &[&str] = &["proto", "host-port", "host-address", "port"];

/// One port forward, as a `[forward-N]` group says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The group's name, for messages.
    pub group: String,
    /// "tcp" or "udp".
    pub proto: String,
    pub host_port: u16,
    pub host_address: Option<IpAddr>,
    pub port: u16,
}

/// A file that was read and checked.
#[derive(Debug, Clone)]
pub struct Declared {
    pub file: PathBuf,
    pub name: String,
    /// AddNetworkNamespaceWithOptions' dictionary.
    pub options: HashMap<String, OwnedVariant>,
    /// Applied right after the namespace is made (it needs a veth uplink).
    pub forwards: Vec<Forward>,
    /// A digest of the file's text: a changed file has another.
    pub digest: String,
}

/// The files in `dir` ending in `.conf`, in name order, with their text (or
/// why they could not be read). A missing directory has none.
pub fn read_dir(dir: &Path) -> Vec<(PathBuf, Result<String, String>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(SUFFIX) && !n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("cannot read it: {e}"));
            (p, text)
        })
        .collect()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A stable digest of a file's text (FNV-1a, 64 bits).
fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Reads one file. The error names the group and key at fault (the caller
/// adds the file's path).
pub fn parse(file: &Path, text: &str) -> Result<Declared, String> {
    let kf = KeyFile::parse(text)?;
    let stem = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(SUFFIX))
        .unwrap_or_default()
        .to_owned();
    let mut ns = None;
    let mut forwards = Vec::new();
    for g in &kf.groups {
        if g.name == "namespace" {
            ns = Some(g);
        } else if let Some(n) = g.name.strip_prefix("forward-") {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "[{}]: a forward group is named forward-N, N a number",
                    g.name
                ));
            }
            forwards.push(parse_forward(&g.name, &g.entries)?);
        } else {
            return Err(format!(
                "[{}]: unknown group; known: [namespace], [forward-N]",
                g.name
            ));
        }
    }
    let Some(ns) = ns else {
        return Err("no [namespace] group".into());
    };
    let mut options = HashMap::new();
    let mut name = stem;
    for (key, raw) in &ns.entries {
        let bad = |problem: String| format!("[namespace] key \"{key}\": {problem}");
        if !NS_KEYS.contains(&key.as_str()) {
            return Err(bad(format!("unknown key; known: {}", NS_KEYS.join(", "))));
        }
        let v: Variant<'static> = if LIST_KEYS.contains(&key.as_str()) {
            let items: Vec<String> = unescape_list(raw)
                .map_err(bad)?
                .iter()
                .flat_map(|i| i.split(','))
                .map(|i| i.trim().to_owned())
                .filter(|i| !i.is_empty())
                .collect();
            Variant::from(items)
        } else {
            let s = unescape(raw, false).map_err(bad)?.trim().to_owned();
            if BOOL_KEYS.contains(&key.as_str()) {
                let b = parse_bool(&s)
                    .ok_or_else(|| bad(format!("'{s}' is not a boolean (true or false)")))?;
                Variant::from(b)
            } else if key == "name" {
                name = s;
                continue;
            } else {
                Variant::from(s)
            }
        };
        options.insert(
            key.clone(),
            OwnedVariant::try_from(v).expect("plain values have no descriptors"),
        );
    }
    validate::netns_name(&name).map_err(|e| format!("[namespace] key \"name\": {e}"))?;
    if name == ROOT_NS_NAME {
        return Err(format!(
            "[namespace] key \"name\": {ROOT_NS_NAME:?} is the root namespace"
        ));
    }
    dhcp(&mut options)?;
    // The same checks as AddNetworkNamespaceWithOptions'.
    crate::dbus::options::namespace(&options).map_err(|e| {
        format!(
            "[namespace] {}",
            e.message().replacen("option \"", "key \"", 1)
        )
    })?;
    if let Some(f) = forwards.first()
        && !options.contains_key("uplink")
    {
        return Err(format!(
            "[{}]: a port forward needs a veth uplink (uplink=veth in [namespace])",
            f.group
        ));
    }
    Ok(Declared {
        file: file.to_owned(),
        name,
        options,
        forwards,
        digest: digest(text),
    })
}

/// `dhcp=`: passed on as the option `dhcp` when the daemon knows it;
/// otherwise `dhcp=true` is refused and `dhcp=false` dropped.
fn dhcp(options: &mut HashMap<String, OwnedVariant>) -> Result<(), String> {
    if crate::dbus::options::NS_KEYS.contains(&"dhcp") {
        // dhcp=false asks for nothing: no key, valid with any uplink.
        if options
            .get("dhcp")
            .is_some_and(|v| bool::try_from(&**v) == Ok(false))
        {
            options.remove("dhcp");
        }
        return Ok(());
    }
    match options.remove("dhcp").map(|v| bool::try_from(&*v)) {
        Some(Ok(true)) => Err(
            "[namespace] key \"dhcp\": DHCP uplinks are not supported yet by this netnsd".into(),
        ),
        _ => Ok(()),
    }
}

fn parse_forward(group: &str, entries: &[(String, String)]) -> Result<Forward, String> {
    let mut f = Forward {
        group: group.to_owned(),
        proto: String::new(),
        host_port: 0,
        host_address: None,
        port: 0,
    };
    let port = |key: &str, s: &str| {
        s.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("[{group}] key \"{key}\": '{s}' is not a port (1-65535)"))
    };
    for (key, raw) in entries {
        let s = unescape(raw, false)
            .map_err(|e| format!("[{group}] key \"{key}\": {e}"))?
            .trim()
            .to_owned();
        match key.as_str() {
            "proto" => {
                if s != "tcp" && s != "udp" {
                    return Err(format!(
                        "[{group}] key \"proto\": '{s}' is not one of tcp, udp"
                    ));
                }
                f.proto = s;
            }
            "host-port" => f.host_port = port(key, &s)?,
            "port" => f.port = port(key, &s)?,
            "host-address" => {
                f.host_address = Some(s.parse().map_err(|_| {
                    format!("[{group}] key \"host-address\": '{s}' is not an IP address")
                })?)
            }
            _ => {
                return Err(format!(
                    "[{group}] key \"{key}\": unknown key; known: {}",
                    FORWARD_KEYS.join(", ")
                ));
            }
        }
    }
    for (key, missing) in [
        ("proto", f.proto.is_empty()),
        ("host-port", f.host_port == 0),
        ("port", f.port == 0),
    ] {
        if missing {
            return Err(format!("[{group}] key \"{key}\": missing"));
        }
    }
    Ok(f)
}

impl Forward {
    /// The bus layer's value of the forward.
    pub fn to_api(&self) -> netnsd_api::forward::Forward {
        netnsd_api::forward::Forward {
            proto: netnsd_api::forward::Proto::parse(&self.proto)
                .expect("checked when the group was read"),
            host_port: self.host_port,
            host_address: self.host_address,
            port: self.port,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, text: &str) -> Result<Declared, String> {
        parse(Path::new(&format!("/x/{name}.conf")), text)
    }

    #[test]
    fn a_veth_namespace_with_dns() {
        let d = p(
            "web",
            "[namespace]\nuplink=veth\ndns=10.0.0.53;10.0.0.54\ndns-search=example.org\n",
        )
        .unwrap();
        assert_eq!(d.name, "web");
        assert!(d.forwards.is_empty());
        let (up, dns) = crate::dbus::options::namespace(&d.options).unwrap();
        assert_eq!(up.unwrap().spec.kind, crate::manager::UplinkKind::Veth);
        let dns = dns.unwrap();
        assert_eq!(dns.servers.len(), 2);
        assert_eq!(dns.search, vec!["example.org".to_string()]);
        assert_eq!(
            p("a", "[namespace]\nname=other\n").unwrap().name,
            "other",
            "name= wins over the file's name"
        );
        assert_ne!(
            p("a", "[namespace]\n").unwrap().digest,
            p("a", "[namespace]\nuplink=none\n").unwrap().digest
        );
    }

    #[test]
    fn refusals_name_the_group_and_key() {
        let cases = [
            ("[namespace]\nuplink=gre\n", "key \"uplink\""),
            ("[namespace]\nbogus=1\n", "key \"bogus\""),
            ("[namespace]\nipv6=maybe\n", "key \"ipv6\""),
            ("[namespace]\nname=a/b\n", "key \"name\""),
            ("[namespace]\nname=rootns\n", "key \"name\""),
            ("[namespace]\nuplink=macvlan\n", "key \"uplink-parent\""),
            ("[namespace]\ndns=nope\n", "nope"),
            ("[namespace]\nuplink=veth\ndhcp=true\n", "key \"dhcp\""),
            ("[other]\n", "[other]"),
            ("uplink=veth\n", ""),
            ("[forward-x]\n", "[forward-x]"),
            ("[namespace]\n", ""),
        ];
        for (text, want) in cases.iter().take(cases.len() - 1) {
            let e = p("a", text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        assert!(p("a", "").unwrap_err().contains("[namespace]"));
        assert!(p("a", "[namespace]\ndhcp=false\n").is_ok());
    }

    #[test]
    fn forwards_are_checked_naming_the_group() {
        let ok = "[namespace]\nuplink=veth\n[forward-1]\nproto=tcp\nhost-port=8080\nport=80\n";
        let d = p("a", ok).unwrap();
        assert_eq!(d.forwards.len(), 1);
        assert_eq!(d.forwards[0].to_api().host_port, 8080);
        let e = p(
            "a",
            "[namespace]\n[forward-1]\nproto=tcp\nhost-port=8080\nport=80\n",
        )
        .unwrap_err();
        assert!(
            e.contains("[forward-1]") && e.contains("needs a veth uplink"),
            "{e}"
        );
        let e = p(
            "a",
            "[namespace]\n[forward-2]\nproto=sctp\nhost-port=1\nport=2\n",
        )
        .unwrap_err();
        assert!(e.contains("[forward-2] key \"proto\""), "{e}");
        let e = p(
            "a",
            "[namespace]\n[forward-3]\nproto=udp\nhost-port=0\nport=2\n",
        )
        .unwrap_err();
        assert!(e.contains("key \"host-port\""), "{e}");
        let e = p("a", "[namespace]\n[forward-4]\nproto=udp\nport=2\n").unwrap_err();
        assert!(e.contains("key \"host-port\": missing"), "{e}");
        let e = p(
            "a",
            "[namespace]\n[forward-5]\nproto=udp\nhost-port=1\nport=2\nhost-address=x\n",
        )
        .unwrap_err();
        assert!(e.contains("key \"host-address\""), "{e}");
    }
}
