//! Sub-agents: the model starts other agents as threads of their own (Codex's multi-agent
//! tools `spawn_agent`, `send_input`, `wait_agent`, `close_agent`, `list_agents`), waits for
//! their results and closes them.
//!
//! The engine owns the policy: the tools' shapes, the depth limit and the cap on open agents,
//! each agent's status, and the git worktree a writing agent gets. The host (the App Server)
//! owns the threads: it stores a child, runs its turns and shows it to clients, through
//! [`AgentHost`]. A child reports its own turns' ends through the [`AgentHandle`] its
//! [`crate::Thread`] carries, so the host needs no knowledge of agent statuses.
//!
//! Isolation: a child of a parent that may write works in its own `git worktree` of the
//! parent's repository, and its sandbox's only writable root is that worktree, so the kernel
//! keeps it out of the parent's checkout. Outside a git repository a child shares the
//! parent's working directory read-only (the tool result says so) rather than being refused:
//! it can still read and answer.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

mod calls;
mod control;
mod spec;
pub mod worktree;

pub(crate) use calls::{run as run_call, AgentTurn};
pub use control::{AgentControl, AgentHandle};
pub(crate) use spec::{is_collab_tool, tool_specs};

/// Codex's default cap on agents open at once in one tree of threads (`agents.max_threads`).
pub const DEFAULT_MAX_THREADS: usize = 6;
/// Codex's default depth limit (`agents.max_depth`): children of the first thread may not
/// spawn their own.
pub const DEFAULT_MAX_DEPTH: i32 = 1;

/// How far and how wide agents may spread (Codex's `[agents]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentLimits {
    /// Agents open at once in one tree (spawned and not closed, finished ones included).
    pub max_threads: usize,
    /// The deepest a spawned agent may be; an agent at this depth gets no multi-agent tools.
    pub max_depth: i32,
    /// `features.multi_agent` (Codex's key, on by default; `features.collab` is its old
    /// name): off, no thread offers the tools.
    pub enabled: bool,
}

impl Default for AgentLimits {
    fn default() -> Self {
        AgentLimits {
            max_threads: DEFAULT_MAX_THREADS,
            max_depth: DEFAULT_MAX_DEPTH,
            enabled: true,
        }
    }
}

impl AgentLimits {
    /// Reads `agents.max_threads` and `agents.max_depth` from the effective config table;
    /// a value that is not a positive integer is reported and the default kept.
    pub fn from_table(table: &toml::Table) -> (AgentLimits, Vec<String>) {
        let mut limits = AgentLimits::default();
        let mut warnings = Vec::new();
        let features = table.get("features").and_then(toml::Value::as_table);
        if let Some(enabled) = features
            .and_then(|f| f.get("multi_agent").or_else(|| f.get("collab")))
            .and_then(toml::Value::as_bool)
        {
            limits.enabled = enabled;
        }
        let Some(agents) = table.get("agents").and_then(toml::Value::as_table) else {
            return (limits, warnings);
        };
        let mut read = |key: &str| match agents.get(key) {
            None => None,
            Some(toml::Value::Integer(n)) if *n >= 1 => Some(*n),
            Some(other) => {
                warnings.push(format!(
                    "agents.{key} must be at least 1 (got {other}); the default applies"
                ));
                None
            }
        };
        if let Some(n) = read("max_threads") {
            limits.max_threads = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = read("max_depth") {
            limits.max_depth = i32::try_from(n).unwrap_or(i32::MAX);
        }
        (limits, warnings)
    }
}

/// A sub-agent's status, serialized as Codex's tools print it: `"running"`,
/// `{"completed": "<final message>"}`, `{"errored": "<why>"}`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Spawned; its first turn has not started yet.
    PendingInit,
    Running,
    Interrupted,
    /// Its last turn ended; the final message when there was one.
    Completed(Option<String>),
    Errored(String),
    /// Closed.
    Shutdown,
    NotFound,
}

impl AgentStatus {
    /// Whether the agent is done for now (waiting on it returns).
    pub fn is_final(&self) -> bool {
        !matches!(self, AgentStatus::PendingInit | AgentStatus::Running)
    }

    /// The status as the protocol's collab item shows it.
    pub fn state(&self) -> wright_protocol::CollabAgentState {
        use wright_protocol::CollabAgentStatus as S;
        let (status, message) = match self {
            AgentStatus::PendingInit => (S::PendingInit, None),
            AgentStatus::Running => (S::Running, None),
            AgentStatus::Interrupted => (S::Interrupted, None),
            AgentStatus::Completed(message) => (S::Completed, message.clone()),
            AgentStatus::Errored(why) => (S::Errored, Some(why.clone())),
            AgentStatus::Shutdown => (S::Shutdown, None),
            AgentStatus::NotFound => (S::NotFound, None),
        };
        wright_protocol::CollabAgentState { status, message }
    }
}

/// Why a multi-agent call was refused or failed; the text is what the model reads.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("failed to parse function arguments: {0}")]
    Arguments(String),
    /// Arguments that parse but make no sense (both `message` and `items`, no targets, ...).
    #[error("{0}")]
    Invalid(String),
    #[error("Agent depth limit reached. Solve the task yourself.")]
    DepthLimit,
    #[error("collab spawn failed: agent thread limit reached (max {max_threads}). Close agents you no longer need with close_agent before spawning more.")]
    ThreadLimit { max_threads: usize },
    #[error("agent with id {0} not found")]
    NotFound(String),
    #[error("agent with id {0} is closed")]
    Closed(String),
    #[error("sub-agents are not available in this session")]
    Unavailable,
    #[error("collab spawn failed: {0}")]
    Worktree(String),
    #[error("collab tool failed: {0}")]
    Host(String),
}

/// What a host's operations return.
pub type HostFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Who the child is, for the host to store and show.
#[derive(Debug, Clone)]
pub struct ChildThread {
    pub parent_thread_id: String,
    /// Codex's `{"thread_spawn": {parent_thread_id, depth, ...}}`.
    pub source: wright_protocol::v2::SubAgentSource,
    /// The task it was given (its first user message).
    pub prompt: String,
}

/// What runs the threads: the App Server (or any client embedding the engine).
pub trait AgentHost: Send + Sync {
    /// Makes `thread` one of the host's threads (stored, listed, shown to whoever follows the
    /// parent) and starts its first turn with the child's prompt.
    fn start(&self, thread: crate::Thread, child: ChildThread) -> HostFuture<Result<(), String>>;
    /// Gives an agent more work: a new turn when it is idle, added to its turn when busy.
    fn send_input(&self, thread_id: String, text: String) -> HostFuture<Result<(), String>>;
    /// Interrupts the agent's running turn, if any.
    fn interrupt(&self, thread_id: &str);
    /// Unloads the agent's thread (it stays stored and listed).
    fn close(&self, thread_id: &str);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_to_codex_and_read_the_agents_table() {
        let (limits, warnings) = AgentLimits::from_table(&toml::Table::new());
        assert_eq!(
            limits,
            AgentLimits {
                max_threads: 6,
                max_depth: 1,
                enabled: true
            }
        );
        assert!(warnings.is_empty());
        let table: toml::Table = toml::from_str(
            "[agents]\nmax_threads = 2\nmax_depth = 3\n[features]\nmulti_agent = false\n",
        )
        .unwrap();
        assert_eq!(
            AgentLimits::from_table(&table).0,
            AgentLimits {
                max_threads: 2,
                max_depth: 3,
                enabled: false
            }
        );
        let bad: toml::Table =
            toml::from_str("[agents]\nmax_threads = 0\nmax_depth = \"x\"\n").unwrap();
        let (limits, warnings) = AgentLimits::from_table(&bad);
        assert_eq!(limits, AgentLimits::default());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }

    #[test]
    fn statuses_serialize_as_codex_prints_them() {
        let json = |s: AgentStatus| serde_json::to_value(s).unwrap();
        assert_eq!(
            json(AgentStatus::PendingInit),
            serde_json::json!("pending_init")
        );
        assert_eq!(
            json(AgentStatus::Completed(Some("done".into()))),
            serde_json::json!({"completed": "done"})
        );
        assert_eq!(
            json(AgentStatus::Completed(None)),
            serde_json::json!({"completed": null})
        );
        assert_eq!(
            json(AgentStatus::Errored("x".into())),
            serde_json::json!({"errored": "x"})
        );
        assert!(!AgentStatus::Running.is_final());
        assert!(AgentStatus::Interrupted.is_final());
    }
}
