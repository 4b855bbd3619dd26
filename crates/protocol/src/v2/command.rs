//! `command/exec` and its follow-ups (`command/exec/write`, `command/exec/terminate`,
//! `command/exec/resize`), and the `command/exec/outputDelta` notification: one command run
//! outside any thread, optionally on a terminal, with its input and output streamed.
//!
//! Process ids are chosen by the client and scoped to its connection; streamed output goes to
//! that connection only, and the process is killed when it closes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::SandboxPolicy;

/// `command/exec`: run one command (an argv vector) in the server's sandbox, without a thread
/// or turn. The response comes when the process has exited, after every
/// `command/exec/outputDelta` for it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecParams {
    /// argv; an empty vector is refused.
    pub command: Vec<String>,
    /// Client-chosen id, unique among this connection's running commands. Required for `tty`,
    /// `streamStdin`, `streamStdoutStderr` and the follow-up `command/exec/*` calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<String>,
    /// Run on a pseudo-terminal (implies `streamStdin` and `streamStdoutStderr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// Accept `command/exec/write` for this process's stdin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_stdin: Option<bool>,
    /// Send stdout and stderr as `command/exec/outputDelta` (then not repeated in the response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_stdout_stderr: Option<bool>,
    /// Bytes kept (or streamed) per stream; the server default when omitted. Not with
    /// `disableOutputCap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes_cap: Option<u64>,
    /// No cap on the output. Not with `outputBytesCap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_output_cap: Option<bool>,
    /// No timeout. Not with `timeoutMs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_timeout: Option<bool>,
    /// Timeout in milliseconds; the server default when omitted. Not with `disableTimeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<i64>,
    /// Working directory; the server's when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Changes to the environment the server computes: a value sets the variable, `null`
    /// unsets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, Option<String>>>,
    /// Initial terminal size (only with `tty`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<CommandExecTerminalSize>,
    /// Sandbox for this command; the configured one when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_policy: Option<SandboxPolicy>,
    /// A named permission profile (newer Codex). wright has none and refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_profile: Option<String>,
}

/// A terminal size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandExecTerminalSize {
    pub rows: u16,
    pub cols: u16,
}

/// Result of `command/exec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecResponse {
    pub exit_code: i32,
    /// Buffered stdout (empty when it was streamed).
    pub stdout: String,
    /// Buffered stderr (empty when it was streamed).
    pub stderr: String,
}

/// `command/exec/write`: bytes for a running command's stdin, and/or closing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecWriteParams {
    pub process_id: String,
    /// Bytes to write, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_base64: Option<String>,
    /// Close stdin after writing `deltaBase64` (on a terminal: send end-of-file).
    #[serde(default)]
    pub close_stdin: bool,
}

/// `command/exec/terminate`: kill a running command (and everything it started).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecTerminateParams {
    pub process_id: String,
}

/// `command/exec/resize`: resize the terminal of a `tty` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecResizeParams {
    pub process_id: String,
    pub size: CommandExecTerminalSize,
}

/// The empty result of `command/exec/write`, `command/exec/terminate` and
/// `command/exec/resize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CommandExecEmptyResponse {}

pub type CommandExecWriteResponse = CommandExecEmptyResponse;
pub type CommandExecTerminateResponse = CommandExecEmptyResponse;
pub type CommandExecResizeResponse = CommandExecEmptyResponse;

/// Which stream a `command/exec/outputDelta` chunk came from (a terminal's output is all
/// `stdout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CommandExecOutputStream {
    Stdout,
    Stderr,
}

/// `command/exec/outputDelta`: a chunk of a streaming command's output, to the connection
/// that started it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandExecOutputDeltaNotification {
    pub process_id: String,
    pub stream: CommandExecOutputStream,
    /// The bytes, base64.
    pub delta_base64: String,
    /// Set on the last chunk of a stream that `outputBytesCap` cut; nothing more comes for it.
    pub cap_reached: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shapes() {
        let n = CommandExecOutputDeltaNotification {
            process_id: "p".into(),
            stream: CommandExecOutputStream::Stderr,
            delta_base64: "aGk=".into(),
            cap_reached: false,
        };
        assert_eq!(
            serde_json::to_value(&n).unwrap(),
            json!({"processId": "p", "stream": "stderr", "deltaBase64": "aGk=", "capReached": false})
        );
        let w: CommandExecWriteParams =
            serde_json::from_value(json!({"processId": "p", "deltaBase64": "eA=="})).unwrap();
        assert!(!w.close_stdin);
        assert_eq!(
            serde_json::to_value(CommandExecEmptyResponse {}).unwrap(),
            json!({})
        );
        let p: CommandExecParams = serde_json::from_value(json!({
            "command": ["sh"], "processId": "x", "tty": true,
            "size": {"rows": 3, "cols": 4}, "env": {"A": "1", "B": null},
        }))
        .unwrap();
        assert_eq!(p.size, Some(CommandExecTerminalSize { rows: 3, cols: 4 }));
        assert_eq!(p.env.unwrap()["B"], None);
    }
}
