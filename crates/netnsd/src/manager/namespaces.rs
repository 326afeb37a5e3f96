//! Namespaces: create, remove and adopt them (`ip netns add` and friends
//! show up through the /run/netns watcher), open their netlink platforms,
//! and take down what they had (uplink, DNS files) when they go.

use std::time::Duration;

use netnsd_api::{Error, ROOT_NS_NAME};
use zbus::wire::OwnedObjectPath;

use super::{Later, Manager, Namespace};
use crate::netlink::Platform;
use crate::netns::NetnsError;
use crate::record::{Entry, UplinkRecord};
use crate::watch::DirEvent;

/// How long to keep looking at a new /run/netns entry that is not a mounted
/// namespace yet (`ip netns add` creates the file, then mounts on it).
const ADOPT_RETRIES: &[u64] = &[5, 10, 20, 50, 100, 200, 400, 800, 1600];

impl Manager {
    pub(super) fn path_of(&self, name: &str) -> String {
        self.run_dir.path_of(name).display().to_string()
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
        if self.namespaces.contains(name) {
            return Err(Error::AlreadyExists(format!(
                "namespace {name:?} already exists"
            )));
        }
        self.record(Entry::NetnsCreating {
            name: name.to_owned(),
            persistent,
        })?;
        let number = self.namespaces.number();
        // A spare namespace made ahead, bound here (lo up already), or a
        // new one made now.
        if let Some(spare) = self.spares.take() {
            if let Err(e) = self.run_dir.bind(name, spare.file()) {
                let _ = self.record(Entry::NetnsRemoved {
                    name: name.to_owned(),
                });
                return Err(netns_error(e, "create", name));
            }
            let inode = spare.inode();
            let path = self.run_dir.path_of(name);
            let platform = Platform::from_unnamed(spare, &path, &self.rt, number, &self.events_tx);
            if let Err(e) = self.record(Entry::NetnsCreated {
                name: name.to_owned(),
                inode,
                persistent,
            }) {
                drop(platform);
                if let Err(e) = self.run_dir.remove(name) {
                    tracing::error!(name, "undoing a failed create: {e}");
                }
                let _ = self.record(Entry::NetnsRemoved {
                    name: name.to_owned(),
                });
                return Err(e);
            }
            return Ok(self
                .created(name, number, inode, persistent, platform)
                .await);
        }
        let created = {
            let run_dir = self.run_dir.clone();
            let name = name.to_owned();
            let rt = self.rt.clone();
            let events = self.events_tx.clone();
            // One thread, which makes the namespace and comes back.
            crate::netns::thread::run_async("netns-create", move || {
                Ok(run_dir.create_here(&name, move |path| {
                    Platform::open_new(path, &rt, number, events)
                }))
            })
            .await
            .unwrap_or_else(|e| {
                Err(NetnsError::Os {
                    step: "create".into(),
                    source: e,
                })
            })
        };
        let created = match created {
            Ok(c) => c,
            Err(e) => {
                let _ = self.record(Entry::NetnsRemoved {
                    name: name.to_owned(),
                });
                return Err(netns_error(e, "create", name));
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
        Ok(self
            .created(name, number, created.inode, persistent, created.platform)
            .await)
    }

    /// A namespace made and journalled: in the tables and on the bus, with
    /// its devices.
    async fn created(
        &mut self,
        name: &str,
        number: u32,
        inode: u64,
        persistent: bool,
        platform: Platform,
    ) -> OwnedObjectPath {
        let ns = Namespace::new(
            number,
            name.to_owned(),
            inode,
            self.path_of(name),
            persistent,
            true,
        );
        let changes = self.namespaces.add(ns.clone());
        tracing::info!(name, inode = ns.inode, number, "created namespace");
        self.publish(changes).await;
        self.open_platform(&ns, Some(platform)).await;
        ns.object_path()
    }

    pub(super) async fn remove(&mut self, name: &str) -> Result<(), Error> {
        if name == ROOT_NS_NAME {
            return Err(Error::PermissionDenied(format!(
                "the root namespace {ROOT_NS_NAME:?} cannot be removed"
            )));
        }
        let Some(ns) = self.namespaces.get(name) else {
            return Err(Error::NotFound(format!("namespace {name:?} not found")));
        };
        let running = self.processes.in_ns(ns.number);
        if !running.is_empty() {
            return Err(Error::Busy(format!(
                "namespace {name:?} has {} running process(es) started in it (pids {running:?})",
                running.len()
            )));
        }
        let starting = self.processes.starting_in(ns.number);
        if starting > 0 {
            return Err(Error::Busy(format!(
                "namespace {name:?} has {starting} program(s) being started in it (Spawn)"
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
                if name == ROOT_NS_NAME || self.namespaces.contains(&name) {
                    return;
                }
                match self.run_dir.inode_of(&name) {
                    Some(inode) => {
                        let number = self.namespaces.number();
                        let path = self.path_of(&name);
                        let ns = Namespace::new(number, name, inode, path, true, false);
                        let changes = self.namespaces.add(ns.clone());
                        tracing::info!(name = %ns.name, inode, "adopted a namespace made outside the daemon");
                        self.publish(changes).await;
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
                let Some(ns) = self.namespaces.get(&name) else {
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
        if let Some(u) = self.uplinks.get(ns.number) {
            errors.extend(self.teardown_uplink(ns, &u, true).await);
            let _ = self.record(Entry::UplinkCleared {
                name: ns.name.clone(),
            });
            self.uplinks.take(ns.number);
            if let UplinkRecord::Veth { uplink_ns, .. } = &u {
                self.restore_sysctls(uplink_ns).await;
            }
        }
        // A split DNS forwarder inside would keep the namespace alive.
        self.stop_forwarder(ns.number).await;
        if self.dns.has(ns.number) {
            if let Err(e) = crate::dns::remove(self.dns.etc(), &ns.name) {
                errors.push(format!("remove /etc/netns/{}: {e}", ns.name));
            }
            let _ = self.record(Entry::DnsCleared {
                name: ns.name.clone(),
            });
        }
        errors
    }

    /// Finishes, once the platforms are open, the teardown of uplinks whose
    /// namespaces went away while the daemon was down, and of uplinks a
    /// crash left half made (in a namespace that may still be there).
    pub(super) async fn finish_pending_teardown(&mut self) {
        for (name, u) in self.uplinks.take_pending_teardown() {
            let errors = match self.namespaces.get(&name) {
                // Half made in a namespace that is still here: the host end
                // (or the macvlan) is deleted now, and its slot freed.
                Some(ns) if ns.managed => self.teardown_uplink(&ns, &u, false).await,
                // Gone, or replaced while the daemon was down: only what
                // is outside it (a NAT element) is removed.
                _ => {
                    let gone =
                        Namespace::new(u32::MAX, name.clone(), 0, String::new(), false, false);
                    self.teardown_uplink(&gone, &u, true).await
                }
            };
            if errors.is_empty() {
                // Ends a begun uplink's entry (nothing, for any other).
                let _ = self.record(Entry::UplinkUndone { name: name.clone() });
            } else {
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

    /// Takes a namespace and its devices out of the tables, and publishes
    /// that.
    pub(super) async fn forget(&mut self, ns: &Namespace) {
        let devices = self.devices.drop_all_in(ns.number);
        self.publish(devices).await;
        self.uplinks.take(ns.number);
        if self.dns.under_vpn(ns.number) {
            let _ = self.record(crate::record::Entry::VpnDnsEnded {
                name: ns.name.clone(),
            });
        }
        self.dns.forget(ns.number);
        let changes = self.namespaces.remove(ns.number);
        self.publish(changes).await;
        // Last: their teardown then leaves the gone namespace alone.
        self.namespace_gone(ns.number).await;
    }
}

/// The caller's error for a failed `verb` (create, attach) of /run/netns/NAME.
pub(super) fn netns_error(e: NetnsError, verb: &str, name: &str) -> Error {
    match e {
        NetnsError::AlreadyExists(..) => Error::AlreadyExists(e.to_string()),
        NetnsError::Busy { .. } => {
            Error::Busy(format!("cannot {verb} namespace {name:?} now: {e}"))
        }
        _ => Error::Failed(format!("{verb} namespace {name:?}: {e}")),
    }
}
