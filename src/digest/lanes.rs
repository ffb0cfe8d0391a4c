//! SHA-256 (FIPS 180-4) for the hashing thread, two or four messages at a time.
//!
//! One message's compression is a chain of `sha256rnds2` instructions, each waiting for
//! the one before: the SHA unit is then idle much of the time. Stepping other,
//! independent messages through the same rounds fills those gaps: on the machine
//! measured (AMD Zen 5), 2.0 GB/s for one message (`sha2`, SHA-NI path), 3.3 for two and
//! 3.8 for four (the kernels built for 32 vector registers: see
//! `shani::wide_registers`). The bodies of a capture come mostly one after another, so
//! the blocks of a message left without a partner may wait for the next message's
//! ([`Carry`]); four go side by side only when four have blocks in one batch.
//!
//! [`Message`] buffers its input as runs of whole blocks (borrowed from the batch being
//! hashed or from a chunk held, or copied when a block straddles two updates);
//! [`compress_pending`] groups the runs of different messages and compresses them. A CPU
//! without the SHA extensions, and any block left without a partner, goes through
//! `sha2::compress256`.

use crate::capture::file::Chunk;
use sha2::digest::generic_array::GenericArray;
use std::ops::Range;

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Which of a batch's [`Sources`] a run of blocks lies in.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    Own,
    Shared,
}

/// The bytes a batch's runs lie in: those copied into it, and the shared chunk's.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub own: &'a [u8],
    pub shared: &'a [u8],
}

impl<'a> Sources<'a> {
    fn get(self, src: Source, range: Range<usize>) -> &'a [u8] {
        match src {
            Source::Own => &self.own[range],
            Source::Shared => &self.shared[range],
        }
    }
}

/// Whole blocks waiting to be compressed, in message order.
#[derive(Debug, Clone)]
enum Run {
    /// A range of the batch's bytes (a multiple of 64 long).
    Batch(Source, Range<usize>),
    /// A range of an earlier batch's chunk, held for a partner (see [`Carry`]).
    Held(Chunk, Range<usize>),
    /// A block gathered from the ends of two updates.
    Block([u8; 64]),
}

impl Run {
    fn bytes<'a>(&'a self, sources: Sources<'a>) -> &'a [u8] {
        match self {
            Run::Batch(src, r) => sources.get(*src, r.clone()),
            Run::Held(chunk, r) => &chunk[r.clone()],
            Run::Block(b) => b,
        }
    }

    /// The run without its first `off` bytes, held past its batch when it lies in
    /// `chunk` (the batch's shared chunk); `None` if it lies in the batch's own bytes.
    fn held_from(&self, off: usize, chunk: Option<&Chunk>) -> Option<Run> {
        match self {
            Run::Batch(Source::Shared, r) => Some(Run::Held(chunk?.clone(), r.start + off..r.end)),
            Run::Batch(Source::Own, _) => None,
            Run::Held(c, r) => Some(Run::Held(c.clone(), r.start + off..r.end)),
            Run::Block(b) => {
                debug_assert_eq!(off, 0, "a lane moves past a block whole");
                Some(Run::Block(*b))
            }
        }
    }
}

/// What a compression may leave pending for a later one: the blocks of the message that
/// is left without a partner, up to `max` bytes, kept (their chunk held) until another
/// message has blocks to pair them with. The bodies of a class server's capture come in
/// bursts of hundreds of kilobytes, one connection at a time: a batch alone pairs about
/// 60% of the blocks.
#[derive(Clone, Copy)]
pub struct Carry<'a> {
    /// The shared chunk of the batch being compressed (held by the blocks kept).
    pub chunk: Option<&'a Chunk>,
    pub max: usize,
}

/// Emptied lists of runs, to be filled again without allocating.
#[derive(Default)]
pub struct SpareLists(Vec<Vec<Run>>);

/// Lists kept spare at most (about as many as the hashes that take blocks in a batch).
const SPARE_LISTS: usize = 16;

/// One SHA-256 being computed on the hashing thread.
#[derive(Debug, Clone)]
pub struct Message {
    state: [u32; 8],
    /// Bytes after the last whole block.
    tail: [u8; 64],
    tail_len: usize,
    /// Bytes given so far.
    length: u64,
    pending: Vec<Run>,
}

impl Default for Message {
    fn default() -> Self {
        Message {
            state: H0,
            tail: [0; 64],
            tail_len: 0,
            length: 0,
            pending: Vec::new(),
        }
    }
}

impl Message {
    /// Takes `bytes[range]` into the message. The whole blocks are only noted: they
    /// must stay in `bytes` until [`compress_pending`] has run.
    pub fn update(&mut self, bytes: Sources<'_>, src: Source, range: Range<usize>) {
        let mut data = bytes.get(src, range.clone());
        let mut at = range.start;
        self.length += data.len() as u64;
        if self.tail_len > 0 {
            let n = (64 - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + n].copy_from_slice(&data[..n]);
            self.tail_len += n;
            data = &data[n..];
            at += n;
            if self.tail_len < 64 {
                return;
            }
            self.pending.push(Run::Block(self.tail));
            self.tail_len = 0;
        }
        let whole = data.len() / 64 * 64;
        if whole > 0 {
            self.pending.push(Run::Batch(src, at..at + whole));
        }
        let rest = &data[whole..];
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether it holds a list of runs (empty or not).
    #[cfg(test)]
    pub fn holds_list(&self) -> bool {
        self.pending.capacity() > 0
    }

    /// Takes a list from `spare` for the blocks to come, if it has none.
    pub fn borrow_list(&mut self, spare: &mut SpareLists) {
        if self.pending.capacity() == 0
            && let Some(list) = spare.0.pop()
        {
            self.pending = list;
        }
    }

    /// Gives its emptied list back to `spare`: a hash that may now wait long (a lingering
    /// connection's stream) keeps no list the size of a batch's runs.
    pub fn release_list(&mut self, spare: &mut SpareLists) {
        if self.pending.is_empty() && self.pending.capacity() > 0 {
            let list = std::mem::take(&mut self.pending);
            if spare.0.len() < SPARE_LISTS {
                spare.0.push(list);
            }
        }
    }

    /// The digest, after the pending blocks (compressed here if any are left) and the
    /// padding of FIPS 180-4 §5.1.1.
    pub fn finish(mut self, bytes: Sources<'_>) -> [u8; 32] {
        let mut one = [&mut self];
        compress_pending(&mut one, bytes, None, 2);
        let mut last = [0u8; 128];
        last[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
        last[self.tail_len] = 0x80;
        let len = if self.tail_len < 56 { 64 } else { 128 };
        last[len - 8..len].copy_from_slice(&(self.length * 8).to_be_bytes());
        compress(&mut self.state, &last[..len]);
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// A message being compressed: its slices of blocks `flat[pos..end]`, `off` bytes into
/// the first; its runs start at `flat[first]`.
struct Lane {
    message: usize,
    first: usize,
    pos: usize,
    end: usize,
    off: usize,
}

impl Lane {
    fn blocks<'a>(&self, flat: &[(usize, &'a [u8])]) -> &'a [u8] {
        &flat[self.pos].1[self.off..]
    }

    /// Moves `n` bytes on; false when the message has no blocks left.
    fn advance(&mut self, n: usize, flat: &[(usize, &[u8])]) -> bool {
        self.off += n;
        if self.off == flat[self.pos].1.len() {
            self.pos += 1;
            self.off = 0;
        }
        self.pos < self.end
    }

    /// The blocks left, as runs held past the batch, if `carry` lets them wait.
    fn carried(&self, runs: &[Run], flat: &[(usize, &[u8])], carry: Carry<'_>) -> Option<Vec<Run>> {
        let left: usize = flat[self.pos..self.end].iter().map(|(_, b)| b.len()).sum();
        if left - self.off > carry.max {
            return None;
        }
        let runs = &runs[self.pos - self.first..self.end - self.first];
        runs.iter()
            .enumerate()
            .map(|(i, r)| r.held_from(if i == 0 { self.off } else { 0 }, carry.chunk))
            .collect()
    }
}

/// Compresses the pending blocks of `messages`, `width` messages at a time (four, if
/// [`widest`] is four, or two) while that many have blocks left, then two at a time,
/// and empties their pending runs; with `carry`, the blocks of the last message left
/// alone may wait instead (see [`Carry`]).
pub fn compress_pending(
    messages: &mut [&mut Message],
    bytes: Sources<'_>,
    carry: Option<Carry<'_>>,
    width: usize,
) {
    let mut runs: Vec<Vec<Run>> = messages
        .iter_mut()
        .map(|m| std::mem::take(&mut m.pending))
        .collect();
    let mut flat: Vec<(usize, &[u8])> = Vec::new();
    let mut groups = Vec::new();
    for (i, rs) in runs.iter().enumerate() {
        let start = flat.len();
        flat.extend(rs.iter().map(|r| (i, r.bytes(bytes))));
        if flat.len() > start {
            groups.push(start..flat.len());
        }
    }
    let mut groups = groups.into_iter();
    let width = if width >= 4 { widest() } else { 2 };
    let mut lanes: [Option<Lane>; 4] = [None, None, None, None];
    let mut kept: Option<(usize, Vec<Run>)> = None;
    loop {
        for lane in lanes[..width].iter_mut().filter(|l| l.is_none()) {
            *lane = groups.next().map(|g| Lane {
                message: flat[g.start].0,
                first: g.start,
                pos: g.start,
                end: g.end,
                off: 0,
            });
        }
        // The busy lanes first, in order.
        lanes.sort_by_key(Option::is_none);
        let busy = lanes.iter().filter(|l| l.is_some()).count();
        match busy {
            0 => break,
            _ if busy == width => step(&mut lanes[..width], messages, &flat),
            // The last message left alone: its blocks wait for a partner, if they may.
            1 => {
                let l = lanes[0].take().expect("one lane is busy");
                match carry.and_then(|c| l.carried(&runs[l.message], &flat, c)) {
                    Some(w) => kept = Some((l.message, w)),
                    None => {
                        let state = &mut messages[l.message].state;
                        compress(state, l.blocks(&flat));
                        for (_, b) in &flat[l.pos + 1..l.end] {
                            compress(state, b);
                        }
                    }
                }
            }
            // Fewer messages than lanes, none left to fill them: two at a time. (Holding
            // several messages' blocks back for four lanes was slower: their runs were
            // carried again each batch, and their bytes left the cache.)
            _ => step(&mut lanes[..2], messages, &flat),
        }
    }
    drop(flat);
    // The emptied lists go back, to be filled without allocating.
    for (m, mut r) in messages.iter_mut().zip(runs.drain(..)) {
        r.clear();
        m.pending = r;
    }
    if let Some((i, w)) = kept {
        messages[i].pending = w;
    }
}

/// The most messages compressed side by side: four with the SHA extensions and 32
/// vector registers (3.8 GB/s on the machine measured, against 3.3 for two), two with
/// 16 (four then spill and are no faster), two without the SHA extensions (`sha2`'s
/// portable code, one after the other).
pub fn widest() -> usize {
    #[cfg(target_arch = "x86_64")]
    if shani::available() && shani::wide_registers() {
        return 4;
    }
    2
}

/// Compresses as many blocks of each of `lanes` (all busy: two or four) as the one
/// with fewest has in its current slice, and moves each on; a lane whose message has
/// no blocks left is emptied.
fn step(lanes: &mut [Option<Lane>], messages: &mut [&mut Message], flat: &[(usize, &[u8])]) {
    let n = lanes
        .iter()
        .flatten()
        .map(|l| l.blocks(flat).len())
        .min()
        .unwrap_or(0);
    match lanes {
        [Some(a), Some(b)] => {
            let [ma, mb] = messages
                .get_disjoint_mut([a.message, b.message])
                .expect("two lanes hold two different messages");
            compress_pair(
                &mut ma.state,
                &a.blocks(flat)[..n],
                &mut mb.state,
                &b.blocks(flat)[..n],
            );
        }
        [Some(a), Some(b), Some(c), Some(d)] => {
            let ms = messages
                .get_disjoint_mut([a.message, b.message, c.message, d.message])
                .expect("four lanes hold four different messages");
            let blocks = [&*a, &*b, &*c, &*d].map(|l| &l.blocks(flat)[..n]);
            compress_quad(ms.map(|m| &mut m.state), blocks);
        }
        _ => unreachable!("two or four busy lanes are stepped"),
    }
    for lane in lanes.iter_mut() {
        if lane.as_mut().is_some_and(|l| !l.advance(n, flat)) {
            *lane = None;
        }
    }
}

/// Compresses whole blocks into `state` (`sha2`'s own SHA-NI or portable code), in one
/// call: its SHA-NI path loads and stores the state once per call, not once per block.
fn compress(state: &mut [u32; 8], blocks: &[u8]) {
    let (blocks, _) = blocks.as_chunks::<64>();
    // SAFETY: GenericArray<u8, U64> is a [u8; 64] (repr(transparent)): the cast sha2's
    // own compress256 makes the other way.
    let blocks = unsafe {
        std::slice::from_raw_parts(
            blocks.as_ptr() as *const GenericArray<u8, sha2::digest::consts::U64>,
            blocks.len(),
        )
    };
    sha2::compress256(state, blocks);
}

/// Compresses `a` into `sa` and `b` into `sb` (whole blocks, as many of each).
fn compress_pair(sa: &mut [u32; 8], a: &[u8], sb: &mut [u32; 8], b: &[u8]) {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if shani::available() {
        let (a, _) = a.as_chunks::<64>();
        let (b, _) = b.as_chunks::<64>();
        // SAFETY: the CPU has the SHA, SSE2, SSSE3 and SSE4.1 instructions (checked),
        // and AVX-512F and VL for the kernel that uses them (checked).
        unsafe {
            match shani::wide_registers() {
                true => shani::compress_pair_evex([sa, sb], [a, b]),
                false => shani::compress_pair([sa, sb], [a, b]),
            }
        }
        return;
    }
    compress(sa, a);
    compress(sb, b);
}

/// Compresses four messages' blocks (as many of each), `blocks[i]` into `states[i]`;
/// only called when [`widest`] is four.
fn compress_quad(states: [&mut [u32; 8]; 4], blocks: [&[u8]; 4]) {
    #[cfg(test)]
    tests::QUADS.with(|n| n.set(n.get() + 1));
    #[cfg(target_arch = "x86_64")]
    {
        let blocks = blocks.map(|b| b.as_chunks::<64>().0);
        // SAFETY: `widest` found the SHA extensions and AVX-512F and VL before four
        // lanes were filled.
        unsafe { shani::compress_quad_evex(states, blocks) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("four lanes only with the x86 SHA extensions: {states:?} {blocks:?}");
}

#[cfg(target_arch = "x86_64")]
mod shani {
    //! The two- and four-message kernels on the x86 SHA extensions. Each message's rounds are
    //! Intel's SHA-NI sequence (state kept as ABEF/CDGH words, four rounds per message
    //! schedule vector); the messages' instructions alternate.
    use std::arch::x86_64::*;

    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    pub fn available() -> bool {
        std::is_x86_feature_detected!("sha")
            && std::is_x86_feature_detected!("sse2")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1")
    }

    /// Whether the CPU has AVX-512F and VL: the kernels compiled for them
    /// ([`compress_pair_evex`], [`compress_quad_evex`]) are the same code, but the
    /// compiler can then keep the messages' state, saved state and schedule words in 32
    /// registers (`xmm16`-`xmm31` by EVEX-encoded moves and adds; the SHA instructions
    /// reach only the first 16), where with 16 it spills two messages' to the stack (48
    /// stack accesses a block, none). On the machine measured (AMD Zen 5), two messages
    /// 3.3 GB/s against 3.15 GB/s; four 3.8 GB/s.
    pub fn wide_registers() -> bool {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl")
    }

    /// The state words as the instructions want them: (ABEF, CDGH).
    #[inline(always)]
    unsafe fn load(s: &[u32; 8]) -> (__m128i, __m128i) {
        unsafe {
            let p = s.as_ptr() as *const __m128i;
            let dcba = _mm_loadu_si128(p);
            let efgh = _mm_loadu_si128(p.add(1));
            let cdab = _mm_shuffle_epi32(dcba, 0xB1);
            let efgh = _mm_shuffle_epi32(efgh, 0x1B);
            (
                _mm_alignr_epi8(cdab, efgh, 8),
                _mm_blend_epi16(efgh, cdab, 0xF0),
            )
        }
    }

    #[inline(always)]
    unsafe fn store(abef: __m128i, cdgh: __m128i, s: &mut [u32; 8]) {
        unsafe {
            let feba = _mm_shuffle_epi32(abef, 0x1B);
            let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
            let p = s.as_mut_ptr() as *mut __m128i;
            _mm_storeu_si128(p, _mm_blend_epi16(feba, dchg, 0xF0));
            _mm_storeu_si128(p.add(1), _mm_alignr_epi8(dchg, feba, 8));
        }
    }

    /// The next four message schedule words from the sixteen before them.
    #[inline(always)]
    unsafe fn schedule(w0: __m128i, w1: __m128i, w2: __m128i, w3: __m128i) -> __m128i {
        unsafe {
            let t = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4));
            _mm_sha256msg2_epu32(t, w3)
        }
    }

    /// Four rounds of `N` messages (group `G` of sixteen), the words of groups 4 to 15
    /// scheduled first into the oldest of each message's four vectors; the messages'
    /// instructions alternate.
    #[inline(always)]
    unsafe fn group<const G: usize, const N: usize>(
        abef: &mut [__m128i; N],
        cdgh: &mut [__m128i; N],
        w: &mut [[__m128i; 4]; N],
    ) {
        unsafe {
            let j = G % 4;
            let k = _mm_loadu_si128((K.as_ptr() as *const __m128i).add(G));
            let mut t = [k; N];
            for l in 0..N {
                if G >= 4 {
                    let v = &mut w[l];
                    v[j] = schedule(v[j], v[(j + 1) % 4], v[(j + 2) % 4], v[(j + 3) % 4]);
                }
                t[l] = _mm_add_epi32(w[l][j], k);
            }
            for l in 0..N {
                cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], t[l]);
            }
            for l in 0..N {
                abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(t[l], 0x0E));
            }
        }
    }

    macro_rules! groups {
        ($abef:ident, $cdgh:ident, $w:ident, $($g:literal)*) => {
            $(group::<$g, N>(&mut $abef, &mut $cdgh, &mut $w);)*
        };
    }

    /// Compresses `m[i]` into `s[i]` for `N` messages, block by block side by side (as
    /// many blocks of each): the body of each kernel below, compiled into it with the
    /// registers its CPU features give.
    #[inline(always)]
    unsafe fn side_by_side<const N: usize>(s: [&mut [u32; 8]; N], m: [&[[u8; 64]]; N]) {
        unsafe {
            let bswap = _mm_set_epi64x(0x0C0D_0E0F_0809_0A0B, 0x0405_0607_0001_0203);
            let zero = _mm_setzero_si128();
            let (mut abef, mut cdgh) = ([zero; N], [zero; N]);
            for (l, st) in s.iter().enumerate() {
                (abef[l], cdgh[l]) = load(st);
            }
            let blocks = m.iter().map(|b| b.len()).min().unwrap_or(0);
            // Each cut to as many blocks: no index below is out of bounds.
            let m = m.map(|b| &b[..blocks]);
            for i in 0..blocks {
                let (save_abef, save_cdgh) = (abef, cdgh);
                let mut w = [[zero; 4]; N];
                for (v, b) in w.iter_mut().zip(m) {
                    let p = b[i].as_ptr() as *const __m128i;
                    for (j, word) in v.iter_mut().enumerate() {
                        *word = _mm_shuffle_epi8(_mm_loadu_si128(p.add(j)), bswap);
                    }
                }
                groups!(abef, cdgh, w, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
                for l in 0..N {
                    abef[l] = _mm_add_epi32(abef[l], save_abef[l]);
                    cdgh[l] = _mm_add_epi32(cdgh[l], save_cdgh[l]);
                }
            }
            for (l, st) in s.into_iter().enumerate() {
                store(abef[l], cdgh[l], st);
            }
        }
    }

    /// Compresses `m[0]` into `s[0]` and `m[1]` into `s[1]`, block by block side by side.
    ///
    /// # Safety
    /// The CPU must have the SHA, SSE2, SSSE3 and SSE4.1 instructions ([`available`]).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub unsafe fn compress_pair(s: [&mut [u32; 8]; 2], m: [&[[u8; 64]]; 2]) {
        unsafe { side_by_side(s, m) }
    }

    /// [`compress_pair`] with 32 vector registers.
    ///
    /// # Safety
    /// As [`compress_pair`], and the CPU must have AVX-512F and VL ([`wide_registers`]).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1,avx512f,avx512vl")]
    pub unsafe fn compress_pair_evex(s: [&mut [u32; 8]; 2], m: [&[[u8; 64]]; 2]) {
        unsafe { side_by_side(s, m) }
    }

    /// Four messages side by side. Only built for 32 registers: with 16, four messages'
    /// vectors spill, and the kernel is no faster than two messages at a time.
    ///
    /// # Safety
    /// As [`compress_pair_evex`].
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1,avx512f,avx512vl")]
    pub unsafe fn compress_quad_evex(s: [&mut [u32; 8]; 4], m: [&[[u8; 64]]; 4]) {
        unsafe { side_by_side(s, m) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    thread_local! {
        /// Calls of the four-message kernel on this thread.
        pub static QUADS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn data(n: usize, seed: u32) -> Vec<u8> {
        (0..n as u32)
            .map(|i| (i.wrapping_mul(seed) % 251) as u8)
            .collect()
    }

    /// Both builds of the two-message kernel, and the four-message one, equal `sha2`,
    /// over one block and many.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_kernels_equal_sha2() {
        if !shani::available() {
            return;
        }
        for blocks in [1usize, 2, 1000] {
            let (x, y) = (data(64 * blocks, 3), data(64 * blocks, 11));
            let (mut want_x, mut want_y) = (H0, H0);
            compress(&mut want_x, &x);
            compress(&mut want_y, &y);
            let (xb, _) = x.as_chunks::<64>();
            let (yb, _) = y.as_chunks::<64>();
            let (mut sx, mut sy) = (H0, H0);
            // SAFETY: the CPU has the SHA extensions (checked above).
            unsafe { shani::compress_pair([&mut sx, &mut sy], [xb, yb]) };
            assert_eq!((sx, sy), (want_x, want_y), "{blocks} blocks, 16 registers");
            if shani::wide_registers() {
                let (mut sx, mut sy) = (H0, H0);
                // SAFETY: and AVX-512F and VL (checked).
                unsafe { shani::compress_pair_evex([&mut sx, &mut sy], [xb, yb]) };
                assert_eq!((sx, sy), (want_x, want_y), "{blocks} blocks, 32 registers");
                let (z, v) = (data(64 * blocks, 17), data(64 * blocks, 23));
                let (mut want_z, mut want_v) = (H0, H0);
                compress(&mut want_z, &z);
                compress(&mut want_v, &v);
                let mut s = [H0; 4];
                let [s0, s1, s2, s3] = &mut s;
                let m = [&x, &y, &z, &v].map(|b| b.as_chunks::<64>().0);
                // SAFETY: as above.
                unsafe { shani::compress_quad_evex([s0, s1, s2, s3], m) };
                assert_eq!(s, [want_x, want_y, want_z, want_v], "{blocks} blocks, four");
            }
        }
    }

    /// Messages of every length class (empty, under a block, 55/56/64 at the padding
    /// edges, long) fed in uneven pieces and compressed together equal `sha2`'s digests,
    /// whether the blocks left alone are compressed at once or wait for later batches
    /// (held in their chunk, or too many to wait).
    #[test]
    fn equals_sha2_whatever_the_lengths_pieces_and_carry() {
        let lens = [
            0usize, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 4096, 100_003, 300_000, 900_000,
        ];
        let msgs: Vec<Vec<u8>> = lens
            .iter()
            .enumerate()
            .map(|(i, &n)| data(n, 7 + 2 * i as u32))
            .collect();
        QUADS.set(0);
        for (width, max) in [2, 4]
            .into_iter()
            .flat_map(|w| [None, Some(0), Some(5_000), Some(1 << 20)].map(|m| (w, m)))
        {
            let mut held = 0;
            for piece in [1usize, 7, 64, 1448, 65_536] {
                // Even messages are copied into the batch, odd ones lie in a shared chunk.
                let (mut own, mut shared) = (Vec::new(), Vec::new());
                let mut hashing: Vec<Message> = msgs.iter().map(|_| Message::default()).collect();
                let mut at = vec![0usize; msgs.len()];
                // Pieces of the messages alternate in the batch, as streams and bodies do;
                // the longest go on alone at the end, as a big body does.
                while at.iter().zip(&msgs).any(|(a, m)| *a < m.len()) {
                    for (k, m) in msgs.iter().enumerate() {
                        let end = (at[k] + piece + k).min(m.len());
                        let (src, into) = match k % 2 {
                            0 => (Source::Own, &mut own),
                            _ => (Source::Shared, &mut shared),
                        };
                        let start = into.len();
                        into.extend_from_slice(&m[at[k]..end]);
                        let range = start..into.len();
                        let bytes = Sources {
                            own: &own,
                            shared: &shared,
                        };
                        hashing[k].update(bytes, src, range);
                        at[k] = end;
                    }
                    if own.len() + shared.len() > 200_000 {
                        let chunk: Chunk = std::sync::Arc::new(std::mem::take(&mut shared));
                        let mut all: Vec<&mut Message> = hashing.iter_mut().collect();
                        let bytes = Sources {
                            own: &own,
                            shared: &chunk,
                        };
                        let carry = max.map(|max| Carry {
                            chunk: Some(&chunk),
                            max,
                        });
                        compress_pending(&mut all, bytes, carry, width);
                        own.clear();
                        held += hashing
                            .iter()
                            .filter(|m| m.pending.iter().any(|r| matches!(r, Run::Held(..))))
                            .count();
                        assert!(
                            hashing.iter().filter(|m| m.has_pending()).count() <= 1,
                            "one message at most waits"
                        );
                    }
                }
                let bytes = Sources {
                    own: &own,
                    shared: &shared,
                };
                for (m, h) in msgs.iter().zip(hashing) {
                    assert_eq!(
                        h.finish(bytes),
                        <[u8; 32]>::from(Sha256::digest(m)),
                        "length {} piece {piece} carry {max:?} width {width}",
                        m.len()
                    );
                }
            }
            assert_eq!(
                held > 0,
                max.is_some_and(|m| m >= 5_000),
                "blocks waited (held) only where they may: {max:?}"
            );
            if width == 4 && widest() == 4 {
                assert!(QUADS.get() > 0, "four messages went side by side");
            }
        }
    }
}
