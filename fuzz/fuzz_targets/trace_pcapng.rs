//! Arbitrary text as the program's trace in a saved pcapng's section comments (seeded
//! with the trace of captures/romeo-traced.pcapng): read within the trace bounds,
//! checked against that capture's packets, joined, and rendered by every renderer.
//! A trace may be refused or disputed, never crash the report; a disputed connection
//! keeps no call.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wirelab::capture::annotate::trace_comments;
use wirelab::render::{self, View};
use wirelab::report::{Limits, Options, Report, recv};

/// The capture's report, without its own trace.
fn packets() -> &'static Report {
    static BASE: OnceLock<Report> = OnceLock::new();
    BASE.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../captures/romeo-traced.pcapng");
        let mut r = wirelab::drive::file::from_file(std::path::Path::new(path), None, Options::default())
            .expect("the traced capture reads");
        for c in &mut r.connections {
            c.recv = None;
            c.send = None;
            c.process = None;
        }
        r.trace = None;
        r
    })
}

fuzz_target!(|data: &[u8]| {
    let json = String::from_utf8_lossy(data);
    let Some(read) = recv::from_comments(&trace_comments(&json), &Limits::default()) else {
        return;
    };
    let mut report = packets().clone();
    if let Ok(trace) = read {
        recv::attach(&mut report, &trace);
        let t = report.trace.as_ref().expect("attach notes the trace");
        for d in &t.disputed {
            let c = report.connections.iter().find(|c| c.id == d.connection).unwrap();
            assert!(c.recv.is_none() && c.send.is_none(), "a disputed connection keeps no call");
        }
    }
    let view = View {
        verbose: true,
        ..View::default()
    };
    let mut sink = std::io::sink();
    // Every renderer the library has (the binary's list).
    for r in render::Renderer::ALL {
        r.write(&report, &view, &mut sink).unwrap();
    }
});
