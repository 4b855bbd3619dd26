//! `command/exec`: a one-off command, under the same sandbox and environment policy as the
//! agent's own (or the `sandboxPolicy` the client names).

use std::sync::Arc;

use wright_protocol::v2::{CommandExecParams, CommandExecResponse, SandboxPolicy};

use crate::rpc::{RpcError, RpcResult};
use crate::state::{State, ThreadSettings};

pub(crate) async fn command_exec(
    state: &Arc<State>,
    p: CommandExecParams,
) -> RpcResult<CommandExecResponse> {
    let argv = p.command;
    if argv.is_empty() {
        return Err(RpcError::invalid_params(
            "`command` must be a non-empty array of strings",
        ));
    }
    let sandbox = match p.sandbox_policy {
        None => None,
        Some(SandboxPolicy::ReadOnly { .. }) => Some(wright_protocol::v2::SandboxMode::ReadOnly),
        Some(SandboxPolicy::WorkspaceWrite { .. }) => {
            Some(wright_protocol::v2::SandboxMode::WorkspaceWrite)
        }
        Some(SandboxPolicy::DangerFullAccess) => {
            Some(wright_protocol::v2::SandboxMode::DangerFullAccess)
        }
        Some(SandboxPolicy::ExternalSandbox { .. }) => {
            return Err(RpcError::invalid_params(
                "`sandboxPolicy`: externalSandbox is not supported",
            ))
        }
    };
    let scope = ThreadSettings {
        cwd: p.cwd,
        sandbox,
        ..Default::default()
    };
    let config = state.thread_config(&scope, None).await?;
    let cwd = config.cwd.clone();
    // The same exec-policy rules and approval policy as the agent's own commands. There is
    // nobody to ask here: what would need a yes is refused.
    let session = wright_core::approval::SessionApprovals::default();
    let plan = wright_core::approval::plan_command(
        &argv,
        false,
        wright_core::approval::CommandContext {
            approval_policy: config.approval_policy,
            sandbox_mode: config.sandbox_mode,
            exec_policy: &config.exec_policy,
            session: &session,
            user_shell: None,
        },
    )
    .map_err(RpcError::invalid_request)?;
    if plan.ask {
        return Err(RpcError::invalid_request(format!(
            "not run: under the approval policy `{}` this command needs approval (it is not known safe, or an exec policy rule asks for it), and command/exec has no way to ask; run it in a turn, or use a policy that does not ask",
            config.approval_policy.as_str()
        )));
    }
    let launch = wright_core::sandbox::SandboxLaunch::from_config(&config)
        .wrap(&argv)
        .map_err(|why| {
            RpcError::invalid_request(format!("not run: the sandbox cannot be enforced: {why}"))
        })?;
    let env = config.shell_environment_policy.apply(std::env::vars());
    let timeout = p.timeout_ms.unwrap_or(60_000).max(0) as u64;
    let mut cmd = tokio::process::Command::new(&launch[0]);
    cmd.args(&launch[1..])
        .env_clear()
        .envs(env)
        .current_dir(&cwd)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_millis(timeout), cmd.output())
        .await
        .map_err(|_| RpcError::invalid_request(format!("command timed out after {timeout} ms")))?
        .map_err(|e| RpcError::invalid_request(format!("failed to start `{}`: {e}", argv[0])))?;
    Ok(CommandExecResponse {
        exit_code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
