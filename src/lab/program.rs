//! The student's program in the lab, unchanged: started in the client's network
//! namespace, in a private mount namespace of its own where /etc/resolv.conf (and
//! /etc/nsswitch.conf and /etc/hosts, which decide whether a name is looked up at all)
//! point at the lab's name server, as the invoking user (never root), with the terminal
//! as its standard input and output. Nothing on the host is changed: the files it sees
//! are mounted in its own mount namespace only, gone with it. It gets
//! SIGKILL if wirelab dies first (PR_SET_PDEATHSIG), so no program is left behind.

use super::netns::Netns;
use std::ffi::{CString, OsStr};
use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// Who the program runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// Why the lab cannot run the program as the user asked for.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("cannot look up user {name}: {error}")]
    Lookup {
        name: String,
        #[source]
        error: nix::Error,
    },
    #[error("there is no user {0} on this machine")]
    NoSuchUser(String),
    #[error("{0} is root: the lab runs programs as an ordinary user; choose one with --user")]
    Root(String),
}

impl RunAs {
    /// `name` if given, else the user who ran sudo, else `nobody`: never root.
    pub fn choose(name: Option<&str>) -> Result<RunAs, UserError> {
        use nix::unistd::User;
        let name = match name {
            Some(n) => n.to_string(),
            None => std::env::var("SUDO_USER")
                .ok()
                .filter(|u| !u.is_empty() && u != "root")
                .unwrap_or_else(|| "nobody".into()),
        };
        let user = User::from_name(&name)
            .map_err(|error| UserError::Lookup {
                name: name.clone(),
                error,
            })?
            .ok_or_else(|| UserError::NoSuchUser(name.clone()))?;
        if user.uid.is_root() {
            return Err(UserError::Root(name));
        }
        Ok(RunAs {
            name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            home: user.dir,
        })
    }
}

pub use crate::trace::exec::{NotFound, find_program};

/// Where the lab's resolver files are made, one folder per run (`lab-PID`).
pub const FILES_DIR: &str = "/run/wirelab";

/// The name-lookup files of the lab: the name server, files then DNS, localhost only.
/// They are made in [`FILES_DIR`], mounted over /etc's in the program's own mount
/// namespace, and removed as soon as the program has started (its mounts keep them).
pub struct ResolverFiles {
    dir: PathBuf,
    files: Vec<(CString, CString, bool)>,
}

/// Removes the folders of earlier runs whose wirelab is gone (killed with SIGKILL
/// between making them and starting the program); returns what it removed.
pub fn sweep_leftovers() -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(FILES_DIR) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix("lab-")
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() && std::fs::remove_dir_all(e.path()).is_ok()
        {
            removed.push(e.path());
        }
    }
    removed
}

/// The descriptor the program's key log is open on in the program ([`ProgramKeyLog`]).
pub const KEY_LOG_FD: libc::c_int = 63;

/// The file the program's TLS libraries write their session secrets to: `SSLKEYLOGFILE`,
/// which Python's default contexts, curl and Chromium honour (the NSS key log format).
/// A file in memory with no name anywhere (memfd), the program's user's alone (0600):
/// the program gets it open on [`KEY_LOG_FD`] and `SSLKEYLOGFILE=/proc/self/fd/63`,
/// which its libraries open like any path; wirelab reads it after the run. Nothing is
/// left behind on any way out, a SIGKILL included: the file goes with its last
/// descriptor.
pub struct ProgramKeyLog {
    file: std::fs::File,
}

impl ProgramKeyLog {
    /// Makes the empty file, owned by `user`.
    pub fn new(user: &RunAs) -> io::Result<ProgramKeyLog> {
        use std::os::fd::FromRawFd;
        // SAFETY: memfd_create returns a new descriptor that nothing else owns.
        let fd = unsafe { libc::memfd_create(c"wirelab-keylog".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is ours, open, and owned by the File from here on.
        let file = unsafe { std::fs::File::from_raw_fd(fd) };
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        nix::unistd::fchown(
            &file,
            Some(nix::unistd::Uid::from_raw(user.uid)),
            Some(nix::unistd::Gid::from_raw(user.gid)),
        )
        .map_err(io::Error::from)?;
        Ok(ProgramKeyLog { file })
    }

    /// The value of `SSLKEYLOGFILE` for the program.
    pub fn path() -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{KEY_LOG_FD}"))
    }

    /// What the program logged (empty if it used no TLS, or a library that ignores
    /// `SSLKEYLOGFILE`).
    pub fn take(mut self) -> String {
        use std::io::{Read, Seek};
        let mut text = String::new();
        let _ = self.file.seek(io::SeekFrom::Start(0));
        let _ = self.file.read_to_string(&mut text);
        text
    }
}

/// Chromium's names: it reads no CA bundle (its roots come from its own store and the
/// user's NSS database), so the lab names its certificate to it by a flag.
const CHROMIUM: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// The command line the lab runs: `argv` itself, or for Chromium `argv` with
/// `--ignore-certificate-errors-spki-list` naming the lab server's key (`spki`, the
/// base64 SHA-256 of its SubjectPublicKeyInfo), which Chromium honours only with
/// `--user-data-dir`: when the student gave none, the default profile's folder
/// (`$XDG_CONFIG_HOME` or `~/.config`, then `chromium`) is named, so the same profile is
/// used. Other certificates are still checked as usual.
pub fn with_lab_trust(argv: &[String], spki: &str, user: &RunAs) -> Vec<String> {
    let name = Path::new(argv.first().map(String::as_str).unwrap_or_default())
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if !CHROMIUM.contains(&name.as_str()) {
        return argv.to_vec();
    }
    let mut out = vec![
        argv[0].clone(),
        format!("--ignore-certificate-errors-spki-list={spki}"),
    ];
    if !argv.iter().any(|a| a.starts_with("--user-data-dir")) {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| user.home.join(".config"));
        let folder = if name.starts_with("google-chrome") {
            "google-chrome"
        } else {
            "chromium"
        };
        out.push(format!("--user-data-dir={}", config.join(folder).display()));
    }
    out.extend(argv[1..].iter().cloned());
    out
}

/// The CA bundle the lab's program reads, with the lab's CA added (Debian's path).
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl ResolverFiles {
    /// The lab's resolver files, and with `ca_pem` the system's CA bundle with the
    /// lab's CA added ([`CA_BUNDLE`]: OpenSSL's default file on Debian, which Python,
    /// curl and wget read, and which `SSL_CERT_FILE` names for the program).
    pub fn new(nameserver: std::net::Ipv4Addr, ca_pem: Option<&str>) -> io::Result<ResolverFiles> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(FILES_DIR)?;
        let dir = Path::new(FILES_DIR).join(format!("lab-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new().mode(0o755).create(&dir)?;
        let mut files = Vec::new();
        for (target, text, required) in [
            (
                "/etc/resolv.conf",
                format!(
                    "# wirelab lab: the lab's name server (the course server's namespace)\n\
nameserver {nameserver}\noptions timeout:2 attempts:2\n"
                ),
                true,
            ),
            (
                "/etc/nsswitch.conf",
                "# wirelab lab: names from /etc/hosts, then DNS on the wire\n\
hosts: files dns\nnetworks: files\n"
                    .to_string(),
                false,
            ),
            (
                "/etc/hosts",
                "127.0.0.1 localhost\n::1 localhost\n".to_string(),
                false,
            ),
        ]
        .into_iter()
        // A bind mount needs its target: without Debian's bundle, no HTTPS trust.
        .chain(ca_pem.filter(|_| Path::new(CA_BUNDLE).exists()).map(|pem| {
            let system = std::fs::read_to_string(CA_BUNDLE).unwrap_or_default();
            (
                CA_BUNDLE,
                format!("{system}\n# {}\n{pem}", super::tls::CA_NAME),
                false,
            )
        })) {
            let source = dir.join(Path::new(target).file_name().expect("a file's path"));
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&source)?
                .write_all(text.as_bytes())?;
            let c = |p: &Path| CString::new(p.as_os_str().as_encoded_bytes()).expect("no NUL");
            files.push((c(&source), c(Path::new(target)), required));
        }
        Ok(ResolverFiles { dir, files })
    }
}

impl Drop for ResolverFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A program that cannot be started as its user: what to say, and the status a shell
/// gives (127 not found, 126 found but not runnable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CannotStart {
    pub message: String,
    pub status: u8,
}

/// For each path, the errno of `access(path, X_OK)` as `user` (0: allowed), asked in a
/// child process that has become the user: the kernel's own answer (modes, ACLs, the
/// folders on the way), not a guess from the modes.
fn access_as(user: &RunAs, paths: &[PathBuf]) -> io::Result<Vec<i32>> {
    let groups = user_groups(user)?;
    let paths: Vec<CString> = paths
        .iter()
        .map(|p| CString::new(p.as_os_str().as_encoded_bytes()).map_err(io::Error::other))
        .collect::<Result<_, _>>()?;
    let (uid, gid) = (user.uid, user.gid);
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the child makes only async-signal-safe calls (setgroups, setgid, setuid,
    // access, write, _exit) on data made before the fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            libc::close(fds[0]);
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                libc::_exit(1);
            }
            for p in &paths {
                let e: i32 = if libc::access(p.as_ptr(), libc::X_OK) == 0 {
                    0
                } else {
                    *libc::__errno_location()
                };
                let b = e.to_ne_bytes();
                libc::write(fds[1], b.as_ptr().cast(), 4);
            }
            libc::_exit(0);
        }
    }
    // SAFETY: the write end belongs to the child now.
    unsafe { libc::close(fds[1]) };
    if pid < 0 {
        unsafe { libc::close(fds[0]) };
        return Err(io::Error::last_os_error());
    }
    use std::io::Read;
    use std::os::fd::FromRawFd;
    // SAFETY: the read end is ours alone.
    let mut reader = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    let mut bytes = Vec::new();
    let read = reader.read_to_end(&mut bytes);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    read?;
    if bytes.len() != paths.len() * 4 {
        return Err(io::Error::other(format!(
            "cannot become user {} to check the program",
            user.name
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| i32::from_ne_bytes(c.try_into().expect("4 bytes")))
        .collect())
}

/// The user's groups, as login gives them.
fn user_groups(user: &RunAs) -> io::Result<Vec<libc::gid_t>> {
    let uname = CString::new(user.name.as_str()).map_err(io::Error::other)?;
    Ok(
        nix::unistd::getgrouplist(&uname, nix::unistd::Gid::from_raw(user.gid))
            .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
            .unwrap_or_else(|_| vec![user.gid]),
    )
}

/// The program as `user` would start it: found as the shell finds it (a name with a
/// slash is a path, else the first match in PATH), then checked as that user. A
/// program that user may not run ends the run before anything is made, with the
/// shell's status and a way out: the path of one the user can run, or --user.
pub fn resolve_as(program: &str, user: &RunAs) -> Result<PathBuf, CannotStart> {
    let is_file = |p: &Path| p.metadata().is_ok_and(|m| m.is_file());
    let candidates: Vec<PathBuf> = if program.contains('/') {
        vec![PathBuf::from(program)]
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|d| d.join(program))
            .filter(|p| is_file(p))
            .collect()
    };
    let Some(first) = candidates.first().filter(|p| is_file(p)) else {
        let message = if program.contains('/') {
            format!("{program}: no such file")
        } else {
            format!(
                "{program}: command not found (searched PATH: {})",
                std::env::var_os("PATH")
                    .unwrap_or_default()
                    .to_string_lossy()
            )
        };
        return Err(CannotStart {
            message,
            status: 127,
        });
    };
    let absolute = std::env::current_dir()
        .map(|d| d.join(first))
        .unwrap_or_else(|_| first.clone());
    // The program, every other candidate, then the folders above the program.
    let folders: Vec<PathBuf> = absolute
        .ancestors()
        .skip(1)
        .map(Path::to_path_buf)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut asked = candidates.clone();
    asked.extend(folders.iter().cloned());
    let answers = access_as(user, &asked).map_err(|e| CannotStart {
        message: format!("cannot check whether {} may run {program}: {e}", user.name),
        status: 126,
    })?;
    if answers[0] == 0 {
        return Ok(first.clone());
    }
    let who = &user.name;
    let why = match folders
        .iter()
        .zip(&answers[candidates.len()..])
        .find(|(_, e)| **e != 0)
    {
        Some((folder, _)) => format!("{who} may not enter {}", folder.display()),
        None if answers[0] == libc::EACCES => {
            format!("the file is not executable for {who}")
        }
        None => io::Error::from_raw_os_error(answers[0]).to_string(),
    };
    let found = if program.contains('/') {
        format!("{program}: user {who}, who runs the lab's programs, may not run it:")
    } else {
        format!(
            "{program} is {} in this PATH;\n  user {who}, who runs the lab's programs, may not \
run it:",
            first.display()
        )
    };
    let instead = candidates[1..]
        .iter()
        .zip(&answers[1..candidates.len()])
        .find(|(_, e)| **e == 0)
        .map(|(p, _)| {
            format!(
                "{} is one {who} can run: wirelab lab -- {} ...\n  or choose who runs it with \
--user NAME",
                p.display(),
                p.display()
            )
        })
        .unwrap_or_else(|| {
            format!("put it where {who} can reach it, or choose who runs it with --user NAME")
        });
    Err(CannotStart {
        message: format!("{found}\n  permission denied ({why}).\n  {instead}"),
        status: 126,
    })
}

/// What to say when the exec itself failed as the user, after [`resolve_as`] found
/// the program runnable: most often a script whose `#!` interpreter is missing or
/// closed to the user.
pub fn exec_failed(argv: &[String], path: &Path, user: &RunAs, e: &io::Error) -> CannotStart {
    let errno = e.raw_os_error().unwrap_or(0);
    let hint = match errno {
        libc::ENOENT => {
            "\n  For a script: the interpreter its first line names (#!...) is not there."
        }
        libc::EACCES => {
            "\n  For a script: the interpreter its first line names is closed to that user."
        }
        libc::ENOEXEC => {
            "\n  It is not a program this machine runs; a script needs a first line #!..."
        }
        _ => "",
    };
    let name = argv.first().map(String::as_str).unwrap_or("the program");
    let name = if Path::new(name) == path {
        name.to_string()
    } else {
        format!("{name} ({})", path.display())
    };
    CannotStart {
        message: format!(
            "{name} could not be started as user {}:\n  {e}{hint}",
            user.name
        ),
        status: crate::trace::exec::shell_status(errno),
    }
}

/// The program once started: the child, and whether its exec failed (see
/// [`crate::trace::exec`]).
pub struct Started {
    pub child: Child,
    pub exec: crate::trace::exec::ExecResult,
}

/// Starts `argv` in the client's namespace as `user`, its name lookups going to the
/// lab. The child inherits the terminal. Its exec cannot hang wirelab: a failure ends
/// the child with 126 or 127 and the reason in [`Started::exec`].
pub fn spawn(
    client: &Netns,
    argv: &[String],
    program: &Path,
    user: &RunAs,
    resolver: &ResolverFiles,
    key_log: Option<&ProgramKeyLog>,
    trace: Option<seccompiler::BpfProgram>,
) -> Result<Started, SpawnError> {
    let groups = user_groups(user).map_err(SpawnError::Groups)?;
    let (uid, gid) = (user.uid, user.gid);
    let netns = client.raw_fd();
    let parent = std::process::id() as libc::pid_t;
    let mounts: Vec<(CString, CString, bool)> = resolver
        .files
        .iter()
        .map(|(s, t, r)| (s.clone(), t.clone(), *r))
        .collect();
    let key_log_fd = key_log.map(|k| std::os::fd::AsRawFd::as_raw_fd(&k.file));
    let mut cmd = Command::new(program);
    // SAFETY: between fork and exec only async-signal-safe calls are made, on data
    // prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let check = |r: libc::c_int| {
                if r != 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            };
            check(libc::setns(netns, libc::CLONE_NEWNET))?;
            check(libc::unshare(libc::CLONE_NEWNS))?;
            // Private first: nothing mounted below may propagate to the host.
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            for (source, target, required) in &mounts {
                let r = libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                );
                if r != 0 && *required {
                    return Err(io::Error::last_os_error());
                }
            }
            // The key log, open across the exec (dup2 clears close-on-exec).
            if let Some(fd) = key_log_fd
                && libc::dup2(fd, KEY_LOG_FD) < 0
            {
                return Err(io::Error::last_os_error());
            }
            check(libc::setgroups(groups.len(), groups.as_ptr()))?;
            check(libc::setgid(gid))?;
            check(libc::setuid(uid))?;
            // After setuid, which clears it: die with wirelab.
            check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut set = vec![
        ("HOME", user.home.as_os_str()),
        ("USER", OsStr::new(&user.name)),
        ("LOGNAME", OsStr::new(&user.name)),
    ];
    if resolver
        .files
        .iter()
        .any(|(_, t, _)| t.as_bytes() == CA_BUNDLE.as_bytes())
    {
        set.push(("SSL_CERT_FILE", OsStr::new(CA_BUNDLE)));
    }
    let key_log_path = ProgramKeyLog::path();
    if key_log.is_some() {
        set.push(("SSLKEYLOGFILE", key_log_path.as_os_str()));
    }
    let env = crate::trace::exec::environment(&set);
    // Last, after the change of user: the exec (traced: the program asks to be traced
    // and installs the filter that stops it only at its socket calls).
    let exec =
        crate::trace::exec::launch(&mut cmd, program, argv, env, trace).map_err(|error| {
            SpawnError::Prepare {
                command: argv.join(" "),
                error,
            }
        })?;
    let child = cmd.spawn().map_err(|error| SpawnError::Start {
        command: argv.join(" "),
        user: user.name.clone(),
        error,
    })?;
    Ok(Started { child, exec })
}

/// Why the program could not be started in the lab.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The user's groups could not be read.
    #[error(transparent)]
    Groups(io::Error),
    #[error("cannot prepare {command}: {error}")]
    Prepare {
        command: String,
        #[source]
        error: io::Error,
    },
    #[error("cannot start {command} in the lab as {user}: {error}")]
    Start {
        command: String,
        user: String,
        #[source]
        error: io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_as_the_shell_finds_them() {
        assert!(find_program("sh").is_ok());
        let e = find_program("no-such-program-wirelab").unwrap_err();
        assert!(matches!(e, NotFound::NotInPath { .. }), "{e}");
        assert!(e.to_string().contains("command not found"), "{e}");
        assert_eq!(
            find_program("/etc/passwd"),
            Err(NotFound::NoSuchFile("/etc/passwd".into()))
        );
    }

    #[test]
    fn chromium_alone_gets_the_lab_certificate_flag_and_keeps_its_profile() {
        let user = RunAs {
            name: "student".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/student".into(),
        };
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let curl = v(&["curl", "https://data.pr4e.org/"]);
        assert_eq!(with_lab_trust(&curl, "KEY=", &user), curl);
        let given = v(&["/usr/bin/chromium", "--user-data-dir=/tmp/p", "https://x/"]);
        assert_eq!(
            with_lab_trust(&given, "KEY=", &user),
            v(&[
                "/usr/bin/chromium",
                "--ignore-certificate-errors-spki-list=KEY=",
                "--user-data-dir=/tmp/p",
                "https://x/"
            ])
        );
        let bare = with_lab_trust(&v(&["chromium", "https://x/"]), "KEY=", &user);
        assert_eq!(bare.len(), 4, "{bare:?}");
        assert!(bare[2].starts_with("--user-data-dir=") && bare[2].ends_with("/chromium"));
        assert_eq!(bare[3], "https://x/");
    }

    #[test]
    fn root_is_refused() {
        let e = RunAs::choose(Some("root")).unwrap_err();
        assert!(matches!(e, UserError::Root(_)), "{e}");
        assert!(e.to_string().contains("choose one with --user"), "{e}");
        assert!(matches!(
            RunAs::choose(Some("no-such-user-wirelab")),
            Err(UserError::NoSuchUser(_))
        ));
    }
}
