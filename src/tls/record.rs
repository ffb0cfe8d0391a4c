//! TLS's record in the report model: a connection's handshake, records and keys. Its
//! JSON field is `tls`, last in the connection's object (sentences.rs says where, and
//! what the record tells the reader).

use crate::model::Connection;
use serde::Serialize;

/// TLS's record read from a connection of the model.
pub trait ConnectionTls {
    /// The connection's TLS, when it carried TLS.
    fn tls(&self) -> Option<&Tls>;
}

impl ConnectionTls for Connection {
    fn tls(&self) -> Option<&Tls> {
        self.record::<Tls>()
    }
}

/// A connection's TLS (RFC 8446, RFC 5246).
#[derive(Serialize, Debug, Clone)]
pub struct Tls {
    /// The version the server chose ("TLS 1.3").
    pub version: Option<String>,
    /// From the ClientHello's frame to the client's Finished.
    pub handshake_us: Option<i64>,
    /// The frame of the first record of application data.
    pub first_data_frame: Option<u64>,
    pub client_hello: Option<crate::tls::hello::ClientHello>,
    pub server_hello: Option<crate::tls::hello::ServerHello>,
    /// TLS 1.2: the sizes of the certificates the server sent in clear.
    pub certificates: Option<Vec<usize>>,
    /// "no_key_log", "missing", "decrypted", "failed" or "unsupported".
    pub keys: crate::tls::KeysState,
    pub records: Vec<crate::tls::Record>,
    pub records_omitted: u64,
    /// Why a direction's records stopped being read.
    pub problems: Vec<String>,
}
