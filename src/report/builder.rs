//! Runs frames through dissect → flow → reassembly → http/analysis and collects the
//! report. Memory is bounded: the connection table, the out-of-order bytes per
//! direction, the segment rows kept (a budget for the whole report) and the lists
//! inside a connection all have limits, and what a limit cut is counted in the report.

use super::model::{self, Report};
use crate::analysis::{SegmentInfo, TcpAnalyzer};
use crate::capture::Frame;
use crate::dissect::{Dissector, Ip, Link, TcpOptions, Udp, flags};
use crate::dns::{self, DnsTracker};
use crate::extract::Extractor;
use crate::flow::{self, Dir, Endpoint, FlowKey, FlowTable};
use crate::http::{self, BodyPiece, HttpConnection};
use crate::ports;
use crate::reassembly::{
    CloseReason, SegFlags, SeqNum, StreamEvent, StreamReassembler, StreamSink,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Limits and focus of a report.
#[derive(Clone, Debug)]
pub struct Options {
    /// Live connections tracked at once; the idlest are evicted beyond this.
    pub max_connections: usize,
    /// Out-of-order bytes held per direction before a gap is forced.
    pub max_pending_per_dir: usize,
    /// Out-of-order bytes held across all connections; beyond, the oldest buffered
    /// data's hole is given up (a gap), until 90% of it is left.
    pub max_pending_total: usize,
    /// Segment rows kept in the whole report (`--segments`).
    pub segment_budget: usize,
    /// Report only this connection (its segments in full).
    pub only_connection: Option<u64>,
    /// A connection idle this long (capture time) is closed as "timeout".
    pub idle_timeout_us: i64,
    /// Connections listed in the report; later ones are summed into the totals only.
    pub max_listed_connections: usize,
    /// HTTP exchanges listed in the whole report; beyond, connections keep their counts.
    pub max_listed_exchanges: usize,
    /// Keep each kept segment's header bytes in hex (`-x`).
    pub header_hex: bool,
    /// Body bytes kept per message beyond the 512-byte preview, for HAR's content
    /// (`--format har`); 0 keeps the preview only.
    pub keep_body_bytes: usize,
    /// Save every response body under this directory (`--extract DIR`); `true`
    /// allows replacing existing files (`--force`).
    pub extract: Option<(std::path::PathBuf, bool)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_connections: 20_000,
            max_pending_per_dir: 4 << 20,
            max_pending_total: 64 << 20,
            segment_budget: 20_000,
            only_connection: None,
            max_listed_connections: 1_000,
            max_listed_exchanges: 20_000,
            idle_timeout_us: 600 * 1_000_000,
            header_hex: false,
            keep_body_bytes: 0,
            extract: None,
        }
    }
}

/// How long (capture time) an ended connection stays in the table before it is
/// reported and dropped.
const CLOSED_LINGER_US: i64 = 2_000_000;
/// How long the tuple of an ended connection absorbs late packets.
const TIME_WAIT_US: i64 = 60_000_000;
/// Ended tuples remembered at most.
const MAX_ENDED: usize = 100_000;
/// Provenance pieces kept per stream (a kept connection's; beyond, not recorded).
const MAX_CHUNKS: usize = 20_000;
/// Gap rows listed per stream (the rest are counted in the totals only).
const MAX_GAPS: usize = 1_000;
/// Body bytes kept for HAR in a whole report.
const MAX_KEPT_BODIES: usize = 64 << 20;
/// Distinct "undecoded" reasons listed.
const MAX_REASONS: usize = 20;

#[derive(Default)]
struct StreamStats {
    bytes: u64,
    /// None for a connection the report will not list (its hash would be thrown away).
    hash: Option<Sha256>,
    gaps: Vec<model::Gap>,
    chunks: Option<Vec<[u64; 3]>>,
}

/// Feeds one direction's events to its stats and to the connection's HTTP parser.
struct DirSink<'a> {
    stats: &'a mut StreamStats,
    http: &'a mut HttpConnection,
    client: bool,
}

impl StreamSink for DirSink<'_> {
    fn event(&mut self, ev: StreamEvent<'_>) {
        match &ev {
            StreamEvent::Data {
                offset,
                bytes,
                frame,
            } => {
                self.stats.bytes += bytes.len() as u64;
                if let Some(h) = &mut self.stats.hash {
                    h.update(bytes);
                }
                if let Some(c) = &mut self.stats.chunks
                    && c.len() < MAX_CHUNKS
                {
                    c.push([*offset, bytes.len() as u64, *frame]);
                }
            }
            StreamEvent::Gap { offset, len } => {
                if self.stats.gaps.len() < MAX_GAPS {
                    self.stats.gaps.push(model::Gap {
                        offset: *offset,
                        len: *len,
                    });
                }
            }
            StreamEvent::Closed { .. } => {}
        }
        if !self.http.is_dead() {
            self.http.event(self.client, &ev);
        }
    }
}

struct Conn {
    id: u64,
    client: Endpoint,
    server: Endpoint,
    reasm: [StreamReassembler; 2],
    streams: [StreamStats; 2],
    http: HttpConnection,
    tcp: TcpAnalyzer,
    keep: bool,
    segments: Vec<model::Segment>,
    omitted: u64,
    first_ts: i64,
    last_ts: i64,
    packets: u64,
    payload_bytes: [u64; 2],
    analysis: BTreeMap<&'static str, u64>,
    /// The other side reset the connection: [c2s, s2c].
    reset_by_peer: [bool; 2],
    ip: model::IpLayer,
    link: model::LinkLayer,
    /// Highest ACK number each side has sent: [c2s, s2c].
    highest_ack: [Option<SeqNum>; 2],
    /// Holes given up because of the total bound on buffered bytes.
    total_bound_gaps: u64,
}

impl Conn {
    fn sink(&mut self, d: Dir) -> (&mut StreamReassembler, DirSink<'_>) {
        let i = d.index();
        (
            &mut self.reasm[i],
            DirSink {
                stats: &mut self.streams[i],
                http: &mut self.http,
                client: d == Dir::C2S,
            },
        )
    }

    fn finish_dir(&mut self, d: Dir, reason: CloseReason) {
        let (r, mut sink) = self.sink(d);
        r.finish(&mut sink, reason);
    }

    /// Out-of-order bytes both directions hold.
    fn pending(&self) -> usize {
        self.reasm
            .iter()
            .map(StreamReassembler::pending_bytes)
            .sum()
    }

    /// Both directions ended (FIN delivered), or a side reset the connection.
    fn has_ended(&self) -> bool {
        self.tcp.first_rst.is_some() || self.reasm.iter().all(|r| r.closed().is_some())
    }

    /// Whether a SYN from the client starts a new connection on this 4-tuple.
    fn is_reused_by(&self, syn_seq: u32) -> bool {
        let over = self.has_ended() || self.payload_bytes.iter().any(|b| *b > 0);
        over && self
            .tcp
            .handshake
            .client_isn
            .is_some_and(|isn| isn != syn_seq)
    }
}

/// Builds a report from frames, one at a time.
pub struct ReportBuilder {
    opts: Options,
    dissector: Dissector,
    table: FlowTable<Box<Conn>>,
    next_id: u64,
    finished: Vec<model::Connection>,
    source: model::Source,
    reasons: HashMap<String, u64>,
    segment_budget: usize,
    segments_omitted: u64,
    last_expiry_ts: i64,
    analysis_totals: BTreeMap<&'static str, u64>,
    extractor: Option<Extractor>,
    /// Counted over every connection, listed or not.
    http_total: u64,
    status_counts: BTreeMap<u16, u64>,
    close_counts: BTreeMap<&'static str, u64>,
    connections_omitted: u64,
    exchanges_omitted: u64,
    /// HTTP exchanges in the listed connections so far.
    listed_exchanges: usize,
    /// Tuples of connections already reported, and when a packet last used each.
    ended: foldhash::HashMap<FlowKey, i64>,
    late_packets: u64,
    /// The UDP seam: DNS today.
    dns: DnsTracker,
    /// Body bytes kept in the listed exchanges (for HAR).
    kept_bodies: usize,
    /// Where finished connections go as they close (`--format jsonl`), instead of the
    /// report's list: the report's memory does not grow with the capture.
    stream: Option<Box<dyn FnMut(model::Connection) + Send>>,
    /// Out-of-order bytes buffered across all connections, and the holes given up
    /// because of that total.
    pending_total: usize,
    total_bound_gaps: u64,
}

impl ReportBuilder {
    /// Also save every response body under the extractor's directory (`--extract`).
    pub fn extract_to(mut self, extractor: Extractor) -> Self {
        self.extractor = Some(extractor);
        self
    }

    /// Hands each connection to `sink` as it closes instead of keeping it for the report.
    pub fn stream_to(mut self, sink: Box<dyn FnMut(model::Connection) + Send>) -> Self {
        self.stream = Some(sink);
        self
    }

    /// Hands the body pieces the connection's HTTP parser produced to the extractor.
    fn extract(extractor: &mut Option<Extractor>, conn: &mut Conn) {
        let Some(ex) = extractor else {
            return;
        };
        for piece in conn.http.take_bodies() {
            match piece {
                BodyPiece::Start {
                    offset,
                    target,
                    content_type,
                } => ex.start(conn.id, offset, target.as_deref(), content_type.as_deref()),
                BodyPiece::Data(b) => ex.data(conn.id, &b),
                BodyPiece::End { .. } => ex.end(conn.id),
            }
        }
    }

    pub fn new(opts: Options) -> Self {
        ReportBuilder {
            segment_budget: opts.segment_budget,
            table: FlowTable::new(opts.max_connections),
            opts,
            dissector: Dissector::new(),
            next_id: 0,
            finished: Vec::new(),
            source: model::Source::default(),
            reasons: HashMap::new(),
            segments_omitted: 0,
            last_expiry_ts: i64::MIN,
            analysis_totals: BTreeMap::new(),
            extractor: None,
            http_total: 0,
            status_counts: BTreeMap::new(),
            close_counts: BTreeMap::new(),
            connections_omitted: 0,
            exchanges_omitted: 0,
            listed_exchanges: 0,
            ended: foldhash::HashMap::default(),
            late_packets: 0,
            dns: DnsTracker::new(),
            kept_bodies: 0,
            stream: None,
            pending_total: 0,
            total_bound_gaps: 0,
        }
    }

    /// Frames read and connections seen so far (for a progress bar).
    pub fn progress(&self) -> (u64, u64) {
        (self.source.packets, self.next_id)
    }

    /// A frame was read but the filter dropped it.
    pub fn filtered(&mut self, frame: &Frame<'_>) {
        self.source.packets += 1;
        self.source.bytes += frame.data.len() as u64;
        self.source.filtered_out += 1;
    }

    /// Runs one frame through the pipeline.
    pub fn frame(&mut self, frame: &Frame<'_>) {
        self.run_frame(frame, false);
    }

    /// Runs one frame through the pipeline and describes it in one line (live capture
    /// prints these as packets arrive). `None` for frames that are not TCP.
    pub fn frame_line(&mut self, frame: &Frame<'_>) -> Option<model::PacketLine> {
        self.run_frame(frame, true)
    }

    fn run_frame(&mut self, frame: &Frame<'_>, want_line: bool) -> Option<model::PacketLine> {
        self.source.packets += 1;
        self.source.bytes += frame.data.len() as u64;
        let packet = self.dissector.dissect(frame);
        if let (Some(ip), Some(udp)) = (&packet.ip, &packet.udp) {
            self.source.non_tcp += 1;
            self.udp(frame, ip, udp);
            return None;
        }
        let (Some(ip), Some(tcp)) = (&packet.ip, &packet.tcp) else {
            if packet.fragment_held {
                return None;
            }
            match (&packet.ip, packet.stop) {
                (None, Some(reason)) => {
                    self.source.undecoded += 1;
                    let n = self.reasons.len();
                    if let Some(c) = self.reasons.get_mut(&reason) {
                        *c += 1;
                    } else if n < MAX_REASONS {
                        self.reasons.insert(reason, 1);
                    }
                }
                _ => self.source.non_tcp += 1,
            }
            return None;
        };
        self.expire(frame.ts_us);
        self.enforce_total();
        let src = Endpoint {
            ip: ip.src,
            port: tcp.src_port,
        };
        let dst = Endpoint {
            ip: ip.dst,
            port: tcp.dst_port,
        };
        let (key, _) = FlowKey::of(src, dst);
        let syn = tcp.flags & flags::SYN != 0;
        let ackf = tcp.flags & flags::ACK != 0;
        let reused = syn
            && !ackf
            && self
                .table
                .get_mut(&key, frame.ts_us)
                .is_some_and(|c| c.is_reused_by(tcp.seq));
        if reused && let Some(old) = self.table.remove(&key) {
            self.finish_conn(old, "open");
        }
        if self.table.get_mut(&key, frame.ts_us).is_none() {
            // Like TIME_WAIT: a late ACK or FIN of a connection already reported is
            // counted, not taken for a new connection; a SYN starts a new one.
            if let Some(seen) = self.ended.get_mut(&key) {
                if !syn || ackf {
                    *seen = frame.ts_us;
                    self.late_packets += 1;
                    return None;
                }
                self.ended.remove(&key);
            }
            let conn = Box::new(self.new_conn(src, dst, syn, ackf, frame.ts_us));
            for old in self.table.insert(key, frame.ts_us, conn) {
                self.finish_conn(old, "evicted");
            }
        }
        let conn = self
            .table
            .get_mut(&key, frame.ts_us)
            .expect("inserted above");
        let dir = if src == conn.client {
            Dir::C2S
        } else {
            Dir::S2C
        };
        conn.packets += 1;
        conn.last_ts = frame.ts_us;
        note_layers(conn, dir, &packet.link, ip);
        let wire_len = tcp.payload.len() as u32 + tcp.payload_missing;
        conn.payload_bytes[dir.index()] += wire_len as u64;

        let seg_flags = SegFlags {
            syn,
            fin: tcp.flags & flags::FIN != 0,
            rst: tcp.flags & flags::RST != 0,
        };
        let pending_before = conn.pending();
        let effect = {
            let (r, mut sink) = conn.sink(dir);
            r.segment(
                frame.number,
                SeqNum(tcp.seq),
                seg_flags,
                &tcp.payload,
                &mut sink,
            )
        };
        if seg_flags.rst && conn.reasm[dir.index()].rst_in_window(SeqNum(tcp.seq)) {
            // The peer's data already in flight still arrives (and is in the capture):
            // its stream ends as reset when the connection is finished.
            conn.reset_by_peer[dir.reverse().index()] = true;
        } else {
            let (r, mut sink) = conn.sink(dir.reverse());
            r.acknowledged(
                ackf.then_some(SeqNum(tcp.ack)),
                !tcp.payload.is_empty(),
                &mut sink,
            );
        }
        self.pending_total = (self.pending_total + conn.pending()).saturating_sub(pending_before);
        Self::extract(&mut self.extractor, conn);
        let info = SegmentInfo {
            frame: frame.number,
            ts_us: frame.ts_us,
            dir,
            seq: SeqNum(tcp.seq),
            ack: SeqNum(tcp.ack),
            flags: tcp.flags,
            len: wire_len,
            window: tcp.window,
            options: &tcp.options,
            payload_missing: tcp.payload_missing,
        };
        let analysis = conn.tcp.segment(&info, &effect);
        let acked = if ackf {
            newly_acked(&mut conn.highest_ack[dir.index()], SeqNum(tcp.ack))
        } else {
            None
        };
        for a in &analysis {
            *conn.analysis.entry(a).or_default() += 1;
        }
        let keep =
            conn.keep && (self.segment_budget > 0 || self.opts.only_connection == Some(conn.id));
        if !keep && !want_line {
            conn.omitted += 1;
            return None;
        }
        let rel = |base: Option<SeqNum>, n: u32| base.map(|b| n.wrapping_sub(b.0).wrapping_add(1));
        let segment = model::Segment {
            frame: frame.number,
            ts_us: frame.ts_us,
            dir: dir.name(),
            flags: flag_names(tcp.flags),
            rel_seq: rel(conn.reasm[dir.index()].base(), tcp.seq).unwrap_or(0),
            rel_ack: if ackf {
                rel(conn.reasm[dir.reverse().index()].base(), tcp.ack)
            } else {
                None
            },
            seq: tcp.seq,
            ack: tcp.ack,
            len: wire_len,
            window: conn.tcp.scaled_window(dir, tcp.window, syn),
            analysis,
            acked,
            header_len: tcp.header_len,
            options: options_text(&tcp.options),
            ip: model::SegmentIp {
                ttl: ip.ttl,
                id: ip.id,
                df: ip.dont_fragment,
                total_len: ip.total_len,
            },
            header_hex: self
                .opts
                .header_hex
                .then(|| http::message::hex(header_bytes(frame.data, &tcp.payload))),
        };
        let line = want_line.then(|| model::PacketLine {
            connection: conn.id,
            src: model::Endpoint {
                ip: src.ip.to_string(),
                port: src.port,
            },
            dst: model::Endpoint {
                ip: dst.ip.to_string(),
                port: dst.port,
            },
            service: ports::service(conn.server.port).map(str::to_string),
            http_line: http::message::first_line(&tcp.payload),
            segment: segment.clone(),
        });
        if keep {
            self.segment_budget = self.segment_budget.saturating_sub(1);
            conn.segments.push(segment);
        } else {
            conn.omitted += 1;
        }
        line
    }

    fn new_conn(&mut self, src: Endpoint, dst: Endpoint, syn: bool, ack: bool, ts: i64) -> Conn {
        let id = self.next_id;
        self.next_id += 1;
        let (client, server) = if flow::src_is_client(src, dst, syn, ack) {
            (src, dst)
        } else {
            (dst, src)
        };
        let keep = match self.opts.only_connection {
            Some(n) => n == id,
            None => self.segment_budget > 0,
        };
        let listed = self.listed(id);
        let chunks = || StreamStats {
            chunks: keep.then(Vec::new),
            hash: listed.then(Sha256::new),
            ..Default::default()
        };
        let max = self.opts.max_pending_per_dir;
        let mut http = HttpConnection::new();
        if !listed {
            http.skip_hashes();
        }
        if self.extractor.is_some() {
            http.keep_bodies();
        }
        if listed && self.opts.keep_body_bytes > 0 {
            http.keep_body_bytes(self.opts.keep_body_bytes);
        }
        Conn {
            id,
            client,
            server,
            reasm: [StreamReassembler::new(max), StreamReassembler::new(max)],
            streams: [chunks(), chunks()],
            http,
            tcp: TcpAnalyzer::default(),
            keep,
            segments: Vec::new(),
            omitted: 0,
            first_ts: ts,
            last_ts: ts,
            packets: 0,
            payload_bytes: [0, 0],
            analysis: BTreeMap::new(),
            reset_by_peer: [false, false],
            ip: model::IpLayer::default(),
            link: model::LinkLayer::default(),
            highest_ack: [None, None],
            total_bound_gaps: 0,
        }
    }

    /// Whether connection `id` is listed in the report: the one asked for, else the
    /// first `max_listed_connections` by order of first packet. The others are summed
    /// into the totals, and their hashes are not computed.
    fn listed(&self, id: u64) -> bool {
        match self.opts.only_connection {
            Some(n) => n == id,
            None => id < self.opts.max_listed_connections as u64,
        }
    }

    /// Closes connections idle for longer than the timeout (capture time), checked
    /// at most once per capture second.
    fn expire(&mut self, now: i64) {
        if now.saturating_sub(self.last_expiry_ts) < 1_000_000 {
            return;
        }
        self.last_expiry_ts = now;
        for conn in self
            .table
            .expire(now.saturating_sub(self.opts.idle_timeout_us))
        {
            self.finish_conn(conn, "timeout");
        }
        // A connection both sides closed (or one reset) is reported once it has been
        // quiet for CLOSED_LINGER_US: late ACKs and retransmitted FINs still find it,
        // and the table does not fill with the ended connections of a long capture.
        let linger = now.saturating_sub(CLOSED_LINGER_US);
        let mut ended = Vec::new();
        for conn in self
            .table
            .remove_if(|last, c| last < linger && c.has_ended())
        {
            ended.push(FlowKey::of(conn.client, conn.server).0);
            self.finish_conn(conn, "open");
        }
        // The ended tuples are remembered for TIME_WAIT (RFC 9293 §3.6.1: 2 MSL, 60 s
        // on Linux), and at most MAX_ENDED of them.
        let wait = now.saturating_sub(TIME_WAIT_US);
        self.ended.retain(|_, seen| *seen >= wait);
        if self.ended.len() + ended.len() > MAX_ENDED {
            self.ended.clear();
        }
        self.ended.extend(ended.into_iter().map(|k| (k, now)));
    }

    /// Bounded in total: while the out-of-order bytes of all connections are above
    /// `max_pending_total`, the hole whose buffered data came first (the lowest frame)
    /// is given up as a gap, until 90% of the bound is left. Counted per connection and
    /// in the totals.
    fn enforce_total(&mut self) {
        if self.pending_total <= self.opts.max_pending_total {
            return;
        }
        let target = self.opts.max_pending_total / 10 * 9;
        while self.pending_total > target {
            let oldest = self
                .table
                .values_mut()
                .enumerate()
                .flat_map(|(i, c)| {
                    (0..2).filter_map(move |d| c.reasm[d].oldest_pending_frame().map(|f| (f, i, d)))
                })
                .min();
            let Some((_, i, d)) = oldest else {
                self.pending_total = 0;
                break;
            };
            let conn = self.table.values_mut().nth(i).expect("same table");
            let dir = if d == 0 { Dir::C2S } else { Dir::S2C };
            let freed = {
                let (r, mut sink) = conn.sink(dir);
                r.give_up_first_hole(&mut sink)
            };
            conn.total_bound_gaps += 1;
            Self::extract(&mut self.extractor, conn);
            self.total_bound_gaps += 1;
            self.pending_total = self.pending_total.saturating_sub(freed.max(1));
        }
    }

    /// The UDP seam: a datagram to or from a known port goes to its protocol (DNS on
    /// port 53); others are only counted as not TCP.
    fn udp(&mut self, frame: &Frame<'_>, ip: &Ip, udp: &Udp<'_>) {
        if udp.src_port == dns::PORT || udp.dst_port == dns::PORT {
            self.dns.datagram(
                frame.number,
                frame.ts_us,
                (ip.src, udp.src_port),
                (ip.dst, udp.dst_port),
                udp.payload,
            );
        }
    }

    fn finish_conn(&mut self, mut c: Box<Conn>, unended: &'static str) {
        self.pending_total = self.pending_total.saturating_sub(c.pending());
        for d in [Dir::C2S, Dir::S2C] {
            let reason = if c.reset_by_peer[d.index()] {
                CloseReason::Rst
            } else {
                CloseReason::Fin
            };
            c.finish_dir(d, reason);
        }
        c.http.finish();
        Self::extract(&mut self.extractor, &mut c);
        for (k, v) in &c.analysis {
            *self.analysis_totals.entry(k).or_default() += v;
        }
        self.segments_omitted += c.omitted;
        self.http_total += c.http.exchanges.len() as u64 + c.http.omitted;
        self.exchanges_omitted += c.http.omitted;
        for x in &c.http.exchanges {
            if let Some(status) = x.response.as_ref().and_then(|r| r.head.status) {
                *self.status_counts.entry(status).or_default() += 1;
            }
        }
        *self
            .close_counts
            .entry(close_of(&c.tcp, unended).0)
            .or_default() += 1;
        if self.opts.only_connection.is_some_and(|n| n != c.id) {
            return;
        }
        if !self.listed(c.id) {
            self.connections_omitted += 1;
            self.exchanges_omitted += c.http.exchanges.len() as u64;
            return;
        }
        let mut model = to_model(*c, unended, self.opts.keep_body_bytes > 0);
        // Bodies kept for HAR: at most MAX_KEPT_BODIES bytes in the whole report.
        for r in model.http.iter_mut().filter_map(|x| x.response.as_mut()) {
            let n = r.body.as_ref().map_or(0, Vec::len);
            if self.kept_bodies + n > MAX_KEPT_BODIES {
                r.body = None;
            } else {
                self.kept_bodies += n;
            }
        }
        if self.listed_exchanges + model.http.len() > self.opts.max_listed_exchanges {
            model.http_omitted += model.http.len() as u64;
            self.exchanges_omitted += model.http.len() as u64;
            model.http.clear();
        }
        self.listed_exchanges += model.http.len();
        if let Some(ex) = &self.extractor {
            attach_extracted(&mut model, ex);
        }
        match &mut self.stream {
            Some(sink) => sink(model),
            None => self.finished.push(model),
        }
    }

    /// Ends the capture: every connection still open is reported.
    pub fn finish(mut self, mut source: model::Source, read_error: Option<String>) -> Report {
        let mut open = self.table.drain();
        open.sort_by_key(|c| c.id);
        let evicted = self.table.evicted();
        for c in open {
            self.finish_conn(c, "open");
        }
        self.finished.sort_by_key(|c| c.id);
        let mut reasons: Vec<(String, u64)> = self.reasons.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        source.packets = self.source.packets;
        source.bytes = self.source.bytes;
        source.filtered_out = self.source.filtered_out;
        source.undecoded = self.source.undecoded;
        source.non_tcp = self.source.non_tcp;
        source.undecoded_reasons = reasons;
        source.read_error = read_error;
        if let Some(ex) = &self.extractor {
            source.extracted_to = Some(ex.dir().display().to_string());
            source.extracted_files = Some(ex.written.len() as u64);
            source.extract_error = ex.error.clone();
        }
        let totals = model::Totals {
            connections: self.next_id,
            http_exchanges: self.http_total,
            connections_omitted: self.connections_omitted,
            late_packets: self.late_packets,
            http_omitted: self.exchanges_omitted,
            http_status: self.status_counts.into_iter().collect(),
            closes: self
                .close_counts
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            evicted_connections: evicted,
            segments_omitted: self.segments_omitted,
            fragments_dropped: self.dissector.fragments_dropped(),
            analysis: self
                .analysis_totals
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            total_bound_gaps: self.total_bound_gaps,
            dns_omitted: self.dns.omitted,
            dns_undecodable: self.dns.undecodable,
        };
        Report {
            wirelab_report: 1,
            source,
            connections: self.finished,
            totals,
            dns: self.dns.finish(),
            lab: None,
            trace: None,
        }
    }
}

/// "SYN,ACK" style names of the flag bits, in wire order from FIN up.
pub fn flag_names(f: u8) -> String {
    const NAMES: [(u8, &str); 8] = [
        (flags::FIN, "FIN"),
        (flags::SYN, "SYN"),
        (flags::RST, "RST"),
        (flags::PSH, "PSH"),
        (flags::ACK, "ACK"),
        (flags::URG, "URG"),
        (flags::ECE, "ECE"),
        (flags::CWR, "CWR"),
    ];
    let v: Vec<&str> = NAMES
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect();
    v.join(",")
}

fn stream_model(s: StreamStats, r: &StreamReassembler) -> model::Stream {
    model::Stream {
        bytes: s.bytes,
        sha256: s
            .hash
            .map(|h| http::message::hex(&h.finalize()))
            .unwrap_or_default(),
        complete: r.saw_syn() && r.closed().is_some() && r.gap_count() == 0,
        gaps: s.gaps,
        chunks: s.chunks,
    }
}

fn to_model(c: Conn, unended: &'static str, keep_bodies: bool) -> model::Connection {
    let t = &c.tcp;
    let h = &t.handshake;
    let handshake = (h.syn_frame.is_some() || h.synack_frame.is_some()).then(|| model::Handshake {
        syn_frame: h.syn_frame,
        synack_frame: h.synack_frame,
        ack_frame: h.ack_frame,
        rtt_us: h.rtt_us(),
        client_mss: h.client.mss,
        server_mss: h.server.mss,
        client_isn: h.client_isn,
        server_isn: h.server_isn,
        client_window_scale: h.client.window_scale,
        server_window_scale: h.server.window_scale,
        sack_permitted: h.client.sack_permitted && h.server.sack_permitted,
        timestamps: h.client.timestamp.is_some() && h.server.timestamp.is_some(),
    });
    let (close, closed_by) = close_of(t, unended);
    let ts_of = |frame: u64| {
        c.segments
            .iter()
            .find(|s| s.frame == frame)
            .map(|s| s.ts_us)
    };
    let http = c
        .http
        .exchanges
        .iter()
        .map(|x| {
            let request = x.request.as_ref().map(|m| model::Request {
                frame: m.head.frame,
                method: m.head.method.clone().unwrap_or_default(),
                target: m.head.target.clone().unwrap_or_default(),
                version: m.head.version.clone(),
                headers: m.head.headers.clone(),
                query: query_pairs(m.head.target.as_deref().unwrap_or_default()),
                header_len: m.head.header_len,
                lint: m.head.lint.clone(),
                body_len: m.end.as_ref().map(|e| e.body_len).unwrap_or(0),
                body: m
                    .end
                    .as_ref()
                    .filter(|_| keep_bodies)
                    .map(|e| e.preview.clone()),
                last_frame: m
                    .end
                    .as_ref()
                    .map(|e| e.last_frame)
                    .unwrap_or(m.head.head_frame),
            });
            let response = x.response.as_ref().map(|m| {
                let end = m.end.clone().unwrap_or_default();
                model::Response {
                    frame: m.head.frame,
                    version: m.head.version.clone(),
                    status: m.head.status.unwrap_or(0),
                    reason: m.head.reason.clone().unwrap_or_default(),
                    headers: m.head.headers.clone(),
                    header_len: m.head.header_len,
                    content_type: m.head.header("content-type").map(str::to_string),
                    content_length: m.head.header("content-length").map(str::to_string),
                    body_len: end.body_len,
                    body_sha256: end.body_sha256.clone(),
                    complete: m.end.as_ref().is_some_and(|e| e.complete),
                    frames: if end.frames.is_empty() {
                        vec![m.head.frame]
                    } else {
                        end.frames.clone()
                    },
                    frame_count: end.frame_count.max(1),
                    last_frame: end.last_frame.max(m.head.head_frame),
                    lint: m.head.lint.iter().chain(end.lint.iter()).cloned().collect(),
                    body_preview: preview(&decoded(
                        &end.preview[..end.preview.len().min(http::message::PREVIEW)],
                        m.head.header("content-encoding"),
                    )),
                    body: keep_bodies.then(|| end.preview.clone()),
                    body_type: infer::get(&decoded(
                        &end.preview[..end.preview.len().min(http::message::PREVIEW)],
                        m.head.header("content-encoding"),
                    ))
                    .map(|t| t.mime_type().to_string()),
                    extracted: None,
                    head_offset: m.head.offset,
                }
            });
            let response_time_us = match (&request, &response) {
                (Some(q), Some(r)) => ts_of(q.frame).zip(ts_of(r.frame)).map(|(a, b)| b - a),
                _ => None,
            };
            model::HttpExchange {
                request,
                response,
                response_time_us,
            }
        })
        .collect();
    let not_http = match &c.http.not_http {
        [Some(a), _] => Some(format!("client: {a}")),
        [None, Some(b)] => Some(format!("server: {b}")),
        _ => None,
    };
    let [s0, s1] = c.streams;
    let streams = model::Streams {
        c2s: stream_model(s0, &c.reasm[0]),
        s2c: stream_model(s1, &c.reasm[1]),
    };
    model::Connection {
        id: c.id,
        client: model::Endpoint {
            ip: c.client.ip.to_string(),
            port: c.client.port,
        },
        server: model::ServerEndpoint {
            ip: c.server.ip.to_string(),
            port: c.server.port,
            service: ports::service(c.server.port).map(str::to_string),
        },
        ip: c.ip,
        link: c.link,
        handshake,
        close,
        closed_by,
        first_ts_us: c.first_ts,
        duration_us: c.last_ts - c.first_ts,
        packets: c.packets,
        payload_bytes: c.payload_bytes,
        history: t.history.clone(),
        segments: c.segments,
        segments_omitted: c.omitted,
        streams,
        http,
        not_http,
        http_omitted: c.http.omitted,
        analysis_totals: c
            .analysis
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        rtt_samples: t
            .rtt_samples
            .iter()
            .map(|s| model::RttSample {
                frame: s.frame,
                ack_frame: s.ack_frame,
                rtt_us: s.rtt_us,
                estimated_us: s.estimated_us,
            })
            .collect(),
        rtt_estimated_us: t.rtt_estimated_us,
        min_window: t.min_window,
        recv: None,
        send: None,
        process: None,
        total_bound_gaps: c.total_bound_gaps,
    }
}

/// How a connection ended and who ended it: the first RST, else the first FIN, else
/// `unended` ("open", "timeout", "evicted").
fn close_of(t: &TcpAnalyzer, unended: &'static str) -> (&'static str, Option<&'static str>) {
    let side = |d: Dir| if d == Dir::C2S { "client" } else { "server" };
    match (t.first_rst, t.first_fin) {
        (Some((d, _)), _) => ("rst", Some(side(d))),
        (None, Some((d, _))) => ("fin", Some(side(d))),
        (None, None) => (unended, None),
    }
}

/// Names the file each response body was saved to.
fn attach_extracted(c: &mut model::Connection, ex: &Extractor) {
    for x in &mut c.http {
        if let Some(r) = &mut x.response {
            r.extracted = ex.written.get(&(c.id, r.head_offset)).cloned();
        }
    }
}

/// Records what the report shows of a connection's IP and link layers.
fn note_layers(conn: &mut Conn, dir: Dir, link: &Link, ip: &Ip) {
    let i = dir.index();
    conn.ip.version = if ip.src.is_ipv4() { 4 } else { 6 };
    if conn.ip.ttl[i].is_none() {
        conn.ip.ttl[i] = Some(ip.ttl);
    }
    conn.ip.dont_fragment[i] += ip.dont_fragment as u64;
    conn.ip.reassembled += ip.reassembled as u64;
    match link {
        Link::Ethernet { src, vlans, .. } => {
            conn.link.kind = "ethernet";
            if conn.link.mac[i].is_none() {
                conn.link.mac[i] = Some(mac(src));
                conn.link.vlans.clone_from(vlans);
            }
        }
        Link::Cooked => conn.link.kind = "cooked",
        Link::None => conn.link.kind = "none",
    }
}

fn mac(b: &[u8; 6]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Bytes this ACK acknowledges beyond the highest ACK its sender sent before (RFC 9293
/// §3.4: an ACK number is cumulative); None for the sender's first ACK.
fn newly_acked(highest: &mut Option<SeqNum>, ack: SeqNum) -> Option<u32> {
    let before = highest.replace(ack);
    match before {
        Some(prev) if ack.since(prev) > 0 => Some(ack.0.wrapping_sub(prev.0)),
        Some(prev) => {
            *highest = Some(prev);
            Some(0)
        }
        None => None,
    }
}

/// "MSS 1460, SACK_PERM, TS 1/0, WS 7" (RFC 9293 §3.2, RFC 7323, RFC 2018).
fn options_text(o: &TcpOptions) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(m) = o.mss {
        parts.push(format!("MSS {m}"));
    }
    if o.sack_permitted {
        parts.push("SACK_PERM".into());
    }
    if o.sack_blocks > 0 {
        parts.push(format!("SACK {} blocks", o.sack_blocks));
    }
    if let Some((a, b)) = o.timestamp {
        parts.push(format!("TS {a}/{b}"));
    }
    if let Some(w) = o.window_scale {
        parts.push(format!("WS {w}"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The frame's bytes before the TCP payload: link, IP and TCP headers.
fn header_bytes<'a>(data: &'a [u8], payload: &[u8]) -> &'a [u8] {
    let start = data.as_ptr() as usize;
    let at = (payload.as_ptr() as usize).wrapping_sub(start);
    if !payload.is_empty() && at <= data.len() {
        &data[..at]
    } else {
        &data[..data.len().min(128)]
    }
}

/// The parameters of a request target's query string (`/search?q=a+b&n=1`).
fn query_pairs(target: &str) -> Vec<(String, String)> {
    let Some((_, query)) = target.split_once('?') else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .take(1000)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A body's first bytes with its content coding undone (gzip, RFC 9110 §8.4.1.3), as
/// far as they go: what a browser shows. `body_sha256` stays over the coded bytes.
fn decoded<'a>(coded: &'a [u8], encoding: Option<&str>) -> std::borrow::Cow<'a, [u8]> {
    use std::io::Read;
    if !encoding.is_some_and(|e| e.trim().eq_ignore_ascii_case("gzip")) {
        return std::borrow::Cow::Borrowed(coded);
    }
    let mut out = Vec::new();
    let mut d = flate2::read::GzDecoder::new(coded);
    let mut buf = [0u8; 4096];
    // A preview may end inside the stream: keep what decoded before that.
    while let Ok(n) = d.read(&mut buf) {
        if n == 0 || out.len() >= 4 * crate::http::message::PREVIEW {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out.truncate(crate::http::message::PREVIEW);
    std::borrow::Cow::Owned(out)
}

/// A text preview of a body's first bytes, or None for binary bodies.
fn preview(b: &[u8]) -> Option<String> {
    if b.is_empty() {
        return None;
    }
    let text = match std::str::from_utf8(b) {
        Ok(s) => s,
        // A preview may end inside a multi-byte character.
        Err(e) if e.valid_up_to() + 4 > b.len() => {
            std::str::from_utf8(&b[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    let printable = text.chars().all(|c| !c.is_control() || c.is_whitespace());
    printable.then(|| text.to_string())
}
