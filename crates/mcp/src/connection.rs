//! One live session with one server: connecting (stdio or streamable HTTP), the handshake,
//! and what the server tells wright unasked (progress, log messages, tool list changes).
#![allow(deprecated)] // `LoggingMessageNotificationParam`: see `on_logging_message`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, LoggingMessageNotificationParam,
    ProgressNotificationParam,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use tokio::sync::{broadcast, mpsc, Notify};

use crate::config::{McpServerConfig, McpTransport};
use crate::manager::{McpEvent, Progress};
use crate::stdio::{self, StderrTail};

/// Progress listeners of the calls in flight, by progress token.
pub(crate) type ProgressRoutes = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Progress>>>>;

/// What wright does with the server's notifications.
pub(crate) struct Handler {
    server: String,
    pub progress: ProgressRoutes,
    events: broadcast::Sender<McpEvent>,
    pub tools_changed: Arc<Notify>,
}

impl Handler {
    pub fn new(server: &str, events: broadcast::Sender<McpEvent>) -> Handler {
        Handler {
            server: server.to_string(),
            progress: ProgressRoutes::default(),
            events,
            tools_changed: Arc::new(Notify::new()),
        }
    }
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        let mut info = Implementation::new("wright-mcp-client", env!("CARGO_PKG_VERSION"));
        info.title = Some("wright".into());
        // No sampling, roots or elicitation: a server cannot make wright ask the user or the
        // model anything outside a tool call the user's policy allowed.
        ClientConfig::new(ClientCapabilities::default(), info)
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let token = token_key(&params.progress_token);
        let route = self
            .progress
            .lock()
            .ok()
            .and_then(|routes| routes.get(&token).cloned());
        if let Some(route) = route {
            let _ = route.send(Progress {
                progress: params.progress,
                total: params.total,
                message: params.message,
            });
        }
    }

    // Logging is deprecated by the newest protocol revision, but the servers people run
    // today still send it.
    #[allow(deprecated)]
    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let message = match &params.data {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let level = serde_json::to_value(params.level)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "info".into());
        tracing::info!(target: "wright_mcp::log", server = %self.server, %level, "{message}");
        // Calls in flight on this server show it as progress: that is where the user looks.
        let routes: Vec<_> = self
            .progress
            .lock()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default();
        for route in routes {
            let _ = route.send(Progress {
                progress: f64::NAN,
                total: None,
                message: Some(format!("[{level}] {message}")),
            });
        }
        let _ = self.events.send(McpEvent::Log {
            server: self.server.clone(),
            level,
            message,
        });
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.tools_changed.notify_one();
    }
}

pub(crate) fn token_key(token: &rmcp::model::ProgressToken) -> String {
    serde_json::to_string(&token.0).unwrap_or_default()
}

/// A live session and, for stdio, its process.
pub(crate) struct Connection {
    pub service: RunningService<RoleClient, Handler>,
    pub process: Option<stdio::Process>,
}

impl Connection {
    /// Why the session ended, as best known: bad output, the exit status, the last stderr.
    pub fn stderr(&self) -> Option<StderrTail> {
        self.process.as_ref().map(|p| p.stderr.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("the handshake failed: {0}")]
    Handshake(String),
    #[error("{0}")]
    Config(String),
}

/// The handshake over a process already started (see [`stdio::spawn`]).
pub(crate) async fn connect_stdio(
    (pipes, process): (stdio::Pipes, stdio::Process),
    handler: Handler,
) -> Result<Connection, ConnectError> {
    // The process (and its guard, which kills it) lives as long as the connection attempt:
    // a failed handshake drops it here, after saying why it failed.
    let service = match handler.serve(pipes).await {
        Ok(service) => service,
        Err(err) => {
            return Err(ConnectError::Handshake(
                process.explain(&err.to_string()).await,
            ))
        }
    };
    Ok(Connection {
        service,
        process: Some(process),
    })
}

pub(crate) async fn connect_http(
    server: &McpServerConfig,
    bearer: Option<String>,
    handler: Handler,
) -> Result<Connection, ConnectError> {
    let McpTransport::StreamableHttp {
        url, http_headers, ..
    } = &server.transport
    else {
        return Err(ConnectError::Config("not a streamable HTTP server".into()));
    };
    let mut headers = HashMap::new();
    for (key, value) in http_headers.iter().flatten() {
        let name = reqwest::header::HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
            ConnectError::Config(format!("`http_headers`: bad header name `{key}`"))
        })?;
        let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
            ConnectError::Config(format!("`http_headers.{key}`: not a valid header value"))
        })?;
        headers.insert(name, value);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| ConnectError::Config(format!("cannot build an HTTP client: {e}")))?;
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
    config.custom_headers = headers;
    if let Some(token) = bearer {
        config = config.auth_header(token);
    }
    let transport = StreamableHttpClientTransport::with_client(client, config);
    let service = handler
        .serve(transport)
        .await
        .map_err(|e| ConnectError::Handshake(e.to_string()))?;
    Ok(Connection {
        service,
        process: None,
    })
}
