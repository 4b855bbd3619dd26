//! Events the engine emits while it runs a turn. Clients map them to their own wire format.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::items::ThreadItem;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    TurnStarted,
    ItemStarted(ThreadItem),
    ItemUpdated(ThreadItem),
    ItemCompleted(ThreadItem),
    /// A piece of assistant text as it streams (clients that do not stream ignore it).
    AgentMessageDelta {
        item_id: String,
        delta: String,
    },
    /// A piece of a reasoning summary as it streams.
    ReasoningDelta {
        item_id: String,
        summary_index: u64,
        delta: String,
    },
    /// A piece of a running command's output.
    CommandOutputDelta {
        item_id: String,
        delta: String,
    },
    /// The model typed into (or, with empty `stdin`, polled) a command session
    /// (`item/commandExecution/terminalInteraction`).
    TerminalInteraction {
        item_id: String,
        process_id: String,
        stdin: String,
    },
    /// A hook command began (`hook/started`).
    HookStarted(crate::v2::HookRunSummary),
    /// A hook command finished; its outcome is in the summary (`hook/completed`).
    HookCompleted(crate::v2::HookRunSummary),
    /// A running MCP tool call's progress or log message (`item/mcpToolCall/progress`).
    McpToolCallProgress {
        item_id: String,
        message: String,
    },
    /// Unified diff of every file the turn's patches changed, so far.
    TurnDiff {
        diff: String,
    },
    /// Token usage after a model response: thread totals, the last response, the window.
    UsageUpdated {
        total: TokenUsage,
        last: TokenUsage,
        context_window: u64,
    },
    /// Items appended to the model-facing history (for persistence).
    HistoryAppended(Vec<Value>),
    /// The model-facing history was replaced (compaction).
    HistoryReplaced(Vec<Value>),
    /// The history was compacted to fit the context window (Codex's exec stream shows nothing).
    ContextCompacted {
        id: String,
    },
    /// Something the user should know that changes nothing in the turn (`warning`).
    Warning {
        message: String,
    },
    /// A non-fatal problem, e.g. a retry being announced.
    Error {
        message: String,
    },
    /// Usage is the running total for the whole thread, as Codex reports it.
    TurnCompleted {
        usage: TokenUsage,
    },
    TurnFailed {
        message: String,
        usage: TokenUsage,
    },
}

/// Token counts as the API reports them, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub cache_write_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
}

impl TokenUsage {
    pub fn add(&mut self, other: &TokenUsage) {
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.cache_write_input_tokens += other.cache_write_input_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_output_tokens += other.reasoning_output_tokens;
    }
}
