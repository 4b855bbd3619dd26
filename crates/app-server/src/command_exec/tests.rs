use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use wright_core::config::CliOverrides;
use wright_protocol::jsonrpc::{INVALID_PARAMS, INVALID_REQUEST};

use std::collections::BTreeMap;

use wright_protocol::v2::SandboxMode as WireSandboxMode;

use super::*;
use crate::{AppServer, Connection, ServerOptions};

// ------------------------------------------------------------------------------------------
// checking the request

fn params(v: Value) -> CommandExecParams {
    serde_json::from_value(v).unwrap()
}

fn ok<T>(r: Result<T, RpcError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{} {}", e.code, e.message),
    }
}

fn refused(v: Value) -> String {
    let Err(err) = Request::parse(params(v)) else {
        panic!("accepted")
    };
    assert_eq!(err.code, INVALID_PARAMS, "{}", err.message);
    err.message
}

#[test]
fn bad_params_are_named() {
    let cases = [
        (json!({"command": []}), "`command`"),
        (json!({"command": ["a\0b"]}), "`command[0]`"),
        (
            json!({"command": ["x"], "timeoutMs": 5, "disableTimeout": true}),
            "both timeoutMs and disableTimeout",
        ),
        (
            json!({"command": ["x"], "timeoutMs": -1}),
            "timeoutMs must be non-negative, got -1",
        ),
        (
            json!({"command": ["x"], "outputBytesCap": 5, "disableOutputCap": true}),
            "both outputBytesCap and disableOutputCap",
        ),
        (
            json!({"command": ["x"], "streamStdoutStderr": true}),
            "requires a client-supplied processId",
        ),
        (
            json!({"command": ["x"], "tty": true}),
            "requires a client-supplied processId",
        ),
        (json!({"command": ["x"], "processId": ""}), "`processId`"),
        (
            json!({"command": ["x"], "processId": "p".repeat(300)}),
            "`processId`",
        ),
        (
            json!({"command": ["x"], "size": {"rows": 2, "cols": 2}}),
            "`size` is only valid with `tty: true`",
        ),
        (
            json!({"command": ["x"], "processId": "p", "tty": true, "size": {"rows": 0, "cols": 2}}),
            "`size.rows`",
        ),
        (json!({"command": ["x"], "env": {"A=B": "1"}}), "`env`"),
        (json!({"command": ["x"], "env": {"A": "x\0y"}}), "`env.A`"),
        (
            json!({"command": ["x"], "permissionProfile": ":read-only"}),
            "`permissionProfile`",
        ),
        (
            json!({"command": ["x"], "permissionProfile": "p", "sandboxPolicy": {"type": "dangerFullAccess"}}),
            "`permissionProfile` cannot be combined with `sandboxPolicy`",
        ),
        (
            json!({"command": ["x"], "sandboxPolicy": {"type": "readOnly", "networkAccess": true}}),
            "`sandboxPolicy.networkAccess`",
        ),
        (
            json!({"command": ["x"], "sandboxPolicy": {"type": "workspaceWrite", "writableRoots": ["/ok", "rel"]}}),
            "`sandboxPolicy.writableRoots[1]`",
        ),
        (
            json!({"command": ["x"], "sandboxPolicy": {"type": "externalSandbox"}}),
            "externalSandbox is not supported",
        ),
    ];
    for (value, expected) in cases {
        let message = refused(value.clone());
        assert!(message.contains(expected), "{value}: {message}");
    }
}

#[test]
fn defaults_are_codex_s() {
    let r = ok(Request::parse(params(json!({"command": ["true"]}))));
    assert_eq!(r.cap, Some(1024 * 1024));
    assert_eq!(r.timeout, Some(Duration::from_secs(10)));
    assert!(!r.tty && !r.stream_stdin && !r.stream_output);
    let r = ok(Request::parse(params(json!({
        "command": ["true"], "processId": "t", "tty": true,
        "disableTimeout": true, "disableOutputCap": true,
    }))));
    assert_eq!((r.cap, r.timeout), (None, None));
    assert!(r.stream_stdin && r.stream_output);
    assert_eq!(r.size, (24, 80));
}

#[test]
fn sandbox_policy_becomes_config() {
    let r = ok(Request::parse(params(json!({
        "command": ["true"],
        "cwd": "/w",
        "sandboxPolicy": {"type": "workspaceWrite", "writableRoots": ["/extra"], "networkAccess": true, "excludeSlashTmp": true},
    }))));
    assert_eq!(r.scope.cwd.as_deref(), Some("/w"));
    assert_eq!(r.scope.sandbox, Some(WireSandboxMode::WorkspaceWrite));
    let config = r.scope.config.clone().unwrap();
    assert_eq!(
        config["sandbox_workspace_write.writable_roots"],
        json!(["/extra"])
    );
    assert_eq!(config["sandbox_workspace_write.network_access"], true);
    assert_eq!(config["sandbox_workspace_write.exclude_slash_tmp"], true);
    assert_eq!(
        config["sandbox_workspace_write.exclude_tmpdir_env_var"],
        false
    );
    for (policy, mode) in [
        (json!({"type": "readOnly"}), WireSandboxMode::ReadOnly),
        (
            json!({"type": "dangerFullAccess"}),
            WireSandboxMode::DangerFullAccess,
        ),
    ] {
        let r = ok(Request::parse(params(
            json!({"command": ["true"], "sandboxPolicy": policy}),
        )));
        assert_eq!(r.scope.sandbox, Some(mode));
    }
    let r = ok(Request::parse(params(json!({"command": ["true"]}))));
    assert_eq!((r.scope.sandbox, r.scope.config), (None, None));
}

#[test]
fn env_changes_set_and_unset_over_the_policy() {
    let base = vec![
        ("KEEP".to_string(), "1".to_string()),
        ("GONE".to_string(), "2".to_string()),
        ("OVER".to_string(), "3".to_string()),
    ];
    let changes = BTreeMap::from([
        ("GONE".to_string(), None),
        ("OVER".to_string(), Some("x".to_string())),
        ("NEW".to_string(), Some("y".to_string())),
        ("ABSENT".to_string(), None),
    ]);
    let env = merge_env(base, &changes);
    assert_eq!(
        env,
        vec![
            ("KEEP".to_string(), "1".to_string()),
            ("NEW".to_string(), "y".to_string()),
            ("OVER".to_string(), "x".to_string()),
        ]
    );
}

#[test]
fn stdin_refuses_after_close_and_beyond_its_budget() {
    let (h, mut rx) = StdinHandle::new();
    ok(h.write(b"ab".to_vec(), false));
    assert!(matches!(rx.try_recv(), Ok(StdinMsg::Data(d)) if d == b"ab"));
    let Err(err) = h.write(vec![0; MAX_PENDING_STDIN], false) else {
        panic!("accepted")
    };
    assert!(err.message.contains("stdin is full"), "{}", err.message);
    ok(h.write(Vec::new(), true));
    assert!(matches!(rx.try_recv(), Ok(StdinMsg::Close)));
    let Err(err) = h.write(b"x".to_vec(), false) else {
        panic!("accepted")
    };
    assert_eq!(err.code, INVALID_REQUEST);
    assert!(err.message.contains("already closed"));
}

// ------------------------------------------------------------------------------------------
// through a real (in-process) connection, unconfined

struct Client {
    conn: Connection,
    seen: Vec<Value>,
    next_id: i64,
}

fn server(home: &Path) -> AppServer {
    AppServer::new(ServerOptions {
        overrides: CliOverrides {
            config: vec!["approval_policy=\"never\"".into()],
            cwd: Some(home.to_path_buf()),
            ..Default::default()
        },
        wright_home: home.to_path_buf(),
        ephemeral: true,
        source: "test".into(),
        thread_retention_days: None,
        max_threads: 10,
    })
}

impl Client {
    async fn new(server: &AppServer) -> Client {
        let mut c = Client {
            conn: server.connect(),
            seen: Vec::new(),
            next_id: 1,
        };
        let id = c.send(
            "initialize",
            json!({"clientInfo": {"name": "t", "version": "1"}}),
        );
        c.response(id).await;
        c
    }

    fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"id": id, "method": method, "params": params}).to_string();
        self.conn.incoming.try_send(line).unwrap();
        id
    }

    /// Full access, so these tests need no sandbox launcher.
    fn exec(&mut self, mut params: Value) -> i64 {
        params["sandboxPolicy"] = json!({"type": "dangerFullAccess"});
        self.send("command/exec", params)
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.conn.outgoing.recv())
            .await
            .expect("no message within 20 s")
            .expect("connection closed");
        let v: Value = serde_json::from_str(&line).unwrap();
        self.seen.push(v.clone());
        v
    }

    async fn response(&mut self, id: i64) -> Value {
        if let Some(v) = self.seen.iter().find(|m| is_reply(m, id)) {
            return v.clone();
        }
        loop {
            let v = self.next().await;
            if is_reply(&v, id) {
                return v;
            }
        }
    }

    async fn result(&mut self, id: i64) -> Value {
        let v = self.response(id).await;
        v.get("result").cloned().unwrap_or_else(|| panic!("{v}"))
    }

    async fn error(&mut self, id: i64) -> (i64, String) {
        let v = self.response(id).await;
        let e = v
            .get("error")
            .unwrap_or_else(|| panic!("expected an error: {v}"));
        (
            e["code"].as_i64().unwrap(),
            e["message"].as_str().unwrap().to_string(),
        )
    }

    /// The streamed output of `pid` so far: (stdout, stderr, whether a cap was reached).
    fn streamed(&self, pid: &str) -> (String, String, bool) {
        let (mut out, mut err, mut capped) = (Vec::new(), Vec::new(), false);
        for m in self.deltas(pid) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(m["deltaBase64"].as_str().unwrap())
                .unwrap();
            capped |= m["capReached"] == true;
            match m["stream"].as_str() {
                Some("stdout") => out.extend(bytes),
                _ => err.extend(bytes),
            }
        }
        let text = |b: Vec<u8>| String::from_utf8_lossy(&b).replace('\r', "");
        (text(out), text(err), capped)
    }

    fn deltas(&self, pid: &str) -> Vec<&Value> {
        self.seen
            .iter()
            .filter(|m| {
                m["method"] == "command/exec/outputDelta" && m["params"]["processId"] == pid
            })
            .map(|m| &m["params"])
            .collect()
    }

    async fn wait_for_output(&mut self, pid: &str, needle: &str) {
        while !self.streamed(pid).0.contains(needle) {
            self.next().await;
        }
    }
}

fn is_reply(m: &Value, id: i64) -> bool {
    m["id"] == id && m.get("method").is_none()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn sh(script: &str) -> Value {
    json!(["/bin/sh", "-c", script])
}

#[tokio::test]
async fn buffered_output_exit_code_and_cap() {
    let home = tempfile::tempdir().unwrap();
    let server = server(home.path());
    let mut c = Client::new(&server).await;
    // Any timeout is fine, however far.
    let id = c.exec(json!({
        "command": sh("printf out; printf err >&2; exit 3"),
        "timeoutMs": i64::MAX,
    }));
    assert_eq!(
        c.result(id).await,
        json!({"exitCode": 3, "stdout": "out", "stderr": "err"})
    );
    let id = c.exec(json!({
        "command": sh("printf abcdef; printf uvwxyz >&2"),
        "outputBytesCap": 5,
    }));
    assert_eq!(
        c.result(id).await,
        json!({"exitCode": 0, "stdout": "abcde", "stderr": "uvwxy"})
    );
    // The cap is the default 1 MiB unless disabled; past it the command is not blocked.
    let id = c.exec(json!({"command": sh("head -c 1100000 /dev/zero | tr '\\0' a")}));
    let r = c.result(id).await;
    assert_eq!(r["exitCode"], 0);
    assert_eq!(r["stdout"].as_str().unwrap().len(), 1024 * 1024);
    let id = c.exec(json!({
        "command": sh("head -c 1100000 /dev/zero | tr '\\0' a"),
        "disableOutputCap": true,
    }));
    assert_eq!(
        c.result(id).await["stdout"].as_str().unwrap().len(),
        1_100_000
    );
}

#[tokio::test]
async fn streamed_output_comes_before_the_response_and_respects_the_cap() {
    let home = tempfile::tempdir().unwrap();
    let server = server(home.path());
    let mut c = Client::new(&server).await;
    let id = c.exec(json!({
        "command": sh("printf one; sleep 0.1; printf two >&2; sleep 0.1; printf three"),
        "processId": "s1",
        "streamStdoutStderr": true,
    }));
    let r = c.result(id).await;
    // Streamed output is not repeated in the response, and all of it came first.
    assert_eq!(r, json!({"exitCode": 0, "stdout": "", "stderr": ""}));
    assert_eq!(
        c.streamed("s1"),
        ("onethree".to_string(), "two".to_string(), false)
    );
    let id = c.exec(json!({
        "command": sh("printf abcdefghij; sleep 0.2; printf more"),
        "processId": "s2",
        "streamStdoutStderr": true,
        "outputBytesCap": 5,
    }));
    c.result(id).await;
    assert_eq!(c.streamed("s2"), ("abcde".to_string(), String::new(), true));
    let last = c.deltas("s2").last().cloned().cloned().unwrap();
    assert_eq!(
        last["capReached"], true,
        "the cap is flagged on the last chunk"
    );
}

#[tokio::test]
async fn timeout_kills_backgrounded_grandchildren() {
    let home = tempfile::tempdir().unwrap();
    let server = server(home.path());
    let mut c = Client::new(&server).await;
    let killed = home.path().join("killed");
    let lived = home.path().join("lived");
    // Control: the same grandchild, given the time to act before the timeout, does.
    let id = c.exec(json!({
        "command": sh(&format!("(sleep 0.3; touch {}) & sleep 30", lived.display())),
        "timeoutMs": 1200,
    }));
    assert_eq!(c.result(id).await["exitCode"], TIMEOUT_EXIT_CODE);
    assert!(
        lived.exists(),
        "the backgrounded grandchild runs on its own"
    );
    let t = Instant::now();
    let id = c.exec(json!({
        "command": sh(&format!("(sleep 1; touch {}) & sleep 30", killed.display())),
        "timeoutMs": 200,
    }));
    assert_eq!(c.result(id).await["exitCode"], TIMEOUT_EXIT_CODE);
    assert!(t.elapsed() < Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !killed.exists(),
        "a backgrounded grandchild outlived the timeout"
    );
}

#[tokio::test]
async fn stdin_write_and_close() {
    let home = tempfile::tempdir().unwrap();
    let server = server(home.path());
    let mut c = Client::new(&server).await;
    let id = c.exec(json!({"command": ["cat"], "processId": "cat", "streamStdin": true}));
    let w = c.send(
        "command/exec/write",
        json!({"processId": "cat", "deltaBase64": b64("hello ")}),
    );
    assert_eq!(c.result(w).await, json!({}));
    let w = c.send(
        "command/exec/write",
        json!({"processId": "cat", "deltaBase64": b64("world\n"), "closeStdin": true}),
    );
    assert_eq!(c.result(w).await, json!({}));
    assert_eq!(
        c.result(id).await,
        json!({"exitCode": 0, "stdout": "hello world\n", "stderr": ""})
    );
    // Without streamStdin there is nothing to write to.
    let id = c.exec(json!({"command": sh("sleep 5"), "processId": "nostdin"}));
    let w = c.send(
        "command/exec/write",
        json!({"processId": "nostdin", "deltaBase64": b64("x")}),
    );
    let (code, message) = c.error(w).await;
    assert_eq!(code, INVALID_REQUEST);
    assert!(
        message.contains("stdin streaming is not enabled"),
        "{message}"
    );
    let w = c.send("command/exec/write", json!({"processId": "nostdin"}));
    assert_eq!(c.error(w).await.0, INVALID_PARAMS);
    let w = c.send(
        "command/exec/write",
        json!({"processId": "nostdin", "deltaBase64": "***"}),
    );
    let (code, message) = c.error(w).await;
    assert_eq!(code, INVALID_PARAMS);
    assert!(message.contains("`deltaBase64`"), "{message}");
    let t = c.send("command/exec/terminate", json!({"processId": "nostdin"}));
    c.result(t).await;
    assert_eq!(c.result(id).await["exitCode"], 128 + libc::SIGKILL);
}

#[tokio::test]
async fn tty_echo_size_and_resize() {
    let home = tempfile::tempdir().unwrap();
    let server = server(home.path());
    let mut c = Client::new(&server).await;
    let id = c.exec(json!({
        "command": sh("stty size; [ -t 0 ] && echo is-a-tty; read line; echo got:$line; stty size"),
        "processId": "tty",
        "tty": true,
        "size": {"rows": 31, "cols": 101},
    }));
    c.wait_for_output("tty", "is-a-tty").await;
    assert!(
        c.streamed("tty").0.starts_with("31 101\n"),
        "{:?}",
        c.streamed("tty")
    );
    let r = c.send(
        "command/exec/resize",
        json!({"processId": "tty", "size": {"rows": 45, "cols": 132}}),
    );
    assert_eq!(c.result(r).await, json!({}));
    let w = c.send(
        "command/exec/write",
        json!({"processId": "tty", "deltaBase64": b64("hi\n")}),
    );
    c.result(w).await;
    let done = c.result(id).await;
    assert_eq!(done, json!({"exitCode": 0, "stdout": "", "stderr": ""}));
    let (out, err, _) = c.streamed("tty");
    // The terminal echoes what was typed, then the command's output (all on stdout).
    assert!(out.contains("hi\ngot:hi\n45 132\n"), "{out:?}");
    assert_eq!(err, "");
    // Resizing needs a terminal, and a size of at least 1 × 1.
    let id = c.exec(json!({"command": sh("sleep 5"), "processId": "plain"}));
    let r = c.send(
        "command/exec/resize",
        json!({"processId": "plain", "size": {"rows": 10, "cols": 10}}),
    );
    let (code, message) = c.error(r).await;
    assert_eq!(code, INVALID_REQUEST);
    assert!(message.contains("no terminal"), "{message}");
    let r = c.send(
        "command/exec/resize",
        json!({"processId": "plain", "size": {"rows": 0, "cols": 10}}),
    );
    assert_eq!(c.error(r).await.0, INVALID_PARAMS);
    let t = c.send("command/exec/terminate", json!({"processId": "plain"}));
    c.result(t).await;
    assert_ne!(c.result(id).await["exitCode"], 0);
}

#[tokio::test]
async fn process_ids_are_per_connection_and_die_with_it() {
    let home = tempfile::tempdir().unwrap();
    let server = server(home.path());
    let mut a = Client::new(&server).await;
    let mut b = Client::new(&server).await;
    let marker: PathBuf = home.path().join("outlived");
    let id = a.exec(json!({
        "command": sh(&format!("echo ready; sleep 1; touch {}", marker.display())),
        "processId": "shared",
        "streamStdoutStderr": true,
        "disableTimeout": true,
    }));
    a.wait_for_output("shared", "ready").await;
    // The same id on the same connection is refused while it runs...
    let dup = a.exec(json!({"command": sh("true"), "processId": "shared"}));
    let (code, message) = a.error(dup).await;
    assert_eq!(code, INVALID_REQUEST);
    assert_eq!(
        message,
        "duplicate active command/exec process id: \"shared\""
    );
    // ...but another connection has its own ids, and cannot reach this one.
    let other = b.exec(json!({"command": sh("printf mine"), "processId": "shared"}));
    assert_eq!(b.result(other).await["stdout"], "mine");
    let t = b.send("command/exec/terminate", json!({"processId": "shared"}));
    assert_eq!(
        b.error(t).await.1,
        "no active command/exec for process id \"shared\""
    );
    assert!(
        b.deltas("shared").is_empty(),
        "output went to another connection"
    );
    // The first connection goes away: its command goes with it.
    drop(a);
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert!(!marker.exists(), "the command outlived its connection");
    let _ = id;
    // Once finished, an id can be used again.
    let again = b.exec(json!({"command": sh("printf again"), "processId": "shared"}));
    assert_eq!(b.result(again).await["stdout"], "again");
}
