//! Approvals: the engine's questions become server→client requests to every client following
//! the thread (a tab, a terminal, an editor), and the first answer becomes the engine's
//! decision. The others are told `serverRequest/resolved`; a client that starts following
//! the thread while a question is open is asked too.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use wright_core::approval::{ApprovalRequest, Approver, ReviewDecision};
use wright_protocol::jsonrpc::RequestId;
use wright_protocol::v2::{
    CommandExecutionApprovalDecision, CommandExecutionApprovalKind,
    CommandExecutionRequestApprovalParams, CommandExecutionRequestApprovalResponse,
    FileChangeApprovalDecision, FileChangeRequestApprovalParams, FileChangeRequestApprovalResponse,
    ServerNotification, ServerRequest, ServerRequestResolvedNotification,
    ThreadStatusChangedNotification, ToolRequestUserInputParams,
};

use crate::conn::ConnHandle;
use crate::state::Loaded;
use crate::wire::{self, now_ms};

/// What is asked.
#[derive(Clone)]
pub(crate) enum Ask {
    Command(Box<CommandExecutionRequestApprovalParams>),
    Patch(FileChangeRequestApprovalParams),
    /// Questions with options (`item/tool/requestUserInput`): an MCP tool call's approval, or
    /// the model's own questions (`request_user_input`).
    UserInput(ToolRequestUserInputParams),
}

impl Ask {
    pub fn into_request(self, id: RequestId) -> ServerRequest {
        match self {
            Ask::Command(params) => ServerRequest::CommandExecutionRequestApproval {
                id,
                params: *params,
            },
            Ask::Patch(params) => ServerRequest::FileChangeRequestApproval { id, params },
            Ask::UserInput(params) => ServerRequest::ToolRequestUserInput { id, params },
        }
    }
}

/// A question for the client, handed to the turn's event pump so that it goes out after
/// the events that came before it (the item it is about is announced first).
pub(crate) struct Question {
    pub ask: Ask,
    pub sent: oneshot::Sender<(Arc<OpenQuestion>, Answer)>,
}

/// The first client's answer; `Err(_)` when every client that was asked went away.
pub(crate) type Answer = oneshot::Receiver<Result<Value, Value>>;

/// A question out to the thread's followers until one answers (or it is withdrawn).
pub(crate) struct OpenQuestion {
    ask: Ask,
    answer: Mutex<Option<oneshot::Sender<Result<Value, Value>>>>,
    /// Who was asked, with the request id each connection gave it.
    asked: Mutex<Vec<(ConnHandle, i64)>>,
}

impl OpenQuestion {
    pub fn new(ask: Ask) -> (Arc<OpenQuestion>, Answer) {
        let (tx, rx) = oneshot::channel();
        let open = Arc::new(OpenQuestion {
            ask,
            answer: Mutex::new(Some(tx)),
            asked: Mutex::new(Vec::new()),
        });
        (open, rx)
    }

    /// Nobody could be asked: the engine hears at once that no one will answer.
    pub fn give_up_if_unasked(&self) {
        let unasked = self.asked.lock().map(|a| a.is_empty()).unwrap_or(true);
        if unasked {
            let _ = self.answer.lock().map(|mut a| a.take());
        }
    }

    /// Asks `conn` (once per connection). Its reply answers the question if it is the first;
    /// when the last connection asked goes away unanswered, the question is dropped.
    pub fn offer(self: &Arc<Self>, conn: &ConnHandle) {
        let Ok(mut asked) = self.asked.lock() else {
            return;
        };
        let open = self.answer.lock().map(|a| a.is_some()).unwrap_or(false);
        if !open || asked.iter().any(|(c, _)| c.id == conn.id) {
            return;
        }
        let ask = self.ask.clone();
        let (id, reply) = conn.start_request(|id| ask.into_request(id));
        asked.push((conn.clone(), id));
        drop(asked);
        let (question, conn_id) = (Arc::clone(self), conn.id);
        tokio::spawn(async move {
            match reply.await {
                Ok(Ok(answer)) => question.answer_with(Ok(answer)),
                // A client that cannot answer (an error reply) does not decide for the others:
                // the error counts only when nobody else is left to ask.
                Ok(Err(error)) => {
                    if question.forget(conn_id) {
                        question.answer_with(Err(error));
                    }
                }
                // This client left (or the question was withdrawn from it). Dropping the
                // sender when nobody is left tells the engine no one can answer.
                Err(_) => {
                    if question.forget(conn_id) {
                        let _ = question.answer.lock().map(|mut a| a.take());
                    }
                }
            }
        });
    }

    /// The first answer wins; later ones are ignored.
    fn answer_with(&self, answer: Result<Value, Value>) {
        if let Some(first) = self.answer.lock().ok().and_then(|mut a| a.take()) {
            let _ = first.send(answer);
        }
    }

    /// Takes `conn_id` off the clients asked; whether none is left.
    fn forget(&self, conn_id: u64) -> bool {
        self.asked
            .lock()
            .map(|mut asked| {
                asked.retain(|(c, _)| c.id != conn_id);
                asked.is_empty()
            })
            .unwrap_or(true)
    }

    /// Withdraws the question from everyone asked, each told with its own request id.
    pub fn withdraw_all(&self, thread_id: &str) {
        let asked = self
            .asked
            .lock()
            .map(|mut a| std::mem::take(&mut *a))
            .unwrap_or_default();
        for (conn, id) in asked {
            conn.withdraw(id);
            conn.notify(&resolved(thread_id, id));
        }
    }
}

/// What approvals hand to the turn's event pump, to go out after the events emitted before.
pub(crate) enum ToPump {
    Ask(Question),
    /// A file write, a file read or a command run, for a client that does them itself.
    Delegate(crate::delegated::Outgoing),
    /// A notification for the thread's followers; `sent` is told once it is out.
    Notify {
        notification: Box<ServerNotification>,
        sent: Option<oneshot::Sender<()>>,
    },
}

pub(crate) fn resolved(thread_id: &str, id: i64) -> ServerNotification {
    ServerNotification::ServerRequestResolved(ServerRequestResolvedNotification {
        thread_id: thread_id.to_string(),
        request_id: RequestId::Integer(id),
    })
}

pub(crate) fn status_changed(
    thread_id: &str,
    status: wright_protocol::v2::ThreadStatus,
) -> ServerNotification {
    ServerNotification::ThreadStatusChanged(ThreadStatusChangedNotification {
        thread_id: thread_id.to_string(),
        status,
    })
}

/// Asks the thread's followers. While the question is open the thread is marked as waiting;
/// if the turn goes away first, the question is withdrawn.
pub(crate) fn approver(
    loaded: Arc<Loaded>,
    turn_id: String,
    questions: mpsc::UnboundedSender<ToPump>,
) -> Approver {
    Arc::new(move |request: ApprovalRequest| {
        let (loaded, turn_id, questions) =
            (Arc::clone(&loaded), turn_id.clone(), questions.clone());
        Box::pin(async move {
            let thread_id = loaded.id.clone();
            let started = now_ms();
            // How the answer reads: a decision, or (for an MCP tool) the label picked.
            let mut mcp_question = None;
            let ask = match request {
                ApprovalRequest::Command {
                    item_id,
                    command,
                    argv,
                    cwd,
                    reason,
                } => Ask::Command(Box::new(CommandExecutionRequestApprovalParams {
                    kind: CommandExecutionApprovalKind::Command,
                    thread_id,
                    turn_id,
                    item_id,
                    started_at_ms: started,
                    environment_id: Some("local".into()),
                    approval_id: None,
                    reason,
                    command: Some(command),
                    cwd: Some(cwd.display().to_string()),
                    command_actions: Some(vec![wire::command_action(
                        argv.last().map(String::as_str).unwrap_or_default(),
                    )]),
                    network_approval_context: None,
                    proposed_execpolicy_amendment: Some(argv),
                    proposed_network_policy_amendments: None,
                    available_decisions: Some(vec![
                        CommandExecutionApprovalDecision::Accept,
                        CommandExecutionApprovalDecision::AcceptForSession,
                        CommandExecutionApprovalDecision::Decline,
                        CommandExecutionApprovalDecision::Cancel,
                    ]),
                })),
                ApprovalRequest::Patch {
                    item_id, reason, ..
                } => Ask::Patch(FileChangeRequestApprovalParams {
                    thread_id,
                    turn_id,
                    item_id,
                    started_at_ms: started,
                    reason,
                    grant_root: None,
                }),
                ApprovalRequest::McpToolCall {
                    item_id,
                    server,
                    tool,
                    ..
                } => {
                    let params =
                        crate::mcp_approval::question(thread_id, turn_id, item_id, &server, &tool);
                    mcp_question = params.questions.first().map(|q| q.id.clone());
                    Ask::UserInput(params)
                }
            };
            let Some(reply) = ask_clients(&loaded, &questions, ask).await else {
                return ReviewDecision::Cancel;
            };
            match reply {
                Ok(Ok(value)) => match &mcp_question {
                    Some(question_id) => crate::mcp_approval::decision(&value, question_id),
                    None => decision(&value),
                },
                // The client answered with an error: this one command (or patch) fails, the
                // model is told, and the turn goes on, as in Codex.
                Ok(Err(_)) => ReviewDecision::Decline,
                // Nobody left to answer.
                Err(_) => ReviewDecision::Cancel,
            }
        })
    })
}

/// Asks the thread's clients through the turn's event pump (after the events before it) and
/// waits for the first answer; `serverRequest/resolved` follows. `None` when the turn's pump
/// is gone; `Err(_)` inside when every client that was asked went away.
pub(crate) async fn ask_clients(
    loaded: &Arc<Loaded>,
    pump: &mpsc::UnboundedSender<ToPump>,
    ask: Ask,
) -> Option<Result<Result<Value, Value>, oneshot::error::RecvError>> {
    let (sent, asked) = oneshot::channel();
    pump.send(ToPump::Ask(Question { ask, sent })).ok()?;
    let (open, reply) = asked.await.ok()?;
    let guard = ResolveGuard {
        loaded: Arc::clone(loaded),
        open: Mutex::new(Some(open)),
    };
    let reply = reply.await;
    guard.resolve();
    Some(reply)
}

/// The client's answer: Codex's v2 decisions, or the v1 names older clients send. Anything
/// else cancels (the turn stops rather than guessing a yes).
fn decision(reply: &Value) -> ReviewDecision {
    if let Ok(r) = serde_json::from_value::<CommandExecutionRequestApprovalResponse>(reply.clone())
    {
        return match r.decision {
            CommandExecutionApprovalDecision::Accept => ReviewDecision::Accept,
            CommandExecutionApprovalDecision::AcceptForSession
            // Allowed from now on.
            | CommandExecutionApprovalDecision::AcceptWithExecpolicyAmendment { .. } => {
                ReviewDecision::AcceptForSession
            }
            // wright has no per-host network policy to amend: not a yes.
            CommandExecutionApprovalDecision::ApplyNetworkPolicyAmendment { .. } => {
                ReviewDecision::Decline
            }
            CommandExecutionApprovalDecision::Decline => ReviewDecision::Decline,
            CommandExecutionApprovalDecision::Cancel => ReviewDecision::Cancel,
        };
    }
    if let Ok(r) = serde_json::from_value::<FileChangeRequestApprovalResponse>(reply.clone()) {
        return match r.decision {
            FileChangeApprovalDecision::Accept => ReviewDecision::Accept,
            FileChangeApprovalDecision::AcceptForSession => ReviewDecision::AcceptForSession,
            FileChangeApprovalDecision::Decline => ReviewDecision::Decline,
            FileChangeApprovalDecision::Cancel => ReviewDecision::Cancel,
        };
    }
    match reply.get("decision").and_then(Value::as_str) {
        Some("approved") => ReviewDecision::Accept,
        Some("approved_for_session") => ReviewDecision::AcceptForSession,
        Some("denied") => ReviewDecision::Decline,
        _ => ReviewDecision::Cancel,
    }
}

/// Announces `serverRequest/resolved` exactly once: when the answer came, or when the
/// question was dropped unanswered.
struct ResolveGuard {
    loaded: Arc<Loaded>,
    open: Mutex<Option<Arc<OpenQuestion>>>,
}

impl ResolveGuard {
    fn resolve(&self) {
        let Some(open) = self.open.lock().ok().and_then(|mut slot| slot.take()) else {
            return;
        };
        self.loaded.forget_question(&open);
        let thread_id = &self.loaded.id;
        open.withdraw_all(thread_id);
        self.loaded
            .broadcast(status_changed(thread_id, wire::active(false)));
    }
}

impl Drop for ResolveGuard {
    fn drop(&mut self) {
        self.resolve();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decisions_from_v2_and_v1_replies() {
        let cases = [
            (json!({"decision": "accept"}), ReviewDecision::Accept),
            (
                json!({"decision": "acceptForSession"}),
                ReviewDecision::AcceptForSession,
            ),
            (
                json!({"decision": {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["ls"]}}}),
                ReviewDecision::AcceptForSession,
            ),
            (json!({"decision": "decline"}), ReviewDecision::Decline),
            (json!({"decision": "cancel"}), ReviewDecision::Cancel),
            (json!({"decision": "approved"}), ReviewDecision::Accept),
            (json!({"decision": "denied"}), ReviewDecision::Decline),
            (json!({"decision": "yes please"}), ReviewDecision::Cancel),
            (json!({}), ReviewDecision::Cancel),
        ];
        for (reply, want) in cases {
            assert_eq!(decision(&reply), want, "{reply}");
        }
    }
}
