//! Stage 1, live: frames from a network interface through libpcap, with a kernel BPF
//! filter, delivery in batches at most 100 ms old (a teaching tool shows each packet
//! as it comes, and batching keeps libpcap on Linux's TPACKET_V3 ring, where packets
//! are packed tightly: immediate mode falls back to TPACKET_V2's one-snaplen-per-slot
//! ring, which holds only 32 packets of 256 KiB in 8 MiB and drops under load), and an
//! optional pcap savefile flushed after every batch so that it is complete however
//! the capture stops. The handle is opened with privileges; the caller drops them
//! (see [`super::privileges`]) before [`LiveCapture::run`] reads a packet.

use super::{Frame, Linktype};
use pcap::{Active, BreakLoop, Capture, Device};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `-w` file: classic pcap written with `pcap-file` through our own buffered
/// descriptor, so that every failed write (a full disk) is seen, which libpcap's
/// `pcap_dump` does not report.
struct SaveFile {
    writer: PcapWriter<SharedFile>,
    file: SharedFile,
}

/// One buffered file shared by the pcap writer (which owns its writer) and the flush.
#[derive(Clone)]
struct SharedFile(Arc<Mutex<BufWriter<File>>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .flush()
    }
}

impl SaveFile {
    fn new(file: File, linktype: Linktype, snaplen: i32) -> Result<SaveFile, LiveError> {
        let file = SharedFile(Arc::new(Mutex::new(BufWriter::with_capacity(
            1 << 20,
            file,
        ))));
        let header = PcapHeader {
            snaplen: snaplen.max(0) as u32,
            datalink: DataLink::from(linktype.0 as u32),
            endianness: Endianness::native(),
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(file.clone(), header)
            .map_err(|e| LiveError::Savefile(SaveError::Start(io::Error::other(e))))?;
        let mut save = SaveFile { writer, file };
        save.flush()
            .map_err(|e| LiveError::Savefile(SaveError::Start(e)))?;
        Ok(save)
    }

    fn write(&mut self, packet: &pcap::Packet<'_>) -> io::Result<()> {
        let ts = packet.header.ts;
        let ts = Duration::new(ts.tv_sec.max(0) as u64, (ts.tv_usec.max(0) as u32) * 1000);
        self.writer
            .write_packet(&PcapPacket::new(ts, packet.header.len, packet.data))
            .map(|_| ())
            .map_err(|e| match e {
                pcap_file::PcapError::IoError(e) => e,
                e => io::Error::other(e.to_string()),
            })
    }

    /// Hands the buffered packets to the kernel (so the file is whole however the
    /// process ends).
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Whether a network interface of this name exists now.
fn interface_exists(name: &str) -> bool {
    std::ffi::CString::new(name)
        // SAFETY: if_nametoindex reads a NUL-terminated string we own.
        .map(|c| unsafe { libc::if_nametoindex(c.as_ptr()) } != 0)
        .unwrap_or(false)
}

/// What to capture.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub interface: String,
    pub filter: Option<String>,
    /// Bytes kept of each packet (tcpdump's -s).
    pub snaplen: i32,
    /// Kernel buffer, bytes.
    pub buffer_size: i32,
}

impl LiveOptions {
    pub fn new(interface: &str) -> Self {
        LiveOptions {
            interface: interface.to_string(),
            filter: None,
            snaplen: 262_144,
            buffer_size: 8 << 20,
        }
    }
}

/// Why a live capture could not start or go on.
#[derive(Debug)]
pub enum LiveError {
    UnknownInterface { name: String, known: Vec<String> },
    NoPermission { interface: String, message: String },
    Filter { filter: String, message: String },
    Savefile(SaveError),
    Capture(String),
}

/// Why the file a capture is saved into could not be made ready, or written.
#[derive(Debug)]
pub enum SaveError {
    /// It holds a capture already: wirelab never overwrites one.
    HoldsACapture(std::path::PathBuf),
    Create(std::path::PathBuf, io::Error),
    /// It could not be given to the user wirelab becomes.
    GiveToUser(std::path::PathBuf, io::Error),
    /// A second descriptor of it (kept to rewrite it as pcapng) could not be made.
    KeepOpen(std::path::PathBuf, io::Error),
    /// Its header could not be written (before any packet).
    Start(io::Error),
    /// Writing failed mid-capture (a full disk): the capture stopped there.
    Stopped(io::Error),
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaveError::HoldsACapture(p) => write!(
                f,
                "{} already holds a capture, and wirelab never overwrites one: choose another \
name, or remove it first",
                p.display()
            ),
            SaveError::Create(p, e) => write!(f, "cannot write {}: {e}", p.display()),
            SaveError::GiveToUser(p, e) => {
                write!(f, "cannot give {} to the invoking user: {e}", p.display())
            }
            SaveError::KeepOpen(p, e) => write!(f, "cannot keep {} open: {e}", p.display()),
            SaveError::Start(e) => write!(f, "cannot write the capture file: {e}"),
            SaveError::Stopped(e) => write!(
                f,
                "writing the capture file failed ({e}): the capture stopped here; \
the packets written before it are in the file"
            ),
        }
    }
}

impl std::error::Error for SaveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SaveError::HoldsACapture(_) => None,
            SaveError::Create(_, e)
            | SaveError::GiveToUser(_, e)
            | SaveError::KeepOpen(_, e)
            | SaveError::Start(e)
            | SaveError::Stopped(e) => Some(e),
        }
    }
}

impl std::fmt::Display for LiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveError::UnknownInterface { name, known } => write!(
                f,
                "there is no interface {name:?}; this machine has: {} (see `wirelab interfaces`)",
                known.join(", ")
            ),
            LiveError::NoPermission { interface, message } => write!(
                f,
                "capturing on {interface} needs privileges ({message}): run it with sudo, or \
                 give the binary the capture capabilities once with `sudo scripts/grant-capture.sh`; \
                 to study without capturing, replay a bundled capture: wirelab report captures/romeo.pcap"
            ),
            LiveError::Filter { filter, message } => {
                write!(f, "the filter {filter:?} is not valid BPF: {message}")
            }
            LiveError::Savefile(e) => e.fmt(f),
            LiveError::Capture(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for LiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LiveError::Savefile(e) => Some(e),
            _ => None,
        }
    }
}

/// Kernel counters (libpcap's `pcap_stats`).
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveStats {
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
}

/// An open live capture.
pub struct LiveCapture {
    cap: Capture<Active>,
    linktype: Linktype,
    savefile: Option<SaveFile>,
    interface: String,
    frames: u64,
    snaplen: i32,
}

/// Names of the interfaces libpcap can capture on.
pub fn interface_names() -> Vec<String> {
    Device::list()
        .map(|l| l.into_iter().map(|d| d.name).collect())
        .unwrap_or_default()
}

impl LiveCapture {
    /// Opens the interface (needs CAP_NET_RAW) and attaches the filter in the kernel.
    pub fn open(opts: &LiveOptions) -> Result<LiveCapture, LiveError> {
        let known = interface_names();
        if !known.contains(&opts.interface) {
            return Err(LiveError::UnknownInterface {
                name: opts.interface.clone(),
                known,
            });
        }
        let inactive = Capture::from_device(opts.interface.as_str())
            .map_err(|e| LiveError::Capture(e.to_string()))?
            .promisc(false)
            .immediate_mode(false)
            .snaplen(opts.snaplen)
            .buffer_size(opts.buffer_size)
            .timeout(100);
        let mut cap = inactive.open().map_err(|e| {
            let message = e.to_string();
            if message.contains("permitted") || message.contains("ermission") {
                LiveError::NoPermission {
                    interface: opts.interface.clone(),
                    message,
                }
            } else {
                LiveError::Capture(format!("cannot capture on {}: {message}", opts.interface))
            }
        })?;
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|e| LiveError::Filter {
                filter: f.clone(),
                message: e.to_string(),
            })?;
        }
        let linktype = Linktype(cap.get_datalink().0);
        Ok(LiveCapture {
            cap,
            linktype,
            savefile: None,
            interface: opts.interface.clone(),
            frames: 0,
            snaplen: opts.snaplen,
        })
    }

    pub fn linktype(&self) -> Linktype {
        self.linktype
    }
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Every packet read from now on is also written, as classic pcap, to `file` (opened
    /// by the caller, so that it can be made before privileges are dropped).
    pub fn save_to(&mut self, file: File) -> Result<(), LiveError> {
        self.savefile = Some(SaveFile::new(file, self.linktype, self.snaplen)?);
        Ok(())
    }

    /// A handle that stops [`LiveCapture::run`] from another thread (each call gives one).
    pub fn breaker(&mut self) -> BreakLoop {
        self.cap.breakloop_handle()
    }

    /// Reads packets until stopped (a [`BreakLoop`] from [`LiveCapture::breaker`], or
    /// `handler` returning `false` for a frame); `Ok` is a requested stop.
    pub fn run(&mut self, mut handler: impl FnMut(&Frame<'_>) -> bool) -> Result<(), LiveError> {
        let stop_self = self.cap.breakloop_handle();
        let linktype = self.linktype;
        let mut stop = false;
        loop {
            let frames = &mut self.frames;
            let savefile = &mut self.savefile;
            let mut write_error = None;
            let result = self.cap.dispatch(None, |packet| {
                if let Some(s) = savefile.as_mut()
                    && write_error.is_none()
                    && let Err(e) = s.write(&packet)
                {
                    write_error = Some(e);
                    stop = true;
                    stop_self.breakloop();
                }
                *frames += 1;
                let ts = packet.header.ts;
                let frame = Frame {
                    number: *frames,
                    ts_us: ts.tv_sec * 1_000_000 + ts.tv_usec,
                    orig_len: packet.header.len,
                    linktype,
                    data: packet.data,
                };
                if !stop && !handler(&frame) {
                    stop = true;
                    stop_self.breakloop();
                }
            });
            let flushed = match (write_error, self.savefile.as_mut()) {
                (Some(e), _) => Err(e),
                (None, Some(s)) => s.flush(),
                (None, None) => Ok(()),
            };
            flushed.map_err(|e| LiveError::Savefile(SaveError::Stopped(e)))?;
            // libpcap on Linux does not notice a deleted interface; it only stops
            // delivering. So look whenever a batch came back empty (every 100 ms of
            // silence), not on the busy path.
            let empty = matches!(result, Ok(0) | Err(pcap::Error::TimeoutExpired));
            if empty && self.interface != "any" && !interface_exists(&self.interface) {
                return Err(LiveError::Capture(format!(
                    "capture on {} ended: the interface disappeared (unplugged or deleted); \
the packets captured before are kept",
                    self.interface
                )));
            }
            match result {
                Ok(_) if !stop => continue,
                Ok(_) | Err(pcap::Error::NoMorePackets) => return Ok(()),
                // pcap_dispatch's -2 (PCAP_ERROR_BREAK) after pcap_breakloop comes back as
                // an error with libpcap's (empty) message: a requested stop.
                Err(pcap::Error::PcapError(m)) if m.is_empty() => return Ok(()),
                Err(pcap::Error::TimeoutExpired) => continue,
                Err(e) => {
                    return Err(LiveError::Capture(format!(
                        "capture on {} ended: {e}",
                        self.interface
                    )));
                }
            }
        }
    }

    /// The kernel's counters, if the platform gives them.
    pub fn stats(&mut self) -> Option<LiveStats> {
        self.cap.stats().ok().map(|s| LiveStats {
            received: s.received as u64,
            dropped: s.dropped as u64,
            if_dropped: s.if_dropped as u64,
        })
    }
}
