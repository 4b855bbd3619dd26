//! Approval policy, exec policy rules and secret scrubbing, through `wright exec` (whose
//! approval policy is always `never`: nobody is there to ask).

mod common;

use common::{call_with_id, output_for, Env};
use serde_json::json;
use wright_mock_model::{OutputItem, Step};

#[tokio::test]
async fn forbidden_commands_never_run_in_any_mode() {
    let env = Env::new(vec![
        Step::calls(vec![call_with_id(
            "exec_command",
            json!({"cmd": "touch RAN && git push origin main"}),
            "call_f",
        )]),
        Step::message("blocked"),
    ])
    .await;
    std::fs::create_dir_all(env.home.path().join("rules")).unwrap();
    std::fs::write(
        env.home.path().join("rules/team.toml"),
        "[[rule]]\nprefix = [\"git\", \"push\"]\ndecision = \"forbid\"\njustification = \"pushing is for people\"\n",
    )
    .unwrap();
    let run = env
        .exec(&["--json", "-s", "danger-full-access", "push it"])
        .await;
    run.assert_ok();
    let out = output_for(&env.bodies()[1], "call_f");
    assert_eq!(
        out,
        "not run: `git push` is forbidden by an exec policy rule (pushing is for people)"
    );
    assert!(!env.repo().join("RAN").exists());
    let item = &run.items("item.completed")[0];
    assert_eq!(item["type"], "command_execution");
    assert_eq!(item["status"], "failed");
}

#[tokio::test]
async fn a_broken_rules_file_stops_the_run() {
    let env = Env::new(vec![Step::message("never")]).await;
    std::fs::create_dir_all(env.home.path().join("rules")).unwrap();
    std::fs::write(
        env.home.path().join("rules/bad.toml"),
        "[[rule]]\nprefix = [\"x\"]\ndecision = \"perhaps\"\n",
    )
    .unwrap();
    let run = env.json("hi").await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("bad.toml"), "{}", run.stderr);
    assert!(env.bodies().is_empty());
}

#[tokio::test]
async fn escalation_needs_approval_which_exec_cannot_give() {
    let env = Env::new(vec![
        Step::calls(vec![call_with_id(
            "exec_command",
            json!({"cmd": "touch ESCAPED", "sandbox_permissions": "require_escalated", "justification": "need it"}),
            "call_e",
        )]),
        Step::message("ok"),
    ])
    .await;
    let run = env
        .exec(&["--json", "-s", "workspace-write", "escalate"])
        .await;
    run.assert_ok();
    let out = output_for(&env.bodies()[1], "call_e");
    assert!(
        out.starts_with("not run: running outside the sandbox needs approval"),
        "{out}"
    );
    assert!(!env.repo().join("ESCAPED").exists());
}

#[tokio::test]
async fn secrets_stay_out_of_commands_unless_allowed() {
    let script = |id: &str| {
        Step::calls(vec![call_with_id(
            "exec_command",
            json!({"cmd": "echo \"[$WRIGHT_TEST_API_KEY][$WRIGHT_TEST_PLAIN]\""}),
            id,
        )])
    };
    let env = Env::new(vec![
        script("call_1"),
        Step::message("a"),
        script("call_2"),
        Step::message("b"),
    ])
    .await;
    let run = |extra: &'static [&'static str]| {
        let mut cmd = env.command(&[]);
        cmd.env("WRIGHT_TEST_API_KEY", "sk-very-secret")
            .env("WRIGHT_TEST_PLAIN", "visible")
            .args(["--json", "-s", "danger-full-access"])
            .args(extra)
            .arg("show env");
        cmd
    };
    let out = run(&[]).output().await.unwrap();
    assert!(out.status.success());
    let out = run(&[
        "-c",
        "shell_environment_policy.ignore_default_excludes=true",
    ])
    .output()
    .await
    .unwrap();
    assert!(out.status.success());
    let bodies = env.bodies();
    assert!(output_for(&bodies[1], "call_1").ends_with("Output:\n[][visible]\n"));
    assert!(output_for(&bodies[3], "call_2").ends_with("Output:\n[sk-very-secret][visible]\n"));
}

#[tokio::test]
async fn patches_outside_the_workspace_are_refused_without_approval() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("escape.txt");
    let env = Env::new(vec![
        Step::calls(vec![OutputItem::CustomToolCall {
            name: "apply_patch".into(),
            input: format!("*** Begin Patch\n*** Add File: {}\n+x\n*** Add File: .git/hooks/pre-commit\n+evil\n*** End Patch\n", target.display()),
            call_id: Some("call_p".into()),
        }]),
        Step::message("refused"),
    ])
    .await;
    // /tmp is a writable root by default; take it out so that `outside` really is.
    let run = env
        .exec(&[
            "--json",
            "-s",
            "workspace-write",
            "-c",
            "sandbox_workspace_write.exclude_slash_tmp=true",
            "-c",
            "sandbox_workspace_write.exclude_tmpdir_env_var=true",
            "patch outside",
        ])
        .await;
    run.assert_ok();
    let out = output_for(&env.bodies()[1], "call_p");
    assert!(
        out.starts_with("patch rejected: the workspace-write sandbox does not allow writing"),
        "{out}"
    );
    assert!(
        out.contains("escape.txt") && out.contains(".git/hooks/pre-commit"),
        "{out}"
    );
    assert!(!target.exists());
    assert!(!env.repo().join(".git/hooks/pre-commit").exists());
}
