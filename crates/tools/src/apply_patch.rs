//! `apply_patch`: Codex's file-editing envelope format.
//!
//! Applying a patch is split in two phases so that a patch that does not apply
//! changes nothing: [`plan_patch`] parses the patch and computes every new file
//! content in memory (reading, never writing), and [`PatchPlan::commit`] writes
//! the results, rolling back what it already wrote if a later write fails.

mod parse;
mod seek;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use parse::parse_patch;

/// A parsed patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub hunks: Vec<Hunk>,
}

/// One file operation of a patch. Paths are as written in the patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hunk {
    Add {
        path: PathBuf,
        contents: String,
    },
    Delete {
        path: PathBuf,
    },
    Update {
        path: PathBuf,
        move_to: Option<PathBuf>,
        chunks: Vec<UpdateChunk>,
    },
}

/// One `@@` section of an update: replace `old_lines` (found after `context`,
/// if any) with `new_lines`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateChunk {
    pub context: Option<String>,
    pub old_lines: Vec<String>,
    pub new_lines: Vec<String>,
    pub is_end_of_file: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Delete,
    Update,
}

#[derive(Debug, Clone)]
pub struct FileChange {
    /// Absolute (cwd joined); the source path for a move.
    pub path: PathBuf,
    pub kind: ChangeKind,
    /// Absolute destination of a move.
    pub move_path: Option<PathBuf>,
    /// The path as written in the patch (destination for a move), for the summary.
    pub display_path: String,
}

/// Errors are shown verbatim to the model, so they say exactly what went wrong
/// and where.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("invalid patch: {0}")]
    InvalidPatch(String),
    #[error("invalid hunk at line {line_number}, {message}")]
    InvalidHunk { message: String, line_number: usize },
    #[error("Failed to find context '{context}' in {} (hunk {hunk})", path.display())]
    ContextNotFound {
        path: PathBuf,
        hunk: usize,
        context: String,
    },
    #[error("Failed to find expected lines in {} (hunk {hunk} of that file):\n{expected}", path.display())]
    ExpectedLinesNotFound {
        path: PathBuf,
        hunk: usize,
        expected: String,
    },
    #[error("Conflicting changes to {}: the patch changes this file in more than one hunk in incompatible ways; combine them into one hunk", path.display())]
    Conflict { path: PathBuf },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} changed on disk after the patch was verified; no files were modified", path.display())]
    ChangedOnDisk { path: PathBuf },
    #[error("{error}; rolling back also failed, these files may be left modified: {}", failures.join("; "))]
    RollbackFailed {
        error: Box<PatchError>,
        failures: Vec<String>,
    },
}

impl PatchError {
    fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        PatchError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What was at a path before the patch touched it; used both to detect
/// concurrent modification and to roll back.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileState {
    Missing,
    File { bytes: Vec<u8>, perms: Permissions },
    Symlink { target: PathBuf },
}

#[derive(Debug)]
struct PlannedWrite {
    /// Where the bytes go: the patch path with a symlink resolved, so that editing
    /// through a link edits the linked file instead of replacing the link.
    target: PathBuf,
    contents: String,
    perms: Option<Permissions>,
    before: FileState,
}

#[derive(Debug)]
struct Removal {
    path: PathBuf,
    before: FileState,
}

#[derive(Debug)]
struct PlannedChange {
    change: FileChange,
    write: Option<PlannedWrite>,
    removal: Option<Removal>,
}

/// A verified patch: every new file content computed in memory, nothing written yet.
#[derive(Debug)]
pub struct PatchPlan {
    entries: Vec<PlannedChange>,
    changes: Vec<FileChange>,
    summary: String,
}

impl PatchPlan {
    /// Changes sorted by absolute `path` (this is the order the exec `file_change` item lists them).
    pub fn changes(&self) -> &[FileChange] {
        &self.changes
    }

    /// Each change with the file's text before and after the patch (`None` where the file is
    /// absent), for diffs. A move pairs the source's old text with the destination's new one.
    pub fn contents(&self) -> Vec<(FileChange, Option<String>, Option<String>)> {
        let text = |state: &FileState| match state {
            FileState::File { bytes, .. } => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        };
        self.entries
            .iter()
            .map(|e| {
                let before = e
                    .removal
                    .as_ref()
                    .map(|r| &r.before)
                    .or(e.write.as_ref().map(|w| &w.before))
                    .and_then(text);
                let after = e.write.as_ref().map(|w| w.contents.clone());
                (e.change.clone(), before, after)
            })
            .collect()
    }

    /// Writes everything. Each new content goes to a temp file in the target's
    /// directory and is renamed into place; if any step fails, the files already
    /// changed are restored and the error is returned. Returns the summary text.
    pub fn commit(self) -> Result<String, PatchError> {
        let mut journal = Vec::new();
        for entry in self.entries {
            if let Err(error) = commit_entry(entry, &mut journal) {
                let failures = roll_back(journal);
                return Err(if failures.is_empty() {
                    error
                } else {
                    PatchError::RollbackFailed {
                        error: Box::new(error),
                        failures,
                    }
                });
            }
        }
        Ok(self.summary)
    }
}

/// Parse + verify against the filesystem (reads files, never writes).
pub fn plan_patch(text: &str, cwd: &Path) -> Result<PatchPlan, PatchError> {
    plan_patch_with(text, cwd, &HashMap::new())
}

/// [`plan_patch`], taking the current text of the files in `supplied` from there instead of
/// from disk (an editor's buffers, which may hold unsaved changes). Keys are the absolute paths
/// [`read_paths`] lists; a file the patch updates that is not in the map is read from disk.
/// Everything else (permissions, what is at a path that is added or moved to) still comes from
/// the filesystem.
pub fn plan_patch_with(
    text: &str,
    cwd: &Path,
    supplied: &HashMap<PathBuf, String>,
) -> Result<PatchPlan, PatchError> {
    let patch = parse_patch(text)?;
    plan_parsed(&patch, cwd, supplied)
}

/// The absolute paths (cwd joined, `.`/`..` removed, symlinks not resolved) of the files whose
/// current text planning `text` depends on: every file it updates, moves or deletes, each once,
/// in patch order. Files it adds are not listed.
pub fn read_paths(text: &str, cwd: &Path) -> Result<Vec<PathBuf>, PatchError> {
    let patch = parse_patch(text)?;
    let mut out: Vec<PathBuf> = Vec::new();
    for hunk in &patch.hunks {
        let path = match hunk {
            Hunk::Add { .. } => continue,
            Hunk::Delete { path } | Hunk::Update { path, .. } => absolute(cwd, path),
        };
        if !out.contains(&path) {
            out.push(path);
        }
    }
    Ok(out)
}

/// plan_patch + commit.
pub fn apply_patch(text: &str, cwd: &Path) -> Result<(Vec<FileChange>, String), PatchError> {
    let plan = plan_patch(text, cwd)?;
    let changes = plan.changes.clone();
    let summary = plan.commit()?;
    Ok((changes, summary))
}

fn plan_parsed(
    patch: &Patch,
    cwd: &Path,
    supplied: &HashMap<PathBuf, String>,
) -> Result<PatchPlan, PatchError> {
    let mut planned: Vec<PlannedChange> = Vec::new();
    // Every absolute path a hunk reads or writes, to the entry that owns it.
    let mut touched: HashMap<PathBuf, usize> = HashMap::new();

    for hunk in &patch.hunks {
        match hunk {
            Hunk::Add { path, contents } => {
                let abs = absolute(cwd, path);
                if touched.contains_key(&abs) {
                    return Err(PatchError::Conflict { path: abs });
                }
                let write = plan_write(&abs, contents.clone(), None)?;
                touched.insert(abs.clone(), planned.len());
                planned.push(PlannedChange {
                    change: FileChange {
                        path: abs,
                        kind: ChangeKind::Add,
                        move_path: None,
                        display_path: display(path),
                    },
                    write: Some(write),
                    removal: None,
                });
            }
            Hunk::Delete { path } => {
                let abs = absolute(cwd, path);
                if touched.contains_key(&abs) {
                    return Err(PatchError::Conflict { path: abs });
                }
                let before = match snapshot_entry(&abs) {
                    Ok(FileState::Missing) => Err(io::Error::from_raw_os_error(libc::ENOENT)),
                    other => other,
                }
                .map_err(|e| PatchError::io("Failed to delete file", &abs, e))?;
                touched.insert(abs.clone(), planned.len());
                planned.push(PlannedChange {
                    change: FileChange {
                        path: abs.clone(),
                        kind: ChangeKind::Delete,
                        move_path: None,
                        display_path: display(path),
                    },
                    write: None,
                    removal: Some(Removal { path: abs, before }),
                });
            }
            Hunk::Update {
                path,
                move_to,
                chunks,
            } => {
                let abs = absolute(cwd, path);
                let dest = move_to
                    .as_ref()
                    .map(|m| (absolute(cwd, m), m))
                    .filter(|(d, _)| *d != abs);

                if let Some(&index) = touched.get(&abs) {
                    // A second edit of a file this patch already adds or edits in
                    // place is applied on top of the first; anything else (editing a
                    // deleted file, a move source or destination) is ambiguous.
                    let entry = &mut planned[index];
                    let mergeable = dest.is_none()
                        && entry.change.path == abs
                        && entry.change.move_path.is_none()
                        && entry.change.kind != ChangeKind::Delete;
                    match entry.write.as_mut() {
                        Some(write) if mergeable => {
                            write.contents = apply_chunks(&write.contents, chunks, &abs)?;
                            continue;
                        }
                        _ => return Err(PatchError::Conflict { path: abs }),
                    }
                }
                if let Some((dest_abs, _)) = &dest {
                    if touched.contains_key(dest_abs) {
                        return Err(PatchError::Conflict {
                            path: dest_abs.clone(),
                        });
                    }
                }

                let source = resolve_symlink(&abs);
                let read_err = |e| PatchError::io("Failed to read file to update", &abs, e);
                let original = match supplied.get(&abs) {
                    Some(text) => text.clone(),
                    None => fs::read_to_string(&source).map_err(read_err)?,
                };
                let perms = fs::metadata(&source).map_err(read_err)?.permissions();
                let contents = apply_chunks(&original, chunks, &abs)?;

                let index = planned.len();
                touched.insert(abs.clone(), index);
                let entry = match dest {
                    None => PlannedChange {
                        change: FileChange {
                            path: abs.clone(),
                            kind: ChangeKind::Update,
                            move_path: None,
                            display_path: display(path),
                        },
                        write: Some(PlannedWrite {
                            target: source,
                            contents,
                            perms: Some(perms.clone()),
                            before: FileState::File {
                                bytes: original.into_bytes(),
                                perms,
                            },
                        }),
                        removal: None,
                    },
                    Some((dest_abs, dest_written)) => {
                        let write = plan_write(&dest_abs, contents, Some(perms))?;
                        let before = snapshot_entry(&abs).map_err(|e| {
                            PatchError::io("Failed to read file to update", &abs, e)
                        })?;
                        touched.insert(dest_abs.clone(), index);
                        PlannedChange {
                            change: FileChange {
                                path: abs.clone(),
                                kind: ChangeKind::Update,
                                move_path: Some(dest_abs),
                                display_path: display(dest_written),
                            },
                            write: Some(write),
                            removal: Some(Removal { path: abs, before }),
                        }
                    }
                };
                planned.push(entry);
            }
        }
    }

    let summary = summary(&planned);
    // Stable sort: entries are unique per path, so this is just the listing order.
    planned.sort_by(|a, b| a.change.path.cmp(&b.change.path));
    let changes = planned.iter().map(|p| p.change.clone()).collect();
    Ok(PatchPlan {
        entries: planned,
        changes,
        summary,
    })
}

/// Codex's summary: adds, then modifies, then deletes, each in patch order.
fn summary(planned: &[PlannedChange]) -> String {
    let mut out = String::from("Success. Updated the following files:\n");
    for (kind, letter) in [
        (ChangeKind::Add, 'A'),
        (ChangeKind::Update, 'M'),
        (ChangeKind::Delete, 'D'),
    ] {
        for p in planned.iter().filter(|p| p.change.kind == kind) {
            out.push(letter);
            out.push(' ');
            out.push_str(&p.change.display_path);
            out.push('\n');
        }
    }
    out
}

/// Verifies that `abs` can be (over)written and records what is there now.
fn plan_write(
    abs: &Path,
    contents: String,
    perms: Option<Permissions>,
) -> Result<PlannedWrite, PatchError> {
    let target = resolve_symlink(abs);
    let before = match fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => {
            return Err(PatchError::io(
                "Failed to write file",
                abs,
                io::Error::from_raw_os_error(libc::EISDIR),
            ))
        }
        Ok(meta) => FileState::File {
            bytes: fs::read(&target).map_err(|e| PatchError::io("Failed to read file", abs, e))?,
            perms: meta.permissions(),
        },
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            FileState::Missing
        }
        Err(e) => return Err(PatchError::io("Failed to write file", abs, e)),
    };
    // Catch "parent is a regular file" now rather than at commit time.
    if let Some(parent) = target.parent() {
        for ancestor in parent.ancestors() {
            match fs::metadata(ancestor) {
                Ok(meta) if meta.is_dir() => break,
                Ok(_) => {
                    return Err(PatchError::io(
                        "Failed to write file",
                        abs,
                        io::Error::new(
                            io::ErrorKind::NotADirectory,
                            format!("{} exists and is not a directory", ancestor.display()),
                        ),
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(_) => break,
            }
        }
    }
    // Overwriting an existing file keeps its mode, like a plain write would.
    let perms = match (&before, perms) {
        (_, Some(p)) => Some(p),
        (FileState::File { perms, .. }, None) => Some(perms.clone()),
        _ => None,
    };
    Ok(PlannedWrite {
        target,
        contents,
        perms,
        before,
    })
}

/// Applies the chunks of one update hunk to `contents`.
fn apply_chunks(contents: &str, chunks: &[UpdateChunk], path: &Path) -> Result<String, PatchError> {
    // Keep CRLF files CRLF; the patch text itself never carries '\r'.
    let newline_count = contents.matches('\n').count();
    let eol = if newline_count > 0 && contents.matches("\r\n").count() == newline_count {
        "\r\n"
    } else {
        "\n"
    };
    let mut lines: Vec<String> = contents.split(eol).map(str::to_string).collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }

    let mut replacements: Vec<(usize, usize, Vec<String>)> = Vec::new();
    let mut line_index = 0usize;
    for (n, chunk) in chunks.iter().enumerate() {
        let hunk = n + 1;
        if let Some(context) = &chunk.context {
            match seek::seek_context(&lines, context, line_index) {
                Some(i) => line_index = i + 1,
                None => {
                    return Err(PatchError::ContextNotFound {
                        path: path.to_path_buf(),
                        hunk,
                        context: context.clone(),
                    })
                }
            }
        }

        if chunk.old_lines.is_empty() {
            if chunk.new_lines.is_empty() {
                continue;
            }
            // Pure insertion: right after the anchor if there is one, else at the end.
            let at = if chunk.context.is_some() && !chunk.is_end_of_file {
                line_index
            } else {
                lines.len()
            };
            replacements.push((at, 0, chunk.new_lines.clone()));
            line_index = at;
            continue;
        }

        let mut old: &[String] = &chunk.old_lines;
        let mut new: &[String] = &chunk.new_lines;
        let found = loop {
            let hit =
                seek::seek_sequence(&lines, old, line_index, chunk.is_end_of_file).or_else(|| {
                    // A misplaced End of File marker should not sink an otherwise
                    // matching chunk.
                    chunk
                        .is_end_of_file
                        .then(|| seek::seek_sequence(&lines, old, line_index, false))
                        .flatten()
                });
            if hit.is_some() {
                break hit;
            }
            // Trailing empty lines usually stand for the file's final newline (or
            // are blank lines the model left before the next header).
            match old.split_last() {
                Some((last, rest)) if last.is_empty() && !rest.is_empty() => {
                    old = rest;
                    if let Some((new_last, new_rest)) = new.split_last() {
                        if new_last.is_empty() {
                            new = new_rest;
                        }
                    }
                }
                _ => break None,
            }
        };
        let Some(start) = found else {
            return Err(PatchError::ExpectedLinesNotFound {
                path: path.to_path_buf(),
                hunk,
                expected: chunk.old_lines.join("\n"),
            });
        };
        replacements.push((start, old.len(), new.to_vec()));
        line_index = start + old.len();
    }

    // Chunks are matched moving forward, so replacements are already ordered;
    // apply back to front so earlier indices stay valid.
    for (start, len, new) in replacements.into_iter().rev() {
        lines.splice(start..start + len, new);
    }
    let mut out = lines.join(eol);
    if !lines.is_empty() {
        out.push_str(eol);
    }
    Ok(out)
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Joins `path` onto `cwd` and removes `.`/`..` lexically so the same file is
/// recognised however the patch spells it.
fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in cwd.join(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

fn resolve_symlink(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// The state of the directory entry itself (a symlink is recorded as a link).
fn snapshot_entry(path: &Path) -> io::Result<FileState> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Ok(FileState::Symlink {
            target: fs::read_link(path)?,
        }),
        Ok(meta) if meta.is_dir() => Err(io::Error::from_raw_os_error(libc::EISDIR)),
        Ok(meta) => Ok(FileState::File {
            bytes: fs::read(path)?,
            perms: meta.permissions(),
        }),
        // A path below a regular file cannot exist either.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(FileState::Missing)
        }
        Err(e) => Err(e),
    }
}

enum JournalEntry {
    CreatedDir(PathBuf),
    Restore(PathBuf, FileState),
}

fn commit_entry(entry: PlannedChange, journal: &mut Vec<JournalEntry>) -> Result<(), PatchError> {
    let dest_display = entry
        .change
        .move_path
        .clone()
        .unwrap_or_else(|| entry.change.path.clone());
    if let Some(write) = entry.write {
        ensure_unchanged(&write.target, &write.before)?;
        if let Some(parent) = write.target.parent() {
            create_dirs(parent, journal).map_err(|e| {
                PatchError::io("Failed to create parent directories for", &dest_display, e)
            })?;
        }
        write_atomic(
            &write.target,
            write.contents.as_bytes(),
            write.perms.as_ref(),
        )
        .map_err(|e| PatchError::io("Failed to write file", &dest_display, e))?;
        journal.push(JournalEntry::Restore(write.target, write.before));
    }
    if let Some(removal) = entry.removal {
        ensure_unchanged(&removal.path, &removal.before)?;
        fs::remove_file(&removal.path)
            .map_err(|e| PatchError::io("Failed to delete file", &removal.path, e))?;
        journal.push(JournalEntry::Restore(removal.path, removal.before));
    }
    Ok(())
}

/// Refuses to clobber a file that changed since planning; rolling back would
/// otherwise restore stale contents over someone else's edit.
fn ensure_unchanged(path: &Path, before: &FileState) -> Result<(), PatchError> {
    let now = match before {
        FileState::Symlink { .. } => snapshot_entry(path),
        _ => snapshot_entry(&resolve_symlink(path)),
    };
    match now {
        Ok(now) if now == *before => Ok(()),
        _ => Err(PatchError::ChangedOnDisk {
            path: path.to_path_buf(),
        }),
    }
}

/// Like `create_dir_all`, but journals each directory it creates so rollback
/// can remove exactly those.
fn create_dirs(dir: &Path, journal: &mut Vec<JournalEntry>) -> io::Result<()> {
    let mut missing = Vec::new();
    for ancestor in dir.ancestors() {
        if ancestor.as_os_str().is_empty() || fs::metadata(ancestor).is_ok() {
            break;
        }
        missing.push(ancestor);
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => journal.push(JournalEntry::CreatedDir(d.to_path_buf())),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Undoes the journal back to front; returns a description of each step that failed.
fn roll_back(journal: Vec<JournalEntry>) -> Vec<String> {
    let mut failures = Vec::new();
    for entry in journal.into_iter().rev() {
        match entry {
            JournalEntry::CreatedDir(dir) => {
                // Failure means something else put files there; leave them be.
                let _ = fs::remove_dir(&dir);
            }
            JournalEntry::Restore(path, state) => {
                if let Err(e) = restore(&path, &state) {
                    failures.push(format!("{}: {e}", path.display()));
                }
            }
        }
    }
    failures
}

fn restore(path: &Path, state: &FileState) -> io::Result<()> {
    match state {
        FileState::Missing => remove_if_exists(path),
        FileState::File { bytes, perms } => write_atomic(path, bytes, Some(perms)),
        FileState::Symlink { target } => {
            remove_if_exists(path)?;
            make_symlink(target, path)
        }
    }
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(unix)]
fn make_symlink(target: &Path, path: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn make_symlink(_target: &Path, _path: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "cannot recreate symlinks on this platform",
    ))
}

/// Writes `bytes` to a fresh temp file next to `path` and renames it over
/// `path`, so readers never observe a half-written file.
fn write_atomic(path: &Path, bytes: &[u8], perms: Option<&Permissions>) -> io::Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?
        .to_string_lossy();
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.wright-tmp-{}-{n}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        file.write_all(bytes)?;
        if let Some(perms) = perms {
            file.set_permissions(perms.clone())?;
        }
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
