//! `wright app-server` odds and ends driven through the binary (the protocol suite itself is
//! in `tests/appserver/`, a Python client).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn generates_json_schema_and_typescript() {
    let out = tempfile::tempdir().unwrap();
    for (sub, file) in [
        (
            "generate-json-schema",
            "wright_app_server_protocol.schemas.json",
        ),
        ("generate-ts", "wright_app_server_protocol.ts"),
    ] {
        let status = Command::new(env!("CARGO_BIN_EXE_wright"))
            .args(["app-server", sub, "--out"])
            .arg(out.path())
            .status()
            .unwrap();
        assert!(status.success(), "{sub}");
        let text = std::fs::read_to_string(out.path().join(file)).unwrap();
        for name in ["ThreadStartResponse", "TurnStartParams", "ThreadItem"] {
            assert!(text.contains(name), "{file} lacks {name}");
        }
    }
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("wright_app_server_protocol.schemas.json"))
            .unwrap(),
    )
    .unwrap();
    assert!(schema.is_object());
    // Codex's `--experimental` is accepted.
    for sub in ["generate-json-schema", "generate-ts"] {
        let status = Command::new(env!("CARGO_BIN_EXE_wright"))
            .args(["app-server", sub, "--experimental", "--out"])
            .arg(out.path())
            .status()
            .unwrap();
        assert!(status.success(), "{sub} --experimental");
    }
}

/// The web UI's protocol types are the generator's output, never edited by hand: a change to
/// the protocol must regenerate them (`npm run gen` in web/).
#[test]
fn the_web_uis_types_are_generated_from_this_protocol() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_wright"))
        .args(["app-server", "generate-ts", "--out"])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let generated =
        std::fs::read_to_string(out.path().join("wright_app_server_protocol.ts")).unwrap();
    let committed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/src/generated/wright_app_server_protocol.ts"
    );
    let committed = std::fs::read_to_string(committed).unwrap();
    assert!(
        generated == committed,
        "web/src/generated/wright_app_server_protocol.ts is stale: run `npm run gen` in web/"
    );
}

#[test]
fn stdio_answers_garbage_and_keeps_serving() {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wright"))
        .arg("app-server")
        .env("WRIGHT_HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next =
        || -> serde_json::Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };
    writeln!(stdin, "{{\"id\":1,\"method\":\"model/list\"}}").unwrap();
    assert_eq!(next()["error"]["message"], "Not initialized");
    writeln!(stdin, "this is not json").unwrap();
    assert_eq!(next()["error"]["code"], -32700);
    writeln!(stdin, "{{\"id\":2,\"method\":\"initialize\",\"params\":{{\"clientInfo\":{{\"name\":\"t\",\"version\":\"1\"}}}}}}").unwrap();
    let ua = next()["result"]["userAgent"].as_str().unwrap().to_string();
    // Clients gate features on the Codex version right after the first slash.
    assert!(ua.contains("/0.169.0 (") && ua.contains(" wright/"), "{ua}");
    writeln!(stdin, "{{\"id\":3,\"method\":\"no/such\"}}").unwrap();
    assert_eq!(next()["error"]["code"], -32601);
    writeln!(
        stdin,
        "{{\"id\":4,\"method\":\"thread/read\",\"params\":{{\"threadId\":7}}}}"
    )
    .unwrap();
    let bad = next();
    assert_eq!(bad["error"]["code"], -32602);
    assert!(bad["error"]["message"]
        .as_str()
        .unwrap()
        .contains("threadId"));
    writeln!(stdin, "{{\"id\":5,\"method\":\"model/list\"}}").unwrap();
    assert!(next()["result"]["data"].is_array());
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// `--listen unix://PATH`: WebSocket frames over a private Unix socket (Codex's control
/// socket); a second server on the same live socket is refused.
#[tokio::test]
async fn unix_control_socket() {
    use futures_util::{SinkExt, StreamExt};
    use std::os::unix::fs::PermissionsExt;
    use tokio::io::AsyncBufReadExt;
    use tokio_tungstenite::tungstenite::{protocol::Role, Message};

    let home = tempfile::tempdir().unwrap();
    let sock = home.path().join("ctl").join("app.sock");
    let listen = format!("unix://{}", sock.display());
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"))
        .args(["app-server", "--listen", &listen])
        .env("WRIGHT_HOME", home.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let banner = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("wright app-server listening on ") {
                return line;
            }
        }
        String::new()
    })
    .await
    .unwrap();
    assert_eq!(banner, format!("wright app-server listening on {listen}"));
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(sock.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);

    let stream = tokio::net::UnixStream::connect(&sock).await.unwrap();
    let mut ws =
        tokio_tungstenite::WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
    ws.send(Message::text(
        r#"{"id":1,"method":"initialize","params":{"clientInfo":{"name":"t","version":"1"}}}"#,
    ))
    .await
    .unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let reply: serde_json::Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    assert_eq!(reply["id"], 1);
    assert!(reply["result"]["userAgent"].is_string(), "{reply}");

    // The socket is live: a second server refuses to take it over.
    let second = Command::new(env!("CARGO_BIN_EXE_wright"))
        .args(["app-server", "--listen", &listen])
        .env("WRIGHT_HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("another app-server is listening"));
}

/// The outer pid of `parent`'s first child (the program `unshare --fork` runs).
fn child_of(parent: u32) -> Option<i32> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// As a container's PID 1 (a PID namespace's init), the kernel drops every signal the
/// process has no handler for: `docker stop` would wait its 10 s and kill. The App Server
/// handles SIGTERM and SIGINT, and stops at once.
#[test]
fn as_pid_1_sigterm_stops_the_server() {
    let probe = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "unshare --pid is needed for the PID 1 test (CI=true)"
        );
        eprintln!("note: cannot make a PID namespace here; skipping");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let sock = home.path().join("ctl.sock");
    let mut outer = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_wright"))
        .args(["app-server", "--listen"])
        .arg(format!("unix://{}", sock.display()))
        .env("WRIGHT_HOME", home.path())
        .env("HOME", home.path())
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !sock.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the server never listened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let init = child_of(outer.id()).expect("the server process in the namespace");
    // SAFETY: signalling the process we started (through unshare).
    unsafe { libc::kill(init, libc::SIGTERM) };
    let stopped = std::time::Instant::now();
    loop {
        if let Some(status) = outer.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        if stopped.elapsed() > std::time::Duration::from_secs(3) {
            let _ = outer.kill();
            // SAFETY: as above.
            unsafe { libc::kill(init, libc::SIGKILL) };
            panic!("PID 1 ignored SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
