//! The story: the one screen a student reads when a run ends. For each connection the
//! program made, in time order: the name looked up and its answer, the handshake and
//! its RTT, what was sent, what came back, the `recv()` calls against the segments (a
//! compact table), how it ended, and, when the run shows one of the course's usual
//! mistakes, one sentence saying what happened and what to change. Every line fits
//! [`WIDTH`] columns (an 80-column terminal); the full report is `--full`.

use super::{call_name, group, how_it_ended, ordinal, plural, unanswered_syn_sentence};
use crate::dns::ReportDns;
use crate::http::ConnectionHttp;
use crate::http::sentences as http;
use crate::model::{Close, Connection, Dir, RecvCall, Report, Side};
use crate::words::duration;
use std::io::{self, Write};

/// The story's width: an 80-column terminal.
pub const WIDTH: usize = 80;
/// Connections told in full; the others get a line each, up to [`LISTED`].
pub const TOLD: usize = 4;
pub const LISTED: usize = 12;
/// DNS lookups listed (a browser makes many in the background; they fold into one line).
pub const LOOKUPS: usize = 6;
/// recv rows shown: the first and last calls, and up to [`SHORT_ROWS`] calls that
/// returned less than they asked.
pub const FIRST_ROWS: usize = 3;
pub const LAST_ROWS: usize = 3;
pub const SHORT_ROWS: usize = 8;

/// Column where a labelled line's text starts.
const INDENT: usize = 12;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for line in lines(report) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The story's lines, none wider than [`WIDTH`].
pub fn lines(report: &Report) -> Vec<String> {
    let mut s = Story::default();
    s.rule("what happened, in time order");
    if let Some(lab) = &report.lab {
        s.para(&lab_line(lab), 2);
        if let Some(b) = &lab.both_ends {
            s.para(&super::both_ends_sentence(b), 2);
        }
    } else if let Some(p) = &report.source.path {
        s.para(&format!("From the capture {p}."), 2);
    }
    // DNS lookups and connections, by the time each began.
    enum Item<'a> {
        Lookups(Vec<&'a crate::dns::Lookup>),
        Conn(&'a Connection),
    }
    let told: Vec<&Connection> = chosen(report);
    let mut items: Vec<(i64, Item)> = told
        .iter()
        .map(|c| (c.first_ts_us, Item::Conn(c)))
        .collect();
    let mut lookups: Vec<&crate::dns::Lookup> = report.dns().iter().collect();
    lookups.sort_by_key(|l| l.ts_us);
    // Lookups before each connection go together; a crowd folds into one line.
    let mut group_start: Option<(i64, Vec<&crate::dns::Lookup>)> = None;
    let mut groups = Vec::new();
    let starts: Vec<i64> = told.iter().map(|c| c.first_ts_us).collect();
    for l in lookups {
        let slot = starts.iter().filter(|&&t| t <= l.ts_us).count();
        match &mut group_start {
            Some((t, g)) if starts.iter().filter(|&&x| x <= *t).count() == slot => g.push(l),
            _ => {
                if let Some(g) = group_start.take() {
                    groups.push(g);
                }
                group_start = Some((l.ts_us, vec![l]));
            }
        }
    }
    groups.extend(group_start);
    items.extend(groups.into_iter().map(|(t, g)| (t, Item::Lookups(g))));
    items.sort_by_key(|(t, i)| (*t, matches!(i, Item::Conn(_))));
    for (_, item) in &items {
        match item {
            Item::Lookups(g) => s.lookups(g),
            Item::Conn(c) => s.connection(report, c),
        }
    }
    let rest = report.connections.len().saturating_sub(told.len());
    if rest > 0 {
        s.blank();
        s.para(
            &format!(
                "{} more in the capture (--full lists every one).",
                plural(rest as u64, "connection")
            ),
            0,
        );
    }
    if let Some(why) = no_connection(report) {
        s.blank();
        s.para(&why, 2);
    }
    if let Some(lab) = report.lab.as_ref().filter(|l| !l.ran_builtin_client()) {
        s.blank();
        s.para(&ending(lab), 2);
    }
    if let Some(cost) = report.trace.as_ref().and_then(super::trace_cost_sentence) {
        s.blank();
        s.para(&cost, 2);
    }
    s.blank();
    s.para(
        "More: --full shows every layer (each segment, the ladder, IP, link); \
wirelab explain TERM explains a word.",
        0,
    );
    s.lines
}

/// The connections told: the program's (those with calls), else those with HTTP, else
/// all; at most [`LISTED`], in time order.
fn chosen(report: &Report) -> Vec<&Connection> {
    let with_calls: Vec<&Connection> = report
        .connections
        .iter()
        .filter(|c| c.recv.is_some() || c.send.is_some())
        .collect();
    let mut v = if !with_calls.is_empty() {
        with_calls
    } else {
        report.connections.iter().collect()
    };
    v.sort_by_key(|c| c.first_ts_us);
    v.truncate(LISTED);
    v
}

#[derive(Default)]
struct Story {
    lines: Vec<String>,
    /// Connections told in full so far.
    full: usize,
}

impl Story {
    fn rule(&mut self, title: &str) {
        let t = format!("== {title} ");
        let n = WIDTH.saturating_sub(t.len());
        self.lines.push(format!("{t}{}", "=".repeat(n)));
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    /// A paragraph, wrapped; continuation lines indented by `indent`.
    fn para(&mut self, text: &str, indent: usize) {
        self.lines
            .extend(super::table::wrap(text, WIDTH, indent.min(WIDTH / 2)));
    }

    /// "  label     text", wrapped under the text.
    fn labelled(&mut self, label: &str, text: &str) {
        self.para(&format!("  {label:<9} {text}"), INDENT);
    }

    fn lookups(&mut self, g: &[&crate::dns::Lookup]) {
        self.blank();
        for l in g.iter().take(LOOKUPS) {
            self.labelled("DNS", &crate::dns::sentences::story_line(l));
        }
        if g.len() > LOOKUPS {
            let names: std::collections::BTreeSet<&str> =
                g[LOOKUPS..].iter().map(|l| l.name.as_str()).collect();
            self.labelled(
                "",
                &format!(
                    "and {} more ({}): the browser's own, in the background",
                    plural((g.len() - LOOKUPS) as u64, "lookup"),
                    plural(names.len() as u64, "name")
                ),
            );
        }
    }

    fn connection(&mut self, report: &Report, c: &Connection) {
        self.blank();
        let who = c
            .process
            .as_ref()
            .map(|p| format!(", by {}", p.name))
            .unwrap_or_default();
        let name = server_name(report, &c.server.ip)
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let service = c
            .server
            .service
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        self.para(
            &format!(
                "connection {}: {} -> {}{name} port {}{service}{who}",
                c.id, c.client, c.server.ip, c.server.port
            ),
            4,
        );
        if self.full >= TOLD {
            self.labelled("", &one_line(c));
            return;
        }
        self.full += 1;
        self.labelled("connect", &connect_words(c));
        for (label, sentences) in c.records.iter().filter_map(|r| r.story(c)) {
            for (i, s) in sentences.iter().enumerate() {
                self.labelled(if i == 0 { label } else { "" }, s);
            }
        }
        if let Some(w) = send_words(c) {
            self.labelled("sent", &w);
        }
        for (i, x) in c.http().iter().enumerate().take(3) {
            if let Some(q) = &x.request {
                let sent_told = c.send.is_some() && i == 0;
                self.labelled("request", &http::request_story(q, sent_told));
            }
            if let Some(w) = http::answer_story(c, x) {
                self.labelled("answer", &w);
            }
        }
        if c.http().len() > 3 {
            self.labelled(
                "",
                &format!(
                    "and {} more (--full lists them)",
                    plural((c.http().len() - 3) as u64, "exchange")
                ),
            );
        }
        for w in link_words(report, c) {
            self.labelled("link", &w);
        }
        if c.recv.as_ref().is_some_and(|r| !r.is_empty()) {
            self.recv_table(c);
        }
        if !refused(c) {
            self.labelled("end", &end_words(c));
        }
        for m in mistakes(report, c) {
            self.para(&format!("  ! {m}"), 4);
        }
    }

    fn recv_table(&mut self, c: &Connection) {
        let calls = c.recv.as_deref().unwrap_or_default();
        let rows = recv_rows(c, calls);
        let units = c.recv_column().map(|(_, heading)| heading);
        // The stream offsets go first when the table would not fit: nothing is cut.
        let mut lines = recv_table_lines(&rows, true, units);
        if lines.iter().any(|l| l.chars().count() > WIDTH) {
            lines = recv_table_lines(&rows, false, units);
        }
        self.lines.extend(lines);
        for w in recv_words(c, calls) {
            self.labelled("", &w);
        }
    }
}

/// The compact recv table's lines, labelled "recv" in the story's margin; without the
/// "stream bytes" column when `stream` is false; with the column of the protocol whose
/// units the calls read ("TLS record") when `units` names it.
fn recv_table_lines(rows: &[Vec<String>], stream: bool, units: Option<&str>) -> Vec<String> {
    let mut t = comfy_table::Table::new();
    let keep = |row: &[String]| -> Vec<String> {
        row.iter()
            .enumerate()
            .filter(|(i, _)| stream || *i != 3)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut header: Vec<String> = [
        "#",
        "call",
        "returned",
        "stream bytes",
        "frames (segment sizes)",
    ]
    .map(String::from)
    .to_vec();
    if let Some(heading) = units {
        header.push(heading.into());
    }
    t.load_style(comfy_table::presets::NOTHING)
        .force_no_tty()
        .set_header(keep(&header));
    for i in [0, 2] {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    for row in rows {
        t.add_row(keep(row));
    }
    t.lines()
        .enumerate()
        .map(|(i, line)| {
            let line = line.trim_end();
            // comfy-table's NOTHING preset pads each cell by one space on each side.
            let body = line.strip_prefix(' ').unwrap_or(line);
            let label = if i == 0 { "recv" } else { "" };
            format!("  {label:<10}{body}")
        })
        .collect()
}

/// "`python3 socket1.py` ran as nobody in the lab: ..."
fn lab_line(lab: &crate::model::LabInfo) -> String {
    let link = if lab.link.is_empty() {
        "full speed, no delay".to_string()
    } else {
        lab.link.join(", ")
    };
    format!(
        "{} ran as {} in the lab: {} is the course server at {}, one router away; the \
link: MTU {}, {link}.",
        super::program_words(lab),
        lab.user,
        lab.names.first().map(String::as_str).unwrap_or("-"),
        lab.server_ip,
        lab.mtu
    )
}

/// How the program ended, and where its output went.
fn ending(lab: &crate::model::LabInfo) -> String {
    match (lab.exit_code, lab.signal) {
        (Some(0), _) => "The program ended normally (exit status 0).".into(),
        (Some(c), _) => format!(
            "The program ended with exit status {c}: an error (its message is above, on \
standard error)."
        ),
        (None, Some(s)) => format!(
            "The program was stopped by {} (it did not end by itself).",
            signal_name(s)
        ),
        (None, None) => "The program was still running when the lab ended.".into(),
    }
}

fn signal_name(s: i32) -> String {
    match s {
        2 => "SIGINT (Ctrl-C)".into(),
        9 => "SIGKILL".into(),
        14 => "SIGALRM".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// The name the program looked up for `ip`, if the capture holds the lookup.
fn server_name<'a>(report: &'a Report, ip: &str) -> Option<&'a str> {
    report
        .dns()
        .iter()
        .find(|l| {
            l.answers
                .iter()
                .any(|a| a.split_once(' ').is_some_and(|(_, v)| v == ip))
        })
        .map(|l| l.name.as_str())
}

fn connect_words(c: &Connection) -> String {
    if refused(c) {
        let frame = |f: &str| {
            c.segments
                .iter()
                .find(|s| s.flags.contains(f))
                .map(|s| format!(" (frame {})", s.frame))
                .unwrap_or_default()
        };
        return format!(
            "SYN{} answered by RST{}: refused, no connection",
            frame("SYN"),
            frame("RST")
        );
    }
    if let Some(w) = unanswered_syn_sentence(c) {
        return w;
    }
    match &c.handshake {
        Some(h) if h.syn_frame.is_some() && h.synack_frame.is_some() => {
            let frames: Vec<String> = [h.syn_frame, h.synack_frame, h.ack_frame]
                .iter()
                .flatten()
                .map(u64::to_string)
                .collect();
            let rtt = h
                .rtt_us
                .map(|us| format!(": open after {} (the handshake's RTT)", duration(us)))
                .unwrap_or_default();
            format!("SYN, SYN-ACK, ACK in frames {}{rtt}", frames.join(", "))
        }
        _ => "the handshake is not in the capture (it began before the capture)".into(),
    }
}

/// "send(47) sent 47 bytes in frame 8"; several calls in one line.
fn send_words(c: &Connection) -> Option<String> {
    let calls = c.send.as_ref().filter(|v| !v.is_empty())?;
    let total: u64 = calls.iter().map(|r| r.bytes).sum();
    let frames: Vec<u64> = calls
        .iter()
        .flat_map(|r| r.frames.iter().copied())
        .collect();
    Some(if calls.len() == 1 {
        format!(
            "{} sent {} in {}",
            call_name(&calls[0]),
            plural(total, "byte"),
            frames_short(&frames)
        )
    } else if calls.len() <= 3 {
        calls
            .iter()
            .map(|r| {
                format!(
                    "{} sent {} in {}",
                    call_name(r),
                    plural(r.bytes, "byte"),
                    frames_short(&r.frames)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        format!(
            "{} sent {} in {}",
            plural(calls.len() as u64, "call"),
            plural(total, "byte"),
            frames_short(&frames)
        )
    })
}

/// The rows of the compact recv table: the first calls, every call that returned less
/// than it asked (up to [`SHORT_ROWS`]), the last calls; runs of calls left out, and of
/// zero-byte calls after the end, fold into one row each.
fn recv_rows(c: &Connection, calls: &[RecvCall]) -> Vec<Vec<String>> {
    let n = calls.len();
    // Repeated zero-byte calls at the end: one row.
    let zeros_from = calls.iter().rposition(|r| r.bytes > 0).map_or(0, |i| i + 1);
    let zeros = n - zeros_from;
    let data = &calls[..zeros_from];
    let mut keep = vec![false; data.len()];
    for (i, k) in keep.iter_mut().enumerate() {
        *k = i < FIRST_ROWS || i + LAST_ROWS >= data.len();
    }
    let mut short = 0;
    for (i, r) in data.iter().enumerate() {
        if !keep[i] && short < SHORT_ROWS && r.asked.is_some_and(|a| r.bytes < a) {
            keep[i] = true;
            short += 1;
        }
    }
    let mut rows = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if keep[i] {
            rows.push(call_row(c, &data[i]));
            i += 1;
            continue;
        }
        let j = (i..data.len()).find(|&j| keep[j]).unwrap_or(data.len());
        let skipped = &data[i..j];
        let sizes: std::collections::BTreeSet<u64> = skipped.iter().map(|r| r.bytes).collect();
        let what = if sizes.len() == 1 {
            format!("{} each", group(skipped[0].bytes))
        } else {
            format!(
                "{}-{}",
                group(*sizes.first().unwrap_or(&0)),
                group(*sizes.last().unwrap_or(&0))
            )
        };
        rows.push(vec![
            "...".into(),
            format!("{} more", skipped.len()),
            what,
            format!(
                "{}..{}",
                skipped[0].stream_offset,
                skipped[skipped.len() - 1].stream_offset + skipped[skipped.len() - 1].bytes
            ),
            String::new(),
        ]);
        i = j;
    }
    if zeros == 1 {
        rows.push(call_row(c, &calls[zeros_from]));
    } else if zeros > 1 {
        let first = &calls[zeros_from];
        rows.push(vec![
            format!("{}-{}", first.call, calls[n - 1].call),
            call_name(first),
            "0".into(),
            format!("end x {}", group(zeros as u64)),
            String::new(),
        ]);
    }
    // The folded rows have no cell in the protocol's column.
    if c.recv_column().is_some() {
        for row in &mut rows {
            row.resize(6, String::new());
        }
    }
    rows
}

fn call_row(c: &Connection, r: &RecvCall) -> Vec<String> {
    let mut row = vec![
        r.call.to_string(),
        call_name(r),
        group(r.bytes),
        if r.bytes == 0 {
            "end of stream".into()
        } else {
            format!("{}..{}", r.stream_offset, r.stream_offset + r.bytes)
        },
        frames_sizes(c, &r.frames),
    ];
    if let Some((record, _)) = c.recv_column() {
        row.push(record.recv_cell(r));
    }
    row
}

/// The frames a call took its bytes from, with their segments' sizes, short enough
/// for the table: "10 (535)", "20-26 (4 x 1448)", "26-30 (1448, 1448, 672)",
/// "40-90 (12 segs)".
fn frames_sizes(c: &Connection, frames: &[u64]) -> String {
    // The lowest and highest frame: a retransmission may come after later bytes.
    let (Some(first), Some(last)) = (frames.iter().min(), frames.iter().max()) else {
        return String::new();
    };
    let sizes: Vec<u32> = frames.iter().filter_map(|&f| c.segment_len(f)).collect();
    let range = if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    };
    let sizes = if sizes.len() != frames.len() {
        String::new()
    } else if sizes.len() > 1 && sizes.iter().all(|&s| s == sizes[0]) {
        format!(" ({} x {})", sizes.len(), sizes[0])
    } else if sizes.len() <= 3 {
        format!(
            " ({})",
            sizes
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(" ({} segs)", sizes.len())
    };
    format!("{range}{sizes}")
}

/// "10", "20-26" (consecutive), "9, 11", "9, 11, 13 +4".
pub(crate) fn frames_short(frames: &[u64]) -> String {
    match frames {
        [] => "no frame".into(),
        [f] => format!("frame {f}"),
        _ if frames.windows(2).all(|w| w[1] == w[0] + 1) => {
            format!("frames {}-{}", frames[0], frames[frames.len() - 1])
        }
        _ if frames.len() <= 3 => format!(
            "frames {}",
            frames
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!(
            "frames {}, {}, ... {} ({} frames)",
            frames[0],
            frames[1],
            frames[frames.len() - 1],
            frames.len()
        ),
    }
}

/// What the recv calls show, in a few sentences.
fn recv_words(c: &Connection, calls: &[RecvCall]) -> Vec<String> {
    let mut out = Vec::new();
    let data: Vec<&RecvCall> = calls.iter().filter(|r| r.bytes > 0).collect();
    let total: u64 = data.iter().map(|r| r.bytes).sum();
    let mut frames: Vec<u64> = data.iter().flat_map(|r| r.frames.iter().copied()).collect();
    frames.sort_unstable();
    frames.dedup();
    let carried: u64 = frames
        .iter()
        .filter_map(|&f| c.segment_len(f))
        .map(u64::from)
        .sum();
    let segs = if carried > total && frames.len() == 1 {
        format!(
            "{} of the {} that 1 segment carried",
            plural(total, "byte"),
            group(carried)
        )
    } else if carried > total {
        format!(
            "{} of the {} that {} carried",
            plural(total, "byte"),
            group(carried),
            plural(frames.len() as u64, "segment")
        )
    } else {
        format!(
            "the {} that {} carried",
            plural(total, "byte"),
            plural(frames.len() as u64, "segment")
        )
    };
    // The lesson only when the counts differ: one call for one segment shows nothing.
    let moral = if data.len() != frames.len() || carried != total {
        ": TCP delivers a stream, not messages"
    } else {
        ""
    };
    out.push(format!(
        "{} returned {segs}{moral}.",
        plural(data.len() as u64, "recv() call")
    ));
    // A short call before the last shows recv returning what has arrived; the last one
    // is short because the stream had no more.
    let short = |r: &&&RecvCall| r.asked.is_some_and(|a| r.bytes < a);
    let last = data.len().saturating_sub(1);
    if let Some(r) = data[..last].iter().find(short) {
        out.push(format!(
            "Your {} {} returned {}: less than it asked, because recv returns what has \
arrived so far.",
            ordinal(r.call),
            call_name(r),
            group(r.bytes)
        ));
    } else if let Some(r) = data.last().filter(short)
        && calls.iter().any(|r| r.bytes == 0)
    {
        out.push(format!(
            "Your last {} returned {}: all that was left before the end of the stream.",
            call_name(r),
            group(r.bytes)
        ));
    }
    // The calls read a protocol's units (TLS's records), not HTTP: the HTTP's offsets
    // are in the plaintext.
    if let Some(reads) = c.records.iter().find_map(|r| r.reads_sentence(calls)) {
        out.push(reads);
        return out;
    }
    if let Some(resp) = c.http().first().and_then(|x| x.response.as_ref())
        && let Some(read) = http::blank_line_read(resp, data.iter().copied())
    {
        out.push(read);
    }
    out
}

/// How the connection ended, and how the program learned it.
fn end_words(c: &Connection) -> String {
    let first = match (c.close, c.closed_by) {
        (Close::Fin, Some(Side::Server)) => {
            let f = crate::report::recv::server_fin(c)
                .map(|f| format!(", frame {f}"))
                .unwrap_or_default();
            format!("the server closed first (FIN{f})")
        }
        (Close::Fin, Some(Side::Client)) => "your program closed first (FIN)".to_string(),
        (Close::Rst, Some(by)) => {
            let d = if by == Side::Client {
                Dir::C2S
            } else {
                Dir::S2C
            };
            let f = c
                .segments
                .iter()
                .find(|s| s.dir == d && s.flags.contains("RST"))
                .map(|s| format!(", frame {}", s.frame))
                .unwrap_or_default();
            let who = if by == Side::Client {
                "your program's side"
            } else {
                "the server"
            };
            format!("{who} reset the connection (RST{f})")
        }
        _ => how_it_ended(c),
    };
    let Some(calls) = c.recv.as_ref() else {
        return format!("{first}.");
    };
    let zeros = calls.iter().filter(|r| r.bytes == 0).count();
    let loop_words = match zeros {
        0 => String::new(),
        1 => "; recv returned 0 (the end of the stream) and the loop ended".into(),
        n => format!(
            "; recv returned 0 (the end of the stream) {} times",
            group(n as u64)
        ),
    };
    format!("{first}{loop_words}.")
}

/// What the lab's link did to this connection: the segments it dropped and the frames
/// that sent them again, the segments it held back.
fn link_words(report: &Report, c: &Connection) -> Vec<String> {
    let list = |items: Vec<String>| {
        let n = items.len();
        let mut shown: Vec<String> = items.into_iter().take(3).collect();
        if n > 3 {
            shown.push(format!("{} more", n - 3));
        }
        shown.join(", ")
    };
    let mut out = Vec::new();
    if !c.link_drops.is_empty() {
        let seqs = list(
            c.link_drops
                .iter()
                .map(|d| d.rel_seq.map_or("?".into(), |r| r.to_string()))
                .collect(),
        );
        let mut again: Vec<u64> = c.link_drops.iter().filter_map(|d| d.frame).collect();
        again.sort_unstable();
        again.dedup();
        let whole = if c.streams.s2c.gaps.is_empty() {
            "; every byte arrived in the end"
        } else {
            ""
        };
        out.push(format!(
            "the lab's link dropped {} of the server's segments (seq {seqs}); its TCP sent \
them again (frames {}){whole}.",
            c.link_drops.len(),
            list(again.iter().map(u64::to_string).collect())
        ));
    }
    let held: Vec<String> = report
        .lab
        .iter()
        .flat_map(|l| &l.reordered)
        .filter(|e| e.connection == Some(c.id))
        .filter_map(|e| e.frame.map(|f| f.to_string()))
        .collect();
    if !held.is_empty() {
        out.push(format!(
            "the link held {} back behind the next, so {} out of order (frames {}).",
            plural(held.len() as u64, "segment"),
            if held.len() == 1 {
                "it arrived"
            } else {
                "they arrived"
            },
            list(held)
        ));
    }
    out
}

/// A connection in one line, past the ones told in full.
fn one_line(c: &Connection) -> String {
    let first = c.http().first().and_then(http::exchange_in_brief);
    let more = if c.http().len() > 1 {
        format!(" (+{} more)", c.http().len() - 1)
    } else {
        String::new()
    };
    format!(
        "{}{more}; {}",
        first.unwrap_or_else(|| format!("{} B each way", c.payload_bytes[0])),
        how_it_ended(c)
    )
}

/// The course's usual mistakes, when this connection shows one: what happened and
/// what to change, in one sentence each.
pub fn mistakes(report: &Report, c: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    for x in c.http() {
        out.extend(http::request_mistakes(x));
    }
    if refused(c) {
        let name = server_name(report, &c.server.ip)
            .map(|n| format!(" at {n}"))
            .unwrap_or_else(|| format!(" at {}", c.server.ip));
        out.push(format!(
            "Refused: nothing listens on port {}{name}: its TCP answered the SYN with RST, \
so the program got ConnectionRefusedError.",
            c.server.port
        ));
    }
    if let Some(calls) = &c.recv {
        let read: u64 = calls.iter().map(|r| r.bytes).sum();
        let unread = c.streams.s2c.bytes.saturating_sub(read);
        let ended = calls.iter().any(|r| r.bytes == 0);
        if c.close == Close::Rst && c.closed_by == Some(Side::Client) && unread > 0 && !ended {
            let rst = c
                .segments
                .iter()
                .find(|s| s.dir == Dir::C2S && s.flags.contains("RST"))
                .map(|s| format!(", frame {}", s.frame))
                .unwrap_or_default();
            let goodbye = c.records.iter().find_map(|r| r.unread_goodbye(read));
            let whole = c
                .http()
                .last()
                .and_then(|x| x.response.as_ref())
                .is_some_and(|r| r.complete);
            if let (Some(goodbye), true) = (goodbye, whole) {
                out.push(format!(
                    "The {} left unread were {goodbye}, so the kernel reset the connection \
(RST{rst}) instead of closing it with FIN. Harmless here: the whole response had arrived.",
                    plural(unread, "byte"),
                ));
            } else {
                out.push(format!(
                    "Your program closed the socket with {} of the {} unread, so its kernel \
reset the connection (RST{rst}) instead of closing it with FIN. Read until recv returns 0.",
                    plural(unread, "byte"),
                    group(c.streams.s2c.bytes)
                ));
            }
        }
        let zeros = calls.iter().filter(|r| r.bytes == 0).count();
        if zeros > 1 {
            out.push(format!(
                "The loop never stops: recv returned 0 {} times after the end of the stream. \
Add `if len(data) < 1: break` after the recv.",
                group(zeros as u64)
            ));
        }
    }
    out
}

/// The server answered the SYN with RST (RFC 9293 §3.10.7.1): nothing listens there.
fn refused(c: &Connection) -> bool {
    c.handshake
        .as_ref()
        .is_some_and(|h| h.syn_frame.is_some() && h.synack_frame.is_none())
        && c.close == Close::Rst
        && c.closed_by == Some(Side::Server)
}

/// Why there is no connection, when there is none: a name DNS did not know (outside
/// the lab, or a slip of a course name), or a program that stopped before connecting.
fn no_connection(report: &Report) -> Option<String> {
    if report.totals.connections > 0 {
        return None;
    }
    let failed: Vec<&crate::dns::Lookup> = report
        .dns()
        .iter()
        .filter(|l| l.rcode.as_deref() != Some("NOERROR") || l.answers.is_empty())
        .collect();
    let Some(l) = failed.first() else {
        return super::no_connection_sentence(report);
    };
    let lab_names: Vec<&str> = report
        .lab
        .as_ref()
        .map(|lab| lab.names.iter().map(String::as_str).collect())
        .unwrap_or_default();
    if let Some(near) = near_miss(&l.name, &lab_names) {
        return Some(format!(
            "No connection: DNS has no {} (NXDOMAIN), so the program never connected. Did \
you mean {near}?",
            l.name
        ));
    }
    if !lab_names.is_empty() {
        return Some(format!(
            "No connection: {} is not part of the offline lab, so its DNS answered \
NXDOMAIN and the program never connected. The lab serves: {}.",
            l.name,
            lab_names.join(", ")
        ));
    }
    super::no_connection_sentence(report)
}

/// A course name one or two letters away from `name` (data.prte.org -> data.pr4e.org).
pub fn near_miss<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    names
        .iter()
        .map(|n| (strsim::damerau_levenshtein(&name, n), *n))
        .filter(|(d, _)| (1..=2).contains(d))
        .min()
        .map(|(_, n)| n)
}
