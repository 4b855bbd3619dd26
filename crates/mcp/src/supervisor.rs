//! Keeping each server running: start it (spawn or connect, handshake, list tools), serve its
//! session until it ends, and start it again with backoff. A server that fails to start
//! too many times in a row is left failed until the config is reloaded.

use std::sync::Arc;
use std::time::Duration;

use rmcp::{Peer, RoleClient};
use serde_json::Value;
use tokio::sync::watch;

use crate::config::McpTransport;
use crate::connection::{self, Connection, Handler};
use crate::manager::{
    Inner, Live, McpEvent, McpOptions, McpTool, ServerState, ServerStatus, Slot,
    DEFAULT_STARTUP_TIMEOUT, MAX_BACKOFF, MAX_FAILED_STARTS,
};
use crate::names;
use crate::stdio;

fn set_status(inner: &Inner, slot: &Slot, change: impl FnOnce(&mut ServerStatus)) {
    let status = match slot.status.lock() {
        Ok(mut status) => {
            change(&mut status);
            status.clone()
        }
        Err(_) => return,
    };
    match status.state {
        // Clients are told (status notifications, exec's warning, `/mcp`); the log keeps the
        // detail without writing over a terminal UI.
        ServerState::Failed => tracing::info!(
            server = %status.name,
            error = status.error.as_deref().unwrap_or(""),
            "MCP server failed"
        ),
        state => tracing::info!(server = %status.name, state = state.as_str(), "MCP server"),
    }
    let _ = inner.events.send(McpEvent::Status(status));
}

fn backoff(failures: u32) -> Duration {
    let secs = 1u64 << failures.saturating_sub(1).min(5);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

/// Keeps one server running: start, serve until the session ends, restart with backoff.
pub(crate) async fn supervise(inner: Arc<Inner>, slot: Arc<Slot>, options: Arc<McpOptions>) {
    let mut failed_starts = 0u32;
    let mut starts = 0u32;
    loop {
        if starts > 0 {
            set_status(&inner, &slot, |s| {
                s.state = ServerState::Starting;
                s.restarts = starts;
            });
        }
        starts += 1;
        let startup = slot
            .config
            .startup_timeout_sec
            .unwrap_or(DEFAULT_STARTUP_TIMEOUT);
        let attempt = tokio::select! {
            attempt = tokio::time::timeout(startup, start(&inner, &slot, &options)) => attempt,
            _ = inner.shutdown.cancelled() => return,
        };
        let error = match attempt {
            Err(_) => format!(
                "it did not finish starting within {} s (startup_timeout_sec)",
                startup.as_secs_f64()
            ),
            Ok(Err(error)) => error,
            Ok(Ok((connection, live))) => {
                failed_starts = 0;
                let reason = serve(&inner, &slot, connection, live).await;
                let Some(reason) = reason else { return };
                reason
            }
        };
        if slot.live.borrow().is_none() {
            failed_starts += 1;
        }
        let give_up = failed_starts >= MAX_FAILED_STARTS;
        let shown = if give_up {
            format!("{error} (gave up after {failed_starts} failed starts; reload the MCP config to try again)")
        } else {
            error
        };
        set_status(&inner, &slot, |s| {
            s.state = ServerState::Failed;
            s.error = Some(shown);
            s.tools.clear();
        });
        if give_up {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff(failed_starts.max(1))) => {}
            _ = inner.shutdown.cancelled() => return,
        }
    }
}

/// Connects, handshakes and lists the tools.
async fn start(
    inner: &Inner,
    slot: &Slot,
    options: &McpOptions,
) -> Result<(Connection, Live), String> {
    let handler = Handler::new(&slot.name, inner.events.clone());
    let progress = Arc::clone(&handler.progress);
    let tools_changed = Arc::clone(&handler.tools_changed);
    let connection = match &slot.config.transport {
        McpTransport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let mut argv = vec![command.clone()];
            argv.extend(args.iter().cloned());
            let mut full_env = options.env.clone();
            for (k, v) in env.iter().flatten() {
                full_env.retain(|(key, _)| key != k);
                full_env.push((k.clone(), v.clone()));
            }
            let cwd = cwd.clone().unwrap_or_else(|| options.cwd.clone());
            let launcher = match (&options.launcher, slot.config.sandbox) {
                (Some(launcher), true) => Some(Arc::clone(launcher)),
                _ => None,
            };
            let name = slot.name.clone();
            // Preparing the sandbox launcher and forking are blocking work.
            let spawned = tokio::task::spawn_blocking(move || {
                let argv = match launcher {
                    Some(launcher) => launcher(&argv).map_err(|why| {
                        format!("it cannot be confined here: {why}; set `sandbox = false` for this server to run it unconfined")
                    })?,
                    None => argv,
                };
                stdio::spawn(&name, &argv, &full_env, &cwd).map_err(|e| {
                    format!("could not start `{}`: {e}", argv.first().map(String::as_str).unwrap_or(""))
                })
            })
            .await
            .map_err(|e| format!("internal error: {e}"))??;
            connection::connect_stdio(spawned, handler).await
        }
        McpTransport::StreamableHttp {
            url,
            bearer_token_env_var,
            ..
        } => {
            let bearer = match bearer_token_env_var {
                Some(var) => Some(std::env::var(var).map_err(|_| {
                    format!("the environment variable `{var}` (bearer_token_env_var) is not set")
                })?),
                // A stored login, refreshed first when it has expired.
                None => match &options.oauth_home {
                    Some(home) => crate::oauth::fresh_access_token(home, &slot.name, url)
                        .await
                        .map_err(|e| e.to_string())?,
                    None => None,
                },
            };
            connection::connect_http(&slot.config, bearer, handler).await
        }
    }
    .map_err(|e| e.to_string())?;
    let tools = list_tools(slot, connection.service.peer()).await?;
    let failure = match &connection.process {
        Some(p) => merged_failure(p),
        None => watch::channel(None).1,
    };
    let live = Live {
        peer: connection.service.peer().clone(),
        tools: Arc::new(tools),
        progress,
        stderr: connection.stderr(),
        failure,
        tools_changed,
        initialize: connection
            .service
            .peer_info()
            .and_then(|info| serde_json::to_value(info.as_ref()).ok()),
    };
    Ok((connection, live))
}

/// The first reason a stdio session died: garbage on stdout, or the process exiting.
fn merged_failure(process: &crate::stdio::Process) -> watch::Receiver<Option<String>> {
    let (tx, rx) = watch::channel(None);
    let mut garbage = process.garbage.clone();
    let mut exited = process.exited.clone();
    tokio::spawn(async move {
        let reason = tokio::select! {
            g = first(&mut garbage) => format!("the server {g}"),
            e = first(&mut exited) => format!("the server process {e}"),
        };
        let _ = tx.send(Some(reason));
        // Keep the sender until nobody listens, so the reason stays readable.
        tx.closed().await;
    });
    rx
}

/// The first value a watch gets; pending forever if its sender goes without giving one.
async fn first(rx: &mut watch::Receiver<Option<String>>) -> String {
    let value = match rx.wait_for(Option::is_some).await {
        Ok(value) => value.clone(),
        Err(_) => None,
    };
    match value {
        Some(value) => value,
        None => std::future::pending().await,
    }
}

async fn list_tools(slot: &Slot, peer: &Peer<RoleClient>) -> Result<Vec<McpTool>, String> {
    let listed = peer
        .list_all_tools()
        .await
        .map_err(|e| format!("tools/list failed: {e}"))?;
    let config = &slot.config;
    let mut seen = std::collections::HashSet::new();
    let mut tools = Vec::new();
    for tool in listed {
        let name = tool.name.to_string();
        if config
            .enabled_tools
            .as_ref()
            .is_some_and(|only| !only.contains(&name))
            || config
                .disabled_tools
                .as_ref()
                .is_some_and(|never| never.contains(&name))
        {
            continue;
        }
        let qualified = names::qualified(&slot.name, &name);
        if !seen.insert(qualified.clone()) {
            tracing::warn!(server = %slot.name, tool = %name, "two tools share the name {qualified}; the second is left out");
            continue;
        }
        tools.push(McpTool {
            qualified,
            server: slot.name.clone(),
            description: tool
                .description
                .as_deref()
                .or(tool.title.as_deref())
                .unwrap_or_default()
                .to_string(),
            input_schema: Value::Object(tool.input_schema.as_ref().clone()),
            read_only: tool
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .unwrap_or(false),
            name,
        });
    }
    Ok(tools)
}

/// Serves a ready session until it ends. `None`: wright is shutting down.
async fn serve(inner: &Inner, slot: &Slot, connection: Connection, live: Live) -> Option<String> {
    let tools: Vec<String> = live.tools.iter().map(|t| t.qualified.clone()).collect();
    let mut failure = live.failure.clone();
    let tools_changed = Arc::clone(&live.tools_changed);
    let peer = live.peer.clone();
    if let Ok(mut order) = inner.ready_order.lock() {
        if !order.contains(&slot.name) {
            order.push(slot.name.clone());
        }
    }
    slot.live.send_replace(Some(live));
    set_status(inner, slot, |s| {
        s.state = ServerState::Ready;
        s.error = None;
        s.tools = tools;
    });
    let _ = inner.events.send(McpEvent::ToolsChanged);
    let Connection {
        service,
        process: _process,
    } = connection;
    let closed = service.cancellation_token();
    let waiting = service.waiting();
    tokio::pin!(waiting);
    let reason = loop {
        tokio::select! {
            _ = inner.shutdown.cancelled() => break None,
            quit = &mut waiting => break Some(format!("the session ended ({quit:?})")),
            _ = until_failed(&mut failure) => break Some(String::new()),
            _ = tools_changed.notified() => relist(inner, slot, &peer).await,
        }
    };
    closed.cancel();
    slot.live.send_replace(None);
    let _ = inner.events.send(McpEvent::ToolsChanged);
    let reason = reason?;
    // The process's own account beats the session's.
    let known = live_failure(&failure).await;
    Some(known.unwrap_or(reason))
}

/// Resolves once the session has a failure reason (holding no borrow across awaits).
async fn until_failed(failure: &mut watch::Receiver<Option<String>>) {
    if failure.wait_for(Option::is_some).await.is_err() {
        // No process to fail (streamable HTTP): only the session's end counts.
        std::future::pending::<()>().await;
    }
}

/// `notifications/tools/list_changed`: the new list replaces the old one. A list that cannot
/// be had keeps the old one.
async fn relist(inner: &Inner, slot: &Slot, peer: &Peer<RoleClient>) {
    let tools = match list_tools(slot, peer).await {
        Ok(tools) => tools,
        Err(error) => {
            tracing::warn!(server = %slot.name, "{error}");
            return;
        }
    };
    let names: Vec<String> = tools.iter().map(|t| t.qualified.clone()).collect();
    slot.live.send_modify(|live| {
        if let Some(live) = live {
            live.tools = Arc::new(tools);
        }
    });
    set_status(inner, slot, |s| s.tools = names);
    let _ = inner.events.send(McpEvent::ToolsChanged);
}

pub(crate) async fn live_failure(failure: &watch::Receiver<Option<String>>) -> Option<String> {
    let mut failure = failure.clone();
    tokio::time::timeout(
        Duration::from_millis(300),
        failure.wait_for(Option::is_some),
    )
    .await
    .ok()
    .and_then(|r| r.ok().and_then(|r| r.clone()))
}
