//! Privileges for live capture: open the capture handle (and any privileged port,
//! and the files to write) first, then give up every privilege before the first
//! packet is read. Under sudo the process becomes the user who ran sudo, and the files
//! it writes are that user's; as root without sudo it becomes `nobody`; run as a user
//! with file capabilities (`setcap cap_net_raw,cap_net_admin=eip`) it clears them.

use std::fs::File;
use std::os::unix::fs::fchown;

/// Who the process will run as once privileges are dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The user who ran sudo.
    SudoUser { name: String, uid: u32, gid: u32 },
    /// Root without sudo: `nobody`.
    Nobody,
    /// Not root: only capabilities to clear.
    Unprivileged,
}

/// What dropping privileges did, for the report's header line.
#[derive(Clone, Debug)]
pub struct Dropped {
    pub target: Target,
    pub description: String,
}

/// Decides the target from the effective uid and sudo's variables.
pub fn target() -> Target {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Target::Unprivileged;
    }
    let var = |k: &str| std::env::var(k).ok();
    match (var("SUDO_USER"), var("SUDO_UID"), var("SUDO_GID")) {
        (Some(name), Some(uid), Some(gid)) => match (uid.parse(), gid.parse()) {
            (Ok(uid), Ok(gid)) if uid != 0 => Target::SudoUser { name, uid, gid },
            _ => Target::Nobody,
        },
        _ => Target::Nobody,
    }
}

/// Makes a file created while privileged belong to the user the process will become.
pub fn give_to_target(file: &File, target: &Target) -> std::io::Result<()> {
    match target {
        Target::SudoUser { uid, gid, .. } => fchown(file, Some(*uid), Some(*gid)),
        _ => Ok(()),
    }
}

/// The process could not become its target user.
#[derive(Debug)]
pub struct DropError {
    /// The user it was to become ("nobody", or sudo's user with its uid).
    pub user: String,
    pub reason: privdrop::PrivDropError,
}

impl std::fmt::Display for DropError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot switch to user {}: {}", self.user, self.reason)
    }
}

impl std::error::Error for DropError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.reason)
    }
}

/// Gives up root (or capabilities) for good.
pub fn drop_privileges(target: &Target) -> Result<Dropped, DropError> {
    let description = match target {
        Target::SudoUser { name, uid, .. } => {
            privdrop::PrivDrop::default()
                .user(name)
                .apply()
                .map_err(|reason| DropError {
                    user: format!("{name} (uid {uid})"),
                    reason,
                })?;
            format!("running as {name} (uid {uid}) after opening the capture")
        }
        Target::Nobody => {
            privdrop::PrivDrop::default()
                .user("nobody")
                .apply()
                .map_err(|reason| DropError {
                    user: "nobody".into(),
                    reason,
                })?;
            "running as nobody after opening the capture".to_string()
        }
        Target::Unprivileged => {
            use caps::CapSet;
            for set in [CapSet::Effective, CapSet::Permitted, CapSet::Inheritable] {
                let _ = caps::clear(None, set);
            }
            "capabilities cleared after opening the capture".to_string()
        }
    };
    Ok(Dropped {
        target: target.clone(),
        description,
    })
}
