//! The driver's side of a task's App Server: a WebSocket with the attempt's token, numbered
//! JSON-RPC requests, and everything else the server sends handed on as it arrives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::spec::Endpoint;
use crate::CloudError;

/// The largest frame accepted from a task (a whole diff can be large).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

type Reply = Result<Value, String>;
type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Reply>>>>;

/// An open connection to one attempt's App Server.
pub struct Remote {
    to_server: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: AtomicI64,
    /// Notifications (`{"method", "params"}`), in order; closed when the connection ends.
    pub notifications: mpsc::UnboundedReceiver<Value>,
}

/// Why a connection attempt failed: worth retrying (nothing listens yet) or not.
#[derive(Debug)]
pub enum ConnectError {
    /// Nothing accepted the connection, or it closed during the handshake.
    NotYet(String),
    /// The server answered and refused.
    Refused(String),
}

impl Remote {
    /// One try at the WebSocket handshake.
    pub async fn connect(endpoint: &Endpoint, token: &str) -> Result<Remote, ConnectError> {
        let url = endpoint.url();
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| ConnectError::Refused(format!("{url}: {e}")))?;
        let bearer = format!("Bearer {token}")
            .parse()
            .map_err(|_| ConnectError::Refused("the token is not a header value".into()))?;
        request.headers_mut().insert("Authorization", bearer);
        let stream = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .map_err(|e| ConnectError::NotYet(e.to_string()))?;
        let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE_BYTES));
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(r) => {
                    ConnectError::Refused(format!("the task's app server answered {}", r.status()))
                }
                // A published port accepts before the server inside listens, then closes.
                e => ConnectError::NotYet(e.to_string()),
            })?;
        let (mut sink, mut stream) = ws.split();
        let (to_server, mut outgoing) = mpsc::unbounded_channel::<Message>();
        let (to_driver, notifications) = mpsc::unbounded_channel::<Value>();
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            while let Some(m) = outgoing.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let reader_pending = pending.clone();
        let answer = to_server.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                route(value, &reader_pending, &to_driver, &answer);
            }
            // The connection is gone: every request still waiting learns it.
            let waiting: Vec<_> = reader_pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .drain()
                .collect();
            for (_, tx) in waiting {
                let _ = tx.send(Err("the connection to the task closed".into()));
            }
        });
        Ok(Remote {
            to_server,
            pending,
            next_id: AtomicI64::new(1),
            notifications,
        })
    }

    /// Sends a request and waits (at most `timeout`) for its result.
    pub async fn request(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, CloudError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.to_server
            .send(Message::Text(body.to_string().into()))
            .map_err(|_| CloudError::Remote(format!("{method}: the connection is closed")))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => Err(CloudError::Remote(format!("{method}: {e}"))),
            Ok(Err(_)) => Err(CloudError::Remote(format!(
                "{method}: the connection closed before the answer"
            ))),
            Err(_) => {
                self.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                Err(CloudError::Remote(format!(
                    "{method}: no answer within {} s",
                    timeout.as_secs()
                )))
            }
        }
    }

    /// Sends a notification.
    pub fn notify(&self, method: &str, params: Value) {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params});
        let _ = self.to_server.send(Message::Text(body.to_string().into()));
    }
}

fn route(
    value: Value,
    pending: &Pending,
    to_driver: &mpsc::UnboundedSender<Value>,
    answer: &mpsc::UnboundedSender<Message>,
) {
    let has_method = value.get("method").is_some();
    match (value.get("id").cloned(), has_method) {
        // A reply to one of ours.
        (Some(id), false) => {
            let Some(id) = id.as_i64() else { return };
            let Some(tx) = pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id)
            else {
                return;
            };
            let reply = match value.get("error") {
                Some(e) => Err(e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_string()),
                None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
            };
            let _ = tx.send(reply);
        }
        // The server asks something (an approval, a question): nobody is there to answer.
        (Some(id), true) => {
            let reply = json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": -32000, "message": "no user is present in a cloud task"},
            });
            let _ = answer.send(Message::Text(reply.to_string().into()));
        }
        (None, true) => {
            let _ = to_driver.send(value);
        }
        (None, false) => {}
    }
}
