//! Port forwards from the uplink namespace (normally the host) into a
//! namespace with a veth uplink: DNAT to its uplink address, IPv4 and (when
//! the uplink has it) IPv6, in the uplink namespace's table `inet netnsd`
//! (`firewall/forward.rs`). Recorded before they are applied; gone with the
//! uplink or the namespace.

use std::collections::BTreeMap;
use std::net::IpAddr;

use netnsd_api::Error;
use netnsd_api::forward::{Forward, ForwardEntry};

use super::{Manager, Namespace};
use crate::firewall::forward::{self as fw, Dnat};
use crate::record::{Entry, UplinkRecord};

pub enum ForwardOp {
    Add(Forward),
    Remove(u32),
    List,
}

pub enum ForwardReply {
    Added(u32),
    Done,
    List(Vec<ForwardEntry>),
}

impl Manager {
    pub(super) async fn forward_op(
        &mut self,
        ns: u32,
        op: ForwardOp,
    ) -> Result<ForwardReply, Error> {
        match op {
            ForwardOp::Add(f) => self.add_forward(ns, f).await.map(ForwardReply::Added),
            ForwardOp::Remove(id) => self
                .remove_forward(ns, id)
                .await
                .map(|()| ForwardReply::Done),
            ForwardOp::List => Ok(ForwardReply::List(self.list_forwards(ns))),
        }
    }

    /// The uplink namespace and the targets (IPv4, IPv6) of namespace
    /// `ns`'s veth uplink.
    fn forward_target(&self, ns: &Namespace) -> Result<(String, IpAddr, Option<IpAddr>), Error> {
        match self.uplinks.get(ns.number) {
            Some(UplinkRecord::Veth {
                uplink_ns,
                slot,
                ipv6,
                bridge,
                ..
            }) => {
                let s = self.uplinks.slot_of(slot, &bridge);
                let v6 = if ipv6 { s.ns_v6.map(|c| c.addr) } else { None };
                Ok((uplink_ns, s.ns_v4.addr, v6))
            }
            Some(UplinkRecord::Macvlan { .. }) => Err(Error::NotSupported(format!(
                "namespace {:?} has a macvlan uplink, reachable directly: forwards are for veth uplinks",
                ns.name
            ))),
            None => Err(Error::NotFound(format!(
                "namespace {:?} has no uplink to forward to; give it a veth uplink first",
                ns.name
            ))),
        }
    }

    fn dnats(&self, ns: &Namespace, f: &Forward) -> Vec<Dnat> {
        let Ok((_, v4, v6)) = self.forward_target(ns) else {
            return Vec::new();
        };
        [Some(v4), v6]
            .into_iter()
            .flatten()
            .filter(|to| f.host_address.is_none_or(|a| a.is_ipv4() == to.is_ipv4()))
            .map(|to| Dnat {
                proto: f.proto,
                host_port: f.host_port,
                host_address: f.host_address,
                to,
                port: f.port,
            })
            .collect()
    }

    /// The DNATs of every forward through uplink namespace `up`.
    pub(super) fn dnats_via(&self, up: &str) -> Vec<Dnat> {
        let mut out = Vec::new();
        for (n, _, f) in self.forwards.all() {
            let Some(ns) = self.namespaces.by_number(n) else {
                continue;
            };
            if self.forward_target(&ns).is_ok_and(|(u, ..)| u == up) {
                out.extend(self.dnats(&ns, f));
            }
        }
        out
    }

    /// Rewrites the forward chains of uplink namespace `up`.
    async fn apply_forwards(&mut self, up: &str) -> Result<(), Error> {
        let Some(upns) = self.namespaces.get(up) else {
            return Ok(());
        };
        let batch = fw::refresh_batch(&self.dnats_via(up));
        self.nft(&upns, batch).await
    }

    pub(super) async fn add_forward(&mut self, ns: u32, f: Forward) -> Result<u32, Error> {
        let target = self.namespace(ns)?;
        let (up, _, v6) = self.forward_target(&target)?;
        if f.host_address.is_some_and(|a| a.is_ipv6()) && v6.is_none() {
            return Err(Error::NotSupported(format!(
                "namespace {:?}'s uplink has no IPv6: host-address {} cannot be forwarded",
                target.name,
                f.host_address.unwrap_or(IpAddr::from([0u8; 16]))
            )));
        }
        for (n, id, other) in self.forwards.all() {
            let Some(o) = self.namespaces.by_number(n) else {
                continue;
            };
            if other.clashes(&f) && self.forward_target(&o).is_ok_and(|(u, ..)| u == up) {
                return Err(Error::AlreadyExists(format!(
                    "{} port {} of {up:?} is already forwarded to namespace {:?} (forward {id})",
                    f.proto, f.host_port, o.name
                )));
            }
        }
        let id = self.forwards.next_id();
        self.record(Entry::ForwardAdded {
            name: target.name.clone(),
            id,
            forward: f.clone(),
        })?;
        self.forwards.add(ns, id, f);
        if let Err(e) = self.apply_forwards(&up).await {
            self.forwards.remove(ns, id);
            let _ = self.record(Entry::ForwardRemoved {
                name: target.name.clone(),
                id,
            });
            // Put back the rules of the others.
            let _ = self.apply_forwards(&up).await;
            return Err(e);
        }
        tracing::info!(name = %target.name, id, uplink = %up, "forward added");
        Ok(id)
    }

    async fn remove_forward(&mut self, ns: u32, id: u32) -> Result<(), Error> {
        let target = self.namespace(ns)?;
        let Some(f) = self.forwards.remove(ns, id) else {
            return Err(Error::NotFound(format!(
                "namespace {:?} has no forward {id}",
                target.name
            )));
        };
        let up = self.forward_target(&target).map(|(u, ..)| u);
        let applied = match &up {
            Ok(u) => self.apply_forwards(u).await,
            Err(_) => Ok(()),
        };
        if let Err(e) = applied {
            self.forwards.add(ns, id, f);
            return Err(e);
        }
        self.record(Entry::ForwardRemoved {
            name: target.name.clone(),
            id,
        })?;
        tracing::info!(name = %target.name, id, "forward removed");
        Ok(())
    }

    fn list_forwards(&self, ns: u32) -> Vec<ForwardEntry> {
        let Some(target) = self.namespaces.by_number(ns) else {
            return Vec::new();
        };
        let (v4, v6) = match self.forward_target(&target) {
            Ok((_, v4, v6)) => (Some(v4), v6),
            Err(_) => (None, None),
        };
        self.forwards
            .of(ns)
            .into_iter()
            .map(|(id, f)| ForwardEntry {
                id,
                address: v4.map(|a| a.to_string()),
                address6: v6
                    .filter(|_| f.host_address.is_none_or(|a| a.is_ipv6()))
                    .map(|a| a.to_string()),
                forward: f,
            })
            .map(|mut e| {
                if e.forward.host_address.is_some_and(|a| a.is_ipv6()) {
                    e.address = None;
                }
                e
            })
            .collect()
    }

    /// Drops namespace `target`'s forwards, before its veth uplink through
    /// `up` goes: its DNATs leave the chains at once (best effort; the
    /// table is re-declared without them at the next start otherwise).
    pub(super) async fn drop_forwards(&mut self, target: &Namespace, up: &str) {
        let gone: BTreeMap<u32, Forward> = self.forwards.take(target.number);
        if gone.is_empty() {
            return;
        }
        let _ = self.record(Entry::ForwardsCleared {
            name: target.name.clone(),
        });
        if let Err(e) = self.apply_forwards(up).await {
            tracing::warn!(name = %target.name, "removing its forwards: {}", e.message());
        }
    }

    /// At start: the forwards recorded for namespaces still here with a
    /// veth uplink are taken in (the table is declared with them); the
    /// journal entries to keep are returned.
    pub(super) fn forwards_found(
        &mut self,
        recorded: &BTreeMap<String, BTreeMap<u32, Forward>>,
    ) -> Vec<Entry> {
        let mut keep = Vec::new();
        for (name, fwds) in recorded {
            let Some(ns) = self.namespaces.get(name) else {
                continue;
            };
            if !matches!(self.uplinks.get(ns.number), Some(UplinkRecord::Veth { .. })) {
                continue;
            }
            for (id, f) in fwds {
                keep.push(Entry::ForwardAdded {
                    name: name.clone(),
                    id: *id,
                    forward: f.clone(),
                });
                self.forwards.found(ns.number, *id, f.clone());
            }
        }
        keep
    }
}
