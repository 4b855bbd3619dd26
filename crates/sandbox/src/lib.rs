//! The Linux sandbox for model-requested commands.
//!
//! wright runs each command as `wright sandbox --policy '<json>' -- CMD ARGS...` (see
//! [`wrap_command`]): a tiny re-exec of wright that confines *itself* with
//! [`confine_and_exec`] and then `execvp`s the command, so the agent process stays
//! unconfined. The layers, in the order they are applied:
//!
//! 1. `prctl(PR_SET_NO_NEW_PRIVS)`: no setuid/file-capability privilege gain across exec.
//! 2. `unshare(CLONE_NEWUSER | CLONE_NEWNS [| CLONE_NEWNET when the network is off])`, ids
//!    mapped to themselves so files keep their owner. If user namespaces are unavailable the
//!    sandbox continues without namespaces (Landlock + seccomp still confine the command) —
//!    unless step 3 needs a mount namespace, in which case it refuses.
//! 3. workspace-write: `.git`, `.wright` and `.codex` directly under each writable root are
//!    bind-mounted read-only onto themselves (mounts made private first).
//! 4. Landlock: read + execute everywhere, write only beneath the writable roots and to a few
//!    character devices (`/dev/null`, `/dev/tty`, ...); no TCP bind/connect when the network
//!    is off (ABI ≥ 4); no signals to, or abstract-socket connections with, processes outside
//!    the sandbox (ABI ≥ 6).
//! 5. seccomp: see the `syscalls` module (non-Unix sockets when the network is off, ptrace,
//!    cross-process memory access, the mount family, ...) → EPERM.
//! 6. `execvp`.
//!
//! Nothing degrades silently: when a required layer cannot be applied the command is not
//! run ([`SandboxError::Unenforceable`], exit code 126).
//!
//! The process calling [`confine_and_exec`] must be single-threaded (unsharing a user
//! namespace requires it): dispatch `wright sandbox` before starting any runtime.

mod policy;

#[cfg(target_os = "linux")]
mod fs_rules;
#[cfg(target_os = "linux")]
mod ns;
mod probe;
#[cfg(target_os = "linux")]
mod syscalls;

pub use policy::{Mode, SandboxPolicy};
pub use probe::{check, Capabilities};

use std::convert::Infallible;
use std::ffi::OsString;
use std::path::Path;

/// Exit code of `wright sandbox` when the policy cannot be enforced.
pub const EXIT_CANNOT_ENFORCE: i32 = 126;
/// Exit code of `wright sandbox` when the command cannot be executed.
pub const EXIT_CANNOT_RUN: i32 = 127;

/// Why the command did not run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A required confinement layer could not be applied; the command was not run.
    #[error("cannot enforce {mode}: {reason}. Run with --sandbox danger-full-access (or -s danger-full-access) to run commands unconfined.")]
    Unenforceable { mode: Mode, reason: String },
    /// The sandbox is in place but `execvp` failed.
    #[error("cannot run {cmd}: {error}")]
    Exec { cmd: String, error: std::io::Error },
    /// No command was given.
    #[error("no command given")]
    NoCommand,
}

impl SandboxError {
    /// The exit code `wright sandbox` uses for this error (126 / 127 / 2).
    pub fn exit_code(&self) -> i32 {
        match self {
            SandboxError::Unenforceable { .. } => EXIT_CANNOT_ENFORCE,
            SandboxError::Exec { .. } => EXIT_CANNOT_RUN,
            SandboxError::NoCommand => 2,
        }
    }
}

/// The argv that runs `argv` under `policy` via `<wright_exe> sandbox`.
/// For danger-full-access, `argv` unchanged.
pub fn wrap_command(wright_exe: &Path, policy: &SandboxPolicy, argv: &[String]) -> Vec<String> {
    if policy.mode == Mode::DangerFullAccess {
        return argv.to_vec();
    }
    let json = serde_json::to_string(policy).expect("a policy always serializes");
    let mut out = vec![
        wright_exe.to_string_lossy().into_owned(),
        "sandbox".to_string(),
        "--policy".to_string(),
        json,
        "--".to_string(),
    ];
    out.extend(argv.iter().cloned());
    out
}

/// Confine the calling process according to `policy`, then `execvp(argv[0], argv)`.
/// Returns only on failure; the caller prints `wright sandbox: <error>` and exits with
/// [`SandboxError::exit_code`]. danger-full-access execs without any confinement.
pub fn confine_and_exec(
    policy: &SandboxPolicy,
    argv: &[OsString],
) -> Result<Infallible, SandboxError> {
    if argv.is_empty() {
        return Err(SandboxError::NoCommand);
    }
    let cmd = argv[0].to_string_lossy().into_owned();
    let cargv = to_cstrings(argv).map_err(|error| SandboxError::Exec {
        cmd: cmd.clone(),
        error,
    })?;
    if policy.mode != Mode::DangerFullAccess {
        confine(policy).map_err(|reason| SandboxError::Unenforceable {
            mode: policy.mode,
            reason,
        })?;
    }
    let mut ptrs: Vec<*const libc::c_char> = cargv.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    unsafe { libc::execvp(ptrs[0], ptrs.as_ptr()) };
    Err(SandboxError::Exec {
        cmd,
        error: std::io::Error::last_os_error(),
    })
}

fn to_cstrings(argv: &[OsString]) -> std::io::Result<Vec<std::ffi::CString>> {
    use std::os::unix::ffi::OsStrExt;
    argv.iter()
        .map(|a| {
            std::ffi::CString::new(a.as_bytes()).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "argument contains a NUL byte",
                )
            })
        })
        .collect()
}

/// What [`confine`] applied.
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub(crate) struct Applied {
    /// `Err(reason)` when namespaces were unavailable and the sandbox went on without them.
    #[allow(dead_code)]
    pub namespaces: Result<ns::Entered, String>,
    /// Features this kernel's Landlock does not enforce.
    #[allow(dead_code)]
    pub landlock_notes: Vec<String>,
}

/// Layers 1–5 on the calling process. `Err` = something required failed (the process may be
/// partially confined and must not run the command).
#[cfg(target_os = "linux")]
pub(crate) fn confine(policy: &SandboxPolicy) -> Result<Applied, String> {
    if let Some(n) = thread_count() {
        if n > 1 {
            return Err(format!(
                "the sandboxing process has {n} threads; it must be single-threaded (internal error)"
            ));
        }
    }
    for root in policy.effective_writable_roots() {
        if !root.is_absolute() {
            return Err(format!(
                "writable root {} is not an absolute path",
                root.display()
            ));
        }
    }
    // Build the filter up front so a failure happens before anything changed.
    let program = syscalls::build(policy.network)?;

    // 1. No privilege gain across exec.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(format!(
            "prctl(PR_SET_NO_NEW_PRIVS): {}",
            std::io::Error::last_os_error()
        ));
    }

    // 2. Namespaces (optional unless step 3 needs them).
    let protected = policy.existing_protected_paths();
    let namespaces = match ns::unshare_namespaces(policy.network) {
        Ok(entered) => Ok(entered),
        Err(ns::NsError::Unavailable(why)) => Err(why),
        Err(ns::NsError::Broken(why)) => return Err(why),
    };

    // 3. Read-only protected paths.
    if !protected.is_empty() {
        if let Err(why) = &namespaces {
            return Err(format!(
                "{} must stay read-only, which needs a mount namespace, but user namespaces are unavailable ({why}); Landlock alone cannot keep a directory read-only inside a writable root",
                protected[0].display()
            ));
        }
        ns::make_mounts_private()?;
        for path in &protected {
            ns::bind_readonly(path)?;
        }
    }

    // 4. Landlock.
    let landlock_notes = fs_rules::apply(policy)?;

    // 5. seccomp, last.
    syscalls::install(&program)?;
    Ok(Applied {
        namespaces,
        landlock_notes,
    })
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn confine(_policy: &SandboxPolicy) -> Result<(), String> {
    Err("the sandbox is only implemented on Linux".to_string())
}

/// Threads of this process, from /proc/self/status.
#[cfg(target_os = "linux")]
fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_command_shapes() {
        let mut p = SandboxPolicy {
            mode: Mode::WorkspaceWrite,
            writable_roots: vec!["/w".into()],
            network: false,
        };
        let argv = vec!["bash".to_string(), "-lc".to_string(), "ls".to_string()];
        let w = wrap_command(Path::new("/bin/wright"), &p, &argv);
        assert_eq!(w[..3], ["/bin/wright", "sandbox", "--policy"]);
        assert_eq!(serde_json::from_str::<SandboxPolicy>(&w[3]).unwrap(), p);
        assert_eq!(w[4], "--");
        assert_eq!(w[5..], argv[..]);
        p.mode = Mode::DangerFullAccess;
        assert_eq!(wrap_command(Path::new("/bin/wright"), &p, &argv), argv);
    }

    #[test]
    fn error_messages() {
        let e = SandboxError::Unenforceable {
            mode: Mode::WorkspaceWrite,
            reason: "Landlock unavailable".into(),
        };
        assert_eq!(e.to_string(), "cannot enforce workspace-write: Landlock unavailable. Run with --sandbox danger-full-access (or -s danger-full-access) to run commands unconfined.");
        assert_eq!(e.exit_code(), 126);
    }
}
