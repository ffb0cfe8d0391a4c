//! The course's socket client, in Rust: connect, send exactly `GET <url> HTTP/1.0`
//! and a blank line (RFC 1945 §5: an HTTP/1.0 request needs no Host), then `recv`
//! with a fixed buffer size until the server closes, noting the size and time of every
//! call. The socket is made and bound before it connects, so a capture can be started
//! on its exact ports first.

use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How to fetch.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// The `recv` buffer size (the course uses 512, and 5120 for the picture).
    pub recv_size: usize,
    /// `TCP_MAXSEG` for the connection: small values make segmentation visible on loopback.
    pub mss: Option<u32>,
    /// Connect here instead of the URL's host (the request line still names the URL).
    pub connect: Option<SocketAddr>,
    /// End the request with `\n\n`, as a slip in the course notes does.
    pub bare_lf: bool,
    /// Send only the path (`GET /romeo.txt`, origin-form, RFC 9112 §3.2.1) instead of
    /// the whole URL (absolute-form, as the course does).
    pub origin_form: bool,
    pub connect_timeout: Duration,
    /// Longest wait for any one `recv`.
    pub recv_timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            recv_size: 512,
            mss: None,
            connect: None,
            bare_lf: false,
            origin_form: false,
            connect_timeout: Duration::from_secs(5),
            recv_timeout: Duration::from_secs(10),
        }
    }
}

/// A socket ready to connect.
pub struct PreparedFetch {
    socket: Socket,
    local: SocketAddr,
    remote: SocketAddr,
    request: Vec<u8>,
    opts: FetchOptions,
}

/// What the fetch did and received.
#[derive(Debug)]
pub struct Fetch {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub request: Vec<u8>,
    /// Every send and recv, in the form of a traced program's calls (the last recv
    /// returned 0: the server closed).
    pub calls: Vec<crate::trace::Call>,
    /// Every byte received, in order.
    pub received: Vec<u8>,
}

impl Fetch {
    /// The sizes the recv calls returned, the closing 0 left out.
    pub fn recv_sizes(&self) -> Vec<u64> {
        self.calls
            .iter()
            .filter(|c| c.way == crate::trace::Way::Recv && c.returned > 0)
            .map(|c| c.returned as u64)
            .collect()
    }
}

/// Parses the URL, resolves where to connect, makes and binds the socket.
pub fn prepare(url: &str, opts: &FetchOptions) -> Result<PreparedFetch, FetchError> {
    let parsed = url::Url::parse(url).map_err(|source| FetchError::NotAUrl {
        url: url.to_string(),
        source,
    })?;
    if parsed.scheme() != "http" {
        return Err(FetchError::NotHttp {
            url: url.to_string(),
            scheme: parsed.scheme().to_string(),
        });
    }
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let remote = match opts.connect {
        Some(a) => a,
        None => (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|source| FetchError::NoAddress {
                host: host.clone(),
                source: Some(source),
            })?
            .next()
            .ok_or_else(|| FetchError::NoAddress {
                host: host.clone(),
                source: None,
            })?,
    };
    let socket = Socket::new(
        Domain::for_address(remote),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(|e| FetchError::Socket("make a socket".into(), e))?;
    if let Some(mss) = opts.mss {
        socket
            .set_tcp_mss(mss)
            .map_err(|e| FetchError::Socket(format!("set the MSS to {mss}"), e))?;
    }
    let any: SocketAddr = if remote.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    socket
        .bind(&any.into())
        .map_err(|e| FetchError::Socket("bind a local port".into(), e))?;
    let local = socket
        .local_addr()
        .and_then(|a| {
            a.as_socket()
                .ok_or_else(|| io::Error::other("not an IP socket"))
        })
        .map_err(|e| FetchError::Socket("read the bound socket's address".into(), e))?;
    let end = if opts.bare_lf { "\n\n" } else { "\r\n\r\n" };
    let target = if opts.origin_form {
        match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_string(),
        }
    } else {
        url.to_string()
    };
    let request = format!("GET {target} HTTP/1.0{end}").into_bytes();
    Ok(PreparedFetch {
        socket,
        local,
        remote,
        request,
        opts: opts.clone(),
    })
}

impl PreparedFetch {
    /// The local port is fixed; the local address is the one the kernel will pick for
    /// `remote` (unspecified until connect).
    pub fn local_port(&self) -> u16 {
        self.local.port()
    }
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Connects, sends the request, and receives until the server closes.
    pub fn run(self) -> Result<Fetch, FetchError> {
        let remote = self.remote;
        self.socket
            .connect_timeout(&remote.into(), self.opts.connect_timeout)
            .map_err(|source| FetchError::Connect { remote, source })?;
        let mut stream: TcpStream = self.socket.into();
        let local = stream.local_addr().unwrap_or(self.local);
        let (pid, tid) = (std::process::id(), nix::unistd::gettid().as_raw() as u32);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        let call = |way, syscall: &str, asked: usize, returned: usize| crate::trace::Call {
            pid,
            tid,
            syscall: syscall.into(),
            way,
            fd,
            asked: asked as u64,
            returned: returned as i64,
            ts_us: now_us(),
            local: local.to_string(),
            remote: remote.to_string(),
        };
        let mut calls = Vec::new();
        let mut sent = 0;
        while sent < self.request.len() {
            let n = (&stream)
                .write(&self.request[sent..])
                .map_err(|source| FetchError::Send { remote, source })?;
            calls.push(call(
                crate::trace::Way::Send,
                "send",
                self.request.len() - sent,
                n,
            ));
            sent += n;
        }
        stream
            .set_read_timeout(Some(self.opts.recv_timeout))
            .map_err(|e| FetchError::Socket("set the receive timeout".into(), e))?;
        let size = self.opts.recv_size.max(1);
        let mut buf = vec![0u8; size];
        let mut received = Vec::new();
        loop {
            match stream.read(&mut buf) {
                Ok(0) => {
                    calls.push(call(crate::trace::Way::Recv, "recv", size, 0));
                    break;
                }
                Ok(n) => {
                    calls.push(call(crate::trace::Way::Recv, "recv", size, n));
                    received.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(FetchError::Silent {
                        remote,
                        secs: self.opts.recv_timeout.as_secs(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
                Err(source) => return Err(FetchError::Receive { remote, source }),
            }
        }
        Ok(Fetch {
            local,
            remote,
            request: self.request,
            calls,
            received,
        })
    }
}

/// Why the course client's fetch failed, in words a student can act on.
#[derive(Debug)]
pub enum FetchError {
    NotAUrl {
        url: String,
        source: url::ParseError,
    },
    /// Only http:// goes over a plain socket.
    NotHttp { url: String, scheme: String },
    /// The name has no address (or could not be looked up).
    NoAddress {
        host: String,
        source: Option<io::Error>,
    },
    /// A step of making the socket: what it was, and why.
    Socket(String, io::Error),
    Connect {
        remote: SocketAddr,
        source: io::Error,
    },
    Send {
        remote: SocketAddr,
        source: io::Error,
    },
    /// The server neither sent nor closed within the receive timeout.
    Silent { remote: SocketAddr, secs: u64 },
    Receive {
        remote: SocketAddr,
        source: io::Error,
    },
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::NotAUrl { url, source } => write!(
                f,
                "{url:?} is not a URL ({source}); write it in full, e.g. http://data.pr4e.org/romeo.txt"
            ),
            FetchError::NotHttp { url, scheme } => write!(
                f,
                "{url}: only http:// URLs can be fetched with a plain socket ({scheme} needs TLS)"
            ),
            FetchError::NoAddress {
                host,
                source: Some(e),
            } => write!(
                f,
                "cannot find the address of {host} ({e}): without a network, start the \
                 course server (`wirelab serve`) and add --connect 127.0.0.1:8080"
            ),
            FetchError::NoAddress { host, source: None } => write!(f, "{host} has no address"),
            FetchError::Socket(what, e) => write!(f, "cannot {what}: {e}"),
            FetchError::Connect { remote, source } => match source.kind() {
                io::ErrorKind::ConnectionRefused => write!(
                    f,
                    "connection refused by {remote}: nothing listens on port {} there (start \
                     the course server with `wirelab serve --listen {remote}`)",
                    remote.port()
                ),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    write!(
                        f,
                        "no answer from {remote}: the SYN was not answered in time"
                    )
                }
                io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
                    write!(
                        f,
                        "{remote} is unreachable from this machine (no route to it)"
                    )
                }
                _ => write!(f, "cannot connect to {remote}: {source}"),
            },
            FetchError::Send { remote, source } => {
                write!(f, "sending the request to {remote}: {source}")
            }
            FetchError::Silent { remote, secs } => write!(
                f,
                "{remote} sent nothing for {secs} s and did not close the connection"
            ),
            FetchError::Receive { remote, source } => {
                write!(f, "receiving from {remote}: {source}")
            }
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::NotAUrl { source, .. } => Some(source),
            FetchError::NoAddress { source, .. } => source.as_ref().map(|e| e as _),
            FetchError::Socket(_, e) => Some(e),
            FetchError::Connect { source, .. }
            | FetchError::Send { source, .. }
            | FetchError::Receive { source, .. } => Some(source),
            FetchError::NotHttp { .. } | FetchError::Silent { .. } => None,
        }
    }
}

/// Microseconds since the epoch, the clock of capture timestamps.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// What the course does to save a picture: find the blank line `\r\n\r\n` and keep what
/// follows it. `None` when there is no blank line.
pub fn body_after_blank_line(received: &[u8]) -> Option<&[u8]> {
    crate::http::message::find(received, b"\r\n\r\n").map(|i| &received[i + 4..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::content;
    use crate::lab::server::Server;

    #[test]
    fn fetches_romeo_with_recv_512_and_logs_every_call() {
        let server = Server::bind("127.0.0.1:0".parse().unwrap())
            .unwrap()
            .spawn(None);
        let opts = FetchOptions {
            connect: Some(server.addr()),
            ..Default::default()
        };
        let f = prepare("http://data.pr4e.org/romeo.txt", &opts)
            .unwrap()
            .run()
            .unwrap();
        assert_eq!(
            f.request,
            b"GET http://data.pr4e.org/romeo.txt HTTP/1.0\r\n\r\n"
        );
        assert_eq!(
            f.recv_sizes().iter().sum::<u64>() as usize,
            f.received.len()
        );
        assert!(f.recv_sizes().iter().all(|n| *n <= 512));
        assert_eq!(
            body_after_blank_line(&f.received),
            Some(content::ROMEO.as_bytes())
        );
    }

    #[test]
    fn refused_and_bad_urls_say_so() {
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let opts = FetchOptions {
            connect: Some(free),
            ..Default::default()
        };
        let e = prepare("http://data.pr4e.org/romeo.txt", &opts)
            .unwrap()
            .run()
            .unwrap_err();
        assert!(matches!(e, FetchError::Connect { .. }), "{e}");
        assert!(e.to_string().contains("refused"), "{e}");
        assert!(matches!(
            prepare("data.pr4e.org/romeo.txt", &opts),
            Err(FetchError::NotAUrl { .. })
        ));
        let tls = prepare("https://x/", &opts).err().unwrap();
        assert!(matches!(tls, FetchError::NotHttp { .. }), "{tls}");
        assert!(tls.to_string().contains("TLS"));
    }
}
