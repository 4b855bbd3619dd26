//! Checking a `command/exec` request: every field that cannot be honoured is refused with
//! -32602 naming it, before anything runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map};
use wright_protocol::v2::{CommandExecParams, SandboxMode as WireSandboxMode, SandboxPolicy};

use super::quoted;
use crate::rpc::{RpcError, RpcResult};
use crate::state::ThreadSettings;

/// Codex's defaults: 10 s, 1 MiB per stream.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);
const DEFAULT_OUTPUT_BYTES_CAP: usize = 1024 * 1024;
/// A terminal's size unless `size` says otherwise.
const DEFAULT_ROWS: u16 = 24;
const DEFAULT_COLS: u16 = 80;
const MAX_PROCESS_ID_BYTES: usize = 256;

/// A `command/exec` request, checked.
#[derive(Debug)]
pub(super) struct Request {
    pub argv: Vec<String>,
    pub process_id: Option<String>,
    pub tty: bool,
    pub stream_stdin: bool,
    pub stream_output: bool,
    /// Bytes per stream; `None`: no cap.
    pub cap: Option<usize>,
    /// `None`: no timeout.
    pub timeout: Option<Duration>,
    pub size: (u16, u16),
    pub env: BTreeMap<String, Option<String>>,
    /// What `thread_config` gets: cwd, sandbox mode and its settings.
    pub scope: ThreadSettings,
}

pub(super) fn bad(message: impl Into<String>) -> RpcError {
    RpcError::invalid_params(message)
}

impl Request {
    pub(super) fn parse(p: CommandExecParams) -> Result<Request, RpcError> {
        if p.command.is_empty() {
            return Err(bad("`command` must not be empty"));
        }
        if let Some(i) = p.command.iter().position(|a| a.contains('\0')) {
            return Err(bad(format!("`command[{i}]` contains a NUL byte")));
        }
        match (&p.permission_profile, &p.sandbox_policy) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "`permissionProfile` cannot be combined with `sandboxPolicy`",
                ))
            }
            (Some(name), None) => {
                return Err(bad(format!(
                "`permissionProfile` {}: wright has no permission profiles; use `sandboxPolicy`",
                quoted(name)
            )))
            }
            _ => {}
        }
        let disable_timeout = p.disable_timeout.unwrap_or(false);
        if disable_timeout && p.timeout_ms.is_some() {
            return Err(bad(
                "command/exec cannot set both timeoutMs and disableTimeout",
            ));
        }
        if let Some(ms) = p.timeout_ms.filter(|ms| *ms < 0) {
            return Err(bad(format!(
                "command/exec timeoutMs must be non-negative, got {ms}"
            )));
        }
        let disable_cap = p.disable_output_cap.unwrap_or(false);
        if disable_cap && p.output_bytes_cap.is_some() {
            return Err(bad(
                "command/exec cannot set both outputBytesCap and disableOutputCap",
            ));
        }
        let tty = p.tty.unwrap_or(false);
        let stream_stdin = tty || p.stream_stdin.unwrap_or(false);
        let stream_output = tty || p.stream_stdout_stderr.unwrap_or(false);
        match &p.process_id {
            None if stream_stdin || stream_output => {
                return Err(bad(
                    "command/exec tty or streaming requires a client-supplied processId",
                ))
            }
            Some(id) if id.is_empty() => return Err(bad("`processId` must not be empty")),
            Some(id) if id.len() > MAX_PROCESS_ID_BYTES => {
                return Err(bad(format!(
                    "`processId` is longer than {MAX_PROCESS_ID_BYTES} bytes"
                )))
            }
            _ => {}
        }
        let size = match p.size {
            Some(_) if !tty => return Err(bad("`size` is only valid with `tty: true`")),
            Some(s) => check_size(s.rows, s.cols)?,
            None => (DEFAULT_ROWS, DEFAULT_COLS),
        };
        let env = p.env.unwrap_or_default();
        for (key, value) in &env {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(bad(format!("`env`: invalid variable name {}", quoted(key))));
            }
            if value.as_deref().is_some_and(|v| v.contains('\0')) {
                return Err(bad(format!("`env.{key}` contains a NUL byte")));
            }
        }
        let mut scope = ThreadSettings {
            cwd: p.cwd,
            ..Default::default()
        };
        if let Some(policy) = &p.sandbox_policy {
            sandbox_scope(policy, &mut scope)?;
        }
        Ok(Request {
            argv: p.command,
            process_id: p.process_id,
            tty,
            stream_stdin,
            stream_output,
            cap: if disable_cap {
                None
            } else {
                Some(p.output_bytes_cap.map_or(DEFAULT_OUTPUT_BYTES_CAP, |c| {
                    c.min(usize::MAX as u64) as usize
                }))
            },
            timeout: if disable_timeout {
                None
            } else {
                Some(
                    p.timeout_ms
                        .map_or(DEFAULT_TIMEOUT, |ms| Duration::from_millis(ms as u64)),
                )
            },
            size,
            env,
            scope,
        })
    }
}

pub(super) fn check_size(rows: u16, cols: u16) -> Result<(u16, u16), RpcError> {
    if rows == 0 || cols == 0 {
        return Err(bad("`size.rows` and `size.cols` must be greater than 0"));
    }
    Ok((rows, cols))
}

/// The config overrides for `sandboxPolicy`: the policy given is the policy in force (its
/// writable roots and network replace the configured ones). `externalSandbox` is refused, as
/// by `turn/start`: wright runs commands in its own sandbox.
fn sandbox_scope(policy: &SandboxPolicy, scope: &mut ThreadSettings) -> RpcResult<()> {
    match policy {
        SandboxPolicy::DangerFullAccess => {
            scope.sandbox = Some(WireSandboxMode::DangerFullAccess);
        }
        SandboxPolicy::ExternalSandbox { .. } => {
            return Err(bad(
                "`sandboxPolicy`: externalSandbox is not supported; wright runs commands in its own sandbox",
            ))
        }
        SandboxPolicy::ReadOnly { network_access } => {
            if *network_access {
                return Err(bad(
                    "`sandboxPolicy.networkAccess`: wright's read-only sandbox never has network access; use `workspaceWrite` with `networkAccess`",
                ));
            }
            scope.sandbox = Some(WireSandboxMode::ReadOnly);
        }
        SandboxPolicy::WorkspaceWrite {
            writable_roots,
            network_access,
            exclude_tmpdir_env_var,
            exclude_slash_tmp,
        } => {
            if let Some(i) = writable_roots
                .iter()
                .position(|r| !Path::new(r).is_absolute())
            {
                return Err(bad(format!(
                    "`sandboxPolicy.writableRoots[{i}]` must be an absolute path"
                )));
            }
            scope.sandbox = Some(WireSandboxMode::WorkspaceWrite);
            let mut config = Map::new();
            for (key, value) in [
                ("writable_roots", json!(writable_roots)),
                ("network_access", json!(network_access)),
                ("exclude_tmpdir_env_var", json!(exclude_tmpdir_env_var)),
                ("exclude_slash_tmp", json!(exclude_slash_tmp)),
            ] {
                config.insert(format!("sandbox_workspace_write.{key}"), value);
            }
            scope.config = Some(config);
        }
    }
    Ok(())
}

/// The environment policy's result with the client's changes on top.
pub(super) fn merge_env(
    base: Vec<(String, String)>,
    changes: &BTreeMap<String, Option<String>>,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = base.into_iter().collect();
    for (key, value) in changes {
        match value {
            Some(v) => env.insert(key.clone(), v.clone()),
            None => env.remove(key),
        };
    }
    env.into_iter().collect()
}
