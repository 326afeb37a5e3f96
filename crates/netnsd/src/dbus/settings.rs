//! net.netnsd.Netns1.Settings and net.netnsd.Netns1.Settings.Connection:
//! connection profiles as NetworkManager's `a{sa{sv}}` dictionaries.

use std::collections::HashMap;

use netnsd_api::{Error, SETTINGS_PATH, actions, connection_path};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::wire::{ObjectPath, OwnedObjectPath, OwnedVariant};
use zbus::{Connection, interface};

use super::auth::Authority;
use super::{agent_secrets, destination};
use crate::manager::{ManagerHandle, ProfileOp};
use crate::settings::Profile;

type Dict = HashMap<String, HashMap<String, OwnedVariant>>;

fn path(p: String) -> OwnedObjectPath {
    ObjectPath::try_from(p).expect("valid path").into()
}

pub struct Settings {
    manager: ManagerHandle,
    auth: Authority,
}

impl Settings {
    pub fn new(manager: ManagerHandle, auth: Authority) -> Self {
        Settings { manager, auth }
    }
}

#[interface(name = "net.netnsd.Netns1.Settings")]
impl Settings {
    /// The connection profiles.
    #[zbus(out_args("connections"))]
    fn list_connections(&self) -> Vec<OwnedObjectPath> {
        self.connections()
    }

    /// Adds a profile and saves it as a keyfile under
    /// /etc/netnsd/connections (root-only, 0600). A missing uuid is made.
    #[zbus(out_args("path"))]
    async fn add_connection(
        &self,
        connection: Dict,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<OwnedObjectPath, Error> {
        let profile = Profile::from_dbus(&connection)?;
        self.auth.check(&hdr, actions::MODIFY_SETTINGS).await?;
        // Agent-owned secrets go to the caller's agents, not to the keyfile.
        let (profile, agent_owned) = agent_secrets::split(&profile);
        let for_agents = agent_secrets::for_agents(&profile, &agent_owned);
        let path = self
            .manager
            .profile(ProfileOp::Add(Box::new(profile)))
            .await?;
        if !agent_owned.is_empty() {
            let (uid, _) = super::auth::credentials(self.auth.connection(), &hdr).await?;
            agent_secrets::save(uid, for_agents, path.clone());
        }
        Ok(path)
    }

    /// Imports a configuration file of another tool as a new profile (ext).
    /// KIND: "openvpn" — a plain OpenVPN client configuration, whose inline
    /// <ca>/<cert>/<key>/<tls-auth>/<tls-crypt> blocks are stored next to the
    /// profile (root-only files) and whose relative paths are taken from
    /// BASE_DIR. ID names the profile.
    #[zbus(out_args("path"))]
    async fn import_connection(
        &self,
        kind: String,
        id: String,
        contents: String,
        base_dir: String,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<OwnedObjectPath, Error> {
        if kind != "openvpn" && kind != "wireguard" {
            return Err(Error::NotSupported(format!(
                "importing {kind:?} configurations is not supported (only \"openvpn\" and \"wireguard\")"
            )));
        }
        if id.is_empty() {
            return Err(Error::InvalidArgument("id is empty".into()));
        }
        // A wg-quick file names no other files: base_dir is not used.
        if kind == "wireguard" {
            let profile = crate::settings::import_wg_quick(&contents, &id)?;
            self.auth.check(&hdr, actions::MODIFY_SETTINGS).await?;
            return self
                .manager
                .profile(ProfileOp::Add(Box::new(profile)))
                .await;
        }
        if !base_dir.starts_with('/') {
            return Err(Error::InvalidArgument(format!(
                "base_dir {base_dir:?} is not an absolute path"
            )));
        }
        // Authorized first: importing reads files the configuration names,
        // and its errors must tell nothing to a refused caller. They are
        // read as the caller: nothing it could not read is read for it.
        self.auth.check(&hdr, actions::MODIFY_SETTINGS).await?;
        let caller = super::auth::caller(conn, &hdr).await?;
        let imported =
            crate::settings::import_ovpn_as(caller, contents, id, base_dir.into()).await?;
        self.manager
            .profile(ProfileOp::Import(Box::new(imported)))
            .await
    }

    /// The profile with this uuid.
    #[zbus(out_args("connection"))]
    fn get_connection_by_uuid(&self, uuid: String) -> Result<OwnedObjectPath, Error> {
        self.manager
            .registry
            .profiles
            .read()
            .values()
            .find(|p| p.profile.uuid() == uuid)
            .map(|p| path(connection_path(p.number)))
            .ok_or_else(|| Error::NotFound(format!("no connection with uuid {uuid:?}")))
    }

    /// Reads the keyfiles again: new ones appear, changed ones update,
    /// deleted ones go.
    #[zbus(out_args("status"))]
    async fn reload_connections(&self, #[zbus(header)] hdr: Header<'_>) -> Result<bool, Error> {
        self.auth.check(&hdr, actions::MODIFY_SETTINGS).await?;
        self.manager.profile(ProfileOp::Reload).await?;
        Ok(true)
    }

    /// The connection profiles.
    #[zbus(property)]
    fn connections(&self) -> Vec<OwnedObjectPath> {
        self.manager
            .registry
            .profiles
            .read()
            .keys()
            .map(|n| path(connection_path(*n)))
            .collect()
    }

    /// A profile was added.
    #[zbus(signal)]
    pub async fn new_connection(
        emitter: &SignalEmitter<'_>,
        connection: ObjectPath<'_>,
    ) -> zbus::Result<()>;

    /// A profile was removed.
    #[zbus(signal)]
    pub async fn connection_removed(
        emitter: &SignalEmitter<'_>,
        connection: ObjectPath<'_>,
    ) -> zbus::Result<()>;
}

pub struct SettingsConnection {
    number: u32,
    manager: ManagerHandle,
    auth: Authority,
}

impl SettingsConnection {
    fn profile(&self) -> Result<Profile, Error> {
        self.manager
            .registry
            .profiles
            .read()
            .get(&self.number)
            .map(|p| p.profile.clone())
            .ok_or_else(|| {
                Error::NotFound(format!("no connection {}", connection_path(self.number)))
            })
    }
}

#[interface(name = "net.netnsd.Netns1.Settings.Connection")]
impl SettingsConnection {
    /// The profile, without its secrets.
    #[zbus(out_args("settings"))]
    fn get_settings(&self) -> Result<Dict, Error> {
        Ok(self.profile()?.to_dbus(false))
    }

    /// The secrets of one setting (e.g. "vpn"); needs the read-secrets
    /// action (administrators only by default).
    #[zbus(out_args("secrets"))]
    async fn get_secrets(
        &self,
        setting_name: String,
        #[zbus(header)] hdr: Header<'_>,
    ) -> Result<Dict, Error> {
        let p = self.profile()?;
        self.auth.check(&hdr, actions::READ_SECRETS).await?;
        Ok(p.secrets_dbus(&setting_name))
    }

    /// Replaces the profile's settings (its uuid stays) and saves it.
    /// Settings given without secrets keep the stored ones — unless they
    /// change where the profile connects (its server, gateway, peers, CA or
    /// proxy) and the caller may not read those secrets (read-secrets):
    /// then the stored secrets are dropped, so that modify-settings cannot
    /// send them to another server.
    async fn update(&self, properties: Dict, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        let old = self.profile()?;
        let mut p = old.clone();
        p.update(&properties)?;
        self.auth.check(&hdr, actions::MODIFY_SETTINGS).await?;
        let moved_with_secrets =
            p.has_secrets() && !brings_secrets(&old, &properties)? && destination::moved(&old, &p);
        if moved_with_secrets && let Err(e) = self.auth.check(&hdr, actions::READ_SECRETS).await {
            tracing::info!(
                id = p.id(),
                "Update moves the connection elsewhere and the caller may not read its secrets ({}): they are dropped",
                e.message()
            );
            p.clear_secrets();
        }
        let (p, agent_owned) = agent_secrets::split(&p);
        let for_agents = agent_secrets::for_agents(&p, &agent_owned);
        self.manager
            .profile(ProfileOp::Update(self.number, Box::new(p)))
            .await?;
        if !agent_owned.is_empty() {
            let (uid, _) = super::auth::credentials(self.auth.connection(), &hdr).await?;
            agent_secrets::save(uid, for_agents, path(connection_path(self.number)));
        }
        Ok(())
    }

    /// Deletes the profile (deactivating it first) and its keyfile.
    async fn delete(&self, #[zbus(header)] hdr: Header<'_>) -> Result<(), Error> {
        let old = self.profile()?;
        self.auth.check(&hdr, actions::MODIFY_SETTINGS).await?;
        self.manager.profile(ProfileOp::Delete(self.number)).await?;
        if agent_secrets::has_agent_owned(&old) {
            agent_secrets::delete(old.to_dbus(false), path(connection_path(self.number)));
        }
        Ok(())
    }

    /// The keyfile the profile is stored in.
    #[zbus(property)]
    fn filename(&self) -> String {
        self.manager
            .registry
            .profiles
            .read()
            .get(&self.number)
            .map(|p| p.path.display().to_string())
            .unwrap_or_default()
    }

    /// The profile changed.
    #[zbus(signal)]
    pub async fn updated(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    /// The profile was deleted.
    #[zbus(signal)]
    pub async fn removed(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// Whether the settings of an Update carry secrets of their own (then the
/// stored ones are not carried over, and nothing stored can leak).
fn brings_secrets(old: &Profile, properties: &Dict) -> Result<bool, Error> {
    let mut bare = old.clone();
    bare.clear_secrets();
    bare.update(properties)?;
    Ok(bare.has_secrets())
}

/// Puts profile `number`'s object on the bus.
pub async fn export(conn: &Connection, number: u32, manager: &ManagerHandle, auth: &Authority) {
    let obj = SettingsConnection {
        number,
        manager: manager.clone(),
        auth: auth.clone(),
    };
    if let Err(e) = conn
        .object_server()
        .at(connection_path(number).as_str(), obj)
        .await
    {
        tracing::error!("export {}: {e}", connection_path(number));
    }
}

/// Takes profile `number`'s object off the bus.
pub async fn unexport(conn: &Connection, number: u32) {
    let _ = conn
        .object_server()
        .remove::<SettingsConnection, _>(connection_path(number).as_str())
        .await;
}

/// NewConnection / Removed + ConnectionRemoved, and Connections changed.
pub async fn added(conn: &Connection, number: u32, added: bool) {
    let p = path(connection_path(number));
    if !added && let Ok(e) = SignalEmitter::new(conn, p.clone()) {
        let _ = SettingsConnection::removed(&e).await;
    }
    if let Ok(iface) = conn
        .object_server()
        .interface::<_, Settings>(SETTINGS_PATH)
        .await
    {
        let e = iface.signal_emitter();
        let _ = if added {
            Settings::new_connection(e, p.as_ref()).await
        } else {
            Settings::connection_removed(e, p.as_ref()).await
        };
        let _ = iface.get().await.connections_changed(e).await;
    }
}

/// Updated, on the profile's object.
pub async fn updated(conn: &Connection, number: u32) {
    if let Ok(e) = SignalEmitter::new(conn, connection_path(number)) {
        let _ = SettingsConnection::updated(&e).await;
    }
}
