//! `thread/shellCommand`: a command the user types. As in Codex it runs as the user's own,
//! with the user's shell and environment, outside the sandbox (the user is not the model),
//! as a turn of its own: its output streams to the thread's clients, is saved as a
//! `commandExecution` item (`source: userShell`), and is recorded for the model.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;
use wright_protocol::v2::{
    CommandExecutionOutputDeltaNotification, CommandExecutionSource, CommandExecutionStatus,
    ServerNotification, ThreadShellCommandParams, ThreadShellCommandResponse, TurnItemsView,
    TurnStartedNotification, TurnStatus,
};
use wright_tools::shell::{self, ExecRequest};

use crate::approvals::status_changed;
use crate::conn::ConnHandle;
use crate::event_pump::{item_completed, item_started};
use crate::rpc::{RpcError, RpcResult};
use crate::state::{Loaded, State};
use crate::wire::{self, now_secs, CommandItem, TurnInfo};

/// Codex's default: one hour.
const DEFAULT_TIMEOUT_MS: i64 = 60 * 60 * 1000;
/// How much of the output the model is shown.
const MODEL_OUTPUT_BYTES: usize = 16 * 1024;

pub(crate) async fn thread_shell_command(
    state: &Arc<State>,
    conn: &ConnHandle,
    p: ThreadShellCommandParams,
) -> RpcResult<ThreadShellCommandResponse> {
    if p.command.trim().is_empty() {
        return Err(RpcError::invalid_params("`command` is empty"));
    }
    let timeout_ms = p.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if timeout_ms < 0 {
        return Err(RpcError::invalid_params("`timeoutMs` must not be negative"));
    }
    let loaded = state.loaded_or_err(&p.thread_id)?;
    let (turn_id, cancel) = loaded.claim_turn(|running| {
        format!(
            "turn {running} is running on this thread: wait for it or interrupt it before running a shell command"
        )
    })?;
    loaded.subscribe(conn);
    tokio::spawn(run(
        Arc::clone(state),
        loaded,
        turn_id,
        p.command,
        Duration::from_millis(timeout_ms as u64),
        cancel,
    ));
    Ok(ThreadShellCommandResponse {})
}

/// What the model is told the user ran (Codex's `<user_shell_command>` fragment).
fn history_record(
    command: &str,
    exit_code: i32,
    duration: Duration,
    output: &str,
) -> serde_json::Value {
    let text = format!(
        "<user_shell_command>\n<command>\n{command}\n</command>\n<result>\nExit code: {exit_code}\nDuration: {:.1} seconds\nOutput:\n{}\n</result>\n</user_shell_command>",
        duration.as_secs_f64(),
        wright_tools::truncate::model_output(output, MODEL_OUTPUT_BYTES)
    );
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

async fn run(
    state: Arc<State>,
    loaded: Arc<Loaded>,
    turn_id: String,
    command: String,
    timeout: Duration,
    cancel: CancellationToken,
) {
    let thread_id = loaded.id.clone();
    let durable = !loaded.info().ephemeral;
    let clock = Instant::now();
    let mut info = TurnInfo {
        id: turn_id.clone(),
        status: TurnStatus::InProgress,
        error: None,
        started_at: Some(now_secs()),
        completed_at: None,
        duration_ms: None,
    };
    let first = info.record(&thread_id);
    state
        .persist("save turn", move |s| s.upsert_turn(&first))
        .await;
    loaded.broadcast(status_changed(&thread_id, wire::active(false)));
    loaded.broadcast(ServerNotification::TurnStarted(TurnStartedNotification {
        thread_id: thread_id.clone(),
        turn: wire::turn(&info, Vec::new(), TurnItemsView::NotLoaded),
    }));

    let cwd = loaded.config().cwd;
    let cwd_text = cwd.display().to_string();
    let item_id = uuid::Uuid::now_v7().to_string();
    let item = |status, output: Option<String>, exit_code, duration_ms| {
        wire::command_item(CommandItem {
            id: &item_id,
            command: &command,
            cwd: &cwd_text,
            source: CommandExecutionSource::UserShell,
            status,
            aggregated_output: output,
            exit_code,
            duration_ms,
            process_id: None,
        })
    };
    loaded.broadcast(item_started(
        &thread_id,
        &turn_id,
        item(CommandExecutionStatus::InProgress, None, None, None),
    ));

    let request = ExecRequest {
        argv: shell::script_argv(&shell::user_shell(), &command),
        cwd,
        timeout,
        // The user's own command: the user's own environment.
        env: None,
    };
    // Output arrives in arbitrary byte chunks: hold back an incomplete UTF-8 tail.
    let pending = Mutex::new(Vec::<u8>::new());
    let on_output = |chunk: &[u8]| {
        let Ok(mut buf) = pending.lock() else { return };
        buf.extend_from_slice(chunk);
        let valid = match std::str::from_utf8(&buf) {
            Ok(_) => buf.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => buf.len(),
        };
        if valid == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&buf[..valid]).into_owned();
        buf.drain(..valid);
        loaded.broadcast(ServerNotification::CommandExecutionOutputDelta(
            CommandExecutionOutputDeltaNotification {
                thread_id: thread_id.clone(),
                turn_id: turn_id.clone(),
                item_id: item_id.clone(),
                delta: text,
            },
        ));
    };
    let result = shell::run_streaming(&request, &cancel, &on_output).await;
    let duration = clock.elapsed();
    let (status, output, exit_code, turn_status) = match result {
        Ok(out) => {
            let status = if out.exit_code == 0 {
                CommandExecutionStatus::Completed
            } else {
                CommandExecutionStatus::Failed
            };
            (status, out.output, out.exit_code, TurnStatus::Completed)
        }
        Err(shell::ExecError::Cancelled { output }) => (
            CommandExecutionStatus::Failed,
            output,
            -1,
            TurnStatus::Interrupted,
        ),
        Err(err) => (
            CommandExecutionStatus::Failed,
            err.to_string(),
            -1,
            TurnStatus::Failed,
        ),
    };
    let done = item(
        status,
        Some(output.clone()),
        Some(exit_code),
        Some(duration.as_millis() as i64),
    );
    // Durable before visible.
    let (tid, uid, stored) = (thread_id.clone(), turn_id.clone(), wire::to_stored(&done));
    state
        .persist("save item", move |s| s.put_item(&tid, &uid, &stored))
        .await;
    loaded.broadcast(item_completed(&thread_id, &turn_id, done.clone()));

    // The model learns what the user ran, in the history its next request extends.
    {
        let mut engine = loaded.thread.lock().await;
        let entry = history_record(&command, exit_code, duration, &output);
        if durable {
            let (tid, uid, start, items) = (
                thread_id.clone(),
                turn_id.clone(),
                engine.history().len(),
                vec![entry.clone()],
            );
            state
                .persist("record shell command", move |s| {
                    s.set_turn_history_start(&tid, &uid, start)?;
                    s.append_history(&tid, &items)
                })
                .await;
        }
        engine.append_history(vec![entry]);
    }

    info.status = turn_status;
    info.completed_at = Some(now_secs());
    info.duration_ms = Some(duration.as_millis() as i64);
    let last = info.record(&thread_id);
    state
        .persist("finish turn", move |s| s.upsert_turn(&last))
        .await;
    loaded.end_turn(&info, vec![done]);
}
