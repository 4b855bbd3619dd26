//! Running one command: its own process group (so a timeout or an interrupt kills everything it
//! started), stdout and stderr merged into one pipe in the order they were written, and the
//! captured output bounded in memory.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

/// Exit code reported for a command killed by its timeout (as `timeout(1)` does).
pub const TIMEOUT_EXIT_CODE: i32 = 124;
/// How much output is kept in memory: this much of the start and this much of the end.
const CAPTURE_HALF: usize = 4 * 1024 * 1024;
/// The most output a command's result keeps (the first and last half of it).
pub const OUTPUT_CAPTURE_LIMIT: usize = 2 * CAPTURE_HALF;
/// After the command exits, how long to wait for children that still hold the pipe.
const DRAIN_GRACE: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub timeout: Duration,
    /// The whole environment of the command; `None` inherits the agent's.
    pub env: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i32,
    /// stdout and stderr interleaved; over 8 MiB the middle is cut with a marker.
    pub output: String,
    pub duration: Duration,
    pub timed_out: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("failed to start `{program}` in {cwd}: {source}")]
    Spawn {
        program: String,
        cwd: String,
        source: std::io::Error,
    },
    #[error("command interrupted")]
    Cancelled { output: String },
    #[error("reading command output: {0}")]
    Io(#[from] std::io::Error),
    /// The client that runs commands (an editor's terminal) could not run it.
    #[error("the editor could not run the command: {0}")]
    Client(String),
}

/// The user's login shell, if it exists, else bash, else sh.
pub fn user_shell() -> String {
    let candidates = [std::env::var("SHELL").ok(), Some("/bin/bash".into())];
    candidates
        .into_iter()
        .flatten()
        .find(|s| s.starts_with('/') && std::path::Path::new(s).exists())
        .unwrap_or_else(|| "/bin/sh".into())
}

/// `[shell, "-lc", script]`: how a script is run.
pub fn script_argv(shell: &str, script: &str) -> Vec<String> {
    vec![shell.to_string(), "-lc".into(), script.to_string()]
}

/// Joins argv with POSIX shell quoting, as Codex prints commands: `/bin/bash -lc 'make test'`.
pub fn display_command(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        return arg.to_string();
    }
    if !arg.contains('\'') {
        return format!("'{arg}'");
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// In a child between fork and exec: marks every descriptor above 2 close-on-exec, so the
/// command inherits nothing but stdin, stdout and stderr. Close-on-exec rather than closed:
/// the sealed sandbox launcher is executed through its descriptor (`/proc/self/fd/N`), which
/// must still be open during exec. Async-signal-safe (one system call).
pub fn keep_only_stdio() {
    // SAFETY: close_range only changes descriptor flags; a kernel without it returns ENOSYS.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
}

/// Runs the command to completion, to its timeout, or until `cancel` fires.
pub async fn run(req: &ExecRequest, cancel: &CancellationToken) -> Result<ExecOutput, ExecError> {
    run_streaming(req, cancel, &|_| {}).await
}

/// [`run`], handing each piece of output to `on_output` as it arrives.
pub async fn run_streaming(
    req: &ExecRequest,
    cancel: &CancellationToken,
    on_output: &(dyn Fn(&[u8]) + Sync),
) -> Result<ExecOutput, ExecError> {
    let started = Instant::now();
    let Some((program, args)) = req.argv.split_first() else {
        return Err(ExecError::Spawn {
            program: String::new(),
            cwd: req.cwd.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
        });
    };
    let spawn_err = |source| ExecError::Spawn {
        program: program.clone(),
        cwd: req.cwd.display().to_string(),
        source,
    };
    let (reader, writer) = std::io::pipe().map_err(spawn_err)?;
    let mut cmd = tokio::process::Command::new(program);
    if let Some(env) = &req.env {
        cmd.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    }
    cmd.args(args)
        .current_dir(&req.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer.try_clone().map_err(spawn_err)?))
        .stderr(Stdio::from(writer))
        .process_group(0)
        .kill_on_drop(true);
    // Nothing of wright's, or of wright's caller, leaks into the command but stdin, stdout and
    // stderr: everything else is marked close-on-exec in the child (confined commands get the
    // same from `wright sandbox`).
    // SAFETY: the closure only makes one async-signal-safe system call.
    unsafe {
        cmd.pre_exec(|| {
            keep_only_stdio();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(spawn_err)?;
    // Our copies of the write end must be gone, or the pipe never reports end of file.
    drop(cmd);
    let pgid = child.id().map(|p| p as i32);
    // Whatever way this function is left early (error, cancel, the future dropped), the
    // command's whole process group goes with it.
    let mut group = GroupGuard(pgid);
    let mut pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader))?;

    let mut capture = Capture::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut status = None;
    let mut timed_out = false;
    let mut pipe_open = true;
    let deadline = tokio::time::sleep(req.timeout);
    tokio::pin!(deadline);
    let mut drain_until: Option<tokio::time::Instant> = None;

    loop {
        if status.is_some() && !pipe_open {
            break;
        }
        let drain = async {
            match drain_until {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = pipe.read(&mut buf), if pipe_open => match read {
                Ok(0) => pipe_open = false,
                Ok(n) => {
                    on_output(&buf[..n]);
                    capture.push(&buf[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            },
            exit = child.wait(), if status.is_none() => {
                status = Some(exit?);
                drain_until = Some(tokio::time::Instant::now() + DRAIN_GRACE);
            }
            _ = drain => break,
            _ = &mut deadline, if status.is_none() => {
                kill_group(pgid);
                timed_out = true;
                status = Some(child.wait().await?);
                drain_until = Some(tokio::time::Instant::now() + DRAIN_GRACE);
            }
            _ = cancel.cancelled() => {
                kill_group(pgid);
                let _ = child.wait().await;
                return Err(ExecError::Cancelled { output: capture.finish() });
            }
        }
    }

    // Finished on its own: what it left running in the background is the user's business.
    group.0 = None;
    let mut output = capture.finish();
    let exit_code = if timed_out {
        output.push_str(&timeout_note(req.timeout));
        TIMEOUT_EXIT_CODE
    } else {
        status.map(exit_code_of).unwrap_or(-1)
    };
    Ok(ExecOutput {
        exit_code,
        output,
        duration: started.elapsed(),
        timed_out,
    })
}

/// What is appended to the output of a command killed by its timeout.
pub fn timeout_note(timeout: Duration) -> String {
    format!("\ncommand timed out after {} ms", timeout.as_millis())
}

/// `bytes` bounded as a command's captured output is: over [`OUTPUT_CAPTURE_LIMIT`], the middle
/// is cut with a marker.
pub fn bound_output(bytes: &[u8]) -> String {
    let mut capture = Capture::default();
    capture.push(bytes);
    capture.finish()
}

fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

fn kill_group(pgid: Option<i32>) {
    if let Some(pgid) = pgid.filter(|p| *p > 0) {
        // SAFETY: killpg only sends a signal; a stale group id at worst yields ESRCH.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// Keeps the first and last `CAPTURE_HALF` bytes of a stream.
#[derive(Default)]
struct Capture {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: usize,
}

impl Capture {
    fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < CAPTURE_HALF {
            let take = bytes.len().min(CAPTURE_HALF - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        self.tail.extend(bytes);
        if self.tail.len() > CAPTURE_HALF {
            let excess = self.tail.len() - CAPTURE_HALF;
            self.tail.drain(..excess);
            self.dropped += excess;
        }
    }

    fn finish(self) -> String {
        let mut out = String::from_utf8_lossy(&self.head).into_owned();
        if self.dropped > 0 {
            out.push_str(&format!("\n…{} bytes of output dropped…\n", self.dropped));
        }
        let tail: Vec<u8> = self.tail.into();
        out.push_str(&String::from_utf8_lossy(&tail));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(script: &str, timeout_ms: u64) -> ExecRequest {
        ExecRequest {
            argv: script_argv("/bin/sh", script),
            cwd: std::env::temp_dir(),
            timeout: Duration::from_millis(timeout_ms),
            env: None,
        }
    }

    #[tokio::test]
    async fn merges_streams_and_reports_exit_code() {
        let out = run(
            &req("echo out; echo err >&2; exit 3", 5000),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(out.exit_code, 3);
        assert_eq!(out.output, "out\nerr\n");
        assert!(!out.timed_out);
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let t = Instant::now();
        let out = run(&req(&script, 200), &CancellationToken::new())
            .await
            .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.exit_code, TIMEOUT_EXIT_CODE);
        assert!(t.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert!(!marker.exists(), "background child outlived the timeout");
    }

    #[tokio::test]
    async fn background_child_holding_the_pipe_does_not_block() {
        let t = Instant::now();
        let out = run(
            &req("echo hi; sleep 5 &", 10_000),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(out.exit_code, 0);
        assert_eq!(out.output, "hi\n");
        assert!(t.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn cancel_stops_the_command() {
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            c2.cancel();
        });
        let err = run(&req("echo started; sleep 30", 60_000), &cancel)
            .await
            .unwrap_err();
        let ExecError::Cancelled { output } = err else {
            panic!("expected cancel, got {err:?}")
        };
        assert_eq!(output, "started\n");
    }

    #[tokio::test]
    async fn missing_program_is_a_clear_error() {
        let r = ExecRequest {
            argv: vec!["/definitely/not/here".into()],
            cwd: std::env::temp_dir(),
            timeout: Duration::from_secs(1),
            env: None,
        };
        let err = run(&r, &CancellationToken::new()).await.unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here"), "{err}");
    }

    #[test]
    fn quoting_matches_codex() {
        let q = |s: &str| display_command(&script_argv("/bin/bash", s));
        assert_eq!(q("ls"), "/bin/bash -lc ls");
        assert_eq!(
            q("make test 2>&1 | tail -5"),
            "/bin/bash -lc 'make test 2>&1 | tail -5'"
        );
        assert_eq!(
            q("seq -f 'line %05g' 1 3"),
            "/bin/bash -lc \"seq -f 'line %05g' 1 3\""
        );
    }

    #[test]
    fn capture_keeps_head_and_tail() {
        let mut c = Capture::default();
        for _ in 0..3 {
            c.push(&vec![b'a'; CAPTURE_HALF]);
        }
        c.push(b"END");
        let s = c.finish();
        assert!(s.ends_with("END"));
        assert!(s.contains("bytes of output dropped"));
    }
}
