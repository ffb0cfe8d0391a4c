//! `TcpAnalyzer::segment` as tables, as the reassembler's scenarios are: segments in
//! (after the same three-way handshake), the analysis names of each out. Sequence and
//! acknowledgment numbers are relative, as the report writes them (the SYN is 0); the
//! client's ISN is 1000, the server's 5000; the handshake's RTT is 20 ms.

use super::*;
use crate::dissect::flags::{ACK, FIN, PSH, SYN};
use Finding::*;

const C: Dir = Dir::C2S;
const S: Dir = Dir::S2C;

/// One segment of a scenario and what the analysis must name in it.
struct Row {
    ms: i64,
    dir: Dir,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u32,
    window: u16,
    /// The reassembler saw bytes of it for the first time.
    new: bool,
    /// A resent copy whose bytes differ.
    conflict: bool,
    /// Payload bytes the snapshot length cut off.
    cut: u32,
    want: &'static [Finding],
}

/// A data or ACK segment: new bytes when it carries any, window 65535.
const fn seg(ms: i64, dir: Dir, seq: u32, ack: u32, len: u32, want: &'static [Finding]) -> Row {
    Row {
        ms,
        dir,
        flags: if len > 0 { PSH | ACK } else { ACK },
        seq,
        ack,
        len,
        window: 65535,
        new: len > 0,
        conflict: false,
        cut: 0,
        want,
    }
}

/// The same, sent again: no byte of it is new.
const fn again(ms: i64, dir: Dir, seq: u32, ack: u32, len: u32, want: &'static [Finding]) -> Row {
    Row {
        new: false,
        ..seg(ms, dir, seq, ack, len, want)
    }
}

const HANDSHAKE: [Row; 3] = [
    Row {
        flags: SYN,
        ..seg(0, C, 0, 0, 0, &[])
    },
    Row {
        flags: SYN | ACK,
        ..seg(10, S, 0, 1, 0, &[])
    },
    seg(20, C, 1, 1, 0, &[]),
];

/// Runs the handshake and `rows` through one analyzer; every row's names must be its
/// `want`. Returns the analyzer for further checks.
fn run(name: &str, rows: &[Row]) -> TcpAnalyzer {
    let mut a = TcpAnalyzer::new(false);
    let syn_options = TcpOptions {
        mss: Some(1460),
        ..TcpOptions::default()
    };
    let plain = TcpOptions::default();
    for (i, r) in HANDSHAKE.iter().chain(rows).enumerate() {
        let (own_isn, peer_isn) = match r.dir {
            Dir::C2S => (1000u32, 5000u32),
            Dir::S2C => (5000, 1000),
        };
        let info = SegmentInfo {
            frame: i as u64 + 1,
            ts_us: r.ms * 1000,
            dir: r.dir,
            seq: SeqNum(own_isn.wrapping_add(r.seq)),
            ack: SeqNum(peer_isn.wrapping_add(r.ack)),
            flags: r.flags,
            len: r.len,
            window: r.window,
            options: if r.flags & SYN != 0 {
                &syn_options
            } else {
                &plain
            },
            payload_missing: r.cut,
        };
        let effect = SegmentEffect {
            new_bytes: if r.new { r.len as u64 } else { 0 },
            old_bytes: if r.new { 0 } else { r.len as u64 },
            conflict: r.conflict,
            ..SegmentEffect::default()
        };
        let got = a.segment(&info, &effect);
        assert_eq!(got, r.want, "{name}: frame {} (row {i})", i + 1);
    }
    a
}

#[test]
fn a_clean_exchange_names_nothing_and_samples_the_rtt() {
    let a = run(
        "clean",
        &[
            seg(30, C, 1, 1, 100, &[]),
            seg(60, S, 1, 101, 1448, &[]),
            seg(61, S, 1449, 101, 1448, &[]),
            seg(90, C, 101, 2897, 0, &[]),
            Row {
                flags: FIN | ACK,
                ..seg(91, C, 101, 2897, 0, &[])
            },
        ],
    );
    assert_eq!(a.handshake.rtt_us(), Some(20_000));
    assert_eq!(a.history, "ShADadF");
    // The client's request, acknowledged by the server's first segment 30 ms later;
    // the server's two segments by the client's ACK at 90 ms (the newest of them).
    let rtts: Vec<(u64, i64)> = a.rtt_samples.iter().map(|s| (s.frame, s.rtt_us)).collect();
    assert_eq!(rtts, [(4, 30_000), (6, 29_000)]);
}

#[test]
fn losses_resends_and_reordering_are_told_apart() {
    run(
        "lost, then resent after the RTT",
        &[
            seg(60, S, 1, 1, 1448, &[]),
            seg(61, S, 2897, 1, 1448, &[PreviousSegmentLost]),
            seg(300, S, 1449, 1, 1448, &[Retransmission]),
        ],
    );
    run(
        "reordered: the hole filled within the RTT",
        &[
            seg(60, S, 1, 1, 1448, &[]),
            seg(61, S, 2897, 1, 1448, &[PreviousSegmentLost]),
            seg(62, S, 1449, 1, 1448, &[OutOfOrder]),
        ],
    );
    run(
        "sent again although acknowledged",
        &[
            seg(60, S, 1, 1, 1448, &[]),
            seg(80, C, 1, 1449, 0, &[]),
            again(300, S, 1, 1, 1448, &[SpuriousRetransmission]),
        ],
    );
    run(
        "two duplicate ACKs, then the fast retransmission (RFC 5681 §3.2)",
        &[
            seg(60, S, 1, 1, 1448, &[]),
            seg(61, S, 2897, 1, 1448, &[PreviousSegmentLost]),
            seg(62, C, 1, 1449, 0, &[]),
            seg(63, C, 1, 1449, 0, &[DuplicateAck]),
            seg(64, C, 1, 1449, 0, &[DuplicateAck]),
            // Within the RTT of the data before it: out of order, were it not asked for.
            seg(70, S, 1449, 1, 1448, &[Retransmission]),
        ],
    );
    run(
        "a resent copy that differs",
        &[
            seg(60, S, 1, 1, 100, &[]),
            Row {
                conflict: true,
                ..again(300, S, 1, 1, 100, &[Retransmission, OverlapConflict])
            },
        ],
    );
}

#[test]
fn windows_probes_and_what_the_capture_missed_are_named() {
    run(
        "zero window",
        &[Row {
            window: 0,
            ..seg(30, C, 1, 1, 0, &[ZeroWindow])
        }],
    );
    run(
        "the segment fills the window the client advertised",
        &[
            Row {
                window: 2896,
                ..seg(30, C, 1, 1, 0, &[])
            },
            seg(60, S, 1, 1, 1448, &[]),
            seg(61, S, 1449, 1, 1448, &[WindowFull]),
        ],
    );
    run(
        "a keep-alive probe: one byte below the next",
        &[
            seg(60, S, 1, 1, 1448, &[]),
            again(5000, S, 1448, 1, 1, &[KeepAlive]),
        ],
    );
    run(
        "acknowledges bytes the capture never saw",
        &[seg(30, C, 1, 3000, 0, &[AckedUnseen])],
    );
    run(
        "larger than the peer's MSS (an offload's super-segment)",
        &[seg(60, S, 1, 1, 2896, &[SuperSegment])],
    );
    run(
        "cut by the snapshot length",
        &[Row {
            cut: 1400,
            ..seg(60, S, 1, 1, 1448, &[Truncated])
        }],
    );
}
