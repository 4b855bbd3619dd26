//! Conformance of the App Server v2 types with Codex 0.169.
//!
//! 1. Every client message and every in-subset server message of the App Server captures (and
//!    the results in `appserver-misc-responses.json`) parses into our types, and re-serializing
//!    never changes a value or a name (members we don't model may be dropped).
//! 2. Sample values of every notification, server request, response and client request validate
//!    against Codex's JSON Schema (via `tests/validate_schema.py`, Python `jsonschema`).
//!
//! The reference lives next to the repo (`../../../shared/reference` from this crate); when it
//! or `jsonschema` is missing the tests print a note and pass.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use wright_protocol::jsonrpc::RequestId;
use wright_protocol::v2::*;

fn reference_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference");
    if dir.join("codex-app-server-schema").is_dir() && dir.join("captures").is_dir() {
        Some(dir)
    } else {
        println!(
            "note: {} not found; skipping Codex conformance checks",
            dir.display()
        );
        None
    }
}

const CAPTURES: &[&str] = &[
    "appserver-turn.jsonl",
    "appserver-fix_bug-untrusted.jsonl",
    "appserver-onrequest-escalation-accepted.jsonl",
    "appserver-onrequest-escalation-declined.jsonl",
];

/// Every member of `mine` must exist in `orig` with the same value (recursively).
fn check_subset(mine: &Value, orig: &Value, path: &str, errors: &mut Vec<String>) {
    match (mine, orig) {
        (Value::Object(m), Value::Object(o)) => {
            for (k, v) in m {
                match o.get(k) {
                    Some(ov) => check_subset(v, ov, &format!("{path}.{k}"), errors),
                    None => errors.push(format!("{path}.{k}: not in the original (ours: {v})")),
                }
            }
        }
        (Value::Array(m), Value::Array(o)) => {
            if m.len() != o.len() {
                errors.push(format!("{path}: length {} vs {}", m.len(), o.len()));
                return;
            }
            for (i, (a, b)) in m.iter().zip(o).enumerate() {
                check_subset(a, b, &format!("{path}[{i}]"), errors);
            }
        }
        _ => {
            if mine != orig {
                errors.push(format!("{path}: ours {mine} vs original {orig}"));
            }
        }
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(
    value: &Value,
    label: &str,
    errors: &mut Vec<String>,
) {
    match serde_json::from_value::<T>(value.clone()) {
        Ok(typed) => {
            let again = serde_json::to_value(&typed).unwrap();
            check_subset(&again, value, label, errors);
        }
        Err(e) => errors.push(format!("{label}: does not parse: {e}")),
    }
}

/// Parse a client request's result by method and round-trip it.
fn roundtrip_result(method: &str, result: &Value, label: &str, errors: &mut Vec<String>) -> bool {
    match method {
        "initialize" => roundtrip::<InitializeResponse>(result, label, errors),
        "thread/start" => roundtrip::<ThreadStartResponse>(result, label, errors),
        "thread/resume" => roundtrip::<ThreadResumeResponse>(result, label, errors),
        "thread/fork" => roundtrip::<ThreadForkResponse>(result, label, errors),
        "thread/list" => roundtrip::<ThreadListResponse>(result, label, errors),
        "thread/read" => roundtrip::<ThreadReadResponse>(result, label, errors),
        "thread/unarchive" => roundtrip::<ThreadUnarchiveResponse>(result, label, errors),
        "turn/start" => roundtrip::<TurnStartResponse>(result, label, errors),
        "turn/steer" => roundtrip::<TurnSteerResponse>(result, label, errors),
        "model/list" => roundtrip::<ModelListResponse>(result, label, errors),
        "config/read" => roundtrip::<ConfigReadResponse>(result, label, errors),
        "account/read" => roundtrip::<GetAccountResponse>(result, label, errors),
        "modelProvider/list" => roundtrip::<ModelProviderListResponse>(result, label, errors),
        "command/exec" => roundtrip::<CommandExecResponse>(result, label, errors),
        "thread/archive" | "thread/name/set" | "thread/compact/start" | "turn/interrupt" => {
            roundtrip::<EmptyResponse>(result, label, errors)
        }
        _ => return false,
    }
    true
}

#[test]
fn captures_roundtrip() {
    let Some(reference) = reference_dir() else {
        return;
    };
    let mut errors = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for file in CAPTURES {
        let text = std::fs::read_to_string(reference.join("captures").join(file)).unwrap();
        let mut client_methods: HashMap<RequestId, String> = HashMap::new();
        let mut server_methods: HashMap<RequestId, String> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let rec: Value = serde_json::from_str(line).unwrap();
            let msg = &rec["msg"];
            let dir = rec["dir"].as_str().unwrap();
            let label = format!("{file}:{}", n + 1);
            let id: Option<RequestId> = msg
                .get("id")
                .map(|v| serde_json::from_value(v.clone()).unwrap());
            let method = msg.get("method").and_then(Value::as_str);
            match (dir, method, id) {
                ("->", Some(method), Some(id)) => {
                    match parse_client_request(method, msg.get("params").cloned()) {
                        Ok(req) => {
                            let again = serde_json::to_value(&req).unwrap();
                            check_subset(&again, msg, &label, &mut errors);
                        }
                        Err(e) => errors.push(format!("{label}: {method}: {e}")),
                    }
                    client_methods.insert(id, method.to_string());
                    *counts.entry(format!("-> {method}")).or_default() += 1;
                }
                ("->", Some(method), None) => {
                    roundtrip::<ClientNotification>(msg, &label, &mut errors);
                    *counts.entry(format!("-> {method}")).or_default() += 1;
                }
                ("->", None, Some(id)) => {
                    let method = server_methods.get(&id).cloned().unwrap_or_default();
                    let result = &msg["result"];
                    match method.as_str() {
                        "item/commandExecution/requestApproval" => roundtrip::<
                            CommandExecutionRequestApprovalResponse,
                        >(
                            result, &label, &mut errors
                        ),
                        "item/fileChange/requestApproval" => roundtrip::<
                            FileChangeRequestApprovalResponse,
                        >(
                            result, &label, &mut errors
                        ),
                        other => errors.push(format!("{label}: reply to unknown request {other}")),
                    }
                    *counts.entry(format!("-> reply {method}")).or_default() += 1;
                }
                ("<-", Some(method), Some(id)) => {
                    server_methods.insert(id, method.to_string());
                    if ServerRequest::METHODS.contains(&method) {
                        roundtrip::<ServerRequest>(msg, &label, &mut errors);
                        *counts.entry(format!("<- {method}")).or_default() += 1;
                    }
                }
                ("<-", Some(method), None) => {
                    if ServerNotification::METHODS.contains(&method) {
                        roundtrip::<ServerNotification>(msg, &label, &mut errors);
                        *counts.entry(format!("<- {method}")).or_default() += 1;
                    }
                }
                ("<-", None, Some(id)) => {
                    let method = client_methods.get(&id).cloned().unwrap_or_default();
                    if let Some(result) = msg.get("result") {
                        if roundtrip_result(&method, result, &label, &mut errors) {
                            *counts.entry(format!("<- result {method}")).or_default() += 1;
                        }
                    }
                }
                _ => errors.push(format!("{label}: unexpected message {msg}")),
            }
        }
    }

    let misc: Value = serde_json::from_str(
        &std::fs::read_to_string(reference.join("captures/appserver-misc-responses.json")).unwrap(),
    )
    .unwrap();
    for method in [
        "model/list",
        "config/read",
        "thread/list",
        "account/read",
        "modelProvider/list",
    ] {
        let label = format!("misc {method}");
        assert!(roundtrip_result(
            method,
            &misc[method]["result"],
            &label,
            &mut errors
        ));
        *counts.entry(format!("<- result {method}")).or_default() += 1;
    }

    println!("covered: {counts:#?}");
    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
    for must in [
        "-> initialize",
        "-> thread/start",
        "-> turn/start",
        "-> initialized",
        "-> reply item/commandExecution/requestApproval",
        "-> reply item/fileChange/requestApproval",
        "<- item/commandExecution/requestApproval",
        "<- item/fileChange/requestApproval",
        "<- thread/started",
        "<- turn/completed",
        "<- item/completed",
        "<- result thread/start",
        "<- result turn/start",
        "<- result initialize",
    ] {
        assert!(counts.contains_key(must), "no `{must}` covered");
    }
}

mod samples;

use samples::*;

fn python_with_jsonschema() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Some("python3")
    } else {
        println!("note: python3 with `jsonschema` not available (pip install jsonschema); skipping schema validation");
        None
    }
}

#[test]
fn samples_validate_against_codex_schema() {
    let Some(reference) = reference_dir() else {
        return;
    };
    let Some(python) = python_with_jsonschema() else {
        return;
    };
    let mut lines = Vec::new();
    let mut push = |label: String, schema: &str, value: Value| {
        lines.push(json!({"label": label, "schema": schema, "value": value}).to_string());
    };

    for (i, n) in notifications().into_iter().enumerate() {
        let label = format!("notification #{i} {}", n.method());
        // What goes on the wire, including Codex's `emittedAtMs`.
        let wire = serde_json::to_value(n.to_jsonrpc(Some(1_795_585_747_093))).unwrap();
        assert_eq!(wire["method"], n.method());
        push(label, "ServerNotification", wire);
        // Also the params alone against their own definition.
        let v = serde_json::to_value(&n).unwrap();
        let params_def = match &n {
            ServerNotification::Error(_) => "ErrorNotification",
            ServerNotification::ThreadStarted(_) => "ThreadStartedNotification",
            ServerNotification::ThreadStatusChanged(_) => "ThreadStatusChangedNotification",
            ServerNotification::ThreadArchived(_) => "ThreadArchivedNotification",
            ServerNotification::ThreadDeleted(_) => "ThreadDeletedNotification",
            ServerNotification::ThreadUnarchived(_) => "ThreadUnarchivedNotification",
            ServerNotification::ThreadNameUpdated(_) => "ThreadNameUpdatedNotification",
            ServerNotification::ThreadTokenUsageUpdated(_) => "ThreadTokenUsageUpdatedNotification",
            ServerNotification::ContextCompacted(_) => "ContextCompactedNotification",
            ServerNotification::TurnStarted(_) => "TurnStartedNotification",
            ServerNotification::TurnCompleted(_) => "TurnCompletedNotification",
            ServerNotification::TurnDiffUpdated(_) => "TurnDiffUpdatedNotification",
            ServerNotification::TurnPlanUpdated(_) => "TurnPlanUpdatedNotification",
            ServerNotification::ItemStarted(_) => "ItemStartedNotification",
            ServerNotification::ItemCompleted(_) => "ItemCompletedNotification",
            ServerNotification::AgentMessageDelta(_) => "AgentMessageDeltaNotification",
            ServerNotification::CommandExecutionOutputDelta(_) => {
                "CommandExecutionOutputDeltaNotification"
            }
            ServerNotification::TerminalInteraction(_) => "TerminalInteractionNotification",
            ServerNotification::SkillsChanged(_) => "SkillsChangedNotification",
            ServerNotification::Warning(_) => "WarningNotification",
            ServerNotification::HookStarted(_) => "HookStartedNotification",
            ServerNotification::HookCompleted(_) => "HookCompletedNotification",
            ServerNotification::ReasoningSummaryTextDelta(_) => {
                "ReasoningSummaryTextDeltaNotification"
            }
            ServerNotification::ReasoningTextDelta(_) => "ReasoningTextDeltaNotification",
            ServerNotification::ItemGuardianApprovalReviewStarted(_) => {
                "ItemGuardianApprovalReviewStartedNotification"
            }
            ServerNotification::ItemGuardianApprovalReviewCompleted(_) => {
                "ItemGuardianApprovalReviewCompletedNotification"
            }
            ServerNotification::ServerRequestResolved(_) => "ServerRequestResolvedNotification",
            ServerNotification::ConfigWarning(_) => "ConfigWarningNotification",
            ServerNotification::AccountUpdated(_) => "AccountUpdatedNotification",
            ServerNotification::AccountLoginCompleted(_) => "AccountLoginCompletedNotification",
            ServerNotification::CommandExecOutputDelta(_) => "CommandExecOutputDeltaNotification",
            ServerNotification::FsChanged(_) => "FsChangedNotification",
            ServerNotification::McpToolCallProgress(_) => "McpToolCallProgressNotification",
            ServerNotification::McpServerStatusUpdated(_) => "McpServerStatusUpdatedNotification",
            ServerNotification::McpServerOauthLoginCompleted(_) => {
                "McpServerOauthLoginCompletedNotification"
            }
        };
        push(
            format!("notification #{i} params"),
            &format!("v2:{params_def}"),
            v["params"].clone(),
        );
    }
    for (i, r) in server_requests().into_iter().enumerate() {
        let wire = serde_json::to_value(r.to_jsonrpc()).unwrap();
        assert_eq!(wire, serde_json::to_value(&r).unwrap());
        push(
            format!("server request #{i} {}", r.method()),
            "ServerRequest",
            wire,
        );
    }
    for (i, (schema, value)) in responses().into_iter().enumerate() {
        push(format!("response #{i} {schema}"), &schema, value);
    }
    for (i, req) in client_requests().into_iter().enumerate() {
        let mut v = serde_json::to_value(&req).unwrap();
        v["id"] = json!(i + 10);
        // And it parses back through parse_client_request.
        let back = parse_client_request(req.method(), Some(v["params"].clone())).unwrap();
        assert_eq!(back, req);
        push(
            format!("client request {}", req.method()),
            "ClientRequest",
            v,
        );
    }

    let samples = std::env::temp_dir().join(format!(
        "wright-protocol-v2-samples-{}-{}.jsonl",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&samples, lines.join("\n") + "\n").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate_schema.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(reference.join("codex-app-server-schema"))
        .arg(&samples)
        .output()
        .expect("run validate_schema.py");
    let _ = std::fs::remove_file(&samples);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "schema validation failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn samples_roundtrip_through_serde() {
    for n in notifications() {
        let v = serde_json::to_value(&n).unwrap();
        let back: ServerNotification = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, n, "{v}");
    }
    for r in server_requests() {
        let v = serde_json::to_value(&r).unwrap();
        let back: ServerRequest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, r, "{v}");
    }
    for req in client_requests() {
        let v = serde_json::to_value(&req).unwrap();
        let back: ClientRequest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, req, "{v}");
    }
}

#[test]
fn thread_search_in_codex_shape() {
    let req = parse_client_request(
        "thread/search",
        Some(json!({"searchTerm": "inventory bug", "limit": 5, "sortKey": "updated_at"})),
    )
    .unwrap();
    assert_eq!(
        req,
        ClientRequest::ThreadSearch(ThreadSearchParams {
            search_term: "inventory bug".into(),
            limit: Some(5),
            sort_key: Some(ThreadSearchSortKey::UpdatedAt),
            ..Default::default()
        })
    );
    // Codex's old wright-only shape is refused, naming the missing member.
    let err = parse_client_request("thread/search", Some(json!({"query": "x"}))).unwrap_err();
    assert!(err.to_string().contains("searchTerm"), "{err}");
}

#[test]
fn background_terminals_in_codex_shape() {
    let cases = [
        (
            "thread/backgroundTerminals/list",
            json!({"threadId": "t", "cursor": null, "limit": 25}),
        ),
        (
            "thread/backgroundTerminals/terminate",
            json!({"threadId": "t", "processId": "42"}),
        ),
        ("thread/backgroundTerminals/clean", json!({"threadId": "t"})),
    ];
    for (method, params) in cases {
        let req = parse_client_request(method, Some(params.clone())).unwrap();
        assert_eq!(req.method(), method);
    }
    let err = parse_client_request(
        "thread/backgroundTerminals/terminate",
        Some(json!({"threadId": "t"})),
    )
    .unwrap_err();
    assert!(err.to_string().contains("processId"), "{err}");
}
