//! TLS against tshark as the oracle, on captures/tls-lo.pcap (scripts/make_tls_captures.sh:
//! TLS 1.3 and 1.2, each AEAD suite, two requests on one connection, records split over
//! segments, a resumed TLS 1.2 session) and its key log; and the cases that must be said
//! plainly, never a crash: no keys, wrong keys, partial keys, truncated records, garbage
//! on port 443, a record of the maximum size.

mod support;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::craft::{Conversation, write_pcap};

const WIRELAB: &str = env!("CARGO_BIN_EXE_wirelab");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn capture() -> PathBuf {
    root().join("captures/tls-lo.pcap")
}

fn keys() -> PathBuf {
    root().join("captures/tls-lo.keys")
}

fn report(file: &Path, args: &[&str]) -> Value {
    let out = support::succeed(
        Command::new(WIRELAB)
            .arg("report")
            .arg(file)
            .args(args)
            .args(["--format", "json"]),
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wirelab-tls-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tshark() -> bool {
    Command::new("tshark").arg("-v").output().is_ok()
}

/// (connection, method, target, status, body length) of every exchange, in order.
type Exchange = (u64, String, String, u64, u64);

fn wirelab_exchanges(r: &Value) -> Vec<Exchange> {
    let mut out = Vec::new();
    for c in r["connections"].as_array().unwrap() {
        for x in c["http"].as_array().unwrap() {
            out.push((
                c["id"].as_u64().unwrap(),
                x["request"]["method"].as_str().unwrap().to_string(),
                x["request"]["target"].as_str().unwrap().to_string(),
                x["response"]["status"].as_u64().unwrap(),
                x["response"]["body_len"].as_u64().unwrap(),
            ));
        }
    }
    out
}

#[test]
fn tshark_and_wirelab_decrypt_the_same_exchanges_with_the_same_bodies() {
    if !tshark() {
        eprintln!("skipped: no tshark");
        return;
    }
    let r = report(&capture(), &["--keylog", keys().to_str().unwrap()]);
    let conns = r["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 7);
    let suites: Vec<&str> = conns
        .iter()
        .map(|c| c["tls"]["server_hello"]["cipher_suite"].as_str().unwrap())
        .collect();
    for s in [
        "TLS_AES_256_GCM_SHA384",
        "TLS_AES_128_GCM_SHA256",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ] {
        assert!(suites.contains(&s), "{s} not in {suites:?}");
    }
    for c in conns {
        assert_eq!(c["tls"]["keys"], "decrypted", "connection {}", c["id"]);
        assert_eq!(c["tls"]["client_hello"]["sni"], "data.pr4e.org");
    }
    // Records split over segments, and the resumed session (no Certificate).
    let split = conns
        .iter()
        .flat_map(|c| c["tls"]["records"].as_array().unwrap())
        .filter(|rec| rec["frames"].as_array().unwrap().len() > 1)
        .count();
    assert!(split >= 5, "{split} records over more than one segment");
    let resumed = &conns[6]["tls"];
    assert!(
        !resumed["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|rec| rec["messages"].to_string().contains("Certificate")),
        "the last TLS 1.2 session is resumed: {resumed}"
    );

    let ours = wirelab_exchanges(&r);
    let out = support::succeed(Command::new("tshark").args([
        "-r",
        capture().to_str().unwrap(),
        "-o",
        &format!("tls.keylog_file:{}", keys().display()),
        "-Y",
        "http",
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-e",
        "tcp.stream",
        "-e",
        "http.request.method",
        "-e",
        "http.request.uri",
        "-e",
        "http.response.code",
        "-e",
        "http.content_length",
    ]));
    let mut theirs: Vec<Exchange> = Vec::new();
    let mut pending: BTreeMap<u64, (String, String)> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('|').collect();
        let stream: u64 = f[0].parse().unwrap();
        if !f[1].is_empty() {
            pending.insert(stream, (f[1].to_string(), f[2].to_string()));
        } else if let Some((m, t)) = pending.remove(&stream) {
            theirs.push((stream, m, t, f[3].parse().unwrap(), f[4].parse().unwrap()));
        }
    }
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 8);

    // The bodies: tshark's exported objects hash as wirelab's body_sha256.
    let dir = tmp("objects");
    support::succeed(Command::new("tshark").args([
        "-r",
        capture().to_str().unwrap(),
        "-o",
        &format!("tls.keylog_file:{}", keys().display()),
        "-Q",
        "--export-objects",
        &format!("http,{}", dir.display()),
    ]));
    let mut exported: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| hex::encode(Sha256::digest(std::fs::read(e.unwrap().path()).unwrap())))
        .collect();
    exported.sort();
    exported.dedup();
    let mut hashes: Vec<String> = r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["http"].as_array().unwrap())
        .map(|x| x["response"]["body_sha256"].as_str().unwrap().to_string())
        .collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes, exported);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_secrets_in_a_pcapng_decrypt_without_a_key_log() {
    let dir = tmp("dsb");
    let with = dir.join("with-secrets.pcapng");
    if Command::new("editcap")
        .args(["--inject-secrets", &format!("tls,{}", keys().display())])
        .arg(capture())
        .arg(&with)
        .output()
        .is_err()
    {
        eprintln!("skipped: no editcap");
        return;
    }
    let r = report(&with, &[]);
    let decrypted = r["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tls"]["keys"] == "decrypted")
        .count();
    assert_eq!(decrypted, 7);
    assert_eq!(
        wirelab_exchanges(&r),
        wirelab_exchanges(&report(&capture(), &["--keylog", keys().to_str().unwrap()]))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_keys_the_handshake_and_records_and_what_would_decrypt_them() {
    let r = report(&capture(), &[]);
    for c in r["connections"].as_array().unwrap() {
        let t = &c["tls"];
        assert_eq!(t["keys"], "no_key_log");
        assert_eq!(t["client_hello"]["sni"], "data.pr4e.org");
        assert!(c["http"].as_array().unwrap().is_empty());
        assert!(c["not_http"].is_null(), "TLS is not called 'not HTTP'");
        assert!(t["records"].as_array().unwrap().len() >= 8);
    }
    let text = support::succeed(Command::new(WIRELAB).arg("report").arg(capture()));
    let text = String::from_utf8_lossy(&text.stdout).replace('\n', " ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("A key log would decrypt it"), "{text}");
    assert!(text.contains("An observer on the wire sees the name data.pr4e.org"));
}

#[test]
fn wrong_and_partial_keys_are_said_and_nothing_crashes() {
    let dir = tmp("wrong");
    let text = std::fs::read_to_string(keys()).unwrap();
    // Every secret's last hex digit changed: the records do not open.
    let wrong: String = text
        .lines()
        .map(|l| {
            let mut l = l.to_string();
            let last = l.pop().unwrap();
            l.push(if last == '0' { '1' } else { '0' });
            l + "\n"
        })
        .collect();
    std::fs::write(dir.join("wrong.keys"), wrong).unwrap();
    let r = report(
        &capture(),
        &["--keylog", dir.join("wrong.keys").to_str().unwrap()],
    );
    for c in r["connections"].as_array().unwrap() {
        assert_eq!(c["tls"]["keys"], "failed", "connection {}", c["id"]);
        assert!(!c["tls"]["problems"].as_array().unwrap().is_empty());
        assert!(c["http"].as_array().unwrap().is_empty());
    }
    // Only TLS 1.2's lines: TLS 1.3's sessions are missing, TLS 1.2's decrypt.
    let partial: String = text
        .lines()
        .filter(|l| l.starts_with("CLIENT_RANDOM "))
        .map(|l| format!("{l}\n"))
        .chain(["not a key log line\n".to_string()])
        .collect();
    std::fs::write(dir.join("partial.keys"), partial).unwrap();
    let out = support::succeed(
        Command::new(WIRELAB)
            .arg("report")
            .arg(capture())
            .args(["--format", "json", "--keylog"])
            .arg(dir.join("partial.keys")),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 5"),
        "the bad line is said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    for c in r["connections"].as_array().unwrap() {
        let want = if c["tls"]["version"] == "TLS 1.3" {
            "missing"
        } else {
            "decrypted"
        };
        assert_eq!(c["tls"]["keys"], want, "connection {}", c["id"]);
    }
    let missing = Command::new(WIRELAB)
        .arg("report")
        .arg(capture())
        .args(["--keylog", "/nonexistent/keys.txt"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("SSLKEYLOGFILE"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A ClientHello record (TLS 1.2 header) with `sni`, built by hand: the smallest the
/// parser accepts.
fn client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let mut sni_ext = Vec::new();
    sni_ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    sni_ext.push(0);
    sni_ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni_ext.extend_from_slice(name);
    let mut exts = vec![0, 0];
    exts.extend_from_slice(&(sni_ext.len() as u16).to_be_bytes());
    exts.extend_from_slice(&sni_ext);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0); // no session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]);
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![1, 0];
    hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[test]
fn truncated_records_garbage_on_443_and_a_maximum_record_are_reported() {
    let dir = tmp("crafted");
    let mut frames = Vec::new();
    // 1. A ClientHello, then the server's stream ends inside a record.
    let mut c = Conversation::new(40001, 443, [1000, 5000]);
    c.handshake();
    c.send(true, &client_hello("data.pr4e.org"), 1460);
    c.send(false, &[22, 3, 3, 0x40, 0x00, 1, 2, 3], 1460);
    c.close();
    frames.extend(c.frames);
    // 2. Garbage on port 443: not TLS, said as not HTTP either.
    let mut c = Conversation::new(40002, 443, [1000, 5000]);
    c.handshake();
    c.send(true, b"\x00\x01garbage that is neither TLS nor HTTP", 1460);
    c.close();
    frames.extend(c.frames);
    // 3. A record of the largest size TLS allows (16,384 + 2,048), over 13 segments,
    //    then one longer than that: the direction stops there.
    let mut c = Conversation::new(40003, 443, [1000, 5000]);
    c.handshake();
    c.send(true, &client_hello("www.py4e.com"), 1460);
    let mut big = vec![23, 3, 3, 0x48, 0x00];
    big.extend(std::iter::repeat_n(0xAB, 0x4800));
    big.extend_from_slice(&[23, 3, 3, 0x48, 0x01, 0]);
    c.send(false, &big, 1460);
    c.close();
    frames.extend(c.frames);
    let file = dir.join("crafted.pcap");
    write_pcap(std::fs::File::create(&file).unwrap(), &frames).unwrap();
    let r = report(&file, &[]);
    let conns = r["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 3);
    let t = &conns[0]["tls"];
    assert_eq!(t["client_hello"]["sni"], "data.pr4e.org");
    assert!(
        t["problems"].to_string().contains("ended inside a record"),
        "{t}"
    );
    assert!(conns[1]["tls"].is_null());
    assert!(conns[1]["not_http"].is_string());
    let t = &conns[2]["tls"];
    assert_eq!(t["client_hello"]["sni"], "www.py4e.com");
    let records = t["records"].as_array().unwrap();
    let max = records
        .iter()
        .find(|r| r["len"] == 0x4800)
        .expect("the largest record");
    assert_eq!(max["frames"].as_array().unwrap().len(), 13);
    assert!(
        t["problems"]
            .to_string()
            .contains("more than TLS allows (18432)"),
        "{t}"
    );
    // The terminal report too.
    support::succeed(Command::new(WIRELAB).arg("report").arg(&file));
    let _ = std::fs::remove_dir_all(&dir);
}
