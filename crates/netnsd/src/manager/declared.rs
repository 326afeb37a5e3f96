//! Declared namespaces (`/etc/netnsd/namespaces.d/*.conf`, read by
//! `crate::declared`): made at start and on ReloadNamespaces, removed when
//! their file goes.
//!
//! Which namespaces were made from a file is kept in `/run/netnsd/declared`
//! (name → file and the digest of its text), written before a namespace is
//! made, so that a restarted daemon still knows them; the namespace itself,
//! its uplink and DNS are journalled as any other's. On reload:
//!
//! - a new file: its namespace is made (persistent, with its uplink and DNS);
//! - an unchanged file: nothing;
//! - a changed file: not re-applied — the namespace may be in use by
//!   services that joined it — and reported: delete the namespace and
//!   reload to apply the file;
//! - a removed file: its namespace is removed if netnsd made it from that
//!   file and nothing uses it (no process in it, no connection, no other
//!   namespace's uplink through it); otherwise it stays and that is
//!   reported;
//! - a bad file: refused, naming the file, group and key; the namespace it
//!   made earlier, if any, stays as it is.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use netnsd_api::Error;
use serde::{Deserialize, Serialize};

use super::{Manager, Namespace, NsOptions, UplinkSpec};
use crate::declared::{self, Declared};
use crate::record::UplinkRecord;

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Namespaces made.
    pub created: Vec<String>,
    /// Namespaces removed (their file went).
    pub removed: Vec<String>,
    /// Files refused and namespaces left as they were, one line each,
    /// naming the file.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    file: PathBuf,
    digest: String,
}

fn marks_path(state_dir: &Path) -> PathBuf {
    state_dir.join("declared")
}

fn load_marks(state_dir: &Path) -> BTreeMap<String, Mark> {
    match std::fs::read(marks_path(state_dir)) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
            tracing::warn!("{}: {e}; starting afresh", marks_path(state_dir).display());
            BTreeMap::new()
        }),
        Err(_) => BTreeMap::new(),
    }
}

fn save_marks(state_dir: &Path, marks: &BTreeMap<String, Mark>) -> Result<(), Error> {
    let path = marks_path(state_dir);
    let tmp = path.with_extension("new");
    let text = serde_json::to_vec(marks).map_err(|e| Error::Failed(e.to_string()))?;
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| Error::Failed(format!("write {}: {e}", path.display())))
}

/// Pids of processes whose network namespace has inode `inode`.
fn pids_in(inode: u64) -> Vec<u32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let ino = std::fs::metadata(e.path().join("ns/net")).ok()?.ino();
            (ino == inode).then_some(pid)
        })
        .collect()
}

impl Manager {
    /// Reads the declared files and brings the namespaces in line with them.
    pub(super) async fn reload_declared(&mut self) -> ReloadReport {
        let mut report = ReloadReport::default();
        let mut marks = load_marks(&self.state_dir);
        let mut wanted: BTreeMap<String, Declared> = BTreeMap::new();
        let mut present = BTreeSet::new();
        for (path, text) in declared::read_dir(&self.declared_dir) {
            present.insert(path.clone());
            let shown = path.display().to_string();
            let d = match text.and_then(|t| declared::parse(&path, &t)) {
                Ok(d) => d,
                Err(e) => {
                    report.errors.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            if let Some(other) = wanted.get(&d.name) {
                report.errors.push(format!(
                    "{shown}: [namespace] key \"name\": namespace {:?} is declared by {} already",
                    d.name,
                    other.file.display()
                ));
                continue;
            }
            wanted.insert(d.name.clone(), d);
        }

        // Files gone: their namespaces go first, which frees their names.
        for (name, mark) in marks.clone() {
            if wanted.contains_key(&name) {
                continue;
            }
            let file = mark.file.display().to_string();
            match self.namespaces.get(&name) {
                Some(ns) if ns.managed => {
                    if present.contains(&mark.file) {
                        // A bad edit (reported above) or a renamed
                        // namespace: the file is still there, and what it
                        // made stays until the file is right or gone.
                        continue;
                    }
                    if let Some(user) = self.declared_in_use(&ns) {
                        report.errors.push(format!(
                            "{file}: removed, but namespace {name:?} is kept: {user}"
                        ));
                        continue;
                    }
                    match self.remove(&name).await {
                        Ok(()) => report.removed.push(name.clone()),
                        Err(e) => {
                            report.errors.push(format!(
                                "{file}: removed, but namespace {name:?} could not be: {}",
                                e.message()
                            ));
                            continue;
                        }
                    }
                }
                // Deleted by hand, or replaced by one netnsd did not make.
                _ if present.contains(&mark.file) => continue,
                _ => {}
            }
            marks.remove(&name);
        }

        for (name, d) in wanted {
            let file = d.file.display().to_string();
            match (self.namespaces.get(&name), marks.get(&name)) {
                (Some(ns), Some(m)) if ns.managed && m.file == d.file => {
                    if m.digest != d.digest {
                        report.errors.push(format!(
                            "{file}: changed since namespace {name:?} was made from it; \
                             not re-applied (delete the namespace, then reload, to apply it)"
                        ));
                    }
                }
                (Some(_), _) => report.errors.push(format!(
                    "{file}: namespace {name:?} exists already and was not made from this file; \
                     left alone"
                )),
                (None, _) => {
                    let opts = match self.declared_options(&d) {
                        Ok(o) => o,
                        Err(e) => {
                            report.errors.push(format!("{file}: {}", e.message()));
                            continue;
                        }
                    };
                    // Marked before it is made: a crash between leaves a
                    // mark for a namespace that is there, or is made again.
                    marks.insert(
                        name.clone(),
                        Mark {
                            file: d.file.clone(),
                            digest: d.digest.clone(),
                        },
                    );
                    if let Err(e) = save_marks(&self.state_dir, &marks) {
                        report.errors.push(format!("{file}: {}", e.message()));
                        marks.remove(&name);
                        continue;
                    }
                    let made = match self.add_with_options(&name, opts).await {
                        Ok(_) => self.declared_forwards(&name, &d).await,
                        Err(e) => Err(format!("{file}: {}", e.message())),
                    };
                    match made {
                        Ok(()) => report.created.push(name),
                        Err(e) => {
                            marks.remove(&name);
                            report.errors.push(e);
                        }
                    }
                }
            }
        }
        if let Err(e) = save_marks(&self.state_dir, &marks) {
            report.errors.push(e.message());
        }
        for e in &report.errors {
            tracing::warn!("declared namespaces: {e}");
        }
        if !report.created.is_empty() || !report.removed.is_empty() {
            tracing::info!(
                created = ?report.created,
                removed = ?report.removed,
                "declared namespaces reloaded"
            );
        }
        report
    }

    /// Applies the file's `[forward-N]` groups to the namespace just made
    /// from it; if one is refused, the namespace goes again (nothing half
    /// made) and the error names the group.
    async fn declared_forwards(&mut self, name: &str, d: &Declared) -> Result<(), String> {
        let Some(number) = self.namespaces.get(name).map(|n| n.number) else {
            return Ok(());
        };
        for f in &d.forwards {
            if let Err(e) = self.add_forward(number, f.to_api()).await {
                let msg = format!("{}: [{}]: {}", d.file.display(), f.group, e.message());
                if let Err(e) = self.remove(name).await {
                    tracing::error!(
                        name,
                        "undoing a declared namespace whose forward failed: {}",
                        e.message()
                    );
                }
                return Err(msg);
            }
        }
        Ok(())
    }

    fn declared_options(&self, d: &Declared) -> Result<NsOptions, Error> {
        let (up, dns) = crate::dbus::options::namespace(&d.options)?;
        let uplink = match up {
            None => None,
            Some(req) => {
                let n = self
                    .namespaces
                    .get(&req.uplink_netns)
                    .map(|n| n.number)
                    .ok_or_else(|| {
                        Error::NotFound(format!(
                            "[namespace] key \"uplink-netns\": namespace {:?} not found",
                            req.uplink_netns
                        ))
                    })?;
                Some(UplinkSpec {
                    uplink_ns: n,
                    ..req.spec
                })
            }
        };
        Ok(NsOptions { uplink, dns })
    }

    /// What keeps `ns` from being removed with its file, if anything.
    fn declared_in_use(&self, ns: &Namespace) -> Option<String> {
        let started = self.processes.in_ns(ns.number);
        if !started.is_empty() {
            return Some(format!("programs started in it run (pids {started:?})"));
        }
        let pids = pids_in(ns.inode);
        if !pids.is_empty() {
            return Some(format!("processes run in it (pids {pids:?})"));
        }
        let actives = self.actives.table();
        if let Some(a) = actives.read().values().find(|a| {
            a.state < netnsd_api::state::active::DEACTIVATED
                && (a.ns == ns.number || a.uplink_ns == ns.number)
        }) {
            return Some(format!("connection {:?} uses it", a.id));
        }
        let uplinks = self.uplinks.table();
        let through = uplinks.read().iter().find_map(|(n, u)| {
            let via = match u {
                UplinkRecord::Veth { uplink_ns, .. } | UplinkRecord::Macvlan { uplink_ns, .. } => {
                    uplink_ns
                }
            };
            (*via == ns.name).then_some(*n)
        });
        if let Some(n) = through {
            let other = self
                .namespaces
                .by_number(n)
                .map(|o| o.name)
                .unwrap_or_default();
            return Some(format!("namespace {other:?} has its uplink through it"));
        }
        None
    }
}
