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

/// Datagrams being reassembled at once, at most.
pub const MAX_DATAGRAMS: usize = 256;

#[derive(Default)]
pub struct Defragmenter {
    bufs: HashMap<FragKey, IpDefragBuf>,
    order: VecDeque<FragKey>,
    dropped: u64,
}

impl Defragmenter {
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
            if self.bufs.len() >= MAX_DATAGRAMS
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
