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
    /// NetworkManager's NM_ACTIVE_CONNECTION_STATE_REASON_DEPENDENCY_FAILED:
    /// the namespace the connection runs from (or is isolated in) went away.
    pub const DEPENDENCY_FAILED: u32 = 12;

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
            DEPENDENCY_FAILED => "dependency-failed",
            _ => "unknown",
        }
    }
}

/// NMDeviceState, the numbers of NetworkManager's `Device.State` (u), as
/// netnsd derives them from what the kernel says of a device
/// (docs/bus-api.md, Device).
pub mod device {
    pub const UNKNOWN: u32 = 0;
    pub const UNMANAGED: u32 = 10;
    pub const UNAVAILABLE: u32 = 20;
    pub const DISCONNECTED: u32 = 30;
    pub const PREPARE: u32 = 40;
    pub const CONFIG: u32 = 50;
    pub const NEED_AUTH: u32 = 60;
    pub const IP_CONFIG: u32 = 70;
    pub const IP_CHECK: u32 = 80;
    pub const SECONDARIES: u32 = 90;
    pub const ACTIVATED: u32 = 100;
    pub const DEACTIVATING: u32 = 110;
    pub const FAILED: u32 = 120;

    /// The name nmcli gives the state (`connected` for activated).
    pub fn name(s: u32) -> &'static str {
        match s {
            UNMANAGED => "unmanaged",
            UNAVAILABLE => "unavailable",
            DISCONNECTED => "disconnected",
            PREPARE => "prepare",
            CONFIG => "config",
            NEED_AUTH => "need-auth",
            IP_CONFIG => "ip-config",
            IP_CHECK => "ip-check",
            SECONDARIES => "secondaries",
            ACTIVATED => "connected",
            DEACTIVATING => "deactivating",
            FAILED => "failed",
            _ => "unknown",
        }
    }

    /// What the kernel says of a device, that its state is derived from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Facts<'a> {
        /// The operational state as `ip link` names it (`up`, `down`, ...).
        pub operstate: &'a str,
        /// Administratively up (IFF_UP).
        pub up: bool,
        pub loopback: bool,
        /// It has an address that is not an IPv6 link-local one, or is a
        /// port of a bridge (configured by its bridge).
        pub configured: bool,
    }

    /// The NMDeviceState of a device, read as NetworkManager reads a device
    /// it finds configured by someone else ("connected (externally)"):
    ///
    /// | the device | state |
    /// |---|---|
    /// | loopback | unmanaged (10), as NetworkManager's `lo` |
    /// | administratively down | disconnected (30) |
    /// | up, no carrier (operstate `down`, `lowerlayerdown`, `notpresent`) | unavailable (20) |
    /// | up, operstate `dormant` or `testing` | config (50) |
    /// | up, carrier (`up`, or `unknown` as tun and dummy report), an address other than IPv6 link-local, or a bridge's port | activated (100) |
    /// | the same without such an address | disconnected (30) |
    pub fn derive(f: Facts<'_>) -> u32 {
        if f.loopback {
            return UNMANAGED;
        }
        if !f.up {
            return DISCONNECTED;
        }
        match f.operstate {
            "down" | "lowerlayerdown" | "notpresent" => UNAVAILABLE,
            "dormant" | "testing" => CONFIG,
            _ if f.configured => ACTIVATED,
            _ => DISCONNECTED,
        }
    }

    /// Whether an address (CIDR form) makes a device configured: anything
    /// but an IPv6 link-local address (fe80::/10), which the kernel gives
    /// every IPv6 device by itself.
    pub fn configures(cidr: &str) -> bool {
        let addr = cidr.split('/').next().unwrap_or(cidr);
        match addr.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(a)) => (a.segments()[0] & 0xffc0) != 0xfe80,
            Ok(std::net::IpAddr::V4(_)) => true,
            Err(_) => false,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn facts(operstate: &str, up: bool, configured: bool) -> Facts<'_> {
            Facts {
                operstate,
                up,
                loopback: false,
                configured,
            }
        }

        #[test]
        fn the_state_follows_the_kernel_as_networkmanager_reads_it() {
            assert_eq!(derive(facts("up", true, true)), ACTIVATED);
            assert_eq!(derive(facts("unknown", true, true)), ACTIVATED);
            assert_eq!(derive(facts("up", true, false)), DISCONNECTED);
            assert_eq!(derive(facts("down", true, true)), UNAVAILABLE);
            assert_eq!(derive(facts("lowerlayerdown", true, true)), UNAVAILABLE);
            assert_eq!(derive(facts("dormant", true, true)), CONFIG);
            assert_eq!(derive(facts("down", false, true)), DISCONNECTED);
            let lo = Facts {
                loopback: true,
                ..facts("unknown", true, true)
            };
            assert_eq!(derive(lo), UNMANAGED);
            assert_eq!(name(ACTIVATED), "connected");
            assert_eq!(name(7), "unknown");
        }

        #[test]
        fn only_ipv6_link_local_addresses_leave_a_device_unconfigured() {
            assert!(configures("10.0.0.1/24"));
            assert!(configures("2001:db8::1/64"));
            assert!(configures("fd00::1/64"));
            assert!(!configures("fe80::1/64"));
            assert!(!configures("febf::1/64"));
            assert!(configures("fec0::1/10"));
            assert!(!configures("bogus"));
        }
    }
}
