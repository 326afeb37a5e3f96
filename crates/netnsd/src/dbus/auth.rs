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
}

impl Authority {
    pub async fn new(conn: &Connection) -> zbus::Result<Self> {
        let proxy = AuthorityProxy::builder(conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?;
        Ok(Authority { proxy })
    }

    /// The daemon's bus connection.
    pub fn connection(&self) -> &Connection {
        self.proxy.inner().connection()
    }

    /// The caller's uid, as the bus daemon knows it (never from arguments).
    pub async fn caller_uid(&self, hdr: &Header<'_>) -> Result<u32, Error> {
        Ok(credentials(self.proxy.inner().connection(), hdr).await?.0)
    }

    /// Succeeds when polkit authorizes the sender of `hdr` for `action`.
    /// The caller may be prompted only if its message allows interaction.
    pub async fn check(&self, hdr: &Header<'_>, action: &str) -> Result<(), Error> {
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
