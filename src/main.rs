//! The wirelab command line: parse, run, map errors to exit codes. A closed pipe
//! (`wirelab report x.pcap | head`) is not an error.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use wirelab::render;
use wirelab::report::{self, Options};

#[derive(Parser)]
#[command(
    name = "wirelab",
    version,
    about = "A packet-level network lab: see the IP, TCP and HTTP layers of a web fetch",
    long_about = "wirelab reads a packet capture (or, soon, captures live) and shows every layer of \
each TCP connection in it: addresses and ports, the handshake and its round-trip time, every \
segment with relative sequence numbers and plain-language analysis, the reassembled byte \
streams, and the HTTP requests and responses they carry."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Layered text for the terminal.
    Table,
    /// The JSON report (its fields are a stable contract, see DESIGN.md).
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a saved .pcap/.pcapng file: reassemble every TCP stream, pair every HTTP
    /// exchange, and print the layered report. Needs no network and no privileges.
    #[command(after_help = "Examples:\n  wirelab report captures/romeo.pcap\n  \
wirelab report big.pcapng -f 'tcp port 80' --format json > report.json\n  \
wirelab report lab.pcap --connection 3")]
    Report {
        /// The capture file (pcap or pcapng, any byte order or timestamp resolution).
        file: PathBuf,
        /// A tcpdump-style BPF filter, applied as libpcap applies it to live traffic,
        /// e.g. 'tcp port 80' or 'host 10.0.0.2'.
        #[arg(short = 'f', long = "filter", value_name = "BPF")]
        filter: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Report only connection N (numbered from 0 in order of first packet, as
        /// tshark's tcp.stream), with every one of its segments.
        #[arg(long, value_name = "N")]
        connection: Option<u64>,
        /// Segment rows to keep in the whole report; beyond it connections keep
        /// their counts and analysis totals only.
        #[arg(long, value_name = "ROWS", default_value_t = 20_000)]
        segments: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Report {
            file,
            filter,
            format,
            connection,
            segments,
        } => {
            let opts = Options {
                only_connection: connection,
                segment_budget: segments,
                ..Options::default()
            };
            let report = match report::from_file(&file, filter.as_deref(), opts) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("wirelab: {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            };
            if let Some(n) = connection
                && report.connections.is_empty()
            {
                eprintln!(
                    "wirelab: {}: there is no connection {n}; it has {} (numbered from 0)",
                    file.display(),
                    report.totals.connections
                );
                return ExitCode::from(2);
            }
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let written = match format {
                Format::Table => render::table::write(&report, &mut out),
                Format::Json => render::json::write(&report, &mut out),
            }
            .and_then(|_| out.flush());
            match written {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("wirelab: writing the report: {e}");
                    return ExitCode::from(1);
                }
                Ok(()) => {}
            }
            if let Some(e) = &report.source.read_error {
                eprintln!(
                    "wirelab: {}: {e}; the report covers the frames before it",
                    file.display()
                );
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
    }
}
