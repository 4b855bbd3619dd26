//! Rendering of scripted replies into the two SSE wire formats.
//!
//! JSON is written with `", "` / `": "` separators because the reference
//! captures (produced by the Python eval mock) look like that; keeping the
//! bytes identical lets tests diff against them directly.

use std::io;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::OutputItem;

/// Per-request facts shared by every event of one reply.
pub(crate) struct Ctx {
    /// 1-based request number, used in all generated ids.
    pub n: usize,
    pub model: String,
    pub created: u64,
    pub input_tokens: u64,
    pub cached_tokens: u64,
}

impl Ctx {
    fn id(&self, prefix: &str, index: usize) -> String {
        format!("{prefix}_mock_{:04}_{index}", self.n)
    }

    fn call_id(&self, given: &Option<String>, index: usize) -> String {
        given.clone().unwrap_or_else(|| self.id("call", index))
    }

    fn usage_tokens(&self, output_bytes: usize) -> (u64, u64) {
        let output = (output_bytes as u64).div_ceil(4).max(1);
        (output, self.input_tokens + output)
    }
}

/// What follows the streamed items.
pub(crate) enum Ending {
    Completed,
    Cut,
    Failed { code: String, message: String },
    Incomplete { reason: String },
}

/// A rendered reply: SSE frames, and whether the body must be aborted after them.
pub(crate) struct Rendered {
    pub frames: Vec<Bytes>,
    pub cut: bool,
}

struct Spaced;

impl serde_json::ser::Formatter for Spaced {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

pub(crate) fn to_spaced_json(value: &Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Spaced);
    // Serialising a Value into a Vec cannot fail, and serde_json only emits UTF-8.
    if serde::Serialize::serialize(value, &mut ser).is_err() {
        return "null".to_owned();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Splits text into about three pieces so clients exercise delta accumulation.
fn split_text(text: &str) -> Vec<&str> {
    let chars = text.chars().count();
    if chars == 0 {
        return Vec::new();
    }
    let per_piece = chars.div_ceil(3);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest
            .char_indices()
            .nth(per_piece)
            .map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

// ---------------------------------------------------------------- Responses

struct ResponsesWriter<'a> {
    ctx: &'a Ctx,
    frames: Vec<Bytes>,
    output: Vec<Value>,
    output_bytes: usize,
}

impl<'a> ResponsesWriter<'a> {
    fn event(&mut self, value: Value) {
        let kind = value["type"].as_str().unwrap_or_default();
        let frame = format!("event: {kind}\ndata: {}\n\n", to_spaced_json(&value));
        self.frames.push(Bytes::from(frame));
    }

    fn response(&self, status: &str, output: Vec<Value>) -> Map<String, Value> {
        let mut response = Map::new();
        response.insert("id".into(), json!(format!("resp_mock_{:04}", self.ctx.n)));
        response.insert("object".into(), json!("response"));
        response.insert("created_at".into(), json!(self.ctx.created));
        response.insert("status".into(), json!(status));
        response.insert("model".into(), json!(self.ctx.model));
        response.insert("output".into(), Value::Array(output));
        response
    }

    fn usage(&self) -> Value {
        let (output, total) = self.ctx.usage_tokens(self.output_bytes);
        json!({
            "input_tokens": self.ctx.input_tokens,
            "input_tokens_details": {"cached_tokens": self.ctx.cached_tokens},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": total,
        })
    }

    fn item(&mut self, index: usize, item: &OutputItem) {
        let done = match item {
            OutputItem::Message { text } => self.message(index, text),
            OutputItem::FunctionCall {
                name,
                arguments,
                call_id,
            } => {
                let id = self.ctx.id("fc", index);
                let call_id = self.ctx.call_id(call_id, index);
                self.output_bytes += arguments.len();
                self.event(json!({
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": "", "status": "in_progress"},
                }));
                self.event(json!({
                    "type": "response.function_call_arguments.delta",
                    "item_id": id, "output_index": index, "delta": arguments,
                }));
                self.event(json!({
                    "type": "response.function_call_arguments.done",
                    "item_id": id, "output_index": index, "arguments": arguments,
                }));
                json!({"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": arguments, "status": "completed"})
            }
            OutputItem::CustomToolCall {
                name,
                input,
                call_id,
            } => {
                let id = self.ctx.id("ctc", index);
                let call_id = self.ctx.call_id(call_id, index);
                self.output_bytes += input.len();
                self.event(json!({
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {"type": "custom_tool_call", "id": id, "call_id": call_id, "name": name, "input": "", "status": "in_progress"},
                }));
                self.event(json!({
                    "type": "response.custom_tool_call_input.delta",
                    "item_id": id, "output_index": index, "delta": input,
                }));
                self.event(json!({
                    "type": "response.custom_tool_call_input.done",
                    "item_id": id, "output_index": index, "input": input,
                }));
                json!({"type": "custom_tool_call", "id": id, "call_id": call_id, "name": name, "input": input, "status": "completed"})
            }
            OutputItem::Reasoning {
                summary,
                encrypted_content,
            } => self.reasoning(index, summary, encrypted_content),
            OutputItem::Raw { item } => {
                self.output_bytes += item.to_string().len();
                self.event(json!({
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": item,
                }));
                item.clone()
            }
        };
        self.event(json!({
            "type": "response.output_item.done",
            "output_index": index,
            "item": done,
        }));
        self.output.push(done);
    }

    fn message(&mut self, index: usize, text: &str) -> Value {
        let id = self.ctx.id("msg", index);
        self.output_bytes += text.len();
        self.event(json!({
            "type": "response.output_item.added",
            "output_index": index,
            "item": {"type": "message", "id": id, "role": "assistant", "status": "in_progress", "content": []},
        }));
        self.event(json!({
            "type": "response.content_part.added",
            "item_id": id, "output_index": index, "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        }));
        for piece in split_text(text) {
            self.event(json!({
                "type": "response.output_text.delta",
                "item_id": id, "output_index": index, "content_index": 0, "delta": piece,
            }));
        }
        self.event(json!({
            "type": "response.output_text.done",
            "item_id": id, "output_index": index, "content_index": 0, "text": text,
        }));
        let part = json!({"type": "output_text", "text": text, "annotations": []});
        self.event(json!({
            "type": "response.content_part.done",
            "item_id": id, "output_index": index, "content_index": 0, "part": part,
        }));
        json!({"type": "message", "id": id, "role": "assistant", "status": "completed", "content": [part]})
    }

    fn reasoning(&mut self, index: usize, summary: &str, encrypted: &Option<String>) -> Value {
        let id = self.ctx.id("rs", index);
        self.event(json!({
            "type": "response.output_item.added",
            "output_index": index,
            "item": {"type": "reasoning", "id": id, "summary": [], "content": [], "encrypted_content": encrypted},
        }));
        // An empty summary is how "reasoning without a visible summary" looks on the wire.
        if summary.is_empty() {
            return json!({"type": "reasoning", "id": id, "summary": [], "content": [], "encrypted_content": encrypted});
        }
        self.event(json!({
            "type": "response.reasoning_summary_part.added",
            "item_id": id, "output_index": index, "summary_index": 0,
            "part": {"type": "summary_text", "text": ""},
        }));
        for piece in split_text(summary) {
            self.event(json!({
                "type": "response.reasoning_summary_text.delta",
                "item_id": id, "output_index": index, "summary_index": 0, "delta": piece,
            }));
        }
        self.event(json!({
            "type": "response.reasoning_summary_text.done",
            "item_id": id, "output_index": index, "summary_index": 0, "text": summary,
        }));
        self.event(json!({
            "type": "response.reasoning_summary_part.done",
            "item_id": id, "output_index": index, "summary_index": 0,
            "part": {"type": "summary_text", "text": summary},
        }));
        json!({
            "type": "reasoning", "id": id,
            "summary": [{"type": "summary_text", "text": summary}],
            "content": [], "encrypted_content": encrypted,
        })
    }
}

pub(crate) fn responses(ctx: &Ctx, items: &[OutputItem], ending: Ending) -> Rendered {
    let mut w = ResponsesWriter {
        ctx,
        frames: Vec::new(),
        output: Vec::new(),
        output_bytes: 0,
    };
    let created = w.response("in_progress", Vec::new());
    w.event(json!({"type": "response.created", "response": created}));
    w.event(json!({"type": "response.in_progress", "response": created}));
    for (index, item) in items.iter().enumerate() {
        w.item(index, item);
    }
    let output = std::mem::take(&mut w.output);
    let cut = match ending {
        Ending::Completed => {
            let mut response = w.response("completed", output);
            response.insert("usage".into(), w.usage());
            w.event(json!({"type": "response.completed", "response": response}));
            false
        }
        Ending::Incomplete { reason } => {
            let mut response = w.response("incomplete", output);
            response.insert("incomplete_details".into(), json!({"reason": reason}));
            response.insert("usage".into(), w.usage());
            w.event(json!({"type": "response.incomplete", "response": response}));
            false
        }
        Ending::Failed { code, message } => {
            let mut response = w.response("failed", output);
            response.insert("error".into(), json!({"code": code, "message": message}));
            w.event(json!({"type": "response.failed", "response": response}));
            false
        }
        Ending::Cut => true,
    };
    Rendered {
        frames: w.frames,
        cut,
    }
}

// --------------------------------------------------------------------- Chat

struct ChatWriter<'a> {
    ctx: &'a Ctx,
    frames: Vec<Bytes>,
}

impl ChatWriter<'_> {
    fn data(&mut self, value: &Value) {
        self.frames
            .push(Bytes::from(format!("data: {}\n\n", to_spaced_json(value))));
    }

    fn head(&self) -> Map<String, Value> {
        let mut chunk = Map::new();
        chunk.insert(
            "id".into(),
            json!(format!("chatcmpl-mock-{:04}", self.ctx.n)),
        );
        chunk.insert("object".into(), json!("chat.completion.chunk"));
        chunk.insert("created".into(), json!(self.ctx.created));
        chunk.insert("model".into(), json!(self.ctx.model));
        chunk
    }

    fn chunk(&mut self, delta: Value, finish_reason: Option<&str>) {
        let mut chunk = self.head();
        chunk.insert(
            "choices".into(),
            json!([{"index": 0, "delta": delta, "finish_reason": finish_reason}]),
        );
        self.data(&Value::Object(chunk));
    }

    fn tool_call(&mut self, call_index: usize, id: String, name: &str, arguments: &str) {
        self.chunk(
            json!({"tool_calls": [{"index": call_index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
            None,
        );
        self.chunk(
            json!({"tool_calls": [{"index": call_index, "function": {"arguments": arguments}}]}),
            None,
        );
    }
}

pub(crate) fn chat(
    ctx: &Ctx,
    items: &[OutputItem],
    ending: Ending,
    include_usage: bool,
) -> Rendered {
    let mut w = ChatWriter {
        ctx,
        frames: Vec::new(),
    };
    w.chunk(json!({"role": "assistant", "content": ""}), None);
    let mut calls = 0;
    let mut output_bytes = 0;
    for (index, item) in items.iter().enumerate() {
        match item {
            OutputItem::Message { text } => {
                output_bytes += text.len();
                for piece in split_text(text) {
                    w.chunk(json!({"content": piece}), None);
                }
            }
            OutputItem::FunctionCall {
                name,
                arguments,
                call_id,
            } => {
                output_bytes += arguments.len();
                w.tool_call(calls, ctx.call_id(call_id, index), name, arguments);
                calls += 1;
            }
            // Chat has no freeform tools, so the input travels as a JSON argument.
            OutputItem::CustomToolCall {
                name,
                input,
                call_id,
            } => {
                let arguments = to_spaced_json(&json!({"input": input}));
                output_bytes += arguments.len();
                w.tool_call(calls, ctx.call_id(call_id, index), name, &arguments);
                calls += 1;
            }
            // Chat has no such items.
            OutputItem::Reasoning { .. } | OutputItem::Raw { .. } => {}
        }
    }
    let finish_reason = match ending {
        Ending::Cut => {
            return Rendered {
                frames: w.frames,
                cut: true,
            }
        }
        Ending::Failed { code, message } => {
            // OpenAI reports mid-stream failures as a bare error object and stops, without [DONE].
            w.data(&json!({"error": {"message": message, "type": "server_error", "code": code}}));
            return Rendered {
                frames: w.frames,
                cut: false,
            };
        }
        Ending::Incomplete { .. } => "length",
        Ending::Completed if calls > 0 => "tool_calls",
        Ending::Completed => "stop",
    };
    w.chunk(json!({}), Some(finish_reason));
    if include_usage {
        let (output, total) = ctx.usage_tokens(output_bytes);
        let mut chunk = w.head();
        chunk.insert("choices".into(), json!([]));
        chunk.insert(
            "usage".into(),
            json!({
                "prompt_tokens": ctx.input_tokens,
                "completion_tokens": output,
                "total_tokens": total,
                "prompt_tokens_details": {"cached_tokens": ctx.cached_tokens},
            }),
        );
        w.data(&Value::Object(chunk));
    }
    w.frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    Rendered {
        frames: w.frames,
        cut: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_char_boundaries() {
        assert_eq!(
            split_text("Fixed; make test passes."),
            ["Fixed; m", "ake test", " passes."]
        );
        assert_eq!(split_text("héllo wörld"), ["héll", "o wö", "rld"]);
        assert_eq!(split_text("ab"), ["a", "b"]);
        assert!(split_text("").is_empty());
    }

    #[test]
    fn spaced_json_matches_python_dumps() {
        let v = json!({"a": [1, 2], "b": {"c": "x\ny"}});
        assert_eq!(to_spaced_json(&v), r#"{"a": [1, 2], "b": {"c": "x\ny"}}"#);
    }
}
