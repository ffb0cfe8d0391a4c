//! HTTP's records in the report model: a listed connection's exchanges (RFC 9112: each
//! request with its response), those counted but not listed, why a direction is not
//! HTTP, and the protocol the connection switched to (JSON fields `http`,
//! `http_omitted` and `not_http` after the connection's `streams`, and `upgrade` last);
//! and its counts over the whole capture, in the report's totals.

use crate::model::{self, Connection, Dir, Place, is_zero};
use serde::Serialize;

/// What HTTP found on one listed connection. The builder writes one on every listed
/// connection (empty when the bytes were not HTTP).
#[derive(Debug, Clone, Default)]
pub struct HttpRecord {
    pub exchanges: Vec<HttpExchange>,
    /// Exchanges of this connection counted but not listed (beyond 1,000 per
    /// connection, or beyond the report's budget).
    pub omitted: u64,
    /// Why a direction is not HTTP, if one was tried and is not.
    pub not_http: Option<String>,
    /// What the connection carried after HTTP handed it over (101, CONNECT 2xx).
    pub upgrade: Option<Upgrade>,
}

impl model::Record for HttpRecord {
    fn fields(
        &self,
        place: Place,
        field: &mut dyn FnMut(&'static str, &dyn erased_serde::Serialize),
    ) {
        match place {
            Place::AfterStreams => {
                field("http", &self.exchanges);
                field("http_omitted", &self.omitted);
                field("not_http", &self.not_http);
            }
            Place::Last => {
                if let Some(u) = &self.upgrade {
                    field("upgrade", u);
                }
            }
            _ => {}
        }
    }

    fn hashes_mut(&mut self) -> Vec<&mut String> {
        self.exchanges
            .iter_mut()
            .filter_map(|x| x.response.as_mut())
            .map(|r| &mut r.body_sha256)
            .collect()
    }

    fn clone_record(&self) -> Box<dyn model::Record> {
        Box::new(self.clone())
    }
}

/// HTTP's record read from a connection of the model.
pub trait ConnectionHttp {
    /// The exchanges listed (none when HTTP wrote no record).
    fn http(&self) -> &[HttpExchange];
    /// Exchanges counted but not listed.
    fn http_omitted(&self) -> u64;
    /// Why a direction is not HTTP.
    fn not_http(&self) -> Option<&str>;
    /// What the connection carried after HTTP handed it over.
    fn upgrade(&self) -> Option<&Upgrade>;
}

impl ConnectionHttp for Connection {
    fn http(&self) -> &[HttpExchange] {
        self.record::<HttpRecord>().map_or(&[], |r| &r.exchanges)
    }
    fn http_omitted(&self) -> u64 {
        self.record::<HttpRecord>().map_or(0, |r| r.omitted)
    }
    fn not_http(&self) -> Option<&str> {
        self.record::<HttpRecord>()?.not_http.as_deref()
    }
    fn upgrade(&self) -> Option<&Upgrade> {
        self.record::<HttpRecord>()?.upgrade.as_ref()
    }
}

/// HTTP's counts over the whole capture, in the report's totals: `http_exchanges`
/// after `connections`, `http_omitted` and `http_status` after `late_packets`.
#[derive(Debug, Clone, Default)]
pub struct HttpTotals {
    /// Exchanges over every connection, listed or not.
    pub exchanges: u64,
    /// Exchanges counted but not listed.
    pub omitted: u64,
    /// Responses by status code.
    pub status: Vec<(u16, u64)>,
}

impl model::Record for HttpTotals {
    fn fields(
        &self,
        place: Place,
        field: &mut dyn FnMut(&'static str, &dyn erased_serde::Serialize),
    ) {
        match place {
            Place::InTotalsAfterConnections => field("http_exchanges", &self.exchanges),
            Place::InTotalsAfterLatePackets => {
                field("http_omitted", &self.omitted);
                field("http_status", &self.status);
            }
            _ => {}
        }
    }

    fn clone_record(&self) -> Box<dyn model::Record> {
        Box::new(self.clone())
    }
}

/// HTTP's counts read from a report.
pub trait ReportHttp {
    /// The counts (zero when HTTP wrote none).
    fn http_totals(&self) -> HttpTotals;
}

impl ReportHttp for model::Report {
    fn http_totals(&self) -> HttpTotals {
        self.record::<HttpTotals>().cloned().unwrap_or_default()
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Request {
    /// Frame that carried the request line.
    pub frame: u64,
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    /// The target's query string split into its parameters, percent-decoded, in order
    /// (as a browser's developer console shows them).
    pub query: Vec<(String, String)>,
    pub header_len: u64,
    /// Bytes of the head with its blank line (`header_len` + 4, or + 2 for a bare-LF
    /// head; for a head that never ended, the bytes that arrived).
    #[serde(skip)]
    pub head_len: u64,
    pub lint: Vec<String>,
    pub body_len: u64,
    /// The request body's first bytes, when kept for HAR (`--format har`).
    #[serde(skip)]
    pub body: Option<Vec<u8>>,
    /// Frame that carried the last byte of the request.
    pub last_frame: u64,
}

/// The bytes of a head with its blank line: `head_len` when the parser said it, else
/// `header_len` and the four bytes of `\r\n\r\n`.
fn head_bytes(header_len: u64, head_len: u64) -> u64 {
    if head_len > 0 {
        head_len
    } else {
        header_len + 4
    }
}

impl Request {
    /// The head's bytes with its blank line (see [`Request::head_len`]).
    pub fn head_bytes(&self) -> u64 {
        head_bytes(self.header_len, self.head_len)
    }

    /// The request line as its parts read, one space between them; a malformed line
    /// may lack its target or version, which are then left out.
    pub fn line(&self) -> String {
        [&self.method, &self.target, &self.version]
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Response {
    /// The head's bytes with its blank line: where the body starts.
    pub fn head_bytes(&self) -> u64 {
        head_bytes(self.header_len, self.head_len)
    }

    /// The status line as received ("HTTP/1.0 200 OK"); for an HTTP/0.9 simple
    /// response, which has none, what stands in its place.
    pub fn status_line(&self) -> String {
        if self.version == "HTTP/0.9" {
            format!("HTTP/0.9 {}", self.reason)
        } else {
            format!("{} {} {}", self.version, self.status, self.reason)
        }
    }

    /// What the server answered, for a sentence: "400 Bad Request".
    pub fn answer(&self) -> String {
        if self.version == "HTTP/0.9" {
            "with the body alone (HTTP/0.9, no status line)".into()
        } else {
            format!("{} {}", self.status, self.reason)
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Response {
    /// Frame that carried the status line.
    pub frame: u64,
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub header_len: u64,
    /// Bytes of the head with its blank line: the body starts here.
    #[serde(skip)]
    pub head_len: u64,
    pub content_type: Option<String>,
    /// Content-Length as announced, if it was.
    pub content_length: Option<String>,
    /// Body bytes received, after removing chunked coding (before content coding).
    pub body_len: u64,
    pub body_sha256: String,
    pub complete: bool,
    /// Frames that carried the response, in order (at most 10,000 listed).
    pub frames: Vec<u64>,
    pub frame_count: u64,
    pub last_frame: u64,
    pub lint: Vec<String>,
    /// The first bytes of the body, as text when they are text.
    pub body_preview: Option<String>,
    /// The body's first bytes as sent (coded), when kept for HAR (`--format har`).
    #[serde(skip)]
    pub body: Option<Vec<u8>>,
    /// The body's type told by its first bytes (a MIME type such as "image/jpeg"), when
    /// they say it.
    pub body_type: Option<String>,
    /// With `--extract DIR`: the file (in DIR) that holds the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted: Option<String>,
    /// Stream offset of the status line.
    #[serde(skip)]
    pub head_offset: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct HttpExchange {
    /// Null when the capture holds the response only.
    pub request: Option<Request>,
    pub response: Option<Response>,
    /// Request's first frame to the response's first frame.
    pub response_time_us: Option<i64>,
}

/// The protocol a connection switched to (RFC 9110 §15.2.2, §9.3.6) and its bytes.
#[derive(Serialize, Debug, Clone)]
pub struct Upgrade {
    /// "websocket", "h2c", ... or "tunnel" after CONNECT.
    pub protocol: String,
    /// The CONNECT target, for a tunnel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Frame of the response that switched (null when the capture lacks it).
    pub frame: Option<u64>,
    pub c2s: UpgradedSide,
    pub s2c: UpgradedSide,
    /// WebSocket frames (RFC 6455 §5.2), both directions in stream order of decoding.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub websocket: Vec<WsFrame>,
    #[serde(skip_serializing_if = "is_zero")]
    pub websocket_omitted: u64,
    /// Exchanges found inside a CONNECT tunnel in clear: the last ones of `http`.
    #[serde(skip_serializing_if = "is_zero")]
    pub http_inside: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct UpgradedSide {
    /// Stream offset of the first byte after the switch (null: none sent).
    pub offset: Option<u64>,
    pub bytes: u64,
    pub gap_bytes: u64,
    pub websocket_frames: u64,
    /// Why WebSocket frames could not be followed past some point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct WsFrame {
    pub frame: u64,
    pub dir: Dir,
    pub offset: u64,
    pub opcode: String,
    pub fin: bool,
    pub masked: bool,
    pub len: u64,
}
