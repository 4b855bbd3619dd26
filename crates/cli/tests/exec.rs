//! `wright exec` end to end: the real binary against the mock model over real HTTP/SSE.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{call_with_id, exec_call, output_for, Env};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use wright_mock_model::{OutputItem, Script, Step};

#[tokio::test]
async fn plain_answer() {
    let env = Env::new(vec![Step::message("Hello from the mock.")]).await;
    let run = env.json("say hello").await;
    run.assert_ok();
    assert_eq!(
        run.types(),
        [
            "thread.started",
            "turn.started",
            "item.completed",
            "turn.completed"
        ]
    );
    let events = run.events();
    assert_eq!(
        events[2]["item"],
        json!({"id": "item_0", "type": "agent_message", "text": "Hello from the mock."})
    );
    let usage = &events[3]["usage"];
    assert!(usage["input_tokens"].as_u64().unwrap() > 100);
    assert!(usage["output_tokens"].as_u64().unwrap() > 0);
    for key in [
        "cached_input_tokens",
        "cache_write_input_tokens",
        "reasoning_output_tokens",
    ] {
        assert!(usage[key].is_u64(), "{key} missing");
    }

    let bodies = env.bodies();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    let thread_id = events[0]["thread_id"].as_str().unwrap();
    assert_eq!(body["prompt_cache_key"], thread_id);
    assert_eq!(body["store"], false);
    assert_eq!(body["stream"], true);
    assert_eq!(body["parallel_tool_calls"], true);
    assert_eq!(body["reasoning"], json!({"effort": "medium"}));
    assert!(body["instructions"]
        .as_str()
        .unwrap()
        .contains("apply_patch"));
    let names: Vec<&str> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "exec_command",
            "write_stdin",
            "update_plan",
            "request_user_input",
            "apply_patch",
            "view_image",
            // Codex's multi-agent tools (`features.multi_agent`, on by default).
            "spawn_agent",
            "send_input",
            "wait_agent",
            "close_agent",
            "list_agents"
        ]
    );
    assert_eq!(body["tools"][4]["type"], "custom");
    let input = body["input"].as_array().unwrap();
    assert_eq!(input[0]["role"], "developer");
    assert!(input[0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("<permissions instructions>"));
    let env_ctx = input[1]["content"][0]["text"].as_str().unwrap();
    assert!(env_ctx.starts_with("<environment_context>"), "{env_ctx}");
    assert!(env_ctx.contains(&format!("<cwd>{}</cwd>", env.repo().display())));
    assert_eq!(input.last().unwrap()["content"][0]["text"], "say hello");
    let req = &env.mock.requests()[0];
    assert_eq!(req.path, "/v1/responses");
    assert_eq!(req.header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn shell_call_runs_and_reports() {
    let env = Env::new(vec![
        Step::calls(vec![call_with_id(
            "exec_command",
            json!({"cmd": "echo hi; echo err >&2; exit 3"}),
            "call_a",
        )]),
        Step::message("done"),
    ])
    .await;
    let run = env.json("run it").await;
    run.assert_ok();
    assert_eq!(
        run.types(),
        [
            "thread.started",
            "turn.started",
            "item.started",
            "item.completed",
            "item.completed",
            "turn.completed"
        ]
    );
    let started = &run.items("item.started")[0];
    assert_eq!(
        started,
        &json!({"id": "item_0", "type": "command_execution",
            "command": "/bin/bash -lc 'echo hi; echo err >&2; exit 3'",
            "aggregated_output": "", "exit_code": null, "status": "in_progress"})
    );
    let done = &run.items("item.completed")[0];
    assert_eq!(done["aggregated_output"], "hi\nerr\n");
    assert_eq!(done["exit_code"], 3);
    assert_eq!(done["status"], "failed");

    let bodies = env.bodies();
    let out = output_for(&bodies[1], "call_a");
    assert!(out.contains("Process exited with code 3\n"), "{out}");
    assert!(out.ends_with("Output:\nhi\nerr\n"), "{out}");
    // History is append-only: the second request extends the first.
    let first = bodies[0]["input"].as_array().unwrap();
    let second = bodies[1]["input"].as_array().unwrap();
    assert_eq!(&second[..first.len()], &first[..]);
    assert_eq!(second[first.len()]["type"], "function_call");
    assert_eq!(second[first.len() + 1]["type"], "function_call_output");
}

#[tokio::test]
async fn patch_adds_and_updates_files() {
    let env = Env::new(vec![
        Step::calls(vec![OutputItem::CustomToolCall {
            name: "apply_patch".into(),
            input: "*** Begin Patch\n*** Add File: notes/x.txt\n+hello\n*** Update File: a.txt\n@@\n-old\n+new\n*** End Patch\n".into(),
            call_id: Some("call_p".into()),
        }]),
        Step::message("patched"),
    ])
    .await;
    std::fs::write(env.repo().join("a.txt"), "old\n").unwrap();
    let run = env
        .exec(&["--json", "-s", "workspace-write", "patch it"])
        .await;
    run.assert_ok();
    assert_eq!(
        std::fs::read_to_string(env.repo().join("notes/x.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.repo().join("a.txt")).unwrap(),
        "new\n"
    );
    let repo = env.repo().display().to_string();
    let expected_changes = json!([
        {"path": format!("{repo}/a.txt"), "kind": "update"},
        {"path": format!("{repo}/notes/x.txt"), "kind": "add"},
    ]);
    let started = &run.items("item.started")[0];
    assert_eq!(started["type"], "file_change");
    assert_eq!(started["status"], "in_progress");
    assert_eq!(started["changes"], expected_changes);
    let done = &run.items("item.completed")[0];
    assert_eq!(done["status"], "completed");
    let bodies = env.bodies();
    let out = output_for(&bodies[1], "call_p");
    assert!(
        out.ends_with("Output:\nSuccess. Updated the following files:\nA notes/x.txt\nM a.txt\n"),
        "{out}"
    );
    let output_item = bodies[1]["input"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(output_item["type"], "custom_tool_call_output");
}

#[tokio::test]
async fn failed_patch_changes_nothing_and_the_turn_goes_on() {
    let env = Env::new(vec![
        Step::calls(vec![OutputItem::CustomToolCall {
            name: "apply_patch".into(),
            input: "*** Begin Patch\n*** Add File: new.txt\n+x\n*** Update File: a.txt\n@@\n-missing line\n+y\n*** End Patch\n".into(),
            call_id: Some("call_p".into()),
        }]),
        Step::message("could not patch"),
    ])
    .await;
    std::fs::write(env.repo().join("a.txt"), "old\n").unwrap();
    let run = env.json("patch it").await;
    run.assert_ok();
    assert!(!env.repo().join("new.txt").exists());
    assert_eq!(
        std::fs::read_to_string(env.repo().join("a.txt")).unwrap(),
        "old\n"
    );
    assert!(run.items("item.started").is_empty(), "{}", run.stdout);
    let out = output_for(&env.bodies()[1], "call_p");
    assert!(
        out.starts_with("apply_patch verification failed: Failed to find expected lines in "),
        "{out}"
    );
    assert!(out.contains("a.txt"), "{out}");
    assert!(out.contains("missing line"), "{out}");
}

#[tokio::test]
async fn multi_step_bug_fix() {
    let env = Env::new(vec![
        Step::calls(vec![exec_call("python3 test_calc.py")]),
        Step::calls(vec![OutputItem::custom(
            "apply_patch",
            "*** Begin Patch\n*** Update File: calc.py\n@@ def add(a, b):\n-    return a - b\n+    return a + b\n*** End Patch\n",
        )]),
        Step::calls(vec![exec_call("python3 test_calc.py")]),
        Step::message("Fixed add(); the test passes."),
    ])
    .await;
    std::fs::write(
        env.repo().join("calc.py"),
        "def add(a, b):\n    return a - b\n",
    )
    .unwrap();
    std::fs::write(
        env.repo().join("test_calc.py"),
        "from calc import add\nassert add(2, 3) == 5, 'add is broken'\nprint('ok')\n",
    )
    .unwrap();
    let run = env
        .exec(&["--json", "-s", "workspace-write", "fix the failing test"])
        .await;
    run.assert_ok();
    let commands: Vec<Value> = run
        .items("item.completed")
        .into_iter()
        .filter(|i| i["type"] == "command_execution")
        .collect();
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0]["exit_code"], 1);
    assert!(commands[0]["aggregated_output"]
        .as_str()
        .unwrap()
        .contains("add is broken"));
    assert_eq!(commands[1]["exit_code"], 0);
    assert_eq!(commands[1]["aggregated_output"], "ok\n");
    assert_eq!(
        std::fs::read_to_string(env.repo().join("calc.py")).unwrap(),
        "def add(a, b):\n    return a + b\n"
    );
    let last = run.events().last().unwrap().clone();
    assert_eq!(last["type"], "turn.completed");
    assert_eq!(env.bodies().len(), 4);
}

#[tokio::test]
async fn parallel_calls_run_concurrently_and_answer_in_call_order() {
    let env = Env::new(vec![
        Step::calls(vec![
            call_with_id(
                "exec_command",
                json!({"cmd": "sleep 0.6; echo slow"}),
                "call_slow",
            ),
            call_with_id("exec_command", json!({"cmd": "echo fast"}), "call_fast"),
        ]),
        Step::message("both ran"),
    ])
    .await;
    let started = std::time::Instant::now();
    let run = env.json("two at once").await;
    run.assert_ok();
    assert!(started.elapsed() < Duration::from_secs(5));
    let types = run.types();
    assert_eq!(
        &types[2..6],
        [
            "item.started",
            "item.started",
            "item.completed",
            "item.completed"
        ]
    );
    let completed = run.items("item.completed");
    // The fast one finishes first even though it was called second.
    assert_eq!(completed[0]["aggregated_output"], "fast\n");
    assert_eq!(completed[0]["id"], "item_1");
    assert_eq!(completed[1]["aggregated_output"], "slow\n");
    let body = &env.bodies()[1];
    let input = body["input"].as_array().unwrap();
    let tail: Vec<(&str, &str)> = input[input.len() - 4..]
        .iter()
        .map(|i| (i["type"].as_str().unwrap(), i["call_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tail,
        [
            ("function_call", "call_slow"),
            ("function_call", "call_fast"),
            ("function_call_output", "call_slow"),
            ("function_call_output", "call_fast"),
        ]
    );
}

#[tokio::test]
async fn malformed_arguments_get_an_error_result() {
    let env = Env::new(vec![
        Step::calls(vec![OutputItem::FunctionCall {
            name: "exec_command".into(),
            arguments: "{\"cmd\": \"ls".into(),
            call_id: Some("call_bad".into()),
        }]),
        Step::calls(vec![call_with_id(
            "no_such_tool",
            json!({}),
            "call_unknown",
        )]),
        Step::message("recovered"),
    ])
    .await;
    let run = env.json("go").await;
    run.assert_ok();
    assert_eq!(
        run.types(),
        [
            "thread.started",
            "turn.started",
            "item.completed",
            "turn.completed"
        ]
    );
    let bodies = env.bodies();
    assert_eq!(
        output_for(&bodies[1], "call_bad"),
        "failed to parse function arguments: EOF while parsing a string at line 1 column 11"
    );
    assert_eq!(
        output_for(&bodies[2], "call_unknown"),
        "unsupported call: no_such_tool"
    );
}

#[tokio::test]
async fn server_error_once_then_success() {
    let env = Env::new(vec![
        Step::HttpError {
            status: 500,
            body: None,
            retry_after: None,
        },
        Step::message("ok after retry"),
    ])
    .await;
    let run = env.json("hi").await;
    run.assert_ok();
    let events = run.events();
    assert_eq!(events[2]["type"], "error");
    let msg = events[2]["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "Reconnecting... 1/4 (unexpected status 500 Internal Server Error: injected 500"
        ),
        "{msg}"
    );
    assert_eq!(events[3]["item"]["text"], "ok after retry");
    assert_eq!(env.bodies().len(), 2);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let env = Env::new(vec![
        Step::HttpError {
            status: 429,
            body: None,
            retry_after: Some(1),
        },
        Step::message("ok"),
    ])
    .await;
    let started = std::time::Instant::now();
    let run = env.json("hi").await;
    run.assert_ok();
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert!(run.stdout.contains("429 Too Many Requests"));
}

#[tokio::test]
async fn server_error_forever_fails_the_turn() {
    let script = Script::Dynamic(std::sync::Arc::new(|_, _| Step::HttpError {
        status: 500,
        body: Some(json!({"error": {"message": "the cluster is on fire", "type": "server_error"}})),
        retry_after: None,
    }));
    let env = Env::with_config(script, "responses", "request_max_retries = 2").await;
    let run = env.json("hi").await;
    assert_eq!(run.code, Some(1));
    let events = run.events();
    let last = events.last().unwrap();
    assert_eq!(last["type"], "turn.failed");
    let message = last["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("500 Internal Server Error: the cluster is on fire"),
        "{message}"
    );
    let retries = events
        .iter()
        .filter(|e| {
            e["type"] == "error" && e["message"].as_str().unwrap().starts_with("Reconnecting")
        })
        .count();
    assert_eq!(retries, 2);
    assert_eq!(env.bodies().len(), 3);
}

#[tokio::test]
async fn bad_request_is_not_retried() {
    let env = Env::new(vec![Step::HttpError {
        status: 400,
        body: Some(
            json!({"error": {"message": "bad tool schema", "type": "invalid_request_error"}}),
        ),
        retry_after: None,
    }])
    .await;
    let run = env.json("hi").await;
    assert_eq!(run.code, Some(1));
    assert_eq!(env.bodies().len(), 1);
    assert!(run.stdout.contains("400 Bad Request: bad tool schema"));
}

#[tokio::test]
async fn stream_cut_mid_reply_is_retried() {
    let env = Env::new(vec![
        Step::CutStream {
            items: vec![OutputItem::message("partial")],
        },
        Step::message("complete answer"),
    ])
    .await;
    let run = env.json("hi").await;
    run.assert_ok();
    let errors: Vec<Value> = run
        .events()
        .into_iter()
        .filter(|e| e["type"] == "error")
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Reconnecting... 1/5 (stream disconnected before completion"));
    let last_message = run.items("item.completed").last().unwrap().clone();
    assert_eq!(last_message["text"], "complete answer");
}

#[tokio::test]
async fn context_window_exceeded_for_good_and_incomplete_fail_clearly() {
    let script = Script::Dynamic(std::sync::Arc::new(|_, _| Step::Failed {
        code: "context_length_exceeded".into(),
        message: "too long".into(),
    }));
    let env = Env::with_config(script, "responses", "").await;
    let run = env.json("hi").await;
    assert_eq!(run.code, Some(1));
    assert!(run
        .stdout
        .contains("ran out of room in the model's context window"));
    // Each overflow got a compaction attempt (summary request + retried request) first.
    assert_eq!(env.bodies().len(), 5);

    let env = Env::new(vec![Step::Incomplete {
        items: vec![OutputItem::message("half")],
        reason: "max_output_tokens".into(),
    }])
    .await;
    let run = env.json("hi").await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.items("item.completed")[0]["text"], "half");
    let last = run.events().last().unwrap().clone();
    assert_eq!(
        last["error"]["message"],
        "Incomplete response returned, reason: max_output_tokens"
    );
}

#[tokio::test]
async fn chat_completions_wire() {
    let env = Env::with_config(
        Script::Steps(vec![
            Step::calls(vec![call_with_id(
                "shell",
                json!({"command": ["bash", "-lc", "echo via-chat"]}),
                "call_c",
            )]),
            Step::calls(vec![OutputItem::FunctionCall {
                name: "apply_patch".into(),
                arguments:
                    json!({"input": "*** Begin Patch\n*** Add File: c.txt\n+chat\n*** End Patch\n"})
                        .to_string(),
                call_id: Some("call_p".into()),
            }]),
            Step::message("chat done"),
        ]),
        "chat",
        "",
    )
    .await;
    let run = env
        .exec(&["--json", "-s", "workspace-write", "use chat"])
        .await;
    run.assert_ok();
    let completed = run.items("item.completed");
    assert_eq!(completed[0]["command"], "bash -lc 'echo via-chat'");
    assert_eq!(completed[0]["aggregated_output"], "via-chat\n");
    assert_eq!(completed[1]["type"], "file_change");
    assert_eq!(completed[2]["text"], "chat done");
    assert_eq!(
        std::fs::read_to_string(env.repo().join("c.txt")).unwrap(),
        "chat\n"
    );
    let reqs = env.mock.requests();
    assert!(reqs.iter().all(|r| r.path == "/v1/chat/completions"));
    let body = reqs[1].json();
    assert_eq!(body["stream_options"]["include_usage"], true);
    let tools: Vec<&str> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "shell",
            "update_plan",
            "request_user_input",
            "apply_patch",
            "view_image",
            "spawn_agent",
            "send_input",
            "wait_agent",
            "close_agent",
            "list_agents"
        ]
    );
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    let tool_msg = messages.last().unwrap();
    assert_eq!(tool_msg["role"], "tool");
    assert_eq!(tool_msg["tool_call_id"], "call_c");
    assert!(tool_msg["content"].as_str().unwrap().contains("via-chat"));
    let usage = run.events().last().unwrap()["usage"].clone();
    assert!(usage["input_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn reasoning_is_shown_and_carried_forward() {
    let env = Env::new(vec![
        Step::calls(vec![
            OutputItem::Reasoning {
                summary: "**Checking** the files".into(),
                encrypted_content: Some("opaque-blob".into()),
            },
            exec_call("true"),
        ]),
        Step::message("done"),
    ])
    .await;
    let run = env.json("think").await;
    run.assert_ok();
    let reasoning = &run.items("item.completed")[0];
    assert_eq!(reasoning["type"], "reasoning");
    assert_eq!(reasoning["text"], "**Checking** the files");
    let bodies = env.bodies();
    assert_eq!(bodies[0]["include"], json!(["reasoning.encrypted_content"]));
    let carried = bodies[1]["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "reasoning")
        .cloned()
        .unwrap();
    assert_eq!(carried["encrypted_content"], "opaque-blob");
}

#[tokio::test]
async fn update_plan_emits_a_todo_list() {
    let plan = |done: bool| {
        OutputItem::function(
            "update_plan",
            json!({"plan": [
                {"step": "Read", "status": "completed"},
                {"step": "Fix", "status": if done { "completed" } else { "in_progress" }}
            ]}),
        )
    };
    let env = Env::new(vec![
        Step::calls(vec![plan(false)]),
        Step::calls(vec![plan(true)]),
        Step::message("planned"),
    ])
    .await;
    let run = env.json("plan").await;
    run.assert_ok();
    assert_eq!(
        run.types(),
        [
            "thread.started",
            "turn.started",
            "item.started",
            "item.updated",
            "item.completed",
            "item.completed",
            "turn.completed"
        ]
    );
    let events = run.events();
    assert_eq!(events[2]["item"]["type"], "todo_list");
    assert_eq!(
        events[2]["item"]["items"][1],
        json!({"text": "Fix", "completed": false})
    );
    assert_eq!(events[3]["item"]["items"][1]["completed"], true);
    assert_eq!(events[4]["item"]["type"], "agent_message");
    assert_eq!(events[5]["item"]["type"], "todo_list");
    assert_eq!(events[5]["item"]["id"], events[2]["item"]["id"]);
    assert_eq!(
        output_for(&env.bodies()[1], "call_mock_0001_0"),
        "Plan updated"
    );
}

#[tokio::test]
async fn output_schema_and_last_message_file() {
    let env = Env::new(vec![Step::message("{\"answer\":42}")]).await;
    let schema = env.repo().join("schema.json");
    std::fs::write(&schema, r#"{"type":"object","properties":{"answer":{"type":"number"}},"required":["answer"],"additionalProperties":false}"#).unwrap();
    let last = env.repo().join("last.txt");
    let run = env
        .exec(&[
            "--json",
            "--output-schema",
            schema.to_str().unwrap(),
            "--output-last-message",
            last.to_str().unwrap(),
            "answer",
        ])
        .await;
    run.assert_ok();
    assert_eq!(std::fs::read_to_string(&last).unwrap(), "{\"answer\":42}");
    let format = &env.bodies()[0]["text"]["format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["strict"], true);
    assert_eq!(format["schema"]["required"], json!(["answer"]));
}

#[tokio::test]
async fn human_output_keeps_stdout_for_the_answer() {
    let env = Env::new(vec![
        Step::calls(vec![exec_call("echo progress")]),
        Step::message("The answer."),
    ])
    .await;
    let run = env.exec(&["--color", "never", "go"]).await;
    run.assert_ok();
    assert_eq!(run.stdout, "The answer.\n");
    assert!(
        run.stderr.contains("$ /bin/bash -lc 'echo progress'"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("  progress"), "{}", run.stderr);
    assert!(run.stderr.contains("tokens used:"), "{}", run.stderr);
}

#[tokio::test]
async fn prompt_from_stdin() {
    let env = Env::new(vec![Step::message("read it")]).await;
    let mut cmd = env.command(&["--json"]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"prompt from a pipe").await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    let input = env.bodies()[0]["input"].as_array().unwrap().clone();
    assert_eq!(
        input.last().unwrap()["content"][0]["text"],
        "prompt from a pipe"
    );
}

#[tokio::test]
async fn refuses_outside_a_git_repo() {
    let env = Env::new(vec![Step::message("never")]).await;
    std::fs::remove_dir(env.repo().join(".git")).unwrap();
    let run = env.json("hi").await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("--skip-git-repo-check"),
        "{}",
        run.stderr
    );
    assert!(env.bodies().is_empty());
    let run = env.exec(&["--json", "--skip-git-repo-check", "hi"]).await;
    run.assert_ok();
}

#[tokio::test]
async fn config_errors_name_the_key() {
    let env = Env::with_config(
        Script::Steps(vec![]),
        "responses",
        "request_max_retries = \"lots\"",
    )
    .await;
    let run = env.json("hi").await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("model_providers.mock.request_max_retries"),
        "{}",
        run.stderr
    );
    let run = env
        .exec(&[
            "--json",
            "-c",
            "model_providers.mock.request_max_retries=1",
            "-c",
            "bogus_key=1",
            "-m",
            "gpt-4.1",
            "hi",
        ])
        .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown config key `bogus_key`"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn cli_flags_override_config() {
    let env = Env::new(vec![Step::message("ok")]).await;
    let sub = env.repo().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let run = env
        .exec(&[
            "--json",
            "-m",
            "gpt-4.1",
            "-C",
            sub.to_str().unwrap(),
            "-s",
            "workspace-write",
            "-c",
            "model_reasoning_effort=\"high\"",
            "hi",
        ])
        .await;
    run.assert_ok();
    let body = &env.bodies()[0];
    assert_eq!(body["model"], "gpt-4.1");
    // gpt-4.1 does not reason and gets JSON-function tools.
    assert!(body.get("reasoning").is_none());
    assert_eq!(body["tools"][0]["name"], "shell");
    let env_ctx = body["input"][1]["content"][0]["text"].as_str().unwrap();
    assert!(env_ctx.contains(&format!("<cwd>{}</cwd>", sub.display())));
    assert!(env_ctx.contains("<sandbox_mode>workspace-write</sandbox_mode>"));
    let missing = env.exec(&["--json", "-C", "/no/such/dir", "hi"]).await;
    assert_eq!(missing.code, Some(1));
    assert!(missing.stderr.contains("/no/such/dir"));
}

async fn interrupt_with(signal: i32, expected_code: i32) {
    let env = Env::new(vec![Step::calls(vec![exec_call(
        "sleep 2; touch survived; sleep 30",
    )])])
    .await;
    let mut child = env.command(&["--json", "wait"]).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let started = line.contains("\"item.started\"");
        seen.push(line);
        if started {
            break;
        }
    }
    let pid = child.id().unwrap() as i32;
    // SAFETY: sending a signal to our own child.
    unsafe {
        libc::kill(pid, signal);
    }
    while let Some(line) = lines.next_line().await.unwrap() {
        seen.push(line);
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("wright did not stop after the signal")
        .unwrap();
    assert_eq!(status.code(), Some(expected_code), "{seen:?}");
    let last: Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert_eq!(last["type"], "turn.failed", "{seen:?}");
    assert_eq!(last["error"]["message"], "turn interrupted");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !env.repo().join("survived").exists(),
        "the command outlived the interrupt"
    );
}

#[tokio::test]
async fn sigint_interrupts_cleanly() {
    interrupt_with(libc::SIGINT, 130).await;
}

#[tokio::test]
async fn sigterm_interrupts_cleanly() {
    interrupt_with(libc::SIGTERM, 143).await;
}

#[tokio::test]
async fn unreachable_server_fails_with_the_connection_error() {
    let env = Env::new(vec![]).await;
    // A port nobody listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = env
        .exec(&[
            "--json",
            "-c",
            &format!("model_providers.mock.base_url=\"http://127.0.0.1:{port}/v1\""),
            "-c",
            "model_providers.mock.request_max_retries=1",
            "hi",
        ])
        .await;
    assert_eq!(run.code, Some(1));
    let last = run.events().last().unwrap().clone();
    assert_eq!(last["type"], "turn.failed");
    let message = last["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
}

#[tokio::test]
async fn images_are_attached_as_data_urls() {
    let env = Env::new(vec![Step::message("a red pixel")]).await;
    let png = env.repo().join("pixel.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\nfake").unwrap();
    let run = env
        .exec(&["--json", "-i", png.to_str().unwrap(), "what is this?"])
        .await;
    run.assert_ok();
    let input = env.bodies()[0]["input"].as_array().unwrap().clone();
    let content = input.last().unwrap()["content"].clone();
    assert_eq!(content[0]["text"], "what is this?");
    assert_eq!(content[1]["type"], "input_image");
    assert!(content[1]["image_url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,iVBORw0KGgpmYWtl"));
    let bad = env.exec(&["--json", "-i", "/no/such.png", "x"]).await;
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("/no/such.png"), "{}", bad.stderr);
}

#[tokio::test]
async fn patches_and_commands_from_one_reply_keep_call_order() {
    let patch = |file: &str| {
        format!("*** Begin Patch\n*** Update File: {file}\n@@\n-old\n+new\n*** End Patch\n")
    };
    let env = Env::new(vec![
        // The command after the patch must see the patched file...
        Step::calls(vec![
            OutputItem::CustomToolCall {
                name: "apply_patch".into(),
                input: patch("a.txt"),
                call_id: Some("call_p1".into()),
            },
            call_with_id("exec_command", json!({"cmd": "cat a.txt"}), "call_c1"),
        ]),
        // ...and the slow command before a patch must see the file as it was.
        Step::calls(vec![
            call_with_id(
                "exec_command",
                json!({"cmd": "sleep 0.3; cat b.txt"}),
                "call_c2",
            ),
            OutputItem::CustomToolCall {
                name: "apply_patch".into(),
                input: patch("b.txt"),
                call_id: Some("call_p2".into()),
            },
        ]),
        Step::message("ordered"),
    ])
    .await;
    std::fs::write(env.repo().join("a.txt"), "old\n").unwrap();
    std::fs::write(env.repo().join("b.txt"), "old\n").unwrap();
    let run = env.exec(&["--json", "-s", "workspace-write", "go"]).await;
    run.assert_ok();
    let bodies = env.bodies();
    assert!(output_for(&bodies[1], "call_c1").ends_with("Output:\nnew\n"));
    assert!(output_for(&bodies[2], "call_c2").ends_with("Output:\nold\n"));
    assert_eq!(
        std::fs::read_to_string(env.repo().join("b.txt")).unwrap(),
        "new\n"
    );
}

#[tokio::test]
async fn exec_resume_continues_the_stored_thread() {
    let env = Env::new(vec![
        Step::message("First answer."),
        Step::message("Second answer."),
        Step::message("Third answer."),
    ])
    .await;
    let first = env.json("First question").await;
    first.assert_ok();
    let id = first.events()[0]["thread_id"].as_str().unwrap().to_string();
    let first_usage = first.events().last().unwrap()["usage"]["input_tokens"]
        .as_u64()
        .unwrap();

    let second = env
        .exec(&["--json", "resume", &id, "Second question"])
        .await;
    second.assert_ok();
    let events = second.events();
    assert_eq!(events[0]["thread_id"], id.as_str());
    // Item ids restart per process, usage is cumulative over the thread.
    assert_eq!(events[2]["item"]["id"], "item_0");
    assert_eq!(events[2]["item"]["text"], "Second answer.");
    let total = events.last().unwrap()["usage"]["input_tokens"]
        .as_u64()
        .unwrap();
    assert!(total > first_usage, "{total} <= {first_usage}");

    let bodies = env.bodies();
    let input = serde_json::to_string(&bodies[1]["input"]).unwrap();
    assert!(input.contains("First question") && input.contains("First answer."));
    assert_eq!(bodies[1]["prompt_cache_key"], id.as_str());
    // The resumed request extends the first thread's request, byte for byte.
    let (a, b) = (&env.mock.requests()[0].body, &env.mock.requests()[1].body);
    assert!(b.starts_with(&a[..a.len() - 2]));

    // `wright resume --last` picks the same thread up again.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"));
    let out = cmd
        .args(["resume", "--last", "--json", "Third question"])
        .current_dir(env.repo())
        .env("WRIGHT_HOME", env.home.path())
        .env("SHELL", "/bin/bash")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&id), "{stdout}");
    assert!(stdout.contains("Third answer."), "{stdout}");

    let missing = env.exec(&["--json", "resume", "no-such-thread", "x"]).await;
    assert_eq!(missing.code, Some(1));
    assert!(
        missing
            .stderr
            .contains("no rollout found for thread id no-such-thread"),
        "{}",
        missing.stderr
    );
}
