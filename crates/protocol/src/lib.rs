//! Types shared by the engine and its clients.
//!
//! [`items`] are the units a turn produces (a message, a command, a patch, a plan); the engine
//! emits them as [`events::Event`]s. [`exec`] is the `wright exec --json` wire format, which is
//! Codex's `exec --json` JSONL stream byte for byte in field names and shapes, so the official
//! Codex SDK can drive wright.

pub mod events;
pub mod exec;
pub mod items;
pub mod jsonrpc;
pub mod v2;

pub use events::{Event, TokenUsage};
pub use items::{
    ChangeKind, CollabAgentState, CollabAgentStatus, CollabTool, CollabToolCallStatus,
    CommandStatus, FileUpdateChange, ItemDetails, McpToolCallStatus, McpToolError, McpToolResult,
    PatchStatus, ThreadItem, TodoItem,
};
