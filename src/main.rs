//! The wirelab command line: parse, run, map errors to exit codes. A closed pipe
//! (`wirelab report x.pcap | head`) is not an error.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use wirelab::capture::live::{LiveError, LiveOptions};
use wirelab::lab::client::{self, FetchOptions};
use wirelab::lab::server::Server;
use wirelab::lab::session::{self, Session, StopReason};
use wirelab::lab::{self, LabError};
use wirelab::render;
use wirelab::report::model::PacketLine;
use wirelab::report::{self, Options, Report};

#[derive(Parser)]
#[command(
    name = "wirelab",
    version,
    about = "A packet-level network lab: see the IP, TCP and HTTP layers of a web fetch",
    long_about = "wirelab captures live (or reads a saved capture) and shows every layer of \
each TCP connection in it: addresses and ports, the handshake and its round-trip time, every \
segment with relative sequence numbers and plain-language analysis, the reassembled byte \
streams, and the HTTP requests and responses they carry."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Layered text for the terminal.
    Table,
    /// The JSON report (its fields are a stable contract, see DESIGN.md).
    Json,
    /// One self-contained page for the projector (inline CSS and SVG, no script).
    Html,
    /// JSON Lines: a line per connection (streamed as each closes, so any file's report
    /// stays in bounded memory), per HTTP exchange and per DNS lookup, then a summary
    /// line; every connection is listed. For DuckDB (read_json_auto), Spark, jq.
    Jsonl,
    /// HAR 1.2, as the browser's developer console exports it: one entry per HTTP
    /// exchange, timings from the packets (open it in the console's Network tab).
    Har,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    /// Colours and Unicode on a terminal, plain ASCII otherwise (and when NO_COLOR is set).
    Auto,
    Always,
    Never,
}

/// Where and how the report is written.
#[derive(Args)]
struct Output {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the report to FILE instead of standard output (never overwrites a capture).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Layers to show, top to bottom: any of http,tcp,ip,link.
    #[arg(long, value_name = "LIST", default_value = "http,tcp,ip,link", value_parser = render::Layers::parse)]
    layers: render::Layers,
    /// Every header field of every frame, and the whole ladder.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Each frame's header bytes in hex (link, IP and TCP headers; implies --verbose).
    #[arg(short = 'x', long = "hex")]
    hex: bool,
    /// Colours in the terminal report.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: Color,
}

impl Output {
    fn view(&self) -> render::View {
        let color = match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                self.output.is_none()
                    && io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        render::View {
            layers: self.layers,
            verbose: self.verbose || self.hex,
            hex: self.hex,
            color,
        }
    }

    /// The pipeline's options for what this output shows.
    fn options(&self) -> Options {
        Options {
            header_hex: self.hex,
            // HAR carries the bodies (up to 1 MiB each; text, or base64).
            keep_body_bytes: if self.format == Format::Har {
                1 << 20
            } else {
                0
            },
            ..Options::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Replay a saved .pcap/.pcapng file: reassemble every TCP stream, pair every HTTP
    /// exchange, and print the layered report. Needs no network and no privileges.
    #[command(after_help = "Examples:\n  wirelab report captures/romeo.pcap\n  \
wirelab report big.pcapng -f 'tcp port 80' --format json > report.json\n  \
wirelab report lab.pcap --connection 3 --layers http,tcp\n  \
wirelab report captures/romeo.pcap --format html -o romeo.html\n  \
wirelab report captures/romeo.pcap -x --layers tcp")]
    Report {
        /// The capture file (pcap or pcapng, any byte order or timestamp resolution).
        file: PathBuf,
        /// A tcpdump-style BPF filter, applied as libpcap applies it to live traffic,
        /// e.g. 'tcp port 80' or 'host 10.0.0.2'.
        #[arg(short = 'f', long = "filter", value_name = "BPF")]
        filter: Option<String>,
        #[command(flatten)]
        output: Output,
        /// Report only connection N (numbered from 0 in order of first packet, as
        /// tshark's tcp.stream), with every one of its segments.
        #[arg(long, value_name = "N")]
        connection: Option<u64>,
        /// Segment rows to keep in the whole report; beyond it connections keep
        /// their counts and analysis totals only.
        #[arg(long, value_name = "ROWS", default_value_t = 20_000)]
        segments: usize,
        /// Connections listed in full; the others are summed into the totals (status
        /// codes, how they ended, analysis counts), so a huge capture stays readable
        /// and its report bounded.
        #[arg(long, value_name = "N", default_value_t = 1_000)]
        list: usize,
        /// Save every HTTP response body in DIR (created if needed), as the course saves
        /// cover3.jpg: named CONNECTION-RESPONSE-NAME from the URL's last segment, never
        /// outside DIR, never through a symlink, never over an existing file.
        #[arg(long, value_name = "DIR")]
        extract: Option<PathBuf>,
        /// With --extract: replace existing files of the same name.
        #[arg(long, requires = "extract")]
        force: bool,
    },
    /// Replay a saved capture at the pace it was captured (or faster, or one packet per
    /// key press), one line per packet, so a class watches the handshake happen; then
    /// print the report.
    #[command(
        after_help = "Examples:\n  wirelab replay captures/romeo.pcap --step\n  \
wirelab replay captures/cover3.pcap --speed 0.01\n\n\
With --step: Enter or Space shows the next packet, q shows the rest at once."
    )]
    Replay {
        /// The capture file.
        file: PathBuf,
        /// Pace: 1 is as captured, 10 ten times faster, 0.1 ten times slower.
        #[arg(long, value_name = "N", default_value_t = 1.0, conflicts_with = "step")]
        speed: f64,
        /// One packet per key press (needs a terminal).
        #[arg(long)]
        step: bool,
        /// A tcpdump-style BPF filter.
        #[arg(short = 'f', long = "filter", value_name = "BPF")]
        filter: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Explain a term of the report (retransmission, super-segment, bare-lf, rtt, ...);
    /// without TERM, list them all.
    #[command(after_help = "Examples:\n  wirelab explain super-segment\n  wirelab explain recv")]
    Explain {
        /// The term, as the report writes it.
        term: Option<String>,
    },
    /// The well-known TCP ports of the course (SSH 22, DNS 53, HTTP 80, POP 110, IMAP
    /// 143, HTTPS 443, ...) and what each is for.
    Ports,
    /// Capture live on an interface: one line per packet as it arrives, then the full
    /// report when the capture stops (Ctrl-C, SIGTERM, -c, --duration, or the end of
    /// COMMAND). Needs capture privileges (sudo); they are dropped before the first
    /// packet is read, and COMMAND runs as the user who ran sudo.
    #[command(
        after_help = "Examples:\n  sudo wirelab capture -i lo -f 'tcp port 8080'\n  \
sudo wirelab capture -i lo -f 'tcp port 8080' -w fetch.pcap -- python3 socket1.py\n  \
sudo wirelab capture -i eth0 -c 50 --format json -o report.json"
    )]
    Capture {
        /// Interface to capture on (see `wirelab interfaces`).
        #[arg(short = 'i', long = "interface", value_name = "IFACE")]
        interface: String,
        /// A tcpdump-style BPF filter, attached in the kernel.
        #[arg(short = 'f', long = "filter", value_name = "BPF")]
        filter: Option<String>,
        /// Also save every packet to FILE (pcap, readable by tshark and Wireshark; with
        /// --trace, rewritten as pcapng with the command's calls at the end).
        #[arg(short = 'w', long = "write", value_name = "FILE")]
        write: Option<PathBuf>,
        /// Stop after COUNT packets.
        #[arg(short = 'c', long = "count", value_name = "COUNT")]
        count: Option<u64>,
        /// Stop after SECS seconds.
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,
        /// Bytes kept of each packet.
        #[arg(
            short = 's',
            long = "snaplen",
            value_name = "SNAPLEN",
            default_value_t = 262_144
        )]
        snaplen: i32,
        /// Trace COMMAND's socket calls (ptrace with a seccomp filter): its recv() and
        /// send() calls are joined to the segments in the report, and -w keeps them in
        /// the file (pcapng).
        #[arg(long, requires = "command")]
        trace: bool,
        #[command(flatten)]
        output: Output,
        /// A command to run (as the invoking user) while capturing; the capture stops
        /// shortly after it exits.
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// List the network interfaces: addresses, MAC, MTU, state, and which one is loopback.
    Interfaces,
    /// Run the built-in course web server (plays data.pr4e.org offline): /romeo.txt,
    /// /cover3.jpg, /page1.htm, /intro-short.txt, a 302 at /old, a 404 for anything else.
    #[command(after_help = "Example:\n  wirelab serve --listen 127.0.0.1:8080\n  \
wirelab fetch http://data.pr4e.org/romeo.txt --connect 127.0.0.1:8080")]
    Serve {
        /// Address and port to listen on.
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// The course's socket client: connect, send `GET URL HTTP/1.0` and a blank line,
    /// recv() until the server closes, while capturing the connection; then report it
    /// with every recv() joined to the segments that carried its bytes. Needs capture
    /// privileges (sudo).
    #[command(
        after_help = "Examples:\n  sudo wirelab fetch http://data.pr4e.org/romeo.txt --connect 127.0.0.1:8080\n  \
sudo wirelab fetch http://data.pr4e.org/cover3.jpg --connect 127.0.0.1:8080 --recv 5120 --mss 1000 --save-body cover3.jpg"
    )]
    Fetch {
        /// The URL; it is sent as is in the request line, as the course does.
        url: String,
        /// recv() buffer size in bytes.
        #[arg(long = "recv", value_name = "BYTES", default_value_t = 512)]
        recv: usize,
        /// Set TCP_MAXSEG: segments of at most N bytes, so segmentation shows even on loopback.
        #[arg(long, value_name = "N")]
        mss: Option<u32>,
        /// Connect to ADDR:PORT instead of the URL's host (e.g. the built-in server).
        #[arg(long, value_name = "ADDR:PORT")]
        connect: Option<SocketAddr>,
        /// End the request with \n\n instead of \r\n\r\n, as a slip in the course notes does.
        #[arg(long)]
        bare_lf: bool,
        /// Send only the path (GET /romeo.txt) instead of the whole URL: some servers
        /// (python's http.server) do not accept the course's absolute URL.
        #[arg(long)]
        origin_form: bool,
        /// Interface to capture on (default: loopback for a local server, else any).
        #[arg(short = 'i', long = "interface", value_name = "IFACE")]
        interface: Option<String>,
        /// Save the capture to FILE (pcapng, every recv() noted on the frames that
        /// carried its bytes, for `wirelab report FILE` in class).
        #[arg(short = 'w', long = "write", value_name = "FILE")]
        write: Option<PathBuf>,
        /// Save what follows the blank line (\r\n\r\n) to FILE, as the course does for cover3.jpg.
        #[arg(long, value_name = "FILE")]
        save_body: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// Run a program in the course's network, on this machine: a fresh network namespace
    /// for it, one router, and the course server's namespace with data.pr4e.org (and
    /// www.dr-chuck.com, www.py4e.com, www.pythonlearn.com) served by wirelab's web and
    /// name servers. Segments are wire-sized (MTU 1500 by default, offloads off); the
    /// link can be slowed and made to lose segments. The program runs unchanged, as the
    /// user who ran sudo (never root), with the terminal, traced: every recv() and
    /// send() it makes is joined to the segments that carried its bytes. The capture on
    /// its interface is reported when it ends. Needs root for the namespaces: sudo
    /// wirelab lab -- ... Nothing on the host is changed, and nothing is left behind,
    /// however it ends.
    #[command(after_help = lab_after_help())]
    Lab {
        /// MTU of every link of the lab (576 to 9000).
        #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u32).range(576..=9000))]
        mtu: u32,
        /// Rate of the link, with the kernel's token bucket (tbf): e.g. 2mbit, 500kbit.
        #[arg(long, value_name = "RATE", value_parser = wirelab::lab::network::parse_rate)]
        rate: Option<u64>,
        /// Lose PCT per cent of the server's data segments at random, between the server
        /// and the router (nftables), so the server's TCP retransmits them.
        #[arg(long, value_name = "PCT", conflicts_with = "drop_every", value_parser = parse_pct)]
        loss: Option<f64>,
        /// Lose every Nth data segment of the server (deterministic: the same run loses
        /// the same segments).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..))]
        drop_every: Option<u32>,
        /// Delay each direction by MS milliseconds (netem, where the kernel has it).
        #[arg(long, value_name = "MS")]
        delay: Option<f64>,
        /// Run the program as USER (default: the user who ran sudo, else nobody).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Run the program untraced: no recv/send calls in the report (tracing stops the
        /// program at each socket call; the report says what that costs).
        #[arg(long)]
        no_trace: bool,
        /// Save the capture to FILE as pcapng, with the program's calls noted on the
        /// frames that carried their bytes, for `wirelab report FILE` in class (never
        /// over an existing file).
        #[arg(short = 'w', long = "write", value_name = "FILE")]
        write: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
        /// The program and its arguments, after --.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// The one-command lab: the course's fetches on the lab network (see `wirelab lab`):
    /// data.pr4e.org looked up at the lab's name server, /romeo.txt with recv(512) and
    /// /cover3.jpg with recv(5120) over MTU 1500 and a slowed link, so the recv() sizes
    /// differ from the segments'; then the report, and the capture saved. Needs root:
    /// sudo wirelab demo. Where namespaces cannot be made, it runs on loopback instead.
    #[command(
        after_help = "Examples:\n  sudo wirelab demo\n  sudo wirelab demo --rate 500kbit --drop-every 20\n  \
sudo wirelab demo --format html -o demo.html\n  sudo wirelab demo --loopback"
    )]
    Demo {
        /// Rate of the lab's link (tbf): slow enough that recv() returns what has
        /// arrived so far, in varying sizes.
        #[arg(long, value_name = "RATE", default_value = "4mbit", value_parser = wirelab::lab::network::parse_rate)]
        rate: u64,
        /// Lose every Nth data segment of the server, to see retransmissions.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..))]
        drop_every: Option<u32>,
        /// Run on loopback instead of the lab network (no namespaces; Linux then hands
        /// the capture super-segments).
        #[arg(long)]
        loopback: bool,
        /// On loopback: port of the built-in server (80 as in the course; another if 80
        /// is taken).
        #[arg(long, default_value_t = 80)]
        port: u16,
        /// On loopback: MSS of the picture's connection.
        #[arg(long, default_value_t = 1000)]
        mss: u32,
        /// Where to save the capture, as pcapng with every recv() noted on its frames
        /// (never overwrites: a free name is chosen).
        #[arg(
            short = 'w',
            long = "write",
            value_name = "FILE",
            default_value = "wirelab-demo.pcapng"
        )]
        write: PathBuf,
        #[command(flatten)]
        output: Output,
    },
}

/// The examples and what this kernel supports, for `wirelab lab --help`.
fn lab_after_help() -> String {
    format!(
        "Examples:\n  sudo wirelab lab -- python3 socket1.py\n  \
sudo wirelab lab -w class.pcapng -- python3 socket1.py   (then, anywhere: wirelab report class.pcapng)\n  \
sudo wirelab lab --rate 2mbit --drop-every 5 -- python3 urljpeg.py\n  \
sudo wirelab lab -- telnet data.pr4e.org 80\n  \
sudo wirelab lab --format html -o lab.html -- curl http://data.pr4e.org/page1.htm\n\n\
The network: the program at 10.80.0.2 (eth0, where the capture runs), a router at 10.80.0.1 \
and 10.80.1.1, the course server at 10.80.1.2 (web on port 80, DNS on port 53). Other names \
than the course's get NXDOMAIN. The exit status is the program's.\n\n\
This kernel:\n{}",
        wirelab::lab::network::KernelSupport::probe().help()
    )
}

fn parse_pct(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(p) if p > 0.0 && p < 100.0 => Ok(p),
        _ => Err(format!(
            "{s}: give a per cent above 0 and below 100, e.g. 5"
        )),
    }
}

/// Exit codes: 0 success, 1 failure after the report (cut file, failed command),
/// 2 bad input or usage, 3 no privilege to capture.
const EXIT_FAIL: u8 = 1;
const EXIT_INPUT: u8 = 2;
const EXIT_PRIVILEGE: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Report {
            file,
            filter,
            output,
            connection,
            segments,
            list,
            extract,
            force,
        } => report_file(
            &file,
            filter.as_deref(),
            &output,
            Options {
                only_connection: connection,
                segment_budget: segments,
                max_listed_connections: list,
                max_listed_exchanges: list.saturating_mul(20),
                extract: extract.map(|d| (d, force)),
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
            capture(
                &opts,
                write.as_deref(),
                count,
                duration,
                &output,
                &command,
                trace,
            )
        }
        Command::Interfaces => interfaces(),
        Command::Replay {
            file,
            speed,
            step,
            filter,
            output,
        } => replay(&file, speed, step, filter.as_deref(), &output),
        Command::Explain { term } => explain(term.as_deref()),
        Command::Ports => ports(),
        Command::Serve { listen } => serve(listen),
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
            fetch(
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
            rate,
            loss,
            drop_every,
            delay,
            user,
            no_trace,
            write,
            output,
            command,
        } => lab_command(
            wirelab::lab::run::LabOptions {
                link: wirelab::lab::network::LinkOptions {
                    mtu,
                    rate_bps: rate,
                    loss_pct: loss,
                    drop_every,
                    delay_ms: delay,
                },
                save: write,
                user,
                trace: !no_trace,
            },
            command,
            &output,
        ),
        Command::Demo {
            rate,
            drop_every,
            loopback,
            port,
            mss,
            write,
            output,
        } => {
            let why_not = if loopback {
                None
            } else {
                wirelab::lab::run::available().err()
            };
            match why_not {
                None if !loopback => match demo_lab(rate, drop_every, &write, &output) {
                    Err(why) => {
                        eprintln!(
                            "wirelab demo: the lab network could not be made ({why}); the demo \
runs on loopback instead"
                        );
                        demo(port, mss, &write, &output)
                    }
                    Ok(code) => code,
                },
                Some(why) => {
                    eprintln!(
                        "wirelab demo: no lab network ({why}); the demo runs on loopback instead"
                    );
                    demo(port, mss, &write, &output)
                }
                None => demo(port, mss, &write, &output),
            }
        }
    }
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("wirelab: {message}");
    ExitCode::from(code)
}

fn live_fail(e: &LiveError) -> ExitCode {
    let code = match e {
        LiveError::NoPermission { .. } => EXIT_PRIVILEGE,
        LiveError::Capture(_) => EXIT_FAIL,
        _ => EXIT_INPUT,
    };
    fail(code, e)
}

fn lab_fail(e: &LabError) -> ExitCode {
    match e {
        LabError::Live(e) => live_fail(e),
        LabError::NoPrivilege(m) => fail(EXIT_PRIVILEGE, m),
        LabError::NoNetwork(m) => fail(EXIT_FAIL, m),
        LabError::Other(m) => fail(EXIT_FAIL, m),
    }
}

/// The report's destination, opened now (before privileges are dropped, so that the
/// file belongs to the invoking user).
fn open_output(output: &Output) -> Result<Option<File>, ExitCode> {
    output
        .output
        .as_deref()
        .map(session::create_for_target)
        .transpose()
        .map_err(|e| fail(EXIT_INPUT, e))
}

/// Writes the report; a closed pipe is not an error.
fn emit(report: &Report, output: &Output, file: Option<File>) -> Result<(), ExitCode> {
    let stdout = io::stdout();
    let mut out: Box<dyn Write> = match file {
        Some(f) => Box::new(BufWriter::new(f)),
        None => Box::new(BufWriter::new(stdout.lock())),
    };
    let view = output.view();
    let written = match output.format {
        Format::Table => render::table::write(report, &view, &mut out),
        Format::Json => render::json::write(report, &mut out),
        Format::Html => render::html::write(report, &view, &mut out),
        Format::Har => render::har::write(report, &mut out),
        Format::Jsonl => render::jsonl::write(report, &mut out),
    }
    .and_then(|_| out.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(ExitCode::SUCCESS),
        Err(e) => Err(fail(EXIT_FAIL, format!("writing the report: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// Writes a saved capture's report; a file cut mid-record still gets its report, then
/// exit code 1 with the reason.
fn finish_file_report(
    report: &Report,
    file: &Path,
    output: &Output,
    out: Option<File>,
) -> ExitCode {
    if let Err(code) = emit(report, output, out) {
        return code;
    }
    file_report_status(report, file)
}

/// After a file's report is written: what --extract saved, and the exit status (1 for
/// a stopped --extract or a file cut mid-record).
fn file_report_status(report: &Report, file: &Path) -> ExitCode {
    if let Some(dir) = &report.source.extracted_to {
        let n = report.source.extracted_files.unwrap_or(0);
        eprintln!("wirelab: saved {n} response bodies in {dir}");
    }
    if let Some(e) = &report.source.extract_error {
        return fail(EXIT_FAIL, format!("--extract stopped: {e}"));
    }
    if let Some(e) = &report.source.read_error {
        return fail(
            EXIT_FAIL,
            format!(
                "{}: {e}; the report covers the frames before it",
                file.display()
            ),
        );
    }
    ExitCode::SUCCESS
}

/// A progress bar on standard error for a big file read to a report: bytes read,
/// frames, connections, rate. None when standard error is not a terminal or the file is
/// small.
fn progress_bar(file: &Path) -> Option<(indicatif::ProgressBar, report::ProgressFn)> {
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
const PROGRESS_FROM: u64 = 64 << 20;

/// `report --format jsonl`: every connection written as it closes, so the memory used
/// does not grow with the file; then the DNS lookups and the summary.
fn report_file_streamed(
    file: &Path,
    filter: Option<&str>,
    output: &Output,
    opts: Options,
) -> ExitCode {
    use std::sync::{Arc, Mutex};
    let out = match open_output(output) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let writer: Box<dyn Write + Send> = match out {
        Some(f) => Box::new(BufWriter::new(f)),
        None => Box::new(BufWriter::new(io::stdout())),
    };
    let writer = Arc::new(Mutex::new((writer, None::<io::Error>)));
    let sink_writer = writer.clone();
    let sink = Box::new(move |c: wirelab::report::model::Connection| {
        let mut w = sink_writer.lock().expect("one thread writes");
        if w.1.is_none()
            && let Err(e) = render::jsonl::connection(&c, &mut w.0)
        {
            w.1 = Some(e);
        }
    });
    let opts = Options {
        max_listed_connections: usize::MAX,
        max_listed_exchanges: usize::MAX,
        segment_budget: 0,
        ..opts
    };
    let (bar, progress) = progress_bar(file).unzip();
    let read = report::from_file_with_progress(file, filter, opts, progress, Some(sink));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = match read {
        Ok(r) => r,
        Err(e) => return fail(EXIT_INPUT, format!("{}: {e}", file.display())),
    };
    let mut w = writer.lock().expect("one thread writes");
    let (out, error) = &mut *w;
    let written = match error.take() {
        Some(e) => Err(e),
        None => render::jsonl::tail(&report, out).and_then(|_| out.flush()),
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(EXIT_FAIL, format!("writing the report: {e}")),
        Ok(()) => file_report_status(&report, file),
    }
}

fn report_file(file: &Path, filter: Option<&str>, output: &Output, opts: Options) -> ExitCode {
    if output.format == Format::Jsonl && opts.only_connection.is_none() {
        return report_file_streamed(file, filter, output, opts);
    }
    let connection = opts.only_connection;
    let (bar, progress) = progress_bar(file).unzip();
    let read = report::from_file_with_progress(file, filter, opts, progress, None);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = match read {
        Ok(r) => r,
        Err(e) => return fail(EXIT_INPUT, format!("{}: {e}", file.display())),
    };
    if let Some(n) = connection
        && report.connections.is_empty()
    {
        return fail(
            EXIT_INPUT,
            format!(
                "{}: there is no connection {n}; it has {} (numbered from 0)",
                file.display(),
                report.totals.connections
            ),
        );
    }
    let out = match open_output(output) {
        Ok(o) => o,
        Err(code) => return code,
    };
    finish_file_report(&report, file, output, out)
}

/// Prints packet lines as they arrive: on stdout when the report goes to the terminal
/// as text, on stderr when stdout carries JSON.
fn line_printer(output: &Output) -> impl FnMut(&PacketLine) + Send + 'static {
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

fn capture(
    opts: &LiveOptions,
    write: Option<&Path>,
    count: Option<u64>,
    duration: Option<f64>,
    output: &Output,
    command: &[String],
    trace: bool,
) -> ExitCode {
    let out = match open_output(output) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let session = match Session::open(opts, write) {
        Ok(s) => s,
        Err(e) => return live_fail(&e),
    };
    let dropped = match session.drop_privileges() {
        Ok(d) => d,
        Err(e) => return fail(EXIT_FAIL, e),
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
    let running = session.start(output.options(), count, duration, line_printer(output));
    let mut status_code = ExitCode::SUCCESS;
    let mut traced = None;
    let result = if let Some((program, args)) = command.split_first() {
        let stop = running.stopper();
        let mut cmd = std::process::Command::new(program);
        cmd.args(args);
        let ran = if trace {
            run_traced(&mut cmd).map(|(status, t)| {
                traced = Some(t);
                status
            })
        } else {
            cmd.status()
        };
        match ran {
            Ok(status) => {
                eprintln!("wirelab: {program} exited ({status})");
                if !status.success() {
                    status_code = ExitCode::from(EXIT_FAIL);
                }
            }
            Err(e) => {
                eprintln!("wirelab: cannot run {program}: {e}");
                status_code = ExitCode::from(EXIT_FAIL);
            }
        }
        std::thread::sleep(lab::GRACE);
        let _ = stop.send(StopReason::Done);
        running.wait()
    } else {
        running.wait()
    };
    let mut result = result;
    if let Some(t) = &traced {
        wirelab::report::recv::attach(&mut result.report, t);
        if let Some(p) = write {
            lab::keep_trace(p, &result.report, t);
        }
    }
    eprintln!("wirelab: {}", result.stop);
    if let Some(e) = &result.report.source.read_error {
        eprintln!("wirelab: {e}");
        status_code = ExitCode::from(EXIT_FAIL);
    }
    if let Err(code) = emit(&result.report, output, out) {
        return code;
    }
    if let Some(p) = write {
        eprintln!(
            "wirelab: capture saved to {} (replay: wirelab report {})",
            p.display(),
            p.display()
        );
    }
    status_code
}

/// Runs `cmd` traced to its end (see `wirelab::trace::ptrace`).
fn run_traced(
    cmd: &mut std::process::Command,
) -> io::Result<(std::process::ExitStatus, wirelab::trace::Trace)> {
    use wirelab::trace::ptrace;
    let cost = ptrace::calibrate();
    ptrace::prepare(cmd, ptrace::filter().map_err(io::Error::other)?);
    let child = cmd.spawn()?;
    let (status, mut trace) = ptrace::trace(child.id(), || {})?;
    trace.cost_us_per_call = cost;
    Ok((status, trace))
}

fn replay(file: &Path, speed: f64, step: bool, filter: Option<&str>, output: &Output) -> ExitCode {
    if !(speed > 0.0 && speed.is_finite()) {
        return fail(
            EXIT_INPUT,
            format!("--speed {speed}: give a pace above 0 (1 is as captured, 10 ten times faster)"),
        );
    }
    let term = console::Term::stdout();
    if step && !(term.is_term() && io::stdin().is_terminal()) {
        return fail(
            EXIT_INPUT,
            "--step waits for a key press and needs a terminal; use --speed N to replay without one",
        );
    }
    let out = match open_output(output) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if step {
        eprintln!("wirelab: Enter or Space for the next packet, q for the rest at once");
    }
    let mut print = line_printer(output);
    let mut last_ts: Option<i64> = None;
    let mut stepping = step;
    let mut each = |line: &PacketLine| {
        let ts = line.segment.ts_us;
        if stepping {
            match term.read_key() {
                Ok(console::Key::Char('q' | 'Q')) | Ok(console::Key::Escape) | Err(_) => {
                    stepping = false
                }
                _ => {}
            }
        } else if !step && let Some(prev) = last_ts {
            // Long silences are cut to 5 s: the class should not wait for a timeout.
            let wait = ((ts - prev).max(0) as f64 / 1e6 / speed).min(5.0);
            std::thread::sleep(Duration::from_secs_f64(wait));
        }
        last_ts = Some(ts);
        print(line);
    };
    let report = match report::replay_file(file, filter, output.options(), &mut each) {
        Ok(r) => r,
        Err(e) => return fail(EXIT_INPUT, format!("{}: {e}", file.display())),
    };
    finish_file_report(&report, file, output, out)
}

fn explain(term: Option<&str>) -> ExitCode {
    use wirelab::glossary;
    match term {
        Some(t) => match glossary::lookup(t) {
            Some(entry) => {
                println!("{}: {}\n", entry.name, entry.short);
                println!("{}", render::table::wrap(entry.long, 80, 0).join("\n"));
                ExitCode::SUCCESS
            }
            None => fail(
                EXIT_INPUT,
                format!(
                    "no explanation of '{t}'; the terms are: {}",
                    glossary::TERMS
                        .iter()
                        .map(|t| t.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        },
        None => {
            for entry in glossary::TERMS {
                println!("{:<24} {}", entry.name, entry.short);
            }
            println!("\nwirelab explain TERM says more about one of them.");
            ExitCode::SUCCESS
        }
    }
}

fn ports() -> ExitCode {
    use comfy_table::{Table, presets::ASCII_BORDERS_ONLY_CONDENSED};
    let mut t = Table::new();
    t.load_style(ASCII_BORDERS_ONLY_CONDENSED)
        .force_no_tty()
        .set_header(vec!["port", "service", "what it is for"]);
    for (port, name, what) in wirelab::ports::WELL_KNOWN {
        t.add_row(vec![port.to_string(), name.to_string(), what.to_string()]);
    }
    println!("{t}");
    println!(
        "A server listens on its service's well-known port; the client's port is an ephemeral one \n\
the operating system picks (32768-60999 on Linux). wirelab explain port says more."
    );
    ExitCode::SUCCESS
}

fn interfaces() -> ExitCode {
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
    println!("{t}");
    println!(
        "capture on one of these with: sudo wirelab capture -i NAME (\"any\" captures on all of them)"
    );
    ExitCode::SUCCESS
}

fn serve(listen: SocketAddr) -> ExitCode {
    let server = match Server::bind(listen) {
        Ok(s) => s,
        Err(e) => return fail(EXIT_INPUT, e),
    };
    let addr = server.local_addr();
    eprintln!(
        "wirelab: the course server listens on http://{addr}/ (romeo.txt, cover3.jpg, page1.htm, \
intro-short.txt; /old redirects); try: wirelab fetch http://data.pr4e.org/romeo.txt --connect {addr}"
    );
    let log: lab::server::LogFn = std::sync::Arc::new(|line: &str| eprintln!("{line}"));
    server.serve(&std::sync::atomic::AtomicBool::new(false), Some(log));
    ExitCode::SUCCESS
}

fn fetch(
    url: &str,
    opts: &FetchOptions,
    interface: Option<String>,
    write: Option<&Path>,
    save_body: Option<&Path>,
    output: &Output,
) -> ExitCode {
    let prepared = match client::prepare(url, opts) {
        Ok(p) => p,
        Err(e) => return fail(EXIT_INPUT, e),
    };
    let out = match open_output(output) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let body_file = match save_body.map(session::create_for_target).transpose() {
        Ok(f) => f,
        Err(e) => return fail(EXIT_INPUT, e),
    };
    let remote = prepared.remote();
    let interface = interface.unwrap_or_else(|| lab::interface_for(remote.ip()));
    let filter = format!(
        "tcp and host {} and port {} and port {}",
        remote.ip(),
        remote.port(),
        prepared.local_port()
    );
    let run = match lab::capture_fetches(
        &interface,
        filter,
        write,
        None,
        vec![prepared],
        output.options(),
        line_printer(output),
    ) {
        Ok(r) => r,
        Err(e) => return lab_fail(&e),
    };
    if let Err(code) = emit(&run.live.report, output, out) {
        return code;
    }
    let fetched = &run.fetches[0];
    eprintln!(
        "wirelab: {} recv({}) calls returned {} bytes; {}",
        fetched.recv_sizes().len(),
        opts.recv_size,
        fetched.received.len(),
        run.dropped.description
    );
    if let (Some(mut file), Some(path)) = (body_file, save_body) {
        match client::body_after_blank_line(&fetched.received) {
            Some(body) => {
                if let Err(e) = file.write_all(body) {
                    return fail(EXIT_FAIL, format!("writing {}: {e}", path.display()));
                }
                eprintln!(
                    "wirelab: saved the {} bytes after the blank line to {}",
                    body.len(),
                    path.display()
                );
            }
            None => {
                return fail(
                    EXIT_FAIL,
                    "the response has no blank line (\\r\\n\\r\\n): no body saved",
                );
            }
        }
    }
    if let Some(p) = write {
        eprintln!("wirelab: capture saved to {}", p.display());
    }
    ExitCode::SUCCESS
}

fn lab_command(
    opts: wirelab::lab::run::LabOptions,
    command: Vec<String>,
    output: &Output,
) -> ExitCode {
    use wirelab::lab::run::{self, Program};
    if let Some(p) = opts.save.as_deref().filter(|p| p.exists()) {
        return fail(
            EXIT_INPUT,
            format!(
                "{} exists, and wirelab lab never writes a capture over a file: choose another \
name, or remove it first",
                p.display()
            ),
        );
    }
    let out = match open_output(output) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let save = opts.save.clone();
    eprintln!(
        "wirelab lab: running `{}` in the lab network (data.pr4e.org is the course server at \
10.80.1.2); the report follows when it ends",
        command.join(" ")
    );
    let outcome = match run::run(&opts, Program::Command(command), output.options(), |_| {}) {
        Ok(o) => o,
        Err(e) => {
            if let Some(p) = &save {
                remove_empty_capture(p);
            }
            return lab_fail(&e);
        }
    };
    if let Err(code) = emit(&outcome.live.report, output, out) {
        return code;
    }
    if let Some(p) = &save {
        eprintln!(
            "wirelab lab: capture saved to {} (replay: wirelab report {})",
            p.display(),
            p.display()
        );
    }
    // The program's exit status is passed on (128 + N for a signal, as shells do).
    match outcome.status {
        Some(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
            (Some(c), _) => ExitCode::from(c.clamp(0, 255) as u8),
            (None, Some(sig)) => ExitCode::from((128 + sig).clamp(0, 255) as u8),
            _ => ExitCode::from(EXIT_FAIL),
        },
        None => ExitCode::SUCCESS,
    }
}

/// A savefile made for a run that then failed holds only its header: remove it.
fn remove_empty_capture(path: &Path) {
    if std::fs::metadata(path).is_ok_and(|m| m.len() <= 24) {
        let _ = std::fs::remove_file(path);
    }
}

/// The demo on the lab network; `Err` when the network cannot be made here (the
/// caller falls back to loopback).
fn demo_lab(
    rate: u64,
    drop_every: Option<u32>,
    write: &Path,
    output: &Output,
) -> Result<ExitCode, String> {
    use wirelab::lab::network::{self, LinkOptions};
    use wirelab::lab::run::{self, LabOptions, Program};
    let out = match open_output(output) {
        Ok(o) => o,
        Err(code) => return Ok(code),
    };
    let save = session::fresh_path(write);
    let opts = LabOptions {
        link: LinkOptions {
            rate_bps: Some(rate),
            drop_every,
            ..LinkOptions::default()
        },
        save: Some(save.clone()),
        user: None,
        trace: false,
    };
    eprintln!(
        "wirelab demo: the lab network (MTU 1500, {}): looking up data.pr4e.org, then fetching \
/romeo.txt with recv(512) and /cover3.jpg with recv(5120)",
        network::rate_words(rate)
    );
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
        Err(LabError::NoNetwork(why)) => return Err(why),
        Err(e) => {
            remove_empty_capture(&save);
            return Ok(lab_fail(&e));
        }
    };
    if let Err(code) = emit(&outcome.live.report, output, out) {
        return Ok(code);
    }
    for f in &outcome.fetches {
        let all = f.recv_sizes();
        let sizes: Vec<String> = all.iter().take(12).map(|n| n.to_string()).collect();
        eprintln!(
            "wirelab demo: {} recv() calls returned {} bytes: {}{}",
            all.len(),
            f.received.len(),
            sizes.join(", "),
            if all.len() > 12 { ", ..." } else { "" }
        );
    }
    eprintln!(
        "wirelab demo: {}; capture saved to {} (replay it any time: wirelab report {})",
        outcome.dropped.description,
        save.display(),
        save.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn demo(port: u16, mss: u32, write: &Path, output: &Output) -> ExitCode {
    let ip = std::net::Ipv4Addr::LOCALHOST;
    let server = match Server::bind((ip, port).into()).or_else(|e| {
        // Port 80 taken (or not ours to take): any free port shows the same thing.
        eprintln!(
            "wirelab demo: port {port} cannot be used ({}); the server takes a free port instead",
            e.split(';').next().unwrap_or(&e)
        );
        Server::bind((ip, 0).into())
    }) {
        Ok(s) => s,
        Err(e) => return fail(EXIT_FAIL, e),
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
        (Err(e), _) | (_, Err(e)) => return fail(EXIT_FAIL, e),
    };
    let out = match open_output(output) {
        Ok(o) => o,
        Err(code) => return code,
    };
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
            return fail(
                EXIT_PRIVILEGE,
                format!(
                    "the demo captures on {interface} and that needs privileges ({message}).\n  \
Run it with sudo:                     sudo {exe} demo\n  \
or grant the binary capture rights:   sudo scripts/grant-capture.sh, then {exe} demo\n  \
or study the bundled capture instead: {exe} report captures/romeo.pcap",
                    exe = std::env::args().next().unwrap_or_else(|| "wirelab".into())
                ),
            );
        }
        Err(e) => return lab_fail(&e),
    };
    if let Err(code) = emit(&run.live.report, output, out) {
        return code;
    }
    eprintln!(
        "wirelab demo: {}; capture saved to {} (replay it any time: wirelab report {})",
        run.dropped.description,
        save.display(),
        save.display()
    );
    if io::stderr().is_terminal() {
        eprintln!(
            "wirelab demo: open it in Wireshark too: wireshark {}",
            save.display()
        );
    }
    ExitCode::SUCCESS
}
