//! The report model: owned, serializable, in a stable order. The JSON renderer prints
//! it as is, so field names here are the contract of docs/json.md:
//! fields may be added, the named ones keep their names and meaning.

use crate::section::Section;
use serde::Serialize;

pub use crate::analysis::Finding;
pub use crate::flow::Dir;

#[derive(Debug, Clone)]
pub struct Report {
    pub wirelab_report: u32,
    pub source: Source,
    pub connections: Vec<Connection>,
    pub totals: Totals,
    /// What the protocols found over the whole capture (DNS's lookups, HTTP's counts),
    /// their fields after `totals` and inside it.
    pub records: Vec<Box<dyn Record>>,
    /// The lab's network, when the report comes from `wirelab lab` (not written when
    /// none).
    pub lab: Option<LabInfo>,
    /// The program's calls, when they were recorded (traced, or wirelab's own client;
    /// not written when none).
    pub trace: Option<TraceInfo>,
}

impl Report {
    /// The totals as the JSON contract writes them, with the protocols' counts.
    pub fn totals_json(&self) -> TotalsJson<'_> {
        TotalsJson {
            totals: &self.totals,
            records: &self.records,
        }
    }

    /// The record of type `T` a protocol wrote over the whole capture, if it wrote one.
    pub fn record<T: Record>(&self) -> Option<&T> {
        find_record(&self.records)
    }
}

/// The record of type `T` among `records`.
fn find_record<T: Record>(records: &[Box<dyn Record>]) -> Option<&T> {
    records
        .iter()
        .find_map(|r| (r.as_ref() as &dyn std::any::Any).downcast_ref::<T>())
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("wirelab_report", &self.wirelab_report)?;
        map.serialize_entry("source", &self.source)?;
        map.serialize_entry("connections", &self.connections)?;
        map.serialize_entry("totals", &self.totals_json())?;
        record_fields::<S>(&mut map, &self.records, Place::AfterTotals)?;
        if self.lab.is_some() {
            map.serialize_entry("lab", &self.lab)?;
        }
        if self.trace.is_some() {
            map.serialize_entry("trace", &self.trace)?;
        }
        map.end()
    }
}

/// Writes the records' fields that stand at `place` into a JSON object.
fn record_fields<S: serde::Serializer>(
    map: &mut S::SerializeMap,
    records: &[Box<dyn Record>],
    place: Place,
) -> Result<(), S::Error> {
    use serde::ser::{Error, SerializeMap};
    let mut failed = None;
    for r in records {
        r.fields(place, &mut |name, value| {
            if failed.is_none()
                && let Err(e) = map.serialize_entry(name, value)
            {
                failed = Some(e.to_string());
            }
        });
    }
    failed.map_or(Ok(()), |e| Err(S::Error::custom(e)))
}

pub use crate::trace::{BothEnds, LabInfo, LinkEvent};

#[derive(Serialize, Debug, Clone, Default)]
pub struct Source {
    /// "file" or "live".
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// "pcap", "pcap-nsec" or "pcapng".
    pub format: String,
    /// Link type short name; several joined by '|' for a multi-interface pcapng.
    pub linktype: String,
    pub filter: Option<String>,
    /// Frames read (before the filter).
    pub packets: u64,
    /// Captured bytes of those frames.
    pub bytes: u64,
    /// Frames dropped by the filter.
    pub filtered_out: u64,
    /// Frames with no decodable IP layer (unknown link type, malformed headers).
    pub undecoded: u64,
    /// IP frames that are not TCP (UDP, ICMP, ...).
    pub non_tcp: u64,
    /// Those frames by what they carry ("UDP/DNS", "ARP", "ICMP", ...), most first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub non_tcp_kinds: Vec<(String, u64)>,
    /// Frames whose time is earlier than a frame before them in the file.
    #[serde(skip_serializing_if = "is_zero")]
    pub frames_out_of_time_order: u64,
    /// Why reading stopped early ("the file ends in the middle of a record ..."), if it did.
    pub read_error: Option<String>,
    /// Why frames were undecodable, with counts, most frequent first.
    pub undecoded_reasons: Vec<(String, u64)>,
    /// Live capture: packets the kernel dropped because wirelab did not read them in
    /// time, and those the interface dropped (libpcap's counters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_dropped: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_dropped: Option<u64>,
    /// With `--extract DIR`: the directory the bodies were written to, and why writing
    /// stopped, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted_to: Option<String>,
    /// With `--extract DIR`: the files written (every response body, listed or not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted_files: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extract_error: Option<String>,
    /// Live capture: packets saved to the file but not analysed live, because the
    /// analysis fell too far behind (replay the file for their report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_unanalysed: Option<u64>,
    /// Live capture: where the packets were saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_to: Option<String>,
}

/// The counts over the whole capture (listed connections or not). Written with the
/// fields the protocols' records give at the places inside it (`Place::InTotals...`:
/// HTTP's `http_exchanges`, `http_omitted`, `http_status`; DNS's `dns_omitted`,
/// `dns_undecodable`), by [`Report::totals_json`].
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub connections: u64,
    /// Connections pushed out of the bounded table before they ended.
    pub evicted_connections: u64,
    /// Connections counted here but not listed (beyond `--list`).
    pub connections_omitted: u64,
    /// Packets that arrived after their connection had ended and been reported (a last
    /// ACK or a retransmitted FIN more than 2 s late).
    pub late_packets: u64,
    /// Connections by how they ended ("fin", "rst", "open", "timeout", "evicted").
    pub closes: Vec<(String, u64)>,
    /// Segment rows left out to keep the report bounded (see `--segments`).
    pub segments_omitted: u64,
    /// IPv4 datagrams whose fragments never completed.
    pub fragments_dropped: u64,
    /// Analysis names and how many segments carry each.
    pub analysis: Vec<(String, u64)>,
    /// Holes given up because out-of-order data across all connections reached its
    /// bound (`max_pending_total`).
    pub total_bound_gaps: u64,
    /// The bounds of the report (see `wirelab report --help`) that were reached, and
    /// what each cut.
    pub limits_reached: Vec<LimitReached>,
}

/// The totals with the fields the report's records write inside them, in the JSON
/// contract's order.
pub struct TotalsJson<'a> {
    totals: &'a Totals,
    records: &'a [Box<dyn Record>],
}

impl Serialize for TotalsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let t = self.totals;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("connections", &t.connections)?;
        record_fields::<S>(&mut map, self.records, Place::InTotalsAfterConnections)?;
        map.serialize_entry("evicted_connections", &t.evicted_connections)?;
        map.serialize_entry("connections_omitted", &t.connections_omitted)?;
        map.serialize_entry("late_packets", &t.late_packets)?;
        record_fields::<S>(&mut map, self.records, Place::InTotalsAfterLatePackets)?;
        map.serialize_entry("closes", &t.closes)?;
        map.serialize_entry("segments_omitted", &t.segments_omitted)?;
        map.serialize_entry("fragments_dropped", &t.fragments_dropped)?;
        map.serialize_entry("analysis", &t.analysis)?;
        if t.total_bound_gaps != 0 {
            map.serialize_entry("total_bound_gaps", &t.total_bound_gaps)?;
        }
        record_fields::<S>(&mut map, self.records, Place::InTotalsLast)?;
        if !t.limits_reached.is_empty() {
            map.serialize_entry("limits_reached", &t.limits_reached)?;
        }
        map.end()
    }
}

/// A bound of the report that was reached.
#[derive(Serialize, Debug, Clone)]
pub struct LimitReached {
    /// Its name, e.g. "segment_rows".
    pub limit: &'static str,
    pub value: u64,
    /// What it bounds, in words.
    pub what: &'static str,
    /// The option that sets it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option: Option<&'static str>,
    /// How many items it cut (segments, connections, exchanges, holes, ...).
    pub cut: u64,
}

pub fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize, Debug, Clone)]
pub struct Endpoint {
    pub ip: String,
    pub port: u16,
}

/// "10.80.0.2:43254", "[2001:db8::1]:80" (RFC 3986's brackets: an IPv6 address's
/// colons are not the port's).
fn endpoint(f: &mut std::fmt::Formatter<'_>, ip: &str, port: u16) -> std::fmt::Result {
    if ip.contains(':') {
        write!(f, "[{ip}]:{port}")
    } else {
        write!(f, "{ip}:{port}")
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        endpoint(f, &self.ip, self.port)
    }
}

impl std::fmt::Display for ServerEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        endpoint(f, &self.ip, self.port)
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct ServerEndpoint {
    pub ip: String,
    pub port: u16,
    /// Name of a well-known port, or null.
    pub service: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct Handshake {
    pub syn_frame: Option<u64>,
    pub synack_frame: Option<u64>,
    pub ack_frame: Option<u64>,
    /// SYN to the client's ACK, in microseconds.
    pub rtt_us: Option<i64>,
    pub client_mss: Option<u16>,
    pub server_mss: Option<u16>,
    pub client_isn: Option<u32>,
    pub server_isn: Option<u32>,
    pub client_window_scale: Option<u8>,
    pub server_window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct Segment {
    pub frame: u64,
    pub ts_us: i64,
    /// "c2s" (client to server) or "s2c".
    pub dir: Dir,
    /// "SYN,ACK" style.
    pub flags: String,
    /// Relative as Wireshark counts: the SYN is 0, the first data byte 1.
    /// Negative for a segment before the first one seen (a capture out of time order,
    /// or a retransmission of bytes from before the capture began).
    pub rel_seq: i64,
    pub rel_ack: Option<i64>,
    pub seq: u32,
    pub ack: u32,
    /// TCP payload bytes (as on the wire, even when the capture cut them).
    pub len: u32,
    /// Receive window in bytes (scaled when both SYNs agreed to scaling).
    pub window: u64,
    pub analysis: Vec<Finding>,
    /// Bytes of the other side's stream this segment acknowledges for the first time
    /// (its ACK number minus the highest one before it); null for the first ACK.
    pub acked: Option<u32>,
    /// TCP header length in bytes (20 plus the options).
    pub header_len: u8,
    /// The TCP options, as "MSS 1460, SACK_PERM, TS 1/0, WS 7", when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
    /// The IP header of the datagram that carried the segment.
    pub ip: SegmentIp,
    /// The frame's bytes up to the TCP payload, in hex (only with `-x`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_hex: Option<String>,
}

/// The IP header fields of one datagram.
#[derive(Serialize, Debug, Clone)]
pub struct SegmentIp {
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// IPv4 identification; null for IPv6.
    pub id: Option<u16>,
    /// Don't Fragment (IPv4).
    pub df: bool,
    /// Total length from the IP header.
    pub total_len: u32,
}

/// The network layer of a connection (RFC 791 IPv4, RFC 8200 IPv6).
#[derive(Serialize, Debug, Clone, Default)]
pub struct IpLayer {
    /// 4 or 6.
    pub version: u8,
    /// TTL (or hop limit) of the first datagram from each side: [client, server].
    pub ttl: [Option<u8>; 2],
    /// Datagrams from each side with Don't Fragment set: [client, server].
    pub dont_fragment: [u64; 2],
    /// Datagrams rebuilt from IP fragments.
    pub reassembled: u64,
}

/// The link layer of a connection, as captured.
#[derive(Serialize, Debug, Clone, Default)]
pub struct LinkLayer {
    /// "ethernet", "cooked" (Linux any device: no peer MACs) or "none" (loopback or raw IP).
    pub kind: &'static str,
    /// MAC addresses of each side as seen on the first frame from it: [client, server].
    pub mac: [Option<String>; 2],
    pub vlans: Vec<u16>,
    /// Every layer of the connection's first frame, outermost first, tunnels included:
    /// "Ethernet / 802.1Q 10 / IPv4 / GRE / IPv4 / TCP".
    pub stack: String,
}

#[derive(Serialize, Debug, Clone, Default)]
pub struct Gap {
    pub offset: u64,
    pub len: u64,
}

#[derive(Serialize, Debug, Clone, Default)]
pub struct Stream {
    /// Bytes captured (gaps excluded).
    pub bytes: u64,
    /// SHA-256 of the reassembled bytes in order, gaps excluded, with `--stream-hash`
    /// ([`crate::report::Options::stream_hash`]); "" without it.
    pub sha256: String,
    pub gaps: Vec<Gap>,
    /// SYN and FIN (or RST) seen and no gap between them.
    pub complete: bool,
    /// Why not complete, when it is not (one or more, in this order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<Incomplete>,
    /// Payload bytes this side's segments carried on the wire, when that differs from
    /// `bytes` (retransmissions and overlaps counted again, bytes cut or lost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire_bytes: Option<u64>,
    /// Of those, bytes the snapshot length cut off the frames.
    #[serde(skip_serializing_if = "is_zero")]
    pub cut_bytes: u64,
    /// Provenance: [stream offset, length, frame] of every delivered piece, when the
    /// connection's segments are kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Vec<[u64; 3]>>,
}

/// Why a stream is not complete.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Incomplete {
    /// The capture began after this side's SYN.
    NoSyn,
    /// The SYN came after this side's first data.
    SynLate,
    /// Neither FIN nor RST of this side is in the capture.
    NoFin,
    /// The snapshot length cut payload off frames.
    Snaplen,
    /// Bytes between the SYN and the FIN are missing (lost by the capture).
    Gap,
    /// A SYN came after this side's FIN.
    SynAfterFin,
    /// The server answered the client's SYN with RST: its side never opened.
    Refused,
}

impl Incomplete {
    /// In words, for a student.
    pub fn words(self) -> &'static str {
        match self {
            Incomplete::NoSyn => "its SYN is not in the capture (it began mid-connection)",
            Incomplete::SynLate => "its SYN came after its first data, so its start is unsure",
            Incomplete::NoFin => "no FIN or RST: still open when the capture ended",
            Incomplete::Snaplen => "the snapshot length cut bytes off its frames",
            Incomplete::Gap => "bytes are missing: the capture lost segments",
            Incomplete::SynAfterFin => "a SYN came after its FIN",
            Incomplete::Refused => {
                "refused: the server answered the SYN with RST (nothing listens on that port), \
so this side never opened"
            }
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Streams {
    pub c2s: Stream,
    pub s2c: Stream,
}

#[derive(Serialize, Debug, Clone)]
pub struct RttSample {
    pub frame: u64,
    pub ack_frame: u64,
    pub rtt_us: i64,
    pub estimated_us: f64,
}

/// How a connection ended (RFC 9293 §3.6): the first RST, else the first FIN; else
/// it was still open when the capture ended, idle past the timeout, or evicted from the
/// bounded connection table.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Close {
    Fin,
    Rst,
    Open,
    Timeout,
    Evicted,
}

impl Close {
    /// The name the JSON contract uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Close::Fin => "fin",
            Close::Rst => "rst",
            Close::Open => "open",
            Close::Timeout => "timeout",
            Close::Evicted => "evicted",
        }
    }
}

impl std::fmt::Display for Close {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A side of a connection.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

impl Side {
    /// The side that sends in direction `d`.
    pub fn sending(d: Dir) -> Side {
        match d {
            Dir::C2S => Side::Client,
            Dir::S2C => Side::Server,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A listed connection: what TCP carried, and what the protocols above it found (their
/// records, which this model does not name: each protocol's folder defines its own).
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: u64,
    pub client: Endpoint,
    pub server: ServerEndpoint,
    pub ip: IpLayer,
    pub link: LinkLayer,
    pub handshake: Option<Handshake>,
    /// How it ended: "fin", "rst", "open", "timeout" or "evicted".
    pub close: Close,
    /// Who sent the first FIN or the RST: "client" or "server".
    pub closed_by: Option<Side>,
    pub first_ts_us: i64,
    pub duration_us: i64,
    pub packets: u64,
    /// Payload bytes each way, as on the wire.
    pub payload_bytes: [u64; 2],
    /// Zeek conn.log style: S SYN, H SYN-ACK, A ACK, D data, F FIN, R RST; upper case
    /// from the client, lower case from the server.
    pub history: String,
    pub segments: Vec<Segment>,
    pub segments_omitted: u64,
    pub streams: Streams,
    pub analysis_totals: Vec<(String, u64)>,
    pub rtt_samples: Vec<RttSample>,
    pub rtt_estimated_us: Option<f64>,
    /// Smallest receive window each side advertised: [client, server].
    pub min_window: [Option<u64>; 2],
    /// The program's recv calls on this connection, joined to the server's stream.
    pub recv: Option<Vec<RecvCall>>,
    /// Its send calls, joined to the client's stream (not written when none).
    pub send: Option<Vec<RecvCall>>,
    /// The traced program that owned the socket (not written when none).
    pub process: Option<crate::trace::Process>,
    /// The segments of this connection the lab's link dropped (the capture never saw
    /// them), each with the frame of its retransmission (not written when none).
    pub link_drops: Vec<crate::trace::LinkEvent>,
    /// Holes of this connection given up because of the total bound (see Totals; not
    /// written when 0).
    pub total_bound_gaps: u64,
    /// What the protocols above found, in the order they wrote their fields.
    pub records: Vec<Box<dyn Record>>,
}

/// Where a record's fields stand in the JSON: in a connection's object after `streams`
/// (a connection's main protocol: HTTP's `http`, `http_omitted`, `not_http`) or last;
/// in the report's object after `totals` (DNS's `dns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// In a connection: after its `streams`.
    AfterStreams,
    /// In a connection: last.
    Last,
    /// In the report: after `totals`.
    AfterTotals,
    /// In the report's totals: after `connections`.
    InTotalsAfterConnections,
    /// In the report's totals: after `late_packets`.
    InTotalsAfterLatePackets,
    /// In the report's totals: before `limits_reached`.
    InTotalsLast,
}

/// What a protocol above TCP found on a connection (or one above UDP over the whole
/// capture), kept in the model. The protocol's
/// folder defines it and reads it back (`Connection::record`); the JSON contract of its
/// fields is the protocol's (docs/json.md).
pub trait Record: std::any::Any + std::fmt::Debug + Send + Sync {
    /// Writes its fields that stand at `place`, in order, each with `field`.
    fn fields(
        &self,
        place: Place,
        field: &mut dyn FnMut(&'static str, &dyn erased_serde::Serialize),
    );
    /// The hashes the hashing thread fills in (markers of `HashSink::finish`).
    fn hashes_mut(&mut self) -> Vec<&mut String> {
        Vec::new()
    }
    fn clone_record(&self) -> Box<dyn Record>;

    /// What it tells the reader in the full report (text and HTML), between the
    /// connection's summary and HTTP's exchanges. None: nothing (HTTP's exchanges,
    /// which the renderers tell themselves).
    fn section(&self, _c: &Connection) -> Option<Section> {
        None
    }

    /// Its sentences in a connection's story, after "connect": the margin's label and
    /// the sentences. None: nothing to add.
    fn story(&self, _c: &Connection) -> Option<(&'static str, Vec<String>)> {
        None
    }

    /// The column it adds to the recv table, when the program's calls read its units
    /// rather than the stream's bytes (TLS: "TLS record"): the heading.
    fn recv_column(&self) -> Option<&'static str> {
        None
    }

    /// Its cell in the recv table's row of call `r` (with `recv_column`).
    fn recv_cell(&self, _r: &RecvCall) -> String {
        String::new()
    }

    /// What the program's calls read, when this protocol's library made them under the
    /// program's own (TLS: the ssl library's). It replaces the sentences on where the
    /// HTTP's headers ended, whose offsets are then another stream's.
    fn reads_sentence(&self, _calls: &[RecvCall]) -> Option<String> {
        None
    }

    /// What the server's bytes after stream byte `read` were, when they were only this
    /// protocol's goodbye, which a library may leave unread at its close (TLS's
    /// close_notify): the words that name them.
    fn unread_goodbye(&self, _read: u64) -> Option<&'static str> {
        None
    }
}

impl Clone for Box<dyn Record> {
    fn clone(&self) -> Self {
        self.clone_record()
    }
}

impl Connection {
    /// The payload length of the segment in `frame`, if it is listed.
    pub fn segment_len(&self, frame: u64) -> Option<u32> {
        self.segments
            .iter()
            .find(|s| s.frame == frame)
            .map(|s| s.len)
    }

    /// The hashes the hashing thread fills in once the connection's bytes are hashed:
    /// its streams' and its records'.
    pub fn hashes_mut(&mut self) -> impl Iterator<Item = &mut String> {
        [&mut self.streams.c2s.sha256, &mut self.streams.s2c.sha256]
            .into_iter()
            .chain(self.records.iter_mut().flat_map(|r| r.hashes_mut()))
    }

    /// The record of type `T` a protocol wrote, if it wrote one.
    pub fn record<T: Record>(&self) -> Option<&T> {
        find_record(&self.records)
    }

    /// The record whose units the program's calls read (its recv column's heading).
    pub fn recv_column(&self) -> Option<(&dyn Record, &'static str)> {
        self.records
            .iter()
            .find_map(|r| r.recv_column().map(|h| (r.as_ref(), h)))
    }
}

impl Serialize for Connection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("client", &self.client)?;
        map.serialize_entry("server", &self.server)?;
        map.serialize_entry("ip", &self.ip)?;
        map.serialize_entry("link", &self.link)?;
        map.serialize_entry("handshake", &self.handshake)?;
        map.serialize_entry("close", &self.close)?;
        map.serialize_entry("closed_by", &self.closed_by)?;
        map.serialize_entry("first_ts_us", &self.first_ts_us)?;
        map.serialize_entry("duration_us", &self.duration_us)?;
        map.serialize_entry("packets", &self.packets)?;
        map.serialize_entry("payload_bytes", &self.payload_bytes)?;
        map.serialize_entry("history", &self.history)?;
        map.serialize_entry("segments", &self.segments)?;
        map.serialize_entry("segments_omitted", &self.segments_omitted)?;
        map.serialize_entry("streams", &self.streams)?;
        record_fields::<S>(&mut map, &self.records, Place::AfterStreams)?;
        map.serialize_entry("analysis_totals", &self.analysis_totals)?;
        map.serialize_entry("rtt_samples", &self.rtt_samples)?;
        map.serialize_entry("rtt_estimated_us", &self.rtt_estimated_us)?;
        map.serialize_entry("min_window", &self.min_window)?;
        map.serialize_entry("recv", &self.recv)?;
        if self.send.is_some() {
            map.serialize_entry("send", &self.send)?;
        }
        if self.process.is_some() {
            map.serialize_entry("process", &self.process)?;
        }
        if !self.link_drops.is_empty() {
            map.serialize_entry("link_drops", &self.link_drops)?;
        }
        if self.total_bound_gaps != 0 {
            map.serialize_entry("total_bound_gaps", &self.total_bound_gaps)?;
        }
        record_fields::<S>(&mut map, &self.records, Place::Last)?;
        map.end()
    }
}

/// One captured packet described as it arrives (live capture's running lines).
#[derive(Serialize, Debug, Clone)]
pub struct PacketLine {
    pub connection: u64,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// Service name of the connection's server port, if well known.
    pub service: Option<String>,
    /// The request or status line, when this segment starts an HTTP message.
    pub http_line: Option<String>,
    pub segment: Segment,
}

/// A program's recv (or send) call joined to its stream: the bytes it returned are the
/// stream's bytes `stream_offset .. stream_offset + bytes`, which arrived (or left) in
/// `frames`. A recv that returned 0 is the end of the stream.
#[derive(Serialize, Debug, Clone)]
pub struct RecvCall {
    pub call: u64,
    pub bytes: u64,
    pub stream_offset: u64,
    pub frames: Vec<u64>,
    /// recv, recvfrom, read, ... (see [`crate::trace::Call::syscall`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscall: Option<String>,
    /// The size asked for (the buffer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts_us: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<u32>,
}

/// How the program's calls were recorded, and what recording cost.
#[derive(Serialize, Debug, Clone, Default)]
pub struct TraceInfo {
    /// "ptrace+seccomp" (a traced program) or "wirelab" (wirelab's own client).
    pub mechanism: String,
    pub processes: Vec<crate::trace::Process>,
    /// Calls on TCP sockets recorded, and those on sockets the capture has no
    /// connection for.
    pub calls: u64,
    pub calls_unmatched: u64,
    pub calls_omitted: u64,
    /// Extra time per traced call, measured at the start of the run (µs).
    pub cost_us_per_call: Option<f64>,
    /// Times the program stopped for the trace (any read or write it made).
    #[serde(skip_serializing_if = "is_zero")]
    pub stops: u64,
    /// Calls the packets contradict (a trace read from a file is a claim): their
    /// connections' calls are left out of `recv` and `send`, never summed into what
    /// the packets show. The first [`MAX_DISPUTES`] are listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub calls_disputed: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disputed: Vec<TraceDispute>,
    /// Why a trace in the file was not read at all (over a bound, not a trace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_read: Option<String>,
}

/// A call of a trace that the packets contradict, and why.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct TraceDispute {
    /// The connection the call's socket addresses name.
    pub connection: u64,
    /// "recv" or "send".
    pub way: String,
    /// The call's number among that connection's calls of that way (from 1).
    pub call: u64,
    pub why: String,
}
