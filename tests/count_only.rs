//! A connection the report does not list is parsed for its counts only (its HTTP heads
//! without targets, reasons and lints, its bodies without previews): the totals equal
//! those of a full parse, on every capture here and in the shared public corpus (when
//! it is beside the repository), HTTP edge cases included (tunnels, upgrades, SOCKS,
//! pipelining, malformed request lines, cut heads, lost sync).

mod support;

use std::path::Path;
use wirelab::drive::file::from_file;
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
