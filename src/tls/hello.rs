//! The handshake messages in course words, parsed with tls-parser: what the client
//! offered (ClientHello), what the server chose (ServerHello), the certificates where
//! the wire shows them (TLS 1.2; TLS 1.3 encrypts them, RFC 8446 §4.4.2).

use serde::Serialize;
use tls_parser::{
    TlsCipherSuite, TlsExtension, TlsMessage, TlsMessageHandshake,
    parse_tls_client_hello_extensions, parse_tls_message_handshake,
    parse_tls_server_hello_extensions,
};

/// What the client offered.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct ClientHello {
    pub frame: u64,
    /// The name it asked for (SNI, RFC 6066 §3): sent in clear.
    pub sni: Option<String>,
    /// Application protocols offered (ALPN, RFC 7301): "http/1.1", "h2".
    pub alpn: Vec<String>,
    /// Versions offered, newest first ("TLS 1.3", "TLS 1.2").
    pub versions: Vec<String>,
    /// Cipher suites offered, by their IANA names.
    pub cipher_suites: Vec<String>,
    /// Key share groups offered ("x25519", "secp256r1").
    pub groups: Vec<String>,
    #[serde(skip)]
    pub random: Vec<u8>,
}

/// What the server chose.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct ServerHello {
    pub frame: u64,
    pub version: String,
    pub cipher_suite: String,
    #[serde(skip)]
    pub suite_id: u16,
    pub alpn: Option<String>,
    #[serde(skip)]
    pub random: Vec<u8>,
    /// TLS 1.3 (its supported_versions extension says 0x0304).
    #[serde(skip)]
    pub tls13: bool,
}

/// The name of a handshake message type (RFC 8446 §4, RFC 5246 §7.4).
pub fn message_name(kind: u8) -> &'static str {
    match kind {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        5 => "EndOfEarlyData",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        22 => "CertificateStatus",
        24 => "KeyUpdate",
        _ => "handshake message",
    }
}

/// The name of a version number.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v if v & 0x0f0f == 0x0a0a => "GREASE".into(),
        v => format!("0x{v:04x}"),
    }
}

/// The IANA name of a cipher suite.
pub fn suite_name(id: u16) -> String {
    match TlsCipherSuite::from_id(id) {
        Some(s) => s.name.to_string(),
        None => format!("0x{id:04X}"),
    }
}

fn group_name(g: u16) -> String {
    match g {
        0x0017 => "secp256r1".into(),
        0x0018 => "secp384r1".into(),
        0x0019 => "secp521r1".into(),
        0x001d => "x25519".into(),
        0x001e => "x448".into(),
        0x0100 => "ffdhe2048".into(),
        0x11ec => "X25519MLKEM768".into(),
        g => format!("0x{g:04x}"),
    }
}

fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// A ClientHello message (its 4-byte header included), if it parses.
pub fn client_hello(message: &[u8], frame: u64) -> Option<ClientHello> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
        parse_tls_message_handshake(message)
    else {
        return None;
    };
    let mut out = ClientHello {
        frame,
        random: ch.random.to_vec(),
        cipher_suites: ch
            .ciphers
            .iter()
            .filter(|c| !is_grease(c.0))
            .map(|c| suite_name(c.0))
            .collect(),
        ..ClientHello::default()
    };
    let exts = ch
        .ext
        .and_then(|e| parse_tls_client_hello_extensions(e).ok())
        .map(|(_, e)| e)
        .unwrap_or_default();
    for ext in exts {
        match ext {
            TlsExtension::SNI(names) => {
                out.sni = names
                    .first()
                    .map(|(_, n)| String::from_utf8_lossy(n).into_owned());
            }
            TlsExtension::ALPN(protocols) => {
                out.alpn = protocols
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
            }
            TlsExtension::SupportedVersions(v) => {
                out.versions = v
                    .iter()
                    .filter(|v| !is_grease(v.0))
                    .map(|v| version_name(v.0))
                    .collect();
            }
            TlsExtension::KeyShare(bytes) => out.groups = key_share_groups(bytes),
            _ => {}
        }
    }
    if out.versions.is_empty() {
        out.versions.push(version_name(ch.version.0));
    }
    Some(out)
}

/// The groups of a ClientHello's key_share (RFC 8446 §4.2.8): a 2-byte length, then
/// entries of group (2), length (2), key.
fn key_share_groups(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = bytes.get(2..).unwrap_or_default();
    while rest.len() >= 4 {
        let group = u16::from_be_bytes([rest[0], rest[1]]);
        let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
        if !is_grease(group) {
            out.push(group_name(group));
        }
        rest = rest.get(4 + len..).unwrap_or_default();
    }
    out
}

/// A ServerHello message (header included), if it parses.
pub fn server_hello(message: &[u8], frame: u64) -> Option<ServerHello> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
        parse_tls_message_handshake(message)
    else {
        return None;
    };
    let mut out = ServerHello {
        frame,
        version: version_name(sh.version.0),
        cipher_suite: suite_name(sh.cipher.0),
        suite_id: sh.cipher.0,
        random: sh.random.to_vec(),
        ..ServerHello::default()
    };
    let exts = sh
        .ext
        .and_then(|e| parse_tls_server_hello_extensions(e).ok())
        .map(|(_, e)| e)
        .unwrap_or_default();
    for ext in exts {
        match ext {
            TlsExtension::SupportedVersions(v) if v.len() == 1 => {
                out.version = version_name(v[0].0);
                out.tls13 = v[0].0 == 0x0304;
            }
            TlsExtension::ALPN(p) => {
                out.alpn = p.first().map(|p| String::from_utf8_lossy(p).into_owned());
            }
            _ => {}
        }
    }
    Some(out)
}

/// The sizes of the certificates of a TLS 1.2 Certificate message (header included).
pub fn certificate_sizes(message: &[u8]) -> Option<Vec<usize>> {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) =
        parse_tls_message_handshake(message)
    else {
        return None;
    };
    Some(c.cert_chain.iter().map(|c| c.data.len()).collect())
}
