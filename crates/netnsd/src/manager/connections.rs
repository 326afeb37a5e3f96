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
mod depend;
mod reconnect;

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use netnsd_api::route::TABLE_MAIN;
use netnsd_api::state::{active as st, reason, vpn as vs};
use netnsd_api::{Cidr, Error, Family, Route, active_path};
use tokio::sync::oneshot;
use zbus::wire::OwnedObjectPath;

use super::state::Waiter;
use super::{ActiveInfo, Later, Manager};
use crate::dns::Dns;
use crate::netlink as ops;
use crate::settings::Profile;
use crate::vpn::launch;
use crate::vpn::profile_ip::ProfileIp;
use crate::vpn::{KernelTunnel, VpnConfig, VpnType};

/// The daemon's side of one running VPN client.
pub(super) struct VpnRun {
    vpn: &'static dyn VpnType,
    pid: Option<u32>,
    tundev: String,
    /// netns-isolate: (namespace name, made by this activation, persistent).
    isolate: Option<(String, bool, bool)>,
    timeout_ms: i32,
    /// The helper waiting for the verdict on the pushed configuration.
    helper_reply: Option<oneshot::Sender<String>>,
    config: Option<VpnConfig>,
    files: Vec<PathBuf>,
    /// The helper socket's listener.
    _helper: launch::Helper,
    log: launch::Log,
    /// The end was asked for (user, failure): its reason.
    pub(super) ending: Option<u32>,
    /// A kernel tunnel (WireGuard's): the tunnel is a link the daemon
    /// made (no client process), deleted when the connection ends.
    kernel_link: bool,
    /// The profile's own [ipv4]/[ipv6] keys, applied to what is pushed.
    ip: ProfileIp,
    /// Reconnections after the server was lost (see `reconnect.rs`).
    reconnect: reconnect::Reconnect,
    /// Who activated: their agents answer a plugin's requests.
    pub(super) caller: super::Caller,
    /// A plugin's request for secrets being answered by the agents
    /// (`plugin_secrets.rs`).
    pub(super) asking: Option<tokio::task::AbortHandle>,
    /// DeactivateConnection calls answered once the connection is gone.
    down_waiters: Vec<oneshot::Sender<Result<(), Error>>>,
    /// Activations of the same profile that wait for it to be gone.
    after_down: Vec<super::handle::Request>,
}

impl Manager {
    /// ActivateConnection: checks the profile and its namespace keys, asks
    /// its VPN type how to bring the tunnel up, and brings it up in the
    /// uplink namespace with the common launch.
    /// A profile that lacks a secret it needs waits for the caller's
    /// secret agents first (`secrets.rs`).
    pub(super) async fn activate(
        &mut self,
        profile_number: u32,
        uplink_ns: u32,
        caller: super::Caller,
    ) -> Result<OwnedObjectPath, Error> {
        let profile = self.inactive_profile(profile_number)?;
        let vpn = crate::vpn::lookup(&profile)?;
        self.dependencies(uplink_ns)?;
        self.isolation(&profile)?;
        if let Some(wanted) = vpn.secrets_wanted(&profile) {
            return self
                .activate_needing_secrets(profile_number, uplink_ns, profile, vpn, wanted, caller)
                .await;
        }
        let number = self.actives.next_number();
        self.launch(
            number,
            profile_number,
            uplink_ns,
            profile,
            vpn,
            true,
            caller,
        )
        .await
    }

    /// Launches activation `n`, published already (it waited for its
    /// secrets).
    pub(super) async fn launch_active(
        &mut self,
        n: u32,
        profile_number: u32,
        uplink_ns: u32,
        profile: Profile,
        vpn: &'static dyn VpnType,
        caller: super::Caller,
    ) -> Result<OwnedObjectPath, Error> {
        self.launch(n, profile_number, uplink_ns, profile, vpn, false, caller)
            .await
    }

    /// Brings the tunnel of activation `number` up; `fresh`: its number
    /// is taken and its object published here.
    #[allow(clippy::too_many_arguments)]
    async fn launch(
        &mut self,
        number: u32,
        profile_number: u32,
        uplink_ns: u32,
        profile: Profile,
        vpn: &'static dyn VpnType,
        fresh: bool,
        caller: super::Caller,
    ) -> Result<OwnedObjectPath, Error> {
        // Checked again: secrets may have been waited for since.
        self.dependencies(uplink_ns)?;
        let isolate = self.isolation(&profile)?;
        let mut at = launch::Activation::new(&self.state_dir, number)?;
        at.vpn_hints = self
            .agents
            .all_have_capability(caller.uid, super::secrets::capability::VPN_HINTS);
        vpn.validate(&profile)?;
        let ip = ProfileIp::of(&profile)?;
        let plan = vpn.launch(&profile, &at)?;
        if fresh {
            self.actives.take_number();
        }
        let later = self.later_tx.clone();
        let (files, helper) = launch::prepare(&at, &plan.client, move |env, tx| {
            later.send(Later::VpnUp(number, env, tx)).is_ok()
        })?;

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
        if fresh {
            let changes = self.actives.add(info.clone());
            self.publish(changes).await;
        }
        self.runs.insert(
            number,
            VpnRun {
                pid: None,
                tundev: at.tundev.clone(),
                isolate: isolate.map(|n| (n, false, profile.netns().persistent)),
                timeout_ms: profile.netns().timeout_ms,
                helper_reply: None,
                vpn,
                config: None,
                files,
                _helper: helper,
                log: launch::Log::default(),
                ending: None,
                kernel_link: false,
                ip,
                reconnect: reconnect::Reconnect::new(crate::vpn::reconnect_timeout(
                    &profile.vpn_data(),
                )),
                caller,
                asking: None,
                down_waiters: Vec::new(),
                after_down: Vec::new(),
            },
        );
        // As NetworkManager: the object appears, then goes to activating.
        if fresh {
            self.transition(
                number,
                Some(st::ACTIVATING),
                Some(vs::PREPARE),
                reason::NONE,
            )
            .await;
        }

        // A tunnel the kernel provides, where it has it; else the client.
        let kernel = match plan.kernel {
            Some(kernel) => {
                self.kernel_tunnel(number, uplink_ns, kernel, plan.client.program)
                    .await
            }
            None => Ok(false),
        };
        let pid = match kernel {
            Ok(true) => None,
            Ok(false) => Some(
                self.start_client(number, uplink_ns, &at, &plan.client, plan.configure)
                    .await?,
            ),
            Err(e) => {
                self.fail(number, reason::SERVICE_START_FAILED).await;
                return Err(e);
            }
        };
        let timeout = super::profiles::vpn_timeout(&profile);
        self.later(timeout, Later::ConnectTimeout(number));
        self.transition(number, None, Some(vs::CONNECT), reason::NONE)
            .await;
        if let Some(pid) = pid {
            let program = plan.client.program;
            tracing::info!(id = %info.id, pid, program, "VPN client started");
        }
        Ok(info.object_path())
    }

    /// The profile `number`, if it is not active already.
    fn inactive_profile(&self, number: u32) -> Result<Profile, Error> {
        let profile = self
            .profiles
            .get(number)
            .map(|p| p.profile)
            .ok_or_else(|| {
                Error::UnknownConnection(format!(
                    "no connection {}",
                    netnsd_api::connection_path(number)
                ))
            })?;
        if let Some(a) = self.actives.live_of_profile(number) {
            return Err(Error::ConnectionAlreadyActive(format!(
                "connection {:?} is already active at {}",
                profile.id(),
                active_path(a.number)
            )));
        }
        Ok(profile)
    }

    /// The namespace keys: the namespace the tunnel is to be isolated in
    /// (None: it stays in the uplink namespace), checked.
    fn isolation(&self, profile: &Profile) -> Result<Option<String>, Error> {
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
        Ok(isolate)
    }

    /// Starts activation `n`'s client in the uplink namespace and watches
    /// it: its log, its end, and (`configure`) the daemon configuring its
    /// tunnel when it has no hook. Returns its pid.
    async fn start_client(
        &mut self,
        n: u32,
        uplink_ns: u32,
        at: &launch::Activation,
        client: &launch::Client,
        configure: Option<crate::vpn::Configure>,
    ) -> Result<u32, Error> {
        let netns = match self.namespaces.by_number(uplink_ns) {
            Some(ns) if ns.number != 0 => Some(self.ns_file(&ns)?),
            _ => None,
        };
        self.record(crate::record::Entry::VpnStarting {
            active: n,
            tundev: at.tundev.clone(),
        })?;
        let mut child = match launch::start(client, netns).await {
            Ok(c) => c,
            Err(e) => {
                let _ = self.record(crate::record::Entry::VpnStopped { active: n });
                self.fail(n, reason::SERVICE_START_FAILED).await;
                return Err(e);
            }
        };
        let pid = child.id();
        let log = self.runs.get_mut(&n).map(|r| {
            r.pid = Some(pid);
            r.log.clone()
        });
        self.record(crate::record::Entry::VpnStarted {
            active: n,
            pid,
            tundev: at.tundev.clone(),
        })?;
        let (vpn, later) = (self.runs.get(&n).map(|r| r.vpn), self.later_tx.clone());
        let on_line: launch::OnLine = Arc::new(move |line: &str| {
            if let Some(p) = vpn.and_then(|v| v.progress(line)) {
                let _ = later.send(Later::VpnProgress(n, p));
            }
        });
        launch::capture_log_with(&mut child, n, &log.unwrap_or_default(), on_line);
        if let Some(configure) = configure {
            // The client has no hook: the daemon configures its tunnel,
            // then goes on as if a hook had reported.
            let later = self.later_tx.clone();
            tokio::task::spawn_blocking(move || {
                let r = configure();
                let _ = later.send(Later::Configured(n, r.map_err(|e| e.message())));
            });
        }
        let later = self.later_tx.clone();
        launch::watch_exit(child, move |status| {
            let _ = later.send(Later::VpnExited(n, status));
        });
        Ok(pid)
    }

    /// A tunnel the kernel provides (WireGuard's): makes the link `nsvpnN`
    /// in the uplink namespace and has it configured there (off the
    /// runtime; the result comes back as `Later::Configured`, as for a
    /// client the daemon configures). Ok(false): this kernel lacks it, run
    /// `fallback`, the client, instead.
    async fn kernel_tunnel(
        &mut self,
        n: u32,
        uplink_ns: u32,
        kernel: KernelTunnel,
        fallback: &str,
    ) -> Result<bool, Error> {
        // The configuring socket is opened there, as the link is made.
        let netns = match self.namespaces.by_number(uplink_ns) {
            Some(ns) if ns.number != 0 => Some(self.ns_file(&ns)?),
            _ => None,
        };
        let Some((tundev, name)) = self.runs.get(&n).map(|r| (r.tundev.clone(), r.vpn.name()))
        else {
            return Ok(false);
        };
        let p = self.platform(uplink_ns)?;
        match (kernel.make)(&p.handle, &tundev).await {
            Ok(()) => {}
            Err(Error::NotSupported(m)) => {
                tracing::info!(active = n, "{m}: falling back to {fallback}");
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
        tracing::info!(active = n, %tundev, ifindex, "kernel {name} interface made");
        let later = self.later_tx.clone();
        tokio::task::spawn_blocking(move || {
            let r = (kernel.configure)(ifindex, netns);
            let _ = later.send(Later::Configured(n, r.map_err(|e| e.message())));
        });
        Ok(true)
    }

    /// Deletes an ended connection's kernel tunnel, wherever it is now
    /// (its isolated namespace, or still the uplink one).
    async fn delete_kernel_link(&mut self, n: u32, tundev: &str) {
        let Some(a) = self.active(n) else { return };
        for ns in [a.ns, a.uplink_ns] {
            let Ok(p) = self.platform(ns) else { continue };
            if let Ok(Some(idx)) = ops::ifindex_by_name(&p.handle, tundev).await {
                if let Err(e) = ops::delete_link(&p.handle, idx).await {
                    tracing::warn!(%tundev, "deleting the kernel tunnel: {}", e.message());
                }
                return;
            }
        }
    }

    /// A link was deleted (not moved) in namespace `ns`: if it was the
    /// kernel tunnel of a running connection, that connection has lost
    /// its tunnel, as when a VPN client dies.
    pub(super) async fn link_deleted(&mut self, ns: u32, name: &str) {
        let gone: Vec<(u32, &str)> = self
            .runs
            .iter()
            .filter(|(n, r)| {
                r.kernel_link
                    && r.ending.is_none()
                    && r.tundev == name
                    && self.active(**n).is_some_and(|a| a.ns == ns)
            })
            .map(|(n, r)| (*n, r.vpn.name()))
            .collect();
        for (n, kind) in gone {
            tracing::warn!(active = n, "the {kind} interface {name} was deleted");
            self.fail(n, reason::SERVICE_STOPPED).await;
        }
    }

    /// The client reported the tunnel up with its pushed configuration.
    pub(super) async fn vpn_up(
        &mut self,
        n: u32,
        env: Result<HashMap<String, String>, Error>,
        reply: oneshot::Sender<String>,
    ) {
        if let Ok(e) = &env
            && let Some(ask) = crate::vpn::plugin::ask::Ask::from_message(e)
        {
            return self.plugin_asks(n, ask, reply).await;
        }
        let Some(run) = self.runs.get_mut(&n) else {
            let _ = reply.send("no such activation".into());
            return;
        };
        if run.ending.is_some() {
            let _ = reply.send("the connection is going down".into());
            return;
        }
        let config = match env.and_then(|env| run.vpn.reported(&env)) {
            Ok(None) => {
                // Nothing for the daemon to do (openconnect's pre-init,
                // disconnect, reconnect).
                let _ = reply.send("ok".into());
                return;
            }
            Ok(Some(c)) if c.tundev == run.tundev => c,
            Ok(Some(c)) if run.vpn.names_device() && run.tundev.starts_with("nsvpn") => {
                // A NetworkManager plugin names its tunnel: it is that one.
                run.tundev = c.tundev.clone();
                c
            }
            Ok(Some(c)) => {
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
        run.config = Some(run.ip.apply(config));
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
            let route = |destination: Option<Cidr>, family| Route {
                destination,
                family,
                gateway: None,
                oif: Some(idx),
                table: TABLE_MAIN,
                metric: match family {
                    Family::V4 => c.metric4,
                    Family::V6 => c.metric6,
                },
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
                // Everything goes through the tunnel: there is no other way
                // out (with never-default, no default route at all).
                if !c.never_default4 {
                    ops::add_route(h, &route(None, Family::V4)).await?;
                }
                if c.addr6.is_some() && !c.never_default6 {
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
            // The profile's own routes (ipvN.routeN), through the tunnel.
            for (dst, metric) in &c.profile_routes {
                let mut r = route(Some(*dst), dst.family());
                if metric.is_some() {
                    r.metric = *metric;
                }
                match ops::add_route(h, &r).await {
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
            if let Err(e) = self.set_vpn_dns(a.ns, dns).await {
                tracing::warn!(id = %a.id, "writing the VPN's DNS: {}", e.message());
                return self.fail(n, reason::IP_CONFIG_INVALID).await;
            }
        }
        if !isolated {
            // Split DNS: the VPN's domains through its servers (a forwarder
            // in the namespace, if it has DNS of its own to split from).
            self.split_dns_up(n, a.ns, &c.dns, &c.domains).await;
        }
        if let Some(reply) = self.runs.get_mut(&n).and_then(|r| r.helper_reply.take()) {
            let _ = reply.send("ok".into());
        }
        self.actives.set_banner(n, c.banner.clone());
        if let Some(r) = self.runs.get_mut(&n) {
            r.reconnect.up();
        }
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
            let why = run.vpn.failure_reason(&log.join("\n"));
            tracing::warn!(
                active = n,
                status,
                reason = reason::name(why),
                "{} ended: {}",
                run.vpn.name(),
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
