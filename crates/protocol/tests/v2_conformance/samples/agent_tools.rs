//! Samples of skills and hooks on the wire.

use super::*;

fn run(status: HookRunStatus, completed: bool) -> HookRunSummary {
    HookRunSummary {
        id: "pre-tool-use:0:/home/user/.wright/hooks.json:call_1".into(),
        event_name: HookEventName::PreToolUse,
        handler_type: HookHandlerType::Command,
        execution_mode: HookExecutionMode::Sync,
        scope: HookScope::Turn,
        source_path: "/home/user/.wright/hooks.json".into(),
        source: HookSource::User,
        display_order: 0,
        status,
        status_message: Some("checking".into()),
        started_at: 1_795_585_747,
        completed_at: completed.then_some(1_795_585_748),
        duration_ms: completed.then_some(31),
        entries: if completed {
            vec![HookOutputEntry {
                kind: HookOutputEntryKind::Feedback,
                text: "no rm -rf here".into(),
            }]
        } else {
            Vec::new()
        },
    }
}

pub fn agent_tool_notifications() -> Vec<ServerNotification> {
    vec![
        ServerNotification::SkillsChanged(SkillsChangedNotification {}),
        ServerNotification::Warning(WarningNotification {
            message: "the repository's hook `.codex/check.sh` is not trusted; it did not run"
                .into(),
            thread_id: Some(THREAD_ID.into()),
        }),
        ServerNotification::HookStarted(HookStartedNotification {
            thread_id: THREAD_ID.into(),
            turn_id: Some(TURN_ID.into()),
            run: run(HookRunStatus::Running, false),
        }),
        ServerNotification::HookCompleted(HookCompletedNotification {
            thread_id: THREAD_ID.into(),
            turn_id: Some(TURN_ID.into()),
            run: run(HookRunStatus::Blocked, true),
        }),
    ]
}

pub fn agent_tool_client_requests() -> Vec<ClientRequest> {
    vec![
        ClientRequest::SkillsList(SkillsListParams {
            cwds: Some(vec!["/home/user/repo".into()]),
            force_reload: Some(true),
        }),
        ClientRequest::SkillsList(SkillsListParams::default()),
        ClientRequest::SkillsConfigWrite(SkillsConfigWriteParams {
            enabled: false,
            name: None,
            path: Some("/home/user/repo/.agents/skills/lint/SKILL.md".into()),
        }),
        ClientRequest::SkillsExtraRootsSet(SkillsExtraRootsSetParams {
            extra_roots: vec!["/opt/team-skills".into()],
        }),
        ClientRequest::HooksList(HooksListParams {
            cwds: Some(vec!["/home/user/repo".into()]),
            thread_id: None,
        }),
    ]
}

pub fn agent_tool_responses() -> Vec<(String, Value)> {
    fn v<T: serde::Serialize>(t: T) -> Value {
        serde_json::to_value(t).unwrap()
    }
    vec![
        (
            "v2:SkillsListResponse".into(),
            v(SkillsListResponse {
                data: vec![SkillsListEntry {
                    cwd: "/home/user/repo".into(),
                    skills: vec![SkillMetadata {
                        name: "lint".into(),
                        description: "Run the linter and fix what it finds.".into(),
                        short_description: None,
                        path: "/home/user/repo/.agents/skills/lint/SKILL.md".into(),
                        scope: SkillScope::Repo,
                        enabled: true,
                    }],
                    errors: vec![SkillErrorInfo {
                        path: "/home/user/repo/.agents/skills/bad/SKILL.md".into(),
                        message: "missing field `description`".into(),
                    }],
                }],
            }),
        ),
        (
            "v2:SkillsConfigWriteResponse".into(),
            v(SkillsConfigWriteResponse {
                effective_enabled: false,
            }),
        ),
        (
            "v2:SkillsExtraRootsSetResponse".into(),
            v(SkillsExtraRootsSetResponse {}),
        ),
        (
            "v2:HooksListResponse".into(),
            v(HooksListResponse {
                data: vec![HooksListEntry {
                    cwd: "/home/user/repo".into(),
                    hooks: vec![HookMetadata {
                        key: "/home/user/repo/.codex/hooks.json:pre_tool_use:0:0".into(),
                        event_name: HookEventName::PreToolUse,
                        handler_type: HookHandlerType::Command,
                        command: ".codex/check.sh".into(),
                        is_async: false,
                        matcher: Some("Bash".into()),
                        timeout_sec: 30,
                        status_message: None,
                        source_path: "/home/user/repo/.codex/hooks.json".into(),
                        source: HookSource::Project,
                        plugin_id: None,
                        environment_id: None,
                        additional_context_limit: None,
                        display_order: 0,
                        enabled: true,
                        is_managed: false,
                        current_hash: "sha256:00".into(),
                        trust_status: HookTrustStatus::Untrusted,
                    }],
                    warnings: vec![],
                    errors: vec![],
                }],
            }),
        ),
    ]
}
