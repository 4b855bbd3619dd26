//! `wright mcp-server` end to end: rmcp's client drives the built binary over stdio against the
//! mock model (tools, sessions and replies, progress, approvals as elicitations, cancellation,
//! bad input), and the official MCP inspector CLI drives it too (`tests/mcp-server/run.sh`).

mod common;

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{call_with_id, exec_call, output_for, Env};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ClientRequest,
    ElicitRequestParams, ElicitResult, ElicitationAction, Implementation,
    ProgressNotificationParam, ProgressToken, Request, ServerResult,
};
use rmcp::service::{
    NotificationContext, PeerRequestOptions, RequestContext, RequestHandle, RunningService,
};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use wright_mock_model::{OutputItem, Script, Step};

/// The MCP client under test's control: whether it can be asked (and what it answers), and
/// everything the server sent it.
#[derive(Clone, Default)]
struct Client {
    /// `None`: no `elicitation` capability. Otherwise the answers, in order.
    answers: Option<Arc<Mutex<VecDeque<ElicitationAction>>>>,
    asked: Arc<Mutex<Vec<ElicitRequestParams>>>,
    /// Every progress notification, bumped on each arrival so tests can wait for one.
    progress: Arc<watch::Sender<Vec<ProgressNotificationParam>>>,
}

impl Client {
    fn answering(answers: &[ElicitationAction]) -> Client {
        Client {
            answers: Some(Arc::new(Mutex::new(answers.iter().cloned().collect()))),
            ..Client::default()
        }
    }

    /// Waits (10 s at most) until a progress message for `token` satisfies `found`.
    async fn progress_until(&self, token: &ProgressToken, found: impl Fn(&str) -> bool) {
        let mut rx = self.progress.subscribe();
        let seen = rx.wait_for(|all| {
            all.iter()
                .any(|p| &p.progress_token == token && p.message.as_deref().is_some_and(&found))
        });
        if tokio::time::timeout(Duration::from_secs(10), seen)
            .await
            .is_err()
        {
            panic!("no such progress; got {:?}", self.progress.borrow());
        }
    }
}

impl ClientHandler for Client {
    fn get_info(&self) -> ClientConfig {
        let capabilities = match self.answers {
            Some(_) => ClientCapabilities::builder().enable_elicitation().build(),
            None => ClientCapabilities::default(),
        };
        ClientConfig::new(capabilities, Implementation::new("wright-test", "0"))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        self.asked.lock().unwrap().push(request);
        let queue = self.answers.as_ref().expect("asked without the capability");
        let action = queue.lock().unwrap().pop_front().expect("an answer left");
        let accept = action == ElicitationAction::Accept;
        let mut result = ElicitResult::new(action);
        if accept {
            result.content = Some(json!({"decision": "approve"}));
        }
        Ok(result)
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.send_modify(|all| all.push(params));
    }
}

type Session = RunningService<RoleClient, Client>;

/// `wright mcp-server` started in the env's repo with its WRIGHT_HOME, connected (and
/// initialized) as `client`.
async fn connect(env: &Env, client: Client) -> Session {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_wright"));
    command
        .arg("mcp-server")
        .current_dir(env.repo())
        .env("WRIGHT_HOME", env.home.path())
        .env("HOME", env.home.path())
        .env("SHELL", "/bin/bash")
        .env_remove("OPENAI_API_KEY")
        .env_remove("RUST_LOG");
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("wright mcp-server starts");
    client.serve(transport).await.expect("MCP initialize")
}

/// Sends a `tools/call` (rmcp gives every request a progress token).
async fn start(session: &Session, tool: &'static str, args: Value) -> RequestHandle<RoleClient> {
    let Value::Object(args) = args else {
        panic!("arguments are an object");
    };
    let params = CallToolRequestParams::new(tool).with_arguments(args);
    let request = ClientRequest::CallToolRequest(Request::new(params));
    let options = PeerRequestOptions::no_options();
    session
        .send_cancellable_request(request, options)
        .await
        .unwrap()
}

/// Calls `tool` and returns its result and the call's progress token.
async fn call(
    session: &Session,
    tool: &'static str,
    args: Value,
) -> (CallToolResult, ProgressToken) {
    let handle = start(session, tool, args).await;
    let token = handle.progress_token.clone();
    let reply = tokio::time::timeout(Duration::from_secs(60), handle.await_response())
        .await
        .expect("the tool call answers within a minute")
        .unwrap();
    match reply {
        ServerResult::CallToolResult(result) => (result, token),
        other => panic!("not a tool result: {other:?}"),
    }
}

fn text(result: &CallToolResult) -> String {
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect();
    texts.join("\n")
}

fn thread_id(result: &CallToolResult) -> String {
    let structured = result.structured_content.as_ref();
    let id = structured.and_then(|s| s["threadId"].as_str());
    id.expect("structuredContent.threadId").to_string()
}

#[tokio::test]
async fn both_tools_are_listed_with_codex_argument_names() {
    let env = Env::new(vec![]).await;
    let session = connect(&env, Client::default()).await;
    let server = session.peer_info().expect("initialized");
    assert_eq!(server.server_info.as_ref().unwrap().name, "wright");
    assert!(server.capabilities.tools.is_some());

    let tools = session.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["wright", "wright-reply"]);
    let schema = |i: usize| Value::Object((*tools[i].input_schema).clone());
    let wright = schema(0);
    assert_eq!(wright["required"], json!(["prompt"]));
    let props = |schema: &Value| {
        let mut names: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort_unstable();
        names.join(" ")
    };
    let codex = "approval-policy base-instructions compact-prompt config cwd developer-instructions model profile prompt sandbox";
    assert_eq!(props(&wright), codex);
    let reply = schema(1);
    assert_eq!(reply["required"], json!(["prompt"]));
    assert_eq!(props(&reply), "conversationId prompt threadId");
    session.cancel().await.unwrap();
}

#[tokio::test]
async fn a_session_runs_a_command_answers_and_continues_with_reply() {
    let env = Env::new(vec![
        Step::calls(vec![call_with_id(
            "exec_command",
            json!({"cmd": "echo from-the-mcp-session"}),
            "call_echo",
        )]),
        Step::message("First answer."),
        Step::message("Second answer."),
        Step::message("Third answer."),
    ])
    .await;
    let client = Client::default();
    let session = connect(&env, client.clone()).await;
    let repo = env.repo().display().to_string();

    let args = json!({"prompt": "say what echo prints", "cwd": repo, "approval-policy": "never"});
    let (first, token) = call(&session, "wright", args).await;
    assert_eq!(first.is_error, Some(false), "{}", text(&first));
    assert_eq!(text(&first), "First answer.");
    let thread = thread_id(&first);
    assert_eq!(
        first.structured_content,
        Some(json!({"threadId": thread, "content": "First answer."}))
    );
    client
        .progress_until(&token, |m| m == "running: echo from-the-mcp-session")
        .await;
    client
        .progress_until(&token, |m| m.starts_with("finished (exit 0): echo"))
        .await;
    client
        .progress_until(&token, |m| m == "message: First answer.")
        .await;
    assert!(output_for(&env.bodies()[1], "call_echo").contains("from-the-mcp-session"));

    let (second, _) = call(
        &session,
        "wright-reply",
        json!({"threadId": thread, "prompt": "and then?"}),
    )
    .await;
    assert_eq!(text(&second), "Second answer.");
    assert_eq!(thread_id(&second), thread);
    // The model saw the whole session so far: the first prompt, the command, the answer.
    let history = env.bodies()[2]["input"].to_string();
    let told = [
        "say what echo prints",
        "from-the-mcp-session",
        "First answer.",
        "and then?",
    ];
    for part in told {
        assert!(history.contains(part), "`{part}` not in {history}");
    }

    // Codex's legacy name for the thread still works.
    let (third, _) = call(
        &session,
        "wright-reply",
        json!({"conversationId": thread, "prompt": "last one"}),
    )
    .await;
    assert_eq!(text(&third), "Third answer.");
    session.cancel().await.unwrap();
}

#[tokio::test]
async fn approvals_are_elicited_and_only_an_accepted_command_runs() {
    let env = Env::new(vec![
        Step::calls(vec![exec_call("touch declined.txt")]),
        Step::message("It was declined."),
        Step::calls(vec![exec_call("touch accepted.txt")]),
        Step::message("It ran."),
    ])
    .await;
    let client = Client::answering(&[ElicitationAction::Decline, ElicitationAction::Accept]);
    let session = connect(&env, client.clone()).await;
    let repo = env.repo().display().to_string();
    let args = |prompt: &str| {
        json!({"prompt": prompt, "cwd": repo, "approval-policy": "untrusted",
               "sandbox": "workspace-write"})
    };

    let (declined, token) = call(&session, "wright", args("make declined.txt")).await;
    assert_eq!(text(&declined), "It was declined.");
    client
        .progress_until(&token, |m| m == "declined: touch declined.txt")
        .await;
    assert!(!env.repo().join("declined.txt").exists());

    let (accepted, _) = call(&session, "wright", args("make accepted.txt")).await;
    assert_eq!(text(&accepted), "It ran.");
    assert!(env.repo().join("accepted.txt").exists());

    let asked = client.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    let ElicitRequestParams::FormElicitationParams {
        message,
        requested_schema,
        ..
    } = &asked[0]
    else {
        panic!("not a form: {:?}", asked[0]);
    };
    assert!(message.contains("touch declined.txt"), "{message}");
    let schema = serde_json::to_value(requested_schema).unwrap();
    assert_eq!(
        schema["properties"]["decision"]["enum"],
        json!(["approve", "approve-for-session", "decline"])
    );
    session.cancel().await.unwrap();
}

/// A call to an MCP server's tool (approval mode `prompt`) is asked as an elicitation too:
/// accepting runs the tool, declining does not.
#[tokio::test]
async fn mcp_tool_calls_are_approved_through_elicitation() {
    if !have("python3", "the MCP tool test") {
        return;
    }
    let server = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/mcp/broken_server.py"
    );
    let table = format!(
        "[mcp_servers.ok]\ncommand = \"python3\"\nargs = [{server:?}, \"ok\"]\n\
         default_tools_approval_mode = \"prompt\"\n"
    );
    let env = Env::with_config(
        Script::Dynamic(Arc::new(call_the_mcp_tool)),
        "responses",
        &table,
    )
    .await;
    let client = Client::answering(&[ElicitationAction::Accept, ElicitationAction::Decline]);
    let session = connect(&env, client.clone()).await;
    let repo = env.repo().display().to_string();
    for answer in ["the tool ran", "the tool did not run"] {
        let args = json!({"prompt": "call it", "cwd": repo, "approval-policy": "on-request"});
        let (result, _) = call(&session, "wright", args).await;
        assert_eq!(text(&result), answer);
    }
    let asked = client.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    let question = serde_json::to_value(&asked[0]).unwrap();
    let message = question["message"].as_str().unwrap();
    assert!(
        message.contains("Allow the ok MCP server to run tool"),
        "{message}"
    );
    session.cancel().await.unwrap();
}

/// The model of the MCP tool test: calls `mcp__ok__ok` (again, while the server is still
/// starting: it starts in the background), then says whether the tool's answer came back.
fn call_the_mcp_tool(index: usize, body: &Value) -> Step {
    let last = body["input"].as_array().and_then(|items| items.last());
    let output = last
        .filter(|i| i["type"] == "function_call_output")
        .map(|i| i["output"].to_string());
    let call = Step::calls(vec![OutputItem::FunctionCall {
        name: "mcp__ok__ok".into(),
        arguments: "{}".into(),
        call_id: Some(format!("call_{index}")),
    }]);
    match output {
        None => call,
        Some(o) if o.contains("is starting") && index < 200 => Step::Delay {
            ms: 20,
            then: Box::new(call),
        },
        Some(o) if o.contains("fine") => Step::message("the tool ran"),
        Some(_) => Step::message("the tool did not run"),
    }
}

#[tokio::test]
async fn a_client_that_cannot_be_asked_gets_a_declined_command_and_the_reason() {
    let env = Env::new(vec![
        Step::calls(vec![exec_call("touch never.txt")]),
        Step::message("Could not."),
    ])
    .await;
    let session = connect(&env, Client::default()).await;
    let repo = env.repo().display().to_string();
    let args = json!({"prompt": "make never.txt", "cwd": repo, "approval-policy": "untrusted"});
    let (result, _) = call(&session, "wright", args).await;
    assert_eq!(result.is_error, Some(false));
    let said = text(&result);
    assert!(said.starts_with("Could not."), "{said}");
    assert!(said.contains("`elicitation` capability"), "{said}");
    assert!(said.contains("touch never.txt"), "{said}");
    assert!(!env.repo().join("never.txt").exists());
    session.cancel().await.unwrap();
}

#[tokio::test]
async fn cancelling_a_call_interrupts_its_turn() {
    let env = Env::new(vec![Step::calls(vec![exec_call("sleep 60")])]).await;
    let client = Client::default();
    let session = connect(&env, client.clone()).await;
    let repo = env.repo().display().to_string();
    let args = json!({"prompt": "wait", "cwd": repo, "approval-policy": "never"});
    let handle = start(&session, "wright", args).await;
    let token = handle.progress_token.clone();
    client
        .progress_until(&token, |m| m == "running: sleep 60")
        .await;
    handle
        .cancel(Some("the user changed their mind".into()))
        .await
        .unwrap();
    // The command ends long before its minute is up: the turn was interrupted.
    client
        .progress_until(&token, |m| {
            m.ends_with(": sleep 60") && !m.starts_with("running")
        })
        .await;
    assert_eq!(env.bodies().len(), 1, "the model was not asked again");
    session.cancel().await.unwrap();
}

#[tokio::test]
async fn bad_input_is_a_tool_error_and_the_server_keeps_serving() {
    let env = Env::new(vec![Step::message("Still here.")]).await;
    let session = connect(&env, Client::default()).await;

    let unknown = "0190aaaa-0000-7000-8000-000000000000";
    let (result, _) = call(
        &session,
        "wright-reply",
        json!({"threadId": unknown, "prompt": "hello?"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    let said = text(&result);
    assert!(
        said.contains(unknown) && said.contains("cannot continue"),
        "{said}"
    );

    for (tool, args, expected) in [
        ("wright", "{}", "missing field `prompt`"),
        (
            "wright",
            r#"{"prompt": "p", "sandbox": "none"}"#,
            "`sandbox`",
        ),
        (
            "wright",
            r#"{"prompt": "p", "cwd": "/no/such/dir"}"#,
            "/no/such/dir",
        ),
        (
            "wright-reply",
            r#"{"prompt": "p"}"#,
            "`threadId` is required",
        ),
    ] {
        let args = serde_json::from_str(args).unwrap();
        let (result, _) = call(&session, tool, args).await;
        assert_eq!(result.is_error, Some(true), "{tool}");
        let said = text(&result);
        assert!(
            said.contains(expected),
            "{tool}: `{expected}` not in {said}"
        );
    }
    let unknown_tool = session
        .call_tool(CallToolRequestParams::new("rm-rf"))
        .await
        .unwrap_err();
    assert!(
        unknown_tool.to_string().contains("no tool `rm-rf`"),
        "{unknown_tool}"
    );

    let repo = env.repo().display().to_string();
    let (fine, _) = call(&session, "wright", json!({"prompt": "ok?", "cwd": repo})).await;
    assert_eq!(text(&fine), "Still here.");
    assert_eq!(
        env.bodies().len(),
        1,
        "only the good call reached the model"
    );
    session.cancel().await.unwrap();
}

/// Whether `tool` runs; outside CI a missing tool skips `what` (after saying so). CI must run
/// everything: there a missing tool is a failure.
fn have(tool: &str, what: &str) -> bool {
    let found = std::process::Command::new(tool).arg("--version").output();
    let found = found.is_ok_and(|o| o.status.success());
    if !found {
        let why = format!("{tool} is not on PATH: {what} needs it");
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
    }
    found
}

/// The mock model binary beside `wright`, built when absent (it is a separate package).
fn mock_model_bin() -> std::path::PathBuf {
    let wright = std::path::PathBuf::from(env!("CARGO_BIN_EXE_wright"));
    let mock = wright.with_file_name("wright-mock-model");
    if !mock.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "wright-mock-model"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p wright-mock-model failed");
    }
    mock
}

#[test]
fn the_official_mcp_inspector_drives_wright_mcp_server() {
    if !(have("node", "the MCP inspector suite") && have("npm", "the MCP inspector suite")) {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/mcp-server/run.sh");
    let output = std::process::Command::new("bash")
        .arg(script)
        .env("WRIGHT_BIN", env!("CARGO_BIN_EXE_wright"))
        .env("WRIGHT_MOCK_BIN", mock_model_bin())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "tests/mcp-server/run.sh failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // node --test exits 0 when it ran nothing: make sure the suite ran and passed.
    assert!(stdout.contains("# pass 2"), "{stdout}");
    assert!(stdout.contains("# fail 0"), "{stdout}");
}
