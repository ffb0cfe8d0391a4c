//! Test support, the one folder of helpers: the generators of crafted and hostile
//! captures, and the checks the live and lab tests share. Used by the tests (`mod
//! support;`) and `examples/hostile.rs` (by path); not part of wirelab itself.

#![allow(dead_code)]

pub mod checks;
pub mod craft;
pub mod hostile;

/// Runs `cmd`, which must succeed: its output, or a failure that shows its stderr.
pub fn succeed(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().expect("the command starts");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every capture file (pcap, pcapng, cap) under the repository's `captures/` and the
/// shared public corpus beside it (when it is there).
pub fn all_captures() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .is_some_and(|x| ["pcap", "pcapng", "cap"].contains(&x.to_str().unwrap_or("")))
            {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("captures"), &mut files);
    walk(&root.join("../shared/testdata/public"), &mut files);
    files
}
