//! The terminal report: for each connection a summary line (after Zeek's conn.log),
//! then the layers top to bottom as the course teaches them: HTTP, TCP, IP.

use crate::report::model::{Connection, PacketLine, RecvCall, Report, Segment};
use comfy_table::presets::ASCII_BORDERS_ONLY_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use std::io::{self, Write};

/// Terminal width the tables are laid out for.
pub const WIDTH: u16 = 100;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.source;
    writeln!(
        out,
        "wirelab report of {} ({}, link type {}): {} frames, {} bytes{}",
        s.path.as_deref().or(s.interface.as_deref()).unwrap_or("-"),
        s.format,
        s.linktype,
        s.packets,
        s.bytes,
        s.filter
            .as_ref()
            .map(|f| format!(", filter '{f}' kept {}", s.packets - s.filtered_out))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "{} TCP connections, {} HTTP exchanges; {} frames not TCP, {} undecodable",
        report.totals.connections, report.totals.http_exchanges, s.non_tcp, s.undecoded
    )?;
    for (reason, n) in &s.undecoded_reasons {
        writeln!(out, "  undecodable: {n} x {reason}")?;
    }
    if let (Some(k), Some(i)) = (s.kernel_dropped, s.interface_dropped) {
        writeln!(
            out,
            "dropped by the kernel: {k} packets (buffer full), by the interface: {i}"
        )?;
    }
    if let Some(e) = &s.read_error {
        writeln!(
            out,
            "  warning: {e}; the report covers the frames before it"
        )?;
    }
    for c in &report.connections {
        writeln!(out)?;
        connection(c, out)?;
    }
    let t = &report.totals;
    if t.evicted_connections + t.segments_omitted + t.fragments_dropped > 0 {
        writeln!(
            out,
            "\nlimits: {} connections evicted, {} segment rows omitted (ask for one with --connection N), {} fragmented datagrams incomplete",
            t.evicted_connections, t.segments_omitted, t.fragments_dropped
        )?;
    }
    Ok(())
}

fn ms(us: i64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

fn connection(c: &Connection, out: &mut dyn Write) -> io::Result<()> {
    let service = c
        .server
        .service
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    writeln!(
        out,
        "== connection {}: {}:{} -> {}:{}{}  {}{}  {:.3} s  {} packets  {} B -> {} B <-  history {}",
        c.id,
        c.client.ip,
        c.client.port,
        c.server.ip,
        c.server.port,
        service,
        c.close,
        c.closed_by.map(|b| format!(" by {b}")).unwrap_or_default(),
        c.duration_us as f64 / 1e6,
        c.packets,
        c.payload_bytes[0],
        c.payload_bytes[1],
        c.history
    )?;
    for (i, x) in c.http.iter().enumerate() {
        writeln!(out, "HTTP exchange {}:", i + 1)?;
        if let Some(q) = &x.request {
            writeln!(
                out,
                "  request  frame {:>5}: {} {} {}  (head {} bytes to the blank line{})",
                q.frame,
                q.method,
                q.target,
                q.version,
                q.header_len,
                if q.lint.is_empty() {
                    String::new()
                } else {
                    format!("; {}", q.lint.join(", "))
                }
            )?;
        }
        if let Some(r) = &x.response {
            writeln!(
                out,
                "  response frame {:>5}: {} {} {}  Content-Type {}  Content-Length {}  body {} bytes in {} segments{}{}",
                r.frame,
                r.version,
                r.status,
                r.reason,
                r.content_type.as_deref().unwrap_or("-"),
                r.content_length.as_deref().unwrap_or("-"),
                r.body_len,
                r.frame_count,
                if r.complete { "" } else { "  INCOMPLETE" },
                x.response_time_us
                    .map(|t| format!("  after {}", ms(t)))
                    .unwrap_or_default()
            )?;
            if !r.lint.is_empty() {
                writeln!(out, "    note: {}", r.lint.join("; "))?;
            }
        }
    }
    if let Some(n) = &c.not_http {
        writeln!(out, "not HTTP: {n}")?;
    }
    match &c.handshake {
        Some(h) => writeln!(
            out,
            "TCP handshake: SYN frame {} (ISN {}), SYN-ACK frame {} (ISN {}), ACK frame {}; RTT {}; MSS {} / {}; window scale {} / {}; SACK {}; timestamps {}",
            opt(h.syn_frame),
            opt(h.client_isn),
            opt(h.synack_frame),
            opt(h.server_isn),
            opt(h.ack_frame),
            h.rtt_us.map(ms).unwrap_or_else(|| "-".into()),
            opt(h.client_mss),
            opt(h.server_mss),
            opt(h.client_window_scale),
            opt(h.server_window_scale),
            if h.sack_permitted { "yes" } else { "no" },
            if h.timestamps { "yes" } else { "no" },
        )?,
        None => writeln!(
            out,
            "TCP handshake: not in the capture (it started mid-connection)"
        )?,
    }
    for (name, s) in [
        ("client -> server", &c.streams.c2s),
        ("server -> client", &c.streams.s2c),
    ] {
        let gaps: u64 = s.gaps.iter().map(|g| g.len).sum();
        writeln!(
            out,
            "stream {name}: {} bytes, {}{}",
            s.bytes,
            if s.complete { "complete" } else { "incomplete" },
            if gaps > 0 {
                format!(", {} bytes missing in {} gaps", gaps, s.gaps.len())
            } else {
                String::new()
            }
        )?;
    }
    if !c.segments.is_empty() {
        writeln!(out, "{}", segments(c.first_ts_us, &c.segments))?;
    }
    if c.segments_omitted > 0 {
        writeln!(
            out,
            "({} segments not listed: use --connection {} to see them)",
            c.segments_omitted, c.id
        )?;
    }
    if let Some(calls) = &c.recv {
        recv_section(c, calls, out)?;
    }
    if !c.analysis_totals.is_empty() {
        let parts: Vec<String> = c
            .analysis_totals
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(out, "analysis: {}", parts.join(", "))?;
    }
    Ok(())
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// A plain-ASCII table laid out for [`WIDTH`] columns, whatever the terminal.
fn new_table(header: Vec<&str>) -> Table {
    let mut t = Table::new();
    t.load_style(ASCII_BORDERS_ONLY_CONDENSED)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH)
        .set_header(header);
    t
}

fn segments(t0: i64, segs: &[Segment]) -> Table {
    let mut t = new_table(vec![
        "frame", "time", "dir", "flags", "seq", "ack", "len", "win", "analysis",
    ]);
    for s in segs {
        t.add_row(vec![
            s.frame.to_string(),
            format!("{:.6}", (s.ts_us - t0) as f64 / 1e6),
            if s.dir == "c2s" {
                "->".into()
            } else {
                "<-".to_string()
            },
            s.flags.clone(),
            s.rel_seq.to_string(),
            opt(s.rel_ack),
            s.len.to_string(),
            s.window.to_string(),
            s.analysis.join(" "),
        ]);
    }
    for i in [0, 4, 5, 6, 7] {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// The recv log beside the segments: what each `recv()` returned and which frames
/// carried those bytes, then the one sentence that says what it shows.
fn recv_section(c: &Connection, calls: &[RecvCall], out: &mut dyn Write) -> io::Result<()> {
    let len_of = |frame: u64| {
        c.segments
            .iter()
            .find(|s| s.frame == frame)
            .map(|s| s.len.to_string())
            .unwrap_or_else(|| "?".into())
    };
    let mut t = new_table(vec![
        "recv",
        "bytes",
        "stream bytes",
        "frames (segment sizes) that carried them",
    ]);
    for r in calls {
        let frames: Vec<String> = r
            .frames
            .iter()
            .map(|f| format!("{f} ({})", len_of(*f)))
            .collect();
        t.add_row(vec![
            r.call.to_string(),
            r.bytes.to_string(),
            format!("{}..{}", r.stream_offset, r.stream_offset + r.bytes),
            frames.join(", "),
        ]);
    }
    for i in [0, 1, 2] {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    writeln!(out, "recv() calls of the client against the segments:")?;
    writeln!(out, "{t}")?;
    let total: u64 = calls.iter().map(|r| r.bytes).sum();
    let segments = c
        .segments
        .iter()
        .filter(|s| s.dir == "s2c" && s.len > 0)
        .count();
    writeln!(
        out,
        "{} recv() calls returned the {} bytes that {} segments carried: TCP delivers a stream, not messages.",
        calls.len(),
        group(total),
        segments
    )
}

/// 230241 -> "230,241".
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// One line per packet as live capture sees it: time since the first packet,
/// addresses and ports (with the service), flags, relative seq/ack, length, and the
/// HTTP request or status line when the segment starts one.
pub fn packet_line(line: &PacketLine, t0_us: i64) -> String {
    let s = &line.segment;
    let service = line
        .service
        .as_deref()
        .map(|x| format!(" ({x})"))
        .unwrap_or_default();
    let mut text = format!(
        "{:>4} {:>10.6}  {}:{} -> {}:{}{}  [{}]  seq {}{}  len {}",
        s.frame,
        (s.ts_us - t0_us) as f64 / 1e6,
        line.src.ip,
        line.src.port,
        line.dst.ip,
        line.dst.port,
        service,
        s.flags,
        s.rel_seq,
        s.rel_ack.map(|a| format!(" ack {a}")).unwrap_or_default(),
        s.len
    );
    if !s.analysis.is_empty() {
        text.push_str(&format!("  <{}>", s.analysis.join(", ")));
    }
    if let Some(h) = &line.http_line {
        text.push_str(&format!("  {h}"));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_thousands() {
        assert_eq!(super::group(230241), "230,241");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1000), "1,000");
    }
}
