//! `wright mcp add|list|get|remove` through the real binary, on a temp `WRIGHT_HOME` whose
//! config.toml has comments: they and every unrelated key must survive byte for byte, and a
//! refused command must leave the file untouched.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const WRIGHT: &str = env!("CARGO_BIN_EXE_wright");

const ORIGINAL: &str = "\
# My wright config.
model = \"gpt-5.5\"   # the model I like

# Fast profile, keep as is.
[profiles.fast]
model_reasoning_effort = \"low\" # low!
";

fn wright(home: &Path, args: &[&str]) -> Output {
    Command::new(WRIGHT)
        .args(args)
        .env("WRIGHT_HOME", home)
        .env("HOME", home)
        .env_remove("RUST_LOG")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = wright(home, args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(home: &Path, args: &[&str]) -> String {
    let before = std::fs::read(home.join("config.toml")).unwrap();
    let out = wright(home, args);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    assert_eq!(
        std::fs::read(home.join("config.toml")).unwrap(),
        before,
        "{args:?} must not touch the file"
    );
    String::from_utf8(out.stderr).unwrap()
}

fn config(home: &Path) -> String {
    std::fs::read_to_string(home.join("config.toml")).unwrap()
}

#[test]
fn add_list_get_remove_keep_the_rest_of_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    std::fs::write(home.join("config.toml"), ORIGINAL).unwrap();

    assert_eq!(
        ok(home, &["mcp", "list"]),
        "No MCP servers configured yet. Try `wright mcp add my-tool -- my-command`.\n"
    );
    assert_eq!(ok(home, &["mcp", "list", "--json"]), "[]\n");

    assert_eq!(
        ok(
            home,
            &[
                "mcp", "add", "echo", "--env", "A=1", "--env", "B=x=y", "--", "python3", "srv.py",
                "--flag",
            ]
        ),
        "Added global MCP server 'echo'.\n"
    );
    assert_eq!(
        ok(
            home,
            &[
                "mcp",
                "add",
                "remote",
                "--url",
                "http://127.0.0.1:9/mcp",
                "--bearer-token-env-var",
                "REMOTE_TOKEN",
            ]
        ),
        "Added global MCP server 'remote'.\n"
    );

    // The file as the user wrote it is still there, untouched, ahead of the new tables.
    assert_eq!(
        config(home),
        format!(
            "{ORIGINAL}
[mcp_servers.echo]
args = [\"srv.py\", \"--flag\"]
command = \"python3\"

[mcp_servers.echo.env]
A = \"1\"
B = \"x=y\"

[mcp_servers.remote]
bearer_token_env_var = \"REMOTE_TOKEN\"
url = \"http://127.0.0.1:9/mcp\"
"
        )
    );

    assert_eq!(
        ok(home, &["mcp", "list"]),
        "\
Name  Command  Args           Env         Status \n\
echo  python3  srv.py --flag  A=1, B=x=y  enabled\n\
\n\
Name    Url                     Bearer Token Env Var  Status \n\
remote  http://127.0.0.1:9/mcp  REMOTE_TOKEN          enabled\n"
    );
    let echo_json = json!({
        "name": "echo",
        "enabled": true,
        "transport": {
            "type": "stdio",
            "command": "python3",
            "args": ["srv.py", "--flag"],
            "env": { "A": "1", "B": "x=y" },
            "cwd": null,
        },
        "startup_timeout_sec": null,
        "tool_timeout_sec": null,
        "enabled_tools": null,
        "disabled_tools": null,
    });
    let remote_json = json!({
        "name": "remote",
        "enabled": true,
        "transport": {
            "type": "streamable_http",
            "url": "http://127.0.0.1:9/mcp",
            "bearer_token_env_var": "REMOTE_TOKEN",
            "http_headers": null,
        },
        "startup_timeout_sec": null,
        "tool_timeout_sec": null,
        "enabled_tools": null,
        "disabled_tools": null,
    });
    let listed: Value = serde_json::from_str(&ok(home, &["mcp", "list", "--json"])).unwrap();
    assert_eq!(listed, json!([echo_json, remote_json]));

    assert_eq!(
        ok(home, &["mcp", "get", "echo"]),
        "\
echo
  enabled: true
  transport: stdio
  command: python3
  args: srv.py --flag
  env: A=1, B=x=y
  remove: wright mcp remove echo
"
    );
    assert_eq!(
        ok(home, &["mcp", "get", "remote"]),
        "\
remote
  enabled: true
  transport: streamable_http
  url: http://127.0.0.1:9/mcp
  bearer_token_env_var: REMOTE_TOKEN
  remove: wright mcp remove remote
"
    );
    let got: Value = serde_json::from_str(&ok(home, &["mcp", "get", "remote", "--json"])).unwrap();
    assert_eq!(got, remote_json);
    let err = fails(home, &["mcp", "get", "nope"]);
    assert!(err.contains("No MCP server named 'nope' found."), "{err}");

    assert_eq!(
        ok(home, &["mcp", "remove", "echo"]),
        "Removed global MCP server 'echo'.\n"
    );
    assert_eq!(
        config(home),
        format!(
            "{ORIGINAL}
[mcp_servers.remote]
bearer_token_env_var = \"REMOTE_TOKEN\"
url = \"http://127.0.0.1:9/mcp\"
"
        )
    );
    assert_eq!(
        ok(home, &["mcp", "remove", "echo"]),
        "No MCP server named 'echo' found.\n"
    );

    // Adding again under the same name replaces the entry.
    ok(home, &["mcp", "add", "remote", "--", "npx", "-y", "server"]);
    assert_eq!(
        config(home),
        format!(
            "{ORIGINAL}
[mcp_servers.remote]
args = [\"-y\", \"server\"]
command = \"npx\"
"
        )
    );
}

#[test]
fn refused_commands_leave_the_file_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    std::fs::write(home.join("config.toml"), ORIGINAL).unwrap();

    let err = fails(home, &["mcp", "add", "bad name", "--", "x"]);
    assert!(
        err.contains("invalid server name 'bad name' (use letters, numbers, '-', '_')"),
        "{err}"
    );
    let err = fails(home, &["mcp", "add", "a.b", "--url", "http://h"]);
    assert!(err.contains("invalid server name 'a.b'"), "{err}");
    let err = fails(home, &["mcp", "remove", "bad/name"]);
    assert!(err.contains("invalid server name 'bad/name'"), "{err}");

    let err = fails(home, &["mcp", "add", "tool"]);
    assert!(
        err.contains("required arguments were not provided"),
        "{err}"
    );
    let err = fails(home, &["mcp", "add", "tool", "--"]);
    assert!(
        err.contains("required arguments were not provided"),
        "{err}"
    );
    let err = fails(
        home,
        &["mcp", "add", "tool", "--url", "http://h", "--", "x"],
    );
    assert!(err.contains("cannot be used with"), "{err}");
    let err = fails(
        home,
        &["mcp", "add", "tool", "--url", "http://h", "--env", "A=1"],
    );
    assert!(err.contains("cannot be used with"), "{err}");
    let err = fails(home, &["mcp", "add", "tool", "--env", "A", "--", "x"]);
    assert!(err.contains("KEY=VALUE"), "{err}");
    let err = fails(
        home,
        &[
            "mcp",
            "add",
            "tool",
            "--bearer-token-env-var",
            "T",
            "--",
            "x",
        ],
    );
    assert!(err.contains("--url"), "{err}");

    assert_eq!(config(home), ORIGINAL);
}

#[test]
fn a_bad_server_entry_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    std::fs::write(
        home.join("config.toml"),
        "[mcp_servers.both]\ncommand = \"x\"\nurl = \"http://h\"\n",
    )
    .unwrap();
    let err = fails(home, &["mcp", "list"]);
    assert!(
        err.contains("`mcp_servers.both`: has both `command` (stdio) and `url`"),
        "{err}"
    );
    // The broken entry can still be removed.
    assert_eq!(
        ok(home, &["mcp", "remove", "both"]),
        "Removed global MCP server 'both'.\n"
    );
    assert_eq!(ok(home, &["mcp", "list", "--json"]), "[]\n");
}
