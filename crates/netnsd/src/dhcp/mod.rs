//! The in-process DHCPv4 client of macvlan uplinks (`dhcp` option): one
//! task per uplink, driving the [`machine`] with a UDP socket opened inside
//! the namespace and bound to the uplink device, reporting what it got to
//! the manager, which applies it. It gives the lease back (RELEASE) when
//! told to stop, or when the manager drops it.

pub mod machine;

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dhcproto::v4::Message;
use dhcproto::{Decodable, Encodable};
use tokio::sync::oneshot;

pub use machine::Lease;
use machine::{Dest, Machine, Out};

/// What the client reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Bound(Lease),
    Renewed(Lease),
    /// The lease expired or was refused: its address must go.
    Lost,
    /// No lease within the time allowed for the first one; the client ended.
    Failed(String),
}

/// The manager's hold on a running client: dropping it releases the lease.
pub struct Client {
    stop: Option<oneshot::Sender<oneshot::Sender<()>>>,
}

impl Client {
    /// Gives the lease back and ends the client; returns once the RELEASE
    /// was sent (or `within` passed).
    pub async fn release(mut self, within: Duration) {
        let Some(stop) = self.stop.take() else { return };
        let (done, wait) = oneshot::channel();
        if stop.send(done).is_ok() {
            let _ = tokio::time::timeout(within, wait).await;
        }
    }
}

/// Milliseconds since the epoch: the machine's clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// A lease as the DhcpLease property shows it.
pub fn lease_dict(l: &Lease) -> std::collections::HashMap<String, zbus::wire::OwnedVariant> {
    use zbus::wire::{OwnedVariant, Variant};
    let v = |x: Variant<'_>| OwnedVariant::try_from(x).expect("plain values convert");
    let mut d = std::collections::HashMap::new();
    d.insert(
        "address".into(),
        v(format!("{}/{}", l.address, l.prefix).into()),
    );
    d.insert("server".into(), v(l.server.to_string().into()));
    if let Some(r) = l.router {
        d.insert("gateway".into(), v(r.to_string().into()));
    }
    let dns: Vec<String> = l.dns.iter().map(|s| s.to_string()).collect();
    d.insert("dns".into(), v(dns.into()));
    if let Some(dom) = &l.domain {
        d.insert("domain".into(), v(dom.clone().into()));
    }
    d.insert("lease-time".into(), v(l.lease_secs.into()));
    d.insert("obtained".into(), v((l.obtained_ms / 1000).into()));
    d.insert("renew-at".into(), v((l.renew_at() / 1000).into()));
    d.insert("rebind-at".into(), v((l.rebind_at() / 1000).into()));
    d.insert("expires-at".into(), v((l.expires_at() / 1000).into()));
    d
}

/// What a client needs to start.
pub struct Start {
    /// The namespace the uplink is in (its nsfs file).
    pub ns: File,
    pub ifname: String,
    pub mac: [u8; 6],
    /// A lease held before (a restarted daemon's), to renew rather than
    /// starting with DISCOVER.
    pub resume: Option<Lease>,
    /// How long the first lease may take; then Failed and the end.
    pub first_within: Duration,
}

/// Starts a client; `report` is called with each report, on the client's task.
pub fn spawn(start: Start, report: impl Fn(Report) + Send + Sync + 'static) -> Client {
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(async move {
        if let Err(e) = run(start, stopped, &report).await {
            report(Report::Failed(e));
        }
    });
    Client { stop: Some(stop) }
}

async fn run(
    start: Start,
    mut stopped: oneshot::Receiver<oneshot::Sender<()>>,
    report: &(impl Fn(Report) + Send + Sync),
) -> Result<(), String> {
    let ifname = start.ifname.clone();
    let ns = start.ns;
    let name = ifname.clone();
    let sock = crate::netns::thread::run_async("dhcp-socket", move || {
        crate::netns::thread::within(&ns, || open_socket(&name))?
    })
    .await
    .map_err(|e| format!("opening the DHCP client's socket on {ifname}: {e}"))?;
    let sock = tokio::net::UdpSocket::from_std(sock)
        .map_err(|e| format!("the DHCP client's socket on {ifname}: {e}"))?;
    let seed = now_ms() as u32 ^ std::process::id().rotate_left(16);
    let mut m = Machine::new(start.mac, seed);
    let now = now_ms();
    let mut out = match start.resume {
        Some(lease) => m.resume(lease, now),
        None => m.start(now),
    };
    let mut give_up =
        (m.lease().is_none()).then(|| tokio::time::Instant::now() + start.first_within);
    let mut buf = vec![0u8; 1500];
    loop {
        for o in out.drain(..) {
            match o {
                Out::Send(msg, to) => send(&sock, &msg, to).await,
                Out::Bound(l) => report(Report::Bound(l)),
                Out::Renewed(l) => report(Report::Renewed(l)),
                Out::Lost => report(Report::Lost),
            }
        }
        if m.lease().is_some() {
            give_up = None;
        }
        let wake = m
            .deadline()
            .map(|d| Duration::from_millis(d.saturating_sub(now_ms())))
            .unwrap_or(Duration::from_secs(3600));
        // Timers are checked at least every minute, so a wall clock that
        // jumped is noticed.
        let wake = tokio::time::Instant::now() + wake.min(Duration::from_secs(60));
        tokio::select! {
            done = &mut stopped => {
                if let Some((msg, to)) = m.release() {
                    send(&sock, &msg, to).await;
                    tracing::info!(%ifname, "DHCP lease released");
                }
                if let Ok(done) = done {
                    let _ = done.send(());
                }
                return Ok(());
            }
            r = sock.recv_from(&mut buf) => {
                match r {
                    Ok((n, _)) => match Message::from_bytes(&buf[..n]) {
                        Ok(msg) => out = m.on_message(&msg, now_ms()),
                        Err(e) => tracing::debug!(%ifname, "an unreadable DHCP message: {e}"),
                    },
                    Err(e) => {
                        tracing::warn!(%ifname, "DHCP client: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
            _ = tokio::time::sleep_until(wake) => out = m.on_timer(now_ms()),
            _ = async { tokio::time::sleep_until(give_up.unwrap()).await }, if give_up.is_some() => {
                return Err(format!("no DHCP lease on {ifname} within {} s", start.first_within.as_secs()));
            }
        }
    }
}

async fn send(sock: &tokio::net::UdpSocket, msg: &Message, to: Dest) {
    let addr = match to {
        Dest::Broadcast => Ipv4Addr::BROADCAST,
        Dest::Unicast(a) => a,
    };
    let bytes = match msg.to_vec() {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!("encoding a DHCP message: {e}");
            return;
        }
    };
    if let Err(e) = sock.send_to(&bytes, SocketAddrV4::new(addr, 67)).await {
        tracing::warn!(%addr, "sending a DHCP message: {e}");
    }
}

/// In the uplink's namespace: UDP port 68 on `ifname` only, allowed to
/// broadcast, non-blocking.
fn open_socket(ifname: &str) -> io::Result<UdpSocket> {
    let s = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68))?;
    s.set_broadcast(true)?;
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            ifname.as_ptr().cast(),
            ifname.len() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    s.set_nonblocking(true)?;
    Ok(s)
}
