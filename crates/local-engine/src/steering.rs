//! When a small model's reply must be a tool call (the engine then starts the reply inside
//! `<tool_call>`, under the grammar). Each rule answers a failure seen with Qwen2.5-Coder 0.5B
//! and 1.5B on `evals/local`; each applies to the `shell`/`write_file` tools of small models
//! and ends within a turn, so a model always gets to answer.
//!
//! Tried and dropped: a call after every failed command until one succeeded. It helped the
//! 0.5B (3 of 18 tasks instead of 2) and cost the 1.5B three (7 instead of 10): asked why a
//! script fails, it kept calling instead of answering.

use serde_json::Value;
use wright_models::Prompt;

/// Past this many calls in a turn the model answers when it likes.
const MAX_CALLS_IN_TURN: usize = 12;

pub(crate) fn reply_must_call(prompt: &Prompt) -> bool {
    opens_task(prompt) || {
        let turn = Turn::of(prompt);
        turn.has_tool("shell") && turn.calls() < MAX_CALLS_IN_TURN && turn.follows_write()
    }
}

/// Whether this request answers a user message (the first step of a turn) with tools to call.
/// Small models asked to do something often answer in prose, pasting the code they would
/// write; a coding agent's first step is always to look or act.
fn opens_task(prompt: &Prompt) -> bool {
    !prompt.tools.is_empty() && prompt.input.last().is_some_and(is_user_message)
}

fn kind(item: &Value) -> &str {
    item.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn name(item: &Value) -> &str {
    item.get("name").and_then(Value::as_str).unwrap_or_default()
}

fn is_user_message(item: &Value) -> bool {
    kind(item) == "message" && item.get("role").and_then(Value::as_str) == Some("user")
}

/// The items since the last user message.
struct Turn<'p> {
    prompt: &'p Prompt,
    items: &'p [Value],
}

impl<'p> Turn<'p> {
    fn of(prompt: &'p Prompt) -> Self {
        let start = prompt
            .input
            .iter()
            .rposition(is_user_message)
            .map_or(0, |i| i + 1);
        Turn {
            prompt,
            items: &prompt.input[start..],
        }
    }

    fn has_tool(&self, tool: &str) -> bool {
        self.prompt.tools.iter().any(|t| name(t) == tool)
    }

    fn calls(&self) -> usize {
        self.items
            .iter()
            .filter(|i| kind(i) == "function_call")
            .count()
    }

    /// The last call, when the step before ended with its result.
    fn last_answered_call(&self) -> Option<&'p Value> {
        self.items
            .last()
            .filter(|i| kind(i) == "function_call_output")?;
        self.items.iter().rev().find(|i| kind(i) == "function_call")
    }

    /// The step before wrote a file. Small models (the 1.5B too) write a script and then
    /// report what it "printed" without running it; a change is checked before it is reported.
    fn follows_write(&self) -> bool {
        self.last_answered_call()
            .is_some_and(|call| name(call) == "write_file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prompt(input: Vec<Value>, tools: &[&str]) -> Prompt {
        Prompt {
            model: "local".into(),
            instructions: String::new(),
            input,
            tools: tools
                .iter()
                .map(|n| json!({"type": "function", "name": n, "parameters": {}}))
                .collect(),
            parallel_tool_calls: false,
            reasoning: None,
            output_schema: None,
            prompt_cache_key: "t".into(),
        }
    }

    fn user(text: &str) -> Value {
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    }

    fn call(name: &str, id: &str, output: &str) -> [Value; 2] {
        [
            json!({"type": "function_call", "name": name, "call_id": id, "arguments": "{}"}),
            json!({"type": "function_call_output", "call_id": id, "output": output}),
        ]
    }

    const TOOLS: [&str; 2] = ["shell", "write_file"];
    const WROTE: &str = "Success. Updated the following files:\nA x.py\n";
    const RAN: &str = "Exit code: 0\nWall time: 0.1 seconds\nOutput:\nok\n";

    fn turn(steps: &[(&str, &str)]) -> Vec<Value> {
        let mut input = vec![user("make x.py and run it")];
        for (i, (tool, output)) in steps.iter().enumerate() {
            input.extend(call(tool, &i.to_string(), output));
        }
        input
    }

    #[test]
    fn a_task_opens_with_a_call() {
        assert!(reply_must_call(&prompt(turn(&[]), &TOOLS)));
        assert!(!reply_must_call(&prompt(turn(&[]), &[])));
    }

    #[test]
    fn the_step_after_a_write_is_a_call_until_something_ran() {
        assert!(reply_must_call(&prompt(
            turn(&[("write_file", WROTE)]),
            &TOOLS
        )));
        // Ran something after the write: free to answer.
        let ran = turn(&[("write_file", WROTE), ("shell", RAN)]);
        assert!(!reply_must_call(&prompt(ran, &TOOLS)));
        // No shell to check with: no constraint.
        let p = prompt(turn(&[("write_file", WROTE)]), &["write_file"]);
        assert!(!reply_must_call(&p));
        // A write in an earlier turn does not bind this one.
        let mut input = turn(&[("write_file", WROTE)]);
        input.push(json!({"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "done"}]}));
        input.push(user("thanks"));
        assert!(
            reply_must_call(&prompt(input.clone(), &TOOLS)),
            "a new task opens"
        );
        input.extend(call("shell", "z", RAN));
        assert!(!reply_must_call(&prompt(input, &TOOLS)));
    }

    #[test]
    fn every_rule_ends_within_a_turn() {
        let writes: Vec<(&str, &str)> = vec![("write_file", WROTE); MAX_CALLS_IN_TURN];
        assert!(!reply_must_call(&prompt(turn(&writes), &TOOLS)));
    }
}
