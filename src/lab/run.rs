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

use super::client::{self, Fetch, FetchOptions};
use super::dns_server::{self, COURSE_NAMES, DnsServer};
use super::network::{self, LabNetwork, LinkOptions};
use super::program::{self, ResolverFiles, RunAs};
use super::server::Server;
use super::{GRACE, LabError};
use crate::capture::live::LiveOptions;
use crate::capture::privileges::{self, Dropped, Target};
use crate::drive::live::{LiveResult, Session};
use crate::report::Options;
use crate::report::model::{LabInfo, PacketLine};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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

/// Whether a lab network can be made here at all (root, and the kernel's pieces).
pub fn available() -> Result<(), String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(
            "the lab makes network namespaces, and that needs root: run it with sudo".into(),
        );
    }
    if network::KernelSupport::probe().veth == Some(false) {
        return Err("this kernel has no veth pairs (CONFIG_VETH), so no lab network".into());
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
        return Err(format!(
            "the lab needs {}: sudo apt-get install {}",
            missing.join(" and "),
            missing.join(" ")
        ));
    }
    Ok(())
}

fn setup(e: impl std::fmt::Display) -> LabError {
    LabError::Other(e.to_string())
}

/// Runs `program` in a fresh lab network and captures it on the client's interface.
pub fn run(
    opts: &LabOptions,
    program: Program,
    report_opts: Options,
    on_line: impl FnMut(&PacketLine) + Send + 'static,
) -> Result<LabOutcome, LabError> {
    available().map_err(LabError::NoPrivilege)?;
    let user = RunAs::choose(opts.user.as_deref()).map_err(setup)?;
    let path = match &program {
        Program::Command(argv) if argv.is_empty() => {
            return Err(setup(
                "give the command to run after --, e.g. wirelab lab -- python3 socket1.py",
            ));
        }
        Program::Command(argv) => Some(program::find_program(&argv[0]).map_err(setup)?),
        Program::Fetches(_) => None,
    };
    for left in program::sweep_leftovers() {
        eprintln!(
            "wirelab lab: removed {} left by an earlier run that was killed",
            left.display()
        );
    }
    let net = LabNetwork::build(&opts.link).map_err(LabError::NoNetwork)?;
    for line in &net.missing {
        eprintln!("wirelab lab: {line}");
    }
    let server_ip = network::SERVER_IP;
    let (web, names) = net
        .server
        .enter(|| {
            (
                Server::bind((server_ip, 80).into()),
                DnsServer::bind(server_ip),
            )
        })
        .map_err(setup)?;
    let web = web.map_err(setup)?;
    let names = names.map_err(|e| setup(format!("the lab's name server: {e}")))?;
    let session = net
        .client
        .enter(|| {
            Session::open(
                &LiveOptions::new(network::CLIENT_IFACE),
                opts.save.as_deref(),
            )
        })
        .map_err(setup)?
        .map_err(LabError::Live)?
        .without_signal_stop();
    let _web = web.spawn(None);
    let _dns = DnsServer::spawn(names, server_ip);
    // From here on, Ctrl-C and SIGTERM are the program's business (see
    // wait_forwarding_signals): registered before it starts, so none is missed.
    let signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])
    .map_err(setup)?;
    let mut command = None;
    let mut prepared = Vec::new();
    let mut cost = None;
    let command_line = match &program {
        Program::Command(argv) => {
            let filter = if opts.trace {
                cost = crate::trace::ptrace::calibrate();
                Some(crate::trace::ptrace::filter().map_err(setup)?)
            } else {
                None
            };
            let resolver = ResolverFiles::new(server_ip).map_err(|e| {
                setup(format!(
                    "the lab's resolver files in {}: {e}",
                    program::FILES_DIR
                ))
            })?;
            let p = path.as_deref().expect("found above");
            command = Some(
                program::spawn(&net.client, argv, p, &user, &resolver, filter).map_err(setup)?,
            );
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
                .map_err(setup)?
                .map_err(setup)?;
            vec!["wirelab's course client".to_string()]
        }
    };
    let target = Target::SudoUser {
        name: user.name.clone(),
        uid: user.uid,
        gid: user.gid,
    };
    let dropped = privileges::drop_privileges(&target).map_err(setup)?;
    let running = session.start(report_opts, None, None, on_line);
    let mut fetches = Vec::new();
    let mut status = None;
    let mut failure = None;
    let mut trace = None;
    if let Some(mut child) = command {
        let pid = child.id();
        status = Some(if opts.trace {
            let (s, mut t) =
                wait_forwarding_signals(pid, signals, || crate::trace::ptrace::trace(pid, || {}))
                    .map_err(setup)?;
            t.cost_us_per_call = cost;
            trace = Some(t);
            s
        } else {
            wait_forwarding_signals(pid, signals, || child.wait().map(|s| (s, ())))
                .map_err(setup)?
                .0
        });
    }
    if !prepared.is_empty() {
        (fetches, failure) = super::run_fetches(prepared);
    }
    let mut live = running.stop_after(GRACE);
    if let Some(e) = failure {
        return Err(setup(e));
    }
    if let Some(t) = &trace {
        crate::report::recv::attach(&mut live.report, t);
    } else if !fetches.is_empty() {
        trace = Some(super::join_recvs(&mut live.report, &fetches));
    }
    if let (Some(path), Some(t)) = (&opts.save, &trace) {
        super::keep_trace(path, &live.report, t);
    }
    live.report.lab = Some(LabInfo {
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
    });
    Ok(LabOutcome {
        live,
        status,
        fetches,
        dropped,
    })
}

/// Looks up data.pr4e.org at the lab's name server and prepares each fetch.
fn prepare_fetches(list: &[(String, usize)]) -> Result<Vec<client::PreparedFetch>, String> {
    let socket = UdpSocket::bind((network::CLIENT_IP, 0)).map_err(|e| e.to_string())?;
    let name_server = SocketAddr::from((network::SERVER_IP, crate::dns::PORT));
    let ip = dns_server::resolve(&socket, name_server, COURSE_NAMES[0])?;
    list.iter()
        .map(|(path, recv)| {
            let opts = FetchOptions {
                recv_size: *recv,
                connect: Some((ip, 80).into()),
                ..Default::default()
            };
            client::prepare(&format!("http://{}{path}", COURSE_NAMES[0]), &opts)
        })
        .collect()
}

/// Waits for the program. Ctrl-C reaches it from the terminal by itself (a second
/// Ctrl-C sends it SIGTERM, a third SIGKILL); SIGTERM to wirelab is passed on, and
/// SIGKILL follows 2 s later if it still runs. wirelab itself keeps going, to report.
fn wait_forwarding_signals<T>(
    pid: u32,
    mut signals: signal_hook::iterator::Signals,
    wait: impl FnOnce() -> std::io::Result<(ExitStatus, T)>,
) -> std::io::Result<(ExitStatus, T)> {
    use signal_hook::consts::SIGTERM;
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    let exited = Arc::new(AtomicBool::new(false));
    let handle = signals.handle();
    let done = exited.clone();
    let forwarder = std::thread::spawn(move || {
        use nix::sys::signal::{Signal, kill};
        let mut interrupts = 0;
        for sig in signals.forever() {
            if done.load(Ordering::SeqCst) {
                break;
            }
            let send = if sig == SIGTERM {
                let done = done.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(2));
                    if !done.load(Ordering::SeqCst) {
                        let _ = kill(pid, Signal::SIGKILL);
                    }
                });
                Some(Signal::SIGTERM)
            } else {
                interrupts += 1;
                match interrupts {
                    1 => None,
                    2 => Some(Signal::SIGTERM),
                    _ => Some(Signal::SIGKILL),
                }
            };
            if let Some(s) = send {
                let _ = kill(pid, s);
            }
        }
    });
    let status = wait();
    exited.store(true, Ordering::SeqCst);
    handle.close();
    let _ = forwarder.join();
    status
}
