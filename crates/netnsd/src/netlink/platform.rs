//! [`Platform`]: one namespace as the daemon sees it, its request handle
//! and its place on the events socket.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use rtnetlink::LinkUnspec;

use super::events::{Events, Watch};
use super::handles::{Conn, NetlinkHandle, Target, connect_here};
use crate::netns::thread;

/// One namespace as the daemon sees it: its requests, and its events, which
/// go to the manager while a clone lives. The namespace's file and any open
/// connection close when the last clone is dropped, which matters: either
/// keeps the namespace alive after `/run/netns/NAME` is gone.
#[derive(Clone)]
pub struct Platform {
    pub handle: NetlinkHandle,
    _events: Arc<Watch>,
}

impl Platform {
    /// The daemon's own namespace (the calling thread's, which must be
    /// the daemon's), as namespace `ns`, its events going to `events`.
    /// Opens no connection yet.
    pub fn open_here(rt: &tokio::runtime::Handle, ns: u32, events: Events) -> io::Result<Self> {
        let own = thread::current()?;
        Ok(Platform {
            _events: Arc::new(events.watch(ns, &own)?),
            handle: NetlinkHandle::new(rt, Target::Own, None),
        })
    }

    /// A namespace just made and bound at `path`, from a thread that is
    /// inside it: follows its events, and opens the request connection
    /// right away since the thread is there anyway.
    pub fn open_new(
        path: &Path,
        rt: &tokio::runtime::Handle,
        ns: u32,
        events: Events,
    ) -> io::Result<Self> {
        let here = thread::current()?;
        let watch = events.watch(ns, &here)?;
        let handle = connect_here(rt)?;
        let target = Target::Other {
            file: here,
            path: path.to_owned(),
        };
        Ok(Platform {
            _events: Arc::new(watch),
            handle: NetlinkHandle::new(rt, target, Some(handle)),
        })
    }

    /// A namespace made ahead ([`Unnamed`]), now bound at `path`, as
    /// namespace `ns`: its request connection is already open, its nsid
    /// already given, its loopback already up. Blocks on nothing.
    pub fn from_unnamed(
        u: Unnamed,
        path: &Path,
        rt: &tokio::runtime::Handle,
        ns: u32,
        events: &Events,
    ) -> Self {
        let watch = events.watch_assigned(ns, u.nsid);
        let target = Target::Other {
            file: u.file,
            path: path.to_owned(),
        };
        Platform {
            _events: Arc::new(watch),
            handle: NetlinkHandle::new(rt, target, Some(u.handle)),
        }
    }

    /// The namespace bound at `path`, as namespace `ns`. Blocks briefly
    /// (opens the file, asks for an nsid); opens no connection yet.
    pub fn open_in(
        path: &Path,
        rt: &tokio::runtime::Handle,
        ns: u32,
        events: Events,
    ) -> io::Result<Self> {
        let file = File::open(path)?;
        let watch = events.watch(ns, &file)?;
        let target = Target::Other {
            file,
            path: path.to_owned(),
        };
        Ok(Platform {
            _events: Arc::new(watch),
            handle: NetlinkHandle::new(rt, target, None),
        })
    }

    /// Brings the loopback device (ifindex 1 in every namespace) up.
    pub async fn loopback_up(&self) -> Result<(), rtnetlink::Error> {
        self.handle
            .get()
            .await?
            .link()
            .set(LinkUnspec::new_with_index(1).up().build())
            .execute()
            .await
    }

    /// Every link in the namespace.
    pub async fn dump_links(&self) -> Result<Vec<LinkMessage>, rtnetlink::Error> {
        let h = self.handle.get().await?;
        let mut out = Vec::new();
        let mut s = h.link().get().execute();
        while let Some(m) = s.next().await {
            out.push(m?);
        }
        Ok(out)
    }

    /// Every address in the namespace.
    pub async fn dump_addresses(&self) -> Result<Vec<AddressMessage>, rtnetlink::Error> {
        let h = self.handle.get().await?;
        let mut out = Vec::new();
        let mut s = h.address().get().execute();
        while let Some(m) = s.next().await {
            out.push(m?);
        }
        Ok(out)
    }
}

/// A namespace made ahead of need and not bound anywhere yet (see
/// `crate::spare`): held only by its file and its open request connection,
/// it vanishes when this is dropped (or the daemon ends). It has an nsid in
/// the daemon's namespace, so that [`Platform::from_unnamed`] needs no
/// request, and its loopback is up.
pub struct Unnamed {
    file: File,
    nsid: i32,
    handle: Conn,
    inode: u64,
    seen: Option<Devices>,
}

/// A namespace's links and addresses as one dump each read them.
pub type Devices = (Vec<LinkMessage>, Vec<AddressMessage>);

impl Unnamed {
    /// From a thread that has just moved into a new namespace: opens its
    /// file and a request connection there, and gives it an nsid.
    pub fn here(rt: &tokio::runtime::Handle, events: &Events) -> io::Result<Self> {
        let file = thread::current()?;
        let inode = std::os::unix::fs::MetadataExt::ino(&file.metadata()?);
        let handle = connect_here(rt)?;
        let nsid = events.assign(&file)?;
        Ok(Unnamed {
            file,
            nsid,
            handle,
            inode,
            seen: None,
        })
    }

    /// Reads its links and addresses (after [`Unnamed::loopback_up`]), to
    /// be given by [`Unnamed::take_devices`] when it is bound: nothing
    /// changes in it meanwhile, as nothing but the daemon can reach it.
    pub async fn read_devices(&mut self) -> Result<(), rtnetlink::Error> {
        let mut links = Vec::new();
        let mut s = self.handle.link().get().execute();
        while let Some(m) = s.next().await {
            links.push(m?);
        }
        let mut addrs = Vec::new();
        let mut s = self.handle.address().get().execute();
        while let Some(m) = s.next().await {
            addrs.push(m?);
        }
        self.seen = Some((links, addrs));
        Ok(())
    }

    /// What [`Unnamed::read_devices`] read, if it did.
    pub fn take_devices(&mut self) -> Option<Devices> {
        self.seen.take()
    }

    /// Brings its loopback device up.
    pub async fn loopback_up(&self) -> Result<(), rtnetlink::Error> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(1).up().build())
            .execute()
            .await
    }

    /// Its nsfs file, to bind it somewhere.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The namespace's inode.
    pub fn inode(&self) -> u64 {
        self.inode
    }
}
