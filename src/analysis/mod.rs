//! Stage 5, beside the protocols: TCP analysis of each segment, the handshake, RTT
//! samples and the history.
//!
//! Names follow DESIGN.md (and Wireshark's `tcp.analysis.*` where they overlap):
//! retransmission, spurious-retransmission, out-of-order, duplicate-ack, zero-window,
//! window-full, keep-alive, previous-segment-lost, acked-unseen, super-segment; plus
//! overlap-conflict (a retransmitted copy that differs) and truncated (cut by the
//! snapshot length). Unlike Wireshark, "seen before" is decided by the reassembler's
//! exact byte accounting rather than by sequence numbers alone.

use crate::dissect::{TcpOptions, flags};
use crate::flow::Dir;
use crate::reassembly::{FrameNo, SegmentEffect, SeqNum};
use std::collections::VecDeque;

/// What the analysis finds in a segment. Each serialises to its name in the JSON
/// contract (`"out-of-order"`), and each has an entry in the glossary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Finding {
    /// Bytes sent again after the original was seen (or lost before the capture).
    Retransmission,
    /// Sent again although the receiver had already acknowledged them.
    SpuriousRetransmission,
    /// Fills a hole shortly after later data: reordered on the way, not resent.
    OutOfOrder,
    /// The same ACK again with data outstanding: the receiver misses something.
    DuplicateAck,
    /// The sender's receive buffer is full (window 0).
    ZeroWindow,
    /// The segment fills the receiver's advertised window exactly.
    WindowFull,
    /// A probe of at most one byte just below the next sequence number.
    KeepAlive,
    /// A hole before this segment: the capture never saw those bytes.
    PreviousSegmentLost,
    /// Acknowledges bytes the capture never saw.
    AckedUnseen,
    /// Longer than the peer's MSS: the capture saw it before segmentation offload split it.
    SuperSegment,
    /// A resent copy whose bytes differ from the first copy's.
    OverlapConflict,
    /// Cut by the capture's snapshot length.
    Truncated,
}

impl Finding {
    /// Every finding, in the order the report lists them.
    pub const ALL: [Finding; 12] = [
        Finding::Retransmission,
        Finding::SpuriousRetransmission,
        Finding::OutOfOrder,
        Finding::DuplicateAck,
        Finding::ZeroWindow,
        Finding::WindowFull,
        Finding::KeepAlive,
        Finding::PreviousSegmentLost,
        Finding::AckedUnseen,
        Finding::SuperSegment,
        Finding::OverlapConflict,
        Finding::Truncated,
    ];

    /// The name as the report and the glossary write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::Retransmission => "retransmission",
            Finding::SpuriousRetransmission => "spurious-retransmission",
            Finding::OutOfOrder => "out-of-order",
            Finding::DuplicateAck => "duplicate-ack",
            Finding::ZeroWindow => "zero-window",
            Finding::WindowFull => "window-full",
            Finding::KeepAlive => "keep-alive",
            Finding::PreviousSegmentLost => "previous-segment-lost",
            Finding::AckedUnseen => "acked-unseen",
            Finding::SuperSegment => "super-segment",
            Finding::OverlapConflict => "overlap-conflict",
            Finding::Truncated => "truncated",
        }
    }

    /// A copy of bytes sent before: retransmitted, spuriously or not, or reordered.
    pub fn is_resend(self) -> bool {
        matches!(
            self,
            Finding::Retransmission | Finding::SpuriousRetransmission | Finding::OutOfOrder
        )
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One segment as the analyzer sees it.
pub struct SegmentInfo<'a> {
    pub frame: FrameNo,
    pub ts_us: i64,
    pub dir: Dir,
    pub seq: SeqNum,
    pub ack: SeqNum,
    pub flags: u8,
    pub len: u32,
    pub window: u16,
    pub options: &'a TcpOptions,
    pub payload_missing: u32,
}

/// The three-way handshake (RFC 9293 §3.5) as captured.
#[derive(Clone, Debug, Default)]
pub struct Handshake {
    pub syn_frame: Option<FrameNo>,
    pub synack_frame: Option<FrameNo>,
    pub ack_frame: Option<FrameNo>,
    pub syn_ts: i64,
    pub synack_ts: i64,
    pub ack_ts: i64,
    pub client_isn: Option<u32>,
    pub server_isn: Option<u32>,
    pub client: TcpOptions,
    pub server: TcpOptions,
}

impl Handshake {
    /// SYN to the client's ACK: the initial RTT as Wireshark's `tcp.analysis.initial_rtt`.
    pub fn rtt_us(&self) -> Option<i64> {
        self.ack_frame.map(|_| self.ack_ts - self.syn_ts)
    }
}

/// An RTT sample: a data segment and the first ACK that covered it (Karn's rule: never
/// a retransmitted segment), with the smoothed estimate after it (RFC 6298 §2,
/// EstimatedRTT = 0.875 · EstimatedRTT + 0.125 · SampleRTT).
#[derive(Clone, Debug, PartialEq)]
pub struct RttSample {
    pub frame: FrameNo,
    pub ack_frame: FrameNo,
    pub rtt_us: i64,
    pub estimated_us: f64,
}

/// RTT samples kept per connection (the rest only update the estimate).
pub const MAX_RTT_SAMPLES: usize = 32;

#[derive(Default)]
struct DirState {
    /// Highest sequence number sent + 1 (SYN and FIN count).
    next_seq: Option<SeqNum>,
    last_ack: Option<SeqNum>,
    last_window: Option<u16>,
    last_data_ts: i64,
    /// Duplicate ACKs this side sent in a row for `last_ack`, and when the last came.
    dup_acks: u32,
    last_dup_ack_ts: i64,
    /// Unacknowledged first-transmission segments: (end seq, frame, ts).
    in_flight: VecDeque<(SeqNum, FrameNo, i64)>,
    window_shift: u8,
}

/// The flags the analysis reads.
#[derive(Clone, Copy)]
struct Flags {
    syn: bool,
    fin: bool,
    rst: bool,
    ack: bool,
}

impl Flags {
    fn of(bits: u8) -> Flags {
        Flags {
            syn: bits & flags::SYN != 0,
            fin: bits & flags::FIN != 0,
            rst: bits & flags::RST != 0,
            ack: bits & flags::ACK != 0,
        }
    }
}

/// Per-connection analyzer.
#[derive(Default)]
pub struct TcpAnalyzer {
    dirs: [DirState; 2],
    pub handshake: Handshake,
    pub rtt_samples: Vec<RttSample>,
    pub rtt_estimated_us: Option<f64>,
    /// Zeek-style history: upper case from the client, lower case from the server.
    pub history: String,
    pub first_fin: Option<(Dir, FrameNo)>,
    pub first_rst: Option<(Dir, FrameNo)>,
    /// Smallest scaled window each side advertised.
    pub min_window: [Option<u64>; 2],
    /// Only the analysis names are wanted (a connection the report does not list):
    /// no history, no RTT samples. The names are those of a full analysis.
    count_only: bool,
}

impl TcpAnalyzer {
    /// An analyzer of a connection; `count_only` for one whose analysis names alone
    /// are wanted (see the field).
    pub fn new(count_only: bool) -> Self {
        TcpAnalyzer {
            count_only,
            ..Self::default()
        }
    }

    /// Window scaling applies only when both SYNs carried the option (RFC 7323 §2.2).
    fn scaling(&self) -> bool {
        self.handshake.client.window_scale.is_some() && self.handshake.server.window_scale.is_some()
    }

    /// The effective receive window a segment advertises, in bytes.
    pub fn scaled_window(&self, dir: Dir, window: u16, syn: bool) -> u64 {
        if syn || !self.scaling() {
            window as u64
        } else {
            (window as u64) << self.dirs[dir.index()].window_shift
        }
    }

    fn mark(&mut self, dir: Dir, c: char) {
        if self.count_only {
            return;
        }
        let c = if dir == Dir::C2S {
            c.to_ascii_uppercase()
        } else {
            c
        };
        if !self.history.contains(c) {
            self.history.push(c);
        }
    }

    /// Analyzes one segment after the reassembler took it; returns its analysis names,
    /// in the order the report lists them: what its sequence numbers say (a probe, a
    /// hole before it, bytes sent again), a copy that differs, what its window and ACK
    /// say, then what the capture did to it.
    pub fn segment(&mut self, s: &SegmentInfo<'_>, eff: &SegmentEffect) -> Vec<Finding> {
        let f = Flags::of(s.flags);
        self.handshake_step(s, f.syn, f.ack);
        self.record_history(s, f);
        // SYN and FIN each take a sequence number (RFC 9293 §3.4).
        let end = s.seq.plus(s.len + f.syn as u32 + f.fin as u32);
        let mut out = Vec::new();
        out.extend(self.sequence_finding(s, eff, f, end));
        if eff.conflict {
            out.push(Finding::OverlapConflict);
        }
        self.window_and_ack_findings(s, f, end, &mut out);
        let peer_mss = match s.dir {
            Dir::C2S => self.handshake.server.mss,
            Dir::S2C => self.handshake.client.mss,
        };
        if peer_mss.is_some_and(|m| s.len > m as u32) {
            out.push(Finding::SuperSegment);
        }
        if s.payload_missing > 0 {
            out.push(Finding::Truncated);
        }
        self.update(s, f, end, &out);
        out
    }

    /// The history letters (Zeek's conn.log) and the first FIN and RST.
    fn record_history(&mut self, s: &SegmentInfo<'_>, f: Flags) {
        let first = if f.syn && f.ack {
            'h'
        } else if f.syn {
            's'
        } else {
            'a'
        };
        self.mark(s.dir, first);
        if s.len > 0 {
            self.mark(s.dir, 'd');
        }
        if f.fin {
            self.mark(s.dir, 'f');
            self.first_fin.get_or_insert((s.dir, s.frame));
        }
        if f.rst {
            self.mark(s.dir, 'r');
            self.first_rst.get_or_insert((s.dir, s.frame));
        }
    }

    /// What the segment's place in its side's sequence says: a keep-alive probe, a
    /// hole before it, or bytes sent before (resent, reordered, or resent needlessly).
    fn sequence_finding(
        &self,
        s: &SegmentInfo<'_>,
        eff: &SegmentEffect,
        f: Flags,
        end: SeqNum,
    ) -> Option<Finding> {
        let st = &self.dirs[s.dir.index()];
        let peer = &self.dirs[s.dir.reverse().index()];
        let next = st.next_seq?;
        let keep_alive = s.len <= 1 && !f.syn && !f.fin && !f.rst && s.seq.plus(1) == next;
        if keep_alive {
            return Some(Finding::KeepAlive);
        }
        if f.syn || s.len + f.fin as u32 == 0 {
            return None;
        }
        if s.seq > next {
            return Some(Finding::PreviousSegmentLost);
        }
        if s.seq == next {
            return None;
        }
        // Wireshark's threshold: the handshake's RTT, or 3 ms without one.
        let irtt = self.handshake.rtt_us().filter(|r| *r > 0).unwrap_or(3_000);
        // Asked for by two or more duplicate ACKs just before (within 20 ms, as
        // Wireshark's fast retransmission): the sender resends what the receiver is
        // missing (RFC 5681 §3.2), even when the capture never saw the original (lost
        // before the capture point).
        let fast = peer.dup_acks >= 2
            && peer.last_ack == Some(s.seq)
            && s.ts_us - peer.last_dup_ack_ts < 20_000;
        Some(if fast {
            Finding::Retransmission
        } else if eff.new_bytes > 0 && s.ts_us - st.last_data_ts < irtt {
            Finding::OutOfOrder
        } else if peer.last_ack.is_some_and(|a| a >= end) {
            Finding::SpuriousRetransmission
        } else {
            Finding::Retransmission
        })
    }

    /// What the segment's window and ACK say: a zero window, a segment that fills the
    /// peer's window, a duplicate ACK, an ACK of bytes the capture never saw.
    fn window_and_ack_findings(
        &self,
        s: &SegmentInfo<'_>,
        f: Flags,
        end: SeqNum,
        out: &mut Vec<Finding>,
    ) {
        let st = &self.dirs[s.dir.index()];
        let peer = &self.dirs[s.dir.reverse().index()];
        if s.window == 0 && !f.syn && !f.fin && !f.rst {
            out.push(Finding::ZeroWindow);
        }
        if s.len > 0
            && let (Some(a), Some(w)) = (peer.last_ack, peer.last_window)
            && end == a.plus(self.scaled_window(s.dir.reverse(), w, false) as u32)
            && w > 0
        {
            out.push(Finding::WindowFull);
        }
        let seglen = s.len + f.syn as u32 + f.fin as u32;
        if f.ack && seglen == 0 && !f.rst {
            let outstanding = peer.next_seq.is_some_and(|n| n > s.ack);
            if st.last_ack == Some(s.ack) && st.last_window == Some(s.window) && outstanding {
                out.push(Finding::DuplicateAck);
            }
        }
        if f.ack && peer.next_seq.is_some_and(|n| s.ack > n) {
            out.push(Finding::AckedUnseen);
        }
    }

    /// The side's state after the segment: its next sequence number, the data in
    /// flight (for RTT samples, never a resent segment: Karn's rule), its ACK and
    /// window, the smallest window, and the RTT sample its ACK gives.
    fn update(&mut self, s: &SegmentInfo<'_>, f: Flags, end: SeqNum, found: &[Finding]) {
        let retransmitted = found.iter().any(|a| a.is_resend());
        let win = self.scaled_window(s.dir, s.window, f.syn);
        let st = &mut self.dirs[s.dir.index()];
        if st.next_seq.is_none_or(|n| end > n) {
            st.next_seq = Some(end);
        }
        if s.len > 0 {
            st.last_data_ts = s.ts_us;
            if !retransmitted && !self.count_only && st.in_flight.len() < 1024 {
                st.in_flight.push_back((end, s.frame, s.ts_us));
            }
        }
        if f.ack {
            if found.contains(&Finding::DuplicateAck) {
                st.dup_acks += 1;
                st.last_dup_ack_ts = s.ts_us;
            } else if st.last_ack != Some(s.ack) {
                st.dup_acks = 0;
            }
            st.last_ack = Some(s.ack);
            st.last_window = Some(s.window);
        }
        let m = &mut self.min_window[s.dir.index()];
        if !f.rst && m.is_none_or(|m| win < m) {
            *m = Some(win);
        }
        if f.ack {
            self.rtt_sample(s.dir.reverse().index(), s.ack, s.frame, s.ts_us);
        }
    }

    fn rtt_sample(&mut self, data_dir: usize, ack: SeqNum, ack_frame: FrameNo, ts: i64) {
        let mut newest = None;
        let q = &mut self.dirs[data_dir].in_flight;
        while let Some(&(end, frame, sent)) = q.front() {
            if end > ack {
                break;
            }
            q.pop_front();
            newest = Some((frame, sent));
        }
        if let Some((frame, sent)) = newest {
            let rtt = ts - sent;
            let est = match self.rtt_estimated_us {
                None => rtt as f64,
                Some(e) => 0.875 * e + 0.125 * rtt as f64,
            };
            self.rtt_estimated_us = Some(est);
            if self.rtt_samples.len() < MAX_RTT_SAMPLES {
                self.rtt_samples.push(RttSample {
                    frame,
                    ack_frame,
                    rtt_us: rtt,
                    estimated_us: est,
                });
            }
        }
    }

    fn handshake_step(&mut self, s: &SegmentInfo<'_>, syn: bool, ackf: bool) {
        let h = &mut self.handshake;
        match (s.dir, syn, ackf) {
            (Dir::C2S, true, false) if h.syn_frame.is_none() => {
                h.syn_frame = Some(s.frame);
                h.syn_ts = s.ts_us;
                h.client_isn = Some(s.seq.0);
                h.client = s.options.clone();
                self.dirs[Dir::C2S.index()].window_shift =
                    s.options.window_scale.unwrap_or(0).min(14);
            }
            (Dir::S2C, true, true) if h.synack_frame.is_none() => {
                h.synack_frame = Some(s.frame);
                h.synack_ts = s.ts_us;
                h.server_isn = Some(s.seq.0);
                h.server = s.options.clone();
                self.dirs[Dir::S2C.index()].window_shift =
                    s.options.window_scale.unwrap_or(0).min(14);
            }
            (Dir::C2S, false, true)
                if h.ack_frame.is_none()
                    && h.synack_frame.is_some()
                    && h.server_isn.is_some_and(|isn| SeqNum(isn).plus(1) == s.ack) =>
            {
                h.ack_frame = Some(s.frame);
                h.ack_ts = s.ts_us;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
