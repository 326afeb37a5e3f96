//! `nsctl connection list|show|add|import|delete|modify|reload`

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use futures::stream::{self, StreamExt, TryStreamExt};
use netnsd_api::proxy::{SettingsConnectionProxy, SettingsProxy};
use netnsd_api::{CONNECTION_INTERFACE, Error as BusError, SETTINGS_PATH, object_number};
use zbus::Connection;
use zbus::proxy::CacheProperties;
use zbus::wire::{OwnedObjectPath, OwnedVariant};

use crate::active::{actives_of, current_active};
use crate::cli::{
    AddType, ConnectionAddArgs, ConnectionCommand, ConnectionImportArgs, ConnectionModifyArgs,
    ImportType, KeyValue,
};
use crate::cmd::{PARALLEL_READS, call_authorized, is_gone, managed_objects, object_path};
use crate::error::{CliError, Kind};
use crate::output;
use crate::profile::{self, Settings, Summary};

/// Secrets already read from stdin (`--secret KEY=-`), for add and modify.
pub type Secrets = Vec<KeyValue>;

pub async fn exec(
    conn: &Connection,
    command: ConnectionCommand,
    secrets: Secrets,
    json: bool,
) -> Result<String, CliError> {
    match command {
        ConnectionCommand::List => {
            let list = list(conn).await?;
            Ok(if json {
                output::connections_json(&list)
            } else {
                output::connections_table(&list)
            })
        }
        ConnectionCommand::Show {
            connection,
            secrets: with_secrets,
        } => {
            let found = find(conn, &connection).await?;
            let mut settings = found.settings;
            if with_secrets {
                let all: Settings =
                    call_authorized(found.proxy.inner(), "GetSecrets", &("",)).await?;
                profile::merge_secrets(&mut settings, all);
            }
            Ok(if json {
                output::settings_json(&settings)
            } else {
                output::settings_text(&settings)
            })
        }
        ConnectionCommand::Add(args) => add(conn, &args, &secrets, json).await,
        ConnectionCommand::Import(args) => import(conn, &args, json).await,
        ConnectionCommand::Delete { connection } => {
            let found = find(conn, &connection).await?;
            call_authorized::<_, ()>(found.proxy.inner(), "Delete", &()).await?;
            Ok(String::new())
        }
        ConnectionCommand::Modify(args) => {
            modify(conn, &args, &secrets).await?;
            Ok(String::new())
        }
        ConnectionCommand::Reload => {
            let _: bool =
                call_authorized(settings(conn).await?.inner(), "ReloadConnections", &()).await?;
            Ok(String::new())
        }
    }
}

async fn settings(conn: &Connection) -> Result<SettingsProxy<'static>, CliError> {
    Ok(SettingsProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

async fn connection_at(
    conn: &Connection,
    object: OwnedObjectPath,
) -> Result<SettingsConnectionProxy<'static>, CliError> {
    Ok(SettingsConnectionProxy::builder(conn)
        .path(object)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

/// A profile named on the command line, found on the bus.
pub struct Found {
    pub object: OwnedObjectPath,
    pub proxy: SettingsConnectionProxy<'static>,
    /// Its settings (GetSettings), without secrets.
    pub settings: Settings,
}

impl Found {
    pub fn id(&self) -> String {
        profile::get_str(&self.settings, "connection", "id").unwrap_or_default()
    }
}

/// Whether `s` has the shape of a uuid (8-4-4-4-12 hex digits).
fn looks_like_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The settings of the profile at `object`; `Ok(None)` if it is gone.
async fn settings_at(
    conn: &Connection,
    object: &OwnedObjectPath,
) -> Result<Option<(SettingsConnectionProxy<'static>, Settings)>, CliError> {
    let proxy = connection_at(conn, object.clone()).await?;
    match proxy.get_settings().await {
        Ok(s) => Ok(Some((proxy, s))),
        Err(BusError::ZBus(e)) if is_gone(&e) => Ok(None),
        Err(BusError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Every profile with its settings, in the order of ListConnections.
async fn all_profiles(
    conn: &Connection,
) -> Result<Vec<(OwnedObjectPath, SettingsConnectionProxy<'static>, Settings)>, CliError> {
    let objects = settings(conn).await?.list_connections().await?;
    stream::iter(objects)
        .map(|object| async move {
            Ok::<_, CliError>(
                settings_at(conn, &object)
                    .await?
                    .map(|(proxy, s)| (object, proxy, s)),
            )
        })
        .buffered(PARALLEL_READS)
        .try_filter_map(|p| async move { Ok(p) })
        .try_collect()
        .await
}

/// Finds profile `arg`: an object path, a uuid, or an id (which must name
/// one profile only).
pub async fn find(conn: &Connection, arg: &str) -> Result<Found, CliError> {
    let not_found = || CliError::new(Kind::NotFound, format!("no connection profile {arg:?}"));
    if arg.starts_with('/') {
        let object = object_path(arg)?;
        let (proxy, settings) = settings_at(conn, &object).await?.ok_or_else(|| {
            CliError::new(Kind::NotFound, format!("no connection profile at {arg}"))
        })?;
        return Ok(Found {
            object,
            proxy,
            settings,
        });
    }
    if looks_like_uuid(arg) {
        match settings(conn).await?.get_connection_by_uuid(arg).await {
            Ok(object) => {
                if let Some((proxy, settings)) = settings_at(conn, &object).await? {
                    return Ok(Found {
                        object,
                        proxy,
                        settings,
                    });
                }
            }
            Err(BusError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut matches: Vec<_> = all_profiles(conn)
        .await?
        .into_iter()
        .filter(|(_, _, s)| profile::get_str(s, "connection", "id").as_deref() == Some(arg))
        .collect();
    match matches.len() {
        0 => Err(not_found()),
        1 => {
            let (object, proxy, settings) = matches.remove(0);
            Ok(Found {
                object,
                proxy,
                settings,
            })
        }
        _ => {
            let uuids: Vec<String> = matches
                .iter()
                .map(|(_, _, s)| profile::get_str(s, "connection", "uuid").unwrap_or_default())
                .collect();
            Err(CliError::new(
                Kind::InvalidArgument,
                format!(
                    "{} profiles are named {arg:?}; give one by its uuid: {}",
                    matches.len(),
                    uuids.join(", ")
                ),
            ))
        }
    }
}

/// `connection list`: every profile, with the state of its active
/// connection, by id.
async fn list(conn: &Connection) -> Result<Vec<Summary>, CliError> {
    let objects = managed_objects(conn).await?;
    let actives = actives_of(&objects);
    let filenames: HashMap<String, String> = objects
        .iter()
        .filter_map(|(path, ifaces)| {
            let props = ifaces.get(CONNECTION_INTERFACE)?;
            let filename = props
                .get("Filename")
                .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
                .unwrap_or_default();
            Some((path.as_str().to_owned(), filename))
        })
        .collect();
    let mut profiles: Vec<OwnedObjectPath> = objects
        .into_keys()
        .filter(|p| filenames.contains_key(p.as_str()))
        .collect();
    profiles.sort_by_key(|p| object_number(p.as_str(), SETTINGS_PATH));
    let mut list: Vec<Summary> = stream::iter(profiles)
        .map(|object| async move {
            Ok::<_, CliError>(settings_at(conn, &object).await?.map(|(_, s)| (object, s)))
        })
        .buffered(PARALLEL_READS)
        .try_filter_map(|p| async move { Ok(p) })
        .map_ok(|(object, s)| {
            let mut sum = Summary::new(
                object.as_str(),
                filenames.get(object.as_str()).cloned().unwrap_or_default(),
                &s,
            );
            if let Some(a) = current_active(&actives, object.as_str()) {
                sum.active = Some(a.state.clone());
                sum.active_object = Some(a.object.clone());
            }
            sum
        })
        .try_collect()
        .await?;
    list.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.uuid.cmp(&b.uuid)));
    Ok(list)
}

/// What `add` and `import` print: the object path, or {"object", "uuid"}.
async fn added(conn: &Connection, object: OwnedObjectPath, json: bool) -> Result<String, CliError> {
    if !json {
        return Ok(output::add_text(object.as_str()));
    }
    let uuid = settings_at(conn, &object)
        .await?
        .and_then(|(_, s)| profile::get_str(&s, "connection", "uuid"))
        .unwrap_or_default();
    Ok(output::connection_added_json(object.as_str(), &uuid))
}

async fn add(
    conn: &Connection,
    args: &ConnectionAddArgs,
    secrets: &[KeyValue],
    json: bool,
) -> Result<String, CliError> {
    let s = match args.kind {
        AddType::Vpn => {
            if args.wireguard.any() {
                return Err(CliError::new(
                    Kind::InvalidArgument,
                    "--address, --dns, --dns-search, --listen-port, --mtu and --peer are for \
                     --type wireguard"
                        .to_owned(),
                ));
            }
            let vpn_type = args.vpn_type.as_deref().unwrap_or("openvpn");
            profile::new_vpn(&args.id, vpn_type, &args.netns, &args.data, secrets)
        }
        AddType::Wireguard => {
            if args.vpn_type.is_some() || !args.data.is_empty() {
                return Err(CliError::new(
                    Kind::InvalidArgument,
                    "--vpn-type and --data are for --type vpn; a WireGuard profile takes \
                     --address, --peer and --secret private-key=-"
                        .to_owned(),
                ));
            }
            profile::new_wireguard(&args.id, &args.netns, &args.wireguard, secrets)?
        }
    };
    let object: OwnedObjectPath =
        call_authorized(settings(conn).await?.inner(), "AddConnection", &(s,)).await?;
    added(conn, object, json).await
}

/// The id of an imported file: its name without the extension.
fn default_id(file: &Path) -> Option<String> {
    let stem = file.file_stem()?.to_str()?;
    (!stem.is_empty()).then(|| stem.to_owned())
}

/// The file's directory, absolute, for the relative paths it names.
fn base_dir(file: &Path) -> Result<PathBuf, CliError> {
    let abs = std::fs::canonicalize(file).map_err(|e| {
        CliError::new(
            Kind::NotFound,
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    Ok(abs
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf))
}

async fn import(
    conn: &Connection,
    args: &ConnectionImportArgs,
    json: bool,
) -> Result<String, CliError> {
    let file = &args.file;
    let kind = match args.kind.or_else(|| ImportType::of_file(file)) {
        Some(k) => k,
        None => {
            return Err(CliError::new(
                Kind::InvalidArgument,
                format!(
                    "cannot tell what {} is from its name (.ovpn is OpenVPN, .conf wg-quick); \
                     give --type openvpn or --type wireguard",
                    file.display()
                ),
            ));
        }
    };
    let id = match &args.id {
        Some(id) => id.clone(),
        None => default_id(file).ok_or_else(|| {
            CliError::new(
                Kind::InvalidArgument,
                format!("cannot name a profile after {}; give --id", file.display()),
            )
        })?,
    };
    let bytes = std::fs::read(file).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            Kind::NotFound
        } else {
            Kind::Failed
        };
        CliError::new(kind, format!("cannot read {}: {e}", file.display()))
    })?;
    let contents = String::from_utf8(bytes).map_err(|_| {
        CliError::new(
            Kind::InvalidArgument,
            format!("{} is not a text file (not UTF-8)", file.display()),
        )
    })?;
    // A wg-quick file names no other files: no base directory.
    let dir = match kind {
        ImportType::Openvpn => base_dir(file)?
            .to_str()
            .ok_or_else(|| {
                CliError::new(
                    Kind::InvalidArgument,
                    format!("the directory of {} is not UTF-8", file.display()),
                )
            })?
            .to_owned(),
        ImportType::Wireguard => String::new(),
    };
    let object: OwnedObjectPath = call_authorized(
        settings(conn).await?.inner(),
        "ImportConnection",
        &(kind.as_str(), id.as_str(), contents.as_str(), dir.as_str()),
    )
    .await?;
    if args.netns.any() {
        let keys_set = async {
            let (proxy, mut s) = settings_at(conn, &object).await?.ok_or_else(|| {
                CliError::new(
                    Kind::NotFound,
                    format!("{object} went away after the import"),
                )
            })?;
            profile::apply_netns_opts(&mut s, &args.netns);
            call_authorized::<_, ()>(proxy.inner(), "Update", &(s,)).await?;
            Ok::<_, CliError>(())
        }
        .await;
        if let Err(e) = keys_set {
            // Leave nothing half made behind.
            if let Ok(proxy) = connection_at(conn, object.clone()).await {
                let _ = call_authorized::<_, ()>(proxy.inner(), "Delete", &()).await;
            }
            return Err(e);
        }
    }
    added(conn, object, json).await
}

async fn modify(
    conn: &Connection,
    args: &ConnectionModifyArgs,
    secrets: &[KeyValue],
) -> Result<(), CliError> {
    let found = find(conn, &args.connection).await?;
    let mut s = found.settings;
    if let Some(id) = &args.id {
        s.entry("connection".to_owned()).or_default().insert(
            "id".to_owned(),
            profile::owned(zbus::wire::Variant::from(id.as_str())),
        );
    }
    let flag = |on: bool, off: bool| match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    profile::set_netns_keys(
        &mut s,
        flag(args.isolate, args.no_isolate),
        args.netns_name.as_deref(),
        flag(args.persistent, args.no_persistent),
        args.timeout,
    );
    if !secrets.is_empty() {
        // Update replaces every secret when it is given any: send the
        // current ones along.
        let current: HashMap<String, HashMap<String, OwnedVariant>> =
            call_authorized(found.proxy.inner(), "GetSecrets", &("",)).await?;
        profile::merge_secrets(&mut s, current);
    }
    profile::change_vpn_items(&mut s, &args.data, &args.remove_data, secrets)?;
    call_authorized::<_, ()>(found.proxy.inner(), "Update", &(s,)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_told_from_ids() {
        assert!(looks_like_uuid("2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11"));
        assert!(looks_like_uuid("2A5B9A4C-5CB5-4D8B-9C1E-0C3F3F5E9A11"));
        for not in [
            "office",
            "2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a1",
            "2a5b9a4c5cb54d8b9c1e0c3f3f5e9a11",
            "2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a1g",
        ] {
            assert!(!looks_like_uuid(not), "{not}");
        }
    }

    #[test]
    fn imported_files_are_named_after_their_stem() {
        assert_eq!(
            default_id(Path::new("/tmp/office.ovpn")).as_deref(),
            Some("office")
        );
        assert_eq!(
            default_id(Path::new("corp.vpn.conf")).as_deref(),
            Some("corp.vpn")
        );
        assert_eq!(default_id(Path::new("plain")).as_deref(), Some("plain"));
        assert_eq!(default_id(Path::new("/")), None);
    }

    #[test]
    fn the_base_dir_is_absolute() {
        let dir = std::env::temp_dir().join(format!("nsctl-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.ovpn");
        std::fs::write(&f, "remote x\n").unwrap();
        let got = base_dir(&f).unwrap();
        assert!(got.is_absolute());
        assert_eq!(got, std::fs::canonicalize(&dir).unwrap());
        assert_eq!(base_dir(&dir.join("missing")).unwrap_err().exit_code(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
