//! The manager's state, in parts. Each type owns its fields and changes
//! them only through its transitions, which return the [`Change`]s to
//! publish (and, where the manager has more to do, what). Nothing here
//! touches the kernel, files or the bus: the unit tests drive the parts
//! directly, input to resulting state and changes.
//!
//! [`Change`]: super::Change

mod actives;
mod devices;
mod dns;
mod forwarders;
mod forwards;
mod namespaces;
mod processes;
mod profiles;
mod shared;
mod uplinks;

pub use actives::{ActiveInfo, ActiveTable, Actives};
pub use devices::{Device, DeviceTable, Devices, Gone, Listed, Seen, Waiter};
pub use dns::{DnsFiles, VpnDns};
pub use forwarders::{Forwarder, Forwarders, LISTEN, SplitDns};
pub use forwards::Forwards;
pub use namespaces::{Namespace, Namespaces, NsTable};
pub use processes::Processes;
pub use profiles::{ProfileTable, Profiles};
pub use shared::Shared;
pub use uplinks::{NatQueued, Uplinks};
