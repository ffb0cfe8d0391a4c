//! HTTP's sentences, which the renderers lay out their own way: an exchange's frames,
//! a request's target and lints, a response's status, body, length and segments, where
//! the headers' blank line fell and which recv() returned it, an upgrade and its
//! WebSocket frames, the story's request and answer lines, the course's mistakes in a
//! request. The renderers say where each goes (a labelled line, a table's cell); the
//! words are here.

use crate::http::record::{HttpExchange, Request, Response, Upgrade, WsFrame};
use crate::model::{Connection, RecvCall};
use crate::words::{call_name, duration, group, ordinal, plural, printable_line};

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

/// What an HTTP status code means, in one sentence (RFC 9110 §15).
pub fn status_meaning(code: u16) -> &'static str {
    let known = match code {
        100 => "Continue: the server will take the request body; send it.",
        101 => "Switching Protocols: the connection now speaks another protocol.",
        200 => "OK: the server found the document and sends it in the body.",
        201 => "Created: the request made a new resource.",
        204 => "No Content: it worked, and there is no body.",
        206 => "Partial Content: the body is the byte range the client asked for.",
        301 => "Moved Permanently: the document lives at the Location URL from now on.",
        302 => {
            "Found: the document is for now at the Location URL; a browser fetches it from there."
        }
        303 => "See Other: fetch the Location URL with GET.",
        304 => "Not Modified: the copy the client has (If-Modified-Since) is still good; no body.",
        307 => "Temporary Redirect: repeat the same request at the Location URL.",
        308 => "Permanent Redirect: repeat the same request at the Location URL, from now on.",
        400 => "Bad Request: the server could not understand the request.",
        401 => "Unauthorized: the request needs credentials.",
        403 => "Forbidden: the server understood and refuses.",
        404 => "Not Found: there is no document at this path on this server.",
        405 => "Method Not Allowed: this resource does not take this method.",
        408 => "Request Timeout: the request did not arrive in full in time.",
        411 => "Length Required: a body needs a Content-Length.",
        413 => "Content Too Large: the request body is too large.",
        414 => "URI Too Long: the target is too long.",
        431 => "Request Header Fields Too Large: the request head is too large.",
        500 => "Internal Server Error: the server failed.",
        501 => "Not Implemented: the server does not know this method.",
        502 => "Bad Gateway: a proxy got a bad answer from the server behind it.",
        503 => "Service Unavailable: the server cannot answer now.",
        505 => "HTTP Version Not Supported.",
        _ => "",
    };
    if !known.is_empty() {
        return known;
    }
    match code / 100 {
        1 => "an interim answer; the final one follows.",
        2 => "success.",
        3 => "a redirection: look at the Location header.",
        4 => "a client error: the request was wrong.",
        _ => "a server error.",
    }
}

/// "request in frame 4, response in frame 6, 0.512 ms after the request": where an
/// exchange's two messages are, the full report's first line of it.
pub fn exchange_frames(x: &HttpExchange) -> String {
    match (&x.request, &x.response) {
        (Some(q), Some(r)) => format!(
            "request in frame {}, response in frame {}{}",
            q.frame,
            r.frame,
            x.response_time_us
                .map(|t| format!(", {:.3} ms after the request", t as f64 / 1000.0))
                .unwrap_or_default()
        ),
        (Some(q), None) => format!("request in frame {}, no response captured", q.frame),
        (None, Some(r)) => format!(
            "response in frame {} (its request is not captured)",
            r.frame
        ),
        (None, None) => String::new(),
    }
}

/// "... and 3 more exchanges, counted but not listed".
pub fn more_exchanges(omitted: u64) -> String {
    format!(
        "... and {} more exchanges, counted but not listed",
        group(omitted)
    )
}

/// A request's lints split into the mistakes and the notes (the book's absolute-form
/// is correct HTTP, RFC 9112 §3.2.2), each in the order the parser gave them.
pub fn lints(q: &Request) -> (Vec<&str>, Vec<&str>) {
    q.lint.iter().map(String::as_str).partition(|l| !is_note(l))
}

/// A request's lints as labelled lines ("lint", "note"), with what the server
/// answered after the first of them.
pub fn lint_lines(q: &Request, response: Option<&Response>) -> Vec<(&'static str, String)> {
    let answer = response.map(|r| r.answer());
    lint_parts(q, answer, "")
        .into_iter()
        .map(|(label, text, _)| (label, text))
        .collect()
}

/// The lints' labelled lines, each with whether it is a mistake: the mistakes, then
/// the notes followed by `note_tail`, the server's `answer` after the first line.
fn lint_parts(
    q: &Request,
    answer: Option<String>,
    note_tail: &str,
) -> Vec<(&'static str, String, bool)> {
    let answer = answer
        .map(|a| format!("; the server answered {a}"))
        .unwrap_or_default();
    let (problems, notes) = lints(q);
    let mut out = Vec::new();
    if !problems.is_empty() {
        out.push(("lint", format!("{}{answer}", problems.join(", ")), true));
    }
    if !notes.is_empty() {
        let answer = if problems.is_empty() {
            answer.as_str()
        } else {
            ""
        };
        out.push((
            "note",
            format!("{}{note_tail}{answer}", notes.join(", ")),
            false,
        ));
    }
    out
}

/// What a response's status code means (RFC 9110 §15), with the Location of a
/// redirection; HTTP/0.9's answer has none.
pub fn status_words(r: &Response) -> String {
    if r.version == "HTTP/0.9" {
        return "none: HTTP/0.9 has no status line, so no status code".into();
    }
    let mut meaning = format!("{} {}", r.status, status_meaning(r.status));
    if (300..400).contains(&r.status)
        && let Some((_, loc)) = r
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("location"))
    {
        meaning.push_str(&format!(" Location: {loc}"));
    }
    meaning
}

/// "535 bytes of text/plain; Content-Length 535 = the bytes received": a response's
/// body, its type and its length against its Content-Length.
pub fn body_words(r: &Response, switched: bool) -> String {
    let kind = r
        .content_type
        .as_deref()
        .map(|t| format!(" of {t}"))
        .unwrap_or_default();
    let (length, _) = length_words(r, switched);
    format!(
        "{} bytes{kind}; {length}{}",
        group(r.body_len),
        if r.complete { "" } else { "; INCOMPLETE" }
    )
}

/// What a body that is not text is, when it has one: "binary: image/jpeg by its first
/// bytes, 230,210 bytes".
pub fn binary_words(r: &Response) -> Option<String> {
    match (&r.body_preview, &r.body_type) {
        (Some(_), _) => None,
        (None, Some(t)) => Some(format!(
            "binary: {t} by its first bytes, {} bytes",
            group(r.body_len)
        )),
        (None, None) if r.body_len > 0 => Some("binary data".into()),
        _ => None,
    }
}

/// "3 TCP segments carried the response: frames 6 (1448 B), 7 (1448 B), 9 (12 B)":
/// the first twelve, with their payload sizes when the segments are listed.
pub fn segments_words(c: &Connection, r: &Response) -> String {
    let sizes: Vec<String> = r
        .frames
        .iter()
        .take(12)
        .map(|f| match c.segment_len(*f) {
            Some(n) => format!("{f} ({n} B)"),
            None => f.to_string(),
        })
        .collect();
    let more = if r.frame_count as usize > sizes.len() {
        format!(", ... {} more", r.frame_count as usize - sizes.len())
    } else {
        String::new()
    };
    format!(
        "{} carried the response: frame{} {}{more}",
        plural(r.frame_count, "TCP segment"),
        if r.frame_count == 1 { "" } else { "s" },
        sizes.join(", ")
    )
}

/// The story's request in one line, with its ending shown as bytes:
/// `GET ... HTTP/1.0\r\n\r\n (45 bytes, frame 4)`; `sent_told` when the story's "sent"
/// line has already said its bytes and frame.
pub fn request_story(q: &Request, sent_told: bool) -> String {
    let lint = |l: &str| q.lint.iter().any(|x| x == l);
    let ending = if !q.headers.is_empty() {
        format!(" + {}", plural(q.headers.len() as u64, "header line"))
    } else if lint("no-blank-line") {
        "\\r\\n (no blank line)".to_string()
    } else if lint("bare-lf") {
        "\\n\\n".to_string()
    } else {
        "\\r\\n\\r\\n".to_string()
    };
    let line = printable_line(&q.line());
    let sent = if sent_told {
        String::new()
    } else {
        format!(
            " ({}, frame {})",
            plural(q.head_len.max(q.header_len), "byte"),
            q.frame
        )
    };
    format!("{line}{ending}{sent}")
}

/// The story's answer in one line: "HTTP/1.1 200 OK, text/plain, 0.512 ms after the
/// request: 535 bytes in 1 segment (frame 10); the head is 300 bytes
/// (find(b"\r\n\r\n") = 296), the body 235".
pub fn answer_story(c: &Connection, x: &HttpExchange) -> Option<String> {
    let r = x.response.as_ref()?;
    let kind = r
        .content_type
        .as_deref()
        .map(|t| format!(", {}", t.split(';').next().unwrap_or(t).trim()))
        .unwrap_or_default();
    let head = r.head_bytes();
    let total = head + r.body_len;
    let segs = if r.frame_count == 1 {
        format!(
            "1 segment (frame {}{})",
            r.frame,
            c.segment_len(r.frame)
                .filter(|&n| u64::from(n) != total)
                .map(|n| format!(", {n} B"))
                .unwrap_or_default()
        )
    } else {
        format!(
            "{} (frames {}-{})",
            plural(r.frame_count, "segment"),
            r.frame,
            r.last_frame
        )
    };
    let after = x
        .response_time_us
        .map(|t| format!(", {} after the request", duration(t)))
        .unwrap_or_default();
    let blank = if head == r.header_len + 4 {
        format!("find(b\"\\r\\n\\r\\n\") = {}", r.header_len)
    } else {
        blank_line_words(r.header_len, head, &r.lint, "")
    };
    Some(format!(
        "{}{kind}{after}: {} in {segs}; the head is {head} bytes ({blank}), the body {}",
        r.status_line(),
        plural(total, "byte"),
        group(r.body_len)
    ))
}

/// An exchange in a few words, for a connection told in one line: "GET /romeo.txt
/// HTTP/1.0 -> 200 OK".
pub fn exchange_in_brief(x: &HttpExchange) -> Option<String> {
    let q = x.request.as_ref().map(|q| q.line());
    let r = x.response.as_ref().map(|r| r.answer());
    match (q, r) {
        (Some(q), Some(r)) => Some(format!("{q} -> {r}")),
        (Some(q), None) => Some(q),
        (None, Some(r)) => Some(r),
        _ => None,
    }
}

/// The course's usual mistakes in a request, when it shows one: what happened and
/// what to change, one sentence each (the request that never ended, lines ended by
/// `\n` alone, a method in the wrong case).
pub fn request_mistakes(x: &HttpExchange) -> Vec<String> {
    let mut out = Vec::new();
    let Some(q) = &x.request else {
        return out;
    };
    let has = |l: &str| q.lint.iter().any(|x| x == l);
    let answer = x.response.as_ref();
    if has("no-blank-line") {
        let waited = x
            .response_time_us
            .map(|t| format!(" waited {} and", duration(t)))
            .unwrap_or_default();
        let what = match answer {
            Some(r) => format!("answered {}", r.answer()),
            None => "closed".to_string(),
        };
        out.push(format!(
            "The request never ended: after `{}\\r\\n` the blank line (\\r\\n) never came, \
so the server{waited} {what}. End the request with \\r\\n\\r\\n.",
            printable_line(&q.line())
        ));
    } else if has("bare-lf") {
        let head = q.head_len.max(q.header_len + 2);
        let what = match answer {
            Some(r) => format!("this server answered {} anyway", r.answer()),
            None => "no answer came".to_string(),
        };
        out.push(format!(
            "The request's lines end with \\n, not \\r\\n: on its {} find(b\"\\r\\n\\r\\n\") \
returns -1; {what}, but HTTP needs \\r\\n (a strict server waits or answers 400).",
            plural(head, "byte")
        ));
    }
    if has("method-case") {
        let what = answer
            .map(|r| format!("; the server answered {}", r.answer()))
            .unwrap_or_default();
        out.push(format!(
            "Methods are case-sensitive: `{}` is not `{}`{what}.",
            q.method,
            q.method.to_ascii_uppercase()
        ));
    }
    out
}

/// "the response began 0.512 ms after the request": the page's words after an
/// exchange's heading.
pub fn response_began(x: &HttpExchange) -> Option<String> {
    x.response_time_us.map(|t| {
        format!(
            "the response began {:.3} ms after the request",
            t as f64 / 1000.0
        )
    })
}

/// A request's lints in the page's cells: the mistakes ("lint", marked) and the notes
/// ("note"), with what the server answered after the first of them.
pub fn lint_cells(q: &Request, response: Option<&Response>) -> Vec<(&'static str, String, bool)> {
    let answer = response.map(|r| format!("{} {}", r.status, r.reason));
    lint_parts(
        q,
        answer,
        ": correct HTTP, which servers must accept (RFC 9112 §3.2.2)",
    )
}

/// The page's "segments" cell: "2 TCP segments carried the response: frame 6 (1448 B),
/// frame 7 (12 B)", the first forty.
pub fn segments_cell(c: &Connection, r: &Response) -> String {
    let frames: Vec<String> = r
        .frames
        .iter()
        .take(40)
        .map(|f| match c.segment_len(*f) {
            Some(n) => format!("frame {f} ({n} B)"),
            None => format!("frame {f}"),
        })
        .collect();
    format!(
        "{} carried the response: {}{}",
        plural(r.frame_count, "TCP segment"),
        frames.join(", "),
        if r.frame_count > 40 { ", …" } else { "" }
    )
}

/// Where a request's head ended: "at byte 43 (find(b"\r\n\r\n") = 43); the head is 47
/// bytes with it".
pub fn request_blank_line(q: &Request) -> String {
    let head = q.head_bytes();
    blank_line_words(
        q.header_len,
        head,
        &q.lint,
        &format!("; the head is {head} bytes with it"),
    )
}

/// Where a response's head ended: "at byte 296 (find(b"\r\n\r\n") = 296); the body
/// starts at byte 300".
pub fn response_blank_line(r: &Response) -> String {
    let head = r.head_bytes();
    blank_line_words(
        r.header_len,
        head,
        &r.lint,
        &format!("; the body starts at byte {head}"),
    )
}

/// "The blank line ending the headers (stream byte 296) came back in your 1st
/// recv(512).": which of the program's calls returned the response's blank line, when
/// the head has one (HTTP/0.9's has none).
pub fn blank_line_read<'a>(
    resp: &Response,
    calls: impl IntoIterator<Item = &'a RecvCall>,
) -> Option<String> {
    if resp.head_len == resp.header_len + 2 {
        return None;
    }
    let at = resp.head_offset + resp.header_len;
    let r = calls
        .into_iter()
        .find(|r| r.stream_offset <= at && at < r.stream_offset + r.bytes)?;
    Some(format!(
        "The blank line ending the headers (stream byte {at}) came back in your {} {}.",
        ordinal(r.call),
        call_name(r)
    ))
}
