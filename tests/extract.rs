//! `--extract DIR`: every response body saved, byte for byte (its SHA-256 is the
//! report's body_sha256), and never outside DIR whatever the URL says, never through a
//! symlink, never over an existing file without --force.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
mod support;
use support::craft::{Conversation, write_pcap};
use support::succeed;

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wirelab-extract-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn extract(capture: &Path, dir: &Path, extra: &[&str]) -> (Value, String) {
    let out = succeed(
        Command::new(WIRELAB)
            .arg("report")
            .arg(capture)
            .args(["--format", "json", "--extract"])
            .arg(dir)
            .args(extra),
    );
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn responses(report: &Value) -> Vec<&Value> {
    report["connections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["http"].as_array().unwrap())
        .filter_map(|x| x.get("response").filter(|r| !r.is_null()))
        .collect()
}

fn sha(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn bodies_are_saved_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for capture in ["cover3", "keepalive-chunked", "redirect"] {
        let dir = tmp(capture);
        let (report, err) = extract(&root.join(format!("captures/{capture}.pcap")), &dir, &[]);
        let rs = responses(&report);
        assert!(!rs.is_empty());
        for r in &rs {
            let name = r["extracted"].as_str().expect("every response saved");
            let file = dir.join(name);
            assert_eq!(
                sha(&file),
                r["body_sha256"].as_str().unwrap(),
                "{capture} {name}"
            );
            assert_eq!(
                std::fs::metadata(&file).unwrap().len(),
                r["body_len"].as_u64().unwrap()
            );
        }
        assert!(
            err.contains(&format!("saved {} response bodies", rs.len())),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Responses to hostile request targets, one connection each.
fn hostile_capture(path: &Path) -> Vec<String> {
    let long = format!("/{}.txt", "n".repeat(4000));
    let targets = vec![
        "/../../../../../../tmp/wirelab-escaped".to_string(),
        "/etc/passwd".to_string(),
        "http://data.pr4e.org/%2e%2e/%2e%2e/%2e%2e/escaped".to_string(),
        "/a%00b.txt".to_string(),
        long,
        "/Case.txt".to_string(),
        "/case.txt".to_string(),
        "/".to_string(),
        "/..".to_string(),
        "/.hidden".to_string(),
    ];
    let mut frames = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let req = format!("GET {t} HTTP/1.0\r\n\r\n");
        let body = format!("body {i}\n");
        let resp = format!(
            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut c = Conversation::http(40000 + i as u16, req.as_bytes(), resp.as_bytes());
        // Connections one after another in time.
        for f in &mut c.frames {
            f.ts_us += i as i64 * 1_000_000;
        }
        frames.extend(c.frames);
    }
    write_pcap(std::fs::File::create(path).unwrap(), &frames).unwrap();
    targets
}

#[test]
fn hostile_urls_never_escape_the_directory() {
    let base = tmp("hostile");
    let capture = base.join("hostile.pcap");
    let targets = hostile_capture(&capture);
    let dir = base.join("out");
    let (report, err) = extract(&capture, &dir, &[]);
    let rs = responses(&report);
    assert_eq!(rs.len(), targets.len());
    assert!(
        err.contains(&format!("saved {} response bodies", targets.len())),
        "{err}"
    );
    // Bodies of connections beyond --list are saved too.
    let unlisted = base.join("unlisted");
    let (r, err) = extract(&capture, &unlisted, &["--list", "2"]);
    assert_eq!(r["connections"].as_array().unwrap().len(), 2);
    assert_eq!(r["source"]["extracted_files"], targets.len());
    assert!(
        err.contains(&format!("saved {} response bodies", targets.len())),
        "{err}"
    );
    std::fs::remove_dir_all(&unlisted).unwrap();
    // Everything written is a plain file directly inside DIR.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| {
            assert!(e.file_type().unwrap().is_file());
            e.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), targets.len(), "{names:?}");
    let mut lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    lower.dedup();
    assert_eq!(
        lower.len(),
        names.len(),
        "names unique ignoring case: {names:?}"
    );
    for n in &names {
        assert!(
            n.len() <= 100 && !n.starts_with('.') && !n.contains(['/', '\\', '\0']),
            "{n}"
        );
    }
    // Nothing appeared beside DIR or in /tmp.
    let beside: Vec<_> = std::fs::read_dir(&base)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(beside.len(), 2, "only the capture and DIR: {beside:?}");
    assert!(!Path::new("/tmp/wirelab-escaped").exists());
    // Each file holds its own body.
    for (i, r) in rs.iter().enumerate() {
        let text = std::fs::read_to_string(dir.join(r["extracted"].as_str().unwrap())).unwrap();
        assert_eq!(text, format!("body {i}\n"));
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn no_overwrite_no_symlink_unless_forced() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let capture = root.join("captures/romeo.pcap");
    let base = tmp("symlink");
    let dir = base.join("out");
    std::fs::create_dir_all(&dir).unwrap();
    let outside = base.join("precious.txt");
    std::fs::write(&outside, "do not touch").unwrap();
    // The name the first run would take is a symlink to a file outside DIR.
    std::os::unix::fs::symlink(&outside, dir.join("0-1-romeo.txt")).unwrap();
    let (r1, _) = extract(&capture, &dir, &[]);
    assert_eq!(responses(&r1)[0]["extracted"], "0-1-romeo-2.txt");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "do not touch");
    // A second run keeps the first run's file and takes a new name.
    std::fs::write(dir.join("0-1-romeo-2.txt"), "edited by the student").unwrap();
    let (r2, _) = extract(&capture, &dir, &[]);
    assert_eq!(responses(&r2)[0]["extracted"], "0-1-romeo-3.txt");
    assert_eq!(
        std::fs::read_to_string(dir.join("0-1-romeo-2.txt")).unwrap(),
        "edited by the student"
    );
    // --force replaces the symlink itself (not its target) with the body.
    let (r3, _) = extract(&capture, &dir, &["--force"]);
    assert_eq!(responses(&r3)[0]["extracted"], "0-1-romeo.txt");
    let meta = std::fs::symlink_metadata(dir.join("0-1-romeo.txt")).unwrap();
    assert!(meta.is_file(), "the symlink was replaced by a file");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "do not touch");
    assert!(
        std::fs::read_to_string(dir.join("0-1-romeo.txt"))
            .unwrap()
            .starts_with("But soft")
    );
    let _ = std::fs::remove_dir_all(&base);
}
