//! Server→client requests (approvals) and the replies clients send.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::items::CommandAction;
use crate::jsonrpc::{JsonRpcRequest, RequestId};

/// Params of `item/commandExecution/requestApproval`. Unset optional members are omitted, as
/// Codex does (except `environmentId`, which Codex always sends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecutionRequestApprovalParams {
    #[serde(default)]
    pub kind: CommandExecutionApprovalKind,
    pub thread_id: String,
    pub turn_id: String,
    /// Id of the `commandExecution` item (already announced by `item/started`).
    pub item_id: String,
    /// Unix ms.
    pub started_at_ms: i64,
    #[serde(default)]
    pub environment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// Why the model wants to run it (its `justification`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_actions: Option<Vec<CommandAction>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_approval_context: Option<NetworkApprovalContext>,
    /// argv prefix the user may allow for the rest of the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_execpolicy_amendment: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_network_policy_amendments: Option<Vec<NetworkPolicyAmendment>>,
    /// Decisions the client should offer. Sent by Codex 0.169 but not in its stable schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_decisions: Option<Vec<CommandExecutionApprovalDecision>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CommandExecutionApprovalKind {
    #[default]
    Command,
    WriteStdin,
    HumanCommand,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkApprovalContext {
    pub host: String,
    pub protocol: NetworkApprovalProtocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum NetworkApprovalProtocol {
    Http,
    Https,
    Socks5Tcp,
    Socks5Udp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkPolicyAmendment {
    pub host: String,
    pub action: NetworkPolicyRuleAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum NetworkPolicyRuleAction {
    Allow,
    Deny,
}

/// The user's answer to a command approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CommandExecutionApprovalDecision {
    /// Run it.
    Accept,
    /// Run it and don't ask again for the same command this session.
    AcceptForSession,
    /// Run it and allow commands with this argv prefix from now on.
    AcceptWithExecpolicyAmendment { execpolicy_amendment: Vec<String> },
    /// Allow/deny a network host persistently.
    ApplyNetworkPolicyAmendment {
        network_policy_amendment: NetworkPolicyAmendment,
    },
    /// Don't run it; the turn continues (item status `declined`).
    Decline,
    /// Don't run it and interrupt the turn.
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandExecutionRequestApprovalResponse {
    pub decision: CommandExecutionApprovalDecision,
}

/// Params of `item/fileChange/requestApproval` (the diff is in the preceding `item/started`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileChangeRequestApprovalParams {
    pub thread_id: String,
    pub turn_id: String,
    pub item_id: String,
    /// Unix ms.
    pub started_at_ms: i64,
    pub reason: Option<String>,
    /// Root the agent asks to be allowed to write under for the session.
    pub grant_root: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum FileChangeApprovalDecision {
    Accept,
    AcceptForSession,
    Decline,
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileChangeRequestApprovalResponse {
    pub decision: FileChangeApprovalDecision,
}

/// Every server→client request wright sends: `{"method": …, "id": …, "params": {…}}`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method")]
pub enum ServerRequest {
    #[serde(rename = "item/commandExecution/requestApproval")]
    CommandExecutionRequestApproval {
        id: RequestId,
        params: CommandExecutionRequestApprovalParams,
    },
    #[serde(rename = "item/fileChange/requestApproval")]
    FileChangeRequestApproval {
        id: RequestId,
        params: FileChangeRequestApprovalParams,
    },
}

impl ServerRequest {
    pub const METHODS: &'static [&'static str] = &[
        "item/commandExecution/requestApproval",
        "item/fileChange/requestApproval",
    ];

    pub fn id(&self) -> &RequestId {
        match self {
            ServerRequest::CommandExecutionRequestApproval { id, .. }
            | ServerRequest::FileChangeRequestApproval { id, .. } => id,
        }
    }

    pub fn method(&self) -> &'static str {
        match self {
            ServerRequest::CommandExecutionRequestApproval { .. } => {
                "item/commandExecution/requestApproval"
            }
            ServerRequest::FileChangeRequestApproval { .. } => "item/fileChange/requestApproval",
        }
    }

    pub fn to_jsonrpc(&self) -> JsonRpcRequest {
        let value = serde_json::to_value(self).expect("server requests always serialize");
        JsonRpcRequest {
            id: self.id().clone(),
            method: self.method().to_string(),
            params: value.get("params").cloned(),
        }
    }
}
