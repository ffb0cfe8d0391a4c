//! The JSON report (DESIGN.md's contract): one object, pretty-printed.

use crate::report::Report;
use std::io::{self, Write};

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // serde writes a few bytes at a time: a buffer of its own type keeps those writes
    // inlined, and `out` sees 64 KiB at a time.
    let mut buffered = io::BufWriter::with_capacity(64 << 10, out);
    serde_json::to_writer_pretty(&mut buffered, report)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}
