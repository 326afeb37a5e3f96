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
}

impl DnsFiles {
    pub fn new(etc: PathBuf, host_nsswitch: PathBuf) -> Self {
        DnsFiles {
            etc,
            host_nsswitch,
            written: Shared::default(),
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

    /// Namespace `ns` is gone.
    pub fn forget(&mut self, ns: u32) {
        self.written.write().remove(&ns);
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
}
