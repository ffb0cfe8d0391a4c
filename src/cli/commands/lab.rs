//! `wirelab lab` and `wirelab demo`: a program (or the course's fetches) on the lab
//! network, with the loopback demo where namespaces cannot be made.

use crate::cli::args::Output;
use crate::cli::failure::{Outcome, failed, input, lab_fail, privilege};
use crate::cli::output::{emit, line_printer, open_output};
use std::io::{self, IsTerminal};
use std::path::Path;
use std::process::ExitCode;
use wirelab::capture::live::LiveError;
use wirelab::drive::live::{self as session};
use wirelab::lab::{
    self, LabError,
    client::{self, FetchOptions},
    server::Server,
};

pub fn lab_command(
    opts: wirelab::lab::run::LabOptions,
    command: Vec<String>,
    output: &Output,
) -> Outcome {
    use wirelab::lab::run::{self, Program};
    if let Some(p) = opts.save.as_deref().filter(|p| p.exists()) {
        return input(format!(
            "{} exists, and wirelab lab never writes a capture over a file: choose another \
name, or remove it first",
            p.display()
        ));
    }
    let out = open_output(output)?;
    let save = opts.save.clone();
    let outcome = match run::run(&opts, Program::Command(command), output.options(), |_| {}) {
        Ok(o) => o,
        Err(e) => {
            if let Some(p) = &save {
                remove_empty_capture(p);
            }
            return lab_fail(&e);
        }
    };
    // Said before the report: the story is the last thing on the screen.
    if let Some(p) = &save {
        eprintln!(
            "wirelab lab: capture saved to {} (replay: wirelab report {})",
            p.display(),
            p.display()
        );
    }
    if let Some(p) = outcome
        .live
        .report
        .lab
        .as_ref()
        .and_then(|l| l.both_ends.as_ref())
        .and_then(|b| b.saved.as_ref())
    {
        eprintln!("wirelab lab: the server's side saved to {p}");
    }
    emit(&outcome.live.report, output, out)?;
    // The program's exit status is passed on (128 + N for a signal, as shells do).
    Ok(match outcome.status {
        Some(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
            (Some(c), _) => ExitCode::from(c.clamp(0, 255) as u8),
            (None, Some(sig)) => ExitCode::from((128 + sig).clamp(0, 255) as u8),
            _ => ExitCode::from(crate::cli::failure::EXIT_FAIL),
        },
        None => ExitCode::SUCCESS,
    })
}

/// The demo's closing lines on standard error, each short: who it ran as, where the
/// capture is, how to replay it.
fn saved_lines(dropped: &str, save: &Path) {
    eprintln!("wirelab demo: {dropped}");
    eprintln!("wirelab demo: capture saved to {}", save.display());
    eprintln!(
        "wirelab demo: replay it any time: wirelab report {}",
        save.display()
    );
}

/// A savefile made for a run that then failed holds only its header: remove it.
fn remove_empty_capture(path: &Path) {
    if std::fs::metadata(path).is_ok_and(|m| m.len() <= 24) {
        let _ = std::fs::remove_file(path);
    }
}

/// The demo on the lab network; `Err` when the network cannot be made here (the
/// caller falls back to loopback).
pub fn demo_lab(
    link: wirelab::lab::network::LinkOptions,
    write: &Path,
    output: &Output,
) -> Result<Outcome, String> {
    use wirelab::lab::run::{self, LabOptions, Program};
    let out = match open_output(output) {
        Ok(o) => o,
        Err(f) => return Ok(Err(f)),
    };
    let save = session::fresh_path(write);
    let opts = LabOptions {
        link,
        save: Some(save.clone()),
        user: None,
        trace: false,
    };
    // Lines short enough for an 80-column terminal: the story says the rest.
    eprintln!("wirelab demo: romeo.txt with recv(512), cover3.jpg with recv(5120)");
    eprintln!("wirelab demo: the lab's link: {}", opts.link.words());
    let fetches = vec![
        ("/romeo.txt".to_string(), 512),
        ("/cover3.jpg".to_string(), 5120),
    ];
    let outcome = match run::run(
        &opts,
        Program::Fetches(fetches),
        output.options(),
        line_printer(output),
    ) {
        Ok(o) => o,
        Err(LabError::NoNetwork(why)) => return Err(why.to_string()),
        Err(e) => {
            remove_empty_capture(&save);
            return Ok(lab_fail(&e));
        }
    };
    saved_lines(&outcome.dropped.description, &save);
    if let Err(f) = emit(&outcome.live.report, output, out) {
        return Ok(Err(f));
    }
    Ok(Ok(ExitCode::SUCCESS))
}

pub fn demo(port: u16, mss: u32, write: &Path, output: &Output) -> Outcome {
    let ip = std::net::Ipv4Addr::LOCALHOST;
    let server = match Server::bind((ip, port).into()).or_else(|e| {
        // Port 80 taken (or not ours to take): any free port shows the same thing.
        let e = e.to_string();
        eprintln!(
            "wirelab demo: port {port} cannot be used ({}); the server takes a free port instead",
            e.split(';').next().unwrap_or(&e)
        );
        Server::bind((ip, 0).into())
    }) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let addr = server.local_addr();
    let fetch = |path: &str, recv_size: usize, mss: Option<u32>| {
        let opts = FetchOptions {
            recv_size,
            mss,
            connect: Some(addr),
            ..Default::default()
        };
        client::prepare(&format!("http://data.pr4e.org/{path}"), &opts)
    };
    let prepared = match (
        fetch("romeo.txt", 512, None),
        fetch("cover3.jpg", 5120, Some(mss)),
    ) {
        (Ok(a), Ok(b)) => vec![a, b],
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    let out = open_output(output)?;
    let save = session::fresh_path(write);
    let interface = lab::loopback_interface();
    eprintln!(
        "wirelab demo: the course server on http://{addr}/, capturing on {interface}; fetching \
/romeo.txt with recv(512), then /cover3.jpg with recv(5120) and MSS {mss}"
    );
    let run = match lab::capture_fetches(
        &interface,
        format!("tcp port {}", addr.port()),
        Some(&save),
        Some(server),
        prepared,
        output.options(),
        line_printer(output),
    ) {
        Ok(r) => r,
        Err(LabError::Live(LiveError::NoPermission { interface, message })) => {
            let _ = std::fs::remove_file(&save);
            return privilege(format!(
                "the demo captures on {interface} and that needs privileges ({message}).\n  \
Run it with sudo:                     sudo {exe} demo\n  \
or grant the binary capture rights:   sudo scripts/grant-capture.sh, then {exe} demo\n  \
or study the bundled capture instead: {exe} report captures/romeo.pcap",
                exe = std::env::args().next().unwrap_or_else(|| "wirelab".into())
            ));
        }
        Err(e) => return lab_fail(&e),
    };
    saved_lines(&run.dropped.description, &save);
    if io::stderr().is_terminal() {
        eprintln!(
            "wirelab demo: open it in Wireshark too: wireshark {}",
            save.display()
        );
    }
    emit(&run.live.report, output, out)?;
    Ok(ExitCode::SUCCESS)
}

/// `wirelab demo`: on the lab network, or on loopback where namespaces cannot be made
/// (or with --loopback).
pub fn demo_command(
    link: wirelab::lab::network::LinkOptions,
    loopback: bool,
    port: u16,
    mss: u32,
    write: &Path,
    output: &Output,
) -> Outcome {
    let why_not = if loopback {
        None
    } else {
        wirelab::lab::run::available().err()
    };
    match why_not {
        None if !loopback => match demo_lab(link, write, output) {
            Err(why) => {
                eprintln!(
                    "wirelab demo: the lab network could not be made ({why}); the demo \
    runs on loopback instead"
                );
                demo(port, mss, write, output)
            }
            Ok(code) => code,
        },
        Some(why) => {
            eprintln!("wirelab demo: no lab network ({why}); the demo runs on loopback instead");
            demo(port, mss, write, output)
        }
        None => demo(port, mss, write, output),
    }
}
