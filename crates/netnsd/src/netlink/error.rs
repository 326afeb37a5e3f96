//! Kernel refusals as the errors the bus answers with: "WHAT: REASON",
//! where WHAT names the step and the device and REASON is the errno's text
//! or, for the errnos a step knows, its own words; the kind follows the
//! errno (EEXIST is AlreadyExists, ENODEV UnknownDevice, ...). Callers add
//! the namespace with [`with_context`].

use netnsd_api::Error;
use nix::errno::Errno;

/// The errno of a kernel refusal (positive: `libc::EEXIST`), if it is one.
pub fn errno(e: &rtnetlink::Error) -> Option<Errno> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| Errno::from_raw(-c.get())),
        _ => None,
    }
}

/// Maps a failed request to the error the bus answers with, as
/// "WHAT: REASON". `what` names the step and the device.
pub fn map_err(e: rtnetlink::Error, what: &str) -> Error {
    let Some(errno) = errno(&e) else {
        return Error::Failed(format!("{what}: {e}"));
    };
    let msg = format!("{what}: {}", errno.desc());
    use Errno::*;
    match errno {
        EEXIST => Error::AlreadyExists(msg),
        ENODEV => Error::UnknownDevice(msg),
        EOPNOTSUPP | EAFNOSUPPORT => Error::NotSupported(msg),
        EINVAL | ENETUNREACH | EHOSTUNREACH | ERANGE | ENETDOWN => Error::InvalidArgument(msg),
        EPERM | EACCES => Error::PermissionDenied(msg),
        EBUSY => Error::Busy(msg),
        // What a delete answers when there is nothing to delete: ESRCH for
        // routes, ENOENT for rules, EADDRNOTAVAIL for addresses.
        ESRCH | ENOENT | EADDRNOTAVAIL => Error::NotFound(msg),
        _ => Error::Failed(msg),
    }
}

/// Like [`map_err`], with the errnos that `special` names given a message
/// of their own (same error kind).
pub(super) fn map_err_with(e: rtnetlink::Error, what: &str, special: &[(Errno, &str)]) -> Error {
    let errno = errno(&e);
    let err = map_err(e, what);
    match special.iter().find(|(n, _)| Some(*n) == errno) {
        Some((_, reason)) => replace_message(err, format!("{what}: {reason}")),
        None => err,
    }
}

fn replace_message(e: Error, m: String) -> Error {
    match e {
        Error::InvalidArgument(_) => Error::InvalidArgument(m),
        Error::AlreadyExists(_) => Error::AlreadyExists(m),
        Error::NotFound(_) => Error::NotFound(m),
        Error::PermissionDenied(_) => Error::PermissionDenied(m),
        Error::Busy(_) => Error::Busy(m),
        Error::Timeout(_) => Error::Timeout(m),
        Error::NotSupported(_) => Error::NotSupported(m),
        Error::UnknownDevice(_) => Error::UnknownDevice(m),
        Error::DeviceAlreadyInTargetNetns(_) => Error::DeviceAlreadyInTargetNetns(m),
        Error::Failed(_) => Error::Failed(m),
        Error::TargetNetnsNotFound(_) => Error::TargetNetnsNotFound(m),
        Error::UnknownConnection(_) => Error::UnknownConnection(m),
        Error::ConnectionNotAvailable(_) => Error::ConnectionNotAvailable(m),
        Error::ConnectionNotActive(_) => Error::ConnectionNotActive(m),
        Error::ConnectionAlreadyActive(_) => Error::ConnectionAlreadyActive(m),
        Error::DependencyFailed(_) => Error::DependencyFailed(m),
        e @ Error::ZBus(_) => e,
    }
}

/// Prefixes an error's message with `ctx` ("in namespace vpn1"), keeping its
/// kind.
pub fn with_context(e: Error, ctx: &str) -> Error {
    let m = format!("{ctx}: {}", e.message());
    replace_message(e, m)
}

pub(super) fn invalid(m: impl Into<String>) -> Error {
    Error::InvalidArgument(m.into())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::num::NonZeroI32;

    use rtnetlink::packet_core::ErrorMessage;

    /// A kernel refusal with `errno`.
    pub(in crate::netlink) fn nl_err(errno: i32) -> rtnetlink::Error {
        let mut m = ErrorMessage::default();
        m.code = NonZeroI32::new(-errno);
        rtnetlink::Error::NetlinkError(m)
    }

    #[test]
    fn errors_map_by_errno() {
        for (errno, kind) in [
            (libc::EEXIST, "AlreadyExists"),
            (libc::ENODEV, "UnknownDevice"),
            (libc::EOPNOTSUPP, "NotSupported"),
            (libc::EAFNOSUPPORT, "NotSupported"),
            (libc::EINVAL, "InvalidArgument"),
            (libc::ENETUNREACH, "InvalidArgument"),
            (libc::EHOSTUNREACH, "InvalidArgument"),
            (libc::ERANGE, "InvalidArgument"),
            (libc::ENETDOWN, "InvalidArgument"),
            (libc::EPERM, "PermissionDenied"),
            (libc::EACCES, "PermissionDenied"),
            (libc::EBUSY, "Busy"),
            (libc::ESRCH, "NotFound"),
            (libc::ENOENT, "NotFound"),
            (libc::EADDRNOTAVAIL, "NotFound"),
            (libc::ENOBUFS, "Failed"),
        ] {
            let e = map_err(nl_err(errno), "do the thing to veth0");
            assert_eq!(e.short_name(), kind, "errno {errno} gave {e:?}");
            let want = format!("do the thing to veth0: {}", Errno::from_raw(errno).desc());
            assert_eq!(e.message(), want);
        }
        let e = map_err(nl_err(libc::EEXIST), "create veth veth0");
        assert_eq!(e.message(), "create veth veth0: File exists");
        // Not a kernel refusal.
        let e = map_err(rtnetlink::Error::RequestFailed, "list routes");
        assert!(matches!(&e, Error::Failed(m) if m.starts_with("list routes: ")));
    }

    #[test]
    fn context_keeps_the_kind() {
        let e = with_context(
            Error::Busy("rename device 3 to x: up".into()),
            "in namespace vpn",
        );
        assert!(matches!(&e, Error::Busy(m) if m == "in namespace vpn: rename device 3 to x: up"));
    }
}
