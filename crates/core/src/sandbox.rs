//! How a command is launched confined: through `wright sandbox`, which applies the policy to
//! itself and then executes the command.

use std::path::{Path, PathBuf};

use wright_sandbox::{Mode, SandboxPolicy};

use crate::config::{Config, SandboxMode};

#[derive(Debug, Clone)]
pub struct SandboxLaunch {
    pub mode: SandboxMode,
    pub writable_roots: Vec<PathBuf>,
    pub network: bool,
    /// The `wright` binary that runs `wright sandbox`; without one nothing runs confined.
    pub exe: Option<PathBuf>,
}

impl SandboxLaunch {
    pub fn from_config(config: &Config) -> Self {
        Self {
            mode: config.sandbox_mode,
            writable_roots: config.writable_roots.clone(),
            network: config.sandbox_mode == SandboxMode::DangerFullAccess || config.network_access,
            exe: config.sandbox_exe.clone(),
        }
    }

    /// `argv` wrapped to run confined, or why that cannot be done (never unconfined).
    pub fn wrap(&self, argv: &[String]) -> Result<Vec<String>, String> {
        let mode = match self.mode {
            SandboxMode::DangerFullAccess => return Ok(argv.to_vec()),
            SandboxMode::ReadOnly => Mode::ReadOnly,
            SandboxMode::WorkspaceWrite => Mode::WorkspaceWrite,
        };
        let Some(exe) = &self.exe else {
            return Err("no sandbox launcher is configured".into());
        };
        let policy = SandboxPolicy {
            mode,
            writable_roots: self.writable_roots.clone(),
            network: self.network,
        };
        Ok(wright_sandbox::wrap_command(exe, &policy, argv))
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
            exe: None,
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
