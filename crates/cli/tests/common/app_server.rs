//! A client of the real `wright app-server` over stdio, for the integration tests: requests,
//! notifications waited for by shape, and everything else kept for later.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

pub const WAIT: Duration = Duration::from_secs(30);

pub struct AppServer {
    _child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    pub backlog: VecDeque<Value>,
    next_id: i64,
}

impl AppServer {
    pub async fn start(home: &Path, repo: &Path) -> AppServer {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"))
            .arg("app-server")
            .current_dir(repo)
            .env("WRIGHT_HOME", home)
            .env("HOME", home)
            .env_remove("OPENAI_API_KEY")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                let value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("the server wrote a line that is not JSON: {line}: {e}")
                });
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let mut server = AppServer {
            _child: child,
            stdin,
            lines,
            backlog: VecDeque::new(),
            next_id: 1,
        };
        let init = server
            .request(
                "initialize",
                json!({"clientInfo": {"name": "mcp_test", "version": "1"}}),
            )
            .await;
        assert!(init["result"]["userAgent"].is_string(), "{init}");
        server.send(json!({"method": "initialized"})).await;
        server
    }

    /// Drops what was received of `method` so far (so a later wait sees only newer ones).
    pub fn forget(&mut self, method: &str) {
        self.backlog.retain(|m| m["method"] != method);
    }

    pub async fn send(&mut self, message: Value) {
        let line = format!("{message}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next message that `matches`, from what was already received first. Everything else
    /// stays for later.
    pub async fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&matches) {
            return self.backlog.remove(i).unwrap();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.lines.recv()).await {
                Ok(Some(message)) if matches(&message) => return message,
                Ok(Some(message)) => self.backlog.push_back(message),
                Ok(None) => panic!(
                    "the server exited while waiting for {what}; saw {:#?}",
                    self.backlog
                ),
                Err(_) => panic!("no {what} within {WAIT:?}; saw {:#?}", self.backlog),
            }
        }
    }

    /// Sends a request and returns its whole answer (`result` or `error`).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"id": id, "method": method, "params": params}))
            .await;
        self.wait_for(&format!("the answer to {method}"), |m| {
            m["id"] == id && m.get("method").is_none()
        })
        .await
    }

    pub async fn result(&mut self, method: &str, params: Value) -> Value {
        let answer = self.request(method, params).await;
        assert!(answer.get("error").is_none(), "{method} failed: {answer}");
        answer["result"].clone()
    }

    pub async fn notification(&mut self, method: &str, matches: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(method, |m| {
            m["method"] == method && m.get("id").is_none() && matches(&m["params"])
        })
        .await["params"]
            .clone()
    }

    pub async fn start_thread(&mut self, repo: &Path, policy: &str) -> String {
        let started = self
            .result(
                "thread/start",
                json!({"cwd": repo, "approvalPolicy": policy, "ephemeral": true}),
            )
            .await;
        started["thread"]["id"].as_str().unwrap().to_string()
    }
}
