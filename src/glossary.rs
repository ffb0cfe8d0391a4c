//! The course's dictionary: plain-language explanations of every analysis flag, lint
//! and term the report uses. A leaf like [`crate::ports`]: this file holds the entry's
//! shape, the dictionary's, and the terms of TCP and of the course's sockets; each
//! protocol's folder holds its own (`http/glossary.rs`...), and the registry joins the
//! lists into the one dictionary (`crate::report::DICTIONARY`). The renderers print the
//! short sentence the first time a term appears, `wirelab explain TERM` the long one.

/// One entry: the name as the report writes it, one sentence, the longer explanation.
pub struct Term {
    pub name: &'static str,
    pub short: &'static str,
    pub long: &'static str,
}

/// The terms of several lists, looked up as one.
pub struct Dictionary(pub &'static [&'static [Term]]);

impl Dictionary {
    /// The entry for a name (case-insensitive; "super-segments" and "SYN" style
    /// variants are not guessed).
    pub fn lookup(&self, name: &str) -> Option<&'static Term> {
        self.0
            .iter()
            .flat_map(|list| list.iter())
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// Every term, in alphabetical order.
    pub fn terms(&self) -> Vec<&'static Term> {
        let mut all: Vec<&'static Term> = self.0.iter().flat_map(|list| list.iter()).collect();
        all.sort_by_key(|t| t.name);
        all
    }
}

/// TCP's terms and the course's (socket, port, recv), in alphabetical order.
pub const TERMS: &[Term] = &[
    Term {
        name: "ack",
        short: "the acknowledgement number: the next byte the sender expects from the other side.",
        long: "RFC 9293 §3.4. Every segment with the ACK flag carries the sequence number of the next byte \
its sender expects to receive; it acknowledges every byte before it at once (ACKs are cumulative). The \
report shows it relative to the other side's first byte, so 'ack 48' after a 47-byte request means \
'I have bytes 1..47, send me 48'. The column 'acked' is how many new bytes one ACK covers: a receiver \
that delays its ACKs (RFC 9293 §3.8.6.3) acknowledges every second full segment.",
    },
    Term {
        name: "acked-unseen",
        short: "this ACK covers bytes the capture never saw: they were sent, but missed by the capture.",
        long: "The receiver acknowledges data that is not in the capture. The data did arrive (the ACK proves it), \
so the loss is the capture's, not the network's: the capture started late, the kernel dropped \
packets because the capture program was slow, or the traffic took another path. The stream shows \
a gap there.",
    },
    Term {
        name: "duplicate-ack",
        short: "the same ACK number again with no data: the receiver is missing a segment and asks again.",
        long: "A receiver that gets a segment beyond a hole repeats its last ACK number. Three duplicate \
ACKs make the sender retransmit the missing segment at once, without waiting for its timer \
(fast retransmit, RFC 5681 §3.2).",
    },
    Term {
        name: "fin",
        short: "FIN: the sender has no more data to send; each side closes its direction.",
        long: "RFC 9293 §3.6. A connection closes one direction at a time: the side that is done sends FIN, \
the other acknowledges it, and sends its own FIN when it is done too. An HTTP/1.0 server closes \
first to mark the end of the response, which is what ends the course's recv() loop: recv() \
returns 0 bytes once the FIN has arrived.",
    },
    Term {
        name: "handshake",
        short: "SYN, SYN-ACK, ACK: the three segments that open a TCP connection and pick the sequence numbers.",
        long: "RFC 9293 §3.5. The client sends SYN with its initial sequence number (ISN); the server \
answers SYN-ACK with its own ISN and acknowledges the client's ISN + 1; the client acknowledges \
the server's ISN + 1. Each side also offers options: MSS, window scale, SACK, timestamps. The time \
from SYN to the client's ACK is the handshake's round-trip time: nothing can be sent before it. \
Over HTTPS a second handshake follows, TLS's (see `wirelab explain tls`): one more round trip \
(two in TLS 1.2) before the first byte of HTTP.",
    },
    Term {
        name: "history",
        short: "the connection's life in letters, as Zeek writes it: S SYN, H SYN-ACK, A ACK, D data, F FIN, R RST.",
        long: "Zeek's conn.log. Each letter is written the first time that thing happens: upper case from the client, \
lower case from the server. ShADadfF is a whole exchange: SYN, SYN-ACK, ACK, data both ways, the \
server's FIN, then the client's. ShR is a connection that opened and was reset; Sr is one refused.",
    },
    Term {
        name: "keep-alive",
        short: "a probe segment one byte before the next expected one: is the peer still there?",
        long: "A keep-alive carries no new data (its sequence number is one below what the receiver expects) \
and only asks for an ACK, to learn that an idle connection is still up (RFC 9293 §3.8.4).",
    },
    Term {
        name: "mss",
        short: "maximum segment size: the largest payload one TCP segment may carry to this side.",
        long: "Each side announces its MSS in its SYN (RFC 9293 §3.7.1): the largest segment it can receive, \
usually the link's MTU minus the IP and TCP headers (1500 - 40 = 1460 on Ethernet). A response \
larger than the MSS is cut into several segments, which is why one HTTP response arrives in pieces.",
    },
    Term {
        name: "out-of-order",
        short: "this segment arrived after one that follows it in the stream.",
        long: "Its bytes come earlier in the stream than bytes already seen. The network took two paths, or \
the capture saw the packets in another order than they were sent. The receiver's TCP puts the \
bytes back in order before recv() returns any of them.",
    },
    Term {
        name: "overlap-conflict",
        short: "a resent copy of bytes differs from the first copy: the receiver keeps the first.",
        long: "Two segments carried the same stream bytes with different contents. Real TCP stacks never do \
this; it is a sign of a broken middlebox, of corruption, or of an attempt to fool an observer \
(the classic IDS evasion). wirelab, like most receivers, keeps the first copy.",
    },
    Term {
        name: "port",
        short: "a number that picks the program on a host: the server's is well known (80 for HTTP), the client's is chosen by the OS.",
        long: "An IP address names a host; a port (0..65535) names one program's socket on it. Servers listen on \
well-known ports (see `wirelab ports`); the client's port is an ephemeral one the operating system \
chooses (32768..60999 on Linux). The four numbers (client address and port, server address and \
port) name one connection.",
    },
    Term {
        name: "previous-segment-lost",
        short: "bytes before this segment are missing from the capture (lost, or not captured).",
        long: "The segment starts beyond the next byte expected, so something between was not seen. If a \
retransmission fills the hole later, the network lost the segment; if an ACK covers it, the \
capture missed it (see acked-unseen). Until then the stream has a gap.",
    },
    Term {
        name: "recv",
        short: "recv(n) returns what has arrived, at most n bytes: never more, often less, with no regard to segments.",
        long: "TCP gives the application a stream of bytes, not messages. recv(512) returns as soon as some bytes \
are there, up to 512, so its sizes depend on timing: one call may return the end of one segment \
and the start of the next, or part of a segment. recv() returns 0 only when the other side has \
closed (its FIN arrived). That is why the course loops until recv() returns nothing.",
    },
    Term {
        name: "refused",
        short: "the server's TCP answered the SYN with RST: nothing listens on that port, so no connection opens.",
        long: "RFC 9293 §3.10.7.1. A SYN to a port where no program listens is answered with a reset. The program \
sees ConnectionRefusedError ('Connection refused') at connect(). The host is there; the service is not: \
check the port (80 for HTTP, 443 for HTTPS).",
    },
    Term {
        name: "retransmission",
        short: "bytes sent again: the sender got no ACK for them in time (or saw duplicate ACKs).",
        long: "The segment carries bytes already seen. The sender retransmits when its retransmission timer \
expires (RFC 6298) or after three duplicate ACKs (RFC 5681). The receiver keeps one copy.",
    },
    Term {
        name: "rst",
        short: "RST: the connection is aborted at once (no port listening, or a program gave up).",
        long: "RFC 9293 §3.5.2. A reset ends a connection without the orderly FIN exchange: a SYN to a port \
where nothing listens gets RST (that is 'connection refused'), and a program that closes a socket \
with unread data resets it.",
    },
    Term {
        name: "rtt",
        short: "round-trip time: from sending a segment to the ACK that covers it.",
        long: "The handshake gives the first sample (SYN to the client's ACK). Every acknowledged data segment \
gives another, and TCP smooths them (RFC 6298): EstimatedRTT = 0.875 x EstimatedRTT + 0.125 x \
SampleRTT. On loopback it is a few microseconds; across the Internet tens of milliseconds.",
    },
    Term {
        name: "sack",
        short: "selective acknowledgement: the receiver lists the blocks it has beyond a hole.",
        long: "RFC 2018. Both sides offer SACK_PERM in their SYNs; afterwards a receiver missing a segment \
tells the sender which later blocks it already has, so only the hole is resent.",
    },
    Term {
        name: "seq",
        short: "the sequence number: where this segment's first byte sits in the sender's stream.",
        long: "RFC 9293 §3.4. Every byte a side sends is numbered, starting from a random initial sequence \
number (ISN) chosen in the SYN. The report shows numbers relative to the ISN as Wireshark does: \
the SYN is 0 and the first data byte is 1, so a segment with seq 205 and len 167 carries stream \
bytes 205..371.",
    },
    Term {
        name: "socket",
        short: "the program's end of a connection: connect() opens it, send() and recv() move bytes, close() ends it.",
        long: "A socket is what the operating system gives a program for talking over the network. For TCP, \
connect(('data.pr4e.org', 80)) makes the handshake, send() hands bytes to the kernel, which cuts them \
into segments, and recv(n) returns up to n bytes of what has arrived, in order, with no trace of the \
segment boundaries.",
    },
    Term {
        name: "spurious-retransmission",
        short: "a retransmission of bytes the receiver had already acknowledged: the resend was not needed.",
        long: "The sender resent data whose ACK was already on its way (or lost). Common when the \
retransmission timer is shorter than the real round trip.",
    },
    Term {
        name: "super-segment",
        short: "larger than the MSS: the capture saw it before the network card (or the kernel) cut it up.",
        long: "With segmentation offload (TSO/GSO) the kernel hands the card one large segment, and the card \
cuts it into MSS-sized ones on the wire. A capture on the sending host sees the large one; on \
loopback nothing cuts it at all. The bytes are the same; only the segment sizes differ from what \
a wire would carry. Capture between two hosts (or turn offloads off with ethtool) to see wire \
sizes.",
    },
    Term {
        name: "tcp",
        short: "Transmission Control Protocol: a reliable, ordered stream of bytes between two ports, carried in segments.",
        long: "RFC 9293. TCP opens with a handshake (SYN, SYN-ACK, ACK), numbers every byte (seq), acknowledges \
what arrived (ack), sends again what was lost, and closes with FIN (or RST). The application sees one \
stream each way: message boundaries are not kept.",
    },
    Term {
        name: "truncated",
        short: "the capture kept only the first bytes of this packet (its snapshot length).",
        long: "A capture may keep only the first N bytes of every packet (tcpdump -s N). The headers are \
complete but the payload is cut, so the stream has a gap where the rest of the bytes were. \
wirelab captures whole packets (262,144 bytes) unless told otherwise.",
    },
    Term {
        name: "ttl",
        short: "time to live: each router lowers it by one; the datagram is dropped at zero.",
        long: "RFC 791 (IPv4 TTL), RFC 8200 (IPv6 hop limit). Senders start at 64 (Linux, macOS) or 128 \
(Windows), so the TTL a capture sees tells how many routers the datagram crossed. On loopback it \
is the sender's initial value.",
    },
    Term {
        name: "unread",
        short: "the program closed its socket with bytes still unread, so its kernel answered with RST instead of FIN.",
        long: "RFC 9293 §3.10.4 and RFC 1122 §4.2.2.13. Closing a socket whose receive buffer still holds data tells \
the kernel the data is lost, so it resets the connection (RST) rather than closing it normally. \
A program that reads 512 bytes of a 535-byte answer and closes leaves 23 unread: read until recv \
returns 0 to see the whole answer.",
    },
    Term {
        name: "window",
        short: "the receive window: how many more bytes this side can take before the sender must wait.",
        long: "RFC 9293 §3.8.6. Every segment advertises how much buffer space its sender has left; the other \
side may have at most that many unacknowledged bytes in flight. Window scaling (RFC 7323) \
multiplies the 16-bit field by 2^scale, agreed in the SYNs; the report shows the scaled value.",
    },
    Term {
        name: "window-full",
        short: "the sender has filled the receiver's whole window and must wait for an ACK.",
        long: "The bytes in flight reached the window the receiver last advertised. The sender stops until an \
ACK opens the window again: the receiver (or the application not calling recv()) limits the transfer.",
    },
    Term {
        name: "zero-window",
        short: "the receiver's buffer is full: it advertises a window of 0 and the sender must stop.",
        long: "The application is not reading fast enough (it does not call recv()), so the receiver's buffer \
filled up. The sender waits and probes until a window update opens it again.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_sorted_and_unique() {
        assert!(TERMS.windows(2).all(|w| w[0].name < w[1].name));
    }
}
