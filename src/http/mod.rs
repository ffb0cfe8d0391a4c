//! Stage 5, a protocol: HTTP/1.0 and HTTP/1.1 exchanges over the reassembled streams.
//!
//! Knows nothing of packets: it reads [`StreamEvent`]s of the two directions of one
//! connection. Requests and responses are paired in order (RFC 9112 §9.3: responses
//! come in the order of the requests, also when pipelined); an interim 1xx response
//! gets a row of its own and leaves its request waiting for the final one.

pub mod glossary;
pub mod message;
pub mod on_tcp;
pub mod record;
pub mod sentences;
pub mod upgrade;

use crate::extract::BodyPiece;
use crate::limits::Limits;
use crate::reassembly::{FrameNo, StreamEvent};
pub use message::{End, Head, HttpEvent, MessageParser, Role};
pub use record::{ConnectionHttp, ReportHttp};
use std::collections::{BTreeMap, VecDeque};
pub use upgrade::Upgrade;

/// One message: its head, and how its body ended (None while the body is under way
/// or when the capture ended first).
#[derive(Clone, Debug)]
pub struct Message {
    pub head: Head,
    pub end: Option<End>,
}

/// A request and its response, either of which may be missing from the capture.
#[derive(Clone, Debug, Default)]
pub struct Exchange {
    pub request: Option<Message>,
    pub response: Option<Message>,
}

/// Tracks both directions of one connection's HTTP.
pub struct HttpConnection {
    requests: MessageParser,
    responses: MessageParser,
    /// The exchanges in order, filled by [`HttpConnection::finish`].
    pub exchanges: Vec<Exchange>,
    /// Exchanges under way or listed, by number (the order they started in).
    open: BTreeMap<usize, Box<Exchange>>,
    next: usize,
    /// Exchanges complete but not listed (beyond `Limits::exchanges_per_connection`,
    /// or given up waiting).
    pub omitted: u64,
    /// Of the omitted, requests given up waiting for their response (beyond
    /// `Limits::awaiting_requests`).
    pub given_up: u64,
    /// The bounds it reads within; the default ones unless told ([`HttpConnection::bounds`]),
    /// kept for the HTTP inside a CONNECT tunnel.
    limits: Option<Box<Limits>>,
    /// Exchanges listed at most.
    max_listed: usize,
    /// Exchanges whose request is waiting for a response, oldest first.
    awaiting: VecDeque<usize>,
    current_request: Option<usize>,
    current_response: Option<usize>,
    /// Why a direction was judged not to be HTTP: (c2s, s2c).
    pub not_http: [Option<String>; 2],
    /// The response stream lost sync in a gap: whole responses may be missing.
    responses_lost: bool,
    /// Response body pieces not yet taken (only after [`HttpConnection::keep_bodies`]).
    bodies: Vec<BodyPiece>,
    /// What the connection carries after it switched protocols (101, CONNECT 2xx).
    pub upgrade: Option<Box<Upgrade>>,
    /// The latest request that asked to switch: its Upgrade header (or "tunnel" for
    /// CONNECT) and target, for a switch whose response the capture lacks.
    switch_asked: Option<(String, Option<String>)>,
    /// HTTP inside a CONNECT tunnel, while its client bytes may still start a request.
    inside: Option<Box<HttpConnection>>,
    /// An empty buffer for the parsers' next events ([`MessageParser::swap_events`]).
    spare_events: Vec<HttpEvent>,
    /// Only paired and counted ([`HttpConnection::count_only`]).
    count_only: bool,
}

impl Default for HttpConnection {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpConnection {
    pub fn new() -> Self {
        HttpConnection {
            requests: MessageParser::new(Role::Request),
            responses: MessageParser::new(Role::Response),
            exchanges: Vec::new(),
            open: BTreeMap::new(),
            next: 0,
            omitted: 0,
            given_up: 0,
            limits: None,
            awaiting: VecDeque::new(),
            current_request: None,
            current_response: None,
            not_http: [None, None],
            responses_lost: false,
            bodies: Vec::new(),
            max_listed: crate::limits::EXCHANGES_PER_CONNECTION,
            upgrade: None,
            switch_asked: None,
            inside: None,
            spare_events: Vec::new(),
            count_only: false,
        }
    }

    /// The exchanges are only counted, with their status codes (a connection the report
    /// does not list): the parsers keep what pairing and framing need and no more
    /// ([`MessageParser::count_only`]). The counts equal a full parse's.
    pub fn count_only(&mut self) {
        self.count_only = true;
        self.requests.count_only();
        self.responses.count_only();
    }

    /// Reads within `limits`' bounds on HTTP: a head's bytes and fields, the frames
    /// listed per message, the requests awaiting, the exchanges and WebSocket frames
    /// listed.
    pub fn bounds(&mut self, limits: &Limits) {
        self.max_listed = limits.exchanges_per_connection;
        for p in [&mut self.requests, &mut self.responses] {
            p.max_head(limits.head_bytes);
            p.max_headers(limits.header_fields);
            p.max_frames(limits.frames_per_message);
        }
        self.limits = Some(Box::new(limits.clone()));
    }

    /// Reads message heads of at most `n` bytes (`Limits::head_bytes`).
    pub fn max_head(&mut self, n: usize) {
        self.requests.max_head(n);
        self.responses.max_head(n);
    }

    /// Lists at most `n` exchanges (the rest are counted in `omitted`).
    pub fn max_listed(&mut self, n: usize) {
        self.max_listed = n;
    }

    /// Do not hash bodies: the report counts this connection's exchanges but does not
    /// list them.
    pub fn skip_hashes(&mut self) {
        self.requests.skip_hashes();
        self.responses.skip_hashes();
    }

    /// Compute body hashes on the hashing thread (see `crate::digest`), for
    /// connection `scope`.
    pub fn hash_with(&mut self, digests: &crate::digest::Digests, scope: u64) {
        self.requests.hash_with(digests.clone(), scope);
        self.responses.hash_with(digests.clone(), scope);
    }

    /// Keep the first `n` bytes of every body (for HAR's content).
    pub fn keep_body_bytes(&mut self, n: usize) {
        self.requests.keep_body_bytes(n);
        self.responses.keep_body_bytes(n);
    }

    /// Keep the response bodies' bytes for [`HttpConnection::take_bodies`].
    pub fn keep_bodies(&mut self) {
        self.responses.keep_bodies();
    }

    /// Response body pieces since the last call, in stream order.
    pub fn take_bodies(&mut self) -> std::vec::Drain<'_, BodyPiece> {
        self.bodies.drain(..)
    }

    /// Whether both directions were given up as not HTTP (nothing more to parse).
    pub fn is_dead(&self) -> bool {
        self.requests.is_done() && self.responses.is_done()
    }

    /// Feeds an event of the client's stream (`client == true`) or the server's.
    pub fn event(&mut self, client: bool, ev: &StreamEvent<'_>) {
        let parser = if client {
            &mut self.requests
        } else {
            &mut self.responses
        };
        match *ev {
            StreamEvent::Data {
                offset,
                bytes,
                frame,
            } => {
                let switched_at = parser.data(offset, bytes, frame);
                self.collect(client);
                if let Some(at) = switched_at {
                    let rest = &bytes[(at - offset) as usize..];
                    self.upgraded().data(client, at, rest, frame);
                    let first = self.upgrade.as_ref().map(|u| u.sides[0].offset == Some(at));
                    let request = message::starts_message(Role::Request, rest) == Some(true);
                    if client && first == Some(true) && !request {
                        // The tunnel carries something else (TLS, most often).
                        self.inside = None;
                    }
                    let inner = StreamEvent::Data {
                        offset: at,
                        bytes: rest,
                        frame,
                    };
                    if let Some(h) = &mut self.inside {
                        h.event(client, &inner);
                    }
                }
            }
            StreamEvent::Gap { offset, len } => {
                if parser.gap(offset, len) {
                    self.upgraded().gap(client, offset, len);
                    if let Some(h) = &mut self.inside {
                        h.event(client, ev);
                    }
                }
                self.collect(client);
            }
            StreamEvent::Closed { reason, .. } => {
                let tunnel = parser.is_tunnel();
                parser.close(Some(reason));
                self.collect(client);
                if let Some(h) = &mut self.inside.as_mut().filter(|_| tunnel) {
                    h.event(client, ev);
                }
            }
        }
    }

    /// The switched connection's record; made from the request when the capture lacks
    /// the response that switched.
    fn upgraded(&mut self) -> &mut Upgrade {
        let asked = &self.switch_asked;
        self.upgrade.get_or_insert_with(|| {
            let (protocol, target) = asked.clone().unwrap_or(("unknown".into(), None));
            let mut up = Upgrade::new(&protocol, target, None);
            if let Some(l) = &self.limits {
                up.max_frames = l.websocket_frames;
            }
            Box::new(up)
        })
    }

    /// A response head that switches the connection to another protocol (RFC 9110
    /// §15.2.2 for 101, §9.3.6 for a 2xx to CONNECT): both directions stop being HTTP.
    /// `asked`: what its request asked to switch to ([`Head::switch_asked`]).
    fn switch(&mut self, head: &Head, asked: Option<(String, Option<String>)>) {
        let status = head.status.unwrap_or(0);
        let (protocol, target) = match asked {
            _ if status == 101 => {
                let requested = asked.filter(|a| a.0 != "tunnel").map(|a| a.0);
                let named = head.header("upgrade").map(str::to_string);
                (
                    named.or(requested).unwrap_or_else(|| "unknown".into()),
                    None,
                )
            }
            Some((p, target)) if p == "tunnel" && (200..300).contains(&status) => (p, target),
            _ => return,
        };
        if protocol == "tunnel" {
            let mut inside = HttpConnection::new();
            if let Some(l) = &self.limits {
                inside.bounds(l);
            }
            if self.count_only {
                inside.count_only();
            }
            self.inside = Some(Box::new(inside));
        }
        let mut up = Upgrade::new(&protocol, target, Some(head.frame));
        if let Some(l) = &self.limits {
            up.max_frames = l.websocket_frames;
        }
        self.upgrade = Some(Box::new(up));
        self.requests.tunnel();
    }

    /// The capture ended: bodies still open end here.
    pub fn finish(&mut self) {
        self.requests.close(None);
        self.collect(true);
        self.responses.close(None);
        self.collect(false);
        // Interim (1xx) rows were added when they arrived: put them before their final one.
        let key = |x: &Exchange| {
            let at = |m: &Message| (m.head.frame, m.head.offset);
            let req = x.request.as_ref().map(at);
            let resp = x.response.as_ref().map(at);
            (
                req.or(resp).unwrap_or((0, 0)),
                resp.unwrap_or((FrameNo::MAX, 0)),
            )
        };
        self.exchanges
            .extend(std::mem::take(&mut self.open).into_values().map(|x| *x));
        self.exchanges.sort_by_key(key);
        self.pair_unended_requests();
        if let Some(mut inside) = self.inside.take() {
            inside.finish();
            if let Some(u) = &mut self.upgrade {
                u.http_inside = inside.exchanges.len() as u64;
            }
            self.exchanges.append(&mut inside.exchanges);
            self.omitted += inside.omitted;
            self.given_up += inside.given_up;
        }
        self.awaiting.clear();
        self.current_request = None;
        self.current_response = None;
    }

    /// A request whose head never ended (no blank line) is known only when its side
    /// closes, after the server's answer to it (408, or 400) was taken as a response
    /// whose request is not captured: such a response, the next exchange after the
    /// request, is its answer.
    fn pair_unended_requests(&mut self) {
        let unended = |x: &Exchange| {
            x.response.is_none()
                && x.request
                    .as_ref()
                    .is_some_and(|m| m.head.lint.iter().any(|l| l == "no-blank-line"))
        };
        let mut i = 0;
        while i + 1 < self.exchanges.len() {
            let (a, b) = (&self.exchanges[i], &self.exchanges[i + 1]);
            if unended(a) && b.request.is_none() && b.response.is_some() {
                let answer = self.exchanges.remove(i + 1);
                self.exchanges[i].response = answer.response;
            }
            i += 1;
        }
    }

    fn add(&mut self, x: Exchange) -> usize {
        let i = self.next;
        self.next += 1;
        self.open.insert(i, Box::new(x));
        i
    }

    /// Before pairing a response that starts in `frame`: a request sent after it cannot
    /// be its request; and after lost sync, the requests before the latest one already
    /// sent lost their responses in the gap (a client that waits for each response
    /// sends the next request only after the previous response).
    /// Returns false when the oldest waiting request was sent after the response: the
    /// response's own request is not in the capture.
    fn answerable(&mut self, frame: FrameNo) -> bool {
        let sent_before = |x: &Exchange| x.request.as_ref().is_some_and(|m| m.head.frame <= frame);
        if self.responses_lost {
            self.responses_lost = false;
            let latest = self
                .awaiting
                .iter()
                .rposition(|i| self.open.get(i).is_some_and(|x| sent_before(x)));
            if let Some(k) = latest {
                self.awaiting.drain(..k);
            }
        }
        self.awaiting
            .front()
            .is_none_or(|i| self.open.get(i).is_none_or(|x| sent_before(x)))
    }

    fn collect(&mut self, client: bool) {
        let mut events = std::mem::take(&mut self.spare_events);
        if client {
            self.requests.swap_events(&mut events);
        } else {
            self.responses.swap_events(&mut events);
        }
        for ev in events.drain(..) {
            match (client, ev) {
                (_, HttpEvent::NotHttp { reason, .. }) => {
                    self.not_http[usize::from(!client)] = Some(reason)
                }
                (true, HttpEvent::LostSync | HttpEvent::Body(_)) => {}
                (false, HttpEvent::Body(b)) => self.bodies.push(BodyPiece::Data(b)),
                (false, HttpEvent::LostSync) => self.responses_lost = true,
                (true, HttpEvent::Head(head)) => {
                    if let Some(m) = &head.method {
                        let simple = !matches!(&*head.version, "HTTP/1.0" | "HTTP/1.1");
                        self.responses.expect_response_to(m, simple);
                    }
                    if let Some(asked) = head.switch_asked() {
                        self.switch_asked = Some(asked);
                    }
                    let i = self.add(Exchange {
                        request: Some(Message { head, end: None }),
                        response: None,
                    });
                    self.awaiting.push_back(i);
                    let max_awaiting = self
                        .limits
                        .as_ref()
                        .map_or(crate::limits::AWAITING_REQUESTS, |l| l.awaiting_requests);
                    if self.awaiting.len() > max_awaiting
                        && let Some(old) = self.awaiting.pop_front()
                        && self.open.remove(&old).is_some()
                    {
                        self.omitted += 1;
                        self.given_up += 1;
                    }
                    self.current_request = Some(i);
                }
                (false, HttpEvent::Head(head)) => {
                    // 101 is final for HTTP/1: the connection is another protocol after it.
                    let interim = head
                        .status
                        .is_some_and(|s| (100..200).contains(&s) && s != 101);
                    let front = if self.answerable(head.frame) {
                        self.awaiting.front().copied()
                    } else {
                        None
                    };
                    let i = match (interim, front) {
                        (true, Some(req)) => {
                            let request = self.open.get(&req).and_then(|x| x.request.clone());
                            self.add(Exchange {
                                request,
                                response: None,
                            })
                        }
                        (false, Some(_)) => self.awaiting.pop_front().expect("checked"),
                        (_, None) => self.add(Exchange::default()),
                    };
                    let x = self.open.entry(i).or_default();
                    if self.responses.keeps_bodies() {
                        self.bodies.push(BodyPiece::Start {
                            offset: head.offset,
                            target: x.request.as_ref().and_then(|q| q.head.target.clone()),
                            content_type: head.header("content-type").map(str::to_string),
                        });
                    }
                    let asked = x.request.as_ref().and_then(|q| q.head.switch_asked());
                    self.switch(&head, asked);
                    let x = self.open.entry(i).or_default();
                    x.response = Some(Message { head, end: None });
                    self.current_response = Some(i);
                }
                (client, HttpEvent::End(end)) => {
                    let current = if client {
                        self.current_request.take()
                    } else {
                        self.current_response.take()
                    };
                    let x = current.and_then(|i| self.open.get_mut(&i));
                    let m = x.and_then(|x| {
                        if client {
                            &mut x.request
                        } else {
                            &mut x.response
                        }
                        .as_mut()
                    });
                    if !client && self.responses.keeps_bodies() {
                        self.bodies.push(BodyPiece::End {
                            complete: end.complete,
                        });
                    }
                    if let Some(m) = m {
                        m.end = Some(end);
                    }
                    // A complete response beyond the listed ones is counted, not kept.
                    if !client
                        && let Some(i) = current
                        && i >= self.max_listed
                        && self.open.remove(&i).is_some()
                    {
                        self.omitted += 1;
                    }
                }
            }
        }
        self.spare_events = events;
    }
}

#[cfg(test)]
mod tests;
