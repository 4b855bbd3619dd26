//! wright's lifecycle hooks: commands the user configures to run at events of an agent
//! session, compatible with Codex's (and so Claude Code's) hooks.
//!
//! A hook is a shell command. At its event (before a tool call, when a prompt is submitted,
//! when the turn wants to stop, ...) it gets the event as JSON on stdin and answers with its
//! exit status and, optionally, JSON on stdout: it can block a tool call, deny an approval,
//! add context for the model, or stop the turn.
//!
//! * [`config`]: where hooks are configured (`hooks.json` and `[hooks]` in `config.toml`, in
//!   `$WRIGHT_HOME` and in the repository's `.codex/` or `.wright/`) and how they are read;
//! * [`matcher`]: which tools a hook applies to;
//! * [`payload`]: the stdin JSON of each event;
//! * [`runner`]: running one command (the user's shell, timeout, process group);
//! * [`outcome`]: what an exit status and an output mean, per event, and together;
//! * [`trust`]: a repository's hooks run only once the user trusts them;
//! * [`dispatch`]: [`Hooks`], which ties these together;
//! * [`wire`]: the App Server shapes (`HookRunSummary`, `HookMetadata`).
//!
//! Hooks run with the user's rights and outside the sandbox; see [`runner`].

pub mod config;
pub mod dispatch;
pub mod event;
pub mod matcher;
pub mod outcome;
mod output;
pub mod payload;
pub mod runner;
pub mod trust;
pub mod wire;

pub use config::{discover, CommandHandler, ConfiguredHook, Discovered, HookId};
pub use dispatch::{EventOutcome, HookProgress, Hooks, HooksOptions};
pub use event::{HookEvent, HookScope};
pub use matcher::Matcher;
pub use outcome::{Decision, HookOutcome, Permission};
pub use runner::{run, HookRun, HookShell, RunContext, RunError};
pub use trust::{TrustError, TrustPolicy, TrustStore};
pub use wire::{HookMetadata, HookRunStatus, HookRunSummary, HookTrustStatus, HooksListEntry};
