//! Sampling: one model request after another until the model answers without a tool call,
//! with the calls of each response run as they stream in, and the usage accounted.

use super::*;

impl Thread {
    pub(super) fn add_usage(&mut self, usage: &TokenUsage) {
        self.usage.add(usage);
        self.turn_usage.add(usage);
    }

    /// Accounts one finished response: server usage, or an estimate when there is none.
    pub(super) fn record_response(
        &mut self,
        usage: Option<TokenUsage>,
        sent: &[Value],
        received: &[Value],
        events: &UnboundedSender<Event>,
    ) {
        let usage = usage_or_estimate(usage, sent, received);
        self.context_tokens = usage.input_tokens + usage.output_tokens;
        self.add_usage(&usage);
        let _ = events.send(Event::UsageUpdated {
            total: self.usage,
            last: usage,
            context_window: self.context_window,
        });
    }

    pub(super) async fn sample_until_done(
        &mut self,
        input: &TurnInput,
        ctx: &Arc<ToolContext>,
        events: &UnboundedSender<Event>,
        cancel: &CancellationToken,
        hooks: Option<&crate::hooks::ThreadHooks>,
        turn_id: &str,
    ) -> TurnOutcome {
        let emit = |e: Event| {
            let _ = events.send(e);
        };
        let max_stream_retries = self.config.provider.stream_max_retries;
        let mut stream_retries = 0;
        let mut overflows = 0;
        let mut last_message = None;
        // A `Stop` hook sent the model back to work this turn (its payload says so).
        let mut stop_hook_active = false;
        let mut stop_continuations = 0;
        loop {
            let steered = self.steer.take();
            self.append(events, steered);
            if self.context_tokens >= self.compact_limit {
                if let Err(outcome) = self.compact(events, cancel, turn_id, false).await {
                    return outcome;
                }
            }
            self.refresh_mcp(events);
            let prompt = self.prompt(self.history.clone(), input.output_schema.clone());
            let round = self.sample_once(&prompt, ctx, events, cancel).await;
            let (received, outputs, ended) = match round {
                Ok(round) => round,
                Err(outcome) => return outcome,
            };
            for item in &received {
                if let Dispatch::Message { text, .. } = crate::tools::classify(item) {
                    last_message = Some(text);
                }
            }
            // Input steered in while the model worked needs an answer too.
            let had_calls = !outputs.is_empty() || self.steer.has_pending();
            // The model's items as received, then one output per call in call order.
            let mut round = received;
            round.extend(outputs);
            self.append(events, round);

            match ended {
                Ok(()) => {
                    stream_retries = 0;
                    if !had_calls {
                        let Some(hooks) = hooks else {
                            return TurnOutcome::Completed { last_message };
                        };
                        let decision = hooks
                            .stop(turn_id, stop_hook_active, last_message.as_deref(), events)
                            .await;
                        if decision.stop_turn.is_some() {
                            return TurnOutcome::Completed { last_message };
                        }
                        // A hook that blocks the stop hands the model its reason as the next
                        // prompt: the turn goes on (a few times at most: a hook that never
                        // lets go must not keep the model working forever).
                        let Some(prompt) = decision.block else {
                            return TurnOutcome::Completed { last_message };
                        };
                        if stop_continuations >= MAX_STOP_CONTINUATIONS {
                            emit(Event::Warning {
                                message: format!(
                                    "a Stop hook sent the model back {MAX_STOP_CONTINUATIONS} times; the turn ends here"
                                ),
                            });
                            return TurnOutcome::Completed { last_message };
                        }
                        stop_continuations += 1;
                        stop_hook_active = true;
                        self.append(events, vec![crate::context::message("user", &[prompt])]);
                    }
                }
                Err(StreamError::Disconnected(reason)) if stream_retries < max_stream_retries => {
                    stream_retries += 1;
                    emit(Event::Error {
                        message: format!(
                            "Reconnecting... {stream_retries}/{max_stream_retries} (stream disconnected before completion: {reason})"
                        ),
                    });
                    tokio::select! {
                        _ = tokio::time::sleep(backoff(stream_retries)) => {}
                        _ = cancel.cancelled() => return TurnOutcome::Interrupted,
                    }
                }
                Err(StreamError::ContextWindowExceeded(_)) => {
                    // The server is the judge of what fits: compact and ask again.
                    if overflows >= MAX_OVERFLOW_COMPACTIONS {
                        return TurnOutcome::Failed {
                            message: CONTEXT_WINDOW_MESSAGE.into(),
                        };
                    }
                    overflows += 1;
                    if let Err(outcome) = self.compact(events, cancel, turn_id, false).await {
                        return outcome;
                    }
                }
                Err(err) => {
                    return TurnOutcome::Failed {
                        message: err.to_string(),
                    }
                }
            }
        }
    }

    /// One model request: streams the reply, starts tool calls as they arrive, and waits for
    /// them. Returns the items received, the call outputs in call order, and how the stream
    /// ended (a broken stream still returns what finished before the break).
    pub(super) async fn sample_once(
        &mut self,
        prompt: &Prompt,
        ctx: &Arc<ToolContext>,
        events: &UnboundedSender<Event>,
        cancel: &CancellationToken,
    ) -> Result<Round, TurnOutcome> {
        let emit = |e: Event| {
            let _ = events.send(e);
        };
        let on_retry = |n: RetryNotice| {
            emit(Event::Error {
                message: format!("Reconnecting... {}/{} ({})", n.attempt, n.max, n.reason),
            })
        };
        let opened = tokio::select! {
            opened = self.client.stream(prompt, on_retry) => opened,
            _ = cancel.cancelled() => return Err(TurnOutcome::Interrupted),
        };
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(err) if err.context_window_exceeded => {
                return Ok((
                    Vec::new(),
                    Vec::new(),
                    Err(StreamError::ContextWindowExceeded(err.message)),
                ))
            }
            Err(err) => {
                return Err(TurnOutcome::Failed {
                    message: err.message,
                })
            }
        };

        let mut received = Vec::new();
        let mut calls: Vec<JoinHandle<Value>> = Vec::new();
        let ended = loop {
            let next = tokio::select! {
                next = stream.next() => next,
                _ = cancel.cancelled() => {
                    settle(calls, cancel).await;
                    return Err(TurnOutcome::Interrupted);
                }
            };
            match next {
                None => {
                    break Err(StreamError::Disconnected(
                        "stream ended without a terminal event".into(),
                    ))
                }
                Some(Ok(ResponseEvent::OutputTextDelta { item_id, delta })) => {
                    emit(Event::AgentMessageDelta { item_id, delta })
                }
                Some(Ok(ResponseEvent::ReasoningSummaryDelta {
                    item_id,
                    summary_index,
                    delta,
                })) => emit(Event::ReasoningDelta {
                    item_id,
                    summary_index,
                    delta,
                }),
                Some(Ok(ResponseEvent::OutputItemDone(item))) => {
                    match crate::tools::classify(&item) {
                        Dispatch::Message { id, text } => {
                            emit(Event::ItemCompleted(ThreadItem {
                                id,
                                details: ItemDetails::AgentMessage { text },
                            }));
                        }
                        Dispatch::Reasoning { id, text } => {
                            if !text.is_empty() {
                                emit(Event::ItemCompleted(ThreadItem {
                                    id,
                                    details: ItemDetails::Reasoning { text },
                                }));
                            }
                        }
                        Dispatch::Call(call) => {
                            // Started now, while the rest of the reply still streams.
                            calls.push(ctx.spawn(call, cancel.child_token()));
                        }
                        Dispatch::Other => {}
                    }
                    received.push(item);
                }
                Some(Ok(ResponseEvent::Completed { usage })) => {
                    self.record_response(usage, &prompt.input, &received, events);
                    break Ok(());
                }
                Some(Err(err)) => break Err(err),
            }
        };

        let mut outputs = Vec::with_capacity(calls.len());
        let joined = tokio::select! {
            joined = join_in_order(&mut calls, &mut outputs) => joined,
            _ = cancel.cancelled() => {
                settle(calls, cancel).await;
                return Err(TurnOutcome::Interrupted);
            }
        };
        if let Err(join) = joined {
            settle(calls, cancel).await;
            return Err(TurnOutcome::Failed {
                message: format!("a tool call crashed: {join}"),
            });
        }
        Ok((received, outputs, ended))
    }
}

/// The server's usage, or an estimate from the bytes sent and received when it gave none.
pub(super) fn usage_or_estimate(
    usage: Option<TokenUsage>,
    sent: &[Value],
    received: &[Value],
) -> TokenUsage {
    usage.unwrap_or_else(|| TokenUsage {
        input_tokens: estimate_tokens(sent),
        output_tokens: estimate_tokens(received),
        ..Default::default()
    })
}

/// Cancels the remaining tool calls and gives them a moment to kill their processes and
/// report; any still running after that is aborted, so nothing outlives the turn.
async fn settle(mut calls: Vec<JoinHandle<Value>>, cancel: &CancellationToken) {
    cancel.cancel();
    let _ = tokio::time::timeout(CANCEL_GRACE, join_all(&mut calls)).await;
    for call in &calls {
        call.abort();
    }
}

async fn join_all(calls: &mut Vec<JoinHandle<Value>>) {
    while let Some(call) = calls.first_mut() {
        let _ = call.await;
        calls.remove(0);
    }
}

/// Awaits the calls front to back, moving each finished output out, so that after a cancel
/// `calls` holds exactly the calls that have not been awaited to completion.
async fn join_in_order(
    calls: &mut Vec<JoinHandle<Value>>,
    outputs: &mut Vec<Value>,
) -> Result<(), tokio::task::JoinError> {
    while let Some(call) = calls.first_mut() {
        let output = call.await;
        calls.remove(0);
        outputs.push(output?);
    }
    Ok(())
}
