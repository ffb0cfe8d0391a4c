//! Stage 8: the live lab: the built-in course server, the course client with its recv
//! log, and the sessions that capture beside them.

pub mod client;
pub mod content;
pub mod server;
