//! A connection the report does not list is parsed for its counts only (its HTTP heads
//! without targets, reasons and lints, its bodies without previews): the totals equal
//! those of a full parse, on every capture here and in the shared public corpus (when
//! it is beside the repository), HTTP edge cases included (tunnels, upgrades, SOCKS,
//! pipelining, malformed request lines, cut heads, lost sync).

mod support;

use std::path::Path;
use wirelab::drive::file::from_file;
use wirelab::http::{ConnectionHttp, ReportHttp};
use wirelab::report::{Limits, Options};

/// The totals that do not depend on how many connections are listed.
fn counts(path: &Path, listed: usize) -> Option<serde_json::Value> {
    let opts = Options {
        limits: Limits {
            listed_connections: listed,
            ..Limits::default()
        },
        ..Options::default()
    };
    let report = from_file(path, None, opts).ok()?;
    let t = serde_json::to_value(report.totals_json()).expect("totals serialise");
    let keep = [
        "connections",
        "http_exchanges",
        "http_status",
        "closes",
        "analysis",
        "late_packets",
        "evicted_connections",
        "fragments_dropped",
        "total_bound_gaps",
    ];
    Some(keep.iter().map(|k| (k.to_string(), t[k].clone())).collect())
}

#[test]
fn counting_only_gives_the_totals_of_a_full_parse() {
    let files = support::all_captures();
    assert!(files.len() > 20, "captures found: {}", files.len());
    let (mut compared, mut exchanges) = (0, 0);
    for path in &files {
        let (Some(full), Some(counted)) = (counts(path, usize::MAX), counts(path, 0)) else {
            continue;
        };
        assert_eq!(full, counted, "{}", path.display());
        compared += 1;
        exchanges += full["http_exchanges"].as_u64().unwrap_or(0);
    }
    assert!(
        compared > 20 && exchanges > 500,
        "{compared} captures compared, {exchanges} HTTP exchanges"
    );
}

/// The report-wide budgets a listed connection spends from (HTTP's, spent by HTTP's
/// adapter): past `listed_exchanges` a connection's exchanges are counted, not listed;
/// past `kept_body_bytes` a body is dropped while its size and hash stay. Each cut is
/// named in `limits_reached`, and the totals do not change.
#[test]
fn the_report_budgets_cut_listed_exchanges_and_kept_bodies_and_say_so() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/malformed-request-lines.pcap");
    let full = from_file(&path, None, Options::default()).expect("the capture reads");
    let first_body = full.connections[0].http()[0]
        .response
        .as_ref()
        .map(|r| r.body_len as usize)
        .expect("a response");
    let opts = Options {
        keep_body_bytes: 1 << 20,
        limits: Limits {
            listed_exchanges: 2,
            kept_body_bytes: first_body,
            ..Limits::default()
        },
        ..Options::default()
    };
    let cut = from_file(&path, None, opts).expect("the capture reads");
    let listed: Vec<usize> = cut.connections.iter().map(|c| c.http().len()).collect();
    assert_eq!(listed, [1, 1, 0, 0], "two exchanges listed, in order");
    let omitted: Vec<u64> = cut.connections.iter().map(|c| c.http_omitted()).collect();
    assert_eq!(omitted, [0, 0, 1, 1]);
    assert_eq!(cut.http_totals().omitted, 2);
    assert_eq!(cut.http_totals().exchanges, full.http_totals().exchanges);
    let r0 = cut.connections[0].http()[0].response.as_ref().unwrap();
    let r1 = cut.connections[1].http()[0].response.as_ref().unwrap();
    assert_eq!(
        r0.body.as_ref().map(Vec::len),
        Some(first_body),
        "the first body fits"
    );
    assert_eq!(r1.body, None, "the second is past the bytes kept");
    let full1 = full.connections[1].http()[0].response.as_ref().unwrap();
    assert_eq!(
        (r1.body_len, &r1.body_sha256),
        (full1.body_len, &full1.body_sha256)
    );
    let reached = |name: &str| {
        cut.totals
            .limits_reached
            .iter()
            .find(|l| l.limit == name)
            .map(|l| l.cut)
    };
    assert_eq!(reached("listed_exchanges"), Some(2));
    // The second, third and fourth bodies (a body is dropped before its connection's
    // exchanges are counted out of the listing).
    assert_eq!(reached("kept_body_bytes"), Some(3));
}

/// DNS's counts sit inside the report's totals, written by DNS's record (the model
/// names no protocol): `dns_omitted` (lookups past the listed ones) and
/// `dns_undecodable` (port-53 datagrams that are not DNS) after `analysis`, before
/// `limits_reached`, and HTTP's `http_exchanges` after `connections`.
#[test]
fn dns_counts_are_written_inside_the_totals_in_the_contracts_order() {
    // A query for data.pr4e.org (RFC 1035 §4.1): id, RD, one question, A IN.
    let query = |id: u8| {
        let mut q = vec![0, id, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend(b"\x04data\x04pr4e\x03org\x00\x00\x01\x00\x01");
        q
    };
    let frames = vec![
        support::craft::udp(0, 40001, 53, &query(1)),
        support::craft::udp(1_000, 40002, 53, &query(2)),
        support::craft::udp(2_000, 40003, 53, &query(3)),
        support::craft::udp(3_000, 40004, 53, b"not dns"),
    ];
    let dir = std::env::temp_dir().join(format!("wirelab-dns-totals-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dns.pcap");
    support::craft::write_pcap(std::fs::File::create(&path).unwrap(), &frames).unwrap();
    let opts = Options {
        limits: Limits {
            dns_lookups: 1,
            ..Limits::default()
        },
        ..Options::default()
    };
    let report = from_file(&path, None, opts).unwrap();
    let text = serde_json::to_string(&report).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = &v["totals"];
    assert_eq!(t["dns_omitted"], 2, "{t}");
    assert_eq!(t["dns_undecodable"], 1, "{t}");
    assert_eq!(t["http_exchanges"], 0, "{t}");
    assert_eq!(v["dns"].as_array().map(Vec::len), Some(1), "{v}");
    // The bound that cut them is said, as every bound reached is.
    let reached = t["limits_reached"].as_array().expect("limits_reached");
    assert!(
        reached
            .iter()
            .any(|l| l["limit"] == "dns_lookups" && l["cut"] == 2 && l["value"] == 1),
        "{t}"
    );
    let at = |key: &str| {
        text.find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} in {text}"))
    };
    assert!(at("connections") < at("http_exchanges"));
    assert!(at("http_exchanges") < at("evicted_connections"));
    assert!(at("late_packets") < at("http_omitted"));
    assert!(at("http_status") < at("closes"));
    assert!(at("analysis") < at("dns_omitted"));
    assert!(at("dns_omitted") < at("dns_undecodable"));
    assert!(at("dns_undecodable") < at("limits_reached"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// HTTP's bounds are `Limits`' (issue 26: the only home of every bound), each read by
/// HTTP and said in `limits_reached` when reached: the frames listed per message, the
/// requests awaiting their response, the header fields of a head (said in the reason
/// the head is not HTTP, as `head_bytes` is).
#[test]
fn https_bounds_are_limits_and_said_when_reached() {
    use support::craft::{Conversation, ok_response};
    let dir = std::env::temp_dir().join(format!("wirelab-http-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Two pipelined requests, then the first one's answer in 5 segments.
    let mut c = Conversation::new(40000, 80, [1000, 5000]);
    c.handshake();
    c.send(
        true,
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        1460,
    );
    c.send(false, &ok_response(&[b'a'; 4000]), 1000);
    c.close();
    // A request of three header fields.
    let mut d = Conversation::new(40001, 80, [2000, 6000]);
    d.handshake();
    d.send(
        true,
        b"GET /c HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n",
        1460,
    );
    d.close();
    let path = dir.join("bounds.pcap");
    let frames: Vec<_> = c.frames.iter().chain(d.frames.iter()).collect();
    support::craft::write_pcap(std::fs::File::create(&path).unwrap(), frames).unwrap();
    let words = std::cell::RefCell::new(Vec::new());
    let report = |limits: Limits| {
        let opts = Options {
            limits,
            ..Options::default()
        };
        let report = from_file(&path, None, opts).unwrap();
        *words.borrow_mut() = wirelab::render::limits_words(&report.totals);
        serde_json::to_value(&report).unwrap()
    };
    let cut = |v: &serde_json::Value, name: &str| {
        v["totals"]["limits_reached"]
            .as_array()
            .and_then(|a| a.iter().find(|l| l["limit"] == name))
            .map(|l| l["cut"].as_u64().unwrap())
    };
    let full = report(Limits::default());
    assert_eq!(cut(&full, "frames_per_message"), None, "{}", full["totals"]);
    assert_eq!(cut(&full, "awaiting_requests"), None);
    let r = &full["connections"][0]["http"][0]["response"];
    assert_eq!(r["frame_count"], 5, "{r}");
    assert!(full["connections"][1]["http"][0]["request"].is_object());

    let bounded = report(Limits {
        frames_per_message: 2,
        awaiting_requests: 1,
        header_fields: 2,
        ..Limits::default()
    });
    let t = &bounded["totals"];
    assert_eq!(cut(&bounded, "frames_per_message"), Some(3), "{t}");
    assert_eq!(cut(&bounded, "awaiting_requests"), Some(1), "{t}");
    assert_eq!(cut(&bounded, "exchanges_per_connection"), None, "{t}");
    let listed = &bounded["connections"][0]["http"];
    let r = listed
        .as_array()
        .unwrap()
        .iter()
        .find_map(|x| x["response"].as_object())
        .expect("a response");
    assert_eq!(r["frames"].as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(r["frame_count"], 5);
    assert_eq!(t["http_omitted"], 1, "the request given up is counted");
    // The text report says each in words.
    let said = words.borrow().join("\n");
    assert!(
        said.contains("1 request given up waiting for a response")
            && said.contains("3 frames not listed"),
        "{said}"
    );
    let not_http = bounded["connections"][1]["not_http"].as_str().unwrap_or("");
    assert!(
        not_http.contains("more than 2 header fields"),
        "{}",
        bounded["connections"][1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
