//! Stage 5, a protocol (before HTTP): a SOCKS handshake at the start of a connection
//! (SOCKS4 and its 4a extension; SOCKS5, RFC 1928, with RFC 1929's username/password), as
//! a client speaks it to a proxy before the protocol it tunnels (HTTP most often). Knows
//! nothing of packets: it reads the two streams' first bytes, and hands back where each
//! stream's tunnelled bytes begin. Nothing is lost when the bytes are not SOCKS: they are
//! given back, in order, for the protocol above to read from offset 0.

use crate::reassembly::FrameNo;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Bytes a handshake may take per side before it is judged not SOCKS.
const MAX_HANDSHAKE: usize = 1024;

/// What the handshake said.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Handshake {
    /// 4 or 5.
    pub version: u8,
    /// "4a" when a SOCKS4 client named the host for the proxy to resolve.
    pub variant: Option<String>,
    /// SOCKS5: the methods the client offered and the one the proxy chose, in words.
    pub offered: Vec<String>,
    pub method: Option<String>,
    /// The user named (SOCKS4 USERID, RFC 1929 UNAME); a password is never kept.
    pub user: Option<String>,
    /// "connect", "bind", "udp associate".
    pub command: Option<String>,
    /// Where the client asked to go: "host:port" or "ip:port".
    pub destination: Option<String>,
    /// The proxy's answer in words ("succeeded", "request granted", "connection refused").
    pub reply: Option<String>,
    pub granted: bool,
    /// Bytes of the handshake on each side (client, server): the tunnelled stream
    /// starts at these offsets.
    pub bytes: [u64; 2],
    /// First and last frame of the handshake.
    pub frames: (FrameNo, FrameNo),
}

/// The outcome of feeding bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Fed {
    /// The handshake took them all (for now).
    Taken,
    /// This side's handshake is over: its bytes from this offset are the tunnel's.
    Tunnel(u64),
    /// Not SOCKS: these bytes (everything buffered, from offset 0: the side, true for
    /// the client's, the offset, the bytes and their frame) belong to the protocol
    /// above, and so does everything after.
    NotSocks(Vec<Held>),
}

/// Bytes held while undecided: client side?, stream offset, bytes, frame.
pub type Held = (bool, u64, Vec<u8>, FrameNo);

/// Follows a possible SOCKS handshake on one connection.
#[derive(Debug, Default)]
pub struct Prelude {
    pub handshake: Handshake,
    /// Bytes buffered per side, with the frames they came in, while undecided.
    held: [Vec<(u64, Vec<u8>, FrameNo)>; 2],
    /// Each side's handshake is over.
    done: [bool; 2],
    /// The handshake was recognised (the client's greeting parsed whole).
    recognised: bool,
    dropped: bool,
}

impl Prelude {
    /// A prelude for a connection whose client's first byte is `first`: None unless it
    /// is a SOCKS version (4 or 5).
    pub fn starting_with(first: u8) -> Option<Self> {
        matches!(first, 4 | 5).then(Self::default)
    }

    /// Whether the handshake is over on both sides (or was dropped).
    pub fn is_over(&self) -> bool {
        self.dropped || (self.done[0] && self.done[1])
    }

    /// Whether this was a SOCKS handshake (recognised and not dropped).
    pub fn is_socks(&self) -> bool {
        self.recognised && !self.dropped
    }

    /// A gap or the end of a stream before the handshake was over: whatever is held goes
    /// back to the protocol above (a handshake is never guessed across a gap).
    pub fn give_up(&mut self) -> Vec<Held> {
        if self.is_over() {
            return Vec::new();
        }
        match self.drop_all(None) {
            Fed::NotSocks(back) => back,
            _ => Vec::new(),
        }
    }

    /// Bytes of one side at `offset`, from `frame`.
    pub fn data(&mut self, client: bool, offset: u64, bytes: &[u8], frame: FrameNo) -> Fed {
        let side = usize::from(!client);
        if self.dropped || self.done[side] {
            return Fed::Tunnel(offset);
        }
        if !client && !self.recognised && self.held[0].is_empty() {
            // A SOCKS proxy never speaks first.
            return self.drop_all(Some((1, offset, bytes, frame)));
        }
        if self.handshake.frames.0 == 0 {
            self.handshake.frames.0 = frame;
        }
        self.held[side].push((offset, bytes.to_vec(), frame));
        let buf: Vec<u8> = self.held[side]
            .iter()
            .flat_map(|(_, b, _)| b.iter().copied())
            .collect();
        let parsed = if client {
            self.client_side(&buf)
        } else {
            self.server_side(&buf)
        };
        match parsed {
            Parse::More if buf.len() > MAX_HANDSHAKE => self.drop_all(None),
            Parse::More => Fed::Taken,
            Parse::Bad => self.drop_all(None),
            Parse::Done(n) => {
                self.recognised = true;
                self.done[side] = true;
                self.handshake.bytes[side] = n as u64;
                self.handshake.frames.1 = frame;
                // Bytes past the handshake in what is held: the tunnel's, handed back.
                let start = self.held[side][0].0;
                self.held[side].clear();
                Fed::Tunnel(start + n as u64)
            }
        }
    }

    /// Gives up: every byte held goes back to the protocol above.
    fn drop_all(&mut self, also: Option<(usize, u64, &[u8], FrameNo)>) -> Fed {
        self.dropped = true;
        self.recognised = false;
        if let Some((side, offset, bytes, frame)) = also {
            self.held[side].push((offset, bytes.to_vec(), frame));
        }
        // The client's held bytes first: they came first.
        let mut back = Vec::new();
        for (side, held) in self.held.iter_mut().enumerate() {
            back.extend(held.drain(..).map(|(o, b, f)| (side == 0, o, b, f)));
        }
        Fed::NotSocks(back)
    }

    /// The client's messages, in order: SOCKS5 greeting, [RFC 1929 auth], request;
    /// or SOCKS4's one request.
    fn client_side(&mut self, b: &[u8]) -> Parse {
        match b.first() {
            Some(4) => self.socks4_request(b),
            Some(5) => self.socks5_client(b),
            _ => Parse::Bad,
        }
    }

    /// SOCKS4: VN=4, CD, DSTPORT(2), DSTIP(4), USERID, NUL; SOCKS4a: DSTIP 0.0.0.x
    /// (x not 0), then the host name and NUL.
    fn socks4_request(&mut self, b: &[u8]) -> Parse {
        if b.len() < 9 {
            return Parse::More;
        }
        let command = match b[1] {
            1 => "connect",
            2 => "bind",
            _ => return Parse::Bad,
        };
        let port = u16::from_be_bytes([b[2], b[3]]);
        let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
        let Some(user_end) = b[8..].iter().position(|&c| c == 0).map(|i| 8 + i) else {
            return Parse::More;
        };
        let mut end = user_end + 1;
        let o = ip.octets();
        let host = if o[0] == 0 && o[1] == 0 && o[2] == 0 && o[3] != 0 {
            let Some(name_end) = b[end..].iter().position(|&c| c == 0).map(|i| end + i) else {
                return Parse::More;
            };
            let name = String::from_utf8_lossy(&b[end..name_end]).into_owned();
            end = name_end + 1;
            self.handshake.variant = Some("4a".into());
            name
        } else {
            ip.to_string()
        };
        let h = &mut self.handshake;
        h.version = 4;
        h.command = Some(command.into());
        h.destination = Some(format!("{host}:{port}"));
        let user = String::from_utf8_lossy(&b[8..user_end]).into_owned();
        h.user = (!user.is_empty()).then_some(user);
        Parse::Done(end)
    }

    fn socks5_client(&mut self, b: &[u8]) -> Parse {
        // Greeting: VER, NMETHODS, METHODS.
        if b.len() < 2 {
            return Parse::More;
        }
        let n = b[1] as usize;
        if n == 0 {
            return Parse::Bad;
        }
        if b.len() < 2 + n {
            return Parse::More;
        }
        self.handshake.version = 5;
        self.handshake.offered = b[2..2 + n].iter().map(|&m| method_name(m)).collect();
        self.recognised = true;
        let mut at = 2 + n;
        // RFC 1929: VER=1, ULEN, UNAME, PLEN, PASSWD.
        if b.get(at) == Some(&1) {
            let Some(&ulen) = b.get(at + 1) else {
                return Parse::More;
            };
            let ulen = ulen as usize;
            let Some(&plen) = b.get(at + 2 + ulen) else {
                return Parse::More;
            };
            let end = at + 3 + ulen + plen as usize;
            if b.len() < end {
                return Parse::More;
            }
            self.handshake.user = Some(String::from_utf8_lossy(&b[at + 2..at + 2 + ulen]).into());
            at = end;
        }
        // Request: VER=5, CMD, RSV, ATYP, DST.ADDR, DST.PORT (RFC 1928 §4).
        let Some(rest) = b.get(at..).filter(|r| r.len() >= 4) else {
            return Parse::More;
        };
        if rest[0] != 5 {
            return Parse::Bad;
        }
        let command = match rest[1] {
            1 => "connect",
            2 => "bind",
            3 => "udp associate",
            _ => return Parse::Bad,
        };
        let Some((host, len)) = address(&rest[3..]) else {
            return if rest.len() < 262 {
                Parse::More
            } else {
                Parse::Bad
            };
        };
        self.handshake.command = Some(command.into());
        self.handshake.destination = Some(host);
        Parse::Done(at + 3 + len)
    }

    /// The proxy's messages: SOCKS4's 8-byte reply; SOCKS5's method choice, [auth
    /// status], reply (RFC 1928 §6).
    fn server_side(&mut self, b: &[u8]) -> Parse {
        match self.handshake.version {
            4 => {
                if b.len() < 8 {
                    return Parse::More;
                }
                if b[0] != 0 {
                    return Parse::Bad;
                }
                let (reply, granted) = match b[1] {
                    90 => ("request granted", true),
                    91 => ("request rejected or failed", false),
                    92 => (
                        "rejected: the proxy cannot reach the client's identd",
                        false,
                    ),
                    93 => ("rejected: identd reports a different user", false),
                    _ => return Parse::Bad,
                };
                self.handshake.reply = Some(reply.into());
                self.handshake.granted = granted;
                Parse::Done(8)
            }
            5 => {
                if b.len() < 2 {
                    return Parse::More;
                }
                if b[0] != 5 {
                    return Parse::Bad;
                }
                self.handshake.method = Some(method_name(b[1]));
                if b[1] == 0xff {
                    self.handshake.reply = Some("no acceptable authentication method".into());
                    return Parse::Done(2);
                }
                let mut at = 2;
                if b[1] == 2 {
                    let Some(status) = b.get(at..at + 2) else {
                        return Parse::More;
                    };
                    if status[1] != 0 {
                        self.handshake.reply = Some("authentication failed".into());
                        return Parse::Done(at + 2);
                    }
                    at += 2;
                }
                let Some(rest) = b.get(at..).filter(|r| r.len() >= 4) else {
                    return Parse::More;
                };
                if rest[0] != 5 {
                    return Parse::Bad;
                }
                let Some((_, len)) = address(&rest[3..]) else {
                    return Parse::More;
                };
                let reply = match rest[1] {
                    0 => "succeeded",
                    1 => "general SOCKS server failure",
                    2 => "connection not allowed by ruleset",
                    3 => "network unreachable",
                    4 => "host unreachable",
                    5 => "connection refused",
                    6 => "TTL expired",
                    7 => "command not supported",
                    8 => "address type not supported",
                    _ => return Parse::Bad,
                };
                self.handshake.reply = Some(reply.into());
                self.handshake.granted = rest[1] == 0;
                Parse::Done(at + 3 + len)
            }
            // The client's greeting was not seen: nothing to read the reply by.
            _ => Parse::Bad,
        }
    }
}

enum Parse {
    More,
    Bad,
    Done(usize),
}

/// ATYP, address and port (RFC 1928 §5): "host:port" and the bytes it took.
fn address(b: &[u8]) -> Option<(String, usize)> {
    let (host, len) = match *b.first()? {
        1 => {
            let o: [u8; 4] = b.get(1..5)?.try_into().ok()?;
            (Ipv4Addr::from(o).to_string(), 5)
        }
        3 => {
            let n = *b.get(1)? as usize;
            let name = b.get(2..2 + n)?;
            (String::from_utf8_lossy(name).into_owned(), 2 + n)
        }
        4 => {
            let o: [u8; 16] = b.get(1..17)?.try_into().ok()?;
            (format!("[{}]", Ipv6Addr::from(o)), 17)
        }
        _ => return None,
    };
    let port = b.get(len..len + 2)?;
    let port = u16::from_be_bytes([port[0], port[1]]);
    Some((format!("{host}:{port}"), len + 2))
}

/// A SOCKS5 authentication method in words (RFC 1928 §3).
fn method_name(m: u8) -> String {
    match m {
        0 => "no authentication".into(),
        1 => "GSSAPI".into(),
        2 => "username/password".into(),
        0xff => "none acceptable".into(),
        n => format!("method {n:#04x}"),
    }
}

/// A SOCKS handshake in words (the terminal and the HTML say the same).
fn sentences(h: &Handshake) -> Vec<String> {
    let name = match (h.version, h.variant.as_deref()) {
        (5, _) => "SOCKS5 (RFC 1928)".to_string(),
        (4, Some(v)) => format!("SOCKS{v} (the proxy resolves the name)"),
        (v, _) => format!("SOCKS{v}"),
    };
    let mut lines = vec![format!(
        "{name} handshake before the tunnelled bytes, frames {} to {}: the client talks to a \
         proxy, which connects on its behalf",
        h.frames.0, h.frames.1
    )];
    if !h.offered.is_empty() {
        lines.push(format!(
            "client offers {}; the proxy chose {}",
            h.offered.join(", "),
            h.method.as_deref().unwrap_or("(no answer in the capture)")
        ));
    }
    if let Some(u) = &h.user {
        lines.push(format!("user      {u}"));
    }
    lines.push(format!(
        "asks to   {} {}",
        h.command.as_deref().unwrap_or("?"),
        h.destination.as_deref().unwrap_or("?")
    ));
    lines.push(format!(
        "proxy     {}",
        h.reply.as_deref().unwrap_or("no answer in the capture")
    ));
    lines.push(format!(
        "then      the tunnelled stream: client bytes from {}, server bytes from {}",
        h.bytes[0], h.bytes[1]
    ));
    lines
}

#[cfg(test)]
mod tests;

/// SOCKS's record in the report model: the handshake before the protocol it tunnels.
/// Its JSON field is `socks`, last in the connection's object (before HTTP's `upgrade`).
impl crate::model::Record for Handshake {
    fn fields(
        &self,
        place: crate::model::Place,
        field: &mut dyn FnMut(&'static str, &dyn erased_serde::Serialize),
    ) {
        if place == crate::model::Place::Last {
            field("socks", self);
        }
    }

    fn clone_record(&self) -> Box<dyn crate::model::Record> {
        Box::new(self.clone())
    }

    /// SOCKS's section, shown with the layers above TCP.
    fn section(&self, _c: &crate::model::Connection) -> Option<crate::section::Section> {
        Some(crate::section::Section {
            title: "SOCKS",
            with_tcp: false,
            blocks: sentences(self)
                .into_iter()
                .map(crate::section::Block::Aligned)
                .collect(),
            table: None,
            terms: Vec::new(),
        })
    }
}

/// SOCKS's record read from a connection of the model.
pub trait ConnectionSocks {
    /// The SOCKS handshake the connection began with.
    fn socks(&self) -> Option<&Handshake>;
}

impl ConnectionSocks for crate::model::Connection {
    fn socks(&self) -> Option<&Handshake> {
        self.record::<Handshake>()
    }
}
