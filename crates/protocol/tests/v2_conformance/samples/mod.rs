//! Hand-built samples of every type wright sends or accepts, one of each shape.

mod agent_tools;
mod mcp;
mod notifications;
mod requests;
mod responses;

pub use notifications::{notifications, server_requests};
pub use requests::client_requests;
pub use responses::responses;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use wright_protocol::jsonrpc::RequestId;
use wright_protocol::v2::*;

// ---------------------------------------------------------------------------------------------
// Samples for schema validation

pub const THREAD_ID: &str = "01a21140-289a-7193-a91d-28f11ba8bef1";
pub const TURN_ID: &str = "01a21140-28b1-74f1-a548-c22a51e8bb32";

pub fn thread(source: SessionSource, turns: Vec<Turn>) -> Thread {
    Thread {
        id: THREAD_ID.into(),
        session_id: THREAD_ID.into(),
        forked_from_id: None,
        parent_thread_id: None,
        preview: "List the files in this repository.".into(),
        ephemeral: false,
        section: Some(ThreadSection {
            id: "s1".into(),
            name: "Work".into(),
            appearance: Some(ThreadSectionAppearance {
                color: Some("blue".into()),
                icon: None,
            }),
        }),
        section_entered_at: None,
        project_id: None,
        history_mode: ThreadHistoryMode::Paginated,
        model_provider: "mock".into(),
        model: Some("gpt-5.5".into()),
        reasoning_effort: Some(ReasoningEffort::new("medium")),
        created_at: 1_795_585_747,
        updated_at: 1_795_585_747,
        recency_at: Some(1_795_585_747),
        status: ThreadStatus::Idle,
        path: Some("/home/user/.codex/sessions/rollout.jsonl".into()),
        cwd: "/home/user/repo".into(),
        cli_version: "0.169.0".into(),
        originator: Some("wright".into()),
        source,
        thread_source: None,
        agent_nickname: None,
        agent_role: None,
        git_info: Some(GitInfo {
            sha: Some("abc123".into()),
            branch: Some("main".into()),
            origin_url: None,
        }),
        name: Some("list files".into()),
        turns,
    }
}

pub fn turn(status: TurnStatus, items: Vec<ThreadItem>, error: Option<TurnError>) -> Turn {
    Turn {
        id: TURN_ID.into(),
        root_turn_id: Some(TURN_ID.into()),
        items,
        items_view: TurnItemsView::Summary,
        status,
        error,
        started_at: Some(1_795_585_747),
        completed_at: Some(1_795_585_748),
        duration_ms: Some(175),
    }
}

pub fn all_items() -> Vec<ThreadItem> {
    vec![
        ThreadItem::UserMessage {
            id: "u1".into(),
            client_id: None,
            content: vec![
                UserInput::Text {
                    text: "look at @foo".into(),
                    text_elements: vec![TextElement {
                        byte_range: ByteRange { start: 8, end: 12 },
                        placeholder: Some("@foo".into()),
                    }],
                },
                UserInput::Image {
                    url: Some("https://example.com/a.png".into()),
                    file_id: None,
                    detail: Some(ImageDetail::High),
                },
                UserInput::LocalImage {
                    path: "/tmp/shot.png".into(),
                    detail: None,
                },
                UserInput::Skill {
                    name: "review".into(),
                    path: "/skills/review/SKILL.md".into(),
                },
            ],
            started_at_ms: Some(1_795_585_747_157),
            completed_at_ms: Some(1_795_585_747_157),
        },
        ThreadItem::AgentMessage {
            id: "msg_1".into(),
            text: "Done.".into(),
            phase: Some(MessagePhase::FinalAnswer),
            moderation: None,
            memory_citation: None,
            delivery: None,
            questions: None,
            started_at_ms: Some(1),
            completed_at_ms: Some(2),
        },
        ThreadItem::Plan {
            id: "plan_1".into(),
            text: "1. read\n2. fix".into(),
            started_at_ms: None,
            completed_at_ms: None,
        },
        ThreadItem::Reasoning {
            id: "rs_1".into(),
            summary: vec!["Thinking about files".into()],
            content: vec![],
            started_at_ms: None,
            completed_at_ms: None,
        },
        ThreadItem::CommandExecution {
            id: "call_1".into(),
            command: "/bin/bash -lc 'cat a.py && ls src && rg foo'".into(),
            cwd: "/home/user/repo".into(),
            process_id: Some("95203".into()),
            source: CommandExecutionSource::UnifiedExecStartup,
            status: CommandExecutionStatus::Completed,
            command_actions: vec![
                CommandAction::Read {
                    command: "cat a.py".into(),
                    name: "a.py".into(),
                    path: "a.py".into(),
                },
                CommandAction::ListFiles {
                    command: "ls src".into(),
                    path: Some("src".into()),
                },
                CommandAction::Search {
                    command: "rg foo".into(),
                    query: Some("foo".into()),
                    path: None,
                },
                CommandAction::Unknown {
                    command: "true".into(),
                },
            ],
            aggregated_output: Some("ok\n".into()),
            exit_code: Some(0),
            duration_ms: Some(12),
            plugin_id: None,
            script_path: None,
            started_at_ms: Some(1),
            completed_at_ms: Some(13),
        },
        ThreadItem::FileChange {
            id: "call_2".into(),
            changes: vec![
                FileUpdateChange {
                    path: "/home/user/repo/new.txt".into(),
                    kind: PatchChangeKind::Add,
                    diff: "hi\n".into(),
                },
                FileUpdateChange {
                    path: "/home/user/repo/old.txt".into(),
                    kind: PatchChangeKind::Delete,
                    diff: "bye\n".into(),
                },
                FileUpdateChange {
                    path: "/home/user/repo/a.py".into(),
                    kind: PatchChangeKind::Update {
                        move_path: Some("/home/user/repo/b.py".into()),
                    },
                    diff: "@@ -1 +1 @@\n-a\n+b\n".into(),
                },
            ],
            status: PatchApplyStatus::Declined,
            started_at_ms: Some(1),
            completed_at_ms: Some(2),
        },
        ThreadItem::McpToolCall {
            id: "call_3".into(),
            server: "docs".into(),
            tool: "search".into(),
            status: McpToolCallStatus::Completed,
            arguments: json!({"q": "serde"}),
            result: Some(McpToolCallResult {
                content: vec![json!({"type": "text", "text": "found"})],
                structured_content: None,
                meta: None,
            }),
            error: None,
            duration_ms: Some(40),
            plugin_id: None,
            read_only_hint: Some(true),
            app_context: None,
            mcp_app_resource_uri: None,
            mcp_app_ui: None,
            started_at_ms: None,
            completed_at_ms: None,
        },
        ThreadItem::WebSearch {
            id: "ws_1".into(),
            query: "rust serde".into(),
            action: Some(WebSearchAction::Search {
                query: Some("rust serde".into()),
                queries: None,
            }),
            results: None,
            started_at_ms: None,
            completed_at_ms: None,
        },
        ThreadItem::CollabAgentToolCall {
            id: "call_spawn".into(),
            tool: CollabAgentTool::SpawnAgent,
            status: CollabAgentToolCallStatus::Completed,
            sender_thread_id: THREAD_ID.into(),
            receiver_thread_ids: vec!["01a21140-0000-7000-8000-000000000002".into()],
            prompt: Some("Write the tests".into()),
            model: None,
            reasoning_effort: None,
            agents_states: [(
                "01a21140-0000-7000-8000-000000000002".to_string(),
                CollabAgentState {
                    status: CollabAgentStatus::PendingInit,
                    message: None,
                },
            )]
            .into(),
            started_at_ms: None,
            completed_at_ms: None,
        },
        ThreadItem::CollabAgentToolCall {
            id: "call_wait".into(),
            tool: CollabAgentTool::Wait,
            status: CollabAgentToolCallStatus::InProgress,
            sender_thread_id: THREAD_ID.into(),
            receiver_thread_ids: vec!["a".into(), "b".into()],
            prompt: None,
            model: Some("gpt-5.5".into()),
            reasoning_effort: Some(ReasoningEffort::new("low")),
            agents_states: [
                (
                    "a".to_string(),
                    CollabAgentState {
                        status: CollabAgentStatus::Completed,
                        message: Some("done".into()),
                    },
                ),
                (
                    "b".to_string(),
                    CollabAgentState {
                        status: CollabAgentStatus::Errored,
                        message: Some("stream failed".into()),
                    },
                ),
            ]
            .into(),
            started_at_ms: None,
            completed_at_ms: None,
        },
        ThreadItem::ContextCompaction {
            id: "cc_1".into(),
            started_at_ms: None,
            completed_at_ms: None,
        },
    ]
}
