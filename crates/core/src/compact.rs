//! Compaction: replacing a history that no longer fits by a summary, or, when summarising is
//! not possible, by a deterministic reduction that always succeeds.

use serde_json::{json, Value};
use wright_tools::truncate::head_tail;

/// Asks the model for a hand-off summary. Sent as a user message after the unchanged history,
/// with the same tools, so the request is a cache hit up to this message.
pub const COMPACT_PROMPT: &str = "You are performing a CONTEXT CHECKPOINT COMPACTION. Do not call any tools. Write a hand-off summary for another engineer who will continue this task with no other context. Include: the user's goal and constraints; what has been done so far (files changed, commands run and their results); decisions made and why; the current state (what passes, what fails); what remains, as concrete next steps; and any exact data needed to continue (paths, names, error messages, values). Be concise and factual.";

/// Put in front of the summary in the rebuilt history (Codex's wording, so models trained on it
/// recognise the hand-off).
pub const SUMMARY_PREFIX: &str = "Another language model started to solve this problem and produced a summary of its thinking process. You also have access to the state of the tools that were used by that language model. Use this to build on the work that has already been done and avoid duplicating work. Here is the summary produced by the other language model, use the information in this summary to assist with your own analysis:";

/// Tool outputs are cut to this many bytes when the history is reduced without a summary.
const SHORT_OUTPUT_BYTES: usize = 512;

pub fn estimate_tokens(items: &[Value]) -> u64 {
    items.iter().map(item_tokens).sum()
}

fn item_tokens(item: &Value) -> u64 {
    serde_json::to_string(item)
        .map(|s| s.len().div_ceil(4) as u64)
        .unwrap_or(0)
}

pub fn user_text_message(text: String) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

/// A message the user typed (not a context block wright inserted).
fn user_typed_text(item: &Value) -> Option<String> {
    if item.get("type").and_then(Value::as_str) != Some("message")
        || item.get("role").and_then(Value::as_str) != Some("user")
    {
        return None;
    }
    let text: Vec<&str> = item
        .get("content")?
        .as_array()?
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect();
    let text = text.join("\n");
    let inserted = [
        "<environment_context>",
        "# AGENTS.md instructions",
        SUMMARY_PREFIX,
    ];
    if inserted.iter().any(|p| text.starts_with(p)) {
        return None;
    }
    Some(text)
}

/// The history after a successful summary: `prefix` (pinned layers, current settings), the most
/// recent user messages within `user_budget` tokens (oldest first; the newest always kept, cut
/// if needed), then the summary.
pub fn rebuild(
    prefix: &[Value],
    conversation: &[Value],
    summary: &str,
    user_budget: u64,
) -> Vec<Value> {
    let mut kept: Vec<Value> = Vec::new();
    let mut used = 0u64;
    for item in conversation.iter().rev() {
        let Some(text) = user_typed_text(item) else {
            continue;
        };
        let cost = item_tokens(item);
        if kept.is_empty() && cost > user_budget {
            kept.push(user_text_message(head_tail(
                &text,
                (user_budget * 4) as usize,
            )));
            break;
        }
        if used + cost > user_budget {
            break;
        }
        used += cost;
        kept.push(item.clone());
    }
    kept.reverse();
    let mut out = prefix.to_vec();
    out.extend(kept);
    out.push(user_text_message(format!("{SUMMARY_PREFIX}\n{summary}")));
    out
}

/// Shrinks `history[pinned..]` until the whole estimate is at most `target` tokens: first the
/// oldest tool outputs are cut to a head and tail, then the oldest items are dropped (a call and
/// its output always go together). The latest user message and what follows it are kept.
pub fn reduce(history: &mut Vec<Value>, pinned: usize, target: u64) {
    let mut sizes: Vec<u64> = history.iter().map(item_tokens).collect();
    let mut total: u64 = sizes.iter().sum();
    for i in pinned..history.len() {
        if total <= target {
            return;
        }
        let Some(output) = history[i].get("output").and_then(Value::as_str) else {
            continue;
        };
        if output.len() <= SHORT_OUTPUT_BYTES {
            continue;
        }
        let short = format!(
            "{}\n[output shortened when the context was compacted]",
            head_tail(output, SHORT_OUTPUT_BYTES)
        );
        history[i]["output"] = Value::String(short);
        let size = item_tokens(&history[i]);
        total = total - sizes[i] + size;
        sizes[i] = size;
    }
    let last_user = history
        .iter()
        .rposition(|i| user_typed_text(i).is_some())
        .unwrap_or(history.len());
    drop_oldest(history, &mut sizes, &mut total, pinned, last_user, target);
}

/// Drops items from the front of the conversation (a call together with its output) until the
/// estimate fits or only the latest user message and what follows it are left.
fn drop_oldest(
    history: &mut Vec<Value>,
    sizes: &mut Vec<u64>,
    total: &mut u64,
    pinned: usize,
    mut last_user: usize,
    target: u64,
) {
    while *total > target && last_user > pinned {
        let victim = pinned;
        let call_id = history[victim]
            .get("call_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut remove = vec![victim];
        if let Some(id) = call_id {
            remove.extend((pinned..history.len()).filter(|&j| {
                j != victim && history[j].get("call_id").and_then(Value::as_str) == Some(&id)
            }));
        }
        remove.sort_unstable();
        for &j in remove.iter().rev() {
            *total -= sizes[j];
            sizes.remove(j);
            history.remove(j);
            if j < last_user {
                last_user -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Value {
        user_text_message(text.into())
    }

    fn call(id: &str) -> Value {
        json!({"type": "function_call", "call_id": id, "name": "exec_command", "arguments": "{}"})
    }

    fn output(id: &str, text: &str) -> Value {
        json!({"type": "function_call_output", "call_id": id, "output": text})
    }

    #[test]
    fn rebuild_keeps_prefix_recent_user_messages_and_summary() {
        let prefix = vec![json!({"type": "message", "role": "developer", "content": []})];
        let conversation = vec![
            user("first task"),
            call("a"),
            output("a", "x"),
            user("<environment_context>\n</environment_context>"),
            user("second task"),
        ];
        let out = rebuild(&prefix, &conversation, "did things", 1000);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], prefix[0]);
        assert_eq!(out[1], user("first task"));
        assert_eq!(out[2], user("second task"));
        let summary = out[3]["content"][0]["text"].as_str().unwrap();
        assert!(summary.starts_with(SUMMARY_PREFIX));
        assert!(summary.ends_with("\ndid things"));
        // A tight budget keeps only the newest message.
        let tight = rebuild(&prefix, &conversation, "s", 12);
        assert_eq!(tight[1], user("second task"));
        assert_eq!(tight.len(), 3);
    }

    #[test]
    fn reduce_shortens_old_outputs_first() {
        let big = "y".repeat(40_000);
        let mut history = vec![
            user("pinned"),
            user("task"),
            call("a"),
            output("a", &big),
            call("b"),
            output("b", &big),
        ];
        reduce(&mut history, 1, 12_000);
        assert_eq!(history.len(), 6);
        assert!(history[3]["output"].as_str().unwrap().len() < 1000);
        // The second output was not needed to get under the target.
        assert_eq!(history[5]["output"].as_str().unwrap().len(), 40_000);
    }

    #[test]
    fn reduce_drops_oldest_pairs_when_shortening_is_not_enough() {
        let mut history = vec![user("pinned")];
        for i in 0..50 {
            history.push(call(&format!("c{i}")));
            history.push(output(&format!("c{i}"), "short"));
        }
        history.push(user("latest"));
        history.push(call("z"));
        history.push(output("z", "tail"));
        reduce(&mut history, 1, 200);
        assert!(estimate_tokens(&history) <= 200 || history.len() == 4);
        assert_eq!(history[0], user("pinned"));
        // Every call still has its output and vice versa.
        for item in &history {
            if let Some(id) = item.get("call_id").and_then(Value::as_str) {
                assert_eq!(
                    history.iter().filter(|i| i["call_id"] == id).count(),
                    2,
                    "{id} lost its pair"
                );
            }
        }
        assert!(history.iter().any(|i| *i == user("latest")));
    }
}
