//! The listed connections' JSON serialised ahead, on the hashing thread while the rest
//! of the file is read (`ReportBuilder::when_listed_done`), is the JSON the report
//! writes otherwise, byte for byte; and it is made only once the listing is final.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use wirelab::drive::file::from_file_with_progress;
use wirelab::render::json::{self, Prepared};
use wirelab::report::builder::ListedHook;
use wirelab::report::{Limits, Options};
mod support;
use support::craft::{fetches, write_pcap};
use support::succeed;

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");

/// Six HTTP connections 3 s apart (past the 2 s linger, so each is reported while the
/// file goes on); the first has a 3 MB body, enough hash work to start the hashing
/// thread early.
fn capture(tag: &str) -> PathBuf {
    let name = format!("wirelab-prepared-{tag}-{}.pcap", std::process::id());
    let path = std::env::temp_dir().join(name);
    let bodies = (0..6usize).map(|i| {
        let len = if i == 0 { 3_000_000 } else { 2000 + 100 * i };
        (0..len).map(|n| (n * 7 + i) as u8).collect()
    });
    let frames = fetches(42000, b"GET /p HTTP/1.0\r\n\r\n", 3_000_000, bodies);
    write_pcap(std::fs::File::create(&path).unwrap(), &frames).unwrap();
    path
}

/// The report of `path` listing `list` connections, and what the hook was given.
fn read(path: &Path, list: usize) -> (wirelab::report::Report, Option<Prepared>) {
    let opts = Options {
        limits: Limits {
            listed_connections: list,
            ..Limits::default()
        },
        ..Options::default()
    };
    let slot = Arc::new(Mutex::new(None));
    let s = slot.clone();
    let hook: ListedHook = Box::new(move |conns| *s.lock().unwrap() = Some(Prepared::of(conns)));
    let report = from_file_with_progress(path, None, opts, None, None, Some(hook)).unwrap();
    let prepared = slot.lock().unwrap().take();
    (report, prepared)
}

#[test]
fn prepared_json_equals_the_written_json() {
    let path = capture("equal");
    for list in [1, 2, 5] {
        let (report, prepared) = read(&path, list);
        let prepared = prepared.expect("the listing filled: the hook ran");
        assert_eq!(prepared.count, list);
        assert_eq!(report.connections.len(), list);
        let (mut plain, mut ahead) = (Vec::new(), Vec::new());
        json::write(&report, &mut plain).unwrap();
        json::write_prepared(&report, Some(prepared), &mut ahead).unwrap();
        assert!(plain.len() > 1000);
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            String::from_utf8(ahead).unwrap(),
            "--list {list}"
        );
    }
    // The command line takes the same way: its output is the library's plain JSON.
    let (report, _) = read(&path, 2);
    let mut plain = Vec::new();
    json::write(&report, &mut plain).unwrap();
    let out = succeed(
        Command::new(WIRELAB)
            .arg("report")
            .arg(&path)
            .args(["--format", "json", "--list", "2"]),
    );
    assert_eq!(out.stdout, plain);
    std::fs::remove_file(&path).unwrap();
}

/// When the listing is final only at the end of the file (fewer connections than
/// `--list`, or the last listed one reported only then), the hook does not run: the
/// report writes its JSON itself, on two threads.
#[test]
fn no_prepared_json_when_the_listing_is_final_only_at_the_end() {
    let path = capture("short");
    for list in [6, 7] {
        let (report, prepared) = read(&path, list);
        assert!(prepared.is_none(), "--list {list}");
        assert_eq!(report.connections.len(), 6);
    }
    let (report, prepared) = read(Path::new("captures/socks.pcap"), 1000);
    assert!(prepared.is_none());
    assert_eq!(report.connections.len(), 2);
    // A list of another length is not used: its count must be the report's.
    let other = Prepared::of(&report.connections[..1]);
    let (mut plain, mut with_other) = (Vec::new(), Vec::new());
    json::write(&report, &mut plain).unwrap();
    json::write_prepared(&report, Some(other), &mut with_other).unwrap();
    assert_eq!(plain, with_other);
    std::fs::remove_file(&path).unwrap();
}
