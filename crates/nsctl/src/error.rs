//! nsctl's errors: one [`Kind`] per exit status, and a message in plain words.
//!
//! Errors from netnsd (`net.netnsd.Netns1.Error.*`) keep the daemon's own
//! message, which already names the namespace and the problem. Errors from
//! the bus itself (`org.freedesktop.DBus.Error.*`) and connection failures get
//! a plain description in front, since their names mean little to a user.

use std::fmt;

use netnsd_api::{BUS_NAME, Error as BusError};
use zbus::fdo;

/// What went wrong, as far as a script needs to know: each kind has its own
/// exit status (see [`EXIT_STATUSES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything not covered below.
    Failed,
    /// No such namespace, device (or other object).
    NotFound,
    /// The namespace or device already exists, or the device is already
    /// where it was asked to go.
    AlreadyExists,
    /// polkit or the bus policy refused, or the operation is never allowed.
    PermissionDenied,
    /// A malformed argument, such as an invalid namespace name.
    InvalidArgument,
    /// The object is in use.
    Busy,
    /// A wait ran past its deadline.
    Timeout,
    /// The kernel or this netnsd lacks what the operation needs.
    NotSupported,
    /// netnsd is not running, or the system bus cannot be reached.
    Unreachable,
}

impl Kind {
    /// The process exit status for this kind. 0 is success and 2 is clap's
    /// usage error; neither is a `Kind`.
    pub const fn exit_code(self) -> u8 {
        match self {
            Kind::Failed => 1,
            Kind::NotFound => 3,
            Kind::AlreadyExists => 4,
            Kind::PermissionDenied => 5,
            Kind::InvalidArgument => 6,
            Kind::Busy => 7,
            Kind::Timeout => 8,
            Kind::NotSupported => 9,
            Kind::Unreachable => 10,
        }
    }
}

/// Exit status of a command-line usage error (clap's own).
pub const USAGE_EXIT_CODE: u8 = 2;

/// Every exit status with its meaning, as `--help` and the man page show them.
pub const EXIT_STATUSES: &[(u8, &str)] = &[
    (0, "success"),
    (1, "any other failure; for \"nsctl vpn up\", the VPN failed"),
    (
        USAGE_EXIT_CODE,
        "usage error: unknown subcommand or option, missing argument",
    ),
    (
        Kind::NotFound.exit_code(),
        "the namespace, device or connection profile was not found, or the profile is not active",
    ),
    (
        Kind::AlreadyExists.exit_code(),
        "a namespace or device of that name already exists, the device is already in the \
         target namespace, or the connection is already active",
    ),
    (
        Kind::PermissionDenied.exit_code(),
        "permission denied: polkit or the bus policy refused (or the namespace is rootns)",
    ),
    (
        Kind::InvalidArgument.exit_code(),
        "invalid argument, such as an invalid name or address, or a device of another namespace",
    ),
    (
        Kind::Busy.exit_code(),
        "busy: the namespace is in use, or the device must be down first",
    ),
    (
        Kind::Timeout.exit_code(),
        "timed out: netnsd, or nsctl waiting for a VPN to come up or go down",
    ),
    (
        Kind::NotSupported.exit_code(),
        "not supported by the kernel or by this netnsd",
    ),
    (
        Kind::Unreachable.exit_code(),
        "netnsd is not running, or the system bus cannot be reached",
    ),
];

/// The "Exit status:" block shown at the end of `--help`.
pub fn exit_status_help() -> String {
    let mut s = String::from("Exit status:\n");
    for (code, meaning) in EXIT_STATUSES {
        s.push_str(&format!("  {code:>2}  {meaning}\n"));
    }
    s.pop();
    s
}

/// What [`polkit`'s refusal](BusError::PermissionDenied) is followed by.
pub const POLKIT_HINT: &str = "polkit refused; ask an administrator or add a polkit rule";

/// An error ready to be shown as `nsctl: MESSAGE` and turned into an exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    kind: Kind,
    message: String,
    /// An exit status other than the kind's (`nsctl exec`: 127).
    code: Option<u8>,
}

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: None,
        }
    }

    /// The same error, with exit status `code` instead of its kind's.
    pub fn with_exit_code(mut self, code: u8) -> Self {
        self.code = Some(code);
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.code.unwrap_or(self.kind.exit_code())
    }

    /// The message in plain words, without the `nsctl: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A namespace `name` that netnsd does not (or no longer) know.
    pub fn namespace_not_found(name: &str) -> Self {
        Self::new(Kind::NotFound, format!("namespace {name:?} not found"))
    }

    /// No device named `dev` in namespace `ns`.
    pub fn device_not_found(dev: &str, ns: &str) -> Self {
        Self::new(
            Kind::NotFound,
            format!("no device {dev:?} in namespace {ns:?}"),
        )
    }

    /// Failure to connect to the system bus at all.
    pub fn connect(err: zbus::Error) -> Self {
        match err {
            zbus::Error::Connection(io, address) => Self::new(
                Kind::Unreachable,
                format!("cannot connect to the system bus at {address}: {io}"),
            ),
            zbus::Error::Address(m) => Self::new(
                Kind::Unreachable,
                format!("invalid system bus address ({m}); check DBUS_SYSTEM_BUS_ADDRESS"),
            ),
            zbus::Error::Handshake(m) => Self::new(
                Kind::Unreachable,
                format!("the system bus refused the connection: {m}"),
            ),
            other => Self::new(
                Kind::Unreachable,
                format!("cannot connect to the system bus: {other}"),
            ),
        }
    }

    /// Any error a bus call returned: netnsd's own, or the bus's.
    pub fn from_bus(err: BusError) -> Self {
        let (kind, m) = match err {
            BusError::ZBus(e) => return Self::from_zbus(e),
            BusError::InvalidArgument(m) => (Kind::InvalidArgument, m),
            BusError::AlreadyExists(m) => (Kind::AlreadyExists, m),
            BusError::NotFound(m)
            | BusError::TargetNetnsNotFound(m)
            | BusError::UnknownConnection(m)
            | BusError::ConnectionNotActive(m) => (Kind::NotFound, m),
            BusError::ConnectionAlreadyActive(m) => (Kind::AlreadyExists, m),
            BusError::ConnectionNotAvailable(m) | BusError::DependencyFailed(m) => {
                (Kind::Failed, m)
            }
            BusError::PermissionDenied(m) => {
                return Self::new(
                    Kind::PermissionDenied,
                    format!(
                        "permission denied: {} ({POLKIT_HINT})",
                        or_default(&m, "refused")
                    ),
                );
            }
            BusError::Busy(m) => (Kind::Busy, m),
            BusError::Timeout(m) => (Kind::Timeout, m),
            BusError::NotSupported(m) => (Kind::NotSupported, m),
            BusError::UnknownDevice(m) => (Kind::NotFound, m),
            BusError::DeviceAlreadyInTargetNetns(m) => (Kind::AlreadyExists, m),
            BusError::Failed(m) => (Kind::Failed, m),
        };
        let m = if m.trim().is_empty() {
            format!("netnsd failed with {:?} and gave no reason", kind)
        } else {
            m
        };
        Self::new(kind, m)
    }

    fn from_zbus(err: zbus::Error) -> Self {
        match err {
            zbus::Error::FDO(e) => Self::from_fdo(*e),
            zbus::Error::MethodError(name, desc, _) => Self::new(
                Kind::Failed,
                match desc.as_deref().map(str::trim) {
                    Some(d) if !d.is_empty() => format!("{name}: {d}"),
                    _ => format!("the call failed with {name}"),
                },
            ),
            zbus::Error::InputOutput(io) => Self::new(
                Kind::Unreachable,
                format!("lost the connection to the system bus: {io}"),
            ),
            e @ (zbus::Error::Connection(..)
            | zbus::Error::Address(_)
            | zbus::Error::Handshake(_)) => Self::connect(e),
            other => Self::new(Kind::Failed, format!("D-Bus error: {other}")),
        }
    }

    fn from_fdo(err: fdo::Error) -> Self {
        use fdo::Error as F;
        match err {
            F::ServiceUnknown(_) | F::NameHasNoOwner(_) => Self::new(
                Kind::Unreachable,
                format!("netnsd is not running (no owner for {BUS_NAME} on the system bus)"),
            ),
            F::SpawnExecFailed(d)
            | F::SpawnForkFailed(d)
            | F::SpawnChildExited(d)
            | F::SpawnChildSignaled(d)
            | F::SpawnFailed(d)
            | F::SpawnFailedToSetup(d)
            | F::SpawnConfigInvalid(d)
            | F::SpawnServiceNotValid(d)
            | F::SpawnServiceNotFound(d)
            | F::SpawnPermissionsInvalid(d)
            | F::SpawnFileInvalid(d)
            | F::SpawnNoMemory(d) => Self::new(
                Kind::Unreachable,
                format!("netnsd is not running and the system bus could not start it: {d}"),
            ),
            F::NoServer(d) | F::Disconnected(d) => Self::new(
                Kind::Unreachable,
                format!("the system bus cannot be reached: {d}"),
            ),
            F::AccessDenied(d) => Self::new(
                Kind::PermissionDenied,
                format!("permission denied by the system bus policy: {d}"),
            ),
            F::AuthFailed(d) => Self::new(
                Kind::PermissionDenied,
                format!("permission denied: authentication failed: {d}"),
            ),
            F::InteractiveAuthorizationRequired(d) => Self::new(
                Kind::PermissionDenied,
                format!(
                    "permission denied: {d} (authentication is required and no polkit agent \
                     could ask for it; run nsctl in a desktop session or under pkttyagent, \
                     or ask an administrator)"
                ),
            ),
            F::InvalidArgs(d) => Self::new(Kind::InvalidArgument, format!("invalid argument: {d}")),
            F::Timeout(d) | F::TimedOut(d) => {
                Self::new(Kind::Timeout, format!("timed out waiting for netnsd: {d}"))
            }
            F::NoReply(d) => Self::new(Kind::Failed, format!("no reply from netnsd: {d}")),
            F::UnknownMethod(d) | F::UnknownInterface(d) | F::UnknownProperty(d) => Self::new(
                Kind::NotSupported,
                format!("this netnsd does not support the call (is it older than nsctl?): {d}"),
            ),
            F::UnknownObject(d) => Self::new(Kind::NotFound, format!("no such object: {d}")),
            F::NotSupported(d) => Self::new(Kind::NotSupported, format!("not supported: {d}")),
            F::LimitsExceeded(d) => Self::new(
                Kind::Busy,
                format!("the system bus refused: limits exceeded: {d}"),
            ),
            F::ZBus(e) => Self::from_zbus(e),
            other => Self::new(Kind::Failed, other.to_string()),
        }
    }
}

fn or_default<'a>(m: &'a str, default: &'a str) -> &'a str {
    if m.trim().is_empty() { default } else { m }
}

impl From<BusError> for CliError {
    fn from(err: BusError) -> Self {
        Self::from_bus(err)
    }
}

/// A raw zbus error from a call (such as `Proxy::call_with_flags`): netnsd's
/// error names are recognised first, as the typed proxies do.
impl From<zbus::Error> for CliError {
    fn from(err: zbus::Error) -> Self {
        Self::from_bus(BusError::from(err))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    const ALL_KINDS: [Kind; 9] = [
        Kind::Failed,
        Kind::NotFound,
        Kind::AlreadyExists,
        Kind::PermissionDenied,
        Kind::InvalidArgument,
        Kind::Busy,
        Kind::Timeout,
        Kind::NotSupported,
        Kind::Unreachable,
    ];

    fn cli(e: BusError) -> CliError {
        CliError::from(e)
    }

    fn fdo(e: fdo::Error) -> CliError {
        CliError::from(zbus::Error::FDO(Box::new(e)))
    }

    /// A real error reply as zbus delivers it, named `name`.
    fn reply(name: &str, desc: &str) -> zbus::Error {
        let call =
            zbus::Message::method_call("/net/netnsd/Netns1/NetworkNamespacesController", "X")
                .build(&())
                .unwrap();
        let err = zbus::Message::error(&call.header(), name)
            .build(&(desc,))
            .unwrap();
        zbus::Error::from(err)
    }

    #[test]
    fn exit_codes_are_distinct_and_documented() {
        let mut seen = HashSet::new();
        for kind in ALL_KINDS {
            let code = kind.exit_code();
            assert!(seen.insert(code), "{kind:?} reuses exit code {code}");
            assert!(code != 0 && code != USAGE_EXIT_CODE, "{kind:?} uses {code}");
            assert!(
                EXIT_STATUSES.iter().any(|(c, _)| *c == code),
                "{kind:?} ({code}) is not documented"
            );
        }
        let codes: Vec<u8> = EXIT_STATUSES.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, (0..=10).collect::<Vec<u8>>());
    }

    #[test]
    fn exit_status_help_lists_every_code() {
        let help = exit_status_help();
        assert!(help.starts_with("Exit status:\n"));
        assert!(help.contains("   0  success\n"));
        assert!(help.contains("   3  the namespace, device or connection profile was not found"));
        assert!(help.contains("  10  netnsd is not running"));
        assert_eq!(help.lines().count(), 1 + EXIT_STATUSES.len());
    }

    #[test]
    fn netnsd_errors_map_to_their_exit_codes_and_keep_the_message() {
        let cases = [
            (BusError::NotFound("namespace \"foo\" not found".into()), 3),
            (
                BusError::AlreadyExists("namespace \"foo\" already exists".into()),
                4,
            ),
            (
                BusError::InvalidArgument("namespace name \"a/b\" contains '/'".into()),
                6,
            ),
            (
                BusError::Busy("namespace \"foo\" has running processes".into()),
                7,
            ),
            (BusError::Timeout("device tun0 did not appear".into()), 8),
            (
                BusError::NotSupported("the kernel has no vlan support".into()),
                9,
            ),
            (BusError::UnknownDevice("no device /x".into()), 3),
            (
                BusError::DeviceAlreadyInTargetNetns("tun0 is already there".into()),
                4,
            ),
            (BusError::Failed("mount failed: EPERM".into()), 1),
        ];
        for (err, code) in cases {
            let msg = err.message();
            let e = cli(err);
            assert_eq!(e.exit_code(), code, "{msg}");
            assert_eq!(e.message(), msg);
            assert_eq!(e.to_string(), msg);
        }
    }

    #[test]
    fn empty_daemon_message_still_says_something() {
        let e = cli(BusError::Failed(String::new()));
        assert_eq!(e.exit_code(), 1);
        assert!(e.message().contains("Failed"), "{}", e.message());
    }

    #[test]
    fn permission_denied_says_polkit_refused() {
        let e = cli(BusError::PermissionDenied(
            "not authorized for net.netnsd.Netns1.manage-namespaces".into(),
        ));
        assert_eq!(e.exit_code(), 5);
        assert_eq!(
            e.message(),
            "permission denied: not authorized for net.netnsd.Netns1.manage-namespaces \
             (polkit refused; ask an administrator or add a polkit rule)"
        );
    }

    #[test]
    fn error_replies_on_the_wire_are_recognised() {
        let e = CliError::from(reply(
            "net.netnsd.Netns1.Error.NotFound",
            "namespace \"foo\" not found",
        ));
        assert_eq!(
            (e.exit_code(), e.message()),
            (3, "namespace \"foo\" not found")
        );

        let e = CliError::from(reply("net.netnsd.Netns1.Error.AlreadyExists", "taken"));
        assert_eq!(e.exit_code(), 4);

        let e = CliError::from(reply(
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "The name net.netnsd.Netns1 was not provided by any .service files",
        ));
        assert_eq!(e.exit_code(), 10);
        assert_eq!(
            e.message(),
            "netnsd is not running (no owner for net.netnsd.Netns1 on the system bus)"
        );

        let e = CliError::from(reply("com.example.Weird", "something odd"));
        assert_eq!(
            (e.exit_code(), e.message()),
            (1, "com.example.Weird: something odd")
        );
    }

    #[test]
    fn bus_errors_get_a_plain_description() {
        let not_running =
            "netnsd is not running (no owner for net.netnsd.Netns1 on the system bus)";
        let e = fdo(fdo::Error::ServiceUnknown("x".into()));
        assert_eq!((e.exit_code(), e.message()), (10, not_running));
        let e = fdo(fdo::Error::NameHasNoOwner("x".into()));
        assert_eq!((e.exit_code(), e.message()), (10, not_running));

        let e = fdo(fdo::Error::SpawnChildExited("exit 1".into()));
        assert_eq!(e.exit_code(), 10);
        assert!(e.message().contains("could not start it: exit 1"));

        let e = fdo(fdo::Error::AccessDenied("rejected send".into()));
        assert_eq!(e.exit_code(), 5);
        assert_eq!(
            e.message(),
            "permission denied by the system bus policy: rejected send"
        );

        let e = fdo(fdo::Error::InteractiveAuthorizationRequired(
            "auth needed".into(),
        ));
        assert_eq!(e.exit_code(), 5);
        assert!(
            e.message()
                .starts_with("permission denied: auth needed (authentication")
        );

        let e = fdo(fdo::Error::InvalidArgs("bad".into()));
        assert_eq!((e.exit_code(), e.message()), (6, "invalid argument: bad"));

        let e = fdo(fdo::Error::UnknownMethod(
            "no GetNetworkNamespaceByName".into(),
        ));
        assert_eq!(e.exit_code(), 9);
        assert!(e.message().contains("does not support"));

        let e = fdo(fdo::Error::UnknownObject("/x".into()));
        assert_eq!(e.exit_code(), 3);

        let e = fdo(fdo::Error::TimedOut("slow".into()));
        assert_eq!(e.exit_code(), 8);

        let e = fdo(fdo::Error::NoReply("gone".into()));
        assert_eq!(
            (e.exit_code(), e.message()),
            (1, "no reply from netnsd: gone")
        );
    }

    #[test]
    fn connection_failures_mean_the_bus_is_unreachable() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let addr: zbus::Address = "unix:path=/nonexistent/bus".parse().unwrap();
        let e = CliError::connect(zbus::Error::Connection(Arc::new(io), Box::new(addr)));
        assert_eq!(e.exit_code(), 10);
        assert!(
            e.message()
                .starts_with("cannot connect to the system bus at unix:path=/nonexistent/bus"),
            "{}",
            e.message()
        );

        let e = CliError::connect(zbus::Error::Address("bogus".into()));
        assert_eq!(e.exit_code(), 10);
        assert!(e.message().contains("DBUS_SYSTEM_BUS_ADDRESS"));

        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "Broken pipe");
        let e = CliError::from(zbus::Error::InputOutput(Arc::new(io)));
        assert_eq!(e.exit_code(), 10);
        assert!(
            e.message()
                .starts_with("lost the connection to the system bus")
        );
    }

    #[test]
    fn not_found_names_the_namespace() {
        let e = CliError::namespace_not_found("foo");
        assert_eq!(
            (e.exit_code(), e.message()),
            (3, "namespace \"foo\" not found")
        );
    }
}
