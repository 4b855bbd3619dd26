//! Finding skills on disk: [`discover`] and its cheap change detector [`fingerprint`].

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::front_matter::read_front_matter;
use crate::model::{Skill, SkillError, SkillScope, SkillsConfig};
use crate::roots::{skill_roots, Root};

/// Codex's limits on the front matter fields, in characters (after whitespace is collapsed).
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// How deep below a root skill folders are looked for (Codex: 6; the root is depth 0).
pub const MAX_SCAN_DEPTH: usize = 6;
/// How many folders one root may cost before its scan stops (Codex: 2000).
pub const MAX_DIRS_PER_ROOT: usize = 2000;

const SKILL_FILE: &str = "SKILL.md";

/// Where to look for skills and how to switch them on or off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverOptions {
    /// User skills live in `$WRIGHT_HOME/skills`, system skills in `$WRIGHT_HOME/skills/.system`.
    pub wright_home: PathBuf,
    /// Repo skills are looked for here and in each parent up to the project root.
    pub cwd: PathBuf,
    /// The user's home, for `~/.agents/skills` (and `~/.claude/skills`); `None` skips them.
    pub home: Option<PathBuf>,
    /// Also read Claude Code's folders: `.claude/skills` wherever `.agents/skills` is looked
    /// for, and `~/.claude/skills`. The `SKILL.md` format is the same.
    pub include_claude: bool,
    /// More user-scope roots (`skills/extraRoots/set`), lowest user precedence.
    pub extra_roots: Vec<PathBuf>,
    /// Machine-wide skills (admin scope), e.g. `/etc/wright/skills`; `None` skips them.
    pub admin_root: Option<PathBuf>,
    /// Names whose presence marks the project root that ends the walk up from the cwd
    /// (Codex's `project_root_markers`, default `[".git"]`). Empty: only the cwd is looked at.
    pub project_root_markers: Vec<String>,
    /// The `[skills]` config table: `bundled.enabled` and the `[[skills.config]]` switches.
    pub config: SkillsConfig,
}

impl DiscoverOptions {
    /// Options with the usual defaults: home from `$HOME`, `/etc/wright/skills` as the admin
    /// root on Unix, `.git` as the project marker, no Claude folders, no extra roots.
    pub fn new(wright_home: PathBuf, cwd: PathBuf) -> Self {
        Self {
            wright_home,
            cwd,
            home: std::env::var_os("HOME").map(PathBuf::from),
            include_claude: false,
            extra_roots: Vec::new(),
            admin_root: cfg!(unix).then(|| PathBuf::from("/etc/wright/skills")),
            project_root_markers: vec![".git".to_string()],
            config: SkillsConfig::default(),
        }
    }
}

/// What [`discover`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// One skill per name, sorted by scope (repo, user, system, admin), then name, then path.
    pub skills: Vec<Skill>,
    /// Files that could not be loaded, sorted by path. Errors in system skills are not
    /// reported (wright writes those itself), as in Codex.
    pub errors: Vec<SkillError>,
}

/// Scans every skill root (see [`DiscoverOptions`]) for folders holding a `SKILL.md`.
///
/// Below each root, folders are searched breadth-first up to [`MAX_SCAN_DEPTH`] levels and
/// [`MAX_DIRS_PER_ROOT`] folders, skipping names starting with `.`; a folder with a
/// `SKILL.md` is still searched (skills may nest). Symlinked folders are followed, except in
/// the system root, and each real folder is visited once, so links cannot loop. Only the
/// front matter of each `SKILL.md` is read.
///
/// Skills are deduplicated by name: the first found wins, roots taken in precedence order
/// (repo nearest the cwd first, then user, system, admin; see `roots.rs`) and, within a
/// root, by path. A problem file is reported in [`Discovery::errors`] and never stops the rest.
pub fn discover(opts: &DiscoverOptions) -> Discovery {
    let mut errors = Vec::new();
    let mut skills: Vec<Skill> = Vec::new();
    let mut seen_paths: HashSet<PathBuf> = HashSet::new();
    let mut seen_names: HashSet<String> = HashSet::new();
    for root in skill_roots(opts) {
        let mut found = Vec::new();
        walk(&root, &mut |path| found.push(path), &mut errors);
        // read_dir order depends on the filesystem: sort so duplicates resolve the same way.
        found.sort_unstable();
        for path in found {
            if !seen_paths.insert(path.clone()) {
                continue;
            }
            match load_skill(&path, root.scope) {
                Ok(skill) if seen_names.contains(&skill.name) => {
                    tracing::debug!(name = %skill.name, path = %path.display(), "skill shadowed by an earlier one with the same name");
                }
                Ok(skill) => {
                    seen_names.insert(skill.name.clone());
                    skills.push(skill);
                }
                Err(message) if root.scope != SkillScope::System => {
                    errors.push(SkillError { path, message });
                }
                Err(message) => {
                    tracing::warn!(path = %path.display(), "system skill not loaded: {message}");
                }
            }
        }
    }
    apply_config(&mut skills, &opts.config);
    skills.sort_by(|a, b| {
        scope_rank(a.scope)
            .cmp(&scope_rank(b.scope))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.path.cmp(&b.path))
    });
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Discovery { skills, errors }
}

/// A hash of what [`discover`] would read: the options, the roots, and the path, size and
/// modification time of every `SKILL.md` under them. It walks the same folders but opens no
/// file, so a caller can poll it and re-discover only when it changes. Values are only
/// comparable within one build of wright.
pub fn fingerprint(opts: &DiscoverOptions) -> u64 {
    let mut hasher = DefaultHasher::new();
    opts.include_claude.hash(&mut hasher);
    opts.config.hash(&mut hasher);
    let roots = skill_roots(opts);
    let mut files = 0u64;
    let mut combined = 0u64;
    let mut errors = Vec::new();
    for root in &roots {
        root.path.hash(&mut hasher);
        root.scope.hash(&mut hasher);
        walk(
            root,
            &mut |path| {
                let mut file_hasher = DefaultHasher::new();
                path.hash(&mut file_hasher);
                if let Ok(meta) = fs::metadata(&path) {
                    meta.len().hash(&mut file_hasher);
                    meta.modified().ok().hash(&mut file_hasher);
                }
                // Added up so the (filesystem-dependent) visiting order does not matter.
                combined = combined.wrapping_add(file_hasher.finish());
                files += 1;
            },
            &mut errors,
        );
    }
    files.hash(&mut hasher);
    combined.hash(&mut hasher);
    hasher.finish()
}

/// Codex's loader order: repo first, admin last (also the name-dedupe precedence).
fn scope_rank(scope: SkillScope) -> u8 {
    match scope {
        SkillScope::Repo => 0,
        SkillScope::User => 1,
        SkillScope::System => 2,
        SkillScope::Admin => 3,
    }
}

/// Calls `on_skill` with the path of every `SKILL.md` below `root`.
fn walk(root: &Root, on_skill: &mut dyn FnMut(PathBuf), errors: &mut Vec<SkillError>) {
    // wright writes the system skills itself and never links them.
    let follow_links = root.scope != SkillScope::System;
    // Paths here are canonical (the root is, children of a real folder are), so a set of
    // them recognises a folder reached again through a link.
    let mut visited: HashSet<PathBuf> = HashSet::from([root.path.clone()]);
    let mut queue: VecDeque<(PathBuf, usize)> = VecDeque::from([(root.path.clone(), 0)]);
    let mut truncated = false;
    while let Some((dir, depth)) = queue.pop_front() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(dir = %dir.display(), "cannot read skills folder: {error}");
                continue;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.as_encoded_bytes().starts_with(b".") {
                continue;
            }
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            let (is_dir, is_file, child) = if file_type.is_symlink() {
                if !follow_links {
                    continue;
                }
                let Ok(meta) = fs::metadata(&path) else {
                    continue;
                };
                let child = if meta.is_dir() {
                    fs::canonicalize(&path).ok()
                } else {
                    None
                };
                (meta.is_dir(), meta.is_file(), child)
            } else {
                (file_type.is_dir(), file_type.is_file(), None)
            };
            if is_file {
                if name == SKILL_FILE {
                    on_skill(path);
                }
                continue;
            }
            if !is_dir || depth + 1 > MAX_SCAN_DEPTH {
                continue;
            }
            if visited.len() >= MAX_DIRS_PER_ROOT {
                truncated = true;
                continue;
            }
            let child = child.unwrap_or(path);
            if visited.insert(child.clone()) {
                queue.push_back((child, depth + 1));
            }
        }
    }
    if truncated {
        tracing::warn!(root = %root.path.display(), "skills scan stopped at {MAX_DIRS_PER_ROOT} folders");
        errors.push(SkillError {
            path: root.path.clone(),
            message: format!(
                "skills scan stopped after {MAX_DIRS_PER_ROOT} folders; skills further down were not loaded"
            ),
        });
    }
}

/// Reads one `SKILL.md` into a [`Skill`] with Codex's rules: whitespace in each field is
/// collapsed to single spaces, a missing `name` falls back to the folder's name, and an
/// empty or missing `description` or an over-long field is an error.
fn load_skill(path: &Path, scope: SkillScope) -> Result<Skill, String> {
    let front = read_front_matter(path)?;
    let name = front
        .name
        .as_deref()
        .map(collapse_whitespace)
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| folder_name(path));
    let description = front
        .description
        .as_deref()
        .map(collapse_whitespace)
        .unwrap_or_default();
    let short_description = front
        .short_description
        .as_deref()
        .map(collapse_whitespace)
        .filter(|text| !text.is_empty());
    check_length(&name, MAX_NAME_CHARS, "name")?;
    check_length(&description, MAX_DESCRIPTION_CHARS, "description")?;
    if let Some(short) = &short_description {
        check_length(short, MAX_DESCRIPTION_CHARS, "metadata.short-description")?;
    }
    Ok(Skill {
        name,
        description,
        short_description,
        path: path.to_path_buf(),
        scope,
        enabled: true,
    })
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn folder_name(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .map(|name| collapse_whitespace(&name.to_string_lossy()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "skill".to_string())
}

fn check_length(value: &str, max: usize, field: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("missing field `{field}`"));
    }
    if value.chars().count() > max {
        return Err(format!(
            "invalid {field}: exceeds maximum length of {max} characters"
        ));
    }
    Ok(())
}

/// Applies `[[skills.config]]` in order, so the last entry selecting a skill decides.
fn apply_config(skills: &mut [Skill], config: &SkillsConfig) {
    for entry in &config.config {
        match (&entry.path, entry.name.as_deref().map(str::trim)) {
            (Some(path), None) => {
                let canonical = fs::canonicalize(path).ok();
                for skill in skills.iter_mut() {
                    if skill.path == *path || canonical.as_ref() == Some(&skill.path) {
                        skill.enabled = entry.enabled;
                    }
                }
            }
            (None, Some(name)) if !name.is_empty() => {
                for skill in skills.iter_mut().filter(|skill| skill.name == name) {
                    skill.enabled = entry.enabled;
                }
            }
            _ => tracing::warn!(
                ?entry,
                "ignoring [[skills.config]] entry: it needs exactly one of `path` or `name`"
            ),
        }
    }
}

#[cfg(test)]
#[path = "discover_tests.rs"]
mod tests;
