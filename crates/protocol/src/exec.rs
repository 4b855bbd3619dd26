//! The `wright exec --json` stream: one [`ThreadEvent`] per line on stdout.
//!
//! Field names and shapes are Codex's (`thread.started`, `item.completed`, ...), checked against
//! the captures in the reference folder, so tools written for `codex exec --json` work unchanged.

use std::collections::HashMap;

use serde::Serialize;

use crate::events::{Event, TokenUsage};
use crate::items::ThreadItem;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum ThreadEvent {
    #[serde(rename = "thread.started")]
    ThreadStarted { thread_id: String },
    #[serde(rename = "turn.started")]
    TurnStarted,
    #[serde(rename = "turn.completed")]
    TurnCompleted { usage: TokenUsage },
    #[serde(rename = "turn.failed")]
    TurnFailed { error: ThreadError },
    #[serde(rename = "item.started")]
    ItemStarted { item: ThreadItem },
    #[serde(rename = "item.updated")]
    ItemUpdated { item: ThreadItem },
    #[serde(rename = "item.completed")]
    ItemCompleted { item: ThreadItem },
    #[serde(rename = "error")]
    Error { message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreadError {
    pub message: String,
}

/// Maps engine events to exec events. Item ids become `item_0`, `item_1`, ... in order of first
/// appearance, as Codex numbers them per process.
#[derive(Debug, Default)]
pub struct ExecEventMapper {
    ids: HashMap<String, String>,
}

impl ExecEventMapper {
    pub fn map(&mut self, event: &Event) -> Vec<ThreadEvent> {
        match event {
            Event::TurnStarted => vec![ThreadEvent::TurnStarted],
            Event::ItemStarted(item) => vec![ThreadEvent::ItemStarted {
                item: self.renumber(item),
            }],
            Event::ItemUpdated(item) => vec![ThreadEvent::ItemUpdated {
                item: self.renumber(item),
            }],
            Event::ItemCompleted(item) => vec![ThreadEvent::ItemCompleted {
                item: self.renumber(item),
            }],
            Event::AgentMessageDelta { .. }
            | Event::ReasoningDelta { .. }
            | Event::ContextCompacted { .. }
            | Event::CommandOutputDelta { .. }
            | Event::McpToolCallProgress { .. }
            | Event::TerminalInteraction { .. }
            | Event::HookStarted(_)
            | Event::HookCompleted(_)
            | Event::Warning { .. }
            | Event::TurnDiff { .. }
            | Event::UsageUpdated { .. }
            | Event::HistoryAppended(_)
            | Event::HistoryReplaced(_) => Vec::new(),
            Event::Error { message } => vec![ThreadEvent::Error {
                message: message.clone(),
            }],
            Event::TurnCompleted { usage } => vec![ThreadEvent::TurnCompleted { usage: *usage }],
            // Codex prints the final error once more as an `error` event before `turn.failed`.
            Event::TurnFailed { message, .. } => vec![
                ThreadEvent::Error {
                    message: message.clone(),
                },
                ThreadEvent::TurnFailed {
                    error: ThreadError {
                        message: message.clone(),
                    },
                },
            ],
        }
    }

    fn renumber(&mut self, item: &ThreadItem) -> ThreadItem {
        let next = self.ids.len();
        let id = self
            .ids
            .entry(item.id.clone())
            .or_insert_with(|| format!("item_{next}"))
            .clone();
        ThreadItem {
            id,
            details: item.details.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::{CommandStatus, ItemDetails};

    fn line(ev: &ThreadEvent) -> String {
        serde_json::to_string(ev).unwrap()
    }

    #[test]
    fn shapes_match_codex_captures() {
        let mut m = ExecEventMapper::default();
        let started = Event::ItemStarted(ThreadItem {
            id: "call_1".into(),
            details: ItemDetails::CommandExecution {
                command: "/bin/bash -lc ls".into(),
                aggregated_output: String::new(),
                exit_code: None,
                status: CommandStatus::InProgress,
                cwd: "/repo".into(),
                duration_ms: None,
                process_id: None,
            },
        });
        assert_eq!(
            line(&m.map(&started)[0]),
            r#"{"type":"item.started","item":{"id":"item_0","type":"command_execution","command":"/bin/bash -lc ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#
        );
        let msg = Event::ItemCompleted(ThreadItem {
            id: "msg_1".into(),
            details: ItemDetails::AgentMessage { text: "hi".into() },
        });
        assert_eq!(
            line(&m.map(&msg)[0]),
            r#"{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"hi"}}"#
        );
        assert_eq!(
            line(&ThreadEvent::ThreadStarted {
                thread_id: "t".into()
            }),
            r#"{"type":"thread.started","thread_id":"t"}"#
        );
        assert_eq!(
            line(&ThreadEvent::TurnCompleted {
                usage: TokenUsage {
                    input_tokens: 1,
                    ..Default::default()
                }
            }),
            r#"{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":0,"reasoning_output_tokens":0}}"#
        );
        let failed = m.map(&Event::TurnFailed {
            message: "boom".into(),
            usage: TokenUsage::default(),
        });
        assert_eq!(line(&failed[0]), r#"{"type":"error","message":"boom"}"#);
        assert_eq!(
            line(&failed[1]),
            r#"{"type":"turn.failed","error":{"message":"boom"}}"#
        );
    }
}
