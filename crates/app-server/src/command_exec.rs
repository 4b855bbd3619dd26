//! `command/exec` and `command/exec/write|terminate|resize`: one command run outside any
//! thread, as Codex's App Server does it.
//!
//! * It runs under the same rules as the agent's own commands: the exec-policy rules and the
//!   approval policy (what would need a yes is refused: there is nobody to ask), the sandbox
//!   (the configured one, or `sandboxPolicy`), and `shell_environment_policy`.
//! * `processId` is the client's, unique among its connection's running commands; only that
//!   connection can write to, resize or terminate it, only it gets the streamed output, and
//!   its closing kills the command.
//! * The command leads a session of its own; a timeout, `command/exec/terminate` or the
//!   connection closing kills the whole tree (see [`process::Leader::kill_tree`]), and so does
//!   the end of the command: what it left running dies with it, as in Codex.
//! * Output is capped per stream (1 MiB unless `outputBytesCap` / `disableOutputCap`), in the
//!   response and in the stream alike; beyond the cap it is read and dropped, so the command
//!   never blocks on a full pipe.
//! * What wright cannot honour is refused, naming the field (module `request`): a
//!   `permissionProfile` (wright has none), `externalSandbox` (as `turn/start` refuses it),
//!   network access in `readOnly`.
//!
//! `env` from the client is applied on top of the environment policy's result, as given: a
//! value sets the variable (it is not filtered as a secret: the policy keeps the server's
//! secrets from commands, and a value the client sends is already the client's; dropping it
//! would silently run something else than asked), `null` unsets it. Dynamic-loader variables
//! (`LD_*`) are refused for confined commands: they would also reach the sandbox launcher,
//! which runs unconfined.

mod request;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wright_core::config::SandboxMode;
use wright_protocol::v2::{
    CommandExecOutputDeltaNotification, CommandExecOutputStream, CommandExecParams,
    CommandExecResizeParams, CommandExecResizeResponse, CommandExecResponse,
    CommandExecTerminateParams, CommandExecTerminateResponse, CommandExecWriteParams,
    CommandExecWriteResponse, ServerNotification,
};

use crate::conn::ConnHandle;
use crate::rpc::{RpcError, RpcResult};
use crate::state::State;
use request::{bad, check_size, merge_env, Request};
use wright_tools::process::{self, Input, Output, Pty, Spawned};

/// Codex's exit code for a command its timeout killed (as `timeout(1)`).
const TIMEOUT_EXIT_CODE: i32 = 124;
/// What a command killed by SIGKILL exits with (128 + 9).
const KILLED_EXIT_CODE: i32 = 128 + libc::SIGKILL;
/// After the command exits, how long output still held open (by what it left running) may
/// take to arrive.
const IO_DRAIN: Duration = Duration::from_millis(2_000);
/// After the final kill, how long the readers get to see the end of their streams.
const FINAL_DRAIN: Duration = Duration::from_millis(500);
/// Running commands per connection: one client cannot fill the machine.
const MAX_PER_CONNECTION: usize = 64;
/// Stdin accepted but not yet taken by the command.
const MAX_PENDING_STDIN: usize = 8 * 1024 * 1024;
/// Lines queued for the client beyond which a streaming command waits (and so does the
/// command, once its pipe fills) instead of piling up output in memory.
const MAX_BACKLOG: usize = 1024;
const READ_CHUNK: usize = 64 * 1024;

/// The running commands of every connection.
#[derive(Default)]
pub(crate) struct Registry {
    inner: Arc<Mutex<Sessions>>,
}

#[derive(Default)]
struct Sessions {
    by_key: HashMap<Key, Session>,
    serial: u64,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    conn: u64,
    id: ProcessKey,
}

/// A command started without `processId` is tracked too (the connection closing kills it)
/// but cannot be addressed.
#[derive(Clone, PartialEq, Eq, Hash)]
enum ProcessKey {
    Client(String),
    Internal(u64),
}

#[derive(Clone)]
struct Session {
    serial: u64,
    terminate: CancellationToken,
    stdin: Option<StdinHandle>,
    pty: Option<Arc<Pty>>,
}

impl Registry {
    /// Reserves `process_id` on `conn` for the life of the returned guard.
    fn register(
        &self,
        conn: &ConnHandle,
        process_id: Option<&str>,
        mut session: Session,
    ) -> Result<Registration, RpcError> {
        let mut sessions = lock(&self.inner);
        sessions.serial += 1;
        let serial = sessions.serial;
        let id = match process_id {
            Some(id) => ProcessKey::Client(id.to_string()),
            None => ProcessKey::Internal(serial),
        };
        let key = Key { conn: conn.id, id };
        if sessions.by_key.contains_key(&key) {
            return Err(RpcError::invalid_request(format!(
                "duplicate active command/exec process id: {}",
                quoted(process_id.unwrap_or_default())
            )));
        }
        let running = sessions.by_key.keys().filter(|k| k.conn == conn.id).count();
        if running >= MAX_PER_CONNECTION {
            return Err(RpcError::invalid_request(format!(
                "too many running command/exec on this connection (at most {MAX_PER_CONNECTION})"
            )));
        }
        session.serial = serial;
        let terminate = session.terminate.clone();
        sessions.by_key.insert(key.clone(), session);
        drop(sessions);
        // Registered after the connection went away (its sweep already ran): it must not
        // outlive it. `closed` is set before the sweep, so one of the two sees the other.
        if conn.is_closed() {
            terminate.cancel();
        }
        Ok(Registration {
            inner: Arc::clone(&self.inner),
            key,
            serial,
        })
    }

    fn get(&self, conn: u64, process_id: &str) -> Result<Session, RpcError> {
        let key = Key {
            conn,
            id: ProcessKey::Client(process_id.to_string()),
        };
        lock(&self.inner).by_key.get(&key).cloned().ok_or_else(|| {
            RpcError::invalid_request(format!(
                "no active command/exec for process id {}",
                quoted(process_id)
            ))
        })
    }

    /// Kills every command `conn` started.
    pub(crate) fn connection_closed(&self, conn: u64) {
        let gone: Vec<Session> = {
            let mut sessions = lock(&self.inner);
            let keys: Vec<Key> = sessions
                .by_key
                .keys()
                .filter(|k| k.conn == conn)
                .cloned()
                .collect();
            keys.iter()
                .filter_map(|k| sessions.by_key.remove(k))
                .collect()
        };
        for session in gone {
            session.terminate.cancel();
        }
    }
}

fn lock(m: &Mutex<Sessions>) -> std::sync::MutexGuard<'_, Sessions> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Codex's spelling of a process id in messages: a JSON string.
fn quoted(id: &str) -> String {
    serde_json::to_string(id).unwrap_or_else(|_| format!("{id:?}"))
}

/// Frees the process id when the command is over (however `exec` is left).
struct Registration {
    inner: Arc<Mutex<Sessions>>,
    key: Key,
    serial: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut sessions = lock(&self.inner);
        if sessions.by_key.get(&self.key).map(|s| s.serial) == Some(self.serial) {
            sessions.by_key.remove(&self.key);
        }
    }
}

/// The client's side of a command's stdin: writes are queued in order to the task that
/// feeds the command, up to [`MAX_PENDING_STDIN`] bytes not yet taken.
#[derive(Clone)]
struct StdinHandle {
    tx: mpsc::UnboundedSender<StdinMsg>,
    pending: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
}

enum StdinMsg {
    Data(Vec<u8>),
    Close,
}

impl StdinHandle {
    fn new() -> (StdinHandle, mpsc::UnboundedReceiver<StdinMsg>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = StdinHandle {
            tx,
            pending: Arc::default(),
            closed: Arc::default(),
        };
        (handle, rx)
    }

    fn write(&self, data: Vec<u8>, close: bool) -> Result<(), RpcError> {
        let closed = || RpcError::invalid_request("stdin is already closed");
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        if !data.is_empty() {
            let n = data.len();
            let before = self.pending.fetch_add(n, Ordering::SeqCst);
            if before + n > MAX_PENDING_STDIN {
                self.pending.fetch_sub(n, Ordering::SeqCst);
                return Err(RpcError::invalid_request(format!(
                    "stdin is full: the command has not read the {before} bytes written before (at most {MAX_PENDING_STDIN} may wait)"
                )));
            }
            if self.tx.send(StdinMsg::Data(data)).is_err() {
                self.pending.fetch_sub(n, Ordering::SeqCst);
                return Err(closed());
            }
        }
        if close {
            self.closed.store(true, Ordering::SeqCst);
            let _ = self.tx.send(StdinMsg::Close);
        }
        Ok(())
    }
}

/// Feeds the command what the client writes, in order, until stdin is closed or the command
/// stops reading it.
async fn feed(mut input: Input, mut rx: mpsc::UnboundedReceiver<StdinMsg>, handle: StdinHandle) {
    while let Some(msg) = rx.recv().await {
        match msg {
            StdinMsg::Data(data) => {
                let result = input.write_all(&data).await;
                handle.pending.fetch_sub(data.len(), Ordering::SeqCst);
                if result.is_err() {
                    break;
                }
            }
            StdinMsg::Close => {
                let _ = input.close().await;
                break;
            }
        }
    }
    handle.closed.store(true, Ordering::SeqCst);
}

/// `command/exec`: checks the request and reserves its process id at once (so a
/// `command/exec/write|resize|terminate` sent right after it finds the command), then gives the
/// rest to run from its own task: it loads the config, starts the command, and answers with its
/// exit code and (unless streamed) its output once it has ended.
pub(crate) fn start(
    state: &Arc<State>,
    conn: &ConnHandle,
    params: CommandExecParams,
) -> Result<impl Future<Output = Result<CommandExecResponse, RpcError>> + Send + 'static, RpcError>
{
    let req = Request::parse(params)?;
    let pty = match req.tty {
        true => Some(Arc::new(Pty::open(req.size.0, req.size.1).map_err(
            |e| RpcError::internal(format!("cannot open a terminal for the command: {e}")),
        )?)),
        false => None,
    };
    let (stdin, stdin_rx) = match req.stream_stdin {
        true => {
            let (handle, rx) = StdinHandle::new();
            (Some(handle), Some(rx))
        }
        false => (None, None),
    };
    let terminate = CancellationToken::new();
    let registration = state.command_execs.register(
        conn,
        req.process_id.as_deref(),
        Session {
            serial: 0,
            terminate: terminate.clone(),
            stdin: stdin.clone(),
            pty: pty.clone(),
        },
    )?;
    let state = Arc::clone(state);
    let conn = conn.clone();
    Ok(async move {
        // The id stays taken until the command is over.
        let _registration = registration;
        exec(&state, &conn, req, pty, stdin.zip(stdin_rx), terminate).await
    })
}

async fn exec(
    state: &State,
    conn: &ConnHandle,
    req: Request,
    pty: Option<Arc<Pty>>,
    stdin: Option<(StdinHandle, mpsc::UnboundedReceiver<StdinMsg>)>,
    terminate: CancellationToken,
) -> Result<CommandExecResponse, RpcError> {
    let config = state.thread_config(&req.scope, None).await?;
    // The same exec-policy rules and approval policy as the agent's own commands. There is
    // nobody to ask here: what would need a yes is refused.
    let session = wright_core::approval::SessionApprovals::default();
    let plan = wright_core::approval::plan_command(
        &req.argv,
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
    if config.sandbox_mode != SandboxMode::DangerFullAccess {
        if let Some(key) = req.env.keys().find(|k| k.starts_with("LD_")) {
            return Err(bad(format!(
                "`env.{key}`: dynamic-loader variables are refused for confined commands (they would also reach the sandbox launcher, which runs unconfined); set it inside the command (`sh -c '{key}=… exec …'`) or use `dangerFullAccess`"
            )));
        }
    }
    let launch = wright_core::sandbox::SandboxLaunch::from_config(&config)
        .wrap(&req.argv)
        .map_err(|why| {
            RpcError::invalid_request(format!("not run: the sandbox cannot be enforced: {why}"))
        })?;
    let env = merge_env(
        config.shell_environment_policy.apply(std::env::vars()),
        &req.env,
    );
    if terminate.is_cancelled() {
        // Terminated (or its connection gone) while the config loaded: it is not started at
        // all, and answers as a command killed at once would.
        return Ok(CommandExecResponse {
            exit_code: KILLED_EXIT_CODE,
            stdout: String::new(),
            stderr: String::new(),
        });
    }
    let spawned = match &pty {
        Some(pty) => process::spawn_on_pty(&launch, &config.cwd, &env, pty),
        None => process::spawn_piped(&launch, &config.cwd, &env, stdin.is_some()),
    }
    .map_err(|e| RpcError::invalid_request(format!("failed to start `{}`: {e}", req.argv[0])))?;
    Ok(run(spawned, stdin, terminate, conn, &req).await)
}

/// Drives a started command to its end: timeout and terminate kill it, output is collected
/// or streamed, and the answer comes after the last delta.
async fn run(
    spawned: Spawned,
    stdin: Option<(StdinHandle, mpsc::UnboundedReceiver<StdinMsg>)>,
    terminate: CancellationToken,
    conn: &ConnHandle,
    req: &Request,
) -> CommandExecResponse {
    let Spawned {
        mut leader,
        stdout,
        stderr,
        stdin: input,
    } = spawned;
    let sink = |stream| {
        req.stream_output.then(|| DeltaSink {
            conn: conn.clone(),
            process_id: req.process_id.clone().unwrap_or_default(),
            stream,
        })
    };
    let stdout = stdout.map(|o| Pump::start(o, req.cap, sink(CommandExecOutputStream::Stdout)));
    let stderr = stderr.map(|o| Pump::start(o, req.cap, sink(CommandExecOutputStream::Stderr)));
    let feeder = match (input, stdin) {
        (Some(input), Some((handle, rx))) => Some(tokio::spawn(feed(input, rx, handle))),
        // Not streaming stdin: it is /dev/null.
        _ => None,
    };

    let deadline = async {
        match req.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let (mut timed_out, mut killed) = (false, false);
    let code = loop {
        tokio::select! {
            code = leader.exited() => break code,
            _ = &mut deadline, if !timed_out => {
                timed_out = true;
                leader.kill_tree().await;
            }
            _ = terminate.cancelled(), if !killed => {
                killed = true;
                leader.kill_tree().await;
            }
        }
    };
    // What the command wrote before exiting is still arriving; what it left running may hold
    // the streams open, so only for a while. Then it goes, as the command's own.
    let mut pumps: Vec<Pump> = stdout.into_iter().chain(stderr).collect();
    let _ = tokio::time::timeout(IO_DRAIN, wait_all(&mut pumps)).await;
    leader.kill_tree().await;
    let _ = tokio::time::timeout(FINAL_DRAIN, wait_all(&mut pumps)).await;
    leader.reap();
    if let Some(feeder) = feeder {
        feeder.abort();
    }
    let mut outputs = pumps.into_iter().map(Pump::finish);
    let (stdout, stderr) = match (req.tty, outputs.next(), outputs.next()) {
        (true, out, _) => (out.unwrap_or_default(), String::new()),
        (false, out, err) => (out.unwrap_or_default(), err.unwrap_or_default()),
    };
    CommandExecResponse {
        exit_code: if timed_out { TIMEOUT_EXIT_CODE } else { code },
        stdout,
        stderr,
    }
}

async fn wait_all(pumps: &mut [Pump]) {
    for pump in pumps.iter_mut() {
        if let Some(task) = pump.task.as_mut() {
            let _ = task.await;
            pump.task = None;
        }
    }
}

/// Reads one output stream to its end, keeping (or streaming) up to the cap.
struct Pump {
    task: Option<tokio::task::JoinHandle<()>>,
    /// What is kept for the response (nothing when streamed); shared so that a reader still
    /// blocked at the end loses nothing it had read.
    kept: Arc<Mutex<Vec<u8>>>,
}

impl Pump {
    fn start(mut output: Output, cap: Option<usize>, sink: Option<DeltaSink>) -> Pump {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&kept);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; READ_CHUNK];
            let mut taken = 0usize;
            let mut capped = false;
            loop {
                let n = match output.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                // Past the cap the output is still read, so the command never blocks on it.
                if capped {
                    continue;
                }
                let room = cap.map_or(n, |c| c.saturating_sub(taken).min(n));
                taken += room;
                capped = cap == Some(taken);
                match &sink {
                    Some(sink) => sink.send(&buf[..room], capped).await,
                    None => keep
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&buf[..room]),
                }
            }
        });
        Pump {
            task: Some(task),
            kept,
        }
    }

    fn finish(self) -> String {
        if let Some(task) = self.task {
            task.abort();
        }
        let kept = std::mem::take(&mut *self.kept.lock().unwrap_or_else(|p| p.into_inner()));
        String::from_utf8_lossy(&kept).into_owned()
    }
}

/// Streams one output of one command to the connection that started it.
struct DeltaSink {
    conn: ConnHandle,
    process_id: String,
    stream: CommandExecOutputStream,
}

impl DeltaSink {
    async fn send(&self, bytes: &[u8], cap_reached: bool) {
        // A client that does not keep up slows the command down rather than losing output
        // or growing the server's memory.
        while self.conn.backlog() > MAX_BACKLOG && !self.conn.is_closed() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.conn
            .notify_lossless(&ServerNotification::CommandExecOutputDelta(
                CommandExecOutputDeltaNotification {
                    process_id: self.process_id.clone(),
                    stream: self.stream,
                    delta_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
                    cap_reached,
                },
            ));
    }
}

/// `command/exec/write`: bytes for the command's stdin (queued in order), and/or its end.
pub(crate) fn write(
    state: &State,
    conn: &ConnHandle,
    params: CommandExecWriteParams,
) -> RpcResult<CommandExecWriteResponse> {
    if params.delta_base64.is_none() && !params.close_stdin {
        return Err(bad("command/exec/write requires deltaBase64 or closeStdin"));
    }
    let data = match &params.delta_base64 {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| bad(format!("`deltaBase64` is not valid base64: {e}")))?,
        None => Vec::new(),
    };
    let session = state.command_execs.get(conn.id, &params.process_id)?;
    let Some(stdin) = session.stdin else {
        return Err(RpcError::invalid_request(
            "stdin streaming is not enabled for this command/exec (start it with `streamStdin` or `tty`)",
        ));
    };
    stdin.write(data, params.close_stdin)?;
    Ok(CommandExecWriteResponse {})
}

/// `command/exec/terminate`: kills the command and everything it started; its own response
/// follows.
pub(crate) fn terminate(
    state: &State,
    conn: &ConnHandle,
    params: CommandExecTerminateParams,
) -> RpcResult<CommandExecTerminateResponse> {
    let session = state.command_execs.get(conn.id, &params.process_id)?;
    session.terminate.cancel();
    Ok(CommandExecTerminateResponse {})
}

/// `command/exec/resize`: a `tty` command's terminal gets a new size.
pub(crate) fn resize(
    state: &State,
    conn: &ConnHandle,
    params: CommandExecResizeParams,
) -> RpcResult<CommandExecResizeResponse> {
    let (rows, cols) = check_size(params.size.rows, params.size.cols)?;
    let session = state.command_execs.get(conn.id, &params.process_id)?;
    let Some(pty) = session.pty else {
        return Err(RpcError::invalid_request(format!(
            "command/exec {} has no terminal to resize (start it with `tty: true`)",
            quoted(&params.process_id)
        )));
    };
    pty.resize(rows, cols)
        .map_err(|e| RpcError::invalid_request(format!("failed to resize the terminal: {e}")))?;
    Ok(CommandExecResizeResponse {})
}

#[cfg(test)]
mod tests;
