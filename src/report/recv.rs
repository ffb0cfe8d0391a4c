//! A program's calls joined to the streams it read and wrote: for every `recv()` (and
//! send), the byte range of the stream it returned and the frames that carried those
//! bytes (from the reassembler's provenance). The calls come from a trace (a traced
//! program, or wirelab's own client) and are matched to a connection by the socket's
//! own addresses, never by timing.

use super::model::{Connection, Dir, RecvCall, Report, TraceInfo};
use crate::trace::{Call, Trace, Way};
use std::collections::BTreeMap;

/// "10.80.0.2:43254", "[::1]:80": an endpoint as the trace writes it.
fn endpoint(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// Joins `trace` to the report's connections and notes how it was recorded.
pub fn attach(report: &mut Report, trace: &Trace) {
    let mut matched = 0u64;
    for conn in &mut report.connections {
        let client = endpoint(&conn.client.ip, conn.client.port);
        let server = endpoint(&conn.server.ip, conn.server.port);
        let mine: Vec<&Call> = trace
            .calls
            .iter()
            .filter(|c| c.local == client && c.remote == server && c.returned >= 0)
            .collect();
        if mine.is_empty() {
            continue;
        }
        matched += mine.len() as u64;
        let of = |way: Way| mine.iter().copied().filter(move |c| c.way == way);
        conn.recv = Some(join(
            conn.streams.s2c.chunks.as_deref().unwrap_or(&[]),
            of(Way::Recv),
        ));
        let sends: Vec<RecvCall> = join(
            conn.streams.c2s.chunks.as_deref().unwrap_or(&[]),
            of(Way::Send),
        );
        conn.send = (!sends.is_empty()).then_some(sends);
        conn.process = trace.process(mine[0].pid).cloned();
    }
    report.trace = Some(TraceInfo {
        mechanism: trace.mechanism.clone(),
        processes: trace.processes.clone(),
        calls: trace.calls.len() as u64,
        calls_unmatched: trace.calls.len() as u64 - matched,
        calls_omitted: trace.calls_omitted,
        cost_us_per_call: trace.cost_us_per_call,
    });
}

/// The calls in order, each given the stream range its bytes follow from (TCP delivers
/// the bytes in order, RFC 9293 §3.4) and the frames whose bytes overlap that range.
/// Needs the connection's provenance (`chunks`); without it the frames are empty.
fn join<'a>(chunks: &[[u64; 3]], calls: impl Iterator<Item = &'a Call>) -> Vec<RecvCall> {
    let mut offset = 0u64;
    let mut first = 0usize;
    let mut out = Vec::new();
    for (i, c) in calls.enumerate() {
        let bytes = c.returned.max(0) as u64;
        let end = offset + bytes;
        // Chunks are in stream order: skip those that end before this call's range.
        while first < chunks.len() && chunks[first][0] + chunks[first][1] <= offset {
            first += 1;
        }
        let mut frames: Vec<u64> = Vec::new();
        for ch in &chunks[first..] {
            if ch[0] >= end {
                break;
            }
            if frames.last() != Some(&ch[2]) {
                frames.push(ch[2]);
            }
        }
        out.push(RecvCall {
            call: i as u64 + 1,
            bytes,
            stream_offset: offset,
            frames,
            syscall: Some(c.syscall.clone()),
            asked: Some(c.asked),
            ts_us: Some(c.ts_us),
            pid: Some(c.pid),
            tid: Some(c.tid),
        });
        offset = end;
    }
    out
}

/// The comments for the frames of a saved capture: on every frame that carried bytes
/// of a call, "recv #3 of python3 (pid 4242): 512 B, stream bytes 1024..1535"; on the
/// server's FIN, the recv that returned 0.
pub fn frame_notes(report: &Report) -> BTreeMap<u64, Vec<String>> {
    let mut notes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for c in &report.connections {
        let who = c
            .process
            .as_ref()
            .map(|p| format!(" of {} (pid {})", p.name, p.pid))
            .unwrap_or_default();
        for (way, calls) in [("recv", &c.recv), ("send", &c.send)] {
            for r in calls.iter().flatten() {
                let name = r.syscall.as_deref().unwrap_or(way);
                let asked = r
                    .asked
                    .map(|a| format!(" of {a} asked"))
                    .unwrap_or_default();
                if r.bytes == 0 && way == "recv" {
                    if let Some(fin) = server_fin(c) {
                        notes.entry(fin).or_default().push(format!(
                            "{name} #{}{who} returned 0 after this FIN: the end of the stream",
                            r.call
                        ));
                    }
                    continue;
                }
                for f in &r.frames {
                    notes.entry(*f).or_default().push(format!(
                        "{name} #{}{who}: {} B{asked}, stream bytes {}..{}",
                        r.call,
                        r.bytes,
                        r.stream_offset,
                        r.stream_offset + r.bytes
                    ));
                }
            }
        }
    }
    notes
}

/// The frame of the server's FIN, if the connection's segments hold it.
pub fn server_fin(c: &Connection) -> Option<u64> {
    c.segments
        .iter()
        .find(|s| s.dir == Dir::S2C && s.flags.contains("FIN"))
        .map(|s| s.frame)
}

/// The section comments that keep a trace in a saved capture: one line for people
/// (Wireshark shows it in the capture file's properties), then the trace itself.
pub fn section_notes(trace: &Trace) -> Vec<String> {
    let who: Vec<String> = trace
        .processes
        .iter()
        .map(|p| format!("{} (pid {}): {}", p.name, p.pid, p.cmdline.join(" ")))
        .collect();
    let mut out = vec![format!(
        "Recorded by wirelab: {} socket calls of {}; the packet comments join each call to \
the frames that carried its bytes. `wirelab report` on this file shows the recv table.",
        trace.calls.len(),
        who.join(", ")
    )];
    let json = serde_json::to_string(trace).unwrap_or_default();
    out.extend(crate::capture::annotate::trace_comments(&json));
    out
}

/// The trace kept in a saved capture's section comments, if there is one.
pub fn from_comments(comments: &[String]) -> Option<Trace> {
    let json = crate::capture::annotate::trace_json(comments)?;
    serde_json::from_str(&json).ok()
}
