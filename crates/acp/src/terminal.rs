//! `wright/command/run` in an editor terminal (`terminal/create`), shown live in the command's
//! tool call.
//!
//! The engine already decided and wrapped the command: `argv` starts with the sandbox launcher
//! when it runs confined, so the kernel confines it in the editor's process tree too. What the
//! bridge adds is the environment: an editor merges its own environment into a terminal's
//! (with whatever secrets it holds), so the command is started through `env -i`, which drops
//! all of it and sets exactly the engine's sanitised variables.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agent_client_protocol::v1::schema::{
    CreateTerminalRequest, KillTerminalRequest, ReleaseTerminalRequest, SessionNotification,
    SessionUpdate, Terminal, TerminalExitStatus, TerminalId, TerminalOutputRequest,
    ToolCallContent, ToolCallUpdate, ToolCallUpdateFields, WaitForTerminalExitRequest,
};
use tokio::sync::watch;
use wright_protocol::jsonrpc::{RequestId, INTERNAL_ERROR};
use wright_protocol::v2::{CommandRunParams, CommandRunResponse};

use crate::session::{Peers, Session};

/// What starts every delegated command: clears the environment the editor gives the terminal.
pub const ENV: &str = "/usr/bin/env";

/// Exit code of a command killed at its timeout (as `timeout(1)`, and the engine, report it).
const TIMEOUT_EXIT_CODE: i32 = 124;

/// Runs the command in an editor terminal and answers the App Server with how it ended.
/// `kill` changes when the prompt is cancelled or its turn ends: the terminal is killed.
pub async fn run(
    peers: Arc<Peers>,
    session: Arc<Session>,
    kill: watch::Receiver<u64>,
    id: RequestId,
    params: CommandRunParams,
) {
    let answered = match run_in_terminal(&peers, &session, kill, &params).await {
        Ok(done) => peers.app.respond(&id, done).await,
        Err(why) => peers.app.respond_error(&id, INTERNAL_ERROR, &why).await,
    };
    if let Err(err) = answered {
        tracing::warn!(error = %err, "could not answer a command run");
    }
}

/// How waiting for the command ended.
enum End {
    Exited(TerminalExitStatus),
    TimedOut,
    Interrupted,
}

async fn run_in_terminal(
    peers: &Peers,
    session: &Session,
    mut kill: watch::Receiver<u64>,
    params: &CommandRunParams,
) -> Result<CommandRunResponse, String> {
    let args = env_args(params)?;
    let create = CreateTerminalRequest::new(session.id.clone(), ENV)
        .args(args)
        .env(Vec::new())
        .cwd(PathBuf::from(&params.cwd))
        .output_byte_limit(params.output_byte_limit);
    let created = peers
        .client
        .send_request(create)
        .block_task()
        .await
        .map_err(|e| format!("terminal/create failed: {}", e.message))?;
    let terminal = created.terminal_id;
    session.show_terminal(&params.item_id, terminal.clone());
    let shown = ToolCallUpdateFields::new().content(vec![ToolCallContent::Terminal(
        Terminal::new(terminal.clone()),
    )]);
    // A client that is gone ends the connection; the requests below then fail.
    let _ = peers.client.send_notification(SessionNotification::new(
        session.id.clone(),
        SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(params.item_id.clone(), shown)),
    ));

    let waited = peers
        .client
        .send_request(WaitForTerminalExitRequest::new(
            session.id.clone(),
            terminal.clone(),
        ))
        .block_task();
    let end = tokio::select! {
        exit = waited => match exit {
            Ok(exit) => End::Exited(exit.exit_status),
            Err(e) => {
                release(peers, session, &terminal, true).await;
                return Err(format!("terminal/wait_for_exit failed: {}", e.message));
            }
        },
        _ = tokio::time::sleep(Duration::from_millis(params.timeout_ms)) => End::TimedOut,
        _ = kill.changed() => End::Interrupted,
    };
    if matches!(end, End::Interrupted) {
        release(peers, session, &terminal, true).await;
        return Err("interrupted".into());
    }
    if matches!(end, End::TimedOut) {
        kill_terminal(peers, session, &terminal).await;
    }
    let output = peers
        .client
        .send_request(TerminalOutputRequest::new(
            session.id.clone(),
            terminal.clone(),
        ))
        .block_task()
        .await;
    release(peers, session, &terminal, false).await;
    let output = output.map_err(|e| format!("terminal/output failed: {}", e.message))?;
    Ok(match end {
        End::Exited(status) => CommandRunResponse {
            exit_code: exit_code(&status),
            output: output.output,
            timed_out: false,
        },
        _ => CommandRunResponse {
            exit_code: TIMEOUT_EXIT_CODE,
            output: output.output,
            timed_out: true,
        },
    })
}

async fn kill_terminal(peers: &Peers, session: &Session, terminal: &TerminalId) {
    let request = KillTerminalRequest::new(session.id.clone(), terminal.clone());
    if let Err(err) = peers.client.send_request(request).block_task().await {
        tracing::warn!(error = %err.message, "terminal/kill failed");
    }
}

/// Releases the terminal (killing it first when it may still run).
async fn release(peers: &Peers, session: &Session, terminal: &TerminalId, kill: bool) {
    if kill {
        kill_terminal(peers, session, terminal).await;
    }
    let request = ReleaseTerminalRequest::new(session.id.clone(), terminal.clone());
    if let Err(err) = peers.client.send_request(request).block_task().await {
        tracing::warn!(error = %err.message, "terminal/release failed");
    }
}

/// The arguments of [`ENV`]: clear everything, set the engine's variables, run the argv. A
/// variable name `env` would misread, or a program name it would take for a variable, is
/// refused rather than run as something else.
pub fn env_args(params: &CommandRunParams) -> Result<Vec<String>, String> {
    let Some(program) = params.argv.first() else {
        return Err("empty command".into());
    };
    if program.contains('=') {
        return Err(format!(
            "cannot run `{program}` through env: its name contains `=`"
        ));
    }
    let mut args = vec!["-i".to_string(), "--".to_string()];
    for var in &params.env {
        if var.name.is_empty() || var.name.contains('=') || var.name.contains('\0') {
            return Err(format!("invalid environment variable name `{}`", var.name));
        }
        args.push(format!("{}={}", var.name, var.value));
    }
    args.extend(params.argv.iter().cloned());
    Ok(args)
}

/// The exit code as a local run reports it: the code, or 128 + the signal's number.
fn exit_code(status: &TerminalExitStatus) -> i32 {
    if let Some(code) = status.exit_code {
        return i32::try_from(code).unwrap_or(-1);
    }
    let Some(signal) = status.signal.as_deref() else {
        return -1;
    };
    let name = signal.trim_start_matches("SIG");
    let number = match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ABRT" => 6,
        "KILL" => 9,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        other => match other.parse::<i32>() {
            Ok(n) => n,
            Err(_) => return -1,
        },
    };
    128 + number
}

#[cfg(test)]
mod tests {
    use super::*;
    use wright_protocol::v2::CommandEnvVar;

    fn params(argv: &[&str], env: &[(&str, &str)]) -> CommandRunParams {
        CommandRunParams {
            thread_id: "t".into(),
            turn_id: "u".into(),
            item_id: "i".into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: "/w".into(),
            env: env
                .iter()
                .map(|(n, v)| CommandEnvVar {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            timeout_ms: 1000,
            output_byte_limit: 100,
        }
    }

    #[test]
    fn the_command_gets_only_the_engines_environment() {
        let args = env_args(&params(
            &[
                "/proc/7/fd/3",
                "--policy",
                "{}",
                "--",
                "/bin/sh",
                "-lc",
                "env",
            ],
            &[("PATH", "/bin"), ("X", "a=b c")],
        ))
        .unwrap();
        assert_eq!(
            args,
            [
                "-i",
                "--",
                "PATH=/bin",
                "X=a=b c",
                "/proc/7/fd/3",
                "--policy",
                "{}",
                "--",
                "/bin/sh",
                "-lc",
                "env"
            ]
        );
    }

    #[test]
    fn what_env_would_misread_is_refused() {
        assert!(env_args(&params(&[], &[])).is_err());
        assert!(env_args(&params(&["A=b"], &[])).is_err());
        assert!(env_args(&params(&["/bin/true"], &[("A=B", "c")])).is_err());
        assert!(env_args(&params(&["/bin/true"], &[("", "c")])).is_err());
    }

    #[test]
    fn a_signal_reads_as_a_local_exit_code() {
        assert_eq!(exit_code(&TerminalExitStatus::new().exit_code(3)), 3);
        assert_eq!(
            exit_code(&TerminalExitStatus::new().signal("SIGKILL".to_string())),
            137
        );
        assert_eq!(
            exit_code(&TerminalExitStatus::new().signal("TERM".to_string())),
            143
        );
        assert_eq!(exit_code(&TerminalExitStatus::new()), -1);
    }
}
