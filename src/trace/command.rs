//! Tracing a command, the one way `wirelab capture -- CMD` and `wirelab lab` both do
//! it: before the program starts, the cost of a stop is measured and the seccomp
//! filter built ([`Tracer::prepare`]); the child installs the filter as the last steps
//! before its exec ([`super::exec::launch`] with [`Tracer::filter`]); then the program
//! is followed to its end ([`Tracer::follow`]) and an exec that failed is told by the
//! caller from [`super::exec::ExecResult::failure`], never a hang.

use super::Trace;
use super::exec::{self, ExecResult};
use super::ptrace::{self, FilterError};
use std::io;
use std::process::{Command, ExitStatus};

/// What tracing a program needs before it starts.
pub struct Tracer {
    filter: seccompiler::BpfProgram,
    /// Microseconds a traced call costs on this machine (`dd`, untraced and traced).
    cost_us_per_call: Option<f64>,
}

impl Tracer {
    /// Measures the cost of a stop here and builds the filter.
    pub fn prepare() -> Result<Tracer, FilterError> {
        Ok(Tracer {
            cost_us_per_call: ptrace::calibrate(),
            filter: ptrace::filter()?,
        })
    }

    /// The filter for the child to install before its exec.
    pub fn filter(&self) -> seccompiler::BpfProgram {
        self.filter.clone()
    }

    /// Follows the program started with [`Tracer::filter`] (process `pid`, its threads
    /// and children) to its end: its exit status and every call it made on a TCP socket.
    pub fn follow(self, pid: u32) -> io::Result<(ExitStatus, Trace)> {
        let (status, mut trace) = ptrace::trace(pid, || {})?;
        trace.cost_us_per_call = self.cost_us_per_call;
        Ok((status, trace))
    }
}

/// Runs `argv` traced to its end, as the user wirelab runs as now (`capture -- CMD`). A
/// program that cannot be found or started is an error with the shell's reason.
pub fn run(argv: &[String]) -> io::Result<(ExitStatus, Trace)> {
    let program = argv
        .first()
        .ok_or_else(|| io::Error::other("no command to run"))?;
    let path = exec::find_program(program).map_err(io::Error::other)?;
    let tracer = Tracer::prepare().map_err(io::Error::other)?;
    let mut cmd = Command::new(&path);
    let started: ExecResult = exec::launch(
        &mut cmd,
        &path,
        argv,
        exec::environment(&[]),
        Some(tracer.filter()),
    )?;
    let child = cmd.spawn()?;
    let followed = tracer.follow(child.id())?;
    match started.failure() {
        Some(e) => Err(e),
        None => Ok(followed),
    }
}
