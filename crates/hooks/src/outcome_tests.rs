use serde_json::json;

use super::*;
use crate::runner::RunError;

fn run(exit_code: Option<i32>, stdout: &str, stderr: &str) -> HookRun {
    HookRun {
        started_at: 1,
        completed_at: 2,
        duration_ms: 5,
        exit_code,
        signal: None,
        stdout: stdout.into(),
        stderr: stderr.into(),
        stdout_truncated: false,
        stderr_truncated: false,
        error: None,
    }
}

fn kinds(outcome: &HookOutcome) -> Vec<(Kind, &str)> {
    outcome
        .entries
        .iter()
        .map(|e| (e.kind, e.text.as_str()))
        .collect()
}

#[test]
fn exit_two_blocks_with_stderr_where_the_event_can_block() {
    let o = interpret(HookEvent::PreToolUse, &run(Some(2), "", " no rm -rf \n"));
    assert_eq!(o.status, HookRunStatus::Blocked);
    assert_eq!(o.block.as_deref(), Some("no rm -rf"));
    assert_eq!(kinds(&o), [(Kind::Feedback, "no rm -rf")]);

    let o = interpret(HookEvent::PermissionRequest, &run(Some(2), "", "denied"));
    assert_eq!(o.permission, Some(Permission::Deny("denied".into())));
    assert_eq!(o.block, None);

    let o = interpret(HookEvent::PostToolUse, &run(Some(2), "", "looks off"));
    assert_eq!(o.status, HookRunStatus::Completed);
    assert_eq!(o.block.as_deref(), Some("looks off"));

    let o = interpret(HookEvent::PreToolUse, &run(Some(2), "", "  "));
    assert_eq!(o.status, HookRunStatus::Failed);
    assert_eq!(o.block, None);

    // SessionStart and the compact events cannot block: 2 is a failure like any other.
    let o = interpret(HookEvent::SessionStart, &run(Some(2), "", "x"));
    assert_eq!(kinds(&o), [(Kind::Error, "hook exited with code 2")]);
    let o = interpret(HookEvent::PreCompact, &run(Some(2), "", "disk full"));
    assert_eq!(kinds(&o), [(Kind::Error, "disk full")]);
}

#[test]
fn other_failures_are_errors_that_do_not_block() {
    let o = interpret(HookEvent::PreToolUse, &run(Some(1), "", "boom"));
    assert_eq!(o.status, HookRunStatus::Failed);
    assert_eq!(kinds(&o), [(Kind::Error, "hook exited with code 1")]);
    assert_eq!(o.block, None);
    let mut timed_out = run(None, "", "");
    timed_out.error = Some(RunError::TimedOut(3));
    let o = interpret(HookEvent::Stop, &timed_out);
    assert_eq!(kinds(&o), [(Kind::Error, "hook timed out after 3s")]);
    let o = interpret(HookEvent::Stop, &run(None, "", ""));
    assert_eq!(
        kinds(&o),
        [(Kind::Error, "hook exited without a status code")]
    );
}

#[test]
fn pre_tool_use_json_rules() {
    let deny = r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"nope","additionalContext":"ctx"}}"#;
    let o = interpret(HookEvent::PreToolUse, &run(Some(0), deny, ""));
    assert_eq!(o.status, HookRunStatus::Blocked);
    assert_eq!(o.block.as_deref(), Some("nope"));
    assert_eq!(o.additional_context, ["ctx"]);

    let legacy = r#"{"decision":"block","reason":"legacy"}"#;
    let o = interpret(HookEvent::PreToolUse, &run(Some(0), legacy, ""));
    assert_eq!(o.block.as_deref(), Some("legacy"));

    let rewrite = r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow","updatedInput":{"command":"ls -a"}}}"#;
    let o = interpret(HookEvent::PreToolUse, &run(Some(0), rewrite, ""));
    assert_eq!(o.status, HookRunStatus::Completed);
    assert_eq!(o.updated_input, Some(json!({"command": "ls -a"})));

    for (text, error) in [
        (r#"{"continue":false}"#, "unsupported continue:false"),
        (
            r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"ask"}}"#,
            "unsupported permissionDecision:ask",
        ),
        (
            r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow"}}"#,
            "unsupported permissionDecision:allow",
        ),
        (
            r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny"}}"#,
            "without a non-empty permissionDecisionReason",
        ),
        (r#"{"decision":"approve"}"#, "unsupported decision:approve"),
        (
            r#"{"decision":"block"}"#,
            "decision:block without a non-empty reason",
        ),
        (r#"{"reason":"why"}"#, "reason without decision"),
        (r#"{"bogus":1}"#, "invalid pre-tool-use JSON output"),
    ] {
        let o = interpret(HookEvent::PreToolUse, &run(Some(0), text, ""));
        assert_eq!(o.status, HookRunStatus::Failed, "{text}");
        assert_eq!(o.block, None, "{text}");
        assert!(
            o.entries.iter().any(|e| e.text.contains(error)),
            "{text}: {:?}",
            o.entries
        );
    }
    // Plain text is neither an error nor context here.
    let o = interpret(HookEvent::PreToolUse, &run(Some(0), "just logging", ""));
    assert_eq!((o.status, o.entries.len()), (HookRunStatus::Completed, 0));
}

#[test]
fn continue_false_stops_where_the_event_allows_it() {
    let text = r#"{"continue":false,"stopReason":"pause","systemMessage":"heads up"}"#;
    for event in [
        HookEvent::UserPromptSubmit,
        HookEvent::Stop,
        HookEvent::SessionStart,
    ] {
        let o = interpret(event, &run(Some(0), text, ""));
        assert_eq!(o.status, HookRunStatus::Stopped, "{event}");
        assert_eq!(o.stop.as_deref(), Some("pause"));
        assert_eq!(o.system_message.as_deref(), Some("heads up"));
        assert_eq!(
            kinds(&o),
            [(Kind::Warning, "heads up"), (Kind::Stop, "pause")]
        );
    }
    let o = interpret(
        HookEvent::PostCompact,
        &run(Some(0), r#"{"continue":false}"#, ""),
    );
    assert_eq!(
        o.stop.as_deref(),
        Some("PostCompact hook stopped execution")
    );
    let o = interpret(HookEvent::PermissionRequest, &run(Some(0), text, ""));
    assert_eq!(o.status, HookRunStatus::Failed);
    assert_eq!(o.stop, None);
}

#[test]
fn plain_stdout_is_context_only_for_prompt_and_start() {
    let o = interpret(HookEvent::SessionStart, &run(Some(0), "branch: main\n", ""));
    assert_eq!(o.additional_context, ["branch: main"]);
    let o = interpret(
        HookEvent::UserPromptSubmit,
        &run(Some(0), "today is Monday", ""),
    );
    assert_eq!(o.additional_context, ["today is Monday"]);
    let o = interpret(HookEvent::Stop, &run(Some(0), "done", ""));
    assert_eq!(
        kinds(&o),
        [(Kind::Error, "hook returned invalid stop hook JSON output")]
    );
    let o = interpret(HookEvent::SessionStart, &run(Some(0), "{oops", ""));
    assert_eq!(o.status, HookRunStatus::Failed);
    assert!(o.additional_context.is_empty());
}

#[test]
fn prompt_and_stop_block_decisions() {
    let block = r#"{"decision":"block","reason":"not yet"}"#;
    let o = interpret(HookEvent::Stop, &run(Some(0), block, ""));
    assert_eq!(
        (o.status, o.block.as_deref()),
        (HookRunStatus::Blocked, Some("not yet"))
    );
    let o = interpret(HookEvent::UserPromptSubmit, &run(Some(0), block, ""));
    assert_eq!(o.block.as_deref(), Some("not yet"));
    let o = interpret(
        HookEvent::Stop,
        &run(Some(0), r#"{"decision":"block"}"#, ""),
    );
    assert_eq!(o.status, HookRunStatus::Failed);
}

#[test]
fn permission_request_decisions() {
    let allow = r#"{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"allow"}}}"#;
    let o = interpret(HookEvent::PermissionRequest, &run(Some(0), allow, ""));
    assert_eq!(o.permission, Some(Permission::Allow));
    let deny = r#"{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"deny"}}}"#;
    let o = interpret(HookEvent::PermissionRequest, &run(Some(0), deny, ""));
    assert_eq!(
        o.permission,
        Some(Permission::Deny(
            "PermissionRequest hook denied approval".into()
        ))
    );
    let interrupt = r#"{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"deny","interrupt":true}}}"#;
    let o = interpret(HookEvent::PermissionRequest, &run(Some(0), interrupt, ""));
    assert_eq!((o.status, o.permission), (HookRunStatus::Failed, None));
}

#[test]
fn post_tool_use_feedback_and_stop() {
    let block = r#"{"decision":"block","reason":"output looks wrong","hookSpecificOutput":{"hookEventName":"PostToolUse","additionalContext":"note"}}"#;
    let o = interpret(HookEvent::PostToolUse, &run(Some(0), block, ""));
    assert_eq!(o.status, HookRunStatus::Blocked);
    assert_eq!(o.block.as_deref(), Some("output looks wrong"));
    assert_eq!(o.additional_context, ["note"]);
    let stop = r#"{"continue":false,"reason":"tell the model"}"#;
    let o = interpret(HookEvent::PostToolUse, &run(Some(0), stop, ""));
    assert_eq!(
        o.stop.as_deref(),
        Some("PostToolUse hook stopped execution")
    );
    assert_eq!(o.block.as_deref(), Some("tell the model"));
}

fn outcome_with(f: impl FnOnce(&mut HookOutcome)) -> HookOutcome {
    let mut o = HookOutcome::new();
    f(&mut o);
    o
}

#[test]
fn aggregate_follows_codex_precedence() {
    let allow = outcome_with(|o| o.permission = Some(Permission::Allow));
    let deny = outcome_with(|o| o.permission = Some(Permission::Deny("no".into())));
    let d = aggregate(
        HookEvent::PermissionRequest,
        &[(allow.clone(), 0), (deny, 1)],
    );
    assert_eq!(d.permission, Some(Permission::Deny("no".into())));
    let d = aggregate(HookEvent::PermissionRequest, &[(allow, 0)]);
    assert_eq!(d.permission, Some(Permission::Allow));

    let a = outcome_with(|o| o.block = Some("a".into()));
    let b = outcome_with(|o| o.block = Some("b".into()));
    let d = aggregate(HookEvent::PreToolUse, &[(a.clone(), 1), (b.clone(), 0)]);
    assert_eq!(d.block.as_deref(), Some("a"));
    let d = aggregate(HookEvent::Stop, &[(a.clone(), 0), (b.clone(), 1)]);
    assert_eq!(d.block.as_deref(), Some("a\n\nb"));
    let stop = outcome_with(|o| o.stop = Some("halt".into()));
    let d = aggregate(HookEvent::Stop, &[(a, 0), (stop, 1), (b, 2)]);
    assert_eq!((d.block, d.stop_turn.as_deref()), (None, Some("halt")));

    // Configured first but finished last: its rewrite wins.
    let finished_last = outcome_with(|o| o.updated_input = Some(json!(1)));
    let finished_first = outcome_with(|o| o.updated_input = Some(json!(2)));
    let d = aggregate(
        HookEvent::PreToolUse,
        &[(finished_last, 1), (finished_first, 0)],
    );
    assert_eq!(d.updated_input, Some(json!(1)));
}
