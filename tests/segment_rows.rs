//! Segment rows and the connections listed: every segment of a listed connection is a
//! row or is counted as omitted, the `--segments` budget is spent on listed connections
//! only, and the totals count what that budget cut (unlisted connections are counted in
//! `connections_omitted`, whatever the budget did).

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
mod support;
use support::craft::{fetches, write_pcap};
use support::succeed;

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");

/// Three HTTP connections one after another, each of a dozen segments or so.
fn capture() -> PathBuf {
    let path = std::env::temp_dir().join(format!("wirelab-rows-{}.pcap", std::process::id()));
    let bodies = (0..3u8).map(|i| vec![b'a' + i; 5000]);
    let frames = fetches(41000, b"GET /r HTTP/1.0\r\n\r\n", 1_000_000, bodies);
    write_pcap(std::fs::File::create(&path).unwrap(), &frames).unwrap();
    path
}

fn report(capture: &PathBuf, args: &[&str]) -> Value {
    let out = succeed(
        Command::new(WIRELAB)
            .arg("report")
            .arg(capture)
            .args(["--format", "json"])
            .args(args),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rows(c: &Value) -> u64 {
    c["segments"].as_array().unwrap().len() as u64
}

fn segment_rows_cut(r: &Value) -> Option<u64> {
    r["totals"]["limits_reached"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["limit"] == "segment_rows")
        .map(|l| l["cut"].as_u64().unwrap())
}

#[test]
fn rows_are_spent_on_listed_connections_and_the_cut_is_theirs() {
    let cap = capture();
    let all = report(&cap, &[]);
    let packets: Vec<u64> = all["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["packets"].as_u64().unwrap())
        .collect();
    assert_eq!(packets.len(), 3);
    assert!(packets.iter().all(|&p| p > 6), "{packets:?}");

    for (list, segments) in [("1", "3"), ("1", "1000"), ("2", "3"), ("2", "1000")] {
        let r = report(&cap, &["--list", list, "--segments", segments]);
        let listed = r["connections"].as_array().unwrap();
        let budget: u64 = segments.parse().unwrap();
        let shown: u64 = listed.iter().map(rows).sum();
        let cut: u64 = listed
            .iter()
            .map(|c| c["segments_omitted"].as_u64().unwrap())
            .sum();
        for c in listed {
            assert_eq!(
                rows(c) + c["segments_omitted"].as_u64().unwrap(),
                c["packets"].as_u64().unwrap(),
                "--list {list} --segments {segments}: a row or counted, connection {}",
                c["id"]
            );
        }
        let listed_packets: u64 = packets[..listed.len()].iter().sum();
        assert_eq!(
            shown,
            listed_packets.min(budget),
            "--list {list} --segments {segments}: the budget goes to listed connections"
        );
        assert_eq!(
            r["totals"]["segments_omitted"].as_u64().unwrap(),
            cut,
            "--list {list} --segments {segments}: the totals count the listed connections' cut rows"
        );
        assert_eq!(
            segment_rows_cut(&r),
            (cut > 0).then_some(cut),
            "--list {list} --segments {segments}"
        );
        assert_eq!(
            r["totals"]["connections_omitted"].as_u64().unwrap(),
            3 - listed.len() as u64
        );
    }
    std::fs::remove_file(&cap).unwrap();
}
