//! Reading `.pcap` (either byte order, micro- or nanosecond) and `.pcapng` (several
//! sections, several interfaces of different link types) files.

use super::{Frame, Linktype};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
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

impl std::error::Error for ReadError {}

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
    reader: Reader,
    facts: Facts,
}

/// What the records read so far say about those to come.
#[derive(Default)]
struct Facts {
    info: FileInfo,
    interfaces: Vec<Interface>,
    legacy: Option<(Linktype, u64)>,
    number: u64,
    secrets: Option<SecretsFn>,
}

/// Given the TLS key log of each Decryption Secrets Block (pcapng, secrets type
/// `TLSK`: the NSS key log format), as the block is read: before the packets it
/// decrypts, where `editcap --inject-secrets` and wirelab put it.
pub type SecretsFn = Box<dyn FnMut(&[u8]) + Send>;

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
/// The size of a chunk of a legacy pcap file (a record larger than this gets a chunk of
/// its own size, up to [`MAX_BUFFER`]). A batch of the hashing thread refers to one
/// chunk: 1 MiB rather than 256 KiB let it pair 64% of the blocks rather than 53% (two
/// bodies at a time, see `digest::lanes`) on the mixed bench capture, each batch alone;
/// blocks now wait across batches for a partner (`digest::CARRY`): 93%.
const CHUNK: usize = 1 << 20;

/// A block of a capture file that frames point into, shared with whoever keeps a frame's
/// bytes beyond the frame's callback (the hashing thread) instead of copying them.
/// Immutable once handed out: a slice that lies inside it while it is held is its bytes.
pub type Chunk = std::sync::Arc<Vec<u8>>;

/// Where `bytes` start in `chunk`, if they lie wholly inside it. Sound by address alone
/// while the chunk is held: it is never written, so no other live buffer can occupy
/// its addresses.
pub fn offset_in(chunk: &[u8], bytes: &[u8]) -> Option<usize> {
    let start = (bytes.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize)?;
    (start + bytes.len() <= chunk.len()).then_some(start)
}

enum Reader {
    /// pcapng, and compressed files: `pcap-parser`'s own buffered reader.
    Blocks(Box<dyn PcapReaderIterator + Send>),
    /// A plain legacy pcap file: records parsed by `pcap-parser` from shared chunks.
    Chunks(Box<Chunks>),
}

type LegacyParseFn =
    fn(
        &[u8],
    ) -> pcap_parser::nom::IResult<&[u8], pcap_parser::LegacyPcapBlock<'_>, PcapError<&[u8]>>;

/// A legacy pcap file read in [`Chunk`]s, each record whole inside one chunk.
struct Chunks {
    file: Counting<File>,
    header: pcap_parser::PcapHeader,
    parse: LegacyParseFn,
    chunk: Chunk,
    /// Where the next record starts in `chunk`, and where its read bytes end.
    pos: usize,
    filled: usize,
    /// File offset of `chunk[pos]`.
    offset: u64,
    eof: bool,
    /// Chunks handed out before, reused once nobody else holds them.
    spare: Vec<Chunk>,
}

impl Chunks {
    /// Opens a plain legacy pcap file; gives the file back if it is something else.
    fn open(mut file: Counting<File>) -> Result<Result<Chunks, Counting<File>>, ReadError> {
        let mut head = [0u8; 24];
        let got = read_full(&mut file.inner, &mut head)?;
        file.inner
            .seek(SeekFrom::Start(0))
            .map_err(|e| ReadError::Io(e.to_string()))?;
        let Ok((_, header)) = pcap_parser::parse_pcap_header(&head[..got]) else {
            return Ok(Err(file));
        };
        let parse: LegacyParseFn = if header.is_modified_format() {
            pcap_parser::pcap::parse_pcap_frame_modified
        } else if header.is_bigendian() {
            pcap_parser::pcap::parse_pcap_frame_be
        } else {
            pcap_parser::pcap::parse_pcap_frame
        };
        let mut chunks = Chunks {
            file,
            header,
            parse,
            chunk: Chunk::default(),
            pos: 0,
            filled: 0,
            offset: 0,
            eof: false,
            spare: Vec::new(),
        };
        chunks.refill(24)?;
        chunks.pos = 24;
        chunks.offset = 24;
        Ok(Ok(chunks))
    }

    /// A new chunk holding the unread bytes of the current one and at least `need`
    /// bytes in all (fewer at the end of the file).
    fn refill(&mut self, need: usize) -> Result<(), ReadError> {
        let size = need.max(CHUNK);
        let reuse = self
            .spare
            .iter()
            .position(|c| std::sync::Arc::strong_count(c) == 1 && c.len() >= size);
        let mut next = match reuse {
            Some(i) => self.spare.swap_remove(i),
            None => Chunk::new(vec![0; size]),
        };
        let buf = std::sync::Arc::get_mut(&mut next).expect("a spare chunk nobody holds");
        let left = self.filled - self.pos;
        buf[..left].copy_from_slice(&self.chunk[self.pos..self.filled]);
        let got = read_full(&mut self.file, &mut buf[left..])?;
        self.eof = left + got < buf.len();
        let old = std::mem::replace(&mut self.chunk, next);
        if old.len() >= CHUNK && self.spare.len() < 64 {
            self.spare.push(old);
        }
        self.pos = 0;
        self.filled = left + got;
        Ok(())
    }

    /// Delivers the records, each with the chunk it lies in, until `f` breaks (after
    /// the record it was given: the next call goes on from the one after it) or the
    /// file ends. True if `f` broke.
    fn for_each(
        &mut self,
        facts: &mut Facts,
        f: &mut impl FnMut(&Chunk, &Frame<'_>) -> ControlFlow<()>,
    ) -> Result<bool, ReadError> {
        loop {
            // Held here while its records are delivered (`refill` replaces it).
            let chunk = self.chunk.clone();
            let needed = loop {
                let data = &chunk[self.pos..self.filled];
                match (self.parse)(data) {
                    Ok((rest, b)) => {
                        let flow = f(&chunk, &facts.legacy_frame(&b));
                        let used = data.len() - rest.len();
                        self.pos += used;
                        self.offset += used as u64;
                        if flow.is_break() {
                            return Ok(true);
                        }
                    }
                    Err(pcap_parser::nom::Err::Incomplete(needed)) => break needed,
                    Err(pcap_parser::nom::Err::Error(e) | pcap_parser::nom::Err::Failure(e)) => {
                        return Err(corrupt(&e, self.offset));
                    }
                }
            };
            let have = self.filled - self.pos;
            let more = match needed {
                pcap_parser::nom::Needed::Size(n) => n.get(),
                pcap_parser::nom::Needed::Unknown => 1,
            };
            // A record claiming over 16 MiB is corrupt, whether or not the file ends
            // before it would.
            if have + more > MAX_BUFFER {
                let e = PcapError::<&[u8]>::BufferTooSmall;
                return Err(corrupt(&e, self.offset));
            }
            if self.eof {
                return if have == 0 {
                    Ok(false)
                } else {
                    Err(ReadError::Truncated {
                        offset: self.offset,
                    })
                };
            }
            self.refill(have + more)?;
        }
    }
}

impl Facts {
    /// The file's facts from a legacy pcap header.
    fn set_legacy(&mut self, h: &pcap_parser::PcapHeader) {
        let lt = Linktype(h.network.0);
        let nsec = h.is_nanosecond_precision();
        self.info.format = if nsec { "pcap-nsec" } else { "pcap" };
        self.info.big_endian = h.is_bigendian();
        self.info.linktypes = vec![lt];
        self.legacy = Some((lt, if nsec { 1_000_000_000 } else { 1_000_000 }));
    }

    /// The frame of a legacy pcap record.
    fn legacy_frame<'a>(&mut self, b: &pcap_parser::LegacyPcapBlock<'a>) -> Frame<'a> {
        let (lt, res) = self.legacy.unwrap_or((Linktype::ETHERNET, 1_000_000));
        self.number += 1;
        let frac = b.ts_usec as i64 * 1_000_000 / res as i64;
        let n = (b.caplen as usize).min(b.data.len());
        Frame {
            number: self.number,
            ts_us: b.ts_sec as i64 * 1_000_000 + frac,
            orig_len: b.origlen,
            linktype: lt,
            data: &b.data[..n],
        }
    }

    /// Delivers every frame `pcap-parser`'s reader gives.
    fn blocks(
        &mut self,
        reader: &mut (dyn PcapReaderIterator + Send),
        f: &mut impl FnMut(&Frame<'_>),
    ) -> Result<(), ReadError> {
        loop {
            let consumed = reader.consumed() as u64;
            match reader.next() {
                Ok((len, block)) => {
                    let frame = match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            self.set_legacy(&h);
                            None
                        }
                        PcapBlockOwned::Legacy(b) => Some(self.legacy_frame(&b)),
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
                            Block::DecryptionSecrets(dsb)
                                if dsb.secrets_type
                                    == pcap_parser::pcapng::SecretsType::TlsKeyLog =>
                            {
                                if let Some(f) = self.secrets.as_mut() {
                                    let n = (dsb.secrets_len as usize).min(dsb.data.len());
                                    f(&dsb.data[..n]);
                                }
                                None
                            }
                            _ => None,
                        },
                    };
                    if let Some(frame) = frame {
                        f(&frame);
                    }
                    // Not `consume`: past half the buffer it moves the unread half to the
                    // front, once per record. `refill` moves only the unread tail.
                    reader.consume_noshift(len);
                }
                Err(PcapError::Eof) => return Ok(()),
                Err(PcapError::Incomplete(_)) => {
                    if reader.reader_exhausted() {
                        return Err(ReadError::Truncated { offset: consumed });
                    }
                    reader.refill().map_err(|e| corrupt(&e, consumed))?;
                }
                Err(PcapError::BufferTooSmall) => {
                    let size = reader.data().len().max(BUFFER) * 2;
                    if size > MAX_BUFFER || !reader.grow(size) {
                        return Err(corrupt(&PcapError::<&[u8]>::BufferTooSmall, consumed));
                    }
                    reader.refill().map_err(|e| corrupt(&e, consumed))?;
                }
                Err(e) => {
                    let e = corrupt(&e, consumed);
                    return Err(e);
                }
            }
        }
    }
}

/// Reads until `buf` is full or the file ends; the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, ReadError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e.to_string())),
        }
    }
    Ok(got)
}

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
            return Self::from_reader(flate2::read::MultiGzDecoder::new(file));
        }
        match Chunks::open(file)? {
            Ok(chunks) => {
                let mut facts = Facts::default();
                facts.set_legacy(&chunks.header);
                Ok(CaptureFile {
                    reader: Reader::Chunks(Box::new(chunks)),
                    facts,
                })
            }
            Err(file) => Self::from_reader(file),
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
            reader: Reader::Blocks(reader),
            facts: Facts::default(),
        })
    }

    pub fn info(&self) -> &FileInfo {
        &self.facts.info
    }

    /// Calls `f` for every frame. Returns `Err` if reading stopped before the end of
    /// the file; every frame before that point has been delivered.
    pub fn for_each(&mut self, mut f: impl FnMut(&Frame<'_>)) -> Result<(), ReadError> {
        self.for_each_in_chunks(|_, frame| f(frame))
    }

    /// True when the frames lie in [`Chunk`]s ([`CaptureFile::for_each_in_chunks`]).
    pub fn is_chunked(&self) -> bool {
        matches!(self.reader, Reader::Chunks(_))
    }

    /// Hands each TLS key log the file carries (Decryption Secrets Blocks) to `f`.
    pub fn on_secrets(&mut self, f: SecretsFn) {
        self.facts.secrets = Some(f);
    }

    /// Like [`CaptureFile::for_each`], with the chunk each frame's bytes lie in: for a
    /// consumer that refers to them beyond the call (holding the chunk keeps them).
    /// `None` for a file not read in chunks, whose frames lie in a reused buffer.
    pub fn for_each_in_chunks(
        &mut self,
        mut f: impl FnMut(Option<&Chunk>, &Frame<'_>),
    ) -> Result<(), ReadError> {
        match &mut self.reader {
            Reader::Chunks(c) => c
                .for_each(&mut self.facts, &mut |chunk, frame| {
                    f(Some(chunk), frame);
                    ControlFlow::Continue(())
                })
                .map(drop),
            Reader::Blocks(r) => self.facts.blocks(&mut **r, &mut |frame| f(None, frame)),
        }
    }

    /// The frames of a file read in chunks ([`CaptureFile::is_chunked`]), each with its
    /// chunk, until `f` breaks (after the frame it was given) or the file ends: a reader
    /// that stops and goes on, from whichever thread holds the file. True if `f` broke
    /// (frames may follow); false at the end, and at once for a file not in chunks.
    pub fn some_in_chunks(
        &mut self,
        mut f: impl FnMut(&Chunk, &Frame<'_>) -> ControlFlow<()>,
    ) -> Result<bool, ReadError> {
        match &mut self.reader {
            Reader::Chunks(c) => c.for_each(&mut self.facts, &mut f),
            Reader::Blocks(_) => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy pcap file: the header, then one record of each size (bytes derived from
    /// the record's number), in the byte order and time resolution asked for.
    fn pcap(big_endian: bool, nsec: bool, sizes: &[usize]) -> Vec<u8> {
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend(u32b(if nsec { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        out.extend(u16b(2));
        out.extend(u16b(4));
        out.extend(u32b(0));
        out.extend(u32b(0));
        out.extend(u32b(1 << 20));
        out.extend(u32b(1));
        for (i, &n) in sizes.iter().enumerate() {
            out.extend(u32b(1_700_000_000 + i as u32));
            out.extend(u32b(i as u32 * 1000));
            out.extend(u32b(n as u32));
            out.extend(u32b(n as u32 + 4));
            out.extend((0..n).map(|b| (b as u32 * 31 + i as u32) as u8));
        }
        out
    }

    type Read = (Vec<(u64, i64, u32, Vec<u8>)>, Result<(), ReadError>, String);

    fn read_all(mut cf: CaptureFile) -> Read {
        let mut frames = Vec::new();
        let result = cf.for_each(|f| frames.push((f.number, f.ts_us, f.orig_len, f.data.to_vec())));
        let info = format!("{} {:?}", cf.info().format, cf.info().linktypes);
        (frames, result, info)
    }

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("wirelab-{}-{name}.pcap", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A plain pcap file is read in shared chunks; what it yields (frames, the error
    /// where a file is cut, the format) equals `pcap-parser`'s own reader, with records
    /// across chunk ends and records larger than a chunk.
    #[test]
    fn chunks_read_as_the_block_reader_does() {
        let mut sizes = vec![60, 1514, 1, 0, CHUNK - 40, 300_000, 70];
        sizes.extend((0..700).map(|i| 54 + (i * 37) % 1460));
        sizes.push(CHUNK + 1);
        for (be, nsec) in [(false, false), (true, false), (false, true), (true, true)] {
            let whole = pcap(be, nsec, &sizes);
            let len = whole.len();
            for cut in [len, len - 1, len - 100_000, 24 + 16 + 5, 24 + 10, 24] {
                let bytes = &whole[..cut];
                let path = temp("chunks", bytes);
                let chunked = CaptureFile::open(&path).unwrap();
                assert!(matches!(chunked.reader, Reader::Chunks(_)));
                let got = read_all(chunked);
                let want = read_all(
                    CaptureFile::from_reader(std::io::Cursor::new(bytes.to_vec())).unwrap(),
                );
                assert_eq!(got.1, want.1, "be {be} nsec {nsec} cut {cut}");
                assert_eq!(got.2, want.2);
                assert_eq!(got.0.len(), want.0.len(), "be {be} nsec {nsec} cut {cut}");
                assert!(
                    got.0 == want.0,
                    "frames differ: be {be} nsec {nsec} cut {cut}"
                );
                std::fs::remove_file(&path).unwrap();
            }
        }
    }

    /// Read a few frames at a time (`some_in_chunks`, stopped after every k-th frame
    /// and called again), a file yields the same frames and the same end as read whole,
    /// with records across chunk ends, larger than a chunk, and the file cut anywhere.
    #[test]
    fn a_reader_that_stops_goes_on_where_it_stopped() {
        let mut sizes = vec![60, 1514, 1, 0, CHUNK - 40, 300_000, 70];
        sizes.extend((0..700).map(|i| 54 + (i * 37) % 1460));
        sizes.push(CHUNK + 1);
        let whole = pcap(false, false, &sizes);
        let len = whole.len();
        for cut in [len, len - 1, len - 100_000, 24 + 16 + 5, 24] {
            let path = temp("stops", &whole[..cut]);
            let want = read_all(CaptureFile::open(&path).unwrap());
            for every in [1, 7, 512] {
                let mut cf = CaptureFile::open(&path).unwrap();
                let mut frames = Vec::new();
                let (mut calls, mut n) = (0, 0);
                let end = loop {
                    calls += 1;
                    let more = cf.some_in_chunks(|chunk, f| {
                        assert!(offset_in(chunk, f.data).is_some());
                        frames.push((f.number, f.ts_us, f.orig_len, f.data.to_vec()));
                        n += 1;
                        match n % every == 0 {
                            true => ControlFlow::Break(()),
                            false => ControlFlow::Continue(()),
                        }
                    });
                    match more {
                        Ok(true) => continue,
                        Ok(false) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                };
                assert_eq!(end, want.1, "cut {cut} every {every}");
                assert!(frames == want.0, "frames differ: cut {cut} every {every}");
                assert!(calls > frames.len() / every, "it stopped where told");
            }
            std::fs::remove_file(&path).unwrap();
        }
    }

    /// A record claiming more than 16 MiB is corrupt, as with `pcap-parser`'s reader.
    #[test]
    fn a_record_over_16_mib_is_corrupt() {
        let mut bytes = pcap(false, false, &[100]);
        bytes.extend(1u32.to_le_bytes());
        bytes.extend(0u32.to_le_bytes());
        bytes.extend((20u32 << 20).to_le_bytes());
        bytes.extend((20u32 << 20).to_le_bytes());
        bytes.extend(vec![0u8; 17 << 20]);
        let path = temp("huge", &bytes);
        let got = read_all(CaptureFile::open(&path).unwrap());
        let want = read_all(CaptureFile::from_reader(std::io::Cursor::new(bytes.clone())).unwrap());
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got.0.len(), 1);
        assert!(matches!(got.1, Err(ReadError::Corrupt { offset: 140, .. })));
        assert_eq!(got.1, want.1);
        // Also when the file ends first (found by fuzzing against pcap-parser's reader,
        // which says "cut short" when its buffer holds the whole file).
        let path = temp("huge-cut", &bytes[..200]);
        let got = read_all(CaptureFile::open(&path).unwrap());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(got.1, Err(ReadError::Corrupt { offset: 140, .. })));
    }

    /// Every frame's bytes lie inside the chunk given with it.
    #[test]
    fn every_frame_lies_in_the_chunk_given_with_it() {
        let sizes: Vec<usize> = (0..8000).map(|i| 54 + (i * 53) % 1460).collect();
        let path = temp("share", &pcap(false, false, &sizes));
        let mut cf = CaptureFile::open(&path).unwrap();
        let mut told: Vec<Chunk> = Vec::new();
        let mut frames = 0;
        cf.for_each_in_chunks(|chunk, f| {
            let chunk = chunk.expect("a plain pcap file is read in chunks");
            if !told
                .last()
                .is_some_and(|t| std::sync::Arc::ptr_eq(t, chunk))
            {
                told.push(chunk.clone());
            }
            assert!(
                offset_in(chunk, f.data).is_some(),
                "the frame lies in its chunk"
            );
            frames += 1;
        })
        .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(frames, 8000);
        assert!(told.len() > 5, "the file spans several chunks");
    }
}
