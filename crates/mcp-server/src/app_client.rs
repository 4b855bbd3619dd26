//! The bridge's side of its JSON-RPC connection to the in-process App Server: numbered
//! requests typed with `wright_protocol::v2`, their replies, and everything else the server
//! sends (notifications and approval questions), handed on for the tool calls to sort.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use wright_app_server::Connection;
use wright_protocol::jsonrpc::{self, JsonRpcMessage, RequestId};
use wright_protocol::v2::{ClientRequest, ServerNotification, ServerRequest};

use crate::error::{Error, Result};

type Reply = Result<Value, (i64, String)>;
type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Reply>>>>;

/// Sends requests to the App Server and answers its requests. Cheap to clone.
#[derive(Clone)]
pub struct AppClient {
    tx: mpsc::Sender<String>,
    pending: Pending,
    next_id: Arc<AtomicI64>,
}

/// What the App Server sends besides replies.
#[derive(Debug)]
pub enum Incoming {
    Notification(Box<ServerNotification>),
    /// An approval question (a command, a patch, or a call to an MCP tool).
    Request(Box<ServerRequest>),
}

impl Incoming {
    /// The thread this is about, for those a tool call follows.
    pub fn thread_id(&self) -> Option<&str> {
        use ServerNotification as N;
        match self {
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
        }
    }
}

impl AppClient {
    /// Starts reading the connection. Everything that is not a reply goes to `incoming`; the
    /// returned task ends when the server closes the connection.
    pub fn start(
        connection: Connection,
        incoming: mpsc::UnboundedSender<Incoming>,
    ) -> (AppClient, tokio::task::JoinHandle<()>) {
        let pending: Pending = Arc::default();
        let client = AppClient {
            tx: connection.incoming,
            pending: Arc::clone(&pending),
            next_id: Arc::new(AtomicI64::new(1)),
        };
        let mut outgoing = connection.outgoing;
        let refusals = client.tx.clone();
        let reader = tokio::spawn(async move {
            while let Some(line) = outgoing.recv().await {
                if let Some(refusal) = route(&line, &pending, &incoming) {
                    // The server waits for an answer to every request it sends.
                    if refusals.send(refusal).await.is_err() {
                        break;
                    }
                }
            }
            // Dropping the waiters tells every caller the server is gone.
            if let Ok(mut pending) = pending.lock() {
                pending.clear();
            }
        });
        (client, reader)
    }

    /// Sends a request and waits for its typed result.
    pub async fn request<R: DeserializeOwned>(&self, request: ClientRequest) -> Result<R> {
        let method = request.method();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message =
            serde_json::to_value(&request).map_err(|source| Error::BadReply { method, source })?;
        if let Some(object) = message.as_object_mut() {
            object.insert("id".into(), Value::from(id));
        }
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, tx);
        }
        self.send(message.to_string()).await?;
        match rx.await {
            Ok(Ok(value)) => {
                serde_json::from_value(value).map_err(|source| Error::BadReply { method, source })
            }
            Ok(Err((code, message))) => Err(Error::AppServer {
                method,
                code,
                message,
            }),
            Err(_) => Err(Error::AppServerGone),
        }
    }

    /// Answers a server→client request.
    pub async fn respond(&self, id: &RequestId, result: impl Serialize) -> Result<()> {
        let message =
            JsonRpcMessage::response(id.clone(), result).map_err(|source| Error::BadReply {
                method: "response",
                source,
            })?;
        self.send(message.to_line()).await
    }

    /// Refuses a server→client request; the engine treats it as a "no".
    pub async fn respond_error(&self, id: &RequestId, message: &str) -> Result<()> {
        let line = JsonRpcMessage::error(id.clone(), jsonrpc::INTERNAL_ERROR, message).to_line();
        self.send(line).await
    }

    async fn send(&self, line: String) -> Result<()> {
        self.tx.send(line).await.map_err(|_| Error::AppServerGone)
    }
}

/// Sorts one line from the server. The server is in process and speaks the same types, so a
/// line that does not parse is a bug: it is logged and dropped, never a panic. Returns the
/// refusal to send for a server request this bridge does not know.
fn route(
    line: &str,
    pending: &Pending,
    incoming: &mpsc::UnboundedSender<Incoming>,
) -> Option<String> {
    let message = match jsonrpc::parse_message(line) {
        Ok(message) => message,
        Err(err) => {
            tracing::warn!(error = %err, "unreadable line from the app server");
            return None;
        }
    };
    let settle = |id: &RequestId, reply: Reply| {
        let RequestId::Integer(n) = id else {
            return None;
        };
        let waiter = pending.lock().ok().and_then(|mut p| p.remove(n));
        if let Some(waiter) = waiter {
            let _ = waiter.send(reply);
        }
        None
    };
    let item = match message {
        JsonRpcMessage::Response(response) => return settle(&response.id, Ok(response.result)),
        JsonRpcMessage::Error(error) => {
            return settle(&error.id, Err((error.error.code, error.error.message)));
        }
        JsonRpcMessage::Notification(notification) => {
            if !ServerNotification::METHODS.contains(&notification.method.as_str()) {
                return None;
            }
            let value = tagged(notification.method, None, notification.params);
            match serde_json::from_value::<ServerNotification>(value) {
                Ok(n) => Incoming::Notification(Box::new(n)),
                Err(err) => {
                    tracing::warn!(error = %err, "malformed notification from the app server");
                    return None;
                }
            }
        }
        JsonRpcMessage::Request(request) => {
            let value = tagged(
                request.method.clone(),
                Some(request.id.clone()),
                request.params,
            );
            match serde_json::from_value::<ServerRequest>(value) {
                Ok(r) => Incoming::Request(Box::new(r)),
                Err(_) => {
                    let message = format!("the MCP bridge does not handle `{}`", request.method);
                    let refusal =
                        JsonRpcMessage::error(request.id, jsonrpc::METHOD_NOT_FOUND, message);
                    return Some(refusal.to_line());
                }
            }
        }
    };
    let _ = incoming.send(item);
    None
}

/// `{"method", "id"?, "params"}`: the shape the protocol's `method`-tagged enums read.
fn tagged(method: String, id: Option<RequestId>, params: Option<Value>) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("method".into(), Value::String(method));
    if let Some(id) = id {
        let id = match id {
            RequestId::Integer(n) => Value::from(n),
            RequestId::String(s) => Value::String(s),
        };
        object.insert("id".into(), id);
    }
    object.insert("params".into(), params.unwrap_or(Value::Null));
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(line: &str) -> (Option<String>, Option<Incoming>) {
        let pending: Pending = Arc::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let refusal = route(line, &pending, &tx);
        (refusal, rx.try_recv().ok())
    }

    #[test]
    fn replies_settle_their_request() {
        let pending: Pending = Arc::default();
        let (tx, _rx) = mpsc::unbounded_channel();
        let (waiter, mut reply) = oneshot::channel();
        pending.lock().unwrap().insert(4, waiter);
        route(
            r#"{"id":4,"error":{"code":-32600,"message":"thread not found: x"}}"#,
            &pending,
            &tx,
        );
        assert_eq!(
            reply.try_recv().unwrap(),
            Err((-32600, "thread not found: x".to_string()))
        );
    }

    #[test]
    fn an_unknown_server_request_is_refused_not_dropped() {
        let (refusal, item) = sorted(r#"{"id":9,"method":"item/tool/call","params":{}}"#);
        assert!(item.is_none());
        let refusal: Value = serde_json::from_str(&refusal.unwrap()).unwrap();
        assert_eq!(refusal["id"], 9);
        assert_eq!(refusal["error"]["code"], jsonrpc::METHOD_NOT_FOUND);
    }

    #[test]
    fn approvals_and_notifications_are_typed_with_their_thread() {
        let (_, item) = sorted(
            r#"{"id":1,"method":"item/fileChange/requestApproval","params":{"threadId":"t","turnId":"u","itemId":"i","startedAtMs":0,"reason":null,"grantRoot":null}}"#,
        );
        let item = item.unwrap();
        assert!(matches!(item, Incoming::Request(_)));
        assert_eq!(item.thread_id(), Some("t"));
        let (_, item) = sorted(
            r#"{"method":"turn/started","params":{"threadId":"t2","turn":{"id":"u","items":[],"status":"inProgress","error":null}}}"#,
        );
        assert_eq!(item.unwrap().thread_id(), Some("t2"));
        let (refusal, item) = sorted("not json");
        assert!(refusal.is_none() && item.is_none());
    }
}
