//! Configuration inside a namespace: links, addresses, routes and rules.
//! The bus layer has already validated the arguments and resolved device
//! paths; this does the netlink work and publishes new devices at once, so a
//! reply can name them.

use std::collections::HashMap;
use std::os::fd::AsFd;

use netnsd_api::link::LinkOptions;
use netnsd_api::{Cidr, Error, Route, Rule};
use zbus::wire::{OwnedObjectPath, OwnedVariant};

use super::Manager;
use crate::netlink::{self as ops, LinkState, Platform};

/// A configuration step in one namespace. Devices are device numbers that
/// the bus layer checked are in the right namespace.
pub enum ConfigOp {
    AddVeth {
        name: String,
        peer: String,
        peer_ns: u32,
        opts: LinkOptions,
    },
    AddMacvlan {
        name: String,
        parent: u32,
        opts: LinkOptions,
    },
    AddBridge {
        name: String,
        opts: LinkOptions,
    },
    AddVlan {
        name: String,
        parent: u32,
        vlan_id: u16,
        opts: LinkOptions,
    },
    AddTunnel {
        name: String,
        kind: ops::TunnelKind,
        tunnel: ops::TunnelOptions,
        opts: LinkOptions,
    },
    DeleteDevice(u32),
    SetUp(u32, bool),
    /// The device, and its new master (a bridge here) or none.
    SetMaster(u32, Option<u32>),
    SetHwAddress(u32, [u8; 6]),
    SetMssClamp(u32, bool),
    SetMtu(u32, u32),
    Rename(u32, String),
    AddAddress(u32, Cidr),
    /// A point-to-point address: local address, and the peer with the prefix.
    AddPeerAddress(u32, std::net::IpAddr, Cidr),
    RemoveAddress(u32, Cidr),
    AddRoute(Route),
    /// The route, and the routing protocol it must have.
    RemoveRoute(Route, u8),
    ListRoutes,
    AddRule(Rule),
    /// The rule, and the routing protocol it must have.
    RemoveRule(Rule, u8),
    ListRules,
}

pub type Dicts = Vec<HashMap<String, OwnedVariant>>;

pub enum ConfigReply {
    Done,
    Device(OwnedObjectPath),
    Pair(OwnedObjectPath, OwnedObjectPath),
    List(Dicts),
}

impl Manager {
    pub(super) fn platform(&self, ns: u32) -> Result<Platform, Error> {
        self.platforms
            .get(&ns)
            .cloned()
            .ok_or_else(|| Error::Failed(format!("no netlink connection for namespace {ns}")))
    }

    fn ns_name(&self, ns: u32) -> String {
        self.namespaces
            .by_number(ns)
            .map(|n| n.name)
            .unwrap_or_default()
    }

    /// ifindex and name of a device.
    fn link_of(&self, device: u32) -> Result<(u32, String), Error> {
        self.devices
            .get(device)
            .map(|d| (d.link.ifindex, d.link.name))
            .ok_or_else(|| {
                Error::UnknownDevice(format!("no device {}", netnsd_api::device_path(device)))
            })
    }

    fn mac(&self, opts: &LinkOptions, ns: u32, name: &str) -> Option<[u8; 6]> {
        opts.stable_mac
            .then(|| ops::stable_mac(&self.ns_name(ns), name))
    }

    /// Looks the link up right away and publishes it, so that the reply can
    /// carry its object path; the netlink event that follows only updates it.
    async fn publish_link(&mut self, ns: u32, name: &str) -> Result<OwnedObjectPath, Error> {
        let p = self.platform(ns)?;
        let msg = ops::link_by_name(&p.handle, name).await?.ok_or_else(|| {
            Error::Failed(format!("device {name} vanished right after it was made"))
        })?;
        self.link_seen(ns, LinkState::from_message(&msg), true)
            .await;
        self.devices
            .named(ns, name)
            .map(|d| d.object_path())
            .ok_or_else(|| Error::Failed(format!("device {name} is not known after it was made")))
    }

    pub(super) async fn configure(&mut self, ns: u32, op: ConfigOp) -> Result<ConfigReply, Error> {
        let p = self.platform(ns)?;
        let h = &p.handle;
        let ctx = format!("in namespace {:?}", self.ns_name(ns));
        let r = async {
            Ok(match op {
                ConfigOp::AddVeth {
                    name,
                    peer,
                    peer_ns,
                    opts,
                } => {
                    let peer_file = {
                        let peer_ns = self
                            .namespaces
                            .by_number(peer_ns)
                            .ok_or_else(|| Error::NotFound(format!("no namespace {peer_ns}")))?;
                        self.ns_file(&peer_ns)?
                    };
                    let (mac, peer_mac) =
                        (self.mac(&opts, ns, &name), self.mac(&opts, peer_ns, &peer));
                    ops::add_veth(h, &name, &peer, peer_file.as_fd(), &opts, mac, peer_mac).await?;
                    let made = async {
                        if opts.peer_up {
                            let pp = self.platform(peer_ns)?;
                            let i = ops::ifindex_by_name(&pp.handle, &peer).await?.ok_or_else(
                                || {
                                    Error::Failed(format!(
                                        "device {peer} vanished right after it was made"
                                    ))
                                },
                            )?;
                            ops::set_up(&pp.handle, i, true).await?;
                        }
                        let a = self.publish_link(ns, &name).await?;
                        let b = self.publish_link(peer_ns, &peer).await?;
                        Ok::<_, Error>((a, b))
                    }
                    .await;
                    match made {
                        Ok((a, b)) => ConfigReply::Pair(a, b),
                        Err(e) => {
                            if let Ok(Some(i)) = ops::ifindex_by_name(h, &name).await {
                                let _ = ops::delete_link(h, i).await;
                            }
                            return Err(e);
                        }
                    }
                }
                ConfigOp::AddMacvlan { name, parent, opts } => {
                    let (pns, pidx) = self.device_home(parent)?;
                    let pp = self.platform(pns)?;
                    let target = if pns == ns {
                        None
                    } else {
                        Some(self.ns_file_of(ns)?)
                    };
                    let mac = self.mac(&opts, ns, &name);
                    ops::add_macvlan(
                        &pp.handle,
                        &name,
                        pidx,
                        target.as_ref().map(|f| f.as_fd()),
                        opts.macvlan_mode,
                        &opts,
                        mac,
                    )
                    .await?;
                    ConfigReply::Device(self.publish_link(ns, &name).await?)
                }
                ConfigOp::AddBridge { name, opts } => {
                    let mac = self.mac(&opts, ns, &name);
                    ops::add_bridge(h, &name, &opts, mac).await?;
                    ConfigReply::Device(self.publish_link(ns, &name).await?)
                }
                ConfigOp::AddVlan {
                    name,
                    parent,
                    vlan_id,
                    opts,
                } => {
                    let (pns, pidx) = self.device_home(parent)?;
                    let pp = self.platform(pns)?;
                    let target = if pns == ns {
                        None
                    } else {
                        Some(self.ns_file_of(ns)?)
                    };
                    let mac = self.mac(&opts, ns, &name);
                    ops::add_vlan(
                        &pp.handle,
                        &name,
                        pidx,
                        vlan_id,
                        target.as_ref().map(|f| f.as_fd()),
                        &opts,
                        mac,
                    )
                    .await?;
                    ConfigReply::Device(self.publish_link(ns, &name).await?)
                }
                ConfigOp::AddTunnel {
                    name,
                    kind,
                    tunnel,
                    opts,
                } => {
                    ops::add_tunnel(h, &name, kind, &tunnel, &opts).await?;
                    ConfigReply::Device(self.publish_link(ns, &name).await?)
                }
                ConfigOp::SetMaster(d, master) => {
                    let master = match master {
                        None => None,
                        Some(m) => {
                            let (mns, midx) = self.device_home(m)?;
                            if mns != ns {
                                return Err(Error::InvalidArgument(format!(
                                    "the master {} is in another namespace",
                                    netnsd_api::device_path(m)
                                )));
                            }
                            Some(midx)
                        }
                    };
                    ops::set_master(h, self.link_of(d)?.0, master).await?;
                    ConfigReply::Done
                }
                ConfigOp::SetHwAddress(d, mac) => {
                    ops::set_hw_address(h, self.link_of(d)?.0, mac).await?;
                    ConfigReply::Done
                }
                ConfigOp::SetMssClamp(d, on) => {
                    self.set_mss_clamp(ns, d, on).await?;
                    ConfigReply::Done
                }
                ConfigOp::DeleteDevice(d) => {
                    let (idx, _) = self.link_of(d)?;
                    ops::delete_link(h, idx).await?;
                    ConfigReply::Done
                }
                ConfigOp::SetUp(d, up) => {
                    ops::set_up(h, self.link_of(d)?.0, up).await?;
                    ConfigReply::Done
                }
                ConfigOp::SetMtu(d, mtu) => {
                    ops::set_mtu(h, self.link_of(d)?.0, mtu).await?;
                    ConfigReply::Done
                }
                ConfigOp::Rename(d, name) => {
                    ops::rename(h, self.link_of(d)?.0, &name).await?;
                    ConfigReply::Done
                }
                ConfigOp::AddAddress(d, c) => {
                    ops::add_address(h, self.link_of(d)?.0, &c).await?;
                    ConfigReply::Done
                }
                ConfigOp::AddPeerAddress(d, local, peer) => {
                    ops::add_peer_address(h, self.link_of(d)?.0, local, &peer).await?;
                    ConfigReply::Done
                }
                ConfigOp::RemoveAddress(d, c) => {
                    ops::del_address(h, self.link_of(d)?.0, &c).await?;
                    ConfigReply::Done
                }
                ConfigOp::AddRoute(r) => {
                    ops::add_route(h, &r).await?;
                    ConfigReply::Done
                }
                ConfigOp::RemoveRoute(r, protocol) => {
                    ops::del_route(h, &r, protocol).await?;
                    ConfigReply::Done
                }
                ConfigOp::ListRoutes => {
                    let routes = ops::list_routes(h).await?;
                    let path_of = |ifindex: u32| {
                        let num = self.devices.at(ns, ifindex)?;
                        self.devices.get(num).map(|d| d.object_path())
                    };
                    ConfigReply::List(
                        routes
                            .iter()
                            .map(|m| ops::route_to_dict(m, &path_of))
                            .collect(),
                    )
                }
                ConfigOp::AddRule(r) => {
                    ops::add_rule(h, &r).await?;
                    ConfigReply::Done
                }
                ConfigOp::RemoveRule(r, protocol) => {
                    ops::del_rule(h, &r, protocol).await?;
                    ConfigReply::Done
                }
                ConfigOp::ListRules => {
                    let rules = ops::list_rules(h).await?;
                    ConfigReply::List(rules.iter().map(ops::rule_to_dict).collect())
                }
            })
        }
        .await;
        r.map_err(|e| ops::with_context(e, &ctx))
    }

    /// Namespace number and ifindex of a device.
    fn device_home(&self, device: u32) -> Result<(u32, u32), Error> {
        self.devices
            .get(device)
            .filter(|d| !d.in_transit)
            .map(|d| (d.ns, d.link.ifindex))
            .ok_or_else(|| {
                Error::UnknownDevice(format!("no device {}", netnsd_api::device_path(device)))
            })
    }

    fn ns_file_of(&self, ns: u32) -> Result<std::fs::File, Error> {
        let n = self
            .namespaces
            .by_number(ns)
            .ok_or_else(|| Error::NotFound(format!("no namespace {ns}")))?;
        self.ns_file(&n)
    }
}
