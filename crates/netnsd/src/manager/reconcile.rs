//! Start-up: the journal of the previous run reconciled with /run/netns.
//! Namespaces found are taken in (managed if the journal says this daemon
//! made them) with their uplinks and DNS settings; what belonged to
//! namespaces that went while the daemon was down is queued for removal;
//! VPN clients and connection namespaces left by the previous run go.

use std::collections::BTreeMap;

use netnsd_api::{Error, ROOT_NS_NAME};

use super::{Later, Manager, Namespace};
use crate::dns::Dns;
use crate::record::{Entry, NetnsRecord, Recorded, UplinkRecord};

impl Manager {
    pub(super) fn reconcile(&mut self, recorded: Recorded) -> Result<(), Error> {
        let records = &recorded.netns;
        let found = self
            .run_dir
            .scan()
            .map_err(|e| Error::Failed(format!("scan {}: {e}", self.run_dir.dir().display())))?;
        let mut keep = Vec::new();
        for f in found {
            let record = records.get(&f.name);
            match f.inode {
                Some(_) if f.name == ROOT_NS_NAME => {
                    tracing::warn!(
                        "ignoring /run/netns/{ROOT_NS_NAME}: the name is reserved for the root namespace"
                    );
                }
                Some(inode) => {
                    let (managed, persistent) = match record {
                        Some(NetnsRecord::Created {
                            inode: i,
                            persistent,
                        }) if *i == inode => (true, *persistent),
                        // Made by us; the crash came before the end was
                        // recorded: persistent as the create meant it (a
                        // connection's namespace is not, and goes below).
                        Some(NetnsRecord::Creating { persistent }) => (true, *persistent),
                        _ => (false, true),
                    };
                    if managed {
                        keep.push(Entry::NetnsCreated {
                            name: f.name.clone(),
                            inode,
                            persistent,
                        });
                    }
                    tracing::info!(name = %f.name, inode, managed, "found namespace");
                    let number = self.namespaces.number();
                    let path = self.path_of(&f.name);
                    let ns = Namespace::new(number, f.name, inode, path, persistent, managed);
                    if let Some(u) = recorded.uplinks.get(&ns.name) {
                        keep.push(Entry::UplinkSet {
                            name: ns.name.clone(),
                            uplink: u.clone(),
                        });
                        self.uplinks.found(number, u.clone());
                    }
                    if let Some((servers, search)) = recorded.dns.get(&ns.name) {
                        keep.push(Entry::DnsSet {
                            name: ns.name.clone(),
                            servers: servers.clone(),
                            search: search.clone(),
                        });
                        let dns = Dns {
                            servers: servers.iter().filter_map(|s| s.parse().ok()).collect(),
                            search: search.clone(),
                        };
                        self.dns.found(number, dns);
                    }
                    self.namespaces.insert(ns);
                }
                // Ours and half made (a crash between creating the file
                // and binding the namespace on it), or half removed (a crash
                // between unmounting it and unlinking the file: the record
                // still says Created).
                None if record.is_some() => {
                    tracing::info!(name = %f.name, ?record, "removing a namespace file left half made or half removed by a crash");
                    if let Err(e) = self.run_dir.remove_leftover(&f.name) {
                        tracing::warn!(name = %f.name, "{e}");
                    }
                }
                // Perhaps `ip netns add` is under way: look again shortly.
                None => {
                    let _ = self.later_tx.send(Later::Adopt(f.name, 0));
                }
            }
        }
        for (name, rec) in records {
            if !self.namespaces.contains(name) {
                tracing::info!(%name, ?rec, "dropping the record of a namespace that is gone");
            }
        }
        // What belonged to namespaces that went away while the daemon was
        // down: their NAT elements and /etc/netns files. (Their veths died
        // with them.)
        for (name, u) in &recorded.uplinks {
            if self.namespaces.contains(name) {
                continue;
            }
            tracing::info!(%name, "removing what is left of the uplink of a namespace that is gone");
            self.uplinks.defer_teardown(name.clone(), u.clone());
        }
        for name in recorded.dns.keys() {
            if !self.namespaces.contains(name)
                && let Err(e) = crate::dns::remove(self.dns.etc(), name)
            {
                tracing::warn!(%name, "removing /etc/netns files: {e}");
            }
        }
        // VPN clients of activations that were running when the daemon died
        // are ours and orphaned: stop them (their tunnels go with them).
        for (active, (pid, tundev)) in &recorded.vpn_clients {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if is_our_client(&cmdline, tundev) {
                tracing::info!(active, pid, "stopping a VPN client left by a previous run");
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            // Its helper socket and secret files (`N.sock`, `N.auth`, …).
            let prefix = format!("{active}.");
            let dir = self.state_dir.join("vpn");
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        // Clients a crash cut while they were started (before their pid
        // was recorded): found by their command line, which names the
        // tunnel.
        for (active, tundev) in &recorded.vpn_starting {
            for pid in clients_of(tundev) {
                tracing::info!(active, pid, %tundev, "stopping a VPN client a crash cut while it was started");
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
        // No activation outlives a run: every helper socket and secret
        // file left is the previous run's, including those of an
        // activation a crash cut before its client was recorded.
        let dir = self.state_dir.join("vpn");
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            tracing::info!(file = %e.path().display(), "removing an activation's file left by the previous run");
            let _ = std::fs::remove_file(e.path());
        }
        // Namespaces made for connections (not persistent) whose connection
        // is gone with the previous run: removed, unless something still
        // runs in them.
        let transient: Vec<Namespace> = self
            .namespaces
            .all()
            .into_iter()
            .filter(|n| n.managed && !n.persistent)
            .collect();
        for ns in transient {
            if netns_in_use(ns.inode) {
                tracing::info!(name = %ns.name, "keeping a connection's namespace: processes still run in it");
                continue;
            }
            tracing::info!(name = %ns.name, "removing the namespace of a connection that ended with the previous run");
            match self.run_dir.remove(&ns.name) {
                Ok(()) => {
                    self.namespaces.discard(ns.number);
                    self.uplinks.take(ns.number);
                    self.dns.forget(ns.number);
                    keep.retain(|e| {
                        !matches!(e,
                            Entry::NetnsCreated { name, .. }
                            | Entry::UplinkSet { name, .. }
                            | Entry::DnsSet { name, .. } if *name == ns.name)
                    });
                    if let Some(u) = recorded.uplinks.get(&ns.name) {
                        self.uplinks.defer_teardown(ns.name.clone(), u.clone());
                    }
                    let _ = crate::dns::remove(self.dns.etc(), &ns.name);
                }
                Err(e) => tracing::warn!(name = %ns.name, "{e}"),
            }
        }
        // Uplinks a crash cut short (begun, neither set nor undone): what of
        // them reached the kernel (a host end and uplink0, addresses,
        // forwarding, a NAT element) is removed once the platforms are open,
        // so the namespace is left with no uplink, and can be given one.
        for (name, u) in &recorded.uplinks_setting {
            if let Some(owner) = in_use_by(&recorded.uplinks, name, u) {
                tracing::warn!(%name, %owner, "not undoing a half-made uplink: {owner:?}'s uplink uses its names");
                continue;
            }
            tracing::info!(%name, ?u, "undoing an uplink a crash left half made");
            if let UplinkRecord::Veth { slot, .. } = u {
                // Taken until the teardown gives it back.
                self.uplinks.reserve(*slot);
            }
            keep.push(Entry::UplinkSetting {
                name: name.clone(),
                uplink: u.clone(),
            });
            self.uplinks.defer_teardown(name.clone(), u.clone());
        }
        for ((ns, key), old) in &recorded.sysctls {
            keep.push(Entry::SysctlSet {
                ns: ns.clone(),
                key: key.clone(),
                old: old.clone(),
            });
            self.uplinks
                .sysctl_found(ns.clone(), key.clone(), old.clone());
        }
        // MSS clamps stay in the kernel across a restart: taken in as they
        // are, for the namespaces still here (a gone one took its table).
        for (name, ifnames) in &recorded.mss {
            if let Some(n) = self.namespaces.get(name) {
                keep.push(Entry::MssClamp {
                    ns: name.clone(),
                    ifnames: ifnames.clone(),
                });
                self.mss.insert(n.number, ifnames.iter().cloned().collect());
            }
        }
        keep.extend(self.forwards_found(&recorded.forwards));
        self.reconcile_vpn_dns(&recorded, &mut keep);
        self.reconcile_forwarders(&recorded, &mut keep);
        // Programs run by Spawn as systemd units: systemd kept them running;
        // they are taken back where their namespace still is.
        let mut units = Vec::new();
        for (unit, (ns, pid)) in &recorded.spawn_units {
            if let Some(n) = self.namespaces.get(ns) {
                keep.push(Entry::SpawnUnitStarted {
                    unit: unit.clone(),
                    ns: ns.clone(),
                    pid: *pid,
                });
                units.push((unit.clone(), n.number, *pid));
            }
        }
        self.adopt_units(units);
        // Programs the previous run forked that still run, where their
        // namespace still is.
        let forked = recorded
            .spawn_forked
            .iter()
            .filter_map(|(pid, (ns, start))| {
                let n = self.namespaces.get(ns)?;
                Some((ns.clone(), n.number, *pid, *start))
            })
            .collect();
        keep.extend(self.adopt_forked(forked));
        self.journal
            .rewrite(&keep)
            .map_err(|e| Error::Failed(format!("rewrite the journal: {e}")))
    }
}

/// The namespace whose finished uplink uses the host end (veth) or the
/// uplink0 (macvlan, same namespace) of `name`'s half-made `u`, if any.
fn in_use_by(
    done: &BTreeMap<String, UplinkRecord>,
    name: &str,
    u: &UplinkRecord,
) -> Option<String> {
    done.iter()
        .find(|(other, d)| match (u, d) {
            (
                UplinkRecord::Veth {
                    uplink_ns, host_if, ..
                },
                UplinkRecord::Veth {
                    uplink_ns: u2,
                    host_if: h2,
                    ..
                },
            ) => uplink_ns == u2 && host_if == h2,
            _ => *other == name,
        })
        .map(|(other, _)| other.clone())
}

/// Whether any process is in the network namespace with this inode.
fn netns_in_use(inode: u64) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return false;
    };
    rd.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .any(|e| std::fs::metadata(e.path().join("ns/net")).is_ok_and(|m| m.ino() == inode))
}

/// The pids of the processes whose command line is a VPN client of
/// tunnel `tundev` (see [`is_our_client`]).
fn clients_of(tundev: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if is_our_client(&cmdline, tundev) {
            pids.push(pid);
        }
    }
    pids
}

/// Whether a process's command line (NUL-separated) is the VPN client the
/// journal recorded for tunnel `tundev`: openvpn and openconnect run with
/// the daemon's `--vpn-helper` and name the tunnel; wireguard-go has no
/// helper and runs as `wireguard-go -f TUNDEV`.
fn is_our_client(cmdline: &[u8], tundev: &str) -> bool {
    let args: Vec<&[u8]> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .collect();
    let text = String::from_utf8_lossy(cmdline);
    let helper = (text.contains("--vpn-helper") || text.contains("--vpn-plugin-host"))
        && args.iter().any(|a| a.ends_with(tundev.as_bytes()));
    let wireguard_go = args.first().is_some_and(|a| a.ends_with(b"wireguard-go"))
        && args[1..] == [b"-f".as_slice(), tundev.as_bytes()];
    helper || wireguard_go
}

#[cfg(test)]
mod client_tests {
    use super::is_our_client;

    #[test]
    fn recorded_clients_are_recognised() {
        assert!(is_our_client(b"wireguard-go\0-f\0nsvpn3\0", "nsvpn3"));
        assert!(is_our_client(
            b"/usr/bin/wireguard-go\0-f\0nsvpn3\0",
            "nsvpn3"
        ));
        assert!(!is_our_client(b"wireguard-go\0-f\0nsvpn30\0", "nsvpn3"));
        assert!(!is_our_client(b"wireguard-go\0-f\0wgs0\0", "nsvpn3"));
        assert!(is_our_client(
            b"openconnect\0--interface=nsvpn1\0--script\0/usr/libexec/netnsd --vpn-helper /run/netnsd/vpn/1.sock\0gw\0",
            "nsvpn1"
        ));
        assert!(!is_our_client(b"sleep\0nsvpn1\0", "nsvpn1"));
        assert!(!is_our_client(b"", "nsvpn1"));
    }
}
