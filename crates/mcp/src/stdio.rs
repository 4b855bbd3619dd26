//! A stdio server's process: spawned in its own process group (through the sandbox launcher
//! when confined), its stdout checked line by line before the protocol sees it, its stderr
//! kept for error messages.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

/// Lines of stderr kept for messages about a server that failed.
const STDERR_LINES: usize = 20;
/// The niceness stdio servers run at (their children inherit it).
const SERVER_NICE: libc::c_int = 10;
/// A line longer than this is not a message any server should send.
const MAX_LINE: u64 = 64 * 1024 * 1024;

/// The pipes the protocol runs over: stdin, and stdout with only the lines that parse as JSON.
pub(crate) type Pipes = (tokio::io::ReadHalf<tokio::io::SimplexStream>, ChildStdin);

/// The running process and what it has said.
pub(crate) struct Process {
    pub stderr: StderrTail,
    /// Set to the reason the process is no good: a non-JSON line on stdout.
    pub garbage: watch::Receiver<Option<String>>,
    /// The exit status once the process is gone.
    pub exited: watch::Receiver<Option<String>>,
    pub _guard: KillOnDrop,
}

impl Process {
    /// `what` went wrong, with what the process said about it: bad output, its exit status
    /// (waited for briefly) and the end of its stderr.
    pub async fn explain(&self, what: &str) -> String {
        if let Some(garbage) = self.garbage.borrow().clone() {
            return with_stderr(format!("the server {garbage}"), &self.stderr);
        }
        let mut exited = self.exited.clone();
        let status = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            exited.wait_for(Option::is_some),
        )
        .await
        .ok()
        .and_then(|s| s.ok().and_then(|s| s.clone()));
        let text = match status {
            Some(status) => format!("the server process {status} ({what})"),
            None => what.to_string(),
        };
        with_stderr(text, &self.stderr)
    }
}

fn with_stderr(text: String, tail: &StderrTail) -> String {
    let stderr = tail.text();
    if stderr.trim().is_empty() {
        text
    } else {
        format!("{text}; its stderr ends:\n{stderr}")
    }
}

/// The last lines of a server's stderr.
#[derive(Clone, Default)]
pub(crate) struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    fn push(&self, line: String) {
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() == STDERR_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }
}

/// Kills the whole process group when the connection is dropped: a server started through
/// `npx` or a shell leaves no grandchildren behind.
pub(crate) struct KillOnDrop {
    pgid: Option<i32>,
}

impl KillOnDrop {
    pub fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // SAFETY: kill(2) on a process group we created; no memory is involved.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn spawn(
    name: &str,
    argv: &[String],
    env: &[(String, String)],
    cwd: &Path,
) -> std::io::Result<(Pipes, Process)> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    if let Some(pid) = child.id() {
        // Servers start while wright itself starts: at a lower priority they take the CPU
        // wright leaves idle, not the time to its first model request. Done right after the
        // spawn (a pre-exec hook would cost a full fork); the child is still loading then.
        // SAFETY: setpriority(2) on our own child; no memory is involved.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, pid, SERVER_NICE);
        }
    }
    let guard = KillOnDrop {
        pgid: child.id().map(|id| id as i32),
    };
    let (stdin, stdout, stderr) =
        match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
            (Some(i), Some(o), Some(e)) => (i, o, e),
            _ => return Err(std::io::Error::other("child has no pipes")),
        };
    let tail = StderrTail::default();
    tokio::spawn(read_stderr(name.to_string(), stderr, tail.clone()));
    let (garbage_tx, garbage) = watch::channel(None);
    let (reader, writer) = tokio::io::simplex(1024 * 1024);
    tokio::spawn(filter_stdout(stdout, writer, garbage_tx));
    let (exit_tx, exited) = watch::channel(None);
    tokio::spawn(wait(child, exit_tx));
    let stdout = reader;
    Ok((
        (stdout, stdin),
        Process {
            stderr: tail,
            garbage,
            exited,
            _guard: guard,
        },
    ))
}

async fn wait(mut child: Child, tx: watch::Sender<Option<String>>) {
    let status = match child.wait().await {
        Ok(status) => match (
            status.code(),
            std::os::unix::process::ExitStatusExt::signal(&status),
        ) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            _ => "exited".to_string(),
        },
        Err(err) => format!("could not be waited for: {err}"),
    };
    let _ = tx.send(Some(status));
}

async fn read_stderr(name: String, stderr: impl AsyncRead + Unpin, tail: StderrTail) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "wright_mcp::stderr", server = %name, "{line}");
        tail.push(line);
    }
}

/// Passes on whole lines that parse as JSON. The first that does not ends the stream and is
/// reported: a server whose stdout carries anything but the protocol cannot be trusted to
/// answer, so it is restarted rather than left to time out call by call.
async fn filter_stdout(
    stdout: impl AsyncRead + Unpin,
    mut out: tokio::io::WriteHalf<tokio::io::SimplexStream>,
    garbage: watch::Sender<Option<String>>,
) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await;
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        if !line.ends_with(b"\n") && line.len() as u64 >= MAX_LINE {
            let _ = garbage.send(Some(format!("sent a line over {MAX_LINE} bytes")));
            break;
        }
        if serde_json::from_slice::<serde::de::IgnoredAny>(text).is_err() {
            let shown: String = String::from_utf8_lossy(text).chars().take(200).collect();
            let _ = garbage.send(Some(format!(
                "wrote something that is not a JSON-RPC message to stdout: `{shown}`"
            )));
            break;
        }
        if out.write_all(text).await.is_err() || out.write_all(b"\n").await.is_err() {
            break;
        }
    }
    let _ = out.shutdown().await;
}
