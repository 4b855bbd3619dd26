//! `mcpServerStatus/list`, `mcpServer/tool/call`, `mcpServer/resource/read`,
//! `config/mcpServer/reload` and `mcpServer/oauth/login`, over the process's MCP servers
//! ([`crate::mcp`]). None of them waits long for a server: a list shows a server that is still
//! starting as such, and a call to one fails with the manager's own reason.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use wright_mcp::oauth::OAuthError;
use wright_mcp::{CallError, McpManager, McpServerConfig, McpTool, McpTransport, ServerState};
use wright_protocol::v2::{
    ListMcpServerStatusParams, ListMcpServerStatusResponse, McpAuthStatus, McpResourceReadParams,
    McpResourceReadResponse, McpServerConnectionStatus, McpServerOauthLoginCompletedNotification,
    McpServerOauthLoginParams, McpServerOauthLoginResponse, McpServerRefreshResponse,
    McpServerStatus, McpServerStatusDetail, McpServerToolCallParams, McpServerToolCallResponse,
    NoParams, Resource, ResourceContent, ResourceTemplate, ServerNotification, Tool,
};

use crate::rpc::{RpcError, RpcResult};
use crate::state::State;

/// How long a request right after start waits for the config to be read.
const CONFIG_WAIT: Duration = Duration::from_secs(5);
/// How long a full `mcpServerStatus/list` waits for servers still starting.
const SETTLE_WAIT: Duration = Duration::from_millis(1500);
/// How long a list waits for one server's resources (each kind); on timeout it shows none.
const RESOURCES_WAIT: Duration = Duration::from_secs(3);
/// Pages of resources asked of one server, at most.
const MAX_RESOURCE_PAGES: usize = 20;
/// How long an OAuth login waits for the browser when the client names no `timeoutSecs`.
const OAUTH_TIMEOUT: Duration = Duration::from_secs(300);

/// `mcpServerStatus/list`: every configured server, by name, with its tools and (unless
/// `detail` is `toolsAndAuthOnly`) its resources.
pub(crate) async fn status_list(
    state: Arc<State>,
    p: ListMcpServerStatusParams,
) -> RpcResult<ListMcpServerStatusResponse> {
    state.mcp.wait_loaded(CONFIG_WAIT).await;
    let manager = state.mcp.manager();
    let full = p.detail != Some(McpServerStatusDetail::ToolsAndAuthOnly);
    if full {
        // Codex's full inventory comes from started servers: give the ones starting a moment.
        manager.wait_started(None, SETTLE_WAIT).await;
    }
    let mut statuses = manager.statuses();
    if let Some(name) = &p.server_name {
        statuses.retain(|s| &s.name == name);
    }
    let (page, next_cursor) = crate::paging::page(&statuses, p.cursor.as_deref(), p.limit)?;
    let tools = manager.tools();
    let home = state.options.wright_home.clone();
    let auth = {
        let configs: Vec<(String, Option<McpServerConfig>)> = page
            .iter()
            .map(|s| (s.name.clone(), manager.server_config(&s.name)))
            .collect();
        // A stored OAuth token is a file read.
        tokio::task::spawn_blocking(move || {
            configs
                .iter()
                .map(|(name, config)| auth_status(&home, name, config.as_ref()))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| RpcError::internal(format!("internal error: {e}")))?
    };
    let listings = page.iter().map(|s| {
        let ready = full && s.state == ServerState::Ready;
        resources_of(&manager, &s.name, ready)
    });
    let listings = futures_util::future::join_all(listings).await;
    let data = page
        .iter()
        .zip(auth)
        .zip(listings)
        .map(|((status, auth_status), (resources, resource_templates))| {
            let config = manager.server_config(&status.name);
            let initialize = manager.server_initialize(&status.name);
            McpServerStatus {
                name: status.name.clone(),
                tools: tools_of(&tools, &status.name),
                resources,
                resource_templates,
                auth_status,
                http_origin: config.as_ref().and_then(http_origin),
                plugin_id: None,
                runtime_status: Some(match status.state {
                    ServerState::Starting => McpServerConnectionStatus::Starting,
                    ServerState::Ready => McpServerConnectionStatus::Connected,
                    ServerState::Failed => McpServerConnectionStatus::Failed,
                    ServerState::Disabled => McpServerConnectionStatus::Disabled,
                }),
                server_capabilities: initialize
                    .as_ref()
                    .and_then(|i| i.get("capabilities").cloned()),
                server_info: initialize
                    .as_ref()
                    .and_then(|i| i.get("serverInfo").cloned())
                    .and_then(|v| serde_json::from_value(v).ok()),
                tool_list_meta: None,
                tools_error: (status.state == ServerState::Failed)
                    .then(|| status.error.clone())
                    .flatten(),
            }
        })
        .collect();
    Ok(ListMcpServerStatusResponse { data, next_cursor })
}

/// A server's tools by their own names, as the model is offered them.
fn tools_of(tools: &[McpTool], server: &str) -> BTreeMap<String, Tool> {
    tools
        .iter()
        .filter(|t| t.server == server)
        .map(|t| {
            let tool = Tool {
                name: t.name.clone(),
                title: None,
                description: (!t.description.is_empty()).then(|| t.description.clone()),
                input_schema: t.input_schema.clone(),
                output_schema: None,
                annotations: t.read_only.then(|| json!({"readOnlyHint": true})),
                icons: None,
                meta: None,
            };
            (t.name.clone(), tool)
        })
        .collect()
}

/// Who the server knows the user as: stdio servers need no login; an HTTP server has a bearer
/// token variable, a stored OAuth login, or neither.
fn auth_status(home: &Path, name: &str, config: Option<&McpServerConfig>) -> McpAuthStatus {
    match config.map(|c| &c.transport) {
        None => McpAuthStatus::Unknown,
        Some(McpTransport::Stdio { .. }) => McpAuthStatus::Unsupported,
        Some(McpTransport::StreamableHttp {
            bearer_token_env_var: Some(_),
            ..
        }) => McpAuthStatus::BearerToken,
        Some(McpTransport::StreamableHttp { url, .. }) => {
            if wright_mcp::oauth::has_login(home, name, url) {
                McpAuthStatus::OAuth
            } else {
                McpAuthStatus::NotLoggedIn
            }
        }
    }
}

/// `scheme://host[:port]` of an HTTP server's URL: no credentials, path, query or fragment.
fn http_origin(config: &McpServerConfig) -> Option<String> {
    let McpTransport::StreamableHttp { url, .. } = &config.transport else {
        return None;
    };
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then(|| format!("{}://{host}", scheme.to_ascii_lowercase()))
}

/// A ready server's resources and resource templates, each asked with a short timeout; none
/// when the server does not offer them, fails or is slow.
async fn resources_of(
    manager: &McpManager,
    server: &str,
    ready: bool,
) -> (Vec<Resource>, Vec<ResourceTemplate>) {
    if !ready {
        return (Vec::new(), Vec::new());
    }
    let (resources, templates) = tokio::join!(
        listed::<Resource>(manager, server, "resources"),
        listed::<ResourceTemplate>(manager, server, "resourceTemplates"),
    );
    (resources, templates)
}

async fn listed<T: serde::de::DeserializeOwned>(
    manager: &McpManager,
    server: &str,
    key: &str,
) -> Vec<T> {
    let walk = async {
        let mut items = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_RESOURCE_PAGES {
            let page = if key == "resources" {
                manager.list_resources(Some(server), cursor).await
            } else {
                manager.list_resource_templates(Some(server), cursor).await
            };
            let page = match page {
                Ok(page) => page,
                Err(err) => {
                    tracing::debug!(server, "MCP {key} not listed: {err}");
                    break;
                }
            };
            for item in page[key].as_array().into_iter().flatten() {
                match serde_json::from_value::<T>(item.clone()) {
                    Ok(item) => items.push(item),
                    Err(err) => {
                        tracing::warn!(server, "MCP server listed a bad {key} entry: {err}")
                    }
                }
            }
            cursor = match page.get("nextCursor").and_then(Value::as_str) {
                Some(next) => Some(next.to_string()),
                None => break,
            };
        }
        items
    };
    tokio::time::timeout(RESOURCES_WAIT, walk)
        .await
        .unwrap_or_default()
}

/// `mcpServer/tool/call`: the client calls a tool itself, with no approval asked (as in Codex,
/// under every policy). The call may take up to the server's `tool_timeout_sec`.
pub(crate) async fn tool_call(
    state: Arc<State>,
    p: McpServerToolCallParams,
) -> RpcResult<McpServerToolCallResponse> {
    state.loaded_or_err(&p.thread_id)?;
    let arguments = match p.arguments {
        None | Some(Value::Null) => None,
        Some(Value::Object(arguments)) => Some(arguments),
        Some(_) => {
            return Err(RpcError::invalid_params(
                "`arguments` must be an object (the tool's named arguments)",
            ))
        }
    };
    state.mcp.wait_loaded(CONFIG_WAIT).await;
    let manager = state.mcp.manager();
    check_tool(&manager, &p.server, &p.tool)?;
    let result = manager
        .call_tool(
            &p.server,
            &p.tool,
            arguments,
            None,
            CancellationToken::new(),
        )
        .await
        .map_err(call_error)?;
    Ok(McpServerToolCallResponse {
        content: result.content,
        structured_content: result.structured_content,
        is_error: Some(result.is_error),
        meta: None,
    })
}

/// Refuses a tool a ready server does not offer (or that config.toml leaves out), naming the
/// ones it does. A server that is not ready is left to the call, which waits for it or says why
/// it cannot.
fn check_tool(manager: &McpManager, server: &str, tool: &str) -> RpcResult<()> {
    let ready = manager
        .statuses()
        .iter()
        .any(|s| s.name == server && s.state == ServerState::Ready);
    if !ready {
        return Ok(());
    }
    let offered: Vec<String> = manager
        .tools()
        .into_iter()
        .filter(|t| t.server == server)
        .map(|t| t.name)
        .collect();
    if offered.iter().any(|t| t == tool) {
        return Ok(());
    }
    let list = if offered.is_empty() {
        "it offers none".to_string()
    } else {
        format!("its tools: {}", offered.join(", "))
    };
    Err(RpcError::invalid_request(format!(
        "MCP server `{server}` has no tool `{tool}` ({list})"
    )))
}

/// A call that did not give a result: the client's mistake (no such server, a disabled one)
/// or the server's failure, in the manager's words.
fn call_error(err: CallError) -> RpcError {
    match err {
        CallError::UnknownServer(_) | CallError::Disabled(_) => {
            RpcError::invalid_request(err.to_string())
        }
        CallError::NotReady { .. }
        | CallError::Timeout { .. }
        | CallError::Failed { .. }
        | CallError::Server { .. }
        | CallError::Cancelled => RpcError::internal(err.to_string()),
    }
}

/// `mcpServer/resource/read`: the resource's contents as the server gives them.
pub(crate) async fn resource_read(
    state: Arc<State>,
    p: McpResourceReadParams,
) -> RpcResult<McpResourceReadResponse> {
    if let Some(thread_id) = &p.thread_id {
        state.loaded_or_err(thread_id)?;
    }
    state.mcp.wait_loaded(CONFIG_WAIT).await;
    let result = state
        .mcp
        .manager()
        .read_resource(&p.server, &p.uri)
        .await
        .map_err(call_error)?;
    let contents = result["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, part)| {
            serde_json::from_value::<ResourceContent>(part.clone()).map_err(|e| {
                RpcError::internal(format!(
                    "MCP server `{}` sent contents[{i}] that is neither text nor blob: {e}",
                    p.server
                ))
            })
        })
        .collect::<RpcResult<Vec<_>>>()?;
    Ok(McpResourceReadResponse { contents })
}

/// `config/mcpServer/reload`: reads config.toml again and restarts the MCP servers it
/// configures. Answers once they are starting; `mcpServer/startupStatus/updated` follows each.
pub(crate) async fn reload(state: &Arc<State>, _: NoParams) -> RpcResult<McpServerRefreshResponse> {
    crate::mcp::reload_from_disk(state).await?;
    Ok(McpServerRefreshResponse {})
}

/// `mcpServer/oauth/login`: starts the OAuth flow of a streamable HTTP server and answers with
/// the URL to open; `mcpServer/oauthLogin/completed` (same `loginId`) tells every client how it
/// ended. A server that was not connected is then started again, with its new token.
pub(crate) async fn oauth_login(
    state: Arc<State>,
    p: McpServerOauthLoginParams,
) -> RpcResult<McpServerOauthLoginResponse> {
    state.mcp.wait_loaded(CONFIG_WAIT).await;
    let manager = state.mcp.manager();
    let config = manager.server_config(&p.name).ok_or_else(|| {
        RpcError::invalid_request(OAuthError::ServerNotFound(p.name.clone()).to_string())
    })?;
    let timeout = p
        .timeout_secs
        .filter(|s| *s > 0)
        .map_or(OAUTH_TIMEOUT, |s| Duration::from_secs(s as u64));
    let scopes = p.scopes.clone().unwrap_or_default();
    let home = state.options.wright_home.clone();
    let login = wright_mcp::oauth::start_login(&home, &p.name, &config, scopes, timeout)
        .await
        .map_err(|err| match err {
            OAuthError::ServerNotFound(_)
            | OAuthError::InvalidName(_)
            | OAuthError::NotHttp(_)
            | OAuthError::BearerTokenConfigured { .. }
            | OAuthError::InvalidUrl { .. } => RpcError::invalid_request(err.to_string()),
            other => RpcError::internal(other.to_string()),
        })?;
    let login_id = uuid::Uuid::now_v7().to_string();
    let (name, thread_id, id) = (p.name, p.thread_id, login_id.clone());
    tokio::spawn(async move {
        let outcome = match login.completion.await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the login stopped: {e}")),
        };
        let notification = ServerNotification::McpServerOauthLoginCompleted(
            McpServerOauthLoginCompletedNotification {
                name: name.clone(),
                success: outcome.is_ok(),
                error: outcome.as_ref().err().cloned(),
                login_id: Some(id),
                thread_id,
            },
        );
        state.broadcast_all(&notification);
        let connected = state
            .mcp
            .manager()
            .statuses()
            .iter()
            .any(|s| s.name == name && s.state == ServerState::Ready);
        if outcome.is_ok() && !connected {
            // The manager reads the stored token when it connects: start the servers again.
            if let Err(err) = crate::mcp::reload_from_disk(&state).await {
                tracing::warn!("MCP servers not restarted after the login: {}", err.message);
            }
        }
    });
    Ok(McpServerOauthLoginResponse {
        authorization_url: login.authorization_url,
        login_id: Some(login_id),
    })
}
