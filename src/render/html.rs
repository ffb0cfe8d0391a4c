//! The page for the projector: one self-contained HTML file (inline CSS and SVG, no
//! script, nothing fetched), the layers as sections, the ladder as SVG, and a chart of
//! the segments' byte ranges beside the recv() calls' ranges. Large type, high
//! contrast: legible from the back of a classroom. Markup is written with `maud`, which
//! escapes every value, so a hostile capture cannot inject markup into the page.

use super::{
    Rung, View, arrow_label, describe_target, group, ladder, opt, plural, port_role, recv_sentence,
};
use crate::dns::ReportDns;
use crate::http::record::HttpExchange;
use crate::http::sentences as http;
use crate::http::{ConnectionHttp, ReportHttp};
use crate::model::{Connection, Dir, Report, Segment};
use crate::report::DICTIONARY;
use crate::section::{Align, Block, Row, Section, Table as SectionTable};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{self, Write};

const CSS: &str = r#"
body { font-family: "DejaVu Sans", Verdana, sans-serif; font-size: 20px; line-height: 1.4;
       margin: 1.5em auto; max-width: 72em; padding: 0 1em; color: #111; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.35em; border-bottom: 3px solid #2a5db0; padding-bottom: 0.2em; margin-top: 1.6em; }
h3 { font-size: 1.15em; color: #2a5db0; margin: 1.2em 0 0.4em; }
table { border-collapse: collapse; margin: 0.4em 0 0.8em; }
th, td { border: 1px solid #bbb; padding: 0.15em 0.5em; text-align: left; vertical-align: top; }
th { background: #eef2f8; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; }
pre.preview { background: #f6f6f6; border-left: 4px solid #2a5db0; padding: 0.4em 0.8em; white-space: pre-wrap; }
.line { font-family: "DejaVu Sans Mono", monospace; font-weight: bold; font-size: 1.05em; }
.ok { color: #17702c; } .redirect { color: #8a5a00; } .error { color: #b00020; }
.mark { color: #b00020; font-weight: bold; }
.summary { font-size: 1.05em; }
dl.terms dt { font-weight: bold; float: left; clear: left; margin-right: 0.5em; }
dl.terms dd { margin: 0 0 0.3em 0; }
svg { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
/* Nothing wider than the window (a projector at 1024 px): long URLs, header values,
   addresses and layer stacks break where they must. */
h1, h2, h3, p, li, th, td, code, pre, summary, .line { overflow-wrap: anywhere; }
tr.c2s td { background: #f1f8f1; } tr.s2c td { background: #f1f4fb; }
table.records td, table.records th { overflow-wrap: normal; white-space: nowrap; }
table.records td:last-child { white-space: normal; }
.sentence { font-size: 1.15em; font-weight: bold; background: #fff6d6; padding: 0.4em 0.6em; }
"#;

/// Writes the whole page.
pub fn write(report: &Report, view: &View, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(page(report, view).into_string().as_bytes())
}

fn page(report: &Report, view: &View) -> Markup {
    let s = &report.source;
    let name = s.path.as_deref().or(s.interface.as_deref()).unwrap_or("-");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "wirelab: " (name) }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "wirelab report of " code { (name) } }
                p.summary {
                    (group(s.packets)) " frames, " (group(s.bytes)) " bytes (" (s.format)
                    ", link type " (s.linktype) "): "
                    (plural(report.totals.connections, "TCP connection")) ", "
                    (plural(report.http_totals().exchanges, "HTTP exchange"))
                    @if s.non_tcp > 0 { "; " (plural(s.non_tcp, "frame")) " not TCP" (super::kinds_words(&s.non_tcp_kinds)) }
                    @if s.undecoded > 0 { "; " (plural(s.undecoded, "frame")) " undecodable" }
                    @if let Some(k) = s.kernel_dropped { "; dropped by the kernel: " (k) }
                }
                @if let Some(e) = &s.read_error { p.error { "Warning: " (e) } }
                @if let Some(t) = super::time_order_sentence(s) { p.error { (t) } }
                @for l in super::limits_words(&report.totals) { p.limit { (l) } }
                // The projector's first screen: the exchanges, as the console shows them.
                (network_panel(report))
                @if let Some(lab) = &report.lab {
                    section.lab {
                        h2 { "The lab" } p { (super::lab_sentence(lab)) }
                        @if let Some(b) = &lab.both_ends { p { (super::both_ends_sentence(b)) } }
                    }
                }
                @if let Some(t) = &report.trace {
                    p.trace { (super::trace_sentence(t)) }
                    @if !t.disputed.is_empty() {
                        ul.disputed { @for d in &t.disputed { li { (super::dispute_line(d)) } } }
                    }
                }
                @if !report.dns().is_empty() {
                    section.dns {
                        h2 { "DNS (UDP port 53): the names looked up before connecting" }
                        ul { @for l in report.dns().iter().take(super::story::LOOKUPS) { li { (crate::dns::sentences::report_line(l)) } } }
                        // A browser's background lookups fold into one line with a count.
                        @if report.dns().len() > super::story::LOOKUPS {
                            details.more-dns {
                                summary { "and " (super::plural((report.dns().len() - super::story::LOOKUPS) as u64, "more lookup")) }
                                ul { @for l in report.dns().iter().skip(super::story::LOOKUPS) { li { (crate::dns::sentences::report_line(l)) } } }
                            }
                        }
                    }
                }
                @if let Some(text) = super::no_connection_sentence(report) {
                    @if report.lab.is_some() || !report.dns().is_empty() { p.error { (text) } }
                }
                @for c in &report.connections { (connection(c, view)) }
            }
        }
    }
}

/// The phases of a HAR entry's waterfall, and their colours.
const PHASES: [(&str, &str); 5] = [
    ("dns", "#1f9e89"),
    ("connect", "#e08a00"),
    ("send", "#3a9a3a"),
    ("wait", "#9aa0a6"),
    ("receive", "#2a5db0"),
];

/// An entry's bars, one after the other from `start_us`: (phase, colour, x, width, ms,
/// the phase's first frame).
type Bar = (&'static str, &'static str, f64, f64, f64, Option<u64>);

fn waterfall(e: &Value, start_us: f64, scale: &dyn Fn(f64) -> f64) -> Vec<Bar> {
    let mut x = scale(start_us);
    let mut bars = Vec::new();
    for (phase, color) in PHASES {
        let ms = e["timings"][phase].as_f64().unwrap_or(-1.0);
        if ms < 0.0 {
            continue;
        }
        let w = scale(ms * 1000.0).max(1.0);
        let frame = e["_frames"][phase]
            .as_array()
            .and_then(|f| f.iter().find_map(Value::as_u64));
        bars.push((phase, color, x, w, ms, frame));
        x += w;
    }
    bars
}

/// The console's Network panel from the packets: one row per HTTP exchange (as the HAR
/// entries: name, method, status, type, size, time) with a waterfall of its phases;
/// each phase links to its first frame in the ladder below (anchors, no script).
fn network_panel(report: &Report) -> Markup {
    let har = super::har::har(report);
    let entries = har["log"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if entries.is_empty() {
        return html! {};
    }
    let start = entries
        .iter()
        .filter_map(|e| e["_started_us"].as_i64())
        .min()
        .unwrap_or(0);
    let end = entries
        .iter()
        .filter_map(|e| {
            Some(
                e["_started_us"]
                    .as_i64()?
                    .saturating_add((e["time"].as_f64()? * 1000.0) as i64),
            )
        })
        .max()
        .unwrap_or(start);
    // Times saturate at i64::MAX µs (a corrupt pcapng's): the span is never below 1 µs.
    let span = end.saturating_sub(start).max(1);
    let scale = |us: f64| us / span as f64 * 300.0;
    html! {
        section.network {
            h2 { "Network (as the browser's console shows it, from the packets)" }
            table.network {
                tr { th { "Name" } th { "Method" } th { "Status" } th { "Type" } th { "Size" } th { "Time" } th { "Waterfall" } }
                @for (i, e) in entries.iter().enumerate() {
                    @let url = e["request"]["url"].as_str().unwrap_or("");
                    @let name = url.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or(url);
                    @let conn = e["_connection_id"].as_u64().unwrap_or(0);
                    @let bars = waterfall(e, (e["_started_us"].as_i64().unwrap_or(start) - start) as f64, &scale);
                    tr.entry id=(format!("entry-{i}")) {
                        td.name title=(url) { a href=(format!("#connection-{conn}")) { (name) } }
                        td { (e["request"]["method"].as_str().unwrap_or("")) }
                        td.n { (e["response"]["status"]) }
                        td { (e["response"]["content"]["mimeType"].as_str().unwrap_or("")) }
                        td.n { (e["response"]["content"]["size"]) " B" }
                        td.n { (format!("{:.1}", e["time"].as_f64().unwrap_or(0.0))) " ms" }
                        td {
                            svg.waterfall xmlns="http://www.w3.org/2000/svg" width="310" height="14" viewBox="0 0 310 14" {
                                @for (phase, color, x, w, ms, frame) in &bars {
                                    a href=(frame.map(|f| format!("#frame-{f}")).unwrap_or(format!("#connection-{conn}"))) {
                                        rect class=(format!("phase {phase}")) x=(format!("{x:.1}")) y="2" width=(format!("{w:.1}")) height="10" fill=(color) {
                                            title { (phase) ": " (format!("{ms:.3}")) " ms" @if let Some(f) = frame { ", frame " (f) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.legend {
                @for (phase, color) in PHASES { span style=(format!("color:{color}")) { "■ " } (phase) " " }
                "— each bar links to the first frame of its phase in the ladder."
            }
        }
    }
}

fn connection(c: &Connection, view: &View) -> Markup {
    let service = c.server.service.as_deref();
    let mut terms: BTreeSet<String> = BTreeSet::new();
    let l = view.layers;
    html! {
        section.connection id=(format!("connection-{}", c.id)) {
            h2 {
                "Connection " (c.id) ": " (c.client.ip) ":" (c.client.port) " → "
                (c.server.ip) ":" (c.server.port)
                @if let Some(s) = service { " (" (s) ")" }
            }
            p.summary {
                "Ended: " (super::how_it_ended(c)) "; "
                (format!("{:.3}", c.duration_us as f64 / 1e6)) " s, " (c.packets) " packets, "
                (group(c.payload_bytes[0])) " bytes from the client, "
                (group(c.payload_bytes[1])) " bytes from the server; history " code { (c.history) }
            }
            @if let Some(text) = super::unanswered_syn_sentence(c) { p.error { (text) } }
            @for s in l.sections(c) { (section(&s, view, &mut terms)) }
            @if l.http && !c.http().is_empty() { (http(c, &mut terms)) }
            @if l.tcp { (tcp(c, view, &mut terms)) }
            @if (l.tcp || l.http) && c.recv.as_ref().is_some_and(|r| !r.is_empty()) { (recv(c, &mut terms)) }
            @if l.ip { (ip(c, &mut terms)) }
            @if l.link { (link(c)) }
            @if !terms.is_empty() {
                section.terms {
                    h3 { "What the marks mean" }
                    dl.terms {
                        @for t in terms.iter().filter_map(|t| DICTIONARY.lookup(t)) {
                            dt { (t.name) } dd { (t.short) }
                        }
                    }
                }
            }
        }
    }
}

/// A protocol's section (TLS's, SOCKS's): its sentences, and its table with the
/// middle of a long one cut as the other tables are.
fn section(s: &Section, view: &View, terms: &mut BTreeSet<String>) -> Markup {
    terms.extend(s.terms.iter().map(|t| t.to_string()));
    html! {
        section class=(s.title.to_lowercase()) {
            h3 { (s.title) }
            @for block in &s.blocks {
                @match block {
                    Block::Sentence(text) => p.sentence { (text) },
                    Block::List(lines) => ul { @for line in lines { li { (line) } } },
                    Block::Note { text, warn: false } | Block::Aligned(text) => p { (text) },
                    Block::Note { text, warn: true } | Block::Problem(text) => p.error { (text) },
                }
            }
            @if let Some(t) = &s.table { (section_table(t, view)) }
        }
    }
}

fn section_table(t: &SectionTable, view: &View) -> Markup {
    let (head, elided, tail) = super::cut(&t.rows, view.verbose);
    let row = |r: &Row| {
        html! {
            tr class=(r.class) {
                @for (cell, column) in r.cells.iter().zip(&t.columns) {
                    @match column.align {
                        Align::Left => td { (cell) },
                        Align::Right | Align::Number => td.n { (cell) },
                        Align::Arrow => td { (if cell == "->" { "→" } else { "←" }) },
                    }
                }
            }
        }
    };
    html! {
        table class=(t.noun) {
            tr { @for column in &t.columns { th { (column.name) } } }
            @for r in head { (row(r)) }
            @if elided > 0 || t.omitted > 0 {
                tr { td colspan=(t.columns.len()) { "… " (group(elided as u64 + t.omitted)) " " (t.noun) " left out (-v shows them all)" } }
            }
            @for r in tail { (row(r)) }
        }
    }
}

fn http(c: &Connection, terms: &mut BTreeSet<String>) -> Markup {
    html! {
        section.http {
            h3 { "HTTP" }
            @for (i, x) in c.http().iter().enumerate() { (exchange(c, i, x, terms)) }
            @if let Some(u) = c.upgrade() {
                div.upgrade {
                    @for line in super::upgrade_sentences(u) { p { (line) } }
                    @if !u.websocket.is_empty() {
                        pre { @for f in &u.websocket { (super::ws_frame_words(f)) "\n" } }
                    }
                    @if u.websocket_omitted > 0 {
                        p { "... and " (u.websocket_omitted) " more WebSocket frames, counted" }
                    }
                }
            }
        }
    }
}

fn exchange(c: &Connection, i: usize, x: &HttpExchange, terms: &mut BTreeSet<String>) -> Markup {
    if let Some(q) = &x.request {
        terms.extend(q.lint.iter().cloned());
    }
    html! {
        div.exchange {
            p { strong { "Exchange " (i + 1) } @if let Some(t) = http::response_began(x) { ": " (t) } }
            @if let Some(q) = &x.request {
                p.line { (q.line()) }
                table {
                    tr { th { "frame" } td { (q.frame) } }
                    tr { th { "target" } td { (describe_target(&q.target)) } }
                    @if !q.query.is_empty() {
                        tr { th { "query" } td { table {
                            @for (k, v) in &q.query { tr { td { code { (k) } } td { code { (v) } } } }
                        } } }
                    }
                    @for (k, v) in &q.headers { tr { th { (k) } td { (v) } } }
                    tr { th { "blank line" } td { (http::request_blank_line(q)) } }
                    // The book's absolute-form is correct HTTP: a note, never styled as an error.
                    @for (label, text, problem) in http::lint_cells(q, x.response.as_ref()) {
                        tr { th { (label) } @if problem { td.mark { (text) } } @else { td { (text) } } }
                    }
                }
            }
            @if let Some(r) = &x.response {
                @let class = match r.status { 200..=299 => "line ok", 300..=399 => "line redirect", _ => "line error" };
                p class=(class) { (r.status_line()) }
                table {
                    tr { th { "frame" } td { (r.frame) } }
                    tr { th { "status" } td { (r.status) " " (http::status_meaning(r.status)) } }
                    @for (k, v) in &r.headers { tr { th { (k) } td { (v) } } }
                    tr { th { "blank line" } td { (http::response_blank_line(r)) } }
                    tr { th { "body" } td {
                        (group(r.body_len)) " bytes"
                        @if let Some(t) = &r.content_type { " of " code { (t) } }
                        @let switched = c.upgrade().and_then(|u| u.frame) == Some(r.frame);
                        @let (length, mismatch) = super::length_words(r, switched);
                        @if mismatch { span.mark { "; " (length) } } @else { "; " (length) }
                        @if !r.complete { span.mark { " (incomplete)" } }
                    } }
                    tr { th { "segments" } td { (http::segments_cell(c, r)) } }
                }
                @if let Some(p) = &r.body_preview { pre.preview { (p.lines().take(12).collect::<Vec<_>>().join("\n")) } }
                @else if let Some(t) = &r.body_type { p { "Binary body: " code { (t) } " by its first bytes." } }
            }
        }
    }
}

fn tcp(c: &Connection, view: &View, terms: &mut BTreeSet<String>) -> Markup {
    for t in ["port", "seq", "ack", "handshake", "rtt", "mss"] {
        terms.insert(t.into());
    }
    for (k, _) in &c.analysis_totals {
        terms.insert(k.clone());
    }
    let service = port_role(c.server.port);
    html! {
        section.tcp {
            h3 { "TCP" }
            p { "Client port " (c.client.port) " (ephemeral, chosen by the OS) → server port "
                (c.server.port) " (" (service) ")." }
            @if let Some(h) = &c.handshake {
                table {
                    tr { th { "frame" } th { "segment" } th { "seq (absolute)" } th { "ack (absolute)" } th { "options" } }
                    @for f in [h.syn_frame, h.synack_frame, h.ack_frame].into_iter().flatten() {
                        @if let Some(s) = c.segments.iter().find(|s| s.frame == f) {
                            tr { td.n { (f) } td { (dir(s)) " " (s.flags) } td { (s.rel_seq) " (" (s.seq) ")" }
                                 td { @if let Some(a) = s.rel_ack { (a) " (" (s.ack) ")" } @else { "-" } }
                                 td { (s.options.clone().unwrap_or_default()) } }
                        }
                    }
                }
                p { "Handshake RTT: " strong { (h.rtt_us.map(|r| format!("{:.3} ms", r as f64 / 1000.0)).unwrap_or_else(|| "-".into())) }
                    "; MSS client " (opt(h.client_mss)) " / server " (opt(h.server_mss))
                    "; window scale " (opt(h.client_window_scale)) " / " (opt(h.server_window_scale))
                    "; SACK " (if h.sack_permitted { "yes" } else { "no" })
                    "; timestamps " (if h.timestamps { "yes" } else { "no" }) "." }
            } @else {
                p { "The handshake is not in the capture (it started mid-connection)." }
            }
            @if !c.segments.is_empty() {
                (ladder_svg(c, view))
                details open[c.segments.len() <= 60] {
                    summary { "All " (c.segments.len()) " segments" }
                    table.segments {
                        tr { th { "frame" } th { "time (s)" } th { "dir" } th { "flags" } th { "seq" } th { "ack" } th { "len" } th { "acked" } th { "win" } th { "analysis" } }
                        @for s in &c.segments {
                            tr { td.n { (s.frame) } td.n { (format!("{:.6}", (s.ts_us - c.first_ts_us) as f64 / 1e6)) }
                                 td { (dir(s)) } td { (s.flags) } td.n { (s.rel_seq) } td.n { (opt(s.rel_ack)) }
                                 td.n { (s.len) } td.n { (opt(s.acked.filter(|a| *a > 0))) } td.n { (s.window) }
                                 td.mark { (crate::render::findings(&s.analysis, " ")) } }
                        }
                    }
                }
            }
            @if c.segments_omitted > 0 { p { (c.segments_omitted) " segments not listed (use --connection " (c.id) ")." } }
            @if let Some(est) = c.rtt_estimated_us { p { (c.rtt_samples.len()) " RTT samples; EstimatedRTT " (format!("{:.3}", est / 1000.0)) " ms." } }
            p { "Stream " (super::stream_sentence("client → server", &c.streams.c2s)) "." }
            p { "Stream " (super::stream_sentence("server → client", &c.streams.s2c)) "." }
        }
    }
}

/// The ladder: client and server columns, one arrow per segment, time down the page.
fn ladder_svg(c: &Connection, view: &View) -> Markup {
    const W: i64 = 1000;
    const ROW: i64 = 30;
    const LEFT: i64 = 230;
    const RIGHT: i64 = 830;
    /// Room for a rung's analysis words, on their own line under its arrow.
    const NOTE: i64 = 16;
    let rows = ladder(c, view.verbose);
    // Each rung's y: a rung with analysis words is taller, so no label is cut or overlaps.
    let mut ys = Vec::with_capacity(rows.len());
    let mut y = 50;
    for rung in &rows {
        ys.push(y);
        y += ROW
            + if matches!(rung, Rung::Arrow(s) if !s.analysis.is_empty()) {
                NOTE
            } else {
                0
            };
    }
    let height = y + 10;
    // An end's title centred on its line, moved in as far as it must be to fit.
    let title_x = |center: i64, text: &str| {
        let half = (text.chars().count() as i64 * 10 + 1) / 2;
        center.clamp(half + 5, W - half - 5)
    };
    let client = format!("client {}", c.client);
    let server = format!("server {}", c.server);
    html! {
        svg.ladder xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {height}"))
            width=(W) height=(height) role="img" aria-label="ladder diagram of the segments" {
            defs {
                marker id=(format!("arrow-{}", c.id)) viewBox="0 0 10 10" refX="10" refY="5"
                    markerWidth="8" markerHeight="8" orient="auto-start-reverse" {
                    path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke" {}
                }
            }
            text x=(title_x(LEFT, &client)) y="20" text-anchor="middle" font-size="16" font-weight="bold" { (client) }
            text x=(title_x(RIGHT, &server)) y="20" text-anchor="middle" font-size="16" font-weight="bold" { (server) }
            text x="10" y="20" font-size="14" { "ms" }
            line x1=(LEFT) y1="30" x2=(LEFT) y2=(height) stroke="#333" stroke-width="2" {}
            line x1=(RIGHT) y1="30" x2=(RIGHT) y2=(height) stroke="#333" stroke-width="2" {}
            @for (rung, &y) in rows.iter().zip(&ys) {
                @match rung {
                    Rung::Arrow(s) => {
                        @let (x1, x2) = if s.dir == Dir::C2S { (LEFT, RIGHT) } else { (RIGHT, LEFT) };
                        @let color = if s.analysis.is_empty() { "#2a5db0" } else { "#b00020" };
                        text x="10" y=(y + 5) font-size="14" { (format!("{:.3}", (s.ts_us - c.first_ts_us) as f64 / 1000.0)) }
                        line.arrow id=(format!("frame-{}", s.frame)) x1=(x1) y1=(y) x2=(x2) y2=(y) stroke=(color) stroke-width="2"
                            marker-end=(format!("url(#arrow-{})", c.id)) {}
                        text x=((LEFT + RIGHT) / 2) y=(y - 4) text-anchor="middle" font-size="15" fill=(color) {
                            (arrow_label(s))
                        }
                        text x=(RIGHT + 15) y=(y + 5) font-size="14" { "frame " (s.frame) }
                        @if !s.analysis.is_empty() {
                            text.analysis x=((LEFT + RIGHT) / 2) y=(y + 17) text-anchor="middle" font-size="14" fill=(color) {
                                (crate::render::findings(&s.analysis, ", "))
                            }
                        }
                    }
                    Rung::Dropped(d) => {
                        @let x_end = LEFT + (RIGHT - LEFT) / 5;
                        text x="10" y=(y + 5) font-size="14" { (format!("{:.3}", (d.ts_us - c.first_ts_us) as f64 / 1000.0)) }
                        line.dropped x1=(RIGHT) y1=(y) x2=(x_end) y2=(y) stroke="#b00020" stroke-width="2" stroke-dasharray="6 4" {}
                        text x=(x_end - 6) y=(y + 6) text-anchor="end" font-size="18" font-weight="bold" fill="#b00020" { "✗" }
                        text x=((LEFT + RIGHT) / 2) y=(y - 4) text-anchor="middle" font-size="15" fill="#b00020" {
                            (super::dropped_label(d))
                        }
                        text x=(RIGHT + 15) y=(y + 5) font-size="14" fill="#b00020" {
                            @match d.frame { Some(f) => { "sent again: " (f) } None => { "never sent again" } }
                        }
                    }
                    Rung::Elided { segments, drops } => {
                        text x=((LEFT + RIGHT) / 2) y=(y + 5) text-anchor="middle" font-size="15" font-style="italic" {
                            "… " (super::elided_words(*segments, *drops)) " …"
                        }
                    }
                }
            }
        }
    }
}

fn recv(c: &Connection, terms: &mut BTreeSet<String>) -> Markup {
    terms.insert("recv".into());
    let calls = c.recv.as_deref().unwrap_or_default();
    html! {
        section.recv {
            h3 { "recv() against the segments" }
            (time_chart(c))
            @if segs_and_calls(c) <= SMALL_CHART { (stream_chart(c)) }
            p.sentence { (recv_sentence(c).unwrap_or_default()) }
            @for line in super::recv_story(c).iter().chain(&super::send_story(c)) { p.sentence { (line) } }
            @if let Some(p) = &c.process {
                p { "The calls are those of " code { (p.name) } " (pid " (p.pid) "): " code { (super::command_line(&p.cmdline)) } }
            }
            table {
                tr { th { "#" } th { "call" } th { "returned" } th { "stream bytes" } th { "frames (segment sizes) that carried them" }
                     @if let Some((_, heading)) = c.recv_column() { th { (heading) } } }
                @for r in calls {
                    tr { td.n { (r.call) } td { code { (super::call_name(r)) } } td.n { (r.bytes) }
                         td.n { @if r.bytes == 0 { "end of stream" } @else { (r.stream_offset) ".." (r.stream_offset + r.bytes) } }
                         td { @for (j, f) in r.frames.iter().enumerate() { @if j > 0 { ", " } (f) " (" (opt(c.segment_len(*f))) ")" } }
                         @if let Some((record, _)) = c.recv_column() { td { (record.recv_cell(r)) } } }
                }
            }
        }
    }
}

/// Segments and calls a bar chart of the stream shows readably (beyond, the bands
/// are stripes and the time chart says it alone).
const SMALL_CHART: usize = 40;

fn segs_and_calls(c: &Connection) -> usize {
    super::data_segments(c, Dir::S2C) + c.recv.as_deref().map_or(0, <[_]>::len)
}

/// The server's stream over time, as a class reads it from the back of the room (the
/// time-sequence graph of tcptrace and Wireshark): the bytes that had arrived (blue,
/// one step a segment) and the bytes the program had read (orange, one step a recv()
/// call), against the time since the first byte arrived. The gap between the two lines
/// is what waited in the kernel for the next recv(). Empty when the calls have no times.
fn time_chart(c: &Connection) -> Markup {
    const W: f64 = 1000.0;
    const H: f64 = 510.0;
    const X0: f64 = 110.0;
    const Y0: f64 = 20.0;
    const Y1: f64 = 360.0;
    let calls: Vec<_> = c
        .recv
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.ts_us.map(|t| (t, r.stream_offset + r.bytes)))
        .collect();
    let segs: Vec<(i64, u64)> = c
        .segments
        .iter()
        .filter(|s| s.dir == Dir::S2C && s.len > 0)
        .map(|s| (s.ts_us, (s.rel_seq.max(1) - 1) as u64 + s.len as u64))
        .collect();
    let (Some(first), false) = (segs.first(), calls.is_empty()) else {
        return html! {};
    };
    let t0 = first.0;
    let t1 = segs
        .iter()
        .map(|s| s.0)
        .chain(calls.iter().map(|c| c.0))
        .max()
        .unwrap_or(t0)
        .max(t0 + 1);
    let total = c.streams.s2c.bytes.max(1) as f64;
    let x = |t: i64| X0 + ((t - t0).max(0) as f64 / (t1 - t0) as f64) * (W - X0 - 20.0);
    let y = |b: u64| Y1 - (b as f64 / total).min(1.0) * (Y1 - Y0);
    // A step line: flat until the next event, then up.
    let steps = |points: &[(i64, u64)]| {
        let mut d = format!("M{:.1},{:.1}", x(t0), y(0));
        let mut high = 0;
        for &(t, b) in points {
            high = high.max(b);
            d.push_str(&format!(" H{:.1} V{:.1}", x(t), y(high)));
        }
        d.push_str(&format!(" H{:.1}", x(t1)));
        d
    };
    let ms = (t1 - t0) as f64 / 1000.0;
    let arrived_us = segs.iter().map(|s| s.0).max().unwrap_or(t0) - t0;
    html! {
        svg.timechart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}")) width=(W) height=(H)
            role="img" aria-label="bytes arrived and bytes read over time" {
            line x1=(X0) y1=(Y1) x2=(W - 20.0) y2=(Y1) stroke="#555" {}
            line x1=(X0) y1=(Y0) x2=(X0) y2=(Y1) stroke="#555" {}
            text x=(X0 - 8.0) y=(Y0 + 6.0) font-size="18" text-anchor="end" { (group(c.streams.s2c.bytes)) " B" }
            text x=(X0 - 8.0) y=(Y1) font-size="18" text-anchor="end" { "0" }
            text x=(X0) y=(Y1 + 26.0) font-size="18" { "0 ms" }
            text x=(W - 20.0) y=(Y1 + 26.0) font-size="18" text-anchor="end" { (format!("{ms:.1} ms")) }
            text x=((X0 + W) / 2.0) y=(Y1 + 26.0) font-size="18" text-anchor="middle" { "time since the first byte arrived" }
            path d=(steps(&segs)) fill="none" stroke="#7aa6e8" stroke-width="10" {}
            path d=(steps(&calls)) fill="none" stroke="#c77c00" stroke-width="3" {}
            // The legend under the axis, where no line goes.
            rect x=(X0) y=(Y1 + 46.0) width="30" height="10" fill="#7aa6e8" {}
            text x=(X0 + 38.0) y=(Y1 + 56.0) font-size="20" { "bytes arrived (" (super::plural(segs.len() as u64, "segment")) ")" }
            rect x=(X0) y=(Y1 + 78.0) width="30" height="6" fill="#c77c00" {}
            text x=(X0 + 38.0) y=(Y1 + 86.0) font-size="20" { "bytes your program read (" (super::plural(calls.len() as u64, "recv() call")) ")" }
            text x=(X0) y=(Y1 + 114.0) font-size="16" fill="#444" {
                "The gap between the lines is what waited in the kernel for the next recv()."
            }
            @if segs.len() > 1 && arrived_us >= 1000 { text x=(X0) y=(Y1 + 136.0) font-size="16" fill="#444" {
                "The blue slope is the speed: " (group(c.streams.s2c.bytes)) " bytes arrived in " (format!("{:.1} ms", arrived_us as f64 / 1000.0)) (rate_words(c.streams.s2c.bytes, arrived_us)) "."
            } }
        }
    }
}

/// ", 3.97 Mbit/s": `bytes` over `us` (above 0) microseconds.
fn rate_words(bytes: u64, us: i64) -> String {
    let mbit = bytes as f64 * 8.0 / us as f64;
    if mbit >= 1.0 {
        format!(", {mbit:.2} Mbit/s")
    } else {
        format!(", {:.0} kbit/s", mbit * 1000.0)
    }
}

/// The server's stream as a bar: one band of the segments' byte ranges, one of the
/// recv() calls' ranges; their boundaries do not line up.
fn stream_chart(c: &Connection) -> Markup {
    const W: f64 = 1000.0;
    const X0: f64 = 120.0;
    let total = c.streams.s2c.bytes.max(1) as f64;
    let scale = |off: u64| X0 + (off as f64 / total) * (W - X0 - 10.0);
    let segs: Vec<&Segment> = c
        .segments
        .iter()
        .filter(|s| s.dir == Dir::S2C && s.len > 0 && !s.analysis.iter().any(|a| a.is_resend()))
        .collect();
    let calls = c.recv.as_deref().unwrap_or_default();
    let fills = ["#2a5db0", "#7aa6e8"];
    let recv_fills = ["#c77c00", "#f2c46d"];
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 150" width="1000" height="150"
            role="img" aria-label="segment sizes beside recv sizes" {
            text x="0" y="45" font-size="16" { "segments" }
            text x="0" y="105" font-size="16" { "recv() calls" }
            @for (i, s) in segs.iter().enumerate() {
                @let start = (s.rel_seq.max(1) - 1) as u64;
                @let (x1, x2) = (scale(start), scale(start + s.len as u64));
                rect.segment x=(format!("{x1:.2}")) y="25" width=(format!("{:.2}", (x2 - x1).max(0.5))) height="30" fill=(fills[i % 2]) {
                    title { "frame " (s.frame) ": bytes " (start) ".." (start + s.len as u64) " (" (s.len) " B)" }
                }
                @if x2 - x1 > 40.0 { text x=(format!("{:.1}", (x1 + x2) / 2.0)) y="46" text-anchor="middle" font-size="13" fill="#fff" { (s.len) } }
            }
            @for (i, r) in calls.iter().enumerate() {
                @let (x1, x2) = (scale(r.stream_offset), scale(r.stream_offset + r.bytes));
                rect.recv x=(format!("{x1:.2}")) y="85" width=(format!("{:.2}", (x2 - x1).max(0.5))) height="30" fill=(recv_fills[i % 2]) {
                    title { "recv " (r.call) ": bytes " (r.stream_offset) ".." (r.stream_offset + r.bytes) " (" (r.bytes) " B)" }
                }
                @if x2 - x1 > 40.0 { text x=(format!("{:.1}", (x1 + x2) / 2.0)) y="106" text-anchor="middle" font-size="13" { (r.bytes) } }
            }
            text x=(X0) y="140" font-size="14" { "byte 0" }
            text x=(W - 10.0) y="140" font-size="14" text-anchor="end" { "byte " (group(c.streams.s2c.bytes)) }
        }
    }
}

fn ip(c: &Connection, terms: &mut BTreeSet<String>) -> Markup {
    terms.insert("ttl".into());
    html! {
        section.ip {
            h3 { "IP" }
            table {
                tr { th { "version" } td { "IPv" (c.ip.version) } }
                tr { th { "client" } td { (c.client.ip) } }
                tr { th { "server" } td { (c.server.ip) } }
                tr { th { "TTL" } td { "client " (opt(c.ip.ttl[0])) ", server " (opt(c.ip.ttl[1])) (super::hops_sentence(c.ip.ttl)) } }
                @if c.ip.version == 4 { tr { th { "Don't Fragment" } td { "set on " (c.ip.dont_fragment[0]) " client and " (c.ip.dont_fragment[1]) " server datagrams" } } }
                @if let Some(s) = c.segments.first() {
                    tr { th { "lengths" } td { "frame " (s.frame) ": IP total length " (s.ip.total_len) " = IP header + TCP header " (s.header_len) " + payload " (s.len) } }
                }
            }
        }
    }
}

fn link(c: &Connection) -> Markup {
    html! {
        section.link {
            h3 { "Link" }
            @if !c.link.stack.is_empty() { p { "Layers: " code { (c.link.stack) } } }
            @match c.link.kind {
                "ethernet" => { p { "Ethernet: " (super::mac_label(c.ip.ttl, 0)) " " code { (opt(c.link.mac[0].as_deref())) } ", " (super::mac_label(c.ip.ttl, 1)) " " code { (opt(c.link.mac[1].as_deref())) }
                    @if c.link.mac.iter().flatten().all(|m| m == "00:00:00:00:00:00") { " (all zero: Linux loopback has no hardware)" } @else { (super::mac_note(c.ip.ttl)) } "." } }
                "cooked" => { p { "Linux cooked capture (the any device): no MAC addresses of both sides." } }
                _ => { p { "No link header (loopback or raw IP): frames start with the IP header." } }
            }
        }
    }
}

fn dir(s: &Segment) -> &'static str {
    if s.dir == Dir::C2S { "→" } else { "←" }
}
