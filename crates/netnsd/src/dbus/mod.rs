//! The bus edge: one module per interface. A method validates its arguments,
//! asks polkit, then hands the work to the manager. No netlink, file or
//! process work happens here.

pub mod active;
pub mod auth;
pub mod controller;
pub mod device;
pub mod instance;
pub mod options;
pub mod settings;
