//! Running the model's tool calls: each call becomes a task that reports its item events and
//! yields the output item that goes back into the history.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::approval::{must_ask, ApprovalRequest, Approver, ReviewDecision, SessionApprovals};
use crate::command_runs::CommandRunner;
use crate::command_tool::resolve;
use crate::config::ApprovalPolicy;
use crate::exec_policy::ExecPolicy;
use crate::file_reads::{self, FileReader};
use crate::file_writes::{self, FileWriter};
use crate::sandbox::SandboxLaunch;
use crate::turn_diff::{hunks, TurnDiff};
use serde_json::{json, Value};

pub(crate) use crate::dispatch::{classify, Dispatch, PendingCall};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wright_protocol::{
    ChangeKind, Event, FileUpdateChange, ItemDetails, PatchStatus, ThreadItem, TodoItem,
};
use wright_tools::apply_patch::{self, ChangeKind as PatchKind};
use wright_tools::call::{self, Payload, ToolCall};
use wright_tools::plan::{PlanArgs, StepStatus, PLAN_UPDATED};

/// Orders calls that must not overlap: a patch waits for every call dispatched before it, and
/// every call dispatched after a patch waits for the patch. Commands run alongside each other.
#[derive(Default)]
struct Order {
    last_patch: Option<watch::Receiver<bool>>,
    since_patch: Vec<watch::Receiver<bool>>,
}

impl Order {
    /// Reserves a place, in dispatch order: what to wait for, and the signal to give when done.
    fn schedule(&mut self, exclusive: bool) -> (Vec<watch::Receiver<bool>>, watch::Sender<bool>) {
        let (done, signal) = watch::channel(false);
        let wait = if exclusive {
            let mut wait = std::mem::take(&mut self.since_patch);
            wait.extend(self.last_patch.replace(signal));
            wait
        } else {
            self.since_patch.push(signal);
            self.last_patch.iter().cloned().collect()
        };
        (wait, done)
    }
}

/// A place in the call order: what to wait for, and the signal to give when done.
type Slot = (Vec<watch::Receiver<bool>>, watch::Sender<bool>);

#[derive(Default)]
struct PlanState {
    item_id: Option<String>,
    items: Vec<TodoItem>,
}

/// What the engine hands each turn's tools.
pub(crate) struct ToolSettings {
    pub cwd: PathBuf,
    pub shell: String,
    pub timeout: Duration,
    pub output_token_limit: usize,
    pub approval_policy: ApprovalPolicy,
    pub approver: Option<Approver>,
    /// Writes approved patches through the client instead of the engine (see
    /// [`crate::file_writes`]).
    pub file_writer: Option<FileWriter>,
    /// Takes the current text of the files a patch changes from the client (see
    /// [`crate::file_reads`]).
    pub file_reader: Option<FileReader>,
    /// Runs commands in the client's terminals, still confined (see [`crate::command_runs`]).
    pub command_runner: Option<CommandRunner>,
    pub session: Arc<SessionApprovals>,
    /// The turn's own token: a `cancel` decision stops the whole turn.
    pub turn_cancel: CancellationToken,
    /// The environment commands get (already filtered by `shell_environment_policy`).
    pub env: Arc<Vec<(String, String)>>,
    pub exec_policy: Arc<ExecPolicy>,
    pub sandbox: Arc<SandboxLaunch>,
    /// The MCP servers whose tools the model may call.
    pub mcp: Option<wright_mcp::McpManager>,
    /// Tools a function-style `tool_search` found; the thread declares them.
    pub mcp_found: crate::mcp_tools::Found,
    /// The thread's command sessions (`exec_command` that outlives its call, `write_stdin`).
    pub exec_sessions: Arc<crate::exec_sessions::ExecSessions>,
    /// Asks the user the model's questions (`request_user_input`); none: nobody to ask.
    pub user_input: Option<crate::user_input::UserInputAsker>,
    /// The model, and whether it reads images (`view_image`).
    pub model: String,
    pub model_images: bool,
    /// The thread's hooks (`PreToolUse`, `PermissionRequest`, `PostToolUse`).
    pub hooks: Option<Arc<crate::hooks::ThreadHooks>>,
    /// The turn's id, as hooks are told it.
    pub turn_id: String,
    /// Sub-agents (`spawn_agent`, `wait_agent`, ...): none when the host runs none.
    pub agents: Option<crate::sub_agents::AgentTurn>,
}

/// What every tool call in a turn shares.
pub(crate) struct ToolContext {
    settings: ToolSettings,
    events: UnboundedSender<Event>,
    plan: Mutex<PlanState>,
    order: Mutex<Order>,
    diff: Mutex<TurnDiff>,
}

impl ToolContext {
    pub fn new(settings: ToolSettings, events: UnboundedSender<Event>) -> Self {
        Self {
            settings,
            events,
            plan: Mutex::new(PlanState::default()),
            order: Mutex::new(Order::default()),
            diff: Mutex::new(TurnDiff::default()),
        }
    }

    pub(crate) fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// The turn's event stream.
    pub(crate) fn events(&self) -> &UnboundedSender<Event> {
        &self.events
    }

    pub(crate) fn settings(&self) -> &ToolSettings {
        &self.settings
    }

    pub(crate) fn found_tools(&self, found: Vec<wright_mcp::McpTool>) {
        if let Ok(mut all) = self.settings.mcp_found.lock() {
            all.extend(found);
        }
    }

    /// Starts the call, between the `PreToolUse` and `PostToolUse` hooks when the thread has
    /// any: a hook may refuse the call (the model gets its reason), rewrite its input, or add
    /// to its result.
    pub fn spawn(
        self: &Arc<Self>,
        call: PendingCall,
        cancel: CancellationToken,
    ) -> JoinHandle<Value> {
        use wright_hooks::HookEvent;
        let hooks = self
            .settings
            .hooks
            .as_ref()
            .filter(|h| h.any(HookEvent::PreToolUse) || h.any(HookEvent::PostToolUse))
            .cloned();
        let Some(hooks) = hooks else {
            return self.spawn_call(call, cancel, None);
        };
        // The call's place in the order is taken now, in dispatch order, however long its
        // hook takes: a patch still waits for the calls before it, and they for it.
        let exclusive = crate::mcp_tools::route(self.settings.mcp.as_ref(), &call.name).is_none()
            && is_patch(&call);
        let slot = self.slot(exclusive);
        let ctx = Arc::clone(self);
        tokio::spawn(async move {
            let kind = if call.custom {
                "custom_tool_call_output"
            } else {
                "function_call_output"
            };
            let turn = ctx.settings.turn_id.clone();
            let (tool, input) = crate::hooks::tool_view(&call.name, &call.payload, call.custom);
            let pre =
                crate::hooks::pre_tool_use(&hooks.session, &turn, &tool, &input, &call.call_id);
            let decision = hooks
                .run(HookEvent::PreToolUse, Some(&tool), pre, &ctx.events)
                .await;
            if let Some(reason) = decision.block {
                let text = format!("This call was blocked by a hook: {reason}");
                return json!({"type": kind, "call_id": call.call_id, "output": text});
            }
            let mut call = call;
            if let Some(updated) = decision.updated_input {
                call.payload = crate::hooks::rewritten(&call, &updated);
            }
            let call_id = call.call_id.clone();
            let mut out = match ctx.spawn_call(call, cancel, Some(slot)).await {
                Ok(out) => out,
                Err(_) => {
                    json!({"type": kind, "call_id": call_id, "output": "the tool failed unexpectedly"})
                }
            };
            let response = out["output"].clone();
            let post = crate::hooks::post_tool_use(
                &hooks.session,
                &turn,
                &tool,
                &input,
                &response,
                &call_id,
            );
            let decision = hooks
                .run(HookEvent::PostToolUse, Some(&tool), post, &ctx.events)
                .await;
            let mut notes = decision.additional_context;
            notes.extend(decision.block);
            if !notes.is_empty() {
                crate::hooks::append_notes(&mut out["output"], &notes);
            }
            out
        })
    }

    /// Starts the call itself. Command items are announced before this returns, so calls
    /// from one reply report `item.started` in call order.
    fn spawn_call(
        self: &Arc<Self>,
        call: PendingCall,
        cancel: CancellationToken,
        reserved: Option<Slot>,
    ) -> JoinHandle<Value> {
        if let Some(route) = crate::mcp_tools::route(self.settings.mcp.as_ref(), &call.name) {
            return self.spawn_mcp(route, call, cancel, reserved);
        }
        if !call.custom
            && (matches!(call.name.as_str(), "request_user_input" | "view_image")
                || crate::sub_agents::is_collab_tool(&call.name))
        {
            return self.spawn_function(call, cancel, reserved);
        }
        let payload = if call.custom {
            Payload::Custom(&call.payload)
        } else {
            Payload::Function(&call.payload)
        };
        let parsed = call::parse(&call.name, payload);
        let ctx = Arc::clone(self);
        let started = match &parsed {
            Ok(ToolCall::Shell(shell_call)) => Some(ctx.start_command(&call.call_id, shell_call)),
            _ => None,
        };
        let exclusive = matches!(parsed, Ok(ToolCall::ApplyPatch { .. }));
        let (wait, done) = reserved.unwrap_or_else(|| self.slot(exclusive));
        tokio::spawn(async move {
            for mut earlier in wait {
                // An error means that call's task is gone: nothing left to wait for.
                let _ = earlier.wait_for(|finished| *finished).await;
            }
            let text = match parsed {
                Err(err) => err.to_string(),
                Ok(ToolCall::Shell(shell_call)) => {
                    let (argv, cwd, session) = started.unwrap_or_default();
                    let _reserved =
                        crate::exec_sessions::Reserved::new(&ctx.settings.exec_sessions, session);
                    match session {
                        Some(session) => {
                            ctx.run_session(&call.call_id, session, shell_call, argv, cwd, &cancel)
                                .await
                        }
                        None => {
                            ctx.run_command(&call.call_id, shell_call, argv, cwd, &cancel)
                                .await
                        }
                    }
                }
                Ok(ToolCall::WriteStdin(args)) => ctx.write_stdin(args, &cancel).await,
                Ok(ToolCall::ApplyPatch { input, workdir }) => {
                    ctx.run_patch(&call.call_id, input, workdir, &cancel).await
                }
                Ok(ToolCall::UpdatePlan(args)) => ctx.update_plan(args),
            };
            let _ = done.send(true);
            let kind = if call.custom {
                "custom_tool_call_output"
            } else {
                "function_call_output"
            };
            json!({"type": kind, "call_id": call.call_id, "output": text})
        })
    }

    /// MCP calls run alongside commands; they never touch files wright tracks.
    fn spawn_mcp(
        self: &Arc<Self>,
        route: crate::mcp_tools::Route,
        call: PendingCall,
        cancel: CancellationToken,
        reserved: Option<Slot>,
    ) -> JoinHandle<Value> {
        if let crate::mcp_tools::Route::Tool(tool) = &route {
            self.emit(crate::mcp_tools::started_item(&call, tool));
        }
        let (wait, done) = reserved.unwrap_or_else(|| self.slot(false));
        let ctx = Arc::clone(self);
        tokio::spawn(async move {
            for mut earlier in wait {
                let _ = earlier.wait_for(|finished| *finished).await;
            }
            let output = crate::mcp_tools::run(&ctx, route, &call, &cancel).await;
            let _ = done.send(true);
            output
        })
    }

    /// Tools that touch no file wright tracks and run alongside commands: the questions for
    /// the user, and images for the model.
    fn spawn_function(
        self: &Arc<Self>,
        call: PendingCall,
        cancel: CancellationToken,
        reserved: Option<Slot>,
    ) -> JoinHandle<Value> {
        let (wait, done) = reserved.unwrap_or_else(|| self.slot(false));
        let ctx = Arc::clone(self);
        tokio::spawn(async move {
            for mut earlier in wait {
                let _ = earlier.wait_for(|finished| *finished).await;
            }
            let output = match call.name.as_str() {
                "view_image" => ctx.view_image(&call.payload).await,
                name if crate::sub_agents::is_collab_tool(name) => json!(
                    crate::sub_agents::run_call(&ctx, name, &call.call_id, &call.payload, &cancel)
                        .await
                ),
                _ => json!(match crate::user_input::parse(&call.payload) {
                    Ok(questions) => {
                        crate::user_input::ask(
                            ctx.settings.user_input.as_ref(),
                            &call.call_id,
                            questions,
                            &cancel,
                        )
                        .await
                    }
                    Err(why) => why,
                }),
            };
            let _ = done.send(true);
            json!({"type": "function_call_output", "call_id": call.call_id, "output": output})
        })
    }

    /// Reserves the call's place in the order (see [`Order`]).
    fn slot(&self, exclusive: bool) -> Slot {
        match self.order.lock() {
            Ok(mut order) => order.schedule(exclusive),
            Err(_) => (Vec::new(), watch::channel(false).0),
        }
    }

    /// Asks the user (when a client can be asked) and says whether to go ahead: `Err` is a
    /// no, with the reason to give the model when the decider gave one. A "for the session"
    /// answer is remembered through `remember`; a `cancel` answer also stops the turn.
    pub(crate) async fn approved(
        &self,
        request: ApprovalRequest,
        cancel: &CancellationToken,
        remember: impl FnOnce(),
    ) -> Result<(), Option<String>> {
        // A `PermissionRequest` hook may decide before anyone is asked.
        if let Some(hooks) = self
            .settings
            .hooks
            .as_ref()
            .filter(|h| h.any(wright_hooks::HookEvent::PermissionRequest))
        {
            let (tool, input) = crate::hooks::approval_view(&request);
            let payload = crate::hooks::permission_request(
                &hooks.session,
                &self.settings.turn_id,
                &tool,
                &input,
            );
            let decision = hooks
                .run(
                    wright_hooks::HookEvent::PermissionRequest,
                    Some(&tool),
                    payload,
                    &self.events,
                )
                .await;
            match decision.permission {
                Some(wright_hooks::Permission::Allow) => return Ok(()),
                Some(wright_hooks::Permission::Deny(reason)) => return Err(Some(reason)),
                None => {}
            }
        }
        // Nobody to ask means no.
        let Some(approver) = &self.settings.approver else {
            return Err(None);
        };
        let decision = tokio::select! {
            decision = approver(request) => decision,
            _ = cancel.cancelled() => ReviewDecision::Cancel,
        };
        match decision {
            ReviewDecision::Accept => Ok(()),
            ReviewDecision::AcceptForSession => {
                remember();
                Ok(())
            }
            ReviewDecision::Decline => Err(None),
            ReviewDecision::DeclineWithReason(reason) => Err(Some(reason)),
            ReviewDecision::Cancel => {
                self.settings.turn_cancel.cancel();
                Err(None)
            }
        }
    }

    async fn run_patch(
        &self,
        id: &str,
        input: String,
        workdir: Option<String>,
        cancel: &CancellationToken,
    ) -> String {
        let started = Instant::now();
        let cwd = match &workdir {
            Some(dir) => resolve(&self.settings.cwd, dir),
            None => self.settings.cwd.clone(),
        };
        // The client's text of the files, where it holds them (an editor's unsaved buffers).
        let supplied = match &self.settings.file_reader {
            Some(reader) => {
                let sandbox = &self.settings.sandbox;
                match file_reads::read_for_patch(reader, sandbox, &input, &cwd, cancel).await {
                    Ok(supplied) => supplied,
                    Err(err) => return format!("apply_patch verification failed: {err}"),
                }
            }
            None => Default::default(),
        };
        let input_text = input.clone();
        let patch_cwd = cwd.clone();
        let from_client = supplied.clone();
        // Reading and writing files is blocking work.
        let planned = tokio::task::spawn_blocking(move || {
            apply_patch::plan_patch_with(&input, &cwd, &from_client)
        })
        .await;
        let plan = match planned {
            Ok(Ok(plan)) => plan,
            Ok(Err(err)) => return format!("apply_patch verification failed: {err}"),
            Err(join) => return format!("apply_patch failed: {join}"),
        };
        let contents = plan.contents();
        let changes: Vec<FileUpdateChange> = contents
            .iter()
            .map(|(c, before, after)| FileUpdateChange {
                path: c.path.display().to_string(),
                kind: match c.kind {
                    PatchKind::Add => ChangeKind::Add,
                    PatchKind::Delete => ChangeKind::Delete,
                    PatchKind::Update => ChangeKind::Update,
                },
                move_path: c.move_path.as_ref().map(|p| p.display().to_string()),
                diff: hunks(
                    before.as_deref().unwrap_or_default(),
                    after.as_deref().unwrap_or_default(),
                ),
            })
            .collect();
        let item = |status| ThreadItem {
            id: id.to_string(),
            details: ItemDetails::FileChange {
                changes: changes.clone(),
                status,
            },
        };
        // A client that writes files itself (an editor) gets the contents checked below instead;
        // a patch that deletes or moves a file, which such a client cannot express, is
        // committed here as for any other client.
        let delegated = (self.settings.file_writer.clone())
            .and_then(|writer| Some((writer, file_writes::request(id, &contents)?)));
        // What the engine commits it applies to the disk: not over changes the client has and
        // the disk does not, which it would silently drop.
        if delegated.is_none() && !supplied.is_empty() {
            let unsaved = file_reads::unsaved(&supplied).await;
            if !unsaved.is_empty() {
                return format!(
                    "apply_patch verification failed: {} differ from the editor's unsaved text, and this patch is applied to the disk; save the files first",
                    unsaved.join(", ")
                );
            }
        }
        let outside = self.settings.sandbox.patch_violations(
            contents
                .iter()
                .flat_map(|(c, _, _)| std::iter::once(&c.path).chain(c.move_path.as_ref())),
        );
        if !outside.is_empty() && self.settings.approval_policy == ApprovalPolicy::Never {
            return format!(
                "patch rejected: the {} sandbox does not allow writing {}",
                self.settings.sandbox.mode.as_str(),
                outside.join(", ")
            );
        }
        self.emit(Event::ItemStarted(item(PatchStatus::InProgress)));
        let session = &self.settings.session;
        let ask_outside = !outside.is_empty();
        if ask_outside || (must_ask(self.settings.approval_policy) && !session.patches_allowed()) {
            let reason = ask_outside.then(|| {
                format!(
                    "The patch writes outside the writable roots: {}",
                    outside.join(", ")
                )
            });
            let request = ApprovalRequest::Patch {
                item_id: id.to_string(),
                changes: changes.clone(),
                reason,
            };
            if let Err(reason) = self
                .approved(request, cancel, || session.allow_patches())
                .await
            {
                self.emit(Event::ItemCompleted(item(PatchStatus::Declined)));
                return reason.unwrap_or_else(|| "patch rejected by user".into());
            }
        }
        let committed = match delegated {
            Some((writer, request)) => {
                let summary = file_writes::summary(&contents);
                tokio::select! {
                    written = writer(request) => written.map(|()| summary),
                    _ = cancel.cancelled() => Err("interrupted before the editor wrote the files".into()),
                }
            }
            None => {
                self.commit(plan, &input_text, &patch_cwd, outside.is_empty())
                    .await
            }
        };
        let (status, text) = match committed {
            Ok(summary) => (
                PatchStatus::Completed,
                format!(
                    "Exit code: 0\nWall time: {:.1} seconds\nOutput:\n{summary}",
                    started.elapsed().as_secs_f64()
                ),
            ),
            Err(err) => (PatchStatus::Failed, format!("apply_patch failed: {err}")),
        };
        self.emit(Event::ItemCompleted(item(status)));
        if status == PatchStatus::Completed {
            let diff = match self.diff.lock() {
                Ok(mut turn) => turn.record(&self.settings.cwd, contents),
                Err(_) => None,
            };
            if let Some(diff) = diff {
                self.emit(Event::TurnDiff { diff });
            }
        }
        text
    }

    /// The engine's own commit. Inside the roots, the patch is written from inside the
    /// sandbox, where the kernel confines every write; outside them the user approved an
    /// unconfined write.
    async fn commit(
        &self,
        plan: apply_patch::PatchPlan,
        input: &str,
        cwd: &Path,
        inside_roots: bool,
    ) -> Result<String, String> {
        let confined = if inside_roots {
            self.settings.sandbox.commit_patch(input, cwd).await
        } else {
            None
        };
        match confined {
            Some(result) => result,
            None => match tokio::task::spawn_blocking(move || plan.commit()).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(join) => Err(join.to_string()),
            },
        }
    }

    fn update_plan(&self, args: PlanArgs) -> String {
        let items: Vec<TodoItem> = args
            .plan
            .iter()
            .map(|s| TodoItem {
                text: s.step.clone(),
                completed: s.status == StepStatus::Completed,
            })
            .collect();
        let Ok(mut plan) = self.plan.lock() else {
            return "plan state unavailable".into();
        };
        plan.items = items.clone();
        let event = match &plan.item_id {
            Some(id) => Event::ItemUpdated(todo_item(id, items)),
            None => {
                let id = format!("plan_{}", uuid::Uuid::now_v7());
                plan.item_id = Some(id.clone());
                Event::ItemStarted(todo_item(&id, items))
            }
        };
        self.emit(event);
        PLAN_UPDATED.into()
    }

    /// The plan item's final state, if the turn had a plan.
    pub fn finish_plan(&self) -> Option<ThreadItem> {
        let plan = self.plan.lock().ok()?;
        let id = plan.item_id.as_ref()?;
        Some(todo_item(id, plan.items.clone()))
    }
}

fn todo_item(id: &str, items: Vec<TodoItem>) -> ThreadItem {
    ThreadItem {
        id: id.to_string(),
        details: ItemDetails::TodoList { items },
    }
}

/// Whether the call edits files (a patch, also one sent through the shell): it runs alone.
fn is_patch(call: &PendingCall) -> bool {
    let payload = if call.custom {
        Payload::Custom(&call.payload)
    } else {
        Payload::Function(&call.payload)
    };
    matches!(
        call::parse(&call.name, payload),
        Ok(ToolCall::ApplyPatch { .. })
    )
}

#[cfg(test)]
#[path = "file_writes_tests.rs"]
mod file_writes_tests;

#[cfg(test)]
#[path = "delegation_tests.rs"]
mod delegation_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_items() {
        let msg = json!({"type":"message","id":"m1","role":"assistant","content":[{"type":"output_text","text":"hi"}]});
        assert!(matches!(classify(&msg), Dispatch::Message { text, .. } if text == "hi"));
        let r =
            json!({"type":"reasoning","id":"r","summary":[{"type":"summary_text","text":"think"}]});
        assert!(matches!(classify(&r), Dispatch::Reasoning { text, .. } if text == "think"));
        let c = json!({"type":"custom_tool_call","call_id":"c","name":"apply_patch","input":"x"});
        assert!(matches!(
            classify(&c),
            Dispatch::Call(PendingCall { custom: true, .. })
        ));
        assert!(matches!(
            classify(&json!({"type":"web_search_call"})),
            Dispatch::Other
        ));
    }
}
