//! The bus edge: one module per interface. A method validates its arguments,
//! asks polkit, then hands the work to the manager. No netlink, file or
//! process work happens here. `publish` turns the manager's changes into
//! objects and signals: it is the only code that exports or emits.

pub mod active;
pub mod agent_secrets;
pub mod agents;
pub mod auth;
pub mod controller;
pub mod destination;
pub mod device;
pub mod instance;
pub mod objects;
pub mod options;
pub mod permissions;
pub mod private;
pub mod publish;
pub mod settings;
