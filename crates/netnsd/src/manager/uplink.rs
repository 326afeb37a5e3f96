//! Uplinks: a veth to the uplink namespace (with NAT there, see `nat.rs`),
//! or a macvlan on a parent there; made, taken down, and the host ends of
//! veth uplinks followed until they are gone.

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use netnsd_api::link::{LinkOptions, MacvlanMode};
use netnsd_api::route::TABLE_MAIN;
use netnsd_api::{Cidr, Error, Family, Route};
use zbus::wire::OwnedObjectPath;

use super::{Later, Manager, Namespace};
use crate::dns::Dns;
use crate::netlink as ops;
use crate::record::{Entry, UplinkRecord};
use crate::uplink::{Slot, Topology, bridge_name, bridge_of, is_bridge_name};

/// The uplink device's name inside the namespace.
pub const UPLINK_IF: &str = "uplink0";

/// When a host end left to die with its namespace is looked for again (and
/// deleted, if something keeps that namespace alive).
const REAP_HOST_END_AFTER: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UplinkKind {
    Veth,
    Macvlan,
}

/// An uplink to make, validated by the bus layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkSpec {
    pub kind: UplinkKind,
    /// Number of the namespace that holds the host end / the parent.
    pub uplink_ns: u32,
    /// macvlan: the parent's interface name in the uplink namespace.
    pub parent: Option<String>,
    /// macvlan: the namespace's address.
    pub address: Option<Cidr>,
    /// macvlan: the default gateway.
    pub gateway: Option<IpAddr>,
    /// veth: IPv6 as well as IPv4.
    pub ipv6: bool,
    /// macvlan: address, gateway and DNS by DHCPv4 (see `dhcp.rs`).
    pub dhcp: bool,
}

/// What AddNetworkNamespaceWithOptions asks for beyond the namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsOptions {
    pub uplink: Option<UplinkSpec>,
    pub dns: Option<Dns>,
}

pub(super) fn default_route(family: Family, gateway: Option<IpAddr>, oif: u32) -> Route {
    Route {
        destination: None,
        family,
        gateway,
        oif: Some(oif),
        table: TABLE_MAIN,
        metric: None,
        scope: None,
    }
}

impl Manager {
    pub(super) fn namespace(&self, ns: u32) -> Result<Namespace, Error> {
        self.namespaces.by_number(ns).ok_or_else(|| {
            Error::NotFound(format!("no namespace {}", netnsd_api::namespace_path(ns)))
        })
    }

    pub(super) async fn add_with_options(
        &mut self,
        name: &str,
        opts: NsOptions,
    ) -> Result<OwnedObjectPath, Error> {
        let path = self.add(name).await?;
        let number = self
            .namespaces
            .get(name)
            .map(|n| n.number)
            .unwrap_or_default();
        // The DNS files are written on a blocking thread while the uplink
        // is made: neither needs the other. Both are waited for, so that
        // a failure of either is undone with the namespace.
        let r = async {
            let dns = match opts.dns {
                Some(d) => Some(self.start_dns(number, Some(d))?),
                None => None,
            };
            let uplink = match opts.uplink {
                Some(u) => self.set_uplink(number, u).await,
                None => Ok(()),
            };
            let dns = match dns {
                Some(w) => self.finish_dns(w).await,
                None => Ok(()),
            };
            uplink.and(dns)
        }
        .await;
        if let Err(e) = r {
            if let Err(undo) = self.remove(name).await {
                tracing::error!(
                    name,
                    "undoing a failed AddNetworkNamespaceWithOptions: {}",
                    undo.message()
                );
            }
            return Err(e);
        }
        Ok(path)
    }

    pub(super) async fn set_uplink(&mut self, ns: u32, spec: UplinkSpec) -> Result<(), Error> {
        let target = self.namespace(ns)?;
        let up = self.namespace(spec.uplink_ns)?;
        if self.uplinks.get(ns).is_some() {
            self.clear_uplink(ns).await?;
        }
        let record = match spec.kind {
            UplinkKind::Veth => self.add_veth_uplink(&target, &up, spec.ipv6).await?,
            UplinkKind::Macvlan => self.add_macvlan_uplink(&target, &up, &spec).await?,
        };
        self.record(Entry::UplinkSet {
            name: target.name.clone(),
            uplink: record.clone(),
        })?;
        let changes = self.uplinks.set(ns, record);
        self.publish(changes).await;
        tracing::info!(name = %target.name, uplink = %up.name, "uplink set");
        Ok(())
    }

    async fn add_veth_uplink(
        &mut self,
        target: &Namespace,
        up: &Namespace,
        ipv6: bool,
    ) -> Result<UplinkRecord, Error> {
        let hp = self.platform(up.number)?;
        let np = self.platform(target.number)?;
        // The topology of the uplinks already through `up` decides (a daemon
        // restarted with another topology keeps the uplinks it finds, and
        // routed host ends and a bridge in one namespace would both hold the
        // pool's first address); the daemon's option decides where there
        // are none.
        let bridged = if self.uplinks.has_veth_through(&up.name, true) {
            true
        } else if self.uplinks.has_veth_through(&up.name, false) {
            false
        } else {
            self.uplinks.topology() == Topology::Bridge
        };
        if bridged != (self.uplinks.topology() == Topology::Bridge) {
            tracing::info!(uplink = %up.name, "a {} veth uplink, as the ones already through this namespace", if bridged { "bridged" } else { "routed" });
        }
        let (mut slot, host_if) = loop {
            let slot = self
                .uplinks
                .allocate()
                .ok_or_else(|| Error::Failed("the uplink address pool is exhausted".into()))?;
            let host_if = format!("nsu{}", slot.index);
            // A free slot whose host end is still there (kept by a
            // namespace that outlived a daemon crash, or not ours): the
            // slot stays taken and the next one is tried.
            if ops::ifindex_by_name(&hp.handle, &host_if).await?.is_none() {
                break (slot, host_if);
            }
            tracing::warn!(%host_if, uplink = %up.name, "skipping uplink slot {}: its host end exists", slot.index);
        };
        // Its addresses in the topology chosen for this namespace.
        let bridge_if = bridged.then(|| bridge_name(bridge_of(slot.index)));
        slot = self.uplinks.slot_of(slot.index, &bridge_if);
        let ipv6 = ipv6 && self.ipv6_forwarding_possible(up).await;
        if !ipv6 {
            slot.host_v6 = None;
            slot.ns_v6 = None;
        }
        let bridge = if bridged {
            match self.ensure_bridge(up, bridge_of(slot.index)).await {
                Ok(i) => Some(i),
                Err(e) => {
                    self.uplinks.release(slot.index);
                    if let Some(b) = &bridge_if {
                        self.drop_unused_bridge(up, b).await;
                    }
                    return Err(e);
                }
            }
        } else {
            None
        };
        let record = UplinkRecord::Veth {
            uplink_ns: up.name.clone(),
            host_if: host_if.clone(),
            slot: slot.index,
            ipv6,
            bridge: bridge_if.clone(),
        };
        // The intent first: a crash from here to UplinkSet leaves a host end
        // and uplink0 that the next start finds in the journal and removes.
        if let Err(e) = self.begin_uplink(target, &record) {
            self.uplinks.release(slot.index);
            return Err(e);
        }
        let made = async {
            let ns_file = self.ns_file(target)?;
            // Born down: brought up below without a generated IPv6
            // link-local address (see `crate::uplink::configure_veth`), or
            // (bridged) as a port of the bridge, with IPv6 off. Both
            // ifindexes from the kernel's echo of the new link.
            let ends = ops::add_veth_echo(
                &hp.handle,
                &host_if,
                UPLINK_IF,
                ns_file.as_fd(),
                &LinkOptions::default(),
                bridge.map(|b| (b, crate::uplink::port_mac(slot.index))),
            )
            .await?;
            let (hidx, nidx) = match ends {
                Some(e) => (e.here, e.peer),
                // No echo (a kernel before 6.3): looked up.
                None => (
                    ops::ifindex_by_name(&hp.handle, &host_if)
                        .await?
                        .ok_or_else(|| Error::Failed(format!("{host_if} vanished")))?,
                    ops::ifindex_by_name(&np.handle, UPLINK_IF)
                        .await?
                        .ok_or_else(|| Error::Failed(format!("{UPLINK_IF} vanished")))?,
                ),
            };
            match bridge {
                Some(b) => {
                    self.port_ipv6_off(up, &host_if).await?;
                    crate::uplink::configure_bridge_port(
                        &hp.handle,
                        &np.handle,
                        (hidx, nidx, b),
                        &slot,
                    )
                    .await?;
                }
                None => {
                    crate::uplink::configure_veth(&hp.handle, &np.handle, hidx, nidx, &slot)
                        .await?;
                    self.forward_and_nat(up, &host_if).await?;
                }
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = made {
            let undone = match ops::ifindex_by_name(&hp.handle, &host_if).await {
                Ok(Some(i)) => ops::delete_link(&hp.handle, i).await.is_ok(),
                Ok(None) => true,
                Err(_) => false,
            };
            if let Some(b) = &bridge_if {
                self.forget_port_neighbours(up, b, &slot).await;
            }
            self.uplinks.release(slot.index);
            // Forwarding turned on for this uplink goes back off if no other
            // uplink needs it.
            self.restore_sysctls(&up.name).await;
            if let Some(b) = &bridge_if {
                self.drop_unused_bridge(up, b).await;
            }
            if undone {
                self.uplink_undone(target);
            }
            return Err(e);
        }
        Ok(record)
    }

    /// Bridge `k` of uplink namespace `up` for a new port, made if missing
    /// (see [`Manager::make_bridge`]), with forwarding and NAT on for it (as
    /// for a routed host end) once, until its forwarding is put back.
    async fn ensure_bridge(&mut self, up: &Namespace, k: u32) -> Result<u32, Error> {
        let name = bridge_name(k);
        if let Some(i) = self.uplinks.bridge_ready(&up.name, &name) {
            return Ok(i);
        }
        let hp = self.platform(up.number)?;
        let idx = match ops::ifindex_by_name(&hp.handle, &name).await? {
            Some(i) => i,
            None => self.make_bridge(up, k).await?,
        };
        self.forward_and_nat(up, &name).await?;
        self.uplinks.set_bridge_ready(&up.name, &name, idx);
        Ok(idx)
    }

    /// Makes bridge `k` of uplink namespace `up`: the gateway's addresses
    /// (the first IPv4 address of its block with the block's prefix; with
    /// an IPv6 pool, ::1 of its /64 and the link-local fe80::1, no
    /// generated one: [`crate::uplink::configure_bridge`]), its sysctls
    /// ([`crate::uplink::bridge_sysctls`]), up. Its ifindex; nothing left on
    /// failure.
    async fn make_bridge(&mut self, up: &Namespace, k: u32) -> Result<u32, Error> {
        let name = bridge_name(k);
        let hp = self.platform(up.number)?;
        // A MAC of its own: a bridge left to take its ports' changes its
        // address as they come and go, and the kernel then flushes its
        // neighbour entries, permanent ones too.
        let mac = ops::stable_mac(&up.name, &name);
        ops::add_bridge(&hp.handle, &name, &LinkOptions::default(), Some(mac)).await?;
        let idx = ops::ifindex_by_name(&hp.handle, &name)
            .await?
            .ok_or_else(|| Error::Failed(format!("{name} vanished")))?;
        let (v4, v6) = self.uplinks.bridge_addresses(k);
        let file = self.netns_file_for_tools(up)?;
        let made = async {
            crate::uplink::configure_bridge(&hp.handle, idx, (v4, v6)).await?;
            let keys = crate::uplink::bridge_sysctls(&name);
            let what = format!("sysctl {} and {}", keys[0].0, keys[1].0);
            tokio::task::spawn_blocking(move || {
                keys.iter()
                    .try_for_each(|(k, v)| crate::sysctl::set(file.as_ref(), k, v).map(|_| ()))
            })
            .await
            .map_err(|e| Error::Failed(format!("{what}: {e}")))?
            .map_err(|e| Error::Failed(format!("{what}: {e}")))?;
            ops::set_up(&hp.handle, idx, true).await
        }
        .await;
        if let Err(e) = made {
            if let Err(undo) = ops::delete_link(&hp.handle, idx).await {
                tracing::warn!(uplink = %up.name, "removing a half-made {name}: {}", undo.message());
            }
            return Err(e);
        }
        tracing::info!(uplink = %up.name, "made {name} for bridged veth uplinks");
        Ok(idx)
    }

    /// Removes bridge `bridge` of `up` if no bridged uplink has a port on it.
    pub(super) async fn drop_unused_bridge(&mut self, up: &Namespace, bridge: &str) {
        if self.uplinks.bridge_used(&up.name, bridge) {
            return;
        }
        self.uplinks.bridge_unready(&up.name, Some(bridge));
        let Ok(p) = self.platform(up.number) else {
            return;
        };
        match ops::ifindex_by_name(&p.handle, bridge).await {
            Ok(Some(i)) => match ops::delete_link(&p.handle, i).await {
                Ok(()) => {
                    tracing::info!(uplink = %up.name, "removed {bridge}: no bridged uplink left on it")
                }
                Err(e) => tracing::warn!(uplink = %up.name, "removing {bridge}: {}", e.message()),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(uplink = %up.name, "looking for {bridge}: {}", e.message()),
        }
    }

    /// IPv6 off on the new port `host_if` of uplink namespace `up`, before
    /// it comes up: a port needs none, and with it every port would add a
    /// multicast route and a walk of the namespace's IPv6 table.
    async fn port_ipv6_off(&self, up: &Namespace, host_if: &str) -> Result<(), Error> {
        let key = format!("net/ipv6/conf/{host_if}/disable_ipv6");
        let file = self.netns_file_for_tools(up)?;
        let set = match file {
            // The daemon's own namespace: a write, no hand-off.
            None => crate::sysctl::set(None, &key, "1"),
            Some(f) => {
                let k = key.clone();
                tokio::task::spawn_blocking(move || crate::sysctl::set(Some(&f), &k, "1"))
                    .await
                    .map_err(|e| Error::Failed(format!("sysctl {key}: {e}")))?
            }
        };
        set.map(|_| ())
            .map_err(|e| Error::Failed(format!("sysctl {key}: {e}")))
    }

    /// Removes the permanent neighbour entries of bridged `slot` from its
    /// bridge (they stay there when the port goes); best effort.
    async fn forget_port_neighbours(&self, up: &Namespace, bridge: &str, slot: &Slot) {
        let Ok(p) = self.platform(up.number) else {
            return;
        };
        // The ifindex this daemon keeps for a bridge ready for ports; looked
        // up only for one it has not taken in (an uplink undone at start).
        let b = match self.uplinks.bridge_ready(&up.name, bridge) {
            Some(b) => b,
            None => match ops::ifindex_by_name(&p.handle, bridge).await {
                Ok(Some(b)) => b,
                _ => return,
            },
        };
        for a in [Some(slot.ns_v4), slot.ns_v6].into_iter().flatten() {
            if let Err(e) = ops::del_neighbour(&p.handle, b, a.addr).await {
                tracing::warn!(uplink = %up.name, "{}", e.message());
            }
        }
    }

    /// At start: the bridges of the bridge topology in `up` are looked at:
    /// one with no bridged uplink goes; on the others, the permanent
    /// neighbour entries that no live bridged uplink has (their namespace
    /// went while the daemon was down) are removed.
    pub(super) async fn heal_bridges(&mut self, up: &Namespace) {
        let Ok(p) = self.platform(up.number) else {
            return;
        };
        let bridges = match ops::links_named(&p.handle, is_bridge_name).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(uplink = %up.name, "looking for bridges: {}", e.message());
                return;
            }
        };
        let mut live: std::collections::BTreeMap<String, std::collections::BTreeSet<IpAddr>> =
            Default::default();
        for (i, b) in self.uplinks.bridged_slots(&up.name) {
            let s = self.uplinks.slot_of(i, &Some(b.clone()));
            live.entry(b).or_default().extend(
                [Some(s.ns_v4.addr), s.ns_v6.map(|c| c.addr)]
                    .into_iter()
                    .flatten(),
            );
        }
        for (idx, name) in bridges {
            let Some(keep) = live.get(&name) else {
                self.drop_unused_bridge(up, &name).await;
                continue;
            };
            match ops::permanent_neighbours(&p.handle, idx).await {
                Ok(found) => {
                    for a in found.into_iter().filter(|a| !keep.contains(a)) {
                        tracing::info!(uplink = %up.name, bridge = %name, "removing the neighbour entry of a bridged uplink gone: {a}");
                        if let Err(e) = ops::del_neighbour(&p.handle, idx, a).await {
                            tracing::warn!(uplink = %up.name, "{}", e.message());
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(uplink = %up.name, "listing {name}'s neighbours: {}", e.message())
                }
            }
        }
    }

    /// Whether uplink namespace `up` can forward IPv6 for a host end (see
    /// [`crate::sysctl::ipv6_forwarding_possible`]); if not, says so.
    async fn ipv6_forwarding_possible(&self, up: &Namespace) -> bool {
        // Known once for the kernel: no hand-off to a blocking thread.
        if crate::sysctl::force_forwarding_known() {
            return true;
        }
        let file = match self.netns_file_for_tools(up) {
            Ok(f) => f,
            Err(_) => return true,
        };
        let possible = tokio::task::spawn_blocking(move || {
            crate::sysctl::ipv6_forwarding_possible(file.as_ref())
        })
        .await;
        match possible {
            Ok(Ok(true)) => true,
            Ok(Ok(false)) => {
                tracing::warn!(
                    uplink = %up.name,
                    "this kernel has no per-interface IPv6 force_forwarding and IPv6 forwarding is off in the uplink namespace: the uplink gets IPv4 only"
                );
                false
            }
            // Unknown: as before.
            _ => true,
        }
    }

    /// Journals that namespace `target`'s uplink `record` is about to be made.
    fn begin_uplink(&mut self, target: &Namespace, record: &UplinkRecord) -> Result<(), Error> {
        self.record(Entry::UplinkSetting {
            name: target.name.clone(),
            uplink: record.clone(),
        })
    }

    /// Journals that a begun uplink was undone (best effort: if this is
    /// lost, the next start looks for it and finds nothing to remove).
    fn uplink_undone(&mut self, target: &Namespace) {
        if let Err(e) = self.record(Entry::UplinkUndone {
            name: target.name.clone(),
        }) {
            tracing::warn!(name = %target.name, "{}", e.message());
        }
    }

    async fn add_macvlan_uplink(
        &mut self,
        target: &Namespace,
        up: &Namespace,
        spec: &UplinkSpec,
    ) -> Result<UplinkRecord, Error> {
        let parent = spec.parent.clone().unwrap_or_default();
        let address = match (spec.address, spec.dhcp) {
            (Some(a), false) => Some(a),
            (None, true) => None,
            _ => {
                return Err(Error::InvalidArgument(
                    "a macvlan uplink needs an address, or dhcp".into(),
                ));
            }
        };
        let hp = self.platform(up.number)?;
        let np = self.platform(target.number)?;
        let pidx = ops::ifindex_by_name(&hp.handle, &parent)
            .await?
            .ok_or_else(|| {
                Error::UnknownDevice(format!("no device {parent:?} in namespace {:?}", up.name))
            })?;
        let ns_file = self.ns_file(target)?;
        let opts = LinkOptions {
            up: true,
            ..Default::default()
        };
        let mac = Some(ops::stable_mac(&target.name, UPLINK_IF));
        let record = UplinkRecord::Macvlan {
            uplink_ns: up.name.clone(),
            parent,
            address: address.map(|a| a.to_string()).unwrap_or_default(),
            gateway: spec.gateway.map(|g| g.to_string()),
            dhcp: spec.dhcp,
            lease: None,
        };
        self.begin_uplink(target, &record)?;
        if let Err(e) = ops::add_macvlan(
            &hp.handle,
            UPLINK_IF,
            pidx,
            Some(ns_file.as_fd()),
            MacvlanMode::Bridge,
            &opts,
            mac,
        )
        .await
        {
            self.uplink_undone(target);
            return Err(e);
        }
        let made = async {
            let nidx = ops::ifindex_by_name(&np.handle, UPLINK_IF)
                .await?
                .ok_or_else(|| Error::Failed(format!("{UPLINK_IF} vanished")))?;
            if let Some(address) = address {
                ops::add_address(&np.handle, nidx, &address).await?;
            }
            if let Some(gw) = spec.gateway {
                ops::add_route(&np.handle, &default_route(Family::of(&gw), Some(gw), nidx)).await?;
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = made {
            let undone = match ops::ifindex_by_name(&np.handle, UPLINK_IF).await {
                Ok(Some(i)) => ops::delete_link(&np.handle, i).await.is_ok(),
                Ok(None) => true,
                Err(_) => false,
            };
            if undone {
                self.uplink_undone(target);
            }
            return Err(e);
        }
        Ok(record)
    }

    /// Takes a namespace's uplink down; nothing to do if it has none.
    pub(super) async fn clear_uplink(&mut self, ns: u32) -> Result<(), Error> {
        let target = self.namespace(ns)?;
        let Some(record) = self.uplinks.get(ns) else {
            return Ok(());
        };
        let errors = self.teardown_uplink(&target, &record, false).await;
        self.record(Entry::UplinkCleared {
            name: target.name.clone(),
        })?;
        let changes = self.uplinks.clear(ns);
        if let UplinkRecord::Veth { uplink_ns, .. } = &record {
            self.restore_sysctls(uplink_ns).await;
        }
        self.publish(changes).await;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Failed(format!(
                "taking down the uplink of {:?}: {}",
                target.name,
                errors.join("; ")
            )))
        }
    }

    /// Removes what an uplink is made of; keeps going past failures and
    /// returns them all. Works whether or not the namespace still exists.
    /// When `ns_going`, the namespace is about to go (or gone): its veth dies
    /// with it in the kernel's own batched cleanup, so the host end is not
    /// deleted here — its slot waits until it is seen gone.
    pub(super) async fn teardown_uplink(
        &mut self,
        target: &Namespace,
        record: &UplinkRecord,
        ns_going: bool,
    ) -> Vec<String> {
        let mut errors = Vec::new();
        match record {
            UplinkRecord::Veth {
                uplink_ns,
                host_if,
                slot,
                bridge,
                ..
            } => {
                // Its forwards go first, while the uplink is still known.
                self.drop_forwards(target, uplink_ns).await;
                let up = self.namespaces.get(uplink_ns);
                if let Some(up) = &up {
                    // A bridged uplink's NAT is its bridge's: queued to go,
                    // it stays while another bridged uplink is live.
                    let nat_if = bridge.as_deref().unwrap_or(host_if);
                    self.queue_nat_removal(uplink_ns, nat_if).await;
                    if let Some(b) = bridge {
                        let s = self.uplinks.slot_of(*slot, bridge);
                        self.forget_port_neighbours(up, b, &s).await;
                    }
                }
                match up {
                    Some(up) if ns_going => {
                        self.uplinks.drain(*slot, up.name.clone(), host_if.clone());
                        self.later(REAP_HOST_END_AFTER, Later::ReapHostEnd(*slot));
                    }
                    Some(up) => {
                        if let Ok(p) = self.platform(up.number)
                            && let Ok(Some(i)) = ops::ifindex_by_name(&p.handle, host_if).await
                            && let Err(e) = ops::delete_link(&p.handle, i).await
                        {
                            errors.push(e.message());
                        }
                        self.uplinks.release(*slot);
                    }
                    // The uplink namespace is gone, and the host end with it.
                    None => self.uplinks.release(*slot),
                }
            }
            UplinkRecord::Macvlan { .. } => {
                // The lease is given back before its device goes.
                self.stop_dhcp(target.number).await;
                if let Ok(p) = self.platform(target.number)
                    && let Ok(Some(i)) = ops::ifindex_by_name(&p.handle, UPLINK_IF).await
                    && let Err(e) = ops::delete_link(&p.handle, i).await
                {
                    errors.push(e.message());
                }
            }
        }
        errors
    }

    /// A link went away in namespace `ns`: if it was a host end waiting to
    /// die with its namespace, its slot is free again.
    pub(super) fn host_end_gone(&mut self, ns: u32, name: &str) {
        if !self.uplinks.draining() {
            return;
        }
        if let Some(up) = self.namespaces.by_number(ns) {
            self.uplinks.host_end_gone(&up.name, name);
        }
    }

    /// A host end left to die with its namespace is still there after
    /// REAP_HOST_END_AFTER: something keeps that namespace alive (a process
    /// inside it, a bind mount elsewhere), so the veth is deleted now.
    pub(super) async fn reap_host_end(&mut self, slot: u32) {
        let Some((up_name, host_if)) = self.uplinks.reap(slot) else {
            return;
        };
        let up = self.namespaces.get(&up_name);
        if let Some(up) = up
            && let Ok(p) = self.platform(up.number)
        {
            match ops::ifindex_by_name(&p.handle, &host_if).await {
                Ok(Some(i)) => {
                    tracing::info!(%host_if, "the namespace of this host end outlived its removal: deleting the veth");
                    if let Err(e) = ops::delete_link(&p.handle, i).await {
                        tracing::warn!(%host_if, "deleting a left-over host end: {}", e.message());
                        // Keep the slot taken: its name is still in use.
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(%host_if, "looking for a left-over host end: {}", e.message());
                    return;
                }
            }
        }
        self.uplinks.release(slot);
    }
}
