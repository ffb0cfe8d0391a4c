//! Ctrl-C and SIGTERM through a whole lab run, caught from its first step to its last,
//! and each ending the run within a second at whatever stage it comes:
//! - while the lab is being made, the run stops at its next step (each takes well
//!   under a second) and unmakes what it made;
//! - while the program runs, the signal is the program's (Ctrl-C reaches it from the
//!   terminal, SIGTERM is passed on), and SIGKILL follows [`KILL_AFTER`] later if it
//!   still runs; a second Ctrl-C kills it at once. Then the report of what it did;
//! - while the capture is finished and saved, the saving completes (nothing captured
//!   is lost), then the run stops without its report;
//! - while the report is written (or wirelab's own fetches run, their capture so far
//!   on disk), wirelab ends at once, as the signal's default does.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

/// How long a program may go on after Ctrl-C or SIGTERM before it is killed.
pub const KILL_AFTER: Duration = Duration::from_millis(700);

const SETUP: u8 = 0;
const PROGRAM: u8 = 1;
const FINISHING: u8 = 2;
const REPORT: u8 = 3;

struct Shared {
    stage: AtomicU8,
    /// The signal that came while the lab was made or saved (0: none).
    pending: AtomicI32,
    /// The program's pid while it runs (0: none).
    program: AtomicI32,
    /// Ctrl-Cs seen while the program ran.
    interrupts: AtomicU32,
}

impl Shared {
    /// While the program runs: pass the signal on, and kill the program if it is
    /// still there [`KILL_AFTER`] later.
    fn forward(self: &Arc<Self>, sig: i32) {
        let pid = self.program.load(Ordering::SeqCst);
        if pid <= 0 {
            return;
        }
        let pid = Pid::from_raw(pid);
        if sig == SIGTERM {
            let _ = kill(pid, Signal::SIGTERM);
        } else if self.interrupts.fetch_add(1, Ordering::SeqCst) >= 1 {
            // The terminal gave the program the first Ctrl-C; the second is final.
            let _ = kill(pid, Signal::SIGKILL);
            return;
        }
        let shared = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(KILL_AFTER);
            if shared.stage.load(Ordering::SeqCst) == PROGRAM
                && shared.program.load(Ordering::SeqCst) == pid.as_raw()
            {
                let _ = kill(pid, Signal::SIGKILL);
            }
        });
    }
}

/// The run's handling of Ctrl-C and SIGTERM (see the module's doc).
pub struct Interrupts {
    shared: Arc<Shared>,
}

impl Interrupts {
    /// Catches Ctrl-C and SIGTERM from now on, for the rest of the process.
    pub fn catch() -> std::io::Result<Interrupts> {
        let shared = Arc::new(Shared {
            stage: AtomicU8::new(SETUP),
            pending: AtomicI32::new(0),
            program: AtomicI32::new(0),
            interrupts: AtomicU32::new(0),
        });
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let s = shared.clone();
        std::thread::spawn(move || {
            for sig in signals.forever() {
                match s.stage.load(Ordering::SeqCst) {
                    PROGRAM => s.forward(sig),
                    REPORT => {
                        let _ = signal_hook::low_level::emulate_default_handler(sig);
                    }
                    _ => s.pending.store(sig, Ordering::SeqCst),
                }
            }
        });
        Ok(Interrupts { shared })
    }

    /// The signal that came while the lab was made or its capture saved, if one did:
    /// the run stops at this step.
    pub fn pending(&self) -> Option<i32> {
        match self.shared.pending.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }

    /// The program runs as `pid`: signals are its own from now on. One that came in
    /// the last step before it started kills it at once.
    pub fn program_started(&self, pid: u32) {
        self.shared.program.store(pid as i32, Ordering::SeqCst);
        self.shared.stage.store(PROGRAM, Ordering::SeqCst);
        if self.pending().is_some() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }

    /// The program has ended: a signal now waits until the capture is saved.
    pub fn program_ended(&self) {
        self.shared.stage.store(FINISHING, Ordering::SeqCst);
        self.shared.program.store(0, Ordering::SeqCst);
    }

    /// From now on a signal ends wirelab at once, as its default would (and one that
    /// came while saving, now): while the report is written, and while wirelab's own
    /// fetches run (the capture so far is on disk).
    pub fn end_at_once(&self) {
        self.shared.stage.store(REPORT, Ordering::SeqCst);
        if let Some(sig) = self.pending() {
            let _ = signal_hook::low_level::emulate_default_handler(sig);
        }
    }
}

/// A signal's name as a student reads it.
pub fn name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "Ctrl-C (SIGINT)",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
