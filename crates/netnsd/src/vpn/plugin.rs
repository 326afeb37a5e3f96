//! NetworkManager's VPN plugins, hosted: for a `vpn` profile whose
//! `vpn.service-type` has no built-in engine, the plugin NetworkManager
//! would run (its `.name` file in /usr/lib/NetworkManager/VPN or
//! /etc/NetworkManager/VPN) is run and driven as NetworkManager drives it.
//!
//! The client the daemon starts is its own binary, `netnsd
//! --vpn-plugin-host SOCKET` ([`host`]): it runs the plugin's program,
//! speaks `org.freedesktop.NetworkManager.VPN.Plugin` to it on the system
//! bus (NeedSecrets, Connect, the Config/Ip4Config/Ip6Config signals,
//! Failure, StateChanged, Disconnect) and reports what the plugin pushed
//! through the helper socket, as the hooks of the built-in types do. The
//! manager then takes the tunnel the plugin named (Config's `tundev`) into
//! the isolated namespace and configures it there. The host is the process
//! the journal records; the plugin dies with it (PR_SET_PDEATHSIG).

pub mod ask;
pub mod host;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use netnsd_api::state::reason;
use netnsd_api::{Cidr, Error, Family};
use serde::{Deserialize, Serialize};

use super::{Activation, Client, Launch, VpnConfig, VpnType};
use crate::settings::Profile;

/// Where NetworkManager looks for VPN plugins' `.name` files, in order.
pub const NAME_DIRS: &[&str] = &["/etc/NetworkManager/VPN", "/usr/lib/NetworkManager/VPN"];

/// The Debian package that brings the plugin of each service type
/// (`org.freedesktop.NetworkManager.` + the short name).
pub const PACKAGES: &[(&str, &str)] = &[
    ("strongswan", "network-manager-strongswan"),
    ("vpnc", "network-manager-vpnc"),
    ("l2tp", "network-manager-l2tp"),
    ("fortisslvpn", "network-manager-fortisslvpn"),
    ("sstp", "network-manager-sstp"),
    ("pptp", "network-manager-pptp"),
    ("openvpn", "network-manager-openvpn"),
    ("openconnect", "network-manager-openconnect"),
    ("libreswan", "network-manager-libreswan"),
    ("iodine", "network-manager-iodine"),
    ("ssh", "network-manager-ssh"),
];

/// The line the host prints before it exits on a failure:
/// `PREFIX REASON message` (REASON one of NetworkManager's VPN reasons).
pub const FAILURE_PREFIX: &str = "netnsd-plugin-failure:";

/// The key of the host's report that marks it as the plugin host's.
const REPORT_MARK: &str = "NETNSD_PLUGIN_CONFIG";

/// One plugin, as its `.name` file describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// `service=`: its bus name, and the profiles' vpn.service-type.
    pub service: String,
    /// `program=`: what to run.
    pub program: PathBuf,
    /// `supports-multiple-connections=`: it takes `--bus-name` and runs
    /// once per connection.
    pub multiple: bool,
    /// The `.name` file.
    pub file: PathBuf,
}

/// Reads a `.name` file's `[VPN Connection]` group; None if it has no
/// `service` or `program`.
pub fn parse_name_file(text: &str, file: &Path) -> Option<PluginInfo> {
    let mut group = "";
    let (mut service, mut program, mut multiple) = (None, None, false);
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(g) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            group = g;
            continue;
        }
        if group != "VPN Connection" {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k.trim() {
            "service" => service = Some(v.trim().to_owned()),
            "program" => program = Some(PathBuf::from(v.trim())),
            "supports-multiple-connections" => multiple = v.trim() == "true",
            _ => {}
        }
    }
    Some(PluginInfo {
        service: service.filter(|s| !s.is_empty())?,
        program: program.filter(|p| p.is_absolute())?,
        multiple,
        file: file.to_path_buf(),
    })
}

/// The plugin of `service` in `dirs` (the first directory wins, as in
/// NetworkManager: /etc before /usr/lib).
pub fn find_plugin_in(service: &str, dirs: &[&Path]) -> Option<PluginInfo> {
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "name"))
            .collect();
        files.sort();
        for f in files {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            if let Some(info) = parse_name_file(&text, &f)
                && info.service == service
            {
                return Some(info);
            }
        }
    }
    None
}

/// The Debian package to install for `service`.
pub fn package_of(service: &str) -> Option<&'static str> {
    let short = service.strip_prefix("org.freedesktop.NetworkManager.")?;
    PACKAGES.iter().find(|(s, _)| *s == short).map(|(_, p)| *p)
}

/// The plugin of `service`, installed and runnable; NotSupported naming
/// what to install otherwise.
pub fn find_plugin(service: &str) -> Result<PluginInfo, Error> {
    let dirs: Vec<&Path> = NAME_DIRS.iter().map(Path::new).collect();
    missing_or(service, find_plugin_in(service, &dirs))
}

fn missing_or(service: &str, found: Option<PluginInfo>) -> Result<PluginInfo, Error> {
    let install = || match package_of(service) {
        Some(p) => format!("install the Debian package {p}"),
        None => "no Debian package is known to provide it".to_owned(),
    };
    let info = found.ok_or_else(|| {
        Error::NotSupported(format!(
            "VPN service type {service:?} has no built-in engine and no NetworkManager \
             VPN plugin is installed for it ({})",
            install()
        ))
    })?;
    if !info.program.is_file() {
        return Err(Error::NotSupported(format!(
            "the VPN plugin of {service:?} ({}) names {}, which is missing ({})",
            info.file.display(),
            info.program.display(),
            install()
        )));
    }
    Ok(info)
}

/// What netnsd refuses of a plugin's profile, naming the key: strongSwan's
/// key from the user's ssh-agent (`method=agent`, or `method=cert` with
/// `cert-source=agent`). NetworkManager-strongswan's auth dialog hands
/// charon-nm the path of the desktop session's SSH_AUTH_SOCK, which the
/// root daemon neither has nor may reach for another user.
pub fn unsupported(service: &str, data: &BTreeMap<String, String>) -> Result<(), Error> {
    if service != "org.freedesktop.NetworkManager.strongswan" {
        return Ok(());
    }
    let get = |k: &str| data.get(k).map(String::as_str);
    let key = if get("method") == Some("agent") {
        Some("method=agent")
    } else if get("method") == Some("cert") && get("cert-source") == Some("agent") {
        Some("cert-source=agent")
    } else {
        None
    };
    match key {
        Some(k) => Err(Error::NotSupported(format!(
            "vpn.data {k}: a strongSwan key held by the user's ssh-agent is not supported \
             (the daemon has no session's SSH_AUTH_SOCK); use cert-source=file with \
             usercert and userkey"
        ))),
        None => Ok(()),
    }
}

/// What the host needs, written to its standard input (secrets included:
/// never on a command line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInput {
    pub plugin: PluginInfo,
    /// The bus name to start it under and to talk to.
    pub bus_name: String,
    pub id: String,
    pub uuid: String,
    pub user_name: Option<String>,
    pub data: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    /// ConnectInteractive (every agent of the activating user has VPN
    /// hints), else Connect: NetworkManager's choice.
    #[serde(default)]
    pub interactive: bool,
}

/// The bus name of activation `number`'s plugin: its service, or (a plugin
/// that supports several connections) one name per connection, as
/// NetworkManager names them.
pub fn bus_name(info: &PluginInfo, number: u32) -> String {
    if info.multiple {
        format!("{}.Connection_{number}", info.service)
    } else {
        info.service.clone()
    }
}

/// The daemon's own binary, as a `'static` program name for [`Client`].
fn own_exe() -> Result<&'static str, Error> {
    static EXE: OnceLock<Option<&'static str>> = OnceLock::new();
    EXE.get_or_init(|| {
        let exe = std::env::current_exe().ok()?;
        Some(Box::leak(
            exe.to_string_lossy().into_owned().into_boxed_str(),
        ))
    })
    .ok_or_else(|| Error::Failed("cannot find the daemon's own executable".into()))
}

/// What the host reports: the pushed configuration as the helper's
/// environment (strings), and back.
pub fn to_report(c: &VpnConfig) -> HashMap<String, String> {
    let join = |v: Vec<String>| v.join(" ");
    let mut env = HashMap::from([
        (REPORT_MARK.to_owned(), "1".to_owned()),
        ("tundev".to_owned(), c.tundev.clone()),
        ("banner".to_owned(), c.banner.clone()),
        (
            "routes".to_owned(),
            join(c.routes.iter().map(|(d, _)| d.to_string()).collect()),
        ),
        (
            "dns".to_owned(),
            join(c.dns.iter().map(|d| d.to_string()).collect()),
        ),
        ("domains".to_owned(), join(c.domains.clone())),
    ]);
    let mut opt = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            env.insert(k.to_owned(), v);
        }
    };
    opt("mtu", c.mtu.map(|m| m.to_string()));
    opt("addr4", c.addr4.map(|a| a.to_string()));
    opt("peer4", c.peer4.map(|a| a.to_string()));
    opt("addr6", c.addr6.map(|a| a.to_string()));
    env
}

fn bad(what: &str, v: &str) -> Error {
    Error::InvalidArgument(format!("the VPN plugin pushed a bad {what}: {v:?}"))
}

fn cidr_of(text: &str, family: Family, what: &str) -> Result<Cidr, Error> {
    let c: Cidr = text.parse().map_err(|_| bad(what, text))?;
    super::pushed_cidr(c.addr, c.prefix, family).ok_or_else(|| bad(what, text))
}

/// The configuration a host's report carries.
pub fn from_report(env: &HashMap<String, String>) -> Result<VpnConfig, Error> {
    if !env.contains_key(REPORT_MARK) {
        return Err(Error::InvalidArgument(
            "not a report of the VPN plugin host".into(),
        ));
    }
    let get = |k: &str| env.get(k).map(String::as_str).unwrap_or("");
    let tundev = get("tundev").to_owned();
    netnsd_api::validate::ifname(&tundev).map_err(|_| bad("tundev", &tundev))?;
    let words = |k: &str| get(k).split_whitespace().map(str::to_owned);
    let mut routes = Vec::new();
    for r in words("routes") {
        let c: Cidr = r.parse().map_err(|_| bad("route", &r))?;
        routes.push((c, None));
    }
    let mut dns = Vec::new();
    for d in words("dns") {
        dns.push(d.parse::<IpAddr>().map_err(|_| bad("DNS server", &d))?);
    }
    let opt = |k: &str| env.get(k).filter(|v| !v.is_empty());
    Ok(VpnConfig {
        tundev,
        mtu: match opt("mtu") {
            Some(m) => Some(m.parse().map_err(|_| bad("MTU", m))?),
            None => None,
        },
        addr4: opt("addr4")
            .map(|a| cidr_of(a, Family::V4, "IPv4 address"))
            .transpose()?,
        peer4: opt("peer4")
            .map(|p| p.parse::<IpAddr>().map_err(|_| bad("IPv4 peer", p)))
            .transpose()?,
        addr6: opt("addr6")
            .map(|a| cidr_of(a, Family::V6, "IPv6 address"))
            .transpose()?,
        routes,
        dns,
        domains: words("domains").collect(),
        banner: get("banner").to_owned(),
        // The profile's own [ipv4]/[ipv6] keys are applied on top at
        // activation (vpn/profile_ip.rs), as for the built-in types.
        ..VpnConfig::default()
    })
}

/// Every NetworkManager VPN plugin without a built-in engine.
pub struct NmPlugin;

impl VpnType for NmPlugin {
    fn name(&self) -> &'static str {
        "NetworkManager VPN plugin"
    }

    fn validate(&self, profile: &Profile) -> Result<(), Error> {
        let service = profile.vpn_service_type().unwrap_or_default();
        find_plugin(service)?;
        unsupported(service, &profile.vpn_data())
    }

    fn launch(&self, profile: &Profile, at: &Activation) -> Result<Launch, Error> {
        let service = profile.vpn_service_type().unwrap_or_default();
        let plugin = find_plugin(service)?;
        let input = HostInput {
            bus_name: bus_name(&plugin, at.number),
            plugin,
            id: profile.id().to_owned(),
            uuid: profile.uuid().to_owned(),
            user_name: profile
                .get("vpn", "user-name")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            data: profile.vpn_data(),
            secrets: profile.vpn_secrets(),
            interactive: at.vpn_hints,
        };
        let stdin = serde_json::to_string(&input)
            .map_err(|e| Error::Failed(format!("the plugin host's input: {e}")))?;
        Ok(Launch {
            client: Client {
                program: own_exe()?,
                args: vec![
                    "--vpn-plugin-host".into(),
                    at.socket.display().to_string(),
                    // Named on the command line so a restart knows the
                    // host of this tunnel (no secret in it).
                    at.tundev.clone(),
                ],
                stdin: Some(stdin),
                files: Vec::new(),
            },
            kernel: None,
            configure: None,
        })
    }

    fn reported(&self, env: &HashMap<String, String>) -> Result<Option<VpnConfig>, Error> {
        from_report(env).map(Some)
    }

    fn names_device(&self) -> bool {
        true
    }

    fn secrets_wanted(&self, profile: &Profile) -> Option<super::secrets::Wanted> {
        super::secrets::plugin(profile)
    }

    fn failure_reason(&self, log: &str) -> u32 {
        log.lines()
            .rev()
            .find_map(|l| {
                let rest = l.trim().strip_prefix(FAILURE_PREFIX)?;
                rest.split_whitespace().next()?.parse().ok()
            })
            .unwrap_or(reason::SERVICE_STOPPED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONGSWAN: &str = "[VPN Connection]
name=strongswan
service=org.freedesktop.NetworkManager.strongswan
program=/usr/lib/ipsec/charon-nm

[libnm]
plugin=/usr/lib/x86_64-linux-gnu/NetworkManager/libnm-vpn-plugin-strongswan.so
";

    #[test]
    fn name_files_read_as_networkmanager_reads_them() {
        let f = Path::new("/x/nm-strongswan-service.name");
        let i = parse_name_file(STRONGSWAN, f).unwrap();
        assert_eq!(i.service, "org.freedesktop.NetworkManager.strongswan");
        assert_eq!(i.program, Path::new("/usr/lib/ipsec/charon-nm"));
        assert!(!i.multiple);
        assert_eq!(bus_name(&i, 3), "org.freedesktop.NetworkManager.strongswan");
        let vpnc = "[VPN Connection]\nservice=org.freedesktop.NetworkManager.vpnc\n\
                    program=/usr/lib/NetworkManager/nm-vpnc-service\n\
                    supports-multiple-connections=true\n";
        let i = parse_name_file(vpnc, f).unwrap();
        assert!(i.multiple);
        assert_eq!(
            bus_name(&i, 3),
            "org.freedesktop.NetworkManager.vpnc.Connection_3"
        );
        // No program, a relative one, or keys in another group: none.
        assert!(parse_name_file("[VPN Connection]\nservice=a.b\n", f).is_none());
        assert!(parse_name_file("[VPN Connection]\nservice=a.b\nprogram=x\n", f).is_none());
        assert!(parse_name_file("[libnm]\nservice=a.b\nprogram=/x\n", f).is_none());
    }

    #[test]
    fn etc_before_usr_lib_and_missing_names_the_package() {
        let etc = tempfile::tempdir().unwrap();
        let lib = tempfile::tempdir().unwrap();
        let write = |d: &Path, prog: &str| {
            std::fs::write(
                d.join("s.name"),
                format!(
                    "[VPN Connection]\nservice=org.freedesktop.NetworkManager.strongswan\n\
                     program={prog}\n"
                ),
            )
            .unwrap();
        };
        write(etc.path(), "/etc-one");
        write(lib.path(), "/lib-one");
        let svc = "org.freedesktop.NetworkManager.strongswan";
        let found = find_plugin_in(svc, &[etc.path(), lib.path()]).unwrap();
        assert_eq!(found.program, Path::new("/etc-one"));
        assert!(find_plugin_in("org.freedesktop.NetworkManager.sstp", &[lib.path()]).is_none());

        let e = missing_or("org.freedesktop.NetworkManager.l2tp", None).unwrap_err();
        assert!(
            matches!(&e, Error::NotSupported(m) if m.contains("network-manager-l2tp")),
            "{e:?}"
        );
        // Installed, but its program is not: also NotSupported.
        let e = missing_or(svc, Some(found)).unwrap_err();
        assert!(
            matches!(&e, Error::NotSupported(m)
                if m.contains("/etc-one") && m.contains("network-manager-strongswan")),
            "{e:?}"
        );
        let e = missing_or("com.example.Other", None).unwrap_err();
        assert!(
            matches!(&e, Error::NotSupported(m) if m.contains("no Debian package")),
            "{e:?}"
        );
    }

    #[test]
    fn the_ssh_agent_key_is_refused_naming_the_key() {
        let sw = "org.freedesktop.NetworkManager.strongswan";
        let data = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let e =
            unsupported(sw, &data(&[("method", "cert"), ("cert-source", "agent")])).unwrap_err();
        assert!(
            matches!(&e, Error::NotSupported(m) if m.contains("cert-source=agent")),
            "{e:?}"
        );
        let e = unsupported(sw, &data(&[("method", "agent")])).unwrap_err();
        assert!(matches!(&e, Error::NotSupported(m) if m.contains("method=agent")));
        assert!(unsupported(sw, &data(&[("method", "cert"), ("cert-source", "file")])).is_ok());
        assert!(
            unsupported(
                "org.freedesktop.NetworkManager.vpnc",
                &data(&[("method", "agent")])
            )
            .is_ok()
        );
    }

    #[test]
    fn reports_round_trip_and_bad_ones_refused() {
        let c = VpnConfig {
            tundev: "tun0".into(),
            mtu: Some(1400),
            addr4: Some("10.3.0.1/32".parse().unwrap()),
            peer4: None,
            addr6: Some("fd00::5/128".parse().unwrap()),
            routes: vec![("10.99.0.0/24".parse().unwrap(), None)],
            dns: vec!["10.99.0.53".parse().unwrap()],
            domains: vec!["corp.test".into()],
            banner: "hello there".into(),
            ..VpnConfig::default()
        };
        assert_eq!(from_report(&to_report(&c)).unwrap(), c);
        let mut env = to_report(&c);
        env.insert("tundev".into(), "../x".into());
        assert!(from_report(&env).is_err());
        let mut env = to_report(&c);
        env.insert("addr4".into(), "fd00::1/64".into());
        assert!(from_report(&env).is_err());
        let mut env = to_report(&c);
        env.remove(REPORT_MARK);
        assert!(from_report(&env).is_err());
    }

    #[test]
    fn the_failure_reason_is_the_host_s_last_word() {
        let log = format!(
            "charon says things\n{FAILURE_PREFIX} 10 login failed\n{FAILURE_PREFIX} 9 x\nbye"
        );
        assert_eq!(NmPlugin.failure_reason(&log), reason::NO_SECRETS);
        assert_eq!(NmPlugin.failure_reason("nothing"), reason::SERVICE_STOPPED);
    }
}
