//! The command line's definitions (clap): every command, its options and their
//! defaults, stated once here.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use wirelab::render;
use wirelab::report::{Limits, Options};

#[derive(Parser)]
#[command(
    name = "wirelab",
    version,
    // Help for a beginner's 80-column terminal, however wide the terminal is.
    max_term_width = 80,
    about = "A packet-level network lab: see the IP, TCP and HTTP layers of a web fetch",
    long_about = "wirelab captures live (or reads a saved capture) and shows every layer of \
each TCP connection in it: addresses and ports, the handshake and its round-trip time, every \
segment with relative sequence numbers and plain-language analysis, the reassembled byte \
streams, and the HTTP requests and responses they carry."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Layered text for the terminal.
    Table,
    /// The JSON report (its fields are a stable contract, docs/json.md).
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
pub enum Color {
    /// Colours and Unicode on a terminal, plain ASCII otherwise (and when NO_COLOR is set).
    Auto,
    Always,
    Never,
}

/// Where and how the report is written.
#[derive(Args)]
pub struct Output {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the report to FILE instead of standard output (never overwrites a capture).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Layers to show, top to bottom: any of http,tcp,ip,link,recv (the program's
    /// recv() calls against the segments) [default: all]. Asks for the full report.
    #[arg(long, value_name = "LIST", value_parser = render::Layers::parse)]
    pub layers: Option<render::Layers>,
    /// The full layer report (lab, demo, fetch and capture -- CMD end with the story
    /// alone unless asked): every layer, the segments and the ladder, then the story.
    #[arg(long)]
    pub full: bool,
    /// The story alone: one screen per run, each connection in time order (name
    /// lookup, handshake, what was sent, the recv() calls against the segments, how it
    /// ended, the beginner's mistakes it shows). What lab and demo print by default.
    #[arg(long, conflicts_with = "full")]
    pub story: bool,
    /// Set by the commands that run something (lab, demo, fetch, capture -- CMD): their
    /// text output is the story unless --full, --layers or --verbose asks for more.
    #[arg(skip)]
    pub tells_story: bool,
    /// Every header field of every frame, and the whole ladder.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Each frame's header bytes in hex (link, IP and TCP headers; implies --verbose).
    #[arg(short = 'x', long = "hex")]
    pub hex: bool,
    /// Also compute each listed stream's SHA-256 (the JSON's `streams.*.sha256`, ""
    /// without it), to compare with tshark's Follow TCP Stream or with every byte a
    /// program's recv() returned. One more pass over every byte: the bodies' own
    /// SHA-256 (`body_sha256`, what --extract saves) is always computed.
    #[arg(long)]
    pub stream_hash: bool,
    /// Colours in the terminal report.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: Color,
    /// Fit the text report to N columns (80 to 100; default: the terminal's width, or
    /// 100 when the report goes to a file or a pipe).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(80..=100))]
    pub width: Option<u16>,
}

impl Output {
    pub fn view(&self) -> render::View {
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
            layers: self.layers.unwrap_or(render::Layers::ALL),
            verbose: self.verbose || self.hex,
            hex: self.hex,
            color,
            width: self.width(),
        }
    }

    /// The columns of the terminal the report goes to (80 to 100), or 100 when it goes
    /// to a file or a pipe.
    pub fn width(&self) -> usize {
        if self.output.is_some() && self.width.is_none() {
            return render::table::WIDTH;
        }
        self.width_on(&console::Term::stdout())
    }

    /// `--width`, else the columns of `term` (80 to 100) when it is a terminal, else 100.
    pub fn width_on(&self, term: &console::Term) -> usize {
        match self.width {
            Some(w) => w as usize,
            None if term.is_term() => (term.size().1 as usize).clamp(80, render::table::WIDTH),
            None => render::table::WIDTH,
        }
    }

    /// What the text output holds: the story, the full report, or both (the story
    /// last, where the student's eyes are when the run ends).
    pub fn depth(&self) -> Depth {
        let more = self.full || self.layers.is_some() || self.verbose || self.hex;
        match (self.story, more, self.tells_story) {
            (true, _, _) => Depth::Story,
            (false, true, true) => Depth::FullThenStory,
            (false, false, true) => Depth::Story,
            (false, _, false) => Depth::Full,
        }
    }

    /// The pipeline's options for what this output shows.
    pub fn options(&self) -> Options {
        Options {
            header_hex: self.hex,
            stream_hash: self.stream_hash,
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

/// What the text report holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    Story,
    Full,
    FullThenStory,
}

#[derive(Subcommand)]
pub enum Command {
    /// Replay a saved .pcap/.pcapng file: reassemble every TCP stream, pair every HTTP
    /// exchange, and print the layered report. Needs no network and no privileges.
    #[command(after_help = report_after_help())]
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
        #[arg(long, value_name = "ROWS", default_value_t = Limits::default().segment_rows)]
        segments: usize,
        /// Connections listed in full; the others are summed into the totals (status
        /// codes, how they ended, analysis counts), so a huge capture stays readable
        /// and its report bounded.
        /// `all` lists (and hashes the bodies of) every connection.
        #[arg(long, value_name = "N|all", default_value_t = Limits::default().listed_connections, value_parser = parse_list)]
        list: usize,
        /// Save every HTTP response body in DIR (created if needed), as the course saves
        /// cover3.jpg: named CONNECTION-RESPONSE-NAME from the URL's last segment, never
        /// outside DIR, never through a symlink, never over an existing file.
        #[arg(long, value_name = "DIR")]
        extract: Option<PathBuf>,
        /// With --extract: replace existing files of the same name.
        #[arg(long, requires = "extract")]
        force: bool,
        /// Decrypt TLS with the secrets in FILE (the NSS key log format that
        /// SSLKEYLOGFILE writes, as tshark's tls.keylog_file); secrets the capture
        /// carries (a pcapng Decryption Secrets Block) are used without it.
        #[arg(long, value_name = "FILE")]
        keylog: Option<PathBuf>,
    },
    /// Replay a saved capture at the pace it was captured (or faster, or one packet per
    /// key press), one line per packet, so a class watches the handshake happen; then
    /// print the report.
    #[command(after_help = replay_after_help())]
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
    #[command(after_help = capture_after_help())]
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
    /// /cover3.jpg, /page1.htm (and .html), /page2.htm, /intro-short.txt, /form.htm, an index
    /// at /, a 302 at /old, a 404 for anything else.
    #[command(after_help = "Bounds (so one client cannot starve the others):\n  \
a request head is due whole within 10 s of its wait (then 408 Request Timeout, however \
slowly it trickles); a kept-alive connection waits 5 s for its next request, 100 at most;\n  \
4,096 connections at once, 256 from one address (then 503 Service Unavailable with \
Retry-After: 1); heads of 8 KiB at most (then 431).\n  \
Measured: scripts/bench-serve.sh (1,000 held connections and 5,000 requests from 50 clients).\n\n\
Example:\n  wirelab serve --listen 127.0.0.1:8080\n  \
wirelab fetch http://data.pr4e.org/romeo.txt --connect 127.0.0.1:8080\n\n\
HTTPS (--tls): a certificate authority is made for this run and its certificate written \
to --ca; the server's certificate names the course's hosts. Trust it for one command:\n  \
wirelab serve --tls --listen 127.0.0.1:8443 --keylog keys.txt\n  \
curl --cacert wirelab-lab-ca.pem --connect-to data.pr4e.org:443:127.0.0.1:8443 https://data.pr4e.org/romeo.txt\n\
The key log (NSS format) decrypts a capture: wirelab report x.pcap --keylog keys.txt, \
or tshark -o tls.keylog_file:keys.txt.")]
    Serve {
        /// Address and port to listen on.
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Speak HTTPS: TLS 1.3 and 1.2 with a certificate from a CA made for this run.
        #[arg(long)]
        tls: bool,
        /// Where --tls writes the CA's certificate (PEM), for the client to trust.
        #[arg(
            long,
            value_name = "FILE",
            default_value = "wirelab-lab-ca.pem",
            requires = "tls"
        )]
        ca: PathBuf,
        /// Append every TLS session's secrets to FILE (the NSS key log format).
        #[arg(long, value_name = "FILE", requires = "tls")]
        keylog: Option<PathBuf>,
    },
    /// The course's socket client: connect, send `GET URL HTTP/1.0` and a blank line,
    /// recv() until the server closes, while capturing the connection; then report it
    /// with every recv() joined to the segments that carried its bytes. Needs capture
    /// privileges (sudo).
    #[command(after_help = fetch_after_help())]
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
    /// www.dr-chuck.com, dr-chuck.com, www.py4e.com, www.pythonlearn.com) served by wirelab's web and
    /// name servers. Segments are wire-sized (MTU 1500 by default, offloads off); the
    /// link can be slowed and made to lose segments. The program runs unchanged, as the
    /// user who ran sudo (never root), with the terminal, traced: every recv() and
    /// send() it makes is joined to the segments that carried its bytes. The capture on
    /// its interface is reported when it ends. Needs root for the namespaces: sudo
    /// wirelab lab -- ... Nothing on the host is changed, and nothing is left behind,
    /// however it ends.
    Lab {
        /// MTU of every link of the lab (576 to 9000).
        #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u32).range(576..=9000))]
        mtu: u32,
        #[command(flatten)]
        link: LinkArgs,
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
    #[command(after_help = demo_after_help())]
    Demo {
        #[command(flatten)]
        link: LinkArgs,
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

/// The examples and the report's bounds, for `wirelab report --help`.
fn report_after_help() -> String {
    format!(
        "Examples:\n  wirelab report captures/romeo.pcap\n  \
wirelab report big.pcapng -f 'tcp port 80' --format json > report.json\n  \
wirelab report big.pcapng --format jsonl > report.jsonl   (streamed, bounded memory)\n  \
wirelab report lab.pcap --connection 3 --layers http,tcp\n  \
wirelab report captures/romeo.pcap --format html -o romeo.html\n  \
wirelab report captures/romeo.pcap -x --layers tcp\n\n\
Bounds (memory stays bounded whatever the file; a bound that is reached is named in \
the report, with what it cut):\n{}",
        Limits::default().help()
    )
}

/// The report's bounds, for the `--help` of the commands that report what they capture
/// (capture, fetch, replay, lab, demo): the same as `report`'s, set by no option.
fn bounds_help() -> String {
    format!(
        "Bounds of the report (memory stays bounded however long it runs; a bound that is \
reached is named in the report, with what it cut; `wirelab report FILE` sets the listing \
ones with --list and --segments):\n{}",
        Limits::default().help_with(false)
    )
}

/// `wirelab replay --help`: examples, keys, bounds.
fn replay_after_help() -> String {
    format!(
        "Examples:\n  wirelab replay captures/romeo.pcap --step\n  \
wirelab replay captures/cover3.pcap --speed 0.01\n\n\
With --step: Enter or Space shows the next packet, q shows the rest at once.\n\n{}",
        bounds_help()
    )
}

/// `wirelab capture --help`: examples, bounds.
fn capture_after_help() -> String {
    format!(
        "Examples:\n  sudo wirelab capture -i lo -f 'tcp port 8080'\n  \
sudo wirelab capture -i lo -f 'tcp port 8080' -w fetch.pcap -- python3 socket1.py\n  \
sudo wirelab capture -i eth0 -c 50 --format json -o report.json\n\n{}",
        bounds_help()
    )
}

/// `wirelab fetch --help`: examples, bounds.
fn fetch_after_help() -> String {
    format!(
        "Examples:\n  sudo wirelab fetch http://data.pr4e.org/romeo.txt --connect 127.0.0.1:8080\n  \
sudo wirelab fetch http://data.pr4e.org/cover3.jpg --connect 127.0.0.1:8080 --recv 5120 --mss 1000 --save-body cover3.jpg\n\n{}",
        bounds_help()
    )
}

/// The command line, parsed. `wirelab lab --help` tells what this kernel supports, and
/// finding out reads and inflates its configuration (0.4 ms, a sixth of the start of
/// every command when it was part of the derived help): only a command line that names
/// the lab pays for it.
pub fn parse() -> Cli {
    let mut cmd = Cli::command();
    if std::env::args_os().any(|a| a == "lab") {
        cmd = cmd.mut_subcommand("lab", |c| c.after_help(lab_after_help()));
    }
    let matches = cmd.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut Cli::command()).exit())
}

/// The examples and what this kernel supports, for `wirelab lab --help`.
fn lab_after_help() -> String {
    format!(
        "Examples:\n  sudo wirelab lab -- python3 socket1.py\n  \
sudo wirelab lab -w class.pcapng -- python3 socket1.py   (then, anywhere: wirelab report class.pcapng)\n  \
sudo wirelab lab --rate 2mbit --drop-every 5 -- python3 urljpeg.py\n  \
sudo wirelab lab --rate full -- python3 urljpeg.py   (no rate limit: recv(5120) returns 5120 each time)\n  \
sudo wirelab lab --link satellite -- python3 socket1.py   (an RTT of 600 ms)\n  \
sudo wirelab lab --delay 40ms --jitter 10ms --loss 2 -- python3 urljpeg.py\n  \
sudo wirelab lab -- telnet data.pr4e.org 80\n  \
sudo wirelab lab --format html -o lab.html -- curl http://data.pr4e.org/page1.htm\n\n\
The network: the program at 10.80.0.2 (eth0, where the capture runs), a router at 10.80.0.1 \
and 10.80.1.1, the course server at 10.80.1.2 (web on port 80, DNS on port 53). Other names \
than the course's get NXDOMAIN. The exit status is the program's.\n\n\
The links (--link NAME):\n{}\n\n\
This kernel:\n{}\n\n{}\n\n{}",
        links_help(),
        wirelab::lab::network::KernelSupport::probe().help(),
        lab_bounds_help(),
        bounds_help()
    )
}

/// The examples and the links, for `wirelab demo --help`.
fn demo_after_help() -> String {
    format!(
        "Examples:\n  sudo wirelab demo\n  sudo wirelab demo --link satellite\n  \
sudo wirelab demo --rate 500kbit --drop-every 20\n  \
sudo wirelab demo --format html -o demo.html\n  sudo wirelab demo --loopback\n\n\
The links (--link NAME):\n{}\n\n{}\n\n{}",
        links_help(),
        lab_bounds_help(),
        bounds_help()
    )
}

/// The lab's own bounds (what it records beside the capture, its course server), for
/// `wirelab lab --help` and `wirelab demo --help`.
fn lab_bounds_help() -> String {
    use wirelab::lab::server;
    format!(
        "Bounds of the lab:\n  \
{:>9}  drops and reorders of the link listed (the rest counted)\n  \
{:>9}  data segments kept per end to compare both ends (the rest counted)\n  \
{:>9}  course server connections at once, {} per address (then 503)\n  \
{:>9}  of a request head the course server reads (then 431)",
        render::group(wirelab::trace::MAX_LINK_EVENTS as u64),
        render::group(wirelab::lab::both_ends::MAX_SEEN as u64),
        render::group(server::MAX_CONNECTIONS as u64),
        server::MAX_PER_CLIENT,
        format!("{} KiB", server::MAX_HEAD >> 10)
    )
}

/// One line per named link, for `--help`.
fn links_help() -> String {
    wirelab::lab::network::NAMED_LINKS
        .iter()
        .map(|l| format!("  {}", l.line()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A lab link's rate: bits per second, or None for full speed (`--rate full`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkRate(pub Option<u64>);

/// The lab's link: a named one, and figures that override its own.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "The link (between the program and the server)")]
pub struct LinkArgs {
    /// A link for class, by name; the options below change its figures. The names:
    /// lan, home (the default), mobile, satellite, lossy (their figures are listed
    /// below).
    #[arg(long, value_name = "NAME", default_value = wirelab::lab::network::DEFAULT_LINK, value_parser = parse_link_name)]
    pub link: &'static wirelab::lab::network::NamedLink,
    /// Rate, with the kernel's token bucket (tbf): e.g. 2mbit, 500kbit; `full` for no
    /// limit (recv(5120) then returns 5120 almost every time).
    #[arg(long, value_name = "RATE", value_parser = parse_link_rate)]
    pub rate: Option<LinkRate>,
    /// One-way delay, each direction (so the RTT grows by twice it): 40, 40ms, 0.3s.
    /// The router hands every packet to wirelab, which holds it (no netem needed).
    #[arg(long, value_name = "MS", value_parser = wirelab::lab::network::parse_ms)]
    pub delay: Option<f64>,
    /// Each packet's delay varies uniformly by up to MS either way (never more than
    /// the delay); packets still leave in order, as from a real router's queue.
    #[arg(long, value_name = "MS", value_parser = wirelab::lab::network::parse_ms)]
    pub jitter: Option<f64>,
    /// Lose PCT per cent of the server's data segments at random (the same choices
    /// each run), between the server and the program, so the server's TCP retransmits
    /// them; the report names each loss and its retransmission.
    #[arg(long, value_name = "PCT", conflicts_with = "drop_every", value_parser = parse_pct)]
    pub loss: Option<f64>,
    /// Lose every Nth data segment of the server (deterministic: the same run loses
    /// the same segments).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..))]
    pub drop_every: Option<u32>,
    /// Hold PCT per cent of the server's data segments back behind the next one, so
    /// they arrive out of order.
    #[arg(long, value_name = "PCT", value_parser = parse_pct)]
    pub reorder: Option<f64>,
    /// Where to capture: `client` (the program's eth0), or `both` (the server's eth0
    /// too, so a lost segment shows as sent by the server and never arrived, and each
    /// segment's one-way time is measured; with -w the server's side is saved beside,
    /// as NAME-server.pcap)
    #[arg(long, value_name = "WHERE", default_value = "client", value_parser = ["client", "both"])]
    pub capture: String,
}

impl LinkArgs {
    /// The named link's figures with the options given on top.
    pub fn options(&self, mtu: u32) -> wirelab::lab::network::LinkOptions {
        let mut o = self.link.options();
        o.mtu = mtu;
        if let Some(r) = &self.rate {
            o.rate_bps = r.0;
        }
        if let Some(d) = self.delay {
            o.delay_ms = Some(d);
        }
        if let Some(j) = self.jitter {
            o.jitter_ms = Some(j);
        }
        if self.drop_every.is_some() {
            o.drop_every = self.drop_every;
            o.loss_pct = None;
        }
        if self.loss.is_some() {
            o.loss_pct = self.loss;
        }
        o.reorder_pct = self.reorder;
        o.capture_both = self.capture == "both";
        o
    }
}

/// `--link`: one of the named links.
fn parse_link_name(s: &str) -> Result<&'static wirelab::lab::network::NamedLink, String> {
    wirelab::lab::network::named_link(s).ok_or_else(|| {
        let names: Vec<&str> = wirelab::lab::network::NAMED_LINKS
            .iter()
            .map(|l| l.name)
            .collect();
        format!("{s}: no such link; choose one of {}", names.join(", "))
    })
}

/// `--rate`: a rate with its unit, or `full`.
fn parse_link_rate(s: &str) -> Result<LinkRate, String> {
    if s.trim().eq_ignore_ascii_case("full") {
        return Ok(LinkRate(None));
    }
    wirelab::lab::network::parse_rate(s)
        .map(|r| LinkRate(Some(r)))
        .map_err(|e| format!("{e}, or full for no limit"))
}

/// `--list`: a number, or `all`.
fn parse_list(s: &str) -> Result<usize, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(usize::MAX);
    }
    s.parse()
        .map_err(|_| format!("{s}: give a number of connections, or all"))
}

fn parse_pct(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(p) if p > 0.0 && p < 100.0 => Ok(p),
        _ => Err(format!(
            "{s}: give a per cent above 0 and below 100, e.g. 5"
        )),
    }
}
