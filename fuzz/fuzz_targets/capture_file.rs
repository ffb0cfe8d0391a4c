//! Arbitrary bytes as a capture file: pcap/pcapng parsing → dissect → reassembly →
//! HTTP → report → every renderer. Seeded with captures/. The same bytes saved as a
//! file go through the file driver too (a plain pcap read in shared chunks, dissected
//! on a second thread, hashed uncopied) and must give the same connections, totals
//! and read error as the one-thread reading of the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab::capture::file::CaptureFile;
use wirelab::render::{self, View};
use wirelab::model::Source;
use wirelab::report::{Options, ReportBuilder};

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = CaptureFile::from_reader(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    let mut builder = ReportBuilder::new(Options::default());
    let result = file.for_each(|frame| {
        let _ = builder.frame_line(frame);
    });
    let report = builder.finish(Source::default(), result.err().map(|e| e.to_string()));
    // The one-thread reading the file driver must equal, with the TLS secrets the file
    // carries (a Decryption Secrets Block) read as the driver reads them.
    let keys = std::sync::Arc::new(wirelab::tls::KeyLog::new());
    let mut one = ReportBuilder::new(Options {
        key_log: Some(keys.clone()),
        ..Options::default()
    });
    let mut file = CaptureFile::from_reader(std::io::Cursor::new(data.to_vec())).unwrap();
    file.on_secrets(Box::new(move |text| {
        keys.add_text(&String::from_utf8_lossy(text));
    }));
    let result = file.for_each(|frame| one.frame(frame));
    let one = one.finish(Source::default(), result.err().map(|e| e.to_string()));
    let path = std::env::temp_dir().join(format!("wirelab-fuzz-{}.pcap", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let driven = wirelab::drive::file::from_file(&path, None, Options::default()).unwrap();
    // Where reading stopped must agree, not always why: a last record claiming more
    // than 16 MiB is corrupt to the chunked reader, and to pcap-parser's reader cut
    // short or corrupt depending on how much of the file its buffer holds.
    let same = |a: &wirelab::report::Report| {
        let stopped = a.source.read_error.as_deref().map(|e| {
            e.split("byte ")
                .nth(1)
                .map(|n| n.split(|c: char| !c.is_ascii_digit()).next())
        });
        // The file driver also joins a trace kept in a pcapng's comments (the program's
        // calls): the packets' facts are what must agree.
        let mut connections = a.connections.clone();
        for c in &mut connections {
            (c.recv, c.send, c.process) = (None, None, None);
        }
        serde_json::to_string(&(&connections, a.totals_json(), stopped)).unwrap()
    };
    assert_eq!(same(&one), same(&driven), "the file driver differs");
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
