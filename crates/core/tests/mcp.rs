//! MCP tools in the agent loop, against the mock model (Responses wire) and real MCP servers:
//! the tools join the prompt after what was already offered, calls map to Codex's output and
//! items, approval modes hold, and a big catalogue goes behind `tool_search`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;
use wright_core::config::{CliOverrides, Config, SandboxMode};
use wright_core::wright_mcp::{self, McpManager, ServerState};
use wright_core::{Thread, TurnInput, TurnOutcome};
use wright_mock_model::{MockModel, OutputItem, Script, Step};
use wright_protocol::{Event, ItemDetails, McpToolCallStatus};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn broken_server() -> String {
    repo()
        .join("tests/mcp/broken_server.py")
        .display()
        .to_string()
}

fn everything() -> Option<String> {
    let path =
        repo().join("tests/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if path.exists() {
        return Some(path.display().to_string());
    }
    assert!(
        std::env::var("CI").is_err(),
        "tests/mcp/node_modules is missing: run `npm ci` in tests/mcp"
    );
    eprintln!("skipped: tests/mcp/node_modules is missing");
    None
}

struct Setup {
    _tmp: tempfile::TempDir,
    config: Config,
}

fn setup(mock: &MockModel, extra: &str) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let table: toml::Table = format!(
        "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\n{extra}",
        mock.base_url()
    )
    .parse()
    .unwrap();
    let config = Config::from_table(
        table,
        &tmp.path().join("home"),
        &CliOverrides {
            cwd: Some(repo),
            // The servers run unconfined here (no wright binary to launch the sandbox);
            // confinement is tested through the CLI.
            sandbox_mode: Some(SandboxMode::DangerFullAccess),
            ..Default::default()
        },
    )
    .unwrap();
    Setup { _tmp: tmp, config }
}

fn server(name: &str, mode: &str, approval: &str) -> String {
    format!(
        "[mcp_servers.{name}]\ncommand = \"python3\"\nargs = [\"{}\", \"{mode}\"]\ndefault_tools_approval_mode = \"{approval}\"\n",
        broken_server()
    )
}

async fn ready(mcp: &McpManager, names: &[&str]) {
    let mut events = mcp.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let statuses = mcp.statuses();
        if names.iter().all(|n| {
            statuses
                .iter()
                .any(|s| s.name == *n && s.state == ServerState::Ready)
        }) {
            return;
        }
        let left = deadline - tokio::time::Instant::now();
        assert!(
            tokio::time::timeout(left, events.recv()).await.is_ok(),
            "not ready: {statuses:?}"
        );
    }
}

/// The configured servers started and ready, and a thread offered their tools.
async fn thread_with(s: &Setup, servers: &[&str]) -> (McpManager, Thread) {
    let mcp = wright_core::mcp::start(&s.config);
    ready(&mcp, servers).await;
    let mut thread = Thread::new(s.config.clone()).unwrap();
    thread.set_mcp(Some(mcp.clone()));
    (mcp, thread)
}

/// server-everything over stdio, trusted.
fn everything_table(path: &str) -> String {
    format!(
        "[mcp_servers.everything]\ncommand = \"node\"\nargs = [\"{path}\", \"stdio\"]\ndefault_tools_approval_mode = \"approve\"\nstartup_timeout_sec = 30\n"
    )
}

async fn turn(thread: &mut Thread, text: &str) -> (TurnOutcome, Vec<Event>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let outcome = thread
        .run_turn(
            TurnInput {
                text: text.into(),
                ..Default::default()
            },
            &tx,
            CancellationToken::new(),
        )
        .await;
    drop(tx);
    (outcome, drain(&mut rx))
}

fn drain(rx: &mut UnboundedReceiver<Event>) -> Vec<Event> {
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    events
}

fn tool_names(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["name"]
                .as_str()
                .unwrap_or(t["type"].as_str().unwrap())
                .to_string()
        })
        .collect()
}

fn output_of(body: &Value, call_id: &str) -> Value {
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["call_id"] == call_id && i["type"].as_str().unwrap().ends_with("output"))
        .cloned()
        .unwrap_or_else(|| panic!("no output for {call_id}"))
}

fn call(name: &str, id: &str, args: Value) -> OutputItem {
    OutputItem::FunctionCall {
        name: name.into(),
        arguments: args.to_string(),
        call_id: Some(id.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_maps_to_codex_output_and_items() {
    let mock = MockModel::start(Script::Steps(vec![
        Step::calls(vec![call("mcp__good__ok", "call_1", json!({}))]),
        Step::message("done"),
    ]))
    .await
    .unwrap();
    let s = setup(&mock, &server("good", "ok", "approve"));
    let (mcp, mut thread) = thread_with(&s, &["good"]).await;
    let (outcome, events) = turn(&mut thread, "use the tool").await;
    assert!(
        matches!(outcome, TurnOutcome::Completed { .. }),
        "{outcome:?}"
    );

    let requests = mock.requests();
    let first = requests[0].json();
    let names = tool_names(&first);
    let builtin = names
        .iter()
        .position(|n| n == "list_mcp_resources")
        .unwrap();
    assert_eq!(
        &names[builtin..],
        [
            "list_mcp_resources",
            "list_mcp_resource_templates",
            "read_mcp_resource",
            "mcp__good__ok"
        ]
    );
    let output = output_of(&requests[1].json(), "call_1")["output"].clone();
    let parts = output.as_array().unwrap();
    assert!(parts[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Wall time: "));
    assert!(parts[0]["text"]
        .as_str()
        .unwrap()
        .ends_with(" seconds\nOutput:"));
    assert_eq!(parts[1], json!({"type": "input_text", "text": "fine"}));

    let items: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ItemStarted(i) | Event::ItemCompleted(i) => match &i.details {
                ItemDetails::McpToolCall { .. } => Some(i.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(items.len(), 2, "{items:?}");
    let done = serde_json::to_value(&items[1]).unwrap();
    assert_eq!(
        done,
        json!({"id": "call_1", "type": "mcp_tool_call", "server": "good", "tool": "ok",
               "arguments": {}, "result": {"content": [{"type": "text", "text": "fine"}],
               "structured_content": null}, "error": null, "status": "completed"})
    );
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_mode_against_a_never_policy() {
    let mock = MockModel::start(Script::Dynamic(Arc::new(|i, _| match i % 2 {
        0 => Step::calls(vec![
            call("mcp__asks__ok", "call_asks", json!({})),
            call("mcp__trusted__ok", "call_trusted", json!({})),
        ]),
        _ => Step::message("done"),
    })))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("starts");
    let extra = format!(
        "{}{}",
        server("asks", "ok", "prompt"),
        server("trusted", "ok", "approve")
    );
    let s = setup(&mock, &extra);
    let (mcp, mut thread) = thread_with(&s, &["asks", "trusted"]).await;
    let (_, events) = turn(&mut thread, "go").await;
    let second = mock.requests()[1].json();
    // The same tool runs when its server is trusted...
    assert_eq!(
        output_of(&second, "call_trusted")["output"][1]["text"],
        "fine"
    );
    // ...and is refused, in Codex's words, when it would need a yes nobody can give.
    assert_eq!(
        output_of(&second, "call_asks")["output"][1]["text"],
        "MCP tool call requires approval, but approval policy is never"
    );
    let failed = events.iter().any(|e| {
        matches!(e, Event::ItemCompleted(i) if i.id == "call_asks"
            && matches!(&i.details, ItemDetails::McpToolCall { status: McpToolCallStatus::Failed, error: Some(_), .. }))
    });
    assert!(failed, "{events:?}");
    let _ = calls;
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_of_a_later_server_are_appended_and_bad_calls_get_clear_errors() {
    let mock = MockModel::start(Script::Dynamic(Arc::new(|i, _| match i {
        0 => Step::message("first"),
        1 => Step::calls(vec![
            call("mcp__late__ok", "c_late", json!({})),
            call("mcp__first__ok", "c_bad_args", json!("not an object")),
            call("mcp__ghost__ok", "c_ghost", json!({})),
            OutputItem::FunctionCall {
                name: "mcp__first__ok".into(),
                arguments: "{broken".into(),
                call_id: Some("c_garbage".into()),
            },
        ]),
        _ => Step::message("second"),
    })))
    .await
    .unwrap();
    let s = setup(&mock, &server("first", "ok", "approve"));
    let (mcp, mut thread) = thread_with(&s, &["first"]).await;
    turn(&mut thread, "one").await;

    // A second server joins (config reload).
    let mut config = s.config.clone();
    let extra: toml::Table = server("late", "ok", "approve").parse().unwrap();
    let late = wright_mcp::config::parse_server("late", &extra["mcp_servers"]["late"]).unwrap();
    config.mcp_servers.insert("late".into(), late);
    mcp.reload(wright_core::mcp::options(&config));
    ready(&mcp, &["first", "late"]).await;
    turn(&mut thread, "two").await;

    let requests = mock.requests();
    let before = tool_names(&requests[0].json());
    let after = tool_names(&requests[1].json());
    assert_eq!(
        &after[..before.len()],
        before.as_slice(),
        "the tool list only grows"
    );
    assert_eq!(after.last().unwrap(), "mcp__late__ok");
    // Every input item of the first request is still there, in order.
    let first_input = requests[0].json()["input"].as_array().unwrap().clone();
    let later_input = requests[1].json()["input"].as_array().unwrap().clone();
    assert_eq!(&later_input[..first_input.len()], first_input.as_slice());

    let third = requests[2].json();
    assert_eq!(output_of(&third, "c_late")["output"][1]["text"], "fine");
    let text = |id: &str| {
        output_of(&third, id)["output"][1]["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        text("c_bad_args"),
        "failed to parse function arguments: expected a JSON object"
    );
    assert!(text("c_garbage").starts_with("failed to parse function arguments:"));
    assert_eq!(text("c_ghost"), "unknown MCP tool `mcp__ghost__ok`");
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_catalogue_goes_behind_tool_search() {
    let Some(everything) = everything() else {
        return;
    };
    let mock = MockModel::start(Script::Steps(vec![
        Step::calls(vec![OutputItem::Raw {
            item: json!({"type": "tool_search_call", "id": "tsc_1", "call_id": "call_ts_1",
                         "status": "completed", "execution": "client",
                         "arguments": {"query": "echo message", "limit": 4}}),
        }]),
        Step::calls(vec![OutputItem::Raw {
            item: json!({"type": "function_call", "status": "completed", "id": "fc_1",
                         "name": "echo", "namespace": "mcp__everything",
                         "arguments": "{\"message\":\"hi\"}", "call_id": "call_mcp_1"}),
        }]),
        Step::message("Echoed."),
    ]))
    .await
    .unwrap();
    let extra = everything_table(&everything);
    let mut s = setup(&mock, &extra);
    // A small window: a tenth of it cannot hold every schema.
    s.config.model_context_window = Some(4000);
    let (mcp, mut thread) = thread_with(&s, &["everything"]).await;
    let (outcome, _) = turn(&mut thread, "Echo hi via MCP.").await;
    assert!(
        matches!(outcome, TurnOutcome::Completed { .. }),
        "{outcome:?}"
    );

    let requests = mock.requests();
    let first = requests[0].json();
    let tools = first["tools"].as_array().unwrap();
    let mcp_declared = tools
        .iter()
        .filter(|t| t["name"].as_str().unwrap_or("").starts_with("mcp__"))
        .count();
    assert!(
        mcp_declared < 13,
        "the catalogue was not cut: {mcp_declared}"
    );
    let search = tools.iter().find(|t| t["type"] == "tool_search").unwrap();
    assert_eq!(search["execution"], "client");
    let told = first["input"].as_array().unwrap().iter().any(|i| {
        i["role"] == "developer"
            && i["content"][0]["text"]
                == "<tools>\nDeferred tool namespaces:\n- mcp__everything\n</tools>"
    });
    assert!(told, "the deferred namespace is announced");

    let second = requests[1].json();
    let found = output_of(&second, "call_ts_1");
    assert_eq!(found["type"], "tool_search_output");
    assert_eq!(found["tools"][0]["type"], "namespace");
    assert_eq!(found["tools"][0]["name"], "mcp__everything");
    assert_eq!(found["tools"][0]["tools"][0]["name"], "echo");
    assert_eq!(found["tools"][0]["tools"][0]["defer_loading"], true);

    let third = requests[2].json();
    assert_eq!(
        output_of(&third, "call_mcp_1")["output"][1]["text"],
        "Echo: hi"
    );
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_search_declares_what_it_found() {
    let Some(everything) = everything() else {
        return;
    };
    let mock = MockModel::start(Script::Steps(vec![
        Step::calls(vec![call(
            "tool_search",
            "c_search",
            json!({"query": "sum of two numbers"}),
        )]),
        Step::calls(vec![call(
            "mcp__everything__get-sum",
            "c_sum",
            json!({"a": 2, "b": 3}),
        )]),
        Step::message("5"),
    ]))
    .await
    .unwrap();
    let extra = format!("wire_api = \"chat\"\n{}", everything_table(&everything));
    let mut s = setup(&mock, &extra);
    s.config.model_context_window = Some(4000);
    let (mcp, mut thread) = thread_with(&s, &["everything"]).await;
    let (outcome, _) = turn(&mut thread, "add 2 and 3").await;
    assert!(
        matches!(outcome, TurnOutcome::Completed { .. }),
        "{outcome:?}"
    );
    let requests = mock.requests();
    let names = |body: &Value| -> Vec<String> {
        body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                t["function"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    let first = names(&requests[0].json());
    assert!(first.contains(&"tool_search".to_string()), "{first:?}");
    assert!(!first.contains(&"mcp__everything__get-sum".to_string()));
    let second = names(&requests[1].json());
    assert_eq!(&second[..first.len()], first.as_slice());
    assert!(
        second.contains(&"mcp__everything__get-sum".to_string()),
        "{second:?}"
    );
    let messages = requests[2].json()["messages"].as_array().unwrap().clone();
    let sum = messages
        .iter()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == "c_sum")
        .unwrap();
    assert!(sum["content"]
        .as_str()
        .unwrap()
        .contains("The sum of 2 and 3 is 5."));
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_becomes_events_and_a_flood_is_cut() {
    let Some(everything) = everything() else {
        return;
    };
    let mock = MockModel::start(Script::Steps(vec![
        Step::calls(vec![
            call(
                "mcp__everything__trigger-long-running-operation",
                "c_long",
                json!({"duration": 0.6, "steps": 3}),
            ),
            call(
                "mcp__everything__echo",
                "c_big",
                json!({"message": "x".repeat(200_000)}),
            ),
        ]),
        Step::message("done"),
    ]))
    .await
    .unwrap();
    let extra = everything_table(&everything);
    let s = setup(&mock, &extra);
    let (mcp, mut thread) = thread_with(&s, &["everything"]).await;
    let (outcome, events) = turn(&mut thread, "go").await;
    assert!(
        matches!(outcome, TurnOutcome::Completed { .. }),
        "{outcome:?}"
    );
    let progress: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::McpToolCallProgress { item_id, message } if item_id == "c_long" => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(progress, ["1 / 3", "2 / 3", "3 / 3"]);
    let second = mock.requests()[1].json();
    let big = output_of(&second, "c_big")["output"][1]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let limit = s.config.tool_output_token_limit * 4;
    assert!(
        big.len() <= limit + 200,
        "{} bytes reached the model",
        big.len()
    );
    assert!(big.contains("truncated"), "no marker: {}", &big[..200]);
    mcp.shutdown();
}

/// A model that calls a tool before its server is up (Codex's own scenarios do: the first
/// reply calls it) waits for the server instead of failing, even before the config is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_call_waits_for_its_server() {
    let mock = MockModel::start(Script::Steps(vec![
        Step::calls(vec![call("mcp__late__ok", "c_early", json!({}))]),
        Step::message("done"),
    ]))
    .await
    .unwrap();
    let s = setup(&mock, &server("late", "ok", "approve"));
    let mcp = McpManager::pending();
    let options = wright_core::mcp::options(&s.config);
    let later = mcp.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        later.reload(options);
    });
    let mut thread = Thread::new(s.config.clone()).unwrap();
    thread.set_mcp(Some(mcp.clone()));
    let (outcome, events) = turn(&mut thread, "go").await;
    assert!(
        matches!(outcome, TurnOutcome::Completed { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        output_of(&mock.requests()[1].json(), "c_early")["output"][1]["text"],
        "fine"
    );
    let started = events.iter().find_map(|e| match e {
        Event::ItemStarted(i) => Some(serde_json::to_value(i).unwrap()),
        _ => None,
    });
    let started = started.unwrap();
    assert_eq!(
        (started["server"].as_str(), started["tool"].as_str()),
        (Some("late"), Some("ok"))
    );
    mcp.shutdown();
}
