//! One direction's HTTP/1.x messages, parsed incrementally from reassembled stream
//! events. Heads are parsed by `httparse`; bodies are framed here (RFC 9112 §6.3):
//! no body for HEAD, 1xx, 204 and 304; chunked transfer coding (§7.1); Content-Length;
//! otherwise, for a response, until the server closes (HTTP/1.0, RFC 1945 §7.2.2).

use crate::digest::{Digests, HashSink};
use crate::reassembly::{CloseReason, FrameNo};
use std::borrow::Cow;
use std::collections::VecDeque;

/// Headers a head is first parsed with room for (more than any course or browser message).
const COMMON_HEADERS: usize = 64;
/// Bytes of each body kept for a preview.
pub const PREVIEW: usize = 512;
/// Bytes searched for the next message start after a side stopped making sense (a
/// capture that begins mid-message, a stray byte) before it is given up as not HTTP.
pub const RESYNC_LIMIT: u64 = 256 * 1024;

/// What the framing of a response needs of its request's method (RFC 9112 §6.3: no
/// body after HEAD, a tunnel after a 2xx to CONNECT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    Head,
    Connect,
    Other,
}

impl Asked {
    fn of(method: &str) -> Self {
        match method {
            "HEAD" => Asked::Head,
            "CONNECT" => Asked::Connect,
            _ => Asked::Other,
        }
    }
}

/// `HTTP/1.0` or `HTTP/1.1`, as httparse read the minor version.
fn http_1(minor: Option<u8>) -> Cow<'static, str> {
    match minor {
        Some(1) => Cow::Borrowed("HTTP/1.1"),
        Some(0) | None => Cow::Borrowed("HTTP/1.0"),
        Some(n) => Cow::Owned(format!("HTTP/1.{n}")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Request,
    Response,
}

/// How the end of a body is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
    /// The connection stops being HTTP (CONNECT tunnel, 101 Switching Protocols).
    Tunnel,
}

/// A parsed message head.
#[derive(Clone, Debug, Default)]
pub struct Head {
    /// Stream offset of the message's first byte.
    pub offset: u64,
    /// Frame that carried the first byte of the message.
    pub frame: FrameNo,
    /// Frame that carried the last byte of the head.
    pub head_frame: FrameNo,
    pub method: Option<String>,
    pub target: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    /// "HTTP/1.0" or "HTTP/1.1" (borrowed: no allocation), or as the request line wrote it.
    pub version: Cow<'static, str>,
    pub headers: Fields,
    /// Offset of the blank line, as the course computes it with `find(b"\r\n\r\n")`
    /// (for bare-LF heads, the offset of `\n\n`).
    pub header_len: u64,
    /// Bytes of the head including the blank line: the body starts here.
    pub head_len: u64,
    pub lint: Vec<String>,
}

/// A head's header fields in order (RFC 9112 §5), names and values in one buffer: two
/// allocations for a head however many fields it has (a pair of Strings per field made
/// a quarter of all allocations on a capture of small fetches).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    text: String,
    /// Per field: where its name starts, where its value starts, where it ends.
    spans: Vec<[u32; 3]>,
}

impl Fields {
    fn with_capacity(fields: usize, bytes: usize) -> Self {
        Fields {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(fields),
        }
    }

    pub fn push(&mut self, name: &str, value: &str) {
        let at = self.text.len() as u32;
        self.text.push_str(name);
        let v = self.text.len() as u32;
        self.text.push_str(value);
        self.spans.push([at, v, self.text.len() as u32]);
    }

    /// (name, value) of each field, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.spans.iter().map(|&[n, v, e]| {
            (
                &self.text[n as usize..v as usize],
                &self.text[v as usize..e as usize],
            )
        })
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The fields as owned pairs (the report's form).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }
}

impl Head {
    /// What a request asks to switch to (RFC 9110 §7.8 Upgrade, §9.3.6 CONNECT): the
    /// Upgrade header's protocol, or "tunnel" and the CONNECT target; None for others.
    pub fn switch_asked(&self) -> Option<(String, Option<String>)> {
        if self.method.as_deref() == Some("CONNECT") {
            return Some(("tunnel".into(), self.target.clone()));
        }
        self.header("upgrade").map(|up| (up.to_string(), None))
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// A message whose body ended (or was abandoned).
#[derive(Clone, Debug, Default)]
pub struct End {
    /// Body bytes after removing chunked coding (gap bytes not included).
    pub body_len: u64,
    pub body_sha256: String,
    /// Every body byte was captured and the framing ended where it should.
    pub complete: bool,
    pub gap_bytes: u64,
    /// Frames that carried bytes of the message, in order (at most `Limits::frames_per_message`).
    pub frames: Vec<FrameNo>,
    pub frame_count: u64,
    pub last_frame: FrameNo,
    /// The body's first bytes: [`PREVIEW`] of them, or as many as
    /// [`MessageParser::keep_body_bytes`] asked for.
    pub preview: Vec<u8>,
    pub lint: Vec<String>,
}

/// What the parser reports, in stream order.
#[derive(Debug)]
pub enum HttpEvent {
    Head(Head),
    End(End),
    /// The direction does not carry HTTP (any more) from this offset.
    NotHttp {
        offset: u64,
        reason: String,
    },
    /// A gap broke the message framing: whole messages may have been lost.
    LostSync,
    /// Body bytes of the current message, after removing chunked coding (only when
    /// [`MessageParser::keep_bodies`] asked for them).
    Body(Vec<u8>),
}

/// What a search for a message start found in one call's bytes.
enum Search {
    Found(usize, Vec<u8>),
    NotYet,
}

enum Chunk {
    Size(Vec<u8>),
    Data(u64),
    DataEnd,
    Trailer(Vec<u8>),
}

enum State {
    Idle,
    Head,
    Body(u64),
    Chunked(Chunk),
    UntilClose,
    Resync,
    /// A request asked to switch protocols (Upgrade, CONNECT): what follows is the next
    /// request if it starts like one, else the new protocol's bytes.
    MaybeTunnel,
    /// The connection switched protocols: the bytes are not HTTP any more.
    Tunnel,
    Done,
}

/// Incremental parser of one direction's messages.
pub struct MessageParser {
    role: Role,
    state: State,
    head_buf: Vec<u8>,
    head_offset: u64,
    head_frame: FrameNo,
    /// Methods of requests whose responses are still to come (responses only), and
    /// whether each may be answered by an HTTP/0.9 simple response (a request without a
    /// valid HTTP/1.x version).
    methods: VecDeque<(Asked, bool)>,
    body: Option<BodyState>,
    out: Vec<HttpEvent>,
    keep_bodies: bool,
    /// Body bytes kept in each message's [`End::preview`].
    keep_bytes: usize,
    /// Bytes of a head (`Limits::head_bytes`); a longer one is "not HTTP".
    max_head: usize,
    /// Header fields of a head (`Limits::header_fields`); a head with more is "not HTTP".
    max_headers: usize,
    /// Frames listed per message (`Limits::frames_per_message`).
    max_frames: usize,
    hash_bodies: bool,
    /// Only what pairing and counting the messages needs is kept ([`MessageParser::count_only`]).
    count_only: bool,
    /// Where body hashes are computed (the hashing thread), and for which connection.
    digests: Option<(Digests, u64)>,
    /// The message under way is a request that asks to switch protocols.
    asks_switch: bool,
    /// Where and why the side stopped making sense, while a message start is searched.
    lost: Option<(u64, String)>,
    /// Bytes skipped since then.
    skipped: u64,
    /// Bytes gathered as a head that turned out not to be one: searched again.
    replay: Option<(u64, Vec<u8>)>,
    /// While searching: the bytes since the last line start, when they may still begin
    /// a message (a start split across segments); None when no line starts there.
    tail: Option<Vec<u8>>,
}

struct BodyState {
    len: u64,
    /// None when the parser was told not to hash ([`MessageParser::skip_hashes`]).
    hash: Option<HashSink>,
    gap_bytes: u64,
    frames: Vec<FrameNo>,
    frame_count: u64,
    /// Frames listed at most: `Limits::frames_per_message`, none when only counting
    /// (nor counted).
    max_frames: usize,
    preview: Vec<u8>,
    /// Body bytes kept: [`PREVIEW`], or more when asked ([`MessageParser::keep_body_bytes`]).
    keep: usize,
    lint: Vec<String>,
}

impl BodyState {
    fn new(
        head_frames: &[FrameNo],
        hash: bool,
        digests: Option<&(Digests, u64)>,
        keep: usize,
    ) -> Self {
        BodyState {
            len: 0,
            hash: hash.then(|| match digests {
                Some((d, scope)) => HashSink::new(Some(d), *scope),
                None => HashSink::new(None, 0),
            }),
            gap_bytes: 0,
            frames: head_frames.to_vec(),
            frame_count: head_frames.len() as u64,
            max_frames: crate::limits::FRAMES_PER_MESSAGE,
            preview: Vec::new(),
            keep: keep.max(PREVIEW),
            lint: Vec::new(),
        }
    }
    fn frame(&mut self, f: FrameNo) {
        if self.max_frames > 0 && self.frames.last() != Some(&f) {
            self.frame_count += 1;
            if self.frames.len() < self.max_frames {
                self.frames.push(f);
            }
        }
    }
    fn bytes(&mut self, b: &[u8], f: FrameNo) {
        if b.is_empty() {
            return;
        }
        self.frame(f);
        self.len += b.len() as u64;
        if let Some(h) = &mut self.hash {
            h.update(b);
        }
        if self.preview.len() < self.keep {
            let n = (self.keep - self.preview.len()).min(b.len());
            self.preview.extend_from_slice(&b[..n]);
        }
    }
}

const METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"TRACE ",
    b"PATCH ",
];

/// Why a message head is not HTTP (httparse's word for it, or the bound on its header
/// fields), said as the report's reason for the lost start.
#[derive(Debug)]
struct HeadError {
    request: bool,
    /// `Limits::header_fields`, said when a head has more.
    fields: usize,
    error: httparse::Error,
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = if self.request { "request" } else { "response" };
        match self.error {
            httparse::Error::TooManyHeaders => write!(
                f,
                "invalid {role} head: more than {} header fields",
                self.fields
            ),
            e => write!(f, "invalid {role} head: {e}"),
        }
    }
}

impl std::error::Error for HeadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl MessageParser {
    pub fn new(role: Role) -> Self {
        MessageParser {
            role,
            state: State::Idle,
            head_buf: Vec::new(),
            head_offset: 0,
            head_frame: 0,
            methods: VecDeque::new(),
            body: None,
            out: Vec::new(),
            keep_bodies: false,
            hash_bodies: true,
            keep_bytes: PREVIEW,
            max_head: crate::limits::HEAD_BYTES,
            max_headers: crate::limits::HEADER_FIELDS,
            max_frames: crate::limits::FRAMES_PER_MESSAGE,
            count_only: false,
            digests: None,
            asks_switch: false,
            lost: None,
            skipped: 0,
            replay: None,
            tail: Some(Vec::new()),
        }
    }

    /// Compute body hashes on the hashing thread, for connection `scope`.
    pub fn hash_with(&mut self, digests: Digests, scope: u64) {
        self.digests = Some((digests, scope));
    }

    /// Keep the first `n` bytes of each body in [`End::preview`] (at least [`PREVIEW`]):
    /// the HAR's `content.text`.
    pub fn keep_body_bytes(&mut self, n: usize) {
        self.keep_bytes = n.max(PREVIEW);
    }

    /// Reads heads of at most `n` bytes (`Limits::head_bytes`; [`crate::limits::HEAD_BYTES`] unless told).
    pub fn max_head(&mut self, n: usize) {
        self.max_head = n.max(16);
    }

    /// Reads heads of at most `n` header fields (`Limits::header_fields`).
    pub fn max_headers(&mut self, n: usize) {
        self.max_headers = n.max(1);
    }

    /// Lists at most `n` frames of each message (`Limits::frames_per_message`).
    pub fn max_frames(&mut self, n: usize) {
        self.max_frames = n;
    }

    /// Do not compute `body_sha256` (the report will not list these messages).
    pub fn skip_hashes(&mut self) {
        self.hash_bodies = false;
    }

    /// The messages are only paired and counted (a connection the report does not
    /// list): a head keeps its method, status, version and the fields that frame the
    /// body or switch protocols, without its target, reason or lints; a body keeps no
    /// preview and no frame list. Framing and pairing are those of a full parse.
    pub fn count_only(&mut self) {
        self.count_only = true;
    }

    pub fn keeps_bodies(&self) -> bool {
        self.keep_bodies
    }

    /// Also report the body bytes as [`HttpEvent::Body`] events (for `--extract`).
    pub fn keep_bodies(&mut self) {
        self.keep_bodies = true;
    }

    /// Tells a response parser the method of the next request (HEAD has no body).
    /// `simple`: the request had no valid HTTP/1.x version, so the server may answer
    /// with the body alone (RFC 1945 §6, Simple-Response).
    pub fn expect_response_to(&mut self, method: &str, simple: bool) {
        self.methods.push_back((Asked::of(method), simple));
    }

    /// Events produced so far, handed over.
    pub fn take_events(&mut self) -> std::vec::Drain<'_, HttpEvent> {
        self.out.drain(..)
    }

    /// The events since the last call, swapped into `into` (empty), whose buffer the
    /// parser fills next: no allocation per call.
    pub fn swap_events(&mut self, into: &mut Vec<HttpEvent>) {
        debug_assert!(into.is_empty());
        std::mem::swap(&mut self.out, into);
    }

    /// Whether the direction was given up as not HTTP.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The connection switched protocols (the server's 101, or 2xx to CONNECT): this
    /// direction's next bytes belong to the new protocol.
    pub fn tunnel(&mut self) {
        if matches!(self.state, State::Idle | State::MaybeTunnel | State::Resync) {
            self.state = State::Tunnel;
        }
    }

    /// Whether the direction switched protocols.
    pub fn is_tunnel(&self) -> bool {
        matches!(self.state, State::Tunnel)
    }

    /// Bytes at `offset` of the stream, from `frame`. Returns the stream offset from
    /// which the bytes are the new protocol's, once the connection switched.
    pub fn data(&mut self, offset: u64, bytes: &[u8], frame: FrameNo) -> Option<u64> {
        let switched = self.parse(offset, bytes, frame);
        // A head that was not one is searched again for a message start (in a loop, not
        // by recursion: each round starts at least one byte further).
        while let Some((at, buf)) = self.replay.take() {
            self.parse(at, &buf, frame);
        }
        switched
    }

    fn parse(&mut self, mut offset: u64, mut bytes: &[u8], frame: FrameNo) -> Option<u64> {
        while !bytes.is_empty() {
            let used = match &mut self.state {
                State::Done => return None,
                State::Tunnel => return Some(offset),
                State::MaybeTunnel => {
                    let next_request = self.starts_message(bytes).is_some()
                        || bytes.iter().all(|b| *b == b'\r' || *b == b'\n');
                    self.state = if next_request {
                        State::Idle
                    } else {
                        State::Tunnel
                    };
                    0
                }
                State::Idle => {
                    let skip = bytes
                        .iter()
                        .take_while(|b| **b == b'\r' || **b == b'\n')
                        .count();
                    if skip == 0 {
                        self.state = State::Head;
                        self.head_offset = offset;
                        self.head_frame = frame;
                    }
                    skip
                }
                State::Resync => match self.search(bytes) {
                    Search::Found(at, carried) => {
                        self.state = State::Head;
                        self.head_offset = offset + at as u64 - carried.len() as u64;
                        self.head_frame = frame;
                        self.skipped += at as u64;
                        self.skipped -= carried.len() as u64;
                        self.head_buf = carried;
                        at
                    }
                    Search::NotYet => {
                        self.skipped += bytes.len() as u64;
                        if self.skipped > RESYNC_LIMIT
                            && let Some((at, why)) = self.lost.take()
                        {
                            self.head_offset = at;
                            self.not_http(&why, 0);
                            return None;
                        }
                        bytes.len()
                    }
                },
                State::Head => self.head(bytes, frame),
                State::Body(remaining) => {
                    let n = (*remaining).min(bytes.len() as u64) as usize;
                    *remaining -= n as u64;
                    let done = *remaining == 0;
                    self.body_bytes(&bytes[..n], frame);
                    if done {
                        self.end(true);
                    }
                    n
                }
                State::UntilClose => {
                    self.body_bytes(bytes, frame);
                    bytes.len()
                }
                State::Chunked(_) => self.chunked(bytes, frame),
            };
            offset += used as u64;
            bytes = &bytes[used..];
        }
        None
    }

    /// The capture lacks `len` bytes at `offset`. Returns true when the bytes were the
    /// new protocol's (after a switch).
    pub fn gap(&mut self, offset: u64, len: u64) -> bool {
        match &mut self.state {
            State::Done => {}
            State::Tunnel => return true,
            State::MaybeTunnel => {
                self.state = State::Tunnel;
                return true;
            }
            State::Resync => self.out.push(HttpEvent::LostSync),
            State::Idle => {
                self.resync();
                self.out.push(HttpEvent::LostSync);
            }
            State::Head => {
                self.head_cut_short(offset);
                self.head_buf.clear();
                self.resync();
                self.out.push(HttpEvent::LostSync);
            }
            State::Body(remaining) if len < *remaining => {
                *remaining -= len;
                if let Some(b) = &mut self.body {
                    b.gap_bytes += len;
                }
            }
            State::Body(_) | State::Chunked(_) => {
                if let Some(b) = &mut self.body {
                    b.gap_bytes += len;
                    b.lint.push(format!(
                        "the capture lost {len} bytes at stream offset {offset}"
                    ));
                }
                self.end(false);
                self.resync();
                self.out.push(HttpEvent::LostSync);
            }
            State::UntilClose => {
                if let Some(b) = &mut self.body {
                    b.gap_bytes += len;
                }
            }
        }
        false
    }

    /// The direction ended (FIN or RST), or the capture did (`None`).
    pub fn close(&mut self, reason: Option<CloseReason>) {
        match self.state {
            State::UntilClose => {
                let clean = reason == Some(CloseReason::Fin);
                self.end(clean)
            }
            State::Body(_) | State::Chunked(_) => self.end(false),
            // No message start was found after the side stopped making sense.
            State::Resync | State::Head if self.lost.is_some() => {
                if let Some((at, why)) = self.lost.take() {
                    self.head_offset = at;
                    self.not_http(&why, 0);
                }
            }
            State::Head if self.role == Role::Request && !self.head_buf.is_empty() => {
                self.head_never_ended()
            }
            _ => {}
        }
        self.state = State::Done;
    }

    /// The client's side ended in the middle of a request head: its lines arrived but
    /// not the blank line that ends a head (RFC 9112 §2.1), so no server could answer
    /// it as a request. The lines that arrived are reported as a request with the lint
    /// `no-blank-line`; `header_len` and `head_len` are then the bytes that arrived.
    fn head_never_ended(&mut self) {
        let sent = self.head_buf.len() as u64;
        let bare_lf = has_bare_lf(&self.head_buf);
        if !self.head_buf.ends_with(b"\n") {
            self.head_buf.extend_from_slice(b"\r\n");
        }
        self.head_buf.extend_from_slice(b"\r\n");
        let parsed = self
            .parse_head()
            .ok()
            .flatten()
            .map(|(_, h)| h)
            .or_else(|| self.lenient_request().map(|(_, h)| h));
        if let Some(mut head) = parsed {
            head.offset = self.head_offset;
            head.frame = self.head_frame;
            head.head_frame = self.head_frame;
            head.header_len = sent;
            head.head_len = sent;
            head.lint.retain(|l| l != "bare-lf");
            if bare_lf {
                head.lint.push("bare-lf".into());
            }
            head.lint.push("no-blank-line".into());
            self.body = Some(self.new_body(&[self.head_frame]));
            self.out.push(HttpEvent::Head(head));
            self.end(false);
        }
        self.head_buf.clear();
    }

    /// Searches for the next message start, the next byte counting as a line start.
    fn resync(&mut self) {
        self.state = State::Resync;
        self.tail = Some(Vec::new());
    }

    fn starts_message(&self, b: &[u8]) -> Option<bool> {
        starts_message(self.role, b)
    }

    /// Searches bytes for a message start at a line start (tshark's and Zeek's way back
    /// into a stream), carrying a start split across calls in `self.tail`. Found: the
    /// offset in `bytes` where the message's bytes continue, and the carried bytes that
    /// begin it.
    fn search(&mut self, bytes: &[u8]) -> Search {
        if let Some(mut tail) = self.tail.take() {
            let need = 8usize.saturating_sub(tail.len()).min(bytes.len());
            let mut probe = tail.clone();
            probe.extend_from_slice(&bytes[..need]);
            match self.starts_message(&probe) {
                Some(true) => return Search::Found(0, tail),
                Some(false) if need == bytes.len() => {
                    tail.extend_from_slice(bytes);
                    self.tail = Some(tail);
                    return Search::NotYet;
                }
                _ => {}
            }
        }
        let mut i = 0;
        while i < bytes.len() {
            let at = bytes[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|n| i + n + 1);
            let Some(at) = at.filter(|&a| a < bytes.len()) else {
                self.tail = (bytes.last() == Some(&b'\n')).then(Vec::new);
                return Search::NotYet;
            };
            match self.starts_message(&bytes[at..(at + 8).min(bytes.len())]) {
                Some(true) => return Search::Found(at, Vec::new()),
                Some(false) if at + 8 > bytes.len() => {
                    self.tail = Some(bytes[at..].to_vec());
                    return Search::NotYet;
                }
                _ => i = at,
            }
        }
        Search::NotYet
    }

    fn body_bytes(&mut self, b: &[u8], frame: FrameNo) {
        if let Some(body) = &mut self.body {
            body.bytes(b, frame);
            if self.keep_bodies && !b.is_empty() {
                self.out.push(HttpEvent::Body(b.to_vec()));
            }
        }
    }

    /// Appends to the head buffer; parses once a blank line is in. Returns bytes used.
    fn head(&mut self, bytes: &[u8], frame: FrameNo) -> usize {
        let before = self.head_buf.len();
        let room = self.max_head.saturating_sub(before);
        let take = bytes.len().min(room);
        self.head_buf.extend_from_slice(&bytes[..take]);
        let search_from = before.saturating_sub(3);
        let has_blank = has_blank_line(&self.head_buf[search_from..]);
        // Decide early whether this is HTTP at all, without waiting for a blank line.
        if self.head_buf.len() >= 5
            && before < 5
            && self.role == Role::Response
            && !self.head_buf.starts_with(b"HTTP/")
        {
            if self.methods.front().is_some_and(|m| m.1) {
                return self.simple_response(before, frame, take);
            }
            return self.lost_start("does not start with an HTTP status line", bytes, take);
        }
        if !has_blank {
            if self.head_buf.len() >= self.max_head {
                let bound = match self.max_head {
                    n if n % 1024 == 0 => format!("{} KiB", n / 1024),
                    n => format!("{n} bytes"),
                };
                return self.not_http(&format!("message head larger than {bound}"), bytes.len());
            }
            if self.role == Role::Request && self.request_start_refused(before) {
                return self.lost_start("does not start with an HTTP request line", bytes, take);
            }
            return take;
        }
        let parsed = match self.parse_head() {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return take,
            // A head with more fields than the bound is not read leniently: its line
            // is not what is wrong.
            Err(e) => match (e.error != httparse::Error::TooManyHeaders)
                .then(|| self.lenient_request())
                .flatten()
            {
                Some(parsed) => parsed,
                None => return self.lost_start(&e.to_string(), bytes, take),
            },
        };
        let (head_len, mut head) = parsed;
        let leftover = self.head_buf.len() - head_len;
        head.offset = self.head_offset;
        head.frame = self.head_frame;
        head.head_frame = frame;
        let both = [head.frame, frame];
        let head_frames = if head.frame == frame {
            &both[1..]
        } else {
            &both[..]
        };
        self.head_buf.clear();
        self.start_body(head, head_frames);
        take - leftover
    }

    /// A body's state, hashed and kept as this parser was told.
    fn new_body(&self, head_frames: &[FrameNo]) -> BodyState {
        let mut body = BodyState::new(
            if self.count_only { &[] } else { head_frames },
            self.hash_bodies,
            self.digests.as_ref(),
            self.keep_bytes,
        );
        body.max_frames = self.max_frames;
        if self.count_only {
            body.max_frames = 0;
            body.keep = 0;
        }
        body
    }

    /// The head gathered so far is not a message head: as tshark and Zeek do, the side
    /// is searched for the next message start (a request line or a status line at the
    /// start of a line) from the head's second byte, for [`RESYNC_LIMIT`] bytes; a
    /// capture that begins mid-message, or a stray byte before a request, loses only
    /// what came before that start. Returns the bytes used (all of them).
    fn lost_start(&mut self, reason: &str, bytes: &[u8], take: usize) -> usize {
        let mut buf = std::mem::take(&mut self.head_buf);
        buf.extend_from_slice(&bytes[take..]);
        if self.lost.is_none() {
            self.lost = Some((self.head_offset, reason.to_string()));
        }
        self.out.push(HttpEvent::LostSync);
        // One stray byte (a keep-alive probe's) may stand before a message start.
        self.resync();
        self.skipped += 1;
        if buf.len() > 1 {
            self.replay = Some((self.head_offset + 1, buf.split_off(1)));
        }
        bytes.len()
    }

    /// RFC 1945 §6: a server answers a request without an HTTP/1.x version (HTTP/0.9's
    /// Simple-Request) with the body alone, no status line or headers, ended by its close.
    /// The bytes gathered as a head are the body's first.
    fn simple_response(&mut self, before: usize, frame: FrameNo, take: usize) -> usize {
        self.methods.pop_front();
        let buf = std::mem::take(&mut self.head_buf);
        let head = Head {
            offset: self.head_offset,
            frame: self.head_frame,
            head_frame: self.head_frame,
            version: "HTTP/0.9".into(),
            reason: Some("(no status line: an HTTP/0.9 simple response)".into()),
            lint: vec!["simple-response".into()],
            ..Head::default()
        };
        self.body = Some(self.new_body(&[self.head_frame]));
        self.out.push(HttpEvent::Head(head));
        self.state = State::UntilClose;
        let first = self.head_frame;
        self.body_bytes(&buf[..before], first);
        self.body_bytes(&buf[before..], frame);
        take
    }

    /// Whether the request head gathered so far (of which `before` bytes were there
    /// already) can no longer become a request: decided on its first 16 bytes, and
    /// again when its first line is complete. A line httparse refuses may still be a
    /// malformed request line ([`malformed_request_line`]), which is shown, not dropped.
    fn request_start_refused(&self, before: usize) -> bool {
        let buf = &self.head_buf[..];
        let line_end = buf.iter().position(|&b| b == b'\n');
        let line_done_now = line_end.is_some_and(|i| i >= before);
        if !(before < 16 || line_done_now) || self.parse_head().is_ok() {
            return false;
        }
        match line_end {
            Some(i) => malformed_request_line(&buf[..i]).is_none(),
            None => !plausible_request_start(buf),
        }
    }

    /// A complete head whose request line httparse refuses (no target, no version,
    /// spaces in the target, control bytes): the line split as tshark and Zeek split it,
    /// the headers parsed by httparse, and the lint "malformed-request-line" naming
    /// what is wrong. None when the line does not look like a request at all.
    fn lenient_request(&self) -> Option<(usize, Head)> {
        if self.role != Role::Request {
            return None;
        }
        let buf = &self.head_buf[..];
        let line_end = buf.iter().position(|&b| b == b'\n')?;
        let line = malformed_request_line(&buf[..line_end])?;
        let rest = &buf[line_end + 1..];
        let mut headers = [httparse::EMPTY_HEADER; COMMON_HEADERS];
        let (used, parsed) = match httparse::parse_headers(rest, &mut headers) {
            Ok(httparse::Status::Complete((n, h))) => (n, pairs(h)),
            // Headers that do not parse: the head is the line and what follows up to
            // the blank line, with no headers taken from it.
            _ => {
                let blank = find(rest, b"\r\n\r\n")
                    .map(|i| i + 4)
                    .or_else(|| find(rest, b"\n\n").map(|i| i + 2))
                    .or_else(|| rest.starts_with(b"\r\n").then_some(2))
                    .or_else(|| rest.starts_with(b"\n").then_some(1))?;
                (blank, Fields::default())
            }
        };
        let n = line_end + 1 + used;
        let raw = &buf[..n];
        let mut head = Head {
            method: Some(line.method),
            target: Some(line.target),
            version: line.version.into(),
            headers: parsed,
            head_len: n as u64,
            ..Head::default()
        };
        head.header_len = blank_line_at(raw);
        head.lint = request_lints(&head);
        // A method run into its target ("GET/") is not a method of its own.
        let run_in = line.why.starts_with("no space");
        head.lint
            .retain(|l| l != "missing-host" && !(run_in && l == "unknown-method"));
        head.lint
            .insert(0, format!("malformed-request-line: {}", line.why));
        if has_bare_lf(raw) {
            head.lint.push("bare-lf".into());
        }
        Some((n, head))
    }

    /// A gap (often the snapshot length) cut the head: report the lines that arrived,
    /// as an incomplete message, rather than nothing.
    fn head_cut_short(&mut self, gap_offset: u64) {
        let Some(last_nl) = self.head_buf.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        self.head_buf.truncate(last_nl + 1);
        self.head_buf.extend_from_slice(b"\r\n");
        if let Ok(Some((_, mut head))) = self.parse_head() {
            head.offset = self.head_offset;
            head.frame = self.head_frame;
            head.head_frame = self.head_frame;
            head.lint.push(format!(
                "head cut short by a capture gap at stream offset {gap_offset}"
            ));
            if let Some(status) = head.status {
                self.request_method(status);
            }
            self.body = Some(self.new_body(&[self.head_frame]));
            self.out.push(HttpEvent::Head(head));
            self.end(false);
        }
    }

    /// The method of the request a response with `status` answers: an interim (1xx)
    /// response leaves it waiting for the final one, any other takes it off the queue.
    fn request_method(&mut self, status: u16) -> Asked {
        let method = if (100..200).contains(&status) && status != 101 {
            self.methods.front().copied()
        } else {
            self.methods.pop_front()
        };
        method.map_or(Asked::Other, |m| m.0)
    }

    fn not_http(&mut self, reason: &str, used: usize) -> usize {
        self.out.push(HttpEvent::NotHttp {
            offset: self.head_offset,
            reason: reason.to_string(),
        });
        self.head_buf.clear();
        self.state = State::Done;
        used
    }

    /// Ok(None): incomplete. Err: not a valid head.
    /// Parses the head gathered so far: `Ok(None)` while it is incomplete. Room for
    /// [`COMMON_HEADERS`] headers is made on the stack; a head with more is parsed again
    /// with room for `Limits::header_fields` (a 16 KiB array filled for every head cost
    /// an eighth of the report's time on the course capture).
    fn parse_head(&self) -> Result<Option<(usize, Head)>, HeadError> {
        let mut few = [httparse::EMPTY_HEADER; COMMON_HEADERS];
        let first = self.max_headers.min(COMMON_HEADERS);
        match self.parse_head_into(&mut few[..first]) {
            Err(httparse::Error::TooManyHeaders) if self.max_headers > first => {
                let mut many = vec![httparse::EMPTY_HEADER; self.max_headers];
                self.parse_head_into(&mut many)
            }
            other => other,
        }
        .map_err(|error| HeadError {
            request: matches!(self.role, Role::Request),
            fields: self.max_headers,
            error,
        })
    }

    fn parse_head_into<'b>(
        &'b self,
        headers: &mut [httparse::Header<'b>],
    ) -> Result<Option<(usize, Head)>, httparse::Error> {
        let buf = &self.head_buf[..];
        let mut head = Head::default();
        let n = match self.role {
            Role::Request => {
                let mut req = httparse::Request::new(headers);
                let mut cfg = httparse::ParserConfig::default();
                cfg.allow_multiple_spaces_in_request_line_delimiters(true);
                cfg.ignore_invalid_headers_in_requests(true);
                match cfg.parse_request(&mut req, buf) {
                    Ok(httparse::Status::Complete(n)) => {
                        head.method = req.method.map(str::to_string);
                        head.version = http_1(req.version);
                        if self.count_only {
                            head.headers = framing_pairs(req.headers);
                        } else {
                            head.target = req.path.map(str::to_string);
                            head.headers = pairs(req.headers);
                            head.lint = request_lints(&head);
                        }
                        n
                    }
                    Ok(httparse::Status::Partial) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
            Role::Response => {
                let mut resp = httparse::Response::new(headers);
                let mut cfg = httparse::ParserConfig::default();
                cfg.allow_multiple_spaces_in_response_status_delimiters(true)
                    .allow_obsolete_multiline_headers_in_responses(true)
                    .allow_spaces_after_header_name_in_responses(true)
                    .ignore_invalid_headers_in_responses(true);
                match cfg.parse_response(&mut resp, buf) {
                    Ok(httparse::Status::Complete(n)) => {
                        head.status = resp.code;
                        head.version = http_1(resp.version);
                        if self.count_only {
                            head.headers = framing_pairs(resp.headers);
                        } else {
                            head.reason = resp.reason.map(str::to_string);
                            head.headers = pairs(resp.headers);
                        }
                        n
                    }
                    Ok(httparse::Status::Partial) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        };
        let raw = &buf[..n];
        head.head_len = n as u64;
        head.header_len = blank_line_at(raw);
        if has_bare_lf(raw) && !self.count_only {
            head.lint.push("bare-lf".into());
        }
        Ok(Some((n, head)))
    }

    fn start_body(&mut self, head: Head, head_frames: &[FrameNo]) {
        let mut lint = Vec::new();
        let framing = self.framing(&head, &mut lint);
        let mut body = self.new_body(head_frames);
        body.lint = lint;
        self.body = Some(body);
        let mut head = head;
        if self.skipped > 0 && self.lost.take().is_some() && !self.count_only {
            let n = self.skipped;
            head.lint.push(format!(
                "re-synchronised: {n} byte{} before this message {} not HTTP",
                if n == 1 { "" } else { "s" },
                if n == 1 { "was" } else { "were" }
            ));
        }
        self.skipped = 0;
        self.asks_switch = self.role == Role::Request && head.switch_asked().is_some();
        self.out.push(HttpEvent::Head(head));
        match framing {
            Framing::None | Framing::Length(0) => {
                self.end(true);
            }
            Framing::Length(n) => self.state = State::Body(n),
            Framing::Chunked => self.state = State::Chunked(Chunk::Size(Vec::new())),
            Framing::UntilClose => self.state = State::UntilClose,
            Framing::Tunnel => {
                self.end(true);
                self.state = State::Tunnel;
            }
        }
    }

    /// RFC 9112 §6.3, in its order.
    fn framing(&mut self, head: &Head, lint: &mut Vec<String>) -> Framing {
        if let Some(status) = head.status {
            let method = self.request_method(status);
            if status == 101 || (method == Asked::Connect && (200..300).contains(&status)) {
                return Framing::Tunnel;
            }
            if method == Asked::Head
                || (100..200).contains(&status)
                || status == 204
                || status == 304
            {
                return Framing::None;
            }
        }
        if let Some(te) = head.header("transfer-encoding") {
            let last = te.rsplit(',').next().unwrap_or("").trim();
            if last.eq_ignore_ascii_case("chunked") {
                return Framing::Chunked;
            }
            return match self.role {
                Role::Response => Framing::UntilClose,
                Role::Request => Framing::None,
            };
        }
        let mut lengths = head
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.trim());
        if let Some(first) = lengths.next() {
            match first.parse::<u64>() {
                Ok(n) if lengths.all(|l| l == first) => return Framing::Length(n),
                _ if self.count_only => {}
                _ => lint.push(format!("invalid Content-Length: {first}")),
            }
        }
        match self.role {
            Role::Response => Framing::UntilClose,
            Role::Request => Framing::None,
        }
    }

    fn end(&mut self, complete: bool) {
        let Some(b) = self.body.take() else {
            return;
        };
        let last_frame = b.frames.last().copied().unwrap_or(0);
        self.out.push(HttpEvent::End(End {
            body_len: b.len,
            body_sha256: b.hash.map(HashSink::finish).unwrap_or_default(),
            complete: complete && b.gap_bytes == 0,
            gap_bytes: b.gap_bytes,
            frames: b.frames,
            frame_count: b.frame_count,
            last_frame,
            preview: b.preview,
            lint: b.lint,
        }));
        self.state = if std::mem::take(&mut self.asks_switch) {
            State::MaybeTunnel
        } else {
            State::Idle
        };
    }

    fn chunked(&mut self, bytes: &[u8], frame: FrameNo) -> usize {
        if let Some(b) = &mut self.body {
            b.frame(frame);
        }
        let State::Chunked(chunk) = &mut self.state else {
            unreachable!("called in the chunked state")
        };
        let is_trailer = matches!(chunk, Chunk::Trailer(_));
        match chunk {
            Chunk::Size(line) | Chunk::Trailer(line) => {
                let nl = bytes.iter().position(|&b| b == b'\n');
                let used = nl.map(|i| i + 1).unwrap_or(bytes.len());
                line.extend_from_slice(&bytes[..used]);
                if line.len() > 4096 {
                    return self.bad_chunk("chunk-size line longer than 4 KiB", used);
                }
                if nl.is_none() {
                    return used;
                }
                if is_trailer {
                    if line == b"\r\n" || line == b"\n" {
                        self.end(true);
                    } else {
                        line.clear();
                    }
                    return used;
                }
                match httparse::parse_chunk_size(line) {
                    Ok(httparse::Status::Complete((_, 0))) => *chunk = Chunk::Trailer(Vec::new()),
                    Ok(httparse::Status::Complete((_, n))) => *chunk = Chunk::Data(n),
                    _ => {
                        let shown = String::from_utf8_lossy(line).trim().to_string();
                        return self.bad_chunk(&format!("invalid chunk size line '{shown}'"), used);
                    }
                }
                used
            }
            Chunk::Data(remaining) => {
                let n = (*remaining).min(bytes.len() as u64) as usize;
                *remaining -= n as u64;
                if *remaining == 0 {
                    *chunk = Chunk::DataEnd;
                }
                self.body_bytes(&bytes[..n], frame);
                n
            }
            Chunk::DataEnd => match bytes[0] {
                b'\r' => 1,
                b'\n' => {
                    *chunk = Chunk::Size(Vec::new());
                    1
                }
                _ => {
                    if let Some(b) = &mut self.body {
                        b.lint.push("chunk data not followed by CRLF".into());
                    }
                    *chunk = Chunk::Size(Vec::new());
                    0
                }
            },
        }
    }

    fn bad_chunk(&mut self, why: &str, used: usize) -> usize {
        if let Some(b) = &mut self.body {
            b.lint.push(why.to_string());
        }
        self.end(false);
        self.resync();
        used
    }
}

/// What a request does that a student should notice (names `wirelab explain` knows):
/// - "method-case": a known method not in upper case (`Get`); methods are
///   case-sensitive (RFC 9110 §9.1), so a server answers 400 or 501;
/// - "unknown-method": not a method of RFC 9110;
/// - "absolute-form": the whole URL as target (RFC 9112 §3.2.2), meant for proxies,
///   which the course sends and origin servers must accept;
/// - "missing-host": HTTP/1.1 without Host (RFC 9112 §3.2), which a server answers with 400.
fn request_lints(head: &Head) -> Vec<String> {
    let mut lint = Vec::new();
    let method = head.method.as_deref().unwrap_or_default();
    let known = |m: &str| {
        METHODS
            .iter()
            .any(|k| k.strip_suffix(b" ") == Some(m.as_bytes()))
    };
    if !known(method) {
        if known(&method.to_ascii_uppercase()) {
            lint.push("method-case".into());
        } else {
            lint.push("unknown-method".into());
        }
    }
    let target = head.target.as_deref().unwrap_or_default();
    if target.contains("://") {
        lint.push("absolute-form".into());
    }
    if head.version == "HTTP/1.1" && head.header("host").is_none() {
        lint.push("missing-host".into());
    }
    lint
}

/// Whether `b` starts a message of `role`'s side (a method of RFC 9110 and a space, or
/// `HTTP/1.`): `Some(true)`, `Some(false)` while it is too short to tell, `None` when it
/// cannot.
pub fn starts_message(role: Role, b: &[u8]) -> Option<bool> {
    let patterns: &[&[u8]] = match role {
        Role::Response => &[b"HTTP/1."],
        Role::Request => METHODS,
    };
    let mut maybe = false;
    for p in patterns {
        if b.starts_with(p) {
            return Some(true);
        }
        maybe |= p.starts_with(b);
    }
    maybe.then_some(false)
}

/// A request line that httparse refuses but a server still answered: the method, the
/// target, the version as written (possibly empty), and what is wrong with it.
#[derive(Debug, PartialEq, Eq)]
pub struct MalformedLine {
    pub method: String,
    pub target: String,
    pub version: String,
    pub why: String,
}

/// The first bytes of a request head could still start a request line: a letter, then
/// text with at most the few control bytes [`malformed_request_line`] accepts.
fn plausible_request_start(buf: &[u8]) -> bool {
    buf.first().is_some_and(u8::is_ascii_alphabetic) && is_mostly_text(buf)
}

/// At most 4 control bytes (tab and CR aside) and a tenth of bytes beyond ASCII.
fn is_mostly_text(line: &[u8]) -> bool {
    let controls = line
        .iter()
        .filter(|&&b| b.is_ascii_control() && b != b'\t' && b != b'\r')
        .count();
    let non_ascii = line.iter().filter(|b| !b.is_ascii()).count();
    controls <= 4 && non_ascii <= line.len() / 10
}

/// Splits a request line (without its LF) that is not valid HTTP/1.x (RFC 9112 §3:
/// `method SP request-target SP HTTP-version`) the way tshark and Zeek do: the first
/// word is the method; when the last word starts with `HTTP/`, it is the version and the
/// words between are the target (spaces in the target); otherwise everything after the
/// method is the target (no version: HTTP/0.9's simple request, RFC 1945 §4.1). The
/// line must start with a known method (in any case) or name `HTTP/` somewhere, and be
/// text: at most a few control bytes, which are named.
pub fn malformed_request_line(line: &[u8]) -> Option<MalformedLine> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() || line.len() > 8192 || !line[0].is_ascii_alphabetic() {
        return None;
    }
    if !is_mostly_text(line) {
        return None;
    }
    let controls = line
        .iter()
        .filter(|&&b| b.is_ascii_control() && b != b'\t')
        .count();
    let upper = line.to_ascii_uppercase();
    let names_http = find(&upper, b"HTTP/").is_some();
    let known_start = METHODS.iter().any(|m| upper.starts_with(&m[..m.len() - 1]));
    if !names_http && !known_start {
        return None;
    }
    let text = String::from_utf8_lossy(line);
    let words: Vec<&str> = text.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    let method = words[0].to_string();
    let (target, version) = match words.len() {
        1 => (String::new(), String::new()),
        2 => (words[1].to_string(), String::new()),
        n if words[n - 1].starts_with("HTTP/") => (words[1..n - 1].join(" "), words[n - 1].into()),
        _ => (words[1..].join(" "), String::new()),
    };
    let why = if controls > 0 {
        format!("{controls} control byte(s) in the request line")
    } else if !method
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        format!("no space after the method ('{method}')")
    } else if target.is_empty() {
        "no request target".to_string()
    } else if version.is_empty() {
        "no HTTP version".to_string()
    } else if target.contains(' ') {
        "spaces in the request target".to_string()
    } else if !matches!(version.as_str(), "HTTP/1.0" | "HTTP/1.1") {
        format!("invalid HTTP version '{version}'")
    } else {
        "a request line httparse refuses".to_string()
    };
    Some(MalformedLine {
        method,
        target,
        version,
        why,
    })
}

/// The fields a count-only parse keeps ([`MessageParser::count_only`]): those that frame
/// a body (RFC 9112 §6.3) or switch protocols (RFC 9110 §7.8).
const FRAMING_FIELDS: [&str; 3] = ["transfer-encoding", "content-length", "upgrade"];

fn framing_pairs(headers: &[httparse::Header<'_>]) -> Fields {
    pairs_where(headers, |name| {
        FRAMING_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f))
    })
}

fn pairs(headers: &[httparse::Header<'_>]) -> Fields {
    pairs_where(headers, |name| !name.is_empty())
}

/// The fields whose name `keep` accepts, in order.
fn pairs_where(headers: &[httparse::Header<'_>], keep: impl Fn(&str) -> bool) -> Fields {
    let kept = || headers.iter().filter(|h| keep(h.name));
    let bytes = kept().map(|h| h.name.len() + h.value.len()).sum();
    let mut fields = Fields::with_capacity(kept().count(), bytes);
    for h in kept() {
        fields.push(h.name, &String::from_utf8_lossy(h.value));
    }
    fields
}

/// Where the blank line of a head (its bytes up to and with the blank line) starts, as
/// the course computes it with `find(b"\r\n\r\n")`; for a bare-LF head, where `\n\n`
/// (or `\n\r\n`) starts.
fn blank_line_at(raw: &[u8]) -> u64 {
    let n = raw.len();
    match find(raw, b"\r\n\r\n") {
        Some(i) if i + 4 == n => i as u64,
        _ => n as u64 - if raw.ends_with(b"\r\n") { 3 } else { 2 },
    }
}

/// A line ends with LF alone, not CRLF (RFC 9112 §2.2).
fn has_bare_lf(raw: &[u8]) -> bool {
    raw.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || raw[i - 1] != b'\r'))
}

fn has_blank_line(b: &[u8]) -> bool {
    b.windows(2).any(|w| w == b"\n\n") || b.windows(3).any(|w| w == b"\n\r\n")
}

/// Position of `needle` in `hay`, as Python's `bytes.find`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The request or status line that `payload` starts with, if it starts an HTTP/1.x
/// message (a method token and a space, or `HTTP/1.`), up to 120 characters.
pub fn first_line(payload: &[u8]) -> Option<String> {
    let line = &payload[..find(payload, b"\n").unwrap_or(payload.len()).min(120)];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let is_status = line.starts_with(b"HTTP/1.");
    let token_len = line
        .iter()
        .take_while(|b| b.is_ascii_alphabetic() || **b == b'-')
        .count();
    let is_request = (3..=12).contains(&token_len)
        && line.get(token_len) == Some(&b' ')
        && line.windows(7).any(|w| w == b" HTTP/1" || w == b" HTTP/0");
    (is_status || is_request).then(|| String::from_utf8_lossy(line).into_owned())
}

#[cfg(test)]
mod first_line_tests {
    use super::first_line;

    #[test]
    fn recognises_request_and_status_lines_only() {
        assert_eq!(
            first_line(b"GET http://data.pr4e.org/romeo.txt HTTP/1.0\r\n\r\n").as_deref(),
            Some("GET http://data.pr4e.org/romeo.txt HTTP/1.0")
        );
        assert_eq!(
            first_line(b"HTTP/1.1 200 OK\r\nA: b").as_deref(),
            Some("HTTP/1.1 200 OK")
        );
        assert_eq!(first_line(b"But soft what light\n"), None);
        assert_eq!(first_line(b"\xff\xd8\xff\xe0"), None);
    }
}
