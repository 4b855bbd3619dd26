//! Threads and turns behind the protocol: loading, running turns, turning engine events into
//! notifications (written to the store first), and asking the client for approvals.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::FutureExt;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use wright_core::approval::{ApprovalRequest, Approver, ReviewDecision};
use wright_core::config::{ApprovalPolicy, Config, SandboxMode};
use wright_core::{ImageInput, SteerHandle, Thread, TurnInput, TurnOutcome, TurnOverrides};
use wright_protocol::jsonrpc::{
    JsonRpcRequest, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND,
};
use wright_protocol::{Event, ItemDetails, TokenUsage};
use wright_store::{ListQuery, Store, ThreadRecord, TurnRecord};

use crate::conn::ConnHandle;
use crate::wire::{self, now_ms, now_secs, ThreadInfo, TurnInfo};
use crate::ServerOptions;

/// Largest local image a turn may attach.
const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;

/// Items Codex's preview keeps of the first user message.
const PREVIEW_CHARS: usize = 200;

pub(crate) struct State {
    options: ServerOptions,
    /// The one thread that owns the database: it opens it on first use (so start-up never
    /// waits for it) and runs every store call in the order they were queued, so a write
    /// queued without waiting still lands before any later one.
    writer: std::sync::OnceLock<std::sync::mpsc::Sender<StoreJob>>,
    threads: Mutex<HashMap<String, Arc<Loaded>>>,
}

type StoreJob = Box<dyn FnOnce(Option<&Store>) + Send>;

struct Loaded {
    id: String,
    info: Mutex<ThreadInfo>,
    /// Held for a whole turn: request handlers never wait on it (they use the snapshots
    /// below), so a busy thread cannot block a connection.
    thread: tokio::sync::Mutex<Thread>,
    /// The thread's settings as of its last turn.
    config: Mutex<Config>,
    instruction_sources: Vec<String>,
    steer: SteerHandle,
    subscribers: Mutex<Vec<ConnHandle>>,
    active: Mutex<Option<ActiveTurn>>,
}

struct ActiveTurn {
    id: String,
    cancel: CancellationToken,
    steer: SteerHandle,
}

impl Loaded {
    fn broadcast(&self, method: &str, params: Value) {
        let subscribers: Vec<ConnHandle> = self
            .subscribers
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        for conn in subscribers {
            conn.notify(method, params.clone());
        }
    }

    fn subscribe(&self, conn: &ConnHandle) {
        if let Ok(mut subs) = self.subscribers.lock() {
            if !subs.iter().any(|c| c.id == conn.id) {
                subs.push(conn.clone());
            }
        }
    }

    fn config(&self) -> Config {
        match self.config.lock() {
            Ok(config) => config.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn info(&self) -> ThreadInfo {
        match self.info.lock() {
            Ok(info) => info.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn status(&self) -> Value {
        match self.active.lock().map(|a| a.is_some()) {
            Ok(true) => wire::active(false),
            _ => wire::idle(),
        }
    }
}

/// A JSON-RPC error to answer with.
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
    /// Machine-readable detail (`error.data`).
    pub(crate) data: Option<Value>,
}

impl RpcError {
    pub(crate) fn invalid_params(message: impl Into<String>) -> Self {
        Self {
            code: INVALID_PARAMS,
            message: message.into(),
            data: None,
        }
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self {
            code: INVALID_REQUEST,
            message: message.into(),
            data: None,
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            code: INTERNAL_ERROR,
            message: message.into(),
            data: None,
        }
    }

    pub(crate) fn with_data(self, data: Value) -> Self {
        Self {
            data: Some(data),
            ..self
        }
    }
}

pub(crate) type RpcResult = Result<Value, RpcError>;

/// Answers a request with its result or error.
pub(crate) fn reply(
    conn: &ConnHandle,
    id: &wright_protocol::jsonrpc::RequestId,
    result: RpcResult,
) {
    match result {
        Ok(value) => conn.respond(id, value),
        Err(err) => conn.error_with_data(Some(id), err.code, err.message, err.data),
    }
}

fn required_str<'a>(params: &'a Value, field: &str) -> Result<&'a str, RpcError> {
    match params.get(field) {
        None | Some(Value::Null) => {
            Err(RpcError::invalid_params(format!("missing field `{field}`")))
        }
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(RpcError::invalid_params(format!(
            "invalid type for `{field}`: expected a string, got {other}"
        ))),
    }
}

fn optional_str<'a>(params: &'a Value, field: &str) -> Result<Option<&'a str>, RpcError> {
    match params.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(RpcError::invalid_params(format!(
            "invalid type for `{field}`: expected a string, got {other}"
        ))),
    }
}

/// Runs a typed handler: params parsed (`-32602` naming the field at fault), result
/// serialized.
pub(crate) async fn typed<P, R, Fut>(params: Value, handler: impl FnOnce(P) -> Fut) -> RpcResult
where
    P: serde::de::DeserializeOwned,
    R: serde::Serialize,
    Fut: std::future::Future<Output = Result<R, RpcError>>,
{
    typed_result(handler(typed_params(params)?).await?)
}

/// Params of a typed method; `-32602` names the field at fault.
pub(crate) fn typed_params<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    let params = if params.is_null() { json!({}) } else { params };
    serde_path_to_error::deserialize(params).map_err(|e| {
        RpcError::invalid_params(format!("invalid params at `{}`: {}", e.path(), e.inner()))
    })
}

pub(crate) fn typed_result<T: serde::Serialize>(result: T) -> RpcResult {
    serde_json::to_value(result).map_err(|e| RpcError::internal(e.to_string()))
}

/// `thread/unsubscribe`: this connection stops following the thread (which, with nobody
/// left, stops its turn or is unloaded, as when the last client disconnects).
fn thread_unsubscribe(state: &State, conn: &ConnHandle, params: Value) -> RpcResult {
    use wright_protocol::v2::{
        ThreadUnsubscribeParams, ThreadUnsubscribeResponse, ThreadUnsubscribeStatus,
    };
    let p: ThreadUnsubscribeParams = typed_params(params)?;
    let thread = state
        .threads
        .lock()
        .ok()
        .and_then(|t| t.get(&p.thread_id).cloned());
    let status = match thread {
        None => ThreadUnsubscribeStatus::NotLoaded,
        Some(t) if state.detach(&t, conn.id) => ThreadUnsubscribeStatus::Unsubscribed,
        Some(_) => ThreadUnsubscribeStatus::NotSubscribed,
    };
    typed_result(ThreadUnsubscribeResponse { status })
}

/// `thread/delete`: refused while a turn runs; otherwise the thread is unloaded, deleted from
/// the store, and `thread/deleted` goes to everyone who followed it (and the caller).
async fn thread_delete(state: &Arc<State>, conn: &ConnHandle, params: Value) -> RpcResult {
    let p: wright_protocol::v2::ThreadDeleteParams = typed_params(params)?;
    let id = p.thread_id;
    if let Some(loaded) = state.loaded(&id) {
        if loaded.active.lock().map(|a| a.is_some()).unwrap_or(true) {
            return Err(RpcError::invalid_request(format!(
                "thread {id} has a running turn: interrupt it (turn/interrupt) before deleting"
            )));
        }
    }
    let key = id.clone();
    state
        .persist("delete thread", move |s| s.delete_thread(&key))
        .await
        .ok_or_else(|| RpcError::invalid_request(format!("thread not found: {id}")))?;
    let removed = state.threads.lock().ok().and_then(|mut t| t.remove(&id));
    let note = json!({"threadId": id});
    let mut told_caller = false;
    if let Some(loaded) = removed {
        told_caller = loaded
            .subscribers
            .lock()
            .map(|s| s.iter().any(|c| c.id == conn.id))
            .unwrap_or(false);
        loaded.broadcast("thread/deleted", note.clone());
    }
    if !told_caller {
        conn.notify("thread/deleted", note);
    }
    typed_result(wright_protocol::v2::ThreadDeleteResponse {})
}

/// `thread/loaded/list`: ids of the threads in memory, in id order (ids are UUIDv7, so that is
/// creation order), paged by the last id returned.
fn thread_loaded_list(state: &State, params: Value) -> RpcResult {
    let p: wright_protocol::v2::ThreadLoadedListParams =
        serde_path_to_error::deserialize(if params.is_null() { json!({}) } else { params })
            .map_err(|e| {
                RpcError::invalid_params(format!("invalid params at `{}`: {}", e.path(), e.inner()))
            })?;
    let mut ids: Vec<String> = state
        .threads
        .lock()
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    ids.sort();
    let start = match &p.cursor {
        Some(c) => ids.partition_point(|id| id <= c),
        None => 0,
    };
    let limit = p.limit.map(|l| l as usize).unwrap_or(usize::MAX).max(1);
    let page: Vec<String> = ids[start..].iter().take(limit).cloned().collect();
    let next_cursor = (start + page.len() < ids.len())
        .then(|| page.last().cloned())
        .flatten();
    typed_result(wright_protocol::v2::ThreadLoadedListResponse {
        data: page,
        next_cursor,
    })
}

/// `approvalsReviewer`: wright asks the user (`"user"`); anything else is refused, not
/// silently changed.
fn check_reviewer(params: &Value) -> Result<(), RpcError> {
    match optional_str(params, "approvalsReviewer")? {
        None | Some("user") => Ok(()),
        Some(other) => Err(RpcError::invalid_params(format!(
            "`approvalsReviewer`: `{other}` is not supported; wright asks the user (\"user\")"
        ))),
    }
}

impl State {
    pub fn new(options: ServerOptions) -> Arc<State> {
        Arc::new(State {
            options,
            writer: std::sync::OnceLock::new(),
            threads: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn options(&self) -> &ServerOptions {
        &self.options
    }

    pub fn initialize_result(&self, params: &Value) -> Value {
        let client = params
            .pointer("/clientInfo/name")
            .and_then(Value::as_str)
            .unwrap_or("client");
        let client_version = params
            .pointer("/clientInfo/version")
            .and_then(Value::as_str)
            .unwrap_or("0");
        json!({
            "userAgent": user_agent(client, client_version),
            "codexHome": self.options.wright_home.display().to_string(),
            "platformFamily": std::env::consts::FAMILY,
            "platformOs": std::env::consts::OS,
        })
    }

    pub fn connection_closed(&self, conn_id: u64) {
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
    fn detach(&self, thread: &Arc<Loaded>, conn_id: u64) -> bool {
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
    async fn persist<T: Send + 'static>(
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

    /// Queues a store call without waiting; later calls still run after it.
    fn persist_soon(
        &self,
        what: &'static str,
        call: impl FnOnce(&Store) -> wright_store::Result<()> + Send + 'static,
    ) {
        self.queue(what, call, |_| {});
    }

    fn loaded(&self, id: &str) -> Option<Arc<Loaded>> {
        self.threads.lock().ok()?.get(id).cloned()
    }

    fn loaded_or_err(&self, params: &Value) -> Result<Arc<Loaded>, RpcError> {
        let id = required_str(params, "threadId")?;
        self.loaded(id)
            .ok_or_else(|| RpcError::invalid_request(format!("thread not found: {id}")))
    }

    /// The config for a thread: the server's overrides, then what is stored for the thread,
    /// then the request's own fields.
    async fn thread_config(
        &self,
        params: &Value,
        stored: Option<&ThreadRecord>,
    ) -> Result<Config, RpcError> {
        let mut o = self.options.overrides.clone();
        // What the thread was stored with comes first, so the user's own `-c` still wins.
        let user_overrides = std::mem::take(&mut o.config);
        let mut push = |key: &str, value: &Value| {
            o.config.push(format!("{key}={}", toml_literal(value)));
        };
        if let Some(rec) = stored {
            push("model_provider", &json!(rec.model_provider));
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
        if let Some(config) = params.get("config").filter(|c| !c.is_null()) {
            let Some(map) = config.as_object() else {
                return Err(RpcError::invalid_params(
                    "invalid type for `config`: expected an object",
                ));
            };
            for (key, value) in map {
                if !value.is_null() {
                    push(key, value);
                }
            }
        }
        check_reviewer(params)?;
        if let Some(provider) = optional_str(params, "modelProvider")? {
            push("model_provider", &json!(provider));
        }
        if let Some(policy) = params.get("approvalPolicy").filter(|p| !p.is_null()) {
            let Some(policy) = policy.as_str() else {
                return Err(RpcError::invalid_params(
                    "`approvalPolicy`: only \"untrusted\", \"on-request\", \"on-failure\" and \"never\" are supported",
                ));
            };
            push("approval_policy", &json!(policy));
        }
        if let Some(text) = optional_str(params, "baseInstructions")? {
            push("instructions", &json!(text));
        }
        if let Some(text) = optional_str(params, "developerInstructions")? {
            push("developer_instructions", &json!(text));
        }
        o.model = optional_str(params, "model")?
            .map(String::from)
            .or_else(|| stored.map(|r| r.model.clone()))
            .or(o.model);
        if let Some(mode) = optional_str(params, "sandbox")? {
            o.sandbox_mode = Some(parse_sandbox(mode)?);
        }
        let cwd = optional_str(params, "cwd")?
            .map(PathBuf::from)
            .or_else(|| stored.map(|r| PathBuf::from(&r.cwd)))
            .or(o.cwd.clone());
        if let Some(cwd) = cwd {
            let canonical = std::fs::canonicalize(&cwd)
                .map_err(|e| RpcError::invalid_params(format!("`cwd` {}: {e}", cwd.display())))?;
            o.cwd = Some(canonical);
        }
        tokio::task::spawn_blocking(move || Config::load(&o))
            .await
            .map_err(|e| RpcError::internal(e.to_string()))?
            .map_err(|e| RpcError::invalid_params(format!("config: {e}")))
    }

    fn register(&self, thread: Thread, info: ThreadInfo) -> Arc<Loaded> {
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
            thread: tokio::sync::Mutex::new(thread),
            subscribers: Mutex::new(Vec::new()),
            active: Mutex::new(None),
        });
        if let Ok(mut threads) = self.threads.lock() {
            threads.insert(loaded.id.clone(), Arc::clone(&loaded));
        }
        loaded
    }
}

fn parse_sandbox(mode: &str) -> Result<SandboxMode, RpcError> {
    match mode {
        "read-only" | "readOnly" => Ok(SandboxMode::ReadOnly),
        "workspace-write" | "workspaceWrite" => Ok(SandboxMode::WorkspaceWrite),
        "danger-full-access" | "dangerFullAccess" => Ok(SandboxMode::DangerFullAccess),
        other => Err(RpcError::invalid_params(format!(
            "`sandbox`: unknown mode `{other}`, expected read-only, workspace-write or danger-full-access"
        ))),
    }
}

fn parse_policy(policy: &str) -> Result<ApprovalPolicy, RpcError> {
    match policy {
        "untrusted" | "unless-trusted" => Ok(ApprovalPolicy::Untrusted),
        "on-request" => Ok(ApprovalPolicy::OnRequest),
        "on-failure" => Ok(ApprovalPolicy::OnFailure),
        "never" => Ok(ApprovalPolicy::Never),
        other => Err(RpcError::invalid_params(format!(
            "`approvalPolicy`: unknown policy `{other}`"
        ))),
    }
}

/// A JSON value as a TOML literal, for `-c key=value` overrides.
fn toml_literal(value: &Value) -> String {
    fn to_toml(value: &Value) -> Option<toml::Value> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(b) => toml::Value::Boolean(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => toml::Value::Integer(i),
                None => toml::Value::Float(n.as_f64()?),
            },
            Value::String(s) => toml::Value::String(s.clone()),
            Value::Array(items) => toml::Value::Array(items.iter().filter_map(to_toml).collect()),
            Value::Object(map) => toml::Value::Table(
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), to_toml(v)?)))
                    .collect(),
            ),
        })
    }
    to_toml(value).map(|v| v.to_string()).unwrap_or_default()
}

fn settings_of(config: &Config) -> Value {
    json!({
        "sandbox_mode": config.sandbox_mode.as_str(),
        "approval_policy": config.approval_policy.as_str(),
    })
}

fn usage_of(value: &Value) -> TokenUsage {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

fn info_of(rec: &ThreadRecord) -> ThreadInfo {
    ThreadInfo {
        id: rec.id.clone(),
        created_at: rec.created_at,
        updated_at: rec.updated_at,
        name: rec.name.clone(),
        preview: rec.preview.clone(),
        cwd: rec.cwd.clone(),
        model: rec.model.clone(),
        model_provider: rec.model_provider.clone(),
        source: rec.source.clone(),
        forked_from: rec.forked_from.clone(),
        archived: rec.archived,
        ephemeral: false,
    }
}

pub(crate) async fn handle_request(state: &Arc<State>, conn: &ConnHandle, request: JsonRpcRequest) {
    let params = request.params.unwrap_or(Value::Null);
    if !(params.is_object() || params.is_null()) {
        conn.error(
            Some(&request.id),
            INVALID_PARAMS,
            "`params` must be an object",
        );
        return;
    }
    let result = match request.method.as_str() {
        "thread/start" => thread_start(state, conn, &params).await,
        "thread/resume" => thread_resume(state, conn, &params).await,
        "thread/fork" => thread_fork(state, conn, &params).await,
        "thread/list" => thread_list(state, &params).await,
        "thread/read" => thread_read(state, &params).await,
        "thread/archive" => thread_archive(state, &params, true).await,
        "thread/unarchive" => thread_archive(state, &params, false).await,
        "thread/name/set" => thread_name_set(state, &params).await,
        "thread/compact/start" => thread_compact(state, conn, &params).await,
        "thread/search" => thread_search(state, &params).await,
        "turn/start" => turn_start(state, conn, &params).await,
        "turn/interrupt" => turn_interrupt(state, &params),
        "turn/steer" => turn_steer(state, &params).await,
        "thread/loaded/list" => thread_loaded_list(state, params),
        "thread/unsubscribe" => thread_unsubscribe(state, conn, params),
        "thread/delete" => thread_delete(state, conn, params).await,
        "config/read" => {
            typed(params, |p| {
                crate::config_methods::config_read(state, conn, p)
            })
            .await
        }
        "config/value/write" => {
            typed(params, |p| {
                crate::config_methods::config_value_write(state, conn, p)
            })
            .await
        }
        "config/batchWrite" => {
            typed(params, |p| {
                crate::config_methods::config_batch_write(state, conn, p)
            })
            .await
        }
        "configRequirements/read" => {
            typed(params, crate::config_methods::config_requirements_read).await
        }
        "permissionProfile/list" => {
            typed(params, crate::config_methods::permission_profile_list).await
        }
        "experimentalFeature/list" => {
            typed(params, crate::config_methods::experimental_feature_list).await
        }
        "modelProvider/list" => {
            typed(params, |p| crate::models::model_provider_list(state, p)).await
        }
        "modelProvider/capabilities/read" => {
            typed(params, crate::models::model_provider_capabilities_read).await
        }
        "account/read" => typed(params, |p| crate::account::account_read(state, p)).await,
        "account/login/start" | "account/logout" => {
            // The response goes first, then the notifications it causes (as in Codex).
            crate::account::handle(state, conn, &request.id, &request.method, params).await;
            return;
        }
        "model/list" => {
            // Asks the provider: answered from its own task so the connection keeps reading.
            let (conn, id, state) = (conn.clone(), request.id.clone(), Arc::clone(state));
            tokio::spawn(async move {
                let result = typed(params, |p| crate::models::model_list(&state, p)).await;
                reply(&conn, &id, result);
            });
            return;
        }
        "command/exec" => {
            // Can take long: answered from its own task so the connection keeps reading.
            let conn = conn.clone();
            let id = request.id.clone();
            let state = Arc::clone(state);
            tokio::spawn(async move {
                match command_exec(&state, &params).await {
                    Ok(result) => conn.respond(&id, result),
                    Err(e) => conn.error(Some(&id), e.code, e.message),
                }
            });
            return;
        }
        fs if crate::fs_methods::METHODS.contains(&fs) => {
            // File work runs on the blocking pool; the connection keeps reading meanwhile.
            let conn = conn.clone();
            let id = request.id.clone();
            let method = fs.to_string();
            tokio::spawn(async move {
                match crate::fs_methods::handle(&method, params).await {
                    Ok(result) => conn.respond(&id, result),
                    Err((code, message)) => conn.error(Some(&id), code, message),
                }
            });
            return;
        }
        other => Err(RpcError {
            code: METHOD_NOT_FOUND,
            message: format!("method not found: {other}"),
            data: None,
        }),
    };
    reply(conn, &request.id, result);
}

/// What thread/start, resume and fork answer with.
fn thread_response(
    loaded: &Loaded,
    config: &Config,
    instruction_sources: Vec<String>,
    turns: Vec<Value>,
) -> Value {
    let info = loaded.info();
    json!({
        "thread": wire::thread(&info, loaded.status(), turns),
        "model": config.model,
        "modelProvider": config.provider_id,
        "cwd": config.cwd.display().to_string(),
        "approvalPolicy": config.approval_policy.as_str(),
        "approvalsReviewer": "user",
        "sandbox": wire::sandbox_policy(config.sandbox_mode, config),
        "reasoningEffort": config.model_reasoning_effort,
        "instructionSources": instruction_sources,
    })
}

async fn thread_start(state: &Arc<State>, conn: &ConnHandle, params: &Value) -> RpcResult {
    let config = state.thread_config(params, None).await?;
    let ephemeral = state.options.ephemeral
        || params
            .get("ephemeral")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let thread = Thread::new(config.clone()).map_err(|e| RpcError::internal(e.to_string()))?;
    let sources: Vec<String> = thread
        .project_docs()
        .sources
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let now = now_secs();
    let info = ThreadInfo {
        id: thread.id().to_string(),
        created_at: now,
        updated_at: now,
        name: None,
        preview: String::new(),
        cwd: config.cwd.display().to_string(),
        model: config.model.clone(),
        model_provider: config.provider_id.clone(),
        source: state.options.source.clone(),
        forked_from: None,
        archived: false,
        ephemeral,
    };
    if !ephemeral {
        let record = ThreadRecord {
            id: info.id.clone(),
            created_at: now,
            updated_at: now,
            name: None,
            preview: String::new(),
            cwd: info.cwd.clone(),
            model: info.model.clone(),
            model_provider: info.model_provider.clone(),
            source: info.source.clone(),
            archived: false,
            forked_from: None,
            settings: settings_of(&config),
            usage: json!({}),
        };
        let history = thread.history().to_vec();
        let id = record.id.clone();
        // Not waited for: nothing is announced about it yet, and every later write to the
        // thread is queued behind this one.
        state.persist_soon("create thread", move |s| {
            s.insert_thread(&record)?;
            s.append_history(&id, &history)
        });
    }
    let loaded = state.register(thread, info);
    loaded.subscribe(conn);
    let response = thread_response(&loaded, &config, sources, Vec::new());
    conn.notify("thread/started", json!({"thread": response["thread"]}));
    Ok(response)
}

/// The stored turns of a thread in protocol form.
async fn stored_turns(state: &Arc<State>, id: &str) -> Vec<Value> {
    let id = id.to_string();
    let turns = state
        .persist("read turns", move |s| s.turns(&id))
        .await
        .unwrap_or_default();
    turns
        .into_iter()
        .map(|(t, items)| {
            let info = TurnInfo {
                id: t.id,
                status: match t.status.as_str() {
                    "completed" => "completed",
                    "failed" => "failed",
                    "interrupted" => "interrupted",
                    // A turn still "in progress" in the store died with its server.
                    _ => "interrupted",
                },
                error: t.error,
                started_at: t.started_at,
                completed_at: t.completed_at,
                duration_ms: t.duration_ms,
            };
            wire::turn(&info, items, "full")
        })
        .collect()
}

async fn load_from_store(
    state: &Arc<State>,
    id: &str,
    params: &Value,
) -> Result<(Arc<Loaded>, Config), RpcError> {
    let key = id.to_string();
    let record = state
        .persist("read thread", move |s| s.get_thread(&key))
        .await
        .flatten()
        .ok_or_else(|| RpcError::invalid_request(format!("thread not found: {id}")))?;
    let key = id.to_string();
    let history = state
        .persist("read history", move |s| s.history(&key))
        .await
        .unwrap_or_default();
    let config = state.thread_config(params, Some(&record)).await?;
    let thread = Thread::resume(
        config.clone(),
        record.id.clone(),
        history,
        usage_of(&record.usage),
    )
    .map_err(|e| RpcError::internal(e.to_string()))?;
    let mut info = info_of(&record);
    info.model = config.model.clone();
    Ok((state.register(thread, info), config))
}

async fn thread_resume(state: &Arc<State>, conn: &ConnHandle, params: &Value) -> RpcResult {
    let id = required_str(params, "threadId")?;
    let (loaded, config) = match state.loaded(id) {
        Some(loaded) => {
            let config = loaded.config();
            (loaded, config)
        }
        None => load_from_store(state, id, params).await?,
    };
    loaded.subscribe(conn);
    let exclude = params
        .get("excludeTurns")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let turns = if exclude {
        Vec::new()
    } else {
        stored_turns(state, id).await
    };
    let sources = loaded.instruction_sources.clone();
    Ok(thread_response(&loaded, &config, sources, turns))
}

async fn thread_fork(state: &Arc<State>, conn: &ConnHandle, params: &Value) -> RpcResult {
    let src = required_str(params, "threadId")?.to_string();
    let key = src.clone();
    let record = state
        .persist("read thread", move |s| s.get_thread(&key))
        .await
        .flatten()
        .ok_or_else(|| RpcError::invalid_request(format!("thread not found: {src}")))?;
    let now = now_secs();
    let new = ThreadRecord {
        id: uuid::Uuid::now_v7().to_string(),
        created_at: now,
        updated_at: now,
        forked_from: Some(src.clone()),
        ..record
    };
    let new_id = new.id.clone();
    let copy = new.clone();
    state
        .persist("fork thread", move |s| s.fork(&src, &copy))
        .await
        .ok_or_else(|| RpcError::internal("the thread store could not fork the thread"))?;
    let (loaded, config) = load_from_store(state, &new_id, params).await?;
    loaded.subscribe(conn);
    let turns = stored_turns(state, &new_id).await;
    let response = thread_response(&loaded, &config, Vec::new(), turns);
    conn.notify("thread/started", json!({"thread": response["thread"]}));
    Ok(response)
}

async fn thread_list(state: &Arc<State>, params: &Value) -> RpcResult {
    let query = ListQuery {
        cursor: optional_str(params, "cursor")?.map(String::from),
        limit: params.get("limit").and_then(Value::as_u64).unwrap_or(0) as usize,
        archived: params
            .get("archived")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        cwd: optional_str(params, "cwd")?.map(String::from),
        model_providers: params
            .get("modelProviders")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        search: optional_str(params, "searchTerm")?.map(String::from),
    };
    let Some(page) = state
        .persist("list threads", move |s| s.list_threads(&query))
        .await
    else {
        return Ok(json!({"data": [], "nextCursor": null}));
    };
    let data: Vec<Value> = page
        .threads
        .iter()
        .map(|rec| {
            let status = match state.loaded(&rec.id) {
                Some(loaded) => loaded.status(),
                None => json!({"type": "notLoaded"}),
            };
            wire::thread(&info_of(rec), status, Vec::new())
        })
        .collect();
    Ok(json!({"data": data, "nextCursor": page.next_cursor}))
}

/// A thread's client-visible info and status: from memory when loaded, else from the store.
async fn thread_view(state: &Arc<State>, id: &str) -> Result<(ThreadInfo, Value), RpcError> {
    if let Some(loaded) = state.loaded(id) {
        return Ok((loaded.info(), loaded.status()));
    }
    let key = id.to_string();
    match state
        .persist("read thread", move |s| s.get_thread(&key))
        .await
        .flatten()
    {
        Some(rec) => Ok((info_of(&rec), json!({"type": "notLoaded"}))),
        None => Err(RpcError::invalid_request(format!("thread not found: {id}"))),
    }
}

async fn thread_read(state: &Arc<State>, params: &Value) -> RpcResult {
    let id = required_str(params, "threadId")?.to_string();
    let (info, status) = thread_view(state, &id).await?;
    let turns = if params
        .get("includeTurns")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        stored_turns(state, &id).await
    } else {
        Vec::new()
    };
    Ok(json!({"thread": wire::thread(&info, status, turns)}))
}

async fn thread_archive(state: &Arc<State>, params: &Value, archived: bool) -> RpcResult {
    let id = required_str(params, "threadId")?.to_string();
    let key = id.clone();
    state
        .persist("archive thread", move |s| s.set_archived(&key, archived))
        .await
        .ok_or_else(|| RpcError::invalid_request(format!("thread not found: {id}")))?;
    if let Some(loaded) = state.loaded(&id) {
        if let Ok(mut info) = loaded.info.lock() {
            info.archived = archived;
        }
        let method = if archived {
            "thread/archived"
        } else {
            "thread/unarchived"
        };
        loaded.broadcast(method, json!({"threadId": id}));
    }
    if archived {
        return Ok(json!({}));
    }
    // Unarchiving answers with the thread, as Codex does.
    let (info, status) = thread_view(state, &id).await?;
    Ok(json!({"thread": wire::thread(&info, status, Vec::new())}))
}

async fn thread_name_set(state: &Arc<State>, params: &Value) -> RpcResult {
    let id = required_str(params, "threadId")?.to_string();
    let name = optional_str(params, "name")?.map(String::from);
    let (key, stored) = (id.clone(), name.clone());
    state
        .persist("name thread", move |s| s.set_name(&key, stored.as_deref()))
        .await
        .ok_or_else(|| RpcError::invalid_request(format!("thread not found: {id}")))?;
    if let Some(loaded) = state.loaded(&id) {
        if let Ok(mut info) = loaded.info.lock() {
            info.name = name.clone();
        }
        loaded.broadcast(
            "thread/name/updated",
            json!({"threadId": id, "threadName": name}),
        );
    }
    Ok(json!({}))
}

async fn thread_search(state: &Arc<State>, params: &Value) -> RpcResult {
    let query = required_str(params, "query")?.to_string();
    let limit = params.get("limit").and_then(Value::as_u64).unwrap_or(20) as usize;
    let hits = state
        .persist("search", move |s| s.search(&query, limit))
        .await
        .unwrap_or_default();
    let hits: Vec<Value> = hits
        .into_iter()
        .map(|h| json!({"threadId": h.thread_id, "itemId": h.item_id, "snippet": h.snippet}))
        .collect();
    Ok(json!({"hits": hits}))
}

/// A one-off command, under the same sandbox and environment policy as the agent's own
/// (or the `sandboxPolicy` the client names).
async fn command_exec(state: &Arc<State>, params: &Value) -> RpcResult {
    let argv: Vec<String> = match params.get("command") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(String::from))
            .collect::<Option<_>>()
            .ok_or_else(|| RpcError::invalid_params("`command` must be an array of strings"))?,
        _ => {
            return Err(RpcError::invalid_params(
                "missing field `command` (a non-empty array of strings)",
            ))
        }
    };
    let mut scope = json!({});
    if let Some(cwd) = optional_str(params, "cwd")? {
        scope["cwd"] = json!(cwd);
    }
    if let Some(kind) = params
        .get("sandboxPolicy")
        .and_then(|p| p.get("type"))
        .and_then(Value::as_str)
    {
        scope["sandbox"] = json!(parse_sandbox(kind)?.as_str());
    }
    let config = state.thread_config(&scope, None).await?;
    let cwd = config.cwd.clone();
    // The same exec-policy rules and approval policy as the agent's own commands. There is
    // nobody to ask here: what would need a yes is refused.
    let session = wright_core::approval::SessionApprovals::default();
    let plan = wright_core::approval::plan_command(
        &argv,
        false,
        wright_core::approval::CommandContext {
            approval_policy: config.approval_policy,
            sandbox_mode: config.sandbox_mode,
            exec_policy: &config.exec_policy,
            session: &session,
            user_shell: None,
        },
    )
    .map_err(RpcError::invalid_request)?;
    if plan.ask {
        return Err(RpcError::invalid_request(format!(
            "not run: under the approval policy `{}` this command needs approval (it is not known safe, or an exec policy rule asks for it), and command/exec has no way to ask; run it in a turn, or use a policy that does not ask",
            config.approval_policy.as_str()
        )));
    }
    let launch = wright_core::sandbox::SandboxLaunch::from_config(&config)
        .wrap(&argv)
        .map_err(|why| {
            RpcError::invalid_request(format!("not run: the sandbox cannot be enforced: {why}"))
        })?;
    let env = config.shell_environment_policy.apply(std::env::vars());
    let timeout = params
        .get("timeoutMs")
        .and_then(Value::as_u64)
        .unwrap_or(60_000);
    let mut cmd = tokio::process::Command::new(&launch[0]);
    cmd.args(&launch[1..])
        .env_clear()
        .envs(env)
        .current_dir(&cwd)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_millis(timeout), cmd.output())
        .await
        .map_err(|_| RpcError::invalid_request(format!("command timed out after {timeout} ms")))?
        .map_err(|e| RpcError::invalid_request(format!("failed to start `{}`: {e}", argv[0])))?;
    Ok(json!({
        "exitCode": out.status.code().unwrap_or(-1),
        "stdout": String::from_utf8_lossy(&out.stdout),
        "stderr": String::from_utf8_lossy(&out.stderr),
    }))
}

/// `UserInput` list → the engine's input. Text parts are joined; images become data URLs.
fn turn_input(params: &Value) -> Result<(TurnInput, Vec<Value>), RpcError> {
    let Some(items) = params.get("input").and_then(Value::as_array) else {
        return Err(RpcError::invalid_params(
            "missing field `input` (an array of UserInput)",
        ));
    };
    let mut texts = Vec::new();
    let mut images = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.get("type").and_then(Value::as_str) {
            Some("text") => texts.push(
                required_str(item, "text")
                    .map_err(|e| RpcError::invalid_params(format!("input[{i}]: {}", e.message)))?
                    .to_string(),
            ),
            Some("image") => {
                let url = required_str(item, "url")
                    .map_err(|e| RpcError::invalid_params(format!("input[{i}]: {}", e.message)))?;
                images.push(ImageInput {
                    data_url: url.to_string(),
                });
            }
            Some("localImage") => {
                let path = required_str(item, "path")
                    .map_err(|e| RpcError::invalid_params(format!("input[{i}]: {}", e.message)))?;
                // Checked before reading: a path like /dev/zero or a FIFO must not take the
                // server down.
                let meta = std::fs::metadata(path).map_err(|e| {
                    RpcError::invalid_params(format!("input[{i}].path {path}: {e}"))
                })?;
                if !meta.is_file() || meta.len() > MAX_IMAGE_BYTES {
                    return Err(RpcError::invalid_params(format!(
                        "input[{i}].path {path}: not a regular file of at most {} MiB",
                        MAX_IMAGE_BYTES >> 20
                    )));
                }
                let bytes = std::fs::read(path).map_err(|e| {
                    RpcError::invalid_params(format!("input[{i}].path {path}: {e}"))
                })?;
                let mime = match std::path::Path::new(path)
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("png") => "image/png",
                    Some("jpg" | "jpeg") => "image/jpeg",
                    Some("gif") => "image/gif",
                    Some("webp") => "image/webp",
                    _ => {
                        return Err(RpcError::invalid_params(format!(
                            "input[{i}].path {path}: not a png, jpeg, gif or webp image"
                        )))
                    }
                };
                use base64::Engine;
                let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
                images.push(ImageInput {
                    data_url: format!("data:{mime};base64,{data}"),
                });
            }
            Some(other) => {
                return Err(RpcError::invalid_params(format!(
                    "input[{i}].type: unsupported input `{other}`"
                )))
            }
            None => {
                return Err(RpcError::invalid_params(format!(
                    "input[{i}]: missing field `type`"
                )))
            }
        }
    }
    let content: Vec<Value> = items.clone();
    Ok((
        TurnInput {
            text: texts.join("\n"),
            images,
            output_schema: params.get("outputSchema").filter(|s| !s.is_null()).cloned(),
            overrides: TurnOverrides::default(),
        },
        content,
    ))
}

fn turn_overrides(params: &Value) -> Result<TurnOverrides, RpcError> {
    let sandbox = match params
        .get("sandboxPolicy")
        .and_then(|p| p.get("type"))
        .and_then(Value::as_str)
    {
        Some(kind) => Some(parse_sandbox(kind)?),
        None => None,
    };
    check_reviewer(params)?;
    Ok(TurnOverrides {
        cwd: optional_str(params, "cwd")?.map(PathBuf::from),
        sandbox_mode: sandbox,
        approval_policy: optional_str(params, "approvalPolicy")?
            .map(parse_policy)
            .transpose()?,
        model: optional_str(params, "model")?.map(String::from),
        effort: optional_str(params, "effort")?.map(String::from),
        network_access: params
            .get("sandboxPolicy")
            .and_then(|p| p.get("networkAccess"))
            .and_then(Value::as_bool),
    })
}

async fn turn_start(state: &Arc<State>, conn: &ConnHandle, params: &Value) -> RpcResult {
    let loaded = state.loaded_or_err(params)?;
    let (mut input, content) = turn_input(params)?;
    input.overrides = turn_overrides(params)?;
    let user_item = wire::user_message(&uuid::Uuid::now_v7().to_string(), &content);
    start_turn(state, conn, loaded, input, Some(user_item))
}

async fn thread_compact(state: &Arc<State>, conn: &ConnHandle, params: &Value) -> RpcResult {
    let loaded = state.loaded_or_err(params)?;
    let input = TurnInput {
        text: wright_core::COMPACT_COMMAND.to_string(),
        ..Default::default()
    };
    start_turn(state, conn, loaded, input, None)?;
    Ok(json!({}))
}

fn start_turn(
    state: &Arc<State>,
    conn: &ConnHandle,
    loaded: Arc<Loaded>,
    input: TurnInput,
    user_item: Option<Value>,
) -> RpcResult {
    let turn_id = uuid::Uuid::now_v7().to_string();
    let cancel = CancellationToken::new();
    {
        let Ok(mut active) = loaded.active.lock() else {
            return Err(RpcError::internal("thread state poisoned"));
        };
        if let Some(running) = active.as_ref() {
            return Err(RpcError::invalid_request(format!(
                "turn {} is still running on this thread: steer it (turn/steer) or interrupt it (turn/interrupt) first",
                running.id
            )));
        }
        let steer = loaded.steer.clone();
        *active = Some(ActiveTurn {
            id: turn_id.clone(),
            cancel: cancel.clone(),
            steer,
        });
    }
    loaded.subscribe(conn);
    let info = TurnInfo {
        id: turn_id.clone(),
        status: "inProgress",
        error: None,
        started_at: None,
        completed_at: None,
        duration_ms: None,
    };
    let response = json!({"turn": wire::turn(&info, Vec::new(), "notLoaded")});
    tokio::spawn(run_turn(
        Arc::clone(state),
        loaded,
        conn.clone(),
        turn_id,
        input,
        user_item,
        cancel,
    ));
    Ok(response)
}

fn turn_interrupt(state: &Arc<State>, params: &Value) -> RpcResult {
    let loaded = state.loaded_or_err(params)?;
    let turn_id = required_str(params, "turnId")?;
    let active = loaded
        .active
        .lock()
        .map_err(|_| RpcError::internal("thread state poisoned"))?;
    match active.as_ref() {
        Some(turn) if turn.id == turn_id => {
            turn.cancel.cancel();
            Ok(json!({}))
        }
        _ => Err(RpcError::invalid_request(format!(
            "no running turn {turn_id} on this thread"
        ))),
    }
}

async fn turn_steer(state: &Arc<State>, params: &Value) -> RpcResult {
    let loaded = state.loaded_or_err(params)?;
    let expected = required_str(params, "expectedTurnId")?;
    let (input, content) = turn_input(params)?;
    let turn_id = {
        let active = loaded
            .active
            .lock()
            .map_err(|_| RpcError::internal("thread state poisoned"))?;
        match active.as_ref() {
            Some(turn) if turn.id == expected => {
                turn.steer.push(&input);
                turn.id.clone()
            }
            Some(turn) => {
                return Err(RpcError::invalid_request(format!(
                    "expectedTurnId {expected} is not the running turn ({})",
                    turn.id
                )))
            }
            None => {
                return Err(RpcError::invalid_request(
                    "no turn is running on this thread",
                ))
            }
        }
    };
    let item = wire::user_message(&uuid::Uuid::now_v7().to_string(), &content);
    // Durable before visible, like every other item.
    let (tid, uid, stored) = (loaded.id.clone(), turn_id.clone(), item.clone());
    state
        .persist("save steered message", move |s| {
            s.put_item(&tid, &uid, &stored)
        })
        .await;
    let now = now_ms();
    loaded.broadcast(
        "item/started",
        json!({"item": item, "threadId": loaded.id, "turnId": turn_id, "startedAtMs": now}),
    );
    loaded.broadcast(
        "item/completed",
        json!({"item": item, "threadId": loaded.id, "turnId": turn_id, "completedAtMs": now}),
    );
    Ok(json!({"turnId": turn_id}))
}

/// A question for the client, handed to the turn's event pump so that it goes out after
/// the events that came before it (the item it is about is announced first).
struct Question {
    method: &'static str,
    params: Value,
    sent: oneshot::Sender<(i64, oneshot::Receiver<Result<Value, Value>>)>,
}

/// Asks the client that started the turn. While the question is open the thread is marked
/// as waiting; if the turn goes away first, the question is withdrawn.
fn approver(
    loaded: Arc<Loaded>,
    owner: ConnHandle,
    turn_id: String,
    questions: mpsc::UnboundedSender<Question>,
) -> Approver {
    Arc::new(move |request: ApprovalRequest| {
        let (loaded, owner, turn_id, questions) = (
            Arc::clone(&loaded),
            owner.clone(),
            turn_id.clone(),
            questions.clone(),
        );
        Box::pin(async move {
            let thread_id = loaded.id.clone();
            let started = now_ms();
            let (method, params) = match request {
                ApprovalRequest::Command {
                    item_id,
                    command,
                    argv,
                    cwd,
                    reason,
                } => (
                    "item/commandExecution/requestApproval",
                    json!({
                        "kind": "command",
                        "threadId": thread_id,
                        "turnId": turn_id,
                        "itemId": item_id,
                        "startedAtMs": started,
                        "environmentId": "local",
                        "reason": reason,
                        "command": command,
                        "cwd": cwd.display().to_string(),
                        "commandActions": [{"type": "unknown", "command": argv.last().cloned().unwrap_or_default()}],
                        "proposedExecpolicyAmendment": argv,
                        "availableDecisions": ["accept", "acceptForSession", "decline", "cancel"],
                    }),
                ),
                ApprovalRequest::Patch {
                    item_id, reason, ..
                } => (
                    "item/fileChange/requestApproval",
                    json!({
                        "threadId": thread_id,
                        "turnId": turn_id,
                        "itemId": item_id,
                        "startedAtMs": started,
                        "reason": reason,
                        "grantRoot": null,
                    }),
                ),
            };
            let (sent, asked) = oneshot::channel();
            if questions
                .send(Question {
                    method,
                    params,
                    sent,
                })
                .is_err()
            {
                return ReviewDecision::Cancel;
            }
            let Ok((id, reply)) = asked.await else {
                return ReviewDecision::Cancel;
            };
            let guard = ResolveGuard {
                loaded: Arc::clone(&loaded),
                owner: owner.clone(),
                id: Mutex::new(Some(id)),
            };
            let reply = reply.await;
            guard.resolve();
            let reply = match reply {
                Ok(Ok(value)) => Some(value),
                // The client answered with an error: this one command (or patch) fails, the
                // model is told, and the turn goes on, as in Codex.
                Ok(Err(_)) => return ReviewDecision::Decline,
                // Nobody left to answer.
                Err(_) => None,
            };
            match reply.as_ref().and_then(|r| r.get("decision")) {
                Some(Value::String(d)) => match d.as_str() {
                    "accept" | "approved" => ReviewDecision::Accept,
                    "acceptForSession" | "approved_for_session" => ReviewDecision::AcceptForSession,
                    "decline" | "denied" => ReviewDecision::Decline,
                    _ => ReviewDecision::Cancel,
                },
                // `{"acceptWithExecpolicyAmendment": …}`: allowed from now on.
                Some(Value::Object(_)) => ReviewDecision::AcceptForSession,
                _ => ReviewDecision::Cancel,
            }
        })
    })
}

/// Announces `serverRequest/resolved` exactly once: when the answer came, or when the
/// question was dropped unanswered.
struct ResolveGuard {
    loaded: Arc<Loaded>,
    owner: ConnHandle,
    id: Mutex<Option<i64>>,
}

impl ResolveGuard {
    fn resolve(&self) {
        let Some(id) = self.id.lock().ok().and_then(|mut slot| slot.take()) else {
            return;
        };
        self.owner.withdraw(id);
        let thread_id = self.loaded.id.clone();
        self.loaded.broadcast(
            "serverRequest/resolved",
            json!({"threadId": thread_id, "requestId": id}),
        );
        self.loaded.broadcast(
            "thread/status/changed",
            json!({"threadId": thread_id, "status": wire::active(false)}),
        );
    }
}

impl Drop for ResolveGuard {
    fn drop(&mut self) {
        self.resolve();
    }
}

async fn run_turn(
    state: Arc<State>,
    loaded: Arc<Loaded>,
    owner: ConnHandle,
    turn_id: String,
    input: TurnInput,
    user_item: Option<Value>,
    cancel: CancellationToken,
) {
    let thread_id = loaded.id.clone();
    let started_at = now_secs();
    let clock = Instant::now();
    let mut info = TurnInfo {
        id: turn_id.clone(),
        status: "inProgress",
        error: None,
        started_at: Some(started_at),
        completed_at: None,
        duration_ms: None,
    };
    let record = |info: &TurnInfo| TurnRecord {
        thread_id: thread_id.clone(),
        id: info.id.clone(),
        status: info.status.to_string(),
        error: info.error.clone(),
        started_at: info.started_at,
        completed_at: info.completed_at,
        duration_ms: info.duration_ms,
    };
    // The turn's start is saved and announced by the event pump, first, while the engine
    // already sends the model its request: the request does not wait for the disk.
    let prologue = {
        let first = record(&info);
        let (state, loaded) = (Arc::clone(&state), Arc::clone(&loaded));
        let (thread_id, turn_id) = (thread_id.clone(), turn_id.clone());
        let started =
            json!({"threadId": thread_id, "turn": wire::turn(&info, Vec::new(), "notLoaded")});
        let preview: String = input.text.chars().take(PREVIEW_CHARS).collect();
        let user_item = user_item.clone();
        async move {
            state
                .persist("save turn", move |s| s.upsert_turn(&first))
                .await;
            loaded.broadcast(
                "thread/status/changed",
                json!({"threadId": thread_id, "status": wire::active(false)}),
            );
            loaded.broadcast("turn/started", started);
            if let Some(item) = user_item {
                let (tid, uid, stored, shown) = (
                    thread_id.clone(),
                    turn_id.clone(),
                    item.clone(),
                    preview.clone(),
                );
                state
                    .persist("save user message", move |s| {
                        s.put_item(&tid, &uid, &stored)?;
                        s.touch(&tid, now_secs(), Some(&shown), None, None)
                    })
                    .await;
                if let Ok(mut i) = loaded.info.lock() {
                    if i.preview.is_empty() {
                        i.preview = preview;
                    }
                }
                let now = now_ms();
                loaded.broadcast(
                    "item/started",
                    json!({"item": item, "threadId": thread_id, "turnId": turn_id, "startedAtMs": now}),
                );
                loaded.broadcast(
                    "item/completed",
                    json!({"item": item, "threadId": thread_id, "turnId": turn_id, "completedAtMs": now}),
                );
            }
        }
    };

    let (tx, rx) = mpsc::unbounded_channel();
    let (questions_tx, questions) = mpsc::unbounded_channel();
    let pump = tokio::spawn({
        let events = pump_events(
            Arc::clone(&state),
            Arc::clone(&loaded),
            owner.clone(),
            turn_id.clone(),
            rx,
            questions,
        );
        async move {
            prologue.await;
            events.await
        }
    });
    let (outcome, usage, settings) = {
        let mut thread = loaded.thread.lock().await;
        thread.set_approver(Some(approver(
            Arc::clone(&loaded),
            owner,
            turn_id.clone(),
            questions_tx,
        )));
        // A panic in the engine must not leave the thread "active" forever or a client
        // waiting for a turn/completed that never comes.
        let outcome = match std::panic::AssertUnwindSafe(thread.run_turn(input, &tx, cancel))
            .catch_unwind()
            .await
        {
            Ok(outcome) => outcome,
            Err(_) => TurnOutcome::Failed {
                message: "internal error: the turn crashed (see the server log)".into(),
            },
        };
        thread.set_approver(None);
        if let Ok(mut config) = loaded.config.lock() {
            *config = thread.config().clone();
        }
        (outcome, thread.usage(), settings_of(thread.config()))
    };
    drop(tx);
    let last_message = pump.await.unwrap_or(None);

    info.completed_at = Some(now_secs());
    info.duration_ms = Some(clock.elapsed().as_millis() as i64);
    let (status, error) = match &outcome {
        TurnOutcome::Completed { .. } => ("completed", None),
        TurnOutcome::Failed { message } => ("failed", Some(message.clone())),
        TurnOutcome::Interrupted => ("interrupted", None),
    };
    info.status = status;
    info.error = error;
    let last = record(&info);
    let tid = thread_id.clone();
    let usage_json = serde_json::to_value(usage).unwrap_or(Value::Null);
    state
        .persist("finish turn", move |s| {
            s.upsert_turn(&last)?;
            s.touch(&tid, now_secs(), None, Some(&settings), Some(&usage_json))
        })
        .await;
    if let Ok(mut i) = loaded.info.lock() {
        i.updated_at = now_secs();
    }
    // Cleared and announced under the lock, so a next turn's `turn/started` cannot come
    // before this turn's `turn/completed`.
    let mut active = loaded.active.lock().unwrap_or_else(|p| p.into_inner());
    *active = None;
    loaded.broadcast(
        "thread/status/changed",
        json!({"threadId": thread_id, "status": wire::idle()}),
    );
    let items: Vec<Value> = last_message.into_iter().collect();
    loaded.broadcast(
        "turn/completed",
        json!({"threadId": thread_id, "turn": wire::turn(&info, items, "summary")}),
    );
}

/// Engine events → store writes, then notifications, in order. Returns the turn's last agent
/// message item (for `turn/completed`).
async fn pump_events(
    state: Arc<State>,
    loaded: Arc<Loaded>,
    owner: ConnHandle,
    turn_id: String,
    mut rx: mpsc::UnboundedReceiver<Event>,
    mut questions: mpsc::UnboundedReceiver<Question>,
) -> Option<Value> {
    let thread_id = loaded.id.clone();
    let mut started_messages: HashSet<String> = HashSet::new();
    let mut last_message = None;
    let envelope = |item: &Value, key: &str| json!({"item": item, "threadId": thread_id, "turnId": turn_id, key: now_ms()});
    loop {
        // Events first: a question must follow the events emitted before it was asked.
        let event = tokio::select! {
                    biased;
                    event = rx.recv() => match event {
                        Some(event) => event,
                        None => break,
                    },
        Some(question) = questions.recv() => {
                        // Dropped by an interrupt while queued: do not ask at all.
                        if question.sent.is_closed() {
                            continue;
                        }
                        loaded.broadcast("thread/status/changed", json!({"threadId": thread_id, "status": wire::active(true)}));
                        let (id, reply) = owner.start_request(question.method, question.params);
                        if let Err((id, _)) = question.sent.send((id, reply)) {
                            owner.withdraw(id);
                            loaded.broadcast("serverRequest/resolved", json!({"threadId": thread_id, "requestId": id}));
                        }
                        continue;
                    }
                };
        match event {
            Event::TurnStarted | Event::TurnCompleted { .. } => {}
            Event::ItemStarted(item) | Event::ItemUpdated(item)
                if matches!(item.details, ItemDetails::TodoList { .. }) =>
            {
                plan_updated(&loaded, &turn_id, &item.details);
            }
            Event::ItemStarted(item) => {
                if let Some(v) = wire::item(&item) {
                    loaded.broadcast("item/started", envelope(&v, "startedAtMs"));
                }
            }
            Event::ItemUpdated(_) => {}
            Event::ItemCompleted(item) => {
                // The plan's final state was already announced by its last update.
                if let ItemDetails::TodoList { .. } = item.details {
                    continue;
                }
                let Some(v) = wire::item(&item) else { continue };
                let is_message = matches!(
                    item.details,
                    ItemDetails::AgentMessage { .. } | ItemDetails::Reasoning { .. }
                );
                if is_message && started_messages.insert(item.id.clone()) {
                    let mut empty = v.clone();
                    if empty.get("text").is_some() {
                        empty["text"] = json!("");
                    }
                    loaded.broadcast("item/started", envelope(&empty, "startedAtMs"));
                }
                // Durable before visible.
                let (tid, uid, stored) = (thread_id.clone(), turn_id.clone(), v.clone());
                state
                    .persist("save item", move |s| s.put_item(&tid, &uid, &stored))
                    .await;
                if let ItemDetails::AgentMessage { .. } = item.details {
                    last_message = Some(v.clone());
                }
                loaded.broadcast("item/completed", envelope(&v, "completedAtMs"));
            }
            Event::AgentMessageDelta { item_id, delta } => {
                if started_messages.insert(item_id.clone()) {
                    let item =
                        json!({"type": "agentMessage", "id": item_id, "text": "", "phase": null});
                    loaded.broadcast("item/started", envelope(&item, "startedAtMs"));
                }
                loaded.broadcast("item/agentMessage/delta", json!({"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": delta}));
            }
            Event::ReasoningDelta {
                item_id,
                summary_index,
                delta,
            } => {
                if started_messages.insert(item_id.clone()) {
                    let item =
                        json!({"type": "reasoning", "id": item_id, "summary": [], "content": []});
                    loaded.broadcast("item/started", envelope(&item, "startedAtMs"));
                }
                loaded.broadcast(
                    "item/reasoning/summaryTextDelta",
                    json!({"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "summaryIndex": summary_index, "delta": delta}),
                );
            }
            Event::CommandOutputDelta { item_id, delta } => {
                loaded.broadcast("item/commandExecution/outputDelta", json!({"threadId": thread_id, "turnId": turn_id, "itemId": item_id, "delta": delta}));
            }
            Event::TurnDiff { diff } => {
                loaded.broadcast(
                    "turn/diff/updated",
                    json!({"threadId": thread_id, "turnId": turn_id, "diff": diff}),
                );
            }
            Event::UsageUpdated {
                total,
                last,
                context_window,
            } => {
                loaded.broadcast("thread/tokenUsage/updated", json!({
                    "threadId": thread_id,
                    "turnId": turn_id,
                    "tokenUsage": {"total": wire::usage_breakdown(&total), "last": wire::usage_breakdown(&last), "modelContextWindow": context_window},
                }));
            }
            Event::HistoryAppended(items) => {
                let tid = thread_id.clone();
                state
                    .persist("append history", move |s| s.append_history(&tid, &items))
                    .await;
            }
            Event::HistoryReplaced(items) => {
                let tid = thread_id.clone();
                state
                    .persist("replace history", move |s| s.replace_history(&tid, &items))
                    .await;
            }
            Event::ContextCompacted { id } => {
                let item = wire::context_compaction(&id);
                let (tid, uid, stored) = (thread_id.clone(), turn_id.clone(), item.clone());
                state
                    .persist("save item", move |s| s.put_item(&tid, &uid, &stored))
                    .await;
                loaded.broadcast("item/started", envelope(&item, "startedAtMs"));
                loaded.broadcast("item/completed", envelope(&item, "completedAtMs"));
                loaded.broadcast(
                    "thread/compacted",
                    json!({"threadId": thread_id, "turnId": turn_id}),
                );
            }
            Event::Error { message } => {
                loaded.broadcast("error", json!({"error": {"message": message, "codexErrorInfo": null, "additionalDetails": null}, "threadId": thread_id, "turnId": turn_id, "willRetry": true}));
            }
            // An interrupt is not an error (Codex sends none): `turn/completed` says
            // "interrupted".
            Event::TurnFailed { message, .. } if message == wright_core::TURN_INTERRUPTED => {}
            Event::TurnFailed { message, .. } => {
                loaded.broadcast("error", json!({"error": {"message": message, "codexErrorInfo": null, "additionalDetails": null}, "threadId": thread_id, "turnId": turn_id, "willRetry": false}));
            }
        }
    }
    last_message
}

fn plan_updated(loaded: &Loaded, turn_id: &str, details: &ItemDetails) {
    let ItemDetails::TodoList { items } = details else {
        return;
    };
    let plan: Vec<Value> = items
        .iter()
        .map(|i| json!({"step": i.text, "status": if i.completed { "completed" } else { "pending" }}))
        .collect();
    loaded.broadcast(
        "turn/plan/updated",
        json!({"threadId": loaded.id, "turnId": turn_id, "explanation": null, "plan": plan}),
    );
}

/// The version of Codex's App Server protocol wright implements: clients gate features on
/// the version in `userAgent`.
pub const CODEX_PROTOCOL_VERSION: &str = "0.169.0";

/// Codex's shape, `{client}/{version} ({os} {os version}; {arch}) {terminal} ({client};
/// {client version})`, with the Codex protocol version first and wright's own in the terminal
/// slot: `vscode/0.169.0 (Debian 12; x86_64) wright/0.1.0 (vscode; 1.2.3)`.
pub fn user_agent(client: &str, client_version: &str) -> String {
    format!(
        "{client}/{CODEX_PROTOCOL_VERSION} ({}; {}) wright/{} ({client}; {client_version})",
        os_name(),
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION")
    )
}

/// `NAME VERSION_ID` from /etc/os-release, else the OS family.
fn os_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim_matches('"').to_string())
        };
        match (field("NAME="), field("VERSION_ID=")) {
            (Some(n), Some(v)) => format!("{} {v}", n.split_whitespace().next().unwrap_or(&n)),
            (Some(n), None) => n,
            _ => std::env::consts::OS.to_string(),
        }
    })
    .clone()
}

#[cfg(test)]
mod user_agent_tests {
    #[test]
    fn codex_version_first_wright_beside_it() {
        let ua = super::user_agent("vscode", "1.2.3");
        assert!(ua.starts_with("vscode/0.169.0 ("), "{ua}");
        assert!(
            ua.contains(&format!(
                ") wright/{} (vscode; 1.2.3)",
                env!("CARGO_PKG_VERSION")
            )),
            "{ua}"
        );
    }
}
