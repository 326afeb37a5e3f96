//! Attach: a running process's network namespace given a name, as `ip
//! netns attach NAME PID` does; then followed like any other namespace.

use netnsd_api::Error;
use zbus::wire::OwnedObjectPath;

use super::{Manager, Namespace};
use crate::netns::NetnsError;
use crate::netns::attach::ProcessNetns;
use crate::record::Entry;

impl Manager {
    /// Binds process `pid`'s namespace (open as `pn`) at /run/netns/NAME.
    /// Refused when the name is taken, the namespace is the host's, or it is
    /// already one of the namespaces the daemon follows.
    pub(super) async fn attach_netns(
        &mut self,
        name: &str,
        pid: u32,
        pn: ProcessNetns,
    ) -> Result<OwnedObjectPath, Error> {
        if self.namespaces.contains(name) {
            return Err(Error::AlreadyExists(format!(
                "namespace {name:?} already exists"
            )));
        }
        if let Some(known) = self
            .namespaces
            .all()
            .into_iter()
            .find(|n| n.inode == pn.inode)
        {
            return Err(if known.number == 0 {
                Error::InvalidArgument(format!(
                    "process {pid} is in the host's network namespace ({:?}): there is nothing to attach",
                    known.name
                ))
            } else {
                Error::AlreadyExists(format!(
                    "the network namespace of process {pid} is already named {:?}",
                    known.name
                ))
            });
        }
        self.record(Entry::NetnsCreating {
            name: name.to_owned(),
            persistent: true,
        })?;
        let run_dir = self.run_dir.clone();
        let n = name.to_owned();
        let attached = tokio::task::spawn_blocking(move || run_dir.attach(&n, &pn.file))
            .await
            .unwrap_or_else(|e| {
                Err(NetnsError::Os {
                    step: "attach".into(),
                    source: std::io::Error::other(e),
                })
            });
        let inode = match attached {
            Ok(i) => i,
            Err(e) => {
                let _ = self.record(Entry::NetnsRemoved {
                    name: name.to_owned(),
                });
                return Err(super::namespaces::netns_error(e, "attach", name));
            }
        };
        // The name is the daemon's: recorded as made here, kept (persistent).
        if let Err(e) = self.record(Entry::NetnsCreated {
            name: name.to_owned(),
            inode,
            persistent: true,
        }) {
            let _ = self.run_dir.remove(name);
            let _ = self.record(Entry::NetnsRemoved {
                name: name.to_owned(),
            });
            return Err(e);
        }
        let number = self.namespaces.number();
        let ns = Namespace::new(
            number,
            name.to_owned(),
            inode,
            self.path_of(name),
            true,
            true,
        );
        let changes = self.namespaces.add(ns.clone());
        tracing::info!(name, pid, inode, number, "attached a process's namespace");
        self.publish(changes).await;
        self.open_platform(&ns, None).await;
        Ok(ns.object_path())
    }
}
