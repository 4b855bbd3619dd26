//! The JSON shapes of App Server v2 objects, as Codex sends them (field names and nulls
//! copied from the reference captures; validated against Codex's schema in the tests).

use serde_json::{json, Value};
use wright_protocol::{
    ChangeKind, CommandStatus, ItemDetails, PatchStatus, ThreadItem, TokenUsage,
};

/// What a client sees of a thread, besides its turns.
#[derive(Debug, Clone)]
pub struct ThreadInfo {
    pub id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub name: Option<String>,
    pub preview: String,
    pub cwd: String,
    pub model: String,
    pub model_provider: String,
    pub source: String,
    pub forked_from: Option<String>,
    pub archived: bool,
    pub ephemeral: bool,
}

pub fn now_secs() -> i64 {
    now_ms() / 1000
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn thread(info: &ThreadInfo, status: Value, turns: Vec<Value>) -> Value {
    json!({
        "id": info.id,
        "sessionId": info.id,
        "forkedFromId": info.forked_from,
        "parentThreadId": null,
        "preview": info.preview,
        "ephemeral": info.ephemeral,
        "projectId": null,
        "modelProvider": info.model_provider,
        "model": info.model,
        "reasoningEffort": null,
        "createdAt": info.created_at,
        "updatedAt": info.updated_at,
        "status": status,
        "path": null,
        "cwd": info.cwd,
        "cliVersion": env!("CARGO_PKG_VERSION"),
        "source": info.source,
        "agentNickname": null,
        "agentRole": null,
        "gitInfo": null,
        "name": info.name,
        "turns": turns,
    })
}

pub fn idle() -> Value {
    json!({"type": "idle"})
}

pub fn active(waiting_on_approval: bool) -> Value {
    let flags: Vec<&str> = if waiting_on_approval {
        vec!["waitingOnApproval"]
    } else {
        Vec::new()
    };
    json!({"type": "active", "activeFlags": flags})
}

#[derive(Debug, Clone)]
pub struct TurnInfo {
    pub id: String,
    pub status: &'static str,
    pub error: Option<String>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub duration_ms: Option<i64>,
}

pub fn turn(t: &TurnInfo, items: Vec<Value>, items_view: &str) -> Value {
    json!({
        "id": t.id,
        "items": items,
        "itemsView": items_view,
        "status": t.status,
        "error": t.error.as_ref().map(|m| json!({"message": m, "codexErrorInfo": null})),
        "startedAt": t.started_at,
        "completedAt": t.completed_at,
        "durationMs": t.duration_ms,
    })
}

/// A user's input as a `userMessage` item.
pub fn user_message(id: &str, content: &[Value]) -> Value {
    json!({"type": "userMessage", "id": id, "content": content})
}

pub fn context_compaction(id: &str) -> Value {
    json!({"type": "contextCompaction", "id": id})
}

/// The engine's item in App Server form. `None` for items the protocol has no place for.
pub fn item(item: &ThreadItem) -> Option<Value> {
    let id = &item.id;
    Some(match &item.details {
        ItemDetails::AgentMessage { text } => {
            json!({"type": "agentMessage", "id": id, "text": text, "phase": null})
        }
        ItemDetails::Reasoning { text } => {
            json!({"type": "reasoning", "id": id, "summary": [text], "content": []})
        }
        ItemDetails::CommandExecution {
            command,
            aggregated_output,
            exit_code,
            status,
            cwd,
            duration_ms,
        } => {
            let status = match status {
                CommandStatus::InProgress => "inProgress",
                CommandStatus::Completed => "completed",
                CommandStatus::Failed => "failed",
                CommandStatus::Declined => "declined",
            };
            let running = status == "inProgress";
            json!({
                "type": "commandExecution",
                "id": id,
                "command": command,
                "cwd": cwd,
                "processId": null,
                "source": "agent",
                "status": status,
                "commandActions": [command_action(command)],
                "aggregatedOutput": if running { Value::Null } else { json!(aggregated_output) },
                "exitCode": exit_code,
                "durationMs": duration_ms,
            })
        }
        ItemDetails::FileChange { changes, status } => {
            let changes: Vec<Value> = changes
                .iter()
                .map(|c| {
                    let kind = match c.kind {
                        ChangeKind::Add => json!({"type": "add"}),
                        ChangeKind::Delete => json!({"type": "delete"}),
                        ChangeKind::Update => json!({"type": "update", "move_path": c.move_path}),
                    };
                    json!({"path": c.path, "kind": kind, "diff": c.diff})
                })
                .collect();
            let status = match status {
                PatchStatus::InProgress => "inProgress",
                PatchStatus::Completed => "completed",
                PatchStatus::Failed => "failed",
                PatchStatus::Declined => "declined",
            };
            json!({"type": "fileChange", "id": id, "changes": changes, "status": status})
        }
        // Plans travel as turn/plan/updated, as in Codex.
        ItemDetails::TodoList { .. } => return None,
        ItemDetails::Error { .. } => return None,
    })
}

/// What the command does, for clients that summarise it. Codex parses many shapes; the
/// honest default is `unknown` with the script as given.
fn command_action(command: &str) -> Value {
    let script = command
        .split_once(" -lc ")
        .map(|(_, s)| s.trim_matches(|c| c == '\'' || c == '"'))
        .unwrap_or(command);
    json!({"type": "unknown", "command": script})
}

pub fn usage_breakdown(u: &TokenUsage) -> Value {
    json!({
        "totalTokens": u.input_tokens + u.output_tokens,
        "inputTokens": u.input_tokens,
        "cachedInputTokens": u.cached_input_tokens,
        "cacheWriteInputTokens": u.cache_write_input_tokens,
        "outputTokens": u.output_tokens,
        "reasoningOutputTokens": u.reasoning_output_tokens,
    })
}

pub fn sandbox_policy(
    mode: wright_core::config::SandboxMode,
    cfg: &wright_core::config::Config,
) -> Value {
    use wright_core::config::SandboxMode;
    match mode {
        SandboxMode::ReadOnly => json!({"type": "readOnly", "networkAccess": false}),
        SandboxMode::WorkspaceWrite => json!({
            "type": "workspaceWrite",
            "writableRoots": cfg.writable_roots.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "networkAccess": cfg.network_access,
            "excludeTmpdirEnvVar": false,
            "excludeSlashTmp": false,
        }),
        SandboxMode::DangerFullAccess => json!({"type": "dangerFullAccess"}),
    }
}
