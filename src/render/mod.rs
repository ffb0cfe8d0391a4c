//! Stage 7: renderers. They read only the report model (and the glossary and port
//! tables, which are leaves). One [`View`] says what every renderer shows.

pub mod har;
pub mod html;
pub mod json;
pub mod jsonl;
pub mod story;
pub mod table;
pub mod timeline;

use crate::dns::ReportDns;
use crate::http::ConnectionHttp;
pub use crate::http::sentences::{
    blank_line_words, describe_target, is_note, length_words, upgrade_sentences, ws_frame_words,
};
use crate::model::{Close, Connection, Dir, Finding, Segment, Side, Totals};
pub use crate::words::{call_name, group, ordinal, plural};

/// Every renderer the library has, so the binary and the fuzz targets run the same
/// list. `Story` is what lab and demo print; `Full` the layer report; `FullThenStory`
/// both, one after the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renderer {
    Story,
    Full,
    FullThenStory,
    Json,
    Html,
    Har,
    Jsonl,
}

impl Renderer {
    pub const ALL: [Renderer; 7] = [
        Renderer::Story,
        Renderer::Full,
        Renderer::FullThenStory,
        Renderer::Json,
        Renderer::Html,
        Renderer::Har,
        Renderer::Jsonl,
    ];

    /// Writes `report` as this renderer does, with `view` where it applies.
    pub fn write(
        self,
        report: &crate::model::Report,
        view: &View,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        match self {
            Renderer::Story => story::write(report, out),
            Renderer::Full => table::write(report, view, out),
            Renderer::FullThenStory => table::write(report, view, out)
                .and_then(|_| writeln!(out))
                .and_then(|_| story::write(report, out)),
            Renderer::Json => json::write(report, out),
            Renderer::Html => html::write(report, view, out),
            Renderer::Har => har::write(report, out),
            Renderer::Jsonl => jsonl::write(report, out),
        }
    }
}

/// The layers of the course, top to bottom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layers {
    pub http: bool,
    pub tcp: bool,
    pub ip: bool,
    pub link: bool,
    /// The program's recv() calls against the segments (shown with http or tcp too).
    pub recv: bool,
}

impl Layers {
    /// The sections the protocols above TCP give connection `c` (TLS's, SOCKS's) that
    /// these layers show: all with the layers above TCP, those that sit on TCP with
    /// TCP's too.
    pub fn sections(&self, c: &Connection) -> Vec<crate::section::Section> {
        c.records
            .iter()
            .filter_map(|r| r.section(c))
            .filter(|s| self.http || (s.with_tcp && self.tcp))
            .collect()
    }
}

/// A name `--layers` does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLayer(pub String);

impl std::fmt::Display for UnknownLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown layer '{}': the layers are http, tcp, ip, link and recv (the program's calls)",
            self.0
        )
    }
}

impl std::error::Error for UnknownLayer {}

impl Layers {
    pub const ALL: Layers = Layers {
        http: true,
        tcp: true,
        ip: true,
        link: true,
        recv: true,
    };

    /// "http,tcp" -> those two. An unknown name is an error that lists the known ones.
    pub fn parse(list: &str) -> Result<Layers, UnknownLayer> {
        let mut l = Layers {
            http: false,
            tcp: false,
            ip: false,
            link: false,
            recv: false,
        };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "http" => l.http = true,
                "tcp" => l.tcp = true,
                "ip" => l.ip = true,
                "link" => l.link = true,
                "recv" => l.recv = true,
                other => return Err(UnknownLayer(other.to_string())),
            }
        }
        Ok(l)
    }
}

/// What to show and how.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub layers: Layers,
    /// Every header field of every frame.
    pub verbose: bool,
    /// Header bytes in hex (the model holds them only when asked with `-x`).
    pub hex: bool,
    /// ANSI colours and Unicode (a terminal); plain ASCII otherwise.
    pub color: bool,
    /// Columns the text report fits: the terminal's (80 and up), or
    /// [`table::WIDTH`] when not on a terminal.
    pub width: usize,
}

impl Default for View {
    fn default() -> Self {
        View {
            layers: Layers::ALL,
            verbose: false,
            hex: false,
            color: false,
            width: table::WIDTH,
        }
    }
}

/// Arrows of a ladder diagram drawn in full; a longer connection shows its first
/// [`LADDER_HEAD`] and last [`LADDER_TAIL`] segments (all of them with `--verbose`).
pub const LADDER_FULL: usize = 60;
pub const LADDER_HEAD: usize = 40;
pub const LADDER_TAIL: usize = 10;

/// One row of a ladder diagram.
#[derive(Clone, Copy)]
pub enum Rung<'a> {
    Arrow(&'a Segment),
    /// A segment of the server the lab's link dropped: sent, never arrived (the capture
    /// at the program's side never saw it), drawn at the time the link took it.
    Dropped(&'a crate::model::LinkEvent),
    /// Rows left out of the middle: this many segments, and drops among them.
    Elided {
        segments: usize,
        drops: usize,
    },
}

/// The ladder's rows for a connection: its segments and, at their time, the segments
/// the lab's link dropped.
pub fn ladder(c: &Connection, all: bool) -> Vec<Rung<'_>> {
    let mut rows = Vec::with_capacity(c.segments.len() + c.link_drops.len());
    let mut drops = c.link_drops.iter().peekable();
    for s in &c.segments {
        while let Some(d) = drops.next_if(|d| d.ts_us <= s.ts_us) {
            rows.push(Rung::Dropped(d));
        }
        rows.push(Rung::Arrow(s));
    }
    rows.extend(drops.map(Rung::Dropped));
    let (head, n, tail) = cut(&rows, all);
    if n == 0 {
        return rows;
    }
    let middle = &rows[head.len()..head.len() + n];
    let drops = middle
        .iter()
        .filter(|r| matches!(r, Rung::Dropped(_)))
        .count();
    let mut out = head.to_vec();
    out.push(Rung::Elided {
        segments: n - drops,
        drops,
    });
    out.extend_from_slice(tail);
    out
}

/// "... 120 segments (--verbose draws them all) ...", with the drops among them.
pub fn elided_words(segments: usize, drops: usize) -> String {
    let lost = match drops {
        0 => String::new(),
        1 => " and 1 drop".to_string(),
        n => format!(" and {n} drops"),
    };
    format!("{segments} segments{lost} (--verbose draws them all)")
}

/// The label of a dropped segment's arrow: "seq 8689 len 1448 dropped by the link".
pub fn dropped_label(d: &crate::model::LinkEvent) -> String {
    match d.rel_seq {
        Some(r) => format!("seq {r} len {} dropped by the link", d.len),
        None => format!("len {} dropped by the link", d.len),
    }
}

/// A long table cut as the ladder is: its first [`LADDER_HEAD`] and last [`LADDER_TAIL`]
/// rows and the count between (every row when `all`, or when it is short).
pub fn cut<T>(rows: &[T], all: bool) -> (&[T], usize, &[T]) {
    if all || rows.len() <= LADDER_FULL {
        return (rows, 0, &[]);
    }
    (
        &rows[..LADDER_HEAD],
        rows.len() - LADDER_HEAD - LADDER_TAIL,
        &rows[rows.len() - LADDER_TAIL..],
    )
}

/// The label of a segment's arrow: "PSH,ACK seq 1 ack 48 len 47".
pub fn arrow_label(s: &Segment) -> String {
    let mut t = format!("{} seq {}", s.flags, s.rel_seq);
    if let Some(a) = s.rel_ack {
        t.push_str(&format!(" ack {a}"));
    }
    if s.len > 0 {
        t.push_str(&format!(" len {}", s.len));
    }
    t
}

/// A capture whose frames are out of time order, said once (the terminal and the HTML
/// say the same), so that no negative time goes unexplained.
pub fn time_order_sentence(s: &crate::model::Source) -> Option<String> {
    let n = s.frames_out_of_time_order;
    if n == 0 {
        return None;
    }
    let frames = if n == 1 { "1 frame is" } else { "frames are" };
    let count = if n == 1 {
        String::new()
    } else {
        format!(" ({} of them)", group(n))
    };
    Some(format!(
        "out of time order: {frames} earlier than a frame before them in the file{count}. \
         wirelab reads frames in file order, as tshark does, so times after such a frame, \
         durations and RTTs can be negative; `reordercap in.pcap out.pcap` sorts the file"
    ))
}

/// One direction's stream in words (the terminal and the HTML say the same): its bytes,
/// complete or why not, and why the bytes on the wire differ from those reassembled.
pub fn stream_sentence(name: &str, s: &crate::model::Stream) -> String {
    let gaps: u64 = s.gaps.iter().map(|g| g.len).sum();
    let mut text = format!("{name}: {} bytes, ", group(s.bytes));
    if s.complete {
        text.push_str("complete");
    } else {
        let why: Vec<&str> = s.incomplete.iter().map(|i| i.words()).collect();
        text.push_str(&format!("incomplete: {}", why.join("; ")));
    }
    if gaps > 0 {
        text.push_str(&format!(
            "; {} bytes missing in {} gap{}",
            group(gaps),
            s.gaps.len(),
            if s.gaps.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(wire) = s.wire_bytes {
        let cut = s.cut_bytes;
        let again = wire.saturating_sub(s.bytes + cut);
        let mut parts = Vec::new();
        if again > 0 {
            parts.push(format!(
                "{} arrived more than once (retransmissions, overlaps) and count once",
                group(again)
            ));
        }
        if cut > 0 {
            parts.push(format!("{} were cut by the snapshot length", group(cut)));
        }
        if wire < s.bytes + cut {
            parts
                .push("some were before the capture's start of the stream or after its end".into());
        }
        if !parts.is_empty() {
            text.push_str(&format!(
                "; {} bytes on the wire: {}",
                group(wire),
                parts.join(", ")
            ));
        }
    }
    text
}

/// The frames that are not TCP by kind, for the summary: " (UDP/DNS 4, ARP 2)".
pub fn kinds_words(kinds: &[(String, u64)]) -> String {
    if kinds.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = kinds
        .iter()
        .map(|(k, n)| format!("{k} {}", group(*n)))
        .collect();
    format!(" ({})", parts.join(", "))
}

/// How a connection ended, in words (the terminal and the HTML say the same).
pub fn how_it_ended(c: &Connection) -> String {
    match (c.close, c.closed_by) {
        (Close::Fin, Some(by)) => format!("closed by the {by} (FIN)"),
        (Close::Rst, Some(by)) => format!("reset by the {by} (RST)"),
        (Close::Fin | Close::Rst, None) | (Close::Open, _) => {
            "still open when the capture ended".into()
        }
        (Close::Timeout, _) => "idle until it timed out".into(),
        (Close::Evicted, _) => "evicted from the connection table".into(),
    }
}

/// The report's bounds that were reached, one sentence each: what each bounds, its
/// value, the option that sets it, and what it cut.
pub fn limits_words(t: &Totals) -> Vec<String> {
    t.limits_reached
        .iter()
        .map(|l| {
            // What was cut, in the number's grammar: (one, many, what happened).
            let (one, many, done) = match l.limit {
                "segment_rows" => (
                    "segment row",
                    "segment rows",
                    "not listed (--connection N shows one connection's)",
                ),
                "listed_connections" => ("connection", "connections", "counted in the totals only"),
                "listed_exchanges" | "exchanges_per_connection" => {
                    ("HTTP exchange", "HTTP exchanges", "counted but not listed")
                }
                "connections" => (
                    "connection",
                    "connections",
                    "evicted from the table while open",
                ),
                "pending_total" if l.cut == 1 => (
                    "hole",
                    "holes",
                    "given up as a gap (its stream is incomplete)",
                ),
                "pending_total" => (
                    "hole",
                    "holes",
                    "given up as gaps (the streams with them are incomplete)",
                ),
                "kept_body_bytes" => ("body", "bodies", "left out of the HAR content"),
                "fragmented_datagrams" => (
                    "fragmented datagram",
                    "fragmented datagrams",
                    "never completed",
                ),
                "awaiting_requests" => ("request", "requests", "given up waiting for a response"),
                "frames_per_message" => (
                    "frame",
                    "frames",
                    "not listed (each message's frame_count has them)",
                ),
                "websocket_frames" => (
                    "WebSocket frame",
                    "WebSocket frames",
                    "counted but not listed",
                ),
                "dns_lookups" => ("DNS lookup", "DNS lookups", "counted but not listed"),
                _ => ("item", "items", "cut"),
            };
            let cut = format!("{} {done}", if l.cut == 1 { one } else { many });
            let value = if l.what.contains("bytes") && l.value >= 1 << 20 {
                format!("{} MiB", l.value >> 20)
            } else {
                group(l.value)
            };
            let option = l.option.map(|o| format!(", {o}")).unwrap_or_default();
            format!(
                "bound reached: {} ({value}{option}): {} {cut}",
                l.what,
                group(l.cut)
            )
        })
        .collect()
}

/// The findings' names, joined by `sep`.
pub fn findings(f: &[Finding], sep: &str) -> String {
    f.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(sep)
}

/// Segments of the server's side that carried data.
pub fn data_segments(c: &Connection, dir: Dir) -> usize {
    c.segments
        .iter()
        .filter(|s| s.dir == dir && s.len > 0)
        .count()
}

/// "well known: http, HTTP, the web", or "not a well-known port".
pub fn port_role(port: u16) -> String {
    crate::ports::entry(port)
        .map(|(name, what)| format!("well known: {name}, {what}"))
        .unwrap_or_else(|| "not a well-known port".into())
}

/// Routers a datagram crossed, from the TTL it arrived with: systems start at 64
/// (Linux, macOS), 128 (Windows) or 255, and every router lowers it by one (RFC 791
/// §3.2), so the nearest of those above it tells.
pub fn hops(ttl: u8) -> (u8, u8) {
    let initial = [32u8, 64, 128, 255]
        .into_iter()
        .find(|i| *i >= ttl)
        .unwrap_or(255);
    (initial, initial - ttl)
}

/// "; the server's arrived with 63: sent with 64, so 1 router on the way", when a side's
/// TTL shows routers between it and the capture.
pub fn hops_sentence(ttl: [Option<u8>; 2]) -> String {
    let mut parts = Vec::new();
    for (side, t) in ["client", "server"].iter().zip(ttl) {
        if let Some(t) = t
            && let (initial, n @ 1..) = hops(t)
        {
            parts.push(format!(
                "the {side}'s arrived with {t}: sent with {initial} most likely, so {} on the way",
                plural(n as u64, "router")
            ));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

/// "server MAC" or, when routers lie between the server and the capture, "router MAC":
/// a frame's MAC is its last hop's.
pub fn mac_label(ttl: [Option<u8>; 2], side: usize) -> &'static str {
    let routed = ttl[side].is_some_and(|t| hops(t).1 > 0);
    match (side, routed) {
        (_, true) => "router MAC",
        (0, false) => "client MAC",
        _ => "server MAC",
    }
}

/// Why a side's MAC is a router's, when it is.
pub fn mac_note(ttl: [Option<u8>; 2]) -> &'static str {
    if ttl.iter().flatten().any(|t| hops(*t).1 > 0) {
        " (a frame carries the MAC of its last hop: across a router, the router's)"
    } else {
        ""
    }
}

/// A value, or "-" when there is none.
pub fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// The sentence under the recv table.
pub fn recv_sentence(c: &Connection) -> Option<String> {
    let calls = c.recv.as_ref()?;
    let total: u64 = calls.iter().map(|r| r.bytes).sum();
    let data = calls.iter().filter(|r| r.bytes > 0).count();
    Some(format!(
        "{} returned the {} bytes that {} carried: TCP delivers a stream, not messages.",
        plural(data as u64, "recv() call"),
        group(total),
        plural(data_segments(c, Dir::S2C) as u64, "segment")
    ))
}

/// "frame 9" or "frames 9 and 11" or "frames 9, 10 and 11".
fn frames_words(frames: &[u64]) -> String {
    match frames {
        [] => "no frame of the capture".into(),
        [f] => format!("frame {f}"),
        [rest @ .., last] => format!(
            "frames {} and {last}",
            rest.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The frame whose bytes hold stream offset `at` of the server's stream.
fn frame_at(c: &Connection, at: u64) -> Option<u64> {
    c.streams
        .s2c
        .chunks
        .as_deref()?
        .iter()
        .find(|ch| ch[0] <= at && at < ch[0] + ch[1])
        .map(|ch| ch[2])
}

/// What the recv calls show, in the course's words: a call that returned less than it
/// asked, the call and frame where the blank line ending the headers fell, the 0 that
/// ended the loop, and, for Python's library, that it asked for more than the program.
pub fn recv_story(c: &Connection) -> Vec<String> {
    let Some(calls) = c.recv.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(r) = calls
        .iter()
        .find(|r| r.bytes > 0 && r.asked.is_some_and(|a| r.bytes < a))
    {
        out.push(format!(
            "Your {} {} returned {} bytes, less than it asked for: stream bytes {}..{}, which \
arrived in {}. recv returns what has arrived, never waiting to fill the buffer.",
            ordinal(r.call),
            call_name(r),
            r.bytes,
            r.stream_offset,
            r.stream_offset + r.bytes,
            frames_words(&r.frames)
        ));
    }
    // On a TLS socket the calls read records: the HTTP's offsets are the plaintext's.
    if let Some(reads) = c.records.iter().find_map(|r| r.reads_sentence(calls)) {
        out.push(reads);
    } else if let Some(resp) = c.http().first().and_then(|x| x.response.as_ref()) {
        let at = resp.head_offset + resp.header_len;
        if let Some(r) = calls
            .iter()
            .find(|r| r.stream_offset <= at && at < r.stream_offset + r.bytes)
        {
            out.push(format!(
                "The blank line that ends the headers (\\r\\n\\r\\n at stream byte {at}, where \
find(b\"\\r\\n\\r\\n\") finds it) came back in your {} {}{}.",
                ordinal(r.call),
                call_name(r),
                frame_at(c, at)
                    .map(|f| format!(", inside frame {f}"))
                    .unwrap_or_default()
            ));
        }
    }
    let python = c
        .process
        .as_ref()
        .is_some_and(|p| p.name.starts_with("python"));
    if let Some(r) = calls.iter().find(|r| r.bytes == 0) {
        let fin = crate::report::recv::server_fin(c)
            .map(|f| format!(" after the server's FIN in frame {f}"))
            .unwrap_or_default();
        // The course's loop is Python's (and wirelab's own client plays it); telnet or
        // curl have loops of their own.
        let course = python || c.process.as_ref().is_some_and(|p| p.name == "wirelab");
        let ending = if course {
            "That is how the course's loop ends (`if len(data) < 1: break`)."
        } else {
            "That is how the program learns that the server closed."
        };
        out.push(format!(
            "{} returned 0{fin}: the end of the stream. {ending}",
            call_name(r)
        ));
    }
    if python && calls.iter().any(|r| r.asked == Some(8192)) {
        out.push(
            "These calls asked for 8192 bytes: they are Python's http.client (urllib) \
reading for your program in 8192-byte pieces, so the library asked the kernel for more than your \
code asked the library for."
                .to_string(),
        );
    }
    out
}

/// The send calls in one sentence: "send(47) sent 47 bytes, which left in frame 8".
pub fn send_story(c: &Connection) -> Option<String> {
    let calls = c.send.as_ref()?;
    let parts: Vec<String> = calls
        .iter()
        .take(5)
        .map(|r| {
            format!(
                "{} sent {} bytes (stream bytes {}..{}), which left in {}",
                call_name(r),
                r.bytes,
                r.stream_offset,
                r.stream_offset + r.bytes,
                frames_words(&r.frames)
            )
        })
        .collect();
    Some(format!(
        "Sends: {}{}.",
        parts.join("; "),
        if calls.len() > 5 {
            format!("; and {} more", calls.len() - 5)
        } else {
            String::new()
        }
    ))
}

/// Why a report has no connection, in the course's words: the names the program
/// asked for and what it got, or the addresses it tried.
pub fn no_connection_sentence(report: &crate::model::Report) -> Option<String> {
    if report.totals.connections > 0 {
        return None;
    }
    let failed: Vec<String> = report
        .dns()
        .iter()
        .filter(|l| l.rcode.as_deref() != Some("NOERROR") || l.answers.is_empty())
        .map(|l| format!("{} ({})", l.name, l.rcode.as_deref().unwrap_or("no answer")))
        .collect();
    let ended_well = report.lab.as_ref().is_some_and(|l| l.exit_code == Some(0));
    Some(if report.dns().is_empty() && ended_well {
        "No TCP connection was made, and no name was looked up: the program did not use \
the network."
            .to_string()
    } else if report.dns().is_empty() {
        "No TCP connection was made, and no name was looked up: the program did not reach \
the network (see its own error above)."
            .to_string()
    } else if failed.is_empty() {
        "No TCP connection was made, though the names were found: the program stopped \
before connecting."
            .to_string()
    } else {
        format!(
            "No TCP connection was made: the program asked DNS for {} and got no address, \
so it never connected. Check the spelling of the name.",
            failed.join(", ")
        )
    })
}

/// Why a connection never opened, when its SYN got no SYN-ACK: refused (RST) or no
/// answer at all.
pub fn unanswered_syn_sentence(c: &Connection) -> Option<String> {
    let h = c.handshake.as_ref()?;
    if h.syn_frame.is_none() || h.synack_frame.is_some() {
        return None;
    }
    let syns: Vec<String> = c
        .segments
        .iter()
        .filter(|s| s.dir == Dir::C2S && s.flags.contains("SYN"))
        .map(|s| s.frame.to_string())
        .collect();
    let target = format!("{} port {}", c.server.ip, c.server.port);
    Some(
        if c.close == Close::Rst && c.closed_by == Some(Side::Server) {
            format!(
                "The connection was refused: {target} answered the SYN with RST, so nothing listens \
on that port there (the program sees \"Connection refused\")."
            )
        } else if syns.len() > 1 {
            // The client sent its SYN again: no answer came in time (RFC 6298 §5).
            format!(
                "The SYN got no answer ({} in frames {}): nothing at {target} answered, so no \
connection was made (the program sees a time-out, or \"No route to host\").",
                plural(syns.len() as u64, "SYN"),
                syns.join(", ")
            )
        } else {
            format!(
                "No answer to the SYN (frame {}) is in the capture: nothing at {target} answered, \
or the capture ended before the answer came.",
                syns.join(", ")
            )
        },
    )
}

/// A command line as a shell would take it back: arguments with spaces or quotes in
/// single quotes, line breaks as \n.
pub fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
            let shown = a.replace('\n', "\\n");
            if plain {
                shown
            } else {
                format!("'{}'", shown.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the trace cost the program, when it is enough to feel: its stops times the
/// cost of one measured at the start, half a second or more.
pub fn trace_cost_sentence(t: &crate::model::TraceInfo) -> Option<String> {
    let cost = t.cost_us_per_call?;
    let added_s = t.stops as f64 * cost / 1e6;
    (t.mechanism != "wirelab" && added_s >= 0.5).then(|| {
        format!(
            "The trace stopped the program {} times (each of its reads and writes, about \
{cost:.0} microseconds each): about {added_s:.1} s added to its run. If it felt slow (a browser does), \
run it again with --no-trace: the same packets, without the recv table.",
            group(t.stops)
        )
    })
}

/// How the program's calls were recorded, and what that cost.
pub fn trace_sentence(t: &crate::model::TraceInfo) -> String {
    if let Some(why) = &t.not_read {
        return format!("{why}.");
    }
    let who: Vec<String> = t
        .processes
        .iter()
        .take(4)
        .map(|p| format!("{} (pid {})", p.name, p.pid))
        .collect();
    let how = if t.mechanism == "wirelab" {
        "wirelab's own client recorded its calls".to_string()
    } else {
        format!(
            "{} ran traced (ptrace, stopped by a seccomp filter only at calls that can move \
bytes)",
            who.join(", ")
        )
    };
    let cost = t
        .cost_us_per_call
        .map(|c| {
            format!(
                "; a traced call took about {c:.0} µs longer (measured on this machine at the \
start), which can change the timing a little"
            )
        })
        .unwrap_or_default();
    let disputed = if t.calls_disputed > 0 {
        format!(
            " The packets contradict {} of the trace (listed below): the connections they \
name show no calls, and nothing the trace says is counted as a fact of the packets.",
            plural(t.calls_disputed, "call")
        )
    } else {
        String::new()
    };
    let said = format!(
        "{how}: {} on TCP sockets{}{cost}.{disputed}",
        plural(t.calls, "call"),
        if t.calls_unmatched > 0 {
            format!(
                " ({} on connections the capture does not hold)",
                group(t.calls_unmatched)
            )
        } else {
            String::new()
        }
    );
    match trace_cost_sentence(t) {
        Some(c) => format!("{said} {c}"),
        None => said,
    }
}

/// One disputed call of a trace, in a line.
pub fn dispute_line(d: &crate::model::TraceDispute) -> String {
    format!(
        "connection {}, {} #{}: {}",
        d.connection, d.way, d.call, d.why
    )
}

/// The program the lab ran: its command line, quoted as typed, or wirelab's own client.
pub fn program_words(lab: &crate::model::LabInfo) -> String {
    if lab.ran_builtin_client() {
        "wirelab's own course client".into()
    } else {
        format!("`{}`", command_line(&lab.command))
    }
}

/// `--capture both` in words: what each end sent against what reached the other, the
/// segments that never arrived, the one-way times, and where the server's side is.
pub fn both_ends_sentence(b: &crate::model::BothEnds) -> String {
    let mut text = format!(
        "Seen at both ends (--capture both): the server sent {} and {} reached the \
program",
        plural(b.server_sent, "data segment"),
        group(b.server_arrived),
    );
    let never: Vec<&crate::model::LinkEvent> = b.never_arrived.iter().collect();
    if !never.is_empty() {
        let seqs: Vec<String> = never
            .iter()
            .take(3)
            .map(|e| e.rel_seq.map_or("?".into(), |r| r.to_string()))
            .collect();
        let more = match never.len() {
            n if n > 3 => format!(" and {} more", n - 3),
            _ => String::new(),
        };
        let resent = if never.iter().all(|e| e.frame.is_some()) {
            ", each sent again later"
        } else {
            ""
        };
        text.push_str(&format!(
            "; {} never arrived (seq {}{more}){resent}",
            plural(never.len() as u64, "segment"),
            seqs.join(", ")
        ));
    }
    text.push_str(&format!(
        ". The program sent {} and {} reached the server.",
        plural(b.client_sent, "data segment"),
        group(b.client_arrived)
    ));
    if let Some([least, _, most]) = b.one_way_ms
        && format!("{least:.1}") == format!("{most:.1}")
    {
        text.push_str(&format!(
            " One way, the server's segments took {least:.1} ms (the link's delay)."
        ));
    } else if let Some([least, mid, most]) = b.one_way_ms {
        text.push_str(&format!(
            " One way, the server's segments took {least:.1} ms at least, {mid:.1} ms in the \
middle and {most:.1} ms at most (the link's delay, and the wait in its queue)."
        ));
    }
    if let Some(p) = &b.saved {
        text.push_str(&format!(" The server's side is saved in {p}."));
    }
    text
}

/// The lab's network in one sentence.
pub fn lab_sentence(lab: &crate::model::LabInfo) -> String {
    let status = match (lab.exit_code, lab.signal) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("ended by signal {s}"),
        (None, None) if lab.ran_builtin_client() => "done".into(),
        (None, None) => "still running".into(),
    };
    let path = match &lab.router {
        Some([a, b]) => {
            format!("one router away (it forwards between {a} and {b}, and lowers the TTL by one)")
        }
        None => "on the same link".into(),
    };
    let link = if lab.link.is_empty() {
        String::new()
    } else {
        format!("; link: {}", lab.link.join(", "))
    };
    format!(
        "{} ran as {} in its own network namespace at {}, with the course server {} at {} \
{path}; MTU {}{link}; {status}.",
        program_words(lab),
        lab.user,
        lab.client_ip,
        lab.names.first().map(String::as_str).unwrap_or("-"),
        lab.server_ip,
        lab.mtu
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bound reached says what it cut in the number's grammar: "1 request", "17
    /// segment rows", "2 bodies".
    #[test]
    fn bounds_reached_are_said_in_the_singular_and_plural() {
        let reached = |limit: &'static str, cut: u64| crate::model::LimitReached {
            limit,
            value: 5,
            what: "things bounded",
            option: None,
            cut,
        };
        let t = Totals {
            limits_reached: vec![
                reached("awaiting_requests", 1),
                reached("segment_rows", 17),
                reached("kept_body_bytes", 2),
                reached("kept_body_bytes", 1),
                reached("listed_connections", 1),
            ],
            ..Totals::default()
        };
        let expected = [
            ": 1 request given up waiting for a response",
            ": 17 segment rows not listed (--connection N shows one connection's)",
            ": 2 bodies left out of the HAR content",
            ": 1 body left out of the HAR content",
            ": 1 connection counted in the totals only",
        ];
        for (said, end) in limits_words(&t).iter().zip(expected) {
            assert!(said.ends_with(end), "{said}");
        }
    }

    #[test]
    fn ttls_tell_the_routers_on_the_way() {
        assert_eq!(hops(64), (64, 0));
        assert_eq!(hops(63), (64, 1));
        assert_eq!(hops(116), (128, 12));
        assert_eq!(hops(250), (255, 5));
        assert_eq!(hops_sentence([Some(64), Some(64)]), "");
        assert!(hops_sentence([Some(64), Some(63)]).contains("so 1 router on the way"));
        assert_eq!(mac_label([Some(64), Some(63)], 1), "router MAC");
        assert_eq!(mac_label([Some(64), Some(64)], 1), "server MAC");
    }

    #[test]
    fn command_lines_read_as_typed() {
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            command_line(&argv(&["python3", "socket1.py"])),
            "python3 socket1.py"
        );
        assert_eq!(
            command_line(&argv(&["python3", "-c", "import a\nprint('x')"])),
            "python3 -c 'import a\\nprint('\\''x'\\'')'"
        );
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(230241), "230,241");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
    }

    #[test]
    fn layers_parse_and_reject() {
        let l = Layers::parse("http, TCP").unwrap();
        assert!(l.http && l.tcp && !l.ip && !l.link);
        assert_eq!(Layers::parse("http,udp"), Err(UnknownLayer("udp".into())));
    }
}
