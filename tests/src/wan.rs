//! Helpers for the uplink, DNS and Spawn tests (issue 4): a `wan` namespace
//! standing in for the internet, nftables and sysctls as observers, options
//! dictionaries, and Spawn called as another user (through python3-dbus, which
//! can pass file descriptors; busctl and gdbus cannot).
//!
//! The `wan` namespace is joined to the sandbox's own namespace (rootns) by a
//! veth: `wan0` in rootns (203.0.113.2/24, 2001:db8::2/64, the default routes
//! of rootns) and `eth0` in wan (203.0.113.1/24, 2001:db8::1/64). In wan run a
//! small HTTP server (python3 -m http.server) on 203.0.113.1:8000 and dnsmasq
//! on 203.0.113.1:53, answering the test zone `web.test` with 203.0.113.1 and
//! nothing else. No packet leaves the sandbox.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use zbus::Connection;
use zbus::wire::{OwnedVariant, Variant as Value};

use crate::harness::*;
use crate::leftovers::*;
use crate::platform::*;

pub const WAN_NS: &str = "wan";
/// The veth end in rootns and the one in wan.
pub const WAN_HOST_IF: &str = "wan0";
pub const WAN_PEER_IF: &str = "eth0";
pub const WAN_V4: &str = "203.0.113.1";
pub const HOST_V4: &str = "203.0.113.2";
pub const WAN_V6: &str = "2001:db8::1";
pub const HOST_V6: &str = "2001:db8::2";
/// The HTTP server's port in wan.
pub const HTTP_PORT: u16 = 8000;
/// The name dnsmasq in wan answers (with [`WAN_V4`]); nothing else resolves it.
pub const WEB_NAME: &str = "web.test";
/// What the HTTP server's index page says.
pub const WEB_TOKEN: &str = "netnsd-wan-index-7f3a";
/// The name of [`WAN_V4`] in the sandbox's /etc/hosts (so http.server's
/// getfqdn does not stall on the sandbox's unreachable DNS). Deliberately not
/// [`WEB_NAME`]: that must come from DNS only.
pub const WAN_HOSTS_NAME: &str = "wan-www.sandbox";

/// The uplink's device inside a namespace.
pub const UPLINK_IF: &str = "uplink0";

/// Where the servers' files and logs live (in the sandbox's tmpfs /run).
const WAN_DIR: &str = "/run/netnsd-tests-wan";
const HOSTS_MARK: &str = "# netnsd-tests wan";

/// `/usr/bin/python3`: Debian's, with python3-dbus (the python3 first in
/// PATH may be another one).
pub const PYTHON: &str = "/usr/bin/python3";

// ---------------------------------------------------------------------------
// The wan namespace

/// The stand-in internet. Dropping it kills its servers (even when the test
/// fails), deletes the namespace (and so the veth), and takes the /etc/hosts
/// line out again.
pub struct Wan {
    servers: Vec<(String, std::process::Child)>,
    pub dir: PathBuf,
    /// Where the HTTP log stood once the servers were ready (the readiness
    /// probe's own request is not a test's).
    http_log_start: usize,
}

impl Wan {
    /// Builds wan, starts the HTTP server and dnsmasq there and waits (bounded)
    /// until both answer from rootns.
    pub async fn start() -> Wan {
        scrub_uplink_leftovers();
        let dir = PathBuf::from(WAN_DIR);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).expect("mkdir wan dir");
        std::fs::write(dir.join("www/index.html"), format!("{WEB_TOKEN}\n")).expect("index");
        let mut wan = Wan {
            servers: Vec::new(),
            dir,
            http_log_start: 0,
        };
        add_hosts_line();

        ip(&["netns", "add", WAN_NS]).await.ok();
        ip(&[
            "link",
            "add",
            WAN_HOST_IF,
            "type",
            "veth",
            "peer",
            "name",
            WAN_PEER_IF,
            "netns",
            WAN_NS,
        ])
        .await
        .ok();
        for args in [
            vec!["link", "set", WAN_HOST_IF, "up"],
            vec!["addr", "add", "203.0.113.2/24", "dev", WAN_HOST_IF],
            vec![
                "-6",
                "addr",
                "add",
                "2001:db8::2/64",
                "dev",
                WAN_HOST_IF,
                "nodad",
            ],
            vec!["-n", WAN_NS, "link", "set", "lo", "up"],
            vec!["-n", WAN_NS, "link", "set", WAN_PEER_IF, "up"],
            vec![
                "-n",
                WAN_NS,
                "addr",
                "add",
                "203.0.113.1/24",
                "dev",
                WAN_PEER_IF,
            ],
            vec![
                "-n",
                WAN_NS,
                "-6",
                "addr",
                "add",
                "2001:db8::1/64",
                "dev",
                WAN_PEER_IF,
                "nodad",
            ],
            vec!["route", "add", "default", "via", WAN_V4],
            vec!["-6", "route", "add", "default", "via", WAN_V6],
        ] {
            ip(&args).await.ok();
        }

        let www = wan.dir.join("www");
        let port = HTTP_PORT.to_string();
        wan.serve(
            "http",
            &[
                PYTHON,
                "-m",
                "http.server",
                &port,
                "--bind",
                WAN_V4,
                "--directory",
                www.to_str().unwrap(),
            ],
        );
        let address = format!("--address=/{WEB_NAME}/{WAN_V4}");
        let listen = format!("--listen-address={WAN_V4}");
        wan.serve(
            "dns",
            &[
                "dnsmasq",
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--bind-interfaces",
                &listen,
                &address,
                "--pid-file=",
                "--user=root",
                "--log-queries",
                "--log-facility=-",
            ],
        );

        // Both servers answer from rootns (plain routing, no netnsd involved).
        let url = format!("http://{WAN_V4}:{HTTP_PORT}/");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            wan.check_alive();
            let out = run("curl", &["-sS", "--noproxy", "*", "--max-time", "2", &url]).await;
            let web = out.success() && out.stdout.contains(WEB_TOKEN);
            let dns = dns_query_a(WAN_V4, WEB_NAME).await == Some(WAN_V4.parse().unwrap());
            if web && dns {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the wan servers did not answer within 15 s (http {web}, dns {dns}): {out}\n{}",
                wan.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wan.http_log_start = wan.http_log().len();
        wan
    }

    /// Starts a server in wan with `ip netns exec`, its output in DIR/NAME.log.
    fn serve(&mut self, name: &str, argv: &[&str]) {
        let log = self.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("server log");
        let child = std::process::Command::new("ip")
            .args(["netns", "exec", WAN_NS])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {argv:?} in wan: {e}"));
        self.servers.push((name.to_owned(), child));
    }

    /// Panics (with the logs) if a server has died.
    fn check_alive(&mut self) {
        let mut dead = Vec::new();
        for (name, child) in &mut self.servers {
            if let Ok(Some(status)) = child.try_wait() {
                dead.push(format!("{name} exited with {}", describe_status(status)));
            }
        }
        if !dead.is_empty() {
            panic!("wan server died: {}\n{}", dead.join("; "), self.logs());
        }
    }

    /// What wan keeps, for [`assert_nothing_left`]: the namespace itself.
    pub fn keep(&self) -> Keep {
        Keep::nothing().ns(WAN_NS)
    }

    /// The servers' logs.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for (name, _) in &self.servers {
            let text =
                std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            s.push_str(&format!("----- wan {name} log -----\n{text}"));
        }
        s
    }

    /// The HTTP server's access log.
    pub fn http_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("http.log")).unwrap_or_default()
    }

    /// The client addresses the HTTP server has logged requests from since
    /// it was ready.
    pub fn http_clients(&self) -> BTreeSet<String> {
        let log = self.http_log();
        log.get(self.http_log_start..)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"GET "))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    }
}

impl Drop for Wan {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        for (_, child) in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", WAN_NS])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::process::Command::new("ip")
            .args(["link", "del", WAN_HOST_IF])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        remove_hosts_line();
        let _ = std::fs::remove_dir_all(&self.dir);
        scrub_uplink_leftovers();
    }
}

fn add_hosts_line() {
    remove_hosts_line();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open("/etc/hosts")
        .expect("open the sandbox's /etc/hosts");
    writeln!(f, "{WAN_V4}\t{WAN_HOSTS_NAME}\t{HOSTS_MARK}").expect("write /etc/hosts");
}

fn remove_hosts_line() {
    let Ok(text) = std::fs::read_to_string("/etc/hosts") else {
        return;
    };
    if text.contains(HOSTS_MARK) {
        let kept: String = text
            .lines()
            .filter(|l| !l.contains(HOSTS_MARK))
            .map(|l| format!("{l}\n"))
            .collect();
        let _ = std::fs::write("/etc/hosts", kept);
    }
}

/// Asks the DNS server at `server`:53 for the A record of `name` (a plain
/// UDP query, independent of any resolver configuration); the first address
/// answered, or None (no answer within a second, or none in it).
pub async fn dns_query_a(server: &str, name: &str) -> Option<std::net::Ipv4Addr> {
    let sock = tokio::net::UdpSocket::bind("0.0.0.0:0").await.ok()?;
    let mut q: Vec<u8> = vec![0x4e, 0x53, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    sock.send_to(&q, (server, 53)).await.ok()?;
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(1), sock.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    let r = &buf[..n];
    let answers = u16::from_be_bytes([*r.get(6)?, *r.get(7)?]);
    if r.get(..2)? != [0x4e, 0x53] || answers == 0 {
        return None;
    }
    // Skip the question, then read the first answer (name as a pointer or labels).
    let mut i = q.len();
    while i < n {
        if r[i] & 0xc0 == 0xc0 {
            i += 2;
            break;
        } else if r[i] == 0 {
            i += 1;
            break;
        }
        i += 1 + r[i] as usize;
    }
    let rtype = u16::from_be_bytes([*r.get(i)?, *r.get(i + 1)?]);
    let len = u16::from_be_bytes([*r.get(i + 8)?, *r.get(i + 9)?]);
    if rtype != 1 || len != 4 {
        return None;
    }
    let a = r.get(i + 10..i + 14)?;
    Some(std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]))
}

// ---------------------------------------------------------------------------
// Running things inside a namespace

/// `curl` of the wan's page by name, from inside namespace `ns`.
pub async fn curl_web(ns: &str) -> Out {
    let url = format!("http://{WEB_NAME}:{HTTP_PORT}/");
    in_ns(
        ns,
        &["curl", "-sS", "--noproxy", "*", "--max-time", "5", &url],
    )
    .await
}

/// Asserts that namespace `ns` fetches the wan's page by name.
#[track_caller]
pub fn assert_fetched(out: &Out, ns: &str) {
    assert!(
        out.success() && out.stdout.trim() == WEB_TOKEN,
        "namespace {ns} did not fetch http://{WEB_NAME}:{HTTP_PORT}/ through its uplink: {out}"
    );
}

// ---------------------------------------------------------------------------
// nftables and sysctls, the observers

/// Every `forwarding` (IPv4) and `force_forwarding` (IPv6) sysctl of rootns,
/// per interface and for all/default, plus net.ipv4.ip_forward.
pub fn forwarding_sysctls() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (fam, key) in [("ipv4", "forwarding"), ("ipv6", "forwarding")]
        .into_iter()
        .chain([("ipv6", "force_forwarding")])
    {
        let dir = Path::new("/proc/sys/net").join(fam).join("conf");
        for e in std::fs::read_dir(&dir)
            .expect("read /proc/sys/net/*/conf")
            .flatten()
        {
            let p = e.path().join(key);
            if let Ok(v) = std::fs::read_to_string(&p) {
                out.insert(
                    format!("net.{fam}.conf.{}.{key}", e.file_name().to_string_lossy()),
                    v.trim().to_owned(),
                );
            }
        }
    }
    out.insert(
        "net.ipv4.ip_forward".into(),
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    );
    out
}

/// Writes one sysctl of rootns (`net.ipv4.conf.wan0.forwarding`).
pub fn set_sysctl(key: &str, value: &str) {
    let p = Path::new("/proc/sys").join(key.replace('.', "/"));
    std::fs::write(&p, value).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

/// The sysctls whose values differ between two snapshots (and ones only in
/// `after`, with their values).
pub fn changed_sysctls(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Deletes the table `inet netnsd` from rootns if a failed test left it
/// (the daemon's veths and wan0 go with their namespaces, and with them
/// their sysctls). For the end of a test, after its assertions.
pub fn scrub_uplink_leftovers() {
    let _ = std::process::Command::new("nft")
        .args(["delete", "table", "inet", NFT_TABLE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Snapshot of what uplinks leave on the host, for "nothing left behind".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkTraces {
    pub host: HostState,
    pub root_links: BTreeSet<String>,
    pub nft_ruleset: String,
    pub sysctls: BTreeMap<String, String>,
}

/// (The records are left out: the journal under /run/netnsd is append-only
/// between restarts, so a refused call that undid its work still shows.)
pub async fn uplink_traces(conn: &Connection) -> UplinkTraces {
    let mut host = host_state(conn).await;
    host.records.clear();
    UplinkTraces {
        host,
        root_links: ip_link_names(ROOT_NS_NAME).await,
        nft_ruleset: nft_ruleset().await,
        sysctls: forwarding_sysctls(),
    }
}

// ---------------------------------------------------------------------------
// Options dictionaries

/// An `a{sv}` for AddNetworkNamespaceWithOptions.
pub fn options(entries: Vec<(&str, Value<'_>)>) -> HashMap<String, OwnedVariant> {
    entries
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_owned(),
                OwnedVariant::try_from(v).expect("an option value without fds"),
            )
        })
        .collect()
}

/// A string-array value.
pub fn strs(v: &[&str]) -> Value<'static> {
    Value::from(v.iter().map(|s| s.to_string()).collect::<Vec<String>>())
}

/// AddNetworkNamespaceWithOptions, as root.
pub async fn add_with_options(
    conn: &Connection,
    name: &str,
    opts: HashMap<String, OwnedVariant>,
) -> Result<String, ApiError> {
    controller(conn)
        .await
        .add_network_namespace_with_options(name, opts)
        .await
        .map(|p| p.to_string())
}

/// A namespace with a veth uplink and the wan's DNS server, as root; panics
/// on failure.
pub async fn add_veth_ns(conn: &Connection, name: &str) -> String {
    add_with_options(
        conn,
        name,
        options(vec![
            ("uplink", Value::from("veth")),
            ("dns", strs(&[WAN_V4])),
            ("dns-search", strs(&["test"])),
        ]),
    )
    .await
    .unwrap_or_else(|e| panic!("AddNetworkNamespaceWithOptions({name:?}, veth): {e:?}"))
}

/// What a veth uplink is made of, read with iproute2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethUplink {
    /// `nsuN`, in rootns.
    pub host_if: String,
    /// N.
    pub slot: u32,
    /// The addresses (CIDR) of nsuN and of uplink0.
    pub host_addrs: BTreeSet<String>,
    pub ns_addrs: BTreeSet<String>,
}

impl VethUplink {
    /// The namespace's IPv4 address (`10.231.x.y`), without the prefix.
    pub fn ns_v4(&self) -> String {
        self.ns_addrs
            .iter()
            .find(|a| a.contains('.'))
            .map(|a| a.split('/').next().unwrap().to_owned())
            .unwrap_or_else(|| panic!("uplink0 has no IPv4 address: {self:?}"))
    }
}

/// The pool's addresses of slot N: (host v4, ns v4, host v6, ns v6), as CIDR.
pub fn slot_addrs(n: u32) -> (String, String, String, String) {
    let base = u32::from(std::net::Ipv4Addr::new(10, 231, 0, 0)) + 4 * n;
    let v4 = |k: u32| std::net::Ipv4Addr::from(base + k).to_string();
    let v6 = |k: u32| {
        let net: u128 = u128::from("fd6e:6574:6e73::".parse::<std::net::Ipv6Addr>().unwrap())
            + ((n as u128) << 64);
        std::net::Ipv6Addr::from(net + k as u128).to_string()
    };
    (
        format!("{}/30", v4(1)),
        format!("{}/30", v4(2)),
        format!("{}/64", v6(1)),
        format!("{}/64", v6(2)),
    )
}

/// The global (non-link-local) addresses on a link.
pub async fn global_addrs(ns: &str, dev: &str) -> BTreeSet<String> {
    ip_addrs(ns, dev)
        .await
        .into_iter()
        .filter(|a| !a.starts_with("fe80:"))
        .collect()
}

/// Finds namespace `ns`'s veth uplink with iproute2: the `nsuN` in rootns
/// that is uplink0's peer (by ifindex), with the addresses of both ends.
pub async fn veth_uplink(ns: &str) -> VethUplink {
    let link = must(
        ip_link(ns, UPLINK_IF).await,
        &format!("no {UPLINK_IF} in namespace {ns}"),
    );
    assert_eq!(
        link["linkinfo"]["info_kind"], "veth",
        "{UPLINK_IF} of {ns} is not a veth: {link}"
    );
    let peer_index = link["link_index"]
        .as_u64()
        .unwrap_or_else(|| panic!("{UPLINK_IF} of {ns} shows no peer ifindex: {link}"));
    let out = ip(&["-j", "link", "show"]).await.ok();
    let links: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("ip -j");
    let host_if = links
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["ifindex"].as_u64() == Some(peer_index))
        .and_then(|l| l["ifname"].as_str())
        .unwrap_or_else(|| {
            panic!("no link with ifindex {peer_index} (peer of {ns}'s {UPLINK_IF}) in rootns")
        })
        .to_owned();
    let slot: u32 = host_if
        .strip_prefix("nsu")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the host end of {ns}'s uplink is {host_if:?}, not nsuN"));
    VethUplink {
        host_addrs: global_addrs(ROOT_NS_NAME, &host_if).await,
        ns_addrs: global_addrs(ns, UPLINK_IF).await,
        host_if,
        slot,
    }
}

/// The default routes of a namespace (`ip -4/-6 route show default`).
pub async fn default_routes(ns: &str) -> (String, String) {
    (
        ip_ns(ns, &["-4", "route", "show", "default"])
            .await
            .ok()
            .stdout,
        ip_ns(ns, &["-6", "route", "show", "default"])
            .await
            .ok()
            .stdout,
    )
}

// ---------------------------------------------------------------------------
// Spawn

/// What a Spawn through python3-dbus gave.
#[derive(Debug, Clone)]
pub struct Spawned {
    /// The pid Spawn returned, or the D-Bus error name and message.
    pub result: Result<u32, (String, String)>,
    /// What the program (and python) wrote.
    pub stdout: String,
    pub stderr: String,
    pub out: Out,
}

const SPAWN_PY: &str = r#"
import json, sys
import dbus
path, env, argv = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
bus = dbus.SystemBus()
inst = dbus.Interface(bus.get_object("net.netnsd.Netns1", path),
                      "net.netnsd.Netns1.NetNsInstance")
fds = {"stdin": dbus.types.UnixFd(0), "stdout": dbus.types.UnixFd(1),
       "stderr": dbus.types.UnixFd(2)}
try:
    pid = inst.Spawn(dbus.Array(argv, signature="s"),
                     dbus.Dictionary(env, signature="ss"), "",
                     dbus.Dictionary(fds, signature="sh"),
                     dbus.Dictionary({}, signature="sv"), timeout=20)
except dbus.exceptions.DBusException as e:
    sys.stderr.write("netnsd-spawn: error %s %s\n" % (e.get_dbus_name(), e.get_dbus_message()))
    sys.exit(3)
sys.stderr.write("netnsd-spawn: pid %d\n" % pid)
"#;

/// Calls Spawn on namespace object `ns_path` as user `uid` (via setpriv, with
/// python3-dbus), passing python's own stdin (fed `stdin`), stdout and stderr
/// as the program's. Returns once python has exited and the program has
/// closed its stdout and stderr.
pub async fn spawn_as(
    uid: u32,
    ns_path: &str,
    argv: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Spawned {
    let env_json = serde_json::to_string(
        &env.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<String, String>>(),
    )
    .unwrap();
    let mut args: Vec<String> = vec!["-c".into(), SPAWN_PY.into(), ns_path.into(), env_json];
    args.extend(argv.iter().map(|s| s.to_string()));
    let out = run_as_with_stdin(Some(uid), PYTHON, &args, stdin).await;
    let mut result = None;
    let mut stderr = String::new();
    for line in out.stderr.lines() {
        if let Some(rest) = line.strip_prefix("netnsd-spawn: pid ") {
            result = Some(Ok(rest.trim().parse().expect("pid")));
        } else if let Some(rest) = line.strip_prefix("netnsd-spawn: error ") {
            let (name, msg) = rest.split_once(' ').unwrap_or((rest, ""));
            result = Some(Err((name.to_owned(), msg.to_owned())));
        } else {
            stderr.push_str(line);
            stderr.push('\n');
        }
    }
    let result =
        result.unwrap_or_else(|| panic!("the Spawn helper said neither pid nor error: {out}"));
    Spawned {
        result,
        stdout: out.stdout.clone(),
        stderr,
        out,
    }
}

impl Spawned {
    /// The pid; panics with everything if Spawn failed.
    #[track_caller]
    pub fn pid(&self) -> u32 {
        match &self.result {
            Ok(p) => *p,
            Err((n, m)) => panic!("Spawn failed: {n}: {m}\n{}", self.out),
        }
    }

    /// The short error name (`PermissionDenied`) and message; panics if Spawn worked.
    #[track_caller]
    pub fn error(&self) -> (String, String) {
        match &self.result {
            Ok(p) => panic!("Spawn should have failed, started pid {p}\n{}", self.out),
            Err((n, m)) => (
                n.strip_prefix(netnsd_api::error::ERROR_PREFIX)
                    .and_then(|s| s.strip_prefix('.'))
                    .unwrap_or(n)
                    .to_owned(),
                m.clone(),
            ),
        }
    }
}

/// Runs a program (as `uid` through setpriv, or as root), in `/`, with
/// `stdin` fed to it and closed, within [`COMMAND_TIMEOUT`].
pub async fn run_as_with_stdin<S: AsRef<str>>(
    uid: Option<u32>,
    program: &str,
    args: &[S],
    stdin: &str,
) -> Out {
    let mut full: Vec<String> = Vec::new();
    let prog = match uid {
        None => program.to_owned(),
        Some(uid) => {
            let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .expect("getpwuid")
                .unwrap_or_else(|| panic!("no user with uid {uid} in the sandbox"));
            full.extend([
                format!("--reuid={uid}"),
                format!("--regid={}", user.gid.as_raw()),
                if uid == NOBODY_UID {
                    "--clear-groups".into()
                } else {
                    "--init-groups".into()
                },
                "--".into(),
                "env".into(),
                "HOME=/".into(),
                format!("USER={}", user.name),
                // A user's PATH: the harness's own may hold directories
                // only root can search (exec then fails with EACCES).
                "PATH=/usr/local/bin:/usr/bin:/bin".into(),
                program.into(),
            ]);
            "setpriv".to_owned()
        }
    };
    full.extend(args.iter().map(|a| a.as_ref().to_owned()));
    let what = format!(
        "{}{prog} {}",
        uid.map(|u| format!("(as uid {u}) ")).unwrap_or_default(),
        full.join(" ")
    );
    // In "/", which every user may enter (a program's working directory
    // defaults to its caller's).
    let mut child = tokio::process::Command::new(&prog)
        .args(&full)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.as_bytes().to_vec();
    let feed = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let _ = input.write_all(&data).await;
        // Dropping `input` closes the pipe: the reader sees EOF.
    });
    let out = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`{what}` did not finish within {COMMAND_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("`{what}`: {e}"));
    let _ = feed.await;
    Out {
        what,
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A stream of ProcessExited of one namespace object, subscribed now (before
/// the Spawn whose end it must see).
pub async fn process_exits(
    conn: &Connection,
    ns_path: &str,
) -> netnsd_api::proxy::ProcessExitedStream {
    instance(conn, ns_path)
        .await
        .receive_process_exited()
        .await
        .expect("subscribe to ProcessExited")
}

/// Waits (bounded) for ProcessExited of `pid`; returns its status.
pub async fn exit_status_of(stream: &mut netnsd_api::proxy::ProcessExitedStream, pid: u32) -> i32 {
    next_matching(stream, &format!("ProcessExited for pid {pid}"), |sig| {
        let a = sig.args().ok()?;
        (a.pid == pid).then_some(a.status)
    })
    .await
}

/// Spawn as root over zbus, with the given descriptors (stdin/stdout/stderr).
pub async fn spawn_root(
    conn: &Connection,
    ns_path: &str,
    argv: &[&str],
    fds: &[(&str, &std::os::fd::OwnedFd)],
) -> Result<u32, ApiError> {
    let fds: HashMap<&str, zbus::wire::Fd<'_>> = fds
        .iter()
        .map(|(k, fd)| (*k, zbus::wire::Fd::from(fd.as_fd())))
        .collect();
    instance(conn, ns_path)
        .await
        .spawn(argv, HashMap::new(), "", fds, HashMap::new())
        .await
}

/// Whether a process with this pid exists (in the sandbox's pid namespace).
pub fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits (bounded) until `pid` is gone.
pub async fn wait_pid_gone(pid: u32) {
    wait_for(
        Duration::from_secs(10),
        &format!("pid {pid} to end"),
        || async { (!pid_alive(pid)).then_some(()) },
    )
    .await
}

/// A polkit rule granting one action to the user `nobody` only.
pub fn grant_nobody_rule(action: &str) -> String {
    format!(
        r#"polkit.addRule(function(action, subject) {{
    if (action.id == "{action}" && subject.user == "nobody")
        return polkit.Result.YES;
}});
"#
    )
}

/// The resolver sockets of a host with systemd-resolved and nscd, in the
/// sandbox's /run: /run/systemd/resolve/io.systemd.Resolve (with a
/// resolv.conf next to it) and /run/nscd/socket. They are sockets no one
/// listens on: a listening nscd socket that never answers would stall every
/// user lookup in the sandbox (glibc asks nscd first and waits). Removed on
/// drop.
pub struct FakeResolvers;

pub const RESOLVED_DIR: &str = "/run/systemd/resolve";
pub const NSCD_DIR: &str = "/run/nscd";

impl FakeResolvers {
    pub fn install() -> FakeResolvers {
        Self::remove();
        std::fs::create_dir_all(RESOLVED_DIR).expect("mkdir /run/systemd/resolve");
        std::fs::create_dir_all(NSCD_DIR).expect("mkdir /run/nscd");
        // Bound, then closed: the socket inode stays, connecting is refused.
        for p in [
            Path::new(RESOLVED_DIR).join("io.systemd.Resolve"),
            Path::new(NSCD_DIR).join("socket"),
        ] {
            drop(
                std::os::unix::net::UnixListener::bind(&p)
                    .unwrap_or_else(|e| panic!("bind {}: {e}", p.display())),
            );
        }
        std::fs::write(
            Path::new(RESOLVED_DIR).join("resolv.conf"),
            "nameserver 127.0.0.53\n",
        )
        .expect("write stub resolv.conf");
        // Readable by everyone, as on a real host.
        for d in ["/run/systemd", RESOLVED_DIR, NSCD_DIR] {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
        }
        FakeResolvers
    }

    fn remove() {
        let _ = std::fs::remove_dir_all("/run/systemd");
        let _ = std::fs::remove_dir_all(NSCD_DIR);
    }
}

impl Drop for FakeResolvers {
    fn drop(&mut self) {
        Self::remove();
    }
}

/// Reads all of a stream of ProcessExited for a short look: whether `pid`
/// ended within `limit`.
pub async fn exited_within(
    stream: &mut netnsd_api::proxy::ProcessExitedStream,
    pid: u32,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.next()).await {
            Ok(Some(sig)) => {
                if sig.args().map(|a| a.pid == pid).unwrap_or(false) {
                    return true;
                }
            }
            _ => return false,
        }
    }
}

/// Kills, on drop, every process left in one network namespace (programs a
/// test started there through Spawn or nsctl exec, which outlive the daemon
/// when a test fails half-way). Only processes whose /proc/PID/ns/net is
/// that namespace are touched.
pub struct NsReaper {
    net: String,
}

impl NsReaper {
    /// For the namespace bound at /run/netns/NAME.
    pub fn new(name: &str) -> NsReaper {
        NsReaper {
            net: format!("net:[{}]", netns_inode(name)),
        }
    }
}

impl Drop for NsReaper {
    fn drop(&mut self) {
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return;
        };
        for e in procs.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let net = std::fs::read_link(e.path().join("ns/net")).ok();
            if pid != std::process::id() as i32
                && net.as_deref().and_then(|p| p.to_str()) == Some(self.net.as_str())
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}
