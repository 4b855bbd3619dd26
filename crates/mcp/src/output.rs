//! What a tool result becomes: the model's tool output (Codex's shape: a list of input parts,
//! the first saying how long the call took) and the item clients show.

use std::time::Duration;

use serde_json::{json, Value};

/// The MCP result of a call, as JSON (`content`, `structuredContent`, `isError`).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub content: Vec<Value>,
    pub structured_content: Option<Value>,
    pub is_error: bool,
}

impl ToolResult {
    pub fn from_json(result: &Value) -> ToolResult {
        ToolResult {
            content: result
                .get("content")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            structured_content: result
                .get("structuredContent")
                .filter(|v| !v.is_null())
                .cloned(),
            is_error: result
                .get("isError")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

/// The `output` of the call's `function_call_output`: `Wall time: … seconds\nOutput:` and then
/// one part per content block. Images stay images; resources become text the model can use.
pub fn model_output(result: &ToolResult, wall: Duration) -> Value {
    let mut parts = vec![input_text(format!(
        "Wall time: {:.4} seconds\nOutput:",
        wall.as_secs_f64()
    ))];
    for block in &result.content {
        parts.push(block_part(block));
    }
    if result.content.is_empty() {
        if let Some(structured) = &result.structured_content {
            parts.push(input_text(structured.to_string()));
        }
    }
    Value::Array(parts)
}

/// The output of a call that did not reach a result: one text part, as Codex words it.
pub fn error_output(message: &str) -> Value {
    Value::Array(vec![input_text(message.to_string())])
}

fn input_text(text: String) -> Value {
    json!({"type": "input_text", "text": text})
}

fn block_part(block: &Value) -> Value {
    let s = |k: &str| block.get(k).and_then(Value::as_str).unwrap_or_default();
    match s("type") {
        "text" => input_text(s("text").to_string()),
        "image" => image(s("mimeType"), s("data")),
        "audio" => input_text(format!("[audio result ({}), not shown]", s("mimeType"))),
        "resource_link" => {
            let mut text = format!("Resource link: {}", s("uri"));
            for (label, key) in [("name", "name"), ("description", "description")] {
                if !s(key).is_empty() {
                    text.push_str(&format!("\n{label}: {}", s(key)));
                }
            }
            if !s("mimeType").is_empty() {
                text.push_str(&format!("\nmime type: {}", s("mimeType")));
            }
            input_text(text)
        }
        "resource" => resource_part(block.get("resource").unwrap_or(&Value::Null)),
        // A block type this version does not know: the model still sees what came.
        _ => input_text(block.to_string()),
    }
}

fn resource_part(resource: &Value) -> Value {
    let s = |k: &str| resource.get(k).and_then(Value::as_str).unwrap_or_default();
    let mime = s("mimeType");
    if let Some(text) = resource.get("text").and_then(Value::as_str) {
        return input_text(format!("Resource {}:\n{text}", s("uri")));
    }
    match resource.get("blob").and_then(Value::as_str) {
        Some(blob) if mime.starts_with("image/") => image(mime, blob),
        Some(blob) => input_text(format!(
            "Resource {} ({}, {} bytes base64), binary: not shown",
            s("uri"),
            if mime.is_empty() {
                "unknown type"
            } else {
                mime
            },
            blob.len()
        )),
        None => input_text(format!("Resource {}", s("uri"))),
    }
}

fn image(mime: &str, data: &str) -> Value {
    let mime = if mime.is_empty() { "image/png" } else { mime };
    json!({"type": "input_image", "image_url": format!("data:{mime};base64,{data}")})
}

/// The text of a tool output list, for wire formats whose tool results are plain text (Chat
/// Completions): text parts joined, images named.
pub fn output_text(output: &Value) -> String {
    match output {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p.get("type").and_then(Value::as_str) {
                Some("input_text") => p
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                Some("input_image") => "[image]".to_string(),
                _ => p.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(content: Value) -> ToolResult {
        ToolResult::from_json(&json!({ "content": content }))
    }

    #[test]
    fn text_result_has_codex_shape() {
        let out = model_output(
            &result(json!([{"type": "text", "text": "echo: hi"}])),
            Duration::from_millis(2),
        );
        assert_eq!(
            out,
            json!([
                {"type": "input_text", "text": "Wall time: 0.0020 seconds\nOutput:"},
                {"type": "input_text", "text": "echo: hi"}
            ])
        );
    }

    #[test]
    fn images_links_and_resources_map() {
        let out = model_output(
            &result(json!([
                {"type": "image", "data": "iVBOR", "mimeType": "image/png"},
                {"type": "resource_link", "uri": "test://r/1", "name": "one", "mimeType": "text/plain"},
                {"type": "resource", "resource": {"uri": "test://r/2", "text": "body"}},
                {"type": "resource", "resource": {"uri": "test://r/3", "blob": "AAAA", "mimeType": "application/octet-stream"}},
            ])),
            Duration::ZERO,
        );
        let parts = out.as_array().unwrap();
        assert_eq!(parts[1]["image_url"], "data:image/png;base64,iVBOR");
        assert!(parts[2]["text"].as_str().unwrap().contains("test://r/1"));
        assert!(parts[2]["text"].as_str().unwrap().contains("name: one"));
        assert_eq!(parts[3]["text"], "Resource test://r/2:\nbody");
        assert!(parts[4]["text"].as_str().unwrap().contains("binary"));
        assert_eq!(output_text(&out).lines().nth(2), Some("[image]"));
    }

    #[test]
    fn structured_only_result_is_shown() {
        let r = ToolResult::from_json(&json!({"content": [], "structuredContent": {"n": 3}}));
        assert_eq!(model_output(&r, Duration::ZERO)[1]["text"], "{\"n\":3}");
    }
}
