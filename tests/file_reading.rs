//! A plain pcap file is read and dissected a batch at a time by whichever of two
//! threads is free (the pipeline's, or the hashing thread when it has nothing to hash):
//! the report is the one a single thread makes frame by frame (`replay_file`), byte for
//! byte, whole or cut short, with bodies large and small mixed so that both threads
//! read.

use std::path::{Path, PathBuf};
use wirelab::drive::file::{from_file, replay_file};
use wirelab::report::{Limits, Options, Report};
mod support;
use support::craft::{fetches, write_pcap};

/// 240 HTTP fetches 1 s apart: every twelfth with a body of 300 kB (hash work for the
/// hashing thread), the others of a few kB; about 7 MB, several chunks of the file.
fn capture(tag: &str) -> PathBuf {
    let name = format!("wirelab-reading-{tag}-{}.pcap", std::process::id());
    let path = std::env::temp_dir().join(name);
    let bodies = (0..240usize).map(|i| {
        let len = if i % 12 == 0 { 300_000 } else { 1000 + 37 * i };
        (0..len).map(|n| (n * 13 + i) as u8).collect()
    });
    let frames = fetches(20000, b"GET /f HTTP/1.0\r\n\r\n", 1_000_000, bodies);
    write_pcap(std::fs::File::create(&path).unwrap(), &frames).unwrap();
    path
}

fn json(report: &Report) -> String {
    let mut out = Vec::new();
    wirelab::render::json::write(report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn both(path: &Path) -> (String, String) {
    let opts = || Options {
        limits: Limits {
            listed_connections: 40,
            ..Limits::default()
        },
        ..Options::default()
    };
    let helped = from_file(path, None, opts()).expect("the capture reads");
    let mut lines = 0;
    let alone = replay_file(path, None, opts(), &mut |_| lines += 1).expect("the capture reads");
    assert!(lines > 1000, "the single thread saw every packet");
    (json(&helped), json(&alone))
}

#[test]
fn two_threads_reading_give_the_report_one_thread_gives() {
    let path = capture("whole");
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 5 << 20, "several chunks of 1 MiB: {size}");
    let (helped, alone) = both(&path);
    assert!(helped.contains("\"body_sha256\": \""), "bodies were hashed");
    assert!(!helped.contains("\u{0}sha256:"), "every hash resolved");
    assert!(helped == alone, "the reports differ");

    // Cut inside a record, past the middle: the same frames, the same error.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() * 3 / 5 + 7]).unwrap();
    let (helped, alone) = both(&path);
    assert!(helped.contains("\"read_error\": \""), "the cut is told");
    assert!(helped == alone, "the reports of the cut file differ");
    std::fs::remove_file(&path).unwrap();
}
