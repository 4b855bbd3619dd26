//! `exec_command` and `write_stdin` as Codex runs them (unified exec): a command runs until it
//! exits or until the call's yield time is up, whichever is first. Still running, it becomes
//! a session the model polls or types into with `write_stdin`; its output streams to clients
//! all along, and its item completes when it exits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wright_protocol::Event;
use wright_tools::call::{ShellCall, WriteStdinArgs};
use wright_tools::exec_session::{Chunk, LaunchSpec, LiveProcess};
use wright_tools::truncate::{approx_tokens, model_output};

use crate::command_tool::failed_command;
use crate::config::ApprovalPolicy;
use crate::exec_sessions::{watch_exit, Session};
use crate::tools::ToolContext;

/// `exec_command`'s wait before it returns with the command still running (Codex's).
const EXEC_YIELD_DEFAULT: Duration = Duration::from_millis(10_000);
const YIELD_MIN: Duration = Duration::from_millis(250);
const YIELD_MAX: Duration = Duration::from_millis(30_000);
/// `write_stdin` after typing: long enough for a prompt to echo and answer.
const WRITE_YIELD_DEFAULT: Duration = Duration::from_millis(250);
/// `write_stdin` with nothing to type is a wait for more output, within these bounds.
const POLL_YIELD_MIN: Duration = Duration::from_millis(5_000);
const POLL_YIELD_MAX: Duration = Duration::from_millis(300_000);

/// What the model's commands see instead of the user's terminal settings: no colours, no
/// pagers (a pager waits for a key nobody presses).
const SESSION_ENV: [(&str, &str); 5] = [
    ("NO_COLOR", "1"),
    ("TERM", "dumb"),
    ("PAGER", "cat"),
    ("GIT_PAGER", "cat"),
    ("GH_PAGER", "cat"),
];

fn clamp(ms: Option<u64>, default: Duration, min: Duration, max: Duration) -> Duration {
    ms.map(Duration::from_millis)
        .unwrap_or(default)
        .clamp(min, max)
}

impl ToolContext {
    /// Runs an `exec_command` (its item already announced with session id `session_id`).
    pub(crate) async fn run_session(
        &self,
        id: &str,
        session_id: u32,
        call: ShellCall,
        argv: Vec<String>,
        cwd: PathBuf,
        cancel: &CancellationToken,
    ) -> String {
        let started = Instant::now();
        let (launch, sandboxed) = match self.authorize(id, &call, &argv, &cwd, cancel).await {
            Ok(authorized) => authorized,
            Err(text) => return text,
        };
        let opts = call
            .session
            .clone()
            .unwrap_or(wright_tools::call::SessionOptions {
                tty: false,
                yield_time_ms: None,
                login: true,
                shell: None,
            });
        let yield_for = clamp(opts.yield_time_ms, EXEC_YIELD_DEFAULT, YIELD_MIN, YIELD_MAX);
        let limit = self.output_limit(call.max_output_tokens);
        let mut session = match self.start_session(id, session_id, &argv, &cwd, launch, opts.tty) {
            Ok(session) => session,
            Err(text) => return text,
        };
        // `on-failure`: a command that fails confined may be run again unconfined, if the user
        // agrees, under the same item; until that is settled its end is not reported.
        let may_rerun = sandboxed && self.settings().approval_policy == ApprovalPolicy::OnFailure;
        session.set_quiet(may_rerun);
        let mut closed = self.settings().exec_sessions.insert(Arc::clone(&session));
        watch_exit(
            Arc::clone(&session),
            call.timeout_ms.map(Duration::from_millis),
        );
        let mut chunk = match self.poll(&session, yield_for, cancel).await {
            Some(chunk) => chunk,
            None => {
                session.set_quiet(false);
                return interrupted(&session).await;
            }
        };
        let failed_confined = may_rerun && chunk.exit_code.is_some_and(|code| code != 0);
        if !failed_confined {
            session.set_quiet(false);
        }
        if failed_confined {
            let again = crate::approval::ApprovalRequest::Command {
                item_id: id.to_string(),
                command: wright_tools::shell::display_command(&argv),
                argv: argv.clone(),
                cwd: cwd.clone(),
                reason: Some(
                    "The command failed inside the sandbox. Run it again without the sandbox?"
                        .into(),
                ),
            };
            if self.approved(again, cancel, || {}).await.is_err() {
                // Declined: the confined run's end is the item's end.
                session.set_quiet(false);
            } else {
                self.settings().exec_sessions.remove(session_id);
                session =
                    match self.start_session(id, session_id, &argv, &cwd, argv.clone(), opts.tty) {
                        Ok(session) => session,
                        Err(text) => return text,
                    };
                closed.extend(self.settings().exec_sessions.insert(Arc::clone(&session)));
                watch_exit(
                    Arc::clone(&session),
                    call.timeout_ms.map(Duration::from_millis),
                );
                chunk = match self.poll(&session, yield_for, cancel).await {
                    Some(chunk) => chunk,
                    None => return interrupted(&session).await,
                };
            }
        }
        let text = self.report(&session, chunk, started, limit).await;
        if closed.is_empty() {
            text
        } else {
            format!("{}\n{text}", closed.join("\n"))
        }
    }

    /// `write_stdin`: types `chars` into a session (nothing: just waits) and returns what it
    /// printed meanwhile.
    pub(crate) async fn write_stdin(
        &self,
        args: WriteStdinArgs,
        cancel: &CancellationToken,
    ) -> String {
        let started = Instant::now();
        let sessions = &self.settings().exec_sessions;
        let id = args.session_id as u32;
        let Some(session) = (args.session_id.fract() == 0.0)
            .then(|| sessions.get(id))
            .flatten()
        else {
            return format!("write_stdin failed: Unknown process id {}", args.session_id);
        };
        session.follow(self.events());
        self.emit(Event::TerminalInteraction {
            item_id: session.item_id.clone(),
            process_id: session.id.to_string(),
            stdin: args.chars.clone(),
        });
        let wait = if args.chars.is_empty() {
            clamp(
                args.yield_time_ms.map(|n| n.max(0.0) as u64),
                POLL_YIELD_MIN,
                POLL_YIELD_MIN,
                POLL_YIELD_MAX,
            )
        } else {
            // A command that does not read its input fills the terminal's buffer: the write
            // then waits, but never past the longest yield, nor past an interrupt.
            let write = session.process.write(args.chars.as_bytes());
            tokio::select! {
                written = tokio::time::timeout(YIELD_MAX, write) => match written {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => return format!("write_stdin failed: {err}"),
                    Err(_) => {
                        return "write_stdin failed: the command is not reading its input".into()
                    }
                },
                _ = cancel.cancelled() => return interrupted(&session).await,
            }
            clamp(
                args.yield_time_ms.map(|n| n.max(0.0) as u64),
                WRITE_YIELD_DEFAULT,
                YIELD_MIN,
                YIELD_MAX,
            )
        };
        let limit = self.output_limit(args.max_output_tokens());
        match self.poll(&session, wait, cancel).await {
            Some(chunk) => self.report(&session, chunk, started, limit).await,
            None => interrupted(&session).await,
        }
    }

    fn output_limit(&self, asked: Option<usize>) -> usize {
        let limit = self.settings().output_token_limit;
        asked.unwrap_or(limit).min(limit) * 4
    }

    /// Starts the command of session `session_id`; the text for the model when it cannot.
    fn start_session(
        &self,
        id: &str,
        session_id: u32,
        argv: &[String],
        cwd: &std::path::Path,
        launch: Vec<String>,
        tty: bool,
    ) -> Result<Arc<Session>, String> {
        let mut env = self.settings().env.as_ref().clone();
        env.retain(|(k, _)| !SESSION_ENV.iter().any(|(name, _)| name == k));
        env.extend(
            SESSION_ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let spec = LaunchSpec {
            argv: launch,
            cwd: cwd.to_path_buf(),
            env,
            tty,
        };
        // Output streams to the turn that last used the session.
        let sink: Arc<std::sync::OnceLock<std::sync::Weak<Session>>> = Arc::default();
        let on_output = {
            let sink = Arc::clone(&sink);
            let item_id = id.to_string();
            Box::new(move |data: &[u8]| {
                if let Some(session) = sink.get().and_then(std::sync::Weak::upgrade) {
                    session.emit(Event::CommandOutputDelta {
                        item_id: item_id.clone(),
                        delta: String::from_utf8_lossy(data).into_owned(),
                    });
                }
            })
        };
        let process = match LiveProcess::spawn(&spec, on_output) {
            Ok(process) => process,
            Err(err) => {
                let text = err.to_string();
                self.emit(Event::ItemCompleted(failed_command(
                    id,
                    argv,
                    cwd,
                    text.clone(),
                    Some(session_id.to_string()),
                )));
                return Err(text);
            }
        };
        let session = Arc::new(Session::new(
            session_id,
            id.to_string(),
            argv.to_vec(),
            cwd.to_path_buf(),
            process,
            self.events().clone(),
        ));
        let _ = sink.set(Arc::downgrade(&session));
        Ok(session)
    }

    /// Waits `wait` (or until the command exits) and takes the new output; `None` when the
    /// turn was interrupted meanwhile.
    async fn poll(
        &self,
        session: &Session,
        wait: Duration,
        cancel: &CancellationToken,
    ) -> Option<Chunk> {
        let deadline = tokio::time::Instant::now() + wait;
        tokio::select! {
            chunk = session.process.poll_until(deadline) => Some(chunk),
            _ = cancel.cancelled() => None,
        }
    }

    /// The model's text for a chunk (Codex's shape); a finished session is completed and let
    /// go.
    async fn report(
        &self,
        session: &Session,
        chunk: Chunk,
        started: Instant,
        limit: usize,
    ) -> String {
        let status = match chunk.exit_code {
            Some(code) => {
                session.complete(code).await;
                self.settings().exec_sessions.remove(session.id);
                format!("Process exited with code {code}")
            }
            None => format!("Process running with session ID {}", session.id),
        };
        let output = String::from_utf8_lossy(&chunk.output);
        format!(
            "Chunk ID: {}\nWall time: {:.4} seconds\n{status}\nOriginal token count: {}\nOutput:\n{}",
            chunk_id(),
            started.elapsed().as_secs_f64(),
            approx_tokens(output.len()),
            model_output(&output, limit),
        )
    }
}

/// The turn was interrupted while the call waited: the session goes with it.
async fn interrupted(session: &Session) -> String {
    let code = session.process.terminate().await;
    session.complete(code).await;
    "command interrupted by the user".into()
}

/// Six random hex digits, as Codex labels each chunk of output.
pub(crate) fn chunk_id() -> String {
    use rand::Rng;
    format!("{:06x}", rand::rng().random_range(0..0x100_0000u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yield_times_are_clamped_to_codex_ranges() {
        let exec = |ms| clamp(ms, EXEC_YIELD_DEFAULT, YIELD_MIN, YIELD_MAX);
        assert_eq!(exec(None), Duration::from_secs(10));
        assert_eq!(exec(Some(10)), Duration::from_millis(250));
        assert_eq!(exec(Some(99_999)), Duration::from_secs(30));
        let poll = |ms| clamp(ms, POLL_YIELD_MIN, POLL_YIELD_MIN, POLL_YIELD_MAX);
        assert_eq!(poll(None), Duration::from_secs(5));
        assert_eq!(poll(Some(1)), Duration::from_secs(5));
        assert_eq!(poll(Some(10_000_000)), Duration::from_secs(300));
    }

    #[test]
    fn chunk_ids_are_six_hex_digits() {
        for _ in 0..100 {
            let id = chunk_id();
            assert_eq!(id.len(), 6);
            assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        }
    }
}
