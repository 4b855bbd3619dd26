use super::*;

pub fn notifications() -> Vec<ServerNotification> {
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
        ServerNotification::TerminalInteraction(TerminalInteractionNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            item_id: "call_1".into(),
            process_id: "15286".into(),
            stdin: "print(1)\n".into(),
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
    out.extend(super::mcp::mcp_notifications());
    out.extend(super::agent_tools::agent_tool_notifications());
    out
}

pub fn auto_review_notifications() -> Vec<ServerNotification> {
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
        super::mcp::mcp_auto_review_action(),
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

pub fn server_requests() -> Vec<ServerRequest> {
    let mut out = vec![
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
    ];
    out.extend(super::mcp::mcp_server_requests());
    out
}
