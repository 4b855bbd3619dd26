//! `exec_command` sessions and `write_stdin` (Codex's unified exec) through the real binary:
//! a command that outlives its call, polled and typed into by later calls, confined by the
//! sandbox, and gone with its thread or on interrupt.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{call_with_id, output_for, Env};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use wright_mock_model::{Script, Step};

/// The session id in an `exec_command` / `write_stdin` result that is still running.
fn session_id(output: &str) -> u64 {
    let line = output
        .lines()
        .find(|l| l.starts_with("Process running with session ID "))
        .unwrap_or_else(|| panic!("no running session in {output:?}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// The output of the call `call_id` in the last request.
fn last_output(body: &Value, call_id: &str) -> String {
    output_for(body, call_id)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn exec_args(cmd: &str, extra: Value) -> Value {
    let mut args = json!({ "cmd": cmd });
    if let (Some(a), Some(e)) = (args.as_object_mut(), extra.as_object()) {
        a.extend(e.clone());
    }
    args
}

async fn env_with(script: impl Fn(usize, &Value) -> Step + Send + Sync + 'static) -> Env {
    // The mock checks each scripted call against the tools wright declared.
    Env::strict(Script::Dynamic(Arc::new(script))).await
}

#[tokio::test]
async fn a_server_started_in_one_call_answers_a_later_one_and_dies_with_the_thread() {
    let port = free_port();
    let server = format!("python3 -u -m http.server {port} --bind 127.0.0.1");
    let fetch = format!(
        "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/hello.txt').read().decode())\""
    );
    let env = env_with(move |i, body| match i {
        0 => Step::calls(vec![call_with_id(
            "exec_command",
            exec_args(&server, json!({"yield_time_ms": 1500})),
            "c_server",
        )]),
        1 => Step::calls(vec![call_with_id(
            "exec_command",
            exec_args(&fetch, json!({})),
            "c_fetch",
        )]),
        2 => {
            let id = session_id(&last_output(body, "c_server"));
            Step::calls(vec![call_with_id(
                "write_stdin",
                json!({"session_id": id, "chars": ""}),
                "c_poll",
            )])
        }
        _ => Step::message("served"),
    })
    .await;
    std::fs::write(env.repo().join("hello.txt"), "hello from the repo\n").unwrap();
    // Confined as every command is; loopback between two commands needs the network on.
    let run = env
        .exec(&[
            "--json",
            "--sandbox",
            "workspace-write",
            "-c",
            "sandbox_workspace_write.network_access=true",
            "serve",
        ])
        .await;
    run.assert_ok();
    let bodies = env.bodies();
    let first = last_output(&bodies[1], "c_server");
    assert!(first.starts_with("Chunk ID: "), "{first}");
    assert!(first.contains("\nWall time: "), "{first}");
    let id = session_id(&first);
    assert!((1_000..100_000).contains(&id), "{first}");
    let fetched = last_output(&bodies[2], "c_fetch");
    assert!(fetched.contains("Process exited with code 0"), "{fetched}");
    assert!(fetched.contains("hello from the repo"), "{fetched}");
    // A poll of the server shows its log of that request: the same process, still running.
    let polled = last_output(&bodies[3], "c_poll");
    assert!(polled.contains("GET /hello.txt"), "{polled}");
    assert_eq!(session_id(&polled), id);
    // Codex's exec stream: the server was started and never completed in this run.
    let started: Vec<_> = run
        .items("item.started")
        .into_iter()
        .filter(|i| i["type"] == "command_execution")
        .collect();
    assert_eq!(started.len(), 2, "{}", run.stdout);
    let completed = run.items("item.completed");
    assert!(
        !completed.iter().any(|i| i["command"]
            .as_str()
            .is_some_and(|c| c.contains("http.server"))),
        "{}",
        run.stdout
    );
    // wright has exited: the server went with its thread.
    let mut refused = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the server outlived wright exec");
}

#[tokio::test]
async fn python_driven_through_two_writes_on_a_terminal() {
    let env = env_with(|i, body| {
        let id = || session_id(&last_output(body, "c_py"));
        match i {
            0 => Step::calls(vec![call_with_id(
                "exec_command",
                exec_args("python3 -q -i", json!({"tty": true, "yield_time_ms": 1000})),
                "c_py",
            )]),
            1 => Step::calls(vec![call_with_id(
                "write_stdin",
                json!({"session_id": id(), "chars": "x = 6 * 7\n"}),
                "c_w1",
            )]),
            2 => Step::calls(vec![call_with_id(
                "write_stdin",
                json!({"session_id": id(), "chars": "print(x + 1, 'is the answer')\n", "yield_time_ms": 1000}),
                "c_w2",
            )]),
            3 => Step::calls(vec![call_with_id(
                "write_stdin",
                json!({"session_id": id(), "chars": "exit()\n", "yield_time_ms": 5000}),
                "c_w3",
            )]),
            4 => Step::calls(vec![call_with_id(
                "write_stdin",
                json!({"session_id": id(), "chars": "x\n"}),
                "c_w4",
            )]),
            _ => Step::message("done"),
        }
    })
    .await;
    let run = env.json("repl").await;
    run.assert_ok();
    let bodies = env.bodies();
    let answer = last_output(&bodies[3], "c_w2");
    assert!(answer.contains("43 is the answer"), "{answer}");
    assert!(
        answer.contains("Process running with session ID"),
        "{answer}"
    );
    let exited = last_output(&bodies[4], "c_w3");
    assert!(exited.contains("Process exited with code 0"), "{exited}");
    // The session is gone once its end was reported.
    let gone = last_output(&bodies[5], "c_w4");
    assert!(gone.contains("Unknown process id"), "{gone}");
    let completed: Vec<_> = run
        .items("item.completed")
        .into_iter()
        .filter(|i| i["type"] == "command_execution")
        .collect();
    assert_eq!(completed.len(), 1, "{}", run.stdout);
    assert_eq!(completed[0]["exit_code"], 0);
    assert!(completed[0]["aggregated_output"]
        .as_str()
        .unwrap()
        .contains("43 is the answer"));
}

#[tokio::test]
async fn pipes_refuse_input_and_say_how_to_keep_it() {
    let env = env_with(|i, body| match i {
        0 => Step::calls(vec![call_with_id(
            "exec_command",
            exec_args("cat; sleep 3", json!({"yield_time_ms": 300})),
            "c_cat",
        )]),
        1 => Step::calls(vec![call_with_id(
            "write_stdin",
            json!({"session_id": session_id(&last_output(body, "c_cat")), "chars": "hi\n"}),
            "c_w",
        )]),
        _ => Step::message("done"),
    })
    .await;
    let run = env.json("cat").await;
    run.assert_ok();
    // Without a terminal, stdin is /dev/null: `cat` ends at once, the sleep keeps it running.
    let first = last_output(&env.bodies()[1], "c_cat");
    assert!(first.contains("Process running with session ID"), "{first}");
    let written = last_output(&env.bodies()[2], "c_w");
    assert!(
        written.contains("stdin is closed for this session; rerun exec_command with tty=true"),
        "{written}"
    );
}

/// Runs a session that touches `survived` after 2 s; `interrupt` sends SIGINT once the model
/// has the session's id, else the model polls it for 5 s.
async fn session_survival(interrupt: bool) -> bool {
    let env = env_with(move |i, body| match i {
        0 => Step::calls(vec![call_with_id(
            "exec_command",
            exec_args(
                "sleep 2; touch survived; sleep 30",
                json!({"yield_time_ms": 300}),
            ),
            "c_bg",
        )]),
        1 if interrupt => Step::Delay {
            ms: 30_000,
            then: Box::new(Step::message("too late")),
        },
        1 => Step::calls(vec![call_with_id(
            "write_stdin",
            json!({"session_id": session_id(&last_output(body, "c_bg")), "yield_time_ms": 5000}),
            "c_poll",
        )]),
        _ => Step::message("done"),
    })
    .await;
    let mut child = env
        .command(&["--json", "-s", "workspace-write", "background"])
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    if interrupt {
        for _ in 0..200 {
            if env.mock.requests().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(
            env.mock.requests().len(),
            2,
            "the model never got the session"
        );
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGINT) };
    }
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        seen.push(line);
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("wright did not stop")
        .unwrap();
    let expected = if interrupt { 130 } else { 0 };
    assert_eq!(status.code(), Some(expected), "{seen:?}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    env.repo().join("survived").exists()
}

#[tokio::test]
async fn an_interrupt_kills_the_sessions_that_would_otherwise_run_on() {
    assert!(
        session_survival(false).await,
        "without an interrupt the session keeps running across calls"
    );
    assert!(
        !session_survival(true).await,
        "the session outlived the interrupt"
    );
}

/// A terminal session's command writes outside the workspace: refused confined, done
/// unconfined (the same command, the same session kind).
async fn writes_outside(sandbox: &str) -> bool {
    // Not under /tmp or $TMPDIR, which workspace-write may write.
    let outside = common::outside_the_roots();
    let target = outside.path().join("escaped");
    let cmd = format!("echo out > {}; sleep 1; echo done", target.display());
    let env = env_with(move |i, _| match i {
        0 => Step::calls(vec![call_with_id(
            "exec_command",
            exec_args(&cmd, json!({"tty": true, "yield_time_ms": 250})),
            "c_out",
        )]),
        _ => Step::message("done"),
    })
    .await;
    let run = env
        .exec(&["--json", "--skip-git-repo-check", "-s", sandbox, "go"])
        .await;
    run.assert_ok();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    target.exists()
}

#[tokio::test]
async fn terminal_sessions_are_confined_like_any_command() {
    assert!(
        writes_outside("danger-full-access").await,
        "control: unconfined, the write lands"
    );
    assert!(
        !writes_outside("workspace-write").await,
        "a confined session wrote outside its roots"
    );
}
