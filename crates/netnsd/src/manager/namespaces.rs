//! Namespaces: create, remove, adopt, and their objects on the bus.

use std::time::Duration;

use netnsd_api::{Error, ROOT_NS_NAME};
use zbus::wire::OwnedObjectPath;

use super::{Later, Manager, Namespace};
use crate::dbus::controller::Controller;
use crate::dbus::instance::NetNsInstance;
use crate::dns::Dns;
use crate::netlink::Platform;
use crate::netns::NetnsError;
use crate::record::{Entry, NetnsRecord, Recorded, UplinkRecord};
use crate::watch::DirEvent;

/// How long to keep looking at a new /run/netns entry that is not a mounted
/// namespace yet (`ip netns add` creates the file, then mounts on it).
const ADOPT_RETRIES: &[u64] = &[5, 10, 20, 50, 100, 200, 400, 800, 1600];

impl Manager {
    pub(super) fn allocate_number(&mut self) -> u32 {
        let n = self.next_number;
        self.next_number += 1;
        n
    }

    pub(super) fn insert(&mut self, ns: Namespace) {
        self.registry.write().unwrap().insert(ns);
    }

    fn path_of(&self, name: &str) -> String {
        self.run_dir.path_of(name).display().to_string()
    }

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
                        // Made by us; the crash came before the end was recorded.
                        Some(NetnsRecord::Creating) => (true, true),
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
                    let number = self.allocate_number();
                    let path = self.path_of(&f.name);
                    let mut ns = Namespace::new(number, f.name, inode, path, persistent, managed);
                    if let Some(u) = recorded.uplinks.get(&ns.name) {
                        if let UplinkRecord::Veth { slot, .. } = u {
                            self.pool.reserve(*slot);
                        }
                        keep.push(Entry::UplinkSet {
                            name: ns.name.clone(),
                            uplink: u.clone(),
                        });
                        ns.uplink = Some(u.clone());
                    }
                    if let Some((servers, search)) = recorded.dns.get(&ns.name) {
                        keep.push(Entry::DnsSet {
                            name: ns.name.clone(),
                            servers: servers.clone(),
                            search: search.clone(),
                        });
                        ns.dns = Some(Dns {
                            servers: servers.iter().filter_map(|s| s.parse().ok()).collect(),
                            search: search.clone(),
                        });
                    }
                    self.insert(ns);
                }
                None if record == Some(&NetnsRecord::Creating) => {
                    tracing::info!(name = %f.name, "removing a namespace file left half made by a crash");
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
            if self.registry.read().unwrap().get(name).is_none() {
                tracing::info!(%name, ?rec, "dropping the record of a namespace that is gone");
            }
        }
        // What belonged to namespaces that went away while the daemon was
        // down: their NAT elements and /etc/netns files. (Their veths died
        // with them.)
        for (name, u) in &recorded.uplinks {
            if self.registry.read().unwrap().get(name).is_some() {
                continue;
            }
            tracing::info!(%name, "removing what is left of the uplink of a namespace that is gone");
            self.pending_teardown.push((name.clone(), u.clone()));
        }
        for name in recorded.dns.keys() {
            if self.registry.read().unwrap().get(name).is_none()
                && let Err(e) = crate::dns::remove(&self.etc_netns, name)
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
        }
        // Namespaces made for connections (not persistent) whose connection
        // is gone with the previous run: removed, unless something still
        // runs in them.
        let transient: Vec<Namespace> = self
            .registry
            .read()
            .unwrap()
            .namespaces()
            .filter(|n| n.managed && !n.persistent)
            .cloned()
            .collect();
        for ns in transient {
            if netns_in_use(ns.inode) {
                tracing::info!(name = %ns.name, "keeping a connection's namespace: processes still run in it");
                continue;
            }
            tracing::info!(name = %ns.name, "removing the namespace of a connection that ended with the previous run");
            match self.run_dir.remove(&ns.name) {
                Ok(()) => {
                    self.registry.write().unwrap().remove(ns.number);
                    keep.retain(|e| {
                        !matches!(e,
                            Entry::NetnsCreated { name, .. }
                            | Entry::UplinkSet { name, .. }
                            | Entry::DnsSet { name, .. } if *name == ns.name)
                    });
                    if let Some(u) = recorded.uplinks.get(&ns.name) {
                        self.pending_teardown.push((ns.name.clone(), u.clone()));
                    }
                    let _ = crate::dns::remove(&self.etc_netns, &ns.name);
                }
                Err(e) => tracing::warn!(name = %ns.name, "{e}"),
            }
        }
        for ((ns, key), old) in &recorded.sysctls {
            keep.push(Entry::SysctlSet {
                ns: ns.clone(),
                key: key.clone(),
                old: old.clone(),
            });
            self.sysctls.insert((ns.clone(), key.clone()), old.clone());
        }
        self.journal
            .rewrite(&keep)
            .map_err(|e| Error::Failed(format!("rewrite the journal: {e}")))
    }

    pub(super) async fn add(&mut self, name: &str) -> Result<OwnedObjectPath, Error> {
        self.add_namespace(name, true).await
    }

    /// Makes a namespace; a non-persistent one belongs to a connection and
    /// goes when it ends.
    pub(super) async fn add_namespace(
        &mut self,
        name: &str,
        persistent: bool,
    ) -> Result<OwnedObjectPath, Error> {
        if self.registry.read().unwrap().get(name).is_some() {
            return Err(Error::AlreadyExists(format!(
                "namespace {name:?} already exists"
            )));
        }
        self.record(Entry::NetnsCreating {
            name: name.to_owned(),
        })?;
        let number = self.allocate_number();
        let created = {
            let run_dir = self.run_dir.clone();
            let name = name.to_owned();
            let rt = self.rt.clone();
            let events = self.events_tx.clone();
            tokio::task::spawn_blocking(move || {
                run_dir.create(&name, move |path| {
                    Platform::open_new(path, &rt, number, events)
                })
            })
            .await
            .unwrap_or_else(|e| {
                Err(NetnsError::Os {
                    step: "create".into(),
                    source: std::io::Error::other(e),
                })
            })
        };
        let created = match created {
            Ok(c) => c,
            Err(e) => {
                let _ = self.record(Entry::NetnsRemoved {
                    name: name.to_owned(),
                });
                return Err(match e {
                    NetnsError::AlreadyExists(..) => Error::AlreadyExists(e.to_string()),
                    _ => Error::Failed(format!("create namespace {name:?}: {e}")),
                });
            }
        };
        let finish =
            async {
                created.platform.loopback_up().await.map_err(|e| {
                    Error::Failed(format!("bring lo up in namespace {name:?}: {e}"))
                })?;
                self.record(Entry::NetnsCreated {
                    name: name.to_owned(),
                    inode: created.inode,
                    persistent,
                })
            };
        if let Err(e) = finish.await {
            drop(created.platform);
            if let Err(e) = self.run_dir.remove(name) {
                tracing::error!(name, "undoing a failed create: {e}");
            }
            let _ = self.record(Entry::NetnsRemoved {
                name: name.to_owned(),
            });
            return Err(e);
        }
        let ns = Namespace::new(
            number,
            name.to_owned(),
            created.inode,
            self.path_of(name),
            persistent,
            true,
        );
        self.insert(ns.clone());
        tracing::info!(name, inode = ns.inode, number, "created namespace");
        self.export_namespace(&ns).await;
        self.announce(&ns.object_path(), true).await;
        self.open_platform(&ns, Some(created.platform)).await;
        Ok(ns.object_path())
    }

    pub(super) async fn remove(&mut self, name: &str) -> Result<(), Error> {
        if name == ROOT_NS_NAME {
            return Err(Error::PermissionDenied(format!(
                "the root namespace {ROOT_NS_NAME:?} cannot be removed"
            )));
        }
        let Some(ns) = self.registry.read().unwrap().get(name).cloned() else {
            return Err(Error::NotFound(format!("namespace {name:?} not found")));
        };
        let running = self.processes_in(ns.number);
        if !running.is_empty() {
            return Err(Error::Busy(format!(
                "namespace {name:?} has {} running process(es) started in it (pids {running:?})",
                running.len()
            )));
        }
        let errors = self.teardown_extras(&ns).await;
        if !errors.is_empty() {
            tracing::warn!(name, "while removing: {}", errors.join("; "));
        }
        // Our netlink socket holds the namespace alive: close it first.
        let platform = self.platforms.remove(&ns.number);
        let run_dir = self.run_dir.clone();
        let n = name.to_owned();
        let removed = tokio::task::spawn_blocking(move || run_dir.remove(&n))
            .await
            .unwrap_or_else(|e| {
                Err(NetnsError::Os {
                    step: "remove".into(),
                    source: std::io::Error::other(e),
                })
            });
        match removed {
            Ok(()) | Err(NetnsError::NotFound(_)) => drop(platform),
            Err(e) => {
                if let Some(p) = platform {
                    self.platforms.insert(ns.number, p);
                }
                return Err(Error::Failed(format!("remove namespace {name:?}: {e}")));
            }
        }
        if ns.managed {
            self.record(Entry::NetnsRemoved {
                name: name.to_owned(),
            })?;
        }
        self.forget(&ns).await;
        tracing::info!(name, "removed namespace");
        Ok(())
    }

    pub(super) async fn on_dir_event(&mut self, ev: DirEvent, attempt: usize) {
        match ev {
            DirEvent::Appeared(name) => {
                if name == ROOT_NS_NAME || self.registry.read().unwrap().get(&name).is_some() {
                    return;
                }
                match self.run_dir.inode_of(&name) {
                    Some(inode) => {
                        let number = self.allocate_number();
                        let path = self.path_of(&name);
                        let ns = Namespace::new(number, name, inode, path, true, false);
                        self.insert(ns.clone());
                        tracing::info!(name = %ns.name, inode, "adopted a namespace made outside the daemon");
                        self.export_namespace(&ns).await;
                        self.announce(&ns.object_path(), true).await;
                        self.open_platform(&ns, None).await;
                    }
                    None if self.run_dir.path_of(&name).exists()
                        && attempt < ADOPT_RETRIES.len() =>
                    {
                        self.later(
                            Duration::from_millis(ADOPT_RETRIES[attempt]),
                            Later::Adopt(name, attempt + 1),
                        );
                    }
                    None => {}
                }
            }
            DirEvent::Vanished(name) => {
                let Some(ns) = self.registry.read().unwrap().get(&name).cloned() else {
                    return;
                };
                if ns.number == 0 || self.run_dir.inode_of(&name) == Some(ns.inode) {
                    return;
                }
                if ns.managed {
                    let _ = self.record(Entry::NetnsRemoved { name: name.clone() });
                }
                tracing::info!(%name, "namespace removed outside the daemon");
                let errors = self.teardown_extras(&ns).await;
                if !errors.is_empty() {
                    tracing::warn!(%name, "cleaning up after it: {}", errors.join("; "));
                }
                self.platforms.remove(&ns.number);
                self.forget(&ns).await;
            }
        }
    }

    /// Takes down a namespace's uplink and DNS files before it goes; keeps
    /// going past failures and returns them all.
    pub(super) async fn teardown_extras(&mut self, ns: &Namespace) -> Vec<String> {
        let mut errors = Vec::new();
        if let Some(u) = ns.uplink.clone() {
            errors.extend(self.teardown_uplink(ns, &u, true).await);
            let _ = self.record(Entry::UplinkCleared {
                name: ns.name.clone(),
            });
            self.set_ns_uplink_none(ns.number);
            if let UplinkRecord::Veth { uplink_ns, .. } = &u {
                self.restore_sysctls(uplink_ns).await;
            }
        }
        if ns.dns.is_some() {
            if let Err(e) = crate::dns::remove(&self.etc_netns, &ns.name) {
                errors.push(format!("remove /etc/netns/{}: {e}", ns.name));
            }
            let _ = self.record(Entry::DnsCleared {
                name: ns.name.clone(),
            });
        }
        errors
    }

    fn set_ns_uplink_none(&mut self, number: u32) {
        if let Some(n) = self.registry.write().unwrap().by_number_mut(number) {
            n.uplink = None;
        }
    }

    /// Finishes, once the platforms are open, the teardown of uplinks whose
    /// namespaces went away while the daemon was down.
    pub(super) async fn finish_pending_teardown(&mut self) {
        for (name, u) in std::mem::take(&mut self.pending_teardown) {
            let gone = Namespace::new(u32::MAX, name.clone(), 0, String::new(), false, false);
            let errors = self.teardown_uplink(&gone, &u, true).await;
            if !errors.is_empty() {
                tracing::warn!(%name, "cleaning up a stale uplink: {}", errors.join("; "));
            }
            if let UplinkRecord::Veth { uplink_ns, .. } = &u {
                self.restore_sysctls(uplink_ns).await;
            }
        }
    }

    /// Opens the namespace's netlink platform (or takes the one opened at
    /// creation) and publishes its devices.
    pub(super) async fn open_platform(&mut self, ns: &Namespace, opened: Option<Platform>) {
        let platform = match opened {
            Some(p) => p,
            None if ns.number == 0 => {
                match Platform::open_here(&self.rt, 0, self.events_tx.clone()) {
                    Ok(p) => p,
                    Err(e) => return tracing::error!("open netlink in the root namespace: {e}"),
                }
            }
            None => {
                let path = self.run_dir.path_of(&ns.name);
                let (rt, events, number) = (self.rt.clone(), self.events_tx.clone(), ns.number);
                let opened = tokio::task::spawn_blocking(move || {
                    Platform::open_in(&path, &rt, number, events)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                match opened {
                    Ok(p) => p,
                    Err(e) => {
                        return tracing::error!(name = %ns.name, "open netlink in the namespace: {e}");
                    }
                }
            }
        };
        self.platforms.insert(ns.number, platform.clone());
        self.sync_devices(ns.number, &platform).await;
    }

    /// Puts a namespace's object on the bus (no signals).
    pub(super) async fn export_namespace(&self, ns: &Namespace) {
        let (Some(conn), Some((handle, auth))) = (&self.conn, &self.bus) else {
            return;
        };
        let path = ns.object_path();
        let iface = NetNsInstance::new(ns.clone(), handle.clone(), auth.clone());
        if let Err(e) = conn.object_server().at(&path, iface).await {
            tracing::error!(name = %ns.name, "export {path}: {e}");
        }
    }

    /// Takes a namespace and its devices off the registry and the bus, and
    /// announces it.
    pub(super) async fn forget(&mut self, ns: &Namespace) {
        self.drop_devices_of(ns.number).await;
        self.registry.write().unwrap().remove(ns.number);
        if let Some(conn) = &self.conn {
            let path = ns.object_path();
            if let Err(e) = conn.object_server().remove::<NetNsInstance, _>(&path).await {
                tracing::error!(name = %ns.name, "unexport {path}: {e}");
            }
        }
        self.announce(&ns.object_path(), false).await;
    }

    pub(super) async fn announce(&self, path: &OwnedObjectPath, added: bool) {
        let Some(controller) = &self.controller else {
            return;
        };
        let emitter = controller.signal_emitter();
        let sent = if added {
            Controller::network_namespace_added(emitter, path.as_ref()).await
        } else {
            Controller::network_namespace_removed(emitter, path.as_ref()).await
        };
        if let Err(e) = sent {
            tracing::warn!("signal for {path}: {e}");
        }
        if let Err(e) = controller
            .get()
            .await
            .network_namespaces_changed(emitter)
            .await
        {
            tracing::warn!("PropertiesChanged for NetworkNamespaces: {e}");
        }
    }
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
    let helper = text.contains("--vpn-helper") && text.contains(tundev);
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
