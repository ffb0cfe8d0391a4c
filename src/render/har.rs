//! HAR 1.2, the format of the browser console's Network tab (export and import): one
//! entry per HTTP exchange of the report, with its timings taken from the packets.
//!
//! - `dns`: the lab's (or the capture's) lookup of the server's name, on the first
//!   exchange of a connection; `connect`: SYN to the handshake's ACK, -1 on a reused
//!   connection; `send`: the request's first to last frame; `wait`: the request's last
//!   frame to the response's first; `receive`: the response's first to last frame;
//!   `time`: their sum (HAR 1.2 §timings). `blocked` and `ssl` are -1.
//! - `_frames` names the frames of each phase, so an entry leads back to its packets.
//! - An exchange with no response, or a body with gaps, is still an entry, marked
//!   `_incomplete` with the reason: nothing is invented.
//! - Bodies: the report keeps the first 512 bytes of each; a text body that fits is in
//!   `content.text`, others say in `content.comment` what was left out.

use crate::dns::ReportDns;
use crate::http::ConnectionHttp;
use crate::http::record::{HttpExchange, Request, Response};
use crate::model::{Connection, Report};
use serde_json::{Value, json};
use std::io::{self, Write};

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &har(report))?;
    writeln!(out)
}

/// The HAR document of a report.
pub fn har(report: &Report) -> Value {
    let entries: Vec<Value> = report
        .connections
        .iter()
        .flat_map(|c| {
            c.http()
                .iter()
                .enumerate()
                .map(move |(i, x)| entry(report, c, i, x))
        })
        .collect();
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "wirelab", "version": env!("CARGO_PKG_VERSION")},
            "entries": entries,
            "comment": format!(
                "From the packets of {}: timings from the frames' timestamps",
                report.source.path.as_deref()
                    .or(report.source.interface.as_deref())
                    .unwrap_or("a capture")
            ),
        }
    })
}

/// ISO 8601 in UTC with milliseconds, from µs since the epoch (HAR's startedDateTime).
pub fn iso8601(us: i64) -> String {
    // Years 0000 to 9999 only (a corrupt capture's time is clamped, not wrapped).
    let us = us.clamp(-62_167_219_200_000_000, 253_402_300_799_999_999);
    let secs = us.div_euclid(1_000_000);
    let ms = us.rem_euclid(1_000_000) / 1000;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn ms(us: i64) -> f64 {
    (us as f64 / 1000.0 * 1000.0).round() / 1000.0
}

fn headers(h: &[(String, String)]) -> Vec<Value> {
    h.iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect()
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The frame's time, when the connection's segments are listed.
fn ts(c: &Connection, frame: Option<u64>) -> Option<i64> {
    let f = frame?;
    c.segments.iter().find(|s| s.frame == f).map(|s| s.ts_us)
}

/// Whether a media type is text a HAR carries as is.
fn is_text(mime: &str) -> bool {
    let m = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    m.starts_with("text/")
        || ["json", "xml", "javascript", "x-www-form-urlencoded"]
            .iter()
            .any(|t| m.contains(t))
}

/// HAR's `content`: the body with its content coding undone, as text, or base64 for
/// others; what was not kept is said in `comment`.
fn body_content(r: &crate::http::record::Response) -> Value {
    use base64::Engine;
    let mime = r.content_type.clone().unwrap_or_else(|| "x-unknown".into());
    let coding = header(&r.headers, "content-encoding").map(|c| c.trim().to_ascii_lowercase());
    let mut c = json!({"size": r.body_len, "mimeType": mime});
    let whole = r.body.as_ref().filter(|b| b.len() as u64 == r.body_len);
    match (whole, coding.as_deref()) {
        (Some(b), None | Some("identity" | "gzip")) => {
            let decoded = if coding.as_deref() == Some("gzip") {
                let mut out = Vec::new();
                use std::io::Read;
                match flate2::read::GzDecoder::new(&b[..]).read_to_end(&mut out) {
                    Ok(_) => out,
                    Err(_) => {
                        c["comment"] = json!("the gzip body does not decode");
                        return c;
                    }
                }
            } else {
                b.clone()
            };
            c["size"] = json!(decoded.len());
            if coding.is_some() {
                c["compression"] = json!(decoded.len() as i64 - b.len() as i64);
            }
            match std::str::from_utf8(&decoded) {
                Ok(text) if is_text(&mime) => c["text"] = json!(text),
                _ => {
                    c["text"] = json!(base64::engine::general_purpose::STANDARD.encode(&decoded));
                    c["encoding"] = json!("base64");
                }
            }
        }
        (Some(_), Some(other)) => {
            c["comment"] = json!(format!("content coding {other} not decoded: body left out"))
        }
        (None, _) => match (
            &r.body_preview,
            r.body_len <= crate::http::message::PREVIEW as u64,
        ) {
            (Some(text), true) if coding.is_none() => c["text"] = json!(text),
            _ => {
                c["comment"] = json!(format!(
                    "body left out: {} bytes{}, sha256 {}{}",
                    r.body_len,
                    if coding.is_some() {
                        " (content-coded)"
                    } else {
                        ""
                    },
                    r.body_sha256,
                    if r.body.is_some() {
                        " (over the 1 MiB kept of a body, or the report's 64 MiB)"
                    } else {
                        ""
                    }
                ))
            }
        },
    }
    c
}

/// One HAR entry: exchange `i` of connection `c`, with its URL, phases and bodies.
fn entry(report: &Report, c: &Connection, i: usize, x: &HttpExchange) -> Value {
    let q = x.request.as_ref();
    let r = x.response.as_ref();
    let url = url_of(c, q);
    let first = i == 0;
    let h = c.handshake.as_ref();
    let p = phases(report, c, i, q, r);
    let incomplete = incomplete(q, r);
    let content = r
        .map(body_content)
        .unwrap_or_else(|| json!({"size": 0, "mimeType": "x-unknown"}));
    let mut e = json!({
        "startedDateTime": iso8601(p.started),
        "time": (p.time * 1000.0).round() / 1000.0,
        "request": {
            "method": q.map(|q| q.method.as_str()).unwrap_or(""),
            "url": url,
            "httpVersion": q.map(|q| q.version.as_str()).unwrap_or(""),
            "cookies": [],
            "headers": q.map(|q| headers(&q.headers)).unwrap_or_default(),
            "queryString": q.map(|q| q.query.iter()
                .map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>())
                .unwrap_or_default(),
            "headersSize": q.map(|q| q.head_bytes() as i64).unwrap_or(-1),
            "bodySize": q.map(|q| q.body_len as i64).unwrap_or(-1),
        },
        "response": {
            "status": r.map(|r| r.status).unwrap_or(0),
            "statusText": r.map(|r| r.reason.as_str()).unwrap_or(""),
            "httpVersion": r.map(|r| r.version.as_str()).unwrap_or(""),
            "cookies": [],
            "headers": r.map(|r| headers(&r.headers)).unwrap_or_default(),
            "content": content,
            "redirectURL": r.and_then(|r| header(&r.headers, "location")).unwrap_or(""),
            "headersSize": r.map(|r| r.head_bytes() as i64).unwrap_or(-1),
            "bodySize": r.map(|r| r.body_len as i64).unwrap_or(-1),
        },
        "cache": {},
        "timings": {
            "blocked": -1, "dns": p.dns, "connect": p.connect, "send": p.send, "wait": p.wait,
            "receive": p.receive, "ssl": -1,
        },
        "serverIPAddress": c.server.ip,
        "connection": c.client.port.to_string(),
        "_connection_id": c.id,
        "_started_us": p.started,
        "_frames": {
            "dns": p.lookup.map(|l| json!([l.query_frame, l.response_frame])),
            "connect": first.then(|| h.map(|h| json!([h.syn_frame, h.synack_frame, h.ack_frame]))).flatten(),
            "send": q.map(|q| json!([q.frame, q.last_frame])),
            "wait": json!([q.map(|q| q.last_frame), r.map(|r| r.frame)]),
            "receive": r.map(|r| json!(r.frames)),
        },
    });
    if let Some(post) = q.and_then(post_data) {
        e["request"]["postData"] = post;
    }
    if !incomplete.is_empty() {
        e["_incomplete"] = json!(incomplete.join("; "));
    }
    e
}

/// The request's URL as the browser's console shows it: an absolute-form target as
/// sent (RFC 9112 §3.2.2), an origin-form one after the Host, a CONNECT's authority
/// (§3.2.3), anything else after the host as sent.
fn url_of(c: &Connection, q: Option<&Request>) -> String {
    let host = q
        .and_then(|q| header(&q.headers, "host"))
        .map(str::to_string)
        .unwrap_or_else(|| match c.server.port {
            80 => c.server.ip.clone(),
            p => format!("{}:{p}", c.server.ip),
        });
    let target = q.map(|q| q.target.as_str()).unwrap_or("");
    // Absolute-form targets are the URL (RFC 9112 §3.2.2); origin-form ones follow the
    // Host. The url crate escapes what a URI cannot hold, as the console shows it.
    let absolute = target
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        || target
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    let connect = q.is_some_and(|q| q.method == "CONNECT");
    if absolute || target.starts_with('/') || target.is_empty() {
        let raw = if absolute {
            target.to_string()
        } else {
            format!("http://{host}{target}")
        };
        url::Url::parse(&raw).map(String::from).unwrap_or(raw)
    } else if connect {
        // Authority form (RFC 9112 §3.2.3): the tunnel's far end.
        format!("http://{target}")
    } else {
        // Asterisk form, or a malformed target: shown as sent, after the host.
        format!("http://{host}/{target}")
    }
}

/// An entry's phases (HAR's timings, in ms; -1 when the capture cannot tell) from the
/// frames' times, and when it started: the name lookup and the handshake belong to
/// a connection's first exchange.
struct Phases<'a> {
    dns: f64,
    connect: f64,
    send: f64,
    wait: f64,
    receive: f64,
    /// Their sum, over the phases known.
    time: f64,
    started: i64,
    lookup: Option<&'a crate::dns::Lookup>,
}

fn phases<'a>(
    report: &'a Report,
    c: &Connection,
    i: usize,
    q: Option<&Request>,
    r: Option<&Response>,
) -> Phases<'a> {
    let h = c.handshake.as_ref();
    let first = i == 0;
    let syn = first.then(|| ts(c, h.and_then(|h| h.syn_frame))).flatten();
    let ack = first.then(|| ts(c, h.and_then(|h| h.ack_frame))).flatten();
    let req_first = ts(c, q.map(|q| q.frame));
    let req_last = ts(c, q.map(|q| q.last_frame));
    let resp_first = ts(c, r.map(|r| r.frame));
    let resp_last = ts(c, r.map(|r| r.last_frame));
    let lookup = first
        .then(|| {
            report.dns().iter().rev().find(|l| {
                l.answers
                    .iter()
                    .any(|a| a.ends_with(&format!(" {}", c.server.ip)))
                    && l.ts_us.saturating_add(l.rtt_us.unwrap_or(0)) <= syn.unwrap_or(i64::MAX)
            })
        })
        .flatten();
    let span = |a: Option<i64>, b: Option<i64>| match (a, b) {
        (Some(a), Some(b)) if b >= a => ms(b - a),
        _ => -1.0,
    };
    let dns = lookup.and_then(|l| l.rtt_us).map(ms).unwrap_or(-1.0);
    let connect = span(syn, ack);
    let send = span(req_first, req_last).max(0.0);
    let wait = span(req_last, resp_first).max(0.0);
    let receive = span(resp_first, resp_last).max(0.0);
    let time = [dns, connect, send, wait, receive]
        .iter()
        .filter(|v| **v >= 0.0)
        .sum::<f64>();
    let started = lookup
        .map(|l| l.ts_us)
        .or(syn)
        .or(req_first)
        .unwrap_or(c.first_ts_us);
    Phases {
        dns,
        connect,
        send,
        wait,
        receive,
        time,
        started,
        lookup,
    }
}

/// What the capture lacks of an exchange, said in HAR's `_incomplete`.
fn incomplete(q: Option<&Request>, r: Option<&Response>) -> Vec<&'static str> {
    let mut incomplete = Vec::new();
    if r.is_none() {
        incomplete.push("no response in the capture");
    } else if r.is_some_and(|r| !r.complete) {
        incomplete.push("the response body is incomplete (a gap, or the capture ended)");
    }
    if q.is_none() {
        incomplete.push("no request in the capture");
    }
    incomplete
}

/// A request body as HAR's `postData` (the form's fields parsed), when it has one.
fn post_data(q: &Request) -> Option<Value> {
    if q.body_len == 0 {
        return None;
    }
    let mime = header(&q.headers, "content-type").unwrap_or("application/octet-stream");
    let mut post = json!({"mimeType": mime, "text": ""});
    match q.body.as_ref().filter(|b| b.len() as u64 == q.body_len) {
        Some(b) => {
            post["text"] = json!(String::from_utf8_lossy(b));
            if mime.contains("x-www-form-urlencoded") {
                post["params"] = json!(
                    url::form_urlencoded::parse(b)
                        .take(1000)
                        .map(|(n, v)| json!({"name": n, "value": v}))
                        .collect::<Vec<_>>()
                );
            }
        }
        None => post["comment"] = json!(format!("{} bytes, not kept", q.body_len)),
    }
    Some(post)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_8601_in_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_494_674_542_187_831), "2017-05-13T11:22:22.187Z");
        assert_eq!(iso8601(951_782_400_000_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(i64::MAX), "9999-12-31T23:59:59.999Z");
    }
}
