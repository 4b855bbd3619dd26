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
        "description": "Runs a command in a PTY, returning output or a session ID for ongoing interaction.",
        "strict": false,
        "parameters": {
            "type": "object",
            "properties": {
                "cmd": {"type": "string", "description": "Shell command to execute."},
                "justification": {"type": "string", "description": "User-facing approval question for `require_escalated`; omit otherwise."},
                "login": {"type": "boolean", "description": "True runs the shell with -l/-i semantics; false disables them. Defaults to true."},
                "max_output_tokens": {"type": "number", "description": "Output token budget. Defaults to 10000 tokens; larger requests may be capped by policy."},
                "sandbox_permissions": {"type": "string", "description": "Per-command sandbox override. Defaults to `use_default`; use `require_escalated` for unsandboxed execution.", "enum": ["use_default", "require_escalated"]},
                "shell": {"type": "string", "description": "Shell binary to launch. Defaults to the user's default shell."},
                "tty": {"type": "boolean", "description": "True allocates a PTY for the command; false or omitted uses plain pipes."},
                "workdir": {"type": "string", "description": "Working directory for the command. Defaults to the turn cwd."},
                "yield_time_ms": {"type": "number", "description": "Wait before yielding output. Defaults to 10000 ms; effective range is 250-30000 ms."}
            },
            "required": ["cmd"],
            "additionalProperties": false
        }
    })
}

fn write_stdin() -> Value {
    json!({
        "type": "function",
        "name": "write_stdin",
        "description": "Writes characters to an existing unified exec session and returns recent output.",
        "strict": false,
        "parameters": {
            "type": "object",
            "properties": {
                "chars": {"type": "string", "description": "Bytes to write to stdin. Defaults to empty, which polls without writing."},
                "max_output_tokens": {"type": "number", "description": "Output token budget. Defaults to 10000 tokens; larger requests may be capped by policy."},
                "session_id": {"type": "number", "description": "Identifier of the running unified exec session."},
                "yield_time_ms": {"type": "number", "description": "Wait before yielding output. Non-empty writes default to 250 ms and cap at 30000 ms; empty polls wait 5000-300000 ms by default."}
            },
            "required": ["session_id"],
            "additionalProperties": false
        }
    })
}

fn request_user_input() -> Value {
    json!({
        "type": "function",
        "name": "request_user_input",
        "description": "Request user input for one to three short questions and wait for the response.",
        "strict": false,
        "parameters": {
            "type": "object",
            "properties": {
                "questions": {
                    "type": "array",
                    "description": "Questions to show the user. Prefer 1 and do not exceed 3",
                    "items": {
                        "type": "object",
                        "properties": {
                            "header": {"type": "string", "description": "Short header label shown in the UI (12 or fewer chars)."},
                            "id": {"type": "string", "description": "Stable identifier for mapping answers (snake_case)."},
                            "options": {
                                "type": "array",
                                "description": "Provide 2-3 mutually exclusive choices. Put the recommended option first and suffix its label with \"(Recommended)\". Do not include an \"Other\" option in this list; the client will add a free-form \"Other\" option automatically.",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "description": {"type": "string", "description": "One short sentence explaining impact/tradeoff if selected."},
                                        "label": {"type": "string", "description": "User-facing label (1-5 words)."}
                                    },
                                    "required": ["label", "description"],
                                    "additionalProperties": false
                                }
                            },
                            "question": {"type": "string", "description": "Single-sentence prompt shown to the user."}
                        },
                        "required": ["id", "header", "question", "options"],
                        "additionalProperties": false
                    }
                }
            },
            "required": ["questions"],
            "additionalProperties": false
        }
    })
}

fn view_image() -> Value {
    json!({
        "type": "function",
        "name": "view_image",
        "description": "View a local image file from the filesystem when visual inspection is needed. Use this for images already available on disk.",
        "strict": false,
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Local filesystem path to an image file."}
            },
            "required": ["path"],
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
/// A JSON-function tool in the Responses shape Codex declares its own with: not strict, an
/// object of `properties` with `required` ones and nothing else.
pub fn function_tool(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "function",
        "name": name,
        "description": description,
        "strict": false,
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        },
    })
}

pub fn tool_specs(style: ToolStyle) -> Vec<Value> {
    match style {
        // Codex's order.
        ToolStyle::Freeform => vec![
            exec_command(),
            write_stdin(),
            update_plan(),
            request_user_input(),
            apply_patch(style),
            view_image(),
        ],
        ToolStyle::Function => vec![
            shell(),
            update_plan(),
            request_user_input(),
            apply_patch(style),
            view_image(),
        ],
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
            [
                "exec_command",
                "write_stdin",
                "update_plan",
                "request_user_input",
                "apply_patch",
                "view_image"
            ]
        );
        assert_eq!(
            names(ToolStyle::Function),
            [
                "shell",
                "update_plan",
                "request_user_input",
                "apply_patch",
                "view_image"
            ]
        );
        assert_eq!(names(ToolStyle::Compact), ["shell", "write_file"]);
    }
}
