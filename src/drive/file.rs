//! The file driver: a saved capture read frame by frame into the pipeline (with its
//! BPF filter, `--extract`, a progress callback, and connections streamed as they close).

use crate::capture::file::{CaptureFile, ReadError};
use crate::capture::filter::BpfFilter;
use crate::report::{Options, Report, ReportBuilder, model, recv};
use std::path::Path;

/// Told how far the reading of a file has come: (bytes read, frames, connections),
/// every few thousand frames.
pub type ProgressFn = Box<dyn FnMut(u64, u64, u64) + Send>;

/// Why a capture file could not be reported at all.
#[derive(Debug)]
pub enum ReplayError {
    Open(String),
    NotACapture,
    Filter(String),
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
        }
    }
}

/// Reads a saved capture and builds its report. A file cut mid-record still gives the
/// report of every frame before the cut, with `source.read_error` saying where it ends.
pub fn from_file(path: &Path, filter: Option<&str>, opts: Options) -> Result<Report, ReplayError> {
    read_file(path, filter, opts, None, None, None)
}

/// Like [`from_file`], telling `progress` how far it has come.
pub fn from_file_with_progress(
    path: &Path,
    filter: Option<&str>,
    opts: Options,
    progress: Option<ProgressFn>,
    stream: Option<Box<dyn FnMut(model::Connection) + Send>>,
) -> Result<Report, ReplayError> {
    read_file(path, filter, opts, None, stream, progress)
}

/// Like [`from_file`], handing every connection to `sink` as it closes (the returned
/// report lists none): memory stays bounded whatever the file's size.
pub fn stream_file(
    path: &Path,
    filter: Option<&str>,
    opts: Options,
    sink: Box<dyn FnMut(model::Connection) + Send>,
) -> Result<Report, ReplayError> {
    read_file(path, filter, opts, None, Some(sink), None)
}

/// Like [`from_file`], and calls `each` with every TCP packet's line, in capture order,
/// before the next frame is read (`wirelab replay` paces them).
pub fn replay_file(
    path: &Path,
    filter: Option<&str>,
    opts: Options,
    each: &mut dyn FnMut(&model::PacketLine),
) -> Result<Report, ReplayError> {
    read_file(path, filter, opts, Some(each), None, None)
}

fn read_file(
    path: &Path,
    filter: Option<&str>,
    opts: Options,
    mut each: Option<&mut dyn FnMut(&model::PacketLine)>,
    stream: Option<Box<dyn FnMut(model::Connection) + Send>>,
    mut progress: Option<ProgressFn>,
) -> Result<Report, ReplayError> {
    let mut bpf = filter
        .map(BpfFilter::new)
        .transpose()
        .map_err(ReplayError::Filter)?;
    let read = progress
        .as_ref()
        .map(|_| std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)));
    let mut file = CaptureFile::open_counting(path, read.clone()).map_err(|e| match e {
        ReadError::NotACapture => ReplayError::NotACapture,
        e => ReplayError::Open(e.to_string()),
    })?;
    let mut builder = ReportBuilder::new(opts.clone());
    if let Some(sink) = stream {
        builder = builder.stream_to(sink);
    }
    if let Some((dir, force)) = &opts.extract {
        let ex = crate::extract::Extractor::new(dir, *force)
            .map_err(|e| ReplayError::Open(format!("--extract {}: {e}", dir.display())))?;
        builder = builder.extract_to(ex);
    }
    let digests = builder.digests();
    file.share_chunks(Box::new(move |chunk| digests.share(chunk)));
    let mut frames = 0u64;
    // Frames whose time is earlier than a frame before them in the file.
    let (mut late, mut latest) = (0u64, i64::MIN);
    // Read in file order, as tshark does (frame numbers and the analysis follow it);
    // frames out of time order are counted and said once.
    let result = file.for_each(|frame| {
        frames += 1;
        late += u64::from(frame.ts_us < latest);
        latest = latest.max(frame.ts_us);
        if frames.is_multiple_of(8192)
            && let (Some(p), Some(r)) = (progress.as_mut(), &read)
        {
            let (packets, conns) = builder.progress();
            p(r.load(std::sync::atomic::Ordering::Relaxed), packets, conns);
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
    if let Some(trace) = recv::from_comments(&info.section_comments) {
        recv::attach(&mut report, &trace);
    }
    Ok(report)
}
