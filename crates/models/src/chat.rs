//! Chat Completions: the Responses-format history translated to `messages`, and the streamed
//! chunks translated back to Responses-format output items.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::error::StreamError;
use crate::sse::{self, Frame, FrameResult};
use crate::{Prompt, ResponseEvent, TokenUsage};

pub(crate) fn request_body(prompt: &Prompt) -> Value {
    let mut messages = vec![json!({"role": "system", "content": prompt.instructions})];
    for item in &prompt.input {
        push_message(&mut messages, item);
    }
    let messages = order_images(messages);
    let tools: Vec<Value> = prompt.tools.iter().filter_map(chat_tool).collect();
    // `messages` last: each request is the previous one's bytes plus new messages.
    let mut body = Map::new();
    body.insert("model".into(), json!(prompt.model));
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
        body.insert("tool_choice".into(), json!("auto"));
        body.insert(
            "parallel_tool_calls".into(),
            json!(prompt.parallel_tool_calls),
        );
    }
    if let Some(schema) = &prompt.output_schema {
        body.insert(
            "response_format".into(),
            json!({"type": "json_schema", "json_schema": {"name": "wright_output_schema", "strict": true, "schema": schema}}),
        );
    }
    body.insert("stream".into(), json!(true));
    body.insert("stream_options".into(), json!({"include_usage": true}));
    body.insert("messages".into(), Value::Array(messages));
    Value::Object(body)
}

fn chat_tool(tool: &Value) -> Option<Value> {
    let name = tool.get("name")?;
    let description = tool.get("description").cloned().unwrap_or(json!(""));
    match tool.get("type").and_then(Value::as_str)? {
        "function" => Some(json!({"type": "function", "function": {
            "name": name,
            "description": description,
            "parameters": tool.get("parameters").cloned().unwrap_or(json!({"type": "object"})),
        }})),
        // Chat has no freeform tools: the raw text travels as one string argument.
        "custom" => Some(json!({"type": "function", "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"], "additionalProperties": false},
        }})),
        _ => None,
    }
}

fn text_of(content: &Value) -> String {
    let mut text = String::new();
    for part in content.as_array().into_iter().flatten() {
        if let Some(t) = part.get("text").and_then(Value::as_str) {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(t);
        }
    }
    text
}

/// Marks a user message holding a tool's images until [`order_images`] places it.
const TOOL_IMAGES: &str = "__wright_tool_images";

/// Every tool message must directly follow the assistant message that called the tools, so a
/// tool's images go after the last result of their run of tool messages.
fn order_images(messages: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(messages.len());
    let mut held: Vec<Value> = Vec::new();
    for mut m in messages {
        if m.get(TOOL_IMAGES).is_some() {
            if let Some(obj) = m.as_object_mut() {
                obj.remove(TOOL_IMAGES);
            }
            held.push(m);
            continue;
        }
        if m.get("role").and_then(Value::as_str) != Some("tool") {
            out.append(&mut held);
        }
        out.push(m);
    }
    out.append(&mut held);
    out
}

fn push_message(messages: &mut Vec<Value>, item: &Value) {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "message" => {
            let role = match item.get("role").and_then(Value::as_str) {
                Some("assistant") => "assistant",
                Some("user") => "user",
                _ => "system",
            };
            let content = item.get("content").cloned().unwrap_or(json!([]));
            let has_image = content
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p.get("type").and_then(Value::as_str) == Some("input_image"));
            let content = if has_image {
                let parts: Vec<Value> = content
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| match p.get("type").and_then(Value::as_str) {
                        Some("input_image") => Some(
                            json!({"type": "image_url", "image_url": {"url": p.get("image_url")}}),
                        ),
                        _ => p.get("text").map(|t| json!({"type": "text", "text": t})),
                    })
                    .collect();
                Value::Array(parts)
            } else {
                Value::String(text_of(&content))
            };
            messages.push(json!({"role": role, "content": content}));
        }
        "function_call" | "custom_tool_call" => {
            let arguments = if kind == "custom_tool_call" {
                json!({"input": item.get("input").and_then(Value::as_str).unwrap_or_default()})
                    .to_string()
            } else {
                item.get("arguments")
                    .and_then(Value::as_str)
                    .unwrap_or("{}")
                    .to_string()
            };
            let call = json!({
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": arguments},
            });
            // Parallel calls belong to one assistant message.
            if let Some(last) = messages.last_mut() {
                if last.get("role").and_then(Value::as_str) == Some("assistant") {
                    if let Some(calls) = last.get_mut("tool_calls").and_then(Value::as_array_mut) {
                        calls.push(call);
                        return;
                    }
                    if let Some(obj) = last.as_object_mut() {
                        obj.insert("tool_calls".into(), json!([call]));
                        return;
                    }
                }
            }
            messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
        }
        "function_call_output" | "custom_tool_call_output" => {
            let output = match item.get("output") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => text_of(other),
                None => String::new(),
            };
            // A tool message holds text only: images the tool returned (`view_image`) follow
            // it as a user message, the one place Chat Completions takes them.
            let images: Vec<Value> = item
                .get("output")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| p.get("type").and_then(Value::as_str) == Some("input_image"))
                .map(|p| json!({"type": "image_url", "image_url": {"url": p.get("image_url")}}))
                .collect();
            let output = if output.is_empty() && !images.is_empty() {
                "The image follows.".to_string()
            } else {
                output
            };
            messages.push(
                json!({"role": "tool", "tool_call_id": item.get("call_id"), "content": output}),
            );
            if !images.is_empty() {
                // Marked so `order_images` can move it past the other results of the turn.
                messages.push(json!({"role": "user", "content": images, TOOL_IMAGES: true}));
            }
        }
        // Reasoning is opaque to Chat servers.
        _ => {}
    }
}

fn next_local_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[derive(Default)]
struct ToolCallAcc {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Default)]
struct ChatState {
    id: String,
    text: String,
    /// Calls in the order they began.
    calls: Vec<ToolCallAcc>,
    /// Fragment `index` -> position in `calls`. Some servers send every call at index 0, each
    /// with its own id; a new id at a known index starts a new call.
    slots: BTreeMap<u64, usize>,
    usage: Option<TokenUsage>,
    finished: bool,
}

impl sse::FrameHandler for ChatState {
    fn frame(&mut self, frame: Frame) -> FrameResult {
        self.on_frame(frame)
    }

    /// Servers that close the body after `finish_reason` without `[DONE]` still finished.
    fn end_of_body(&mut self) -> Result<Vec<ResponseEvent>, StreamError> {
        if self.finished {
            Ok(self.finish())
        } else {
            Err(StreamError::Disconnected(
                "stream closed before [DONE]".into(),
            ))
        }
    }
}

impl ChatState {
    fn on_frame(&mut self, frame: Frame) -> FrameResult {
        if frame.data.trim() == "[DONE]" {
            return Ok((self.finish(), false));
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&frame.data) else {
            tracing::debug!(data = %frame.data, "ignoring SSE frame that is not JSON");
            return Ok((Vec::new(), true));
        };
        if let Some(err) = chunk.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| err.to_string());
            return Err(StreamError::Disconnected(message));
        }
        if self.id.is_empty() {
            if let Some(id) = chunk.get("id").and_then(Value::as_str) {
                self.id = id.to_string();
            }
        }
        if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
            let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
            self.usage = Some(TokenUsage {
                input_tokens: n("/prompt_tokens"),
                cached_input_tokens: n("/prompt_tokens_details/cached_tokens"),
                cache_write_input_tokens: 0,
                output_tokens: n("/completion_tokens"),
                reasoning_output_tokens: n("/completion_tokens_details/reasoning_tokens"),
            });
        }
        let mut out = Vec::new();
        for choice in chunk
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if choice.get("finish_reason").is_some_and(|r| !r.is_null()) {
                self.finished = true;
            }
            let Some(delta) = choice.get("delta") else {
                continue;
            };
            if let Some(piece) = delta.get("content").and_then(Value::as_str) {
                if !piece.is_empty() {
                    self.text.push_str(piece);
                    out.push(ResponseEvent::OutputTextDelta {
                        item_id: self.message_id(),
                        delta: piece.to_string(),
                    });
                }
            }
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                let id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|id| !id.is_empty());
                let slot = match self.slots.get(&index) {
                    Some(&slot) if id.is_none_or(|id| self.calls[slot].id == id) => slot,
                    _ => {
                        self.calls.push(ToolCallAcc::default());
                        self.slots.insert(index, self.calls.len() - 1);
                        self.calls.len() - 1
                    }
                };
                let acc = &mut self.calls[slot];
                if let Some(id) = id {
                    acc.id = id.to_string();
                }
                if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                    acc.name.push_str(name);
                }
                if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str) {
                    acc.arguments.push_str(args);
                }
            }
        }
        Ok((out, true))
    }

    fn message_id(&mut self) -> String {
        format!("msg_{}", self.response_id())
    }

    /// The server's completion id, or one of our own when it sent none, so that ids derived
    /// from it differ from one reply to the next.
    fn response_id(&mut self) -> String {
        if self.id.is_empty() {
            self.id = format!("local{}", next_local_id());
        }
        self.id.clone()
    }

    fn finish(&mut self) -> Vec<ResponseEvent> {
        let mut out = Vec::new();
        if !self.text.is_empty() {
            out.push(ResponseEvent::OutputItemDone(json!({
                "type": "message",
                "id": self.message_id(),
                "role": "assistant",
                "content": [{"type": "output_text", "text": self.text, "annotations": []}],
            })));
        }
        self.slots.clear();
        for (index, call) in std::mem::take(&mut self.calls).into_iter().enumerate() {
            let call_id = if call.id.is_empty() {
                format!("call_{}_{index}", self.response_id())
            } else {
                call.id
            };
            out.push(ResponseEvent::OutputItemDone(json!({
                "type": "function_call",
                "id": format!("fc_{call_id}"),
                "call_id": call_id,
                "name": call.name,
                "arguments": call.arguments,
            })));
        }
        out.push(ResponseEvent::Completed { usage: self.usage });
        out
    }
}

pub(crate) async fn pump(
    response: reqwest::Response,
    tx: mpsc::Sender<Result<ResponseEvent, StreamError>>,
    idle: Duration,
) {
    sse::pump(response, tx, idle, ChatState::default()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tools_image_follows_the_turns_tool_results_as_a_user_message() {
        let image = json!([{"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]);
        let prompt = Prompt {
            model: "m".into(),
            instructions: "i".into(),
            input: vec![
                json!({"type":"function_call","call_id":"a","name":"view_image","arguments":"{}"}),
                json!({"type":"function_call","call_id":"b","name":"shell","arguments":"{}"}),
                json!({"type":"function_call_output","call_id":"a","output": image}),
                json!({"type":"function_call_output","call_id":"b","output":"ok"}),
            ],
            tools: Vec::new(),
            parallel_tool_calls: true,
            reasoning: None,
            output_schema: None,
            prompt_cache_key: "k".into(),
        };
        let body = request_body(&prompt);
        let roles: Vec<&str> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "assistant", "tool", "tool", "user"]);
        let user = &body["messages"][4];
        assert_eq!(
            user["content"][0]["image_url"]["url"],
            "data:image/png;base64,AAAA"
        );
        assert!(user.get(TOOL_IMAGES).is_none());
        assert_eq!(body["messages"][2]["content"], "The image follows.");
    }

    #[test]
    fn history_translates_to_messages() {
        let prompt = Prompt {
            model: "m".into(),
            instructions: "be brief".into(),
            input: vec![
                json!({"type":"message","role":"user","content":[{"type":"input_text","text":"fix it"}]}),
                json!({"type":"function_call","call_id":"c1","name":"shell","arguments":"{\"command\":[\"ls\"]}"}),
                json!({"type":"custom_tool_call","call_id":"c2","name":"apply_patch","input":"*** Begin Patch"}),
                json!({"type":"function_call_output","call_id":"c1","output":"a\n"}),
                json!({"type":"custom_tool_call_output","call_id":"c2","output":"ok"}),
                json!({"type":"reasoning","summary":[]}),
            ],
            tools: vec![json!({"type":"custom","name":"apply_patch","description":"d"})],
            parallel_tool_calls: true,
            reasoning: None,
            output_schema: None,
            prompt_cache_key: "t".into(),
        };
        let body = request_body(&prompt);
        let msgs = body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 5);
        assert_eq!(msgs[0]["role"], "system");
        assert_eq!(msgs[2]["tool_calls"].as_array().unwrap().len(), 2);
        assert_eq!(
            msgs[2]["tool_calls"][1]["function"]["arguments"],
            "{\"input\":\"*** Begin Patch\"}"
        );
        assert_eq!(msgs[3]["role"], "tool");
        assert_eq!(
            body["tools"][0]["function"]["parameters"]["required"][0],
            "input"
        );
    }

    #[test]
    fn chunks_accumulate_into_items() {
        let mut s = ChatState::default();
        let frames = [
            r#"{"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
            r#"{"id":"x","choices":[{"index":0,"delta":{"content":"lo"}}]}"#,
            r#"{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"shell","arguments":""}}]}}]}"#,
            r#"{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]}}]}"#,
            r#"{"id":"x","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":3}}}"#,
        ];
        for f in frames {
            let (_, more) = s
                .on_frame(Frame {
                    event: None,
                    data: f.into(),
                })
                .unwrap();
            assert!(more);
        }
        let (events, more) = s
            .on_frame(Frame {
                event: None,
                data: "[DONE]".into(),
            })
            .unwrap();
        assert!(!more);
        assert_eq!(events.len(), 3);
        let ResponseEvent::OutputItemDone(call) = &events[1] else {
            panic!("expected item")
        };
        assert_eq!(call["arguments"], "{\"a\":1}");
        assert_eq!(
            events[2],
            ResponseEvent::Completed {
                usage: Some(TokenUsage {
                    input_tokens: 5,
                    cached_input_tokens: 3,
                    output_tokens: 2,
                    ..Default::default()
                })
            }
        );
    }

    fn feed(s: &mut ChatState, frames: &[&str]) {
        for f in frames {
            s.on_frame(Frame {
                event: None,
                data: f.to_string(),
            })
            .unwrap();
        }
    }

    #[test]
    fn calls_sharing_index_zero_stay_apart() {
        let mut s = ChatState::default();
        feed(
            &mut s,
            &[
                r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"shell","arguments":"{}"}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"update_plan","arguments":"{\"plan\":[]}"}}]}}]}"#,
                r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            ],
        );
        // No [DONE]: the body just ends after finish_reason.
        let events = sse::FrameHandler::end_of_body(&mut s).unwrap();
        let names: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                ResponseEvent::OutputItemDone(item) => item["name"].as_str(),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["shell", "update_plan"]);
        assert!(matches!(
            events.last(),
            Some(ResponseEvent::Completed { .. })
        ));
    }

    #[test]
    fn body_ending_mid_reply_is_a_disconnect() {
        let mut s = ChatState::default();
        feed(&mut s, &[r#"{"choices":[{"delta":{"content":"par"}}]}"#]);
        assert!(matches!(
            sse::FrameHandler::end_of_body(&mut s),
            Err(StreamError::Disconnected(_))
        ));
    }

    #[test]
    fn replies_without_ids_get_distinct_call_ids() {
        let call = r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"shell","arguments":"{}"}}]}}]}"#;
        let ids: Vec<String> = (0..2)
            .map(|_| {
                let mut s = ChatState::default();
                feed(&mut s, &[call]);
                match &s.finish()[0] {
                    ResponseEvent::OutputItemDone(item) => {
                        item["call_id"].as_str().unwrap().to_string()
                    }
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        assert_ne!(ids[0], ids[1]);
    }
}
