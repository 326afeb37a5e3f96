//! `netnsd --vpn-plugin-host SOCKET TUNDEV`: one NetworkManager VPN plugin
//! driven as NetworkManager's `nm-vpn-connection.c` drives it, in a
//! process of its own (the daemon never forks a plugin or blocks on one).
//!
//! It reads a [`HostInput`] on stdin, runs the plugin's program (with
//! `--bus-name` when it supports several connections, as NetworkManager
//! does), waits for its bus name, asks `NeedSecrets` (and, when it names a
//! setting, the daemon, which asks the user's agents: `ask.rs`), calls
//! `ConnectInteractive` (or `Connect`) with the connection as `a{sa{sv}}`
//! (with the secrets the daemon had the user's agents asked for before the
//! launch), answers `SecretsRequired` with `NewSecrets` after asking the
//! daemon again, and follows the plugin's signals: once `Config` (and `Ip4Config`/`Ip6Config` as Config's
//! has-ip4/has-ip6 say) arrived, the configuration goes to the daemon over
//! SOCKET, as a hook's environment does for the built-in types. `Failure`
//! and `StateChanged` (stopped) end it with NetworkManager's reason,
//! printed as the last line ([`FAILURE_PREFIX`]). SIGTERM: `Disconnect`, then the plugin is stopped.
//! The plugin gets SIGTERM when the host dies, however it dies.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use netnsd_api::state::reason;
use netnsd_api::{Error, Family};
use zbus::message::Type;
use zbus::wire::{OwnedVariant, Variant};
use zbus::{Connection, MatchRule, Message, MessageStream};

use super::ask::{self, Ask};
use super::{FAILURE_PREFIX, HostInput, to_report};
use crate::vpn::VpnConfig;

pub const PLUGIN_PATH: &str = "/org/freedesktop/NetworkManager/VPN/Plugin";
pub const PLUGIN_INTERFACE: &str = "org.freedesktop.NetworkManager.VPN.Plugin";

/// NMVpnServiceState.
pub mod service_state {
    pub const STARTING: u32 = 3;
    pub const STARTED: u32 = 4;
    pub const STOPPING: u32 = 5;
    pub const STOPPED: u32 = 6;
}

/// NMVpnPluginFailure.
pub mod plugin_failure {
    pub const LOGIN_FAILED: u32 = 0;
    pub const CONNECT_FAILED: u32 = 1;
    pub const BAD_IP_CONFIG: u32 = 2;
}

/// How long the plugin has to take its bus name.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long Disconnect, then the plugin's own end, may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// The connection as NetworkManager hands it to a plugin (`a{sa{sv}}`):
/// the `connection` and `vpn` settings (data, secrets, user name) and
/// automatic IP methods.
pub fn connection_dict(input: &HostInput) -> HashMap<String, HashMap<String, OwnedVariant>> {
    connection_dict_with(input, &input.secrets)
}

/// [`connection_dict`] with these `vpn.secrets` (the stored ones and what
/// the user's agent gave since).
pub fn connection_dict_with(
    input: &HostInput,
    secrets: &BTreeMap<String, String>,
) -> HashMap<String, HashMap<String, OwnedVariant>> {
    let s = |v: &str| OwnedVariant::try_from(Variant::from(v.to_owned())).expect("no fds");
    let mut connection = HashMap::new();
    connection.insert("id".to_owned(), s(&input.id));
    connection.insert("uuid".to_owned(), s(&input.uuid));
    connection.insert("type".to_owned(), s("vpn"));
    let mut vpn = HashMap::new();
    vpn.insert("service-type".to_owned(), s(&input.plugin.service));
    vpn.insert("data".to_owned(), OwnedVariant::from(input.data.clone()));
    vpn.insert("secrets".to_owned(), OwnedVariant::from(secrets.clone()));
    if let Some(u) = &input.user_name {
        vpn.insert("user-name".to_owned(), s(u));
    }
    let auto = || HashMap::from([("method".to_owned(), s("auto"))]);
    HashMap::from([
        ("connection".to_owned(), connection),
        ("vpn".to_owned(), vpn),
        ("ipv4".to_owned(), auto()),
        ("ipv6".to_owned(), auto()),
    ])
}

/// Asks the daemon for secrets (it asks the activating user's agents,
/// `ask.rs`), off the runtime; None when the host is told to stop
/// meanwhile.
async fn ask_daemon(
    socket: &Path,
    req: Ask,
    term: &mut tokio::signal::unix::Signal,
) -> Option<Result<BTreeMap<String, String>, String>> {
    eprintln!(
        "netnsd plugin host: asking the user's agent for {:?} (hints {:?})",
        req.setting, req.hints
    );
    let socket = socket.to_path_buf();
    let task = tokio::task::spawn_blocking(move || ask::ask(&socket, &req));
    tokio::select! {
        r = task => Some(r.unwrap_or_else(|e| Err(e.to_string()))),
        _ = term.recv() => None,
    }
}

/// The error a plugin without ConnectInteractive answers it with (then
/// NetworkManager calls Connect).
const INTERACTIVE_NOT_SUPPORTED: &[&str] = &[
    "org.freedesktop.NetworkManager.VPN.Error.InteractiveNotSupported",
    "org.freedesktop.DBus.Error.UnknownMethod",
];

/// An IPv4 address as NetworkManager puts it in a `u` (network byte order
/// in memory).
pub fn ipv4_of(u: u32) -> Ipv4Addr {
    Ipv4Addr::from(u.to_ne_bytes())
}

fn u32_of(v: &Variant<'_>) -> Option<u32> {
    match v {
        Variant::U32(u) => Some(*u),
        Variant::Variant(inner) => u32_of(inner),
        _ => None,
    }
}

fn str_of(v: &Variant<'_>) -> Option<String> {
    match v {
        Variant::Str(s) => Some(s.to_string()),
        Variant::Variant(inner) => str_of(inner),
        _ => None,
    }
}

fn bool_of(v: &Variant<'_>) -> Option<bool> {
    match v {
        Variant::Bool(b) => Some(*b),
        Variant::Variant(inner) => bool_of(inner),
        _ => None,
    }
}

fn items<'a>(v: &'a Variant<'a>) -> &'a [Variant<'a>] {
    match v {
        Variant::Array(a) => a.inner(),
        _ => &[],
    }
}

fn fields<'a>(v: &'a Variant<'a>) -> &'a [Variant<'a>] {
    match v {
        Variant::Structure(s) => s.fields(),
        _ => &[],
    }
}

fn bytes_of(v: &Variant<'_>) -> Option<Vec<u8>> {
    match v {
        Variant::Array(a) => a
            .inner()
            .iter()
            .map(|b| match b {
                Variant::U8(b) => Some(*b),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn ipv6_of(v: &Variant<'_>) -> Option<Ipv6Addr> {
    let b: [u8; 16] = bytes_of(v)?.try_into().ok()?;
    Some(Ipv6Addr::from(b))
}

fn bad(what: &str) -> Error {
    Error::InvalidArgument(format!("the VPN plugin sent a bad {what}"))
}

type Dict = HashMap<String, OwnedVariant>;

/// What the `Config` signal says: the tunnel, its MTU, the banner, and
/// which IP configurations follow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginConfig {
    pub tundev: Option<String>,
    pub mtu: Option<u32>,
    pub banner: Option<String>,
    pub has_ip4: bool,
    pub has_ip6: bool,
}

pub fn parse_config(d: &Dict) -> PluginConfig {
    let get = |k: &str| d.get(k).map(|v| &**v);
    PluginConfig {
        tundev: get("tundev").and_then(str_of).filter(|t| !t.is_empty()),
        mtu: get("mtu").and_then(u32_of),
        banner: get("banner").and_then(str_of),
        // As NetworkManager: IPv4 unless said otherwise, IPv6 if said.
        has_ip4: get("has-ip4").and_then(bool_of).unwrap_or(true),
        has_ip6: get("has-ip6").and_then(bool_of).unwrap_or(false),
    }
}

/// `Ip4Config`, applied to `c`: address and prefix (or point-to-point
/// peer), DNS, domains, routes (`routes` aau and `route-data` aa{sv}).
pub fn apply_ip4(d: &Dict, c: &mut VpnConfig) -> Result<(), Error> {
    let get = |k: &str| d.get(k).map(|v| &**v);
    if let Some(a) = get("address").and_then(u32_of) {
        let prefix = get("prefix").and_then(u32_of).unwrap_or(32);
        let prefix = u8::try_from(prefix).map_err(|_| bad("IPv4 prefix"))?;
        c.addr4 = Some(
            crate::vpn::pushed_cidr(IpAddr::V4(ipv4_of(a)), prefix, Family::V4)
                .ok_or_else(|| bad("IPv4 prefix"))?,
        );
    }
    if let Some(p) = get("ptp").and_then(u32_of).filter(|p| *p != 0) {
        c.peer4 = Some(IpAddr::V4(ipv4_of(p)));
    }
    if let Some(dns) = get("dns") {
        for s in items(dns) {
            let a = u32_of(s).ok_or_else(|| bad("DNS"))?;
            c.dns.push(IpAddr::V4(ipv4_of(a)));
        }
    }
    domains(d, c);
    if let Some(routes) = get("routes") {
        for r in items(routes) {
            let r = items(r);
            let (Some(dst), Some(prefix)) = (r.first().and_then(u32_of), r.get(1).and_then(u32_of))
            else {
                return Err(bad("IPv4 route"));
            };
            push_route(c, IpAddr::V4(ipv4_of(dst)), prefix, Family::V4)?;
        }
    }
    if let Some(routes) = get("route-data") {
        for r in items(routes) {
            route_data(r, c, Family::V4)?;
        }
    }
    Ok(())
}

/// `Ip6Config`, applied to `c`.
pub fn apply_ip6(d: &Dict, c: &mut VpnConfig) -> Result<(), Error> {
    let get = |k: &str| d.get(k).map(|v| &**v);
    if let Some(a) = get("address").and_then(ipv6_of) {
        let prefix = get("prefix").and_then(u32_of).unwrap_or(128);
        let prefix = u8::try_from(prefix).map_err(|_| bad("IPv6 prefix"))?;
        c.addr6 = Some(
            crate::vpn::pushed_cidr(IpAddr::V6(a), prefix, Family::V6)
                .ok_or_else(|| bad("IPv6 prefix"))?,
        );
    }
    if let Some(dns) = get("dns") {
        for s in items(dns) {
            c.dns
                .push(IpAddr::V6(ipv6_of(s).ok_or_else(|| bad("DNS"))?));
        }
    }
    domains(d, c);
    if let Some(routes) = get("routes") {
        for r in items(routes) {
            let f = fields(r);
            let (Some(dst), Some(prefix)) =
                (f.first().and_then(ipv6_of), f.get(1).and_then(u32_of))
            else {
                return Err(bad("IPv6 route"));
            };
            push_route(c, IpAddr::V6(dst), prefix, Family::V6)?;
        }
    }
    if let Some(routes) = get("route-data") {
        for r in items(routes) {
            route_data(r, c, Family::V6)?;
        }
    }
    Ok(())
}

fn domains(d: &Dict, c: &mut VpnConfig) {
    if let Some(dom) = d.get("domain").and_then(|v| str_of(v)) {
        c.domains.push(dom);
    }
    if let Some(list) = d.get("domains") {
        c.domains.extend(items(list).iter().filter_map(str_of));
    }
    c.domains.retain(|d| !d.is_empty());
    c.domains.dedup();
}

fn push_route(c: &mut VpnConfig, dst: IpAddr, prefix: u32, family: Family) -> Result<(), Error> {
    let prefix = u8::try_from(prefix).map_err(|_| bad("route prefix"))?;
    let cidr = crate::vpn::pushed_cidr(dst, prefix, family).ok_or_else(|| bad("route"))?;
    let net = cidr.network();
    if !c.routes.iter().any(|(r, _)| *r == net) {
        c.routes.push((net, None));
    }
    Ok(())
}

/// One `route-data` entry (`a{sv}`: dest, prefix, next-hop, metric).
fn route_data(r: &Variant<'_>, c: &mut VpnConfig, family: Family) -> Result<(), Error> {
    let Variant::Dict(d) = r else {
        return Err(bad("route-data"));
    };
    let get = |key: &str| {
        d.iter()
            .find(|(k, _)| str_of(k).as_deref() == Some(key))
            .map(|(_, v)| v)
    };
    let dest = get("dest")
        .and_then(str_of)
        .and_then(|s| s.parse::<IpAddr>().ok())
        .ok_or_else(|| bad("route-data dest"))?;
    let prefix = get("prefix")
        .and_then(u32_of)
        .ok_or_else(|| bad("route-data prefix"))?;
    push_route(c, dest, prefix, family)
}

/// NetworkManager's reason for a plugin's `Failure(u)`.
pub fn failure_reason(plugin_failure: u32) -> u32 {
    match plugin_failure {
        plugin_failure::LOGIN_FAILED => reason::LOGIN_FAILED,
        plugin_failure::BAD_IP_CONFIG => reason::IP_CONFIG_INVALID,
        _ => reason::UNKNOWN,
    }
}

/// Where the host stands with the plugin's configuration.
#[derive(Debug, Default)]
struct Pending {
    config: Option<PluginConfig>,
    ip4: Option<Dict>,
    ip6: Option<Dict>,
    banner: Option<String>,
    reported: bool,
}

impl Pending {
    /// The configuration to report, once everything Config announced came.
    fn complete(&self) -> Option<Result<VpnConfig, Error>> {
        let cfg = self.config.as_ref()?;
        if (cfg.has_ip4 && self.ip4.is_none()) || (cfg.has_ip6 && self.ip6.is_none()) {
            return None;
        }
        Some((|| {
            let tundev = cfg.tundev.clone().ok_or_else(|| {
                Error::NotSupported(
                    "the VPN plugin made no tunnel device (Config has no tundev): \
                     nothing to isolate"
                        .into(),
                )
            })?;
            let mut c = VpnConfig {
                tundev,
                mtu: cfg.mtu,
                banner: self
                    .banner
                    .clone()
                    .or(cfg.banner.clone())
                    .unwrap_or_default(),
                ..VpnConfig::default()
            };
            if let Some(d) = &self.ip4 {
                apply_ip4(d, &mut c)?;
            }
            if let Some(d) = &self.ip6 {
                apply_ip6(d, &mut c)?;
            }
            Ok(c)
        })())
    }
}

/// The device that carries the tunnel's traffic, when it is not the one
/// Config named: the link in this (the uplink) namespace that already
/// holds the pushed address. charon-nm names a dummy TUN device in
/// Config (for DNS), while with kernel-libipsec charon puts the virtual
/// IP on libipsec's own TUN device (`ipsec0`), which is the one packets
/// go through. NetworkManager's plugins that leave the addresses to
/// NetworkManager hold none: Config's tundev stays.
async fn carrying_device(c: &VpnConfig) -> Option<String> {
    use futures::TryStreamExt;
    use netlink_packet_route::link::LinkAttribute;
    let wanted: Vec<IpAddr> = [c.addr4, c.addr6]
        .iter()
        .flatten()
        .map(|a| a.addr)
        .collect();
    if wanted.is_empty() {
        return None;
    }
    let (connection, handle, _) = rtnetlink::new_connection().ok()?;
    let task = tokio::spawn(connection);
    let found = async {
        let mut addrs = handle.address().get().execute();
        let mut index = None;
        while let Ok(Some(m)) = addrs.try_next().await {
            if let Some((idx, a)) = crate::netlink::address_of(&m)
                && let Some(ip) = a.split('/').next().and_then(|ip| ip.parse::<IpAddr>().ok())
                && wanted.contains(&ip)
            {
                index = Some(idx);
                break;
            }
        }
        let mut links = handle.link().get().match_index(index?).execute();
        let link = links.try_next().await.ok()??;
        link.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
    }
    .await;
    task.abort();
    found
}

/// How the host ends: 0 when asked to, else 1 after the failure line.
fn failed(why: u32, message: &str) -> i32 {
    eprintln!("{FAILURE_PREFIX} {why} {message}");
    1
}

/// Sends the configuration to the daemon and returns its verdict.
fn report(socket: &Path, c: &VpnConfig) -> std::io::Result<String> {
    let line = serde_json::to_string(&to_report(c))?;
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    s.write_all(line.as_bytes())?;
    s.write_all(b"\n")?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer)?;
    Ok(answer.trim().to_owned())
}

async fn has_owner(conn: &Connection, name: &str) -> bool {
    let Ok(dbus) = zbus::fdo::DBusProxy::new(conn).await else {
        return false;
    };
    let Ok(name) = zbus::names::BusName::try_from(name) else {
        return false;
    };
    dbus.name_has_owner(name).await.unwrap_or(false)
}

async fn call(
    conn: &Connection,
    bus_name: &str,
    method: &str,
    body: &(impl serde::Serialize + zbus::wire::DynamicType),
) -> zbus::Result<Message> {
    conn.call_method(
        Some(bus_name),
        PLUGIN_PATH,
        Some(PLUGIN_INTERFACE),
        method,
        body,
    )
    .await
}

/// The host's main: returns its exit code.
pub async fn run(socket: &Path) -> i32 {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        return failed(reason::SERVICE_START_FAILED, &format!("stdin: {e}"));
    }
    let input: HostInput = match serde_json::from_str(&text) {
        Ok(i) => i,
        Err(e) => return failed(reason::SERVICE_START_FAILED, &format!("input: {e}")),
    };
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(e) => return failed(reason::SERVICE_START_FAILED, &format!("SIGTERM: {e}")),
    };
    let conn = match Connection::system().await {
        Ok(c) => c,
        Err(e) => {
            return failed(
                reason::SERVICE_START_FAILED,
                &format!("the system bus: {e}"),
            );
        }
    };
    let name = input.bus_name.clone();
    if has_owner(&conn, &name).await {
        return failed(
            reason::SERVICE_START_FAILED,
            &format!(
                "{name} is already on the bus: the plugin runs one connection at a time \
                 (another NetworkManager or netnsd connection uses it)"
            ),
        );
    }
    // Subscribed before the plugin starts: no signal is missed.
    let rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(name.as_str())
        .path(PLUGIN_PATH)
        .interface(PLUGIN_INTERFACE)
        .build();
    let rule = match rule {
        Ok(r) => r,
        Err(e) => return failed(reason::SERVICE_START_FAILED, &format!("match: {e}")),
    };
    let mut signals = match MessageStream::for_match_rule(rule, &conn, None).await {
        Ok(s) => s,
        Err(e) => return failed(reason::SERVICE_START_FAILED, &format!("match: {e}")),
    };

    // Started from this (the main) thread, which lives as long as the
    // host: the plugin's parent-death signal follows the host's end.
    let mut cmd = std::process::Command::new(&input.plugin.program);
    if input.plugin.multiple {
        cmd.arg("--bus-name").arg(&name);
    }
    cmd.stdin(std::process::Stdio::null());
    // SAFETY: prctl is async-signal-safe; the closure makes only that call.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return failed(
                reason::SERVICE_START_FAILED,
                &format!("start {}: {e}", input.plugin.program.display()),
            );
        }
    };
    eprintln!(
        "netnsd plugin host: started {} (pid {}) as {name}",
        input.plugin.program.display(),
        child.id()
    );

    let code = drive(&conn, &input, socket, &mut signals, &mut child, &mut term).await;
    // Whatever happened: Disconnect, then the plugin ends.
    let _ = tokio::time::timeout(STOP_TIMEOUT, call(&conn, &name, "Disconnect", &())).await;
    if let Ok(None) = child.try_wait() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        while matches!(child.try_wait(), Ok(None)) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    code
}

/// From the plugin on the bus to the end: the exit code.
async fn drive(
    conn: &Connection,
    input: &HostInput,
    socket: &Path,
    signals: &mut MessageStream,
    child: &mut std::process::Child,
    term: &mut tokio::signal::unix::Signal,
) -> i32 {
    let name = input.bus_name.as_str();
    // Its bus name, within START_TIMEOUT.
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    while !has_owner(conn, name).await {
        if let Ok(Some(status)) = child.try_wait() {
            return failed(
                reason::SERVICE_START_FAILED,
                &format!("the plugin ended before it took {name}: {status}"),
            );
        }
        if tokio::time::Instant::now() > deadline {
            return failed(
                reason::SERVICE_START_TIMEOUT,
                &format!("the plugin did not take {name} in {START_TIMEOUT:?}"),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // As NetworkManager: NeedSecrets with what the profile stores (and
    // what the agents gave before the launch); a setting named → the
    // user's agent is asked (need-auth meanwhile) and NeedSecrets again;
    // still wanting → no-secrets.
    let mut secrets = input.secrets.clone();
    let mut asked = false;
    loop {
        let connection = connection_dict_with(input, &secrets);
        let setting: String = match call(conn, name, "NeedSecrets", &(&connection,)).await {
            Ok(reply) => reply.body().deserialize().unwrap_or_default(),
            Err(e) => return failed(reason::NO_SECRETS, &format!("NeedSecrets: {e}")),
        };
        if setting.is_empty() {
            break;
        }
        if asked {
            return failed(
                reason::NO_SECRETS,
                &format!(
                    "the VPN plugin still needs secrets of {setting:?} after the user's \
                     agent answered"
                ),
            );
        }
        asked = true;
        let req = Ask {
            setting: setting.clone(),
            hints: Vec::new(),
        };
        match ask_daemon(socket, req, term).await {
            None => return 0,
            Some(Ok(given)) => secrets.extend(given),
            Some(Err(e)) => {
                return failed(
                    reason::NO_SECRETS,
                    &format!(
                        "the VPN plugin needs secrets of {setting:?} that {:?} does not store \
                         and no secret agent gave: {e}",
                        input.id
                    ),
                );
            }
        }
    }
    // ConnectInteractive (empty details) when every agent of the user has
    // VPN hints, as NetworkManager; Connect otherwise, and for a plugin
    // without it.
    let connection = connection_dict_with(input, &secrets);
    let details: HashMap<String, OwnedVariant> = HashMap::new();
    let plain = if !input.interactive {
        eprintln!(
            "netnsd plugin host: Connect, not ConnectInteractive: not every secret agent \
             of the user has VPN hints"
        );
        true
    } else {
        match call(conn, name, "ConnectInteractive", &(&connection, &details)).await {
            Ok(_) => {
                eprintln!("netnsd plugin host: ConnectInteractive accepted");
                false
            }
            Err(zbus::Error::MethodError(e, _, _))
                if INTERACTIVE_NOT_SUPPORTED.contains(&e.as_str()) =>
            {
                true
            }
            Err(e) => {
                return failed(
                    reason::SERVICE_START_FAILED,
                    &format!("ConnectInteractive: {e}"),
                );
            }
        }
    };
    if plain && let Err(e) = call(conn, name, "Connect", &(&connection,)).await {
        return failed(reason::SERVICE_START_FAILED, &format!("Connect: {e}"));
    }
    let mut pending = Pending::default();
    let mut failure: Option<u32> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = term.recv() => return 0,
            _ = tick.tick() => {
                if let Ok(Some(status)) = child.try_wait() {
                    let why = failure.unwrap_or(reason::SERVICE_STOPPED);
                    return failed(why, &format!("the plugin ended: {status}"));
                }
            }
            msg = signals.next() => {
                let Some(Ok(msg)) = msg else {
                    return failed(reason::SERVICE_STOPPED, "the bus connection ended");
                };
                let h = msg.header();
                let member = h.member().map(|m| m.to_string()).unwrap_or_default();
                let body = msg.body();
                match member.as_str() {
                    "Config" => {
                        pending.config = body.deserialize::<Dict>().ok().map(|d| parse_config(&d));
                    }
                    "Ip4Config" => pending.ip4 = body.deserialize::<Dict>().ok(),
                    "Ip6Config" => pending.ip6 = body.deserialize::<Dict>().ok(),
                    "LoginBanner" => pending.banner = body.deserialize::<String>().ok(),
                    "SecretsRequired" => {
                        // The plugin in ConnectInteractive wants more
                        // (vpnc's prompt for the XAuth password): the
                        // agent, then NewSecrets, as NetworkManager.
                        let (message, wanted): (String, Vec<String>) =
                            body.deserialize().unwrap_or_default();
                        let req = Ask {
                            setting: "vpn".to_owned(),
                            hints: ask::interactive_hints(&message, &wanted),
                        };
                        match ask_daemon(socket, req, term).await {
                            None => return 0,
                            Some(Ok(given)) => secrets.extend(given),
                            Some(Err(e)) => {
                                return failed(
                                    reason::NO_SECRETS,
                                    &format!("the VPN plugin asked for {wanted:?}: {e}"),
                                );
                            }
                        }
                        let connection = connection_dict_with(input, &secrets);
                        if let Err(e) = call(conn, name, "NewSecrets", &(&connection,)).await {
                            return failed(reason::NO_SECRETS, &format!("NewSecrets: {e}"));
                        }
                    }
                    "Failure" => {
                        let f: u32 = body.deserialize().unwrap_or(plugin_failure::CONNECT_FAILED);
                        eprintln!("netnsd plugin host: the plugin reports failure {f}");
                        failure = Some(failure_reason(f));
                    }
                    "StateChanged" => {
                        let s: u32 = body.deserialize().unwrap_or(0);
                        if s == service_state::STOPPED || s == service_state::STOPPING {
                            let why = failure.unwrap_or(reason::SERVICE_STOPPED);
                            return failed(why, &format!("the plugin's state went to {s}"));
                        }
                    }
                    _ => {}
                }
                if !pending.reported
                    && let Some(c) = pending.complete()
                {
                    pending.reported = true;
                    let mut c = match c {
                        Ok(c) => c,
                        Err(e) => return failed(reason::IP_CONFIG_INVALID, &e.message()),
                    };
                    if let Some(dev) = carrying_device(&c).await
                        && dev != c.tundev
                    {
                        eprintln!(
                            "netnsd plugin host: {dev} holds the pushed address: it is the tunnel \
                             (Config named {})",
                            c.tundev
                        );
                        c.tundev = dev;
                    }
                    let socket = socket.to_path_buf();
                    let verdict = tokio::task::spawn_blocking(move || report(&socket, &c)).await;
                    match verdict {
                        Ok(Ok(v)) if v == "ok" => {
                            eprintln!("netnsd plugin host: the daemon took the tunnel");
                        }
                        Ok(Ok(v)) => return failed(reason::IP_CONFIG_INVALID, &v),
                        Ok(Err(e)) => return failed(reason::IP_CONFIG_INVALID, &e.to_string()),
                        Err(e) => return failed(reason::IP_CONFIG_INVALID, &e.to_string()),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn v(x: impl Into<Variant<'static>>) -> OwnedVariant {
        OwnedVariant::try_from(x.into()).unwrap()
    }

    fn be(a: &str) -> u32 {
        u32::from_ne_bytes(a.parse::<Ipv4Addr>().unwrap().octets())
    }

    #[test]
    fn ip4config_as_networkmanager_sends_it() {
        let config: Dict = HashMap::from([
            ("tundev".into(), v("ipsec0")),
            ("mtu".into(), v(1400u32)),
            ("has-ip4".into(), v(true)),
        ]);
        let cfg = parse_config(&config);
        assert_eq!(cfg.tundev.as_deref(), Some("ipsec0"));
        assert!(cfg.has_ip4 && !cfg.has_ip6);
        let ip4: Dict = HashMap::from([
            ("address".into(), v(be("10.3.0.1"))),
            ("prefix".into(), v(32u32)),
            ("dns".into(), v(vec![be("10.99.0.53")])),
            ("domains".into(), v(vec!["corp.test".to_owned()])),
            ("routes".into(), v(vec![vec![be("10.99.0.0"), 24, 0, 0]])),
        ]);
        let mut p = Pending {
            config: Some(cfg),
            ..Pending::default()
        };
        assert!(p.complete().is_none(), "Ip4Config is still to come");
        p.ip4 = Some(ip4);
        let c = p.complete().unwrap().unwrap();
        assert_eq!(c.tundev, "ipsec0");
        assert_eq!(c.mtu, Some(1400));
        assert_eq!(c.addr4, Some("10.3.0.1/32".parse().unwrap()));
        assert_eq!(c.dns, vec!["10.99.0.53".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.domains, vec!["corp.test".to_owned()]);
        assert_eq!(c.routes, vec![("10.99.0.0/24".parse().unwrap(), None)]);
    }

    #[test]
    fn no_tundev_nothing_to_isolate_and_bad_prefix_refused() {
        let p = Pending {
            config: Some(PluginConfig {
                has_ip4: false,
                ..PluginConfig::default()
            }),
            ..Pending::default()
        };
        assert!(matches!(p.complete(), Some(Err(Error::NotSupported(_)))));
        let mut c = VpnConfig::default();
        let ip4: Dict = HashMap::from([
            ("address".into(), v(be("10.3.0.1"))),
            ("prefix".into(), v(40u32)),
        ]);
        assert!(apply_ip4(&ip4, &mut c).is_err());
    }

    #[test]
    fn failures_map_as_networkmanager_maps_them() {
        assert_eq!(failure_reason(0), reason::LOGIN_FAILED);
        assert_eq!(failure_reason(2), reason::IP_CONFIG_INVALID);
        assert_eq!(failure_reason(1), reason::UNKNOWN);
    }

    #[test]
    fn the_connection_carries_data_and_secrets() {
        let input = HostInput {
            plugin: super::super::PluginInfo {
                service: "org.freedesktop.NetworkManager.strongswan".into(),
                program: "/usr/lib/ipsec/charon-nm".into(),
                multiple: false,
                file: "/x.name".into(),
            },
            bus_name: "org.freedesktop.NetworkManager.strongswan".into(),
            id: "ipsec".into(),
            uuid: "5d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a11".into(),
            user_name: None,
            data: BTreeMap::from([("address".into(), "203.0.113.1".into())]),
            secrets: BTreeMap::from([("password".into(), "pw".into())]),
            interactive: true,
        };
        let d = connection_dict(&input);
        let data: HashMap<String, String> =
            d["vpn"]["data"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(data["address"], "203.0.113.1");
        let secrets: HashMap<String, String> =
            d["vpn"]["secrets"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(secrets["password"], "pw");
        assert_eq!(
            str_of(&d["vpn"]["service-type"]).as_deref(),
            Some("org.freedesktop.NetworkManager.strongswan")
        );
        let more = BTreeMap::from([("Xauth password".into(), "x".into())]);
        let d = connection_dict_with(&input, &more);
        let secrets: HashMap<String, String> =
            d["vpn"]["secrets"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(secrets["Xauth password"], "x");
    }

    #[test]
    fn ipv6_config() {
        let addr: Vec<u8> = "fd00::5".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        let ip6: Dict = HashMap::from([
            ("address".into(), v(addr.clone())),
            ("prefix".into(), v(128u32)),
            ("dns".into(), v(vec![addr])),
        ]);
        let mut c = VpnConfig::default();
        apply_ip6(&ip6, &mut c).unwrap();
        assert_eq!(
            c.addr6,
            Some("fd00::5/128".parse::<netnsd_api::Cidr>().unwrap())
        );
        assert_eq!(c.dns.len(), 1);
    }
}
