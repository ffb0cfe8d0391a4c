//! What `etherparse` does not peel: link types beyond Ethernet and cooked captures, and
//! the encapsulations a capture of a real network carries (tunnels, label stacks, PPP).
//! Each function reads one header, by its RFC or standard, and says where the next layer
//! starts; [`Stack`] keeps the layers in order, outermost first, for the report.

use std::fmt;

/// One layer of a frame, as the report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Ethernet,
    /// An 802.1Q/802.1ad tag and its VLAN id.
    Vlan(u16),
    /// An MPLS label (RFC 3032).
    Mpls(u32),
    PppoeSession,
    Ppp,
    LlcSnap,
    CiscoHdlc,
    Arcnet,
    Nflog,
    Radiotap,
    Wlan,
    Cooked,
    Loopback,
    Ipv4,
    /// Options after the IPv4 header's 20 bytes (RFC 791 §3.1).
    Ipv4Options,
    Ipv6,
    /// An IPv6 extension header (RFC 8200 §4), by its IP protocol number: 0 hop-by-hop,
    /// 43 routing, 44 fragment, 60 destination options, 51 AH (RFC 4302).
    Ipv6Ext(u8),
    Gre,
    Erspan,
    /// VXLAN and its network identifier (RFC 7348).
    Vxlan(u32),
    GtpU,
    Teredo,
    L2tp,
    Udp,
    Tcp,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Ethernet => f.write_str("Ethernet"),
            Layer::Vlan(id) => write!(f, "802.1Q {id}"),
            Layer::Mpls(label) => write!(f, "MPLS {label}"),
            Layer::PppoeSession => f.write_str("PPPoE"),
            Layer::Ppp => f.write_str("PPP"),
            Layer::LlcSnap => f.write_str("LLC/SNAP"),
            Layer::CiscoHdlc => f.write_str("Cisco HDLC"),
            Layer::Arcnet => f.write_str("ARCNET"),
            Layer::Nflog => f.write_str("NFLOG"),
            Layer::Radiotap => f.write_str("radiotap"),
            Layer::Wlan => f.write_str("802.11"),
            Layer::Cooked => f.write_str("Linux cooked"),
            Layer::Loopback => f.write_str("loopback"),
            Layer::Ipv4 => f.write_str("IPv4"),
            Layer::Ipv4Options => f.write_str("IPv4 options"),
            Layer::Ipv6 => f.write_str("IPv6"),
            Layer::Ipv6Ext(n) => f.write_str(match n {
                0 => "hop-by-hop",
                43 => "routing",
                44 => "fragment",
                60 => "destination options",
                51 => "AH",
                _ => "IPv6 extension",
            }),
            Layer::Gre => f.write_str("GRE"),
            Layer::Erspan => f.write_str("ERSPAN"),
            Layer::Vxlan(vni) => write!(f, "VXLAN {vni}"),
            Layer::GtpU => f.write_str("GTP-U"),
            Layer::Teredo => f.write_str("Teredo"),
            Layer::L2tp => f.write_str("L2TP"),
            Layer::Udp => f.write_str("UDP"),
            Layer::Tcp => f.write_str("TCP"),
        }
    }
}

/// Layers kept at most; deeper stacks end in "…".
const DEPTH: usize = 16;

/// The layers of one frame, outermost first (fixed size: no allocation per frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stack {
    layers: [Layer; DEPTH],
    len: u8,
    cut: bool,
}

impl Default for Stack {
    fn default() -> Self {
        Stack {
            layers: [Layer::Ethernet; DEPTH],
            len: 0,
            cut: false,
        }
    }
}

impl Stack {
    pub fn push(&mut self, layer: Layer) {
        if (self.len as usize) < DEPTH {
            self.layers[self.len as usize] = layer;
            self.len += 1;
        } else {
            self.cut = true;
        }
    }

    /// Where the stack stands now, to go [`Stack::back_to`] if a guess fails.
    pub fn mark(&self) -> (u8, bool) {
        (self.len, self.cut)
    }

    /// Drops what was pushed since `mark` (layers of a tunnel that turned out not to be).
    pub fn back_to(&mut self, mark: (u8, bool)) {
        (self.len, self.cut) = mark;
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers[..self.len as usize]
    }

    /// True when something was peeled besides one link, one IP and one transport layer:
    /// a tunnel, a label, a tag, PPP.
    pub fn is_encapsulated(&self) -> bool {
        self.layers()
            .iter()
            .filter(|l| matches!(l, Layer::Ipv4 | Layer::Ipv6))
            .count()
            > 1
            || self.layers().iter().any(|l| {
                matches!(
                    l,
                    Layer::Mpls(_)
                        | Layer::PppoeSession
                        | Layer::Ppp
                        | Layer::LlcSnap
                        | Layer::Gre
                        | Layer::Erspan
                        | Layer::Vxlan(_)
                        | Layer::GtpU
                        | Layer::Teredo
                        | Layer::L2tp
                )
            })
    }
}

impl fmt::Display for Stack {
    /// `Ethernet / 802.1Q 10 / IPv4 / GRE / IPv4 / TCP`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.layers().iter().enumerate() {
            if i > 0 {
                f.write_str(" / ")?;
            }
            write!(f, "{l}")?;
        }
        if self.cut {
            f.write_str(" / …")?;
        }
        Ok(())
    }
}

/// Where the next layer starts, and how to read it.
#[derive(Debug, Clone, Copy)]
pub enum Next<'a> {
    Ethernet(&'a [u8]),
    /// A payload named by an EtherType (cooked captures, HDLC, LLC/SNAP, MPLS, PPP).
    EtherType(u16, &'a [u8]),
    Ip(&'a [u8]),
}

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
pub const ETHERTYPE_MPLS: u16 = 0x8847;
pub const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
pub const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_ERSPAN_2: u16 = 0x88BE;
const ETHERTYPE_ERSPAN_3: u16 = 0x22EB;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// An IP packet named by its first nibble (MPLS, GTP-U and NFLOG do not say which).
fn ip_by_version(b: &[u8]) -> Option<Next<'_>> {
    match b.first()? >> 4 {
        4 | 6 => Some(Next::Ip(b)),
        _ => None,
    }
}

/// MPLS label stack entries (RFC 3032 §2.1) up to the one with the bottom-of-stack bit;
/// then IP by its version nibble, or an Ethernet pseudowire after a zero control word
/// (RFC 4448 §4.6).
pub fn mpls<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    let mut at = 0;
    loop {
        let entry = b.get(at..at + 4)?;
        stack.push(Layer::Mpls(
            u32::from_be_bytes(entry.try_into().ok()?) >> 12,
        ));
        at += 4;
        if entry[2] & 0x01 != 0 {
            break;
        }
    }
    let rest = &b[at..];
    match rest.first()? >> 4 {
        4 | 6 => Some(Next::Ip(rest)),
        0 => Some(Next::Ethernet(rest.get(4..)?)),
        _ => None,
    }
}

/// The PPP protocol field (RFC 1661 §2), after an optional HDLC address and control
/// (0xFF 0x03, RFC 1662 §3.1); IPv4 (0x0021) and IPv6 (0x0057) go on.
pub fn ppp<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    stack.push(Layer::Ppp);
    let b = if b.starts_with(&[0xFF, 0x03]) {
        &b[2..]
    } else {
        b
    };
    // A protocol field may be compressed to one byte (odd first byte, RFC 1661 §6.5).
    let (proto, at) = if b.first()? & 1 == 1 {
        (*b.first()? as u16, 1)
    } else {
        (be16(b, 0)?, 2)
    };
    match proto {
        0x0021 | 0x0057 => Some(Next::Ip(&b[at..])),
        _ => None,
    }
}

/// A PPPoE session header (RFC 2516 §4): version/type, code, session id, length; PPP.
pub fn pppoe_session<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    stack.push(Layer::PppoeSession);
    let len = be16(b, 4)? as usize;
    let payload = b.get(6..)?;
    let payload = &payload[..len.min(payload.len())];
    // The PPP protocol field follows without address and control (RFC 2516 §7).
    let proto = be16(payload, 0)?;
    stack.push(Layer::Ppp);
    match proto {
        0x0021 | 0x0057 => Some(Next::Ip(&payload[2..])),
        _ => None,
    }
}

/// IEEE 802.2 LLC with a SNAP header (RFC 1042): 0xAA 0xAA 0x03, an OUI, an EtherType.
pub fn llc_snap<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    if b.get(..3)? != [0xAA, 0xAA, 0x03] {
        return None;
    }
    stack.push(Layer::LlcSnap);
    Some(Next::EtherType(be16(b, 6)?, b.get(8..)?))
}

/// GRE (RFC 2784, key and sequence number of RFC 2890): the protocol type names what
/// follows; transparent Ethernet bridging (0x6558) and ERSPAN carry Ethernet frames.
pub fn gre<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    let flags = be16(b, 0)?;
    if flags & 0x0007 != 0 {
        // Version 1 is PPTP's enhanced GRE (RFC 2637), not read here.
        return None;
    }
    stack.push(Layer::Gre);
    let proto = be16(b, 2)?;
    let mut at = 4;
    for bit in [0x8000u16, 0x2000, 0x1000] {
        // Checksum (and reserved), key, sequence number: 4 bytes each when present.
        if flags & bit != 0 {
            at += 4;
        }
    }
    let rest = b.get(at..)?;
    match proto {
        ETHERTYPE_TEB => Some(Next::Ethernet(rest)),
        // ERSPAN type II has an 8-byte header and a sequence number in GRE; type I has
        // neither (draft-foschiano-erspan §4.1, §4.2).
        ETHERTYPE_ERSPAN_2 => {
            stack.push(Layer::Erspan);
            if flags & 0x1000 != 0 {
                Some(Next::Ethernet(rest.get(8..)?))
            } else {
                Some(Next::Ethernet(rest))
            }
        }
        // ERSPAN type III: a 12-byte header and an 8-byte platform subheader when the
        // O bit (the lowest bit of its last byte) is set (draft-foschiano-erspan §4.3).
        ETHERTYPE_ERSPAN_3 => {
            stack.push(Layer::Erspan);
            let o = rest.get(11)? & 0x01 != 0;
            Some(Next::Ethernet(rest.get(if o { 20 } else { 12 }..)?))
        }
        t => Some(Next::EtherType(t, rest)),
    }
}

/// VXLAN (RFC 7348 §5): 8 bytes, the I flag and a 24-bit network identifier; Ethernet.
pub fn vxlan<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    if b.first()? & 0x08 == 0 {
        return None;
    }
    let vni = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?) >> 8;
    stack.push(Layer::Vxlan(vni));
    Some(Next::Ethernet(b.get(8..)?))
}

/// GTP-U (3GPP TS 29.281 §5.1): version 1 G-PDUs carry an IP packet after 8 bytes,
/// 4 more when a sequence number, N-PDU number or extension header flag is set, and the
/// extension headers, each its length in 4-byte units first and the next type last.
pub fn gtp_u<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    let flags = *b.first()?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || *b.get(1)? != 0xFF {
        return None;
    }
    stack.push(Layer::GtpU);
    let mut at = 8;
    if flags & 0x07 != 0 {
        let mut next = *b.get(11)?;
        at = 12;
        while next != 0 {
            let units = *b.get(at)? as usize;
            if units == 0 {
                return None;
            }
            at += units * 4;
            next = *b.get(at - 1)?;
        }
    }
    ip_by_version(b.get(at..)?)
}

/// Teredo (RFC 4380 §5.1.1): IPv6 in UDP, after an authentication indicator (type 1)
/// and an origin indication (type 0, 8 bytes) when present.
pub fn teredo<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    let mut at = 0;
    if be16(b, 0)? == 0x0001 {
        let id = *b.get(2)? as usize;
        let auth = *b.get(3)? as usize;
        at += 4 + id + auth + 8 + 1;
    }
    if be16(b, at)? == 0x0000 {
        at += 8;
    }
    let rest = b.get(at..)?;
    if rest.first()? >> 4 != 6 {
        return None;
    }
    stack.push(Layer::Teredo);
    Some(Next::Ip(rest))
}

/// L2TP version 2 data messages (RFC 2661 §3.1): optional length, sequence numbers and
/// offset padding, then PPP. Control messages carry no user data.
pub fn l2tp<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    let flags = be16(b, 0)?;
    if flags & 0x8000 != 0 || flags & 0x000F != 2 {
        return None;
    }
    stack.push(Layer::L2tp);
    let mut at = 2;
    if flags & 0x4000 != 0 {
        at += 2;
    }
    at += 4; // tunnel and session ids
    if flags & 0x0800 != 0 {
        at += 4;
    }
    if flags & 0x0200 != 0 {
        at += 2 + be16(b, at)? as usize;
    }
    ppp(b.get(at..)?, stack)
}

/// What a UDP port pair carries, when it is a tunnel (the IANA ports).
pub fn udp_tunnel<'a>(src: u16, dst: u16, b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    let is = |p: u16| src == p || dst == p;
    if is(4789) {
        vxlan(b, stack)
    } else if is(2152) {
        gtp_u(b, stack)
    } else if is(3544) {
        teredo(b, stack)
    } else if is(1701) {
        l2tp(b, stack)
    } else {
        None
    }
}

/// Cisco HDLC (link type 104): address, control, then an EtherType.
pub fn cisco_hdlc<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    stack.push(Layer::CiscoHdlc);
    Some(Next::EtherType(be16(b, 2)?, b.get(4..)?))
}

/// Why an ARCNET frame is not decoded (the report counts it by these words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Arcnet {
    #[error("ARCNET header cut short")]
    Short,
    #[error("ARCNET split packet (RFC 1201 flag {0:#04x}): not rejoined")]
    Split(u8),
    #[error("ARCNET protocol id {0} is not IP or ARP")]
    Protocol(u8),
}

/// ARCNET (link types 7, BSD, and 129, Linux): source and destination station, on Linux
/// a 2-byte offset, then the protocol id. RFC 1051's ids (240 IP, 241 ARP) stand right
/// before the packet; RFC 1201's (212 IP, 213 ARP, 214 RARP, 196 IPv6) are followed by a
/// split flag and a sequence number, and an exception packet (flag 0xFF) repeats the
/// three after 4 bytes of padding. Split packets (RFC 1201 §3: flag not 0) are not
/// rejoined.
pub fn arcnet<'a>(b: &'a [u8], linux: bool, stack: &mut Stack) -> Result<Next<'a>, Arcnet> {
    stack.push(Layer::Arcnet);
    let short = || Arcnet::Short;
    let mut at = if linux { 4 } else { 2 };
    let ether_type = |id: u8| match id {
        240 | 212 => Some(0x0800),
        241 | 213 => Some(0x0806),
        214 => Some(0x8035),
        196 => Some(0x86DD),
        _ => None,
    };
    let id = *b.get(at).ok_or_else(short)?;
    if matches!(id, 240 | 241) {
        return Ok(Next::EtherType(ether_type(id).unwrap_or(0), &b[at + 1..]));
    }
    let mut flag = *b.get(at + 1).ok_or_else(short)?;
    if flag == 0xFF {
        at += 4;
        flag = *b.get(at + 1).ok_or_else(short)?;
    }
    let id = *b.get(at).ok_or_else(short)?;
    if flag != 0 {
        return Err(Arcnet::Split(flag));
    }
    let t = ether_type(id).ok_or(Arcnet::Protocol(id))?;
    Ok(Next::EtherType(t, b.get(at + 4..).ok_or_else(short)?))
}

/// Linux NFLOG (link type 239): family, version, resource id, then type-length-value
/// attributes in the capturing host's byte order, each padded to 4 bytes; attribute 9
/// (NFULA_PAYLOAD) is the IP packet.
pub fn nflog<'a>(b: &'a [u8], stack: &mut Stack) -> Option<Next<'a>> {
    stack.push(Layer::Nflog);
    let mut at = 4;
    // Byte order: the length of the first attribute is at least 4 and small.
    let little = b.get(at..at + 2).is_some_and(|l| l[1] == 0 && l[0] >= 4);
    let word = |at: usize| -> Option<u16> {
        let w = [*b.get(at)?, *b.get(at + 1)?];
        Some(if little {
            u16::from_le_bytes(w)
        } else {
            u16::from_be_bytes(w)
        })
    };
    while at + 4 <= b.len() {
        let len = word(at)? as usize;
        let kind = word(at + 2)?;
        if len < 4 {
            return None;
        }
        if kind == 9 {
            return ip_by_version(b.get(at + 4..(at + len).min(b.len()))?);
        }
        at += (len + 3) & !3;
    }
    None
}

/// IEEE 802.11 data frames (IEEE 802.11-2020 §9.2.4): the MAC header (24 bytes, 30 with
/// four addresses, 2 more for QoS, 4 more for HT control), then LLC/SNAP. Protected
/// (encrypted) frames and frames other than data stop here.
pub fn wlan<'a>(b: &'a [u8], stack: &mut Stack) -> Result<Next<'a>, &'static str> {
    stack.push(Layer::Wlan);
    let fc = u16::from_le_bytes([
        *b.first().ok_or("802.11 header cut short")?,
        *b.get(1).ok_or("802.11 header cut short")?,
    ]);
    if (fc >> 2) & 0x3 != 2 {
        return Err("802.11 management or control frame");
    }
    let subtype = (fc >> 4) & 0xF;
    if subtype & 0x4 != 0 {
        return Err("802.11 null data frame");
    }
    if fc & 0x4000 != 0 {
        return Err("802.11 protected (encrypted) frame");
    }
    let mut len = 24;
    if (fc >> 8) & 0x3 == 0x3 {
        len += 6;
    }
    if subtype & 0x8 != 0 {
        len += 2;
        if fc & 0x8000 != 0 {
            len += 4;
        }
    }
    let rest = b.get(len..).ok_or("802.11 header cut short")?;
    llc_snap(rest, stack).ok_or("802.11 payload is not LLC/SNAP")
}

/// Radiotap (link type 127): a little-endian header whose length is at bytes 2–3, then
/// an 802.11 frame.
pub fn radiotap<'a>(b: &'a [u8], stack: &mut Stack) -> Result<Next<'a>, &'static str> {
    stack.push(Layer::Radiotap);
    let len = u16::from_le_bytes([
        *b.get(2).ok_or("radiotap header cut short")?,
        *b.get(3).ok_or("radiotap header cut short")?,
    ]) as usize;
    // The FCS flag (bit 4 of the flags field) adds 4 bytes at the end; they are past
    // the IP datagram's own length, so nothing is cut for them.
    wlan(b.get(len..).ok_or("radiotap header cut short")?, stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ARCNET frames wirelab does not decode say why (RFC 1201's split packets, other
    /// protocols, a cut header); an RFC 1051 IP frame decodes.
    #[test]
    fn arcnet_says_why_a_frame_is_not_ip() {
        let arc = |b: &[u8]| arcnet(b, false, &mut Stack::default()).map(|_| ());
        // source, destination, RFC 1051 IP id (240), then the packet.
        assert!(matches!(
            arcnet(&[1, 2, 240, 0x45], false, &mut Stack::default()),
            Ok(Next::EtherType(0x0800, [0x45]))
        ));
        // RFC 1201: id 212 (IP), split flag 1: not rejoined.
        assert_eq!(arc(&[1, 2, 212, 1, 0, 0, 0x45]), Err(Arcnet::Split(1)));
        assert_eq!(arc(&[1, 2, 99, 0, 0, 0, 0x45]), Err(Arcnet::Protocol(99)));
        assert_eq!(arc(&[1, 2]), Err(Arcnet::Short));
        assert_eq!(
            Arcnet::Split(1).to_string(),
            "ARCNET split packet (RFC 1201 flag 0x01): not rejoined"
        );
    }

    #[test]
    fn stack_reads_as_a_student_would_write_it() {
        let mut s = Stack::default();
        for l in [
            Layer::Ethernet,
            Layer::Vlan(10),
            Layer::Ipv4,
            Layer::Gre,
            Layer::Ipv4,
            Layer::Tcp,
        ] {
            s.push(l);
        }
        assert_eq!(
            s.to_string(),
            "Ethernet / 802.1Q 10 / IPv4 / GRE / IPv4 / TCP"
        );
        assert!(s.is_encapsulated());
        let mut plain = Stack::default();
        for l in [Layer::Ethernet, Layer::Vlan(5), Layer::Ipv6, Layer::Tcp] {
            plain.push(l);
        }
        assert!(!plain.is_encapsulated());
    }

    #[test]
    fn headers_cut_short_stop_without_panicking() {
        let mut s = Stack::default();
        for n in 0..40 {
            let b = vec![0xFFu8; n];
            let _ = mpls(&b, &mut s);
            let _ = gre(&b, &mut s);
            let _ = vxlan(&b, &mut s);
            let _ = gtp_u(&b, &mut s);
            let _ = teredo(&b, &mut s);
            let _ = l2tp(&b, &mut s);
            let _ = ppp(&b, &mut s);
            let _ = pppoe_session(&b, &mut s);
            let _ = nflog(&b, &mut s);
            let _ = radiotap(&b, &mut s);
            let _ = cisco_hdlc(&b, &mut s);
            let _ = llc_snap(&b, &mut s);
        }
    }

    #[test]
    fn gtp_extension_headers_are_skipped() {
        // Flags: version 1, PT, E; G-PDU; seq, N-PDU, next type 0x85 (PDU session).
        let mut b = vec![0x34, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85];
        b.extend_from_slice(&[1, 0x10, 0x01, 0x00]); // one 4-byte extension, next none
        b.extend_from_slice(&[0x45, 0, 0, 20]);
        let mut s = Stack::default();
        match gtp_u(&b, &mut s) {
            Some(Next::Ip(ip)) => assert_eq!(ip[0], 0x45),
            other => panic!("{other:?}"),
        }
    }
}
