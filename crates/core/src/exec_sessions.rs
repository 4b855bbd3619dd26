//! The model's command sessions of one thread (Codex's unified exec): commands started by
//! `exec_command` that were still running when the call returned, kept so `write_stdin` can
//! type into them or poll them, and listed for clients (`thread/backgroundTerminals/*`).
//!
//! A thread holds at most [`MAX_SESSIONS`]; starting one more closes the least recently used
//! (a finished one first) and the model is told. Every session dies with its thread, and on
//! interrupt, with every process it started.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::mpsc::{UnboundedSender, WeakUnboundedSender};
use tokio::sync::watch;
use wright_protocol::{CommandStatus, Event};
use wright_tools::exec_session::LiveProcess;

/// The most sessions a thread keeps alive.
pub const MAX_SESSIONS: usize = 32;

/// A command session the model can come back to.
pub(crate) struct Session {
    pub id: u32,
    /// The command item this session belongs to (the `exec_command` call's id).
    pub item_id: String,
    /// What the model asked for, as the item shows it.
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub process: LiveProcess,
    pub started: Instant,
    /// Where the session's events go: the turn that last used it. Weak: a turn's event stream
    /// ends when its engine is done with it, not when its sessions are.
    sink: Mutex<WeakUnboundedSender<Event>>,
    last_used: Mutex<Instant>,
    /// The command's item has been completed (by whoever saw the exit first).
    completed: AtomicBool,
    /// Its end is not reported (yet): the call that started it may run it again (`on-failure`)
    /// under the same item.
    quiet: AtomicBool,
    reported: watch::Sender<bool>,
}

impl Session {
    pub fn new(
        id: u32,
        item_id: String,
        argv: Vec<String>,
        cwd: PathBuf,
        process: LiveProcess,
        events: UnboundedSender<Event>,
    ) -> Session {
        Session {
            id,
            item_id,
            argv,
            cwd,
            process,
            started: Instant::now(),
            sink: Mutex::new(events.downgrade()),
            last_used: Mutex::new(Instant::now()),
            completed: AtomicBool::new(false),
            quiet: AtomicBool::new(false),
            reported: watch::channel(false).0,
        }
    }

    /// Sends an event to the turn that last used the session; false if that turn is over.
    pub fn emit(&self, event: Event) -> bool {
        let sink = self.sink.lock().ok().and_then(|s| s.upgrade());
        sink.is_some_and(|s| s.send(event).is_ok())
    }

    /// From now on the session's events go to `events` (the turn now using it).
    pub fn follow(&self, events: &UnboundedSender<Event>) {
        if let Ok(mut sink) = self.sink.lock() {
            *sink = events.downgrade();
        }
        self.touch();
    }

    /// Holds back (or lets through again) the report of the command's end.
    pub fn set_quiet(&self, quiet: bool) {
        self.quiet.store(quiet, Ordering::Release);
    }

    fn touch(&self) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
    }

    fn last_used(&self) -> Instant {
        self.last_used.lock().map(|t| *t).unwrap_or(self.started)
    }

    /// Completes the command's item once: the first to see the exit reports it, and everyone
    /// else waits until it has, so a tool result never overtakes its item's completion. When
    /// no turn is listening, the item stays open for the next turn that polls the session.
    pub async fn complete(&self, exit_code: i32) {
        if self.quiet.load(Ordering::Acquire) {
            return;
        }
        loop {
            // Watching before claiming: a claimer that fails is seen, however quick.
            let mut reported = self.reported.subscribe();
            if *reported.borrow_and_update() {
                return;
            }
            if !self.completed.swap(true, Ordering::AcqRel) {
                if self.report(exit_code) {
                    self.reported.send_replace(true);
                } else {
                    self.completed.store(false, Ordering::Release);
                    self.reported.send_modify(|_| {});
                }
                return;
            }
            if reported.changed().await.is_err() {
                return;
            }
        }
    }

    fn report(&self, exit_code: i32) -> bool {
        let status = if exit_code == 0 {
            CommandStatus::Completed
        } else {
            CommandStatus::Failed
        };
        let output = String::from_utf8_lossy(&self.process.aggregated()).into_owned();
        self.emit(Event::ItemCompleted(crate::command_tool::command_item(
            &self.item_id,
            &self.argv,
            &self.cwd,
            output,
            Some(exit_code),
            status,
            Some(self.started.elapsed()),
            Some(self.id.to_string()),
        )))
    }
}

/// A running session as clients list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackgroundTerminal {
    pub item_id: String,
    pub process_id: String,
    pub command: String,
    pub cwd: String,
    pub os_pid: u32,
}

#[derive(Default)]
struct Inner {
    live: HashMap<u32, Arc<Session>>,
    /// Ids handed out for commands not started yet (their items already carry them).
    reserved: HashSet<u32>,
}

/// One thread's sessions.
#[derive(Default)]
pub struct ExecSessions {
    inner: Mutex<Inner>,
}

impl ExecSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh session id (random, as Codex's are, so one thread's ids say nothing about
    /// another's), reserved until [`ExecSessions::insert`] or [`ExecSessions::release`].
    pub(crate) fn reserve(&self) -> u32 {
        let mut inner = self.lock();
        let mut rng = rand::rng();
        loop {
            let id = rng.random_range(1_000..100_000);
            if !inner.live.contains_key(&id) && inner.reserved.insert(id) {
                return id;
            }
        }
    }

    pub(crate) fn release(&self, id: u32) {
        self.lock().reserved.remove(&id);
    }

    /// Keeps `session`; when the thread is at its limit, closes the least recently used
    /// sessions (finished ones first) and says which, for the model.
    pub(crate) fn insert(&self, session: Arc<Session>) -> Vec<String> {
        let mut closed = Vec::new();
        let mut inner = self.lock();
        inner.reserved.remove(&session.id);
        while inner.live.len() >= MAX_SESSIONS {
            let oldest = inner
                .live
                .values()
                .min_by_key(|s| (s.process.exit_code().is_none(), s.last_used()))
                .map(|s| s.id);
            let Some(id) = oldest else { break };
            if let Some(old) = inner.live.remove(&id) {
                old.process.kill();
                closed.push(format!(
                    "Warning: closed session {id} (`{}`) to stay within {MAX_SESSIONS} open sessions.",
                    wright_tools::shell::display_command(&old.argv)
                ));
            }
        }
        inner.live.insert(session.id, session);
        closed
    }

    pub(crate) fn get(&self, id: u32) -> Option<Arc<Session>> {
        let session = self.lock().live.get(&id).cloned();
        if let Some(s) = &session {
            s.touch();
        }
        session
    }

    pub(crate) fn remove(&self, id: u32) -> Option<Arc<Session>> {
        self.lock().live.remove(&id)
    }

    /// Kills every session (an interrupt, or the thread closing).
    pub fn kill_all(&self) {
        let all: Vec<_> = self.lock().live.drain().map(|(_, s)| s).collect();
        for session in all {
            session.process.kill();
        }
    }

    /// The sessions whose command is still running, oldest first.
    pub fn list(&self) -> Vec<BackgroundTerminal> {
        let mut running: Vec<_> = self
            .lock()
            .live
            .values()
            .filter(|s| s.process.exit_code().is_none())
            .cloned()
            .collect();
        running.sort_by_key(|s| s.started);
        running
            .iter()
            .map(|s| BackgroundTerminal {
                item_id: s.item_id.clone(),
                process_id: s.id.to_string(),
                command: wright_tools::shell::display_command(&s.argv),
                cwd: s.cwd.display().to_string(),
                os_pid: s.process.pid(),
            })
            .collect()
    }

    /// Kills one session; whether it was running.
    pub async fn terminate(&self, process_id: &str) -> bool {
        let Some(session) = process_id
            .parse::<u32>()
            .ok()
            .and_then(|id| self.remove(id))
        else {
            return false;
        };
        let running = session.process.exit_code().is_none();
        session.process.terminate().await;
        running
    }

    /// How many sessions are open (running or finished but not yet read).
    pub fn len(&self) -> usize {
        self.lock().live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for ExecSessions {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Watches a session's command: completes its item when it exits (whoever is listening), and
/// kills it at `limit` when the model gave one.
pub(crate) fn watch_exit(session: Arc<Session>, limit: Option<Duration>) {
    tokio::spawn(async move {
        let code = match limit {
            Some(limit) => match tokio::time::timeout(limit, session.process.exited()).await {
                Ok(code) => code,
                Err(_) => session.process.terminate().await,
            },
            None => session.process.exited().await,
        };
        session.complete(code).await;
    });
}

/// Gives a reserved session id back unless its session was kept (the call was refused, or
/// its command never started).
pub(crate) struct Reserved<'a> {
    sessions: &'a ExecSessions,
    id: Option<u32>,
}

impl<'a> Reserved<'a> {
    pub fn new(sessions: &'a ExecSessions, id: Option<u32>) -> Self {
        Reserved { sessions, id }
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.sessions.release(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wright_tools::exec_session::LaunchSpec;

    fn session(sessions: &ExecSessions, script: &str) -> Arc<Session> {
        let id = sessions.reserve();
        let spec = LaunchSpec {
            argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            tty: false,
        };
        let process = LiveProcess::spawn(&spec, Box::new(|_| {})).unwrap();
        let (events, _) = tokio::sync::mpsc::unbounded_channel();
        Arc::new(Session::new(
            id,
            format!("call_{id}"),
            vec!["sh".into(), "-c".into(), script.into()],
            std::env::temp_dir(),
            process,
            events,
        ))
    }

    #[tokio::test]
    async fn at_the_limit_the_least_recently_used_goes_and_the_model_is_told() {
        let sessions = ExecSessions::default();
        let first = session(&sessions, "sleep 30");
        assert!(sessions.insert(Arc::clone(&first)).is_empty());
        let mut rest = Vec::new();
        for _ in 1..MAX_SESSIONS {
            let s = session(&sessions, "sleep 30");
            assert!(sessions.insert(Arc::clone(&s)).is_empty());
            rest.push(s);
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
        // The first is used again: the second is now the least recently used.
        assert!(sessions.get(first.id).is_some());
        let one_more = session(&sessions, "sleep 30");
        let told = sessions.insert(Arc::clone(&one_more));
        assert_eq!(sessions.len(), MAX_SESSIONS);
        assert_eq!(told.len(), 1, "{told:?}");
        let closed = &rest[0];
        assert!(
            told[0].contains(&format!("closed session {}", closed.id)),
            "{told:?}"
        );
        assert!(sessions.get(closed.id).is_none());
        assert!(sessions.get(first.id).is_some());
        // The closed one's process is gone.
        assert_eq!(closed.process.exited().await, 128 + libc::SIGKILL);
        // A finished session goes before any running one.
        let finished = session(&sessions, "true");
        finished.process.exited().await;
        sessions.remove(one_more.id);
        assert!(sessions.insert(Arc::clone(&finished)).is_empty());
        let again = session(&sessions, "sleep 30");
        let told = sessions.insert(again);
        assert!(
            told[0].contains(&format!("closed session {}", finished.id)),
            "{told:?}"
        );
        sessions.kill_all();
        assert!(sessions.is_empty());
        assert_eq!(first.process.exited().await, 128 + libc::SIGKILL);
    }
}
