//! Arbitrary bytes as DNS datagrams (RFC 1035): the first byte says which way each goes
//! (query to port 53, or the answer back), then each datagram with a 2-byte big-endian
//! length. Queries and answers are paired, the lookups listed within their bound, and
//! each lookup renders as the report's sentence.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use wirelab::dns::DnsTracker;

fuzz_target!(|data: &[u8]| {
    let Some((&ways, mut rest)) = data.split_first() else {
        return;
    };
    let client = (IpAddr::V4(Ipv4Addr::new(10, 80, 0, 2)), 40000);
    let server = (IpAddr::V4(Ipv4Addr::new(10, 80, 1, 2)), 53);
    let mut tracker = DnsTracker::with_max_lookups(16);
    let mut n = 0u64;
    while rest.len() >= 2 {
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let payload = &rest[2..(2 + len).min(rest.len())];
        rest = &rest[(2 + len).min(rest.len())..];
        let (src, dst) = if (ways >> (n % 8)) & 1 == 0 {
            (client, server)
        } else {
            (server, client)
        };
        n += 1;
        let _ = tracker.datagram(n, n as i64 * 1000, src, dst, payload);
    }
    let lookups = tracker.finish();
    assert!(lookups.len() <= 16);
    for l in &lookups {
        let _ = wirelab::render::dns_sentence(l);
    }
});
