//! Stage 5, a protocol above UDP: DNS over UDP, the lookup a program makes before its
//! handshake (`data.pr4e.org` → an address). Messages are decoded with `hickory-proto`
//! (RFC 1035 §4.1); a query and its response are paired by the client's address and port,
//! the server's address and the message ID, which the server copies into its reply (RFC
//! 1035 §4.1.1). Bounded: at most [`crate::limits::DNS_LOOKUPS`] lookups are listed and [`MAX_PENDING`]
//! queries wait for an answer; the rest are counted.

pub mod glossary;
pub mod on_udp;
pub mod record;
pub mod sentences;

use hickory_proto::op::{Message, MessageType};
pub use record::ReportDns;
use serde::Serialize;
use std::net::IpAddr;

/// The well-known port of DNS (RFC 1035 §4.2.1).
pub const PORT: u16 = 53;
/// Queries waiting for their answer at once.
pub const MAX_PENDING: usize = 10_000;

/// One lookup: the query, and its answer if the capture holds it.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The frame of the query; None for an answer whose query is not in the capture.
    pub query_frame: Option<u64>,
    pub response_frame: Option<u64>,
    /// Time of the first message seen of this lookup (µs since the epoch).
    pub ts_us: i64,
    pub client: String,
    pub server: String,
    pub id: u16,
    /// The name asked for, without the root's trailing dot.
    pub name: String,
    /// The record type asked for: A, AAAA, ...
    pub qtype: String,
    /// NOERROR, NXDOMAIN, SERVFAIL, ...; None while no answer was seen.
    pub rcode: Option<String>,
    /// Answer records as "A 10.80.1.2", "CNAME host.example.".
    pub answers: Vec<String>,
    /// Query to answer.
    pub rtt_us: Option<i64>,
}

/// What one UDP datagram on port 53 was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datagram {
    Query,
    Response,
    /// Not a DNS message (or cut short): counted, never fatal.
    Undecodable,
}

type Key = (IpAddr, u16, IpAddr, u16);

/// Pairs the DNS messages of a capture into lookups.
pub struct DnsTracker {
    lookups: Vec<Lookup>,
    /// Index into `lookups` of each query still waiting for its answer.
    pending: foldhash::HashMap<Key, usize>,
    pub omitted: u64,
    pub undecodable: u64,
    /// Lookups listed at most (the rest are counted in `omitted`).
    max_lookups: usize,
}

/// "NXDOMAIN" as dig writes response codes (RFC 1035 §4.1.1, RFC 6895 §2.3).
fn rcode_name(code: u16) -> String {
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => format!("RCODE{n}"),
    }
}

fn name_of(msg: &Message) -> (String, String) {
    msg.queries
        .first()
        .map(|q| {
            let name = q.name().to_ascii();
            let name = name.strip_suffix('.').unwrap_or(&name).to_string();
            (name, q.query_type().to_string())
        })
        .unwrap_or_default()
}

impl Default for DnsTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl DnsTracker {
    pub fn new() -> Self {
        Self::with_max_lookups(crate::limits::DNS_LOOKUPS)
    }

    /// Lists at most `max` lookups.
    pub fn with_max_lookups(max: usize) -> Self {
        DnsTracker {
            lookups: Vec::new(),
            pending: Default::default(),
            omitted: 0,
            undecodable: 0,
            max_lookups: max,
        }
    }

    /// Takes one UDP datagram sent from `src` to `dst`, one of them on port 53.
    pub fn datagram(
        &mut self,
        frame: u64,
        ts_us: i64,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        payload: &[u8],
    ) -> Datagram {
        let Ok(msg) = Message::from_vec(payload) else {
            self.undecodable += 1;
            return Datagram::Undecodable;
        };
        let id = msg.metadata.id;
        match msg.metadata.message_type {
            MessageType::Query => {
                let key = (src.0, src.1, dst.0, id);
                let (name, qtype) = name_of(&msg);
                let lookup = Lookup {
                    query_frame: Some(frame),
                    response_frame: None,
                    ts_us,
                    client: endpoint(src),
                    server: endpoint(dst),
                    id,
                    name,
                    qtype,
                    rcode: None,
                    answers: Vec::new(),
                    rtt_us: None,
                };
                if let Some(i) = self.push(lookup)
                    && self.pending.len() < MAX_PENDING
                {
                    self.pending.insert(key, i);
                }
                Datagram::Query
            }
            MessageType::Response => {
                let key = (dst.0, dst.1, src.0, id);
                let rcode = rcode_name(u16::from(msg.metadata.response_code));
                let answers = msg
                    .answers
                    .iter()
                    .take(32)
                    .map(|r| format!("{} {}", r.record_type(), r.data))
                    .collect();
                match self.pending.remove(&key) {
                    Some(i) => {
                        let l = &mut self.lookups[i];
                        l.response_frame = Some(frame);
                        l.rcode = Some(rcode);
                        l.answers = answers;
                        l.rtt_us = Some(ts_us - l.ts_us);
                    }
                    None => {
                        let (name, qtype) = name_of(&msg);
                        self.push(Lookup {
                            query_frame: None,
                            response_frame: Some(frame),
                            ts_us,
                            client: endpoint(dst),
                            server: endpoint(src),
                            id,
                            name,
                            qtype,
                            rcode: Some(rcode),
                            answers,
                            rtt_us: None,
                        });
                    }
                }
                Datagram::Response
            }
        }
    }

    fn push(&mut self, lookup: Lookup) -> Option<usize> {
        if self.lookups.len() >= self.max_lookups {
            self.omitted += 1;
            return None;
        }
        self.lookups.push(lookup);
        Some(self.lookups.len() - 1)
    }

    /// The lookups in the order of their first message.
    pub fn finish(self) -> Vec<Lookup> {
        self.lookups
    }
}

fn endpoint((ip, port): (IpAddr, u16)) -> String {
    match ip {
        IpAddr::V4(_) => format!("{ip}:{port}"),
        IpAddr::V6(_) => format!("[{ip}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{OpCode, Query, ResponseCode};
    use hickory_proto::rr::{Name, RData, Record, RecordType, rdata::A};

    fn query(id: u16, name: &str) -> Vec<u8> {
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        m.to_vec().unwrap()
    }

    #[test]
    fn a_query_and_its_answer_make_one_lookup() {
        let c = ("10.0.0.1".parse().unwrap(), 40000);
        let s = ("10.0.0.2".parse().unwrap(), 53);
        let mut t = DnsTracker::new();
        assert_eq!(
            t.datagram(1, 100, c, s, &query(7, "data.pr4e.org.")),
            Datagram::Query
        );
        let mut r = Message::response(7, OpCode::Query);
        r.add_query(Query::query(
            Name::from_ascii("data.pr4e.org.").unwrap(),
            RecordType::A,
        ));
        r.add_answer(Record::from_rdata(
            Name::from_ascii("data.pr4e.org.").unwrap(),
            60,
            RData::A(A::new(10, 0, 0, 2)),
        ));
        assert_eq!(
            t.datagram(2, 350, s, c, &r.to_vec().unwrap()),
            Datagram::Response
        );
        let mut nx = Message::error_msg(8, OpCode::Query, ResponseCode::NXDomain);
        nx.add_query(Query::query(
            Name::from_ascii("data.prte.org.").unwrap(),
            RecordType::A,
        ));
        t.datagram(3, 400, c, s, &query(8, "data.prte.org."));
        t.datagram(4, 450, s, c, &nx.to_vec().unwrap());
        assert_eq!(t.datagram(5, 500, c, s, b"\x01"), Datagram::Undecodable);
        let l = t.finish();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].name, "data.pr4e.org");
        assert_eq!(l[0].qtype, "A");
        assert_eq!(l[0].rcode.as_deref(), Some("NOERROR"));
        assert_eq!(l[0].answers, vec!["A 10.0.0.2".to_string()]);
        assert_eq!(l[0].rtt_us, Some(250));
        assert_eq!((l[0].query_frame, l[0].response_frame), (Some(1), Some(2)));
        assert_eq!(l[1].name, "data.prte.org");
        assert_eq!(l[1].rcode.as_deref(), Some("NXDOMAIN"));
    }
}
