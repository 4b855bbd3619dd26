//! Tool definitions and handlers: what the model can call, how a call's arguments are read, and
//! how each call runs. Policy (may this run?) is not decided here.
//!
//! - [`spec`]: the tool declarations sent to the model.
//! - [`call`]: a model's raw call (function arguments or freeform input) read into a [`call::ToolCall`].
//! - [`shell`]: run a command in a process group, with timeout, cancellation and capped output.
//! - [`apply_patch`]: Codex's patch format, verified in full before any file is written.
//! - [`plan`]: the `update_plan` tool.
//! - [`process`]: commands in sessions of their own, on a terminal or pipes, killed as a tree.
//! - [`exec_session`]: a command that outlives its call, polled for output in chunks.

pub mod apply_patch;
pub mod call;
pub mod exec_session;
pub mod plan;
pub mod process;
pub mod shell;
pub mod spec;
pub mod truncate;
