//! The thread's hooks: loaded at its first turn (which also runs `SessionStart`), and
//! `SessionEnd` when its last client leaves.

use super::*;

impl Thread {
    /// The session is over (its last client left): its commands are stopped and the
    /// `SessionEnd` hooks run.
    pub async fn end_session(&mut self) {
        self.exec_sessions.kill_all();
        let Some(Some(hooks)) = &self.hooks else {
            return;
        };
        let hooks = Arc::clone(hooks);
        if !hooks.any(wright_hooks::HookEvent::SessionEnd) {
            return;
        }
        // Nobody listens for the runs' events any more.
        let (events, _) = tokio::sync::mpsc::unbounded_channel();
        let input = wright_hooks::payload::session_end(
            &hooks.session,
            wright_hooks::payload::SessionEndReason::Other,
        );
        hooks
            .run(wright_hooks::HookEvent::SessionEnd, None, input, &events)
            .await;
    }

    /// The thread's hooks, loaded once; the first turn of this thread object also runs
    /// `SessionStart` (`resume` when the thread has history), whose context joins the
    /// conversation.
    pub(super) async fn thread_hooks(
        &mut self,
        events: &UnboundedSender<Event>,
    ) -> Option<Arc<crate::hooks::ThreadHooks>> {
        if let Some(hooks) = &self.hooks {
            return hooks.clone();
        }
        let hooks = crate::hooks::ThreadHooks::for_thread(&self.id, &self.config).await;
        self.hooks = Some(hooks.clone());
        if let Some(hooks) = &hooks {
            let resumed = self.history.len() > self.pinned;
            let decision = hooks.session_start(resumed, events).await;
            if let Some(message) = crate::hooks::context_message(&decision) {
                self.append(events, vec![message]);
            }
        }
        hooks
    }
}
