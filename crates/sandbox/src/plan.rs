//! What the mount namespace must look like for a policy: which roots are bound back
//! writable, which paths under them stay read-only, which missing protected names are masked,
//! and when the command must be refused because its metadata cannot be kept safe.
//!
//! Computed by the supervisor before the sandbox is built (unconfined, plain file-system
//! reads). Nothing here is a boundary by itself: the paths are handed to the mount code, which
//! re-resolves every one without following symlinks.

use std::collections::VecDeque;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::policy::SandboxPolicy;

/// Nested repositories are looked for this deep under each root...
const NESTED_DEPTH: usize = 3;
/// ...and in at most this many directories per root (the scan runs before every command).
const NESTED_BUDGET: usize = 1500;

/// Files of a git directory whose change lets a later `git` run code or rewrite history;
/// a second hard link to one of them would be a writable alias.
const SENSITIVE: [&str; 8] = [
    "config",
    "config.worktree",
    "commondir",
    "gitdir",
    "HEAD",
    "packed-refs",
    "info/attributes",
    "info/exclude",
];

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Plan {
    /// Canonical writable roots that exist, outermost only (a root inside another is already
    /// writable through it).
    pub roots: Vec<PathBuf>,
    /// Paths inside the roots that are bound read-only (outermost only).
    pub protected: Vec<PathBuf>,
    /// Protected names that do not exist yet: an empty directory is created there for the
    /// command's lifetime and bound read-only, so the command cannot create it.
    pub masks: Vec<PathBuf>,
    /// Things the command should know (e.g. the nested-repository scan was cut short).
    pub notes: Vec<String>,
}

/// Why a command cannot be run safely.
pub(crate) type Refusal = String;

pub(crate) fn plan(policy: &SandboxPolicy) -> Result<Plan, Refusal> {
    let mut all_roots: Vec<PathBuf> = Vec::new();
    for root in policy.effective_writable_roots() {
        if !root.is_absolute() {
            return Err(format!(
                "writable root {} is not an absolute path",
                root.display()
            ));
        }
        // Roots that do not exist are skipped (nothing to write to).
        if let Ok(real) = std::fs::canonicalize(root) {
            if !all_roots.contains(&real) {
                all_roots.push(real);
            }
        }
    }
    let mut plan = Plan::default();
    let mut sorted = all_roots.clone();
    sorted.sort_by_key(|p| p.as_os_str().len());
    for root in &sorted {
        if !plan.roots.iter().any(|outer| root.starts_with(outer)) {
            plan.roots.push(root.clone());
        }
    }
    let mut found: Vec<PathBuf> = Vec::new();
    for root in &all_roots {
        if !root.is_dir() {
            continue;
        }
        for name in SandboxPolicy::PROTECTED_NAMES {
            let path = root.join(name);
            match std::fs::symlink_metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !plan.masks.contains(&path) {
                        plan.masks.push(path);
                    }
                }
                Err(e) => return Err(format!("cannot inspect {}: {e}", path.display())),
                // An empty mode-000 directory is a mask a killed run left behind: masked
                // again now, and removed afterwards.
                Ok(meta) if is_leftover_mask(&path, &meta) => {
                    if !plan.masks.contains(&path) {
                        plan.masks.push(path);
                    }
                }
                Ok(_) => protect_entry(&path, name == ".git", &all_roots, &mut found)?,
            }
        }
        for nested in nested_repositories(root, &mut plan.notes) {
            protect_entry(&nested, true, &all_roots, &mut found)?;
        }
    }
    // wright's own home and binaries, when a root contains them.
    for extra in &policy.protected {
        if let Ok(real) = std::fs::canonicalize(extra) {
            if all_roots.iter().any(|r| real.starts_with(r)) {
                push_unique(&mut found, real);
            }
        }
    }
    // Outermost only: a protected path inside another is read-only already.
    found.sort_by_key(|p| p.as_os_str().len());
    for p in found {
        if !plan.protected.iter().any(|outer| p.starts_with(outer)) {
            plan.protected.push(p);
        }
    }
    Ok(plan)
}

/// Adds `path` (an existing `.git`, `.wright`, `.codex`) and, for a git entry, the
/// directories it points at. Refuses what cannot be kept read-only.
fn protect_entry(
    path: &Path,
    is_git: bool,
    roots: &[PathBuf],
    out: &mut Vec<PathBuf>,
) -> Result<(), Refusal> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        // Gone since it was found (another process's temporary repository), or not ours to
        // look at (and so not ours to write either): nothing to protect.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            return Ok(())
        }
        Err(e) => return Err(format!("cannot inspect {}: {e}", path.display())),
    };
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a symbolic link: a command could replace the link itself, so what it names cannot be kept read-only. Replace the link with the directory it points to, or run this command with approval outside the sandbox",
            path.display()
        ));
    }
    push_unique(out, path.to_path_buf());
    if !is_git {
        return Ok(());
    }
    if meta.is_file() {
        check_links(path, &meta)?;
        // A gitfile (`gitdir: <dir>`, worktrees and submodules): that directory is the real
        // repository and must be protected wherever it is inside the roots.
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(target) = text.lines().next().and_then(|l| l.strip_prefix("gitdir:")) {
            let base = path.parent().unwrap_or(Path::new("/"));
            let target = base.join(target.trim());
            if let Ok(real) = std::fs::canonicalize(&target) {
                protect_git_dir(&real, roots, out)?;
            }
        }
    } else if meta.is_dir() {
        protect_git_dir(path, roots, out)?;
    }
    Ok(())
}

/// A git directory (and its `commondir`, for worktrees): protected when inside a root, and
/// refused when one of its sensitive files has a second name.
fn protect_git_dir(dir: &Path, roots: &[PathBuf], out: &mut Vec<PathBuf>) -> Result<(), Refusal> {
    if roots.iter().any(|r| dir.starts_with(r)) {
        push_unique(out, dir.to_path_buf());
    }
    for name in SENSITIVE {
        let f = dir.join(name);
        if let Ok(meta) = std::fs::symlink_metadata(&f) {
            check_links(&f, &meta)?;
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("hooks")) {
        for entry in entries.flatten() {
            if let Ok(meta) = entry.metadata() {
                check_links(&entry.path(), &meta)?;
            }
        }
    }
    if let Ok(common) = std::fs::read_to_string(dir.join("commondir")) {
        if let Ok(real) = std::fs::canonicalize(dir.join(common.trim())) {
            if real != dir && roots.iter().any(|r| real.starts_with(r)) {
                push_unique(out, real);
            }
        }
    }
    Ok(())
}

fn check_links(path: &Path, meta: &std::fs::Metadata) -> Result<(), Refusal> {
    if meta.is_file() && meta.nlink() > 1 {
        return Err(format!(
            "{} has {} hard links: another name for it may lie in a writable directory, through which a command could change it. Remove the extra links (find / -xdev -samefile {})",
            path.display(),
            meta.nlink(),
            path.display()
        ));
    }
    Ok(())
}

fn is_leftover_mask(path: &Path, meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_dir()
        && meta.permissions().mode() & 0o7777 == 0
        && std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none())
}

fn push_unique(out: &mut Vec<PathBuf>, p: PathBuf) {
    if !out.contains(&p) {
        out.push(p);
    }
}

/// `.git` entries of repositories nested under `root` (not `root/.git` itself): a bounded
/// breadth-first scan, plus the submodule paths `.gitmodules` names at any depth.
fn nested_repositories(root: &Path, notes: &mut Vec<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut queue: VecDeque<(PathBuf, usize)> = VecDeque::from([(root.to_path_buf(), 0)]);
    let mut visited = 0usize;
    while let Some((dir, depth)) = queue.pop_front() {
        visited += 1;
        if visited > NESTED_BUDGET {
            notes.push(format!(
                "only the first {NESTED_BUDGET} directories under {} were searched for nested repositories; a `.git` deeper in a large tree is not kept read-only",
                root.display()
            ));
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Ok(ft) = entry.file_type() else { continue };
            if name == ".git" {
                if depth > 0 {
                    out.push(entry.path());
                }
                continue;
            }
            if ft.is_dir() && depth < NESTED_DEPTH {
                queue.push_back((entry.path(), depth + 1));
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(root.join(".gitmodules")) {
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("path") {
                if let Some(p) = rest.trim_start().strip_prefix('=') {
                    let rel = Path::new(p.trim());
                    if rel.is_relative() && !rel.components().any(|c| c.as_os_str() == "..") {
                        let git = root.join(rel).join(".git");
                        if std::fs::symlink_metadata(&git).is_ok() && !out.contains(&git) {
                            out.push(git);
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Mode;

    fn policy(roots: &[&Path]) -> SandboxPolicy {
        SandboxPolicy::new(
            Mode::WorkspaceWrite,
            roots.iter().map(|p| p.to_path_buf()).collect(),
            false,
        )
    }

    #[test]
    fn roots_protected_masks_and_nesting() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let ws = base.join("ws");
        std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
        std::fs::create_dir_all(ws.join("vendor/lib/.git")).unwrap();
        std::fs::create_dir_all(base.join("other/.git")).unwrap();
        let p = plan(&policy(&[&ws, &base, Path::new("/nonexistent-root")])).unwrap();
        assert_eq!(p.roots, vec![base.clone()]);
        assert!(p.protected.contains(&ws.join(".git")), "{p:?}");
        assert!(p.protected.contains(&ws.join("vendor/lib/.git")), "{p:?}");
        // A repository under a writable temp-like root.
        assert!(p.protected.contains(&base.join("other/.git")), "{p:?}");
        assert!(p.masks.contains(&ws.join(".wright")));
        assert!(p.masks.contains(&ws.join(".codex")));
        assert!(p.masks.contains(&base.join(".git")));
        assert!(!p.masks.contains(&ws.join(".git")));
    }

    #[test]
    fn gitfile_targets_and_worktree_commondir_are_protected() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let main = base.join("main");
        let wt = base.join("wt");
        std::fs::create_dir_all(main.join(".git/worktrees/wt")).unwrap();
        std::fs::write(main.join(".git/worktrees/wt/commondir"), "../..\n").unwrap();
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(
            wt.join(".git"),
            format!("gitdir: {}\n", main.join(".git/worktrees/wt").display()),
        )
        .unwrap();
        // Only the worktree is a root; its gitdir lives in another root (a temp dir).
        let p = plan(&policy(&[&wt, &main])).unwrap();
        assert!(p.protected.contains(&wt.join(".git")), "{p:?}");
        assert!(p.protected.contains(&main.join(".git")), "{p:?}");
    }

    #[test]
    fn extra_protected_paths_inside_roots() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(base.join("home")).unwrap();
        std::fs::write(base.join("bin"), "x").unwrap();
        let mut p = policy(&[&base]);
        p.protected = vec![
            base.join("home"),
            base.join("bin"),
            "/etc".into(),
            base.join("none"),
        ];
        let plan = plan(&p).unwrap();
        assert!(plan.protected.contains(&base.join("home")), "{plan:?}");
        assert!(plan.protected.contains(&base.join("bin")));
        // Outside the roots it is read-only anyway; missing ones are skipped.
        assert!(!plan.protected.iter().any(|x| x.starts_with("/etc")));
        assert!(!plan.protected.contains(&base.join("none")));
    }

    #[test]
    fn a_leftover_mask_is_a_mask_again() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(base.join(".git")).unwrap();
        std::fs::set_permissions(base.join(".git"), std::fs::Permissions::from_mode(0o0)).unwrap();
        let p = plan(&policy(&[&base])).unwrap();
        assert!(p.masks.contains(&base.join(".git")), "{p:?}");
        // The user's own empty .git (ordinary mode) is protected, not removed.
        std::fs::set_permissions(base.join(".git"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let p = plan(&policy(&[&base])).unwrap();
        assert!(p.protected.contains(&base.join(".git")), "{p:?}");
    }

    #[test]
    fn symlinked_metadata_and_hard_links_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(base.join("real")).unwrap();
        std::os::unix::fs::symlink(base.join("real"), base.join(".git")).unwrap();
        let err = plan(&policy(&[&base])).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");

        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(base.join(".git")).unwrap();
        std::fs::write(base.join(".git/config"), "[core]\n").unwrap();
        assert!(plan(&policy(&[&base])).is_ok());
        std::fs::hard_link(base.join(".git/config"), base.join("planted")).unwrap();
        let err = plan(&policy(&[&base])).unwrap_err();
        assert!(err.contains("hard links"), "{err}");
    }
}
