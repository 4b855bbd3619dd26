//! What the server holds: the loaded threads, who follows each, the turn running on it, and
//! the one thread that owns the database.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use wright_core::config::Config;
use wright_core::{SteerHandle, Thread};
use wright_protocol::v2::{
    self, ApprovalsReviewer, InitializeResponse, ServerNotification, ThreadStatus,
};
use wright_store::{Store, ThreadRecord};

use crate::conn::{ConnHandle, Outbound};
use crate::rpc::{RpcError, RpcResult};
use crate::wire::{self, now_secs, ThreadInfo};
use crate::ServerOptions;

pub(crate) struct State {
    pub options: ServerOptions,
    /// The one thread that owns the database: it opens it on first use (so start-up never
    /// waits for it) and runs every store call in the order they were queued, so a write
    /// queued without waiting still lands before any later one.
    writer: std::sync::OnceLock<std::sync::mpsc::Sender<StoreJob>>,
    pub threads: Mutex<HashMap<String, Arc<Loaded>>>,
    /// Every connection's running `command/exec`.
    pub command_execs: crate::command_exec::Registry,
    /// `fs/watch` watches and `fuzzyFileSearch` searches, per connection.
    pub files: crate::file_services::FileServices,
    /// The process's MCP servers, shared by every thread.
    pub mcp: crate::mcp::ServerMcp,
    /// Every connection past `initialize`, for what concerns them all (MCP server status).
    connections: Mutex<Vec<ConnHandle>>,
    /// More user skill folders for every thread (`skills/extraRoots/set`).
    skills_extra_roots: Mutex<Vec<PathBuf>>,
    /// The `skills/changed` watch runs (started with the first connection).
    pub skills_watch: std::sync::atomic::AtomicBool,
    /// The sub-agents of every thread; made with the first thread's config (its `[agents]`
    /// limits come from the server's config files and `-c` overrides).
    agents: std::sync::OnceLock<Arc<wright_core::sub_agents::AgentControl>>,
    /// This state, for the sub-agent host (which must not keep the server alive).
    me: std::sync::Weak<State>,
}

type StoreJob = Box<dyn FnOnce(Option<&Store>) + Send>;

pub(crate) struct Loaded {
    pub id: String,
    pub info: Mutex<ThreadInfo>,
    /// Held for a whole turn: request handlers never wait on it (they use the snapshots
    /// below), so a busy thread cannot block a connection.
    pub thread: tokio::sync::Mutex<Thread>,
    /// The thread's settings as of its last turn.
    pub config: Mutex<Config>,
    pub instruction_sources: Vec<String>,
    pub steer: SteerHandle,
    pub subscribers: Mutex<Vec<ConnHandle>>,
    /// Approvals waiting for an answer: a client that starts following is asked too.
    questions: Mutex<Vec<Arc<crate::approvals::OpenQuestion>>>,
    pub active: Mutex<Option<ActiveTurn>>,
    /// Who decides approvals (`approvalsReviewer`): the client, or a reviewer model.
    pub reviewer: Mutex<ApprovalsReviewer>,
    /// The commands the model left running (`thread/backgroundTerminals/*`).
    pub exec_sessions: Arc<wright_core::exec_sessions::ExecSessions>,
}

pub(crate) struct ActiveTurn {
    pub id: String,
    pub cancel: CancellationToken,
    pub steer: SteerHandle,
}

impl Loaded {
    /// Sends a notification to every connection following the thread (serialized once).
    pub fn broadcast(&self, notification: ServerNotification) {
        let subscribers: Vec<ConnHandle> = self
            .subscribers
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        if subscribers.is_empty() {
            return;
        }
        let out = Outbound::new(&notification);
        for conn in subscribers {
            conn.deliver(&out);
        }
    }

    pub fn subscribe(&self, conn: &ConnHandle) {
        let added = match self.subscribers.lock() {
            Ok(mut subs) if !subs.iter().any(|c| c.id == conn.id) => {
                subs.push(conn.clone());
                true
            }
            _ => false,
        };
        if added {
            // Locks are taken one at a time (see `ask_followers`); `offer` asks a connection
            // at most once, so a question raised meanwhile is not asked twice.
            let open: Vec<_> = self.questions.lock().map(|q| q.clone()).unwrap_or_default();
            for question in open {
                question.offer(conn);
            }
        }
    }

    /// Puts `open` to every follower of the thread, now and as they arrive, until it is
    /// answered or forgotten.
    pub(crate) fn ask_followers(&self, open: &Arc<crate::approvals::OpenQuestion>) {
        if let Ok(mut questions) = self.questions.lock() {
            questions.push(Arc::clone(open));
        }
        let followers: Vec<ConnHandle> = self
            .subscribers
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        for conn in &followers {
            open.offer(conn);
        }
        open.give_up_if_unasked();
    }

    pub(crate) fn forget_question(&self, open: &Arc<crate::approvals::OpenQuestion>) {
        if let Ok(mut questions) = self.questions.lock() {
            questions.retain(|q| !Arc::ptr_eq(q, open));
        }
    }

    pub fn is_subscribed(&self, conn_id: u64) -> bool {
        self.subscribers
            .lock()
            .map(|s| s.iter().any(|c| c.id == conn_id))
            .unwrap_or(false)
    }

    pub fn config(&self) -> Config {
        match self.config.lock() {
            Ok(config) => config.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn info(&self) -> ThreadInfo {
        match self.info.lock() {
            Ok(info) => info.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn update_info(&self, change: impl FnOnce(&mut ThreadInfo)) {
        match self.info.lock() {
            Ok(mut info) => change(&mut info),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        }
    }

    /// The id of the running turn, if any (a poisoned lock counts as busy).
    pub fn running_turn(&self) -> Result<Option<String>, RpcError> {
        self.active
            .lock()
            .map(|a| a.as_ref().map(|t| t.id.clone()))
            .map_err(|_| RpcError::internal("thread state poisoned"))
    }

    /// Refuses when a turn runs: history edits must not race the engine.
    pub fn ensure_idle(&self, what: &str) -> RpcResult<()> {
        match self.running_turn()? {
            None => Ok(()),
            Some(turn) => Err(RpcError::invalid_request(format!(
                "thread {} has a running turn ({turn}): interrupt it (turn/interrupt) before {what}",
                self.id
            ))),
        }
    }

    /// Makes a new turn the running one and returns its id and cancel token; refused with
    /// `busy(running turn id)` while another runs.
    pub fn claim_turn(
        &self,
        busy: impl FnOnce(&str) -> String,
    ) -> RpcResult<(String, CancellationToken)> {
        let mut active = self
            .active
            .lock()
            .map_err(|_| RpcError::internal("thread state poisoned"))?;
        if let Some(running) = active.as_ref() {
            return Err(RpcError::invalid_request(busy(&running.id)));
        }
        let turn_id = uuid::Uuid::now_v7().to_string();
        let cancel = CancellationToken::new();
        *active = Some(ActiveTurn {
            id: turn_id.clone(),
            cancel: cancel.clone(),
            steer: self.steer.clone(),
        });
        Ok((turn_id, cancel))
    }

    /// Clears the running turn and announces its end. Done under the lock, so a next turn's
    /// `turn/started` cannot come before this turn's `turn/completed`.
    pub fn end_turn(&self, info: &wire::TurnInfo, items: Vec<v2::ThreadItem>) {
        let mut active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        *active = None;
        self.broadcast(crate::approvals::status_changed(&self.id, wire::idle()));
        self.broadcast(ServerNotification::TurnCompleted(
            v2::TurnCompletedNotification {
                thread_id: self.id.clone(),
                turn: wire::turn(info, items, v2::TurnItemsView::Summary),
            },
        ));
    }

    pub fn status(&self) -> ThreadStatus {
        match self.active.lock().map(|a| a.is_some()) {
            Ok(true) => wire::active(false),
            _ => wire::idle(),
        }
    }

    pub fn reviewer(&self) -> ApprovalsReviewer {
        match self.reviewer.lock() {
            Ok(r) => *r,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    pub fn set_reviewer(&self, reviewer: ApprovalsReviewer) {
        let reviewer = effective_reviewer(reviewer);
        match self.reviewer.lock() {
            Ok(mut r) => *r = reviewer,
            Err(poisoned) => *poisoned.into_inner() = reviewer,
        }
    }

    pub fn view(&self, turns: Vec<v2::Turn>) -> v2::Thread {
        wire::thread(&self.info(), self.status(), turns)
    }
}

pub(crate) use crate::thread_settings::*;

impl State {
    pub fn new(options: ServerOptions) -> Arc<State> {
        Arc::new_cyclic(|me| State {
            agents: std::sync::OnceLock::new(),
            me: me.clone(),
            options,
            writer: std::sync::OnceLock::new(),
            threads: Mutex::new(HashMap::new()),
            command_execs: Default::default(),
            files: Default::default(),
            mcp: crate::mcp::ServerMcp::new(),
            connections: Mutex::new(Vec::new()),
            skills_extra_roots: Mutex::new(Vec::new()),
            skills_watch: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn skills_extra_roots(&self) -> Vec<PathBuf> {
        self.skills_extra_roots
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    pub fn set_skills_extra_roots(&self, roots: Vec<PathBuf>) {
        if let Ok(mut r) = self.skills_extra_roots.lock() {
            *r = roots;
        }
    }

    /// The working directories of the loaded threads.
    pub fn loaded_cwds(&self) -> Vec<PathBuf> {
        let threads: Vec<Arc<Loaded>> = self
            .threads
            .lock()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default();
        threads
            .iter()
            .filter_map(|l| l.config.lock().ok().map(|c| c.cwd.clone()))
            .collect()
    }

    /// A connection finished `initialize`: from now on it hears what concerns every client.
    pub fn connection_initialized(&self, conn: &ConnHandle) {
        if let Ok(mut conns) = self.connections.lock() {
            conns.push(conn.clone());
        }
    }

    /// Sends a notification to every initialized connection (serialized once).
    pub fn broadcast_all(&self, notification: &ServerNotification) {
        let conns: Vec<ConnHandle> = self
            .connections
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        if conns.is_empty() {
            return;
        }
        let out = Outbound::new(notification);
        for conn in conns {
            conn.deliver(&out);
        }
    }

    pub fn initialize_result(&self, params: &Value) -> InitializeResponse {
        let client = params
            .pointer("/clientInfo/name")
            .and_then(Value::as_str)
            .unwrap_or("client");
        let client_version = params
            .pointer("/clientInfo/version")
            .and_then(Value::as_str)
            .unwrap_or("0");
        InitializeResponse {
            user_agent: crate::user_agent::user_agent(client, client_version),
            codex_home: self.options.wright_home.display().to_string(),
            platform_family: std::env::consts::FAMILY.to_string(),
            platform_os: std::env::consts::OS.to_string(),
        }
    }

    pub fn connection_closed(&self, conn_id: u64) {
        if let Ok(mut conns) = self.connections.lock() {
            conns.retain(|c| c.id != conn_id);
        }
        self.command_execs.connection_closed(conn_id);
        self.files.connection_closed(conn_id);
        let loaded: Vec<Arc<Loaded>> = self
            .threads
            .lock()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default();
        for thread in loaded {
            self.detach(&thread, conn_id);
        }
    }

    /// Takes `conn_id` off the thread's subscribers; whether it was one. When nobody is left
    /// to see or steer the thread, its turn (and its commands) is stopped cleanly or, when
    /// idle, the thread is unloaded (it is on disk; thread/resume loads it again).
    pub fn detach(&self, thread: &Arc<Loaded>, conn_id: u64) -> bool {
        let (was_subscribed, orphaned) = match thread.subscribers.lock() {
            Ok(mut subs) => {
                let before = subs.len();
                subs.retain(|c| c.id != conn_id);
                (subs.len() < before, before > 0 && subs.is_empty())
            }
            Err(_) => (false, false),
        };
        if orphaned {
            let running = match thread.active.lock() {
                Ok(active) => {
                    if let Some(turn) = active.as_ref() {
                        turn.cancel.cancel();
                    }
                    active.is_some()
                }
                Err(_) => true,
            };
            let durable = !thread.info().ephemeral && !self.options.ephemeral;
            if !running && durable {
                if let Ok(mut threads) = self.threads.lock() {
                    threads.remove(&thread.id);
                }
            }
        }
        was_subscribed
    }

    fn writer(&self) -> &std::sync::mpsc::Sender<StoreJob> {
        self.writer.get_or_init(|| {
            let (tx, jobs) = std::sync::mpsc::channel::<StoreJob>();
            let path = self.options.wright_home.join("state.db");
            let (days, max) = (self.options.thread_retention_days, self.options.max_threads);
            let spawned = std::thread::Builder::new()
                .name("wright-store".into())
                .spawn(move || {
                    let store = match Store::open(&path) {
                        Ok(store) => {
                            // Bounded state (`thread_retention_days`, `max_threads`).
                            let cutoff = days.map(|d| now_secs() - (d as i64) * 24 * 3600);
                            if let Err(err) = store.prune(cutoff, Some(max)) {
                                tracing::warn!("pruning old threads failed: {err}");
                            }
                            Some(store)
                        }
                        Err(err) => {
                            tracing::warn!(
                                "thread store unavailable, threads will not persist: {err}"
                            );
                            None
                        }
                    };
                    for job in jobs {
                        job(store.as_ref());
                    }
                });
            if let Err(err) = spawned {
                tracing::warn!("cannot start the thread store: {err}");
            }
            tx
        })
    }

    fn queue<T: Send + 'static>(
        &self,
        what: &'static str,
        call: impl FnOnce(&Store) -> wright_store::Result<T> + Send + 'static,
        done: impl FnOnce(Option<T>) + Send + 'static,
    ) -> bool {
        if self.options.ephemeral {
            done(None);
            return false;
        }
        let job: StoreJob = Box::new(move |store| {
            let result = store.and_then(|s| match call(s) {
                Ok(value) => Some(value),
                Err(err) => {
                    // Errors are logged, not fatal: a thread keeps running even if the disk
                    // fills up.
                    tracing::warn!("thread store: {what}: {err}");
                    None
                }
            });
            done(result);
        });
        self.writer().send(job).is_ok()
    }

    /// Runs a store call and waits for it (durable before the caller goes on).
    pub async fn persist<T: Send + 'static>(
        &self,
        what: &'static str,
        call: impl FnOnce(&Store) -> wright_store::Result<T> + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        if !self.queue(what, call, move |r| {
            let _ = tx.send(r);
        }) {
            return None;
        }
        rx.await.ok().flatten()
    }

    /// Runs a store call and waits for it, answering the client with the store's own reason
    /// when it refuses (a thread it does not have, a turn it cannot revert to).
    pub async fn try_persist<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Store) -> wright_store::Result<T> + Send + 'static,
    ) -> RpcResult<T> {
        if self.options.ephemeral {
            return Err(RpcError::invalid_request(
                "this server keeps no threads on disk (--ephemeral)",
            ));
        }
        let (tx, rx) = oneshot::channel();
        let job: StoreJob = Box::new(move |store| {
            let _ = tx.send(match store {
                Some(s) => call(s).map_err(|err| match err {
                    wright_store::StoreError::NotFound(id) => RpcError::thread_not_found(&id),
                    wright_store::StoreError::CannotRevert(why)
                    | wright_store::StoreError::InvalidCursor(why) => {
                        RpcError::invalid_request(why)
                    }
                    other => RpcError::internal(format!("thread store: {other}")),
                }),
                None => Err(RpcError::internal("the thread store is unavailable")),
            });
        });
        self.writer()
            .send(job)
            .map_err(|_| RpcError::internal("the thread store is unavailable"))?;
        rx.await
            .map_err(|_| RpcError::internal("the thread store stopped"))?
    }

    /// Queues a store call without waiting; later calls still run after it.
    pub fn persist_soon(
        &self,
        what: &'static str,
        call: impl FnOnce(&Store) -> wright_store::Result<()> + Send + 'static,
    ) {
        self.queue(what, call, |_| {});
    }

    pub fn loaded(&self, id: &str) -> Option<Arc<Loaded>> {
        self.threads.lock().ok()?.get(id).cloned()
    }

    pub fn loaded_or_err(&self, id: &str) -> RpcResult<Arc<Loaded>> {
        self.loaded(id)
            .ok_or_else(|| RpcError::thread_not_found(id))
    }

    /// The stored record of a thread, or Codex's "not found".
    pub async fn record(&self, id: &str) -> RpcResult<ThreadRecord> {
        let key = id.to_string();
        self.persist("read thread", move |s| s.get_thread(&key))
            .await
            .flatten()
            .ok_or_else(|| RpcError::thread_not_found(id))
    }

    /// The config for a thread: the server's overrides, then what is stored for the thread,
    /// then the request's own settings.
    pub async fn thread_config(
        &self,
        settings: &ThreadSettings,
        stored: Option<&ThreadRecord>,
    ) -> RpcResult<Config> {
        let mut o = self.options.overrides.clone();
        // What the thread was stored with comes first, so the user's own `-c` still wins.
        let user_overrides = std::mem::take(&mut o.config);
        let mut push = |key: &str, value: &Value| {
            o.config.push(format!("{key}={}", toml_literal(value)));
        };
        if let Some(rec) = stored {
            // Empty for a thread that ran elsewhere on a provider this machine does not
            // have (a cloud task's): the local default serves it.
            if !rec.model_provider.is_empty() {
                push("model_provider", &json!(rec.model_provider));
            }
            for key in ["sandbox_mode", "approval_policy"] {
                if let Some(v) = rec.settings.get(key).filter(|v| v.is_string()) {
                    push(key, v);
                }
            }
        }
        o.config.extend(user_overrides);
        let mut push = |key: &str, value: &Value| {
            o.config.push(format!("{key}={}", toml_literal(value)));
        };
        for (key, value) in settings.config.iter().flatten() {
            if !value.is_null() {
                push(key, value);
            }
        }
        if let Some(provider) = &settings.model_provider {
            push("model_provider", &json!(provider));
        }
        if let Some(policy) = &settings.approval_policy {
            push("approval_policy", &json!(approval_policy(policy)?.as_str()));
        }
        if let Some(text) = &settings.base_instructions {
            push("instructions", &json!(text));
        }
        if let Some(text) = &settings.developer_instructions {
            push("developer_instructions", &json!(text));
        }
        o.model = settings
            .model
            .clone()
            .or_else(|| stored.map(|r| r.model.clone()))
            .or(o.model);
        if let Some(mode) = settings.sandbox {
            o.sandbox_mode = Some(sandbox_mode(mode));
        }
        let cwd = settings
            .cwd
            .as_ref()
            .map(PathBuf::from)
            .or_else(|| stored.map(|r| PathBuf::from(&r.cwd)))
            .or(o.cwd.clone());
        if let Some(cwd) = cwd {
            let canonical = tokio::fs::canonicalize(&cwd)
                .await
                .map_err(|e| RpcError::invalid_params(format!("`cwd` {}: {e}", cwd.display())))?;
            o.cwd = Some(canonical);
        }
        let limits_needed = self.agents.get().is_none();
        let (home, server_overrides) = (
            self.options.wright_home.clone(),
            self.options.overrides.clone(),
        );
        let (config, limits) = tokio::task::spawn_blocking(move || {
            let limits = limits_needed.then(|| agent_limits(&home, &server_overrides));
            (Config::load(&o), limits)
        })
        .await
        .map_err(|e| RpcError::internal(e.to_string()))?;
        let mut config = config.map_err(|e| RpcError::invalid_params(format!("config: {e}")))?;
        if let Some(limits) = limits {
            self.agents_with(limits);
        }
        config.skills_extra_roots = self.skills_extra_roots();
        Ok(config)
    }

    /// The sub-agents' control, made now with `limits` if it does not exist yet.
    fn agents_with(
        &self,
        limits: wright_core::sub_agents::AgentLimits,
    ) -> Arc<wright_core::sub_agents::AgentControl> {
        let host = Arc::new(crate::sub_agents::Host {
            state: self.me.clone(),
        });
        Arc::clone(self.agents.get_or_init(|| {
            wright_core::sub_agents::AgentControl::new(
                host,
                limits,
                self.options.wright_home.clone(),
            )
        }))
    }

    /// A thread just started: stored (unless ephemeral) and loaded. The store write is not
    /// waited for: nothing is announced about the thread yet, and every later write to it is
    /// queued behind this one.
    pub fn start_thread(
        &self,
        thread: Thread,
        info: ThreadInfo,
        reviewer: ApprovalsReviewer,
    ) -> Arc<Loaded> {
        if !info.ephemeral {
            let record = info.new_record(settings_of(thread.config(), None, reviewer));
            let history = thread.history().to_vec();
            let id = record.id.clone();
            self.persist_soon("create thread", move |s| {
                s.insert_thread(&record)?;
                s.append_history(&id, &history)
            });
        }
        self.register(thread, info, reviewer)
    }

    pub fn register(
        &self,
        mut thread: Thread,
        info: ThreadInfo,
        reviewer: ApprovalsReviewer,
    ) -> Arc<Loaded> {
        // Every thread (started, resumed or forked) offers the process's MCP servers' tools.
        thread.set_mcp(Some(self.mcp.manager()));
        // ... and may start sub-agents, as deep as its own place in its tree allows.
        let agents = self.agents_with(Default::default());
        thread.set_agents(Some(
            agents.handle(crate::sub_agents::depth_of(&info.source)),
        ));
        let loaded = Arc::new(Loaded {
            id: info.id.clone(),
            info: Mutex::new(info),
            config: Mutex::new(thread.config().clone()),
            instruction_sources: thread
                .project_docs()
                .sources
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            steer: thread.steer_handle(),
            exec_sessions: thread.exec_sessions(),
            thread: tokio::sync::Mutex::new(thread),
            subscribers: Mutex::new(Vec::new()),
            questions: Mutex::new(Vec::new()),
            active: Mutex::new(None),
            reviewer: Mutex::new(effective_reviewer(reviewer)),
        });
        if let Ok(mut threads) = self.threads.lock() {
            threads.insert(loaded.id.clone(), Arc::clone(&loaded));
        }
        loaded
    }
}

/// `[agents]` as the server's config files and `-c` overrides set it; a config that does not
/// load leaves Codex's defaults (the thread's own load reports the problem).
fn agent_limits(
    home: &std::path::Path,
    overrides: &wright_core::config::CliOverrides,
) -> wright_core::sub_agents::AgentLimits {
    match wright_core::config_layers::LayerStack::load(home, overrides) {
        Ok(stack) => {
            let (limits, warnings) =
                wright_core::sub_agents::AgentLimits::from_table(&stack.effective());
            for warning in warnings {
                tracing::warn!("{warning}");
            }
            limits
        }
        Err(_) => Default::default(),
    }
}

impl Drop for State {
    /// The server is gone: so are its MCP servers (their process groups are killed).
    fn drop(&mut self) {
        self.mcp.shutdown();
    }
}
