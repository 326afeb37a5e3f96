//! Uplinks (a veth to the uplink namespace with NAT, or a macvlan on a
//! parent there) and per-namespace DNS files.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use netnsd_api::link::{LinkOptions, MacvlanMode};
use netnsd_api::route::TABLE_MAIN;
use netnsd_api::{Cidr, Error, Family, Route};
use zbus::wire::OwnedObjectPath;

use super::{Manager, Namespace};
use crate::dns::{self, Dns};
use crate::firewall;
use crate::netlink as ops;
use crate::record::{Entry, UplinkRecord};
use crate::sysctl;

/// The uplink device's name inside the namespace.
pub const UPLINK_IF: &str = "uplink0";

/// How long removals must pause before the NAT elements they leave are
/// taken out, and how many may queue before that happens anyway.
const NAT_FLUSH_AFTER: Duration = Duration::from_secs(1);
const NAT_FLUSH_AT: usize = 256;
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
}

/// What AddNetworkNamespaceWithOptions asks for beyond the namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsOptions {
    pub uplink: Option<UplinkSpec>,
    pub dns: Option<Dns>,
}

fn default_route(family: Family, gateway: Option<IpAddr>, oif: u32) -> Route {
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
    fn namespace(&self, ns: u32) -> Result<Namespace, Error> {
        self.registry
            .read()
            .unwrap()
            .by_number(ns)
            .cloned()
            .ok_or_else(|| {
                Error::NotFound(format!("no namespace {}", netnsd_api::namespace_path(ns)))
            })
    }

    fn set_ns_state(&mut self, ns: u32, f: impl FnOnce(&mut Namespace)) {
        let mut reg = self.registry.write().unwrap();
        if let Some(n) = reg.by_number_mut(ns) {
            f(n);
        }
    }

    pub(super) async fn add_with_options(
        &mut self,
        name: &str,
        opts: NsOptions,
    ) -> Result<OwnedObjectPath, Error> {
        let path = self.add(name).await?;
        let number = self
            .registry
            .read()
            .unwrap()
            .get(name)
            .map(|n| n.number)
            .unwrap_or_default();
        let r = async {
            if let Some(u) = opts.uplink {
                self.set_uplink(number, u).await?;
            }
            if let Some(d) = opts.dns {
                self.set_dns(number, Some(d)).await?;
            }
            Ok::<_, Error>(())
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
        if target.uplink.is_some() {
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
        self.set_ns_state(ns, |n| n.uplink = Some(record));
        self.instance_changed(ns, "Uplink").await;
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
        let (mut slot, host_if) = loop {
            let slot = self
                .pool
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
        if !ipv6 {
            slot.host_v6 = None;
            slot.ns_v6 = None;
        }
        let made = async {
            let ns_file = self.ns_file(target)?;
            let opts = LinkOptions {
                up: true,
                ..Default::default()
            };
            ops::add_veth(
                &hp.handle,
                &host_if,
                UPLINK_IF,
                ns_file.as_fd(),
                &opts,
                None,
                None,
            )
            .await?;
            let hidx = ops::ifindex_by_name(&hp.handle, &host_if)
                .await?
                .ok_or_else(|| Error::Failed(format!("{host_if} vanished")))?;
            let nidx = ops::ifindex_by_name(&np.handle, UPLINK_IF)
                .await?
                .ok_or_else(|| Error::Failed(format!("{UPLINK_IF} vanished")))?;
            ops::set_up(&np.handle, nidx, true).await?;
            ops::add_address_with(&hp.handle, hidx, &slot.host_v4, true).await?;
            ops::add_address_with(&np.handle, nidx, &slot.ns_v4, true).await?;
            ops::add_route(
                &np.handle,
                &default_route(Family::V4, Some(slot.host_v4.addr), nidx),
            )
            .await?;
            if let (Some(h6), Some(n6)) = (slot.host_v6, slot.ns_v6) {
                ops::add_address_with(&hp.handle, hidx, &h6, true).await?;
                ops::add_address_with(&np.handle, nidx, &n6, true).await?;
                ops::add_route(&np.handle, &default_route(Family::V6, Some(h6.addr), nidx)).await?;
            }
            self.enable_forwarding(up, &host_if).await?;
            self.add_nat(up, &host_if).await?;
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = made {
            if let Ok(Some(i)) = ops::ifindex_by_name(&hp.handle, &host_if).await {
                let _ = ops::delete_link(&hp.handle, i).await;
            }
            self.pool.release(slot.index);
            // Forwarding turned on for this uplink goes back off if no other
            // uplink needs it.
            self.restore_sysctls(&up.name).await;
            return Err(e);
        }
        Ok(UplinkRecord::Veth {
            uplink_ns: up.name.clone(),
            host_if,
            slot: slot.index,
            ipv6,
        })
    }

    async fn add_macvlan_uplink(
        &mut self,
        target: &Namespace,
        up: &Namespace,
        spec: &UplinkSpec,
    ) -> Result<UplinkRecord, Error> {
        let parent = spec.parent.clone().unwrap_or_default();
        let address = spec
            .address
            .ok_or_else(|| Error::InvalidArgument("a macvlan uplink needs an address".into()))?;
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
        ops::add_macvlan(
            &hp.handle,
            UPLINK_IF,
            pidx,
            Some(ns_file.as_fd()),
            MacvlanMode::Bridge,
            &opts,
            mac,
        )
        .await?;
        let made = async {
            let nidx = ops::ifindex_by_name(&np.handle, UPLINK_IF)
                .await?
                .ok_or_else(|| Error::Failed(format!("{UPLINK_IF} vanished")))?;
            ops::add_address(&np.handle, nidx, &address).await?;
            if let Some(gw) = spec.gateway {
                ops::add_route(&np.handle, &default_route(Family::of(&gw), Some(gw), nidx)).await?;
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = made {
            if let Ok(Some(i)) = ops::ifindex_by_name(&np.handle, UPLINK_IF).await {
                let _ = ops::delete_link(&np.handle, i).await;
            }
            return Err(e);
        }
        Ok(UplinkRecord::Macvlan {
            uplink_ns: up.name.clone(),
            parent,
            address: address.to_string(),
            gateway: spec.gateway.map(|g| g.to_string()),
        })
    }

    /// The file to hand to a tool run in namespace `ns` (None: the daemon's own).
    fn netns_file_for_tools(&self, ns: &Namespace) -> Result<Option<std::fs::File>, Error> {
        if ns.number == 0 {
            Ok(None)
        } else {
            self.ns_file(ns).map(Some)
        }
    }

    /// Lets the uplink namespace forward for a new host end: on that
    /// interface and on the interfaces of its default routes, and nowhere
    /// else. The original values of the latter are recorded and put back
    /// when the last uplink through that namespace goes.
    ///
    /// The default-route devices are found once, by the first uplink
    /// through `up` (a dump of every route, O(n) with n host ends there),
    /// and remembered until the last uplink through `up` goes: later
    /// uplinks only turn forwarding on for their own host end.
    async fn enable_forwarding(&mut self, up: &Namespace, host_if: &str) -> Result<(), Error> {
        let known = self.forward_devs.contains_key(&up.name);
        let out_devs = if known {
            BTreeSet::new()
        } else {
            self.default_route_devices(up).await?
        };
        self.forward(up, host_if, &out_devs).await?;
        if !known {
            self.forward_devs.insert(up.name.clone(), out_devs);
        }
        Ok(())
    }

    /// The devices of the default routes of namespace `up`.
    async fn default_route_devices(&self, up: &Namespace) -> Result<BTreeSet<String>, Error> {
        let hp = self.platform(up.number)?;
        let mut out_devs = BTreeSet::new();
        for r in ops::list_routes(&hp.handle).await? {
            let d = ops::route_to_dict(&r, &|_| None);
            let is_default = d
                .get("destination")
                .and_then(|v| String::try_from(v.clone()).ok())
                .as_deref()
                == Some("default");
            let oif = r.attributes.iter().find_map(|a| match a {
                netlink_packet_route::route::RouteAttribute::Oif(i) => Some(*i),
                _ => None,
            });
            if is_default
                && let Some(i) = oif
                && let Ok(Some(name)) = ops::link_name(&hp.handle, i).await
            {
                out_devs.insert(name);
            }
        }
        Ok(out_devs)
    }

    /// Forwarding on for `host_if` and, with their old values recorded, on
    /// `out_devs`.
    async fn forward(
        &mut self,
        up: &Namespace,
        host_if: &str,
        out_devs: &BTreeSet<String>,
    ) -> Result<(), Error> {
        let file = self.netns_file_for_tools(up)?;
        let set = |key: String| {
            let f = file.as_ref().and_then(|f| f.try_clone().ok());
            async move {
                let k = key.clone();
                tokio::task::spawn_blocking(move || sysctl::set(f.as_ref(), &k, "1"))
                    .await
                    .map_err(|e| Error::Failed(format!("sysctl {key}: {e}")))?
                    .map_err(|e| Error::Failed(format!("sysctl {key}: {e}")))
            }
        };
        // The host end is ours and goes away with the uplink: no record.
        set(format!("net/ipv4/conf/{host_if}/forwarding")).await?;
        set(format!("net/ipv6/conf/{host_if}/force_forwarding")).await?;
        for dev in out_devs {
            for key in [
                format!("net/ipv4/conf/{dev}/forwarding"),
                format!("net/ipv6/conf/{dev}/force_forwarding"),
            ] {
                let old = set(key.clone()).await?;
                let k = (up.name.clone(), key.clone());
                if let Some(old) = old
                    && old != "1"
                    && !self.sysctls.contains_key(&k)
                {
                    self.record(Entry::SysctlSet {
                        ns: up.name.clone(),
                        key,
                        old: old.clone(),
                    })?;
                    self.sysctls.insert(k, old);
                }
            }
        }
        Ok(())
    }

    /// Puts back the sysctls changed for uplinks through `up`, once none is left.
    pub(super) async fn restore_sysctls(&mut self, up: &str) {
        let still_used = self.registry.read().unwrap().namespaces().any(
            |n| matches!(&n.uplink, Some(UplinkRecord::Veth { uplink_ns, .. }) if uplink_ns == up),
        );
        if still_used {
            return;
        }
        self.forward_devs.remove(up);
        let keys: Vec<(String, String)> = self
            .sysctls
            .keys()
            .filter(|(ns, _)| ns == up)
            .cloned()
            .collect();
        let file = match self.registry.read().unwrap().get(up).cloned() {
            Some(n) => self.netns_file_for_tools(&n).ok().flatten(),
            None => return,
        };
        for k in keys {
            let old = self.sysctls.remove(&k).unwrap_or_default();
            let f = file.as_ref().and_then(|f| f.try_clone().ok());
            let key = k.1.clone();
            let r = tokio::task::spawn_blocking(move || sysctl::set(f.as_ref(), &key, &old)).await;
            if !matches!(r, Ok(Ok(_))) {
                tracing::warn!(ns = up, key = %k.1, "could not restore a sysctl");
            }
            let _ = self.record(Entry::SysctlRestored { ns: k.0, key: k.1 });
        }
    }

    /// Takes a namespace's uplink down; nothing to do if it has none.
    pub(super) async fn clear_uplink(&mut self, ns: u32) -> Result<(), Error> {
        let target = self.namespace(ns)?;
        let Some(record) = target.uplink.clone() else {
            return Ok(());
        };
        let errors = self.teardown_uplink(&target, &record, false).await;
        self.record(Entry::UplinkCleared {
            name: target.name.clone(),
        })?;
        self.set_ns_state(ns, |n| n.uplink = None);
        if let UplinkRecord::Veth { uplink_ns, .. } = &record {
            self.restore_sysctls(uplink_ns).await;
        }
        self.instance_changed(ns, "Uplink").await;
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
                ..
            } => {
                let up = self.registry.read().unwrap().get(uplink_ns).cloned();
                if up.is_some() {
                    self.queue_nat_removal(uplink_ns, host_if).await;
                }
                match up {
                    Some(up) if ns_going => {
                        self.pool.reserve(*slot);
                        self.draining
                            .insert(*slot, (up.name.clone(), host_if.clone()));
                        self.later(REAP_HOST_END_AFTER, super::Later::ReapHostEnd(*slot));
                    }
                    Some(up) => {
                        if let Ok(p) = self.platform(up.number)
                            && let Ok(Some(i)) = ops::ifindex_by_name(&p.handle, host_if).await
                            && let Err(e) = ops::delete_link(&p.handle, i).await
                        {
                            errors.push(e.message());
                        }
                        self.pool.release(*slot);
                    }
                    // The uplink namespace is gone, and the host end with it.
                    None => self.pool.release(*slot),
                }
            }
            UplinkRecord::Macvlan { .. } => {
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
        if self.draining.is_empty() {
            return;
        }
        let Some(ns_name) = self
            .registry
            .read()
            .unwrap()
            .by_number(ns)
            .map(|n| n.name.clone())
        else {
            return;
        };
        let slot = self
            .draining
            .iter()
            .find(|(_, (u, h))| *u == ns_name && h == name)
            .map(|(s, _)| *s);
        if let Some(slot) = slot {
            self.draining.remove(&slot);
            self.pool.release(slot);
        }
    }

    /// A host end left to die with its namespace is still there after
    /// REAP_HOST_END_AFTER: something keeps that namespace alive (a process
    /// inside it, a bind mount elsewhere), so the veth is deleted now.
    pub(super) async fn reap_host_end(&mut self, slot: u32) {
        let Some((up_name, host_if)) = self.draining.remove(&slot) else {
            return;
        };
        let up = self.registry.read().unwrap().get(&up_name).cloned();
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
        self.pool.release(slot);
    }

    /// Host ends of the live veth uplinks through uplink namespace `up`.
    fn live_host_ifs(&self, up: &str) -> Vec<String> {
        self.registry
            .read()
            .unwrap()
            .namespaces()
            .filter_map(|n| match &n.uplink {
                Some(UplinkRecord::Veth {
                    uplink_ns, host_if, ..
                }) if uplink_ns == up => Some(host_if.clone()),
                _ => None,
            })
            .collect()
    }

    /// Runs an nft JSON batch in namespace `up`.
    async fn nft(&self, up: &Namespace, batch: serde_json::Value) -> Result<(), Error> {
        let file = self.netns_file_for_tools(up)?;
        tokio::task::spawn_blocking(move || firewall::apply(&batch, file.as_ref()))
            .await
            .map_err(|e| Error::Failed(format!("nft: {e}")))?
    }

    /// (Re)declares the NAT table of uplink namespace `up` holding the live
    /// uplinks' host ends and `extra`.
    async fn declare_nat(&mut self, up: &Namespace, extra: Option<&str>) -> Result<(), Error> {
        let mut ifs = self.live_host_ifs(&up.name);
        ifs.extend(extra.map(str::to_owned));
        ifs.sort();
        ifs.dedup();
        self.nft(up, firewall::declare_batch(&ifs)).await?;
        // Whatever was queued for removal is not in the new table.
        self.nat_removals.remove(&up.name);
        self.nat_declared.insert(up.name.clone());
        Ok(())
    }

    /// NAT for a new host end: one set element, added in process once the
    /// table is there.
    async fn add_nat(&mut self, up: &Namespace, host_if: &str) -> Result<(), Error> {
        if let Some(q) = self.nat_removals.get_mut(&up.name) {
            q.remove(host_if);
        }
        if self.nat_declared.contains(&up.name) {
            let file = self.netns_file_for_tools(up)?;
            let name = host_if.to_owned();
            let added =
                tokio::task::spawn_blocking(move || firewall::add_host_if(file.as_ref(), &name))
                    .await
                    .map_err(|e| Error::Failed(format!("nftables: {e}")))?;
            match added {
                Ok(()) => return Ok(()),
                // The table was removed behind our back: declare it again.
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    tracing::warn!(uplink = %up.name, "table inet {} is gone: declaring it again", firewall::TABLE);
                }
                Err(e) => {
                    return Err(Error::Failed(format!(
                        "adding {host_if} to set {} of table inet {}: {e}",
                        firewall::SET,
                        firewall::TABLE
                    )));
                }
            }
        }
        self.declare_nat(up, Some(host_if)).await
    }

    /// Queues the removal of a host end's NAT element.
    async fn queue_nat_removal(&mut self, up: &str, host_if: &str) {
        self.nat_removals
            .entry(up.to_owned())
            .or_default()
            .insert(host_if.to_owned());
        self.nat_generation += 1;
        let queued: usize = self.nat_removals.values().map(BTreeSet::len).sum();
        if queued >= NAT_FLUSH_AT {
            self.flush_nat(None).await;
        } else {
            self.later(NAT_FLUSH_AFTER, super::Later::FlushNat(self.nat_generation));
        }
    }

    /// Takes out the NAT elements queued for removal, in one transaction per
    /// uplink namespace, and the table of one with no uplink left. With a
    /// generation, only if no removal came since the timer was armed.
    pub(super) async fn flush_nat(&mut self, generation: Option<u64>) {
        if generation.is_some_and(|g| g != self.nat_generation) {
            return;
        }
        for (up_name, names) in std::mem::take(&mut self.nat_removals) {
            let up = self.registry.read().unwrap().get(&up_name).cloned();
            // An uplink namespace that is gone took its table with it.
            let Some(up) = up else {
                self.nat_declared.remove(&up_name);
                continue;
            };
            let live = self.live_host_ifs(&up_name);
            let r = if live.is_empty() {
                self.nat_declared.remove(&up_name);
                self.nft(&up, firewall::delete_table_batch()).await
            } else {
                let gone: Vec<String> = names.into_iter().filter(|n| !live.contains(n)).collect();
                let file = self.netns_file_for_tools(&up);
                match file {
                    Ok(file) => tokio::task::spawn_blocking(move || {
                        let names: Vec<&str> = gone.iter().map(String::as_str).collect();
                        firewall::remove_host_ifs(file.as_ref(), &names)
                    })
                    .await
                    .map_err(|e| Error::Failed(e.to_string()))
                    .and_then(|r| r.map_err(|e| Error::Failed(e.to_string()))),
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = r {
                tracing::warn!(uplink = %up_name, "removing NAT for uplinks gone: {}", e.message());
            }
        }
    }

    /// At start: the NAT table of every uplink namespace with live uplinks
    /// is declared afresh (what a crash left queued goes with it), and a
    /// table left in the root namespace with none is removed.
    pub(super) async fn heal_nat(&mut self) {
        let ups: BTreeSet<String> = self
            .registry
            .read()
            .unwrap()
            .namespaces()
            .filter_map(|n| match &n.uplink {
                Some(UplinkRecord::Veth { uplink_ns, .. }) => Some(uplink_ns.clone()),
                _ => None,
            })
            .collect();
        for name in &ups {
            let up = self.registry.read().unwrap().get(name).cloned();
            if let Some(up) = up
                && let Err(e) = self.declare_nat(&up, None).await
            {
                tracing::warn!(uplink = %name, "declaring NAT: {}", e.message());
            }
        }
        let root = self.registry.read().unwrap().by_number(0).cloned();
        if let Some(root) = root
            && !ups.contains(&root.name)
            && self
                .nft(&root, firewall::delete_table_batch())
                .await
                .is_ok()
        {
            tracing::info!("removed a NAT table left with no uplink");
        }
    }

    /// Writes (Some) or removes (None) a namespace's /etc/netns files.
    pub(super) async fn set_dns(&mut self, ns: u32, d: Option<Dns>) -> Result<(), Error> {
        let target = self.namespace(ns)?;
        let (etc, name, nss) = (
            self.etc_netns.clone(),
            target.name.clone(),
            self.host_nsswitch.clone(),
        );
        let dd = d.clone();
        tokio::task::spawn_blocking(move || match &dd {
            Some(d) => dns::write(&etc, &name, d, &nss),
            None => dns::remove(&etc, &name),
        })
        .await
        .map_err(|e| Error::Failed(format!("DNS files: {e}")))?
        .map_err(|e| {
            Error::Failed(format!(
                "DNS files for {:?} in {}: {e}",
                target.name,
                self.etc_netns.display()
            ))
        })?;
        self.record(match &d {
            Some(d) => Entry::DnsSet {
                name: target.name.clone(),
                servers: d.servers.iter().map(|s| s.to_string()).collect(),
                search: d.search.clone(),
            },
            None => Entry::DnsCleared {
                name: target.name.clone(),
            },
        })?;
        self.set_ns_state(ns, |n| n.dns = d);
        self.instance_changed(ns, "DnsServers").await;
        Ok(())
    }

    /// Emits PropertiesChanged for a NetNsInstance property.
    async fn instance_changed(&self, ns: u32, prop: &str) {
        let Some(conn) = &self.conn else { return };
        let Ok(iface) = conn
            .object_server()
            .interface::<_, crate::dbus::instance::NetNsInstance>(netnsd_api::namespace_path(ns))
            .await
        else {
            return;
        };
        let e = iface.signal_emitter();
        let i = iface.get().await;
        let r = match prop {
            "Uplink" => i.uplink_changed(e).await,
            _ => i.dns_servers_changed(e).await,
        };
        if let Err(err) = r {
            tracing::warn!("PropertiesChanged for {prop}: {err}");
        }
    }
}
