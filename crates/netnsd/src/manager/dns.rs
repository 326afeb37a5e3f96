//! DNS files: a namespace's /etc/netns/NAME/{resolv.conf,hosts,nsswitch.conf},
//! written or removed, recorded in the journal, and the change published.

use netnsd_api::Error;

use super::Manager;
use crate::dns::{self, Dns};
use crate::record::Entry;

impl Manager {
    /// Writes (Some) or removes (None) a namespace's /etc/netns files.
    pub(super) async fn set_dns(&mut self, ns: u32, d: Option<Dns>) -> Result<(), Error> {
        let target = self.namespace(ns)?;
        let (etc, name, nss) = (
            self.dns.etc().to_path_buf(),
            target.name.clone(),
            self.dns.host_nsswitch().to_path_buf(),
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
                self.dns.etc().display()
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
        let changes = self.dns.set(ns, d);
        self.publish(changes).await;
        Ok(())
    }
}
