//! What can go wrong in the bridge. Every failure of a tool call reaches the MCP client as a
//! tool result with `isError: true` and this text, never as a protocol error: clients show a
//! tool's error text to their model, while they hide a JSON-RPC error's message.

use wright_app_server::client::ClientError;

/// A failure of one tool call, or of the bridge's start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tool's arguments do not fit its input schema.
    #[error("invalid arguments for `{tool}`: {message}")]
    InvalidArguments {
        /// The tool called.
        tool: &'static str,
        /// What is wrong, naming the argument.
        message: String,
    },
    /// A tool this server does not offer.
    #[error("no tool `{0}`: this server offers `wright` and `wright-reply`")]
    UnknownTool(String),
    /// `wright-reply` for a thread that already runs a call of this server.
    #[error(
        "thread `{0}` is busy with another `wright` or `wright-reply` call; wait for it to end"
    )]
    ThreadBusy(String),
    /// `wright-reply` for a thread the App Server cannot open.
    #[error(
        "cannot continue thread `{thread_id}` ({message}); pass the `threadId` of an earlier \
         `wright` result, or start a new session with `wright`"
    )]
    UnknownThread {
        /// The thread asked for.
        thread_id: String,
        /// The App Server's reason.
        message: String,
    },
    /// The App Server answered a request with a JSON-RPC error.
    #[error("{method} failed: {message}")]
    AppServer {
        /// The App Server method that failed.
        method: &'static str,
        /// Its JSON-RPC error code.
        code: i64,
        /// Its message, passed on to the MCP client.
        message: String,
    },
    /// The in-process App Server stopped reading or writing.
    #[error("the wright app server is gone; restart `wright mcp-server`")]
    AppServerGone,
    /// The App Server's reply did not fit the protocol type (a bug on one side).
    #[error("the app server's reply to {method} is malformed: {source}")]
    BadReply {
        /// The method whose reply did not fit.
        method: &'static str,
        /// Why it did not fit.
        #[source]
        source: serde_json::Error,
    },
    /// The MCP transport failed while starting or serving.
    #[error("the MCP connection failed: {0}")]
    Transport(String),
}

impl From<ClientError> for Error {
    fn from(err: ClientError) -> Error {
        match err {
            ClientError::BadReply { method, source } => Error::BadReply { method, source },
            ClientError::AppServer {
                method,
                code,
                message,
            } => Error::AppServer {
                method,
                code,
                message,
            },
            ClientError::Gone => Error::AppServerGone,
        }
    }
}

/// The Result of the bridge's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
