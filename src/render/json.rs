//! The JSON report (the contract of docs/json.md): one object, pretty-printed as
//! `serde_json::to_writer_pretty` prints it, byte for byte.
//!
//! The connections are most of it (tens of megabytes for a big capture): they are
//! serialised on two threads, a block at a time, and written in order, so that the
//! output streams in bounded memory while both cores work; or they come serialised
//! already ([`Prepared`], made while the rest of the file was read).

use crate::model::Connection;
use crate::report::Report;
use serde::Serialize;
use serde_json::ser::Formatter;
use std::io::{self, Write};

/// Connections serialised in one block (one thread's turn).
const BLOCK: usize = 64;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_prepared(report, None, out)
}

/// The elements of the connections array as [`write`] writes them, serialised ahead
/// (while the rest of a file is read: `ReportBuilder::when_listed_done`).
pub struct Prepared {
    /// Connections serialised: the report's, if they are the same list.
    pub count: usize,
    pub bytes: io::Result<Vec<u8>>,
}

impl Prepared {
    pub fn of(conns: &[Connection]) -> Self {
        Prepared {
            count: conns.len(),
            bytes: block(conns, true),
        }
    }
}

/// Like [`write`], with the connections' elements taken from `prepared` when it holds
/// as many as the report lists (the same list: the hook sees it final).
pub fn write_prepared(
    report: &Report,
    prepared: Option<Prepared>,
    out: &mut dyn Write,
) -> io::Result<()> {
    // serde writes a few bytes at a time: a buffer of its own type keeps those writes
    // inlined, and `out` sees 64 KiB at a time.
    let mut buffered = io::BufWriter::with_capacity(64 << 10, out);
    // The report without its connections, and where they go in it.
    let shell = Report {
        wirelab_report: report.wirelab_report,
        source: report.source.clone(),
        connections: Vec::new(),
        totals: report.totals.clone(),
        records: report.records.clone(),
        lab: report.lab.clone(),
        trace: report.trace.clone(),
    };
    let text = serde_json::to_vec_pretty(&shell)?;
    if report.connections.is_empty() {
        buffered.write_all(&text)?;
    } else {
        const KEY: &[u8] = b"\n  \"connections\": ";
        let list = text
            .windows(KEY.len())
            .position(|w| w == KEY)
            .expect("the report has a connections key")
            + KEY.len();
        // `[]` there becomes the array, its closing bracket on a line of its own.
        debug_assert_eq!(&text[list..list + 2], b"[]");
        buffered.write_all(&text[..list])?;
        buffered.write_all(b"[")?;
        match prepared {
            Some(p) if p.count == report.connections.len() => buffered.write_all(&p.bytes?)?,
            _ => connections(&report.connections, &mut buffered)?,
        }
        buffered.write_all(b"\n  ]")?;
        buffered.write_all(&text[list + b"[]".len()..])?;
    }
    buffered.write_all(b"\n")?;
    buffered.flush()
}

/// The array's elements, each on a line of its own at depth 2, as the pretty printer
/// writes them: blocks by turns on this thread and on a second one.
fn connections(all: &[Connection], out: &mut impl Write) -> io::Result<()> {
    let blocks: Vec<&[Connection]> = all.chunks(BLOCK).collect();
    if blocks.len() == 1 {
        return out.write_all(&block(blocks[0], true)?);
    }
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(2);
        let odd: Vec<&[Connection]> = blocks.iter().skip(1).step_by(2).copied().collect();
        scope.spawn(move || {
            for b in odd {
                if tx.send(block(b, false)).is_err() {
                    return;
                }
            }
        });
        for (i, b) in blocks.iter().enumerate() {
            let bytes = if i % 2 == 0 {
                block(b, i == 0)?
            } else {
                rx.recv()
                    .expect("the second thread sends every odd block")?
            };
            out.write_all(&bytes)?;
        }
        Ok(())
    })
}

/// One block of elements: `\n` (`,\n` after the first element of the array) and
/// four spaces before each.
fn block(conns: &[Connection], first: bool) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(conns.len() * 4096);
    for (i, c) in conns.iter().enumerate() {
        bytes.extend_from_slice(if first && i == 0 {
            b"\n    "
        } else {
            b",\n    "
        });
        let mut ser = serde_json::Serializer::with_formatter(&mut bytes, Pretty::at(2));
        c.serialize(&mut ser)?;
    }
    Ok(bytes)
}

/// serde_json's `PrettyFormatter` (two spaces), starting `depth` levels in.
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    fn at(depth: usize) -> Self {
        Pretty {
            depth,
            has_value: false,
        }
    }

    fn indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        const SPACES: &[u8] = &[b' '; 64];
        let mut n = self.depth * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            w.write_all(&SPACES[..k])?;
            n -= k;
        }
        Ok(())
    }
}

/// Arrays and objects are laid out alike: open, each element on its own line one level
/// in, close on a line of its own if anything was in it.
impl Pretty {
    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(bracket)
    }

    fn element<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.element(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.element(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report written in blocks on two threads equals serde_json's pretty printer,
    /// byte for byte, for 0, 1, one block's and several blocks' worth of connections.
    #[test]
    fn equals_the_pretty_printer() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/romeo.pcap");
        let one = crate::drive::file::from_file(&file, None, Default::default()).unwrap();
        assert_eq!(one.connections.len(), 1);
        for n in [0, 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5] {
            let mut report = one.clone();
            report.connections = (0..n)
                .map(|i| {
                    let mut c = one.connections[0].clone();
                    c.id = i as u64;
                    c
                })
                .collect();
            let mut got = Vec::new();
            write(&report, &mut got).unwrap();
            let mut want = serde_json::to_vec_pretty(&report).unwrap();
            want.push(b'\n');
            assert!(got == want, "{n} connections differ");
        }
    }
}
