//! The bus layer's way in: the requests it may send the manager, the
//! handle it sends them with (each answered on a oneshot channel), and the
//! registry it reads without a round trip.

use netnsd_api::Error;
use tokio::sync::{mpsc, oneshot};
use zbus::wire::OwnedObjectPath;

use super::registry::Registry;
use super::{ConfigOp, ConfigReply, NsOptions, ProfileOp, ReloadReport, SpawnArgs, UplinkSpec};
use crate::dns::Dns;

/// What the bus layer may ask of the manager.
pub enum Request {
    Add {
        name: String,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    },
    Remove {
        name: String,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// Move a device; the answer carries a receiver that fires once the
    /// device is seen in the target namespace.
    TakeDevice {
        device: u32,
        target: u32,
        reply: oneshot::Sender<Result<oneshot::Receiver<()>, Error>>,
    },
    /// A TakeDevice ran out of time: move the device back; `reply` fires
    /// once it is seen back (or was never gone).
    UndoTake {
        device: u32,
        back_to: u32,
        reply: oneshot::Sender<()>,
    },
    AddWithOptions {
        name: String,
        opts: NsOptions,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
        /// Fires (its sender dropped) once the caller has the reply: see
        /// [`ManagerHandle::add_with_options`].
        answered: oneshot::Receiver<()>,
    },
    SetUplink {
        ns: u32,
        spec: Option<UplinkSpec>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    SetDns {
        ns: u32,
        dns: Option<Dns>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Spawn {
        ns: u32,
        args: SpawnArgs,
        reply: oneshot::Sender<Result<u32, Error>>,
    },
    Activate {
        profile: u32,
        ns: u32,
        caller: super::Caller,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    },
    Deactivate {
        active: u32,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Profile {
        op: ProfileOp,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    },
    /// Links, addresses, routes, rules in namespace `ns`.
    Configure {
        ns: u32,
        op: ConfigOp,
        reply: oneshot::Sender<Result<ConfigReply, Error>>,
    },
    /// Port forwards into namespace `ns`.
    Forward {
        ns: u32,
        op: super::ForwardOp,
        reply: oneshot::Sender<Result<super::ForwardReply, Error>>,
    },
    /// Name process `pid`'s network namespace (open as `netns`).
    Attach {
        name: String,
        pid: u32,
        netns: crate::netns::attach::ProcessNetns,
        reply: oneshot::Sender<Result<OwnedObjectPath, Error>>,
    },
    /// Read the declared namespaces' files again and apply them.
    ReloadDeclared {
        reply: oneshot::Sender<Result<ReloadReport, Error>>,
    },
}

impl Request {
    /// Answers the request with `e` without doing it (only the requests
    /// that may create a namespace are answered so; the others are dropped,
    /// which their caller sees as the daemon going away).
    pub(super) fn fail(self, e: Error) {
        match self {
            Request::Add { reply, .. }
            | Request::AddWithOptions { reply, .. }
            | Request::Attach { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Request::Activate { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Request::ReloadDeclared { reply } => {
                let _ = reply.send(Err(e));
            }
            _ => tracing::error!("a request was dropped: {}", e.message()),
        }
    }
}

/// The bus layer's handle on the manager.
#[derive(Clone)]
pub struct ManagerHandle {
    tx: mpsc::Sender<Request>,
    pub registry: Registry,
}

impl ManagerHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Request,
    ) -> Result<T, Error> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| Error::Failed("the daemon is shutting down".into()))?;
        rx.await
            .map_err(|_| Error::Failed("the daemon is shutting down".into()))?
    }

    pub async fn add(&self, name: String) -> Result<OwnedObjectPath, Error> {
        self.ask(|reply| Request::Add { name, reply }).await
    }

    pub async fn forward(
        &self,
        ns: u32,
        op: super::ForwardOp,
    ) -> Result<super::ForwardReply, Error> {
        self.ask(|reply| Request::Forward { ns, op, reply }).await
    }

    pub async fn attach(
        &self,
        name: String,
        pid: u32,
        netns: crate::netns::attach::ProcessNetns,
    ) -> Result<OwnedObjectPath, Error> {
        self.ask(|reply| Request::Attach {
            name,
            pid,
            netns,
            reply,
        })
        .await
    }

    pub async fn remove(&self, name: String) -> Result<(), Error> {
        self.ask(|reply| Request::Remove { name, reply }).await
    }

    pub async fn take_device(
        &self,
        device: u32,
        target: u32,
    ) -> Result<oneshot::Receiver<()>, Error> {
        self.ask(|reply| Request::TakeDevice {
            device,
            target,
            reply,
        })
        .await
    }

    pub async fn add_with_options(
        &self,
        name: String,
        opts: NsOptions,
    ) -> Result<OwnedObjectPath, Error> {
        // The events of what the call made (its links, its addresses) wait
        // in the manager's queue meanwhile; their signals go out once the
        // bus side has the reply in hand and is sending it, not ahead of it.
        let (done, answered) = oneshot::channel();
        let r = self
            .ask(|reply| Request::AddWithOptions {
                name,
                opts,
                reply,
                answered,
            })
            .await;
        drop(done);
        r
    }

    /// Sets (Some) or clears (None) a namespace's uplink.
    pub async fn set_uplink(&self, ns: u32, spec: Option<UplinkSpec>) -> Result<(), Error> {
        self.ask(|reply| Request::SetUplink { ns, spec, reply })
            .await
    }

    /// Writes (Some) or removes (None) a namespace's DNS files.
    pub async fn set_dns(&self, ns: u32, dns: Option<Dns>) -> Result<(), Error> {
        self.ask(|reply| Request::SetDns { ns, dns, reply }).await
    }

    pub async fn activate(
        &self,
        profile: u32,
        ns: u32,
        caller: super::Caller,
    ) -> Result<OwnedObjectPath, Error> {
        self.ask(|reply| Request::Activate {
            profile,
            ns,
            caller,
            reply,
        })
        .await
    }

    pub async fn deactivate(&self, active: u32) -> Result<(), Error> {
        self.ask(|reply| Request::Deactivate { active, reply })
            .await
    }

    /// Adds, updates, deletes or reloads profiles; answers with the profile's
    /// object path ("/" for a reload).
    pub async fn profile(&self, op: ProfileOp) -> Result<OwnedObjectPath, Error> {
        self.ask(|reply| Request::Profile { op, reply }).await
    }

    pub async fn spawn(&self, ns: u32, args: SpawnArgs) -> Result<u32, Error> {
        self.ask(|reply| Request::Spawn { ns, args, reply }).await
    }

    pub async fn configure(&self, ns: u32, op: ConfigOp) -> Result<ConfigReply, Error> {
        self.ask(|reply| Request::Configure { ns, op, reply }).await
    }

    /// Makes, keeps and removes the declared namespaces as their files say.
    pub async fn reload_declared(&self) -> Result<ReloadReport, Error> {
        self.ask(|reply| Request::ReloadDeclared { reply }).await
    }

    /// Moves a device back after a TakeDevice that ran out of time; the
    /// receiver fires once it is seen back where it was.
    pub async fn undo_take(&self, device: u32, back_to: u32) -> oneshot::Receiver<()> {
        let (reply, rx) = oneshot::channel();
        let _ = self
            .tx
            .send(Request::UndoTake {
                device,
                back_to,
                reply,
            })
            .await;
        rx
    }
}

/// Makes the manager's request channel.
pub fn channel(registry: Registry) -> (ManagerHandle, mpsc::Receiver<Request>) {
    let (tx, rx) = mpsc::channel(64);
    (ManagerHandle { tx, registry }, rx)
}
