//! The file driver: a saved capture read frame by frame into the pipeline (with its
//! BPF filter, `--extract`, a progress callback, and connections streamed as they close).

use crate::capture::Frame;
use crate::capture::file::{CaptureFile, ReadError};
use crate::capture::file::{Chunk, offset_in};
use crate::capture::filter::{BpfFilter, FilterError};
use crate::dissect::{Dissector, Packet};
use crate::model;
use crate::report::builder::ListedHook;
use crate::report::{Options, Report, ReportBuilder, recv};
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    let (file, result) = if each.is_none() && bpf.is_none() && file.is_chunked() {
        read_with_help(file, &mut builder, &mut tally)
    } else {
        let digests = builder.digests();
        let mut shared: Option<Chunk> = None;
        let result = file.for_each_in_chunks(|chunk, frame| {
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
        });
        (file, result)
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

/// Reads and dissects the file a batch at a time for whichever thread is free: this
/// one, which runs the rest of the pipeline, when no batch is ready; the hashing thread
/// when it has nothing to hash (it decodes ahead, up to `DECODED_QUEUE` batches). Two
/// threads on two cores, each taking the work the other has no time for: where the
/// bodies are large the hashing thread has none to spare and this one reads as it
/// goes; where they are small it reads ahead. A reading thread of its own made three
/// threads for two cores, which left one core idle while the other two took turns on
/// the other (measured with `perf sched timehist` on the big-first bench capture).
fn read_with_help(
    file: CaptureFile,
    builder: &mut ReportBuilder,
    tally: &mut Tally,
) -> (CaptureFile, Result<(), ReadError>) {
    let digests = builder.digests();
    let shared = Arc::new(Decoding {
        decoder: Mutex::new(Decoder {
            file,
            dissector: builder.new_dissector(),
            filling: None,
        }),
        queue: Mutex::new(Queue::default()),
    });
    let ahead = shared.clone();
    digests.lend_idle(Box::new(move || ahead.decode_ahead()));
    while let Some(mut batch) = shared.next() {
        // Room ahead: the hashing thread, if it sleeps, may decode the next batch.
        digests.nudge();
        if let Some(chunk) = &batch.chunk {
            digests.share(chunk);
        }
        for (frame, packet) in batch.frames() {
            tally.frame(frame.ts_us, builder);
            builder.dissected(frame, packet);
        }
        batch.clear();
        let mut q = lock(&shared.queue);
        if q.spare.len() < DECODED_QUEUE + 2 {
            q.spare.push(batch);
        }
    }
    digests.take_back_idle();
    let shared = Arc::try_unwrap(shared)
        .ok()
        .expect("the hashing thread gave the decoder back");
    let d = shared
        .decoder
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    let q = shared.queue.into_inner().unwrap_or_else(|p| p.into_inner());
    builder.dissected_by(d.dissector);
    (d.file, q.end.unwrap_or(Ok(())))
}

/// A lock whose holder's panic is told where it happened.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A file read in chunks and decoded into batches in file order by whichever thread
/// asks: the decoder is held while a batch is decoded, the queue only to take or put
/// one (so that taking a ready batch never waits for the next to be decoded).
struct Decoding {
    decoder: Mutex<Decoder>,
    queue: Mutex<Queue>,
}

struct Decoder {
    file: CaptureFile,
    dissector: Dissector,
    /// The batch frames are being added to.
    filling: Option<Decoded>,
}

#[derive(Default)]
struct Queue {
    /// Batches decoded and not yet taken, in file order.
    ready: VecDeque<Decoded>,
    /// Emptied batches, for their frame lists to be filled again.
    spare: Vec<Decoded>,
    /// How the file ended, once it has: read to its end, or an error.
    end: Option<Result<(), ReadError>>,
    /// A panic of the hashing thread's decoding, to be raised on the pipeline's (the
    /// hashing thread would end with it, unheard).
    panic: Option<Box<dyn std::any::Any + Send>>,
}

impl Decoding {
    /// The next batch for the pipeline: a ready one, else one decoded now (or the one
    /// the hashing thread is decoding, once it is).
    fn next(&self) -> Option<Decoded> {
        if let Some(b) = self.take_ready() {
            return Some(b);
        }
        let mut d = lock(&self.decoder);
        if let Some(b) = self.take_ready() {
            return Some(b);
        }
        self.decode_one(&mut d);
        self.take_ready()
    }

    fn take_ready(&self) -> Option<Decoded> {
        let mut q = lock(&self.queue);
        if let Some(panic) = q.panic.take() {
            drop(q);
            std::panic::resume_unwind(panic);
        }
        q.ready.pop_front()
    }

    /// One batch decoded ahead, unless enough are or the file has ended: the hashing
    /// thread's idle work. False if it decoded none.
    fn decode_ahead(&self) -> bool {
        let Ok(mut d) = self.decoder.try_lock() else {
            // The pipeline decodes the batch it waits for.
            return false;
        };
        {
            let q = lock(&self.queue);
            if q.ready.len() >= DECODED_QUEUE || q.end.is_some() {
                return false;
            }
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.decode_one(&mut d))) {
            Ok(decoded) => decoded,
            Err(panic) => {
                let mut q = lock(&self.queue);
                q.panic = Some(panic);
                q.end = Some(Ok(()));
                false
            }
        }
    }

    /// Decodes frames until one more batch is ready or the file ends (the decoder held:
    /// batches are queued in file order); false if no batch was queued.
    fn decode_one(&self, d: &mut Decoder) -> bool {
        let mut done: Vec<Decoded> = Vec::new();
        let mut spare = {
            let mut q = lock(&self.queue);
            if q.end.is_some() {
                return false;
            }
            q.spare.pop()
        };
        let Decoder {
            file,
            dissector,
            filling,
        } = d;
        let result = file.some_in_chunks(|chunk, frame| {
            if let Some(b) = filling.take_if(|b| b.full_or_not_of(chunk)) {
                done.push(b);
            }
            let b = filling.get_or_insert_with(|| {
                let mut b = spare.take().unwrap_or_default();
                b.chunk = Some(chunk.clone());
                b
            });
            b.push(frame, |frame| dissector.dissect(frame));
            match done.is_empty() {
                true => ControlFlow::Continue(()),
                false => ControlFlow::Break(()),
            }
        });
        let mut q = lock(&self.queue);
        q.spare.extend(spare);
        if !matches!(result, Ok(true)) {
            done.extend(filling.take());
            q.end = Some(result.map(drop));
        }
        let queued = !done.is_empty();
        q.ready.extend(done);
        queued
    }
}

/// Frames of one chunk and what they dissected to, decoded by either thread
/// ([`Decoding`]) for the pipeline's.
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
        self.frames.reserve(1);
        let slot = self.frames.spare_capacity_mut()[0].as_mut_ptr();
        // SAFETY: the frame's bytes lie in `self.chunk` (checked above), and the packet
        // borrows only the frame's bytes (`Dissector::dissect` ties its lifetime to
        // them); the chunk outlives both, as the type's comment says. The slot is spare
        // capacity: both fields are written (the packet straight into its place, not
        // moved after) before the length covers it.
        unsafe {
            let slot = slot.cast::<(Frame<'a>, Packet<'a>)>();
            std::ptr::addr_of_mut!((*slot).0).write(*frame);
            std::ptr::addr_of_mut!((*slot).1).write(dissect(frame));
            self.frames.set_len(self.frames.len() + 1);
        }
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
