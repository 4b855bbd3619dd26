//! The multi-agent tools as the model sees them: Codex's names, parameters and descriptions
//! (plain function tools, as Codex declared them before it grouped them in a namespace).

use serde_json::{json, Value};
use wright_tools::spec::function_tool as function;

use super::calls::{DEFAULT_WAIT_TIMEOUT_MS, MAX_WAIT_TIMEOUT_MS, MIN_WAIT_TIMEOUT_MS};

/// The tools, in the order they are declared.
pub const TOOL_NAMES: &[&str] = &[
    "spawn_agent",
    "send_input",
    "wait_agent",
    "close_agent",
    "list_agents",
];

/// Whether `name` is one of the multi-agent tools (also when this thread does not offer
/// them: a call then gets a clear refusal rather than "unknown tool").
pub(crate) fn is_collab_tool(name: &str) -> bool {
    TOOL_NAMES.contains(&name)
}

/// The declarations, given the cap on open agents (the model is told it).
pub(crate) fn tool_specs(max_threads: usize) -> Vec<Value> {
    vec![
        spawn_agent(max_threads),
        send_input(),
        wait_agent(),
        close_agent(),
        list_agents(),
    ]
}

fn items_schema() -> Value {
    json!({
        "type": "array",
        "description": "Structured input items. Use this to pass explicit mentions (for example app:// connector paths).",
        "items": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "description": "Input item type: text, image, local_image, skill, or mention."},
                "text": {"type": "string", "description": "Text content when type is text."},
                "image_url": {"type": "string", "description": "Image URL when type is image."},
                "path": {"type": "string", "description": "Path when type is local_image/skill, or structured mention target such as app://<connector-id> or plugin://<plugin-name>@<marketplace-name> when type is mention."},
                "name": {"type": "string", "description": "Display name when type is skill or mention."}
            },
            "additionalProperties": false
        }
    })
}

fn spawn_agent(max_threads: usize) -> Value {
    let description = format!(
        "Spawn a sub-agent for a well-scoped task. Returns the spawned agent id plus the user-facing nickname when available. Spawned agents inherit your current model by default. Omit `model` to use that preferred default; set `model` only when an explicit override is needed.\nOnly use `spawn_agent` if the user explicitly asks for sub-agents, delegation, or parallel agent work.\nWhen you may write files, each agent works in a git worktree of its own (a checkout of your HEAD on its own branch) and cannot write your checkout: when it is done, `wait_agent` tells you the worktree, its branch and a `git diff --stat` of its changes, for you to review and merge. Give code-editing agents disjoint write sets.\nAt most {max_threads} agents may be open at once; finished agents count until closed with close_agent."
    );
    function(
        "spawn_agent",
        &description,
        json!({
            "message": {"type": "string", "description": "Initial plain-text task for the new agent. Use either message or items."},
            "items": items_schema(),
            "agent_type": {"type": "string", "description": "Optional type name for the new agent (recorded as its role)."},
            "fork_context": {"type": "boolean", "description": "True forks the current thread history into the new agent; false or omitted starts with only the initial prompt."},
            "model": {"type": "string", "description": "Model override for the new agent. Omit unless an explicit override is needed."},
            "reasoning_effort": {"type": "string", "description": "Reasoning effort override for the new agent. Omit to inherit the parent effort."}
        }),
        &[],
    )
}

fn send_input() -> Value {
    function(
        "send_input",
        "Send a message to an existing agent. Use interrupt=true to redirect work immediately. You should reuse the agent by send_input if you believe your assigned task is highly dependent on the context of a previous task.",
        json!({
            "target": {"type": "string", "description": "Agent id to message (from spawn_agent)."},
            "message": {"type": "string", "description": "Legacy plain-text message to send to the agent. Use either message or items."},
            "items": items_schema(),
            "interrupt": {"type": "boolean", "description": "True interrupts the current task and handles this message immediately; false or omitted queues it."}
        }),
        &["target"],
    )
}

fn wait_agent() -> Value {
    function(
        "wait_agent",
        "Wait for agents to reach a final status. Completed statuses may include the agent's final message. Returns empty status when timed out.",
        json!({
            "targets": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Agent ids to wait on. Pass multiple ids to wait for whichever finishes first."
            },
            "timeout_ms": {
                "type": "number",
                "description": format!("Timeout in milliseconds. Defaults to {DEFAULT_WAIT_TIMEOUT_MS}, min {MIN_WAIT_TIMEOUT_MS}, max {MAX_WAIT_TIMEOUT_MS}. Prefer longer waits (minutes) to avoid busy polling.")
            }
        }),
        &["targets"],
    )
}

fn close_agent() -> Value {
    function(
        "close_agent",
        "Close an agent and any open descendants when they are no longer needed, and return the target agent's previous status before shutdown was requested. Completed agents remain open and count toward the concurrency limit until closed. Don't keep agents open for too long if they are not needed anymore. A worktree with changes is kept for you to merge.",
        json!({
            "target": {"type": "string", "description": "Agent id to close (from spawn_agent)."}
        }),
        &["target"],
    )
}

fn list_agents() -> Value {
    function(
        "list_agents",
        "List live agents in the current root thread tree. Optionally filter by task-path prefix.",
        json!({
            "path_prefix": {"type": "string", "description": "Task-path prefix filter without a trailing slash. Omit to list all live agents."}
        }),
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_codex_names_in_order_with_closed_parameters() {
        let specs = tool_specs(6);
        let names: Vec<&str> = specs.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, TOOL_NAMES);
        for spec in &specs {
            assert_eq!(spec["parameters"]["additionalProperties"], false, "{spec}");
        }
        assert_eq!(specs[2]["parameters"]["required"], json!(["targets"]));
        assert!(specs[0]["description"]
            .as_str()
            .unwrap()
            .contains("At most 6 agents"));
        assert!(is_collab_tool("wait_agent") && !is_collab_tool("wait"));
    }
}
