//! The built-in course server: plays data.pr4e.org offline. HTTP/1.1 responses with
//! `Connection: close` (the server ends each exchange by closing, as the course's
//! HTTP/1.0 client expects, RFC 1945 §7.2.2), Content-Type, Content-Length, Date and
//! Last-Modified. Bounded: a request head of at most [`MAX_HEAD`] bytes, sent whole
//! within [`READ_TIMEOUT`] (a slow typist or a slowloris gets 408 then, however it
//! trickles), at most [`MAX_CONNECTIONS`] connections at once and [`MAX_PER_CLIENT`]
//! from one address, so one client cannot starve the others: each connection is a
//! thread with a small stack ([`CONNECTION_STACK`]) blocked in its own read, which
//! costs a few pages while idle (a thousand idle connections: measured by
//! scripts/bench-serve.sh, in docs/testing.md).

use super::content;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

/// Largest request head accepted (RFC 9112 §2.3 leaves the limit to the server).
pub const MAX_HEAD: usize = 8 * 1024;
/// Time allowed to send the whole request head, from its first byte's wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more get 503.
pub const MAX_CONNECTIONS: usize = 4_096;
/// Connections one client address may hold at once; more get 503 (a browser opens 6).
pub const MAX_PER_CLIENT: usize = 256;
/// Stack of a connection's thread: its deepest use is the head parse (a 2 KB buffer,
/// 64 header slots) and writing the answer; bodies live on the heap.
pub const CONNECTION_STACK: usize = 128 * 1024;

/// A bound, not yet running server (bind before dropping privileges: port 80 needs them).
pub struct Server {
    listener: TcpListener,
    /// Speaks HTTPS: TLS (rustls) first, then the same HTTP.
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// A connection the server answers on: TCP, or TLS above it.
trait Wire: Read + Write {
    fn tcp(&self) -> &TcpStream;
    /// Says the last word: TLS's close_notify alert (RFC 8446 §6.1) before TCP's FIN.
    fn last_word(&mut self) {}
}

impl Wire for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Wire for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
    fn last_word(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
    }
}

/// Stack of a TLS connection's thread: the handshake's signature and key exchange
/// (ring) go deeper than HTTP's head parse.
const TLS_CONNECTION_STACK: usize = 512 * 1024;

/// A running server; stops when dropped or on [`RunningServer::stop`].
pub struct RunningServer {
    addr: SocketAddr,
    /// The listening socket, shut down to wake the accept loop from any namespace.
    listener: Option<TcpListener>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

/// One line per request served, for the `serve` command's log.
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;

/// Why the server could not listen on `addr`.
#[derive(Debug)]
pub struct BindError {
    pub addr: SocketAddr,
    pub error: io::Error,
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ip, port) = (self.addr.ip(), self.addr.port());
        match self.error.kind() {
            io::ErrorKind::AddrInUse => write!(
                f,
                "port {port} on {ip} is in use by another program; choose another with --listen \
                 {ip}:8081"
            ),
            io::ErrorKind::PermissionDenied => write!(
                f,
                "binding port {port} needs privileges (ports below 1024 are reserved for root); \
                 use a port of 1024 or more, e.g. --listen {ip}:8080"
            ),
            io::ErrorKind::AddrNotAvailable => write!(f, "{ip} is not an address of this machine"),
            _ => write!(f, "cannot listen on {}: {}", self.addr, self.error),
        }
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl Server {
    /// Binds the listening socket; the error says the usual failures plainly.
    pub fn bind(addr: SocketAddr) -> Result<Server, BindError> {
        TcpListener::bind(addr)
            .map(|listener| Server {
                listener,
                tls: None,
            })
            .map_err(|error| BindError { addr, error })
    }

    /// Speaks TLS with `config` on this port (HTTPS), then HTTP as on port 80.
    pub fn with_tls(mut self, config: Arc<rustls::ServerConfig>) -> Server {
        self.tls = Some(config);
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves in a background thread until stopped.
    pub fn spawn(self, log: Option<LogFn>) -> RunningServer {
        let addr = self.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let listener = self.listener.try_clone().ok();
        let thread = thread::spawn(move || self.serve(&flag, log));
        RunningServer {
            addr,
            listener,
            stop,
            thread: Some(thread),
        }
    }

    /// Serves until `stop` is set (checked after each accepted connection).
    pub fn serve(self, stop: &AtomicBool, log: Option<LogFn>) {
        raise_open_files_limit();
        let active = Arc::new(AtomicUsize::new(0));
        let per_client: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
        for conn in self.listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let mut conn = match conn {
                Ok(c) => c,
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
                Err(_) => continue,
            };
            let Ok(peer) = conn.peer_addr() else { continue };
            let Some(slot) = Slot::take(&active, &per_client, peer.ip()) else {
                busy(&mut conn);
                continue;
            };
            let log = log.clone();
            let spare = conn.try_clone();
            let tls = self.tls.clone();
            let spawned = thread::Builder::new()
                .stack_size(if tls.is_some() {
                    TLS_CONNECTION_STACK
                } else {
                    CONNECTION_STACK
                })
                .spawn(move || {
                    match tls.map(rustls::ServerConnection::new) {
                        Some(Ok(tls)) => {
                            handle(&mut rustls::StreamOwned::new(tls, conn), log.as_ref())
                        }
                        Some(Err(_)) => {}
                        None => handle(&mut { conn }, log.as_ref()),
                    }
                    drop(slot);
                });
            if let (Err(_), Ok(mut spare)) = (spawned, spare) {
                // No thread to be had (a system limit): the client is told, not hung.
                busy(&mut spare);
            }
        }
    }
}

/// Answers 503 to a connection over a bound, and closes it.
fn busy(conn: &mut TcpStream) {
    let busy = Reply::new(503, "Service Unavailable", "text/plain", b"busy\n".to_vec())
        .with("Retry-After", "1");
    let _ = conn.write_all(&busy.bytes(false, false));
    close(conn);
}

/// A connection's place under [`MAX_CONNECTIONS`] and [`MAX_PER_CLIENT`], given back
/// when dropped.
struct Slot {
    active: Arc<AtomicUsize>,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Slot {
    fn take(
        active: &Arc<AtomicUsize>,
        per_client: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        ip: IpAddr,
    ) -> Option<Slot> {
        let mut clients = per_client.lock().unwrap_or_else(|e| e.into_inner());
        let mine = clients.entry(ip).or_insert(0);
        if *mine >= MAX_PER_CLIENT || active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            return None;
        }
        *mine += 1;
        active.fetch_add(1, Ordering::SeqCst);
        Some(Slot {
            active: active.clone(),
            per_client: per_client.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::SeqCst);
        let mut clients = self.per_client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = clients.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                clients.remove(&self.ip);
            }
        }
    }
}

/// Lets the process hold a descriptor for every connection it may serve: the soft
/// limit on open files (often 1,024) raised to the hard one.
pub fn raise_open_files_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop: on Linux, shutting a listening socket down makes a
        // blocked accept() return (with EINVAL), wherever the caller is.
        if let Some(l) = self.listener.take() {
            use std::os::fd::AsRawFd;
            // SAFETY: shutdown on a descriptor we own.
            unsafe { libc::shutdown(l.as_raw_fd(), libc::SHUT_RDWR) };
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Requests answered on one kept-alive connection at most (Apache's MaxKeepAliveRequests).
pub const MAX_KEEP_ALIVE_REQUESTS: usize = 100;
/// How long a kept-alive connection waits for the next request (Apache's KeepAliveTimeout).
pub const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Answers the requests of one connection: one for HTTP/1.0 (then it closes, RFC 1945
/// §7.2.2... the course's client reads until the close), several for HTTP/1.1, which
/// keeps the connection open unless the client says `Connection: close` (RFC 9112
/// §9.3). Logs one line per request.
fn handle(conn: &mut impl Wire, log: Option<&LogFn>) {
    let Ok(peer) = conn.tcp().peer_addr() else {
        return;
    };
    let say = |line: String| {
        if let Some(log) = log {
            log(&line);
        }
    };
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    for served in 0..MAX_KEEP_ALIVE_REQUESTS {
        // The head is due whole READ_TIMEOUT after its wait began; a kept-alive
        // connection waits KEEP_ALIVE_TIMEOUT for the next request's first byte.
        let waiting = std::time::Instant::now();
        let failure = loop {
            let due = if served > 0 && buf.is_empty() {
                KEEP_ALIVE_TIMEOUT
            } else {
                READ_TIMEOUT
            };
            let left = due.saturating_sub(waiting.elapsed());
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let (method, target) = (req.method.unwrap_or(""), req.path.unwrap_or(""));
                    let keep_alive = req.version == Some(1)
                        && !header_has(req.headers, "connection", "close")
                        && served + 1 < MAX_KEEP_ALIVE_REQUESTS;
                    let answer = answer(method, target, req.headers, keep_alive);
                    let line = first_line(&buf);
                    buf.drain(..head_len);
                    let _ = conn.write_all(&answer.bytes);
                    say(format!("{peer} \"{line}\" {}", answer.status));
                    if !(keep_alive && answer.keep_alive) {
                        close(conn);
                        return;
                    }
                    break None;
                }
                Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                    break Some((431, "Request Header Fields Too Large"));
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => break Some((400, "Bad Request")),
            }
            if left.is_zero() || conn.tcp().set_read_timeout(Some(left)).is_err() {
                if served > 0 && buf.is_empty() {
                    close(conn);
                    return;
                }
                break Some((408, "Request Timeout"));
            }
            match conn.read(&mut chunk) {
                // Closed before a byte of a request (a browser's unused preconnect), or
                // a kept-alive connection closed or idle between requests: done, quietly.
                Ok(0) if buf.is_empty() => {
                    close(conn);
                    return;
                }
                Err(_) if served > 0 && buf.is_empty() => {
                    close(conn);
                    return;
                }
                Ok(0) => break Some((400, "Bad Request")),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(_) => break Some((408, "Request Timeout")),
            }
        };
        if let Some((status, reason)) = failure {
            let line = first_line(&buf);
            let body =
                format!("{status} {reason}: the request was not a complete HTTP request head\n");
            let reply = Reply::new(status, reason, "text/plain", body.into_bytes());
            let _ = conn.write_all(&reply.bytes(false, false));
            close(conn);
            say(format!("{peer} \"{line}\" {status}"));
            return;
        }
    }
    close(conn);
}

/// Whether header `name` holds `token` (case-insensitive, comma-separated).
fn header_has(headers: &[httparse::Header<'_>], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .flat_map(|h| {
            String::from_utf8_lossy(h.value)
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .any(|t| t == token)
}

fn header<'h>(
    headers: &'h [httparse::Header<'_>],
    name: &str,
) -> Option<std::borrow::Cow<'h, str>> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| String::from_utf8_lossy(h.value))
}

/// Ends the connection gracefully: FIN after the response, then wait (briefly) for the
/// client's FIN so that unread request bytes do not turn the close into a RST.
fn close(conn: &mut impl Wire) {
    conn.last_word();
    let _ = conn.tcp().shutdown(Shutdown::Write);
    let _ = conn.tcp().set_read_timeout(Some(Duration::from_secs(2)));
    let mut sink = [0u8; 1024];
    while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
}

fn first_line(buf: &[u8]) -> String {
    let end = buf
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(buf.len())
        .min(200);
    String::from_utf8_lossy(&buf[..end]).trim_end().to_string()
}

struct Answer {
    status: u16,
    bytes: Vec<u8>,
    /// Whether the connection may stay open after it (not after an error).
    keep_alive: bool,
}

/// A response before it is written out.
struct Reply {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    /// Fields before Content-Length, and after it.
    extra: Vec<(&'static str, String)>,
    after_length: Vec<(&'static str, String)>,
    /// A 304 has no body but keeps the Content-Length of the document (RFC 9110 §15.4.5
    /// allows it; Apache sends none, nor do we).
    no_length: bool,
}

impl Reply {
    fn new(status: u16, reason: &'static str, content_type: &'static str, body: Vec<u8>) -> Self {
        Reply {
            status,
            reason,
            content_type,
            body,
            extra: Vec::new(),
            after_length: Vec::new(),
            no_length: false,
        }
    }

    /// The fields Apache gives a static file, as in the book's answer for romeo.txt.
    fn document(mut self, etag: String) -> Self {
        self.extra
            .push(("Last-Modified", content::LAST_MODIFIED.into()));
        self.extra.push(("ETag", etag));
        self.extra.push(("Accept-Ranges", "bytes".into()));
        self.after_length.push((
            "Cache-Control",
            "max-age=0, no-cache, no-store, must-revalidate".into(),
        ));
        self.after_length.push(("Pragma", "no-cache".into()));
        self.after_length
            .push(("Expires", "Wed, 11 Jan 1984 05:00:00 GMT".into()));
        self
    }

    fn with(mut self, name: &'static str, value: &str) -> Self {
        self.extra.push((name, value.to_string()));
        self
    }

    /// The response's bytes; without the body for HEAD (RFC 9110 §9.3.2), though
    /// Content-Length still gives its length.
    fn bytes(&self, head_only: bool, keep_alive: bool) -> Vec<u8> {
        use std::fmt::Write as _;
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nDate: {}\r\nServer: wirelab-course-server\r\n",
            self.status,
            self.reason,
            httpdate::fmt_http_date(SystemTime::now())
        );
        for (k, v) in &self.extra {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        if !self.no_length {
            let _ = write!(head, "Content-Length: {}\r\n", self.body.len());
        }
        for (k, v) in &self.after_length {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        if keep_alive {
            let _ = write!(
                head,
                "Keep-Alive: timeout={}, max={MAX_KEEP_ALIVE_REQUESTS}\r\nConnection: Keep-Alive\r\n",
                KEEP_ALIVE_TIMEOUT.as_secs()
            );
        } else {
            head.push_str("Connection: close\r\n");
        }
        if !self.no_length {
            let _ = write!(head, "Content-Type: {}\r\n", self.content_type);
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if !head_only && !self.no_length {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

/// What the server answers to `method target`.
fn answer(
    method: &str,
    target: &str,
    headers: &[httparse::Header<'_>],
    keep_alive: bool,
) -> Answer {
    // Methods are case-sensitive (RFC 9110 §9.1): `Get` is not GET.
    let head_only = method == "HEAD";
    let path = origin_path(target);
    let reply = if method != "GET" && !head_only {
        let body = format!(
            "501 Not Implemented: this server knows GET and HEAD; methods are case-sensitive, \
             so \"{method}\" is not one of them\n"
        );
        Reply::new(501, "Not Implemented", "text/plain", body.into_bytes())
            .with("Allow", "GET, HEAD")
    } else if path == "/guess.htm" {
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        let query = query.split('#').next().unwrap_or("");
        Reply::new(
            200,
            "OK",
            "text/html",
            content::guess_page(query).into_bytes(),
        )
    } else if let Some(doc) = content::document(path) {
        // Text is sent gzip-coded to a client that accepts it (RFC 9110 §8.4.1), as
        // Apache's mod_deflate does, with its own ETag; a browser asks for that.
        let gzip = doc.content_type.starts_with("text/")
            && header(headers, "accept-encoding").is_some_and(|a| {
                a.split(',').any(|t| {
                    t.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .eq_ignore_ascii_case("gzip")
                })
            });
        let (body, etag) = if gzip {
            let coded = gzip_bytes(doc.body);
            let tag = content::etag(doc.body.len());
            (coded, format!("{}-gzip\"", tag.trim_end_matches('"')))
        } else {
            (doc.body.to_vec(), content::etag(doc.body.len()))
        };
        let mut reply = Reply::new(200, "OK", doc.content_type, body).document(etag.clone());
        if gzip {
            reply.after_length.push(("Vary", "Accept-Encoding".into()));
            reply.after_length.push(("Content-Encoding", "gzip".into()));
        }
        if not_modified(headers, &etag) {
            // A conditional GET of a copy the client has (RFC 9110 §13.1): 304, no body.
            Reply {
                status: 304,
                reason: "Not Modified",
                no_length: true,
                ..reply
            }
        } else {
            reply
        }
    } else if let Some(to) = content::redirect(path) {
        let body = format!("<p>The document has moved <a href=\"{to}\">here</a>.</p>\n");
        Reply::new(302, "Found", "text/html", body.into_bytes()).with("Location", to)
    } else {
        let body = format!(
            "<h1>Not Found</h1>\n<p>The requested URL {path} was not found on this server.</p>\n"
        );
        Reply::new(404, "Not Found", "text/html", body.into_bytes())
    };
    Answer {
        status: reply.status,
        bytes: reply.bytes(head_only, keep_alive && reply.status < 500),
        keep_alive: reply.status < 500,
    }
}

/// `body` gzip-coded (RFC 1952).
fn gzip_bytes(body: &[u8]) -> Vec<u8> {
    use flate2::{Compression, write::GzEncoder};
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    let _ = e.write_all(body);
    e.finish().unwrap_or_default()
}

/// Whether a conditional request's validators match the document: If-None-Match
/// decides when present, else If-Modified-Since (RFC 9110 §13.2.2).
fn not_modified(headers: &[httparse::Header<'_>], etag: &str) -> bool {
    if let Some(tags) = header(headers, "if-none-match") {
        return tags.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        });
    }
    header(headers, "if-modified-since")
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .zip(httpdate::parse_http_date(content::LAST_MODIFIED).ok())
        .is_some_and(|(since, modified)| modified <= since)
}

/// The path of an origin-form (`/romeo.txt`) or absolute-form
/// (`http://data.pr4e.org/romeo.txt`, RFC 9112 §3.2.2) target, without its query.
pub fn origin_path(target: &str) -> &str {
    let path = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    path.split(['?', '#']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(server: &RunningServer, request: &[u8]) -> Vec<u8> {
        let mut c = TcpStream::connect(server.addr()).unwrap();
        c.write_all(request).unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_the_course_documents_and_errors() {
        let server = Server::bind("127.0.0.1:0".parse().unwrap())
            .unwrap()
            .spawn(None);
        let romeo = ask(
            &server,
            b"GET http://data.pr4e.org/romeo.txt HTTP/1.0\r\n\r\n",
        );
        let text = String::from_utf8_lossy(&romeo);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Type: text/plain\r\n"));
        assert!(text.contains("Content-Length: 167\r\n"));
        assert!(text.ends_with(content::ROMEO));
        // The course notes' `\n\n` variant is still a request.
        let lf = ask(&server, b"GET http://data.pr4e.org/romeo.txt HTTP/1.0\n\n");
        assert!(lf.starts_with(b"HTTP/1.1 200 OK"));
        assert!(ask(&server, b"GET /nothing HTTP/1.0\r\n\r\n").starts_with(b"HTTP/1.1 404 "));
        // What the course notes link: page1.html (one slide's spelling) and page1.htm,
        // the page2.htm that page1 links to, and an index at /.
        for (request, holds) in [
            (
                b"GET http://dr-chuck.com/page1.html HTTP/1.0\r\n\r\n".as_slice(),
                "The First Page",
            ),
            (
                b"GET /page1.htm HTTP/1.0\r\nHost: www.dr-chuck.com\r\n\r\n",
                "The First Page",
            ),
            (b"GET /page2.htm HTTP/1.0\r\n\r\n", "The Second Page"),
            (b"GET / HTTP/1.0\r\n\r\n", "href=\"/page1.htm\""),
        ] {
            let text = String::from_utf8(ask(&server, request)).unwrap();
            assert!(
                text.starts_with("HTTP/1.1 200 OK\r\n") && text.contains(holds),
                "{text}"
            );
        }
        let moved = String::from_utf8(ask(&server, b"GET /old HTTP/1.0\r\n\r\n")).unwrap();
        assert!(
            moved.starts_with("HTTP/1.1 302 Found") && moved.contains("Location: /romeo.txt\r\n")
        );
        assert!(ask(&server, b"Get /romeo.txt HTTP/1.0\r\n\r\n").starts_with(b"HTTP/1.1 501 "));
        assert!(ask(&server, b"\x01\x02 nonsense\r\n\r\n").starts_with(b"HTTP/1.1 400 "));
        let big = [b"GET / HTTP/1.0\r\nX: ".as_slice(), &[b'a'; MAX_HEAD + 10]].concat();
        assert!(ask(&server, &big).starts_with(b"HTTP/1.1 431 "));
        let head = ask(&server, b"HEAD /cover3.jpg HTTP/1.0\r\n\r\n");
        assert!(head.ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn romeo_is_answered_with_the_books_fields_and_is_longer_than_512() {
        let server = Server::bind("127.0.0.1:0".parse().unwrap())
            .unwrap()
            .spawn(None);
        let romeo = ask(
            &server,
            b"GET http://data.pr4e.org/romeo.txt HTTP/1.0\r\n\r\n",
        );
        let text = String::from_utf8_lossy(&romeo);
        let names: Vec<&str> = text
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(':').next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Date",
                "Server",
                "Last-Modified",
                "ETag",
                "Accept-Ranges",
                "Content-Length",
                "Cache-Control",
                "Pragma",
                "Expires",
                "Connection",
                "Content-Type"
            ]
        );
        assert!(text.contains("ETag: \"a7-54f6609245537\"\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"));
        assert!(romeo.len() > 512, "{} bytes", romeo.len());
    }

    #[test]
    fn http_1_1_keeps_the_connection_and_validators_get_304() {
        let server = Server::bind("127.0.0.1:0".parse().unwrap())
            .unwrap()
            .spawn(None);
        let mut c = TcpStream::connect(server.addr()).unwrap();
        c.write_all(b"GET /romeo.txt HTTP/1.1\r\nHost: data.pr4e.org\r\n\r\n")
            .unwrap();
        let mut first = vec![0u8; 4096];
        let n = c.read(&mut first).unwrap();
        let first = String::from_utf8_lossy(&first[..n]).to_string();
        assert!(first.contains("Connection: Keep-Alive\r\n"), "{first}");
        assert!(first.ends_with(content::ROMEO), "{first}");
        // The same connection answers a conditional GET with 304, then closes on request.
        c.write_all(
            b"GET /romeo.txt HTTP/1.1\r\nHost: data.pr4e.org\r\nIf-None-Match: \"a7-54f6609245537\"\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        let rest = String::from_utf8_lossy(&rest);
        assert!(rest.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{rest}");
        assert!(rest.ends_with("\r\n\r\n") && rest.contains("Connection: close"));
        let since = ask(
            &server,
            b"GET /romeo.txt HTTP/1.0\r\nIf-Modified-Since: Sun, 14 May 2017 00:00:00 GMT\r\n\r\n",
        );
        assert!(since.starts_with(b"HTTP/1.1 304 "));
        let older = ask(
            &server,
            b"GET /romeo.txt HTTP/1.0\r\nIf-Modified-Since: Fri, 12 May 2017 00:00:00 GMT\r\n\r\n",
        );
        assert!(older.starts_with(b"HTTP/1.1 200 "));
    }

    #[test]
    fn text_is_gzipped_for_those_who_accept_it_and_the_form_is_answered() {
        let server = Server::bind("127.0.0.1:0".parse().unwrap())
            .unwrap()
            .spawn(None);
        let r = ask(
            &server,
            b"GET /page1.htm HTTP/1.0\r\nAccept-Encoding: gzip, deflate\r\n\r\n",
        );
        let at = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&r[..at]);
        assert!(head.contains("Content-Encoding: gzip"), "{head}");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&r[at + 4..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, content::PAGE1);
        let plain = ask(&server, b"GET /page1.htm HTTP/1.0\r\n\r\n");
        assert!(plain.ends_with(content::PAGE1.as_bytes()));
        let guess = String::from_utf8(ask(
            &server,
            b"GET /guess.htm?guess=12&x=14&abc=a%3Cb HTTP/1.0\r\n\r\n",
        ))
        .unwrap();
        assert!(guess.contains("<li>guess = 12</li>") && guess.contains("<li>abc = a&lt;b</li>"));
    }

    #[test]
    fn a_half_request_then_close_gets_400_not_a_hang() {
        let server = Server::bind("127.0.0.1:0".parse().unwrap())
            .unwrap()
            .spawn(None);
        let mut c = TcpStream::connect(server.addr()).unwrap();
        c.write_all(b"GET /romeo.txt HTTP/1.0\r\n").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        assert!(out.starts_with(b"HTTP/1.1 400 "));
    }

    #[test]
    fn targets_become_paths() {
        assert_eq!(origin_path("http://data.pr4e.org/romeo.txt"), "/romeo.txt");
        assert_eq!(origin_path("http://data.pr4e.org"), "/");
        assert_eq!(origin_path("/a.txt?x=1"), "/a.txt");
    }

    #[test]
    fn a_port_in_use_is_said_plainly() {
        let first = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let e = Server::bind(first.local_addr()).err().unwrap();
        assert_eq!(e.error.kind(), io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains("in use"), "{e}");
    }
}
