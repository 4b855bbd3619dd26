//! Pure translations between the App Server's items and notifications and ACP's session
//! updates: what an editor shows for each thing the engine does.

use std::path::PathBuf;

use agent_client_protocol::v1::schema::{
    ContentBlock, ContentChunk, Diff, EmbeddedResourceResource, Plan, PlanEntry, PlanEntryPriority,
    PlanEntryStatus, SessionUpdate, StopReason, ToolCall, ToolCallContent, ToolCallLocation,
    ToolCallStatus, ToolCallUpdate, ToolCallUpdateFields, ToolKind,
};
use serde_json::json;
use wright_protocol::v2::{
    CommandExecutionStatus, FileUpdateChange, McpToolCallStatus, PatchApplyStatus, PatchChangeKind,
    ThreadItem, TurnPlanStep, TurnPlanStepStatus, TurnStatus, UserInput,
};

/// The prompt's content blocks as the input of `turn/start`. Text and images go as they are;
/// a resource the editor embeds (an open file, a selection) goes as text naming its URI, and
/// a resource link as a mention of the file, so the model knows where it came from. Audio is
/// not something wright's models take: it is left out (`Err` when nothing else is left).
pub fn prompt_input(blocks: &[ContentBlock]) -> Result<Vec<UserInput>, String> {
    let mut input = Vec::new();
    let mut skipped = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::Text(text) => input.push(UserInput::text(text.text.clone())),
            ContentBlock::Image(image) => input.push(UserInput::Image {
                url: Some(format!("data:{};base64,{}", image.mime_type, image.data)),
                file_id: None,
                detail: None,
            }),
            ContentBlock::ResourceLink(link) => match file_path(&link.uri) {
                Some(path) => input.push(UserInput::Mention {
                    name: link.name.clone(),
                    path,
                }),
                None => input.push(UserInput::text(format!("@{}", link.uri))),
            },
            ContentBlock::Resource(resource) => match &resource.resource {
                EmbeddedResourceResource::TextResourceContents(text) => {
                    input.push(UserInput::text(format!(
                        "<context ref=\"{}\">\n{}\n</context>",
                        text.uri, text.text
                    )))
                }
                _ => skipped.push("a binary resource"),
            },
            ContentBlock::Audio(_) => skipped.push("audio"),
            _ => skipped.push("a content type this agent does not know"),
        }
    }
    if input.is_empty() {
        return Err(if skipped.is_empty() {
            "nothing".into()
        } else {
            skipped.join(", ")
        });
    }
    Ok(input)
}

fn file_path(uri: &str) -> Option<String> {
    uri.strip_prefix("file://").map(str::to_string)
}

/// A text chunk of the agent's answer.
pub fn agent_text(text: impl Into<String>) -> SessionUpdate {
    SessionUpdate::AgentMessageChunk(ContentChunk::new(ContentBlock::from(text.into())))
}

/// A chunk of the agent's reasoning.
pub fn thought_text(text: impl Into<String>) -> SessionUpdate {
    SessionUpdate::AgentThoughtChunk(ContentChunk::new(ContentBlock::from(text.into())))
}

/// A chunk of what the user said (history replay).
pub fn user_text(text: impl Into<String>) -> SessionUpdate {
    SessionUpdate::UserMessageChunk(ContentChunk::new(ContentBlock::from(text.into())))
}

/// The tool call an item starts, for the items that are tool calls.
pub fn tool_call(item: &ThreadItem) -> Option<ToolCall> {
    let call = match item {
        ThreadItem::CommandExecution {
            id, command, cwd, ..
        } => ToolCall::new(id.clone(), command.clone())
            .kind(ToolKind::Execute)
            .raw_input(json!({"command": command, "cwd": cwd})),
        ThreadItem::FileChange { id, changes, .. } => {
            ToolCall::new(id.clone(), edit_title(changes))
                .kind(
                    if changes.iter().all(|c| c.kind == PatchChangeKind::Delete) {
                        ToolKind::Delete
                    } else {
                        ToolKind::Edit
                    },
                )
                .content(diffs(changes))
                .locations(locations(changes))
        }
        ThreadItem::McpToolCall {
            id,
            server,
            tool,
            arguments,
            ..
        } => ToolCall::new(id.clone(), format!("{server}: {tool}"))
            .kind(ToolKind::Other)
            .raw_input(arguments.clone()),
        ThreadItem::WebSearch { id, query, .. } => {
            ToolCall::new(id.clone(), format!("Search the web: {query}")).kind(ToolKind::Fetch)
        }
        _ => return None,
    };
    Some(call.status(ToolCallStatus::InProgress))
}

/// How a finished tool item updates its tool call.
pub fn tool_call_done(item: &ThreadItem) -> Option<ToolCallUpdate> {
    let fields = match item {
        ThreadItem::CommandExecution {
            status,
            aggregated_output,
            exit_code,
            ..
        } => {
            let output = aggregated_output.clone().unwrap_or_default();
            let mut fields = ToolCallUpdateFields::new()
                .status(command_status(*status))
                .raw_output(json!({"output": output, "exitCode": exit_code}));
            if !output.is_empty() {
                fields = fields.content(vec![ToolCallContent::from(format!("```\n{output}\n```"))]);
            }
            fields
        }
        ThreadItem::FileChange {
            status, changes, ..
        } => ToolCallUpdateFields::new()
            .status(patch_status(*status))
            .content(diffs(changes))
            .locations(locations(changes)),
        ThreadItem::McpToolCall {
            status,
            result,
            error,
            ..
        } => {
            let text = match (result, error) {
                (_, Some(error)) => error.message.clone(),
                (Some(result), None) => serde_json::to_string(&result.content).unwrap_or_default(),
                (None, None) => String::new(),
            };
            ToolCallUpdateFields::new()
                .status(match status {
                    McpToolCallStatus::InProgress => ToolCallStatus::InProgress,
                    McpToolCallStatus::Completed => ToolCallStatus::Completed,
                    McpToolCallStatus::Failed => ToolCallStatus::Failed,
                })
                .content(vec![ToolCallContent::from(text)])
        }
        ThreadItem::WebSearch { .. } => {
            ToolCallUpdateFields::new().status(ToolCallStatus::Completed)
        }
        _ => return None,
    };
    Some(ToolCallUpdate::new(item.id().to_string(), fields))
}

/// A finished tool item as one tool call in its final state (history replay).
pub fn finished_tool_call(item: &ThreadItem) -> Option<ToolCall> {
    let mut call = tool_call(item)?;
    let done = tool_call_done(item)?;
    call.update(done.fields);
    Some(call)
}

fn command_status(status: CommandExecutionStatus) -> ToolCallStatus {
    match status {
        CommandExecutionStatus::InProgress => ToolCallStatus::InProgress,
        CommandExecutionStatus::Completed => ToolCallStatus::Completed,
        // ACP has no "declined": the call did not do its work.
        CommandExecutionStatus::Failed | CommandExecutionStatus::Declined => ToolCallStatus::Failed,
    }
}

fn patch_status(status: PatchApplyStatus) -> ToolCallStatus {
    match status {
        PatchApplyStatus::InProgress => ToolCallStatus::InProgress,
        PatchApplyStatus::Completed => ToolCallStatus::Completed,
        PatchApplyStatus::Failed | PatchApplyStatus::Declined => ToolCallStatus::Failed,
    }
}

fn edit_title(changes: &[FileUpdateChange]) -> String {
    let names: Vec<&str> = changes
        .iter()
        .map(|c| match &c.kind {
            PatchChangeKind::Update {
                move_path: Some(to),
            } => to.as_str(),
            _ => c.path.as_str(),
        })
        .collect();
    let verb = match changes.first().map(|c| &c.kind) {
        Some(PatchChangeKind::Add) if changes.len() == 1 => "Create",
        Some(PatchChangeKind::Delete) if changes.len() == 1 => "Delete",
        _ => "Edit",
    };
    format!("{verb} {}", names.join(", "))
}

fn locations(changes: &[FileUpdateChange]) -> Vec<ToolCallLocation> {
    changes
        .iter()
        .map(|c| match &c.kind {
            PatchChangeKind::Update {
                move_path: Some(to),
            } => ToolCallLocation::new(PathBuf::from(to)),
            _ => ToolCallLocation::new(PathBuf::from(&c.path)),
        })
        .collect()
}

/// Each change as an ACP diff. The item carries `@@` hunks (whole text for an added file), so
/// the diff shows the changed regions with their context lines, not the whole file.
fn diffs(changes: &[FileUpdateChange]) -> Vec<ToolCallContent> {
    changes
        .iter()
        .map(|c| {
            let path = match &c.kind {
                PatchChangeKind::Update {
                    move_path: Some(to),
                } => PathBuf::from(to),
                _ => PathBuf::from(&c.path),
            };
            let diff = match c.kind {
                PatchChangeKind::Add if !c.diff.starts_with("@@") => {
                    Diff::new(path, c.diff.clone())
                }
                _ => {
                    let (old, new) = sides(&c.diff);
                    Diff::new(path, new).old_text(old)
                }
            };
            ToolCallContent::Diff(diff)
        })
        .collect()
}

/// The old and new text of a unified diff's hunks (context lines in both).
pub fn sides(hunks: &str) -> (String, String) {
    let (mut old, mut new) = (String::new(), String::new());
    for line in hunks.split_inclusive('\n') {
        if line.starts_with("@@") || line.starts_with("\\ No newline") {
            continue;
        }
        let (tag, rest) = line.split_at(line.len().min(1));
        match tag {
            "-" => old.push_str(rest),
            "+" => new.push_str(rest),
            " " => {
                old.push_str(rest);
                new.push_str(rest);
            }
            _ => {}
        }
    }
    (old, new)
}

/// The plan, as ACP shows it: every step at once.
pub fn plan(steps: &[TurnPlanStep]) -> SessionUpdate {
    SessionUpdate::Plan(Plan::new(
        steps
            .iter()
            .map(|s| {
                PlanEntry::new(
                    s.step.clone(),
                    PlanEntryPriority::Medium,
                    match s.status {
                        TurnPlanStepStatus::Pending => PlanEntryStatus::Pending,
                        TurnPlanStepStatus::InProgress => PlanEntryStatus::InProgress,
                        TurnPlanStepStatus::Completed => PlanEntryStatus::Completed,
                    },
                )
            })
            .collect(),
    ))
}

/// Why a prompt ended. A turn the client asked to cancel reports `cancelled` whatever it
/// ended as (ACP requires it); a failed turn is not a stop reason but an error (`Err`).
pub fn stop_reason(status: TurnStatus, cancel_asked: bool) -> Result<StopReason, ()> {
    if cancel_asked {
        return Ok(StopReason::Cancelled);
    }
    match status {
        TurnStatus::Completed | TurnStatus::InProgress => Ok(StopReason::EndTurn),
        TurnStatus::Interrupted => Ok(StopReason::Cancelled),
        TurnStatus::Failed => Err(()),
    }
}

/// The updates that replay one stored item (`session/load`).
pub fn replay(item: &ThreadItem) -> Vec<SessionUpdate> {
    match item {
        ThreadItem::UserMessage { content, .. } => content
            .iter()
            .filter_map(|input| match input {
                UserInput::Text { text, .. } => Some(user_text(text.clone())),
                UserInput::Mention { path, .. } => Some(user_text(format!("@{path}"))),
                _ => None,
            })
            .collect(),
        ThreadItem::AgentMessage { text, .. } if !text.is_empty() => vec![agent_text(text.clone())],
        ThreadItem::Reasoning { summary, .. } if !summary.is_empty() => {
            vec![thought_text(summary.join("\n\n"))]
        }
        ThreadItem::Plan { text, .. } => vec![agent_text(text.clone())],
        other => finished_tool_call(other)
            .map(SessionUpdate::ToolCall)
            .into_iter()
            .collect(),
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
