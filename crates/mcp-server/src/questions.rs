//! The App Server's questions during a turn (approve a command, a patch, a call to an MCP
//! tool): asked as elicitations when the client can answer them, else answered "no" at once
//! with a note for the tool's result saying why.

use rmcp::model::ElicitRequestParams;
use rmcp::service::ElicitationMode;
use rmcp::{Peer, RoleServer};
use wright_app_server::client::AppClient;
use wright_protocol::jsonrpc::INTERNAL_ERROR;
use wright_protocol::v2::{
    CommandExecutionRequestApprovalResponse, FileChangeRequestApprovalResponse, FileUpdateChange,
    ServerRequest,
};

use crate::approval::{self, Choice};
use crate::user_input;

/// What the App Server hears when a question about an MCP tool gets no usable answer.
const NO_ANSWER: &str = "the MCP client declined or could not answer";

/// Why `request` cannot be put to the client, as the note the tool's result carries; `None`
/// when it can be asked.
pub fn unaskable(peer: &Peer<RoleServer>, request: &ServerRequest) -> Option<String> {
    let can_ask = peer
        .supported_elicitation_modes()
        .contains(&ElicitationMode::Form);
    let what = match request {
        ServerRequest::CommandExecutionRequestApproval { params, .. } => {
            format!(
                "the command `{}`",
                params.command.as_deref().unwrap_or_default()
            )
        }
        ServerRequest::FileChangeRequestApproval { .. } => "a file change".to_string(),
        ServerRequest::ToolRequestUserInput { params, .. } => {
            if can_ask {
                let user_input::Unaskable(why) = user_input::question(params).err()?;
                return Some(format!("wright declined a call to an MCP tool: {why}"));
            }
            "a call to an MCP tool".to_string()
        }
    };
    if can_ask {
        return None;
    }
    Some(format!(
        "wright declined {what}: it needed approval, and this MCP client cannot be asked (it \
         did not declare the `elicitation` capability). Call `wright` with `approval-policy` \
         `never` to run without questions, inside the `sandbox` you choose."
    ))
}

/// Answers `request` "no" without asking: the command or patch does not run, the model is
/// told, and the turn goes on.
pub async fn refuse(app: &AppClient, request: &ServerRequest) {
    let id = request.id();
    let answered = match request {
        ServerRequest::CommandExecutionRequestApproval { .. } => {
            let decision = Choice::Decline.for_command();
            app.respond(id, CommandExecutionRequestApprovalResponse { decision })
                .await
        }
        ServerRequest::FileChangeRequestApproval { .. } => {
            let decision = Choice::Decline.for_patch();
            app.respond(id, FileChangeRequestApprovalResponse { decision })
                .await
        }
        ServerRequest::ToolRequestUserInput { .. } => {
            app.respond_error(id, INTERNAL_ERROR, NO_ANSWER).await
        }
    };
    if let Err(err) = answered {
        tracing::warn!(request_id = %id, error = %err, "could not answer the app server");
    }
}

/// Asks the client about `request` and answers the App Server with its choice; no answer (the
/// client failed or went away) is not a yes. `changes` are the files of a patch asked about.
pub async fn ask(
    app: AppClient,
    peer: Peer<RoleServer>,
    request: ServerRequest,
    changes: Option<Vec<FileUpdateChange>>,
) {
    let id = request.id().clone();
    let answered = match request {
        ServerRequest::CommandExecutionRequestApproval { params, .. } => {
            let choice = decide(&peer, approval::command_question(&params)).await;
            let decision = choice.for_command();
            app.respond(&id, CommandExecutionRequestApprovalResponse { decision })
                .await
        }
        ServerRequest::FileChangeRequestApproval { params, .. } => {
            let question = approval::patch_question(&params, changes.as_deref());
            let decision = decide(&peer, question).await.for_patch();
            app.respond(&id, FileChangeRequestApprovalResponse { decision })
                .await
        }
        ServerRequest::ToolRequestUserInput { params, .. } => {
            let answers = match user_input::question(&params) {
                Ok(question) => match peer.create_elicitation(question).await {
                    Ok(result) => user_input::answers(&params, &result),
                    Err(err) => {
                        tracing::warn!(error = %err, "the user-input elicitation failed");
                        None
                    }
                },
                // `unaskable` kept these from being asked.
                Err(_) => None,
            };
            match answers {
                Some(answers) => app.respond(&id, answers).await,
                None => app.respond_error(&id, INTERNAL_ERROR, NO_ANSWER).await,
            }
        }
    };
    if let Err(err) = answered {
        tracing::warn!(request_id = %id, error = %err, "could not answer the app server");
    }
}

async fn decide(peer: &Peer<RoleServer>, question: ElicitRequestParams) -> Choice {
    match peer.create_elicitation(question).await {
        Ok(result) => approval::choice(&result),
        Err(err) => {
            tracing::warn!(error = %err, "the approval elicitation failed");
            Choice::Decline
        }
    }
}
