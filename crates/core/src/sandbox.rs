//! How a command is launched confined: through `wright sandbox`, which applies the policy to
//! itself and then executes the command.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use wright_sandbox::{Limits, Mode, SandboxPolicy};

use crate::config::{Config, SandboxMode};

#[derive(Debug, Clone)]
pub struct SandboxLaunch {
    pub mode: SandboxMode,
    pub writable_roots: Vec<PathBuf>,
    /// Network access in force: never in read-only, always in danger-full-access.
    pub network: bool,
    pub limits: Limits,
    /// The `wright` binary (`wright sandbox`, `wright apply-patch`); without one nothing runs
    /// confined.
    pub exe: Option<PathBuf>,
    /// What starts confined commands: a sealed copy of the `wright-sandbox` launcher next to
    /// `exe` (or of `exe`), made once per process.
    pub launcher: Option<&'static wright_sandbox::Launcher>,
    /// Kept read-only when a writable root contains them: wright's home (config, rules) and
    /// its binaries.
    pub protected: Vec<PathBuf>,
    /// Set once the session's first confined command has been told to announce missing
    /// layers (so the warning appears once per session, not per command).
    pub announced: Arc<AtomicBool>,
}

impl SandboxLaunch {
    pub fn from_config(config: &Config) -> Self {
        Self::for_session(config, Arc::new(AtomicBool::new(false)))
    }

    /// Like [`SandboxLaunch::from_config`], sharing the session's "already announced" flag.
    pub fn for_session(config: &Config, announced: Arc<AtomicBool>) -> Self {
        Self {
            mode: config.sandbox_mode,
            writable_roots: config.writable_roots.clone(),
            network: match config.sandbox_mode {
                SandboxMode::ReadOnly => false,
                SandboxMode::WorkspaceWrite => config.network_access,
                SandboxMode::DangerFullAccess => true,
            },
            limits: config.sandbox_limits,
            exe: config.sandbox_exe.clone(),
            launcher: config.sandbox_exe.as_deref().map(wright_sandbox::launcher),
            protected: [Some(config.wright_home.clone())]
                .into_iter()
                .chain([config.sandbox_exe.clone()])
                .chain([config
                    .sandbox_exe
                    .as_deref()
                    .map(wright_sandbox::launcher_for)])
                .flatten()
                .collect(),
            announced,
        }
    }

    /// The policy `wright sandbox` gets (`announce` set on the session's first command).
    pub fn policy(&self) -> Option<SandboxPolicy> {
        let mode = match self.mode {
            SandboxMode::DangerFullAccess => return None,
            SandboxMode::ReadOnly => Mode::ReadOnly,
            SandboxMode::WorkspaceWrite => Mode::WorkspaceWrite,
        };
        let mut policy = SandboxPolicy::new(mode, self.writable_roots.clone(), self.network);
        policy.limits = self.limits;
        policy.protected = self.protected.clone();
        policy.announce = !self.announced.swap(true, Ordering::Relaxed);
        Some(policy)
    }

    /// `argv` wrapped to run confined, or why that cannot be done (never unconfined).
    pub fn wrap(&self, argv: &[String]) -> Result<Vec<String>, String> {
        if self.mode == SandboxMode::DangerFullAccess {
            return Ok(argv.to_vec());
        }
        let Some(policy) = self.policy() else {
            return Ok(argv.to_vec());
        };
        match (self.launcher, &self.exe) {
            (Some(launcher), _) => Ok(launcher.wrap(&policy, argv)),
            (None, Some(exe)) => Ok(wright_sandbox::wrap_command(exe, &policy, argv)),
            (None, None) => Err("no sandbox launcher is configured".into()),
        }
    }
}

impl SandboxLaunch {
    /// Applies `patch` in `cwd` from inside the sandbox (`wright sandbox -- wright
    /// apply-patch`): every write is checked by the kernel at the moment it happens, so
    /// nothing racing the patch (a directory swapped for a symlink) can redirect it outside
    /// the writable roots. `None` when this mode applies patches in process (full access).
    pub async fn commit_patch(&self, patch: &str, cwd: &Path) -> Option<Result<String, String>> {
        if self.mode == SandboxMode::DangerFullAccess {
            return None;
        }
        let Some(exe) = &self.exe else {
            return Some(Err("no sandbox launcher is configured".into()));
        };
        let argv = vec![exe.display().to_string(), "apply-patch".to_string()];
        let wrapped = match self.wrap(&argv) {
            Ok(w) => w,
            Err(e) => return Some(Err(e)),
        };
        Some(run_patch_process(&wrapped, patch, cwd).await)
    }
}

async fn run_patch_process(argv: &[String], patch: &str, cwd: &Path) -> Result<String, String> {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(cwd)
        .env_clear()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(patch.as_bytes()).await;
    }
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .map_err(|_| "applying the patch took longer than 120 s".to_string())?
    .map_err(|e| format!("the sandbox failed: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(if stderr.is_empty() {
            format!("exit status {}", out.status)
        } else {
            stderr
        })
    }
}

/// Folders under a writable root that stay read-only (the sandbox's own list).
pub const PROTECTED_DIRS: &[&str] = &SandboxPolicy::PROTECTED_NAMES;

impl SandboxLaunch {
    /// The paths among `paths` this mode does not let the agent write (after resolving
    /// symlinks, so a link inside the workspace cannot carry a write outside it).
    pub fn patch_violations<'a>(&self, paths: impl Iterator<Item = &'a PathBuf>) -> Vec<String> {
        match self.mode {
            SandboxMode::DangerFullAccess => Vec::new(),
            SandboxMode::ReadOnly => paths.map(|p| p.display().to_string()).collect(),
            SandboxMode::WorkspaceWrite => {
                let roots: Vec<PathBuf> = self.writable_roots.iter().map(|r| resolve(r)).collect();
                paths
                    .filter(|p| {
                        let real = resolve(p);
                        let inside = roots.iter().any(|root| real.starts_with(root));
                        // `.git` of any root stays read-only, even when another root (`/tmp`)
                        // contains it.
                        let protected = roots.iter().any(|root| {
                            PROTECTED_DIRS
                                .iter()
                                .any(|d| real.starts_with(root.join(d)))
                        });
                        !inside || protected
                    })
                    .map(|p| p.display().to_string())
                    .collect()
            }
        }
    }
}

/// The path [`SandboxLaunch::patch_violations`] checks for `path`: the nearest existing
/// ancestor canonicalised, the rest appended. A write handed to someone else goes here, so
/// that what is written is what was checked.
pub fn real_path(path: &Path) -> PathBuf {
    resolve(path)
}

/// The real path: the nearest existing ancestor canonicalised, the rest appended.
fn resolve(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let mut missing = Vec::new();
    let mut cur = path;
    while let Some(parent) = cur.parent() {
        if let Some(name) = cur.file_name() {
            missing.push(name.to_owned());
        }
        if let Ok(real) = std::fs::canonicalize(parent) {
            let mut out = real;
            for part in missing.iter().rev() {
                out.push(part);
            }
            return out;
        }
        cur = parent;
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_layers_are_announced_on_the_first_command_only() {
        let launch = SandboxLaunch {
            mode: SandboxMode::ReadOnly,
            writable_roots: vec![],
            network: false,
            limits: Limits::default(),
            exe: Some(PathBuf::from("/bin/wright")),
            launcher: None,
            protected: vec![],
            announced: Arc::default(),
        };
        assert!(launch.policy().unwrap().announce);
        assert!(!launch.policy().unwrap().announce);
        // A later turn shares the session's flag.
        let next = SandboxLaunch { ..launch.clone() };
        assert!(!next.policy().unwrap().announce);
        let full = SandboxLaunch {
            mode: SandboxMode::DangerFullAccess,
            announced: Arc::default(),
            ..launch
        };
        assert!(full.policy().is_none());
    }

    #[test]
    fn patch_paths_must_stay_in_the_roots() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let launch = SandboxLaunch {
            mode: SandboxMode::WorkspaceWrite,
            writable_roots: vec![root.clone(), tmp.path().join("unrelated")],
            network: false,
            limits: Limits::default(),
            exe: None,
            launcher: None,
            protected: vec![],
            announced: Arc::default(),
        };
        let paths = [
            root.join("src/new.rs"),
            root.join(".git/config"),
            root.join("link/escape.txt"),
            outside.join("x"),
        ];
        let bad = launch.patch_violations(paths.iter());
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(!bad.iter().any(|b| b.ends_with("new.rs")));
        let ro = SandboxLaunch {
            mode: SandboxMode::ReadOnly,
            ..launch.clone()
        };
        assert_eq!(ro.patch_violations(paths.iter()).len(), 4);
        let full = SandboxLaunch {
            mode: SandboxMode::DangerFullAccess,
            ..launch
        };
        assert!(full.patch_violations(paths.iter()).is_empty());
    }
}
