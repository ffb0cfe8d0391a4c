//! One error type for every command, mapped to exit codes in one place:
//! 0 success, 1 failure after the report (a cut file, a failed command), 2 bad input or
//! usage, 3 no privilege to capture. A closed pipe (`wirelab report x.pcap | head`) is
//! not an error.

use std::process::ExitCode;
use wirelab::capture::live::LiveError;
use wirelab::lab::LabError;

/// Why a command stopped short.
#[derive(Debug)]
pub enum Failure {
    /// Something failed after the command started (exit 1).
    Failed(String),
    /// Bad input or usage: a missing file, a wrong option value (exit 2).
    Input(String),
    /// No privilege to capture or to make the lab's network (exit 3).
    Privilege(String),
    /// The reader of standard output went away: nothing is said, exit 0.
    BrokenPipe,
    /// An exit status of its own, as a shell gives it: 126 or 127 for a program that
    /// cannot be started, 128 + N for a run ended by signal N.
    Status(u8, String),
}

/// What a command's runner returns: its exit code, or why it failed.
pub type Outcome = Result<ExitCode, Failure>;

pub const EXIT_FAIL: u8 = 1;

impl Failure {
    /// Says what went wrong on standard error and gives the exit code.
    pub fn exit(self) -> ExitCode {
        let (code, message) = match self {
            Failure::Failed(m) => (EXIT_FAIL, m),
            Failure::Input(m) => (2, m),
            Failure::Privilege(m) => (3, m),
            Failure::BrokenPipe => return ExitCode::SUCCESS,
            Failure::Status(code, m) => (code, m),
        };
        eprintln!("wirelab: {message}");
        ExitCode::from(code)
    }

    /// Writes `text` to standard output: a reader that went away (`| head`) is
    /// [`Failure::BrokenPipe`], not a panic.
    pub fn print(text: &str) -> Result<(), Failure> {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(Failure::writing)
    }

    /// A write to the report's destination failed.
    pub fn writing(e: std::io::Error) -> Failure {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Failed(format!("writing the report: {e}"))
        }
    }
}

impl From<&LiveError> for Failure {
    fn from(e: &LiveError) -> Failure {
        match e {
            LiveError::NoPermission { .. } => Failure::Privilege(e.to_string()),
            LiveError::Capture(_) => Failure::Failed(e.to_string()),
            _ => Failure::Input(e.to_string()),
        }
    }
}

impl From<&LabError> for Failure {
    fn from(e: &LabError) -> Failure {
        match e {
            LabError::Live(e) => e.into(),
            LabError::NoPrivilege(e) => Failure::Privilege(e.to_string()),
            LabError::NoNetwork(_)
            | LabError::Setup(_)
            | LabError::Save(_)
            | LabError::Privileges(_)
            | LabError::Fetch(_) => Failure::Failed(e.to_string()),
            LabError::CannotStart(c) => Failure::Status(c.status, c.message.clone()),
            LabError::Interrupted { signal, .. } => {
                Failure::Status((128 + signal).clamp(0, 255) as u8, e.to_string())
            }
        }
    }
}

/// Exit 1 with `message`.
pub fn failed(message: impl std::fmt::Display) -> Outcome {
    Err(Failure::Failed(message.to_string()))
}

/// Exit 2 with `message`.
pub fn input(message: impl std::fmt::Display) -> Outcome {
    Err(Failure::Input(message.to_string()))
}

/// Exit 3 with `message`.
pub fn privilege(message: impl std::fmt::Display) -> Outcome {
    Err(Failure::Privilege(message.to_string()))
}

pub fn live_fail(e: &LiveError) -> Outcome {
    Err(e.into())
}

pub fn lab_fail(e: &LabError) -> Outcome {
    Err(e.into())
}
