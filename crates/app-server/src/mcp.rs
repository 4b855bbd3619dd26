//! The process's MCP servers: one [`McpManager`] for the whole App Server, started from the
//! server's config in the background (nothing waits for it: `initialize` and `thread/start`
//! answer at once), given to every thread, reloaded by `config/mcpServer/reload`, and stopped
//! with the server. How its servers fare goes to every initialized connection as
//! `mcpServer/startupStatus/updated`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use wright_mcp::{McpEvent, McpManager, ServerState, ServerStatus};
use wright_protocol::v2::{
    McpServerStartupState, McpServerStatusUpdatedNotification, ServerNotification,
};

use crate::conn::ConnHandle;
use crate::rpc::RpcResult;
use crate::state::State;

/// How long after the server starts its MCP servers are started.
const START_AFTER: Duration = Duration::from_millis(40);

pub(crate) struct ServerMcp {
    /// Empty until the config is read; reloads swap its servers and every clone (each
    /// thread's) sees them.
    manager: McpManager,
    started: AtomicBool,
    /// Each load of the config takes a number; one that finishes after a later one is dropped,
    /// so a slow first load cannot undo a reload.
    next_load: AtomicU64,
    applied: Mutex<u64>,
    /// `true` once the config was read the first time (applied or failed).
    loaded: watch::Sender<bool>,
    /// Tells the status pump that servers were (re)started, so it announces them `starting`
    /// (the manager reports a server's first start by its state, not by an event).
    reloaded: mpsc::UnboundedSender<()>,
    reloaded_rx: Mutex<Option<mpsc::UnboundedReceiver<()>>>,
}

impl ServerMcp {
    /// Needs no runtime: nothing runs until [`start`].
    pub fn new() -> ServerMcp {
        let (reloaded, reloaded_rx) = mpsc::unbounded_channel();
        ServerMcp {
            manager: McpManager::pending(),
            started: AtomicBool::new(false),
            next_load: AtomicU64::new(0),
            applied: Mutex::new(0),
            loaded: watch::channel(false).0,
            reloaded,
            reloaded_rx: Mutex::new(Some(reloaded_rx)),
        }
    }

    /// The manager, for a thread or a request.
    pub fn manager(&self) -> McpManager {
        self.manager.clone()
    }

    /// Waits (at most `limit`) until the config was read once, so that a request right after
    /// start sees the configured servers rather than none.
    pub async fn wait_loaded(&self, limit: Duration) {
        let mut loaded = self.loaded.subscribe();
        let _ = tokio::time::timeout(limit, loaded.wait_for(|l| *l)).await;
    }

    pub fn shutdown(&self) {
        self.manager.shutdown();
    }
}

/// Starts the status pump and the first load of the config, once. Without a tokio runtime it
/// does nothing (the next call, from `connect`, does it).
pub(crate) fn start(state: &Arc<State>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    if state.mcp.started.swap(true, Ordering::SeqCst) {
        return;
    }
    // Subscribed before anything starts, so no status is missed.
    let events = state.mcp.manager.subscribe();
    let reloaded = state.mcp.reloaded_rx.lock().ok().and_then(|mut r| r.take());
    if let Some(reloaded) = reloaded {
        tokio::spawn(pump(Arc::downgrade(state), events, reloaded));
    }
    let state = Arc::clone(state);
    tokio::spawn(async move {
        // wright's own start-up (the first thread, the first model request) goes first: on a
        // small machine a handful of interpreters starting at once would take the CPU it
        // needs. Nothing could use the servers that early anyway.
        tokio::time::sleep(START_AFTER).await;
        if let Err(err) = reload_from_disk(&state).await {
            tracing::warn!("MCP servers not started: {}", err.message);
        }
    });
}

/// Reads the server's config (as `thread/start` would, before a thread's own settings) and
/// restarts the MCP servers it configures. Returns once they are starting, not started.
pub(crate) async fn reload_from_disk(state: &Arc<State>) -> RpcResult<()> {
    let load = state.mcp.next_load.fetch_add(1, Ordering::SeqCst) + 1;
    let config = crate::config_methods::load_config(state).await;
    let outcome = match config {
        Ok(config) => {
            // Builds the sandbox launcher, which may look at the system: off the async threads.
            let options = tokio::task::spawn_blocking(move || wright_core::mcp::options(&config))
                .await
                .map_err(|e| crate::rpc::RpcError::internal(format!("internal error: {e}")))?;
            let mut applied = state.mcp.applied.lock().unwrap_or_else(|p| p.into_inner());
            if load > *applied {
                *applied = load;
                state.mcp.manager.reload(options);
                let _ = state.mcp.reloaded.send(());
            }
            Ok(())
        }
        Err(err) => {
            // Calls waiting to learn the servers learn there are none.
            if !state.mcp.manager.is_configured() {
                state.mcp.manager.reload(wright_mcp::McpOptions::none());
            }
            Err(err)
        }
    };
    state.mcp.loaded.send_replace(true);
    outcome
}

/// A connection finished `initialize`: it is told where each server stands now, then hears of
/// every change.
pub(crate) fn connection_initialized(state: &State, conn: &ConnHandle) {
    state.connection_initialized(conn);
    for status in state.mcp.manager.statuses() {
        if let Some(notification) = startup_status(&status) {
            conn.notify(&notification);
        }
    }
}

/// A server's state as `mcpServer/startupStatus/updated`; none for a disabled server (it is
/// not starting, and Codex has no word for it).
pub(crate) fn startup_status(status: &ServerStatus) -> Option<ServerNotification> {
    let (state, error) = match status.state {
        ServerState::Starting => (McpServerStartupState::Starting, None),
        ServerState::Ready => (McpServerStartupState::Ready, None),
        ServerState::Failed => (McpServerStartupState::Failed, status.error.clone()),
        ServerState::Disabled => return None,
    };
    Some(ServerNotification::McpServerStatusUpdated(
        McpServerStatusUpdatedNotification {
            name: status.name.clone(),
            status: state,
            error,
            failure_reason: None,
            thread_id: None,
        },
    ))
}

/// The manager's events → notifications to every connection, until the server goes.
async fn pump(
    state: Weak<State>,
    mut events: broadcast::Receiver<McpEvent>,
    mut reloaded: mpsc::UnboundedReceiver<()>,
) {
    loop {
        tokio::select! {
            // A reload is announced before what its servers do next.
            biased;
            reload = reloaded.recv() => {
                let (Some(()), Some(state)) = (reload, state.upgrade()) else { return };
                for status in state.mcp.manager.statuses() {
                    if status.state == ServerState::Starting {
                        if let Some(notification) = startup_status(&status) {
                            state.broadcast_all(&notification);
                        }
                    }
                }
            }
            event = events.recv() => match event {
                Ok(McpEvent::Status(status)) => {
                    let Some(state) = state.upgrade() else { return };
                    if let Some(notification) = startup_status(&status) {
                        state.broadcast_all(&notification);
                    }
                }
                Ok(McpEvent::Log { .. } | McpEvent::ToolsChanged) => {}
                // Statuses are states, not steps: the next one says where the server is.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
