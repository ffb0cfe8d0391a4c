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
    pub const PPP: Linktype = Linktype(9);
    pub const PPP_HDLC: Linktype = Linktype(50);
    pub const C_HDLC: Linktype = Linktype(104);
    pub const IEEE802_11: Linktype = Linktype(105);
    pub const IEEE802_11_RADIOTAP: Linktype = Linktype(127);
    pub const NFLOG: Linktype = Linktype(239);

    /// The short name tshark/capinfos use.
    pub fn name(self) -> String {
        match self.0 {
            0 => "null".into(),
            1 => "ether".into(),
            9 => "ppp".into(),
            50 => "ppp-hdlc".into(),
            12 | 14 | 101 => "rawip".into(),
            104 => "chdlc".into(),
            105 => "ieee-802-11".into(),
            108 => "loop".into(),
            113 => "linux-sll".into(),
            127 => "ieee-802-11-radiotap".into(),
            228 => "rawip4".into(),
            229 => "rawip6".into(),
            239 => "nflog".into(),
            276 => "linux-sll2".into(),
            7 => "arcnet".into(),
            129 => "arcnet-linux".into(),
            // capinfos' short names stop here: the words and the number instead.
            _ => self.describe(),
        }
    }

    /// The link type in words, with its number: "IEEE 802.11 radiotap (127)" (the
    /// names of the tcpdump.org LINKTYPE_ registry).
    pub fn describe(self) -> String {
        let words = match self.0 {
            0 => "BSD loopback",
            1 => "Ethernet",
            6 => "IEEE 802.5 Token Ring",
            7 => "ARCNET",
            9 => "PPP",
            10 => "FDDI",
            12 | 14 | 101 => "raw IP",
            50 => "PPP in HDLC framing",
            100 => "ATM RFC 1483",
            104 => "Cisco HDLC",
            105 => "IEEE 802.11",
            108 => "OpenBSD loopback",
            113 => "Linux cooked (SLL)",
            119 => "IEEE 802.11 Prism",
            127 => "IEEE 802.11 radiotap",
            129 => "ARCNET (Linux)",
            143 => "DOCSIS",
            163 => "IEEE 802.11 AVS",
            187 => "Bluetooth HCI H4",
            189 | 220 => "Linux USB",
            192 => "PPI",
            195 => "IEEE 802.15.4",
            201 => "Bluetooth HCI H4 with direction",
            215 => "IEEE 802.15.4 without FCS",
            227 => "SocketCAN",
            228 => "raw IPv4",
            229 => "raw IPv6",
            239 => "Linux NFLOG",
            249 => "USBPcap",
            253 => "Linux netlink",
            276 => "Linux cooked v2 (SLL2)",
            _ => return format!("link type {}", self.0),
        };
        format!("{words} ({})", self.0)
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
