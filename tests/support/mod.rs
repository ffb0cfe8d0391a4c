//! Test support: the generators of crafted and hostile captures. Shared by the tests
//! (`mod support;`) and `examples/hostile.rs` (by path); not part of wirelab itself.

#![allow(dead_code)]

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
