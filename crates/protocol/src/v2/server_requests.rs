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

/// Params of `item/tool/requestUserInput`: questions for the user, each answered by one of its
/// options' labels (or free text when `isOther`). wright asks it to approve an MCP tool call,
/// as Codex does (question id `mcp_tool_call_approval_<item id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolRequestUserInputParams {
    pub thread_id: String,
    pub turn_id: String,
    /// The item the questions are about (already announced by `item/started`).
    pub item_id: String,
    pub questions: Vec<ToolRequestUserInputQuestion>,
    /// The turn waits for the answer.
    pub is_blocking: bool,
    /// Deprecated in Codex (use `isBlocking`); never set by wright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_resolution_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolRequestUserInputQuestion {
    /// The key of its answer in the reply.
    pub id: String,
    pub header: String,
    pub question: String,
    /// Free text is accepted besides the options.
    #[serde(default)]
    pub is_other: bool,
    /// The answer is a secret (do not echo it).
    #[serde(default)]
    pub is_secret: bool,
    #[serde(default)]
    pub options: Option<Vec<ToolRequestUserInputOption>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolRequestUserInputOption {
    /// What the client answers when the user picks it.
    pub label: String,
    pub description: String,
}

/// Reply to `item/tool/requestUserInput`: the answers by question id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ToolRequestUserInputResponse {
    pub answers: std::collections::BTreeMap<String, ToolRequestUserInputAnswer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ToolRequestUserInputAnswer {
    pub answers: Vec<String>,
}

/// Params of `wright/fileChange/write`, a wright extension (not in Codex): the new contents of
/// the files of a patch, for a client that declared `wrightFileWrites` at `initialize` to write
/// itself (an editor, so the change lands in its buffers and undo history).
///
/// The engine sends it only after the patch was verified against the files on disk, every path
/// was checked against the sandbox's writable roots and any approval was given; it then writes
/// none of these files itself. Paths are absolute and already resolved through symlinks (the
/// paths that were checked). A patch that deletes or moves a file is never sent this way: the
/// engine commits it as it would for any other client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileChangeWriteParams {
    pub thread_id: String,
    pub turn_id: String,
    /// Id of the `fileChange` item (already announced by `item/started`).
    pub item_id: String,
    /// Every file to write, in the patch's order; all of them or, on an error, as many as the
    /// client managed (the reply says which failed).
    pub files: Vec<FileWrite>,
}

/// One file of [`FileChangeWriteParams`]: its whole new text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileWrite {
    /// Absolute path, symlinks resolved.
    pub path: String,
    /// The complete new content (UTF-8).
    pub content: String,
}

/// Reply to `wright/fileChange/write`: every file was written. A client that could not write
/// one answers with a JSON-RPC error whose message says which file and why; the patch is then
/// reported as failed to the model with that message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct FileChangeWriteResponse {}

/// Params of `wright/fs/readTextFile`, a wright extension (not in Codex): the current text of a
/// file a patch updates, deletes or moves, for a client that declared `wrightFileReads` at
/// `initialize` (an editor, whose buffer may hold changes not yet saved).
///
/// The engine asks only about paths it already checked: absolute, resolved through symlinks
/// and inside what the sandbox lets the agent write. Files a patch adds are never asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FsReadTextFileParams {
    pub thread_id: String,
    pub turn_id: String,
    /// Absolute path, symlinks resolved.
    pub path: String,
}

/// Reply to `wright/fs/readTextFile`: the file's whole text as the client sees it. A client that
/// cannot read it answers with a JSON-RPC error; the patch then fails with that message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FsReadTextFileResponse {
    pub content: String,
}

/// Params of `wright/command/run`, a wright extension (not in Codex): a command the engine
/// decided to run, for a client that declared `wrightCommandRuns` at `initialize` to run in a
/// terminal of its own (an editor, which shows it live).
///
/// Sent only after the engine's approval and policy checks. `argv` is exactly what the engine
/// would spawn: under a sandbox, the sandbox launcher with its policy wrapping the command, so
/// the kernel confines it wherever it runs. The command must get `env` and nothing else (no
/// variable of the client's own environment), and be killed at `timeoutMs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandRunParams {
    pub thread_id: String,
    pub turn_id: String,
    /// Id of the `commandExecution` item (already announced by `item/started`).
    pub item_id: String,
    /// The program and its arguments, never empty.
    pub argv: Vec<String>,
    /// Absolute working directory.
    pub cwd: String,
    /// The command's whole environment, in order.
    pub env: Vec<CommandEnvVar>,
    /// Kill the command after this long and answer with `timedOut`.
    pub timeout_ms: u64,
    /// Keep at most this many bytes of output (the end of it).
    pub output_byte_limit: u64,
}

/// One variable of [`CommandRunParams::env`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandEnvVar {
    pub name: String,
    pub value: String,
}

/// Reply to `wright/command/run`: how the command ended. A client that could not run it answers
/// with a JSON-RPC error; the command then fails with that message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandRunResponse {
    /// The exit code, or 128 + the signal number for a command killed by a signal.
    pub exit_code: i32,
    /// stdout and stderr as the terminal showed them.
    pub output: String,
    /// The client killed it at `timeoutMs`.
    #[serde(default)]
    pub timed_out: bool,
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
    #[serde(rename = "item/tool/requestUserInput")]
    ToolRequestUserInput {
        id: RequestId,
        params: ToolRequestUserInputParams,
    },
}

impl ServerRequest {
    pub const METHODS: &'static [&'static str] = &[
        "item/commandExecution/requestApproval",
        "item/fileChange/requestApproval",
        "item/tool/requestUserInput",
    ];

    pub fn id(&self) -> &RequestId {
        match self {
            ServerRequest::CommandExecutionRequestApproval { id, .. }
            | ServerRequest::FileChangeRequestApproval { id, .. }
            | ServerRequest::ToolRequestUserInput { id, .. } => id,
        }
    }

    pub fn method(&self) -> &'static str {
        match self {
            ServerRequest::CommandExecutionRequestApproval { .. } => {
                "item/commandExecution/requestApproval"
            }
            ServerRequest::FileChangeRequestApproval { .. } => "item/fileChange/requestApproval",
            ServerRequest::ToolRequestUserInput { .. } => "item/tool/requestUserInput",
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

/// Server→client requests of wright's own extensions, kept apart from [`ServerRequest`] so a
/// Codex client's view of the protocol does not change: each is sent only to a client that
/// opted in at `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method")]
pub enum WrightServerRequest {
    /// Sent only to clients that declared `wrightFileWrites`.
    #[serde(rename = "wright/fileChange/write")]
    FileChangeWrite {
        id: RequestId,
        params: FileChangeWriteParams,
    },
    /// Sent only to clients that declared `wrightFileReads`.
    #[serde(rename = "wright/fs/readTextFile")]
    FsReadTextFile {
        id: RequestId,
        params: FsReadTextFileParams,
    },
    /// Sent only to clients that declared `wrightCommandRuns`.
    #[serde(rename = "wright/command/run")]
    CommandRun {
        id: RequestId,
        params: CommandRunParams,
    },
}

impl WrightServerRequest {
    /// All method names, in declaration order.
    pub const METHODS: &'static [&'static str] = &[
        "wright/fileChange/write",
        "wright/fs/readTextFile",
        "wright/command/run",
    ];

    /// The request id the reply will carry.
    pub fn id(&self) -> &RequestId {
        match self {
            WrightServerRequest::FileChangeWrite { id, .. }
            | WrightServerRequest::FsReadTextFile { id, .. }
            | WrightServerRequest::CommandRun { id, .. } => id,
        }
    }

    /// The wire method name.
    pub fn method(&self) -> &'static str {
        match self {
            WrightServerRequest::FileChangeWrite { .. } => "wright/fileChange/write",
            WrightServerRequest::FsReadTextFile { .. } => "wright/fs/readTextFile",
            WrightServerRequest::CommandRun { .. } => "wright/command/run",
        }
    }

    /// The JSON-RPC request to send.
    pub fn to_jsonrpc(&self) -> JsonRpcRequest {
        let params = match self {
            WrightServerRequest::FileChangeWrite { params, .. } => {
                serde_json::to_value(params).ok()
            }
            WrightServerRequest::FsReadTextFile { params, .. } => serde_json::to_value(params).ok(),
            WrightServerRequest::CommandRun { params, .. } => serde_json::to_value(params).ok(),
        };
        JsonRpcRequest {
            id: self.id().clone(),
            method: self.method().to_string(),
            params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_change_write_round_trips_with_its_method() {
        let request = WrightServerRequest::FileChangeWrite {
            id: RequestId::Integer(7),
            params: FileChangeWriteParams {
                thread_id: "t".into(),
                turn_id: "u".into(),
                item_id: "call_1".into(),
                files: vec![FileWrite {
                    path: "/w/a.txt".into(),
                    content: "new\n".into(),
                }],
            },
        };
        let wire = serde_json::to_value(request.to_jsonrpc()).unwrap();
        assert_eq!(wire["method"], "wright/fileChange/write");
        assert_eq!(wire["params"]["files"][0]["path"], "/w/a.txt");
        assert_eq!(wire["params"]["itemId"], "call_1");
        let back: WrightServerRequest = serde_json::from_value(wire).unwrap();
        assert_eq!(back, request);
    }

    #[test]
    fn read_and_run_round_trip_with_their_methods() {
        let read = WrightServerRequest::FsReadTextFile {
            id: RequestId::Integer(8),
            params: FsReadTextFileParams {
                thread_id: "t".into(),
                turn_id: "u".into(),
                path: "/w/a.txt".into(),
            },
        };
        let wire = serde_json::to_value(read.to_jsonrpc()).unwrap();
        assert_eq!(wire["method"], "wright/fs/readTextFile");
        assert_eq!(wire["params"]["path"], "/w/a.txt");
        assert_eq!(
            serde_json::from_value::<WrightServerRequest>(wire).unwrap(),
            read
        );

        let run = WrightServerRequest::CommandRun {
            id: RequestId::Integer(9),
            params: CommandRunParams {
                thread_id: "t".into(),
                turn_id: "u".into(),
                item_id: "call_1".into(),
                argv: vec!["/bin/sh".into(), "-lc".into(), "true".into()],
                cwd: "/w".into(),
                env: vec![CommandEnvVar {
                    name: "PATH".into(),
                    value: "/bin".into(),
                }],
                timeout_ms: 1000,
                output_byte_limit: 4096,
            },
        };
        let wire = serde_json::to_value(run.to_jsonrpc()).unwrap();
        assert_eq!(wire["method"], "wright/command/run");
        assert_eq!(wire["params"]["timeoutMs"], 1000);
        assert_eq!(wire["params"]["env"][0]["name"], "PATH");
        assert_eq!(
            serde_json::from_value::<WrightServerRequest>(wire).unwrap(),
            run
        );
        let reply: CommandRunResponse =
            serde_json::from_value(serde_json::json!({"exitCode": 3, "output": "x"})).unwrap();
        assert!(!reply.timed_out);
    }
}
