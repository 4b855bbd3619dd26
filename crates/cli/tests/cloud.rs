//! `wright cloud` end to end: the real binary drives real containers (Podman's Docker-API
//! service, started by CI) whose `wright app-server` talks to the mock model on the host.
//! Without an engine and the base image these tests say so and pass locally; under `CI=true`
//! they fail.

#[path = "common/app_server.rs"]
mod app_server;

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, ServeOptions, Step};

/// Built by `scripts/cloud-image`.
const IMAGE: &str = "localhost/wright-base:bookworm";
const SECRET: &str = "mock-key-5d9c0e";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether Podman and the image are here (a panic under CI when they are not).
fn engine_ready() -> bool {
    let socket = Path::new("/run/podman/podman.sock").exists()
        || Path::new("/var/run/docker.sock").exists()
        || std::env::var("DOCKER_HOST").is_ok();
    let image = std::process::Command::new("podman")
        .args(["image", "exists", IMAGE])
        .status()
        .is_ok_and(|s| s.success());
    match (socket, image) {
        (true, true) => true,
        _ if in_ci() => panic!(
            "CI needs a container engine (socket: {socket}) and the image {IMAGE} (present: {image}); see .ci/run"
        ),
        _ => {
            eprintln!("skipping: engine socket {socket}, image {IMAGE} {image}");
            false
        }
    }
}

/// The script every attempt follows: run `cmd` once, then answer with what it printed.
fn one_command(cmd: &'static str) -> Script {
    Script::Dynamic(Arc::new(move |_, body: &Value| {
        let outputs: Vec<&Value> = body["input"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|i| i["type"] == "function_call_output")
                    .collect()
            })
            .unwrap_or_default();
        match outputs.first() {
            None => Step::calls(vec![OutputItem::function(
                "exec_command",
                json!({"cmd": cmd, "yield_time_ms": 30000}),
            )]),
            Some(out) => Step::message(format!(
                "done: {}",
                out["output"].as_str().unwrap_or_default()
            )),
        }
    }))
}

struct Cloud {
    repo: tempfile::TempDir,
    home: tempfile::TempDir,
    mock: MockModel,
}

fn git(repo: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(repo)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

impl Cloud {
    async fn new(script: Script) -> Cloud {
        let repo = tempfile::tempdir().unwrap();
        git(repo.path(), &["init", "-q", "-b", "main"]);
        std::fs::write(repo.path().join("README.md"), "hello\n").unwrap();
        git(repo.path(), &["add", "."]);
        git(repo.path(), &["commit", "-q", "-m", "first"]);
        let home = tempfile::tempdir().unwrap();
        let options = ServeOptions {
            host: Some("0.0.0.0".parse().unwrap()),
            check_tools: true,
            ..ServeOptions::default()
        };
        let mock = MockModel::start_with(script, options).await.unwrap();
        let port = mock
            .base_url()
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches("/v1")
            .to_string();
        // The task's wright reaches the mock on the host through the engine's gateway name;
        // its key is a secret, sent through the engine, never in the container's config.
        let config = format!(
            r#"
[cloud.environments.test]
engine = "docker"
image = "{IMAGE}"
secrets = ["MOCK_API_KEY"]

[cloud.environments.test.config]
model_provider = "mock"
model_providers.mock = {{ name = "mock", base_url = "http://host.containers.internal:{port}/v1", wire_api = "responses", env_key = "MOCK_API_KEY" }}

[cloud.environments.gone]
engine = "docker"
image = "{IMAGE}"
host = "unix:///nonexistent/podman.sock"

[cloud.environments.noimage]
engine = "docker"
image = "localhost/wright-no-such-image:0"
"#
        );
        std::fs::write(home.path().join("config.toml"), config).unwrap();
        Cloud { repo, home, mock }
    }

    /// Adds an environment like `test` (same model, same key) with `extra` lines.
    fn add_environment(&self, name: &str, extra: &str) {
        let path = self.home.path().join("config.toml");
        let mut config = std::fs::read_to_string(&path).unwrap();
        let port = self
            .mock
            .base_url()
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches("/v1")
            .to_string();
        config.push_str(&format!(
            r#"
[cloud.environments.{name}]
engine = "docker"
image = "{IMAGE}"
secrets = ["MOCK_API_KEY"]
{extra}
[cloud.environments.{name}.config]
model_provider = "mock"
model_providers.mock = {{ name = "mock", base_url = "http://host.containers.internal:{port}/v1", wire_api = "responses", env_key = "MOCK_API_KEY" }}
"#
        ));
        std::fs::write(path, config).unwrap();
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"));
        cmd.arg("cloud")
            .args(args)
            .current_dir(self.repo.path())
            .env("WRIGHT_HOME", self.home.path())
            .env("HOME", self.home.path())
            .env("MOCK_API_KEY", SECRET)
            .env_remove("OPENAI_API_KEY")
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = tokio::time::timeout(Duration::from_secs(180), self.command(args).output())
            .await
            .expect("wright cloud timed out")
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Waits until the model was asked `n` times (the attempts are mid-task).
    async fn wait_for_requests(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.mock.requests().len() < n {
            assert!(
                Instant::now() < deadline,
                "the attempts never asked the model"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn status(&self, task: &str) -> Value {
        let (code, out, err) = self.run(&["status", task, "--json"]).await;
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    }
}

/// Containers of a task still on the engine.
fn containers_of(task: &str) -> Vec<String> {
    any_containers_with(&format!("dev.wright.cloud/task={task}"))
}

fn any_containers_with(label: &str) -> Vec<String> {
    let out = std::process::Command::new("podman")
        .args(["ps", "-a", "-q", "--filter", &format!("label={label}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn best_of_two_runs_in_containers_and_apply_brings_the_work_home() {
    if !engine_ready() {
        return;
    }
    let cloud = Cloud::new(one_command(
        "echo from-the-task > result.txt; echo key=${MOCK_API_KEY:-absent}; \
         grep -l -s -a mock-key-5d9c0e /proc/[0-9]*/environ || echo proc=clean",
    ))
    .await;
    let (code, out, err) = cloud
        .run(&[
            "exec",
            "--env",
            "test",
            "--attempts",
            "2",
            "write result.txt",
        ])
        .await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let task = out.trim().to_string();
    assert!(task.starts_with("task_"), "{out}");
    // Both attempts streamed their progress.
    assert!(err.contains("[1] $ ") && err.contains("[2] $ "), "{err}");
    // The key went to the model client through the engine...
    let requests = cloud.mock.requests();
    assert_eq!(requests.len(), 4, "two requests per attempt");
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(&*format!("Bearer {SECRET}"))
        );
    }
    // ...but not to the agent's commands.
    let status = cloud.status(&task).await;
    for a in status["attempts"].as_array().unwrap() {
        assert_eq!(a["status"], "completed", "{status}");
        let summary = a["summary"].as_str().unwrap();
        assert!(summary.contains("key=absent"), "{summary}");
        // Nor can a command find it in another process's environment.
        assert!(summary.contains("proc=clean"), "{summary}");
        assert_eq!(a["filesChanged"], 1);
    }
    // Every container was collected.
    assert!(containers_of(&task).is_empty());
    // The diff is against the commit the task started from.
    let (code, diff, err) = cloud.run(&["diff", &task, "--attempt", "2"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        diff.contains("b/result.txt") && diff.contains("+from-the-task"),
        "{diff}"
    );
    // The threads are local threads: listed in the store with their items.
    let thread = status["attempts"][0]["threadId"]
        .as_str()
        .unwrap()
        .to_string();
    let store = wright_store::Store::open(&cloud.home.path().join("state.db")).unwrap();
    let record = store
        .get_thread(&thread)
        .unwrap()
        .expect("the attempt's thread is stored");
    assert_eq!(record.source, "cloud");
    assert_eq!(
        Path::new(&record.cwd),
        cloud.repo.path().canonicalize().unwrap()
    );
    let turns = store.turns(&thread).unwrap();
    assert_eq!(turns[0].0.status, "completed");
    assert!(
        turns[0].1.iter().any(|i| i["type"] == "commandExecution"),
        "{:?}",
        turns[0].1
    );
    drop(store);
    // The TUI and the web UI open it as they open any thread: listed, resumed, read.
    let mut server = app_server::AppServer::start(cloud.home.path(), cloud.repo.path()).await;
    let listed = server.result("thread/list", json!({})).await;
    let entry = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == thread)
        .unwrap_or_else(|| panic!("{listed}"))
        .clone();
    assert_eq!(entry["source"], json!({"custom": "cloud"}), "{entry}");
    let resumed = server
        .result("thread/resume", json!({"threadId": thread}))
        .await;
    let items: Vec<Value> = resumed["thread"]["turns"][0]["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        items.iter().any(|i| i["type"] == "commandExecution"),
        "{resumed}"
    );
    assert!(
        items
            .iter()
            .any(|i| i["type"] == "agentMessage" && i["text"].as_str().unwrap().contains("done:")),
        "{resumed}"
    );
    drop(server);
    // Apply writes the file; applying again is refused and changes nothing.
    assert!(!cloud.repo.path().join("result.txt").exists());
    let (code, out, err) = cloud.run(&["apply", &task]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(cloud.repo.path().join("result.txt")).unwrap(),
        "from-the-task\n"
    );
    std::fs::write(cloud.repo.path().join("result.txt"), "mine\n").unwrap();
    let (code, _, err) = cloud.run(&["apply", &task, "--attempt", "2"]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("does not apply") && err.contains("result.txt"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(cloud.repo.path().join("result.txt")).unwrap(),
        "mine\n"
    );
    // `list` shows it.
    let (_, list, _) = cloud.run(&["list"]).await;
    assert!(list.contains(&task) && list.contains("completed"), "{list}");
}

#[tokio::test]
async fn a_container_that_dies_ends_its_attempt_and_the_other_goes_on() {
    if !engine_ready() {
        return;
    }
    let cloud = Cloud::new(one_command("sleep 6; echo finished")).await;
    let child = cloud
        .command(&["exec", "--env", "test", "--attempts", "2", "slow"])
        .spawn()
        .unwrap();
    // Once both attempts are mid-command, kill attempt 2's container from outside.
    cloud.wait_for_requests(2).await;
    let victims = any_containers_with("dev.wright.cloud/attempt=2");
    let mine: Vec<&String> = victims.iter().collect();
    assert!(!mine.is_empty());
    for id in &mine {
        let _ = std::process::Command::new("podman")
            .args(["kill", id])
            .output();
    }
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // One attempt completed, so the run succeeds; the other says what happened.
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let status = cloud.status(stdout.trim()).await;
    let attempts = status["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["status"], "completed", "{status}");
    assert_eq!(attempts[1]["status"], "failed", "{status}");
    let error = attempts[1]["error"].as_str().unwrap();
    assert!(error.contains("exited with status"), "{error}");
    // What arrived before the death is kept: its thread and its turn.
    assert!(attempts[1]["threadId"].is_string(), "{status}");
    assert!(containers_of(stdout.trim()).is_empty());
}

#[tokio::test]
async fn interrupting_exec_stops_its_containers() {
    if !engine_ready() {
        return;
    }
    let cloud = Cloud::new(one_command("sleep 120")).await;
    let child = cloud
        .command(&["exec", "--env", "test", "--attempts", "2", "long"])
        .spawn()
        .unwrap();
    let pid = child.id().unwrap() as i32;
    cloud.wait_for_requests(2).await;
    let driver_pid_label = format!(".{pid}.");
    let running: Vec<String> = driven_by(&driver_pid_label);
    assert_eq!(running.len(), 2, "both containers run before the interrupt");
    let started = Instant::now();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let task = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        containers_of(&task).is_empty(),
        "the containers outlived the interrupt"
    );
    let status = cloud.status(&task).await;
    for a in status["attempts"].as_array().unwrap() {
        assert_eq!(a["status"], "cancelled", "{status}");
    }
}

/// The containers whose driver label contains `needle` (`.PID.`: one `wright cloud exec`).
fn driven_by(needle: &str) -> Vec<String> {
    list_labels()
        .into_iter()
        .filter(|(_, driver)| driver.contains(needle))
        .map(|(id, _)| id)
        .collect()
}

/// Every wright container's id and driver label.
fn list_labels() -> Vec<(String, String)> {
    let out = std::process::Command::new("podman")
        .args([
            "ps",
            "-a",
            "--filter",
            "label=dev.wright.cloud/managed=true",
            "--format",
            "{{.ID}} {{index .Labels \"dev.wright.cloud/driver\"}}",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn a_killed_driver_leaves_orphans_that_reap_removes() {
    if !engine_ready() {
        return;
    }
    let cloud = Cloud::new(one_command("sleep 120")).await;
    let mut child = cloud
        .command(&["exec", "--env", "test", "long"])
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    cloud.wait_for_requests(1).await;
    child.kill().await.unwrap();
    let _ = child.wait().await;
    let label = format!(".{pid}.");
    let left: Vec<String> = driven_by(&label);
    assert_eq!(
        left.len(),
        1,
        "the killed driver's container is still there"
    );
    let (code, out, err) = cloud.run(&["reap", "--env", "test"]).await;
    assert_eq!(code, 0, "{err}");
    eprintln!("reap: {out}{err}");
    assert!(out.contains("Removed"), "{out}");
    let still: Vec<String> = driven_by(&label);
    assert!(still.is_empty(), "{still:?}");
    let (_, list, _) = cloud.run(&["list", "--json"]).await;
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["attempts"][0]["status"], "orphaned", "{list}");
}

#[tokio::test]
async fn engine_down_and_image_missing_are_clear() {
    if !engine_ready() {
        return;
    }
    let cloud = Cloud::new(one_command("true")).await;
    let (code, _, err) = cloud.run(&["exec", "--env", "gone", "x"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/podman.sock"), "{err}");
    let (code, _, err) = cloud.run(&["env", "check", "gone"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/podman.sock"), "{err}");
    let (code, out, err) = cloud.run(&["exec", "--env", "noimage", "x"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("wright-no-such-image") && err.contains("not present"),
        "{err}"
    );
    let status = cloud.status(out.trim()).await;
    assert_eq!(status["attempts"][0]["status"], "failed");
    // The working environment checks out.
    let (code, out, err) = cloud.run(&["env", "check", "test"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("present"), "{out}");
    let (code, out, _) = cloud.run(&["env", "list"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("test") && out.contains("docker") && out.contains("network off"),
        "{out}"
    );
    // No model request was made by either failure.
    assert!(cloud.mock.requests().is_empty());
}

/// Podman's default seccomp profile made to refuse namespaces the way Docker's default does
/// (`unshare` denied; `clone` only without namespace flags; `clone3` ENOSYS).
fn docker_like_profile(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string("/usr/share/containers/seccomp.json")
        .expect("Podman's seccomp profile (containers-common) is installed with Podman");
    let mut profile: Value = serde_json::from_str(&text).unwrap();
    let rules = profile["syscalls"].as_array_mut().unwrap();
    for rule in rules.iter_mut() {
        if let Some(names) = rule["names"].as_array_mut() {
            names.retain(|n| !matches!(n.as_str(), Some("unshare" | "clone" | "clone3")));
        }
    }
    rules.push(json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}));
    rules.push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 2114060288u64, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 0}]}));
    let path = dir.join("docker-like-seccomp.json");
    std::fs::write(&path, profile.to_string()).unwrap();
    path
}

#[tokio::test]
async fn a_container_that_cannot_confine_commands_says_so_and_unconfined_seccomp_fixes_it() {
    if !engine_ready() {
        return;
    }
    let cloud = Cloud::new(one_command("echo confined-ok")).await;
    let profile = docker_like_profile(cloud.home.path());
    cloud.add_environment(
        "dockerlike",
        &format!("seccomp = {:?}", profile.display().to_string()),
    );
    cloud.add_environment("loose", "seccomp = \"unconfined\"");
    let (code, out, err) = cloud.run(&["exec", "--env", "dockerlike", "x"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("cannot be confined") && err.contains("seccomp = \"unconfined\""),
        "{err}"
    );
    // Nothing reached the model: the attempt stopped before its turn.
    assert!(cloud.mock.requests().is_empty());
    // The way out the message names works.
    let (code, out, err) = cloud.run(&["exec", "--env", "loose", "x"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let status = cloud.status(out.trim()).await;
    let summary = status["attempts"][0]["summary"].as_str().unwrap();
    assert!(summary.contains("confined-ok"), "{summary}");
}
