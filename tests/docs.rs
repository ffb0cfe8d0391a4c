//! The documentation says what the code does: every field of the JSON report that a
//! bundled capture's report holds is named in docs/json.md (the contract), and every
//! link between the README and docs/ leads to a file and a heading that exist.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every key of the object tree, as `parent.key` paths (`[]` for array elements).
fn key_paths(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                key_paths(child, &path, out);
                out.insert(path);
            }
        }
        Value::Array(items) => {
            for item in items {
                key_paths(item, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

/// The words of a text: runs of letters, digits and underscores.
fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn every_field_of_the_bundled_reports_is_named_in_the_json_contract() {
    let doc = std::fs::read_to_string(root().join("docs/json.md")).expect("docs/json.md");
    let named = words(&doc);
    let mut captures: Vec<PathBuf> = std::fs::read_dir(root().join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    captures.sort();
    assert!(
        captures.len() >= 30,
        "the bundled captures: {}",
        captures.len()
    );
    let mut paths = BTreeSet::new();
    for cap in &captures {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirelab"));
        cmd.arg("report").arg(cap).args(["--format", "json"]);
        if cap.file_name().is_some_and(|n| n == "tls-lo.pcap") {
            cmd.arg("--keylog").arg(root().join("captures/tls-lo.keys"));
        }
        let out = cmd.env("TZ", "UTC").output().unwrap();
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", cap.display()));
        key_paths(&report, "", &mut paths);
    }
    // -x adds each segment's header bytes.
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .arg("report")
        .arg(root().join("captures/romeo.pcap"))
        .args(["--format", "json", "-x"])
        .output()
        .unwrap();
    key_paths(
        &serde_json::from_slice(&out.stdout).unwrap(),
        "",
        &mut paths,
    );
    assert!(paths.len() > 250, "fields found: {}", paths.len());
    let missing: Vec<&String> = paths
        .iter()
        .filter(|p| {
            let key = p.rsplit('.').next().unwrap();
            !named.contains(key)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "fields in the reports that docs/json.md does not name: {missing:?}"
    );
}

/// GitHub's anchor of a heading: lower case, spaces to '-', other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(md: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in md.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of `[text](target)` links, outside code blocks.
fn links(md: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in md.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_link_of_the_readme_and_docs_leads_somewhere() {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    assert!(docs.len() >= 7, "docs/: {docs:?}");
    files.extend(docs.iter().cloned());
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for doc in &docs {
        let name = doc.file_name().unwrap().to_str().unwrap();
        assert!(
            readme.contains(&format!("docs/{name}")),
            "the README links every page of docs/: {name} missing"
        );
    }
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let dir = file.parent().unwrap();
        for target in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (path, frag) = match target.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (target.as_str(), None),
            };
            let dest: PathBuf = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path)
            };
            assert!(
                Path::new(&dest).exists(),
                "{}: link to {target}: no such file",
                file.display()
            );
            if let Some(frag) = frag {
                let md = std::fs::read_to_string(&dest).unwrap();
                assert!(
                    anchors(&md).contains(frag),
                    "{}: link to {target}: no such heading",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "links checked: {checked}");
}

/// The seams hold (docs/design.md, "What a protocol tells the reader"): the model, the
/// seams, the builder (but its registry) and the drivers name no protocol, and the
/// renderers name none but HTTP and DNS, which the report is built around. A protocol
/// told through `model::Record` (TLS, SOCKS) is named only in its folder, the registry,
/// lib.rs, and the inputs it needs (TLS's key log in the command line).
#[test]
fn only_the_registry_and_the_renderers_name_protocols() {
    let src = root().join("src");
    let read = |dir: &str| -> Vec<(String, String)> {
        let path = src.join(dir);
        let files = if path.is_dir() {
            std::fs::read_dir(&path)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect()
        } else {
            vec![path]
        };
        files
            .into_iter()
            .map(|p| {
                (
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect()
    };
    let names = |text: &str, protocols: &[&str]| -> Vec<String> {
        protocols
            .iter()
            .filter(|p| {
                text.contains(&format!("crate::{p}::")) || text.contains(&format!("crate::{p};"))
            })
            .map(|p| p.to_string())
            .collect()
    };
    let all = ["http", "dns", "tls", "socks"];
    let mut checked = 0;
    for dir in [
        "model.rs",
        "protocol.rs",
        "section.rs",
        "words.rs",
        "report/builder",
        "drive",
    ] {
        for (file, text) in read(dir) {
            if file.ends_with("registry.rs") {
                continue;
            }
            assert_eq!(names(&text, &all), Vec::<String>::new(), "{file}");
            checked += 1;
        }
    }
    for (file, text) in read("render") {
        assert_eq!(
            names(&text, &["tls", "socks"]),
            Vec::<String>::new(),
            "{file}"
        );
        checked += 1;
    }
    assert!(checked > 15, "{checked} files checked");
}
