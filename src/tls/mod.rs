//! Stage 5, a protocol: TLS above TCP (RFC 8446 TLS 1.3, RFC 5246 TLS 1.2), known by its
//! first bytes (a handshake record), not by its port. Knows nothing of packets: it reads
//! the two reassembled streams as HTTP does, frames the records with the frames that
//! carried them, names the handshake messages (tls-parser), and, given a session's
//! secrets from a key log, opens the records and hands their plaintext on as a stream of
//! its own, for HTTP to read as it reads TCP's.

pub mod connection;
pub mod glossary;
pub mod hello;
pub mod keys;
pub mod on_tcp;
pub mod record;
pub mod sentences;

pub use crate::keylog::KeyLog;
pub use connection::{KeysState, Plain, Record, TlsConnection, starts_tls};
pub use record::ConnectionTls;
