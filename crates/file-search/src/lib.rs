//! Fuzzy file search: walk one or more roots in parallel, honouring `.gitignore` (inside git
//! repositories), `.ignore` and git's exclude files, and rank every file and directory path
//! (relative to its root) against a query with nucleo's path-aware fuzzy matcher.
//!
//! Only the best `limit` matches are kept while walking (one bounded heap per walker thread,
//! merged at the end), so memory does not grow with the tree; match indices are computed for
//! the survivors only. The walk stops early when the caller's cancel flag is raised.
//!
//! Choices, after Codex's `codex-file-search`: hidden files are searched; `.gitignore` applies
//! only inside a git repository (`require_git`); the query uses fzf syntax (`^`, `$`, `!`,
//! `'`), case-insensitively. Unlike Codex, `.git` directories are never searched (their
//! contents are never what a file picker wants) and symbolic links are listed but not followed
//! (following them can leave the root or loop through a large tree).

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BinaryHeap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

/// Codex's `fuzzyFileSearch` answers with at most this many matches.
pub const DEFAULT_LIMIT: usize = 50;
/// Codex walks with at most this many threads.
const MAX_THREADS: usize = 12;
/// A walk stops after this many entries (a root like `/` or `$HOME` must not run forever).
pub const DEFAULT_MAX_ENTRIES: usize = 2_000_000;

/// How to search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Most matches returned.
    pub limit: usize,
    /// Walker threads.
    pub threads: usize,
    /// Entries visited (over all roots) before the walk stops; see [`SearchResults::truncated`].
    pub max_entries: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            limit: DEFAULT_LIMIT,
            threads: cores.clamp(1, MAX_THREADS),
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

/// Whether a match is a file (or anything that is not a directory) or a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    File,
    Directory,
}

/// One ranked path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMatch {
    /// Index into the `roots` searched.
    pub root: usize,
    /// Path relative to the root, `/`-separated as on disk.
    pub path: String,
    pub kind: MatchKind,
    /// nucleo's score: higher is better.
    pub score: u32,
    /// Positions (in characters of `path`) the query matched, ascending and unique.
    pub indices: Vec<u32>,
}

impl FileMatch {
    /// The last component of [`FileMatch::path`].
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// The outcome of a completed search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResults {
    /// Best first (score descending, then path ascending).
    pub matches: Vec<FileMatch>,
    /// How many paths matched at all.
    pub total_matches: usize,
    /// Entries looked at.
    pub visited: usize,
    /// Whether the walk stopped at [`SearchOptions::max_entries`] before seeing everything.
    pub truncated: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SearchError {
    /// The cancel flag was raised before the search finished.
    #[error("the search was cancelled")]
    Cancelled,
}

/// Searches `roots` for `query`. An empty (or all-blank) query matches nothing.
///
/// Blocks for the whole walk: call it from a blocking context.
pub fn search(
    query: &str,
    roots: &[PathBuf],
    options: &SearchOptions,
    cancel: &AtomicBool,
) -> Result<SearchResults, SearchError> {
    let pattern = Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart);
    let limit = options.limit;
    if pattern.atoms.is_empty() || roots.is_empty() || limit == 0 {
        return Ok(SearchResults {
            matches: Vec::new(),
            total_matches: 0,
            visited: 0,
            truncated: false,
        });
    }
    let shared = Shared {
        pattern,
        limit,
        cancel,
        max_entries: options.max_entries,
        visited: AtomicUsize::new(0),
        truncated: AtomicBool::new(false),
        best: Mutex::new(TopK::new(limit)),
        total: AtomicUsize::new(0),
    };
    for (root_index, root) in roots.iter().enumerate() {
        let mut builder = WalkBuilder::new(root);
        builder
            .threads(options.threads.max(1))
            .hidden(false)
            .follow_links(false)
            .require_git(true)
            // `.git` holds git's internals; ignore files cannot exclude it since hidden
            // entries are searched.
            .filter_entry(|e| !(e.depth() > 0 && e.file_name() == ".git" && is_dir(e)));
        let mut visitors = VisitorBuilder {
            shared: &shared,
            root_index,
            root,
        };
        builder.build_parallel().visit(&mut visitors);
        if cancel.load(Ordering::Relaxed) {
            return Err(SearchError::Cancelled);
        }
        if shared.truncated.load(Ordering::Relaxed) {
            break;
        }
    }
    let Shared {
        pattern,
        best,
        visited,
        truncated,
        total,
        ..
    } = shared;
    let best = best.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut ranked = best.into_sorted();
    // The same path reached through two nested roots is listed once.
    let mut seen = HashSet::new();
    ranked.retain(|c| seen.insert(roots[c.root].join(&c.path)));
    let mut matcher = Matcher::new(matcher_config());
    let mut buf = Vec::new();
    let matches = ranked
        .into_iter()
        .map(|c| {
            let mut indices = Vec::new();
            pattern.indices(Utf32Str::new(&c.path, &mut buf), &mut matcher, &mut indices);
            indices.sort_unstable();
            indices.dedup();
            let kind = if c.is_dir || (c.is_symlink && roots[c.root].join(&c.path).is_dir()) {
                MatchKind::Directory
            } else {
                MatchKind::File
            };
            FileMatch {
                root: c.root,
                path: c.path,
                kind,
                score: c.score,
                indices,
            }
        })
        .collect();
    Ok(SearchResults {
        matches,
        total_matches: total.into_inner(),
        visited: visited.into_inner(),
        truncated: truncated.into_inner(),
    })
}

fn matcher_config() -> Config {
    let mut config = Config::DEFAULT;
    // Bonus for matches at path-component starts; `/` is the separator.
    config.set_match_paths();
    config
}

fn is_dir(entry: &DirEntry) -> bool {
    entry.file_type().is_some_and(|t| t.is_dir())
}

/// What every walker thread shares.
struct Shared<'a> {
    pattern: Pattern,
    limit: usize,
    cancel: &'a AtomicBool,
    max_entries: usize,
    visited: AtomicUsize,
    truncated: AtomicBool,
    /// The merged best matches of the walker threads that have finished.
    best: Mutex<TopK>,
    total: AtomicUsize,
}

struct VisitorBuilder<'a, 's> {
    shared: &'s Shared<'a>,
    root_index: usize,
    root: &'s Path,
}

impl<'s> ParallelVisitorBuilder<'s> for VisitorBuilder<'_, 's> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Visitor {
            shared: self.shared,
            root_index: self.root_index,
            root: self.root,
            matcher: Matcher::new(matcher_config()),
            buf: Vec::new(),
            best: TopK::new(self.shared.limit),
            matched: 0,
        })
    }
}

/// One walker thread's state: its own matcher and heap, merged into [`Shared`] on drop.
struct Visitor<'a, 's> {
    shared: &'s Shared<'a>,
    root_index: usize,
    root: &'s Path,
    matcher: Matcher,
    buf: Vec<char>,
    best: TopK,
    matched: usize,
}

impl ParallelVisitor for Visitor<'_, '_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        if self.shared.cancel.load(Ordering::Relaxed) {
            return WalkState::Quit;
        }
        if self.shared.visited.fetch_add(1, Ordering::Relaxed) >= self.shared.max_entries {
            self.shared.truncated.store(true, Ordering::Relaxed);
            return WalkState::Quit;
        }
        // Unreadable directories and the like: skip, keep walking.
        let Ok(entry) = entry else {
            return WalkState::Continue;
        };
        if entry.depth() == 0 {
            return WalkState::Continue;
        }
        let Ok(relative) = entry.path().strip_prefix(self.root) else {
            return WalkState::Continue;
        };
        // A path that is not UTF-8 cannot be sent as a JSON string faithfully.
        let Some(relative) = relative.to_str() else {
            return WalkState::Continue;
        };
        let haystack = Utf32Str::new(relative, &mut self.buf);
        if let Some(score) = self.shared.pattern.score(haystack, &mut self.matcher) {
            self.matched += 1;
            if self.best.admits(score, relative) {
                self.best.push(Candidate {
                    score,
                    path: relative.to_string(),
                    root: self.root_index,
                    is_dir: is_dir(&entry),
                    is_symlink: entry.path_is_symlink(),
                });
            }
        }
        WalkState::Continue
    }
}

impl Drop for Visitor<'_, '_> {
    fn drop(&mut self) {
        self.shared.total.fetch_add(self.matched, Ordering::Relaxed);
        let mine = std::mem::replace(&mut self.best, TopK::new(0));
        let mut best = self.shared.best.lock().unwrap_or_else(|p| p.into_inner());
        for c in mine.heap.into_iter().map(|Reverse(c)| c) {
            if best.admits(c.score, &c.path) {
                best.push(c);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    score: u32,
    path: String,
    root: usize,
    is_dir: bool,
    is_symlink: bool,
}

impl Candidate {
    /// Better first: higher score, then the smaller path, then the earlier root.
    fn better(&self, other: &Self) -> CmpOrdering {
        other
            .score
            .cmp(&self.score)
            .then_with(|| self.path.cmp(&other.path))
            .then_with(|| self.root.cmp(&other.root))
    }
}

impl Ord for Candidate {
    /// Greater is better, so a `BinaryHeap<Reverse<_>>` has the worst on top.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other.better(self)
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

/// The best `limit` candidates seen, worst on top of the heap.
struct TopK {
    limit: usize,
    heap: BinaryHeap<Reverse<Candidate>>,
}

impl TopK {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            heap: BinaryHeap::with_capacity(limit.min(1024) + 1),
        }
    }

    /// Whether a candidate with this score and path would be kept (checked before the path is
    /// copied, so the common reject allocates nothing).
    fn admits(&self, score: u32, path: &str) -> bool {
        if self.heap.len() < self.limit {
            return true;
        }
        match self.heap.peek() {
            Some(Reverse(worst)) => {
                score > worst.score || (score == worst.score && path < worst.path.as_str())
            }
            None => false,
        }
    }

    fn push(&mut self, candidate: Candidate) {
        self.heap.push(Reverse(candidate));
        if self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    /// Best first.
    fn into_sorted(self) -> Vec<Candidate> {
        let mut all: Vec<Candidate> = self.heap.into_iter().map(|Reverse(c)| c).collect();
        all.sort_by(|a, b| a.better(b));
        all
    }
}

#[cfg(test)]
mod tests;
