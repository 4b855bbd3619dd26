//! `fuzzyFileSearch`: the best [`wright_file_search::DEFAULT_LIMIT`] files and directories
//! under the given roots for a query (see `wright-file-search` for the walk and the ranking).
//!
//! As in Codex: an empty query or no roots answer with no files; a search with a
//! `cancellationToken` cancels the one in flight with the same token, which then answers with
//! no files. Unlike Codex, tokens are per connection (a client cannot cancel another's
//! search), roots must be absolute existing directories, and a closed connection's searches
//! stop. The walk runs on the blocking pool, at most [`MAX_RUNNING`] at a time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use wright_file_search::{self as file_search, MatchKind, SearchError, SearchOptions};
use wright_protocol::v2::{
    FuzzyFileSearchMatchType, FuzzyFileSearchParams, FuzzyFileSearchResponse, FuzzyFileSearchResult,
};

use crate::conn::ConnHandle;
use crate::rpc::RpcError;
use crate::state::State;

/// Searches walking at once (each uses several threads); later ones wait their turn.
pub(crate) const MAX_RUNNING: usize = 4;
/// Searches one connection may have in flight (running or waiting).
pub(crate) const MAX_IN_FLIGHT_PER_CONNECTION: usize = 16;
pub(crate) const MAX_ROOTS: usize = 64;
pub(crate) const MAX_QUERY_CHARS: usize = 1024;
pub(crate) const MAX_TOKEN_BYTES: usize = 1024;

/// `fuzzyFileSearch`, in two steps: the search is checked and listed as in flight at once
/// (so that the next request on the connection, if it carries the same token, finds it to
/// cancel), and the returned future walks.
pub(crate) fn fuzzy_file_search(
    state: &Arc<State>,
    conn: &ConnHandle,
    params: FuzzyFileSearchParams,
) -> Result<
    impl std::future::Future<Output = Result<FuzzyFileSearchResponse, RpcError>> + Send + 'static,
    RpcError,
> {
    let pending = state.files.searches.begin(conn.id, params)?;
    Ok(pending.finish(SearchOptions::default()))
}

/// The searches in flight, so that a token or a closing connection can stop them.
#[derive(Clone)]
pub(crate) struct Searches {
    inner: Arc<Inner>,
}

struct Inner {
    running: Mutex<Running>,
    permits: tokio::sync::Semaphore,
}

#[derive(Default)]
struct Running {
    next: u64,
    searches: HashMap<u64, InFlight>,
}

struct InFlight {
    conn_id: u64,
    token: Option<String>,
    cancel: Arc<AtomicBool>,
}

impl Default for Searches {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                running: Mutex::default(),
                permits: tokio::sync::Semaphore::new(MAX_RUNNING),
            }),
        }
    }
}

/// Takes a search off the in-flight list however it ends.
struct Registration {
    inner: Arc<Inner>,
    id: u64,
    cancel: Arc<AtomicBool>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.inner.running).searches.remove(&self.id);
    }
}

fn lock(m: &Mutex<Running>) -> MutexGuard<'_, Running> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A search checked and in flight, not yet walking.
pub(crate) struct Pending {
    registration: Registration,
    query: String,
    roots: Vec<PathBuf>,
    /// As the client gave them (results name their root this way).
    root_strings: Vec<String>,
}

impl Searches {
    /// Checks the params and lists the search as in flight (cancelling the connection's
    /// earlier one with the same token).
    pub(crate) fn begin(
        &self,
        conn_id: u64,
        params: FuzzyFileSearchParams,
    ) -> Result<Pending, RpcError> {
        let roots = check(&params)?;
        let registration = self.register(conn_id, params.cancellation_token)?;
        Ok(Pending {
            registration,
            query: params.query,
            roots,
            root_strings: params.roots,
        })
    }

    #[cfg(test)]
    async fn run(
        &self,
        conn_id: u64,
        params: FuzzyFileSearchParams,
        options: SearchOptions,
    ) -> Result<FuzzyFileSearchResponse, RpcError> {
        self.begin(conn_id, params)?.finish(options).await
    }

    /// Lists a search as in flight, cancelling the connection's earlier one with the token.
    fn register(&self, conn_id: u64, token: Option<String>) -> Result<Registration, RpcError> {
        let mut running = lock(&self.inner.running);
        let mine = running
            .searches
            .values()
            .filter(|s| s.conn_id == conn_id)
            .count();
        if mine >= MAX_IN_FLIGHT_PER_CONNECTION {
            return Err(RpcError::invalid_request(format!(
                "this connection has {mine} fuzzyFileSearch requests in flight, the most allowed"
            )));
        }
        if let Some(token) = &token {
            for s in running.searches.values() {
                if s.conn_id == conn_id && s.token.as_ref() == Some(token) {
                    s.cancel.store(true, Ordering::Relaxed);
                }
            }
        }
        running.next += 1;
        let id = running.next;
        let cancel = Arc::new(AtomicBool::new(false));
        running.searches.insert(
            id,
            InFlight {
                conn_id,
                token,
                cancel: Arc::clone(&cancel),
            },
        );
        Ok(Registration {
            inner: Arc::clone(&self.inner),
            id,
            cancel,
        })
    }

    /// Stops a closed connection's searches.
    pub(crate) fn connection_closed(&self, conn_id: u64) {
        for s in lock(&self.inner.running).searches.values() {
            if s.conn_id == conn_id {
                s.cancel.store(true, Ordering::Relaxed);
            }
        }
    }
}

impl Pending {
    /// Walks (on the blocking pool, once a walking slot is free) and ranks.
    pub(crate) async fn finish(
        self,
        options: SearchOptions,
    ) -> Result<FuzzyFileSearchResponse, RpcError> {
        let Pending {
            registration,
            query,
            roots,
            root_strings,
        } = self;
        if query.is_empty() || roots.is_empty() {
            return Ok(FuzzyFileSearchResponse { files: Vec::new() });
        }
        let inner = Arc::clone(&registration.inner);
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|e| RpcError::internal(format!("fuzzyFileSearch: {e}")))?;
        let cancel = Arc::clone(&registration.cancel);
        if cancel.load(Ordering::Relaxed) {
            return Ok(FuzzyFileSearchResponse { files: Vec::new() });
        }
        let searched = roots.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            for (i, root) in searched.iter().enumerate() {
                if !root.is_dir() {
                    return Err(RpcError::invalid_params(format!(
                        "`roots[{i}]`: {} is not a directory",
                        root.display()
                    )));
                }
            }
            Ok(file_search::search(&query, &searched, &options, &cancel))
        })
        .await
        .map_err(|e| RpcError::internal(format!("fuzzyFileSearch: {e}")))??;
        drop(registration);
        let results = match outcome {
            Ok(results) => results,
            // A later search with the same token (or the client leaving) stopped this one.
            Err(SearchError::Cancelled) => {
                return Ok(FuzzyFileSearchResponse { files: Vec::new() })
            }
        };
        if results.truncated {
            tracing::warn!(
                "fuzzyFileSearch: stopped after {} entries; the results cover part of the roots",
                results.visited
            );
        }
        let files = results
            .matches
            .into_iter()
            .map(|m| FuzzyFileSearchResult {
                root: root_strings.get(m.root).cloned().unwrap_or_default(),
                file_name: m.file_name().to_string(),
                match_type: match m.kind {
                    MatchKind::File => FuzzyFileSearchMatchType::File,
                    MatchKind::Directory => FuzzyFileSearchMatchType::Directory,
                },
                score: m.score,
                indices: Some(m.indices),
                path: m.path,
            })
            .collect();
        Ok(FuzzyFileSearchResponse { files })
    }
}

/// Checks the params; returns the roots.
fn check(params: &FuzzyFileSearchParams) -> Result<Vec<PathBuf>, RpcError> {
    let chars = params.query.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(RpcError::invalid_params(format!(
            "`query` is {chars} characters, over the limit of {MAX_QUERY_CHARS}"
        )));
    }
    if let Some(token) = &params.cancellation_token {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(RpcError::invalid_params(format!(
                "`cancellationToken` is {} bytes, over the limit of {MAX_TOKEN_BYTES}",
                token.len()
            )));
        }
    }
    if params.roots.len() > MAX_ROOTS {
        return Err(RpcError::invalid_params(format!(
            "`roots` lists {} roots, over the limit of {MAX_ROOTS}",
            params.roots.len()
        )));
    }
    let mut roots: Vec<PathBuf> = Vec::with_capacity(params.roots.len());
    for (i, root) in params.roots.iter().enumerate() {
        let path = PathBuf::from(root);
        if !path.is_absolute() {
            return Err(RpcError::invalid_params(format!(
                "`roots[{i}]` must be an absolute path, got `{root}`"
            )));
        }
        roots.push(path);
    }
    Ok(roots)
}

#[cfg(test)]
mod tests;
