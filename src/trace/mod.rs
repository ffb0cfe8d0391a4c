//! Beside the pipeline (the report joins it): the program's side of a connection: every
//! system call that moved bytes on one of its TCP sockets (`recv`, `recvfrom`, `recvmsg`,
//! `read`, `readv` and the sends), with the size asked, the size returned, the time, the
//! process and thread, and the socket's own addresses, read from the kernel's socket
//! table (never guessed from timing). [`ptrace`] records them from a running program;
//! wirelab's own client records its calls in the same form. The report joins them to the
//! captured connections.

pub mod command;
pub mod exec;
pub mod ptrace;

use serde::{Deserialize, Serialize};

/// Which way a call moved bytes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Way {
    Recv,
    Send,
}

/// One system call on a TCP socket.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub pid: u32,
    pub tid: u32,
    /// The call as the C library names it: recv, recvfrom, recvmsg, read, readv, send,
    /// sendto, sendmsg, write, writev, sendfile. On x86-64 Linux recv and send are the
    /// recvfrom and sendto system calls with no address: Python's `sock.recv(512)`.
    pub syscall: String,
    pub way: Way,
    pub fd: i32,
    /// The size asked for: the buffer (512, 5120), or the sum of an iovec's.
    pub asked: u64,
    /// Bytes moved; 0 for the end of the stream; negative: -errno.
    pub returned: i64,
    /// When the call returned (µs since the epoch, the capture's clock).
    pub ts_us: i64,
    /// The socket's own address and its peer's, as the kernel has them.
    pub local: String,
    pub remote: String,
}

/// A process of the traced program.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub cmdline: Vec<String>,
}

/// A program's trace: its processes and calls, and what tracing cost.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Trace {
    /// "ptrace+seccomp" for a traced program, "wirelab" for wirelab's own client.
    pub mechanism: String,
    pub processes: Vec<Process>,
    pub calls: Vec<Call>,
    /// Calls beyond [`crate::limits::TRACE_CALLS`], counted but not kept.
    pub calls_omitted: u64,
    /// Extra time per traced call, measured on this machine at the start of the run.
    pub cost_us_per_call: Option<f64>,
    /// Times the program stopped for the trace: every call the filter traps (reads and
    /// writes on any descriptor, not only the socket calls kept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stops: u64,
    /// The lab the program ran in, when it ran in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<LabInfo>,
}

impl Trace {
    pub fn push(&mut self, call: Call) {
        if self.calls.len() < crate::limits::TRACE_CALLS {
            self.calls.push(call);
        } else {
            self.calls_omitted += 1;
        }
    }

    /// The process `pid`, if known.
    pub fn process(&self, pid: u32) -> Option<&Process> {
        self.processes.iter().find(|p| p.pid == pid)
    }
}

/// The command recorded when the program is wirelab's own course client (`demo`,
/// `fetch`), which has no command line of its own.
pub const BUILTIN_CLIENT: &str = "wirelab's course client";

/// What `wirelab lab` built around the program: its network, and how the program ran.
/// Kept with the trace in a saved capture, so a replay in class tells the same story.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct LabInfo {
    /// The program's command line.
    pub command: Vec<String>,
    /// Its exit status (None when killed by a signal).
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    pub user: String,
    pub client_ip: String,
    pub router: Option<[String; 2]>,
    pub server_ip: String,
    pub mtu: u32,
    /// The link's settings in words: "rate 2mbit (tbf)", "drop every 5th data segment".
    pub link: Vec<String>,
    /// The names the lab's DNS answers, with the course server's address.
    pub names: Vec<String>,
    /// The link's figures, as used (None for a lab saved before they were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_figures: Option<LinkFigures>,
    /// Every packet the link dropped (first [`MAX_LINK_EVENTS`]), with what the report
    /// found of it: its connection and the frame that brought its bytes after all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<LinkEvent>,
    /// Every packet the link held back behind the next one (`--reorder`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reordered: Vec<LinkEvent>,
    /// Events beyond [`MAX_LINK_EVENTS`], counted only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub link_events_omitted: u64,
    /// TLS sessions the program's own key log (`SSLKEYLOGFILE`) named (None: a lab
    /// saved before the program was given one, or wirelab's own fetches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_tls_sessions: Option<usize>,
    /// `--capture both`: the same data segments seen at the server's side too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub both_ends: Option<BothEnds>,
}

/// The link seen from both ends (`wirelab lab --capture both`): the data segments each
/// end sent against those the other end received.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct BothEnds {
    /// Frames captured on the server's eth0.
    pub server_frames: u64,
    /// The server's data segments: seen leaving its eth0, and seen at the client's.
    pub server_sent: u64,
    pub server_arrived: u64,
    /// The client's data segments: seen leaving, and seen at the server's side.
    pub client_sent: u64,
    pub client_arrived: u64,
    /// Data segments beyond what is kept per end, counted only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: u64,
    /// The time the server's segments took from one end to the other: least, median,
    /// most, ms.
    pub one_way_ms: Option<[f64; 3]>,
    /// Segments seen leaving one end that never reached the other while the captures
    /// ran (first [`MAX_LINK_EVENTS`]), joined to their connection and to the frame that
    /// brought their bytes after all, as the link's drops are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub never_arrived: Vec<LinkEvent>,
    /// Where the server's side was saved (classic pcap), when the run saved its capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved: Option<String>,
}

/// Drops and reorders kept per run.
pub const MAX_LINK_EVENTS: usize = 10_000;

/// The link the lab made between the program and the server, in figures. Rates are
/// bits per second; delays are one way (the RTT grows by twice the delay).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct LinkFigures {
    /// The named link (`--link home`), when one was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub rate_bps: Option<u64>,
    pub delay_ms: f64,
    /// Each packet's delay varies by up to this much either way (uniformly).
    pub jitter_ms: f64,
    pub loss_pct: Option<f64>,
    pub drop_every: Option<u32>,
    pub reorder_pct: Option<f64>,
    /// Packets the link's queue handled, and the CPU time it took (the link's own cost).
    #[serde(default)]
    pub packets: u64,
    #[serde(default)]
    pub cpu_us: u64,
    /// How late the queue let packets go past their due time (its own delay beyond
    /// the one asked): 99th percentile and worst, µs; and the packets that came
    /// without the kernel's arrival stamp (each may leave up to a millisecond late).
    /// None in captures made before they were measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_us_p99: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_us_max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unstamped: Option<u64>,
}

/// One packet the link dropped or reordered, as the router saw it.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct LinkEvent {
    /// When the router took it (the capture's clock, µs since the epoch).
    pub ts_us: i64,
    /// Sender and receiver, "10.80.1.2:80".
    pub from: String,
    pub to: String,
    /// TCP sequence number (absolute) and payload bytes.
    pub seq: u32,
    pub len: u32,
    /// Found by the report: the connection, the relative sequence number (as the
    /// segments'), and the first captured frame that carried these bytes (a drop's
    /// retransmission; a reordered packet's late arrival).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
}

impl LabInfo {
    /// The program was wirelab's own course client, not a command.
    pub fn ran_builtin_client(&self) -> bool {
        matches!(self.command.as_slice(), [c] if c == BUILTIN_CLIENT)
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
