//! Programs run inside namespaces (Spawn), and their ends: ProcessExited,
//! and the removal of a connection's namespace that waited for its last
//! process.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::time::Duration;

use netnsd_api::Error;
use tokio::sync::oneshot;

use super::{Later, Manager};
use crate::record::Entry;
use crate::spawn::{self, Caller};

/// A Spawn request, validated and authorized by the bus layer.
pub struct SpawnArgs {
    pub argv: Vec<String>,
    pub env: HashMap<String, String>,
    pub cwd: String,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    pub pty: bool,
    /// Who runs it: the identity is looked up where the program starts.
    pub caller: Caller,
}

/// How long a spawned program may take to exec before it is killed and the
/// Spawn answered Timeout.
const SPAWN_START_LIMIT: Duration = Duration::from_secs(10);

/// A Spawn whose program has exec'd, or not.
pub(super) struct Started {
    ns: u32,
    ns_name: String,
    program: String,
    uid: u32,
    result: std::io::Result<Running>,
    reply: oneshot::Sender<Result<u32, Error>>,
}

/// A started program: the daemon's child (the fork path), or a unit of
/// systemd's (where systemd runs).
pub(super) enum Running {
    Child(spawn::Proc),
    Unit(spawn::unit::Unit),
}

impl Running {
    fn pid(&self) -> u32 {
        match self {
            Running::Child(c) => c.id(),
            Running::Unit(u) => u.pid,
        }
    }

    /// Waits for the end; the status as ProcessExited reports it.
    async fn wait(self) -> i32 {
        match self {
            Running::Child(c) => c.wait().await.map(spawn::status_code).unwrap_or(-1),
            Running::Unit(u) => u.wait().await,
        }
    }
}

impl Manager {
    /// Starts a program and answers `reply` once it has exec'd. The wait for
    /// that happens off the manager's task (a path the caller named may
    /// stall the child for a long time): the answer comes back as
    /// `Later::Started`, and the manager goes on meanwhile.
    pub(super) fn spawn(
        &mut self,
        ns: u32,
        a: SpawnArgs,
        reply: oneshot::Sender<Result<u32, Error>>,
    ) {
        let prepared = self.namespace(ns).and_then(|target| {
            let netns = self.ns_file(&target)?;
            Ok((target, netns))
        });
        let (target, netns) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let program = a.argv[0].clone();
        let uid = a.caller.uid;
        // Where systemd runs, the program becomes a unit of the caller's
        // (see spawn::unit); elsewhere the daemon's child.
        if spawn::unit::sd_booted() {
            drop(netns);
            let etc_dir = self.dns.dir_of(&target.name);
            let ns_name = target.name.clone();
            self.spawn_units += 1;
            let first = self.spawn_units;
            self.processes.starting(ns);
            let tx = self.later_tx.clone();
            tokio::spawn(async move {
                let caller = a.caller;
                let identity = tokio::task::spawn_blocking(move || caller.identity())
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                let result = match identity {
                    Ok(identity) => {
                        let req = spawn::unit::Request {
                            argv: a.argv,
                            env: a.env,
                            cwd: a.cwd,
                            stdin: a.stdin,
                            stdout: a.stdout,
                            stderr: a.stderr,
                            identity,
                            ns_name,
                            etc_dir,
                        };
                        req.start(first, SPAWN_START_LIMIT).await.map(Running::Unit)
                    }
                    Err(e) => Err(e),
                };
                let _ = tx.send(Later::Started(Box::new(Started {
                    ns,
                    ns_name: target.name,
                    program,
                    uid,
                    result,
                    reply,
                })));
            });
            return;
        }
        let etc_dir = Some(self.dns.dir_of(&target.name));
        // The user lookup happens on the thread that starts the program.
        let req = move || {
            Ok(spawn::Request {
                identity: a.caller.identity()?,
                argv: a.argv,
                env: a.env,
                cwd: a.cwd,
                stdin: a.stdin,
                stdout: a.stdout,
                stderr: a.stderr,
                pty: a.pty,
                netns,
                etc_dir,
            })
        };
        // Until it has started, the namespace counts as in use.
        self.processes.starting(ns);
        let tx = self.later_tx.clone();
        spawn::start_within(req, SPAWN_START_LIMIT, move |result| {
            let _ = tx.send(Later::Started(Box::new(Started {
                ns,
                ns_name: target.name,
                program,
                uid,
                result: result.map(Running::Child),
                reply,
            })));
        });
    }

    pub(super) async fn spawn_started(&mut self, s: Started) {
        let Started {
            ns,
            ns_name,
            program,
            uid,
            result,
            reply,
        } = s;
        let running = match result {
            Ok(running) => running,
            Err(e) => {
                let err = match e.kind() {
                    std::io::ErrorKind::NotFound => Error::NotFound(format!(
                        "could not start {program:?} in namespace {ns_name:?}: {e} (no such program, or no such working directory)"
                    )),
                    std::io::ErrorKind::PermissionDenied => Error::PermissionDenied(format!(
                        "could not start {program:?} as uid {uid}: {e}"
                    )),
                    std::io::ErrorKind::TimedOut => Error::Timeout(format!(
                        "could not start {program:?} in namespace {ns_name:?}: {e}"
                    )),
                    _ => Error::Failed(format!(
                        "could not start {program:?} in namespace {ns_name:?}: {e}"
                    )),
                };
                tracing::info!(uid, program, ns = %ns_name, "spawn failed: {}", err.message());
                let _ = reply.send(Err(err));
                // A connection's namespace that waited for this start goes now.
                if self.processes.start_failed(ns)
                    && let Some(gone) = self.namespaces.by_number(ns)
                    && let Err(e) = self.remove(&gone.name).await
                {
                    tracing::warn!(name = %gone.name, "removing the isolated namespace: {}", e.message());
                }
                return;
            }
        };
        let pid = running.pid();
        self.processes.started(pid, ns);
        if let Running::Unit(u) = &running {
            tracing::info!(pid, uid, program, ns = %ns_name, unit = %u.name, "spawned as a unit");
            let entry = Entry::SpawnUnitStarted {
                unit: u.name.clone(),
                ns: ns_name.clone(),
                pid,
            };
            if let Err(e) = self.record(entry) {
                tracing::warn!("{}", e.message());
            }
            self.units.insert(pid, u.name.clone());
        } else {
            tracing::info!(pid, uid, program, ns = %ns_name, "spawned");
            self.record_forked(&ns_name, pid);
        }
        let tx = self.later_tx.clone();
        let exits = self.exits.clone();
        tokio::spawn(async move {
            let status = running.wait().await;
            // The starter on the private socket waits for nothing else:
            // told here, on the task that saw the end, before the
            // manager's turn (the journal, the bus).
            exits.send(crate::dbus::private::Exited { ns, pid, status });
            let _ = tx.send(Later::Exited(pid, status));
        });
        let _ = reply.send(Ok(pid));
    }

    /// Takes back the units a previous run started (see reconcile): each
    /// still counts in its namespace, and its end is announced.
    pub(super) fn adopt_units(&mut self, units: Vec<(String, u32, u32)>) {
        for (unit, ns, pid) in units {
            self.processes.started(pid, ns);
            self.units.insert(pid, unit.clone());
            let tx = self.later_tx.clone();
            tokio::spawn(async move {
                let status = match spawn::unit::Unit::find(&unit).await {
                    Ok(u) => {
                        tracing::info!(%unit, pid, "took back a unit started by a previous run");
                        u.wait().await
                    }
                    Err(e) => {
                        tracing::info!(%unit, pid, "a unit started by a previous run is gone: {e}");
                        -1
                    }
                };
                let _ = tx.send(Later::Exited(pid, status));
            });
        }
    }

    pub(super) async fn process_exited(&mut self, pid: u32, status: i32) {
        match self.units.remove(&pid) {
            Some(unit) => {
                if let Err(e) = self.record(Entry::SpawnUnitEnded { unit }) {
                    tracing::warn!("{}", e.message());
                }
            }
            None => self.record_forked_ended(pid),
        }
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
