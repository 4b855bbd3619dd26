//! The agent's interactive tools through the real `wright app-server` over stdio: a command
//! session's `processId` on its item, the model's typing as `terminalInteraction`, the
//! experimental `thread/backgroundTerminals/*`, and `request_user_input` asked and answered as
//! Codex's `item/tool/requestUserInput`.

#[path = "common/app_server.rs"]
mod app_server;

use std::path::Path;
use std::sync::Arc;

use app_server::AppServer;
use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, ServeOptions, Step};

fn call(name: &str, args: Value, id: &str) -> OutputItem {
    OutputItem::FunctionCall {
        name: name.into(),
        arguments: args.to_string(),
        call_id: Some(id.into()),
    }
}

fn output_of(body: &Value, call_id: &str) -> Option<String> {
    body["input"].as_array()?.iter().find_map(|i| {
        (i["call_id"] == call_id && i["type"] == "function_call_output")
            .then(|| i["output"].as_str().map(str::to_string))
            .flatten()
    })
}

struct Setup {
    repo: tempfile::TempDir,
    home: tempfile::TempDir,
    mock: MockModel,
}

impl Setup {
    async fn new(script: impl Fn(usize, &Value) -> Step + Send + Sync + 'static) -> Setup {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir(repo.path().join(".git")).unwrap();
        let home = tempfile::tempdir().unwrap();
        let options = ServeOptions {
            check_tools: true,
            ..ServeOptions::default()
        };
        let mock = MockModel::start_with(Script::Dynamic(Arc::new(script)), options)
            .await
            .unwrap();
        let config = format!(
            "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\nwire_api = \"responses\"\n",
            mock.base_url()
        );
        std::fs::write(home.path().join("config.toml"), config).unwrap();
        Setup { repo, home, mock }
    }

    async fn server(&self) -> AppServer {
        AppServer::start(self.home.path(), self.repo.path()).await
    }
}

async fn start_turn(server: &mut AppServer, thread: &str, text: &str) -> String {
    let turn = server
        .result(
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "text", "text": text}]}),
        )
        .await;
    turn["turn"]["id"].as_str().unwrap().to_string()
}

async fn turn_completed(server: &mut AppServer, turn: &str) -> Value {
    let turn = turn.to_string();
    server
        .notification("turn/completed", move |p| p["turn"]["id"] == turn)
        .await
}

fn session_of(output: &str) -> u64 {
    let line = output
        .lines()
        .find(|l| l.starts_with("Process running with session ID "))
        .unwrap_or_else(|| panic!("no session in {output}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn sessions_carry_their_process_id_and_can_be_listed_and_stopped() {
    let setup = Setup::new(|i, body| match i {
        0 => Step::calls(vec![call(
            "exec_command",
            json!({"cmd": "echo ready; sleep 60", "yield_time_ms": 500, "tty": true}),
            "c_bg",
        )]),
        1 => {
            let id = session_of(&output_of(body, "c_bg").unwrap());
            Step::calls(vec![call(
                "write_stdin",
                json!({"session_id": id, "chars": "typed\n", "yield_time_ms": 300}),
                "c_type",
            )])
        }
        _ => Step::message("left it running"),
    })
    .await;
    let mut server = setup.server().await;
    let thread = server
        .result(
            "thread/start",
            json!({"cwd": setup.repo.path(), "approvalPolicy": "never", "sandbox": "workspace-write"}),
        )
        .await["thread"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let turn = start_turn(&mut server, &thread, "start it").await;
    let started = server
        .notification("item/started", |p| p["item"]["id"] == "c_bg")
        .await;
    let process_id = started["item"]["processId"].as_str().unwrap().to_string();
    assert!(process_id.parse::<u64>().is_ok(), "{started}");
    let pid = process_id.clone();
    let typed = server
        .notification("item/commandExecution/terminalInteraction", move |p| {
            p["processId"] == pid.as_str()
        })
        .await;
    assert_eq!(typed["itemId"], "c_bg");
    assert_eq!(typed["stdin"], "typed\n");
    assert_eq!(typed["turnId"], turn.as_str());
    turn_completed(&mut server, &turn).await;

    // Still running after the turn: listed, with its OS process.
    let list = server
        .result(
            "thread/backgroundTerminals/list",
            json!({"threadId": thread}),
        )
        .await;
    let rows = list["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["itemId"], "c_bg");
    assert_eq!(rows[0]["processId"], process_id.as_str());
    let os_pid = rows[0]["osPid"].as_i64().unwrap();
    assert!(Path::new(&format!("/proc/{os_pid}")).exists());
    assert!(rows[0]["command"].as_str().unwrap().contains("sleep 60"));
    assert_eq!(list["nextCursor"], Value::Null);

    let unknown = server
        .result(
            "thread/backgroundTerminals/terminate",
            json!({"threadId": thread, "processId": "1"}),
        )
        .await;
    assert_eq!(unknown["terminated"], false);
    let stopped = server
        .result(
            "thread/backgroundTerminals/terminate",
            json!({"threadId": thread, "processId": process_id}),
        )
        .await;
    assert_eq!(stopped["terminated"], true);
    let mut gone = false;
    for _ in 0..100 {
        let stat = std::fs::read_to_string(format!("/proc/{os_pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z ") {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the terminated session's process is still running");
    let list = server
        .result(
            "thread/backgroundTerminals/list",
            json!({"threadId": thread}),
        )
        .await;
    assert_eq!(list["data"], json!([]));
    // The model's first output named the session the item carries.
    let first = output_of(&setup.mock.requests()[1].json(), "c_bg").unwrap();
    assert_eq!(session_of(&first).to_string(), process_id);
}

#[tokio::test]
async fn the_models_questions_are_asked_and_the_answers_reach_it() {
    let question = json!({"questions": [{
        "id": "storage",
        "header": "Storage",
        "question": "Where should sessions be kept?",
        "options": [
            {"label": "SQLite (Recommended)", "description": "One file, no server."},
            {"label": "Postgres", "description": "Needs a server."}
        ]
    }]});
    let setup = Setup::new(move |i, _| match i {
        0 => Step::calls(vec![call("request_user_input", question.clone(), "c_ask")]),
        _ => Step::message("noted"),
    })
    .await;
    let mut server = setup.server().await;
    let thread = server
        .result(
            "thread/start",
            json!({"cwd": setup.repo.path(), "approvalPolicy": "never"}),
        )
        .await["thread"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let turn = start_turn(&mut server, &thread, "ask me").await;
    let asked = server
        .wait_for("the question", |m| {
            m["method"] == "item/tool/requestUserInput" && m.get("id").is_some()
        })
        .await;
    let params = &asked["params"];
    assert_eq!(params["itemId"], "c_ask");
    assert_eq!(params["turnId"], turn.as_str());
    assert_eq!(params["isBlocking"], true);
    let q = &params["questions"][0];
    assert_eq!(q["id"], "storage");
    assert_eq!(q["isOther"], true);
    assert_eq!(q["options"][1]["label"], "Postgres");
    server
        .send(json!({"id": asked["id"], "result": {"answers": {"storage": {"answers": ["Postgres"]}}}}))
        .await;
    server
        .notification("serverRequest/resolved", |p| {
            p["threadId"] == thread.as_str()
        })
        .await;
    turn_completed(&mut server, &turn).await;
    let answer = output_of(&setup.mock.requests()[1].json(), "c_ask").unwrap();
    assert_eq!(
        answer,
        r#"{"answers":{"storage":{"answers":["Postgres"]}}}"#
    );
}
