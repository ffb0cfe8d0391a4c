//! HTTP's sentences that every renderer shares: an upgrade and its WebSocket frames, a
//! response's length against its body, where the headers' blank line fell, a request
//! target. The rest of HTTP's telling (the exchanges' tables, the story's request and
//! answer lines, HAR) is still the renderers' own.

use crate::http::record::{Response, Upgrade, WsFrame};
use crate::words::group;

/// What a connection carried after it switched protocols, in words (the terminal and
/// the HTML say the same): the switch, then each direction's bytes and frames.
pub fn upgrade_sentences(u: &Upgrade) -> Vec<String> {
    let what = match (u.protocol.as_str(), &u.target) {
        ("tunnel", Some(t)) => format!("a tunnel to {t} (CONNECT, RFC 9110 section 9.3.6)"),
        ("tunnel", None) => "a tunnel (CONNECT, RFC 9110 section 9.3.6)".to_string(),
        ("websocket", _) => "WebSocket (RFC 6455)".to_string(),
        ("h2c", _) => "HTTP/2 over cleartext (h2c, RFC 9113)".to_string(),
        (p, _) => format!("the protocol '{p}'"),
    };
    let at = match u.frame {
        Some(f) => format!("from frame {f} on"),
        None => "after the request that asked for it (the answer is not in the capture)".into(),
    };
    let carried = match u.http_inside {
        0 => ", not HTTP messages".to_string(),
        1 => "; inside it, in clear, HTTP again: the last 1 exchange above".to_string(),
        n => format!("; inside it, in clear, HTTP again: the last {n} exchanges above"),
    };
    let mut lines = vec![format!(
        "switched protocols {at}: the connection carries {what}{carried}"
    )];
    for (name, s) in [("client -> server", &u.c2s), ("server -> client", &u.s2c)] {
        let mut line = match s.offset {
            Some(o) => format!("{name}: {} B from stream byte {}", group(s.bytes), group(o)),
            None => format!("{name}: nothing sent after the switch"),
        };
        if u.protocol == "websocket" && s.offset.is_some() {
            line += &format!(
                ", {} WebSocket frame{}",
                group(s.websocket_frames),
                if s.websocket_frames == 1 { "" } else { "s" }
            );
        }
        if s.gap_bytes > 0 {
            line += &format!(", {} B lost by the capture", group(s.gap_bytes));
        }
        if let Some(l) = &s.lost {
            line += &format!("; frames not followed after {l}");
        }
        lines.push(line);
    }
    lines
}

/// One WebSocket frame in words: "frame 12  client -> server  text 5 B, masked, final".
pub fn ws_frame_words(f: &WsFrame) -> String {
    let dir = match f.dir {
        crate::flow::Dir::C2S => "client -> server",
        crate::flow::Dir::S2C => "server -> client",
    };
    format!(
        "frame {:<6} {dir}  {} {} B{}{}",
        f.frame,
        f.opcode,
        group(f.len),
        if f.masked { ", masked" } else { "" },
        if f.fin { "" } else { ", more to come" }
    )
}

/// A response's Content-Length against the body bytes received (RFC 9112 §6.3), in
/// words; `true` when they disagree.
/// `switched`: the response switched protocols (101, or 2xx to CONNECT), so what
/// follows it is not its body.
pub fn length_words(r: &Response, switched: bool) -> (String, bool) {
    if switched {
        return (
            "no body: the connection switched protocols after this head".into(),
            false,
        );
    }
    if r.content_length.is_none() && r.body_len == 0 && matches!(r.status, 100..=199 | 204 | 304) {
        return (
            format!("a {} response has no body (RFC 9112 section 6.3)", r.status),
            false,
        );
    }
    let chunked = r.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    if chunked && r.content_length.is_none() {
        return (
            "chunked: the body ends at the chunk of size 0 (RFC 9112 section 7.1)".into(),
            false,
        );
    }
    match r.content_length.as_deref() {
        Some(l) if l.trim().parse::<u64>().ok() == Some(r.body_len) => {
            (format!("Content-Length {l} = the bytes received"), false)
        }
        Some(l) => (
            format!(
                "Content-Length {l}, but {} bytes received",
                group(r.body_len)
            ),
            true,
        ),
        None => (
            "no Content-Length: the body ends where the server closed".into(),
            false,
        ),
    }
}

/// Where a head's blank line fell, in the course's terms (`find(b"\r\n\r\n")`), with
/// every length equal to the bytes on the wire: a head ended by `\r\n\r\n`, one ended
/// by bare `\n\n` (where `find` returns -1), and a request whose blank line never came.
/// `after` ends the sentence for a head that ended: "the head is 47 bytes with it".
pub fn blank_line_words(header_len: u64, head_len: u64, lint: &[String], after: &str) -> String {
    let find = "find(b\"\\r\\n\\r\\n\")";
    if lint.iter().any(|l| l == "no-blank-line") {
        format!(
            "missing: the request ends after {} bytes with no blank line, so {find} = -1 and \
the head never ended (send \\r\\n\\r\\n after the last line)",
            group(head_len)
        )
    } else if head_len > 0 && head_len != header_len + 4 {
        format!(
            "{find} = -1: the lines end with \\n alone; the blank line (\\n\\n) is at \
byte {header_len}{after}"
        )
    } else {
        format!("at byte {header_len} ({find} = {header_len}){after}")
    }
}

/// Lints that are notes, not mistakes: the book's absolute-form request line is
/// correct HTTP, which origin servers must accept (RFC 9112 §3.2.2).
pub fn is_note(lint: &str) -> bool {
    lint == "absolute-form"
}

/// "absolute-form: host data.pr4e.org, path /romeo.txt" or "path /romeo.txt".
pub fn describe_target(target: &str) -> String {
    if target.is_empty() {
        return "none: the request line has no target".to_string();
    }
    // RFC 9112 §3.2.4 and §3.2.3: OPTIONS * and CONNECT's host:port.
    if target == "*" {
        return "* (asterisk form: the server as a whole, for OPTIONS)".to_string();
    }
    if let Some((host, port)) = target.rsplit_once(':')
        && !target.starts_with('/')
        && !target.contains('/')
        && port.parse::<u16>().is_ok()
    {
        return format!("host {host}, port {port} (authority form, for CONNECT)");
    }
    match url::Url::parse(target) {
        Ok(u) if u.has_host() => format!(
            "the whole URL: host {}, path {}",
            u.host_str().unwrap_or_default(),
            u.path()
        ),
        _ => format!("path {}", target.split('?').next().unwrap_or_default()),
    }
}
