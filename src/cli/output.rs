//! Where a report goes: the output file (opened before privileges are dropped), the
//! renderer for the chosen format, packet lines as they arrive, the progress bar.

use crate::cli::args::{Depth, Format, Output};
use crate::cli::failure::{Failure, Outcome, failed};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use wirelab::model::PacketLine;
use wirelab::render;
use wirelab::report::Report;

/// The report's destination, opened now (before privileges are dropped, so that the
/// file belongs to the invoking user).
pub fn open_output(output: &Output) -> Result<Option<File>, Failure> {
    output
        .output
        .as_deref()
        .map(wirelab::drive::live::create_for_target)
        .transpose()
        .map_err(|e| Failure::Input(e.to_string()))
}

/// Writes the report; a closed pipe is not an error.
pub fn emit(report: &Report, output: &Output, file: Option<File>) -> Result<(), Failure> {
    emit_prepared(report, output, file, None)
}

/// Like [`emit`], the JSON's connections taken from `prepared` (serialised ahead).
pub fn emit_prepared(
    report: &Report,
    output: &Output,
    file: Option<File>,
    prepared: Option<render::json::Prepared>,
) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut out: Box<dyn Write> = match file {
        Some(f) => Box::new(BufWriter::new(f)),
        None => Box::new(BufWriter::new(stdout.lock())),
    };
    let view = output.view();
    use render::Renderer;
    let renderer = match output.format {
        Format::Table => match output.depth() {
            Depth::Story => Renderer::Story,
            Depth::Full => Renderer::Full,
            Depth::FullThenStory => Renderer::FullThenStory,
        },
        Format::Json => Renderer::Json,
        Format::Html => Renderer::Html,
        Format::Har => Renderer::Har,
        Format::Jsonl => Renderer::Jsonl,
    };
    let written = match (renderer, prepared) {
        // The JSON's connections serialised ahead, while the file was read.
        (Renderer::Json, Some(p)) => render::json::write_prepared(report, Some(p), &mut out),
        (r, _) => r.write(report, &view, &mut out),
    }
    .and_then(|_| out.flush());
    written.map_err(Failure::writing)
}

/// Writes a saved capture's report; a file cut mid-record still gets its report, then
/// exit code 1 with the reason.
pub fn finish_file_report(
    report: &Report,
    file: &Path,
    output: &Output,
    out: Option<File>,
    prepared: Option<render::json::Prepared>,
) -> Outcome {
    emit_prepared(report, output, out, prepared)?;
    file_report_status(report, file)
}

/// After a file's report is written: what --extract saved, and the exit status (1 for
/// a stopped --extract or a file cut mid-record).
pub fn file_report_status(report: &Report, file: &Path) -> Outcome {
    if let Some(dir) = &report.source.extracted_to {
        let n = report.source.extracted_files.unwrap_or(0);
        eprintln!("wirelab: saved {n} response bodies in {dir}");
    }
    if let Some(e) = &report.source.extract_error {
        return failed(format!("--extract stopped: {e}"));
    }
    if let Some(e) = &report.source.read_error {
        return failed(format!(
            "{}: {e}; the report covers the frames before it",
            file.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on standard error for a big file read to a report: bytes read,
/// frames, connections, rate. None when standard error is not a terminal or the file is
/// small.
pub fn progress_bar(
    file: &Path,
) -> Option<(indicatif::ProgressBar, wirelab::drive::file::ProgressFn)> {
    let len = std::fs::metadata(file).ok()?.len();
    if !io::stderr().is_terminal() || len < PROGRESS_FROM {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg}",
        )
        .ok()?,
    );
    let b = bar.clone();
    let update = Box::new(move |bytes: u64, frames: u64, conns: u64| {
        b.set_position(bytes);
        b.set_message(format!(
            "{} frames, {} connections",
            render::group(frames),
            render::group(conns)
        ));
    });
    Some((bar, update))
}

/// Files from this size on get a progress bar (when standard error is a terminal).
pub const PROGRESS_FROM: u64 = 64 << 20;

/// Packet lines printed live before the rest are only counted: about a screenful,
/// as the ladder is cut.
pub const LIVE_LINES: usize = 40;

/// Prints packet lines as they arrive, for a person watching: only when the report
/// goes to a terminal as text (never into `-o` files, JSON or a pipe), and only the
/// first [`LIVE_LINES`] (`-v`: all of them); the story at the end tells the run.
pub fn line_printer(output: &Output) -> impl FnMut(&PacketLine) + Send + 'static {
    let watched =
        output.format == Format::Table && output.output.is_none() && io::stdout().is_terminal();
    let all = output.verbose;
    let mut print = packet_printer(output);
    let mut seen = 0usize;
    move |line: &PacketLine| {
        if !watched {
            return;
        }
        seen += 1;
        if all || seen <= LIVE_LINES {
            print(line)
        } else if seen == LIVE_LINES + 1 {
            println!("... more packets follow; the story at the end tells them (-v: every line)");
        }
    }
}

/// Prints every packet line (`wirelab replay`, whose output they are): on stdout when
/// the report goes to the terminal as text, on stderr when stdout carries JSON.
pub fn packet_printer(output: &Output) -> impl FnMut(&PacketLine) + Send + 'static {
    let to_stdout = output.format == Format::Table || output.output.is_some();
    let color = output.view().color;
    let mut t0 = None;
    move |line: &PacketLine| {
        let t = *t0.get_or_insert(line.segment.ts_us);
        let mut text = render::table::packet_line(line, t);
        if color && !line.segment.analysis.is_empty() {
            text = console::style(text).red().force_styling(true).to_string();
        }
        if to_stdout {
            let _ = writeln!(io::stdout(), "{text}");
        } else {
            let _ = writeln!(io::stderr(), "{text}");
        }
    }
}
