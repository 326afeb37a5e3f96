//! Split DNS: a namespace with its own DNS (an uplink's, SetDns) that gains
//! a VPN which is not isolated, and which pushed domains and name servers,
//! gets a forwarder (dnsmasq, [`crate::forwarder`]) run inside it: the
//! VPN's domains are asked of the VPN's servers, everything else of the
//! namespace's own, and its resolv.conf names the forwarder (127.0.0.1).
//! When the last such VPN ends the forwarder stops and the namespace's own
//! DNS comes back. Journalled: a restarted daemon (whose VPNs are gone)
//! stops a forwarder left running and puts the namespace's DNS back.

use std::net::IpAddr;

use netnsd_api::{Error, ROOT_NS_NAME};
use nix::sys::signal::Signal;

use super::state::{Forwarder, LISTEN};
use super::{Later, Manager};
use crate::dns::Dns;
use crate::forwarder::{self, Files};
use crate::record::{Entry, Recorded};

/// How many times a forwarder that ended by itself is started again.
const MAX_RESTARTS: u32 = 3;
/// How long a starting forwarder has to listen.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl Manager {
    /// VPN `n`, not isolated, is up in namespace `ns` with these name
    /// servers and domains: their queries go to its servers from now on.
    /// Nothing happens without both, or if the namespace has no DNS of its
    /// own (then there is nothing to split from); a forwarder that cannot
    /// start leaves the namespace's DNS as it was.
    pub(super) async fn split_dns_up(
        &mut self,
        n: u32,
        ns: u32,
        servers: &[IpAddr],
        domains: &[String],
    ) {
        let Ok(target) = self.namespace(ns) else {
            return;
        };
        if target.name == ROOT_NS_NAME || servers.is_empty() {
            return;
        }
        let mut ok = Vec::new();
        for d in domains {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if !forwarder::valid_domain(&d) {
                tracing::warn!(active = n, domain = ?d, "not a domain name: ignored for split DNS");
            } else if !ok.contains(&d) {
                ok.push(d);
            }
        }
        if ok.is_empty() {
            return;
        }
        if self.forwarders.add_vpn(ns, n, ok.clone(), servers.to_vec()) {
            return self.forwarder_changed(ns).await;
        }
        let upstream = match self.dns.get(ns) {
            Some(d) if !d.servers.is_empty() && d.servers != [LISTEN] => d,
            _ => {
                tracing::info!(name = %target.name, "no DNS of the namespace's own: no split DNS");
                return;
            }
        };
        if let Err(e) = self
            .start_forwarder(ns, &target.name, upstream, n, ok, servers.to_vec())
            .await
        {
            tracing::warn!(name = %target.name, "starting the split DNS forwarder: {}", e.message());
        }
    }

    async fn start_forwarder(
        &mut self,
        ns: u32,
        name: &str,
        upstream: Dns,
        n: u32,
        domains: Vec<String>,
        servers: Vec<IpAddr>,
    ) -> Result<(), Error> {
        let mut fw = Forwarder {
            name: name.to_owned(),
            pid: 0,
            restarts: 0,
            upstream,
            vpns: [(n, (domains, servers))].into(),
        };
        self.record(Entry::ForwarderStarting {
            name: name.to_owned(),
            servers: fw.upstream.servers.iter().map(|s| s.to_string()).collect(),
            search: fw.upstream.search.clone(),
        })?;
        if let Err(e) = self.spawn_forwarder(ns, &mut fw).await {
            Files::of(&self.state_dir, name).remove();
            self.record(Entry::ForwarderStopped {
                name: name.to_owned(),
            })?;
            return Err(e);
        }
        let resolv = fw.resolv();
        self.forwarders.insert(ns, fw);
        if let Err(e) = self.set_vpn_dns(ns, resolv).await {
            self.stop_forwarder(ns).await;
            return Err(e);
        }
        Ok(())
    }

    /// Writes `fw`'s files and starts its dnsmasq in namespace `ns`,
    /// recording its pid and watching for its end.
    async fn spawn_forwarder(&mut self, ns: u32, fw: &mut Forwarder) -> Result<(), Error> {
        let name = fw.name.clone();
        let files = Files::of(&self.state_dir, &name);
        let conf = forwarder::conf_text(&name, &files);
        let servers_text = forwarder::servers_text(&fw.upstream.servers, &fw.split());
        let target = self.namespace(ns)?;
        let netns = self.ns_file(&target)?;
        let started = tokio::task::spawn_blocking(move || {
            forwarder::write(&files, &conf, &servers_text)
                .map_err(|e| Error::Failed(format!("writing {}: {e}", files.conf.display())))?;
            let _ = std::fs::remove_file(&files.pid);
            let child = forwarder::start(&files, netns)?;
            // dnsmasq writes its pid file once it listens: only then does
            // resolv.conf name it (bounded; a slow start is logged).
            if !forwarder::wait_ready(&files, READY_WAIT) {
                tracing::warn!(pid = child.id(), "the split DNS forwarder is slow to start");
            }
            Ok(child)
        })
        .await
        .map_err(|e| Error::Failed(format!("starting the forwarder: {e}")))
        .and_then(|r| r);
        let mut child = started?;
        fw.pid = child.id();
        self.record(Entry::ForwarderStarted {
            name: name.clone(),
            pid: fw.pid,
        })?;
        tracing::info!(%name, pid = fw.pid, "split DNS forwarder started");
        if let Some(err) = child.stderr.take() {
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                    tracing::debug!(target: "netnsd::dnsmasq", %name, "{line}");
                }
            });
        }
        let (later, pid) = (self.later_tx.clone(), fw.pid);
        crate::vpn::launch::watch_exit(child, move |status| {
            let _ = later.send(Later::ForwarderExited(ns, pid, status));
        });
        Ok(())
    }

    /// The VPNs of namespace `ns`'s forwarder changed: its servers file is
    /// written again (dnsmasq reads it on SIGHUP), and the search list.
    async fn forwarder_changed(&mut self, ns: u32) {
        let Some(fw) = self.forwarders.get(ns).cloned() else {
            return;
        };
        let files = Files::of(&self.state_dir, &fw.name);
        let text = forwarder::servers_text(&fw.upstream.servers, &fw.split());
        match forwarder::write_servers(&files, &text) {
            Ok(()) => forwarder::signal(fw.pid, Signal::SIGHUP),
            Err(e) => tracing::warn!(name = %fw.name, "writing the forwarder's servers: {e}"),
        }
        if let Err(e) = self.set_vpn_dns(ns, fw.resolv()).await {
            tracing::warn!(name = %fw.name, "writing the namespace's DNS: {}", e.message());
        }
    }

    /// VPN `n` ended: its domains go from the forwarder, which stops with
    /// the last of them (the namespace's own DNS then comes back).
    pub(super) async fn split_dns_down(&mut self, n: u32) {
        match self.forwarders.remove_vpn(n) {
            Some((ns, true)) => self.forwarder_changed(ns).await,
            Some((ns, false)) => {
                self.stop_forwarder(ns).await;
                self.vpn_dns_ended(ns).await;
            }
            None => {}
        }
    }

    /// Stops namespace `ns`'s forwarder (if any) and removes its files;
    /// its resolv.conf is the caller's to put back (or remove).
    pub(super) async fn stop_forwarder(&mut self, ns: u32) {
        let Some(fw) = self.forwarders.take(ns) else {
            return;
        };
        forwarder::signal(fw.pid, Signal::SIGTERM);
        Files::of(&self.state_dir, &fw.name).remove();
        let _ = self.record(Entry::ForwarderStopped {
            name: fw.name.clone(),
        });
        tracing::info!(name = %fw.name, pid = fw.pid, "split DNS forwarder stopped");
    }

    /// A forwarder process ended. If it was not asked to, it is started
    /// again (up to MAX_RESTARTS times); after that the namespace's
    /// resolv.conf still names it, so the VPN's names fail rather than go
    /// to the uplink's servers, until the VPN goes down.
    pub(super) async fn forwarder_exited(&mut self, ns: u32, pid: u32, status: i32) {
        let Some(mut fw) = self.forwarders.get(ns).cloned() else {
            return;
        };
        if fw.pid != pid {
            return;
        }
        fw.pid = 0;
        if fw.restarts >= MAX_RESTARTS {
            tracing::error!(name = %fw.name, pid, status, "the split DNS forwarder ended again: not restarted; names in the namespace fail until the VPN goes down");
            self.forwarders.insert(ns, fw);
            return;
        }
        fw.restarts += 1;
        tracing::warn!(name = %fw.name, pid, status, "the split DNS forwarder ended by itself: starting it again");
        if let Err(e) = self.spawn_forwarder(ns, &mut fw).await {
            tracing::error!(name = %fw.name, "starting the split DNS forwarder again: {}", e.message());
        }
        self.forwarders.insert(ns, fw);
    }

    /// At start: forwarders the previous run left are stopped (the VPNs
    /// they served did not survive it) and, where a namespace's DNS still
    /// names the forwarder, its own DNS is put back.
    pub(super) fn reconcile_forwarders(&mut self, recorded: &Recorded, keep: &mut Vec<Entry>) {
        if recorded.forwarders.is_empty() {
            return;
        }
        let ours: Vec<(String, Files)> = recorded
            .forwarders
            .keys()
            .map(|name| (name.clone(), Files::of(&self.state_dir, name)))
            .collect();
        for (pid, cmdline) in processes() {
            if let Some((name, _)) = ours
                .iter()
                .find(|(_, f)| forwarder::is_ours(&cmdline, &f.conf))
            {
                tracing::info!(%name, pid, "stopping a split DNS forwarder left by a previous run");
                forwarder::signal(pid, Signal::SIGTERM);
            }
        }
        for (name, files) in &ours {
            files.remove();
            let rec = &recorded.forwarders[name];
            let Some(ns) = self.namespaces.get(name) else {
                continue;
            };
            if self
                .dns
                .get(ns.number)
                .is_none_or(|d| d.servers != [LISTEN])
            {
                continue;
            }
            let upstream = Dns {
                servers: rec.servers.iter().filter_map(|s| s.parse().ok()).collect(),
                search: rec.search.clone(),
            };
            let written =
                crate::dns::write(self.dns.etc(), name, &upstream, self.dns.host_nsswitch());
            if let Err(e) = written {
                tracing::warn!(%name, "putting back the namespace's DNS: {e}");
                continue;
            }
            tracing::info!(%name, "the namespace's own DNS is back (its forwarder was left by a previous run)");
            keep.retain(|e| !matches!(e, Entry::DnsSet { name: n, .. } if n == name));
            keep.push(Entry::DnsSet {
                name: name.clone(),
                servers: rec.servers.clone(),
                search: rec.search.clone(),
            });
            self.dns.found(ns.number, upstream);
        }
    }
}

/// Every process's pid and command line.
fn processes() -> Vec<(u32, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, std::fs::read(format!("/proc/{pid}/cmdline")).ok()?)))
        .collect()
}
