//! The App Server: Codex's App Server protocol v2 (JSON-RPC: Thread / Turn / Item, streamed
//! notifications, approvals as server→client requests) over any line transport.
//!
//! A [`Connection`] is a pair of line channels; transports ([`transport`]) move lines between
//! them and stdio or WebSocket, and `wright exec` talks to one in process. Each connection has
//! its own outgoing queue and writer, so a slow client never holds up another.

mod account;
mod approvals;
mod auto_review;
mod background_terminals;
pub mod client;
mod command_exec;
mod config_methods;
mod conn;
mod delegated;
mod dispatch;
mod event_pump;
mod file_services;
mod file_writes;
mod fs_methods;
mod fs_watch;
mod fuzzy_search;
mod hooks_methods;
mod mcp;
mod mcp_approval;
mod mcp_methods;
mod models;
mod paging;
mod rpc;
mod shell_command;
mod skills_methods;
mod state;
mod sub_agents;
mod thread_history;
mod thread_methods;
mod thread_settings;
pub mod transport;
mod turns;
mod user_agent;
mod user_input;
mod wire;
pub mod ws_auth;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use wright_core::config::CliOverrides;

pub use conn::MAX_MESSAGE_BYTES;

/// Shared by every connection of one server process (clones share it).
#[derive(Clone)]
pub struct AppServer {
    state: Arc<state::State>,
}

/// One client's view of the server: send it lines, read lines back.
pub struct Connection {
    pub incoming: mpsc::Sender<String>,
    pub outgoing: Outgoing,
}

/// The lines the server has for one client, oldest first.
pub struct Outgoing {
    rx: mpsc::UnboundedReceiver<String>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl Outgoing {
    pub async fn recv(&mut self) -> Option<String> {
        let line = self.rx.recv().await?;
        self.queued
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        Some(line)
    }
}

/// How the server finds its config and state.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Config overrides from the command line (`-c`, `--profile`, ...), applied under each
    /// thread's own settings.
    pub overrides: CliOverrides,
    /// `$WRIGHT_HOME`; the thread store lives at `state.db` inside it.
    pub wright_home: PathBuf,
    /// Keep no thread on disk (tests, `--ephemeral`).
    pub ephemeral: bool,
    /// Name reported to the model provider as `originator` etc.
    pub source: String,
    /// Pruning of the store: threads untouched this many days (`None`: never), and the most
    /// threads kept.
    pub thread_retention_days: Option<u64>,
    pub max_threads: usize,
}

impl AppServer {
    /// The server's MCP servers start in the background from here (or from the first
    /// [`AppServer::connect`] when there is no tokio runtime yet); nothing waits for them.
    pub fn new(options: ServerOptions) -> AppServer {
        let state = state::State::new(options);
        mcp::start(&state);
        AppServer { state }
    }

    /// Stops the MCP servers now (they also stop when the last handle to the server goes).
    pub fn shutdown(&self) {
        self.state.mcp.shutdown();
    }

    /// Opens a connection and starts serving it.
    pub fn connect(&self) -> Connection {
        mcp::start(&self.state);
        skills_methods::watch(&self.state);
        let (in_tx, in_rx) = mpsc::channel(256);
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn(conn::serve(
            Arc::clone(&self.state),
            in_rx,
            out_tx,
            Arc::clone(&queued),
        ));
        Connection {
            incoming: in_tx,
            outgoing: Outgoing { rx: out_rx, queued },
        }
    }
}
