//! Golden tests: every capture in `captures/` against its expected terminal and JSON
//! report and exit code under `tests/golden/` (regenerate: scripts/regen-golden.sh).

use std::path::Path;
use std::process::Command;

#[test]
fn every_capture_matches_its_golden_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(root.join("captures"))
        .expect("captures/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    entries.sort();
    for cap in entries {
        let name = cap.file_stem().unwrap().to_string_lossy().to_string();
        let rel = format!("captures/{name}.pcap");
        for (format, ext) in [("table", "txt"), ("json", "json")] {
            let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
                .current_dir(root)
                .env("TZ", "UTC")
                .args(["report", &rel, "--format", format])
                .output()
                .expect("wirelab runs");
            let golden = root.join(format!("tests/golden/{name}.{ext}"));
            let want = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
                panic!("missing {}: run scripts/regen-golden.sh", golden.display())
            });
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                want,
                "{rel} --format {format} differs from {}",
                golden.display()
            );
            let code =
                std::fs::read_to_string(root.join(format!("tests/golden/{name}.exit"))).unwrap();
            assert_eq!(
                out.status.code().unwrap().to_string(),
                code.trim(),
                "{rel} exit code"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} golden outputs checked");
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
