//! A client's side of a JSON-RPC connection to the in-process App Server: numbered requests
//! typed with `wright_protocol::v2`, their replies, and everything else the server sends
//! (notifications and server→client requests), handed on through an [`Incoming`] channel.
//!
//! The bridges that drive an App Server in process (`wright acp`, `wright mcp-server`) share
//! it; each maps [`ClientError`] to its own error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use wright_protocol::jsonrpc::{self, JsonRpcMessage, RequestId};
use wright_protocol::v2::{ClientRequest, ServerNotification, ServerRequest, WrightServerRequest};

use crate::Connection;

type Reply = Result<Value, (i64, String)>;
type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Reply>>>>;

/// What can go wrong talking to the App Server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The App Server's reply did not fit the protocol type (a bug on one side).
    #[error("the app server's reply to {method} is malformed: {source}")]
    BadReply {
        /// The method whose reply did not fit.
        method: &'static str,
        /// Why it did not fit.
        #[source]
        source: serde_json::Error,
    },
    /// The App Server answered a request with a JSON-RPC error.
    #[error("{method} failed: {message}")]
    AppServer {
        /// The App Server method that failed.
        method: &'static str,
        /// Its JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The in-process App Server stopped reading or writing.
    #[error("the wright app server is gone")]
    Gone,
}

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
    /// A request of a wright extension the client opted in to.
    Extension(Box<WrightServerRequest>),
}

impl AppClient {
    /// Starts reading the connection. Everything that is not a reply goes to `incoming`; a
    /// server request of a kind no [`Incoming`] holds is refused with `METHOD_NOT_FOUND`,
    /// naming the client as `who` ("the ACP bridge"). The returned task ends when the server
    /// closes the connection.
    pub fn start(
        connection: Connection,
        incoming: mpsc::UnboundedSender<Incoming>,
        who: &'static str,
    ) -> (AppClient, JoinHandle<()>) {
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
                if let Some(refusal) = route(&line, &pending, &incoming, who) {
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
    pub async fn request<R: DeserializeOwned>(
        &self,
        request: ClientRequest,
    ) -> Result<R, ClientError> {
        let method = request.method();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = serde_json::to_value(&request)
            .map_err(|source| ClientError::BadReply { method, source })?;
        if let Some(object) = message.as_object_mut() {
            object.insert("id".into(), json!(id));
        }
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, tx);
        }
        self.send(message.to_string()).await?;
        match rx.await {
            Ok(Ok(value)) => serde_json::from_value(value)
                .map_err(|source| ClientError::BadReply { method, source }),
            Ok(Err((code, message))) => Err(ClientError::AppServer {
                method,
                code,
                message,
            }),
            Err(_) => Err(ClientError::Gone),
        }
    }

    /// Answers a server→client request.
    pub async fn respond(&self, id: &RequestId, result: impl Serialize) -> Result<(), ClientError> {
        let message = JsonRpcMessage::response(id.clone(), result).map_err(|source| {
            ClientError::BadReply {
                method: "response",
                source,
            }
        })?;
        self.send(message.to_line()).await
    }

    /// Refuses a server→client request; `message` is what the model is told.
    pub async fn respond_error(
        &self,
        id: &RequestId,
        code: i64,
        message: &str,
    ) -> Result<(), ClientError> {
        self.send(JsonRpcMessage::error(id.clone(), code, message).to_line())
            .await
    }

    async fn send(&self, line: String) -> Result<(), ClientError> {
        self.tx.send(line).await.map_err(|_| ClientError::Gone)
    }
}

/// Sorts one line from the server. The server is in process and speaks the same types, so a
/// line that does not parse is a bug: it is logged and dropped, never a panic. Returns the
/// refusal to send for a server request this client does not know.
fn route(
    line: &str,
    pending: &Pending,
    incoming: &mpsc::UnboundedSender<Incoming>,
    who: &str,
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
            let value = json!({"method": notification.method, "params": notification.params});
            match serde_json::from_value::<ServerNotification>(value) {
                Ok(n) => Incoming::Notification(Box::new(n)),
                Err(err) => {
                    tracing::warn!(method = %notification.method, error = %err, "malformed notification");
                    return None;
                }
            }
        }
        JsonRpcMessage::Request(request) => {
            let value =
                json!({"id": request.id, "method": request.method, "params": request.params});
            if let Ok(r) = serde_json::from_value::<ServerRequest>(value.clone()) {
                Incoming::Request(Box::new(r))
            } else if let Ok(r) = serde_json::from_value::<WrightServerRequest>(value) {
                Incoming::Extension(Box::new(r))
            } else {
                let message = format!("{who} does not handle `{}`", request.method);
                return Some(
                    JsonRpcMessage::error(request.id, jsonrpc::METHOD_NOT_FOUND, message).to_line(),
                );
            }
        }
    };
    let _ = incoming.send(item);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(line: &str) -> (Option<String>, Option<Incoming>) {
        let pending: Pending = Arc::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let refusal = route(line, &pending, &tx, "the test client");
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
            "the test client",
        );
        assert_eq!(
            reply.try_recv().unwrap(),
            Err((-32600, "thread not found: x".to_string()))
        );
        let (waiter, mut reply) = oneshot::channel();
        pending.lock().unwrap().insert(5, waiter);
        route(
            r#"{"id":5,"result":{"ok":true}}"#,
            &pending,
            &tx,
            "the test client",
        );
        assert_eq!(reply.try_recv().unwrap(), Ok(json!({"ok": true})));
    }

    #[test]
    fn an_unknown_server_request_is_refused_not_dropped() {
        for line in [
            r#"{"id":9,"method":"item/tool/requestUserInput","params":{}}"#,
            r#"{"id":9,"method":"item/tool/call","params":{}}"#,
        ] {
            let (refusal, item) = sorted(line);
            assert!(item.is_none());
            let refusal: Value = serde_json::from_str(&refusal.unwrap()).unwrap();
            assert_eq!(refusal["id"], 9);
            assert_eq!(refusal["error"]["code"], jsonrpc::METHOD_NOT_FOUND);
            let message = refusal["error"]["message"].as_str().unwrap();
            assert!(
                message.starts_with("the test client does not handle `"),
                "{message}"
            );
        }
    }

    #[test]
    fn requests_and_notifications_are_typed() {
        let (_, item) = sorted(
            r#"{"id":1,"method":"item/fileChange/requestApproval","params":{"threadId":"t","turnId":"u","itemId":"i","startedAtMs":0,"reason":null,"grantRoot":null}}"#,
        );
        assert!(matches!(item, Some(Incoming::Request(_))));
        let (_, item) = sorted(
            r#"{"id":1,"method":"wright/fileChange/write","params":{"threadId":"t","turnId":"u","itemId":"i","files":[{"path":"/a","content":"x"}]}}"#,
        );
        assert!(matches!(item, Some(Incoming::Extension(_))));
        let (_, item) = sorted(
            r#"{"method":"item/agentMessage/delta","params":{"threadId":"t","turnId":"u","itemId":"i","delta":"hi"}}"#,
        );
        assert!(matches!(item, Some(Incoming::Notification(_))));
        let (_, item) = sorted(
            r#"{"method":"turn/started","params":{"threadId":"t2","turn":{"id":"u","items":[],"status":"inProgress","error":null}}}"#,
        );
        assert!(matches!(item, Some(Incoming::Notification(_))));
        let (refusal, item) = sorted("not json");
        assert!(refusal.is_none() && item.is_none());
    }
}
