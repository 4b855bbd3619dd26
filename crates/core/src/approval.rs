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
    commands: Mutex<HashSet<Vec<String>>>,
    patches: Mutex<bool>,
}

impl SessionApprovals {
    pub fn command_allowed(&self, argv: &[String]) -> bool {
        self.commands
            .lock()
            .map(|c| c.contains(argv))
            .unwrap_or(false)
    }

    pub fn allow_command(&self, argv: &[String]) {
        if let Ok(mut c) = self.commands.lock() {
            c.insert(argv.to_vec());
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

/// Whether a call needs the user's yes under `policy`. Only `untrusted` asks before running
/// (as Codex's App Server does: every command and every patch); the sandbox-driven cases of
/// `on-request` and `on-failure` come with the sandbox.
pub fn must_ask(policy: ApprovalPolicy) -> bool {
    policy == ApprovalPolicy::Untrusted
}
