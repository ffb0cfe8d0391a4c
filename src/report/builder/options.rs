//! What a report is asked for: its focus, its outputs, and its bounds.

use crate::limits::Limits;

/// Focus and outputs of a report, and its bounds.
#[derive(Clone, Debug)]
pub struct Options {
    pub limits: Limits,
    /// Report only this connection (its segments in full).
    pub only_connection: Option<u64>,
    /// A connection idle this long (capture time) is closed as "timeout".
    pub idle_timeout_us: i64,
    /// Keep each kept segment's header bytes in hex (`-x`).
    pub header_hex: bool,
    /// Hash each listed connection's two streams (`--stream-hash`): one more SHA-256
    /// pass over every byte that carries a body, whose own hash is always computed.
    pub stream_hash: bool,
    /// Body bytes kept per message beyond the 512-byte preview, for HAR's content
    /// (`--format har`); 0 keeps the preview only.
    pub keep_body_bytes: usize,
    /// Save every response body under this directory (`--extract DIR`); `true`
    /// allows replacing existing files (`--force`).
    pub extract: Option<(std::path::PathBuf, bool)>,
    /// TLS secrets to open records with (`--keylog`, the capture's own, the lab's).
    pub key_log: Option<std::sync::Arc<crate::keylog::KeyLog>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            only_connection: None,
            idle_timeout_us: 600 * 1_000_000,
            header_hex: false,
            stream_hash: false,
            keep_body_bytes: 0,
            extract: None,
            key_log: None,
        }
    }
}
