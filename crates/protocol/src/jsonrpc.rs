//! JSON-RPC envelope of the App Server protocol (Codex `codex app-server`).
//!
//! One JSON object per line (stdio / JSONL) or per WebSocket text frame. Codex never emits the
//! `"jsonrpc":"2.0"` member and does not require it on input; we accept it when present and never
//! write it. The four shapes are:
//!
//! * request `{"id", "method", "params"?}`
//! * notification `{"method", "params"?}` (Codex adds `"emittedAtMs"` to the ones it sends)
//! * response `{"id", "result"}`
//! * error `{"id", "error": {"code", "message", "data"?}}`
//!
//! [`parse_message`] classifies an incoming line; the typed payloads live in [`crate::v2`].

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist / is not available.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameter(s).
pub const INVALID_PARAMS: i64 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i64 = -32603;

/// Id of a request: Codex uses integers (its server→client requests count from 0 per
/// connection) but strings are allowed by the schema.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(untagged)]
pub enum RequestId {
    Integer(i64),
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Integer(n) => write!(f, "{n}"),
            RequestId::String(s) => f.write_str(s),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Integer(n)
    }
}

impl From<String> for RequestId {
    fn from(s: String) -> Self {
        RequestId::String(s)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.to_string())
    }
}

/// A request that expects a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonRpcRequest {
    pub id: RequestId,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// A notification, which does not expect a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonRpcNotification {
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// Unix milliseconds at which the server emitted the notification. Codex adds this to every
    /// notification it sends; it is not part of the schema (which allows extra members).
    #[serde(
        rename = "emittedAtMs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub emitted_at_ms: Option<i64>,
}

/// A successful response to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonRpcResponse {
    pub id: RequestId,
    pub result: Value,
}

/// The `error` member of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonRpcErrorObject {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl JsonRpcErrorObject {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }
}

/// An error response to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonRpcError {
    pub id: RequestId,
    pub error: JsonRpcErrorObject,
}

/// Any message on the wire, in either direction.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum JsonRpcMessage {
    Request(JsonRpcRequest),
    Notification(JsonRpcNotification),
    Response(JsonRpcResponse),
    Error(JsonRpcError),
}

impl JsonRpcMessage {
    /// The message as one JSONL line (no trailing newline, no `jsonrpc` member).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("JSON-RPC messages always serialize")
    }

    /// A success response.
    pub fn response(id: RequestId, result: impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(JsonRpcMessage::Response(JsonRpcResponse {
            id,
            result: serde_json::to_value(result)?,
        }))
    }

    /// An error response.
    pub fn error(id: RequestId, code: i64, message: impl Into<String>) -> Self {
        JsonRpcMessage::Error(JsonRpcError {
            id,
            error: JsonRpcErrorObject::new(code, message),
        })
    }
}

/// Why an incoming line is not a usable JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageParseError {
    /// Not JSON at all (or truncated). Codex sends no answer to such lines.
    NotJson(String),
    /// Valid JSON but not an object (array, string, …). Codex sends no answer either.
    NotAnObject,
    /// A JSON object that is not a valid message. `id` is set when the object carried a usable
    /// id, so the server can answer with an error response.
    Invalid {
        id: Option<RequestId>,
        message: String,
    },
}

impl MessageParseError {
    /// The JSON-RPC error code that fits this failure.
    pub fn code(&self) -> i64 {
        match self {
            MessageParseError::NotJson(_) => PARSE_ERROR,
            MessageParseError::NotAnObject | MessageParseError::Invalid { .. } => INVALID_REQUEST,
        }
    }
}

impl fmt::Display for MessageParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageParseError::NotJson(e) => write!(f, "parse error: {e}"),
            MessageParseError::NotAnObject => f.write_str("invalid request: not a JSON object"),
            MessageParseError::Invalid { message, .. } => write!(f, "invalid request: {message}"),
        }
    }
}

impl std::error::Error for MessageParseError {}

/// Parse one incoming line (or WebSocket text frame) into a [`JsonRpcMessage`].
pub fn parse_message(line: &str) -> Result<JsonRpcMessage, MessageParseError> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| MessageParseError::NotJson(e.to_string()))?;
    message_from_value(value)
}

/// Classify an already-parsed JSON value; see [`parse_message`].
pub fn message_from_value(value: Value) -> Result<JsonRpcMessage, MessageParseError> {
    let Value::Object(mut obj) = value else {
        return Err(MessageParseError::NotAnObject);
    };
    if let Some(v) = obj.remove("jsonrpc") {
        if v != Value::String("2.0".into()) {
            return Err(MessageParseError::Invalid {
                id: obj.get("id").and_then(request_id_of),
                message: "`jsonrpc` must be \"2.0\" when present".into(),
            });
        }
    }
    let raw_id = obj.remove("id");
    let id = match &raw_id {
        None => None,
        Some(v) => match request_id_of(v) {
            Some(id) => Some(id),
            None => {
                return Err(MessageParseError::Invalid {
                    id: None,
                    message: "`id` must be an integer or a string".into(),
                })
            }
        },
    };
    let invalid = |id: Option<RequestId>, message: &str| MessageParseError::Invalid {
        id,
        message: message.to_string(),
    };

    if let Some(method) = obj.remove("method") {
        let Value::String(method) = method else {
            return Err(invalid(id, "`method` must be a string"));
        };
        let params = obj.remove("params");
        return Ok(match id {
            Some(id) => JsonRpcMessage::Request(JsonRpcRequest { id, method, params }),
            None => JsonRpcMessage::Notification(JsonRpcNotification {
                method,
                params,
                emitted_at_ms: obj.get("emittedAtMs").and_then(Value::as_i64),
            }),
        });
    }
    let Some(id) = id else {
        return Err(invalid(None, "missing `method` or `id`"));
    };
    if let Some(result) = obj.remove("result") {
        return Ok(JsonRpcMessage::Response(JsonRpcResponse { id, result }));
    }
    if let Some(error) = obj.remove("error") {
        return match serde_json::from_value::<JsonRpcErrorObject>(error) {
            Ok(error) => Ok(JsonRpcMessage::Error(JsonRpcError { id, error })),
            Err(e) => Err(invalid(Some(id), &format!("bad `error` object: {e}"))),
        };
    }
    Err(invalid(Some(id), "expected `method`, `result` or `error`"))
}

fn request_id_of(v: &Value) -> Option<RequestId> {
    match v {
        Value::Number(n) => n.as_i64().map(RequestId::Integer),
        Value::String(s) => Some(RequestId::String(s.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_four_shapes() {
        let m = parse_message(r#"{"id":1,"method":"initialize","params":{}}"#).unwrap();
        assert!(matches!(m, JsonRpcMessage::Request(ref r) if r.id == RequestId::Integer(1)));
        let m = parse_message(r#"{"jsonrpc":"2.0","method":"initialized"}"#).unwrap();
        assert!(matches!(m, JsonRpcMessage::Notification(ref n) if n.params.is_none()));
        let m = parse_message(r#"{"id":"a","result":{"decision":"accept"}}"#).unwrap();
        assert!(matches!(m, JsonRpcMessage::Response(_)));
        let m = parse_message(r#"{"id":0,"error":{"code":-32600,"message":"x"}}"#).unwrap();
        assert!(matches!(m, JsonRpcMessage::Error(ref e) if e.error.code == INVALID_REQUEST));
    }

    #[test]
    fn never_emits_jsonrpc_member() {
        let m = parse_message(r#"{"jsonrpc":"2.0","id":3,"method":"x"}"#).unwrap();
        assert_eq!(m.to_line(), r#"{"id":3,"method":"x"}"#);
        let e = JsonRpcMessage::error(RequestId::Integer(4), METHOD_NOT_FOUND, "nope");
        assert_eq!(
            e.to_line(),
            r#"{"id":4,"error":{"code":-32601,"message":"nope"}}"#
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            parse_message("{\"id\":1,"),
            Err(MessageParseError::NotJson(_))
        ));
        assert_eq!(parse_message("[1,2]"), Err(MessageParseError::NotAnObject));
        assert!(matches!(
            parse_message(r#"{"id":1,"method":42}"#),
            Err(MessageParseError::Invalid {
                id: Some(RequestId::Integer(1)),
                ..
            })
        ));
        assert!(matches!(
            parse_message(r#"{"id":[1],"method":"x"}"#),
            Err(MessageParseError::Invalid { id: None, .. })
        ));
    }
}
