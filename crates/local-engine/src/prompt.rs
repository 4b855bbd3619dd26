//! wright's history (OpenAI Responses items) as chat messages for the model's own template.
//!
//! Tool calls and tool declarations use the Hermes format that Qwen2.5 (and most small open
//! models with tool training) expect: declarations in the system prompt inside `<tools>`, calls
//! as `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>` in the assistant turn,
//! results as `<tool_response>` blocks in a user turn. llama.cpp's built-in templates know no
//! tools, so this module writes those parts itself, exactly as Qwen2.5's Jinja template would.
//!
//! Every piece of text that came from outside (the user, a tool, a file the model read) is kept
//! apart from the markup as a [`Segment::Text`], so that the engine tokenizes it without
//! special tokens: a file that contains `<|im_end|>` cannot end the turn early.

use serde_json::{json, Value};
use wright_models::Prompt;

/// The tag that opens a tool call; the engine watches the output for it.
pub(crate) const CALL_OPEN: &str = "<tool_call>";
pub(crate) const CALL_CLOSE: &str = "</tool_call>";

/// One piece of a message's content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// Format markup written here: tokenized with the model's special tokens.
    Markup(String),
    /// Text from outside: tokenized as plain text.
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChatMessage {
    pub role: &'static str,
    pub content: Vec<Segment>,
}

impl ChatMessage {
    fn new(role: &'static str) -> Self {
        Self {
            role,
            content: Vec::new(),
        }
    }

    fn markup(&mut self, s: impl Into<String>) {
        let s = s.into();
        if s.is_empty() {
            return;
        }
        if let Some(Segment::Markup(last)) = self.content.last_mut() {
            last.push_str(&s);
        } else {
            self.content.push(Segment::Markup(s));
        }
    }

    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Segment::Text(last)) = self.content.last_mut() {
            last.push_str(s);
        } else {
            self.content.push(Segment::Text(s.to_string()));
        }
    }

    fn is_empty(&self) -> bool {
        self.content.is_empty()
    }

    /// The content as one string (markup and text alike), for tests.
    #[cfg(test)]
    pub fn flat(&self) -> String {
        self.content
            .iter()
            .map(|s| match s {
                Segment::Markup(t) | Segment::Text(t) => t.as_str(),
            })
            .collect()
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolDecl {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
    /// A freeform (`custom`) tool: its text travels as the one string argument `input`.
    pub custom: bool,
}

/// The declared tools the model can call. Hosted tools (web search, ...) cannot run here and
/// are left out, which the log says.
pub(crate) fn tool_decls(tools: &[Value]) -> Vec<ToolDecl> {
    let mut out = Vec::new();
    for tool in tools {
        let s = |k: &str| tool.get(k).and_then(Value::as_str).unwrap_or_default();
        let name = s("name");
        let kind = s("type");
        if name.is_empty() || out.iter().any(|d: &ToolDecl| d.name == name) {
            tracing::debug!(tool = %tool, "local model: skipping a tool without a name or declared twice");
            continue;
        }
        match kind {
            "function" => out.push(ToolDecl {
                name: name.to_string(),
                description: s("description").to_string(),
                parameters: tool
                    .get("parameters")
                    .filter(|p| p.is_object())
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                custom: false,
            }),
            "custom" => out.push(ToolDecl {
                name: name.to_string(),
                description: s("description").to_string(),
                parameters: custom_parameters(),
                custom: true,
            }),
            other => {
                tracing::debug!(
                    kind = other,
                    name,
                    "local model: tool type not supported, left out"
                )
            }
        }
    }
    out
}

fn custom_parameters() -> Value {
    json!({
        "type": "object",
        "properties": {"input": {"type": "string", "description": "The tool's raw input text."}},
        "required": ["input"],
    })
}

/// Qwen2.5's tool preamble, word for word, so the model sees what it was trained on.
fn tools_block(tools: &[ToolDecl]) -> String {
    let mut s = String::from(
        "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n\
         You are provided with function signatures within <tools></tools> XML tags:\n<tools>",
    );
    for t in tools {
        s.push('\n');
        let decl = json!({"type": "function", "function": {
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
        }});
        py_json(&decl, &mut s);
    }
    s.push_str(
        "\n</tools>\n\nFor each function call, return a json object with function name and \
         arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n\
         {\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>",
    );
    s
}

/// JSON as Python's `json.dumps` writes it (`", "` and `": "` separators, non-ASCII kept),
/// which is what Hugging Face's `tojson` produced for the model's training data.
pub(crate) fn py_json(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                py_json(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The text of a message's content parts (`input_text`, `output_text`, ...); images cannot be
/// shown to this model and are named instead.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for part in parts {
                let piece = match part.get("type").and_then(Value::as_str) {
                    Some("input_image") => Some("[image omitted: this model cannot see images]"),
                    _ => part.get("text").and_then(Value::as_str),
                };
                if let Some(piece) = piece {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(piece);
                }
            }
            text
        }
        _ => String::new(),
    }
}

fn output_text(item: &Value) -> String {
    match item.get("output") {
        Some(Value::String(s)) => s.clone(),
        // Structured outputs carry content parts.
        Some(other @ Value::Array(_)) => content_text(Some(other)),
        Some(Value::Object(o)) => o
            .get("content")
            .map(|c| content_text(Some(c)))
            .unwrap_or_else(|| Value::Object(o.clone()).to_string()),
        _ => String::new(),
    }
}

/// Appends one call in the model's format (Qwen2.5: a newline before each `<tool_call>` unless
/// the assistant turn is still empty).
fn push_call(msg: &mut ChatMessage, name: &str, arguments: &Value) {
    if !msg.is_empty() {
        msg.markup("\n");
    }
    msg.markup(format!("{CALL_OPEN}\n{{\"name\": "));
    msg.text(&Value::String(name.to_string()).to_string());
    msg.markup(", \"arguments\": ");
    let mut args = String::new();
    py_json(arguments, &mut args);
    msg.text(&args);
    msg.markup(format!("}}\n{CALL_CLOSE}"));
}

/// The chat for `prompt`: a system message (instructions, leading developer messages, tool
/// declarations), then the history. Developer and system messages later in the history stay
/// where they are (as `system` turns) so that the rendered prefix of earlier turns never changes
/// and the engine's KV cache keeps matching it.
pub(crate) fn build_messages(prompt: &Prompt, tools: &[ToolDecl]) -> Vec<ChatMessage> {
    let (mut messages, rest) = fixed_start(prompt, tools);
    push_items(&mut messages, rest);
    messages
}

/// The messages every request with these instructions and tools starts with (the system
/// prompt, holding the leading developer messages and the tool declarations, then the worked
/// examples for small models), and the input items after them. The engine keeps the KV state
/// of this start on disk.
pub(crate) fn fixed_start<'p>(
    prompt: &'p Prompt,
    tools: &[ToolDecl],
) -> (Vec<ChatMessage>, &'p [Value]) {
    let mut messages = Vec::new();
    let mut system = ChatMessage::new("system");
    system.text(&prompt.instructions);
    let mut rest = prompt.input.as_slice();
    while let [item, after @ ..] = rest {
        let is_leading_system = item_type(item) == "message"
            && matches!(
                item.get("role").and_then(Value::as_str),
                Some("developer" | "system")
            );
        if !is_leading_system {
            break;
        }
        let text = content_text(item.get("content"));
        if !text.is_empty() {
            if !system.is_empty() {
                system.markup("\n\n");
            }
            system.text(&text);
        }
        rest = after;
    }
    if !tools.is_empty() {
        system.markup(tools_block(tools));
    }
    if !system.is_empty() {
        messages.push(system);
    }

    push_items(&mut messages, &crate::examples::worked_examples(tools));
    (messages, rest)
}

fn push_items(messages: &mut Vec<ChatMessage>, items: &[Value]) {
    for item in items {
        let kind = item_type(item);
        match kind {
            "message" => {
                let role = match item.get("role").and_then(Value::as_str) {
                    Some("assistant") => "assistant",
                    Some("user") => "user",
                    _ => "system",
                };
                let mut msg = ChatMessage::new(role);
                msg.text(&content_text(item.get("content")));
                messages.push(msg);
            }
            "function_call" | "custom_tool_call" => {
                let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                let arguments = call_arguments(item);
                // Parallel calls, and calls after the assistant's text, share one turn.
                let continues = messages.last().is_some_and(|m: &ChatMessage| {
                    m.role == "assistant" && !last_was_tool_result(m)
                });
                if !continues {
                    messages.push(ChatMessage::new("assistant"));
                }
                if let Some(msg) = messages.last_mut() {
                    push_call(msg, name, &arguments);
                }
            }
            "function_call_output" | "custom_tool_call_output" => {
                let output = output_text(item);
                // Consecutive results share one user turn, as in Qwen2.5's template.
                let continues = messages
                    .last()
                    .is_some_and(|m: &ChatMessage| m.role == "user" && last_was_tool_result(m));
                if !continues {
                    messages.push(ChatMessage::new("user"));
                }
                if let Some(msg) = messages.last_mut() {
                    if !msg.is_empty() {
                        msg.markup("\n");
                    }
                    msg.markup("<tool_response>\n");
                    msg.text(&output);
                    msg.markup("\n</tool_response>");
                }
            }
            // Reasoning is opaque to other models; other item kinds have no meaning here.
            "reasoning" => {}
            other => tracing::debug!(kind = other, "local model: history item left out"),
        }
    }
}

fn last_was_tool_result(m: &ChatMessage) -> bool {
    matches!(m.content.last(), Some(Segment::Markup(s)) if s.ends_with("</tool_response>"))
}

/// A call item's arguments as the model sees them: a custom tool's text as `{"input": ...}`,
/// a function's JSON parsed (or, when it does not parse, shown back as the string it was).
fn call_arguments(item: &Value) -> Value {
    if item_type(item) == "custom_tool_call" {
        return json!({"input": item.get("input").and_then(Value::as_str).unwrap_or_default()});
    }
    let raw = item
        .get("arguments")
        .and_then(Value::as_str)
        .unwrap_or("{}");
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

fn item_type(item: &Value) -> &str {
    item.get("type").and_then(Value::as_str).unwrap_or_default()
}

/// Whether `calls` is one call identical (same tool, same arguments) to the last call in the
/// history, whose output is the last thing the model saw.
pub(crate) fn repeats_last_call(prompt: &Prompt, calls: &[crate::grammar::ParsedCall]) -> bool {
    let [call] = calls else { return false };
    match prompt.input.as_slice() {
        [.., last, output]
            if item_type(output).ends_with("_call_output")
                && item_type(last).ends_with("_call") =>
        {
            last.get("name").and_then(Value::as_str) == Some(call.name.as_str())
                && call_arguments(last) == call.arguments
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_repeats_the_last_one_only_when_tool_and_arguments_match() {
        use crate::grammar::ParsedCall;
        let prompt = |input: Vec<Value>| Prompt {
            model: "local".into(),
            instructions: String::new(),
            input,
            tools: Vec::new(),
            parallel_tool_calls: false,
            reasoning: None,
            output_schema: None,
            prompt_cache_key: String::new(),
        };
        let call = |name: &str, args: Value| ParsedCall {
            name: name.into(),
            arguments: args,
        };
        let ran = prompt(vec![
            json!({"type": "message", "role": "user", "content": "run it"}),
            json!({"type": "function_call", "call_id": "c1", "name": "shell",
                   "arguments": "{\"command\": \"python3 a.py\"}"}),
            json!({"type": "function_call_output", "call_id": "c1", "output": "1"}),
        ]);
        let same = call("shell", json!({"command": "python3 a.py"}));
        assert!(repeats_last_call(&ran, std::slice::from_ref(&same)));
        assert!(!repeats_last_call(
            &ran,
            &[call("shell", json!({"command": "cat a.py"}))]
        ));
        assert!(!repeats_last_call(
            &ran,
            &[call("write_file", json!({"command": "python3 a.py"}))]
        ));
        // Two calls at once are not a repeat of one.
        assert!(!repeats_last_call(&ran, &[same.clone(), same.clone()]));
        // A freeform tool's text compares as its `input`.
        let patched = prompt(vec![
            json!({"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch",
                   "input": "*** Begin Patch"}),
            json!({"type": "custom_tool_call_output", "call_id": "c2", "output": "done"}),
        ]);
        let patch = call("apply_patch", json!({"input": "*** Begin Patch"}));
        assert!(repeats_last_call(&patched, &[patch]));
        // After a user message the same call is a new request.
        let mut asked = ran.input.clone();
        asked.push(json!({"type": "message", "role": "user", "content": "again"}));
        assert!(!repeats_last_call(
            &prompt(asked),
            std::slice::from_ref(&same)
        ));
    }

    fn prompt(input: Vec<Value>, tools: Vec<Value>) -> Prompt {
        Prompt {
            model: "local".into(),
            instructions: "You are wright.".into(),
            input,
            tools,
            parallel_tool_calls: true,
            reasoning: None,
            output_schema: None,
            prompt_cache_key: "t".into(),
        }
    }

    fn shell_tool() -> Value {
        json!({"type": "function", "name": "shell", "description": "Runs a command.",
               "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}}, "required": ["command"]}})
    }

    #[test]
    fn history_maps_to_hermes_chat() {
        let p = prompt(
            vec![
                json!({"type":"message","role":"developer","content":[{"type":"input_text","text":"sandbox: on"}]}),
                json!({"type":"message","role":"user","content":[{"type":"input_text","text":"list files"}]}),
                json!({"type":"reasoning","summary":[]}),
                json!({"type":"function_call","call_id":"c1","name":"shell","arguments":"{\"command\":[\"ls\"]}"}),
                json!({"type":"function_call","call_id":"c2","name":"shell","arguments":"{\"command\":[\"pwd\"]}"}),
                json!({"type":"function_call_output","call_id":"c1","output":"a.txt"}),
                json!({"type":"function_call_output","call_id":"c2","output":"/w"}),
                json!({"type":"message","role":"assistant","content":[{"type":"output_text","text":"Done."}]}),
                json!({"type":"message","role":"developer","content":[{"type":"input_text","text":"later"}]}),
            ],
            vec![shell_tool()],
        );
        let tools = tool_decls(&p.tools);
        let msgs = build_messages(&p, &tools);
        let roles: Vec<_> = msgs.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            ["system", "user", "assistant", "user", "assistant", "system"]
        );
        let sys = msgs[0].flat();
        assert!(sys.starts_with("You are wright.\n\nsandbox: on\n\n# Tools\n"));
        assert!(sys.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"shell\", \"description\": \"Runs a command.\", \"parameters\": {\"type\": \"object\""));
        assert!(sys.ends_with("</tool_call>"));
        assert_eq!(
            msgs[2].flat(),
            "<tool_call>\n{\"name\": \"shell\", \"arguments\": {\"command\": [\"ls\"]}}\n</tool_call>\n\
             <tool_call>\n{\"name\": \"shell\", \"arguments\": {\"command\": [\"pwd\"]}}\n</tool_call>"
        );
        assert_eq!(
            msgs[3].flat(),
            "<tool_response>\na.txt\n</tool_response>\n<tool_response>\n/w\n</tool_response>"
        );
        assert_eq!(msgs[5].flat(), "later");
    }

    #[test]
    fn outside_text_is_kept_apart_from_markup() {
        let p = prompt(
            vec![
                json!({"type":"message","role":"user","content":[{"type":"input_text","text":"hi <|im_end|>"}]}),
                json!({"type":"function_call","call_id":"c1","name":"shell","arguments":"not json"}),
                json!({"type":"function_call_output","call_id":"c1","output":"<tool_call>x"}),
            ],
            vec![shell_tool()],
        );
        let msgs = build_messages(&p, &tool_decls(&p.tools));
        assert_eq!(msgs[1].content, vec![Segment::Text("hi <|im_end|>".into())]);
        assert!(msgs[2]
            .content
            .contains(&Segment::Text("\"not json\"".into())));
        assert_eq!(
            msgs[3].content,
            vec![
                Segment::Markup("<tool_response>\n".into()),
                Segment::Text("<tool_call>x".into()),
                Segment::Markup("\n</tool_response>".into()),
            ]
        );
    }

    #[test]
    fn custom_tools_take_one_string_and_hosted_tools_are_left_out() {
        let tools = tool_decls(&[
            json!({"type":"custom","name":"apply_patch","description":"edit"}),
            json!({"type":"web_search"}),
            json!({"type":"function","name":"apply_patch"}),
        ]);
        assert_eq!(tools.len(), 1);
        assert!(tools[0].custom);
        assert_eq!(tools[0].parameters["required"][0], "input");
        let p = prompt(
            vec![
                json!({"type":"custom_tool_call","call_id":"c","name":"apply_patch","input":"*** Begin Patch"}),
            ],
            vec![],
        );
        let msgs = build_messages(&p, &tools);
        assert!(msgs[1].flat().contains(
            "{\"name\": \"apply_patch\", \"arguments\": {\"input\": \"*** Begin Patch\"}}"
        ));
    }

    #[test]
    fn the_fixed_start_is_the_system_prompt_then_the_worked_examples() {
        let tools = vec![
            json!({"type": "function", "name": "shell", "parameters": {"type": "object",
                "properties": {"command": {"type": "string"}}, "required": ["command"]}}),
            json!({"type": "function", "name": "write_file", "parameters": {"type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                "required": ["path", "content"]}}),
        ];
        let input = vec![
            json!({"type": "message", "role": "developer",
                "content": [{"type": "input_text", "text": "Sandbox rules."}]}),
            json!({"type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "The task."}]}),
        ];
        let p = prompt(input, tools);
        let decls = tool_decls(&p.tools);
        let (fixed, rest) = fixed_start(&p, &decls);
        // The developer message joins the system prompt; the user's task is not fixed.
        assert_eq!(rest, &p.input[1..]);
        assert_eq!(fixed[0].role, "system");
        assert!(fixed[0].flat().contains("Sandbox rules."));
        let roles: Vec<&str> = fixed[1..].iter().map(|m| m.role).collect();
        assert_eq!(roles.first(), Some(&"user"));
        assert_eq!(roles.last(), Some(&"assistant"));
        assert!(roles.len() >= 4, "{roles:?}");
        // The whole prompt is the fixed start, then the rest.
        let all = build_messages(&p, &decls);
        assert_eq!(all[..fixed.len()], fixed[..]);
        assert_eq!(all.len(), fixed.len() + 1);
        assert!(all[fixed.len()].flat().contains("The task."));

        // Other tools: no examples, the fixed start is the system prompt alone.
        let other = prompt(p.input.clone(), vec![shell_tool()]);
        let (fixed, _) = fixed_start(&other, &tool_decls(&other.tools));
        assert_eq!(fixed.len(), 1);
    }

    #[test]
    fn python_style_json() {
        let mut s = String::new();
        py_json(&json!({"a": [1, "é", null], "b": {"c": true}}), &mut s);
        assert_eq!(s, "{\"a\": [1, \"é\", null], \"b\": {\"c\": true}}");
    }
}
