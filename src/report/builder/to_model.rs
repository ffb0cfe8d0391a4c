//! The mapping from what the builder followed to the report model (the JSON
//! contract): connections, streams, segment rows.

use super::connection::{Conn, StreamStats};
use crate::analysis::TcpAnalyzer;
use crate::digest::HashSink;
use crate::dissect::{TcpOptions, flags};
use crate::model::{self, Close, Side};
use crate::ports;
use crate::protocol::Describe;
use crate::reassembly::StreamReassembler;

/// The report's view of a connection that ended (or that the capture ended): how it
/// closed, its handshake, streams, segments, and what the protocol above found.
pub fn to_model(c: Conn, unended: Close, how: &mut Describe<'_>) -> model::Connection {
    let t = &c.tcp;
    let h = &t.handshake;
    let handshake = (h.syn_frame.is_some() || h.synack_frame.is_some()).then(|| model::Handshake {
        syn_frame: h.syn_frame,
        synack_frame: h.synack_frame,
        ack_frame: h.ack_frame,
        rtt_us: h.rtt_us(),
        client_mss: h.client.mss,
        server_mss: h.server.mss,
        client_isn: h.client_isn,
        server_isn: h.server_isn,
        client_window_scale: h.client.window_scale,
        server_window_scale: h.server.window_scale,
        sack_permitted: h.client.sack_permitted && h.server.sack_permitted,
        timestamps: h.client.timestamp.is_some() && h.server.timestamp.is_some(),
    });
    let (close, closed_by) = close_of(t, unended);
    let protocol = c.protocol;
    let [s0, s1] = c.streams;
    let mut streams = model::Streams {
        c2s: stream_model(s0, &c.reasm[0], c.payload_bytes[0]),
        s2c: stream_model(s1, &c.reasm[1], c.payload_bytes[1]),
    };
    // A SYN answered by RST: nothing listens there (RFC 9293 §3.10.7.1), so the server's
    // side never opened. Its missing SYN is a refusal, not a capture begun mid-connection.
    let refused = handshake
        .as_ref()
        .is_some_and(|h| h.syn_frame.is_some() && h.synack_frame.is_none())
        && close == Close::Rst
        && closed_by == Some(Side::Server);
    if refused {
        for why in &mut streams.s2c.incomplete {
            if *why == model::Incomplete::NoSyn {
                *why = model::Incomplete::Refused;
            }
        }
    }
    let mut conn = model::Connection {
        id: c.id,
        client: model::Endpoint {
            ip: c.client.ip.to_string(),
            port: c.client.port,
        },
        server: model::ServerEndpoint {
            ip: c.server.ip.to_string(),
            port: c.server.port,
            service: ports::service(c.server.port).map(str::to_string),
        },
        ip: c.ip,
        link: c.link,
        handshake,
        close,
        closed_by,
        first_ts_us: c.first_ts,
        duration_us: c.last_ts - c.first_ts,
        packets: c.packets,
        payload_bytes: c.payload_bytes,
        history: t.history.clone(),
        segments: c.segments,
        segments_omitted: c.omitted,
        streams,
        analysis_totals: c
            .analysis
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        rtt_samples: t
            .rtt_samples
            .iter()
            .map(|s| model::RttSample {
                frame: s.frame,
                ack_frame: s.ack_frame,
                rtt_us: s.rtt_us,
                estimated_us: s.estimated_us,
            })
            .collect(),
        rtt_estimated_us: t.rtt_estimated_us,
        min_window: t.min_window,
        recv: None,
        send: None,
        process: None,
        link_drops: Vec::new(),
        total_bound_gaps: c.total_bound_gaps,
        records: Vec::new(),
    };
    protocol.describe(&mut conn, how);
    conn
}

/// A stream's model; `wire` is the payload bytes its segments carried on the wire.
pub fn stream_model(s: StreamStats, r: &StreamReassembler, wire: u64) -> model::Stream {
    use model::Incomplete;
    let mut incomplete = Vec::new();
    if !r.saw_syn() {
        incomplete.push(if r.syn_late() {
            Incomplete::SynLate
        } else {
            Incomplete::NoSyn
        });
    }
    if r.closed().is_none() {
        incomplete.push(Incomplete::NoFin);
    }
    if s.cut_bytes > 0 {
        incomplete.push(Incomplete::Snaplen);
    }
    let gap_bytes: u64 = s.gaps.iter().map(|g| g.len).sum();
    if r.gap_count() > 0 && gap_bytes > s.cut_bytes {
        incomplete.push(Incomplete::Gap);
    }
    if r.syn_after_fin() {
        incomplete.push(Incomplete::SynAfterFin);
    }
    model::Stream {
        bytes: s.bytes,
        sha256: s.hash.map(HashSink::finish).unwrap_or_default(),
        complete: incomplete.is_empty() && r.gap_count() == 0,
        incomplete,
        wire_bytes: (wire != s.bytes).then_some(wire),
        cut_bytes: s.cut_bytes,
        gaps: s.gaps,
        chunks: s.chunks,
    }
}

/// How a connection ended and who ended it: the first RST, else the first FIN, else
/// `unended` (open, timeout, evicted).
pub fn close_of(t: &TcpAnalyzer, unended: Close) -> (Close, Option<Side>) {
    match (t.first_rst, t.first_fin) {
        (Some((d, _)), _) => (Close::Rst, Some(Side::sending(d))),
        (None, Some((d, _))) => (Close::Fin, Some(Side::sending(d))),
        (None, None) => (unended, None),
    }
}

/// "SYN,ACK" style names of the flag bits, in wire order from FIN up.
pub fn flag_names(f: u8) -> String {
    const NAMES: [(u8, &str); 8] = [
        (flags::FIN, "FIN"),
        (flags::SYN, "SYN"),
        (flags::RST, "RST"),
        (flags::PSH, "PSH"),
        (flags::ACK, "ACK"),
        (flags::URG, "URG"),
        (flags::ECE, "ECE"),
        (flags::CWR, "CWR"),
    ];
    let v: Vec<&str> = NAMES
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect();
    v.join(",")
}

/// "MSS 1460, SACK_PERM, TS 1/0, WS 7" (RFC 9293 §3.2, RFC 7323, RFC 2018).
pub fn options_text(o: &TcpOptions) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(m) = o.mss {
        parts.push(format!("MSS {m}"));
    }
    if o.sack_permitted {
        parts.push("SACK_PERM".into());
    }
    if o.sack_blocks > 0 {
        parts.push(format!("SACK {} blocks", o.sack_blocks));
    }
    if let Some((a, b)) = o.timestamp {
        parts.push(format!("TS {a}/{b}"));
    }
    if let Some(w) = o.window_scale {
        parts.push(format!("WS {w}"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The frame's bytes before the TCP payload: link, IP and TCP headers.
pub fn header_bytes<'a>(data: &'a [u8], payload: &[u8]) -> &'a [u8] {
    let start = data.as_ptr() as usize;
    let at = (payload.as_ptr() as usize).wrapping_sub(start);
    if !payload.is_empty() && at <= data.len() {
        &data[..at]
    } else {
        &data[..data.len().min(128)]
    }
}
