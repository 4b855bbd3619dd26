//! The App Server's approval questions as MCP elicitations (`elicitation/create`), and the
//! client's answer back as the App Server's decision.
//!
//! The form has one member, `decision`: `approve`, `approve-for-session` or `decline`
//! (default `approve`, so that a client that shows only Accept / Decline buttons means what
//! its buttons say). Accept with `decline` in the form, Decline and Cancel are all a "no":
//! the command or patch does not run, the model is told, and the turn goes on.

use std::collections::BTreeMap;

use rmcp::model::{
    ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, EnumSchema,
    PrimitiveSchemaDefinition,
};
use serde_json::Value;
use wright_protocol::v2::{
    CommandExecutionApprovalDecision, CommandExecutionRequestApprovalParams,
    FileChangeApprovalDecision, FileChangeRequestApprovalParams, FileUpdateChange, PatchChangeKind,
};

/// The form member that holds the answer.
pub const DECISION: &str = "decision";
/// Run it (this once).
pub const APPROVE: &str = "approve";
/// Run it, and do not ask again for the same command in this session.
pub const APPROVE_FOR_SESSION: &str = "approve-for-session";
/// Do not run it.
pub const DECLINE: &str = "decline";

/// At most this many characters of a patch's diff in the question: enough to judge a small
/// change, and a client's dialog is no place for a large one (its paths are always listed).
const MAX_DIFF_CHARS: usize = 4_000;

/// The user's answer, whatever the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Approve,
    ApproveForSession,
    Decline,
}

impl Choice {
    /// As the answer to a command question.
    pub fn for_command(self) -> CommandExecutionApprovalDecision {
        match self {
            Choice::Approve => CommandExecutionApprovalDecision::Accept,
            Choice::ApproveForSession => CommandExecutionApprovalDecision::AcceptForSession,
            Choice::Decline => CommandExecutionApprovalDecision::Decline,
        }
    }

    /// As the answer to a patch question.
    pub fn for_patch(self) -> FileChangeApprovalDecision {
        match self {
            Choice::Approve => FileChangeApprovalDecision::Accept,
            Choice::ApproveForSession => FileChangeApprovalDecision::AcceptForSession,
            Choice::Decline => FileChangeApprovalDecision::Decline,
        }
    }
}

/// The elicitation asking about a command.
pub fn command_question(params: &CommandExecutionRequestApprovalParams) -> ElicitRequestParams {
    let command = params.command.as_deref().unwrap_or("(a command)");
    let mut message = format!("wright wants to run a command:\n\n    {command}\n");
    if let Some(cwd) = &params.cwd {
        message.push_str(&format!("\nin {cwd}\n"));
    }
    if let Some(reason) = &params.reason {
        message.push_str(&format!("\nReason: {reason}\n"));
    }
    message.push_str("\nApprove it?");
    form(message)
}

/// The elicitation asking about a patch; `changes` are the files of its item (announced by
/// `item/started` before the question), when known.
pub fn patch_question(
    params: &FileChangeRequestApprovalParams,
    changes: Option<&[FileUpdateChange]>,
) -> ElicitRequestParams {
    let mut message = String::from("wright wants to edit files:\n\n");
    for change in changes.unwrap_or_default() {
        let kind = match &change.kind {
            PatchChangeKind::Add => "add".to_string(),
            PatchChangeKind::Delete => "delete".to_string(),
            PatchChangeKind::Update { move_path: None } => "update".to_string(),
            PatchChangeKind::Update {
                move_path: Some(to),
            } => format!("move to {to}"),
        };
        message.push_str(&format!("    {kind}: {}\n", change.path));
    }
    let diff: String = changes
        .unwrap_or_default()
        .iter()
        .map(|c| c.diff.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    if !diff.trim().is_empty() {
        let shown: String = diff.chars().take(MAX_DIFF_CHARS).collect();
        message.push_str(&format!("\n{shown}\n"));
        if shown.len() < diff.len() {
            message.push_str("(diff cut)\n");
        }
    }
    if let Some(reason) = &params.reason {
        message.push_str(&format!("\nReason: {reason}\n"));
    }
    message.push_str("\nApprove these changes?");
    form(message)
}

/// The client's answer. Anything but an accepted form that approves is a "no": a client
/// that sends a value this server did not offer has not said yes.
pub fn choice(result: &ElicitResult) -> Choice {
    if result.action != ElicitationAction::Accept {
        return Choice::Decline;
    }
    let decision = result.content.as_ref().and_then(|c| c.get(DECISION));
    match decision {
        // Accepted without a value: the form's default.
        None | Some(Value::Null) => Choice::Approve,
        Some(Value::String(s)) if s == APPROVE => Choice::Approve,
        Some(Value::String(s)) if s == APPROVE_FOR_SESSION => Choice::ApproveForSession,
        // A client that renders the choice as a checkbox.
        Some(Value::Bool(true)) => Choice::Approve,
        Some(_) => Choice::Decline,
    }
}

fn form(message: String) -> ElicitRequestParams {
    let builder = || {
        let values = [APPROVE, APPROVE_FOR_SESSION, DECLINE]
            .map(String::from)
            .to_vec();
        EnumSchema::builder(values).description(
            "approve: run it once; approve-for-session: also allow it again in this session; \
             decline: do not run it",
        )
    };
    // The default is one of the values just listed, so this cannot fail; without it the
    // client would simply offer no preselection.
    let decision = match builder().with_default(APPROVE) {
        Ok(with_default) => with_default.build(),
        Err(_) => builder().build(),
    };
    let properties = BTreeMap::from([(
        DECISION.to_string(),
        PrimitiveSchemaDefinition::Enum(decision),
    )]);
    let mut schema = ElicitationSchema::new(properties);
    schema.required = Some(vec![DECISION.to_string()]);
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wright_protocol::v2::CommandExecutionApprovalKind;

    fn answer(action: ElicitationAction, content: Option<Value>) -> Choice {
        let mut result = ElicitResult::new(action);
        result.content = content;
        choice(&result)
    }

    #[test]
    fn only_an_accepted_approval_is_a_yes() {
        use ElicitationAction::*;
        assert_eq!(
            answer(Accept, Some(json!({"decision": "approve"}))),
            Choice::Approve
        );
        assert_eq!(
            answer(Accept, Some(json!({"decision": "approve-for-session"}))),
            Choice::ApproveForSession
        );
        assert_eq!(answer(Accept, None), Choice::Approve);
        assert_eq!(
            answer(Accept, Some(json!({"decision": true}))),
            Choice::Approve
        );
        assert_eq!(
            answer(Accept, Some(json!({"decision": "decline"}))),
            Choice::Decline
        );
        assert_eq!(
            answer(Accept, Some(json!({"decision": "yes!"}))),
            Choice::Decline
        );
        assert_eq!(
            answer(Accept, Some(json!({"decision": false}))),
            Choice::Decline
        );
        assert_eq!(
            answer(Decline, Some(json!({"decision": "approve"}))),
            Choice::Decline
        );
        assert_eq!(answer(Cancel, None), Choice::Decline);
    }

    #[test]
    fn choices_become_the_app_servers_decisions() {
        assert_eq!(
            Choice::ApproveForSession.for_command(),
            CommandExecutionApprovalDecision::AcceptForSession
        );
        assert_eq!(
            Choice::Decline.for_command(),
            CommandExecutionApprovalDecision::Decline
        );
        assert_eq!(
            Choice::Approve.for_patch(),
            FileChangeApprovalDecision::Accept
        );
    }

    #[test]
    fn a_command_question_shows_the_command_and_asks_for_a_decision() {
        let params = CommandExecutionRequestApprovalParams {
            kind: CommandExecutionApprovalKind::Command,
            thread_id: "t".into(),
            turn_id: "u".into(),
            item_id: "i".into(),
            started_at_ms: 0,
            environment_id: None,
            approval_id: None,
            reason: Some("needs the network".into()),
            command: Some("/bin/bash -lc 'curl x'".into()),
            cwd: Some("/w".into()),
            command_actions: None,
            network_approval_context: None,
            proposed_execpolicy_amendment: None,
            proposed_network_policy_amendments: None,
            available_decisions: None,
        };
        let wire = serde_json::to_value(command_question(&params)).unwrap();
        assert_eq!(wire["mode"], "form");
        let message = wire["message"].as_str().unwrap();
        for part in ["curl x", "/w", "needs the network"] {
            assert!(message.contains(part), "{message}");
        }
        let schema = &wire["requestedSchema"];
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["decision"]));
        assert_eq!(
            schema["properties"]["decision"]["enum"],
            json!(["approve", "approve-for-session", "decline"])
        );
        assert_eq!(schema["properties"]["decision"]["default"], "approve");
    }

    #[test]
    fn a_patch_question_lists_its_files_and_diff() {
        let params = FileChangeRequestApprovalParams {
            thread_id: "t".into(),
            turn_id: "u".into(),
            item_id: "i".into(),
            started_at_ms: 0,
            reason: None,
            grant_root: None,
        };
        let changes = [FileUpdateChange {
            path: "/w/a.txt".into(),
            kind: PatchChangeKind::Add,
            diff: "+hello".into(),
        }];
        let ElicitRequestParams::FormElicitationParams { message, .. } =
            patch_question(&params, Some(&changes))
        else {
            panic!("not a form");
        };
        assert!(message.contains("add: /w/a.txt"), "{message}");
        assert!(message.contains("+hello"), "{message}");
    }
}
