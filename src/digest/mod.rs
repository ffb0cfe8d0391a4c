//! Stage 6, beside the report: SHA-256 beside the parsing: the stream and body hashes of
//! a report are computed on a second thread (a second core), fed through a bounded queue
//! of byte batches, so that the reassembler and the HTTP parser never wait for the hash.
//! Nothing feeds back: a hash is wanted only when the report is written, and a job queued
//! after the bytes (the finished connection) finds every hash of its bytes done, in queue
//! order.
//!
//! A hash is opened for a scope (a connection), fed, and finished into a marker string;
//! the job that emits the connection resolves its markers into hex. What a scope left
//! unresolved is dropped with it.
//!
//! The thread's idle time can be lent ([`Digests::lend_idle`]): the file driver has it
//! read and dissect ahead of the pipeline when there is nothing to hash.

mod lanes;

use lanes::{Carry, Message, Source, Sources, SpareLists};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Bytes gathered before a batch goes to the hashing thread (a batch refers to one chunk
/// of the file, 1 MiB: see `capture::file::CHUNK`).
const BATCH_BYTES: usize = 1 << 20;
/// Operations gathered before a batch goes (jobs carry finished connections).
const BATCH_OPS: usize = 4096;
/// Batches waiting at once: the queue's bound (about 8 MiB of bytes; 16 batches of 1 MiB
/// were no faster and held 9 MB more).
const QUEUE: usize = 8;
/// Marks a hash still being computed: never a valid hex digest.
const MARK: &str = "\u{0}sha256:";
/// Bytes of blocks that the hash left alone in a batch may hold back for a partner (its
/// chunks held meanwhile; a closed hash waits too, until the next job): on the big-first
/// bench capture, whose bodies come one after another, each batch compressed alone
/// paired 61% of the blocks; held back up to 2 MiB, 93%.
const CARRY: usize = 2 << 20;
/// Whole chunks a closed local hash may wait through for a partner (see
/// `Inner::compress_local`).
const CLOSED_CHUNKS: usize = 1;

/// Where finished hashes wait for the job that writes them into a report.
#[derive(Default)]
pub struct Results(BTreeMap<(u64, u32), String>);

impl Results {
    /// Replaces a marker made by [`HashSink::finish`] with its hex digest.
    pub fn resolve(&mut self, s: &mut String) {
        let Some(key) = s.strip_prefix(MARK).and_then(parse_key) else {
            return;
        };
        *s = self.0.remove(&key).unwrap_or_default();
    }
}

fn parse_key(s: &str) -> Option<(u64, u32)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Work run on the hashing thread, after every byte queued before it was hashed.
pub type Job = Box<dyn FnOnce(&mut Results) + Send>;

/// Work lent to the hashing thread for when no batch waits ([`Digests::lend_idle`]):
/// one step of it a call; false when it has none to do now.
pub type IdleWork = Box<dyn FnMut() -> bool + Send>;

/// The idle work lent, and whether the thread sleeps with none to do (to be woken by
/// [`Digests::nudge`]).
#[derive(Clone, Default)]
struct Idle {
    work: Arc<Mutex<Option<IdleWork>>>,
    asleep: Arc<AtomicBool>,
}

enum Op {
    Open((u64, u32)),
    /// The next `usize` bytes of the batch's own bytes.
    Update((u64, u32), usize),
    /// Bytes of the batch's shared chunk: (offset, length).
    UpdateShared((u64, u32), usize, usize),
    Close((u64, u32)),
    /// A digest computed on the other side (a local hash that waited for a partner).
    Result((u64, u32), String),
    Job(Job),
    DropScope(u64),
}

#[derive(Default)]
struct Batch {
    /// Bytes copied in (those that lie in no shared chunk).
    bytes: Vec<u8>,
    /// The chunk of the capture file that `Op::UpdateShared` bytes lie in.
    shared: Option<Chunk>,
    ops: Vec<Op>,
}

/// A block of the capture file that frames' bytes lie in, immutable while held.
pub use crate::capture::file::Chunk;

struct Inner {
    /// Batches sent and not yet hashed (shared with the thread).
    waiting: Arc<AtomicUsize>,
    batch: Batch,
    /// The chunk the frames being read lie in: their bytes are referred to, not copied.
    shared: Option<Chunk>,
    /// Bytes copied into batches so far (those in no shared chunk).
    copied: u64,
    /// Hashes computed on this side (the thread a whole queue behind), two at a time
    /// like the thread's, over the chunk they hold (`local_chunk`).
    local: Open,
    local_chunk: Option<Chunk>,
    /// Jobs (and what follows them) held back, in order, while a local hash they may
    /// want is closed and waits for a partner (`local.closed`).
    held: Vec<Op>,
    /// Changes of chunk since a local hash closed with blocks waiting.
    closed_chunks: usize,
    /// Per open scope: the number of its next hash, and whether its hashes are
    /// computed on this side.
    next: BTreeMap<u64, (u32, bool)>,
    tx: Option<SyncSender<Batch>>,
    /// Emptied batches coming back, for their buffers to be filled again.
    spare: Option<Receiver<Batch>>,
    worker: Option<JoinHandle<()>>,
    idle: Idle,
}

/// A handle on the hashing thread (cheap to clone; started on the first batch, or when
/// idle work is lent).
#[derive(Clone)]
pub struct Digests(Arc<Mutex<Inner>>);

impl Default for Digests {
    fn default() -> Self {
        Self::new()
    }
}

impl Digests {
    pub fn new() -> Self {
        Digests(Arc::new(Mutex::new(Inner {
            waiting: Arc::new(AtomicUsize::new(0)),
            batch: Batch::default(),
            shared: None,
            copied: 0,
            local: Open::default(),
            local_chunk: None,
            held: Vec::new(),
            closed_chunks: 0,
            next: BTreeMap::new(),
            tx: None,
            spare: None,
            worker: None,
            idle: Idle::default(),
        })))
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        lock(&self.0)
    }

    /// Opens a hash for `scope`: on the hashing thread, or here (two at a time too) when
    /// the thread was a whole queue behind at the scope's first hash. Reading and
    /// dissecting run on a thread of their own, so a core is rarely idle for this side's
    /// hashing to fill (measured with single-lane hashing here: half a queue behind as
    /// the bound made the mixed bench capture 5% slower). Each hash is computed whole on
    /// one side, in order; a scope's hashes all on the same side, where a stream and its
    /// body pair up in the two lanes (split, each went one lane at a time).
    pub fn open(&self, scope: u64) -> HashSink {
        let mut g = self.inner();
        let behind = g.waiting.load(Ordering::Relaxed) >= QUEUE;
        let (n, local) = g.next.entry(scope).or_insert((0, behind));
        let key = (scope, *n);
        *n += 1;
        if *local {
            g.local.messages.insert(key, Message::default());
            return HashSink::Local {
                digests: self.clone(),
                key,
            };
        }
        g.batch.ops.push(Op::Open(key));
        HashSink::Queued {
            digests: self.clone(),
            key,
        }
    }

    /// The frames read next lie in `chunk`: bytes hashed from it are not copied (the
    /// batch holds the chunk instead).
    pub fn share(&self, chunk: &Chunk) {
        let mut g = self.inner();
        if g.shared.as_ref().is_some_and(|c| Arc::ptr_eq(c, chunk)) {
            // The next batch of frames of the same chunk.
            return;
        }
        g.shared = Some(chunk.clone());
        if !g.local.closed.is_empty() {
            g.closed_chunks += 1;
            if g.closed_chunks > CLOSED_CHUNKS {
                g.compress_local(true);
            }
        }
    }

    /// Bytes copied into batches so far: those hashed on the thread from no shared chunk.
    pub fn copied_bytes(&self) -> u64 {
        self.inner().copied
    }

    fn update(&self, key: (u64, u32), bytes: &[u8]) {
        let mut g = self.inner();
        match g.shared_offset(bytes) {
            Some(at) => {
                if !same_chunk(&g.batch.shared, &g.shared) {
                    if g.batch.shared.is_some() {
                        // A batch refers to one chunk.
                        g.flush();
                    }
                    g.batch.shared = g.shared.clone();
                }
                g.batch.ops.push(Op::UpdateShared(key, at, bytes.len()));
            }
            None => {
                g.copied += bytes.len() as u64;
                g.batch.bytes.extend_from_slice(bytes);
                g.batch.ops.push(Op::Update(key, bytes.len()));
            }
        }
        g.flush_if_full();
    }

    /// A hash computed here: bytes in the shared chunk are noted and compressed with
    /// the other local hashes' when the chunk changes (or a hash ends); others at once.
    fn update_local(&self, key: (u64, u32), bytes: &[u8]) {
        let mut g = self.inner();
        let g = &mut *g;
        match g.shared_offset(bytes) {
            Some(at) => {
                if !same_chunk(&g.local_chunk, &g.shared) {
                    g.compress_local(false);
                    g.local_chunk = g.shared.clone();
                }
                let src = Sources {
                    own: &[],
                    shared: bytes_of(&g.local_chunk),
                };
                g.local
                    .update(key, src, Source::Shared, at..at + bytes.len());
            }
            None => {
                g.compress_local(false);
                let src = Sources {
                    own: bytes,
                    shared: &[],
                };
                g.local.update(key, src, Source::Own, 0..bytes.len());
                g.local.compress(src, None, CARRY);
            }
        }
    }

    /// A local hash given all its bytes: its digest now, or, if its last blocks are
    /// left without a partner, a marker, and the blocks wait (like the thread's) for
    /// the next local hash's (see [`Inner::compress_local`]).
    fn finish_local(&self, key: (u64, u32)) -> String {
        let mut g = self.inner();
        let g = &mut *g;
        g.compress_local(false);
        if g.local.messages.get(&key).is_some_and(Message::has_pending) {
            g.local.closed.push(key);
            return marker(key);
        }
        let m = g.local.messages.remove(&key).unwrap_or_default();
        hex::encode(m.finish(NO_BYTES))
    }

    fn close(&self, key: (u64, u32)) {
        let mut g = self.inner();
        g.batch.ops.push(Op::Close(key));
        g.flush_if_full();
    }

    /// Runs `job` on the hashing thread once everything queued before it is hashed,
    /// then forgets what `scope` left (its hashes are all resolved or unwanted).
    pub fn then(&self, scope: u64, job: Job) {
        let mut g = self.inner();
        g.next.remove(&scope);
        g.local.forget_open(scope);
        let ops = [Op::Job(job), Op::DropScope(scope)];
        if g.held.is_empty() && !g.local.closed.iter().any(|k| k.0 == scope) {
            g.batch.ops.extend(ops);
            g.flush_if_full();
        } else {
            // After the digest it waits for, and after the jobs held before it.
            g.held.extend(ops);
        }
    }

    /// Sends what is gathered to the hashing thread now (starting it if need be),
    /// instead of when the batch is full: a job that should not wait for bytes that
    /// may never come.
    pub fn send_now(&self) {
        let mut g = self.inner();
        g.compress_local(true);
        if !g.batch.ops.is_empty() {
            g.flush();
        }
    }

    /// Forgets `scope`'s hashes (its connection is not listed after all).
    pub fn drop_scope(&self, scope: u64) {
        let mut g = self.inner();
        g.local.forget(scope);
        if g.next.remove(&scope).is_some() {
            g.batch.ops.push(Op::DropScope(scope));
        }
        g.release_held();
    }

    /// Lends the hashing thread's idle time to `work` (the thread started now): called
    /// whenever no batch waits, until it says it has nothing to do; the thread then
    /// sleeps until the next batch or a [`Digests::nudge`]. Until
    /// [`Digests::take_back_idle`].
    pub fn lend_idle(&self, work: IdleWork) {
        let mut g = self.inner();
        *lock(&g.idle.work) = Some(work);
        g.start();
    }

    /// Wakes the hashing thread if it sleeps for want of idle work: there may be some.
    pub fn nudge(&self) {
        let mut g = self.inner();
        if g.idle.asleep.swap(false, Ordering::AcqRel) {
            // An empty batch: the thread wakes, finds no op, and asks the idle work.
            let empty = g.spare.as_ref().and_then(|s| s.try_recv().ok());
            g.send(empty.unwrap_or_default());
        }
    }

    /// Takes the idle work back (after the step the thread may be taking ends).
    pub fn take_back_idle(&self) {
        let idle = self.inner().idle.clone();
        lock(&idle.work).take();
    }

    /// Hashes what is queued, runs every job, and stops the thread.
    pub fn finish(&self) {
        let mut g = self.inner();
        g.compress_local(true);
        let batch = std::mem::take(&mut g.batch);
        let hashes = |o: &Op| matches!(o, Op::Update(..) | Op::UpdateShared(..));
        if g.tx.is_none() && !batch.ops.iter().any(hashes) {
            // Nothing was ever hashed here: the jobs run on this thread.
            let mut batch = batch;
            run(&mut batch, &mut Open::default(), &mut Results::default());
            return;
        }
        g.send(batch);
        let tx = g.tx.take();
        let worker = g.worker.take();
        drop(g);
        drop(tx);
        if let Some(w) = worker {
            let _ = w.join();
        }
    }
}

impl Inner {
    /// Compresses the local hashes' blocks noted in the current chunk, two at a time;
    /// those of the one left alone wait for a partner (held in their chunk, up to
    /// `CARRY` bytes), unless `now`. A closed hash's digest then goes to the thread,
    /// and the jobs held for it after. A closed hash waits for a partner through
    /// `CLOSED_CHUNKS` whole chunks at most (the next body starts in the next chunk, or
    /// the one after), and not at all when a job cannot wait (`send_now`, `finish`).
    fn compress_local(&mut self, now: bool) {
        let local = &mut self.local;
        let bytes = Sources {
            own: &[],
            shared: bytes_of(&self.local_chunk),
        };
        let carry = if now { 0 } else { CARRY };
        local.compress(bytes, self.local_chunk.as_ref(), carry);
        if !local.closed.is_empty() {
            let mut done = Results::default();
            local.finish_closed(bytes, false, &mut done);
            let done = done.0.into_iter().map(|(k, hex)| Op::Result(k, hex));
            self.batch.ops.extend(done);
        }
        self.release_held();
    }

    /// Once no local hash waits closed, the jobs held for them go, in order.
    fn release_held(&mut self) {
        if self.local.closed.is_empty() {
            self.closed_chunks = 0;
            self.batch.ops.append(&mut self.held);
        }
        self.flush_if_full();
    }

    /// Where `bytes` start in the shared chunk, if they lie wholly inside it.
    fn shared_offset(&self, bytes: &[u8]) -> Option<usize> {
        let chunk = self.shared.as_ref()?;
        (!bytes.is_empty())
            .then(|| crate::capture::file::offset_in(chunk, bytes))
            .flatten()
    }

    fn flush_if_full(&mut self) {
        if self.batch.bytes.len() >= BATCH_BYTES || self.batch.ops.len() >= BATCH_OPS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let next = match self.spare.as_ref().and_then(|s| s.try_recv().ok()) {
            Some(b) => b,
            None => Batch {
                bytes: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
                shared: None,
                ops: Vec::with_capacity(1024),
            },
        };
        let batch = std::mem::replace(&mut self.batch, next);
        self.send(batch);
    }

    /// Starts the hashing thread, if it is not running.
    fn start(&mut self) {
        if self.tx.is_none() {
            let (tx, rx) = sync_channel(QUEUE);
            let (spare_tx, spare_rx) = sync_channel(QUEUE);
            self.spare = Some(spare_rx);
            let waiting = self.waiting.clone();
            let idle = self.idle.clone();
            self.worker = Some(
                std::thread::Builder::new()
                    .name("wirelab-sha256".into())
                    .spawn(move || work(rx, spare_tx, waiting, idle))
                    .expect("the hashing thread starts"),
            );
            self.tx = Some(tx);
        }
    }

    fn send(&mut self, batch: Batch) {
        self.start();
        if let Some(tx) = &self.tx {
            self.waiting.fetch_add(1, Ordering::Relaxed);
            let _ = tx.send(batch);
        }
    }
}

/// A lock whose holder's panic is told where it happened, not again here.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The next batch, after the idle work lent while none waits: the work is asked again
/// after the thread says it sleeps, so that a nudge after its last answer is not lost.
fn next_batch(rx: &Receiver<Batch>, idle: &Idle) -> Option<Batch> {
    loop {
        match rx.try_recv() {
            Ok(b) => return Some(b),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        let step = || lock(&idle.work).as_mut().is_some_and(|w| w());
        if step() {
            continue;
        }
        idle.asleep.store(true, Ordering::Release);
        if step() {
            idle.asleep.store(false, Ordering::Release);
            continue;
        }
        let got = rx.recv().ok();
        idle.asleep.store(false, Ordering::Release);
        return got;
    }
}

fn work(rx: Receiver<Batch>, spare: SyncSender<Batch>, waiting: Arc<AtomicUsize>, idle: Idle) {
    let mut open = Open::of_width(lanes::widest());
    let mut results = Results::default();
    while let Some(mut batch) = next_batch(&rx, &idle) {
        run(&mut batch, &mut open, &mut results);
        waiting.fetch_sub(1, Ordering::Relaxed);
        batch.bytes.clear();
        batch.shared = None;
        let _ = spare.try_send(batch);
    }
}

/// The hashes open on the hashing thread, and those holding blocks of the current batch.
struct Open {
    /// Messages compressed side by side at most ([`lanes::compress_pending`]): the
    /// hashing thread's [`lanes::widest`], the local hashes' two (a local hash must
    /// give its digest soon: a job waits for it on the main thread).
    width: usize,
    messages: BTreeMap<(u64, u32), Message>,
    pending: Vec<(u64, u32)>,
    /// Hashes given all their bytes whose last blocks wait for a partner: finished when
    /// compressed, or before the next job (which may want their digests).
    closed: Vec<(u64, u32)>,
    /// Lists of runs lent to the hashes that take blocks (not kept by the others).
    spare: SpareLists,
}

impl Default for Open {
    fn default() -> Self {
        Open::of_width(2)
    }
}

/// No bytes: for finishing a hash whose blocks are all compressed or held.
const NO_BYTES: Sources<'static> = Sources {
    own: &[],
    shared: &[],
};

/// What [`HashSink::finish`] gives for a hash whose digest is not known yet.
fn marker(key: (u64, u32)) -> String {
    format!("{MARK}{}:{}", key.0, key.1)
}

/// Removes every entry of `scope` (keys `(scope, n)`).
fn forget_scope<V>(map: &mut BTreeMap<(u64, u32), V>, scope: u64) {
    forget_scope_but(map, scope, |_| false);
}

/// Removes the entries of `scope` that `keep` does not keep.
fn forget_scope_but<V>(
    map: &mut BTreeMap<(u64, u32), V>,
    scope: u64,
    keep: impl Fn(&(u64, u32)) -> bool,
) {
    let keys: Vec<_> = map
        .range((scope, 0)..=(scope, u32::MAX))
        .map(|(k, _)| *k)
        .filter(|k| !keep(k))
        .collect();
    for k in keys {
        map.remove(&k);
    }
}

/// The bytes of a chunk, if there is one.
fn bytes_of(chunk: &Option<Chunk>) -> &[u8] {
    chunk.as_deref().map_or(&[][..], |c| &c[..])
}

/// Both the same chunk (not merely equal bytes).
fn same_chunk(a: &Option<Chunk>, b: &Option<Chunk>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
}

impl Open {
    /// No hashes yet, compressed up to `width` side by side.
    fn of_width(width: usize) -> Self {
        Open {
            width,
            messages: BTreeMap::new(),
            pending: Vec::new(),
            closed: Vec::new(),
            spare: SpareLists::default(),
        }
    }

    /// Forgets the hashes of `scope` left unfinished.
    fn forget(&mut self, scope: u64) {
        forget_scope(&mut self.messages, scope);
        self.closed.retain(|k| k.0 != scope);
    }

    /// Forgets the hashes of `scope` never closed (those closed are still wanted).
    fn forget_open(&mut self, scope: u64) {
        let closed = &self.closed;
        forget_scope_but(&mut self.messages, scope, |k| closed.contains(k));
    }

    /// Finishes the closed hashes whose blocks are all compressed (all of them, the
    /// blocks compressed now, if `now`) into `results`.
    fn finish_closed(&mut self, bytes: Sources<'_>, now: bool, results: &mut Results) {
        if self.closed.is_empty() {
            return;
        }
        if now {
            self.compress(bytes, None, 0);
        }
        let Open {
            messages, closed, ..
        } = self;
        closed.retain(|k| match messages.get(k) {
            Some(m) if m.has_pending() => true,
            Some(_) => {
                let m = messages.remove(k).expect("just found");
                results.0.insert(*k, hex::encode(m.finish(bytes)));
                false
            }
            None => false,
        });
    }

    fn update(&mut self, k: (u64, u32), bytes: Sources<'_>, src: Source, range: Range<usize>) {
        if let Some(m) = self.messages.get_mut(&k) {
            let had = m.has_pending();
            if !had {
                m.borrow_list(&mut self.spare);
            }
            m.update(bytes, src, range);
            match (had, m.has_pending()) {
                (false, true) => self.pending.push(k),
                // Bytes short of a block: the list goes back.
                (false, false) => m.release_list(&mut self.spare),
                _ => {}
            }
        }
    }

    /// Compresses the blocks the open hashes hold of `bytes` (whose shared part is
    /// `chunk`'s), `width` hashes at a time, then two; those of the one left alone may
    /// wait for a partner in a later batch, up to `carry` bytes.
    ///
    /// The hashes with blocks are taken out of the map and put back: finding them by a
    /// walk over every open hash cost a walk per closed hash (with `--list all`, some
    /// thousand hashes are open at once, and the walks took 8% of all samples).
    fn compress(&mut self, bytes: Sources<'_>, chunk: Option<&Chunk>, carry: usize) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_unstable();
        let mut taken: Vec<((u64, u32), Message)> = self
            .pending
            .drain(..)
            .filter_map(|k| self.messages.remove(&k).map(|m| (k, m)))
            .collect();
        let carry = Carry { chunk, max: carry };
        let mut waiting: Vec<&mut Message> = taken.iter_mut().map(|(_, m)| m).collect();
        lanes::compress_pending(&mut waiting, bytes, Some(carry), self.width);
        for (k, m) in &mut taken {
            match m.has_pending() {
                true => self.pending.push(*k),
                false => m.release_list(&mut self.spare),
            }
        }
        self.messages.extend(taken);
    }
}

fn run(batch: &mut Batch, open: &mut Open, results: &mut Results) {
    let mut at = 0;
    let bytes = Sources {
        own: &batch.bytes,
        shared: bytes_of(&batch.shared),
    };
    for i in 0..batch.ops.len() {
        if let Some(Op::UpdateShared(_, from, n)) = batch.ops.get(i + PREFETCH_OPS) {
            prefetch_ends(bytes.shared, *from, *n);
        }
        let op = std::mem::replace(&mut batch.ops[i], Op::DropScope(u64::MAX));
        match op {
            Op::Open(k) => {
                open.messages.insert(k, Message::default());
            }
            Op::Update(k, n) => {
                open.update(k, bytes, Source::Own, at..at + n);
                at += n;
            }
            Op::UpdateShared(k, from, n) => open.update(k, bytes, Source::Shared, from..from + n),
            Op::Close(k) => {
                if open.messages.get(&k).is_some_and(Message::has_pending) {
                    // Its blocks go with the others', two at a time.
                    open.closed.push(k);
                } else if let Some(m) = open.messages.remove(&k) {
                    results.0.insert(k, hex::encode(m.finish(bytes)));
                }
            }
            Op::Result(k, hex) => {
                results.0.insert(k, hex);
            }
            Op::Job(job) => {
                open.finish_closed(bytes, true, results);
                job(results)
            }
            Op::DropScope(s) => {
                open.forget(s);
                forget_scope(&mut results.0, s);
            }
        }
    }
    batch.ops.clear();
    // The batch's buffer is refilled next: every block it holds is compressed now, or
    // held in its chunk for a partner.
    open.compress(bytes, batch.shared.as_ref(), CARRY);
    open.finish_closed(bytes, false, results);
}

/// Ops looked ahead for [`prefetch_ends`].
const PREFETCH_OPS: usize = 8;

/// Asks for the first and last cache lines of `shared[from..from + n]`, which
/// [`Message::update`] copies into block tails: the bytes were written by the reading
/// thread, on the other core, and each tail copy otherwise waits for its own miss.
fn prefetch_ends(shared: &[u8], from: usize, n: usize) {
    #[cfg(target_arch = "x86_64")]
    if n > 0 && from + n <= shared.len() {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let base = shared.as_ptr();
        // SAFETY: both addresses lie inside `shared`; a prefetch reads nothing.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(base.add(from).cast());
            _mm_prefetch::<_MM_HINT_T0>(base.add(from + n - 1).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (shared, from, n);
}

/// One SHA-256 being computed: here, or on the hashing thread.
pub enum HashSink {
    /// No hashing thread: computed here, one message at a time.
    Here(Sha256),
    /// On this side while the thread is behind, two at a time ([`Digests::open`]).
    Local {
        digests: Digests,
        key: (u64, u32),
    },
    Queued {
        digests: Digests,
        key: (u64, u32),
    },
}

impl HashSink {
    /// A hash for `scope`, on the hashing thread when there is one.
    pub fn new(digests: Option<&Digests>, scope: u64) -> Self {
        match digests {
            Some(d) => d.open(scope),
            None => HashSink::Here(Sha256::new()),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            HashSink::Here(h) => h.update(bytes),
            HashSink::Local { digests, key } => digests.update_local(*key, bytes),
            HashSink::Queued { digests, key } => digests.update(*key, bytes),
        }
    }

    /// The digest in hex, or a marker that [`Results::resolve`] turns into it.
    pub fn finish(self) -> String {
        match self {
            HashSink::Here(h) => hex::encode(h.finalize()),
            HashSink::Local { digests, key } => digests.finish_local(key),
            HashSink::Queued { digests, key } => {
                digests.close(key);
                marker(key)
            }
        }
    }
}

impl std::fmt::Debug for HashSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashSink")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Idle work lent to the thread runs while no batch waits, until it says it has
    /// none; a nudge wakes the sleeping thread to ask again; taken back, it is not
    /// asked again; the hashes queued meanwhile are made all the same.
    #[test]
    fn idle_work_runs_when_the_thread_has_nothing_to_hash() {
        let d = Digests::new();
        let (done, limit) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(5)));
        let (done2, limit2) = (done.clone(), limit.clone());
        d.lend_idle(Box::new(move || {
            let more = done2.load(Ordering::SeqCst) < limit2.load(Ordering::SeqCst);
            if more {
                done2.fetch_add(1, Ordering::SeqCst);
            }
            more
        }));
        let asleep = d.inner().idle.asleep.clone();
        let wait_asleep = || {
            let start = std::time::Instant::now();
            while !asleep.load(Ordering::SeqCst) {
                assert!(start.elapsed().as_secs() < 10, "the thread never slept");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        };
        wait_asleep();
        assert_eq!(
            done.load(Ordering::SeqCst),
            5,
            "it worked until told there was none"
        );
        limit.store(8, Ordering::SeqCst);
        d.nudge();
        wait_asleep();
        assert_eq!(done.load(Ordering::SeqCst), 8, "a nudge woke it for more");
        d.take_back_idle();
        limit.store(100, Ordering::SeqCst);
        let mut h = HashSink::new(Some(&d), 1);
        h.update(b"abc");
        let hex = h.finish();
        d.nudge();
        let got: Arc<Mutex<String>> = Arc::default();
        let got2 = got.clone();
        d.then(
            1,
            Box::new(move |r: &mut Results| {
                let mut s = hex;
                r.resolve(&mut s);
                *got2.lock().unwrap() = s;
            }),
        );
        d.finish();
        assert_eq!(
            done.load(Ordering::SeqCst),
            8,
            "taken back, it was not asked again"
        );
        let want = hex::encode(Sha256::digest(b"abc"));
        assert_eq!(*got.lock().unwrap(), want);
    }

    /// Hashes made on the thread equal those made here, whatever the batch boundaries,
    /// and a job sees every hash queued before it.
    #[test]
    fn queued_hashes_equal_inline_ones() {
        let d = Digests::new();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut a = HashSink::new(Some(&d), 1);
        let mut b = HashSink::new(Some(&d), 2);
        let mut here = HashSink::new(None, 0);
        for chunk in data.chunks(1448) {
            a.update(chunk);
            here.update(chunk);
            b.update(&chunk[..1]);
        }
        let (ma, mb) = (a.finish(), b.finish());
        assert!(ma.starts_with(MARK));
        let want = here.finish();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        d.then(
            1,
            Box::new(move |r| {
                let (mut ma, mut mb) = (ma, mb);
                r.resolve(&mut ma);
                r.resolve(&mut mb);
                g.lock().unwrap().push((ma, mb));
            }),
        );
        d.finish();
        let got = got.lock().unwrap();
        assert_eq!(got[0].0, want);
        assert_eq!(got[0].1.len(), 64);
        assert_ne!(got[0].1, want);
    }

    /// Bytes that lie in a shared chunk are hashed from it, uncopied, and give the same
    /// digest as copied ones: across a change of chunk in the middle of a hash, and
    /// mixed with bytes that lie elsewhere.
    #[test]
    fn shared_chunks_hash_as_copied_bytes() {
        let d = Digests::new();
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i * 13 % 241) as u8).collect();
        let mut shared = HashSink::new(Some(&d), 1);
        let mut body = HashSink::new(Some(&d), 1);
        let mut here = HashSink::new(None, 0);
        let mut here_body = HashSink::new(None, 0);
        for (i, piece) in data.chunks(300_000).enumerate() {
            let chunk: Chunk = Arc::new(piece.to_vec());
            d.share(&chunk);
            for seg in chunk.chunks(1448) {
                shared.update(seg);
                here.update(seg);
                // A body that is part of the stream's bytes, and one copied piece.
                body.update(&seg[10..]);
                here_body.update(&seg[10..]);
            }
            if i == 3 {
                let elsewhere = piece[..777].to_vec();
                shared.update(&elsewhere);
                here.update(&elsewhere);
            }
        }
        assert_eq!(
            d.copied_bytes(),
            777,
            "only the bytes outside the chunks are copied"
        );
        let marks = (shared.finish(), body.finish());
        let want = (here.finish(), here_body.finish());
        let got = Arc::new(Mutex::new(None));
        let g = got.clone();
        d.then(
            1,
            Box::new(move |r| {
                let (mut a, mut b) = marks;
                r.resolve(&mut a);
                r.resolve(&mut b);
                *g.lock().unwrap() = Some((a, b));
            }),
        );
        d.finish();
        assert_eq!(got.lock().unwrap().clone(), Some(want));
    }

    /// A scope's hashes are computed on the side its first hash went to, so that a
    /// stream and its body, opened at different times, still pair up.
    #[test]
    fn a_scope_keeps_its_side() {
        let d = Digests::new();
        let stream = HashSink::new(Some(&d), 1);
        d.inner().waiting.store(QUEUE, Ordering::Relaxed);
        let body = HashSink::new(Some(&d), 1);
        let other = HashSink::new(Some(&d), 2);
        assert!(matches!(stream, HashSink::Queued { .. }));
        assert!(matches!(body, HashSink::Queued { .. }));
        assert!(matches!(other, HashSink::Local { .. }));
        d.inner().waiting.store(0, Ordering::Relaxed);
        let later = HashSink::new(Some(&d), 2);
        assert!(matches!(later, HashSink::Local { .. }));
        d.drop_scope(2);
        let reopened = HashSink::new(Some(&d), 2);
        assert!(matches!(reopened, HashSink::Queued { .. }));
    }

    /// Hashes made on this side while the thread is a whole queue behind equal
    /// `sha2`'s: two at a time over shared chunks, across chunk changes, and with bytes
    /// from no chunk in between; one forgotten with its scope leaves nothing behind.
    #[test]
    fn local_hashes_equal_sha2() {
        let d = Digests::new();
        d.inner().waiting.store(QUEUE, Ordering::Relaxed);
        let data: Vec<u8> = (0..1_500_000u32).map(|i| (i * 29 % 253) as u8).collect();
        let mut stream = HashSink::new(Some(&d), 7);
        let mut body = HashSink::new(Some(&d), 7);
        let mut dropped = HashSink::new(Some(&d), 8);
        assert!(matches!(stream, HashSink::Local { .. }));
        let (mut want_stream, mut want_body) = (Sha256::new(), Sha256::new());
        for (i, piece) in data.chunks(250_000).enumerate() {
            let chunk: Chunk = Arc::new(piece.to_vec());
            d.share(&chunk);
            for seg in chunk.chunks(1448) {
                stream.update(seg);
                want_stream.update(seg);
                body.update(&seg[3..]);
                want_body.update(&seg[3..]);
                dropped.update(seg);
            }
            if i == 2 {
                let elsewhere = vec![9u8; 1001];
                stream.update(&elsewhere);
                want_stream.update(&elsewhere);
            }
        }
        assert_eq!(stream.finish(), hex::encode(want_stream.finalize()));
        assert_eq!(body.finish(), hex::encode(want_body.finalize()));
        d.drop_scope(8);
        drop(dropped);
        assert!(d.inner().local.messages.is_empty());
    }

    /// Local hashes (the thread a queue behind) of bodies that come one after another:
    /// the first's last blocks wait for the next body's, its job (and the jobs after
    /// it, in order) held until its digest is known; a closed hash with no partner
    /// waits through one whole chunk at most; every job sees the right digest.
    #[test]
    fn a_local_hash_waits_for_the_next_body_and_jobs_keep_their_order() {
        let d = Digests::new();
        d.inner().waiting.store(QUEUE, Ordering::Relaxed);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let job = |name: &'static str, mark: String| -> Job {
            let seen = seen.clone();
            Box::new(move |r: &mut Results| {
                let mut hex = mark;
                r.resolve(&mut hex);
                seen.lock().unwrap().push((name, hex));
            })
        };
        // One body per chunk, fed in segments as the file is read.
        let body = |d: &Digests, scope: u64, seed: u32, n: u32| {
            let bytes: Vec<u8> = (0..n).map(|i| (i * seed % 251) as u8).collect();
            let chunk: Chunk = Arc::new(bytes.clone());
            d.share(&chunk);
            let mut h = HashSink::new(Some(d), scope);
            assert!(matches!(h, HashSink::Local { .. }));
            for seg in chunk.chunks(1448) {
                h.update(seg);
            }
            (h, hex::encode(Sha256::digest(&bytes)))
        };
        let (a, want_a) = body(&d, 1, 7, 200_000);
        let mark_a = a.finish();
        assert!(mark_a.starts_with(MARK), "alone: its blocks wait");
        d.then(1, job("a", mark_a));
        d.then(9, job("no hash", String::new()));
        assert_eq!(d.inner().held.len(), 4, "both jobs wait, in order");
        let (b, want_b) = body(&d, 2, 11, 300_000);
        let mark_b = b.finish();
        {
            let g = d.inner();
            let why = "a's blocks paired with b's: a finished, its jobs let go";
            assert!(g.held.is_empty(), "{why}");
            assert!(
                g.batch
                    .ops
                    .iter()
                    .any(|o| matches!(o, Op::Result((1, 0), _)))
            );
            assert_eq!(g.local.closed, [(2, 0)], "b, longer, waits in turn");
        }
        d.then(2, job("b", mark_b));
        // No partner comes: b's blocks go alone after one whole chunk.
        let other: Chunk = Arc::new(vec![0; 1000]);
        for _ in 0..3 {
            // Batches of frames of one chunk: one change of chunk.
            d.share(&other);
        }
        assert_eq!(d.inner().local.closed, [(2, 0)]);
        d.share(&Arc::new(vec![1; 1000]));
        assert!(d.inner().local.closed.is_empty() && d.inner().held.is_empty());
        d.finish();
        let seen = seen.lock().unwrap();
        let want = [("a", want_a), ("no hash", String::new()), ("b", want_b)];
        assert_eq!(*seen, want);
        assert!(d.inner().local.messages.is_empty());
    }

    /// Bodies that come one after another, each alone in its batch (as a class server's
    /// do): a closed hash's last blocks wait in their chunk for the next body's to pair
    /// with, and it is finished before the next job, which sees the right digest; a
    /// waiting hash whose scope is dropped is forgotten.
    #[test]
    fn a_closed_hash_waits_for_a_partner_until_a_job() {
        /// One batch holding a whole body alone (its own chunk), then `more` ops.
        fn alone(body: &[u8], key: (u64, u32), more: Vec<Op>, open: &mut Open, r: &mut Results) {
            let mut ops = vec![
                Op::Open(key),
                Op::UpdateShared(key, 0, body.len()),
                Op::Close(key),
            ];
            ops.extend(more);
            let shared = Some(Arc::new(body.to_vec()));
            run(
                &mut Batch {
                    bytes: Vec::new(),
                    shared,
                    ops,
                },
                open,
                r,
            );
        }
        let body =
            |seed: u32, n: u32| -> Vec<u8> { (0..n).map(|i| (i * seed % 251) as u8).collect() };
        let (a, b, c) = (body(7, 200_000), body(11, 90_000), body(13, 300_000));
        let (mut open, mut results) = (Open::default(), Results::default());
        alone(&a, (1, 0), vec![], &mut open, &mut results);
        assert_eq!(
            open.closed,
            [(1, 0)],
            "the body's blocks wait for a partner"
        );
        assert!(results.0.is_empty());
        alone(&c, (3, 0), vec![], &mut open, &mut results);
        let why = "paired with the next (longer, which waits), and finished";
        assert_eq!(open.closed, [(3, 0)], "{why}");
        assert_eq!(results.0[&(1, 0)], hex::encode(Sha256::digest(&a)));
        let seen = Arc::new(Mutex::new(String::new()));
        let s = seen.clone();
        let job: Job = Box::new(move |r: &mut Results| {
            *s.lock().unwrap() = r.0[&(2, 0)].clone();
        });
        let more = vec![Op::DropScope(3), Op::Job(job)];
        alone(&b, (2, 0), more, &mut open, &mut results);
        assert_eq!(*seen.lock().unwrap(), hex::encode(Sha256::digest(&b)));
        assert!(open.closed.is_empty() && open.messages.is_empty());
        assert!(
            !results.0.contains_key(&(3, 0)),
            "a dropped scope leaves nothing"
        );
    }

    /// A hash waiting between batches keeps no list of runs: neither one whose blocks
    /// were compressed nor one given bytes short of a block (with --stream-hash, the
    /// streams of lingering connections kept 23 MB of them on the big-first capture).
    #[test]
    fn a_waiting_hash_keeps_no_list() {
        let chunk: Chunk = Arc::new(vec![7u8; 100_000]);
        let bytes = Sources {
            own: &[],
            shared: &chunk,
        };
        let mut open = Open::default();
        let (long, short) = ((1, 0), (2, 0));
        for k in [long, short] {
            open.messages.insert(k, Message::default());
        }
        open.update(long, bytes, Source::Shared, 0..90_000);
        open.update(short, bytes, Source::Shared, 0..10);
        assert!(!open.messages[&short].holds_list(), "short of a block");
        open.compress(bytes, Some(&chunk), 0);
        assert!(!open.messages[&long].holds_list(), "compressed");
        open.update(short, bytes, Source::Shared, 10..20);
        assert!(
            !open.messages[&short].holds_list(),
            "from a spare list, given back"
        );
    }
}
