//! `connection.permissions`, as NetworkManager has it: a profile whose list
//! is not empty (`user:NAME;` entries; keyfile `permissions=user:alice;`) may
//! be activated and deactivated, and programs spawned into its isolated
//! namespace, only by the users listed — and by administrators: root, and
//! whoever polkit allows `modify-settings` (they could change the list
//! anyway). polkit's own action for the method (`activate-connection`,
//! `spawn`) is checked as well; this narrows it, never widens it.

use netnsd_api::{Error, actions};
use zbus::message::Header;

use super::auth::Authority;
use crate::settings::{Profile, Value};

/// Who may use one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    /// The profile's id, for the error.
    pub id: String,
    /// The user names listed. An entry that is not `user:NAME` names no one
    /// (and still restricts the profile: a list no one can be read from
    /// allows no one but administrators).
    pub users: Vec<String>,
}

/// The users `connection.permissions` lists: None when it is missing or
/// empty (anyone polkit allows may use the profile).
pub fn restriction(profile: &Profile) -> Option<Restriction> {
    let Some(Value::StrList(list)) = profile.get("connection", "permissions") else {
        return None;
    };
    let entries: Vec<&String> = list.iter().filter(|e| !e.is_empty()).collect();
    if entries.is_empty() {
        return None;
    }
    let users = entries
        .into_iter()
        .filter_map(|e| {
            // "user:NAME" or "user:NAME:" (NetworkManager reserves what
            // follows the second colon).
            let name = e.strip_prefix("user:")?.split(':').next()?;
            (!name.is_empty()).then(|| name.to_owned())
        })
        .collect();
    Some(Restriction {
        id: profile.id().to_owned(),
        users,
    })
}

/// Whether user `uid` is listed in every restriction (`uid_of` looks a
/// listed name up).
pub fn permitted(uid_of: &dyn Fn(&str) -> Option<u32>, uid: u32, rs: &[Restriction]) -> bool {
    rs.iter()
        .all(|r| r.users.iter().any(|u| uid_of(u) == Some(uid)))
}

/// Succeeds when the caller of `hdr` may use the profiles of `rs` (all of
/// them): listed in each, root, or an administrator (polkit's
/// modify-settings). Else PermissionDenied naming the profile.
pub async fn check(auth: &Authority, hdr: &Header<'_>, rs: Vec<Restriction>) -> Result<(), Error> {
    if rs.is_empty() {
        return Ok(());
    }
    let uid = auth.caller_uid(hdr).await?;
    if uid == 0 {
        return Ok(());
    }
    let lists = rs.clone();
    let listed = tokio::task::spawn_blocking(move || {
        let uid_of = |name: &str| {
            nix::unistd::User::from_name(name)
                .ok()
                .flatten()
                .map(|u| u.uid.as_raw())
        };
        permitted(&uid_of, uid, &lists)
    })
    .await
    .map_err(|e| Error::Failed(format!("looking up connection.permissions: {e}")))?;
    if listed {
        return Ok(());
    }
    if auth.check(hdr, actions::MODIFY_SETTINGS).await.is_ok() {
        return Ok(());
    }
    let r = rs.iter().find(|r| !r.users.is_empty()).unwrap_or(&rs[0]);
    let who = if r.users.is_empty() {
        "no user".to_owned()
    } else {
        r.users.join(", ")
    };
    Err(Error::PermissionDenied(format!(
        "connection {:?} is restricted by connection.permissions to {who}; uid {uid} is not listed",
        r.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(permissions: &str) -> Profile {
        Profile::from_keyfile(&format!(
            "[connection]\nid=work\ntype=vpn\npermissions={permissions}\n\n\
             [vpn]\nservice-type=org.freedesktop.NetworkManager.openvpn\n"
        ))
        .unwrap()
    }

    #[test]
    fn the_keyfile_list_is_read_as_networkmanager_writes_it() {
        assert_eq!(restriction(&profile("")), None);
        let r = restriction(&profile("user:alice;user:bob:;")).unwrap();
        assert_eq!(r.id, "work");
        assert_eq!(r.users, vec!["alice".to_owned(), "bob".to_owned()]);
        // An entry that names no user still restricts the profile.
        let r = restriction(&profile("group:staff;")).unwrap();
        assert!(r.users.is_empty());
        let p = Profile::from_keyfile(
            "[connection]\nid=w\ntype=vpn\n\n[vpn]\nservice-type=org.freedesktop.NetworkManager.openvpn\n",
        )
        .unwrap();
        assert_eq!(restriction(&p), None);
    }

    #[test]
    fn only_users_in_every_list_are_permitted() {
        let uid_of = |n: &str| match n {
            "alice" => Some(1000),
            "bob" => Some(1001),
            _ => None,
        };
        let a = restriction(&profile("user:alice;")).unwrap();
        let ab = restriction(&profile("user:alice;user:bob;")).unwrap();
        let nobody = restriction(&profile("group:staff;")).unwrap();
        assert!(permitted(&uid_of, 1000, std::slice::from_ref(&a)));
        assert!(!permitted(&uid_of, 1001, std::slice::from_ref(&a)));
        assert!(permitted(&uid_of, 1001, std::slice::from_ref(&ab)));
        assert!(!permitted(&uid_of, 1001, &[ab.clone(), a.clone()]));
        assert!(permitted(&uid_of, 1000, &[ab, a]));
        assert!(!permitted(&uid_of, 1000, &[nobody]));
        assert!(!permitted(
            &uid_of,
            4242,
            &[restriction(&profile("user:ghost;")).unwrap()]
        ));
    }
}
