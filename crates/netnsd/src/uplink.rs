//! Address pools for veth uplinks: each uplink takes a slot. In the routed
//! topology (`--uplink-topology routed`), a slot is a /30 of the IPv4 pool
//! and a /64 of the IPv6 pool, both on the host end; in the bridge topology
//! (the default) the host ends are ports of a bridge
//! ([`bridge_name`], up to [`SLOTS_PER_BRIDGE`] each) that holds the
//! gateway's addresses for all of them, and a slot is the namespace's own
//! address in the bridge's subnet (see [`configure_bridge_port`]).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::future::BoxFuture;
use netnsd_api::route::TABLE_MAIN;
use netnsd_api::{Cidr, Error, Family, Route};

use crate::netlink::{self as ops, NetlinkHandle};

/// Default pools; both can be changed with daemon options.
pub const DEFAULT_POOL_V4: &str = "10.231.0.0/16";
pub const DEFAULT_POOL_V6: &str = "fd6e:6574:6e73::/48";

/// How many slots one bridge of the bridge topology holds: a Linux bridge
/// takes at most 1023 ports (EXFULL), so the slots are split in blocks of
/// this many, bridge k (`nsbrK`, [`bridge_name`]) holding block k with a
/// subnet of its own (a /21 of the IPv4 pool, its k-th /64 of the IPv6 one).
pub const SLOTS_PER_BRIDGE: u32 = 512;

/// The name of bridge `k` of the bridge topology, in the uplink namespace.
pub fn bridge_name(k: u32) -> String {
    format!("nsbr{k}")
}

/// The bridge that holds slot `i`'s host end.
pub fn bridge_of(i: u32) -> u32 {
    i / SLOTS_PER_BRIDGE
}

/// Whether `name` is a bridge of the bridge topology (`nsbrK`).
pub fn is_bridge_name(name: &str) -> bool {
    name.strip_prefix("nsbr")
        .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

/// The bridge's link-local address: the namespaces' IPv6 gateway.
pub const BRIDGE_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

/// How veth uplinks reach their uplink namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Topology {
    /// Each host end a router port of its own: a /30 and a /64 each, and
    /// routes for them in the uplink namespace.
    Routed,
    /// The host ends ports of a bridge ([`bridge_name`]), isolated from each
    /// other, holding the gateway's addresses for all: a namespace adds no
    /// route to the uplink namespace, whose tables the kernel walks on every
    /// link change there. The default.
    #[default]
    Bridge,
}

impl std::str::FromStr for Topology {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "routed" => Ok(Topology::Routed),
            "bridge" => Ok(Topology::Bridge),
            _ => Err(format!("{s:?} is not an uplink topology (routed, bridge)")),
        }
    }
}

/// The MAC address of uplink0 of bridged slot `i`: locally administered,
/// unicast, from the slot, so that the uplink namespace knows it before the
/// link exists (its static FDB entry and neighbour entries).
pub fn port_mac(i: u32) -> [u8; 6] {
    let [_, a, b, c] = i.to_be_bytes();
    [0x0a, 0x6e, 0x73, a, b, c]
}

/// The link-local address of the veth host end of slot `i` (with IPv6):
/// fe80::6e73:7500:0:0 ("nsu") plus i + 1, added nodad with no fe80::/64
/// route. A router needs one to resolve its neighbours for the packets it
/// forwards (the kernel sends no neighbour solicitation from a link
/// without one); the generated one is off (addrgenmode none), as its routes
/// would grow the uplink namespace's table by two per host end, one of them
/// fe80::/64, which all host ends share: the kernel goes through every
/// route of a shared prefix to add one more. So each host end has its own
/// address (its local route a prefix of its own) rather than one for all.
pub fn host_link_local(i: u32) -> Ipv6Addr {
    let id = u64::from(i) + 1;
    Ipv6Addr::from((0xfe80u128 << 112) | (0x6e73_7500u128 << 32) | u128::from(id))
}

/// The default route of a veth uplink's namespace: via `gateway` (the host
/// end's address) on `oif` (uplink0), in the main table.
pub fn default_route(family: Family, gateway: IpAddr, oif: u32) -> Route {
    Route {
        destination: None,
        family,
        gateway: Some(gateway),
        oif: Some(oif),
        table: TABLE_MAIN,
        metric: None,
        scope: None,
    }
}

/// Configures both ends of a new veth uplink of `slot` (IPv6 if the slot
/// has IPv6 addresses): the peer `nidx` (uplink0, over the namespace's
/// handle `np`) up first, so that the host end `hidx` (over `hp`) is never
/// up without a carrier (a link change that walks the uplink namespace's
/// whole IPv6 table); then, at once, the host end — addrgenmode none (no
/// generated link-local, see [`host_link_local`]), up, its IPv4 address,
/// with IPv6 its own link-local and its IPv6 address — and the namespace's
/// addresses and default routes. Each side's requests go out back to back
/// ([`ops::in_order`]: a route after its gateway's address), the two
/// namespaces' side by side. The first error, if any; the caller removes
/// the link on failure (what was added goes with it). docs/benchmarks.md
/// ("Growth with the population") has the figures behind this order: a
/// generated link-local would add two routes per host end to the uplink
/// namespace — fe80::/64 and a local one, in a table the kernel walks
/// whole on every link change there — and DAD work per create.
pub async fn configure_veth(
    hp: &NetlinkHandle,
    np: &NetlinkHandle,
    hidx: u32,
    nidx: u32,
    slot: &Slot,
) -> Result<(), Error> {
    ops::set_up(np, nidx, true).await?;
    let v4_route = default_route(Family::V4, slot.host_v4.addr, nidx);
    let v6 = slot.host_v6.zip(slot.ns_v6);
    let v6_route = v6.map(|(h6, _)| default_route(Family::V6, h6.addr, nidx));
    let mut host: Vec<BoxFuture<'_, Result<(), Error>>> = vec![
        Box::pin(ops::set_no_link_local(hp, hidx)),
        Box::pin(ops::set_up(hp, hidx, true)),
        Box::pin(ops::add_address_with(hp, hidx, &slot.host_v4, true)),
    ];
    let mut ns: Vec<BoxFuture<'_, Result<(), Error>>> = vec![
        Box::pin(ops::add_address_with(np, nidx, &slot.ns_v4, true)),
        Box::pin(ops::add_route(np, &v4_route)),
    ];
    if let (Some((h6, n6)), Some(r6)) = (&v6, &v6_route) {
        host.push(Box::pin(ops::add_link_local(
            hp,
            hidx,
            host_link_local(slot.index),
        )));
        host.push(Box::pin(ops::add_address_with(hp, hidx, h6, true)));
        ns.push(Box::pin(ops::add_address_with(np, nidx, n6, true)));
        ns.push(Box::pin(ops::add_route(np, r6)));
    }
    let (host, ns) = futures::join!(ops::in_order(host), ops::in_order(ns));
    host.and(ns)
}

/// Configures both ends of a new bridged veth uplink of `slot` (IPv6 if the
/// slot has IPv6 addresses); the host end `hidx` is already a port of the
/// bridge `bidx` with IPv6 off (no route, no multicast route, no table
/// walk for it in the uplink namespace). The peer `nidx` (uplink0) comes up
/// first; then, over `hp`, the port is isolated from the bridge's other
/// ports (namespaces reach each other only through the uplink namespace's
/// routing) and learns no address: uplink0's MAC is a static FDB entry of
/// the port and permanent neighbour entries of the bridge for the
/// namespace's addresses, so no namespace can take another's MAC or
/// address; the port comes up. Over `np`: the namespace's addresses (IPv4
/// in the pool's subnet, whose other members the uplink namespace answers
/// for, proxy_arp_pvlan; IPv6 a /128) and its default routes, via the
/// gateway's IPv4 address and the bridge's link-local address. Each side's
/// requests go out back to back, the two namespaces' side by side.
pub async fn configure_bridge_port(
    hp: &NetlinkHandle,
    np: &NetlinkHandle,
    (hidx, nidx, bidx): (u32, u32, u32),
    slot: &Slot,
) -> Result<(), Error> {
    ops::set_up(np, nidx, true).await?;
    let mac = port_mac(slot.index);
    let v4_route = default_route(Family::V4, slot.host_v4.addr, nidx);
    let v6_route = slot
        .ns_v6
        .map(|_| default_route(Family::V6, IpAddr::V6(BRIDGE_LINK_LOCAL), nidx));
    let mut host: Vec<BoxFuture<'_, Result<(), Error>>> = vec![
        Box::pin(ops::set_bridge_port(hp, hidx, true, false)),
        Box::pin(ops::add_fdb_static(hp, hidx, mac)),
        Box::pin(ops::set_permanent_neighbour(hp, bidx, slot.ns_v4.addr, mac)),
    ];
    let mut ns: Vec<BoxFuture<'_, Result<(), Error>>> = vec![
        Box::pin(ops::add_address_with(np, nidx, &slot.ns_v4, true)),
        Box::pin(ops::add_route(np, &v4_route)),
    ];
    if let (Some(n6), Some(r6)) = (&slot.ns_v6, &v6_route) {
        host.push(Box::pin(ops::set_permanent_neighbour(
            hp, bidx, n6.addr, mac,
        )));
        ns.push(Box::pin(ops::add_address_with(np, nidx, n6, true)));
        ns.push(Box::pin(ops::add_route(np, r6)));
    }
    host.push(Box::pin(ops::set_up(hp, hidx, true)));
    let (host, ns) = futures::join!(ops::in_order(host), ops::in_order(ns));
    host.and(ns)
}

/// The addresses of a new bridge `idx` of the bridge topology, over `h`:
/// no generated IPv6 link-local; the gateway's IPv4 address `v4` and, with
/// IPv6, [`BRIDGE_LINK_LOCAL`] and `v6` (both nodad). Bring it up after
/// [`bridge_sysctls`].
pub async fn configure_bridge(
    h: &NetlinkHandle,
    idx: u32,
    (v4, v6): (Cidr, Option<Cidr>),
) -> Result<(), Error> {
    ops::set_no_link_local(h, idx).await?;
    ops::add_address_with(h, idx, &v4, true).await?;
    if let Some(v6) = v6 {
        ops::add_link_local(h, idx, BRIDGE_LINK_LOCAL).await?;
        ops::add_address_with(h, idx, &v6, true).await?;
    }
    Ok(())
}

/// The sysctls (key under /proc/sys, value) a new bridge `name` of the
/// bridge topology needs: it answers a namespace's ARP for another's
/// address (which its isolated ports would not carry, so namespaces reach
/// each other through the uplink namespace's routing, as routed host ends
/// do), at once rather than after the up to 0.8 s proxy delay.
pub fn bridge_sysctls(name: &str) -> [(String, &'static str); 2] {
    [
        (format!("net/ipv4/conf/{name}/proxy_arp_pvlan"), "1"),
        (format!("net/ipv4/neigh/{name}/proxy_delay"), "0"),
    ]
}

#[derive(Debug, Clone)]
pub struct Pool {
    v4: Ipv4Addr,
    v4_prefix: u8,
    v6: Option<Ipv6Addr>,
    v6_prefix: Option<u8>,
    used: BTreeSet<u32>,
    /// Every slot from here on is free: the lowest free one is the first
    /// of `gaps`, or this. Allocation is O(log n), not a scan of the slots
    /// taken (3000 lookups per uplink with 3000 alive).
    end: u32,
    /// The free slots below `end`.
    gaps: BTreeSet<u32>,
    topology: Topology,
}

/// The addresses of one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub index: u32,
    pub host_v4: Cidr,
    pub ns_v4: Cidr,
    pub host_v6: Option<Cidr>,
    pub ns_v6: Option<Cidr>,
}

impl Pool {
    /// `v4` must be /8 to /30 and `v6` /16 to /64 (or absent: no IPv6).
    pub fn new(v4: &Cidr, v6: Option<&Cidr>) -> Result<Pool, String> {
        let v6_pool = v6;
        let IpAddr::V4(a) = v4.network().addr else {
            return Err(format!("IPv4 pool {v4} is not IPv4"));
        };
        if !(8..=30).contains(&v4.prefix) {
            return Err(format!("IPv4 pool {v4} must be between /8 and /30"));
        }
        let v6 = match v6 {
            None => None,
            Some(c) => match c.network().addr {
                IpAddr::V6(a) if (16..=64).contains(&c.prefix) => Some(a),
                _ => return Err(format!("IPv6 pool {c} must be IPv6, between /16 and /64")),
            },
        };
        Ok(Pool {
            v4: a,
            v4_prefix: v4.prefix,
            v6,
            v6_prefix: v6.and(v6_pool.map(|c| c.prefix)),
            used: BTreeSet::new(),
            end: 0,
            gaps: BTreeSet::new(),
            topology: Topology::default(),
        })
    }

    /// The pool with new uplinks made in topology `t`.
    pub fn with_topology(mut self, t: Topology) -> Pool {
        self.topology = t;
        self
    }

    /// The topology new uplinks are made in.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// The prefix of a bridge's IPv4 subnet: a block of
    /// [`SLOTS_PER_BRIDGE`] /30s, or the whole pool if it is smaller.
    fn bridge_prefix(&self) -> u8 {
        let block = 32 - (4 * SLOTS_PER_BRIDGE).trailing_zeros() as u8;
        self.v4_prefix.max(block)
    }

    /// The gateway's addresses on bridge `k` of the bridge topology: the
    /// first IPv4 address of its block with the block's prefix, and ::1 of
    /// the IPv6 pool's k-th /64.
    pub fn bridge_addresses(&self, k: u32) -> (Cidr, Option<Cidr>) {
        let v4 = Cidr {
            addr: IpAddr::V4(Ipv4Addr::from(
                u32::from(self.v4) + 4 * SLOTS_PER_BRIDGE * k + 1,
            )),
            prefix: self.bridge_prefix(),
        };
        let v6 = self.v6.map(|a| Cidr {
            addr: IpAddr::V6(Ipv6Addr::from(u128::from(a) + (u128::from(k) << 64) + 1)),
            prefix: 64,
        });
        (v4, v6)
    }

    /// The addresses of slot `i` in the bridge topology: the gateway's
    /// (host_*, on its bridge, the same for the bridge's slots) and the
    /// namespace's own, the IPv4 one in the bridge's subnet (x.x.x.4i+2, as
    /// routed) and an IPv6 /128 in the bridge's /64.
    pub fn bridged_slot(&self, i: u32) -> Slot {
        let k = bridge_of(i);
        let (gw4, gw6) = self.bridge_addresses(k);
        let ns_v4 = Cidr {
            addr: IpAddr::V4(Ipv4Addr::from(u32::from(self.v4) + 4 * i + 2)),
            prefix: gw4.prefix,
        };
        let ns_v6 = self.v6.map(|a| Cidr {
            addr: IpAddr::V6(Ipv6Addr::from(
                u128::from(a) + (u128::from(k) << 64) + 4 * u128::from(i % SLOTS_PER_BRIDGE) + 2,
            )),
            prefix: 128,
        });
        Slot {
            index: i,
            host_v4: gw4,
            ns_v4,
            host_v6: gw6,
            ns_v6,
        }
    }

    /// The addresses of slot `i` in the topology an uplink was made in.
    pub fn slot_in(&self, i: u32, bridged: bool) -> Slot {
        if bridged {
            self.bridged_slot(i)
        } else {
            self.slot(i)
        }
    }

    /// Slots available: a /30 of the IPv4 pool and (routed) a /64 of the
    /// IPv6 one each; bridged, a /64 per [`SLOTS_PER_BRIDGE`] slots.
    pub fn capacity(&self) -> u32 {
        let v4 = 1u64 << (30 - self.v4_prefix);
        let v6 = match self.v6_prefix {
            Some(p) if self.topology == Topology::Routed => 1u64 << (64 - p).min(32),
            // A /64 per bridge.
            Some(p) => (1u64 << (64 - p).min(32)) * u64::from(SLOTS_PER_BRIDGE),
            None => u64::MAX,
        };
        v4.min(v6).min(u32::MAX as u64) as u32
    }

    /// The addresses of slot `i`.
    pub fn slot(&self, i: u32) -> Slot {
        let base = u32::from(self.v4) + 4 * i;
        let v4 = |n: u32, p| Cidr {
            addr: IpAddr::V4(Ipv4Addr::from(base + n)),
            prefix: p,
        };
        let v6 = self.v6.map(|a| {
            let net = u128::from(a) + ((i as u128) << 64);
            (
                Cidr {
                    addr: IpAddr::V6(Ipv6Addr::from(net + 1)),
                    prefix: 64,
                },
                Cidr {
                    addr: IpAddr::V6(Ipv6Addr::from(net + 2)),
                    prefix: 64,
                },
            )
        });
        Slot {
            index: i,
            host_v4: v4(1, 30),
            ns_v4: v4(2, 30),
            host_v6: v6.as_ref().map(|v| v.0),
            ns_v6: v6.map(|v| v.1),
        }
    }

    /// Takes the lowest free slot (its addresses in the topology of new
    /// uplinks).
    pub fn allocate(&mut self) -> Option<Slot> {
        let i = match self.gaps.pop_first() {
            Some(i) => i,
            None if self.end < self.capacity() => {
                self.end += 1;
                self.end - 1
            }
            None => return None,
        };
        self.used.insert(i);
        Some(self.slot_in(i, self.topology == Topology::Bridge))
    }

    /// Marks a slot taken (when found again at restart).
    pub fn reserve(&mut self, i: u32) -> bool {
        if i >= self.capacity() || !self.used.insert(i) {
            return false;
        }
        if i >= self.end {
            self.gaps.extend(self.end..i);
            self.end = i + 1;
        } else {
            self.gaps.remove(&i);
        }
        true
    }

    pub fn release(&mut self, i: u32) {
        if !self.used.remove(&i) {
            return;
        }
        self.gaps.insert(i);
        while self.end > 0 && self.gaps.remove(&(self.end - 1)) {
            self.end -= 1;
        }
    }

    pub fn in_use(&self) -> usize {
        self.used.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default pools, routed.
    fn pool() -> Pool {
        Pool::new(
            &DEFAULT_POOL_V4.parse().unwrap(),
            Some(&DEFAULT_POOL_V6.parse().unwrap()),
        )
        .unwrap()
        .with_topology(Topology::Routed)
    }

    #[test]
    fn slots_do_not_collide_and_are_reused_after_release() {
        let mut p = pool();
        let a = p.allocate().unwrap();
        let b = p.allocate().unwrap();
        assert_eq!(a.host_v4.to_string(), "10.231.0.1/30");
        assert_eq!(a.ns_v4.to_string(), "10.231.0.2/30");
        assert_eq!(b.ns_v4.to_string(), "10.231.0.6/30");
        assert_eq!(a.ns_v6.unwrap().to_string(), "fd6e:6574:6e73::2/64");
        assert_eq!(b.host_v6.unwrap().to_string(), "fd6e:6574:6e73:1::1/64");
        p.release(a.index);
        assert_eq!(p.allocate().unwrap().index, 0);
        assert!(p.reserve(7));
        assert!(!p.reserve(7));
    }

    #[test]
    fn the_lowest_free_slot_is_taken_as_a_scan_would_find_it() {
        // Against the obvious model, over a pseudo-random mix of
        // allocations, releases and reservations.
        let mut p = Pool::new(&"10.9.0.0/24".parse().unwrap(), None).unwrap();
        let mut model = BTreeSet::new();
        let mut x: u32 = 12345;
        for _ in 0..5000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = (x >> 16) % (p.capacity() + 4);
            match (x >> 8) % 3 {
                0 => {
                    let want = (0..p.capacity()).find(|i| !model.contains(i));
                    assert_eq!(p.allocate().map(|s| s.index), want);
                    model.extend(want);
                }
                1 => {
                    p.release(i);
                    model.remove(&i);
                }
                _ => {
                    let want = i < p.capacity() && !model.contains(&i);
                    assert_eq!(p.reserve(i), want, "reserve {i}");
                    if want {
                        model.insert(i);
                    }
                }
            }
            assert_eq!(p.in_use(), model.len());
        }
    }

    #[test]
    fn host_ends_have_link_local_addresses_of_their_own() {
        assert_eq!(host_link_local(0).to_string(), "fe80::6e73:7500:0:1");
        assert_eq!(host_link_local(65535).to_string(), "fe80::6e73:7500:1:0");
    }

    #[test]
    fn bridged_slots_share_their_bridges_gateway_and_keep_the_routed_namespace_addresses() {
        let p = pool().with_topology(Topology::Bridge);
        let (gw4, gw6) = p.bridge_addresses(0);
        assert_eq!(gw4.to_string(), "10.231.0.1/21");
        assert_eq!(gw6.unwrap().to_string(), "fd6e:6574:6e73::1/64");
        let s = p.bridged_slot(1);
        assert_eq!(s.host_v4, gw4);
        assert_eq!(s.ns_v4.to_string(), "10.231.0.6/21");
        assert_eq!(s.ns_v6.unwrap().to_string(), "fd6e:6574:6e73::6/128");
        // The next bridge: its own /21 and /64.
        assert_eq!((bridge_of(511), bridge_of(512)), (0, 1));
        let s = p.bridged_slot(513);
        assert_eq!(s.host_v4.to_string(), "10.231.8.1/21");
        assert_eq!(s.ns_v4.to_string(), "10.231.8.6/21");
        assert_eq!(s.host_v6.unwrap().to_string(), "fd6e:6574:6e73:1::1/64");
        assert_eq!(s.ns_v6.unwrap().to_string(), "fd6e:6574:6e73:1::6/128");
        // No slot's address is its gateway's, and each is in its subnet.
        for i in [0, 1, 2, 511, 512, 16383] {
            let s = p.bridged_slot(i);
            assert_ne!(s.ns_v4.addr, s.host_v4.addr);
            assert_eq!(s.ns_v4.network(), s.host_v4.network(), "slot {i}");
        }
        assert_eq!(bridge_name(3), "nsbr3");
        assert!(is_bridge_name("nsbr12") && !is_bridge_name("nsbr") && !is_bridge_name("nsu1"));
        assert_eq!(port_mac(0x01_02_03), [0x0a, 0x6e, 0x73, 1, 2, 3]);
        // Locally administered, unicast.
        assert_eq!(port_mac(7)[0] & 0b11, 0b10);
        // A pool smaller than a block is one bridge's subnet.
        let small = Pool::new(&"10.9.0.0/24".parse().unwrap(), None)
            .unwrap()
            .with_topology(Topology::Bridge);
        assert_eq!(small.bridge_addresses(0).0.to_string(), "10.9.0.1/24");
        // The IPv6 pool bounds a bridged pool by its /64s, 512 slots each.
        let small6 = Pool::new(
            &"10.0.0.0/16".parse().unwrap(),
            Some(&"fd00::/63".parse().unwrap()),
        )
        .unwrap()
        .with_topology(Topology::Routed);
        assert_eq!(small6.capacity(), 2);
        assert_eq!(small6.with_topology(Topology::Bridge).capacity(), 1024);
        assert_eq!("bridge".parse(), Ok(Topology::Bridge));
        assert!("switched".parse::<Topology>().is_err());
    }

    #[test]
    fn a_small_pool_runs_out() {
        let mut p = Pool::new(&"10.9.0.0/29".parse().unwrap(), None).unwrap();
        assert_eq!(p.capacity(), 2);
        assert!(p.allocate().is_some() && p.allocate().is_some());
        assert!(p.allocate().is_none());
        assert!(Pool::new(&"10.9.0.0/31".parse().unwrap(), None).is_err());
        assert!(Pool::new(&"fd00::/64".parse().unwrap(), None).is_err());
        // The smaller of the two pools decides.
        let p = Pool::new(
            &"10.0.0.0/8".parse().unwrap(),
            Some(&"fd00::/60".parse().unwrap()),
        )
        .unwrap()
        .with_topology(Topology::Routed);
        assert_eq!(p.capacity(), 16);
    }
}
