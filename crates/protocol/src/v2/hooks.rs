//! Hooks on the wire: `hooks/list` and the `hook/started` / `hook/completed` notifications,
//! shaped as Codex's v2 schema. Optional fields serialize as `null` rather than being left
//! out, as Codex's own server does.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a hook was configured (`HookSource`; wright produces `user` and `project`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookSource {
    User,
    Project,
    Unknown,
}

/// The kind of handler (`HookHandlerType`; wright runs `command` handlers only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookHandlerType {
    Command,
}

/// Whether the turn waited for the hook (`HookExecutionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookExecutionMode {
    Sync,
    Async,
}

/// The state of one run (`HookRunStatus`). There is no `skipped` on the wire: a hook that
/// does not run (untrusted) gets no `hook/started` in Codex either; see
/// wright-hooks' `HookProgress::Skipped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookRunStatus {
    Running,
    Completed,
    Failed,
    Blocked,
    Stopped,
}

/// What a line of hook output is (`HookOutputEntryKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookOutputEntryKind {
    /// `systemMessage`: shown to the user.
    Warning,
    /// `stopReason` of `continue: false`.
    Stop,
    /// Text for the model: a block reason, a continuation prompt.
    Feedback,
    /// `additionalContext` (or plain stdout where Codex takes it as context).
    Context,
    /// The run failed: exit status, timeout, invalid output.
    Error,
}

/// One line of a run's visible output (`HookOutputEntry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HookOutputEntry {
    pub kind: HookOutputEntryKind,
    pub text: String,
}

impl HookOutputEntry {
    pub fn new(kind: HookOutputEntryKind, text: impl Into<String>) -> Self {
        HookOutputEntry {
            kind,
            text: text.into(),
        }
    }
}

/// One run of one hook, as `hook/started` and `hook/completed` carry it (`HookRunSummary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookRunSummary {
    /// `<event-label>:<displayOrder>:<sourcePath>`, plus `:<tool_use_id>` for tool events.
    pub id: String,
    pub event_name: HookEventName,
    pub handler_type: HookHandlerType,
    pub execution_mode: HookExecutionMode,
    pub scope: HookScope,
    pub source_path: String,
    pub source: HookSource,
    pub display_order: i64,
    pub status: HookRunStatus,
    pub status_message: Option<String>,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds; `null` while running.
    pub completed_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub entries: Vec<HookOutputEntry>,
}

/// Whether a configured hook may run (`HookTrustStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookTrustStatus {
    /// Set by an administrator; never asks (wright has no managed layer yet).
    Managed,
    /// Never trusted: does not run.
    Untrusted,
    /// Trusted as it is now (or a user hook, which needs no trust by default).
    Trusted,
    /// Trusted once, changed since: does not run until trusted again.
    Modified,
}

/// One configured hook in `hooks/list` (`HookMetadata`, command variant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookMetadata {
    /// The stable key (`<sourcePath>:<event_key>:<group>:<handler>`), also the hook id.
    pub key: String,
    pub event_name: HookEventName,
    pub handler_type: HookHandlerType,
    pub command: String,
    #[serde(rename = "async")]
    pub is_async: bool,
    pub matcher: Option<String>,
    pub timeout_sec: u64,
    pub status_message: Option<String>,
    pub source_path: String,
    pub source: HookSource,
    pub plugin_id: Option<String>,
    pub environment_id: Option<String>,
    pub additional_context_limit: Option<u64>,
    pub display_order: i64,
    pub enabled: bool,
    pub is_managed: bool,
    /// `sha256:<hex>` of the hook's definition (see the trust file).
    pub current_hash: String,
    pub trust_status: HookTrustStatus,
}

/// A config file that could not be used (`HookErrorInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HookErrorInfo {
    pub path: String,
    pub message: String,
}

/// The hooks of one working directory (`HooksListEntry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HooksListEntry {
    pub cwd: String,
    pub hooks: Vec<HookMetadata>,
    pub warnings: Vec<String>,
    pub errors: Vec<HookErrorInfo>,
}

/// A lifecycle event (`HookEventName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookEventName {
    PreModelRequest,
    PostModelRequest,
    PreToolUse,
    PermissionRequest,
    PostToolUse,
    PreCompact,
    PostCompact,
    SessionStart,
    SessionEnd,
    UserPromptSubmit,
    SubagentStart,
    SubagentStop,
    Stop,
    Interrupt,
}

/// Whether a run belongs to the thread or to one turn (`HookScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HookScope {
    Thread,
    Turn,
}

/// `hooks/list`: the hooks that apply in each working directory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HooksListParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwds: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HooksListResponse {
    pub data: Vec<HooksListEntry>,
}

/// `hook/started`: a hook began to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookStartedNotification {
    pub thread_id: String,
    pub turn_id: Option<String>,
    pub run: HookRunSummary,
}

/// `hook/completed`: a hook finished (its outcome is in `run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookCompletedNotification {
    pub thread_id: String,
    pub turn_id: Option<String>,
    pub run: HookRunSummary,
}
