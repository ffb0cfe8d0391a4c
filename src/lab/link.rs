//! The lab link's delay, jitter, loss and reordering without netem (many kernels, this
//! one among them, lack `sch_netem`): the router hands every packet it forwards to a
//! netfilter queue (the xtables `NFQUEUE` target through `iptables-legacy`; nft's
//! `queue` needs CONFIG_NFT_QUEUE, rarer), and a thread of wirelab decides each one's
//! fate: held for the one-way delay (± the jitter), then let go; dropped (`--loss`,
//! `--drop-every`); or held back behind the next packet (`--reorder`). Both directions
//! pass the router's FORWARD hook, so the RTT grows by twice the delay.
//!
//! Jitter never reorders: a packet never leaves before one that came before it, as in
//! the queue of a real router (netem's jitter does reorder; here only `--reorder` does).
//! Loss and reordering touch the server's data segments only (TCP with a payload, no
//! SYN or RST), so the handshake is left alone and every loss is one the server's TCP
//! repairs. Every drop and reorder is recorded (time, sender, sequence range) for the
//! report. The choices come from a generator seeded the same each run: the same run
//! loses the same segments.
//!
//! The rule has `--queue-bypass`: were the thread gone, packets would pass undelayed,
//! never be dropped. The rule lives in the router's namespace and goes with it.

use super::netns::Netns;
use crate::trace::{LinkEvent, MAX_LINK_EVENTS};
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The queue's number in the router's namespace (its own: no other program sees it).
const QUEUE: u16 = 0;
/// Packets the kernel holds for the queue at most (a second of a 100 Mbit/s link).
const QUEUE_MAX: u32 = 10_000;
/// The longest sleep between two looks at the queue. A packet's delay counts from
/// the kernel's stamp of its arrival ([`kernel_stamps_on`]), so a packet read late
/// still leaves on time (a packet without a stamp may leave up to this much late).
const TICK: Duration = Duration::from_millis(1);
/// A packet held back (`--reorder`) leaves after the next one of its direction, or
/// after this long if none comes.
const REORDER_WAIT: Duration = Duration::from_millis(50);
/// The seed of the link's choices.
pub const SEED: u64 = 0x05EE_D4E7;

/// What the link does to each packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub delay: Duration,
    /// Each packet's delay varies uniformly within ± this.
    pub jitter: Duration,
    pub loss_pct: Option<f64>,
    pub drop_every: Option<u32>,
    pub reorder_pct: Option<f64>,
    /// The course server's address: its data segments are the ones lost or reordered.
    pub server: Ipv4Addr,
}

/// What the link did, once stopped.
#[derive(Debug, Default)]
pub struct Record {
    pub drops: Vec<LinkEvent>,
    pub reordered: Vec<LinkEvent>,
    /// Drops and reorders beyond [`MAX_LINK_EVENTS`].
    pub omitted: u64,
    /// Packets the queue handled, and the CPU time the thread spent on them.
    pub packets: u64,
    pub cpu_us: u64,
    /// How late the link let packets go, past the time each was due (its own delay,
    /// beyond the one asked): the 99th percentile and the worst, µs.
    pub late_us_p99: u64,
    pub late_us_max: u64,
    /// Packets that came without the kernel's stamp of their arrival: their delay
    /// counted from when the thread read them, up to a [`TICK`] late.
    pub unstamped: u64,
}

/// Lateness counted in buckets of [`LATE_BUCKET_US`] (the last one holds the rest).
const LATE_BUCKET_US: u64 = 50;
const LATE_BUCKETS: usize = 2_000;

/// The spread of the link's lateness, for its percentile.
struct Lateness {
    buckets: Vec<u64>,
    max_us: u64,
}

impl Lateness {
    fn new() -> Lateness {
        Lateness {
            buckets: vec![0; LATE_BUCKETS],
            max_us: 0,
        }
    }

    fn add(&mut self, late: Duration) {
        let us = late.as_micros() as u64;
        self.max_us = self.max_us.max(us);
        self.buckets[((us / LATE_BUCKET_US) as usize).min(LATE_BUCKETS - 1)] += 1;
    }

    /// The upper edge of the bucket that holds the 99th percentile (0: none counted).
    fn p99_us(&self) -> u64 {
        let total: u64 = self.buckets.iter().sum();
        let want = total - total / 100;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want && total > 0 {
                return ((i as u64 + 1) * LATE_BUCKET_US).min(self.max_us);
            }
        }
        0
    }
}

/// The running link; stopping it (or dropping it) releases what it holds.
pub struct LinkQueue {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Record>>,
}

/// Why the link's queue could not start (the link then has no delay or loss).
#[derive(Debug)]
pub enum LinkError {
    /// No netfilter queue in the router: the kernel lacks nfnetlink_queue.
    Queue(std::io::Error),
    /// The rule that sends forwarded packets to the queue could not be added.
    Iptables(super::netns::CommandError),
    Thread(std::io::Error),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Queue(e) => write!(
                f,
                "cannot open a netfilter queue in the router ({e}); the kernel needs \
nfnetlink_queue (CONFIG_NETFILTER_NETLINK_QUEUE)"
            ),
            LinkError::Iptables(e) => write!(
                f,
                "{e}; it needs iptables-legacy with the NFQUEUE target (apt-get install iptables)"
            ),
            LinkError::Thread(e) => write!(f, "cannot start the link's thread: {e}"),
        }
    }
}

impl std::error::Error for LinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LinkError::Queue(e) | LinkError::Thread(e) => Some(e),
            LinkError::Iptables(e) => Some(e),
        }
    }
}

impl LinkQueue {
    /// Queues the router's forwarded packets and shapes them as `shape` says.
    pub fn start(router: &Netns, shape: Shape) -> Result<LinkQueue, LinkError> {
        // The socket is made in the router's namespace; it works from any thread after.
        let queue = router
            .enter(|| -> std::io::Result<nfq::Queue> {
                let mut q = nfq::Queue::open()?;
                q.bind(QUEUE)?;
                q.set_fail_open(QUEUE, true)?;
                q.set_queue_max_len(QUEUE, QUEUE_MAX)?;
                q.set_nonblocking(true);
                Ok(q)
            })
            .and_then(|r| r)
            .map_err(LinkError::Queue)?;
        router
            .run(
                "iptables-legacy",
                &[
                    "-A",
                    "FORWARD",
                    "-j",
                    "NFQUEUE",
                    "--queue-num",
                    &QUEUE.to_string(),
                    "--queue-bypass",
                ],
            )
            .map_err(LinkError::Iptables)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("lab-link".into())
            .spawn(move || Link::new(shape).run(queue, &stopping))
            .map_err(LinkError::Thread)?;
        Ok(LinkQueue {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops shaping (what is held leaves at once) and says what the link did.
    pub fn stop(&mut self) -> Record {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for LinkQueue {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The kernel takes a verdict only from a task with CAP_NET_ADMIN, and the lab gives up
/// root before the program runs. Capabilities are a thread's own: this thread keeps
/// its permitted set across the switch of user (PR_SET_KEEPCAPS, also its own; the set
/// must stay whole until then, for the C library makes every thread switch), and once
/// switched narrows it to CAP_NET_ADMIN alone, effective. Every other thread has none.
fn keep_caps_across_the_switch() {
    // SAFETY: prctl with integer arguments changes this thread's flag only.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
}

/// Once the user is switched: CAP_NET_ADMIN alone, effective. True once done.
fn narrow_to_net_admin() -> bool {
    use caps::{CapSet, Capability};
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        return false;
    }
    let only: caps::CapsHashSet = [Capability::CAP_NET_ADMIN].into_iter().collect();
    let _ = caps::clear(None, CapSet::Inheritable);
    let _ = caps::set(None, CapSet::Permitted, &only);
    let _ = caps::set(None, CapSet::Effective, &only);
    true
}

/// The CPU time this thread has used, in µs.
fn thread_cpu_us() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1_000
}

/// The kernel stamps received packets only while some socket asks for stamps
/// (SO_TIMESTAMP switches on the global `netstamp_needed` key); this socket asks, for
/// as long as it is open, so that NFQA_TIMESTAMP comes with every queued packet.
fn kernel_stamps_on() -> Option<std::net::UdpSocket> {
    use std::os::fd::AsRawFd;
    let s = std::net::UdpSocket::bind("127.0.0.1:0").ok()?;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket and a c_int option of the right size.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMP,
            &on as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    (r == 0).then_some(s)
}

/// When the packet reached the router: the kernel's stamp (NFQA_TIMESTAMP) on the
/// monotonic clock, or now.
fn arrival(msg: &nfq::Message) -> Instant {
    let now = Instant::now();
    msg.get_timestamp()
        .and_then(|ts| std::time::SystemTime::now().duration_since(ts).ok())
        .filter(|ago| *ago < Duration::from_secs(1))
        .and_then(|ago| now.checked_sub(ago))
        .unwrap_or(now)
}

/// A TCP segment's addresses and sequence range, read from the IP packet the queue
/// hands over (IPv4: the lab has no IPv6).
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentSeen {
    pub from: (Ipv4Addr, u16),
    pub to: (Ipv4Addr, u16),
    pub seq: u32,
    pub len: u32,
    /// A payload, and neither SYN nor RST: a data segment the link may lose.
    pub data: bool,
}

/// The TCP segment in an IP packet, if it is one.
pub fn segment_of(packet: &[u8]) -> Option<SegmentSeen> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let sliced = SlicedPacket::from_ip(packet).ok()?;
    let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
        return None;
    };
    let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
        return None;
    };
    let len = tcp.payload().len() as u32;
    Some(SegmentSeen {
        from: (ip.header().source_addr(), tcp.source_port()),
        to: (ip.header().destination_addr(), tcp.destination_port()),
        seq: tcp.sequence_number(),
        len,
        data: len > 0 && !tcp.syn() && !tcp.rst(),
    })
}

/// What happens to one packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fate {
    /// Leaves after this long.
    Delay(Duration),
    Drop,
    /// Leaves after the next packet of its direction (after this long at the least).
    HoldBack(Duration),
}

/// The link's decisions, apart from the queue (so they can be tested without one).
pub struct Link {
    shape: Shape,
    rng: fastrand::Rng,
    /// The server's data segments seen so far (for `--drop-every`).
    data_segments: u64,
}

impl Link {
    pub fn new(shape: Shape) -> Link {
        Link {
            shape,
            rng: fastrand::Rng::with_seed(SEED),
            data_segments: 0,
        }
    }

    /// The fate of a packet carrying `segment` (None: not TCP).
    pub fn fate(&mut self, segment: Option<&SegmentSeen>) -> Fate {
        let server_data = self.server_data(segment);
        self.fate_of(server_data)
    }

    /// A data segment of the server's: one the link may lose or hold back.
    fn server_data(&self, segment: Option<&SegmentSeen>) -> bool {
        segment.is_some_and(|s| s.data && s.from.0 == self.shape.server)
    }

    /// The fate of a packet, a data segment of the server's or not.
    fn fate_of(&mut self, server_data: bool) -> Fate {
        if server_data {
            self.data_segments += 1;
            let lost = match (self.shape.drop_every, self.shape.loss_pct) {
                (Some(n), _) => self.data_segments.is_multiple_of(n as u64),
                (None, Some(p)) => self.rng.f64() * 100.0 < p,
                (None, None) => false,
            };
            if lost {
                return Fate::Drop;
            }
        }
        let delay = self.delay();
        match self.shape.reorder_pct {
            Some(p) if server_data && self.rng.f64() * 100.0 < p => Fate::HoldBack(delay),
            _ => Fate::Delay(delay),
        }
    }

    /// The delay, ± the jitter, uniformly.
    fn delay(&mut self) -> Duration {
        let j = self.shape.jitter.as_secs_f64();
        let d = self.shape.delay.as_secs_f64() + (self.rng.f64() * 2.0 - 1.0) * j;
        Duration::from_secs_f64(d.max(0.0))
    }

    /// The thread: take what the queue has, release what is due, sleep a tick.
    fn run(mut self, mut queue: nfq::Queue, stop: &AtomicBool) -> Record {
        let _stamps = kernel_stamps_on();
        keep_caps_across_the_switch();
        let mut narrowed = false;
        let mut record = Record::default();
        // In order of arrival (due, arrival number, a server's data segment, packet);
        // none leaves before the one ahead of it.
        let mut held: VecDeque<(Instant, u64, bool, nfq::Message)> = VecDeque::new();
        // The one packet held back: its arrival number, the time it leaves at the latest.
        let mut back: Option<(u64, Instant, nfq::Message)> = None;
        let mut last_due = Instant::now();
        let mut lateness = Lateness::new();
        let note = |list: &mut Vec<LinkEvent>, omitted: &mut u64, s: &SegmentSeen| {
            if list.len() < MAX_LINK_EVENTS {
                list.push(LinkEvent {
                    ts_us: super::client::now_us(),
                    from: format!("{}:{}", s.from.0, s.from.1),
                    to: format!("{}:{}", s.to.0, s.to.1),
                    seq: s.seq,
                    len: s.len,
                    ..Default::default()
                });
            } else {
                *omitted += 1;
            }
        };
        loop {
            let stopping = stop.load(Ordering::SeqCst);
            // Until nothing more comes for now (WouldBlock), or ENOBUFS and the like: the
            // kernel let those packets pass (fail-open).
            while let Ok(mut msg) = queue.recv() {
                record.packets += 1;
                let seen = segment_of(msg.get_payload());
                let server_data = self.server_data(seen.as_ref());
                let fate = self.fate_of(server_data);
                let now = arrival(&msg);
                if msg.get_timestamp().is_none() {
                    record.unstamped += 1;
                }
                match fate {
                    Fate::Drop => {
                        note(&mut record.drops, &mut record.omitted, &seen.expect("TCP"));
                        msg.set_verdict(nfq::Verdict::Drop);
                        let _ = queue.verdict(msg);
                    }
                    Fate::HoldBack(delay) if back.is_none() => {
                        note(
                            &mut record.reordered,
                            &mut record.omitted,
                            &seen.expect("TCP"),
                        );
                        back = Some((record.packets, now + delay + REORDER_WAIT, msg));
                    }
                    Fate::Delay(delay) | Fate::HoldBack(delay) => {
                        let due = (now + delay).max(last_due);
                        last_due = due;
                        held.push_back((due, record.packets, server_data, msg));
                    }
                }
            }
            let now = Instant::now();
            if !narrowed {
                narrowed = narrow_to_net_admin();
            }
            while let Some((due, ..)) = held.front() {
                if *due > now && !stopping {
                    break;
                }
                let (due, n, server_data, mut msg) = held.pop_front().expect("front exists");
                if !stopping {
                    lateness.add(now.saturating_duration_since(due));
                }
                msg.set_verdict(nfq::Verdict::Accept);
                // An error would come back later, on recv; the kernel drops that packet
                // when the queue closes, a loss TCP repairs as on any link.
                let _ = queue.verdict(msg);
                // The packet held back follows the next of the server's data segments
                // that came after it.
                if server_data && back.as_ref().is_some_and(|(b, ..)| *b < n) {
                    let (.., mut late) = back.take().expect("checked");
                    late.set_verdict(nfq::Verdict::Accept);
                    let _ = queue.verdict(late);
                }
            }
            if back.as_ref().is_some_and(|(_, t, _)| *t <= now || stopping) {
                let (.., mut late) = back.take().expect("checked");
                late.set_verdict(nfq::Verdict::Accept);
                let _ = queue.verdict(late);
            }
            if stopping {
                record.cpu_us = thread_cpu_us();
                record.late_us_p99 = lateness.p99_us();
                record.late_us_max = lateness.max_us;
                return record;
            }
            let wait = held.front().map_or(TICK, |(due, ..)| {
                due.saturating_duration_since(now).min(TICK)
            });
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            delay: Duration::from_millis(40),
            jitter: Duration::ZERO,
            loss_pct: None,
            drop_every: None,
            reorder_pct: None,
            server: Ipv4Addr::new(10, 80, 1, 2),
        }
    }

    fn seg(from_server: bool, len: u32) -> SegmentSeen {
        let (server, client) = (
            (Ipv4Addr::new(10, 80, 1, 2), 80),
            (Ipv4Addr::new(10, 80, 0, 2), 40000),
        );
        let (from, to) = if from_server {
            (server, client)
        } else {
            (client, server)
        };
        SegmentSeen {
            from,
            to,
            seq: 1,
            len,
            data: len > 0,
        }
    }

    #[test]
    fn drop_every_counts_the_servers_data_segments_only() {
        let mut link = Link::new(Shape {
            drop_every: Some(3),
            ..shape()
        });
        let fates: Vec<Fate> = [
            seg(true, 1448),
            seg(false, 100),
            seg(true, 0),
            seg(true, 1448),
            seg(true, 1448),
        ]
        .iter()
        .map(|s| link.fate(Some(s)))
        .collect();
        let d = Fate::Delay(Duration::from_millis(40));
        assert_eq!(fates, vec![d, d, d, d, Fate::Drop]);
        assert_eq!(link.fate(None), d, "not TCP: delayed only");
    }

    #[test]
    fn jitter_spreads_the_delay_uniformly_within_its_bounds() {
        let mut link = Link::new(Shape {
            jitter: Duration::from_millis(10),
            ..shape()
        });
        let ms: Vec<f64> = (0..10_000)
            .map(|_| match link.fate(None) {
                Fate::Delay(d) => d.as_secs_f64() * 1000.0,
                f => panic!("{f:?}"),
            })
            .collect();
        assert!(ms.iter().all(|m| (30.0..=50.0).contains(m)));
        let mean = ms.iter().sum::<f64>() / ms.len() as f64;
        let sd = (ms.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / ms.len() as f64).sqrt();
        assert!((mean - 40.0).abs() < 0.3, "{mean}");
        // A uniform spread of ±10 has a standard deviation of 10/√3.
        assert!((sd - 10.0 / 3f64.sqrt()).abs() < 0.2, "{sd}");
    }

    #[test]
    fn loss_and_reorder_follow_their_per_cent_and_repeat_run_to_run() {
        let run = || {
            let mut link = Link::new(Shape {
                loss_pct: Some(5.0),
                reorder_pct: Some(10.0),
                ..shape()
            });
            (0..20_000)
                .map(|_| link.fate(Some(&seg(true, 1448))))
                .collect::<Vec<_>>()
        };
        let fates = run();
        let lost = fates.iter().filter(|f| **f == Fate::Drop).count();
        let back = fates
            .iter()
            .filter(|f| matches!(f, Fate::HoldBack(_)))
            .count();
        assert!((900..1100).contains(&lost), "{lost}");
        // 10% of the 95% not lost.
        assert!((1750..2050).contains(&back), "{back}");
        assert_eq!(fates, run(), "the same choices every run");
    }

    #[test]
    fn lateness_gives_its_99th_percentile_and_its_worst() {
        let mut l = Lateness::new();
        assert_eq!(l.p99_us(), 0);
        for _ in 0..990 {
            l.add(Duration::from_micros(30));
        }
        for _ in 0..10 {
            l.add(Duration::from_micros(700));
        }
        assert_eq!(l.p99_us(), 50);
        l.add(Duration::from_secs(1));
        assert_eq!((l.p99_us(), l.max_us), (750, 1_000_000));
    }

    #[test]
    fn a_segment_is_read_from_the_ip_packet() {
        let b = etherparse::PacketBuilder::ipv4([10, 80, 1, 2], [10, 80, 0, 2], 64)
            .tcp(80, 40000, 1000, 500)
            .ack(1);
        let mut p = Vec::new();
        b.write(&mut p, &[7; 10]).unwrap();
        let s = segment_of(&p).unwrap();
        assert_eq!(s.from, (Ipv4Addr::new(10, 80, 1, 2), 80));
        assert_eq!((s.seq, s.len, s.data), (1000, 10, true));
        assert_eq!(segment_of(&p[..10]), None);
    }
}
