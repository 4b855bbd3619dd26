//! The `wrightFileReads` and `wrightCommandRuns` extensions: for a client that declared it holds
//! the files' current text (an editor's buffers) or runs commands in terminals of its own, the
//! engine's checked reads and approved, sandbox-wrapped commands become `wright/fs/readTextFile`
//! and `wright/command/run` requests to the client that started the turn. [`ask`] is also how
//! `wrightFileWrites` (`crate::file_writes`) sends its requests.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use wright_core::command_runs::{CommandRunner, RunOutput, RunRequest};
use wright_core::file_reads::{FileReader, ReadRequest};
use wright_protocol::jsonrpc::RequestId;
use wright_protocol::v2::{
    CommandEnvVar, CommandRunParams, CommandRunResponse, FsReadTextFileParams,
    FsReadTextFileResponse, WrightServerRequest,
};

use crate::approvals::ToPump;
use crate::conn::ConnHandle;

pub(crate) type Build = Box<dyn FnOnce(RequestId) -> WrightServerRequest + Send>;
type Sent = oneshot::Sender<(i64, oneshot::Receiver<Result<Value, Value>>)>;

/// One request, handed to the turn's event pump so that it goes out after the events the
/// engine emitted before it (a command's `item/started`).
pub(crate) struct Outgoing {
    build: Build,
    sent: Sent,
}

/// Sends a request to the client that started the turn.
pub(crate) fn send(owner: &ConnHandle, out: Outgoing) {
    // Dropped by an interrupt while queued: do not send it at all.
    if out.sent.is_closed() {
        return;
    }
    let (id, reply) = owner.start_extension_request(out.build);
    if out.sent.send((id, reply)).is_err() {
        owner.withdraw(id);
    }
}

const GONE: &str = "the editor disconnected before answering";

/// Sends the request through the pump and waits for the typed reply; `Err` is the client's
/// error message (or why there is none). Dropping the future withdraws the request.
pub(crate) async fn ask<R: DeserializeOwned>(
    owner: ConnHandle,
    pump: mpsc::UnboundedSender<ToPump>,
    build: Build,
) -> Result<R, String> {
    let (sent, asked) = oneshot::channel();
    if pump
        .send(ToPump::Delegate(Outgoing { build, sent }))
        .is_err()
    {
        return Err(GONE.into());
    }
    let Ok((id, reply)) = asked.await else {
        return Err(GONE.into());
    };
    let _withdraw = Withdraw { owner, id };
    match reply.await {
        Ok(Ok(value)) => serde_json::from_value(value)
            .map_err(|e| format!("malformed answer from the editor: {e}")),
        Ok(Err(error)) => Err(error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no reason given")
            .to_string()),
        Err(_) => Err(GONE.into()),
    }
}

/// The turn's reader: every file a patch needs is asked of the client that started the turn.
pub(crate) fn reader(
    thread_id: String,
    turn_id: String,
    owner: ConnHandle,
    pump: mpsc::UnboundedSender<ToPump>,
) -> FileReader {
    Arc::new(move |request: ReadRequest| {
        let (owner, pump) = (owner.clone(), pump.clone());
        let params = request.path.to_str().map(|path| FsReadTextFileParams {
            thread_id: thread_id.clone(),
            turn_id: turn_id.clone(),
            path: path.to_string(),
        });
        Box::pin(async move {
            // Paths travel as text: a path that is not UTF-8 cannot be asked about.
            let params = params.ok_or("the path is not UTF-8")?;
            let build: Build = Box::new(|id| WrightServerRequest::FsReadTextFile { id, params });
            let read: FsReadTextFileResponse = ask(owner, pump, build).await?;
            Ok(read.content)
        })
    })
}

/// The turn's runner: every command the engine decided to run goes to the client that
/// started the turn.
pub(crate) fn runner(
    thread_id: String,
    turn_id: String,
    owner: ConnHandle,
    pump: mpsc::UnboundedSender<ToPump>,
) -> CommandRunner {
    Arc::new(move |request: RunRequest| {
        let (owner, pump) = (owner.clone(), pump.clone());
        let params = run_params(thread_id.clone(), turn_id.clone(), request);
        Box::pin(async move {
            let params = params?;
            let build: Build = Box::new(|id| WrightServerRequest::CommandRun { id, params });
            let ran: CommandRunResponse = ask(owner, pump, build).await?;
            Ok(RunOutput {
                exit_code: ran.exit_code,
                output: ran.output,
                timed_out: ran.timed_out,
            })
        })
    })
}

/// The wire params. Paths travel as text, so a cwd that is not UTF-8 cannot be delegated.
fn run_params(
    thread_id: String,
    turn_id: String,
    request: RunRequest,
) -> Result<CommandRunParams, String> {
    let cwd = request
        .cwd
        .to_str()
        .ok_or_else(|| {
            format!(
                "cannot hand {} to the editor: not UTF-8",
                request.cwd.display()
            )
        })?
        .to_string();
    if request.argv.is_empty() {
        return Err("empty command".into());
    }
    Ok(CommandRunParams {
        thread_id,
        turn_id,
        item_id: request.item_id,
        argv: request.argv,
        cwd,
        env: request
            .env
            .into_iter()
            .map(|(name, value)| CommandEnvVar { name, value })
            .collect(),
        timeout_ms: u64::try_from(request.timeout.as_millis()).unwrap_or(u64::MAX),
        output_byte_limit: request.output_byte_limit as u64,
    })
}

struct Withdraw {
    owner: ConnHandle,
    id: i64,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        self.owner.withdraw(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    #[test]
    fn run_params_carry_the_exact_argv_env_and_limits() {
        let request = RunRequest {
            item_id: "call_1".into(),
            argv: vec!["/proc/1/fd/3".into(), "--policy".into(), "{}".into()],
            cwd: PathBuf::from("/w"),
            env: vec![("PATH".into(), "/bin".into())],
            timeout: Duration::from_millis(2500),
            output_byte_limit: 100,
        };
        let p = run_params("t".into(), "u".into(), request).unwrap();
        assert_eq!(p.argv, ["/proc/1/fd/3", "--policy", "{}"]);
        assert_eq!(p.cwd, "/w");
        assert_eq!(
            p.env,
            [CommandEnvVar {
                name: "PATH".into(),
                value: "/bin".into()
            }]
        );
        assert_eq!((p.timeout_ms, p.output_byte_limit), (2500, 100));
    }

    #[test]
    fn an_empty_command_or_a_cwd_that_is_not_utf8_is_refused() {
        use std::os::unix::ffi::OsStrExt;
        let mut request = RunRequest {
            item_id: "c".into(),
            argv: vec![],
            cwd: PathBuf::from("/w"),
            env: vec![],
            timeout: Duration::from_secs(1),
            output_byte_limit: 1,
        };
        assert!(run_params("t".into(), "u".into(), request.clone()).is_err());
        request.argv = vec!["true".into()];
        request.cwd = PathBuf::from(std::ffi::OsStr::from_bytes(b"/w/\xff"));
        assert!(run_params("t".into(), "u".into(), request).is_err());
    }
}
