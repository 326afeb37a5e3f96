//! [`Shared`]: a table one part of the manager's state writes and the bus
//! layer reads (through the registry). No lock is held across an await.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

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
