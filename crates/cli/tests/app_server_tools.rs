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

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn input_texts(body: &Value) -> Vec<String> {
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
async fn a_skill_is_discovered_listed_mentioned_and_read_by_the_model() {
    let setup = Setup::new(|i, body| match i {
        // The model opens the file the list points at.
        0 => {
            let listed = input_texts(body).join("\n");
            let path = listed
                .lines()
                .find_map(|l| l.strip_prefix("- release-notes: "))
                .and_then(|l| l.split("(file: ").nth(1))
                .map(|p| p.trim_end_matches(')').to_string())
                .unwrap_or_else(|| panic!("the skill is not listed: {listed}"));
            Step::calls(vec![call(
                "exec_command",
                json!({ "cmd": format!("cat '{path}'") }),
                "c_read",
            )])
        }
        _ => Step::message("notes written"),
    })
    .await;
    let skill = setup
        .repo
        .path()
        .join(".agents/skills/release-notes/SKILL.md");
    write(
        &skill,
        "---\nname: release-notes\ndescription: Write release notes from the git log.\n---\n\n# Release notes\nGroup changes by crate; SECRET-STEP-7.\n",
    );
    write(
        &setup.repo.path().join(".agents/skills/broken/SKILL.md"),
        "---\nname: broken\n---\nno description\n",
    );
    let mut server = setup.server().await;
    let listed = server
        .result("skills/list", json!({"cwds": [setup.repo.path()]}))
        .await;
    let entry = &listed["data"][0];
    let skills = entry["skills"].as_array().unwrap();
    let ours = skills
        .iter()
        .find(|s| s["name"] == "release-notes")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(ours["scope"], "repo");
    assert_eq!(ours["enabled"], true);
    assert_eq!(
        ours["path"].as_str().unwrap(),
        skill.canonicalize().unwrap().display().to_string()
    );
    let errors = entry["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["path"].as_str().unwrap().contains("broken")),
        "{listed}"
    );

    // Extra roots join the user's skills; only absolute folders are taken.
    let extra = tempfile::tempdir().unwrap();
    write(
        &extra.path().join("team/SKILL.md"),
        "---\nname: team-style\ndescription: The house style.\n---\n",
    );
    let refused = server
        .request(
            "skills/extraRoots/set",
            json!({"extraRoots": ["relative/dir"]}),
        )
        .await;
    assert!(refused.get("error").is_some(), "{refused}");
    server
        .result(
            "skills/extraRoots/set",
            json!({"extraRoots": [extra.path()]}),
        )
        .await;
    let listed = server
        .result("skills/list", json!({"cwds": [setup.repo.path()]}))
        .await;
    let team = listed["data"][0]["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "team-style")
        .cloned()
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(team["scope"], "user");

    let thread = server
        .result(
            "thread/start",
            json!({"cwd": setup.repo.path(), "approvalPolicy": "never"}),
        )
        .await["thread"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let turn = start_turn(&mut server, &thread, "use $release-notes for v2").await;
    turn_completed(&mut server, &turn).await;
    let bodies: Vec<Value> = setup.mock.requests().iter().map(|r| r.json()).collect();
    let first = input_texts(&bodies[0]);
    // Listed in the developer layer, as Codex lists skills.
    assert!(
        first.iter().any(|t| t.starts_with("<skills_instructions>")
            && t.contains("- release-notes: Write release notes from the git log.")),
        "{first:?}"
    );
    // The mention inlined the whole file; the broken file did not stop the turn.
    assert!(
        first
            .iter()
            .any(|t| t.starts_with("<skill>") && t.contains("SECRET-STEP-7")),
        "{first:?}"
    );
    let read = output_of(&bodies[1], "c_read").unwrap();
    assert!(read.contains("SECRET-STEP-7"), "{read}");

    // Turned off in config.toml: listed as disabled, and no longer offered to new threads.
    let wrote = server
        .result(
            "skills/config/write",
            json!({"name": "release-notes", "enabled": false}),
        )
        .await;
    assert_eq!(wrote["effectiveEnabled"], false);
    let config = std::fs::read_to_string(setup.home.path().join("config.toml")).unwrap();
    let table: toml::Table = config.parse().unwrap();
    assert_eq!(
        table["skills"]["config"][0]["name"].as_str(),
        Some("release-notes"),
        "{config}"
    );
    assert_eq!(
        table["skills"]["config"][0]["enabled"].as_bool(),
        Some(false)
    );
    let listed = server
        .result("skills/list", json!({"cwds": [setup.repo.path()]}))
        .await;
    let ours = listed["data"][0]["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "release-notes")
        .cloned()
        .unwrap();
    assert_eq!(ours["enabled"], false);
}

#[tokio::test]
async fn a_new_skill_file_is_announced_with_skills_changed() {
    let setup = Setup::new(|_, _| Step::message("hi")).await;
    let mut server = setup.server().await;
    server
        .result(
            "thread/start",
            json!({"cwd": setup.repo.path(), "approvalPolicy": "never"}),
        )
        .await;
    // The watch takes its first look, then sees the new file.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    server.forget("skills/changed");
    write(
        &setup.repo.path().join(".agents/skills/fresh/SKILL.md"),
        "---\nname: fresh\ndescription: New.\n---\n",
    );
    server.notification("skills/changed", |_| true).await;
}

#[tokio::test]
async fn hooks_are_listed_reported_as_they_run_and_can_answer_approvals() {
    let setup = Setup::new(|i, _| match i {
        0 => Step::calls(vec![call(
            "exec_command",
            json!({"cmd": "python3 -c 'print(40 + 2)' # allowed-by-hook"}),
            "c_allowed",
        )]),
        1 => Step::calls(vec![call(
            "exec_command",
            json!({"cmd": "python3 -c 'print(7)'"}),
            "c_asked",
        )]),
        _ => Step::message("done"),
    })
    .await;
    let hook = setup.home.path().join("permit.sh");
    write(
        &hook,
        "#!/bin/bash\ninput=$(cat)\ncase \"$input\" in *allowed-by-hook*) echo '{\"hookSpecificOutput\":{\"hookEventName\":\"PermissionRequest\",\"decision\":{\"behavior\":\"allow\"}}}';; esac\nexit 0\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config_path = setup.home.path().join("config.toml");
    let mut config = std::fs::read_to_string(&config_path).unwrap();
    config.push_str(&format!(
        "\n[[hooks.PermissionRequest]]\nmatcher = \"Bash\"\n[[hooks.PermissionRequest.hooks]]\ntype = \"command\"\ncommand = \"{}\"\n",
        hook.display()
    ));
    std::fs::write(&config_path, config).unwrap();
    let mut server = setup.server().await;

    let listed = server
        .result("hooks/list", json!({"cwds": [setup.repo.path()]}))
        .await;
    let hooks = listed["data"][0]["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 1, "{listed}");
    assert_eq!(hooks[0]["eventName"], "permissionRequest");
    assert_eq!(hooks[0]["source"], "user");
    assert_eq!(hooks[0]["trustStatus"], "trusted");

    let thread = server
        .result(
            "thread/start",
            json!({"cwd": setup.repo.path(), "approvalPolicy": "untrusted", "sandbox": "workspace-write"}),
        )
        .await["thread"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let turn = start_turn(&mut server, &thread, "run both").await;
    let started = server.notification("hook/started", |_| true).await;
    assert_eq!(started["run"]["eventName"], "permissionRequest");
    assert_eq!(started["run"]["status"], "running");
    let completed = server.notification("hook/completed", |_| true).await;
    assert_eq!(completed["run"]["status"], "completed");
    assert_eq!(completed["turnId"], turn.as_str());
    // The hook allowed the first command: only the second one is asked.
    let asked = server
        .wait_for("an approval", |m| {
            m["method"] == "item/commandExecution/requestApproval" && m.get("id").is_some()
        })
        .await;
    assert_eq!(asked["params"]["itemId"], "c_asked");
    server
        .send(json!({"id": asked["id"], "result": {"decision": "accept"}}))
        .await;
    turn_completed(&mut server, &turn).await;
    let bodies: Vec<Value> = setup.mock.requests().iter().map(|r| r.json()).collect();
    let allowed = output_of(&bodies[1], "c_allowed").unwrap();
    assert!(allowed.contains("42"), "{allowed}");
    assert!(server
        .backlog
        .iter()
        .all(|m| m["params"]["itemId"] != "c_allowed"
            || m["method"] != "item/commandExecution/requestApproval"));
}
