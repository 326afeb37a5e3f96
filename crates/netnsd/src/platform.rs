//! Per-namespace netlink. A socket belongs to the namespace it was opened in,
//! so a socket for another namespace is opened on a thread that has entered
//! that namespace (see `netns::RunDir::create`); afterwards it is driven from
//! the async runtime like any other.

use std::io;

use rtnetlink::{Handle, LinkUnspec};

/// A netlink connection bound to one namespace.
pub struct Netlink {
    handle: Handle,
}

impl Netlink {
    /// Opens a connection in the calling thread's namespace and starts driving
    /// it on `rt`. Safe to call from a plain OS thread.
    pub fn open_here(rt: &tokio::runtime::Handle) -> io::Result<Self> {
        let _enter = rt.enter();
        let (conn, handle, _events) = rtnetlink::new_connection()?;
        rt.spawn(conn);
        Ok(Netlink { handle })
    }

    /// Brings the loopback device (ifindex 1 in every namespace) up.
    pub async fn loopback_up(&self) -> Result<(), rtnetlink::Error> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(1).up().build())
            .execute()
            .await
    }
}
