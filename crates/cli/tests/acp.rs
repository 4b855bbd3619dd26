//! `wright acp` end to end: the official ACP TypeScript SDK drives the built binary
//! (`tests/acp/`, a `node --test` suite), plus what a broken editor may send.
//!
//! Without node/npm the suite is skipped with a note, except under CI (`CI` set), where a
//! missing tool fails the test: CI must run it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `tool` runs; outside CI a missing tool skips the suite (after saying so).
fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let why =
            format!("{tool} is not on PATH: the ACP SDK suite (tests/acp) needs node and npm");
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
    }
    found
}

/// The mock model binary beside `wright`, built when absent (it is a separate package).
fn mock_model_bin() -> PathBuf {
    let wright = PathBuf::from(env!("CARGO_BIN_EXE_wright"));
    let mock = wright.with_file_name("wright-mock-model");
    if !mock.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "wright-mock-model"])
            .current_dir(repo_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p wright-mock-model failed");
    }
    mock
}

#[test]
fn the_official_acp_sdk_drives_wright_acp() {
    if !(have("node") && have("npm")) {
        return;
    }
    let output = Command::new("bash")
        .arg(repo_root().join("tests/acp/run.sh"))
        .env("WRIGHT_BIN", env!("CARGO_BIN_EXE_wright"))
        .env("WRIGHT_MOCK_BIN", mock_model_bin())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "tests/acp/run.sh failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // node --test exits 0 when it ran nothing: make sure the suite ran and passed.
    assert!(stdout.contains("# pass 8"), "{stdout}");
    assert!(stdout.contains("# fail 0"), "{stdout}");
}

#[test]
fn garbage_gets_a_json_rpc_error_and_the_agent_keeps_serving() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"http://127.0.0.1:9/v1\"\nwire_api = \"responses\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wright"))
        .arg("acp")
        .env("WRIGHT_HOME", home.path())
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next =
        || -> serde_json::Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };
    let send = |stdin: &mut std::process::ChildStdin, line: &str| {
        writeln!(stdin, "{line}").unwrap();
    };

    send(&mut stdin, "this is not json");
    assert_eq!(next()["error"]["code"], -32700);
    send(
        &mut stdin,
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}"#,
    );
    let init = next();
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["protocolVersion"], 1);
    send(
        &mut stdin,
        r#"{"jsonrpc":"2.0","id":2,"method":"no/such/method","params":{}}"#,
    );
    assert_eq!(next()["error"]["code"], -32601);
    send(
        &mut stdin,
        r#"{"jsonrpc":"2.0","id":3,"method":"session/new","params":{"cwd":42}}"#,
    );
    assert_eq!(next()["error"]["code"], -32602);
    send(
        &mut stdin,
        r#"{"jsonrpc":"2.0","id":4,"method":"session/prompt","params":{"sessionId":"nope","prompt":[]}}"#,
    );
    let unknown = next();
    assert_eq!(unknown["id"], 4);
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no session"),
        "{unknown}"
    );
    drop(stdin);
    // The editor hung up: the agent exits cleanly.
    assert!(child.wait().unwrap().success());
}
