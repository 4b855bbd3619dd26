use std::time::Duration;

/// A request that failed before a stream opened.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub message: String,
    /// Worth trying again (connection error, 429, 5xx).
    pub retryable: bool,
    /// What the server asked for in `Retry-After`.
    pub retry_after: Option<Duration>,
    /// The server said the prompt does not fit the model's context window.
    pub context_window_exceeded: bool,
}

impl ApiError {
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            retry_after: None,
            context_window_exceeded: false,
        }
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            ..Self::fatal(message)
        }
    }

    pub(crate) async fn from_status(response: reqwest::Response, url: &str) -> Self {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(600.0)));
        let body = response.text().await.unwrap_or_default();
        let parsed: Option<serde_json::Value> = serde_json::from_str(&body).ok();
        let server_message = parsed
            .as_ref()
            .and_then(|v| v.pointer("/error/message"))
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| truncate(body.trim(), 2000));
        let code = parsed
            .as_ref()
            .and_then(|v| v.pointer("/error/code"))
            .and_then(|m| m.as_str())
            .unwrap_or_default();
        let retryable = status.as_u16() == 429 || status.is_server_error();
        Self {
            message: format!("unexpected status {status}: {server_message}, url: {url}"),
            retryable,
            retry_after,
            context_window_exceeded: code == "context_length_exceeded",
        }
    }
}

/// A stream that broke or ended badly after it opened.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StreamError {
    /// The connection dropped or the server failed mid-reply; the request may be sent again.
    #[error("stream disconnected before completion: {0}")]
    Disconnected(String),
    /// The server answered but the reply cannot be used, and asking again will not help.
    #[error("{0}")]
    Fatal(String),
    #[error("the model's context window is exceeded: {0}")]
    ContextWindowExceeded(String),
    /// `response.incomplete`: the items already done are valid.
    #[error("Incomplete response returned, reason: {0}")]
    Incomplete(String),
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
