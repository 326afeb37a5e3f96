//! The floor: the daemon's own building blocks (netnsd's library) called in
//! process, with no D-Bus, no polkit and no bookkeeping — the same end
//! result as AddNetworkNamespaceWithOptions with a veth uplink, NAT and DNS:
//! the namespace bound at /run/netns/NAME (loopback up), a veth whose peer
//! is born inside, and in the daemon's default topology (bridge) the host
//! end a port of a bridge (`nsfbrK`, made with its first port: the
//! gateway's addresses, forwarding, its NAT set element in table `inet
//! netnsd`), the port's FDB and neighbour entries, the namespace's
//! addresses and default routes; routed (the daemon's other topology, with
//! `--uplink-topology routed`), IPv4 and IPv6 addresses on both ends,
//! forwarding and a NAT element per host end; and
//! /etc/netns/NAME/{resolv.conf,hosts,nsswitch.conf}. Like the daemon,
//! it keeps spare namespaces made ahead (`netnsd::spare`, `--floor-spares`)
//! and binds one per create when one is ready.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use netnsd::dns::{self, Dns};
use netnsd::firewall;
use netnsd::netlink::{self as ops, Events, Platform};
use netnsd::netns::RunDir;
use netnsd::spare::Spares;
use netnsd::sysctl;
use netnsd::uplink::{Pool, Slot, Topology};
use netnsd_api::link::LinkOptions;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::scale::Subject;
use crate::stats::Samples;
use crate::{DNS_SERVERS, ETC_NETNS, err, pool};

const UPLINK_IF: &str = "uplink0";

struct Made {
    platform: Platform,
    slot: Slot,
    host_if: String,
}

/// Time per step, in the order the steps run.
#[derive(Debug, Default, Clone)]
pub struct Steps(Vec<(&'static str, Samples)>);

impl Steps {
    fn add(&mut self, step: &'static str, d: Duration) {
        match self.0.iter_mut().find(|(s, _)| *s == step) {
            Some((_, v)) => v.push(d),
            None => {
                let mut v = Samples::new();
                v.push(d);
                self.0.push((step, v));
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &(&'static str, Samples)> {
        self.0.iter()
    }

    pub fn to_json(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|(step, s)| {
                    let mut v = s.to_json();
                    v["step"] = json!(step);
                    v
                })
                .collect(),
        )
    }
}

/// A clock that hands out the time since the previous step.
struct Lap(Instant);

impl Lap {
    fn start() -> Self {
        Lap(Instant::now())
    }

    fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let d = now - self.0;
        self.0 = now;
        d
    }
}

pub struct FloorSubject {
    run_dir: RunDir,
    /// Namespaces made ahead, as the daemon keeps them (`crate::spare`).
    spares: Spares,
    root: Platform,
    events: Events,
    pool: Pool,
    made: HashMap<String, Made>,
    next_number: u32,
    host_prefix: &'static str,
    dns: Dns,
    recording: bool,
    create_steps: Steps,
    remove_steps: Steps,
    /// (alive, create steps, remove steps) of the timed cycles at each size.
    pub steps: Vec<(usize, Steps, Steps)>,
    /// (alive, routes, samples): a route dump of the root namespace.
    pub route_dumps: Vec<(usize, usize, Samples)>,
    /// Slots whose host end is dying with its namespace: (slot, host end).
    draining: Vec<(u32, String)>,
    /// Host ends whose NAT elements are still to be removed, in one batch.
    nat_removals: std::collections::BTreeSet<String>,
    /// The bridges made (bridge topology): number → ifindex.
    bridges: std::collections::BTreeMap<u32, u32>,
}

/// As the daemon does: NAT elements of removed namespaces go in one batch
/// once this many are queued (or at the end).
const NAT_FLUSH_AT: usize = 256;

/// The veth of `m` (a port of bridge `port.0`, its peer with MAC `port.1`,
/// when given), its peer born inside: both ifindexes, from the kernel's echo
/// of the new link as the daemon makes an uplink, looked up only without
/// an echo.
async fn veth(
    hp: &ops::NetlinkHandle,
    np: &ops::NetlinkHandle,
    m: &Made,
    ns_file: &File,
    port: Option<(u32, [u8; 6])>,
) -> Result<(u32, u32), String> {
    let ends = ops::add_veth_echo(
        hp,
        &m.host_if,
        UPLINK_IF,
        ns_file.as_fd(),
        &LinkOptions::default(),
        port,
    )
    .await
    .map_err(|e| e.message())?;
    if let Some(e) = ends {
        return Ok((e.here, e.peer));
    }
    let hidx = ops::ifindex_by_name(hp, &m.host_if)
        .await
        .map_err(|e| e.message())?
        .ok_or("host end vanished")?;
    let nidx = ops::ifindex_by_name(np, UPLINK_IF)
        .await
        .map_err(|e| e.message())?
        .ok_or("uplink0 vanished")?;
    Ok((hidx, nidx))
}

async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(err(what))
}

impl FloorSubject {
    pub fn setup(host_prefix: &'static str, spares: usize) -> Result<Self, String> {
        let run_dir = RunDir::new(netnsd_api::NETNS_RUN_DIR);
        run_dir
            .prepare(std::time::Duration::from_secs(3))
            .map_err(err("prepare /run/netns"))?;
        // The table, once, as the daemon declares it with its first uplink.
        firewall::apply(&firewall::declare_batch(&[]), None).map_err(|e| e.message())?;
        let (events, mut rx) = mpsc::unbounded_channel();
        // The platforms' link and address events are read and dropped.
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let events = Events::start(&tokio::runtime::Handle::current(), events)
            .map_err(err("the netlink events socket"))?;
        let root = Platform::open_here(&tokio::runtime::Handle::current(), 0, events.clone())
            .map_err(err("netlink in the root namespace"))?;
        let spares = Spares::new(spares, &tokio::runtime::Handle::current(), events.clone());
        spares.fill();
        let dns = Dns {
            servers: DNS_SERVERS
                .iter()
                .map(|s| s.parse().map_err(err("DNS server")))
                .collect::<Result<_, _>>()?,
            search: Vec::new(),
        };
        Ok(FloorSubject {
            run_dir,
            spares,
            root,
            events,
            pool: pool()?,
            made: HashMap::new(),
            next_number: 1,
            host_prefix,
            dns,
            recording: false,
            create_steps: Steps::default(),
            remove_steps: Steps::default(),
            steps: Vec::new(),
            route_dumps: Vec::new(),
            draining: Vec::new(),
            nat_removals: Default::default(),
            bridges: Default::default(),
        })
    }

    fn bridge_name(&self, k: u32) -> String {
        format!("{}br{k}", self.host_prefix)
    }

    /// Bridge `k`, made with its first port as the daemon makes it: the
    /// gateway's addresses, its sysctls, forwarding, up, its NAT element.
    async fn bridge(&mut self, k: u32) -> Result<u32, String> {
        if let Some(i) = self.bridges.get(&k) {
            return Ok(*i);
        }
        let (h, name) = (&self.root.handle, self.bridge_name(k));
        let mac = ops::stable_mac("rootns", &name);
        ops::add_bridge(h, &name, &LinkOptions::default(), Some(mac))
            .await
            .map_err(|e| e.message())?;
        let idx = ops::ifindex_by_name(h, &name)
            .await
            .map_err(|e| e.message())?
            .ok_or("the bridge vanished")?;
        netnsd::uplink::configure_bridge(h, idx, self.pool.bridge_addresses(k))
            .await
            .map_err(|e| e.message())?;
        let forwarding = [
            (format!("net/ipv4/conf/{name}/forwarding"), "1"),
            (format!("net/ipv6/conf/{name}/force_forwarding"), "1"),
        ];
        for (key, v) in netnsd::uplink::bridge_sysctls(&name)
            .into_iter()
            .chain(forwarding)
        {
            sysctl::set(None, &key, v).map_err(|e| format!("sysctl {key}: {e}"))?;
        }
        ops::set_up(h, idx, true).await.map_err(|e| e.message())?;
        blocking("nft", move || firewall::add_host_if(None, &name))
            .await?
            .map_err(err("add the bridge's NAT element"))?;
        self.bridges.insert(k, idx);
        Ok(idx)
    }

    /// Removes the bridges and the table once nothing is left in them.
    pub async fn finish(self) -> Result<(), String> {
        for idx in self.bridges.values() {
            ops::delete_link(&self.root.handle, *idx)
                .await
                .map_err(|e| e.message())?;
        }
        blocking("nft", move || {
            firewall::apply(&firewall::delete_table_batch(), None)
        })
        .await?
        .map_err(|e| e.message())
    }

    /// Takes out the queued NAT elements, in one transaction.
    async fn flush_nat(&mut self) -> Result<(), String> {
        let names = std::mem::take(&mut self.nat_removals);
        blocking("nft", move || {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            firewall::remove_host_ifs(None, &names)
        })
        .await?
        .map_err(err("remove NAT elements"))
    }

    /// Frees the slots whose host end has gone with its namespace.
    async fn reap_draining(&mut self) -> Result<(), String> {
        let mut still = Vec::new();
        for (slot, host_if) in std::mem::take(&mut self.draining) {
            match ops::ifindex_by_name(&self.root.handle, &host_if).await {
                Ok(None) => self.pool.release(slot),
                Ok(Some(_)) => still.push((slot, host_if)),
                Err(e) => return Err(e.message()),
            }
        }
        self.draining = still;
        Ok(())
    }

    /// A namespace made now (no spare ready): unshare, bind mount, netlink
    /// inside, lo up.
    async fn make_namespace(&mut self, name: &str, number: u32) -> Result<Platform, String> {
        let (rd, n, rt, ev) = (
            self.run_dir.clone(),
            name.to_owned(),
            tokio::runtime::Handle::current(),
            self.events.clone(),
        );
        // One thread, which makes the namespace and comes back (as the daemon).
        let created = netnsd::netns::thread::run_async("netns-create", move || {
            Ok(rd.create_here(&n, move |path| Platform::open_new(path, &rt, number, ev)))
        })
        .await
        .map_err(err("create"))?
        .map_err(|e| e.to_string())?;
        created
            .platform
            .loopback_up()
            .await
            .map_err(|e| format!("lo up: {e}"))?;
        Ok(created.platform)
    }

    /// A routed host end, as the daemon makes it with `--uplink-topology
    /// routed`.
    async fn build_routed(
        &mut self,
        m: &Made,
        ns_file: &File,
        lap: &mut Lap,
        steps: &mut Vec<(&'static str, Duration)>,
    ) -> Result<(), String> {
        let (hp, np) = (&self.root.handle, &m.platform.handle);
        // As the daemon does: the host end born down, brought up below
        // without an IPv6 link-local address, after the peer.
        let (hidx, nidx) = veth(hp, np, m, ns_file, None).await?;
        steps.push(("veth, peer born inside", lap.lap()));
        // As the daemon: the peer up, then both ends' addresses and the
        // namespace's default routes, each side's requests back to back,
        // the two sides at once (the host end up without a generated
        // link-local, with its own instead).
        if m.slot.host_v6.is_none() || m.slot.ns_v6.is_none() {
            return Err("no IPv6".into());
        }
        netnsd::uplink::configure_veth(hp, np, hidx, nidx, &m.slot)
            .await
            .map_err(|e| e.message())?;
        steps.push((
            "both ends up, 5 addresses, 2 default routes (one batch per side)",
            lap.lap(),
        ));
        for key in [
            format!("net/ipv4/conf/{}/forwarding", m.host_if),
            format!("net/ipv6/conf/{}/force_forwarding", m.host_if),
        ] {
            sysctl::set(None, &key, "1").map_err(|e| format!("sysctl {key}: {e}"))?;
        }
        steps.push(("forwarding sysctls", lap.lap()));
        // A host end whose removal is still queued is in use again: keep it.
        self.nat_removals.remove(&m.host_if);
        let host_if = m.host_if.clone();
        blocking("nft", move || firewall::add_host_if(None, &host_if))
            .await?
            .map_err(err("add the NAT element"))?;
        steps.push(("NAT element (nf_tables netlink, in process)", lap.lap()));
        Ok(())
    }

    /// A port of its bridge, as the daemon makes it in the bridge topology:
    /// the veth born a port, IPv6 off on it, then
    /// [`netnsd::uplink::configure_bridge_port`].
    async fn build_port(
        &mut self,
        m: &Made,
        ns_file: &File,
        lap: &mut Lap,
        steps: &mut Vec<(&'static str, Duration)>,
    ) -> Result<(), String> {
        let bidx = self.bridge(netnsd::uplink::bridge_of(m.slot.index)).await?;
        steps.push(("its bridge (made with the first of 512 ports)", lap.lap()));
        let (hp, np) = (&self.root.handle, &m.platform.handle);
        let port = (bidx, netnsd::uplink::port_mac(m.slot.index));
        let (hidx, nidx) = veth(hp, np, m, ns_file, Some(port)).await?;
        steps.push(("veth, born a port, peer born inside", lap.lap()));
        let key = format!("net/ipv6/conf/{}/disable_ipv6", m.host_if);
        sysctl::set(None, &key, "1").map_err(|e| format!("sysctl {key}: {e}"))?;
        steps.push(("IPv6 off on the port", lap.lap()));
        netnsd::uplink::configure_bridge_port(hp, np, (hidx, nidx, bidx), &m.slot)
            .await
            .map_err(|e| e.message())?;
        steps.push((
            "port flags, FDB, 2 neighbours, both ends up, 2 addresses, 2 default routes",
            lap.lap(),
        ));
        Ok(())
    }

    async fn build(&mut self, name: &str, m: &Made, ns_file: &File) -> Result<(), String> {
        let mut lap = Lap::start();
        let mut steps: Vec<(&'static str, Duration)> = Vec::new();
        if self.pool.topology() == Topology::Bridge {
            self.build_port(m, ns_file, &mut lap, &mut steps).await?;
        } else {
            self.build_routed(m, ns_file, &mut lap, &mut steps).await?;
        }
        let (etc, n, d) = (Path::new(ETC_NETNS), name.to_owned(), self.dns.clone());
        blocking("DNS files", move || {
            dns::write(etc, &n, &d, Path::new("/etc/nsswitch.conf"))
        })
        .await?
        .map_err(err("DNS files"))?;
        steps.push(("/etc/netns files", lap.lap()));
        if self.recording {
            for (step, d) in steps {
                self.create_steps.add(step, d);
            }
        }
        Ok(())
    }
}

impl Subject for FloorSubject {
    async fn create(&mut self, name: &str) -> Result<(), String> {
        let t = Instant::now();
        // As the daemon does: a slot comes back once its host end is gone.
        if !self.draining.is_empty() {
            self.reap_draining().await?;
        }
        let slot = self.pool.allocate().ok_or("address pool exhausted")?;
        let number = self.next_number;
        self.next_number += 1;
        // A spare namespace made ahead, bound here (lo up already), as the
        // daemon does; or, with none ready, a new one made now.
        let created = match self.spares.take() {
            Some(spare) => match self.run_dir.bind(name, spare.file()) {
                Ok(()) => {
                    let path = self.run_dir.path_of(name);
                    let rt = tokio::runtime::Handle::current();
                    Ok(Platform::from_unnamed(
                        spare,
                        &path,
                        &rt,
                        number,
                        &self.events,
                    ))
                }
                Err(e) => Err(e.to_string()),
            },
            None => self.make_namespace(name, number).await,
        };
        let platform = match created {
            Ok(p) => p,
            Err(e) => {
                self.pool.release(slot.index);
                return Err(e);
            }
        };
        let m = Made {
            platform,
            host_if: format!("{}{}", self.host_prefix, slot.index),
            slot,
        };
        let ns_file = File::open(self.run_dir.path_of(name)).map_err(err("open the namespace"))?;
        if self.recording {
            self.create_steps.add(
                "namespace: a spare bound (or unshare, bind mount, netlink, lo up)",
                t.elapsed(),
            );
        }
        let r = self.build(name, &m, &ns_file).await;
        self.made.insert(name.to_owned(), m);
        // As the daemon: the spare taken is made again once the create is done.
        self.spares.fill();
        r
    }

    async fn remove(&mut self, name: &str) -> Result<(), String> {
        let Some(m) = self.made.remove(name) else {
            return Err(format!("{name} was not made by the floor"));
        };
        let mut lap = Lap::start();
        let mut steps: Vec<(&'static str, Duration)> = Vec::new();
        let mut first_err = None;
        // The veth dies with the namespace (the kernel's batched cleanup).
        // Bridged: its neighbour entries go from the bridge, as the daemon
        // takes them out. Routed: its NAT element goes later, with others,
        // in one transaction.
        if self.pool.topology() == Topology::Bridge {
            let k = netnsd::uplink::bridge_of(m.slot.index);
            if let Some(b) = self.bridges.get(&k) {
                for a in [Some(m.slot.ns_v4), m.slot.ns_v6].into_iter().flatten() {
                    if let Err(e) = ops::del_neighbour(&self.root.handle, *b, a.addr).await {
                        first_err.get_or_insert(e.message());
                    }
                }
            }
            steps.push(("neighbour entries", lap.lap()));
        } else {
            self.nat_removals.insert(m.host_if.clone());
            if self.nat_removals.len() >= NAT_FLUSH_AT
                && let Err(e) = self.flush_nat().await
            {
                first_err.get_or_insert(e);
            }
            steps.push(("NAT element queued (a batch per 256)", lap.lap()));
        }
        if let Err(e) = dns::remove(Path::new(ETC_NETNS), name) {
            first_err.get_or_insert(format!("remove /etc/netns/{name}: {e}"));
        }
        steps.push(("/etc/netns files", lap.lap()));
        self.draining.push((m.slot.index, m.host_if.clone()));
        drop(m.platform);
        let (rd, n) = (self.run_dir.clone(), name.to_owned());
        if let Err(e) = blocking("remove", move || rd.remove(&n)).await? {
            first_err.get_or_insert(e.to_string());
        }
        steps.push(("namespace: close netlink, unmount, unlink", lap.lap()));
        if self.recording {
            for (step, d) in steps {
                self.remove_steps.add(step, d);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn cycles_begin(&mut self) {
        self.recording = true;
    }

    /// A probe for the profile: what one route dump of the root namespace
    /// costs at this size — the daemon's enable_forwarding makes one per
    /// veth uplink, to find the default routes' devices.
    async fn at_size(&mut self, alive: usize, _largest: bool) -> Result<(), String> {
        let mut s = Samples::new();
        let mut routes = 0;
        for _ in 0..20 {
            let t = Instant::now();
            routes = ops::list_routes(&self.root.handle)
                .await
                .map_err(|e| e.message())?
                .len();
            s.push(t.elapsed());
        }
        eprintln!(
            "bench: floor: route dump of the root namespace at {alive}: {routes} routes, p50 {:.3} ms",
            s.p50()
        );
        self.route_dumps.push((alive, routes, s));
        Ok(())
    }

    fn cycles_end(&mut self, alive: usize) {
        self.recording = false;
        self.steps.push((
            alive,
            std::mem::take(&mut self.create_steps),
            std::mem::take(&mut self.remove_steps),
        ));
    }
}
