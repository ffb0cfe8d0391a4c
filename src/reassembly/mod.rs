//! Stage 4: per-direction TCP stream reassembly with provenance.
//!
//! A [`StreamReassembler`] turns the segments one side of a connection sent into
//! that side's application byte stream, delivered in order to a [`StreamSink`] as a
//! small event vocabulary (after gopacket's reassembly): [`StreamEvent::Data`] with the
//! stream offset and the frame that supplied the bytes, [`StreamEvent::Gap`] where the
//! capture holds no copy of some bytes (nothing is invented), and
//! [`StreamEvent::Closed`]. Offsets are 64-bit: offset 0 is the first data byte, so
//! sequence wrap-around is invisible above this module.
//!
//! Policy (RFC 9293 §3.4, §3.10.7): SYN and FIN each occupy one sequence number;
//! overlapping data is resolved first-copy-wins and a copy that differs is reported
//! as a conflict; out-of-order data waits in a bounded buffer; bytes the peer
//! acknowledged but the capture never held become a gap once [`REORDER_TOLERANCE`]
//! more packets of the connection have gone by without them, since no sender will
//! send them again (a capture may still hold a late copy: multi-queue NICs and
//! merged files put frames slightly out of order).

pub mod seq;

pub use seq::SeqNum;
use std::collections::BTreeMap;

/// How far beyond the data seen an acknowledgement may declare a gap (64 MiB).
const MAX_ACK_AHEAD: i64 = 64 << 20;

/// Packets of the connection to wait, after an ACK covered bytes the capture lacks,
/// for a late copy of them before declaring the gap.
pub const REORDER_TOLERANCE: u32 = 16;

/// Frame numbers count from 1, in file order, as in Wireshark.
pub type FrameNo = u64;

/// How a direction of a stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The sender's FIN was reached in order: every byte before it was delivered or gapped.
    Fin,
    /// A RST ended the stream; buffered data was flushed first.
    Rst,
}

/// What the reassembler tells its consumer, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// `bytes` occupy `offset .. offset + bytes.len()` of the stream and came from `frame`.
    Data {
        offset: u64,
        bytes: &'a [u8],
        frame: FrameNo,
    },
    /// The capture holds no copy of `offset .. offset + len`.
    Gap { offset: u64, len: u64 },
    /// The direction ended at `offset` (its length).
    Closed { offset: u64, reason: CloseReason },
}

/// The consumer of a direction's events (HTTP parser, hasher, extractor...).
pub trait StreamSink {
    fn event(&mut self, event: StreamEvent<'_>);
}

impl<F: FnMut(StreamEvent<'_>)> StreamSink for F {
    fn event(&mut self, event: StreamEvent<'_>) {
        self(event)
    }
}

/// TCP flags that matter to reassembly.
#[derive(Clone, Copy, Debug, Default)]
pub struct SegFlags {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
}

/// What one segment did to the stream; the TCP analysis reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentEffect {
    /// Bytes never seen before (delivered now or buffered).
    pub new_bytes: u64,
    /// Bytes already delivered or buffered: a retransmitted copy.
    pub old_bytes: u64,
    /// An old copy differed from the first copy (first one kept).
    pub conflict: bool,
    /// The segment was buffered because bytes before it are missing.
    pub out_of_order: bool,
    /// Bytes before the start of the stream (capture began mid-connection), dropped.
    pub before_start: u64,
    /// The stream was already closed; the segment was ignored.
    pub after_close: bool,
    /// The buffer limit forced a gap.
    pub forced_gap: bool,
}

struct Pending {
    frame: FrameNo,
    data: Vec<u8>,
}

/// Reassembles one direction of one TCP connection.
pub struct StreamReassembler {
    /// Sequence number of stream offset 0 (the byte after the SYN).
    base: Option<SeqNum>,
    saw_syn: bool,
    next: u64,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    max_pending: usize,
    fin_offset: Option<u64>,
    closed: Option<CloseReason>,
    gap_bytes: u64,
    gap_count: u64,
    conflicts: u64,
    /// Offset the peer acknowledged beyond the bytes held, and packets seen since.
    acked_hole: Option<(u64, u32)>,
    /// A SYN came after this side's data (so where the stream starts is not certain),
    /// or after its FIN.
    syn_late: bool,
    syn_after_fin: bool,
}

impl StreamReassembler {
    /// `max_pending` bounds the out-of-order bytes held for this direction.
    pub fn new(max_pending: usize) -> Self {
        StreamReassembler {
            base: None,
            saw_syn: false,
            next: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            max_pending,
            fin_offset: None,
            closed: None,
            gap_bytes: 0,
            gap_count: 0,
            conflicts: 0,
            acked_hole: None,
            syn_late: false,
            syn_after_fin: false,
        }
    }

    /// A SYN came after this side's first data in the capture.
    pub fn syn_late(&self) -> bool {
        self.syn_late
    }

    /// A SYN came after this side's FIN or RST (on the same connection).
    pub fn syn_after_fin(&self) -> bool {
        self.syn_after_fin
    }

    /// Sequence number of stream offset 0, once known.
    pub fn base(&self) -> Option<SeqNum> {
        self.base
    }
    /// Whether the stream's start (the SYN) was in the capture.
    pub fn saw_syn(&self) -> bool {
        self.saw_syn
    }
    /// Bytes delivered or gapped so far: the in-order length of the stream.
    pub fn delivered(&self) -> u64 {
        self.next
    }
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// The frame that brought the data buffered just after the first hole, if any.
    pub fn oldest_pending_frame(&self) -> Option<FrameNo> {
        self.pending.values().next().map(|p| p.frame)
    }

    /// Gives up waiting for the first hole (a memory bound shared by all connections
    /// was reached): it becomes a gap and the data after it is delivered. Returns the
    /// bytes no longer buffered.
    pub fn give_up_first_hole(&mut self, sink: &mut dyn StreamSink) -> usize {
        let before = self.pending_bytes;
        if let Some(&first) = self.pending.keys().next() {
            self.advance_to(first, sink);
            self.drain(sink);
        }
        before - self.pending_bytes
    }
    pub fn closed(&self) -> Option<CloseReason> {
        self.closed
    }
    pub fn gap_bytes(&self) -> u64 {
        self.gap_bytes
    }
    pub fn gap_count(&self) -> u64 {
        self.gap_count
    }
    pub fn conflicts(&self) -> u64 {
        self.conflicts
    }

    /// The stream offset of a sequence number (may be negative: before the start).
    pub fn offset_of(&self, seq: SeqNum) -> Option<i64> {
        let base = self.base?;
        let seq_of_next = base.plus(self.next as u32);
        Some(self.next as i64 + seq.since(seq_of_next))
    }

    /// Feeds one segment this side sent.
    pub fn segment(
        &mut self,
        frame: FrameNo,
        seq: SeqNum,
        flags: SegFlags,
        payload: &[u8],
        sink: &mut dyn StreamSink,
    ) -> SegmentEffect {
        let mut effect = SegmentEffect::default();
        if self.closed.is_some() {
            self.syn_after_fin |= flags.syn;
            effect.after_close = !payload.is_empty() || flags.fin;
            return effect;
        }
        if flags.syn && !self.saw_syn {
            if self.next == 0 && self.pending.is_empty() {
                // The SYN fixes offset 0 even if a later segment was seen first.
                self.base = Some(seq.plus(1));
                self.saw_syn = true;
            } else {
                self.syn_late = true;
            }
        }
        let data_seq = if flags.syn { seq.plus(1) } else { seq };
        self.base.get_or_insert(data_seq);
        let mut off = self.offset_of(data_seq).unwrap_or(0);
        let mut payload = payload;
        if off < 0 {
            let cut = ((-off) as u64).min(payload.len() as u64);
            effect.before_start = cut;
            payload = &payload[cut as usize..];
            off = 0;
        }
        let off = off as u64;
        let end = off + payload.len() as u64;

        if !payload.is_empty() {
            if end <= self.next {
                effect.old_bytes = payload.len() as u64;
            } else {
                let start = off.max(self.next);
                effect.old_bytes = start - off;
                let bytes = &payload[(start - off) as usize..];
                if start == self.next && self.pending.is_empty() {
                    effect.new_bytes = bytes.len() as u64;
                    self.next = end;
                    sink.event(StreamEvent::Data {
                        offset: start,
                        bytes,
                        frame,
                    });
                } else {
                    effect.out_of_order = start > self.next;
                    let (new, conflict) = self.insert_pending(start, bytes, frame);
                    effect.new_bytes = new;
                    effect.old_bytes += bytes.len() as u64 - new;
                    effect.conflict = conflict;
                }
            }
        }
        if flags.fin && self.fin_offset.is_none() {
            self.fin_offset = Some(end);
        }
        if effect.conflict {
            self.conflicts += 1;
        }
        self.drain(sink);
        if self.pending_bytes > self.max_pending {
            // Bounded memory: give up waiting for the oldest hole.
            let first = *self.pending.keys().next().expect("pending is non-empty");
            self.advance_to(first, sink);
            self.drain(sink);
            effect.forced_gap = true;
        }
        if flags.rst && self.rst_in_window(data_seq) {
            self.finish(sink, CloseReason::Rst);
        }
        self.count_packet(sink);
        effect
    }

    /// One more packet of the connection went by: an acked hole that is still
    /// missing after [`REORDER_TOLERANCE`] packets becomes a gap.
    fn count_packet(&mut self, sink: &mut dyn StreamSink) {
        let Some((target, seen)) = self.acked_hole else {
            return;
        };
        if self.next >= target || self.closed.is_some() {
            self.acked_hole = None;
        } else if seen + 1 >= REORDER_TOLERANCE {
            self.acked_hole = None;
            self.advance_to(target, sink);
            self.drain(sink);
        } else {
            self.acked_hole = Some((target, seen + 1));
        }
    }

    /// Whether a RST at `seq` can belong to this stream (RFC 9293 §3.10.7.3, RFC 5961
    /// §3.2): a RST far outside the sequence space in use (say, answering a stale ACK
    /// before the handshake) resets nothing.
    pub fn rst_in_window(&self, seq: SeqNum) -> bool {
        const WINDOW: i64 = 1 << 20;
        match self.offset_of(seq) {
            None => true,
            Some(off) => off >= -1 && off <= self.pending_end().max(self.next) as i64 + WINDOW,
        }
    }

    /// The peer acknowledged everything before `ack` (call it for every packet the
    /// peer sends, ACK or not, with `None` when it carries no ACK): bytes the capture
    /// lacks below it will never be sent again, so unless a late copy turns up within
    /// [`REORDER_TOLERANCE`] packets they become a gap (and buffered data flows).
    /// When the acknowledging packet carries data of its own (`with_data`), the gap is
    /// declared at once: that data may answer these bytes (an HTTP response answers its
    /// request), so they must reach the consumer first.
    pub fn acknowledged(
        &mut self,
        ack: Option<SeqNum>,
        with_data: bool,
        sink: &mut dyn StreamSink,
    ) {
        if self.closed.is_some() {
            return;
        }
        let target = ack.and_then(|ack| self.offset_of(ack));
        self.count_packet(sink);
        let Some(mut target) = target else {
            return;
        };
        if let Some(fin) = self.fin_offset {
            target = target.min(fin as i64);
        }
        // An ACK far beyond anything seen is not trusted (a broken or foreign ACK).
        let limit = self.pending_end().max(self.next) as i64 + MAX_ACK_AHEAD;
        if target > self.next as i64 && target <= limit {
            let seen = self.acked_hole.map_or(0, |(_, seen)| seen);
            let old = self.acked_hole.map_or(0, |(t, _)| t);
            self.acked_hole = Some((old.max(target as u64), seen));
        }
        if with_data && let Some((target, _)) = self.acked_hole.take() {
            self.advance_to(target, sink);
            self.drain(sink);
        }
    }

    /// Ends the stream at the end of the capture (or on RST): buffered data is delivered
    /// with gaps for the holes; a FIN seen beyond them closes the stream.
    pub fn finish(&mut self, sink: &mut dyn StreamSink, reason: CloseReason) {
        if self.closed.is_some() {
            return;
        }
        let acked = self.acked_hole.take().map_or(0, |(t, _)| t);
        let end = self
            .pending_end()
            .max(self.fin_offset.unwrap_or(0))
            .max(acked);
        self.advance_to(end, sink);
        match (reason, self.fin_offset) {
            (CloseReason::Rst, _) => self.close(CloseReason::Rst, sink),
            (CloseReason::Fin, Some(fin)) if fin == self.next => self.close(CloseReason::Fin, sink),
            _ => {}
        }
    }

    fn pending_end(&self) -> u64 {
        self.pending
            .iter()
            .next_back()
            .map(|(k, p)| k + p.data.len() as u64)
            .unwrap_or(0)
    }

    fn close(&mut self, reason: CloseReason, sink: &mut dyn StreamSink) {
        self.closed = Some(reason);
        sink.event(StreamEvent::Closed {
            offset: self.next,
            reason,
        });
    }

    /// Delivers buffered data and gaps until `next == target`.
    fn advance_to(&mut self, target: u64, sink: &mut dyn StreamSink) {
        while self.next < target {
            match self.pending.first_key_value() {
                Some((&k, _)) if k == self.next => self.pop_first(sink),
                Some((&k, _)) if k < target => self.gap(k, sink),
                _ => self.gap(target, sink),
            }
        }
    }

    fn gap(&mut self, to: u64, sink: &mut dyn StreamSink) {
        let len = to - self.next;
        sink.event(StreamEvent::Gap {
            offset: self.next,
            len,
        });
        self.gap_bytes += len;
        self.gap_count += 1;
        self.next = to;
    }

    fn pop_first(&mut self, sink: &mut dyn StreamSink) {
        let (k, p) = self.pending.pop_first().expect("caller checked");
        self.pending_bytes -= p.data.len();
        self.next = k + p.data.len() as u64;
        sink.event(StreamEvent::Data {
            offset: k,
            bytes: &p.data,
            frame: p.frame,
        });
    }

    fn drain(&mut self, sink: &mut dyn StreamSink) {
        while matches!(self.pending.first_key_value(), Some((&k, _)) if k == self.next) {
            self.pop_first(sink);
        }
        if self.fin_offset == Some(self.next) && self.closed.is_none() {
            self.close(CloseReason::Fin, sink);
        }
    }

    /// Buffers `bytes` at `start` where nothing is buffered yet (first copy wins).
    /// Returns the number of new bytes and whether an overlap disagreed.
    fn insert_pending(&mut self, start: u64, bytes: &[u8], frame: FrameNo) -> (u64, bool) {
        let end = start + bytes.len() as u64;
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let mut conflict = false;
        let mut pos = start;
        let first_key = self
            .pending
            .range(..=start)
            .next_back()
            .map(|(&k, _)| k)
            .unwrap_or(start);
        for (&k, p) in self.pending.range(first_key..end) {
            let k_end = k + p.data.len() as u64;
            if k_end <= pos {
                continue;
            }
            if k > pos {
                pieces.push((pos, k));
            }
            let lo = k.max(pos);
            let hi = k_end.min(end);
            if lo < hi {
                let old = &p.data[(lo - k) as usize..(hi - k) as usize];
                let new = &bytes[(lo - start) as usize..(hi - start) as usize];
                conflict |= old != new;
            }
            pos = pos.max(k_end);
        }
        if pos < end {
            pieces.push((pos, end));
        }
        let mut added = 0;
        for (lo, hi) in pieces {
            let data = bytes[(lo - start) as usize..(hi - start) as usize].to_vec();
            added += data.len() as u64;
            self.pending_bytes += data.len();
            self.pending.insert(lo, Pending { frame, data });
        }
        (added, conflict)
    }
}

#[cfg(test)]
mod tests;
