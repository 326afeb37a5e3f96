//! Real WireGuard and OpenConnect gateways for the VPN tests (issue 6),
//! added to the OpenVPN rig's `wan` (tests/src/openvpn.rs), which provides
//! the network: rootns ── wan (203.0.113.1) ── corp (10.99.0.0/24, an HTTP
//! server on 10.99.0.10:8080 and dnsmasq on 10.99.0.53 answering
//! intranet.corp.test), with rootns kept out of corp by a policy rule in
//! wan. The rig's OpenVPN server runs alongside, unused.
//!
//! [`WgPeer`]: wireguard-go (Debian's, the kernel has no WireGuard) as
//! `wgs0` in wan, listening on 203.0.113.1:51820, 10.66.0.1/24 on the
//! tunnel, keys made now with `wg genkey`/`wg pubkey`; wan forwards
//! between 10.66.0.0/24 and corp.
//!
//! [`OcServer`]: Debian's ocserv in wan on tcp/udp 443 with a password user
//! (ocpasswd) and a CA and server certificate made now with openssl;
//! it hands out 192.168.100.0/24, DNS 10.99.0.53, domain corp.test and a
//! route to 10.99.0.0/24.
//!
//! Both are killed on Drop (drop them before the rig), with every VPN
//! client the daemon may have left.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zbus::Connection;

use crate::harness::*;
use crate::leftovers::*;
use crate::openvpn::*;
use crate::platform::*;

pub const WG_BIN: &str = "/usr/bin/wg";
pub const OCSERV_BIN: &str = "/usr/sbin/ocserv";
pub const OCPASSWD_BIN: &str = "/usr/bin/ocpasswd";

pub const WG_PORT: u16 = 51820;
pub const WG_SERVER_IF: &str = "wgs0";
pub const WG_NET: &str = "10.66.0.0/24";
pub const WG_SERVER_TUN: &str = "10.66.0.1";
pub const WG_CLIENT_ADDR: &str = "10.66.0.2";

pub const OC_NET_PREFIX: &str = "192.168.100.";
pub const OC_USER: &str = "alice";
pub const OC_PASSWORD: &str = "corp-secret-pw-6b1d";
pub const OC_SERVICE: &str = "org.freedesktop.NetworkManager.openconnect";

// ---------------------------------------------------------------------------
// Processes

fn kill_pid(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

fn kill_all_of(bin: &str, except: &[u32]) {
    for (pid, _) in processes_of(bin) {
        if !except.contains(&pid) {
            kill_pid(pid);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_of(bin).iter().any(|(p, _)| !except.contains(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every process's command line and environment that contains `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return hits;
    };
    for e in procs.flatten() {
        if e.file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
            .is_none()
        {
            continue;
        }
        for what in ["cmdline", "environ"] {
            let Ok(b) = std::fs::read(e.path().join(what)) else {
                continue;
            };
            if String::from_utf8_lossy(&b).contains(needle) {
                hits.push(format!(
                    "{}/{what}: {}",
                    e.path().display(),
                    String::from_utf8_lossy(&b).replace('\0', " ")
                ));
            }
        }
    }
    hits
}

/// When this test process started: files older than that cannot hold a
/// secret the test made (other checkouts of this repository in /tmp, say).
fn process_start() -> std::time::SystemTime {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    // Field 22 (starttime) is the 20th after the command name.
    let ticks: u64 = after_comm
        .split_whitespace()
        .nth(19)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let btime: u64 = std::fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(btime)
        + std::time::Duration::from_millis(ticks * 1000 / hz)
        - std::time::Duration::from_secs(1)
}

/// Files under `roots` (recursively, not following links), written since
/// this test process started, that contain any of `needles` and that
/// someone other than root could read: the file or a directory on its way
/// is readable (and searchable) by others, or the file is not root's.
/// Files under `skip` are not looked at.
pub fn exposed_files_with(roots: &[&str], needles: &[&str], skip: &[&Path]) -> Vec<String> {
    let since = process_start();
    let mut out = Vec::new();
    fn walk(
        dir: &Path,
        open_path: bool,
        needles: &[&str],
        skip: &[&Path],
        since: std::time::SystemTime,
        out: &mut Vec<String>,
    ) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if skip.iter().any(|s| p.starts_with(s)) {
                continue;
            }
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let others = m.mode() & 0o005;
            if m.is_dir() {
                walk(
                    &p,
                    open_path && others & 0o001 != 0,
                    needles,
                    skip,
                    since,
                    out,
                );
            } else if m.is_file() && m.len() < 4 << 20 && m.modified().is_ok_and(|t| t >= since) {
                let Ok(b) = std::fs::read(&p) else { continue };
                let text = String::from_utf8_lossy(&b);
                if needles.iter().any(|n| text.contains(n))
                    && (m.uid() != 0 || (open_path && m.mode() & 0o004 != 0))
                {
                    out.push(format!(
                        "{} (mode {:o}, uid {})",
                        p.display(),
                        m.mode() & 0o7777,
                        m.uid()
                    ));
                }
            }
        }
    }
    for r in roots {
        let open = std::fs::metadata(r)
            .map(|m| m.mode() & 0o001 != 0)
            .unwrap_or(false);
        walk(Path::new(r), open, needles, skip, since, &mut out);
    }
    out
}

/// `ss -uanp` in a namespace: its UDP sockets, with their processes.
pub async fn udp_sockets(ns: &str) -> Vec<String> {
    let out = if ns == ROOT_NS_NAME {
        run("ss", &["-H", "-uanp"]).await.ok()
    } else {
        ip(&["netns", "exec", ns, "ss", "-H", "-uanp"]).await.ok()
    };
    out_lines(&out)
}

// ---------------------------------------------------------------------------
// Activation over the bus

/// Activates `connection` on rootns and waits until it is activated (or
/// panics showing the signals). Returns the active connection's path.
pub async fn activate_until_up(conn: &Connection, log: &mut StateLog, connection: &str) -> String {
    let ac = activate(conn, connection)
        .await
        .unwrap_or_else(|e| panic!("ActivateConnection({connection}): {e:?}"));
    log.wait(&ac, VPN_UP_TIMEOUT, "activated or deactivated", |ev| {
        ev.iter().any(|e| {
            e.sig == Sig::State
                && (e.state == state::active::ACTIVATED || e.state == state::active::DEACTIVATED)
        })
    })
    .await;
    let states: Vec<u32> = log.states(&ac, Sig::State).iter().map(|s| s.0).collect();
    assert!(
        states.last() == Some(&state::active::ACTIVATED),
        "the connection did not come up; signals:\n{}",
        log.describe()
    );
    assert!(
        in_order(
            &states,
            &[state::active::ACTIVATING, state::active::ACTIVATED]
        ),
        "State must go activating → activated; signals:\n{}",
        log.describe()
    );
    log.wait(&ac, Duration::from_secs(5), "VpnState activated", |ev| {
        ev.iter()
            .any(|e| e.sig == Sig::Vpn && e.state == state::vpn::ACTIVATED)
    })
    .await;
    ac
}

/// Deactivates and waits for deactivated.
pub async fn deactivate_until_down(conn: &Connection, log: &mut StateLog, ac: &str) {
    deactivate(conn, ac)
        .await
        .unwrap_or_else(|e| panic!("DeactivateConnection({ac}): {e:?}"));
    log.wait_deactivated(ac, VPN_DOWN_TIMEOUT).await;
}

/// Settings.ImportConnection(kind, id, contents, base_dir).
pub async fn import_connection(
    conn: &Connection,
    kind: &str,
    id: &str,
    contents: &str,
    base_dir: &str,
) -> Result<String, zbus::Error> {
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            netnsd_api::SETTINGS_PATH,
            Some(SETTINGS_INTERFACE),
            "ImportConnection",
            &(kind, id, contents, base_dir),
        )
        .await?;
    let path: zbus::OwnedObjectPath = reply.body().deserialize()?;
    Ok(path.to_string())
}

/// Sets connection keys of a stored profile with Update (GetSettings, the
/// keys changed; no secrets given, so the stored ones stay).
pub async fn set_connection_keys(conn: &Connection, path: &str, keys: &[(&str, Key)]) {
    let proxy = connection_proxy(conn, path).await;
    let mut d = proxy.get_settings().await.expect("GetSettings");
    let c = d.entry("connection".into()).or_default();
    for (k, v) in keys {
        let var = match v {
            Key::Bool(b) => zbus::zvariant::OwnedVariant::from(*b),
            Key::Int(i) => zbus::zvariant::OwnedVariant::from(*i),
            Key::Str(s) => {
                zbus::zvariant::OwnedVariant::try_from(zbus::Variant::from(s.as_str())).unwrap()
            }
        };
        c.insert((*k).to_owned(), var);
    }
    proxy
        .update(settings_arg(&d))
        .await
        .unwrap_or_else(|e| panic!("Update({path}): {e:?}"));
}

// ---------------------------------------------------------------------------
// WireGuard

/// Whether this kernel has WireGuard: a `wireguard` link can be made (in a
/// throw-away network namespace). Where it cannot (EOPNOTSUPP, "unknown
/// device type"), the daemon falls back to wireguard-go.
pub async fn kernel_has_wireguard() -> bool {
    run(
        "unshare",
        &["--net", "ip", "link", "add", "wgprobe", "type", "wireguard"],
    )
    .await
    .success()
}

/// Runs a wg subcommand with `input` on stdin; its trimmed output.
pub fn wg_tool(args: &[&str], input: &str) -> String {
    let mut child = Command::new(WG_BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run wg {args:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "wg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A key pair: (private, public), base64.
pub fn wg_keypair() -> (String, String) {
    let private = wg_tool(&["genkey"], "");
    let public = wg_tool(&["pubkey"], &format!("{private}\n"));
    (private, public)
}

/// The key as hex, as the UAPI writes it.
pub fn key_hex(b64: &str) -> String {
    let engine = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            _ => 63,
        }
    };
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = String::new();
    for c in b64.bytes().take_while(|c| *c != b'=') {
        bits = (bits << 6) | engine(c);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push_str(&format!("{:02x}", (bits >> n) & 0xff));
        }
    }
    out
}

/// A WireGuard gateway in wan.
pub struct WgPeer {
    child: Option<Child>,
    log: PathBuf,
    pub server_private: String,
    pub server_public: String,
    pub client_private: String,
    pub client_public: String,
}

impl WgPeer {
    /// Starts wireguard-go as wgs0 in wan and configures it with wg; call
    /// after the rig has started.
    pub async fn start(rig: &OpenVpnRig) -> WgPeer {
        Self::start_in(rig.dir()).await
    }

    /// As [`WgPeer::start`], in whatever namespace is named `wan` (the
    /// rig's or [`crate::wan::Wan`]'s, both 203.0.113.1), its key and log
    /// in `dir`.
    pub async fn start_in(dir: &Path) -> WgPeer {
        for bin in [WG_GO_BIN, WG_BIN] {
            assert!(
                Path::new(bin).exists(),
                "the WireGuard tests need {bin} (tests/run installs it)"
            );
        }
        kill_all_of(WG_GO_BIN, &[]);
        let _ = std::fs::remove_file(format!("/run/wireguard/{WG_SERVER_IF}.sock"));
        let (server_private, server_public) = wg_keypair();
        let (client_private, client_public) = wg_keypair();
        let keyfile = dir.join("wg-server.key");
        std::fs::write(&keyfile, format!("{server_private}\n")).unwrap();
        std::fs::set_permissions(&keyfile, std::fs::Permissions::from_mode(0o600)).unwrap();
        let log = dir.join("wireguard-go-server.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", RIG_WAN_NS, WG_GO_BIN, "-f", WG_SERVER_IF])
            .env("LOG_LEVEL", "verbose")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start wireguard-go in wan");
        let peer = WgPeer {
            child: Some(child),
            log,
            server_private,
            server_public,
            client_private,
            client_public,
        };
        let sock = format!("/run/wireguard/{WG_SERVER_IF}.sock");
        wait_for(
            Duration::from_secs(5),
            "wireguard-go's socket in wan",
            || {
                let ok = Path::new(&sock).exists();
                async move { ok.then_some(()) }
            },
        )
        .await;
        let port = WG_PORT.to_string();
        let allowed = format!("{WG_CLIENT_ADDR}/32");
        ip(&[
            "netns",
            "exec",
            RIG_WAN_NS,
            WG_BIN,
            "set",
            WG_SERVER_IF,
            "private-key",
            keyfile.to_str().unwrap(),
            "listen-port",
            &port,
            "peer",
            &peer.client_public,
            "allowed-ips",
            &allowed,
        ])
        .await
        .ok();
        ip_ns(
            RIG_WAN_NS,
            &[
                "addr",
                "add",
                &format!("{WG_SERVER_TUN}/24"),
                "dev",
                WG_SERVER_IF,
            ],
        )
        .await
        .ok();
        ip_ns(RIG_WAN_NS, &["link", "set", WG_SERVER_IF, "up"])
            .await
            .ok();
        peer
    }

    /// The server's wireguard-go pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// The daemon's wireguard-go processes (all but the server).
    pub fn client_processes(&self) -> Vec<(u32, String)> {
        let me = self.pid();
        processes_of(WG_GO_BIN)
            .into_iter()
            .filter(|(p, _)| *p != me)
            .collect()
    }

    /// `wg show wgs0 latest-handshakes` in wan: the client's last
    /// handshake, seconds since the epoch (0: none).
    pub async fn latest_handshake(&self) -> u64 {
        let out = ip(&[
            "netns",
            "exec",
            RIG_WAN_NS,
            WG_BIN,
            "show",
            WG_SERVER_IF,
            "latest-handshakes",
        ])
        .await;
        out.stdout
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// A NetworkManager keyfile for this gateway: everything through the
    /// tunnel (allowed-ips 0.0.0.0/0), the client address 10.66.0.2/24,
    /// DNS 10.99.0.53 and search corp.test; `connection_extra` lines go in
    /// [connection].
    pub fn keyfile(&self, id: &str, uuid: &str, connection_extra: &[&str]) -> String {
        let mut extra = String::new();
        for l in connection_extra {
            extra.push_str(l);
            extra.push('\n');
        }
        format!(
            "[connection]\nid={id}\nuuid={uuid}\ntype=wireguard\ninterface-name=wg-corp\n\
             autoconnect=false\n{extra}\n\
             [wireguard]\nprivate-key={}\nprivate-key-flags=0\n\n\
             [wireguard-peer.{}]\nendpoint={SERVER_ADDR}:{WG_PORT}\nallowed-ips=0.0.0.0/0;\n\
             persistent-keepalive=25\n\n\
             [ipv4]\naddress1={WG_CLIENT_ADDR}/24\ndns={CORP_DNS};\ndns-search={CORP_DOMAIN};\n\
             method=manual\n\n[ipv6]\naddr-gen-mode=stable-privacy\nmethod=disabled\n\n[proxy]\n",
            self.client_private, self.server_public
        )
    }

    /// The same as a wg-quick file.
    pub fn wg_quick(&self) -> String {
        format!(
            "# corp gateway\n[Interface]\nPrivateKey = {}\nAddress = {WG_CLIENT_ADDR}/24\n\
             DNS = {CORP_DNS}, {CORP_DOMAIN}\n\n[Peer]\nPublicKey = {}\n\
             AllowedIPs = 0.0.0.0/0\nEndpoint = {SERVER_ADDR}:{WG_PORT}\nPersistentKeepalive = 25\n",
            self.client_private, self.server_public
        )
    }

    pub fn log_text(&self) -> String {
        format!(
            "----- wireguard-go server ({}) -----\n{}",
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }
}

impl Drop for WgPeer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_text());
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        kill_all_of(WG_GO_BIN, &[]);
        let _ = std::fs::remove_file(format!("/run/wireguard/{WG_SERVER_IF}.sock"));
    }
}

// ---------------------------------------------------------------------------
// ocserv

/// An OpenConnect (AnyConnect) gateway in wan: Debian's ocserv.
pub struct OcServer {
    child: Option<Child>,
    pub dir: PathBuf,
    log: PathBuf,
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// The server certificate's pin, as openconnect's --servercert takes it.
    pub pin: String,
}

impl OcServer {
    /// Makes the certificates and the password file and starts ocserv in
    /// the foreground in wan; waits until it listens on 443.
    pub async fn start(rig: &OpenVpnRig) -> OcServer {
        Self::start_with_dpd(rig, 90).await
    }

    /// As [`OcServer::start`], with dead peer detection every `dpd`
    /// seconds (which openconnect adopts): a path outage is noticed by
    /// both ends within a few of them.
    pub async fn start_with_dpd(rig: &OpenVpnRig, dpd: u32) -> OcServer {
        for bin in [
            OCSERV_BIN,
            OCPASSWD_BIN,
            OPENCONNECT_BIN,
            "/usr/bin/openssl",
        ] {
            assert!(
                Path::new(bin).exists(),
                "the OpenConnect tests need {bin} (tests/run installs it)"
            );
        }
        kill_all_of(OCSERV_BIN, &[]);
        kill_all_of(OPENCONNECT_BIN, &[]);
        let dir = rig.dir().join("ocserv");
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap().to_owned();
        let sh = |script: String| {
            let out = Command::new("sh")
                .args(["-ec", &script])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{script}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca.key -out ca.crt -days 2 -subj '/CN=netnsd test OC CA' \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
            2>/dev/null
            printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature,keyEncipherment,keyAgreement\\n\
extendedKeyUsage=serverAuth\\nsubjectAltName=IP:203.0.113.1\\n' > server.ext
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout server.key -out server.csr -subj '/CN=203.0.113.1' 2>/dev/null
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out server.crt -days 2 -extfile server.ext 2>/dev/null
            chmod 600 ca.key server.key"
            .to_owned());
        let pin = sh(
            "openssl x509 -in server.crt -noout -pubkey | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | openssl base64"
                .to_owned(),
        );
        let pin = format!("pin-sha256:{}", pin.trim());
        // ocpasswd reads the password twice from its terminal or stdin.
        sh(format!(
            "printf '%s\\n%s\\n' '{OC_PASSWORD}' '{OC_PASSWORD}' | {OCPASSWD_BIN} -c {d}/ocpasswd {OC_USER}"
        ));
        let conf = format!(
            "auth = \"plain[passwd={d}/ocpasswd]\"\n\
             listen-host = {SERVER_ADDR}\n\
             tcp-port = 443\nudp-port = 443\n\
             run-as-user = root\nrun-as-group = root\n\
             socket-file = {d}/ocserv.sock\n\
             isolate-workers = false\n\
             server-cert = {d}/server.crt\nserver-key = {d}/server.key\n\
             ca-cert = {d}/ca.crt\n\
             max-clients = 16\nmax-same-clients = 4\n\
             keepalive = 32400\ndpd = {dpd}\nmobile-dpd = 1800\n\
             try-mtu-discovery = false\n\
             cert-user-oid = 0.9.2342.19200300.100.1.1\n\
             tls-priorities = \"NORMAL:%SERVER_PRECEDENCE\"\n\
             auth-timeout = 240\nmin-reauth-time = 1\nmax-ban-score = 0\n\
             cookie-timeout = 300\ndeny-roaming = false\nrekey-time = 172800\nrekey-method = ssl\n\
             use-occtl = false\npid-file = {d}/ocserv.pid\n\
             device = vpns\npredictable-ips = true\n\
             default-domain = {CORP_DOMAIN}\n\
             ipv4-network = 192.168.100.0\nipv4-netmask = 255.255.255.0\n\
             dns = {CORP_DNS}\n\
             route = 10.99.0.0/255.255.255.0\n\
             ping-leases = false\n\
             cisco-client-compat = true\n\
             dtls-legacy = true\n"
        );
        let conf_path = dir.join("ocserv.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = dir.join("ocserv.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                RIG_WAN_NS,
                OCSERV_BIN,
                "-f",
                "-d",
                "2",
                "-c",
                conf_path.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start ocserv in wan");
        let mut s = OcServer {
            child: Some(child),
            ca: dir.join("ca.crt"),
            dir,
            log,
            pin,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = s.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("ocserv exited at start with {st}:\n{}", s.log_text());
            }
            let out = ip(&[
                "netns", "exec", RIG_WAN_NS, "ss", "-H", "-tln", "sport", "= :443",
            ])
            .await;
            if !out.stdout.trim().is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                panic!("ocserv does not listen on 443:\n{}", s.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        s
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Kills every ocserv process (a server gone); [`OcServer::resume`]
    /// starts it again with the same configuration and certificates.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        kill_all_of(OCSERV_BIN, &[]);
    }

    /// Starts ocserv again after [`OcServer::kill`]; waits until it listens.
    pub async fn resume(&mut self) {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .unwrap();
        let conf = self.dir.join("ocserv.conf");
        let child = Command::new("ip")
            .args([
                "netns", "exec", RIG_WAN_NS, OCSERV_BIN, "-f", "-d", "2", "-c",
            ])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start ocserv in wan again");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = ip(&[
                "netns", "exec", RIG_WAN_NS, "ss", "-H", "-tln", "sport", "= :443",
            ])
            .await;
            if !out.stdout.trim().is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "ocserv does not listen on 443 again:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_text(&self) -> String {
        format!(
            "----- ocserv ({}) -----\n{}",
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    /// A NetworkManager-openconnect profile for this gateway (password
    /// login, the CA given; the password is the test's to add).
    pub fn profile(&self, id: &str) -> VpnProfile {
        rig_profile_base(id)
            .service_type(Some(OC_SERVICE))
            .data("gateway", SERVER_ADDR)
            .data("protocol", "anyconnect")
            .data("cacert", self.ca.to_str().unwrap())
            .data("username", OC_USER)
    }
}

fn rig_profile_base(id: &str) -> VpnProfile {
    VpnProfile {
        id: id.to_owned(),
        uuid: new_uuid(),
        service_type: None,
        data: Default::default(),
        secrets: Default::default(),
        connection: Vec::new(),
    }
}

impl Drop for OcServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_text());
        }
        kill_all_of(OPENCONNECT_BIN, &[]);
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        kill_all_of(OCSERV_BIN, &[]);
    }
}
