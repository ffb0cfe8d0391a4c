//! `wirelab replay` in a pseudo-terminal, as a class sees it: with --step nothing moves
//! until a key is pressed, each key shows one packet, q shows the rest and the report.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

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
