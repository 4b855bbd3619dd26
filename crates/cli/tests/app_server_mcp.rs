//! The App Server's MCP methods, driven through the real `wright app-server` over stdio with
//! real MCP servers (`tests/mcp/broken_server.py`, stdlib Python): server status and its
//! notifications, client tool calls, a server that crashes mid-call and is restarted, config
//! reload, and the approval of a model's MCP tool call.

#[path = "../../mcp/tests/support/oauth_server.rs"]
mod oauth_server;

#[path = "common/app_server.rs"]
mod app_server;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app_server::{AppServer, WAIT};
use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, Step};

fn broken_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp/broken_server.py")
}

/// Whether python3 runs here. Missing, the tests are skipped with a note, except under CI where
/// a missing tool is a failure.
fn python3_available() -> bool {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 is required for the MCP tests (CI=true)"
        );
        eprintln!("note: python3 not found; skipping the App Server MCP tests");
    }
    ok
}

/// A `[mcp_servers.NAME]` table running `broken_server.py MODE`.
fn server_table(name: &str, mode: &str, extra: &str) -> String {
    format!(
        "[mcp_servers.{name}]\ncommand = \"python3\"\nargs = [{:?}, {mode:?}]\n{extra}\n",
        broken_server().display().to_string()
    )
}

struct Setup {
    repo: tempfile::TempDir,
    home: tempfile::TempDir,
    mock: MockModel,
}

impl Setup {
    async fn new(steps: Vec<Step>, mcp: &str) -> Setup {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir(repo.path().join(".git")).unwrap();
        let home = tempfile::tempdir().unwrap();
        let mock = MockModel::start(Script::Steps(steps)).await.unwrap();
        let setup = Setup { repo, home, mock };
        setup.write_config("", mcp);
        setup
    }

    /// config.toml: `top` (top-level keys), the mock provider, then `mcp` (server tables).
    fn write_config(&self, top: &str, mcp: &str) {
        let config = format!(
            "{top}\nmodel_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\nwire_api = \"responses\"\n\n{mcp}",
            self.mock.base_url()
        );
        std::fs::write(self.home.path().join("config.toml"), config).unwrap();
    }

    async fn server(&self) -> AppServer {
        AppServer::start(self.home.path(), self.repo.path()).await
    }
}

/// `wright app-server` on stdio, with what it sent and nobody has looked at yet.
/// `mcpServerStatus/list` until `done` holds for the server `name` (servers restart and
/// start in the background).
async fn status_until(server: &mut AppServer, name: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let list = server
            .result("mcpServerStatus/list", json!({"serverName": name}))
            .await;
        if let Some(status) = list["data"].as_array().and_then(|d| d.first()) {
            if done(status) {
                return status.clone();
            }
            assert!(
                Instant::now() < deadline,
                "server {name} never got there: {status}"
            );
        } else {
            panic!("server {name} is not listed: {list}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn is_ready(status: &Value) -> bool {
    status["runtimeStatus"] == "connected"
}

#[tokio::test]
async fn status_list_and_startup_notifications() {
    if !python3_available() {
        return;
    }
    let mcp = [
        server_table("ok", "ok", ""),
        server_table("hang", "hang-start", "startup_timeout_sec = 1"),
        server_table("off", "ok", "enabled = false"),
        // Nothing listens there: they fail, but say how they would log in.
        "[mcp_servers.remote]\nurl = \"http://user:pw@127.0.0.1:9/mcp?x=1\"\n".into(),
        "[mcp_servers.tokened]\nurl = \"https://127.0.0.1:9/mcp\"\nbearer_token_env_var = \"WRIGHT_TEST_UNSET\"\n".into(),
    ]
    .concat();
    let setup = Setup::new(vec![], &mcp).await;
    let mut server = setup.server().await;

    // Each server's progress is told to every client (from where it stands when the client
    // arrives): `ok` becomes ready; `hang` starts and fails at its startup timeout.
    let ready = server
        .notification("mcpServer/startupStatus/updated", |p| {
            p["name"] == "ok" && p["status"] == "ready"
        })
        .await;
    assert_eq!(ready["error"], Value::Null);
    let failed = server
        .notification("mcpServer/startupStatus/updated", |p| {
            p["name"] == "hang" && p["status"] == "failed"
        })
        .await;
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("startup_timeout_sec"), "{error}");
    // It is restarted with backoff: starting again.
    server
        .notification("mcpServer/startupStatus/updated", |p| {
            p["name"] == "hang" && p["status"] == "starting"
        })
        .await;
    // A disabled server is not starting: nothing is said of it.
    assert!(!server
        .backlog
        .iter()
        .any(|m| m["method"] == "mcpServer/startupStatus/updated" && m["params"]["name"] == "off"));

    let list = server.result("mcpServerStatus/list", json!({})).await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hang", "off", "ok", "remote", "tokened"]);
    assert_eq!(list["nextCursor"], Value::Null);
    let ok = &list["data"][2];
    assert_eq!(ok["runtimeStatus"], "connected", "{ok}");
    assert_eq!(ok["authStatus"], "unsupported");
    // What the server said of itself in `initialize`.
    assert_eq!(ok["serverInfo"]["name"], "broken-server-ok", "{ok}");
    assert!(ok["serverCapabilities"]["tools"].is_object(), "{ok}");
    assert_eq!(ok["tools"]["ok"]["name"], "ok");
    assert_eq!(
        ok["tools"]["ok"]["description"],
        "broken_server test tool 'ok'"
    );
    assert_eq!(ok["tools"]["ok"]["inputSchema"]["type"], "object");
    // It offers no resources (resources/list is "method not found"): none, not an error.
    assert_eq!(ok["resources"], json!([]));
    assert_eq!(ok["resourceTemplates"], json!([]));
    assert_eq!(ok["toolsError"], Value::Null);
    assert_eq!(list["data"][1]["runtimeStatus"], "disabled");
    assert_eq!(list["data"][1]["tools"], json!({}));
    let hang = &list["data"][0];
    assert_eq!(hang["tools"], json!({}));
    assert!(
        ["starting", "failed"].contains(&hang["runtimeStatus"].as_str().unwrap()),
        "{hang}"
    );

    // Pages, by index.
    let first = server
        .result("mcpServerStatus/list", json!({"limit": 2}))
        .await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    assert_eq!(first["nextCursor"], "2");
    let rest = server
        .result(
            "mcpServerStatus/list",
            json!({"limit": 2, "cursor": "2", "detail": "toolsAndAuthOnly"}),
        )
        .await;
    assert_eq!(rest["data"][0]["name"], "ok");
    assert_eq!(rest["nextCursor"], "4");
    let remote = &rest["data"][1];
    assert_eq!(remote["authStatus"], "notLoggedIn", "{remote}");
    // The origin only: no credentials, path or query.
    assert_eq!(remote["httpOrigin"], "http://127.0.0.1:9");
    let last = server
        .result("mcpServerStatus/list", json!({"cursor": "4"}))
        .await;
    assert_eq!(last["data"][0]["authStatus"], "bearerToken");
    assert_eq!(last["nextCursor"], Value::Null);

    // OAuth login is for HTTP servers without a bearer token; a server that cannot be reached
    // says so.
    let login = |name: &str| json!({"name": name, "timeoutSecs": 5});
    let stdio = server.request("mcpServer/oauth/login", login("ok")).await;
    assert_eq!(
        stdio["error"]["message"],
        "OAuth login is only supported for streamable HTTP servers; 'ok' is a stdio server."
    );
    let unknown = server.request("mcpServer/oauth/login", login("nope")).await;
    assert_eq!(
        unknown["error"]["message"],
        "No MCP server named 'nope' found."
    );
    let bearer = server
        .request("mcpServer/oauth/login", login("tokened"))
        .await;
    assert_eq!(bearer["error"]["code"], -32600, "{bearer}");
    let unreachable = server
        .request("mcpServer/oauth/login", login("remote"))
        .await;
    let message = unreachable["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("'remote'"), "{unreachable}");
    let bad = server
        .request("mcpServerStatus/list", json!({"cursor": "x"}))
        .await;
    assert_eq!(bad["error"]["code"], -32600, "{bad}");

    // A thread cannot bring servers of its own: it is told, not silently ignored.
    server
        .result(
            "thread/start",
            json!({"cwd": setup.repo.path(), "ephemeral": true,
                   "config": {"mcp_servers.mine.command": "x"}}),
        )
        .await;
    let warning = server.notification("configWarning", |_| true).await;
    let summary = warning["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("`mcp_servers.mine.command` is not acted on"),
        "{warning}"
    );

    let hang = status_until(&mut server, "hang", |s| s["runtimeStatus"] == "failed").await;
    let error = hang["toolsError"].as_str().unwrap();
    assert!(error.contains("startup_timeout_sec"), "{error}");
}

#[tokio::test]
async fn client_tool_calls_crash_restart_and_reload() {
    if !python3_available() {
        return;
    }
    let setup = Setup::new(vec![], "").await;
    let starts = setup.repo.path().join("starts.txt");
    let env = format!(
        "env = {{ BROKEN_SERVER_STARTS = {:?} }}",
        starts.display().to_string()
    );
    let first = [
        server_table("ok", "ok", ""),
        server_table("crashy", "exit-mid-call", &env),
    ]
    .concat();
    // Servers run in the session's sandbox (read-only by default): this one writes its
    // starts to the workspace.
    let top = "sandbox_mode = \"workspace-write\"";
    setup.write_config(top, &first);
    let mut server = setup.server().await;
    let thread = server.start_thread(setup.repo.path(), "never").await;
    status_until(&mut server, "ok", is_ready).await;
    status_until(&mut server, "crashy", is_ready).await;

    let call = |server: &str, tool: &str| json!({"threadId": thread, "server": server, "tool": tool, "arguments": {}});
    let fine = server.result("mcpServer/tool/call", call("ok", "ok")).await;
    assert_eq!(fine["content"], json!([{"type": "text", "text": "fine"}]));
    assert_eq!(fine["isError"], false);

    // What cannot be called says precisely why.
    let unknown = server
        .request("mcpServer/tool/call", call("nope", "ok"))
        .await;
    assert_eq!(unknown["error"]["code"], -32600, "{unknown}");
    assert_eq!(unknown["error"]["message"], "unknown MCP server `nope`");
    let no_tool = server
        .request("mcpServer/tool/call", call("ok", "nope"))
        .await;
    assert_eq!(
        no_tool["error"]["message"],
        "MCP server `ok` has no tool `nope` (its tools: ok)"
    );
    let no_thread = server
        .request(
            "mcpServer/tool/call",
            json!({"threadId": "no-such-thread", "server": "ok", "tool": "ok"}),
        )
        .await;
    assert_eq!(
        no_thread["error"]["message"],
        "thread not found: no-such-thread"
    );
    let bad_args = server
        .request(
            "mcpServer/tool/call",
            json!({"threadId": thread, "server": "ok", "tool": "ok", "arguments": [1]}),
        )
        .await;
    assert_eq!(bad_args["error"]["code"], -32602, "{bad_args}");
    let no_resource = server
        .request(
            "mcpServer/resource/read",
            json!({"server": "ok", "uri": "file:///nothing"}),
        )
        .await;
    let message = no_resource["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("MCP server `ok` returned an error:")
            && message.contains("resources/read"),
        "{no_resource}"
    );

    // A server that dies mid-call: the call fails with the reason, and the server is started
    // again (and serves again).
    server.forget("mcpServer/startupStatus/updated");
    let crashed = server
        .request("mcpServer/tool/call", call("crashy", "crash"))
        .await;
    let message = crashed["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("MCP server `crashy` failed during the call:") && message.contains('3'),
        "{crashed}"
    );
    server
        .notification("mcpServer/startupStatus/updated", |p| {
            p["name"] == "crashy" && p["status"] == "failed"
        })
        .await;
    server
        .notification("mcpServer/startupStatus/updated", |p| {
            p["name"] == "crashy" && p["status"] == "ready"
        })
        .await;
    let count = std::fs::read_to_string(&starts).unwrap().lines().count();
    assert_eq!(count, 2, "the crashed server was not restarted once");
    let again = server
        .result("mcpServer/tool/call", call("crashy", "ok"))
        .await;
    assert_eq!(again["content"][0]["text"], "fine");

    // A server added to config.toml starts on reload; the others are started afresh.
    let second = [first.as_str(), &server_table("second", "ok", "")].concat();
    setup.write_config(top, &second);
    assert_eq!(
        server.result("config/mcpServer/reload", Value::Null).await,
        json!({})
    );
    server
        .notification("mcpServer/startupStatus/updated", |p| {
            p["name"] == "second" && p["status"] == "ready"
        })
        .await;
    let status = status_until(&mut server, "second", is_ready).await;
    assert!(status["tools"]["ok"].is_object(), "{status}");
    let fine = server
        .result("mcpServer/tool/call", call("second", "ok"))
        .await;
    assert_eq!(fine["content"][0]["text"], "fine");
}

/// A model's call to a tool whose approval mode is `prompt` is asked as Codex asks it
/// (`item/tool/requestUserInput`); `Allow` runs it, `Cancel` does not.
#[tokio::test]
async fn mcp_tool_call_approval_round_trip() {
    if !python3_available() {
        return;
    }
    let call = |id: &str| {
        Step::calls(vec![OutputItem::FunctionCall {
            name: "mcp__ok__ok".into(),
            arguments: "{}".into(),
            call_id: Some(id.into()),
        }])
    };
    let steps = vec![
        call("call_allow"),
        Step::message("first done"),
        call("call_cancel"),
        Step::message("second done"),
    ];
    let mcp = server_table("ok", "ok", "default_tools_approval_mode = \"prompt\"");
    let setup = Setup::new(steps, &mcp).await;
    let mut server = setup.server().await;
    let thread = server.start_thread(setup.repo.path(), "on-request").await;
    status_until(&mut server, "ok", is_ready).await;

    for (call_id, answer, ran) in [
        ("call_allow", "Allow", true),
        ("call_cancel", "Cancel", false),
    ] {
        let turn = server
            .result(
                "turn/start",
                json!({"threadId": thread, "input": [{"type": "text", "text": answer, "text_elements": []}]}),
            )
            .await;
        let turn_id = turn["turn"]["id"].as_str().unwrap().to_string();
        let started = server
            .notification("item/started", |p| p["item"]["type"] == "mcpToolCall")
            .await;
        assert_eq!(started["item"]["id"], call_id);
        assert_eq!(started["item"]["status"], "inProgress");
        assert_eq!(started["item"]["server"], "ok");
        assert_eq!(started["item"]["tool"], "ok");
        let asked = server
            .wait_for("the approval question", |m| {
                m["method"] == "item/tool/requestUserInput"
            })
            .await;
        let params = &asked["params"];
        assert_eq!(params["threadId"], thread.as_str());
        assert_eq!(params["turnId"], turn_id.as_str());
        assert_eq!(params["itemId"], call_id);
        assert_eq!(params["isBlocking"], true);
        let question = &params["questions"][0];
        let question_id = format!("mcp_tool_call_approval_{call_id}");
        assert_eq!(question["id"], question_id.as_str());
        assert_eq!(question["header"], "Approve app tool call?");
        assert_eq!(
            question["question"],
            "Allow the ok MCP server to run tool \"ok\"?"
        );
        let labels: Vec<&str> = question["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["Allow", "Allow for this session", "Cancel"]);
        server
            .send(json!({"id": asked["id"], "result": {"answers": {question_id: {"answers": [answer]}}}}))
            .await;
        server
            .notification("serverRequest/resolved", |p| p["requestId"] == asked["id"])
            .await;
        let done = server
            .notification("item/completed", |p| p["item"]["type"] == "mcpToolCall")
            .await;
        let item = &done["item"];
        assert_eq!(item["id"], call_id);
        assert!(item["durationMs"].is_i64(), "{item}");
        if ran {
            assert_eq!(item["status"], "completed", "{item}");
            assert_eq!(item["result"]["content"][0]["text"], "fine");
            assert_eq!(item["error"], Value::Null);
        } else {
            assert_eq!(item["status"], "failed", "{item}");
            assert_eq!(item["result"], Value::Null);
            assert!(item["error"]["message"].is_string(), "{item}");
        }
        let completed = server
            .notification("turn/completed", |p| p["turn"]["id"] == turn_id.as_str())
            .await;
        assert_eq!(completed["turn"]["status"], "completed", "{completed}");
    }

    // What the model was told: the server's answer after Allow, none after Cancel.
    let bodies: Vec<Value> = setup.mock.requests().iter().map(|r| r.json()).collect();
    let allowed = output_text(&bodies[1], "call_allow");
    assert!(allowed.contains("fine"), "{allowed}");
    let cancelled = output_text(&bodies[3], "call_cancel");
    assert!(!cancelled.contains("fine"), "{cancelled}");
}

/// The text of the output sent back for `call_id` (a string, or Codex's list of input parts).
fn output_text(body: &Value, call_id: &str) -> String {
    let item = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["call_id"] == call_id && i["type"] == "function_call_output")
        .unwrap_or_else(|| panic!("no output for {call_id} in {body}"));
    match &item["output"] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `mcpServer/oauth/login` end to end against a real OAuth server: the URL comes back at
/// once, the client plays the browser, `mcpServer/oauthLogin/completed` says it worked with
/// the same login id, and the server's auth status becomes `oAuth`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_login_through_the_app_server() {
    let oauth = oauth_server::OAuthServer::start().await;
    let table = format!("[mcp_servers.remote]\nurl = \"{}\"\n", oauth.url());
    let setup = Setup::new(Vec::new(), &table).await;
    let mut server = setup.server().await;
    let before = server
        .result(
            "mcpServerStatus/list",
            json!({"detail": "toolsAndAuthOnly"}),
        )
        .await;
    assert_eq!(before["data"][0]["authStatus"], "notLoggedIn", "{before}");
    let started = server
        .result(
            "mcpServer/oauth/login",
            json!({"name": "remote", "timeoutSecs": 30}),
        )
        .await;
    let url = started["authorizationUrl"].as_str().unwrap().to_string();
    let login_id = started["loginId"].clone();
    let redirect = oauth_server::approve(&url).await;
    let (status, _) = oauth_server::visit(&redirect).await;
    assert_eq!(status, 200);
    let done = server
        .notification("mcpServer/oauthLogin/completed", |_| true)
        .await;
    assert_eq!(done["success"], true, "{done}");
    assert_eq!(done["name"], "remote");
    assert_eq!(done["loginId"], login_id);
    let after = server
        .result(
            "mcpServerStatus/list",
            json!({"detail": "toolsAndAuthOnly"}),
        )
        .await;
    assert_eq!(after["data"][0]["authStatus"], "oAuth", "{after}");
    let stored = setup.home.path().join(".credentials/mcp/remote.json");
    let mode = std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
