//! What an activation depends on, and the prototype's DependencyFailed
//! (NETNS_NetworkManager's `find_master`/`ensure_master_active_connection`:
//! an activation whose master device is unavailable is refused with it).
//!
//! A VPN's client runs in the namespace it was activated on; if that
//! namespace has an uplink, its traffic leaves through it. So an
//! activation depends on that namespace, on its uplink's device (uplink0)
//! and on the namespace the uplink leads into; one of them gone refuses
//! the activation with DependencyFailed naming it. A connection that is
//! already running when its namespace (the one it runs from, or its
//! isolated one) is removed fails with reason dependency-failed.

use netnsd_api::Error;
use netnsd_api::state::reason;

use crate::manager::Manager;
use crate::manager::uplink::UPLINK_IF;
use crate::record::UplinkRecord;

impl Manager {
    /// Ok if what an activation from namespace `uplink_ns` needs is there;
    /// else DependencyFailed saying what is gone.
    pub(in crate::manager) fn dependencies(&self, uplink_ns: u32) -> Result<(), Error> {
        let Some(ns) = self.namespaces.by_number(uplink_ns) else {
            return Err(Error::DependencyFailed(format!(
                "the namespace {} the connection was to run from is gone",
                netnsd_api::namespace_path(uplink_ns)
            )));
        };
        let Some(uplink) = self.uplinks.get(uplink_ns) else {
            return Ok(());
        };
        let (kind, outer) = match &uplink {
            UplinkRecord::Veth { uplink_ns, .. } => ("veth", uplink_ns),
            UplinkRecord::Macvlan { uplink_ns, .. } => ("macvlan", uplink_ns),
        };
        if self.devices.named(uplink_ns, UPLINK_IF).is_none() {
            return Err(Error::DependencyFailed(format!(
                "namespace {:?} has lost its {kind} uplink: {UPLINK_IF} is gone \
                 (set the uplink again, SetUplink)",
                ns.name
            )));
        }
        if self.namespaces.get(outer).is_none() {
            return Err(Error::DependencyFailed(format!(
                "namespace {:?}'s {kind} uplink leads into namespace {outer:?}, which is gone",
                ns.name
            )));
        }
        Ok(())
    }

    /// Namespace `ns` is going: the connections that run from it or are
    /// isolated in it fail, dependency-failed (their client is stopped and
    /// what they made is removed, as for any failure).
    pub(in crate::manager) async fn namespace_gone(&mut self, ns: u32) {
        let hit: Vec<u32> = self
            .actives
            .live()
            .into_iter()
            .filter(|n| {
                self.runs.contains_key(n)
                    && self
                        .active(*n)
                        .is_some_and(|a| a.uplink_ns == ns || a.ns == ns)
            })
            .collect();
        for n in hit {
            tracing::warn!(active = n, ns, "the connection's namespace is going");
            // Boxed: failing may remove a namespace, which comes back here.
            Box::pin(self.fail(n, reason::DEPENDENCY_FAILED)).await;
        }
    }
}
