//! Running an event's hooks: [`Hooks`] holds the configured hooks and their trust, and
//! [`Hooks::dispatch`] runs the ones an event selects.
//!
//! As in Codex, every matching hook of the event runs at once, each in its own process, and
//! the event waits for all of them; results are then read in configured order (user hooks
//! before project hooks, file order within), which decides ties such as whose block reason
//! the model sees. Each run is announced to the observer when it starts and when it ends, in
//! the App Server's `HookRunSummary` shape, so a server can forward them as `hook/started`
//! and `hook/completed`.

use std::path::{Path, PathBuf};

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;

use crate::config::{discover, ConfiguredHook, Discovered, HookId};
use crate::event::HookEvent;
use crate::outcome::{aggregate, interpret, Decision};
use crate::runner::{self, HookShell, RunContext, DEFAULT_OUTPUT_CAP};
use crate::trust::{TrustError, TrustPolicy, TrustStore};
use crate::wire::{
    HookErrorInfo, HookExecutionMode, HookHandlerType, HookMetadata, HookRunStatus, HookRunSummary,
    HookTrustStatus, HooksListEntry,
};

/// How hooks are run.
#[derive(Debug, Clone)]
pub struct HooksOptions {
    pub shell: HookShell,
    /// Bytes kept of each of a hook's stdout and stderr.
    pub output_cap: usize,
}

impl Default for HooksOptions {
    fn default() -> Self {
        HooksOptions {
            shell: HookShell::user_default(),
            output_cap: DEFAULT_OUTPUT_CAP,
        }
    }
}

/// A step of a dispatch, for the UI or the App Server.
#[derive(Debug, Clone, PartialEq)]
pub enum HookProgress {
    /// A hook started (`hook/started`; status `running`).
    Started(HookRunSummary),
    /// A hook finished (`hook/completed`).
    Completed(HookRunSummary),
    /// A matching hook did not run because it is not trusted as it is now. Codex's wire has
    /// no run status for this (it sends nothing), so it is reported apart, with the warning
    /// to show the user.
    Skipped {
        hook: HookId,
        trust_status: HookTrustStatus,
        warning: String,
    },
}

/// Everything one dispatch produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventOutcome {
    /// What the hooks decided together.
    pub decision: Decision,
    /// The completed runs, in configured order.
    pub runs: Vec<HookRunSummary>,
    /// Matching hooks that did not run for lack of trust.
    pub skipped: Vec<HookId>,
    /// One line per skipped hook, for the user.
    pub warnings: Vec<String>,
}

/// The configured hooks of a session, with their trust.
#[derive(Debug, Clone)]
pub struct Hooks {
    hooks: Vec<ConfiguredHook>,
    warnings: Vec<String>,
    errors: Vec<HookErrorInfo>,
    trust: TrustStore,
    options: HooksOptions,
}

impl Hooks {
    /// Builds from discovered hooks and recorded trust.
    pub fn new(discovered: Discovered, trust: TrustStore, options: HooksOptions) -> Hooks {
        Hooks {
            hooks: discovered.hooks,
            warnings: discovered.warnings,
            errors: discovered.errors,
            trust,
            options,
        }
    }

    /// Discovers the user's and the repository's hooks ([`discover`]) and loads the trust
    /// file, both under `wright_home`.
    pub async fn load(
        wright_home: &Path,
        user_config: Option<&toml::Value>,
        repo_root: Option<&Path>,
        policy: TrustPolicy,
        options: HooksOptions,
    ) -> Result<Hooks, TrustError> {
        let discovered = discover(wright_home, user_config, repo_root).await;
        let trust = TrustStore::load(wright_home, policy).await?;
        Ok(Hooks::new(discovered, trust, options))
    }

    /// Every configured hook, in display order, trusted or not.
    pub fn hooks(&self) -> &[ConfiguredHook] {
        &self.hooks
    }

    /// Problems found in the config (each entry concerned was skipped).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether `hook` may run now.
    pub fn trust_status(&self, hook: &ConfiguredHook) -> HookTrustStatus {
        self.trust.status(hook)
    }

    /// Hooks that will not run until trusted: new ones and changed ones.
    pub fn untrusted(&self) -> Vec<&ConfiguredHook> {
        self.hooks
            .iter()
            .filter(|hook| self.trust.status(hook) != HookTrustStatus::Trusted)
            .collect()
    }

    /// Trusts the hooks `ids` as they are now, and records it in the trust file.
    pub async fn trust(&mut self, ids: &[HookId]) -> Result<(), TrustError> {
        let mut chosen = Vec::with_capacity(ids.len());
        for id in ids {
            let hook = self
                .hooks
                .iter()
                .find(|hook| &hook.id == id)
                .ok_or_else(|| TrustError::UnknownHook(id.clone()))?;
            chosen.push(hook);
        }
        self.trust.trust(&chosen).await
    }

    /// `hooks/list`'s description of `hook`.
    pub fn metadata(&self, hook: &ConfiguredHook) -> HookMetadata {
        HookMetadata {
            key: hook.id.0.clone(),
            event_name: hook.event.wire(),
            handler_type: HookHandlerType::Command,
            command: hook.handler.command.clone(),
            is_async: false,
            matcher: hook.matcher.clone(),
            timeout_sec: hook.handler.timeout_sec,
            status_message: hook.status_message.clone(),
            source_path: hook.source_path.display().to_string(),
            source: hook.source,
            plugin_id: None,
            environment_id: None,
            additional_context_limit: None,
            display_order: hook.display_order,
            enabled: true,
            is_managed: false,
            current_hash: hook.hash.clone(),
            trust_status: self.trust.status(hook),
        }
    }

    /// `hooks/list`'s entry for `cwd`.
    pub fn list_entry(&self, cwd: &Path) -> HooksListEntry {
        HooksListEntry {
            cwd: cwd.display().to_string(),
            hooks: self.hooks.iter().map(|hook| self.metadata(hook)).collect(),
            warnings: self.warnings.clone(),
            errors: self.errors.clone(),
        }
    }

    /// Runs the hooks of `event` that `matcher_input` selects, all at once, and returns
    /// what they decide.
    ///
    /// `matcher_input` is the tool name for the tool events, the session `source` for
    /// `SessionStart` and the `trigger` for the compact events (others ignore it). `input`
    /// is the event's payload ([`crate::payload`]): every hook gets it on stdin and runs in
    /// its `cwd`. Untrusted matching hooks are skipped and reported.
    pub async fn dispatch(
        &self,
        event: HookEvent,
        matcher_input: Option<&str>,
        input: Value,
        observer: &(dyn Fn(HookProgress) + Send + Sync),
    ) -> EventOutcome {
        let mut result = EventOutcome::default();
        let mut runnable = Vec::new();
        for hook in self
            .hooks
            .iter()
            .filter(|hook| hook.event == event && hook.matches(matcher_input))
        {
            let status = self.trust.status(hook);
            if status == HookTrustStatus::Trusted {
                runnable.push(hook);
                continue;
            }
            let why = if status == HookTrustStatus::Modified {
                "changed since it was trusted"
            } else {
                "not trusted yet"
            };
            let warning = format!(
                "skipped {event} hook `{}` from {}: {why}",
                hook.handler.command,
                hook.source_path.display()
            );
            tracing::warn!(hook = %hook.id, "{warning}");
            observer(HookProgress::Skipped {
                hook: hook.id.clone(),
                trust_status: status,
                warning: warning.clone(),
            });
            result.skipped.push(hook.id.clone());
            result.warnings.push(warning);
        }
        if runnable.is_empty() {
            return result;
        }

        let ctx = RunContext {
            cwd: input
                .get("cwd")
                .and_then(Value::as_str)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".")),
            shell: self.options.shell.clone(),
            output_cap: self.options.output_cap,
        };
        // Tool events run once per call: the call id keeps the run ids of two calls apart.
        let suffix = input
            .get("tool_use_id")
            .and_then(Value::as_str)
            .map(|id| format!(":{id}"))
            .unwrap_or_default();
        let mut pending = FuturesUnordered::new();
        for (position, hook) in runnable.into_iter().enumerate() {
            let summary = running_summary(hook, &suffix);
            observer(HookProgress::Started(summary.clone()));
            let (ctx, input) = (&ctx, &input);
            pending.push(async move {
                let run = runner::run(&hook.handler, input, ctx).await;
                (position, summary, run)
            });
        }

        let mut finished = Vec::new();
        while let Some((position, mut summary, run)) = pending.next().await {
            let outcome = interpret(event, &run);
            summary.status = outcome.status;
            summary.started_at = run.started_at;
            summary.completed_at = Some(run.completed_at);
            summary.duration_ms = Some(run.duration_ms);
            summary.entries = outcome.entries.clone();
            tracing::debug!(id = %summary.id, status = ?summary.status, exit = ?run.exit_code, "hook finished");
            observer(HookProgress::Completed(summary.clone()));
            let done = finished.len();
            finished.push((position, summary, outcome, done));
        }
        finished.sort_by_key(|(position, ..)| *position);
        let mut outcomes = Vec::with_capacity(finished.len());
        for (_, summary, outcome, done) in finished {
            result.runs.push(summary);
            outcomes.push((outcome, done));
        }
        result.decision = aggregate(event, &outcomes);
        result
    }
}

fn running_summary(hook: &ConfiguredHook, suffix: &str) -> HookRunSummary {
    HookRunSummary {
        id: format!(
            "{}:{}:{}{suffix}",
            hook.event.run_label(),
            hook.display_order,
            hook.source_path.display()
        ),
        event_name: hook.event.wire(),
        handler_type: HookHandlerType::Command,
        execution_mode: HookExecutionMode::Sync,
        scope: hook.event.scope(),
        source_path: hook.source_path.display().to_string(),
        source: hook.source,
        display_order: hook.display_order,
        status: HookRunStatus::Running,
        status_message: hook.status_message.clone(),
        started_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0),
        completed_at: None,
        duration_ms: None,
        entries: Vec::new(),
    }
}
