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
pub fn prepare(url: &str, opts: &FetchOptions) -> Result<PreparedFetch, String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        format!("{url:?} is not a URL ({e}); write it in full, e.g. http://data.pr4e.org/romeo.txt")
    })?;
    if parsed.scheme() != "http" {
        return Err(format!(
            "{url}: only http:// URLs can be fetched with a plain socket ({} needs TLS)",
            parsed.scheme()
        ));
    }
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let remote = match opts.connect {
        Some(a) => a,
        None => (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| {
                format!(
                    "cannot find the address of {host} ({e}): without a network, start the \
                     course server (`wirelab serve`) and add --connect 127.0.0.1:8080"
                )
            })?
            .next()
            .ok_or_else(|| format!("{host} has no address"))?,
    };
    let socket = Socket::new(
        Domain::for_address(remote),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(|e| format!("cannot make a socket: {e}"))?;
    if let Some(mss) = opts.mss {
        socket
            .set_tcp_mss(mss)
            .map_err(|e| format!("cannot set the MSS to {mss}: {e}"))?;
    }
    let any: SocketAddr = if remote.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    socket
        .bind(&any.into())
        .map_err(|e| format!("cannot bind a local port: {e}"))?;
    let local = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .ok_or("the bound socket has no address")?;
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
    pub fn run(self) -> Result<Fetch, String> {
        let remote = self.remote;
        self.socket
            .connect_timeout(&remote.into(), self.opts.connect_timeout)
            .map_err(|e| connect_error(remote, &e))?;
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
                .map_err(|e| format!("sending the request to {remote}: {e}"))?;
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
            .map_err(|e| e.to_string())?;
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
                    return Err(format!(
                        "{remote} sent nothing for {} s and did not close the connection",
                        self.opts.recv_timeout.as_secs()
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
                Err(e) => return Err(format!("receiving from {remote}: {e}")),
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

fn connect_error(remote: SocketAddr, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!(
            "connection refused by {remote}: nothing listens on port {} there (start the course \
             server with `wirelab serve --listen {remote}`)",
            remote.port()
        ),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            format!("no answer from {remote}: the SYN was not answered in time")
        }
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
            format!("{remote} is unreachable from this machine (no route to it)")
        }
        _ => format!("cannot connect to {remote}: {e}"),
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
        assert!(e.contains("refused"), "{e}");
        assert!(
            prepare("data.pr4e.org/romeo.txt", &opts)
                .err()
                .unwrap()
                .contains("not a URL")
        );
        assert!(prepare("https://x/", &opts).err().unwrap().contains("TLS"));
    }
}
