//! The lab network, live (layer 4 of DESIGN.md), as root: the course's own programs in
//! `tests/programs/` run unchanged under `wirelab lab` (with `data.pr4e.org` in them),
//! and so do curl and telnet (in a pseudo-terminal). Each test checks what the program
//! printed or saved against the course server's documents, the report (the DNS lookup,
//! the handshake, wire-sized segments, the TTL across the router, retransmissions under
//! --drop-every) and, after every run, that nothing of the lab is left on the host:
//! no namespace, no link, no nft table, no mount, no resolver files, no process. Labs
//! run one at a time. Without root these tests fail under CI (CI=1) and say why
//! elsewhere.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::checks::{check_recv_against_chunks, sha};
use wirelab::lab::content;

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");
const PYTHON: &str = "/usr/bin/python3";
/// Largest TCP payload at MTU 1500 with timestamps: 1500 - 20 (IP) - 32 (TCP).
const WIRE_PAYLOAD: u64 = 1448;

static ONE_LAB_AT_A_TIME: Mutex<()> = Mutex::new(());

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "lab tests need root in CI (they make network namespaces)"
    );
    eprintln!("lab tests NOT RUN: they need root (sudo cargo test --release --test lab)");
    false
}

/// A folder the program (run as nobody) can write in, holding the course programs.
fn workdir(name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = std::env::temp_dir().join(format!("wirelab-lab-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    let programs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    for e in std::fs::read_dir(programs).unwrap() {
        let e = e.unwrap();
        let to = d.join(e.file_name());
        std::fs::copy(e.path(), &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    d
}

/// What of the host a lab could leave behind.
#[derive(Debug, PartialEq)]
struct HostState {
    netns: String,
    links: String,
    nft: String,
    /// The host's xtables rules (--delay's queue rule lives in the router's namespace).
    iptables: String,
    mounts: Vec<String>,
    resolver_dirs: Vec<String>,
}

fn host_state() -> HostState {
    let out = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    HostState {
        netns: out("ip", &["netns", "list"]),
        links: out("ip", &["-o", "link", "show"])
            .lines()
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        nft: out("nft", &["list", "tables"]),
        iptables: out("iptables-legacy", &["-S"]),
        mounts: std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.contains("wirelab") || l.contains("resolv.conf"))
            .map(str::to_string)
            .collect(),
        resolver_dirs: std::fs::read_dir(wirelab::lab::program::FILES_DIR)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) || name == std::process::id().to_string() {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(marker) {
                found.push(format!("{name}: {cmd}"));
            }
        }
    }
    found
}

/// Runs `wirelab lab ARGS -- PROGRAM...` in `dir`, and checks the host is as before.
fn lab(dir: &Path, args: &[&str], program: &[&str]) -> Output {
    let before = host_state();
    let out = Command::new(WIRELAB)
        .arg("lab")
        .args(args)
        .arg("--")
        .args(program)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("wirelab runs");
    assert_eq!(host_state(), before, "the lab left something on the host");
    out
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The checks every traced HTTP connection of the lab passes: a handshake, segments
/// no larger than the wire allows, the TTL lowered by the router, complete streams.
fn check_wire(conn: &Value) {
    assert!(conn["handshake"]["syn_frame"].is_u64(), "{conn}");
    assert!(conn["handshake"]["synack_frame"].is_u64());
    for s in conn["segments"].as_array().unwrap() {
        assert!(
            s["len"].as_u64().unwrap() <= WIRE_PAYLOAD,
            "segment of {} bytes in frame {}",
            s["len"],
            s["frame"]
        );
        assert!(!s["analysis"].to_string().contains("super-segment"));
    }
    assert_eq!(conn["ip"]["ttl"][0], 64, "the client's TTL as it sends");
    assert_eq!(conn["ip"]["ttl"][1], 63, "the server's, one router later");
    assert_eq!(conn["streams"]["c2s"]["complete"], true);
    assert_eq!(conn["streams"]["s2c"]["complete"], true);
}

/// The lookup of `name`, and that it came before the connection's SYN.
fn check_lookup(r: &Value, name: &str) {
    let dns = r["dns"].as_array().expect("the report has the DNS lookups");
    let l = dns
        .iter()
        .find(|l| l["name"] == name && l["qtype"] == "A")
        .unwrap_or_else(|| panic!("no A lookup of {name} in {dns:?}"));
    assert_eq!(l["rcode"], "NOERROR");
    assert_eq!(l["answers"][0], "A 10.80.1.2");
    assert!(l["rtt_us"].as_i64().unwrap() >= 0);
    let syn = r["connections"][0]["handshake"]["syn_frame"]
        .as_u64()
        .unwrap();
    assert!(l["response_frame"].as_u64().unwrap() < syn);
}

#[test]
fn socket1_runs_unchanged_and_prints_romeo_over_wire_sized_segments() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("socket1");
    let out = lab(
        &dir,
        &[
            "--format",
            "json",
            "--stream-hash",
            "-o",
            "report.json",
            "-w",
            "class.pcap",
        ],
        &[PYTHON, "socket1.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.starts_with("HTTP/1.1 200 OK\r\n"), "{printed}");
    assert!(printed.ends_with(content::ROMEO), "{printed}");
    let r = report(&dir);
    check_lookup(&r, "data.pr4e.org");
    let conns = r["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1);
    check_wire(&conns[0]);
    let resp = &conns[0]["http"][0]["response"];
    assert_eq!(resp["status"], 200);
    assert_eq!(
        resp["body_sha256"].as_str().unwrap(),
        sha(content::ROMEO.as_bytes())
    );
    // The book's answer is longer than one recv(512).
    assert!(conns[0]["streams"]["s2c"]["bytes"].as_u64().unwrap() > 512);
    assert_eq!(r["lab"]["exit_code"], 0);
    assert_eq!(r["lab"]["user"], "nobody");
    // The saved capture replays to the same streams, with no privileges needed.
    let replay = Command::new(WIRELAB)
        .args(["report", "class.pcap", "--format", "json", "--stream-hash"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let replayed: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(
        conns[0]["streams"]["s2c"]["sha256"].as_str().map(str::len),
        Some(64),
        "--stream-hash hashes the stream"
    );
    assert_eq!(
        replayed["connections"][0]["streams"]["s2c"]["sha256"],
        conns[0]["streams"]["s2c"]["sha256"]
    );
    assert_eq!(
        replayed["dns"],
        r["dns"],
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// As a student runs it (`wirelab lab -- python3 socket1.py`, no options): the program's
/// 17 lines, wirelab's few, then the story, last; 60 lines in all, none over 80 columns,
/// and the recv table on that one screen.
#[test]
fn the_socket_clients_run_ends_with_its_story_on_one_80_column_screen() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("story");
    let out = lab(&dir, &["-w", "story.pcapng"], &[PYTHON, "socket1.py"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (printed, err) = (stdout(&out), stderr(&out));
    let all = format!("{err}{printed}");
    let lines: Vec<&str> = all.lines().collect();
    assert!(lines.len() <= 60, "{} lines:\n{all}", lines.len());
    let story = &printed[printed.find("== what happened").expect("a story")..];
    for line in story.lines() {
        assert!(line.chars().count() <= 80, "over 80 columns: {line:?}");
    }
    assert!(
        printed.starts_with("HTTP/1.1 200 OK"),
        "the program's output first"
    );
    assert!(
        story.trim_end().ends_with("explain TERM explains a word."),
        "the story is last: {story}"
    );
    let flat = one_spaced(story);
    for said in [
        "data.pr4e.org? (A) -> 10.80.1.2",
        "SYN, SYN-ACK, ACK in frames",
        "GET http://data.pr4e.org/romeo.txt HTTP/1.0\\r\\n\\r\\n",
        "HTTP/1.1 200 OK, text/plain",
        "recv(512) 512 0..512",
        "the server closed first (FIN",
        "The program ended normally (exit status 0).",
    ] {
        assert!(flat.contains(said), "no {said:?} in the story:\n{story}");
    }
    // The saved capture tells the same story in class, with no privileges.
    let replay = Command::new(WIRELAB)
        .args(["report", "story.pcapng", "--story"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(stdout(&replay), story, "{}", stderr(&replay));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The default link teaches without flags: the cover3.jpg program's recv(5120) returns
/// mixed sizes, as the book shows; the trace adds no zero-window (a traced and an
/// untraced run show the same TCP analysis); wirelab's own lines fit 80, none wider than
/// 80 columns, the story last.
#[test]
fn the_default_link_shows_mixed_recv_sizes_and_the_trace_changes_no_tcp_analysis() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("default-link");
    let out = lab(&dir, &["-w", "cover3.pcapng"], &[PYTHON, "urljpeg.py"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let story = &printed[printed.find("== what happened").expect("a story")..];
    let ours = stderr(&out).lines().count() + story.lines().count();
    assert!(ours <= 80, "{ours} lines of wirelab's:\n{story}");
    for line in story.lines() {
        assert!(line.chars().count() <= 80, "over 80 columns: {line:?}");
    }
    assert!(
        one_spaced(story)
            .contains("the link: MTU 1500, the home link (--link home), rate 4mbit (tbf)"),
        "{story}"
    );
    let traced: Value = serde_json::from_slice(
        &Command::new(WIRELAB)
            .args(["report", "cover3.pcapng", "--format", "json"])
            .current_dir(&dir)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let conn = &traced["connections"][0];
    // Short reads before the last one: recv returned what had arrived so far.
    let sizes = traced_sizes(conn);
    let before_last = &sizes[..sizes.len() - 1];
    assert!(
        before_last.contains(&5120) && before_last.iter().any(|&n| n < 5120),
        "mixed recv sizes on the default link: {sizes:?}"
    );
    let _ = lab(
        &dir,
        &["--no-trace", "--format", "json", "-o", "report.json"],
        &[PYTHON, "urljpeg.py"],
    );
    let untraced = report(&dir);
    for r in [&traced, &untraced] {
        assert_eq!(
            r["connections"][0]["analysis_totals"],
            serde_json::json!([]),
            "no zero-window or window-full, traced or not: {}",
            r["connections"][0]["analysis_totals"]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A program that stops often for the trace (here 60,000 writes to /dev/null, as a
/// browser makes many reads and writes) is told what the trace cost it and that
/// --no-trace runs it untraced; the JSON counts the stops.
/// Issue 28: `--delay 40` on this kernel, which has no netem: the router holds every
/// packet 40 ms in a netfilter queue, so the handshake's RTT and the RTT of the
/// client's own data segments (seen at the client) are 80 to 90 ms, the report names the
/// link, and nothing is left on the host (`lab` compares the host's state, its xtables
/// rules included, before and after).
#[test]
fn delay_40_ms_makes_the_rtt_80_ms_without_netem() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("delay");
    let out = lab(
        &dir,
        &[
            "--delay",
            "40ms",
            "--jitter",
            "0",
            "--format",
            "json",
            "-o",
            "report.json",
        ],
        &[PYTHON, "socket1.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&dir);
    let link = r["lab"]["link"].to_string();
    assert!(link.contains("delay 40 ms each way"), "{link}");
    let c = &r["connections"][0];
    let rtt = c["handshake"]["rtt_us"].as_i64().unwrap();
    assert!((80_000..=90_000).contains(&rtt), "handshake RTT {rtt} us");
    let segments = c["segments"].as_array().unwrap();
    let client_samples: Vec<i64> = c["rtt_samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            segments
                .iter()
                .any(|g| g["frame"] == s["frame"] && g["dir"] == "c2s")
        })
        .map(|s| s["rtt_us"].as_i64().unwrap())
        .collect();
    assert!(!client_samples.is_empty());
    for us in &client_samples {
        assert!(
            (80_000..=90_000).contains(us),
            "client RTT samples {client_samples:?}"
        );
    }
    assert!(stdout(&out).is_empty() || !stdout(&out).contains("Traceback"));
    // Every packet came with the kernel's stamp of its arrival, so its delay counts from
    // then, not from when the link's thread read it (up to its 1 ms tick later: before
    // the link asked for stamps, none came and every RTT was up to 2 ms long).
    let f = &r["lab"]["link_figures"];
    assert!(f["packets"].as_u64().unwrap() > 0, "{f}");
    assert_eq!(f["unstamped"], 0, "{f}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The rate the server's frames reached at the client, in bit/s, counted as the link
/// counts them (Ethernet frames: the IP packet and 14 bytes of header): the bits of
/// every data frame but the first, over the time from the first to the last.
fn wire_rate_bps(conn: &Value) -> f64 {
    let data: Vec<(f64, f64)> = conn["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["dir"] == "s2c" && s["len"].as_u64() > Some(0))
        .map(|s| {
            (
                s["ts_us"].as_f64().unwrap(),
                (s["ip"]["total_len"].as_f64().unwrap() + 14.0) * 8.0,
            )
        })
        .collect();
    let bits: f64 = data[1..].iter().map(|(_, b)| b).sum();
    bits / ((data[data.len() - 1].0 - data[0].0) / 1e6)
}

/// Issue 28: a rate and a delay together (the token bucket after the queue), and each
/// named link's stated figures, measured: the rate the picture arrived at within 10%,
/// the handshake's RTT within twice the delay and jitter (and what a busy machine adds),
/// and the share of the server's segments lost near the stated per cent.
#[test]
fn rate_and_delay_together_and_the_named_links_give_their_figures() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("named-links");
    let json = ["--format", "json", "-o", "report.json"];
    let run = |args: &[&str], program: &[&str]| {
        let _ = std::fs::remove_file(dir.join("report.json"));
        let out = lab(&dir, &[args, &json[..]].concat(), program);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        report(&dir)
    };
    let picture = sha(content::cover_jpeg());
    // 1 Mbit/s with 40 ms each way: 260 kB in about 2.1 s.
    let r = run(
        &["--rate", "1mbit", "--delay", "40"],
        &[PYTHON, "urljpeg.py"],
    );
    let conn = &r["connections"][0];
    let bps = wire_rate_bps(conn);
    assert!(
        (0.9e6..=1.1e6).contains(&bps),
        "1mbit with 40 ms: {bps} bit/s"
    );
    let rtt = handshake_rtts_ms(&r)[0];
    assert!((80.0..=90.0).contains(&rtt), "{rtt} ms");
    // (name, rate, delay each way, jitter, loss %)
    let links: [(&str, Option<u64>, f64, f64, f64); 4] = [
        ("lan", Some(100_000_000), 0.0, 0.0, 0.0),
        ("home", Some(4_000_000), 15.0, 1.0, 0.0),
        ("mobile", Some(10_000_000), 30.0, 8.0, 0.5),
        ("lossy", Some(4_000_000), 15.0, 3.0, 3.0),
    ];
    let three = [
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "http://data.pr4e.org/cover3.jpg",
        "http://data.pr4e.org/cover3.jpg",
        "http://data.pr4e.org/cover3.jpg",
    ];
    for (name, rate, delay, jitter, loss) in links {
        let saved = format!("{name}.pcapng");
        let r = run(&["--link", name, "-w", &saved], &three);
        let f = &r["lab"]["link_figures"];
        assert_eq!(f["name"], name);
        assert_eq!(f["rate_bps"].as_u64(), rate, "{name}: {f}");
        assert_eq!(f["delay_ms"].as_f64(), Some(delay), "{name}: {f}");
        assert_eq!(f["jitter_ms"].as_f64(), Some(jitter), "{name}: {f}");
        assert_eq!(f["loss_pct"].as_f64().unwrap_or(0.0), loss, "{name}: {f}");
        for rtt in handshake_rtts_ms(&r) {
            let (low, high) = (2.0 * (delay - jitter), 2.0 * (delay + jitter) + 5.0);
            assert!((low..=high).contains(&rtt), "{name}: RTT {rtt} ms");
        }
        let conns = r["connections"].as_array().unwrap();
        let bodies: Vec<&Value> = conns
            .iter()
            .flat_map(|c| c["http"].as_array().unwrap())
            .map(|x| &x["response"]["body_sha256"])
            .collect();
        assert_eq!(bodies.len(), 3, "{name}");
        assert!(bodies.iter().all(|b| **b == picture), "{name}: exact");
        if name == "home" {
            let bps = wire_rate_bps(&conns[0]);
            assert!((3.6e6..=4.4e6).contains(&bps), "home: {bps} bit/s");
        }
        // The server's data segments, each loss counted once (the retransmissions
        // arrived; the lost ones did not).
        let drops = r["lab"]["drops"].as_array().map_or(0, |a| a.len()) as f64;
        let sent = conns
            .iter()
            .flat_map(|c| c["segments"].as_array().unwrap())
            .filter(|s| s["dir"] == "s2c" && s["len"].as_u64() > Some(0))
            .count() as f64
            + drops;
        let pct = 100.0 * drops / sent;
        match loss {
            0.0 => assert_eq!(drops, 0.0, "{name}"),
            // 3% of about 560 segments: about 17 (the chance of fewer than 1%, or more
            // than 6%, is far below one in a thousand).
            3.0 => {
                assert!((1.0..=6.0).contains(&pct), "{name}: {pct}% of {sent}");
                // --loss: each loss named in the ladder, where it happened, and paired
                // with the frame that brought its bytes after all.
                let drops = r["lab"]["drops"].as_array().unwrap();
                assert!(drops.iter().all(|d| d["frame"].is_u64()), "{drops:?}");
                let full = Command::new(WIRELAB)
                    .args(["report", &saved, "--full", "-v", "--color", "never"])
                    .current_dir(&dir)
                    .output()
                    .unwrap();
                let named = stdout(&full).matches("dropped by the link").count();
                assert!(named >= drops.len(), "{named} of {} named", drops.len());
            }
            _ => assert!(pct <= 2.0, "{name}: {pct}% of {sent}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 28: `--capture both` captures the server's eth0 too: the segments the link
/// dropped are seen leaving the server and never arriving, each one exactly a drop the
/// link recorded and each followed by its retransmission; the one-way times include the
/// link's delay; the server's side is saved beside the capture and replays on its own.
#[test]
fn capture_both_sees_each_lost_segment_leave_the_server_and_never_arrive() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("both-ends");
    let out = lab(
        &dir,
        &[
            "--capture",
            "both",
            "--drop-every",
            "7",
            "-w",
            "class.pcapng",
            "--format",
            "json",
            "-o",
            "report.json",
        ],
        &[PYTHON, "urljpeg.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the server's side saved to class-server.pcap"),
        "{}",
        stderr(&out)
    );
    let r = report(&dir);
    let b = &r["lab"]["both_ends"];
    let drops = r["lab"]["drops"].as_array().expect("drops");
    let never = b["never_arrived"].as_array().expect("never arrived");
    assert!(drops.len() >= 20, "{}", drops.len());
    let key = |e: &Value| (e["seq"].as_u64(), e["len"].as_u64(), e["frame"].as_u64());
    let mut a: Vec<_> = drops.iter().map(key).collect();
    let mut n: Vec<_> = never.iter().map(key).collect();
    a.sort();
    n.sort();
    assert_eq!(a, n, "what never arrived is what the link dropped");
    assert!(n.iter().all(|(_, _, frame)| frame.is_some()), "each resent");
    let (sent, arrived) = (
        b["server_sent"].as_u64().unwrap(),
        b["server_arrived"].as_u64().unwrap(),
    );
    assert_eq!(sent - arrived, drops.len() as u64);
    assert_eq!(b["client_sent"], b["client_arrived"]);
    // The home link: 15 ms each way, jitter ±1 ms.
    let least = b["one_way_ms"][0].as_f64().unwrap();
    assert!((14.0..16.5).contains(&least), "one way at least {least} ms");
    // The server's side replays on its own: as many data segments leave the server there.
    let server = Command::new(WIRELAB)
        .args(["report", "class-server.pcap", "--format", "json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(server.status.success());
    let s: Value = serde_json::from_slice(&server.stdout).unwrap();
    let left = s["connections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["segments"].as_array().unwrap())
        .filter(|g| g["dir"] == "s2c" && g["len"].as_u64() > Some(0))
        .count() as u64;
    assert_eq!(left, sent);
    let story = Command::new(WIRELAB)
        .args(["report", "class.pcapng", "--story", "--width", "80"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let story = one_spaced(&stdout(&story));
    assert!(
        story.contains(&format!("the server sent {sent} data segments and {arrived} reached the program; {} segments never arrived", drops.len())),
        "{story}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The handshake RTTs of `r`'s connections, in ms.
fn handshake_rtts_ms(r: &serde_json::Value) -> Vec<f64> {
    r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["handshake"]["rtt_us"].as_f64())
        .map(|us| us / 1000.0)
        .collect()
}

#[test]
fn jitter_spreads_the_rtt_as_asked_and_satellite_gives_its_600_ms() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("jitter");
    // 80 handshakes, spaced so that no packet waits behind another (jitter keeps order):
    // each close's FIN exchange (two RTTs, up to 200 ms) is over before the next SYN.
    let connects = "import socket, time\nfor i in range(80):\n    s = socket.create_connection(('data.pr4e.org', 80))\n    s.close()\n    time.sleep(0.2)";
    let out = lab(
        &dir,
        &[
            "--delay",
            "40ms",
            "--jitter",
            "10ms",
            "--rate",
            "full",
            "--format",
            "json",
            "-o",
            "report.json",
        ],
        &[PYTHON, "-c", connects],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&dir);
    let rtts = handshake_rtts_ms(&r);
    assert_eq!(rtts.len(), 80, "{rtts:?}");
    let mean = rtts.iter().sum::<f64>() / rtts.len() as f64;
    let sd = (rtts.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / rtts.len() as f64).sqrt();
    // Each way uniform within ±10 ms: the RTT, a sum of two, has a standard deviation
    // of 10 x sqrt(2/3) = 8.16 ms around 80 ms.
    // The mean is 80 ms plus what a busy machine adds to every packet (measured up to
    // 4 ms under CI's load); the delay's own test holds it to 80-90 ms. The spread is the
    // point here.
    let expected = 10.0 * (2.0f64 / 3.0).sqrt();
    assert!((78.0..88.0).contains(&mean), "mean {mean} {rtts:?}");
    assert!(
        (sd - expected).abs() <= 0.2 * expected,
        "spread {sd:.2} ms, expected {expected:.2} ms: {rtts:?}"
    );
    assert_eq!(r["lab"]["link_figures"]["jitter_ms"], 10.0);

    let out = lab(
        &dir,
        &[
            "--link",
            "satellite",
            "--format",
            "json",
            "-o",
            "report.json",
        ],
        &[PYTHON, "socket1.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&dir);
    let f = &r["lab"]["link_figures"];
    assert_eq!(f["name"], "satellite");
    assert_eq!(f["rate_bps"], 10_000_000);
    let rtt = handshake_rtts_ms(&r)[0];
    assert!((590.0..=612.0).contains(&rtt), "satellite RTT {rtt} ms");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reorder_holds_segments_back_and_the_report_names_them_out_of_order() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("reorder");
    let out = lab(
        &dir,
        &["--reorder", "10", "--format", "json", "-o", "report.json"],
        &[PYTHON, "urljpeg.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&dir);
    let held = r["lab"]["reordered"].as_array().expect("lab.reordered");
    assert!(held.len() >= 5, "{held:?}");
    let conn = &r["connections"][0];
    let segments = conn["segments"].as_array().unwrap();
    let mut named = 0;
    for e in held {
        let frame = e["frame"].as_u64().expect("each arrived");
        let seg = segments
            .iter()
            .find(|s| s["frame"].as_u64() == Some(frame))
            .unwrap();
        if seg["analysis"].to_string().contains("out-of-order") {
            named += 1;
        }
    }
    // Held behind the next segment, each arrives after it: out of order.
    assert!(named * 10 >= held.len() * 9, "{named} of {}", held.len());
    assert_eq!(
        conn["http"][0]["response"]["body_sha256"].as_str().unwrap(),
        sha(content::cover_jpeg()),
        "the stream is exact through the reordering"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_program_the_trace_slows_is_told_by_how_much_and_about_no_trace() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("trace-cost");
    let busy = "import os\nfd = os.open('/dev/null', os.O_WRONLY)\nfor i in range(60000): os.write(fd, b'x')";
    let out = lab(&dir, &["--color", "never"], &[PYTHON, "-c", busy]);
    assert!(out.status.success(), "{}", stderr(&out));
    let story = one_spaced(&stdout(&out));
    assert!(
        story.contains("The trace stopped the program") && story.contains("--no-trace"),
        "{story}"
    );
    let _ = lab(
        &dir,
        &["--format", "json", "-o", "report.json"],
        &[PYTHON, "-c", busy],
    );
    let stops = report(&dir)["trace"]["stops"].as_u64().unwrap_or(0);
    assert!(stops >= 60_000, "every write stopped the program: {stops}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_image_is_saved_byte_identical_and_drop_every_brings_retransmissions() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("urljpeg");
    let out = lab(
        &dir,
        &[
            "--rate",
            "20mbit",
            "--drop-every",
            "7",
            "--format",
            "json",
            "-o",
            "report.json",
        ],
        &[PYTHON, "urljpeg.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("Header length"), "{printed}");
    let saved = std::fs::read(dir.join("stuff.jpg")).expect("the program saved stuff.jpg");
    assert_eq!(
        saved,
        content::cover_jpeg(),
        "stuff.jpg is the served image"
    );
    let r = report(&dir);
    check_lookup(&r, "data.pr4e.org");
    let conn = &r["connections"][0];
    check_wire(conn);
    let analysis = conn["analysis_totals"].to_string();
    assert!(analysis.contains("retransmission"), "{analysis}");
    assert_eq!(
        conn["http"][0]["response"]["body_sha256"].as_str().unwrap(),
        sha(content::cover_jpeg()),
        "the stream is exact through the losses"
    );
    assert!(
        r["lab"]["link"]
            .to_string()
            .contains("every 7th data segment"),
        "{}",
        r["lab"]
    );
    // Every drop the link recorded is listed, on this connection, with the captured
    // frame that sent the same bytes again, later; that frame is named a retransmission.
    let drops = r["lab"]["drops"].as_array().expect("lab.drops");
    let data = conn["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["dir"] == "s2c" && s["len"].as_u64() > Some(0))
        .count();
    // Every 7th of the data segments the server sent (those captured plus those lost).
    assert_eq!(drops.len(), (data + drops.len()) / 7, "{drops:?}");
    assert_eq!(conn["link_drops"].as_array().unwrap().len(), drops.len());
    let mut named = 0;
    for d in drops {
        assert_eq!(d["connection"], conn["id"], "{d}");
        let frame = d["frame"]
            .as_u64()
            .expect("each drop has its retransmission");
        let seg = conn["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["frame"].as_u64() == Some(frame))
            .unwrap();
        let (rel, len) = (d["rel_seq"].as_i64().unwrap(), seg["len"].as_i64().unwrap());
        let start = seg["rel_seq"].as_i64().unwrap();
        assert!(start <= rel && rel < start + len, "{d} {seg}");
        assert!(seg["ts_us"].as_i64() > d["ts_us"].as_i64(), "{d} {seg}");
        if seg["analysis"].to_string().contains("retransmission") {
            named += 1;
        }
    }
    // A drop of a second copy (the server's timer fired while the first was still held
    // on the link) is followed by that first copy, which is no retransmission: rare.
    assert!(named * 10 >= drops.len() * 8, "{named} of {}", drops.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn urllib_and_curl_speak_http_1_1_and_get_the_document() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("urllib");
    let out = lab(
        &dir,
        &["--format", "json", "-o", "report.json"],
        &[PYTHON, "urllib1.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<&str> = content::ROMEO.lines().collect();
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), lines);
    let r = report(&dir);
    check_lookup(&r, "data.pr4e.org");
    let x = &r["connections"][0]["http"][0];
    assert_eq!(x["request"]["version"], "HTTP/1.1");
    assert_eq!(x["response"]["status"], 200);
    check_wire(&r["connections"][0]);

    let out = lab(
        &dir,
        &["--format", "json", "-o", "report.json"],
        &["curl", "-s", "http://www.py4e.com/romeo.txt"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), content::ROMEO);
    let r = report(&dir);
    check_lookup(&r, "www.py4e.com");
    let resp = &r["connections"][0]["http"][0]["response"];
    let headers = resp["headers"].to_string();
    assert!(
        headers.contains("Keep-Alive"),
        "HTTP/1.1 is kept alive: {headers}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn telnet_typed_by_hand_shows_the_typed_request_in_the_report() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("telnet");
    let before = host_state();
    let mut cmd = Command::new(WIRELAB);
    cmd.args([
        "lab",
        "--color",
        "never",
        "--",
        "telnet",
        "data.pr4e.org",
        "80",
    ])
    .current_dir(&dir);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn in a pty");
    p.exp_string("Connected to data.pr4e.org").unwrap();
    p.send_line("GET http://data.pr4e.org/romeo.txt HTTP/1.0")
        .unwrap();
    p.send_line("").unwrap();
    p.exp_string("Who is already sick and pale with grief")
        .unwrap();
    p.exp_string("Connection closed by foreign host").unwrap();
    let text = p.exp_eof().unwrap_or_default();
    assert!(
        text.contains("GET http://data.pr4e.org/romeo.txt HTTP/1.0"),
        "the typed request is in the report: {text}"
    );
    assert!(text.contains("200 OK"), "{text}");
    assert!(text.contains("data.pr4e.org? (A) -> 10.80.1.2"), "{text}");
    let joined = one_spaced(&text);
    assert!(
        joined.contains("recv returned 0 (the end of the stream)")
            && !joined.contains("if len(data) < 1")
            && !joined.contains("The loop never stops"),
        "telnet's one read of the end is no mistake: {text}"
    );
    assert!(
        joined.contains("send(45) sent 45 bytes") && joined.contains("send(2) sent 2 bytes"),
        "telnet's sends of the typed line (43 characters and CR LF) and the blank line are \
traced: {text}"
    );
    assert_eq!(host_state(), before, "the lab left something on the host");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_misspelt_name_gets_nxdomain_and_the_report_says_which_name() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("typo");
    let out = lab(&dir, &["--color", "never"], &[PYTHON, "socket_typo.py"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "python's exit status is passed on"
    );
    assert!(stderr(&out).contains("gaierror"), "{}", stderr(&out));
    let text = one_spaced(&stdout(&out));
    assert!(
        text.contains("data.prte.org? (A) -> no such name (NXDOMAIN)"),
        "{text}"
    );
    assert!(
        text.contains("No connection: DNS has no data.prte.org (NXDOMAIN)")
            && text.contains("Did you mean data.pr4e.org?"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_address_that_never_answers_and_a_closed_port_are_said_plainly() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("no-answer");
    let silent =
        "import socket\ns = socket.socket()\ns.settimeout(2)\ns.connect(('10.80.1.99', 80))";
    let out = lab(&dir, &["--color", "never"], &[PYTHON, "-c", silent]);
    assert_eq!(out.status.code(), Some(1));
    let text = one_spaced(&stdout(&out));
    assert!(
        text.contains("The SYN got no answer") && text.contains("nothing at 10.80.1.99 port 80"),
        "{text}"
    );
    let refused = "import socket\nsocket.create_connection(('data.pr4e.org', 81))";
    let _json_run = lab(
        &dir,
        &["--format", "json", "-o", "report.json"],
        &[PYTHON, "-c", refused],
    );
    // The server's side never opened: refused, not a capture begun mid-connection.
    let r = report(&dir);
    let s2c = &r["connections"][0]["streams"]["s2c"];
    assert_eq!(s2c["incomplete"], serde_json::json!(["refused"]), "{s2c}");
    let out2 = lab(&dir, &["--color", "never"], &[PYTHON, "-c", refused]);
    assert!(
        !stdout(&out2).contains("began mid-connection"),
        "{}",
        stdout(&out2)
    );
    let out = out2;
    assert!(
        stderr(&out).contains("ConnectionRefusedError"),
        "{}",
        stderr(&out)
    );
    let text = one_spaced(&stdout(&out));
    assert!(
        text.contains("answered by RST")
            && text.contains("nothing listens on port 81 at data.pr4e.org"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_are_plain_a_missing_command_and_no_root() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("errors");
    let out = lab(&dir, &[], &["pyhton3", "socket1.py"]);
    assert_eq!(out.status.code(), Some(127), "as a shell says it");
    assert!(
        stderr(&out).contains("pyhton3: command not found"),
        "{}",
        stderr(&out)
    );
    std::fs::write(dir.join("notes.txt"), "my notes").unwrap();
    let out = lab(&dir, &["-w", "notes.txt"], &["true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("never writes a capture over a file"));
    assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"my notes");
    // Without root: the binary copied where nobody can run it, run as nobody.
    let exe = dir.join("wirelab");
    std::fs::copy(WIRELAB, &exe).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["lab", "--", "true"])
        .current_dir(&dir)
        .output()
        .expect("setpriv runs");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("sudo"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Processes stopped under a tracer or by a signal (state t or T), as `ps` shows them.
fn stopped_processes() -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(stat) = std::fs::read_to_string(e.path().join("stat"))
            && let Some((_, rest)) = stat.rsplit_once(") ")
            && (rest.starts_with('t') || rest.starts_with('T'))
        {
            found.push(stat);
        }
    }
    found
}

/// Waits for `child` at most `limit`; kills it (and fails) if it is still running.
fn wait_within(child: &mut std::process::Child, limit: Duration, what: &str) -> ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: wirelab still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The hang of a program its user may not run (root's pyenv python3 under /root,
/// mode 700, run as nobody): the run ends at once with the shell's status and says
/// why, traced or not, whether the program, a folder above it or its interpreter is
/// the cause; nothing is left on the host and no process stays stopped.
#[test]
fn a_program_its_user_cannot_run_ends_the_run_at_once_with_126_or_127() {
    if !is_root() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("cannot-run");
    // A folder only root may enter, holding a python3 first in PATH (as pyenv's shim).
    let closed = dir.join("closed");
    std::fs::create_dir(&closed).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let shim = closed.join("python3");
    std::fs::write(&shim, "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n").unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let no_interpreter = dir.join("no-interpreter.py");
    std::fs::write(&no_interpreter, "#!/no/such/interpreter\nprint(1)\n").unwrap();
    std::fs::set_permissions(&no_interpreter, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", closed.display());
    // (options, command, status, what stderr says)
    type Case<'a> = (Vec<&'a str>, Vec<String>, i32, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            vec![],
            vec!["python3".into(), "socket1.py".into()],
            126,
            vec![
                "user nobody, who runs the lab's programs, may not run it",
                "permission denied",
                "may not enter",
                "/usr/bin/python3 is one nobody can run",
            ],
        ),
        (
            vec!["--no-trace"],
            vec![shim.display().to_string()],
            126,
            vec![
                "user nobody, who runs the lab's programs, may not run it",
                "may not enter",
            ],
        ),
        (
            vec![],
            vec!["no-such-program-wirelab".into()],
            127,
            vec!["command not found"],
        ),
        (
            vec![],
            vec![no_interpreter.display().to_string()],
            127,
            vec!["could not be started as user nobody", "interpreter"],
        ),
        (
            vec!["--no-trace"],
            vec![no_interpreter.display().to_string()],
            127,
            vec!["could not be started as user nobody", "interpreter"],
        ),
    ];
    for (args, program, code, says) in cases {
        let before = host_state();
        let mut child = Command::new(WIRELAB)
            .arg("lab")
            .args(&args)
            .args(["-w", "never.pcapng", "--"])
            .args(&program)
            .env("PATH", &path)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = wait_within(&mut child, Duration::from_secs(10), &program.join(" "));
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(status.code(), Some(code), "{program:?} {args:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{program:?} {args:?}: no {s:?} in {err}");
        }
        assert!(!dir.join("never.pcapng").exists(), "no empty capture kept");
        assert_eq!(host_state(), before, "{program:?}: the lab left something");
        assert!(stopped_processes().is_empty(), "{:?}", stopped_processes());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C or SIGTERM ends the lab within a second at each stage: while the lab is
/// made (before the exec), while a program that ignores SIGTERM runs (killed), and
/// while the report is written to a reader that does not read; nothing is left, the
/// capture saved before the report is complete.
#[test]
fn sigterm_ends_the_lab_within_a_second_at_every_stage() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("stages");
    let term = |pid: u32| {
        // SAFETY: kill with a pid of ours.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        Instant::now()
    };
    // Before the program's exec: the lab being made.
    for after_ms in [20, 120, 250] {
        let before = host_state();
        let mut child = Command::new(WIRELAB)
            .args(["lab", "-w", "early.pcapng", "--", PYTHON, "-c", "print(1)"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(after_ms));
        let t0 = term(child.id());
        let status = wait_within(&mut child, Duration::from_secs(5), "setup");
        let took = t0.elapsed();
        let err = stderr(&child.wait_with_output().unwrap());
        assert!(
            took < Duration::from_secs(1),
            "{after_ms} ms: took {took:?}"
        );
        // Ended during setup (143, "stopped by SIGTERM"), or the program was quicker.
        assert!(
            status.code() == Some(143) || status.success(),
            "{after_ms} ms: {status:?} {err}"
        );
        // Stopped before the program ran: no empty capture. A signal that lands once the
        // capture is saved (the program was quicker) keeps it: it holds the whole run.
        if status.code() == Some(143)
            && err.contains("stopped by SIGTERM")
            && !err.contains("capture was saved")
        {
            assert!(
                !dir.join("early.pcapng").exists(),
                "no empty capture kept: {err}"
            );
        }
        let _ = std::fs::remove_file(dir.join("early.pcapng"));
        assert_eq!(host_state(), before, "{after_ms} ms: something left");
        assert!(stopped_processes().is_empty(), "{:?}", stopped_processes());
    }
    // While a program that ignores SIGTERM runs: it is killed within a second.
    let before = host_state();
    let marker =
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(33)";
    let mut child = Command::new(WIRELAB)
        .args(["lab", "--", PYTHON, "-c", marker])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = wait_for_program(marker);
    let t0 = term(child.id());
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "the program outlived 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = wait_within(&mut child, Duration::from_secs(5), "program");
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(128 + 9), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("== what happened"),
        "the story follows"
    );
    assert_eq!(
        host_state(),
        before,
        "something left after the program stage"
    );
    // While the report is written to a pipe nobody reads: ends at once, by the signal.
    let before = host_state();
    let mut child = Command::new(WIRELAB)
        .args(["lab", "-v", "-x", "-w", "report-stage.pcapng", "--"])
        .args([PYTHON, "urljpeg.py"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        let wchan =
            std::fs::read_to_string(format!("/proc/{}/wchan", child.id())).unwrap_or_default();
        if wchan.contains("pipe_write") {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the report fit the pipe"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "never blocked on the report"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let t0 = term(child.id());
    let status = wait_within(&mut child, Duration::from_secs(5), "report");
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t0.elapsed()
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let saved = std::fs::read(dir.join("report-stage.pcapng")).unwrap();
    assert_eq!(
        &saved[..4],
        &[0x0a, 0x0d, 0x0d, 0x0a],
        "saved as pcapng first"
    );
    assert_eq!(
        host_state(),
        before,
        "something left after the report stage"
    );
    assert!(stopped_processes().is_empty(), "{:?}", stopped_processes());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Root without sudo, in a folder only root may enter (the README's first command run
/// from a root shell): the program runs as nobody, and the saved capture is still the
/// pcapng with the program's calls, root's; under sudo it is the invoking user's.
#[test]
fn the_saved_capture_is_the_pcapng_it_is_called_in_a_folder_only_root_may_enter() {
    if !is_root() {
        return;
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("root-folder");
    let closed = dir.join("roots");
    std::fs::create_dir(&closed).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let program = dir.join("socket1.py");
    let program = program.to_str().unwrap();
    for (sudo, owner) in [(false, 0), (true, 65534)] {
        let name = format!("class-{sudo}.pcapng");
        let mut cmd = Command::new(WIRELAB);
        cmd.args(["lab", "-o", "/dev/null", "-w", &name, "--", PYTHON, program])
            .current_dir(&closed)
            .env_remove("SUDO_USER")
            .env_remove("SUDO_UID")
            .env_remove("SUDO_GID");
        if sudo {
            cmd.env("SUDO_USER", "nobody")
                .env("SUDO_UID", "65534")
                .env("SUDO_GID", "65534");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!stderr(&out).contains("classic pcap"), "{}", stderr(&out));
        let path = closed.join(&name);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "a pcapng, as named");
        assert_eq!(
            std::fs::metadata(&path).unwrap().uid(),
            owner,
            "sudo: {sudo}"
        );
        let replay = Command::new(WIRELAB)
            .args(["report", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&replay.stdout).unwrap();
        assert_eq!(traced_sizes(&r["connections"][0]), vec![512, 23]);
    }
    // wirelab's own demo there too.
    let out = Command::new(WIRELAB)
        .args(["demo", "-o", "/dev/null"])
        .current_dir(&closed)
        .env_remove("SUDO_USER")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("classic pcap"), "{}", stderr(&out));
    let demo = std::fs::read(closed.join("wirelab-demo.pcapng")).unwrap();
    assert_eq!(&demo[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "the demo's pcapng");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Four students on one shared machine: four labs at once, each its own network and
/// its own files under /run/wirelab; every one gets its document and its own recv
/// calls, none removes another's state, and nothing is left after all end.
#[test]
fn four_labs_at_once_each_on_its_own_network_and_nothing_left() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("four");
    let before = host_state();
    let children: Vec<(usize, std::process::Child)> = (0..4)
        .map(|i| {
            let child = Command::new(WIRELAB)
                .args(["lab", "--format", "json", "-o", &format!("r{i}.json")])
                .args(["-w", &format!("c{i}.pcapng"), "--", PYTHON, "socket1.py"])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (i, child)
        })
        .collect();
    for (i, mut child) in children {
        let status = wait_within(&mut child, Duration::from_secs(60), "a lab of four");
        let out = child.wait_with_output().unwrap();
        assert!(status.success(), "lab {i}: {}", stderr(&out));
        assert!(stdout(&out).ends_with(content::ROMEO), "lab {i}");
        let r: Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("r{i}.json"))).unwrap())
                .unwrap();
        let conns = r["connections"].as_array().unwrap();
        assert_eq!(conns.len(), 1, "lab {i} saw only its own connection");
        assert_eq!(traced_sizes(&conns[0]), vec![512, 23], "lab {i}");
        assert_eq!(r["trace"]["processes"][0]["name"], "python3");
    }
    // Each lab's calls are its own program's.
    let owners: std::collections::BTreeSet<u64> = (0..4)
        .map(|i| {
            let r: Value =
                serde_json::from_slice(&std::fs::read(dir.join(format!("r{i}.json"))).unwrap())
                    .unwrap();
            r["connections"][0]["process"]["pid"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(owners.len(), 4, "four programs, four traces");
    assert_eq!(host_state(), before, "the four labs left something");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The program's pid once it runs (found by a marker in its command line).
fn wait_for_program(marker: &str) -> u32 {
    let t0 = Instant::now();
    loop {
        if let Some(p) = processes_with(marker)
            .iter()
            .find(|p| p.contains(PYTHON) && !p.contains("wirelab"))
        {
            // Past its start-up, in time.sleep: a signal then ends the program as a
            // student's Ctrl-C does.
            let pid: u32 = p.split(':').next().unwrap().parse().unwrap();
            let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
            if wchan.contains("nanosleep") {
                return pid;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the program never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_and_ctrl_c_end_the_program_then_the_report_and_nothing_is_left() {
    if !is_root() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("signals");
    // Python ends itself with the signal on KeyboardInterrupt (128 + 2), as a shell shows it.
    for (signal, expect) in [(libc::SIGTERM, 128 + 15), (libc::SIGINT, 128 + 2)] {
        let before = host_state();
        let marker = format!("import time; time.sleep(30.{signal})");
        let child = Command::new(WIRELAB)
            .args(["lab", "--color", "never", "--", PYTHON, "-c", &marker])
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = wait_for_program(&marker);
        // SAFETY: kill with a valid pid (SIGTERM to wirelab) or process group (Ctrl-C
        // reaches the whole foreground group).
        unsafe {
            if signal == libc::SIGTERM {
                libc::kill(child.id() as i32, signal);
            } else {
                libc::kill(-(child.id() as i32), signal);
            }
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(expect), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("== what happened"),
            "the story follows"
        );
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "the program is gone"
        );
        assert_eq!(host_state(), before, "nothing left after signal {signal}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_killed_with_sigkill_takes_its_program_and_network_along() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("sigkill");
    let before = host_state();
    let marker = "import time; time.sleep(31)";
    let mut child = Command::new(WIRELAB)
        .args(["lab", "--", PYTHON, "-c", marker])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = wait_for_program(marker);
    child.kill().unwrap();
    child.wait().unwrap();
    let t0 = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the program outlived wirelab"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(host_state(), before, "nothing left after SIGKILL");
    // Resolver files of a run killed before its program started are removed by the
    // next run, which says so.
    let stale = Path::new(wirelab::lab::program::FILES_DIR).join("lab-999999999");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("resolv.conf"), "nameserver 10.80.1.2\n").unwrap();
    let out = Command::new(WIRELAB)
        .args(["lab", "--", "true"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("lab-999999999 left by an earlier run"),
        "{}",
        stderr(&out)
    );
    assert!(!stale.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_says_what_this_kernel_supports_and_a_missing_piece_is_one_line() {
    let help = Command::new(WIRELAB)
        .args(["lab", "--help"])
        .output()
        .unwrap();
    let help = stdout(&help);
    assert!(help.contains("This kernel:"), "{help}");
    // Asked the other way (the kernel is probed only for a command line naming the lab).
    let other = Command::new(WIRELAB)
        .args(["help", "lab"])
        .output()
        .unwrap();
    assert!(
        stdout(&other).contains("This kernel:"),
        "{}",
        stdout(&other)
    );
    let support = wirelab::lab::network::KernelSupport::probe();
    let delay_line = help
        .lines()
        .find(|l| l.contains("--delay --jitter --loss"))
        .expect("a line about --delay");
    match support.nfqueue {
        Some(true) => assert!(delay_line.ends_with("yes")),
        Some(false) => assert!(delay_line.contains("NO"), "{delay_line}"),
        None => assert!(delay_line.contains("unknown")),
    }
}

/// The sizes a connection's recv calls returned (the closing 0 left out).
fn traced_sizes(conn: &Value) -> Vec<u64> {
    conn["recv"]
        .as_array()
        .expect("the program's recv calls are in the report")
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap())
        .filter(|n| *n > 0)
        .collect()
}

/// The traced calls of a connection: they tile its stream exactly, each call's frames
/// cover exactly its range, the last recv returned 0, and the asked size is the buffer.
fn check_traced(conn: &Value, asked: u64) {
    check_recv_against_chunks(conn);
    let recv = conn["recv"].as_array().unwrap();
    assert_eq!(recv.last().unwrap()["bytes"], 0, "the loop ended on a 0");
    assert!(recv.iter().all(|r| r["asked"] == asked), "{recv:?}");
    assert!(recv.iter().all(|r| r["syscall"] == "recv"));
    let sent: u64 = conn["send"]
        .as_array()
        .expect("the program's sends are in the report")
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, conn["streams"]["c2s"]["bytes"].as_u64().unwrap());
}

#[test]
fn the_programs_own_recv_calls_are_traced_and_kept_in_the_saved_pcapng() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("trace");
    let out = lab(
        &dir,
        &[
            "--format",
            "json",
            "-o",
            "report.json",
            "-w",
            "class.pcapng",
        ],
        &[PYTHON, "socket_sizes.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: Vec<u64> = stdout(&out).lines().map(|l| l.parse().unwrap()).collect();
    let r = report(&dir);
    let conn = &r["connections"][0];
    assert_eq!(
        traced_sizes(conn),
        printed,
        "the program's sizes are the traced ones"
    );
    check_traced(conn, 512);
    assert_eq!(conn["process"]["name"], "python3");
    assert_eq!(r["trace"]["mechanism"], "ptrace+seccomp");
    assert!(r["trace"]["cost_us_per_call"].as_f64().unwrap() > 0.0);
    // In class: the saved file, replayed without privileges, gives the same table.
    let replay = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", WIRELAB])
        .args(["report", "class.pcapng", "--format", "json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", stderr(&replay));
    let replayed: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(replayed["connections"][0]["recv"], conn["recv"]);
    assert_eq!(replayed["connections"][0]["send"], conn["send"]);
    assert_eq!(replayed["source"]["format"], "pcapng");
    // tshark reads it without a warning and lists the comments.
    let t = Command::new("tshark")
        .args(["-r", "class.pcapng", "-Y", "frame.comment", "-T", "fields"])
        .args(["-e", "frame.number", "-e", "frame.comment"])
        .current_dir(&dir)
        .output()
        .expect("tshark runs");
    let epoch = Command::new("tshark")
        .args([
            "-r",
            "class.pcapng",
            "-c",
            "1",
            "-T",
            "fields",
            "-e",
            "frame.time_epoch",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    let first_us = (stdout(&epoch).trim().parse::<f64>().unwrap() * 1e6) as i64;
    let dns_us = r["dns"][0]["ts_us"].as_i64().unwrap();
    assert!(
        (first_us - dns_us).abs() < 10_000_000,
        "tshark reads the times as captured: {first_us} vs {dns_us}"
    );
    let warnings: Vec<String> = stderr(&t)
        .lines()
        .filter(|l| !l.contains("Running as user \"root\""))
        .map(str::to_string)
        .collect();
    assert!(warnings.is_empty(), "tshark warned: {warnings:?}");
    let comments = stdout(&t);
    let first = &conn["recv"][0];
    let frame = first["frames"][0].as_u64().unwrap();
    let pid = conn["process"]["pid"].as_u64().unwrap();
    assert!(
        comments
            .lines()
            .any(|l| l.starts_with(&format!("{frame}\t"))
                && l.contains(&format!(
                    "recv #1 of python3 (pid {pid}): {} B",
                    first["bytes"]
                ))),
        "{comments}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_image_retrievers_pieces_with_and_without_sleep_and_urllib_are_traced() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("trace-jpeg");
    for program in ["urljpeg.py", "urljpeg_sleep.py"] {
        let out = lab(
            &dir,
            &["--rate", "8mbit", "--format", "json", "-o", "report.json"],
            &[PYTHON, program],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let printed: Vec<u64> = stdout(&out)
            .lines()
            .take_while(|l| !l.starts_with("Header length"))
            .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
            .collect();
        let r = report(&dir);
        let conn = &r["connections"][0];
        assert_eq!(traced_sizes(conn), printed, "{program}");
        check_traced(conn, 5120);
        let saved = std::fs::read(dir.join("stuff.jpg")).unwrap();
        assert_eq!(
            saved,
            content::cover_jpeg(),
            "{program}: the saved bytes are the stream's"
        );
        if program == "urljpeg_sleep.py" {
            // Sleeping between calls lets the buffer fill: full 5120-byte pieces.
            assert!(printed.iter().filter(|n| **n == 5120).count() > printed.len() / 2);
        }
    }
    let out = lab(
        &dir,
        &["--format", "json", "-o", "report.json", "--color", "never"],
        &[PYTHON, "urllib1.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&dir);
    let recv = r["connections"][0]["recv"].as_array().unwrap();
    assert!(recv.iter().any(|c| c["asked"] == 8192), "{recv:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_threads_calls_land_on_their_own_connections() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("threads");
    let out = lab(
        &dir,
        &["--rate", "8mbit", "--format", "json", "-o", "report.json"],
        &[PYTHON, "two_threads.py"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: std::collections::HashMap<String, Vec<u64>> = stdout(&out)
        .lines()
        .map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next().unwrap().to_string();
            (name, w.map(|n| n.parse().unwrap()).collect())
        })
        .collect();
    let r = report(&dir);
    let conns = r["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 2);
    let mut tids = Vec::new();
    for conn in conns {
        let target = conn["http"][0]["request"]["target"].as_str().unwrap();
        let (name, asked) = if target.ends_with("romeo.txt") {
            ("romeo", 512)
        } else {
            ("cover", 5120)
        };
        assert_eq!(traced_sizes(conn), printed[name], "{name}");
        check_traced(conn, asked);
        let tid = conn["recv"][0]["tid"].as_u64().unwrap();
        assert!(
            conn["recv"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["tid"] == tid)
        );
        tids.push(tid);
    }
    assert_ne!(
        tids[0], tids[1],
        "each thread's calls on its own connection"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_traced_program_killed_mid_run_leaves_no_stopped_process() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("kill-program");
    let before = host_state();
    let marker = "import time; time.sleep(32)";
    let child = Command::new(WIRELAB)
        .args(["lab", "--color", "never", "--", PYTHON, "-c", marker])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = wait_for_program(marker);
    // SAFETY: kill with a pid we found.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(128 + 9), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("The program was stopped by SIGKILL"),
        "{}",
        stdout(&out)
    );
    assert!(
        processes_with(marker).is_empty(),
        "{:?}",
        processes_with(marker)
    );
    assert_eq!(host_state(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Headless Chromium, unchanged, as a student's browser in the lab: page1.htm over
/// HTTP/1.1 keep-alive, gzip-coded (the preview decoded, the hash over the coded
/// bytes), the favicon's 404 on the same connection; the form's submission with its
/// query string decoded into parameters; the HAR of the saved capture validates and
/// holds those requests. A second fetch with the validators gets 304.
#[test]
fn the_browser_in_the_lab_gets_the_page_the_favicon_404_and_the_form() {
    if !is_root() {
        return;
    }
    if Command::new("chromium").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI installs chromium");
        eprintln!("browser lab test NOT RUN: install chromium");
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("browser");
    let profile = dir.join("profile");
    let browser = |url: &str| -> Vec<String> {
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            // Chromium tries https:// first for an http:// URL (HTTPS-Upgrades) and, the
            // lab serving 443 with a certificate it trusts, stays there: the HTTP part
            // of this test asks for plain HTTP, as the course's console lesson does.
            "--disable-features=HttpsUpgrades",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            url,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let args = browser("http://data.pr4e.org/page1.htm");
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lab(
        &dir,
        &[
            "--no-trace",
            "--format",
            "json",
            "-o",
            "report.json",
            "-w",
            "page.pcapng",
        ],
        &argv,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("The First Page"),
        "the browser got the page"
    );
    let r = report(&dir);
    let exchanges: Vec<&Value> = r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["http"].as_array().unwrap())
        .collect();
    let page = exchanges
        .iter()
        .find(|x| x["request"]["target"] == "/page1.htm")
        .expect("the page's request");
    assert_eq!(page["request"]["version"], "HTTP/1.1");
    let resp = &page["response"];
    assert_eq!(resp["status"], 200);
    assert!(
        resp["headers"]
            .to_string()
            .contains("\"Content-Encoding\",\"gzip\""),
        "{resp}"
    );
    assert!(
        resp["body_preview"]
            .as_str()
            .unwrap()
            .contains("The First Page"),
        "the preview is the decoded text"
    );
    assert_ne!(
        resp["body_sha256"].as_str().unwrap(),
        sha(content::PAGE1.as_bytes()),
        "the hash is over the coded bytes"
    );
    let favicon = exchanges
        .iter()
        .find(|x| x["request"]["target"] == "/favicon.ico")
        .expect("the favicon's request");
    assert_eq!(favicon["response"]["status"], 404);
    // Traced, the same page load ends (it used to hang: the tracer read the kernel's
    // whole TCP table at each of Chromium's calls on a Unix socket), and the browser's
    // own send and read calls are joined to the page's connection, every byte of it.
    let _ = std::fs::remove_file(dir.join("report.json"));
    let before = host_state();
    let mut traced = Command::new(WIRELAB)
        .args(["lab", "--format", "json", "-o", "report.json", "--"])
        .args(&argv)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_within(&mut traced, Duration::from_secs(180), "the traced browser");
    assert!(status.success());
    assert_eq!(host_state(), before, "the lab left something on the host");
    let r = report(&dir);
    let conn = r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["http"].to_string().contains("/page1.htm"))
        .expect("the page's connection");
    let total = |list: &str| -> u64 {
        conn[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list} calls joined: {}", r["trace"]))
            .iter()
            .map(|c| c["bytes"].as_u64().unwrap())
            .sum()
    };
    // Read up to the page's whole response at least (a favicon's 404 after it may be
    // left unread when the browser ends at once, as --dump-dom does: the RST then).
    let page = &conn["http"][0]["response"];
    let read = total("recv");
    let page_bytes = page["header_len"].as_u64().unwrap() + page["body_len"].as_u64().unwrap();
    assert!(
        page_bytes <= read && read <= conn["streams"]["s2c"]["bytes"].as_u64().unwrap(),
        "read {read}, the page {page_bytes}"
    );
    assert_eq!(
        total("send"),
        conn["streams"]["c2s"]["bytes"].as_u64().unwrap()
    );
    assert!(
        r["trace"]["calls_disputed"].as_u64().unwrap_or(0) == 0,
        "{}",
        r["trace"]
    );
    assert!(
        r["connections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["http"].as_array().unwrap().len() >= 2),
        "keep-alive: the favicon on the page's connection"
    );
    assert!(
        !exchanges.iter().any(|x| x["request"].is_null()),
        "no phantom exchange from an unused connection"
    );
    let har = Command::new(WIRELAB)
        .args(["report", "page.pcapng", "--format", "har"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let har: Value = serde_json::from_slice(&har.stdout).unwrap();
    let urls: Vec<&str> = har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&"http://data.pr4e.org/page1.htm"), "{urls:?}");
    assert!(
        urls.contains(&"http://data.pr4e.org/favicon.ico"),
        "{urls:?}"
    );

    // The form, then its submission: the query string decoded into parameters.
    for url in [
        "http://data.pr4e.org/form.htm",
        "http://data.pr4e.org/guess.htm?guess=12&x=14&abc=22",
    ] {
        let args = browser(url);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = lab(
            &dir,
            &["--no-trace", "--format", "json", "-o", "report.json"],
            &argv,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let r = report(&dir);
        let x = &r["connections"][0]["http"][0];
        assert_eq!(x["response"]["status"], 200, "{url}");
        if url.contains('?') {
            assert!(stdout(&out).contains("guess = 12"), "{}", stdout(&out));
            assert_eq!(
                x["request"]["query"],
                serde_json::json!([["guess", "12"], ["x", "14"], ["abc", "22"]])
            );
        } else {
            assert!(stdout(&out).contains("<form action=\"/guess.htm\""));
        }
    }

    // A second fetch with the validators: 304 Not Modified, no body.
    let out = lab(
        &dir,
        &["--no-trace", "--format", "json", "-o", "report.json"],
        &[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "If-None-Match: \"a7-54f6609245537\"",
            "http://data.pr4e.org/romeo.txt",
        ],
    );
    assert_eq!(stdout(&out), "304");
    let r = report(&dir);
    assert_eq!(r["connections"][0]["http"][0]["response"]["status"], 304);

    // Over HTTPS: Chromium, which reads no CA bundle, trusts the lab's certificate by
    // the flag the lab adds, and the page comes decrypted in the report.
    let args = browser("https://data.pr4e.org/page1.htm");
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lab(
        &dir,
        &[
            "--no-trace",
            "--format",
            "json",
            "-o",
            "report.json",
            "-w",
            "https.pcapng",
        ],
        &argv,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("The First Page"),
        "Chromium got the page over HTTPS: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("--ignore-certificate-errors-spki-list"),
        "the lab says what it added: {}",
        stderr(&out)
    );
    let r = report(&dir);
    assert!(
        r["lab"]["command"].as_array().unwrap().iter().any(|a| a
            .as_str()
            .unwrap()
            .starts_with("--ignore-certificate-errors-spki-list=")),
        "the report's command is what ran: {}",
        r["lab"]["command"]
    );
    let page = r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["server"]["port"] == 443 && c["tls"]["keys"] == "decrypted")
        .flat_map(|c| c["http"].as_array().unwrap())
        .find(|x| x["request"]["target"] == "/page1.htm")
        .expect("the page's request, decrypted");
    assert_eq!(page["response"]["status"], 200);
    // Untraced, the saved capture still holds the secrets: it opens decrypted.
    let again: Value = serde_json::from_slice(
        &support::succeed(
            Command::new(WIRELAB)
                .args(["report", "https.pcapng", "--format", "json"])
                .current_dir(&dir),
        )
        .stdout,
    )
    .unwrap();
    assert!(
        again["connections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["tls"]["keys"] == "decrypted"
                && c["http"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["request"]["target"] == "/page1.htm")),
        "the saved file opens decrypted"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The text with every run of whitespace (a wrapped line's break and indent) as one space.
fn one_spaced(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// HTTPS in the lab: the course's programs over https:// run unchanged and print
/// romeo.txt (the lab's CA is trusted through the bundle mounted for them, and curl's
/// too); the report holds the TLS handshake, the name in clear, and the exchange
/// decrypted from the server's secrets; the saved pcapng opens decrypted in tshark and
/// in wirelab with no key log given.
#[test]
fn https_programs_print_romeo_and_the_saved_capture_opens_decrypted() {
    if !is_root() {
        return;
    }
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = workdir("https");
    for (program, saved) in [
        (vec![PYTHON, "urllib_https.py"], "urllib.pcapng"),
        (vec![PYTHON, "socket_https.py"], "socket.pcapng"),
        (
            vec!["/usr/bin/curl", "-s", "https://data.pr4e.org/romeo.txt"],
            "curl.pcapng",
        ),
    ] {
        let out = lab(
            &dir,
            &["-w", saved, "--format", "json", "-o", "report.json"],
            &program,
        );
        assert!(out.status.success(), "{program:?}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("But soft what light through yonder window breaks"),
            "{program:?} printed: {}\n{}",
            stdout(&out),
            stderr(&out)
        );
        let r = report(&dir);
        let conn = r["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["server"]["port"] == 443)
            .expect("a connection to 443")
            .clone();
        let t = &conn["tls"];
        assert_eq!(t["client_hello"]["sni"], "data.pr4e.org", "{t}");
        assert_eq!(t["keys"], "decrypted", "{t}");
        assert_eq!(t["version"], "TLS 1.3");
        let x = &conn["http"][0];
        assert!(
            x["request"]["target"]
                .as_str()
                .unwrap()
                .ends_with("/romeo.txt"),
            "{x}"
        );
        assert_eq!(x["response"]["status"], 200);
        assert_eq!(x["response"]["body_len"], 167);
        if program[0] == PYTHON {
            assert!(
                conn["recv"].as_array().is_some_and(|r| !r.is_empty()),
                "the ssl library's reads are traced: {conn}"
            );
        }
        // The program logged its own secrets where SSLKEYLOGFILE said (Python's default
        // context and curl honour it).
        assert!(
            r["lab"]["program_tls_sessions"].as_u64() >= Some(1),
            "{program:?}: {}",
            r["lab"]
        );
        if program[1] == "socket_https.py" {
            // The recv join at two levels: the library's reads of records, and what
            // each record held for the program's code.
            let text = String::from_utf8_lossy(
                &support::succeed(
                    Command::new(WIRELAB)
                        .args(["report", saved, "--width", "100"])
                        .current_dir(&dir),
                )
                .stdout,
            )
            .to_string();
            assert!(text.contains("TLS record"), "{text}");
            assert!(text.contains("header of #"), "{text}");
            assert!(text.contains("B of HTTP"), "{text}");
            assert!(
                one_spaced(&text).contains("it reads a record's 5-byte header, then the rest"),
                "{text}"
            );
        }
        // The saved file: decrypted by tshark with no option, and by wirelab.
        let uris = Command::new("tshark")
            .args([
                "-r",
                saved,
                "-Y",
                "http",
                "-T",
                "fields",
                "-e",
                "http.request.uri",
            ])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&uris.stdout).contains("romeo.txt"),
            "tshark on {saved}: {}",
            String::from_utf8_lossy(&uris.stderr)
        );
        let again: Value = serde_json::from_slice(
            &support::succeed(
                Command::new(WIRELAB)
                    .args(["report", saved, "--format", "json"])
                    .current_dir(&dir),
            )
            .stdout,
        )
        .unwrap();
        let c = again["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["server"]["port"] == 443)
            .unwrap();
        assert_eq!(c["tls"]["keys"], "decrypted");
        assert_eq!(c["http"][0]["response"]["body_len"], 167);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
