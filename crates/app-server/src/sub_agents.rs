//! The App Server as the host of sub-agents: a spawned agent is a thread like any other
//! (stored, listed by `thread/list` with its `subAgent` source, followed by whoever follows
//! its parent), and its turns run as any turn does. The engine decides everything else.

use std::sync::{Arc, Weak};

use wright_core::sub_agents::{AgentHost, ChildThread, HostFuture};
use wright_core::{Thread, TurnInput};
use wright_protocol::v2::{
    self, ServerNotification, SessionSource, ThreadStartedNotification, TurnStartParams, UserInput,
};

use crate::state::State;
use crate::turns::{start_turn, turn_start, TurnExtras};
use crate::wire::{self, ThreadInfo};

/// How sub-agent threads are stored: their source as Codex's JSON (`{"subAgent": …}`), so
/// it comes back whole (the store keeps a source as text).
pub(crate) fn stored_source(source: &v2::SubAgentSource) -> String {
    serde_json::to_string(&SessionSource::SubAgent(source.clone())).unwrap_or_default()
}

/// How deep a thread of this stored source is (0: one a user started).
pub(crate) fn depth_of(source: &str) -> i32 {
    match wire::session_source(source) {
        SessionSource::SubAgent(v2::SubAgentSource::ThreadSpawn { depth, .. }) => depth.max(0),
        _ => 0,
    }
}

/// The engine's view of the server, held weakly: the server owns the agents, not the other
/// way round.
pub(crate) struct Host {
    pub state: Weak<State>,
}

impl Host {
    fn state(&self) -> Result<Arc<State>, String> {
        self.state
            .upgrade()
            .ok_or_else(|| "the server is shutting down".to_string())
    }
}

impl AgentHost for Host {
    fn start(&self, thread: Thread, child: ChildThread) -> HostFuture<Result<(), String>> {
        let state = self.state();
        Box::pin(async move { start(state?, thread, child).await })
    }

    fn send_input(&self, thread_id: String, text: String) -> HostFuture<Result<(), String>> {
        let state = self.state();
        Box::pin(async move {
            let state = state?;
            let loaded = state
                .loaded(&thread_id)
                .ok_or_else(|| format!("agent with id {thread_id} is closed"))?;
            let owner = loaded
                .subscribers
                .lock()
                .ok()
                .and_then(|s| s.first().cloned())
                .ok_or_else(|| format!("nobody follows agent {thread_id}"))?;
            // As for a client: a new turn when idle, added to the running turn otherwise.
            let params = TurnStartParams {
                thread_id,
                input: vec![UserInput::text(text)],
                ..Default::default()
            };
            turn_start(&state, &owner, params)
                .await
                .map(|_| ())
                .map_err(|e| e.message)
        })
    }

    fn interrupt(&self, thread_id: &str) {
        let Some(loaded) = self.state.upgrade().and_then(|s| s.loaded(thread_id)) else {
            return;
        };
        let active = loaded.active.lock();
        if let Ok(Some(turn)) = active.as_deref() {
            turn.cancel.cancel();
        }
    }

    fn close(&self, thread_id: &str) {
        let Some(state) = self.state.upgrade() else {
            return;
        };
        // Unloaded: it stays stored (thread/list, thread/read); its turn, if any, was
        // interrupted first and ends on its own.
        let threads = state.threads.lock();
        if let Ok(mut threads) = threads {
            threads.remove(thread_id);
        }
    }
}

async fn start(state: Arc<State>, thread: Thread, child: ChildThread) -> Result<(), String> {
    let parent = state
        .loaded(&child.parent_thread_id)
        .ok_or_else(|| format!("thread {} is not loaded", child.parent_thread_id))?;
    let followers = parent
        .subscribers
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    let owner = followers
        .first()
        .cloned()
        .ok_or_else(|| "nobody follows the parent thread".to_string())?;
    let parent_info = parent.info();
    let info = ThreadInfo::new(
        thread.id(),
        thread.config(),
        stored_source(&child.source),
        parent_info.ephemeral,
    );
    let reviewer = parent.reviewer();
    let loaded = state.start_thread(thread, info, reviewer);
    let started = ServerNotification::ThreadStarted(ThreadStartedNotification {
        thread: loaded.view(Vec::new()),
    });
    for conn in &followers {
        loaded.subscribe(conn);
        conn.notify(&started);
    }
    let input = TurnInput {
        text: child.prompt.clone(),
        ..Default::default()
    };
    let user_item = wire::user_message(
        &uuid::Uuid::now_v7().to_string(),
        vec![UserInput::text(child.prompt)],
    );
    let extras = TurnExtras {
        user_item: Some(user_item),
        ..Default::default()
    };
    start_turn(&state, &owner, loaded, input, extras)
        .map(|_| ())
        .map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_agent_source_comes_back_whole() {
        let source = v2::SubAgentSource::ThreadSpawn {
            parent_thread_id: "p".into(),
            depth: 2,
            agent_path: None,
            agent_nickname: None,
            agent_role: Some("worker".into()),
        };
        let stored = stored_source(&source);
        assert_eq!(
            wire::session_source(&stored),
            SessionSource::SubAgent(source)
        );
        assert_eq!(depth_of(&stored), 2);
        assert_eq!(depth_of("vscode"), 0);
        assert_eq!(depth_of("{not json"), 0);
    }
}
