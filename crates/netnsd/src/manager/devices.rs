//! Devices: each namespace's netlink events fed to the devices part (which
//! keeps one Device per device, across moves), the changes published, and
//! the work that follows — answering TakeDevice, moving a device back after
//! a TakeDevice that ran out of time, the timers of moves.

use std::fs::File;
use std::os::fd::AsFd;
use std::time::Duration;

use netlink_packet_route::RouteNetlinkMessage;
use netnsd_api::{Error, namespace_path};
use tokio::sync::oneshot;

use super::state::{Gone, Seen, Waiter};
use super::{Later, Manager, Namespace};
use crate::netlink::{self, LinkState, Platform, address_of};

/// How long a device seen leaving a namespace is kept for its arrival in
/// another one; after that it is dropped (it went somewhere we do not see).
const MOVE_GRACE: Duration = Duration::from_secs(2);
/// How long an appearing device waits for the departure it may belong to.
const ARRIVAL_GRACE: Duration = Duration::from_millis(100);

impl Manager {
    /// Publishes every link and address of a namespace (after a fresh open).
    pub(super) async fn sync_devices(&mut self, ns: u32, p: &Platform) {
        match p.dump_links().await {
            Ok(links) => {
                for m in links {
                    self.link_seen(ns, LinkState::from_message(&m), true).await;
                }
            }
            Err(e) => tracing::warn!(ns, "dump links: {e}"),
        }
        match p.dump_addresses().await {
            Ok(addrs) => {
                for m in addrs {
                    if let Some((ifindex, a)) = address_of(&m) {
                        self.address_seen(ns, ifindex, a, true).await;
                    }
                }
            }
            Err(e) => tracing::warn!(ns, "dump addresses: {e}"),
        }
    }

    /// Publishes the links and addresses `seen` of namespace `ns`, as
    /// [`Manager::sync_devices`] would from its own dumps.
    pub(super) async fn devices_read(&mut self, ns: u32, seen: netlink::Devices) {
        let (links, addrs) = seen;
        for m in links {
            self.link_seen(ns, LinkState::from_message(&m), true).await;
        }
        for m in addrs {
            if let Some((ifindex, a)) = address_of(&m) {
                self.address_seen(ns, ifindex, a, true).await;
            }
        }
    }

    /// Reads every followed namespace's links and addresses again, after
    /// the events socket overflowed: what appeared is published, what went
    /// (links, addresses) is taken out — as if no event had been lost.
    pub(super) async fn resync_all(&mut self) {
        let numbers: Vec<u32> = self.platforms.keys().copied().collect();
        tracing::info!(
            namespaces = numbers.len(),
            "reading every namespace's links and addresses again"
        );
        for ns in numbers {
            let Ok(p) = self.platform(ns) else { continue };
            let links = match p.dump_links().await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(ns, "dump links: {e}");
                    continue;
                }
            };
            let addrs = match p.dump_addresses().await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(ns, "dump addresses: {e}");
                    continue;
                }
            };
            let mut present = std::collections::BTreeSet::new();
            for m in links {
                let link = LinkState::from_message(&m);
                present.insert(link.ifindex);
                self.link_seen(ns, link, true).await;
            }
            for d in self.devices.in_ns(ns) {
                if !present.contains(&d.link.ifindex) {
                    self.host_end_gone(ns, &d.link.name);
                    self.link_gone(ns, d.link.clone()).await;
                }
            }
            let mut found: std::collections::BTreeMap<u32, std::collections::BTreeSet<String>> =
                Default::default();
            for m in addrs {
                if let Some((ifindex, a)) = address_of(&m) {
                    found.entry(ifindex).or_default().insert(a);
                }
            }
            for d in self.devices.in_ns(ns) {
                let now = found.remove(&d.link.ifindex).unwrap_or_default();
                for a in d.addresses.difference(&now) {
                    self.address_seen(ns, d.link.ifindex, a.clone(), false)
                        .await;
                }
                for a in now.difference(&d.addresses) {
                    self.address_seen(ns, d.link.ifindex, a.clone(), true).await;
                }
            }
        }
    }

    pub(super) async fn on_netlink(&mut self, ns: u32, msg: RouteNetlinkMessage) {
        if !self.platforms.contains_key(&ns) {
            return;
        }
        match msg {
            RouteNetlinkMessage::NewLink(m) => {
                self.link_seen(ns, LinkState::from_message(&m), false).await
            }
            RouteNetlinkMessage::DelLink(m) => {
                let link = LinkState::from_message(&m);
                if link.moved_to_ifindex.is_none() {
                    self.host_end_gone(ns, &link.name);
                }
                self.link_gone(ns, link).await
            }
            RouteNetlinkMessage::NewAddress(m) => {
                if let Some((ifindex, a)) = address_of(&m) {
                    self.address_seen(ns, ifindex, a, true).await;
                }
            }
            RouteNetlinkMessage::DelAddress(m) => {
                if let Some((ifindex, a)) = address_of(&m) {
                    self.address_seen(ns, ifindex, a, false).await;
                }
            }
            _ => {}
        }
    }

    /// A link exists in `ns`. `settled` is false for a live event, which
    /// may be the arrival half of a move whose departure is not seen yet.
    pub(super) async fn link_seen(&mut self, ns: u32, link: LinkState, settled: bool) {
        if !self.platforms.contains_key(&ns) {
            return;
        }
        let Seen {
            changes,
            arrived,
            retry,
        } = self.devices.link_seen(ns, link, settled);
        if let Some(link) = retry {
            self.later(ARRIVAL_GRACE, Later::Link(ns, link));
        }
        self.publish(changes).await;
        for w in arrived {
            match w.undo_to {
                None => {
                    tracing::debug!(device = w.device, ns, name = %w.name, "device arrived");
                    let _ = w.tx.send(());
                }
                Some(back_to) => self.move_back(w.device, back_to, w.tx).await,
            }
        }
    }

    /// A link whose arrival waited [`ARRIVAL_GRACE`] for a departure: seen
    /// now only if it is still there. A link made and moved away (or
    /// deleted) within the grace (a VPN plugin's TUN device, taken into
    /// its namespace at once) left no departure to match, and would stay
    /// on the bus as a device `ip link` does not show.
    pub(super) async fn link_retry(&mut self, ns: u32, link: LinkState) {
        let still = match self.platform(ns) {
            Ok(p) => crate::netlink::link_name(&p.handle, link.ifindex)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        if still.as_deref() == Some(link.name.as_str()) {
            self.link_seen(ns, link, true).await;
        } else {
            tracing::debug!(ns, name = %link.name, "a link left during its arrival grace");
        }
    }

    async fn link_gone(&mut self, ns: u32, link: LinkState) {
        let name = link.name.clone();
        match self.devices.link_gone(ns, link) {
            Gone::Unknown => {}
            Gone::Departed {
                changes,
                device,
                seq,
            } => {
                self.publish(changes).await;
                self.later(MOVE_GRACE, Later::ExpireMove(device, seq));
                self.mss_device_gone(ns, &name).await;
            }
            Gone::Deleted { changes } => {
                self.publish(changes).await;
                self.link_deleted(ns, &name).await;
                self.mss_device_gone(ns, &name).await;
            }
        }
    }

    pub(super) async fn expire_move(&mut self, number: u32, seq: u64) {
        let changes = self.devices.expire_move(number, seq);
        self.publish(changes).await;
    }

    async fn address_seen(&mut self, ns: u32, ifindex: u32, address: String, present: bool) {
        let changes = self.devices.address_seen(ns, ifindex, address, present);
        self.publish(changes).await;
    }

    /// A file open on namespace `ns`, to hand to the kernel for a move.
    pub(super) fn ns_file(&self, ns: &Namespace) -> Result<File, Error> {
        let opened = if ns.number == 0 {
            self.root_ns.try_clone()
        } else {
            File::open(self.run_dir.path_of(&ns.name))
        };
        opened.map_err(|e| Error::Failed(format!("open namespace {:?}: {e}", ns.name)))
    }

    pub(super) async fn take_device(
        &mut self,
        device: u32,
        target: u32,
    ) -> Result<oneshot::Receiver<()>, Error> {
        let dev = self.devices.get(device).ok_or_else(|| {
            Error::UnknownDevice(format!("no device {}", netnsd_api::device_path(device)))
        })?;
        let target_ns = self.namespaces.by_number(target).ok_or_else(|| {
            Error::TargetNetnsNotFound(format!("no namespace {}", namespace_path(target)))
        })?;
        self.devices.check_take(&dev, &target_ns)?;
        let file = self.ns_file(&target_ns)?;
        let platform = self.platforms.get(&dev.ns).cloned().ok_or_else(|| {
            Error::Failed(format!(
                "no netlink connection for the namespace of {}",
                dev.link.name
            ))
        })?;
        let (tx, rx) = oneshot::channel();
        self.devices.expect(Waiter {
            device,
            target,
            name: dev.link.name.clone(),
            tx,
            undo_to: None,
        });
        let moved = netlink::set_netns(&platform.handle, dev.link.ifindex, file.as_fd()).await;
        if let Err(e) = moved {
            self.devices.cancel(device, target);
            let ctx = format!("take {} into {:?}", dev.link.name, target_ns.name);
            return Err(netlink::with_context(e, &ctx));
        }
        tracing::info!(device = %dev.link.name, to = %target_ns.name, "moved device");
        Ok(rx)
    }

    /// A TakeDevice ran out of time: the device goes back to `back_to`, now
    /// if it has arrived, or as soon as it does; `reply` fires once it is
    /// seen back.
    pub(super) async fn undo_take(
        &mut self,
        device: u32,
        back_to: u32,
        reply: oneshot::Sender<()>,
    ) {
        if let Some(reply) = self.devices.undo(device, back_to, reply) {
            self.move_back(device, back_to, reply).await;
        }
    }

    async fn move_back(&mut self, device: u32, back_to: u32, reply: oneshot::Sender<()>) {
        let (Some(dev), Some(ns)) = (self.devices.get(device), self.namespaces.by_number(back_to))
        else {
            return;
        };
        if dev.ns == back_to && !dev.in_transit {
            let _ = reply.send(());
            return;
        }
        let (Ok(file), Some(p)) = (self.ns_file(&ns), self.platforms.get(&dev.ns).cloned()) else {
            return;
        };
        match netlink::set_netns(&p.handle, dev.link.ifindex, file.as_fd()).await {
            Ok(()) => {
                tracing::info!(device = %dev.link.name, to = %ns.name, "moving device back after a timeout");
                self.devices.expect(Waiter {
                    device,
                    target: back_to,
                    name: dev.link.name,
                    tx: reply,
                    undo_to: None,
                });
            }
            Err(e) => {
                tracing::warn!(device = %dev.link.name, "moving back after a timeout: {}", e.message())
            }
        }
    }
}
