//! `wright mcp-server`: wright as an MCP tool that other agents call, on stdio.
//!
//! The bridge is a client of the App Server like every other surface, never a second engine:
//! each tool call becomes App Server requests on an in-process connection, and what the App
//! Server sends about the call's thread becomes MCP progress and elicitations:
//!
//! | MCP | App Server |
//! |---|---|
//! | `tools/call` `wright` (Codex's `codex` arguments) | `thread/start`, then `turn/start` |
//! | `tools/call` `wright-reply` (`threadId`, or Codex's legacy `conversationId`) | `thread/resume`, then `turn/start` |
//! | the call's result: final message, `structuredContent: {threadId, content}` | `item/completed` (agent message), `turn/completed` |
//! | `notifications/progress` (when the call carried a `progressToken`) | `item/started`, `item/completed` |
//! | `elicitation/create` (when the client declared `elicitation`) | `item/commandExecution/requestApproval`, `item/fileChange/requestApproval`, `item/tool/requestUserInput` |
//! | `notifications/cancelled` for a running call | `turn/interrupt` |
//!
//! A client that cannot be asked (no `elicitation` capability) gets every question answered
//! "no", and the result says why; with `approval-policy` `never` nothing is asked. Failures
//! of a call (bad arguments, an unknown thread, a failed turn) are tool results with
//! `isError`, which clients show their model; the server keeps serving. stdout carries MCP
//! messages only.
//!
//! It must not hold agent logic: everything the agent does is the App Server's.

#![warn(missing_docs)]
// stdout is the MCP channel: a stray print would corrupt it.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod approval;
mod error;
mod progress;
mod questions;
mod server;
mod tools;
mod turn;
mod user_input;

use std::time::Duration;

use rmcp::ServiceExt;
use tokio::sync::mpsc;
use wright_protocol::v2::{
    ClientInfo, ClientRequest, InitializeCapabilities, InitializeParams, InitializeResponse,
};

pub use error::{Error, Result};

use server::WrightServer;
use wright_app_server::client::AppClient;

/// How long tool calls still running when the client hangs up get to interrupt their turns.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// App Server notifications no tool call uses: streamed text and output (a call answers with
/// the final message, and reports progress per item).
const UNUSED_NOTIFICATIONS: &[&str] = &[
    "item/agentMessage/delta",
    "item/commandExecution/outputDelta",
    "item/reasoning/summaryTextDelta",
    "item/reasoning/textDelta",
    "thread/tokenUsage/updated",
    "turn/diff/updated",
];

/// Serves MCP on this process's stdin and stdout (`wright mcp-server`) until the client hangs
/// up, driving the App Server behind `app`.
pub async fn serve_stdio(app: wright_app_server::Connection) -> Result<()> {
    serve(app, rmcp::transport::stdio()).await
}

/// Serves MCP on `transport` until the client hangs up, driving the App Server behind `app`.
pub async fn serve<T, E, A>(app: wright_app_server::Connection, transport: T) -> Result<()>
where
    T: rmcp::transport::IntoTransport<rmcp::RoleServer, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let (incoming_tx, mut incoming) = mpsc::unbounded_channel();
    let (client, reader) = AppClient::start(app, incoming_tx, "the MCP bridge");
    let _reader = AbortOnDrop(reader);
    let _: InitializeResponse = client
        .request(ClientRequest::Initialize(InitializeParams {
            client_info: ClientInfo {
                name: "wright-mcp-server".into(),
                title: Some("wright MCP server".into()),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            capabilities: Some(InitializeCapabilities {
                opt_out_notification_methods: Some(
                    UNUSED_NOTIFICATIONS.iter().map(|m| m.to_string()).collect(),
                ),
                ..Default::default()
            }),
        }))
        .await?;
    let server = WrightServer::new(client);
    let router = {
        let server = server.clone();
        tokio::spawn(async move {
            while let Some(message) = incoming.recv().await {
                server.route(message).await;
            }
        })
    };
    let _router = AbortOnDrop(router);

    let running = server
        .clone()
        .serve(transport)
        .await
        .map_err(|err| Error::Transport(err.to_string()))?;
    let quit = running.waiting().await;
    tracing::debug!(?quit, "the MCP client hung up");
    // The calls still running saw their requests cancelled and are interrupting their turns.
    server.drain(SHUTDOWN_GRACE).await;
    Ok(())
}

/// Ends a task when its owner goes (the bridge's helpers live exactly as long as `serve`).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
