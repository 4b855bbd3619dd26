//! `check()`: what this machine can enforce, found by running the real sandbox on a scratch
//! workspace (in a forked process, so the caller is never confined) and testing, from inside,
//! that each layer has its effect.

use crate::policy::Mode;
use serde::Serialize;

/// What the sandbox can enforce on this machine. Probing forks and takes a few
/// milliseconds; callers should cache the result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Landlock ABI version of the kernel (`None`: unavailable, see `landlock_error`).
    pub landlock_abi: Option<u32>,
    pub landlock_error: Option<String>,
    /// The sandbox ran at all (`error` says why not).
    pub runs: bool,
    pub error: Option<String>,
    /// New user, mount, PID and IPC namespaces: the command ran as PID 2 of its own namespace.
    pub namespaces: bool,
    /// Writes outside the roots fail with EROFS (the read-only view) and `.git` stays
    /// read-only inside a root.
    pub read_only_view: bool,
    /// `socket(AF_UNIX)` is denied with the network off (seccomp).
    pub seccomp: bool,
    /// Processes and memory are capped by a cgroup.
    pub cgroup_limits: bool,
    /// Everything that is missing, and what that exposes.
    pub notes: Vec<String>,
}

impl Capabilities {
    fn failed(reason: &str) -> Self {
        Capabilities {
            error: Some(reason.to_string()),
            ..Default::default()
        }
    }

    /// Can commands run in `mode` here?
    pub fn can_enforce(&self, mode: Mode) -> Result<(), String> {
        if mode == Mode::DangerFullAccess {
            return Ok(());
        }
        if !self.runs {
            return Err(self
                .error
                .clone()
                .unwrap_or_else(|| "the sandbox does not run".into()));
        }
        if !self.seccomp {
            return Err("seccomp does not take effect".into());
        }
        if mode == Mode::WorkspaceWrite && !self.read_only_view {
            return Err("protected paths (.git, .wright, .codex) cannot be kept read-only".into());
        }
        Ok(())
    }

    /// Every layer is in place (what the escape tests require).
    pub fn complete(&self) -> bool {
        self.runs
            && self.namespaces
            && self.read_only_view
            && self.seccomp
            && self.cgroup_limits
            && self.landlock_abi.is_some_and(|a| a >= 6)
            && self.notes.is_empty()
    }

    /// Human-readable report (what `wright sandbox --check` prints).
    pub fn report(&self) -> String {
        let yn = |b: bool| if b { "yes" } else { "no" };
        let mut out = String::from("wright sandbox: what this machine can enforce\n");
        match (self.landlock_abi, &self.landlock_error) {
            (Some(abi), _) => out.push_str(&format!("  Landlock:              ABI {abi}\n")),
            (None, e) => out.push_str(&format!(
                "  Landlock:              unavailable ({})\n",
                e.as_deref().unwrap_or("unknown reason")
            )),
        }
        if let Some(e) = &self.error {
            out.push_str(&format!("  sandbox:               does not run: {e}\n"));
        }
        out.push_str(&format!(
            "  namespaces:            {} (user, mount, PID, IPC, network)\n",
            yn(self.namespaces)
        ));
        out.push_str(&format!(
            "  read-only view:        {} (EROFS outside the roots and on .git)\n",
            yn(self.read_only_view)
        ));
        out.push_str(&format!("  seccomp:               {}\n", yn(self.seccomp)));
        out.push_str(&format!(
            "  cgroup limits:         {}\n",
            yn(self.cgroup_limits)
        ));
        for note in &self.notes {
            out.push_str(&format!("  missing: {note}\n"));
        }
        for mode in [Mode::ReadOnly, Mode::WorkspaceWrite] {
            match self.can_enforce(mode) {
                Ok(()) => out.push_str(&format!("  {mode}: can be enforced\n")),
                Err(e) => out.push_str(&format!("  {mode}: CANNOT be enforced: {e}\n")),
            }
        }
        out
    }
}

#[cfg(not(target_os = "linux"))]
pub fn check() -> Capabilities {
    Capabilities::failed("the sandbox is only implemented on Linux")
}

/// Probe what this machine can enforce. Never confines the caller.
#[cfg(target_os = "linux")]
pub fn check() -> Capabilities {
    match linux::probe() {
        Ok(caps) => caps,
        Err(e) => Capabilities::failed(&format!("probe failed: {e}")),
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Capabilities;
    use crate::child::Action;
    use crate::policy::{Mode, SandboxPolicy};
    use crate::{fs_rules, supervisor, sys};
    use std::os::fd::AsRawFd;
    use std::path::{Path, PathBuf};

    /// A scratch directory: `<tmp>/wright-sandbox-probe-<pid>-<n>/{root/.git,outside}`.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub(super) fn probe() -> Result<Capabilities, String> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("wright-sandbox-probe-{}-{n}", std::process::id()));
        std::fs::create_dir_all(dir.join("root/.git"))
            .and_then(|_| std::fs::create_dir_all(dir.join("outside")))
            .map_err(|e| format!("create {}: {e}", dir.display()))?;
        let scratch = Scratch(dir);
        let base = scratch
            .0
            .canonicalize()
            .map_err(|e| format!("canonicalize {}: {e}", scratch.0.display()))?;
        let root = base.join("root");
        let outside = base.join("outside");
        let (r, w) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
        // SAFETY: the child only runs the sandbox (which clones and execs nothing) and exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", sys::errno()));
        }
        if pid == 0 {
            drop(r);
            let fd = w.as_raw_fd();
            let policy = SandboxPolicy::new(Mode::WorkspaceWrite, vec![root.clone()], false);
            let inside = || inside_checks(&root, &outside, fd);
            let line = match supervisor::run_action(&policy, Action::Probe(&inside)) {
                Ok((_, notes)) => notes.iter().map(|n| format!("N{n}\n")).collect::<String>(),
                Err(e) => format!("E{}\n", e.to_string().replace('\n', " ")),
            };
            sys::write_all(fd, line.as_bytes());
            // SAFETY: leaving the forked child.
            unsafe { libc::_exit(0) };
        }
        drop(w);
        let report = String::from_utf8_lossy(&sys::read_to_end(r.as_raw_fd())).into_owned();
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        drop(scratch);
        Ok(parse(&report, fs_rules::kernel_abi()))
    }

    /// Runs confined: one `key` line per layer that took effect.
    fn inside_checks(root: &Path, outside: &Path, fd: i32) -> i32 {
        let mut out = String::new();
        let erofs = |p: &Path| matches!(std::fs::write(p, b"x"), Err(e) if e.raw_os_error() == Some(libc::EROFS));
        if std::process::id() == 2 {
            out.push_str("pidns\n");
        }
        if erofs(&outside.join("probe"))
            && erofs(&root.join(".git/probe"))
            && std::fs::write(root.join("probe"), b"x").is_ok()
        {
            out.push_str("rofs\n");
        }
        // SAFETY: plain socket call.
        let s = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
        if s < 0 && sys::errno().raw_os_error() == Some(libc::EPERM) {
            out.push_str("seccomp\n");
        }
        sys::write_all(fd, out.as_bytes());
        0
    }

    fn parse(report: &str, abi: Result<u32, String>) -> Capabilities {
        let has = |k: &str| report.lines().any(|l| l == k);
        let error = report
            .lines()
            .find_map(|l| l.strip_prefix('E'))
            .map(str::to_string);
        let notes: Vec<String> = report
            .lines()
            .filter_map(|l| l.strip_prefix('N'))
            .map(str::to_string)
            .collect();
        let ran = error.is_none() && (has("pidns") || has("seccomp") || has("rofs"));
        Capabilities {
            landlock_abi: abi.as_ref().ok().copied(),
            landlock_error: abi.err(),
            runs: ran,
            error: if ran {
                None
            } else {
                Some(error.unwrap_or_else(|| "the probe died before reporting".into()))
            },
            namespaces: has("pidns"),
            read_only_view: has("rofs"),
            seccomp: has("seccomp"),
            cgroup_limits: ran && !notes.iter().any(|n| n.contains("cgroup")),
            notes,
        }
    }
}
