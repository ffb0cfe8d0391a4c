//! DNS's sentences for the renderers: a lookup in the full report's words and in the
//! story's. Where the lookups go (before the connections, in the story's timeline, in
//! HAR's timings) is each renderer's.

use crate::dns::Lookup;
use crate::words::duration;

/// One DNS lookup in words: "A data.pr4e.org -> A 10.80.1.2 (NOERROR) in 0.213 ms".
pub fn report_line(l: &Lookup) -> String {
    let frames = match (l.query_frame, l.response_frame) {
        (Some(q), Some(r)) => format!("frames {q} -> {r}"),
        (Some(q), None) => format!("frame {q}"),
        (None, Some(r)) => format!("frame {r} (its query is not in the capture)"),
        (None, None) => String::new(),
    };
    let answer = match (l.rcode.as_deref(), l.answers.is_empty()) {
        (None, _) => "no answer in the capture".to_string(),
        (Some("NXDOMAIN"), _) => "NXDOMAIN: no such name".to_string(),
        (Some("NOERROR"), true) => "NOERROR, no record of that type".to_string(),
        (Some(rc), true) => rc.to_string(),
        (Some(rc), false) => format!("{} ({rc})", l.answers.join(", ")),
    };
    let rtt = l
        .rtt_us
        .map(|us| format!(" in {:.3} ms", us as f64 / 1000.0))
        .unwrap_or_default();
    format!(
        "{frames}: {} {}? -> {answer}{rtt}; asked by {} of {}",
        l.qtype, l.name, l.client, l.server
    )
}

/// "data.pr4e.org? 10.80.1.2, in 0.258 ms (frames 3, 4)"
pub fn story_line(l: &Lookup) -> String {
    let frames = match (l.query_frame, l.response_frame) {
        (Some(q), Some(r)) => format!(" (frames {q}, {r})"),
        (Some(q), None) => format!(" (frame {q})"),
        (None, Some(r)) => format!(" (frame {r})"),
        _ => String::new(),
    };
    let rtt = l
        .rtt_us
        .map(|us| format!(", in {}", duration(us)))
        .unwrap_or_default();
    let answer = match l.rcode.as_deref() {
        None => "no answer".to_string(),
        Some("NXDOMAIN") => "no such name (NXDOMAIN)".to_string(),
        Some("NOERROR") if l.answers.is_empty() => format!("no {} record", l.qtype),
        Some("NOERROR") => l
            .answers
            .iter()
            .map(|a| a.split_once(' ').map_or(a.as_str(), |(_, v)| v))
            .collect::<Vec<_>>()
            .join(", "),
        Some(rc) => rc.to_string(),
    };
    format!("{}? ({}) -> {answer}{rtt}{frames}", l.name, l.qtype)
}
