//! wright's own records (threads, turns, engine items, usage, settings) turned into the
//! `wright_protocol::v2` types the server sends. Every message the server builds goes through
//! these types, so the generated schema and TypeScript are exactly the wire.

use wright_core::config::{Config, SandboxMode};
use wright_protocol::v2::{
    self, CommandAction, CommandExecutionSource, CommandExecutionStatus, PatchApplyStatus,
    PatchChangeKind, SandboxPolicy, SessionSource, ThreadActiveFlag, ThreadStatus,
    TokenUsageBreakdown, Turn, TurnError, TurnItemsView, TurnStatus, UserInput,
};
use wright_protocol::{
    ChangeKind, CollabTool, CollabToolCallStatus, CommandStatus, ItemDetails, McpToolCallStatus,
    PatchStatus, TokenUsage,
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
    pub git_info: Option<v2::GitInfo>,
}

impl ThreadInfo {
    /// A thread just started with `config`: no name, preview or turns yet.
    pub fn new(id: &str, config: &Config, source: String, ephemeral: bool) -> ThreadInfo {
        let now = now_secs();
        ThreadInfo {
            id: id.to_string(),
            created_at: now,
            updated_at: now,
            name: None,
            preview: String::new(),
            cwd: config.cwd.display().to_string(),
            model: config.model.clone(),
            model_provider: config.provider_id.clone(),
            source,
            forked_from: None,
            archived: false,
            ephemeral,
            git_info: None,
        }
    }

    /// The store's row for a thread just started (no name, preview or usage yet).
    pub fn new_record(&self, settings: serde_json::Value) -> wright_store::ThreadRecord {
        wright_store::ThreadRecord {
            id: self.id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            name: None,
            preview: String::new(),
            cwd: self.cwd.clone(),
            model: self.model.clone(),
            model_provider: self.model_provider.clone(),
            source: self.source.clone(),
            archived: false,
            forked_from: None,
            settings,
            usage: serde_json::json!({}),
        }
    }
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

/// Codex's session sources are a closed set of names plus `{"custom": …}`; a sub-agent's is
/// stored as its JSON (`{"subAgent": …}`).
pub fn session_source(source: &str) -> SessionSource {
    if source.starts_with('{') {
        if let Ok(parsed) = serde_json::from_str(source) {
            return parsed;
        }
    }
    match source {
        "cli" => SessionSource::Cli,
        "vscode" => SessionSource::Vscode,
        "exec" => SessionSource::Exec,
        "appServer" | "app-server" | "app_server" => SessionSource::AppServer,
        "unknown" | "" => SessionSource::Unknown,
        other => SessionSource::Custom(other.to_string()),
    }
}

pub fn thread(info: &ThreadInfo, status: ThreadStatus, turns: Vec<Turn>) -> v2::Thread {
    let source = session_source(&info.source);
    let (parent_thread_id, agent_nickname, agent_role) = match &source {
        SessionSource::SubAgent(v2::SubAgentSource::ThreadSpawn {
            parent_thread_id,
            agent_nickname,
            agent_role,
            ..
        }) => (
            Some(parent_thread_id.clone()),
            agent_nickname.clone(),
            agent_role.clone(),
        ),
        _ => (None, None, None),
    };
    v2::Thread {
        id: info.id.clone(),
        session_id: info.id.clone(),
        forked_from_id: info.forked_from.clone(),
        parent_thread_id,
        preview: info.preview.clone(),
        ephemeral: info.ephemeral,
        section: None,
        section_entered_at: None,
        project_id: None,
        history_mode: v2::ThreadHistoryMode::Legacy,
        model_provider: info.model_provider.clone(),
        model: Some(info.model.clone()),
        reasoning_effort: None,
        created_at: info.created_at,
        updated_at: info.updated_at,
        recency_at: Some(info.updated_at),
        status,
        path: None,
        cwd: info.cwd.clone(),
        cli_version: env!("CARGO_PKG_VERSION").to_string(),
        originator: None,
        source,
        thread_source: None,
        agent_nickname,
        agent_role,
        git_info: info.git_info.clone(),
        name: info.name.clone(),
        turns,
    }
}

pub fn idle() -> ThreadStatus {
    ThreadStatus::Idle
}

pub fn active(waiting_on_approval: bool) -> ThreadStatus {
    ThreadStatus::Active {
        active_flags: if waiting_on_approval {
            vec![ThreadActiveFlag::WaitingOnApproval]
        } else {
            Vec::new()
        },
    }
}

#[derive(Debug, Clone)]
pub struct TurnInfo {
    pub id: String,
    pub status: TurnStatus,
    pub error: Option<String>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub duration_ms: Option<i64>,
}

impl TurnInfo {
    /// The stored status name (the store keeps Codex's wire names).
    pub fn status_name(&self) -> &'static str {
        match self.status {
            TurnStatus::Completed => "completed",
            TurnStatus::Interrupted => "interrupted",
            TurnStatus::Failed => "failed",
            TurnStatus::InProgress => "inProgress",
        }
    }
}

impl TurnInfo {
    /// The turn as the store keeps it.
    pub fn record(&self, thread_id: &str) -> wright_store::TurnRecord {
        wright_store::TurnRecord {
            thread_id: thread_id.to_string(),
            id: self.id.clone(),
            status: self.status_name().to_string(),
            error: self.error.clone(),
            started_at: self.started_at,
            completed_at: self.completed_at,
            duration_ms: self.duration_ms,
        }
    }
}

pub fn turn(t: &TurnInfo, items: Vec<v2::ThreadItem>, items_view: TurnItemsView) -> Turn {
    Turn {
        id: t.id.clone(),
        root_turn_id: Some(t.id.clone()),
        items,
        items_view,
        status: t.status,
        error: t.error.as_ref().map(|m| turn_error(m.clone())),
        started_at: t.started_at,
        completed_at: t.completed_at,
        duration_ms: t.duration_ms,
    }
}

pub fn turn_error(message: String) -> TurnError {
    TurnError {
        message,
        codex_error_info: None,
        additional_details: None,
        misalignment: None,
    }
}

/// A user's input as a `userMessage` item.
pub fn user_message(id: &str, content: Vec<UserInput>) -> v2::ThreadItem {
    v2::ThreadItem::UserMessage {
        id: id.to_string(),
        client_id: None,
        content,
        started_at_ms: None,
        completed_at_ms: None,
    }
}

pub fn context_compaction(id: &str) -> v2::ThreadItem {
    v2::ThreadItem::ContextCompaction {
        id: id.to_string(),
        started_at_ms: None,
        completed_at_ms: None,
    }
}

pub fn agent_message(id: &str, text: &str) -> v2::ThreadItem {
    v2::ThreadItem::AgentMessage {
        id: id.to_string(),
        text: text.to_string(),
        phase: None,
        moderation: None,
        memory_citation: None,
        delivery: None,
        questions: None,
        started_at_ms: None,
        completed_at_ms: None,
    }
}

pub fn reasoning(id: &str, summary: Vec<String>) -> v2::ThreadItem {
    v2::ThreadItem::Reasoning {
        id: id.to_string(),
        summary,
        content: Vec::new(),
        started_at_ms: None,
        completed_at_ms: None,
    }
}

/// A command the user ran (`thread/shellCommand`) or the agent ran, as an item.
pub struct CommandItem<'a> {
    pub id: &'a str,
    pub command: &'a str,
    pub cwd: &'a str,
    pub source: CommandExecutionSource,
    pub status: CommandExecutionStatus,
    pub aggregated_output: Option<String>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<i64>,
    /// The model's command session (`write_stdin`'s `session_id`), when it has one.
    pub process_id: Option<String>,
}

pub fn command_item(c: CommandItem<'_>) -> v2::ThreadItem {
    v2::ThreadItem::CommandExecution {
        id: c.id.to_string(),
        command: c.command.to_string(),
        cwd: c.cwd.to_string(),
        process_id: c.process_id,
        source: c.source,
        status: c.status,
        command_actions: vec![command_action(c.command)],
        aggregated_output: c.aggregated_output,
        exit_code: c.exit_code,
        duration_ms: c.duration_ms,
        plugin_id: None,
        script_path: None,
        started_at_ms: None,
        completed_at_ms: None,
    }
}

/// The engine's item in App Server form. `None` for items the protocol has no place for.
pub fn item(item: &wright_protocol::ThreadItem) -> Option<v2::ThreadItem> {
    let id = &item.id;
    Some(match &item.details {
        ItemDetails::AgentMessage { text } => agent_message(id, text),
        ItemDetails::Reasoning { text } => reasoning(id, vec![text.clone()]),
        ItemDetails::CommandExecution {
            command,
            aggregated_output,
            exit_code,
            status,
            cwd,
            duration_ms,
            process_id,
        } => {
            let status = match status {
                CommandStatus::InProgress => CommandExecutionStatus::InProgress,
                CommandStatus::Completed => CommandExecutionStatus::Completed,
                CommandStatus::Failed => CommandExecutionStatus::Failed,
                CommandStatus::Declined => CommandExecutionStatus::Declined,
            };
            let running = status == CommandExecutionStatus::InProgress;
            command_item(CommandItem {
                id,
                command,
                cwd,
                source: CommandExecutionSource::Agent,
                status,
                aggregated_output: (!running).then(|| aggregated_output.clone()),
                exit_code: *exit_code,
                duration_ms: duration_ms.map(|d| d as i64),
                process_id: process_id.clone(),
            })
        }
        ItemDetails::FileChange { changes, status } => v2::ThreadItem::FileChange {
            id: id.clone(),
            changes: changes
                .iter()
                .map(|c| v2::FileUpdateChange {
                    path: c.path.clone(),
                    kind: match c.kind {
                        ChangeKind::Add => PatchChangeKind::Add,
                        ChangeKind::Delete => PatchChangeKind::Delete,
                        ChangeKind::Update => PatchChangeKind::Update {
                            move_path: c.move_path.clone(),
                        },
                    },
                    diff: c.diff.clone(),
                })
                .collect(),
            status: match status {
                PatchStatus::InProgress => PatchApplyStatus::InProgress,
                PatchStatus::Completed => PatchApplyStatus::Completed,
                PatchStatus::Failed => PatchApplyStatus::Failed,
                PatchStatus::Declined => PatchApplyStatus::Declined,
            },
            started_at_ms: None,
            completed_at_ms: None,
        },
        ItemDetails::McpToolCall {
            server,
            tool,
            arguments,
            result,
            error,
            status,
            duration_ms,
        } => v2::ThreadItem::McpToolCall {
            id: id.clone(),
            server: server.clone(),
            tool: tool.clone(),
            status: match status {
                McpToolCallStatus::InProgress => v2::McpToolCallStatus::InProgress,
                McpToolCallStatus::Completed => v2::McpToolCallStatus::Completed,
                McpToolCallStatus::Failed => v2::McpToolCallStatus::Failed,
            },
            arguments: arguments.clone(),
            result: result.as_ref().map(|r| v2::McpToolCallResult {
                content: r.content.clone(),
                structured_content: r.structured_content.clone(),
                meta: None,
            }),
            error: error.as_ref().map(|e| v2::McpToolCallError {
                message: e.message.clone(),
            }),
            duration_ms: duration_ms.map(|d| d as i64),
            plugin_id: None,
            read_only_hint: None,
            app_context: None,
            mcp_app_resource_uri: None,
            mcp_app_ui: None,
            started_at_ms: None,
            completed_at_ms: None,
        },
        ItemDetails::CollabToolCall {
            tool,
            sender_thread_id,
            receiver_thread_ids,
            prompt,
            agents_states,
            status,
        } => v2::ThreadItem::CollabAgentToolCall {
            id: id.clone(),
            tool: collab_tool(*tool),
            status: match status {
                CollabToolCallStatus::InProgress => v2::CollabAgentToolCallStatus::InProgress,
                CollabToolCallStatus::Completed => v2::CollabAgentToolCallStatus::Completed,
                CollabToolCallStatus::Failed => v2::CollabAgentToolCallStatus::Failed,
            },
            sender_thread_id: sender_thread_id.clone(),
            receiver_thread_ids: receiver_thread_ids.clone(),
            prompt: prompt.clone(),
            model: None,
            reasoning_effort: None,
            agents_states: agents_states
                .iter()
                .map(|(id, state)| (id.clone(), collab_state(state)))
                .collect(),
            started_at_ms: None,
            completed_at_ms: None,
        },
        // Plans travel as turn/plan/updated, as in Codex.
        ItemDetails::TodoList { .. } => return None,
        ItemDetails::Error { .. } => return None,
    })
}

fn collab_tool(tool: CollabTool) -> v2::CollabAgentTool {
    match tool {
        CollabTool::SpawnAgent => v2::CollabAgentTool::SpawnAgent,
        CollabTool::SendInput => v2::CollabAgentTool::SendInput,
        CollabTool::ResumeAgent => v2::CollabAgentTool::ResumeAgent,
        CollabTool::Wait => v2::CollabAgentTool::Wait,
        CollabTool::CloseAgent => v2::CollabAgentTool::CloseAgent,
        CollabTool::ListAgents => v2::CollabAgentTool::ListAgents,
    }
}

fn collab_state(state: &wright_protocol::CollabAgentState) -> v2::CollabAgentState {
    use wright_protocol::CollabAgentStatus as S;
    v2::CollabAgentState {
        status: match state.status {
            S::PendingInit => v2::CollabAgentStatus::PendingInit,
            S::Running => v2::CollabAgentStatus::Running,
            S::Interrupted => v2::CollabAgentStatus::Interrupted,
            S::Completed => v2::CollabAgentStatus::Completed,
            S::Errored => v2::CollabAgentStatus::Errored,
            S::Shutdown => v2::CollabAgentStatus::Shutdown,
            S::NotFound => v2::CollabAgentStatus::NotFound,
        },
        message: state.message.clone(),
    }
}

/// What the command does, for clients that summarise it. Codex parses many shapes; the
/// honest default is `unknown` with the script as given.
pub fn command_action(command: &str) -> CommandAction {
    let script = command
        .split_once(" -lc ")
        .map(|(_, s)| s.trim_matches(|c| c == '\'' || c == '"'))
        .unwrap_or(command);
    CommandAction::Unknown {
        command: script.to_string(),
    }
}

pub fn usage_breakdown(u: &TokenUsage) -> TokenUsageBreakdown {
    TokenUsageBreakdown {
        total_tokens: (u.input_tokens + u.output_tokens) as i64,
        input_tokens: u.input_tokens as i64,
        cached_input_tokens: u.cached_input_tokens as i64,
        cache_write_input_tokens: u.cache_write_input_tokens as i64,
        output_tokens: u.output_tokens as i64,
        reasoning_output_tokens: u.reasoning_output_tokens as i64,
    }
}

pub fn sandbox_policy(mode: SandboxMode, cfg: &Config) -> SandboxPolicy {
    match mode {
        SandboxMode::ReadOnly => SandboxPolicy::ReadOnly {
            network_access: false,
        },
        SandboxMode::WorkspaceWrite => SandboxPolicy::WorkspaceWrite {
            writable_roots: cfg
                .writable_roots
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            network_access: cfg.network_access,
            exclude_tmpdir_env_var: false,
            exclude_slash_tmp: false,
        },
        SandboxMode::DangerFullAccess => SandboxPolicy::DangerFullAccess,
    }
}

/// Stored items are the protocol's own JSON; one that no longer parses (written by another
/// version) is skipped with a warning rather than failing the whole read.
pub fn stored_items(items: Vec<serde_json::Value>) -> Vec<v2::ThreadItem> {
    items
        .into_iter()
        .filter_map(|v| match serde_json::from_value(v) {
            Ok(item) => Some(item),
            Err(err) => {
                tracing::warn!("skipping a stored item that does not parse: {err}");
                None
            }
        })
        .collect()
}

/// An item as the store keeps it.
pub fn to_stored(item: &v2::ThreadItem) -> serde_json::Value {
    serde_json::to_value(item).unwrap_or(serde_json::Value::Null)
}
