//! Shared harness for the integration tests: a temp git repo, a temp WRIGHT_HOME pointing at
//! the mock model, and the real `wright` binary.

#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, ServeOptions, Step};

pub struct Env {
    pub repo: tempfile::TempDir,
    pub home: tempfile::TempDir,
    pub mock: MockModel,
}

impl Env {
    pub async fn new(steps: Vec<Step>) -> Env {
        Self::with_config(Script::Steps(steps), "responses", "").await
    }

    pub async fn with_config(script: Script, wire_api: &str, provider_extra: &str) -> Env {
        Self::with_options(script, wire_api, provider_extra, ServeOptions::default()).await
    }

    /// A mock that checks every scripted call against the tools wright declared.
    pub async fn strict(script: Script) -> Env {
        let options = ServeOptions {
            check_tools: true,
            ..ServeOptions::default()
        };
        Self::with_options(script, "responses", "", options).await
    }

    pub async fn with_options(
        script: Script,
        wire_api: &str,
        provider_extra: &str,
        options: ServeOptions,
    ) -> Env {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir(repo.path().join(".git")).unwrap();
        let home = tempfile::tempdir().unwrap();
        let mock = MockModel::start_with(script, options).await.unwrap();
        let config = format!(
            "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\nwire_api = \"{wire_api}\"\n{provider_extra}\n",
            mock.base_url()
        );
        std::fs::write(home.path().join("config.toml"), config).unwrap();
        Env { repo, home, mock }
    }

    pub fn repo(&self) -> &Path {
        self.repo.path()
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"));
        cmd.arg("exec")
            .args(args)
            .current_dir(self.repo())
            .env("WRIGHT_HOME", self.home.path())
            // A login shell reads the user's profile; keep the machine's own out of the tests.
            .env("HOME", self.home.path())
            .env_remove("OPENAI_API_KEY")
            .env_remove("RUST_LOG")
            // Commands are shown as `<user shell> -lc ...`; pin the shell so the text is known.
            .env("SHELL", "/bin/bash")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    pub async fn exec(&self, args: &[&str]) -> Run {
        let out = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .expect("wright exec timed out")
            .unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn json(&self, prompt: &str) -> Run {
        self.exec(&["--json", prompt]).await
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.mock.requests().iter().map(|r| r.json()).collect()
    }
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }

    pub fn types(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn items(&self, event_type: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["type"] == event_type)
            .map(|e| e["item"].clone())
            .collect()
    }

    pub fn assert_ok(&self) {
        assert_eq!(
            self.code,
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
    }
}

/// The output item sent back for `call_id` in a later request.
pub fn output_for(body: &Value, call_id: &str) -> String {
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["call_id"] == call_id && i["type"].as_str().is_some_and(|t| t.ends_with("_output"))
        })
        .and_then(|i| i["output"].as_str())
        .unwrap_or_else(|| panic!("no output for {call_id} in {body}"))
        .to_string()
}

pub fn exec_call(cmd: &str) -> OutputItem {
    OutputItem::function("exec_command", json!({ "cmd": cmd }))
}

pub fn call_with_id(name: &str, args: Value, id: &str) -> OutputItem {
    OutputItem::FunctionCall {
        name: name.into(),
        arguments: args.to_string(),
        call_id: Some(id.into()),
    }
}

/// A scratch directory outside every writable root of workspace-write (`/tmp`, `$TMPDIR`,
/// the repository): wherever this checkout lives.
pub fn outside_the_roots() -> tempfile::TempDir {
    let tmpdir = std::env::var_os("TMPDIR").map(std::path::PathBuf::from);
    let under_a_root = |p: &Path| {
        let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        p.starts_with("/tmp") || tmpdir.as_ref().is_some_and(|t| p.starts_with(t))
    };
    let candidates = [
        Some(std::path::PathBuf::from("/var/tmp")),
        Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))),
        std::env::var_os("HOME").map(std::path::PathBuf::from),
    ];
    for dir in candidates.into_iter().flatten() {
        if dir.is_dir() && !under_a_root(&dir) {
            if let Ok(t) = tempfile::tempdir_in(&dir) {
                return t;
            }
        }
    }
    panic!("no writable directory outside /tmp and $TMPDIR for the escape test");
}
