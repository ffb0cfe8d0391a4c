//! The one registry of the protocols above TCP and UDP: which implementation of the
//! seams in `protocol.rs` reads a connection or a datagram.

use crate::limits::Limits;
use crate::model::Record;
use crate::protocol::{Setup, TcpProtocol, TcpTotals, UdpProtocol};

/// The protocol that reads a connection, on every port: TLS when the client's first
/// bytes are a handshake record (HTTP reads what it decrypts), else HTTP (which says
/// "not HTTP" itself when the bytes are something else).
pub fn for_connection(setup: &Setup<'_>) -> Box<dyn TcpProtocol> {
    Box::new(crate::tls::on_tcp::TlsOnTcp::new(setup))
}

/// The protocols above UDP, asked in order; a datagram goes to the first that wants it.
pub fn datagram_protocols(limits: &Limits) -> Vec<Box<dyn UdpProtocol>> {
    vec![Box::new(crate::dns::on_udp::DnsOnUdp::new(limits))]
}

/// The line a frame's one-line summary quotes when its payload starts a message of a
/// protocol above TCP: HTTP's request or status line.
pub fn message_line(payload: &[u8]) -> Option<String> {
    crate::http::message::first_line(payload)
}

/// The record that writes the counts of the protocols above TCP into the report's
/// totals (HTTP's `http_exchanges`, `http_omitted`, `http_status`): `omitted` is the
/// exchanges the report left out of its listing.
pub fn totals_above_tcp(totals: TcpTotals, omitted: u64) -> Box<dyn Record> {
    Box::new(crate::http::record::HttpTotals {
        exchanges: totals.exchanges,
        omitted,
        status: totals.status.into_iter().collect(),
    })
}
