//! Every bound of a report, in one value. Each one keeps memory or the report's size
//! bounded whatever the capture holds; what a bound cut is counted in the report, and
//! a bound that was reached is named in `totals.limits_reached` and in words. A leaf:
//! the code each bound bounds reads it here (its default when it is given no `Limits`).

/// HTTP exchanges listed in a report per connection it lists: `--list N` lists
/// `20 × N` exchanges.
pub const EXCHANGES_PER_LISTED_CONNECTION: usize = 20;
/// HTTP exchanges of one connection listed in full; later ones are counted once
/// complete (a keep-alive connection of a million requests stays bounded).
pub const EXCHANGES_PER_CONNECTION: usize = 1_000;
/// Largest message head accepted (request or status line and header fields).
pub const HEAD_BYTES: usize = 64 * 1024;
/// Header fields of one HTTP message head; a head with more is not HTTP.
pub const HEADER_FIELDS: usize = 512;
/// Frames listed per HTTP message (its `frames`; `frame_count` counts them all).
pub const FRAMES_PER_MESSAGE: usize = 10_000;
/// HTTP requests of one connection waiting for their response at once; beyond, the
/// oldest is given up and counted.
pub const AWAITING_REQUESTS: usize = 10_000;
/// WebSocket frames listed per connection; later ones are counted.
pub const WEBSOCKET_FRAMES: usize = 200;
/// DNS lookups listed in a report.
pub const DNS_LOOKUPS: usize = 10_000;
/// IPv4 datagrams reassembled at once; beyond, the oldest is given up.
pub const FRAGMENTED_DATAGRAMS: usize = 256;
/// Calls of a program's trace kept; later ones are counted.
pub const TRACE_CALLS: usize = 200_000;

/// The bounds of one report. `Limits::default()` is the one place they are set;
/// `wirelab report --help` shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Connections tracked at once; the idlest are evicted beyond this.
    pub connections: usize,
    /// Out-of-order bytes held per direction before a gap is forced.
    pub pending_per_direction: usize,
    /// Out-of-order bytes held across all connections; beyond, the hole whose waiting
    /// data came first is given up as a gap, until 90% of the bound is left. It is half
    /// of the 100 MB a report may take: the held segments cost about 4% more than their
    /// bytes, and the rest of a full report (segment rows, the listed connections, the
    /// hashing queue) takes about 25 MB on its own.
    pub pending_total: usize,
    /// Segment rows kept in the whole report (`--segments`).
    pub segment_rows: usize,
    /// Connections listed in full (`--list`); later ones are summed into the totals.
    pub listed_connections: usize,
    /// HTTP exchanges listed in the whole report.
    pub listed_exchanges: usize,
    /// HTTP exchanges listed per connection.
    pub exchanges_per_connection: usize,
    /// Bytes of an HTTP message head (request or status line and header fields).
    pub head_bytes: usize,
    /// Header fields of an HTTP message head; a head with more is not HTTP.
    pub header_fields: usize,
    /// Frames listed per HTTP message.
    pub frames_per_message: usize,
    /// HTTP requests of one connection awaiting their response at once.
    pub awaiting_requests: usize,
    /// WebSocket frames listed per connection.
    pub websocket_frames: usize,
    /// Provenance pieces (which frame gave which bytes) kept per stream.
    pub chunks_per_stream: usize,
    /// Gap rows listed per stream.
    pub gaps_per_stream: usize,
    /// Body bytes kept in a whole report for HAR's content.
    pub kept_body_bytes: usize,
    /// Ended 4-tuples remembered for TIME_WAIT (late packets, reuse).
    pub ended_tuples: usize,
    /// Ended connections held for late ACKs during their 2 s linger; past it, the first
    /// to end are reported at once (nothing is cut).
    pub lingering_connections: usize,
    /// DNS lookups listed.
    pub dns_lookups: usize,
    /// IPv4 datagrams waiting for their fragments at once.
    pub fragmented_datagrams: usize,
    /// Bytes of a program's trace read from a file's section comments (its JSON);
    /// a larger one is not read, and the report says so.
    pub trace_bytes: usize,
    /// Calls of a trace kept (live or read from a file); later ones are counted.
    pub trace_calls: usize,
    /// Depth of nested JSON arrays and objects in a trace read from a file (a real
    /// one has 3).
    pub trace_nesting: usize,
    /// A trace's calls the packets contradict, listed (all are counted).
    pub disputed_calls: usize,
    /// Bytes of frames a live capture's analysis may fall behind; beyond, frames are
    /// saved but not analysed (and counted: the source's `live_unanalysed`).
    pub analysis_backlog: usize,
    /// Kinds of frames that are not TCP (and reasons a frame was not decoded) counted
    /// by name; the rest are counted as "other".
    pub frame_kinds: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 20_000,
            pending_per_direction: 4 << 20,
            pending_total: 48 << 20,
            segment_rows: 20_000,
            listed_connections: 1_000,
            listed_exchanges: 1_000 * EXCHANGES_PER_LISTED_CONNECTION,
            exchanges_per_connection: EXCHANGES_PER_CONNECTION,
            head_bytes: HEAD_BYTES,
            header_fields: HEADER_FIELDS,
            frames_per_message: FRAMES_PER_MESSAGE,
            awaiting_requests: AWAITING_REQUESTS,
            websocket_frames: WEBSOCKET_FRAMES,
            chunks_per_stream: 20_000,
            gaps_per_stream: 1_000,
            kept_body_bytes: 64 << 20,
            ended_tuples: 100_000,
            lingering_connections: 1024,
            dns_lookups: DNS_LOOKUPS,
            fragmented_datagrams: FRAGMENTED_DATAGRAMS,
            trace_bytes: 64 << 20,
            trace_calls: TRACE_CALLS,
            trace_nesting: 8,
            disputed_calls: 20,
            analysis_backlog: 256 << 20,
            frame_kinds: 20,
        }
    }
}

impl Limits {
    /// `--list N`: `n` connections listed in full, and [`EXCHANGES_PER_LISTED_CONNECTION`]
    /// times as many HTTP exchanges in the report.
    pub fn listing(self, n: usize) -> Limits {
        Limits {
            listed_connections: n,
            listed_exchanges: n.saturating_mul(EXCHANGES_PER_LISTED_CONNECTION),
            ..self
        }
    }

    /// Each bound as (name in `limits_reached`, value, what it bounds, the option that
    /// sets it, if any), for `--help` and the report.
    pub fn table(&self) -> Vec<(&'static str, usize, &'static str, Option<&'static str>)> {
        vec![
            (
                "connections",
                self.connections,
                "connections tracked at once (the idlest are evicted)",
                None,
            ),
            (
                "pending_per_direction",
                self.pending_per_direction,
                "out-of-order bytes held per direction",
                None,
            ),
            (
                "pending_total",
                self.pending_total,
                "out-of-order bytes held in all",
                None,
            ),
            (
                "segment_rows",
                self.segment_rows,
                "segment rows listed",
                Some("--segments"),
            ),
            (
                "listed_connections",
                self.listed_connections,
                "connections listed in full",
                Some("--list"),
            ),
            (
                "listed_exchanges",
                self.listed_exchanges,
                "HTTP exchanges listed",
                Some("20 × --list"),
            ),
            (
                "exchanges_per_connection",
                self.exchanges_per_connection,
                "HTTP exchanges listed per connection",
                None,
            ),
            (
                "head_bytes",
                self.head_bytes,
                "bytes of an HTTP message head",
                None,
            ),
            (
                "header_fields",
                self.header_fields,
                "header fields of an HTTP message head",
                None,
            ),
            (
                "frames_per_message",
                self.frames_per_message,
                "frames listed per HTTP message",
                None,
            ),
            (
                "awaiting_requests",
                self.awaiting_requests,
                "HTTP requests awaiting their response per connection",
                None,
            ),
            (
                "websocket_frames",
                self.websocket_frames,
                "WebSocket frames listed per connection",
                None,
            ),
            (
                "chunks_per_stream",
                self.chunks_per_stream,
                "provenance pieces kept per stream",
                None,
            ),
            (
                "gaps_per_stream",
                self.gaps_per_stream,
                "gap rows listed per stream",
                None,
            ),
            (
                "kept_body_bytes",
                self.kept_body_bytes,
                "body bytes kept for HAR",
                None,
            ),
            (
                "ended_tuples",
                self.ended_tuples,
                "ended 4-tuples remembered (TIME_WAIT)",
                None,
            ),
            (
                "lingering_connections",
                self.lingering_connections,
                "ended connections held for late ACKs (then reported at once)",
                None,
            ),
            ("dns_lookups", self.dns_lookups, "DNS lookups listed", None),
            (
                "fragmented_datagrams",
                self.fragmented_datagrams,
                "IPv4 datagrams awaiting fragments",
                None,
            ),
            (
                "trace_bytes",
                self.trace_bytes,
                "bytes of a program's trace read from a file",
                None,
            ),
            (
                "trace_calls",
                self.trace_calls,
                "calls of a program's trace kept",
                None,
            ),
            (
                "trace_nesting",
                self.trace_nesting,
                "nesting depth of a trace read from a file",
                None,
            ),
            (
                "disputed_calls",
                self.disputed_calls,
                "calls of a trace the packets contradict, listed",
                None,
            ),
            (
                "analysis_backlog",
                self.analysis_backlog,
                "bytes a live capture's analysis may fall behind (then saved only)",
                None,
            ),
            (
                "frame_kinds",
                self.frame_kinds,
                "kinds of frames not TCP counted by name",
                None,
            ),
        ]
    }

    /// The bounds in words, one per line, for `wirelab report --help`.
    pub fn help(&self) -> String {
        self.help_with(true)
    }

    /// The bounds one per line, as [`Limits::help`], naming the options that set them
    /// only when `options` (the commands other than `report` have none of them).
    pub fn help_with(&self, options: bool) -> String {
        self.table()
            .into_iter()
            .map(|(_, v, what, opt)| {
                let v = if v >= 1 << 20 && v % (1 << 20) == 0 {
                    format!("{} MiB", v >> 20)
                } else if v >= 1024 && v % 1024 == 0 && what.contains("bytes") {
                    format!("{} KiB", v >> 10)
                } else {
                    v.to_string()
                };
                match opt.filter(|_| options) {
                    Some(o) => format!("  {v:>8}  {what} ({o})"),
                    None => format!("  {v:>8}  {what}"),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
