//! The client against real servers: the deliberately broken one (tests/mcp/broken_server.py)
//! and `@modelcontextprotocol/server-everything` over stdio and streamable HTTP.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;
use wright_mcp::{
    CallError, McpManager, McpOptions, McpServerConfig, McpServers, McpTransport, ServerState,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn broken_server() -> PathBuf {
    repo().join("tests/mcp/broken_server.py")
}

/// `tests/mcp/node_modules`, installed by `npm ci` there. Missing under CI is a failure.
fn node_modules() -> Option<PathBuf> {
    let dir = repo().join("tests/mcp/node_modules/@modelcontextprotocol/server-everything");
    if dir.exists() {
        return Some(repo().join("tests/mcp/node_modules"));
    }
    assert!(
        std::env::var("CI").is_err(),
        "tests/mcp/node_modules is missing: run `npm ci` in tests/mcp"
    );
    eprintln!("skipped: tests/mcp/node_modules is missing (npm ci in tests/mcp)");
    None
}

fn stdio(command: &str, args: &[&str]) -> McpServerConfig {
    McpServerConfig::new(McpTransport::Stdio {
        command: command.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: None,
        cwd: None,
    })
}

fn broken(mode: &str, starts: &Path) -> McpServerConfig {
    let mut config = stdio("python3", &[broken_server().to_str().unwrap(), mode]);
    if let McpTransport::Stdio { env, .. } = &mut config.transport {
        *env = Some(BTreeMap::from([(
            "BROKEN_SERVER_STARTS".to_string(),
            starts.display().to_string(),
        )]));
    }
    config.startup_timeout_sec = Some(Duration::from_secs(2));
    config.tool_timeout_sec = Some(Duration::from_secs(2));
    config
}

fn options(servers: McpServers) -> McpOptions {
    McpOptions {
        servers,
        launcher: None,
        env: std::env::vars()
            .filter(|(k, _)| k == "PATH" || k == "HOME")
            .collect(),
        cwd: std::env::temp_dir(),
        oauth_home: None,
    }
}

async fn wait_state(mcp: &McpManager, name: &str, state: ServerState) -> wright_mcp::ServerStatus {
    let mut events = mcp.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = mcp.statuses().into_iter().find(|s| s.name == name) {
            if s.state == state {
                return s;
            }
        }
        let left = deadline - tokio::time::Instant::now();
        assert!(
            tokio::time::timeout(left, events.recv()).await.is_ok(),
            "{name} never became {state:?}: {:?}",
            mcp.statuses()
        );
    }
}

fn starts(file: &Path, mode: &str) -> usize {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(&format!("{mode} ")))
        .count()
}

async fn call(
    mcp: &McpManager,
    server: &str,
    tool: &str,
    args: Value,
) -> Result<String, CallError> {
    let args: Option<Map<String, Value>> = args.as_object().cloned();
    let result = mcp
        .call_tool(server, tool, args, None, CancellationToken::new())
        .await?;
    Ok(result
        .content
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_servers_are_reported_and_the_good_one_works() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("starts");
    let mut servers = McpServers::new();
    servers.insert("good".into(), broken("ok", &file));
    servers.insert("hangs".into(), {
        let mut c = broken("hang-start", &file);
        c.startup_timeout_sec = Some(Duration::from_secs(1));
        c
    });
    servers.insert("dies".into(), broken("exit-start", &file));
    let mcp = McpManager::start(options(servers));
    // Nothing has been waited for: every enabled server is still starting.
    assert!(mcp
        .statuses()
        .iter()
        .all(|s| s.state == ServerState::Starting));

    let good = wait_state(&mcp, "good", ServerState::Ready).await;
    assert_eq!(good.tools, ["mcp__good__ok"]);
    assert_eq!(call(&mcp, "good", "ok", json!({})).await.unwrap(), "fine");

    let hangs = wait_state(&mcp, "hangs", ServerState::Failed).await;
    assert!(
        hangs
            .error
            .as_deref()
            .unwrap()
            .contains("did not finish starting within 1 s"),
        "{hangs:?}"
    );
    let dies = wait_state(&mcp, "dies", ServerState::Failed).await;
    let error = dies.error.unwrap();
    assert!(error.contains("exited with code 1"), "{error}");
    assert!(
        error.contains("exit-start: failing on purpose") || error.contains("stderr"),
        "{error}"
    );
    // A call to a failed server says why, instead of hanging.
    let err = call(&mcp, "dies", "ok", json!({})).await.unwrap_err();
    assert!(matches!(err, CallError::NotReady { .. }), "{err}");
    // It is restarted with backoff.
    wait_state(&mcp, "dies", ServerState::Starting).await;
    assert!(starts(&file, "exit-start") >= 2);
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_exits_mid_call_fails_the_call_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("starts");
    let mut servers = McpServers::new();
    servers.insert("crashy".into(), broken("exit-mid-call", &file));
    let mcp = McpManager::start(options(servers));
    wait_state(&mcp, "crashy", ServerState::Ready).await;
    let err = call(&mcp, "crashy", "crash", json!({})).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CallError::Failed { .. }), "{text}");
    assert!(text.contains("exited with code 3"), "{text}");
    // Restarted: the next call works on a new process.
    wait_state(&mcp, "crashy", ServerState::Ready).await;
    assert_eq!(call(&mcp, "crashy", "ok", json!({})).await.unwrap(), "fine");
    assert_eq!(starts(&file, "exit-mid-call"), 2);
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_stdout_fails_the_call_and_restarts_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("starts");
    let mut servers = McpServers::new();
    servers.insert("noisy".into(), broken("garbage", &file));
    let mcp = McpManager::start(options(servers));
    wait_state(&mcp, "noisy", ServerState::Ready).await;
    let err = call(&mcp, "noisy", "garble", json!({})).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not a JSON-RPC message"), "{text}");
    assert!(text.contains("this is not json"), "{text}");
    wait_state(&mcp, "noisy", ServerState::Ready).await;
    assert_eq!(call(&mcp, "noisy", "ok", json!({})).await.unwrap(), "fine");
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_call_times_out_and_others_still_answer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("starts");
    let mut servers = McpServers::new();
    servers.insert("stuck".into(), broken("hang-call", &file));
    let mcp = McpManager::start(options(servers));
    wait_state(&mcp, "stuck", ServerState::Ready).await;
    let (slow, ok) = tokio::join!(
        call(&mcp, "stuck", "slow", json!({})),
        call(&mcp, "stuck", "ok", json!({}))
    );
    assert_eq!(ok.unwrap(), "fine");
    let err = slow.unwrap_err();
    assert!(matches!(err, CallError::Timeout { secs: 2, .. }), "{err}");
    // A cancelled call returns at once.
    let cancel = CancellationToken::new();
    let call = mcp.call_tool("stuck", "slow", None, None, cancel.clone());
    cancel.cancel();
    assert_eq!(call.await.unwrap_err(), CallError::Cancelled);
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launcher_that_cannot_confine_keeps_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("starts");
    let mut servers = McpServers::new();
    servers.insert("confined".into(), broken("ok", &file));
    let mut unconfined = broken("ok", &file);
    unconfined.sandbox = false;
    servers.insert("unconfined".into(), unconfined);
    let mut opts = options(servers);
    opts.launcher = Some(Arc::new(|_: &[String]| Err("no sandbox here".to_string())));
    let mcp = McpManager::start(opts);
    // Without confinement the same server runs...
    wait_state(&mcp, "unconfined", ServerState::Ready).await;
    // ...and with it, a server that cannot be confined never starts unconfined.
    let status = wait_state(&mcp, "confined", ServerState::Failed).await;
    assert!(status
        .error
        .unwrap()
        .contains("cannot be confined here: no sandbox here"),);
    assert_eq!(starts(&file, "ok"), 1);
    mcp.shutdown();
}

fn everything(node_modules: &Path) -> String {
    node_modules
        .join("@modelcontextprotocol/server-everything/dist/index.js")
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_stdio() {
    let Some(modules) = node_modules() else {
        return;
    };
    let mut servers = McpServers::new();
    let mut config = stdio("node", &[&everything(&modules), "stdio"]);
    config.startup_timeout_sec = Some(Duration::from_secs(30));
    servers.insert("everything".into(), config);
    let mcp = McpManager::start(options(servers));
    let status = wait_state(&mcp, "everything", ServerState::Ready).await;
    assert!(status.tools.contains(&"mcp__everything__echo".to_string()));
    assert!(status
        .tools
        .contains(&"mcp__everything__get-tiny-image".to_string()));

    assert_eq!(
        call(&mcp, "everything", "echo", json!({"message": "hi"}))
            .await
            .unwrap(),
        "Echo: hi"
    );
    let image = mcp
        .call_tool(
            "everything",
            "get-tiny-image",
            None,
            None,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let block = image.content.iter().find(|c| c["type"] == "image").unwrap();
    assert_eq!(block["mimeType"], "image/png");
    let output = wright_mcp::output::model_output(&image, Duration::ZERO);
    assert!(output.as_array().unwrap().iter().any(|p| p["image_url"]
        .as_str()
        .unwrap_or("")
        .starts_with("data:image/png;base64,")));

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let long = mcp
        .call_tool(
            "everything",
            "trigger-long-running-operation",
            json!({"duration": 0.6, "steps": 3}).as_object().cloned(),
            Some(tx),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(long.content[0]["text"]
        .as_str()
        .unwrap()
        .contains("completed"));
    let mut progress = Vec::new();
    while let Ok(p) = rx.try_recv() {
        progress.push((p.progress, p.total));
    }
    assert_eq!(
        progress,
        [(1.0, Some(3.0)), (2.0, Some(3.0)), (3.0, Some(3.0))]
    );

    let links = mcp
        .call_tool(
            "everything",
            "get-resource-links",
            json!({"count": 2}).as_object().cloned(),
            None,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        links
            .content
            .iter()
            .filter(|c| c["type"] == "resource_link")
            .count(),
        2
    );
    let embedded = mcp
        .call_tool(
            "everything",
            "get-resource-reference",
            json!({"resourceType": "Text", "resourceId": 1})
                .as_object()
                .cloned(),
            None,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let text = wright_mcp::output::output_text(&wright_mcp::output::model_output(
        &embedded,
        Duration::ZERO,
    ));
    assert!(
        text.contains("Resource demo://resource/dynamic/text/1:"),
        "{text}"
    );

    let resources = mcp.list_resources(None, None).await.unwrap();
    let first = &resources["resources"][0];
    assert_eq!(first["server"], "everything");
    let uri = first["uri"].as_str().unwrap().to_string();
    let read = mcp.read_resource("everything", &uri).await.unwrap();
    assert_eq!(read["contents"][0]["uri"], uri.as_str());
    let templates = mcp
        .list_resource_templates(Some("everything"), None)
        .await
        .unwrap();
    assert!(templates["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["uriTemplate"] == "demo://resource/dynamic/text/{resourceId}"));
    mcp.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_streamable_http() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let Some(modules) = node_modules() else {
        return;
    };
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new("node")
        .args([everything(&modules).as_str(), "streamableHttp"])
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("listening on port") {
                return;
            }
        }
        panic!("server-everything exited before listening");
    })
    .await
    .expect("server-everything did not start");

    let mut servers = McpServers::new();
    let mut config = McpServerConfig::new(McpTransport::StreamableHttp {
        url: format!("http://127.0.0.1:{port}/mcp"),
        bearer_token_env_var: None,
        http_headers: Some(BTreeMap::from([("X-Test".to_string(), "1".to_string())])),
    });
    config.enabled_tools = Some(vec!["echo".into(), "trigger-long-running-operation".into()]);
    servers.insert("remote".into(), config);
    let mcp = McpManager::start(options(servers));
    let status = wait_state(&mcp, "remote", ServerState::Ready).await;
    assert_eq!(
        status.tools,
        [
            "mcp__remote__echo",
            "mcp__remote__trigger-long-running-operation"
        ]
    );
    assert_eq!(status.transport, "streamable_http");
    assert_eq!(
        call(&mcp, "remote", "echo", json!({"message": "over http"}))
            .await
            .unwrap(),
        "Echo: over http"
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    mcp.call_tool(
        "remote",
        "trigger-long-running-operation",
        json!({"duration": 0.4, "steps": 2}).as_object().cloned(),
        Some(tx),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let mut count = 0;
    while rx.try_recv().is_ok() {
        count += 1;
    }
    assert_eq!(count, 2);
    mcp.shutdown();
}
