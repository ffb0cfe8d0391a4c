//! Crafted captures: TCP conversations built packet by packet (etherparse's
//! `PacketBuilder`) and written as classic pcap (`pcap-file`). The tests, the fuzz
//! seeds and `scripts/make-hostile-captures.sh` use them to make exactly the traffic a
//! real stack would never send: huge sequence gaps, conflicting retransmissions,
//! hostile URLs and headers, a million SYNs.

use etherparse::{PacketBuilder, TcpOptionElement};
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::borrow::Borrow;
use std::io::{self, Write};
use std::time::Duration;

/// One crafted frame: capture time in microseconds and the Ethernet frame.
pub struct CraftedFrame {
    pub ts_us: i64,
    pub data: Vec<u8>,
}

/// A client and a server exchanging segments; sequence numbers advance as data is sent.
pub struct Conversation {
    pub client: ([u8; 4], u16),
    pub server: ([u8; 4], u16),
    /// Next sequence number of each side: [client, server].
    pub next_seq: [u32; 2],
    pub ts_us: i64,
    pub frames: Vec<CraftedFrame>,
}

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

/// TCP flags of a crafted segment.
#[derive(Clone, Copy, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
}

impl Flags {
    pub const ACK: Flags = Flags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
        psh: false,
    };
}

impl Conversation {
    /// A conversation from 10.0.0.1:`client_port` to 10.0.0.2:`server_port` whose
    /// initial sequence numbers are `isn`.
    pub fn new(client_port: u16, server_port: u16, isn: [u32; 2]) -> Self {
        Conversation {
            client: ([10, 0, 0, 1], client_port),
            server: ([10, 0, 0, 2], server_port),
            next_seq: isn,
            ts_us: 1_700_000_000_000_000,
            frames: Vec::new(),
        }
    }

    /// Appends one segment exactly as given (sequence numbers are not advanced).
    pub fn segment(&mut self, from_client: bool, seq: u32, ack: u32, flags: Flags, payload: &[u8]) {
        let (src, dst, smac, dmac) = if from_client {
            (self.client, self.server, CLIENT_MAC, SERVER_MAC)
        } else {
            (self.server, self.client, SERVER_MAC, CLIENT_MAC)
        };
        let mut b = PacketBuilder::ethernet2(smac, dmac)
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, seq, 65535);
        if flags.syn {
            b = b.syn();
            b = b
                .options(&[TcpOptionElement::MaximumSegmentSize(1460)])
                .expect("one option fits");
        }
        if flags.ack {
            b = b.ack(ack);
        }
        if flags.fin {
            b = b.fin();
        }
        if flags.rst {
            b = b.rst();
        }
        if flags.psh {
            b = b.psh();
        }
        let mut data = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut data, payload).expect("a crafted packet fits");
        self.ts_us += 100;
        self.frames.push(CraftedFrame {
            ts_us: self.ts_us,
            data,
        });
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) {
        let [c, s] = self.next_seq;
        let syn = Flags {
            syn: true,
            ..Flags::default()
        };
        self.segment(true, c, 0, syn, &[]);
        self.segment(false, s, c.wrapping_add(1), Flags { ack: true, ..syn }, &[]);
        self.next_seq = [c.wrapping_add(1), s.wrapping_add(1)];
        self.segment(true, self.next_seq[0], self.next_seq[1], Flags::ACK, &[]);
    }

    /// One side sends `data` in segments of at most `mss` bytes, each acknowledged.
    pub fn send(&mut self, from_client: bool, data: &[u8], mss: usize) {
        let (me, peer) = if from_client { (0, 1) } else { (1, 0) };
        for piece in data.chunks(mss.max(1)) {
            let seq = self.next_seq[me];
            self.segment(
                from_client,
                seq,
                self.next_seq[peer],
                Flags {
                    psh: true,
                    ..Flags::ACK
                },
                piece,
            );
            self.next_seq[me] = seq.wrapping_add(piece.len() as u32);
            self.segment(
                !from_client,
                self.next_seq[peer],
                self.next_seq[me],
                Flags::ACK,
                &[],
            );
        }
    }

    /// The server closes first (as an HTTP/1.0 server does), then the client.
    pub fn close(&mut self) {
        for from_client in [false, true] {
            let (me, peer) = if from_client { (0, 1) } else { (1, 0) };
            let fin = Flags {
                fin: true,
                ..Flags::ACK
            };
            self.segment(
                from_client,
                self.next_seq[me],
                self.next_seq[peer],
                fin,
                &[],
            );
            self.next_seq[me] = self.next_seq[me].wrapping_add(1);
        }
        self.segment(false, self.next_seq[1], self.next_seq[0], Flags::ACK, &[]);
    }

    /// A whole HTTP exchange: handshake, request, response, close.
    pub fn http(client_port: u16, request: &[u8], response: &[u8]) -> Self {
        let mut c = Conversation::new(client_port, 80, [1000, 5000]);
        c.handshake();
        c.send(true, request, 1460);
        c.send(false, response, 1460);
        c.close();
        c
    }
}

/// An HTTP/1.0 `200 OK` response: a head with the body's Content-Length, then the body.
pub fn ok_response(body: &[u8]) -> Vec<u8> {
    let mut resp =
        format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    resp.extend_from_slice(body);
    resp
}

/// Whole HTTP fetches one after another ([`Conversation::http`]): the i-th from client
/// port `first_port + i`, `gap_us` after the one before, asking `request` and answered
/// with `bodies[i]` ([`ok_response`]).
pub fn fetches(
    first_port: u16,
    request: &[u8],
    gap_us: i64,
    bodies: impl IntoIterator<Item = Vec<u8>>,
) -> Vec<CraftedFrame> {
    let mut frames = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let mut c = Conversation::http(first_port + i as u16, request, &ok_response(&body));
        for f in &mut c.frames {
            f.ts_us += i as i64 * gap_us;
        }
        frames.extend(c.frames);
    }
    frames
}

/// A UDP datagram from 10.0.0.1:`src_port` to 10.0.0.2:`dst_port` at `ts_us`.
pub fn udp(ts_us: i64, src_port: u16, dst_port: u16, payload: &[u8]) -> CraftedFrame {
    let builder = PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(src_port, dst_port);
    let mut data = Vec::with_capacity(builder.size(payload.len()));
    builder
        .write(&mut data, payload)
        .expect("a crafted datagram serialises");
    CraftedFrame { ts_us, data }
}

/// Writes frames as a classic pcap (Ethernet link type), in the order given. The frames
/// may be borrowed or made one by one (a million SYNs need not sit in memory).
pub fn write_pcap<W: Write, F: Borrow<CraftedFrame>>(
    out: W,
    frames: impl IntoIterator<Item = F>,
) -> io::Result<()> {
    let mut w = PcapWriter::new(out).map_err(io::Error::other)?;
    for f in frames {
        let f = f.borrow();
        let ts = Duration::from_micros(f.ts_us.max(0) as u64);
        w.write_packet(&PcapPacket::new(ts, f.data.len() as u32, &f.data))
            .map_err(io::Error::other)?;
    }
    Ok(())
}
