//! The life of an active connection once it is launched: its state
//! transitions (published as typed changes by the active connections part),
//! failure, deactivation, the end of its client (SIGTERM, then SIGKILL if it
//! hangs), and the teardown of what the activation made; its object goes a
//! little after it is deactivated.

use std::time::Duration;

use netnsd_api::Error;
use netnsd_api::active_path;
use netnsd_api::state::{active as st, reason, vpn as vs};

use crate::manager::handle::Request;
use crate::manager::{ActiveInfo, Later, Manager, Namespace};

/// The answer to a DeactivateConnection.
type Reply = tokio::sync::oneshot::Sender<Result<(), Error>>;
use crate::vpn::launch::{self, remove_files, stop};

/// How long a VPN client has to end after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Manager {
    pub(in crate::manager) fn active(&self, n: u32) -> Option<ActiveInfo> {
        self.actives.get(n)
    }

    /// Moves an active connection to new states and publishes them.
    pub(in crate::manager) async fn transition(
        &mut self,
        n: u32,
        state: Option<u32>,
        vpn_state: Option<u32>,
        why: u32,
    ) {
        let changes = self.actives.transition(n, state, vpn_state, why);
        self.publish(changes).await;
    }

    /// Ends an activation that went wrong: the client is stopped and
    /// everything it had is removed.
    pub(in crate::manager) async fn fail(&mut self, n: u32, why: u32) {
        let Some(run) = self.runs.get_mut(&n) else {
            return;
        };
        if run.ending.is_some() {
            return;
        }
        run.ending = Some(why);
        if let Some(reply) = run.helper_reply.take() {
            let _ = reply.send(format!("failed: {}", reason::name(why)));
        }
        let pid = run.pid;
        self.transition(n, Some(st::DEACTIVATING), Some(vs::FAILED), why)
            .await;
        match pid {
            Some(pid) => self.stop_client(n, pid),
            None => self.finish(n).await,
        }
    }

    /// DeactivateConnection: the user asked, user-disconnected.
    pub(in crate::manager) async fn deactivate(&mut self, n: u32) -> Result<(), Error> {
        self.deactivate_because(n, reason::USER_DISCONNECTED).await
    }

    /// Ends an active connection with `why` as the reason of its last
    /// state changes (connection-removed when its profile is deleted, as
    /// NetworkManager does).
    pub(in crate::manager) async fn deactivate_because(
        &mut self,
        n: u32,
        why: u32,
    ) -> Result<(), Error> {
        let a = self.active(n).ok_or_else(|| {
            Error::ConnectionNotActive(format!("no active connection {}", active_path(n)))
        })?;
        if a.state >= st::DEACTIVATING {
            return Ok(());
        }
        if self.cancel_pending(n, why).await {
            return Ok(());
        }
        let Some(run) = self.runs.get_mut(&n) else {
            return Ok(());
        };
        run.ending = Some(why);
        if let Some(reply) = run.helper_reply.take() {
            let _ = reply.send("deactivated".into());
        }
        let pid = run.pid;
        self.transition(n, Some(st::DEACTIVATING), Some(vs::DISCONNECTED), why)
            .await;
        match pid {
            Some(pid) => self.stop_client(n, pid),
            None => self.finish(n).await,
        }
        Ok(())
    }

    pub(in crate::manager) async fn connect_timeout(&mut self, n: u32) {
        // A connection that was up and is reconnecting has a bound of its own.
        let was_up = self.runs.get(&n).is_some_and(|r| r.reconnect.was_up());
        // Waiting for the user to answer a plugin's request: the bound is
        // the agents' timeout, so look again later.
        if self.runs.get(&n).is_some_and(|r| r.asking.is_some()) {
            self.later(
                crate::manager::plugin_secrets::RECHECK,
                Later::ConnectTimeout(n),
            );
            return;
        }
        if !was_up && self.active(n).is_some_and(|a| a.state == st::ACTIVATING) {
            tracing::warn!(active = n, "the VPN did not come up in time");
            self.fail(n, reason::CONNECT_TIMEOUT).await;
        }
    }

    /// Answers a DeactivateConnection of `n` once it is deactivated: at
    /// once if nothing of it is left to take down.
    pub(in crate::manager) fn when_down(&mut self, n: u32, reply: Reply) {
        match self.runs.get_mut(&n) {
            Some(run) => run.down_waiters.push(reply),
            None => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// The activation of `profile` being taken down (its client stopped,
    /// what it made removed), if any.
    pub(in crate::manager) fn going_down(&self, profile: u32) -> Option<u32> {
        let a = self.actives.live_of_profile(profile)?;
        (a.state == st::DEACTIVATING && self.runs.contains_key(&a.number)).then_some(a.number)
    }

    /// Holds `req` until activation `n` is gone (see [`Self::finish`]).
    pub(in crate::manager) fn after_down(&mut self, n: u32, req: Request) {
        match self.runs.get_mut(&n) {
            Some(run) => run.after_down.push(req),
            None => {
                let _ = self.later_tx.send(Later::AfterDown(req));
            }
        }
    }

    /// The client is gone: take down what the activation made.
    pub(in crate::manager) async fn finish(&mut self, n: u32) {
        let Some(mut run) = self.runs.remove(&n) else {
            return;
        };
        if let Some(asking) = &run.asking {
            self.cancel_plugin_ask(n, asking);
        }
        if let Some(pid) = run.pid {
            stop(pid);
        }
        remove_files(&run.files);
        if run.kernel_link {
            self.delete_kernel_link(n, &run.tundev).await;
        }
        let _ = self.record(crate::record::Entry::VpnStopped { active: n });
        self.split_dns_down(n).await;
        if let Some((name, created, persistent)) = &run.isolate
            && let Some(ns) = self.namespaces.get(name)
        {
            // What the VPN wrote goes; what it wrote over comes back.
            self.vpn_dns_ended(ns.number).await;
            if *created && !*persistent {
                self.remove_when_empty(ns).await;
            }
        }
        let why = run.ending.unwrap_or(reason::UNKNOWN);
        self.transition(n, Some(st::DEACTIVATED), None, why).await;
        self.later(Duration::from_secs(2), Later::ForgetActive(n));
        for reply in std::mem::take(&mut run.down_waiters) {
            let _ = reply.send(Ok(()));
        }
        for req in std::mem::take(&mut run.after_down) {
            let _ = self.later_tx.send(Later::AfterDown(req));
        }
    }

    /// Removes a namespace an activation made, once no process started in
    /// it is left (until then they stay inside, with no way out).
    pub(in crate::manager) async fn remove_when_empty(&mut self, ns: Namespace) {
        if self.processes.in_ns(ns.number).is_empty() {
            if let Err(e) = self.remove(&ns.name).await {
                tracing::warn!(name = %ns.name, "removing the isolated namespace: {}", e.message());
            }
        } else {
            tracing::info!(name = %ns.name, "the isolated namespace goes once its processes have exited");
            self.processes.remove_when_idle(ns.number);
        }
    }

    pub(in crate::manager) async fn forget_active(&mut self, n: u32) {
        if self.runs.contains_key(&n) {
            return;
        }
        let changes = self.actives.forget(n);
        self.publish(changes).await;
    }

    /// Asks a connection's client to end (SIGTERM), and makes sure it does:
    /// one still running STOP_GRACE later (hung, stopped, or ignoring the
    /// signal) is killed, so the connection cannot stay deactivating.
    pub(in crate::manager) fn stop_client(&self, n: u32, pid: u32) {
        stop(pid);
        self.later(STOP_GRACE, Later::KillClient(n, pid));
    }

    /// STOP_GRACE after SIGTERM: a client that has not exited is killed.
    pub(in crate::manager) fn kill_client(&self, n: u32, pid: u32) {
        if self.runs.get(&n).and_then(|r| r.pid) == Some(pid) {
            tracing::warn!(
                active = n,
                pid,
                "the VPN client did not end on SIGTERM: SIGKILL"
            );
            launch::kill(pid);
        }
    }
}
