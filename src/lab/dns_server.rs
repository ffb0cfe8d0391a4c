//! The lab's name server: answers the course's names (data.pr4e.org, www.dr-chuck.com,
//! www.py4e.com, www.pythonlearn.com, dr-chuck.com) with the course server's address, and every other
//! name with NXDOMAIN (RFC 1035 §4.1.1, RCODE 3), so a misspelt name in a student's
//! program fails as it would on the Internet. Messages are made and read with
//! hickory-proto. One thread, one UDP socket, one answer per query: bounded by design.

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType, rdata::A};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// The names the course uses, all served by the course server.
pub const COURSE_NAMES: &[&str] = &[
    "data.pr4e.org",
    "www.dr-chuck.com",
    "www.py4e.com",
    "www.pythonlearn.com",
    "dr-chuck.com",
];

/// Time to live of the lab's answers, in seconds.
const TTL: u32 = 60;

/// The answer to one query message.
pub fn answer(query: &[u8], address: Ipv4Addr) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    if q.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut r = Message::response(q.metadata.id, q.metadata.op_code);
    r.metadata.recursion_desired = q.metadata.recursion_desired;
    r.metadata.recursion_available = true;
    r.metadata.authoritative = true;
    let Some(question) = q.queries.first().cloned() else {
        r.metadata.response_code = ResponseCode::FormErr;
        return r.to_vec().ok();
    };
    if q.metadata.op_code != OpCode::Query {
        r.metadata.response_code = ResponseCode::NotImp;
    } else {
        let name = question.name().to_ascii().to_ascii_lowercase();
        let name = name.strip_suffix('.').unwrap_or(&name).to_string();
        if COURSE_NAMES.contains(&name.as_str()) {
            // AAAA and other types: the name exists, with no record of that type
            // (NOERROR and no answer, RFC 2308 §2.2), so the program falls back to IPv4.
            if question.query_type() == RecordType::A {
                r.add_answer(Record::from_rdata(
                    question.name().clone(),
                    TTL,
                    RData::A(A(address)),
                ));
            }
        } else {
            r.metadata.response_code = ResponseCode::NXDomain;
        }
    }
    r.add_query(question);
    r.to_vec().ok()
}

/// A running name server; stops when dropped.
pub struct DnsServer {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DnsServer {
    /// Serves on `socket` (bound already, in the server's namespace) until dropped.
    pub fn spawn(socket: UdpSocket, address: Ipv4Addr) -> DnsServer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let _ = socket.set_read_timeout(Some(Duration::from_millis(100)));
        let thread = thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !flag.load(Ordering::SeqCst) {
                let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = answer(&buf[..n], address) {
                    let _ = socket.send_to(&reply, peer);
                }
            }
        });
        DnsServer {
            stop,
            thread: Some(thread),
        }
    }

    /// Binds port 53 of `ip` (call inside the server's namespace).
    pub fn bind(ip: Ipv4Addr) -> std::io::Result<UdpSocket> {
        UdpSocket::bind(SocketAddr::from((ip, crate::dns::PORT)))
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Why a lookup of the lab's name server gave no address.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{name} is not a host name: {error}")]
    NotAName {
        name: String,
        #[source]
        error: hickory_proto::ProtoError,
    },
    #[error(transparent)]
    Encode(hickory_proto::ProtoError),
    #[error("asking {server} for {name}: {error}")]
    Send {
        server: SocketAddr,
        name: String,
        #[source]
        error: std::io::Error,
    },
    /// RFC 1035 §4.1.1 RCODE 3.
    #[error("{0}: no such name (NXDOMAIN)")]
    NoSuchName(String),
    #[error("{0}: no IPv4 address")]
    NoAddress(String),
    #[error("{server} did not answer the lookup of {name}")]
    NoAnswer { server: SocketAddr, name: String },
}

/// Asks the lab's name server for `name`'s IPv4 address over UDP, as a resolver does
/// (wirelab's own client in the lab, so that its lookup is on the wire too). Call
/// inside the client's namespace, or with a socket made there.
pub fn resolve(
    socket: &UdpSocket,
    server: SocketAddr,
    name: &str,
) -> Result<Ipv4Addr, LookupError> {
    use hickory_proto::op::Query;
    use hickory_proto::rr::Name;
    let qname = Name::from_ascii(format!("{name}.")).map_err(|error| LookupError::NotAName {
        name: name.into(),
        error,
    })?;
    let id = (std::process::id() as u16) ^ 0x5a5a;
    let mut q = Message::new(id, MessageType::Query, OpCode::Query);
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(qname, RecordType::A));
    let bytes = q.to_vec().map_err(LookupError::Encode)?;
    let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
    for _ in 0..3 {
        socket
            .send_to(&bytes, server)
            .map_err(|error| LookupError::Send {
                server,
                name: name.into(),
                error,
            })?;
        let mut buf = [0u8; 1500];
        let Ok((n, _)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Ok(r) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        if r.metadata.id != id {
            continue;
        }
        if r.metadata.response_code == ResponseCode::NXDomain {
            return Err(LookupError::NoSuchName(name.into()));
        }
        return r
            .answers
            .iter()
            .find_map(|rec| match &rec.data {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .ok_or_else(|| LookupError::NoAddress(name.into()));
    }
    Err(LookupError::NoAnswer {
        server,
        name: name.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_names_resolve_and_others_do_not() {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = DnsServer::spawn(sock.try_clone().unwrap(), Ipv4Addr::new(10, 80, 1, 2));
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let at = sock.local_addr().unwrap();
        assert_eq!(
            resolve(&client, at, "data.pr4e.org").unwrap(),
            Ipv4Addr::new(10, 80, 1, 2)
        );
        assert_eq!(
            resolve(&client, at, "WWW.PY4E.COM").unwrap(),
            Ipv4Addr::new(10, 80, 1, 2)
        );
        // The notes' http://dr-chuck.com/page1.html names the host without www.
        assert_eq!(
            resolve(&client, at, "dr-chuck.com").unwrap(),
            Ipv4Addr::new(10, 80, 1, 2)
        );
        let e = resolve(&client, at, "data.prte.org").unwrap_err();
        assert!(matches!(&e, LookupError::NoSuchName(n) if n == "data.prte.org"));
        assert!(e.to_string().contains("NXDOMAIN"), "{e}");
        drop(server);
    }
}
