//! Conformance of the App Server v2 types with Codex 0.169.
//!
//! 1. Every client message and every in-subset server message of the App Server captures (and
//!    the results in `appserver-misc-responses.json`) parses into our types, and re-serializing
//!    never changes a value or a name (members we don't model may be dropped).
//! 2. Sample values of every notification, server request, response and client request validate
//!    against Codex's JSON Schema (via `tests/validate_schema.py`, Python `jsonschema`).
//!
//! The reference lives next to the repo (`../../../shared/reference` from this crate); when it
//! or `jsonschema` is missing the tests print a note and pass.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use wright_protocol::jsonrpc::RequestId;
use wright_protocol::v2::*;

fn reference_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference");
    if dir.join("codex-app-server-schema").is_dir() && dir.join("captures").is_dir() {
        Some(dir)
    } else {
        println!(
            "note: {} not found; skipping Codex conformance checks",
            dir.display()
        );
        None
    }
}

const CAPTURES: &[&str] = &[
    "appserver-turn.jsonl",
    "appserver-fix_bug-untrusted.jsonl",
    "appserver-onrequest-escalation-accepted.jsonl",
    "appserver-onrequest-escalation-declined.jsonl",
];

/// Every member of `mine` must exist in `orig` with the same value (recursively).
fn check_subset(mine: &Value, orig: &Value, path: &str, errors: &mut Vec<String>) {
    match (mine, orig) {
        (Value::Object(m), Value::Object(o)) => {
            for (k, v) in m {
                match o.get(k) {
                    Some(ov) => check_subset(v, ov, &format!("{path}.{k}"), errors),
                    None => errors.push(format!("{path}.{k}: not in the original (ours: {v})")),
                }
            }
        }
        (Value::Array(m), Value::Array(o)) => {
            if m.len() != o.len() {
                errors.push(format!("{path}: length {} vs {}", m.len(), o.len()));
                return;
            }
            for (i, (a, b)) in m.iter().zip(o).enumerate() {
                check_subset(a, b, &format!("{path}[{i}]"), errors);
            }
        }
        _ => {
            if mine != orig {
                errors.push(format!("{path}: ours {mine} vs original {orig}"));
            }
        }
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(
    value: &Value,
    label: &str,
    errors: &mut Vec<String>,
) {
    match serde_json::from_value::<T>(value.clone()) {
        Ok(typed) => {
            let again = serde_json::to_value(&typed).unwrap();
            check_subset(&again, value, label, errors);
        }
        Err(e) => errors.push(format!("{label}: does not parse: {e}")),
    }
}

/// Parse a client request's result by method and round-trip it.
fn roundtrip_result(method: &str, result: &Value, label: &str, errors: &mut Vec<String>) -> bool {
    match method {
        "initialize" => roundtrip::<InitializeResponse>(result, label, errors),
        "thread/start" => roundtrip::<ThreadStartResponse>(result, label, errors),
        "thread/resume" => roundtrip::<ThreadResumeResponse>(result, label, errors),
        "thread/fork" => roundtrip::<ThreadForkResponse>(result, label, errors),
        "thread/list" => roundtrip::<ThreadListResponse>(result, label, errors),
        "thread/read" => roundtrip::<ThreadReadResponse>(result, label, errors),
        "thread/unarchive" => roundtrip::<ThreadUnarchiveResponse>(result, label, errors),
        "turn/start" => roundtrip::<TurnStartResponse>(result, label, errors),
        "turn/steer" => roundtrip::<TurnSteerResponse>(result, label, errors),
        "model/list" => roundtrip::<ModelListResponse>(result, label, errors),
        "config/read" => roundtrip::<ConfigReadResponse>(result, label, errors),
        "account/read" => roundtrip::<GetAccountResponse>(result, label, errors),
        "modelProvider/list" => roundtrip::<ModelProviderListResponse>(result, label, errors),
        "command/exec" => roundtrip::<CommandExecResponse>(result, label, errors),
        "thread/archive" | "thread/name/set" | "thread/compact/start" | "turn/interrupt" => {
            roundtrip::<EmptyResponse>(result, label, errors)
        }
        _ => return false,
    }
    true
}

#[test]
fn captures_roundtrip() {
    let Some(reference) = reference_dir() else {
        return;
    };
    let mut errors = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for file in CAPTURES {
        let text = std::fs::read_to_string(reference.join("captures").join(file)).unwrap();
        let mut client_methods: HashMap<RequestId, String> = HashMap::new();
        let mut server_methods: HashMap<RequestId, String> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let rec: Value = serde_json::from_str(line).unwrap();
            let msg = &rec["msg"];
            let dir = rec["dir"].as_str().unwrap();
            let label = format!("{file}:{}", n + 1);
            let id: Option<RequestId> = msg
                .get("id")
                .map(|v| serde_json::from_value(v.clone()).unwrap());
            let method = msg.get("method").and_then(Value::as_str);
            match (dir, method, id) {
                ("->", Some(method), Some(id)) => {
                    match parse_client_request(method, msg.get("params").cloned()) {
                        Ok(req) => {
                            let again = serde_json::to_value(&req).unwrap();
                            check_subset(&again, msg, &label, &mut errors);
                        }
                        Err(e) => errors.push(format!("{label}: {method}: {e}")),
                    }
                    client_methods.insert(id, method.to_string());
                    *counts.entry(format!("-> {method}")).or_default() += 1;
                }
                ("->", Some(method), None) => {
                    roundtrip::<ClientNotification>(msg, &label, &mut errors);
                    *counts.entry(format!("-> {method}")).or_default() += 1;
                }
                ("->", None, Some(id)) => {
                    let method = server_methods.get(&id).cloned().unwrap_or_default();
                    let result = &msg["result"];
                    match method.as_str() {
                        "item/commandExecution/requestApproval" => roundtrip::<
                            CommandExecutionRequestApprovalResponse,
                        >(
                            result, &label, &mut errors
                        ),
                        "item/fileChange/requestApproval" => roundtrip::<
                            FileChangeRequestApprovalResponse,
                        >(
                            result, &label, &mut errors
                        ),
                        other => errors.push(format!("{label}: reply to unknown request {other}")),
                    }
                    *counts.entry(format!("-> reply {method}")).or_default() += 1;
                }
                ("<-", Some(method), Some(id)) => {
                    server_methods.insert(id, method.to_string());
                    if ServerRequest::METHODS.contains(&method) {
                        roundtrip::<ServerRequest>(msg, &label, &mut errors);
                        *counts.entry(format!("<- {method}")).or_default() += 1;
                    }
                }
                ("<-", Some(method), None) => {
                    if ServerNotification::METHODS.contains(&method) {
                        roundtrip::<ServerNotification>(msg, &label, &mut errors);
                        *counts.entry(format!("<- {method}")).or_default() += 1;
                    }
                }
                ("<-", None, Some(id)) => {
                    let method = client_methods.get(&id).cloned().unwrap_or_default();
                    if let Some(result) = msg.get("result") {
                        if roundtrip_result(&method, result, &label, &mut errors) {
                            *counts.entry(format!("<- result {method}")).or_default() += 1;
                        }
                    }
                }
                _ => errors.push(format!("{label}: unexpected message {msg}")),
            }
        }
    }

    let misc: Value = serde_json::from_str(
        &std::fs::read_to_string(reference.join("captures/appserver-misc-responses.json")).unwrap(),
    )
    .unwrap();
    for method in [
        "model/list",
        "config/read",
        "thread/list",
        "account/read",
        "modelProvider/list",
    ] {
        let label = format!("misc {method}");
        assert!(roundtrip_result(
            method,
            &misc[method]["result"],
            &label,
            &mut errors
        ));
        *counts.entry(format!("<- result {method}")).or_default() += 1;
    }

    println!("covered: {counts:#?}");
    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
    for must in [
        "-> initialize",
        "-> thread/start",
        "-> turn/start",
        "-> initialized",
        "-> reply item/commandExecution/requestApproval",
        "-> reply item/fileChange/requestApproval",
        "<- item/commandExecution/requestApproval",
        "<- item/fileChange/requestApproval",
        "<- thread/started",
        "<- turn/completed",
        "<- item/completed",
        "<- result thread/start",
        "<- result turn/start",
        "<- result initialize",
    ] {
        assert!(counts.contains_key(must), "no `{must}` covered");
    }
}

// ---------------------------------------------------------------------------------------------
// Samples for schema validation

const THREAD_ID: &str = "01a21140-289a-7193-a91d-28f11ba8bef1";
const TURN_ID: &str = "01a21140-28b1-74f1-a548-c22a51e8bb32";

fn thread(source: SessionSource, turns: Vec<Turn>) -> Thread {
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

fn turn(status: TurnStatus, items: Vec<ThreadItem>, error: Option<TurnError>) -> Turn {
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

fn all_items() -> Vec<ThreadItem> {
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
        ThreadItem::ContextCompaction {
            id: "cc_1".into(),
            started_at_ms: None,
            completed_at_ms: None,
        },
    ]
}

fn notifications() -> Vec<ServerNotification> {
    let usage = TokenUsageBreakdown {
        total_tokens: 9510,
        input_tokens: 9477,
        cached_input_tokens: 0,
        cache_write_input_tokens: 0,
        output_tokens: 33,
        reasoning_output_tokens: 0,
    };
    let mut out = vec![
        ServerNotification::ThreadStarted(ThreadStartedNotification {
            thread: thread(SessionSource::Vscode, vec![]),
        }),
        ServerNotification::TurnStarted(TurnStartedNotification {
            thread_id: THREAD_ID.into(),
            turn: Turn {
                items_view: TurnItemsView::NotLoaded,
                completed_at: None,
                duration_ms: None,
                ..turn(TurnStatus::InProgress, vec![], None)
            },
        }),
        ServerNotification::TurnCompleted(TurnCompletedNotification {
            thread_id: THREAD_ID.into(),
            turn: turn(TurnStatus::Completed, all_items(), None),
        }),
        ServerNotification::TurnCompleted(TurnCompletedNotification {
            thread_id: THREAD_ID.into(),
            turn: turn(
                TurnStatus::Failed,
                vec![],
                Some(TurnError {
                    message: "stream disconnected".into(),
                    codex_error_info: Some(CodexErrorInfo::ResponseStreamDisconnected(
                        HttpStatusInfo {
                            http_status_code: Some(502),
                        },
                    )),
                    additional_details: Some("retried 5 times".into()),
                    misalignment: None,
                }),
            ),
        }),
        ServerNotification::AgentMessageDelta(AgentMessageDeltaNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            item_id: "msg_1".into(),
            delta: "The repository".into(),
        }),
        ServerNotification::ReasoningSummaryTextDelta(ReasoningSummaryTextDeltaNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            item_id: "rs_1".into(),
            delta: "Thinking".into(),
            summary_index: 0,
        }),
        ServerNotification::ReasoningTextDelta(ReasoningTextDeltaNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            item_id: "rs_1".into(),
            delta: "raw".into(),
            content_index: 0,
        }),
        ServerNotification::CommandExecutionOutputDelta(CommandExecutionOutputDeltaNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            item_id: "call_1".into(),
            delta: "AGENTS.md\n".into(),
        }),
        ServerNotification::TurnPlanUpdated(TurnPlanUpdatedNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            explanation: Some("two steps".into()),
            plan: vec![
                TurnPlanStep {
                    step: "read".into(),
                    status: TurnPlanStepStatus::Completed,
                },
                TurnPlanStep {
                    step: "fix".into(),
                    status: TurnPlanStepStatus::InProgress,
                },
                TurnPlanStep {
                    step: "test".into(),
                    status: TurnPlanStepStatus::Pending,
                },
            ],
        }),
        ServerNotification::TurnDiffUpdated(TurnDiffUpdatedNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            diff: "diff --git a/a b/a\n".into(),
        }),
        ServerNotification::ThreadTokenUsageUpdated(ThreadTokenUsageUpdatedNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            token_usage: ThreadTokenUsage {
                total: usage,
                last: usage,
                model_context_window: Some(258_400),
            },
        }),
        ServerNotification::ContextCompacted(ContextCompactedNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
        }),
        ServerNotification::ThreadNameUpdated(ThreadNameUpdatedNotification {
            thread_id: THREAD_ID.into(),
            thread_name: Some("Fix the bug".into()),
        }),
        ServerNotification::ThreadNameUpdated(ThreadNameUpdatedNotification {
            thread_id: THREAD_ID.into(),
            thread_name: None,
        }),
        ServerNotification::ThreadArchived(ThreadArchivedNotification {
            thread_id: THREAD_ID.into(),
        }),
        ServerNotification::ThreadDeleted(ThreadDeletedNotification {
            thread_id: THREAD_ID.into(),
        }),
        ServerNotification::ThreadUnarchived(ThreadUnarchivedNotification {
            thread_id: THREAD_ID.into(),
        }),
        ServerNotification::Error(ErrorNotification {
            error: TurnError {
                message: "Reconnecting... 1/5".into(),
                codex_error_info: Some(CodexErrorInfo::HttpConnectionFailed(HttpStatusInfo {
                    http_status_code: Some(500),
                })),
                additional_details: None,
                misalignment: None,
            },
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            will_retry: true,
        }),
        ServerNotification::Error(ErrorNotification {
            error: TurnError {
                message: "context window exceeded".into(),
                codex_error_info: Some(CodexErrorInfo::ContextWindowExceeded),
                additional_details: None,
                misalignment: None,
            },
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            will_retry: false,
        }),
        ServerNotification::ServerRequestResolved(ServerRequestResolvedNotification {
            thread_id: THREAD_ID.into(),
            request_id: RequestId::Integer(0),
        }),
        ServerNotification::ConfigWarning(ConfigWarningNotification {
            summary: "Codex could not find bubblewrap on PATH.".into(),
            details: None,
            path: None,
            range: None,
        }),
        ServerNotification::ConfigWarning(ConfigWarningNotification {
            summary: "unknown key".into(),
            details: Some("`foo` is not a config key".into()),
            path: Some("/home/user/.codex/config.toml".into()),
            range: Some(TextRange {
                start: TextPosition { line: 3, column: 1 },
                end: TextPosition { line: 3, column: 4 },
            }),
        }),
        ServerNotification::CommandExecOutputDelta(CommandExecOutputDeltaNotification {
            process_id: "proc-1".into(),
            stream: CommandExecOutputStream::Stdout,
            delta_base64: "aGVsbG8K".into(),
            cap_reached: false,
        }),
        ServerNotification::CommandExecOutputDelta(CommandExecOutputDeltaNotification {
            process_id: "proc-1".into(),
            stream: CommandExecOutputStream::Stderr,
            delta_base64: String::new(),
            cap_reached: true,
        }),
        ServerNotification::FsChanged(FsChangedNotification {
            watch_id: "w1".into(),
            changed_paths: vec![
                "/home/user/repo/.git/HEAD".into(),
                "/home/user/repo/.git/index".into(),
            ],
        }),
    ];
    for status in [
        ThreadStatus::NotLoaded,
        ThreadStatus::Idle,
        ThreadStatus::SystemError,
        ThreadStatus::Active {
            active_flags: vec![],
        },
        ThreadStatus::Active {
            active_flags: vec![
                ThreadActiveFlag::WaitingOnApproval,
                ThreadActiveFlag::WaitingOnUserInput,
            ],
        },
    ] {
        out.push(ServerNotification::ThreadStatusChanged(
            ThreadStatusChangedNotification {
                thread_id: THREAD_ID.into(),
                status,
            },
        ));
    }
    for (i, item) in all_items().into_iter().enumerate() {
        out.push(ServerNotification::ItemStarted(ItemStartedNotification {
            item: item.clone(),
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            started_at_ms: 1_795_585_747_000 + i as i64,
        }));
        out.push(ServerNotification::ItemCompleted(
            ItemCompletedNotification {
                item,
                thread_id: THREAD_ID.into(),
                turn_id: TURN_ID.into(),
                content_token_count: Some(12),
                completed_at_ms: 1_795_585_748_000 + i as i64,
            },
        ));
    }
    out.push(ServerNotification::AccountLoginCompleted(
        AccountLoginCompletedNotification {
            login_id: None,
            success: true,
            error: None,
        },
    ));
    for auth_mode in [Some(AuthMode::ApiKey), None] {
        out.push(ServerNotification::AccountUpdated(
            AccountUpdatedNotification {
                auth_mode,
                plan_type: None,
            },
        ));
    }
    out.push(ServerNotification::ConfigWarning(
        ConfigWarningNotification {
            summary: "config key `notify` is accepted but not acted on by this version of wright"
                .into(),
            details: None,
            path: Some("/home/user/.wright/config.toml".into()),
            range: None,
        },
    ));
    out.extend(auto_review_notifications());
    out
}

fn auto_review_notifications() -> Vec<ServerNotification> {
    let actions = [
        GuardianApprovalReviewAction::Command {
            source: GuardianCommandSource::Shell,
            command: "/bin/bash -lc 'touch .git/x'".into(),
            cwd: "/repo".into(),
        },
        GuardianApprovalReviewAction::ApplyPatch {
            cwd: "/repo".into(),
            files: vec!["/outside/a.txt".into()],
        },
    ];
    let mut out = Vec::new();
    for action in actions {
        out.push(ServerNotification::ItemGuardianApprovalReviewStarted(
            ItemGuardianApprovalReviewStartedNotification {
                thread_id: THREAD_ID.into(),
                turn_id: TURN_ID.into(),
                review_id: "review_1".into(),
                started_at_ms: 1_795_585_747_000,
                target_item_id: Some("call_1".into()),
                review: GuardianApprovalReview {
                    status: GuardianApprovalReviewStatus::InProgress,
                    risk_level: None,
                    user_authorization: None,
                    rationale: None,
                },
                action: action.clone(),
            },
        ));
        for (status, risk, auth) in [
            (
                GuardianApprovalReviewStatus::Approved,
                Some(GuardianRiskLevel::Low),
                Some(GuardianUserAuthorization::High),
            ),
            (
                GuardianApprovalReviewStatus::Denied,
                Some(GuardianRiskLevel::Critical),
                Some(GuardianUserAuthorization::Unknown),
            ),
            (GuardianApprovalReviewStatus::TimedOut, None, None),
            (GuardianApprovalReviewStatus::Aborted, None, None),
        ] {
            out.push(ServerNotification::ItemGuardianApprovalReviewCompleted(
                ItemGuardianApprovalReviewCompletedNotification {
                    thread_id: THREAD_ID.into(),
                    turn_id: TURN_ID.into(),
                    review_id: "review_1".into(),
                    started_at_ms: 1_795_585_747_000,
                    completed_at_ms: 1_795_585_748_000,
                    target_item_id: Some("call_1".into()),
                    decision_source: AutoReviewDecisionSource::Agent,
                    review: GuardianApprovalReview {
                        status,
                        risk_level: risk,
                        user_authorization: auth,
                        rationale: Some("why".into()),
                    },
                    action: action.clone(),
                },
            ));
        }
    }
    out
}

fn server_requests() -> Vec<ServerRequest> {
    vec![
        ServerRequest::CommandExecutionRequestApproval {
            id: RequestId::Integer(0),
            params: CommandExecutionRequestApprovalParams {
                kind: CommandExecutionApprovalKind::Command,
                thread_id: THREAD_ID.into(),
                turn_id: TURN_ID.into(),
                item_id: "call_1".into(),
                started_at_ms: 1_795_585_747_213,
                environment_id: Some("local".into()),
                approval_id: None,
                reason: Some("Write a file next to the repository?".into()),
                command: Some("/bin/bash -lc ls".into()),
                cwd: Some("/home/user/repo".into()),
                command_actions: Some(vec![CommandAction::ListFiles {
                    command: "ls".into(),
                    path: None,
                }]),
                network_approval_context: Some(NetworkApprovalContext {
                    host: "pypi.org".into(),
                    protocol: NetworkApprovalProtocol::Https,
                }),
                proposed_execpolicy_amendment: Some(vec!["ls".into()]),
                proposed_network_policy_amendments: Some(vec![NetworkPolicyAmendment {
                    host: "pypi.org".into(),
                    action: NetworkPolicyRuleAction::Allow,
                }]),
                available_decisions: Some(vec![
                    CommandExecutionApprovalDecision::Accept,
                    CommandExecutionApprovalDecision::AcceptWithExecpolicyAmendment {
                        execpolicy_amendment: vec!["ls".into()],
                    },
                    CommandExecutionApprovalDecision::Cancel,
                ]),
            },
        },
        ServerRequest::FileChangeRequestApproval {
            id: RequestId::Integer(1),
            params: FileChangeRequestApprovalParams {
                thread_id: THREAD_ID.into(),
                turn_id: TURN_ID.into(),
                item_id: "call_2".into(),
                started_at_ms: 1_795_585_488_663,
                reason: None,
                grant_root: None,
            },
        },
    ]
}

fn start_response(sandbox: SandboxPolicy, approval: AskForApproval) -> ThreadStartResponse {
    ThreadStartResponse {
        thread: thread(SessionSource::AppServer, vec![]),
        model: "gpt-5.5".into(),
        model_provider: "mock".into(),
        service_tier: None,
        cwd: "/home/user/repo".into(),
        instruction_sources: vec!["/home/user/repo/AGENTS.md".into()],
        approval_policy: approval,
        approvals_reviewer: ApprovalsReviewer::User,
        sandbox,
        reasoning_effort: None,
        disabled_plugin_ids: vec![],
    }
}

/// `(schema spec, value)` of every response type.
fn responses() -> Vec<(String, Value)> {
    fn v<T: Serialize>(t: T) -> Value {
        serde_json::to_value(t).unwrap()
    }
    let full_turn = turn(TurnStatus::Completed, all_items(), None);
    let mut out = vec![
        (
            "file:v1/InitializeResponse.json".to_string(),
            v(InitializeResponse {
                user_agent: "wright/0.1.0 (Debian 12; x86_64)".into(),
                codex_home: "/home/user/.codex".into(),
                platform_family: "unix".into(),
                platform_os: "linux".into(),
            }),
        ),
        (
            "v2:ThreadStartResponse".into(),
            v(start_response(
                SandboxPolicy::WorkspaceWrite {
                    writable_roots: vec!["/tmp/extra".into()],
                    network_access: false,
                    exclude_tmpdir_env_var: false,
                    exclude_slash_tmp: false,
                },
                AskForApproval::Untrusted,
            )),
        ),
        (
            "v2:ThreadForkResponse".into(),
            v(start_response(
                SandboxPolicy::ReadOnly {
                    network_access: true,
                },
                AskForApproval::Granular(GranularApprovalConfig {
                    sandbox_approval: true,
                    rules: true,
                    mcp_elicitations: false,
                    request_permissions: false,
                    skill_approval: false,
                }),
            )),
        ),
        (
            "v2:ThreadResumeResponse".into(),
            v(ThreadResumeResponse {
                thread: thread(SessionSource::Cli, vec![full_turn.clone()]),
                model: "gpt-5.5".into(),
                model_provider: "openai".into(),
                service_tier: Some("priority".into()),
                cwd: "/home/user/repo".into(),
                instruction_sources: vec![],
                approval_policy: AskForApproval::Never,
                approvals_reviewer: ApprovalsReviewer::AutoReview,
                sandbox: SandboxPolicy::DangerFullAccess,
                reasoning_effort: Some(ReasoningEffort::new("high")),
                disabled_plugin_ids: vec![],
                collaboration_mode: Some(CollaborationMode {
                    mode: ModeKind::Default,
                    settings: CollaborationSettings {
                        model: "gpt-5.5".into(),
                        reasoning_effort: None,
                        developer_instructions: None,
                    },
                }),
                turns_backwards_cursor: None,
                items_backwards_cursor: None,
            }),
        ),
        (
            "v2:ThreadListResponse".into(),
            v(ThreadListResponse {
                data: vec![
                    thread(SessionSource::Exec, vec![]),
                    thread(SessionSource::Custom("my-ide".into()), vec![]),
                    thread(
                        SessionSource::SubAgent(SubAgentSource::ThreadSpawn {
                            parent_thread_id: THREAD_ID.into(),
                            depth: 1,
                            agent_path: None,
                            agent_nickname: Some("scout".into()),
                            agent_role: None,
                        }),
                        vec![],
                    ),
                    thread(SessionSource::SubAgent(SubAgentSource::Review), vec![]),
                ],
                next_cursor: Some("cursor-2".into()),
                backwards_cursor: None,
            }),
        ),
        (
            "v2:ThreadReadResponse".into(),
            v(ThreadReadResponse {
                thread: thread(SessionSource::Vscode, vec![full_turn.clone()]),
            }),
        ),
        (
            "v2:ThreadUnarchiveResponse".into(),
            v(ThreadUnarchiveResponse {
                thread: thread(SessionSource::Vscode, vec![]),
            }),
        ),
        (
            "v2:TurnStartResponse".into(),
            v(TurnStartResponse {
                turn: Turn {
                    items: vec![],
                    items_view: TurnItemsView::NotLoaded,
                    status: TurnStatus::InProgress,
                    started_at: None,
                    completed_at: None,
                    duration_ms: None,
                    ..full_turn.clone()
                },
            }),
        ),
        (
            "v2:TurnSteerResponse".into(),
            v(TurnSteerResponse {
                turn_id: TURN_ID.into(),
            }),
        ),
        (
            "v2:ModelListResponse".into(),
            v(ModelListResponse {
                data: vec![Model {
                    id: "gpt-5.5".into(),
                    model: "gpt-5.5".into(),
                    upgrade: None,
                    upgrade_info: Some(ModelUpgradeInfo {
                        model: "gpt-6".into(),
                        upgrade_copy: None,
                        model_link: None,
                        migration_markdown: Some("Try it".into()),
                        retirement_at: None,
                    }),
                    availability_nux: None,
                    display_name: "GPT-5.5".into(),
                    description: "Workhorse model".into(),
                    model_specialty: None,
                    hidden: false,
                    supported_reasoning_efforts: vec![ReasoningEffortOption {
                        reasoning_effort: ReasoningEffort::new("low"),
                        description: "Fast".into(),
                    }],
                    default_reasoning_effort: ReasoningEffort::new("low"),
                    input_modalities: vec![InputModality::Text, InputModality::Image],
                    supports_personality: false,
                    multi_agent_version: Some(MultiAgentVersion::V2),
                    additional_speed_tiers: vec!["fast".into()],
                    service_tiers: vec![ModelServiceTier {
                        id: "priority".into(),
                        name: "Fast".into(),
                        description: "2x speed".into(),
                    }],
                    default_service_tier: None,
                    available_access_programs: None,
                    is_default: true,
                }],
                next_cursor: None,
            }),
        ),
        (
            "v2:ConfigReadResponse".into(),
            v(ConfigReadResponse {
                config: json!({"model": "gpt-5.5", "model_provider": "mock", "approval_policy": "on-request"})
                    .as_object()
                    .unwrap()
                    .clone(),
                origins: BTreeMap::from([(
                    "model".to_string(),
                    ConfigLayerMetadata {
                        name: ConfigLayerSource::User {
                            file: "/home/user/.codex/config.toml".into(),
                            profile: None,
                        },
                        version: "sha256:00".into(),
                    },
                )]),
                layers: Some(vec![ConfigLayer {
                    name: ConfigLayerSource::SessionFlags,
                    version: "sha256:01".into(),
                    config: json!({"model_provider": "mock"}),
                    disabled_reason: None,
                }]),
            }),
        ),
        (
            "v2:CommandExecResponse".into(),
            v(CommandExecResponse {
                exit_code: 0,
                stdout: "hi\n".into(),
                stderr: String::new(),
            }),
        ),
    ];
    let layer = ConfigLayerMetadata {
        name: ConfigLayerSource::User {
            file: "/home/user/.wright/config.toml".into(),
            profile: None,
        },
        version: "sha256:00".into(),
    };
    out.extend([
        (
            "v2:ConfigWriteResponse".to_string(),
            v(ConfigWriteResponse {
                status: WriteStatus::Ok,
                version: "sha256:01".into(),
                file_path: "/home/user/.wright/config.toml".into(),
                overridden_metadata: None,
            }),
        ),
        (
            "v2:ConfigWriteResponse".to_string(),
            v(ConfigWriteResponse {
                status: WriteStatus::OkOverridden,
                version: "sha256:01".into(),
                file_path: "/home/user/.wright/config.toml".into(),
                overridden_metadata: Some(OverriddenMetadata {
                    message: "Overridden by session flags".into(),
                    overriding_layer: ConfigLayerMetadata {
                        name: ConfigLayerSource::SessionFlags,
                        version: "sha256:02".into(),
                    },
                    effective_value: json!("o3"),
                }),
            }),
        ),
        (
            "v2:ConfigReadResponse".to_string(),
            v(ConfigReadResponse {
                config: serde_json::Map::new(),
                origins: BTreeMap::from([("model".to_string(), layer.clone())]),
                layers: Some(vec![ConfigLayer {
                    name: ConfigLayerSource::User {
                        file: "/home/user/.wright/fast.config.toml".into(),
                        profile: Some("fast".into()),
                    },
                    version: layer.version.clone(),
                    config: json!({"model": "o3"}),
                    disabled_reason: None,
                }]),
            }),
        ),
        (
            "v2:ConfigRequirementsReadResponse".to_string(),
            v(ConfigRequirementsReadResponse::default()),
        ),
        (
            "v2:ModelProviderListResponse".to_string(),
            v(ModelProviderListResponse {
                data: vec![
                    ModelProviderSummary {
                        id: "local".into(),
                        name: "Local".into(),
                        base_url: Some("http://127.0.0.1:8080/v1".into()),
                        can_edit: false,
                        settings: ProviderSettings::CustomGateway {
                            auth: GatewayAuth::None,
                        },
                    },
                    ModelProviderSummary {
                        id: "mock".into(),
                        name: "mock".into(),
                        base_url: None,
                        can_edit: false,
                        settings: ProviderSettings::CustomGateway {
                            auth: GatewayAuth::EnvironmentVariable {
                                env_key: "MOCK_KEY".into(),
                            },
                        },
                    },
                    ModelProviderSummary {
                        id: "gw".into(),
                        name: "gw".into(),
                        base_url: None,
                        can_edit: false,
                        settings: ProviderSettings::CustomGateway {
                            auth: GatewayAuth::ExternallyConfigured { env_key: None },
                        },
                    },
                    ModelProviderSummary {
                        id: "openai".into(),
                        name: "OpenAI".into(),
                        base_url: Some("https://api.openai.com/v1".into()),
                        can_edit: false,
                        settings: ProviderSettings::Openai,
                    },
                ],
                default_provider_id: "openai".into(),
                can_change_default: false,
            }),
        ),
        (
            "v2:ModelProviderCapabilitiesReadResponse".to_string(),
            v(ModelProviderCapabilitiesReadResponse {
                image_generation: false,
                web_search: false,
            }),
        ),
        (
            "v2:PermissionProfileListResponse".to_string(),
            v(PermissionProfileListResponse {
                data: vec![PermissionProfileSummary {
                    id: ":workspace".into(),
                    description: Some("sandbox_mode = \"workspace-write\"".into()),
                    allowed: true,
                }],
                next_cursor: Some("1".into()),
            }),
        ),
        (
            "v2:ExperimentalFeatureListResponse".to_string(),
            v(ExperimentalFeatureListResponse {
                data: vec![ExperimentalFeature {
                    name: "x".into(),
                    stage: ExperimentalFeatureStage::Beta,
                    display_name: None,
                    description: None,
                    announcement: None,
                    enabled: false,
                    default_enabled: false,
                }],
                next_cursor: None,
            }),
        ),
        (
            "v2:GetAccountResponse".to_string(),
            v(GetAccountResponse {
                account: Some(Account::ApiKey {}),
                requires_openai_auth: true,
            }),
        ),
        (
            "v2:GetAccountResponse".to_string(),
            v(GetAccountResponse {
                account: None,
                requires_openai_auth: false,
            }),
        ),
        (
            "v2:LoginAccountResponse".to_string(),
            v(LoginAccountResponse::ApiKey {}),
        ),
        (
            "v2:LogoutAccountResponse".to_string(),
            v(LogoutAccountResponse {}),
        ),
    ]);
    out.push((
        "v2:FsWatchResponse".into(),
        v(FsWatchResponse {
            path: "/home/user/repo/.git/HEAD".into(),
        }),
    ));
    out.push(("v2:FsUnwatchResponse".into(), v(FsUnwatchResponse {})));
    out.push((
        "file:FuzzyFileSearchResponse.json".into(),
        v(FuzzyFileSearchResponse {
            files: vec![
                FuzzyFileSearchResult {
                    root: "/home/user/repo".into(),
                    path: "src/main.rs".into(),
                    match_type: FuzzyFileSearchMatchType::File,
                    file_name: "main.rs".into(),
                    score: 159,
                    indices: Some(vec![4, 5, 6, 7]),
                },
                FuzzyFileSearchResult {
                    root: "/home/user/repo".into(),
                    path: "src".into(),
                    match_type: FuzzyFileSearchMatchType::Directory,
                    file_name: "src".into(),
                    score: 12,
                    indices: None,
                },
            ],
        }),
    ));
    for name in [
        "ThreadArchiveResponse",
        "ThreadSetNameResponse",
        "ThreadCompactStartResponse",
        "TurnInterruptResponse",
    ] {
        out.push((format!("v2:{name}"), v(EmptyResponse {})));
    }
    for name in [
        "CommandExecWriteResponse",
        "CommandExecTerminateResponse",
        "CommandExecResizeResponse",
    ] {
        out.push((format!("v2:{name}"), v(CommandExecEmptyResponse {})));
    }
    for decision in [
        CommandExecutionApprovalDecision::Accept,
        CommandExecutionApprovalDecision::AcceptForSession,
        CommandExecutionApprovalDecision::AcceptWithExecpolicyAmendment {
            execpolicy_amendment: vec!["ls".into()],
        },
        CommandExecutionApprovalDecision::ApplyNetworkPolicyAmendment {
            network_policy_amendment: NetworkPolicyAmendment {
                host: "pypi.org".into(),
                action: NetworkPolicyRuleAction::Deny,
            },
        },
        CommandExecutionApprovalDecision::Decline,
        CommandExecutionApprovalDecision::Cancel,
    ] {
        out.push((
            "file:CommandExecutionRequestApprovalResponse.json".into(),
            v(CommandExecutionRequestApprovalResponse { decision }),
        ));
    }
    for decision in [
        FileChangeApprovalDecision::Accept,
        FileChangeApprovalDecision::AcceptForSession,
        FileChangeApprovalDecision::Decline,
        FileChangeApprovalDecision::Cancel,
    ] {
        out.push((
            "file:FileChangeRequestApprovalResponse.json".into(),
            v(FileChangeRequestApprovalResponse { decision }),
        ));
    }
    out
}

/// Client requests (all but the wright extension), as the Codex envelope with an id.
fn client_requests() -> Vec<ClientRequest> {
    vec![
        ClientRequest::Initialize(InitializeParams {
            client_info: ClientInfo {
                name: "probe".into(),
                title: Some("Probe".into()),
                version: "0.1".into(),
            },
            capabilities: Some(InitializeCapabilities {
                experimental_api: Some(false),
                opt_out_notification_methods: Some(vec!["thread/started".into()]),
                ..Default::default()
            }),
        }),
        ClientRequest::ThreadStart(ThreadStartParams {
            cwd: Some("/home/user/repo".into()),
            model: Some("gpt-5.5".into()),
            approval_policy: Some(AskForApproval::OnRequest),
            sandbox: Some(SandboxMode::WorkspaceWrite),
            config: Some(
                json!({"model_reasoning_effort": "high"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            ..Default::default()
        }),
        ClientRequest::ThreadResume(ThreadResumeParams {
            thread_id: THREAD_ID.into(),
            sandbox: Some(SandboxMode::ReadOnly),
            ..Default::default()
        }),
        ClientRequest::ThreadFork(ThreadForkParams {
            thread_id: THREAD_ID.into(),
            last_turn_id: Some(TURN_ID.into()),
            ephemeral: Some(true),
            ..Default::default()
        }),
        ClientRequest::ThreadList(ThreadListParams {
            cursor: Some("c1".into()),
            limit: Some(20),
            sort_key: Some(ThreadSortKey::UpdatedAt),
            sort_direction: Some(SortDirection::Desc),
            archived: Some(false),
            cwd: Some(ThreadListCwdFilter::Any(vec!["/a".into(), "/b".into()])),
            model_providers: Some(vec!["openai".into()]),
            source_kinds: Some(vec![ThreadSourceKind::Vscode, ThreadSourceKind::Cli]),
            search_term: Some("bug".into()),
            ..Default::default()
        }),
        ClientRequest::ThreadRead(ThreadReadParams {
            thread_id: THREAD_ID.into(),
            include_turns: Some(true),
        }),
        ClientRequest::ThreadArchive(ThreadIdParams {
            thread_id: THREAD_ID.into(),
        }),
        ClientRequest::ThreadUnarchive(ThreadIdParams {
            thread_id: THREAD_ID.into(),
        }),
        ClientRequest::ThreadSetName(ThreadSetNameParams {
            thread_id: THREAD_ID.into(),
            name: "Fix bug".into(),
        }),
        ClientRequest::ThreadCompactStart(ThreadIdParams {
            thread_id: THREAD_ID.into(),
        }),
        ClientRequest::TurnStart(TurnStartParams {
            thread_id: THREAD_ID.into(),
            input: vec![
                UserInput::text("hello"),
                UserInput::Image {
                    url: Some("data:image/png;base64,AAAA".into()),
                    file_id: None,
                    detail: None,
                },
                UserInput::LocalImage {
                    path: "/tmp/a.png".into(),
                    detail: Some(ImageDetail::Low),
                },
            ],
            cwd: Some("/home/user/repo/sub".into()),
            model: Some("gpt-5.5".into()),
            approval_policy: Some(AskForApproval::Never),
            sandbox_policy: Some(SandboxPolicy::ExternalSandbox {
                network_access: NetworkAccess::Enabled,
            }),
            effort: Some(ReasoningEffort::new("low")),
            summary: Some(ReasoningSummary::Concise),
            output_schema: Some(
                json!({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
            ),
            ..Default::default()
        }),
        ClientRequest::TurnInterrupt(TurnInterruptParams {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
        }),
        ClientRequest::TurnSteer(TurnSteerParams {
            thread_id: THREAD_ID.into(),
            expected_turn_id: TURN_ID.into(),
            input: vec![UserInput::text("also check tests")],
            client_user_message_id: None,
        }),
        ClientRequest::ModelList(ModelListParams {
            limit: Some(10),
            include_hidden: Some(false),
            ..Default::default()
        }),
        ClientRequest::ConfigRead(ConfigReadParams {
            cwd: None,
            include_layers: Some(true),
        }),
        ClientRequest::ConfigValueWrite(ConfigValueWriteParams {
            key_path: "model".into(),
            value: json!("o3"),
            merge_strategy: MergeStrategy::Replace,
            file_path: Some("/home/user/.wright/config.toml".into()),
            expected_version: Some("sha256:00".into()),
        }),
        ClientRequest::ConfigBatchWrite(ConfigBatchWriteParams {
            edits: vec![
                ConfigEdit {
                    key_path: "model_providers.local".into(),
                    value: json!({"base_url": "http://127.0.0.1:8080/v1"}),
                    merge_strategy: MergeStrategy::Upsert,
                },
                ConfigEdit {
                    key_path: "notify".into(),
                    value: Value::Null,
                    merge_strategy: MergeStrategy::Replace,
                },
            ],
            file_path: None,
            expected_version: None,
            reload_user_config: Some(false),
        }),
        ClientRequest::ConfigRequirementsRead(NoParams),
        ClientRequest::ModelProviderList(ModelProviderListParams {}),
        ClientRequest::ModelProviderCapabilitiesRead(ModelProviderCapabilitiesReadParams {}),
        ClientRequest::PermissionProfileList(PermissionProfileListParams {
            cursor: Some("1".into()),
            cwd: None,
            limit: Some(2),
        }),
        ClientRequest::ExperimentalFeatureList(ExperimentalFeatureListParams::default()),
        ClientRequest::AccountRead(GetAccountParams {
            refresh_token: Some(false),
        }),
        ClientRequest::AccountLoginStart(LoginAccountParams::ApiKey {
            api_key: "sk-test".into(),
        }),
        ClientRequest::AccountLoginStart(LoginAccountParams::ChatgptDeviceCode),
        ClientRequest::AccountLogout(NoParams),
        ClientRequest::CommandExec(CommandExecParams {
            command: vec!["ls".into(), "-la".into()],
            cwd: Some("/tmp".into()),
            env: Some(BTreeMap::from([
                ("FOO".to_string(), Some("1".to_string())),
                ("BAR".to_string(), None),
            ])),
            sandbox_policy: Some(SandboxPolicy::ReadOnly {
                network_access: false,
            }),
            timeout_ms: Some(10_000),
            size: Some(CommandExecTerminalSize { rows: 24, cols: 80 }),
            ..Default::default()
        }),
        ClientRequest::CommandExec(CommandExecParams {
            command: vec!["bash".into(), "-i".into()],
            process_id: Some("bash-1".into()),
            tty: Some(true),
            stream_stdin: Some(true),
            stream_stdout_stderr: Some(true),
            output_bytes_cap: Some(32_768),
            disable_timeout: Some(true),
            ..Default::default()
        }),
        ClientRequest::CommandExecWrite(CommandExecWriteParams {
            process_id: "bash-1".into(),
            delta_base64: Some("cHdkCg==".into()),
            close_stdin: true,
        }),
        ClientRequest::CommandExecResize(CommandExecResizeParams {
            process_id: "bash-1".into(),
            size: CommandExecTerminalSize {
                rows: 48,
                cols: 160,
            },
        }),
        ClientRequest::CommandExecTerminate(CommandExecTerminateParams {
            process_id: "bash-1".into(),
        }),
        ClientRequest::FsWatch(FsWatchParams {
            watch_id: "w1".into(),
            path: "/home/user/repo/.git/HEAD".into(),
        }),
        ClientRequest::FsUnwatch(FsUnwatchParams {
            watch_id: "w1".into(),
        }),
        ClientRequest::FuzzyFileSearch(FuzzyFileSearchParams {
            query: "main".into(),
            roots: vec!["/home/user/repo".into()],
            cancellation_token: Some("picker".into()),
        }),
        ClientRequest::FuzzyFileSearch(FuzzyFileSearchParams {
            query: "lib".into(),
            roots: vec![],
            cancellation_token: None,
        }),
    ]
}

fn python_with_jsonschema() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Some("python3")
    } else {
        println!("note: python3 with `jsonschema` not available (pip install jsonschema); skipping schema validation");
        None
    }
}

#[test]
fn samples_validate_against_codex_schema() {
    let Some(reference) = reference_dir() else {
        return;
    };
    let Some(python) = python_with_jsonschema() else {
        return;
    };
    let mut lines = Vec::new();
    let mut push = |label: String, schema: &str, value: Value| {
        lines.push(json!({"label": label, "schema": schema, "value": value}).to_string());
    };

    for (i, n) in notifications().into_iter().enumerate() {
        let label = format!("notification #{i} {}", n.method());
        // What goes on the wire, including Codex's `emittedAtMs`.
        let wire = serde_json::to_value(n.to_jsonrpc(Some(1_795_585_747_093))).unwrap();
        assert_eq!(wire["method"], n.method());
        push(label, "ServerNotification", wire);
        // Also the params alone against their own definition.
        let v = serde_json::to_value(&n).unwrap();
        let params_def = match &n {
            ServerNotification::Error(_) => "ErrorNotification",
            ServerNotification::ThreadStarted(_) => "ThreadStartedNotification",
            ServerNotification::ThreadStatusChanged(_) => "ThreadStatusChangedNotification",
            ServerNotification::ThreadArchived(_) => "ThreadArchivedNotification",
            ServerNotification::ThreadDeleted(_) => "ThreadDeletedNotification",
            ServerNotification::ThreadUnarchived(_) => "ThreadUnarchivedNotification",
            ServerNotification::ThreadNameUpdated(_) => "ThreadNameUpdatedNotification",
            ServerNotification::ThreadTokenUsageUpdated(_) => "ThreadTokenUsageUpdatedNotification",
            ServerNotification::ContextCompacted(_) => "ContextCompactedNotification",
            ServerNotification::TurnStarted(_) => "TurnStartedNotification",
            ServerNotification::TurnCompleted(_) => "TurnCompletedNotification",
            ServerNotification::TurnDiffUpdated(_) => "TurnDiffUpdatedNotification",
            ServerNotification::TurnPlanUpdated(_) => "TurnPlanUpdatedNotification",
            ServerNotification::ItemStarted(_) => "ItemStartedNotification",
            ServerNotification::ItemCompleted(_) => "ItemCompletedNotification",
            ServerNotification::AgentMessageDelta(_) => "AgentMessageDeltaNotification",
            ServerNotification::CommandExecutionOutputDelta(_) => {
                "CommandExecutionOutputDeltaNotification"
            }
            ServerNotification::ReasoningSummaryTextDelta(_) => {
                "ReasoningSummaryTextDeltaNotification"
            }
            ServerNotification::ReasoningTextDelta(_) => "ReasoningTextDeltaNotification",
            ServerNotification::ItemGuardianApprovalReviewStarted(_) => {
                "ItemGuardianApprovalReviewStartedNotification"
            }
            ServerNotification::ItemGuardianApprovalReviewCompleted(_) => {
                "ItemGuardianApprovalReviewCompletedNotification"
            }
            ServerNotification::ServerRequestResolved(_) => "ServerRequestResolvedNotification",
            ServerNotification::ConfigWarning(_) => "ConfigWarningNotification",
            ServerNotification::AccountUpdated(_) => "AccountUpdatedNotification",
            ServerNotification::AccountLoginCompleted(_) => "AccountLoginCompletedNotification",
            ServerNotification::CommandExecOutputDelta(_) => "CommandExecOutputDeltaNotification",
            ServerNotification::FsChanged(_) => "FsChangedNotification",
        };
        push(
            format!("notification #{i} params"),
            &format!("v2:{params_def}"),
            v["params"].clone(),
        );
    }
    for (i, r) in server_requests().into_iter().enumerate() {
        let wire = serde_json::to_value(r.to_jsonrpc()).unwrap();
        assert_eq!(wire, serde_json::to_value(&r).unwrap());
        push(
            format!("server request #{i} {}", r.method()),
            "ServerRequest",
            wire,
        );
    }
    for (i, (schema, value)) in responses().into_iter().enumerate() {
        push(format!("response #{i} {schema}"), &schema, value);
    }
    for (i, req) in client_requests().into_iter().enumerate() {
        let mut v = serde_json::to_value(&req).unwrap();
        v["id"] = json!(i + 10);
        // And it parses back through parse_client_request.
        let back = parse_client_request(req.method(), Some(v["params"].clone())).unwrap();
        assert_eq!(back, req);
        push(
            format!("client request {}", req.method()),
            "ClientRequest",
            v,
        );
    }

    let samples = std::env::temp_dir().join(format!(
        "wright-protocol-v2-samples-{}-{}.jsonl",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&samples, lines.join("\n") + "\n").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate_schema.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(reference.join("codex-app-server-schema"))
        .arg(&samples)
        .output()
        .expect("run validate_schema.py");
    let _ = std::fs::remove_file(&samples);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "schema validation failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn samples_roundtrip_through_serde() {
    for n in notifications() {
        let v = serde_json::to_value(&n).unwrap();
        let back: ServerNotification = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, n, "{v}");
    }
    for r in server_requests() {
        let v = serde_json::to_value(&r).unwrap();
        let back: ServerRequest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, r, "{v}");
    }
    for req in client_requests() {
        let v = serde_json::to_value(&req).unwrap();
        let back: ClientRequest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, req, "{v}");
    }
}

#[test]
fn thread_search_in_codex_shape() {
    let req = parse_client_request(
        "thread/search",
        Some(json!({"searchTerm": "inventory bug", "limit": 5, "sortKey": "updated_at"})),
    )
    .unwrap();
    assert_eq!(
        req,
        ClientRequest::ThreadSearch(ThreadSearchParams {
            search_term: "inventory bug".into(),
            limit: Some(5),
            sort_key: Some(ThreadSearchSortKey::UpdatedAt),
            ..Default::default()
        })
    );
    // Codex's old wright-only shape is refused, naming the missing member.
    let err = parse_client_request("thread/search", Some(json!({"query": "x"}))).unwrap_err();
    assert!(err.to_string().contains("searchTerm"), "{err}");
}
