//! Hostile captures: traffic no honest stack sends, made to check that wirelab stays
//! bounded in time and memory and says what it cut. `scripts/make-hostile-captures.sh`
//! writes them all; `tests/hostile.rs` reports each one.

use super::craft::{Conversation, CraftedFrame, Flags, ok_response, write_pcap};
use std::io::{self, Write};

/// The hostile cases, by name.
pub const CASES: &[&str] = &[
    "syn-flood",
    "huge-gaps",
    "wraparound",
    "conflicting-overlaps",
    "header-flood",
    "huge-content-length",
    "chunk-overflow",
    "never-closes",
    "out-of-order-flood",
];

/// The out-of-order flood: connections, and the bytes each server sends after the hole.
pub const FLOOD_CONNECTIONS: u16 = 100;
pub const FLOOD_BYTES: usize = 3 << 20;

/// SYNs in the flood (one per destination port, cycling over the 65,535 ports and
/// 16 client addresses).
pub const SYN_FLOOD: u32 = 1_000_000;

/// Writes the capture of one case.
pub fn write<W: Write>(case: &str, out: W) -> io::Result<()> {
    let frames = match case {
        "syn-flood" => return syn_flood(out, SYN_FLOOD),
        "out-of-order-flood" => return out_of_order_flood(out),
        "huge-gaps" => huge_gaps(),
        "wraparound" => wraparound(),
        "conflicting-overlaps" => conflicting_overlaps(),
        "header-flood" => header_flood(100_000),
        "huge-content-length" => Conversation::http(
            40000,
            b"GET /big HTTP/1.0\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nsmall body",
        )
        .frames,
        "chunk-overflow" => Conversation::http(
            40000,
            b"GET /chunks HTTP/1.1\r\nHost: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        )
        .frames,
        "never-closes" => never_closes(),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no hostile case '{other}'; the cases are {}", CASES.join(", ")),
            ));
        }
    };
    write_pcap(out, &frames)
}

/// A million SYNs, each to a new port: a million connections that never start.
/// [`FLOOD_CONNECTIONS`] connections whose servers lose their first byte and then send
/// [`FLOOD_BYTES`] that can never be delivered in order: no ACK, no FIN. Each direction
/// stays under its own bound; only a total bound keeps the whole in memory.
fn out_of_order_flood<W: Write>(out: W) -> io::Result<()> {
    let frames = (0..FLOOD_CONNECTIONS).flat_map(|i| {
        let mut c = Conversation::new(30000 + i, 80, [1000, 5000]);
        c.handshake();
        c.send(true, b"GET /flood HTTP/1.0\r\n\r\n", 1460);
        let [cs, ss] = c.next_seq;
        let data = Flags {
            psh: true,
            ..Flags::ACK
        };
        let chunk = [b'x'; 1448];
        // The first byte (seq ss) never comes: everything starts one byte later.
        let mut seq = ss.wrapping_add(1);
        for _ in 0..FLOOD_BYTES / chunk.len() {
            c.segment(false, seq, cs, data, &chunk);
            seq = seq.wrapping_add(chunk.len() as u32);
        }
        c.frames
    });
    write_pcap(out, frames)
}

fn syn_flood<W: Write>(out: W, n: u32) -> io::Result<()> {
    let mut c = Conversation::new(1024, 1, [0, 0]);
    let syn = Flags {
        syn: true,
        ..Flags::default()
    };
    let frames = (0..n).map(move |i| {
        c.client.0[3] = 1 + (i / 65_535 % 16) as u8;
        c.server.1 = 1 + (i % 65_535) as u16;
        c.segment(true, i.wrapping_mul(2_654_435_761), 0, syn, &[]);
        c.frames.pop().expect("segment appends a frame")
    });
    write_pcap(out, frames)
}

/// Segments that jump a gigabyte ahead, and back, in both halves of the sequence space.
fn huge_gaps() -> Vec<CraftedFrame> {
    let mut c = Conversation::new(40000, 80, [1000, 5000]);
    c.handshake();
    c.send(true, b"GET /gaps HTTP/1.0\r\n\r\n", 1460);
    let [cs, ss] = c.next_seq;
    let data = Flags {
        psh: true,
        ..Flags::ACK
    };
    for jump in [1u32 << 30, 3 << 30, 1 << 31, (1 << 31) + 1, 12345, u32::MAX] {
        c.segment(false, ss.wrapping_add(jump), cs, data, b"far away bytes");
    }
    c.segment(false, ss, cs, data, b"HTTP/1.0 200 OK\r\n\r\nnear bytes");
    c.next_seq[1] = ss.wrapping_add(29);
    c.close();
    c.frames
}

/// A response whose sequence numbers wrap past 2^32 in the middle of the body.
fn wraparound() -> Vec<CraftedFrame> {
    let body: Vec<u8> = (0..20_000u32).map(|i| b"wrap"[i as usize % 4]).collect();
    let resp = ok_response(&body);
    let mut c = Conversation::new(40000, 80, [u32::MAX - 10, u32::MAX - 5_000]);
    c.handshake();
    c.send(true, b"GET /wrap HTTP/1.0\r\n\r\n", 1460);
    c.send(false, &resp, 1460);
    c.close();
    c.frames
}

/// Retransmissions that overlap earlier segments with different bytes.
fn conflicting_overlaps() -> Vec<CraftedFrame> {
    let resp = b"HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nAAAAAAAAAABBBBBBBBBB";
    let mut c = Conversation::new(40000, 80, [1000, 5000]);
    c.handshake();
    c.send(true, b"GET /overlap HTTP/1.0\r\n\r\n", 1460);
    let [cs, ss] = c.next_seq;
    let data = Flags {
        psh: true,
        ..Flags::ACK
    };
    c.segment(false, ss, cs, data, resp);
    // The same range again, differently, twice; then a copy straddling the end.
    c.segment(
        false,
        ss.wrapping_add(40),
        cs,
        data,
        b"XXXXXXXXXXYYYYYYYYYY",
    );
    c.segment(false, ss.wrapping_add(45), cs, data, b"ZZZZZZZZZZ");
    c.next_seq[1] = ss.wrapping_add(resp.len() as u32);
    c.close();
    c.frames
}

/// A response head of `n` header fields (about 1.2 MB), far beyond any sane limit.
fn header_flood(n: usize) -> Vec<CraftedFrame> {
    let mut resp = b"HTTP/1.0 200 OK\r\n".to_vec();
    for i in 0..n {
        resp.extend_from_slice(format!("X-Field-{i}: v\r\n").as_bytes());
    }
    resp.extend_from_slice(b"\r\nbody");
    Conversation::http(40000, b"GET /headers HTTP/1.0\r\n\r\n", &resp).frames
}

/// A connection that sends its request and a part of the response and never closes.
fn never_closes() -> Vec<CraftedFrame> {
    let mut c = Conversation::new(40000, 80, [1000, 5000]);
    c.handshake();
    c.send(true, b"GET /forever HTTP/1.0\r\n\r\n", 1460);
    c.send(
        false,
        b"HTTP/1.0 200 OK\r\nContent-Length: 1000000\r\n\r\nthe first bytes",
        1460,
    );
    c.frames
}
