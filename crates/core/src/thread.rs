//! A thread: its fixed prefix, its history, and the turn loop.
//!
//! The history is append-only: every request carries the previous request's items unchanged
//! plus what happened since, so the server's prompt cache keeps hitting. Two things rewrite it:
//! compaction (the pinned layers at the front stay byte-identical) and nothing else.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wright_models::{
    backoff, ApiError, ModelClient, Prompt, ResponseEvent, RetryNotice, StreamError,
};
use wright_protocol::{Event, ItemDetails, ThreadItem, TokenUsage};
use wright_tools::spec::tool_specs;

use crate::approval::{Approver, SessionApprovals};
use crate::catalog::model_info;
use crate::command_runs::CommandRunner;
use crate::compact::{self, estimate_tokens};
use crate::config::{ApprovalPolicy, Config, SandboxMode};
use crate::context;
use crate::file_reads::FileReader;
use crate::file_writes::FileWriter;
use crate::project_doc::{self, ProjectDocs};
use crate::tools::{Dispatch, ToolContext, ToolSettings};

/// Text Codex users know from a context overflow that could not be recovered.
const CONTEXT_WINDOW_MESSAGE: &str = "wright ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.";
/// How long tools get to stop after an interrupt before the turn is reported anyway.
const CANCEL_GRACE: Duration = Duration::from_secs(3);
/// Compactions a single turn may force after the server says the context is too long.
const MAX_OVERFLOW_COMPACTIONS: u32 = 2;
/// Share of the compaction limit that recent user messages may keep after a summary.
const USER_MESSAGE_SHARE: u64 = 4;
/// The user types this to compact the thread now.
pub const COMPACT_COMMAND: &str = "/compact";

/// How many times `Stop` hooks may send the model back to work in one turn.
const MAX_STOP_CONTINUATIONS: usize = 8;

mod compaction;
mod hooks;
mod sampling;

use sampling::usage_or_estimate;

/// An image attached to the user's message, already encoded as a `data:` URL.
#[derive(Debug, Clone)]
pub struct ImageInput {
    pub data_url: String,
}

#[derive(Debug, Clone, Default)]
pub struct TurnInput {
    /// The turn's id as clients know it (hooks get it); one is made up when absent.
    pub turn_id: Option<String>,
    pub text: String,
    pub images: Vec<ImageInput>,
    /// JSON Schema the final answer must follow.
    pub output_schema: Option<Value>,
    /// Settings that change from this turn on.
    pub overrides: TurnOverrides,
}

/// Per-turn changes. Each one is told to the model as a new message; nothing earlier changes.
#[derive(Debug, Clone, Default)]
pub struct TurnOverrides {
    pub cwd: Option<std::path::PathBuf>,
    pub sandbox_mode: Option<SandboxMode>,
    pub approval_policy: Option<ApprovalPolicy>,
    pub model: Option<String>,
    /// Reasoning effort from this turn on (models that reason).
    pub effort: Option<String>,
    /// Network access for commands in `workspace-write`.
    pub network_access: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TurnOutcome {
    Completed { last_message: Option<String> },
    Failed { message: String },
    Interrupted,
}

/// What one model request produced: the items received, the call outputs in call order, and
/// how the stream ended.
type Round = (Vec<Value>, Vec<Value>, Result<(), StreamError>);

pub struct Thread {
    id: String,
    config: Config,
    client: ModelClient,
    instructions: String,
    tools: Vec<Value>,
    reasoning: Option<Value>,
    /// `history[..pinned]` are the layers every request starts with; compaction keeps them.
    history: Vec<Value>,
    pinned: usize,
    /// Settings messages appended after a mid-thread change; re-sent after a compaction.
    settings_updates: Vec<Value>,
    usage: TokenUsage,
    turn_usage: TokenUsage,
    /// Size of the context at the last model response (tokens).
    context_tokens: u64,
    context_window: u64,
    compact_limit: u64,
    shell: String,
    project_docs: ProjectDocs,
    approver: Option<Approver>,
    file_writer: Option<FileWriter>,
    file_reader: Option<FileReader>,
    command_runner: Option<CommandRunner>,
    user_input: Option<crate::user_input::UserInputAsker>,
    /// The skills found when the thread started (the model's list is pinned with them).
    skills: wright_skills::Discovery,
    /// The thread's hooks, loaded at its first turn (`Some(None)`: none configured).
    hooks: Option<Option<Arc<crate::hooks::ThreadHooks>>>,
    /// The process's MCP servers; their tools join the prompt as they become ready.
    mcp: Option<wright_mcp::McpManager>,
    /// What of MCP this thread's requests have offered so far (only ever appended to).
    mcp_offer: crate::mcp_tools::Offer,
    mcp_found: crate::mcp_tools::Found,
    /// Commands the model left running (`exec_command` past its yield); they die with the
    /// thread.
    exec_sessions: Arc<crate::exec_sessions::ExecSessions>,
    session_approvals: Arc<SessionApprovals>,
    /// The session's first confined command announces missing sandbox layers; later ones not.
    sandbox_announced: Arc<std::sync::atomic::AtomicBool>,
    steer: SteerHandle,
    /// The thread's place among sub-agents (none: the host runs no sub-agents).
    agents: Option<crate::sub_agents::AgentHandle>,
}

/// Adds user input to a running turn (`turn/steer`): it is sent with the turn's next model
/// request.
#[derive(Clone, Default)]
pub struct SteerHandle(Arc<std::sync::Mutex<Vec<Value>>>);

impl SteerHandle {
    pub fn push(&self, input: &TurnInput) {
        if let Ok(mut pending) = self.0.lock() {
            pending.push(user_message(input));
        }
    }

    fn has_pending(&self) -> bool {
        self.0.lock().map(|p| !p.is_empty()).unwrap_or(false)
    }

    fn take(&self) -> Vec<Value> {
        self.0
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

impl Thread {
    pub fn new(config: Config) -> Result<Thread, ApiError> {
        Self::build(
            config,
            uuid::Uuid::now_v7().to_string(),
            None,
            TokenUsage::default(),
        )
    }

    /// A new thread whose id the caller chose (a sub-agent's worktree is named after it
    /// before the thread exists).
    pub fn with_id(config: Config, id: String) -> Result<Thread, ApiError> {
        Self::build(config, id, None, TokenUsage::default())
    }

    /// A thread continued from stored state: its id, its model-facing history (which starts
    /// with the pinned layers it was created with) and its usage so far.
    pub fn resume(
        config: Config,
        id: String,
        history: Vec<Value>,
        usage: TokenUsage,
    ) -> Result<Thread, ApiError> {
        Self::build(config, id, Some(history), usage)
    }

    fn build(
        config: Config,
        id: String,
        stored: Option<Vec<Value>>,
        usage: TokenUsage,
    ) -> Result<Thread, ApiError> {
        let client = ModelClient::new(config.provider.clone())?;
        let info = model_info(&config.model, config.provider.wire_api);
        let reasoning = info.reasoning.then(|| {
            let mut r = serde_json::Map::new();
            let effort = config
                .model_reasoning_effort
                .clone()
                .or(info.default_effort.map(String::from));
            if let Some(effort) = effort {
                r.insert("effort".into(), json!(effort));
            }
            if let Some(summary) = &config.model_reasoning_summary {
                r.insert("summary".into(), json!(summary));
            }
            Value::Object(r)
        });
        let context_window = config.model_context_window.unwrap_or(info.context_window);
        let compact_limit = config
            .model_auto_compact_token_limit
            .unwrap_or(context_window / 10 * 9);
        let shell = wright_tools::shell::user_shell();
        let project_docs = project_doc::discover(
            &config.cwd,
            &config.wright_home,
            &config.project_doc_fallback_filenames,
            config.project_doc_max_bytes,
        );
        let skills = crate::skills::discover(&config);
        let mut developer = Vec::new();
        if let Some(text) = &config.developer_instructions {
            developer.push(text.clone());
        }
        if let Some(text) = crate::skills::instructions(&config, &skills.skills, context_window) {
            developer.push(text);
        }
        developer.push(context::permissions_text(&config));
        let mut user = Vec::new();
        if let Some(docs) = &project_docs.text {
            user.push(docs.clone());
        }
        user.push(context::environment_context(
            &config,
            &shell,
            &context::today_utc(),
        ));
        let pinned_layers = vec![
            context::message("developer", &developer),
            context::message("user", &user),
        ];
        let pinned = pinned_layers.len();
        let history = match stored {
            Some(history) if history.len() >= pinned => history,
            _ => pinned_layers,
        };
        let context_tokens = estimate_tokens(&history);
        Ok(Thread {
            id,
            instructions: context::base_instructions(&config),
            tools: tool_specs(info.tool_style),
            reasoning,
            pinned,
            history,
            settings_updates: Vec::new(),
            usage,
            turn_usage: TokenUsage::default(),
            context_tokens,
            context_window,
            compact_limit,
            shell,
            project_docs,
            approver: None,
            file_writer: None,
            file_reader: None,
            command_runner: None,
            user_input: None,
            skills,
            hooks: None,
            mcp: None,
            mcp_offer: crate::mcp_tools::Offer::default(),
            mcp_found: crate::mcp_tools::Found::default(),
            exec_sessions: Arc::default(),
            session_approvals: Arc::new(SessionApprovals::default()),
            sandbox_announced: Arc::default(),
            steer: SteerHandle::default(),
            agents: None,
            client,
            config,
        })
    }

    /// Who is asked when the approval policy requires it. Without one, calls go ahead.
    pub fn set_approver(&mut self, approver: Option<Approver>) {
        self.approver = approver;
    }

    /// Who writes the files of a patch once the engine has checked and approved it. Without
    /// one (every Codex client), the engine commits patches itself, confined by the sandbox.
    pub fn set_file_writer(&mut self, writer: Option<FileWriter>) {
        self.file_writer = writer;
    }

    /// Who holds the current text of the files a patch changes (an editor's buffers). Without
    /// one, patches are planned against the files on disk.
    pub fn set_file_reader(&mut self, reader: Option<FileReader>) {
        self.file_reader = reader;
    }

    /// Who runs the commands the engine decided on, in a terminal of its own, still through
    /// the sandbox launcher. Without one, the engine runs them.
    pub fn set_command_runner(&mut self, runner: Option<CommandRunner>) {
        self.command_runner = runner;
    }

    /// The MCP servers whose tools this thread offers the model. Without them (or with none
    /// configured) the prompt has no MCP tools.
    /// Who answers the model's `request_user_input` questions (none: nobody is there).
    pub fn set_user_input(&mut self, asker: Option<crate::user_input::UserInputAsker>) {
        self.user_input = asker;
    }

    /// The thread's place among sub-agents. Above the depth limit it offers the model the
    /// multi-agent tools (declared after the others, so earlier requests stay a prefix);
    /// set before the first turn.
    pub fn set_agents(&mut self, agents: Option<crate::sub_agents::AgentHandle>) {
        self.tools.retain(|t| {
            !t["name"]
                .as_str()
                .is_some_and(crate::sub_agents::is_collab_tool)
        });
        // Small local models (compact tools) get no more tools than they can follow.
        let style = model_info(&self.config.model, self.config.provider.wire_api).tool_style;
        let room = style != wright_tools::spec::ToolStyle::Compact;
        if let Some(handle) = agents.as_ref().filter(|h| room && h.offers_tools()) {
            self.tools
                .extend(crate::sub_agents::tool_specs(handle.limits().max_threads));
        }
        self.agents = agents;
    }

    pub fn set_mcp(&mut self, mcp: Option<wright_mcp::McpManager>) {
        self.mcp = mcp;
    }

    /// The skills found when the thread started, and the files that did not load.
    pub fn skills(&self) -> &wright_skills::Discovery {
        &self.skills
    }

    /// The thread's command sessions, for clients that list or stop them.
    pub fn exec_sessions(&self) -> Arc<crate::exec_sessions::ExecSessions> {
        Arc::clone(&self.exec_sessions)
    }

    pub fn steer_handle(&self) -> SteerHandle {
        self.steer.clone()
    }

    /// The model-facing history, pinned layers first.
    pub fn history(&self) -> &[Value] {
        &self.history
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Drops the history back to its first `len` items, never below the pinned layers
    /// (`thread/revert`). The next request no longer extends the last one: the user asked
    /// for the earlier context.
    pub fn truncate_history(&mut self, len: usize) {
        self.history.truncate(len.max(self.pinned));
        self.context_tokens = estimate_tokens(&self.history);
    }

    /// Appends items to the model-facing history between turns (`thread/inject_items`, a user
    /// shell command's record), as if a turn had added them.
    pub fn append_history(&mut self, items: Vec<Value>) {
        self.context_tokens += estimate_tokens(&items);
        self.history.extend(items);
    }

    fn append(&mut self, events: &UnboundedSender<Event>, items: Vec<Value>) {
        if items.is_empty() {
            return;
        }
        let _ = events.send(Event::HistoryAppended(items.clone()));
        self.history.extend(items);
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Totals over the whole thread.
    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    /// Totals over the last turn.
    pub fn turn_usage(&self) -> TokenUsage {
        self.turn_usage
    }

    pub fn context_window(&self) -> u64 {
        self.context_window
    }

    /// The AGENTS.md files in effect and problems met while reading them.
    pub fn project_docs(&self) -> &ProjectDocs {
        &self.project_docs
    }

    /// Runs one turn to its end. Events go to `events`; `cancel` interrupts it cleanly (tool
    /// processes are killed, `TurnFailed` is emitted).
    pub async fn run_turn(
        &mut self,
        input: TurnInput,
        events: &UnboundedSender<Event>,
        cancel: CancellationToken,
    ) -> TurnOutcome {
        let emit = |e: Event| {
            let _ = events.send(e);
        };
        emit(Event::TurnStarted);
        if let Some(agents) = &self.agents {
            agents.control.turn_started(&self.id);
        }
        let turn_id = input
            .turn_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        self.turn_usage = TokenUsage::default();
        self.apply_overrides(&input.overrides, events);
        let outcome = if input.text.trim() == COMPACT_COMMAND && input.images.is_empty() {
            match self.compact(events, &cancel, &turn_id, true).await {
                Ok(()) => TurnOutcome::Completed { last_message: None },
                Err(outcome) => outcome,
            }
        } else {
            let hooks = self.thread_hooks(events).await;
            let mut items = Vec::new();
            if let Some(hooks) = &hooks {
                let decision = hooks
                    .user_prompt_submit(&turn_id, &input.text, events)
                    .await;
                if let Some(reason) = decision.block.clone().or(decision.stop_turn.clone()) {
                    return self.end_turn(
                        events,
                        TurnOutcome::Failed {
                            message: format!("the prompt was blocked by a hook: {reason}"),
                        },
                    );
                }
                items.push(user_message(&input));
                items.extend(crate::hooks::context_message(&decision));
            } else {
                items.push(user_message(&input));
            }
            // `$name` mentions bring the skill's whole SKILL.md into the conversation.
            items.extend(crate::skills::mentioned(&input.text, &self.skills.skills));
            self.append(events, items);
            let ctx = Arc::new(ToolContext::new(
                ToolSettings {
                    cwd: self.config.cwd.clone(),
                    shell: self.shell.clone(),
                    timeout: self.config.shell_timeout,
                    output_token_limit: self.config.tool_output_token_limit,
                    approval_policy: self.config.approval_policy,
                    approver: self.approver.clone(),
                    file_writer: self.file_writer.clone(),
                    file_reader: self.file_reader.clone(),
                    command_runner: self.command_runner.clone(),
                    session: Arc::clone(&self.session_approvals),
                    turn_cancel: cancel.clone(),
                    env: Arc::new(self.config.shell_environment_policy.apply(std::env::vars())),
                    exec_policy: Arc::new(self.config.exec_policy.clone()),
                    sandbox: Arc::new(crate::sandbox::SandboxLaunch::for_session(
                        &self.config,
                        Arc::clone(&self.sandbox_announced),
                    )),
                    mcp: self.mcp.clone(),
                    mcp_found: Arc::clone(&self.mcp_found),
                    exec_sessions: Arc::clone(&self.exec_sessions),
                    user_input: self.user_input.clone(),
                    model: self.config.model.clone(),
                    model_images: model_info(&self.config.model, self.config.provider.wire_api)
                        .images,
                    hooks: hooks.clone(),
                    turn_id: turn_id.clone(),
                    agents: self
                        .agents
                        .clone()
                        .map(|handle| crate::sub_agents::AgentTurn {
                            handle,
                            thread_id: self.id.clone(),
                            config: self.config.clone(),
                        }),
                },
                events.clone(),
            ));
            let outcome = self
                .sample_until_done(&input, &ctx, events, &cancel, hooks.as_deref(), &turn_id)
                .await;
            if let Some(plan) = ctx.finish_plan() {
                emit(Event::ItemCompleted(plan));
            }
            outcome
        };
        self.end_turn(events, outcome)
    }

    /// Reports the turn's end (an interrupt also stops the sessions the model started).
    fn end_turn(&mut self, events: &UnboundedSender<Event>, outcome: TurnOutcome) -> TurnOutcome {
        let emit = |e: Event| {
            let _ = events.send(e);
        };
        if matches!(outcome, TurnOutcome::Interrupted) {
            // An interrupt stops everything the model started, sessions included.
            self.exec_sessions.kill_all();
            // The next turn must know this one was cut short on purpose (Codex's marker).
            self.append(events, vec![turn_aborted_message()]);
        }
        if let Some(agents) = &self.agents {
            // An agent's waiters learn how its turn ended; an interrupt reaches the agents
            // this thread started.
            agents.control.turn_ended(&self.id, &outcome);
            if matches!(outcome, TurnOutcome::Interrupted) {
                agents.control.interrupt_children(&self.id);
            }
        }
        match &outcome {
            TurnOutcome::Completed { .. } => emit(Event::TurnCompleted { usage: self.usage }),
            TurnOutcome::Failed { message } => emit(Event::TurnFailed {
                message: message.clone(),
                usage: self.usage,
            }),
            TurnOutcome::Interrupted => emit(Event::TurnFailed {
                message: TURN_INTERRUPTED.into(),
                usage: self.usage,
            }),
        }
        outcome
    }

    /// Records a change of cwd, policy or model as new messages at the end of the history.
    fn apply_overrides(&mut self, o: &TurnOverrides, events: &UnboundedSender<Event>) {
        let mut env_changed = false;
        let mut policy_changed = false;
        if let Some(cwd) = o.cwd.as_ref().filter(|c| **c != self.config.cwd) {
            self.config.set_cwd(cwd.clone());
            env_changed = true;
        }
        if let Some(mode) = o.sandbox_mode.filter(|m| *m != self.config.sandbox_mode) {
            self.config.sandbox_mode = mode;
            policy_changed = true;
        }
        if let Some(policy) = o
            .approval_policy
            .filter(|p| *p != self.config.approval_policy)
        {
            self.config.approval_policy = policy;
            policy_changed = true;
        }
        if let Some(network) = o
            .network_access
            .filter(|n| *n != self.config.network_access)
        {
            self.config.network_access = network;
            policy_changed = true;
        }
        if let (Some(effort), Some(reasoning)) = (&o.effort, self.reasoning.as_mut()) {
            reasoning["effort"] = json!(effort);
        }
        let mut updates = Vec::new();
        if let Some(model) = o.model.as_ref().filter(|m| **m != self.config.model) {
            self.config.model = model.clone();
            updates.push(context::message(
                "developer",
                &[format!(
                    "<model_switch>The model is now {model}.</model_switch>"
                )],
            ));
        }
        if policy_changed {
            updates.push(context::message(
                "developer",
                &[context::permissions_text(&self.config)],
            ));
        }
        if env_changed || policy_changed {
            updates.push(context::message(
                "user",
                &[context::environment_context(
                    &self.config,
                    &self.shell,
                    &context::today_utc(),
                )],
            ));
        }
        if !updates.is_empty() {
            self.append(events, updates.clone());
            self.settings_updates = updates;
        }
    }

    fn prompt(&self, input: Vec<Value>, output_schema: Option<Value>) -> Prompt {
        Prompt {
            model: self.config.model.clone(),
            instructions: self.instructions.clone(),
            input,
            tools: [self.tools.as_slice(), self.mcp_offer.specs.as_slice()].concat(),
            parallel_tool_calls: true,
            reasoning: self.reasoning.clone(),
            output_schema,
            prompt_cache_key: self.id.clone(),
        }
    }

    /// Offers the MCP tools that became ready (or were found) since the last request, after
    /// everything offered before, so the request still extends the last one.
    fn refresh_mcp(&mut self, events: &UnboundedSender<Event>) {
        let Some(mcp) = &self.mcp else { return };
        let found = self
            .mcp_found
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default();
        self.mcp_offer.declare(found);
        let budget = usize::try_from(self.context_window / 10).unwrap_or(usize::MAX);
        let hosted = self.config.provider.wire_api == wright_models::WireApi::Responses;
        if let Some(message) = self.mcp_offer.refresh(mcp, budget, hosted) {
            self.append(events, vec![message]);
        }
    }
}

/// The message of the `TurnFailed` event of an interrupted turn (clients that show no error
/// for an interrupt recognise it).
pub const TURN_INTERRUPTED: &str = "turn interrupted";

/// What the model is told after an interrupt, in Codex's `<turn_aborted>` form.
fn turn_aborted_message() -> Value {
    json!({
        "type": "message",
        "role": "user",
        "content": [{
            "type": "input_text",
            "text": "<turn_aborted>\nThe user interrupted the previous turn on purpose. Commands that were running were stopped; if any tools or commands were aborted, they may have partially executed.\n</turn_aborted>",
        }],
    })
}

fn user_message(input: &TurnInput) -> Value {
    let mut content = vec![json!({"type": "input_text", "text": input.text})];
    for image in &input.images {
        content.push(json!({"type": "input_image", "image_url": image.data_url}));
    }
    json!({"type": "message", "role": "user", "content": content})
}
