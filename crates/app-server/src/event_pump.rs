//! A turn's engine events → store writes, then notifications, in order; and the approval
//! questions asked in between, sent after the events that came before them.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::mpsc;
use wright_protocol::v2::{
    self, AgentMessageDeltaNotification, CommandExecutionOutputDeltaNotification,
    ContextCompactedNotification, ErrorNotification, ItemCompletedNotification,
    ItemStartedNotification, McpToolCallProgressNotification,
    ReasoningSummaryTextDeltaNotification, ServerNotification, ThreadTokenUsage,
    ThreadTokenUsageUpdatedNotification, TurnDiffUpdatedNotification, TurnPlanStep,
    TurnPlanStepStatus, TurnPlanUpdatedNotification,
};
use wright_protocol::{Event, ItemDetails};

use crate::approvals::{status_changed, OpenQuestion, Question, ToPump};
use crate::auto_review::SharedTranscript;
use crate::conn::ConnHandle;
use crate::state::{Loaded, State};
use crate::wire::{self, now_ms};

pub(crate) fn item_started(
    thread_id: &str,
    turn_id: &str,
    item: v2::ThreadItem,
) -> ServerNotification {
    ServerNotification::ItemStarted(ItemStartedNotification {
        item,
        thread_id: thread_id.to_string(),
        turn_id: turn_id.to_string(),
        started_at_ms: now_ms(),
    })
}

pub(crate) fn item_completed(
    thread_id: &str,
    turn_id: &str,
    item: v2::ThreadItem,
) -> ServerNotification {
    ServerNotification::ItemCompleted(ItemCompletedNotification {
        item,
        thread_id: thread_id.to_string(),
        turn_id: turn_id.to_string(),
        content_token_count: None,
        completed_at_ms: now_ms(),
    })
}

/// An item that appears whole: saved first, then announced as started and completed.
pub(crate) async fn announce_whole_item(
    state: &State,
    loaded: &Loaded,
    turn_id: &str,
    item: v2::ThreadItem,
) {
    let (tid, uid, stored) = (
        loaded.id.clone(),
        turn_id.to_string(),
        wire::to_stored(&item),
    );
    state
        .persist("save item", move |s| s.put_item(&tid, &uid, &stored))
        .await;
    loaded.broadcast(item_started(&loaded.id, turn_id, item.clone()));
    loaded.broadcast(item_completed(&loaded.id, turn_id, item));
}

fn error(thread_id: &str, turn_id: &str, message: String, will_retry: bool) -> ServerNotification {
    ServerNotification::Error(ErrorNotification {
        error: wire::turn_error(message),
        thread_id: thread_id.to_string(),
        turn_id: turn_id.to_string(),
        will_retry,
    })
}

/// Engine events → store writes, then notifications, in order. Returns the turn's last agent
/// message item (for `turn/completed`).
pub(crate) async fn pump_events(
    state: Arc<State>,
    loaded: Arc<Loaded>,
    owner: ConnHandle,
    turn_id: String,
    mut rx: mpsc::UnboundedReceiver<Event>,
    mut questions: mpsc::UnboundedReceiver<ToPump>,
    transcript: Option<SharedTranscript>,
) -> Option<v2::ThreadItem> {
    let thread_id = loaded.id.clone();
    let mut started_messages: HashSet<String> = HashSet::new();
    let mut last_message = None;
    loop {
        // Events first: a question must follow the events emitted before it was asked.
        let event = tokio::select! {
            biased;
            event = rx.recv() => match event {
                Some(event) => event,
                None => break,
            },
            Some(message) = questions.recv() => {
                match message {
                    ToPump::Ask(question) => ask(&loaded, question),
                    ToPump::Delegate(out) => crate::delegated::send(&owner, out),
                    ToPump::Notify { notification, sent } => {
                        loaded.broadcast(*notification);
                        if let Some(sent) = sent {
                            let _ = sent.send(());
                        }
                    }
                }
                continue;
            }
        };
        match event {
            Event::TurnStarted | Event::TurnCompleted { .. } => {}
            Event::ItemStarted(item) | Event::ItemUpdated(item)
                if matches!(item.details, ItemDetails::TodoList { .. }) =>
            {
                plan_updated(&loaded, &turn_id, &item.details);
            }
            Event::ItemStarted(item) => {
                if let Some(v) = wire::item(&item) {
                    loaded.broadcast(item_started(&thread_id, &turn_id, v));
                }
            }
            Event::ItemUpdated(_) => {}
            Event::ItemCompleted(item) => {
                // The plan's final state was already announced by its last update.
                if let ItemDetails::TodoList { .. } = item.details {
                    continue;
                }
                let Some(v) = wire::item(&item) else { continue };
                // `item/started` comes before anything else about a message, deltas included;
                // one that streamed nothing is started here, empty.
                if started_messages.insert(item.id.clone()) {
                    match &item.details {
                        ItemDetails::AgentMessage { .. } => loaded.broadcast(item_started(
                            &thread_id,
                            &turn_id,
                            wire::agent_message(&item.id, ""),
                        )),
                        ItemDetails::Reasoning { .. } => loaded.broadcast(item_started(
                            &thread_id,
                            &turn_id,
                            wire::reasoning(&item.id, Vec::new()),
                        )),
                        _ => {}
                    }
                }
                // Durable before visible.
                let (tid, uid, stored) = (thread_id.clone(), turn_id.clone(), wire::to_stored(&v));
                state
                    .persist("save item", move |s| s.put_item(&tid, &uid, &stored))
                    .await;
                if let ItemDetails::AgentMessage { .. } = item.details {
                    last_message = Some(v.clone());
                }
                loaded.broadcast(item_completed(&thread_id, &turn_id, v));
            }
            Event::AgentMessageDelta { item_id, delta } => {
                if started_messages.insert(item_id.clone()) {
                    loaded.broadcast(item_started(
                        &thread_id,
                        &turn_id,
                        wire::agent_message(&item_id, ""),
                    ));
                }
                loaded.broadcast(ServerNotification::AgentMessageDelta(
                    AgentMessageDeltaNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                        item_id,
                        delta,
                    },
                ));
            }
            Event::ReasoningDelta {
                item_id,
                summary_index,
                delta,
            } => {
                if started_messages.insert(item_id.clone()) {
                    loaded.broadcast(item_started(
                        &thread_id,
                        &turn_id,
                        wire::reasoning(&item_id, Vec::new()),
                    ));
                }
                loaded.broadcast(ServerNotification::ReasoningSummaryTextDelta(
                    ReasoningSummaryTextDeltaNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                        item_id,
                        delta,
                        summary_index: summary_index as i64,
                    },
                ));
            }
            Event::CommandOutputDelta { item_id, delta } => {
                loaded.broadcast(ServerNotification::CommandExecutionOutputDelta(
                    CommandExecutionOutputDeltaNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                        item_id,
                        delta,
                    },
                ));
            }
            Event::Warning { message } => {
                loaded.broadcast(ServerNotification::Warning(v2::WarningNotification {
                    message,
                    thread_id: Some(thread_id.clone()),
                }));
            }
            Event::HookStarted(run) => {
                loaded.broadcast(ServerNotification::HookStarted(
                    v2::HookStartedNotification {
                        thread_id: thread_id.clone(),
                        turn_id: Some(turn_id.clone()),
                        run,
                    },
                ));
            }
            Event::HookCompleted(run) => {
                loaded.broadcast(ServerNotification::HookCompleted(
                    v2::HookCompletedNotification {
                        thread_id: thread_id.clone(),
                        turn_id: Some(turn_id.clone()),
                        run,
                    },
                ));
            }
            Event::TerminalInteraction {
                item_id,
                process_id,
                stdin,
            } => {
                loaded.broadcast(ServerNotification::TerminalInteraction(
                    v2::TerminalInteractionNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                        item_id,
                        process_id,
                        stdin,
                    },
                ));
            }
            Event::McpToolCallProgress { item_id, message } => {
                loaded.broadcast(ServerNotification::McpToolCallProgress(
                    McpToolCallProgressNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                        item_id,
                        message,
                    },
                ));
            }
            Event::TurnDiff { diff } => {
                loaded.broadcast(ServerNotification::TurnDiffUpdated(
                    TurnDiffUpdatedNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                        diff,
                    },
                ));
            }
            Event::UsageUpdated {
                total,
                last,
                context_window,
            } => {
                loaded.broadcast(ServerNotification::ThreadTokenUsageUpdated(
                    ThreadTokenUsageUpdatedNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                        token_usage: ThreadTokenUsage {
                            total: wire::usage_breakdown(&total),
                            last: wire::usage_breakdown(&last),
                            model_context_window: Some(context_window as i64),
                        },
                    },
                ));
            }
            Event::HistoryAppended(items) => {
                if let Some(transcript) = &transcript {
                    if let Ok(mut t) = transcript.lock() {
                        t.extend(&items);
                    }
                }
                let tid = thread_id.clone();
                state
                    .persist("append history", move |s| s.append_history(&tid, &items))
                    .await;
            }
            Event::HistoryReplaced(items) => {
                if let Some(transcript) = &transcript {
                    if let Ok(mut t) = transcript.lock() {
                        t.replace(&items);
                    }
                }
                let tid = thread_id.clone();
                state
                    .persist("replace history", move |s| s.replace_history(&tid, &items))
                    .await;
            }
            Event::ContextCompacted { id } => {
                announce_whole_item(&state, &loaded, &turn_id, wire::context_compaction(&id)).await;
                loaded.broadcast(ServerNotification::ContextCompacted(
                    ContextCompactedNotification {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                    },
                ));
            }
            Event::Error { message } => {
                loaded.broadcast(error(&thread_id, &turn_id, message, true));
            }
            // An interrupt is not an error (Codex sends none): `turn/completed` says
            // "interrupted".
            Event::TurnFailed { message, .. } if message == wright_core::TURN_INTERRUPTED => {}
            Event::TurnFailed { message, .. } => {
                loaded.broadcast(error(&thread_id, &turn_id, message, false));
            }
        }
    }
    // What was queued as the engine stopped (a review aborted by an interrupt) still goes
    // out; questions are dropped unasked, which answers them "cancel".
    while let Ok(message) = questions.try_recv() {
        if let ToPump::Notify { notification, sent } = message {
            loaded.broadcast(*notification);
            if let Some(sent) = sent {
                let _ = sent.send(());
            }
        }
    }
    last_message
}

/// Sends an approval question to the client that started the turn.
fn ask(loaded: &Loaded, question: Question) {
    // Dropped by an interrupt while queued: do not ask at all.
    if question.sent.is_closed() {
        return;
    }
    let thread_id = &loaded.id;
    loaded.broadcast(status_changed(thread_id, wire::active(true)));
    let (open, answer) = OpenQuestion::new(question.ask);
    // Every follower is asked, and so is anyone who starts following before it is answered.
    loaded.ask_followers(&open);
    if question.sent.send((Arc::clone(&open), answer)).is_err() {
        loaded.forget_question(&open);
        open.withdraw_all(thread_id);
    }
}

fn plan_updated(loaded: &Loaded, turn_id: &str, details: &ItemDetails) {
    let ItemDetails::TodoList { items } = details else {
        return;
    };
    let plan = items
        .iter()
        .map(|i| TurnPlanStep {
            step: i.text.clone(),
            status: if i.completed {
                TurnPlanStepStatus::Completed
            } else {
                TurnPlanStepStatus::Pending
            },
        })
        .collect();
    loaded.broadcast(ServerNotification::TurnPlanUpdated(
        TurnPlanUpdatedNotification {
            thread_id: loaded.id.clone(),
            turn_id: turn_id.to_string(),
            explanation: None,
            plan,
        },
    ));
}
