//! The errors netnsd puts on the wire, `net.netnsd.Netns1.Error.<Name>`.
//!
//! The same enum is what the proxies return, so a client can tell a missing
//! namespace from a refused one without parsing strings.

/// Prefix of every error name.
pub const ERROR_PREFIX: &str = "net.netnsd.Netns1.Error";

#[derive(zbus::DBusError, Debug)]
#[zbus(prefix = "net.netnsd.Netns1.Error")]
pub enum Error {
    /// A transport or protocol error that is not one of netnsd's own.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// An argument is malformed; the message names the argument and the problem.
    InvalidArgument(String),
    /// The object to create already exists.
    AlreadyExists(String),
    /// No such namespace (or other object).
    NotFound(String),
    /// polkit refused the caller, or the operation is never allowed.
    PermissionDenied(String),
    /// The object is in use.
    Busy(String),
    /// A wait ran past its deadline.
    Timeout(String),
    /// The kernel or this build lacks what the operation needs.
    NotSupported(String),
    /// The device path names no device.
    UnknownDevice(String),
    /// The device is already in the target namespace.
    DeviceAlreadyInTargetNetns(String),
    /// The operation failed on the host; the message says which step.
    Failed(String),
    // The prototype's (NMNetnsError) names, used where they apply:
    /// A namespace named as the target of an operation does not exist.
    TargetNetnsNotFound(String),
    /// The connection path names no connection profile.
    UnknownConnection(String),
    /// The profile cannot be activated here and now.
    ConnectionNotAvailable(String),
    /// The active connection path names no active connection.
    ConnectionNotActive(String),
    /// The profile is already active.
    ConnectionAlreadyActive(String),
    /// What the activation depends on (its uplink namespace) went away.
    DependencyFailed(String),
}

impl Error {
    /// The short name after the prefix (`NotFound`), or the full foreign
    /// error name for transport errors.
    pub fn short_name(&self) -> String {
        use zbus::DBusError;
        let name = self.name().to_string();
        name.strip_prefix(ERROR_PREFIX)
            .and_then(|s| s.strip_prefix('.'))
            .map(str::to_owned)
            .unwrap_or(name)
    }

    /// The human-readable description carried by the error.
    pub fn message(&self) -> String {
        match self {
            Error::ZBus(zbus::Error::MethodError(_, Some(desc), _)) => desc.clone(),
            Error::ZBus(e) => e.to_string(),
            Error::InvalidArgument(m)
            | Error::AlreadyExists(m)
            | Error::NotFound(m)
            | Error::PermissionDenied(m)
            | Error::Busy(m)
            | Error::Timeout(m)
            | Error::NotSupported(m)
            | Error::UnknownDevice(m)
            | Error::DeviceAlreadyInTargetNetns(m)
            | Error::Failed(m)
            | Error::TargetNetnsNotFound(m)
            | Error::UnknownConnection(m)
            | Error::ConnectionNotAvailable(m)
            | Error::ConnectionNotActive(m)
            | Error::ConnectionAlreadyActive(m)
            | Error::DependencyFailed(m) => m.clone(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
