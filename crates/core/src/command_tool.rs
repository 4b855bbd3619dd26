//! Commands the model runs (`exec_command`, `shell`): announced, approved (exec policy, the
//! user, the session's earlier answers), confined by the sandbox, run here or in the client's
//! terminal, and reported in the shape of the tool the model called.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wright_protocol::{CommandStatus, Event, ItemDetails, ThreadItem};
use wright_tools::call::{ShellCall, ShellCommand, ShellStyle};
use wright_tools::shell::{self, ExecError, ExecRequest};
use wright_tools::truncate::{approx_tokens, model_output};

use crate::approval::{ApprovalRequest, CommandContext, CommandPlan};
use crate::command_runs;
use crate::config::ApprovalPolicy;
use crate::tools::ToolContext;

impl ToolContext {
    pub(crate) fn argv(&self, call: &ShellCall) -> Vec<String> {
        match (&call.command, &call.session) {
            (ShellCommand::Script(script), Some(opts)) => {
                let shell = opts.shell.as_deref().unwrap_or(&self.settings().shell);
                let flag = if opts.login { "-lc" } else { "-c" };
                vec![shell.to_string(), flag.to_string(), script.clone()]
            }
            (ShellCommand::Script(script), None) => {
                shell::script_argv(&self.settings().shell, script)
            }
            (ShellCommand::Argv(argv), _) => argv.clone(),
        }
    }

    /// Announces the command. An `exec_command` that may outlive its call gets its session
    /// id now, so its item carries it from the start; a client's terminal (which runs a
    /// command to its end) takes no sessions.
    pub(crate) fn start_command(
        &self,
        id: &str,
        call: &ShellCall,
    ) -> (Vec<String>, PathBuf, Option<u32>) {
        let argv = self.argv(call);
        let cwd = match &call.workdir {
            Some(dir) => resolve(&self.settings().cwd, dir),
            None => self.settings().cwd.clone(),
        };
        let session = (call.session.is_some() && self.settings().command_runner.is_none())
            .then(|| self.settings().exec_sessions.reserve());
        self.emit(Event::ItemStarted(command_item(
            id,
            &argv,
            &cwd,
            String::new(),
            None,
            CommandStatus::InProgress,
            None,
            session.map(|id| id.to_string()),
        )));
        (argv, cwd, session)
    }

    /// Whether the command may run, whether to ask first, and whether it runs confined (see
    /// [`crate::approval::plan_command`], shared with the App Server's `command/exec`).
    pub(crate) fn plan_command(
        &self,
        call: &ShellCall,
        argv: &[String],
    ) -> Result<CommandPlan, String> {
        crate::approval::plan_command(
            argv,
            call.escalate,
            CommandContext {
                approval_policy: self.settings().approval_policy,
                sandbox_mode: self.settings().sandbox.mode,
                exec_policy: &self.settings().exec_policy,
                session: &self.settings().session,
                user_shell: Some(&self.settings().shell),
            },
        )
    }

    /// The command's approvals (exec policy, the user, the session's earlier answers) and
    /// confinement: what to execute (the sandbox launcher first when confined) and whether it
    /// is confined, or the text for the model when it must not run. Its item is completed on
    /// refusal.
    pub(crate) async fn authorize(
        &self,
        id: &str,
        call: &ShellCall,
        argv: &[String],
        cwd: &Path,
        cancel: &CancellationToken,
    ) -> Result<(Vec<String>, bool), String> {
        let plan = match self.plan_command(call, argv) {
            Ok(plan) => plan,
            Err(refusal) => {
                self.emit(Event::ItemCompleted(command_item(
                    id,
                    argv,
                    cwd,
                    refusal.clone(),
                    None,
                    CommandStatus::Declined,
                    None,
                    None,
                )));
                return Err(refusal);
            }
        };
        let mut sandboxed = plan.sandboxed;
        if plan.ask {
            let request = ApprovalRequest::Command {
                item_id: id.to_string(),
                command: shell::display_command(argv),
                argv: argv.to_vec(),
                cwd: cwd.to_path_buf(),
                reason: call.justification.clone(),
            };
            let session = &self.settings().session;
            // Exactly what ran, wrappers stripped: a line with assignments, git global options,
            // aliases or open-ended arguments has no keys and is asked about every time.
            let keys = plan.session_keys.clone();
            let remember = || {
                for key in keys.iter().flatten() {
                    session.allow_prefix(key);
                }
            };
            if let Err(reason) = self.approved(request, cancel, remember).await {
                self.emit(Event::ItemCompleted(command_item(
                    id,
                    argv,
                    cwd,
                    String::new(),
                    None,
                    CommandStatus::Declined,
                    None,
                    None,
                )));
                return Err(
                    reason.unwrap_or_else(|| "The user declined to run this command.".into())
                );
            }
            if call.escalate {
                sandboxed = false;
            }
        }
        let launch = if sandboxed {
            match self.settings().sandbox.wrap(argv) {
                Ok(wrapped) => wrapped,
                Err(why) => {
                    let text = format!(
                        "not run: the {} sandbox cannot be enforced here: {why}. Run wright with --sandbox danger-full-access to run commands unconfined.",
                        self.settings().sandbox.mode.as_str()
                    );
                    self.emit(Event::ItemCompleted(failed_command(
                        id,
                        argv,
                        cwd,
                        text.clone(),
                        None,
                    )));
                    return Err(text);
                }
            }
        } else {
            argv.to_vec()
        };
        Ok((launch, sandboxed))
    }

    pub(crate) async fn run_command(
        &self,
        id: &str,
        call: ShellCall,
        argv: Vec<String>,
        cwd: PathBuf,
        cancel: &CancellationToken,
    ) -> String {
        let (launch, sandboxed) = match self.authorize(id, &call, &argv, &cwd, cancel).await {
            Ok(authorized) => authorized,
            Err(text) => return text,
        };
        let request = ExecRequest {
            argv: launch,
            cwd: cwd.clone(),
            timeout: call
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(self.settings().timeout),
            env: Some(self.settings().env.as_ref().clone()),
        };
        let limit_tokens = call
            .max_output_tokens
            .unwrap_or(self.settings().output_token_limit)
            .min(self.settings().output_token_limit);
        let stream = |chunk: &[u8]| {
            self.emit(Event::CommandOutputDelta {
                item_id: id.to_string(),
                delta: String::from_utf8_lossy(chunk).into_owned(),
            })
        };
        let mut result = self.exec(id, &request, cancel, &stream).await;
        // `on-failure`: a command that failed confined may be run again unconfined, if the user
        // agrees.
        let failed_confined = matches!(&result, Ok(out) if out.exit_code != 0) && sandboxed;
        if failed_confined && self.settings().approval_policy == ApprovalPolicy::OnFailure {
            let request_again = ApprovalRequest::Command {
                item_id: id.to_string(),
                command: shell::display_command(&argv),
                argv: argv.clone(),
                cwd: cwd.clone(),
                reason: Some(
                    "The command failed inside the sandbox. Run it again without the sandbox?"
                        .into(),
                ),
            };
            if self.approved(request_again, cancel, || {}).await.is_ok() {
                let unconfined = ExecRequest {
                    argv: argv.clone(),
                    ..request.clone()
                };
                result = self.exec(id, &unconfined, cancel, &stream).await;
            }
        }
        match result {
            Ok(out) => {
                let status = if out.exit_code == 0 {
                    CommandStatus::Completed
                } else {
                    CommandStatus::Failed
                };
                let text = format_command_output(
                    call.style,
                    out.exit_code,
                    out.duration,
                    &out.output,
                    limit_tokens * 4,
                );
                self.emit(Event::ItemCompleted(command_item(
                    id,
                    &argv,
                    &cwd,
                    out.output,
                    Some(out.exit_code),
                    status,
                    Some(out.duration),
                    None,
                )));
                text
            }
            Err(ExecError::Cancelled { output }) => {
                self.emit(Event::ItemCompleted(failed_command(
                    id, &argv, &cwd, output, None,
                )));
                "command interrupted by the user".into()
            }
            Err(err) => {
                let message = err.to_string();
                self.emit(Event::ItemCompleted(failed_command(
                    id,
                    &argv,
                    &cwd,
                    message.clone(),
                    None,
                )));
                message
            }
        }
    }

    /// Runs a command the engine decided on: in the client's terminal when it runs commands,
    /// else here. Either way `request.argv` is what executes (the sandbox launcher first when
    /// confined) with `request.env` as its whole environment.
    pub(crate) async fn exec(
        &self,
        id: &str,
        request: &ExecRequest,
        cancel: &CancellationToken,
        stream: &(dyn Fn(&[u8]) + Sync),
    ) -> Result<shell::ExecOutput, ExecError> {
        match &self.settings().command_runner {
            Some(runner) => command_runs::run(runner, id, request, cancel, stream).await,
            None => shell::run_streaming(request, cancel, stream).await,
        }
    }
}

/// A command's item that ended without an exit code (not run, interrupted, failed to start),
/// its text in place of output.
pub(crate) fn failed_command(
    id: &str,
    argv: &[String],
    cwd: &Path,
    text: String,
    process_id: Option<String>,
) -> ThreadItem {
    command_item(
        id,
        argv,
        cwd,
        text,
        None,
        CommandStatus::Failed,
        None,
        process_id,
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn command_item(
    id: &str,
    argv: &[String],
    cwd: &Path,
    output: String,
    exit_code: Option<i32>,
    status: CommandStatus,
    duration: Option<Duration>,
    process_id: Option<String>,
) -> ThreadItem {
    ThreadItem {
        id: id.to_string(),
        details: ItemDetails::CommandExecution {
            command: shell::display_command(argv),
            aggregated_output: output,
            exit_code,
            status,
            cwd: cwd.display().to_string(),
            duration_ms: duration.map(|d| d.as_millis() as u64),
            process_id,
        },
    }
}

pub(crate) fn resolve(cwd: &Path, dir: &str) -> PathBuf {
    let p = Path::new(dir);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// The text the model reads after a command, in the shape of the tool it called.
pub(crate) fn format_command_output(
    style: ShellStyle,
    exit_code: i32,
    duration: Duration,
    output: &str,
    max_bytes: usize,
) -> String {
    let body = model_output(output, max_bytes);
    match style {
        ShellStyle::ExecCommand => format!(
            "Chunk ID: {}\nWall time: {:.4} seconds\nProcess exited with code {exit_code}\nOriginal token count: {}\nOutput:\n{body}",
            crate::unified_exec::chunk_id(),
            duration.as_secs_f64(),
            approx_tokens(output.len()),
        ),
        ShellStyle::Shell => format!(
            "Exit code: {exit_code}\nWall time: {:.1} seconds\nOutput:\n{body}",
            duration.as_secs_f64()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_command_output_shape() {
        let text = format_command_output(
            ShellStyle::ExecCommand,
            0,
            Duration::from_millis(12),
            "a\n",
            1000,
        );
        let (chunk, rest) = text.split_once('\n').unwrap();
        assert!(chunk.starts_with("Chunk ID: ") && chunk.len() == "Chunk ID: ".len() + 6);
        assert_eq!(
            rest,
            "Wall time: 0.0120 seconds\nProcess exited with code 0\nOriginal token count: 1\nOutput:\na\n"
        );
    }
}
