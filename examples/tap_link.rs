//! The lab link's alternative, built only to be measured against it: two TAP devices
//! bridged in user space. Every Ethernet frame one side writes is read here, held for
//! the one-way delay and written to the other side, the way the lab's netfilter queue
//! holds each forwarded packet (src/lab/link.rs). `scripts/bench-link.sh --tap` puts each
//! device in a namespace of its own, runs the course server behind one and curl behind
//! the other, and compares the CPU per packet and the lateness with the queue's.
//!
//!   tap_link NAME_A NAME_B DELAY_MS      (as root; SIGINT or SIGTERM ends it)
//!
//! On its end it prints one line: packets, CPU µs (both threads), the lateness past each
//! frame's due time at the 99th percentile and the worst, µs.
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// A TAP device named `name` (Ethernet frames, no packet-information header).
fn tap(name: &str) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")?;
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short,
        _pad: [0; 22],
    };
    for (i, b) in name.bytes().take(libc::IFNAMSIZ - 1).enumerate() {
        req.name[i] = b as libc::c_char;
    }
    // SAFETY: TUNSETIFF reads and writes an ifreq, which IfReq lays out.
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

fn thread_cpu_us() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1_000
}

/// One direction: frames read from `from` leave on `to` after `delay`, in order.
/// Gives (frames, CPU µs, lateness of each frame in µs).
fn forward(
    mut from: File,
    mut to: File,
    delay: Duration,
    stop: Arc<AtomicBool>,
) -> (u64, u64, Vec<u64>) {
    let mut held: std::collections::VecDeque<(Instant, Vec<u8>)> = Default::default();
    let mut late = Vec::new();
    let mut frames = 0;
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        // Wait for a frame, or for the first held one to be due (the TAP's descriptor
        // can be polled: the queue's cannot, through the nfq crate).
        let wait = held.front().map_or(Duration::from_millis(100), |(due, _)| {
            due.saturating_duration_since(Instant::now())
        });
        let mut pfd = libc::pollfd {
            fd: from.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: wait.as_secs() as libc::time_t,
            tv_nsec: wait.subsec_nanos() as libc::c_long,
        };
        // SAFETY: one valid pollfd, a valid timeout, no signal mask.
        let ready = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
        if ready > 0 {
            // SAFETY: fcntl on an open descriptor.
            unsafe { libc::fcntl(from.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
            while let Ok(n) = from.read(&mut buf) {
                frames += 1;
                held.push_back((Instant::now() + delay, buf[..n].to_vec()));
            }
        }
        let now = Instant::now();
        while held.front().is_some_and(|(due, _)| *due <= now) {
            let (due, frame) = held.pop_front().expect("front exists");
            late.push(now.duration_since(due).as_micros() as u64);
            let _ = to.write(&frame);
        }
    }
    (frames, thread_cpu_us(), late)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: tap_link NAME_A NAME_B DELAY_MS (as root)");
        std::process::exit(2);
    }
    let delay = Duration::from_secs_f64(args[3].parse::<f64>().expect("DELAY_MS") / 1000.0);
    let (a, b) = match (tap(&args[1]), tap(&args[2])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("tap_link: cannot make the TAP devices: {e}");
            std::process::exit(1);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).expect("signal handler");
    }
    let (a2, b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let (s1, s2) = (stop.clone(), stop.clone());
    let one = std::thread::spawn(move || forward(a, b2, delay, s1));
    let two = std::thread::spawn(move || forward(b, a2, delay, s2));
    let (f1, c1, mut l1) = one.join().unwrap();
    let (f2, c2, l2) = two.join().unwrap();
    l1.extend(l2);
    l1.sort_unstable();
    let p99 = l1
        .get(l1.len().saturating_sub(1) * 99 / 100)
        .copied()
        .unwrap_or(0);
    println!(
        "packets {} cpu_us {} late_us_p99 {} late_us_max {}",
        f1 + f2,
        c1 + c2,
        p99,
        l1.last().copied().unwrap_or(0)
    );
}
