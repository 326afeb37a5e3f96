//! OpenConnect (AnyConnect, Juniper/Pulse, GlobalProtect, F5, Fortinet,
//! Array), the way NetworkManager-openconnect profiles describe it.
//!
//! openconnect runs in the uplink namespace with `netnsd --vpn-helper` as
//! its `--script`, in place of vpnc-script: it hands the configuration the
//! gateway sent (the vpnc-script variables: TUNDEV, INTERNAL_IP4_*,
//! CISCO_*) to the daemon instead of touching the host. Passwords and
//! cookies go to openconnect's standard input, never on a command line.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use netnsd_api::Error;

use super::{Activation, Client, Launch, VpnConfig, VpnType, pushed_cidr, pushed_prefix};
use crate::settings::Profile;
use netnsd_api::{Cidr, Family};

pub const SERVICE_TYPE: &str = "org.freedesktop.NetworkManager.openconnect";

/// The most split routes (CISCO_SPLIT_INC) a gateway may push: more is
/// refused (ip-config-invalid), never looped over.
const MAX_SPLIT_ROUTES: usize = 1024;

const PROTOCOLS: &[&str] = &["anyconnect", "nc", "pulse", "gp", "f5", "fortinet", "array"];

/// What to run: openconnect's arguments, and what to write to its stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub args: Vec<String>,
    pub stdin: Option<String>,
}

fn need<'a>(data: &'a BTreeMap<String, String>, key: &str, why: &str) -> Result<&'a str, Error> {
    data.get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::InvalidArgument(format!("vpn.data.{key}: missing ({why})")))
}

/// Builds the openconnect invocation for a profile's vpn.data and
/// vpn.secrets; `script` is the daemon's helper command.
pub fn invocation<'a>(
    data: &'a BTreeMap<String, String>,
    secrets: &'a BTreeMap<String, String>,
    tundev: &str,
    script: &str,
) -> Result<Invocation, Error> {
    let gateway = need(data, "gateway", "the VPN gateway to connect to")?;
    if gateway.starts_with('-') {
        // It would be read as an option (`--script=...` runs a program as
        // root): refused here, and `--` goes before it anyway.
        return Err(Error::InvalidArgument(format!(
            "vpn.data.gateway: {gateway:?} begins with '-' (a host name or URL is expected)"
        )));
    }
    let protocol = data
        .get("protocol")
        .map(String::as_str)
        .unwrap_or("anyconnect");
    if !PROTOCOLS.contains(&protocol) {
        return Err(Error::InvalidArgument(format!(
            "vpn.data.protocol: {protocol:?} is not one of {}",
            PROTOCOLS.join(", ")
        )));
    }
    super::check_reconnect_timeout(data)?;
    // openconnect reconnects by itself after losing its server, its tunnel
    // kept, for as long as the profile's reconnect-timeout allows.
    let reconnect = super::reconnect_timeout(data).as_secs();
    let mut a: Vec<String> = vec![
        "--non-inter".into(),
        format!("--protocol={protocol}"),
        format!("--interface={tundev}"),
        "--script".into(),
        script.into(),
        format!("--reconnect-timeout={reconnect}"),
    ];
    for (key, opt) in [
        ("cacert", "--cafile"),
        ("usercert", "--certificate"),
        ("userkey", "--sslkey"),
        ("useragent", "--useragent"),
        ("authgroup", "--authgroup"),
    ] {
        if let Some(v) = data.get(key).filter(|v| !v.is_empty()) {
            a.push(format!("{opt}={v}"));
        }
    }
    // The login: NetworkManager's auth dialog saves it as the secrets
    // "form:main:username" and "form:main:password"; older profiles (and
    // netnsd's own) have vpn.data.username and vpn.secrets.password.
    let nonempty = |m: &'a BTreeMap<String, String>, k: &str| {
        m.get(k).map(String::as_str).filter(|v| !v.is_empty())
    };
    if let Some(user) =
        nonempty(secrets, "form:main:username").or_else(|| nonempty(data, "username"))
    {
        a.push(format!("--user={user}"));
    }
    // NetworkManager's key is "reported_os"; "reported-os" was netnsd's.
    if let Some(os) = nonempty(data, "reported_os").or_else(|| nonempty(data, "reported-os")) {
        a.push(format!("--os={os}"));
    }
    // NetworkManager-openconnect keeps the accepted server certificate as
    // "gwcert" (secrets) or "servercert".
    if let Some(pin) = secrets.get("gwcert").or_else(|| data.get("servercert")) {
        a.push(format!("--servercert={pin}"));
    }
    let mut gateway = gateway;
    let stdin = if let Some(cookie) = secrets.get("cookie") {
        a.push("--cookie-on-stdin".into());
        // From a login (oclogin): where the gateway sent the client, and
        // the address it resolved to, as NetworkManager's auth dialog
        // returns them.
        if let Some(url) = nonempty(secrets, "gateway") {
            if url.starts_with('-') {
                return Err(Error::InvalidArgument(format!(
                    "vpn.secrets.gateway: {url:?} begins with '-'"
                )));
            }
            gateway = url;
        }
        if let Some(r) = nonempty(secrets, "resolve") {
            a.push(format!("--resolve={r}"));
        }
        Some(format!("{cookie}\n"))
    } else if let Some(pw) =
        nonempty(secrets, "form:main:password").or_else(|| nonempty(secrets, "password"))
    {
        a.push("--passwd-on-stdin".into());
        Some(format!("{pw}\n"))
    } else {
        None
    };
    if stdin.is_none() && !data.contains_key("usercert") {
        return Err(Error::InvalidArgument(
            "vpn.secrets.password: missing (no password, cookie or user certificate to log in with)".into(),
        ));
    }
    // The gateway last, after "--": whatever it holds, it is no option.
    a.push("--".into());
    a.push(gateway.to_string());
    Ok(Invocation { args: a, stdin })
}

/// Whether activating the profile begins with the interactive login
/// ([`super::oclogin`]): an AnyConnect gateway (its forms are what
/// openconnect dumps as XML) and no stored cookie.
pub fn logs_in(data: &BTreeMap<String, String>, secrets: &BTreeMap<String, String>) -> bool {
    let protocol = data
        .get("protocol")
        .map(String::as_str)
        .unwrap_or("anyconnect");
    protocol == "anyconnect" && !secrets.contains_key("cookie")
}

/// `openconnect --authenticate`'s arguments for the login: the profile's
/// server, certificates, user and group, no tunnel; the forms dumped
/// (`-v --dump-http-traffic`) for [`super::oclogin::Reader`].
pub fn login_args(
    data: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
) -> Result<Vec<String>, Error> {
    let inv = invocation(data, &with_placeholder_password(secrets), "t", "s")?;
    let mut a: Vec<String> = vec![
        "--authenticate".into(),
        "-v".into(),
        "--dump-http-traffic".into(),
    ];
    let mut args = inv.args.into_iter();
    while let Some(x) = args.next() {
        if x == "--script" {
            args.next();
        } else if x == "--" {
            // The gateway, and nothing after it.
            a.push(x);
            a.extend(args.by_ref());
        } else if !(x == "--non-inter"
            || x == "--passwd-on-stdin"
            || x.starts_with("--interface=")
            || x.starts_with("--reconnect-timeout="))
        {
            a.push(x);
        }
    }
    Ok(a)
}

fn with_placeholder_password(secrets: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut s = secrets.clone();
    s.insert("password".into(), "-".into());
    s
}

/// The stored secrets the login may answer the gateway's fields with:
/// every `form:FORMID:FIELD` of vpn.secrets, and the older `password` as
/// `form:main:password`, except those whose `KEY-flags` say they are not
/// saved (2: asked every time) or not required (4).
pub fn login_stored(
    data: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let flags = |k: &str| {
        data.get(&format!("{k}-flags"))
            .and_then(|f| f.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    let usable =
        |k: &str| flags(k) & (super::secrets::NOT_SAVED | super::secrets::NOT_REQUIRED) == 0;
    let mut out: BTreeMap<String, String> = secrets
        .iter()
        .filter(|(k, v)| k.starts_with("form:") && !v.is_empty() && usable(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(pw) = secrets.get("password").filter(|v| !v.is_empty())
        && usable("password")
        && usable("form:main:password")
    {
        out.entry("form:main:password".into())
            .or_insert_with(|| pw.clone());
    }
    out
}

fn mask_prefix(mask: &str) -> Option<u8> {
    let m: Ipv4Addr = mask.parse().ok()?;
    let bits = u32::from(m);
    (bits.leading_ones() + bits.trailing_zeros() == 32).then_some(bits.leading_ones() as u8)
}

/// The reason openconnect ran the script: only "connect" carries a
/// configuration to apply.
pub fn reason(env: &HashMap<String, String>) -> &str {
    env.get("reason").map(String::as_str).unwrap_or("")
}

/// Reads the configuration from vpnc-script variables.
pub fn parse_env(env: &HashMap<String, String>) -> Result<VpnConfig, Error> {
    let bad =
        |what: &str| Error::InvalidArgument(format!("openconnect reported an unusable {what}"));
    let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let tundev = get("TUNDEV")
        .ok_or_else(|| bad("configuration (no TUNDEV)"))?
        .to_string();
    let mut c = VpnConfig {
        tundev,
        ..Default::default()
    };
    c.mtu = get("INTERNAL_IP4_MTU").and_then(|m| m.parse().ok());
    if let Some(a) = get("INTERNAL_IP4_ADDRESS") {
        let addr: IpAddr = a.parse().map_err(|_| bad("INTERNAL_IP4_ADDRESS"))?;
        let prefix = match (get("INTERNAL_IP4_NETMASKLEN"), get("INTERNAL_IP4_NETMASK")) {
            (Some(l), _) => {
                pushed_prefix(l, Family::V4).ok_or_else(|| bad("INTERNAL_IP4_NETMASKLEN"))?
            }
            (None, Some(m)) => mask_prefix(m).ok_or_else(|| bad("INTERNAL_IP4_NETMASK"))?,
            _ => 32,
        };
        c.addr4 =
            Some(pushed_cidr(addr, prefix, Family::V4).ok_or_else(|| bad("INTERNAL_IP4_ADDRESS"))?);
    }
    if let Some(a) = get("INTERNAL_IP6_NETMASK").or(get("INTERNAL_IP6_ADDRESS")) {
        let cidr: Cidr = a.parse().map_err(|_| bad("INTERNAL_IP6_ADDRESS"))?;
        let addr = match get("INTERNAL_IP6_ADDRESS") {
            Some(x) => x.parse().map_err(|_| bad("INTERNAL_IP6_ADDRESS"))?,
            None => cidr.addr,
        };
        c.addr6 = Some(
            pushed_cidr(addr, cidr.prefix, Family::V6)
                .ok_or_else(|| bad("INTERNAL_IP6_ADDRESS"))?,
        );
    }
    for d in get("INTERNAL_IP4_DNS")
        .into_iter()
        .chain(get("INTERNAL_IP6_DNS"))
        .flat_map(str::split_whitespace)
    {
        if let Ok(ip) = d.parse() {
            c.dns.push(ip);
        }
    }
    for d in get("CISCO_DEF_DOMAIN")
        .into_iter()
        .flat_map(|s| s.split([' ', ',']))
        .chain(
            get("CISCO_SPLIT_DNS")
                .into_iter()
                .flat_map(|s| s.split(',')),
        )
    {
        let d = d.trim();
        if !d.is_empty() && crate::dns::check_search(d).is_ok() && !c.domains.iter().any(|x| x == d)
        {
            c.domains.push(d.to_string());
        }
    }
    let n: usize = match get("CISCO_SPLIT_INC") {
        Some(n) => n
            .parse()
            .ok()
            .filter(|n| *n <= MAX_SPLIT_ROUTES)
            .ok_or_else(|| bad("CISCO_SPLIT_INC (a count of at most 1024 routes)"))?,
        None => 0,
    };
    for i in 0..n {
        let Some(addr) =
            get(&format!("CISCO_SPLIT_INC_{i}_ADDR")).and_then(|a| a.parse::<IpAddr>().ok())
        else {
            continue;
        };
        let prefix = match (
            get(&format!("CISCO_SPLIT_INC_{i}_MASKLEN")),
            get(&format!("CISCO_SPLIT_INC_{i}_MASK")),
        ) {
            (Some(l), _) => pushed_prefix(l, Family::V4)
                .ok_or_else(|| bad(&format!("CISCO_SPLIT_INC_{i}_MASKLEN")))?,
            (None, Some(m)) => {
                mask_prefix(m).ok_or_else(|| bad(&format!("CISCO_SPLIT_INC_{i}_MASK")))?
            }
            (None, None) => 32,
        };
        let route = pushed_cidr(addr, prefix, Family::V4)
            .ok_or_else(|| bad(&format!("CISCO_SPLIT_INC_{i}_ADDR")))?;
        c.routes.push((route.network(), None));
    }
    c.banner = get("CISCO_BANNER").unwrap_or_default().to_string();
    Ok(c)
}

/// OpenConnect as a [`VpnType`]: openconnect reports through the helper
/// (`--script`); its password or cookie goes to its stdin.
pub struct OpenConnect;

impl VpnType for OpenConnect {
    fn name(&self) -> &'static str {
        "OpenConnect"
    }

    fn secrets_wanted(&self, p: &Profile) -> Option<super::secrets::Wanted> {
        super::secrets::openconnect(p)
    }

    fn validate(&self, p: &Profile) -> Result<(), Error> {
        // The names only go into the arguments: any will do to check.
        invocation(&p.vpn_data(), &p.vpn_secrets(), "tun", "script").map(drop)
    }

    fn launch(&self, p: &Profile, at: &Activation) -> Result<Launch, Error> {
        let inv = invocation(&p.vpn_data(), &p.vpn_secrets(), &at.tundev, &at.helper)?;
        Ok(Launch {
            client: Client {
                program: "openconnect",
                args: inv.args,
                stdin: inv.stdin,
                files: Vec::new(),
            },
            kernel: None,
            configure: None,
        })
    }

    fn login(
        &self,
        p: &Profile,
        netns: Option<std::fs::File>,
        ask: super::oclogin::Ask,
    ) -> Option<super::LoginFuture> {
        let (data, secrets) = (p.vpn_data(), p.vpn_secrets());
        if !logs_in(&data, &secrets) {
            return None;
        }
        let stored = login_stored(&data, &secrets);
        let args = login_args(&data, &secrets);
        Some(Box::pin(async move {
            let args = args.map_err(|e| super::oclogin::Failed {
                reason: netnsd_api::state::reason::SERVICE_START_FAILED,
                why: e.message(),
            })?;
            super::oclogin::login(args, netns, stored, ask).await
        }))
    }

    fn reported(&self, env: &HashMap<String, String>) -> Result<Option<VpnConfig>, Error> {
        if reason(env) != "connect" {
            // pre-init, disconnect, reconnect: nothing for the daemon to do.
            return Ok(None);
        }
        parse_env(env).map(Some)
    }

    fn failure_reason(&self, log: &str) -> u32 {
        failure_reason(log)
    }

    fn progress(&self, line: &str) -> Option<super::Progress> {
        progress(line)
    }
}

/// What an openconnect log line (default verbosity, libopenconnect 8/9's
/// wording) says of a connection that was up: the HTTPS (CSTP) channel
/// lost (dead peer, the server closing it, a reconnection attempt failing)
/// is a reconnection; `CSTP connected` (printed at each (re)connection) is
/// through. DTLS alone failing is not: openconnect goes on over CSTP.
pub fn progress(line: &str) -> Option<super::Progress> {
    const LOST: &[&str] = &[
        "CSTP Dead Peer Detection detected dead peer",
        "Failed to reconnect to host",
        "CSTP reconnect failed",
        "Reconnect failed",
        "Server terminated connection",
        "HTTPS socket closed by peer",
    ];
    if line.contains("CSTP connected") {
        Some(super::Progress::Reconnected)
    } else if LOST.iter().any(|l| line.contains(l)) {
        Some(super::Progress::Reconnecting)
    } else {
        None
    }
}

/// Why an openconnect process ended, from what it printed.
pub fn failure_reason(log: &str) -> u32 {
    use netnsd_api::state::reason;
    let l = log.to_lowercase();
    if l.contains("login failed")
        || l.contains("authentication failed")
        || l.contains("failed to obtain webvpn cookie")
    {
        reason::LOGIN_FAILED
    } else if l.contains("failed to connect") || l.contains("failed to open https") {
        reason::SERVICE_START_FAILED
    } else {
        reason::SERVICE_STOPPED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn password_on_stdin_not_command_line() {
        let i = invocation(
            &m(&[
                ("gateway", "vpn.example.com"),
                ("protocol", "gp"),
                ("username", "alice"),
                ("cacert", "/ca.pem"),
            ]),
            &m(&[("password", "hunter2")]),
            "nsvpn3",
            "/usr/libexec/netnsd --vpn-helper /run/s",
        )
        .unwrap();
        let s = i.args.join(" ");
        assert!(!s.contains("hunter2"));
        assert_eq!(i.stdin.as_deref(), Some("hunter2\n"));
        assert!(
            s.contains("--protocol=gp")
                && s.contains("--interface=nsvpn3")
                && s.contains("--user=alice"),
            "{s}"
        );
        assert!(
            s.contains("--passwd-on-stdin") && s.ends_with(" -- vpn.example.com"),
            "{s}"
        );
        assert!(s.contains("--reconnect-timeout=300"), "{s}");
    }

    #[test]
    fn losing_the_server_and_getting_it_back_are_progress() {
        use crate::vpn::Progress::*;
        for (line, want) in [
            (
                "CSTP Dead Peer Detection detected dead peer!",
                Some(Reconnecting),
            ),
            (
                "Failed to reconnect to host 203.0.113.1: Connection refused",
                Some(Reconnecting),
            ),
            ("Server terminated connection", Some(Reconnecting)),
            ("HTTPS socket closed by peer; reopening", Some(Reconnecting)),
            ("CSTP connected. DPD 90, Keepalive 32400", Some(Reconnected)),
            ("DTLS Dead Peer Detection detected dead peer!", None),
            ("Established DTLS connection (using GnuTLS).", None),
            ("Got CONNECT response: HTTP/1.1 200 CONNECTED", None),
        ] {
            assert_eq!(progress(line), want, "{line}");
        }
    }

    #[test]
    fn the_profile_bounds_reconnection() {
        let d = |t: &str| m(&[("gateway", "g"), ("reconnect-timeout", t)]);
        let pw = m(&[("password", "p")]);
        let i = invocation(&d("45"), &pw, "t", "s").unwrap();
        assert!(i.args.contains(&"--reconnect-timeout=45".to_string()));
        assert!(
            matches!(invocation(&d("0"), &pw, "t", "s"), Err(Error::InvalidArgument(e)) if e.contains("vpn.data.reconnect-timeout"))
        );
    }

    /// A profile as NetworkManager-openconnect keeps it: the login in the
    /// secrets its auth dialog saves (form:main:username and
    /// form:main:password), the OS as "reported_os", no cookie or gwcert.
    #[test]
    fn networkmanagers_login_secrets_and_reported_os() {
        let i = invocation(
            &m(&[
                ("gateway", "vpn.example.com"),
                ("protocol", "anyconnect"),
                ("reported_os", "linux-64"),
                ("cacert", "/ca.pem"),
            ]),
            &m(&[
                ("form:main:username", "alice"),
                ("form:main:password", "hunter2"),
            ]),
            "nsvpn3",
            "s",
        )
        .unwrap();
        let s = i.args.join(" ");
        assert!(
            s.contains("--user=alice") && s.contains("--os=linux-64"),
            "{s}"
        );
        assert!(
            s.contains("--passwd-on-stdin") && !s.contains("hunter2"),
            "{s}"
        );
        assert!(
            !s.contains("--cookie") && !s.contains("--servercert"),
            "{s}"
        );
        assert_eq!(i.stdin.as_deref(), Some("hunter2\n"));
        // netnsd's older spelling still works.
        let i = invocation(
            &m(&[
                ("gateway", "g"),
                ("reported-os", "win"),
                ("username", "bob"),
            ]),
            &m(&[("password", "p")]),
            "t",
            "s",
        )
        .unwrap();
        let s = i.args.join(" ");
        assert!(s.contains("--os=win") && s.contains("--user=bob"), "{s}");
        // The saved login wins over vpn.data.username.
        let i = invocation(
            &m(&[("gateway", "g"), ("username", "old")]),
            &m(&[("form:main:username", "new"), ("form:main:password", "p")]),
            "t",
            "s",
        )
        .unwrap();
        assert!(i.args.contains(&"--user=new".to_string()), "{:?}", i.args);
    }

    /// The login: `openconnect --authenticate` with the profile's server,
    /// CA, user and group and no tunnel; then the tunnel with the cookie,
    /// at the URL and address the login ended at.
    #[test]
    fn the_login_then_the_tunnel_with_its_cookie() {
        let data = m(&[
            ("gateway", "vpn.example.com"),
            ("cacert", "/ca.pem"),
            ("username", "alice"),
            ("authgroup", "eng"),
            ("form:main:password-flags", "2"),
        ]);
        assert!(logs_in(&data, &m(&[])));
        assert!(!logs_in(&data, &m(&[("cookie", "c")])));
        let gp = m(&[("gateway", "g"), ("protocol", "gp")]);
        assert!(!logs_in(&gp, &m(&[])));
        let a = login_args(&data, &m(&[])).unwrap();
        assert_eq!(a[..3], ["--authenticate", "-v", "--dump-http-traffic"]);
        let s = a.join(" ");
        assert!(
            s.contains("--cafile=/ca.pem")
                && s.contains("--user=alice")
                && s.contains("--authgroup=eng")
                && s.ends_with(" -- vpn.example.com"),
            "{s}"
        );
        for gone in [
            "--script",
            "--interface",
            "--non-inter",
            "--passwd-on-stdin",
            "--reconnect",
        ] {
            assert!(!s.contains(gone), "{s}");
        }
        // Stored answers: form:* and the older password, not those asked
        // every time.
        let stored = login_stored(
            &data,
            &m(&[
                ("password", "old"),
                ("form:main:password", "asked"),
                ("form:main:group_list", "ops"),
                ("cookie-flags", "0"),
            ]),
        );
        assert_eq!(stored, m(&[("form:main:group_list", "ops")]));
        let stored = login_stored(&m(&[("gateway", "g")]), &m(&[("password", "pw")]));
        assert_eq!(stored, m(&[("form:main:password", "pw")]));

        let got = m(&[
            ("cookie", "webvpn=AA"),
            ("gwcert", "pin-sha256:x"),
            ("gateway", "https://203.0.113.1/"),
            ("resolve", "203.0.113.1:203.0.113.1"),
        ]);
        let i = invocation(&data, &got, "nsvpn1", "s").unwrap();
        let s = i.args.join(" ");
        assert_eq!(i.stdin.as_deref(), Some("webvpn=AA\n"));
        assert!(
            s.contains("--cookie-on-stdin")
                && s.contains("--servercert=pin-sha256:x")
                && s.contains("--resolve=203.0.113.1:203.0.113.1")
                && s.ends_with(" -- https://203.0.113.1/")
                && !s.contains("webvpn=AA"),
            "{s}"
        );
        let mut bad = got.clone();
        bad.insert("gateway".into(), "--script=/x".into());
        assert!(invocation(&data, &bad, "t", "s").is_err());
    }

    #[test]
    fn refusals() {
        assert!(
            matches!(invocation(&m(&[]), &m(&[]), "t", "s"), Err(Error::InvalidArgument(e)) if e.contains("gateway"))
        );
        assert!(
            matches!(invocation(&m(&[("gateway", "g"), ("protocol", "ipsec")]), &m(&[("password", "p")]), "t", "s"), Err(Error::InvalidArgument(e)) if e.contains("protocol"))
        );
        assert!(
            matches!(invocation(&m(&[("gateway", "g")]), &m(&[]), "t", "s"), Err(Error::InvalidArgument(e)) if e.contains("password"))
        );
        for g in ["--script=/tmp/evil", "-s/tmp/evil", "-"] {
            assert!(
                matches!(invocation(&m(&[("gateway", g)]), &m(&[("password", "p")]), "t", "s"), Err(Error::InvalidArgument(e)) if e.contains("vpn.data.gateway") && e.contains("'-'")),
                "{g}"
            );
        }
    }

    #[test]
    fn vpnc_script_variables() {
        let env: HashMap<String, String> = [
            ("reason", "connect"),
            ("TUNDEV", "nsvpn3"),
            ("INTERNAL_IP4_ADDRESS", "192.168.100.5"),
            ("INTERNAL_IP4_NETMASK", "255.255.255.0"),
            ("INTERNAL_IP4_MTU", "1400"),
            ("INTERNAL_IP4_DNS", "10.99.0.53 10.99.0.54"),
            ("CISCO_DEF_DOMAIN", "corp.test"),
            ("CISCO_SPLIT_DNS", "intra.test,corp.test"),
            ("CISCO_SPLIT_INC", "1"),
            ("CISCO_SPLIT_INC_0_ADDR", "10.99.0.0"),
            ("CISCO_SPLIT_INC_0_MASKLEN", "24"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(reason(&env), "connect");
        let c = parse_env(&env).unwrap();
        assert_eq!(c.tundev, "nsvpn3");
        assert_eq!(c.addr4.unwrap().to_string(), "192.168.100.5/24");
        assert_eq!(c.mtu, Some(1400));
        assert_eq!(c.dns.len(), 2);
        assert_eq!(
            c.domains,
            vec!["corp.test".to_string(), "intra.test".to_string()]
        );
        assert_eq!(c.routes, vec![("10.99.0.0/24".parse().unwrap(), None)]);
    }

    fn env(kv: &[(&str, &str)]) -> HashMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pushed_prefixes_are_range_checked() {
        let base = [
            ("reason", "connect"),
            ("TUNDEV", "nsvpn3"),
            ("INTERNAL_IP4_ADDRESS", "192.168.100.5"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut e = env(&base);
            e.extend(env(extra));
            parse_env(&e)
        };
        let refused = |extra: &[(&str, &str)], what: &str| {
            let e = with(extra).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(m) if m.contains(what)),
                "{extra:?}: {e:?}"
            );
        };
        refused(
            &[("INTERNAL_IP4_NETMASKLEN", "200")],
            "INTERNAL_IP4_NETMASKLEN",
        );
        refused(
            &[("INTERNAL_IP4_NETMASKLEN", "33")],
            "INTERNAL_IP4_NETMASKLEN",
        );
        refused(
            &[("INTERNAL_IP4_ADDRESS", "fd00::1")],
            "INTERNAL_IP4_ADDRESS",
        );
        refused(
            &[("INTERNAL_IP6_ADDRESS", "fd00::1/129")],
            "INTERNAL_IP6_ADDRESS",
        );
        refused(
            &[("INTERNAL_IP6_NETMASK", "10.0.0.0/8")],
            "INTERNAL_IP6_ADDRESS",
        );
        for len in ["33", "200", "255", "-1", "x"] {
            refused(
                &[
                    ("CISCO_SPLIT_INC", "1"),
                    ("CISCO_SPLIT_INC_0_ADDR", "10.99.0.0"),
                    ("CISCO_SPLIT_INC_0_MASKLEN", len),
                ],
                "CISCO_SPLIT_INC_0_MASKLEN",
            );
        }
        refused(
            &[
                ("CISCO_SPLIT_INC", "1"),
                ("CISCO_SPLIT_INC_0_ADDR", "fd00::"),
                ("CISCO_SPLIT_INC_0_MASKLEN", "24"),
            ],
            "CISCO_SPLIT_INC_0_ADDR",
        );
        assert_eq!(
            with(&[("INTERNAL_IP4_NETMASKLEN", "32")])
                .unwrap()
                .addr4
                .unwrap()
                .to_string(),
            "192.168.100.5/32"
        );
        assert_eq!(
            with(&[
                ("CISCO_SPLIT_INC", "1"),
                ("CISCO_SPLIT_INC_0_ADDR", "10.99.0.7"),
                ("CISCO_SPLIT_INC_0_MASKLEN", "0"),
            ])
            .unwrap()
            .routes,
            vec![("0.0.0.0/0".parse().unwrap(), None)]
        );
    }

    #[test]
    fn the_split_route_count_is_bounded() {
        let e = env(&[
            ("reason", "connect"),
            ("TUNDEV", "nsvpn3"),
            ("CISCO_SPLIT_INC", "18446744073709551615"),
        ]);
        let t = std::time::Instant::now();
        let r = parse_env(&e).unwrap_err();
        assert!(
            matches!(&r, Error::InvalidArgument(m) if m.contains("CISCO_SPLIT_INC")),
            "{r:?}"
        );
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        let mut e = e;
        e.insert("CISCO_SPLIT_INC".into(), "1025".into());
        assert!(parse_env(&e).is_err());
        e.insert("CISCO_SPLIT_INC".into(), "1024".into());
        assert!(parse_env(&e).unwrap().routes.is_empty());
    }

    #[test]
    fn as_a_vpn_type() {
        let p = Profile::from_keyfile(
            "[connection]\nid=oc\nuuid=5d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a21\ntype=vpn\n\n\
             [vpn]\nservice-type=org.freedesktop.NetworkManager.openconnect\n\
             gateway=vpn.example.com\nusername=alice\n\n[vpn-secrets]\npassword=hunter2\n",
        )
        .unwrap();
        OpenConnect.validate(&p).unwrap();
        let at = Activation::in_dir("/run/netnsd/vpn".into(), 2, std::path::Path::new("/bin/n"));
        let l = OpenConnect.launch(&p, &at).unwrap();
        assert!(l.kernel.is_none() && l.configure.is_none());
        let c = l.client;
        assert_eq!(c.program, "openconnect");
        assert_eq!(c.stdin.as_deref(), Some("hunter2\n"));
        assert!(c.files.is_empty());
        let s = c.args.join(" ");
        assert!(
            s.contains("--interface=nsvpn2")
                && s.contains("--script /bin/n --vpn-helper /run/netnsd/vpn/2.sock"),
            "{s}"
        );

        let env = |reason: &str| -> HashMap<String, String> {
            [
                ("reason", reason),
                ("TUNDEV", "nsvpn2"),
                ("INTERNAL_IP4_ADDRESS", "10.9.0.2"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        assert_eq!(OpenConnect.reported(&env("pre-init")).unwrap(), None);
        assert_eq!(
            OpenConnect
                .reported(&env("connect"))
                .unwrap()
                .unwrap()
                .tundev,
            "nsvpn2"
        );
        assert_eq!(
            OpenConnect.failure_reason("Login failed."),
            netnsd_api::state::reason::LOGIN_FAILED
        );
    }
}
