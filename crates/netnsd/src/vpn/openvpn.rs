//! OpenVPN, driven the way NetworkManager-openvpn profiles describe it.
//!
//! openvpn runs in the uplink namespace with `--ifconfig-noexec
//! --route-noexec`, so it never touches the host's addresses or routes, and
//! with `netnsd --vpn-helper` as its `--up` command, which hands the pushed
//! configuration (the `ifconfig_*`, `route_*` and `foreign_option_*`
//! variables) to the daemon. Secrets go to a 0600 file, never on the command
//! line.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use netnsd_api::Error;

use super::{Activation, Client, Launch, VpnConfig, VpnType, pushed_cidr, pushed_prefix};
use crate::settings::Profile;
use netnsd_api::{Cidr, Family};

pub const SERVICE_TYPE: &str = "org.freedesktop.NetworkManager.openvpn";

/// What to run: the arguments after `openvpn`, and the contents of the
/// credentials file (`--auth-user-pass FILE`), if one is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub args: Vec<String>,
    pub auth_file: Option<String>,
    pub askpass_file: Option<String>,
}

fn need<'a>(data: &'a BTreeMap<String, String>, key: &str, why: &str) -> Result<&'a str, Error> {
    data.get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::InvalidArgument(format!("vpn.data.{key}: missing ({why})")))
}

fn push(a: &mut Vec<String>, xs: &[&str]) {
    a.extend(xs.iter().map(|s| s.to_string()));
}

fn yes(data: &BTreeMap<String, String>, key: &str) -> bool {
    matches!(
        data.get(key).map(String::as_str),
        Some("yes" | "true" | "1")
    )
}

/// Builds the openvpn invocation for a profile's vpn.data and vpn.secrets.
/// `tundev` is the tunnel's name; `helper` the `--up` command (the daemon's
/// own binary with `--vpn-helper SOCKET`); `auth_path` and `askpass_path`
/// where the credentials files will be.
pub fn invocation(
    data: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
    tundev: &str,
    helper: &str,
    auth_path: &Path,
    askpass_path: &Path,
) -> Result<Invocation, Error> {
    // A value openvpn would take for an option of its own (`--up`, ...):
    // no setting's value begins so, and none may smuggle one in.
    if let Some((k, v)) = data.iter().find(|(_, v)| v.trim_start().starts_with("--")) {
        return Err(Error::InvalidArgument(format!(
            "vpn.data.{k}: {v:?} begins like an openvpn option; no value may"
        )));
    }
    let ctype = data
        .get("connection-type")
        .map(String::as_str)
        .unwrap_or("tls");
    super::check_reconnect_timeout(data)?;
    let mut a: Vec<String> = Vec::new();
    let remote = need(data, "remote", "the server to connect to")?;
    let default_port = data.get("port").cloned().unwrap_or_else(|| "1194".into());
    let default_proto = if yes(data, "proto-tcp") {
        "tcp-client"
    } else {
        "udp"
    };
    for r in remote.split([',', ' ']).filter(|r| !r.is_empty()) {
        // host, host:port or host:port:proto (IPv6 literals in brackets).
        let (host, rest) = match r.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((h, rest)) => (h.to_string(), rest.trim_start_matches(':').to_string()),
                None => {
                    return Err(Error::InvalidArgument(format!(
                        "vpn.data.remote: {r:?} has an unclosed '['"
                    )));
                }
            },
            None => match r.split_once(':') {
                Some((h, rest)) => (h.to_string(), rest.to_string()),
                None => (r.to_string(), String::new()),
            },
        };
        let mut parts = rest.split(':');
        let port = parts
            .next()
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .unwrap_or(default_port.clone());
        if port.parse::<u16>().is_err() {
            return Err(Error::InvalidArgument(format!(
                "vpn.data.remote: port {port:?} in {r:?} is not a port number"
            )));
        }
        let proto = match parts.next() {
            None | Some("") => default_proto.to_string(),
            Some(p @ ("udp" | "udp4" | "udp6")) => p.into(),
            Some("tcp" | "tcp-client") => "tcp-client".into(),
            Some(p @ ("tcp4-client" | "tcp6-client")) => p.into(),
            Some("tcp4") => "tcp4-client".into(),
            Some("tcp6") => "tcp6-client".into(),
            Some(p) => {
                return Err(Error::InvalidArgument(format!(
                    "vpn.data.remote: protocol {p:?} in {r:?} is neither udp nor tcp"
                )));
            }
        };
        push(&mut a, &["--remote", &host, &port, &proto]);
    }
    // NetworkManager-openvpn writes `tap-dev=yes` for `dev tap`: a layer 2
    // tunnel, refused as dev-type=tap is (it would run as tun otherwise).
    if data.get("tap-dev").is_some_and(|v| v == "yes") {
        return Err(Error::NotSupported(
            "vpn.data.tap-dev: \"yes\" (a tap, layer 2, device) — only tun devices can be moved into a namespace of their own".into(),
        ));
    }
    if let Some(t) = data.get("dev-type")
        && t != "tun"
    {
        return Err(Error::NotSupported(format!(
            "vpn.data.dev-type: {t:?} — only tun devices can be moved into a namespace of their own"
        )));
    }
    push(
        &mut a,
        &[
            "--dev",
            tundev,
            "--dev-type",
            "tun",
            "--nobind",
            "--verb",
            "3",
        ],
    );
    match ctype {
        "tls" | "password-tls" | "password" => {
            push(&mut a, &["--client"]);
            let ca = need(data, "ca", "connection-type tls needs the CA certificate")?;
            push(&mut a, &["--ca", ca]);
            if ctype != "password" {
                push(
                    &mut a,
                    &[
                        "--cert",
                        need(
                            data,
                            "cert",
                            "connection-type tls needs a client certificate",
                        )?,
                    ],
                );
                push(
                    &mut a,
                    &[
                        "--key",
                        need(data, "key", "connection-type tls needs a client key")?,
                    ],
                );
            }
        }
        "static-key" => {
            let key = need(
                data,
                "static-key",
                "connection-type static-key needs the key",
            )?;
            push(&mut a, &["--secret", key]);
            if let Some(d) = data.get("static-key-direction") {
                a.push(d.clone());
            }
            let local = need(data, "local-ip", "static-key needs local-ip")?;
            let remote = need(data, "remote-ip", "static-key needs remote-ip")?;
            push(&mut a, &["--ifconfig", local, remote]);
        }
        other => {
            return Err(Error::InvalidArgument(format!(
                "vpn.data.connection-type: {other:?} is not one of tls, password, password-tls, static-key"
            )));
        }
    }
    let mut auth_file = None;
    if ctype == "password" || ctype == "password-tls" {
        // An imported credentials file's user name is a secret.
        let user = match secrets.get("username").filter(|u| !u.is_empty()) {
            Some(u) if !data.contains_key("username") => u.as_str(),
            _ => need(
                data,
                "username",
                "password authentication needs a user name",
            )?,
        };
        let pass = secrets.get("password").ok_or_else(|| {
            // NetworkManager's flags: 1 the agent keeps it, 2 never saved.
            let whose = match data.get("password-flags").map(String::as_str) {
                Some("1") => {
                    " — password-flags=1: the user's secret agent holds it, and none gave it"
                }
                Some("2") => " — password-flags=2: it is never saved, and no agent gave it",
                _ => "",
            };
            Error::InvalidArgument(format!(
                "vpn.secrets.password: missing (password authentication){whose}"
            ))
        })?;
        auth_file = Some(format!("{user}\n{pass}\n"));
        push(
            &mut a,
            &[
                "--auth-user-pass",
                &auth_path.display().to_string(),
                "--auth-retry",
                "none",
            ],
        );
    }
    let mut askpass_file = None;
    if let Some(p) = secrets.get("cert-pass") {
        askpass_file = Some(format!("{p}\n"));
        push(&mut a, &["--askpass", &askpass_path.display().to_string()]);
    }
    if let Some(ta) = data.get("ta") {
        push(&mut a, &["--tls-auth", ta]);
        if let Some(d) = data.get("ta-dir") {
            a.push(d.clone());
        }
    }
    if let Some(tc) = data.get("tls-crypt") {
        push(&mut a, &["--tls-crypt", tc]);
    }
    for (key, opt) in [
        ("cipher", "--cipher"),
        ("data-ciphers", "--data-ciphers"),
        ("auth", "--auth"),
        ("remote-cert-tls", "--remote-cert-tls"),
        ("tunnel-mtu", "--tun-mtu"),
        ("mssfix", "--mssfix"),
        ("reneg-seconds", "--reneg-sec"),
        ("tls-version-min", "--tls-version-min"),
        ("ping", "--ping"),
    ] {
        if let Some(v) = data.get(key) {
            push(&mut a, &[opt, v]);
        }
    }
    if let Some(v) = data.get("verify-x509-name") {
        // NM stores "type:name", openvpn takes "name type".
        match v.split_once(':') {
            Some((t, n)) => push(&mut a, &["--verify-x509-name", n, t]),
            None => push(&mut a, &["--verify-x509-name", v]),
        }
    }
    // A server that goes away: openvpn restarts the connection after
    // `ping-restart` seconds of silence (the server's own value filtered
    // out) and tries again, its tunnel kept (`--persist-tun`), while the
    // daemon bounds the outage (`reconnect-timeout`). A profile's
    // `ping-exit` ends the connection instead, as it asks.
    if let Some(v) = data.get("ping-exit") {
        push(&mut a, &["--ping-exit", v]);
    } else {
        let restart = data.get("ping-restart").map(String::as_str).unwrap_or("20");
        push(
            &mut a,
            &[
                "--ping-restart",
                restart,
                "--pull-filter",
                "ignore",
                "ping-restart",
            ],
        );
        if !data.contains_key("ping") {
            push(&mut a, &["--ping", "5"]);
        }
    }
    // The daemon configures the tunnel; openvpn touches nothing. Between
    // tries at most 5 s: a server back is found within seconds.
    push(
        &mut a,
        &[
            "--ifconfig-noexec",
            "--route-noexec",
            "--script-security",
            "2",
            "--up",
            helper,
            "--persist-tun",
            "--persist-key",
            "--connect-retry",
            "1",
            "5",
        ],
    );
    Ok(Invocation {
        args: a,
        auth_file,
        askpass_file,
    })
}

fn netmask_prefix(mask: &str) -> Option<u8> {
    let m: Ipv4Addr = mask.parse().ok()?;
    let bits = u32::from(m);
    (bits.leading_ones() + bits.trailing_zeros() == 32).then_some(bits.leading_ones() as u8)
}

/// Reads the pushed configuration from the environment openvpn gives its
/// `--up` command.
pub fn parse_env(env: &HashMap<String, String>) -> Result<VpnConfig, Error> {
    let bad = |what: &str| Error::InvalidArgument(format!("openvpn reported an unusable {what}"));
    let tundev = env
        .get("dev")
        .cloned()
        .ok_or_else(|| bad("configuration (no dev)"))?;
    let mut c = VpnConfig {
        tundev,
        ..Default::default()
    };
    c.mtu = env.get("tun_mtu").and_then(|m| m.parse().ok());
    if let Some(local) = env.get("ifconfig_local") {
        let addr: IpAddr = local.parse().map_err(|_| bad("ifconfig_local"))?;
        let v4 =
            |prefix| pushed_cidr(addr, prefix, Family::V4).ok_or_else(|| bad("ifconfig_local"));
        match (env.get("ifconfig_netmask"), env.get("ifconfig_remote")) {
            (Some(mask), _) => {
                let prefix = netmask_prefix(mask).ok_or_else(|| bad("ifconfig_netmask"))?;
                c.addr4 = Some(v4(prefix)?);
            }
            (None, Some(remote)) => {
                c.addr4 = Some(v4(32)?);
                c.peer4 = Some(remote.parse().map_err(|_| bad("ifconfig_remote"))?);
            }
            (None, None) => c.addr4 = Some(v4(32)?),
        }
    }
    if let (Some(a), Some(bits)) = (
        env.get("ifconfig_ipv6_local"),
        env.get("ifconfig_ipv6_netbits"),
    ) {
        let addr = a.parse().map_err(|_| bad("ifconfig_ipv6_local"))?;
        let prefix = pushed_prefix(bits, Family::V6).ok_or_else(|| bad("ifconfig_ipv6_netbits"))?;
        c.addr6 =
            Some(pushed_cidr(addr, prefix, Family::V6).ok_or_else(|| bad("ifconfig_ipv6_local"))?);
    }
    for i in 1.. {
        let Some(net) = env.get(&format!("route_network_{i}")) else {
            break;
        };
        let mask = env
            .get(&format!("route_netmask_{i}"))
            .map(String::as_str)
            .unwrap_or("255.255.255.255");
        let prefix = netmask_prefix(mask).ok_or_else(|| bad("route_netmask"))?;
        let addr: IpAddr = net.parse().map_err(|_| bad("route_network"))?;
        let dst = pushed_cidr(addr, prefix, Family::V4).ok_or_else(|| bad("route_network"))?;
        let gw = env
            .get(&format!("route_gateway_{i}"))
            .and_then(|g| g.parse().ok());
        c.routes.push((dst.network(), gw));
    }
    for i in 1.. {
        let Some(net) = env.get(&format!("route_ipv6_network_{i}")) else {
            break;
        };
        let cidr: Cidr = net.parse().map_err(|_| bad("route_ipv6_network"))?;
        let dst = pushed_cidr(cidr.addr, cidr.prefix, Family::V6)
            .ok_or_else(|| bad("route_ipv6_network"))?;
        c.routes.push((dst.network(), None));
    }
    for i in 1.. {
        let Some(opt) = env.get(&format!("foreign_option_{i}")) else {
            break;
        };
        let mut w = opt.split_whitespace();
        if w.next() != Some("dhcp-option") {
            continue;
        }
        let (kind, value) = (w.next(), w.next());
        if w.next().is_some() {
            tracing::warn!("ignoring a malformed pushed option: {opt:?}");
            continue;
        }
        match (kind, value) {
            (Some("DNS" | "DNS6"), Some(ip)) => {
                if let Ok(ip) = ip.parse() {
                    c.dns.push(ip);
                }
            }
            (Some("DOMAIN" | "DOMAIN-SEARCH"), Some(d))
                if crate::dns::check_search(d).is_ok() && !c.domains.iter().any(|x| x == d) =>
            {
                c.domains.push(d.to_string());
            }
            _ => {}
        }
    }
    Ok(c)
}

/// OpenVPN as a [`VpnType`]: openvpn reports through the helper (`--up`);
/// the credentials go to 0600 files (`N.auth`, `N.pass`).
pub struct OpenVpn;

impl VpnType for OpenVpn {
    fn name(&self) -> &'static str {
        "OpenVPN"
    }

    fn secrets_wanted(&self, p: &Profile) -> Option<super::secrets::Wanted> {
        super::secrets::openvpn(p)
    }

    fn validate(&self, p: &Profile) -> Result<(), Error> {
        // The names only go into the arguments: any will do to check.
        let (auth, askpass) = (Path::new("auth"), Path::new("pass"));
        invocation(&p.vpn_data(), &p.vpn_secrets(), "tun", "up", auth, askpass).map(drop)
    }

    fn launch(&self, p: &Profile, at: &Activation) -> Result<Launch, Error> {
        let (auth, askpass) = (at.file("auth"), at.file("pass"));
        let inv = invocation(
            &p.vpn_data(),
            &p.vpn_secrets(),
            &at.tundev,
            &at.helper,
            &auth,
            &askpass,
        )?;
        let mut files = Vec::new();
        if let Some(c) = inv.auth_file {
            files.push((auth, c));
        }
        if let Some(c) = inv.askpass_file {
            files.push((askpass, c));
        }
        Ok(Launch {
            client: Client {
                program: "openvpn",
                args: inv.args,
                stdin: None,
                files,
            },
            kernel: None,
            configure: None,
        })
    }

    fn reported(&self, env: &HashMap<String, String>) -> Result<Option<VpnConfig>, Error> {
        parse_env(env).map(Some)
    }

    fn failure_reason(&self, log: &str) -> u32 {
        failure_reason(log)
    }

    fn progress(&self, line: &str) -> Option<super::Progress> {
        progress(line)
    }
}

/// What an openvpn log line says of a connection that was up: a soft
/// restart (`SIGUSR1[soft,ping-restart] received, process restarting`)
/// is a reconnection; `Initialization Sequence Completed` is through.
pub fn progress(line: &str) -> Option<super::Progress> {
    if line.contains("Initialization Sequence Completed") {
        Some(super::Progress::Reconnected)
    } else if line.contains("SIGUSR1[") && line.contains("process restarting") {
        Some(super::Progress::Reconnecting)
    } else {
        None
    }
}

/// Why an openvpn process ended, from what it printed.
pub fn failure_reason(log: &str) -> u32 {
    use netnsd_api::state::reason;
    if log.contains("AUTH_FAILED") {
        reason::LOGIN_FAILED
    } else if log.contains("Inactivity timeout") || log.contains("ping-exit") {
        reason::SERVICE_STOPPED
    } else if log.contains("Exiting due to fatal error") || log.contains("Options error") {
        reason::SERVICE_START_FAILED
    } else {
        reason::SERVICE_STOPPED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn inv(d: &[(&str, &str)], s: &[(&str, &str)]) -> Result<Invocation, Error> {
        invocation(
            &data(d),
            &data(s),
            "nsvpn0",
            "/usr/libexec/netnsd --vpn-helper /run/x.sock",
            Path::new("/run/a"),
            Path::new("/run/p"),
        )
    }

    #[test]
    fn tls_profile() {
        let i = inv(
            &[
                ("remote", "vpn.example.com:1194"),
                ("connection-type", "tls"),
                ("ca", "/ca"),
                ("cert", "/c"),
                ("key", "/k"),
                ("ta", "/ta"),
                ("ta-dir", "1"),
            ],
            &[],
        )
        .unwrap();
        let s = i.args.join(" ");
        assert!(s.contains("--remote vpn.example.com 1194 udp"), "{s}");
        assert!(s.contains("--client --ca /ca --cert /c --key /k"), "{s}");
        assert!(s.contains("--tls-auth /ta 1"), "{s}");
        assert!(s.contains("--ifconfig-noexec --route-noexec"), "{s}");
        assert!(s.contains("--dev nsvpn0 --dev-type tun"), "{s}");
        assert!(i.auth_file.is_none());
    }

    #[test]
    fn password_goes_to_a_file_not_the_command_line() {
        let i = inv(
            &[
                ("remote", "10.0.0.1"),
                ("connection-type", "password"),
                ("ca", "/ca"),
                ("username", "alice"),
                ("proto-tcp", "yes"),
            ],
            &[("password", "s3cret")],
        )
        .unwrap();
        assert!(!i.args.iter().any(|a| a.contains("s3cret")));
        assert_eq!(i.auth_file.as_deref(), Some("alice\ns3cret\n"));
        assert!(
            i.args
                .join(" ")
                .contains("--remote 10.0.0.1 1194 tcp-client")
        );
    }

    #[test]
    fn a_user_name_kept_secret_is_used() {
        let i = inv(
            &[
                ("remote", "10.0.0.1"),
                ("connection-type", "password"),
                ("ca", "/ca"),
            ],
            &[("password", "s3cret"), ("username", "bob")],
        )
        .unwrap();
        assert_eq!(i.auth_file.as_deref(), Some("bob\ns3cret\n"));
    }

    #[test]
    fn refusals_name_the_key() {
        let e = inv(&[("connection-type", "tls")], &[]).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("vpn.data.remote")),
            "{e:?}"
        );
        let e = inv(
            &[("remote", "h"), ("connection-type", "tls"), ("ca", "/ca")],
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("vpn.data.cert")),
            "{e:?}"
        );
        let e = inv(
            &[
                ("remote", "h:99999"),
                ("ca", "/c"),
                ("cert", "/c"),
                ("key", "/k"),
            ],
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("port")),
            "{e:?}"
        );
        let e = inv(&[("remote", "h"), ("dev-type", "tap")], &[]).unwrap_err();
        assert!(matches!(e, Error::NotSupported(_)));
        let e = inv(&[("remote", "h"), ("tap-dev", "yes")], &[]).unwrap_err();
        assert!(
            matches!(&e, Error::NotSupported(m) if m.contains("vpn.data.tap-dev")),
            "{e:?}"
        );
        let ok = [("remote", "h"), ("ca", "/c"), ("cert", "/c"), ("key", "/k")];
        inv(&[ok.as_slice(), &[("tap-dev", "no")]].concat(), &[]).unwrap();
        let e = inv(
            &[
                ("remote", "h"),
                ("connection-type", "password"),
                ("ca", "/c"),
                ("username", "u"),
                ("password-flags", "1"),
            ],
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("password-flags=1") && m.contains("agent")),
            "{e:?}"
        );
        let e = inv(
            &[
                ("remote", "h"),
                ("connection-type", "password"),
                ("ca", "/c"),
                ("username", "u"),
            ],
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("vpn.secrets.password")),
            "{e:?}"
        );
    }

    #[test]
    fn pushed_configuration() {
        let env: HashMap<String, String> = [
            ("dev", "nsvpn0"),
            ("tun_mtu", "1500"),
            ("ifconfig_local", "10.8.0.2"),
            ("ifconfig_netmask", "255.255.255.0"),
            ("route_network_1", "10.99.0.0"),
            ("route_netmask_1", "255.255.255.0"),
            ("route_gateway_1", "10.8.0.1"),
            ("foreign_option_1", "dhcp-option DNS 10.99.0.53"),
            ("foreign_option_2", "dhcp-option DOMAIN corp.test"),
            ("foreign_option_3", "dhcp-option DOMAIN bad domain"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = parse_env(&env).unwrap();
        assert_eq!(c.tundev, "nsvpn0");
        assert_eq!(c.mtu, Some(1500));
        assert_eq!(c.addr4.unwrap().to_string(), "10.8.0.2/24");
        assert_eq!(
            c.routes,
            vec![(
                "10.99.0.0/24".parse().unwrap(),
                Some("10.8.0.1".parse().unwrap())
            )]
        );
        assert_eq!(c.dns, vec!["10.99.0.53".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.domains, vec!["corp.test".to_string()]);
        let mut p2p = env.clone();
        p2p.remove("ifconfig_netmask");
        p2p.insert("ifconfig_remote".into(), "10.8.0.1".into());
        let c = parse_env(&p2p).unwrap();
        assert_eq!(c.addr4.unwrap().to_string(), "10.8.0.2/32");
        assert_eq!(c.peer4, Some("10.8.0.1".parse().unwrap()));
        assert!(parse_env(&HashMap::new()).is_err());
    }

    #[test]
    fn values_that_look_like_options_are_refused() {
        for (k, v) in [
            ("ca", "--up"),
            ("cipher", " --script-security"),
            ("remote", "--config"),
        ] {
            let e = inv(&[("remote", "vpn.example.com"), (k, v)], &[]).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(m) if m.contains(&format!("vpn.data.{k}"))),
                "{k}={v}: {e:?}"
            );
        }
    }

    #[test]
    fn pushed_prefixes_are_range_checked() {
        let base: HashMap<String, String> = [("dev", "nsvpn0"), ("ifconfig_local", "10.8.0.2")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let with = |extra: &[(&str, &str)]| {
            let mut e = base.clone();
            e.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            parse_env(&e)
        };
        for (extra, what) in [
            (
                &[
                    ("ifconfig_ipv6_local", "fd00::2"),
                    ("ifconfig_ipv6_netbits", "200"),
                ][..],
                "ifconfig_ipv6_netbits",
            ),
            (
                &[
                    ("ifconfig_ipv6_local", "fd00::2"),
                    ("ifconfig_ipv6_netbits", "129"),
                ],
                "ifconfig_ipv6_netbits",
            ),
            (
                &[
                    ("ifconfig_ipv6_local", "10.0.0.1"),
                    ("ifconfig_ipv6_netbits", "64"),
                ],
                "ifconfig_ipv6_local",
            ),
            (&[("ifconfig_local", "fd00::2")], "ifconfig_local"),
            (
                &[
                    ("route_network_1", "10.0.0.0"),
                    ("route_netmask_1", "255.0.255.0"),
                ],
                "route_netmask",
            ),
            (&[("route_network_1", "fd00::")], "route_network"),
            (
                &[("route_ipv6_network_1", "fd00::/129")],
                "route_ipv6_network",
            ),
            (
                &[("route_ipv6_network_1", "10.0.0.0/8")],
                "route_ipv6_network",
            ),
        ] {
            let e = with(extra).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(m) if m.contains(what)),
                "{extra:?}: {e:?}"
            );
        }
        let c = with(&[
            ("ifconfig_ipv6_local", "fd00::2"),
            ("ifconfig_ipv6_netbits", "128"),
            ("route_ipv6_network_1", "fd01::/0"),
        ])
        .unwrap();
        assert_eq!(c.addr6.unwrap().to_string(), "fd00::2/128");
        assert_eq!(c.routes, vec![("::/0".parse().unwrap(), None)]);
    }

    #[test]
    fn a_lost_server_is_reconnected_not_given_up() {
        let base = [
            ("remote", "vpn.example.com"),
            ("ca", "/ca"),
            ("cert", "/c"),
            ("key", "/k"),
        ];
        let s = inv(&base, &[]).unwrap().args.join(" ");
        assert!(
            s.contains("--ping-restart 20 --pull-filter ignore ping-restart --ping 5"),
            "{s}"
        );
        assert!(s.contains("--persist-tun --persist-key"), "{s}");
        assert!(
            !s.contains("--ping-exit") && !s.contains("--connect-retry-max"),
            "{s}"
        );
        let mut own = base.to_vec();
        own.extend([("ping", "2"), ("ping-restart", "8")]);
        let s = inv(&own, &[]).unwrap().args.join(" ");
        assert!(
            s.contains("--ping-restart 8") && s.contains("--ping 2"),
            "{s}"
        );
        let mut exit = base.to_vec();
        exit.push(("ping-exit", "10"));
        let s = inv(&exit, &[]).unwrap().args.join(" ");
        assert!(
            s.contains("--ping-exit 10") && !s.contains("--ping-restart"),
            "{s}"
        );
        let mut bad = base.to_vec();
        bad.push(("reconnect-timeout", "0"));
        assert!(inv(&bad, &[]).is_err());

        use crate::vpn::Progress::*;
        assert_eq!(
            progress("2026-12-07 SIGUSR1[soft,ping-restart] received, process restarting"),
            Some(Reconnecting)
        );
        assert_eq!(
            progress("2026-12-07 Initialization Sequence Completed"),
            Some(Reconnected)
        );
        assert_eq!(progress("Restart pause, 5 second(s)"), None);
    }

    #[test]
    fn failure_reasons() {
        use netnsd_api::state::reason;
        assert_eq!(
            failure_reason("... AUTH: Received control message: AUTH_FAILED"),
            reason::LOGIN_FAILED
        );
        assert_eq!(
            failure_reason("[server] Inactivity timeout (--ping-exit), exiting"),
            reason::SERVICE_STOPPED
        );
    }

    fn activation() -> Activation {
        Activation::in_dir("/run/netnsd/vpn".into(), 7, Path::new("/usr/sbin/netnsd"))
    }

    #[test]
    fn as_a_vpn_type() {
        let p = Profile::from_keyfile(crate::vpn::tests::OPENVPN).unwrap();
        OpenVpn.validate(&p).unwrap();
        let l = OpenVpn.launch(&p, &activation()).unwrap();
        assert!(l.kernel.is_none() && l.configure.is_none());
        let c = l.client;
        assert_eq!((c.program, c.stdin), ("openvpn", None));
        let s = c.args.join(" ");
        assert!(
            s.contains("--dev nsvpn7 ")
                && s.contains("--up /usr/sbin/netnsd --vpn-helper /run/netnsd/vpn/7.sock")
                && s.contains("--auth-user-pass /run/netnsd/vpn/7.auth"),
            "{s}"
        );
        assert!(!s.contains("s3cret"), "{s}");
        assert_eq!(
            c.files,
            [("/run/netnsd/vpn/7.auth".into(), "alice\ns3cret\n".into())]
        );

        let no_remote = crate::vpn::tests::OPENVPN.replace("remote=", "x-remote=");
        let e = OpenVpn
            .validate(&Profile::from_keyfile(&no_remote).unwrap())
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("vpn.data.remote")),
            "{e:?}"
        );

        let env: HashMap<String, String> = [("dev", "nsvpn7"), ("ifconfig_local", "10.8.0.6")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(OpenVpn.reported(&env).unwrap().unwrap().tundev, "nsvpn7");
        assert_eq!(
            OpenVpn.failure_reason("AUTH_FAILED"),
            netnsd_api::state::reason::LOGIN_FAILED
        );
    }
}
