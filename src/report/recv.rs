//! A program's calls joined to the streams it read and wrote: for every `recv()` (and
//! send), the byte range of the stream it returned and the frames that carried those
//! bytes (from the reassembler's provenance). The calls come from a trace (a traced
//! program, or wirelab's own client) and are matched to a connection by the socket's
//! own addresses, never by timing.

use super::Limits;
use crate::model::{Connection, Dir, RecvCall, Report, Stream, TraceDispute, TraceInfo};
use crate::trace::{Call, Trace, Way};
use std::collections::BTreeMap;

/// Joins `trace` to the report's connections and notes how it was recorded. The
/// calls of each connection are first checked against its packets
/// ([`contradictions`]); a connection whose calls the packets contradict keeps none
/// of them, and the disputes are listed in the trace's note instead.
pub fn attach(report: &mut Report, trace: &Trace, limits: &Limits) {
    let mut matched = 0u64;
    let mut disputed = Vec::new();
    let mut calls_disputed = 0u64;
    let owners = owners(report, trace);
    for (index, conn) in report.connections.iter_mut().enumerate() {
        let mine: Vec<&Call> = trace
            .calls
            .iter()
            .zip(&owners)
            .filter(|(_, owner)| **owner == Some(index))
            .map(|(c, _)| c)
            .collect();
        if mine.is_empty() {
            continue;
        }
        matched += mine.len() as u64;
        let of = |way: Way| mine.iter().copied().filter(move |c| c.way == way);
        let mut wrong = Vec::new();
        for (way, name, stream) in [
            (Way::Recv, "recv", &conn.streams.s2c),
            (Way::Send, "send", &conn.streams.c2s),
        ] {
            let calls: Vec<&Call> = of(way).collect();
            for (call, why) in contradictions(conn, stream, way, &calls) {
                wrong.push(TraceDispute {
                    connection: conn.id,
                    way: name.to_string(),
                    call,
                    why,
                });
            }
        }
        if !wrong.is_empty() {
            calls_disputed += wrong.len() as u64;
            let room = limits.disputed_calls.saturating_sub(disputed.len());
            disputed.extend(wrong.into_iter().take(room));
            continue;
        }
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
        stops: trace.stops,
        calls_disputed,
        disputed,
        not_read: None,
    });
}

/// The connection each call belongs to (an index into the report's connections): the
/// one with the socket's own addresses ("10.80.0.2:43254", "[::1]:80", as the trace
/// writes them). When a port pair was used again (a new connection with the same four
/// numbers, RFC 9293 §3.4's TIME-WAIT reuse), the one that had begun by the call's time,
/// the latest such; else the first. So each call is joined once at most.
fn owners(report: &Report, trace: &Trace) -> Vec<Option<usize>> {
    let pairs: Vec<(String, String)> = report
        .connections
        .iter()
        .map(|c| (c.client.to_string(), c.server.to_string()))
        .collect();
    let mut by_pair: BTreeMap<(&str, &str), Vec<(i64, usize)>> = BTreeMap::new();
    for (i, (c, (client, server))) in report.connections.iter().zip(&pairs).enumerate() {
        by_pair
            .entry((client, server))
            .or_default()
            .push((c.first_ts_us, i));
    }
    trace
        .calls
        .iter()
        .map(|call| {
            if call.returned < 0 {
                return None;
            }
            let candidates = by_pair.get(&(call.local.as_str(), call.remote.as_str()))?;
            candidates
                .iter()
                .filter(|(start, _)| *start <= call.ts_us)
                .max_by_key(|(start, _)| *start)
                .or_else(|| candidates.first())
                .map(|(_, i)| *i)
        })
        .collect()
}

/// How far a recv's time may be before the frame that carried its last byte was
/// captured (both times are the same machine's clock; this covers its resolution).
const CLOCK_SLACK_US: i64 = 100_000;

/// The calls of one direction of `conn` that its packets contradict, with why. TCP
/// delivers a direction's bytes in order (RFC 9293 §3.4), so the calls tile the
/// stream from its first byte: none may return more than it asked, nor bytes past the
/// end of what the packets carried (gaps included, as the capture may miss bytes the
/// program read); a recv of 0 (the end of the stream) comes last; no call comes before
/// the connection's first segment, and no recv returns before the frame that carried
/// its last byte was captured.
pub fn contradictions(
    conn: &Connection,
    stream: &Stream,
    way: Way,
    calls: &[&Call],
) -> Vec<(u64, String)> {
    let carried = stream.bytes + stream.gaps.iter().map(|g| g.len).sum::<u64>();
    let first_ts = conn.segments.iter().map(|s| s.ts_us).min();
    let frame_ts = |frame: u64| {
        conn.segments
            .iter()
            .find(|s| s.frame == frame)
            .map(|s| s.ts_us)
    };
    let chunks = stream.chunks.as_deref().unwrap_or(&[]);
    let mut out = Vec::new();
    let mut offset = 0u64;
    let mut ended = None;
    for (i, c) in calls.iter().enumerate() {
        let n = i as u64 + 1;
        let bytes = c.returned.max(0) as u64;
        let end = offset.saturating_add(bytes);
        if bytes > c.asked {
            out.push((
                n,
                format!(
                    "returned {bytes} bytes, more than the {} it asked for",
                    c.asked
                ),
            ));
        }
        if bytes > 0 && end > carried {
            out.push((
                n,
                format!(
                    "returned stream bytes {offset}..{end}, past the {carried} bytes the packets \
carried that way"
                ),
            ));
        }
        if let Some(zero) = ended
            && bytes > 0
        {
            out.push((
                n,
                format!(
                    "returned {bytes} bytes after call #{zero} returned 0, the end of the stream"
                ),
            ));
        }
        if bytes == 0 && way == Way::Recv && ended.is_none() {
            ended = Some(n);
        }
        if let Some(t) = first_ts
            && c.ts_us + CLOCK_SLACK_US < t
        {
            out.push((
                n,
                "is dated before the connection's first segment".to_string(),
            ));
        }
        if way == Way::Recv && bytes > 0 && end <= carried {
            let last = chunks
                .iter()
                .find(|ch| ch[0] < end && end <= ch[0] + ch[1])
                .and_then(|ch| frame_ts(ch[2]).map(|t| (ch[2], t)));
            if let Some((frame, t)) = last
                && c.ts_us + CLOCK_SLACK_US < t
            {
                out.push((
                    n,
                    format!(
                        "returned byte {} before frame {frame}, which carried it, was captured",
                        end - 1
                    ),
                ));
            }
        }
        offset = end;
    }
    // One entry a call, its reasons joined.
    let mut merged: Vec<(u64, String)> = Vec::new();
    for (n, why) in out {
        match merged.last_mut() {
            Some((m, w)) if *m == n => {
                w.push_str("; ");
                w.push_str(&why);
            }
            _ => merged.push((n, why)),
        }
    }
    merged
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

/// The trace kept in a saved capture's section comments, if there is one, read within
/// the bounds of `limits` (its JSON's bytes and nesting, its calls); `Err` says why a
/// trace that is there was not read.
pub fn from_comments(comments: &[String], limits: &Limits) -> Option<Result<Trace, Unread>> {
    let json = crate::capture::annotate::trace_json(comments)?;
    Some(read_trace(&json, limits))
}

/// Why a trace kept in a capture was not read.
#[derive(Debug)]
pub enum Unread {
    /// Its JSON is longer than `trace_bytes`.
    TooLong {
        bytes: usize,
        bound: usize,
    },
    /// It nests deeper than `trace_nesting`.
    TooDeep {
        depth: usize,
        bound: usize,
    },
    NotATrace(serde_json::Error),
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unread::TooLong { bytes, bound } => {
                write!(
                    f,
                    "its {bytes} bytes are over the bound of {bound} (trace_bytes)"
                )
            }
            Unread::TooDeep { depth, bound } => {
                write!(
                    f,
                    "it nests {depth} deep, over the bound of {bound} (trace_nesting)"
                )
            }
            Unread::NotATrace(e) => write!(f, "it is not a wirelab trace: {e}"),
        }
    }
}

impl std::error::Error for Unread {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Unread::NotATrace(e) => Some(e),
            _ => None,
        }
    }
}

fn read_trace(json: &str, limits: &Limits) -> Result<Trace, Unread> {
    if json.len() > limits.trace_bytes {
        return Err(Unread::TooLong {
            bytes: json.len(),
            bound: limits.trace_bytes,
        });
    }
    let depth = nesting(json);
    if depth > limits.trace_nesting {
        return Err(Unread::TooDeep {
            depth,
            bound: limits.trace_nesting,
        });
    }
    let mut trace: Trace = serde_json::from_str(json).map_err(Unread::NotATrace)?;
    if trace.calls.len() > limits.trace_calls {
        trace.calls_omitted += (trace.calls.len() - limits.trace_calls) as u64;
        trace.calls.truncate(limits.trace_calls);
    }
    Ok(trace)
}

/// The deepest nesting of arrays and objects in `json` (strings skipped).
fn nesting(json: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in json.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_is_read_within_its_bounds() {
        let limits = Limits::default();
        let honest = serde_json::to_string(&Trace {
            mechanism: "ptrace+seccomp".into(),
            ..Trace::default()
        })
        .unwrap();
        assert!(read_trace(&honest, &limits).is_ok());
        assert!(nesting(&honest) <= 3);
        let deep = format!("{}{}", "[".repeat(50), "]".repeat(50));
        assert!(matches!(
            read_trace(&deep, &limits),
            Err(Unread::TooDeep { depth: 50, .. })
        ));
        assert_eq!(nesting(r#"{"a":"[[[[\"[["}"#), 1);
        let small = Limits {
            trace_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            read_trace(&honest, &small),
            Err(Unread::TooLong { bound: 10, .. })
        ));
        assert!(matches!(
            read_trace("{", &limits),
            Err(Unread::NotATrace(_))
        ));
    }
}
