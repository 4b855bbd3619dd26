//! What a hook run means, per event, with Codex's rules, and what all the runs of one event
//! decide together.
//!
//! Exit status first:
//!
//! * **0**: empty stdout does nothing. JSON stdout is read by the event's schema
//!   ([`crate::output`]); JSON that breaks it fails the run without effect. Plain text is
//!   model context for `SessionStart` and `UserPromptSubmit`, an error for `Stop`, and
//!   ignored elsewhere.
//! * **2**: stderr is the hook's verdict, fed to the model: it blocks the tool call
//!   (`PreToolUse`), denies the approval (`PermissionRequest`), rejects the prompt
//!   (`UserPromptSubmit`), continues the turn with it as the next prompt (`Stop`), or is
//!   feedback on the tool's result (`PostToolUse`). Exit 2 with empty stderr is an error. The
//!   other events treat 2 like any failure.
//! * **anything else**, a signal or a timeout: the run failed; the error is shown to the user
//!   and nothing is blocked.
//!
//! JSON fields: `systemMessage` is a warning for the user; `continue: false` stops the turn
//! with `stopReason` (not allowed for `PreToolUse` and `PermissionRequest`, where it is an
//! error); `decision: "block"` + `reason` blocks like exit 2 (a block without a reason is an
//! error); `hookSpecificOutput.additionalContext` adds context for the model;
//! `PreToolUse`'s `permissionDecision: "deny"` + `permissionDecisionReason` blocks, and
//! `"allow"` with `updatedInput` rewrites the call's input. Codex rejects `"ask"` and a bare
//! `"allow"` as unsupported (the run fails, the call goes on); so does wright.
//! `PermissionRequest`'s `decision: {behavior: "allow" | "deny", message}` answers the
//! approval.

use serde_json::Value;

use crate::event::HookEvent;
use crate::output::{self, Behavior, Parsed};
use crate::runner::HookRun;
use crate::wire::{HookOutputEntry, HookOutputEntryKind as Kind, HookRunStatus};

/// A hook's answer to an approval request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    Allow,
    /// Denied, with the message for the model.
    Deny(String),
}

/// What one run means.
#[derive(Debug, Clone, PartialEq)]
pub struct HookOutcome {
    pub status: HookRunStatus,
    /// The lines `hook/completed` shows.
    pub entries: Vec<HookOutputEntry>,
    /// Text for the model that blocks (see [`Decision::block`]).
    pub block: Option<String>,
    /// `continue: false`: the turn stops, with this reason.
    pub stop: Option<String>,
    pub additional_context: Vec<String>,
    pub permission: Option<Permission>,
    pub system_message: Option<String>,
    /// `PreToolUse` only: the call's new input.
    pub updated_input: Option<Value>,
}

/// What all the runs of one event decide.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Feedback for the model that changes the course of the turn:
    /// `PreToolUse`: the call is refused with it; `UserPromptSubmit`: the prompt is not sent;
    /// `Stop`: the turn goes on with it as the next prompt (all blocking hooks' texts joined);
    /// `PostToolUse`: it is added to the tool's result (all hooks' feedback joined).
    pub block: Option<String>,
    /// Some hook said `continue: false`: end the turn, with this reason for the user.
    pub stop_turn: Option<String>,
    /// Context for the model, in configured order.
    pub additional_context: Vec<String>,
    /// `PermissionRequest`: any deny wins; otherwise allow if a hook allowed; `None` leaves
    /// the decision to the usual approval flow.
    pub permission: Option<Permission>,
    /// `systemMessage`s for the user, in configured order.
    pub system_messages: Vec<String>,
    /// `PreToolUse`: replacement input, from the hook that finished last (unless blocked).
    pub updated_input: Option<Value>,
}

impl HookOutcome {
    fn new() -> HookOutcome {
        HookOutcome {
            status: HookRunStatus::Completed,
            entries: Vec::new(),
            block: None,
            stop: None,
            additional_context: Vec::new(),
            permission: None,
            system_message: None,
            updated_input: None,
        }
    }

    fn fail(&mut self, text: impl Into<String>) {
        self.status = HookRunStatus::Failed;
        self.entries.push(HookOutputEntry::new(Kind::Error, text));
    }

    fn context(&mut self, text: String) {
        self.entries
            .push(HookOutputEntry::new(Kind::Context, text.clone()));
        self.additional_context.push(text);
    }

    fn feedback(&mut self, status: HookRunStatus, text: String) {
        self.status = status;
        self.entries
            .push(HookOutputEntry::new(Kind::Feedback, text.clone()));
        self.block = Some(text);
    }

    /// `continue: false`. `always_show` events show a default text when no reason is given.
    fn stopped(&mut self, event: HookEvent, reason: Option<String>, always_show: bool) {
        self.status = HookRunStatus::Stopped;
        let text = reason
            .clone()
            .unwrap_or_else(|| format!("{event} hook stopped execution"));
        if reason.is_some() || always_show {
            self.entries
                .push(HookOutputEntry::new(Kind::Stop, text.clone()));
        }
        self.stop = Some(text);
    }
}

/// Interprets one run of a hook of `event`.
pub fn interpret(event: HookEvent, run: &HookRun) -> HookOutcome {
    let mut outcome = HookOutcome::new();
    if let Some(error) = &run.error {
        outcome.fail(error.to_string());
        return outcome;
    }
    let stateless = matches!(
        event,
        HookEvent::PreCompact | HookEvent::PostCompact | HookEvent::SessionEnd
    );
    match run.exit_code {
        Some(0) => on_success(event, run, &mut outcome),
        Some(2) if !stateless && event != HookEvent::SessionStart => {
            on_exit_two(event, run, &mut outcome)
        }
        Some(code) if stateless => {
            outcome.fail(non_empty(&run.stderr).unwrap_or(format!("hook exited with code {code}")))
        }
        Some(code) => outcome.fail(format!("hook exited with code {code}")),
        None if stateless => outcome.fail("hook process terminated without an exit code"),
        None => outcome.fail("hook exited without a status code"),
    }
    if run.stdout_truncated {
        outcome.entries.push(HookOutputEntry::new(
            Kind::Warning,
            "hook output was too long and was cut",
        ));
    }
    outcome
}

fn on_exit_two(event: HookEvent, run: &HookRun, outcome: &mut HookOutcome) {
    let Some(reason) = non_empty(&run.stderr) else {
        let what = match event {
            HookEvent::PermissionRequest => "a denial reason",
            HookEvent::PostToolUse => "feedback",
            HookEvent::Stop => "a continuation prompt",
            _ => "a blocking reason",
        };
        outcome.fail(format!(
            "{event} hook exited with code 2 but did not write {what} to stderr"
        ));
        return;
    };
    match event {
        // The tool already ran: the text is feedback, and the run itself succeeded.
        HookEvent::PostToolUse => outcome.feedback(HookRunStatus::Completed, reason),
        HookEvent::PermissionRequest => {
            outcome.permission = Some(Permission::Deny(reason.clone()));
            outcome.feedback(HookRunStatus::Blocked, reason);
            outcome.block = None;
        }
        _ => outcome.feedback(HookRunStatus::Blocked, reason),
    }
}

fn on_success(event: HookEvent, run: &HookRun, outcome: &mut HookOutcome) {
    let stdout = run.stdout.trim();
    if stdout.is_empty() {
        return;
    }
    let Some(parsed) = output::parse(event, stdout) else {
        let plain_is_context =
            matches!(event, HookEvent::SessionStart | HookEvent::UserPromptSubmit);
        if event == HookEvent::Stop || output::looks_like_json(stdout) {
            outcome.fail(format!(
                "hook returned invalid {} JSON output",
                json_label(event)
            ));
        } else if plain_is_context {
            outcome.context(stdout.to_owned());
        }
        return;
    };
    if let Some(message) = parsed.universal.system_message.clone() {
        outcome
            .entries
            .push(HookOutputEntry::new(Kind::Warning, message.clone()));
        outcome.system_message = Some(message);
    }
    match event {
        HookEvent::PreToolUse => pre_tool_use(parsed, outcome),
        HookEvent::PermissionRequest => permission_request(parsed, outcome),
        HookEvent::PostToolUse => post_tool_use(parsed, outcome),
        HookEvent::SessionStart => {
            if let Some(context) = parsed.specific.and_then(|s| s.additional_context) {
                outcome.context(context);
            }
            if !parsed.universal.proceed {
                outcome.stopped(event, parsed.universal.stop_reason, false);
            }
        }
        HookEvent::UserPromptSubmit | HookEvent::Stop => prompt_or_stop(event, parsed, outcome),
        HookEvent::PreCompact | HookEvent::PostCompact | HookEvent::SessionEnd => {
            if !parsed.universal.proceed {
                outcome.stopped(event, parsed.universal.stop_reason, true);
            }
        }
    }
}

fn pre_tool_use(parsed: Parsed, outcome: &mut HookOutcome) {
    let universal = &parsed.universal;
    let specific = parsed.specific.unwrap_or_default();
    let uses_specific = specific.permission_decision.is_some()
        || specific.permission_decision_reason.is_some()
        || specific.updated_input.is_some();
    let deny_reason = specific
        .permission_decision_reason
        .as_deref()
        .and_then(non_empty);
    let legacy_reason = parsed.reason.as_deref().and_then(non_empty);
    let invalid = if !universal.proceed {
        Some("PreToolUse hook returned unsupported continue:false")
    } else if universal.stop_reason.is_some() {
        Some("PreToolUse hook returned unsupported stopReason")
    } else if universal.suppress_output {
        Some("PreToolUse hook returned unsupported suppressOutput")
    } else if uses_specific {
        match specific.permission_decision.as_deref() {
            _ if specific.updated_input.is_some()
                && specific.permission_decision.as_deref() != Some("allow") =>
            {
                Some("PreToolUse hook returned updatedInput without permissionDecision:allow")
            }
            Some("allow") if specific.updated_input.is_none() => {
                Some("PreToolUse hook returned unsupported permissionDecision:allow")
            }
            Some("ask") => Some("PreToolUse hook returned unsupported permissionDecision:ask"),
            Some("deny") if deny_reason.is_none() => Some(
                "PreToolUse hook returned permissionDecision:deny without a non-empty permissionDecisionReason",
            ),
            None => Some(
                "PreToolUse hook returned permissionDecisionReason without permissionDecision",
            ),
            _ => None,
        }
    } else {
        match parsed.decision.as_deref() {
            Some("approve") => Some("PreToolUse hook returned unsupported decision:approve"),
            Some(_) if legacy_reason.is_none() => {
                Some("PreToolUse hook returned decision:block without a non-empty reason")
            }
            None if parsed.reason.is_some() => {
                Some("PreToolUse hook returned reason without decision")
            }
            _ => None,
        }
    };
    if let Some(invalid) = invalid {
        outcome.fail(invalid);
        return;
    }
    if let Some(context) = specific.additional_context {
        outcome.context(context);
    }
    let block = if uses_specific {
        deny_reason.filter(|_| specific.permission_decision.as_deref() == Some("deny"))
    } else {
        legacy_reason.filter(|_| parsed.decision.as_deref() == Some("block"))
    };
    match block {
        Some(reason) => outcome.feedback(HookRunStatus::Blocked, reason),
        None => outcome.updated_input = specific.updated_input,
    }
}

fn permission_request(parsed: Parsed, outcome: &mut HookOutcome) {
    let universal = &parsed.universal;
    let decision = parsed.specific.and_then(|s| s.decision);
    let invalid = if !universal.proceed {
        Some("PermissionRequest hook returned unsupported continue:false")
    } else if universal.stop_reason.is_some() {
        Some("PermissionRequest hook returned unsupported stopReason")
    } else if universal.suppress_output {
        Some("PermissionRequest hook returned unsupported suppressOutput")
    } else {
        decision.as_ref().and_then(|d| {
            if d.updated_input.is_some() {
                Some("PermissionRequest hook returned unsupported updatedInput")
            } else if d.updated_permissions.is_some() {
                Some("PermissionRequest hook returned unsupported updatedPermissions")
            } else if d.add_directories.is_some() {
                Some("PermissionRequest hook returned unsupported addDirectories")
            } else if d.interrupt {
                Some("PermissionRequest hook returned unsupported interrupt:true")
            } else {
                None
            }
        })
    };
    if let Some(invalid) = invalid {
        outcome.fail(invalid);
        return;
    }
    match decision {
        Some(d) if d.behavior == Behavior::Allow => outcome.permission = Some(Permission::Allow),
        Some(d) => {
            let message = d
                .message
                .as_deref()
                .and_then(non_empty)
                .unwrap_or_else(|| "PermissionRequest hook denied approval".to_owned());
            outcome.permission = Some(Permission::Deny(message.clone()));
            outcome.feedback(HookRunStatus::Blocked, message);
            outcome.block = None;
        }
        None => {}
    }
}

fn post_tool_use(parsed: Parsed, outcome: &mut HookOutcome) {
    let universal = parsed.universal;
    let specific = parsed.specific.unwrap_or_default();
    let blocks = parsed.decision.is_some();
    let invalid = if universal.suppress_output {
        Some("PostToolUse hook returned unsupported suppressOutput")
    } else if specific.updated_mcp_tool_output.is_some() {
        Some("PostToolUse hook returned unsupported updatedMCPToolOutput")
    } else if blocks && parsed.reason.as_deref().and_then(non_empty).is_none() {
        Some("PostToolUse hook returned decision:block without a non-empty reason")
    } else if !blocks && universal.proceed && parsed.reason.is_some() {
        Some("PostToolUse hook returned reason without decision")
    } else {
        None
    };
    if invalid.is_none() {
        if let Some(context) = specific.additional_context {
            outcome.context(context);
        }
    }
    if !universal.proceed {
        outcome.stopped(HookEvent::PostToolUse, universal.stop_reason, true);
        // The model still learns why: the hook's reason, else the stop text.
        outcome.block = parsed
            .reason
            .as_deref()
            .and_then(non_empty)
            .or(outcome.stop.clone());
    } else if let Some(invalid) = invalid {
        outcome.fail(invalid);
    } else if let Some(reason) = parsed.reason.filter(|_| blocks) {
        outcome.feedback(HookRunStatus::Blocked, reason);
    }
}

fn prompt_or_stop(event: HookEvent, parsed: Parsed, outcome: &mut HookOutcome) {
    let reason = parsed.reason.as_deref().and_then(non_empty);
    let invalid_block = parsed.decision.is_some() && reason.is_none();
    if event == HookEvent::UserPromptSubmit && !invalid_block {
        if let Some(context) = parsed.specific.and_then(|s| s.additional_context) {
            outcome.context(context);
        }
    }
    if !parsed.universal.proceed {
        outcome.stopped(event, parsed.universal.stop_reason, false);
    } else if invalid_block {
        outcome.fail(format!(
            "{event} hook returned decision:block without a non-empty reason"
        ));
    } else if let Some(reason) = reason.filter(|_| parsed.decision.is_some()) {
        outcome.feedback(HookRunStatus::Blocked, reason);
    }
}

fn json_label(event: HookEvent) -> &'static str {
    match event {
        HookEvent::PreToolUse => "pre-tool-use",
        HookEvent::PermissionRequest => "permission-request",
        HookEvent::PostToolUse => "post-tool-use",
        HookEvent::SessionStart => "session start",
        HookEvent::UserPromptSubmit => "user prompt submit",
        HookEvent::Stop => "stop hook",
        HookEvent::PreCompact => "PreCompact hook",
        HookEvent::PostCompact => "PostCompact hook",
        HookEvent::SessionEnd => "SessionEnd hook",
    }
}

fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Combines the outcomes of one event's runs, given in configured order, each with its
/// position in completion order.
pub fn aggregate(event: HookEvent, outcomes: &[(HookOutcome, usize)]) -> Decision {
    let mut decision = Decision::default();
    for (outcome, _) in outcomes {
        decision
            .additional_context
            .extend(outcome.additional_context.iter().cloned());
        decision
            .system_messages
            .extend(outcome.system_message.iter().cloned());
        if decision.stop_turn.is_none() {
            decision.stop_turn.clone_from(&outcome.stop);
        }
    }
    let blocks: Vec<String> = outcomes
        .iter()
        .filter_map(|(o, _)| o.block.clone())
        .collect();
    decision.block = match event {
        // Every hook's text reaches the model; Codex joins them with a blank line.
        HookEvent::PostToolUse => join(blocks),
        // A stop beats a continuation: the turn ends.
        HookEvent::Stop if decision.stop_turn.is_some() => None,
        HookEvent::Stop => join(blocks),
        _ => blocks.into_iter().next(),
    };
    // Any deny is final, so a broad allow never overrules a specific deny.
    let permissions = outcomes.iter().filter_map(|(o, _)| o.permission.as_ref());
    decision.permission = permissions
        .clone()
        .find(|p| matches!(p, Permission::Deny(_)))
        .cloned();
    if decision.permission.is_none() && permissions.clone().next().is_some() {
        decision.permission = Some(Permission::Allow);
    }
    if event == HookEvent::PreToolUse && decision.block.is_none() {
        decision.updated_input = outcomes
            .iter()
            .filter_map(|(o, done)| o.updated_input.clone().map(|input| (*done, input)))
            .max_by_key(|(done, _)| *done)
            .map(|(_, input)| input);
    }
    decision
}

fn join(texts: Vec<String>) -> Option<String> {
    (!texts.is_empty()).then(|| texts.join("\n\n"))
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
