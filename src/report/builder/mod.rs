//! Runs frames through dissect → flow → reassembly → the protocols above, and collects
//! the report. This module is the frame driver; `connection` follows one connection,
//! `registry` lists the protocols behind the seams of `crate::protocol` (`http::on_tcp`,
//! `tls::on_tcp`, `dns::on_udp`), `to_model` maps to the report model, `options` says
//! what is asked (its bounds: `crate::limits`).
//! Memory is bounded (see [`Limits`]), and what a bound cut is counted in the report.

mod connection;
mod options;
mod registry;
mod to_model;

pub use crate::limits::Limits;
pub use options::Options;
pub use registry::DICTIONARY;
pub use to_model::flag_names;

use crate::analysis::SegmentInfo;
use crate::capture::Frame;
use crate::digest::Digests;
use crate::dissect::{Dissector, Ip, Packet, Tcp, flags};
use crate::extract::BodyPiece;
use crate::extract::Extractor;
use crate::flow::{self, Dir, Endpoint, FlowKey, FlowTable};
use crate::model::{self, Close, Report};
use crate::ports;
use crate::protocol::{Budget, Datagram, Describe, TcpTotals, UdpProtocol};
use crate::reassembly::{SegFlags, SeqNum};
use connection::{Conn, NewConn, TimeWait};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use to_model::{close_of, header_bytes, options_text, to_model};

/// How long (capture time) an ended connection stays in the table before it is
/// reported and dropped.
const CLOSED_LINGER_US: i64 = 2_000_000;

/// Builds a report from frames, one at a time.
pub struct ReportBuilder {
    opts: Options,
    dissector: Dissector,
    table: FlowTable<Box<Conn>>,
    next_id: u64,
    /// Connections reported, in the order they closed (filled on the hashing thread,
    /// once their hashes are done).
    finished: Arc<Mutex<Vec<model::Connection>>>,
    /// SHA-256 of the listed streams and bodies, on a second thread.
    digests: Digests,
    source: model::Source,
    reasons: HashMap<String, u64>,
    /// Frames that are not TCP, by what they carry ("UDP/DNS", "ARP", "ICMP").
    other_kinds: HashMap<String, u64>,
    segment_budget: usize,
    segments_omitted: u64,
    last_expiry_ts: i64,
    analysis_totals: BTreeMap<&'static str, u64>,
    extractor: Option<Extractor>,
    /// What the protocols above TCP found, over every connection, listed or not.
    above_tcp: TcpTotals,
    close_counts: BTreeMap<&'static str, u64>,
    connections_omitted: u64,
    exchanges_omitted: u64,
    /// HTTP exchanges in the listed connections so far.
    listed_exchanges: usize,
    time_wait: TimeWait,
    /// Keys of connections in the order they ended (some may be gone since).
    ended: std::collections::VecDeque<FlowKey>,
    /// The protocols above UDP (DNS today).
    above_udp: Vec<Box<dyn UdpProtocol>>,
    /// Body bytes kept in the listed exchanges (for HAR).
    kept_bodies: usize,
    /// Where finished connections go as they close (`--format jsonl`), instead of the
    /// report's list: the report's memory does not grow with the capture.
    stream: Option<Arc<Mutex<ConnectionSink>>>,
    /// Out-of-order bytes buffered across all connections, and the holes given up
    /// because of that total.
    pending_total: usize,
    total_bound_gaps: u64,
    /// Bounds reached, with how much each cut.
    reached: BTreeMap<&'static str, u64>,
    /// Run once every listed connection is finished ([`ReportBuilder::when_listed_done`]).
    listed_done: Option<ListedHook>,
    /// Listed connections finished so far.
    listed_finished: u64,
}

/// Where finished connections go as they close.
pub type ConnectionSink = Box<dyn FnMut(model::Connection) + Send>;

/// Given the listed connections, sorted by number, once none can change any more.
pub type ListedHook = Box<dyn FnOnce(&[model::Connection]) + Send>;

/// The TCP segment of a frame, with its addresses.
struct SegmentIn<'p, 'f> {
    frame: &'p Frame<'f>,
    packet: &'p Packet<'f>,
    ip: &'p Ip,
    tcp: &'p Tcp<'f>,
    src: Endpoint,
    dst: Endpoint,
}

impl ReportBuilder {
    pub fn new(opts: Options) -> Self {
        ReportBuilder {
            segment_budget: opts.limits.segment_rows,
            table: FlowTable::new(opts.limits.connections),
            dissector: Dissector::with_fragment_bound(opts.limits.fragmented_datagrams),
            next_id: 0,
            finished: Arc::new(Mutex::new(Vec::new())),
            digests: Digests::new(),
            source: model::Source::default(),
            reasons: HashMap::new(),
            other_kinds: HashMap::new(),
            segments_omitted: 0,
            last_expiry_ts: i64::MIN,
            analysis_totals: BTreeMap::new(),
            extractor: None,
            above_tcp: TcpTotals::default(),
            close_counts: BTreeMap::new(),
            connections_omitted: 0,
            exchanges_omitted: 0,
            listed_exchanges: 0,
            time_wait: TimeWait::new(opts.limits.ended_tuples),
            ended: std::collections::VecDeque::new(),
            above_udp: registry::datagram_protocols(&opts.limits),
            kept_bodies: 0,
            stream: None,
            pending_total: 0,
            total_bound_gaps: 0,
            reached: BTreeMap::new(),
            listed_done: None,
            listed_finished: 0,
            opts,
        }
    }

    /// Runs `hook` on the hashing thread with the listed connections, sorted by number,
    /// as soon as the last of them is reported while more of the file is read: the
    /// listing is full (`--list` of them, numbered first) and each is finished, so the
    /// report's list is final. A renderer can start on it then, on a core the rest of
    /// the file leaves idle. Not run when the listing is final only at the end of the
    /// file (fewer connections than `--list`, a listed one still open then), nor with
    /// `--list all`, `--connection` or [`ReportBuilder::stream_to`].
    pub fn when_listed_done(mut self, hook: ListedHook) -> Self {
        self.listed_done = Some(hook);
        self
    }

    /// Also save every response body under the extractor's directory (`--extract`).
    pub fn extract_to(mut self, extractor: Extractor) -> Self {
        self.extractor = Some(extractor);
        self
    }

    /// Hands each connection to `sink` as it closes instead of keeping it for the report.
    pub fn stream_to(mut self, sink: ConnectionSink) -> Self {
        self.stream = Some(Arc::new(Mutex::new(sink)));
        self
    }

    /// The hashing thread's handle: a file driver tells it which chunk of the file the
    /// frames lie in ([`Digests::share`]), so that their bytes are hashed uncopied.
    pub fn digests(&self) -> Digests {
        self.digests.clone()
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

    /// The steps of one frame: count it, dissect it, hand what is not TCP to its
    /// protocol (or count it), find or start its connection, feed the segment to the
    /// connection's reassemblers and analyzer, and keep its row.
    fn run_frame(&mut self, frame: &Frame<'_>, want_line: bool) -> Option<model::PacketLine> {
        let packet = self.dissector.dissect(frame);
        self.run_packet(frame, &packet, want_line)
    }

    /// Runs a frame that was dissected elsewhere (ahead, perhaps on another thread, by a
    /// dissector handed over with [`ReportBuilder::dissected_by`] at the end) through
    /// the rest of the pipeline.
    pub fn dissected(&mut self, frame: &Frame<'_>, packet: &Packet<'_>) {
        self.run_packet(frame, packet, false);
    }

    /// A dissector for frames decoded elsewhere (ahead of the pipeline), bounded as this
    /// report's limits say; hand it back with [`ReportBuilder::dissected_by`].
    pub fn new_dissector(&self) -> Dissector {
        Dissector::with_fragment_bound(self.opts.limits.fragmented_datagrams)
    }

    /// Takes the dissector that decoded the frames given to [`ReportBuilder::dissected`]
    /// (what it counted, such as fragments dropped, goes into the report).
    pub fn dissected_by(&mut self, dissector: Dissector) {
        self.dissector = dissector;
    }

    fn run_packet(
        &mut self,
        frame: &Frame<'_>,
        packet: &Packet<'_>,
        want_line: bool,
    ) -> Option<model::PacketLine> {
        self.source.packets += 1;
        self.source.bytes += frame.data.len() as u64;
        let (Some(ip), Some(tcp)) = (&packet.ip, &packet.tcp) else {
            self.not_tcp(frame, packet);
            return None;
        };
        self.expire(frame.ts_us);
        self.cap_lingering(frame.ts_us);
        self.enforce_total();
        let seg = SegmentIn {
            frame,
            packet,
            ip,
            tcp,
            src: Endpoint {
                ip: ip.src,
                port: tcp.src_port,
            },
            dst: Endpoint {
                ip: ip.dst,
                port: tcp.dst_port,
            },
        };
        let (key, _) = FlowKey::of(seg.src, seg.dst);
        // One lookup for a segment of a live connection; the rest take the long way.
        let conn = match self.table.get_mut(&key, frame.ts_us) {
            Some(conn) if !Self::opens_anew(conn, tcp) => conn,
            _ => {
                self.connection_for(&seg, key)?;
                self.table.get_mut(&key, frame.ts_us).expect("found above")
            }
        };
        let dir = if seg.src == conn.client {
            Dir::C2S
        } else {
            Dir::S2C
        };
        let pending_before = conn.pending();
        let ended_before = conn.has_ended();
        let (analysis, acked) = Self::feed(conn, dir, &seg);
        if !ended_before && conn.has_ended() {
            self.ended.push_back(key);
        }
        self.pending_total = (self.pending_total + conn.pending()).saturating_sub(pending_before);
        Self::extract(&mut self.extractor, conn);
        let keep =
            conn.keep && (self.segment_budget > 0 || self.opts.only_connection == Some(conn.id));
        if !keep && !want_line {
            conn.omitted += 1;
            return None;
        }
        let segment = Self::segment_row(conn, dir, &seg, analysis, acked, self.opts.header_hex);
        let line = want_line.then(|| packet_line(conn, &seg, &segment));
        if keep {
            self.segment_budget = self.segment_budget.saturating_sub(1);
            conn.segments.push(segment);
        } else {
            conn.omitted += 1;
        }
        line
    }

    /// A frame that is not a TCP segment: a UDP datagram goes to the protocol that
    /// wants it; the rest are counted (undecoded ones by reason).
    fn not_tcp(&mut self, frame: &Frame<'_>, packet: &Packet<'_>) {
        if let (Some(ip), Some(udp)) = (&packet.ip, &packet.udp) {
            self.source.non_tcp += 1;
            let port =
                ports::udp_service(udp.dst_port).or_else(|| ports::udp_service(udp.src_port));
            let kind = match port {
                Some(s) => format!("UDP/{s}"),
                None => "UDP".to_string(),
            };
            self.count_kind(kind);
            if let Some(p) = self
                .above_udp
                .iter_mut()
                .find(|p| p.wants(udp.src_port, udp.dst_port))
            {
                p.datagram(&Datagram {
                    frame: frame.number,
                    ts_us: frame.ts_us,
                    src: (ip.src, udp.src_port),
                    dst: (ip.dst, udp.dst_port),
                    payload: udp.payload,
                });
            }
            return;
        }
        if packet.fragment_held {
            return;
        }
        match (&packet.ip, &packet.stop) {
            (None, Some(reason)) => {
                self.source.undecoded += 1;
                let n = self.reasons.len();
                if let Some(c) = self.reasons.get_mut(reason) {
                    *c += 1;
                } else if n < self.opts.limits.frame_kinds {
                    self.reasons.insert(reason.clone(), 1);
                }
            }
            _ => {
                self.source.non_tcp += 1;
                let kind = packet.other.clone().unwrap_or_else(|| "other".into());
                self.count_kind(kind);
            }
        }
    }

    /// Counts a frame that is not TCP by what it carries (at most `Limits::frame_kinds`
    /// kinds; the rest as "other").
    fn count_kind(&mut self, kind: String) {
        let n = self.other_kinds.len();
        if let Some(c) = self.other_kinds.get_mut(&kind) {
            *c += 1;
        } else if n < self.opts.limits.frame_kinds {
            self.other_kinds.insert(kind, 1);
        } else {
            *self.other_kinds.entry("other".into()).or_default() += 1;
        }
    }

    /// Whether `tcp` is a SYN that starts a new connection on the tuple of `conn`, one
    /// that is over (a SYN of the same connection again is a retransmission).
    fn opens_anew(conn: &Conn, tcp: &Tcp<'_>) -> bool {
        tcp.flags & (flags::SYN | flags::ACK) == flags::SYN && conn.is_reused_by(tcp.seq)
    }

    /// Makes sure the segment's connection is in the table under `key`: the live one on
    /// its 4-tuple, or a new one (a SYN on a tuple whose connection is over starts a new
    /// one). None for a late packet of a connection already reported (TIME_WAIT).
    fn connection_for(&mut self, seg: &SegmentIn<'_, '_>, key: FlowKey) -> Option<()> {
        let ts = seg.frame.ts_us;
        let syn = seg.tcp.flags & flags::SYN != 0;
        let ack = seg.tcp.flags & flags::ACK != 0;
        let reused = self
            .table
            .get_mut(&key, ts)
            .is_some_and(|c| Self::opens_anew(c, seg.tcp));
        if reused && let Some(old) = self.table.remove(&key) {
            self.finish_conn(old, Close::Open);
        }
        if self.table.get_mut(&key, ts).is_none() {
            if self.time_wait.absorbs(&key, ts, syn && !ack) {
                return None;
            }
            let conn = Box::new(self.new_conn(seg.src, seg.dst, syn, ack, ts));
            for old in self.table.insert(key, ts, conn) {
                self.finish_conn(old, Close::Evicted);
            }
        }
        Some(())
    }

    /// Feeds a segment to its connection: the layers seen, the sender's reassembler,
    /// the ACK to the other side's, and the analyzer. Gives the analysis and the bytes
    /// newly acknowledged.
    fn feed(
        conn: &mut Conn,
        dir: Dir,
        seg: &SegmentIn<'_, '_>,
    ) -> (Vec<model::Finding>, Option<u32>) {
        let tcp = seg.tcp;
        conn.packets += 1;
        conn.last_ts = seg.frame.ts_us;
        if conn.listed {
            // What the report shows of the layers: only a listed connection's.
            conn.note_layers(dir, &seg.packet.link, seg.ip, &seg.packet.stack);
        }
        let wire_len = tcp.payload.len() as u32 + tcp.payload_missing;
        conn.payload_bytes[dir.index()] += wire_len as u64;
        conn.streams[dir.index()].cut_bytes += u64::from(tcp.payload_missing);
        let ackf = tcp.flags & flags::ACK != 0;
        let seg_flags = SegFlags {
            syn: tcp.flags & flags::SYN != 0,
            fin: tcp.flags & flags::FIN != 0,
            rst: tcp.flags & flags::RST != 0,
        };
        let effect = {
            let (r, mut sink) = conn.sink(dir);
            r.segment(
                seg.frame.number,
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
        let info = SegmentInfo {
            frame: seg.frame.number,
            ts_us: seg.frame.ts_us,
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
        for a in &analysis {
            *conn.analysis.entry(a.as_str()).or_default() += 1;
        }
        let acked = ackf
            .then(|| conn.newly_acked(dir, SeqNum(tcp.ack)))
            .flatten();
        (analysis, acked)
    }

    /// The segment's row in the report.
    fn segment_row(
        conn: &Conn,
        dir: Dir,
        seg: &SegmentIn<'_, '_>,
        analysis: Vec<model::Finding>,
        acked: Option<u32>,
        header_hex: bool,
    ) -> model::Segment {
        let (tcp, ip) = (seg.tcp, seg.ip);
        let syn = tcp.flags & flags::SYN != 0;
        let ackf = tcp.flags & flags::ACK != 0;
        // Relative as Wireshark counts (the SYN 0, the first data byte 1). A number up to
        // negative, not as 4294965837.
        let rel = |base: Option<SeqNum>, n: u32| {
            base.map(|b| i64::from(n.wrapping_sub(b.0).wrapping_add(1) as i32))
                .map(|r| if r < -(1 << 30) { r + (1 << 32) } else { r })
        };
        model::Segment {
            frame: seg.frame.number,
            ts_us: seg.frame.ts_us,
            dir,
            flags: flag_names(tcp.flags),
            rel_seq: rel(conn.reasm[dir.index()].base(), tcp.seq).unwrap_or(0),
            rel_ack: if ackf {
                rel(conn.reasm[dir.reverse().index()].base(), tcp.ack)
            } else {
                None
            },
            seq: tcp.seq,
            ack: tcp.ack,
            len: tcp.payload.len() as u32 + tcp.payload_missing,
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
            header_hex: header_hex.then(|| hex::encode(header_bytes(seg.frame.data, &tcp.payload))),
        }
    }

    fn new_conn(&mut self, src: Endpoint, dst: Endpoint, syn: bool, ack: bool, ts: i64) -> Conn {
        let id = self.next_id;
        self.next_id += 1;
        let (client, server) = if flow::src_is_client(src, dst, syn, ack) {
            (src, dst)
        } else {
            (dst, src)
        };
        // Rows are kept for listed connections only: the budget is theirs.
        let listed = self.listed(id);
        let keep = listed && (self.opts.only_connection.is_some() || self.segment_budget > 0);
        Conn::new(NewConn {
            id,
            client,
            server,
            ts_us: ts,
            keep,
            listed,
            stream_hash: listed && self.opts.stream_hash,
            extract: self.extractor.is_some(),
            keep_body_bytes: self.opts.keep_body_bytes,
            limits: &self.opts.limits,
            digests: &self.digests,
            key_log: self.opts.key_log.as_ref(),
        })
    }

    /// Whether connection `id` is listed in the report: the one asked for, else the
    /// first `listed_connections` by order of first packet. The others are summed
    /// into the totals, and their hashes are not computed.
    fn listed(&self, id: u64) -> bool {
        match self.opts.only_connection {
            Some(n) => n == id,
            None => id < self.opts.limits.listed_connections as u64,
        }
    }

    /// Hands the body pieces the connection's protocol produced to the extractor.
    fn extract(extractor: &mut Option<Extractor>, conn: &mut Conn) {
        let Some(ex) = extractor else {
            return;
        };
        for piece in conn.protocol.take_bodies() {
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
            self.finish_conn(conn, Close::Timeout);
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
            self.finish_conn(conn, Close::Open);
        }
        self.time_wait.remember(ended, now);
    }

    /// Ended connections wait out [`CLOSED_LINGER_US`] for late ACKs, but past
    /// `Limits::lingering_connections` of them the first to end are reported (down to
    /// three quarters of it) and their 4-tuples remembered as ended: a fast network
    /// ends thousands of connections a second, each holding its parsers. What still
    /// comes for them is counted as late.
    fn cap_lingering(&mut self, now: i64) {
        let max = self.opts.limits.lingering_connections;
        if self.ended.len() <= max {
            return;
        }
        let mut gone = Vec::new();
        while self.ended.len() > max / 4 * 3 {
            let key = self.ended.pop_front().expect("longer than the bound");
            // The key may have been reported since, or taken by a new connection.
            if self.table.get_mut(&key, now).is_some_and(|c| c.has_ended())
                && let Some(conn) = self.table.remove(&key)
            {
                gone.push(key);
                self.finish_conn(conn, Close::Open);
            }
        }
        self.time_wait.remember(gone, now);
    }

    /// Bounded in total: while the out-of-order bytes of all connections are above
    /// `pending_total`, the hole whose buffered data came first (the lowest frame) is
    /// given up as a gap, until 90% of the bound is left. Counted per connection and
    /// in the totals.
    fn enforce_total(&mut self) {
        let bound = self.opts.limits.pending_total;
        if self.pending_total <= bound {
            return;
        }
        let target = bound / 10 * 9;
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

    /// A connection ended (or the capture did): its counts go into the totals, and a
    /// listed one is described, cut to the report's budgets, and handed to the hashing
    /// thread, which writes it out once its hashes are done.
    fn finish_conn(&mut self, mut c: Box<Conn>, unended: Close) {
        self.pending_total = self.pending_total.saturating_sub(c.pending());
        c.finish();
        Self::extract(&mut self.extractor, &mut c);
        let (exchanges, omitted) = self.count(&c, unended);
        if self.opts.only_connection.is_some_and(|n| n != c.id) {
            return;
        }
        if !c.listed {
            self.connections_omitted += 1;
            *self.reached.entry("listed_connections").or_default() += 1;
            self.exchanges_omitted += exchanges - omitted;
            return;
        }
        // Rows the budget cut, of the connections listed (the others are counted whole
        // in `connections_omitted`).
        self.segments_omitted += c.omitted;
        let mut how = Describe {
            keep_bodies: self.opts.keep_body_bytes > 0,
            budget: Budget {
                limits: &self.opts.limits,
                kept_body_bytes: &mut self.kept_bodies,
                listed_exchanges: &mut self.listed_exchanges,
                exchanges_omitted: &mut self.exchanges_omitted,
                reached: &mut self.reached,
            },
            extracted: self.extractor.as_ref(),
        };
        let model = to_model(*c, unended, &mut how);
        self.emit(model);
    }

    /// Counts an ended connection into the totals (listed or not): its analysis, how
    /// it closed, and what the protocol above found. Gives its exchanges and those
    /// of them its own bound left out.
    fn count(&mut self, c: &Conn, unended: Close) -> (u64, u64) {
        for (k, v) in &c.analysis {
            *self.analysis_totals.entry(k).or_default() += v;
        }
        // Counted straight into the totals (no map of its own per connection).
        let before = (self.above_tcp.exchanges, self.above_tcp.omitted);
        c.protocol.count(&mut self.above_tcp);
        let exchanges = self.above_tcp.exchanges - before.0;
        let omitted = self.above_tcp.omitted - before.1;
        self.exchanges_omitted += omitted;
        for (limit, n) in std::mem::take(&mut self.above_tcp.cuts) {
            *self.reached.entry(limit).or_default() += n;
        }
        *self
            .close_counts
            .entry(close_of(&c.tcp, unended).0.as_str())
            .or_default() += 1;
        (exchanges, omitted)
    }

    /// Queues a listed connection behind its bytes on the hashing thread, which
    /// resolves its hashes and hands it to the stream sink (JSON Lines) or the
    /// finished list; the last of the `--list` first ones makes the listing final.
    fn emit(&mut self, mut model: model::Connection) {
        self.listed_finished += 1;
        let done = if self.listed_finished == self.opts.limits.listed_connections as u64
            && self.opts.only_connection.is_none()
            && self.stream.is_none()
        {
            self.listed_done.take()
        } else {
            None
        };
        let early = done.is_some();
        // Written out on the hashing thread, once the hashes of its bytes are done.
        let (stream, finished) = (self.stream.clone(), self.finished.clone());
        self.digests.then(
            model.id,
            Box::new(move |results| {
                for hash in model.hashes_mut() {
                    results.resolve(hash);
                }
                match stream {
                    Some(sink) => (sink.lock().unwrap_or_else(|p| p.into_inner()))(model),
                    None => {
                        let mut list = finished.lock().unwrap_or_else(|p| p.into_inner());
                        list.push(model);
                        if let Some(hook) = done {
                            list.sort_by_key(|c| c.id);
                            hook(&list);
                        }
                    }
                }
            }),
        );
        if early {
            // The connections after it are only counted: nothing else fills the batch.
            self.digests.send_now();
        }
    }

    /// Ends the capture: every connection still open is reported.
    pub fn finish(mut self, mut source: model::Source, read_error: Option<String>) -> Report {
        // Listed connections still open now make the listing final only here, where
        // the renderer serialises on two threads itself: the hook is not for the end.
        self.listed_done = None;
        let mut open = self.table.drain();
        open.sort_by_key(|c| c.id);
        let evicted = self.table.evicted();
        for c in open {
            self.finish_conn(c, Close::Open);
        }
        self.digests.finish();
        let mut finished =
            std::mem::take(&mut *self.finished.lock().unwrap_or_else(|p| p.into_inner()));
        finished.sort_by_key(|c| c.id);
        let mut reasons: Vec<(String, u64)> = self.reasons.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        source.packets = self.source.packets;
        source.bytes = self.source.bytes;
        source.filtered_out = self.source.filtered_out;
        source.undecoded = self.source.undecoded;
        source.non_tcp = self.source.non_tcp;
        let mut kinds: Vec<(String, u64)> = self.other_kinds.into_iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        source.non_tcp_kinds = kinds;
        source.undecoded_reasons = reasons;
        source.read_error = read_error;
        if let Some(ex) = &self.extractor {
            source.extracted_to = Some(ex.dir().display().to_string());
            source.extracted_files = Some(ex.written.len() as u64);
            source.extract_error = ex.error.clone();
        }
        let mut reached = self.reached;
        for p in &self.above_udp {
            p.cuts(&mut reached);
        }
        let bounds = self.opts.limits.table();
        for (name, cut) in [
            ("connections", evicted),
            ("segment_rows", self.segments_omitted),
            ("pending_total", self.total_bound_gaps),
            ("fragmented_datagrams", self.dissector.fragments_dropped()),
        ] {
            if cut > 0 && bounds.iter().any(|l| l.0 == name && l.1 > 0) {
                *reached.entry(name).or_default() += cut;
            }
        }
        let limits_reached = bounds
            .into_iter()
            .filter_map(|(name, value, what, option)| {
                reached.get(name).map(|cut| model::LimitReached {
                    limit: name,
                    value: value as u64,
                    what,
                    option,
                    cut: *cut,
                })
            })
            .collect();
        let totals = model::Totals {
            connections: self.next_id,
            connections_omitted: self.connections_omitted,
            late_packets: self.time_wait.late_packets,
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
            limits_reached,
        };
        let mut report = Report {
            wirelab_report: 1,
            source,
            connections: finished,
            totals,
            records: vec![registry::totals_above_tcp(
                self.above_tcp,
                self.exchanges_omitted,
            )],
            lab: None,
            trace: None,
        };
        for p in self.above_udp {
            p.finish(&mut report);
        }
        report
    }
}

/// The one-line description of a segment, for live capture and replay.
fn packet_line(
    conn: &Conn,
    seg: &SegmentIn<'_, '_>,
    segment: &model::Segment,
) -> model::PacketLine {
    model::PacketLine {
        connection: conn.id,
        src: model::Endpoint {
            ip: seg.src.ip.to_string(),
            port: seg.src.port,
        },
        dst: model::Endpoint {
            ip: seg.dst.ip.to_string(),
            port: seg.dst.port,
        },
        service: ports::service(conn.server.port).map(str::to_string),
        http_line: registry::message_line(&seg.tcp.payload),
        segment: segment.clone(),
    }
}
