//! The terminal UI end to end: the real binary in a tmux pane against the mock model, read back
//! with capture-pane as a person would see it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;
use serde_json::json;
use wright_mock_model::{OutputItem, Step};

/// A tmux server of the test's own, killed when the test ends.
struct Pane {
    socket: String,
}

impl Pane {
    /// Runs `wright ARGS` in a 100x30 pane; when it exits the pane prints its status and the
    /// terminal's modes, then waits.
    fn start(env: &Env, name: &str, args: &str) -> Option<Pane> {
        Self::start_with(env, name, "", args)
    }

    /// [`Pane::start`] with `VAR=value ...` added to wright's environment.
    fn start_with(env: &Env, name: &str, vars: &str, args: &str) -> Option<Pane> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var("CI").is_err(),
                "tmux is missing: the TUI end-to-end tests cannot run"
            );
            eprintln!("skipping: tmux is not installed");
            return None;
        }
        let socket = format!("wright-tui-{name}-{}", std::process::id());
        let script = format!(
            "cd '{repo}' && env WRIGHT_HOME='{home}' HOME='{home}' SHELL=/bin/bash TERM=xterm-256color {vars} \
             '{bin}' {args}; echo EXIT=$?; stty -a; sleep 120",
            repo = env.repo().display(),
            home = env.home.path().display(),
            bin = env!("CARGO_BIN_EXE_wright"),
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "30",
            ])
            .args(["sh", "-c", &script])
            .env_remove("TMUX")
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux could not start a session");
        Some(Pane { socket })
    }

    /// Sends `signal` to the wright process in the pane.
    fn signal(&self, signal: &str) {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "list-panes", "-F", "#{pane_pid}"])
            .output()
            .expect("list-panes");
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let status = Command::new("pkill")
            .args([&format!("-{signal}"), "-P", &shell, "-x", "wright"])
            .status()
            .expect("pkill");
        assert!(
            status.success(),
            "no wright process under the pane's shell {shell}"
        );
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-S", "-200"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    /// Types `text` literally, then presses Enter.
    fn type_line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    /// Waits until the screen shows `what`; fails with the screen otherwise.
    async fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(what) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {what:?}:\n{screen}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// After wright exits: it said 0 and left the terminal in its normal (cooked, echoing)
    /// mode.
    async fn assert_clean_exit(&self) {
        self.assert_exit(0).await;
    }

    /// wright exited with `code` and left the terminal in its normal mode.
    async fn assert_exit(&self, code: i32) {
        self.wait_for("EXIT=").await;
        // `stty -a` prints its local modes (the line with echoctl) last.
        let screen = self.wait_for("echoctl").await;
        assert!(screen.contains(&format!("EXIT={code}")), "{screen}");
        let modes = screen.split("EXIT=").nth(1).unwrap_or_default();
        let words: Vec<&str> = modes.split_whitespace().collect();
        for mode in ["icanon", "echo", "isig"] {
            assert!(
                words.contains(&mode),
                "the terminal was left without {mode}:\n{modes}"
            );
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn shell(command: &str) -> Step {
    Step::calls(vec![OutputItem::function(
        "shell",
        json!({"command": ["bash", "-lc", command], "justification": "to see what it prints"}),
    )])
}

#[tokio::test]
async fn a_prompt_an_approved_command_its_output_and_the_answer() {
    let env = Env::new(vec![
        // Not a known-safe command, so `untrusted` asks.
        shell("python3 -c 'print(\"from-the-\" + \"command\")'"),
        Step::message("All done: the command printed **from-the-command**."),
    ])
    .await;
    let Some(pane) = Pane::start(&env, "approve", "-a untrusted") else {
        return;
    };
    pane.wait_for("Ask wright to do something").await;
    pane.type_line("run the command");
    let screen = pane.wait_for("Run this command?").await;
    assert!(screen.contains("$ python3 -c"), "{screen}");
    assert!(screen.contains("why to see what it prints"), "{screen}");
    // Before the answer, nothing ran.
    assert!(!screen.contains("Ran python3"), "{screen}");
    pane.keys(&["y"]);
    let screen = pane
        .wait_for("All done: the command printed from-the-command.")
        .await;
    assert!(screen.contains("Ran python3 -c"), "{screen}");
    assert!(screen.contains("└ from-the-command"), "{screen}");
    assert!(screen.contains("› run the command"), "{screen}");
    // The model saw the command's output.
    let bodies = env.bodies();
    assert!(
        bodies
            .last()
            .is_some_and(|b| b.to_string().contains("from-the-command")),
        "the second request lacks the output"
    );
    pane.type_line("/quit");
    pane.assert_clean_exit().await;
}

#[tokio::test]
async fn esc_interrupts_a_long_command() {
    let env = Env::new(vec![shell("sleep 30"), Step::message("not reached")]).await;
    let Some(pane) = Pane::start(&env, "interrupt", "-a never --full-auto") else {
        return;
    };
    pane.wait_for("Ask wright to do something").await;
    pane.type_line("wait a while");
    pane.wait_for("Running sleep 30").await;
    let started = Instant::now();
    pane.keys(&["Escape"]);
    let screen = pane.wait_for("Interrupted").await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the interrupt waited for the command"
    );
    assert!(!screen.contains("not reached"), "{screen}");
    pane.type_line("/quit");
    pane.assert_clean_exit().await;
}

#[tokio::test]
async fn resume_picks_a_thread_and_shows_its_transcript() {
    let env = Env::new(vec![Step::message("Noted: banana.")]).await;
    env.exec(&["remember the word banana"]).await.assert_ok();
    let Some(pane) = Pane::start(&env, "resume", "resume") else {
        return;
    };
    let screen = pane.wait_for("Resume a thread").await;
    assert!(screen.contains("remember the word banana"), "{screen}");
    pane.keys(&["Enter"]);
    let screen = pane.wait_for("Resumed thread").await;
    assert!(screen.contains("› remember the word banana"), "{screen}");
    assert!(screen.contains("Noted: banana."), "{screen}");
    pane.type_line("/quit");
    pane.assert_clean_exit().await;
}

#[tokio::test]
async fn without_a_terminal_a_prompt_runs_as_exec() {
    let env = Env::new(vec![Step::message("plain answer")]).await;
    // Plain `wright PROMPT` (`env.command` would start `wright exec`); async, because the mock
    // model answers on this test's runtime.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"))
        .arg("say something")
        .current_dir(env.repo())
        .env("WRIGHT_HOME", env.home.path())
        .env("HOME", env.home.path())
        .env_remove("OPENAI_API_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("wright runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("plain answer"), "{stdout}");
    assert!(
        stderr.contains("not a terminal, so running as `wright exec`"),
        "{stderr}"
    );
}

/// `wright app-server --listen URL` in the test's home, and the address it listens on.
async fn app_server(env: &Env, listen: &str, extra: &[&str]) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"))
        .args(["app-server", "--listen", listen])
        .args(extra)
        .current_dir(env.repo())
        .env("WRIGHT_HOME", env.home.path())
        .env("HOME", env.home.path())
        .env("SHELL", "/bin/bash")
        .env_remove("OPENAI_API_KEY")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("app-server starts");
    let stderr = server.stderr.take().expect("stderr");
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("wright app-server listening on ") {
                return url.to_string();
            }
        }
        String::new()
    })
    .await
    .expect("the app-server said where it listens");
    // Keep reading, so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (server, url)
}

#[tokio::test]
async fn two_terminals_attached_to_one_server_see_each_others_turns() {
    let env = Env::new(vec![
        Step::message("answer one"),
        Step::message("answer two"),
    ])
    .await;
    let sock = env.home.path().join("ctl").join("app.sock");
    let (_server, url) = app_server(&env, &format!("unix://{}", sock.display()), &[]).await;
    let Some(first) = Pane::start(&env, "connect-a", &format!("--connect {url}")) else {
        return;
    };
    first.wait_for("Ask wright to do something").await;
    first.type_line("first question");
    first.wait_for("answer one").await;

    // A second terminal picks the same thread on the same server.
    let Some(second) = Pane::start(&env, "connect-b", &format!("resume --connect {url}")) else {
        return;
    };
    let screen = second.wait_for("Resume a thread").await;
    assert!(screen.contains("first question"), "{screen}");
    second.keys(&["Enter"]);
    let screen = second.wait_for("Resumed thread").await;
    assert!(screen.contains("answer one"), "{screen}");
    second.type_line("second question");
    second.wait_for("answer two").await;
    // The first terminal saw the second one's turn as it happened.
    let screen = first.wait_for("answer two").await;
    assert!(screen.contains("› second question"), "{screen}");
    first.type_line("/quit");
    first.assert_clean_exit().await;
    second.type_line("/quit");
    second.assert_clean_exit().await;
}

#[tokio::test]
async fn a_websocket_server_needs_its_token() {
    let env = Env::new(vec![Step::message("hello over ws")]).await;
    let token_file = env.home.path().join("token");
    let token_arg = token_file.display().to_string();
    let (mut server, url) =
        app_server(&env, "ws://127.0.0.1:0", &["--ws-token-file", &token_arg]).await;
    // Without the token the server refuses, and wright says what is missing.
    let Some(refused) = Pane::start(&env, "ws-refused", &format!("--connect {url}")) else {
        return;
    };
    let screen = refused.wait_for("EXIT=").await;
    assert!(screen.contains("needs its token"), "{screen}");
    assert!(screen.contains("EXIT=1"), "{screen}");
    // With it (from the file, or the environment), the session works.
    let token = std::fs::read_to_string(&token_file).expect("token file");
    let Some(pane) = Pane::start_with(
        &env,
        "ws-token",
        &format!("WRIGHT_APP_SERVER_TOKEN={}", token.trim()),
        &format!("--connect {url}"),
    ) else {
        return;
    };
    pane.wait_for("Ask wright to do something").await;
    pane.type_line("say hello");
    pane.wait_for("hello over ws").await;
    // The server going away ends the session with a message and status 1, terminal intact.
    server.kill().await.expect("kill the app-server");
    pane.wait_for("the App Server closed the connection").await;
    pane.assert_exit(1).await;
}

#[tokio::test]
async fn at_a_terminal_the_model_may_ask_unless_the_config_says_otherwise() {
    let env = Env::new(vec![]).await;
    let Some(pane) = Pane::start(&env, "default-approvals", "") else {
        return;
    };
    pane.wait_for("Ask wright to do something").await;
    // The status line fills in once the thread has started, which may come a moment after
    // the composer is drawn.
    pane.wait_for("approvals on-request").await;
    // /status includes what the sandbox on this machine can enforce.
    pane.type_line("/status");
    let screen = pane.wait_for("what this machine can enforce").await;
    assert!(screen.contains("approvals on-request"), "{screen}");
    assert!(screen.contains("read-only: "), "{screen}");
    pane.type_line("/quit");
    pane.assert_clean_exit().await;
    // The config's own choice stands.
    let Some(pane) = Pane::start(&env, "config-approvals", "-c approval_policy=never") else {
        return;
    };
    pane.wait_for("Ask wright to do something").await;
    pane.wait_for("approvals never").await;
    pane.type_line("/quit");
    pane.assert_clean_exit().await;
}

#[tokio::test]
async fn sigterm_and_sighup_put_the_terminal_back() {
    let env = Env::new(vec![]).await;
    for (name, signal, code) in [("term", "TERM", 143), ("hup", "HUP", 129)] {
        let Some(pane) = Pane::start(&env, &format!("signal-{name}"), "") else {
            return;
        };
        pane.wait_for("Ask wright to do something").await;
        pane.signal(signal);
        pane.assert_exit(code).await;
    }
}
