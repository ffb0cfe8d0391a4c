//! Stage 2: link, IP and TCP headers of a frame, with `etherparse`'s lax slicing.
//!
//! Truncated, malformed and unsupported input is data, not an error: the layers that
//! parsed are kept and [`Packet::stop`] says where and why parsing stopped. Link types:
//! Ethernet (with VLAN tags, PPPoE), Linux cooked SLL and SLL2, BSD NULL/LOOP, raw
//! IPv4/IPv6. IPv4 fragments are reassembled ([`defrag`], RFC 791 §3.2).

pub mod defrag;
pub mod tunnel;

use crate::capture::{Frame, Linktype};
use etherparse::{
    EtherType, Ethernet2Slice, IpNumber, Ipv4HeaderSlice, Ipv4Slice, LaxNetSlice, LaxSlicedPacket,
    LinkSlice, TcpOptionElement, TcpSlice, TransportSlice,
};
use std::borrow::Cow;
use std::net::IpAddr;
use tunnel::{Layer, Next, Stack};

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
    /// Every layer peeled, outermost first (`Ethernet / IPv4 / GRE / IPv4 / TCP`).
    pub stack: Stack,
    /// What a frame that is not TCP carries: "ARP", "UDP", "ICMP", "ICMPv6", "IGMP", an
    /// IP protocol's keyword, or an EtherType's name (None for TCP, or undecodable).
    pub other: Option<String>,
}

impl Packet<'_> {
    /// A packet of nothing, to be overwritten (a slot for a frame's packet).
    pub fn placeholder() -> Self {
        Packet::empty(Link::None)
    }

    fn empty(link: Link) -> Self {
        Packet {
            link,
            ip: None,
            tcp: None,
            udp: None,
            stop: None,
            fragment_held: false,
            stack: Stack::default(),
            other: None,
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

impl Dissector {
    pub fn new() -> Self {
        Self::default()
    }

    /// A dissector that reassembles at most `max_datagrams` fragmented datagrams at
    /// once (`Limits::fragmented_datagrams`).
    pub fn with_fragment_bound(max_datagrams: usize) -> Self {
        Dissector {
            defrag: defrag::Defragmenter::new(max_datagrams),
        }
    }

    /// Frames of IP fragments that could not be completed, dropped so far.
    pub fn fragments_dropped(&self) -> u64 {
        self.defrag.dropped()
    }

    /// Decodes a frame down to TCP or UDP, peeling the link type's header and every
    /// encapsulation [`tunnel`] knows on the way.
    pub fn dissect<'a>(&mut self, frame: &Frame<'a>) -> Packet<'a> {
        if frame.linktype == Linktype::ETHERNET
            && let Some(p) = ethernet_ipv4_tcp(frame.data)
        {
            return p;
        }
        self.dissect_lax(frame)
    }

    /// [`Dissector::dissect`] without its shortcut for the common frame: every frame
    /// through `etherparse`'s lax slicing (the two must agree; a test and the fuzzer
    /// compare them).
    pub fn dissect_lax<'a>(&mut self, frame: &Frame<'a>) -> Packet<'a> {
        let mut stack = Stack::default();
        let stopped = |stack: Stack, why: String| {
            let mut p = Packet::empty(Link::None);
            p.stop = Some(why);
            p.stack = stack;
            p
        };
        let data = frame.data;
        let first = match frame.linktype {
            Linktype::ETHERNET => Ok(Next::Ethernet(data)),
            Linktype::NULL | Linktype::LOOP => {
                stack.push(Layer::Loopback);
                data.get(4..)
                    .map(Next::Ip)
                    .ok_or_else(|| "loopback header cut short".to_string())
            }
            Linktype(12) | Linktype(14) | Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 => {
                Ok(Next::Ip(data))
            }
            Linktype::LINUX_SLL | Linktype::LINUX_SLL2 => {
                stack.push(Layer::Cooked);
                let (proto_at, header) = if frame.linktype == Linktype::LINUX_SLL {
                    (14, SLL_HEADER)
                } else {
                    (0, SLL2_HEADER)
                };
                cooked(data, proto_at, header)
                    .ok_or_else(|| "cooked-capture header cut short".to_string())
            }
            Linktype::PPP | Linktype::PPP_HDLC => tunnel::ppp(data, &mut stack)
                .ok_or_else(|| "PPP frame that carries no IP".to_string()),
            Linktype::C_HDLC => tunnel::cisco_hdlc(data, &mut stack)
                .ok_or_else(|| "Cisco HDLC header cut short".to_string()),
            Linktype(7) => tunnel::arcnet(data, false, &mut stack).map_err(|e| e.to_string()),
            Linktype(129) => tunnel::arcnet(data, true, &mut stack).map_err(|e| e.to_string()),
            Linktype::NFLOG => tunnel::nflog(data, &mut stack)
                .ok_or_else(|| "NFLOG record without an IP packet".to_string()),
            Linktype::IEEE802_11 => tunnel::wlan(data, &mut stack).map_err(str::to_string),
            Linktype::IEEE802_11_RADIOTAP => {
                tunnel::radiotap(data, &mut stack).map_err(str::to_string)
            }
            lt => Err(format!("unsupported link type {}", lt.describe())),
        };
        let next = match first {
            Ok(n) => n,
            Err(e) => return stopped(stack, e),
        };
        self.peel(frame.linktype, next, stack, None)
    }

    /// Decodes from `next` down to TCP or UDP: each turn one IP layer (and the link and
    /// tags before it), a tunnel found after it starting the next turn. Also used for a
    /// tunnel inside a datagram reassembled from fragments.
    fn peel<'a>(
        &mut self,
        linktype: Linktype,
        mut next: Next<'a>,
        mut stack: Stack,
        mut link: Option<Link>,
    ) -> Packet<'a> {
        let stopped = |stack: Stack, why: String| {
            let mut p = Packet::empty(Link::None);
            p.stop = Some(why);
            p.stack = stack;
            p
        };
        // Each turn decodes one IP layer (and the link and tags before it); a tunnel
        // found after it starts the next turn.
        for _ in 0..8 {
            let sliced = match next {
                Next::Ethernet(d) => LaxSlicedPacket::from_ethernet(d).map_err(|e| e.to_string()),
                Next::EtherType(t, d) => Ok(LaxSlicedPacket::from_ether_type(EtherType(t), d)),
                Next::Ip(d) => LaxSlicedPacket::from_ip(d).map_err(|e| e.to_string()),
            };
            let sliced = match sliced {
                Ok(s) => s,
                Err(e) => return stopped(stack, e),
            };
            if let Some(LinkSlice::Ethernet2(e)) = &sliced.link {
                stack.push(Layer::Ethernet);
                link.get_or_insert_with(|| Link::Ethernet {
                    src: e.source(),
                    dst: e.destination(),
                    vlans: sliced.vlan_ids().iter().map(|v| v.value()).collect(),
                });
            }
            for v in sliced.vlan_ids().iter() {
                stack.push(Layer::Vlan(v.value()));
            }
            match &sliced.net {
                Some(LaxNetSlice::Ipv4(v4)) => {
                    stack.push(Layer::Ipv4);
                    if v4.header().ihl() > 5 {
                        stack.push(Layer::Ipv4Options);
                    }
                }
                Some(LaxNetSlice::Ipv6(v6)) => {
                    stack.push(Layer::Ipv6);
                    let first = v6.header().next_header().0;
                    for (kind, _) in Ipv6Exts::new(first, v6.extensions().slice()) {
                        stack.push(Layer::Ipv6Ext(kind));
                    }
                }
                _ => {}
            }
            let mark = stack.mark();
            match inner(&sliced, &mut stack) {
                Some(n) => next = n,
                None => {
                    stack.back_to(mark);
                    let link = link.unwrap_or(match linktype {
                        Linktype::LINUX_SLL | Linktype::LINUX_SLL2 => Link::Cooked,
                        _ => Link::None,
                    });
                    return self.decode_sliced(linktype, link, &sliced, stack);
                }
            }
        }
        stopped(stack, "more than 8 nested encapsulations".into())
    }

    fn decode_sliced<'a>(
        &mut self,
        linktype: Linktype,
        link: Link,
        sliced: &LaxSlicedPacket<'a>,
        mut stack: Stack,
    ) -> Packet<'a> {
        match &sliced.transport {
            Some(TransportSlice::Tcp(_)) => stack.push(Layer::Tcp),
            Some(TransportSlice::Udp(_)) => stack.push(Layer::Udp),
            _ => {}
        }
        let mut packet = Packet::empty(link);
        packet.stack = stack;
        packet.other = other_kind(sliced);
        let stop = sliced
            .stop_err
            .as_ref()
            .map(|(e, layer)| format!("{layer:?}: {e}"));
        let (ip, payload) = match &sliced.net {
            Some(LaxNetSlice::Ipv4(v4)) => {
                let h = v4.header();
                let ip = ip_of_v4(&h);
                let expected = (h.total_len() as usize).saturating_sub(h.ihl() as usize * 4);
                if v4.is_payload_fragmented() {
                    let key = defrag::FragKey::v4(
                        h.source(),
                        h.destination(),
                        h.identification(),
                        h.protocol().0,
                    );
                    let done = self.defrag.add(
                        key,
                        h.fragments_offset(),
                        h.more_fragments(),
                        v4.payload().payload,
                        v4.payload().incomplete,
                    );
                    match done {
                        Some(datagram) => {
                            let header = h.ihl() as u32 * 4;
                            let proto = h.protocol();
                            self.reassembled(linktype, &mut packet, ip, header, proto, &datagram);
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
                    return self.ipv6_fragment(linktype, packet, ip, v6);
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

impl Dissector {
    /// A UDP datagram reassembled from fragments may carry a tunnel (GTP-U over a mobile
    /// core's small MTU, most often): the TCP inside is decoded, and owned.
    fn tunnel_in_datagram(&mut self, linktype: Linktype, packet: &mut Packet<'_>, datagram: &[u8]) {
        let Ok(udp) = etherparse::UdpSlice::from_slice(datagram) else {
            return;
        };
        let mut stack = packet.stack;
        stack.push(Layer::Udp);
        let (src, dst) = (udp.source_port(), udp.destination_port());
        let Some(next) = tunnel::udp_tunnel(src, dst, udp.payload(), &mut stack) else {
            return;
        };
        let inner = self.peel(linktype, next, stack, Some(packet.link.clone()));
        if let Some(tcp) = inner.tcp {
            packet.tcp = Some(tcp.into_owned());
            packet.ip = inner.ip;
            packet.stack = inner.stack;
            packet.other = None;
        } else if let Some(kind) = inner.other {
            packet.other = Some(kind);
        }
    }

    /// An IPv6 fragment (RFC 8200 §4.5): held until its datagram is whole, then read
    /// as an IPv4 datagram's is ([`Dissector::reassembled`]).
    fn ipv6_fragment<'a>(
        &mut self,
        linktype: Linktype,
        mut packet: Packet<'a>,
        ip: Ip,
        v6: &etherparse::LaxIpv6Slice<'a>,
    ) -> Packet<'a> {
        let first = v6.header().next_header().0;
        let frag = Ipv6Exts::new(first, v6.extensions().slice())
            .find(|(kind, h)| *kind == 44 && h.len() >= 8)
            .map(|(_, h)| {
                let word = u16::from_be_bytes([h[2], h[3]]);
                let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                (word >> 3, word & 1 == 1, id)
            });
        let Some((offset, more, id)) = frag else {
            packet.ip = Some(ip);
            packet.stop = Some("IPv6 fragment without a readable fragment header".into());
            return packet;
        };
        let h = v6.header();
        let proto = v6.payload().ip_number;
        let key = defrag::FragKey {
            src: h.source(),
            dst: h.destination(),
            id,
            proto: proto.0,
            v6: true,
        };
        let Ok(offset) = etherparse::IpFragOffset::try_new(offset) else {
            packet.ip = Some(ip);
            return packet;
        };
        let done = self.defrag.add(
            key,
            offset,
            more,
            v6.payload().payload,
            v6.payload().incomplete,
        );
        let Some(datagram) = done else {
            packet.ip = Some(ip);
            packet.fragment_held = true;
            return packet;
        };
        let header = 40 + v6.extensions().slice().len() as u32;
        self.reassembled(linktype, &mut packet, ip, header, proto, &datagram);
        packet
    }

    /// A datagram whole again after its fragments, for IPv4 and IPv6 alike (`header`:
    /// the IP header bytes before it): its TCP segment decoded and owned; a UDP datagram
    /// read for a tunnel; anything else named.
    fn reassembled(
        &mut self,
        linktype: Linktype,
        packet: &mut Packet<'_>,
        ip: Ip,
        header: u32,
        proto: etherparse::IpNumber,
        datagram: &[u8],
    ) {
        let version = if ip.src.is_ipv4() { "IPv4" } else { "IPv6" };
        packet.ip = Some(Ip {
            reassembled: true,
            total_len: header + datagram.len() as u32,
            ..ip
        });
        if proto == etherparse::IpNumber::TCP {
            match TcpSlice::from_slice(datagram) {
                Ok(tcp) => {
                    packet.tcp = Some(tcp_of(&tcp, 0).into_owned());
                    packet.stack.push(Layer::Tcp);
                }
                Err(e) => packet.stop = Some(format!("TcpHeader: {e}")),
            }
            return;
        }
        packet.other = Some(format!(
            "{} from {version} fragments",
            proto.keyword_str().unwrap_or("IP protocol")
        ));
        if proto == etherparse::IpNumber::UDP {
            self.tunnel_in_datagram(linktype, packet, datagram);
        }
    }
}

/// The extension headers of an IPv6 packet (RFC 8200 §4), walked with bounds checks
/// from its next-header field over the bytes etherparse set apart for them: (protocol
/// number, header bytes). Read here rather than through etherparse's iterator, which
/// trusts the lengths of a lax (possibly cut) slice.
struct Ipv6Exts<'a> {
    next: u8,
    rest: &'a [u8],
}

impl<'a> Ipv6Exts<'a> {
    fn new(first: u8, rest: &'a [u8]) -> Self {
        Ipv6Exts { next: first, rest }
    }
}

impl<'a> Iterator for Ipv6Exts<'a> {
    type Item = (u8, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let kind = self.next;
        let len = match kind {
            // RFC 8200 §4.3, §4.4, §4.6: 8-byte units beyond the first 8.
            0 | 43 | 60 => (usize::from(*self.rest.get(1)?) + 1) * 8,
            // RFC 8200 §4.5: always 8.
            44 => 8,
            // RFC 4302 §2.2: 4-byte units, minus 2.
            51 => (usize::from(*self.rest.get(1)?) + 2) * 4,
            _ => return None,
        };
        let header = self.rest.get(..len)?;
        self.next = header[0];
        self.rest = &self.rest[len..];
        Some((kind, header))
    }
}

/// What a frame carries when it is not TCP, as a student would name it.
fn other_kind(sliced: &LaxSlicedPacket<'_>) -> Option<String> {
    let ip_number = match (&sliced.net, &sliced.transport) {
        (_, Some(TransportSlice::Tcp(_))) => return None,
        (_, Some(TransportSlice::Udp(_))) => return Some("UDP".into()),
        (_, Some(TransportSlice::Icmpv4(_))) => return Some("ICMP".into()),
        (_, Some(TransportSlice::Icmpv6(_))) => return Some("ICMPv6".into()),
        (_, Some(TransportSlice::Igmp(_))) => return Some("IGMP".into()),
        (Some(LaxNetSlice::Arp(_)), _) => return Some("ARP".into()),
        (Some(LaxNetSlice::Ipv4(v4)), None) => v4.payload().ip_number,
        (Some(LaxNetSlice::Ipv6(v6)), None) => v6.payload().ip_number,
        (None, None) => {
            let t = sliced.ether_payload()?.ether_type.0;
            return Some(ether_type_name(t));
        }
    };
    Some(match ip_number.keyword_str() {
        Some(k) => format!("IP protocol {} ({k})", ip_number.0),
        None => format!("IP protocol {}", ip_number.0),
    })
}

/// EtherTypes a teacher's capture holds besides IP (IEEE's registry).
fn ether_type_name(t: u16) -> String {
    let name = match t {
        0..=1500 => return "IEEE 802.3 with LLC (STP, CDP, ...)".into(),
        0x0842 => "Wake-on-LAN",
        0x8035 => "RARP",
        0x809B => "AppleTalk",
        0x80F3 => "AARP",
        0x8137 => "IPX",
        0x8808 => "Ethernet flow control",
        0x8809 => "LACP",
        0x8863 => "PPPoE discovery",
        0x888E => "EAPOL (802.1X)",
        0x88CC => "LLDP",
        0x88E5 => "MACsec",
        0x88F7 => "PTP",
        0x8899 => "Realtek",
        0x9000 => "Ethernet loopback",
        _ => return format!("EtherType {t:#06x}"),
    };
    format!("{name} (EtherType {t:#06x})")
}

/// Linux cooked captures: the protocol field at `proto_at`, the payload after `header`.
fn cooked(data: &[u8], proto_at: usize, header: usize) -> Option<Next<'_>> {
    if data.len() < header {
        return None;
    }
    let proto = u16::from_be_bytes([data[proto_at], data[proto_at + 1]]);
    Some(Next::EtherType(proto, &data[header..]))
}

/// The encapsulated layer after what etherparse decoded, if it is one [`tunnel`] reads:
/// MPLS, PPPoE and LLC/SNAP after a link header; IP-in-IP, 6in4 and GRE after IP; VXLAN,
/// GTP-U, Teredo and L2TP after UDP. Layers are pushed on `stack` as they are read.
fn inner<'a>(sliced: &LaxSlicedPacket<'a>, stack: &mut Stack) -> Option<Next<'a>> {
    let Some(net) = &sliced.net else {
        let p = sliced.ether_payload()?;
        return match p.ether_type.0 {
            tunnel::ETHERTYPE_MPLS | tunnel::ETHERTYPE_MPLS_MULTICAST => {
                tunnel::mpls(p.payload, stack)
            }
            tunnel::ETHERTYPE_PPPOE_SESSION => tunnel::pppoe_session(p.payload, stack),
            // An IEEE 802.3 length, not an EtherType: an LLC header follows.
            t if t <= 1500 => tunnel::llc_snap(p.payload, stack),
            _ => None,
        };
    };
    match &sliced.transport {
        None => {
            let (number, payload, fragmented) = match net {
                LaxNetSlice::Ipv4(v4) => (
                    v4.payload().ip_number,
                    v4.payload().payload,
                    v4.is_payload_fragmented(),
                ),
                LaxNetSlice::Ipv6(v6) => (
                    v6.payload().ip_number,
                    v6.payload().payload,
                    v6.payload().fragmented,
                ),
                _ => return None,
            };
            if fragmented {
                return None;
            }
            match number.0 {
                // IP in IP (RFC 2003) and IPv6 in IPv4 (RFC 4213 §3.5).
                4 | 41 => Some(Next::Ip(payload)),
                47 => tunnel::gre(payload, stack),
                _ => None,
            }
        }
        Some(TransportSlice::Udp(udp)) => {
            stack.push(Layer::Udp);
            tunnel::udp_tunnel(
                udp.source_port(),
                udp.destination_port(),
                udp.payload(),
                stack,
            )
        }
        _ => None,
    }
}

/// The shortcut for most frames of a capture: Ethernet without tags, IPv4 whole and
/// unfragmented (its total length all there), TCP header complete. Strict slicing by
/// `etherparse` (cheaper than its lax slicing of every layer); None for any other
/// frame, which goes the whole way. Gives what that way gives.
fn ethernet_ipv4_tcp(data: &[u8]) -> Option<Packet<'_>> {
    let eth = Ethernet2Slice::from_slice_without_fcs(data).ok()?;
    if eth.ether_type() != EtherType::IPV4 {
        return None;
    }
    let v4 = Ipv4Slice::from_slice(eth.payload_slice()).ok()?;
    let h = v4.header();
    if h.protocol() != IpNumber::TCP || v4.is_payload_fragmented() {
        return None;
    }
    let tcp = TcpSlice::from_slice(v4.payload().payload).ok()?;
    let mut stack = Stack::default();
    stack.push(Layer::Ethernet);
    stack.push(Layer::Ipv4);
    if h.ihl() > 5 {
        stack.push(Layer::Ipv4Options);
    }
    stack.push(Layer::Tcp);
    let mut packet = Packet::empty(Link::Ethernet {
        src: eth.source(),
        dst: eth.destination(),
        vlans: Vec::new(),
    });
    packet.stack = stack;
    packet.ip = Some(ip_of_v4(&h));
    packet.tcp = Some(tcp_of(&tcp, 0));
    Some(packet)
}

fn ip_of_v4(h: &Ipv4HeaderSlice<'_>) -> Ip {
    Ip {
        src: IpAddr::V4(h.source_addr()),
        dst: IpAddr::V4(h.destination_addr()),
        ttl: h.ttl(),
        id: Some(h.identification()),
        dont_fragment: h.dont_fragment(),
        total_len: h.total_len() as u32,
        reassembled: false,
    }
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

#[cfg(test)]
mod ipv6_exts_tests {
    use super::Ipv6Exts;

    /// The chain is walked within its bytes: a header whose length runs past them ends
    /// the walk (captures/fuzz-ipv6-ext-cut.pcap: etherparse's iterator read past it).
    #[test]
    fn extension_headers_are_walked_within_their_bytes() {
        // hop-by-hop (8 bytes) -> destination options (16 bytes) -> TCP.
        let mut chain = vec![60u8, 0, 1, 4, 0, 0, 0, 0];
        chain.extend_from_slice(&[6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let kinds: Vec<(u8, usize)> = Ipv6Exts::new(0, &chain)
            .map(|(k, h)| (k, h.len()))
            .collect();
        assert_eq!(kinds, [(0, 8), (60, 16)]);
        // The destination options claim 16 bytes; only 10 are there.
        let kinds: Vec<u8> = Ipv6Exts::new(0, &chain[..18]).map(|(k, _)| k).collect();
        assert_eq!(kinds, [0]);
        // A length byte alone, or nothing at all.
        assert_eq!(Ipv6Exts::new(0, &[60]).count(), 0);
        assert_eq!(Ipv6Exts::new(51, &[]).count(), 0);
        // AH counts in 4-byte units minus 2 (RFC 4302): 4 means 24 bytes.
        let mut ah = vec![6u8, 4];
        ah.extend_from_slice(&[0; 22]);
        assert_eq!(
            Ipv6Exts::new(51, &ah).next().map(|(_, h)| h.len()),
            Some(24)
        );
    }
}
