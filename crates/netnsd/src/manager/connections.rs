//! Connection profiles and their activation: the isolated VPN lifecycle.
//!
//! As in NetworkManager's netns prototype: the VPN client runs in the
//! namespace that has the uplink; when it reports the tunnel up (through
//! `netnsd --vpn-helper`), the tunnel device is taken into the namespace
//! netns-name names (made if missing), waiting up to netns-timeout, and
//! configured there with the pushed addresses, routes and DNS. That
//! namespace holds only lo and the tunnel: a kill switch by construction.
//! What follows the launch (state transitions, failure, deactivation,
//! teardown) is in `connections/active.rs`.

mod active;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netnsd_api::state::{active as st, reason, vpn as vs};
use netnsd_api::{Error, active_path};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use zbus::wire::OwnedObjectPath;

use super::state::Waiter;
use super::{ActiveInfo, Later, Manager};
use crate::dns::Dns;
use crate::netlink_ops as ops;
use crate::settings::Profile;
use crate::spec::{Cidr, Family, RouteSpec, TABLE_MAIN};
use crate::vpn::{VpnConfig, openconnect, openvpn, wg_kernel, wireguard};

/// The daemon's side of one running VPN client.
pub(super) struct VpnRun {
    plugin: Plugin,
    pid: Option<u32>,
    tundev: String,
    /// netns-isolate: (namespace name, made by this activation, persistent).
    isolate: Option<(String, bool, bool)>,
    timeout_ms: i32,
    /// The helper waiting for the verdict on the pushed configuration.
    helper_reply: Option<oneshot::Sender<String>>,
    config: Option<VpnConfig>,
    files: Vec<PathBuf>,
    log: Arc<Mutex<VecDeque<String>>>,
    /// The end was asked for (user, failure): its reason.
    ending: Option<u32>,
    /// WireGuard in the kernel: the tunnel is a `wireguard` link the
    /// daemon made (no client process), deleted when the connection ends.
    kernel_link: bool,
}

const LOG_LINES: usize = 200;

impl Manager {
    pub(super) async fn activate(
        &mut self,
        profile_number: u32,
        uplink_ns: u32,
    ) -> Result<OwnedObjectPath, Error> {
        let profile = self
            .profiles
            .get(profile_number)
            .map(|p| p.profile)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no connection {}",
                    netnsd_api::connection_path(profile_number)
                ))
            })?;
        if let Some(a) = self.actives.live_of_profile(profile_number) {
            return Err(Error::AlreadyExists(format!(
                "connection {:?} is already active at {}",
                profile.id(),
                active_path(a.number)
            )));
        }
        let plugin = Plugin::of(&profile)?;
        let isolate = profile.netns().isolate.then(|| profile.netns_name());
        if let Some(name) = &isolate {
            netnsd_api::validate::netns_name(name)
                .map_err(|e| Error::InvalidArgument(format!("connection.netns-name: {e}")))?;
            let busy = self.actives.live().iter().any(|a| {
                self.runs
                    .get(a)
                    .and_then(|r| r.isolate.as_ref())
                    .is_some_and(|(n, ..)| n == name)
            });
            if busy {
                return Err(Error::Busy(format!(
                    "namespace {name:?} is in use by another active connection"
                )));
            }
            if name == netnsd_api::ROOT_NS_NAME {
                return Err(Error::InvalidArgument(
                    "connection.netns-name: the root namespace cannot be isolated".into(),
                ));
            }
        }
        let number = self.actives.next_number();
        let tundev = format!("nsvpn{number}");
        let (info_tundev, n_for_wg) = (tundev.clone(), number);
        let dir = self.state_dir.join("vpn");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Failed(format!("create {}: {e}", dir.display())))?;
        let socket = dir.join(format!("{number}.sock"));
        let auth = dir.join(format!("{number}.auth"));
        let askpass = dir.join(format!("{number}.pass"));
        let exe =
            std::env::current_exe().map_err(|e| Error::Failed(format!("own executable: {e}")))?;
        let helper = format!("{} --vpn-helper {}", exe.display(), socket.display());
        let launch = plugin.launch(&profile, &tundev, &helper, &auth, &askpass)?;
        self.actives.take_number();

        let mut files = vec![socket.clone()];
        for (path, content) in &launch.files {
            {
                let c = content;
                let written = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(path)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, c.as_bytes()));
                files.push(path.clone());
                if let Err(e) = written {
                    remove_files(&files);
                    return Err(Error::Failed(format!("write {}: {e}", path.display())));
                }
            }
        }
        let _ = std::fs::remove_file(&socket);
        let listener = match tokio::net::UnixListener::bind(&socket) {
            Ok(l) => l,
            Err(e) => {
                remove_files(&files);
                return Err(Error::Failed(format!(
                    "listen on {}: {e}",
                    socket.display()
                )));
            }
        };
        let later = self.later_tx.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (r, mut w) = stream.into_split();
                let mut line = String::new();
                if tokio::io::BufReader::new(r)
                    .read_line(&mut line)
                    .await
                    .is_err()
                {
                    continue;
                }
                let env: HashMap<String, String> = serde_json::from_str(&line).unwrap_or_default();
                let (tx, rx) = oneshot::channel();
                if later.send(Later::VpnUp(number, env, tx)).is_err() {
                    break;
                }
                let verdict = rx.await.unwrap_or_else(|_| "the daemon went away".into());
                let _ = w.write_all(format!("{verdict}\n").as_bytes()).await;
            }
        });

        let info = ActiveInfo {
            number,
            profile: profile_number,
            id: profile.id().to_owned(),
            uuid: profile.uuid().to_owned(),
            kind: profile.kind().to_owned(),
            vpn: true,
            state: st::UNKNOWN,
            vpn_state: vs::UNKNOWN,
            reason: reason::NONE,
            uplink_ns,
            ns: uplink_ns,
            banner: String::new(),
        };
        let changes = self.actives.add(info.clone());
        self.publish(changes).await;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        self.runs.insert(
            number,
            VpnRun {
                pid: None,
                tundev: tundev.clone(),
                isolate: isolate.map(|n| (n, false, profile.netns().persistent)),
                timeout_ms: profile.netns().timeout_ms,
                helper_reply: None,
                plugin,
                config: None,
                files,
                log: log.clone(),
                ending: None,
                kernel_link: false,
            },
        );
        // As NetworkManager: the object appears, then goes to activating.
        self.transition(
            number,
            Some(st::ACTIVATING),
            Some(vs::PREPARE),
            reason::NONE,
        )
        .await;

        // WireGuard: the kernel's, where it has it.
        if plugin == Plugin::WireGuard {
            match self.kernel_wireguard(number, uplink_ns, &profile).await {
                Ok(true) => {
                    let timeout = super::profiles::vpn_timeout(&profile);
                    self.later(timeout, Later::ConnectTimeout(number));
                    self.transition(number, None, Some(vs::CONNECT), reason::NONE)
                        .await;
                    return Ok(info.object_path());
                }
                Ok(false) => {}
                Err(e) => {
                    self.fail(number, reason::SERVICE_START_FAILED).await;
                    return Err(e);
                }
            }
        }
        // Start the client in the uplink namespace.
        let netns = match self.namespaces.by_number(uplink_ns) {
            Some(ns) if ns.number != 0 => Some(self.ns_file(&ns)?),
            _ => None,
        };
        let (program, args, stdin) = (launch.program, launch.args.clone(), launch.stdin.clone());
        let spawned = tokio::task::spawn_blocking(move || {
            let mut cmd = Command::new(program);
            cmd.args(&args)
                .stdin(if stdin.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if let Some(f) = netns {
                // SAFETY: setns is async-signal-safe; the closure only makes that call.
                unsafe {
                    cmd.pre_exec(move || {
                        nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                            .map_err(std::io::Error::from)
                    });
                }
            }
            let mut child = cmd.spawn()?;
            if let (Some(secret), Some(mut input)) = (stdin, child.stdin.take()) {
                // Secrets go in on stdin, never on a command line.
                std::io::Write::write_all(&mut input, secret.as_bytes())?;
            }
            Ok::<_, std::io::Error>(child)
        })
        .await
        .map_err(|e| Error::Failed(e.to_string()))?;
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                let err = if e.kind() == std::io::ErrorKind::NotFound {
                    Error::NotSupported(format!(
                        "{program} is not installed (Debian package {program})"
                    ))
                } else {
                    Error::Failed(format!("start {program}: {e}"))
                };
                self.fail(number, reason::SERVICE_START_FAILED).await;
                return Err(err);
            }
        };
        let pid = child.id();
        if let Some(r) = self.runs.get_mut(&number) {
            r.pid = Some(pid);
        }
        self.record(crate::record::Entry::VpnStarted {
            active: number,
            pid,
            tundev,
        })?;
        for out in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    tracing::debug!(target: "netnsd::openvpn", active = number, "{line}");
                    let mut l = log.lock().unwrap();
                    if l.len() == LOG_LINES {
                        l.pop_front();
                    }
                    l.push_back(line);
                }
            });
        }
        if plugin == Plugin::WireGuard {
            // The kernel had no WireGuard (see kernel_wireguard), and
            // wireguard-go has no hook: configure it over its control
            // socket, then go on as if a hook had reported.
            let cfg = wireguard::Config::from_profile(&profile)?;
            let (later, dev) = (self.later_tx.clone(), info_tundev.clone());
            tokio::task::spawn_blocking(move || {
                let r = wireguard::resolve(&cfg).and_then(|eps| {
                    wireguard::configure(&dev, &cfg.uapi(&eps), Duration::from_secs(5))?;
                    Ok(cfg.vpn_config(&dev))
                });
                let _ = later.send(Later::Configured(n_for_wg, r.map_err(|e| e.message())));
            });
        }
        let later = self.later_tx.clone();
        tokio::spawn(async move {
            let status = crate::spawn::wait_exit(child)
                .await
                .map(crate::spawn::status_code)
                .unwrap_or(-1);
            let _ = later.send(Later::VpnExited(number, status));
        });
        let timeout = super::profiles::vpn_timeout(&profile);
        self.later(timeout, Later::ConnectTimeout(number));
        self.transition(number, None, Some(vs::CONNECT), reason::NONE)
            .await;
        tracing::info!(id = %info.id, pid, program, "VPN client started");
        Ok(info.object_path())
    }

    /// WireGuard in the kernel: makes the `wireguard` link `nsvpnN` in the
    /// uplink namespace and has it configured over generic netlink (off
    /// the runtime; the result comes back as `Later::Configured`, as for
    /// wireguard-go). Ok(false): this kernel has no WireGuard, use
    /// wireguard-go instead.
    async fn kernel_wireguard(
        &mut self,
        n: u32,
        uplink_ns: u32,
        profile: &Profile,
    ) -> Result<bool, Error> {
        let cfg = wireguard::Config::from_profile(profile)?;
        // The generic netlink socket is opened there, as the link is made.
        let netns = match self.namespaces.by_number(uplink_ns) {
            Some(ns) if ns.number != 0 => Some(self.ns_file(&ns)?),
            _ => None,
        };
        let Some(tundev) = self.runs.get(&n).map(|r| r.tundev.clone()) else {
            return Ok(false);
        };
        let p = self.platform(uplink_ns)?;
        match ops::add_wireguard(&p.handle, &tundev).await {
            Ok(()) => {}
            Err(Error::NotSupported(m)) => {
                tracing::info!(active = n, "{m}: falling back to wireguard-go");
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
        if let Some(r) = self.runs.get_mut(&n) {
            r.kernel_link = true;
        }
        let ifindex = ops::ifindex_by_name(&p.handle, &tundev)
            .await?
            .ok_or_else(|| Error::Failed(format!("{tundev} vanished after it was made")))?;
        tracing::info!(active = n, %tundev, ifindex, "kernel WireGuard interface made");
        let later = self.later_tx.clone();
        tokio::task::spawn_blocking(move || {
            let r = wireguard::resolve(&cfg).and_then(|eps| {
                let msg = wg_kernel::set_device_message(ifindex, &cfg, &eps)?;
                wg_kernel::configure(netns, msg)?;
                Ok(cfg.vpn_config(&tundev))
            });
            let _ = later.send(Later::Configured(n, r.map_err(|e| e.message())));
        });
        Ok(true)
    }

    /// Deletes an ended connection's kernel WireGuard link, wherever it is
    /// now (its isolated namespace, or still the uplink one).
    async fn delete_kernel_link(&mut self, n: u32, tundev: &str) {
        let Some(a) = self.active(n) else { return };
        for ns in [a.ns, a.uplink_ns] {
            let Ok(p) = self.platform(ns) else { continue };
            if let Ok(Some(idx)) = ops::ifindex_by_name(&p.handle, tundev).await {
                if let Err(e) = ops::delete_link(&p.handle, idx).await {
                    tracing::warn!(%tundev, "deleting the WireGuard interface: {}", e.message());
                }
                return;
            }
        }
    }

    /// A link was deleted (not moved) in namespace `ns`: if it was the
    /// kernel WireGuard tunnel of a running connection, that connection
    /// has lost its tunnel, as when a VPN client dies.
    pub(super) async fn link_deleted(&mut self, ns: u32, name: &str) {
        let gone: Vec<u32> = self
            .runs
            .iter()
            .filter(|(n, r)| {
                r.kernel_link
                    && r.ending.is_none()
                    && r.tundev == name
                    && self.active(**n).is_some_and(|a| a.ns == ns)
            })
            .map(|(n, _)| *n)
            .collect();
        for n in gone {
            tracing::warn!(active = n, "the WireGuard interface {name} was deleted");
            self.fail(n, reason::SERVICE_STOPPED).await;
        }
    }

    /// The client reported the tunnel up with its pushed configuration.
    pub(super) async fn vpn_up(
        &mut self,
        n: u32,
        env: HashMap<String, String>,
        reply: oneshot::Sender<String>,
    ) {
        let Some(run) = self.runs.get_mut(&n) else {
            let _ = reply.send("no such activation".into());
            return;
        };
        if run.ending.is_some() {
            let _ = reply.send("the connection is going down".into());
            return;
        }
        if run.plugin == Plugin::OpenConnect && openconnect::reason(&env) != "connect" {
            // pre-init, disconnect, reconnect: nothing for the daemon to do.
            let _ = reply.send("ok".into());
            return;
        }
        let parsed = match run.plugin {
            Plugin::OpenConnect => openconnect::parse_env(&env),
            _ => openvpn::parse_env(&env),
        };
        let config = match parsed {
            Ok(c) if c.tundev == run.tundev => c,
            Ok(c) => {
                let _ = reply.send(format!("unexpected device {}", c.tundev));
                return self.fail(n, reason::IP_CONFIG_INVALID).await;
            }
            Err(e) => {
                let _ = reply.send(e.message());
                return self.fail(n, reason::IP_CONFIG_INVALID).await;
            }
        };
        run.helper_reply = Some(reply);
        self.vpn_configured(n, config).await;
    }

    /// The client is up with this configuration: take the tunnel where it
    /// belongs (or configure it where it is).
    pub(super) async fn vpn_configured(&mut self, n: u32, config: VpnConfig) {
        let Some(run) = self.runs.get_mut(&n) else {
            return;
        };
        if run.ending.is_some() {
            return;
        }
        run.config = Some(config);
        let isolate = run.isolate.clone();
        let (timeout_ms, tundev) = (run.timeout_ms, run.tundev.clone());
        self.transition(n, None, Some(vs::IP_CONFIG_GET), reason::NONE)
            .await;
        let Some((name, _, persistent)) = isolate else {
            return self.tun_arrived(n).await;
        };
        // The isolated namespace: the one named, made now if missing.
        let existing = self.namespaces.get(&name);
        let target = match existing {
            Some(ns) => ns,
            None => match self.add_namespace(&name, persistent).await {
                Ok(_) => {
                    if let Some((_, created, _)) =
                        self.runs.get_mut(&n).and_then(|r| r.isolate.as_mut())
                    {
                        *created = true;
                    }
                    let made = self.namespaces.get(&name);
                    match made {
                        Some(ns) => ns,
                        None => return self.fail(n, reason::IP_CONFIG_INVALID).await,
                    }
                }
                Err(e) => {
                    tracing::warn!(%name, "making the isolated namespace: {}", e.message());
                    return self.fail(n, reason::IP_CONFIG_INVALID).await;
                }
            },
        };
        let Some(up) = self.active(n).map(|a| a.uplink_ns) else {
            return;
        };
        let moved = async {
            let p = self.platform(up)?;
            let idx = ops::ifindex_by_name(&p.handle, &tundev)
                .await?
                .ok_or_else(|| Error::Failed(format!("{tundev} is not in the uplink namespace")))?;
            let file = self.ns_file(&target)?;
            ops::set_netns(&p.handle, idx, file.as_fd()).await
        }
        .await;
        if let Err(e) = moved {
            tracing::warn!(%tundev, "taking the tunnel into {name:?}: {}", e.message());
            return self.fail(n, reason::IP_CONFIG_INVALID).await;
        }
        // Wait, exactly netns-timeout, for it to be seen there.
        let (tx, rx) = oneshot::channel();
        self.devices.expect(Waiter {
            device: u32::MAX,
            target: target.number,
            name: tundev,
            tx,
            undo_to: None,
        });
        let later = self.later_tx.clone();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms as u64);
        tokio::spawn(async move {
            // netns-timeout is honoured exactly: an arrival after the deadline
            // does not count, even if it is already known when we look.
            let arrived = tokio::time::timeout_at(deadline, rx).await;
            let in_time = tokio::time::Instant::now() <= deadline;
            let _ = later.send(match arrived {
                Ok(Ok(())) if in_time => Later::TunArrived(n),
                _ => Later::TunTimeout(n),
            });
        });

        self.actives.set_ns(n, target.number);
    }

    /// The tunnel is where it belongs: configure it there.
    pub(super) async fn tun_arrived(&mut self, n: u32) {
        let (Some(a), Some(run)) = (self.active(n), self.runs.get(&n)) else {
            return;
        };
        if run.ending.is_some() {
            return;
        }
        let Some(c) = run.config.clone() else { return };
        let isolated = run.isolate.is_some();
        let configured = async {
            let p = self.platform(a.ns)?;
            let h = &p.handle;
            let idx = ops::ifindex_by_name(h, &c.tundev)
                .await?
                .ok_or_else(|| Error::Failed(format!("{} vanished", c.tundev)))?;
            if let Some(mtu) = c.mtu {
                ops::set_mtu(h, idx, mtu).await?;
            }
            if let Some(a4) = &c.addr4 {
                ops::add_address(h, idx, a4).await?;
            }
            if let Some(a6) = &c.addr6 {
                ops::add_address_with(h, idx, a6, true).await?;
            }
            ops::set_up(h, idx, true).await?;
            let route = |destination: Option<Cidr>, family| RouteSpec {
                destination,
                family,
                gateway: None,
                oif: Some(idx),
                table: TABLE_MAIN,
                metric: None,
                scope: None,
            };
            if let Some(peer) = c.peer4 {
                ops::add_route(
                    h,
                    &route(
                        Some(Cidr {
                            addr: peer,
                            prefix: 32,
                        }),
                        Family::V4,
                    ),
                )
                .await?;
            }
            if isolated {
                // Everything goes through the tunnel: there is no other way out.
                ops::add_route(h, &route(None, Family::V4)).await?;
                if c.addr6.is_some() {
                    ops::add_route(h, &route(None, Family::V6)).await?;
                }
            }
            for (dst, _) in &c.routes {
                let in_subnet = c.addr4.is_some_and(|a| a.network() == *dst);
                if in_subnet {
                    continue;
                }
                match ops::add_route(h, &route(Some(*dst), dst.family())).await {
                    Ok(()) | Err(Error::AlreadyExists(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = configured {
            tracing::warn!(id = %a.id, "configuring the tunnel: {}", e.message());
            return self.fail(n, reason::IP_CONFIG_INVALID).await;
        }
        if isolated && (!c.dns.is_empty() || !c.domains.is_empty()) {
            let dns = Dns {
                servers: c.dns.clone(),
                search: c.domains.clone(),
            };
            if let Err(e) = self.set_dns(a.ns, Some(dns)).await {
                tracing::warn!(id = %a.id, "writing the VPN's DNS: {}", e.message());
                return self.fail(n, reason::IP_CONFIG_INVALID).await;
            }
        }
        if let Some(reply) = self.runs.get_mut(&n).and_then(|r| r.helper_reply.take()) {
            let _ = reply.send("ok".into());
        }
        self.actives.set_banner(n, c.banner.clone());
        self.transition(n, Some(st::ACTIVATED), Some(vs::ACTIVATED), reason::NONE)
            .await;
    }

    pub(super) async fn vpn_exited(&mut self, n: u32, status: i32) {
        let Some(run) = self.runs.get_mut(&n) else {
            return;
        };
        run.pid = None;
        if run.ending.is_none() {
            let log: Vec<String> = run.log.lock().unwrap().iter().cloned().collect();
            let why = match run.plugin {
                Plugin::OpenConnect => openconnect::failure_reason(&log.join("\n")),
                _ => openvpn::failure_reason(&log.join("\n")),
            };
            tracing::warn!(
                active = n,
                status,
                reason = reason::name(why),
                "openvpn ended: {}",
                log.last().cloned().unwrap_or_default()
            );
            run.ending = Some(why);
            if let Some(reply) = run.helper_reply.take() {
                let _ = reply.send("failed".into());
            }
            self.transition(n, Some(st::DEACTIVATING), Some(vs::FAILED), why)
                .await;
        }
        self.finish(n).await;
    }
}

fn remove_files(files: &[PathBuf]) {
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

/// The VPN client a profile needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plugin {
    OpenVpn,
    OpenConnect,
    WireGuard,
}

/// How to start a client: program, arguments, what goes to its stdin, and
/// root-only files to write first.
struct Launch {
    program: &'static str,
    args: Vec<String>,
    stdin: Option<String>,
    files: Vec<(PathBuf, String)>,
}

impl Plugin {
    fn of(p: &Profile) -> Result<Plugin, Error> {
        match (p.kind(), p.vpn_service_type()) {
            ("vpn", Some(openvpn::SERVICE_TYPE)) => Ok(Plugin::OpenVpn),
            ("vpn", Some(openconnect::SERVICE_TYPE)) => Ok(Plugin::OpenConnect),
            ("vpn", Some(other)) => Err(Error::NotSupported(format!(
                "VPN service type {other:?} is not supported"
            ))),
            ("wireguard", _) => Ok(Plugin::WireGuard),
            (kind, _) => Err(Error::NotSupported(format!(
                "activating {kind:?} connections is not supported"
            ))),
        }
    }

    fn launch(
        self,
        p: &Profile,
        tundev: &str,
        helper: &str,
        auth: &std::path::Path,
        askpass: &std::path::Path,
    ) -> Result<Launch, Error> {
        Ok(match self {
            Plugin::OpenVpn => {
                let inv = openvpn::invocation(
                    &p.vpn_data(),
                    &p.vpn_secrets(),
                    tundev,
                    helper,
                    auth,
                    askpass,
                )?;
                let mut files = Vec::new();
                if let Some(c) = inv.auth_file {
                    files.push((auth.to_path_buf(), c));
                }
                if let Some(c) = inv.askpass_file {
                    files.push((askpass.to_path_buf(), c));
                }
                Launch {
                    program: "openvpn",
                    args: inv.args,
                    stdin: None,
                    files,
                }
            }
            Plugin::OpenConnect => {
                let inv = openconnect::invocation(&p.vpn_data(), &p.vpn_secrets(), tundev, helper)?;
                Launch {
                    program: "openconnect",
                    args: inv.args,
                    stdin: inv.stdin,
                    files: Vec::new(),
                }
            }
            Plugin::WireGuard => {
                // Checked now, so a bad profile fails the call.
                wireguard::Config::from_profile(p)?;
                Launch {
                    program: "wireguard-go",
                    args: vec!["-f".into(), tundev.into()],
                    stdin: None,
                    files: Vec::new(),
                }
            }
        })
    }
}
