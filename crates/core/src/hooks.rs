//! Lifecycle hooks in a thread: the user's and the repository's hook commands (see
//! `wright-hooks`), run at Codex's events with Codex's payloads. Each run is reported as
//! `Event::HookStarted` / `Event::HookCompleted`; what the hooks decide (block a tool call,
//! deny an approval, add context, stop or continue the turn) is applied by the caller.
//!
//! Hooks run with the user's own rights, outside the sandbox: the user wrote them. A
//! repository's own hooks run only once the user trusts them (`wright hooks trust`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use wright_hooks::payload::{self, PermissionMode, SessionInfo};
use wright_hooks::{Decision, HookEvent, HookProgress, Hooks, HooksOptions, TrustPolicy};
use wright_protocol::Event;

use crate::config::{ApprovalPolicy, Config, SandboxMode};

/// The hooks of one thread and what every payload says about it.
pub struct ThreadHooks {
    hooks: Hooks,
    pub session: SessionInfo,
}

/// The repository root above `cwd` (where `.git` is), whose `.codex/` and `.wright/` may hold
/// hooks.
pub fn repo_root(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The user's `config.toml` as the hook loader reads it (only `[hooks]` matters).
fn user_config(config: &Config) -> Option<toml::Value> {
    config.hooks.as_ref().map(|hooks| {
        let mut table = toml::Table::new();
        table.insert("hooks".into(), hooks.clone());
        toml::Value::Table(table)
    })
}

/// Loads the hooks that apply to this configuration; `None` when there are none.
pub async fn load(config: &Config) -> Result<Hooks, String> {
    Hooks::load(
        &config.wright_home,
        user_config(config).as_ref(),
        repo_root(&config.cwd).as_deref(),
        TrustPolicy::default(),
        HooksOptions::default(),
    )
    .await
    .map_err(|e| e.to_string())
}

/// Claude Code's name for the permission mode the thread runs in.
fn permission_mode(config: &Config) -> PermissionMode {
    match (config.approval_policy, config.sandbox_mode) {
        (ApprovalPolicy::Never, SandboxMode::DangerFullAccess) => PermissionMode::BypassPermissions,
        (ApprovalPolicy::Never, _) => PermissionMode::DontAsk,
        _ => PermissionMode::Default,
    }
}

impl ThreadHooks {
    /// The thread's hooks, or `None` when none are configured (nothing to run, ever).
    pub async fn for_thread(thread_id: &str, config: &Config) -> Option<Arc<ThreadHooks>> {
        let hooks = match load(config).await {
            Ok(hooks) => hooks,
            Err(why) => {
                tracing::warn!("hooks not loaded: {why}");
                return None;
            }
        };
        for warning in hooks.warnings() {
            tracing::warn!("hooks: {warning}");
        }
        if hooks.hooks().is_empty() {
            return None;
        }
        Some(Arc::new(ThreadHooks {
            hooks,
            session: SessionInfo {
                session_id: thread_id.to_string(),
                transcript_path: None,
                cwd: config.cwd.clone(),
                model: config.model.clone(),
                permission_mode: permission_mode(config),
            },
        }))
    }

    /// Whether any hook is configured for `event` (whatever its matcher).
    pub fn any(&self, event: HookEvent) -> bool {
        self.hooks.hooks().iter().any(|h| h.event == event)
    }

    /// Runs the hooks of `event` and returns what they decided, reporting each run on
    /// `events`.
    pub async fn run(
        &self,
        event: HookEvent,
        matcher: Option<&str>,
        input: Value,
        events: &UnboundedSender<Event>,
    ) -> Decision {
        if !self.any(event) {
            return Decision::default();
        }
        let observer = |progress: HookProgress| match progress {
            HookProgress::Started(run) => {
                let _ = events.send(Event::HookStarted(run));
            }
            HookProgress::Completed(run) => {
                let _ = events.send(Event::HookCompleted(run));
            }
            HookProgress::Skipped { warning, .. } => {
                tracing::warn!("{warning}");
                let _ = events.send(Event::Warning { message: warning });
            }
        };
        let outcome = self.hooks.dispatch(event, matcher, input, &observer).await;
        for warning in outcome.warnings {
            tracing::warn!("{warning}");
        }
        outcome.decision
    }

    pub async fn session_start(&self, resumed: bool, events: &UnboundedSender<Event>) -> Decision {
        let source = if resumed {
            payload::SessionStartSource::Resume
        } else {
            payload::SessionStartSource::Startup
        };
        let input = payload::session_start(&self.session, source);
        self.run(
            HookEvent::SessionStart,
            Some(source.as_str()),
            input,
            events,
        )
        .await
    }

    pub async fn user_prompt_submit(
        &self,
        turn_id: &str,
        prompt: &str,
        events: &UnboundedSender<Event>,
    ) -> Decision {
        let input = payload::user_prompt_submit(&self.session, turn_id, prompt);
        self.run(HookEvent::UserPromptSubmit, None, input, events)
            .await
    }

    pub async fn stop(
        &self,
        turn_id: &str,
        active: bool,
        last_message: Option<&str>,
        events: &UnboundedSender<Event>,
    ) -> Decision {
        let input = payload::stop(&self.session, turn_id, active, last_message);
        self.run(HookEvent::Stop, None, input, events).await
    }

    pub async fn compact(
        &self,
        event: HookEvent,
        turn_id: &str,
        manual: bool,
        events: &UnboundedSender<Event>,
    ) -> Decision {
        let trigger = if manual {
            payload::CompactTrigger::Manual
        } else {
            payload::CompactTrigger::Auto
        };
        let input = match event {
            HookEvent::PreCompact => payload::pre_compact(&self.session, turn_id, trigger),
            _ => payload::post_compact(&self.session, turn_id, trigger),
        };
        self.run(event, Some(trigger.as_str()), input, events).await
    }
}

/// How a tool call looks to hooks: Codex's (and Claude Code's) tool name and input. Shell
/// tools are `Bash` with `{"command": ...}`; a patch is `apply_patch` with the patch as
/// `command`; other tools (MCP's included) by name with their JSON arguments.
pub fn tool_view(name: &str, payload: &str, custom: bool) -> (String, Value) {
    let args: Value = if custom {
        Value::Null
    } else {
        serde_json::from_str(payload).unwrap_or(Value::Null)
    };
    match name {
        "exec_command" => ("Bash".into(), json!({"command": args["cmd"]})),
        "shell" | "shell_command" | "container.exec" => {
            let command = match &args["command"] {
                Value::Array(argv) => Value::String(
                    argv.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                other => other.clone(),
            };
            ("Bash".into(), json!({ "command": command }))
        }
        "apply_patch" if custom => ("apply_patch".into(), json!({ "command": payload })),
        "apply_patch" => ("apply_patch".into(), json!({ "command": args["input"] })),
        _ => (name.to_string(), args),
    }
}

/// The call's arguments as a hook rewrote them (`updatedInput`), in the call's own shape.
pub(crate) fn rewritten(call: &crate::dispatch::PendingCall, updated: &Value) -> String {
    let command = updated.get("command").and_then(Value::as_str);
    match (call.name.as_str(), command) {
        // A patch tool takes the patch itself.
        ("apply_patch", Some(patch)) if call.custom => patch.to_string(),
        ("apply_patch", Some(patch)) => json!({ "input": patch }).to_string(),
        // Shell tools keep their other arguments; only the command changes.
        ("exec_command", Some(cmd)) => {
            let mut args: Value = serde_json::from_str(&call.payload).unwrap_or(json!({}));
            args["cmd"] = json!(cmd);
            args.to_string()
        }
        ("shell" | "shell_command" | "container.exec", Some(cmd)) => {
            let mut args: Value = serde_json::from_str(&call.payload).unwrap_or(json!({}));
            args["command"] = json!(["bash", "-lc", cmd]);
            args.to_string()
        }
        _ => updated.to_string(),
    }
}

/// Adds the hooks' notes for the model to a tool's output (text, or content parts).
pub(crate) fn append_notes(output: &mut Value, notes: &[String]) {
    let text = notes.join("\n\n");
    match output {
        Value::String(s) => {
            s.push_str("\n\n");
            s.push_str(&text);
        }
        Value::Array(parts) => parts.push(json!({"type": "input_text", "text": text})),
        other => *other = json!(text),
    }
}

/// How an approval looks to `PermissionRequest` hooks: the tool and its input.
pub(crate) fn approval_view(request: &crate::approval::ApprovalRequest) -> (String, Value) {
    use crate::approval::ApprovalRequest as R;
    match request {
        R::Command { argv, .. } => (
            "Bash".into(),
            json!({ "command": argv.last().cloned().unwrap_or_default() }),
        ),
        R::Patch { changes, .. } => (
            "apply_patch".into(),
            json!({ "files": changes.iter().map(|c| c.path.clone()).collect::<Vec<_>>() }),
        ),
        R::McpToolCall {
            server,
            tool,
            arguments,
            ..
        } => (format!("mcp__{server}__{tool}"), arguments.clone()),
    }
}

/// The hooks' context for the model, as a developer message (none when there is none).
pub fn context_message(decision: &Decision) -> Option<Value> {
    if decision.additional_context.is_empty() {
        return None;
    }
    Some(crate::context::message(
        "developer",
        &decision.additional_context,
    ))
}

/// Payload builders for the tool events (re-exported for the tool runner).
pub use wright_hooks::payload::{permission_request, post_tool_use, pre_tool_use};
