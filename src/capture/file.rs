//! Reading `.pcap` (either byte order, micro- or nanosecond) and `.pcapng` (several
//! sections, several interfaces of different link types) files.

use super::{Frame, Linktype};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Why reading stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The file is not a pcap or pcapng capture.
    NotACapture,
    /// The file ends in the middle of a record, after `offset` bytes.
    Truncated {
        offset: u64,
    },
    /// The bytes at `offset` are not a valid record.
    Corrupt {
        offset: u64,
        what: String,
    },
    Io(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotACapture => write!(f, "not a pcap or pcapng capture file"),
            ReadError::Truncated { offset } => {
                write!(
                    f,
                    "the file ends in the middle of a record at byte {offset} (cut off while it was being written?)"
                )
            }
            ReadError::Corrupt { offset, what } => {
                write!(f, "corrupt record at byte {offset}: {what}")
            }
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Format facts gathered while reading.
#[derive(Debug, Clone, Default)]
pub struct FileInfo {
    /// "pcap", "pcap-nsec" or "pcapng".
    pub format: &'static str,
    pub big_endian: bool,
    /// Link types in order of appearance (one per pcapng interface).
    pub linktypes: Vec<Linktype>,
    /// Comments of the pcapng sections, in order (at most 64 MiB in all).
    pub section_comments: Vec<String>,
}

/// Section comments kept at most, in bytes.
const MAX_SECTION_COMMENTS: usize = 64 << 20;

struct Interface {
    linktype: Linktype,
    /// Units per second of the timestamps.
    resolution: u64,
    offset_s: i64,
}

/// Streams the frames of a capture file to a callback, in file order.
pub struct CaptureFile {
    reader: Box<dyn PcapReaderIterator + Send>,
    info: FileInfo,
    interfaces: Vec<Interface>,
    legacy: Option<(Linktype, u64)>,
    number: u64,
}

fn corrupt<I>(e: &PcapError<I>, offset: u64) -> ReadError {
    match e {
        PcapError::Incomplete(_) | PcapError::UnexpectedEof => ReadError::Truncated { offset },
        PcapError::ReadError => ReadError::Io("read error".into()),
        PcapError::HeaderNotRecognized => ReadError::NotACapture,
        PcapError::BufferTooSmall => ReadError::Corrupt {
            offset,
            what: "a record larger than 16 MiB".into(),
        },
        PcapError::NomError(_, k) | PcapError::OwnedNomError(_, k) => ReadError::Corrupt {
            offset,
            what: format!("unparseable block ({k:?})"),
        },
        PcapError::Eof => ReadError::Truncated { offset },
    }
}

const BUFFER: usize = 1 << 20;
const MAX_BUFFER: usize = 16 << 20;

/// A reader that counts what it read.
struct Counting<R> {
    inner: R,
    read: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(r) = &self.read {
            r.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl CaptureFile {
    /// Opens a file; fails if it cannot be opened or is not a capture.
    /// Gzip-compressed captures (`.pcap.gz`, as tshark reads them) are decompressed on the fly.
    pub fn open(path: &Path) -> Result<CaptureFile, ReadError> {
        Self::open_counting(path, None)
    }

    /// Like [`CaptureFile::open`], adding the bytes read from the file to `read` (for a
    /// progress bar).
    pub fn open_counting(
        path: &Path,
        read: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    ) -> Result<CaptureFile, ReadError> {
        let mut file = File::open(path).map_err(|e| ReadError::Io(e.to_string()))?;
        let mut magic = [0u8; 2];
        let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
        file.seek(SeekFrom::Start(0))
            .map_err(|e| ReadError::Io(e.to_string()))?;
        let file = Counting { inner: file, read };
        if gz {
            Self::from_reader(flate2::read::MultiGzDecoder::new(file))
        } else {
            Self::from_reader(file)
        }
    }

    pub fn from_reader<R: std::io::Read + Send + 'static>(r: R) -> Result<CaptureFile, ReadError> {
        let reader = pcap_parser::create_reader(BUFFER, r).map_err(|e| match e {
            PcapError::Eof | PcapError::Incomplete(_) | PcapError::HeaderNotRecognized => {
                ReadError::NotACapture
            }
            e => corrupt(&e, 0),
        })?;
        Ok(CaptureFile {
            reader,
            info: FileInfo::default(),
            interfaces: Vec::new(),
            legacy: None,
            number: 0,
        })
    }

    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// Calls `f` for every frame. Returns `Err` if reading stopped before the end of
    /// the file; every frame before that point has been delivered.
    pub fn for_each(&mut self, mut f: impl FnMut(&Frame<'_>)) -> Result<(), ReadError> {
        loop {
            let consumed = self.reader.consumed() as u64;
            match self.reader.next() {
                Ok((len, block)) => {
                    let frame = match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            let lt = Linktype(h.network.0);
                            let nsec = h.is_nanosecond_precision();
                            self.info.format = if nsec { "pcap-nsec" } else { "pcap" };
                            self.info.big_endian = h.is_bigendian();
                            self.info.linktypes = vec![lt];
                            self.legacy = Some((lt, if nsec { 1_000_000_000 } else { 1_000_000 }));
                            None
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let (lt, res) = self.legacy.unwrap_or((Linktype::ETHERNET, 1_000_000));
                            self.number += 1;
                            let frac = b.ts_usec as i64 * 1_000_000 / res as i64;
                            let n = (b.caplen as usize).min(b.data.len());
                            Some(Frame {
                                number: self.number,
                                ts_us: b.ts_sec as i64 * 1_000_000 + frac,
                                orig_len: b.origlen,
                                linktype: lt,
                                data: &b.data[..n],
                            })
                        }
                        PcapBlockOwned::NG(block) => match block {
                            Block::SectionHeader(sh) => {
                                self.info.format = "pcapng";
                                self.info.big_endian = sh.big_endian();
                                let mut kept: usize =
                                    self.info.section_comments.iter().map(String::len).sum();
                                for o in &sh.options {
                                    if o.code == pcap_parser::OptionCode::Comment
                                        && let Ok(text) = o.as_str()
                                        && kept + text.len() <= MAX_SECTION_COMMENTS
                                    {
                                        kept += text.len();
                                        self.info.section_comments.push(text.to_string());
                                    }
                                }
                                self.interfaces.clear();
                                None
                            }
                            Block::InterfaceDescription(idb) => {
                                let lt = Linktype(idb.linktype.0);
                                if !self.info.linktypes.contains(&lt) {
                                    self.info.linktypes.push(lt);
                                }
                                self.interfaces.push(Interface {
                                    linktype: lt,
                                    resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                                    offset_s: idb.ts_offset(),
                                });
                                None
                            }
                            Block::EnhancedPacket(epb) => {
                                self.number += 1;
                                let iface = self.interfaces.get(epb.if_id as usize);
                                let (lt, res, off) = iface
                                    .map(|i| (i.linktype, i.resolution, i.offset_s))
                                    .unwrap_or((Linktype(-1), 1_000_000, 0));
                                let ts = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                                // A corrupt timestamp or offset saturates rather than wraps
                                // (found by the fuzzer: captures/fuzz-timestamp-overflow.pcapng).
                                let secs = i64::try_from(ts / res)
                                    .unwrap_or(i64::MAX)
                                    .saturating_add(off);
                                let frac = ((ts % res) as u128 * 1_000_000 / res as u128) as i64;
                                let n = (epb.caplen as usize).min(epb.data.len());
                                Some(Frame {
                                    number: self.number,
                                    ts_us: secs.saturating_mul(1_000_000).saturating_add(frac),
                                    orig_len: epb.origlen,
                                    linktype: lt,
                                    data: &epb.data[..n],
                                })
                            }
                            Block::SimplePacket(spb) => {
                                self.number += 1;
                                let lt = self.interfaces.first().map(|i| i.linktype);
                                let n = (spb.origlen as usize).min(spb.data.len());
                                Some(Frame {
                                    number: self.number,
                                    ts_us: 0,
                                    orig_len: spb.origlen,
                                    linktype: lt.unwrap_or(Linktype(-1)),
                                    data: &spb.data[..n],
                                })
                            }
                            _ => None,
                        },
                    };
                    if let Some(frame) = frame {
                        f(&frame);
                    }
                    // Not `consume`: past half the buffer it moves the unread half to the
                    // front, once per record. `refill` moves only the unread tail.
                    self.reader.consume_noshift(len);
                }
                Err(PcapError::Eof) => return Ok(()),
                Err(PcapError::Incomplete(_)) => {
                    if self.reader.reader_exhausted() {
                        return Err(ReadError::Truncated { offset: consumed });
                    }
                    self.reader.refill().map_err(|e| corrupt(&e, consumed))?;
                }
                Err(PcapError::BufferTooSmall) => {
                    let size = self.reader.data().len().max(BUFFER) * 2;
                    if size > MAX_BUFFER || !self.reader.grow(size) {
                        return Err(corrupt(&PcapError::<&[u8]>::BufferTooSmall, consumed));
                    }
                    self.reader.refill().map_err(|e| corrupt(&e, consumed))?;
                }
                Err(e) => {
                    let e = corrupt(&e, consumed);
                    return Err(e);
                }
            }
        }
    }
}
