//! IP fragment reassembly (IPv4: RFC 791 §3.2; IPv6's fragment header: RFC 8200 §4.5),
//! on `etherparse`'s `IpDefragBuf`, with a bound on the datagrams held at once: the
//! oldest is dropped, and counted, first.

use etherparse::IpFragOffset;
use etherparse::defrag::IpDefragBuf;
use std::collections::{HashMap, VecDeque};

/// Identifies the datagram a fragment belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// IPv4 addresses are kept in the first 4 bytes (the rest zero).
    pub src: [u8; 16],
    pub dst: [u8; 16],
    /// IPv4's 16-bit identification, or IPv6's 32-bit one.
    pub id: u32,
    pub proto: u8,
    pub v6: bool,
}

impl FragKey {
    pub fn v4(src: [u8; 4], dst: [u8; 4], id: u16, proto: u8) -> Self {
        let wide = |a: [u8; 4]| {
            let mut w = [0u8; 16];
            w[..4].copy_from_slice(&a);
            w
        };
        FragKey {
            src: wide(src),
            dst: wide(dst),
            id: u32::from(id),
            proto,
            v6: false,
        }
    }
}

pub struct Defragmenter {
    bufs: HashMap<FragKey, IpDefragBuf>,
    order: VecDeque<FragKey>,
    dropped: u64,
    /// Datagrams reassembled at once; beyond, the oldest is given up.
    max_datagrams: usize,
}

impl Default for Defragmenter {
    fn default() -> Self {
        Defragmenter::new(crate::limits::FRAGMENTED_DATAGRAMS)
    }
}

impl Defragmenter {
    /// At most `max_datagrams` datagrams waiting for their fragments at once.
    pub fn new(max_datagrams: usize) -> Self {
        Defragmenter {
            bufs: HashMap::new(),
            order: VecDeque::new(),
            dropped: 0,
            max_datagrams: max_datagrams.max(1),
        }
    }

    /// Datagrams abandoned (over the bound, inconsistent, or cut by the snapshot length).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Adds one fragment; returns the whole IP payload once every fragment is in.
    pub fn add(
        &mut self,
        key: FragKey,
        offset: IpFragOffset,
        more: bool,
        payload: &[u8],
        cut: bool,
    ) -> Option<Vec<u8>> {
        if cut {
            self.dropped += 1;
            return None;
        }
        if !self.bufs.contains_key(&key) {
            if self.bufs.len() >= self.max_datagrams
                && let Some(old) = self.order.pop_front()
            {
                self.bufs.remove(&old);
                self.dropped += 1;
            }
            self.bufs.insert(
                key,
                IpDefragBuf::new(etherparse::IpNumber(key.proto), Vec::new(), Vec::new()),
            );
            self.order.push_back(key);
        }
        let buf = self.bufs.get_mut(&key)?;
        if buf.add(offset, more, payload).is_err() {
            self.bufs.remove(&key);
            self.order.retain(|k| *k != key);
            self.dropped += 1;
            return None;
        }
        if buf.is_complete() {
            let buf = self.bufs.remove(&key)?;
            self.order.retain(|k| *k != key);
            return Some(buf.take_bufs().0);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past its bound (`Limits::fragmented_datagrams`), the oldest waiting datagram is
    /// given up and counted; the others still complete.
    #[test]
    fn the_bound_gives_up_the_oldest_datagram() {
        let mut d = Defragmenter::new(2);
        let key = |id| FragKey::v4([10, 0, 0, 1], [10, 0, 0, 2], id, 6);
        let first = IpFragOffset::try_new(0).unwrap();
        let second = IpFragOffset::try_new(1).unwrap(); // 8 bytes in
        for id in 1..=3 {
            assert_eq!(d.add(key(id), first, true, &[id as u8; 8], false), None);
        }
        assert_eq!(d.dropped(), 1, "datagram 1 given up for datagram 3");
        assert_eq!(d.add(key(1), second, false, &[9; 8], false), None);
        let whole = d
            .add(key(3), second, false, &[9; 8], false)
            .expect("3 completes");
        assert_eq!(whole, [[3u8; 8], [9; 8]].concat());
        assert_eq!(
            Defragmenter::default().max_datagrams,
            crate::limits::FRAGMENTED_DATAGRAMS
        );
    }
}
