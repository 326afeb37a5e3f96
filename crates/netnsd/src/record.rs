//! The record of what the daemon changed on the host, kept under /run/netnsd
//! so that a daemon restarted after a crash finds its work again.
//!
//! It is an append-only journal of JSON lines: one `write(2)` per change, so a
//! crash loses at most the change under way, never the rest. At start the
//! journal is replayed, checked against the host and written anew, compacted.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Entry {
    /// About to create /run/netns/NAME, to be `persistent` or not (a
    /// connection's namespace is not): a crash before its `NetnsCreated`
    /// leaves a namespace the next start treats as that. Journals written
    /// before the field say persistent.
    NetnsCreating {
        name: String,
        #[serde(default = "yes")]
        persistent: bool,
    },
    /// /run/netns/NAME is a namespace the daemon made.
    NetnsCreated {
        name: String,
        inode: u64,
        persistent: bool,
    },
    /// The daemon's namespace NAME is gone (removed, or a create undone).
    NetnsRemoved {
        name: String,
    },
    /// About to make namespace NAME's uplink (before anything of it is in
    /// the kernel): a crash before its `UplinkSet` or `UplinkUndone` leaves
    /// a half-made uplink, which the next start removes.
    UplinkSetting {
        name: String,
        uplink: UplinkRecord,
    },
    /// A failed `UplinkSetting` was undone (or the next start undid it).
    UplinkUndone {
        name: String,
    },
    /// Namespace NAME got an uplink (veth and NAT, or macvlan).
    UplinkSet {
        name: String,
        uplink: UplinkRecord,
    },
    /// Namespace NAME's uplink was taken down.
    UplinkCleared {
        name: String,
    },
    /// /etc/netns/NAME was written.
    DnsSet {
        name: String,
        servers: Vec<String>,
        search: Vec<String>,
    },
    /// /etc/netns/NAME was removed.
    DnsCleared {
        name: String,
    },
    /// A sysctl in namespace NS was changed from OLD; put OLD back when
    /// nothing needs the change any more.
    SysctlSet {
        ns: String,
        key: String,
        old: String,
    },
    SysctlRestored {
        ns: String,
        key: String,
    },
    /// About to start activation ACTIVE's VPN client, for tunnel TUNDEV: a
    /// crash before its `VpnStarted` may leave a client no pid names,
    /// which the next start finds by its command line.
    VpnStarting {
        active: u32,
        tundev: String,
    },
    /// A VPN client process was started for an activation.
    VpnStarted {
        active: u32,
        pid: u32,
        tundev: String,
    },
    /// That activation ended.
    VpnStopped {
        active: u32,
    },
    /// The devices of namespace NS whose forwarded SYNs are MSS-clamped
    /// (table inet netnsd-mss there), the whole list after a change; empty:
    /// the table is gone.
    MssClamp {
        ns: String,
        ifnames: Vec<String>,
    },
    /// A port forward into namespace NAME, recorded before its rules are
    /// applied (in the table of its uplink namespace).
    ForwardAdded {
        name: String,
        id: u32,
        forward: netnsd_api::forward::Forward,
    },
    /// That forward was removed (or its rules were never applied).
    ForwardRemoved {
        name: String,
        id: u32,
    },
    /// All of namespace NAME's forwards went (with its uplink, or with it).
    ForwardsCleared {
        name: String,
    },
    /// About to start namespace NAME's split DNS forwarder (dnsmasq, its
    /// files under STATE_DIR/dnsmasq), forwarding to the namespace's own
    /// DNS, which comes back when it stops.
    ForwarderStarting {
        name: String,
        servers: Vec<String>,
        search: Vec<String>,
    },
    /// It runs, as PID.
    ForwarderStarted {
        name: String,
        pid: u32,
    },
    /// It was stopped (or ended) and its files removed.
    ForwarderStopped {
        name: String,
    },
    /// A program run by Spawn as a systemd unit (where systemd runs):
    /// the unit is systemd's, and outlives the daemon; a restarted daemon
    /// takes it back, so that the namespace stays in use and the program's
    /// end is announced.
    SpawnUnitStarted {
        unit: String,
        ns: String,
        pid: u32,
    },
    /// That program ended and its unit was let go.
    SpawnUnitEnded {
        unit: String,
    },
    /// A program Spawn forked itself (no systemd): it outlives a crash of
    /// the daemon; `start` (its start time in /proc) tells it from a later
    /// process with the same pid.
    SpawnForked {
        ns: String,
        pid: u32,
        start: u64,
    },
    /// That program ended.
    SpawnForkedEnded {
        pid: u32,
    },
    /// A VPN (or a split DNS forwarder) is about to write its DNS over
    /// namespace NAME's: what was there — netnsd's own DNS (`before`) and
    /// an administrator's files (name, contents) — comes back when it ends,
    /// or at the next start after a crash (no VPN outlives a run). Recorded
    /// again by a VPN that writes again: `before` and `files` stay the
    /// first's, `wrote` is the last.
    VpnDnsSaved {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<(Vec<String>, Vec<String>)>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<(String, Vec<u8>)>,
        wrote: (Vec<String>, Vec<String>),
    },
    /// That VPN's DNS ended: what it wrote over is back (or was set anew
    /// while it was up).
    VpnDnsEnded {
        name: String,
    },
}

/// What an uplink is made of, enough to find and remove it after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum UplinkRecord {
    Veth {
        /// The namespace holding the host end.
        uplink_ns: String,
        host_if: String,
        slot: u32,
        /// Whether it has IPv6 (its NAT has an IPv6 element).
        #[serde(default = "yes")]
        ipv6: bool,
        /// The bridge whose port the host end is (the bridge topology);
        /// none for a routed host end.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bridge: Option<String>,
    },
    Macvlan {
        uplink_ns: String,
        parent: String,
        /// Empty for a DHCP uplink without a lease yet.
        address: String,
        gateway: Option<String>,
        /// Addressed by DHCP (the `dhcp` option).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dhcp: bool,
        /// The lease held: what a restarted daemon renews.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lease: Option<crate::dhcp::Lease>,
    },
}

fn yes() -> bool {
    true
}

/// Everything the journal says, after replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub netns: BTreeMap<String, NetnsRecord>,
    pub uplinks: BTreeMap<String, UplinkRecord>,
    /// Uplinks begun and neither finished nor undone (a crash came between):
    /// namespace name → what was being made.
    pub uplinks_setting: BTreeMap<String, UplinkRecord>,
    /// Namespace name → (servers, search).
    pub dns: BTreeMap<String, (Vec<String>, Vec<String>)>,
    /// (namespace, key) → original value.
    pub sysctls: BTreeMap<(String, String), String>,
    /// VPN clients that were running: active number → (pid, tunnel device).
    pub vpn_clients: BTreeMap<u32, (u32, String)>,
    /// VPN clients being started (no pid recorded yet): active number →
    /// tunnel device.
    pub vpn_starting: BTreeMap<u32, String>,
    /// Namespace name → its MSS-clamped devices.
    pub mss: BTreeMap<String, Vec<String>>,
    /// Port forwards: namespace name → id → forward.
    pub forwards: BTreeMap<String, BTreeMap<u32, netnsd_api::forward::Forward>>,
    /// Split DNS forwarders that were running (or starting): namespace
    /// name → the namespace's own DNS and the pid, once known.
    pub forwarders: BTreeMap<String, ForwarderRecord>,
    /// Spawned programs running as units: unit name → (namespace, pid).
    pub spawn_units: BTreeMap<String, (String, u32)>,
    /// Spawned programs the daemon forked: pid → (namespace, start time).
    pub spawn_forked: BTreeMap<u32, (String, u64)>,
    /// Namespaces whose DNS a VPN wrote over: name → what was there.
    pub vpn_dns: BTreeMap<String, VpnDnsRecord>,
}

/// What the journal says about a namespace's DNS under a VPN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VpnDnsRecord {
    /// netnsd's own DNS there before (servers, search), if any.
    pub before: Option<(Vec<String>, Vec<String>)>,
    /// An administrator's files that were there: name and contents.
    pub files: Vec<(String, Vec<u8>)>,
    /// What the VPN wrote (servers, search).
    pub wrote: (Vec<String>, Vec<String>),
}

/// What the journal says about a split DNS forwarder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwarderRecord {
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub pid: Option<u32>,
}

/// What the journal says about one namespace after replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetnsRecord {
    /// A create began and its end was never recorded.
    Creating {
        persistent: bool,
    },
    Created {
        inode: u64,
        persistent: bool,
    },
}

/// Once this much has been appended since the journal was last written
/// whole, it is compacted: replayed and written anew with only what it
/// still says (a daemon that makes and removes namespaces for days keeps a
/// small journal).
const COMPACT_AFTER: u64 = 64 << 10;

pub struct Journal {
    path: PathBuf,
    file: File,
    /// Bytes appended since the journal was last written whole.
    appended: u64,
}

impl Recorded {
    /// The fewest entries that replay to this state.
    pub fn entries(&self) -> Vec<Entry> {
        let mut e = Vec::new();
        for (name, r) in &self.netns {
            e.push(match r {
                NetnsRecord::Creating { persistent } => Entry::NetnsCreating {
                    name: name.clone(),
                    persistent: *persistent,
                },
                NetnsRecord::Created { inode, persistent } => Entry::NetnsCreated {
                    name: name.clone(),
                    inode: *inode,
                    persistent: *persistent,
                },
            });
        }
        // Set before setting: an UplinkSet ends a setting of the same name.
        for (name, u) in &self.uplinks {
            e.push(Entry::UplinkSet {
                name: name.clone(),
                uplink: u.clone(),
            });
        }
        for (name, u) in &self.uplinks_setting {
            e.push(Entry::UplinkSetting {
                name: name.clone(),
                uplink: u.clone(),
            });
        }
        for (name, (servers, search)) in &self.dns {
            e.push(Entry::DnsSet {
                name: name.clone(),
                servers: servers.clone(),
                search: search.clone(),
            });
        }
        for ((ns, key), old) in &self.sysctls {
            e.push(Entry::SysctlSet {
                ns: ns.clone(),
                key: key.clone(),
                old: old.clone(),
            });
        }
        for (active, tundev) in &self.vpn_starting {
            e.push(Entry::VpnStarting {
                active: *active,
                tundev: tundev.clone(),
            });
        }
        for (active, (pid, tundev)) in &self.vpn_clients {
            e.push(Entry::VpnStarted {
                active: *active,
                pid: *pid,
                tundev: tundev.clone(),
            });
        }
        for (ns, ifnames) in &self.mss {
            e.push(Entry::MssClamp {
                ns: ns.clone(),
                ifnames: ifnames.clone(),
            });
        }
        for (name, fs) in &self.forwards {
            for (id, forward) in fs {
                e.push(Entry::ForwardAdded {
                    name: name.clone(),
                    id: *id,
                    forward: forward.clone(),
                });
            }
        }
        for (name, f) in &self.forwarders {
            e.push(Entry::ForwarderStarting {
                name: name.clone(),
                servers: f.servers.clone(),
                search: f.search.clone(),
            });
            if let Some(pid) = f.pid {
                e.push(Entry::ForwarderStarted {
                    name: name.clone(),
                    pid,
                });
            }
        }
        for (unit, (ns, pid)) in &self.spawn_units {
            e.push(Entry::SpawnUnitStarted {
                unit: unit.clone(),
                ns: ns.clone(),
                pid: *pid,
            });
        }
        for (pid, (ns, start)) in &self.spawn_forked {
            e.push(Entry::SpawnForked {
                ns: ns.clone(),
                pid: *pid,
                start: *start,
            });
        }
        for (name, v) in &self.vpn_dns {
            e.push(Entry::VpnDnsSaved {
                name: name.clone(),
                before: v.before.clone(),
                files: v.files.clone(),
                wrote: v.wrote.clone(),
            });
        }
        e
    }
}

impl Journal {
    /// Opens (creating) the journal in `state_dir`, and returns it with the
    /// state its existing entries describe.
    pub fn open(state_dir: &Path) -> io::Result<(Journal, Recorded)> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(state_dir)?;
        let path = state_dir.join("journal");
        let state = match File::open(&path) {
            Ok(f) => replay(BufReader::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Recorded::default(),
            Err(e) => return Err(e),
        };
        let file = open_append(&path)?;
        let appended = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok((
            Journal {
                path,
                file,
                appended,
            },
            state,
        ))
    }

    /// Records one change; now and then, compacts the journal.
    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.appended += line.len() as u64;
        if self.appended >= COMPACT_AFTER
            && let Err(e) = self.compact()
        {
            // Not fatal: the journal is whole, only longer.
            tracing::warn!("compacting the journal: {e}");
        }
        Ok(())
    }

    /// Replays the journal and writes it anew with only what it still says.
    pub fn compact(&mut self) -> io::Result<()> {
        let state = replay(BufReader::new(File::open(&self.path)?));
        let entries = state.entries();
        self.rewrite(&entries)?;
        tracing::debug!(entries = entries.len(), "journal compacted");
        Ok(())
    }

    /// Replaces the journal with just `entries`, atomically.
    pub fn rewrite(&mut self, entries: &[Entry]) -> io::Result<()> {
        let tmp = self.path.with_extension("new");
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            for e in entries {
                let mut line = serde_json::to_vec(e).map_err(io::Error::other)?;
                line.push(b'\n');
                f.write_all(&line)?;
            }
        }
        fs::rename(&tmp, &self.path)?;
        self.file = open_append(&self.path)?;
        self.appended = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

/// Folds journal lines into state. Unreadable lines (a write cut short by a
/// crash) are skipped.
fn replay(r: impl BufRead) -> Recorded {
    let mut st = Recorded::default();
    for line in r.lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<Entry>(&line) {
            Ok(Entry::NetnsCreating { name, persistent }) => {
                st.netns.insert(name, NetnsRecord::Creating { persistent });
            }
            Ok(Entry::NetnsCreated {
                name,
                inode,
                persistent,
            }) => {
                st.netns
                    .insert(name, NetnsRecord::Created { inode, persistent });
            }
            Ok(Entry::NetnsRemoved { name }) => {
                st.vpn_dns.remove(&name);
                st.mss.remove(&name);
                st.netns.remove(&name);
                st.uplinks_setting.remove(&name);
                st.forwards.remove(&name);
            }
            Ok(Entry::UplinkSetting { name, uplink }) => {
                st.uplinks_setting.insert(name, uplink);
            }
            Ok(Entry::UplinkUndone { name }) => {
                st.uplinks_setting.remove(&name);
            }
            Ok(Entry::UplinkSet { name, uplink }) => {
                st.uplinks_setting.remove(&name);
                st.uplinks.insert(name, uplink);
            }
            Ok(Entry::UplinkCleared { name }) => {
                st.uplinks.remove(&name);
                st.forwards.remove(&name);
            }
            Ok(Entry::DnsSet {
                name,
                servers,
                search,
            }) => {
                st.dns.insert(name, (servers, search));
            }
            Ok(Entry::DnsCleared { name }) => {
                st.dns.remove(&name);
            }
            Ok(Entry::SysctlSet { ns, key, old }) => {
                st.sysctls.entry((ns, key)).or_insert(old);
            }
            Ok(Entry::SysctlRestored { ns, key }) => {
                st.sysctls.remove(&(ns, key));
            }
            Ok(Entry::VpnStarted {
                active,
                pid,
                tundev,
            }) => {
                st.vpn_starting.remove(&active);
                st.vpn_clients.insert(active, (pid, tundev));
            }
            Ok(Entry::VpnStarting { active, tundev }) => {
                st.vpn_starting.insert(active, tundev);
            }
            Ok(Entry::VpnStopped { active }) => {
                st.vpn_starting.remove(&active);
                st.vpn_clients.remove(&active);
            }
            Ok(Entry::MssClamp { ns, ifnames }) if ifnames.is_empty() => {
                st.mss.remove(&ns);
            }
            Ok(Entry::MssClamp { ns, ifnames }) => {
                st.mss.insert(ns, ifnames);
            }
            Ok(Entry::ForwardAdded { name, id, forward }) => {
                st.forwards.entry(name).or_default().insert(id, forward);
            }
            Ok(Entry::ForwardRemoved { name, id }) => {
                if let Some(f) = st.forwards.get_mut(&name) {
                    f.remove(&id);
                    if f.is_empty() {
                        st.forwards.remove(&name);
                    }
                }
            }
            Ok(Entry::ForwardsCleared { name }) => {
                st.forwards.remove(&name);
            }
            Ok(Entry::ForwarderStarting {
                name,
                servers,
                search,
            }) => {
                st.forwarders.insert(
                    name,
                    ForwarderRecord {
                        servers,
                        search,
                        pid: None,
                    },
                );
            }
            Ok(Entry::ForwarderStarted { name, pid }) => {
                if let Some(f) = st.forwarders.get_mut(&name) {
                    f.pid = Some(pid);
                }
            }
            Ok(Entry::ForwarderStopped { name }) => {
                st.forwarders.remove(&name);
            }
            Ok(Entry::SpawnUnitStarted { unit, ns, pid }) => {
                st.spawn_units.insert(unit, (ns, pid));
            }
            Ok(Entry::SpawnUnitEnded { unit }) => {
                st.spawn_units.remove(&unit);
            }
            Ok(Entry::SpawnForked { ns, pid, start }) => {
                st.spawn_forked.insert(pid, (ns, start));
            }
            Ok(Entry::SpawnForkedEnded { pid }) => {
                st.spawn_forked.remove(&pid);
            }
            Ok(Entry::VpnDnsSaved {
                name,
                before,
                files,
                wrote,
            }) => match st.vpn_dns.get_mut(&name) {
                Some(first) => first.wrote = wrote,
                None => {
                    st.vpn_dns.insert(
                        name,
                        VpnDnsRecord {
                            before,
                            files,
                            wrote,
                        },
                    );
                }
            },
            Ok(Entry::VpnDnsEnded { name }) => {
                st.vpn_dns.remove(&name);
            }
            Err(e) => tracing::warn!("skipping an unreadable journal line ({e}): {line:?}"),
        }
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry of every kind that leaves something behind, and some that
    /// take things away again.
    fn every_kind() -> Vec<Entry> {
        let veth = UplinkRecord::Veth {
            uplink_ns: "rootns".into(),
            host_if: "nsu1".into(),
            slot: 1,
            ipv6: true,
            bridge: None,
        };
        let fwd = netnsd_api::forward::Forward {
            proto: netnsd_api::forward::Proto::Tcp,
            host_port: 8080,
            host_address: None,
            port: 80,
        };
        vec![
            Entry::NetnsCreating {
                name: "a".into(),
                persistent: true,
            },
            Entry::NetnsCreated {
                name: "a".into(),
                inode: 7,
                persistent: true,
            },
            Entry::NetnsCreating {
                name: "half".into(),
                persistent: true,
            },
            Entry::UplinkSet {
                name: "a".into(),
                uplink: veth.clone(),
            },
            Entry::UplinkSetting {
                name: "half".into(),
                uplink: veth.clone(),
            },
            Entry::UplinkSetting {
                name: "a".into(),
                uplink: veth.clone(),
            },
            Entry::DnsSet {
                name: "a".into(),
                servers: vec!["10.0.0.53".into()],
                search: vec!["x".into()],
            },
            Entry::SysctlSet {
                ns: "rootns".into(),
                key: "k".into(),
                old: "0".into(),
            },
            Entry::VpnStarted {
                active: 3,
                pid: 99,
                tundev: "tun0".into(),
            },
            Entry::MssClamp {
                ns: "a".into(),
                ifnames: vec!["gre1".into()],
            },
            Entry::ForwardAdded {
                name: "a".into(),
                id: 1,
                forward: fwd.clone(),
            },
            Entry::ForwardAdded {
                name: "a".into(),
                id: 2,
                forward: fwd,
            },
            Entry::ForwardRemoved {
                name: "a".into(),
                id: 1,
            },
            Entry::ForwarderStarting {
                name: "a".into(),
                servers: vec!["1.1.1.1".into()],
                search: vec![],
            },
            Entry::ForwarderStarted {
                name: "a".into(),
                pid: 42,
            },
            Entry::ForwarderStarting {
                name: "half".into(),
                servers: vec![],
                search: vec![],
            },
            Entry::SpawnUnitStarted {
                unit: "u.service".into(),
                ns: "a".into(),
                pid: 5,
            },
            Entry::SpawnForked {
                ns: "a".into(),
                pid: 6,
                start: 123_456,
            },
            Entry::NetnsCreating {
                name: "gone".into(),
                persistent: true,
            },
            Entry::DnsSet {
                name: "gone".into(),
                servers: vec![],
                search: vec![],
            },
            Entry::DnsCleared {
                name: "gone".into(),
            },
            Entry::NetnsRemoved {
                name: "gone".into(),
            },
        ]
    }

    fn replayed(entries: &[Entry]) -> Recorded {
        let text: String = entries
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        replay(text.as_bytes())
    }

    #[test]
    fn the_entries_of_a_state_replay_to_it() {
        let state = replayed(&every_kind());
        // Every part of the state is there, so the round trip means something.
        assert!(!state.netns.is_empty() && !state.uplinks.is_empty());
        assert!(!state.uplinks_setting.is_empty() && !state.dns.is_empty());
        assert!(!state.sysctls.is_empty() && !state.vpn_clients.is_empty());
        assert!(!state.mss.is_empty() && !state.forwards.is_empty());
        assert!(!state.forwarders.is_empty() && !state.spawn_units.is_empty());
        assert!(!state.spawn_forked.is_empty());
        let entries = state.entries();
        assert!(entries.len() < every_kind().len());
        assert_eq!(replayed(&entries), state);
    }

    #[test]
    fn a_long_running_journal_is_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        for e in every_kind() {
            j.append(&e).unwrap();
        }
        let want = replayed(&every_kind());
        // Namespaces made and removed for a long while.
        for i in 0..5000 {
            let name = format!("churn{i}");
            j.append(&Entry::NetnsCreating {
                name: name.clone(),
                persistent: true,
            })
            .unwrap();
            j.append(&Entry::NetnsCreated {
                name: name.clone(),
                inode: i,
                persistent: true,
            })
            .unwrap();
            j.append(&Entry::NetnsRemoved { name }).unwrap();
        }
        let len = std::fs::metadata(dir.path().join("journal")).unwrap().len();
        assert!(
            len < COMPACT_AFTER + 4096,
            "the journal grew to {len} bytes"
        );
        drop(j);
        let (_, state) = Journal::open(dir.path()).unwrap();
        assert_eq!(state, want, "compaction kept exactly what the journal says");
    }

    #[test]
    fn replay_folds_entries_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut j, state) = Journal::open(dir.path()).unwrap();
            assert_eq!(state, Recorded::default());
            for e in [
                Entry::NetnsCreating {
                    name: "a".into(),
                    persistent: true,
                },
                Entry::NetnsCreated {
                    name: "a".into(),
                    inode: 7,
                    persistent: true,
                },
                Entry::NetnsCreating {
                    name: "b".into(),
                    persistent: true,
                },
                Entry::NetnsCreating {
                    name: "c".into(),
                    persistent: true,
                },
                Entry::NetnsCreated {
                    name: "c".into(),
                    inode: 9,
                    persistent: false,
                },
                Entry::NetnsRemoved { name: "c".into() },
            ] {
                j.append(&e).unwrap();
            }
        }
        // A crash in the middle of a write leaves half a line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("journal"))
            .unwrap();
        f.write_all(br#"{"op":"netns-crea"#).unwrap();
        drop(f);

        let (_, state) = Journal::open(dir.path()).unwrap();
        let state = state.netns;
        let want: BTreeMap<String, NetnsRecord> = [
            (
                "a".to_string(),
                NetnsRecord::Created {
                    inode: 7,
                    persistent: true,
                },
            ),
            ("b".to_string(), NetnsRecord::Creating { persistent: true }),
        ]
        .into();
        assert_eq!(state, want);
    }

    /// A create cut by a crash keeps whether it was to be persistent (a
    /// connection's namespace is not, and the next start removes it); a
    /// line written before the field existed says persistent.
    #[test]
    fn a_cut_create_remembers_whether_it_was_persistent() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut j, _) = Journal::open(dir.path()).unwrap();
            j.append(&Entry::NetnsCreating {
                name: "vpn".into(),
                persistent: false,
            })
            .unwrap();
        }
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("journal"))
            .unwrap();
        f.write_all(b"{\"op\":\"netns-creating\",\"name\":\"old\"}\n")
            .unwrap();
        drop(f);
        let (_, state) = Journal::open(dir.path()).unwrap();
        let want: BTreeMap<String, NetnsRecord> = [
            (
                "vpn".to_string(),
                NetnsRecord::Creating { persistent: false },
            ),
            (
                "old".to_string(),
                NetnsRecord::Creating { persistent: true },
            ),
        ]
        .into();
        assert_eq!(state.netns, want);
    }

    /// A client being started is remembered until its pid is recorded
    /// (then it is a started client) or its activation ends.
    #[test]
    fn a_client_being_started_is_remembered_until_recorded() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut j, _) = Journal::open(dir.path()).unwrap();
            for e in [
                Entry::VpnStarting {
                    active: 1,
                    tundev: "nsvpn1".into(),
                },
                Entry::VpnStarting {
                    active: 2,
                    tundev: "nsvpn2".into(),
                },
                Entry::VpnStarted {
                    active: 2,
                    pid: 42,
                    tundev: "nsvpn2".into(),
                },
                Entry::VpnStarting {
                    active: 3,
                    tundev: "nsvpn3".into(),
                },
                Entry::VpnStopped { active: 3 },
            ] {
                j.append(&e).unwrap();
            }
        }
        let (_, state) = Journal::open(dir.path()).unwrap();
        assert_eq!(
            state.vpn_starting,
            [(1, "nsvpn1".to_string())].into_iter().collect()
        );
        assert_eq!(
            state.vpn_clients,
            [(2, (42, "nsvpn2".to_string()))].into_iter().collect()
        );
    }

    /// What a VPN wrote its DNS over is remembered (the first write's,
    /// with the last write's own) until the VPN's DNS ends or the
    /// namespace goes, and survives compaction.
    #[test]
    fn a_vpns_dns_remembers_what_it_wrote_over() {
        let dir = tempfile::tempdir().unwrap();
        let own = (
            vec!["192.0.2.53".to_string()],
            vec!["home.test".to_string()],
        );
        let vpn = |s: &str| (vec![s.to_string()], vec![]);
        {
            let (mut j, _) = Journal::open(dir.path()).unwrap();
            for e in [
                Entry::VpnDnsSaved {
                    name: "a".into(),
                    before: Some(own.clone()),
                    files: vec![],
                    wrote: vpn("10.8.0.1"),
                },
                Entry::VpnDnsSaved {
                    name: "a".into(),
                    before: Some(vpn("10.8.0.1")),
                    files: vec![],
                    wrote: vpn("10.8.0.2"),
                },
                Entry::VpnDnsSaved {
                    name: "b".into(),
                    before: None,
                    files: vec![("resolv.conf".into(), b"nameserver 1.1.1.1\n".to_vec())],
                    wrote: vpn("10.8.0.3"),
                },
                Entry::VpnDnsSaved {
                    name: "c".into(),
                    before: None,
                    files: vec![],
                    wrote: vpn("10.8.0.4"),
                },
                Entry::VpnDnsEnded { name: "c".into() },
                Entry::VpnDnsSaved {
                    name: "d".into(),
                    before: None,
                    files: vec![],
                    wrote: vpn("10.8.0.5"),
                },
                Entry::NetnsRemoved { name: "d".into() },
            ] {
                j.append(&e).unwrap();
            }
            j.compact().unwrap();
        }
        let (_, state) = Journal::open(dir.path()).unwrap();
        let want: BTreeMap<String, VpnDnsRecord> = [
            (
                "a".to_string(),
                VpnDnsRecord {
                    before: Some(own),
                    files: vec![],
                    wrote: vpn("10.8.0.2"),
                },
            ),
            (
                "b".to_string(),
                VpnDnsRecord {
                    before: None,
                    files: vec![("resolv.conf".into(), b"nameserver 1.1.1.1\n".to_vec())],
                    wrote: vpn("10.8.0.3"),
                },
            ),
        ]
        .into();
        assert_eq!(state.vpn_dns, want);
    }

    #[test]
    fn uplinks_dns_and_sysctls_fold_too() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        let up = UplinkRecord::Veth {
            uplink_ns: "rootns".into(),
            host_if: "nsu0".into(),
            slot: 0,
            ipv6: true,
            bridge: None,
        };
        for e in [
            Entry::UplinkSet {
                name: "a".into(),
                uplink: up.clone(),
            },
            Entry::UplinkSet {
                name: "b".into(),
                uplink: up.clone(),
            },
            Entry::UplinkCleared { name: "b".into() },
            Entry::DnsSet {
                name: "a".into(),
                servers: vec!["10.0.0.53".into()],
                search: vec![],
            },
            Entry::SysctlSet {
                ns: "rootns".into(),
                key: "k".into(),
                old: "0".into(),
            },
            Entry::SysctlSet {
                ns: "rootns".into(),
                key: "k".into(),
                old: "1".into(),
            },
        ] {
            j.append(&e).unwrap();
        }
        let (_, st) = Journal::open(dir.path()).unwrap();
        assert_eq!(st.uplinks.len(), 1);
        assert_eq!(st.uplinks["a"], up);
        assert_eq!(st.dns["a"].0, vec!["10.0.0.53".to_string()]);
        // The first recorded value is the original one.
        assert_eq!(st.sysctls[&("rootns".to_string(), "k".to_string())], "0");
    }

    #[test]
    fn an_uplink_begun_stays_pending_until_set_or_undone() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        let up = |slot| UplinkRecord::Veth {
            uplink_ns: "rootns".into(),
            host_if: format!("nsu{slot}"),
            slot,
            ipv6: true,
            bridge: None,
        };
        for e in [
            Entry::UplinkSetting {
                name: "done".into(),
                uplink: up(0),
            },
            Entry::UplinkSet {
                name: "done".into(),
                uplink: up(0),
            },
            Entry::UplinkSetting {
                name: "undone".into(),
                uplink: up(1),
            },
            Entry::UplinkUndone {
                name: "undone".into(),
            },
            Entry::UplinkSetting {
                name: "removed".into(),
                uplink: up(2),
            },
            Entry::NetnsRemoved {
                name: "removed".into(),
            },
            Entry::UplinkSetting {
                name: "cut".into(),
                uplink: up(3),
            },
        ] {
            j.append(&e).unwrap();
        }
        let (_, st) = Journal::open(dir.path()).unwrap();
        assert_eq!(st.uplinks.keys().collect::<Vec<_>>(), ["done"]);
        assert_eq!(st.uplinks_setting.len(), 1);
        assert_eq!(st.uplinks_setting["cut"], up(3));
    }

    #[test]
    fn forwarders_fold() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        let starting = |name: &str| Entry::ForwarderStarting {
            name: name.into(),
            servers: vec!["192.0.2.53".into()],
            search: vec!["example".into()],
        };
        for e in [
            starting("a"),
            Entry::ForwarderStarted {
                name: "a".into(),
                pid: 42,
            },
            starting("b"),
            starting("c"),
            Entry::ForwarderStarted {
                name: "c".into(),
                pid: 43,
            },
            Entry::ForwarderStopped { name: "c".into() },
        ] {
            j.append(&e).unwrap();
        }
        let (_, st) = Journal::open(dir.path()).unwrap();
        assert_eq!(st.forwarders.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(st.forwarders["a"].pid, Some(42));
        assert_eq!(st.forwarders["b"].pid, None);
        assert_eq!(st.forwarders["b"].servers, ["192.0.2.53"]);
    }

    #[test]
    fn rewrite_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(&Entry::NetnsCreating {
            name: "x".into(),
            persistent: true,
        })
        .unwrap();
        j.rewrite(&[Entry::NetnsCreated {
            name: "y".into(),
            inode: 3,
            persistent: true,
        }])
        .unwrap();
        j.append(&Entry::NetnsCreating {
            name: "z".into(),
            persistent: true,
        })
        .unwrap();
        drop(j);
        let text = fs::read_to_string(dir.path().join("journal")).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let (_, state) = Journal::open(dir.path()).unwrap();
        assert_eq!(state.netns.len(), 2);
        assert!(!state.netns.contains_key("x"));
    }

    #[test]
    fn forwards_fold_and_go_with_their_uplink_or_namespace() {
        use netnsd_api::forward::{Forward, Proto};
        let f = |port| Forward {
            proto: Proto::Tcp,
            host_port: port,
            host_address: Some("192.0.2.1".parse().unwrap()),
            port,
        };
        let add = |name: &str, id| Entry::ForwardAdded {
            name: name.into(),
            id,
            forward: f(id as u16),
        };
        let entries = [
            add("a", 1),
            add("a", 2),
            add("b", 3),
            add("c", 4),
            Entry::ForwardRemoved {
                name: "a".into(),
                id: 1,
            },
            Entry::UplinkCleared { name: "b".into() },
            Entry::NetnsRemoved { name: "c".into() },
            add("d", 5),
            Entry::ForwardsCleared { name: "d".into() },
        ];
        let text: String = entries
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        let st = replay(std::io::Cursor::new(text));
        assert_eq!(st.forwards.len(), 1, "{:?}", st.forwards);
        assert_eq!(st.forwards["a"].keys().collect::<Vec<_>>(), [&2]);
        assert_eq!(st.forwards["a"][&2], f(2));
    }
}
