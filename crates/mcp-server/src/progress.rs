//! The one-line progress messages (`notifications/progress`) a running tool call sends for the
//! items of its turn: what the agent starts and finishes, and what it says.

use wright_protocol::v2::{
    CollabAgentTool, CollabAgentToolCallStatus, CommandAction, CommandExecutionStatus,
    McpToolCallStatus, PatchApplyStatus, ThreadItem,
};

/// At most this many characters of a command, file list or message: a progress line is a
/// status, not a transcript.
const MAX_CHARS: usize = 120;

/// The message for an item that started, if it is worth one.
pub fn started(item: &ThreadItem) -> Option<String> {
    let text = match item {
        ThreadItem::CommandExecution {
            command,
            command_actions,
            ..
        } => format!("running: {}", script(command, command_actions)),
        ThreadItem::FileChange { changes, .. } => format!(
            "editing: {}",
            changes
                .iter()
                .map(|c| c.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ThreadItem::McpToolCall { server, tool, .. } => format!("calling: {server}/{tool}"),
        ThreadItem::WebSearch { query, .. } => format!("searching: {query}"),
        ThreadItem::ContextCompaction { .. } => "compacting the context".to_string(),
        ThreadItem::EnteredReviewMode { .. } => "reviewing".to_string(),
        ThreadItem::CollabAgentToolCall { tool, .. } => format!("agents: {}", collab_verb(*tool)),
        // The user's own message, and text whose completion is reported instead.
        ThreadItem::UserMessage { .. }
        | ThreadItem::AgentMessage { .. }
        | ThreadItem::Plan { .. }
        | ThreadItem::Reasoning { .. }
        | ThreadItem::ExitedReviewMode { .. } => return None,
    };
    Some(shorten(text))
}

/// The message for an item that completed, if it is worth one.
pub fn completed(item: &ThreadItem) -> Option<String> {
    let text = match item {
        ThreadItem::CommandExecution {
            command,
            command_actions,
            status,
            exit_code,
            ..
        } => {
            let script = script(command, command_actions);
            match (status, exit_code) {
                (CommandExecutionStatus::Declined, _) => format!("declined: {script}"),
                (_, Some(code)) => format!("finished (exit {code}): {script}"),
                (CommandExecutionStatus::Failed, None) => format!("failed: {script}"),
                (_, None) => format!("finished: {script}"),
            }
        }
        ThreadItem::FileChange {
            changes, status, ..
        } => {
            let verb = match status {
                PatchApplyStatus::Declined => "edit declined",
                PatchApplyStatus::Failed => "edit failed",
                PatchApplyStatus::Completed | PatchApplyStatus::InProgress => "edited",
            };
            let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
            format!("{verb}: {}", paths.join(", "))
        }
        ThreadItem::McpToolCall {
            server,
            tool,
            status,
            ..
        } => match status {
            McpToolCallStatus::Failed => format!("failed: {server}/{tool}"),
            _ => format!("called: {server}/{tool}"),
        },
        ThreadItem::AgentMessage { text, .. } if !text.trim().is_empty() => {
            format!("message: {}", text.trim())
        }
        ThreadItem::ContextCompaction { .. } => "compacted the context".to_string(),
        ThreadItem::CollabAgentToolCall {
            tool,
            status: CollabAgentToolCallStatus::Failed,
            ..
        } => format!("agents: {} failed", collab_verb(*tool)),
        ThreadItem::CollabAgentToolCall { .. }
        | ThreadItem::UserMessage { .. }
        | ThreadItem::AgentMessage { .. }
        | ThreadItem::Plan { .. }
        | ThreadItem::Reasoning { .. }
        | ThreadItem::WebSearch { .. }
        | ThreadItem::EnteredReviewMode { .. }
        | ThreadItem::ExitedReviewMode { .. } => return None,
    };
    Some(shorten(text))
}

/// What a multi-agent call does, in a word or two.
fn collab_verb(tool: CollabAgentTool) -> &'static str {
    match tool {
        CollabAgentTool::SpawnAgent => "spawning",
        CollabAgentTool::SendInput | CollabAgentTool::SendMessage => "messaging",
        CollabAgentTool::FollowupTask => "assigning",
        CollabAgentTool::ResumeAgent => "resuming",
        CollabAgentTool::Wait => "waiting",
        CollabAgentTool::CloseAgent => "closing",
        CollabAgentTool::InterruptAgent => "interrupting",
        CollabAgentTool::ListAgents => "listing",
    }
}

/// The script the model asked for, without the shell wrapper the engine put around it.
fn script<'a>(command: &'a str, actions: &'a [CommandAction]) -> &'a str {
    match actions.first() {
        Some(
            CommandAction::Read { command, .. }
            | CommandAction::ListFiles { command, .. }
            | CommandAction::Search { command, .. }
            | CommandAction::Unknown { command },
        ) => command,
        None => command,
    }
}

/// The first line, at most [`MAX_CHARS`] characters, marked when cut.
fn shorten(text: String) -> String {
    let first = text.lines().next().unwrap_or_default();
    let cut = first.chars().count() > MAX_CHARS || first.len() < text.trim_end().len();
    if !cut {
        return text;
    }
    let mut short: String = first.chars().take(MAX_CHARS).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use wright_protocol::v2::{CommandExecutionSource, FileUpdateChange, PatchChangeKind};

    fn command(status: CommandExecutionStatus, exit_code: Option<i32>) -> ThreadItem {
        ThreadItem::CommandExecution {
            id: "c".into(),
            command: "/bin/bash -lc 'cargo test'".into(),
            cwd: "/w".into(),
            process_id: None,
            source: CommandExecutionSource::Agent,
            status,
            command_actions: vec![CommandAction::Unknown {
                command: "cargo test".into(),
            }],
            aggregated_output: None,
            exit_code,
            duration_ms: None,
            plugin_id: None,
            script_path: None,
            started_at_ms: None,
            completed_at_ms: None,
        }
    }

    #[test]
    fn commands_read_as_the_model_wrote_them() {
        let running = command(CommandExecutionStatus::InProgress, None);
        assert_eq!(started(&running).unwrap(), "running: cargo test");
        let done = command(CommandExecutionStatus::Completed, Some(101));
        assert_eq!(completed(&done).unwrap(), "finished (exit 101): cargo test");
        let declined = command(CommandExecutionStatus::Declined, None);
        assert_eq!(completed(&declined).unwrap(), "declined: cargo test");
    }

    #[test]
    fn edits_name_their_files() {
        let item = ThreadItem::FileChange {
            id: "p".into(),
            changes: ["a.rs", "b.rs"]
                .map(|path| FileUpdateChange {
                    path: path.into(),
                    kind: PatchChangeKind::Add,
                    diff: String::new(),
                })
                .to_vec(),
            status: PatchApplyStatus::Declined,
            started_at_ms: None,
            completed_at_ms: None,
        };
        assert_eq!(started(&item).unwrap(), "editing: a.rs, b.rs");
        assert_eq!(completed(&item).unwrap(), "edit declined: a.rs, b.rs");
    }

    #[test]
    fn long_or_multiline_text_is_cut_to_one_short_line() {
        let message = ThreadItem::AgentMessage {
            id: "m".into(),
            text: "first line\nsecond line".into(),
            phase: None,
            moderation: None,
            memory_citation: None,
            delivery: None,
            questions: None,
            started_at_ms: None,
            completed_at_ms: None,
        };
        assert_eq!(started(&message), None);
        assert_eq!(completed(&message).unwrap(), "message: first line…");
        let long = shorten("x".repeat(500));
        assert_eq!(long.chars().count(), MAX_CHARS + 1);
    }
}
