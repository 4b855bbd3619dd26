//! One client connection: reads its lines, answers its requests in order, and sends it
//! notifications and server→client requests through its own queue.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use wright_protocol::jsonrpc::{
    self, JsonRpcErrorObject, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse, MessageParseError,
    RequestId, INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR,
};
use wright_protocol::v2::{ServerNotification, ServerRequest, WrightServerRequest};

use crate::state::State;
use crate::wire::now_ms;

/// A notification serialized once, ready for any number of connections.
pub(crate) struct Outbound {
    method: &'static str,
    line: String,
}

impl Outbound {
    pub fn new(notification: &ServerNotification) -> Outbound {
        let message = notification.to_jsonrpc(Some(now_ms()));
        Outbound {
            method: notification.method(),
            line: serde_json::to_string(&message).unwrap_or_default(),
        }
    }
}

/// Lines longer than this are refused (and answered) without being parsed.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// A client this far behind gets no more streaming deltas until it catches up (the completed
/// items still carry the whole text), so a client that stops reading cannot grow the server's
/// memory without bound.
const MAX_QUEUED_BEFORE_DROPPING_DELTAS: usize = 4096;

type Pending = HashMap<i64, oneshot::Sender<Result<Value, Value>>>;

/// A handle to send things to one connection. Cheap to clone; sending to a closed connection
/// is a no-op.
#[derive(Clone)]
pub(crate) struct ConnHandle {
    pub id: u64,
    out: mpsc::UnboundedSender<String>,
    pending: Arc<Mutex<Pending>>,
    next_request: Arc<AtomicI64>,
    opt_out: Arc<Mutex<HashSet<String>>>,
    /// The client declared `wrightFileWrites`: it writes approved patches itself.
    writes_files: Arc<AtomicBool>,
    /// The client declared `wrightFileReads`: patches are planned from its text of the files.
    reads_files: Arc<AtomicBool>,
    /// The client declared `wrightCommandRuns`: it runs the engine's commands in its terminals.
    runs_commands: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
    /// Lines sent but not yet taken by the transport.
    queued: Arc<AtomicUsize>,
}

impl ConnHandle {
    fn new(out: mpsc::UnboundedSender<String>, queued: Arc<AtomicUsize>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            out,
            pending: Arc::default(),
            next_request: Arc::default(),
            opt_out: Arc::default(),
            writes_files: Arc::default(),
            reads_files: Arc::default(),
            runs_commands: Arc::default(),
            closed: Arc::default(),
            queued,
        }
    }

    fn send_message<T: Serialize>(&self, message: &T) {
        if let Ok(line) = serde_json::to_string(message) {
            self.send_line(line);
        }
    }

    fn send_line(&self, line: String) {
        if self.out.send(line).is_ok() {
            self.queued.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn notify(&self, notification: &ServerNotification) {
        self.deliver(&Outbound::new(notification));
    }

    /// Sends a notification already serialized (one broadcast serializes once), unless the
    /// client opted out of it or is so far behind that deltas are dropped.
    pub fn deliver(&self, out: &Outbound) {
        let muted = self
            .opt_out
            .lock()
            .map(|m| m.contains(out.method))
            .unwrap_or(false);
        let is_delta = out.method.ends_with("Delta") || out.method.ends_with("/delta");
        let behind = self.backlog() > MAX_QUEUED_BEFORE_DROPPING_DELTAS;
        if !(muted || (is_delta && behind)) {
            self.send_line(out.line.clone());
        }
    }

    /// [`ConnHandle::notify`] that is never dropped for the client being behind (only muted by
    /// its opt-out): for a caller that waits for [`ConnHandle::backlog`] to shrink instead, so
    /// nothing it streams is lost.
    pub fn notify_lossless(&self, notification: &ServerNotification) {
        let out = Outbound::new(notification);
        let muted = self
            .opt_out
            .lock()
            .map(|m| m.contains(out.method))
            .unwrap_or(false);
        if !muted {
            self.send_line(out.line);
        }
    }

    /// Lines queued for this client that its transport has not taken yet.
    pub fn backlog(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub fn respond<T: Serialize>(&self, id: &RequestId, result: &T) {
        match serde_json::to_value(result) {
            Ok(result) => self.send_message(&JsonRpcResponse {
                id: id.clone(),
                result,
            }),
            Err(err) => self.error(
                Some(id),
                INTERNAL_ERROR,
                format!("the result could not be encoded: {err}"),
            ),
        }
    }

    pub fn error(&self, id: Option<&RequestId>, code: i64, message: impl Into<String>) {
        self.error_with_data(id, code, message, None);
    }

    /// An error with machine-readable `data` (e.g. `config_write_error_code`).
    pub fn error_with_data(
        &self,
        id: Option<&RequestId>,
        code: i64,
        message: impl Into<String>,
        data: Option<Value>,
    ) {
        // JSON-RPC answers a request whose id could not be read with `"id": null`.
        #[derive(Serialize)]
        struct ErrorReply<'a> {
            id: Option<&'a RequestId>,
            error: JsonRpcErrorObject,
        }
        self.send_message(&ErrorReply {
            id,
            error: JsonRpcErrorObject {
                code,
                message: message.into(),
                data,
            },
        });
    }

    /// Sends a server→client request built for the id this connection gives it. Returns the
    /// id and the reply to wait for: the sender is dropped when the connection closes first;
    /// `Err` carries the client's error object.
    pub fn start_request(
        &self,
        build: impl FnOnce(RequestId) -> ServerRequest,
    ) -> (i64, oneshot::Receiver<Result<Value, Value>>) {
        self.start(|id| build(id).to_jsonrpc())
    }

    /// [`ConnHandle::start_request`] for a request of a wright extension the client opted in to.
    pub fn start_extension_request(
        &self,
        build: impl FnOnce(RequestId) -> WrightServerRequest,
    ) -> (i64, oneshot::Receiver<Result<Value, Value>>) {
        self.start(|id| build(id).to_jsonrpc())
    }

    /// Whether the client declared at `initialize` that it writes approved patches itself.
    pub fn writes_files(&self) -> bool {
        self.writes_files.load(Ordering::SeqCst)
    }

    /// Whether the client declared at `initialize` that it holds the files' current text.
    pub fn reads_files(&self) -> bool {
        self.reads_files.load(Ordering::SeqCst)
    }

    /// Whether the client declared at `initialize` that it runs commands in its terminals.
    pub fn runs_commands(&self) -> bool {
        self.runs_commands.load(Ordering::SeqCst)
    }

    fn start(
        &self,
        build: impl FnOnce(RequestId) -> JsonRpcRequest,
    ) -> (i64, oneshot::Receiver<Result<Value, Value>>) {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        // A gone client cannot answer: the receiver sees "no answer" at once.
        if self.closed.load(Ordering::SeqCst) {
            return (id, rx);
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, tx);
        }
        let request = build(RequestId::Integer(id));
        match serde_json::to_string(&request) {
            Ok(line) => self.send_line(line),
            Err(_) => self.withdraw(id),
        }
        (id, rx)
    }

    /// Forgets a request nobody waits for any more (the turn was interrupted).
    pub fn withdraw(&self, id: i64) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(&id);
        }
    }

    fn resolve(&self, id: &RequestId, reply: Result<Value, Value>) {
        let RequestId::Integer(n) = id else {
            return;
        };
        let waiter = self.pending.lock().ok().and_then(|mut p| p.remove(n));
        if let Some(waiter) = waiter {
            let _ = waiter.send(reply);
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // Dropping the senders wakes every waiter with "no answer".
        if let Ok(mut pending) = self.pending.lock() {
            pending.clear();
        }
    }
}

pub(crate) async fn serve(
    state: Arc<State>,
    mut lines: mpsc::Receiver<String>,
    out: mpsc::UnboundedSender<String>,
    queued: Arc<AtomicUsize>,
) {
    let conn = ConnHandle::new(out, queued);
    let mut initialized = false;
    while let Some(line) = lines.recv().await {
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_MESSAGE_BYTES {
            conn.error(
                None,
                INVALID_REQUEST,
                format!(
                    "message of {} bytes is over the limit of {MAX_MESSAGE_BYTES} bytes",
                    line.len()
                ),
            );
            continue;
        }
        let message = match jsonrpc::parse_message(&line) {
            Ok(message) => message,
            Err(err) => {
                let (id, code) = match &err {
                    MessageParseError::NotJson(_) => (None, PARSE_ERROR),
                    MessageParseError::NotAnObject => (None, INVALID_REQUEST),
                    MessageParseError::Invalid { id, .. } => (id.clone(), INVALID_REQUEST),
                };
                conn.error(id.as_ref(), code, err.to_string());
                continue;
            }
        };
        match message {
            JsonRpcMessage::Request(request) => {
                if request.method == "initialize" {
                    if initialized {
                        conn.error(Some(&request.id), INVALID_REQUEST, "Already initialized");
                    } else {
                        initialized = true;
                        let params = request.params.unwrap_or(Value::Null);
                        if let Some(methods) = params
                            .pointer("/capabilities/optOutNotificationMethods")
                            .and_then(Value::as_array)
                        {
                            if let Ok(mut set) = conn.opt_out.lock() {
                                set.extend(
                                    methods.iter().filter_map(|m| m.as_str().map(String::from)),
                                );
                            }
                        }
                        let writes_files = params
                            .pointer("/capabilities/wrightFileWrites")
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        conn.writes_files.store(writes_files, Ordering::SeqCst);
                        let declared = |name: &str| {
                            params
                                .pointer(&format!("/capabilities/{name}"))
                                .and_then(Value::as_bool)
                                .unwrap_or(false)
                        };
                        conn.reads_files
                            .store(declared("wrightFileReads"), Ordering::SeqCst);
                        conn.runs_commands
                            .store(declared("wrightCommandRuns"), Ordering::SeqCst);
                        conn.respond(&request.id, &state.initialize_result(&params));
                        crate::mcp::connection_initialized(&state, &conn);
                    }
                    continue;
                }
                if !initialized {
                    conn.error(Some(&request.id), INVALID_REQUEST, "Not initialized");
                    continue;
                }
                crate::dispatch::handle_request(&state, &conn, request).await;
            }
            // `initialized` and any other client notification need no answer.
            JsonRpcMessage::Notification(_) => {}
            JsonRpcMessage::Response(response) => conn.resolve(&response.id, Ok(response.result)),
            JsonRpcMessage::Error(error) => {
                let detail = json!({"code": error.error.code, "message": error.error.message});
                conn.resolve(&error.id, Err(detail))
            }
        }
    }
    conn.close();
    state.connection_closed(conn.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    use wright_protocol::v2::{
        AgentMessageDeltaNotification, CommandExecutionOutputDeltaNotification,
        ThreadArchivedNotification,
    };

    #[test]
    fn a_client_far_behind_gets_no_deltas_but_every_event() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(MAX_QUEUED_BEFORE_DROPPING_DELTAS + 1));
        let conn = ConnHandle::new(tx, Arc::clone(&queued));
        let delta = |d: &str| {
            ServerNotification::AgentMessageDelta(AgentMessageDeltaNotification {
                thread_id: "t".into(),
                turn_id: "u".into(),
                item_id: "i".into(),
                delta: d.into(),
            })
        };
        conn.notify(&ServerNotification::CommandExecutionOutputDelta(
            CommandExecutionOutputDeltaNotification {
                thread_id: "t".into(),
                turn_id: "u".into(),
                item_id: "i".into(),
                delta: "x".into(),
            },
        ));
        conn.notify(&delta("y"));
        conn.notify(&ServerNotification::ThreadArchived(
            ThreadArchivedNotification {
                thread_id: "t".into(),
            },
        ));
        let line = rx.try_recv().unwrap();
        assert!(line.contains("thread/archived"), "{line}");
        assert!(rx.try_recv().is_err());
        // Caught up: deltas flow again.
        queued.store(0, Ordering::Relaxed);
        conn.notify(&delta("z"));
        assert!(rx.try_recv().unwrap().contains("\"z\""));
    }
}
