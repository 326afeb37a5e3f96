//! polkit action ids. They match `polkit/net.netnsd.Netns1.policy` one for one
//! (a unit test in the daemon checks that).

pub const MANAGE_NAMESPACES: &str = "net.netnsd.Netns1.manage-namespaces";
pub const TAKE_DEVICE: &str = "net.netnsd.Netns1.take-device";
pub const CONFIGURE: &str = "net.netnsd.Netns1.configure";
/// `configure` for the host's own namespace (rootns), and any change that
/// makes or moves a link there: administrators only.
pub const CONFIGURE_HOST: &str = "net.netnsd.Netns1.configure-host";
pub const MODIFY_SETTINGS: &str = "net.netnsd.Netns1.modify-settings";
pub const ACTIVATE_CONNECTION: &str = "net.netnsd.Netns1.activate-connection";
pub const SPAWN: &str = "net.netnsd.Netns1.spawn";
pub const READ_SECRETS: &str = "net.netnsd.Netns1.read-secrets";

/// Every action, in the order of the .policy file.
pub const ALL: &[&str] = &[
    MANAGE_NAMESPACES,
    TAKE_DEVICE,
    CONFIGURE,
    CONFIGURE_HOST,
    MODIFY_SETTINGS,
    ACTIVATE_CONNECTION,
    SPAWN,
    READ_SECRETS,
];
