//! Which folders are scanned for skills, in precedence order.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::discover::DiscoverOptions;
use crate::model::SkillScope;

/// A folder scanned for skills; `path` is canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Root {
    pub path: PathBuf,
    pub scope: SkillScope,
}

/// The existing skill roots, highest precedence first:
///
/// 1. repo: for each folder from the cwd up to the project root (nearest first), its
///    `.agents/skills`, `.codex/skills` and, with `include_claude`, `.claude/skills`;
/// 2. user: `$WRIGHT_HOME/skills`, `~/.agents/skills`, (`~/.claude/skills`), extra roots;
/// 3. system: `$WRIGHT_HOME/skills/.system` unless `[skills.bundled] enabled = false`;
/// 4. admin: `admin_root`.
///
/// The scope order is Codex's loader rank (repo, user, system, admin). A folder reachable
/// twice (a symlink, or a cwd inside `$HOME`) is scanned once; a user, system or admin root
/// keeps its own scope even when the cwd walk also passes it, as in Codex.
pub(crate) fn skill_roots(opts: &DiscoverOptions) -> Vec<Root> {
    let cwd = std::path::absolute(&opts.cwd).unwrap_or_else(|_| opts.cwd.clone());
    let project_root = find_project_root(&cwd, &opts.project_root_markers);
    let mut repo_dirs = vec![".agents", ".codex"];
    if opts.include_claude {
        repo_dirs.push(".claude");
    }

    let mut repo = Vec::new();
    for dir in cwd.ancestors() {
        for name in &repo_dirs {
            repo.push(dir.join(name).join("skills"));
        }
        if dir == project_root {
            break;
        }
    }

    let mut others = vec![(opts.wright_home.join("skills"), SkillScope::User)];
    if let Some(home) = &opts.home {
        others.push((home.join(".agents").join("skills"), SkillScope::User));
        if opts.include_claude {
            others.push((home.join(".claude").join("skills"), SkillScope::User));
        }
    }
    others.extend(
        opts.extra_roots
            .iter()
            .map(|root| (root.clone(), SkillScope::User)),
    );
    if opts.config.bundled_enabled() {
        let system = opts.wright_home.join("skills").join(".system");
        others.push((system, SkillScope::System));
    }
    if let Some(admin) = &opts.admin_root {
        others.push((admin.clone(), SkillScope::Admin));
    }

    let mut seen = HashSet::new();
    let others: Vec<Root> = others
        .into_iter()
        .filter_map(|(path, scope)| existing_dir(&path).map(|path| Root { path, scope }))
        .filter(|root| seen.insert(root.path.clone()))
        .collect();
    let mut roots: Vec<Root> = repo
        .iter()
        .filter_map(|path| existing_dir(path))
        .filter(|path| seen.insert(path.clone()))
        .map(|path| Root {
            path,
            scope: SkillScope::Repo,
        })
        .collect();
    roots.extend(others);
    roots
}

fn existing_dir(path: &Path) -> Option<PathBuf> {
    let canonical = fs::canonicalize(path).ok()?;
    canonical.is_dir().then_some(canonical)
}

/// The nearest ancestor of `cwd` (itself included) holding one of the markers (Codex's
/// default is `.git`); the cwd itself when none does or there are no markers.
fn find_project_root(cwd: &Path, markers: &[String]) -> PathBuf {
    cwd.ancestors()
        .find(|dir| markers.iter().any(|marker| dir.join(marker).exists()))
        .unwrap_or(cwd)
        .to_path_buf()
}
