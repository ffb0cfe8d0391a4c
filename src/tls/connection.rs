//! One TLS connection read from its two TCP streams: records framed (RFC 8446 §5.1:
//! type, version, 2-byte length) with the frames that carried each, the handshake
//! messages they hold, and, given the session's secrets, the plaintext of each record,
//! handed on as a stream of its own (the HTTP inside reads it as it reads TCP's).

use super::hello::{self, ClientHello, ServerHello};
use super::keys::{self, RecordKeys};
use crate::keylog::{KeyLog, Secrets};
use crate::reassembly::{CloseReason, FrameNo, StreamEvent};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;

/// Records listed per connection; later ones are counted.
pub const MAX_RECORDS: usize = 2_000;
/// The largest record TLS allows: 2^14 bytes of plaintext plus 2,048 of expansion
/// (RFC 5246 §6.2.3; TLS 1.3 allows 256, RFC 8446 §5.2).
pub const MAX_RECORD: usize = 16_384 + 2_048;
/// Handshake bytes buffered per direction while a message is incomplete.
const MAX_HANDSHAKE_MESSAGE: usize = 256 * 1024;

/// One record as the wire shows it, and what it held once opened.
#[derive(Serialize, Clone, Debug)]
pub struct Record {
    /// "c2s" or "s2c".
    pub dir: &'static str,
    /// Where its 5-byte header starts in its direction's TCP stream.
    pub stream_offset: u64,
    /// "handshake", "change_cipher_spec", "alert", "application_data".
    pub content_type: &'static str,
    /// The version its header says (TLS 1.3 says TLS 1.2 there, RFC 8446 §5.1).
    pub version: String,
    /// Its length after the header.
    pub len: usize,
    /// The frames that carried its bytes, in order.
    pub frames: Vec<u64>,
    /// The handshake messages it completed (in clear, or once decrypted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<&'static str>,
    /// Once decrypted: the real content type and the plaintext's length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decrypted: Option<Decrypted>,
}

#[derive(Serialize, Clone, Debug)]
pub struct Decrypted {
    pub content_type: &'static str,
    pub len: usize,
    /// Where its plaintext starts in the decrypted stream (application data only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain_offset: Option<u64>,
}

/// Whether the records could be opened.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum KeysState {
    /// No key log was given (or it was empty).
    NoKeyLog,
    /// The key log has no secrets for this session.
    Missing,
    /// Found, and the records opened.
    Decrypted,
    /// Found, but a record did not open with them (wrong or partial secrets).
    Failed,
    /// The suite chosen is not one wirelab decrypts.
    Unsupported,
}

/// What the plaintext stream of one direction receives.
pub enum Plain {
    Data {
        client: bool,
        offset: u64,
        bytes: Vec<u8>,
        frame: FrameNo,
    },
    Closed {
        client: bool,
        offset: u64,
        reason: CloseReason,
    },
}

#[derive(Clone, Copy, PartialEq)]
enum Epoch {
    /// Records in clear (before ServerHello, or TLS 1.2 before ChangeCipherSpec).
    Clear,
    /// Encrypted with the handshake secrets (TLS 1.3) or the key block (TLS 1.2).
    Handshake,
    /// TLS 1.3 after this side's Finished.
    Application,
}

#[derive(Default)]
struct Side {
    /// Bytes of the record under way, from stream offset `start`.
    pending: Vec<u8>,
    start: u64,
    /// The frames of the bytes not yet framed: (first offset, end offset, frame).
    pieces: VecDeque<(u64, u64, FrameNo)>,
    /// Handshake bytes of a message under way.
    handshake: Vec<u8>,
    keys: Option<RecordKeys>,
    epoch: Option<Epoch>,
    plain_offset: u64,
    /// Why this direction is no longer read.
    stopped: Option<String>,
}

/// One connection's TLS.
pub struct TlsConnection {
    sides: [Side; 2],
    pub client_hello: Option<ClientHello>,
    pub server_hello: Option<ServerHello>,
    /// TLS 1.2: the certificate sizes of the Certificate message, in clear.
    pub certificates: Option<Vec<usize>>,
    pub records: Vec<Record>,
    pub records_omitted: u64,
    /// The frame of each side's Finished: [client, server].
    pub finished: [Option<u64>; 2],
    /// The frame of the first record of application data.
    pub first_data_frame: Option<u64>,
    key_log: Option<Arc<KeyLog>>,
    secrets: Option<Option<Secrets>>,
    pub keys: KeysState,
    /// Why a direction stopped being read, for the report.
    pub problems: Vec<String>,
}

/// The name of a record's content type (RFC 8446 §5.1).
pub fn content_type_name(t: u8) -> &'static str {
    match t {
        20 => "change_cipher_spec",
        21 => "alert",
        22 => "handshake",
        23 => "application_data",
        24 => "heartbeat",
        _ => "unknown",
    }
}

/// An alert's name (RFC 8446 §6): its description byte, after the level.
pub fn alert_name(body: &[u8]) -> &'static str {
    match body.get(1) {
        Some(0) => "close_notify",
        Some(10) => "unexpected_message alert",
        Some(20) => "bad_record_mac alert",
        Some(40) => "handshake_failure alert",
        Some(42) => "bad_certificate alert",
        Some(46) => "certificate_unknown alert",
        Some(48) => "unknown_ca alert",
        Some(50) => "decode_error alert",
        Some(70) => "protocol_version alert",
        Some(80) => "internal_error alert",
        Some(112) => "unrecognized_name alert",
        Some(120) => "no_application_protocol alert",
        _ => "alert",
    }
}

/// Whether a stream starting with `bytes` is TLS: a handshake record of version 3.x
/// (tshark's heuristic: the port does not matter).
pub fn starts_tls(bytes: &[u8]) -> bool {
    bytes.first() == Some(&22) && bytes.get(1).is_none_or(|&b| b == 3)
}

impl TlsConnection {
    pub fn new(key_log: Option<Arc<KeyLog>>) -> TlsConnection {
        TlsConnection {
            sides: Default::default(),
            client_hello: None,
            server_hello: None,
            certificates: None,
            records: Vec::new(),
            records_omitted: 0,
            finished: [None; 2],
            first_data_frame: None,
            keys: KeysState::NoKeyLog,
            key_log,
            secrets: None,
            problems: Vec::new(),
        }
    }

    /// Whether the version chosen is TLS 1.3.
    pub fn tls13(&self) -> bool {
        self.server_hello.as_ref().is_some_and(|s| s.tls13)
    }

    /// One event of the client's stream (`client`) or the server's; the plaintext it
    /// frees goes to `out`.
    pub fn event(&mut self, client: bool, ev: &StreamEvent<'_>, out: &mut Vec<Plain>) {
        let i = usize::from(!client);
        if self.sides[i].stopped.is_some() {
            if let StreamEvent::Closed { reason, .. } = ev {
                out.push(Plain::Closed {
                    client,
                    offset: self.sides[i].plain_offset,
                    reason: *reason,
                });
            }
            return;
        }
        match *ev {
            StreamEvent::Data {
                offset,
                bytes,
                frame,
            } => {
                let side = &mut self.sides[i];
                side.pieces
                    .push_back((offset, offset + bytes.len() as u64, frame));
                let mut rest = bytes;
                let mut at = offset;
                while !rest.is_empty() {
                    let side = &mut self.sides[i];
                    if side.pending.is_empty() {
                        side.start = at;
                    }
                    let need = if side.pending.len() < 5 {
                        5 - side.pending.len()
                    } else {
                        5 + u16::from_be_bytes([side.pending[3], side.pending[4]]) as usize
                            - side.pending.len()
                    };
                    let take = need.min(rest.len());
                    side.pending.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    at += take as u64;
                    if side.pending.len() == 5 {
                        let len = u16::from_be_bytes([side.pending[3], side.pending[4]]) as usize;
                        let kind = side.pending[0];
                        let whose = if client { "client's" } else { "server's" };
                        let why = if !(20..=24).contains(&kind) || side.pending[1] != 3 {
                            Some(format!(
                                "byte {} of the {whose} stream does not start a TLS record",
                                side.start
                            ))
                        } else if len > MAX_RECORD {
                            Some(format!(
                                "byte {} of the {whose} stream does not start a TLS record: \
a length of {len} bytes, more than TLS allows ({MAX_RECORD})",
                                side.start
                            ))
                        } else {
                            None
                        };
                        if let Some(why) = why {
                            self.stop(i, why);
                            return;
                        }
                        if len > 0 {
                            continue;
                        }
                    }
                    let side = &self.sides[i];
                    if side.pending.len() >= 5
                        && side.pending.len()
                            == 5 + u16::from_be_bytes([side.pending[3], side.pending[4]]) as usize
                    {
                        self.record(client, out);
                        if self.sides[i].stopped.is_some() {
                            return;
                        }
                    }
                }
            }
            StreamEvent::Gap { offset, len } => {
                let why = format!(
                    "the capture lost {len} bytes of the {} stream at byte {offset}: \
                     the records after them cannot be framed",
                    if client { "client's" } else { "server's" }
                );
                self.stop(i, why);
            }
            StreamEvent::Closed { reason, .. } => {
                let side = &self.sides[i];
                if !side.pending.is_empty() {
                    let why = format!(
                        "the {} stream ended inside a record ({} of its bytes)",
                        if client { "client's" } else { "server's" },
                        side.pending.len()
                    );
                    self.problems.push(why);
                }
                out.push(Plain::Closed {
                    client,
                    offset: self.sides[i].plain_offset,
                    reason,
                });
            }
        }
    }

    fn stop(&mut self, i: usize, why: String) {
        if self.sides[i].stopped.is_none() {
            self.problems.push(why.clone());
            self.sides[i].stopped = Some(why);
            self.sides[i].pending = Vec::new();
            self.sides[i].pieces.clear();
        }
    }

    /// The record in `pending` is whole: frame it, open it, hand on its plaintext.
    fn record(&mut self, client: bool, out: &mut Vec<Plain>) {
        let i = usize::from(!client);
        let side = &mut self.sides[i];
        let bytes = std::mem::take(&mut side.pending);
        let start = side.start;
        let end = start + bytes.len() as u64;
        let frames: Vec<u64> = side
            .pieces
            .iter()
            .filter(|(s, e, _)| *s < end && *e > start)
            .map(|p| p.2)
            .collect();
        while side.pieces.front().is_some_and(|p| p.1 <= end) {
            side.pieces.pop_front();
        }
        let last_frame = frames.last().copied().unwrap_or_default();
        let header: [u8; 5] = bytes[..5].try_into().expect("a whole header");
        let body = &bytes[5..];
        let mut rec = Record {
            dir: if client { "c2s" } else { "s2c" },
            stream_offset: start,
            content_type: content_type_name(header[0]),
            version: hello::version_name(u16::from_be_bytes([header[1], header[2]])),
            len: body.len(),
            frames,
            messages: Vec::new(),
            decrypted: None,
        };
        let epoch = *self.sides[i].epoch.get_or_insert(Epoch::Clear);
        match (header[0], epoch) {
            (20, _) => {
                // TLS 1.2: from here this side's records are encrypted (RFC 5246
                // §7.1). TLS 1.3 sends one only for middleboxes (RFC 8446 §D.4).
                if !self.tls13() {
                    self.sides[i].epoch = Some(Epoch::Handshake);
                    self.sides[i].keys = None;
                    self.install_tls12_keys(i);
                }
            }
            (22 | 21, Epoch::Clear) => {
                if header[0] == 22 {
                    self.handshake(client, body, last_frame, &mut rec);
                } else {
                    rec.messages.push(alert_name(body));
                }
                if !client && self.tls13() {
                    // After a TLS 1.3 ServerHello both sides encrypt (RFC 8446 §2).
                    for s in &mut self.sides {
                        if s.epoch.is_none_or(|e| e == Epoch::Clear) {
                            s.epoch = Some(Epoch::Handshake);
                        }
                    }
                }
            }
            (23, Epoch::Clear) if !self.tls13() => {
                rec.messages.push("application data in clear?");
            }
            _ => self.open(client, &header, body, last_frame, &mut rec, out),
        }
        if self.records.len() < MAX_RECORDS {
            self.records.push(rec);
        } else {
            self.records_omitted += 1;
        }
    }

    fn secrets(&mut self) -> Option<Secrets> {
        if self.secrets.is_none() {
            let random = self.client_hello.as_ref().map(|c| c.random.clone());
            let found = match (&self.key_log, random) {
                (Some(log), Some(r)) => log.get(&r),
                _ => None,
            };
            if found.is_none() && self.key_log.as_ref().is_some_and(|l| l.sessions() > 0) {
                self.keys = KeysState::Missing;
            }
            self.secrets = Some(found);
        }
        self.secrets.clone().flatten()
    }

    /// The suite the server chose, if wirelab decrypts it (else the state says so).
    fn chosen_suite(&mut self) -> Option<(ServerHello, keys::Suite)> {
        let sh = self.server_hello.clone()?;
        match keys::suite(sh.suite_id) {
            Some(suite) => Some((sh, suite)),
            None => {
                self.keys = KeysState::Unsupported;
                None
            }
        }
    }

    /// TLS 1.2: side `i`'s keys from the master secret, after its ChangeCipherSpec.
    fn install_tls12_keys(&mut self, i: usize) {
        let Some((sh, suite)) = self.chosen_suite() else {
            return;
        };
        let Some(master) = self.secrets().and_then(|s| s.master) else {
            return;
        };
        let client_random = self.client_hello.as_ref().map(|c| c.random.clone());
        if let Some((c, s)) =
            client_random.and_then(|cr| RecordKeys::tls12(suite, &master, &cr, &sh.random))
        {
            self.sides[i].keys = Some(if i == 0 { c } else { s });
        }
    }

    /// TLS 1.3: side `i`'s keys for its epoch (handshake, then application).
    fn install_tls13_keys(&mut self, i: usize) {
        let Some((_, suite)) = self.chosen_suite() else {
            return;
        };
        let Some(s) = self.secrets() else { return };
        let secret = match (i, self.sides[i].epoch) {
            (0, Some(Epoch::Handshake)) => s.client_handshake,
            (1, Some(Epoch::Handshake)) => s.server_handshake,
            (0, _) => s.client_traffic,
            _ => s.server_traffic,
        };
        self.sides[i].keys = secret.and_then(|secret| RecordKeys::tls13(suite, &secret));
    }

    /// An encrypted record: opened with this side's keys, if they are known.
    fn open(
        &mut self,
        client: bool,
        header: &[u8; 5],
        body: &[u8],
        frame: FrameNo,
        rec: &mut Record,
        out: &mut Vec<Plain>,
    ) {
        let i = usize::from(!client);
        if self.sides[i].keys.is_none() && self.tls13() {
            self.install_tls13_keys(i);
        }
        let Some(keys) = self.sides[i].keys.as_mut() else {
            if header[0] == 23 && self.first_data_frame.is_none() && self.finished[i].is_some() {
                self.first_data_frame = Some(frame);
            }
            return;
        };
        let mut opened = keys.open(header, body);
        if opened.is_none() && self.tls13() && self.sides[i].epoch == Some(Epoch::Handshake) {
            // The Finished was not seen: try the application keys.
            self.sides[i].epoch = Some(Epoch::Application);
            self.install_tls13_keys(i);
            opened = self.sides[i]
                .keys
                .as_mut()
                .and_then(|k| k.open(header, body));
        }
        let Some(opened) = opened else {
            self.keys = KeysState::Failed;
            let why = format!(
                "a record of the {} at byte {} does not open with the key log's secrets",
                if client { "client" } else { "server" },
                rec.stream_offset
            );
            self.stop(i, why);
            return;
        };
        if self.keys != KeysState::Failed {
            self.keys = KeysState::Decrypted;
        }
        let kind = content_type_name(opened.content_type);
        let mut decrypted = Decrypted {
            content_type: kind,
            len: opened.plaintext.len(),
            plain_offset: None,
        };
        match opened.content_type {
            21 => rec.messages.push(alert_name(&opened.plaintext)),
            22 => self.handshake(client, &opened.plaintext, frame, rec),
            23 => {
                if self.first_data_frame.is_none() {
                    self.first_data_frame = Some(frame);
                }
                let side = &mut self.sides[i];
                decrypted.plain_offset = Some(side.plain_offset);
                let len = opened.plaintext.len() as u64;
                out.push(Plain::Data {
                    client,
                    offset: side.plain_offset,
                    bytes: opened.plaintext,
                    frame,
                });
                side.plain_offset += len;
            }
            _ => {}
        }
        rec.decrypted = Some(decrypted);
    }

    /// Handshake bytes (in clear, or decrypted): whole messages are named and read.
    fn handshake(&mut self, client: bool, bytes: &[u8], frame: FrameNo, rec: &mut Record) {
        let i = usize::from(!client);
        self.sides[i].handshake.extend_from_slice(bytes);
        loop {
            let buf = &self.sides[i].handshake;
            if buf.len() < 4 {
                break;
            }
            let len = u32::from_be_bytes([0, buf[1], buf[2], buf[3]]) as usize;
            if len > MAX_HANDSHAKE_MESSAGE {
                self.sides[i].handshake.clear();
                self.problems.push(format!(
                    "a handshake message of {len} bytes: more than wirelab reads"
                ));
                break;
            }
            if buf.len() < 4 + len {
                break;
            }
            let message: Vec<u8> = self.sides[i].handshake.drain(..4 + len).collect();
            let kind = message[0];
            rec.messages.push(hello::message_name(kind));
            match kind {
                1 if client && self.client_hello.is_none() => {
                    self.client_hello = hello::client_hello(&message, frame);
                }
                2 if !client && self.server_hello.is_none() => {
                    self.server_hello = hello::server_hello(&message, frame);
                }
                11 if !client && !self.tls13() => {
                    self.certificates = hello::certificate_sizes(&message);
                }
                20 => {
                    self.finished[i] = Some(frame);
                    if self.tls13() {
                        // RFC 8446 §7.2: after its Finished a side uses the
                        // application traffic secret.
                        self.sides[i].epoch = Some(Epoch::Application);
                        self.install_tls13_keys(i);
                    }
                }
                24 if self.tls13() => {
                    let next = self.sides[i].keys.as_ref().and_then(|k| k.updated());
                    self.sides[i].keys = next;
                }
                _ => {}
            }
        }
    }
}
