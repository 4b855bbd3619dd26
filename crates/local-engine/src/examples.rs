//! Worked examples shown to a small model before the conversation: two short tasks done through
//! the small-model tools (`shell {command}`, `write_file {path, content}`), one creating a
//! script and one fixing a failing test, each ending with a brief answer.
//!
//! Why: instructions alone do not steer a 0.5B model. Asked to "create x.py and run it", it runs
//! the missing file first, and then flails (rm, chmod) at the error; asked to fix a bug, it runs
//! or rewrites the test. With these examples in its context it writes the file first, reads a
//! file before fixing it, and answers when a run succeeds (measured with `scripts/eval-local`;
//! see the closing note of issue 11). They sit right after the system prompt, so they are the
//! same bytes in every request: the KV cache keeps them across steps and turns.
//!
//! The tool results are written as wright's own tools write them (`Exit code: …` from the shell
//! tool, apply_patch's `Success. …` for write_file), so the model sees one format throughout.

use serde_json::{json, Value};

use crate::prompt::ToolDecl;

/// The examples, as Responses input items, when the declared tools are the small-model pair;
/// none otherwise (other tools would make the examples show calls the model cannot make).
pub(crate) fn worked_examples(tools: &[ToolDecl]) -> Vec<Value> {
    if !has_tool(tools, "shell", &["command"])
        || !has_tool(tools, "write_file", &["path", "content"])
    {
        return Vec::new();
    }
    let mut items = Vec::new();
    let mut n = 0;
    let mut call = |items: &mut Vec<Value>, name: &str, arguments: Value, output: &str| {
        n += 1;
        let call_id = format!("example_{n}");
        items.push(
            json!({"type": "function_call", "name": name, "call_id": call_id,
            "arguments": arguments.to_string()}),
        );
        items.push(json!({"type": "function_call_output", "call_id": call_id, "output": output}));
    };
    let user = |text: &str| {
        json!({"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]})
    };
    let answer = |text: &str| {
        json!({"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": text}]})
    };

    items.push(user(
        "Create count.py, a script that prints the numbers from 1 to 3. Run python3 count.py \
         and tell me what it printed.",
    ));
    call(
        &mut items,
        "write_file",
        json!({"path": "count.py", "content": "for n in range(1, 4):\n    print(n)\n"}),
        &written("count.py"),
    );
    call(
        &mut items,
        "shell",
        json!({"command": "python3 count.py"}),
        &ran(0, "1\n2\n3\n"),
    );
    // The answers quote what the last run printed: a model that copies their shape has to
    // have run something to fill it in.
    items.push(answer(
        "count.py is written. python3 count.py printed:\n1\n2\n3",
    ));

    items.push(user(
        "The test in test_calc.py fails (run: python3 -m unittest -q). Fix double(x) in calc.py.",
    ));
    call(
        &mut items,
        "shell",
        json!({"command": "cat calc.py"}),
        &ran(0, "def double(x):\n    return x + 2\n"),
    );
    call(
        &mut items,
        "write_file",
        json!({"path": "calc.py", "content": "def double(x):\n    return x * 2\n"}),
        &written("calc.py"),
    );
    call(
        &mut items,
        "shell",
        json!({"command": "python3 -m unittest -q"}),
        &ran(
            0,
            "----------------------------------------------------------------------\n\
             Ran 1 test in 0.000s\n\nOK\n",
        ),
    );
    items.push(answer(
        "double(x) in calc.py added 2 instead of doubling; it now returns x * 2. \
         python3 -m unittest -q printed: Ran 1 test, OK.",
    ));
    items
}

/// A function tool with these string arguments (and no others required).
fn has_tool(tools: &[ToolDecl], name: &str, args: &[&str]) -> bool {
    tools.iter().any(|t| {
        let props = t.parameters.get("properties");
        t.name == name
            && !t.custom
            && args.iter().all(|a| props.and_then(|p| p.get(*a)).is_some())
            && t.parameters
                .get("required")
                .and_then(Value::as_array)
                .is_none_or(|req| {
                    req.iter()
                        .all(|r| r.as_str().is_some_and(|r| args.contains(&r)))
                })
    })
}

/// What the shell tool returns for a command that exited with `code` after printing `output`.
fn ran(code: i32, output: &str) -> String {
    format!("Exit code: {code}\nWall time: 0.1 seconds\nOutput:\n{output}")
}

/// What write_file (an apply_patch Add) returns.
fn written(path: &str) -> String {
    format!("Success. Updated the following files:\nA {path}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::tool_decls;

    fn decls(tools: Value) -> Vec<ToolDecl> {
        tool_decls(tools.as_array().cloned().unwrap_or_default().as_slice())
    }

    fn small_tools() -> Value {
        json!([
            {"type": "function", "name": "shell", "parameters": {"type": "object",
                "properties": {"command": {"type": "string"}}, "required": ["command"]}},
            {"type": "function", "name": "write_file", "parameters": {"type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                "required": ["path", "content"]}}
        ])
    }

    #[test]
    fn examples_only_for_the_small_model_tools() {
        let examples = worked_examples(&decls(small_tools()));
        assert!(!examples.is_empty());
        // Every call is answered, and every call names a declared tool with JSON arguments.
        let calls: Vec<&Value> = examples
            .iter()
            .filter(|i| i["type"] == "function_call")
            .collect();
        let outputs = examples
            .iter()
            .filter(|i| i["type"] == "function_call_output")
            .count();
        assert_eq!(calls.len(), outputs);
        for c in calls {
            assert!(matches!(c["name"].as_str(), Some("shell" | "write_file")));
            let args: Value = serde_json::from_str(c["arguments"].as_str().unwrap()).unwrap();
            assert!(args.is_object());
        }

        // Codex's shell (an array `command`, more required arguments) or a missing write_file:
        // no examples, whose calls the model could not make.
        let codex_shell = json!([
            {"type": "function", "name": "shell", "parameters": {"type": "object",
                "properties": {"command": {"type": "array"}, "workdir": {"type": "string"}},
                "required": ["command", "workdir"]}},
            small_tools()[1].clone()
        ]);
        assert!(worked_examples(&decls(codex_shell)).is_empty());
        assert!(worked_examples(&decls(json!([small_tools()[0].clone()]))).is_empty());
        assert!(worked_examples(&[]).is_empty());
    }
}
