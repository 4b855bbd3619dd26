//! Snapshots of the screens, at 80x24 and 120x40, drawn from protocol messages as the server
//! sends them.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::app::{App, StartOptions};
use crate::rpc::{parse, RpcSender};
use crate::theme::Theme;
use crate::ui;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// An app whose thread is open, and what it sent.
fn app() -> (App, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut app = App::new(RpcSender::new(tx), Theme::plain(), StartOptions::default());
    app.connect();
    feed(&mut app, json!({"id": 1, "result": {}}));
    feed(
        &mut app,
        json!({"id": 2, "result": {
            "thread": {"id": "thr_1", "sessionId": "s", "forkedFromId": null, "parentThreadId": null,
                "preview": "", "ephemeral": false, "modelProvider": "mock", "createdAt": 0, "updatedAt": 0,
                "status": {"type": "idle"}, "path": null, "cwd": "/projects/calc", "cliVersion": "0",
                "source": "cli", "agentNickname": null, "agentRole": null, "gitInfo": null,
                "name": null, "turns": []},
            "model": "gpt-5.5", "modelProvider": "mock", "serviceTier": null, "cwd": "/projects/calc",
            "instructionSources": [], "approvalPolicy": "on-request", "approvalsReviewer": "user",
            "sandbox": {"type": "workspaceWrite", "writableRoots": [], "networkAccess": false,
                "excludeTmpdirEnvVar": false, "excludeSlashTmp": false},
            "reasoningEffort": null}}),
    );
    assert_eq!(
        app.thread_id.as_deref(),
        Some("thr_1"),
        "the thread did not open"
    );
    (app, rx)
}

fn feed(app: &mut App, message: Value) {
    match parse(&message.to_string()) {
        Ok(m) => app.incoming(m),
        Err(e) => panic!("fixture message rejected: {e}"),
    }
}

fn note(method: &str, params: Value) -> Value {
    json!({"method": method, "params": params})
}

/// `item/completed` of `item` in `thread`.
fn completed(app: &mut App, thread: &str, item: Value) {
    feed(
        app,
        note(
            "item/completed",
            json!({"threadId": thread, "turnId": "turn_1", "completedAtMs": 0, "item": item}),
        ),
    );
}

fn turn_started(app: &mut App) {
    feed(
        app,
        note(
            "turn/started",
            json!({"threadId": "thr_1", "turn": {"id": "turn_1",
        "items": [], "status": "inProgress", "error": null, "startedAt": null, "completedAt": null}}),
        ),
    );
}

fn command_item(status: &str, output: Option<&str>) -> Value {
    json!({"type": "commandExecution", "id": "cmd_1", "command": "/bin/bash -lc 'pytest -q'",
        "cwd": "/projects/calc", "processId": null, "status": status, "commandActions": [],
        "aggregatedOutput": output, "exitCode": if status == "failed" { json!(1) } else { Value::Null },
        "durationMs": if status == "inProgress" { Value::Null } else { json!(1234) }})
}

/// The live area drawn at each size, one after the other.
fn screens(app: &App) -> String {
    let mut out = String::new();
    for (w, h) in SIZES {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        term.draw(|f| ui::draw_live(f, app, 3)).expect("draw");
        out.push_str(&format!("--- {w}x{h}\n{}\n", term.backend()));
    }
    out
}

/// Finished cells as they go into the scrollback, at each width.
fn scrollback(app: &App) -> String {
    let mut out = String::new();
    for (w, _) in SIZES {
        out.push_str(&format!("--- {w} columns\n"));
        for cell in &app.transcript {
            for line in cell.lines(w, &app.theme, false) {
                out.push_str(&line.to_string());
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn idle_composer_and_status_line() {
    let (app, _rx) = app();
    insta::assert_snapshot!(screens(&app));
}

#[test]
fn a_running_command_streams_its_output() {
    let (mut app, _rx) = app();
    turn_started(&mut app);
    feed(
        &mut app,
        note(
            "item/started",
            json!({"threadId": "thr_1", "turnId": "turn_1",
        "startedAtMs": 0, "item": command_item("inProgress", None)}),
        ),
    );
    for i in 1..=12 {
        feed(
            &mut app,
            note(
                "item/commandExecution/outputDelta",
                json!({"threadId": "thr_1",
            "turnId": "turn_1", "itemId": "cmd_1", "delta": format!("test_{i} passed\n")}),
            ),
        );
    }
    insta::assert_snapshot!(screens(&app));
}

#[test]
fn an_approval_prompt_shows_command_cwd_and_reason() {
    let (mut app, mut rx) = app();
    turn_started(&mut app);
    feed(
        &mut app,
        note(
            "item/started",
            json!({"threadId": "thr_1", "turnId": "turn_1",
        "startedAtMs": 0, "item": command_item("inProgress", None)}),
        ),
    );
    feed(
        &mut app,
        json!({"id": 0, "method": "item/commandExecution/requestApproval",
        "params": {"threadId": "thr_1", "turnId": "turn_1", "itemId": "cmd_1", "startedAtMs": 0,
            "environmentId": null, "reason": "run the tests after the fix",
            "command": "/bin/bash -lc 'pytest -q'", "cwd": "/projects/calc"}}),
    );
    insta::assert_snapshot!(screens(&app));
    // `a` answers "yes for this session" to the server.
    while rx.try_recv().is_ok() {}
    let key = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('a'),
        crossterm::event::KeyModifiers::NONE,
    );
    assert!(app.key(key));
    let sent: Value = serde_json::from_str(&rx.try_recv().expect("an answer")).expect("json");
    assert_eq!(
        sent,
        json!({"id": 0, "result": {"decision": "acceptForSession"}})
    );
    assert!(app.approval.is_none());
}

#[test]
fn the_slash_popup_lists_matching_commands() {
    let (mut app, _rx) = app();
    app.composer.set_text("/");
    insta::assert_snapshot!(screens(&app));
}

#[test]
fn finished_items_go_to_the_scrollback_folded() {
    let (mut app, _rx) = app();
    turn_started(&mut app);
    completed(
        &mut app,
        "thr_1",
        json!({"type": "userMessage", "id": "u1", "clientId": null,
        "content": [{"type": "text", "text": "make the tests pass", "text_elements": []}]}),
    );
    let output: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    completed(&mut app, "thr_1", command_item("failed", Some(&output)));
    completed(
        &mut app,
        "thr_1",
        json!({"type": "fileChange", "id": "p1", "status": "completed",
        "changes": [{"path": "calc.py", "kind": {"type": "update", "move_path": null},
            "diff": "@@ -1,2 +1,2 @@\n def sub(a, b):\n-    return b - a\n+    return a - b\n"}]}),
    );
    feed(
        &mut app,
        note(
            "turn/plan/updated",
            json!({"threadId": "thr_1", "turnId": "turn_1",
        "explanation": null, "plan": [{"step": "Read calc.py", "status": "completed"},
        {"step": "Fix sub", "status": "inProgress"}, {"step": "Run the tests", "status": "pending"}]}),
        ),
    );
    completed(
        &mut app,
        "thr_1",
        json!({"type": "reasoning", "id": "r1",
        "summary": ["Checking the sign of sub"], "content": []}),
    );
    completed(
        &mut app,
        "thr_1",
        json!({"type": "agentMessage", "id": "m1",
        "text": "Fixed `sub` in **calc.py**; the tests pass."}),
    );
    insta::assert_snapshot!(scrollback(&app));
}

#[test]
fn the_transcript_view_unfolds_everything_and_scrolls() {
    let (mut app, _rx) = app();
    let output: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    completed(&mut app, "thr_1", command_item("completed", Some(&output)));
    let mut cache = ui::TranscriptCache::default();
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
    let mut offset = 0;
    term.draw(|f| ui::draw_overlay(f, &app, &mut cache, &mut offset))
        .expect("draw");
    let bottom = term.backend().to_string();
    assert!(
        bottom.contains("line 30") && !bottom.contains("line 5 "),
        "{bottom}"
    );
    // Scrolled far up: clamped at the top, which shows the command.
    offset = 10_000;
    term.draw(|f| ui::draw_overlay(f, &app, &mut cache, &mut offset))
        .expect("draw");
    let top = term.backend().to_string();
    assert!(
        top.contains("Ran pytest -q") && top.contains("line 1 "),
        "{top}"
    );
    assert_eq!(
        offset,
        32 - 22,
        "offset clamps to the transcript's height (header, 30 lines, a blank)"
    );
}

#[test]
fn other_threads_news_is_not_shown() {
    let (mut app, _rx) = app();
    completed(
        &mut app,
        "thr_other",
        json!({"type": "agentMessage", "id": "m9", "text": "not yours"}),
    );
    assert!(app.transcript.is_empty());
    completed(
        &mut app,
        "thr_1",
        json!({"type": "agentMessage", "id": "m9", "text": "yours"}),
    );
    assert_eq!(app.transcript.len(), 1);
}

#[test]
fn an_at_mention_searches_files_and_tab_puts_the_path_in() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let (mut app, mut rx) = app();
    while rx.try_recv().is_ok() {}
    for c in "see @cal".chars() {
        app.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    // One search per query typed after the `@`, the last for "cal", rooted at the thread's cwd.
    let sent: Vec<Value> = std::iter::from_fn(|| rx.try_recv().ok())
        .map(|l| serde_json::from_str(&l).expect("json"))
        .collect();
    let queries: Vec<&str> = sent
        .iter()
        .filter(|m| m["method"] == "fuzzyFileSearch")
        .map(|m| m["params"]["query"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(queries, ["c", "ca", "cal"]);
    let last = sent.last().expect("a search");
    assert_eq!(last["params"]["roots"], json!(["/projects/calc"]));
    // An answer to an older query is dropped; the current one fills the popup.
    let answer = |id: &Value, path: &str| {
        json!({"id": id, "result": {"files": [{"root": "/projects/calc", "path": path,
            "match_type": "file", "file_name": path, "score": 9}]}})
    };
    feed(&mut app, answer(&sent[sent.len() - 2]["id"], "old.py"));
    assert!(app.files.is_empty());
    feed(&mut app, answer(&last["id"], "src/calc.py"));
    assert_eq!(app.files, ["src/calc.py"]);
    insta::assert_snapshot!(screens(&app));
    app.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(app.composer.text(), "see src/calc.py ");
}

#[test]
fn a_pasted_image_path_is_attached_and_sent_as_a_local_image() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("shot.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n").expect("write");
    let (mut app, mut rx) = app();
    for c in "what is this ".chars() {
        app.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    // Terminals paste a dropped file as its quoted path.
    app.paste(&format!("'{}'", png.display()));
    assert_eq!(app.composer.text(), "what is this [image shot.png #1] ");
    // A path to something that is not an image stays text.
    app.paste(" /etc/hostname");
    assert!(app.composer.text().ends_with("/etc/hostname"));
    while rx.try_recv().is_ok() {}
    app.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let sent: Value = serde_json::from_str(&rx.try_recv().expect("turn/start")).expect("json");
    assert_eq!(sent["method"], "turn/start");
    assert_eq!(
        sent["params"]["input"],
        json!([
            {"type": "text", "text": "what is this   /etc/hostname", "text_elements": []},
            {"type": "localImage", "path": png.display().to_string()}
        ])
    );
}

fn press(app: &mut App, code: crossterm::event::KeyCode) {
    app.key(crossterm::event::KeyEvent::new(
        code,
        crossterm::event::KeyModifiers::NONE,
    ));
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, crossterm::event::KeyCode::Char(c));
    }
}

/// The requests the app sent since the last call.
fn sent(rx: &mut mpsc::UnboundedReceiver<String>) -> Vec<Value> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .map(|l| serde_json::from_str(&l).expect("json"))
        .collect()
}

#[test]
fn model_then_effort_pickers_set_the_next_turn() {
    use crossterm::event::KeyCode;
    let (mut app, mut rx) = app();
    sent(&mut rx);
    typed(&mut app, "/model");
    press(&mut app, KeyCode::Enter);
    let list = sent(&mut rx);
    assert_eq!(list[0]["method"], "model/list");
    let effort = |e: &str| json!({"reasoningEffort": e, "description": format!("{e} effort")});
    feed(
        &mut app,
        json!({"id": list[0]["id"], "result": {"nextCursor": null, "data": [
            {"model": "gpt-5.5", "description": "the default", "hidden": false,
             "supportedReasoningEfforts": [effort("low"), effort("high")]},
            {"model": "qwen2.5-coder-1.5b", "description": "local, 1.1 GB", "hidden": false,
             "supportedReasoningEfforts": []},
            {"model": "secret", "description": "", "hidden": true, "supportedReasoningEfforts": []}
        ]}}),
    );
    insta::assert_snapshot!("model_picker", screens(&app));
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("effort_picker", screens(&app));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert!(app.picker.is_none());
    typed(&mut app, "go");
    press(&mut app, KeyCode::Enter);
    let turn = sent(&mut rx)
        .into_iter()
        .find(|m| m["method"] == "turn/start")
        .expect("turn");
    assert_eq!(turn["params"]["model"], "gpt-5.5");
    assert_eq!(turn["params"]["effort"], "high");
}

#[test]
fn the_resume_picker_filters_as_you_type() {
    use crossterm::event::KeyCode;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = StartOptions {
        resume: crate::app::Resume::Pick,
        ..Default::default()
    };
    let mut app = App::new(RpcSender::new(tx), Theme::plain(), start);
    app.connect();
    feed(&mut app, json!({"id": 1, "result": {}}));
    let list = sent(&mut rx)
        .into_iter()
        .find(|m| m["method"] == "thread/list")
        .expect("list");
    // An hour ago, so the snapshot does not change with the date.
    let hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        - 3600;
    let thread =
        |id: &str, preview: &str| json!({"id": id, "preview": preview, "updatedAt": hour_ago});
    feed(
        &mut app,
        json!({"id": list["id"], "result": {"nextCursor": null, "backwardsCursor": null,
        "data": [thread("t3", "fix the flaky test"), thread("t2", "rename the crate"),
                 thread("t1", "explain the parser")]}}),
    );
    insta::assert_snapshot!("resume_picker", screens(&app));
    typed(&mut app, "ren");
    insta::assert_snapshot!("resume_picker_filtered", screens(&app));
    press(&mut app, KeyCode::Enter);
    let resume = sent(&mut rx)
        .into_iter()
        .find(|m| m["method"] == "thread/resume")
        .expect("resume");
    assert_eq!(resume["params"]["threadId"], "t2");
}

#[test]
fn the_transcript_view_at_both_sizes() {
    let (mut app, _rx) = app();
    completed(
        &mut app,
        "thr_1",
        command_item("completed", Some("one\ntwo\nthree\n")),
    );
    completed(
        &mut app,
        "thr_1",
        json!({"type": "agentMessage", "id": "m1", "text": "All **three** printed."}),
    );
    let mut out = String::new();
    for (w, h) in SIZES {
        let mut cache = ui::TranscriptCache::default();
        let mut offset = 0;
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        term.draw(|f| ui::draw_overlay(f, &app, &mut cache, &mut offset))
            .expect("draw");
        out.push_str(&format!("--- {w}x{h}\n{}\n", term.backend()));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn slash_resume_switches_threads_and_leaves_the_old_one() {
    use crossterm::event::KeyCode;
    let (mut app, mut rx) = app();
    sent(&mut rx);
    typed(&mut app, "/resume");
    press(&mut app, KeyCode::Enter);
    let list = sent(&mut rx)
        .into_iter()
        .find(|m| m["method"] == "thread/list")
        .expect("list");
    feed(
        &mut app,
        json!({"id": list["id"], "result": {"nextCursor": null, "backwardsCursor": null,
        "data": [{"id": "thr_1", "preview": "this one", "updatedAt": 0},
                 {"id": "thr_0", "preview": "the older one", "updatedAt": 0}]}}),
    );
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let methods: Vec<(String, String)> = sent(&mut rx)
        .iter()
        .map(|m| {
            (
                m["method"].as_str().unwrap_or_default().to_string(),
                m["params"]["threadId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            ("thread/unsubscribe".to_string(), "thr_1".to_string()),
            ("thread/resume".to_string(), "thr_0".to_string())
        ]
    );
}

#[test]
fn mcp_lists_servers_and_a_failure_is_announced_once() {
    use crossterm::event::KeyCode;
    let (mut app, mut rx) = app();
    sent(&mut rx);
    // A server that fails (and fails again on its restart) is said once.
    let failed = json!({"method": "mcpServer/startupStatus/updated", "params": {
        "name": "stuck", "status": "failed", "error": "it did not finish starting within 10 s"}});
    feed(&mut app, failed.clone());
    feed(&mut app, failed);
    typed(&mut app, "/mcp");
    press(&mut app, KeyCode::Enter);
    let list = sent(&mut rx);
    assert_eq!(list[0]["method"], "mcpServerStatus/list");
    feed(
        &mut app,
        json!({"id": list[0]["id"], "result": {"nextCursor": null, "data": [
            {"name": "docs", "authStatus": "unsupported", "runtimeStatus": "connected",
             "resources": [], "resourceTemplates": [],
             "tools": {"search": {"name": "search", "inputSchema": {"type": "object"}},
                       "read": {"name": "read", "inputSchema": {"type": "object"}}}},
            {"name": "stuck", "authStatus": "unsupported", "runtimeStatus": "failed",
             "resources": [], "resourceTemplates": [], "tools": {},
             "toolsError": "it did not finish starting within 10 s"}
        ]}}),
    );
    let text = scrollback(&app);
    let one_width = text.split("--- ").nth(1).unwrap_or_default();
    assert_eq!(
        one_width.matches("MCP server `stuck` failed").count(),
        1,
        "{text}"
    );
    insta::assert_snapshot!("mcp_status", text);
}

/// `item/tool/requestUserInput` with request id `id` asking `questions`.
fn ask(app: &mut App, id: i64, questions: Value) {
    feed(
        app,
        json!({"id": id, "method": "item/tool/requestUserInput", "params": {
            "threadId": "thr_1", "turnId": "turn_1", "itemId": "c_ask",
            "questions": questions, "isBlocking": true}}),
    );
}

fn storage_question() -> Value {
    json!({"id": "storage", "header": "Storage", "question": "Where should sessions be kept?",
        "isOther": true, "isSecret": false, "options": [
            {"label": "SQLite (Recommended)", "description": "One file, no server."},
            {"label": "Postgres", "description": "Needs a server."}]})
}

fn name_question() -> Value {
    json!({"id": "name", "header": "Name", "question": "What should the crate be called?",
        "isOther": true, "isSecret": false, "options": [
            {"label": "wright-store", "description": "Matches the other crates."},
            {"label": "sessions", "description": "Short."}]})
}

#[test]
fn the_models_questions_show_as_a_picker() {
    use crossterm::event::KeyCode;
    let (mut app, _rx) = app();
    turn_started(&mut app);
    ask(&mut app, 7, json!([storage_question(), name_question()]));
    assert!(
        app.approval.is_none(),
        "the model's question is not an approval"
    );
    insta::assert_snapshot!("user_input_picker", screens(&app));
    // The second question, with "Other" open for typing.
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('3'));
    typed(&mut app, "store");
    insta::assert_snapshot!("user_input_picker_other", screens(&app));
}

#[test]
fn the_models_questions_are_answered_once_with_every_answer() {
    use crossterm::event::KeyCode;
    let (mut app, mut rx) = app();
    turn_started(&mut app);
    sent(&mut rx);
    ask(&mut app, 7, json!([storage_question(), name_question()]));
    // j/k and the arrows move; Enter picks the highlighted option.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Enter);
    assert!(
        sent(&mut rx).is_empty(),
        "answered before the last question"
    );
    // "Other" (row 3): Esc goes back to the choices, then a typed answer is sent.
    press(&mut app, KeyCode::Char('3'));
    typed(&mut app, "nope");
    press(&mut app, KeyCode::Esc);
    assert!(app.user_input.as_ref().is_some_and(|u| u.typing.is_none()));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    typed(&mut app, "store-kit");
    press(&mut app, KeyCode::Backspace);
    typed(&mut app, "t");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        sent(&mut rx),
        [json!({"id": 7, "result": {"answers": {
            "storage": {"answers": ["Postgres"]},
            "name": {"answers": ["store-kit"]}}}})]
    );
    assert!(app.user_input.is_none());
    let text = scrollback(&app);
    assert!(
        text.contains("Storage: Postgres") && text.contains("Name: store-kit"),
        "{text}"
    );

    // A digit picks its option directly.
    ask(&mut app, 8, json!([storage_question()]));
    press(&mut app, KeyCode::Char('1'));
    assert_eq!(
        sent(&mut rx),
        [
            json!({"id": 8, "result": {"answers": {"storage": {"answers": ["SQLite (Recommended)"]}}}})
        ]
    );

    // Esc dismisses every question, answered ones included: no answers at all.
    ask(&mut app, 9, json!([storage_question(), name_question()]));
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(sent(&mut rx), [json!({"id": 9, "result": {"answers": {}}})]);
    assert!(app.user_input.is_none());
}

#[test]
fn an_mcp_tool_approval_is_still_an_approval_prompt() {
    use crossterm::event::KeyCode;
    let (mut app, mut rx) = app();
    turn_started(&mut app);
    sent(&mut rx);
    ask(
        &mut app,
        5,
        json!([{"id": "mcp_tool_call_approval_call_1", "header": "Approve app tool call?",
            "question": "Allow the tracker MCP server to run tool \"ok\"?", "isOther": false,
            "isSecret": false, "options": [
                {"label": "Allow", "description": "Run the tool and continue."},
                {"label": "Allow for this session", "description": "Remember it."},
                {"label": "Cancel", "description": "Cancel this tool call."}]}]),
    );
    assert!(app.approval.is_some() && app.user_input.is_none());
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(
        sent(&mut rx),
        [json!({"id": 5, "result": {"answers": {
            "mcp_tool_call_approval_call_1": {"answers": ["Allow for this session"]}}}})]
    );
}
