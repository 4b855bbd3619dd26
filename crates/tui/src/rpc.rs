//! The TUI's side of a JSON-RPC connection to the App Server: numbering requests, and sorting
//! what arrives into responses, notifications and server requests (approvals).

use serde_json::{json, Value};
use tokio::sync::mpsc;
use wright_protocol::jsonrpc::RequestId;
use wright_protocol::v2::{ServerNotification, ServerRequest};

/// A line channel to the server (in process, or a socket's writer).
#[derive(Clone)]
pub struct RpcSender {
    tx: mpsc::UnboundedSender<String>,
    next_id: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl RpcSender {
    pub fn new(tx: mpsc::UnboundedSender<String>) -> Self {
        Self {
            tx,
            next_id: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1)),
        }
    }

    /// Sends a request; returns its id, which the response will carry.
    pub fn request(&self, method: &str, params: Value) -> i64 {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.send(json!({"id": id, "method": method, "params": params}));
        id
    }

    pub fn notify(&self, method: &str) {
        self.send(json!({"method": method}));
    }

    /// Answers a server request.
    pub fn respond(&self, id: &RequestId, result: Value) {
        self.send(json!({"id": id, "result": result}));
    }

    /// Refuses a server request.
    pub fn respond_error(&self, id: &RequestId, message: &str) {
        self.send(json!({"id": id, "error": {"code": -32601, "message": message}}));
    }

    fn send(&self, message: Value) {
        // A closed channel means the server is gone; the reader reports that.
        let _ = self.tx.send(message.to_string());
    }
}

/// One message from the server, sorted.
#[derive(Debug)]
pub enum Incoming {
    Response {
        id: i64,
        result: Result<Value, String>,
    },
    Notification(Box<ServerNotification>),
    Request(Box<ServerRequest>),
    /// A server request this client does not know: it must still be answered (with an error),
    /// or the server waits forever.
    UnknownRequest {
        id: RequestId,
        method: String,
    },
    /// A notification of a method this client does not show.
    Ignored,
}

/// Sorts one line. A line that is not a message is an error the caller shows, not a crash.
pub fn parse(line: &str) -> Result<Incoming, String> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| format!("the server sent a line that is not JSON ({e})"))?;
    let method = value.get("method").and_then(Value::as_str);
    let id = value.get("id");
    match (method, id) {
        (None, Some(id)) => {
            let id = id
                .as_i64()
                .ok_or_else(|| format!("a response with an id this client never sent: {id}"))?;
            let result = match value.get("error") {
                Some(error) => Err(error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_string()),
                None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
            };
            Ok(Incoming::Response { id, result })
        }
        (Some(method), Some(id)) => match serde_json::from_value::<ServerRequest>(value.clone()) {
            Ok(request) => Ok(Incoming::Request(Box::new(request))),
            Err(_) => Ok(Incoming::UnknownRequest {
                id: serde_json::from_value(id.clone())
                    .map_err(|e| format!("a request id that is neither number nor string: {e}"))?,
                method: method.to_string(),
            }),
        },
        (Some(method), None) => {
            if !ServerNotification::METHODS.contains(&method) {
                return Ok(Incoming::Ignored);
            }
            let method = method.to_string();
            serde_json::from_value::<ServerNotification>(value)
                .map(|n| Incoming::Notification(Box::new(n)))
                .map_err(|e| format!("the server's {method} notification is malformed: {e}"))
        }
        (None, None) => Err("the server sent a message with neither method nor id".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sorted_by_shape() {
        assert!(matches!(
            parse(r#"{"id":3,"result":{"ok":true}}"#),
            Ok(Incoming::Response {
                id: 3,
                result: Ok(_)
            })
        ));
        match parse(r#"{"id":4,"error":{"code":-32600,"message":"no such thread"}}"#) {
            Ok(Incoming::Response {
                id: 4,
                result: Err(m),
            }) => assert_eq!(m, "no such thread"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(
                r#"{"method":"item/agentMessage/delta","params":{"threadId":"t","turnId":"u","itemId":"i","delta":"hi"}}"#
            ),
            Ok(Incoming::Notification(_))
        ));
        assert!(matches!(
            parse(r#"{"method":"some/new/thing","params":{}}"#),
            Ok(Incoming::Ignored)
        ));
        assert!(matches!(
            parse(r#"{"id":"x","method":"item/tool/requestUserInput","params":{}}"#),
            Ok(Incoming::UnknownRequest { .. })
        ));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse("not json").is_err());
        assert!(parse("{}").is_err());
        assert!(parse(r#"{"method":"turn/completed","params":{"x":1}}"#).is_err());
    }
}
