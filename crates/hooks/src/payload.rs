//! The JSON a hook reads on stdin, per event, with Codex's field names, order and types
//! (`codex-rs/hooks/schema/generated/*.command.input.schema.json`). Claude Code's hooks read
//! the same fields, which is why scripts written for either run under wright.
//!
//! Every payload starts with `session_id`, (`turn_id`,) `transcript_path` (a string or
//! `null`), `cwd` and `hook_event_name`, then `model` and, except for the compact events,
//! `permission_mode`. The dispatcher takes the hook's working directory from `cwd`.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::event::HookEvent;

/// What every payload says about the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The thread id.
    pub session_id: String,
    /// The rollout file, if the session has one.
    pub transcript_path: Option<PathBuf>,
    pub cwd: PathBuf,
    pub model: String,
    pub permission_mode: PermissionMode,
}

/// Claude Code's permission modes, the values Codex's schemas allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionMode {
    Default,
    AcceptEdits,
    Plan,
    DontAsk,
    BypassPermissions,
}

impl PermissionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::AcceptEdits => "acceptEdits",
            PermissionMode::Plan => "plan",
            PermissionMode::DontAsk => "dontAsk",
            PermissionMode::BypassPermissions => "bypassPermissions",
        }
    }
}

/// Why a session started (`source`, also what `SessionStart` matchers see).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStartSource {
    Startup,
    Resume,
    Clear,
    Compact,
}

impl SessionStartSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStartSource::Startup => "startup",
            SessionStartSource::Resume => "resume",
            SessionStartSource::Clear => "clear",
            SessionStartSource::Compact => "compact",
        }
    }
}

/// What started a compaction (`trigger`, also what compact matchers see).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactTrigger {
    Manual,
    Auto,
}

impl CompactTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            CompactTrigger::Manual => "manual",
            CompactTrigger::Auto => "auto",
        }
    }
}

/// Why a session ended (`reason` of wright's `SessionEnd`, Claude Code's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEndReason {
    Clear,
    Logout,
    PromptInputExit,
    Other,
}

impl SessionEndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEndReason::Clear => "clear",
            SessionEndReason::Logout => "logout",
            SessionEndReason::PromptInputExit => "prompt_input_exit",
            SessionEndReason::Other => "other",
        }
    }
}

/// Builds a payload field by field, in Codex's order.
struct Payload(Map<String, Value>);

impl Payload {
    fn new(session: &SessionInfo, turn_id: Option<&str>, event: HookEvent) -> Payload {
        let mut map = Map::new();
        map.insert("session_id".into(), session.session_id.clone().into());
        if let Some(turn_id) = turn_id {
            map.insert("turn_id".into(), turn_id.into());
        }
        map.insert(
            "transcript_path".into(),
            session
                .transcript_path
                .as_ref()
                .map_or(Value::Null, |path| path.display().to_string().into()),
        );
        map.insert("cwd".into(), session.cwd.display().to_string().into());
        map.insert("hook_event_name".into(), event.config_name().into());
        map.insert("model".into(), session.model.clone().into());
        Payload(map)
    }

    fn permission_mode(self, session: &SessionInfo) -> Payload {
        self.with("permission_mode", session.permission_mode.as_str())
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> Payload {
        self.0.insert(key.into(), value.into());
        self
    }

    fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// `SessionStart`: `source` is `startup`, `resume`, `clear` or `compact`. No `turn_id`.
pub fn session_start(session: &SessionInfo, source: SessionStartSource) -> Value {
    Payload::new(session, None, HookEvent::SessionStart)
        .permission_mode(session)
        .with("source", source.as_str())
        .build()
}

/// `UserPromptSubmit`: the prompt as the user typed it.
pub fn user_prompt_submit(session: &SessionInfo, turn_id: &str, prompt: &str) -> Value {
    Payload::new(session, Some(turn_id), HookEvent::UserPromptSubmit)
        .permission_mode(session)
        .with("prompt", prompt)
        .build()
}

/// `PreToolUse`: `tool_input` is `{"command": ...}` for shell tools and the call's JSON
/// arguments for the others; `tool_use_id` is the call id.
pub fn pre_tool_use(
    session: &SessionInfo,
    turn_id: &str,
    tool_name: &str,
    tool_input: &Value,
    tool_use_id: &str,
) -> Value {
    Payload::new(session, Some(turn_id), HookEvent::PreToolUse)
        .permission_mode(session)
        .with("tool_name", tool_name)
        .with("tool_input", tool_input.clone())
        .with("tool_use_id", tool_use_id)
        .build()
}

/// `PermissionRequest`: sent before the approval prompt; no `tool_use_id`.
pub fn permission_request(
    session: &SessionInfo,
    turn_id: &str,
    tool_name: &str,
    tool_input: &Value,
) -> Value {
    Payload::new(session, Some(turn_id), HookEvent::PermissionRequest)
        .permission_mode(session)
        .with("tool_name", tool_name)
        .with("tool_input", tool_input.clone())
        .build()
}

/// `PostToolUse`: the call and what the tool returned.
pub fn post_tool_use(
    session: &SessionInfo,
    turn_id: &str,
    tool_name: &str,
    tool_input: &Value,
    tool_response: &Value,
    tool_use_id: &str,
) -> Value {
    Payload::new(session, Some(turn_id), HookEvent::PostToolUse)
        .permission_mode(session)
        .with("tool_name", tool_name)
        .with("tool_input", tool_input.clone())
        .with("tool_response", tool_response.clone())
        .with("tool_use_id", tool_use_id)
        .build()
}

/// `PreCompact`: no `permission_mode`.
pub fn pre_compact(session: &SessionInfo, turn_id: &str, trigger: CompactTrigger) -> Value {
    Payload::new(session, Some(turn_id), HookEvent::PreCompact)
        .with("trigger", trigger.as_str())
        .build()
}

/// `PostCompact`: no `permission_mode`.
pub fn post_compact(session: &SessionInfo, turn_id: &str, trigger: CompactTrigger) -> Value {
    Payload::new(session, Some(turn_id), HookEvent::PostCompact)
        .with("trigger", trigger.as_str())
        .build()
}

/// `Stop`: `stop_hook_active` is true when the turn is already continuing because a stop
/// hook blocked, so a hook can avoid looping forever.
pub fn stop(
    session: &SessionInfo,
    turn_id: &str,
    stop_hook_active: bool,
    last_assistant_message: Option<&str>,
) -> Value {
    Payload::new(session, Some(turn_id), HookEvent::Stop)
        .permission_mode(session)
        .with("stop_hook_active", stop_hook_active)
        .with(
            "last_assistant_message",
            last_assistant_message.map_or(Value::Null, Value::from),
        )
        .build()
}

/// `SessionEnd` (wright's; Claude Code's shape): no `turn_id`, plus `reason`.
pub fn session_end(session: &SessionInfo, reason: SessionEndReason) -> Value {
    Payload::new(session, None, HookEvent::SessionEnd)
        .permission_mode(session)
        .with("reason", reason.as_str())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session() -> SessionInfo {
        SessionInfo {
            session_id: "thr_1".into(),
            transcript_path: None,
            cwd: PathBuf::from("/home/user/repo"),
            model: "gpt-5".into(),
            permission_mode: PermissionMode::Default,
        }
    }

    fn keys(value: &Value) -> Vec<String> {
        value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn pre_tool_use_has_codex_fields_in_order() {
        let value = pre_tool_use(
            &session(),
            "turn-1",
            "Bash",
            &json!({"command": "ls"}),
            "call-1",
        );
        assert_eq!(
            value.to_string(),
            r#"{"session_id":"thr_1","turn_id":"turn-1","transcript_path":null,"cwd":"/home/user/repo","hook_event_name":"PreToolUse","model":"gpt-5","permission_mode":"default","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"call-1"}"#
        );
    }

    #[test]
    fn other_events_carry_their_schema_fields() {
        let s = session();
        assert_eq!(
            keys(&session_start(&s, SessionStartSource::Resume)),
            [
                "session_id",
                "transcript_path",
                "cwd",
                "hook_event_name",
                "model",
                "permission_mode",
                "source"
            ]
        );
        assert_eq!(
            keys(&pre_compact(&s, "t", CompactTrigger::Auto)),
            [
                "session_id",
                "turn_id",
                "transcript_path",
                "cwd",
                "hook_event_name",
                "model",
                "trigger"
            ]
        );
        let stop_value = stop(&s, "t", true, Some("done"));
        assert_eq!(stop_value["stop_hook_active"], true);
        assert_eq!(stop_value["last_assistant_message"], "done");
        assert_eq!(
            stop(&s, "t", false, None)["last_assistant_message"],
            Value::Null
        );
        let post = post_tool_use(&s, "t", "Bash", &json!({}), &json!({"ok": true}), "c");
        assert_eq!(post["tool_response"], json!({"ok": true}));
        assert_eq!(post["hook_event_name"], "PostToolUse");
        assert!(permission_request(&s, "t", "Bash", &json!({}))
            .get("tool_use_id")
            .is_none());
        assert_eq!(user_prompt_submit(&s, "t", "hi")["prompt"], "hi");
        assert_eq!(
            post_compact(&s, "t", CompactTrigger::Manual)["trigger"],
            "manual"
        );
        assert_eq!(session_end(&s, SessionEndReason::Other)["reason"], "other");
        let mut with_path = s.clone();
        with_path.transcript_path = Some(PathBuf::from("/h/t.jsonl"));
        with_path.permission_mode = PermissionMode::BypassPermissions;
        let value = user_prompt_submit(&with_path, "t", "x");
        assert_eq!(value["transcript_path"], "/h/t.jsonl");
        assert_eq!(value["permission_mode"], "bypassPermissions");
    }
}
