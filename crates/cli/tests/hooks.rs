//! Lifecycle hooks through the real `wright exec` against a mock that checks each call:
//! every event runs the user's command with Codex's payload, and what the command answers
//! (exit 2 with feedback, JSON with context or a decision) changes the run. A repository's
//! own hooks run only once trusted.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{call_with_id, output_for, Env};
use serde_json::{json, Value};
use wright_mock_model::{Script, Step};

async fn strict(script: impl Fn(usize, &Value) -> Step + Send + Sync + 'static) -> Env {
    Env::strict(Script::Dynamic(Arc::new(script))).await
}

/// An executable hook script in `dir`; it appends its stdin (one JSON line) to `<name>.log`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.sh"));
    let log = dir.join(format!("{name}.log"));
    let text = format!(
        "#!/bin/bash\ninput=$(cat)\nprintf '%s\\n' \"$input\" >> {}\n{body}\n",
        log.display()
    );
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The JSON lines a hook was given.
fn inputs(dir: &Path, name: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("{name}.log")))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `[[hooks.EVENT]]` with one command handler.
fn hook_toml(event: &str, matcher: Option<&str>, command: &Path) -> String {
    let matcher = matcher
        .map(|m| format!("matcher = \"{m}\"\n"))
        .unwrap_or_default();
    format!(
        "\n[[hooks.{event}]]\n{matcher}[[hooks.{event}.hooks]]\ntype = \"command\"\ncommand = \"{}\"\ntimeout = 30\n",
        command.display()
    )
}

fn add_config(env: &Env, extra: &str) {
    let path = env.home.path().join("config.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(extra);
    std::fs::write(path, text).unwrap();
}

fn exec(cmd: &str, id: &str) -> Step {
    Step::calls(vec![call_with_id(
        "exec_command",
        json!({ "cmd": cmd }),
        id,
    )])
}

/// The text of every developer and user message of a request.
fn message_texts(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["text"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn pre_tool_use_blocks_with_its_feedback_and_lets_other_calls_run() {
    let env = strict(|i, _| match i {
        0 => exec("rm -f keep.txt", "c_rm"),
        1 => exec("echo ran > ran.txt", "c_ok"),
        _ => Step::message("done"),
    })
    .await;
    let hook = script(
        env.home.path(),
        "pre",
        "case \"$input\" in *'rm -f'*) echo 'no deleting files here' >&2; exit 2;; esac\nexit 0",
    );
    add_config(&env, &hook_toml("PreToolUse", Some("Bash"), &hook));
    std::fs::write(env.repo().join("keep.txt"), "x").unwrap();
    env.exec(&["--json", "-s", "workspace-write", "tidy"])
        .await
        .assert_ok();
    let bodies = env.bodies();
    let blocked = output_for(&bodies[1], "c_rm");
    assert!(
        blocked.contains("blocked by a hook: no deleting files here"),
        "{blocked}"
    );
    assert!(env.repo().join("keep.txt").exists(), "the blocked call ran");
    assert!(
        env.repo().join("ran.txt").exists(),
        "the allowed call did not run"
    );
    let seen = inputs(env.home.path(), "pre");
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0]["hook_event_name"], "PreToolUse");
    assert_eq!(seen[0]["tool_name"], "Bash");
    assert_eq!(seen[0]["tool_input"], json!({"command": "rm -f keep.txt"}));
    assert_eq!(seen[0]["tool_use_id"], "c_rm");
    assert_eq!(seen[0]["cwd"], env.repo().display().to_string());
    assert!(seen[0]["session_id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn context_from_session_start_prompt_submit_and_post_tool_use_reaches_the_model() {
    let env = strict(|i, _| match i {
        0 => exec("echo hi", "c_hi"),
        _ => Step::message("done"),
    })
    .await;
    let start = script(
        env.home.path(),
        "start",
        "echo 'Remember: deploys are frozen'",
    );
    let prompt = script(
        env.home.path(),
        "prompt",
        r#"echo '{"hookSpecificOutput":{"hookEventName":"UserPromptSubmit","additionalContext":"ticket ABC-1"}}'"#,
    );
    let post = script(
        env.home.path(),
        "post",
        r#"echo '{"hookSpecificOutput":{"hookEventName":"PostToolUse","additionalContext":"lint passed"}}'"#,
    );
    add_config(
        &env,
        &[
            hook_toml("SessionStart", None, &start),
            hook_toml("UserPromptSubmit", None, &prompt),
            hook_toml("PostToolUse", Some("Bash"), &post),
        ]
        .concat(),
    );
    env.json("go").await.assert_ok();
    let bodies = env.bodies();
    let first = message_texts(&bodies[0]);
    assert!(
        first
            .iter()
            .any(|t| t.contains("Remember: deploys are frozen")),
        "{first:?}"
    );
    assert!(
        first.iter().any(|t| t.contains("ticket ABC-1")),
        "{first:?}"
    );
    let out = output_for(&bodies[1], "c_hi");
    assert!(out.contains("lint passed"), "{out}");
    assert_eq!(inputs(env.home.path(), "start")[0]["source"], "startup");
    assert_eq!(inputs(env.home.path(), "prompt")[0]["prompt"], "go");
    assert_eq!(
        inputs(env.home.path(), "post")[0]["tool_name"],
        "Bash",
        "post_tool_use payload"
    );
}

#[tokio::test]
async fn a_blocked_prompt_never_reaches_the_model() {
    let env = strict(|_, _| Step::message("answered")).await;
    let hook = script(
        env.home.path(),
        "prompt",
        "case \"$input\" in *password*) echo 'no secrets in prompts' >&2; exit 2;; esac\nexit 0",
    );
    add_config(&env, &hook_toml("UserPromptSubmit", None, &hook));
    let blocked = env.json("my password is hunter2").await;
    assert_eq!(blocked.code, Some(1), "{}", blocked.stdout);
    assert!(
        blocked.stdout.contains("no secrets in prompts"),
        "{}",
        blocked.stdout
    );
    assert!(env.bodies().is_empty(), "the prompt reached the model");
    // The same hook lets an innocent prompt through.
    env.json("list the files").await.assert_ok();
    assert_eq!(env.bodies().len(), 1);
}

#[tokio::test]
async fn a_stop_hook_sends_the_model_back_once() {
    let env = strict(|i, _| match i {
        0 => Step::message("done, I think"),
        _ => Step::message("tests pass now"),
    })
    .await;
    let hook = script(
        env.home.path(),
        "stop",
        "case \"$input\" in *'\"stop_hook_active\":false'*) echo 'run the tests first' >&2; exit 2;; esac\nexit 0",
    );
    add_config(&env, &hook_toml("Stop", None, &hook));
    let run = env.exec(&["--json", "fix it"]).await;
    run.assert_ok();
    let bodies = env.bodies();
    assert_eq!(bodies.len(), 2);
    assert!(message_texts(&bodies[1]).contains(&"run the tests first".to_string()));
    let seen = inputs(env.home.path(), "stop");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["stop_hook_active"], false);
    assert_eq!(seen[0]["last_assistant_message"], "done, I think");
    assert_eq!(seen[1]["stop_hook_active"], true);
    assert!(run.stdout.contains("tests pass now"));
}

#[tokio::test]
async fn compaction_and_session_end_run_their_hooks() {
    let env = strict(|_, _| Step::message("summary of the work")).await;
    let pre = script(env.home.path(), "precompact", "exit 0");
    let post = script(env.home.path(), "postcompact", "exit 0");
    let end = script(env.home.path(), "end", "exit 0");
    add_config(
        &env,
        &[
            hook_toml("PreCompact", None, &pre),
            hook_toml("PostCompact", None, &post),
            hook_toml("SessionEnd", None, &end),
        ]
        .concat(),
    );
    env.json("/compact").await.assert_ok();
    let pre = inputs(env.home.path(), "precompact");
    let post = inputs(env.home.path(), "postcompact");
    assert_eq!(pre.len(), 1);
    assert_eq!(pre[0]["hook_event_name"], "PreCompact");
    assert_eq!(pre[0]["trigger"], "manual");
    assert_eq!(post[0]["hook_event_name"], "PostCompact");
    let end = inputs(env.home.path(), "end");
    assert_eq!(end.len(), 1, "SessionEnd did not run when exec finished");
    assert_eq!(end[0]["hook_event_name"], "SessionEnd");
}

#[tokio::test]
async fn a_repositorys_hooks_run_only_once_trusted_and_ask_again_when_changed() {
    let env = strict(|i, _| match i % 2 {
        0 => exec("echo ran >> ran.txt", "c_run"),
        _ => Step::message("done"),
    })
    .await;
    let dir = env.repo().join(".codex");
    std::fs::create_dir_all(&dir).unwrap();
    let hook = script(&dir, "guard", "echo 'the repo says no' >&2\nexit 2");
    let hooks = json!({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": hook.display().to_string()}]}]}});
    std::fs::write(dir.join("hooks.json"), hooks.to_string()).unwrap();
    let run = || env.exec(&["--json", "-s", "workspace-write", "go"]);

    // Untrusted: it does not run, and the command does; the user is told.
    let first = run().await;
    first.assert_ok();
    assert!(
        first.stderr.contains("warning: skipped PreToolUse hook"),
        "{}",
        first.stderr
    );
    assert!(inputs(&dir, "guard").is_empty(), "an untrusted hook ran");
    assert!(env.repo().join("ran.txt").exists());

    let wright = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_wright"))
            .args(args)
            .current_dir(env.repo())
            .env("WRIGHT_HOME", env.home.path())
            .env("HOME", env.home.path())
            .output()
            .unwrap()
    };
    let listed = String::from_utf8_lossy(&wright(&["hooks", "list"]).stdout).into_owned();
    assert!(listed.contains("NOT TRUSTED"), "{listed}");
    let trusted = wright(&["hooks", "trust", "--all"]);
    assert!(trusted.status.success());

    // Trusted: it blocks.
    std::fs::remove_file(env.repo().join("ran.txt")).unwrap();
    run().await.assert_ok();
    assert_eq!(inputs(&dir, "guard").len(), 1);
    assert!(
        !env.repo().join("ran.txt").exists(),
        "the trusted hook did not block"
    );

    // Changed: untrusted again until trusted again.
    let changed = json!({"hooks": {"PreToolUse": [{"matcher": "Bash|apply_patch", "hooks": [
        {"type": "command", "command": hook.display().to_string()}]}]}});
    std::fs::write(dir.join("hooks.json"), changed.to_string()).unwrap();
    run().await.assert_ok();
    assert_eq!(
        inputs(&dir, "guard").len(),
        1,
        "a changed hook ran untrusted"
    );
    assert!(env.repo().join("ran.txt").exists());
    let listed = String::from_utf8_lossy(&wright(&["hooks", "list"]).stdout).into_owned();
    assert!(listed.contains("CHANGED since trusted"), "{listed}");
}

#[tokio::test]
async fn a_stop_hook_that_never_lets_go_does_not_keep_the_model_working_forever() {
    let env = strict(|i, _| Step::message(format!("answer {i}"))).await;
    let hook = script(env.home.path(), "stop", "echo 'keep going' >&2\nexit 2");
    add_config(&env, &hook_toml("Stop", None, &hook));
    let run = env.exec(&["--json", "go"]).await;
    run.assert_ok();
    // The first answer and eight continuations, then the turn ends, and the user is told.
    assert_eq!(env.bodies().len(), 9);
    assert!(
        run.stderr
            .contains("a Stop hook sent the model back 8 times"),
        "{}",
        run.stderr
    );
}
