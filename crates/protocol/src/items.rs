//! Items: what a turn produces, as the engine reports it.
//!
//! The shapes follow Codex's exec items (snake_case, `type`-tagged) so the exec stream is a
//! straight serialisation; the engine's `id` is stable within a thread (the model's call id for
//! tool items, the message id for messages) and clients may renumber it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadItem {
    pub id: String,
    #[serde(flatten)]
    pub details: ItemDetails,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemDetails {
    AgentMessage {
        text: String,
    },
    Reasoning {
        text: String,
    },
    CommandExecution {
        command: String,
        aggregated_output: String,
        /// `null` while running, as Codex prints it.
        exit_code: Option<i32>,
        status: CommandStatus,
        /// Not in Codex's exec stream; App Server clients get it.
        #[serde(skip)]
        cwd: String,
        #[serde(skip)]
        duration_ms: Option<u64>,
        /// The command's session id while it may outlive its call (`write_stdin` takes it).
        #[serde(skip)]
        process_id: Option<String>,
    },
    FileChange {
        changes: Vec<FileUpdateChange>,
        status: PatchStatus,
    },
    TodoList {
        items: Vec<TodoItem>,
    },
    /// A call to a tool of an MCP server. `result` and `error` are explicit `null`s, as Codex
    /// prints them.
    McpToolCall {
        server: String,
        tool: String,
        arguments: serde_json::Value,
        result: Option<McpToolResult>,
        error: Option<McpToolError>,
        status: McpToolCallStatus,
        /// Not in Codex's exec stream; App Server clients get it.
        #[serde(skip)]
        duration_ms: Option<u64>,
    },
    /// A call to a multi-agent tool, in Codex's exec shape (`collab_tool_call`).
    CollabToolCall {
        tool: CollabTool,
        sender_thread_id: String,
        receiver_thread_ids: Vec<String>,
        prompt: Option<String>,
        /// Last known state of each agent concerned, by thread id.
        agents_states: std::collections::BTreeMap<String, CollabAgentState>,
        status: CollabToolCallStatus,
    },
    Error {
        message: String,
    },
}

/// The multi-agent tools (Codex's exec names; wright also reports `list_agents` and
/// `resume_agent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollabTool {
    SpawnAgent,
    SendInput,
    ResumeAgent,
    Wait,
    CloseAgent,
    ListAgents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollabToolCallStatus {
    InProgress,
    Completed,
    Failed,
}

/// A sub-agent's status (Codex's `AgentStatus` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollabAgentStatus {
    PendingInit,
    Running,
    Interrupted,
    Completed,
    Errored,
    Shutdown,
    NotFound,
}

/// A sub-agent's status and, once it is done, its final message or error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollabAgentState {
    pub status: CollabAgentStatus,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandStatus {
    InProgress,
    Completed,
    Failed,
    /// The user said no (App Server approvals).
    Declined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchStatus {
    InProgress,
    Completed,
    Failed,
    Declined,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUpdateChange {
    pub path: String,
    pub kind: ChangeKind,
    /// Not in Codex's exec stream; App Server clients get them.
    #[serde(skip)]
    pub move_path: Option<String>,
    #[serde(skip)]
    pub diff: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum McpToolCallStatus {
    InProgress,
    Completed,
    Failed,
}

/// What the server returned: its content blocks as MCP sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolResult {
    pub content: Vec<serde_json::Value>,
    pub structured_content: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpToolError {
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Add,
    Delete,
    Update,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoItem {
    pub text: String,
    pub completed: bool,
}
