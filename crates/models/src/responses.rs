//! OpenAI Responses API: request body and SSE event handling.

use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::error::StreamError;
use crate::sse;
use crate::{Prompt, ResponseEvent, TokenUsage};

/// Key order is fixed (serde_json keeps insertion order) and `input` comes last, so a request
/// is byte for byte the previous request with the new items appended: the longest possible
/// prefix for the server's prompt cache.
pub(crate) fn request_body(prompt: &Prompt) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(prompt.model));
    body.insert("instructions".into(), json!(prompt.instructions));
    body.insert("tools".into(), Value::Array(prompt.tools.clone()));
    body.insert("tool_choice".into(), json!("auto"));
    body.insert(
        "parallel_tool_calls".into(),
        json!(prompt.parallel_tool_calls),
    );
    if let Some(reasoning) = &prompt.reasoning {
        body.insert("reasoning".into(), reasoning.clone());
    }
    body.insert("store".into(), json!(false));
    body.insert("stream".into(), json!(true));
    if prompt.reasoning.is_some() {
        // With store=false the server forgets reasoning; the encrypted copy lets us send it back.
        body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    body.insert("prompt_cache_key".into(), json!(prompt.prompt_cache_key));
    if let Some(schema) = &prompt.output_schema {
        body.insert(
            "text".into(),
            json!({"format": {"type": "json_schema", "strict": true, "schema": schema, "name": "wright_output_schema"}}),
        );
    }
    body.insert("input".into(), Value::Array(prompt.input.clone()));
    Value::Object(body)
}

struct Responses;

impl sse::FrameHandler for Responses {
    fn frame(&mut self, frame: sse::Frame) -> sse::FrameResult {
        let Ok(event) = serde_json::from_str::<Value>(&frame.data) else {
            tracing::debug!(data = %frame.data, "ignoring SSE frame that is not JSON");
            return Ok((Vec::new(), true));
        };
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .or(frame.event.as_deref())
            .unwrap_or_default()
            .to_string();
        let (out, more) = handle_event(&kind, event)?;
        Ok((out.into_iter().collect(), more))
    }
}

pub(crate) async fn pump(
    response: reqwest::Response,
    tx: mpsc::Sender<Result<ResponseEvent, StreamError>>,
    idle: Duration,
) {
    sse::pump(response, tx, idle, Responses).await
}

/// Returns the event to forward (if any) and whether the stream goes on.
fn handle_event(kind: &str, event: Value) -> Result<(Option<ResponseEvent>, bool), StreamError> {
    match kind {
        "response.output_text.delta" => {
            let item_id = str_field(&event, "item_id");
            let delta = str_field(&event, "delta");
            Ok((
                Some(ResponseEvent::OutputTextDelta { item_id, delta }),
                true,
            ))
        }
        "response.reasoning_summary_text.delta" => Ok((
            Some(ResponseEvent::ReasoningSummaryDelta {
                item_id: str_field(&event, "item_id"),
                summary_index: event
                    .get("summary_index")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                delta: str_field(&event, "delta"),
            }),
            true,
        )),
        "response.output_item.done" => match event.get("item") {
            Some(item) => Ok((Some(ResponseEvent::OutputItemDone(item.clone())), true)),
            None => Err(StreamError::Fatal(
                "response.output_item.done without an item".into(),
            )),
        },
        "response.completed" => {
            let usage = event.pointer("/response/usage").map(parse_usage);
            Ok((Some(ResponseEvent::Completed { usage }), false))
        }
        "response.failed" => Err(classify_failure(
            event.pointer("/response/error"),
            "response.failed without a message",
        )),
        "response.incomplete" => {
            let reason = event
                .pointer("/response/incomplete_details/reason")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string();
            Err(StreamError::Incomplete(reason))
        }
        "error" => Err(classify_failure(
            Some(event.get("error").unwrap_or(&event)),
            "error event without a message",
        )),
        _ => Ok((None, true)),
    }
}

/// One reading of a server-side failure, whichever event carried it: retry what may pass on
/// a second try, stop on what cannot.
fn classify_failure(error: Option<&Value>, fallback: &str) -> StreamError {
    let field = |k: &str| error.and_then(|e| e.get(k)).and_then(Value::as_str);
    let message = field("message").unwrap_or(fallback).to_string();
    match field("code").unwrap_or_default() {
        "context_length_exceeded" => StreamError::ContextWindowExceeded(message),
        "invalid_prompt"
        | "invalid_request_error"
        | "insufficient_quota"
        | "invalid_api_key"
        | "usage_not_included"
        | "model_not_found" => StreamError::Fatal(message),
        _ => StreamError::Disconnected(message),
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn parse_usage(u: &Value) -> TokenUsage {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    TokenUsage {
        input_tokens: n("/input_tokens"),
        cached_input_tokens: n("/input_tokens_details/cached_tokens"),
        cache_write_input_tokens: 0,
        output_tokens: n("/output_tokens"),
        reasoning_output_tokens: n("/output_tokens_details/reasoning_tokens"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_key_order_is_stable() {
        let prompt = Prompt {
            model: "m".into(),
            instructions: "i".into(),
            input: vec![
                json!({"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}),
            ],
            tools: vec![],
            parallel_tool_calls: true,
            reasoning: Some(json!({"effort":"medium"})),
            output_schema: None,
            prompt_cache_key: "t".into(),
        };
        let body = serde_json::to_string(&request_body(&prompt)).unwrap();
        assert_eq!(
            body,
            r#"{"model":"m","instructions":"i","tools":[],"tool_choice":"auto","parallel_tool_calls":true,"reasoning":{"effort":"medium"},"store":false,"stream":true,"include":["reasoning.encrypted_content"],"prompt_cache_key":"t","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}]}"#
        );
    }

    #[test]
    fn failed_events_are_classified() {
        let ev = json!({"type":"response.failed","response":{"error":{"code":"context_length_exceeded","message":"too long"}}});
        assert!(matches!(
            handle_event("response.failed", ev),
            Err(StreamError::ContextWindowExceeded(_))
        ));
        let ev = json!({"type":"response.failed","response":{"error":{"code":"server_error","message":"x"}}});
        assert!(matches!(
            handle_event("response.failed", ev),
            Err(StreamError::Disconnected(_))
        ));
        let ev = json!({"type":"response.failed","response":{"error":{"code":"insufficient_quota","message":"pay"}}});
        assert!(matches!(
            handle_event("response.failed", ev),
            Err(StreamError::Fatal(_))
        ));
        let ev = json!({"type":"error","code":"context_length_exceeded","message":"too long"});
        assert!(matches!(
            handle_event("error", ev),
            Err(StreamError::ContextWindowExceeded(_))
        ));
    }
}
