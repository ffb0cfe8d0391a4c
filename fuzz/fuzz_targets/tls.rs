//! Arbitrary bytes as a key log and a connection's two streams read as TLS: a 2-byte
//! length and that many bytes of key log text (NSS format), then pieces (a side byte,
//! even for the client, a length byte, the bytes) fed in stream order. Whatever the
//! records hold, nothing panics, and the plaintext handed on is in order, never from
//! a direction that stopped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use wirelab::reassembly::{CloseReason, StreamEvent};
use wirelab::tls::{KeyLog, Plain, TlsConnection};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = (u16::from_be_bytes([data[0], data[1]]) as usize).min(data.len() - 2);
    let keys = KeyLog::new();
    let _ = keys.add_text(&String::from_utf8_lossy(&data[2..2 + n]));
    let mut tls = TlsConnection::new(Some(Arc::new(keys)));
    let mut rest = &data[2 + n..];
    let mut offsets = [0u64; 2];
    let mut plain_at = [0u64; 2];
    let mut out = Vec::new();
    let mut frame = 0;
    while rest.len() >= 2 {
        let client = rest[0] & 1 == 0;
        let len = (rest[1] as usize).min(rest.len() - 2);
        let bytes = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let side = usize::from(!client);
        frame += 1;
        let ev = StreamEvent::Data {
            offset: offsets[side],
            bytes,
            frame,
        };
        offsets[side] += len as u64;
        tls.event(client, &ev, &mut out);
        for p in out.drain(..) {
            if let Plain::Data {
                client,
                offset,
                bytes,
                ..
            } = p
            {
                let s = usize::from(!client);
                assert_eq!(offset, plain_at[s], "plaintext in order");
                plain_at[s] += bytes.len() as u64;
            }
        }
    }
    for client in [true, false] {
        let side = usize::from(!client);
        let ev = StreamEvent::Closed {
            offset: offsets[side],
            reason: CloseReason::Fin,
        };
        tls.event(client, &ev, &mut out);
    }
    let _ = (tls.records.len(), tls.keys.clone(), tls.problems.len());
});
