//! JSON-RPC errors a handler answers with.

use serde_json::Value;
use wright_protocol::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND};
use wright_protocol::v2::ParseError;

/// A JSON-RPC error to answer with.
#[derive(Debug)]
pub(crate) struct RpcError {
    pub code: i64,
    pub message: String,
    /// Machine-readable detail (`error.data`, e.g. Codex's `config_write_error_code`).
    pub data: Option<Value>,
}

pub(crate) type RpcResult<T> = Result<T, RpcError>;

impl RpcError {
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self {
            code: INVALID_PARAMS,
            message: message.into(),
            data: None,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self {
            code: INVALID_REQUEST,
            message: message.into(),
            data: None,
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: INTERNAL_ERROR,
            message: message.into(),
            data: None,
        }
    }

    pub fn method_not_found(message: impl Into<String>) -> Self {
        Self {
            code: METHOD_NOT_FOUND,
            message: message.into(),
            data: None,
        }
    }

    /// The same error with `data`.
    pub fn with_data(self, data: Value) -> Self {
        Self {
            data: Some(data),
            ..self
        }
    }

    /// A `(code, message)` error (the fs methods').
    pub fn from_code(code: i64, message: String) -> Self {
        Self {
            code,
            message,
            data: None,
        }
    }

    /// Codex's words for a thread id it does not know.
    pub fn thread_not_found(id: &str) -> Self {
        Self::invalid_request(format!("thread not found: {id}"))
    }
}

impl From<ParseError> for RpcError {
    fn from(err: ParseError) -> Self {
        Self {
            code: err.code(),
            message: err.to_string(),
            data: None,
        }
    }
}
