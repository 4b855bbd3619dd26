//! `check()`: what this machine can enforce, found by actually applying every layer in a
//! forked child (the caller is never confined) and testing its effect.

use crate::policy::{Mode, SandboxPolicy};
use serde::Serialize;

/// What the sandbox can enforce on this machine. Probing forks a process and takes a few
/// milliseconds; callers should cache the result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Capabilities {
    /// Landlock ABI version of the kernel (`None`: unavailable, see `landlock_error`).
    pub landlock_abi: Option<u32>,
    /// A probe confirmed Landlock denies a write outside the writable roots.
    pub landlock_enforced: bool,
    pub landlock_error: Option<String>,
    /// Signals and abstract Unix sockets are scoped to the sandbox (Landlock ABI ≥ 6).
    pub landlock_signal_scoping: bool,
    /// TCP bind/connect are denied by Landlock when the network is off (ABI ≥ 4).
    pub landlock_network_rules: bool,
    /// A probe confirmed the seccomp filter denies `socket(AF_INET)`.
    pub seccomp: bool,
    pub seccomp_error: Option<String>,
    /// A user (+ mount) namespace could be created and the ids mapped.
    pub user_namespaces: bool,
    pub user_namespaces_error: Option<String>,
    /// A new network namespace could be created (with the user namespace).
    pub network_namespace: bool,
    /// A probe confirmed a read-only bind mount over `<root>/.git` blocks writes.
    pub readonly_bind_mounts: bool,
    pub readonly_bind_mounts_error: Option<String>,
    /// Features the kernel does not enforce (older Landlock ABIs).
    pub notes: Vec<String>,
}

impl Capabilities {
    fn nothing(reason: &str) -> Self {
        Capabilities {
            landlock_abi: None,
            landlock_enforced: false,
            landlock_error: Some(reason.to_string()),
            landlock_signal_scoping: false,
            landlock_network_rules: false,
            seccomp: false,
            seccomp_error: Some(reason.to_string()),
            user_namespaces: false,
            user_namespaces_error: Some(reason.to_string()),
            network_namespace: false,
            readonly_bind_mounts: false,
            readonly_bind_mounts_error: Some(reason.to_string()),
            notes: Vec::new(),
        }
    }

    /// Can commands run in `mode` here, whatever the workspace looks like? workspace-write
    /// needs read-only bind mounts (workspaces usually contain `.git`); see
    /// [`Capabilities::can_enforce_policy`] for a check against an actual policy.
    pub fn can_enforce(&self, mode: Mode) -> Result<(), String> {
        self.base(mode)?;
        if mode == Mode::WorkspaceWrite && !self.readonly_bind_mounts {
            return Err(format!(
                "read-only bind mounts (to keep .git/.wright/.codex read-only) are unavailable: {}",
                self.readonly_bind_mounts_error
                    .as_deref()
                    .unwrap_or("unknown reason")
            ));
        }
        Ok(())
    }

    /// Like [`Capabilities::can_enforce`], but workspace-write only needs read-only bind
    /// mounts if one of the protected paths exists under the policy's writable roots.
    pub fn can_enforce_policy(&self, policy: &SandboxPolicy) -> Result<(), String> {
        if policy.mode == Mode::WorkspaceWrite && policy.existing_protected_paths().is_empty() {
            return self.base(policy.mode);
        }
        self.can_enforce(policy.mode)
    }

    fn base(&self, mode: Mode) -> Result<(), String> {
        if mode == Mode::DangerFullAccess {
            return Ok(());
        }
        if !self.landlock_enforced {
            return Err(format!(
                "Landlock is unavailable: {}",
                self.landlock_error.as_deref().unwrap_or("unknown reason")
            ));
        }
        if !self.seccomp {
            return Err(format!(
                "seccomp is unavailable: {}",
                self.seccomp_error.as_deref().unwrap_or("unknown reason")
            ));
        }
        Ok(())
    }

    /// Human-readable report (what `wright sandbox --check` prints).
    pub fn report(&self) -> String {
        fn yes_no(ok: bool, err: &Option<String>) -> String {
            match (ok, err) {
                (true, _) => "yes".to_string(),
                (false, Some(e)) => format!("no ({e})"),
                (false, None) => "no".to_string(),
            }
        }
        let mut out = String::from("wright sandbox: what this machine can enforce\n");
        let landlock = match (self.landlock_abi, self.landlock_enforced) {
            (Some(abi), true) => format!("ABI {abi} (enforced)"),
            (Some(abi), false) => format!(
                "ABI {abi} but not enforced: {}",
                self.landlock_error.as_deref().unwrap_or("unknown reason")
            ),
            (None, _) => format!(
                "unavailable: {}",
                self.landlock_error.as_deref().unwrap_or("unknown reason")
            ),
        };
        out.push_str(&format!("  Landlock:               {landlock}\n"));
        out.push_str(&format!(
            "    signal/socket scoping: {}\n    TCP rules:             {}\n",
            if self.landlock_signal_scoping {
                "yes"
            } else {
                "no"
            },
            if self.landlock_network_rules {
                "yes"
            } else {
                "no"
            },
        ));
        out.push_str(&format!(
            "  seccomp:                {}\n",
            yes_no(self.seccomp, &self.seccomp_error)
        ));
        out.push_str(&format!(
            "  user namespaces:        {}\n",
            yes_no(self.user_namespaces, &self.user_namespaces_error)
        ));
        out.push_str(&format!(
            "  network namespace:      {}\n",
            if self.network_namespace {
                "yes"
            } else {
                "no (network-off relies on seccomp + Landlock)"
            }
        ));
        out.push_str(&format!(
            "  read-only bind mounts:  {}\n",
            yes_no(self.readonly_bind_mounts, &self.readonly_bind_mounts_error)
        ));
        for note in &self.notes {
            out.push_str(&format!("  note: {note}\n"));
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
    Capabilities::nothing("the sandbox is only implemented on Linux")
}

/// Probe what this machine can enforce. Never confines the caller: every layer is applied
/// in a forked child, which tests its effect and reports back through a pipe.
#[cfg(target_os = "linux")]
pub fn check() -> Capabilities {
    match linux::probe() {
        Ok(caps) => caps,
        Err(e) => Capabilities::nothing(&format!("probe failed: {e}")),
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Capabilities;
    use crate::policy::{Mode, SandboxPolicy};
    use crate::{fs_rules, ns, syscalls};
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

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
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "wright-sandbox-probe-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(dir.join("root/.git"))
            .and_then(|_| std::fs::create_dir_all(dir.join("outside")))
            .map_err(|e| format!("create {}: {e}", dir.display()))?;
        let scratch = Scratch(dir);
        // Canonical paths: the temp dir may sit behind a symlink.
        let base = scratch
            .0
            .canonicalize()
            .map_err(|e| format!("canonicalize {}: {e}", scratch.0.display()))?;
        let root = base.join("root");
        let outside = base.join("outside");
        let abi = fs_rules::kernel_abi();

        let mut fds = [0; 2];
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(format!("pipe: {}", std::io::Error::last_os_error()));
        }
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            // Child: probe, report, _exit (never return into the caller's code).
            drop(r);
            let report = child_probe(&root, &outside);
            let bytes = report.as_bytes();
            let mut off = 0;
            while off < bytes.len() {
                let n = unsafe {
                    libc::write(
                        std::os::fd::AsRawFd::as_raw_fd(&w),
                        bytes[off..].as_ptr().cast(),
                        bytes.len() - off,
                    )
                };
                if n <= 0 {
                    break;
                }
                off += n as usize;
            }
            unsafe { libc::_exit(0) };
        }
        drop(w);
        let report = read_with_timeout(r, pid);
        let mut status = 0;
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let report = report?;
        drop(scratch);
        Ok(parse(&report, abi))
    }

    fn read_with_timeout(r: OwnedFd, pid: libc::pid_t) -> Result<String, String> {
        let deadline = Instant::now() + PROBE_TIMEOUT;
        let mut file = std::fs::File::from(r);
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd {
                fd: std::os::fd::AsRawFd::as_raw_fd(&file),
                events: libc::POLLIN,
                revents: 0,
            };
            let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis() as libc::c_int) };
            if rc < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return Err(format!("poll: {}", std::io::Error::last_os_error()));
            }
            if rc == 0 {
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return Err(format!(
                    "the probe process did not finish within {}s",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
            let mut buf = [0u8; 4096];
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return Err(format!("read: {e}"));
                }
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Runs in the forked child. Output: one `key<TAB>ok` or `key<TAB>err<TAB>reason` line
    /// per layer.
    fn child_probe(root: &Path, outside: &Path) -> String {
        let mut out = String::new();
        let mut line = |key: &str, r: Result<(), String>| match r {
            Ok(()) => out.push_str(&format!("{key}\tok\n")),
            Err(e) => out.push_str(&format!("{key}\terr\t{}\n", e.replace(['\n', '\t'], " "))),
        };
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            line("nnp", Err(format!("{}", std::io::Error::last_os_error())));
        }
        // 2. Namespaces (network off, as for a default policy).
        let userns = ns::unshare_namespaces(false);
        let have_ns = userns.is_ok();
        line(
            "userns",
            userns.map(|_| ()).map_err(|e| e.message().to_string()),
        );
        // 3. Read-only bind mount over root/.git, then check it is read-only.
        let git = root.join(".git");
        let bind = if have_ns {
            ns::make_mounts_private()
                .and_then(|_| ns::bind_readonly(&git))
                .and_then(|_| expect_denied(&git.join("probe"), libc::EROFS))
        } else {
            Err("no user namespace".to_string())
        };
        line("bind", bind);
        // 4. Landlock, then check a write outside is denied and inside works.
        let policy = SandboxPolicy {
            mode: Mode::WorkspaceWrite,
            writable_roots: vec![root.to_path_buf()],
            network: false,
        };
        let landlock = fs_rules::apply(&policy).and_then(|_| {
            expect_denied(&outside.join("probe"), libc::EACCES)?;
            std::fs::write(root.join("probe"), b"x")
                .map_err(|e| format!("a write inside the writable root failed: {e}"))
        });
        line("landlock", landlock);
        // 5. seccomp, then check AF_INET sockets are denied and AF_UNIX ones allowed.
        let seccomp = syscalls::build(false)
            .and_then(|p| syscalls::install(&p))
            .and_then(|_| {
                let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
                let err = std::io::Error::last_os_error();
                if fd >= 0 {
                    return Err("socket(AF_INET) still allowed after install".to_string());
                }
                if err.raw_os_error() != Some(libc::EPERM) {
                    return Err(format!("socket(AF_INET) failed with {err}, expected EPERM"));
                }
                let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
                if fd < 0 {
                    return Err(format!(
                        "socket(AF_UNIX) denied: {}",
                        std::io::Error::last_os_error()
                    ));
                }
                unsafe { libc::close(fd) };
                Ok(())
            });
        line("seccomp", seccomp);
        out
    }

    fn expect_denied(path: &Path, errno: i32) -> Result<(), String> {
        match std::fs::write(path, b"x") {
            Ok(()) => Err(format!("writing {} was not denied", path.display())),
            Err(e) if e.raw_os_error() == Some(errno) => Ok(()),
            Err(e) => Err(format!(
                "writing {} failed with `{e}`, expected {}",
                path.display(),
                std::io::Error::from_raw_os_error(errno)
            )),
        }
    }

    fn parse(report: &str, abi: Result<u32, String>) -> Capabilities {
        let get = |key: &str| -> Result<(), String> {
            for l in report.lines() {
                let mut parts = l.splitn(3, '\t');
                if parts.next() == Some(key) {
                    return match parts.next() {
                        Some("ok") => Ok(()),
                        _ => Err(parts.next().unwrap_or("failed").to_string()),
                    };
                }
            }
            Err("the probe process died before reporting".to_string())
        };
        let userns = get("userns");
        let bind = get("bind");
        let seccomp = get("seccomp");
        let landlock = match (&abi, get("landlock")) {
            (Err(e), _) => Err(e.clone()),
            (Ok(_), r) => r,
        };
        let abi_n = abi.as_ref().ok().copied();
        Capabilities {
            landlock_abi: abi_n,
            landlock_enforced: landlock.is_ok(),
            landlock_error: landlock.err(),
            landlock_signal_scoping: abi_n.is_some_and(|a| a >= 6),
            landlock_network_rules: abi_n.is_some_and(|a| a >= 4),
            seccomp: seccomp.is_ok(),
            seccomp_error: seccomp.err(),
            user_namespaces: userns.is_ok(),
            network_namespace: userns.is_ok(),
            user_namespaces_error: userns.err(),
            readonly_bind_mounts: bind.is_ok(),
            readonly_bind_mounts_error: bind.err(),
            notes: abi_n
                .map(|a| fs_rules::missing_features(a, false))
                .unwrap_or_default(),
        }
    }
}
