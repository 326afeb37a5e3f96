//! What the bus layer reads without a round trip to the manager. Each part
//! of the manager's state keeps what the bus shows in a [`Shared`] table
//! that only that part writes; [`Registry`] gathers the tables for readers.
//! No lock is held across an await.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::state::{ActiveTable, DeviceTable, NsTable, ProfileTable};
use crate::dns::Dns;
use crate::record::UplinkRecord;

/// A table one part of the manager writes and the bus layer reads.
#[derive(Debug)]
pub struct Shared<T>(Arc<RwLock<T>>);

impl<T> Shared<T> {
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap()
    }

    pub(in crate::manager) fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap()
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T: Default> Default for Shared<T> {
    fn default() -> Self {
        Shared(Arc::default())
    }
}

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
}
