//! Network namespaces of the lab, held by file descriptors only: never named under
//! /run/netns, never mounted. The kernel removes a namespace, with its veth ends,
//! addresses, routes, qdiscs and nft tables, when the last descriptor or process that
//! holds it is gone, so nothing of a lab outlives wirelab and its program, even when
//! wirelab is killed with SIGKILL.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

/// A network namespace, alive as long as this value (or a process inside it) is.
pub struct Netns {
    fd: OwnedFd,
    /// What the namespace is for ("client", "router", "server"), for messages.
    pub role: &'static str,
}

/// A command run in a namespace that did not succeed.
#[derive(Debug)]
pub enum CommandError {
    /// It could not be started (is it installed?).
    Spawn { program: String, source: io::Error },
    /// It ran and failed: its command line, the namespace's role, what it printed.
    Failed {
        line: String,
        role: &'static str,
        stderr: String,
    },
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Spawn { program, source } => {
                write!(f, "cannot run {program}: {source} (is it installed?)")
            }
            CommandError::Failed { line, role, stderr } => {
                write!(f, "`{line}` in the {role} namespace failed: {stderr}")
            }
        }
    }
}

impl std::error::Error for CommandError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CommandError::Spawn { source, .. } => Some(source),
            CommandError::Failed { .. } => None,
        }
    }
}

/// Why the lab could not make its network.
pub fn not_permitted(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
}

impl Netns {
    /// Makes a fresh network namespace (needs CAP_SYS_ADMIN): a thread unshares its
    /// own network namespace and keeps a descriptor of it; the process stays where it
    /// was.
    pub fn new(role: &'static str) -> io::Result<Netns> {
        std::thread::spawn(|| -> io::Result<OwnedFd> {
            // SAFETY: unshare affects only this thread, which ends right after.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(File::open("/proc/thread-self/ns/net")?.into())
        })
        .join()
        .map_err(|_| io::Error::other("the namespace thread panicked"))?
        .map(|fd| Netns { fd, role })
    }

    /// The path another program can name this namespace by while wirelab runs
    /// (`ip link set X netns PATH`).
    pub fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.fd.as_raw_fd())
    }

    /// Runs `f` in a thread inside this namespace: sockets and capture handles made
    /// there belong to it and keep working from any thread afterwards.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        let fd = self.fd.as_raw_fd();
        std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: setns on this thread only, with a namespace descriptor we own.
                if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(f())
            })
            .join()
            .map_err(|_| io::Error::other("a thread in the lab's namespace panicked"))?
        })
    }

    /// A command that runs inside this namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        let fd = self.fd.as_raw_fd();
        // SAFETY: setns is async-signal-safe and touches nothing of the parent.
        unsafe {
            c.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        c
    }

    /// Runs `program args` inside the namespace; an error says which command failed
    /// and what it printed.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<Output, CommandError> {
        let out = self
            .command(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|source| CommandError::Spawn {
                program: program.to_string(),
                source,
            })?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(CommandError::Failed {
                line: format!("{program} {}", args.join(" ")),
                role: self.role,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    /// The raw descriptor (for a child's pre_exec).
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}
