//! The agents of a host: who spawned whom, each one's status, and the limits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::watch;

use super::worktree::Worktree;
use super::{AgentError, AgentHost, AgentLimits, AgentStatus};
use crate::TurnOutcome;

/// Where an agent works.
#[derive(Debug, Clone)]
pub(crate) enum Workspace {
    /// Its own checkout; its only writable root.
    Worktree(Worktree),
    /// The parent's working directory, read-only; `why` is told to the model.
    Shared { why: String },
}

/// One spawned agent.
pub(crate) struct Entry {
    pub id: String,
    pub parent: String,
    /// The first thread of the tree (the one the user talks to).
    pub root: String,
    pub depth: i32,
    pub status: watch::Sender<AgentStatus>,
    /// The last task it was given (its prompt, then each `send_input`).
    pub last_task: Mutex<Option<String>>,
    pub workspace: OnceLock<Workspace>,
    /// Spawned and not closed: it counts toward `max_threads`.
    pub open: AtomicBool,
}

impl Entry {
    pub fn status(&self) -> AgentStatus {
        self.status.borrow().clone()
    }

    pub fn set_status(&self, status: AgentStatus) {
        self.status.send_replace(status);
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    pub fn last_task(&self) -> Option<String> {
        self.last_task.lock().ok().and_then(|t| t.clone())
    }

    pub fn set_last_task(&self, task: &str) {
        if let Ok(mut t) = self.last_task.lock() {
            *t = Some(task.to_string());
        }
    }
}

/// The agents of one host, across all its thread trees. The host makes one and hands each of
/// its threads an [`AgentHandle`].
pub struct AgentControl {
    pub(crate) host: Arc<dyn AgentHost>,
    limits: AgentLimits,
    /// `$WRIGHT_HOME`: worktrees go under `worktrees/`.
    home: PathBuf,
    agents: Mutex<HashMap<String, Arc<Entry>>>,
}

/// What a thread knows of the agents: the control, and how deep the thread is (0 for a
/// thread the user started).
#[derive(Clone)]
pub struct AgentHandle {
    pub(crate) control: Arc<AgentControl>,
    pub(crate) depth: i32,
}

impl AgentHandle {
    /// How deep this thread is in its tree.
    pub fn depth(&self) -> i32 {
        self.depth
    }

    /// Whether the thread offers the multi-agent tools (they are enabled and it is above the
    /// depth limit).
    pub fn offers_tools(&self) -> bool {
        self.control.limits.enabled && self.depth < self.control.limits.max_depth
    }

    pub fn limits(&self) -> AgentLimits {
        self.control.limits
    }
}

impl AgentControl {
    pub fn new(host: Arc<dyn AgentHost>, limits: AgentLimits, home: PathBuf) -> Arc<Self> {
        Arc::new(AgentControl {
            host,
            limits,
            home,
            agents: Mutex::new(HashMap::new()),
        })
    }

    /// The handle for a thread at `depth` (0: one the user started).
    pub fn handle(self: &Arc<Self>, depth: i32) -> AgentHandle {
        AgentHandle {
            control: Arc::clone(self),
            depth,
        }
    }

    pub fn limits(&self) -> AgentLimits {
        self.limits
    }

    /// Where the worktree of agent `id` goes.
    pub(crate) fn worktree_dir(&self, id: &str) -> PathBuf {
        self.home.join("worktrees").join(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Entry>>> {
        self.agents.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Entry>> {
        self.lock().get(id).cloned()
    }

    /// The tree `thread_id` belongs to (its own id for a thread the user started).
    pub(crate) fn root_of(&self, thread_id: &str) -> String {
        self.get(thread_id)
            .map(|e| e.root.clone())
            .unwrap_or_else(|| thread_id.to_string())
    }

    /// Takes a place for a new agent under `parent`, or says why there is none. The check
    /// and the insert happen under one lock, so agents spawned side by side cannot both take
    /// the last place.
    pub(crate) fn reserve(
        &self,
        id: &str,
        parent: &str,
        depth: i32,
    ) -> Result<Arc<Entry>, AgentError> {
        if depth > self.limits.max_depth {
            return Err(AgentError::DepthLimit);
        }
        let mut agents = self.lock();
        let root = agents
            .get(parent)
            .map(|e| e.root.clone())
            .unwrap_or_else(|| parent.to_string());
        let open = agents
            .values()
            .filter(|e| e.root == root && e.is_open())
            .count();
        if open >= self.limits.max_threads {
            return Err(AgentError::ThreadLimit {
                max_threads: self.limits.max_threads,
            });
        }
        let entry = Arc::new(Entry {
            id: id.to_string(),
            parent: parent.to_string(),
            root,
            depth,
            status: watch::channel(AgentStatus::PendingInit).0,
            last_task: Mutex::new(None),
            workspace: OnceLock::new(),
            open: AtomicBool::new(true),
        });
        agents.insert(id.to_string(), Arc::clone(&entry));
        Ok(entry)
    }

    /// Forgets an agent whose spawn failed (its place is free again).
    pub(crate) fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The open agents of a tree, oldest first (ids are time-ordered UUIDv7s).
    pub(crate) fn open_in_tree(&self, root: &str) -> Vec<Arc<Entry>> {
        let mut open: Vec<Arc<Entry>> = self
            .lock()
            .values()
            .filter(|e| e.root == root && e.is_open())
            .cloned()
            .collect();
        open.sort_by(|a, b| a.id.cmp(&b.id));
        open
    }

    /// The open agents `parent` spawned.
    pub(crate) fn children(&self, parent: &str) -> Vec<Arc<Entry>> {
        self.lock()
            .values()
            .filter(|e| e.parent == parent && e.is_open())
            .cloned()
            .collect()
    }

    /// A thread's turn began (a no-op for threads that are not agents).
    pub fn turn_started(&self, thread_id: &str) {
        if let Some(entry) = self.get(thread_id).filter(|e| e.is_open()) {
            entry.set_status(AgentStatus::Running);
        }
    }

    /// A thread's turn ended: an agent's status becomes its outcome; waiters wake.
    pub fn turn_ended(&self, thread_id: &str, outcome: &TurnOutcome) {
        let Some(entry) = self.get(thread_id).filter(|e| e.is_open()) else {
            return;
        };
        entry.set_status(match outcome {
            TurnOutcome::Completed { last_message } => AgentStatus::Completed(last_message.clone()),
            TurnOutcome::Failed { message } => AgentStatus::Errored(message.clone()),
            TurnOutcome::Interrupted => AgentStatus::Interrupted,
        });
    }

    /// Interrupts the running agents `thread_id` spawned (its own turn was interrupted); each
    /// one's interrupted turn passes it on to its own agents.
    pub fn interrupt_children(&self, thread_id: &str) {
        for child in self.children(thread_id) {
            if !child.status().is_final() {
                self.host.interrupt(&child.id);
            }
        }
    }

    /// Closes an agent and its open descendants, deepest first; returns the ones closed.
    pub(crate) fn close_tree(&self, id: &str) -> Vec<Arc<Entry>> {
        let mut closed = Vec::new();
        for child in self.children(id) {
            closed.extend(self.close_tree(&child.id));
        }
        if let Some(entry) = self.get(id) {
            if entry.open.swap(false, Ordering::AcqRel) {
                self.host.interrupt(id);
                self.host.close(id);
                entry.set_status(AgentStatus::Shutdown);
                closed.push(entry);
            }
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sub_agents::{ChildThread, HostFuture};

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl AgentHost for Recorder {
        fn start(&self, _: crate::Thread, _: ChildThread) -> HostFuture<Result<(), String>> {
            Box::pin(async { Ok(()) })
        }
        fn send_input(&self, _: String, _: String) -> HostFuture<Result<(), String>> {
            Box::pin(async { Ok(()) })
        }
        fn interrupt(&self, id: &str) {
            self.0.lock().unwrap().push(format!("interrupt {id}"));
        }
        fn close(&self, id: &str) {
            self.0.lock().unwrap().push(format!("close {id}"));
        }
    }

    fn control(max_threads: usize, max_depth: i32) -> (Arc<AgentControl>, Arc<Recorder>) {
        let host = Arc::new(Recorder::default());
        let limits = AgentLimits {
            max_threads,
            max_depth,
            enabled: true,
        };
        let control = AgentControl::new(host.clone(), limits, PathBuf::from("/nowhere"));
        (control, host)
    }

    #[test]
    fn the_cap_counts_open_agents_of_one_tree_and_frees_on_close() {
        let (control, _) = control(2, 2);
        control.reserve("a", "root", 1).unwrap();
        control.reserve("b", "a", 2).unwrap();
        assert_eq!(control.get("b").unwrap().root, "root");
        let err = control.reserve("c", "root", 1).err().unwrap();
        assert!(
            err.to_string()
                .contains("agent thread limit reached (max 2)"),
            "{err}"
        );
        // Another tree has its own places.
        control.reserve("x", "other", 1).unwrap();
        // Closing `a` closes `b` too, deepest first.
        let closed: Vec<String> = control
            .close_tree("a")
            .iter()
            .map(|e| e.id.clone())
            .collect();
        assert_eq!(closed, ["b", "a"]);
        assert_eq!(control.get("a").unwrap().status(), AgentStatus::Shutdown);
        control.reserve("c", "root", 1).unwrap();
    }

    #[test]
    fn depth_past_the_limit_is_refused() {
        let (control, _) = control(6, 1);
        let err = control.reserve("a", "root", 2).err().unwrap();
        assert_eq!(
            err.to_string(),
            "Agent depth limit reached. Solve the task yourself."
        );
        assert!(!control.handle(1).offers_tools());
        assert!(control.handle(0).offers_tools());
    }

    #[test]
    fn turn_ends_set_statuses_and_interrupts_reach_running_children() {
        let (control, host) = control(6, 2);
        control.reserve("a", "root", 1).unwrap();
        control.reserve("b", "root", 1).unwrap();
        control.turn_started("a");
        control.turn_started("b");
        control.turn_ended(
            "b",
            &TurnOutcome::Completed {
                last_message: Some("done".into()),
            },
        );
        assert_eq!(
            control.get("b").unwrap().status(),
            AgentStatus::Completed(Some("done".into()))
        );
        control.interrupt_children("root");
        assert_eq!(*host.0.lock().unwrap(), ["interrupt a"]);
        control.turn_ended("a", &TurnOutcome::Interrupted);
        assert_eq!(control.get("a").unwrap().status(), AgentStatus::Interrupted);
        // Threads that are not agents are left alone.
        control.turn_started("root");
    }
}
