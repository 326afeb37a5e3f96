//! The bus side of the manager's changes. [`Bus`] is the manager's
//! [`Publisher`] on the system bus, and the only code that puts objects on
//! the bus, takes them off, or emits signals: each [`Change`] becomes the
//! objects and signals NetworkManager's clients expect, in the order the
//! manager published them.

use futures::future::BoxFuture;
use netnsd_api::{CONTROLLER_PATH, ROOT_PATH, SETTINGS_PATH, device_path, namespace_path};
use zbus::Connection;
use zbus::object_server::{InterfaceRef, SignalEmitter};
use zbus::wire::{ObjectPath, OwnedObjectPath};

use super::auth::Authority;
use super::controller::Controller;
use super::device::DeviceObject;
use super::instance::NetNsInstance;
use super::objects::{Index, Objects};
use super::{active, settings};
use crate::manager::{
    Change, DeviceProperty, InstanceProperty, ManagerHandle, Namespace, Publisher,
};

/// The daemon's objects on the system bus.
pub struct Bus {
    conn: Connection,
    manager: ManagerHandle,
    auth: Authority,
    controller: InterfaceRef<Controller>,
    /// What is exported, for the root's GetManagedObjects (`objects.rs`).
    index: Index,
}

impl Bus {
    /// Exports the object manager root, the controller and the settings,
    /// which exist for as long as the daemon runs. On failure: the step
    /// that failed, and why.
    pub async fn serve(
        conn: &Connection,
        manager: ManagerHandle,
        auth: Authority,
    ) -> Result<Bus, (&'static str, zbus::Error)> {
        let server = conn.object_server();
        let index = Index::default();
        server
            .at(
                ROOT_PATH,
                Objects::new(index.clone(), manager.clone(), auth.clone()),
            )
            .await
            .map_err(|e| ("export the object manager", e))?;
        server
            .at(
                CONTROLLER_PATH,
                Controller::new(manager.clone(), auth.clone()),
            )
            .await
            .map_err(|e| ("export the controller", e))?;
        server
            .at(
                SETTINGS_PATH,
                settings::Settings::new(manager.clone(), auth.clone()),
            )
            .await
            .map_err(|e| ("export the settings", e))?;
        let controller = server
            .interface::<_, Controller>(CONTROLLER_PATH)
            .await
            .map_err(|e| ("export the controller", e))?;
        Ok(Bus {
            conn: conn.clone(),
            manager,
            auth,
            controller,
            index,
        })
    }

    async fn apply(&self, change: Change) {
        match change {
            Change::NamespaceFound(ns) => self.export_namespace(ns).await,
            Change::NamespaceAdded(ns) => {
                let path = ns.object_path();
                self.export_namespace(ns).await;
                self.announce_namespace(&path, true).await;
            }
            Change::NamespaceRemoved(ns) => {
                let path = ns.object_path();
                self.index.namespace(&ns, false);
                let server = self.conn.object_server();
                if let Err(e) = server.remove::<NetNsInstance, _>(&path).await {
                    tracing::error!(name = %ns.name, "unexport {path}: {e}");
                }
                self.announce_namespace(&path, false).await;
            }
            Change::InstanceChanged { ns, prop } => self.instance_changed(ns, prop).await,
            Change::ProcessExited { ns, pid, status } => {
                let sent = match SignalEmitter::new(&self.conn, namespace_path(ns)) {
                    Ok(e) => NetNsInstance::process_exited(&e, pid, status).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = sent {
                    tracing::warn!("ProcessExited: {e}");
                }
            }
            Change::DeviceAdded {
                device,
                ns,
                internal,
            } => {
                let obj = DeviceObject::new(device, self.manager.registry.devices.clone());
                let path = device_path(device);
                if let Err(e) = self.conn.object_server().at(path.as_str(), obj).await {
                    tracing::error!("export device {path}: {e}");
                }
                self.index.device(device, true);
                self.device_listed(ns, device, internal, true).await;
            }
            Change::DeviceListed {
                device,
                ns,
                internal,
                listed,
            } => self.device_listed(ns, device, internal, listed).await,
            Change::DeviceChanged { device, props } => self.device_changed(device, &props).await,
            Change::DeviceRemoved {
                device,
                listed_in,
                internal,
            } => {
                if let Some(ns) = listed_in {
                    self.device_listed(ns, device, internal, false).await;
                }
                let path = device_path(device);
                self.index.device(device, false);
                let server = self.conn.object_server();
                if let Err(e) = server.remove::<DeviceObject, _>(path.as_str()).await {
                    tracing::warn!("unexport device {path}: {e}");
                }
            }
            Change::ActiveAdded(n) => {
                active::export(&self.conn, n, self.manager.registry.actives.clone()).await;
                self.index.active(n, true);
            }
            Change::ActiveStateChanged {
                active: n,
                state,
                vpn_state,
                reason,
            } => active::announce(&self.conn, n, state, vpn_state, reason).await,
            Change::ActiveRemoved(n) => {
                self.index.active(n, false);
                active::unexport(&self.conn, n).await
            }
            Change::ProfileFound(n) => self.export_profile(n).await,
            Change::ProfileAdded(n) => {
                self.export_profile(n).await;
                settings::added(&self.conn, n, true).await;
            }
            Change::ProfileUpdated(n) => settings::updated(&self.conn, n).await,
            Change::ProfileRemoved(n) => {
                settings::added(&self.conn, n, false).await;
                self.index.profile(n, false);
                settings::unexport(&self.conn, n).await;
            }
        }
    }

    /// Puts a namespace's object on the bus (no signals).
    async fn export_namespace(&self, ns: Namespace) {
        let path = ns.object_path();
        let name = ns.name.clone();
        let record = ns.clone();
        let iface = NetNsInstance::new(ns, self.manager.clone(), self.auth.clone());
        if let Err(e) = self.conn.object_server().at(&path, iface).await {
            tracing::error!(name = %name, "export {path}: {e}");
        }
        self.index.namespace(&record, true);
    }

    /// NetworkNamespaceAdded / Removed, and the NetworkNamespaces property.
    async fn announce_namespace(&self, path: &OwnedObjectPath, added: bool) {
        let emitter = self.controller.signal_emitter();
        let sent = if added {
            Controller::network_namespace_added(emitter, path.as_ref()).await
        } else {
            Controller::network_namespace_removed(emitter, path.as_ref()).await
        };
        if let Err(e) = sent {
            tracing::warn!("signal for {path}: {e}");
        }
        let changed = self
            .controller
            .get()
            .await
            .network_namespaces_invalidate(emitter)
            .await;
        if let Err(e) = changed {
            tracing::warn!("PropertiesChanged for NetworkNamespaces: {e}");
        }
    }

    /// Namespace `ns`'s NetNsInstance object, if it is (still) exported.
    async fn instance(&self, ns: u32) -> Option<InterfaceRef<NetNsInstance>> {
        self.conn
            .object_server()
            .interface::<_, NetNsInstance>(namespace_path(ns))
            .await
            .ok()
    }

    /// PropertiesChanged for a NetNsInstance property (one signal).
    async fn instance_changed(&self, ns: u32, prop: InstanceProperty) {
        let Some(iface) = self.instance(ns).await else {
            return;
        };
        let e = iface.signal_emitter();
        if let Err(err) = iface.get().await.announce(e, prop).await {
            tracing::warn!("PropertiesChanged for {prop:?}: {err}");
        }
    }

    /// A device joining (`listed`) or leaving namespace `ns`'s lists: the
    /// NetnsDevice signal (unless internal), the NetnsInternalDevice one,
    /// then one PropertiesChanged invalidating Devices (unless internal) and
    /// AllDevices.
    async fn device_listed(&self, ns: u32, device: u32, internal: bool, listed: bool) {
        let Some(iface) = self.instance(ns).await else {
            return;
        };
        let emitter = iface.signal_emitter();
        let path: OwnedObjectPath = ObjectPath::try_from(device_path(device))
            .expect("valid path")
            .into();
        let sent = match (internal, listed) {
            (true, _) => Ok(()),
            (false, true) => NetNsInstance::netns_device_added(emitter, path.as_ref()).await,
            (false, false) => NetNsInstance::netns_device_removed(emitter, path.as_ref()).await,
        };
        let path = path.as_ref();
        // As in the prototype, the Internal signals follow AllDevices:
        // every device, loopback included (docs/porting.md).
        let all = match listed {
            true => NetNsInstance::netns_internal_device_added(emitter, path).await,
            false => NetNsInstance::netns_internal_device_removed(emitter, path).await,
        };
        if let Err(e) = sent.and(all) {
            tracing::warn!("device signal: {e}");
        }
        if let Err(e) = iface.get().await.announce_devices(emitter, internal).await {
            tracing::warn!("PropertiesChanged for the device lists: {e}");
        }
    }

    /// PropertiesChanged for Device properties: one signal for the change.
    async fn device_changed(&self, device: u32, props: &[DeviceProperty]) {
        let Ok(iface) = self
            .conn
            .object_server()
            .interface::<_, DeviceObject>(device_path(device))
            .await
        else {
            return;
        };
        let e = iface.signal_emitter();
        if let Err(err) = iface.get().await.announce(e, props).await {
            tracing::warn!("PropertiesChanged for {props:?}: {err}");
        }
    }

    async fn export_profile(&self, n: u32) {
        settings::export(&self.conn, n, &self.manager, &self.auth).await;
        self.index.profile(n, true);
    }
}

impl Publisher for Bus {
    fn publish(&self, change: Change) -> BoxFuture<'_, ()> {
        Box::pin(self.apply(change))
    }

    /// Without the property changes of the objects the batch adds: those go
    /// on the bus with their final properties (a namespace made with an
    /// uplink and DNS in one call: one InterfacesAdded, no PropertiesChanged
    /// per step queued ahead of the call's reply).
    fn publish_batch(&self, mut changes: Vec<Change>) -> BoxFuture<'_, ()> {
        crate::manager::coalesce(&mut changes);
        Box::pin(async move {
            for c in changes {
                self.apply(c).await;
            }
        })
    }
}
