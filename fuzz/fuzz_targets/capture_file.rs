//! Arbitrary bytes as a capture file: pcap/pcapng parsing → dissect → reassembly →
//! HTTP → report → every renderer. Seeded with captures/.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab::capture::file::CaptureFile;
use wirelab::render::{self, View};
use wirelab::report::{Options, ReportBuilder, model::Source};

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = CaptureFile::from_reader(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    let mut builder = ReportBuilder::new(Options::default());
    let result = file.for_each(|frame| {
        let _ = builder.frame_line(frame);
    });
    let report = builder.finish(Source::default(), result.err().map(|e| e.to_string()));
    let view = View {
        verbose: true,
        ..View::default()
    };
    let mut sink = std::io::sink();
    render::table::write(&report, &view, &mut sink).unwrap();
    render::json::write(&report, &mut sink).unwrap();
    render::html::write(&report, &view, &mut sink).unwrap();
});
