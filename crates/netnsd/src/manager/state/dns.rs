//! DNS: where the per-namespace files go (`/etc/netns/NAME`), the host's
//! nsswitch.conf they are modelled on, and the DNS settings written for
//! each namespace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Shared;
use crate::dns::Dns;
use crate::manager::publish::{Change, InstanceProperty};

/// The DNS part.
#[derive(Debug)]
pub struct DnsFiles {
    /// Where per-namespace resolv.conf, hosts, nsswitch.conf go.
    etc: PathBuf,
    /// The host's nsswitch.conf, the model for the namespaces' own.
    host_nsswitch: PathBuf,
    /// What was written, by namespace number.
    written: Shared<BTreeMap<u32, Dns>>,
    /// Namespaces whose DNS an isolated VPN wrote over: what was there
    /// before, and what the VPN wrote.
    under_vpn: BTreeMap<u32, VpnDns>,
}

/// A namespace's DNS as an isolated VPN found it, and what it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpnDns {
    /// What netnsd had written there (SetDns, an uplink's DNS), if anything.
    pub before: Option<Dns>,
    /// The files that were there and not netnsd's (an administrator's own
    /// /etc/netns/NAME/resolv.conf…): name and contents.
    pub files: Vec<(String, Vec<u8>)>,
    /// What the VPN wrote.
    pub wrote: Dns,
}

impl DnsFiles {
    pub fn new(etc: PathBuf, host_nsswitch: PathBuf) -> Self {
        DnsFiles {
            etc,
            host_nsswitch,
            written: Shared::default(),
            under_vpn: BTreeMap::new(),
        }
    }

    /// The settings, for the bus layer.
    pub fn table(&self) -> Shared<BTreeMap<u32, Dns>> {
        self.written.clone()
    }

    /// The directory that holds every namespace's files.
    pub fn etc(&self) -> &Path {
        &self.etc
    }

    pub fn host_nsswitch(&self) -> &Path {
        &self.host_nsswitch
    }

    /// The directory of namespace `name`'s files.
    pub fn dir_of(&self, name: &str) -> PathBuf {
        crate::dns::dir(&self.etc, name)
    }

    /// Whether files were written for namespace `ns`.
    pub fn has(&self, ns: u32) -> bool {
        self.written.read().contains_key(&ns)
    }

    /// Settings found at start.
    pub fn found(&mut self, ns: u32, dns: Dns) {
        self.written.write().insert(ns, dns);
    }

    /// Namespace `ns`'s files were written (Some) or removed (None).
    pub fn set(&mut self, ns: u32, dns: Option<Dns>) -> Vec<Change> {
        match dns {
            Some(d) => self.written.write().insert(ns, d),
            None => self.written.write().remove(&ns),
        };
        vec![Change::InstanceChanged {
            ns,
            prop: InstanceProperty::DnsServers,
        }]
    }

    /// What netnsd wrote for namespace `ns`, if anything.
    pub fn get(&self, ns: u32) -> Option<Dns> {
        self.written.read().get(&ns).cloned()
    }

    /// An isolated VPN is writing its DNS into namespace `ns`: remember
    /// what was there (the first VPN's view, if one follows another).
    pub fn vpn_writes(&mut self, ns: u32, saved: VpnDns) {
        match self.under_vpn.get_mut(&ns) {
            Some(first) => first.wrote = saved.wrote,
            None => {
                self.under_vpn.insert(ns, saved);
            }
        }
    }

    /// Whether a VPN wrote its DNS over namespace `ns`'s (and has not
    /// ended).
    pub fn under_vpn(&self, ns: u32) -> bool {
        self.under_vpn.contains_key(&ns)
    }

    /// The VPN in namespace `ns` ended: what to put back, if anything —
    /// Some only when the VPN wrote there and its DNS is still what it
    /// wrote (a SetDns or ClearDns since wins).
    pub fn vpn_ended(&mut self, ns: u32) -> Option<VpnDns> {
        let saved = self.under_vpn.remove(&ns)?;
        (self.written.read().get(&ns) == Some(&saved.wrote)).then_some(saved)
    }

    /// Namespace `ns` is gone.
    pub fn forget(&mut self, ns: u32) {
        self.written.write().remove(&ns);
        self.under_vpn.remove(&ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_and_removing_are_announced() {
        let mut d = DnsFiles::new("/etc/netns".into(), "/etc/nsswitch.conf".into());
        let changed = [Change::InstanceChanged {
            ns: 2,
            prop: InstanceProperty::DnsServers,
        }];
        let dns = Dns {
            servers: vec!["10.0.0.53".parse().unwrap()],
            search: vec!["example.net".into()],
        };
        assert_eq!(d.set(2, Some(dns.clone())), changed);
        assert!(d.has(2));
        assert_eq!(d.table().read().get(&2), Some(&dns));
        assert_eq!(d.set(2, None), changed);
        assert!(!d.has(2));
        d.found(3, dns);
        d.forget(3);
        assert!(!d.has(3));
        assert_eq!(d.dir_of("a"), crate::dns::dir(Path::new("/etc/netns"), "a"));
    }

    fn dns(server: &str) -> Dns {
        Dns {
            servers: vec![server.parse().unwrap()],
            search: vec![],
        }
    }

    #[test]
    fn a_vpn_gives_back_only_what_it_wrote_over() {
        let mut d = DnsFiles::new("/etc/netns".into(), "/etc/nsswitch.conf".into());
        let (mine, vpn) = (dns("192.0.2.53"), dns("10.8.0.53"));
        d.set(2, Some(mine.clone()));
        let saved = VpnDns {
            before: d.get(2),
            files: vec![],
            wrote: vpn.clone(),
        };
        d.vpn_writes(2, saved.clone());
        d.set(2, Some(vpn.clone()));
        // A reconnect writes again: what was there first is kept.
        d.vpn_writes(
            2,
            VpnDns {
                before: Some(vpn.clone()),
                files: vec![],
                wrote: vpn.clone(),
            },
        );
        assert_eq!(d.vpn_ended(2), Some(saved));
        // Ended once: nothing more to give back.
        assert_eq!(d.vpn_ended(2), None);

        // Someone set the DNS while the VPN was up: theirs stays.
        d.vpn_writes(
            3,
            VpnDns {
                before: None,
                files: vec![],
                wrote: vpn.clone(),
            },
        );
        d.set(3, Some(vpn));
        d.set(3, Some(mine));
        assert_eq!(d.vpn_ended(3), None);
        // A VPN that wrote nothing has nothing to give back.
        assert_eq!(d.vpn_ended(4), None);
    }
}
