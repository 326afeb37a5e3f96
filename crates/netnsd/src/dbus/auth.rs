//! polkit checks, with the caller's unique bus name (from the message header)
//! as the subject.

use std::collections::HashMap;

use netnsd_api::Error;
use zbus::Connection;
use zbus::message::{Flags, Header};
use zbus_polkit::policykit1::{AuthorityProxy, CheckAuthorizationFlags, Subject};

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
        let result = self
            .proxy
            .check_authorization(&subject, action, &HashMap::new(), flags, "")
            .await
            .map_err(|e| {
                Error::PermissionDenied(format!("could not ask polkit about {action}: {e}"))
            })?;
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

/// Who sent `hdr`, as the bus knows it (uid, groups), for reading files as
/// the caller ([`crate::settings::caller`]).
pub async fn caller(
    conn: &Connection,
    hdr: &Header<'_>,
) -> Result<crate::settings::caller::Caller, Error> {
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
    let groups = creds.unix_group_ids().cloned();
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
