//! App Server notifications back into engine events, so `exec`'s JSONL and human output are a
//! mapping of the protocol every client sees.

use serde_json::Value;
use wright_protocol::{
    ChangeKind, CollabAgentState, CollabAgentStatus, CollabTool, CollabToolCallStatus,
    CommandStatus, Event, FileUpdateChange, ItemDetails, McpToolCallStatus, McpToolError,
    McpToolResult, PatchStatus, ThreadItem, TodoItem, TokenUsage,
};

#[derive(Default)]
pub struct NotificationMapper {
    plan_id: Option<String>,
    plan: Vec<TodoItem>,
    usage: TokenUsage,
    /// The last non-retrying `error`: the reason a failing turn gives.
    failure: Option<String>,
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn usage(v: &Value) -> TokenUsage {
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    TokenUsage {
        input_tokens: n("inputTokens"),
        cached_input_tokens: n("cachedInputTokens"),
        cache_write_input_tokens: n("cacheWriteInputTokens"),
        output_tokens: n("outputTokens"),
        reasoning_output_tokens: n("reasoningOutputTokens"),
    }
}

/// A protocol item as the engine's item; `None` for kinds exec does not show.
pub fn item(v: &Value) -> Option<ThreadItem> {
    let id = s(v, "id").to_string();
    let details = match s(v, "type") {
        "agentMessage" => ItemDetails::AgentMessage {
            text: s(v, "text").to_string(),
        },
        "reasoning" => {
            let parts: Vec<&str> = v
                .get("summary")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            ItemDetails::Reasoning {
                text: parts.join("\n\n"),
            }
        }
        "commandExecution" => ItemDetails::CommandExecution {
            command: s(v, "command").to_string(),
            aggregated_output: s(v, "aggregatedOutput").to_string(),
            exit_code: v.get("exitCode").and_then(Value::as_i64).map(|c| c as i32),
            status: match s(v, "status") {
                "inProgress" => CommandStatus::InProgress,
                "completed" => CommandStatus::Completed,
                // exec's stream has no "declined": to a script it is a failed command.
                _ => CommandStatus::Failed,
            },
            cwd: s(v, "cwd").to_string(),
            duration_ms: v.get("durationMs").and_then(Value::as_u64),
            process_id: v
                .get("processId")
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        "fileChange" => ItemDetails::FileChange {
            changes: v
                .get("changes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| FileUpdateChange {
                    path: s(c, "path").to_string(),
                    kind: match c.pointer("/kind/type").and_then(Value::as_str) {
                        Some("add") => ChangeKind::Add,
                        Some("delete") => ChangeKind::Delete,
                        _ => ChangeKind::Update,
                    },
                    move_path: c
                        .pointer("/kind/move_path")
                        .and_then(Value::as_str)
                        .map(String::from),
                    diff: s(c, "diff").to_string(),
                })
                .collect(),
            status: match s(v, "status") {
                "inProgress" => PatchStatus::InProgress,
                "completed" => PatchStatus::Completed,
                _ => PatchStatus::Failed,
            },
        },
        "mcpToolCall" => ItemDetails::McpToolCall {
            server: s(v, "server").to_string(),
            tool: s(v, "tool").to_string(),
            arguments: v.get("arguments").cloned().unwrap_or(Value::Null),
            result: v
                .get("result")
                .filter(|r| !r.is_null())
                .map(|r| McpToolResult {
                    content: r
                        .get("content")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    structured_content: r
                        .get("structuredContent")
                        .filter(|c| !c.is_null())
                        .cloned(),
                }),
            error: v
                .get("error")
                .filter(|e| !e.is_null())
                .map(|e| McpToolError {
                    message: s(e, "message").to_string(),
                }),
            status: match s(v, "status") {
                "inProgress" => McpToolCallStatus::InProgress,
                "completed" => McpToolCallStatus::Completed,
                _ => McpToolCallStatus::Failed,
            },
            duration_ms: v.get("durationMs").and_then(Value::as_u64),
        },
        "collabAgentToolCall" => collab_item(v)?,
        _ => return None,
    };
    Some(ThreadItem { id, details })
}

/// A `collabAgentToolCall` as Codex's exec `collab_tool_call`.
fn collab_item(v: &Value) -> Option<ItemDetails> {
    let tool = match s(v, "tool") {
        "spawnAgent" => CollabTool::SpawnAgent,
        "sendInput" => CollabTool::SendInput,
        "resumeAgent" => CollabTool::ResumeAgent,
        "wait" => CollabTool::Wait,
        "closeAgent" => CollabTool::CloseAgent,
        "listAgents" => CollabTool::ListAgents,
        _ => return None,
    };
    let agent_status = |status: &str| match status {
        "pendingInit" => CollabAgentStatus::PendingInit,
        "running" => CollabAgentStatus::Running,
        "interrupted" => CollabAgentStatus::Interrupted,
        "completed" => CollabAgentStatus::Completed,
        "errored" => CollabAgentStatus::Errored,
        "shutdown" => CollabAgentStatus::Shutdown,
        _ => CollabAgentStatus::NotFound,
    };
    Some(ItemDetails::CollabToolCall {
        tool,
        sender_thread_id: s(v, "senderThreadId").to_string(),
        receiver_thread_ids: v
            .get("receiverThreadIds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        prompt: v.get("prompt").and_then(Value::as_str).map(String::from),
        agents_states: v
            .get("agentsStates")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(id, state)| {
                let state = CollabAgentState {
                    status: agent_status(s(state, "status")),
                    message: state
                        .get("message")
                        .and_then(Value::as_str)
                        .map(String::from),
                };
                (id.clone(), state)
            })
            .collect(),
        status: match s(v, "status") {
            "inProgress" => CollabToolCallStatus::InProgress,
            "completed" => CollabToolCallStatus::Completed,
            _ => CollabToolCallStatus::Failed,
        },
    })
}

impl NotificationMapper {
    pub fn map(&mut self, method: &str, params: &Value) -> Vec<Event> {
        match method {
            "turn/started" => vec![Event::TurnStarted],
            "item/started" => params
                .get("item")
                .and_then(item)
                .filter(|i| {
                    matches!(
                        i.details,
                        ItemDetails::CommandExecution { .. }
                            | ItemDetails::FileChange { .. }
                            | ItemDetails::McpToolCall { .. }
                            | ItemDetails::CollabToolCall { .. }
                    )
                })
                .map(Event::ItemStarted)
                .into_iter()
                .collect(),
            "item/completed" => params
                .get("item")
                .and_then(item)
                .map(Event::ItemCompleted)
                .into_iter()
                .collect(),
            "item/agentMessage/delta" => vec![Event::AgentMessageDelta {
                item_id: s(params, "itemId").to_string(),
                delta: s(params, "delta").to_string(),
            }],
            "turn/plan/updated" => {
                self.plan = params
                    .get("plan")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|step| TodoItem {
                        text: s(step, "step").to_string(),
                        completed: s(step, "status") == "completed",
                    })
                    .collect();
                let item = |id: &str, items: Vec<TodoItem>| ThreadItem {
                    id: id.to_string(),
                    details: ItemDetails::TodoList { items },
                };
                match &self.plan_id {
                    Some(id) => vec![Event::ItemUpdated(item(id, self.plan.clone()))],
                    None => {
                        let id = format!("plan_{}", s(params, "turnId"));
                        self.plan_id = Some(id.clone());
                        vec![Event::ItemStarted(item(&id, self.plan.clone()))]
                    }
                }
            }
            "thread/tokenUsage/updated" => {
                if let Some(total) = params.pointer("/tokenUsage/total") {
                    self.usage = usage(total);
                }
                Vec::new()
            }
            "item/mcpToolCall/progress" => vec![Event::McpToolCallProgress {
                item_id: s(params, "itemId").to_string(),
                message: s(params, "message").to_string(),
            }],
            "thread/compacted" => vec![Event::ContextCompacted {
                id: s(params, "turnId").to_string(),
            }],
            "error" => {
                let message = params
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if params.get("willRetry").and_then(Value::as_bool) == Some(true) {
                    vec![Event::Error { message }]
                } else {
                    self.failure = Some(message);
                    Vec::new()
                }
            }
            "turn/completed" => {
                let mut events = Vec::new();
                if let Some(id) = self.plan_id.take() {
                    events.push(Event::ItemCompleted(ThreadItem {
                        id,
                        details: ItemDetails::TodoList {
                            items: std::mem::take(&mut self.plan),
                        },
                    }));
                }
                let turn = params.get("turn").cloned().unwrap_or(Value::Null);
                events.push(match s(&turn, "status") {
                    "completed" => Event::TurnCompleted { usage: self.usage },
                    "interrupted" => Event::TurnFailed {
                        message: "turn interrupted".into(),
                        usage: self.usage,
                    },
                    _ => Event::TurnFailed {
                        message: turn
                            .pointer("/error/message")
                            .and_then(Value::as_str)
                            .map(String::from)
                            .or_else(|| self.failure.take())
                            .unwrap_or_else(|| "turn failed".into()),
                        usage: self.usage,
                    },
                });
                events
            }
            _ => Vec::new(),
        }
    }
}
