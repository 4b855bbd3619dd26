//! End-to-end: config files on disk, real shell commands (`/bin/sh -c`), dispatch.

mod common;

use std::time::{Duration, Instant};

use common::{command, dispatch, group, quoted, Env};
use serde_json::{json, Value};
use wright_hooks::payload;
use wright_hooks::wire::HookOutputEntryKind;
use wright_hooks::{HookEvent, HookProgress, HookRunStatus, Permission};

#[tokio::test]
async fn pre_tool_use_exit_2_blocks_with_stderr_and_exit_0_proceeds() {
    let env = Env::new();
    env.user_hooks(json!({ "PreToolUse": [group(Some("Bash"), vec![command(
        "if grep -q 'rm -rf'; then echo 'destructive command refused' >&2; exit 2; fi"
    )])] }));
    let hooks = env.load().await;

    let (outcome, seen) = dispatch(
        &hooks,
        HookEvent::PreToolUse,
        Some("Bash"),
        env.bash_call("rm -rf /"),
    )
    .await;
    assert_eq!(
        outcome.decision.block.as_deref(),
        Some("destructive command refused")
    );
    assert_eq!(outcome.runs.len(), 1);
    let run = &outcome.runs[0];
    assert_eq!(run.status, HookRunStatus::Blocked);
    assert_eq!(run.entries[0].kind, HookOutputEntryKind::Feedback);
    assert!(run.id.starts_with("pre-tool-use:0:") && run.id.ends_with("hooks.json:call-1"));
    // hook/started then hook/completed, same run id.
    match seen.as_slice() {
        [HookProgress::Started(started), HookProgress::Completed(completed)] => {
            assert_eq!(started.status, HookRunStatus::Running);
            assert_eq!(started.completed_at, None);
            assert_eq!(started.id, completed.id);
            assert_eq!(completed.status, HookRunStatus::Blocked);
        }
        other => panic!("unexpected progress: {other:?}"),
    }

    let (outcome, _) = dispatch(
        &hooks,
        HookEvent::PreToolUse,
        Some("Bash"),
        env.bash_call("ls"),
    )
    .await;
    assert_eq!(outcome.decision.block, None);
    assert_eq!(outcome.runs.len(), 1);
    assert_eq!(outcome.runs[0].status, HookRunStatus::Completed);
}

#[tokio::test]
async fn json_permission_decision_deny_blocks_with_its_reason() {
    let env = Env::new();
    let output = r#"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"use the project script instead"}}"#;
    env.user_hooks(
        json!({ "PreToolUse": [group(None, vec![command(&format!("echo '{output}'"))])] }),
    );
    let hooks = env.load().await;
    let (outcome, _) = dispatch(
        &hooks,
        HookEvent::PreToolUse,
        Some("Bash"),
        env.bash_call("make"),
    )
    .await;
    assert_eq!(
        outcome.decision.block.as_deref(),
        Some("use the project script instead")
    );
    assert_eq!(outcome.runs[0].status, HookRunStatus::Blocked);
}

#[tokio::test]
async fn permission_request_deny_wins_over_allow() {
    let env = Env::new();
    let allow = r#"{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"allow"}}}"#;
    env.user_hooks(json!({ "PermissionRequest": [
        group(None, vec![command(&format!("echo '{allow}'"))]),
        group(Some("Bash"), vec![command("echo 'not on this repo' >&2; exit 2")]),
    ] }));
    let hooks = env.load().await;
    let input = payload::permission_request(&env.session(), "t", "Bash", &json!({"command": "x"}));
    let (outcome, _) = dispatch(
        &hooks,
        HookEvent::PermissionRequest,
        Some("Bash"),
        input.clone(),
    )
    .await;
    assert_eq!(
        outcome.decision.permission,
        Some(Permission::Deny("not on this repo".into()))
    );
    let (outcome, _) = dispatch(&hooks, HookEvent::PermissionRequest, Some("Edit"), input).await;
    assert_eq!(outcome.decision.permission, Some(Permission::Allow));
}

#[tokio::test]
async fn additional_context_is_collected_in_configured_order() {
    let env = Env::new();
    let context = |text: &str| {
        format!(
            r#"echo '{{"hookSpecificOutput":{{"hookEventName":"PostToolUse","additionalContext":"{text}"}}}}'"#
        )
    };
    env.user_hooks(json!({ "PostToolUse": [
        // The first finishes last: order must still be the configured one.
        group(Some("Bash"), vec![command(&format!("sleep 0.8; {}", context("first")))]),
        group(Some("*"), vec![command(&context("second"))]),
    ] }));
    let hooks = env.load().await;
    let input = payload::post_tool_use(
        &env.session(),
        "t",
        "Bash",
        &json!({"command": "ls"}),
        &json!("a\nb"),
        "call-9",
    );
    let (outcome, seen) = dispatch(&hooks, HookEvent::PostToolUse, Some("Bash"), input).await;
    assert_eq!(outcome.decision.additional_context, ["first", "second"]);
    let completed: Vec<i64> = seen
        .iter()
        .filter_map(|p| match p {
            HookProgress::Completed(run) => Some(run.display_order),
            _ => None,
        })
        .collect();
    assert_eq!(completed, [1, 0], "the two hooks ran at the same time");
}

#[tokio::test]
async fn continue_false_stops_the_turn_with_stop_reason() {
    let env = Env::new();
    env.user_hooks(json!({ "UserPromptSubmit": [group(None, vec![command(
        r#"echo '{"continue":false,"stopReason":"daily quota reached"}'"#
    )])] }));
    let hooks = env.load().await;
    let input = payload::user_prompt_submit(&env.session(), "t", "hello");
    let (outcome, _) = dispatch(&hooks, HookEvent::UserPromptSubmit, None, input).await;
    assert_eq!(
        outcome.decision.stop_turn.as_deref(),
        Some("daily quota reached")
    );
    assert_eq!(outcome.runs[0].status, HookRunStatus::Stopped);
}

#[tokio::test]
async fn matcher_selects_hooks_by_tool_name() {
    let env = Env::new();
    let marker = env.file("bash-hook-ran");
    env.user_hooks(json!({ "PreToolUse": [group(Some("Bash"), vec![command(
        &format!("touch {}", quoted(&marker))
    )])] }));
    let hooks = env.load().await;

    let (outcome, seen) = dispatch(&hooks, HookEvent::PreToolUse, Some("Edit"), json!({})).await;
    assert!(outcome.runs.is_empty() && seen.is_empty());
    assert!(!marker.exists());

    let (outcome, _) = dispatch(
        &hooks,
        HookEvent::PreToolUse,
        Some("Bash"),
        env.bash_call("ls"),
    )
    .await;
    assert_eq!(outcome.runs.len(), 1);
    assert!(marker.exists());
}

fn process_is_gone(pid: i32) -> bool {
    // A killed process whose parent died may linger as a zombie until reaped: that is dead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn timeout_kills_the_hook_and_its_background_child() {
    let env = Env::new();
    let pid_file = env.file("child.pid");
    env.user_hooks(json!({ "Stop": [group(None, vec![json!({
        "type": "command",
        "command": format!("sleep 300 & echo $! > {}; wait", quoted(&pid_file)),
        "timeout": 1,
    })])] }));
    let hooks = env.load().await;
    let started = Instant::now();
    let input = payload::stop(&env.session(), "t", false, Some("done"));
    let (outcome, _) = dispatch(&hooks, HookEvent::Stop, None, input).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let run = &outcome.runs[0];
    assert_eq!(run.status, HookRunStatus::Failed);
    assert_eq!(run.entries[0].text, "hook timed out after 1s");
    assert_eq!(outcome.decision.block, None);

    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("child pid: {e}"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !process_is_gone(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        process_is_gone(pid),
        "background child {pid} survived the timeout"
    );
}

#[tokio::test]
async fn invalid_json_output_is_reported_and_does_not_block() {
    let env = Env::new();
    env.user_hooks(json!({ "PreToolUse": [group(None, vec![command(
        r#"echo '{"hookSpecificOutput": {"permissionDecision": "deny"'"#
    )])] }));
    let hooks = env.load().await;
    let (outcome, _) = dispatch(
        &hooks,
        HookEvent::PreToolUse,
        Some("Bash"),
        env.bash_call("ls"),
    )
    .await;
    assert_eq!(outcome.decision.block, None);
    let run = &outcome.runs[0];
    assert_eq!(run.status, HookRunStatus::Failed);
    assert_eq!(run.entries[0].kind, HookOutputEntryKind::Error);
    assert_eq!(
        run.entries[0].text,
        "hook returned invalid pre-tool-use JSON output"
    );
}

#[tokio::test]
async fn hook_reads_the_exact_pre_tool_use_payload_in_the_session_cwd() {
    let env = Env::new();
    let stdin_copy = env.home.path().join("stdin.json");
    let cwd_copy = env.home.path().join("cwd.txt");
    env.user_hooks(
        json!({ "PreToolUse": [group(Some("^Ba"), vec![command(&format!(
        "cat > {}; pwd -P > {}",
        quoted(&stdin_copy),
        quoted(&cwd_copy)
    ))])] }),
    );
    let hooks = env.load().await;
    let (outcome, _) = dispatch(
        &hooks,
        HookEvent::PreToolUse,
        Some("Bash"),
        env.bash_call("cargo test"),
    )
    .await;
    assert_eq!(outcome.runs[0].status, HookRunStatus::Completed);

    let text = std::fs::read_to_string(&stdin_copy).unwrap_or_else(|e| panic!("stdin copy: {e}"));
    let got: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("stdin json: {e}"));
    let expected = json!({
        "session_id": "thr_123",
        "turn_id": "turn-1",
        "transcript_path": env.home.path().join("sessions/rollout.jsonl").display().to_string(),
        "cwd": env.repo.path().display().to_string(),
        "hook_event_name": "PreToolUse",
        "model": "gpt-5-codex",
        "permission_mode": "default",
        "tool_name": "Bash",
        "tool_input": { "command": "cargo test" },
        "tool_use_id": "call-1",
    });
    assert_eq!(got, expected);
    let keys: Vec<&String> = got
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    let expected_keys: Vec<&String> = expected
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, expected_keys, "field order");

    let cwd = std::fs::read_to_string(&cwd_copy).unwrap_or_default();
    let repo = std::fs::canonicalize(env.repo.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cwd.trim(), repo.display().to_string());
}
