//! The terminal report: for each connection a summary line (after Zeek's conn.log),
//! then the layers top to bottom as the course teaches them: HTTP, TCP (with the
//! ladder and the recv log), IP, link. Every analysis name and lint is explained in
//! one sentence the first time it appears. Lines fit [`WIDTH`] columns; without
//! [`View::color`] the output is plain ASCII.

use super::{
    Rung, View, arrow_label, describe_target, dropped_label, elided_words, group, ladder, opt,
    plural, port_role, recv_sentence,
};
use crate::dns::ReportDns;
use crate::glossary::Term;
use crate::http::record::{HttpExchange, Request, Response};
use crate::http::sentences as http;
use crate::http::{ConnectionHttp, ReportHttp};
use crate::model::{Connection, Dir, PacketLine, Report, Segment};
use crate::report::DICTIONARY;
use crate::section::{Align, Block, Section};
use comfy_table::presets::{ASCII_BORDERS_ONLY_CONDENSED, UTF8_BORDERS_ONLY};
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table};
use comfy_table::{LineStyle, TableStyle};
use console::Style;
use std::collections::BTreeSet;
use std::io::{self, Write};

/// Terminal width the report is laid out for.
pub const WIDTH: usize = 100;

pub fn write(report: &Report, view: &View, out: &mut dyn Write) -> io::Result<()> {
    let mut ascii = AsciiOnly(out);
    let out: &mut dyn Write = if view.color { ascii.0 } else { &mut ascii };
    let mut w = Writer {
        out,
        view: *view,
        explained: BTreeSet::new(),
    };
    w.report(report)
}

/// Plain output is ASCII whatever the capture holds: each character beyond ASCII (a
/// header's, a preview's) becomes one `?`, so the layout measured in columns holds.
struct AsciiOnly<'a>(&'a mut dyn Write);

impl Write for AsciiOnly<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_ascii() {
            return self.0.write(buf);
        }
        // A UTF-8 lead byte stands for its character; continuation bytes are dropped.
        let plain: Vec<u8> = buf
            .iter()
            .filter(|&&b| !(0x80..0xC0).contains(&b))
            .map(|&b| if b < 0x80 { b } else { b'?' })
            .collect();
        self.0.write_all(&plain)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Columns a text takes on a terminal (wide characters two, combining ones none).
fn columns(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

struct Writer<'a> {
    out: &'a mut dyn Write,
    view: View,
    /// Terms already explained in this report.
    explained: BTreeSet<String>,
}

fn ms(us: i64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

/// A table's top, header and bottom lines, no side borders: four columns more for the
/// content on an 80-column terminal.
const ASCII_NARROW: TableStyle = TableStyle::new()
    .top_border(LineStyle::none().fill('-').junction('-'))
    .header_separator(LineStyle::none().fill('=').junction('='))
    .bottom_border(LineStyle::none().fill('-').junction('-'));
const UTF8_NARROW: TableStyle = TableStyle::new()
    .top_border(LineStyle::none().fill('─').junction('─'))
    .header_separator(LineStyle::none().fill('═').junction('═'))
    .bottom_border(LineStyle::none().fill('─').junction('─'));

/// Cuts a line to `max` characters, marking the cut.
fn fit(s: &str, max: usize) -> String {
    if columns(s) <= max && s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t = String::new();
        let mut used = 0;
        for c in s.chars() {
            let w = unicode_width::UnicodeWidthChar::width(c)
                .unwrap_or(0)
                .max(1);
            if used + w > max - 3 {
                break;
            }
            used += w;
            t.push(c);
        }
        t.push_str("...");
        t
    }
}

pub use crate::words::{printable, printable_line};

impl Writer<'_> {
    /// Writes `text` wrapped to [`WIDTH`], continuation lines indented by `indent`.
    fn say(&mut self, text: &str, indent: usize) -> io::Result<()> {
        for line in wrap(text, self.view.width, indent) {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    fn style(&self, s: Style) -> Style {
        s.force_styling(self.view.color)
    }

    fn title(&mut self, text: &str) -> io::Result<()> {
        let rule = if self.view.color { "─" } else { "-" };
        let line = format!(
            "{r}{r} {text} {}",
            rule.repeat(self.view.width.saturating_sub(text.len() + 4)),
            r = rule
        );
        let styled = self.style(Style::new().bold()).apply_to(line);
        writeln!(self.out, "\n{styled}")
    }

    /// A table laid out for the view's width; narrower than [`WIDTH`] (an 80-column
    /// terminal), without the side borders, which the segment table needs.
    fn table(&self, header: Vec<&str>) -> Table {
        let mut t = Table::new();
        let narrow = self.view.width < WIDTH;
        t.load_style(match (self.view.color, narrow) {
            (true, false) => UTF8_BORDERS_ONLY,
            (false, false) => ASCII_BORDERS_ONLY_CONDENSED,
            (true, true) => UTF8_NARROW,
            (false, true) => ASCII_NARROW,
        })
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(self.view.width as u16)
        .set_header(header);
        t
    }

    /// A table's text: no trailing spaces, its rules no wider than the view (a table
    /// whose columns keep their content whole can be a little wider than asked).
    fn table_text(&self, t: &Table) -> String {
        let rule = |l: &str| !l.is_empty() && l.chars().all(|c| "-=+─═┌┐└┘╞╡".contains(c));
        t.trim_fmt()
            .lines()
            .map(|l| {
                let w = self.view.width;
                if rule(l) {
                    l.chars().take(w).collect()
                } else if l.chars().count() > w
                    && let Some((before, last)) = l.rsplit_once(' ')
                    && last.chars().count() < w
                {
                    // The last cell (an analysis name) goes under, flush right.
                    format!("{}\n{:>w$}", before.trim_end(), last, w = w)
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// One-sentence explanations of the terms not explained before in this report.
    fn explain<'t>(&mut self, terms: impl IntoIterator<Item = &'t str>) -> io::Result<()> {
        let mut new: Vec<&Term> = Vec::new();
        for t in terms {
            // A lint may say more after its name: "malformed-request-line: no target".
            let name = t.split(": ").next().unwrap_or(t);
            if self.explained.insert(name.to_string())
                && let Some(entry) = DICTIONARY.lookup(name)
            {
                new.push(entry);
            }
        }
        for e in new {
            let text = format!("  ? {}: {}", e.name, e.short);
            for line in wrap(&text, self.view.width, 6) {
                let styled = self.style(Style::new().dim()).apply_to(line);
                writeln!(self.out, "{styled}")?;
            }
        }
        Ok(())
    }

    fn report(&mut self, report: &Report) -> io::Result<()> {
        let s = &report.source;
        self.say(
            &format!(
                "wirelab report of {} ({}, link type {})",
                s.path.as_deref().or(s.interface.as_deref()).unwrap_or("-"),
                s.format,
                s.linktype,
            ),
            4,
        )?;
        if let Some(text) = super::time_order_sentence(s) {
            self.say(&text, 4)?;
        }
        writeln!(
            self.out,
            "{} frames, {} bytes{}",
            group(s.packets),
            group(s.bytes),
            s.filter
                .as_ref()
                .map(|f| format!("; filter '{f}' kept {}", group(s.packets - s.filtered_out)))
                .unwrap_or_default()
        )?;
        self.say(
            &format!(
                "{}, {}; {} frames not TCP{}, {} undecodable",
                plural(report.totals.connections, "TCP connection"),
                plural(report.http_totals().exchanges, "HTTP exchange"),
                s.non_tcp,
                super::kinds_words(&s.non_tcp_kinds),
                s.undecoded
            ),
            4,
        )?;
        let t = &report.totals;
        let status = report.http_totals().status;
        if !status.is_empty() {
            let parts: Vec<String> = status
                .iter()
                .map(|(code, n)| format!("{code} x {}", group(*n)))
                .collect();
            self.say(&format!("responses by status: {}", parts.join(", ")), 2)?;
        }
        if report.connections.len() as u64 != t.connections {
            let parts: Vec<String> = t
                .closes
                .iter()
                .map(|(how, n)| format!("{how} {}", group(*n)))
                .collect();
            self.say(
                &format!("connections by how they ended: {}", parts.join(", ")),
                2,
            )?;
        }
        for (reason, n) in &s.undecoded_reasons {
            writeln!(
                self.out,
                "  undecodable: {n} x {}",
                fit(reason, self.view.width - 20)
            )?;
        }
        if let (Some(k), Some(i)) = (s.kernel_dropped, s.interface_dropped) {
            writeln!(
                self.out,
                "dropped by the kernel: {k} packets (buffer full), by the interface: {i}"
            )?;
        }
        if let Some(n) = s.live_unanalysed {
            self.say(
                &format!(
                    "{} packets were saved but not analysed live (the analysis fell behind): \
replay the saved file for the whole report",
                    group(n)
                ),
                2,
            )?;
        }
        if let Some(p) = &s.saved_to {
            writeln!(self.out, "saved to {p}")?;
        }
        if let Some(e) = &s.read_error {
            for line in wrap(
                &format!("warning: {e}; the report covers the frames before it"),
                self.view.width,
                2,
            ) {
                writeln!(self.out, "{line}")?;
            }
        }
        if let Some(lab) = &report.lab {
            self.title("the lab")?;
            self.say(&format!("  {}", super::lab_sentence(lab)), 4)?;
            if let Some(b) = &lab.both_ends {
                self.say(&format!("  {}", super::both_ends_sentence(b)), 4)?;
            }
        }
        if let Some(t) = &report.trace {
            let text = super::trace_sentence(t);
            let text = if self.view.color {
                text
            } else {
                text.replace('µ', "u")
            };
            self.say(&format!("  {text}"), 4)?;
            for d in &t.disputed {
                self.say(&format!("    {}", super::dispute_line(d)), 6)?;
            }
            if t.calls_disputed > t.disputed.len() as u64 {
                self.say(
                    &format!(
                        "    ... and {} more",
                        super::group(t.calls_disputed - t.disputed.len() as u64)
                    ),
                    6,
                )?;
            }
        }
        if !report.dns().is_empty() {
            self.title("DNS (UDP port 53): the names looked up before connecting")?;
            for l in report.dns() {
                self.say(&format!("  {}", crate::dns::sentences::report_line(l)), 6)?;
            }
            self.explain(["dns"])?;
        }
        if let Some(text) = super::no_connection_sentence(report)
            && (report.lab.is_some() || !report.dns().is_empty())
        {
            writeln!(self.out)?;
            self.say(&text, 2)?;
        }
        for c in &report.connections {
            self.connection(c)?;
        }
        let limits = super::limits_words(t);
        if !limits.is_empty() {
            writeln!(self.out)?;
            for l in limits {
                self.say(&format!("  {l}"), 4)?;
            }
        }
        Ok(())
    }

    fn connection(&mut self, c: &Connection) -> io::Result<()> {
        let service = c
            .server
            .service
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let ends = format!("{} -> {}{service}", c.client, c.server);
        let head = format!("== connection {}: {ends} ", c.id);
        let eq = if self.view.color { "═" } else { "=" };
        // Two IPv6 addresses do not fit one line with the title: they go under it.
        let (head, under) = if head.len() + 3 > self.view.width {
            (format!("== connection {} ", c.id), Some(ends))
        } else {
            (head, None)
        };
        let line = format!(
            "{head}{}",
            eq.repeat(self.view.width.saturating_sub(head.len()))
        );
        let styled = self.style(Style::new().bold().cyan()).apply_to(line);
        writeln!(self.out, "\n{styled}")?;
        if let Some(ends) = under {
            self.say(&format!("   {ends}"), 6)?;
        }
        let ended = super::how_it_ended(c);
        self.say(
            &format!(
                "   {ended}, {:.3} s, {} packets, {} B client -> server, {} B server -> client, \
history {}",
                c.duration_us as f64 / 1e6,
                c.packets,
                group(c.payload_bytes[0]),
                group(c.payload_bytes[1]),
                c.history
            ),
            3,
        )?;
        if let Some(text) = super::unanswered_syn_sentence(c) {
            self.say(&format!("   {text}"), 3)?;
        }
        let l = self.view.layers;
        for section in l.sections(c) {
            self.section(&section)?;
        }
        if l.http {
            self.http(c)?;
        }
        if l.tcp {
            self.tcp(c)?;
        }
        if (l.tcp || l.http || l.recv)
            && let Some(calls) = &c.recv
            && !calls.is_empty()
        {
            self.recv(c)?;
        }
        if l.ip {
            self.ip(c)?;
        }
        if l.link {
            self.link(c)?;
        }
        if self.view.verbose {
            self.frames(c)?;
        }
        Ok(())
    }

    /// A protocol's section (TLS's, SOCKS's): its sentences, its table cut as the
    /// others are, the terms it used.
    fn section(&mut self, section: &Section) -> io::Result<()> {
        self.title(section.title)?;
        for block in &section.blocks {
            match block {
                Block::Sentence(text) | Block::Note { text, .. } => self.say(text, 2)?,
                Block::List(lines) => {
                    for line in lines {
                        self.say(&format!("  {line}"), 4)?;
                    }
                }
                Block::Problem(text) => self.say(&format!("! {text}"), 2)?,
                Block::Aligned(text) => self.say(text, 10)?,
            }
        }
        if let Some(st) = &section.table {
            let mut table = self.table(st.columns.iter().map(|c| c.text_name()).collect());
            let (head, elided, tail) = super::cut(&st.rows, self.view.verbose);
            for row in head {
                table.add_row(row.cells.clone());
            }
            if elided > 0 {
                table.add_row(elided_row(st.columns.len()));
            }
            for row in tail {
                table.add_row(row.cells.clone());
            }
            for (i, column) in st.columns.iter().enumerate() {
                if column.align == Align::Right
                    && let Some(col) = table.column_mut(i)
                {
                    col.set_cell_alignment(CellAlignment::Right);
                }
            }
            writeln!(self.out, "{}", self.table_text(&table))?;
            if elided > 0 || st.omitted > 0 {
                writeln!(
                    self.out,
                    "  ... {} {} left out (-v shows them all)",
                    group(elided as u64 + st.omitted),
                    st.noun
                )?;
            }
        }
        self.explain(section.terms.iter().copied())
    }

    fn http(&mut self, c: &Connection) -> io::Result<()> {
        if c.http().is_empty() && c.not_http().is_none() && c.http_omitted() == 0 {
            return Ok(());
        }
        self.title("HTTP")?;
        if let Some(n) = c.not_http() {
            writeln!(self.out, "not HTTP: {}", fit(n, self.view.width - 10))?;
        }
        for (i, x) in c.http().iter().enumerate() {
            self.exchange(c, i, x)?;
        }
        if c.http_omitted() > 0 {
            writeln!(self.out, "{}", http::more_exchanges(c.http_omitted()))?;
        }
        if let Some(u) = c.upgrade() {
            self.upgrade(u)?;
        }
        Ok(())
    }

    /// After a 101 or a CONNECT's 2xx: the new protocol's bytes, and WebSocket frames
    /// (the first 20, the last 5 unless `-v`).
    fn upgrade(&mut self, u: &crate::http::record::Upgrade) -> io::Result<()> {
        for (i, line) in super::upgrade_sentences(u).iter().enumerate() {
            let indent = if i == 0 { 0 } else { 2 };
            self.say(&format!("{}{line}", " ".repeat(indent)), indent + 4)?;
        }
        let n = u.websocket.len();
        for (i, f) in u.websocket.iter().enumerate() {
            if !self.view.verbose && n > 25 && i == 20 {
                writeln!(self.out, "    ... {} frames ...", n - 25)?;
            }
            if self.view.verbose || n <= 25 || !(20..n - 5).contains(&i) {
                writeln!(self.out, "    {}", super::ws_frame_words(f))?;
            }
        }
        if u.websocket_omitted > 0 {
            writeln!(
                self.out,
                "    ... and {} more WebSocket frames, counted but not listed",
                group(u.websocket_omitted)
            )?;
        }
        Ok(())
    }

    fn exchange(&mut self, c: &Connection, i: usize, x: &HttpExchange) -> io::Result<()> {
        self.say(
            &format!("exchange {}: {}", i + 1, http::exchange_frames(x)),
            4,
        )?;
        if let Some(q) = &x.request {
            self.request(q, x.response.as_ref())?;
        }
        if let Some(r) = &x.response {
            self.response(c, r)?;
            self.response_segments(c, r)?;
        }
        Ok(())
    }

    /// The request: its line, target and query, headers, the blank line, the body,
    /// and its lints with what the server answered.
    fn request(&mut self, q: &Request, response: Option<&Response>) -> io::Result<()> {
        let bold = self.style(Style::new().bold());
        let line = q.line();
        writeln!(
            self.out,
            "  {}",
            bold.apply_to(fit(&printable(&line), self.view.width - 2))
        )?;
        writeln!(
            self.out,
            "    target      {}",
            fit(&describe_target(&q.target), self.view.width - 16)
        )?;
        for (j, (k, v)) in q.query.iter().enumerate() {
            let label = if j == 0 { "query" } else { "" };
            writeln!(
                self.out,
                "    {label:<11} {}",
                fit(&printable(&format!("{k} = {v}")), self.view.width - 16)
            )?;
        }
        self.headers(&q.headers)?;
        self.say(
            &format!("    blank line  {}", http::request_blank_line(q)),
            16,
        )?;
        if q.body_len > 0 {
            writeln!(self.out, "    body        {} bytes", group(q.body_len))?;
        }
        self.request_lints(q, response)
    }

    /// A request's lints: the mistakes, and the notes (the book's absolute-form is
    /// correct HTTP), with what the server answered.
    fn request_lints(&mut self, q: &Request, response: Option<&Response>) -> io::Result<()> {
        if !q.lint.is_empty() {
            for (label, text) in http::lint_lines(q, response) {
                self.say(&format!("    {label:<11} {text}"), 16)?;
            }
            self.explain(q.lint.iter().map(String::as_str))?;
        }
        Ok(())
    }

    /// The response: its status line and what the code means, headers, the blank
    /// line, the body's length and type, where it was saved, and a preview.
    fn response(&mut self, c: &Connection, r: &Response) -> io::Result<()> {
        let status = r.status_line();
        let color = match r.status {
            200..=299 => Style::new().bold().green(),
            300..=399 => Style::new().bold().yellow(),
            _ => Style::new().bold().red(),
        };
        writeln!(
            self.out,
            "  {}",
            self.style(color)
                .apply_to(fit(&printable(&status), self.view.width - 2))
        )?;
        for (j, line) in wrap(&http::status_words(r), self.view.width - 16, 0)
            .into_iter()
            .enumerate()
        {
            let label = if j == 0 { "status" } else { "" };
            writeln!(self.out, "    {label:<11} {line}")?;
        }
        self.headers(&r.headers)?;
        if r.version == "HTTP/0.9" {
            self.say(
                "    no head     the body alone, ended by the server's close",
                16,
            )?;
        } else {
            self.say(
                &format!("    blank line  {}", http::response_blank_line(r)),
                16,
            )?;
        }
        let switched = c.upgrade().and_then(|u| u.frame) == Some(r.frame);
        self.say(
            &format!("    body        {}", http::body_words(r, switched)),
            16,
        )?;
        if let Some(f) = &r.extracted {
            writeln!(self.out, "    saved as    {f} (in the --extract directory)")?;
        }
        if let Some(text) = &r.body_preview {
            for (j, line) in text.lines().take(6).enumerate() {
                let label = if j == 0 { "preview" } else { "" };
                writeln!(
                    self.out,
                    "    {label:<11} | {}",
                    fit(&printable(line), self.view.width - 18)
                )?;
            }
        } else if let Some(words) = http::binary_words(r) {
            self.say(&format!("    preview     {words}"), 16)?;
        }
        Ok(())
    }

    /// The segments that carried a response, with their sizes, and its lints.
    fn response_segments(&mut self, c: &Connection, r: &Response) -> io::Result<()> {
        let text = http::segments_words(c, r);
        for (j, line) in wrap(&text, self.view.width - 16, 0).into_iter().enumerate() {
            let label = if j == 0 { "segments" } else { "" };
            writeln!(self.out, "    {label:<11} {line}")?;
        }
        if !r.lint.is_empty() {
            writeln!(
                self.out,
                "    {}",
                fit(
                    &format!("note        {}", r.lint.join("; ")),
                    self.view.width - 4
                )
            )?;
            self.explain(r.lint.iter().map(String::as_str))?;
        }
        Ok(())
    }

    fn headers(&mut self, headers: &[(String, String)]) -> io::Result<()> {
        if headers.is_empty() {
            return writeln!(self.out, "    headers     (none)");
        }
        let shown = if self.view.verbose { usize::MAX } else { 40 };
        for (i, (k, v)) in headers.iter().take(shown).enumerate() {
            let label = if i == 0 { "headers" } else { "" };
            let line = format!("{k}: {v}");
            writeln!(
                self.out,
                "    {label:<11} {}",
                fit(&printable(&line), self.view.width - 16)
            )?;
        }
        if headers.len() > 40 && !self.view.verbose {
            writeln!(
                self.out,
                "    {:<11} ... {} more header fields (--verbose shows them)",
                "",
                headers.len() - 40
            )?;
        }
        Ok(())
    }

    fn tcp(&mut self, c: &Connection) -> io::Result<()> {
        self.title("TCP")?;
        let service = port_role(c.server.port);
        self.say(
            &format!(
                "ports       client {} (ephemeral, chosen by the OS) -> server {} ({service})",
                c.client.port, c.server.port
            ),
            12,
        )?;
        self.explain(["port"])?;
        self.handshake(c)?;
        for (name, s) in [
            ("client -> server", &c.streams.c2s),
            ("server -> client", &c.streams.s2c),
        ] {
            self.say(
                &format!("stream      {}", super::stream_sentence(name, s)),
                12,
            )?;
        }
        if !c.segments.is_empty() {
            let t = self.segments(c);
            writeln!(self.out, "{}", self.table_text(&t))?;
            if let (head, n, [next, ..]) = super::cut(&c.segments, self.view.verbose)
                && let Some(last) = head.last()
            {
                let line = elided_line(n, "segments", (last.frame, next.frame));
                writeln!(self.out, "{line}")?;
            }
            let mut terms: Vec<&str> = vec!["seq", "ack"];
            for s in &c.segments {
                terms.extend(s.analysis.iter().map(|a| a.as_str()));
            }
            self.explain(terms)?;
        }
        if c.segments_omitted > 0 {
            writeln!(
                self.out,
                "({} segments not listed: use --connection {} to see them)",
                c.segments_omitted, c.id
            )?;
        }
        if !c.analysis_totals.is_empty() {
            let parts: Vec<String> = c
                .analysis_totals
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            writeln!(
                self.out,
                "analysis    {}",
                fit(&parts.join(", "), self.view.width - 12)
            )?;
            self.explain(c.analysis_totals.iter().map(|(k, _)| k.as_str()))?;
        }
        self.link_drops(c)?;
        self.timing(c)?;
        if !c.segments.is_empty() {
            self.ladder(c)?;
        }
        Ok(())
    }

    /// The segments the lab's link dropped, each beside the frame that sent its bytes
    /// again (cut as the other tables).
    fn link_drops(&mut self, c: &Connection) -> io::Result<()> {
        if c.link_drops.is_empty() {
            return Ok(());
        }
        self.say(
            &format!(
                "lost        {} of the server lost on the lab's link (the capture here \
never saw them); the server's TCP sent each again:",
                plural(c.link_drops.len() as u64, "segment")
            ),
            12,
        )?;
        let mut t = self.table(vec!["dropped at", "seq", "len", "sent again in", "later"]);
        let (head, elided, tail) = super::cut(&c.link_drops, self.view.verbose);
        let at = |ts: i64| format!("{:.3} ms", (ts - c.first_ts_us) as f64 / 1000.0);
        for (i, d) in head.iter().chain(tail).enumerate() {
            if i == head.len() && elided > 0 {
                t.add_row(elided_row(5));
            }
            let again = d
                .frame
                .and_then(|f| c.segments.iter().find(|s| s.frame == f));
            t.add_row(vec![
                at(d.ts_us),
                opt(d.rel_seq),
                d.len.to_string(),
                again.map_or("not in the capture".into(), |s| {
                    format!("frame {}", s.frame)
                }),
                again.map_or(String::new(), |s| {
                    format!("{:.1} ms", (s.ts_us - d.ts_us) as f64 / 1000.0)
                }),
            ]);
        }
        for i in [0, 1, 2, 4] {
            if let Some(col) = t.column_mut(i) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        writeln!(self.out, "{}", self.table_text(&t))?;
        if elided > 0 {
            writeln!(
                self.out,
                "  ... {} drops left out (-v shows them all)",
                group(elided as u64)
            )?;
        }
        Ok(())
    }

    fn handshake(&mut self, c: &Connection) -> io::Result<()> {
        let Some(h) = &c.handshake else {
            return self.say(
                "handshake   not in the capture (it started mid-connection): sequence numbers \
are relative to the first seen",
                12,
            );
        };
        writeln!(self.out, "handshake")?;
        let mut t = self.table(vec![
            "frame",
            "segment",
            "seq (absolute)",
            "ack (absolute)",
            "options",
        ]);
        for frame in [h.syn_frame, h.synack_frame, h.ack_frame]
            .into_iter()
            .flatten()
        {
            if let Some(s) = c.segments.iter().find(|s| s.frame == frame) {
                t.add_row(vec![
                    frame.to_string(),
                    format!("{} {}", dir_arrow(s), s.flags),
                    format!("{} ({})", s.rel_seq, s.seq),
                    s.rel_ack
                        .map(|a| format!("{a} ({})", s.ack))
                        .unwrap_or_else(|| "-".into()),
                    s.options.clone().unwrap_or_default(),
                ]);
            }
        }
        writeln!(self.out, "{}", self.table_text(&t))?;
        self.say(
            &format!(
                "  RTT {} (SYN to the client's ACK); MSS client {} / server {}; window scale {} / {}",
                h.rtt_us.map(ms).unwrap_or_else(|| "-".into()),
                opt(h.client_mss),
                opt(h.server_mss),
                opt(h.client_window_scale),
                opt(h.server_window_scale),
            ),
            2,
        )?;
        self.say(
            &format!(
                "  SACK {}; timestamps {}; the SYN-ACK's ack is the client's ISN + 1, the ACK's \
the server's ISN + 1",
                if h.sack_permitted { "yes" } else { "no" },
                if h.timestamps { "yes" } else { "no" },
            ),
            2,
        )?;
        self.explain(["handshake", "mss", "rtt"])
    }

    fn segments(&self, c: &Connection) -> Table {
        let (t0, segs) = (c.first_ts_us, &c.segments[..]);
        let mut t = self.table(vec![
            "frame", "time", "dir", "flags", "seq", "ack", "len", "acked", "win", "analysis",
        ]);
        let (head, elided, tail) = super::cut(segs, self.view.verbose);
        for (i, s) in head.iter().chain(tail).enumerate() {
            if i == head.len() && elided > 0 {
                t.add_row(elided_row(10));
            }
            t.add_row(vec![
                s.frame.to_string(),
                format!("{:.6}", (s.ts_us - t0) as f64 / 1e6),
                dir_arrow(s).into(),
                s.flags.clone(),
                s.rel_seq.to_string(),
                opt(s.rel_ack),
                s.len.to_string(),
                opt(s.acked.filter(|a| *a > 0)),
                s.window.to_string(),
                {
                    let mut cell = crate::render::findings(&s.analysis, "\n");
                    if crate::report::link::replaced_drop(c, s.frame).is_some() {
                        cell += "\n(an earlier copy\nlost on the link)";
                    }
                    cell
                },
            ]);
        }
        for i in [0, 4, 5, 6, 7, 8] {
            if let Some(col) = t.column_mut(i) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        // Every column as wide as its widest cell: the names of the analysis stay whole.
        for col in t.column_iter_mut() {
            col.set_constraint(ColumnConstraint::ContentWidth);
            col.set_padding((if self.view.width < WIDTH { 0 } else { 1 }, 0));
        }
        t
    }

    fn timing(&mut self, c: &Connection) -> io::Result<()> {
        if let (Some(first), Some(est)) = (c.rtt_samples.first(), c.rtt_estimated_us) {
            self.say(
                &format!(
                    "RTT         {} samples (data segment to its ACK): first {} (frame {} acked \
by {}), EstimatedRTT {}",
                    c.rtt_samples.len(),
                    ms(first.rtt_us),
                    first.frame,
                    first.ack_frame,
                    ms(est as i64)
                ),
                12,
            )?;
        }
        if c.min_window.iter().any(Option::is_some) {
            writeln!(
                self.out,
                "window      smallest advertised: client {} B, server {} B",
                opt(c.min_window[0]),
                opt(c.min_window[1])
            )?;
            self.explain(["window"])?;
        }
        if c.duration_us > 0 && c.payload_bytes[1] > 0 {
            let secs = c.duration_us as f64 / 1e6;
            writeln!(
                self.out,
                "throughput  {} B from the server in {:.3} s: {:.1} kB/s",
                group(c.payload_bytes[1]),
                secs,
                c.payload_bytes[1] as f64 / secs / 1000.0
            )?;
        }
        let fins: Vec<&Segment> = c
            .segments
            .iter()
            .filter(|s| s.flags.contains("FIN"))
            .collect();
        if let Some(first) = fins.first() {
            let who = if first.dir == Dir::C2S {
                "client"
            } else {
                "server"
            };
            let others: Vec<String> = fins[1..].iter().map(|s| s.frame.to_string()).collect();
            self.say(
                &format!(
                    "teardown    the {who} sent the first FIN (frame {}){}",
                    first.frame,
                    if others.is_empty() {
                        String::new()
                    } else {
                        format!("; then FIN in frame {}", others.join(", "))
                    }
                ),
                12,
            )?;
            self.explain(["fin"])?;
        } else if let Some(r) = c.segments.iter().find(|s| s.flags.contains("RST")) {
            let who = if r.dir == Dir::C2S {
                "client"
            } else {
                "server"
            };
            self.say(
                &format!(
                    "teardown    the {who} reset the connection (frame {})",
                    r.frame
                ),
                12,
            )?;
            self.explain(["rst"])?;
        }
        Ok(())
    }

    /// Client and server columns, one arrow per segment, time down the page.
    fn ladder(&mut self, c: &Connection) -> io::Result<()> {
        const LANE: usize = 56;
        let client = format!("client {}", c.client);
        let server = format!("server {}", c.server);
        writeln!(
            self.out,
            "ladder (time in ms since the first packet; frame at the right)"
        )?;
        writeln!(
            self.out,
            "{:>10}  {:<w$}{}",
            "",
            fit(&client, LANE / 2),
            fit(&server, LANE / 2),
            w = LANE + 2 - server.len().min(LANE / 2)
        )?;
        let (h, r, l, bar) = if self.view.color {
            ("─", "▶", "◀", "│")
        } else {
            ("-", ">", "<", "|")
        };
        for rung in ladder(c, self.view.verbose) {
            match rung {
                Rung::Arrow(s) => {
                    let label = fit(&format!(" {} ", arrow_label(s)), LANE - 6);
                    let fill = LANE - 2 - label.chars().count();
                    let (left, right) = (fill / 2, fill - fill / 2);
                    let arrow = if s.dir == Dir::C2S {
                        format!("{}{label}{}{r}", h.repeat(left + 1), h.repeat(right))
                    } else {
                        format!("{l}{}{label}{}", h.repeat(left), h.repeat(right + 1))
                    };
                    let marks = if s.analysis.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", crate::render::findings(&s.analysis, ","))
                    };
                    let line = format!(
                        "{:>10}  {bar}{arrow}{bar} {}{}",
                        format!("{:.3}", (s.ts_us - c.first_ts_us) as f64 / 1000.0),
                        s.frame,
                        marks
                    );
                    let line = fit(&line, self.view.width);
                    if s.analysis.is_empty() {
                        writeln!(self.out, "{line}")?;
                    } else {
                        let styled = self.style(Style::new().red()).apply_to(line);
                        writeln!(self.out, "{styled}")?;
                    }
                }
                Rung::Dropped(d) => {
                    // From the server's line, stopped short of the program's: "x".
                    let label = fit(&format!(" {} ", dropped_label(d)), LANE - 8);
                    let fill = LANE - 5 - label.chars().count();
                    let (left, right) = (fill / 2, fill - fill / 2);
                    let arrow = format!("   x{}{label}{}", h.repeat(left), h.repeat(right + 1));
                    let then = d
                        .frame
                        .map(|f| format!("resent {f}"))
                        .unwrap_or_else(|| "never sent again".into());
                    let line = format!(
                        "{:>10}  {bar}{arrow}{bar} {then}",
                        format!("{:.3}", (d.ts_us - c.first_ts_us) as f64 / 1000.0),
                    );
                    let styled = self
                        .style(Style::new().red())
                        .apply_to(fit(&line, self.view.width));
                    writeln!(self.out, "{styled}")?;
                }
                Rung::Elided { segments, drops } => writeln!(
                    self.out,
                    "{:>10}  {bar}{:^w$}{bar}",
                    "",
                    format!("... {} ...", elided_words(segments, drops)),
                    w = LANE
                )?,
            }
        }
        Ok(())
    }

    /// The recv log beside the segments: what each `recv()` returned and which frames
    /// carried those bytes, then the one sentence that says what it shows.
    fn recv(&mut self, c: &Connection) -> io::Result<()> {
        let Some(calls) = &c.recv else {
            return Ok(());
        };
        self.title("recv() against the segments")?;
        let mut header = vec![
            "#",
            "call",
            "returned",
            "stream bytes",
            "frames (segment sizes) that carried them",
        ];
        // The calls may read a protocol's units (TLS's records): which one, and what
        // it held.
        let units = c.recv_column();
        if let Some((_, heading)) = units {
            header.push(heading);
        }
        let columns = header.len();
        let mut t = self.table(header);
        let (head, elided, tail) = super::cut(calls, self.view.verbose);
        for (i, r) in head.iter().chain(tail).enumerate() {
            if i == head.len() && elided > 0 {
                t.add_row(elided_row(columns));
            }
            let frames: Vec<String> = r
                .frames
                .iter()
                .map(|f| format!("{f} ({})", opt(c.segment_len(*f))))
                .collect();
            let mut row = vec![
                r.call.to_string(),
                super::call_name(r),
                r.bytes.to_string(),
                if r.bytes == 0 {
                    "end of stream".into()
                } else {
                    format!("{}..{}", r.stream_offset, r.stream_offset + r.bytes)
                },
                frames.join(", "),
            ];
            if let Some((record, _)) = units {
                row.push(record.recv_cell(r));
            }
            t.add_row(row);
        }
        for i in [0, 2, 3] {
            if let Some(col) = t.column_mut(i) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        writeln!(self.out, "{}", self.table_text(&t))?;
        if let (head, n, [next, ..]) = super::cut(calls, self.view.verbose)
            && let Some(last) = head.last()
        {
            let line = elided_line(n, "calls", (last.call, next.call));
            writeln!(self.out, "{line}")?;
        }
        if let Some(s) = recv_sentence(c) {
            for line in wrap(&s, self.view.width, 0) {
                writeln!(self.out, "{line}")?;
            }
        }
        for s in super::recv_story(c).iter().chain(&super::send_story(c)) {
            self.say(&format!("  {s}"), 4)?;
        }
        if let Some(p) = &c.process {
            self.say(
                &format!(
                    "  The calls are those of {} (pid {}): {}",
                    p.name,
                    p.pid,
                    super::command_line(&p.cmdline)
                ),
                4,
            )?;
        }
        self.explain(["recv"])
    }

    fn ip(&mut self, c: &Connection) -> io::Result<()> {
        self.title("IP")?;
        let ip = &c.ip;
        self.say(
            &format!(
                "IPv{}        client {} -> server {}",
                ip.version, c.client.ip, c.server.ip
            ),
            12,
        )?;
        let loopback = c.client.ip.starts_with("127.") || c.client.ip == "::1";
        self.say(
            &format!(
                "TTL         client {}, server {}{}",
                opt(ip.ttl[0]),
                opt(ip.ttl[1]),
                if loopback {
                    " (loopback: no router lowered them)".to_string()
                } else {
                    super::hops_sentence(ip.ttl)
                }
            ),
            12,
        )?;
        if ip.version == 4 {
            let counts = |d: Dir| c.segments.iter().filter(|s| s.dir == d).count();
            self.say(
                &format!(
                    "DF          Don't Fragment set on {} client and {} server datagrams{}",
                    ip.dont_fragment[0],
                    ip.dont_fragment[1],
                    if c.segments.is_empty() {
                        String::new()
                    } else {
                        format!(" (of {} and {})", counts(Dir::C2S), counts(Dir::S2C))
                    }
                ),
                12,
            )?;
        }
        if ip.reassembled > 0 {
            writeln!(
                self.out,
                "fragments   {} datagrams were rebuilt from IP fragments",
                ip.reassembled
            )?;
        }
        if let (Some(first), false) = (c.segments.first(), self.view.verbose) {
            let ip_header = first
                .ip
                .total_len
                .saturating_sub(first.header_len as u32 + first.len);
            self.say(
                &format!(
                    "lengths     e.g. frame {}: IP total length {} = IP header {ip_header} + TCP \
header {} + payload {} (--verbose: every frame)",
                    first.frame, first.ip.total_len, first.header_len, first.len
                ),
                12,
            )?;
        }
        self.explain(["ttl"])
    }

    fn link(&mut self, c: &Connection) -> io::Result<()> {
        self.title("link")?;
        let l = &c.link;
        if !l.stack.is_empty() {
            self.say(&format!("layers      {}", l.stack), 12)?;
        }
        match l.kind {
            "ethernet" => {
                let zero = "00:00:00:00:00:00";
                let text = format!(
                    "Ethernet    {} {}, {} {}{}{}",
                    super::mac_label(c.ip.ttl, 0),
                    opt(l.mac[0].as_deref()),
                    super::mac_label(c.ip.ttl, 1),
                    opt(l.mac[1].as_deref()),
                    if l.vlans.is_empty() {
                        String::new()
                    } else {
                        format!(", VLAN {:?}", l.vlans)
                    },
                    if l.mac.iter().flatten().all(|m| m == zero) {
                        " (all zero: Linux loopback has no hardware)"
                    } else {
                        super::mac_note(c.ip.ttl)
                    }
                );
                self.say(&text, 12)
            }
            "cooked" => self.say(
                "Linux cooked capture (the 'any' device): the frames carry no MAC addresses of \
both sides",
                0,
            ),
            _ => self.say(
                "no link header (loopback or raw IP capture): the frames start with the IP header",
                0,
            ),
        }
    }

    /// `--verbose`: every header field of every frame; `-x`: its header bytes.
    fn frames(&mut self, c: &Connection) -> io::Result<()> {
        if c.segments.is_empty() {
            return Ok(());
        }
        self.title("every frame")?;
        for s in &c.segments {
            writeln!(
                self.out,
                "frame {} at {:.6} s, {}",
                s.frame,
                (s.ts_us - c.first_ts_us) as f64 / 1e6,
                if s.dir == Dir::C2S {
                    "client -> server"
                } else {
                    "server -> client"
                }
            )?;
            if self.view.layers.ip {
                writeln!(
                    self.out,
                    "  IP   TTL {}, ID {}, DF {}, total length {}",
                    s.ip.ttl,
                    opt(s.ip.id),
                    if s.ip.df { "set" } else { "clear" },
                    s.ip.total_len
                )?;
            }
            if self.view.layers.tcp {
                self.say(
                    &format!(
                        "  TCP  flags {}, seq {} (abs {}), ack {} (abs {}), header {} B, window {}, \
payload {} B",
                        s.flags,
                        s.rel_seq,
                        s.seq,
                        opt(s.rel_ack),
                        s.ack,
                        s.header_len,
                        s.window,
                        s.len
                    ),
                    7,
                )?;
                if let Some(o) = &s.options {
                    writeln!(self.out, "       options {}", fit(o, self.view.width - 15))?;
                }
            }
            if self.view.hex
                && let Some(hex) = &s.header_hex
            {
                for (i, chunk) in hex.as_bytes().chunks(32).enumerate() {
                    let pairs: Vec<&str> = chunk
                        .chunks(2)
                        .map(|p| std::str::from_utf8(p).unwrap_or("??"))
                        .collect();
                    writeln!(self.out, "  {:04x}  {}", i * 16, pairs.join(" "))?;
                }
            }
        }
        Ok(())
    }
}

fn dir_arrow(s: &Segment) -> &'static str {
    if s.dir == Dir::C2S { "->" } else { "<-" }
}

/// Word-wraps `text` to `width` columns, keeping its leading spaces; lines after the
/// first are indented by `indent`.
pub fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
    let lead = text.len() - text.trim_start_matches(' ').len();
    let mut lines = Vec::new();
    let mut line = " ".repeat(lead);
    let mut empty = true;
    for word in text[lead..].split(' ') {
        let len = columns(&line).max(line.chars().count());
        if !empty && len + 1 + columns(word).max(word.chars().count()) > width {
            lines.push(std::mem::take(&mut line));
            line = " ".repeat(indent);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    if !empty {
        lines.push(line);
    }
    lines.into_iter().map(|l| fit(&l, width)).collect()
}

/// One line per packet as live capture sees it: time since the first packet,
/// addresses and ports (with the service), flags, relative seq/ack, length, and the
/// HTTP request or status line when the segment starts one.
pub fn packet_line(line: &PacketLine, t0_us: i64) -> String {
    let mut text = packet_head(line, t0_us, false);
    if let Some(h) = &line.http_line {
        text.push_str(&format!("  {}", printable(h)));
    }
    text
}

/// A packet's line without the HTTP line it starts (see [`packet_line`]). `compact`
/// (an 80-column terminal): single spaces, no service name.
pub fn packet_head(line: &PacketLine, t0_us: i64, compact: bool) -> String {
    let s = &line.segment;
    let service = match (&line.service, compact) {
        (Some(x), false) => format!(" ({x})"),
        _ => String::new(),
    };
    let gap = if compact { " " } else { "  " };
    let mut text = format!(
        "{:>4} {:>10.6}  {} -> {}{service}{gap}[{}]{gap}seq {}{}{gap}len {}",
        s.frame,
        (s.ts_us - t0_us) as f64 / 1e6,
        line.src,
        line.dst,
        s.flags,
        s.rel_seq,
        s.rel_ack.map(|a| format!(" ack {a}")).unwrap_or_default(),
        s.len
    );
    if !s.analysis.is_empty() {
        text.push_str(&format!(
            "{gap}<{}>",
            crate::render::findings(&s.analysis, ", ")
        ));
    }
    text
}

/// The row that stands for the rows a long table leaves out: "..." in each column
/// (the count is said under the table, so no column widens for it).
fn elided_row(columns: usize) -> Vec<String> {
    vec!["...".to_string(); columns]
}

/// The line under a cut table: how many rows it leaves out, between which.
fn elided_line(n: usize, what: &str, between: (u64, u64)) -> String {
    let unit = if what == "segments" { "frames" } else { what };
    format!(
        "  ... {} {what} left out, between {unit} {} and {} (-v shows them all)",
        group(n as u64),
        between.0,
        between.1
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn wraps_and_fits() {
        let lines = super::wrap("aaa bbb ccc ddd", 8, 2);
        assert_eq!(lines, vec!["aaa bbb", "  ccc", "  ddd"]);
        assert_eq!(super::wrap("  ab cd", 6, 4), vec!["  ab", "    cd"]);
        assert_eq!(super::fit("abcdefghij", 6), "abc...");
    }
}
