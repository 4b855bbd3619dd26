//! Processes started in a session of their own (on a pseudo-terminal, or with pipes), watched
//! without being reaped, and killed as a whole tree. Used by the App Server's `command/exec`
//! and by the model's long-running command sessions (`exec_command` / `write_stdin`).
//!
//! The leader stays a zombie until [`Leader::reap`]: while it is unreaped its pid, which is
//! also the id of its process group and session, cannot be given to another process, so
//! signalling the group or sweeping the session never hits an unrelated process.
//!
//! Terminals are allocated by `portable-pty`, but the command is spawned here rather than by
//! its `spawn_command`: that closes every descriptor above 2 between fork and exec (allocating
//! while it lists them, which is not safe in a multi-threaded process), which breaks the sealed
//! sandbox launcher executed as `/proc/self/fd/N`; and its reader, writer and wait are blocking
//! calls needing a thread each. Here the master is driven by the runtime and the child is a
//! plain `Command` whose standard streams are the terminal.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;

/// How often the leader is polled where pidfds are missing (Linux before 5.3).
const EXIT_POLL: Duration = Duration::from_millis(20);

/// A started command: its session leader and the ends of its standard streams we hold.
pub struct Spawned {
    pub leader: Leader,
    pub stdout: Option<Output>,
    pub stderr: Option<Output>,
    pub stdin: Option<Input>,
}

/// The command with its standard streams on pipes (stdin only when `stdin_piped`, else
/// `/dev/null`).
pub fn spawn_piped(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    stdin_piped: bool,
) -> io::Result<Spawned> {
    let mut cmd = command(argv, cwd, env)?;
    cmd.stdin(stdin_mode(stdin_piped))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    new_session(&mut cmd, false);
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().map(receiver).transpose()?;
    let stderr = child.stderr.take().map(receiver).transpose()?;
    let stdin = take_stdin(&mut child)?;
    Ok(Spawned {
        leader: Leader::new(child),
        stdout: stdout.map(Output::Pipe),
        stderr: stderr.map(Output::Pipe),
        stdin,
    })
}

/// The command with stdout and stderr on one pipe, in the order they were written (what a
/// model reads), and stdin piped or `/dev/null`.
pub fn spawn_merged(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    stdin_piped: bool,
) -> io::Result<Spawned> {
    let mut cmd = command(argv, cwd, env)?;
    let (reader, writer) = io::pipe()?;
    cmd.stdin(stdin_mode(stdin_piped))
        .stdout(Stdio::from(writer.try_clone()?))
        .stderr(Stdio::from(writer));
    new_session(&mut cmd, false);
    let mut child = cmd.spawn()?;
    // Our copies of the write end must be gone, or the output never ends.
    drop(cmd);
    let stdin = take_stdin(&mut child)?;
    Ok(Spawned {
        leader: Leader::new(child),
        stdout: Some(Output::Pipe(receiver(reader)?)),
        stderr: None,
        stdin,
    })
}

fn stdin_mode(piped: bool) -> Stdio {
    if piped {
        Stdio::piped()
    } else {
        Stdio::null()
    }
}

fn take_stdin(child: &mut Child) -> io::Result<Option<Input>> {
    Ok(child
        .stdin
        .take()
        .map(|s| pipe::Sender::from_owned_fd(OwnedFd::from(s)))
        .transpose()?
        .map(Input::Pipe))
}

/// The command on `pty`, whose terminal becomes its controlling terminal.
pub fn spawn_on_pty(
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    pty: &Arc<Pty>,
) -> io::Result<Spawned> {
    let slave = pty
        .slave
        .lock()
        .map_err(|_| io::Error::other("terminal state poisoned"))?
        .take()
        .ok_or_else(|| io::Error::other("the terminal is already in use"))?;
    let mut cmd = command(argv, cwd, env)?;
    cmd.stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave));
    new_session(&mut cmd, true);
    let child = cmd.spawn()?;
    // Our copies of the slave must be gone, or reading the master never ends.
    drop(cmd);
    Ok(Spawned {
        leader: Leader::new(child),
        stdout: Some(Output::Pty(Arc::clone(pty))),
        stderr: None,
        stdin: Some(Input::Pty(Arc::clone(pty))),
    })
}

fn command(argv: &[String], cwd: &Path, env: &[(String, String)]) -> io::Result<Command> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    Ok(cmd)
}

/// The child leads a new session (so its group and session can be killed whole, and no
/// terminal of the server's reaches it), takes the terminal on fd 0 as its controlling one when
/// `tty`, and keeps no descriptor of ours but 0, 1 and 2.
fn new_session(cmd: &mut Command, tty: bool) {
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            if tty && libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            crate::shell::keep_only_stdio();
            Ok(())
        });
    }
}

fn receiver(stream: impl Into<OwnedFd>) -> io::Result<pipe::Receiver> {
    pipe::Receiver::from_owned_fd(stream.into())
}

/// Where output is read from.
pub enum Output {
    Pipe(pipe::Receiver),
    Pty(Arc<Pty>),
}

impl Output {
    /// Some bytes, or 0 at end of output.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Output::Pipe(p) => p.read(buf).await,
            Output::Pty(p) => p.read(buf).await,
        }
    }
}

/// Where stdin is written to.
pub enum Input {
    Pipe(pipe::Sender),
    Pty(Arc<Pty>),
}

impl Input {
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Input::Pipe(p) => p.write_all(data).await,
            Input::Pty(p) => p.write_all(data).await,
        }
    }

    /// Ends the input: the pipe is closed; a terminal gets its end-of-file character (as a
    /// user typing ^D at the start of a line), since its input cannot be closed on its own.
    pub async fn close(self) -> io::Result<()> {
        match self {
            Input::Pipe(p) => {
                drop(p);
                Ok(())
            }
            Input::Pty(p) => {
                let eof = p.eof_char();
                p.write_all(&[eof]).await
            }
        }
    }
}

/// A pseudo-terminal: the master, non-blocking and driven by the runtime, and the slave until
/// the command takes it.
pub struct Pty {
    master: AsyncFd<OwnedFd>,
    slave: Mutex<Option<OwnedFd>>,
    /// `portable-pty`'s handle on the master: it owns the allocation and sizes the terminal.
    allocation: Mutex<Box<dyn portable_pty::MasterPty + Send>>,
}

impl Pty {
    /// A new terminal of `rows` × `cols` cells. Needs the runtime.
    pub fn open(rows: u16, cols: u16) -> io::Result<Pty> {
        let pair = portable_pty::native_pty_system()
            .openpty(pty_size(rows, cols))
            .map_err(|e| io::Error::other(format!("cannot allocate a terminal: {e}")))?;
        let raw = pair
            .master
            .as_raw_fd()
            .ok_or_else(|| io::Error::other("the terminal has no descriptor"))?;
        // Our own descriptor of the master for the runtime (close-on-exec like the original).
        // SAFETY: `raw` is open for as long as `pair.master` lives, which outlives this call.
        let master = unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) }.try_clone_to_owned()?;
        // The slave, opened by name: `portable-pty` keeps its own slave descriptor private.
        // The name cannot be taken over by another terminal while we hold the master.
        let name = pair
            .master
            .tty_name()
            .ok_or_else(|| io::Error::other("the terminal has no name"))?;
        let slave: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(&name)?
            .into();
        drop(pair.slave);
        set_flag(&master, libc::F_GETFL, libc::F_SETFL, libc::O_NONBLOCK)?;
        Ok(Pty {
            master: register(master)?,
            slave: Mutex::new(Some(slave)),
            allocation: Mutex::new(pair.master),
        })
    }

    /// Sets the size; the kernel sends SIGWINCH to the terminal's foreground process group.
    pub fn resize(&self, rows: u16, cols: u16) -> io::Result<()> {
        self.allocation
            .lock()
            .map_err(|_| io::Error::other("terminal state poisoned"))?
            .resize(pty_size(rows, cols))
            .map_err(|e| io::Error::other(format!("cannot resize the terminal: {e}")))
    }

    async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut ready = self.master.readable().await?;
            let got = ready.try_io(|fd| {
                // SAFETY: reading into a valid buffer of `buf.len()` bytes.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match got {
                // EIO: every slave descriptor is closed, i.e. the end of the output.
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut ready = self.master.writable().await?;
            let wrote = ready.try_io(|fd| {
                // SAFETY: writing from a valid buffer of `data.len()` bytes.
                let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match wrote {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
        Ok(())
    }

    /// The terminal's end-of-file character (^D unless the command changed it).
    fn eof_char(&self) -> u8 {
        // SAFETY: tcgetattr fills a termios we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(self.master.as_raw_fd(), &mut t) == 0 && t.c_cc[libc::VEOF] != 0 {
                t.c_cc[libc::VEOF]
            } else {
                0x04
            }
        }
    }
}

/// `fd` watched by the runtime.
fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd stays open and the same descriptor for as long as it is owned.
    unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)
}

fn pty_size(rows: u16, cols: u16) -> portable_pty::PtySize {
    portable_pty::PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

fn set_flag(fd: &OwnedFd, get: libc::c_int, set: libc::c_int, flag: libc::c_int) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), get);
        if flags == -1 || libc::fcntl(fd.as_raw_fd(), set, flags | flag) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The command's first process: leader of its session and process group.
pub struct Leader {
    /// `None` once reaped.
    child: Option<Child>,
    pid: libc::pid_t,
    /// Readable when the leader exits (Linux 5.3 and later).
    pidfd: Option<AsyncFd<OwnedFd>>,
}

impl Leader {
    fn new(child: Child) -> Leader {
        let pid = child.id() as libc::pid_t;
        let pidfd = pidfd_open(pid).ok().and_then(|fd| register(fd).ok());
        Leader {
            child: Some(child),
            pid,
            pidfd,
        }
    }

    /// The leader's OS process id (also its process group's and session's).
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Resolves with the exit code (128 + signal when killed) once the leader has exited,
    /// leaving it unreaped.
    pub async fn exited(&self) -> i32 {
        loop {
            if let Some(code) = self.peek() {
                return code;
            }
            match &self.pidfd {
                Some(fd) => match fd.readable().await {
                    Ok(mut ready) => {
                        if self.peek().is_none() {
                            ready.clear_ready();
                        }
                    }
                    Err(_) => tokio::time::sleep(EXIT_POLL).await,
                },
                None => tokio::time::sleep(EXIT_POLL).await,
            }
        }
    }

    /// The exit code if the leader has exited; it stays a zombie (`WNOWAIT`).
    fn peek(&self) -> Option<i32> {
        self.child.as_ref()?;
        // SAFETY: waitid fills a zeroed siginfo; the accessors read the fields it set.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let rc = libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
            );
            if rc != 0 || info.si_pid() == 0 {
                return None;
            }
            let status = info.si_status();
            Some(match info.si_code {
                libc::CLD_EXITED => status,
                _ => 128 + status,
            })
        }
    }

    /// Kills the command and everything it started: its process group at once, then every
    /// process left in its session (job-control shells put jobs in groups of their own). In a
    /// sandbox the command runs in its own PID namespace whose init dies with the launcher
    /// (the group's first member), which kills all of it. A process that left the session
    /// (`setsid`) outside a sandbox is out of reach: that is what the sandbox is for.
    pub async fn kill_tree(&self) {
        if self.child.is_none() {
            return;
        }
        self.kill_group();
        let sid = self.pid;
        let _ = tokio::task::spawn_blocking(move || kill_session(sid)).await;
    }

    fn kill_group(&self) {
        if self.child.is_some() {
            // SAFETY: signals the group of our unreaped child, whose id cannot be reused.
            unsafe { libc::killpg(self.pid, libc::SIGKILL) };
        }
    }

    /// Collects the exited leader. Only after [`Leader::exited`]: it does not block then.
    pub fn reap(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

impl Drop for Leader {
    /// Left before the end (the task was cancelled): nothing of the command survives it, and
    /// the leader is still collected, off the runtime.
    fn drop(&mut self) {
        self.kill_group();
        if let Some(mut child) = self.child.take() {
            let sid = self.pid;
            let _ = std::thread::Builder::new()
                .name("command-exec-reaper".into())
                .spawn(move || {
                    kill_session(sid);
                    let _ = child.wait();
                });
        }
    }
}

fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: a fresh descriptor we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }
}

/// SIGKILLs every live process of session `sid` but its leader (the caller's unreaped child,
/// killed through its group), until none is left. Blocking: it reads /proc.
pub fn kill_session(sid: libc::pid_t) {
    for round in 0..10u64 {
        let mut signalled = false;
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<libc::pid_t>().ok())
            else {
                continue;
            };
            if pid == sid || !live_in_session(pid, sid) {
                continue;
            }
            // Pin the process, then check again: a pid freed and reused between the check
            // and the signal cannot be hit.
            match pidfd_open(pid) {
                Ok(fd) if live_in_session(pid, sid) => {
                    // SAFETY: signals the process the pidfd refers to.
                    unsafe {
                        libc::syscall(
                            libc::SYS_pidfd_send_signal,
                            fd.as_raw_fd(),
                            libc::SIGKILL,
                            std::ptr::null::<libc::siginfo_t>(),
                            0u32,
                        )
                    };
                    signalled = true;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    // SAFETY: plain kill (kernels without pidfds).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    signalled = true;
                }
                _ => {}
            }
        }
        if !signalled {
            return;
        }
        // Killed processes take a moment to become zombies.
        std::thread::sleep(Duration::from_millis(5 * (round + 1)));
    }
}

/// Whether `pid` is alive (not a zombie) and in session `sid`, from /proc/PID/stat.
fn live_in_session(pid: libc::pid_t, sid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state ppid pgrp session ...`; comm may hold spaces and parentheses.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    let state = fields.next().unwrap_or("Z");
    let session = fields.nth(2).and_then(|s| s.parse::<libc::pid_t>().ok());
    !matches!(state, "Z" | "X" | "x") && session == Some(sid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    fn env() -> Vec<(String, String)> {
        vec![("PATH".into(), "/usr/bin:/bin".into())]
    }

    async fn read_all(mut out: Output) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match out.read(&mut buf).await {
                Ok(0) | Err(_) => return all,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[tokio::test]
    async fn pipes_and_exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let s = spawn_piped(
            &sh("echo out; echo err >&2; exit 3"),
            dir.path(),
            &env(),
            false,
        )
        .unwrap();
        let mut leader = s.leader;
        assert_eq!(read_all(s.stdout.unwrap()).await, b"out\n");
        assert_eq!(read_all(s.stderr.unwrap()).await, b"err\n");
        assert_eq!(leader.exited().await, 3);
        // Still a zombie until reaped: peeking again gives the same answer.
        assert_eq!(leader.peek(), Some(3));
        leader.reap();
        assert_eq!(leader.peek(), None);
    }

    #[tokio::test]
    async fn killed_leader_reports_128_plus_signal() {
        let dir = tempfile::tempdir().unwrap();
        let s = spawn_piped(&sh("sleep 30"), dir.path(), &env(), false).unwrap();
        let mut leader = s.leader;
        leader.kill_tree().await;
        assert_eq!(leader.exited().await, 128 + libc::SIGKILL);
        leader.reap();
    }

    /// A background child that moves to a process group of its own (as a job-control shell
    /// puts a job), says so, and creates the file `{b}` a second later if still alive.
    const MOVE_TO_OWN_GROUP: &str =
        "perl -e '$| = 1; setpgrp(0, 0); print \"moved\\n\"; sleep 1; open(F, \">{b}\")' &";

    /// Reads `out` until `needle` has appeared.
    async fn wait_for(mut out: Output, needle: &str) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        let t = Instant::now();
        while !String::from_utf8_lossy(&seen).contains(needle) {
            assert!(t.elapsed() < Duration::from_secs(20), "{seen:?}");
            match out.read(&mut buf).await {
                Ok(0) | Err(_) => panic!("output ended before {needle:?}: {seen:?}"),
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[tokio::test]
    async fn kill_tree_takes_backgrounded_and_job_controlled_children() {
        let dir = tempfile::tempdir().unwrap();
        let same_group = dir.path().join("same-group");
        let own_group = dir.path().join("own-group");
        // One child in the group; one moved to a group of its own (as job control does), both
        // writing a file later if they survive.
        let script = format!(
            "(sleep 1; touch {a}) & {MOVE_TO_OWN_GROUP} sleep 30",
            a = same_group.display(),
        )
        .replace("{b}", &own_group.display().to_string());
        let s = spawn_piped(&sh(&script), dir.path(), &env(), false).unwrap();
        wait_for(s.stdout.unwrap(), "moved").await;
        let mut leader = s.leader;
        leader.kill_tree().await;
        leader.exited().await;
        leader.reap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!same_group.exists(), "a backgrounded child survived");
        assert!(
            !own_group.exists(),
            "a child in its own process group survived"
        );
    }

    #[tokio::test]
    async fn a_group_kill_alone_misses_job_controlled_children() {
        // Why the session sweep: a child a job-control shell moved to a group of its own
        // survives the group kill.
        let dir = tempfile::tempdir().unwrap();
        let own_group = dir.path().join("own-group");
        let script = format!("{MOVE_TO_OWN_GROUP} sleep 30")
            .replace("{b}", &own_group.display().to_string());
        let s = spawn_piped(&sh(&script), dir.path(), &env(), false).unwrap();
        wait_for(s.stdout.unwrap(), "moved").await;
        let mut leader = s.leader;
        leader.kill_group();
        leader.exited().await;
        let sid = leader.pid;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(own_group.exists(), "control: the child left the group");
        // Clean up what the test left running.
        kill_session(sid);
        leader.reap();
    }

    #[tokio::test]
    async fn without_the_kill_the_children_would_have_lived() {
        // The control for the test above: the same children, the leader not killed.
        let dir = tempfile::tempdir().unwrap();
        let same_group = dir.path().join("same-group");
        let script = format!(
            "(sleep 0.3; touch {a}) & echo started",
            a = same_group.display()
        );
        let s = spawn_piped(&sh(&script), dir.path(), &env(), false).unwrap();
        let mut leader = s.leader;
        assert_eq!(leader.exited().await, 0);
        leader.reap();
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(same_group.exists());
    }

    #[tokio::test]
    async fn a_terminal_reports_its_size_and_resizes() {
        let dir = tempfile::tempdir().unwrap();
        let pty = Arc::new(Pty::open(31, 101).unwrap());
        let s = spawn_on_pty(
            &sh("stty size; read x; stty size; [ -t 0 ] && echo tty"),
            dir.path(),
            &env(),
            &pty,
        )
        .unwrap();
        let mut out = s.stdout.unwrap();
        let mut input = s.stdin.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        let t = Instant::now();
        while !String::from_utf8_lossy(&seen).contains("31 101") {
            assert!(t.elapsed() < Duration::from_secs(10), "{seen:?}");
            let n = out.read(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
        }
        pty.resize(45, 132).unwrap();
        input.write_all(b"go\n").await.unwrap();
        let rest = read_all(out).await;
        let text = String::from_utf8_lossy(&rest).replace('\r', "");
        assert!(text.contains("45 132\ntty\n"), "{text:?}");
        let mut leader = s.leader;
        assert_eq!(leader.exited().await, 0);
        leader.reap();
    }

    #[tokio::test]
    async fn closing_terminal_input_sends_end_of_file() {
        let dir = tempfile::tempdir().unwrap();
        let pty = Arc::new(Pty::open(24, 80).unwrap());
        let s = spawn_on_pty(&sh("stty -echo; cat; echo done"), dir.path(), &env(), &pty).unwrap();
        let mut input = s.stdin.unwrap();
        input.write_all(b"abc\n").await.unwrap();
        input.close().await.unwrap();
        let text = String::from_utf8_lossy(&read_all(s.stdout.unwrap()).await).replace('\r', "");
        assert!(text.ends_with("abc\ndone\n"), "{text:?}");
        let mut leader = s.leader;
        assert_eq!(leader.exited().await, 0);
        leader.reap();
    }

    #[tokio::test]
    async fn dropping_the_leader_kills_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let script = format!("sleep 0.5; touch {}", marker.display());
        let s = spawn_piped(&sh(&script), dir.path(), &env(), false).unwrap();
        drop(s);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(!marker.exists());
    }

    #[test]
    fn stat_parsing_copes_with_odd_names() {
        // Our own process: alive, in our own session.
        let me = std::process::id() as libc::pid_t;
        // SAFETY: getsid(0) has no preconditions.
        let sid = unsafe { libc::getsid(0) };
        assert!(live_in_session(me, sid));
        assert!(!live_in_session(me, sid + 1));
        assert!(!live_in_session(-1, sid));
    }
}
