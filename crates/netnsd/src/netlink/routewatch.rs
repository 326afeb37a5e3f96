//! Following a namespace's default routes (issue 13: "forwarding and NAT
//! follow the host's default route when it moves to another device"): a
//! netlink socket opened in that namespace, subscribed to its IPv4 and IPv6
//! route changes, that calls back whenever a default route of the main
//! table appears or changes (or events were lost), so the caller can look
//! at the default routes again.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::RouteMessage;
use rtnetlink::sys::Socket;
use rtnetlink::sys::protocols::NETLINK_ROUTE;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The main routing table.
const RT_TABLE_MAIN: u8 = 254;

/// While alive, the callback runs for each default-route change.
pub struct DefaultRouteWatch {
    task: tokio::task::AbortHandle,
}

impl Drop for DefaultRouteWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether a route message is about a default route of the main table.
pub fn is_main_default(m: &RouteMessage) -> bool {
    m.header.destination_prefix_length == 0 && m.header.table == RT_TABLE_MAIN
}

fn open() -> io::Result<Socket> {
    let mut s = Socket::new(NETLINK_ROUTE)?;
    s.bind_auto()?;
    s.add_membership(libc::RTNLGRP_IPV4_ROUTE)?;
    s.add_membership(libc::RTNLGRP_IPV6_ROUTE)?;
    s.set_non_blocking(true)?;
    Ok(s)
}

/// Starts following the default routes of the namespace open at `ns` (the
/// daemon's own when None). Blocks briefly (a thread enters `ns` to open the
/// socket): call it off the manager's task for another namespace.
pub fn start(
    rt: &tokio::runtime::Handle,
    ns: Option<&File>,
    changed: impl Fn() + Send + 'static,
) -> io::Result<DefaultRouteWatch> {
    let socket = match ns {
        None => open()?,
        Some(f) => {
            let f = f.try_clone()?;
            crate::netns::thread::run("route-watch", move || {
                crate::netns::thread::within(&f, open)?
            })?
        }
    };
    let _enter = rt.enter();
    // SAFETY: the Socket owns its fd, which stays open and the same until
    // the AsyncFd (which owns the Socket) is dropped.
    let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
        .map_err(io::Error::from)?;
    let task = rt.spawn(read(socket, changed)).abort_handle();
    Ok(DefaultRouteWatch { task })
}

async fn read(socket: AsyncFd<Socket>, changed: impl Fn()) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let mut ready = match socket.readable().await {
            Ok(r) => r,
            Err(e) => return tracing::warn!("waiting for route changes: {e}"),
        };
        let got = ready.try_io(|s| {
            // SAFETY: a plain recv into a buffer of the given size.
            let n = unsafe {
                libc::recv(
                    s.get_ref().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match got {
            Err(_would_block) => continue,
            Ok(Ok(n)) => {
                let default_changed = super::events::messages(&buf[..n]).iter().any(|m| {
                    matches!(m,
                        RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r)
                            if is_main_default(r))
                });
                if default_changed {
                    changed();
                }
            }
            // Changes were lost: look again, to be sure.
            Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => changed(),
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
            Ok(Err(e)) => return tracing::warn!("reading route changes: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_main_table_defaults_count() {
        let mut m = RouteMessage::default();
        m.header.table = RT_TABLE_MAIN;
        assert!(is_main_default(&m));
        m.header.destination_prefix_length = 24;
        assert!(!is_main_default(&m));
        m.header.destination_prefix_length = 0;
        m.header.table = 255;
        assert!(!is_main_default(&m), "local table");
    }
}
