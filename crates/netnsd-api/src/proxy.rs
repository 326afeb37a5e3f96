//! Client-side proxies for netnsd's interfaces.

use std::collections::HashMap;

use zbus::proxy;
use zbus::wire::{OwnedObjectPath, OwnedVariant};

use crate::Error;

#[proxy(
    interface = "net.netnsd.Netns1.NetworkNamespacesController",
    default_service = "net.netnsd.Netns1",
    default_path = "/net/netnsd/Netns1/NetworkNamespacesController"
)]
pub trait NetworkNamespacesController {
    fn list_network_namespaces(&self) -> Result<Vec<OwnedObjectPath>, Error>;
    fn add_network_namespace(&self, name: &str) -> Result<OwnedObjectPath, Error>;
    fn add_network_namespace_with_options(
        &self,
        name: &str,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<OwnedObjectPath, Error>;
    fn remove_network_namespace(&self, name: &str) -> Result<String, Error>;
    fn get_network_namespace_by_name(&self, name: &str) -> Result<OwnedObjectPath, Error>;

    #[zbus(property)]
    fn network_namespaces(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    #[zbus(signal)]
    fn network_namespace_added(&self, path: OwnedObjectPath) -> zbus::Result<()>;
    #[zbus(signal)]
    fn network_namespace_removed(&self, path: OwnedObjectPath) -> zbus::Result<()>;
}

#[proxy(
    interface = "net.netnsd.Netns1.NetNsInstance",
    default_service = "net.netnsd.Netns1"
)]
pub trait NetNsInstance {
    #[zbus(property)]
    fn name(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn id(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn path(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn persistent(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn managed(&self) -> zbus::Result<bool>;
}
