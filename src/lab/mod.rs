//! Stage 9: the live lab: the built-in course server, the course client with its recv
//! log, and the sessions that capture beside them. A live report is built by the
//! same pipeline as a file's, then the recv log is joined to it.

pub mod both_ends;
pub mod client;
pub mod content;
pub mod dns_server;
pub mod interrupts;
pub mod link;
pub mod netns;
pub mod network;
pub mod program;
pub mod run;
pub mod server;
pub mod tls;

use crate::capture::live::{LiveError, LiveOptions, interface_names};
use crate::capture::privileges::Dropped;
use crate::drive::live::{GRACE, LiveResult, Session};
use crate::model::PacketLine;
use crate::report::{Options, recv};
use client::{Fetch, PreparedFetch};
use server::Server;
use std::net::IpAddr;
use std::path::Path;

/// Why a lab run failed.
#[derive(Debug)]
pub enum LabError {
    Live(LiveError),
    /// The lab needs root (namespaces), or a kernel piece it lacks.
    NoPrivilege(run::Unavailable),
    /// The lab's network could not be made here (a container without the privilege,
    /// a missing tool or kernel piece).
    NoNetwork(network::NetworkError),
    /// The program cannot be started as the user it runs as: the message, and the
    /// status a shell gives (126, 127).
    CannotStart(program::CannotStart),
    /// Ctrl-C or SIGTERM ended the run before its report, at `stage`.
    Interrupted {
        signal: i32,
        stage: &'static str,
    },
    /// The file to save the capture in could not be made ready.
    Save(crate::capture::live::SaveError),
    /// One of wirelab's own fetches failed.
    Fetch(client::FetchError),
    /// wirelab could not give up root for the program's user.
    Privileges(crate::capture::privileges::DropError),
    /// A piece of the lab could not be made, or the program could not be run in it.
    Setup(run::SetupError),
}

impl From<run::SetupError> for LabError {
    fn from(e: run::SetupError) -> LabError {
        LabError::Setup(e)
    }
}

impl std::fmt::Display for LabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabError::Live(e) => e.fmt(f),
            LabError::NoPrivilege(e) => e.fmt(f),
            LabError::Setup(e) => e.fmt(f),
            LabError::NoNetwork(e) => e.fmt(f),
            LabError::CannotStart(c) => f.write_str(&c.message),
            LabError::Save(e) => e.fmt(f),
            LabError::Fetch(e) => e.fmt(f),
            LabError::Privileges(e) => e.fmt(f),
            LabError::Interrupted { signal, stage } => write!(
                f,
                "stopped by {} {stage}; the lab network is gone with it",
                interrupts::name(*signal)
            ),
        }
    }
}

impl std::error::Error for LabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LabError::Live(e) => Some(e),
            LabError::NoNetwork(e) => Some(e),
            LabError::Save(e) => Some(e),
            LabError::Fetch(e) => Some(e),
            LabError::Privileges(e) => Some(e),
            LabError::Setup(e) => Some(e),
            LabError::NoPrivilege(e) => Some(e),
            _ => None,
        }
    }
}

/// The interface that carries loopback traffic (`lo` on Linux).
pub fn loopback_interface() -> String {
    pcap::Device::list()
        .ok()
        .and_then(|l| l.into_iter().find(|d| d.flags.is_loopback()))
        .map(|d| d.name)
        .unwrap_or_else(|| "lo".into())
}

/// Where to capture a connection to `ip`: loopback for a local address, else every
/// interface ("any").
pub fn interface_for(ip: IpAddr) -> String {
    if ip.is_loopback() {
        loopback_interface()
    } else if interface_names().iter().any(|n| n == "any") {
        "any".into()
    } else {
        loopback_interface()
    }
}

/// A completed lab run: the report (recv logs joined) and what each fetch received.
pub struct LabRun {
    pub live: LiveResult,
    pub fetches: Vec<Fetch>,
    pub dropped: Dropped,
}

/// Runs the prepared fetches one after the other; stops at the first that fails and
/// returns its error beside those done.
pub fn run_fetches(prepared: Vec<PreparedFetch>) -> (Vec<Fetch>, Option<client::FetchError>) {
    let mut fetches = Vec::new();
    for p in prepared {
        match p.run() {
            Ok(f) => fetches.push(f),
            Err(e) => return (fetches, Some(e)),
        }
    }
    (fetches, None)
}

/// Joins wirelab's own fetches' calls to their connections, as a traced program's, and
/// returns them as a trace.
pub fn join_recvs(
    report: &mut crate::report::Report,
    fetches: &[Fetch],
    limits: &crate::report::Limits,
) -> crate::trace::Trace {
    let me = std::process::id();
    let trace = crate::trace::Trace {
        mechanism: "wirelab".into(),
        processes: vec![crate::trace::Process {
            pid: me,
            name: "wirelab".into(),
            cmdline: std::env::args().collect(),
        }],
        calls: fetches.iter().flat_map(|f| f.calls.clone()).collect(),
        ..Default::default()
    };
    recv::attach(report, &trace, limits);
    trace
}

/// Captures on `interface` with `filter` while `server` (if any) serves and the
/// prepared fetches run one after the other; then joins each fetch's recv log to its
/// connection. Privileges are dropped after the capture, the savefile and the server's
/// socket are open, before any packet is read.
pub fn capture_fetches(
    interface: &str,
    filter: String,
    save: Option<&Path>,
    server: Option<Server>,
    prepared: Vec<PreparedFetch>,
    opts: Options,
    on_line: impl FnMut(&PacketLine) + Send + 'static,
) -> Result<LabRun, LabError> {
    let mut live_opts = LiveOptions::new(interface);
    live_opts.filter = Some(filter);
    let session = Session::open(&live_opts, save).map_err(LabError::Live)?;
    let saved = session.saved_file().map_err(LabError::Save)?;
    let dropped = session.drop_privileges().map_err(LabError::Privileges)?;
    let running_server = server.map(|s| s.spawn(None));
    let limits = opts.limits.clone();
    let running = session.start(opts, None, None, on_line);
    let (fetches, error) = run_fetches(prepared);
    let mut live = running.stop_after(GRACE);
    drop(running_server);
    if let Some(e) = error {
        return Err(LabError::Fetch(e));
    }
    let trace = join_recvs(&mut live.report, &fetches, &limits);
    if let Some(saved) = &saved {
        saved.keep(&live.report, Some(&trace), "");
    }
    Ok(LabRun {
        live,
        fetches,
        dropped,
    })
}
