//! Runs one hook command.
//!
//! Hooks are the user's own commands and run with the user's own rights, outside any
//! sandbox, by design: a hook is how a user enforces their policy on the agent, and a sandbox
//! would stop it from reading the files or calling the services that policy needs. What
//! protects the user from someone else's hook is trust ([`crate::trust`]), not confinement.
//!
//! As in Codex, the command line goes to the user's shell (`$SHELL -lc <command>`, `/bin/sh`
//! when `$SHELL` is unset), in the session's working directory, with the event's JSON on
//! stdin. On top of Codex, wright:
//!
//! * starts the hook in a process group of its own and, on timeout (or when the dispatch is
//!   dropped), kills the whole group, so a hook's background children do not outlive it;
//! * caps what it keeps of stdout and stderr ([`DEFAULT_OUTPUT_CAP`] each), still draining the
//!   rest so the hook never blocks on a full pipe;
//! * stops waiting for output shortly after the hook itself exits: a background process that
//!   kept the pipes open must not hold the agent until the timeout.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::config::CommandHandler;

/// Bytes kept of each of stdout and stderr.
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

/// How long output is still read after the hook's own process has exited.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(500);

/// The program a hook command line is given to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookShell {
    pub program: PathBuf,
    /// Arguments before the command line (`-lc`).
    pub args: Vec<String>,
}

impl HookShell {
    /// Codex's choice: the user's login shell, `$SHELL -lc` (`/bin/sh -lc` without `$SHELL`).
    pub fn user_default() -> HookShell {
        let program = std::env::var_os("SHELL")
            .filter(|shell| !shell.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/bin/sh"));
        HookShell {
            program,
            args: vec!["-lc".into()],
        }
    }

    /// Plain `/bin/sh -c`: no profile scripts (tests, minimal environments).
    pub fn posix() -> HookShell {
        HookShell {
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".into()],
        }
    }
}

/// Where and how hooks run.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The session's working directory.
    pub cwd: PathBuf,
    pub shell: HookShell,
    /// Bytes kept of each of stdout and stderr.
    pub output_cap: usize,
}

impl RunContext {
    pub fn new(cwd: PathBuf) -> RunContext {
        RunContext {
            cwd,
            shell: HookShell::user_default(),
            output_cap: DEFAULT_OUTPUT_CAP,
        }
    }
}

/// Why a run produced no exit status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// Codex's wording, shown to the user as is.
    #[error("hook timed out after {0}s")]
    TimedOut(u64),
    #[error("failed to start hook: {0}")]
    Spawn(String),
    #[error("failed to wait for hook: {0}")]
    Wait(String),
}

/// What one run of a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRun {
    /// Unix seconds.
    pub started_at: i64,
    pub completed_at: i64,
    pub duration_ms: i64,
    /// `None` when killed by a signal, timed out or never started.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub error: Option<RunError>,
}

/// Runs `handler` with `input` as its stdin (serialized JSON).
pub async fn run(handler: &CommandHandler, input: &Value, ctx: &RunContext) -> HookRun {
    let started_at = unix_now();
    let started = Instant::now();
    let finish = |mut run: HookRun| {
        run.completed_at = unix_now();
        run.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        run
    };
    let mut record = HookRun {
        started_at,
        completed_at: started_at,
        duration_ms: 0,
        exit_code: None,
        signal: None,
        stdout: String::new(),
        stderr: String::new(),
        stdout_truncated: false,
        stderr_truncated: false,
        error: None,
    };

    let mut command = Command::new(&ctx.shell.program);
    command
        .args(&ctx.shell.args)
        .arg(&handler.command)
        .current_dir(&ctx.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            record.error = Some(RunError::Spawn(err.to_string()));
            return finish(record);
        }
    };
    // The child leads its own group, so its pid is the group id. Until it is reaped the id
    // cannot be reused, so killing the group is safe while the guard is armed.
    let mut group = GroupGuard(child.id().and_then(|pid| i32::try_from(pid).ok()));

    let stdin_bytes = serde_json::to_vec(input).unwrap_or_default();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut out = Capture::new(ctx.output_cap);
    let mut err = Capture::new(ctx.output_cap);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(handler.timeout_sec);

    // Feed stdin, read both pipes and wait for the exit all at once: a hook writing more
    // than a pipe buffer before it exits must be read while it runs.
    let outcome = {
        let stdin_task = async move {
            if let Some(mut stdin) = stdin {
                // A hook that ignores its input may exit before reading it: a broken pipe
                // is fine.
                let _ = stdin.write_all(&stdin_bytes).await;
                let _ = stdin.shutdown().await;
            }
        };
        let stdout_task = out.read_from(stdout);
        let stderr_task = err.read_from(stderr);
        let wait = child.wait();
        tokio::pin!(stdin_task, stdout_task, stderr_task, wait);
        let (mut fed, mut out_done, mut err_done) = (false, false, false);
        let mut exited = None;
        let mut until = deadline;
        loop {
            tokio::select! {
                status = &mut wait, if exited.is_none() => {
                    // A background process of the hook may keep the pipes open: read what is
                    // there, briefly, and move on.
                    until = deadline.min(tokio::time::Instant::now() + DRAIN_AFTER_EXIT);
                    exited = Some(status);
                }
                () = &mut stdin_task, if !fed => fed = true,
                () = &mut stdout_task, if !out_done => out_done = true,
                () = &mut stderr_task, if !err_done => err_done = true,
                () = tokio::time::sleep_until(until) => break,
            }
            if exited.is_some() && out_done && err_done {
                break;
            }
        }
        exited
    };
    record.stdout = out.text();
    record.stdout_truncated = out.truncated;
    record.stderr = err.text();
    record.stderr_truncated = err.truncated;
    match outcome {
        Some(Ok(status)) => {
            group.disarm();
            record.exit_code = status.code();
            record.signal = std::os::unix::process::ExitStatusExt::signal(&status);
        }
        Some(Err(error)) => {
            group.kill();
            let _ = child.wait().await;
            record.error = Some(RunError::Wait(error.to_string()));
        }
        None => {
            group.kill();
            let _ = child.wait().await;
            record.error = Some(RunError::TimedOut(handler.timeout_sec));
        }
    }
    finish(record)
}

/// The kept part of one output stream.
struct Capture {
    kept: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Capture {
    fn new(cap: usize) -> Capture {
        Capture {
            kept: Vec::new(),
            cap,
            truncated: false,
        }
    }

    /// Reads `pipe` to its end, keeping the first `cap` bytes and noting whether more came.
    /// What was read stays here if the read is abandoned midway.
    async fn read_from(&mut self, pipe: Option<impl AsyncRead + Unpin>) {
        let Some(mut pipe) = pipe else {
            return;
        };
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = self.cap.saturating_sub(self.kept.len());
                    if n > room {
                        self.truncated = true;
                    }
                    self.kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.kept).into_owned()
    }
}

/// Kills the hook's process group when dropped while armed (the run timed out or its future
/// was cancelled), so no child of a hook survives the hook.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: killpg only sends a signal; pgid is our own child's live group.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> RunContext {
        RunContext {
            cwd: std::env::temp_dir(),
            shell: HookShell::posix(),
            output_cap: 16,
        }
    }

    fn handler(command: &str, timeout_sec: u64) -> CommandHandler {
        CommandHandler {
            command: command.into(),
            timeout_sec,
        }
    }

    #[tokio::test]
    async fn captures_stdin_exit_code_and_streams() {
        let run = run(
            &handler("cat; echo oops >&2; exit 3", 10),
            &json!({"a": 1}),
            &ctx(),
        )
        .await;
        assert_eq!(run.exit_code, Some(3));
        assert_eq!(run.stdout, r#"{"a":1}"#);
        assert_eq!(run.stderr, "oops\n");
        assert_eq!(run.error, None);
    }

    #[tokio::test]
    async fn output_is_capped_but_drained() {
        let run = run(&handler("seq 1 100000", 10), &json!({}), &ctx()).await;
        assert_eq!(run.exit_code, Some(0));
        assert_eq!(run.stdout.len(), 16);
        assert!(run.stdout_truncated);
        assert!(!run.stderr_truncated);
    }

    #[tokio::test]
    async fn runs_in_the_given_directory() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut ctx = ctx();
        ctx.cwd = dir.path().to_path_buf();
        ctx.output_cap = 4096;
        let run = run(&handler("pwd -P", 10), &json!({}), &ctx).await;
        let expected = std::fs::canonicalize(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run.stdout.trim(), expected.display().to_string());
    }

    #[tokio::test]
    async fn a_missing_directory_is_a_spawn_error() {
        let mut ctx = ctx();
        ctx.cwd = PathBuf::from("/nonexistent/wright-hooks");
        let run = run(&handler("true", 10), &json!({}), &ctx).await;
        assert!(matches!(run.error, Some(RunError::Spawn(_))), "{run:?}");
        assert_eq!(run.exit_code, None);
    }

    #[tokio::test]
    async fn background_children_holding_pipes_do_not_hold_the_run() {
        let started = Instant::now();
        let run = run(&handler("sleep 5 & echo done", 20), &json!({}), &ctx()).await;
        assert_eq!(run.exit_code, Some(0));
        assert_eq!(run.stdout, "done\n");
        assert!(started.elapsed() < Duration::from_secs(4), "{run:?}");
    }
}
