//! The built-in course server: plays data.pr4e.org offline. HTTP/1.1 responses with
//! `Connection: close` (the server ends each exchange by closing, as the course's
//! HTTP/1.0 client expects, RFC 1945 §7.2.2), Content-Type, Content-Length, Date and
//! Last-Modified. Bounded: a request head of at most [`MAX_HEAD`] bytes, read within
//! [`READ_TIMEOUT`], at most [`MAX_CONNECTIONS`] connections at once.

use super::content;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, SystemTime};

/// Largest request head accepted (RFC 9112 §2.3 leaves the limit to the server).
pub const MAX_HEAD: usize = 8 * 1024;
/// Time allowed to send the whole request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more get 503.
pub const MAX_CONNECTIONS: usize = 64;

/// A bound, not yet running server (bind before dropping privileges: port 80 needs them).
pub struct Server {
    listener: TcpListener,
}

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

impl Server {
    /// Binds the listening socket, with a plain message for the usual failures.
    pub fn bind(addr: SocketAddr) -> Result<Server, String> {
        TcpListener::bind(addr)
            .map(|listener| Server { listener })
            .map_err(|e| match e.kind() {
                io::ErrorKind::AddrInUse => format!(
                    "port {} on {} is in use by another program; choose another with --listen {}:8081",
                    addr.port(),
                    addr.ip(),
                    addr.ip()
                ),
                io::ErrorKind::PermissionDenied => format!(
                    "binding port {} needs privileges (ports below 1024 are reserved for root); \
                     use a port of 1024 or more, e.g. --listen {}:8080",
                    addr.port(),
                    addr.ip()
                ),
                io::ErrorKind::AddrNotAvailable => {
                    format!("{} is not an address of this machine", addr.ip())
                }
                _ => format!("cannot listen on {addr}: {e}"),
            })
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
        let active = Arc::new(AtomicUsize::new(0));
        for conn in self.listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let mut conn = match conn {
                Ok(c) => c,
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
                Err(_) => continue,
            };
            if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                let busy = Reply::new(503, "Service Unavailable", "text/plain", b"busy\n".to_vec());
                let _ = conn.write_all(&busy.bytes(false));
                active.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let active = active.clone();
            let log = log.clone();
            thread::spawn(move || {
                let line = handle(&mut conn);
                if let (Some(log), Some(line)) = (log, line) {
                    log(&line);
                }
                active.fetch_sub(1, Ordering::SeqCst);
            });
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

/// Reads one request head, answers it and closes. Returns a log line.
fn handle(conn: &mut TcpStream) -> Option<String> {
    let peer = conn.peer_addr().ok()?;
    conn.set_read_timeout(Some(READ_TIMEOUT)).ok()?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let (status, reason, request_line) = loop {
        let n = match conn.read(&mut chunk) {
            Ok(0) => break (400, "Bad Request", first_line(&buf)),
            Ok(n) => n,
            Err(_) => break (408, "Request Timeout", first_line(&buf)),
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                let (method, target) = (req.method.unwrap_or(""), req.path.unwrap_or(""));
                let line = first_line(&buf);
                let answer = answer(method, target);
                let _ = conn.write_all(&answer.bytes);
                close(conn);
                return Some(format!("{peer} \"{line}\" {}", answer.status));
            }
            Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => continue,
            Ok(httparse::Status::Partial) => {
                break (431, "Request Header Fields Too Large", first_line(&buf));
            }
            Err(_) => break (400, "Bad Request", first_line(&buf)),
        }
    };
    let body = format!("{status} {reason}: the request was not a complete HTTP request head\n");
    let reply = Reply::new(status, reason, "text/plain", body.into_bytes());
    let _ = conn.write_all(&reply.bytes(false));
    close(conn);
    Some(format!("{peer} \"{request_line}\" {status}"))
}

/// Ends the connection gracefully: FIN after the response, then wait (briefly) for the
/// client's FIN so that unread request bytes do not turn the close into a RST.
fn close(conn: &mut TcpStream) {
    let _ = conn.shutdown(Shutdown::Write);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
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
}

/// A response before it is written out.
struct Reply {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    extra: Vec<(&'static str, String)>,
}

impl Reply {
    fn new(status: u16, reason: &'static str, content_type: &'static str, body: Vec<u8>) -> Self {
        Reply {
            status,
            reason,
            content_type,
            body,
            extra: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: &str) -> Self {
        self.extra.push((name, value.to_string()));
        self
    }

    /// The response's bytes; without the body for HEAD (RFC 9110 §9.3.2), though
    /// Content-Length still gives its length.
    fn bytes(&self, head_only: bool) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nDate: {}\r\nServer: wirelab-course-server\r\n",
            self.status,
            self.reason,
            httpdate::fmt_http_date(SystemTime::now())
        );
        for (k, v) in &self.extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\nContent-Type: {}\r\n\r\n",
            self.body.len(),
            self.content_type
        ));
        let mut out = head.into_bytes();
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

/// What the server answers to `method target`.
fn answer(method: &str, target: &str) -> Answer {
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
    } else if let Some(doc) = content::document(path) {
        Reply::new(200, "OK", doc.content_type, doc.body.to_vec())
            .with("Last-Modified", content::LAST_MODIFIED)
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
        bytes: reply.bytes(head_only),
    }
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
        assert!(e.contains("in use"), "{e}");
    }
}
