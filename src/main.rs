//! The wirelab command line: parse, dispatch to the command's runner (`cli::commands`),
//! map its failure to an exit code (`cli::failure`).

mod cli;

use cli::args::Command;
use cli::commands::{capture, course, info, lab, report};
use cli::failure::Outcome;
use std::process::ExitCode;
use wirelab::capture::live::LiveOptions;
use wirelab::lab::client::FetchOptions;
use wirelab::report::{Limits, Options};

fn main() -> ExitCode {
    run(cli::args::parse().command).unwrap_or_else(|f| f.exit())
}

/// Runs the parsed command.
fn run(mut command: Command) -> Outcome {
    // The commands that run something end with the story a student reads.
    match &mut command {
        Command::Lab { output, .. }
        | Command::Demo { output, .. }
        | Command::Fetch { output, .. } => output.tells_story = true,
        Command::Capture {
            output, command, ..
        } => output.tells_story = !command.is_empty(),
        _ => {}
    }
    match command {
        Command::Report {
            file,
            filter,
            output,
            connection,
            segments,
            list,
            extract,
            force,
            keylog,
        } => report::report_file(
            &file,
            filter.as_deref(),
            &output,
            Options {
                only_connection: connection,
                limits: Limits {
                    segment_rows: segments,
                    ..Limits::default().listing(list)
                },
                extract: extract.map(|d| (d, force)),
                key_log: keylog.as_deref().map(report::read_key_log).transpose()?,
                ..output.options()
            },
        ),
        Command::Capture {
            interface,
            filter,
            write,
            count,
            duration,
            snaplen,
            trace,
            output,
            command,
        } => {
            let mut opts = LiveOptions::new(&interface);
            opts.filter = filter;
            opts.snaplen = snaplen;
            capture::capture(
                &opts,
                write.as_deref(),
                count,
                duration,
                &output,
                &command,
                trace,
            )
        }
        Command::Interfaces => capture::interfaces(),
        Command::Replay {
            file,
            speed,
            step,
            filter,
            output,
        } => report::replay(&file, speed, step, filter.as_deref(), &output),
        Command::Explain { term } => info::explain(term.as_deref()),
        Command::Ports => info::ports(),
        Command::Serve {
            listen,
            tls,
            ca,
            keylog,
        } => course::serve(listen, tls.then_some((ca.as_path(), keylog.as_deref()))),
        Command::Fetch {
            url,
            recv,
            mss,
            connect,
            bare_lf,
            origin_form,
            interface,
            write,
            save_body,
            output,
        } => {
            let opts = FetchOptions {
                recv_size: recv,
                mss,
                connect,
                bare_lf,
                origin_form,
                ..Default::default()
            };
            course::fetch(
                &url,
                &opts,
                interface,
                write.as_deref(),
                save_body.as_deref(),
                &output,
            )
        }
        Command::Lab {
            mtu,
            link,
            user,
            no_trace,
            write,
            output,
            command,
        } => lab::lab_command(
            wirelab::lab::run::LabOptions {
                link: link.options(mtu),
                save: write,
                user,
                trace: !no_trace,
            },
            command,
            &output,
        ),
        Command::Demo {
            link,
            loopback,
            port,
            mss,
            write,
            output,
        } => lab::demo_command(link.options(1500), loopback, port, mss, &write, &output),
    }
}
