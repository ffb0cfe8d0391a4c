//! Starting a program so that a failed exec can never hang its parent.
//!
//! `std::process::Command` reports a failed exec by writing errno to a pipe, which the
//! parent reads in `spawn`. A program traced with [`super::ptrace`] has, by then, asked
//! to be traced and installed a seccomp filter that stops it at every `write`; the
//! tracer is still inside `spawn` and has not yet set its options, so that `write` fails
//! (ENOSYS), the standard library aborts, and the aborting child stops for its tracer,
//! which waits for the pipe forever. So the exec is made here, as the last step before
//! it, and a failure is told through a shared page of memory (a store, no system call),
//! then the child leaves with `_exit` (exit_group, never traced) and the status a shell
//! gives: 127 when the program is not there, 126 when it cannot be run. The parent sees
//! the exit like any other and reads the reason with [`ExecResult::failure`].

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// One page shared by parent and child across the fork: the child's errno, 0 if its
/// exec did not fail.
struct SharedErrno(*mut libc::c_int);

// SAFETY: the page is written only by the child (another process) and read by the
// parent after the child has exited.
unsafe impl Send for SharedErrno {}
unsafe impl Sync for SharedErrno {}

impl SharedErrno {
    fn new() -> io::Result<SharedErrno> {
        // SAFETY: an anonymous shared mapping of one page, checked for failure.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedErrno(p.cast()))
    }

    fn get(&self) -> libc::c_int {
        // SAFETY: the mapping lives as long as self.
        unsafe { std::ptr::read_volatile(self.0) }
    }
}

impl Drop for SharedErrno {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new, unmapped once.
        unsafe { libc::munmap(self.0.cast(), 4096) };
    }
}

/// Pointers into C strings made before the fork, for execve in the child.
struct ExecArgs {
    path: CString,
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

// SAFETY: the pointers point into `_strings` and `path`, owned by the same value and
// never changed after it is made.
unsafe impl Send for ExecArgs {}
unsafe impl Sync for ExecArgs {}

impl ExecArgs {
    fn new(
        path: &Path,
        argv: &[String],
        env: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> io::Result<ExecArgs> {
        let c = |b: &[u8]| {
            CString::new(b).map_err(|_| io::Error::other("an argument holds a NUL byte"))
        };
        let argv_c: Vec<CString> = argv
            .iter()
            .map(|a| c(a.as_bytes()))
            .collect::<Result<_, _>>()?;
        let env_c: Vec<CString> = env
            .into_iter()
            .map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                c(&kv)
            })
            .collect::<Result<_, _>>()?;
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|s| s.as_ptr())
                .chain([std::ptr::null()])
                .collect::<Vec<_>>()
        };
        let (argv, envp) = (ptrs(&argv_c), ptrs(&env_c));
        let mut strings = argv_c;
        strings.extend(env_c);
        Ok(ExecArgs {
            path: c(path.as_os_str().as_bytes())?,
            _strings: strings,
            argv,
            envp,
        })
    }
}

impl ExecArgs {
    /// Runs the program in place of this process; returns only on failure, with errno.
    ///
    /// # Safety
    /// Only async-signal-safe calls: fit for the child between fork and exec.
    unsafe fn exec(&self) -> libc::c_int {
        // SAFETY: every pointer is into a C string owned by self, the arrays end in NULL.
        unsafe {
            libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr());
            *libc::__errno_location()
        }
    }
}

/// The exit status a shell gives a command that could not be executed: 127 when it
/// (or its `#!` interpreter) is not there, 126 otherwise.
pub fn shell_status(errno: i32) -> u8 {
    if errno == libc::ENOENT || errno == libc::ENOTDIR {
        127
    } else {
        126
    }
}

/// What the parent keeps of a launch: whether the child's exec failed, and why.
#[derive(Clone)]
pub struct ExecResult(Arc<SharedErrno>);

impl ExecResult {
    /// The exec's error, once the child has exited; `None` if it ran the program.
    pub fn failure(&self) -> Option<io::Error> {
        match self.0.get() {
            0 => None,
            e => Some(io::Error::from_raw_os_error(e)),
        }
    }
}

/// Makes the exec of `path` with `argv` (argv[0] as given) and the environment `env`
/// the last step of `cmd` in the child, after every `pre_exec` step registered before
/// this call; with `trace`, the child first asks to be traced and installs the filter
/// (see [`super::ptrace`]), so it stops at its exec and then at the traced calls only.
pub fn launch(
    cmd: &mut Command,
    path: &Path,
    argv: &[String],
    env: impl IntoIterator<Item = (OsString, OsString)>,
    trace: Option<seccompiler::BpfProgram>,
) -> io::Result<ExecResult> {
    let args = ExecArgs::new(path, argv, env)?;
    let shared = Arc::new(SharedErrno::new()?);
    let errno = shared.clone();
    // SAFETY: between fork and exec only async-signal-safe calls are made (ptrace,
    // prctl and seccomp through apply_filter, execve, _exit) on data made before the
    // fork; the errno is stored in memory shared with the parent.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(bpf) = &trace {
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if let Err(e) = seccompiler::apply_filter(bpf) {
                    // Not yet filtered (apply_filter failed): the pipe still works.
                    return Err(io::Error::other(e));
                }
            }
            let e = args.exec();
            std::ptr::write_volatile(errno.0, e);
            libc::_exit(shell_status(e) as libc::c_int);
        });
    }
    Ok(ExecResult(shared))
}

/// A program the shell would not find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFound {
    /// A path (it has a '/') that is not an executable file.
    NoSuchFile(String),
    /// A name in no folder of PATH (the PATH searched).
    NotInPath { program: String, path: String },
}

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotFound::NoSuchFile(p) => write!(f, "{p}: no such program (or it is not executable)"),
            NotFound::NotInPath { program, path } => {
                write!(f, "{program}: command not found (searched PATH: {path})")
            }
        }
    }
}

impl std::error::Error for NotFound {}

/// The program's path as the shell would find it.
pub fn find_program(program: &str) -> Result<PathBuf, NotFound> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return if runnable(&p) {
            Ok(p)
        } else {
            Err(NotFound::NoSuchFile(program.to_string()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| runnable(p))
        .ok_or_else(|| NotFound::NotInPath {
            program: program.to_string(),
            path: path.to_string_lossy().into_owned(),
        })
}

/// The current environment with `set` replacing or adding variables.
pub fn environment(set: &[(&str, &OsStr)]) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !set.iter().any(|(s, _)| OsStr::new(s) == k))
        .collect();
    env.extend(
        set.iter()
            .map(|(k, v)| (OsString::from(k), v.to_os_string())),
    );
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tracer waits for any child: one traced test at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn run(path: &str, trace: bool) -> (std::process::ExitStatus, Option<io::Error>) {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let mut cmd = Command::new("/bin/true");
        let bpf = trace.then(|| super::super::ptrace::filter().unwrap());
        let r = launch(
            &mut cmd,
            Path::new(path),
            &[path.into()],
            environment(&[]),
            bpf,
        )
        .unwrap();
        let mut child = cmd.spawn().unwrap();
        let status = if trace {
            let traced = super::super::ptrace::trace(child.id(), || {}).unwrap().0;
            // Reaped by the tracer already: this only tidies the handle.
            let _ = child.try_wait();
            traced
        } else {
            child.wait().unwrap()
        };
        (status, r.failure())
    }

    #[test]
    fn a_missing_program_exits_127_with_its_reason_traced_or_not() {
        for trace in [false, true] {
            let (status, e) = run("/no/such/program", trace);
            assert_eq!(status.code(), Some(127), "traced: {trace}");
            assert_eq!(e.unwrap().raw_os_error(), Some(libc::ENOENT));
        }
    }

    #[test]
    fn a_file_that_is_not_a_program_exits_126_traced_or_not() {
        for trace in [false, true] {
            let (status, e) = run("/etc/passwd", trace);
            assert_eq!(status.code(), Some(126), "traced: {trace}");
            assert_eq!(e.unwrap().raw_os_error(), Some(libc::EACCES));
        }
    }

    #[test]
    fn a_program_that_runs_reports_no_failure() {
        for trace in [false, true] {
            let (status, e) = run("/bin/true", trace);
            assert!(status.success());
            assert!(e.is_none());
        }
    }
}
