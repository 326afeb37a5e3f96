//! net.netnsd.Netns1.Connection.Active and net.netnsd.Netns1.VPN.Connection,
//! one object per active connection, with NetworkManager's state numbers.

use netnsd_api::{active_path, connection_path, namespace_path};
use zbus::object_server::SignalEmitter;
use zbus::wire::{ObjectPath, OwnedObjectPath};
use zbus::{Connection, interface};

use crate::manager::{ActiveInfo, ActiveTable, Shared};

type Table = Shared<ActiveTable>;

fn path(p: String) -> OwnedObjectPath {
    ObjectPath::try_from(p).expect("valid path").into()
}

pub struct Active {
    number: u32,
    actives: Table,
}

impl Active {
    fn read<T: Default>(&self, f: impl FnOnce(&ActiveInfo) -> T) -> T {
        self.actives
            .read()
            .get(&self.number)
            .map(f)
            .unwrap_or_default()
    }
}

#[interface(name = "net.netnsd.Netns1.Connection.Active")]
impl Active {
    /// The profile (Settings.Connection object) this connection runs.
    #[zbus(property)]
    fn connection(&self) -> OwnedObjectPath {
        path(connection_path(self.read(|a| a.profile)))
    }

    /// The profile's id.
    #[zbus(property)]
    fn id(&self) -> String {
        self.read(|a| a.id.clone())
    }

    /// The profile's uuid.
    #[zbus(property)]
    fn uuid(&self) -> String {
        self.read(|a| a.uuid.clone())
    }

    /// The profile's type ("vpn").
    #[zbus(property, name = "Type")]
    fn kind(&self) -> String {
        self.read(|a| a.kind.clone())
    }

    /// NMActiveConnectionState: 1 activating, 2 activated, 3 deactivating,
    /// 4 deactivated.
    #[zbus(property)]
    fn state(&self) -> u32 {
        self.read(|a| a.state)
    }

    /// The reason for the last state change (NMActiveConnectionStateReason).
    #[zbus(property)]
    fn state_reason(&self) -> u32 {
        self.read(|a| a.reason)
    }

    /// Whether this is a VPN connection.
    #[zbus(property)]
    fn vpn(&self) -> bool {
        self.read(|a| a.vpn)
    }

    /// The namespace the connection's device is in (the isolated namespace
    /// of an isolated VPN, once the tunnel is there).
    #[zbus(property)]
    fn network_namespace(&self) -> OwnedObjectPath {
        path(namespace_path(self.read(|a| a.ns)))
    }

    /// The namespace the VPN client runs in (the uplink's).
    #[zbus(property)]
    fn uplink_network_namespace(&self) -> OwnedObjectPath {
        path(namespace_path(self.read(|a| a.uplink_ns)))
    }

    /// The state changed, and why.
    #[zbus(signal, name = "StateChanged")]
    pub async fn state_changed_signal(
        emitter: &SignalEmitter<'_>,
        state: u32,
        reason: u32,
    ) -> zbus::Result<()>;
}

pub struct Vpn {
    number: u32,
    actives: Table,
}

#[interface(name = "net.netnsd.Netns1.VPN.Connection")]
impl Vpn {
    /// NMVpnConnectionState: 1 prepare, 2 need-auth, 3 connect,
    /// 4 ip-config-get, 5 activated, 6 failed, 7 disconnected.
    #[zbus(property)]
    fn vpn_state(&self) -> u32 {
        self.actives
            .read()
            .get(&self.number)
            .map(|a| a.vpn_state)
            .unwrap_or_default()
    }

    /// The login banner the server sent, if any.
    #[zbus(property)]
    fn banner(&self) -> String {
        self.actives
            .read()
            .get(&self.number)
            .map(|a| a.banner.clone())
            .unwrap_or_default()
    }

    /// The VPN state changed, and why (NMVpnConnectionStateReason).
    #[zbus(signal, name = "VpnStateChanged")]
    pub async fn vpn_state_changed_signal(
        emitter: &SignalEmitter<'_>,
        state: u32,
        reason: u32,
    ) -> zbus::Result<()>;
}

/// Puts active connection `number`'s object on the bus.
pub async fn export(conn: &Connection, number: u32, actives: Table) {
    let p = active_path(number);
    let s = conn.object_server();
    if let Err(e) = s
        .at(
            p.as_str(),
            Active {
                number,
                actives: actives.clone(),
            },
        )
        .await
    {
        tracing::error!("export {p}: {e}");
    }
    if let Err(e) = s.at(p.as_str(), Vpn { number, actives }).await {
        tracing::error!("export {p}: {e}");
    }
}

/// Takes active connection `number`'s object off the bus.
pub async fn unexport(conn: &Connection, number: u32) {
    let p = active_path(number);
    let _ = conn.object_server().remove::<Vpn, _>(p.as_str()).await;
    let _ = conn.object_server().remove::<Active, _>(p.as_str()).await;
}

/// Emits StateChanged / VpnStateChanged and the matching PropertiesChanged.
pub async fn announce(
    conn: &Connection,
    number: u32,
    state: Option<u32>,
    vpn_state: Option<u32>,
    reason: u32,
) {
    let p = active_path(number);
    let s = conn.object_server();
    if let Some(state) = state
        && let Ok(iface) = s.interface::<_, Active>(p.as_str()).await
    {
        let e = iface.signal_emitter();
        let i = iface.get().await;
        let _ = i.state_changed(e).await;
        let _ = i.state_reason_changed(e).await;
        let _ = i.network_namespace_changed(e).await;
        if let Err(err) = Active::state_changed_signal(e, state, reason).await {
            tracing::warn!("StateChanged: {err}");
        }
    }
    if let Some(v) = vpn_state
        && let Ok(iface) = s.interface::<_, Vpn>(p.as_str()).await
    {
        let e = iface.signal_emitter();
        let _ = iface.get().await.vpn_state_changed(e).await;
        if let Err(err) = Vpn::vpn_state_changed_signal(e, v, reason).await {
            tracing::warn!("VpnStateChanged: {err}");
        }
    }
}
