//! NetworkManager's numbers for connection and VPN states and reasons, which
//! netnsd keeps so NetworkManager clients read them the same way.

/// NMActiveConnectionState.
pub mod active {
    pub const UNKNOWN: u32 = 0;
    pub const ACTIVATING: u32 = 1;
    pub const ACTIVATED: u32 = 2;
    pub const DEACTIVATING: u32 = 3;
    pub const DEACTIVATED: u32 = 4;

    pub fn name(s: u32) -> &'static str {
        match s {
            ACTIVATING => "activating",
            ACTIVATED => "activated",
            DEACTIVATING => "deactivating",
            DEACTIVATED => "deactivated",
            _ => "unknown",
        }
    }
}

/// NMVpnConnectionState.
pub mod vpn {
    pub const UNKNOWN: u32 = 0;
    pub const PREPARE: u32 = 1;
    pub const NEED_AUTH: u32 = 2;
    pub const CONNECT: u32 = 3;
    pub const IP_CONFIG_GET: u32 = 4;
    pub const ACTIVATED: u32 = 5;
    pub const FAILED: u32 = 6;
    pub const DISCONNECTED: u32 = 7;

    pub fn name(s: u32) -> &'static str {
        match s {
            PREPARE => "prepare",
            NEED_AUTH => "need-auth",
            CONNECT => "connect",
            IP_CONFIG_GET => "ip-config-get",
            ACTIVATED => "activated",
            FAILED => "failed",
            DISCONNECTED => "disconnected",
            _ => "unknown",
        }
    }
}

/// NMActiveConnectionStateReason / NMVpnConnectionStateReason (the VPN
/// reasons share these numbers).
pub mod reason {
    pub const UNKNOWN: u32 = 0;
    pub const NONE: u32 = 1;
    pub const USER_DISCONNECTED: u32 = 2;
    pub const DEVICE_DISCONNECTED: u32 = 3;
    pub const SERVICE_STOPPED: u32 = 4;
    pub const IP_CONFIG_INVALID: u32 = 5;
    pub const CONNECT_TIMEOUT: u32 = 6;
    pub const SERVICE_START_TIMEOUT: u32 = 7;
    pub const SERVICE_START_FAILED: u32 = 8;
    pub const NO_SECRETS: u32 = 9;
    pub const LOGIN_FAILED: u32 = 10;
    pub const CONNECTION_REMOVED: u32 = 11;

    pub fn name(r: u32) -> &'static str {
        match r {
            NONE => "none",
            USER_DISCONNECTED => "user-disconnected",
            DEVICE_DISCONNECTED => "device-disconnected",
            SERVICE_STOPPED => "service-stopped",
            IP_CONFIG_INVALID => "ip-config-invalid",
            CONNECT_TIMEOUT => "connect-timeout",
            SERVICE_START_TIMEOUT => "service-start-timeout",
            SERVICE_START_FAILED => "service-start-failed",
            NO_SECRETS => "no-secrets",
            LOGIN_FAILED => "login-failed",
            CONNECTION_REMOVED => "connection-removed",
            _ => "unknown",
        }
    }
}
