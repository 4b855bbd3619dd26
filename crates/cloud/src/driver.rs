//! Runs a task: every attempt in parallel, each in its own container or pod, driven over the
//! App Server protocol. What arrives is written to the local store as it arrives, so an
//! attempt that dies mid-way keeps what it did; one attempt's failure never stops the others.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wright_store::{CloudAttempt, CloudTask, Store, ThreadRecord, TurnRecord};

use crate::config::{Environment, Repository, WrightBinary};
use crate::engine::Engine;
use crate::entrypoint::{self, Entry};
use crate::remote::{ConnectError, Remote};
use crate::spec::{labels, AttemptSpec, Mount, RunState};
use crate::CloudError;

/// The App Server's port inside every task.
pub const TASK_PORT: u16 = 4500;

/// How long an attempt may take to become reachable (clone and setup included).
const READY_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What `wright cloud exec` asks for.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The environment.
    pub env: Environment,
    /// The prompt.
    pub prompt: String,
    /// How many attempts (1–16… the CLI bounds it).
    pub attempts: u32,
    /// The branch asked for.
    pub branch: Option<String>,
    /// The local checkout's top folder.
    pub repo: PathBuf,
    /// Its git directory shared by all worktrees (mounted read-only for `repository = "mount"`).
    pub git_common_dir: PathBuf,
    /// The commit to start from (`mount`); for `clone`, what the branch resolved to locally, if
    /// anything.
    pub base: Option<String>,
    /// The host's `wright`, for `wright = "mount"`.
    pub wright_exe: PathBuf,
    /// The model providers this machine's config defines.
    pub local_providers: Vec<String>,
}

/// A line of progress: which attempt, and what happened.
#[derive(Debug, Clone)]
pub struct Progress {
    /// 1-based.
    pub attempt: u32,
    /// What happened, one line.
    pub line: String,
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `HOST.PID.START`: who drives an attempt (see [`labels::DRIVER`]).
pub fn driver_label() -> String {
    let host = hostname();
    let pid = std::process::id();
    format!("{host}.{pid}.{}", process_start(pid).unwrap_or(0))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The process's start time in clock ticks since boot (field 22 of `/proc/PID/stat`), which
/// tells a live driver from a later process that got the same pid.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the driver named by `label` is a live process of this host.
pub fn driver_alive(label: &str) -> Option<bool> {
    let mut parts = label.rsplitn(3, '.');
    let start: u64 = parts.next()?.parse().ok()?;
    let pid: u32 = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    if host != hostname() {
        return None;
    }
    Some(process_start(pid) == Some(start))
}

/// A new task id: `task_` and 16 hex digits.
pub fn new_task_id() -> String {
    format!("task_{:016x}", rand::random::<u64>())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the store call on the blocking pool (SQLite waits on disk and locks).
async fn db<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> wright_store::Result<T> + Send + 'static,
) -> Result<T, CloudError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| CloudError::Io(format!("a store call panicked: {e}")))?
        .map_err(CloudError::from)
}

/// Records the task, then runs its attempts in parallel until each ends (or `cancel`).
/// Returns the task's id; the attempts' outcomes are in the store.
pub async fn run_task(
    store: Arc<Store>,
    engine: Engine,
    request: TaskRequest,
    progress: mpsc::UnboundedSender<Progress>,
    cancel: CancellationToken,
) -> Result<String, CloudError> {
    let task = CloudTask {
        id: new_task_id(),
        created_at: now(),
        environment: request.env.name.clone(),
        prompt: request.prompt.clone(),
        repo: request.repo.display().to_string(),
        branch: request.branch.clone(),
        base: request.base.clone().unwrap_or_default(),
        attempts: request.attempts,
    };
    let record = task.clone();
    db(&store, move |s| s.insert_cloud_task(&record)).await?;
    let request = Arc::new(request);
    let driver = driver_label();
    let mut runs = tokio::task::JoinSet::new();
    for n in 1..=request.attempts {
        let attempt = AttemptRun {
            store: store.clone(),
            engine: engine.clone(),
            request: request.clone(),
            task_id: task.id.clone(),
            n,
            driver: driver.clone(),
            progress: progress.clone(),
            cancel: cancel.clone(),
        };
        runs.spawn(attempt.run());
    }
    while runs.join_next().await.is_some() {}
    Ok(task.id)
}

struct AttemptRun {
    store: Arc<Store>,
    engine: Engine,
    request: Arc<TaskRequest>,
    task_id: String,
    n: u32,
    driver: String,
    progress: mpsc::UnboundedSender<Progress>,
    cancel: CancellationToken,
}

/// How an attempt ended, before it is written down.
enum Outcome {
    Completed,
    Failed(String),
    Cancelled,
}

impl AttemptRun {
    fn say(&self, line: impl Into<String>) {
        let _ = self.progress.send(Progress {
            attempt: self.n,
            line: line.into(),
        });
    }

    async fn save(&self, row: &CloudAttempt) {
        let row = row.clone();
        if let Err(e) = db(&self.store, move |s| s.put_cloud_attempt(&row)).await {
            self.say(format!("cannot record the attempt: {e}"));
        }
    }

    async fn run(self) {
        let mut row = CloudAttempt {
            task_id: self.task_id.clone(),
            attempt: self.n,
            status: "starting".into(),
            started_at: Some(now()),
            ..Default::default()
        };
        self.save(&row).await;
        let outcome = self.drive(&mut row).await;
        if let Some(id) = row.engine_id.clone() {
            if let Err(e) = self.engine.remove(&id).await {
                self.say(format!("cannot remove its container: {e}"));
            }
        }
        row.finished_at = Some(now());
        match outcome {
            Outcome::Completed => {
                row.status = "completed".into();
                self.say("completed");
            }
            Outcome::Failed(error) => {
                row.status = "failed".into();
                self.say(format!("failed: {error}"));
                row.error = Some(error);
            }
            Outcome::Cancelled => {
                row.status = "cancelled".into();
                row.error = Some("interrupted".into());
                self.say("cancelled");
            }
        }
        self.save(&row).await;
    }

    fn spec(&self, token_sha256: &str) -> Result<AttemptSpec, CloudError> {
        let req = &self.request;
        let env = &req.env;
        let mut mounts = Vec::new();
        let wright = self.wright_path();
        match &env.wright {
            WrightBinary::Mount => {
                mounts.push(Mount {
                    host: req.wright_exe.clone(),
                    target: entrypoint::MOUNTED_WRIGHT.into(),
                });
                let launcher = req.wright_exe.with_file_name("wright-sandbox");
                if launcher.is_file() {
                    mounts.push(Mount {
                        host: launcher,
                        target: "/opt/wright/bin/wright-sandbox".into(),
                    });
                }
            }
            WrightBinary::InImage(_) => {}
        }
        if env.repository == Repository::Mount {
            mounts.push(Mount {
                host: req.git_common_dir.clone(),
                target: entrypoint::SOURCE_GIT_DIR.into(),
            });
        }
        mounts.extend(env.mounts.iter().map(|(host, target)| Mount {
            host: host.clone(),
            target: target.clone(),
        }));
        let mut secrets = Vec::new();
        for name in &env.secrets {
            match std::env::var(name) {
                Ok(value) => secrets.push((name.clone(), value)),
                Err(_) => {
                    return Err(CloudError::Config(format!(
                        "secret {name} of environment {} is not set in this environment",
                        env.name
                    )))
                }
            }
        }
        let entry = Entry {
            repository: &env.repository,
            branch: req.branch.as_deref(),
            base: req.base.as_deref(),
            setup: env.setup.as_deref(),
            secrets_on_stdin: self.engine.secrets_on_stdin(),
        };
        let short = self.task_id.trim_start_matches("task_");
        Ok(AttemptSpec {
            name: format!("wright-{short}-{}", self.n),
            image: env.image.clone(),
            command: entrypoint::app_server_command(
                &wright,
                TASK_PORT,
                token_sha256,
                env.network,
                &env.secrets,
                &env.config,
            ),
            env: entry.env(),
            secrets,
            port: TASK_PORT,
            resources: env.resources.clone(),
            network: env.network,
            labels: BTreeMap::from([
                (labels::MANAGED.to_string(), "true".to_string()),
                (labels::TASK.to_string(), self.task_id.clone()),
                (labels::ATTEMPT.to_string(), self.n.to_string()),
                (labels::DRIVER.to_string(), self.driver.clone()),
            ]),
            mounts,
            seccomp: env.seccomp.clone(),
        })
    }

    async fn drive(&self, row: &mut CloudAttempt) -> Outcome {
        let token = hex(&rand::random::<[u8; 32]>());
        let digest = hex(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
        let spec = match self.spec(&digest) {
            Ok(spec) => spec,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let started = tokio::select! {
            r = self.engine.start(&spec) => r,
            () = self.cancel.cancelled() => return Outcome::Cancelled,
        };
        let id = match started {
            Ok(id) => id,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        row.engine_id = Some(id.clone());
        self.save(row).await;
        self.say(format!("started {}", spec.name));
        let remote = tokio::select! {
            r = self.reach(&id, &token) => r,
            () = self.cancel.cancelled() => return Outcome::Cancelled,
        };
        let remote = match remote {
            Ok(remote) => remote,
            Err(e) => return Outcome::Failed(e),
        };
        row.status = "running".into();
        self.save(row).await;
        self.converse(remote, &id, row).await
    }

    /// Why the attempt's container or pod is gone or going, with its last lines of output.
    async fn death(&self, id: &str) -> Option<String> {
        let why = match self.engine.state(id).await {
            Ok(RunState::Exited(code)) => format!("its container exited with status {code}"),
            Ok(RunState::Failed(reason)) => format!("its container failed: {reason}"),
            Ok(RunState::Missing) => "its container is gone".to_string(),
            Ok(RunState::Pending | RunState::Running) => return None,
            Err(e) => format!("the engine cannot tell its state: {e}"),
        };
        let tail = self.engine.logs(id, 12).await.unwrap_or_default();
        let tail = tail.trim();
        Some(if tail.is_empty() {
            why
        } else {
            format!("{why}; its last output:\n{tail}")
        })
    }

    /// Waits until the attempt's App Server takes the token, watching the engine meanwhile so
    /// an attempt that died says why instead of timing out.
    async fn reach(&self, id: &str, token: &str) -> Result<Remote, String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let endpoint = self
            .engine
            .endpoint(id, TASK_PORT, READY_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        let mut last;
        loop {
            match Remote::connect(&endpoint, token).await {
                Ok(remote) => return Ok(remote),
                Err(ConnectError::Refused(e)) => return Err(e),
                Err(ConnectError::NotYet(e)) => last = e,
            }
            if let Some(death) = self.death(id).await {
                return Err(death);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "its app server was not reachable at {} within {} s ({last})",
                    endpoint.url(),
                    READY_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Starts the thread and the turn, keeps what streams back, then collects the diff.
    async fn converse(&self, mut remote: Remote, id: &str, row: &mut CloudAttempt) -> Outcome {
        const ASK: Duration = Duration::from_secs(60);
        let init = remote
            .request(
                "initialize",
                json!({"clientInfo": {"name": "wright-cloud", "title": "wright cloud", "version": env!("CARGO_PKG_VERSION")}}),
                ASK,
            )
            .await;
        if let Err(e) = init {
            return self.failed_remote(id, e).await;
        }
        remote.notify("initialized", json!({}));
        if let Err(e) = self.check_confinement(&remote).await {
            return Outcome::Failed(e);
        }
        let started = match remote
            .request("thread/start", json!({"cwd": entrypoint::WORKSPACE}), ASK)
            .await
        {
            Ok(v) => v,
            Err(e) => return self.failed_remote(id, e).await,
        };
        let Some(thread_id) = started["thread"]["id"].as_str().map(str::to_string) else {
            return Outcome::Failed("thread/start answered without a thread id".into());
        };
        let thread = ThreadRecord {
            id: thread_id.clone(),
            created_at: now(),
            updated_at: now(),
            name: Some(format!("{} (attempt {})", self.task_id, self.n)),
            preview: self.request.prompt.chars().take(200).collect(),
            cwd: self.request.repo.display().to_string(),
            model: started["model"].as_str().unwrap_or_default().to_string(),
            // Kept only when this machine has it too, so a resume here uses it; otherwise
            // the local default serves the thread.
            model_provider: started["modelProvider"]
                .as_str()
                .filter(|p| self.request.local_providers.iter().any(|l| l == p))
                .unwrap_or_default()
                .to_string(),
            source: "cloud".into(),
            archived: false,
            forked_from: None,
            settings: Value::Null,
            usage: Value::Null,
        };
        if let Err(e) = db(&self.store, move |s| s.insert_thread(&thread)).await {
            return Outcome::Failed(format!("cannot store its thread: {e}"));
        }
        row.thread_id = Some(thread_id.clone());
        self.save(row).await;
        let turn = match remote
            .request(
                "turn/start",
                json!({"threadId": thread_id, "input": [{"type": "text", "text": self.request.prompt, "text_elements": []}]}),
                ASK,
            )
            .await
        {
            Ok(v) => v,
            Err(e) => return self.failed_remote(id, e).await,
        };
        let turn_id = turn["turn"]["id"].as_str().unwrap_or_default().to_string();
        let turn_started = now();
        let turn_clock = Instant::now();
        let mut turn_record = TurnRecord {
            thread_id: thread_id.clone(),
            id: turn_id.clone(),
            status: "inProgress".into(),
            error: None,
            started_at: Some(turn_started),
            completed_at: None,
            duration_ms: None,
        };
        self.put_turn(&turn_record).await;
        let ended = self
            .stream(&mut remote, id, &thread_id, &turn_id, row)
            .await;
        turn_record.completed_at = Some(now());
        turn_record.duration_ms = Some(turn_clock.elapsed().as_millis() as i64);
        let outcome = match ended {
            Outcome::Completed => {
                turn_record.status = "completed".into();
                match self.collect_diff(&remote).await {
                    Ok(diff) => {
                        row.diff = Some(diff);
                        Outcome::Completed
                    }
                    Err(e) => Outcome::Failed(format!("cannot collect its diff: {e}")),
                }
            }
            Outcome::Failed(e) => {
                turn_record.status = "failed".into();
                turn_record.error = Some(e.clone());
                Outcome::Failed(e)
            }
            Outcome::Cancelled => {
                turn_record.status = "interrupted".into();
                Outcome::Cancelled
            }
        };
        self.put_turn(&turn_record).await;
        outcome
    }

    /// Whether the task's wright can confine the agent's commands in this container: an
    /// engine whose seccomp profile forbids user namespaces (Docker's default) leaves it unable
    /// to, and every command would be refused. One confined `true`, as the agent's commands
    /// run, tells; when it cannot run, that is said once, with the way out.
    async fn check_confinement(&self, remote: &Remote) -> Result<(), String> {
        let result = remote
            .request(
                "command/exec",
                json!({"command": ["true"], "cwd": entrypoint::WORKSPACE, "timeoutMs": 30000}),
                Duration::from_secs(40),
            )
            .await;
        let why = match result {
            Ok(r) if r["exitCode"] == 0 => return Ok(()),
            Ok(r) => r["stderr"]
                .as_str()
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| format!("a confined `true` exited with {}", r["exitCode"])),
            Err(e) => e.to_string(),
        };
        let hint = match self.engine {
            Engine::Docker(_) => format!(
                "on Docker this is usually its default seccomp profile, which forbids the user \
                 namespaces wright's sandbox needs (Podman's allows them): set \
                 `seccomp = \"unconfined\"` (each command still gets wright's own filter) or a \
                 profile that allows them in [cloud.environments.{}]",
                self.request.env.name
            ),
            #[cfg(feature = "kubernetes")]
            Engine::Kubernetes(_) => "the pod's runtime or seccomp profile may forbid the user \
                                      namespaces wright's sandbox needs"
                .into(),
        };
        Err(format!(
            "the agent's commands cannot be confined in this task: {why}; {hint}"
        ))
    }

    fn wright_path(&self) -> String {
        match &self.request.env.wright {
            WrightBinary::Mount => entrypoint::MOUNTED_WRIGHT.to_string(),
            WrightBinary::InImage(path) => path.clone(),
        }
    }

    async fn failed_remote(&self, id: &str, e: CloudError) -> Outcome {
        match self.death(id).await {
            Some(death) => Outcome::Failed(death),
            None => Outcome::Failed(e.to_string()),
        }
    }

    async fn put_turn(&self, t: &TurnRecord) {
        let t = t.clone();
        if let Err(e) = db(&self.store, move |s| s.upsert_turn(&t)).await {
            self.say(format!("cannot store its turn: {e}"));
        }
    }

    /// Follows the turn's notifications until it completes, the connection drops, or the
    /// user interrupts; items are stored as they complete.
    async fn stream(
        &self,
        remote: &mut Remote,
        id: &str,
        thread_id: &str,
        turn_id: &str,
        row: &mut CloudAttempt,
    ) -> Outcome {
        loop {
            let message = tokio::select! {
                m = remote.notifications.recv() => m,
                () = self.cancel.cancelled() => {
                    remote.notify("turn/interrupt", json!({"threadId": thread_id, "turnId": turn_id}));
                    return Outcome::Cancelled;
                }
            };
            let Some(message) = message else {
                let why = self
                    .death(id)
                    .await
                    .unwrap_or_else(|| "the connection to its app server closed".into());
                return Outcome::Failed(why);
            };
            let params = &message["params"];
            match message["method"].as_str().unwrap_or_default() {
                "item/started" => {
                    if let Some(line) = started_line(&params["item"]) {
                        self.say(line);
                    }
                }
                "item/completed" => {
                    let item = params["item"].clone();
                    if item["type"] == "agentMessage" {
                        row.summary = item["text"].as_str().map(str::to_string);
                    }
                    let (thread, turn) = (thread_id.to_string(), turn_id.to_string());
                    if let Err(e) = db(&self.store, move |s| {
                        s.put_item(&thread, &turn, &item).map(|_| ())
                    })
                    .await
                    {
                        self.say(format!("cannot store an item: {e}"));
                    }
                }
                "turn/completed" => {
                    let turn = &params["turn"];
                    return match turn["status"].as_str() {
                        Some("completed") => Outcome::Completed,
                        Some("interrupted") => Outcome::Cancelled,
                        _ => Outcome::Failed(
                            turn["error"]["message"]
                                .as_str()
                                .unwrap_or("the turn failed")
                                .to_string(),
                        ),
                    };
                }
                "error" => {
                    if let Some(m) = params["error"]["message"].as_str() {
                        self.say(format!("error: {m}"));
                    }
                }
                _ => {}
            }
        }
    }

    /// Everything the attempt changed since it started, as one binary-safe git diff.
    async fn collect_diff(&self, remote: &Remote) -> Result<String, CloudError> {
        // Outside the agent's sandbox: only the driver asks this, and the container is the
        // boundary. Hooks and fsmonitor are off so the repository's config runs nothing.
        let script = format!(
            "git -c core.hooksPath=/dev/null -c core.fsmonitor=false add -A && \
             git -c core.fsmonitor=false diff --cached --binary {}",
            entrypoint::BASE_REF
        );
        let result = remote
            .request(
                "command/exec",
                json!({
                    "command": ["sh", "-c", script],
                    "cwd": entrypoint::WORKSPACE,
                    "sandboxPolicy": {"type": "dangerFullAccess"},
                    "disableOutputCap": true,
                    "timeoutMs": 120000,
                }),
                Duration::from_secs(150),
            )
            .await?;
        if result["exitCode"].as_i64() != Some(0) {
            return Err(CloudError::Remote(format!(
                "git diff exited with {}: {}",
                result["exitCode"],
                result["stderr"].as_str().unwrap_or_default().trim()
            )));
        }
        Ok(result["stdout"].as_str().unwrap_or_default().to_string())
    }
}

/// A line for an item that just began, when it is worth one.
fn started_line(item: &Value) -> Option<String> {
    match item["type"].as_str()? {
        "commandExecution" => Some(format!("$ {}", item["command"].as_str()?)),
        "fileChange" => {
            let paths: Vec<&str> = item["changes"]
                .as_array()?
                .iter()
                .filter_map(|c| c["path"].as_str())
                .collect();
            Some(format!("editing {}", paths.join(", ")))
        }
        "mcpToolCall" => Some(format!(
            "tool {}.{}",
            item["server"].as_str()?,
            item["tool"].as_str()?
        )),
        _ => None,
    }
}
