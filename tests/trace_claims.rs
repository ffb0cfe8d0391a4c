//! A program's trace read from a saved pcapng is a claim, checked against the packets
//! (captures/romeo-traced.pcapng: socket1.py's run in the lab, its trace in the section
//! comments). Each test forges one lie into a copy of the trace, as a student handing
//! in an edited file could, and checks that the report names the calls the packets
//! contradict and why, and states none of them as a fact of the packets.

use pcap_file::pcapng::blocks::section_header::SectionHeaderOption;
use pcap_file::pcapng::{PcapNgReader, PcapNgWriter};
use serde_json::Value;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;
use wirelab::capture::annotate::{trace_comments, trace_json};
use wirelab::trace::{Trace, Way};

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");
const TRACED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/captures/romeo-traced.pcapng");

/// The section comments of a pcapng.
fn comments(path: &Path) -> Vec<String> {
    let reader = PcapNgReader::new(std::fs::File::open(path).unwrap()).unwrap();
    reader
        .section()
        .options
        .iter()
        .filter_map(|o| match o {
            SectionHeaderOption::Comment(c) => Some(c.to_string()),
            _ => None,
        })
        .collect()
}

/// A copy of the traced capture whose trace JSON is `edit`ed, under `name`.
fn forge(name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let json = trace_json(&comments(Path::new(TRACED))).expect("the capture holds a trace");
    let forged = edit(json);
    let mut reader = PcapNgReader::new(std::fs::File::open(TRACED).unwrap()).unwrap();
    let mut shb = reader.section().clone();
    shb.options.retain(|o| {
        !matches!(o, SectionHeaderOption::Comment(c) if c.starts_with(wirelab::capture::annotate::TRACE_TAG))
    });
    shb.options.extend(
        trace_comments(&forged)
            .into_iter()
            .map(|c| SectionHeaderOption::Comment(Cow::Owned(c))),
    );
    let dir = std::env::temp_dir().join(format!("wirelab-claims-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut writer = PcapNgWriter::with_section_header(Vec::new(), shb).unwrap();
    while let Some(block) = reader.next_block() {
        writer.write_block(&block.unwrap()).unwrap();
    }
    std::fs::write(&path, writer.into_inner()).unwrap();
    path
}

/// The trace's calls edited as values.
fn edit_calls(edit: impl FnOnce(&mut Trace)) -> impl FnOnce(String) -> String {
    move |json| {
        let mut t: Trace = serde_json::from_str(&json).unwrap();
        edit(&mut t);
        serde_json::to_string(&t).unwrap()
    }
}

fn recv_indexes(t: &Trace) -> Vec<usize> {
    (0..t.calls.len())
        .filter(|i| t.calls[*i].way == Way::Recv)
        .collect()
}

fn report(path: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(WIRELAB)
        .arg("report")
        .arg(path)
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&report(path, &["--format", "json"]).0).unwrap()
}

/// The disputes of a forged file, and checks that nothing of the trace was joined.
fn disputes(path: &Path) -> Vec<String> {
    let r = json(path);
    let c = &r["connections"][0];
    assert!(
        c["recv"].is_null(),
        "no recv call stated as fact: {}",
        c["recv"]
    );
    assert!(c["send"].is_null(), "no send call stated as fact");
    assert!(r["trace"]["calls_disputed"].as_u64().unwrap() >= 1);
    let (text, _) = report(path, &["--color", "never"]);
    assert!(text.contains("The packets contradict"), "{text}");
    assert!(
        !text.contains("recv() calls returned the"),
        "no recv summary from a disputed trace: {text}"
    );
    r["trace"]["disputed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["connection"], 0);
            format!(
                "{} #{}: {}",
                d["way"].as_str().unwrap(),
                d["call"],
                d["why"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn the_honest_trace_agrees_with_its_packets() {
    let r = json(Path::new(TRACED));
    let sizes: Vec<u64> = r["connections"][0]["recv"]
        .as_array()
        .expect("recv calls joined")
        .iter()
        .map(|c| c["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![512, 23, 0]);
    assert!(r["trace"]["calls_disputed"].is_null(), "{}", r["trace"]);
    // The same trace written again (no edit) reads the same: the forging is faithful.
    let same = forge("same.pcapng", |j| j);
    assert_eq!(
        json(&same)["connections"][0]["recv"],
        r["connections"][0]["recv"]
    );
}

#[test]
fn a_recv_that_returned_more_than_the_stream_is_disputed_not_summed() {
    let path = forge(
        "huge.pcapng",
        edit_calls(|t| {
            let first = recv_indexes(t)[0];
            t.calls[first].returned = 1_000_000_000_000_000;
        }),
    );
    let d = disputes(&path);
    assert!(
        d[0].starts_with(
            "recv #1: returned 1000000000000000 bytes, more than the 512 it asked for"
        ) && d[0].contains("past the 535 bytes the packets carried"),
        "{d:?}"
    );
    let (text, _) = report(&path, &["--color", "never"]);
    assert!(
        !text.contains("1,000,000,000,000,0"),
        "no sum of a lie: {text}"
    );
}

#[test]
fn a_recv_larger_than_its_buffer_is_disputed() {
    let path = forge(
        "asked.pcapng",
        edit_calls(|t| {
            let first = recv_indexes(t)[0];
            t.calls[first].asked = 100;
        }),
    );
    assert_eq!(
        disputes(&path),
        vec!["recv #1: returned 512 bytes, more than the 100 it asked for"]
    );
}

#[test]
fn bytes_after_the_end_of_the_stream_are_disputed() {
    let path = forge(
        "zero-first.pcapng",
        edit_calls(|t| {
            let r = recv_indexes(t);
            let zero = t.calls[r[2]].clone();
            t.calls.remove(r[2]);
            t.calls.insert(r[0], zero);
        }),
    );
    let d = disputes(&path);
    assert!(
        d.iter()
            .any(|l| l
                == "recv #2: returned 512 bytes after call #1 returned 0, the end of the stream"),
        "{d:?}"
    );
}

#[test]
fn calls_dated_before_their_packets_are_disputed() {
    let path = forge(
        "early.pcapng",
        edit_calls(|t| {
            let first = recv_indexes(t)[0];
            t.calls[first].ts_us -= 10_000_000;
        }),
    );
    let d = disputes(&path);
    assert!(
        d[0].starts_with("recv #1: is dated before the connection's first segment")
            && d[0].contains("before frame"),
        "{d:?}"
    );
}

#[test]
fn a_trace_over_its_bounds_is_not_read_and_the_report_says_so() {
    let path = forge("deep.pcapng", |_| {
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))
    });
    let r = json(&path);
    let why = r["trace"]["not_read"].as_str().unwrap();
    assert!(
        why.contains("nests 100000 deep") && why.contains("trace_nesting"),
        "{why}"
    );
    assert!(r["connections"][0]["recv"].is_null());
    let (text, _) = report(&path, &["--color", "never"]);
    assert!(
        text.contains("was not read: it nests 100000 deep"),
        "{text}"
    );
    // A JSON that is no trace at all.
    let path = forge("garbage.pcapng", |_| "{\"calls\": 7}".into());
    let why = json(&path)["trace"]["not_read"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("not a wirelab trace"), "{why}");
}

/// Found by scripts/fuzz.sh (capture_file, 2026-12-03): romeo-traced.pcapng with its
/// bytes mangled so that two connections share one port pair, the second dated much
/// later. Each call was joined to both, so more calls matched than the trace held (an
/// overflow in debug builds, "18446744073709551612 calls unmatched" in release). Each
/// call now joins one connection: the one that had begun by its time.
#[test]
fn a_port_pair_used_twice_gets_each_call_once() {
    let r = json(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/captures/fuzz-trace-tuple-reused.pcapng"
    )));
    let conns = r["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[0]["client"], conns[1]["client"], "one port pair");
    let t = &r["trace"];
    let calls = t["calls"].as_u64().unwrap();
    assert_eq!(calls, 4);
    // All four are the first connection's (begun by their time): none is unmatched,
    // and the packets contradict three of them (the zero return is no claim of bytes).
    assert_eq!(t["calls_unmatched"], 0, "{t}");
    assert_eq!(t["calls_disputed"], 3, "{t}");
    assert!(
        t["disputed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["connection"] == 0),
        "{t}"
    );
    assert!(
        conns[1]["recv"].is_null(),
        "the later connection began after the calls: {}",
        conns[1]
    );
}
