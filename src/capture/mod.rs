//! Stage 1: frames from a saved capture file (or, later, a live interface).
//!
//! Every source yields owned-free [`Frame`]s in file order, numbered from 1 as Wireshark
//! numbers them. Files are read with `pcap-parser` (pure Rust): libpcap rejects pcapng
//! files whose interfaces have different link types, which students do bring
//! (`tshark -i any -i lo`). libpcap stays the BPF compiler ([`filter`]).

pub mod annotate;
pub mod file;
pub mod filter;
pub mod live;
pub mod privileges;

/// Link-layer header type of a frame (the pcap LINKTYPE_ / DLT_ value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Linktype(pub i32);

impl Linktype {
    pub const NULL: Linktype = Linktype(0);
    pub const ETHERNET: Linktype = Linktype(1);
    pub const RAW: Linktype = Linktype(101);
    pub const LOOP: Linktype = Linktype(108);
    pub const LINUX_SLL: Linktype = Linktype(113);
    pub const IPV4: Linktype = Linktype(228);
    pub const IPV6: Linktype = Linktype(229);
    pub const LINUX_SLL2: Linktype = Linktype(276);

    /// The short name tshark/capinfos use.
    pub fn name(self) -> String {
        match self.0 {
            0 => "null".into(),
            1 => "ether".into(),
            12 | 14 | 101 => "rawip".into(),
            108 => "loop".into(),
            113 => "linux-sll".into(),
            228 => "rawip4".into(),
            229 => "rawip6".into(),
            276 => "linux-sll2".into(),
            n => format!("linktype-{n}"),
        }
    }
}

/// One captured frame, borrowed from the reader until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based position in the capture.
    pub number: u64,
    /// Capture time in microseconds since the Unix epoch (UTC).
    pub ts_us: i64,
    /// Bytes on the wire (may exceed `data.len()` when the snapshot length cut the frame).
    pub orig_len: u32,
    pub linktype: Linktype,
    pub data: &'a [u8],
}
