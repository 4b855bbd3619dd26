//! A scripted stand-in for the OpenAI API, for integration tests and benches.
//!
//! It serves `POST /v1/responses` (Responses SSE) and `POST /v1/chat/completions`
//! (Chat Completions SSE) with the exact framing of the reference captures, and
//! `GET /v1/models` (OpenAI's model list), and records every request so tests can assert on
//! what the client sent.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

mod tool_check;
mod wire;

use wire::{Ctx, Ending, Rendered};

/// A running mock server; it stops accepting connections when dropped.
pub struct MockModel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

/// Options for [`MockModel::start_with`], used by the standalone binary.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Address to bind (default 127.0.0.1). Tests whose model client runs in a container
    /// bind the host's bridge-facing side with `0.0.0.0`.
    pub host: Option<std::net::IpAddr>,
    /// Append each request as a JSON line `{"path", "body"}` to this file.
    pub log: Option<PathBuf>,
    /// The ids `GET /v1/models` lists (default: [`DEFAULT_MODELS`]).
    pub models: Option<Vec<String>>,
    /// Check every scripted tool call against the tools the request declared (see
    /// `tool_check`): a call that does not fit is answered with HTTP 400 naming it.
    pub check_tools: bool,
}

/// What `GET /v1/models` lists unless told otherwise.
pub const DEFAULT_MODELS: &[&str] = &["mock-model"];

impl MockModel {
    /// Binds 127.0.0.1:0 and serves in a background tokio task until dropped.
    pub async fn start(script: Script) -> io::Result<MockModel> {
        Self::start_with(script, ServeOptions::default()).await
    }

    /// Like [`MockModel::start`], with a fixed port and/or a request log.
    pub async fn start_with(script: Script, options: ServeOptions) -> io::Result<MockModel> {
        let log = match &options.log {
            Some(path) => Some(Mutex::new(
                File::options().create(true).append(true).open(path)?,
            )),
            None => None,
        };
        let host = options
            .host
            .unwrap_or(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST));
        let listener = tokio::net::TcpListener::bind((host, options.port)).await?;
        let addr = listener.local_addr()?;
        let models = options
            .models
            .clone()
            .unwrap_or_else(|| DEFAULT_MODELS.iter().map(|m| m.to_string()).collect());
        let shared = Arc::new(Shared {
            script,
            log,
            models,
            check_tools: options.check_tools,
            state: Mutex::new(ServerState::default()),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            // Serving only ends on an accept-loop I/O error; there is nobody to report it to.
            let _ = axum::serve(listener, app).await;
        });
        Ok(MockModel { addr, shared, task })
    }

    /// e.g. "http://127.0.0.1:PORT/v1"
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }
}

impl Drop for MockModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request as received: path, lowercased headers and the raw body.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl RecordedRequest {
    /// The body parsed as JSON.
    ///
    /// # Panics
    /// If the body is not JSON; tests want that loudly rather than a silent `null`.
    pub fn json(&self) -> Value {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(err) => panic!("request to {} has a non-JSON body: {err}", self.path),
        }
    }

    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server answers, request by request.
pub enum Script {
    /// Step i answers request i; when steps run out the server answers HTTP 500 with body
    /// `{"error":{"message":"mock script exhausted","type":"server_error"}}`.
    Steps(Vec<Step>),
    /// Called with the 0-based request index and the parsed request body.
    Dynamic(StepFn),
}

/// The callback of [`Script::Dynamic`]: request index (0-based) and parsed body to a step.
pub type StepFn = Arc<dyn Fn(usize, &Value) -> Step + Send + Sync>;

/// One scripted answer.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// A normal streamed reply with these output items, then response.completed (Responses) /
    /// finish_reason + usage chunk + [DONE] (Chat).
    Reply { items: Vec<OutputItem> },
    /// HTTP error status with this JSON body (default body
    /// `{"error":{"message":"injected <status>","type":"server_error"}}`); optional
    /// retry-after header (seconds).
    HttpError {
        status: u16,
        #[serde(default)]
        body: Option<Value>,
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Stream the first `items` fully, then abort the chunked body (no terminal event, no
    /// [DONE]) so the client sees a transport error.
    CutStream { items: Vec<OutputItem> },
    /// Responses: `response.failed` with {"code","message"}. Chat: an `error` data chunk.
    Failed { code: String, message: String },
    /// Responses: stream items then `response.incomplete` with incomplete_details.reason.
    /// Chat: items then finish_reason "length".
    Incomplete {
        items: Vec<OutputItem>,
        reason: String,
    },
    /// Sleep this many ms before answering (then behave as `then`).
    Delay { ms: u64, then: Box<Step> },
}

impl Step {
    /// A reply holding one assistant message.
    pub fn message(text: impl Into<String>) -> Step {
        Step::Reply {
            items: vec![OutputItem::message(text)],
        }
    }

    /// A reply holding these items (typically tool calls).
    pub fn calls(items: Vec<OutputItem>) -> Step {
        Step::Reply { items }
    }
}

/// One output item of a scripted reply.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    Message {
        text: String,
    },
    FunctionCall {
        name: String,
        arguments: String,
        #[serde(default)]
        call_id: Option<String>,
    },
    CustomToolCall {
        name: String,
        input: String,
        #[serde(default)]
        call_id: Option<String>,
    },
    Reasoning {
        summary: String,
        #[serde(default)]
        encrypted_content: Option<String>,
    },
    /// Responses only: this exact output item (e.g. a `tool_search_call`, or a
    /// `function_call` with a `namespace`), sent as `output_item.added` and `.done`.
    Raw {
        item: Value,
    },
}

impl OutputItem {
    /// A function call whose arguments are `args` serialised as compact JSON.
    pub fn function(name: impl Into<String>, args: Value) -> OutputItem {
        OutputItem::FunctionCall {
            name: name.into(),
            arguments: args.to_string(),
            call_id: None,
        }
    }

    /// A freeform (custom) tool call such as `apply_patch`.
    pub fn custom(name: impl Into<String>, input: impl Into<String>) -> OutputItem {
        OutputItem::CustomToolCall {
            name: name.into(),
            input: input.into(),
            call_id: None,
        }
    }

    /// An assistant message.
    pub fn message(text: impl Into<String>) -> OutputItem {
        OutputItem::Message { text: text.into() }
    }
}

// ------------------------------------------------------------------- server

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Endpoint {
    Responses,
    Chat,
}

struct Shared {
    script: Script,
    log: Option<Mutex<File>>,
    models: Vec<String>,
    check_tools: bool,
    state: Mutex<ServerState>,
}

#[derive(Default)]
struct ServerState {
    requests: Vec<RecordedRequest>,
    next_step: usize,
    /// Previous body per endpoint, to fake prompt-cache hits.
    last_body: HashMap<Endpoint, Bytes>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ServerState> {
        // A panicking Dynamic closure must not take the whole server down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One line `{"path", "body", "authorization"}` (the header as sent, or null: tests check
    /// which credentials a client used; this server only ever sees test keys).
    fn write_log(&self, path: &str, body: &Bytes, authorization: Option<&str>) {
        let Some(log) = &self.log else { return };
        let body = serde_json::from_slice::<Value>(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
        let line = json!({"path": path, "body": body, "authorization": authorization}).to_string();
        let mut file = log.lock().unwrap_or_else(PoisonError::into_inner);
        // Logging is best effort: a full disk must not change what the client sees.
        let _ = writeln!(file, "{line}").and_then(|()| file.flush());
    }
}

/// A request accepted by the script: which step answers it and how much prefix was "cached".
struct Admitted {
    index: usize,
    cached_prefix: usize,
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(err) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("could not read body: {err}"),
                "invalid_request_error",
            )
        }
    };
    let path = parts.uri.path().to_owned();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if parts.method == Method::GET && path == "/v1/models" {
        // The model list takes no script step: it is not a model turn.
        shared.lock().requests.push(RecordedRequest {
            path: path.clone(),
            headers,
            body: body.clone(),
        });
        shared.write_log(&path, &body, authorization.as_deref());
        return json_response(StatusCode::OK, &models_page(&shared.models));
    }
    let endpoint = match (&parts.method, path.as_str()) {
        (&Method::POST, "/v1/responses") => Some(Endpoint::Responses),
        (&Method::POST, "/v1/chat/completions") => Some(Endpoint::Chat),
        _ => None,
    };
    let parsed = endpoint.map(|_| serde_json::from_slice::<Value>(&body));

    let admitted = {
        let mut state = shared.lock();
        state.requests.push(RecordedRequest {
            path: path.clone(),
            headers,
            body: body.clone(),
        });
        shared.write_log(&path, &body, authorization.as_deref());
        match (endpoint, &parsed) {
            (Some(endpoint), Some(Ok(_))) => {
                let previous = state.last_body.insert(endpoint, body.clone());
                let cached_prefix = previous.map_or(0, |prev| common_prefix(&prev, &body));
                let index = state.next_step;
                state.next_step += 1;
                Some(Admitted {
                    index,
                    cached_prefix,
                })
            }
            _ => None,
        }
    };

    let (endpoint, request_json, admitted) = match (endpoint, parsed, admitted) {
        (Some(endpoint), Some(Ok(json)), Some(admitted)) => (endpoint, json, admitted),
        (Some(_), Some(Err(err)), _) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("request body is not valid JSON: {err}"),
                "invalid_request_error",
            )
        }
        _ => {
            return json_error(
                StatusCode::NOT_FOUND,
                &format!("no mock route for {} {path}", parts.method),
                "invalid_request_error",
            )
        }
    };

    let step = match &shared.script {
        Script::Steps(steps) => steps.get(admitted.index).cloned(),
        Script::Dynamic(f) => Some(f(admitted.index, &request_json)),
    };
    let Some(mut step) = step else {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "mock script exhausted",
            "server_error",
        );
    };
    let (items, ending) = loop {
        match step {
            Step::Delay { ms, then } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                step = *then;
            }
            Step::HttpError {
                status,
                body,
                retry_after,
            } => return http_error(status, body, retry_after),
            Step::Reply { items } => break (items, Ending::Completed),
            Step::CutStream { items } => break (items, Ending::Cut),
            Step::Failed { code, message } => break (Vec::new(), Ending::Failed { code, message }),
            Step::Incomplete { items, reason } => break (items, Ending::Incomplete { reason }),
        }
    };
    if shared.check_tools {
        if let Err(why) = tool_check::check(&request_json, &items) {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("mock: the scripted reply does not fit the declared tools: {why}"),
                "invalid_request_error",
            );
        }
    }
    let ctx = Ctx {
        n: admitted.index + 1,
        model: request_json
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("mock-model")
            .to_owned(),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        input_tokens: (body.len() as u64).div_ceil(4),
        cached_tokens: (admitted.cached_prefix / 4) as u64,
    };
    let rendered = match endpoint {
        Endpoint::Responses => wire::responses(&ctx, &items, ending),
        Endpoint::Chat => {
            let include_usage = request_json
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            wire::chat(&ctx, &items, ending, include_usage)
        }
    };
    sse_response(rendered)
}

/// OpenAI's `GET /v1/models` answer.
fn models_page(ids: &[String]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "wright-mock"}))
        .collect();
    json!({"object": "list", "data": data})
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn sse_response(rendered: Rendered) -> Response {
    let frames = stream::iter(rendered.frames.into_iter().map(Ok::<_, io::Error>));
    let body = if rendered.cut {
        let abort = stream::once(async {
            // Give hyper a chance to flush the frames before the error tears the connection down.
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "mock stream cut",
            ))
        });
        Body::from_stream(frames.chain(abort))
    } else {
        Body::from_stream(frames)
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn http_error(status: u16, body: Option<Value>, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = body.unwrap_or_else(|| {
        json!({"error": {"message": format!("injected {}", status.as_u16()), "type": "server_error"}})
    });
    let mut response = json_response(status, &body);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn json_error(status: StatusCode, message: &str, kind: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind}}),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
