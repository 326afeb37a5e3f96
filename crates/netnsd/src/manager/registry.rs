//! What the bus layer reads without a round trip to the manager. Each part
//! of the manager's state keeps what the bus shows in a [`Shared`] table
//! that only that part writes; [`Registry`] gathers the tables for readers.
//! No lock is held across an await.

use std::collections::BTreeMap;

pub use super::state::Shared;
use super::state::{ActiveTable, DeviceTable, NsTable, ProfileTable};
use crate::dns::Dns;
use crate::record::UplinkRecord;

/// The manager's tables, as the bus layer reads them.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub namespaces: Shared<NsTable>,
    pub devices: Shared<DeviceTable>,
    /// Uplinks, by namespace number.
    pub uplinks: Shared<BTreeMap<u32, UplinkRecord>>,
    /// DNS settings written to /etc/netns, by namespace number.
    pub dns: Shared<BTreeMap<u32, Dns>>,
    pub profiles: Shared<ProfileTable>,
    pub actives: Shared<ActiveTable>,
    /// Split DNS (domain → servers) of namespaces with a forwarder.
    pub split_dns: Shared<BTreeMap<u32, super::state::SplitDns>>,
}
