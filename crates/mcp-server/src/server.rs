//! The MCP side: `initialize`, `tools/list` and `tools/call`, each call driving the App Server;
//! and the routing of what the App Server sends to the call that follows its thread.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use tokio::sync::{mpsc, watch};
use wright_app_server::client::{AppClient, ClientError, Incoming};
use wright_protocol::jsonrpc;
use wright_protocol::v2::{
    ClientRequest, ServerNotification, ServerRequest, ThreadResumeParams, ThreadResumeResponse,
    ThreadStartResponse,
};

use crate::error::{Error, Result};
use crate::tools::{self, ReplyArgs, WrightArgs, WRIGHT, WRIGHT_REPLY};
use crate::turn;

/// The MCP server: cheap to clone, one per connection.
#[derive(Clone)]
pub struct WrightServer {
    shared: Arc<Shared>,
}

struct Shared {
    app: AppClient,
    /// The threads whose turn a tool call is running, and where their events go.
    following: Mutex<HashMap<String, mpsc::UnboundedSender<Incoming>>>,
    /// How many tool calls are running a turn, so shutdown can wait for their interrupts.
    running: watch::Sender<usize>,
}

/// A tool call's hold on its thread: while it lives, the thread's events go to `events` and
/// no other call may start a turn in it.
struct Claim {
    shared: Arc<Shared>,
    thread_id: String,
    events: mpsc::UnboundedReceiver<Incoming>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.shared.following().remove(&self.thread_id);
        self.shared
            .running
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl WrightServer {
    pub fn new(app: AppClient) -> WrightServer {
        WrightServer {
            shared: Arc::new(Shared {
                app,
                following: Mutex::default(),
                running: watch::channel(0).0,
            }),
        }
    }

    /// Hands what the App Server sent to the call following its thread. A question about a
    /// thread no call follows is refused, so the engine does not wait for an answer forever.
    pub async fn route(&self, incoming: Incoming) {
        let sender =
            thread_id(&incoming).and_then(|thread| self.shared.following().get(thread).cloned());
        let undelivered = match sender {
            Some(sender) => sender.send(incoming).err().map(|e| e.0),
            None => Some(incoming),
        };
        let refused = match undelivered {
            Some(Incoming::Request(request)) => {
                self.shared
                    .app
                    .respond_error(
                        request.id(),
                        jsonrpc::INTERNAL_ERROR,
                        "no MCP tool call follows this thread",
                    )
                    .await
            }
            // Sent only to clients that opt in to the extension, which this one never does;
            // refused as any request this bridge does not know.
            Some(Incoming::Extension(request)) => {
                let message = format!("the MCP bridge does not handle `{}`", request.method());
                self.shared
                    .app
                    .respond_error(request.id(), jsonrpc::METHOD_NOT_FOUND, &message)
                    .await
            }
            Some(Incoming::Notification(_)) | None => return,
        };
        if let Err(err) = refused {
            tracing::warn!(error = %err, "could not refuse an approval");
        }
    }

    /// Waits until no tool call runs a turn, or `deadline` passes: on shutdown, the calls
    /// interrupt their turns (the client is gone) and get that long to do it.
    pub async fn drain(&self, deadline: std::time::Duration) {
        let mut running = self.shared.running.subscribe();
        let _ = tokio::time::timeout(deadline, running.wait_for(|n| *n == 0)).await;
    }

    fn claim(&self, thread_id: &str) -> Result<Claim> {
        let (tx, events) = mpsc::unbounded_channel();
        {
            let mut following = self.shared.following();
            if following.contains_key(thread_id) {
                return Err(Error::ThreadBusy(thread_id.to_string()));
            }
            following.insert(thread_id.to_string(), tx);
        }
        self.shared.running.send_modify(|n| *n += 1);
        Ok(Claim {
            shared: Arc::clone(&self.shared),
            thread_id: thread_id.to_string(),
            events,
        })
    }

    /// `wright`: a new thread, then its first turn.
    async fn start(
        &self,
        params: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult> {
        let args = WrightArgs::parse(params.arguments)?;
        let started: ThreadStartResponse = self
            .shared
            .app
            .request(ClientRequest::ThreadStart(args.thread_start()))
            .await?;
        let mut claim = self.claim(&started.thread.id)?;
        let thread_id = started.thread.id;
        turn::run(
            &self.shared.app,
            context,
            &thread_id,
            args.prompt,
            &mut claim.events,
        )
        .await
    }

    /// `wright-reply`: the next turn of a thread of this server, or of one on disk.
    async fn reply(
        &self,
        params: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult> {
        let args = ReplyArgs::parse(params.arguments)?;
        let thread_id = args.thread()?.to_string();
        // Claimed first: a second call must not steer its prompt into a running turn.
        let mut claim = self.claim(&thread_id)?;
        // Loads a thread from the store (after a restart) and follows it; a thread already
        // loaded stays as it is.
        let resumed = self
            .shared
            .app
            .request::<ThreadResumeResponse>(ClientRequest::ThreadResume(ThreadResumeParams {
                thread_id: thread_id.clone(),
                exclude_turns: Some(true),
                ..Default::default()
            }))
            .await;
        if let Err(err) = resumed {
            return Err(match err {
                ClientError::AppServer { message, .. } => {
                    Error::UnknownThread { thread_id, message }
                }
                other => other.into(),
            });
        }
        turn::run(
            &self.shared.app,
            context,
            &thread_id,
            args.prompt,
            &mut claim.events,
        )
        .await
    }
}

/// The thread `incoming` is about, for those a tool call follows.
fn thread_id(incoming: &Incoming) -> Option<&str> {
    use ServerNotification as N;
    match incoming {
        Incoming::Request(request) => Some(match &**request {
            ServerRequest::CommandExecutionRequestApproval { params, .. } => &params.thread_id,
            ServerRequest::FileChangeRequestApproval { params, .. } => &params.thread_id,
            ServerRequest::ToolRequestUserInput { params, .. } => &params.thread_id,
        }),
        Incoming::Notification(notification) => Some(match &**notification {
            N::ItemStarted(n) => &n.thread_id,
            N::ItemCompleted(n) => &n.thread_id,
            N::TurnStarted(n) => &n.thread_id,
            N::TurnCompleted(n) => &n.thread_id,
            _ => return None,
        }),
        // This bridge never opts in to an extension.
        Incoming::Extension(_) => None,
    }
}

impl Shared {
    fn following(&self) -> MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Incoming>>> {
        // A poisoned lock only means a call panicked mid-update; the map is still valid.
        self.following.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ServerHandler for WrightServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("wright", env!("CARGO_PKG_VERSION")).with_title("wright"),
            )
            .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
            .with_instructions(
                "wright is a coding agent. Call `wright` with a prompt (and a `cwd`) to have it \
                 work on a task; it answers with its final message and a `threadId`. Call \
                 `wright-reply` with that `threadId` to continue the same session.",
            )
    }

    /// Approvals are server→client requests (elicitations), which protocol versions after
    /// 2025-11-25 no longer allow on a session: offer only those that do.
    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(
            &ProtocolVersion::LATEST_WITH_INITIALIZE,
        ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, McpError> {
        let result = match request.name.as_ref() {
            WRIGHT => self.start(request, &context).await,
            WRIGHT_REPLY => self.reply(request, &context).await,
            other => {
                // Not a failure of a tool but a request for one that does not exist.
                return Err(McpError::invalid_params(
                    Error::UnknownTool(other.to_string()).to_string(),
                    None,
                ));
            }
        };
        let result = result.unwrap_or_else(|err| {
            tracing::info!(error = %err, "tool call failed");
            CallToolResult::error(vec![ContentBlock::text(err.to_string())])
        });
        Ok(CallToolResponse::Complete(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_and_notifications_carry_their_thread() {
        let request: ServerRequest = serde_json::from_str(
            r#"{"id":1,"method":"item/fileChange/requestApproval","params":{"threadId":"t","turnId":"u","itemId":"i","startedAtMs":0,"reason":null,"grantRoot":null}}"#,
        )
        .unwrap();
        assert_eq!(thread_id(&Incoming::Request(Box::new(request))), Some("t"));
        let notification: ServerNotification = serde_json::from_str(
            r#"{"method":"turn/started","params":{"threadId":"t2","turn":{"id":"u","items":[],"status":"inProgress","error":null}}}"#,
        )
        .unwrap();
        assert_eq!(
            thread_id(&Incoming::Notification(Box::new(notification))),
            Some("t2")
        );
        let delta: ServerNotification = serde_json::from_str(
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"t","turnId":"u","itemId":"i","delta":"hi"}}"#,
        )
        .unwrap();
        assert_eq!(thread_id(&Incoming::Notification(Box::new(delta))), None);
    }
}
