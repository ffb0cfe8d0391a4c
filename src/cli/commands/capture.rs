//! `wirelab capture` and `wirelab interfaces`: the live driver on an interface.

use crate::cli::args::Output;
use crate::cli::failure::{Failure, Outcome, failed, live_fail};
use crate::cli::output::{emit, line_printer, open_output};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use wirelab::capture::live::LiveOptions;
use wirelab::drive::live::{GRACE, Session, StopReason};

pub fn capture(
    opts: &LiveOptions,
    write: Option<&Path>,
    count: Option<u64>,
    duration: Option<f64>,
    output: &Output,
    command: &[String],
    trace: bool,
) -> Outcome {
    let out = open_output(output)?;
    let session = match Session::open(opts, write) {
        Ok(s) => s,
        Err(e) => return live_fail(&e),
    };
    let saved = match session.saved_file() {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let dropped = match session.drop_privileges() {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    eprintln!(
        "wirelab: capturing on {}{}; {}; stop with Ctrl-C",
        opts.interface,
        opts.filter
            .as_ref()
            .map(|f| format!(" (filter '{f}')"))
            .unwrap_or_default(),
        dropped.description
    );
    let duration = duration.map(Duration::from_secs_f64);
    let report_opts = output.options();
    let limits = report_opts.limits.clone();
    let running = session.start(report_opts, count, duration, line_printer(output));
    let mut status_code = ExitCode::SUCCESS;
    let mut traced = None;
    let result = if let Some((program, args)) = command.split_first() {
        let stop = running.stopper();
        let ran = if trace {
            wirelab::trace::command::run(command).map(|(status, t)| {
                traced = Some(t);
                status
            })
        } else {
            std::process::Command::new(program).args(args).status()
        };
        match ran {
            Ok(status) => {
                eprintln!("wirelab: {program} exited ({status})");
                if !status.success() {
                    status_code = ExitCode::from(crate::cli::failure::EXIT_FAIL);
                }
            }
            Err(e) => {
                eprintln!("wirelab: cannot run {program}: {e}");
                status_code = ExitCode::from(crate::cli::failure::EXIT_FAIL);
            }
        }
        std::thread::sleep(GRACE);
        let _ = stop.send(StopReason::Done);
        running.wait()
    } else {
        running.wait()
    };
    let mut result = result;
    if let Some(t) = &traced {
        wirelab::report::recv::attach(&mut result.report, t, &limits);
        if let Some(saved) = &saved {
            saved.keep(&result.report, Some(t), "");
        }
    }
    eprintln!("wirelab: {}", result.stop);
    if let Some(e) = &result.report.source.read_error {
        eprintln!("wirelab: {e}");
        status_code = ExitCode::from(crate::cli::failure::EXIT_FAIL);
    }
    if let Some(p) = write {
        eprintln!(
            "wirelab: capture saved to {} (replay: wirelab report {})",
            p.display(),
            p.display()
        );
    }
    // The report last: the story (capture -- CMD) is what the screen ends with.
    emit(&result.report, output, out)?;
    Ok(status_code)
}

pub fn interfaces() -> Outcome {
    use comfy_table::{Table, presets::ASCII_BORDERS_ONLY_CONDENSED};
    let mut t = Table::new();
    t.load_style(ASCII_BORDERS_ONLY_CONDENSED)
        .force_no_tty()
        .set_header(vec![
            "interface",
            "state",
            "MTU",
            "MAC",
            "addresses",
            "note",
        ]);
    for i in pnet_datalink::interfaces() {
        let mtu = std::fs::read_to_string(format!("/sys/class/net/{}/mtu", i.name))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "-".into());
        let ips: Vec<String> = i.ips.iter().map(|ip| ip.to_string()).collect();
        let state = match (i.is_up(), i.is_running()) {
            (true, true) => "up",
            (true, false) => "up, no carrier",
            _ => "down",
        };
        t.add_row(vec![
            i.name.clone(),
            state.into(),
            mtu,
            i.mac.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
            ips.join(" "),
            if i.is_loopback() {
                "loopback: traffic to 127.0.0.1 and ::1 (the built-in server)".into()
            } else {
                String::new()
            },
        ]);
    }
    Failure::print(&format!(
        "{t}\ncapture on one of these with: sudo wirelab capture -i NAME\n\
         (\"any\" captures on all of them)\n"
    ))?;
    Ok(ExitCode::SUCCESS)
}
