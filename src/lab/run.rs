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
    let path = match &program {
        Program::Command(argv) if argv.is_empty() => {
            return Err(SetupError::NoCommand.into());
        }
        Program::Command(argv) => {
            let path = program::resolve_as(&argv[0], &user).map_err(LabError::CannotStart)?;
            // Short lines (an 80-column terminal): the story says the rest at the end.
            eprintln!("{}", running_line(argv));
            Some(path)
        }
        Program::Fetches(_) => None,
    };
    let interrupts = Interrupts::catch().map_err(SetupError::Signals)?;
    let step = |stage: &'static str| match interrupts.pending() {
        Some(signal) => Err(LabError::Interrupted { signal, stage }),
        None => Ok(()),
    };
    for left in program::sweep_leftovers() {
        eprintln!(
            "wirelab lab: removed {} left by an earlier run that was killed",
            left.display()
        );
    }
    let mut net = LabNetwork::build(&opts.link).map_err(LabError::NoNetwork)?;
    for line in &net.missing {
        eprintln!("wirelab lab: {line}");
    }
    step("while the lab network was made")?;
    let server_ip = network::SERVER_IP;
    // HTTPS on 443: a CA made for this run, its secrets logged for the report.
    let ca = super::tls::LabCa::new(COURSE_NAMES, &[server_ip.into()]).map_err(SetupError::Tls)?;
    let keys = std::sync::Arc::new(crate::tls::KeyLog::new());
    let tls = ca.server_config(keys.clone()).map_err(SetupError::Tls)?;
    let (web, secure, names) = net
        .server
        .enter(|| {
            (
                Server::bind((server_ip, 80).into()),
                Server::bind((server_ip, 443).into()),
                DnsServer::bind(server_ip),
            )
        })
        .map_err(SetupError::Namespace)?;
    let web = web.map_err(SetupError::Listen)?;
    let secure = secure.map_err(SetupError::Listen)?.with_tls(tls);
    let mut report_opts = report_opts;
    report_opts.key_log = Some(keys.clone());
    let names = names.map_err(SetupError::NameServer)?;
    let session = net
        .client
        .enter(|| {
            Session::open(
                &LiveOptions::new(network::CLIENT_IFACE),
                opts.save.as_deref(),
            )
        })
        .map_err(SetupError::Namespace)?
        .map_err(LabError::Live)?
        .without_signal_stop();
    let saved = session.saved_file().map_err(LabError::Save)?;
    // --capture both: the server's eth0 too, saved beside the program's capture.
    let mut server_end = None;
    let mut server_saved = None;
    if opts.link.capture_both {
        let file = match &opts.save {
            Some(p) => {
                let path = crate::drive::live::fresh_path(&server_side_path(p));
                let file = crate::drive::live::create_for_target(&path).map_err(LabError::Save)?;
                server_saved = Some(path);
                Some(file)
            }
            None => None,
        };
        let capture = net
            .server
            .enter(|| super::both_ends::ServerEnd::open(file))
            .map_err(SetupError::Namespace)?
            .map_err(SetupError::ServerEnd)?;
        server_end = Some(super::both_ends::ServerEnd::start(capture));
    }
    let client_end = server_end
        .as_ref()
        .map(|_| super::both_ends::ClientEnd::default());
    let mut on_line = on_line;
    let on_line = {
        let client_end = client_end.clone();
        move |line: &PacketLine| {
            if let Some(end) = &client_end {
                end.note(line);
            }
            on_line(line)
        }
    };
    let _web = web.spawn(None);
    let _secure = secure.spawn(None);
    let _dns = DnsServer::spawn(names, server_ip);
    step("while the lab's servers started")?;
    let mut command = None;
    let mut program_keys = None;
    let mut prepared = Vec::new();
    let mut tracer = None;
    let command_line = match &program {
        Program::Command(typed) => {
            let argv = &program::with_lab_trust(typed, &ca.server_spki_sha256, &user);
            if argv != typed {
                // Two short lines (an 80-column terminal); the report has the command.
                eprintln!(
                    "wirelab lab: Chromium reads no CA bundle: the lab added a flag that names\n{:13}its HTTPS certificate (--ignore-certificate-errors-spki-list)",
                    ""
                );
            }
            if opts.trace {
                tracer = Some(Tracer::prepare().map_err(SetupError::Trace)?);
            }
            let filter = tracer.as_ref().map(Tracer::filter);
            let resolver = ResolverFiles::new(server_ip, Some(&ca.ca_pem))
                .map_err(SetupError::ResolverFiles)?;
            step("before the program started")?;
            let p = path.as_deref().expect("found above");
            // The program's own TLS secrets, as SSLKEYLOGFILE asks its libraries.
            let log = program::ProgramKeyLog::new(&user).map_err(SetupError::KeyLog)?;
            let started =
                program::spawn(&net.client, argv, p, &user, &resolver, Some(&log), filter)
                    .map_err(SetupError::Spawn)?;
            program_keys = Some(log);
            interrupts.program_started(started.child.id());
            command = Some(started);
            // Mounted in the program's namespace now: the files themselves can go.
            drop(resolver);
            argv.clone()
        }
        Program::Fetches(list) => {
            // Sockets are made in the client's namespace now, while wirelab may still
            // enter it; the lookup goes on the wire to the lab's name server, like a
            // program's, and is captured (the capture is open already).
            prepared = net
                .client
                .enter(|| prepare_fetches(list))
                .map_err(SetupError::Namespace)??;
            step("before the fetches started")?;
            interrupts.end_at_once();
            vec![crate::trace::BUILTIN_CLIENT.to_string()]
        }
    };
    let target = Target::SudoUser {
        name: user.name.clone(),
        uid: user.uid,
        gid: user.gid,
    };
    let dropped = privileges::drop_privileges(&target).map_err(LabError::Privileges)?;
    let running = session.start(report_opts, None, None, on_line);
    let mut fetches = Vec::new();
    let mut status = None;
    let mut failure = None;
    let mut trace = None;
    if let Some(started) = command {
        let mut child = started.child;
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
                &command_line,
                path.as_deref().expect("found above"),
                &user,
                &e,
            )));
        }
        status = Some(waited);
    }
    if !prepared.is_empty() {
        (fetches, failure) = super::run_fetches(prepared);
    }
    // The program's secrets join the server's (the same sessions, logged by both ends
    // for the lab's own server; a program's other TLS peers only by it).
    let program_tls_sessions = program_keys.map(|log| {
        let text = log.take();
        let _ = keys.add_text(&text);
        text.lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .collect::<std::collections::HashSet<&str>>()
            .len()
    });
    let mut live = running.stop_after(GRACE);
    if let Some(e) = failure {
        return Err(LabError::Fetch(e));
    }
    let both_ends = match (server_end, &client_end) {
        (Some(server), Some(client)) => {
            let server = server.stop().map_err(SetupError::ServerEnd)?;
            let mut both = super::both_ends::compare(&client.take(), &server, server_ip);
            both.saved = server_saved.as_ref().map(|p| p.display().to_string());
            Some(both)
        }
        _ => None,
    };
    if let Some(t) = &trace {
        crate::report::recv::attach(&mut live.report, t);
    } else if !fetches.is_empty() {
        trace = Some(super::join_recvs(&mut live.report, &fetches));
    }
    // The link stops once the capture has: what it held leaves, what it did is told.
    let (figures, record) = net.stop_link();
    let lab = LabInfo {
        command: command_line,
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)),
        user: user.name.clone(),
        client_ip: network::CLIENT_IP.to_string(),
        router: Some([
            network::ROUTER_CLIENT_SIDE.to_string(),
            network::ROUTER_SERVER_SIDE.to_string(),
        ]),
        server_ip: server_ip.to_string(),
        mtu: opts.link.mtu,
        link: net.link.clone(),
        names: COURSE_NAMES.iter().map(|s| s.to_string()).collect(),
        link_figures: Some(figures),
        drops: record.drops,
        reordered: record.reordered,
        link_events_omitted: record.omitted,
        program_tls_sessions,
        both_ends,
    };
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
    step("while the program's capture was saved")?;
    interrupts.end_at_once();
    Ok(LabOutcome {
        live,
        status,
        fetches,
        dropped,
    })
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
