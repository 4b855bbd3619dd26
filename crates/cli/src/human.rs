//! Progress for people: what the agent does, on stderr, while stdout carries only the answer.

use std::io::{IsTerminal, Write};

use wright_core::config::Config;
use wright_protocol::{
    CommandStatus, Event, ItemDetails, McpToolCallStatus, PatchStatus, ThreadItem,
};

use crate::exec::Color;

/// Lines of command output shown under a command.
const OUTPUT_PREVIEW_LINES: usize = 6;

pub struct HumanPrinter {
    color: bool,
    header: String,
}

impl HumanPrinter {
    pub fn new(color: Color, config: &Config) -> Self {
        let color = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let header = format!(
            "wright {} · model {} · provider {} · sandbox {} · cwd {}",
            env!("CARGO_PKG_VERSION"),
            config.model,
            config.provider_id,
            config.sandbox_mode.as_str(),
            config.cwd.display()
        );
        Self { color, header }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }

    pub fn thread_started(&mut self, thread_id: &str) {
        let text = format!("{} · thread {thread_id}", self.header);
        self.line(&self.paint("2", &text));
    }

    pub fn event(&mut self, event: &Event) {
        match event {
            Event::ItemStarted(item) => self.item_started(item),
            Event::ItemUpdated(item) | Event::ItemCompleted(item) => self.item_done(item),
            Event::Error { message } => self.line(&self.paint("33", &format!("⚠ {message}"))),
            Event::TurnCompleted { usage } => self.line(&self.paint(
                "2",
                &format!(
                    "tokens used: {} input ({} cached), {} output",
                    usage.input_tokens, usage.cached_input_tokens, usage.output_tokens
                ),
            )),
            Event::TurnFailed { message, .. } => {
                self.line(&self.paint("31", &format!("error: {message}")))
            }
            Event::ContextCompacted { .. } => {
                self.line(&self.paint("2", "context compacted to fit the model's window"))
            }
            Event::McpToolCallProgress { message, .. } => {
                self.line(&self.paint("2", &format!("  … {message}")))
            }
            Event::TurnStarted
            | Event::AgentMessageDelta { .. }
            | Event::ReasoningDelta { .. }
            | Event::CommandOutputDelta { .. }
            | Event::TerminalInteraction { .. }
            | Event::HookStarted(_)
            | Event::HookCompleted(_)
            | Event::Warning { .. }
            | Event::TurnDiff { .. }
            | Event::UsageUpdated { .. }
            | Event::HistoryAppended(_)
            | Event::HistoryReplaced(_) => {}
        }
    }

    fn item_started(&self, item: &ThreadItem) {
        match &item.details {
            ItemDetails::CommandExecution { command, .. } => {
                self.line(&format!("{} {command}", self.paint("1;36", "$")))
            }
            ItemDetails::TodoList { .. } => self.item_done(item),
            ItemDetails::McpToolCall { server, tool, .. } => {
                self.line(&format!("{} {server}.{tool}", self.paint("1;36", "⚙")))
            }
            ItemDetails::CollabToolCall {
                tool,
                receiver_thread_ids,
                ..
            } => {
                let tool = serde_json::to_value(tool).unwrap_or_default();
                let tool = tool.as_str().unwrap_or_default();
                let to = receiver_thread_ids.join(", ");
                self.line(&format!("{} {tool} {to}", self.paint("1;36", "⇉")))
            }
            _ => {}
        }
    }

    fn item_done(&self, item: &ThreadItem) {
        match &item.details {
            ItemDetails::AgentMessage { text } => {
                self.line(&format!("{} {text}", self.paint("1;35", "wright:")))
            }
            ItemDetails::Reasoning { text } => self.line(&self.paint("2;3", text)),
            ItemDetails::CommandExecution {
                aggregated_output,
                exit_code,
                status,
                ..
            } => {
                let lines: Vec<&str> = aggregated_output.lines().collect();
                for l in lines.iter().take(OUTPUT_PREVIEW_LINES) {
                    self.line(&self.paint("2", &format!("  {l}")));
                }
                if lines.len() > OUTPUT_PREVIEW_LINES {
                    self.line(&self.paint(
                        "2",
                        &format!("  … {} more lines", lines.len() - OUTPUT_PREVIEW_LINES),
                    ));
                }
                let code = exit_code.map_or("none".to_string(), |c| c.to_string());
                let tag = match status {
                    CommandStatus::Completed => self.paint("32", &format!("  exit {code}")),
                    CommandStatus::Declined => self.paint("33", "  declined"),
                    _ => self.paint("31", &format!("  exit {code}")),
                };
                self.line(&tag);
            }
            ItemDetails::FileChange { changes, status } => {
                let verb = match status {
                    PatchStatus::Failed => self.paint("31", "✗ patch failed:"),
                    PatchStatus::Declined => self.paint("33", "✗ patch declined:"),
                    _ => self.paint("1;32", "✎ patched:"),
                };
                if *status == PatchStatus::InProgress {
                    return;
                }
                for c in changes {
                    let kind = format!("{:?}", c.kind).to_lowercase();
                    self.line(&format!("{verb} {kind} {}", c.path));
                }
            }
            ItemDetails::TodoList { items } => {
                self.line(&self.paint("1", "plan:"));
                for i in items {
                    let mark = if i.completed { "[x]" } else { "[ ]" };
                    self.line(&format!("  {mark} {}", i.text));
                }
            }
            ItemDetails::McpToolCall { error, status, .. } => match (status, error) {
                (McpToolCallStatus::Completed, _) => self.line(&self.paint("32", "  done")),
                (_, Some(e)) => self.line(&self.paint("31", &format!("  failed: {}", e.message))),
                _ => {}
            },
            ItemDetails::CollabToolCall {
                receiver_thread_ids,
                agents_states,
                status,
                ..
            } => {
                if *status == wright_protocol::CollabToolCallStatus::Failed {
                    self.line(&self.paint("31", "  failed"));
                }
                for id in receiver_thread_ids {
                    if let Some(state) = agents_states.get(id) {
                        let status = serde_json::to_value(state.status).unwrap_or_default();
                        let status = status.as_str().unwrap_or_default().to_string();
                        self.line(&self.paint("2", &format!("  {id}: {status}")));
                    }
                }
            }
            ItemDetails::Error { message } => {
                self.line(&self.paint("31", &format!("error: {message}")))
            }
        }
    }
}
