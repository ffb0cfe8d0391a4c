//! `wirelab report` and `wirelab replay`: the file driver, read to a report.

use crate::cli::args::{Format, Output};
use crate::cli::failure::{Failure, Outcome, input};
use crate::cli::output::{file_report_status, finish_file_report, open_output, progress_bar};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;
use wirelab::model::PacketLine;
use wirelab::render;
use wirelab::report::{Limits, Options};

/// `report --format jsonl`: every connection written as it closes, so the memory used
/// does not grow with the file; then the DNS lookups and the summary.
fn report_file_streamed(
    file: &Path,
    filter: Option<&str>,
    output: &Output,
    opts: Options,
) -> Outcome {
    use std::sync::{Arc, Mutex};
    let out = open_output(output)?;
    let writer: Box<dyn Write + Send> = match out {
        Some(f) => Box::new(BufWriter::new(f)),
        None => Box::new(BufWriter::new(io::stdout())),
    };
    let writer = Arc::new(Mutex::new((writer, None::<io::Error>)));
    let sink_writer = writer.clone();
    let sink = Box::new(move |c: wirelab::model::Connection| {
        let mut w = sink_writer.lock().expect("one thread writes");
        if w.1.is_none()
            && let Err(e) = render::jsonl::connection(&c, &mut w.0)
        {
            w.1 = Some(e);
        }
    });
    let opts = Options {
        limits: Limits {
            segment_rows: 0,
            ..opts.limits.listing(usize::MAX)
        },
        ..opts
    };
    let (bar, progress) = progress_bar(file).unzip();
    let read = wirelab::drive::file::from_file_with_progress(
        file,
        filter,
        opts,
        progress,
        Some(sink),
        None,
    );
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = match read {
        Ok(r) => r,
        Err(e) => return input(format!("{}: {e}", file.display())),
    };
    let mut w = writer.lock().expect("one thread writes");
    let (out, error) = &mut *w;
    let written = match error.take() {
        Some(e) => Err(e),
        None => render::jsonl::tail(&report, out).and_then(|_| out.flush()),
    };
    written.map_err(Failure::writing)?;
    file_report_status(&report, file)
}

/// The key log in `path`; its unreadable lines are said on stderr and skipped.
pub fn read_key_log(
    path: &Path,
) -> Result<std::sync::Arc<wirelab::keylog::KeyLog>, crate::cli::failure::Failure> {
    let text = std::fs::read(path).map_err(|e| {
        crate::cli::failure::Failure::Input(format!(
            "--keylog {}: {e}; give the file SSLKEYLOGFILE named when the program ran",
            path.display()
        ))
    })?;
    let log = wirelab::keylog::KeyLog::new();
    let bad = log.add_text(&String::from_utf8_lossy(&text));
    for b in bad.iter().take(5) {
        eprintln!(
            "wirelab: {} line {}: {} (skipped)",
            path.display(),
            b.line,
            b.why
        );
    }
    if bad.len() > 5 {
        eprintln!("wirelab: {} more lines skipped", bad.len() - 5);
    }
    if log.sessions() == 0 {
        eprintln!(
            "wirelab: {} holds no TLS secrets (lines such as CLIENT_RANDOM or \
CLIENT_TRAFFIC_SECRET_0): nothing can be decrypted with it",
            path.display()
        );
    }
    Ok(std::sync::Arc::new(log))
}

pub fn report_file(file: &Path, filter: Option<&str>, output: &Output, opts: Options) -> Outcome {
    if output.format == Format::Jsonl && opts.only_connection.is_none() {
        return report_file_streamed(file, filter, output, opts);
    }
    let connection = opts.only_connection;
    let (bar, progress) = progress_bar(file).unzip();
    // The JSON of the listed connections is serialised on the hashing thread once they
    // are final, while the rest of the file is read (mostly connections only counted,
    // one core's work): on the mixed bench capture that was the last 0.05 s.
    let prepared = std::sync::Arc::new(std::sync::Mutex::new(None));
    let hook = (output.format == Format::Json).then(|| {
        let slot = prepared.clone();
        Box::new(move |conns: &[wirelab::model::Connection]| {
            let p = render::json::Prepared::of(conns);
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(p);
        }) as wirelab::report::builder::ListedHook
    });
    let read =
        wirelab::drive::file::from_file_with_progress(file, filter, opts, progress, None, hook);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = match read {
        Ok(r) => r,
        Err(e) => return input(format!("{}: {e}", file.display())),
    };
    if let Some(n) = connection
        && report.connections.is_empty()
    {
        return input(format!(
            "{}: there is no connection {n}; it has {} (numbered from 0)",
            file.display(),
            report.totals.connections
        ));
    }
    let out = open_output(output)?;
    let prepared = prepared.lock().unwrap_or_else(|p| p.into_inner()).take();
    let outcome = finish_file_report(&report, file, output, out, prepared);
    // The process ends next: the report's allocations (tens of thousands for a big
    // capture) are left to the system to take back at once, not freed one by one
    // (9 to 12 ms of the mixed bench capture's 0.9 s).
    std::mem::forget(report);
    outcome
}

pub fn replay(
    file: &Path,
    speed: f64,
    step: bool,
    filter: Option<&str>,
    output: &Output,
) -> Outcome {
    if !(speed > 0.0 && speed.is_finite()) {
        return input(format!(
            "--speed {speed}: give a pace above 0 (1 is as captured, 10 ten times faster)"
        ));
    }
    let term = console::Term::stdout();
    if step && !(term.is_term() && io::stdin().is_terminal()) {
        return input(
            "--step waits for a key press and needs a terminal; use --speed N to replay without one",
        );
    }
    // First the whole file, for what the timeline shows between the packets: the DNS
    // lookups and the program's calls kept in the file (they are joined to the
    // packets only once every packet is read).
    let whole = match wirelab::drive::file::from_file(file, filter, output.options()) {
        Ok(r) => r,
        Err(e) => return input(format!("{}: {e}", file.display())),
    };
    let out = open_output(output)?;
    if step {
        eprintln!("wirelab: Enter or Space for the next packet, q for the rest at once");
    }
    let to_stdout = output.format == Format::Table || output.output.is_some();
    let color = output.view().color;
    let shown_on = if to_stdout {
        term.clone()
    } else {
        console::Term::stderr()
    };
    let width = output.width_on(&shown_on);
    let t0 = first_ts(&whole);
    let mut timeline = render::timeline::Timeline::new(&whole, t0, width);
    drop(whole);
    let mut last_ts: Option<i64> = None;
    let mut stepping = step;
    let mut show = |lines: Vec<render::timeline::Line>, key: bool| {
        for (i, l) in lines.into_iter().enumerate() {
            if stepping && key && i == 0 {
                match term.read_key() {
                    Ok(console::Key::Char('q' | 'Q')) | Ok(console::Key::Escape) | Err(_) => {
                        stepping = false
                    }
                    _ => {}
                }
            } else if !step && let Some(prev) = last_ts {
                // Long silences are cut to 5 s (and said): the class should not wait
                // for a timeout.
                let wait = ((l.ts_us - prev).max(0) as f64 / 1e6 / speed).min(5.0);
                std::thread::sleep(Duration::from_secs_f64(wait));
            }
            last_ts = Some(last_ts.map_or(l.ts_us, |p| p.max(l.ts_us)));
            let text = if color && l.finding {
                console::style(l.text).red().force_styling(true).to_string()
            } else {
                l.text
            };
            if to_stdout {
                let _ = writeln!(io::stdout(), "{text}");
            } else {
                let _ = writeln!(io::stderr(), "{text}");
            }
        }
    };
    let mut each = |line: &PacketLine| {
        let lines = timeline.packet(line);
        show(lines, true);
    };
    let report = match wirelab::drive::file::replay_file(file, filter, output.options(), &mut each)
    {
        Ok(r) => r,
        Err(e) => return input(format!("{}: {e}", file.display())),
    };
    show(timeline.rest(), false);
    finish_file_report(&report, file, output, out, None)
}

/// The time of the first frame the timeline shows: a lookup or a connection's first.
fn first_ts(r: &wirelab::model::Report) -> i64 {
    use wirelab::dns::ReportDns;
    r.dns()
        .iter()
        .map(|l| l.ts_us)
        .chain(r.connections.iter().map(|c| c.first_ts_us))
        .min()
        .unwrap_or(0)
}
