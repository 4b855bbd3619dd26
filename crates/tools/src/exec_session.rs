//! A command that may outlive the tool call that started it (Codex's unified exec): it runs in
//! a session of its own, on a pseudo-terminal or with pipes; its output is gathered in the
//! background and handed out in chunks, each poll taking what arrived since the last one.
//!
//! Dropping the [`LiveProcess`] kills the command and everything it started.

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::process::{self, Input, Output, Pty};

/// The most unread output a session keeps: its first and last halves (Codex keeps 1 MiB).
const PENDING_LIMIT: usize = 1024 * 1024;
/// The most of the whole output kept for the command's item (first and last halves).
const AGGREGATE_LIMIT: usize = 1024 * 1024;
/// After the command exits, how long to wait for output still in flight (children of a command
/// that did not exit with it may hold the stream open).
const DRAIN_GRACE: Duration = Duration::from_millis(50);
/// A terminal's size when the model does not say (Codex's default).
const ROWS: u16 = 24;
const COLS: u16 = 80;

/// Sees every piece of output as it arrives.
pub type OnOutput = Box<dyn Fn(&[u8]) + Send + Sync>;

/// What to start.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// Exactly what executes: the sandbox launcher first when confined.
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// The whole environment.
    pub env: Vec<(String, String)>,
    /// On a terminal (stdin stays open for writes), or on pipes (stdin is `/dev/null`).
    pub tty: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("Failed to create unified exec process: {0}")]
    Spawn(io::Error),
    #[error(
        "stdin is closed for this session; rerun exec_command with tty=true to keep stdin open"
    )]
    StdinClosed,
    #[error("failed to write to stdin: {0}")]
    Write(io::Error),
}

/// Output gathered since the last poll, bounded: the first and last halves are kept and what
/// fell between them is counted.
#[derive(Default)]
struct Bounded {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: u64,
    limit: usize,
}

impl Bounded {
    fn new(limit: usize) -> Self {
        Bounded {
            limit,
            ..Bounded::default()
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        let half = self.limit / 2;
        if self.head.len() < half {
            let take = data.len().min(half - self.head.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        self.tail.extend(data);
        let excess = self.tail.len().saturating_sub(self.limit - half);
        if excess > 0 {
            self.tail.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    fn take(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.head);
        if self.dropped > 0 {
            out.extend_from_slice(
                format!("\n[… {} bytes of output dropped …]\n", self.dropped).as_bytes(),
            );
            self.dropped = 0;
        }
        out.extend(self.tail.drain(..));
        out
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut out = self.head.clone();
        if self.dropped > 0 {
            out.extend_from_slice(
                format!("\n[… {} bytes of output dropped …]\n", self.dropped).as_bytes(),
            );
        }
        out.extend(self.tail.iter());
        out
    }
}

#[derive(Default)]
struct Gathered {
    pending: Option<Bounded>,
    all: Option<Bounded>,
    /// The output stream has ended (every writer closed it).
    ended: bool,
}

struct Shared {
    gathered: Mutex<Gathered>,
    arrived: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Gathered> {
        // A panic while holding the lock leaves plain byte buffers: still usable.
        self.gathered.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a poll returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub output: Vec<u8>,
    /// The exit code once the command has exited (128 + signal when killed).
    pub exit_code: Option<i32>,
}

/// A running (or finished, until dropped) command.
pub struct LiveProcess {
    shared: Arc<Shared>,
    input: tokio::sync::Mutex<Option<Input>>,
    exit: watch::Receiver<Option<i32>>,
    kill: CancellationToken,
    pid: u32,
    tty: bool,
    started: Instant,
}

impl LiveProcess {
    /// Starts the command. `on_output` sees every piece of output as it arrives (for streaming
    /// to clients); it runs on the runtime and must not block.
    pub fn spawn(spec: &LaunchSpec, on_output: OnOutput) -> Result<LiveProcess, SessionError> {
        let spawned = if spec.tty {
            let pty = Arc::new(Pty::open(ROWS, COLS).map_err(SessionError::Spawn)?);
            process::spawn_on_pty(&spec.argv, &spec.cwd, &spec.env, &pty)
        } else {
            process::spawn_merged(&spec.argv, &spec.cwd, &spec.env, false)
        }
        .map_err(SessionError::Spawn)?;
        let pid = spawned.leader.pid();
        let shared = Arc::new(Shared {
            gathered: Mutex::new(Gathered {
                pending: Some(Bounded::new(PENDING_LIMIT)),
                all: Some(Bounded::new(AGGREGATE_LIMIT)),
                ended: false,
            }),
            arrived: Notify::new(),
        });
        let (exit_tx, exit) = watch::channel(None);
        let kill = CancellationToken::new();
        let reader_done = CancellationToken::new();
        if let Some(output) = spawned.stdout {
            tokio::spawn(read_output(
                output,
                Arc::clone(&shared),
                on_output,
                reader_done.clone(),
            ));
        } else {
            reader_done.cancel();
        }
        tokio::spawn(watch_leader(
            spawned.leader,
            exit_tx,
            kill.clone(),
            reader_done,
            Arc::clone(&shared),
        ));
        Ok(LiveProcess {
            shared,
            input: tokio::sync::Mutex::new(spawned.stdin),
            exit,
            kill,
            pid,
            tty: spec.tty,
            started: Instant::now(),
        })
    }

    /// The OS process id of the command's first process.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn tty(&self) -> bool {
        self.tty
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// The exit code, once the command has exited and its output has been gathered.
    pub fn exit_code(&self) -> Option<i32> {
        *self.exit.borrow()
    }

    /// Waits until `deadline` or until the command exits, whichever is first, and takes the
    /// output gathered since the last poll.
    pub async fn poll_until(&self, deadline: tokio::time::Instant) -> Chunk {
        let mut exit = self.exit.clone();
        let _ = tokio::time::timeout_at(deadline, exit.wait_for(Option::is_some)).await;
        let exit_code = *exit.borrow();
        let output = self
            .shared
            .lock()
            .pending
            .as_mut()
            .map(Bounded::take)
            .unwrap_or_default();
        Chunk { output, exit_code }
    }

    /// Resolves once the command has exited; the exit code.
    pub async fn exited(&self) -> i32 {
        let mut exit = self.exit.clone();
        let code = match exit.wait_for(Option::is_some).await {
            Ok(code) => code.unwrap_or(-1),
            // The watcher is gone only with the runtime; nothing more will come.
            Err(_) => -1,
        };
        code
    }

    /// All the output so far (its first and last halves when long), for the command's item.
    pub fn aggregated(&self) -> Vec<u8> {
        self.shared
            .lock()
            .all
            .as_ref()
            .map(Bounded::snapshot)
            .unwrap_or_default()
    }

    /// Types `data` into the command's terminal.
    pub async fn write(&self, data: &[u8]) -> Result<(), SessionError> {
        if !self.tty {
            return Err(SessionError::StdinClosed);
        }
        let mut input = self.input.lock().await;
        let Some(input) = input.as_mut() else {
            return Err(SessionError::StdinClosed);
        };
        input.write_all(data).await.map_err(SessionError::Write)
    }

    /// Kills the command and everything it started; returns once it is gone.
    pub async fn terminate(&self) -> i32 {
        self.kill.cancel();
        self.exited().await
    }

    /// Kills the command without waiting.
    pub fn kill(&self) {
        self.kill.cancel();
    }

    /// Notified whenever output arrives (for callers that watch without polling).
    pub async fn output_arrived(&self) {
        self.shared.arrived.notified().await
    }
}

impl Drop for LiveProcess {
    fn drop(&mut self) {
        self.kill.cancel();
    }
}

async fn read_output(
    mut output: Output,
    shared: Arc<Shared>,
    on_output: OnOutput,
    done: CancellationToken,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match output.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let data = &buf[..n];
                {
                    let mut g = shared.lock();
                    if let Some(p) = g.pending.as_mut() {
                        p.push(data);
                    }
                    if let Some(a) = g.all.as_mut() {
                        a.push(data);
                    }
                }
                on_output(data);
                shared.arrived.notify_waiters();
            }
        }
    }
    shared.lock().ended = true;
    done.cancel();
}

/// Owns the leader: waits for it to exit (or for a kill, which takes its whole tree), lets the
/// output drain, collects the leader and publishes the exit code.
async fn watch_leader(
    mut leader: process::Leader,
    exit: watch::Sender<Option<i32>>,
    kill: CancellationToken,
    reader_done: CancellationToken,
    shared: Arc<Shared>,
) {
    let code = tokio::select! {
        code = leader.exited() => code,
        _ = kill.cancelled() => {
            leader.kill_tree().await;
            leader.exited().await
        }
    };
    let _ = tokio::time::timeout(DRAIN_GRACE, reader_done.cancelled()).await;
    // Finished on its own: what it left running in the background is the user's business
    // unconfined, and dies with the sandbox's PID namespace confined (as for any command).
    leader.reap();
    let _ = exit.send(Some(code));
    shared.arrived.notify_waiters();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(script: &str, tty: bool) -> LaunchSpec {
        LaunchSpec {
            argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            tty,
        }
    }

    fn soon(ms: u64) -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_millis(ms)
    }

    #[test]
    fn bounded_keeps_head_and_tail() {
        let mut b = Bounded::new(8);
        b.push(b"abcdefghijkl");
        let out = String::from_utf8(b.take()).unwrap();
        assert!(out.starts_with("abcd"), "{out}");
        assert!(out.ends_with("ijkl"), "{out}");
        assert!(out.contains("4 bytes of output dropped"), "{out}");
        assert!(b.take().is_empty());
    }

    #[tokio::test]
    async fn a_finished_command_reports_its_exit_and_output() {
        let p = LiveProcess::spawn(&spec("echo hi; exit 3", false), Box::new(|_| {})).unwrap();
        let chunk = p.poll_until(soon(10_000)).await;
        assert_eq!(chunk.exit_code, Some(3));
        assert_eq!(chunk.output, b"hi\n");
    }

    #[tokio::test]
    async fn a_running_command_yields_and_later_polls_get_the_rest() {
        let p = LiveProcess::spawn(
            &spec("echo one; sleep 0.4; echo two", false),
            Box::new(|_| {}),
        )
        .unwrap();
        let first = p.poll_until(soon(150)).await;
        assert_eq!(first.exit_code, None);
        assert_eq!(first.output, b"one\n");
        let second = p.poll_until(soon(10_000)).await;
        assert_eq!(second.exit_code, Some(0));
        assert_eq!(second.output, b"two\n");
        assert_eq!(p.aggregated(), b"one\ntwo\n");
    }

    #[tokio::test]
    async fn a_terminal_session_takes_input() {
        let p = LiveProcess::spawn(
            &spec("stty -echo; read x; echo got:$x", true),
            Box::new(|_| {}),
        )
        .unwrap();
        let _ = p.poll_until(soon(200)).await;
        p.write(b"abc\n").await.unwrap();
        let chunk = p.poll_until(soon(10_000)).await;
        assert_eq!(chunk.exit_code, Some(0));
        assert!(String::from_utf8_lossy(&chunk.output).contains("got:abc"));
    }

    #[tokio::test]
    async fn pipes_refuse_input() {
        let p = LiveProcess::spawn(&spec("sleep 5", false), Box::new(|_| {})).unwrap();
        assert!(matches!(
            p.write(b"x").await,
            Err(SessionError::StdinClosed)
        ));
        assert_eq!(p.terminate().await, 128 + libc::SIGKILL);
    }

    #[tokio::test]
    async fn a_kill_takes_the_whole_tree() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let p = LiveProcess::spawn(&spec(&script, false), Box::new(|_| {})).unwrap();
        let mut child = None;
        for _ in 0..200 {
            if let Ok(text) = std::fs::read_to_string(&pidfile) {
                if let Ok(pid) = text.trim().parse::<i32>() {
                    child = Some(pid);
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let child = child.expect("the background child started");
        // SAFETY: signal 0 only checks the process exists.
        assert_eq!(unsafe { libc::kill(child, 0) }, 0, "alive before the kill");
        p.terminate().await;
        let mut gone = false;
        for _ in 0..200 {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            if stat.is_empty() || stat.contains(") Z ") {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(gone, "the background child outlived the session");
    }
}
