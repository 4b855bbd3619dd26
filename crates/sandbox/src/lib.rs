//! The Linux sandbox for model-requested commands.
//!
//! wright runs each command as `wright sandbox --policy '<json>' -- CMD ARGS...` (see
//! [`wrap_command`]). That process is the *supervisor* ([`run`]): it stays unconfined in the
//! caller's namespaces and runs no model-chosen code. It clones the sandbox's first process
//! into new user, mount, PID, IPC and (network off) network namespaces, which builds the
//! command's view and confines itself, then starts the command and acts as its init.
//! Layers, in order:
//!
//! 1. Namespaces: user (ids mapped to themselves, so files keep their owner), mount, PID
//!    (the command sees only its own processes; when it exits every process it started is
//!    killed, double-forked or `setsid` ones included), IPC (no System V or POSIX queues of
//!    the host), network when off (an empty namespace with its own loopback).
//! 2. The mount view (module `mounts`): the whole tree read-only, the writable roots bound
//!    back writable, protected metadata (`.git`, its `gitdir:` target, `.wright`, `.codex`,
//!    nested repositories) bound read-only on top, missing protected names masked (module
//!    `masks`), a private `/dev/shm` and `/proc`.
//! 3. `no_new_privs`; Landlock (writes only beneath the roots; signal and abstract-socket
//!    scoping); resource limits (module `limits`: a cgroup with `pids.max` and a memory cap);
//!    seccomp (module `syscalls`).
//! 4. Every descriptor but stdin, stdout and stderr is closed, then `execvp`.
//!
//! Nothing degrades silently: a layer that cannot be applied either refuses the command
//! ([`SandboxError::Unenforceable`], exit code 126) or, when the mode still holds, is named in
//! a warning printed before the command when the policy asks for it (`announce`).
//!
//! The process calling [`run`] must be single-threaded (cloning into a user namespace
//! requires it): dispatch `wright sandbox` before starting any runtime.

mod policy;

#[cfg(target_os = "linux")]
mod child;
#[cfg(target_os = "linux")]
mod fs_rules;
#[cfg(target_os = "linux")]
mod limits;
#[cfg(target_os = "linux")]
mod masks;
#[cfg(target_os = "linux")]
mod mounts;
#[cfg(target_os = "linux")]
mod ns;
#[cfg(target_os = "linux")]
mod plan;
mod probe;
#[cfg(target_os = "linux")]
mod supervisor;
#[cfg(target_os = "linux")]
mod sys;
#[cfg(target_os = "linux")]
mod syscalls;

pub use policy::{Limits, Mode, SandboxPolicy};
pub use probe::{check, Capabilities};

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
    /// The workspace holds something the sandbox cannot keep safe; the command was not run.
    #[error("refused to run the command: {reason}")]
    Refused { reason: String },
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
            SandboxError::Unenforceable { .. } | SandboxError::Refused { .. } => {
                EXIT_CANNOT_ENFORCE
            }
            SandboxError::Exec { .. } => EXIT_CANNOT_RUN,
            SandboxError::NoCommand => 2,
        }
    }
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
}

impl Outcome {
    /// Ends this process the way the command ended: its exit code, or its signal re-raised
    /// (so the caller's caller sees "killed by SIGKILL", as without the sandbox).
    pub fn exit(self) -> ! {
        match self {
            Outcome::Exited(code) => std::process::exit(code),
            Outcome::Signaled(sig) => {
                // SAFETY: restoring the default action and unblocking before re-raising.
                unsafe {
                    libc::signal(sig, libc::SIG_DFL);
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                    libc::raise(sig);
                }
                std::process::exit(128 + sig)
            }
        }
    }
}

/// `wright sandbox --policy JSON -- CMD...` and the launcher: parse `json`, run `command`
/// confined, and end this process as the command ended (or with 126/127/2 and a message).
pub fn run_policy_json(json: &std::ffi::OsStr, command: &[OsString]) -> ! {
    let policy: SandboxPolicy = match json.to_str().map(serde_json::from_str) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            eprintln!("wright sandbox: invalid --policy JSON: {e}");
            std::process::exit(EXIT_CANNOT_ENFORCE);
        }
        None => {
            eprintln!("wright sandbox: invalid --policy JSON: not UTF-8");
            std::process::exit(EXIT_CANNOT_ENFORCE);
        }
    };
    match run(&policy, command) {
        Ok(outcome) => outcome.exit(),
        Err(err) => {
            eprintln!("wright sandbox: {err}");
            std::process::exit(err.exit_code());
        }
    }
}

/// The name of the small launcher binary installed next to `wright`: the same as `wright
/// sandbox`, without the rest of wright to load (it starts about a millisecond faster).
pub const LAUNCHER_NAME: &str = "wright-sandbox";

/// The launcher next to `wright_exe` when it is there, else `wright_exe` itself.
pub fn launcher_for(wright_exe: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let sibling = wright_exe.with_file_name(LAUNCHER_NAME);
    match std::fs::metadata(&sibling) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => sibling,
        _ => wright_exe.to_path_buf(),
    }
}

/// The argv that runs `argv` under `policy` via `exe`: the launcher (`wright-sandbox --policy
/// JSON -- ...`) or `wright` itself (`wright sandbox --policy JSON -- ...`), told apart by file
/// name. For danger-full-access, `argv` unchanged.
pub fn wrap_command(exe: &Path, policy: &SandboxPolicy, argv: &[String]) -> Vec<String> {
    let small = exe.file_name().is_some_and(|n| n == LAUNCHER_NAME);
    wrap(exe, small, policy, argv)
}

fn wrap(exe: &Path, small: bool, policy: &SandboxPolicy, argv: &[String]) -> Vec<String> {
    if policy.mode == Mode::DangerFullAccess {
        return argv.to_vec();
    }
    let json = serde_json::to_string(policy).expect("a policy always serializes");
    let mut out = vec![exe.to_string_lossy().into_owned()];
    if !small {
        out.push("sandbox".to_string());
    }
    out.extend(["--policy".to_string(), json, "--".to_string()]);
    out.extend(argv.iter().cloned());
    out
}

/// What the agent executes for every confined command.
#[derive(Debug)]
pub struct Launcher {
    /// The path to execute: `/proc/self/fd/N` for a sealed copy.
    pub path: std::path::PathBuf,
    /// The small `wright-sandbox` launcher (else `wright` itself).
    pub small: bool,
    /// Where the copy came from, for messages.
    pub source: std::path::PathBuf,
    /// Keeps the sealed copy open for the life of the process.
    _copy: Option<std::os::fd::OwnedFd>,
}

impl Launcher {
    /// The argv that runs `argv` under `policy` through this launcher.
    pub fn wrap(&self, policy: &SandboxPolicy, argv: &[String]) -> Vec<String> {
        wrap(&self.path, self.small, policy, argv)
    }
}

/// The launcher for this process, found next to `wright_exe` (else `wright_exe` itself) and
/// copied once into a sealed in-memory file. The agent's trust in the sandbox rests on this
/// binary: when it lies inside a writable root (a build directory in the workspace, `/tmp`),
/// a command could otherwise replace it, or rename a directory above it and put another in
/// its place, and the next command would start unconfined. The copy cannot be changed or
/// reached by path. Where no sealed copy can be made, the binary runs from its path.
pub fn launcher(wright_exe: &Path) -> &'static Launcher {
    static LAUNCHER: std::sync::OnceLock<Launcher> = std::sync::OnceLock::new();
    LAUNCHER.get_or_init(|| {
        let source = launcher_for(wright_exe);
        let small = source.file_name().is_some_and(|n| n == LAUNCHER_NAME);
        match seal_copy(&source) {
            Some(fd) => Launcher {
                path: std::path::PathBuf::from(format!(
                    "/proc/self/fd/{}",
                    std::os::fd::AsRawFd::as_raw_fd(&fd)
                )),
                small,
                source,
                _copy: Some(fd),
            },
            None => Launcher {
                path: source.clone(),
                small,
                source,
                _copy: None,
            },
        }
    })
}

#[cfg(target_os = "linux")]
fn seal_copy(source: &Path) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    const MFD_EXEC: libc::c_uint = 0x10;
    let name = c"wright-sandbox";
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create with a valid name; MFD_EXEC is refused by kernels before 6.3.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), base | MFD_EXEC) };
    if fd < 0 {
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), base) };
    }
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor we own.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut out = std::fs::File::from(owned);
    let mut input = std::fs::File::open(source).ok()?;
    std::io::copy(&mut input, &mut out).ok()?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our descriptor.
    if unsafe { libc::fcntl(out.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return None;
    }
    // Executing an in-memory file can be switched off (vm.memfd_noexec = 2): then the
    // binary runs from its path.
    let noexec = std::fs::read_to_string("/proc/sys/vm/memfd_noexec")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    (noexec < 2).then(|| OwnedFd::from(out))
}

#[cfg(not(target_os = "linux"))]
fn seal_copy(_source: &Path) -> Option<std::os::fd::OwnedFd> {
    None
}

/// Runs `argv` confined by `policy` and waits for it. danger-full-access execs the command
/// in place (returning only on failure). The caller exits with the command's status (or
/// re-raises its signal), or prints `wright sandbox: <error>` and exits with
/// [`SandboxError::exit_code`].
pub fn run(policy: &SandboxPolicy, argv: &[OsString]) -> Result<Outcome, SandboxError> {
    if argv.is_empty() {
        return Err(SandboxError::NoCommand);
    }
    let cmd = argv[0].to_string_lossy().into_owned();
    let cargv = to_cstrings(argv).map_err(|error| SandboxError::Exec {
        cmd: cmd.clone(),
        error,
    })?;
    if policy.mode != Mode::DangerFullAccess {
        return confined(policy, &cargv);
    }
    let mut ptrs: Vec<*const libc::c_char> = cargv.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: NUL-terminated argv of valid C strings.
    unsafe { libc::execvp(ptrs[0], ptrs.as_ptr()) };
    Err(SandboxError::Exec {
        cmd,
        error: std::io::Error::last_os_error(),
    })
}

#[cfg(target_os = "linux")]
fn confined(policy: &SandboxPolicy, argv: &[std::ffi::CString]) -> Result<Outcome, SandboxError> {
    supervisor::run(policy, argv)
}

#[cfg(not(target_os = "linux"))]
fn confined(policy: &SandboxPolicy, _argv: &[std::ffi::CString]) -> Result<Outcome, SandboxError> {
    Err(SandboxError::Unenforceable {
        mode: policy.mode,
        reason: "the sandbox is only implemented on Linux".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_command_shapes() {
        let mut p = SandboxPolicy::new(Mode::WorkspaceWrite, vec!["/w".into()], false);
        let argv = vec!["bash".to_string(), "-lc".to_string(), "ls".to_string()];
        let l = wrap_command(Path::new("/bin/wright-sandbox"), &p, &argv);
        assert_eq!(l[..2], ["/bin/wright-sandbox", "--policy"]);
        assert_eq!(l[3], "--");
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
