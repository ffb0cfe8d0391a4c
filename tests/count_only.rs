//! A connection the report does not list is parsed for its counts only (its HTTP heads
//! without targets, reasons and lints, its bodies without previews): the totals equal
//! those of a full parse, on every capture here and in the shared public corpus (when
//! it is beside the repository), HTTP edge cases included (tunnels, upgrades, SOCKS,
//! pipelining, malformed request lines, cut heads, lost sync).

mod support;

use std::path::Path;
use wirelab::drive::file::from_file;
use wirelab::http::ConnectionHttp;
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
    let t = serde_json::to_value(&report.totals).expect("totals serialise");
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
    assert_eq!(cut.totals.http_omitted, 2);
    assert_eq!(cut.totals.http_exchanges, full.totals.http_exchanges);
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
