//! What can go wrong in the bridge, and the ACP error each failure is reported as.

use agent_client_protocol as acp;
use wright_app_server::client::ClientError;

/// A failure of one ACP request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The App Server answered a request with a JSON-RPC error.
    #[error("{method} failed: {message}")]
    AppServer {
        /// The App Server method that failed.
        method: &'static str,
        /// Its JSON-RPC error code.
        code: i64,
        /// Its message, passed on to the editor.
        message: String,
    },
    /// The in-process App Server stopped reading or writing.
    #[error("the wright app server is gone; restart the agent")]
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
    /// A session id this agent never created or loaded.
    #[error("no session `{0}`: create one with session/new or open it with session/load")]
    UnknownSession(String),
    /// ACP allows one prompt at a time per session.
    #[error("session `{0}` is already running a prompt; cancel it or wait for it to end")]
    PromptRunning(String),
    /// `session/set_mode` with a mode this agent did not offer.
    #[error("no mode `{0}`; the session's modes are listed in its `modes`")]
    UnknownMode(String),
    /// `session/set_config_option` with an option or value this agent did not offer.
    #[error("no value `{value}` for config option `{option}`")]
    UnknownConfigValue {
        /// The config option's id.
        option: String,
        /// The value asked for.
        value: String,
    },
    /// The prompt held nothing wright can send to the model.
    #[error("the prompt is empty or holds only content wright cannot use ({0})")]
    EmptyPrompt(String),
    /// The editor connection failed (it closed, or a request to it failed).
    #[error("the editor connection failed: {0}")]
    Acp(#[from] acp::Error),
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

impl From<Error> for acp::Error {
    fn from(err: Error) -> acp::Error {
        let message = err.to_string();
        match err {
            Error::AppServer { code, .. }
                if code == acp::ErrorCode::INVALID_PARAMS.value() as i64 =>
            {
                acp::Error::new(acp::ErrorCode::INVALID_PARAMS, message)
            }
            Error::AppServer { .. } | Error::AppServerGone | Error::BadReply { .. } => {
                acp::Error::new(acp::ErrorCode::INTERNAL_ERROR, message)
            }
            Error::UnknownSession(_) => {
                acp::Error::new(acp::ErrorCode::RESOURCE_NOT_FOUND, message)
            }
            Error::PromptRunning(_) => acp::Error::new(acp::ErrorCode::INVALID_REQUEST, message),
            Error::UnknownMode(_) | Error::UnknownConfigValue { .. } | Error::EmptyPrompt(_) => {
                acp::Error::new(acp::ErrorCode::INVALID_PARAMS, message)
            }
            Error::Acp(inner) => inner,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_to_the_codes_a_client_can_act_on() {
        let code = |e: Error| acp::Error::from(e).code;
        assert_eq!(
            code(Error::UnknownSession("s".into())),
            acp::ErrorCode::RESOURCE_NOT_FOUND
        );
        assert_eq!(
            code(Error::UnknownMode("x".into())),
            acp::ErrorCode::INVALID_PARAMS
        );
        assert_eq!(
            code(Error::AppServer {
                method: "turn/start",
                code: -32602,
                message: "bad".into()
            }),
            acp::ErrorCode::INVALID_PARAMS
        );
        assert_eq!(code(Error::AppServerGone), acp::ErrorCode::INTERNAL_ERROR);
        let err = acp::Error::from(Error::PromptRunning("s".into()));
        assert!(err.message.contains("already running"), "{}", err.message);
    }
}
