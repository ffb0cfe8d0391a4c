#!/usr/bin/env python3
"""Writes captures/encap/*.pcap: the frames of captures/romeo.pcap (the course's fetch of
romeo.txt) wrapped in each encapsulation and link type wirelab peels, so that a test can
check that every one of them decodes to the same connection and exchange.

Crafted, not recorded: this kernel cannot make GTP-U, ERSPAN, Teredo, NFLOG or 802.11
frames between namespaces, and one generator keeps the variants comparable. Each header
is built as its RFC lays it out; outer IPv4 headers carry valid checksums so that
tshark reads the files as wirelab does.

    python3 scripts/encapsulate.py        # rewrites captures/encap/
"""
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "captures", "romeo.pcap")
OUT = os.path.join(ROOT, "captures", "encap")

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic == 0xA1B2C3D4, "romeo.pcap is a little-endian microsecond pcap"
    linktype = struct.unpack("<I", data[20:24])[0]
    assert linktype == 1
    at, frames = 24, []
    while at < len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[at:at + 16])
        frames.append((sec, usec, data[at + 16:at + 16 + incl]))
        at += 16 + incl
    return frames


def write_pcap(name, linktype, frames):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for sec, usec, data in frames:
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            f.write(data)


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(proto, payload, src="10.99.0.1", dst="10.99.0.2", ident=0):
    """An outer IPv4 header (RFC 791) with its checksum."""
    s = bytes(int(x) for x in src.split("."))
    d = bytes(int(x) for x in dst.split("."))
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, s, d)
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:] + payload


def ether(payload, ethertype, vlans=()):
    """Ethernet II (and 802.1Q tags)."""
    h = MAC_B + MAC_A
    for v in vlans:
        h += struct.pack("!HH", 0x8100, v)
    return h + struct.pack("!H", ethertype) + payload


def udp(sport, dport, payload):
    """UDP (RFC 768), checksum 0 (none, allowed over IPv4)."""
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def to_ipv6(ip):
    """The IPv4 packet's TCP segment under an IPv6 header (RFC 8200) between documentation
    addresses, mapped from the IPv4 ones so each side keeps its own address."""
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    seg = ip[ihl:total]
    src = bytes.fromhex("20010db8000000000000000000000000")[:12] + ip[12:16]
    dst = bytes.fromhex("20010db8000000000000000000000000")[:12] + ip[16:20]
    return struct.pack("!IHBB", 0x60000000, len(seg), 6, 64) + src + dst + seg


def with_ipv4_options(ip):
    """The IPv4 packet with a Router Alert option (RFC 2113), 4 bytes: IHL 6."""
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    opts = b"\x94\x04\x00\x00"
    h = bytearray(ip[:ihl] + opts)
    h[0] = 0x40 | (len(h) // 4)
    h[2:4] = struct.pack("!H", total + len(opts))
    h[10:12] = b"\0\0"
    h[10:12] = struct.pack("!H", checksum(bytes(h)))
    return bytes(h) + ip[ihl:total]


def v6_parts(ip):
    """The IPv6 addresses and the TCP segment of `ip` (as to_ipv6 maps them)."""
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    prefix = bytes.fromhex("20010db8000000000000000000000000")[:12]
    return prefix + ip[12:16], prefix + ip[16:20], ip[ihl:total]


def ipv6_with(src, dst, chain):
    """An IPv6 header (RFC 8200) before `chain`, a list of (next header, bytes) whose
    first element's number is the IPv6 header's next header."""
    body = b"".join(b for _, b in chain)
    return struct.pack("!IHBB", 0x60000000, len(body), chain[0][0], 64) + src + dst + body


def ext(next_header, data):
    """An extension header (RFC 8200 §4.3-4.6 layout): next header, length in 8-byte
    units beyond the first 8, then data (padded with PadN)."""
    body = data + b"\0" * ((-(2 + len(data))) % 8)
    return struct.pack("!BB", next_header, (2 + len(body)) // 8 - 1) + body


def ipv6_ext_chain(ip):
    """Hop-by-hop (router alert), routing (type 4, segments left 0), destination options
    (PadN), AH (RFC 4302: 12-byte ICV), then TCP."""
    src, dst, seg = v6_parts(ip)
    hop = ext(43, b"\x05\x02\x00\x00")
    routing = ext(60, b"\x04\x00" + b"\0" * 4 + dst)
    dest = ext(51, b"\x01\x02\x00\x00")
    ah = struct.pack("!BBHII", 6, 4, 0, 0x1000, 1) + b"\xaa" * 12
    return ipv6_with(src, dst, [(0, hop), (43, routing), (60, dest), (51, ah), (6, seg)])


def ipv6_fragments(ip, i):
    """The IPv6 packet of `ip` split in two fragments at 8-byte-aligned offset 24 (RFC 8200
    §4.5) when its TCP segment is longer, else one atomic fragment."""
    src, dst, seg = v6_parts(ip)
    ident = 0x5000 + i
    cut = 24 if len(seg) > 24 else len(seg)
    out = []
    for off, part, more in [(0, seg[:cut], cut < len(seg)), (cut, seg[cut:], False)]:
        if off and not part:
            break
        frag = struct.pack("!BBHI", 6, 0, off | int(more), ident)
        out.append(ipv6_with(src, dst, [(44, frag), (6, part)]))
    return out


def ipv4_fragments(proto, payload, ident, first=32):
    """An outer IPv4 datagram (RFC 791) cut in two fragments after `first` bytes of its
    payload (a multiple of 8), each with its own checksum."""
    s = bytes([10, 99, 0, 1])
    d = bytes([10, 99, 0, 2])
    out = []
    for off, part, more in [(0, payload[:first], True), (first, payload[first:], False)]:
        flags = (0x2000 if more else 0) | (off // 8)
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(part), ident, flags, 64, proto, 0, s, d)
        out.append(h[:10] + struct.pack("!H", checksum(h)) + h[12:] + part)
    return out


def variants(ip, i):
    """(file, link type, frame) for the IPv4 packet `ip`, the `i`th frame."""
    v6 = to_ipv6(ip)
    yield "ipv4-options.pcap", 1, ether(with_ipv4_options(ip), 0x0800)
    yield "ipv6-ext.pcap", 1, ether(ipv6_ext_chain(ip), 0x86DD)
    for f in ipv6_fragments(ip, i):
        yield "ipv6-frag.pcap", 1, ether(f, 0x86DD)
    inner_eth = ether(ip, 0x0800)
    yield "vlan-gre.pcap", 1, ether(ipv4(47, struct.pack("!HH", 0, 0x0800) + ip), 0x0800, vlans=[10])
    yield "qinq.pcap", 1, ether(ip, 0x0800, vlans=[100, 200])
    yield "gre-key-teb.pcap", 1, ether(ipv4(47, struct.pack("!HHI", 0x2000, 0x6558, 7) + inner_eth), 0x0800)
    # ERSPAN type II: GRE with a sequence number, then ver 1, VLAN, COS/En/T/session, index.
    erspan2 = struct.pack("!HHI", 0x1000, 0x88BE, i) + struct.pack("!HHI", 0x1000, 0x0001, 0)
    yield "erspan2.pcap", 1, ether(ipv4(47, erspan2 + inner_eth), 0x0800)
    # ERSPAN type III: 12 bytes (ver 2, VLAN, COS/BSO/T/session, timestamp, SGT, flags).
    erspan3 = struct.pack("!HHI", 0x1000, 0x22EB, i) + struct.pack("!HHIHH", 0x2000, 0x0001, i, 0, 0)
    yield "erspan3.pcap", 1, ether(ipv4(47, erspan3 + inner_eth), 0x0800)
    vxlan = struct.pack("!BBHI", 0x08, 0, 0, 42 << 8)
    yield "vxlan.pcap", 1, ether(ipv4(17, udp(40000 + i % 7, 4789, vxlan + inner_eth)), 0x0800)
    gtp = struct.pack("!BBHI", 0x30, 0xFF, len(ip), 0x1234)
    yield "gtp-u.pcap", 1, ether(ipv4(17, udp(2152, 2152, gtp + ip)), 0x0800)
    # The same GTP-U datagrams with the outer IPv4 fragmented (a mobile core's small MTU).
    for f in ipv4_fragments(17, udp(2152, 2152, gtp + ip), 0x7000 + i):
        yield "gtp-u-fragmented.pcap", 1, ether(f, 0x0800)
    # Teredo with an origin indication (RFC 4380 §5.1.1).
    origin = struct.pack("!HH4s", 0x0000, 0xFFFF ^ 3544, bytes([0xFF ^ 10, 0xFF ^ 99, 0xFF, 0xFE]))
    yield "teredo.pcap", 1, ether(ipv4(17, udp(3544, 3544, origin + v6)), 0x0800)
    yield "ipip.pcap", 1, ether(ipv4(4, ip), 0x0800)
    yield "6in4.pcap", 1, ether(ipv4(41, v6), 0x0800)
    # L2TPv2 data message with the length bit, then PPP with address and control.
    l2tp_body = struct.pack("!HH", 1, 1) + b"\xff\x03\x00\x21" + ip
    l2tp = struct.pack("!HH", 0x4002, 6 + len(l2tp_body)) + l2tp_body
    yield "l2tp.pcap", 1, ether(ipv4(17, udp(1701, 1701, l2tp)), 0x0800)
    mpls = struct.pack("!II", (100 << 12) | 64, (200 << 12) | 0x100 | 64)
    yield "mpls.pcap", 1, ether(mpls + ip, 0x8847)
    ppp_ip = struct.pack("!H", 0x0021) + ip
    yield "pppoe.pcap", 1, ether(struct.pack("!BBHH", 0x11, 0, 1, len(ppp_ip)) + ppp_ip, 0x8864)
    llc = b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + ip
    yield "llc-snap.pcap", 1, MAC_B + MAC_A + struct.pack("!H", len(llc)) + llc
    yield "chdlc.pcap", 104, b"\x0f\x00\x08\x00" + ip
    # ARCNET on Linux (link type 129) with RFC 1201's header: source, destination, offset,
    # protocol id 212 (IP), split flag 0, sequence number.
    yield "arcnet.pcap", 129, struct.pack("!BBHBBH", 0x0A, 0xBE, 0, 212, 0, i) + ip
    yield "ppp.pcap", 9, b"\xff\x03\x00\x21" + ip
    # NFLOG: AF_INET, version 0, resource id 0; NFULA_PACKET_HDR, then NFULA_PAYLOAD;
    # attribute lengths in the capturing host's (little-endian) order, padded to 4.
    hdr_tlv = struct.pack("<HH", 8, 1) + struct.pack("!HBB", 0x0800, 0, 0)
    pay = struct.pack("<HH", 4 + len(ip), 9) + ip + b"\0" * ((4 - len(ip) % 4) % 4)
    yield "nflog.pcap", 239, struct.pack("!BBH", 2, 0, 0) + hdr_tlv + pay
    # Radiotap (8 bytes, no fields) and an 802.11 data frame from the AP (FromDS).
    radiotap = struct.pack("<BBHI", 0, 0, 8, 0)
    wlan = struct.pack("<HH", 0x0208, 0) + MAC_B + MAC_A + MAC_A + struct.pack("<H", i << 4)
    yield "radiotap.pcap", 127, radiotap + wlan + llc


def main():
    frames = read_pcap(SRC)
    out = {}
    for i, (sec, usec, data) in enumerate(frames):
        assert data[12:14] == b"\x08\x00", "romeo.pcap frames are Ethernet/IPv4"
        for name, linktype, frame in variants(data[14:], i):
            out.setdefault(name, (linktype, []))[1].append((sec, usec, frame))
    for name, (linktype, fs) in sorted(out.items()):
        write_pcap(name, linktype, fs)
    print(f"wrote {len(out)} captures of {len(frames)} frames to {os.path.relpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
