//! One TCP connection as the builder follows it: its two reassemblers and the sinks
//! that hand their events to the stream statistics and to the protocol above TCP, the
//! analyzer, the layers seen, and when its 4-tuple may start a new connection
//! (reuse after the end, TIME_WAIT for late packets; RFC 9293 §3.6.1).

use super::Limits;
use crate::analysis::TcpAnalyzer;
use crate::digest::{Digests, HashSink};
use crate::dissect::tunnel::Stack;
use crate::dissect::{Ip, Link};
use crate::flow::{Dir, Endpoint, FlowKey};
use crate::model;
use crate::protocol::{Setup, TcpProtocol};
use crate::reassembly::{CloseReason, SeqNum, StreamEvent, StreamReassembler, StreamSink};
use std::collections::BTreeMap;

/// What one direction's stream delivered.
#[derive(Default)]
pub struct StreamStats {
    pub bytes: u64,
    /// Payload bytes the snapshot length cut off this side's frames.
    pub cut_bytes: u64,
    /// None unless `--stream-hash` asked and the report lists the connection.
    pub hash: Option<HashSink>,
    pub gaps: Vec<model::Gap>,
    pub chunks: Option<Vec<[u64; 3]>>,
    max_chunks: usize,
    max_gaps: usize,
}

/// Feeds one direction's events to its stats and to the protocol above TCP.
pub struct DirSink<'a> {
    stats: &'a mut StreamStats,
    protocol: &'a mut dyn TcpProtocol,
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
                    && c.len() < self.stats.max_chunks
                {
                    c.push([*offset, bytes.len() as u64, *frame]);
                }
            }
            StreamEvent::Gap { offset, len } => {
                if self.stats.gaps.len() < self.stats.max_gaps {
                    self.stats.gaps.push(model::Gap {
                        offset: *offset,
                        len: *len,
                    });
                }
            }
            StreamEvent::Closed { .. } => {}
        }
        if self.protocol.reading() {
            self.protocol.event(self.client, &ev);
        }
    }
}

pub struct Conn {
    pub id: u64,
    pub client: Endpoint,
    pub server: Endpoint,
    pub reasm: [StreamReassembler; 2],
    pub streams: [StreamStats; 2],
    pub protocol: Box<dyn TcpProtocol>,
    pub tcp: TcpAnalyzer,
    /// Its segment rows are kept (within the report's budget).
    pub keep: bool,
    /// It is listed in the report (else only counted).
    pub listed: bool,
    pub segments: Vec<model::Segment>,
    pub omitted: u64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub packets: u64,
    pub payload_bytes: [u64; 2],
    pub analysis: BTreeMap<&'static str, u64>,
    /// The other side reset the connection: [c2s, s2c].
    pub reset_by_peer: [bool; 2],
    pub ip: model::IpLayer,
    pub link: model::LinkLayer,
    /// Highest ACK number each side has sent: [c2s, s2c].
    pub highest_ack: [Option<SeqNum>; 2],
    /// Holes given up because of the total bound on buffered bytes.
    pub total_bound_gaps: u64,
}

/// How a new connection is to be followed.
pub struct NewConn<'a> {
    pub id: u64,
    pub client: Endpoint,
    pub server: Endpoint,
    pub ts_us: i64,
    pub keep: bool,
    pub listed: bool,
    /// Its streams are hashed (`--stream-hash`, a listed connection).
    pub stream_hash: bool,
    pub extract: bool,
    pub keep_body_bytes: usize,
    pub limits: &'a Limits,
    pub digests: &'a Digests,
    pub key_log: Option<&'a std::sync::Arc<crate::keylog::KeyLog>>,
}

impl Conn {
    pub fn new(n: NewConn<'_>) -> Conn {
        let stats = || StreamStats {
            chunks: n.keep.then(Vec::new),
            hash: n.stream_hash.then(|| HashSink::new(Some(n.digests), n.id)),
            max_chunks: n.limits.chunks_per_stream,
            max_gaps: n.limits.gaps_per_stream,
            ..Default::default()
        };
        let max = n.limits.pending_per_direction;
        let protocol = super::registry::for_connection(&Setup {
            id: n.id,
            digests: n.digests,
            server_port: n.server.port,
            listed: n.listed,
            extract: n.extract,
            keep_body_bytes: n.keep_body_bytes,
            limits: n.limits,
            key_log: n.key_log,
        });
        Conn {
            id: n.id,
            client: n.client,
            server: n.server,
            reasm: [StreamReassembler::new(max), StreamReassembler::new(max)],
            streams: [stats(), stats()],
            protocol,
            tcp: TcpAnalyzer::new(!n.listed),
            keep: n.keep,
            listed: n.listed,
            segments: Vec::new(),
            omitted: 0,
            first_ts: n.ts_us,
            last_ts: n.ts_us,
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

    /// Direction `d`'s reassembler and the sink its events go to.
    pub fn sink(&mut self, d: Dir) -> (&mut StreamReassembler, DirSink<'_>) {
        let i = d.index();
        (
            &mut self.reasm[i],
            DirSink {
                stats: &mut self.streams[i],
                protocol: self.protocol.as_mut(),
                client: d == Dir::C2S,
            },
        )
    }

    /// Ends both directions (a reset one as reset) and the protocol above.
    pub fn finish(&mut self) {
        for d in [Dir::C2S, Dir::S2C] {
            let reason = if self.reset_by_peer[d.index()] {
                CloseReason::Rst
            } else {
                CloseReason::Fin
            };
            let (r, mut sink) = self.sink(d);
            r.finish(&mut sink, reason);
        }
        self.protocol.finish();
    }

    /// Out-of-order bytes both directions hold.
    pub fn pending(&self) -> usize {
        self.reasm
            .iter()
            .map(StreamReassembler::pending_bytes)
            .sum()
    }

    /// Both directions ended (FIN delivered), or a side reset the connection.
    pub fn has_ended(&self) -> bool {
        self.tcp.first_rst.is_some() || self.reasm.iter().all(|r| r.closed().is_some())
    }

    /// Whether a SYN from the client starts a new connection on this 4-tuple.
    pub fn is_reused_by(&self, syn_seq: u32) -> bool {
        let over = self.has_ended() || self.payload_bytes.iter().any(|b| *b > 0);
        over && self
            .tcp
            .handshake
            .client_isn
            .is_some_and(|isn| isn != syn_seq)
    }

    /// Records what the report shows of the connection's IP and link layers.
    pub fn note_layers(&mut self, dir: Dir, link: &Link, ip: &Ip, stack: &Stack) {
        let i = dir.index();
        if self.link.stack.is_empty() {
            self.link.stack = stack.to_string();
        }
        self.ip.version = if ip.src.is_ipv4() { 4 } else { 6 };
        if self.ip.ttl[i].is_none() {
            self.ip.ttl[i] = Some(ip.ttl);
        }
        self.ip.dont_fragment[i] += ip.dont_fragment as u64;
        self.ip.reassembled += ip.reassembled as u64;
        match link {
            Link::Ethernet { src, vlans, .. } => {
                self.link.kind = "ethernet";
                if self.link.mac[i].is_none() {
                    self.link.mac[i] = Some(mac(src));
                    self.link.vlans.clone_from(vlans);
                }
            }
            Link::Cooked => self.link.kind = "cooked",
            Link::None => self.link.kind = "none",
        }
    }

    /// Bytes this ACK from `dir` acknowledges beyond the highest ACK its sender sent
    /// before (RFC 9293 §3.4: an ACK number is cumulative); None for its first ACK.
    pub fn newly_acked(&mut self, dir: Dir, ack: SeqNum) -> Option<u32> {
        let highest = &mut self.highest_ack[dir.index()];
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
}

/// `00:1b:21:3a:4f:5c`, in one allocation (once per direction of every connection).
fn mac(b: &[u8; 6]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(17);
    for (i, x) in b.iter().enumerate() {
        let sep = if i > 0 { ":" } else { "" };
        write!(s, "{sep}{x:02x}").expect("writing to a String");
    }
    s
}

/// How long (capture time) the tuple of an ended connection absorbs late packets:
/// 2 MSL, 60 s on Linux (RFC 9293 §3.6.1).
const TIME_WAIT_US: i64 = 60_000_000;

/// The 4-tuples of connections already reported, and when a packet last used each:
/// a late ACK or FIN there is counted, not taken for a new connection; a SYN starts a
/// new one.
pub struct TimeWait {
    ended: foldhash::HashMap<FlowKey, i64>,
    max: usize,
    /// Packets absorbed.
    pub late_packets: u64,
}

impl TimeWait {
    pub fn new(max: usize) -> Self {
        TimeWait {
            ended: Default::default(),
            max,
            late_packets: 0,
        }
    }

    /// Whether a packet on `key` with no live connection belongs to an ended one (and
    /// is counted as late); a SYN without ACK ends the waiting.
    pub fn absorbs(&mut self, key: &FlowKey, ts_us: i64, opening_syn: bool) -> bool {
        let Some(seen) = self.ended.get_mut(key) else {
            return false;
        };
        if opening_syn {
            self.ended.remove(key);
            return false;
        }
        *seen = ts_us;
        self.late_packets += 1;
        true
    }

    /// Forgets tuples quiet for longer than TIME_WAIT and remembers `ended` (all of
    /// them are forgotten when the bound would be passed).
    pub fn remember(&mut self, ended: Vec<FlowKey>, now: i64) {
        let wait = now.saturating_sub(TIME_WAIT_US);
        self.ended.retain(|_, seen| *seen >= wait);
        if self.ended.len() + ended.len() > self.max {
            self.ended.clear();
        }
        self.ended.extend(ended.into_iter().map(|k| (k, now)));
    }
}
