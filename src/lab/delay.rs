//! The lab link's delay without netem (many kernels, this one among them, lack
//! `sch_netem`): the router hands every packet it forwards to a netfilter queue (the
//! xtables `NFQUEUE` target through `iptables-legacy`; nft's `queue` needs
//! CONFIG_NFT_QUEUE, rarer), and a thread of wirelab holds each one for the one-way
//! delay, then lets it go. Both directions pass the router's FORWARD hook, so the RTT
//! grows by twice the delay. Packets leave in the order they came (a link does not
//! reorder): none is released before one that came before it.
//!
//! The rule has `--queue-bypass`: were the thread gone, packets would pass undelayed,
//! never be dropped. The rule lives in the router's namespace and goes with it.

use super::netns::Netns;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The queue's number in the router's namespace (its own: no other program sees it).
const QUEUE: u16 = 0;
/// Packets the kernel holds for the queue at most (a second of a 100 Mbit/s link).
const QUEUE_MAX: u32 = 10_000;
/// The longest sleep between two looks at the queue: the delay's precision.
const TICK: Duration = Duration::from_micros(200);

/// The running delay; stopping it (or dropping it) releases what it holds.
pub struct DelayLink {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DelayLink {
    /// Queues the router's forwarded packets and holds each one `delay`.
    pub fn start(router: &Netns, delay: Duration) -> Result<DelayLink, String> {
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
            .map_err(|e| {
                format!(
                    "--delay: cannot open a netfilter queue in the router ({e}); the kernel \
needs nfnetlink_queue (CONFIG_NETFILTER_NETLINK_QUEUE)"
                )
            })?;
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
            .map_err(|e| {
                format!(
                    "--delay: {e}; it needs iptables-legacy with the NFQUEUE target (apt-get \
install iptables)"
                )
            })?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("lab-delay".into())
            .spawn(move || hold(queue, delay, &stopping))
            .map_err(|e| format!("--delay: cannot start its thread: {e}"))?;
        Ok(DelayLink {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops holding packets (those held leave at once).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DelayLink {
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

/// The thread: take what the queue has, release what is due, sleep a tick.
fn hold(mut queue: nfq::Queue, delay: Duration, stop: &AtomicBool) {
    keep_caps_across_the_switch();
    let mut narrowed = false;
    let mut held: VecDeque<(Instant, nfq::Message)> = VecDeque::new();
    let mut last_due = Instant::now();
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        // Until nothing more comes for now (WouldBlock), or ENOBUFS and the like: the
        // kernel let those packets pass (fail-open).
        while let Ok(msg) = queue.recv() {
            // Never before the packet ahead of it.
            let due = (Instant::now() + delay).max(last_due);
            last_due = due;
            held.push_back((due, msg));
        }
        let now = Instant::now();
        if !narrowed {
            narrowed = narrow_to_net_admin();
        }
        while let Some((due, _)) = held.front() {
            if *due > now && !stopping {
                break;
            }
            let (_, mut msg) = held.pop_front().expect("front exists");
            msg.set_verdict(nfq::Verdict::Accept);
            // An error would come back later, on recv; the kernel drops that packet when
            // the queue closes, a loss TCP repairs as on any link.
            let _ = queue.verdict(msg);
        }
        if stopping {
            return;
        }
        let wait = held.front().map_or(TICK, |(due, _)| {
            due.saturating_duration_since(now).min(TICK)
        });
        std::thread::sleep(wait);
    }
}
