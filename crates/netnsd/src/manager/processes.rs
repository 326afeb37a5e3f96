//! Programs run inside namespaces (Spawn), and their ends.

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use netnsd_api::Error;

use super::{Later, Manager};
use crate::spawn::{self, Identity};

/// A Spawn request, validated and authorized by the bus layer.
pub struct SpawnArgs {
    pub argv: Vec<String>,
    pub env: HashMap<String, String>,
    pub cwd: String,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    pub pty: bool,
    pub identity: Identity,
}

impl Manager {
    pub(super) async fn spawn(&mut self, ns: u32, a: SpawnArgs) -> Result<u32, Error> {
        let target = self
            .registry
            .read()
            .unwrap()
            .by_number(ns)
            .cloned()
            .ok_or_else(|| {
                Error::NotFound(format!("no namespace {}", netnsd_api::namespace_path(ns)))
            })?;
        let netns = self.ns_file(&target)?;
        let program = a.argv[0].clone();
        let uid = a.identity.uid;
        let req = spawn::Request {
            argv: a.argv,
            env: a.env,
            cwd: a.cwd,
            stdin: a.stdin,
            stdout: a.stdout,
            stderr: a.stderr,
            pty: a.pty,
            identity: a.identity,
            netns,
            etc_dir: Some(crate::dns::dir(&self.etc_netns, &target.name)),
        };
        let child = tokio::task::spawn_blocking(move || spawn::start(req))
            .await
            .map_err(|e| Error::Failed(format!("spawn: {e}")))?
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::NotFound(format!(
                    "could not start {program:?} in namespace {:?}: {e} (no such program, or no such working directory)",
                    target.name
                )),
                std::io::ErrorKind::PermissionDenied => Error::PermissionDenied(format!(
                    "could not start {program:?} as uid {uid}: {e}"
                )),
                _ => Error::Failed(format!("could not start {program:?} in namespace {:?}: {e}", target.name)),
            })?;
        let pid = child.id();
        self.processes.insert(pid, ns);
        tracing::info!(pid, uid, program, ns = %target.name, "spawned");
        let tx = self.later_tx.clone();
        tokio::spawn(async move {
            let status = spawn::wait_exit(child)
                .await
                .map(spawn::status_code)
                .unwrap_or(-1);
            let _ = tx.send(Later::Exited(pid, status));
        });
        Ok(pid)
    }

    pub(super) async fn process_exited(&mut self, pid: u32, status: i32) {
        let Some(ns) = self.processes.remove(&pid) else {
            return;
        };
        tracing::info!(pid, status, ns, "process exited");
        self.announce_exit(ns, pid, status).await;
        // A connection's namespace waiting for its last process goes now.
        if self.processes_in(ns).is_empty() && self.remove_when_idle.remove(&ns) {
            let gone = self.registry.read().unwrap().by_number(ns).cloned();
            if let Some(gone) = gone
                && let Err(e) = self.remove(&gone.name).await
            {
                tracing::warn!(name = %gone.name, "removing the isolated namespace: {}", e.message());
            }
        }
    }

    async fn announce_exit(&self, ns: u32, pid: u32, status: i32) {
        let Some(conn) = &self.conn else { return };
        let path = netnsd_api::namespace_path(ns);
        match zbus::object_server::SignalEmitter::new(conn, path) {
            Ok(e) => {
                if let Err(err) =
                    crate::dbus::instance::NetNsInstance::process_exited(&e, pid, status).await
                {
                    tracing::warn!("ProcessExited: {err}");
                }
            }
            Err(err) => tracing::warn!("ProcessExited: {err}"),
        }
    }

    /// Processes still running in namespace `ns`.
    pub(super) fn processes_in(&self, ns: u32) -> Vec<u32> {
        self.processes
            .iter()
            .filter(|(_, n)| **n == ns)
            .map(|(p, _)| *p)
            .collect()
    }
}
