//! Helpers shared by the integration tests: a user home and a repository in tempdirs, hook
//! config writers, and a dispatch that records progress.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};
use tempfile::TempDir;
use wright_hooks::payload::{self, PermissionMode, SessionInfo};
use wright_hooks::{
    EventOutcome, HookEvent, HookProgress, HookShell, Hooks, HooksOptions, TrustPolicy,
};

pub struct Env {
    pub home: TempDir,
    pub repo: TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            home: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
            repo: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.repo.path().join(name)
    }

    pub fn write(&self, path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Writes `$WRIGHT_HOME/hooks.json` (user hooks: trusted by default).
    pub fn user_hooks(&self, hooks: Value) {
        self.write(
            &self.home.path().join("hooks.json"),
            &json!({ "hooks": hooks }).to_string(),
        );
    }

    /// Writes `<repo>/.codex/hooks.json` (project hooks: need trust).
    pub fn project_hooks(&self, hooks: Value) {
        self.write(
            &self.repo.path().join(".codex/hooks.json"),
            &json!({ "hooks": hooks }).to_string(),
        );
    }

    pub async fn load(&self) -> Hooks {
        self.load_with(TrustPolicy::default()).await
    }

    pub async fn load_with(&self, policy: TrustPolicy) -> Hooks {
        let options = HooksOptions {
            shell: HookShell::posix(),
            ..HooksOptions::default()
        };
        Hooks::load(
            self.home.path(),
            None,
            Some(self.repo.path()),
            policy,
            options,
        )
        .await
        .unwrap_or_else(|e| panic!("load hooks: {e}"))
    }

    pub fn session(&self) -> SessionInfo {
        SessionInfo {
            session_id: "thr_123".into(),
            transcript_path: Some(self.home.path().join("sessions/rollout.jsonl")),
            cwd: self.repo.path().to_path_buf(),
            model: "gpt-5-codex".into(),
            permission_mode: PermissionMode::Default,
        }
    }

    pub fn bash_call(&self, command: &str) -> Value {
        payload::pre_tool_use(
            &self.session(),
            "turn-1",
            "Bash",
            &json!({ "command": command }),
            "call-1",
        )
    }
}

pub fn command(command: &str) -> Value {
    json!({ "type": "command", "command": command, "timeout": 30 })
}

pub fn group(matcher: Option<&str>, hooks: Vec<Value>) -> Value {
    match matcher {
        Some(matcher) => json!({ "matcher": matcher, "hooks": hooks }),
        None => json!({ "hooks": hooks }),
    }
}

/// Dispatches and returns the outcome with every progress report.
pub async fn dispatch(
    hooks: &Hooks,
    event: HookEvent,
    matcher_input: Option<&str>,
    input: Value,
) -> (EventOutcome, Vec<HookProgress>) {
    let seen = Mutex::new(Vec::new());
    let observer = |progress: HookProgress| {
        if let Ok(mut seen) = seen.lock() {
            seen.push(progress);
        }
    };
    let outcome = hooks.dispatch(event, matcher_input, input, &observer).await;
    let seen = seen.into_inner().unwrap_or_default();
    (outcome, seen)
}

pub fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}
