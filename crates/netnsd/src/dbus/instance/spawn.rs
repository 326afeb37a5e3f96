//! Spawn on the bus: its arguments checked, the descriptors taken out of
//! the message, the caller's identity learnt from the bus (never from the
//! arguments), and polkit asked; the manager starts the process.

use std::collections::HashMap;

use netnsd_api::{Error, actions};
use zbus::message::Header;

use super::{Dict, NetNsInstance};
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
        if self.ns.number == 0 {
            return Err(Error::InvalidArgument(
                "Spawn runs programs in other namespaces; run it directly in the root namespace"
                    .into(),
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
        let (uid, groups) = self.auth.credentials(hdr).await?;
        self.auth.check(hdr, actions::SPAWN).await?;
        crate::dbus::permissions::check(&self.auth, hdr, self.restrictions_here()).await?;
        Ok(SpawnArgs {
            argv,
            env,
            cwd,
            stdin,
            stdout,
            stderr,
            pty,
            caller: crate::spawn::Caller { uid, groups },
        })
    }
}
