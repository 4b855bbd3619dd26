//! One ACP session: a wright thread, the prompt running in it, and the task that turns the
//! thread's notifications and questions into session updates and client requests, in the
//! order the App Server sent them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use agent_client_protocol::v1::schema::{
    ReadTextFileRequest, SessionNotification, SessionUpdate, Terminal, TerminalId, ToolCallContent,
    WriteTextFileRequest,
};
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::Client;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use wright_app_server::client::{AppClient, Incoming};
use wright_protocol::jsonrpc::{RequestId, INTERNAL_ERROR};
use wright_protocol::v2::{
    AskForApproval, ClientRequest, CommandExecutionRequestApprovalResponse,
    FileChangeRequestApprovalResponse, FileChangeWriteParams, FileChangeWriteResponse,
    FsReadTextFileParams, FsReadTextFileResponse, Model, SandboxPolicy, ServerNotification,
    ServerRequest, TurnInterruptParams, TurnInterruptResponse, TurnStatus, WrightServerRequest,
};

use crate::error::{Error, Result};
use crate::{mapping, modes, permissions, terminal};

/// How a turn ended, for the prompt that started it.
#[derive(Debug, Clone)]
pub struct TurnEnd {
    pub status: TurnStatus,
    pub error: Option<String>,
    pub cancel_asked: bool,
}

/// The prompt in progress.
struct ActivePrompt {
    done: oneshot::Sender<TurnEnd>,
    /// Known once `turn/start` answered (or `turn/started` came first).
    turn_id: Option<String>,
    cancel_asked: bool,
}

/// What the session remembers between prompts.
pub struct Settings {
    /// The mode the user chose (`None`: the thread's configured settings).
    pub mode: Option<String>,
    /// The model the user chose (`None`: the thread's).
    pub model: Option<String>,
    /// The thread's configured settings, to report the mode it is in.
    pub approval: AskForApproval,
    pub sandbox: SandboxPolicy,
    /// The thread's model, and the models `model/list` offered.
    pub current_model: String,
    pub models: Vec<Model>,
}

/// A session: shared by the handlers (prompt, cancel, modes) and its event task.
pub struct Session {
    pub id: String,
    events: mpsc::UnboundedSender<Incoming>,
    prompt: Mutex<Option<ActivePrompt>>,
    pub settings: Mutex<Settings>,
    /// Bumped when the prompt is cancelled or its turn ends: every editor terminal still
    /// running a command of the session is killed.
    kills: watch::Sender<u64>,
    /// The editor terminal each command item ran in, so its finished tool call keeps showing
    /// the terminal rather than a copy of the output.
    terminals: Mutex<HashMap<String, TerminalId>>,
}

impl Session {
    /// A session and the receiver its event task reads.
    pub fn new(
        id: String,
        settings: Settings,
    ) -> (Arc<Session>, mpsc::UnboundedReceiver<Incoming>) {
        let (events, rx) = mpsc::unbounded_channel();
        let session = Arc::new(Session {
            id,
            events,
            prompt: Mutex::new(None),
            settings: Mutex::new(settings),
            kills: watch::channel(0).0,
            terminals: Mutex::default(),
        });
        (session, rx)
    }

    /// Hands the session something the App Server sent about its thread.
    pub fn deliver(&self, incoming: Incoming) -> Result<(), Incoming> {
        self.events.send(incoming).map_err(|e| e.0)
    }

    /// Marks a prompt as running; there is at most one.
    pub fn begin_prompt(&self) -> Result<oneshot::Receiver<TurnEnd>> {
        let mut slot = self.lock_prompt();
        if slot.is_some() {
            return Err(Error::PromptRunning(self.id.clone()));
        }
        let (done, rx) = oneshot::channel();
        *slot = Some(ActivePrompt {
            done,
            turn_id: None,
            cancel_asked: false,
        });
        Ok(rx)
    }

    /// The prompt ended without a turn (`turn/start` failed).
    pub fn abandon_prompt(&self) {
        self.lock_prompt().take();
    }

    /// Records the running turn. Returns whether a cancel already came, so the caller
    /// interrupts the turn it just started.
    pub fn turn_started(&self, turn_id: &str) -> bool {
        match self.lock_prompt().as_mut() {
            Some(prompt) => {
                prompt.turn_id = Some(turn_id.to_string());
                prompt.cancel_asked
            }
            None => false,
        }
    }

    /// `session/cancel`: marks the prompt cancelled and returns the turn to interrupt, when
    /// it is known yet (if not, [`Session::turn_started`] reports the cancel).
    pub fn cancel(&self) -> Option<String> {
        self.kill_terminals();
        let mut slot = self.lock_prompt();
        let prompt = slot.as_mut()?;
        prompt.cancel_asked = true;
        prompt.turn_id.clone()
    }

    /// Kills every editor terminal running a command of this session.
    pub fn kill_terminals(&self) {
        self.kills.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Records that the command item runs in `terminal`.
    pub fn show_terminal(&self, item_id: &str, terminal: TerminalId) {
        let mut terminals = self.terminals.lock().unwrap_or_else(|e| e.into_inner());
        terminals.insert(item_id.to_string(), terminal);
    }

    fn take_terminal(&self, item_id: &str) -> Option<TerminalId> {
        let mut terminals = self.terminals.lock().unwrap_or_else(|e| e.into_inner());
        terminals.remove(item_id)
    }

    fn finish_turn(&self, turn_id: &str, status: TurnStatus, error: Option<String>) {
        let mut slot = self.lock_prompt();
        let ours = slot
            .as_ref()
            .is_some_and(|p| p.turn_id.as_deref().is_none_or(|t| t == turn_id));
        if !ours {
            return;
        }
        if let Some(prompt) = slot.take() {
            let _ = prompt.done.send(TurnEnd {
                status,
                error,
                cancel_asked: prompt.cancel_asked,
            });
        }
    }

    fn lock_prompt(&self) -> std::sync::MutexGuard<'_, Option<ActivePrompt>> {
        // A poisoned lock only means another handler panicked mid-update; the slot is still
        // a valid Option.
        self.prompt.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The mode and model settings, under the lock.
    pub fn with_settings<T>(&self, f: impl FnOnce(&mut Settings) -> T) -> T {
        let mut settings = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut settings)
    }

    /// Interrupts the running turn (after `session/cancel`).
    pub async fn interrupt(&self, app: &AppClient, turn_id: String) -> Result<()> {
        app.request::<TurnInterruptResponse>(ClientRequest::TurnInterrupt(TurnInterruptParams {
            thread_id: self.id.clone(),
            turn_id,
        }))
        .await
        .map(|_| ())
        .map_err(Error::from)
    }
}

/// What the event task needs besides the session.
pub struct Peers {
    pub app: AppClient,
    pub client: ConnectionTo<Client>,
}

/// The session's event task: runs until the session is dropped from the bridge (it holds the
/// session weakly, so a session replaced by a second `session/load` ends its task).
pub async fn run(
    session: std::sync::Weak<Session>,
    mut events: mpsc::UnboundedReceiver<Incoming>,
    peers: Peers,
) {
    let peers = Arc::new(peers);
    // Items whose text arrived as deltas, so their completion does not repeat it.
    let mut streamed: HashSet<String> = HashSet::new();
    // The client round trips in flight (permissions, writes): they must not hold up the
    // updates that follow them.
    let mut in_flight = JoinSet::new();
    loop {
        let incoming = tokio::select! {
            incoming = events.recv() => match incoming {
                Some(incoming) => incoming,
                None => break,
            },
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => continue,
        };
        let Some(session) = session.upgrade() else {
            break;
        };
        match incoming {
            Incoming::Notification(notification) => {
                on_notification(&session, &peers, &mut streamed, *notification)
            }
            Incoming::Request(request) => {
                in_flight.spawn(ask(Arc::clone(&peers), session.id.clone(), *request));
            }
            Incoming::Extension(request) => match *request {
                WrightServerRequest::FileChangeWrite { id, params } => {
                    in_flight.spawn(write(Arc::clone(&peers), session.id.clone(), id, params));
                }
                WrightServerRequest::FsReadTextFile { id, params } => {
                    in_flight.spawn(read(Arc::clone(&peers), session.id.clone(), id, params));
                }
                WrightServerRequest::CommandRun { id, params } => {
                    // Subscribed now, so a cancel from here on reaches the terminal.
                    let kill = session.kills.subscribe();
                    let (peers, session) = (Arc::clone(&peers), Arc::clone(&session));
                    in_flight.spawn(terminal::run(peers, session, kill, id, params));
                }
            },
        }
    }
}

fn on_notification(
    session: &Session,
    peers: &Peers,
    streamed: &mut HashSet<String>,
    notification: ServerNotification,
) {
    let update = |update: SessionUpdate| {
        // A client that is gone ends the connection; nothing to do here.
        let _ = peers
            .client
            .send_notification(SessionNotification::new(session.id.clone(), update));
    };
    match notification {
        ServerNotification::AgentMessageDelta(d) => {
            streamed.insert(d.item_id);
            update(mapping::agent_text(d.delta));
        }
        ServerNotification::ReasoningSummaryTextDelta(d) => {
            streamed.insert(d.item_id);
            update(mapping::thought_text(d.delta));
        }
        ServerNotification::ReasoningTextDelta(d) => {
            streamed.insert(d.item_id);
            update(mapping::thought_text(d.delta));
        }
        ServerNotification::ItemStarted(n) => {
            if let Some(call) = mapping::tool_call(&n.item) {
                update(SessionUpdate::ToolCall(call));
            }
        }
        ServerNotification::ItemCompleted(n) => {
            let item = n.item;
            if streamed.remove(item.id()) {
                return;
            }
            match &item {
                wright_protocol::v2::ThreadItem::AgentMessage { text, .. } if !text.is_empty() => {
                    update(mapping::agent_text(text.clone()))
                }
                wright_protocol::v2::ThreadItem::Reasoning { summary, .. }
                    if !summary.is_empty() =>
                {
                    update(mapping::thought_text(summary.join("\n\n")))
                }
                _ => {
                    if let Some(mut done) = mapping::tool_call_done(&item) {
                        // The editor keeps showing a released terminal: better than a copy.
                        if let Some(terminal) = session.take_terminal(item.id()) {
                            done.fields.content =
                                Some(vec![ToolCallContent::Terminal(Terminal::new(terminal))]);
                        }
                        update(SessionUpdate::ToolCallUpdate(done));
                    }
                }
            }
        }
        ServerNotification::TurnPlanUpdated(n) => update(mapping::plan(&n.plan)),
        ServerNotification::TurnStarted(n) => {
            session.turn_started(&n.turn.id);
        }
        ServerNotification::TurnCompleted(n) => {
            streamed.clear();
            // However the turn ended (an interrupt from any client), nothing of it runs on.
            session.kill_terminals();
            let error = n.turn.error.map(|e| e.message);
            session.finish_turn(&n.turn.id, n.turn.status, error);
        }
        _ => {}
    }
}

/// Asks the user through `session/request_permission` and answers the App Server.
async fn ask(peers: Arc<Peers>, session_id: String, request: ServerRequest) {
    let answered = match request {
        ServerRequest::CommandExecutionRequestApproval { id, params } => {
            let asked = peers
                .client
                .send_request(permissions::command_request(&session_id, &params))
                .block_task()
                .await;
            let decision = match asked {
                Ok(response) => permissions::command_decision(&response.outcome),
                // No answer from the editor: stop rather than guess a yes.
                Err(_) => wright_protocol::v2::CommandExecutionApprovalDecision::Cancel,
            };
            peers
                .app
                .respond(&id, CommandExecutionRequestApprovalResponse { decision })
                .await
        }
        ServerRequest::FileChangeRequestApproval { id, params } => {
            let asked = peers
                .client
                .send_request(permissions::patch_request(&session_id, &params))
                .block_task()
                .await;
            let decision = match asked {
                Ok(response) => permissions::patch_decision(&response.outcome),
                Err(_) => wright_protocol::v2::FileChangeApprovalDecision::Cancel,
            };
            peers
                .app
                .respond(&id, FileChangeRequestApprovalResponse { decision })
                .await
        }
        ServerRequest::ToolRequestUserInput { id, params } => {
            let asked = peers
                .client
                .send_request(permissions::user_input_request(&session_id, &params))
                .block_task()
                .await;
            let outcome = asked.ok().map(|response| response.outcome);
            let answer = permissions::user_input_answer(&params, outcome.as_ref());
            peers.app.respond(&id, answer).await
        }
    };
    if let Err(err) = answered {
        tracing::warn!(error = %err, "could not answer an approval");
    }
}

/// Writes a patch's files through the editor (`fs/write_text_file`) and tells the App Server
/// whether they were written. The first failure stops the rest and is what the model hears.
async fn write(
    peers: Arc<Peers>,
    session_id: String,
    id: RequestId,
    params: FileChangeWriteParams,
) {
    let mut failure = None;
    for file in params.files {
        let request =
            WriteTextFileRequest::new(session_id.clone(), file.path.clone(), file.content);
        if let Err(err) = peers.client.send_request(request).block_task().await {
            failure = Some(format!("{}: {}", file.path, err.message));
            break;
        }
    }
    let answered = match failure {
        None => peers.app.respond(&id, FileChangeWriteResponse {}).await,
        Some(message) => peers.app.respond_error(&id, INTERNAL_ERROR, &message).await,
    };
    if let Err(err) = answered {
        tracing::warn!(error = %err, "could not answer a file write");
    }
}

/// Reads a file through the editor (`fs/read_text_file`: its buffer, unsaved changes
/// included) for a patch the engine is planning.
async fn read(peers: Arc<Peers>, session_id: String, id: RequestId, params: FsReadTextFileParams) {
    let request = ReadTextFileRequest::new(session_id, params.path);
    let answered = match peers.client.send_request(request).block_task().await {
        Ok(read) => {
            let response = FsReadTextFileResponse {
                content: read.content,
            };
            peers.app.respond(&id, response).await
        }
        Err(err) => {
            peers
                .app
                .respond_error(&id, INTERNAL_ERROR, &err.message)
                .await
        }
    };
    if let Err(err) = answered {
        tracing::warn!(error = %err, "could not answer a file read");
    }
}

/// The modes and model option this session reports.
pub fn reported(
    settings: &Settings,
) -> (
    agent_client_protocol::v1::schema::SessionModeState,
    agent_client_protocol::v1::schema::SessionConfigOption,
) {
    let modes = modes::mode_state(
        settings.mode.as_deref(),
        &settings.approval,
        &settings.sandbox,
    );
    let model = settings.model.as_deref().unwrap_or(&settings.current_model);
    (modes, modes::model_option(model, &settings.models))
}
