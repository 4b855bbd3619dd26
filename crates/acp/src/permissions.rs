//! The App Server's approval questions as ACP permission requests, and the user's choice back
//! as the App Server's decisions.

use agent_client_protocol::v1::schema::{
    PermissionOption, PermissionOptionKind, RequestPermissionOutcome, RequestPermissionRequest,
    ToolCallStatus, ToolCallUpdate, ToolCallUpdateFields, ToolKind,
};
use serde_json::json;
use wright_protocol::v2::{
    CommandExecutionApprovalDecision, CommandExecutionRequestApprovalParams,
    FileChangeApprovalDecision, FileChangeRequestApprovalParams, ToolRequestUserInputAnswer,
    ToolRequestUserInputParams, ToolRequestUserInputResponse,
};

/// Option ids, stable so a client may remember a choice.
pub const ALLOW_ONCE: &str = "allow_once";
pub const ALLOW_ALWAYS: &str = "allow_always";
pub const REJECT_ONCE: &str = "reject_once";

/// What the user may answer: once, for the rest of the session, or no.
fn options(always: &str) -> Vec<PermissionOption> {
    vec![
        PermissionOption::new(ALLOW_ONCE, "Allow", PermissionOptionKind::AllowOnce),
        PermissionOption::new(ALLOW_ALWAYS, always, PermissionOptionKind::AllowAlways),
        PermissionOption::new(REJECT_ONCE, "Reject", PermissionOptionKind::RejectOnce),
    ]
}

/// `item/commandExecution/requestApproval` as `session/request_permission`. The tool call it
/// names is the command's (already announced); the title says why the model wants it.
pub fn command_request(
    session_id: &str,
    params: &CommandExecutionRequestApprovalParams,
) -> RequestPermissionRequest {
    let command = params.command.clone().unwrap_or_default();
    let title = match &params.reason {
        Some(reason) => format!("{command} ({reason})"),
        None => command.clone(),
    };
    let fields = ToolCallUpdateFields::new()
        .kind(ToolKind::Execute)
        .status(ToolCallStatus::Pending)
        .title(title)
        .raw_input(json!({"command": command, "cwd": params.cwd}));
    RequestPermissionRequest::new(
        session_id.to_string(),
        ToolCallUpdate::new(params.item_id.clone(), fields),
        options("Always allow this command in this session"),
    )
}

/// `item/fileChange/requestApproval` as `session/request_permission`; the diff is in the tool
/// call the item started.
pub fn patch_request(
    session_id: &str,
    params: &FileChangeRequestApprovalParams,
) -> RequestPermissionRequest {
    let mut fields = ToolCallUpdateFields::new()
        .kind(ToolKind::Edit)
        .status(ToolCallStatus::Pending);
    if let Some(reason) = &params.reason {
        fields = fields.title(reason.clone());
    }
    RequestPermissionRequest::new(
        session_id.to_string(),
        ToolCallUpdate::new(params.item_id.clone(), fields),
        options("Always allow edits in this session"),
    )
}

/// `item/tool/requestUserInput` (an MCP tool call's approval) as `session/request_permission`
/// about the tool call it names; the question is the title.
pub fn user_input_request(
    session_id: &str,
    params: &ToolRequestUserInputParams,
) -> RequestPermissionRequest {
    let title = params
        .questions
        .first()
        .map(|q| q.question.clone())
        .unwrap_or_default();
    let fields = ToolCallUpdateFields::new()
        .status(ToolCallStatus::Pending)
        .title(title);
    RequestPermissionRequest::new(
        session_id.to_string(),
        ToolCallUpdate::new(params.item_id.clone(), fields),
        options("Allow this tool in this session"),
    )
}

/// The user's choice as the answer to the first question: the label the App Server offers
/// for it (`Allow`, `Allow for this session`), else `Cancel`.
pub fn user_input_answer(
    params: &ToolRequestUserInputParams,
    outcome: Option<&RequestPermissionOutcome>,
) -> ToolRequestUserInputResponse {
    let label = match outcome.map(chosen) {
        Some(Choice::Once) => "Allow",
        Some(Choice::Always) => "Allow for this session",
        _ => "Cancel",
    };
    ToolRequestUserInputResponse {
        answers: params
            .questions
            .first()
            .map(|q| {
                let answer = ToolRequestUserInputAnswer {
                    answers: vec![label.to_string()],
                };
                (q.id.clone(), answer)
            })
            .into_iter()
            .collect(),
    }
}

/// The user's choice for a command. A cancelled request (the prompt was cancelled) stops the
/// turn; an option this agent did not offer is a no.
pub fn command_decision(outcome: &RequestPermissionOutcome) -> CommandExecutionApprovalDecision {
    match chosen(outcome) {
        Choice::Once => CommandExecutionApprovalDecision::Accept,
        Choice::Always => CommandExecutionApprovalDecision::AcceptForSession,
        Choice::No => CommandExecutionApprovalDecision::Decline,
        Choice::Cancelled => CommandExecutionApprovalDecision::Cancel,
    }
}

/// The user's choice for a patch (as [`command_decision`]).
pub fn patch_decision(outcome: &RequestPermissionOutcome) -> FileChangeApprovalDecision {
    match chosen(outcome) {
        Choice::Once => FileChangeApprovalDecision::Accept,
        Choice::Always => FileChangeApprovalDecision::AcceptForSession,
        Choice::No => FileChangeApprovalDecision::Decline,
        Choice::Cancelled => FileChangeApprovalDecision::Cancel,
    }
}

enum Choice {
    Once,
    Always,
    No,
    Cancelled,
}

fn chosen(outcome: &RequestPermissionOutcome) -> Choice {
    match outcome {
        RequestPermissionOutcome::Selected(selected) => match &*selected.option_id.0 {
            ALLOW_ONCE => Choice::Once,
            ALLOW_ALWAYS => Choice::Always,
            _ => Choice::No,
        },
        RequestPermissionOutcome::Cancelled => Choice::Cancelled,
        // A newer protocol's outcome this agent does not know: not a yes.
        _ => Choice::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_client_protocol::v1::schema::SelectedPermissionOutcome;
    use wright_protocol::v2::CommandExecutionApprovalKind;

    fn selected(id: &str) -> RequestPermissionOutcome {
        RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(id.to_string()))
    }

    #[test]
    fn choices_become_decisions() {
        use CommandExecutionApprovalDecision as D;
        assert_eq!(command_decision(&selected(ALLOW_ONCE)), D::Accept);
        assert_eq!(
            command_decision(&selected(ALLOW_ALWAYS)),
            D::AcceptForSession
        );
        assert_eq!(command_decision(&selected(REJECT_ONCE)), D::Decline);
        assert_eq!(command_decision(&selected("made-up")), D::Decline);
        assert_eq!(
            command_decision(&RequestPermissionOutcome::Cancelled),
            D::Cancel
        );
        assert_eq!(
            patch_decision(&selected(ALLOW_ALWAYS)),
            FileChangeApprovalDecision::AcceptForSession
        );
        assert_eq!(
            patch_decision(&RequestPermissionOutcome::Cancelled),
            FileChangeApprovalDecision::Cancel
        );
    }

    #[test]
    fn a_command_question_names_its_tool_call_and_offers_three_options() {
        let params = CommandExecutionRequestApprovalParams {
            kind: CommandExecutionApprovalKind::Command,
            thread_id: "t".into(),
            turn_id: "u".into(),
            item_id: "call_1".into(),
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
        let request = command_request("t", &params);
        let wire = serde_json::to_value(&request).unwrap();
        assert_eq!(wire["sessionId"], "t");
        assert_eq!(wire["toolCall"]["toolCallId"], "call_1");
        assert_eq!(wire["toolCall"]["kind"], "execute");
        assert!(wire["toolCall"]["title"]
            .as_str()
            .unwrap()
            .contains("needs the network"));
        let kinds: Vec<&str> = wire["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["allow_once", "allow_always", "reject_once"]);
    }
}
