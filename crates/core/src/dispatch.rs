//! What the model's output items ask for: a message, reasoning, or a tool call to run (with
//! the name a tool search's namespace gives it).

use serde_json::Value;

/// What an output item from the model asks for.
pub(crate) enum Dispatch {
    Message { id: String, text: String },
    Reasoning { id: String, text: String },
    Call(PendingCall),
    Other,
}

pub(crate) struct PendingCall {
    pub call_id: String,
    pub name: String,
    /// `custom_tool_call` (freeform input) rather than `function_call`.
    pub custom: bool,
    pub payload: String,
}

pub(crate) fn classify(item: &Value) -> Dispatch {
    let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default();
    // Item ids name items to clients; a server that sends none must not make two items one.
    let id = || match s("id") {
        "" => format!("item_{}", uuid::Uuid::now_v7()),
        id => id.to_string(),
    };
    match s("type") {
        "message" if s("role") == "assistant" => {
            let text = parts_text(item.get("content"), "output_text");
            Dispatch::Message { id: id(), text }
        }
        "reasoning" => Dispatch::Reasoning {
            id: id(),
            text: parts_text(item.get("summary"), "summary_text"),
        },
        "function_call" => Dispatch::Call(PendingCall {
            call_id: s("call_id").to_string(),
            // A tool found through tool search comes back in its namespace (Codex: namespace
            // `mcp__echo`, name `echo`).
            name: match s("namespace") {
                "" => s("name").to_string(),
                namespace => format!("{namespace}__{}", s("name")),
            },
            custom: false,
            payload: s("arguments").to_string(),
        }),
        "custom_tool_call" => Dispatch::Call(PendingCall {
            call_id: s("call_id").to_string(),
            name: s("name").to_string(),
            custom: true,
            payload: s("input").to_string(),
        }),
        // Any other call (local_shell_call, tool_search_call, ...) still needs an output, or
        // the next request would carry a call without one.
        kind if !s("call_id").is_empty() => Dispatch::Call(PendingCall {
            call_id: s("call_id").to_string(),
            name: kind.to_string(),
            custom: false,
            payload: item
                .get("arguments")
                .map(|a| match a {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default(),
        }),
        _ => Dispatch::Other,
    }
}

fn parts_text(parts: Option<&Value>, kind: &str) -> String {
    parts
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some(kind))
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n\n")
}
