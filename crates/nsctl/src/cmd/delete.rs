//! `nsctl delete NAME` (also `del`, `remove`)

use netnsd_api::{Error as BusError, ROOT_NS_NAME};
use zbus::Connection;

use crate::cmd::{call_authorized, check_name, controller};
use crate::error::{CliError, Kind};
use crate::output;

pub async fn exec(conn: &Connection, name: &str, json: bool) -> Result<String, CliError> {
    check_name(name)?;
    let ctl = controller(conn).await?;
    let result: String = call_authorized(ctl.inner(), "RemoveNetworkNamespace", &(name,))
        .await
        .map_err(|e| refusal(name, e))?;
    Ok(if json {
        output::delete_json(&result)
    } else {
        output::delete_text(&result)
    })
}

/// Removing the root namespace is refused whoever asks, so the polkit hint
/// of an ordinary refusal would mislead: show the daemon's reason alone.
fn refusal(name: &str, err: BusError) -> CliError {
    match err {
        BusError::PermissionDenied(m) if name == ROOT_NS_NAME => {
            CliError::new(Kind::PermissionDenied, format!("permission denied: {m}"))
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_rootns_is_refused_without_the_polkit_hint() {
        let e = refusal(
            "rootns",
            BusError::PermissionDenied("the root namespace cannot be removed".into()),
        );
        assert_eq!(e.exit_code(), 5);
        assert_eq!(
            e.message(),
            "permission denied: the root namespace cannot be removed"
        );

        let e = refusal("foo", BusError::PermissionDenied("not authorized".into()));
        assert!(
            e.message()
                .ends_with("(polkit refused; ask an administrator or add a polkit rule)")
        );

        let e = refusal(
            "foo",
            BusError::NotFound("namespace \"foo\" not found".into()),
        );
        assert_eq!(
            (e.exit_code(), e.message()),
            (3, "namespace \"foo\" not found")
        );
    }
}
