//! Reading a hook's JSON stdout, as strictly as Codex does.
//!
//! Codex's output schemas (`*.command.output.schema.json`) reject unknown fields, and each
//! event accepts its own set: `decision`/`reason` only where the event can block,
//! `hookSpecificOutput` only with the fields that event understands. Output that breaks these
//! rules is "invalid JSON output" (the run fails and has no effect), so a misspelled field
//! never silently does nothing. This module only reads; [`crate::outcome`] decides what the
//! fields mean.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::event::HookEvent;

/// The fields every event accepts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Universal {
    /// `continue` (default true): false stops the turn.
    pub proceed: bool,
    pub stop_reason: Option<String>,
    pub suppress_output: bool,
    pub system_message: Option<String>,
}

/// `hookSpecificOutput.decision` of `PermissionRequest`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PermissionDecisionWire {
    pub behavior: Behavior,
    #[serde(default)]
    pub updated_input: Option<Value>,
    #[serde(default)]
    pub updated_permissions: Option<Value>,
    #[serde(default)]
    pub add_directories: Option<Value>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub interrupt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Behavior {
    Allow,
    Deny,
}

/// `hookSpecificOutput`, all events' fields (each event allows only its own).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Specific {
    #[serde(default)]
    pub permission_decision: Option<String>,
    #[serde(default)]
    pub permission_decision_reason: Option<String>,
    #[serde(default)]
    pub updated_input: Option<Value>,
    #[serde(default)]
    pub additional_context: Option<String>,
    #[serde(default)]
    pub decision: Option<PermissionDecisionWire>,
    #[serde(default, rename = "updatedMCPToolOutput")]
    pub updated_mcp_tool_output: Option<Value>,
}

/// A parsed, schema-valid output.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed {
    pub universal: Universal,
    /// `decision`: `block` (or, for `PreToolUse`, the legacy `approve`).
    pub decision: Option<String>,
    pub reason: Option<String>,
    pub specific: Option<Specific>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopWire {
    #[serde(default = "yes", rename = "continue")]
    proceed: bool,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    suppress_output: bool,
    #[serde(default)]
    system_message: Option<String>,
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

fn yes() -> bool {
    true
}

const UNIVERSAL: [&str; 4] = ["continue", "stopReason", "suppressOutput", "systemMessage"];

/// Top-level fields beyond the universal ones, per event.
fn extra_fields(event: HookEvent) -> &'static [&'static str] {
    match event {
        HookEvent::PreToolUse | HookEvent::PostToolUse | HookEvent::UserPromptSubmit => {
            &["decision", "reason", "hookSpecificOutput"]
        }
        HookEvent::Stop => &["decision", "reason"],
        HookEvent::PermissionRequest | HookEvent::SessionStart => &["hookSpecificOutput"],
        HookEvent::PreCompact | HookEvent::PostCompact | HookEvent::SessionEnd => &[],
    }
}

/// `hookSpecificOutput` fields (besides `hookEventName`), per event.
fn specific_fields(event: HookEvent) -> &'static [&'static str] {
    match event {
        HookEvent::PreToolUse => &[
            "permissionDecision",
            "permissionDecisionReason",
            "updatedInput",
            "additionalContext",
        ],
        HookEvent::PermissionRequest => &["decision"],
        HookEvent::PostToolUse => &["additionalContext", "updatedMCPToolOutput"],
        HookEvent::SessionStart | HookEvent::UserPromptSubmit => &["additionalContext"],
        _ => &[],
    }
}

/// `decision` values, per event.
fn decisions(event: HookEvent) -> &'static [&'static str] {
    match event {
        HookEvent::PreToolUse => &["approve", "block"],
        _ => &["block"],
    }
}

/// The event names `hookSpecificOutput.hookEventName` may hold (Codex's wire enum).
const SPECIFIC_EVENT_NAMES: [&str; 6] = [
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "SessionStart",
    "UserPromptSubmit",
    "Stop",
];

/// Parses `stdout` as `event`'s output; `None` when it is not a JSON object that the event's
/// schema accepts.
pub(crate) fn parse(event: HookEvent, stdout: &str) -> Option<Parsed> {
    let value: Value = serde_json::from_str(stdout.trim()).ok()?;
    let object = value.as_object()?;
    let extra = extra_fields(event);
    if object
        .keys()
        .any(|key| !UNIVERSAL.contains(&key.as_str()) && !extra.contains(&key.as_str()))
    {
        return None;
    }
    let top = TopWire::deserialize(&value).ok()?;
    if let Some(decision) = &top.decision {
        if !decisions(event).contains(&decision.as_str()) {
            return None;
        }
    }
    let specific = match object.get("hookSpecificOutput") {
        None | Some(Value::Null) => None,
        Some(Value::Object(specific)) => Some(parse_specific(event, specific)?),
        Some(_) => return None,
    };
    Some(Parsed {
        universal: Universal {
            proceed: top.proceed,
            stop_reason: top.stop_reason,
            suppress_output: top.suppress_output,
            system_message: top.system_message,
        },
        decision: top.decision,
        reason: top.reason,
        specific,
    })
}

fn parse_specific(event: HookEvent, object: &Map<String, Value>) -> Option<Specific> {
    let allowed = specific_fields(event);
    let name = object.get("hookEventName")?.as_str()?;
    if !SPECIFIC_EVENT_NAMES.contains(&name) {
        return None;
    }
    let mut rest = object.clone();
    rest.remove("hookEventName");
    if rest.keys().any(|key| !allowed.contains(&key.as_str())) {
        return None;
    }
    let specific = Specific::deserialize(&Value::Object(rest)).ok()?;
    if let Some(decision) = &specific.permission_decision {
        if !["allow", "deny", "ask"].contains(&decision.as_str()) {
            return None;
        }
    }
    Some(specific)
}

/// Whether stdout was meant as JSON (so failing to parse it is an error, not plain text).
pub(crate) fn looks_like_json(stdout: &str) -> bool {
    let trimmed = stdout.trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('[')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_universal_and_specific_fields() {
        let parsed = parse(
            HookEvent::PreToolUse,
            r#"{"systemMessage":"hi","hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"no","additionalContext":"ctx"}}"#,
        );
        let Some(parsed) = parsed else {
            panic!("should parse");
        };
        assert!(parsed.universal.proceed);
        assert_eq!(parsed.universal.system_message.as_deref(), Some("hi"));
        let specific = parsed.specific.unwrap_or_default();
        assert_eq!(specific.permission_decision.as_deref(), Some("deny"));
        assert_eq!(specific.additional_context.as_deref(), Some("ctx"));
    }

    #[test]
    fn rejects_what_the_event_schema_does_not_allow() {
        // Unknown field, misspelling, wrong type, event-foreign field, bad enum value.
        for (event, text) in [
            (HookEvent::PreToolUse, r#"{"continu":false}"#),
            (HookEvent::PreToolUse, r#"{"continue":"no"}"#),
            (
                HookEvent::Stop,
                r#"{"hookSpecificOutput":{"hookEventName":"Stop"}}"#,
            ),
            (
                HookEvent::PreCompact,
                r#"{"decision":"block","reason":"x"}"#,
            ),
            (HookEvent::Stop, r#"{"decision":"approve","reason":"x"}"#),
            (
                HookEvent::PreToolUse,
                r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"maybe"}}"#,
            ),
            (
                HookEvent::SessionStart,
                r#"{"hookSpecificOutput":{"additionalContext":"no event name"}}"#,
            ),
            (
                HookEvent::SessionStart,
                r#"{"hookSpecificOutput":{"hookEventName":"SessionStart","permissionDecision":"allow"}}"#,
            ),
            (HookEvent::Stop, "[1]"),
            (HookEvent::Stop, "{"),
        ] {
            assert_eq!(parse(event, text), None, "{event}: {text}");
        }
        assert!(parse(HookEvent::PreToolUse, r#"{"decision":"approve"}"#).is_some());
        assert!(parse(HookEvent::PostCompact, r#"{"continue":false}"#).is_some());
    }

    #[test]
    fn json_like_output_is_recognised() {
        assert!(looks_like_json("  {\"a\""));
        assert!(looks_like_json("[1"));
        assert!(!looks_like_json("plain text"));
    }
}
