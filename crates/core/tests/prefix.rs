//! Every request of a thread is the previous request's bytes with new items appended, across
//! turns and across a mid-thread change of cwd and policy: the prompt cache never misses on
//! what was already sent.

use std::sync::Arc;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use wright_core::config::{ApprovalPolicy, CliOverrides, Config, SandboxMode};
use wright_core::{Thread, TurnInput, TurnOutcome, TurnOverrides};
use wright_mock_model::{MockModel, OutputItem, Script, Step};

const STEPS_PER_TURN: usize = 25;

#[tokio::test]
async fn fifty_steps_with_a_policy_change_only_ever_append() {
    // Requests 0..24 and 25..49 are the two turns; the last request of each answers in text.
    let script = Script::Dynamic(Arc::new(|i, _| {
        if i % STEPS_PER_TURN == STEPS_PER_TURN - 1 {
            Step::message(format!("turn done after request {i}"))
        } else {
            Step::calls(vec![OutputItem::function(
                "exec_command",
                json!({"cmd": format!("echo step {i}")}),
            )])
        }
    }));
    let mock = MockModel::start(script).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let sub = repo.join("sub");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(repo.join("AGENTS.md"), "- RULE: be brief\n").unwrap();
    let table: toml::Table = format!(
        "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\n",
        mock.base_url()
    )
    .parse()
    .unwrap();
    let config = Config::from_table(
        table,
        &tmp.path().join("home"),
        &CliOverrides {
            cwd: Some(repo.clone()),
            // Unconfined: this test is about request bytes, not about the sandbox.
            sandbox_mode: Some(SandboxMode::DangerFullAccess),
            ..Default::default()
        },
    )
    .unwrap();
    let mut thread = Thread::new(config).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });

    let first = thread
        .run_turn(
            TurnInput {
                text: "turn one".into(),
                ..Default::default()
            },
            &tx,
            CancellationToken::new(),
        )
        .await;
    assert!(matches!(first, TurnOutcome::Completed { .. }), "{first:?}");
    let second = thread
        .run_turn(
            TurnInput {
                text: "turn two".into(),
                overrides: TurnOverrides {
                    cwd: Some(sub.clone()),
                    sandbox_mode: Some(SandboxMode::WorkspaceWrite),
                    approval_policy: Some(ApprovalPolicy::OnRequest),
                    model: None,
                    effort: None,
                    network_access: None,
                },
                ..Default::default()
            },
            &tx,
            CancellationToken::new(),
        )
        .await;
    assert!(
        matches!(second, TurnOutcome::Completed { .. }),
        "{second:?}"
    );
    drop(tx);
    drain.await.unwrap();

    let requests = mock.requests();
    assert_eq!(requests.len(), 2 * STEPS_PER_TURN);
    for pair in requests.windows(2) {
        let (prev, next) = (&pair[0].body, &pair[1].body);
        // `input` is the last key: drop the closing `]}` and the rest must be a prefix.
        assert!(prev.ends_with(b"]}"));
        let stem = &prev[..prev.len() - 2];
        assert!(
            next.starts_with(stem),
            "request is not an extension of the previous one:\n{}\n---\n{}",
            String::from_utf8_lossy(stem),
            String::from_utf8_lossy(next)
        );
    }
    // The change is told as new messages at the start of turn two.
    let body = requests[STEPS_PER_TURN].json();
    let input = body["input"].as_array().unwrap();
    let n = input.len();
    assert_eq!(input[n - 1]["content"][0]["text"], "turn two");
    let env_ctx = input[n - 2]["content"][0]["text"].as_str().unwrap();
    assert!(env_ctx.contains(&format!("<cwd>{}</cwd>", sub.display())));
    assert!(env_ctx.contains("<sandbox_mode>workspace-write</sandbox_mode>"));
    let permissions = input[n - 3]["content"][0]["text"].as_str().unwrap();
    assert!(permissions.contains("`sandbox_mode` is `workspace-write`"));
    assert_eq!(input[n - 4]["role"], "assistant");
    // The AGENTS.md text stays where it was.
    assert!(input[1]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("- RULE: be brief"));

    let usage = thread.usage();
    let share = usage.cached_input_tokens as f64 / usage.input_tokens as f64;
    assert!(share > 0.9, "cached share {share:.3}");
}
