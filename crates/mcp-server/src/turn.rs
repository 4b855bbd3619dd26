//! One tool call's turn: `turn/start`, then the thread's notifications and approval questions
//! until `turn/completed`, reported to the MCP client as progress and elicitations; the
//! call's cancellation becomes `turn/interrupt`.

use std::collections::HashMap;
use std::time::Duration;

use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use rmcp::{Peer, RoleServer};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use wright_app_server::client::{AppClient, Incoming};
use wright_protocol::v2::{
    ClientRequest, FileUpdateChange, ServerNotification, ServerRequest, ThreadItem, Turn,
    TurnInterruptParams, TurnInterruptResponse, TurnStartParams, TurnStartResponse, TurnStatus,
    UserInput,
};

use crate::error::{Error, Result};
use crate::tools::ToolOutput;
use crate::{progress, questions};

/// How long an interrupted turn may take to wind down (kill its commands, record what it
/// did) before the call gives up waiting for its `turn/completed`.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// Runs one turn of `thread_id` with `prompt`. `events` carries what the App Server sends about
/// the thread; it was opened before the turn started, so nothing of the turn is missed.
pub async fn run(
    app: &AppClient,
    context: &RequestContext<RoleServer>,
    thread_id: &str,
    prompt: String,
    events: &mut mpsc::UnboundedReceiver<Incoming>,
) -> Result<CallToolResult> {
    let started: TurnStartResponse = app
        .request(ClientRequest::TurnStart(TurnStartParams {
            thread_id: thread_id.to_string(),
            input: vec![UserInput::Text {
                text: prompt,
                text_elements: Vec::new(),
            }],
            ..Default::default()
        }))
        .await?;
    let mut turn = TurnState {
        app,
        peer: &context.peer,
        progress: context.meta.get_progress_token(),
        sent: 0,
        thread_id,
        turn_id: started.turn.id,
        final_message: None,
        patches: HashMap::new(),
        notes: Vec::new(),
    };
    // The questions being asked: the notifications that follow them must not wait.
    let mut in_flight = JoinSet::new();
    let mut interrupted = false;
    let grace = tokio::time::sleep(Duration::MAX);
    tokio::pin!(grace);
    let ended = loop {
        tokio::select! {
            () = context.ct.cancelled(), if !interrupted => {
                interrupted = true;
                grace.as_mut().reset(tokio::time::Instant::now() + INTERRUPT_GRACE);
                // Questions still open are withdrawn by the App Server as the turn ends.
                in_flight.abort_all();
                if let Err(err) = turn.interrupt().await {
                    // The turn may have ended meanwhile: its `turn/completed` is on its way.
                    tracing::info!(error = %err, "turn/interrupt failed");
                }
            }
            () = &mut grace => break None,
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            incoming = events.recv() => match incoming {
                None => return Err(Error::AppServerGone),
                Some(Incoming::Request(request)) => {
                    match questions::unaskable(&context.peer, &request) {
                        Some(note) => {
                            tracing::warn!("{note}");
                            turn.notes.push(note);
                            questions::refuse(app, &request).await;
                        }
                        None => {
                            let changes = turn.changes_asked_about(&request);
                            let (app, peer) = (app.clone(), context.peer.clone());
                            in_flight.spawn(questions::ask(app, peer, *request, changes));
                        }
                    }
                }
                Some(Incoming::Notification(notification)) => {
                    if let Some(done) = turn.on_notification(*notification).await {
                        break Some(done);
                    }
                }
                // Never routed to a thread (this bridge opts in to no extension).
                Some(Incoming::Extension(_)) => {}
            },
        }
    };
    Ok(turn.result(ended))
}

/// What a running turn has seen so far.
struct TurnState<'a> {
    app: &'a AppClient,
    peer: &'a Peer<RoleServer>,
    /// The client's `progressToken`: progress is sent only when it gave one.
    progress: Option<ProgressToken>,
    sent: u32,
    thread_id: &'a str,
    turn_id: String,
    /// The last agent message completed in the turn: the tool's answer.
    final_message: Option<String>,
    /// The files of each patch item, to show when the App Server asks about it.
    patches: HashMap<String, Vec<FileUpdateChange>>,
    /// Why questions were answered "no" without asking (the client cannot be asked them).
    notes: Vec<String>,
}

impl TurnState<'_> {
    /// Follows one notification; the ended turn when this was its `turn/completed`.
    async fn on_notification(&mut self, notification: ServerNotification) -> Option<Turn> {
        match notification {
            ServerNotification::ItemStarted(n) if n.turn_id == self.turn_id => {
                if let ThreadItem::FileChange { id, changes, .. } = &n.item {
                    self.patches.insert(id.clone(), changes.clone());
                }
                self.report(progress::started(&n.item)).await;
            }
            ServerNotification::ItemCompleted(n) if n.turn_id == self.turn_id => {
                if let ThreadItem::AgentMessage { text, .. } = &n.item {
                    self.final_message = Some(text.clone());
                }
                self.report(progress::completed(&n.item)).await;
            }
            ServerNotification::TurnCompleted(n) if n.turn.id == self.turn_id => {
                return Some(n.turn);
            }
            _ => {}
        }
        None
    }

    async fn report(&mut self, message: Option<String>) {
        let (Some(token), Some(message)) = (&self.progress, message) else {
            return;
        };
        self.sent += 1;
        let params = ProgressNotificationParam::new(token.clone(), f64::from(self.sent))
            .with_message(message);
        if let Err(err) = self.peer.notify_progress(params).await {
            // The call still answers; the client only misses a status line.
            tracing::debug!(error = %err, "could not send progress");
        }
    }

    async fn interrupt(&self) -> Result<()> {
        let _: TurnInterruptResponse = self
            .app
            .request(ClientRequest::TurnInterrupt(TurnInterruptParams {
                thread_id: self.thread_id.to_string(),
                turn_id: self.turn_id.clone(),
            }))
            .await?;
        Ok(())
    }

    fn changes_asked_about(&self, request: &ServerRequest) -> Option<Vec<FileUpdateChange>> {
        match request {
            ServerRequest::FileChangeRequestApproval { params, .. } => {
                self.patches.get(&params.item_id).cloned()
            }
            ServerRequest::CommandExecutionRequestApproval { .. }
            | ServerRequest::ToolRequestUserInput { .. } => None,
        }
    }

    /// The tool's result for how the turn ended (`None`: it did not end in time after an
    /// interrupt).
    fn result(self, ended: Option<Turn>) -> CallToolResult {
        let Some(turn) = ended else {
            return failure(
                self.thread_id,
                "the turn was interrupted and did not stop in time".into(),
            );
        };
        match turn.status {
            TurnStatus::Completed => {
                let content = self
                    .final_message
                    .or_else(|| last_agent_message(&turn.items))
                    .unwrap_or_default();
                success(self.thread_id, content, self.notes)
            }
            TurnStatus::Interrupted => failure(self.thread_id, "the turn was interrupted".into()),
            TurnStatus::Failed | TurnStatus::InProgress => {
                let why = turn
                    .error
                    .map(|e| e.message)
                    .unwrap_or_else(|| "no reason given".into());
                failure(self.thread_id, format!("the turn failed: {why}"))
            }
        }
    }
}

fn last_agent_message(items: &[ThreadItem]) -> Option<String> {
    items.iter().rev().find_map(|item| match item {
        ThreadItem::AgentMessage { text, .. } => Some(text.clone()),
        _ => None,
    })
}

/// A finished turn: its final message as text, and as `structuredContent` with the thread
/// (as Codex's `codex` tool answers). Notes follow as further text.
pub fn success(thread_id: &str, content: String, notes: Vec<String>) -> CallToolResult {
    let mut blocks = vec![ContentBlock::text(content.clone())];
    blocks.extend(notes.into_iter().map(ContentBlock::text));
    let mut result = CallToolResult::success(blocks);
    result.structured_content = output(thread_id, content);
    result
}

/// A turn that did not finish: `isError`, with the thread, so the caller can still continue
/// it with `wright-reply`.
pub fn failure(thread_id: &str, message: String) -> CallToolResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(message.clone())]);
    result.structured_content = output(thread_id, message);
    result
}

fn output(thread_id: &str, content: String) -> Option<serde_json::Value> {
    let output = ToolOutput {
        thread_id: thread_id.to_string(),
        content,
    };
    serde_json::to_value(output).ok()
}
