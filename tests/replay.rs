//! `wirelab replay` in a pseudo-terminal, as a class sees it: with --step nothing moves
//! until a key is pressed, each key shows one packet, q shows the rest and the report.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod support;
use support::succeed;

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");

#[test]
fn step_shows_one_packet_per_key_press_then_the_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(WIRELAB);
    cmd.current_dir(root).args([
        "replay",
        "captures/romeo.pcap",
        "--step",
        "--color",
        "never",
    ]);
    let mut p = rexpect::session::spawn_command(cmd, Some(10_000)).expect("spawn in a pty");
    p.exp_string("Enter or Space for the next packet").unwrap();
    // No key yet: no packet.
    std::thread::sleep(Duration::from_millis(300));
    let mut early = String::new();
    while let Some(c) = p.try_read() {
        early.push(c);
    }
    assert!(!early.contains("[SYN]"), "a packet before any key: {early}");
    p.send(" ").unwrap();
    p.flush().unwrap();
    p.exp_string("[SYN]").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut after_one = String::new();
    while let Some(c) = p.try_read() {
        after_one.push(c);
    }
    assert!(
        !after_one.contains("[SYN,ACK]"),
        "two packets for one key: {after_one}"
    );
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("[SYN,ACK]").unwrap();
    p.send("q").unwrap();
    p.flush().unwrap();
    p.exp_string("GET http://data.pr4e.org/romeo.txt HTTP/1.0")
        .unwrap();
    p.exp_string("== connection 0").unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn speed_paces_the_packets_and_step_needs_a_terminal() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // reorder.pcap lasts 1.437 ms: at --speed 0.001 that is 1.4 s.
    let t = Instant::now();
    let out = Command::new(WIRELAB)
        .current_dir(root)
        .args(["replay", "captures/reorder.pcap", "--speed", "0.001"])
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(out.status.success());
    assert!(
        took >= Duration::from_millis(1_300),
        "paced replay took {took:?}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let first_line = text.find("[SYN]").unwrap();
    let report = text.find("== connection 0").unwrap();
    assert!(first_line < report, "packets first, then the report");

    let out = Command::new(WIRELAB)
        .current_dir(root)
        .args(["replay", "captures/romeo.pcap", "--step"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
}

fn replay_lines(args: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = succeed(
        Command::new(WIRELAB)
            .current_dir(root)
            .arg("replay")
            .args(args),
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Issue 27's timeline: the DNS lookup before the handshake, the program's calls
/// between the packets (a send after the frame that carried it, a recv after the frame
/// it read from), the server's 10 s wait said on a line, every line within 100 columns.
#[test]
fn the_timeline_shows_dns_the_programs_calls_and_the_silences_between_the_packets() {
    let lines = replay_lines(&["captures/lab-no-blank-line.pcapng", "--speed", "1000"]);
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}:\n{}", lines.join("\n")))
    };
    let frame = |n: u64| at(&format!("{n:>4} "));
    assert!(at("(dns)  A data.pr4e.org?") < at("data.pr4e.org is A 10.80.1.2 (NOERROR)"));
    assert!(at("data.pr4e.org is A 10.80.1.2") < at("[SYN]"));
    let send = at("send(45) returned 45: stream 0..45, in frame 8");
    // The server's 10 s wait (and the link's delay): one line.
    let silence = at(" s with nothing on the wire");
    let secs: f64 = lines[silence]
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", lines[silence]));
    assert!((10.0..11.0).contains(&secs), "{}", lines[silence]);
    assert!(frame(8) < send && send < silence && silence < frame(12));
    let recv = at("recv(512) returned 235: stream 0..235, from frame 12");
    assert!(frame(12) < recv && recv < at("recv(512) returned 0: the server closed"));
    let report = at("wirelab report of");
    assert!(recv < report);
    for l in &lines[..report] {
        assert!(l.chars().count() <= 100, "over 100 columns: {l}");
    }
}

/// A loop with no `break`: its calls that returned 0 (379 of them) are two lines, the
/// first and one with the count of the rest; with --width 80 every line of the replay
/// fits 80.
#[test]
fn the_timeline_collapses_a_loop_that_never_stops_and_fits_80_columns() {
    let lines = replay_lines(&[
        "captures/lab-no-break.pcapng",
        "--speed",
        "1000",
        "--width",
        "80",
    ]);
    let report = lines
        .iter()
        .position(|l| l.starts_with("wirelab report of"))
        .unwrap();
    let timeline = &lines[..report];
    let zero: Vec<_> = timeline
        .iter()
        .filter(|l| l.contains("returned 0"))
        .collect();
    assert_eq!(zero.len(), 2, "{zero:?}");
    let json = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["report", "captures/lab-no-break.pcapng", "--format", "json"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let zeros = r["connections"][0]["recv"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["bytes"] == 0)
        .count();
    assert!(zeros > 100, "{zeros}");
    assert!(
        zero[1].contains(&format!(
            "{} more recv(512) calls returned 0: the loop never stops",
            zeros - 1
        )),
        "{zero:?}"
    );
    for l in &lines {
        assert!(l.chars().count() <= 80, "over 80 columns: {l}");
    }
}
