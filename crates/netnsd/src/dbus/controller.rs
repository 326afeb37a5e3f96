//! net.netnsd.Netns1.NetworkNamespacesController

use netnsd_api::{Error, ROOT_NS_NAME, actions, validate};
use zbus::interface;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::wire::{ObjectPath, OwnedObjectPath};

use super::auth::Authority;
use crate::manager::ManagerHandle;

pub struct Controller {
    manager: ManagerHandle,
    auth: Authority,
}

impl Controller {
    pub fn new(manager: ManagerHandle, auth: Authority) -> Self {
        Controller { manager, auth }
    }

    fn lookup(&self, name: &str) -> Result<OwnedObjectPath, Error> {
        namespace_named(&self.manager, name)
    }
}

/// The object path of the namespace NAME (NotFound if there is none).
pub(crate) fn namespace_named(
    manager: &ManagerHandle,
    name: &str,
) -> Result<OwnedObjectPath, Error> {
    manager
        .registry
        .namespaces
        .read()
        .get(name)
        .map(|ns| ns.object_path())
        .ok_or_else(|| Error::NotFound(format!("namespace {name:?} not found")))
}

pub(crate) fn valid_name(name: &str) -> Result<(), Error> {
    validate::netns_name(name).map_err(Error::InvalidArgument)
}

#[interface(name = "net.netnsd.Netns1.NetworkNamespacesController")]
impl Controller {
    /// (ext) The dispatcher scripts of /etc/netnsd/dispatcher.d in the
    /// order they run: each path, whether it runs, and why not (not root's,
    /// writable by others, not executable).
    #[zbus(out_args("scripts"))]
    async fn get_dispatcher_scripts(&self) -> Result<Vec<(String, bool, String)>, Error> {
        tokio::task::spawn_blocking(|| {
            crate::dispatcher::list(std::path::Path::new(crate::dispatcher::DIR))
        })
        .await
        .map_err(|e| Error::Failed(format!("reading {}: {e}", crate::dispatcher::DIR)))
    }

    /// The object paths of all network namespaces, the root namespace first.
    #[zbus(out_args("namespaces"))]
    fn list_network_namespaces(&self, #[zbus(header)] hdr: Header<'_>) -> Vec<OwnedObjectPath> {
        self.auth.warm_caller(&hdr);
        self.manager.registry.namespaces.read().paths()
    }

    /// Creates the namespace NAME, bound at /run/netns/NAME, with lo up.
    #[zbus(out_args("namespace"))]
    async fn add_network_namespace(
        &self,
        name: String,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        valid_name(&name)?;
        if name == ROOT_NS_NAME {
            return Err(Error::AlreadyExists(format!(
                "{ROOT_NS_NAME:?} is the root namespace"
            )));
        }
        self.auth.check(&hdr, actions::MANAGE_NAMESPACES).await?;
        self.manager.add(name).await
    }

    /// Creates the namespace NAME ready for use in one call: with an uplink
    /// and DNS as OPTIONS say (keys: uplink, uplink-netns, uplink-parent,
    /// address, gateway, ipv6, dns, dns-search). On any failure nothing is
    /// left behind.
    #[zbus(out_args("namespace"))]
    async fn add_network_namespace_with_options(
        &self,
        name: String,
        options: std::collections::HashMap<String, zbus::wire::OwnedVariant>,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        valid_name(&name)?;
        if name == ROOT_NS_NAME {
            return Err(Error::AlreadyExists(format!(
                "{ROOT_NS_NAME:?} is the root namespace"
            )));
        }
        let (up, dns) = super::options::namespace(&options)?;
        let uplink = match up {
            None => None,
            Some(req) => {
                let n = super::instance::resolve_uplink_ns(&self.manager, &req.uplink_netns)?;
                Some(crate::manager::UplinkSpec {
                    uplink_ns: n,
                    ..req.spec
                })
            }
        };
        if self.manager.registry.namespaces.read().get(&name).is_some() {
            return Err(Error::AlreadyExists(format!(
                "namespace {name:?} already exists"
            )));
        }
        self.auth.check(&hdr, actions::MANAGE_NAMESPACES).await?;
        self.manager
            .add_with_options(name, crate::manager::NsOptions { uplink, dns })
            .await
    }

    /// Removes the namespace NAME; returns "Success".
    #[zbus(out_args("result"))]
    async fn remove_network_namespace(
        &self,
        name: String,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<String, Error> {
        valid_name(&name)?;
        if name == ROOT_NS_NAME {
            return Err(Error::PermissionDenied(format!(
                "the root namespace {ROOT_NS_NAME:?} cannot be removed"
            )));
        }
        self.lookup(&name)?;
        self.auth.check(&hdr, actions::MANAGE_NAMESPACES).await?;
        self.manager.remove(name).await?;
        Ok("Success".into())
    }

    /// (ext) Names the network namespace process PID is in, as `ip netns
    /// attach NAME PID` does (/proc/PID/ns/net bound at /run/netns/NAME);
    /// the namespace is then followed like any other. Removing it takes the
    /// name away; the process keeps its namespace. Authorization:
    /// manage-namespaces for the caller's own process, configure-host
    /// (administrators) for anyone else's.
    #[zbus(out_args("namespace"))]
    async fn attach_network_namespace(
        &self,
        name: String,
        pid: u32,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        valid_name(&name)?;
        if name == ROOT_NS_NAME {
            return Err(Error::AlreadyExists(format!(
                "{ROOT_NS_NAME:?} is the root namespace"
            )));
        }
        if self.manager.registry.namespaces.read().get(&name).is_some() {
            return Err(Error::AlreadyExists(format!(
                "namespace {name:?} already exists"
            )));
        }
        let netns = tokio::task::spawn_blocking(move || crate::netns::attach::process_netns(pid))
            .await
            .map_err(|e| Error::Failed(e.to_string()))??;
        let caller = self.auth.caller_uid(&hdr).await?;
        let action = if caller == netns.uid {
            actions::MANAGE_NAMESPACES
        } else {
            actions::CONFIGURE_HOST
        };
        self.auth.check(&hdr, action).await?;
        self.manager.attach(name, pid, netns).await
    }

    /// The object path of the namespace NAME.
    #[zbus(out_args("namespace"))]
    fn get_network_namespace_by_name(
        &self,
        name: String,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        self.auth.warm_caller(&hdr);
        valid_name(&name)?;
        self.lookup(&name)
    }

    /// Reads the declared namespaces' files
    /// (/etc/netnsd/namespaces.d/*.conf) again: makes the namespaces of new
    /// files, removes those whose file went (if netnsd made them from it and
    /// nothing uses them). Returns the names made and removed, and one line
    /// per file refused or namespace left as it was, naming the file.
    #[zbus(out_args("created", "removed", "errors"))]
    async fn reload_namespaces(
        &self,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<(Vec<String>, Vec<String>, Vec<String>), Error> {
        self.auth.check(&hdr, actions::MANAGE_NAMESPACES).await?;
        let r = self.manager.reload_declared().await?;
        Ok((r.created, r.removed, r.errors))
    }

    /// All network namespaces. A change is announced by invalidating the
    /// property (PropertiesChanged without the list), so the signal does not
    /// grow with the population; NetworkNamespaceAdded/Removed name the one
    /// that changed.
    #[zbus(property(emits_changed_signal = "invalidates"))]
    fn network_namespaces(&self) -> Vec<OwnedObjectPath> {
        self.manager.registry.namespaces.read().paths()
    }

    /// A namespace appeared.
    #[zbus(signal)]
    pub async fn network_namespace_added(
        emitter: &SignalEmitter<'_>,
        namespace: ObjectPath<'_>,
    ) -> zbus::Result<()>;

    /// A namespace went away.
    #[zbus(signal)]
    pub async fn network_namespace_removed(
        emitter: &SignalEmitter<'_>,
        namespace: ObjectPath<'_>,
    ) -> zbus::Result<()>;
}
