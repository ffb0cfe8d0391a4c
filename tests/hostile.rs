//! Hostile captures (tests/support/hostile.rs): wirelab reports each one in bounded memory, without
//! falling over, and says what it cut. Peak memory is wirelab's maximum resident set, as
//! GNU time measures it: a bound, not a timing.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");
/// The bound of issue 5: under 100 MB, whatever the input.
const MAX_RSS_KB: i64 = 100 * 1024;
/// The out-of-order flood's bound: a tenth of [`MAX_RSS_KB`] is left for what the
/// scheduling adds (its peak moves with how far the hashing thread's queue fills).
const FLOOD_RSS_KB: i64 = 90 * 1024;

fn make(case: &str, dir: &Path) -> PathBuf {
    let path = dir.join(format!("{case}.pcap"));
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    support::hostile::write(case, file).unwrap();
    path
}

/// Runs `wirelab report FILE --format json`; returns the report and the peak RSS in KB.
fn report(path: &Path) -> (Value, i64) {
    let (out, peak) = run_report(path, "json");
    (serde_json::from_slice(&out).unwrap(), peak)
}

/// Runs `wirelab report FILE --format FORMAT`; returns what it wrote and its peak RSS
/// in KB.
fn run_report(path: &Path, format: &str) -> (Vec<u8>, i64) {
    run_report_with(path, format, &[])
}

/// [`run_report`] through `wrapper` (a command that runs the rest, as `taskset`).
///
/// GNU time measures the peak, not a wait4 of our own: a child spawned from this
/// process (posix_spawn, a vfork) shares its memory until exec, and Linux's exec
/// carries that memory's high-water mark into the child's `ru_maxrss` (the tests running
/// beside this one hold reports of tens of MB). time forks wirelab from its own small
/// process.
fn run_report_with(path: &Path, format: &str, wrapper: &[&str]) -> (Vec<u8>, i64) {
    let out_path = path.with_extension(format);
    let peak_path = path.with_extension(format!("{format}.peak"));
    let run = Command::new("/usr/bin/time")
        .args(["--format", "%M", "--output"])
        .arg(&peak_path)
        .args(wrapper)
        .arg(WIRELAB)
        .arg("report")
        .arg(path)
        .args(["--format", format, "-o"])
        .arg(&out_path)
        .stderr(Stdio::piped())
        .output()
        .expect("GNU time (/usr/bin/time, the Debian package time) runs wirelab");
    assert!(
        run.status.success(),
        "{}: wirelab failed ({}): {}",
        path.display(),
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let peak = std::fs::read_to_string(&peak_path).unwrap();
    let peak = peak
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("time wrote {peak:?}"));
    (std::fs::read(&out_path).unwrap(), peak)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wirelab-hostile-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_million_syns_stay_bounded_and_counted() {
    let dir = tmp("flood");
    let (r, rss) = report(&make("syn-flood", &dir));
    let t = &r["totals"];
    assert_eq!(
        t["connections"],
        support::hostile::SYN_FLOOD as u64,
        "every SYN counted"
    );
    assert_eq!(r["source"]["packets"], support::hostile::SYN_FLOOD as u64);
    assert!(
        t["evicted_connections"].as_u64().unwrap() > 900_000,
        "the table stayed bounded"
    );
    assert_eq!(
        r["connections"].as_array().unwrap().len(),
        1_000,
        "--list default"
    );
    assert_eq!(
        t["connections_omitted"],
        support::hostile::SYN_FLOOD as u64 - 1_000
    );
    let closes: u64 = t["closes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_u64().unwrap())
        .sum();
    assert_eq!(
        closes,
        support::hostile::SYN_FLOOD as u64,
        "every connection's end counted"
    );
    assert!(rss < MAX_RSS_KB, "peak {rss} KB");
    eprintln!("syn-flood: peak {rss} KB");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_streams_and_heads_are_reported_not_fatal() {
    let dir = tmp("streams");
    let conn = |case: &str| {
        let (r, rss) = report(&make(case, &dir));
        assert!(rss < MAX_RSS_KB, "{case}: peak {rss} KB");
        assert_eq!(r["connections"].as_array().unwrap().len(), 1, "{case}");
        r["connections"][0].clone()
    };

    // Sequence numbers a gigabyte away: ignored or buffered within bounds, flagged.
    let c = conn("huge-gaps");
    let names: Vec<&str> = c["analysis_totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"previous-segment-lost") && names.contains(&"out-of-order"),
        "{names:?}"
    );
    assert!(
        c["streams"]["s2c"]["bytes"].as_u64().unwrap() < 100,
        "no gigabyte of gap bytes invented"
    );

    // Wrap-around in the middle of the body: every byte, in order.
    let c = conn("wraparound");
    let resp = &c["http"][0]["response"];
    assert_eq!(resp["body_len"], 20_000);
    assert_eq!(resp["complete"], true);
    assert_eq!(c["streams"]["s2c"]["complete"], true);

    // Conflicting retransmissions: the first copy is kept (as receivers do), flagged.
    let c = conn("conflicting-overlaps");
    let resp = &c["http"][0]["response"];
    assert_eq!(resp["body_len"], 20);
    let names: Vec<&str> = c["analysis_totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert!(names.contains(&"retransmission"), "{names:?}");

    // 100,000 header fields: the head is cut at 64 KiB and the report says so.
    let c = conn("header-flood");
    assert!(
        c["not_http"]
            .as_str()
            .unwrap()
            .contains("larger than 64 KiB"),
        "{}",
        c["not_http"]
    );
    assert!(
        c["streams"]["s2c"]["bytes"].as_u64().unwrap() > 1_000_000,
        "the stream itself is whole"
    );

    // Content-Length: 99999999999999999999 is invalid, not an overflow.
    let c = conn("huge-content-length");
    let resp = &c["http"][0]["response"];
    assert!(
        resp["lint"][0]
            .as_str()
            .unwrap()
            .contains("invalid Content-Length")
    );
    assert_eq!(
        resp["body_len"], 10,
        "the body ends where the server closed"
    );

    // A chunk size that overflows 64 bits: invalid, the body incomplete.
    let c = conn("chunk-overflow");
    let resp = &c["http"][0]["response"];
    assert!(
        resp["lint"][0]
            .as_str()
            .unwrap()
            .contains("invalid chunk size"),
        "{}",
        resp["lint"]
    );
    assert_eq!(resp["complete"], false);

    // A connection that never closes: reported as open, its body incomplete.
    let c = conn("never-closes");
    assert_eq!(c["close"], "open");
    assert_eq!(c["http"][0]["response"]["complete"], false);
    assert_eq!(c["streams"]["s2c"]["complete"], false);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An ended connection leaves the table after 2 s of capture time; a late ACK after
/// that is counted as late (TIME_WAIT), not taken for a new connection, and a new SYN
/// on the same ports starts a new connection.
#[test]
fn ended_connections_leave_the_table_and_late_packets_are_counted() {
    use support::craft::{Conversation, Flags, write_pcap};
    let mut c = Conversation::http(
        40000,
        b"GET / HTTP/1.0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nhi",
    );
    c.ts_us += 3_000_000;
    let [cs, ss] = c.next_seq;
    c.segment(true, cs, ss, Flags::ACK, &[]);
    c.ts_us += 3_000_000;
    c.next_seq = [90_000, 190_000];
    c.handshake();
    c.send(true, b"GET /again HTTP/1.0\r\n\r\n", 1460);
    let dir = tmp("late");
    let path = dir.join("late.pcap");
    write_pcap(std::fs::File::create(&path).unwrap(), &c.frames).unwrap();
    let (r, _) = report(&path);
    assert_eq!(r["totals"]["connections"], 2, "{}", r["totals"]);
    assert_eq!(r["totals"]["late_packets"], 1);
    let conns = r["connections"].as_array().unwrap();
    assert_eq!(conns[0]["close"], "fin");
    assert_eq!(conns[0]["streams"]["s2c"]["complete"], true);
    assert_eq!(conns[1]["http"][0]["request"]["target"], "/again");
    assert!(conns[1]["handshake"].is_object());
    let _ = std::fs::remove_dir_all(&dir);
}

/// 100 connections each holding 3 MB that can never be delivered (their first byte
/// missing, no ACK, no FIN): under each direction's own bound, so only the total bound
/// keeps the report under 100 MB. The holes it gave up are counted and the streams are
/// incomplete, never wrongly complete.
#[test]
fn an_out_of_order_flood_stays_under_the_total_bound() {
    let dir = tmp("out-of-order-flood");
    let path = make("out-of-order-flood", &dir);
    let (r, peak_kb) = report(&path);
    assert!(peak_kb < FLOOD_RSS_KB, "peak RSS {peak_kb} KB");
    eprintln!("out-of-order flood: peak {peak_kb} KB");
    let t = &r["totals"];
    assert!(t["total_bound_gaps"].as_u64().unwrap() > 0, "{t}");
    let conns = r["connections"].as_array().unwrap();
    assert_eq!(conns.len(), support::hostile::FLOOD_CONNECTIONS as usize);
    assert!(
        conns
            .iter()
            .all(|c| c["streams"]["s2c"]["complete"] == false)
    );
    let given_up: u64 = conns
        .iter()
        .map(|c| c["total_bound_gaps"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(given_up, t["total_bound_gaps"].as_u64().unwrap());
    // On one core, where the hashing thread runs only when the main one yields and
    // its queue of batches fills up.
    let (_, peak_kb) = run_report_with(&path, "json", &["taskset", "--cpu-list", "0"]);
    assert!(peak_kb < FLOOD_RSS_KB, "peak RSS on one core {peak_kb} KB");
    eprintln!("out-of-order flood: peak {peak_kb} KB on one core");
    // Streamed as JSON Lines: every connection written as it closes, still bounded.
    let (lines, peak_kb) = run_report(&path, "jsonl");
    assert!(peak_kb < FLOOD_RSS_KB, "jsonl peak RSS {peak_kb} KB");
    eprintln!("out-of-order flood: peak {peak_kb} KB as JSON Lines");
    let text = String::from_utf8(lines).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("\"type\":\"connection\""))
            .count(),
        support::hostile::FLOOD_CONNECTIONS as usize
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// 20,000 short connections, all ended within a second of capture time (a fast lab
/// network): the first to end are reported at once past the lingering bound, so
/// memory stays small; every exchange is still reported, and a late ACK for the first
/// connection, long reported, is counted as late.
#[test]
fn a_burst_of_ended_connections_is_reported_as_it_goes() {
    use support::craft::{Conversation, Flags, write_pcap};
    const N: u16 = 20_000;
    let conversation = |i: u16| {
        let mut c = Conversation::http(
            10_000 + i,
            b"GET /romeo.txt HTTP/1.0\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        );
        for f in &mut c.frames {
            f.ts_us += i64::from(i) * 40;
        }
        c
    };
    // The first connection's last ACK again, after all of them.
    let mut first = conversation(0);
    let [cs, ss] = first.next_seq;
    first.segment(true, cs, ss, Flags::ACK, &[]);
    let mut late = first.frames.pop().expect("the ACK");
    let last = conversation(N - 1);
    let end = last.frames.last().expect("frames").ts_us;
    late.ts_us = end + 100;
    let span = end - first.frames[0].ts_us;
    assert!(span < 1_000_000, "all within a second: {span} us");
    let dir = tmp("burst");
    let path = dir.join("burst.pcap");
    // Made one conversation at a time: the test's own memory stays small.
    let frames = (0..N)
        .flat_map(|i| conversation(i).frames)
        .chain(std::iter::once(late));
    write_pcap(std::fs::File::create(&path).unwrap(), frames).unwrap();
    let (r, peak_kb) = report(&path);
    assert_eq!(r["totals"]["connections"], N);
    assert_eq!(r["totals"]["http_exchanges"], N);
    assert_eq!(r["totals"]["closes"][0], serde_json::json!(["fin", N]));
    assert_eq!(r["totals"]["late_packets"], 1);
    // Held until the linger ends, they took about 9 KB each: over 180 MB here.
    assert!(peak_kb < 80 * 1024, "peak RSS {peak_kb} KB");
    eprintln!("burst: peak {peak_kb} KB");
    let _ = std::fs::remove_dir_all(&dir);
}
