//! net.netnsd.Netns1.NetNsInstance, one object per namespace.

use std::time::Duration;

use netnsd_api::{DEVICE_PATH_PREFIX, Error, actions, object_number};
use zbus::interface;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::wire::{ObjectPath, OwnedObjectPath};

use super::auth::Authority;
use crate::manager::{ManagerHandle, Namespace};

pub struct NetNsInstance {
    ns: Namespace,
    manager: ManagerHandle,
    auth: Authority,
}

impl NetNsInstance {
    pub fn new(ns: Namespace, manager: ManagerHandle, auth: Authority) -> Self {
        NetNsInstance { ns, manager, auth }
    }

    /// The number of the device at `path`, which must exist.
    fn device(&self, path: &ObjectPath<'_>) -> Result<u32, Error> {
        object_number(path.as_str(), DEVICE_PATH_PREFIX)
            .filter(|n| self.manager.registry.read().unwrap().device(*n).is_some())
            .ok_or_else(|| Error::UnknownDevice(format!("no device at {path}")))
    }
}

#[interface(name = "net.netnsd.Netns1.NetNsInstance")]
impl NetNsInstance {
    /// The namespace's devices, without loopback and other internal ones.
    #[zbus(out_args("devices"))]
    fn get_devices(&self) -> Vec<OwnedObjectPath> {
        self.manager
            .registry
            .read()
            .unwrap()
            .device_paths(self.ns.number, false)
    }

    /// All of the namespace's devices, loopback included.
    #[zbus(out_args("devices"))]
    fn get_all_devices(&self) -> Vec<OwnedObjectPath> {
        self.manager
            .registry
            .read()
            .unwrap()
            .device_paths(self.ns.number, true)
    }

    /// Moves DEVICE here from whichever namespace holds it, and answers once
    /// it is seen here, or fails with Timeout after TIMEOUT_MS milliseconds
    /// (the device is then moved back).
    async fn take_device(
        &self,
        device: ObjectPath<'_>,
        timeout_ms: i32,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now();
        let number = self.device(&device)?;
        let Ok(ms) = u64::try_from(timeout_ms) else {
            return Err(Error::InvalidArgument(format!(
                "timeout_ms {timeout_ms} is negative"
            )));
        };
        let deadline = deadline + Duration::from_millis(ms);
        let from = self
            .manager
            .registry
            .read()
            .unwrap()
            .device(number)
            .map(|d| d.ns)
            .ok_or_else(|| Error::UnknownDevice(format!("no device at {device}")))?;
        self.auth.check(&hdr, actions::TAKE_DEVICE).await?;
        let arrived = self.manager.take_device(number, self.ns.number).await?;
        match tokio::time::timeout_at(deadline, arrived).await {
            Ok(Ok(())) => Ok(()),
            _ => {
                self.manager.undo_take(number, from).await;
                Err(Error::Timeout(format!(
                    "device {device} was not seen in namespace {:?} within {ms} ms",
                    self.ns.name
                )))
            }
        }
    }

    /// The devices, without loopback and other internal ones.
    #[zbus(property)]
    fn devices(&self) -> Vec<OwnedObjectPath> {
        self.get_devices()
    }

    /// All devices, loopback included.
    #[zbus(property)]
    fn all_devices(&self) -> Vec<OwnedObjectPath> {
        self.get_all_devices()
    }

    /// The namespace's name; "rootns" for the root namespace.
    #[zbus(property(emits_changed_signal = "const"))]
    fn name(&self) -> String {
        self.ns.name.clone()
    }

    /// The namespace's inode number.
    #[zbus(property(emits_changed_signal = "const"))]
    fn id(&self) -> u64 {
        self.ns.inode
    }

    /// /run/netns/NAME; empty for the root namespace.
    #[zbus(property(emits_changed_signal = "const"))]
    fn path(&self) -> String {
        self.ns.path.clone()
    }

    /// Whether the namespace outlives the daemon and its connections.
    #[zbus(property)]
    fn persistent(&self) -> bool {
        self.ns.persistent
    }

    /// Whether netnsd created the namespace (false if it was adopted).
    #[zbus(property)]
    fn managed(&self) -> bool {
        self.ns.managed
    }

    /// A device appeared in (or moved into) the namespace.
    #[zbus(signal)]
    pub async fn netns_device_added(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;

    /// A device vanished from (or moved out of) the namespace.
    #[zbus(signal)]
    pub async fn netns_device_removed(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;

    /// An internal device (loopback) appeared.
    #[zbus(signal)]
    pub async fn netns_internal_device_added(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;

    /// An internal device (loopback) vanished.
    #[zbus(signal)]
    pub async fn netns_internal_device_removed(
        emitter: &SignalEmitter<'_>,
        device: ObjectPath<'_>,
    ) -> zbus::Result<()>;
}
