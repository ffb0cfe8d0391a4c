//! Writes the hostile captures of `wirelab::lab::hostile` into a directory:
//! `cargo run --release --example hostile -- DIR [CASE...]`.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "hostile".into()));
    let cases: Vec<String> = args.collect();
    std::fs::create_dir_all(&dir)?;
    for case in wirelab::lab::hostile::CASES {
        if !cases.is_empty() && !cases.iter().any(|c| c == case) {
            continue;
        }
        let path = dir.join(format!("{case}.pcap"));
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        wirelab::lab::hostile::write(case, file)?;
        println!("{}", path.display());
    }
    Ok(())
}
