//! Connection profiles as nsctl reads, shows and changes them: NetworkManager's
//! `a{sa{sv}}` dictionaries (setting → key → value), turned into
//! `setting.key = value` lines and JSON, built for AddConnection, and changed
//! key by key for Update.
//!
//! The daemon checks every key and value and is the authority; nsctl only
//! puts them together.
//!
//! `settings` is the dictionary and its typed keys, `show` what `connection
//! list` and `connection show` print, `build` what `connection add`,
//! `import` and `modify` send.

mod build;
mod settings;
mod show;

pub use build::*;
pub use settings::{Settings, get_str, owned};
pub use show::*;
