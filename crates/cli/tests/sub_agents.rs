//! Sub-agents (Codex's multi-agent tools) through the real binary and the mock model: a
//! parent spawns agents that write in worktrees of their own, waits for them and learns where
//! their work is; the depth limit and the cap on open agents refuse clearly; the App Server
//! shows `collabAgentToolCall` items and the children as `thread_spawn` threads; an interrupt
//! of the parent stops its children.
//!
//! Every model request is routed by the task its thread was given (the first user message
//! naming `PARENT`, `CHILD-A`, ...), since parent and children share one mock.

mod common;

#[path = "common/app_server.rs"]
mod app_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use app_server::AppServer;
use common::*;
use serde_json::{json, Value};
use wright_mock_model::{OutputItem, Script, ServeOptions, Step};

/// Which thread a request comes from: the first tag found in its user messages.
fn tag_of(body: &Value) -> &'static str {
    let texts: Vec<&str> = body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["type"] == "message" && i["role"] == "user")
        .flat_map(|i| i["content"].as_array().into_iter().flatten())
        .filter_map(|c| c["text"].as_str())
        .collect();
    for tag in [
        "CHILD-A",
        "CHILD-B",
        "CHILD-ESCAPE",
        "CHILD-DEEP",
        "CHILD-SLOW",
        "PARENT",
    ] {
        if texts.iter().any(|t| t.contains(tag)) {
            return tag;
        }
    }
    panic!("a request from no known thread: {body}")
}

/// The output sent back for `call_id`, if this request has it.
fn output(body: &Value, call_id: &str) -> Option<String> {
    body["input"].as_array()?.iter().find_map(|i| {
        (i["call_id"] == call_id && i["type"] == "function_call_output")
            .then(|| i["output"].as_str().map(str::to_string))
            .flatten()
    })
}

fn agent_id(body: &Value, spawn_call: &str) -> String {
    let out = output(body, spawn_call).unwrap();
    let parsed: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    parsed["agent_id"].as_str().unwrap().to_string()
}

fn declared(body: &Value, tool: &str) -> bool {
    body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["name"] == tool)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Turns the harness's repo into a real git repository with one commit.
fn make_repo(repo: &Path) {
    std::fs::remove_dir_all(repo.join(".git")).unwrap();
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["config", "user.email", "t@example.com"]);
    git(repo, &["config", "user.name", "t"]);
    std::fs::write(repo.join("README.md"), "hello\n").unwrap();
    git(repo, &["add", "README.md"]);
    git(repo, &["commit", "-q", "-m", "init"]);
}

async fn env_with(
    script: impl Fn(usize, &Value) -> Step + Send + Sync + 'static,
    strict: bool,
) -> Env {
    let options = ServeOptions {
        check_tools: strict,
        ..ServeOptions::default()
    };
    let env = Env::with_options(Script::Dynamic(Arc::new(script)), "responses", "", options).await;
    make_repo(env.repo());
    env
}

async fn exec(env: &Env, extra: &[&str], prompt: &str) -> Run {
    let mut args = vec!["--json", "-s", "workspace-write"];
    args.extend_from_slice(extra);
    args.push(prompt);
    env.exec(&args).await
}

#[tokio::test]
async fn a_parent_spawns_two_writers_in_worktrees_and_waits_for_both() {
    let env = env_with(
        |_, body| match tag_of(body) {
            "PARENT" if output(body, "c_spawn_a").is_none() => Step::calls(vec![
                call_with_id(
                    "spawn_agent",
                    json!({"message": "CHILD-A: create a.txt"}),
                    "c_spawn_a",
                ),
                call_with_id(
                    "spawn_agent",
                    json!({"message": "CHILD-B: create b.txt"}),
                    "c_spawn_b",
                ),
            ]),
            "PARENT" if output(body, "c_wait_a").is_none() => Step::calls(vec![call_with_id(
                "wait_agent",
                json!({"targets": [agent_id(body, "c_spawn_a")], "timeout_ms": 60000}),
                "c_wait_a",
            )]),
            "PARENT" if output(body, "c_wait_b").is_none() => Step::calls(vec![call_with_id(
                "wait_agent",
                json!({"targets": [agent_id(body, "c_spawn_b")], "timeout_ms": 60000}),
                "c_wait_b",
            )]),
            "PARENT" => Step::message("both agents are done"),
            child if output(body, "c_write").is_none() => {
                let file = if child == "CHILD-A" { "a.txt" } else { "b.txt" };
                Step::calls(vec![call_with_id(
                    "exec_command",
                    json!({"cmd": format!("printf '{child}' > {file} && cat {file}")}),
                    "c_write",
                )])
            }
            child => Step::message(format!("{child} wrote its file")),
        },
        true,
    )
    .await;
    let run = exec(&env, &[], "PARENT: split the work").await;
    run.assert_ok();

    let bodies = env.bodies();
    let last_parent = bodies.iter().rev().find(|b| tag_of(b) == "PARENT").unwrap();
    assert!(declared(last_parent, "spawn_agent") && declared(last_parent, "wait_agent"));
    let children: Vec<&Value> = bodies
        .iter()
        .filter(|b| tag_of(b).starts_with("CHILD"))
        .collect();
    // At the default depth limit a child gets no multi-agent tools.
    assert!(children.iter().all(|b| !declared(b, "spawn_agent")));
    for (call, child, file) in [
        ("c_wait_a", "CHILD-A", "a.txt"),
        ("c_wait_b", "CHILD-B", "b.txt"),
    ] {
        let id = agent_id(
            last_parent,
            if child == "CHILD-A" {
                "c_spawn_a"
            } else {
                "c_spawn_b"
            },
        );
        let out: Value = serde_json::from_str(&output(last_parent, call).unwrap()).unwrap();
        assert_eq!(out["timed_out"], false, "{out}");
        assert_eq!(
            out["status"][&id],
            json!({"completed": format!("{child} wrote its file")}),
            "{out}"
        );
        let wt = &out["worktrees"][&id];
        assert_eq!(wt["branch"], format!("wright/agent/{id}"), "{out}");
        assert!(wt["diff_stat"].as_str().unwrap().contains(file), "{out}");
        let path = PathBuf::from(wt["path"].as_str().unwrap());
        assert!(
            path.starts_with(env.home.path().canonicalize().unwrap()),
            "{}",
            path.display()
        );
        assert_eq!(std::fs::read_to_string(path.join(file)).unwrap(), child);
        // The parent's checkout is untouched.
        assert!(!env.repo().join(file).exists());
        assert!(git(
            env.repo(),
            &["branch", "--list", &format!("wright/agent/{id}")]
        )
        .contains(&id));
    }
    assert_eq!(git(env.repo(), &["status", "--porcelain"]), "");

    // exec shows the parent's collab calls, and only the parent's items and answer.
    let collab: Vec<Value> = run
        .items("item.completed")
        .into_iter()
        .filter(|i| i["type"] == "collab_tool_call")
        .collect();
    let tools: Vec<&str> = collab.iter().map(|i| i["tool"].as_str().unwrap()).collect();
    assert_eq!(
        tools.iter().filter(|t| **t == "spawn_agent").count(),
        2,
        "{collab:?}"
    );
    assert_eq!(
        tools.iter().filter(|t| **t == "wait").count(),
        2,
        "{collab:?}"
    );
    let messages: Vec<Value> = run
        .items("item.completed")
        .into_iter()
        .filter(|i| i["type"] == "agent_message")
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["text"], "both agents are done");
    assert!(
        run.items("item.completed")
            .iter()
            .all(|i| i["type"] != "command_execution"),
        "a child's command leaked into the parent's stream: {}",
        run.stdout
    );
}

#[tokio::test]
async fn a_child_cannot_write_the_parents_checkout_though_the_parent_can() {
    let env = env_with(
        |_, body| match tag_of(body) {
            "PARENT" if output(body, "c_spawn").is_none() => Step::calls(vec![call_with_id(
                "spawn_agent",
                json!({"message": "CHILD-ESCAPE: write into the parent's checkout"}),
                "c_spawn",
            )]),
            "PARENT" if output(body, "c_wait").is_none() => Step::calls(vec![call_with_id(
                "wait_agent",
                json!({"targets": [agent_id(body, "c_spawn")]}),
                "c_wait",
            )]),
            // The same write, by the parent, whose checkout is its writable root.
            "PARENT" if output(body, "c_parent_write").is_none() => {
                Step::calls(vec![call_with_id(
                    "exec_command",
                    json!({"cmd": "printf parent > \"$ESCAPE_TARGET\"; echo rc=$?"}),
                    "c_parent_write",
                )])
            }
            "PARENT" => Step::message("done"),
            _ if output(body, "c_escape").is_none() => Step::calls(vec![call_with_id(
                "exec_command",
                json!({"cmd": "printf child > \"$ESCAPE_TARGET\"; echo rc=$?"}),
                "c_escape",
            )]),
            _ => Step::message("tried"),
        },
        true,
    )
    .await;
    let target = env.repo().canonicalize().unwrap().join("escape.txt");
    let mut cmd = env.command(&["--json", "-s", "workspace-write", "PARENT: try it"]);
    // Passed to every command through the environment, so the scripted model needs no path.
    cmd.env("ESCAPE_TARGET", &target);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bodies = env.bodies();
    let child_last = bodies
        .iter()
        .rev()
        .find(|b| tag_of(b) == "CHILD-ESCAPE")
        .unwrap();
    let denied = output(child_last, "c_escape").unwrap();
    // The kernel refuses (a read-only mount), not a check of the engine's.
    assert!(
        denied.contains("rc=1"),
        "the child wrote the parent's checkout: {denied}"
    );
    let parent_last = bodies.iter().rev().find(|b| tag_of(b) == "PARENT").unwrap();
    let allowed = output(parent_last, "c_parent_write").unwrap();
    assert!(allowed.contains("rc=0"), "{allowed}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "parent");
}

#[tokio::test]
async fn the_depth_limit_refuses_a_child_and_the_turn_goes_on() {
    // Not strict: the child calls `spawn_agent` although it was not offered (as a confused
    // model might), and must be refused in words.
    let env = env_with(
        |_, body| match tag_of(body) {
            "PARENT" if output(body, "c_spawn").is_none() => Step::calls(vec![call_with_id(
                "spawn_agent",
                json!({"message": "CHILD-DEEP: try to go deeper"}),
                "c_spawn",
            )]),
            "PARENT" if output(body, "c_wait").is_none() => Step::calls(vec![call_with_id(
                "wait_agent",
                json!({"targets": [agent_id(body, "c_spawn")]}),
                "c_wait",
            )]),
            "PARENT" => Step::message("done"),
            _ if output(body, "c_deeper").is_none() => Step::calls(vec![call_with_id(
                "spawn_agent",
                json!({"message": "CHILD-DEEP again"}),
                "c_deeper",
            )]),
            _ => Step::message("solved it myself"),
        },
        false,
    )
    .await;
    let run = exec(&env, &[], "PARENT: go").await;
    run.assert_ok();
    let bodies = env.bodies();
    let child_last = bodies
        .iter()
        .rev()
        .find(|b| tag_of(b) == "CHILD-DEEP")
        .unwrap();
    assert!(!declared(child_last, "spawn_agent"));
    assert_eq!(
        output(child_last, "c_deeper").unwrap(),
        "Agent depth limit reached. Solve the task yourself."
    );
    let parent_last = bodies.iter().rev().find(|b| tag_of(b) == "PARENT").unwrap();
    assert!(declared(parent_last, "spawn_agent"));
    assert!(output(parent_last, "c_wait")
        .unwrap()
        .contains("solved it myself"));
}

#[tokio::test]
async fn the_cap_on_open_agents_refuses_the_extra_spawn() {
    let env = env_with(
        |_, body| match tag_of(body) {
            "PARENT" if output(body, "c1").is_none() => Step::calls(vec![
                call_with_id("spawn_agent", json!({"message": "CHILD-A: one"}), "c1"),
                call_with_id("spawn_agent", json!({"message": "CHILD-B: two"}), "c2"),
            ]),
            "PARENT" => Step::message("went on"),
            _ => Step::message("ok"),
        },
        true,
    )
    .await;
    let run = exec(&env, &["-c", "agents.max_threads=1"], "PARENT: two at once").await;
    run.assert_ok();
    let bodies = env.bodies();
    let parent_last = bodies.iter().rev().find(|b| tag_of(b) == "PARENT").unwrap();
    let outs = [
        output(parent_last, "c1").unwrap(),
        output(parent_last, "c2").unwrap(),
    ];
    let refused: Vec<&String> = outs
        .iter()
        .filter(|o| o.contains("agent thread limit reached (max 1)"))
        .collect();
    let spawned: Vec<&String> = outs.iter().filter(|o| o.contains("\"agent_id\"")).collect();
    assert_eq!((refused.len(), spawned.len()), (1, 1), "{outs:?}");
    let last = run.items("item.completed");
    assert!(last
        .iter()
        .any(|i| i["type"] == "agent_message" && i["text"] == "went on"));
    // The refusal shows as a failed spawn item.
    assert!(
        last.iter()
            .any(|i| i["type"] == "collab_tool_call" && i["status"] == "failed"),
        "{}",
        run.stdout
    );
}

/// A server on a real repository, its mock routed by thread.
async fn server_with(
    script: impl Fn(usize, &Value) -> Step + Send + Sync + 'static,
) -> (Env, AppServer) {
    let env = env_with(script, true).await;
    let server = AppServer::start(env.home.path(), env.repo()).await;
    (env, server)
}

async fn start_parent(server: &mut AppServer, repo: &Path, text: &str) -> (String, String) {
    let thread = server
        .result(
            "thread/start",
            json!({"cwd": repo, "approvalPolicy": "never", "sandbox": "workspace-write"}),
        )
        .await["thread"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let turn = server
        .result(
            "turn/start",
            json!({"threadId": thread, "input": [{"type": "text", "text": text}]}),
        )
        .await["turn"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (thread, turn)
}

#[tokio::test]
async fn the_app_server_shows_collab_items_and_thread_spawn_children() {
    let (env, mut server) = server_with(|_, body| match tag_of(body) {
        "PARENT" if output(body, "c_spawn").is_none() => Step::calls(vec![call_with_id(
            "spawn_agent",
            json!({"message": "CHILD-A: look around", "agent_type": "explorer"}),
            "c_spawn",
        )]),
        "PARENT" if output(body, "c_wait").is_none() => Step::calls(vec![call_with_id(
            "wait_agent",
            json!({"targets": [agent_id(body, "c_spawn")]}),
            "c_wait",
        )]),
        "PARENT" => Step::message("done"),
        _ => Step::message("CHILD-A found nothing"),
    })
    .await;
    let (parent, turn) = start_parent(&mut server, env.repo(), "PARENT: delegate").await;

    let started = server
        .notification("item/started", |p| p["item"]["id"] == "c_spawn")
        .await;
    assert_eq!(started["threadId"], parent);
    let item = &started["item"];
    assert_eq!(item["type"], "collabAgentToolCall");
    assert_eq!(item["tool"], "spawnAgent");
    assert_eq!(item["status"], "inProgress");
    assert_eq!(item["senderThreadId"], parent);
    assert_eq!(item["prompt"], "CHILD-A: look around");
    let done = server
        .notification("item/completed", |p| p["item"]["id"] == "c_spawn")
        .await;
    let item = &done["item"];
    assert_eq!(item["status"], "completed", "{item}");
    let child = item["receiverThreadIds"][0].as_str().unwrap().to_string();
    assert!(item["agentsStates"][&child]["status"].is_string(), "{item}");

    // The child is a thread of its own, announced with its `thread_spawn` source.
    let announced = server
        .notification("thread/started", |p| p["thread"]["id"] == child)
        .await;
    let spawn = json!({"subAgent": {"thread_spawn": {
        "parent_thread_id": parent, "depth": 1, "agent_path": null,
        "agent_nickname": null, "agent_role": "explorer"}}});
    assert_eq!(announced["thread"]["source"], spawn);
    assert_eq!(announced["thread"]["parentThreadId"], parent);

    let waited = server
        .notification("item/completed", |p| p["item"]["id"] == "c_wait")
        .await;
    let item = &waited["item"];
    assert_eq!(item["tool"], "wait");
    assert_eq!(item["receiverThreadIds"], json!([child]));
    assert_eq!(
        item["agentsStates"][&child],
        json!({"status": "completed", "message": "CHILD-A found nothing"})
    );
    let completed = server
        .notification("turn/completed", |p| p["turn"]["id"] == turn)
        .await;
    assert_eq!(completed["turn"]["status"], "completed");

    let listed = server.result("thread/list", json!({})).await;
    let entry = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == child)
        .unwrap_or_else(|| panic!("the child is not listed: {listed}"))
        .clone();
    assert_eq!(entry["source"], spawn);
    // `sourceKinds` selects sub-agents' threads by kind, and only them.
    let ids = |listed: &Value| -> Vec<String> {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    for kind in ["subAgentThreadSpawn", "subAgent"] {
        let only = server
            .result("thread/list", json!({"sourceKinds": [kind]}))
            .await;
        assert_eq!(ids(&only), vec![child.clone()], "{kind}: {only}");
    }
    let others = server
        .result(
            "thread/list",
            json!({"sourceKinds": ["subAgentReview", "exec"]}),
        )
        .await;
    assert!(!ids(&others).contains(&child), "{others}");
}

#[tokio::test]
async fn interrupting_the_parent_interrupts_its_children() {
    let (env, mut server) = server_with(|_, body| match tag_of(body) {
        "PARENT" if output(body, "c_spawn").is_none() => Step::calls(vec![call_with_id(
            "spawn_agent",
            json!({"message": "CHILD-SLOW: think for a long time"}),
            "c_spawn",
        )]),
        "PARENT" => Step::calls(vec![call_with_id(
            "wait_agent",
            json!({"targets": [agent_id(body, "c_spawn")], "timeout_ms": 600000}),
            "c_wait",
        )]),
        // Far longer than the test waits: only an interrupt ends this turn in time.
        _ => Step::Delay {
            ms: 120_000,
            then: Box::new(Step::calls(vec![OutputItem::message("too late")])),
        },
    })
    .await;
    let (parent, turn) = start_parent(&mut server, env.repo(), "PARENT: delegate").await;
    let spawned = server
        .notification("item/completed", |p| p["item"]["id"] == "c_spawn")
        .await;
    let child = spawned["item"]["receiverThreadIds"][0]
        .as_str()
        .unwrap()
        .to_string();
    let child_turn = {
        let child = child.clone();
        server
            .notification("turn/started", move |p| p["threadId"] == child)
            .await["turn"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    server
        .notification("item/started", |p| p["item"]["id"] == "c_wait")
        .await;
    server
        .result(
            "turn/interrupt",
            json!({"threadId": parent, "turnId": turn}),
        )
        .await;
    let ended = server
        .notification("turn/completed", |p| p["turn"]["id"] == turn)
        .await;
    assert_eq!(ended["turn"]["status"], "interrupted");
    let child_ended = server
        .notification("turn/completed", move |p| p["turn"]["id"] == child_turn)
        .await;
    assert_eq!(child_ended["threadId"], child);
    assert_eq!(child_ended["turn"]["status"], "interrupted");
}

#[tokio::test]
async fn features_multi_agent_false_offers_no_agent_tools() {
    // Not strict: the model calls `spawn_agent` anyway and is told it is not available.
    let env = env_with(
        |_, body| match output(body, "c_spawn") {
            None => Step::calls(vec![call_with_id(
                "spawn_agent",
                json!({"message": "CHILD-A: x"}),
                "c_spawn",
            )]),
            Some(_) => Step::message("alone"),
        },
        false,
    )
    .await;
    let run = exec(&env, &["-c", "features.multi_agent=false"], "PARENT: go").await;
    run.assert_ok();
    let bodies = env.bodies();
    assert!(bodies.iter().all(|b| !declared(b, "spawn_agent")));
    assert!(
        bodies.iter().all(|b| tag_of(b) == "PARENT"),
        "a child was started"
    );
    assert_eq!(
        output(bodies.last().unwrap(), "c_spawn").unwrap(),
        "sub-agents are not available in this session"
    );
}
