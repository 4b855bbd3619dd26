//! Asking the user before a tool call crosses a line. The engine decides *when* to ask (from
//! the approval policy); a client decides *how* (the App Server sends a request to its client).

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use wright_protocol::FileUpdateChange;

use crate::config::{ApprovalPolicy, SandboxMode};
use crate::exec_policy::{analyze, session_keys, Decision, ExecPolicy};

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
    /// A call to an MCP server's tool (Codex asks with `item/tool/requestUserInput`, question
    /// id `mcp_tool_call_approval_<call id>`).
    McpToolCall {
        item_id: String,
        server: String,
        /// The server's own name for the tool.
        tool: String,
        arguments: serde_json::Value,
        /// The tool's description, as the server gave it.
        description: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewDecision {
    Accept,
    /// Accept, and do not ask again this session for the same command (or for patches).
    AcceptForSession,
    /// Do not run it; the model is told and the turn goes on.
    Decline,
    /// Do not run it; the model is told this instead of "the user declined" (an automatic
    /// reviewer's reasons), and the turn goes on.
    DeclineWithReason(String),
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
    /// `(server, tool)` pairs allowed for the session.
    mcp_tools: Mutex<HashSet<(String, String)>>,
}

impl SessionApprovals {
    /// Whether "accept for this session" covers a command with this key
    /// (see [`crate::exec_policy::session_key`]): the keys must be equal.
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

    pub fn mcp_tool_allowed(&self, server: &str, tool: &str) -> bool {
        self.mcp_tools
            .lock()
            .map(|t| t.contains(&(server.to_string(), tool.to_string())))
            .unwrap_or(false)
    }

    pub fn allow_mcp_tool(&self, server: &str, tool: &str) {
        if let Ok(mut t) = self.mcp_tools.lock() {
            t.insert((server.to_string(), tool.to_string()));
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

/// What to do with a command line, decided by [`plan_command`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandPlan {
    /// Ask the user first.
    pub ask: bool,
    /// Run it inside the sandbox.
    pub sandboxed: bool,
    /// What "accept for this session" remembers (see [`crate::exec_policy::session_key`]);
    /// `None` when the line cannot be remembered (then it is asked about every time).
    pub session_keys: Option<Vec<Vec<String>>>,
}

/// What [`plan_command`] needs to know.
#[derive(Clone, Copy)]
pub struct CommandContext<'a> {
    pub approval_policy: ApprovalPolicy,
    pub sandbox_mode: SandboxMode,
    pub exec_policy: &'a ExecPolicy,
    pub session: &'a SessionApprovals,
    /// The shell the agent runs scripts with (`$SHELL`): trusted wherever it lives. `None`
    /// when the command line comes from elsewhere.
    pub user_shell: Option<&'a str>,
}

/// Whether a command line may run, whether to ask first, and whether it runs confined: the
/// exec-policy rules, the approval policy, known-safe commands and session approvals, in one
/// place for every way of running a command. `Err` is the refusal, for the model or client.
/// `escalate`: the call asks to run outside the sandbox.
pub fn plan_command(
    argv: &[String],
    escalate: bool,
    ctx: CommandContext<'_>,
) -> Result<CommandPlan, String> {
    let policy = ctx.approval_policy;
    let confined = ctx.sandbox_mode != SandboxMode::DangerFullAccess;
    let analysis = analyze(argv, ctx.user_shell);
    let commands = analysis.commands.as_deref();
    let rule = commands.and_then(|c| ctx.exec_policy.evaluate(c));
    if let Some(rule) = rule.filter(|r| r.decision == Decision::Forbid) {
        return Err(format!(
            "not run: `{}` is forbidden by an exec policy rule{}",
            rule.prefix.join(" "),
            rule.justification
                .as_ref()
                .map(|j| format!(" ({j})"))
                .unwrap_or_default()
        ));
    }
    let keys = commands.and_then(session_keys);
    let allowed_for_session = keys
        .as_ref()
        .is_some_and(|k| k.iter().all(|key| ctx.session.prefix_allowed(key)));
    // A line the rules cannot read (or inline code they cannot see into) must not slip past
    // them.
    let unreadable = analysis.opaque() && ctx.exec_policy.restricts();
    if unreadable && policy == ApprovalPolicy::Never {
        return Err("not run: this command cannot be checked against the exec policy rules (it uses substitutions, subshells, file redirections or inline code, or a wrapper whose options cannot be read); write it as plain commands".into());
    }
    let prompt_rule = unreadable || rule.is_some_and(|r| r.decision == Decision::Prompt);
    // Every command allowed by a rule or known safe (`cargo test && ls`), nothing restricted.
    let allow_rule = rule.is_none_or(|r| r.decision == Decision::Allow)
        && !prompt_rule
        && ctx.exec_policy.covers(argv, ctx.user_shell);
    let escalate = escalate && confined;
    if policy == ApprovalPolicy::Never {
        if escalate {
            return Err("not run: running outside the sandbox needs approval, and the approval policy is `never`. Run the command inside the sandbox or do without it.".into());
        }
        if prompt_rule {
            return Err("not run: an exec policy rule requires approval for this command, and the approval policy is `never`.".into());
        }
    }
    let ask = !allowed_for_session
        && (prompt_rule
            || escalate
            || (policy == ApprovalPolicy::Untrusted && !allow_rule && !analysis.known_safe));
    Ok(CommandPlan {
        ask,
        sandboxed: confined,
        session_keys: keys,
    })
}
