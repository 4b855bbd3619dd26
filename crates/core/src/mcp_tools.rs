//! MCP tools in the prompt and their calls.
//!
//! What a thread offers only ever grows, so every request's tool list extends the last one's:
//! resource tools from the first request on (when servers are configured), then each server's
//! tools as it becomes ready. When the schemas would pass a tenth of the context window, the
//! rest are offered through `tool_search` (BM25 over names and descriptions) instead.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wright_mcp::output::{model_output, ToolResult};
use wright_mcp::search::{Document, Index};
use wright_mcp::{names, CallError, McpManager, McpTool};
use wright_protocol::{Event, ItemDetails, McpToolCallStatus, McpToolError, McpToolResult};
use wright_tools::truncate;

use crate::approval::ApprovalRequest;
use crate::config::ApprovalPolicy;
use crate::tools::{PendingCall, ToolContext};

pub(crate) const TOOL_SEARCH: &str = "tool_search";
/// The Responses item kind of a hosted `tool_search` call.
pub(crate) const TOOL_SEARCH_CALL: &str = "tool_search_call";
const LIST_RESOURCES: &str = "list_mcp_resources";
const LIST_TEMPLATES: &str = "list_mcp_resource_templates";
const READ_RESOURCE: &str = "read_mcp_resource";
/// Matches `tool_search` returns unless the model asks for another number.
const DEFAULT_SEARCH_LIMIT: usize = 8;
/// Codex's words when a call would need a yes nobody can give.
pub(crate) const NEEDS_APPROVAL_NEVER: &str =
    "MCP tool call requires approval, but approval policy is never";

/// What of MCP a thread's requests have carried so far.
#[derive(Default)]
pub(crate) struct Offer {
    /// Declarations after the built-in tools, in the order first sent.
    pub specs: Vec<Value>,
    declared: HashSet<String>,
    resources: bool,
    searching: bool,
    /// Estimated tokens of the MCP tool schemas declared.
    spent: usize,
    told: BTreeSet<String>,
}

impl Offer {
    /// Brings the offer up to date with the servers that are ready now. Returns a message for
    /// the history when tools were deferred behind `tool_search` for the first time from a
    /// server, naming its namespace (Codex's `<tools>` block).
    pub fn refresh(&mut self, mcp: &McpManager, budget: usize, hosted: bool) -> Option<Value> {
        if !mcp.has_servers() {
            return None;
        }
        if !self.resources {
            self.resources = true;
            self.specs.extend(resource_specs());
        }
        let mut deferred = BTreeSet::new();
        // A server's new tools are declared together or deferred together: the model should
        // not see half of a catalogue and have to guess the other half exists.
        let fresh: Vec<McpTool> = mcp
            .tools()
            .into_iter()
            .filter(|t| !self.declared.contains(&t.qualified))
            .collect();
        let mut servers: Vec<&str> = fresh.iter().map(|t| t.server.as_str()).collect();
        servers.dedup();
        for server in servers {
            // Once the catalogue is behind tool_search, what comes later goes there too: no
            // need to weigh it (this runs before every model request).
            if !self.searching {
                let group: Vec<&McpTool> = fresh.iter().filter(|t| t.server == server).collect();
                let specs: Vec<Value> = group.iter().map(|t| t.spec()).collect();
                let cost: usize = specs
                    .iter()
                    .map(|s| truncate::approx_tokens(s.to_string().len()))
                    .sum();
                if self.spent + cost <= budget {
                    self.spent += cost;
                    self.declared
                        .extend(group.iter().map(|t| t.qualified.clone()));
                    self.specs.extend(specs);
                    continue;
                }
                self.searching = true;
                self.specs.push(search_spec(hosted));
            }
            let namespace = names::namespace(server);
            if self.told.insert(namespace.clone()) {
                deferred.insert(namespace);
            }
        }
        (!deferred.is_empty()).then(|| {
            let lines: Vec<String> = deferred.iter().map(|n| format!("- {n}")).collect();
            crate::context::message(
                "developer",
                &[format!(
                    "<tools>\nDeferred tool namespaces:\n{}\n</tools>",
                    lines.join("\n")
                )],
            )
        })
    }

    /// Declares tools a function-style `tool_search` found, so the next request can call them
    /// (Chat Completions servers only let a model call declared tools).
    pub fn declare(&mut self, found: Vec<McpTool>) {
        for tool in found {
            if self.declared.insert(tool.qualified.clone()) {
                self.specs.push(tool.spec());
            }
        }
    }
}

fn resource_specs() -> Vec<Value> {
    let function = wright_tools::spec::function_tool;
    let list = |what: &str| {
        json!({
            "cursor": {"type": "string", "description": format!("Opaque cursor from a previous list_mcp_{what} call; omit for the first page.")},
            "server": {"type": "string", "description": format!("MCP server name. Omit to list {} from every configured server.", what.replace('_', " "))},
        })
    };
    vec![
        function(
            LIST_RESOURCES,
            "Lists resources provided by MCP servers. Resources allow servers to share data that provides context to language models, such as files, database schemas, or application-specific information. Prefer resources over web search when possible.",
            list("resources"),
            &[],
        ),
        function(
            LIST_TEMPLATES,
            "Lists resource templates provided by MCP servers. Parameterized resource templates allow servers to share data that takes parameters and provides context to language models, such as files, database schemas, or application-specific information. Prefer resource templates over web search when possible.",
            list("resource_templates"),
            &[],
        ),
        function(
            READ_RESOURCE,
            "Read a specific resource from an MCP server given the server name and resource URI.",
            json!({
                "server": {"type": "string", "description": "MCP server name exactly as configured. Must match the 'server' field returned by list_mcp_resources."},
                "uri": {"type": "string", "description": "Resource URI to read. Must be one of the URIs returned by list_mcp_resources."},
            }),
            &["server", "uri"],
        ),
    ]
}

/// `tool_search` as Codex declares it to the Responses API (`hosted`: a client-executed
/// `tool_search` tool), or as a plain function for Chat Completions and the local model.
fn search_spec(hosted: bool) -> Value {
    let description = "# Tool discovery\n\nSearches over deferred tool metadata with BM25 and exposes matching tools for the next model call.\n\nSome of the tools may not have been provided to you upfront, and you should use this tool (`tool_search`) to search for the required tools. For MCP tool discovery, always use `tool_search` instead of `list_mcp_resources` or `list_mcp_resource_templates`.";
    let parameters = json!({
        "type": "object",
        "properties": {
            "limit": {"type": "number", "description": "Maximum number of tools to return. Defaults to 8."},
            "query": {"type": "string", "description": "Search query for deferred tools."},
        },
        "required": ["query"],
        "additionalProperties": false,
    });
    if hosted {
        json!({"type": "tool_search", "execution": "client", "description": description, "parameters": parameters})
    } else {
        json!({"type": "function", "name": TOOL_SEARCH, "description": description, "strict": false, "parameters": parameters})
    }
}

/// What a call asks of MCP.
pub(crate) enum Route {
    Tool(McpTool),
    Search { hosted: bool },
    ListResources,
    ListTemplates,
    ReadResource,
}

/// Whether the call is wright's business here: an MCP server's tool, `tool_search` or a
/// resource tool. Other names go to the built-in tools.
pub(crate) fn route(mcp: Option<&McpManager>, name: &str) -> Option<Route> {
    let mcp = mcp?;
    // A name in MCP's form is MCP's, whether or not its server is up yet; the other tools
    // exist only when servers are configured (or may be: not known yet).
    if !name.starts_with(names::PREFIX) && mcp.is_configured() && !mcp.has_servers() {
        return None;
    }
    match name {
        TOOL_SEARCH_CALL => Some(Route::Search { hosted: true }),
        TOOL_SEARCH => Some(Route::Search { hosted: false }),
        LIST_RESOURCES => Some(Route::ListResources),
        LIST_TEMPLATES => Some(Route::ListTemplates),
        READ_RESOURCE => Some(Route::ReadResource),
        _ if name.starts_with(names::PREFIX) => Some(Route::Tool(match mcp.tool(name) {
            Some(tool) => tool,
            // Not ready (or gone): still an MCP call; it waits for a starting server, or is
            // answered with why.
            None => McpTool {
                qualified: name.to_string(),
                server: server_of(mcp, name).unwrap_or_default(),
                name: String::new(),
                description: String::new(),
                input_schema: Value::Null,
                read_only: false,
            },
        })),
        _ => None,
    }
}

/// How long a call or a search waits for servers that are still starting (each server's own
/// `startup_timeout_sec` still applies within it).
const STARTING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A tool that was not listed when the call came: if its server is still starting (or the
/// servers are not known yet), wait for it and look again.
async fn resolve_late(mcp: &McpManager, tool: McpTool) -> McpTool {
    if !mcp.is_configured() {
        mcp.wait_started(None, STARTING_WAIT).await;
    }
    let server = server_of(mcp, &tool.qualified);
    if let Some(server) = &server {
        mcp.wait_started(Some(server), STARTING_WAIT).await;
    }
    mcp.tool(&tool.qualified).unwrap_or(McpTool {
        server: server.unwrap_or_default(),
        ..tool
    })
}

/// The configured server a name like `mcp__<server>__<tool>` belongs to (longest match).
fn server_of(mcp: &McpManager, qualified: &str) -> Option<String> {
    mcp.statuses()
        .into_iter()
        .map(|s| s.name)
        .filter(|server| qualified.starts_with(&format!("{}__", names::namespace(server))))
        .max_by_key(String::len)
}

/// The item a tool call starts with (announced in call order, before the call waits).
pub(crate) fn started_item(call: &PendingCall, tool: &McpTool) -> Event {
    Event::ItemStarted(item(
        call,
        tool,
        arguments_value(&call.payload),
        None,
        None,
        McpToolCallStatus::InProgress,
        None,
    ))
}

fn item(
    call: &PendingCall,
    tool: &McpTool,
    arguments: Value,
    result: Option<McpToolResult>,
    error: Option<McpToolError>,
    status: McpToolCallStatus,
    duration_ms: Option<u64>,
) -> wright_protocol::ThreadItem {
    let (server, name) = display_names(tool);
    wright_protocol::ThreadItem {
        id: call.call_id.clone(),
        details: ItemDetails::McpToolCall {
            server,
            tool: name,
            arguments,
            result,
            error,
            status,
            duration_ms,
        },
    }
}

/// The server and tool as the user knows them, even for a tool that is not (yet) listed.
fn display_names(tool: &McpTool) -> (String, String) {
    if !tool.name.is_empty() {
        return (tool.server.clone(), tool.name.clone());
    }
    if tool.server.is_empty() {
        // Servers not known yet: the name's own parts.
        let rest = tool
            .qualified
            .strip_prefix(names::PREFIX)
            .unwrap_or(&tool.qualified);
        return match rest.split_once("__") {
            Some((server, name)) => (server.to_string(), name.to_string()),
            None => (String::new(), rest.to_string()),
        };
    }
    let rest = tool
        .qualified
        .strip_prefix(&format!("{}__", names::namespace(&tool.server)))
        .unwrap_or(&tool.qualified);
    (tool.server.clone(), rest.to_string())
}

fn arguments_value(payload: &str) -> Value {
    if payload.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(payload).unwrap_or_else(|_| Value::String(payload.to_string()))
}

/// Runs one MCP-routed call to its output item.
pub(crate) async fn run(
    ctx: &ToolContext,
    route: Route,
    call: &PendingCall,
    cancel: &CancellationToken,
) -> Value {
    let Some(mcp) = ctx.settings().mcp.clone() else {
        return function_output(call, json!("MCP is not available in this session"));
    };
    match route {
        Route::Tool(tool) => {
            let output = call_tool(ctx, &mcp, tool, call, cancel).await;
            function_output(call, output)
        }
        Route::Search { hosted } => {
            // A search early in a session should find the servers that are about to be up.
            mcp.wait_started(None, STARTING_WAIT).await;
            search(ctx, &mcp, call, hosted)
        }
        Route::ListResources | Route::ListTemplates | Route::ReadResource => {
            mcp.wait_started(None, STARTING_WAIT).await;
            let text = resources(ctx, &mcp, &route, call).await;
            function_output(call, Value::String(text))
        }
    }
}

fn function_output(call: &PendingCall, output: Value) -> Value {
    json!({"type": "function_call_output", "call_id": call.call_id, "output": output})
}

async fn call_tool(
    ctx: &ToolContext,
    mcp: &McpManager,
    tool: McpTool,
    call: &PendingCall,
    cancel: &CancellationToken,
) -> Value {
    let tool = match tool.name.is_empty() {
        true => resolve_late(mcp, tool).await,
        false => tool,
    };
    let started = Instant::now();
    let fail = |arguments: Value, message: String| {
        ctx.emit(Event::ItemCompleted(item(
            call,
            &tool,
            arguments,
            None,
            Some(McpToolError {
                message: message.clone(),
            }),
            McpToolCallStatus::Failed,
            Some(started.elapsed().as_millis() as u64),
        )));
        model_output(
            &ToolResult {
                content: vec![json!({"type": "text", "text": message})],
                structured_content: None,
                is_error: true,
            },
            started.elapsed(),
        )
    };
    let arguments: Option<Map<String, Value>> = match call.payload.trim() {
        "" => None,
        text => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Some(map),
            Ok(_) => {
                return fail(
                    arguments_value(text),
                    "failed to parse function arguments: expected a JSON object".into(),
                )
            }
            Err(err) => {
                return fail(
                    arguments_value(text),
                    format!("failed to parse function arguments: {err}"),
                )
            }
        },
    };
    let shown_arguments = arguments.clone().map(Value::Object).unwrap_or(json!({}));
    if tool.server.is_empty() {
        return fail(
            shown_arguments,
            format!("unknown MCP tool `{}`", tool.qualified),
        );
    }
    if tool.name.is_empty() {
        // The server is configured but does not offer this tool now: say why.
        let why = mcp
            .statuses()
            .into_iter()
            .find(|s| s.name == tool.server)
            .map(|s| match s.error {
                Some(error) => format!("MCP server `{}` is {}: {error}", s.name, s.state.as_str()),
                None => format!(
                    "MCP server `{}` is {} and has no tool named `{}`",
                    s.name,
                    s.state.as_str(),
                    display_names(&tool).1
                ),
            })
            .unwrap_or_else(|| format!("unknown MCP tool `{}`", tool.qualified));
        return fail(shown_arguments, why);
    }
    if let Err(message) = approve(ctx, mcp, &tool, call, &shown_arguments, cancel).await {
        return fail(shown_arguments, message);
    }
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<wright_mcp::Progress>();
    let item_id = call.call_id.clone();
    let relay = async {
        while let Some(p) = progress_rx.recv().await {
            let message = match (&p.message, p.progress.is_nan(), p.total) {
                (Some(m), _, _) => m.clone(),
                (None, false, Some(total)) => format!("{} / {total}", p.progress),
                (None, false, None) => format!("{}", p.progress),
                (None, true, _) => continue,
            };
            ctx.emit(Event::McpToolCallProgress {
                item_id: item_id.clone(),
                message,
            });
        }
    };
    let call_future = mcp.call_tool(
        &tool.server,
        &tool.name,
        arguments,
        Some(progress_tx),
        cancel.clone(),
    );
    // The relay ends when the call drops its sender.
    let (result, ()) = tokio::join!(call_future, relay);
    match result {
        Ok(result) => {
            let limit = ctx.settings().output_token_limit * 4;
            let output = cap_text(model_output(&result, started.elapsed()), limit);
            let error = result.is_error.then(|| McpToolError {
                message: wright_mcp::output::output_text(&output)
                    .lines()
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
            let status = if result.is_error {
                McpToolCallStatus::Failed
            } else {
                McpToolCallStatus::Completed
            };
            ctx.emit(Event::ItemCompleted(item(
                call,
                &tool,
                shown_arguments,
                Some(McpToolResult {
                    content: result.content.clone(),
                    structured_content: result.structured_content.clone(),
                }),
                error,
                status,
                Some(started.elapsed().as_millis() as u64),
            )));
            output
        }
        Err(CallError::Cancelled) => {
            fail(shown_arguments, "tool call interrupted by the user".into())
        }
        Err(err) => fail(shown_arguments, err.to_string()),
    }
}

/// Keeps the text parts of an output within `max_bytes` in all (head and tail of each part,
/// as command output is cut): a server cannot flood the context.
fn cap_text(mut output: Value, max_bytes: usize) -> Value {
    let Some(parts) = output.as_array_mut() else {
        return output;
    };
    let mut left = max_bytes;
    for part in parts.iter_mut() {
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            let kept = truncate::head_tail(text, left.max(64));
            left = left.saturating_sub(kept.len());
            part["text"] = Value::String(kept);
        }
    }
    output
}

/// The tool's approval mode (its own, its server's, else `auto`) against the session's
/// policy. `auto` and `writes` ask unless the server marks the tool read-only.
async fn approve(
    ctx: &ToolContext,
    mcp: &McpManager,
    tool: &McpTool,
    call: &PendingCall,
    arguments: &Value,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let Some(config) = mcp.server_config(&tool.server) else {
        return Err(format!("unknown MCP server `{}`", tool.server));
    };
    let mode = tool.approval_mode(&config);
    let ask = match mode {
        "approve" => false,
        "prompt" => true,
        _ => !tool.read_only,
    };
    let settings = ctx.settings();
    if !ask || settings.session.mcp_tool_allowed(&tool.server, &tool.name) {
        return Ok(());
    }
    if settings.approval_policy == ApprovalPolicy::Never {
        return Err(NEEDS_APPROVAL_NEVER.into());
    }
    let request = ApprovalRequest::McpToolCall {
        item_id: call.call_id.clone(),
        server: tool.server.clone(),
        tool: tool.name.clone(),
        arguments: arguments.clone(),
        description: tool.description.clone(),
    };
    let session = Arc::clone(&settings.session);
    // As Codex: only `auto` lets a yes stand for the session; `prompt` and `writes` mean
    // every call is asked about.
    let remember = || {
        if mode == "auto" {
            session.allow_mcp_tool(&tool.server, &tool.name);
        }
    };
    ctx.approved(request, cancel, remember)
        .await
        .map_err(|reason| reason.unwrap_or_else(|| "user rejected MCP tool call".into()))
}

fn search(ctx: &ToolContext, mcp: &McpManager, call: &PendingCall, hosted: bool) -> Value {
    let args = arguments_value(&call.payload);
    let query = args
        .get("query")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let limit = args
        .get("limit")
        .and_then(Value::as_f64)
        .filter(|l| *l >= 1.0)
        .map(|l| l.min(50.0) as usize)
        .unwrap_or(DEFAULT_SEARCH_LIMIT);
    let tools = mcp.tools();
    let index = Index::new(
        &tools
            .iter()
            .map(|t| Document {
                name: t.qualified.clone(),
                text: format!("{} {} {}", t.server, t.name, t.description),
            })
            .collect::<Vec<_>>(),
    );
    let hits: Vec<&McpTool> = index
        .search(query, limit)
        .into_iter()
        .filter_map(|name| tools.iter().find(|t| t.qualified == name))
        .collect();
    if hosted {
        // Codex's shape: one namespace per server, each function by its own name.
        let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
        for tool in &hits {
            let namespace = names::namespace(&tool.server);
            let function = json!({
                "type": "function",
                "name": tool.qualified.strip_prefix(&format!("{namespace}__")).unwrap_or(&tool.qualified),
                "description": tool.description,
                "strict": false,
                "defer_loading": true,
                "parameters": tool.input_schema,
            });
            match groups.iter_mut().find(|(n, _)| *n == namespace) {
                Some((_, functions)) => functions.push(function),
                None => groups.push((namespace, vec![function])),
            }
        }
        let namespaces: Vec<Value> = groups
            .into_iter()
            .map(|(name, functions)| {
                json!({
                    "type": "namespace",
                    "name": name,
                    "description": format!("Tools in the {name} namespace."),
                    "tools": functions,
                })
            })
            .collect();
        return json!({
            "type": "tool_search_output",
            "call_id": call.call_id,
            "status": "completed",
            "execution": "client",
            "tools": namespaces,
        });
    }
    let found: Vec<Value> = hits
        .iter()
        .map(|t| json!({"name": t.qualified, "description": t.description, "parameters": t.input_schema}))
        .collect();
    ctx.found_tools(hits.into_iter().cloned().collect());
    let text = if found.is_empty() {
        format!("No tools match `{query}`.")
    } else {
        json!({ "tools": found }).to_string()
    };
    function_output(call, Value::String(text))
}

async fn resources(
    ctx: &ToolContext,
    mcp: &McpManager,
    route: &Route,
    call: &PendingCall,
) -> String {
    let args = arguments_value(&call.payload);
    let s = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
    let result = match route {
        Route::ListResources => {
            mcp.list_resources(s("server").as_deref(), s("cursor"))
                .await
        }
        Route::ListTemplates => {
            mcp.list_resource_templates(s("server").as_deref(), s("cursor"))
                .await
        }
        _ => match (s("server"), s("uri")) {
            (Some(server), Some(uri)) => mcp.read_resource(&server, &uri).await,
            _ => return "read_mcp_resource needs `server` and `uri`".into(),
        },
    };
    match result {
        Ok(value) => {
            truncate::model_output(&value.to_string(), ctx.settings().output_token_limit * 4)
        }
        Err(err) => err.to_string(),
    }
}

/// Found tools handed from a turn's calls to the thread, which declares them.
pub(crate) type Found = Arc<Mutex<Vec<McpTool>>>;
