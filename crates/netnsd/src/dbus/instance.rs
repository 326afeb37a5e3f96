//! net.netnsd.Netns1.NetNsInstance, one object per namespace.

use zbus::interface;

use crate::manager::Namespace;

pub struct NetNsInstance {
    ns: Namespace,
}

impl NetNsInstance {
    pub fn new(ns: Namespace) -> Self {
        NetNsInstance { ns }
    }
}

#[interface(name = "net.netnsd.Netns1.NetNsInstance")]
impl NetNsInstance {
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
}
