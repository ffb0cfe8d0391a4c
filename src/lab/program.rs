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

impl RunAs {
    /// `name` if given, else the user who ran sudo, else `nobody`: never root.
    pub fn choose(name: Option<&str>) -> Result<RunAs, String> {
        use nix::unistd::User;
        let name = match name {
            Some(n) => n.to_string(),
            None => std::env::var("SUDO_USER")
                .ok()
                .filter(|u| !u.is_empty() && u != "root")
                .unwrap_or_else(|| "nobody".into()),
        };
        let user = User::from_name(&name)
            .map_err(|e| format!("cannot look up user {name}: {e}"))?
            .ok_or_else(|| format!("there is no user {name} on this machine"))?;
        if user.uid.is_root() {
            return Err(format!(
                "{name} is root: the lab runs programs as an ordinary user; choose one with --user"
            ));
        }
        Ok(RunAs {
            name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            home: user.dir,
        })
    }
}

/// The program's path as the shell would find it, or a message saying it is not there.
pub fn find_program(program: &str) -> Result<PathBuf, String> {
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
            Err(format!(
                "{program}: no such program (or it is not executable)"
            ))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| runnable(p))
        .ok_or_else(|| {
            format!(
                "{program}: command not found (searched PATH: {})",
                path.to_string_lossy()
            )
        })
}

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

impl ResolverFiles {
    pub fn new(nameserver: std::net::Ipv4Addr) -> io::Result<ResolverFiles> {
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
        ] {
            let source = dir.join(&target[5..]);
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

/// Starts `argv` in the client's namespace as `user`, its name lookups going to the
/// lab. The child inherits the terminal.
pub fn spawn(
    client: &Netns,
    argv: &[String],
    program: &Path,
    user: &RunAs,
    resolver: &ResolverFiles,
    trace: Option<seccompiler::BpfProgram>,
) -> Result<Child, String> {
    let uname = CString::new(user.name.as_str()).map_err(|_| "bad user name".to_string())?;
    let groups: Vec<libc::gid_t> =
        nix::unistd::getgrouplist(&uname, nix::unistd::Gid::from_raw(user.gid))
            .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
            .unwrap_or_else(|_| vec![user.gid]);
    let (uid, gid) = (user.uid, user.gid);
    let netns = client.raw_fd();
    let parent = std::process::id() as libc::pid_t;
    let mounts: Vec<(CString, CString, bool)> = resolver
        .files
        .iter()
        .map(|(s, t, r)| (s.clone(), t.clone(), *r))
        .collect();
    let mut cmd = Command::new(program);
    cmd.arg0(OsStr::new(&argv[0]))
        .args(&argv[1..])
        .env("HOME", &user.home)
        .env("USER", &user.name)
        .env("LOGNAME", &user.name);
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
    if let Some(bpf) = trace {
        // Last, after the change of user: the program asks to be traced and installs
        // the filter that stops it only at its socket calls.
        crate::trace::ptrace::prepare(&mut cmd, bpf);
    }
    cmd.spawn().map_err(|e| {
        format!(
            "cannot start {} in the lab as {}: {e}",
            argv.join(" "),
            user.name
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_as_the_shell_finds_them() {
        assert!(find_program("sh").is_ok());
        let e = find_program("no-such-program-wirelab").unwrap_err();
        assert!(e.contains("command not found"), "{e}");
        assert!(find_program("/etc/passwd").is_err());
    }

    #[test]
    fn root_is_refused() {
        assert!(RunAs::choose(Some("root")).unwrap_err().contains("root"));
        assert!(RunAs::choose(Some("no-such-user-wirelab")).is_err());
    }
}
