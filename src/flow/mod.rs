//! Stage 3: which connection a segment belongs to, and in which direction it goes.
//!
//! Connections are keyed by a canonical 4-tuple (the smaller endpoint first), so both
//! directions find the same entry. The table is bounded: past its capacity the
//! connection idle the longest (in capture time, never wall-clock time) is evicted,
//! and every eviction is counted.

use crate::ports;
/// foldhash: fast, and seeded per process, so crafted ports cannot force collisions.
type HashMap<K, V> = foldhash::HashMap<K, V>;
use std::net::IpAddr;

/// One end of a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// The two endpoints in canonical order (the smaller first, as [`Endpoint`] orders
/// them), packed for the table: an address as its 128 bits (an IPv4 one in the low
/// 32), its port and family in one word. Hashing and comparing it are a few integer
/// operations, where the endpoints themselves are enums of byte arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    addrs: [u128; 2],
    /// Port in the low 16 bits, 1 above them for an IPv6 address.
    ports: [u32; 2],
}

/// An endpoint as (family and port, address): ordered as [`Endpoint`] is (IPv4 before
/// IPv6, then the address, then the port) when compared family first.
fn packed(e: Endpoint) -> (u32, u128) {
    match e.ip {
        IpAddr::V4(ip) => (u32::from(e.port), u128::from(ip.to_bits())),
        IpAddr::V6(ip) => ((1 << 16) | u32::from(e.port), ip.to_bits()),
    }
}

impl FlowKey {
    /// The key of a segment from `src` to `dst`, and whether `src` is the key's first end.
    pub fn of(src: Endpoint, dst: Endpoint) -> (FlowKey, bool) {
        let (s, d) = (packed(src), packed(dst));
        // Family, then address, then port: the order of `Endpoint`'s fields.
        let src_first = (s.0 >> 16, s.1, s.0) <= (d.0 >> 16, d.1, d.0);
        let (a, b) = if src_first { (s, d) } else { (d, s) };
        let key = FlowKey {
            addrs: [a.1, b.1],
            ports: [a.0, b.0],
        };
        (key, src_first)
    }
}

/// Direction of a segment relative to the connection's client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    C2S,
    S2C,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn reverse(self) -> Dir {
        match self {
            Dir::C2S => Dir::S2C,
            Dir::S2C => Dir::C2S,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Dir::C2S => "c2s",
            Dir::S2C => "s2c",
        }
    }
}

/// Decides who is the client of a connection from its first segment (RFC 9293 §3.5):
/// the sender of a SYN is the client, the sender of a SYN-ACK the server; without a
/// handshake the side on a well-known port is the server, else the lower port, else
/// the first sender is the client. Returns true if `src` is the client.
pub fn src_is_client(src: Endpoint, dst: Endpoint, syn: bool, ack: bool) -> bool {
    if syn {
        return !ack;
    }
    match (ports::service(src.port), ports::service(dst.port)) {
        (None, Some(_)) => true,
        (Some(_), None) => false,
        _ => {
            let (s, d) = (src.port, dst.port);
            if (s < 1024) != (d < 1024) {
                d < 1024
            } else {
                true
            }
        }
    }
}

/// A bounded table of live connections, values of the caller's type.
pub struct FlowTable<V> {
    map: HashMap<FlowKey, (i64, V)>,
    capacity: usize,
    evicted: u64,
}

impl<V> FlowTable<V> {
    pub fn new(capacity: usize) -> Self {
        FlowTable {
            map: HashMap::default(),
            capacity: capacity.max(1),
            evicted: 0,
        }
    }

    /// Every live value, in the table's order (stable while the table is not changed).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut().map(|(_, v)| v)
    }

    /// Connections pushed out by the capacity bound so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get_mut(&mut self, key: &FlowKey, now_us: i64) -> Option<&mut V> {
        self.map.get_mut(key).map(|(t, v)| {
            *t = now_us;
            v
        })
    }

    /// Inserts a connection. If the table is full, the idlest eighth is evicted first
    /// and returned, so the caller can report them.
    pub fn insert(&mut self, key: FlowKey, now_us: i64, value: V) -> Vec<V> {
        let mut out = Vec::new();
        if self.map.len() >= self.capacity {
            let mut ages: Vec<(i64, FlowKey)> =
                self.map.iter().map(|(k, (t, _))| (*t, *k)).collect();
            let n = (self.capacity / 8).max(1).min(ages.len());
            if n < ages.len() {
                ages.select_nth_unstable_by_key(n, |(t, _)| *t);
            }
            ages.truncate(n);
            ages.sort_unstable_by_key(|(t, _)| *t);
            for (_, k) in ages {
                if let Some((_, v)) = self.map.remove(&k) {
                    out.push(v);
                    self.evicted += 1;
                }
            }
        }
        self.map.insert(key, (now_us, value));
        out
    }

    pub fn remove(&mut self, key: &FlowKey) -> Option<V> {
        self.map.remove(key).map(|(_, v)| v)
    }

    /// Removes every connection idle since before `cutoff_us` (capture time).
    pub fn expire(&mut self, cutoff_us: i64) -> Vec<V> {
        let old: Vec<FlowKey> = self
            .map
            .iter()
            .filter(|(_, (t, _))| *t < cutoff_us)
            .map(|(k, _)| *k)
            .collect();
        old.iter().filter_map(|k| self.remove(k)).collect()
    }

    /// Removes every connection for which `done(last_seen_us, &value)` holds.
    pub fn remove_if(&mut self, mut done: impl FnMut(i64, &V) -> bool) -> Vec<V> {
        let keys: Vec<FlowKey> = self
            .map
            .iter()
            .filter(|(_, (t, v))| done(*t, v))
            .map(|(k, _)| *k)
            .collect();
        keys.iter().filter_map(|k| self.remove(k)).collect()
    }

    /// Empties the table (end of capture).
    pub fn drain(&mut self) -> Vec<V> {
        self.map.drain().map(|(_, (_, v))| v).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: s.parse().unwrap(),
            port,
        }
    }

    #[test]
    fn both_directions_share_a_key() {
        let (a, b) = (ep("10.0.0.1", 5555), ep("10.0.0.2", 80));
        let (k1, first1) = FlowKey::of(a, b);
        let (k2, first2) = FlowKey::of(b, a);
        assert_eq!(k1, k2);
        assert_ne!(first1, first2);
    }

    #[test]
    fn the_key_orders_ends_as_endpoints_do_and_keeps_families_apart() {
        let ends = [
            ep("10.0.0.1", 80),
            ep("10.0.0.1", 5555),
            ep("10.0.0.2", 80),
            ep("9.255.255.255", 65535),
            ep("255.255.255.255", 1),
            ep("::ffff:10.0.0.1", 80),
            ep("::a00:1", 80),
            ep("fe80::1", 80),
            ep("::", 0),
        ];
        for &a in &ends {
            for &b in &ends {
                let (k, a_first) = FlowKey::of(a, b);
                assert_eq!(a_first, a <= b, "{a} {b}");
                assert_eq!(k, FlowKey::of(b, a).0);
                for &c in &ends {
                    for &d in &ends {
                        let same = (a, b) == (c, d) || (a, b) == (d, c);
                        assert_eq!(k == FlowKey::of(c, d).0, same, "{a} {b} / {c} {d}");
                    }
                }
            }
        }
    }

    #[test]
    fn client_decided_by_syn_then_port() {
        let (c, s) = (ep("10.0.0.1", 80), ep("10.0.0.2", 40000));
        assert!(
            src_is_client(c, s, true, false),
            "SYN sender is the client even from port 80"
        );
        assert!(!src_is_client(c, s, true, true));
        assert!(
            !src_is_client(c, s, false, true),
            "no SYN: port 80 is the server"
        );
        assert!(src_is_client(
            ep("1.1.1.1", 50000),
            ep("2.2.2.2", 60000),
            false,
            true
        ));
    }

    #[test]
    fn table_is_bounded_and_counts_evictions() {
        let mut t = FlowTable::new(8);
        for i in 0..20u16 {
            let (k, _) = FlowKey::of(ep("10.0.0.1", 1000 + i), ep("10.0.0.2", 80));
            t.insert(k, i as i64, i);
        }
        assert!(t.len() <= 8);
        assert_eq!(t.evicted(), 12);
    }
}
