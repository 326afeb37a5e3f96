//! What nsctl prints on stdout: tables and key/value lines for people,
//! one-line JSON documents for scripts (`--json`). Every function returns the
//! whole text, ending in a newline. One file per topic; `format` has the
//! shapes they share.

mod connection;
mod device;
mod format;
mod namespace;
mod routing;

pub use connection::*;
pub use device::*;
pub use format::terminal_safe;
pub use namespace::*;
pub use routing::*;
