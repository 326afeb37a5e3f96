//! Connection profiles: the profiles loaded from their keyfiles, by object
//! number (N in `/net/netnsd/Netns1/Settings/N`), and their numbering.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Shared;
use crate::manager::publish::Change;
use crate::settings::Profile;

/// A profile and the keyfile it is kept in.
#[derive(Debug, Clone)]
pub struct ProfileEntry {
    pub number: u32,
    pub path: PathBuf,
    pub profile: Profile,
}

/// Profiles, by object number.
pub type ProfileTable = BTreeMap<u32, ProfileEntry>;

/// The profiles part.
#[derive(Debug, Default)]
pub struct Profiles {
    table: Shared<ProfileTable>,
    next: u32,
}

impl Profiles {
    /// The table, for the bus layer.
    pub fn table(&self) -> Shared<ProfileTable> {
        self.table.clone()
    }

    pub fn get(&self, n: u32) -> Option<ProfileEntry> {
        self.table.read().get(&n).cloned()
    }

    pub fn all(&self) -> Vec<ProfileEntry> {
        self.table.read().values().cloned().collect()
    }

    /// The number of the profile with this uuid.
    pub fn by_uuid(&self, uuid: &str) -> Option<u32> {
        self.table
            .read()
            .values()
            .find(|p| p.profile.uuid() == uuid)
            .map(|p| p.number)
    }

    fn insert(&mut self, file: PathBuf, profile: Profile) -> u32 {
        let number = self.next;
        self.next += 1;
        self.put(number, file, profile);
        number
    }

    fn put(&mut self, number: u32, path: PathBuf, profile: Profile) {
        self.table.write().insert(
            number,
            ProfileEntry {
                number,
                path,
                profile,
            },
        );
    }

    /// A profile read at start, before anything is published.
    pub fn load(&mut self, file: PathBuf, profile: Profile) -> u32 {
        self.insert(file, profile)
    }

    /// What puts the profiles loaded at start on the bus.
    pub fn found(&self) -> Vec<Change> {
        self.table
            .read()
            .keys()
            .map(|n| Change::ProfileFound(*n))
            .collect()
    }

    /// A new profile: numbered, and announced.
    pub fn add(&mut self, file: PathBuf, profile: Profile) -> (u32, Vec<Change>) {
        let number = self.insert(file, profile);
        (number, vec![Change::ProfileAdded(number)])
    }

    /// Profile `n` has new settings, or a new keyfile.
    pub fn update(&mut self, n: u32, file: PathBuf, profile: Profile) -> Vec<Change> {
        self.put(n, file, profile);
        vec![Change::ProfileUpdated(n)]
    }

    /// Profile `n` is deleted.
    pub fn remove(&mut self, n: u32) -> Vec<Change> {
        match self.table.write().remove(&n) {
            Some(_) => vec![Change::ProfileRemoved(n)],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str, uuid: &str) -> Profile {
        let text = format!(
            "[connection]\nid={id}\nuuid={uuid}\ntype=vpn\n\n\
             [vpn]\nservice-type=org.freedesktop.NetworkManager.openvpn\n"
        );
        Profile::from_keyfile(&text).expect("a valid keyfile")
    }

    const A: &str = "00000000-0000-4000-8000-00000000000a";
    const B: &str = "00000000-0000-4000-8000-00000000000b";

    #[test]
    fn profiles_loaded_at_start_are_published_unannounced() {
        let mut p = Profiles::default();
        assert_eq!(p.load("/a".into(), profile("a", A)), 0);
        assert_eq!(p.load("/b".into(), profile("b", B)), 1);
        assert_eq!(
            p.found(),
            [Change::ProfileFound(0), Change::ProfileFound(1)]
        );
        assert_eq!(p.by_uuid(B), Some(1));
    }

    #[test]
    fn adding_updating_and_removing_are_announced() {
        let mut p = Profiles::default();
        let (n, changes) = p.add("/a".into(), profile("a", A));
        assert_eq!(changes, [Change::ProfileAdded(n)]);
        assert_eq!(
            p.update(n, "/a2".into(), profile("a2", A)),
            [Change::ProfileUpdated(n)]
        );
        assert_eq!(p.get(n).unwrap().path, PathBuf::from("/a2"));
        assert_eq!(p.get(n).unwrap().profile.id(), "a2");
        assert_eq!(p.remove(n), [Change::ProfileRemoved(n)]);
        assert_eq!(p.remove(n), []);
        assert_eq!(p.by_uuid(A), None);
        // Numbers are not reused.
        assert_eq!(p.add("/b".into(), profile("b", B)).0, n + 1);
    }
}
