//! The agent loop: build the prompt, stream the model, run the tool calls it makes, append the
//! results, and repeat until the model answers without a tool call.
//!
//! The engine knows nothing of terminals or JSON-RPC: it emits [`wright_protocol::Event`]s on a
//! channel and clients render them.

pub mod approval;
pub mod auth;
pub mod auto_review;
pub mod catalog;
pub mod command_runs;
mod command_tool;
mod compact;
pub mod config;
pub mod config_edit;
pub mod config_layers;
pub mod context;
mod dispatch;
pub mod env_policy;
pub mod exec_policy;
pub mod exec_sessions;
pub mod file_reads;
pub mod file_writes;
pub mod hooks;
pub mod local_model;
pub mod mcp;
mod mcp_tools;
pub use wright_mcp;
pub use wright_mcp::config as mcp_config;
pub mod project_doc;
pub mod sandbox;
pub mod skills;
pub mod sub_agents;
mod thread;
mod tools;
mod turn_diff;
mod unified_exec;
pub mod user_input;
mod view_image;

pub use thread::{
    ImageInput, SteerHandle, Thread, TurnInput, TurnOutcome, TurnOverrides, COMPACT_COMMAND,
    TURN_INTERRUPTED,
};
