//! polkit checks, with the caller's unique bus name (from the message header)
//! as the subject.

use std::collections::HashMap;

use netnsd_api::Error;
use zbus::Connection;
use zbus::message::{Flags, Header};
use zbus_polkit::policykit1::{AuthorityProxy, CheckAuthorizationFlags, Subject};

/// How long a check may wait for polkitd. polkitd answers a non-interactive
/// check in milliseconds; 10 s leaves room for a loaded host and still
/// answers well before a client's default 25 s timeout.
pub const POLKIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The same for a check that may prompt the caller for a password: a
/// person needs time to type it, but a forgotten prompt must end too.
pub const POLKIT_INTERACTIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

#[derive(Clone)]
pub struct Authority {
    proxy: AuthorityProxy<'static>,
    uids: std::sync::Arc<UidCache>,
}

/// The uid of each caller's connection, by unique bus name, as the bus
/// daemon said it (GetConnectionCredentials). A unique name is never given
/// to another connection during the bus's life, and a connection's uid
/// does not change, so an entry never goes stale; the table is emptied
/// when it reaches [`UID_CACHE_MAX`] names, to bound it.
#[derive(Default)]
struct UidCache(std::sync::Mutex<HashMap<String, Credentials>>);

/// A caller's uid, and its groups where the bus knows them.
type Credentials = (u32, Option<Vec<u32>>);

const UID_CACHE_MAX: usize = 1024;

impl UidCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Credentials>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, sender: &str) -> Option<Credentials> {
        self.lock().get(sender).cloned()
    }

    fn put(&self, sender: &str, creds: Credentials) {
        let mut m = self.lock();
        if m.len() >= UID_CACHE_MAX {
            m.clear();
        }
        m.insert(sender.to_owned(), creds);
    }
}

/// Whether a caller with this uid is authorized without asking polkit:
/// root only, as systemd grants root its own actions without polkit. Every
/// other uid is polkit's to decide.
pub fn skips_polkit(uid: u32) -> bool {
    uid == 0
}

impl Authority {
    pub async fn new(conn: &Connection) -> zbus::Result<Self> {
        let proxy = AuthorityProxy::builder(conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?;
        Ok(Authority {
            proxy,
            uids: Default::default(),
        })
    }

    /// The daemon's bus connection.
    pub fn connection(&self) -> &Connection {
        self.proxy.inner().connection()
    }

    /// The caller's uid, as the bus daemon knows it (never from arguments;
    /// asked once per caller connection, see [`UidCache`]).
    pub async fn caller_uid(&self, hdr: &Header<'_>) -> Result<u32, Error> {
        Ok(self.credentials(hdr).await?.0)
    }

    /// The caller's uid and groups, as [`credentials`] learns them, asked
    /// once per caller connection (see [`UidCache`]).
    pub async fn credentials(&self, hdr: &Header<'_>) -> Result<Credentials, Error> {
        if let Some(sender) = hdr.sender()
            && let Some(c) = self.uids.get(sender.as_str())
        {
            return Ok(c);
        }
        let c = credentials(self.proxy.inner().connection(), hdr).await?;
        if let Some(sender) = hdr.sender() {
            self.uids.put(sender.as_str(), c.clone());
        }
        Ok(c)
    }

    /// Succeeds when the sender of `hdr` is root (uid 0, as the bus daemon
    /// knows it: no polkit round trip, see [`skips_polkit`]) or polkit
    /// authorizes it for `action`. The caller may be prompted only if its
    /// message allows interaction.
    pub async fn check(&self, hdr: &Header<'_>, action: &str) -> Result<(), Error> {
        if skips_polkit(self.caller_uid(hdr).await?) {
            return Ok(());
        }
        let subject = Subject::new_for_message_header(hdr)
            .map_err(|e| Error::PermissionDenied(format!("cannot identify the caller: {e}")))?;
        let mut flags = CheckAuthorizationFlags::empty();
        if hdr
            .primary()
            .flags()
            .contains(Flags::ALLOW_INTERACTIVE_AUTH)
        {
            flags |= CheckAuthorizationFlags::ALLOW_USER_INTERACTION;
        }
        // A stalled polkitd must not leave the caller without an answer:
        // the wait is bounded below the clients' own 25 s default, and a
        // polkit that cannot be asked is said to be so (not a refusal).
        let limit = if flags.is_empty() {
            POLKIT_TIMEOUT
        } else {
            POLKIT_INTERACTIVE_TIMEOUT
        };
        let details = HashMap::new();
        let asked = self
            .proxy
            .check_authorization(&subject, action, &details, flags, "");
        let result = match tokio::time::timeout(limit, asked).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                return Err(Error::Failed(format!(
                    "could not ask polkit about {action} (is polkitd running?): {e}"
                )));
            }
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "polkit did not answer about {action} within {} s",
                    limit.as_secs()
                )));
            }
        };
        if result.is_authorized {
            Ok(())
        } else if result.is_challenge {
            Err(Error::PermissionDenied(format!(
                "not authorized for {action}: authentication is required"
            )))
        } else {
            Err(Error::PermissionDenied(format!(
                "not authorized for {action}"
            )))
        }
    }
}

/// Who sent `hdr`, as the bus daemon knows it (never from arguments): its
/// uid, and its groups where the bus knows them.
pub async fn credentials(
    conn: &Connection,
    hdr: &Header<'_>,
) -> Result<(u32, Option<Vec<u32>>), Error> {
    let sender = hdr
        .sender()
        .ok_or_else(|| Error::PermissionDenied("the call has no sender".into()))?
        .to_owned();
    let creds = zbus::fdo::DBusProxy::new(conn)
        .await?
        .get_connection_credentials(sender.into())
        .await
        .map_err(|e| Error::PermissionDenied(format!("cannot learn who the caller is: {e}")))?;
    let uid = creds
        .unix_user_id()
        .ok_or_else(|| Error::PermissionDenied("the bus does not know the caller's uid".into()))?;
    Ok((uid, creds.unix_group_ids().cloned()))
}

/// Who sent `hdr`, as the bus knows it (uid, groups), for reading files as
/// the caller ([`crate::settings::caller`]).
pub async fn caller(
    conn: &Connection,
    hdr: &Header<'_>,
) -> Result<crate::settings::caller::Caller, Error> {
    let (uid, groups) = credentials(conn, hdr).await?;
    tokio::task::spawn_blocking(move || crate::settings::caller::Caller::lookup(uid, groups))
        .await
        .map_err(|e| Error::Failed(e.to_string()))?
}

#[cfg(test)]
mod tests {
    /// Only root goes without polkit; every other uid, the nobody user and
    /// a uid that wraps to 0 in 16 bits included, is asked about.
    #[test]
    fn only_root_skips_polkit() {
        assert!(super::skips_polkit(0));
        for uid in [1, 999, 1000, 4242, 65534, 65536, u32::MAX] {
            assert!(!super::skips_polkit(uid), "uid {uid} skipped polkit");
        }
    }

    #[test]
    fn the_uid_cache_is_bounded() {
        let c = super::UidCache::default();
        for i in 0..super::UID_CACHE_MAX + 10 {
            c.put(&format!(":1.{i}"), (i as u32, None));
        }
        assert!(c.lock().len() <= super::UID_CACHE_MAX);
        assert_eq!(
            c.get(&format!(":1.{}", super::UID_CACHE_MAX + 9)),
            Some((super::UID_CACHE_MAX as u32 + 9, None))
        );
    }

    /// The action ids the daemon checks are exactly those in the .policy
    /// file that packaging installs.
    #[test]
    fn actions_match_the_policy_file() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../polkit/net.netnsd.Netns1.policy"
        );
        let xml = std::fs::read_to_string(path).unwrap();
        let ids: Vec<&str> = xml
            .split("<action id=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert_eq!(ids, netnsd_api::actions::ALL);
    }
}
