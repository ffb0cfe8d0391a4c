//! The file driver: a saved capture read frame by frame into the pipeline (with its
//! BPF filter, `--extract`, a progress callback, and connections streamed as they close).

use crate::capture::Frame;
use crate::capture::file::{CaptureFile, ReadError};
use crate::capture::file::{Chunk, offset_in};
use crate::capture::filter::{BpfFilter, FilterError};
use crate::dissect::Packet;
use crate::model;
use crate::report::builder::ListedHook;
use crate::report::{Options, Report, ReportBuilder, recv};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Told how far the reading of a file has come: (bytes read, frames, connections),
/// every few thousand frames.
pub type ProgressFn = Box<dyn FnMut(u64, u64, u64) + Send>;

/// Why a capture file could not be reported at all.
#[derive(Debug)]
pub enum ReplayError {
    Open(ReadError),
    NotACapture,
    Filter(FilterError),
    /// `--extract DIR` could not be made ready.
    Extract(std::path::PathBuf, std::io::Error),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Open(e) => write!(f, "{e}"),
            ReplayError::NotACapture => write!(
                f,
                "not a pcap or pcapng capture file (save captures with tcpdump -w, tshark -w or wirelab capture -w)"
            ),
            ReplayError::Filter(e) => write!(f, "{e}"),
            ReplayError::Extract(dir, e) => write!(f, "--extract {}: {e}", dir.display()),
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReplayError::Open(e) => Some(e),
            ReplayError::Filter(e) => Some(e),
            ReplayError::Extract(_, e) => Some(e),
            ReplayError::NotACapture => None,
        }
    }
}

/// Reads a saved capture and builds its report. A file cut mid-record still gives the
/// report of every frame before the cut, with `source.read_error` saying where it ends.
pub fn from_file(path: &Path, filter: Option<&str>, opts: Options) -> Result<Report, ReplayError> {
    read_file(path, filter, opts, None, None, None, None)
}

/// Like [`from_file`], telling `progress` how far it has come; `stream` takes each
/// connection as it closes instead of the report, and `listed_done` is given the listed
/// connections once they are final ([`ReportBuilder::when_listed_done`]).
pub fn from_file_with_progress(
    path: &Path,
    filter: Option<&str>,
    opts: Options,
    progress: Option<ProgressFn>,
    stream: Option<Box<dyn FnMut(model::Connection) + Send>>,
    listed_done: Option<ListedHook>,
) -> Result<Report, ReplayError> {
    read_file(path, filter, opts, None, stream, progress, listed_done)
}

/// Like [`from_file`], handing every connection to `sink` as it closes (the returned
/// report lists none): memory stays bounded whatever the file's size.
pub fn stream_file(
    path: &Path,
    filter: Option<&str>,
    opts: Options,
    sink: Box<dyn FnMut(model::Connection) + Send>,
) -> Result<Report, ReplayError> {
    read_file(path, filter, opts, None, Some(sink), None, None)
}

/// Like [`from_file`], and calls `each` with every TCP packet's line, in capture order,
/// before the next frame is read (`wirelab replay` paces them).
pub fn replay_file(
    path: &Path,
    filter: Option<&str>,
    opts: Options,
    each: &mut dyn FnMut(&model::PacketLine),
) -> Result<Report, ReplayError> {
    read_file(path, filter, opts, Some(each), None, None, None)
}

fn read_file(
    path: &Path,
    filter: Option<&str>,
    opts: Options,
    mut each: Option<&mut dyn FnMut(&model::PacketLine)>,
    stream: Option<Box<dyn FnMut(model::Connection) + Send>>,
    progress: Option<ProgressFn>,
    listed_done: Option<ListedHook>,
) -> Result<Report, ReplayError> {
    let mut bpf = filter
        .map(BpfFilter::new)
        .transpose()
        .map_err(ReplayError::Filter)?;
    let read = progress.as_ref().map(|_| Arc::new(AtomicU64::new(0)));
    let mut file = CaptureFile::open_counting(path, read.clone()).map_err(|e| match e {
        ReadError::NotACapture => ReplayError::NotACapture,
        e => ReplayError::Open(e),
    })?;
    // The TLS secrets the file carries join those given (--keylog).
    let mut opts = opts;
    let keys = opts
        .key_log
        .get_or_insert_with(|| Arc::new(crate::keylog::KeyLog::new()))
        .clone();
    file.on_secrets(Box::new(move |text| {
        keys.add_text(&String::from_utf8_lossy(text));
    }));
    let mut builder = ReportBuilder::new(opts.clone());
    if let Some(sink) = stream {
        builder = builder.stream_to(sink);
    }
    if let Some(hook) = listed_done {
        builder = builder.when_listed_done(hook);
    }
    if let Some((dir, force)) = &opts.extract {
        let ex = crate::extract::Extractor::new(dir, *force)
            .map_err(|e| ReplayError::Extract(dir.clone(), e))?;
        builder = builder.extract_to(ex);
    }
    // Frames whose time is earlier than a frame before them in the file: read in file
    // order, as tshark does (frame numbers and the analysis follow it); counted, said once.
    let mut tally = Tally {
        progress: progress.zip(read),
        ..Tally::default()
    };
    let result = if each.is_none() && bpf.is_none() && file.is_chunked() {
        read_in_two(&mut file, &mut builder, &mut tally)
    } else {
        let digests = builder.digests();
        let mut shared: Option<Chunk> = None;
        file.for_each_in_chunks(|chunk, frame| {
            tally.frame(frame.ts_us, &builder);
            if let Some(c) = chunk
                && !shared.as_ref().is_some_and(|s| Arc::ptr_eq(s, c))
            {
                digests.share(c);
                shared = Some(c.clone());
            }
            if bpf.as_mut().is_none_or(|f| f.matches(frame)) {
                match each.as_mut() {
                    Some(each) => {
                        if let Some(line) = builder.frame_line(frame) {
                            each(&line);
                        }
                    }
                    None => builder.frame(frame),
                }
            } else {
                builder.filtered(frame)
            }
        })
    };
    let late = tally.late;
    let info = file.info();
    let source = model::Source {
        kind: "file".into(),
        path: Some(path.display().to_string()),
        format: info.format.to_string(),
        linktype: info
            .linktypes
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join("|"),
        filter: filter.map(str::to_string),
        frames_out_of_time_order: late,
        ..Default::default()
    };
    if let Err(ReadError::NotACapture) = result {
        return Err(ReplayError::NotACapture);
    }
    let mut report = builder.finish(source, result.err().map(|e| e.to_string()));
    // A capture saved by wirelab keeps the program's calls: the same recv tables as live.
    // It is a claim: checked against the packets (recv::attach), bounded by the limits.
    match recv::from_comments(&info.section_comments, &opts.limits) {
        Some(Ok(trace)) => {
            recv::attach(&mut report, &trace, &opts.limits);
            report.lab = trace.lab;
            crate::report::link::attach(&mut report);
        }
        Some(Err(why)) => {
            report.trace = Some(model::TraceInfo {
                not_read: Some(format!(
                    "the program's trace in this file was not read: {why}"
                )),
                ..Default::default()
            })
        }
        None => {}
    }
    Ok(report)
}

/// Frames counted as they are read: those earlier in time than one before them, and
/// the progress bar told every 8192 (with the bytes read so far).
#[derive(Default)]
struct Tally {
    frames: u64,
    late: u64,
    latest: i64,
    progress: Option<(ProgressFn, Arc<AtomicU64>)>,
}

impl Tally {
    fn frame(&mut self, ts_us: i64, builder: &ReportBuilder) {
        if self.frames == 0 {
            self.latest = ts_us;
        }
        self.frames += 1;
        self.late += u64::from(ts_us < self.latest);
        self.latest = self.latest.max(ts_us);
        if self.frames.is_multiple_of(8192)
            && let Some((p, read)) = self.progress.as_mut()
        {
            let (packets, conns) = builder.progress();
            p(read.load(Ordering::Relaxed), packets, conns);
        }
    }
}

/// Frames decoded at most in one batch.
const DECODED_BATCH: usize = 512;
/// Batches decoded ahead of the pipeline at most.
const DECODED_QUEUE: usize = 4;

/// Reads and dissects on a thread of its own while this one runs the rest of the
/// pipeline on what it decoded, in file order: the two stages that feed nothing back
/// on two cores (the hashing thread takes what the cores have left).
fn read_in_two(
    file: &mut CaptureFile,
    builder: &mut ReportBuilder,
    tally: &mut Tally,
) -> Result<(), ReadError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Decoded>(DECODED_QUEUE);
    let (spare_tx, spare_rx) = std::sync::mpsc::sync_channel::<Decoded>(DECODED_QUEUE + 2);
    let digests = builder.digests();
    let mut dissector = builder.new_dissector();
    std::thread::scope(|scope| {
        let reading = std::thread::Builder::new()
            .name("wirelab-read".into())
            .spawn_scoped(scope, move || {
                let mut batch: Option<Decoded> = None;
                let result = file.for_each_in_chunks(|chunk, frame| {
                    let chunk = chunk.expect("a chunked file (checked by the caller)");
                    if let Some(b) = batch.take_if(|b| b.full_or_not_of(chunk)) {
                        // The pipeline stopped only if it panicked: that panic is told.
                        let _ = tx.send(b);
                    }
                    let b = batch.get_or_insert_with(|| {
                        let mut b = spare_rx.try_recv().unwrap_or_default();
                        b.chunk = Some(chunk.clone());
                        b
                    });
                    b.push(frame, |frame| dissector.dissect(frame));
                });
                if let Some(b) = batch {
                    let _ = tx.send(b);
                }
                (dissector, result)
            })
            .expect("the reading thread starts");
        for mut batch in rx {
            if let Some(chunk) = &batch.chunk {
                digests.share(chunk);
            }
            for (frame, packet) in batch.frames() {
                tally.frame(frame.ts_us, builder);
                builder.dissected(frame, packet);
            }
            batch.clear();
            let _ = spare_tx.try_send(batch);
        }
        let (dissector, result) = reading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        builder.dissected_by(dissector);
        result
    })
}

/// Frames of one chunk and what they dissected to, sent from the reading thread.
///
/// The frames and packets borrow the chunk's bytes (and nothing else: a packet
/// borrows only its frame's bytes, the rest it owns). `'static` stands for "while
/// `chunk` is held", which this batch does: the chunk is immutable, and it is dropped
/// after the frames (field order), which have no destructor that reads what they borrow.
#[derive(Default)]
struct Decoded {
    frames: Vec<(Frame<'static>, Packet<'static>)>,
    chunk: Option<Chunk>,
}

impl Decoded {
    fn full_or_not_of(&self, chunk: &Chunk) -> bool {
        self.frames.len() >= DECODED_BATCH
            || !self.chunk.as_ref().is_some_and(|c| Arc::ptr_eq(c, chunk))
    }

    /// Adds a frame of `self.chunk` and the packet `dissect` makes of it, written in
    /// its place in the batch (a packet is a few hundred bytes: not moved again).
    fn push<'a>(&mut self, frame: &Frame<'a>, dissect: impl FnOnce(&Frame<'a>) -> Packet<'a>) {
        let chunk = self.chunk.as_ref().expect("a batch is of a chunk");
        assert!(
            offset_in(chunk, frame.data).is_some(),
            "a frame lies in its chunk"
        );
        if self.frames.capacity() == 0 {
            self.frames.reserve_exact(DECODED_BATCH);
        }
        // SAFETY: the frame's bytes lie in `self.chunk` (checked above), and the packet
        // borrows only the frame's bytes (`Dissector::dissect` ties its lifetime to
        // them); the chunk outlives both, as the type's comment says. The slot is
        // written once, with a packet of the frame, before anything reads it.
        let kept = unsafe { std::mem::transmute::<Frame<'a>, Frame<'static>>(*frame) };
        self.frames.push((kept, Packet::placeholder()));
        let slot = &mut self.frames.last_mut().expect("just pushed").1;
        let slot = unsafe { &mut *(slot as *mut Packet<'static>).cast::<Packet<'a>>() };
        *slot = dissect(frame);
    }

    /// The frames and packets, borrowed no longer than the batch (and its chunk) lives.
    fn frames(&self) -> &[(Frame<'_>, Packet<'_>)] {
        &self.frames
    }

    /// Empties the batch for reuse (its frames first, then its chunk).
    fn clear(&mut self) {
        self.frames.clear();
        self.chunk = None;
    }
}
