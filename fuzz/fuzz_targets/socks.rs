//! Arbitrary bytes as the start of a connection that may be a SOCKS4/4a/5 handshake:
//! each piece (a 2-byte header: side and length) is fed to the prelude in stream order.
//! Whatever it decides, nothing panics, and what it hands back to the protocol above
//! is only bytes that were fed, at the offsets they were fed at.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab::socks::{Fed, Prelude};

fuzz_target!(|data: &[u8]| {
    // Pieces: a side byte (even: the client), a length byte, the bytes.
    let mut pieces = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let client = rest[0] & 1 == 0;
        let len = (rest[1] as usize).min(rest.len() - 2);
        pieces.push((client, &rest[2..2 + len]));
        rest = &rest[2 + len..];
    }
    let first = pieces.iter().find(|(c, b)| *c && !b.is_empty()).map(|(_, b)| b[0]);
    let Some(mut prelude) = first.and_then(Prelude::starting_with) else {
        return;
    };
    let mut offsets = [0u64; 2];
    for (frame, (client, bytes)) in pieces.into_iter().enumerate() {
        let side = usize::from(!client);
        let at = offsets[side];
        offsets[side] += bytes.len() as u64;
        if let Fed::NotSocks(held) = prelude.data(client, at, bytes, frame as _) {
            // Handed back: only bytes that were fed, at the offsets they were fed at.
            for (c, offset, b, _) in &held {
                let s = usize::from(!*c);
                assert!(offset + b.len() as u64 <= offsets[s], "bytes never fed");
            }
            break;
        }
        if prelude.is_over() {
            break;
        }
    }
    let _ = prelude.give_up();
    let _ = prelude.is_socks();
});
