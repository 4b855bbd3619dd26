//! The supervisor of every configured server: each starts in its own task, is watched, and is
//! restarted with backoff when it fails. Nothing here waits for a server unless a caller asks
//! to use that very server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CancelledNotificationParam, ClientRequest,
    PaginatedRequestParams, ReadResourceRequestParams, ServerResult,
};
use rmcp::service::{PeerRequestOptions, ServiceError};
use rmcp::{Peer, RoleClient};
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::config::{McpServerConfig, McpServers, McpTransport};
use crate::connection::{self, ProgressRoutes};
use crate::output::ToolResult;
use crate::stdio::StderrTail;

/// Codex's defaults: ten seconds to start, a minute per call.
pub(crate) const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// Starts that may fail in a row before the server is left failed until a reload.
pub(crate) const MAX_FAILED_STARTS: u32 = 6;
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a call's progress route stays open after its answer.
const PROGRESS_GRACE: Duration = Duration::from_millis(15);

/// Wraps a stdio server's argv so that it runs confined (the sandbox launcher); `Err` says why
/// it cannot be confined here.
pub type Launcher = Arc<dyn Fn(&[String]) -> Result<Vec<String>, String> + Send + Sync>;

pub struct McpOptions {
    pub servers: McpServers,
    /// Confines stdio servers whose config does not say `sandbox = false`. `None`: the session
    /// runs unconfined (`danger-full-access`), and so do its servers.
    pub launcher: Option<Launcher>,
    /// The environment stdio servers start from (already stripped of secrets); each server's
    /// `env` is added to it.
    pub env: Vec<(String, String)>,
    /// Where stdio servers run when their config names no `cwd`.
    pub cwd: PathBuf,
    /// Where `wright mcp login` keeps tokens for streamable HTTP servers (wright's home);
    /// `None`: no OAuth.
    pub oauth_home: Option<PathBuf>,
}

impl McpOptions {
    /// No servers.
    pub fn none() -> McpOptions {
        McpOptions {
            servers: McpServers::new(),
            launcher: None,
            env: Vec::new(),
            cwd: PathBuf::from("/"),
            oauth_home: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ServerState {
    Starting,
    Ready,
    Failed,
    Disabled,
}

impl ServerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Starting => "starting",
            ServerState::Ready => "ready",
            ServerState::Failed => "failed",
            ServerState::Disabled => "disabled",
        }
    }
}

/// What `/mcp`, `mcpServerStatus/list` and the events say about a server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    pub name: String,
    pub state: ServerState,
    /// Why it is not ready (the last failure), if it failed.
    pub error: Option<String>,
    /// Its tools as the model names them (ready servers only).
    pub tools: Vec<String>,
    /// Starts after the first.
    pub restarts: u32,
    pub transport: &'static str,
}

/// A tool of a ready server, as offered to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct McpTool {
    /// `mcp__<server>__<tool>`.
    pub qualified: String,
    pub server: String,
    /// The server's own name for it.
    pub name: String,
    pub description: String,
    pub input_schema: Value,
    /// The server says it changes nothing (`readOnlyHint`).
    pub read_only: bool,
}

impl McpTool {
    /// Its declaration for the Responses API (`strict: false`, the server's schema as is).
    pub fn spec(&self) -> Value {
        json!({
            "type": "function",
            "name": self.qualified,
            "description": self.description,
            "strict": false,
            "parameters": self.input_schema,
        })
    }

    /// The approval mode configured for it: its own, else its server's, else `auto`.
    pub fn approval_mode<'a>(&self, config: &'a McpServerConfig) -> &'a str {
        config
            .tool_approval_modes
            .get(&self.name)
            .or(config.default_tools_approval_mode.as_ref())
            .map(String::as_str)
            .unwrap_or("auto")
    }
}

/// Something a server did that someone may want to show.
#[derive(Debug, Clone)]
pub enum McpEvent {
    Status(ServerStatus),
    /// A `notifications/message` from the server.
    Log {
        server: String,
        level: String,
        message: String,
    },
    /// The set of ready tools changed.
    ToolsChanged,
}

/// A `notifications/progress` for a call in flight (`progress` is NaN for a relayed log
/// message).
#[derive(Debug, Clone)]
pub struct Progress {
    pub progress: f64,
    pub total: Option<f64>,
    pub message: Option<String>,
}

/// Why a request to a server did not give a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("unknown MCP server `{0}`")]
    UnknownServer(String),
    #[error("MCP server `{0}` is disabled in config.toml")]
    Disabled(String),
    #[error("MCP server `{server}` is not available: {reason}")]
    NotReady { server: String, reason: String },
    #[error("MCP server `{server}` did not answer within {secs} s (tool_timeout_sec)")]
    Timeout { server: String, secs: u64 },
    #[error("MCP server `{server}` failed during the call: {reason}")]
    Failed { server: String, reason: String },
    #[error("MCP server `{server}` returned an error: {message}")]
    Server { server: String, message: String },
    #[error("the call was cancelled")]
    Cancelled,
}

/// A ready server: its peer and its tools.
#[derive(Clone)]
pub(crate) struct Live {
    pub(crate) peer: Peer<RoleClient>,
    pub(crate) tools: Arc<Vec<McpTool>>,
    pub(crate) progress: ProgressRoutes,
    /// Explains a dead session (bad output, exit status, stderr).
    pub(crate) stderr: Option<StderrTail>,
    pub(crate) failure: watch::Receiver<Option<String>>,
    /// Signalled by `notifications/tools/list_changed`.
    pub(crate) tools_changed: Arc<tokio::sync::Notify>,
    /// The server's answer to `initialize` (its `serverInfo`, `capabilities`, ...), as JSON.
    pub(crate) initialize: Option<Value>,
}

pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) config: McpServerConfig,
    pub(crate) status: Mutex<ServerStatus>,
    pub(crate) live: watch::Sender<Option<Live>>,
}

pub(crate) struct Inner {
    slots: BTreeMap<String, Arc<Slot>>,
    pub(crate) events: broadcast::Sender<McpEvent>,
    pub(crate) shutdown: CancellationToken,
    /// Servers in the order they first became ready: their tools are listed in this order,
    /// so a later server's tools come after an earlier one's.
    pub(crate) ready_order: Mutex<Vec<String>>,
}

/// The MCP servers of one wright process. Cheap to clone; every clone sees a reload.
#[derive(Clone)]
pub struct McpManager {
    shared: Arc<Shared>,
}

struct Shared {
    events: broadcast::Sender<McpEvent>,
    current: std::sync::RwLock<Arc<Inner>>,
    /// Whether the servers were ever configured ([`McpManager::pending`] starts without).
    configured: watch::Sender<bool>,
}

impl McpManager {
    /// Starts every enabled server in the background and returns at once. Needs a tokio
    /// runtime.
    pub fn start(options: McpOptions) -> McpManager {
        let manager = Self::pending();
        manager.reload(options);
        manager
    }

    /// A manager whose servers are not known yet (the config is still being read): calls
    /// to it wait, briefly, for [`McpManager::reload`] to say what they are.
    pub fn pending() -> McpManager {
        let (events, _) = broadcast::channel(256);
        let inner = launch(McpOptions::none(), events.clone());
        McpManager {
            shared: Arc::new(Shared {
                events,
                current: std::sync::RwLock::new(inner),
                configured: watch::channel(false).0,
            }),
        }
    }

    /// Stops every server and starts the ones `options` configure (`config/mcpServer/reload`).
    pub fn reload(&self, options: McpOptions) {
        let fresh = launch(options, self.shared.events.clone());
        let old = match self.shared.current.write() {
            Ok(mut current) => std::mem::replace(&mut *current, fresh),
            Err(_) => return,
        };
        old.shutdown.cancel();
        self.shared.configured.send_replace(true);
        let _ = self.shared.events.send(McpEvent::ToolsChanged);
    }

    /// Waits (at most `limit`) until the servers are configured, then until `server` (or, with
    /// `None`, every server) has stopped starting: ready, failed or given up. For a call or a
    /// search that arrives before a server is up; the first model request never waits.
    pub async fn wait_started(&self, server: Option<&str>, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut configured = self.shared.configured.subscribe();
        if tokio::time::timeout(limit, configured.wait_for(|c| *c))
            .await
            .is_err()
        {
            return;
        }
        let mut events = self.subscribe();
        loop {
            let starting = self.statuses().iter().any(|s| {
                s.state == ServerState::Starting && server.is_none_or(|name| s.name == name)
            });
            if !starting {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, events.recv()).await.is_err() {
                return;
            }
        }
    }

    fn inner(&self) -> Arc<Inner> {
        match self.shared.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

fn launch(options: McpOptions, events: broadcast::Sender<McpEvent>) -> Arc<Inner> {
    let shutdown = CancellationToken::new();
    let options = Arc::new(options);
    let mut slots = BTreeMap::new();
    for (name, config) in &options.servers {
        let state = if config.enabled {
            ServerState::Starting
        } else {
            ServerState::Disabled
        };
        let slot = Arc::new(Slot {
            name: name.clone(),
            config: config.clone(),
            status: Mutex::new(ServerStatus {
                name: name.clone(),
                state,
                error: None,
                tools: Vec::new(),
                restarts: 0,
                transport: match config.transport {
                    McpTransport::Stdio { .. } => "stdio",
                    McpTransport::StreamableHttp { .. } => "streamable_http",
                },
            }),
            live: watch::channel(None).0,
        });
        slots.insert(name.clone(), slot);
    }
    let inner = Arc::new(Inner {
        slots,
        events,
        shutdown,
        ready_order: Mutex::new(Vec::new()),
    });
    for slot in inner.slots.values() {
        if slot.config.enabled {
            tokio::spawn(crate::supervisor::supervise(
                Arc::clone(&inner),
                Arc::clone(slot),
                Arc::clone(&options),
            ));
        }
    }
    inner
}

impl McpManager {
    /// A manager with no servers.
    pub fn empty() -> McpManager {
        Self::start(McpOptions::none())
    }

    /// Whether the servers are known (a pending manager's are not until its first reload).
    pub fn is_configured(&self) -> bool {
        *self.shared.configured.borrow()
    }

    /// Whether any server is configured (enabled or not).
    pub fn has_servers(&self) -> bool {
        !self.inner().slots.is_empty()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<McpEvent> {
        self.shared.events.subscribe()
    }

    /// Every configured server, by name.
    pub fn statuses(&self) -> Vec<ServerStatus> {
        self.inner()
            .slots
            .values()
            .filter_map(|s| s.status.lock().ok().map(|s| s.clone()))
            .collect()
    }

    /// The ready tool the model knows as `qualified`, if any.
    pub fn tool(&self, qualified: &str) -> Option<McpTool> {
        let inner = self.inner();
        inner.slots.values().find_map(|slot| {
            let live = slot.live.borrow();
            live.as_ref()
                .and_then(|l| l.tools.iter().find(|t| t.qualified == qualified).cloned())
        })
    }

    /// A ready server's answer to `initialize` (`serverInfo`, `capabilities`,
    /// `protocolVersion`, `instructions`), as MCP sent it.
    pub fn server_initialize(&self, server: &str) -> Option<Value> {
        let inner = self.inner();
        let slot = inner.slots.get(server)?;
        let live = slot.live.borrow();
        live.as_ref().and_then(|l| l.initialize.clone())
    }

    pub fn server_config(&self, server: &str) -> Option<McpServerConfig> {
        self.inner().slots.get(server).map(|s| s.config.clone())
    }

    /// The tools of ready servers, servers in the order they became ready.
    pub fn tools(&self) -> Vec<McpTool> {
        let inner = self.inner();
        let order = inner
            .ready_order
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        order
            .iter()
            .filter_map(|name| inner.slots.get(name))
            .filter_map(|slot| slot.live.borrow().as_ref().map(|l| Arc::clone(&l.tools)))
            .flat_map(|tools| tools.as_ref().clone())
            .collect()
    }

    /// Calls `tool` on `server`. Waits for a server that is (re)starting, up to its startup
    /// timeout; gives up after `tool_timeout_sec`; `cancel` sends `notifications/cancelled`.
    pub async fn call_tool(
        &self,
        server: &str,
        tool: &str,
        arguments: Option<Map<String, Value>>,
        progress: Option<mpsc::UnboundedSender<Progress>>,
        cancel: CancellationToken,
    ) -> Result<ToolResult, CallError> {
        let slot = self.slot(server)?;
        let live = self.live(&slot, &cancel).await?;
        let mut params = CallToolRequestParams::new(tool.to_string());
        params.arguments = arguments;
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        let timeout = slot.config.tool_timeout_sec.unwrap_or(DEFAULT_TOOL_TIMEOUT);
        let result = request_on(&slot, &live, request, timeout, progress, &cancel).await?;
        match result {
            ServerResult::CallToolResult(result) => Ok(ToolResult::from_json(
                &serde_json::to_value(&result).unwrap_or(Value::Null),
            )),
            other => Err(CallError::Failed {
                server: server.to_string(),
                reason: format!("answered tools/call with something else: {}", kind(&other)),
            }),
        }
    }

    /// `resources/list` on one server, or on every ready server (each resource then carries
    /// its `server`).
    pub async fn list_resources(
        &self,
        server: Option<&str>,
        cursor: Option<String>,
    ) -> Result<Value, CallError> {
        self.list(server, cursor, "resources").await
    }

    pub async fn list_resource_templates(
        &self,
        server: Option<&str>,
        cursor: Option<String>,
    ) -> Result<Value, CallError> {
        self.list(server, cursor, "resourceTemplates").await
    }

    /// `resources/read` of `uri` on `server`: the MCP result as JSON (`contents`).
    pub async fn read_resource(&self, server: &str, uri: &str) -> Result<Value, CallError> {
        let slot = self.slot(server)?;
        let cancel = CancellationToken::new();
        let live = self.live(&slot, &cancel).await?;
        let request = ClientRequest::ReadResourceRequest(rmcp::model::ReadResourceRequest::new(
            ReadResourceRequestParams::new(uri.to_string()),
        ));
        let timeout = slot.config.tool_timeout_sec.unwrap_or(DEFAULT_TOOL_TIMEOUT);
        let result = request_on(&slot, &live, request, timeout, None, &cancel).await?;
        Ok(serde_json::to_value(&result).unwrap_or(Value::Null))
    }

    async fn list(
        &self,
        server: Option<&str>,
        cursor: Option<String>,
        key: &str,
    ) -> Result<Value, CallError> {
        let names: Vec<String> = match server {
            Some(name) => {
                self.slot(name)?;
                vec![name.to_string()]
            }
            None => self
                .statuses()
                .into_iter()
                .filter(|s| s.state == ServerState::Ready)
                .map(|s| s.name)
                .collect(),
        };
        let mut items = Vec::new();
        let mut next_cursor = None;
        for name in &names {
            let slot = self.slot(name)?;
            let cancel = CancellationToken::new();
            let live = self.live(&slot, &cancel).await?;
            let params = PaginatedRequestParams::default().with_cursor(cursor.clone());
            let request = if key == "resources" {
                ClientRequest::ListResourcesRequest(rmcp::model::ListResourcesRequest::with_param(
                    params,
                ))
            } else {
                ClientRequest::ListResourceTemplatesRequest(
                    rmcp::model::ListResourceTemplatesRequest::with_param(params),
                )
            };
            let timeout = slot.config.tool_timeout_sec.unwrap_or(DEFAULT_TOOL_TIMEOUT);
            let result = request_on(&slot, &live, request, timeout, None, &cancel).await?;
            let result = serde_json::to_value(&result).unwrap_or(Value::Null);
            for mut item in result[key].as_array().cloned().unwrap_or_default() {
                if let Value::Object(fields) = &mut item {
                    fields.insert("server".into(), json!(name));
                }
                items.push(item);
            }
            // A cursor only means something for one server.
            if names.len() == 1 {
                next_cursor = result.get("nextCursor").cloned();
            }
        }
        let mut out = Map::new();
        out.insert(key.to_string(), Value::Array(items));
        if let Some(next) = next_cursor.filter(|c| !c.is_null()) {
            out.insert("nextCursor".into(), next);
        }
        Ok(Value::Object(out))
    }

    /// Stops every server (process groups killed). Idempotent.
    pub fn shutdown(&self) {
        self.inner().shutdown.cancel();
    }

    fn slot(&self, server: &str) -> Result<Arc<Slot>, CallError> {
        let inner = self.inner();
        let slot = inner
            .slots
            .get(server)
            .ok_or_else(|| CallError::UnknownServer(server.to_string()))?;
        if !slot.config.enabled {
            return Err(CallError::Disabled(server.to_string()));
        }
        Ok(Arc::clone(slot))
    }

    /// The server's live session, waiting (up to its startup timeout) for one that is
    /// starting or restarting.
    async fn live(&self, slot: &Slot, cancel: &CancellationToken) -> Result<Live, CallError> {
        let mut live = slot.live.subscribe();
        if let Some(l) = live.borrow().clone() {
            return Ok(l);
        }
        let given_up = |slot: &Slot| {
            slot.status
                .lock()
                .map(|s| (s.state == ServerState::Failed).then(|| s.error.clone()))
                .ok()
                .flatten()
        };
        let wait = slot
            .config
            .startup_timeout_sec
            .unwrap_or(DEFAULT_STARTUP_TIMEOUT);
        let not_ready = |reason: String| CallError::NotReady {
            server: slot.name.clone(),
            reason,
        };
        tokio::select! {
            ready = tokio::time::timeout(wait, live.wait_for(Option::is_some)) => match ready {
                Ok(Ok(l)) => l.clone().ok_or_else(|| not_ready("it stopped".into())),
                Ok(Err(_)) => Err(not_ready("wright is shutting down".into())),
                Err(_) => Err(not_ready(match given_up(slot).flatten() {
                    Some(error) => format!("{error} (wright restarts it with backoff)"),
                    None => format!("it did not become ready within {} s", wait.as_secs()),
                })),
            },
            _ = cancel.cancelled() => Err(CallError::Cancelled),
        }
    }
}

/// Sends one request and waits for its answer, its timeout, a cancel, or the session's end.
async fn request_on(
    slot: &Slot,
    live: &Live,
    request: ClientRequest,
    timeout: Duration,
    progress: Option<mpsc::UnboundedSender<Progress>>,
    cancel: &CancellationToken,
) -> Result<ServerResult, CallError> {
    let server = slot.name.clone();
    let mut options = PeerRequestOptions::no_options();
    options.timeout = Some(timeout);
    let handle = live.peer.send_request_with_option(request, options).await;
    let handle = match handle {
        Ok(handle) => handle,
        Err(e) => return Err(failed(&server, live, &e).await),
    };
    let token = connection::token_key(&handle.progress_token);
    let routed = progress.is_some();
    if let Some(progress) = progress {
        if let Ok(mut routes) = live.progress.lock() {
            routes.insert(token.clone(), progress);
        }
    }
    let id = handle.id.clone();
    let peer = handle.peer.clone();
    let outcome = tokio::select! {
        answer = handle.await_response() => Some(answer),
        _ = cancel.cancelled() => None,
    };
    if routed {
        // rmcp hands each notification to its own task: one sent just before the answer may
        // still be on its way to the route.
        tokio::time::sleep(PROGRESS_GRACE).await;
    }
    if let Ok(mut routes) = live.progress.lock() {
        routes.remove(&token);
    }
    match outcome {
        None => {
            let _ = peer
                .notify_cancelled(CancelledNotificationParam::new(
                    Some(id),
                    Some("the user interrupted the turn".into()),
                ))
                .await;
            Err(CallError::Cancelled)
        }
        Some(Ok(result)) => Ok(result),
        Some(Err(ServiceError::Timeout { .. })) => Err(CallError::Timeout {
            server,
            secs: timeout.as_secs().max(1),
        }),
        Some(Err(ServiceError::McpError(error))) => Err(CallError::Server {
            server,
            message: error.message.to_string(),
        }),
        Some(Err(other)) => Err(failed(&server, live, &other).await),
    }
}

/// A request that failed because the session did: say why the session ended, if known.
async fn failed(server: &str, live: &Live, error: &ServiceError) -> CallError {
    // The process's own account (exit status, bad output) arrives a moment after the pipe
    // closes.
    let mut reason = crate::supervisor::live_failure(&live.failure)
        .await
        .unwrap_or_else(|| format!("the connection ended ({error})"));
    if let Some(stderr) = &live.stderr {
        let text = stderr.text();
        if !text.trim().is_empty() && !reason.contains("stderr") {
            reason.push_str(&format!("; its stderr ends:\n{text}"));
        }
    }
    CallError::Failed {
        server: server.to_string(),
        reason,
    }
}

fn kind(result: &ServerResult) -> String {
    serde_json::to_value(result)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>().join(","))
        })
        .unwrap_or_default()
}
