//! Shared fixture of the escape tests: each command must FAIL inside the sandbox (workspace-write, root = a temp
//! dir, network off) and SUCCEED under danger-full-access, so every test can fail.
//!
//! These tests need every layer (Landlock, seccomp, user/mount/network namespaces). On a
//! machine without them they fail loudly with the capability report instead of passing
//! vacuously.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use wright_sandbox::{check, Mode, SandboxPolicy};

pub const EXE: &str = env!("CARGO_BIN_EXE_wright-sandbox-exec");

/// Panics (loudly) unless this machine enforces every layer.
pub fn require_all_layers() {
    static CAPS: OnceLock<Result<(), String>> = OnceLock::new();
    let r = CAPS.get_or_init(|| {
        let caps = check();
        if caps.complete() {
            Ok(())
        } else {
            Err(caps.report())
        }
    });
    if let Err(report) = r {
        panic!(
            "THE SANDBOX ESCAPE TESTS CANNOT BE MEANINGFUL ON THIS MACHINE: a layer is missing.\n{report}"
        );
    }
}

pub struct Fixture {
    pub _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub outside: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        require_all_layers();
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        Fixture {
            _tmp: tmp,
            root,
            outside,
        }
    }

    pub fn policy(&self, mode: Mode, network: bool) -> SandboxPolicy {
        SandboxPolicy::new(mode, vec![self.root.clone()], network)
    }

    /// `bash -c script` under `policy`, cwd = root, with `$ROOT` and `$OUT` set.
    pub fn run(&self, policy: &SandboxPolicy, script: &str) -> Output {
        let json = serde_json::to_string(policy).unwrap();
        Command::new(EXE)
            .arg(json)
            .args(["bash", "-c", script])
            .current_dir(&self.root)
            .env("ROOT", &self.root)
            .env("OUT", &self.outside)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn sandboxed(&self, script: &str) -> Output {
        self.run(&self.policy(Mode::WorkspaceWrite, false), script)
    }

    pub fn unconfined(&self, script: &str) -> Output {
        self.run(&self.policy(Mode::DangerFullAccess, false), script)
    }

    /// The escape must fail in the sandbox and work without it.
    pub fn assert_blocked(&self, what: &str, script: &str) {
        let inside = self.sandboxed(script);
        assert!(
            !inside.status.success(),
            "{what}: succeeded INSIDE the sandbox\nstdout: {}\nstderr: {}",
            text(&inside.stdout),
            text(&inside.stderr)
        );
        // The sandbox itself was in place (not a 126 refusal).
        assert_ne!(
            inside.status.code(),
            Some(126),
            "{what}: {}",
            text(&inside.stderr)
        );
        let outside = self.unconfined(script);
        assert!(
            outside.status.success(),
            "{what}: control run without the sandbox failed, so the test proves nothing\nstdout: {}\nstderr: {}",
            text(&outside.stdout),
            text(&outside.stderr)
        );
    }

    pub fn assert_ok_inside(&self, what: &str, script: &str) -> Output {
        let out = self.sandboxed(script);
        assert!(
            out.status.success(),
            "{what}: failed inside the sandbox\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        out
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn git_init(dir: &Path) {
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// Polls `cond` for up to 10 s.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// Whether a process whose command line contains `marker` is alive (zombies excluded).
pub fn process_alive(marker: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|e| {
        let p = e.path();
        let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'));
        !zombie && String::from_utf8_lossy(&cmd).contains(marker)
    })
}

/// Kills every process whose command line contains `marker`.
pub fn kill_marked(marker: &str) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in dir.flatten() {
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(marker) {
            if let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

pub fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{tag}{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
