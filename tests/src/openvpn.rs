//! A real OpenVPN server for the VPN tests (issue 5), inside the sandbox.
//!
//! ```text
//!  rootns                 wan (the internet)                corp (private network)
//!  rig-wan 203.0.113.2 ── rig-up 203.0.113.1                 eth0 10.99.0.10 (http :8080)
//!  default via .1         openvpn --server, udp 1194              10.99.0.53 (dnsmasq)
//!                         tun0 10.8.0.1/24                   default via 10.99.0.1
//!                         rig-corp 10.99.0.1 ─────────────── eth0
//! ```
//!
//! `wan` forwards between the VPN subnet 10.8.0.0/24 and corp's 10.99.0.0/24;
//! a policy rule there (`iif rig-up to 10.99.0.0/24 prohibit`, above the
//! local table) keeps rootns out of the private network: only a tunnel
//! reaches it. The server (Debian's openvpn, certificates made now with the
//! `openssl` CLI, a tls-auth key from `openvpn --genkey secret`) pushes
//! `route 10.99.0.0 255.255.255.0`, `dhcp-option DNS 10.99.0.53` and
//! `dhcp-option DOMAIN corp.test`. dnsmasq on 10.99.0.53 answers
//! `intranet.corp.test` (10.99.0.10) and nothing else; the sandbox's
//! /etc/hosts names the test addresses differently (`corp-web.rig`, …) so
//! http.server's getfqdn never stalls and the test name resolves only through
//! the pushed DNS.
//!
//! A scratch namespace for running an OpenVPN client by hand (no netnsd) can
//! be added with [`OpenVpnRig::add_scratch`]: its own veth to wan
//! (198.51.100.2/24, no default route), so the server is its only way to
//! corp.
//!
//! Everything the rig starts (server, http.server, dnsmasq, hand-run
//! clients) is killed on Drop, and its namespaces, files and /etc/hosts lines
//! are removed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use zbus::proxy::CacheProperties;
use zbus::wire::{OwnedVariant, Variant};
use zbus::{Connection, MatchRule, MessageStream};

pub use netnsd_api::proxy::{
    ActiveConnectionProxy, NetNsConnectionsProxy, SettingsConnectionProxy, SettingsDict,
    SettingsProxy, VpnConnectionProxy,
};
pub use netnsd_api::state;
pub use netnsd_api::{ACTIVE_INTERFACE, CONNECTION_INTERFACE, SETTINGS_INTERFACE, VPN_INTERFACE};

use crate::harness::*;
use crate::leftovers::*;
use crate::platform::*;

// ---------------------------------------------------------------------------
// Addresses and names

pub const RIG_WAN_NS: &str = "wan";
pub const RIG_CORP_NS: &str = "corp";
/// The namespace [`OpenVpnRig::add_scratch`] makes.
pub const RIG_SCRATCH_NS: &str = "ovpn-scratch";

/// The veth between rootns and wan: its end in rootns and in wan.
pub const RIG_HOST_IF: &str = "rig-wan";
pub const RIG_UP_IF: &str = "rig-up";
/// The veth between wan and corp: its end in wan (the other is corp's eth0).
pub const RIG_CORP_IF: &str = "rig-corp";
/// The veth between wan and the scratch namespace: its end in wan.
pub const RIG_SCRATCH_IF: &str = "rig-scr";

/// The server's address (wan's end of the link to rootns).
pub const SERVER_ADDR: &str = "203.0.113.1";
pub const SERVER_PORT: u16 = 1194;
/// rootns's address on the link to wan.
pub const ROOTNS_ADDR: &str = "203.0.113.2";
/// wan's address on the link to the scratch namespace, and the scratch end.
pub const SCRATCH_GW: &str = "198.51.100.1";
pub const SCRATCH_ADDR: &str = "198.51.100.2";

/// The VPN's own subnet and the server's end of it.
pub const VPN_NET: &str = "10.8.0.0/24";
pub const VPN_SERVER_ADDR: &str = "10.8.0.1";
/// The private network behind the server.
pub const CORP_NET: &str = "10.99.0.0/24";
pub const CORP_GW: &str = "10.99.0.1";
pub const INTRANET_ADDR: &str = "10.99.0.10";
pub const CORP_DNS: &str = "10.99.0.53";
pub const CORP_DOMAIN: &str = "corp.test";
/// The name dnsmasq answers with [`INTRANET_ADDR`]; nothing else resolves it.
pub const INTRANET_NAME: &str = "intranet.corp.test";
pub const INTRANET_PORT: u16 = 8080;
/// What the intranet's index page says.
pub const INTRANET_TOKEN: &str = "netnsd-openvpn-rig-intranet-5c1e";

pub const OPENVPN_SERVICE: &str = "org.freedesktop.NetworkManager.openvpn";
const PYTHON_BIN: &str = "/usr/bin/python3";
const DNSMASQ_BIN: &str = "/usr/sbin/dnsmasq";

/// Where the rig's certificates, configs and logs live (the sandbox's tmpfs
/// /run; the host's /tmp would be visible outside).
pub const RIG_DIR: &str = "/run/netnsd-tests-openvpn";
/// Where netnsd reads keyfiles.
pub const CONNECTIONS_DIR: &str = netnsd_api::CONNECTIONS_DIR;
const HOSTS_MARK: &str = "# netnsd-tests openvpn rig";

/// How long a VPN may take to come up.
pub const VPN_UP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long deactivation (and the cleanup after it) may take.
pub const VPN_DOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the daemon may take to notice a server that went away.
pub const SERVER_GONE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn intranet_url() -> String {
    format!("http://{INTRANET_NAME}:{INTRANET_PORT}/")
}

pub fn intranet_url_by_addr() -> String {
    format!("http://{INTRANET_ADDR}:{INTRANET_PORT}/")
}

// ---------------------------------------------------------------------------
// Small synchronous helpers (also used from Drop)

/// Runs a command to completion, synchronously, ignoring its output.
fn quiet(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// SIGKILLs a child and reaps it.
fn kill_child(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn remove_ns(name: &str) {
    quiet("ip", &["netns", "del", name]);
    let path = Path::new(NETNS_RUN_DIR).join(name);
    if path.exists() {
        let _ = nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_dir_all(Path::new(NETNS_ETC_DIR).join(name));
}

fn file_text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| format!("(cannot read {}: {e})\n", p.display()))
}

/// SIGKILLs every openvpn process in the sandbox and waits (bounded) for
/// them to go.
fn kill_all_openvpn(why: &str) {
    let procs = openvpn_processes();
    if procs.is_empty() {
        return;
    }
    for (pid, cmdline) in &procs {
        eprintln!("openvpn rig: killing openvpn pid {pid} ({why}): {cmdline}");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !openvpn_processes().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Removes every file in /etc/netnsd/connections (the tests' profiles and
/// what AddConnection wrote).
pub fn clear_connections_dir() {
    if let Ok(dir) = std::fs::read_dir(CONNECTIONS_DIR) {
        for e in dir.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

// ---------------------------------------------------------------------------
// The rig

/// A process the rig started, with its log.
struct RigProc {
    what: &'static str,
    child: Child,
    log: PathBuf,
}

/// The files a client needs: the CA, its certificate and key, the tls-auth key.
#[derive(Debug, Clone)]
pub struct ClientFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ta: PathBuf,
}

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct RigOptions {
    /// A tls-auth key (server direction 0, clients 1). Default: yes.
    pub tls_auth: bool,
    /// The server also asks for a user name and password
    /// (`auth-user-pass-verify`) and accepts only this pair; profiles are
    /// then `password-tls`. Default: none.
    pub user_pass: Option<(String, String)>,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            tls_auth: true,
            user_pass: None,
        }
    }
}

/// wan, corp, the OpenVPN server, the intranet's web server and DNS.
pub struct OpenVpnRig {
    opts: RigOptions,
    dir: PathBuf,
    server: Option<RigProc>,
    services: Vec<RigProc>,
    clients: Vec<RigProc>,
    /// Logs of processes that have ended (a killed server).
    old_logs: Vec<(&'static str, PathBuf)>,
    hosts_before: Option<String>,
    pub files: ClientFiles,
}

impl OpenVpnRig {
    /// Builds the whole rig and waits until the server, the web server and
    /// dnsmasq answer. Call it after [`TestEnv::new`] (which would remove
    /// its namespaces) and before [`Daemon::start`]; drop it after the
    /// daemon.
    pub async fn start() -> OpenVpnRig {
        Self::start_with(RigOptions::default()).await
    }

    /// As [`OpenVpnRig::start`], with the server set up as `opts` says.
    pub async fn start_with(opts: RigOptions) -> OpenVpnRig {
        for bin in [
            OPENVPN_BIN,
            PYTHON_BIN,
            DNSMASQ_BIN,
            "/usr/bin/openssl",
            "/usr/bin/curl",
        ] {
            assert!(
                Path::new(bin).exists(),
                "the OpenVPN rig needs {bin} (tests/run installs it)"
            );
        }
        // An openvpn left by an earlier test (a daemon that did not stop
        // its client) must not count against this one.
        kill_all_openvpn("left running before the rig started");
        for ns in [RIG_WAN_NS, RIG_CORP_NS, RIG_SCRATCH_NS] {
            remove_ns(ns);
        }
        let dir = PathBuf::from(RIG_DIR);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).expect("create the rig's directory");
        clear_connections_dir();
        let mut rig = OpenVpnRig {
            opts: opts.clone(),
            files: ClientFiles {
                ca: dir.join("ca.crt"),
                cert: dir.join("client.crt"),
                key: dir.join("client.key"),
                ta: dir.join("ta.key"),
            },
            dir,
            server: None,
            services: Vec::new(),
            clients: Vec::new(),
            old_logs: Vec::new(),
            hosts_before: None,
        };
        rig.make_pki(opts.tls_auth).await;
        rig.make_network().await;
        rig.name_hosts();
        rig.start_server().await;
        rig.start_intranet().await;
        rig
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    // --- certificates --------------------------------------------------

    async fn openssl(&self, args: &[&str]) {
        let mut cmd = tokio::process::Command::new("openssl");
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(COMMAND_TIMEOUT, cmd.output())
            .await
            .unwrap_or_else(|_| panic!("openssl {args:?} hung"))
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A CA, a server certificate (serverAuth) and a client certificate
    /// (clientAuth), EC P-256, valid for two days; and the tls-auth key.
    async fn make_pki(&self, tls_auth: bool) {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=netnsd test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ])
        .await;
        for (who, eku) in [("server", "serverAuth"), ("client", "clientAuth")] {
            let ext = format!(
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\n\
                 extendedKeyUsage={eku}\nsubjectKeyIdentifier=hash\n\
                 authorityKeyIdentifier=keyid\n"
            );
            std::fs::write(self.dir.join(format!("{who}.ext")), ext).unwrap();
            self.openssl(&[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{who}.key"),
                "-out",
                &format!("{who}.csr"),
                "-subj",
                &format!("/CN=netnsd test {who}"),
            ])
            .await;
            self.openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{who}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{who}.crt"),
                "-days",
                "2",
                "-extfile",
                &format!("{who}.ext"),
            ])
            .await;
        }
        for key in ["ca.key", "server.key", "client.key"] {
            std::fs::set_permissions(self.dir.join(key), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        if tls_auth {
            let ta = self.dir.join("ta.key");
            run(OPENVPN_BIN, &["--genkey", "secret", ta.to_str().unwrap()])
                .await
                .ok();
            std::fs::set_permissions(&ta, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    // --- namespaces and links -------------------------------------------

    async fn make_network(&self) {
        let cmds: &[&[&str]] = &[
            &["netns", "add", RIG_WAN_NS],
            &["netns", "add", RIG_CORP_NS],
            // rootns ── wan
            &[
                "link",
                "add",
                RIG_HOST_IF,
                "type",
                "veth",
                "peer",
                "name",
                RIG_UP_IF,
                "netns",
                RIG_WAN_NS,
            ],
            &["addr", "add", "203.0.113.2/24", "dev", RIG_HOST_IF],
            &["link", "set", RIG_HOST_IF, "up"],
            &[
                "route",
                "add",
                "default",
                "via",
                SERVER_ADDR,
                "dev",
                RIG_HOST_IF,
            ],
            &["-n", RIG_WAN_NS, "link", "set", "lo", "up"],
            &[
                "-n",
                RIG_WAN_NS,
                "addr",
                "add",
                "203.0.113.1/24",
                "dev",
                RIG_UP_IF,
            ],
            &["-n", RIG_WAN_NS, "link", "set", RIG_UP_IF, "up"],
            // wan ── corp
            &[
                "-n",
                RIG_WAN_NS,
                "link",
                "add",
                RIG_CORP_IF,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                RIG_CORP_NS,
            ],
            &[
                "-n",
                RIG_WAN_NS,
                "addr",
                "add",
                "10.99.0.1/24",
                "dev",
                RIG_CORP_IF,
            ],
            &["-n", RIG_WAN_NS, "link", "set", RIG_CORP_IF, "up"],
            &["-n", RIG_CORP_NS, "link", "set", "lo", "up"],
            &[
                "-n",
                RIG_CORP_NS,
                "addr",
                "add",
                "10.99.0.10/24",
                "dev",
                "eth0",
            ],
            &[
                "-n",
                RIG_CORP_NS,
                "addr",
                "add",
                "10.99.0.53/24",
                "dev",
                "eth0",
            ],
            &["-n", RIG_CORP_NS, "link", "set", "eth0", "up"],
            &["-n", RIG_CORP_NS, "route", "add", "default", "via", CORP_GW],
            // Nothing from rootns reaches the private network, not even
            // wan's own address on it: this rule comes before the local
            // table, which moves from preference 0 to 20.
            &[
                "-n", RIG_WAN_NS, "rule", "add", "pref", "10", "iif", RIG_UP_IF, "to", CORP_NET,
                "prohibit",
            ],
            &[
                "-n", RIG_WAN_NS, "rule", "add", "pref", "20", "lookup", "local",
            ],
            &[
                "-n", RIG_WAN_NS, "rule", "del", "pref", "0", "lookup", "local",
            ],
        ];
        for args in cmds {
            ip(args).await.ok();
        }
        run(
            "ip",
            &[
                "netns",
                "exec",
                RIG_WAN_NS,
                "sysctl",
                "-q",
                "-w",
                "net.ipv4.ip_forward=1",
                // Refusals to rootns come at once, however many probes.
                "net.ipv4.icmp_ratelimit=0",
            ],
        )
        .await
        .ok();
        // wan resolves through corp's dnsmasq (for the readiness check).
        let etc = Path::new(NETNS_ETC_DIR).join(RIG_WAN_NS);
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("resolv.conf"),
            format!("nameserver {CORP_DNS}\noptions timeout:1 attempts:2\n"),
        )
        .unwrap();
    }

    /// Names the rig's addresses in the sandbox's /etc/hosts (restored on
    /// Drop), never [`INTRANET_NAME`].
    fn name_hosts(&mut self) {
        let before = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let mut text = before.clone();
        if !text.ends_with('\n') && !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!(
            "{HOSTS_MARK}\n{SERVER_ADDR}\twan-server.rig\n{ROOTNS_ADDR}\trootns.rig\n\
             {CORP_GW}\tcorp-gw.rig\n{INTRANET_ADDR}\tcorp-web.rig\n{CORP_DNS}\tcorp-dns.rig\n\
             {VPN_SERVER_ADDR}\tvpn-server.rig\n{SCRATCH_GW}\tscratch-gw.rig\n\
             {SCRATCH_ADDR}\tscratch.rig\n"
        ));
        std::fs::write("/etc/hosts", text).expect("write the sandbox's /etc/hosts");
        self.hosts_before = Some(before);
    }

    // --- processes -------------------------------------------------------

    fn spawn_in(&self, ns: &str, what: &'static str, argv: &[&str]) -> RigProc {
        let log = self.dir.join(format!("{what}.log"));
        let file = std::fs::File::create(&log).expect("create a log file");
        let child = std::process::Command::new("ip")
            .args(["netns", "exec", ns])
            .args(argv)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        RigProc { what, child, log }
    }

    async fn start_server(&mut self) {
        let d = self.dir.display();
        let mut conf = format!(
            "# netnsd test server\n\
             port {SERVER_PORT}\n\
             proto udp\n\
             dev tun\n\
             topology subnet\n\
             server 10.8.0.0 255.255.255.0\n\
             ca {d}/ca.crt\n\
             cert {d}/server.crt\n\
             key {d}/server.key\n\
             dh none\n\
             push \"route 10.99.0.0 255.255.255.0\"\n\
             push \"dhcp-option DNS {CORP_DNS}\"\n\
             push \"dhcp-option DOMAIN {CORP_DOMAIN}\"\n\
             keepalive 2 10\n\
             duplicate-cn\n\
             verb 3\n"
        );
        if self.opts.tls_auth {
            conf.push_str(&format!("tls-auth {d}/ta.key 0\n"));
        }
        if let Some((user, pass)) = &self.opts.user_pass {
            // The script gets a file: the user name, then the password.
            let check = self.dir.join("check-user-pass.sh");
            std::fs::write(
                &check,
                format!(
                    "#!/bin/sh\n[ \"$(sed -n 1p \"$1\")\" = '{user}' ] && \
                     [ \"$(sed -n 2p \"$1\")\" = '{pass}' ]\n"
                ),
            )
            .unwrap();
            std::fs::set_permissions(&check, std::fs::Permissions::from_mode(0o755)).unwrap();
            conf.push_str(&format!(
                "script-security 2\nauth-user-pass-verify {} via-file\ntmp-dir {d}\n",
                check.display()
            ));
        }
        let path = self.dir.join("server.conf");
        std::fs::write(&path, conf).unwrap();
        let log = self.dir.join("openvpn-server.log");
        let proc = self.spawn_in(
            RIG_WAN_NS,
            "openvpn-server-stdout",
            &[
                OPENVPN_BIN,
                "--config",
                path.to_str().unwrap(),
                "--log",
                log.to_str().unwrap(),
            ],
        );
        self.server = Some(RigProc {
            what: "openvpn-server",
            child: proc.child,
            log,
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let server = self.server.as_mut().unwrap();
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "the OpenVPN server exited with {}:\n{}{}",
                    describe_status(status),
                    file_text(&server.log),
                    file_text(&proc.log)
                );
            }
            if file_text(&server.log).contains("Initialization Sequence Completed") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the OpenVPN server did not start within 15 s:\n{}",
                file_text(&server.log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn start_intranet(&mut self) {
        let www = self.dir.join("www");
        std::fs::write(www.join("index.html"), format!("{INTRANET_TOKEN}\n")).unwrap();
        let http = self.spawn_in(
            RIG_CORP_NS,
            "http-server",
            &[
                PYTHON_BIN,
                "-m",
                "http.server",
                "--bind",
                INTRANET_ADDR,
                "--directory",
                www.to_str().unwrap(),
                &INTRANET_PORT.to_string(),
            ],
        );
        self.services.push(http);
        let dnsmasq = self.spawn_in(
            RIG_CORP_NS,
            "dnsmasq",
            &[
                DNSMASQ_BIN,
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                &format!("--listen-address={CORP_DNS}"),
                &format!("--address=/{INTRANET_NAME}/{INTRANET_ADDR}"),
                // corp.test is answered here and never forwarded (no
                // upstream): NODATA for AAAA, NXDOMAIN for other names.
                &format!("--local=/{CORP_DOMAIN}/"),
                "--user=root",
                "--group=root",
                "--pid-file=",
                "--log-facility=-",
                "--log-queries",
            ],
        );
        self.services.push(dnsmasq);
        // Ready when wan (which reaches corp directly) fetches the page by
        // name, through dnsmasq.
        let url = intranet_url();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            for p in &mut self.services {
                if let Some(status) = p.child.try_wait().unwrap() {
                    panic!(
                        "{} exited with {}:\n{}",
                        p.what,
                        describe_status(status),
                        file_text(&p.log)
                    );
                }
            }
            let out = curl_in(RIG_WAN_NS, &url, 2).await;
            if out.success() && out.stdout.contains(INTRANET_TOKEN) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the intranet did not answer from wan within 15 s: {out}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // --- the scratch namespace and hand-run clients ----------------------

    /// A namespace with its own veth to wan (198.51.100.2/24, no default
    /// route): the server is reachable, corp is not, until a tunnel is up.
    pub async fn add_scratch(&mut self) {
        let cmds: &[&[&str]] = &[
            &["netns", "add", RIG_SCRATCH_NS],
            &[
                "-n",
                RIG_WAN_NS,
                "link",
                "add",
                RIG_SCRATCH_IF,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                RIG_SCRATCH_NS,
            ],
            &[
                "-n",
                RIG_WAN_NS,
                "addr",
                "add",
                "198.51.100.1/24",
                "dev",
                RIG_SCRATCH_IF,
            ],
            &["-n", RIG_WAN_NS, "link", "set", RIG_SCRATCH_IF, "up"],
            &[
                "-n",
                RIG_WAN_NS,
                "rule",
                "add",
                "pref",
                "10",
                "iif",
                RIG_SCRATCH_IF,
                "to",
                CORP_NET,
                "prohibit",
            ],
            &["-n", RIG_SCRATCH_NS, "link", "set", "lo", "up"],
            &[
                "-n",
                RIG_SCRATCH_NS,
                "addr",
                "add",
                "198.51.100.2/24",
                "dev",
                "eth0",
            ],
            &["-n", RIG_SCRATCH_NS, "link", "set", "eth0", "up"],
        ];
        for args in cmds {
            ip(args).await.ok();
        }
    }

    /// Runs `openvpn --client` by hand in `ns` (with an `--up` script that
    /// writes its environment to `up.env`), connecting to `remote`; waits
    /// (bounded) for "Initialization Sequence Completed" and returns the
    /// environment the up script saw. The client is killed on Drop or with
    /// [`OpenVpnRig::stop_clients`].
    pub async fn run_client_by_hand(&mut self, ns: &str, remote: &str) -> BTreeMap<String, String> {
        let d = self.dir.display().to_string();
        let env_file = self.dir.join("up.env");
        let _ = std::fs::remove_file(&env_file);
        let script = self.dir.join("up.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nenv > {}.tmp && mv {}.tmp {}\n",
                env_file.display(),
                env_file.display(),
                env_file.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut conf = format!(
            "client\ndev tun\nproto udp\nremote {remote} {SERVER_PORT}\nnobind\n\
             ca {d}/ca.crt\ncert {d}/client.crt\nkey {d}/client.key\n\
             remote-cert-tls server\nscript-security 2\nup {}\nverb 3\n",
            script.display()
        );
        if self.files.ta.exists() {
            conf.push_str(&format!("tls-auth {d}/ta.key 1\n"));
        }
        if let Some((user, pass)) = &self.opts.user_pass {
            let auth = self.dir.join("client-auth.txt");
            std::fs::write(&auth, format!("{user}\n{pass}\n")).unwrap();
            std::fs::set_permissions(&auth, std::fs::Permissions::from_mode(0o600)).unwrap();
            conf.push_str(&format!("auth-user-pass {}\n", auth.display()));
        }
        let conf_path = self.dir.join("client.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = self.dir.join("openvpn-client.log");
        let _ = std::fs::remove_file(&log);
        let mut proc = self.spawn_in(
            ns,
            "openvpn-client-stdout",
            &[
                OPENVPN_BIN,
                "--config",
                conf_path.to_str().unwrap(),
                "--log",
                log.to_str().unwrap(),
            ],
        );
        let deadline = Instant::now() + VPN_UP_TIMEOUT;
        loop {
            if let Some(status) = proc.child.try_wait().unwrap() {
                panic!(
                    "the hand-run OpenVPN client exited with {}:\n{}\n{}",
                    describe_status(status),
                    file_text(&log),
                    self.logs()
                );
            }
            if file_text(&log).contains("Initialization Sequence Completed") && env_file.exists() {
                break;
            }
            if Instant::now() >= deadline {
                kill_child(&mut proc.child);
                panic!(
                    "the hand-run OpenVPN client did not connect within {VPN_UP_TIMEOUT:?}:\n{}\n{}",
                    file_text(&log),
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.clients.push(RigProc {
            what: "openvpn-client",
            child: proc.child,
            log,
        });
        file_text(&env_file)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// Kills the hand-run clients.
    pub fn stop_clients(&mut self) {
        for mut c in self.clients.drain(..) {
            kill_child(&mut c.child);
        }
    }

    // --- the server ------------------------------------------------------

    /// The server's pid (while it runs).
    pub fn server_pid(&self) -> Option<u32> {
        self.server.as_ref().map(|s| s.child.id())
    }

    /// Kills the OpenVPN server outright (SIGKILL: no exit notification
    /// reaches the clients; the server just goes away).
    pub fn kill_server(&mut self) {
        if let Some(mut s) = self.server.take() {
            kill_child(&mut s.child);
            self.old_logs.push(("openvpn-server (killed)", s.log));
        }
    }

    /// Starts the server again after [`Self::kill_server`] (same
    /// configuration, same address and port); waits until it is ready.
    pub async fn restart_server(&mut self) {
        assert!(self.server.is_none(), "the server is running");
        self.start_server().await;
    }

    /// The pids of openvpn processes that are not the rig's own (the
    /// server, hand-run clients): the daemon's clients.
    pub fn foreign_openvpn_pids(&self) -> Vec<(u32, String)> {
        let mine: BTreeSet<u32> = self
            .server
            .iter()
            .chain(self.clients.iter())
            .map(|p| p.child.id())
            .collect();
        openvpn_processes()
            .into_iter()
            .filter(|(pid, _)| !mine.contains(pid))
            .collect()
    }

    /// The server's log, the services' logs and hand-run clients' logs.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for (what, log) in &self.old_logs {
            s.push_str(&format!(
                "----- {what} ({}) -----\n{}",
                log.display(),
                file_text(log)
            ));
        }
        for p in self
            .server
            .iter()
            .chain(self.services.iter())
            .chain(self.clients.iter())
        {
            s.push_str(&format!(
                "----- {} ({}) -----\n{}",
                p.what,
                p.log.display(),
                file_text(&p.log)
            ));
        }
        s.push_str("----- end of the rig's logs -----");
        s
    }

    // --- profiles ----------------------------------------------------------

    /// A TLS profile for this server, as NetworkManager-openvpn writes it:
    /// remote 203.0.113.1:1194 over UDP, the CA, client certificate and key,
    /// the tls-auth key with direction 1 (if the server has one); with
    /// [`RigOptions::user_pass`], `password-tls` with the user name (the
    /// password, a secret, is the test's to add). No netns keys yet.
    pub fn profile(&self, id: &str) -> VpnProfile {
        let mut data = BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            data.insert(k.to_owned(), v.to_owned());
        };
        put("remote", &format!("{SERVER_ADDR}:{SERVER_PORT}"));
        match &self.opts.user_pass {
            None => put("connection-type", "tls"),
            Some((user, _)) => {
                put("connection-type", "password-tls");
                put("username", user);
                put("password-flags", "0");
            }
        }
        put("ca", self.files.ca.to_str().unwrap());
        put("cert", self.files.cert.to_str().unwrap());
        put("key", self.files.key.to_str().unwrap());
        put("cert-pass-flags", "4");
        put("proto-tcp", "no");
        put("dev-type", "tun");
        put("remote-cert-tls", "server");
        if self.files.ta.exists() {
            put("ta", self.files.ta.to_str().unwrap());
            put("ta-dir", "1");
        }
        VpnProfile {
            id: id.to_owned(),
            uuid: new_uuid(),
            service_type: Some(OPENVPN_SERVICE.to_owned()),
            data,
            secrets: BTreeMap::new(),
            connection: Vec::new(),
        }
    }

    // --- checks --------------------------------------------------------------

    /// What the rig itself keeps, for [`assert_nothing_left`]: its
    /// namespaces (wan, corp and, once added, the scratch one) and its
    /// openvpn processes (the server, hand-run clients).
    pub fn keep(&self) -> Keep {
        let mut keep = Keep::nothing().ns(RIG_WAN_NS).ns(RIG_CORP_NS);
        if Path::new(NETNS_RUN_DIR).join(RIG_SCRATCH_NS).exists() {
            keep = keep.ns(RIG_SCRATCH_NS);
        }
        for p in self.server.iter().chain(self.clients.iter()) {
            keep = keep.pid(p.child.id());
        }
        keep
    }

    /// The precondition of every VPN test: rootns reaches the server but
    /// not the private network (neither the web server, nor the DNS server,
    /// nor the gateway's address on it).
    pub async fn assert_rootns_cut_off(&self) {
        ping(ROOT_NS_NAME, 2, &[SERVER_ADDR]).await.ok();
        for addr in [INTRANET_ADDR, CORP_DNS, CORP_GW] {
            let out = ping(ROOT_NS_NAME, 1, &[addr]).await;
            assert!(
                !out.success(),
                "rootns must not reach the private network, but {addr} answered: {out}"
            );
        }
        let out = curl_in(ROOT_NS_NAME, &intranet_url_by_addr(), 3).await;
        assert!(
            !out.stdout.contains(INTRANET_TOKEN),
            "rootns fetched the intranet's page: {out}"
        );
    }
}

impl Drop for OpenVpnRig {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if panicking {
            eprintln!("{}", self.logs());
        }
        for p in self
            .clients
            .iter_mut()
            .chain(self.server.iter_mut())
            .chain(self.services.iter_mut())
        {
            kill_child(&mut p.child);
        }
        // The daemon's clients, if a test left any (after the daemon has
        // stopped: every openvpn in the sandbox is the tests').
        kill_all_openvpn("left running after the test");
        for ns in [RIG_SCRATCH_NS, RIG_CORP_NS, RIG_WAN_NS] {
            remove_ns(ns);
        }
        // The veth to wan died with wan; make sure of it.
        quiet("ip", &["link", "del", RIG_HOST_IF]);
        if let Some(before) = self.hosts_before.take() {
            let _ = std::fs::write("/etc/hosts", before);
        }
        clear_connections_dir();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Profiles

/// A value of a `connection` key.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Bool(bool),
    Int(i32),
    Str(String),
}

impl Key {
    fn keyfile(&self) -> String {
        match self {
            Key::Bool(b) => b.to_string(),
            Key::Int(i) => i.to_string(),
            Key::Str(s) => s.clone(),
        }
    }

    fn variant(&self) -> OwnedVariant {
        match self {
            Key::Bool(b) => OwnedVariant::from(*b),
            Key::Int(i) => OwnedVariant::from(*i),
            Key::Str(s) => OwnedVariant::try_from(Variant::from(s.as_str())).unwrap(),
        }
    }
}

/// A VPN connection profile: the `connection` setting (id, uuid, type vpn
/// and the netns keys) and the `vpn` setting (service-type, data, secrets).
#[derive(Debug, Clone)]
pub struct VpnProfile {
    pub id: String,
    pub uuid: String,
    /// None leaves `service-type` out.
    pub service_type: Option<String>,
    pub data: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    /// Further `connection` keys, in order (netns-isolate, …).
    pub connection: Vec<(String, Key)>,
}

impl VpnProfile {
    /// Sets (or replaces) a `connection` key.
    pub fn with(mut self, key: &str, value: Key) -> Self {
        self.connection.retain(|(k, _)| k != key);
        self.connection.push((key.to_owned(), value));
        self
    }

    /// netns-isolate=true, netns-name=NAME.
    pub fn isolated(self, name: &str) -> Self {
        self.with("netns-isolate", Key::Bool(true))
            .with("netns-name", Key::Str(name.to_owned()))
    }

    pub fn persistent(self, yes: bool) -> Self {
        self.with("netns-persistent", Key::Bool(yes))
    }

    pub fn timeout_ms(self, ms: i32) -> Self {
        self.with("netns-timeout", Key::Int(ms))
    }

    pub fn data(mut self, key: &str, value: &str) -> Self {
        self.data.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn secret(mut self, key: &str, value: &str) -> Self {
        self.secrets.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn service_type(mut self, s: Option<&str>) -> Self {
        self.service_type = s.map(str::to_owned);
        self
    }

    /// The profile as NetworkManager writes a keyfile: [connection] (with
    /// the netns keys), [vpn] with the data and service-type, [vpn-secrets],
    /// and the [ipv4], [ipv6] and [proxy] sections NetworkManager adds.
    pub fn keyfile(&self) -> String {
        let mut s = format!(
            "[connection]\nid={}\nuuid={}\ntype=vpn\nautoconnect=false\npermissions=\n",
            self.id, self.uuid
        );
        for (k, v) in &self.connection {
            s.push_str(&format!("{k}={}\n", v.keyfile()));
        }
        s.push_str("\n[vpn]\n");
        for (k, v) in &self.data {
            s.push_str(&format!("{k}={v}\n"));
        }
        if let Some(t) = &self.service_type {
            s.push_str(&format!("service-type={t}\n"));
        }
        if !self.secrets.is_empty() {
            s.push_str("\n[vpn-secrets]\n");
            for (k, v) in &self.secrets {
                s.push_str(&format!("{k}={v}\n"));
            }
        }
        s.push_str(
            "\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=stable-privacy\nmethod=auto\n\n[proxy]\n",
        );
        s
    }

    /// Writes the keyfile to /etc/netnsd/connections/STEM.nmconnection,
    /// root-owned, mode 0600; returns its path.
    pub fn install_keyfile(&self, stem: &str) -> PathBuf {
        install_keyfile_text(stem, &self.keyfile())
    }

    /// The profile as `a{sa{sv}}` for AddConnection and Update.
    pub fn settings(&self) -> SettingsDict {
        let mut connection: HashMap<String, OwnedVariant> = HashMap::new();
        let s = |v: &str| OwnedVariant::try_from(Variant::from(v)).unwrap();
        connection.insert("id".into(), s(&self.id));
        connection.insert("uuid".into(), s(&self.uuid));
        connection.insert("type".into(), s("vpn"));
        connection.insert("autoconnect".into(), OwnedVariant::from(false));
        for (k, v) in &self.connection {
            connection.insert(k.clone(), v.variant());
        }
        let mut vpn: HashMap<String, OwnedVariant> = HashMap::new();
        if let Some(t) = &self.service_type {
            vpn.insert("service-type".into(), s(t));
        }
        vpn.insert("data".into(), OwnedVariant::from(self.data.clone()));
        vpn.insert("secrets".into(), OwnedVariant::from(self.secrets.clone()));
        let mut d = SettingsDict::new();
        d.insert("connection".into(), connection);
        d.insert("vpn".into(), vpn);
        d
    }
}

/// Writes a keyfile's text to /etc/netnsd/connections/STEM.nmconnection,
/// root-owned, mode 0600.
pub fn install_keyfile_text(stem: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(CONNECTIONS_DIR).expect("create /etc/netnsd/connections");
    let path = Path::new(CONNECTIONS_DIR).join(format!("{stem}.nmconnection"));
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .expect("create the keyfile");
        f.write_all(text.as_bytes()).unwrap();
    }
    std::fs::rename(&tmp, &path).expect("install the keyfile");
    let m = std::fs::metadata(&path).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777), (0, 0o600));
    path
}

/// A keyfile parsed into section → key → value.
pub type Keyfile = BTreeMap<String, BTreeMap<String, String>>;

/// Parses keyfile text (GKeyFile syntax, as NetworkManager writes it).
pub fn parse_keyfile(text: &str) -> Keyfile {
    let mut out = Keyfile::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            out.entry(section.clone()).or_default();
        } else if let Some((k, v)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    out
}

/// The files in /etc/netnsd/connections, sorted.
pub fn connection_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(CONNECTIONS_DIR)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// A random UUID from the kernel.
pub fn new_uuid() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .expect("read /proc/sys/kernel/random/uuid")
        .trim()
        .to_owned()
}

/// `a{sa{sv}}` in the borrowed form the proxies take.
pub fn settings_arg(d: &SettingsDict) -> HashMap<&str, HashMap<&str, Variant<'_>>> {
    d.iter()
        .map(|(s, keys)| {
            (
                s.as_str(),
                keys.iter()
                    .map(|(k, v)| (k.as_str(), v.try_clone().expect("clone a variant").into()))
                    .collect(),
            )
        })
        .collect()
}

/// A string out of a settings dictionary.
pub fn setting_str(d: &SettingsDict, setting: &str, key: &str) -> Option<String> {
    d.get(setting)
        .and_then(|s| s.get(key))
        .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
}

/// A bool out of a settings dictionary.
pub fn setting_bool(d: &SettingsDict, setting: &str, key: &str) -> Option<bool> {
    d.get(setting)
        .and_then(|s| s.get(key))
        .and_then(|v| bool::try_from(v).ok())
}

/// An int32 out of a settings dictionary.
pub fn setting_i32(d: &SettingsDict, setting: &str, key: &str) -> Option<i32> {
    d.get(setting)
        .and_then(|s| s.get(key))
        .and_then(|v| i32::try_from(v).ok())
}

/// An `a{ss}` (vpn.data, vpn.secrets) out of a settings dictionary.
pub fn setting_map(d: &SettingsDict, setting: &str, key: &str) -> Option<BTreeMap<String, String>> {
    d.get(setting)
        .and_then(|s| s.get(key))
        .and_then(|v| BTreeMap::<String, String>::try_from(v.try_clone().ok()?).ok())
}

// ---------------------------------------------------------------------------
// Bus proxies

pub async fn settings_proxy(conn: &Connection) -> SettingsProxy<'static> {
    SettingsProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("Settings proxy")
}

pub async fn connection_proxy(conn: &Connection, path: &str) -> SettingsConnectionProxy<'static> {
    SettingsConnectionProxy::builder(conn)
        .path(path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("Settings.Connection proxy")
}

pub async fn ns_connections(conn: &Connection, ns_path: &str) -> NetNsConnectionsProxy<'static> {
    NetNsConnectionsProxy::builder(conn)
        .path(ns_path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("NetNsInstance (connections) proxy")
}

pub async fn active_proxy(conn: &Connection, path: &str) -> ActiveConnectionProxy<'static> {
    ActiveConnectionProxy::builder(conn)
        .path(path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("Connection.Active proxy")
}

pub async fn vpn_proxy(conn: &Connection, path: &str) -> VpnConnectionProxy<'static> {
    VpnConnectionProxy::builder(conn)
        .path(path.to_owned())
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .expect("VPN.Connection proxy")
}

/// The root namespace's object.
pub fn rootns_path() -> String {
    namespace_path(0)
}

/// AddConnection, as root; panics on failure.
pub async fn add_connection(conn: &Connection, profile: &VpnProfile) -> String {
    settings_proxy(conn)
        .await
        .add_connection(settings_arg(&profile.settings()))
        .await
        .unwrap_or_else(|e| panic!("AddConnection({}): {e:?}", profile.id))
        .to_string()
}

/// ListConnections as strings.
pub async fn list_connections(conn: &Connection) -> Vec<String> {
    settings_proxy(conn)
        .await
        .list_connections()
        .await
        .expect("ListConnections")
        .into_iter()
        .map(|p| p.to_string())
        .collect()
}

/// ActivateConnection on rootns (device and specific object "/").
pub async fn activate(conn: &Connection, connection: &str) -> Result<String, ApiError> {
    ns_connections(conn, &rootns_path())
        .await
        .activate_connection(&op(connection), &op("/"), &op("/"))
        .await
        .map(|p| p.to_string())
}

/// DeactivateConnection on rootns.
pub async fn deactivate(conn: &Connection, active: &str) -> Result<(), ApiError> {
    ns_connections(conn, &rootns_path())
        .await
        .deactivate_connection(&op(active))
        .await
}

// ---------------------------------------------------------------------------
// State changes as they happen

/// Which signal an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// Connection.Active StateChanged.
    State,
    /// VPN.Connection VpnStateChanged.
    Vpn,
}

/// One StateChanged or VpnStateChanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub path: String,
    pub sig: Sig,
    pub state: u32,
    pub reason: u32,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, name) = match self.sig {
            Sig::State => ("State", state::active::name(self.state)),
            Sig::Vpn => ("VpnState", state::vpn::name(self.state)),
        };
        write!(
            f,
            "{} {kind} {} ({name}), reason {} ({})",
            self.path,
            self.state,
            self.reason,
            state::reason::name(self.reason)
        )
    }
}

/// Every StateChanged and VpnStateChanged the daemon sends, from any
/// object, from the moment this is made: subscribe before activating, and
/// nothing is missed.
pub struct StateLog {
    /// One stream for both signals, so their order is the bus's.
    stream: MessageStream,
    pub events: Vec<Event>,
}

impl StateLog {
    pub async fn new(conn: &Connection) -> StateLog {
        let rule = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(BUS_NAME)
            .path_namespace(netnsd_api::ACTIVE_PATH_PREFIX)
            .build()
            .expect("match rule");
        let stream = MessageStream::for_match_rule(rule, conn, std::num::NonZeroUsize::new(4096))
            .await
            .expect("subscribe to the active connections' signals");
        StateLog {
            stream,
            events: Vec::new(),
        }
    }

    fn record(&mut self, msg: zbus::Message) {
        let header = msg.header();
        let (Some(path), Some(iface), Some(member)) =
            (header.path(), header.interface(), header.member())
        else {
            return;
        };
        let sig = match (iface.as_str(), member.as_str()) {
            (ACTIVE_INTERFACE, "StateChanged") => Sig::State,
            (VPN_INTERFACE, "VpnStateChanged") => Sig::Vpn,
            _ => return,
        };
        if let Ok((state, reason)) = msg.body().deserialize::<(u32, u32)>() {
            self.events.push(Event {
                path: path.to_string(),
                sig,
                state,
                reason,
            });
        }
    }

    /// Takes in the next message, waiting at most `limit`; false if none came.
    async fn pump(&mut self, limit: Duration) -> bool {
        match tokio::time::timeout(limit, self.stream.next()).await {
            Ok(Some(Ok(m))) => {
                self.record(m);
                true
            }
            Ok(Some(Err(_))) => true,
            Ok(None) | Err(_) => false,
        }
    }

    /// Takes in everything already queued.
    pub async fn drain(&mut self) {
        while self.pump(Duration::from_millis(20)).await {}
    }

    /// Reads signals until `done` holds for the events of `path`, within
    /// `limit`; panics showing every event seen.
    pub async fn wait<F>(&mut self, path: &str, limit: Duration, what: &str, done: F)
    where
        F: Fn(&[Event]) -> bool,
    {
        let deadline = Instant::now() + limit;
        loop {
            let mine = self.of(path);
            if done(&mine) {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "timed out after {limit:?} waiting for {what} on {path}; signals seen:\n{}",
                    self.describe()
                );
            }
            let _ = self.pump(deadline - now).await;
        }
    }

    /// Waits until `path` sends StateChanged with `state`.
    pub async fn wait_state(&mut self, path: &str, st: u32, limit: Duration) {
        let what = format!("State {st} ({})", state::active::name(st));
        self.wait(path, limit, &what, |ev| {
            ev.iter().any(|e| e.sig == Sig::State && e.state == st)
        })
        .await
    }

    /// Waits until `path` sends StateChanged deactivated (4) — the end of
    /// every connection, good or bad.
    pub async fn wait_deactivated(&mut self, path: &str, limit: Duration) {
        self.wait_state(path, state::active::DEACTIVATED, limit)
            .await
    }

    /// The events of one object, in order.
    pub fn of(&self, path: &str) -> Vec<Event> {
        self.events
            .iter()
            .filter(|e| e.path == path)
            .cloned()
            .collect()
    }

    /// The (state, reason) pairs `path` sent with `sig`, in order.
    pub fn states(&self, path: &str, sig: Sig) -> Vec<(u32, u32)> {
        self.events
            .iter()
            .filter(|e| e.path == path && e.sig == sig)
            .map(|e| (e.state, e.reason))
            .collect()
    }

    pub fn describe(&self) -> String {
        if self.events.is_empty() {
            return "  (none)".into();
        }
        self.events
            .iter()
            .map(|e| format!("  {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Whether `want` appears in `seq` in this order (not necessarily adjacent).
pub fn in_order(seq: &[u32], want: &[u32]) -> bool {
    let mut it = seq.iter();
    want.iter().all(|w| it.any(|s| s == w))
}

// ---------------------------------------------------------------------------
// Observers

/// `curl -sS --max-time SECS URL`, in a namespace (rootns: plain curl).
pub async fn curl_in(ns: &str, url: &str, max_secs: u32) -> Out {
    let t = max_secs.to_string();
    let curl = [
        "/usr/bin/curl",
        "-sS",
        "--noproxy",
        "*",
        "--max-time",
        &t,
        url,
    ];
    if ns == ROOT_NS_NAME {
        run(curl[0], &curl[1..]).await
    } else {
        let mut args = vec!["netns", "exec", ns];
        args.extend(curl);
        ip(&args).await
    }
}

/// Every tunnel of the daemon's VPN clients (named nsvpnN: tun devices, or
/// kernel WireGuard links) outside `wan` (where the server's is): namespace →
/// names. Empty when no client tunnel is left anywhere.
pub async fn client_tuns() -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut namespaces = vec![ROOT_NS_NAME.to_owned()];
    namespaces.extend(ip_netns_list().await);
    for ns in namespaces {
        if ns == RIG_WAN_NS {
            continue;
        }
        let tuns: Vec<String> = links_of_kinds(&ns, &["tun", "wireguard"])
            .await
            .into_iter()
            .filter(|t| t.starts_with("nsvpn"))
            .collect();
        if !tuns.is_empty() {
            out.insert(ns, tuns);
        }
    }
    out
}

/// Every running openvpn process: pid and command line.
pub fn openvpn_processes() -> Vec<(u32, String)> {
    processes_of(OPENVPN_BIN)
}

/// Whether a namespace object for `name` is on the bus.
pub async fn ns_on_bus(conn: &Connection, name: &str) -> bool {
    controller(conn)
        .await
        .get_network_namespace_by_name(name)
        .await
        .is_ok()
}
