//! `thread/backgroundTerminals/list | terminate | clean`: the commands the model left running
//! in a loaded thread. Answered from the thread's session table, never its turn lock, so they
//! work while a turn runs.

use std::sync::Arc;

use wright_protocol::v2::{
    ThreadBackgroundTerminal, ThreadBackgroundTerminalsCleanParams,
    ThreadBackgroundTerminalsCleanResponse, ThreadBackgroundTerminalsListParams,
    ThreadBackgroundTerminalsListResponse, ThreadBackgroundTerminalsTerminateParams,
    ThreadBackgroundTerminalsTerminateResponse,
};

use crate::rpc::{RpcError, RpcResult};
use crate::state::State;

pub(crate) fn list(
    state: &Arc<State>,
    p: ThreadBackgroundTerminalsListParams,
) -> RpcResult<ThreadBackgroundTerminalsListResponse> {
    let loaded = state.loaded_or_err(&p.thread_id)?;
    let all = loaded.exec_sessions.list();
    // The cursor is the last process id of the previous page (ids are unique in a thread).
    let start = match &p.cursor {
        Some(cursor) => match all.iter().position(|t| &t.process_id == cursor) {
            Some(i) => i + 1,
            None => {
                return Err(RpcError::invalid_request(format!(
                    "unknown cursor {cursor:?} (the terminal it names has ended)"
                )))
            }
        },
        None => 0,
    };
    let limit = p.limit.map(|l| l.max(1) as usize).unwrap_or(usize::MAX);
    let page: Vec<_> = all[start..].iter().take(limit).collect();
    let next_cursor = (start + page.len() < all.len())
        .then(|| page.last().map(|t| t.process_id.clone()))
        .flatten();
    let data = page
        .into_iter()
        .map(|t| ThreadBackgroundTerminal {
            item_id: t.item_id.clone(),
            process_id: t.process_id.clone(),
            command: t.command.clone(),
            cwd: t.cwd.clone(),
            os_pid: Some(i64::from(t.os_pid)),
            cpu_percent: None,
            rss_kb: rss_kb(t.os_pid),
        })
        .collect();
    Ok(ThreadBackgroundTerminalsListResponse { data, next_cursor })
}

pub(crate) async fn terminate(
    state: &Arc<State>,
    p: ThreadBackgroundTerminalsTerminateParams,
) -> RpcResult<ThreadBackgroundTerminalsTerminateResponse> {
    let loaded = state.loaded_or_err(&p.thread_id)?;
    let terminated = loaded.exec_sessions.terminate(&p.process_id).await;
    Ok(ThreadBackgroundTerminalsTerminateResponse { terminated })
}

pub(crate) fn clean(
    state: &Arc<State>,
    p: ThreadBackgroundTerminalsCleanParams,
) -> RpcResult<ThreadBackgroundTerminalsCleanResponse> {
    let loaded = state.loaded_or_err(&p.thread_id)?;
    loaded.exec_sessions.kill_all();
    Ok(ThreadBackgroundTerminalsCleanResponse {})
}

/// Resident memory of the command's first process, from `/proc/PID/status` (a small read).
fn rss_kb(pid: u32) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
