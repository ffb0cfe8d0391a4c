//! One run of the lab network (`wirelab lab`, and `wirelab demo`): make the network,
//! start the course server and the name server in the server's namespace, open the
//! capture on the client's eth0, start the program (a student's command, or wirelab's
//! own course client), give up root, capture until the program ends, then release
//! everything. The report is built by the same pipeline as a file's.
//!
//! Clean-up needs no code on the way out: the namespaces are held by descriptors only
//! ([`super::netns`]), the program dies with wirelab ([`super::program`]), so whatever
//! ends the run — the program's end, Ctrl-C, SIGTERM, an error, a panic, SIGKILL — the
//! kernel removes the interfaces, routes, qdiscs, nft tables and mounts of the lab.
//! A program its user may not run ends the run before anything is made, with the
//! shell's status (126, 127); Ctrl-C and SIGTERM end it at every stage within a second
//! ([`super::interrupts`]).

use super::LabError;
use super::client::{self, Fetch, FetchOptions};
use super::dns_server::{self, COURSE_NAMES, DnsServer};
use super::interrupts::Interrupts;
use super::network::{self, LabNetwork, LinkOptions};
use super::program::{self, ResolverFiles, RunAs};
use super::server::Server;
use crate::capture::live::LiveOptions;
use crate::capture::privileges::{self, Dropped, Target};
use crate::drive::live::GRACE;
use crate::drive::live::{LiveResult, Session};
use crate::model::{LabInfo, PacketLine};
use crate::report::Options;
use crate::trace::command::Tracer;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitStatus;

/// How to run the lab.
#[derive(Clone, Debug, Default)]
pub struct LabOptions {
    pub link: LinkOptions,
    /// Save the capture here.
    pub save: Option<PathBuf>,
    /// Run the program as this user (default: the user who ran sudo, else nobody).
    pub user: Option<String>,
    /// Record the program's socket calls (ptrace with a seccomp filter).
    pub trace: bool,
}

/// What runs in the client's namespace.
pub enum Program {
    /// A command, unchanged (the student's program, curl, telnet, a browser).
    Command(Vec<String>),
    /// wirelab's own course client: each (path on data.pr4e.org, recv size), in turn.
    Fetches(Vec<(String, usize)>),
}

/// What a lab run gives.
pub struct LabOutcome {
    pub live: LiveResult,
    /// The command's exit status.
    pub status: Option<ExitStatus>,
    /// wirelab's own fetches.
    pub fetches: Vec<Fetch>,
    pub dropped: Dropped,
}

/// Why no lab network can be made here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("the lab makes network namespaces, and that needs root: run it with sudo")]
    NotRoot,
    #[error("this kernel has no veth pairs (CONFIG_VETH), so no lab network")]
    NoVeth,
    /// The Debian packages of the tools the lab runs (ip, tc, sysctl, ethtool).
    #[error("the lab needs {}: sudo apt-get install {}", .0.join(" and "), .0.join(" "))]
    Missing(Vec<&'static str>),
}

/// Whether a lab network can be made here at all (root, and the kernel's pieces).
pub fn available() -> Result<(), Unavailable> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Unavailable::NotRoot);
    }
    if network::KernelSupport::probe().veth == Some(false) {
        return Err(Unavailable::NoVeth);
    }
    let missing: Vec<&str> = [
        ("ip", "iproute2"),
        ("tc", "iproute2"),
        ("sysctl", "procps"),
        ("ethtool", "ethtool"),
    ]
    .iter()
    .filter(|(tool, _)| program::find_program(tool).is_err())
    .map(|(_, package)| *package)
    .collect();
    if !missing.is_empty() {
        return Err(Unavailable::Missing(missing));
    }
    Ok(())
}

/// A step of making the lab's pieces, or of running the program in it, that failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    User(super::program::UserError),
    #[error("give the command to run after --, e.g. wirelab lab -- python3 socket1.py")]
    NoCommand,
    /// Ctrl-C and SIGTERM could not be caught.
    #[error(transparent)]
    Signals(std::io::Error),
    #[error(transparent)]
    Tls(super::tls::TlsSetupError),
    /// Entering a lab namespace failed.
    #[error(transparent)]
    Namespace(std::io::Error),
    #[error(transparent)]
    Listen(super::server::BindError),
    #[error("the lab's name server: {0}")]
    NameServer(#[source] std::io::Error),
    #[error(transparent)]
    ServerEnd(super::both_ends::EndError),
    #[error(transparent)]
    Trace(crate::trace::ptrace::FilterError),
    #[error("the lab's resolver files in {dir}: {0}", dir = program::FILES_DIR)]
    ResolverFiles(#[source] std::io::Error),
    #[error("the program's key log file (memfd): {0}")]
    KeyLog(#[source] std::io::Error),
    #[error(transparent)]
    Spawn(program::SpawnError),
    /// Waiting for the program (or following its trace) failed.
    #[error(transparent)]
    Wait(std::io::Error),
    /// The socket for wirelab's own lookup.
    #[error(transparent)]
    Socket(std::io::Error),
    #[error(transparent)]
    Lookup(dns_server::LookupError),
}

/// Runs `program` in a fresh lab network and captures it on the client's interface.
/// Ctrl-C and SIGTERM are caught from the first step (see [`super::interrupts`]).
pub fn run(
    opts: &LabOptions,
    program: Program,
    report_opts: Options,
    on_line: impl FnMut(&PacketLine) + Send + 'static,
) -> Result<LabOutcome, LabError> {
    available().map_err(LabError::NoPrivilege)?;
    let user = RunAs::choose(opts.user.as_deref()).map_err(SetupError::User)?;
    let path = program_path(&program, &user)?;
    let interrupts = Interrupts::catch().map_err(SetupError::Signals)?;
    let mut net = make_network(&opts.link)?;
    step(&interrupts, "while the lab network was made")?;
    let Servers {
        web,
        secure,
        names,
        ca,
        keys,
    } = Servers::bind(&net)?;
    let mut report_opts = report_opts;
    report_opts.key_log = Some(keys.clone());
    let limits = report_opts.limits.clone();
    let session = open_capture(&net, opts.save.as_deref())?;
    let saved = session.saved_file().map_err(LabError::Save)?;
    let server_end = ServerSide::open(opts, &net)?;
    let client_end = server_end
        .as_ref()
        .map(|_| super::both_ends::ClientEnd::default());
    let on_line = noting_client_end(on_line, client_end.clone());
    // Serving until the run ends (each stops when dropped).
    let _web = web.spawn(None);
    let _secure = secure.spawn(None);
    let _dns = DnsServer::spawn(names, network::SERVER_IP);
    step(&interrupts, "while the lab's servers started")?;
    let started = start_program(
        &program,
        opts,
        &net,
        &ca,
        &user,
        path.as_deref(),
        &interrupts,
    )?;
    let target = Target::SudoUser {
        name: user.name.clone(),
        uid: user.uid,
        gid: user.gid,
    };
    let dropped = privileges::drop_privileges(&target).map_err(LabError::Privileges)?;
    let running = session.start(report_opts, None, None, on_line);
    let (status, mut trace) = match started.command {
        Some(command) => {
            let path = path.as_deref().expect("found with the command");
            let (status, trace) = wait_for(
                command,
                started.tracer,
                &interrupts,
                &started.command_line,
                path,
                &user,
            )?;
            (Some(status), trace)
        }
        None => (None, None),
    };
    let (fetches, failure) = if started.prepared.is_empty() {
        (Vec::new(), None)
    } else {
        super::run_fetches(started.prepared)
    };
    let program_tls_sessions = started
        .program_keys
        .map(|log| join_program_keys(log, &keys));
    let mut live = running.stop_after(GRACE);
    if let Some(e) = failure {
        return Err(LabError::Fetch(e));
    }
    let both_ends = match (server_end, &client_end) {
        (Some(server), Some(client)) => Some(server.compare(client)?),
        _ => None,
    };
    if let Some(t) = &trace {
        crate::report::recv::attach(&mut live.report, t, &limits);
    } else if !fetches.is_empty() {
        trace = Some(super::join_recvs(&mut live.report, &fetches, &limits));
    }
    let mut lab = lab_info(opts, &mut net, &user, started.command_line, status);
    lab.program_tls_sessions = program_tls_sessions;
    lab.both_ends = both_ends;
    live.report.lab = Some(lab);
    crate::report::link::attach(&mut live.report);
    if let Some(t) = &mut trace {
        t.lab = live.report.lab.clone();
    }
    // Untraced, the TLS secrets and the link's notes are still kept.
    if let Some(saved) = &saved
        && (trace.is_some() || keys.sessions() > 0)
    {
        saved.keep(&live.report, trace.as_ref(), &keys.text());
    }
    step(&interrupts, "while the program's capture was saved")?;
    interrupts.end_at_once();
    Ok(LabOutcome {
        live,
        status,
        fetches,
        dropped,
    })
}

/// The capture on the client's eth0, opened in its namespace (saved where asked).
fn open_capture(net: &LabNetwork, save: Option<&std::path::Path>) -> Result<Session, LabError> {
    Ok(net
        .client
        .enter(|| Session::open(&LiveOptions::new(network::CLIENT_IFACE), save))
        .map_err(SetupError::Namespace)?
        .map_err(LabError::Live)?
        .without_signal_stop())
}

/// What the report says of the lab: the command and how it ended, the network, the
/// link's figures and what it did (the link stops here).
fn lab_info(
    opts: &LabOptions,
    net: &mut LabNetwork,
    user: &RunAs,
    command: Vec<String>,
    status: Option<ExitStatus>,
) -> LabInfo {
    // The link stops once the capture has: what it held leaves, what it did is told.
    let (figures, record) = net.stop_link();
    LabInfo {
        command,
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)),
        user: user.name.clone(),
        client_ip: network::CLIENT_IP.to_string(),
        router: Some([
            network::ROUTER_CLIENT_SIDE.to_string(),
            network::ROUTER_SERVER_SIDE.to_string(),
        ]),
        server_ip: network::SERVER_IP.to_string(),
        mtu: opts.link.mtu,
        link: net.link.clone(),
        names: COURSE_NAMES.iter().map(|s| s.to_string()).collect(),
        link_figures: Some(figures),
        drops: record.drops,
        reordered: record.reordered,
        link_events_omitted: record.omitted,
        program_tls_sessions: None,
        both_ends: None,
    }
}

/// Ends the run if Ctrl-C or SIGTERM came, saying at which `stage`.
fn step(interrupts: &Interrupts, stage: &'static str) -> Result<(), LabError> {
    match interrupts.pending() {
        Some(signal) => Err(LabError::Interrupted { signal, stage }),
        None => Ok(()),
    }
}

/// The command's executable as its user finds it (before anything is made: a program
/// the user may not run ends the run at once), and the line that says what runs.
fn program_path(program: &Program, user: &RunAs) -> Result<Option<PathBuf>, LabError> {
    match program {
        Program::Command(argv) if argv.is_empty() => Err(SetupError::NoCommand.into()),
        Program::Command(argv) => {
            let path = program::resolve_as(&argv[0], user).map_err(LabError::CannotStart)?;
            // Short lines (an 80-column terminal): the story says the rest at the end.
            eprintln!("{}", running_line(argv));
            Ok(Some(path))
        }
        Program::Fetches(_) => Ok(None),
    }
}

/// The lab network, after removing what a killed earlier run left.
fn make_network(link: &LinkOptions) -> Result<LabNetwork, LabError> {
    for left in program::sweep_leftovers() {
        eprintln!(
            "wirelab lab: removed {} left by an earlier run that was killed",
            left.display()
        );
    }
    let net = LabNetwork::build(link).map_err(LabError::NoNetwork)?;
    for line in &net.missing {
        eprintln!("wirelab lab: {line}");
    }
    Ok(net)
}

/// The course server on 80 and 443 and the name server, bound in the server's
/// namespace; HTTPS with a CA made for this run, its secrets logged for the report.
struct Servers {
    web: Server,
    secure: Server,
    names: UdpSocket,
    ca: super::tls::LabCa,
    keys: std::sync::Arc<crate::keylog::KeyLog>,
}

impl Servers {
    fn bind(net: &LabNetwork) -> Result<Servers, LabError> {
        let ip = network::SERVER_IP;
        let ca = super::tls::LabCa::new(COURSE_NAMES, &[ip.into()]).map_err(SetupError::Tls)?;
        let keys = std::sync::Arc::new(crate::keylog::KeyLog::new());
        let tls = ca.server_config(keys.clone()).map_err(SetupError::Tls)?;
        let (web, secure, names) = net
            .server
            .enter(|| {
                (
                    Server::bind((ip, 80).into()),
                    Server::bind((ip, 443).into()),
                    DnsServer::bind(ip),
                )
            })
            .map_err(SetupError::Namespace)?;
        Ok(Servers {
            web: web.map_err(SetupError::Listen)?,
            secure: secure.map_err(SetupError::Listen)?.with_tls(tls),
            names: names.map_err(SetupError::NameServer)?,
            ca,
            keys,
        })
    }
}
/// `--capture both`: the server's eth0 captured too, saved beside the program's capture.
struct ServerSide {
    end: super::both_ends::ServerEnd,
    saved: Option<PathBuf>,
}

impl ServerSide {
    fn open(opts: &LabOptions, net: &LabNetwork) -> Result<Option<ServerSide>, LabError> {
        if !opts.link.capture_both {
            return Ok(None);
        }
        let (file, saved) = match &opts.save {
            Some(p) => {
                let path = crate::drive::live::fresh_path(&server_side_path(p));
                let file = crate::drive::live::create_for_target(&path).map_err(LabError::Save)?;
                (Some(file), Some(path))
            }
            None => (None, None),
        };
        let capture = net
            .server
            .enter(|| super::both_ends::ServerEnd::open(file))
            .map_err(SetupError::Namespace)?
            .map_err(SetupError::ServerEnd)?;
        Ok(Some(ServerSide {
            end: super::both_ends::ServerEnd::start(capture),
            saved,
        }))
    }

    /// Stops the server's capture and compares what each end saw.
    fn compare(
        self,
        client: &super::both_ends::ClientEnd,
    ) -> Result<crate::model::BothEnds, LabError> {
        let server = self.end.stop().map_err(SetupError::ServerEnd)?;
        let mut both = super::both_ends::compare(&client.take(), &server, network::SERVER_IP);
        both.saved = self.saved.as_ref().map(|p| p.display().to_string());
        Ok(both)
    }
}

/// The report's line callback, which also notes each line for the client's end of
/// `--capture both`.
fn noting_client_end(
    mut on_line: impl FnMut(&PacketLine) + Send + 'static,
    client_end: Option<super::both_ends::ClientEnd>,
) -> impl FnMut(&PacketLine) + Send + 'static {
    move |line: &PacketLine| {
        if let Some(end) = &client_end {
            end.note(line);
        }
        on_line(line)
    }
}

/// What runs in the client's namespace, started.
#[derive(Default)]
struct Started {
    command: Option<program::Started>,
    tracer: Option<Tracer>,
    /// The program's own TLS secrets, as SSLKEYLOGFILE asks its libraries.
    program_keys: Option<program::ProgramKeyLog>,
    /// wirelab's own fetches, their sockets made.
    prepared: Vec<client::PreparedFetch>,
    /// The command as it ran (with the lab's trust added), for the report.
    command_line: Vec<String>,
}

/// Starts the command as its user (traced when asked, trusting the lab's CA, resolving
/// with the lab's name server), or prepares wirelab's own fetches.
fn start_program(
    program: &Program,
    opts: &LabOptions,
    net: &LabNetwork,
    ca: &super::tls::LabCa,
    user: &RunAs,
    path: Option<&std::path::Path>,
    interrupts: &Interrupts,
) -> Result<Started, LabError> {
    let mut started = Started::default();
    match program {
        Program::Command(typed) => {
            let argv = &program::with_lab_trust(typed, &ca.server_spki_sha256, user);
            if argv != typed {
                // Two short lines (an 80-column terminal); the report has the command.
                eprintln!(
                    "wirelab lab: Chromium reads no CA bundle: the lab added a flag that names\n{:13}its HTTPS certificate (--ignore-certificate-errors-spki-list)",
                    ""
                );
            }
            if opts.trace {
                started.tracer = Some(Tracer::prepare().map_err(SetupError::Trace)?);
            }
            let filter = started.tracer.as_ref().map(Tracer::filter);
            let resolver = ResolverFiles::new(network::SERVER_IP, Some(&ca.ca_pem))
                .map_err(SetupError::ResolverFiles)?;
            step(interrupts, "before the program started")?;
            let p = path.expect("found before the network was made");
            let log = program::ProgramKeyLog::new(user).map_err(SetupError::KeyLog)?;
            let command = program::spawn(&net.client, argv, p, user, &resolver, Some(&log), filter)
                .map_err(SetupError::Spawn)?;
            started.program_keys = Some(log);
            interrupts.program_started(command.child.id());
            started.command = Some(command);
            // Mounted in the program's namespace now: the files themselves can go.
            drop(resolver);
            started.command_line = argv.clone();
        }
        Program::Fetches(list) => {
            // Sockets are made in the client's namespace now, while wirelab may still
            // enter it; the lookup goes on the wire to the lab's name server, like a
            // program's, and is captured (the capture is open already).
            started.prepared = net
                .client
                .enter(|| prepare_fetches(list))
                .map_err(SetupError::Namespace)??;
            step(interrupts, "before the fetches started")?;
            interrupts.end_at_once();
            started.command_line = vec![crate::trace::BUILTIN_CLIENT.to_string()];
        }
    }
    Ok(started)
}

/// Waits for the command to end (following its calls when traced); a command whose
/// exec failed is said as the shell says it.
fn wait_for(
    started: program::Started,
    tracer: Option<Tracer>,
    interrupts: &Interrupts,
    command_line: &[String],
    path: &std::path::Path,
    user: &RunAs,
) -> Result<(ExitStatus, Option<crate::trace::Trace>), LabError> {
    let mut child = started.child;
    let mut trace = None;
    let waited = match tracer {
        Some(tracer) => tracer.follow(child.id()).map(|(s, t)| {
            trace = Some(t);
            s
        }),
        None => child.wait(),
    };
    interrupts.program_ended();
    let waited = waited.map_err(SetupError::Wait)?;
    if let Some(e) = started.exec.failure() {
        return Err(LabError::CannotStart(program::exec_failed(
            command_line,
            path,
            user,
            &e,
        )));
    }
    Ok((waited, trace))
}

/// Joins the program's TLS secrets to the server's (the same sessions, logged by both
/// ends for the lab's own server; a program's other TLS peers only by it): how many
/// sessions the program logged.
fn join_program_keys(log: program::ProgramKeyLog, keys: &crate::keylog::KeyLog) -> usize {
    let text = log.take();
    let _ = keys.add_text(&text);
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect::<std::collections::HashSet<&str>>()
        .len()
}

/// Where `--capture both` saves the server's side: `class-server.pcap` beside
/// `class.pcapng`.
fn server_side_path(saved: &std::path::Path) -> PathBuf {
    let stem = saved
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("capture");
    saved.with_file_name(format!("{stem}-server.pcap"))
}

/// Looks up data.pr4e.org at the lab's name server and prepares each fetch.
fn prepare_fetches(list: &[(String, usize)]) -> Result<Vec<client::PreparedFetch>, LabError> {
    let socket = UdpSocket::bind((network::CLIENT_IP, 0)).map_err(SetupError::Socket)?;
    let name_server = SocketAddr::from((network::SERVER_IP, crate::dns::PORT));
    let ip =
        dns_server::resolve(&socket, name_server, COURSE_NAMES[0]).map_err(SetupError::Lookup)?;
    list.iter()
        .map(|(path, recv)| {
            let opts = FetchOptions {
                recv_size: *recv,
                connect: Some((ip, 80).into()),
                ..Default::default()
            };
            client::prepare(&format!("http://{}{path}", COURSE_NAMES[0]), &opts)
                .map_err(LabError::Fetch)
        })
        .collect()
}

/// "wirelab lab: running python3 socket1.py in the lab (data.pr4e.org = 10.80.1.2)",
/// within 80 columns: the program's name and short arguments (a long command cut with
/// "..."), the lab's names on a second line when the first is full.
fn running_line(argv: &[String]) -> String {
    const WIDTH: usize = 80;
    let mut command = argv
        .iter()
        .enumerate()
        .map(|(i, a)| match i {
            0 => a.rsplit('/').next().unwrap_or(a),
            _ if a.contains('\n') || a.len() > 40 => "...",
            _ => a,
        })
        .collect::<Vec<_>>()
        .join(" ");
    let frame = "wirelab lab: running  in the lab".len();
    if frame + command.chars().count() > WIDTH {
        command = command.chars().take(WIDTH - frame - 4).collect::<String>() + " ...";
    }
    let first = format!("wirelab lab: running {command} in the lab");
    let names = format!("({} = {})", COURSE_NAMES[0], network::SERVER_IP);
    if first.chars().count() + 1 + names.len() <= WIDTH {
        format!("{first} {names}")
    } else {
        format!("{first}\n{:13}{names}", "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_line_fits_80_columns() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let short = running_line(&v(&["/usr/bin/python3", "socket1.py"]));
        assert_eq!(
            short,
            "wirelab lab: running python3 socket1.py in the lab (data.pr4e.org = 10.80.1.2)"
        );
        for argv in [
            v(&["/usr/bin/python3", "urllib_https.py"]),
            v(&[
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--dump-dom",
                "http://data.pr4e.org/page1.htm",
            ]),
        ] {
            let text = running_line(&argv);
            assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
            assert!(text.contains("data.pr4e.org = 10.80.1.2"), "{text}");
        }
    }

    /// A step's error says the step and keeps its cause as the source (the chain a
    /// caller walks), from LabError down to the system's error.
    #[test]
    fn setup_errors_keep_their_cause() {
        use std::error::Error;
        let boom = || std::io::Error::other("boom");
        let e = SetupError::NameServer(boom());
        assert_eq!(e.to_string(), "the lab's name server: boom");
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("boom"));
        let e = LabError::from(SetupError::KeyLog(boom()));
        let cause = e.source().and_then(|s| s.source()).map(|s| s.to_string());
        assert_eq!(cause.as_deref(), Some("boom"));
        // A step that only passes its cause on says it as the cause does.
        assert_eq!(SetupError::Wait(boom()).to_string(), "boom");
    }
}
