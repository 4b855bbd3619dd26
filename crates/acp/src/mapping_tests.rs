use super::*;
use agent_client_protocol::v1::schema::{
    EmbeddedResource, ImageContent, ResourceLink, TextResourceContents,
};
use serde_json::Value;
use wright_protocol::v2::CommandExecutionSource;

fn wire<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

fn command(status: CommandExecutionStatus, output: Option<&str>) -> ThreadItem {
    ThreadItem::CommandExecution {
        id: "call_1".into(),
        command: "/bin/bash -lc 'echo hi'".into(),
        cwd: "/w".into(),
        process_id: None,
        source: CommandExecutionSource::Agent,
        status,
        command_actions: Vec::new(),
        aggregated_output: output.map(str::to_string),
        exit_code: Some(0),
        duration_ms: None,
        plugin_id: None,
        script_path: None,
        started_at_ms: None,
        completed_at_ms: None,
    }
}

fn patch(status: PatchApplyStatus) -> ThreadItem {
    ThreadItem::FileChange {
        id: "call_2".into(),
        changes: vec![FileUpdateChange {
            path: "/w/a.txt".into(),
            kind: PatchChangeKind::Update { move_path: None },
            diff: "@@ -1,2 +1,2 @@\n keep\n-old\n+new\n".into(),
        }],
        status,
        started_at_ms: None,
        completed_at_ms: None,
    }
}

#[test]
fn a_command_is_an_execute_tool_call_whose_output_arrives_at_the_end() {
    let call = wire(&tool_call(&command(CommandExecutionStatus::InProgress, None)).unwrap());
    assert_eq!(call["toolCallId"], "call_1");
    assert_eq!(call["kind"], "execute");
    assert_eq!(call["status"], "in_progress");
    assert_eq!(call["title"], "/bin/bash -lc 'echo hi'");
    let done =
        wire(&tool_call_done(&command(CommandExecutionStatus::Completed, Some("hi\n"))).unwrap());
    assert_eq!(done["status"], "completed");
    assert!(done["content"][0]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("hi"));
    let declined = wire(&tool_call_done(&command(CommandExecutionStatus::Declined, None)).unwrap());
    assert_eq!(declined["status"], "failed");
}

#[test]
fn a_patch_is_an_edit_with_its_diff_and_location() {
    let call = wire(&tool_call(&patch(PatchApplyStatus::InProgress)).unwrap());
    assert_eq!(call["kind"], "edit");
    assert_eq!(call["title"], "Edit /w/a.txt");
    assert_eq!(call["locations"][0]["path"], "/w/a.txt");
    let diff = &call["content"][0];
    assert_eq!(diff["type"], "diff");
    assert_eq!(diff["oldText"], "keep\nold\n");
    assert_eq!(diff["newText"], "keep\nnew\n");
    let replayed = wire(&finished_tool_call(&patch(PatchApplyStatus::Completed)).unwrap());
    assert_eq!(replayed["status"], "completed");
}

#[test]
fn an_added_file_shows_its_whole_text() {
    let item = ThreadItem::FileChange {
        id: "c".into(),
        changes: vec![FileUpdateChange {
            path: "/w/new.txt".into(),
            kind: PatchChangeKind::Add,
            diff: "hello\n".into(),
        }],
        status: PatchApplyStatus::InProgress,
        started_at_ms: None,
        completed_at_ms: None,
    };
    let call = wire(&tool_call(&item).unwrap());
    assert_eq!(call["title"], "Create /w/new.txt");
    assert_eq!(call["content"][0]["newText"], "hello\n");
    assert!(call["content"][0].get("oldText").is_none_or(Value::is_null));
}

#[test]
fn messages_are_not_tool_calls() {
    let message = ThreadItem::AgentMessage {
        id: "m".into(),
        text: "hi".into(),
        phase: None,
        moderation: None,
        memory_citation: None,
        delivery: None,
        questions: None,
        started_at_ms: None,
        completed_at_ms: None,
    };
    assert!(tool_call(&message).is_none());
    let replayed = wire(&replay(&message));
    assert_eq!(replayed[0]["sessionUpdate"], "agent_message_chunk");
    assert_eq!(replayed[0]["content"]["text"], "hi");
}

#[test]
fn history_replays_user_text_and_tool_calls() {
    let user = ThreadItem::UserMessage {
        id: "u".into(),
        client_id: None,
        content: vec![UserInput::text("do it")],
        started_at_ms: None,
        completed_at_ms: None,
    };
    let replayed = wire(&replay(&user));
    assert_eq!(replayed[0]["sessionUpdate"], "user_message_chunk");
    let tool = wire(&replay(&command(
        CommandExecutionStatus::Completed,
        Some("ok"),
    )));
    assert_eq!(tool[0]["sessionUpdate"], "tool_call");
    assert_eq!(tool[0]["status"], "completed");
}

#[test]
fn stop_reasons() {
    assert_eq!(
        stop_reason(TurnStatus::Completed, false),
        Ok(StopReason::EndTurn)
    );
    assert_eq!(
        stop_reason(TurnStatus::Interrupted, false),
        Ok(StopReason::Cancelled)
    );
    // ACP: a cancelled prompt says so, however the turn ended.
    assert_eq!(
        stop_reason(TurnStatus::Completed, true),
        Ok(StopReason::Cancelled)
    );
    assert_eq!(stop_reason(TurnStatus::Failed, false), Err(()));
}

#[test]
fn plans_keep_step_order_and_status() {
    let update = wire(&plan(&[
        TurnPlanStep {
            step: "a".into(),
            status: TurnPlanStepStatus::Completed,
        },
        TurnPlanStep {
            step: "b".into(),
            status: TurnPlanStepStatus::InProgress,
        },
    ]));
    assert_eq!(update["sessionUpdate"], "plan");
    assert_eq!(update["entries"][0]["content"], "a");
    assert_eq!(update["entries"][0]["status"], "completed");
    assert_eq!(update["entries"][1]["status"], "in_progress");
}

#[test]
fn prompt_blocks_become_user_input() {
    let blocks = vec![
        ContentBlock::from("fix it"),
        ContentBlock::Image(ImageContent::new("QUJD", "image/png")),
        ContentBlock::ResourceLink(ResourceLink::new("a.rs", "file:///w/a.rs")),
        ContentBlock::Resource(EmbeddedResource::new(
            EmbeddedResourceResource::TextResourceContents(TextResourceContents::new(
                "fn main() {}",
                "file:///w/main.rs",
            )),
        )),
    ];
    let input = prompt_input(&blocks).unwrap();
    assert_eq!(input[0], UserInput::text("fix it"));
    assert!(
        matches!(&input[1], UserInput::Image { url: Some(u), .. } if u == "data:image/png;base64,QUJD")
    );
    assert_eq!(
        input[2],
        UserInput::Mention {
            name: "a.rs".into(),
            path: "/w/a.rs".into()
        }
    );
    assert!(
        matches!(&input[3], UserInput::Text { text, .. } if text.contains("file:///w/main.rs") && text.contains("fn main"))
    );
}

#[test]
fn a_prompt_with_nothing_usable_is_refused() {
    assert!(prompt_input(&[]).is_err());
}

#[test]
fn diff_sides_skip_headers_and_markers() {
    let (old, new) = sides("@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\n");
    assert_eq!((old.as_str(), new.as_str()), ("a\n", "b\n"));
}
