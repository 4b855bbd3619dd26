//! Compaction of a thread's history near the context limit, between the `PreCompact` and
//! `PostCompact` hooks.

use super::*;

impl Thread {
    /// Replaces the history by the pinned layers, recent user messages and a summary written
    /// by the model. Never fails the turn: if summarising does not work, the history is
    /// reduced deterministically instead. Only an interrupt stops it.
    pub(super) async fn compact(
        &mut self,
        events: &UnboundedSender<Event>,
        cancel: &CancellationToken,
        turn_id: &str,
        manual: bool,
    ) -> Result<(), TurnOutcome> {
        let hooks = self.thread_hooks(events).await;
        if let Some(hooks) = &hooks {
            hooks
                .compact(wright_hooks::HookEvent::PreCompact, turn_id, manual, events)
                .await;
        }
        let compacted = self.compact_history(events, cancel).await;
        if let (Some(hooks), Ok(())) = (&hooks, &compacted) {
            hooks
                .compact(
                    wright_hooks::HookEvent::PostCompact,
                    turn_id,
                    manual,
                    events,
                )
                .await;
        }
        compacted
    }

    async fn compact_history(
        &mut self,
        events: &UnboundedSender<Event>,
        cancel: &CancellationToken,
    ) -> Result<(), TurnOutcome> {
        let mut input = self.history.clone();
        let prompt_text = self
            .config
            .compact_prompt
            .clone()
            .unwrap_or_else(|| compact::COMPACT_PROMPT.to_string());
        input.push(compact::user_text_message(prompt_text));
        // Same instructions, tools and prefix as every other request: the cache still hits.
        let prompt = self.prompt(input, None);
        let summary = self.summarise(&prompt, cancel).await?;
        let mut prefix = self.history[..self.pinned].to_vec();
        prefix.extend(self.settings_updates.iter().cloned());
        let conversation = &self.history[self.pinned..];
        let target = self.compact_limit / 2;
        let rebuilt = summary.map(|s| {
            compact::rebuild(
                &prefix,
                conversation,
                &s,
                self.compact_limit / USER_MESSAGE_SHARE,
            )
        });
        self.history = match rebuilt {
            Some(history) if estimate_tokens(&history) <= self.compact_limit => history,
            _ => {
                let mut history = std::mem::take(&mut self.history);
                compact::reduce(&mut history, self.pinned, target);
                history
            }
        };
        self.context_tokens = estimate_tokens(&self.history);
        let _ = events.send(Event::HistoryReplaced(self.history.clone()));
        let _ = events.send(Event::ContextCompacted {
            id: format!("compaction_{}", uuid::Uuid::now_v7()),
        });
        Ok(())
    }

    /// The model's summary of the history, or `None` when it could not give one.
    async fn summarise(
        &mut self,
        prompt: &Prompt,
        cancel: &CancellationToken,
    ) -> Result<Option<String>, TurnOutcome> {
        let opened = tokio::select! {
            opened = self.client.stream(prompt, |_| {}) => opened,
            _ = cancel.cancelled() => return Err(TurnOutcome::Interrupted),
        };
        let Ok(mut stream) = opened else {
            return Ok(None);
        };
        let mut text = String::new();
        let mut received = Vec::new();
        loop {
            let next = tokio::select! {
                next = stream.next() => next,
                _ = cancel.cancelled() => return Err(TurnOutcome::Interrupted),
            };
            match next {
                Some(Ok(ResponseEvent::OutputItemDone(item))) => {
                    match crate::tools::classify(&item) {
                        Dispatch::Message { text: t, .. } => text.push_str(&t),
                        // A tool call instead of a summary: not usable.
                        Dispatch::Call(_) => return Ok(None),
                        _ => {}
                    }
                    received.push(item);
                }
                Some(Ok(ResponseEvent::Completed { usage })) => {
                    let usage = usage_or_estimate(usage, &prompt.input, &received);
                    self.add_usage(&usage);
                    return Ok((!text.trim().is_empty()).then_some(text));
                }
                Some(Ok(
                    ResponseEvent::OutputTextDelta { .. }
                    | ResponseEvent::ReasoningSummaryDelta { .. },
                )) => {}
                Some(Err(_)) | None => return Ok(None),
            }
        }
    }
}
