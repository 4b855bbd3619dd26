//! Running the multi-agent tool calls: arguments read defensively, the host asked to act,
//! the `collab_tool_call` items reported, and Codex's JSON answers returned.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use wright_protocol::{
    CollabAgentState, CollabTool, CollabToolCallStatus, Event, ItemDetails, ThreadItem,
};

use super::control::{Entry, Workspace};
use super::worktree::{self, Worktree};
use super::{AgentError, AgentHandle, AgentStatus, ChildThread};
use crate::config::{Config, SandboxMode};
use crate::tools::ToolContext;

/// Codex's `wait_agent` timeouts: the default, and the bounds a model's value is clamped to
/// (the floor keeps a model from busy-polling).
pub(crate) const DEFAULT_WAIT_TIMEOUT_MS: i64 = 30_000;
pub(crate) const MIN_WAIT_TIMEOUT_MS: i64 = 10_000;
pub(crate) const MAX_WAIT_TIMEOUT_MS: i64 = 3_600_000;
/// How long `send_input` with `interrupt` waits for the agent's turn to stop.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// What a turn's multi-agent calls need: the thread's handle, its id and its settings (a
/// child starts from them).
pub(crate) struct AgentTurn {
    pub handle: AgentHandle,
    pub thread_id: String,
    pub config: Config,
}

/// Runs one call and returns the text for the model (errors included: the turn goes on).
pub(crate) async fn run(
    ctx: &Arc<ToolContext>,
    name: &str,
    call_id: &str,
    arguments: &str,
    cancel: &CancellationToken,
) -> String {
    let Some(turn) = ctx
        .settings()
        .agents
        .as_ref()
        .filter(|t| t.handle.limits().enabled)
    else {
        return AgentError::Unavailable.to_string();
    };
    let report = Report {
        ctx,
        call_id,
        sender: &turn.thread_id,
    };
    let result = match name {
        "spawn_agent" => spawn(turn, &report, arguments).await,
        "send_input" => send_input(turn, &report, arguments).await,
        "wait_agent" => wait(turn, &report, arguments, cancel).await,
        "close_agent" => close(turn, &report, arguments).await,
        "list_agents" => list(turn, &report, arguments),
        other => Err(AgentError::Invalid(format!(
            "unknown multi-agent tool `{other}`"
        ))),
    };
    match result {
        Ok(value) => value.to_string(),
        Err(err) => err.to_string(),
    }
}

/// Reports a call as a `collab_tool_call` item (started, then completed or failed).
struct Report<'a> {
    ctx: &'a Arc<ToolContext>,
    call_id: &'a str,
    sender: &'a str,
}

impl Report<'_> {
    fn item(
        &self,
        tool: CollabTool,
        receivers: &[Arc<Entry>],
        prompt: Option<&str>,
        status: CollabToolCallStatus,
    ) -> ThreadItem {
        let agents_states: BTreeMap<String, CollabAgentState> = receivers
            .iter()
            .map(|e| (e.id.clone(), e.status().state()))
            .collect();
        ThreadItem {
            id: self.call_id.to_string(),
            details: ItemDetails::CollabToolCall {
                tool,
                sender_thread_id: self.sender.to_string(),
                receiver_thread_ids: receivers.iter().map(|e| e.id.clone()).collect(),
                prompt: prompt.map(str::to_string),
                agents_states,
                status,
            },
        }
    }

    fn started(&self, tool: CollabTool, receivers: &[Arc<Entry>], prompt: Option<&str>) {
        let item = self.item(tool, receivers, prompt, CollabToolCallStatus::InProgress);
        self.ctx.emit(Event::ItemStarted(item));
    }

    fn finished<T>(
        &self,
        tool: CollabTool,
        receivers: &[Arc<Entry>],
        prompt: Option<&str>,
        result: &Result<T, AgentError>,
    ) {
        let status = match result {
            Ok(_) => CollabToolCallStatus::Completed,
            Err(_) => CollabToolCallStatus::Failed,
        };
        let item = self.item(tool, receivers, prompt, status);
        self.ctx.emit(Event::ItemCompleted(item));
    }
}

fn parse<T: for<'de> Deserialize<'de>>(arguments: &str) -> Result<T, AgentError> {
    serde_json::from_str(arguments).map_err(|e| AgentError::Arguments(e.to_string()))
}

/// One structured input item (Codex's collab `items`); wright's agents take text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputItem {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    #[allow(dead_code)]
    image_url: Option<String>,
    #[allow(dead_code)]
    path: Option<String>,
    #[allow(dead_code)]
    name: Option<String>,
}

/// The task text of `message` or `items` (Codex's rules: exactly one, not empty).
fn input_text(
    message: Option<String>,
    items: Option<Vec<InputItem>>,
) -> Result<String, AgentError> {
    match (message, items) {
        (Some(_), Some(_)) => Err(AgentError::Invalid(
            "Provide either message or items, but not both".into(),
        )),
        (None, None) => Err(AgentError::Invalid(
            "Provide one of: message or items".into(),
        )),
        (Some(message), None) if message.trim().is_empty() => Err(AgentError::Invalid(
            "Empty message can't be sent to an agent".into(),
        )),
        (Some(message), None) => Ok(message),
        (None, Some(items)) if items.is_empty() => {
            Err(AgentError::Invalid("Items can't be empty".into()))
        }
        (None, Some(items)) => {
            let mut texts = Vec::new();
            for item in items {
                match (item.kind.as_str(), item.text) {
                    ("text", Some(text)) => texts.push(text),
                    ("text", None) => {
                        return Err(AgentError::Invalid("a text item needs `text`".into()))
                    }
                    (other, _) => {
                        return Err(AgentError::Invalid(format!(
                            "items of type `{other}` are not supported here; send text"
                        )))
                    }
                }
            }
            let text = texts.join("\n");
            if text.trim().is_empty() {
                return Err(AgentError::Invalid(
                    "Empty message can't be sent to an agent".into(),
                ));
            }
            Ok(text)
        }
    }
}

/// An agent of the caller's tree, by the id the model gave.
fn resolve(turn: &AgentTurn, target: &str) -> Result<Arc<Entry>, AgentError> {
    let control = &turn.handle.control;
    let root = control.root_of(&turn.thread_id);
    control
        .get(target.trim())
        .filter(|e| e.root == root && e.id != turn.thread_id)
        .ok_or_else(|| AgentError::NotFound(target.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpawnArgs {
    message: Option<String>,
    items: Option<Vec<InputItem>>,
    agent_type: Option<String>,
    #[serde(default)]
    fork_context: bool,
    model: Option<String>,
    reasoning_effort: Option<String>,
}

async fn spawn(
    turn: &AgentTurn,
    report: &Report<'_>,
    arguments: &str,
) -> Result<Value, AgentError> {
    let args: SpawnArgs = parse(arguments)?;
    let prompt = input_text(args.message, args.items)?;
    if args.fork_context {
        return Err(AgentError::Invalid(
            "fork_context is not supported: give the agent the context it needs in `message`"
                .into(),
        ));
    }
    let role = args
        .agent_type
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let control = Arc::clone(&turn.handle.control);
    let depth = turn.handle.depth + 1;
    let id = uuid::Uuid::now_v7().to_string();
    report.started(CollabTool::SpawnAgent, &[], Some(&prompt));
    let entry = match control.reserve(&id, &turn.thread_id, depth) {
        Ok(entry) => entry,
        Err(err) => {
            let failed = Err::<(), _>(err);
            report.finished(CollabTool::SpawnAgent, &[], Some(&prompt), &failed);
            return failed.map(|_| Value::Null);
        }
    };
    entry.set_last_task(&prompt);
    let started = start_child(
        turn,
        &entry,
        &prompt,
        role,
        args.model,
        args.reasoning_effort,
    )
    .await;
    if started.is_err() {
        control.forget(&id);
        if let Some(Workspace::Worktree(wt)) = entry.workspace.get() {
            wt.discard().await;
        }
    }
    let receivers = if started.is_ok() {
        vec![Arc::clone(&entry)]
    } else {
        Vec::new()
    };
    report.finished(CollabTool::SpawnAgent, &receivers, Some(&prompt), &started);
    started?;
    let mut out = json!({"agent_id": id, "nickname": null});
    match entry.workspace.get() {
        Some(Workspace::Worktree(wt)) => {
            out["worktree"] = json!(wt.path.display().to_string());
            out["branch"] = json!(wt.branch);
        }
        Some(Workspace::Shared { why, .. }) => out["note"] = json!(why),
        None => {}
    }
    Ok(out)
}

/// Builds the child's thread (its workspace, its settings) and hands it to the host.
async fn start_child(
    turn: &AgentTurn,
    entry: &Arc<Entry>,
    prompt: &str,
    role: Option<String>,
    model: Option<String>,
    effort: Option<String>,
) -> Result<(), AgentError> {
    let control = &turn.handle.control;
    let mut config = turn.config.clone();
    let workspace = workspace_for(&mut config, &control.worktree_dir(&entry.id), &entry.id).await?;
    let _ = entry.workspace.set(workspace);
    if let Some(model) = model
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
    {
        config.model = model;
    }
    if let Some(effort) = effort
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
    {
        config.model_reasoning_effort = Some(effort);
    }
    let mut thread = crate::Thread::with_id(config, entry.id.clone())
        .map_err(|e| AgentError::Host(e.to_string()))?;
    thread.set_agents(Some(control.handle(entry.depth)));
    let child = ChildThread {
        parent_thread_id: turn.thread_id.clone(),
        source: wright_protocol::v2::SubAgentSource::ThreadSpawn {
            parent_thread_id: turn.thread_id.clone(),
            depth: entry.depth,
            agent_path: None,
            agent_nickname: None,
            agent_role: role,
        },
        prompt: prompt.to_string(),
    };
    control
        .host
        .start(thread, child)
        .await
        .map_err(AgentError::Host)
}

/// Decides where the child works and confines its settings to it: a worktree of its own when
/// the parent may write inside a git repository; the parent's folder, read-only, otherwise.
async fn workspace_for(config: &mut Config, dir: &Path, id: &str) -> Result<Workspace, AgentError> {
    let parent_cwd = config.cwd.clone();
    let shared = |config: &mut Config, why: &str| {
        config.sandbox_mode = SandboxMode::ReadOnly;
        Workspace::Shared {
            why: why.to_string(),
        }
    };
    if config.sandbox_mode == SandboxMode::ReadOnly {
        return Ok(shared(
            config,
            "your sandbox is read-only, so the agent shares your working directory read-only",
        ));
    }
    let Some(repo) = worktree::repo_root(&parent_cwd).await else {
        return Ok(shared(
            config,
            "your working directory is not inside a git repository, so the agent cannot get a worktree of its own: it shares your working directory read-only and cannot write files",
        ));
    };
    let wt: Worktree = worktree::add(&repo, dir, id).await?;
    let top = tokio::fs::canonicalize(&wt.path)
        .await
        .unwrap_or_else(|_| wt.path.clone());
    let inside = parent_cwd.strip_prefix(&repo).unwrap_or(Path::new(""));
    let cwd = top.join(inside);
    confine(config, &repo, &top, &cwd);
    Ok(Workspace::Worktree(Worktree { path: top, ..wt }))
}

/// The child writes only its worktree: the parent's writable roots that hold the parent's
/// checkout (like `/tmp` around a checkout in it) or lie inside it are dropped, so the kernel
/// sandbox, not a check of ours, keeps the child out.
fn confine(config: &mut Config, repo: &Path, worktree: &Path, cwd: &Path) {
    let overlaps = |root: &Path| repo.starts_with(root) || root.starts_with(repo);
    config.extra_writable_roots.retain(|r| !overlaps(r));
    config.writable_roots = config.extra_writable_roots.clone();
    config.writable_roots.push(worktree.to_path_buf());
    config.writable_roots.sort();
    config.writable_roots.dedup();
    // Set directly: `Config::set_cwd` would also make `cwd` a root of its own.
    config.cwd = cwd.to_path_buf();
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendArgs {
    #[serde(alias = "id")]
    target: String,
    message: Option<String>,
    items: Option<Vec<InputItem>>,
    #[serde(default)]
    interrupt: bool,
}

async fn send_input(
    turn: &AgentTurn,
    report: &Report<'_>,
    arguments: &str,
) -> Result<Value, AgentError> {
    let args: SendArgs = parse(arguments)?;
    let entry = resolve(turn, &args.target)?;
    let text = input_text(args.message, args.items)?;
    let receivers = [Arc::clone(&entry)];
    report.started(CollabTool::SendInput, &receivers, Some(&text));
    let result = deliver(turn, &entry, &text, args.interrupt).await;
    report.finished(CollabTool::SendInput, &receivers, Some(&text), &result);
    result?;
    Ok(json!({"submission_id": uuid::Uuid::now_v7().to_string()}))
}

async fn deliver(
    turn: &AgentTurn,
    entry: &Arc<Entry>,
    text: &str,
    interrupt: bool,
) -> Result<(), AgentError> {
    if !entry.is_open() {
        return Err(AgentError::Closed(entry.id.clone()));
    }
    let host = &turn.handle.control.host;
    if interrupt && !entry.status().is_final() {
        host.interrupt(&entry.id);
        let mut status = entry.status.subscribe();
        let _ = tokio::time::timeout(INTERRUPT_GRACE, status.wait_for(AgentStatus::is_final)).await;
    }
    entry.set_last_task(text);
    host.send_input(entry.id.clone(), text.to_string())
        .await
        .map_err(AgentError::Host)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitArgs {
    targets: Vec<String>,
    timeout_ms: Option<i64>,
}

async fn wait(
    turn: &AgentTurn,
    report: &Report<'_>,
    arguments: &str,
    cancel: &CancellationToken,
) -> Result<Value, AgentError> {
    let args: WaitArgs = parse(arguments)?;
    if args.targets.is_empty() {
        return Err(AgentError::Invalid(
            "targets is empty: give the ids of the agents to wait for (from spawn_agent)".into(),
        ));
    }
    let timeout_ms = match args.timeout_ms.unwrap_or(DEFAULT_WAIT_TIMEOUT_MS) {
        ms if ms <= 0 => {
            return Err(AgentError::Invalid(
                "timeout_ms must be greater than zero".into(),
            ))
        }
        ms => ms.clamp(MIN_WAIT_TIMEOUT_MS, MAX_WAIT_TIMEOUT_MS),
    };
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for target in &args.targets {
        let entry = resolve(turn, target)?;
        if seen.insert(entry.id.clone()) {
            targets.push(entry);
        }
    }
    report.started(CollabTool::Wait, &targets, None);
    let finished = first_final(&targets, Duration::from_millis(timeout_ms as u64), cancel).await;
    let mut status = serde_json::Map::new();
    let mut worktrees = serde_json::Map::new();
    for entry in targets.iter().filter(|e| finished.contains(&e.id)) {
        status.insert(entry.id.clone(), json!(entry.status()));
        if let Some(Workspace::Worktree(wt)) = entry.workspace.get() {
            worktrees.insert(entry.id.clone(), worktree_summary(wt).await);
        }
    }
    let result: Result<(), AgentError> = Ok(());
    report.finished(CollabTool::Wait, &targets, None, &result);
    if cancel.is_cancelled() {
        return Err(AgentError::Invalid("wait_agent interrupted".into()));
    }
    let mut out = json!({"status": status, "timed_out": finished.is_empty()});
    if !worktrees.is_empty() {
        out["worktrees"] = Value::Object(worktrees);
    }
    Ok(out)
}

/// The ids of the targets that are final once the first of them is (all that already are,
/// when some are); none after the timeout or a cancel.
async fn first_final(
    targets: &[Arc<Entry>],
    timeout: Duration,
    cancel: &CancellationToken,
) -> HashSet<String> {
    let done = |targets: &[Arc<Entry>]| -> HashSet<String> {
        targets
            .iter()
            .filter(|e| e.status().is_final())
            .map(|e| e.id.clone())
            .collect()
    };
    let now = done(targets);
    if !now.is_empty() {
        return now;
    }
    let mut waits = tokio::task::JoinSet::new();
    for entry in targets {
        let mut status = entry.status.subscribe();
        waits.spawn(async move {
            let _ = status.wait_for(AgentStatus::is_final).await;
        });
    }
    tokio::select! {
        _ = waits.join_next() => done(targets),
        _ = tokio::time::sleep(timeout) => HashSet::new(),
        _ = cancel.cancelled() => HashSet::new(),
    }
}

/// Where a finished agent's work is, for the parent to merge.
async fn worktree_summary(wt: &Worktree) -> Value {
    let diff = match wt.changes().await {
        Ok(changes) if changes.stat.is_empty() => "no changes".to_string(),
        Ok(changes) => changes.stat,
        Err(err) => format!("could not read the changes: {err}"),
    };
    json!({"path": wt.path.display().to_string(), "branch": wt.branch, "diff_stat": diff})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseArgs {
    #[serde(alias = "id")]
    target: String,
}

async fn close(
    turn: &AgentTurn,
    report: &Report<'_>,
    arguments: &str,
) -> Result<Value, AgentError> {
    let args: CloseArgs = parse(arguments)?;
    let entry = resolve(turn, &args.target)?;
    let previous = entry.status();
    let receivers = [Arc::clone(&entry)];
    report.started(CollabTool::CloseAgent, &receivers, None);
    let closed = turn.handle.control.close_tree(&entry.id);
    let mut out = json!({"previous_status": previous});
    for agent in &closed {
        let Some(Workspace::Worktree(wt)) = agent.workspace.get() else {
            continue;
        };
        let note = match wt.remove_if_unchanged().await {
            Ok(true) => "removed (no changes)".to_string(),
            Ok(false) => format!(
                "kept at {} on branch {} (it has changes)",
                wt.path.display(),
                wt.branch
            ),
            Err(err) => format!("kept at {}: {err}", wt.path.display()),
        };
        if agent.id == entry.id {
            out["worktree"] = json!(note);
        }
    }
    report.finished(
        CollabTool::CloseAgent,
        &receivers,
        None,
        &Ok::<(), AgentError>(()),
    );
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    path_prefix: Option<String>,
}

fn list(turn: &AgentTurn, report: &Report<'_>, arguments: &str) -> Result<Value, AgentError> {
    // Models send `{}` or nothing at all for a call without arguments.
    let args: ListArgs = if arguments.trim().is_empty() {
        ListArgs { path_prefix: None }
    } else {
        parse(arguments)?
    };
    let control = &turn.handle.control;
    let root = control.root_of(&turn.thread_id);
    let prefix = args.path_prefix.unwrap_or_default();
    let agents: Vec<Arc<Entry>> = control
        .open_in_tree(&root)
        .into_iter()
        .filter(|e| e.id != turn.thread_id && e.id.starts_with(prefix.trim()))
        .collect();
    report.started(CollabTool::ListAgents, &agents, None);
    let listed: Vec<Value> = agents
        .iter()
        .map(|e| {
            json!({
                "agent_name": e.id,
                "agent_status": e.status(),
                "last_task_message": e.last_task(),
            })
        })
        .collect();
    report.finished(
        CollabTool::ListAgents,
        &agents,
        None,
        &Ok::<(), AgentError>(()),
    );
    Ok(json!({"agents": listed}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: Value) -> Option<Vec<InputItem>> {
        Some(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn task_text_follows_codex_rules() {
        assert_eq!(input_text(Some("go".into()), None).unwrap(), "go");
        for (message, list, why) in [
            (
                Some("a".to_string()),
                items(json!([{"type": "text", "text": "b"}])),
                "not both",
            ),
            (None, None, "one of"),
            (Some("  ".to_string()), None, "Empty message"),
            (None, items(json!([])), "can't be empty"),
            (
                None,
                items(json!([{"type": "image", "image_url": "x"}])),
                "not supported",
            ),
        ] {
            let err = input_text(message, list).unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
        let joined = input_text(
            None,
            items(json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])),
        );
        assert_eq!(joined.unwrap(), "a\nb");
    }

    #[test]
    fn hostile_arguments_get_clear_errors() {
        for bad in [
            "",
            "{",
            "[]",
            "{\"targets\": \"x\"}",
            "{\"targets\": [], \"x\": 1}",
        ] {
            let err = parse::<WaitArgs>(bad).err().unwrap().to_string();
            assert!(
                err.starts_with("failed to parse function arguments"),
                "{bad}: {err}"
            );
        }
        let args: SendArgs = parse(r#"{"id": "a", "message": "m"}"#).unwrap();
        assert_eq!(args.target, "a");
    }

    #[test]
    fn a_confined_child_writes_only_its_worktree() {
        let mut config = Config::from_table(
            toml::Table::new(),
            Path::new("/nonexistent-home"),
            &crate::config::CliOverrides {
                cwd: Some("/tmp/repo/sub".into()),
                sandbox_mode: Some(SandboxMode::WorkspaceWrite),
                add_dirs: vec!["/srv/data".into(), "/tmp/repo/build".into()],
                ..Default::default()
            },
        )
        .unwrap();
        confine(
            &mut config,
            Path::new("/tmp/repo"),
            Path::new("/home/u/.wright/worktrees/x"),
            Path::new("/home/u/.wright/worktrees/x/sub"),
        );
        assert_eq!(config.cwd, Path::new("/home/u/.wright/worktrees/x/sub"));
        let mut roots = config.writable_roots.clone();
        roots.sort();
        assert!(
            roots.contains(&"/home/u/.wright/worktrees/x".into()),
            "{roots:?}"
        );
        assert!(roots.contains(&"/srv/data".into()), "{roots:?}");
        assert!(
            !roots
                .iter()
                .any(|r| Path::new("/tmp/repo").starts_with(r) || r.starts_with("/tmp/repo")),
            "{roots:?}"
        );
    }
}
