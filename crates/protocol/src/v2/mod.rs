//! Codex App Server protocol v2: the typed payloads of [`crate::jsonrpc`] messages.
//!
//! wright's App Server speaks this protocol so Codex clients (IDE extensions, the Codex SDK)
//! work unchanged. The subset modelled here is what wright implements; names, casing, optional
//! members and `null`s follow Codex 0.169 (`codex app-server generate-json-schema` and real
//! transcripts).
//!
//! * [`ClientRequest`] / [`parse_client_request`]: client→server requests, with each method's
//!   params type; the result type of `a/b` is `AbResponse` (e.g. [`ThreadStartResponse`]).
//! * [`ServerNotification`]: server→client notifications.
//! * [`ServerRequest`]: server→client requests (approvals); replies are
//!   [`CommandExecutionRequestApprovalResponse`] / [`FileChangeRequestApprovalResponse`] /
//!   [`ToolRequestUserInputResponse`].
//! * [`json_schema_bundle`] / [`typescript_bundle`]: JSON Schema and TypeScript for clients.
//!
//! `thread/search` ([`ThreadSearchParams`]) follows Codex's experimental method.

mod account;
mod auto_review;
mod codex_methods;
mod command;
mod common;
mod config;
mod fs;
mod hooks;
mod items;
mod mcp;
mod models;
mod notifications;
mod requests;
mod schema;
mod search;
mod server_requests;
mod skills;
mod terminals;
mod thread;
mod thread_history;

use std::fmt;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use account::*;
pub use auto_review::*;
pub use codex_methods::{CODEX_EXPERIMENTAL_METHODS, CODEX_STABLE_METHODS};
pub use command::*;
pub use common::*;
pub use config::*;
pub use fs::*;
pub use hooks::*;
pub use items::*;
pub use mcp::*;
pub use models::*;
pub use notifications::*;
pub use requests::*;
pub use schema::{json_schema_bundle, typescript_bundle};
pub use search::*;
pub use server_requests::*;
pub use skills::*;
pub use terminals::*;
pub use thread::*;
pub use thread_history::*;

use crate::jsonrpc::{JsonRpcErrorObject, INVALID_PARAMS, METHOD_NOT_FOUND};

/// Defines [`ClientRequest`], [`parse_client_request`] and the method table used by the schema
/// bundle from one list of `Variant = "method" (Params) -> Response`.
macro_rules! client_requests {
    ($( $(#[$meta:meta])* $variant:ident = $method:literal ($params:ident) -> $resp:ident ),* $(,)?) => {
        /// A client→server request, tagged by `method` with its `params` (the request `id` is
        /// kept by the caller). Parse one with [`parse_client_request`] to tell an unknown
        /// method from bad params.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "method", content = "params")]
        pub enum ClientRequest {
            $( $(#[$meta])* #[serde(rename = $method)] $variant($params), )*
        }

        impl ClientRequest {
            /// Every method wright understands, in declaration order.
            pub const METHODS: &'static [&'static str] = &[$($method),*];

            /// The wire method name.
            pub fn method(&self) -> &'static str {
                match self {
                    $( ClientRequest::$variant(_) => $method, )*
                }
            }
        }

        /// Parse the `method` and `params` of a request line into a [`ClientRequest`].
        ///
        /// Returns [`ParseError::UnknownMethod`] for a method not in [`ClientRequest::METHODS`]
        /// and [`ParseError::InvalidParams`] (naming the offending path) when `params` is missing
        /// or does not fit the method's params type.
        pub fn parse_client_request(
            method: &str,
            params: Option<Value>,
        ) -> Result<ClientRequest, ParseError> {
            match method {
                $( $method => Ok(ClientRequest::$variant(parse_params::<$params>(params)?)), )*
                _ => Err(ParseError::UnknownMethod(method.to_string())),
            }
        }

        /// `(method, params type, result type)` for every client request; the names are the
        /// schema definition names in [`json_schema_bundle`].
        pub const CLIENT_REQUEST_TYPES: &[(&str, &str, &str)] = &[
            $( ($method, stringify!($params), stringify!($resp)), )*
        ];

        pub(crate) fn add_client_request_schemas(
            generator: &mut schemars::SchemaGenerator,
            aliases: &mut Vec<(String, String)>,
        ) {
            $(
                generator.subschema_for::<$params>();
                generator.subschema_for::<$resp>();
                aliases.push((stringify!($params).to_string(), <$params as JsonSchema>::schema_name().into_owned()));
                aliases.push((stringify!($resp).to_string(), <$resp as JsonSchema>::schema_name().into_owned()));
            )*
        }
    };
}

client_requests! {
    Initialize = "initialize" (InitializeParams) -> InitializeResponse,
    ThreadStart = "thread/start" (ThreadStartParams) -> ThreadStartResponse,
    ThreadResume = "thread/resume" (ThreadResumeParams) -> ThreadResumeResponse,
    ThreadFork = "thread/fork" (ThreadForkParams) -> ThreadForkResponse,
    ThreadList = "thread/list" (ThreadListParams) -> ThreadListResponse,
    ThreadRead = "thread/read" (ThreadReadParams) -> ThreadReadResponse,
    ThreadArchive = "thread/archive" (ThreadArchiveParams) -> ThreadArchiveResponse,
    ThreadUnarchive = "thread/unarchive" (ThreadUnarchiveParams) -> ThreadUnarchiveResponse,
    ThreadSetName = "thread/name/set" (ThreadSetNameParams) -> ThreadSetNameResponse,
    ThreadCompactStart = "thread/compact/start" (ThreadCompactStartParams) -> ThreadCompactStartResponse,
    ThreadLoadedList = "thread/loaded/list" (ThreadLoadedListParams) -> ThreadLoadedListResponse,
    ThreadUnsubscribe = "thread/unsubscribe" (ThreadUnsubscribeParams) -> ThreadUnsubscribeResponse,
    ThreadDelete = "thread/delete" (ThreadDeleteParams) -> ThreadDeleteResponse,
    TurnStart = "turn/start" (TurnStartParams) -> TurnStartResponse,
    TurnInterrupt = "turn/interrupt" (TurnInterruptParams) -> TurnInterruptResponse,
    TurnSteer = "turn/steer" (TurnSteerParams) -> TurnSteerResponse,
    ModelList = "model/list" (ModelListParams) -> ModelListResponse,
    ConfigRead = "config/read" (ConfigReadParams) -> ConfigReadResponse,
    ConfigValueWrite = "config/value/write" (ConfigValueWriteParams) -> ConfigWriteResponse,
    ConfigBatchWrite = "config/batchWrite" (ConfigBatchWriteParams) -> ConfigWriteResponse,
    ConfigRequirementsRead = "configRequirements/read" (NoParams) -> ConfigRequirementsReadResponse,
    ModelProviderList = "modelProvider/list" (ModelProviderListParams) -> ModelProviderListResponse,
    ModelProviderCapabilitiesRead = "modelProvider/capabilities/read" (ModelProviderCapabilitiesReadParams) -> ModelProviderCapabilitiesReadResponse,
    PermissionProfileList = "permissionProfile/list" (PermissionProfileListParams) -> PermissionProfileListResponse,
    ExperimentalFeatureList = "experimentalFeature/list" (ExperimentalFeatureListParams) -> ExperimentalFeatureListResponse,
    AccountRead = "account/read" (GetAccountParams) -> GetAccountResponse,
    AccountLoginStart = "account/login/start" (LoginAccountParams) -> LoginAccountResponse,
    AccountLogout = "account/logout" (NoParams) -> LogoutAccountResponse,
    CommandExec = "command/exec" (CommandExecParams) -> CommandExecResponse,
    CommandExecWrite = "command/exec/write" (CommandExecWriteParams) -> CommandExecWriteResponse,
    CommandExecTerminate = "command/exec/terminate" (CommandExecTerminateParams) -> CommandExecTerminateResponse,
    CommandExecResize = "command/exec/resize" (CommandExecResizeParams) -> CommandExecResizeResponse,
    FsReadFile = "fs/readFile" (FsReadFileParams) -> FsReadFileResponse,
    FsWriteFile = "fs/writeFile" (FsWriteFileParams) -> FsWriteFileResponse,
    FsCreateDirectory = "fs/createDirectory" (FsCreateDirectoryParams) -> FsCreateDirectoryResponse,
    FsGetMetadata = "fs/getMetadata" (FsGetMetadataParams) -> FsGetMetadataResponse,
    FsReadDirectory = "fs/readDirectory" (FsReadDirectoryParams) -> FsReadDirectoryResponse,
    FsRemove = "fs/remove" (FsRemoveParams) -> FsRemoveResponse,
    FsCopy = "fs/copy" (FsCopyParams) -> FsCopyResponse,
    FsWatch = "fs/watch" (FsWatchParams) -> FsWatchResponse,
    FsUnwatch = "fs/unwatch" (FsUnwatchParams) -> FsUnwatchResponse,
    FuzzyFileSearch = "fuzzyFileSearch" (FuzzyFileSearchParams) -> FuzzyFileSearchResponse,
    ThreadTurnsList = "thread/turns/list" (ThreadTurnsListParams) -> ThreadTurnsListResponse,
    ThreadItemsList = "thread/items/list" (ThreadItemsListParams) -> ThreadItemsListResponse,
    ThreadMetadataUpdate = "thread/metadata/update" (ThreadMetadataUpdateParams) -> ThreadMetadataUpdateResponse,
    ThreadRevert = "thread/revert" (ThreadRevertParams) -> ThreadRevertResponse,
    ThreadInjectItems = "thread/inject_items" (ThreadInjectItemsParams) -> ThreadInjectItemsResponse,
    ThreadShellCommand = "thread/shellCommand" (ThreadShellCommandParams) -> ThreadShellCommandResponse,
    ReviewStart = "review/start" (ReviewStartParams) -> ReviewStartResponse,
    McpServerStatusList = "mcpServerStatus/list" (ListMcpServerStatusParams) -> ListMcpServerStatusResponse,
    McpServerToolCall = "mcpServer/tool/call" (McpServerToolCallParams) -> McpServerToolCallResponse,
    McpServerResourceRead = "mcpServer/resource/read" (McpResourceReadParams) -> McpResourceReadResponse,
    McpServerReload = "config/mcpServer/reload" (NoParams) -> McpServerRefreshResponse,
    McpServerOauthLogin = "mcpServer/oauth/login" (McpServerOauthLoginParams) -> McpServerOauthLoginResponse,
    /// Experimental in Codex.
    ThreadSearch = "thread/search" (ThreadSearchParams) -> ThreadSearchResponse,
    SkillsList = "skills/list" (SkillsListParams) -> SkillsListResponse,
    SkillsConfigWrite = "skills/config/write" (SkillsConfigWriteParams) -> SkillsConfigWriteResponse,
    SkillsExtraRootsSet = "skills/extraRoots/set" (SkillsExtraRootsSetParams) -> SkillsExtraRootsSetResponse,
    HooksList = "hooks/list" (HooksListParams) -> HooksListResponse,
    /// Experimental in Codex.
    ThreadBackgroundTerminalsList = "thread/backgroundTerminals/list" (ThreadBackgroundTerminalsListParams) -> ThreadBackgroundTerminalsListResponse,
    /// Experimental in Codex.
    ThreadBackgroundTerminalsTerminate = "thread/backgroundTerminals/terminate" (ThreadBackgroundTerminalsTerminateParams) -> ThreadBackgroundTerminalsTerminateResponse,
    /// Experimental in Codex.
    ThreadBackgroundTerminalsClean = "thread/backgroundTerminals/clean" (ThreadBackgroundTerminalsCleanParams) -> ThreadBackgroundTerminalsCleanResponse,
}

/// Client→server notifications (Codex has only `initialized`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method")]
pub enum ClientNotification {
    #[serde(rename = "initialized")]
    Initialized,
}

/// Why a request could not be turned into a [`ClientRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The method is not one wright implements (answer with [`METHOD_NOT_FOUND`]).
    UnknownMethod(String),
    /// The params do not fit (answer with [`INVALID_PARAMS`]); the message names the path of
    /// the offending member, e.g. ``invalid params at `input[0].text`: invalid type: …``.
    InvalidParams(String),
}

impl ParseError {
    /// The JSON-RPC error code for this failure.
    pub fn code(&self) -> i64 {
        match self {
            ParseError::UnknownMethod(_) => METHOD_NOT_FOUND,
            ParseError::InvalidParams(_) => INVALID_PARAMS,
        }
    }

    /// The `error` member of the JSON-RPC error response.
    pub fn to_error_object(&self) -> JsonRpcErrorObject {
        JsonRpcErrorObject::new(self.code(), self.to_string())
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownMethod(m) => write!(f, "method not found: `{m}`"),
            ParseError::InvalidParams(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for ParseError {}

fn parse_params<T: DeserializeOwned>(params: Option<Value>) -> Result<T, ParseError> {
    let Some(params) = params else {
        // Methods without params (`NoParams`) may omit them, as Codex's clients do.
        return serde_json::from_value(Value::Null).map_err(|_| {
            ParseError::InvalidParams("invalid params: missing field `params`".into())
        });
    };
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ParseError::InvalidParams(format!("invalid params: {inner}"))
        } else {
            ParseError::InvalidParams(format!("invalid params at `{path}`: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_method_vs_bad_params() {
        assert_eq!(
            parse_client_request("no/such/method", Some(json!({}))),
            Err(ParseError::UnknownMethod("no/such/method".into()))
        );
        let err = parse_client_request("turn/start", Some(json!({"threadId": 42, "input": []})))
            .unwrap_err();
        assert_eq!(err.code(), INVALID_PARAMS);
        assert!(err.to_string().contains("threadId"), "{err}");
        let err = parse_client_request("turn/start", Some(json!({"input": []}))).unwrap_err();
        assert!(
            err.to_string().contains("missing field `threadId`"),
            "{err}"
        );
        let err = parse_client_request(
            "turn/start",
            Some(json!({"threadId": "t", "input": [{"type": "text", "text": 1}]})),
        )
        .unwrap_err();
        assert!(err.to_string().contains("input[0]"), "{err}");
        let err = parse_client_request("thread/list", None).unwrap_err();
        assert!(err.to_string().contains("params"), "{err}");
    }

    #[test]
    fn parses_turn_start_with_overrides() {
        let req = parse_client_request(
            "turn/start",
            Some(json!({
                "threadId": "t1",
                "input": [
                    {"type": "text", "text": "hi", "text_elements": []},
                    {"type": "image", "url": "https://x/y.png"},
                    {"type": "localImage", "path": "/tmp/a.png"}
                ],
                "cwd": "/w",
                "model": "gpt-5.5",
                "approvalPolicy": "on-request",
                "sandboxPolicy": {"type": "workspaceWrite", "writableRoots": ["/w"], "networkAccess": true},
                "effort": "high",
                "outputSchema": {"type": "object"}
            })),
        )
        .unwrap();
        let ClientRequest::TurnStart(p) = &req else {
            panic!("{req:?}")
        };
        assert_eq!(p.input.len(), 3);
        assert_eq!(p.approval_policy, Some(AskForApproval::OnRequest));
        assert_eq!(req.method(), "turn/start");
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["method"], "turn/start");
        assert_eq!(v["params"]["sandboxPolicy"]["excludeSlashTmp"], false);
    }
}
