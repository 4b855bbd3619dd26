use serde_json::json;

use super::*;

fn object(value: Value) -> Option<JsonObject> {
    match value {
        Value::Object(object) => Some(object),
        _ => panic!("not an object: {value}"),
    }
}

fn message(err: Error) -> String {
    match err {
        Error::InvalidArguments { message, .. } => message,
        other => panic!("not an argument error: {other}"),
    }
}

#[test]
fn every_codex_argument_maps_onto_thread_start() {
    let args = WrightArgs::parse(object(json!({
        "prompt": "fix the tests",
        "model": "m",
        "profile": "fast",
        "cwd": "repo",
        "approval-policy": "untrusted",
        "sandbox": "workspace-write",
        "config": {"model_reasoning_effort": "high", "profile": "loses"},
        "base-instructions": "be brief",
        "developer-instructions": "use cargo",
        "compact-prompt": "summarise",
    })))
    .unwrap();
    let start = args.thread_start();
    assert_eq!(start.cwd.as_deref(), Some("repo"));
    assert_eq!(start.model.as_deref(), Some("m"));
    assert_eq!(start.approval_policy, Some(AskForApproval::Untrusted));
    assert_eq!(start.sandbox, Some(SandboxMode::WorkspaceWrite));
    assert_eq!(start.base_instructions.as_deref(), Some("be brief"));
    assert_eq!(start.developer_instructions.as_deref(), Some("use cargo"));
    assert_eq!(
        Value::Object(start.config.unwrap()),
        json!({"model_reasoning_effort": "high", "profile": "fast", "compact_prompt": "summarise"})
    );
}

#[test]
fn a_bare_prompt_leaves_everything_to_the_config() {
    let args = WrightArgs::parse(object(json!({"prompt": "hi"}))).unwrap();
    assert_eq!(args.thread_start(), ThreadStartParams::default());
}

#[test]
fn every_policy_and_sandbox_name_is_accepted() {
    for (name, policy) in [
        ("untrusted", AskForApproval::Untrusted),
        ("on-failure", AskForApproval::OnFailure),
        ("on-request", AskForApproval::OnRequest),
        ("never", AskForApproval::Never),
    ] {
        let args =
            WrightArgs::parse(object(json!({"prompt": "p", "approval-policy": name}))).unwrap();
        assert_eq!(args.thread_start().approval_policy, Some(policy), "{name}");
    }
    for (name, mode) in [
        ("read-only", SandboxMode::ReadOnly),
        ("workspace-write", SandboxMode::WorkspaceWrite),
        ("danger-full-access", SandboxMode::DangerFullAccess),
    ] {
        let args = WrightArgs::parse(object(json!({"prompt": "p", "sandbox": name}))).unwrap();
        assert_eq!(args.thread_start().sandbox, Some(mode), "{name}");
    }
}

#[test]
fn bad_arguments_are_named_in_the_error() {
    let err = WrightArgs::parse(object(
        json!({"prompt": "p", "approval-policy": "sometimes"}),
    ));
    let text = message(err.unwrap_err());
    assert!(text.contains("approval-policy"), "{text}");
    assert!(text.contains("sometimes"), "{text}");

    let text = message(WrightArgs::parse(None).unwrap_err());
    assert!(text.contains("missing field `prompt`"), "{text}");

    let text = message(WrightArgs::parse(object(json!({"prompt": 42}))).unwrap_err());
    assert!(text.contains("`prompt`"), "{text}");

    let text = message(WrightArgs::parse(object(json!({"prompt": "  "}))).unwrap_err());
    assert_eq!(text, "`prompt` is empty");

    // A misspelt argument would otherwise be ignored silently (a sandbox not applied).
    let text = message(
        WrightArgs::parse(object(json!({"prompt": "p", "approvalPolicy": "never"}))).unwrap_err(),
    );
    assert!(text.contains("unknown field `approvalPolicy`"), "{text}");

    let text = message(
        WrightArgs::parse(object(
            json!({"prompt": "p", "config": ["not", "a", "map"]}),
        ))
        .unwrap_err(),
    );
    assert!(text.contains("`config`"), "{text}");
}

#[test]
fn reply_takes_thread_id_or_the_legacy_conversation_id() {
    let args = ReplyArgs::parse(object(json!({"threadId": "t1", "prompt": "more"}))).unwrap();
    assert_eq!(args.thread().unwrap(), "t1");
    let args = ReplyArgs::parse(object(json!({"conversationId": "t2", "prompt": "more"}))).unwrap();
    assert_eq!(args.thread().unwrap(), "t2");
    let args = ReplyArgs::parse(object(
        json!({"conversationId": "t3", "threadId": "t3", "prompt": "more"}),
    ))
    .unwrap();
    assert_eq!(args.thread().unwrap(), "t3");

    let text = message(ReplyArgs::parse(object(json!({"prompt": "more"}))).unwrap_err());
    assert!(text.contains("`threadId` is required"), "{text}");
    let text = message(
        ReplyArgs::parse(object(
            json!({"threadId": "a", "conversationId": "b", "prompt": "p"}),
        ))
        .unwrap_err(),
    );
    assert!(text.contains("different threads"), "{text}");
    let text =
        message(ReplyArgs::parse(object(json!({"threadId": "", "prompt": "p"}))).unwrap_err());
    assert!(text.contains("empty"), "{text}");
    let text = message(ReplyArgs::parse(object(json!({"threadId": "t"}))).unwrap_err());
    assert!(text.contains("missing field `prompt`"), "{text}");
}

/// The input schemas are what a client (and its model) sees: Codex's `codex` and `codex-reply`
/// schemas member for member, with wright's descriptions.
#[test]
fn the_schemas_match_codex_tool_for_tool() {
    let tools = list();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, [WRIGHT, WRIGHT_REPLY]);

    let wright = Value::Object((*tools[0].input_schema).clone());
    assert_eq!(wright["type"], "object");
    assert_eq!(wright["required"], json!(["prompt"]));
    let mut members: Vec<&str> = wright["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "approval-policy",
            "base-instructions",
            "compact-prompt",
            "config",
            "cwd",
            "developer-instructions",
            "model",
            "profile",
            "prompt",
            "sandbox"
        ]
    );
    let props = &wright["properties"];
    assert_eq!(props["prompt"]["type"], "string");
    assert_eq!(props["model"]["type"], "string");
    assert_eq!(props["config"]["type"], "object");
    assert_eq!(
        props["approval-policy"]["enum"],
        json!(["untrusted", "on-failure", "on-request", "never"])
    );
    assert_eq!(props["approval-policy"]["type"], "string");
    assert_eq!(
        props["sandbox"]["enum"],
        json!(["read-only", "workspace-write", "danger-full-access"])
    );
    assert!(props["approval-policy"]["description"]
        .as_str()
        .unwrap()
        .contains("elicitation"));
    // Self-contained and without nulls: nothing for a client to resolve or to offer as null.
    let text = wright.to_string();
    assert!(!text.contains("$ref") && !text.contains("null"), "{text}");

    let reply = Value::Object((*tools[1].input_schema).clone());
    assert_eq!(reply["required"], json!(["prompt"]));
    for member in ["threadId", "conversationId", "prompt"] {
        assert_eq!(reply["properties"][member]["type"], "string", "{member}");
    }

    for tool in &tools {
        let output = Value::Object((**tool.output_schema.as_ref().unwrap()).clone());
        assert_eq!(output["required"], json!(["threadId", "content"]));
        assert_eq!(output["properties"]["threadId"]["type"], "string");
        assert_eq!(output["properties"]["content"]["type"], "string");
    }
}

#[test]
fn tidy_keeps_the_non_null_branch_on_one_line() {
    let mut schema = json!({
        "properties": {
            "a": {"type": ["string", "null"], "default": null, "description": "one\ntwo"},
            "b": {"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "null"}], "description": "d"},
            "c": {"enum": ["x", null], "type": ["string", "null"]},
        }
    });
    tidy(&mut schema);
    assert_eq!(
        schema,
        json!({
            "properties": {
                "a": {"type": "string", "description": "one two"},
                "b": {"type": "string", "enum": ["x"], "description": "d"},
                "c": {"enum": ["x"], "type": "string"},
            }
        })
    );
}
