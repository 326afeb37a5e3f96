//! DNS files: a namespace's /etc/netns/NAME/{resolv.conf,hosts,nsswitch.conf},
//! written or removed, recorded in the journal, and the change published.

use netnsd_api::Error;

use super::Manager;
use super::state::VpnDns;
use crate::dns::{self, Dns};
use crate::record::Entry;

impl Manager {
    /// Writes (Some) or removes (None) a namespace's /etc/netns files.
    pub(super) async fn set_dns(&mut self, ns: u32, d: Option<Dns>) -> Result<(), Error> {
        let w = self.start_dns(ns, d)?;
        self.finish_dns(w).await
    }

    /// Starts [`Manager::set_dns`]'s file work on a blocking thread, so that
    /// the caller can do other work meanwhile (a create with an uplink makes
    /// the uplink while its DNS files are written); [`Manager::finish_dns`]
    /// waits for it and does the rest.
    pub(super) fn start_dns(&mut self, ns: u32, d: Option<Dns>) -> Result<DnsWrite, Error> {
        let target = self.namespace(ns)?;
        let (etc, name, nss) = (
            self.dns.etc().to_path_buf(),
            target.name.clone(),
            self.dns.host_nsswitch().to_path_buf(),
        );
        // Files about to be written are recorded first, so a crash while
        // writing leaves files a restarted daemon knows to be its own;
        // files removed are recorded once gone.
        if d.is_some() {
            self.record(dns_entry(&target.name, &d))?;
        }
        let dd = d.clone();
        let task = tokio::task::spawn_blocking(move || match &dd {
            Some(d) => dns::write(&etc, &name, d, &nss),
            None => dns::remove(&etc, &name),
        });
        Ok(DnsWrite {
            ns,
            name: target.name,
            d,
            task,
        })
    }

    /// Waits for the files of [`Manager::start_dns`]; journals, keeps and
    /// publishes the change, or on failure puts the journal back as it was.
    pub(super) async fn finish_dns(&mut self, w: DnsWrite) -> Result<(), Error> {
        let DnsWrite { ns, name, d, task } = w;
        let written = task
            .await
            .map_err(|e| Error::Failed(format!("DNS files: {e}")))
            .and_then(|r| {
                r.map_err(|e| {
                    Error::Failed(format!(
                        "DNS files for {name:?} in {}: {e}",
                        self.dns.etc().display()
                    ))
                })
            });
        if let Err(e) = written {
            if d.is_some() {
                // Put the record back as it was: the earlier DNS, or none
                // (and whatever was half written goes).
                let before = self.dns.get(ns);
                if before.is_none() {
                    let (etc, name) = (self.dns.etc().to_path_buf(), name.clone());
                    let _ = tokio::task::spawn_blocking(move || dns::remove(&etc, &name)).await;
                }
                self.record(dns_entry(&name, &before))?;
            }
            return Err(e);
        }
        if d.is_none() {
            self.record(dns_entry(&name, &d))?;
        }
        let changes = self.dns.set(ns, d);
        self.publish(changes).await;
        Ok(())
    }

    /// An isolated VPN writes its DNS into namespace `ns`, remembering what
    /// was there, to be put back by [`Manager::vpn_dns_ended`].
    pub(super) async fn set_vpn_dns(&mut self, ns: u32, d: Dns) -> Result<(), Error> {
        let target = self.namespace(ns)?;
        let before = self.dns.get(ns);
        // Files that are there but not netnsd's: an administrator's own.
        let files = if before.is_none() {
            let (etc, name) = (self.dns.etc().to_path_buf(), target.name.clone());
            tokio::task::spawn_blocking(move || dns::snapshot(&etc, &name))
                .await
                .map_err(|e| Error::Failed(format!("DNS files: {e}")))?
                .map_err(|e| {
                    Error::Failed(format!("reading the DNS files of {:?}: {e}", target.name))
                })?
        } else {
            Vec::new()
        };
        // Recorded first: a crash from here on leaves DNS the next start
        // knows to put back (no VPN outlives a run).
        self.record(Entry::VpnDnsSaved {
            name: target.name.clone(),
            before: before.as_ref().map(strings),
            files: files.clone(),
            wrote: strings(&d),
        })?;
        self.dns.vpn_writes(
            ns,
            VpnDns {
                before,
                files,
                wrote: d.clone(),
            },
        );
        self.set_dns(ns, Some(d)).await
    }

    /// The isolated VPN in namespace `ns` ended: its DNS goes, and what it
    /// wrote over comes back (what SetDns had written, or an
    /// administrator's own files). DNS the VPN did not write, or that was
    /// set again while it was up, is left alone.
    pub(super) async fn vpn_dns_ended(&mut self, ns: u32) {
        let Ok(target) = self.namespace(ns) else {
            return;
        };
        let under_vpn = self.dns.under_vpn(ns);
        if let Some(saved) = self.dns.vpn_ended(ns) {
            self.put_back_dns(ns, &target.name, saved).await;
        }
        if under_vpn {
            let _ = self.record(Entry::VpnDnsEnded { name: target.name });
        }
    }

    async fn put_back_dns(&mut self, ns: u32, name: &str, saved: VpnDns) {
        if let Err(e) = self.set_dns(ns, saved.before).await {
            tracing::warn!(ns, "putting back the namespace's DNS: {}", e.message());
            return;
        }
        if saved.files.is_empty() {
            return;
        }
        let etc = self.dns.etc().to_path_buf();
        let name2 = name.to_owned();
        let r =
            tokio::task::spawn_blocking(move || dns::put_back(&etc, &name2, &saved.files)).await;
        if !matches!(r, Ok(Ok(()))) {
            tracing::warn!(%name, "putting back the namespace's own DNS files failed");
        }
    }
}

/// A DNS setting as the journal has it: (servers, search).
pub(super) fn strings(d: &Dns) -> (Vec<String>, Vec<String>) {
    (
        d.servers.iter().map(|s| s.to_string()).collect(),
        d.search.clone(),
    )
}

/// A DNS setting from the journal's (servers, search).
pub(super) fn from_strings((servers, search): &(Vec<String>, Vec<String>)) -> Dns {
    Dns {
        servers: servers.iter().filter_map(|s| s.parse().ok()).collect(),
        search: search.clone(),
    }
}

impl Manager {
    /// At start: DNS a VPN of the previous run wrote over a namespace that
    /// is still here (a VPN does not outlive a run) goes, and what it wrote
    /// over comes back — netnsd's own DNS, or none, and an administrator's
    /// files — unless the DNS was set anew while it was up.
    pub(super) fn reconcile_vpn_dns(
        &mut self,
        recorded: &crate::record::Recorded,
        keep: &mut Vec<Entry>,
    ) {
        for (name, saved) in &recorded.vpn_dns {
            let Some(ns) = self.namespaces.get(name) else {
                continue;
            };
            if recorded.dns.get(name) != Some(&saved.wrote) {
                tracing::info!(%name, "a VPN's DNS was set anew while it was up: left as it is");
                continue;
            }
            let (etc, nss) = (self.dns.etc(), self.dns.host_nsswitch());
            let put = match &saved.before {
                Some(before) => dns::write(etc, name, &from_strings(before), nss),
                None => dns::remove(etc, name),
            };
            if let Err(e) = put {
                tracing::warn!(%name, "putting back the namespace's DNS: {e}");
                continue;
            }
            if !saved.files.is_empty()
                && let Err(e) = dns::put_back(etc, name, &saved.files)
            {
                tracing::warn!(%name, "putting back the namespace's own DNS files: {e}");
            }
            tracing::info!(%name, "the DNS of a VPN of the previous run went; the namespace's own is back");
            keep.retain(|e| !matches!(e, Entry::DnsSet { name: n, .. } if n == name));
            match &saved.before {
                Some(before) => {
                    keep.push(Entry::DnsSet {
                        name: name.clone(),
                        servers: before.0.clone(),
                        search: before.1.clone(),
                    });
                    self.dns.found(ns.number, from_strings(before));
                }
                None => {
                    self.dns.set(ns.number, None);
                }
            }
        }
    }
}

/// The journal's entry for a namespace's DNS set (Some) or cleared (None).
fn dns_entry(name: &str, d: &Option<Dns>) -> Entry {
    match d {
        Some(d) => Entry::DnsSet {
            name: name.to_owned(),
            servers: d.servers.iter().map(|s| s.to_string()).collect(),
            search: d.search.clone(),
        },
        None => Entry::DnsCleared {
            name: name.to_owned(),
        },
    }
}

/// A namespace's DNS files being written (or removed) on a blocking thread:
/// what [`Manager::start_dns`] began and [`Manager::finish_dns`] completes.
pub(super) struct DnsWrite {
    ns: u32,
    name: String,
    d: Option<Dns>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}
