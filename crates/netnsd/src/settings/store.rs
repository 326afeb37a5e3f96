//! Profiles on disk: NetworkManager keyfiles in one directory
//! (`/etc/netnsd/connections/*.nmconnection`), owned by root and private to
//! it, as NetworkManager keeps /etc/NetworkManager/system-connections.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use netnsd_api::Error;

use super::{Profile, is_valid_uuid, new_uuid_v4};

/// The file name ending of a profile.
pub const KEYFILE_SUFFIX: &str = ".nmconnection";

/// Larger files are not profiles.
const MAX_KEYFILE_SIZE: u64 = 1 << 20;

/// The longest file name the kernel takes.
const NAME_MAX: usize = 255;

/// The directory of keyfiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    dir: PathBuf,
}

fn failed(what: &str, path: &Path, e: io::Error) -> Error {
    Error::Failed(format!("{what} {}: {e}", path.display()))
}

/// The same error with the file named in front of its message.
fn at(path: &Path, e: Error) -> Error {
    let m = format!("{}: {}", path.display(), e.message());
    match e {
        Error::InvalidArgument(_) => Error::InvalidArgument(m),
        Error::PermissionDenied(_) => Error::PermissionDenied(m),
        Error::NotFound(_) => Error::NotFound(m),
        _ => Error::Failed(m),
    }
}

/// Whether a directory entry is a profile: `NAME.nmconnection`, not hidden
/// (temporary files are), like NetworkManager's
/// nm_keyfile_utils_ignore_filename().
fn is_keyfile_name(name: &str) -> bool {
    !name.starts_with('.') && name.len() > KEYFILE_SUFFIX.len() && name.ends_with(KEYFILE_SUFFIX)
}

/// A keyfile name for `name` (nm_keyfile_utils_create_filename): '/' (and
/// NUL) become '_', a leading '.' and a trailing '~' too, names that look
/// like temporary files or certificates get a '_' appended, and the whole
/// fits in NAME_MAX bytes with ".nmconnection".
fn file_name_for(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    let max = NAME_MAX - KEYFILE_SUFFIX.len() - 1;
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    if s.is_empty() {
        s.push('_');
    }
    if s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.ends_with('~') {
        s.pop();
        s.push('_');
    }
    let lower = s.to_ascii_lowercase();
    let mkstemp_like = s
        .rsplit_once('.')
        .is_some_and(|(_, ext)| ext.len() == 6 && ext.bytes().all(|c| c.is_ascii_alphanumeric()));
    if mkstemp_like || lower.ends_with(".pem") || lower.ends_with(".der") {
        s.push('_');
    }
    s + KEYFILE_SUFFIX
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Store { dir: dir.into() }
    }

    #[cfg(test)]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where files that belong to a profile (certificates and keys from an
    /// imported configuration) go: `<dir>/<uuid>/`.
    pub fn files_dir(&self, uuid: &str) -> PathBuf {
        self.dir.join(uuid)
    }

    /// Every `*.nmconnection` in the directory, in file name order, each
    /// with its profile or why it was refused (a file not owned by root,
    /// or open to group or others, is refused as NetworkManager refuses it).
    /// A missing directory holds no profiles.
    pub fn load_all(&self) -> Vec<(PathBuf, Result<Profile, Error>)> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => return vec![(self.dir.clone(), Err(failed("read", &self.dir, e)))],
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(is_keyfile_name))
            .map(|e| e.path())
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                let r = self.load(&p);
                (p, r)
            })
            .collect()
    }

    /// One keyfile, checked as [`Store::load_all`] checks it.
    pub fn load(&self, path: &Path) -> Result<Profile, Error> {
        let mut f = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    Error::PermissionDenied(format!(
                        "{}: a symbolic link, not a regular file; refused",
                        path.display()
                    ))
                } else if e.kind() == io::ErrorKind::NotFound {
                    Error::NotFound(format!("{}: no such file", path.display()))
                } else {
                    failed("open", path, e)
                }
            })?;
        let md = f.metadata().map_err(|e| failed("stat", path, e))?;
        if !md.is_file() {
            return Err(Error::PermissionDenied(format!(
                "{}: not a regular file; refused",
                path.display()
            )));
        }
        let euid = nix::unistd::geteuid().as_raw();
        if md.uid() != 0 && md.uid() != euid {
            return Err(Error::PermissionDenied(format!(
                "{}: owned by uid {}, not by root; refused",
                path.display(),
                md.uid()
            )));
        }
        if md.mode() & 0o077 != 0 {
            return Err(Error::PermissionDenied(format!(
                "{}: mode {:04o} lets group or others at it; refused (it must be 0600)",
                path.display(),
                md.mode() & 0o7777
            )));
        }
        if md.len() > MAX_KEYFILE_SIZE {
            return Err(Error::InvalidArgument(format!(
                "{}: {} bytes, too large for a profile",
                path.display(),
                md.len()
            )));
        }
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .map_err(|e| failed("read", path, e))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::InvalidArgument(format!("{}: not UTF-8 text", path.display())))?;
        Profile::from_keyfile_at(&text, path).map_err(|e| at(path, e))
    }

    /// A file name in the directory for a new profile: from its id, else
    /// `<id>-<uuid>`, else `<id>-<uuid>-N`, the first one not taken (as
    /// NetworkManager names them).
    fn new_path(&self, p: &Profile) -> Result<PathBuf, Error> {
        let candidates = std::iter::once(p.id().to_string())
            .chain(std::iter::once(format!("{}-{}", p.id(), p.uuid())))
            .chain((1..10000).map(|i| format!("{}-{}-{i}", p.id(), p.uuid())));
        for name in candidates {
            let path = self.dir.join(file_name_for(&name));
            if !exists(&path) {
                return Ok(path);
            }
        }
        Err(Error::Failed(format!(
            "no free file name for profile {:?} in {}",
            p.id(),
            self.dir.display()
        )))
    }

    /// Writes a profile (secrets included), root's and mode 0600, through a
    /// temporary file renamed into place. An update keeps its `existing`
    /// path; a new profile's file is named after its id. The directory is
    /// made (mode 0700) when missing. Returns the path.
    pub fn save(&self, p: &Profile, existing: Option<&Path>) -> Result<PathBuf, Error> {
        if !self.dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(|e| failed("create", &self.dir, e))?;
        }
        let path = match existing {
            Some(e) => e.to_path_buf(),
            None => self.new_path(p)?,
        };
        let parent = path.parent().unwrap_or(&self.dir);
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{file_name}.{}", &new_uuid_v4()[..8]));
        let write = || -> io::Result<()> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.set_permissions(fs::Permissions::from_mode(0o600))?;
            f.write_all(p.to_keyfile().as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(parent)?.sync_all()
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            failed("write", &path, e)
        })?;
        Ok(path)
    }

    /// Removes a profile's keyfile.
    pub fn delete(&self, path: &Path) -> Result<(), Error> {
        fs::remove_file(path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Error::NotFound(format!("{}: no such file", path.display()))
            } else {
                failed("remove", path, e)
            }
        })
    }

    /// Removes a profile's [`Store::files_dir`], if there is one.
    pub fn remove_files(&self, uuid: &str) -> Result<(), Error> {
        if !is_valid_uuid(uuid) {
            return Err(Error::InvalidArgument(format!("{uuid:?} is not a uuid")));
        }
        let dir = self.files_dir(uuid);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(failed("remove", &dir, e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_like_networkmanager() {
        assert_eq!(file_name_for("office"), "office.nmconnection");
        assert_eq!(file_name_for("a/b"), "a_b.nmconnection");
        assert_eq!(file_name_for(".hidden"), "_hidden.nmconnection");
        assert_eq!(file_name_for("backup~"), "backup_.nmconnection");
        assert_eq!(file_name_for("x.abcdef"), "x.abcdef_.nmconnection");
        assert_eq!(file_name_for("cert.PEM"), "cert.PEM_.nmconnection");
        assert_eq!(file_name_for("with space"), "with space.nmconnection");
        let long = file_name_for(&"é".repeat(300));
        assert!(long.len() <= NAME_MAX && long.ends_with(KEYFILE_SUFFIX));
        for n in ["office", "a/b", ".x", "y~", "z.pem"] {
            assert!(is_keyfile_name(&file_name_for(n)), "{n}");
        }
        assert!(!is_keyfile_name(".nmconnection"));
        assert!(!is_keyfile_name(".office.nmconnection.1a2b3c4d"));
        assert!(!is_keyfile_name("office.nmconnection~"));
        assert!(!is_keyfile_name("office"));
    }
}
