//! Plain-language explanations of every analysis flag, lint and term the report uses.
//! A leaf table like [`crate::ports`]: the renderers print the short sentence the first
//! time a term appears, `wirelab explain TERM` prints the long one.

/// One entry: the name as the report writes it, one sentence, the longer explanation.
pub struct Term {
    pub name: &'static str,
    pub short: &'static str,
    pub long: &'static str,
}

/// Every term, in alphabetical order.
pub const TERMS: &[Term] = &[
    Term {
        name: "200",
        short: "OK: the server found the document and sends it in the body.",
        long: "RFC 9110 §15.3.1. The status line `HTTP/1.1 200 OK` says the request worked; the body after the blank \
line is the document (romeo.txt, cover3.jpg), described by Content-Type and Content-Length.",
    },
    Term {
        name: "302",
        short: "Found: the document is for now at the Location URL; a browser fetches it from there.",
        long: "RFC 9110 §15.4.3. A redirection: the body is not the document. The Location header names where it is; \
a browser (or urllib) makes a second request there on its own, so the developer console shows two rows. \
A socket program gets the 302 itself and must read Location to follow it.",
    },
    Term {
        name: "304",
        short: "Not Modified: the copy the client has is still good, so the server sends no body.",
        long: "RFC 9110 §15.4.5. The browser sent a conditional GET (If-Modified-Since or If-None-Match with what it \
had cached); the document has not changed, so the answer is the head alone and the browser shows its \
cached copy.",
    },
    Term {
        name: "404",
        short: "Not Found: there is no document at this path on this server.",
        long: "RFC 9110 §15.5.5. The server is there and understood the request, but the path names nothing it has. \
The body is usually a small page saying so. Check the path in the request line (romeo.txt, not Romeo.txt).",
    },
    Term {
        name: "408",
        short: "Request Timeout: the request did not arrive in full in time.",
        long: "RFC 9110 §15.5.9. The server waited for the rest of the request head (the blank line \\r\\n\\r\\n \
that ends it) and gave up. A socket program that sends `GET ... HTTP/1.0\\r\\n` without the second \
\\r\\n gets it: the server cannot know the request is over until the blank line comes.",
    },
    Term {
        name: "501",
        short: "Not Implemented: the server does not know this method.",
        long: "RFC 9110 §15.6.2. Methods are case-sensitive (RFC 9110 §9.1): `Get` is not `GET`, so a server \
answers 501 (or 400) to a request line that spells it otherwise.",
    },
    Term {
        name: "absolute-form",
        short: "the request names the whole URL (http://host/path), as one asks a proxy; origin servers must accept it.",
        long: "RFC 9112 §3.2.2. A request target is normally just the path (origin-form: GET /romeo.txt). \
The course sends the whole URL (GET http://data.pr4e.org/romeo.txt), the form a client uses when it \
talks to a proxy. A server must accept it, and most do; python's http.server does not, which is why \
`wirelab fetch --origin-form` exists.",
    },
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
        name: "bare-lf",
        short: "lines end with \\n alone instead of \\r\\n, which HTTP requires (RFC 9112 section 2.2).",
        long: "HTTP lines end with CR LF (\\r\\n) and the head ends with an empty line, so the course finds \
the end of the headers with find(b\"\\r\\n\\r\\n\"). A request ended with \\n\\n (a slip in some \
course notes) is not a complete HTTP head to a strict server: it waits for the blank line that \
never comes, then times out or answers 400. Lenient servers accept a bare LF (RFC 9112 §2.2 allows it).",
    },
    Term {
        name: "certificate",
        short: "the server's signed statement of its name and public key; the client checks it against the authorities it trusts.",
        long: "A certificate (X.509) binds a name (data.pr4e.org) to a public key, signed by a certificate authority (CA). \
The client accepts it only if a CA it trusts signed it and the name matches the one it asked for. \
In TLS 1.2 the server sends it in clear, so anyone on the path can read it; TLS 1.3 sends it \
encrypted. The lab makes a CA for each run and lets only the lab's program trust it.",
    },
    Term {
        name: "cipher suite",
        short: "the algorithms a TLS connection uses: how its records are encrypted and checked (TLS_AES_128_GCM_SHA256).",
        long: "The client offers a list in its ClientHello; the server picks one in its ServerHello. A TLS 1.3 \
suite names the record cipher and the hash of the key schedule (TLS_AES_256_GCM_SHA384); a TLS 1.2 \
suite also names the key exchange and the signature (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256). \
wirelab decrypts the AES-GCM and ChaCha20-Poly1305 suites.",
    },
    Term {
        name: "dns",
        short: "before it can connect, the program asks a DNS server (UDP port 53) for the address of the name in its code.",
        long: "RFC 1035. `socket.connect(('data.pr4e.org', 80))` needs an IP address, so the resolver in \
the C library first sends a query over UDP to port 53 of the name server in /etc/resolv.conf (usually \
one for type A, IPv4, and one for AAAA, IPv6) and waits for the answer. Only then does the TCP \
handshake start, so the lookup's time is part of what the user waits for. A misspelt name (data.prte.org) \
gets NXDOMAIN, 'no such domain', and the program never connects: Python raises socket.gaierror.",
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
        name: "http",
        short: "HyperText Transfer Protocol: a request (method, path, headers, blank line) and a response (status line, headers, blank line, body), over TCP port 80.",
        long: "RFC 1945 (HTTP/1.0), RFC 9112 (HTTP/1.1). The client sends a head of text lines ended by \\r\\n, \
then an empty line; the server answers with a status line (HTTP/1.1 200 OK), headers, an empty line \
and the body. HTTP/1.0 closes the connection after one exchange, which is how the course's recv loop \
knows the document has ended.",
    },
    Term {
        name: "keep-alive",
        short: "a probe segment one byte before the next expected one: is the peer still there?",
        long: "A keep-alive carries no new data (its sequence number is one below what the receiver expects) \
and only asks for an ACK, to learn that an idle connection is still up (RFC 9293 §3.8.4).",
    },
    Term {
        name: "key log",
        short: "a file of TLS session secrets (SSLKEYLOGFILE): with it wirelab or Wireshark can decrypt a capture.",
        long: "Python, curl and browsers write each session's secrets to the file that the SSLKEYLOGFILE \
environment variable names, one line per secret: a label, the ClientHello's random, the secret \
(the NSS key log format). Give it with wirelab report FILE --keylog keys.txt, or to tshark with -o \
tls.keylog_file:keys.txt. The lab logs its server's secrets itself and keeps them in the saved \
pcapng (a Decryption Secrets Block), so the file opens decrypted anywhere. Anyone with the key \
log can read the traffic: keep it as private as a password.",
    },
    Term {
        name: "malformed-request-line",
        short: "the request line is not `METHOD target HTTP/1.x`: shown as the server received it, with its answer.",
        long: "RFC 9112 §3: a request line is a method, one space, the target, one space and the version. \
A line without a target or a version, with spaces inside the target, or with control bytes is not \
valid HTTP/1.x; a server answers it with 400 Bad Request (or treats a line without a version as \
HTTP/0.9, RFC 1945 §4.1). wirelab splits it as tshark and Zeek do: the first word is the method, a \
last word starting with HTTP/ is the version, the rest is the target.",
    },
    Term {
        name: "method-case",
        short: "the method is not in upper case (Get): methods are case-sensitive, so servers answer 400 or 501.",
        long: "RFC 9110 §9.1: the method token is case-sensitive, and the standard methods are upper case. \
'Get' is a different, unknown method to a server, which answers 501 Not Implemented (or 400). \
The course's built-in server does exactly that: try \
`wirelab fetch` against it with a lower-case method in your own client.",
    },
    Term {
        name: "missing-host",
        short: "an HTTP/1.1 request without a Host header, which a server must answer with 400.",
        long: "RFC 9112 §3.2: every HTTP/1.1 request names the host it is for, so that one server can host \
many names. HTTP/1.0 (the course's requests) has no such rule.",
    },
    Term {
        name: "mss",
        short: "maximum segment size: the largest payload one TCP segment may carry to this side.",
        long: "Each side announces its MSS in its SYN (RFC 9293 §3.7.1): the largest segment it can receive, \
usually the link's MTU minus the IP and TCP headers (1500 - 40 = 1460 on Ethernet). A response \
larger than the MSS is cut into several segments, which is why one HTTP response arrives in pieces.",
    },
    Term {
        name: "no-blank-line",
        short: "the request's head never ended: its last line is not followed by the blank line \\r\\n that HTTP needs.",
        long: "RFC 9112 §2.1. A request is the request line, the header lines, then an empty line: the bytes \
\\r\\n\\r\\n mark its end. Without them the server cannot tell that the request is over, so it waits; \
after its timeout it answers 408 Request Timeout or closes. Send '...HTTP/1.0\\r\\n\\r\\n'.",
    },
    Term {
        name: "nxdomain",
        short: "the DNS answer 'no such name': the name does not exist, so there is no address to connect to.",
        long: "RFC 1035 §4.1.1 (RCODE 3, Name Error). The name server says the name is not in DNS at all. The \
program gets socket.gaierror and never connects. Check the spelling (data.pr4e.org, with the digit 4); \
in the offline lab only the course's names exist.",
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
        name: "record",
        short: "TLS's unit: a 5-byte header (type, version, length) and up to 16 KB of encrypted bytes, carried by TCP segments.",
        long: "RFC 8446 §5. TLS cuts what the program sends into records; each is encrypted and checked on its \
own. TCP knows nothing of them: one record can span several segments and one segment can carry \
several records. The type is handshake, change_cipher_spec, alert or application_data; in TLS \
1.3 every encrypted record says application_data outside and hides its real type inside.",
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
        name: "simple-response",
        short: "an HTTP/0.9 answer: the body alone, no status line, no headers, ended by the close.",
        long: "RFC 1945 section 6: before HTTP/1.0, a request was `GET /path` with no version, and the \
answer was the document itself, ended by the server closing the connection. Servers still answer \
that way to a request line without a valid HTTP/1.x version: the course's `recv()` loop would \
print the HTML of an error page with no headers above it.",
    },
    Term {
        name: "sni",
        short: "Server Name Indication: the host name the client puts in its ClientHello, in clear, so the server knows which certificate to send.",
        long: "RFC 6066 §3. One server address can host many names; the name goes in the first message, before \
anything is encrypted. So an observer learns the name of the site (data.pr4e.org) even over \
HTTPS, but not the path, headers or body.",
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
        name: "tls",
        short: "Transport Layer Security: the layer between TCP and HTTP that encrypts and checks what HTTPS sends (port 443).",
        long: "RFC 8446 (TLS 1.3), RFC 5246 (TLS 1.2). After TCP's handshake, the client and server run TLS's \
handshake (ClientHello, ServerHello, certificate, Finished: one round trip in TLS 1.3, two in \
1.2) and agree on keys; then HTTP's bytes travel inside encrypted records. The wire still shows \
the addresses, the ports, the name in the ClientHello (SNI) and the sizes and times of the \
records; not the path, the headers or the body.",
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
        name: "unknown-method",
        short: "the method is not one of HTTP's (GET, HEAD, POST, ...): a server answers 501 Not Implemented.",
        long: "RFC 9110 §9 lists the methods; a server that does not know a method answers 501 Not Implemented \
(§15.6.2).",
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

/// The entry for a name (case-insensitive; "super-segments" and "SYN" style variants
/// are not guessed).
pub fn lookup(name: &str) -> Option<&'static Term> {
    TERMS.iter().find(|t| t.name.eq_ignore_ascii_case(name))
}

/// What an HTTP status code means, in one sentence (RFC 9110 §15).
pub fn status_meaning(code: u16) -> &'static str {
    let known = match code {
        100 => "Continue: the server will take the request body; send it.",
        101 => "Switching Protocols: the connection now speaks another protocol.",
        200 => "OK: the server found the document and sends it in the body.",
        201 => "Created: the request made a new resource.",
        204 => "No Content: it worked, and there is no body.",
        206 => "Partial Content: the body is the byte range the client asked for.",
        301 => "Moved Permanently: the document lives at the Location URL from now on.",
        302 => {
            "Found: the document is for now at the Location URL; a browser fetches it from there."
        }
        303 => "See Other: fetch the Location URL with GET.",
        304 => "Not Modified: the copy the client has (If-Modified-Since) is still good; no body.",
        307 => "Temporary Redirect: repeat the same request at the Location URL.",
        308 => "Permanent Redirect: repeat the same request at the Location URL, from now on.",
        400 => "Bad Request: the server could not understand the request.",
        401 => "Unauthorized: the request needs credentials.",
        403 => "Forbidden: the server understood and refuses.",
        404 => "Not Found: there is no document at this path on this server.",
        405 => "Method Not Allowed: this resource does not take this method.",
        408 => "Request Timeout: the request did not arrive in full in time.",
        411 => "Length Required: a body needs a Content-Length.",
        413 => "Content Too Large: the request body is too large.",
        414 => "URI Too Long: the target is too long.",
        431 => "Request Header Fields Too Large: the request head is too large.",
        500 => "Internal Server Error: the server failed.",
        501 => "Not Implemented: the server does not know this method.",
        502 => "Bad Gateway: a proxy got a bad answer from the server behind it.",
        503 => "Service Unavailable: the server cannot answer now.",
        505 => "HTTP Version Not Supported.",
        _ => "",
    };
    if !known.is_empty() {
        return known;
    }
    match code / 100 {
        1 => "an interim answer; the final one follows.",
        2 => "success.",
        3 => "a redirection: look at the Location header.",
        4 => "a client error: the request was wrong.",
        _ => "a server error.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_sorted_and_unique() {
        assert!(TERMS.windows(2).all(|w| w[0].name < w[1].name));
    }

    /// `wirelab explain` covers what the course meets: the history letters, the status
    /// codes of its exercises, NXDOMAIN, RST, socket, port, DNS, TCP, HTTP, and the
    /// beginners' mistakes the report names.
    #[test]
    fn the_course_terms_are_explained() {
        for t in [
            "history",
            "200",
            "302",
            "304",
            "404",
            "408",
            "501",
            "nxdomain",
            "rst",
            "socket",
            "port",
            "dns",
            "tcp",
            "http",
            "no-blank-line",
            "bare-lf",
            "refused",
            "unread",
            "method-case",
            "absolute-form",
        ] {
            assert!(lookup(t).is_some(), "no explanation for {t}");
        }
    }

    /// Every analysis name the TCP analysis can produce has an explanation.
    #[test]
    fn every_analysis_name_is_explained() {
        for f in crate::analysis::Finding::ALL {
            assert!(lookup(f.as_str()).is_some(), "no explanation for {f}");
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", f.as_str()),
                "serialises as its name"
            );
        }
    }
}
