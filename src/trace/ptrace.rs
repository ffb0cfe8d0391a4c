//! Tracing a program's socket calls with ptrace, stopping it only at the calls that
//! can move bytes: a seccomp filter (seccompiler) installed in the child before it
//! execs returns SECCOMP_RET_TRACE for recvfrom, recvmsg, read, readv, sendto,
//! sendmsg, write, writev and sendfile, and lets every other call run untouched. At
//! each such stop the tracer reads the call (PTRACE_GET_SYSCALL_INFO: no registers,
//! no architecture) and looks at its descriptor: a pipe, a file or a socket known not
//! to be TCP goes on at once; otherwise the tracer asks for the exit stop, reads the
//! result, and keeps the call if the socket is TCP, with its addresses. What a socket
//! is, is learnt once per socket: from a copy of the descriptor (pidfd_getfd: its
//! domain, protocol, getsockname and getpeername), or, where that is refused, from
//! /proc/PID/net/tcp{,6} (a read that walks the kernel's whole TCP hash table: done
//! once per socket, never per call, or a browser's thousands of calls on Unix sockets
//! take minutes). Threads and children are followed (PTRACE_O_TRACECLONE, FORK,
//! VFORK), and every tracee is killed if wirelab dies (PTRACE_O_EXITKILL).
//!
//! Why ptrace with seccomp: it works on a stock kernel as root with no headers, no
//! compiler and no eBPF at run time (strace --seccomp-bpf does the same); the cost is
//! a stop per call on any descriptor (two on a TCP socket), measured by [`calibrate`]
//! and said in the report.

use super::{Call, Process, Trace, Way};
use nix::sys::ptrace::{self, Event, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::io;
use std::process::{Command, ExitStatus};
use std::time::Instant;

/// The system calls that stop the program, and the direction each moves bytes.
const CALLS: &[(i64, &str, Way)] = &[
    (libc::SYS_recvfrom, "recvfrom", Way::Recv),
    (libc::SYS_recvmsg, "recvmsg", Way::Recv),
    (libc::SYS_read, "read", Way::Recv),
    (libc::SYS_readv, "readv", Way::Recv),
    (libc::SYS_sendto, "sendto", Way::Send),
    (libc::SYS_sendmsg, "sendmsg", Way::Send),
    (libc::SYS_write, "write", Way::Send),
    (libc::SYS_writev, "writev", Way::Send),
    (libc::SYS_sendfile, "sendfile", Way::Send),
];

/// The seccomp filter could not be built: this architecture, or seccompiler's reason.
#[derive(Debug)]
pub enum FilterError {
    Architecture(String),
    Build(seccompiler::BackendError),
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterError::Architecture(a) => {
                write!(f, "tracing is not supported on this architecture ({a})")
            }
            FilterError::Build(e) => write!(f, "cannot build the seccomp filter: {e}"),
        }
    }
}

impl std::error::Error for FilterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FilterError::Build(e) => Some(e),
            FilterError::Architecture(_) => None,
        }
    }
}

/// The seccomp program: trace [`CALLS`], allow the rest.
pub fn filter() -> Result<seccompiler::BpfProgram, FilterError> {
    use seccompiler::{SeccompAction, SeccompFilter, TargetArch};
    let arch: TargetArch = std::env::consts::ARCH
        .try_into()
        .map_err(|_| FilterError::Architecture(std::env::consts::ARCH.to_string()))?;
    let rules = CALLS.iter().map(|(nr, _, _)| (*nr, Vec::new())).collect();
    SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Trace(0), arch)
        .and_then(|f| f.try_into())
        .map_err(FilterError::Build)
}

/// What a traced call looked like at its entry.
struct Pending {
    nr: i64,
    args: [u64; 6],
    /// The socket behind the call's descriptor (looked up at the entry).
    inode: u64,
}

/// What is known of each socket the program used, by inode: its TCP addresses (local,
/// remote), or None for a socket that is not TCP (a Unix socket, UDP). A browser makes
/// thousands of calls on Unix sockets: each must cost a look-up in this map, not a
/// read of the kernel's TCP table (which walks every hash bucket: tens of ms).
type Sockets = HashMap<u64, Option<(String, String)>>;

/// Reads a tracee's memory, one word at a time (PTRACE_PEEKDATA: works for the
/// tracer whatever the tracee's credentials).
fn peek(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    let word = std::mem::size_of::<libc::c_long>();
    let mut out = Vec::with_capacity(len + word);
    let mut a = addr;
    while out.len() < len {
        let w = ptrace::read(pid, a as ptrace::AddressType).ok()?;
        out.extend_from_slice(&w.to_ne_bytes());
        a += word as u64;
    }
    out.truncate(len);
    Some(out)
}

/// The total length of an iovec array (readv, writev, and inside a msghdr).
fn iov_total(pid: Pid, iov: u64, count: u64) -> u64 {
    let count = count.min(1024) as usize;
    let Some(bytes) = peek(pid, iov, count * 16) else {
        return 0;
    };
    bytes
        .chunks_exact(16)
        .map(|c| u64::from_ne_bytes(c[8..16].try_into().expect("8 bytes")))
        .sum()
}

/// The size a call asked for.
fn asked(pid: Pid, nr: i64, args: &[u64; 6]) -> u64 {
    match nr {
        n if n == libc::SYS_readv || n == libc::SYS_writev => iov_total(pid, args[1], args[2]),
        n if n == libc::SYS_recvmsg || n == libc::SYS_sendmsg => {
            // struct msghdr: name, namelen, iov at 16, iovlen at 24.
            peek(pid, args[1], 32)
                .map(|m| {
                    let iov = u64::from_ne_bytes(m[16..24].try_into().expect("8 bytes"));
                    let n = u64::from_ne_bytes(m[24..32].try_into().expect("8 bytes"));
                    iov_total(pid, iov, n)
                })
                .unwrap_or(0)
        }
        n if n == libc::SYS_sendfile => args[3],
        _ => args[2],
    }
}

/// The C library's name for a call and the way it moves bytes: recvfrom and sendto
/// without an address are recv and send.
fn function(nr: i64, args: &[u64; 6]) -> (&'static str, Way) {
    let (_, name, way) = CALLS
        .iter()
        .find(|(n, _, _)| *n == nr)
        .expect("only traced calls stop");
    let name = match *name {
        "recvfrom" if args[4] == 0 => "recv",
        "sendto" if args[4] == 0 => "send",
        n => n,
    };
    (name, *way)
}

/// TCP sockets by inode: (local, remote) as "ip:port", from /proc/PID/net/tcp{,6}.
fn tcp_sockets(pid: u32) -> HashMap<u64, (String, String)> {
    let mut out = HashMap::new();
    for (file, v6) in [("tcp", false), ("tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            if let (Some(l), Some(r), Ok(inode)) =
                (addr(f[1], v6), addr(f[2], v6), f[9].parse::<u64>())
            {
                out.insert(inode, (l, r));
            }
        }
    }
    out
}

/// "0200500A:0050" (little-endian words, as the kernel prints them) to "10.80.0.2:80".
fn addr(hex: &str, v6: bool) -> Option<String> {
    let (ip, port) = hex.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).map(u32::from_be))
        .collect::<Result<_, _>>()
        .ok()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    Some(if v6 {
        let a: [u8; 16] = bytes.try_into().ok()?;
        let ip = std::net::Ipv6Addr::from(a);
        match ip.to_ipv4_mapped() {
            Some(v4) => format!("{v4}:{port}"),
            None => format!("[{ip}]:{port}"),
        }
    } else {
        let a: [u8; 4] = bytes.try_into().ok()?;
        format!("{}:{port}", std::net::Ipv4Addr::from(a))
    })
}

/// The socket inode behind a descriptor, if it is a socket.
fn socket_inode(pid: u32, fd: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    link.to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// What a socket is.
#[derive(Debug, PartialEq)]
enum Kind {
    /// TCP, with its local and remote addresses once connected.
    Tcp(Option<(String, String)>),
    Other,
}

impl Kind {
    fn addresses(self) -> Option<(String, String)> {
        match self {
            Kind::Tcp(a) => a,
            Kind::Other => None,
        }
    }
}

/// Looks at the program's descriptor `fd` itself: a copy taken with pidfd_getfd
/// (Linux 5.6; the tracer may), asked its domain, protocol and addresses. None when
/// the copy cannot be had.
fn socket_kind(pid: u32, fd: i32) -> Option<Kind> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: raw system calls with integer arguments; a returned descriptor is owned.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if pidfd < 0 {
        return None;
    }
    // SAFETY: pidfd was just returned to us.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    // SAFETY: as above.
    let copy = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if copy < 0 {
        return None;
    }
    // SAFETY: copy was just returned to us.
    let copy = unsafe { OwnedFd::from_raw_fd(copy as i32) };
    let int_opt = |opt: libc::c_int| -> Option<libc::c_int> {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: a c_int and its length for the kernel to fill.
        let r = unsafe {
            libc::getsockopt(
                copy.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                &mut v as *mut libc::c_int as *mut libc::c_void,
                &mut len,
            )
        };
        (r == 0).then_some(v)
    };
    let (Some(domain), Some(protocol)) = (int_opt(libc::SO_DOMAIN), int_opt(libc::SO_PROTOCOL))
    else {
        return Some(Kind::Other);
    };
    if !matches!(domain, libc::AF_INET | libc::AF_INET6) || protocol != libc::IPPROTO_TCP {
        return Some(Kind::Other);
    }
    let name = |peer: bool| -> Option<String> {
        let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let sa = &mut st as *mut libc::sockaddr_storage as *mut libc::sockaddr;
        // SAFETY: a sockaddr_storage and its length for the kernel to fill.
        let r = unsafe {
            if peer {
                libc::getpeername(copy.as_raw_fd(), sa, &mut len)
            } else {
                libc::getsockname(copy.as_raw_fd(), sa, &mut len)
            }
        };
        (r == 0).then(|| sockaddr_words(&st)).flatten()
    };
    Some(Kind::Tcp(name(false).zip(name(true))))
}

/// "10.80.0.2:80", "[2001:db8::1]:80" (an IPv4-mapped address as IPv4, as the kernel's
/// table is read).
fn sockaddr_words(st: &libc::sockaddr_storage) -> Option<String> {
    match st.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a = unsafe { &*(st as *const _ as *const libc::sockaddr_in) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(format!("{ip}:{}", u16::from_be(a.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a = unsafe { &*(st as *const _ as *const libc::sockaddr_in6) };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            let port = u16::from_be(a.sin6_port);
            Some(match ip.to_ipv4_mapped() {
                Some(v4) => format!("{v4}:{port}"),
                None => format!("[{ip}]:{port}"),
            })
        }
        _ => None,
    }
}

fn process_info(pid: u32) -> Process {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    Process {
        pid,
        name: comm.trim().to_string(),
        cmdline: cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Follows a program started traced ([`super::exec::launch`]) until it and every process it started
/// have ended; returns its exit status and its calls on TCP sockets. `on_start` is
/// called once the program is past its exec (the tracer's options are set).
pub fn trace(root: u32, on_start: impl FnOnce()) -> io::Result<(ExitStatus, Trace)> {
    use std::os::unix::process::ExitStatusExt;
    let root = Pid::from_raw(root as i32);
    let mut trace = Trace {
        mechanism: "ptrace+seccomp".into(),
        ..Trace::default()
    };
    // The exec stop of PTRACE_TRACEME.
    match waitpid(root, Some(WaitPidFlag::__WALL)) {
        Ok(WaitStatus::Stopped(_, Signal::SIGTRAP)) => {}
        Ok(WaitStatus::Exited(_, code)) => {
            return Ok((ExitStatus::from_raw(code << 8), trace));
        }
        // Killed before its exec (the lab ending on a signal while it starts): an end,
        // not a tracer's failure.
        Ok(WaitStatus::Signaled(_, sig, _)) => {
            return Ok((ExitStatus::from_raw(sig as i32), trace));
        }
        Ok(other) => {
            return Err(io::Error::other(format!(
                "unexpected first stop: {other:?}"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    ptrace::setoptions(
        root,
        Options::PTRACE_O_TRACESECCOMP
            | Options::PTRACE_O_TRACESYSGOOD
            | Options::PTRACE_O_TRACECLONE
            | Options::PTRACE_O_TRACEFORK
            | Options::PTRACE_O_TRACEVFORK
            | Options::PTRACE_O_TRACEEXEC
            | Options::PTRACE_O_EXITKILL,
    )?;
    trace.processes.push(process_info(root.as_raw() as u32));
    on_start();
    ptrace::cont(root, None)?;
    let mut pending: HashMap<Pid, Pending> = HashMap::new();
    let mut sockets: Sockets = HashMap::new();
    // The process (thread group) of each thread, read once per thread.
    let mut tgids: HashMap<u32, u32> = HashMap::new();
    let mut status = ExitStatus::from_raw(0);
    loop {
        let ws = match waitpid(None, Some(WaitPidFlag::__WALL)) {
            Ok(ws) => ws,
            Err(nix::errno::Errno::ECHILD) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        match ws {
            WaitStatus::PtraceEvent(pid, _, e) if e == Event::PTRACE_EVENT_SECCOMP as i32 => {
                if let Ok(info) = ptrace::syscall_info(pid)
                    && info.op == libc::PTRACE_SYSCALL_INFO_SECCOMP
                {
                    trace.stops += 1;
                    // SAFETY: op says the seccomp member of the union is the valid one.
                    let s = unsafe { info.u.seccomp };
                    // A pipe, a file or a socket known not to be TCP: let the call run
                    // without stopping at its exit (one stop instead of two).
                    let fd = s.args[0] as i32;
                    match socket_inode(pid.as_raw() as u32, fd) {
                        Some(inode) if !matches!(sockets.get(&inode), Some(None)) => {
                            pending.insert(
                                pid,
                                Pending {
                                    nr: s.nr as i64,
                                    args: s.args,
                                    inode,
                                },
                            );
                            // Since Linux 4.8 the seccomp stop comes after syscall
                            // entry: the next PTRACE_SYSCALL stop is the call's exit.
                            let _ = ptrace::syscall(pid, None);
                        }
                        _ => {
                            let _ = ptrace::cont(pid, None);
                        }
                    }
                } else {
                    let _ = ptrace::cont(pid, None);
                }
            }
            WaitStatus::PtraceSyscall(pid) => {
                // When the call returned: taken first, before the lookups of record()
                // (the first call on a socket reads the socket table, milliseconds).
                let returned_at = now_us();
                if let (Some(p), Ok(info)) = (pending.remove(&pid), ptrace::syscall_info(pid))
                    && info.op == libc::PTRACE_SYSCALL_INFO_EXIT
                {
                    // SAFETY: op says the exit member of the union is the valid one.
                    let exit = unsafe { info.u.exit };
                    record(
                        &mut trace,
                        &mut sockets,
                        &mut tgids,
                        (pid, returned_at),
                        &p,
                        exit.sval,
                    );
                }
                let _ = ptrace::cont(pid, None);
            }
            WaitStatus::PtraceEvent(pid, _, e) => {
                let fork = [
                    Event::PTRACE_EVENT_FORK as i32,
                    Event::PTRACE_EVENT_VFORK as i32,
                    Event::PTRACE_EVENT_CLONE as i32,
                ];
                if fork.contains(&e) {
                    if let Ok(child) = ptrace::getevent(pid) {
                        let child = child as u32;
                        // A new process (not a thread) gets its own entry.
                        if e != Event::PTRACE_EVENT_CLONE as i32 {
                            trace.processes.push(process_info(child));
                        }
                    }
                } else if e == Event::PTRACE_EVENT_EXEC as i32 {
                    let info = process_info(pid.as_raw() as u32);
                    match trace.processes.iter_mut().find(|p| p.pid == info.pid) {
                        Some(p) => *p = info,
                        None => trace.processes.push(info),
                    }
                }
                let _ = ptrace::cont(pid, None);
            }
            WaitStatus::Stopped(pid, sig) => {
                // A new thread or process starts with SIGSTOP: not a signal to pass on.
                let pass = (sig != Signal::SIGSTOP).then_some(sig);
                let _ = ptrace::cont(pid, pass);
            }
            WaitStatus::Exited(pid, code) => {
                pending.remove(&pid);
                tgids.remove(&(pid.as_raw() as u32));
                if pid == root {
                    status = ExitStatus::from_raw((code & 0xff) << 8);
                }
            }
            WaitStatus::Signaled(pid, sig, _) => {
                pending.remove(&pid);
                tgids.remove(&(pid.as_raw() as u32));
                if pid == root {
                    status = ExitStatus::from_raw(sig as i32);
                }
            }
            _ => {}
        }
    }
    Ok((status, trace))
}

/// Keeps a finished call if its descriptor is a TCP socket.
fn record(
    trace: &mut Trace,
    sockets: &mut Sockets,
    tgids: &mut HashMap<u32, u32>,
    (pid, returned_at): (Pid, i64),
    p: &Pending,
    rval: i64,
) {
    let tid = pid.as_raw() as u32;
    // The first argument is the descriptor (sendfile's is the one written to).
    let fd = p.args[0] as i32;
    let pid_of_thread = *tgids.entry(tid).or_insert_with(|| {
        std::fs::read_to_string(format!("/proc/{tid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Tgid:"))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(tid)
    });
    if let std::collections::hash_map::Entry::Vacant(slot) = sockets.entry(p.inode) {
        match socket_kind(pid_of_thread, fd) {
            // A TCP socket not yet connected has no peer: learnt at a later call.
            Some(Kind::Tcp(None)) => {}
            Some(kind) => {
                slot.insert(kind.addresses());
            }
            None => {
                // No pidfd_getfd (before Linux 5.6, or the process not ours to look
                // into): the kernel's table, read once per socket.
                let found = tcp_sockets(tid).get(&p.inode).cloned();
                // A call that moved bytes on a TCP socket finds it in the table.
                if found.is_some() || rval > 0 {
                    slot.insert(found);
                }
            }
        }
    }
    let Some(Some((local, remote))) = sockets.get(&p.inode).cloned() else {
        return;
    };
    let (syscall, way) = function(p.nr, &p.args);
    trace.push(Call {
        pid: pid_of_thread,
        tid,
        syscall: syscall.to_string(),
        way,
        fd,
        asked: asked(pid, p.nr, &p.args),
        returned: rval,
        ts_us: returned_at,
        local,
        remote,
    });
}

/// The extra time a traced call costs on this machine, in µs: `dd` copies 2,000 bytes
/// one byte at a time (4,000 read and write calls, each looked up as the real tracer
/// looks calls up), untraced and then traced; the difference over the calls.
pub fn calibrate() -> Option<f64> {
    let dd = || {
        let mut c = Command::new("dd");
        c.args(["if=/dev/zero", "of=/dev/null", "bs=1", "count=2000"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    let t0 = Instant::now();
    dd().status().ok()?;
    let plain = t0.elapsed().as_secs_f64();
    let mut traced = dd();
    let path = super::exec::find_program("dd").ok()?;
    let args: Vec<String> = std::iter::once("dd".to_string())
        .chain(traced.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect();
    super::exec::launch(
        &mut traced,
        &path,
        &args,
        super::exec::environment(&[]),
        Some(filter().ok()?),
    )
    .ok()?;
    let t0 = Instant::now();
    let child = traced.spawn().ok()?;
    let (_, trace) = trace(child.id(), || {}).ok()?;
    let slow = t0.elapsed().as_secs_f64();
    // dd's descriptors are not sockets, so the trace keeps none of its calls; count
    // what it did instead: 2,000 reads and 2,000 writes.
    debug_assert!(trace.calls.is_empty());
    Some((slow - plain).max(0.0) * 1e6 / 4_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_socket_addresses_read_as_dotted_quads() {
        assert_eq!(
            addr("0200500A:A8F6", false).as_deref(),
            Some("10.80.0.2:43254")
        );
        assert_eq!(
            addr("0000000000000000FFFF00000100007F:0050", true).as_deref(),
            Some("127.0.0.1:80")
        );
        assert_eq!(
            addr("00000000000000000000000001000000:0050", true).as_deref(),
            Some("[::1]:80")
        );
    }

    #[test]
    fn the_filter_builds_for_this_machine() {
        assert!(!filter().unwrap().is_empty());
    }
}
