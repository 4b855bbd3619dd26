//! Taking the current text of the files a patch changes from a client that holds it (an
//! editor, whose buffers may have changes not yet saved), so the patch applies to what the
//! user sees.
//!
//! The engine keeps every decision: it asks only about paths that pass the same check as the
//! writes it would commit (absolute, symlinks resolved, inside what the sandbox lets the agent
//! write). A patch that touches any other path is planned from disk as for every client, and
//! the engine's own checks then refuse it or ask the user. A file the client cannot read fails
//! the patch: planning it from disk instead could silently undo what the user typed.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use wright_tools::apply_patch;

use crate::sandbox::SandboxLaunch;

/// One file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// Absolute, symlinks resolved, inside the writable roots.
    pub path: PathBuf,
}

/// Resolves to the file's whole text, or why the client could not read it (shown to the
/// model). Dropping it withdraws the request.
pub type ReadFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// Reads a file through the client. Set per turn by whoever serves the client.
pub type FileReader = Arc<dyn Fn(ReadRequest) -> ReadFuture + Send + Sync>;

/// The client's text of every file `patch` updates, moves or deletes, keyed as the planner
/// expects ([`apply_patch::read_paths`]). Empty when nothing may be asked: the patch does not
/// parse (the planner reports it), adds files only, or touches a path outside the writable
/// roots. `Err` says which file the client could not read.
pub(crate) async fn read_for_patch(
    reader: &FileReader,
    sandbox: &SandboxLaunch,
    patch: &str,
    cwd: &Path,
    cancel: &CancellationToken,
) -> Result<HashMap<PathBuf, String>, String> {
    let (patch_text, cwd_owned, check) = (patch.to_string(), cwd.to_path_buf(), sandbox.clone());
    // Resolving symlinks is blocking work.
    let checked = tokio::task::spawn_blocking(move || {
        let paths = apply_patch::read_paths(&patch_text, &cwd_owned).ok()?;
        if !check.patch_violations(paths.iter()).is_empty() {
            return None;
        }
        let resolved = paths.iter().map(|p| crate::sandbox::real_path(p));
        Some(paths.iter().cloned().zip(resolved).collect::<Vec<_>>())
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    let mut supplied = HashMap::with_capacity(checked.len());
    for (planned, real) in checked {
        let read = reader(ReadRequest { path: real.clone() });
        let text = tokio::select! {
            text = read => text,
            _ = cancel.cancelled() => Err("interrupted before the editor sent the file".into()),
        };
        match text {
            Ok(text) => {
                supplied.insert(planned, text);
            }
            Err(why) => {
                return Err(format!(
                    "the editor could not read {}: {why}",
                    real.display()
                ))
            }
        }
    }
    Ok(supplied)
}

/// The files among `supplied` whose text on disk differs from the client's (unsaved changes).
/// A patch the engine commits itself applies to the disk, so it must not go ahead over them.
pub(crate) async fn unsaved(supplied: &HashMap<PathBuf, String>) -> Vec<String> {
    let supplied = supplied.clone();
    tokio::task::spawn_blocking(move || {
        let mut out: Vec<String> = supplied
            .iter()
            .filter(|(path, text)| {
                std::fs::read_to_string(crate::sandbox::real_path(path))
                    .ok()
                    .as_ref()
                    != Some(text)
            })
            .map(|(path, _)| path.display().to_string())
            .collect();
        out.sort();
        out
    })
    .await
    .unwrap_or_else(|_| vec!["(could not compare with the disk)".into()])
}
