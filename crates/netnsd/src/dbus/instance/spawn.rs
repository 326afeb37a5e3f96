//! Spawn on the bus: its arguments checked, the descriptors taken out of
//! the message, the caller's identity learnt from the bus (never from the
//! arguments), and polkit asked; the manager starts the process.

use std::collections::HashMap;

use netnsd_api::{Error, actions};
use zbus::message::Header;

pub(crate) use super::Dict;
use super::NetNsInstance;
use crate::manager::SpawnArgs;
use netnsd_api::dict;

impl NetNsInstance {
    /// The Spawn request for the manager, authorized.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn spawn_request(
        &self,
        argv: Vec<String>,
        env: HashMap<String, String>,
        cwd: String,
        fds: HashMap<String, zbus::wire::OwnedFd>,
        options: &Dict,
        hdr: &Header<'_>,
    ) -> Result<SpawnArgs, Error> {
        let checked = checked_spawn(self.ns.number, argv, env, cwd, fds, options)?;
        let (uid, groups) = self.auth.credentials(hdr).await?;
        self.auth.check(hdr, actions::SPAWN).await?;
        crate::dbus::permissions::check(&self.auth, hdr, self.restrictions_here()).await?;
        Ok(checked.by(crate::spawn::Caller { uid, groups }))
    }
}

/// A Spawn's arguments, checked; whose it is comes from the bus (or, on
/// the private socket, from the socket's peer).
pub(crate) struct Checked {
    argv: Vec<String>,
    env: HashMap<String, String>,
    cwd: String,
    stdin: Option<std::os::fd::OwnedFd>,
    stdout: Option<std::os::fd::OwnedFd>,
    stderr: Option<std::os::fd::OwnedFd>,
    pty: bool,
}

impl Checked {
    /// The request, run as `caller`.
    pub(crate) fn by(self, caller: crate::spawn::Caller) -> SpawnArgs {
        SpawnArgs {
            argv: self.argv,
            env: self.env,
            cwd: self.cwd,
            stdin: self.stdin,
            stdout: self.stdout,
            stderr: self.stderr,
            pty: self.pty,
            caller,
        }
    }
}

/// Checks Spawn's arguments for namespace number `ns` (InvalidArgument
/// naming what is wrong) and takes the descriptors out of `fds`.
pub(crate) fn checked_spawn(
    ns: u32,
    argv: Vec<String>,
    env: HashMap<String, String>,
    cwd: String,
    fds: HashMap<String, zbus::wire::OwnedFd>,
    options: &Dict,
) -> Result<Checked, Error> {
    if ns == 0 {
        return Err(Error::InvalidArgument(
            "Spawn runs programs in other namespaces; run it directly in the root namespace".into(),
        ));
    }
    if argv.first().is_none_or(|a| a.is_empty()) {
        return Err(Error::InvalidArgument("argv is empty".into()));
    }
    if let Some(k) = env.keys().find(|k| k.is_empty() || k.contains('=')) {
        return Err(Error::InvalidArgument(format!(
            "environment variable name {k:?} is not valid"
        )));
    }
    if !cwd.is_empty() && !cwd.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "cwd {cwd:?} is not an absolute path"
        )));
    }
    let mut fds = fds;
    if let Some(k) = fds
        .keys()
        .find(|k| !["stdin", "stdout", "stderr"].contains(&k.as_str()))
    {
        return Err(Error::InvalidArgument(format!(
            "fds key {k:?}: only stdin, stdout and stderr can be passed"
        )));
    }
    let mut take = |k: &str| fds.remove(k).map(std::os::fd::OwnedFd::from);
    let (stdin, stdout, stderr) = (take("stdin"), take("stdout"), take("stderr"));
    let pty = dict::Dict::new(options, "option", &["pty"])?
        .bool("pty")?
        .unwrap_or(false);
    if pty && stdin.is_none() {
        return Err(Error::InvalidArgument(
            "option \"pty\" needs a terminal passed as stdin".into(),
        ));
    }
    Ok(Checked {
        argv,
        env,
        cwd,
        stdin,
        stdout,
        stderr,
        pty,
    })
}
