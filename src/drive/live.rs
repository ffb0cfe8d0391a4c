//! A live capture session: open the interface (privileged), open the files to write,
//! drop privileges, then capture in a background thread through the same report
//! pipeline as a file, while the foreground runs a fetch, a command or nothing.
//! It stops on Ctrl-C or SIGTERM, after a packet count or a duration, or when the
//! foreground says so; the savefile is flushed after every batch of packets.

use crate::capture::live::{LiveCapture, LiveError, LiveOptions, LiveStats, SaveError};
use crate::capture::privileges::{self, Dropped, Target};
use crate::capture::{Frame, Linktype};
use crate::model::{PacketLine, Source};
use crate::report::{Options, Report, ReportBuilder, recv};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A packet copied out of libpcap's buffer for the analysis thread.
struct OwnedFrame {
    number: u64,
    ts_us: i64,
    orig_len: u32,
    data: Vec<u8>,
}

/// Why a session stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    Signal(&'static str),
    Count,
    Duration,
    Done,
    /// The capture ended by itself (an error: a full disk, a vanished interface).
    Ended,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Signal(s) => write!(f, "stopped by {s}"),
            StopReason::Count => f.write_str("stopped after the packet count (-c)"),
            StopReason::Ended => f.write_str("the capture ended"),
            StopReason::Duration => f.write_str("stopped after the duration (--duration)"),
            StopReason::Done => f.write_str("stopped after the exchange ended"),
        }
    }
}

/// A session's savefile and its name, open for reading and writing whoever the
/// process has become since.
pub struct SavedCapture {
    pub path: PathBuf,
    pub file: File,
}

impl SavedCapture {
    /// A second descriptor of `file`, saved at `path`, to rewrite it later.
    fn of(path: &Path, file: &File) -> Result<SavedCapture, SaveError> {
        Ok(SavedCapture {
            path: path.to_path_buf(),
            file: file
                .try_clone()
                .map_err(|e| SaveError::KeepOpen(path.to_path_buf(), e))?,
        })
    }

    /// Keeps what a run adds to its saved capture: rewritten as pcapng, through the
    /// descriptor opened before privileges were dropped, with the program's calls when
    /// traced (a comment on every frame that carried a call's bytes, the whole trace in
    /// its section), the link's notes on the frames it touched, and the TLS secrets in a
    /// Decryption Secrets Block (so it opens decrypted in Wireshark and `wirelab
    /// report`). If that fails, a line says what the file holds instead.
    pub fn keep(&self, report: &Report, trace: Option<&crate::trace::Trace>, tls_keys: &str) {
        let mut notes = recv::frame_notes(report);
        crate::report::link::note_frames(report, &mut notes);
        let section = trace.map(recv::section_notes).unwrap_or_default();
        if let Err(e) =
            crate::capture::annotate::rewrite_as_pcapng(&self.file, &notes, &section, tls_keys)
        {
            let without = if trace.is_some() {
                "the program's calls"
            } else {
                "the TLS secrets"
            };
            eprintln!(
                "wirelab: {} holds the frames as a classic pcap file, without {without} ({e}); \
wirelab report and Wireshark read it by its content, whatever its name",
                self.path.display()
            );
        }
    }
}

/// Time to keep capturing after a program or a fetch ends, for the teardown's last ACK.
pub const GRACE: Duration = Duration::from_millis(300);

/// An opened session, still privileged.
pub struct Session {
    capture: LiveCapture,
    target: Target,
    /// The savefile, opened before privileges are dropped: rewritten through this
    /// descriptor at the end, so no permission on its folder is needed then.
    saved: Option<SavedCapture>,
    filter: Option<String>,
    /// Ctrl-C and SIGTERM stop the capture (not in the lab, which stops it when the
    /// program it runs has ended).
    stop_on_signals: bool,
}

/// The outcome of a session.
pub struct LiveResult {
    pub report: Report,
    pub stats: Option<LiveStats>,
    pub stop: StopReason,
}

/// A file opened for writing (and reading) now, to be written after privileges are
/// gone; it will belong to the user the process becomes.
pub fn create_for_target(path: &Path) -> Result<File, SaveError> {
    let path_buf = || path.to_path_buf();
    if holds_a_capture(path) {
        return Err(SaveError::HoldsACapture(path_buf()));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| SaveError::Create(path_buf(), e))?;
    privileges::give_to_target(&file, &privileges::target())
        .map_err(|e| SaveError::GiveToUser(path_buf(), e))?;
    Ok(file)
}

/// Whether `path` is an existing pcap or pcapng file (by its magic number).
fn holds_a_capture(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && matches!(
            u32::from_le_bytes(magic),
            0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0x0a0d_0d0a
        )
}

/// `base` if no such file exists, else `stem-2.ext`, `stem-3.ext`, ...: a capture
/// never overwrites an earlier one.
pub fn fresh_path(base: &Path) -> PathBuf {
    if !base.exists() {
        return base.to_path_buf();
    }
    let stem = base
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("capture");
    let ext = base.extension().and_then(|s| s.to_str()).unwrap_or("pcap");
    (2..)
        .map(|n| base.with_file_name(format!("{stem}-{n}.{ext}")))
        .find(|p| !p.exists())
        .expect("some name is free")
}

impl Session {
    /// Opens the capture and its savefile. Needs capture privileges.
    pub fn open(opts: &LiveOptions, save: Option<&Path>) -> Result<Session, LiveError> {
        let mut capture = LiveCapture::open(opts)?;
        let mut saved = None;
        if let Some(path) = save {
            let file = create_for_target(path).map_err(LiveError::Savefile)?;
            saved = Some(SavedCapture::of(path, &file).map_err(LiveError::Savefile)?);
            capture.save_to(file)?;
        }
        Ok(Session {
            capture,
            target: privileges::target(),
            saved,
            filter: opts.filter.clone(),
            stop_on_signals: true,
        })
    }

    /// The savefile, to be rewritten once the session has ended (with the program's
    /// calls, [`crate::capture::annotate`]): take it before dropping privileges.
    pub fn saved_file(&self) -> Result<Option<SavedCapture>, SaveError> {
        self.saved
            .as_ref()
            .map(|s| SavedCapture::of(&s.path, &s.file))
            .transpose()
    }

    /// Leaves Ctrl-C and SIGTERM to the caller: the capture stops only when told.
    pub fn without_signal_stop(mut self) -> Self {
        self.stop_on_signals = false;
        self
    }

    /// Gives up privileges for good (call before [`Session::start`]).
    pub fn drop_privileges(&self) -> Result<Dropped, privileges::DropError> {
        privileges::drop_privileges(&self.target)
    }

    /// Starts capturing in the background. `on_line` sees every TCP packet as it arrives.
    pub fn start(
        mut self,
        opts: Options,
        count: Option<u64>,
        duration: Option<Duration>,
        on_line: impl FnMut(&PacketLine) + Send + 'static,
    ) -> Running {
        let (tx, rx) = mpsc::channel::<StopReason>();
        let stopper = stopper(self.capture.breaker(), rx);
        let signal_handle = if self.stop_on_signals {
            watch_signals(tx.clone())
        } else {
            None
        };
        if let Some(d) = duration {
            let tx = tx.clone();
            thread::spawn(move || {
                thread::sleep(d);
                let _ = tx.send(StopReason::Duration);
            });
        }
        let count_tx = tx.clone();
        let linktype = self.capture.linktype();
        let capture_thread = thread::spawn(move || {
            // The capture thread only copies packets out (and libpcap writes the
            // savefile); the pipeline runs in its own thread, so a slow report never
            // makes the kernel drop packets. If the analysis falls
            // `Limits::analysis_backlog` bytes behind, frames are saved but not analysed
            // live (and counted: the source's `live_unanalysed`).
            let (frames_tx, frames_rx) = mpsc::channel::<OwnedFrame>();
            let backlog = Arc::new(AtomicUsize::new(0));
            let max_backlog = opts.limits.analysis_backlog;
            let analysis = analysis(opts, linktype, frames_rx, backlog.clone(), on_line);
            let mut seen = 0u64;
            let mut unanalysed = 0u64;
            let result = self.capture.run(|frame| {
                let size = frame.data.len();
                if backlog.load(Ordering::Relaxed) + size > max_backlog {
                    unanalysed += 1;
                } else {
                    backlog.fetch_add(size, Ordering::Relaxed);
                    let _ = frames_tx.send(OwnedFrame {
                        number: frame.number,
                        ts_us: frame.ts_us,
                        orig_len: frame.orig_len,
                        data: frame.data.to_vec(),
                    });
                }
                seen += 1;
                if count.is_some_and(|c| seen >= c) {
                    let _ = count_tx.send(StopReason::Count);
                    return false;
                }
                true
            });
            // However the capture ended (an error too), the stopper thread is told, so
            // that waiting for the session returns.
            let _ = count_tx.send(StopReason::Ended);
            drop(frames_tx);
            let builder = analysis.join().expect("the analysis thread does not panic");
            let stats = self.capture.stats();
            let source = self.source(stats, unanalysed);
            let error = result.err().map(|e| e.to_string());
            (builder.finish(source, error), stats)
        });
        Running {
            tx,
            stopper,
            capture_thread,
            signal_handle,
        }
    }

    /// The report's source: the interface, the filter, the kernel's drop counts, the
    /// frames saved but not analysed, and where the capture was saved.
    fn source(&self, stats: Option<LiveStats>, unanalysed: u64) -> Source {
        Source {
            kind: "live".into(),
            interface: Some(self.capture.interface().to_string()),
            format: "pcap".into(),
            linktype: self.capture.linktype().name(),
            filter: self.filter.clone(),
            kernel_dropped: stats.map(|s| s.dropped),
            interface_dropped: stats.map(|s| s.if_dropped),
            live_unanalysed: (unanalysed > 0).then_some(unanalysed),
            saved_to: self.saved.as_ref().map(|s| s.path.display().to_string()),
            ..Default::default()
        }
    }
}

/// The thread that turns the first stop request (a signal, the timer, the count, the
/// foreground) into a breakloop, and gives its reason.
fn stopper(
    breaker: pcap::BreakLoop,
    rx: mpsc::Receiver<StopReason>,
) -> thread::JoinHandle<StopReason> {
    thread::spawn(move || {
        let reason = rx.recv().unwrap_or(StopReason::Done);
        breaker.breakloop();
        reason
    })
}

/// Ctrl-C and SIGTERM stop the capture (a thread waits for them); None when they
/// cannot be caught.
fn watch_signals(tx: mpsc::Sender<StopReason>) -> Option<signal_hook::iterator::Handle> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])
    .ok()?;
    let handle = signals.handle();
    thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let name = if sig == signal_hook::consts::SIGINT {
                "Ctrl-C (SIGINT)"
            } else {
                "SIGTERM"
            };
            let _ = tx.send(StopReason::Signal(name));
        }
    });
    Some(handle)
}

/// The analysis thread: frames copied out by the capture thread go through the report
/// builder, each packet's line to `on_line`; `backlog` counts the bytes not yet
/// analysed. Niced: the capture thread comes first when the CPUs are busy.
fn analysis(
    opts: Options,
    linktype: Linktype,
    frames: mpsc::Receiver<OwnedFrame>,
    backlog: Arc<AtomicUsize>,
    mut on_line: impl FnMut(&PacketLine) + Send + 'static,
) -> thread::JoinHandle<ReportBuilder> {
    thread::spawn(move || {
        // Linux nices threads one by one.
        // SAFETY: setpriority on our own thread id has no memory effects.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
        }
        let mut builder = ReportBuilder::new(opts);
        for f in frames {
            let frame = Frame {
                number: f.number,
                ts_us: f.ts_us,
                orig_len: f.orig_len,
                linktype,
                data: &f.data,
            };
            if let Some(line) = builder.frame_line(&frame) {
                on_line(&line);
            }
            backlog.fetch_sub(f.data.len(), Ordering::Relaxed);
        }
        builder
    })
}

/// A session capturing in the background.
pub struct Running {
    tx: mpsc::Sender<StopReason>,
    stopper: thread::JoinHandle<StopReason>,
    capture_thread: thread::JoinHandle<(Report, Option<LiveStats>)>,
    signal_handle: Option<signal_hook::iterator::Handle>,
}

impl Running {
    /// Waits `grace` for the last packets (the final ACK of a teardown), then stops.
    pub fn stop_after(self, grace: Duration) -> LiveResult {
        thread::sleep(grace);
        let _ = self.tx.send(StopReason::Done);
        self.wait()
    }

    /// Waits until something stops the capture (signal, count, duration).
    pub fn wait(self) -> LiveResult {
        let stop = self.stopper.join().unwrap_or(StopReason::Done);
        let (report, stats) = self
            .capture_thread
            .join()
            .expect("the capture thread does not panic");
        if let Some(h) = self.signal_handle {
            h.close();
        }
        LiveResult {
            report,
            stats,
            stop,
        }
    }

    /// A sender that stops the session (for a foreground command's end).
    pub fn stopper(&self) -> mpsc::Sender<StopReason> {
        self.tx.clone()
    }
}
