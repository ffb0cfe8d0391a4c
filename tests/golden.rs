//! Golden tests, driven by the manifest tests/golden/TESTLIST (as tcpdump's): each
//! row a capture, the report's arguments, the expected output and exit status
//! (regenerate: scripts/regen-golden.sh, which reads the same manifest).

use std::path::Path;
use std::process::Command;

/// One row of tests/golden/TESTLIST.
struct Row {
    expected: String,
    capture: String,
    exit: i32,
    args: Vec<String>,
}

/// Splits the arguments column as a shell would for plain words and 'single quotes'.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for ch in s.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in {s:?}");
    if any {
        out.push(cur);
    }
    out
}

fn manifest(root: &Path) -> Vec<Row> {
    std::fs::read_to_string(root.join("tests/golden/TESTLIST"))
        .expect("tests/golden/TESTLIST")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut rest = l;
            let mut col = || {
                let s = rest.trim_start();
                let end = s.find(char::is_whitespace).unwrap_or(s.len());
                rest = &s[end..];
                s[..end].to_string()
            };
            let (expected, capture, exit) = (col(), col(), col());
            Row {
                expected,
                capture,
                exit: exit.parse().expect("EXIT is a number"),
                args: split_args(rest),
            }
        })
        .collect()
}

/// The first line where two outputs part, for a failure's one line.
fn first_difference(got: &str, want: &str) -> String {
    let (mut g, mut w) = (got.lines(), want.lines());
    for n in 1.. {
        match (g.next(), w.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => return "same lines, other line endings".into(),
            (a, b) => {
                return format!(
                    "line {n}: got {:?}, want {:?}",
                    a.unwrap_or("(end)"),
                    b.unwrap_or("(end)")
                );
            }
        }
    }
    unreachable!()
}

/// Every row of the manifest: `wirelab report captures/CAPTURE ARGUMENTS` prints its
/// EXPECTED file byte for byte and exits with EXIT. Every row is run, and every failing
/// row is listed (as tcpdump's TESTLIST runner does), not only the first.
#[test]
fn every_manifest_row_matches_its_golden_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rows = manifest(root);
    let mut failed = Vec::new();
    for row in &rows {
        let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .current_dir(root)
            .env("TZ", "UTC")
            .arg("report")
            .arg(format!("captures/{}", row.capture))
            .args(&row.args)
            .output()
            .expect("wirelab runs");
        let golden = root.join("tests/golden").join(&row.expected);
        let Ok(want) = std::fs::read_to_string(&golden) else {
            failed.push(format!("{}: missing", row.expected));
            continue;
        };
        let got = String::from_utf8_lossy(&out.stdout);
        // A number that is not one (a waterfall scaled by a zero span) would be blessed by
        // a regeneration: no output may hold one.
        for bad in ["\"NaN\"", "\"inf\"", "\"-inf\"", ": NaN", ": inf"] {
            if got.contains(bad) {
                failed.push(format!("{}: the output holds {bad}", row.expected));
            }
        }
        if got != want {
            failed.push(format!(
                "{} (captures/{} {:?}): {}",
                row.expected,
                row.capture,
                row.args,
                first_difference(&got, &want)
            ));
        }
        if out.status.code() != Some(row.exit) {
            failed.push(format!(
                "{}: exit status {:?}, want {}",
                row.expected,
                out.status.code(),
                row.exit
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} golden rows failed (scripts/regen-golden.sh regenerates them; read the \
diff before committing):\n{}",
        failed.len(),
        rows.len(),
        failed.join("\n")
    );
    assert!(rows.len() >= 50, "only {} golden rows", rows.len());
}

/// Every capture in captures/ has its terminal, JSON (with `--stream-hash`) and HTML rows; every file in
/// tests/golden/ is some row's.
#[test]
fn manifest_covers_every_capture_and_every_golden_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rows = manifest(root);
    for cap in std::fs::read_dir(root.join("captures")).unwrap().flatten() {
        let name = cap.file_name().to_string_lossy().to_string();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
            continue;
        }
        for format in [None, Some("json"), Some("html")] {
            let found = rows.iter().any(|r| {
                r.capture == name
                    && match format {
                        None => r.args.is_empty(),
                        // JSON rows ask for the stream hashes too: the goldens
                        // check them against the reassembled bytes.
                        Some("json") => r.args == ["--format", "json", "--stream-hash"],
                        Some(f) => r.args == ["--format", f],
                    }
            });
            assert!(
                found,
                "{name} has no row for {format:?} in tests/golden/TESTLIST"
            );
        }
    }
    for f in std::fs::read_dir(root.join("tests/golden"))
        .unwrap()
        .flatten()
    {
        let name = f.file_name().to_string_lossy().to_string();
        assert!(
            name == "TESTLIST" || rows.iter().any(|r| r.expected == name),
            "tests/golden/{name} is no row's (remove it, or add its row)"
        );
    }
}

#[test]
fn manifest_arguments_split_as_a_shell_would() {
    assert_eq!(
        split_args("-f 'tcp port 81' --format json"),
        ["-f", "tcp port 81", "--format", "json"]
    );
    assert_eq!(split_args(""), Vec::<String>::new());
    assert_eq!(split_args("-x  --layers tcp"), ["-x", "--layers", "tcp"]);
}

/// The terminal report fits 100 columns and is plain ASCII when not on a terminal
/// (and with --color never), for every capture and every option that changes it; with
/// `--width 80` (an 80-column terminal), 80.
#[test]
fn terminal_report_fits_100_columns_in_plain_ascii() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut caps = Vec::new();
    for dir in [root.join("captures"), root.join("captures/encap")] {
        caps.extend(
            std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng")),
        );
    }
    caps.sort();
    fits_columns(
        root,
        &caps,
        &[&[], &["--verbose", "-x"], &["--color", "never"]],
        100,
    );
    // As on an 80-column terminal.
    fits_columns(
        root,
        &caps,
        &[&["--width", "80"], &["--width", "80", "--verbose", "-x"]],
        80,
    );
}

/// The same over every capture of other people's (`../shared/testdata/public`, its
/// MANIFEST.tsv), where layouts meet what no bundled capture has: mid-connection
/// handshakes, long teardowns, IPv6 headers, 7-digit sequence numbers, wide characters.
#[test]
fn public_reports_fit_100_columns_in_plain_ascii() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let public = root.join("../shared/testdata/public");
    let Ok(manifest) = std::fs::read_to_string(public.join("MANIFEST.tsv")) else {
        eprintln!("skipped: ../shared/testdata/public is absent");
        return;
    };
    let caps: Vec<_> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(|p| public.join(p))
        .collect();
    assert!(caps.len() > 100);
    fits_columns(root, &caps, &[&[], &["--verbose", "-x"]], 100);
    fits_columns(
        root,
        &caps,
        &[&["--width", "80"], &["--width", "80", "--verbose", "-x"]],
        80,
    );
    // On a terminal the characters stay (Hebrew, Chinese, a byte-order mark): the
    // layout holds in display columns, wide characters two, escapes of colour none.
    for cap in &caps {
        let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .args(["report", "--color", "always"])
            .arg(cap)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        for line in text.lines() {
            let plain = strip_escapes(line);
            let cols = unicode_width::UnicodeWidthStr::width(plain.as_str());
            assert!(cols <= 100, "{}: {cols} columns:\n{plain}", cap.display());
        }
    }
}

/// A line without its ANSI colour escapes (`ESC [ ... m`).
fn strip_escapes(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn fits_columns(root: &Path, caps: &[std::path::PathBuf], options: &[&[&str]], width: usize) {
    for cap in caps {
        for extra in options {
            let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
                .current_dir(root)
                .arg("report")
                .arg(cap)
                .args(extra.iter())
                .output()
                .unwrap();
            let text = String::from_utf8(out.stdout).expect("UTF-8");
            assert!(text.lines().count() > 3, "{}: {text}", cap.display());
            for line in text.lines() {
                assert!(
                    line.chars().count() <= width,
                    "{} {extra:?}: a line of {} columns:\n{line}",
                    cap.display(),
                    line.chars().count()
                );
                assert!(
                    line.is_ascii(),
                    "{} {extra:?}: not ASCII:\n{line}",
                    cap.display()
                );
            }
        }
    }
}

/// `--color always` colours the report (and only then).
#[test]
fn color_always_uses_escape_codes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |color: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .current_dir(root)
            .args(["report", "captures/reorder.pcap", "--color", color])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run("always").contains("\x1b["));
    assert!(
        !run("auto").contains('\x1b'),
        "auto is plain when not on a terminal"
    );
}

/// The report of the course's romeo.txt fetch answers the questions of
/// ../shared/notes/teaching.md that the issue names.
#[test]
fn romeo_report_answers_the_students_questions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .current_dir(root)
        .args(["report", "captures/romeo.pcap"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        // which addresses and ports
        "127.0.0.1:36210 -> 127.0.0.1:80 (http)",
        "server 80 (well known: http",
        // the three handshake segments and their RTT
        "-> SYN ",
        "<- SYN,ACK",
        "RTT 0.041 ms (SYN to the client's ACK)",
        // how many segments carried the response, and their sizes
        "2 TCP segments carried the response: frames 6 (204 B), 8 (167 B)",
        // status code and Content-Type
        "HTTP/1.1 200 OK",
        "167 bytes of text/plain",
        // where the headers end
        "blank line  at byte 200 (find(b\"\\r\\n\\r\\n\") = 200)",
        // what recv() is about, explained
        "? seq:",
        // the ladder
        "|<----",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn layers_option_shows_only_those_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |layers: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .current_dir(root)
            .args(["report", "captures/romeo.pcap", "--layers", layers])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (_, http, _) = run("http");
    assert!(http.contains("-- HTTP") && !http.contains("-- TCP") && !http.contains("-- IP"));
    let (_, ip_link, _) = run("ip,link");
    assert!(
        ip_link.contains("-- IP") && ip_link.contains("-- link") && !ip_link.contains("-- HTTP")
    );
    assert!(ip_link.contains("TTL         client 64, server 64"));
    let (code, _, err) = run("http,udp");
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown layer 'udp'"), "{err}");
}

#[test]
fn hex_shows_the_header_bytes_of_every_frame() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .current_dir(root)
        .args(["report", "captures/romeo.pcap", "-x", "--layers", "tcp"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // Frame 1: Ethernet (zero MACs, type 0800), then IPv4 "45 00 00 3c" (total length 60).
    assert!(
        text.contains("0000  00 00 00 00 00 00 00 00 00 00 00 00 08 00 45 00"),
        "{text}"
    );
    assert!(
        text.contains("  TCP  flags SYN, seq 0 (abs 1392915962)"),
        "{text}"
    );
    assert_eq!(text.matches("\nframe ").count(), 12, "one block per frame");
}

/// Runs wirelab with `args`, its output captured.
fn wirelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn explain_and_ports() {
    let run = |args: &[&str]| {
        let out = wirelab(args);
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, text, _) = run(&["explain", "super-segment"]);
    assert_eq!(code, Some(0));
    assert!(text.contains("segmentation offload"), "{text}");
    let (code, list, _) = run(&["explain"]);
    assert_eq!(code, Some(0));
    assert!(list.contains("retransmission") && list.contains("bare-lf"));
    let (code, _, err) = run(&["explain", "frobnication"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("the terms are:") && err.contains("zero-window"),
        "{err}"
    );
    let (code, ports, _) = run(&["ports"]);
    assert_eq!(code, Some(0));
    for p in ["22 ", "53 ", "80 ", "110 ", "143 ", "443 ", "993 "] {
        assert!(
            ports.contains(&format!("| {p}")) || ports.contains(&format!(" {p} ")),
            "{p} in {ports}"
        );
    }
}

#[test]
fn bad_input_gives_one_clear_line_and_nonzero_exit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .current_dir(root)
            .args(args)
            .output()
            .unwrap()
    };
    let missing = run(&["report", "captures/no-such.pcap"]);
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("no-such.pcap") && err.lines().count() == 1,
        "{err}"
    );

    let not_capture = run(&["report", "Cargo.toml"]);
    assert_eq!(not_capture.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&not_capture.stderr).contains("not a pcap or pcapng"));

    let bad_filter = run(&["report", "captures/romeo.pcap", "-f", "port eighty"]);
    assert_eq!(bad_filter.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_filter.stderr).contains("bad filter 'port eighty'"));

    let cut = run(&["report", "captures/cut.pcap"]);
    assert_eq!(cut.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&cut.stderr).contains("ends in the middle of a record"));
    assert!(String::from_utf8_lossy(&cut.stdout).contains("HTTP/1.1 200 OK"));
}

#[test]
fn filter_keeps_only_matching_frames() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .current_dir(root)
        .args([
            "report",
            "captures/romeo.pcap",
            "-f",
            "tcp port 81",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["connections"].as_array().unwrap().len(), 0);
    assert_eq!(v["source"]["filtered_out"], v["source"]["packets"]);
}

#[test]
fn closed_pipe_is_not_an_error() {
    use std::io::Read;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .current_dir(root)
        .args(["report", "captures/cover3.pcap", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "exit {status:?}, stderr {err}");
    assert!(err.is_empty(), "{err}");
}

/// Loss before the capture point (the lab's --drop-every): the segments that fill the
/// holes are retransmissions, as tshark 4.0 marks them (frame 179 a fast retransmission
/// after three duplicate ACKs, 186, 356 and 358 retransmissions); not out-of-order.
#[test]
fn retransmissions_after_a_loss_upstream_are_named_as_tshark_names_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["report", "captures/lab-drop-every.pcap", "--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let marked: Vec<(u64, String)> = r["connections"][0]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["analysis"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .filter(|a| a == "retransmission" || a == "out-of-order")
                .map(|a| (s["frame"].as_u64().unwrap(), a))
                .collect::<Vec<_>>()
        })
        .collect();
    let want: Vec<(u64, String)> = [179, 186, 356, 358]
        .into_iter()
        .map(|f| (f, "retransmission".to_string()))
        .collect();
    assert_eq!(marked, want);
    assert_eq!(r["dns"][0]["name"], "data.pr4e.org");
}

/// Captures the fuzzer found (captures/fuzz-*), each with what it caught.
#[test]
fn fuzz_found_captures_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A pcapng packet whose timestamp overflowed i64 microseconds: it saturates.
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .current_dir(root)
        .args([
            "report",
            "captures/fuzz-timestamp-overflow.pcapng",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ts: Vec<i64> = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["segments"].as_array().unwrap())
        .map(|s| s["ts_us"].as_i64().unwrap())
        .collect();
    assert!(ts.contains(&i64::MAX), "saturated, not wrapped: {ts:?}");
    assert!(ts.iter().all(|t| *t > 0));
    assert_eq!(out.status.code(), Some(1), "the corrupt block is reported");
}

/// Nothing a user captured is lost: `-o` onto a capture file is refused.
#[test]
fn output_never_overwrites_a_capture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("wirelab-o-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let precious = dir.join("lab.pcap");
    std::fs::copy(root.join("captures/romeo.pcap"), &precious).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .current_dir(root)
        .args(["report", "captures/romeo.pcap", "-o"])
        .arg(&precious)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("never overwrites"));
    assert_eq!(
        std::fs::read(&precious).unwrap(),
        std::fs::read(root.join("captures/romeo.pcap")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A capture whose frames are out of time order (tcpflow's lines-randomized test): said
/// once, with the count, and sequence numbers before the first seen are negative
/// relative offsets, never 4294965837.
#[test]
fn frames_out_of_time_order_are_said_and_sequence_numbers_stay_small() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/public/tcpflow/test5-lines-randomized.pcap");
    if !path.exists() {
        eprintln!("skipped: ../shared/testdata/public is absent");
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["report", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"]["frames_out_of_time_order"], 10);
    let segs = v["connections"][0]["segments"].as_array().unwrap();
    let rel: Vec<i64> = segs
        .iter()
        .map(|s| s["rel_seq"].as_i64().unwrap())
        .collect();
    assert!(rel.iter().any(|r| *r < 0), "{rel:?}");
    assert!(rel.iter().all(|r| r.abs() < 1 << 20), "{rel:?}");
    let text = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .arg("report")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.matches("out of time order").count(), 1, "said once");
}

/// Without `--stream-hash` the JSON report is its golden with every stream's `sha256`
/// left `""`: the bodies' hashes, and every other field, are the same (each payload
/// byte is hashed once unless the streams' hashes are asked for).
#[test]
fn json_without_stream_hash_differs_only_in_the_stream_hashes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut compared = 0;
    for row in manifest(root) {
        if row.args != ["--format", "json", "--stream-hash"] {
            continue;
        }
        let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .current_dir(root)
            .env("TZ", "UTC")
            .args(["report", &format!("captures/{}", row.capture)])
            .args(["--format", "json"])
            .output()
            .expect("wirelab runs");
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let golden = std::fs::read(root.join("tests/golden").join(&row.expected)).unwrap();
        let mut want: serde_json::Value = serde_json::from_slice(&golden).unwrap();
        let mut hashed = 0;
        for c in want["connections"].as_array_mut().unwrap() {
            for dir in ["c2s", "s2c"] {
                let h = &mut c["streams"][dir]["sha256"];
                hashed += usize::from(h.as_str().is_some_and(|s| !s.is_empty()));
                *h = serde_json::Value::from("");
            }
        }
        assert!(
            got == want,
            "{}: differs beyond the stream hashes",
            row.expected
        );
        compared += hashed;
    }
    assert!(compared > 50, "only {compared} stream hashes compared");
}

/// `wirelab explain` (the list and every term), `wirelab ports` and every command's
/// `--help` fit an 80-column terminal: a student reads them in one.
#[test]
fn explain_and_ports_fit_80_columns() {
    let run = |args: &[&str]| {
        let out = wirelab(args);
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let mut outputs = vec![
        (vec!["explain"], run(&["explain"])),
        (vec!["ports"], run(&["ports"])),
    ];
    for entry in wirelab::report::DICTIONARY.terms() {
        outputs.push((vec!["explain", entry.name], run(&["explain", entry.name])));
    }
    // Every command's --help too, whatever the terminal's width (none: a pipe): the
    // commands as `wirelab --help` lists them, so that a new one is read as well.
    let help = run(&["--help"]);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("  ")?.split(' ').next())
        .filter(|c| !c.is_empty() && *c != "help")
        .collect();
    for known in ["report", "capture", "lab", "demo", "serve", "fetch"] {
        assert!(commands.contains(&known), "{known} in {commands:?}");
    }
    assert!(
        commands
            .iter()
            .all(|c| c.chars().all(|x| x.is_ascii_lowercase())),
        "{commands:?}"
    );
    for command in commands {
        outputs.push((vec![command, "--help"], run(&[command, "--help"])));
    }
    outputs.push((vec!["--help"], help.clone()));
    assert!(outputs.len() > 20);
    for (args, text) in outputs {
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "wirelab {}: a line of {} columns: {line}",
                args.join(" "),
                line.chars().count()
            );
        }
    }
}

/// Output into a pipe whose reader is gone (`wirelab explain | head`) ends the command
/// quietly with 0, as a closed pipe ends `cat`: no panic, nothing on standard error.
#[test]
fn a_closed_pipe_ends_explain_and_ports_quietly() {
    for args in [
        &["explain"][..],
        &["explain", "recv"],
        &["ports"],
        &["interfaces"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "wirelab {args:?}: {err}");
        assert!(err.is_empty(), "wirelab {args:?}: {err}");
    }
}

/// Every command that makes a report says, in its `--help`, the bounds it applies
/// (issue 26: the same `Limits` as `report --help`), each with its figure; only
/// `report`, which has the options, names them.
#[test]
fn every_command_that_reports_shows_its_bounds_in_help() {
    let limits = wirelab::report::Limits::default();
    for command in ["report", "capture", "fetch", "replay", "lab", "demo"] {
        let out = wirelab(&[command, "--help"]);
        assert!(out.status.success(), "wirelab {command} --help");
        let help = String::from_utf8(out.stdout).unwrap();
        let bounds = help
            .split_once("\nBounds")
            .unwrap_or_else(|| panic!("wirelab {command} --help names no bounds"))
            .1;
        for (_, value, what, option) in limits.table() {
            let line = bounds
                .lines()
                .find(|l| l.contains(what))
                .unwrap_or_else(|| panic!("wirelab {command} --help: no bound '{what}'"));
            let figure = line.split_whitespace().next().unwrap();
            assert!(
                value.to_string() == figure || (value >= 1024 && line.contains("iB")),
                "wirelab {command} --help: '{line}' is not {value}"
            );
            if let Some(option) = option {
                assert_eq!(
                    line.contains(option),
                    command == "report",
                    "wirelab {command} --help: '{line}' and its option {option}"
                );
            }
        }
        // The lab's own bounds too, where the lab runs.
        if matches!(command, "lab" | "demo") {
            let lab = help
                .split_once("Bounds of the lab:")
                .unwrap_or_else(|| panic!("wirelab {command} --help: no lab bounds"))
                .1;
            assert!(lab.contains("10,000  drops and reorders"), "{lab}");
            assert!(lab.contains("1,000,000  data segments"), "{lab}");
        }
    }
}
