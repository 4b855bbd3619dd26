//! Running the model's tool calls: each call becomes a task that reports its item events and
//! yields the output item that goes back into the history.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::approval::{
    must_ask, ApprovalRequest, Approver, CommandContext, CommandPlan, ReviewDecision,
    SessionApprovals,
};
use crate::command_runs::{self, CommandRunner};
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
    ChangeKind, CommandStatus, Event, FileUpdateChange, ItemDetails, PatchStatus, ThreadItem,
    TodoItem,
};
use wright_tools::apply_patch::{self, ChangeKind as PatchKind};
use wright_tools::call::{self, Payload, ShellCall, ShellCommand, ShellStyle, ToolCall};
use wright_tools::plan::{PlanArgs, StepStatus, PLAN_UPDATED};
use wright_tools::shell::{self, ExecError, ExecRequest};
use wright_tools::truncate::{approx_tokens, model_output};

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
            return self.spawn_call(call, cancel);
        };
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
            let mut out = match ctx.spawn_call(call, cancel).await {
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
    ) -> JoinHandle<Value> {
        if let Some(route) = crate::mcp_tools::route(self.settings.mcp.as_ref(), &call.name) {
            return self.spawn_mcp(route, call, cancel);
        }
        if !call.custom && matches!(call.name.as_str(), "request_user_input" | "view_image") {
            return self.spawn_function(call, cancel);
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
        let (wait, done) = match self.order.lock() {
            Ok(mut order) => order.schedule(exclusive),
            Err(_) => (Vec::new(), watch::channel(false).0),
        };
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
    ) -> JoinHandle<Value> {
        if let crate::mcp_tools::Route::Tool(tool) = &route {
            self.emit(crate::mcp_tools::started_item(&call, tool));
        }
        let (wait, done) = match self.order.lock() {
            Ok(mut order) => order.schedule(false),
            Err(_) => (Vec::new(), watch::channel(false).0),
        };
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
    ) -> JoinHandle<Value> {
        let (wait, done) = match self.order.lock() {
            Ok(mut order) => order.schedule(false),
            Err(_) => (Vec::new(), watch::channel(false).0),
        };
        let ctx = Arc::clone(self);
        tokio::spawn(async move {
            for mut earlier in wait {
                let _ = earlier.wait_for(|finished| *finished).await;
            }
            let output = match call.name.as_str() {
                "view_image" => ctx.view_image(&call.payload).await,
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

    fn argv(&self, call: &ShellCall) -> Vec<String> {
        match (&call.command, &call.session) {
            (ShellCommand::Script(script), Some(opts)) => {
                let shell = opts.shell.as_deref().unwrap_or(&self.settings.shell);
                let flag = if opts.login { "-lc" } else { "-c" };
                vec![shell.to_string(), flag.to_string(), script.clone()]
            }
            (ShellCommand::Script(script), None) => {
                shell::script_argv(&self.settings.shell, script)
            }
            (ShellCommand::Argv(argv), _) => argv.clone(),
        }
    }

    /// Announces the command. An `exec_command` that may outlive its call gets its session
    /// id now, so its item carries it from the start; a client's terminal (which runs a
    /// command to its end) takes no sessions.
    fn start_command(&self, id: &str, call: &ShellCall) -> (Vec<String>, PathBuf, Option<u32>) {
        let argv = self.argv(call);
        let cwd = match &call.workdir {
            Some(dir) => resolve(&self.settings.cwd, dir),
            None => self.settings.cwd.clone(),
        };
        let session = (call.session.is_some() && self.settings.command_runner.is_none())
            .then(|| self.settings.exec_sessions.reserve());
        self.emit(Event::ItemStarted(command_item(
            id,
            &argv,
            &cwd,
            String::new(),
            None,
            CommandStatus::InProgress,
            None,
            session.map(|id| id.to_string()),
        )));
        (argv, cwd, session)
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

    /// Whether the command may run, whether to ask first, and whether it runs confined (see
    /// [`crate::approval::plan_command`], shared with the App Server's `command/exec`).
    fn plan_command(&self, call: &ShellCall, argv: &[String]) -> Result<CommandPlan, String> {
        crate::approval::plan_command(
            argv,
            call.escalate,
            CommandContext {
                approval_policy: self.settings.approval_policy,
                sandbox_mode: self.settings.sandbox.mode,
                exec_policy: &self.settings.exec_policy,
                session: &self.settings.session,
                user_shell: Some(&self.settings.shell),
            },
        )
    }

    /// The command's approvals (exec policy, the user, the session's earlier answers) and
    /// confinement: what to execute (the sandbox launcher first when confined) and whether it
    /// is confined, or the text for the model when it must not run. Its item is completed on
    /// refusal.
    pub(crate) async fn authorize(
        &self,
        id: &str,
        call: &ShellCall,
        argv: &[String],
        cwd: &Path,
        cancel: &CancellationToken,
    ) -> Result<(Vec<String>, bool), String> {
        let plan = match self.plan_command(call, argv) {
            Ok(plan) => plan,
            Err(refusal) => {
                self.emit(Event::ItemCompleted(command_item(
                    id,
                    argv,
                    cwd,
                    refusal.clone(),
                    None,
                    CommandStatus::Declined,
                    None,
                    None,
                )));
                return Err(refusal);
            }
        };
        let mut sandboxed = plan.sandboxed;
        if plan.ask {
            let request = ApprovalRequest::Command {
                item_id: id.to_string(),
                command: shell::display_command(argv),
                argv: argv.to_vec(),
                cwd: cwd.to_path_buf(),
                reason: call.justification.clone(),
            };
            let session = &self.settings.session;
            // Exactly what ran, wrappers stripped: a line with assignments, git global options,
            // aliases or open-ended arguments has no keys and is asked about every time.
            let keys = plan.session_keys.clone();
            let remember = || {
                for key in keys.iter().flatten() {
                    session.allow_prefix(key);
                }
            };
            if let Err(reason) = self.approved(request, cancel, remember).await {
                self.emit(Event::ItemCompleted(command_item(
                    id,
                    argv,
                    cwd,
                    String::new(),
                    None,
                    CommandStatus::Declined,
                    None,
                    None,
                )));
                return Err(
                    reason.unwrap_or_else(|| "The user declined to run this command.".into())
                );
            }
            if call.escalate {
                sandboxed = false;
            }
        }
        let launch = if sandboxed {
            match self.settings.sandbox.wrap(argv) {
                Ok(wrapped) => wrapped,
                Err(why) => {
                    let text = format!(
                        "not run: the {} sandbox cannot be enforced here: {why}. Run wright with --sandbox danger-full-access to run commands unconfined.",
                        self.settings.sandbox.mode.as_str()
                    );
                    self.emit(Event::ItemCompleted(command_item(
                        id,
                        argv,
                        cwd,
                        text.clone(),
                        None,
                        CommandStatus::Failed,
                        None,
                        None,
                    )));
                    return Err(text);
                }
            }
        } else {
            argv.to_vec()
        };
        Ok((launch, sandboxed))
    }

    async fn run_command(
        &self,
        id: &str,
        call: ShellCall,
        argv: Vec<String>,
        cwd: PathBuf,
        cancel: &CancellationToken,
    ) -> String {
        let (launch, sandboxed) = match self.authorize(id, &call, &argv, &cwd, cancel).await {
            Ok(authorized) => authorized,
            Err(text) => return text,
        };
        let request = ExecRequest {
            argv: launch,
            cwd: cwd.clone(),
            timeout: call
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(self.settings.timeout),
            env: Some(self.settings.env.as_ref().clone()),
        };
        let limit_tokens = call
            .max_output_tokens
            .unwrap_or(self.settings.output_token_limit)
            .min(self.settings.output_token_limit);
        let stream = |chunk: &[u8]| {
            self.emit(Event::CommandOutputDelta {
                item_id: id.to_string(),
                delta: String::from_utf8_lossy(chunk).into_owned(),
            })
        };
        let mut result = self.exec(id, &request, cancel, &stream).await;
        // `on-failure`: a command that failed confined may be run again unconfined, if the user
        // agrees.
        let failed_confined = matches!(&result, Ok(out) if out.exit_code != 0) && sandboxed;
        if failed_confined && self.settings.approval_policy == ApprovalPolicy::OnFailure {
            let request_again = ApprovalRequest::Command {
                item_id: id.to_string(),
                command: shell::display_command(&argv),
                argv: argv.clone(),
                cwd: cwd.clone(),
                reason: Some(
                    "The command failed inside the sandbox. Run it again without the sandbox?"
                        .into(),
                ),
            };
            if self.approved(request_again, cancel, || {}).await.is_ok() {
                let unconfined = ExecRequest {
                    argv: argv.clone(),
                    ..request.clone()
                };
                result = self.exec(id, &unconfined, cancel, &stream).await;
            }
        }
        match result {
            Ok(out) => {
                let status = if out.exit_code == 0 {
                    CommandStatus::Completed
                } else {
                    CommandStatus::Failed
                };
                let text = format_command_output(
                    call.style,
                    out.exit_code,
                    out.duration,
                    &out.output,
                    limit_tokens * 4,
                );
                self.emit(Event::ItemCompleted(command_item(
                    id,
                    &argv,
                    &cwd,
                    out.output,
                    Some(out.exit_code),
                    status,
                    Some(out.duration),
                    None,
                )));
                text
            }
            Err(ExecError::Cancelled { output }) => {
                self.emit(Event::ItemCompleted(command_item(
                    id,
                    &argv,
                    &cwd,
                    output,
                    None,
                    CommandStatus::Failed,
                    None,
                    None,
                )));
                "command interrupted by the user".into()
            }
            Err(err) => {
                let message = err.to_string();
                self.emit(Event::ItemCompleted(command_item(
                    id,
                    &argv,
                    &cwd,
                    message.clone(),
                    None,
                    CommandStatus::Failed,
                    None,
                    None,
                )));
                message
            }
        }
    }

    /// Runs a command the engine decided on: in the client's terminal when it runs commands,
    /// else here. Either way `request.argv` is what executes (the sandbox launcher first when
    /// confined) with `request.env` as its whole environment.
    async fn exec(
        &self,
        id: &str,
        request: &ExecRequest,
        cancel: &CancellationToken,
        stream: &(dyn Fn(&[u8]) + Sync),
    ) -> Result<shell::ExecOutput, ExecError> {
        match &self.settings.command_runner {
            Some(runner) => command_runs::run(runner, id, request, cancel, stream).await,
            None => shell::run_streaming(request, cancel, stream).await,
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

#[allow(clippy::too_many_arguments)]
pub(crate) fn command_item(
    id: &str,
    argv: &[String],
    cwd: &Path,
    output: String,
    exit_code: Option<i32>,
    status: CommandStatus,
    duration: Option<Duration>,
    process_id: Option<String>,
) -> ThreadItem {
    ThreadItem {
        id: id.to_string(),
        details: ItemDetails::CommandExecution {
            command: shell::display_command(argv),
            aggregated_output: output,
            exit_code,
            status,
            cwd: cwd.display().to_string(),
            duration_ms: duration.map(|d| d.as_millis() as u64),
            process_id,
        },
    }
}

fn resolve(cwd: &Path, dir: &str) -> PathBuf {
    let p = Path::new(dir);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// The text the model reads after a command, in the shape of the tool it called.
fn format_command_output(
    style: ShellStyle,
    exit_code: i32,
    duration: Duration,
    output: &str,
    max_bytes: usize,
) -> String {
    let body = model_output(output, max_bytes);
    match style {
        ShellStyle::ExecCommand => format!(
            "Chunk ID: {}\nWall time: {:.4} seconds\nProcess exited with code {exit_code}\nOriginal token count: {}\nOutput:\n{body}",
            crate::unified_exec::chunk_id(),
            duration.as_secs_f64(),
            approx_tokens(output.len()),
        ),
        ShellStyle::Shell => format!(
            "Exit code: {exit_code}\nWall time: {:.1} seconds\nOutput:\n{body}",
            duration.as_secs_f64()
        ),
    }
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

    #[test]
    fn exec_command_output_shape() {
        let text = format_command_output(
            ShellStyle::ExecCommand,
            0,
            Duration::from_millis(12),
            "a\n",
            1000,
        );
        let (chunk, rest) = text.split_once('\n').unwrap();
        assert!(chunk.starts_with("Chunk ID: ") && chunk.len() == "Chunk ID: ".len() + 6);
        assert_eq!(
            rest,
            "Wall time: 0.0120 seconds\nProcess exited with code 0\nOriginal token count: 1\nOutput:\na\n"
        );
    }
}
