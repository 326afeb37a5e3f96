//! Programs run inside namespaces (Spawn), and their ends: ProcessExited,
//! and the removal of a connection's namespace that waited for its last
//! process.

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
        let target = self.namespace(ns)?;
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
            etc_dir: Some(self.dns.dir_of(&target.name)),
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
        self.processes.started(pid, ns);
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
        let Some(exit) = self.processes.exited(pid, status) else {
            return;
        };
        tracing::info!(pid, status, ns = exit.ns, "process exited");
        self.publish(exit.changes).await;
        // A connection's namespace waiting for its last process goes now.
        if exit.remove_ns
            && let Some(gone) = self.namespaces.by_number(exit.ns)
            && let Err(e) = self.remove(&gone.name).await
        {
            tracing::warn!(name = %gone.name, "removing the isolated namespace: {}", e.message());
        }
    }
}
