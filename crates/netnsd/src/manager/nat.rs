//! NAT and forwarding for veth uplinks, in their uplink namespace: the
//! daemon's own nftables table (`inet netnsd`) with a set of host ends,
//! element removals batched once removals pause, and forwarding turned on
//! for host ends and default-route devices, with the sysctls it changed put
//! back when the last uplink through that namespace goes.

use std::collections::BTreeSet;
use std::time::Duration;

use netnsd_api::Error;

use super::state::NatQueued;
use super::{Later, Manager, Namespace};
use crate::firewall;
use crate::netlink as ops;
use crate::record::Entry;
use crate::sysctl;

/// How long removals must pause before the NAT elements they leave are
/// taken out.
const NAT_FLUSH_AFTER: Duration = Duration::from_secs(1);

impl Manager {
    /// The file to hand to a tool run in namespace `ns` (None: the daemon's own).
    pub(super) fn netns_file_for_tools(
        &self,
        ns: &Namespace,
    ) -> Result<Option<std::fs::File>, Error> {
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
    /// The default-route devices are found by the first uplink through `up`
    /// (a dump of every route, O(n) with n host ends there), and followed
    /// from then on until the last uplink through `up` goes: a default
    /// route that moves to another device (Wi-Fi to Ethernet, a VPN on the
    /// host) turns forwarding on there too. Later uplinks only turn
    /// forwarding on for their own host end.
    pub(super) async fn enable_forwarding(
        &mut self,
        up: &Namespace,
        host_if: &str,
    ) -> Result<(), Error> {
        self.forward(up, host_if).await?;
        if !self.uplinks.forwarding_known(&up.name) {
            self.follow_default_routes(up).await?;
        }
        Ok(())
    }

    /// Forwarding on for the devices of `up`'s default routes not yet
    /// forwarding, and a watch on its routes that calls this again when a
    /// default route changes.
    pub(super) async fn follow_default_routes(&mut self, up: &Namespace) -> Result<(), Error> {
        let devs = self.default_route_devices(up).await?;
        let new: BTreeSet<String> = devs
            .difference(&self.uplinks.forwarding_devices(&up.name))
            .cloned()
            .collect();
        if !new.is_empty() {
            tracing::info!(uplink = %up.name, devices = ?new, "forwarding on the devices of the default routes");
            self.forward_out(up, &new).await?;
        }
        self.uplinks.forwarding_add(up.name.clone(), new);
        if !self.route_watches.contains_key(&up.name) {
            let tx = self.later_tx.clone();
            let name = up.name.clone();
            let changed = move || {
                let _ = tx.send(Later::DefaultRoutes(name.clone()));
            };
            let file = self.netns_file_for_tools(up)?;
            let rt = self.rt.clone();
            let watch = tokio::task::spawn_blocking(move || {
                ops::watch_default_routes(&rt, file.as_ref(), changed)
            })
            .await
            .map_err(|e| Error::Failed(format!("watch the routes: {e}")))?
            .map_err(|e| {
                Error::Failed(format!("watch the routes of namespace {:?}: {e}", up.name))
            })?;
            self.route_watches.insert(up.name.clone(), watch);
        }
        Ok(())
    }

    /// A default route of uplink namespace `up` changed.
    pub(super) async fn default_routes_changed(&mut self, up: &str) {
        if !self.uplinks.forwarding_known(up) {
            return;
        }
        let Some(ns) = self.namespaces.get(up) else {
            return;
        };
        if let Err(e) = self.follow_default_routes(&ns).await {
            tracing::warn!(uplink = up, "following the default routes: {}", e.message());
        }
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

    /// Forwarding and NAT for a new host end: [`Manager::enable_forwarding`]
    /// then [`Manager::add_nat`], the same steps, errors and fallbacks, but
    /// in one blocking-pool hand-off when both are the usual case (the
    /// default-route devices followed, the NAT table declared).
    pub(super) async fn forward_and_nat(
        &mut self,
        up: &Namespace,
        host_if: &str,
    ) -> Result<(), Error> {
        if !self.uplinks.forwarding_known(&up.name) || !self.uplinks.nat_declared(&up.name) {
            self.enable_forwarding(up, host_if).await?;
            return self.add_nat(up, host_if).await;
        }
        let file = self.netns_file_for_tools(up)?;
        let keys = forward_keys(host_if);
        let what = keys.join(", ");
        let name = host_if.to_owned();
        let done = tokio::task::spawn_blocking(move || {
            sysctl::set_many(file.as_ref(), &keys, "1")?;
            Ok::<_, std::io::Error>(firewall::add_host_if(file.as_ref(), &name))
        })
        .await
        .map_err(|e| Error::Failed(format!("sysctl {what}: {e}")))?
        .map_err(|e| Error::Failed(format!("sysctl {what}: {e}")))?;
        self.uplinks.nat_keep(&up.name, host_if);
        self.nat_added(up, host_if, done).await
    }

    /// Forwarding on for `host_if` (ours, gone with the uplink: no record).
    async fn forward(&mut self, up: &Namespace, host_if: &str) -> Result<(), Error> {
        let file = self.netns_file_for_tools(up)?;
        // Both in one hand-off to a blocking thread (and one thread inside
        // the namespace when it is not the daemon's).
        let keys = forward_keys(host_if);
        let what = keys.join(", ");
        tokio::task::spawn_blocking(move || sysctl::set_many(file.as_ref(), &keys, "1"))
            .await
            .map_err(|e| Error::Failed(format!("sysctl {what}: {e}")))?
            .map_err(|e| Error::Failed(format!("sysctl {what}: {e}")))?;
        Ok(())
    }

    /// Forwarding on for `out_devs`, their old values recorded.
    async fn forward_out(
        &mut self,
        up: &Namespace,
        out_devs: &BTreeSet<String>,
    ) -> Result<(), Error> {
        let file = self.netns_file_for_tools(up)?;
        for dev in out_devs {
            for key in [
                format!("net/ipv4/conf/{dev}/forwarding"),
                format!("net/ipv6/conf/{dev}/force_forwarding"),
            ] {
                let old = set_sysctl(&file, key.clone()).await?;
                if let Some(old) = old
                    && self.uplinks.must_remember(&up.name, &key, &old)
                {
                    self.record(Entry::SysctlSet {
                        ns: up.name.clone(),
                        key: key.clone(),
                        old: old.clone(),
                    })?;
                    self.uplinks.remember_sysctl(up.name.clone(), key, old);
                }
            }
        }
        Ok(())
    }

    /// Puts back the sysctls changed for uplinks through `up`, once none is left.
    pub(super) async fn restore_sysctls(&mut self, up: &str) {
        if self.uplinks.still_used(up) {
            return;
        }
        self.uplinks.forwarding_off(up);
        // Its bridge, if any, turns forwarding and NAT on again for the
        // next port.
        self.uplinks.bridge_unready(up, None);
        self.route_watches.remove(up);
        let file = match self.namespaces.get(up) {
            Some(n) => self.netns_file_for_tools(&n).ok().flatten(),
            None => return,
        };
        for (k, old) in self.uplinks.take_sysctls(up) {
            let f = file.as_ref().and_then(|f| f.try_clone().ok());
            let key = k.1.clone();
            let r = tokio::task::spawn_blocking(move || sysctl::set(f.as_ref(), &key, &old)).await;
            if !matches!(r, Ok(Ok(_))) {
                tracing::warn!(ns = up, key = %k.1, "could not restore a sysctl");
            }
            let _ = self.record(Entry::SysctlRestored { ns: k.0, key: k.1 });
        }
    }

    /// Runs an nft JSON batch in namespace `up`.
    pub(super) async fn nft(&self, up: &Namespace, batch: serde_json::Value) -> Result<(), Error> {
        let file = self.netns_file_for_tools(up)?;
        tokio::task::spawn_blocking(move || firewall::apply(&batch, file.as_ref()))
            .await
            .map_err(|e| Error::Failed(format!("nft: {e}")))?
    }

    /// (Re)declares the NAT table of uplink namespace `up` holding the live
    /// uplinks' host ends and `extra`.
    async fn declare_nat(&mut self, up: &Namespace, extra: Option<&str>) -> Result<(), Error> {
        let mut ifs = self.uplinks.live_host_ifs(&up.name);
        ifs.extend(extra.map(str::to_owned));
        ifs.sort();
        ifs.dedup();
        let mut batch = firewall::declare_batch(&ifs);
        if let Some(cmds) = batch["nftables"].as_array_mut() {
            cmds.extend(firewall::forward::commands(&self.dnats_via(&up.name)));
        }
        self.nft(up, batch).await?;
        // Whatever was queued for removal is not in the new table.
        self.uplinks.nat_declared_now(&up.name);
        Ok(())
    }

    /// NAT for a new host end: one set element, added in process once the
    /// table is there.
    pub(super) async fn add_nat(&mut self, up: &Namespace, host_if: &str) -> Result<(), Error> {
        self.uplinks.nat_keep(&up.name, host_if);
        if self.uplinks.nat_declared(&up.name) {
            let file = self.netns_file_for_tools(up)?;
            let name = host_if.to_owned();
            let added =
                tokio::task::spawn_blocking(move || firewall::add_host_if(file.as_ref(), &name))
                    .await
                    .map_err(|e| Error::Failed(format!("nftables: {e}")))?;
            return self.nat_added(up, host_if, added).await;
        }
        self.declare_nat(up, Some(host_if)).await
    }

    /// What adding `host_if` to the NAT set came to: the table declared
    /// again when it was gone.
    async fn nat_added(
        &mut self,
        up: &Namespace,
        host_if: &str,
        added: std::io::Result<()>,
    ) -> Result<(), Error> {
        match added {
            Ok(()) => Ok(()),
            // The table was removed behind our back: declare it again.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                tracing::warn!(uplink = %up.name, "table inet {} is gone: declaring it again", firewall::TABLE);
                self.declare_nat(up, Some(host_if)).await
            }
            Err(e) => Err(Error::Failed(format!(
                "adding {host_if} to set {} of table inet {}: {e}",
                firewall::SET,
                firewall::TABLE
            ))),
        }
    }

    /// Queues the removal of a host end's NAT element.
    pub(super) async fn queue_nat_removal(&mut self, up: &str, host_if: &str) {
        match self.uplinks.queue_nat_removal(up, host_if) {
            NatQueued::FlushNow => self.flush_nat(None).await,
            NatQueued::FlushLater(generation) => {
                self.later(NAT_FLUSH_AFTER, Later::FlushNat(generation))
            }
        }
    }

    /// Takes out the NAT elements queued for removal, in one transaction per
    /// uplink namespace, and the table of one with no uplink left. With a
    /// generation, only if no removal came since the timer was armed.
    pub(super) async fn flush_nat(&mut self, generation: Option<u64>) {
        for (up_name, names) in self.uplinks.take_nat_removals(generation) {
            // An uplink namespace that is gone took its table with it.
            let Some(up) = self.namespaces.get(&up_name) else {
                self.uplinks.nat_gone(&up_name);
                continue;
            };
            let live = self.uplinks.live_host_ifs(&up_name);
            // The bridges whose last bridged uplink went go too.
            let bridges_gone: Vec<String> = names
                .iter()
                .filter(|n| crate::uplink::is_bridge_name(n) && !live.contains(n))
                .cloned()
                .collect();
            let r = if live.is_empty() {
                self.uplinks.nat_gone(&up_name);
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
            for b in bridges_gone {
                self.drop_unused_bridge(&up, &b).await;
            }
        }
    }

    /// At start: the NAT table of every uplink namespace with live uplinks
    /// is declared afresh (what a crash left queued goes with it), its
    /// default routes are followed again, and a
    /// table left in the root namespace with none is removed.
    pub(super) async fn heal_nat(&mut self) {
        let ups = self.uplinks.uplink_namespaces();
        for name in &ups {
            let Some(up) = self.namespaces.get(name) else {
                continue;
            };
            if let Err(e) = self.declare_nat(&up, None).await {
                tracing::warn!(uplink = %name, "declaring NAT: {}", e.message());
            }
            // Their default routes are followed again, as by the first uplink.
            if let Err(e) = self.follow_default_routes(&up).await {
                tracing::warn!(uplink = %name, "following the default routes: {}", e.message());
            }
            self.heal_bridges(&up).await;
        }
        // Bridges of the bridge topology left in the root namespace with no
        // bridged uplink (a crash as its first port was made).
        if let Some(root) = self.namespaces.by_number(0)
            && !ups.contains(&root.name)
        {
            self.heal_bridges(&root).await;
        }
        if let Some(root) = self.namespaces.by_number(0)
            && !ups.contains(&root.name)
            && self
                .nft(&root, firewall::delete_table_batch())
                .await
                .is_ok()
        {
            tracing::info!("removed a NAT table left with no uplink");
        }
    }
}

/// Sets sysctl `key` to 1 in the namespace of `file` (the daemon's own when
/// None), off the manager's task; its old value, None if the key is missing.
async fn set_sysctl(file: &Option<std::fs::File>, key: String) -> Result<Option<String>, Error> {
    let f = file.as_ref().and_then(|f| f.try_clone().ok());
    let k = key.clone();
    tokio::task::spawn_blocking(move || sysctl::set(f.as_ref(), &k, "1"))
        .await
        .map_err(|e| Error::Failed(format!("sysctl {key}: {e}")))?
        .map_err(|e| Error::Failed(format!("sysctl {key}: {e}")))
}

/// The forwarding sysctls of a host end.
fn forward_keys(host_if: &str) -> Vec<String> {
    vec![
        format!("net/ipv4/conf/{host_if}/forwarding"),
        format!("net/ipv6/conf/{host_if}/force_forwarding"),
    ]
}
