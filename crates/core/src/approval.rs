//! Asking the user before a tool call crosses a line. The engine decides *when* to ask (from
//! the approval policy); a client decides *how* (the App Server sends a request to its client).

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use wright_protocol::FileUpdateChange;

use crate::config::ApprovalPolicy;

#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalRequest {
    Command {
        item_id: String,
        /// As shown to the user: `/bin/bash -lc 'make test'`.
        command: String,
        argv: Vec<String>,
        cwd: PathBuf,
        reason: Option<String>,
    },
    Patch {
        item_id: String,
        changes: Vec<FileUpdateChange>,
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    Accept,
    /// Accept, and do not ask again this session for the same command (or for patches).
    AcceptForSession,
    /// Do not run it; the model is told and the turn goes on.
    Decline,
    /// Do not run it and stop the turn.
    Cancel,
}

pub type ApprovalFuture = Pin<Box<dyn Future<Output = ReviewDecision> + Send>>;

/// Asks the user; the future resolves with their decision. Dropping it withdraws the question
/// (the turn was interrupted).
pub type Approver = Arc<dyn Fn(ApprovalRequest) -> ApprovalFuture + Send + Sync>;

/// What the user already allowed for the rest of the session.
#[derive(Debug, Default)]
pub struct SessionApprovals {
    prefixes: Mutex<HashSet<Vec<String>>>,
    patches: Mutex<bool>,
}

impl SessionApprovals {
    /// Whether "accept for this session" covers a command with this prefix
    /// (see [`crate::exec_policy::session_prefix`]).
    pub fn prefix_allowed(&self, prefix: &[String]) -> bool {
        self.prefixes
            .lock()
            .map(|c| c.contains(prefix))
            .unwrap_or(false)
    }

    pub fn allow_prefix(&self, prefix: &[String]) {
        if let Ok(mut c) = self.prefixes.lock() {
            c.insert(prefix.to_vec());
        }
    }

    pub fn patches_allowed(&self) -> bool {
        self.patches.lock().map(|p| *p).unwrap_or(false)
    }

    pub fn allow_patches(&self) {
        if let Ok(mut p) = self.patches.lock() {
            *p = true;
        }
    }
}

/// Whether a patch inside the writable roots needs the user's yes: only under `untrusted`.
pub fn must_ask(policy: ApprovalPolicy) -> bool {
    policy == ApprovalPolicy::Untrusted
}
