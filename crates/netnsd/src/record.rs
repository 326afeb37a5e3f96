//! The record of what the daemon changed on the host, kept under /run/netnsd
//! so that a daemon restarted after a crash finds its work again.
//!
//! It is an append-only journal of JSON lines: one `write(2)` per change, so a
//! crash loses at most the change under way, never the rest. At start the
//! journal is replayed, checked against the host and written anew, compacted.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Entry {
    /// About to create /run/netns/NAME.
    NetnsCreating { name: String },
    /// /run/netns/NAME is a namespace the daemon made.
    NetnsCreated {
        name: String,
        inode: u64,
        persistent: bool,
    },
    /// The daemon's namespace NAME is gone (removed, or a create undone).
    NetnsRemoved { name: String },
}

/// What the journal says about one namespace after replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetnsRecord {
    /// A create began and its end was never recorded.
    Creating,
    Created {
        inode: u64,
        persistent: bool,
    },
}

pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating) the journal in `state_dir`, and returns it with the
    /// state its existing entries describe.
    pub fn open(state_dir: &Path) -> io::Result<(Journal, BTreeMap<String, NetnsRecord>)> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(state_dir)?;
        let path = state_dir.join("journal");
        let state = match File::open(&path) {
            Ok(f) => replay(BufReader::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        let file = open_append(&path)?;
        Ok((Journal { path, file }, state))
    }

    /// Records one change.
    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    /// Replaces the journal with just `entries`, atomically.
    pub fn rewrite(&mut self, entries: &[Entry]) -> io::Result<()> {
        let tmp = self.path.with_extension("new");
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            for e in entries {
                let mut line = serde_json::to_vec(e).map_err(io::Error::other)?;
                line.push(b'\n');
                f.write_all(&line)?;
            }
        }
        fs::rename(&tmp, &self.path)?;
        self.file = open_append(&self.path)?;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

/// Folds journal lines into per-namespace state. Unreadable lines (a write
/// cut short by a crash) are skipped.
fn replay(r: impl BufRead) -> BTreeMap<String, NetnsRecord> {
    let mut state = BTreeMap::new();
    for line in r.lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<Entry>(&line) {
            Ok(Entry::NetnsCreating { name }) => {
                state.insert(name, NetnsRecord::Creating);
            }
            Ok(Entry::NetnsCreated {
                name,
                inode,
                persistent,
            }) => {
                state.insert(name, NetnsRecord::Created { inode, persistent });
            }
            Ok(Entry::NetnsRemoved { name }) => {
                state.remove(&name);
            }
            Err(e) => tracing::warn!("skipping an unreadable journal line ({e}): {line:?}"),
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_folds_entries_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut j, state) = Journal::open(dir.path()).unwrap();
            assert!(state.is_empty());
            for e in [
                Entry::NetnsCreating { name: "a".into() },
                Entry::NetnsCreated {
                    name: "a".into(),
                    inode: 7,
                    persistent: true,
                },
                Entry::NetnsCreating { name: "b".into() },
                Entry::NetnsCreating { name: "c".into() },
                Entry::NetnsCreated {
                    name: "c".into(),
                    inode: 9,
                    persistent: false,
                },
                Entry::NetnsRemoved { name: "c".into() },
            ] {
                j.append(&e).unwrap();
            }
        }
        // A crash in the middle of a write leaves half a line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("journal"))
            .unwrap();
        f.write_all(br#"{"op":"netns-crea"#).unwrap();
        drop(f);

        let (_, state) = Journal::open(dir.path()).unwrap();
        let want: BTreeMap<String, NetnsRecord> = [
            (
                "a".to_string(),
                NetnsRecord::Created {
                    inode: 7,
                    persistent: true,
                },
            ),
            ("b".to_string(), NetnsRecord::Creating),
        ]
        .into();
        assert_eq!(state, want);
    }

    #[test]
    fn rewrite_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(&Entry::NetnsCreating { name: "x".into() })
            .unwrap();
        j.rewrite(&[Entry::NetnsCreated {
            name: "y".into(),
            inode: 3,
            persistent: true,
        }])
        .unwrap();
        j.append(&Entry::NetnsCreating { name: "z".into() })
            .unwrap();
        drop(j);
        let text = fs::read_to_string(dir.path().join("journal")).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let (_, state) = Journal::open(dir.path()).unwrap();
        assert_eq!(state.len(), 2);
        assert!(!state.contains_key("x"));
    }
}
