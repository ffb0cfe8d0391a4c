//! HAR 1.2 (`--format har`): every bundled capture's and every public capture's HAR
//! validates against the HAR 1.2 JSON Schema with a real validator (npm's
//! har-validator, installed by .ci/run under target/npm); its entries are the JSON
//! report's exchanges; each entry's timings add up to its time and agree with the
//! timestamps of the frames it names.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn report(capture: &Path, format: &str) -> Value {
    let out = Command::new(WIRELAB)
        .arg("report")
        .arg(capture)
        .args(["--format", format])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: {e}", capture.display()))
}

fn captures() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(root().join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    let public = root().join("../shared/testdata/public");
    if let Ok(dirs) = std::fs::read_dir(&public) {
        for d in dirs.flatten().filter(|d| d.path().is_dir()) {
            for f in std::fs::read_dir(d.path()).unwrap().flatten() {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
                    all.push(p);
                }
            }
        }
    } else {
        eprintln!(
            "public captures NOT found at {}: bundled ones only",
            public.display()
        );
    }
    all.sort();
    all
}

#[test]
fn every_har_validates_against_the_har_1_2_schema() {
    let modules = root().join("target/npm/node_modules");
    if !modules.join("har-validator").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs har-validator under target/npm (.ci/run)"
        );
        eprintln!("HAR schema validation NOT RUN: npm install --prefix target/npm har-validator@5");
        return;
    }
    let dir = std::env::temp_dir().join(format!("wirelab-har-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (i, c) in captures().iter().enumerate() {
        let out = Command::new(WIRELAB)
            .arg("report")
            .arg(c)
            .args(["--format", "har"])
            .output()
            .unwrap();
        let f = dir.join(format!("{i}.har"));
        std::fs::write(&f, &out.stdout).unwrap();
        files.push(f);
    }
    let out = Command::new("node")
        .arg(root().join("tests/har/validate.js"))
        .args(&files)
        .env("NODE_PATH", &modules)
        .output()
        .expect("node runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("valid ")).count(),
        files.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn entries_are_the_reports_exchanges_and_their_timings_add_up() {
    let mut checked = 0;
    let mut bodies = 0;
    for c in captures() {
        let json = report(&c, "json");
        let har = report(&c, "har");
        let entries = har["log"]["entries"].as_array().unwrap();
        let exchanges: Vec<&Value> = json["connections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["http"].as_array().unwrap())
            .collect();
        assert_eq!(entries.len(), exchanges.len(), "{}", c.display());
        for (e, x) in entries.iter().zip(&exchanges) {
            let q = &x["request"];
            if !q.is_null() {
                assert_eq!(e["request"]["method"], q["method"]);
                let target = q["target"].as_str().unwrap();
                let url = e["request"]["url"].as_str().unwrap();
                // The url crate escapes what a URI cannot hold (spaces, control bytes).
                let escaped = url::Url::parse(&format!("http://h{target}"))
                    .map(|u| u.as_str()["http://h".len()..].to_string())
                    .unwrap_or_default();
                assert!(
                    url.ends_with(target) || url == target || url.ends_with(&escaped),
                    "{url} {target}"
                );
            }
            let r = &x["response"];
            if r.is_null() {
                assert!(e["_incomplete"].is_string(), "marked, never invented");
            } else {
                assert_eq!(e["response"]["status"], r["status"]);
                assert_eq!(e["response"]["bodySize"], r["body_len"]);
                if let Some(text) = e["response"]["content"]["text"].as_str()
                    && e["response"]["content"]["encoding"].is_null()
                    && e["response"]["content"]["compression"].is_null()
                {
                    assert_eq!(text.len() as u64, r["body_len"].as_u64().unwrap());
                }
                let content = &e["response"]["content"];
                if content["encoding"] == "base64" && content["compression"].is_null() {
                    use base64::Engine;
                    use sha2::Digest;
                    let body = base64::engine::general_purpose::STANDARD
                        .decode(content["text"].as_str().unwrap())
                        .unwrap();
                    assert_eq!(
                        hex::encode(sha2::Sha256::digest(&body)),
                        r["body_sha256"].as_str().unwrap(),
                        "the HAR's body is the report's"
                    );
                    bodies += 1;
                }
            }
            let t = &e["timings"];
            let sum: f64 = [
                "blocked", "dns", "connect", "send", "wait", "receive", "ssl",
            ]
            .iter()
            .map(|k| t[k].as_f64().unwrap())
            .filter(|v| *v >= 0.0)
            .sum();
            let time = e["time"].as_f64().unwrap();
            assert!(
                (sum - time).abs() < 0.01,
                "{}: {sum} != {time}",
                c.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} entries");
    assert!(bodies > 5, "only {bodies} base64 bodies checked");
}

#[test]
fn timings_agree_with_the_frames_timestamps() {
    let cap = root().join("captures/romeo.pcap");
    let json = report(&cap, "json");
    let har = report(&cap, "har");
    let conn = &json["connections"][0];
    let ts = |frame: &Value| -> i64 {
        conn["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["frame"] == *frame)
            .unwrap()["ts_us"]
            .as_i64()
            .unwrap()
    };
    let e = &har["log"]["entries"][0];
    let f = &e["_frames"];
    let ms = |a: &Value, b: &Value| (ts(b) - ts(a)) as f64 / 1000.0;
    let t = &e["timings"];
    let close = |a: f64, b: &Value| assert!((a - b.as_f64().unwrap()).abs() < 0.002, "{a} {b}");
    close(ms(&f["connect"][0], &f["connect"][2]), &t["connect"]);
    close(ms(&f["send"][0], &f["send"][1]), &t["send"]);
    close(ms(&f["wait"][0], &f["wait"][1]), &t["wait"]);
    let receive = f["receive"].as_array().unwrap();
    close(ms(&receive[0], receive.last().unwrap()), &t["receive"]);
    assert_eq!(t["dns"], -1.0, "no lookup in this capture");
    assert_eq!(t["blocked"], -1);
}

/// A form POST (the public chrissanders capture): postData carries the body and its
/// decoded parameters.
#[test]
fn a_form_post_carries_its_fields() {
    let cap = root().join("../shared/testdata/public/chrissanders-packets/http_post.pcapng");
    if !cap.exists() {
        eprintln!("public captures NOT found: POST test NOT RUN");
        return;
    }
    let har = report(&cap, "har");
    let post = har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"]["method"] == "POST")
        .expect("the POST");
    let data = &post["request"]["postData"];
    assert_eq!(data["mimeType"], "application/x-www-form-urlencoded");
    assert!(
        data["params"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "comment" && p["value"] == "This is a POST test!"),
        "{data}"
    );
    assert_eq!(
        data["text"].as_str().unwrap().len() as u64,
        post["request"]["bodySize"].as_u64().unwrap()
    );
}
