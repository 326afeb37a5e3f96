//! Uplinks (a veth to the uplink namespace with NAT, or a macvlan on a
//! parent there) and per-namespace DNS files.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::os::fd::AsFd;

use netnsd_api::Error;
use zbus::wire::OwnedObjectPath;

use super::{Manager, Namespace};
use crate::dns::{self, Dns};
use crate::firewall::{self, UplinkNat};
use crate::netlink_ops as ops;
use crate::record::{Entry, UplinkRecord};
use crate::spec::{Cidr, Family, LinkOptions, MacvlanMode, RouteSpec, TABLE_MAIN};
use crate::sysctl;

/// The uplink device's name inside the namespace.
pub const UPLINK_IF: &str = "uplink0";

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

fn default_route(family: Family, gateway: Option<IpAddr>, oif: u32) -> RouteSpec {
    RouteSpec {
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
        let mut slot = self
            .pool
            .allocate()
            .ok_or_else(|| Error::Failed("the uplink address pool is exhausted".into()))?;
        if !ipv6 {
            slot.host_v6 = None;
            slot.ns_v6 = None;
        }
        let host_if = format!("nsu{}", slot.index);
        let nat = UplinkNat {
            v4: slot.ns_v4,
            v6: slot.ns_v6,
            host_if: host_if.clone(),
        };
        let hp = self.platform(up.number)?;
        let np = self.platform(target.number)?;
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
            let up_file = self.netns_file_for_tools(up)?;
            let batch = firewall::add_batch(&nat);
            tokio::task::spawn_blocking(move || firewall::apply(&batch, up_file.as_ref()))
                .await
                .map_err(|e| Error::Failed(format!("nft: {e}")))??;
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
        let mac = Some(crate::spec::stable_mac(&target.name, UPLINK_IF));
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
    async fn enable_forwarding(&mut self, up: &Namespace, host_if: &str) -> Result<(), Error> {
        let hp = self.platform(up.number)?;
        let mut out_devs = BTreeSet::new();
        for r in ops::list_routes(&hp.handle).await? {
            let d = crate::spec::route_to_dict(&r, &|_| None);
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
        let errors = self.teardown_uplink(&target, &record).await;
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
    pub(super) async fn teardown_uplink(
        &mut self,
        target: &Namespace,
        record: &UplinkRecord,
    ) -> Vec<String> {
        let mut errors = Vec::new();
        match record {
            UplinkRecord::Veth {
                uplink_ns,
                host_if,
                slot,
                ipv6,
            } => {
                let up = self.registry.read().unwrap().get(uplink_ns).cloned();
                let s = self.pool.slot(*slot);
                let nat = UplinkNat {
                    v4: s.ns_v4,
                    v6: if *ipv6 { s.ns_v6 } else { None },
                    host_if: host_if.clone(),
                };
                let last = !self.registry.read().unwrap().namespaces().any(|n| {
                    n.number != target.number
                        && matches!(&n.uplink, Some(UplinkRecord::Veth { uplink_ns: u, .. }) if u == uplink_ns)
                });
                if let Some(up) = up {
                    if let Ok(p) = self.platform(up.number)
                        && let Ok(Some(i)) = ops::ifindex_by_name(&p.handle, host_if).await
                        && let Err(e) = ops::delete_link(&p.handle, i).await
                    {
                        errors.push(e.message());
                    }
                    match self.netns_file_for_tools(&up) {
                        Ok(f) => {
                            let batch = firewall::remove_batch(&nat, last);
                            match tokio::task::spawn_blocking(move || {
                                firewall::apply(&batch, f.as_ref())
                            })
                            .await
                            {
                                Ok(Ok(())) => {}
                                Ok(Err(e)) => errors.push(e.message()),
                                Err(e) => errors.push(e.to_string()),
                            }
                        }
                        Err(e) => errors.push(e.message()),
                    }
                }
                self.pool.release(*slot);
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
