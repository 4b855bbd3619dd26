//! Handing a patch's file writes to a client that applies them itself (an editor bridge), so
//! the change lands in the editor's buffers and undo history instead of under its feet.
//!
//! The engine keeps every decision: the patch is planned against the files on disk, its paths
//! are checked against the sandbox's writable roots and approved exactly as for a patch it
//! commits itself, and only then is the planned content handed over. What is handed over is
//! the path that was checked (absolute, symlinks resolved), so the client writes nothing the
//! engine did not check.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use wright_tools::apply_patch::{ChangeKind, FileChange};

/// The new contents of the files of one patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    /// The `fileChange` item the writes belong to.
    pub item_id: String,
    /// `(absolute resolved path, complete new text)`, in the patch's order.
    pub files: Vec<(PathBuf, String)>,
}

/// Resolves once the client has written every file (`Ok`) or failed to (`Err` says which file
/// and why; it is shown to the model). Dropping it withdraws the request.
pub type WriteFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Writes a patch's files through the client. Set per turn by whoever serves the client.
pub type FileWriter = Arc<dyn Fn(WriteRequest) -> WriteFuture + Send + Sync>;

/// A patch's planned changes: `(change, text before, text after)`.
type Planned = [(FileChange, Option<String>, Option<String>)];

/// The writes to hand to the client for a patch that only adds and updates files in place
/// (`None` for one that deletes or moves a file, which `fs/write_text_file` cannot express:
/// the engine commits those itself). Each path is the one the sandbox check resolved.
pub(crate) fn request(item_id: &str, contents: &Planned) -> Option<WriteRequest> {
    let mut files = Vec::with_capacity(contents.len());
    for (change, _, after) in contents {
        if change.kind == ChangeKind::Delete || change.move_path.is_some() {
            return None;
        }
        files.push((crate::sandbox::real_path(&change.path), after.clone()?));
    }
    Some(WriteRequest {
        item_id: item_id.to_string(),
        files,
    })
}

/// What the model is told after the client wrote a patch: the summary `apply_patch` gives
/// (adds, then updates, each in patch order), so the model cannot tell who wrote the files.
pub(crate) fn summary(contents: &Planned) -> String {
    let mut out = String::from("Success. Updated the following files:\n");
    for (kind, letter) in [(ChangeKind::Add, 'A'), (ChangeKind::Update, 'M')] {
        for (change, _, _) in contents.iter().filter(|(c, _, _)| c.kind == kind) {
            out.push_str(&format!("{letter} {}\n", change.display_path));
        }
    }
    out
}
