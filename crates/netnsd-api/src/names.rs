//! Re-exports of the bus-name constants under one module, for `use netnsd_api::names::*`.
pub use crate::{
    BUS_NAME, CONTROLLER_INTERFACE, CONTROLLER_PATH, DEVICE_INTERFACE, DEVICE_PATH_PREFIX,
    INSTANCE_INTERFACE, NAMESPACE_PATH_PREFIX, NETNS_ETC_DIR, NETNS_RUN_DIR, ROOT_NS_NAME,
    ROOT_PATH,
};
