//! TLS above TCP when the client's first bytes are a handshake record (whatever the
//! port), with HTTP above it reading the plaintext the key log opens; otherwise HTTP
//! (or SOCKS, then HTTP) straight above TCP.

use crate::extract::BodyPiece;
use crate::http::on_tcp::HttpOnTcp;
use crate::model;
use crate::protocol::{Describe, Setup, TcpProtocol, TcpTotals};
use crate::reassembly::StreamEvent;
use crate::tls::{Plain, TlsConnection, starts_tls};
use std::sync::Arc;

/// Decides on the client's first bytes, then reads TLS or hands everything to HTTP.
pub struct TlsOnTcp {
    http: HttpOnTcp,
    tls: Tls,
    key_log: Option<Arc<crate::tls::KeyLog>>,
    plain: Vec<Plain>,
}

enum Tls {
    Undecided,
    Yes(Box<TlsConnection>),
    No,
}

impl TlsOnTcp {
    pub fn new(setup: &Setup<'_>) -> Self {
        TlsOnTcp {
            http: HttpOnTcp::new(setup),
            tls: Tls::Undecided,
            key_log: setup.key_log.cloned(),
            plain: Vec::new(),
        }
    }

    /// Hands the plaintext the records freed to HTTP.
    fn pass_on(&mut self) {
        for p in self.plain.drain(..) {
            match p {
                Plain::Data {
                    client,
                    offset,
                    bytes,
                    frame,
                } => self.http.event(
                    client,
                    &StreamEvent::Data {
                        offset,
                        bytes: &bytes,
                        frame,
                    },
                ),
                Plain::Closed {
                    client,
                    offset,
                    reason,
                } => self
                    .http
                    .event(client, &StreamEvent::Closed { offset, reason }),
            }
        }
    }
}

impl TcpProtocol for TlsOnTcp {
    fn event(&mut self, client: bool, ev: &StreamEvent<'_>) {
        if let Tls::Undecided = self.tls {
            self.tls = match ev {
                StreamEvent::Data {
                    offset: 0, bytes, ..
                } if client && starts_tls(bytes) => {
                    Tls::Yes(Box::new(TlsConnection::new(self.key_log.clone())))
                }
                StreamEvent::Data { .. } | StreamEvent::Gap { .. } => Tls::No,
                StreamEvent::Closed { .. } => Tls::Undecided,
            };
        }
        match &mut self.tls {
            Tls::Yes(tls) => {
                tls.event(client, ev, &mut self.plain);
                self.pass_on();
            }
            _ => self.http.event(client, ev),
        }
    }

    fn reading(&self) -> bool {
        match &self.tls {
            Tls::Yes(_) => true,
            _ => self.http.reading(),
        }
    }

    fn finish(&mut self) {
        self.http.finish();
    }

    fn take_bodies(&mut self) -> Vec<BodyPiece> {
        self.http.take_bodies()
    }

    fn count(&self, totals: &mut TcpTotals) {
        self.http.count(totals);
    }

    fn describe(self: Box<Self>, c: &mut model::Connection, how: &mut Describe<'_>) {
        let this = *self;
        Box::new(this.http).describe(c, how);
        if let Tls::Yes(tls) = this.tls {
            let ts_of = |frame: u64| {
                c.segments
                    .iter()
                    .find(|s| s.frame == frame)
                    .map(|s| s.ts_us)
            };
            let started = tls.client_hello.as_ref().and_then(|h| ts_of(h.frame));
            let done = tls.finished[0].and_then(ts_of);
            let mut records = tls.records;
            records.sort_by_key(|r| r.frames.first().copied());
            c.records.push(Box::new(crate::tls::record::Tls {
                version: tls.server_hello.as_ref().map(|s| s.version.clone()),
                handshake_us: started.zip(done).map(|(a, b)| b - a),
                first_data_frame: tls.first_data_frame,
                client_hello: tls.client_hello,
                server_hello: tls.server_hello,
                certificates: tls.certificates,
                keys: tls.keys,
                records,
                records_omitted: tls.records_omitted,
                problems: tls.problems,
            }));
        }
    }
}
