//! Split DNS forwarders: per namespace, the dnsmasq the daemon runs there,
//! the namespace's own DNS it forwards to, and the VPNs whose domains go to
//! their own servers.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use super::Shared;
use crate::dns::Dns;

/// One namespace's forwarder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarder {
    pub name: String,
    /// 0 while none runs (it ended and was not started again).
    pub pid: u32,
    /// How many times it was started again after ending by itself.
    pub restarts: u32,
    /// The namespace's own DNS, as it was before the forwarder: where
    /// everything but the VPNs' domains goes.
    pub upstream: Dns,
    /// Active connection number → (its domains, its servers).
    pub vpns: BTreeMap<u32, (Vec<String>, Vec<IpAddr>)>,
}

/// Where the forwarder listens, as the namespace's resolv.conf names it.
pub const LISTEN: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

impl Forwarder {
    /// The `(domains, servers)` pairs, in activation order.
    pub fn split(&self) -> Vec<(Vec<String>, Vec<IpAddr>)> {
        self.vpns.values().cloned().collect()
    }

    /// The namespace's resolv.conf while the forwarder runs: the forwarder,
    /// and the namespace's search list followed by the VPNs' domains.
    pub fn resolv(&self) -> Dns {
        let mut search = self.upstream.search.clone();
        for (domains, _) in self.vpns.values() {
            for d in domains {
                if !search.contains(d) {
                    search.push(d.clone());
                }
            }
        }
        Dns {
            servers: vec![LISTEN],
            search,
        }
    }
}

/// What the bus shows of a namespace's split DNS: domain → its servers.
pub type SplitDns = BTreeMap<String, Vec<String>>;

/// The forwarders, by namespace number.
#[derive(Debug, Default)]
pub struct Forwarders {
    by_ns: BTreeMap<u32, Forwarder>,
    /// The split DNS of each namespace with a forwarder, for the bus.
    table: Shared<BTreeMap<u32, SplitDns>>,
}

impl Forwarders {
    /// The table, for the bus layer.
    pub fn table(&self) -> Shared<BTreeMap<u32, SplitDns>> {
        self.table.clone()
    }

    /// Brings namespace `ns`'s row of the table in line with its forwarder.
    fn sync(&self, ns: u32) {
        let mut t = self.table.write();
        match self.by_ns.get(&ns) {
            None => {
                t.remove(&ns);
            }
            Some(f) => {
                let mut split = SplitDns::new();
                for (domains, servers) in f.vpns.values() {
                    for d in domains {
                        split
                            .entry(d.clone())
                            .or_default()
                            .extend(servers.iter().map(|s| s.to_string()));
                    }
                }
                t.insert(ns, split);
            }
        }
    }

    pub fn get(&self, ns: u32) -> Option<&Forwarder> {
        self.by_ns.get(&ns)
    }

    pub fn insert(&mut self, ns: u32, f: Forwarder) {
        self.by_ns.insert(ns, f);
        self.sync(ns);
    }

    /// Adds (or replaces) VPN `n`'s domains in namespace `ns`'s forwarder;
    /// false if there is none.
    pub fn add_vpn(&mut self, ns: u32, n: u32, domains: Vec<String>, servers: Vec<IpAddr>) -> bool {
        match self.by_ns.get_mut(&ns) {
            Some(f) => {
                f.vpns.insert(n, (domains, servers));
                self.sync(ns);
                true
            }
            None => false,
        }
    }

    /// VPN `n` ended: the namespace whose forwarder had its domains, and
    /// whether other VPNs are still in it.
    pub fn remove_vpn(&mut self, n: u32) -> Option<(u32, bool)> {
        let (ns, f) = self
            .by_ns
            .iter_mut()
            .find(|(_, f)| f.vpns.contains_key(&n))?;
        f.vpns.remove(&n);
        let (ns, more) = (*ns, !f.vpns.is_empty());
        self.sync(ns);
        Some((ns, more))
    }

    /// The forwarder of namespace `ns` is stopped (or ended, or its
    /// namespace is gone).
    pub fn take(&mut self, ns: u32) -> Option<Forwarder> {
        let f = self.by_ns.remove(&ns);
        self.sync(ns);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn vpns_come_and_go_and_the_last_one_says_so() {
        let mut f = Forwarders::default();
        assert!(!f.add_vpn(2, 1, vec!["corp.example".into()], vec![ip("10.8.0.53")]));
        f.insert(
            2,
            Forwarder {
                name: "work".into(),
                pid: 100,
                restarts: 0,
                upstream: Dns {
                    servers: vec![ip("192.0.2.53")],
                    search: vec!["home.example".into(), "corp.example".into()],
                },
                vpns: BTreeMap::new(),
            },
        );
        assert!(f.add_vpn(2, 1, vec!["corp.example".into()], vec![ip("10.8.0.53")]));
        assert!(f.add_vpn(2, 3, vec!["lab.example".into()], vec![ip("10.9.0.53")]));
        let fw = f.get(2).unwrap();
        assert_eq!(
            fw.resolv(),
            Dns {
                servers: vec![LISTEN],
                search: vec![
                    "home.example".into(),
                    "corp.example".into(),
                    "lab.example".into()
                ],
            }
        );
        assert_eq!(fw.split().len(), 2);
        assert_eq!(f.remove_vpn(1), Some((2, true)));
        assert_eq!(f.remove_vpn(1), None);
        assert_eq!(f.remove_vpn(3), Some((2, false)));
        assert_eq!(f.take(2).map(|f| f.pid), Some(100));
        assert_eq!(f.take(2), None);
    }
}
