//! What the server says: notifications into cells and state, approvals into prompts.

use super::*;

/// The most live output kept for a running command (its head and tail are what is shown; the
/// finished item brings the server's own copy). A command printing without end cannot grow
/// the UI's memory.
const LIVE_OUTPUT_MAX: usize = 256 * 1024;

/// Drops the front of `text` so it is at most about `max` bytes, cutting at a line start.
fn keep_tail(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut cut = text.len() - max / 2;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    let cut = text[cut..].find('\n').map_or(cut, |i| cut + i + 1);
    text.replace_range(..cut, "");
}

impl App {
    pub(super) fn notification(&mut self, n: ServerNotification) {
        // Another thread's news (a shared server) is not this view's.
        if let (Some(mine), Some(theirs)) = (&self.thread_id, notification_thread(&n)) {
            if mine != theirs {
                return;
            }
        }
        match n {
            ServerNotification::TurnStarted(t) => {
                self.turn_id = Some(t.turn.id);
                self.turn_started = Some(Instant::now());
                self.hint = None;
            }
            ServerNotification::TurnCompleted(t) => {
                for (_, cell) in std::mem::take(&mut self.active) {
                    self.push(cell);
                }
                match t.turn.status {
                    TurnStatus::Interrupted => self.notice(Level::Warning, "Interrupted"),
                    TurnStatus::Failed => {
                        let why = t
                            .turn
                            .error
                            .map(|e| e.message)
                            .unwrap_or_else(|| "the turn failed".into());
                        self.notice(Level::Error, why);
                    }
                    _ => {}
                }
                self.turn_id = None;
                self.turn_started = None;
                self.hint = None;
                self.approval = None;
                self.user_input = None;
                if !self.queued.is_empty() {
                    let text = self.queued.remove(0);
                    self.send_turn(text);
                }
            }
            ServerNotification::ItemStarted(s) => {
                if let Some(cell) = cell_of(&s.item) {
                    self.active.push((s.item.id().to_string(), cell));
                }
            }
            ServerNotification::ItemCompleted(c) => {
                let id = c.item.id().to_string();
                let at = self.active.iter().position(|(i, _)| *i == id);
                if let Some(at) = at {
                    self.active.remove(at);
                }
                if let Some(cell) = cell_of(&c.item) {
                    self.push(cell);
                }
            }
            ServerNotification::AgentMessageDelta(d) => {
                match self.active_cell(&d.item_id) {
                    Some(Cell::Agent { text }) => text.push_str(&d.delta),
                    Some(_) => {}
                    // Joined mid-message (attached to a running turn): show it from here.
                    None => self.active.push((d.item_id, Cell::Agent { text: d.delta })),
                }
            }
            ServerNotification::ReasoningSummaryTextDelta(d) => {
                if let Some(Cell::Reasoning { text }) = self.active_cell(&d.item_id) {
                    text.push_str(&d.delta);
                }
            }
            ServerNotification::CommandExecutionOutputDelta(d) => {
                if let Some(Cell::Command { output, .. }) = self.active_cell(&d.item_id) {
                    output.push_str(&d.delta);
                    keep_tail(output, LIVE_OUTPUT_MAX);
                }
            }
            ServerNotification::TurnPlanUpdated(p) => {
                let steps = p.plan.into_iter().map(|s| (s.step, s.status)).collect();
                self.push(Cell::Plan { steps });
            }
            ServerNotification::ThreadTokenUsageUpdated(u) => {
                self.status.usage = Some(u.token_usage)
            }
            ServerNotification::Error(e) => {
                let level = if e.will_retry {
                    Level::Warning
                } else {
                    Level::Error
                };
                self.notice(level, e.error.message);
            }
            ServerNotification::ConfigWarning(w) => self.notice(Level::Warning, w.summary),
            ServerNotification::Warning(w) => self.notice(Level::Warning, w.message),
            // A server that fails is said once per failure streak (it is retried with
            // backoff); `/mcp` shows the state at any time.
            ServerNotification::McpServerStatusUpdated(m) => {
                if m.status == McpServerStartupState::Failed {
                    if self.mcp_failed.insert(m.name.clone()) {
                        let why = m.error.unwrap_or_else(|| "no reason given".into());
                        self.notice(
                            Level::Warning,
                            format!("MCP server `{}` failed: {why}", m.name),
                        );
                    }
                } else if m.status == McpServerStartupState::Ready {
                    self.mcp_failed.remove(&m.name);
                }
            }
            // Answered elsewhere (another client of the same thread): the prompt goes.
            ServerNotification::ServerRequestResolved(r)
                if self.approval.as_ref().is_some_and(|a| a.id == r.request_id) =>
            {
                self.approval = None;
            }
            ServerNotification::ServerRequestResolved(r)
                if self
                    .user_input
                    .as_ref()
                    .is_some_and(|u| u.id == r.request_id) =>
            {
                self.user_input = None;
            }
            ServerNotification::ContextCompacted(_) => {
                self.notice(Level::Info, "Context compacted")
            }
            _ => {}
        }
    }

    pub(super) fn active_cell(&mut self, item_id: &str) -> Option<&mut Cell> {
        self.active
            .iter_mut()
            .find(|(id, _)| id == item_id)
            .map(|(_, c)| c)
    }

    pub(super) fn server_request(&mut self, request: ServerRequest) {
        let approval = match request {
            ServerRequest::CommandExecutionRequestApproval { id, params } => {
                let command = params
                    .command
                    .clone()
                    .or_else(|| self.active_command(&params.item_id))
                    .unwrap_or_default();
                Approval {
                    id,
                    kind: ApprovalKind::Command {
                        command,
                        cwd: params.cwd.unwrap_or_default(),
                    },
                    reason: params.reason,
                    selected: 0,
                }
            }
            ServerRequest::FileChangeRequestApproval { id, params } => {
                let files = self
                    .active
                    .iter()
                    .find(|(i, _)| *i == params.item_id)
                    .and_then(|(_, c)| match c {
                        Cell::Patch { changes, .. } => {
                            Some(changes.iter().map(|c| c.path.clone()).collect())
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
                Approval {
                    id,
                    kind: ApprovalKind::Patch { files },
                    reason: params.reason,
                    selected: 0,
                }
            }
            ServerRequest::ToolRequestUserInput { id, params } => {
                let mcp_approval = params.questions.len() == 1
                    && params.questions[0].id.starts_with(MCP_APPROVAL_PREFIX);
                if !mcp_approval {
                    // The model's own questions: the picker. None at all has nothing to ask;
                    // it is answered at once (as dismissed), or the turn would wait forever.
                    if params.questions.is_empty() {
                        self.rpc.respond(&id, json!({"answers": {}}));
                    } else {
                        self.user_input = Some(UserInput::new(id, params.questions));
                    }
                    return;
                }
                let Some(question) = params.questions.into_iter().next() else {
                    return;
                };
                Approval {
                    id,
                    kind: ApprovalKind::McpTool {
                        question: question.question,
                        id: question.id,
                    },
                    reason: None,
                    selected: 0,
                }
            }
        };
        self.approval = Some(approval);
    }

    pub(super) fn active_command(&self, item_id: &str) -> Option<String> {
        self.active
            .iter()
            .find(|(i, _)| i == item_id)
            .and_then(|(_, c)| match c {
                Cell::Command { command, .. } => Some(command.clone()),
                _ => None,
            })
    }
}

fn notification_thread(n: &ServerNotification) -> Option<&str> {
    Some(match n {
        ServerNotification::TurnStarted(t) => &t.thread_id,
        ServerNotification::TurnCompleted(t) => &t.thread_id,
        ServerNotification::ItemStarted(t) => &t.thread_id,
        ServerNotification::ItemCompleted(t) => &t.thread_id,
        ServerNotification::AgentMessageDelta(t) => &t.thread_id,
        ServerNotification::CommandExecutionOutputDelta(t) => &t.thread_id,
        ServerNotification::ReasoningSummaryTextDelta(t) => &t.thread_id,
        ServerNotification::TurnPlanUpdated(t) => &t.thread_id,
        ServerNotification::ThreadTokenUsageUpdated(t) => &t.thread_id,
        ServerNotification::Error(t) => &t.thread_id,
        _ => return None,
    })
}

/// The cell an item shows as; `None` for items this view does not show.
pub fn cell_of(item: &ThreadItem) -> Option<Cell> {
    Some(match item {
        ThreadItem::UserMessage { content, .. } => {
            let text: Vec<String> = content
                .iter()
                .filter_map(|c| {
                    let v = serde_json::to_value(c).ok()?;
                    match v.get("type").and_then(Value::as_str) {
                        Some("text") => v.get("text").and_then(Value::as_str).map(String::from),
                        Some("localImage") => v
                            .get("path")
                            .and_then(Value::as_str)
                            .map(|p| format!("[image {p}]")),
                        Some("image") => Some("[image]".into()),
                        _ => None,
                    }
                })
                .collect();
            Cell::User {
                text: text.join("\n"),
            }
        }
        ThreadItem::AgentMessage { text, .. } => Cell::Agent { text: text.clone() },
        ThreadItem::Reasoning { summary, .. } => {
            if summary.is_empty() {
                return None;
            }
            Cell::Reasoning {
                text: summary.join("\n\n"),
            }
        }
        ThreadItem::CommandExecution {
            command,
            status,
            aggregated_output,
            exit_code,
            duration_ms,
            ..
        } => Cell::Command {
            command: command.clone(),
            output: aggregated_output.clone().unwrap_or_default(),
            exit_code: *exit_code,
            state: match status {
                CommandExecutionStatus::InProgress => CommandState::Running,
                CommandExecutionStatus::Completed => CommandState::Done,
                CommandExecutionStatus::Declined => CommandState::Declined,
                _ => CommandState::Failed,
            },
            duration_ms: *duration_ms,
        },
        ThreadItem::FileChange {
            changes, status, ..
        } => Cell::Patch {
            changes: changes.clone(),
            status: match status {
                PatchApplyStatus::InProgress => None,
                s => Some(*s),
            },
        },
        // An MCP tool call reads like a command: what was called, what came back.
        ThreadItem::McpToolCall {
            server,
            tool,
            status,
            arguments,
            result,
            error,
            duration_ms,
            ..
        } => Cell::Command {
            command: format!("{server}.{tool} {arguments}"),
            output: match (result, error) {
                (_, Some(e)) => e.message.clone(),
                (Some(r), None) => r
                    .content
                    .iter()
                    .map(|c| match c.get("text").and_then(Value::as_str) {
                        Some(text) => text.to_string(),
                        None => format!(
                            "[{}]",
                            c.get("type").and_then(Value::as_str).unwrap_or("content")
                        ),
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                (None, None) => String::new(),
            },
            exit_code: None,
            state: match status {
                McpToolCallStatus::InProgress => CommandState::Running,
                McpToolCallStatus::Completed => CommandState::Done,
                McpToolCallStatus::Failed => CommandState::Failed,
            },
            duration_ms: *duration_ms,
        },
        ThreadItem::Plan { text, .. } => Cell::Agent { text: text.clone() },
        ThreadItem::ContextCompaction { .. } => Cell::Notice {
            text: "Context compacted".into(),
            level: Level::Info,
        },
        ThreadItem::EnteredReviewMode { review, .. } => Cell::Notice {
            text: format!("Reviewing {review}"),
            level: Level::Info,
        },
        ThreadItem::ExitedReviewMode { review, .. } => Cell::Agent {
            text: review.clone(),
        },
        ThreadItem::CollabAgentToolCall {
            tool,
            status,
            receiver_thread_ids,
            ..
        } => Cell::Notice {
            text: format!(
                "agents: {tool:?} {} ({status:?})",
                receiver_thread_ids.join(", ")
            ),
            level: match status {
                wright_protocol::v2::CollabAgentToolCallStatus::Failed => Level::Warning,
                _ => Level::Info,
            },
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::keep_tail;

    #[test]
    fn live_output_keeps_its_tail_within_bounds() {
        let mut out: String = (0..100_000).map(|i| format!("line {i} é\n")).collect();
        keep_tail(&mut out, 64 * 1024);
        assert!(out.len() <= 64 * 1024, "{}", out.len());
        assert!(out.starts_with("line "), "cut mid-line: {:?}", &out[..20]);
        assert!(out.ends_with("line 99999 é\n"));
        let mut short = String::from("a\nb\n");
        keep_tail(&mut short, 64);
        assert_eq!(short, "a\nb\n");
    }
}
