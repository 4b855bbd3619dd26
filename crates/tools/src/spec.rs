//! The tool declarations sent to the model. Built once per thread and never reordered, so the
//! request prefix stays byte-identical from step to step.

use serde_json::{json, Value};

/// How tools are declared to a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolStyle {
    /// Responses API models trained on Codex: `exec_command` and a freeform `apply_patch`.
    Freeform,
    /// Everything as JSON functions (Chat Completions, and models without freeform tools):
    /// `shell` with an argv and `apply_patch` with `{"input": patch}`.
    Function,
    /// Small local models: two tools with few, plain arguments (`shell` with one command
    /// string, `write_file` with a path and the whole content), described in a line each.
    /// Patches and argv arrays are where such models break down.
    Compact,
}

/// Codex's apply_patch grammar, declared verbatim so models trained on it feel at home.
pub const APPLY_PATCH_GRAMMAR: &str = r#"start: begin_patch hunk+ end_patch
begin_patch: "*** Begin Patch" LF
end_patch: "*** End Patch" LF?

hunk: add_hunk | delete_hunk | update_hunk
add_hunk: "*** Add File: " filename LF add_line+
delete_hunk: "*** Delete File: " filename LF
update_hunk: "*** Update File: " filename LF change_move? change?

filename: /(.+)/
add_line: "+" /(.*)/ LF -> line

change_move: "*** Move to: " filename LF
change: (change_context | change_line)+ eof_line?
change_context: ("@@" | "@@ " /(.+)/) LF
change_line: ("+" | "-" | " ") /(.*)/ LF
eof_line: "*** End of File" LF

%import common.LF
"#;

const PATCH_HELP: &str = "Edit files with a patch. Format:\n*** Begin Patch\n*** Update File: path/to/file.py\n@@ def example():\n-    return 1\n+    return 2\n*** Add File: new.txt\n+line\n*** Delete File: old.txt\n*** End Patch\nPaths are relative to the working directory. Each @@ chunk shows a few unchanged context lines (prefix ' '), removed lines ('-') and added lines ('+'); '@@ <line>' first finds that line. '*** Move to: <path>' after an Update header renames the file. The patch is checked in full before any file is written.";

fn exec_command() -> Value {
    json!({
        "type": "function",
        "name": "exec_command",
        "description": "Runs a shell command (via the user's login shell, `-lc`) and returns its exit code and combined stdout/stderr. Prefer `rg` for search. Long output keeps its head and tail.",
        "strict": false,
        "parameters": {
            "type": "object",
            "properties": {
                "cmd": {"type": "string", "description": "The shell command to run."},
                "workdir": {"type": "string", "description": "Working directory; defaults to the turn's cwd."},
                "timeout_ms": {"type": "number", "description": "Kill the command after this many milliseconds."},
                "max_output_tokens": {"type": "number", "description": "Cap on output tokens returned (default 10000)."},
                "sandbox_permissions": {"type": "string", "enum": ["use_default", "require_escalated"], "description": "require_escalated asks the user to run this command outside the sandbox; only when it cannot work inside it."},
                "justification": {"type": "string", "description": "With require_escalated: one sentence the user reads to decide."}
            },
            "required": ["cmd"],
            "additionalProperties": false
        }
    })
}

fn shell() -> Value {
    json!({
        "type": "function",
        "name": "shell",
        "description": "Runs a command and returns its exit code and combined stdout/stderr. Use [\"bash\", \"-lc\", \"<script>\"] for shell syntax. Long output keeps its head and tail.",
        "strict": false,
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "array", "items": {"type": "string"}, "description": "Program and arguments."},
                "workdir": {"type": "string", "description": "Working directory; defaults to the turn's cwd."},
                "timeout_ms": {"type": "number", "description": "Kill the command after this many milliseconds."},
                "sandbox_permissions": {"type": "string", "enum": ["use_default", "require_escalated"], "description": "require_escalated asks the user to run this command outside the sandbox; only when it cannot work inside it."},
                "justification": {"type": "string", "description": "With require_escalated: one sentence the user reads to decide."}
            },
            "required": ["command"],
            "additionalProperties": false
        }
    })
}

fn apply_patch(style: ToolStyle) -> Value {
    match style {
        ToolStyle::Freeform => json!({
            "type": "custom",
            "name": "apply_patch",
            "description": "Use the `apply_patch` tool to edit files. This is a FREEFORM tool, so do not wrap the patch in JSON.",
            "format": {"type": "grammar", "syntax": "lark", "definition": APPLY_PATCH_GRAMMAR}
        }),
        ToolStyle::Function | ToolStyle::Compact => json!({
            "type": "function",
            "name": "apply_patch",
            "description": PATCH_HELP,
            "strict": false,
            "parameters": {
                "type": "object",
                "properties": {"input": {"type": "string", "description": "The whole patch, from *** Begin Patch to *** End Patch."}},
                "required": ["input"],
                "additionalProperties": false
            }
        }),
    }
}

fn update_plan() -> Value {
    json!({
        "type": "function",
        "name": "update_plan",
        "description": "Keeps a short visible plan for multi-step work. Send the whole plan each time; at most one step in_progress.",
        "strict": false,
        "parameters": {
            "type": "object",
            "properties": {
                "explanation": {"type": "string"},
                "plan": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "step": {"type": "string"},
                            "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]}
                        },
                        "required": ["step", "status"],
                        "additionalProperties": false
                    }
                }
            },
            "required": ["plan"],
            "additionalProperties": false
        }
    })
}

fn compact_shell() -> Value {
    json!({
        "type": "function",
        "name": "shell",
        "description": "Run a shell command in the repository. Returns the exit code and output.",
        "strict": true,
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The command, e.g. python3 test.py"}
            },
            "required": ["command"],
            "additionalProperties": false
        }
    })
}

fn write_file() -> Value {
    json!({
        "type": "function",
        "name": "write_file",
        "description": "Create or overwrite a file with the given content.",
        "strict": true,
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Path relative to the repository."},
                "content": {"type": "string", "description": "The whole new content of the file."}
            },
            "required": ["path", "content"],
            "additionalProperties": false
        }
    })
}

/// The declarations, in a fixed order.
pub fn tool_specs(style: ToolStyle) -> Vec<Value> {
    match style {
        ToolStyle::Freeform => vec![exec_command(), update_plan(), apply_patch(style)],
        ToolStyle::Function => vec![shell(), update_plan(), apply_patch(style)],
        ToolStyle::Compact => vec![compact_shell(), write_file()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_is_codex_verbatim() {
        assert!(APPLY_PATCH_GRAMMAR.ends_with("%import common.LF\n"));
        assert!(APPLY_PATCH_GRAMMAR.starts_with("start: begin_patch hunk+ end_patch\n"));
    }

    #[test]
    fn names_in_order() {
        let names = |s| {
            tool_specs(s)
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(ToolStyle::Freeform),
            ["exec_command", "update_plan", "apply_patch"]
        );
        assert_eq!(
            names(ToolStyle::Function),
            ["shell", "update_plan", "apply_patch"]
        );
        assert_eq!(names(ToolStyle::Compact), ["shell", "write_file"]);
    }
}
