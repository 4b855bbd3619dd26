//! Tool definitions and handlers: what the model can call, how a call's arguments are read, and
//! how each call runs. Policy (may this run?) is not decided here.
//!
//! - [`spec`]: the tool declarations sent to the model.
//! - [`call`]: a model's raw call (function arguments or freeform input) read into a [`call::ToolCall`].
//! - [`shell`]: run a command in a process group, with timeout, cancellation and capped output.
//! - [`apply_patch`]: Codex's patch format, verified in full before any file is written.
//! - [`plan`]: the `update_plan` tool.

pub mod apply_patch;
pub mod call;
pub mod plan;
pub mod shell;
pub mod spec;
pub mod truncate;
