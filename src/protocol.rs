//! The seams for protocols above the transport. A protocol above TCP reads a
//! connection's two reassembled byte streams; a protocol above UDP reads datagrams.
//! The seam names no protocol: the implementations (`http/on_tcp.rs`, `tls/on_tcp.rs`,
//! `dns/on_udp.rs`) are chosen in `report/builder/registry.rs`, the one
//! list of them; another protocol (SMTP or POP from the course's port list) is a folder
//! of its own (its parser, its `model::Record`, its adapter) and one line there.

use crate::digest::Digests;
use crate::extract::{BodyPiece, Extractor};
use crate::limits::Limits;
use crate::model;
use crate::reassembly::StreamEvent;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What a protocol above TCP is told about its connection when it starts.
pub struct Setup<'a> {
    /// The connection's number (the scope of its hashes).
    pub id: u64,
    pub server_port: u16,
    /// The connection will be listed in full (else only counted: skip costly work).
    pub listed: bool,
    /// Response bodies are saved (`--extract`): hand them over with `take_bodies`.
    pub extract: bool,
    /// Body bytes to keep per message for HAR (0: the preview only).
    pub keep_body_bytes: usize,
    pub limits: &'a Limits,
    /// Where hashes are computed: the hashing thread.
    pub digests: &'a Digests,
    /// The TLS secrets known (`--keylog`, a capture's Decryption Secrets Block, the
    /// lab's server).
    pub key_log: Option<&'a std::sync::Arc<crate::keylog::KeyLog>>,
}

/// What the protocols above TCP found, over every connection (listed or not): their
/// exchanges (a request and its answer, or either alone), those the connection's own
/// bounds left out, the answers' status codes, and what each bound reached cut.
#[derive(Default)]
pub struct TcpTotals {
    pub exchanges: u64,
    pub omitted: u64,
    pub status: BTreeMap<u16, u64>,
    /// Bounds reached, by their `Limits` name, with how much each cut (the builder
    /// moves them into the report's `limits_reached` as each connection is counted).
    pub cuts: BTreeMap<&'static str, u64>,
}

impl TcpTotals {
    /// Counts `n` cut by the bound `limit` (nothing when `n` is 0).
    pub fn cut(&mut self, limit: &'static str, n: u64) {
        if n > 0 {
            *self.cuts.entry(limit).or_default() += n;
        }
    }

    /// Adds one connection's counts.
    pub fn add(&mut self, other: &TcpTotals) {
        self.exchanges += other.exchanges;
        self.omitted += other.omitted;
        for (limit, n) in &other.cuts {
            self.cut(limit, *n);
        }
        for (status, n) in &other.status {
            *self.status.entry(*status).or_default() += n;
        }
    }
}

/// The report-wide budgets a listed connection's protocol spends from as it describes
/// itself: the body bytes kept for HAR (`Limits::kept_body_bytes`) and the exchanges
/// listed (`Limits::listed_exchanges`), over every connection described before it.
pub struct Budget<'a> {
    pub limits: &'a Limits,
    pub kept_body_bytes: &'a mut usize,
    pub listed_exchanges: &'a mut usize,
    /// Exchanges the report leaves out of its listing (its `http_omitted`).
    pub exchanges_omitted: &'a mut u64,
    /// Bounds reached, by their `Limits` name, with how much each cut.
    pub reached: &'a mut BTreeMap<&'static str, u64>,
}

impl Budget<'_> {
    /// Counts `n` cut by the bound `limit`.
    pub fn reached(&mut self, limit: &'static str, n: u64) {
        *self.reached.entry(limit).or_default() += n;
    }
}

/// What a listed connection's protocol is given to describe itself with.
pub struct Describe<'a> {
    /// Message bodies are kept in the model (for HAR).
    pub keep_bodies: bool,
    pub budget: Budget<'a>,
    /// The files `--extract` wrote, to name beside the bodies they hold.
    pub extracted: Option<&'a Extractor>,
}

/// A protocol reading a TCP connection's two streams, as the reassembler delivers
/// them: in order, with gaps said (RFC 9293 §3.10.7.4).
pub trait TcpProtocol: Send {
    /// One event of the client's stream (`client`) or the server's.
    fn event(&mut self, client: bool, ev: &StreamEvent<'_>);
    /// Whether it still reads (false once it gave up on both streams).
    fn reading(&self) -> bool;
    /// The capture ended, or the connection did.
    fn finish(&mut self);
    /// Body pieces for `--extract`, since the last call.
    fn take_bodies(&mut self) -> Vec<BodyPiece> {
        Vec::new()
    }
    /// Counts what it found into the totals.
    fn count(&self, totals: &mut TcpTotals);
    /// Writes what it found into the listed connection's model (its segments are
    /// there already, for times), spending from the report's budgets.
    fn describe(self: Box<Self>, conn: &mut model::Connection, how: &mut Describe<'_>);
}

/// One UDP datagram, as a protocol above UDP sees it.
pub struct Datagram<'a> {
    pub frame: u64,
    pub ts_us: i64,
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub payload: &'a [u8],
}

/// A protocol reading UDP datagrams (today DNS, RFC 1035).
pub trait UdpProtocol: Send {
    /// Whether a datagram between these ports is its.
    fn wants(&self, src_port: u16, dst_port: u16) -> bool;
    fn datagram(&mut self, d: &Datagram<'_>);
    /// The capture ended: what its bounds cut, by their `Limits` name (said in the
    /// report's `limits_reached`).
    fn cuts(&self, _reached: &mut BTreeMap<&'static str, u64>) {}
    /// The capture ended: write what it found into the report.
    fn finish(self: Box<Self>, report: &mut model::Report);
}
