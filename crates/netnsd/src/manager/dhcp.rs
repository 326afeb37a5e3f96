//! DHCP on macvlan uplinks: the client of each such uplink (`crate::dhcp`)
//! runs on a task of its own and reports here; the manager applies the
//! lease (address, default route, DNS), journals it with the uplink, and
//! answers the call that asked for it once the first lease is bound — the
//! caller waits, the manager's task does not.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use netnsd_api::{Cidr, Error, Family};
use tokio::sync::oneshot;
use zbus::wire::OwnedObjectPath;

use super::uplink::{NsOptions, UPLINK_IF, UplinkSpec, default_route};
use super::{Later, Manager};
use crate::dhcp::{self, Lease, Report};
use crate::dns::Dns;
use crate::netlink as ops;
use crate::record::{Entry, UplinkRecord};

/// How long the first lease may take before the call fails with Timeout.
pub const FIRST_LEASE_WITHIN: Duration = Duration::from_secs(10);
/// How long a RELEASE may take to be sent when an uplink goes.
const RELEASE_WITHIN: Duration = Duration::from_secs(1);

/// A call waiting for the first lease.
pub(super) enum Waiting {
    Add {
        name: String,
        path: OwnedObjectPath,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    },
    SetUplink {
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

struct Run {
    client: dhcp::Client,
    generation: u64,
    waiting: Option<Waiting>,
    /// DNS was given by the caller: the lease's is not written.
    keep_dns: bool,
}

/// The running clients, by namespace number.
#[derive(Default)]
pub(super) struct Dhcps {
    runs: HashMap<u32, Run>,
    generation: u64,
}

impl Manager {
    /// AddNetworkNamespaceWithOptions with a DHCP uplink: answered once the
    /// lease is bound, or with Timeout (and nothing left) if none comes.
    pub(super) async fn add_with_dhcp(
        &mut self,
        name: String,
        opts: NsOptions,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    ) {
        let path = match self.add(&name).await {
            Ok(p) => p,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let number = self
            .namespaces
            .get(&name)
            .map(|n| n.number)
            .unwrap_or_default();
        let keep_dns = opts.dns.is_some();
        let r = async {
            if let Some(d) = opts.dns {
                self.set_dns(number, Some(d)).await?;
            }
            if let Some(u) = opts.uplink {
                self.set_uplink(number, u).await?;
            }
            self.start_dhcp(number, None, keep_dns)
        }
        .await;
        match r {
            Ok(()) => self.wait_for_lease(number, Waiting::Add { name, path, reply }),
            Err(e) => {
                self.undo_add(&name).await;
                let _ = reply.send(Err(e));
            }
        }
    }

    /// SetUplink with DHCP: answered once the lease is bound; on failure
    /// the namespace is left without an uplink.
    pub(super) async fn set_dhcp_uplink(
        &mut self,
        ns: u32,
        spec: UplinkSpec,
        reply: oneshot::Sender<Result<(), Error>>,
    ) {
        let keep_dns = self.dns.get(ns).is_some();
        let r = async {
            self.set_uplink(ns, spec).await?;
            self.start_dhcp(ns, None, keep_dns)
        }
        .await;
        match r {
            Ok(()) => self.wait_for_lease(ns, Waiting::SetUplink { reply }),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    fn wait_for_lease(&mut self, ns: u32, w: Waiting) {
        if let Some(run) = self.dhcps.runs.get_mut(&ns) {
            run.waiting = Some(w);
        }
    }

    async fn undo_add(&mut self, name: &str) {
        if let Err(undo) = self.remove(name).await {
            tracing::error!(
                name,
                "undoing a failed AddNetworkNamespaceWithOptions: {}",
                undo.message()
            );
        }
    }

    /// Starts the DHCP client of namespace `ns`'s macvlan uplink, from
    /// scratch or renewing `resume`.
    fn start_dhcp(&mut self, ns: u32, resume: Option<Lease>, keep_dns: bool) -> Result<(), Error> {
        let target = self.namespace(ns)?;
        let file = self.ns_file(&target)?;
        // The uplink's MAC (and so its lease) is the same for a namespace of
        // the same name (`add_macvlan_uplink`).
        let mac = ops::stable_mac(&target.name, UPLINK_IF);
        // SLAAC for IPv6 is the kernel's: router advertisements accepted on
        // the uplink, whatever the namespace's defaults.
        let ra = file.try_clone().ok();
        tokio::task::spawn_blocking(move || {
            for key in ["accept_ra", "autoconf"] {
                let _ = crate::sysctl::set(
                    ra.as_ref(),
                    &format!("net/ipv6/conf/{UPLINK_IF}/{key}"),
                    "1",
                );
            }
        });
        self.dhcps.generation += 1;
        let generation = self.dhcps.generation;
        let tx = self.later_tx.clone();
        let client = dhcp::spawn(
            dhcp::Start {
                ns: file,
                ifname: UPLINK_IF.into(),
                mac,
                resume,
                first_within: FIRST_LEASE_WITHIN,
            },
            move |r| {
                let _ = tx.send(Later::Dhcp(ns, generation, r));
            },
        );
        self.dhcps.runs.insert(
            ns,
            Run {
                client,
                generation,
                waiting: None,
                keep_dns,
            },
        );
        Ok(())
    }

    /// At start: the DHCP uplinks of namespaces found renew their leases.
    pub(super) fn resume_dhcp(&mut self) {
        let found: Vec<(u32, Option<Lease>)> = self
            .namespaces
            .all()
            .iter()
            .filter_map(|ns| match self.uplinks.get(ns.number) {
                Some(UplinkRecord::Macvlan {
                    dhcp: true, lease, ..
                }) => Some((ns.number, lease)),
                _ => None,
            })
            .collect();
        for (ns, lease) in found {
            // DNS the caller gave is journalled apart from the lease's, and
            // not told from it after a restart: the lease's is kept current.
            if let Err(e) = self.start_dhcp(ns, lease, false) {
                tracing::warn!(ns, "resuming DHCP: {}", e.message());
            }
        }
    }

    /// Stops namespace `ns`'s DHCP client, giving its lease back.
    pub(super) async fn stop_dhcp(&mut self, ns: u32) {
        let Some(run) = self.dhcps.runs.remove(&ns) else {
            return;
        };
        run.client.release(RELEASE_WITHIN).await;
        match run.waiting {
            Some(Waiting::Add { reply, name, .. }) => {
                let _ = reply.send(Err(Error::Failed(format!(
                    "namespace {name:?} was removed while waiting for its DHCP lease"
                ))));
            }
            Some(Waiting::SetUplink { reply }) => {
                let _ = reply.send(Err(Error::Failed(
                    "the uplink was taken down while waiting for its DHCP lease".into(),
                )));
            }
            None => {}
        }
    }

    /// A report of namespace `ns`'s client (`generation` tells a stopped
    /// client's last words from the current one's).
    pub(super) async fn on_dhcp(&mut self, ns: u32, generation: u64, report: Report) {
        match self.dhcps.runs.get(&ns) {
            Some(run) if run.generation == generation => {}
            _ => return,
        }
        match report {
            Report::Bound(lease) | Report::Renewed(lease) => {
                let r = self.apply_lease(ns, Some(lease)).await;
                let waiting = self.dhcps.runs.get_mut(&ns).and_then(|r| r.waiting.take());
                match (waiting, r) {
                    (Some(Waiting::Add { path, reply, .. }), Ok(())) => {
                        let _ = reply.send(Ok(path));
                    }
                    (Some(Waiting::SetUplink { reply }), Ok(())) => {
                        let _ = reply.send(Ok(()));
                    }
                    (Some(w), Err(e)) => self.lease_failed(ns, w, e).await,
                    (None, Err(e)) => {
                        tracing::warn!(ns, "applying a DHCP lease: {}", e.message())
                    }
                    (None, Ok(())) => {}
                }
            }
            Report::Lost => {
                tracing::warn!(ns, "DHCP lease lost");
                if let Err(e) = self.apply_lease(ns, None).await {
                    tracing::warn!(ns, "removing a lost DHCP lease: {}", e.message());
                }
            }
            Report::Failed(msg) => {
                let Some(run) = self.dhcps.runs.remove(&ns) else {
                    return;
                };
                let parent = match self.uplinks.get(ns) {
                    Some(UplinkRecord::Macvlan { parent, .. }) => parent,
                    _ => String::new(),
                };
                let e = Error::Timeout(format!("parent {parent}: {msg}"));
                match run.waiting {
                    Some(w) => self.lease_failed(ns, w, e).await,
                    None => tracing::warn!(ns, "DHCP client ended: {}", e.message()),
                }
            }
        }
    }

    /// The first lease did not come (or could not be applied): what the
    /// call made is undone, and it is answered with `e`.
    async fn lease_failed(&mut self, ns: u32, w: Waiting, e: Error) {
        if let Some(run) = self.dhcps.runs.remove(&ns) {
            run.client.release(RELEASE_WITHIN).await;
        }
        match w {
            Waiting::Add { name, reply, .. } => {
                self.undo_add(&name).await;
                let _ = reply.send(Err(e));
            }
            Waiting::SetUplink { reply } => {
                if let Err(undo) = self.clear_uplink(ns).await {
                    tracing::warn!(ns, "undoing a DHCP uplink: {}", undo.message());
                }
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Puts lease `lease` (or none) on namespace `ns`'s uplink: address,
    /// default route and DNS changed as far as they differ, the uplink's
    /// record journalled and published.
    async fn apply_lease(&mut self, ns: u32, lease: Option<Lease>) -> Result<(), Error> {
        let target = self.namespace(ns)?;
        let Some(UplinkRecord::Macvlan {
            uplink_ns,
            parent,
            address,
            gateway,
            dhcp: true,
            lease: _,
        }) = self.uplinks.get(ns)
        else {
            return Err(Error::Failed(format!(
                "namespace {:?} has no DHCP uplink",
                target.name
            )));
        };
        let np = self.platform(ns)?;
        let idx = ops::ifindex_by_name(&np.handle, UPLINK_IF)
            .await?
            .ok_or_else(|| Error::Failed(format!("{UPLINK_IF} vanished")))?;
        let old_addr: Option<Cidr> = address.parse().ok();
        let old_gw: Option<IpAddr> = gateway.as_deref().and_then(|g| g.parse().ok());
        let new_addr = lease.as_ref().map(|l| Cidr {
            addr: IpAddr::V4(l.address),
            prefix: l.prefix,
        });
        let new_gw = lease.as_ref().and_then(|l| l.router).map(IpAddr::V4);
        if (old_addr != new_addr || old_gw != new_gw)
            && let Some(gw) = old_gw
        {
            let r = default_route(Family::V4, Some(gw), idx);
            let _ = ops::del_route(&np.handle, &r, ops::RTPROT_NETNSD).await;
        }
        if old_addr != new_addr {
            if let Some(a) = old_addr {
                let _ = ops::del_address(&np.handle, idx, &a).await;
            }
            if let Some(a) = new_addr {
                ops::add_address(&np.handle, idx, &a).await?;
            }
        }
        if (old_addr != new_addr || old_gw != new_gw)
            && let Some(gw) = new_gw
        {
            ops::add_route(&np.handle, &default_route(Family::V4, Some(gw), idx)).await?;
        }
        let record = UplinkRecord::Macvlan {
            uplink_ns,
            parent,
            address: new_addr.map(|a| a.to_string()).unwrap_or_default(),
            gateway: new_gw.map(|g| g.to_string()),
            dhcp: true,
            lease: lease.clone(),
        };
        self.record(Entry::UplinkSet {
            name: target.name.clone(),
            uplink: record.clone(),
        })?;
        let changes = self.uplinks.set(ns, record);
        self.publish(changes).await;
        let keep_dns = self.dhcps.runs.get(&ns).is_none_or(|r| r.keep_dns);
        if let Some(l) = &lease
            && !keep_dns
            && !l.dns.is_empty()
        {
            let d = Dns {
                servers: l.dns.iter().map(|s| IpAddr::V4(*s)).collect(),
                search: l
                    .domain
                    .iter()
                    .filter(|s| crate::dns::check_search(s).is_ok())
                    .cloned()
                    .collect(),
            };
            if self.dns.get(ns).as_ref() != Some(&d) {
                self.set_dns(ns, Some(d)).await?;
            }
        }
        if let Some(l) = &lease {
            tracing::info!(name = %target.name, address = %l.address, server = %l.server, lease_secs = l.lease_secs, "DHCP lease bound");
        }
        Ok(())
    }
}
