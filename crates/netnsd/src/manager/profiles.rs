//! Connection profiles: kept as NetworkManager keyfiles under
//! /etc/netnsd/connections, one Settings.Connection object each; added,
//! updated, deleted (ending their active connections) and reloaded.

use std::path::PathBuf;
use std::time::Duration;

use netnsd_api::{Error, connection_path};
use zbus::wire::{ObjectPath, OwnedObjectPath};

use super::Manager;
use crate::settings::{Profile, Value};

/// A change to the profiles, validated by the bus layer.
pub enum ProfileOp {
    Add(Box<Profile>),
    Update(u32, Box<Profile>),
    Delete(u32),
    Reload,
    /// An imported configuration whose inline files still need a place.
    Import(Box<crate::settings::Imported>),
}

fn path(n: u32) -> OwnedObjectPath {
    ObjectPath::try_from(connection_path(n))
        .expect("valid path")
        .into()
}

/// How long an activation may take before it fails with connect-timeout:
/// vpn.timeout seconds, as NetworkManager has it, else 60 s.
pub fn vpn_timeout(p: &Profile) -> Duration {
    let secs = match p.get("vpn", "timeout") {
        Some(Value::U32(s)) => *s as u64,
        Some(Value::I32(s)) if *s > 0 => *s as u64,
        Some(Value::Str(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    Duration::from_secs(if secs == 0 { 60 } else { secs })
}

impl Manager {
    /// Reads the profiles on disk (at start, and for ReloadConnections).
    pub(super) fn read_profiles(&self) -> Vec<(PathBuf, Profile)> {
        let mut out = Vec::new();
        for (file, loaded) in self.store.load_all() {
            match loaded {
                Ok(p) => out.push((file, p)),
                Err(e) => tracing::warn!(
                    "skipping connection profile {}: {}",
                    file.display(),
                    e.message()
                ),
            }
        }
        out
    }

    pub(super) fn load_profiles(&mut self) {
        for (file, profile) in self.read_profiles() {
            if self.profiles.by_uuid(profile.uuid()).is_some() {
                tracing::warn!(
                    "skipping {}: uuid {} is taken",
                    file.display(),
                    profile.uuid()
                );
                continue;
            }
            tracing::info!(id = profile.id(), file = %file.display(), "loaded connection profile");
            self.profiles.load(file, profile);
        }
    }

    pub(super) async fn profile_op(&mut self, op: ProfileOp) -> Result<OwnedObjectPath, Error> {
        match op {
            ProfileOp::Add(p) => self.add_profile(*p).await,
            ProfileOp::Update(n, p) => {
                let old = self.profiles.get(n).ok_or_else(|| {
                    Error::NotFound(format!("no connection {}", connection_path(n)))
                })?;
                if old.profile.uuid() != p.uuid() {
                    return Err(Error::InvalidArgument(
                        "connection.uuid: cannot be changed".into(),
                    ));
                }
                let file = self.store.save(&p, Some(&old.path))?;
                let changes = self.profiles.update(n, file, *p);
                self.publish(changes).await;
                Ok(path(n))
            }
            ProfileOp::Delete(n) => {
                self.delete_profile(n).await?;
                Ok(path(n))
            }
            ProfileOp::Import(imported) => {
                let mut imported = *imported;
                let dir = self.store.files_dir(imported.profile.uuid());
                imported.place_files(&dir).map_err(|e| {
                    Error::Failed(format!(
                        "store the imported files in {}: {e}",
                        dir.display()
                    ))
                })?;
                let r = self.add_profile(imported.profile).await;
                if r.is_err() {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                r
            }
            ProfileOp::Reload => {
                self.reload_profiles().await;
                Ok(ObjectPath::from_static_str_unchecked("/").into())
            }
        }
    }

    async fn add_profile(&mut self, p: Profile) -> Result<OwnedObjectPath, Error> {
        if let Some(n) = self.profiles.by_uuid(p.uuid()) {
            return Err(Error::AlreadyExists(format!(
                "a connection with uuid {} exists: {}",
                p.uuid(),
                connection_path(n)
            )));
        }
        let file = self.store.save(&p, None)?;
        tracing::info!(id = p.id(), file = %file.display(), "added connection profile");
        let (number, changes) = self.profiles.add(file, p);
        self.publish(changes).await;
        Ok(path(number))
    }

    async fn delete_profile(&mut self, n: u32) -> Result<(), Error> {
        let entry = self
            .profiles
            .get(n)
            .ok_or_else(|| Error::NotFound(format!("no connection {}", connection_path(n))))?;
        for a in self.actives.of_profile(n) {
            let _ = self
                .deactivate_because(a, netnsd_api::state::reason::CONNECTION_REMOVED)
                .await;
        }
        self.store.delete(&entry.path)?;
        let _ = self.store.remove_files(entry.profile.uuid());
        let changes = self.profiles.remove(n);
        self.publish(changes).await;
        tracing::info!(id = entry.profile.id(), "deleted connection profile");
        Ok(())
    }

    async fn reload_profiles(&mut self) {
        let on_disk = self.read_profiles();
        for k in self.profiles.all() {
            if !on_disk.iter().any(|(_, p)| p.uuid() == k.profile.uuid()) {
                let changes = self.profiles.remove(k.number);
                self.publish(changes).await;
            }
        }
        for (file, p) in on_disk {
            let changes = match self.profiles.by_uuid(p.uuid()) {
                Some(n) => self.profiles.update(n, file, p),
                None => self.profiles.add(file, p).1,
            };
            self.publish(changes).await;
        }
    }
}
