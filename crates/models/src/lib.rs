//! Model clients behind one interface: OpenAI Responses and Chat Completions, both streamed over
//! SSE, with retries.
//!
//! History and tool specs are kept in the Responses item format (`message`, `function_call`,
//! `function_call_output`, ...) as `serde_json::Value`s, so items the model sent are echoed back
//! byte for byte; the Chat client translates to and from `messages` at the edge.

mod chat;
mod error;
mod list;
mod local;
mod provider;
mod responses;
mod retry;
mod sse;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
pub use wright_protocol::TokenUsage;

pub use error::{ApiError, StreamError};
pub use local::{register_local_engine, LocalEngine, LocalEngineFactory};
pub use provider::{Provider, WireApi};
pub use retry::backoff;

/// Everything one model request needs.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub model: String,
    pub instructions: String,
    /// History in Responses item format, oldest first.
    pub input: Vec<Value>,
    /// Tool declarations in Responses format (`function` and `custom`).
    pub tools: Vec<Value>,
    pub parallel_tool_calls: bool,
    /// Sent as `reasoning` when set, e.g. `{"effort":"medium"}`.
    pub reasoning: Option<Value>,
    /// A JSON Schema the final answer must follow (`--output-schema`).
    pub output_schema: Option<Value>,
    /// Stable per thread so the server's prompt cache keeps hitting.
    pub prompt_cache_key: String,
}

/// What a streamed reply yields, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseEvent {
    /// A piece of assistant text (for clients that show text as it arrives).
    OutputTextDelta { item_id: String, delta: String },
    /// A piece of a reasoning summary as it streams.
    ReasoningSummaryDelta {
        item_id: String,
        summary_index: u64,
        delta: String,
    },
    /// One finished output item, exactly as the server sent it (Responses shape).
    OutputItemDone(Value),
    /// The reply ended normally.
    Completed { usage: Option<TokenUsage> },
}

/// A reply being streamed. Ends after `Completed` or an error.
pub struct ResponseStream {
    rx: mpsc::Receiver<Result<ResponseEvent, StreamError>>,
}

impl ResponseStream {
    /// A stream fed by a backend of its own (the embedded model): it sends events on `tx` and
    /// stops generating once the receiver is gone (the turn was interrupted).
    pub fn channel(capacity: usize) -> (mpsc::Sender<Result<ResponseEvent, StreamError>>, Self) {
        let (tx, rx) = mpsc::channel(capacity);
        (tx, ResponseStream { rx })
    }

    pub async fn next(&mut self) -> Option<Result<ResponseEvent, StreamError>> {
        self.rx.recv().await
    }
}

/// Told before each retry so the caller can show "Reconnecting... n/m (why)".
#[derive(Debug, Clone)]
pub struct RetryNotice {
    pub attempt: u32,
    pub max: u32,
    pub reason: String,
    pub delay: Duration,
}

/// A client for one provider.
#[derive(Clone)]
pub struct ModelClient {
    provider: Arc<Provider>,
    http: reqwest::Client,
    /// The embedded model, loaded on first use when the provider is `WireApi::Local`.
    local: Arc<OnceLock<Arc<dyn LocalEngine>>>,
}

/// Makes ring the process's TLS provider. reqwest is built without one (no aws-lc build);
/// every crate that builds an HTTP client calls this first. Installing twice is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl ModelClient {
    pub fn new(provider: Provider) -> Result<Self, ApiError> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ApiError::fatal(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            provider: Arc::new(provider),
            http,
            local: Arc::default(),
        })
    }

    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// Sends the request, retrying connection errors, 429 and 5xx up to the provider's
    /// `request_max_retries` with jittered exponential backoff, and returns the open stream.
    pub async fn stream(
        &self,
        prompt: &Prompt,
        mut on_retry: impl FnMut(RetryNotice),
    ) -> Result<ResponseStream, ApiError> {
        if self.provider.wire_api == WireApi::Local {
            let engine = match self.local.get() {
                Some(engine) => Arc::clone(engine),
                None => {
                    // Loading reads the whole model: off the async workers.
                    let path = std::path::PathBuf::from(&self.provider.base_url);
                    let engine = tokio::task::spawn_blocking(move || local::load(&path))
                        .await
                        .map_err(|e| ApiError::fatal(format!("loading the local model: {e}")))??;
                    Arc::clone(self.local.get_or_init(|| engine))
                }
            };
            return engine.stream(prompt);
        }
        let (url, body) = match self.provider.wire_api {
            WireApi::Responses => (
                self.provider.url("responses"),
                responses::request_body(prompt),
            ),
            WireApi::Chat | WireApi::Local => (
                self.provider.url("chat/completions"),
                chat::request_body(prompt),
            ),
        };
        let body = bytes::Bytes::from(
            serde_json::to_vec(&body)
                .map_err(|e| ApiError::fatal(format!("cannot encode request: {e}")))?,
        );
        let max = self.provider.request_max_retries;
        let mut attempt = 0;
        let response = loop {
            match self
                .send_once(&url, body.clone(), &prompt.prompt_cache_key)
                .await
            {
                Ok(response) => break response,
                Err(err) if err.retryable && attempt < max => {
                    attempt += 1;
                    let delay = err.retry_after.unwrap_or_else(|| backoff(attempt));
                    on_retry(RetryNotice {
                        attempt,
                        max,
                        reason: err.message.clone(),
                        delay,
                    });
                    tokio::time::sleep(delay).await;
                }
                Err(err) => return Err(err),
            }
        };
        let (tx, rx) = mpsc::channel(64);
        let idle = self.provider.stream_idle_timeout;
        match self.provider.wire_api {
            WireApi::Responses => tokio::spawn(responses::pump(response, tx, idle)),
            WireApi::Chat | WireApi::Local => tokio::spawn(chat::pump(response, tx, idle)),
        };
        Ok(ResponseStream { rx })
    }

    async fn send_once(
        &self,
        url: &str,
        body: bytes::Bytes,
        session: &str,
    ) -> Result<reqwest::Response, ApiError> {
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .header("originator", "wright_exec")
            .header(
                reqwest::header::USER_AGENT,
                concat!("wright/", env!("CARGO_PKG_VERSION")),
            )
            .header("session_id", session)
            .body(body);
        if let Some(key) = &self.provider.api_key {
            req = req.bearer_auth(key);
        }
        for (name, value) in self.provider.headers() {
            req = req.header(name, value);
        }
        // A server that accepts the connection and never answers must not hang the turn.
        let idle = self.provider.stream_idle_timeout;
        let response = match tokio::time::timeout(idle, req.send()).await {
            Err(_) => {
                return Err(ApiError::retryable(format!(
                    "no response from {url} within {} s",
                    idle.as_secs()
                )))
            }
            Ok(sent) => sent.map_err(|e| {
                ApiError::retryable(format!(
                    "error sending request to {url}: {}",
                    error_chain(&e)
                ))
            })?,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        match tokio::time::timeout(idle, ApiError::from_status(response, url)).await {
            Ok(err) => Err(err),
            Err(_) => Err(ApiError::retryable(format!(
                "unexpected status {status} from {url} (no error body within {} s)",
                idle.as_secs()
            ))),
        }
    }
}

/// `reqwest` hides the interesting cause (connection refused, ...) in the source chain.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
