//! `wright exec` with MCP servers configured: the `mcp_tool_call` items in Codex's shape, a
//! server that cannot start reported without holding up the run, and stdio servers confined
//! by the sandbox (proven against `@modelcontextprotocol/server-filesystem`, with the same
//! write allowed once the server is configured `sandbox = false`).

mod common;

use std::path::{Path, PathBuf};

use common::{call_with_id, Env};
use serde_json::{json, Value};
use wright_mock_model::{Script, Step};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp")
}

fn broken(name: &str, mode: &str, extra: &str) -> String {
    format!(
        "[mcp_servers.{name}]\ncommand = \"python3\"\nargs = [\"{}\", \"{mode}\"]\n{extra}\n",
        fixtures().join("broken_server.py").display()
    )
}

fn filesystem_server() -> Option<PathBuf> {
    let path =
        fixtures().join("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").is_err(),
        "tests/mcp/node_modules is missing: run `npm ci` in tests/mcp"
    );
    eprintln!("skipped: tests/mcp/node_modules is missing");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_prints_mcp_tool_calls_like_codex() {
    // The model waits a moment before calling, so the server has started.
    let env = Env::with_config(
        Script::Steps(vec![
            Step::Delay {
                ms: 1500,
                then: Box::new(Step::calls(vec![call_with_id(
                    "mcp__echo__ok",
                    json!({}),
                    "call_mcp_1",
                )])),
            },
            Step::message("Echoed."),
        ]),
        "responses",
        &format!(
            "{}{}",
            broken("echo", "ok", "default_tools_approval_mode = \"approve\""),
            broken("stuck", "exit-start", "")
        ),
    )
    .await;
    let run = env.json("call the tool").await;
    run.assert_ok();
    let started = run.items("item.started");
    let completed = run.items("item.completed");
    assert_eq!(
        started[0],
        json!({"id": "item_0", "type": "mcp_tool_call", "server": "echo", "tool": "ok",
               "arguments": {}, "result": null, "error": null, "status": "in_progress"})
    );
    assert_eq!(
        completed[0],
        json!({"id": "item_0", "type": "mcp_tool_call", "server": "echo", "tool": "ok",
               "arguments": {}, "result": {"content": [{"type": "text", "text": "fine"}],
               "structured_content": null}, "error": null, "status": "completed"})
    );
    // The server that cannot start is said once on stderr; the run went on.
    assert_eq!(
        run.stderr
            .matches("warning: MCP server `stuck` failed to start")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("exited with code 1"), "{}", run.stderr);
}

/// What the model's `write_file` call came back with, and whether the file exists after.
async fn write_outside(sandbox: bool) -> (String, bool) {
    let Some(server) = filesystem_server() else {
        return (String::new(), !sandbox);
    };
    // Beside the repository, not in it. workspace-write leaves /tmp and $TMPDIR writable
    // unless told otherwise, which the config below does, wherever the checkout is.
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("written-by-mcp.txt");
    let extra = format!(
        "[sandbox_workspace_write]\nexclude_slash_tmp = true\nexclude_tmpdir_env_var = true\n[mcp_servers.fs]\ncommand = \"node\"\nargs = [\"{}\", \"{}\"]\ndefault_tools_approval_mode = \"approve\"\nstartup_timeout_sec = 30\n{}\n",
        server.display(),
        outside.path().display(),
        if sandbox { "" } else { "sandbox = false" }
    );
    let env = Env::with_config(
        Script::Steps(vec![
            Step::Delay {
                ms: 2500,
                then: Box::new(Step::calls(vec![call_with_id(
                    "mcp__fs__write_file",
                    json!({"path": target.display().to_string(), "content": "escaped"}),
                    "call_w",
                )])),
            },
            Step::message("done"),
        ]),
        "responses",
        &extra,
    )
    .await;
    // workspace-write: the repository is writable, the other directory is not.
    let run = env
        .exec(&["--json", "-s", "workspace-write", "write it"])
        .await;
    run.assert_ok();
    let bodies = env.bodies();
    let output = bodies
        .last()
        .and_then(|b| {
            b["input"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["call_id"] == "call_w" && i["type"] == "function_call_output")
                .cloned()
        })
        .map(|o| o["output"].to_string())
        .unwrap_or_default();
    (output, target.exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_servers_run_inside_the_sandbox() {
    if filesystem_server().is_none() {
        return;
    }
    // Unconfined, the server writes outside the workspace: the call works...
    let (output, written) = write_outside(false).await;
    assert!(written, "the unconfined server could not write: {output}");
    // ...confined like a command, the same write is refused by the kernel.
    let (output, written) = write_outside(true).await;
    assert!(
        !written,
        "a confined MCP server wrote outside the workspace"
    );
    let output: Value = serde_json::from_str(&output).unwrap_or(Value::Null);
    let text = output.to_string();
    assert!(
        text.contains("EACCES")
            || text.contains("permission denied")
            || text.contains("EROFS")
            || text.contains("cannot be confined"),
        "{text}"
    );
}

/// What `get-env` of server-everything reports when wright runs with a secret in its
/// environment; `policy` is extra config (the environment policy).
async fn server_env(policy: &str) -> String {
    let Some(fs) = filesystem_server() else {
        return String::new();
    };
    let everything = fs
        .parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.parent())
        .unwrap()
        .join("server-everything/dist/index.js");
    let extra = format!(
        "{policy}\n[mcp_servers.everything]\ncommand = \"node\"\nargs = [\"{}\", \"stdio\"]\ndefault_tools_approval_mode = \"approve\"\nstartup_timeout_sec = 30\nenv = {{ CONFIGURED_FOR_SERVER = \"given\" }}\n",
        everything.display()
    );
    let env = Env::with_config(
        Script::Steps(vec![
            Step::calls(vec![call_with_id(
                "mcp__everything__get-env",
                json!({}),
                "call_env",
            )]),
            Step::message("done"),
        ]),
        "responses",
        &extra,
    )
    .await;
    let out = env
        .command(&["--json", "-s", "workspace-write", "show the environment"])
        .env("WRIGHT_TEST_API_TOKEN", "sk-do-not-leak")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bodies = env.bodies();
    bodies.last().unwrap()["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["call_id"] == "call_env" && i["type"] == "function_call_output")
        .map(|o| o["output"].to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_do_not_reach_mcp_servers() {
    if filesystem_server().is_none() {
        return;
    }
    // With the default filters off, the server sees the secret: the check below is real.
    let open = server_env("[shell_environment_policy]\nignore_default_excludes = true").await;
    assert!(open.contains("sk-do-not-leak"), "{open}");
    let filtered = server_env("").await;
    assert!(filtered.contains("CONFIGURED_FOR_SERVER"), "{filtered}");
    assert!(filtered.contains("PATH"), "{filtered}");
    assert!(
        !filtered.contains("sk-do-not-leak"),
        "a secret reached the server: {filtered}"
    );
}
