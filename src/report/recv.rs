//! The recv log of wirelab's own client joined to the stream it read: for every
//! `recv()` call, the byte range of the server's stream it returned and the frames
//! that carried those bytes (from the reassembler's provenance).

use super::model::{Connection, RecvCall};

/// Fills `conn.recv` from the sizes the calls returned, in order. The stream offsets
/// follow from the sizes alone (TCP delivers the bytes in order, RFC 9293 §3.4); the
/// frames are those whose delivered bytes overlap each call's range. Needs the
/// connection's provenance (`streams.s2c.chunks`); without it the frames are empty.
pub fn join(conn: &mut Connection, sizes: &[u64]) {
    let chunks = conn.streams.s2c.chunks.as_deref().unwrap_or(&[]);
    let mut offset = 0u64;
    let mut first = 0usize;
    let mut calls = Vec::with_capacity(sizes.len());
    for (i, &bytes) in sizes.iter().enumerate() {
        let end = offset + bytes;
        // Chunks are in stream order: skip those that end before this call's range.
        while first < chunks.len() && chunks[first][0] + chunks[first][1] <= offset {
            first += 1;
        }
        let mut frames: Vec<u64> = Vec::new();
        for c in &chunks[first..] {
            if c[0] >= end {
                break;
            }
            if frames.last() != Some(&c[2]) {
                frames.push(c[2]);
            }
        }
        calls.push(RecvCall {
            call: i as u64 + 1,
            bytes,
            stream_offset: offset,
            frames,
        });
        offset = end;
    }
    conn.recv = Some(calls);
}
