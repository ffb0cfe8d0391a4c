//! HTTP past its edges, on captures recorded with real clients (scripts/make_captures.py:
//! curl through an HTTP proxy's CONNECT and through SOCKS5 and SOCKS4a proxies, a
//! WebSocket echo server, request lines a server refuses): what follows a switch of
//! protocols is never parsed as HTTP, the HTTP after a SOCKS handshake is, and a
//! malformed request is shown with the server's answer.

use std::path::Path;
use wirelab::http::ConnectionHttp;
use wirelab::report::{Options, Report};
use wirelab::socks::ConnectionSocks;

fn report(name: &str) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name);
    wirelab::drive::file::from_file(&path, None, Options::default()).expect("the capture reads")
}

#[test]
fn websocket_after_101_is_frames_not_http() {
    let r = report("websocket.pcap");
    let c = &r.connections[0];
    assert_eq!(c.http().len(), 1, "the upgrade only: no phantom exchange");
    assert!(c.not_http().is_none(), "{:?}", c.not_http());
    assert_eq!(c.http()[0].response.as_ref().unwrap().status, 101);
    let u = c.upgrade().expect("switched");
    assert_eq!(u.protocol, "websocket");
    let frames: Vec<(&str, &str, bool, u64)> = u
        .websocket
        .iter()
        .map(|f| {
            (
                if f.dir == wirelab::flow::Dir::C2S {
                    "c2s"
                } else {
                    "s2c"
                },
                f.opcode.as_str(),
                f.masked,
                f.len,
            )
        })
        .collect();
    assert_eq!(
        frames,
        vec![
            ("c2s", "text", true, 8),
            ("s2c", "text", false, 8),
            ("c2s", "text", true, 39),
            ("s2c", "text", false, 39),
            ("c2s", "close", true, 2),
            ("s2c", "close", false, 2),
        ]
    );
    // Every byte after the switch is a frame's: 2-byte headers, client masks of 4.
    assert_eq!(u.c2s.bytes, (2 + 4) * 3 + 8 + 39 + 2);
    assert_eq!(u.s2c.bytes, 2 * 3 + 8 + 39 + 2);
    assert_eq!(
        u.c2s.offset.unwrap() + u.c2s.bytes,
        c.streams.c2s.bytes,
        "the switch's offset and the tunnel's bytes make up the stream"
    );
}

#[test]
fn connect_tunnel_in_clear_carries_http_again() {
    let r = report("connect-tunnel.pcap");
    let c = &r.connections[0];
    let u = c.upgrade().expect("a tunnel");
    assert_eq!(u.protocol, "tunnel");
    assert_eq!(u.target.as_deref(), Some("data.pr4e.org:80"));
    assert_eq!(u.http_inside, 1);
    let q: Vec<(&str, &str, u16)> = c
        .http()
        .iter()
        .map(|x| {
            let q = x.request.as_ref().unwrap();
            (
                q.method.as_str(),
                q.target.as_str(),
                x.response.as_ref().unwrap().status,
            )
        })
        .collect();
    assert_eq!(
        q,
        vec![
            ("CONNECT", "data.pr4e.org:80", 200),
            ("GET", "/romeo.txt", 200)
        ]
    );
    let inner = c.http()[1].response.as_ref().unwrap();
    assert!(inner.complete && inner.body_len == 167);
    assert_eq!(
        c.http()[0].response.as_ref().unwrap().body_len,
        0,
        "a tunnel is no body"
    );
}

#[test]
fn http_after_socks5_and_socks4a_handshakes_is_parsed() {
    let r = report("socks.pcap");
    let want = [
        (5, None, "data.pr4e.org:80", "succeeded", "/romeo.txt", 200),
        (
            4,
            Some("4a"),
            "data.pr4e.org:80",
            "request granted",
            "/404.txt",
            404,
        ),
    ];
    assert_eq!(r.connections.len(), 2);
    for (c, (version, variant, dest, reply, target, status)) in r.connections.iter().zip(want) {
        let h = c.socks().expect("a SOCKS handshake");
        assert_eq!(h.version, version);
        assert_eq!(h.variant.as_deref(), variant);
        assert_eq!(h.destination.as_deref(), Some(dest));
        assert_eq!(h.reply.as_deref(), Some(reply));
        assert!(h.granted);
        assert!(c.not_http().is_none(), "{:?}", c.not_http());
        assert_eq!(c.http().len(), 1);
        let x = &c.http()[0];
        assert_eq!(x.request.as_ref().unwrap().target, target);
        assert_eq!(x.response.as_ref().unwrap().status, status);
        assert!(x.response.as_ref().unwrap().complete);
    }
}

#[test]
fn malformed_request_lines_are_shown_with_the_servers_answer() {
    let r = report("malformed-request-lines.pcap");
    let rows: Vec<(String, String, String)> = r
        .connections
        .iter()
        .map(|c| {
            assert_eq!(c.http().len(), 1, "connection {}", c.id);
            let q = c.http()[0].request.as_ref().expect("the request is shown");
            let s = c.http()[0].response.as_ref().expect("and the answer");
            (q.line(), q.lint[0].clone(), s.version.clone())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("OPTIONS HTTP/1.1", "no HTTP version", "HTTP/0.9"),
            (
                "GET /romeo.txt HTTP/1.",
                "invalid HTTP version 'HTTP/1.'",
                "HTTP/0.9"
            ),
            (
                "GET /romeo and juliet.txt HTTP/1.0",
                "spaces in the request target",
                "HTTP/1.1"
            ),
            (
                "GET /romeo\u{1}.txt HTTP/1.0",
                "1 control byte(s) in the request line",
                "HTTP/1.1"
            ),
        ]
        .map(|(l, why, v)| (
            l.to_string(),
            format!("malformed-request-line: {why}"),
            v.to_string()
        ))
    );
    // An HTTP/0.9 answer is the body alone, up to the server's close.
    let s = r.connections[0].http()[0].response.as_ref().unwrap();
    assert_eq!(s.body_len, r.connections[0].streams.s2c.bytes);
    assert!(s.complete);
}

#[test]
fn a_capture_begun_mid_message_keeps_every_later_exchange() {
    let r = report("midstream-keepalive-probe.pcap");
    let c = &r.connections[0];
    assert!(c.not_http().is_none(), "{:?}", c.not_http());
    let rows: Vec<(&str, u16, bool)> = c
        .http()
        .iter()
        .map(|x| {
            let s = x.response.as_ref().unwrap();
            (
                x.request.as_ref().unwrap().target.as_str(),
                s.status,
                s.complete,
            )
        })
        .collect();
    assert_eq!(rows, [("/romeo.txt", 200, true), ("/chunked/2", 200, true)]);
    let q = c.http()[0].request.as_ref().unwrap();
    assert_eq!(
        q.lint,
        ["re-synchronised: 1 byte before this message was not HTTP"],
        "the keep-alive probe's byte"
    );
    let s = c.http()[0].response.as_ref().unwrap();
    assert!(
        s.lint[0].starts_with("re-synchronised: 37 bytes"),
        "{:?}",
        s.lint
    );
}
