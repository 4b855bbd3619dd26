//! `fs/watch`, `fs/unwatch` and the `fs/changed` notifications (Codex's semantics).
//!
//! * The client names each watch (`watchId`); ids are per connection, and a connection's
//!   watches end with it.
//! * A watch is not recursive: a directory reports itself and its direct children; a file
//!   reports itself. A path that does not exist yet is watched through its nearest existing
//!   ancestor and reported once it appears; the OS watch moves as components come and go, so
//!   a file replaced by rename (editors' atomic saves) or deleted and recreated keeps being
//!   watched.
//! * Changes are batched per watch over [`DEBOUNCE`] and sent as one `fs/changed` with the
//!   sorted paths; past [`MAX_PENDING_PATHS`] distinct paths a batch collapses to the watched
//!   path alone ("something here changed, look again"), as does an overflow of the kernel's
//!   event queue. Once `fs/unwatch` has answered, no `fs/changed` for that watch follows.
//! * Unlike Codex (which answers `{}`), unwatching an id that is not watched is an error.
//!
//! One inotify instance (via `notify`) serves the whole server, started on the first watch;
//! OS watches are shared and reference-counted by path. Events go from notify's thread
//! through a bounded queue to a router thread that matches them against the watches, moves
//! OS watches and sends the batches when their window closes. Request handlers touch the
//! registry only from the blocking pool: nothing here blocks the async runtime.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use notify::event::ModifyKind;
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use wright_protocol::v2::{
    FsChangedNotification, FsUnwatchParams, FsUnwatchResponse, FsWatchParams, FsWatchResponse,
    ServerNotification,
};

use crate::conn::ConnHandle;
use crate::rpc::RpcError;
use crate::state::State;

/// How long changes are gathered before one `fs/changed` goes out (Codex: 200 ms).
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(200);
/// Watches one connection may hold at once.
pub(crate) const MAX_WATCHES_PER_CONNECTION: usize = 256;
/// Distinct paths one batch lists before it collapses to the watched path.
pub(crate) const MAX_PENDING_PATHS: usize = 1024;
/// Longest `watchId` accepted (ids are kept in memory for the watch's life).
pub(crate) const MAX_WATCH_ID_BYTES: usize = 1024;
/// Events queued between notify's thread and the router before they are dropped (and every
/// watch told to look again).
const EVENT_QUEUE: usize = 4096;
/// Attempts to register an OS watch when the path changes under us meanwhile.
const RESOLVE_ATTEMPTS: usize = 3;

/// Where a watch's batches go.
type Sink = Box<dyn Fn(FsChangedNotification) + Send>;
/// (connection id, watch id).
type Key = (u64, String);

/// `fs/watch`.
pub(crate) async fn fs_watch(
    state: &Arc<State>,
    conn: &ConnHandle,
    params: FsWatchParams,
) -> Result<FsWatchResponse, RpcError> {
    if params.watch_id.len() > MAX_WATCH_ID_BYTES {
        return Err(RpcError::invalid_params(format!(
            "`watchId` is {} bytes, over the limit of {MAX_WATCH_ID_BYTES}",
            params.watch_id.len()
        )));
    }
    let target = absolute(&params.path)?;
    let sender = conn.clone();
    let sink: Sink = Box::new(move |note: FsChangedNotification| {
        sender.notify(&ServerNotification::FsChanged(note));
    });
    let watches = state.files.watches.clone();
    let conn_id = conn.id;
    let path = blocking(move || watches.add(conn_id, params.watch_id, target, sink)).await?;
    Ok(FsWatchResponse {
        path: path.display().to_string(),
    })
}

/// `fs/unwatch`. Once this answers, the watch sends nothing more.
pub(crate) async fn fs_unwatch(
    state: &Arc<State>,
    conn: &ConnHandle,
    params: FsUnwatchParams,
) -> Result<FsUnwatchResponse, RpcError> {
    let watches = state.files.watches.clone();
    let conn_id = conn.id;
    blocking(move || {
        watches.remove(conn_id, &params.watch_id);
        Ok(())
    })
    .await?;
    Ok(FsUnwatchResponse {})
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RpcError> + Send + 'static,
) -> Result<T, RpcError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(RpcError::internal(format!("fs/watch: {e}"))))
}

/// The path, made absolute-checked and lexically normalized (`.` dropped, `..` applied), as
/// Codex's `AbsolutePathBuf` does.
fn absolute(path: &str) -> Result<PathBuf, RpcError> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(RpcError::invalid_params(format!(
            "`path` must be an absolute path, got `{path}`"
        )));
    }
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Where the OS must watch for a target, and the form of the target events will carry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved {
    /// The target with its existing part canonicalized: what event paths are matched against.
    canon: PathBuf,
    /// The canonical directory the OS watches: the target itself when it is a directory,
    /// else the nearest existing directory above it.
    os_path: PathBuf,
    /// Whether the target exists.
    exists: bool,
}

fn resolve(target: &Path) -> Resolved {
    let mut existing = target;
    let mut missing = Vec::new();
    // A dangling symlink counts as missing (its name in the parent is still watched).
    while std::fs::metadata(existing).is_err() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let base = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    let mut canon = base.clone();
    for name in missing.iter().rev() {
        canon.push(name);
    }
    // For a missing target only its next component can appear in `base`; deeper ones are
    // picked up as the watch moves down.
    let os_path = if base.is_dir() {
        base
    } else {
        // An existing file (the target, or a file where a directory was expected).
        base.parent().map(Path::to_path_buf).unwrap_or(base)
    };
    Resolved {
        canon,
        os_path,
        exists: missing.is_empty(),
    }
}

/// All watches of the server (every connection). Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Watches {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    registry: Mutex<Registry>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Watch {
    sink: Sink,
    /// As requested (normalized): reported paths start with it.
    target: PathBuf,
    resolved: Resolved,
    /// Tells this watch from an earlier one with the same key in [`Registry::due`].
    generation: u64,
    pending: BTreeSet<PathBuf>,
    /// The batch collapsed to the target.
    overflowed: bool,
    /// A flush is queued in [`Registry::due`].
    scheduled: bool,
}

impl Watch {
    /// The path to report for an event path `e` (in canonical form), in the requested form.
    fn reported(&self, e: &Path) -> Option<PathBuf> {
        if e == self.resolved.canon {
            return Some(self.target.clone());
        }
        let is_dir_watch = self.resolved.os_path == self.resolved.canon;
        if is_dir_watch && e.parent() == Some(self.resolved.canon.as_path()) {
            return e.file_name().map(|n| self.target.join(n));
        }
        None
    }
}

#[derive(Default)]
struct Registry {
    /// Started on the first watch.
    backend: Option<RecommendedWatcher>,
    watches: HashMap<Key, Watch>,
    /// OS-watched directory → the watches using it (its reference count).
    os_paths: HashMap<PathBuf, Vec<Key>>,
    /// Batches waiting for their window to close, oldest first (the window is constant, so
    /// this is also deadline order).
    due: VecDeque<(Instant, Key, u64)>,
    next_generation: u64,
}

impl Watches {
    /// Registers a watch; returns the normalized target.
    fn add(
        &self,
        conn_id: u64,
        watch_id: String,
        target: PathBuf,
        sink: Sink,
    ) -> Result<PathBuf, RpcError> {
        let key = (conn_id, watch_id);
        let mut reg = self.shared.lock();
        if reg.watches.contains_key(&key) {
            return Err(RpcError::invalid_request(format!(
                "watchId already exists: {}",
                key.1
            )));
        }
        let held = reg.watches.keys().filter(|k| k.0 == conn_id).count();
        if held >= MAX_WATCHES_PER_CONNECTION {
            return Err(RpcError::invalid_request(format!(
                "this connection already has {held} watches, the most allowed: fs/unwatch one first"
            )));
        }
        if reg.backend.is_none() {
            reg.backend =
                Some(start_backend(Arc::downgrade(&self.shared)).map_err(|e| {
                    RpcError::internal(format!("cannot start a file watcher: {e}"))
                })?);
        }
        // The path can change between looking and watching: look again when it does.
        let mut last_error = None;
        for _ in 0..RESOLVE_ATTEMPTS {
            let resolved = resolve(&target);
            match reg.acquire(&resolved.os_path, &key) {
                Ok(()) => {
                    reg.next_generation += 1;
                    let generation = reg.next_generation;
                    reg.watches.insert(
                        key.clone(),
                        Watch {
                            sink,
                            target: target.clone(),
                            resolved,
                            generation,
                            pending: BTreeSet::new(),
                            overflowed: false,
                            scheduled: false,
                        },
                    );
                    // Anything created between resolving and watching was not seen.
                    reg.reresolve(&key, Instant::now());
                    return Ok(target);
                }
                Err(e) => last_error = Some(e),
            }
        }
        let e = last_error.map_or_else(String::new, |e| e.to_string());
        Err(RpcError::internal(format!(
            "cannot watch {}: {e}",
            target.display()
        )))
    }

    /// Whether the watch existed. As in Codex, unwatching an unknown id is not an error: the
    /// client's intent (no more `fs/changed` for it) holds either way.
    fn remove(&self, conn_id: u64, watch_id: &str) -> bool {
        let key = (conn_id, watch_id.to_string());
        self.shared.lock().drop_watch(&key)
    }

    /// Drops every watch of a closed connection (on the blocking pool when there is a
    /// runtime, since it may unwatch OS paths).
    pub(crate) fn connection_closed(&self, conn_id: u64) {
        let shared = Arc::clone(&self.shared);
        let work = move || {
            let mut reg = shared.lock();
            let keys: Vec<Key> = reg
                .watches
                .keys()
                .filter(|k| k.0 == conn_id)
                .cloned()
                .collect();
            for key in keys {
                reg.drop_watch(&key);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn_blocking(work);
            }
            Err(_) => work(),
        }
    }

    #[cfg(test)]
    fn count(&self) -> usize {
        self.shared.lock().watches.len()
    }

    #[cfg(test)]
    fn os_watch_count(&self) -> usize {
        self.shared.lock().os_paths.len()
    }
}

impl Registry {
    /// Takes a reference on an OS watch of `dir` for `key`, starting it if it is the first.
    fn acquire(&mut self, dir: &Path, key: &Key) -> notify::Result<()> {
        match self.os_paths.get_mut(dir) {
            Some(users) => users.push(key.clone()),
            None => {
                if let Some(backend) = self.backend.as_mut() {
                    backend.watch(dir, RecursiveMode::NonRecursive)?;
                }
                self.os_paths.insert(dir.to_path_buf(), vec![key.clone()]);
            }
        }
        Ok(())
    }

    /// Gives back `key`'s reference on the OS watch of `dir`, stopping it if it was the last.
    fn release(&mut self, dir: &Path, key: &Key) {
        let Some(users) = self.os_paths.get_mut(dir) else {
            return;
        };
        if let Some(i) = users.iter().position(|k| k == key) {
            users.swap_remove(i);
        }
        if users.is_empty() {
            self.os_paths.remove(dir);
            if let Some(backend) = self.backend.as_mut() {
                // Fails when the kernel already dropped it (the directory went away).
                let _ = backend.unwatch(dir);
            }
        }
    }

    fn drop_watch(&mut self, key: &Key) -> bool {
        match self.watches.remove(key) {
            Some(w) => {
                self.release(&w.resolved.os_path, key);
                true
            }
            None => false,
        }
    }

    /// Moves a watch's OS watch if the target (or one of its ancestors) appeared, went away
    /// or changed kind. After a move it looks again: what appeared before the new OS watch
    /// started sent no event. A target that appeared or went away meanwhile is reported.
    fn reresolve(&mut self, key: &Key, now: Instant) {
        for _ in 0..RESOLVE_ATTEMPTS {
            let Some(w) = self.watches.get_mut(key) else {
                return;
            };
            let old = w.resolved.clone();
            let new = resolve(&w.target);
            if new == old {
                return;
            }
            if new.exists != old.exists {
                let target = w.target.clone();
                record(w, key, target, now, &mut self.due);
            }
            if new.os_path == old.os_path {
                w.resolved = new;
                return;
            }
            match self.acquire(&new.os_path, key) {
                Ok(()) => {
                    self.release(&old.os_path, key);
                    if let Some(w) = self.watches.get_mut(key) {
                        w.resolved = new;
                    }
                }
                Err(e) => {
                    tracing::debug!("fs/watch: cannot move to {}: {e}", new.os_path.display());
                }
            }
        }
        if let Some(w) = self.watches.get(key) {
            tracing::warn!(
                "fs/watch: {} keeps changing; watching {} for now",
                w.target.display(),
                w.resolved.os_path.display()
            );
        }
    }

    /// Matches one event against the watches.
    fn route(&mut self, kind: &EventKind, paths: &[PathBuf], now: Instant) {
        // Data and metadata changes cannot move anything.
        let structural = !matches!(
            kind,
            EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_))
        );
        let mut moved: Vec<Key> = Vec::new();
        for e in paths {
            let mut keys: Vec<Key> = self.os_paths.get(e).cloned().unwrap_or_default();
            if let Some(users) = e.parent().and_then(|p| self.os_paths.get(p)) {
                keys.extend(users.iter().cloned());
            }
            keys.sort();
            keys.dedup();
            for key in keys {
                let Some(w) = self.watches.get_mut(&key) else {
                    continue;
                };
                if let Some(path) = w.reported(e) {
                    record(w, &key, path, now, &mut self.due);
                }
                if structural && w.resolved.canon.starts_with(e) {
                    moved.push(key);
                }
            }
        }
        moved.sort();
        moved.dedup();
        for key in moved {
            self.reresolve(&key, now);
        }
    }

    /// Events were lost: every watch reports its target.
    fn overflow_all(&mut self, now: Instant) {
        let Registry { watches, due, .. } = self;
        for (key, w) in watches.iter_mut() {
            w.overflowed = true;
            w.pending.clear();
            schedule(w, key, now, due);
        }
    }

    /// Sends the batches whose window has closed; returns when the next one closes.
    fn flush_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some((deadline, _, _)) = self.due.front() {
            if *deadline > now {
                break;
            }
            let Some((_, key, generation)) = self.due.pop_front() else {
                break;
            };
            let Some(w) = self.watches.get_mut(&key) else {
                continue;
            };
            if w.generation != generation {
                continue;
            }
            w.scheduled = false;
            let changed: Vec<PathBuf> = if std::mem::take(&mut w.overflowed) {
                w.pending.clear();
                vec![w.target.clone()]
            } else {
                std::mem::take(&mut w.pending).into_iter().collect()
            };
            if !changed.is_empty() {
                (w.sink)(FsChangedNotification {
                    watch_id: key.1.clone(),
                    changed_paths: changed.iter().map(|p| p.display().to_string()).collect(),
                });
            }
        }
        self.due.front().map(|(deadline, _, _)| *deadline)
    }
}

fn record(
    w: &mut Watch,
    key: &Key,
    path: PathBuf,
    now: Instant,
    due: &mut VecDeque<(Instant, Key, u64)>,
) {
    if !w.overflowed {
        if w.pending.len() >= MAX_PENDING_PATHS && !w.pending.contains(&path) {
            w.overflowed = true;
            w.pending.clear();
        } else {
            w.pending.insert(path);
        }
    }
    schedule(w, key, now, due);
}

fn schedule(w: &mut Watch, key: &Key, now: Instant, due: &mut VecDeque<(Instant, Key, u64)>) {
    if !w.scheduled {
        w.scheduled = true;
        due.push_back((now + DEBOUNCE, key.clone(), w.generation));
    }
}

/// Starts inotify and the router thread. The router holds the registry weakly: when the
/// server goes, the watcher (and its end of the queue) goes with it and the router ends.
fn start_backend(shared: Weak<Shared>) -> notify::Result<RecommendedWatcher> {
    let (tx, rx) = mpsc::sync_channel::<notify::Result<Event>>(EVENT_QUEUE);
    let lost = Arc::new(AtomicBool::new(false));
    let lost_in_handler = Arc::clone(&lost);
    let watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
        // Opens and closes are not changes; dropping them here keeps the queue for the rest.
        if let Ok(event) = &res {
            if matches!(event.kind, EventKind::Access(_)) {
                return;
            }
        }
        match tx.try_send(res) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => lost_in_handler.store(true, Ordering::Relaxed),
        }
    })?;
    std::thread::Builder::new()
        .name("fs-watch".into())
        .spawn(move || route_events(shared, rx, lost))
        .map_err(notify::Error::io)?;
    Ok(watcher)
}

fn route_events(
    shared: Weak<Shared>,
    rx: mpsc::Receiver<notify::Result<Event>>,
    lost: Arc<AtomicBool>,
) {
    let mut next_flush: Option<Instant> = None;
    loop {
        let received = match next_flush {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut reg = shared.lock();
        let now = Instant::now();
        match received {
            Ok(Ok(event)) if event.need_rescan() => reg.overflow_all(now),
            Ok(Ok(event)) => reg.route(&event.kind, &event.paths, now),
            Ok(Err(e)) => tracing::warn!("fs/watch: {e}"),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if lost.swap(false, Ordering::Relaxed) {
            reg.overflow_all(now);
        }
        next_flush = reg.flush_due(Instant::now());
    }
}

#[cfg(test)]
mod tests;
