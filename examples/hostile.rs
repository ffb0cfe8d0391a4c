//! Writes the hostile captures of `tests/support/hostile.rs` into a directory:
//! `cargo run --release --example hostile -- DIR [CASE...]`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "hostile".into()));
    let cases: Vec<String> = args.collect();
    std::fs::create_dir_all(&dir)?;
    for case in support::hostile::CASES {
        if !cases.is_empty() && !cases.iter().any(|c| c == case) {
            continue;
        }
        let path = dir.join(format!("{case}.pcap"));
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        support::hostile::write(case, file)?;
        println!("{}", path.display());
    }
    Ok(())
}
