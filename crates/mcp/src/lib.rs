//! wright's MCP client.
//!
//! [`McpManager`] starts every configured server in the background and never makes anyone
//! wait for one: a server's tools appear when it is ready, a server that fails, hangs, exits
//! or writes garbage is reported and restarted with backoff, and a call to it returns a clear
//! error. Stdio servers run through the same sandbox launcher as commands unless the config
//! says `sandbox = false`.

pub mod config;
mod connection;
mod manager;
pub mod names;
pub mod oauth;
pub mod output;
pub mod search;
mod stdio;
mod supervisor;

pub use config::{McpServerConfig, McpServers, McpTransport};
pub use manager::{
    CallError, Launcher, McpEvent, McpManager, McpOptions, McpTool, Progress, ServerState,
    ServerStatus,
};
