//! The one registry of the protocols above TCP and UDP: which implementation of the
//! seams in `protocol.rs` reads a connection or a datagram.

use crate::glossary::Dictionary;
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

/// The course's one dictionary: TCP's and the course's terms, and each protocol's, which
/// `wirelab explain` lists and the renderers explain.
pub const DICTIONARY: Dictionary = Dictionary(&[
    crate::glossary::TERMS,
    crate::http::glossary::TERMS,
    crate::dns::glossary::TERMS,
    crate::tls::glossary::TERMS,
]);

#[cfg(test)]
mod tests {
    use super::DICTIONARY;

    /// Each list in alphabetical order, and no term in two of them.
    #[test]
    fn every_term_is_in_one_list() {
        for list in DICTIONARY.0 {
            assert!(list.windows(2).all(|w| w[0].name < w[1].name));
        }
        let all = DICTIONARY.terms();
        assert!(all.windows(2).all(|w| w[0].name < w[1].name));
    }

    /// `wirelab explain` covers what the course meets: the history letters, the status
    /// codes of its exercises, NXDOMAIN, RST, socket, port, DNS, TCP, HTTP, TLS, and the
    /// beginners' mistakes the report names.
    #[test]
    fn the_course_terms_are_explained() {
        for t in [
            "history",
            "200",
            "302",
            "304",
            "404",
            "408",
            "501",
            "nxdomain",
            "rst",
            "socket",
            "port",
            "dns",
            "tcp",
            "http",
            "tls",
            "sni",
            "no-blank-line",
            "bare-lf",
            "refused",
            "unread",
            "method-case",
            "absolute-form",
        ] {
            assert!(DICTIONARY.lookup(t).is_some(), "no explanation for {t}");
        }
    }

    /// Every analysis name the TCP analysis can produce has an explanation.
    #[test]
    fn every_analysis_name_is_explained() {
        for f in crate::analysis::Finding::ALL {
            assert!(
                DICTIONARY.lookup(f.as_str()).is_some(),
                "no explanation for {f}"
            );
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", f.as_str()),
                "serialises as its name"
            );
        }
    }
}
