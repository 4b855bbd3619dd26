//! The lifecycle events a hook can be attached to, under each of the names Codex uses for them.
//!
//! One event has four spellings, and each shows up somewhere a user or a client can see it:
//! `PreToolUse` in config files and in the hook's stdin (`hook_event_name`), `preToolUse` on
//! the App Server wire (`HookEventName`), `pre_tool_use` in hook keys, and `pre-tool-use` in
//! run ids. Keeping them in one table avoids the drift of four hand-written matches.

use serde::{Deserialize, Serialize};

/// A lifecycle event. Serializes as the App Server's `HookEventName` (`preToolUse`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HookEvent {
    SessionStart,
    UserPromptSubmit,
    PreToolUse,
    PermissionRequest,
    PostToolUse,
    PreCompact,
    PostCompact,
    Stop,
    /// Not read by Codex's hook engine (its App Server enum names it, its config has no key
    /// for it); wright defines it like `PostCompact`, with Claude Code's `SessionEnd` payload.
    SessionEnd,
}

/// Whether a run belongs to the thread or to one turn (App Server `HookScope`).
pub use wright_protocol::v2::HookScope;

impl HookEvent {
    /// The App Server's name of the event.
    pub fn wire(self) -> wright_protocol::v2::HookEventName {
        use wright_protocol::v2::HookEventName as W;
        match self {
            HookEvent::SessionStart => W::SessionStart,
            HookEvent::UserPromptSubmit => W::UserPromptSubmit,
            HookEvent::PreToolUse => W::PreToolUse,
            HookEvent::PermissionRequest => W::PermissionRequest,
            HookEvent::PostToolUse => W::PostToolUse,
            HookEvent::PreCompact => W::PreCompact,
            HookEvent::PostCompact => W::PostCompact,
            HookEvent::Stop => W::Stop,
            HookEvent::SessionEnd => W::SessionEnd,
        }
    }

    /// Every event, in the order Codex discovers them in a config file (wright's `SessionEnd`
    /// last). Display order of hooks follows this order.
    pub const ALL: [HookEvent; 9] = [
        HookEvent::PreToolUse,
        HookEvent::PermissionRequest,
        HookEvent::PostToolUse,
        HookEvent::PreCompact,
        HookEvent::PostCompact,
        HookEvent::SessionStart,
        HookEvent::UserPromptSubmit,
        HookEvent::Stop,
        HookEvent::SessionEnd,
    ];

    /// The name in config files and in the hook's stdin (`hook_event_name`).
    pub fn config_name(self) -> &'static str {
        match self {
            HookEvent::SessionStart => "SessionStart",
            HookEvent::UserPromptSubmit => "UserPromptSubmit",
            HookEvent::PreToolUse => "PreToolUse",
            HookEvent::PermissionRequest => "PermissionRequest",
            HookEvent::PostToolUse => "PostToolUse",
            HookEvent::PreCompact => "PreCompact",
            HookEvent::PostCompact => "PostCompact",
            HookEvent::Stop => "Stop",
            HookEvent::SessionEnd => "SessionEnd",
        }
    }

    /// The event named `name` in a config file, if there is one.
    pub fn from_config_name(name: &str) -> Option<HookEvent> {
        HookEvent::ALL
            .into_iter()
            .find(|event| event.config_name() == name)
    }

    /// The label in hook keys (`<source>:pre_tool_use:0:0`) and in the trust hash.
    pub fn key_label(self) -> &'static str {
        match self {
            HookEvent::SessionStart => "session_start",
            HookEvent::UserPromptSubmit => "user_prompt_submit",
            HookEvent::PreToolUse => "pre_tool_use",
            HookEvent::PermissionRequest => "permission_request",
            HookEvent::PostToolUse => "post_tool_use",
            HookEvent::PreCompact => "pre_compact",
            HookEvent::PostCompact => "post_compact",
            HookEvent::Stop => "stop",
            HookEvent::SessionEnd => "session_end",
        }
    }

    /// The label that starts a run id (`pre-tool-use:0:/path/hooks.json`).
    pub fn run_label(self) -> &'static str {
        match self {
            HookEvent::SessionStart => "session-start",
            HookEvent::UserPromptSubmit => "user-prompt-submit",
            HookEvent::PreToolUse => "pre-tool-use",
            HookEvent::PermissionRequest => "permission-request",
            HookEvent::PostToolUse => "post-tool-use",
            HookEvent::PreCompact => "pre-compact",
            HookEvent::PostCompact => "post-compact",
            HookEvent::Stop => "stop",
            HookEvent::SessionEnd => "session-end",
        }
    }

    /// Whether a group's `matcher` selects anything for this event. Codex ignores the matcher
    /// (and does not even validate it) for the others: every hook of the event runs.
    ///
    /// What the matcher is matched against: the tool name for the tool events, the `source`
    /// for `SessionStart`, the `trigger` for the compact events.
    pub fn uses_matcher(self) -> bool {
        matches!(
            self,
            HookEvent::PreToolUse
                | HookEvent::PermissionRequest
                | HookEvent::PostToolUse
                | HookEvent::SessionStart
                | HookEvent::PreCompact
                | HookEvent::PostCompact
        )
    }

    /// The App Server scope of a run of this event (Codex: session start is thread-scoped,
    /// the rest belong to a turn; `SessionEnd` outlives every turn, so thread).
    pub fn scope(self) -> HookScope {
        match self {
            HookEvent::SessionStart | HookEvent::SessionEnd => HookScope::Thread,
            _ => HookScope::Turn,
        }
    }
}

impl std::fmt::Display for HookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.config_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_wire_is_camel_case() {
        for event in HookEvent::ALL {
            assert_eq!(
                HookEvent::from_config_name(event.config_name()),
                Some(event)
            );
            let wire = serde_json::to_value(event).unwrap_or_default();
            let config = event.config_name();
            let expected = format!("{}{}", config[..1].to_lowercase(), &config[1..]);
            assert_eq!(wire, serde_json::Value::String(expected));
        }
        assert_eq!(HookEvent::from_config_name("preToolUse"), None);
    }
}
