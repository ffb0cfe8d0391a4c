//! HTTP/1.x above TCP (RFC 1945, RFC 9112): requests paired with responses, each
//! with its frames, headers, body length and hash, and a preview of its body.

use crate::extract::BodyPiece;
use crate::http::record::{self, HttpRecord};
use crate::http::{self, HttpConnection};
use crate::model;
use crate::protocol::{Budget, Describe, Setup, TcpProtocol, TcpTotals};
use crate::reassembly::StreamEvent;
use crate::socks::{Fed, Held, Prelude};

/// HTTP, possibly after a SOCKS handshake (the client's first byte tells).
pub struct HttpOnTcp(HttpConnection, Socks);

/// Whether a SOCKS handshake comes first.
enum Socks {
    /// No client byte yet.
    Undecided,
    Prelude(Box<Prelude>),
    No,
}

impl HttpOnTcp {
    pub fn new(setup: &Setup<'_>) -> Self {
        let mut http = HttpConnection::new();
        http.bounds(setup.limits);
        if setup.listed {
            http.hash_with(setup.digests, setup.id);
        } else {
            http.skip_hashes();
            if !setup.extract {
                // Only its counts reach the report (`--extract` names files by target).
                http.count_only();
            }
        }
        if setup.extract {
            http.keep_bodies();
        }
        if setup.listed && setup.keep_body_bytes > 0 {
            http.keep_body_bytes(setup.keep_body_bytes);
        }
        HttpOnTcp(http, Socks::Undecided)
    }

    /// Hands bytes the SOCKS prelude held back to HTTP, in order.
    fn replay(&mut self, back: Vec<Held>) {
        for (client, offset, bytes, frame) in back {
            let ev = StreamEvent::Data {
                offset,
                bytes: &bytes,
                frame,
            };
            self.0.event(client, &ev);
        }
    }
}

impl TcpProtocol for HttpOnTcp {
    fn event(&mut self, client: bool, ev: &StreamEvent<'_>) {
        if let Socks::Undecided = self.1 {
            self.1 = match ev {
                StreamEvent::Data {
                    offset: 0, bytes, ..
                } if client => Prelude::starting_with(bytes[0])
                    .map_or(Socks::No, |p| Socks::Prelude(Box::new(p))),
                StreamEvent::Data { .. } | StreamEvent::Gap { .. } => Socks::No,
                StreamEvent::Closed { .. } => Socks::Undecided,
            };
        }
        let Socks::Prelude(p) = &mut self.1 else {
            return self.0.event(client, ev);
        };
        if p.is_over() {
            return self.0.event(client, ev);
        }
        match *ev {
            StreamEvent::Data {
                offset,
                bytes,
                frame,
            } => match p.data(client, offset, bytes, frame) {
                Fed::Taken => {}
                Fed::Tunnel(at) => {
                    let rest = &bytes[(at - offset) as usize..];
                    if !rest.is_empty() {
                        let ev = StreamEvent::Data {
                            offset: at,
                            bytes: rest,
                            frame,
                        };
                        self.0.event(client, &ev);
                    }
                }
                Fed::NotSocks(back) => self.replay(back),
            },
            _ => {
                let back = p.give_up();
                self.replay(back);
                self.0.event(client, ev);
            }
        }
    }

    fn reading(&self) -> bool {
        !self.0.is_dead()
    }

    fn finish(&mut self) {
        if let Socks::Prelude(p) = &mut self.1 {
            let back = p.give_up();
            self.replay(back);
        }
        self.0.finish();
    }

    fn take_bodies(&mut self) -> Vec<BodyPiece> {
        self.0.take_bodies().collect()
    }

    fn count(&self, totals: &mut TcpTotals) {
        totals.exchanges += self.0.exchanges.len() as u64 + self.0.omitted;
        totals.omitted += self.0.omitted;
        let given_up = self.0.given_up;
        totals.cut("awaiting_requests", given_up);
        totals.cut("exchanges_per_connection", self.0.omitted - given_up);
        for x in &self.0.exchanges {
            if let Some(status) = x.response.as_ref().and_then(|r| r.head.status) {
                *totals.status.entry(status).or_default() += 1;
            }
        }
    }

    fn describe(self: Box<Self>, c: &mut model::Connection, how: &mut Describe<'_>) {
        let keep_bodies = how.keep_bodies;
        let ts_of = |frame: u64| {
            c.segments
                .iter()
                .find(|s| s.frame == frame)
                .map(|s| s.ts_us)
        };
        let http = self
            .0
            .exchanges
            .iter()
            .map(|x| {
                let request = x.request.as_ref().map(|m| record::Request {
                    frame: m.head.frame,
                    method: m.head.method.clone().unwrap_or_default(),
                    target: m.head.target.clone().unwrap_or_default(),
                    version: m.head.version.to_string(),
                    headers: m.head.headers.to_pairs(),
                    query: query_pairs(m.head.target.as_deref().unwrap_or_default()),
                    header_len: m.head.header_len,
                    head_len: m.head.head_len,
                    lint: m.head.lint.clone(),
                    body_len: m.end.as_ref().map(|e| e.body_len).unwrap_or(0),
                    body: m
                        .end
                        .as_ref()
                        .filter(|_| keep_bodies)
                        .map(|e| e.preview.clone()),
                    last_frame: m
                        .end
                        .as_ref()
                        .map(|e| e.last_frame)
                        .unwrap_or(m.head.head_frame),
                });
                let response = x.response.as_ref().map(|m| {
                    let end = m.end.clone().unwrap_or_default();
                    record::Response {
                        frame: m.head.frame,
                        version: m.head.version.to_string(),
                        status: m.head.status.unwrap_or(0),
                        reason: m.head.reason.clone().unwrap_or_default(),
                        headers: m.head.headers.to_pairs(),
                        header_len: m.head.header_len,
                        head_len: m.head.head_len,
                        content_type: m.head.header("content-type").map(str::to_string),
                        content_length: m.head.header("content-length").map(str::to_string),
                        body_len: end.body_len,
                        body_sha256: end.body_sha256.clone(),
                        complete: m.end.as_ref().is_some_and(|e| e.complete),
                        frames: if end.frames.is_empty() {
                            vec![m.head.frame]
                        } else {
                            end.frames.clone()
                        },
                        frame_count: end.frame_count.max(1),
                        last_frame: end.last_frame.max(m.head.head_frame),
                        lint: m.head.lint.iter().chain(end.lint.iter()).cloned().collect(),
                        body_preview: preview(&decoded(
                            &end.preview[..end.preview.len().min(http::message::PREVIEW)],
                            m.head.header("content-encoding"),
                        )),
                        body: keep_bodies.then(|| end.preview.clone()),
                        body_type: infer::get(&decoded(
                            &end.preview[..end.preview.len().min(http::message::PREVIEW)],
                            m.head.header("content-encoding"),
                        ))
                        .map(|t| t.mime_type().to_string()),
                        extracted: None,
                        head_offset: m.head.offset,
                    }
                });
                let response_time_us = match (&request, &response) {
                    (Some(q), Some(r)) => ts_of(q.frame).zip(ts_of(r.frame)).map(|(a, b)| b - a),
                    _ => None,
                };
                record::HttpExchange {
                    request,
                    response,
                    response_time_us,
                }
            })
            .collect();
        let not_http = match &self.0.not_http {
            [Some(a), _] => Some(format!("client: {a}")),
            [None, Some(b)] => Some(format!("server: {b}")),
            _ => None,
        };
        let mut record = HttpRecord {
            exchanges: http,
            omitted: self.0.omitted,
            not_http,
            upgrade: self.0.upgrade.as_deref().map(upgrade_model),
        };
        spend(&mut record, &mut how.budget);
        if let Some(ex) = how.extracted {
            for r in record
                .exchanges
                .iter_mut()
                .filter_map(|x| x.response.as_mut())
            {
                r.extracted = ex.written.get(&(c.id, r.head_offset)).cloned();
            }
        }
        // SOCKS first: its field comes before HTTP's `upgrade` at the end.
        if let Socks::Prelude(p) = &self.1
            && p.is_socks()
        {
            c.records.push(Box::new(p.handshake.clone()));
        }
        c.records.push(Box::new(record));
    }
}

/// Spends the report's budgets on a listed connection: a body beyond the bytes kept
/// for HAR is dropped (its size and hash stay), and past the exchanges listed, the
/// connection's exchanges are counted, not listed.
fn spend(c: &mut HttpRecord, budget: &mut Budget<'_>) {
    for r in c.exchanges.iter_mut().filter_map(|x| x.response.as_mut()) {
        let n = r.body.as_ref().map_or(0, Vec::len);
        if *budget.kept_body_bytes + n > budget.limits.kept_body_bytes {
            r.body = None;
            budget.reached("kept_body_bytes", 1);
        } else {
            *budget.kept_body_bytes += n;
        }
    }
    let n = c.exchanges.len();
    if *budget.listed_exchanges + n > budget.limits.listed_exchanges {
        c.omitted += n as u64;
        *budget.exchanges_omitted += n as u64;
        budget.reached("listed_exchanges", n as u64);
        c.exchanges.clear();
    }
    *budget.listed_exchanges += c.exchanges.len();
    let frames_cut: u64 = c
        .exchanges
        .iter()
        .filter_map(|x| x.response.as_ref())
        .map(|r| r.frame_count.saturating_sub(r.frames.len() as u64))
        .sum();
    if frames_cut > 0 {
        budget.reached("frames_per_message", frames_cut);
    }
    if let Some(u) = &c.upgrade
        && u.websocket_omitted > 0
    {
        budget.reached("websocket_frames", u.websocket_omitted);
    }
}

fn upgrade_model(u: &http::Upgrade) -> record::Upgrade {
    let side = |s: &http::upgrade::UpgradedSide| record::UpgradedSide {
        offset: s.offset,
        bytes: s.bytes,
        gap_bytes: s.gap_bytes,
        websocket_frames: s.ws_frames,
        lost: s.lost.clone(),
    };
    record::Upgrade {
        protocol: u.protocol.clone(),
        target: u.target.clone(),
        frame: u.frame,
        c2s: side(&u.sides[0]),
        s2c: side(&u.sides[1]),
        websocket: u
            .frames
            .iter()
            .map(|f| record::WsFrame {
                frame: f.frame,
                dir: if f.client {
                    crate::flow::Dir::C2S
                } else {
                    crate::flow::Dir::S2C
                },
                offset: f.offset,
                opcode: f.opcode.clone(),
                fin: f.fin,
                masked: f.masked,
                len: f.payload_len,
            })
            .collect(),
        websocket_omitted: u.frames_omitted,
        http_inside: u.http_inside,
    }
}

/// The parameters of a request target's query string (`/search?q=a+b&n=1`).
fn query_pairs(target: &str) -> Vec<(String, String)> {
    let Some((_, query)) = target.split_once('?') else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .take(1000)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A body's first bytes with its content coding undone (gzip, RFC 9110 §8.4.1.3), as
/// far as they go: what a browser shows. `body_sha256` stays over the coded bytes.
fn decoded<'a>(coded: &'a [u8], encoding: Option<&str>) -> std::borrow::Cow<'a, [u8]> {
    use std::io::Read;
    if !encoding.is_some_and(|e| e.trim().eq_ignore_ascii_case("gzip")) {
        return std::borrow::Cow::Borrowed(coded);
    }
    let mut out = Vec::new();
    let mut d = flate2::read::GzDecoder::new(coded);
    let mut buf = [0u8; 4096];
    // A preview may end inside the stream: keep what decoded before that.
    while let Ok(n) = d.read(&mut buf) {
        if n == 0 || out.len() >= 4 * crate::http::message::PREVIEW {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out.truncate(crate::http::message::PREVIEW);
    std::borrow::Cow::Owned(out)
}

/// A text preview of a body's first bytes, or None for binary bodies.
fn preview(b: &[u8]) -> Option<String> {
    if b.is_empty() {
        return None;
    }
    let text = match std::str::from_utf8(b) {
        Ok(s) => s,
        // A preview may end inside a multi-byte character.
        Err(e) if e.valid_up_to() + 4 > b.len() => {
            std::str::from_utf8(&b[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    let printable = text.chars().all(|c| !c.is_control() || c.is_whitespace());
    printable.then(|| text.to_string())
}
