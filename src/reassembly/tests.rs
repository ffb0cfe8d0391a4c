//! Scenario tables: segments in, events out.

use super::*;

/// A segment of a scenario: (frame, seq, flags "S"/"F"/"R" letters, payload).
type Seg = (FrameNo, u32, &'static str, &'static str);

/// (name, segments, acks after segment i, finish at end, expected events).
type Scenario<'a> = (&'a str, &'a [Seg], &'a [(usize, u32)], bool, &'a [&'a str]);

fn run(segs: &[Seg], acks: &[(usize, u32)], finish: bool) -> (Vec<String>, Vec<SegmentEffect>) {
    let mut r = StreamReassembler::new(1 << 20);
    let mut out = Vec::new();
    let mut effects = Vec::new();
    let mut sink = |e: StreamEvent<'_>| {
        out.push(match e {
            StreamEvent::Data {
                offset,
                bytes,
                frame,
            } => format!("D{offset}:{}@{frame}", String::from_utf8_lossy(bytes)),
            StreamEvent::Gap { offset, len } => format!("G{offset}+{len}"),
            StreamEvent::Closed { offset, reason } => format!("C{offset}:{reason:?}"),
        })
    };
    for (i, (frame, seq, fl, data)) in segs.iter().enumerate() {
        let flags = SegFlags {
            syn: fl.contains('S'),
            fin: fl.contains('F'),
            rst: fl.contains('R'),
        };
        effects.push(r.segment(*frame, SeqNum(*seq), flags, data.as_bytes(), &mut sink));
        for (after, ack) in acks {
            if *after == i {
                r.acknowledged(Some(SeqNum(*ack)), false, &mut sink);
            }
        }
    }
    if finish {
        r.finish(&mut sink, CloseReason::Fin);
    }
    (out, effects)
}

#[test]
fn scenarios() {
    // (name, segments, acks after segment i, finish at end, expected events)
    let table: &[Scenario<'_>] = &[
        (
            "in order with SYN and FIN",
            &[(1, 100, "S", ""), (3, 101, "", "abc"), (4, 104, "F", "de")],
            &[],
            false,
            &["D0:abc@3", "D3:de@4", "C5:Fin"],
        ),
        (
            "reordered",
            &[(1, 100, "S", ""), (2, 104, "", "def"), (3, 101, "", "abc")],
            &[],
            false,
            &["D0:abc@3", "D3:def@2"],
        ),
        (
            "exact retransmission delivers once",
            &[(1, 100, "S", ""), (2, 101, "", "abc"), (3, 101, "", "abc")],
            &[],
            false,
            &["D0:abc@2"],
        ),
        (
            "partial overlap, first copy wins",
            &[(1, 100, "S", ""), (2, 101, "", "abc"), (3, 102, "", "XYZW")],
            &[],
            false,
            &["D0:abc@2", "D3:ZW@3"],
        ),
        (
            "overlap inside the buffer keeps the first buffered copy",
            &[
                (1, 100, "S", ""),
                (2, 105, "", "fgh"),
                (3, 103, "", "cdEFGij"),
                (4, 101, "", "ab"),
            ],
            &[],
            false,
            &["D0:ab@4", "D2:cd@3", "D4:fgh@2", "D7:ij@3"],
        ),
        (
            "hole at end of capture becomes a gap",
            &[(1, 100, "S", ""), (2, 101, "", "ab"), (3, 106, "F", "fg")],
            &[],
            true,
            &["D0:ab@2", "G2+3", "D5:fg@3", "C7:Fin"],
        ),
        (
            "ack beyond the data seen waits for a late copy, which fills the hole",
            &[
                (1, 100, "S", ""),
                (2, 101, "", "ab"),
                (3, 106, "", "fg"),
                (5, 103, "", "cde"),
            ],
            &[(2, 108)],
            false,
            &["D0:ab@2", "D2:cde@5", "D5:fg@3"],
        ),
        (
            "ack covering bytes never captured declares the gap at the end",
            &[(1, 100, "S", ""), (2, 101, "", "ab"), (3, 106, "", "fg")],
            &[(2, 108)],
            true,
            &["D0:ab@2", "G2+3", "D5:fg@3"],
        ),
        (
            "RST flushes and closes; later data ignored",
            &[
                (1, 100, "S", ""),
                (2, 104, "", "de"),
                (3, 101, "R", ""),
                (4, 101, "", "abc"),
            ],
            &[],
            false,
            &["G0+3", "D3:de@2", "C5:Rst"],
        ),
        (
            "RST far outside the window resets nothing",
            &[
                (1, 100, "S", ""),
                (2, 900_000_000, "R", ""),
                (3, 101, "", "abc"),
            ],
            &[],
            false,
            &["D0:abc@3"],
        ),
        (
            "mid-stream capture starts at the first byte seen",
            &[(7, 5000, "", "xyz"), (8, 5003, "F", "")],
            &[],
            false,
            &["D0:xyz@7", "C3:Fin"],
        ),
        (
            "sequence numbers wrap",
            &[
                (1, u32::MAX - 1, "S", ""),
                (2, u32::MAX, "", "ab"),
                (3, 1, "", "cd"),
                (4, 3, "F", ""),
            ],
            &[],
            false,
            &["D0:ab@2", "D2:cd@3", "C4:Fin"],
        ),
        (
            "zero-length segments change nothing",
            &[(1, 100, "S", ""), (2, 101, "", ""), (3, 101, "", "a")],
            &[],
            false,
            &["D0:a@3"],
        ),
        (
            "data before the first segment seen mid-stream is dropped",
            &[(1, 1000, "", "kl"), (2, 998, "", "ijkl")],
            &[],
            false,
            &["D0:kl@1"],
        ),
    ];
    for (name, segs, acks, finish, want) in table {
        let (got, _) = run(segs, acks, *finish);
        assert_eq!(&got, want, "scenario: {name}");
    }
}

#[test]
fn effects_classify_segments() {
    let (_, eff) = run(
        &[
            (1, 100, "S", ""),
            (2, 104, "", "def"),
            (3, 101, "", "abc"),
            (4, 101, "", "abX"),
        ],
        &[],
        false,
    );
    assert!(eff[1].out_of_order);
    assert_eq!(eff[1].new_bytes, 3);
    assert_eq!(eff[2].new_bytes, 3);
    assert_eq!(eff[3].old_bytes, 3);
    assert_eq!(eff[3].new_bytes, 0);
}

#[test]
fn conflicting_overlap_in_buffer_is_flagged() {
    let (_, eff) = run(
        &[(1, 100, "S", ""), (2, 104, "", "def"), (3, 104, "", "dXf")],
        &[],
        false,
    );
    assert!(eff[2].conflict);
    assert!(!eff[1].conflict);
}

#[test]
fn buffer_limit_forces_a_gap_and_stays_bounded() {
    let mut r = StreamReassembler::new(10);
    let mut events = Vec::new();
    let mut sink = |e: StreamEvent<'_>| {
        if let StreamEvent::Gap { offset, len } = e {
            events.push((offset, len))
        }
    };
    r.segment(
        1,
        SeqNum(0),
        SegFlags {
            syn: true,
            ..Default::default()
        },
        b"",
        &mut sink,
    );
    let mut forced = false;
    for i in 0..10u32 {
        let e = r.segment(
            2 + i as u64,
            SeqNum(100 + i * 8),
            SegFlags::default(),
            b"12345678",
            &mut sink,
        );
        forced |= e.forced_gap;
        assert!(r.pending_bytes() <= 10 + 8);
    }
    assert!(forced);
    assert_eq!(events.first(), Some(&(0, 99)));
}

#[test]
fn acked_hole_becomes_a_gap_after_the_reorder_tolerance() {
    let mut r = StreamReassembler::new(1 << 20);
    let events = std::cell::RefCell::new(Vec::new());
    let mut sink = |e: StreamEvent<'_>| {
        if let StreamEvent::Gap { offset, len } = e {
            events.borrow_mut().push((offset, len))
        }
    };
    syn_then_hole(&mut r, &mut sink);
    r.acknowledged(Some(SeqNum(107)), false, &mut sink);
    for _ in 1..REORDER_TOLERANCE {
        r.acknowledged(None, false, &mut sink);
    }
    assert!(events.borrow().is_empty(), "still waiting for a late copy");
    r.acknowledged(None, false, &mut sink);
    assert_eq!(*events.borrow(), vec![(0, 3)]);
    assert_eq!(r.delivered(), 6);
}

#[test]
fn acked_hole_is_declared_at_once_when_the_ack_comes_with_data() {
    let mut r = StreamReassembler::new(1 << 20);
    let mut out = Vec::new();
    let mut sink = |e: StreamEvent<'_>| out.push(format!("{e:?}"));
    syn_then_hole(&mut r, &mut sink);
    r.acknowledged(Some(SeqNum(107)), true, &mut sink);
    assert_eq!(out.len(), 2, "gap then the buffered data: {out:?}");
    assert_eq!(r.delivered(), 6);
}

/// A SYN at 100, then "def" at 104: bytes 0..3 missing.
fn syn_then_hole(r: &mut StreamReassembler, sink: &mut dyn StreamSink) {
    let syn = SegFlags {
        syn: true,
        ..Default::default()
    };
    r.segment(1, SeqNum(100), syn, b"", sink);
    r.segment(2, SeqNum(104), SegFlags::default(), b"def", sink);
}
