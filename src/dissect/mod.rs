//! Stage 2: link, IP and TCP headers of a frame, with `etherparse`'s lax slicing.
//!
//! Truncated, malformed and unsupported input is data, not an error: the layers that
//! parsed are kept and [`Packet::stop`] says where and why parsing stopped. Link types:
//! Ethernet (with VLAN tags, PPPoE), Linux cooked SLL and SLL2, BSD NULL/LOOP, raw
//! IPv4/IPv6. IPv4 fragments are reassembled ([`defrag`], RFC 791 §3.2).

pub mod defrag;

use crate::capture::{Frame, Linktype};
use etherparse::{
    EtherType, LaxNetSlice, LaxSlicedPacket, LinkSlice, TcpOptionElement, TcpSlice, TransportSlice,
};
use std::borrow::Cow;
use std::net::IpAddr;

/// The link layer as far as the report cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Ethernet {
        src: [u8; 6],
        dst: [u8; 6],
        vlans: Vec<u16>,
    },
    /// Linux cooked capture (the `any` device): no MACs of the peer, a packet type.
    Cooked,
    /// Loopback (BSD NULL/LOOP) or raw IP: no link header worth showing.
    None,
}

/// The IP header fields a student is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ip {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// IPv4 identification; `None` for IPv6.
    pub id: Option<u16>,
    pub dont_fragment: bool,
    /// Total length from the header (IPv6: payload length + 40).
    pub total_len: u32,
    /// The datagram was rebuilt from fragments.
    pub reassembled: bool,
}

/// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub sack_blocks: u8,
    pub timestamp: Option<(u32, u32)>,
}

/// TCP flag bits as on the wire (FIN = 0x01 ... CWR = 0x80).
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// A TCP segment.
#[derive(Debug, Clone)]
pub struct Tcp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub header_len: u8,
    pub options: TcpOptions,
    /// The captured payload bytes.
    pub payload: Cow<'a, [u8]>,
    /// Payload bytes the IP header promises but the snapshot length cut off.
    pub payload_missing: u32,
}

impl Tcp<'_> {
    /// A copy that owns its payload (for datagrams rebuilt from fragments).
    pub fn into_owned(self) -> Tcp<'static> {
        Tcp {
            payload: Cow::Owned(self.payload.into_owned()),
            options: self.options,
            ..self
        }
    }
}

/// A UDP datagram (RFC 768): the ports and the captured payload.
#[derive(Debug, Clone)]
pub struct Udp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

/// What a frame decoded to.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    pub link: Link,
    pub ip: Option<Ip>,
    pub tcp: Option<Tcp<'a>>,
    /// A UDP datagram (not reassembled from fragments).
    pub udp: Option<Udp<'a>>,
    /// Why decoding stopped before TCP, if it did and that is not simply "not TCP".
    pub stop: Option<String>,
    /// The frame is an IP fragment kept until its datagram is complete.
    pub fragment_held: bool,
}

impl Packet<'_> {
    fn empty(link: Link) -> Self {
        Packet {
            link,
            ip: None,
            tcp: None,
            udp: None,
            stop: None,
            fragment_held: false,
        }
    }
}

/// Decodes frames; holds the IPv4 fragment buffers between frames.
#[derive(Default)]
pub struct Dissector {
    defrag: defrag::Defragmenter,
}

const SLL_HEADER: usize = 16;
const SLL2_HEADER: usize = 20;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;

impl Dissector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Frames of IP fragments that could not be completed, dropped so far.
    pub fn fragments_dropped(&self) -> u64 {
        self.defrag.dropped()
    }

    pub fn dissect<'a>(&mut self, frame: &Frame<'a>) -> Packet<'a> {
        let data = frame.data;
        let sliced = match frame.linktype {
            Linktype::ETHERNET => LaxSlicedPacket::from_ethernet(data).map_err(|e| e.to_string()),
            Linktype::NULL | Linktype::LOOP => {
                if data.len() < 4 {
                    Err("loopback header cut short".to_string())
                } else {
                    LaxSlicedPacket::from_ip(&data[4..]).map_err(|e| e.to_string())
                }
            }
            Linktype(12) | Linktype(14) | Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => {
                LaxSlicedPacket::from_ip(data).map_err(|e| e.to_string())
            }
            Linktype::LINUX_SLL => cooked(data, 14, SLL_HEADER),
            Linktype::LINUX_SLL2 => cooked(data, 0, SLL2_HEADER),
            lt => Err(format!("unsupported link type {} ({})", lt.0, lt.name())),
        };
        let sliced = match sliced {
            Ok(s) => s,
            Err(e) => {
                let mut p = Packet::empty(Link::None);
                p.stop = Some(e);
                return p;
            }
        };
        let link = match (&sliced.link, frame.linktype) {
            (Some(LinkSlice::Ethernet2(e)), _) => Link::Ethernet {
                src: e.source(),
                dst: e.destination(),
                vlans: sliced.vlan_ids().iter().map(|v| v.value()).collect(),
            },
            (_, Linktype::LINUX_SLL | Linktype::LINUX_SLL2) => Link::Cooked,
            _ => Link::None,
        };
        // PPPoE session: etherparse stops at its ether type; PPP carries IP after 8 bytes.
        if sliced.net.is_none()
            && let Some(p) = sliced.ether_payload()
            && p.ether_type.0 == ETHERTYPE_PPPOE_SESSION
            && p.payload.len() > 8
            && let Ok(inner) = LaxSlicedPacket::from_ip(&p.payload[8..])
        {
            return self.decode_sliced(link, inner);
        }
        self.decode_sliced(link, sliced)
    }

    fn decode_sliced<'a>(&mut self, link: Link, sliced: LaxSlicedPacket<'a>) -> Packet<'a> {
        let mut packet = Packet::empty(link);
        let stop = sliced
            .stop_err
            .as_ref()
            .map(|(e, layer)| format!("{layer:?}: {e}"));
        let (ip, payload) = match &sliced.net {
            Some(LaxNetSlice::Ipv4(v4)) => {
                let h = v4.header();
                let ip = Ip {
                    src: IpAddr::V4(h.source_addr()),
                    dst: IpAddr::V4(h.destination_addr()),
                    ttl: h.ttl(),
                    id: Some(h.identification()),
                    dont_fragment: h.dont_fragment(),
                    total_len: h.total_len() as u32,
                    reassembled: false,
                };
                let expected = (h.total_len() as usize).saturating_sub(h.ihl() as usize * 4);
                if v4.is_payload_fragmented() {
                    let key = defrag::FragKey {
                        src: h.source(),
                        dst: h.destination(),
                        id: h.identification(),
                        proto: h.protocol().0,
                    };
                    let done = self.defrag.add(
                        key,
                        h.fragments_offset(),
                        h.more_fragments(),
                        v4.payload().payload,
                        v4.payload().incomplete,
                    );
                    match done {
                        Some(datagram) if h.protocol() == etherparse::IpNumber::TCP => {
                            packet.ip = Some(Ip {
                                reassembled: true,
                                total_len: datagram.len() as u32 + h.ihl() as u32 * 4,
                                ..ip
                            });
                            match TcpSlice::from_slice(&datagram) {
                                Ok(tcp) => packet.tcp = Some(tcp_of(&tcp, 0).into_owned()),
                                Err(e) => packet.stop = Some(format!("TcpHeader: {e}")),
                            }
                        }
                        Some(_) => {
                            packet.ip = Some(Ip {
                                reassembled: true,
                                ..ip
                            })
                        }
                        None => {
                            packet.ip = Some(ip);
                            packet.fragment_held = true;
                        }
                    }
                    return packet;
                }
                (Some(ip), Some((v4.payload().payload.len(), expected)))
            }
            Some(LaxNetSlice::Ipv6(v6)) => {
                let h = v6.header();
                let ip = Ip {
                    src: IpAddr::V6(h.source_addr()),
                    dst: IpAddr::V6(h.destination_addr()),
                    ttl: h.hop_limit(),
                    id: None,
                    dont_fragment: false,
                    total_len: h.payload_length() as u32 + 40,
                    reassembled: false,
                };
                let ext = v6.extensions().slice().len();
                let expected = (h.payload_length() as usize).saturating_sub(ext);
                if v6.payload().fragmented {
                    packet.ip = Some(ip);
                    packet.stop = Some("IPv6 fragment (not reassembled)".into());
                    return packet;
                }
                (Some(ip), Some((v6.payload().payload.len(), expected)))
            }
            _ => (None, None),
        };
        packet.ip = ip;
        match &sliced.transport {
            Some(TransportSlice::Tcp(tcp)) => {
                let missing = payload
                    .map(|(have, want)| want.saturating_sub(have))
                    .unwrap_or(0);
                packet.tcp = Some(tcp_of(tcp, missing as u32));
            }
            Some(TransportSlice::Udp(udp)) => {
                packet.udp = Some(Udp {
                    src_port: udp.source_port(),
                    dst_port: udp.destination_port(),
                    payload: udp.payload(),
                })
            }
            Some(_) => {}
            None => packet.stop = stop,
        }
        packet
    }
}

/// Linux cooked captures: the protocol field at `proto_at`, the payload after `header`.
fn cooked(data: &[u8], proto_at: usize, header: usize) -> Result<LaxSlicedPacket<'_>, String> {
    if data.len() < header {
        return Err("cooked-capture header cut short".into());
    }
    let proto = u16::from_be_bytes([data[proto_at], data[proto_at + 1]]);
    Ok(LaxSlicedPacket::from_ether_type(
        EtherType(proto),
        &data[header..],
    ))
}

fn tcp_of<'a>(tcp: &TcpSlice<'a>, payload_missing: u32) -> Tcp<'a> {
    let mut options = TcpOptions::default();
    for opt in tcp.options_iterator().flatten() {
        match opt {
            TcpOptionElement::MaximumSegmentSize(m) => options.mss = Some(m),
            TcpOptionElement::WindowScale(w) => options.window_scale = Some(w),
            TcpOptionElement::SelectiveAcknowledgementPermitted => options.sack_permitted = true,
            TcpOptionElement::SelectiveAcknowledgement(_, rest) => {
                options.sack_blocks = 1 + rest.iter().flatten().count() as u8
            }
            TcpOptionElement::Timestamp(a, b) => options.timestamp = Some((a, b)),
            TcpOptionElement::Noop => {}
        }
    }
    let s = tcp.slice();
    Tcp {
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: s[13],
        window: tcp.window_size(),
        header_len: tcp.data_offset() * 4,
        options,
        payload: Cow::Borrowed(tcp.payload()),
        payload_missing,
    }
}
