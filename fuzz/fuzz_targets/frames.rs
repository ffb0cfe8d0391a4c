//! Arbitrary bytes as a sequence of frames of one link type (first byte picks
//! Ethernet, raw IP, Linux SLL, SLL2 or BSD loopback; then 2-byte length-prefixed
//! frames, each 1 ms after the last): dissect → reassembly → HTTP → report → renderers.
//! Reaches the TCP and HTTP stages faster than mutating whole pcap files. Each frame is
//! also dissected the whole way (no shortcut for the common frame): the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab::capture::{Frame, Linktype};
use wirelab::dissect::Dissector;
use wirelab::render::{self, View};
use wirelab::model::Source;
use wirelab::report::{Limits, Options, ReportBuilder};

const LINKTYPES: [Linktype; 5] = [
    Linktype::ETHERNET,
    Linktype::RAW,
    Linktype::LINUX_SLL,
    Linktype::LINUX_SLL2,
    Linktype::NULL,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mut rest)) = data.split_first() else {
        return;
    };
    let linktype = LINKTYPES[pick as usize % LINKTYPES.len()];
    let mut builder = ReportBuilder::new(Options {
        limits: Limits {
            connections: 64,
            pending_per_direction: 1 << 16,
            ..Limits::default()
        },
        ..Options::default()
    });
    let (mut fast, mut whole) = (Dissector::new(), Dissector::new());
    let mut number = 0;
    while rest.len() >= 2 {
        let len = (u16::from_be_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
        let bytes = &rest[2..2 + len];
        rest = &rest[2 + len..];
        number += 1;
        let frame = Frame {
            number,
            ts_us: number as i64 * 1000,
            orig_len: bytes.len() as u32,
            linktype,
            data: bytes,
        };
        let _ = builder.frame_line(&frame);
        assert_eq!(
            format!("{:?}", fast.dissect(&frame)),
            format!("{:?}", whole.dissect_lax(&frame)),
            "the shortcut differs"
        );
    }
    let report = builder.finish(Source::default(), None);
    let mut sink = std::io::sink();
    // Every renderer the library has (the binary's list).
    for r in render::Renderer::ALL {
        r.write(&report, &View::default(), &mut sink).unwrap();
    }
});
