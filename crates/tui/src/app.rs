//! The TUI's state and how protocol messages and keys change it. Nothing here touches the
//! terminal: the runner draws what this holds, and tests drive it directly.

use std::collections::HashMap;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{json, Value};
use wright_protocol::jsonrpc::RequestId;
use wright_protocol::v2::{
    CommandExecutionStatus, PatchApplyStatus, ServerNotification, ServerRequest, ThreadItem,
    ThreadStartResponse, ThreadTokenUsage, TurnStatus,
};

use crate::cells::{Cell, CommandState, Level};
use crate::composer::{Composer, Outcome};
use crate::rpc::{Incoming, RpcSender};
use crate::slash::{self, Slash};
use crate::theme::Theme;

/// How the TUI was started.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// A first prompt, sent once the thread is ready.
    pub prompt: Option<String>,
    /// Which thread to open.
    pub resume: Resume,
    /// Working directory of a new thread (and the directory `Last` looks in).
    pub cwd: Option<String>,
    /// `approvalPolicy` for the thread (the config's when `None`).
    pub approval_policy: Option<String>,
    /// Images to attach to the first prompt.
    pub images: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Resume {
    /// A new thread.
    #[default]
    No,
    Id(String),
    /// The newest thread of the working directory.
    Last,
    /// A picker over stored threads, newest first.
    Pick,
}

/// What a request in flight was for.
#[derive(Debug, Clone)]
enum Pending {
    Initialize,
    ThreadOpen,
    /// `thread/fork`: the new thread's history is what is on screen already.
    Fork,
    TurnStart,
    Steer(String),
    ModelList,
    /// `fuzzyFileSearch` for this `@` query.
    FileSearch(String),
    /// `thread/list` for `--last` (true) or the picker (false).
    ThreadList(bool),
    /// Requests whose answer only matters if it is an error.
    Other(&'static str),
}

/// The top line of the status bar, from the thread's settings.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub model: String,
    pub cwd: String,
    pub sandbox: String,
    pub approval: String,
    pub usage: Option<ThreadTokenUsage>,
}

#[derive(Debug, Clone)]
pub enum ApprovalKind {
    Command { command: String, cwd: String },
    Patch { files: Vec<String> },
}

/// A server request waiting for the user's yes or no.
#[derive(Debug, Clone)]
pub struct Approval {
    pub id: RequestId,
    pub kind: ApprovalKind,
    pub reason: Option<String>,
    pub selected: usize,
}

/// The choices of an approval, in order: label, key, decision.
pub const APPROVAL_CHOICES: [(&str, char, &str); 4] = [
    ("Yes", 'y', "accept"),
    (
        "Yes, and don't ask again this session",
        'a',
        "acceptForSession",
    ),
    ("No", 'n', "decline"),
    ("No, and tell the model why", 'r', "decline"),
];

/// A list to choose from (models, …).
#[derive(Debug, Clone)]
pub struct Picker {
    pub title: String,
    pub items: Vec<(String, String)>,
    /// Index into [`Picker::visible`].
    pub selected: usize,
    /// Typed text; only entries containing it (any case) are shown.
    pub filter: String,
    pub action: PickerAction,
}

impl Picker {
    /// The entries the filter lets through, in order.
    pub fn visible(&self) -> Vec<&(String, String)> {
        let needle = self.filter.to_lowercase();
        self.items
            .iter()
            .filter(|(a, b)| {
                needle.is_empty()
                    || a.to_lowercase().contains(&needle)
                    || b.to_lowercase().contains(&needle)
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerAction {
    Model,
    Approvals,
    Resume,
    /// Reasoning effort for the model just chosen.
    Effort,
}

pub struct App {
    pub theme: Theme,
    rpc: RpcSender,
    start: StartOptions,
    pending: HashMap<i64, Pending>,
    pub thread_id: Option<String>,
    pub turn_id: Option<String>,
    pub turn_started: Option<Instant>,
    /// Finished cells not yet written to the terminal's scrollback.
    pub flushed: Vec<Cell>,
    /// Every finished cell, for the transcript view.
    pub transcript: Vec<Cell>,
    /// Cells of items still running, by item id, in the order they started.
    pub active: Vec<(String, Cell)>,
    pub composer: Composer,
    pub approval: Option<Approval>,
    /// The reason being typed for "No, and tell the model why".
    pub declining: Option<RequestId>,
    pub picker: Option<Picker>,
    pub status: Status,
    /// Messages typed while a turn ran, sent when it ends.
    pub queued: Vec<String>,
    /// Ctrl+T: the whole transcript, unfolded, with its scroll offset from the bottom.
    pub overlay: Option<usize>,
    pub quit: bool,
    /// What the status line says about the running turn ("interrupting…").
    pub hint: Option<String>,
    /// Settings chosen in the TUI (`model`, `approvalPolicy`), sent with each turn.
    overrides: serde_json::Map<String, Value>,
    /// Files matching the `@mention` being typed, best first, and the highlighted one.
    pub files: Vec<String>,
    pub file_selected: usize,
    /// The `@` query last searched for.
    searched: Option<String>,
    /// Attached images: the placeholder in the composer and the file.
    images: Vec<(String, String)>,
    /// From `model/list`: each model's reasoning efforts (name, description).
    efforts: HashMap<String, Vec<(String, String)>>,
}

/// Files a pasted path attaches as an image.
const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "gif", "webp"];

/// How many `@` matches the popup offers.
const FILE_MATCHES: usize = 8;

impl App {
    pub fn new(rpc: RpcSender, theme: Theme, start: StartOptions) -> App {
        App {
            theme,
            rpc,
            start,
            pending: HashMap::new(),
            thread_id: None,
            turn_id: None,
            turn_started: None,
            flushed: Vec::new(),
            transcript: Vec::new(),
            active: Vec::new(),
            composer: Composer::default(),
            approval: None,
            declining: None,
            picker: None,
            status: Status::default(),
            queued: Vec::new(),
            overlay: None,
            quit: false,
            hint: None,
            overrides: serde_json::Map::new(),
            files: Vec::new(),
            file_selected: 0,
            searched: None,
            images: Vec::new(),
            efforts: HashMap::new(),
        }
    }

    /// Opens the conversation: initialize, then start or resume the thread.
    pub fn connect(&mut self) {
        let id = self.rpc.request(
            "initialize",
            json!({"clientInfo": {"name": "wright_tui", "title": "wright", "version": env!("CARGO_PKG_VERSION")}}),
        );
        self.pending.insert(id, Pending::Initialize);
    }

    fn request(&mut self, method: &str, params: Value, pending: Pending) {
        let id = self.rpc.request(method, params);
        self.pending.insert(id, pending);
    }

    pub fn busy(&self) -> bool {
        self.turn_id.is_some()
    }

    /// Adds a finished cell.
    pub fn push(&mut self, cell: Cell) {
        self.transcript.push(cell.clone());
        self.flushed.push(cell);
    }

    pub fn notice(&mut self, level: Level, text: impl Into<String>) {
        self.push(Cell::Notice {
            text: text.into(),
            level,
        });
    }

    /// One message from the server.
    pub fn incoming(&mut self, message: Incoming) {
        match message {
            Incoming::Response { id, result } => self.response(id, result),
            Incoming::Notification(n) => self.notification(*n),
            Incoming::Request(r) => self.server_request(*r),
            Incoming::UnknownRequest { id, method } => {
                self.rpc
                    .respond_error(&id, &format!("wright's terminal UI cannot answer {method}"));
            }
            Incoming::Ignored => {}
        }
    }

    fn response(&mut self, id: i64, result: Result<Value, String>) {
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        let value = match result {
            Ok(v) => v,
            Err(message) => {
                let what = match &pending {
                    Pending::Initialize => "initialize",
                    Pending::ThreadOpen => "opening the thread",
                    Pending::Fork => "forking the thread",
                    Pending::TurnStart => "starting the turn",
                    Pending::Steer(_) => "steering the turn",
                    Pending::ModelList => "listing models",
                    Pending::ThreadList(_) => "listing threads",
                    Pending::FileSearch(_) => "searching files",
                    Pending::Other(what) => what,
                };
                if let Pending::Steer(text) = pending {
                    // The turn ended meanwhile: the message starts the next one.
                    self.send_turn(text);
                    return;
                }
                self.notice(Level::Error, format!("{what} failed: {message}"));
                return;
            }
        };
        match pending {
            Pending::Initialize => {
                self.rpc.notify("initialized");
                self.open_thread();
            }
            Pending::ThreadOpen => self.thread_opened(&value, true),
            Pending::Fork => {
                self.thread_opened(&value, false);
                let id = self.thread_id.clone().unwrap_or_default();
                self.notice(Level::Info, format!("Forked: this is thread {id} now"));
            }
            Pending::ModelList => self.show_models(&value),
            Pending::ThreadList(last) => self.show_threads(&value, last),
            Pending::FileSearch(query) => {
                // Only the answer to what is typed now counts.
                if self.composer.mention().map(|(_, q)| q) == Some(query.as_str()) {
                    self.files = value
                        .get("files")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f.get("path").and_then(Value::as_str).map(String::from))
                        .take(FILE_MATCHES)
                        .collect();
                    self.file_selected = 0;
                }
            }
            Pending::TurnStart | Pending::Steer(_) | Pending::Other(_) => {}
        }
    }

    fn open_thread(&mut self) {
        let mut params = json!({});
        if let Some(policy) = &self.start.approval_policy {
            params["approvalPolicy"] = json!(policy);
        }
        match self.start.resume.clone() {
            Resume::Id(id) => {
                params["threadId"] = json!(id);
                self.request("thread/resume", params, Pending::ThreadOpen);
            }
            Resume::Last | Resume::Pick => {
                let last = self.start.resume == Resume::Last;
                let mut list = json!({"limit": if last { 1 } else { 200 }});
                if let (true, Some(cwd)) = (last, &self.start.cwd) {
                    list["cwd"] = json!(cwd);
                }
                self.request("thread/list", list, Pending::ThreadList(last));
            }
            Resume::No => {
                if let Some(cwd) = &self.start.cwd {
                    params["cwd"] = json!(cwd);
                }
                self.request("thread/start", params, Pending::ThreadOpen);
            }
        }
    }

    /// `thread/list`'s answer: resume the newest (`last`) or offer them all.
    fn show_threads(&mut self, value: &Value, last: bool) {
        let threads: Vec<(String, String)> = value
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let id = t.get("id").and_then(Value::as_str)?.to_string();
                let preview = t.get("preview").and_then(Value::as_str).unwrap_or_default();
                let preview = preview.lines().next().unwrap_or_default().to_string();
                let when = t
                    .get("updatedAt")
                    .and_then(Value::as_i64)
                    .map(ago)
                    .unwrap_or_default();
                Some((id, format!("{when:>8}  {preview}")))
            })
            .collect();
        if threads.is_empty() {
            self.notice(Level::Info, "No earlier thread here; starting a new one");
            self.start.resume = Resume::No;
            self.open_thread();
            return;
        }
        if last {
            self.start.resume = Resume::Id(threads[0].0.clone());
            self.open_thread();
            return;
        }
        self.picker = Some(Picker {
            title: "Resume a thread".into(),
            items: threads,
            selected: 0,
            filter: String::new(),
            action: PickerAction::Resume,
        });
    }

    /// A thread is open; `replay` shows its earlier items.
    fn thread_opened(&mut self, value: &Value, replay: bool) {
        let Ok(opened) = serde_json::from_value::<ThreadStartResponse>(value.clone()) else {
            self.notice(
                Level::Error,
                "the server's answer to opening the thread is malformed",
            );
            return;
        };
        self.thread_id = Some(opened.thread.id.clone());
        self.status.model = opened.model.clone();
        self.status.cwd = opened.cwd.clone();
        self.status.sandbox = enum_name(&opened.sandbox);
        self.status.approval = enum_name(&opened.approval_policy);
        // A resumed thread shows what was said before.
        let mut replayed = 0;
        let turns = value
            .pointer("/thread/turns")
            .and_then(Value::as_array)
            .filter(|_| replay);
        if let Some(turns) = turns {
            for turn in turns {
                for item in turn
                    .get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Ok(item) = serde_json::from_value::<ThreadItem>(item.clone()) {
                        if let Some(cell) = cell_of(&item) {
                            self.push(cell);
                            replayed += 1;
                        }
                    }
                }
            }
        }
        // A thread another client is driving: its running turn is this view's too (Esc stops
        // it, and its live items arrive from now on).
        let running = value
            .pointer("/thread/turns")
            .and_then(Value::as_array)
            .and_then(|turns| turns.last())
            .filter(|t| t.get("status").and_then(Value::as_str) == Some("inProgress"))
            .and_then(|t| t.get("id").and_then(Value::as_str));
        if let Some(turn) = running {
            self.turn_id = Some(turn.to_string());
            self.turn_started = Some(Instant::now());
        }
        if matches!(self.start.resume, Resume::Id(_)) {
            self.notice(
                Level::Info,
                format!("Resumed thread {} ({replayed} items)", opened.thread.id),
            );
        }
        if let Some(mut prompt) = self.start.prompt.take() {
            for path in std::mem::take(&mut self.start.images) {
                match self.attach_image(&path) {
                    Some(placeholder) => prompt = format!("{prompt} {placeholder}"),
                    None => self.notice(Level::Error, format!("not an image file: {path}")),
                }
            }
            self.send_turn(prompt);
        }
        for text in std::mem::take(&mut self.queued) {
            self.send_turn(text);
        }
    }

    /// Sends `text` as a new turn.
    fn send_turn(&mut self, text: String) {
        let Some(thread) = self.thread_id.clone() else {
            self.queued.push(text);
            return;
        };
        let mut params = json!({"threadId": thread, "input": self.input(&text)});
        for (key, value) in &self.overrides {
            params[key] = value.clone();
        }
        self.request("turn/start", params, Pending::TurnStart);
    }

    /// A message's `input`: its text, and a `localImage` for each image placeholder in it.
    fn input(&mut self, text: &str) -> Value {
        let mut text = text.to_string();
        let mut images = Vec::new();
        self.images.retain(|(placeholder, path)| {
            if text.contains(placeholder.as_str()) {
                text = text.replacen(placeholder.as_str(), "", 1);
                images.push(json!({"type": "localImage", "path": path}));
                false
            } else {
                true
            }
        });
        let mut input = vec![json!({"type": "text", "text": text.trim(), "text_elements": []})];
        input.extend(images);
        Value::Array(input)
    }

    /// Attaches the image at `path`: a placeholder goes into the composer, the file with the
    /// message. `None` when `path` is not an image file.
    pub fn attach_image(&mut self, path: &str) -> Option<String> {
        let path = std::path::Path::new(path);
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if !is_image || !path.is_file() {
            return None;
        }
        let path = std::path::absolute(path).ok()?;
        let name = path.file_name()?.to_string_lossy().into_owned();
        let placeholder = format!("[image {name} #{}]", self.images.len() + 1);
        self.images
            .push((placeholder.clone(), path.display().to_string()));
        Some(placeholder)
    }

    /// What the user typed and sent.
    pub fn submit(&mut self, text: String) {
        if let Some(id) = self.declining.take() {
            // The reason for a refusal: the command is declined and the model hears why.
            self.rpc.respond(&id, json!({"decision": "decline"}));
            self.steer_or_start(text);
            return;
        }
        let trimmed = text.trim();
        if let Some(command) = trimmed.strip_prefix('!') {
            let command = command.trim().to_string();
            if !command.is_empty() {
                self.shell_command(command);
            }
            return;
        }
        if trimmed.starts_with('/') {
            match slash::parse(trimmed) {
                Some((cmd, args)) => self.slash(cmd, args),
                None => self.notice(
                    Level::Error,
                    format!(
                        "unknown command {}; type / to see them",
                        trimmed.split_whitespace().next().unwrap_or(trimmed)
                    ),
                ),
            }
            return;
        }
        self.steer_or_start(text);
    }

    /// While a turn runs, a message steers it; otherwise it starts one.
    fn steer_or_start(&mut self, text: String) {
        match (&self.thread_id, &self.turn_id) {
            (Some(thread), Some(turn)) => {
                let params = json!({"threadId": thread, "expectedTurnId": turn,
                    "input": self.input(&text)});
                self.request("turn/steer", params, Pending::Steer(text));
            }
            _ => self.send_turn(text),
        }
    }

    fn shell_command(&mut self, command: String) {
        let Some(thread) = self.thread_id.clone() else {
            self.notice(Level::Error, "no thread yet");
            return;
        };
        self.request(
            "thread/shellCommand",
            json!({"threadId": thread, "command": command}),
            Pending::Other("running the command"),
        );
    }

    fn slash(&mut self, cmd: Slash, args: String) {
        let thread = self.thread_id.clone().unwrap_or_default();
        match cmd {
            Slash::Quit => self.quit = true,
            Slash::New => {
                if self.busy() {
                    self.notice(
                        Level::Warning,
                        "a turn is running; press Esc to stop it first",
                    );
                    return;
                }
                self.start.resume = Resume::No;
                self.thread_id = None;
                self.notice(Level::Info, "New thread");
                self.open_thread();
            }
            Slash::Model => {
                if args.is_empty() {
                    self.request("model/list", json!({}), Pending::ModelList);
                } else {
                    self.set_model(&args);
                }
            }
            Slash::Approvals => {
                self.picker = Some(Picker {
                    title: "Approval policy".into(),
                    items: [
                        ("untrusted", "ask before any command that is not known safe"),
                        ("on-request", "the model asks when it needs to"),
                        ("on-failure", "ask when a sandboxed command fails"),
                        ("never", "never ask; failures go back to the model"),
                    ]
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
                    selected: 0,
                    filter: String::new(),
                    action: PickerAction::Approvals,
                });
            }
            Slash::Compact => self.request(
                "thread/compact/start",
                json!({"threadId": thread}),
                Pending::Other("compacting"),
            ),
            Slash::Diff => self.shell_command("git diff --stat && git diff".into()),
            Slash::Status => {
                let usage = self.usage_line();
                let text = format!(
                    "model {}\ncwd {}\nsandbox {}\napprovals {}\nthread {}\n{}",
                    self.status.model,
                    self.status.cwd,
                    self.status.sandbox,
                    self.status.approval,
                    self.thread_id.as_deref().unwrap_or("none"),
                    usage
                );
                self.notice(Level::Info, text);
            }
            Slash::Review => self.request(
                "review/start",
                json!({"threadId": thread, "target": {"type": "uncommittedChanges"}}),
                Pending::Other("starting the review"),
            ),
            Slash::Fork => {
                self.request("thread/fork", json!({"threadId": thread}), Pending::Fork);
            }
            Slash::Init => self.send_turn(slash::INIT_PROMPT.to_string()),
        }
    }

    /// The model of the next turns: `turn/start`'s `model` sticks to the thread from then on.
    fn set_model(&mut self, model: &str) {
        self.status.model = model.to_string();
        self.overrides.insert("model".into(), json!(model));
        self.notice(
            Level::Info,
            format!("Model set to {model} (from the next turn)"),
        );
    }

    fn show_models(&mut self, value: &Value) {
        let items: Vec<(String, String)> = value
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|m| !m.get("hidden").and_then(Value::as_bool).unwrap_or(false))
            .map(|m| {
                let id = m.get("model").and_then(Value::as_str).unwrap_or_default();
                let about = m
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let efforts: Vec<(String, String)> = m
                    .get("supportedReasoningEfforts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| {
                        let name = e.get("reasoningEffort").and_then(Value::as_str)?;
                        let about = e
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        Some((name.to_string(), about.to_string()))
                    })
                    .collect();
                self.efforts.insert(id.to_string(), efforts);
                (id.to_string(), about.to_string())
            })
            .collect();
        if items.is_empty() {
            self.notice(Level::Warning, "the server lists no models");
            return;
        }
        let selected = items
            .iter()
            .position(|(id, _)| *id == self.status.model)
            .unwrap_or(0);
        self.picker = Some(Picker {
            title: "Model".into(),
            items,
            selected,
            filter: String::new(),
            action: PickerAction::Model,
        });
    }

    fn notification(&mut self, n: ServerNotification) {
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
            // Answered elsewhere (another client of the same thread): the prompt goes.
            ServerNotification::ServerRequestResolved(r)
                if self.approval.as_ref().is_some_and(|a| a.id == r.request_id) =>
            {
                self.approval = None;
            }
            ServerNotification::ContextCompacted(_) => {
                self.notice(Level::Info, "Context compacted")
            }
            _ => {}
        }
    }

    fn active_cell(&mut self, item_id: &str) -> Option<&mut Cell> {
        self.active
            .iter_mut()
            .find(|(id, _)| id == item_id)
            .map(|(_, c)| c)
    }

    fn server_request(&mut self, request: ServerRequest) {
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
        };
        self.approval = Some(approval);
    }

    fn active_command(&self, item_id: &str) -> Option<String> {
        self.active
            .iter()
            .find(|(i, _)| i == item_id)
            .and_then(|(_, c)| match c {
                Cell::Command { command, .. } => Some(command.clone()),
                _ => None,
            })
    }

    /// A key press. Returns whether anything changed (and so needs drawing).
    pub fn key(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c')) {
            if self.busy() {
                self.interrupt();
            } else if self.composer.is_empty() {
                self.quit = true;
            } else {
                self.composer.clear();
            }
            return true;
        }
        if ctrl
            && matches!(key.code, KeyCode::Char('d'))
            && self.composer.is_empty()
            && !self.busy()
        {
            self.quit = true;
            return true;
        }
        if let Some(offset) = self.overlay.as_mut() {
            match key.code {
                KeyCode::Esc | KeyCode::Char('q') => self.overlay = None,
                KeyCode::Char('t') if ctrl => self.overlay = None,
                KeyCode::Up | KeyCode::Char('k') => *offset += 1,
                KeyCode::Down | KeyCode::Char('j') => *offset = offset.saturating_sub(1),
                KeyCode::PageUp => *offset += 20,
                KeyCode::PageDown => *offset = offset.saturating_sub(20),
                KeyCode::Home => *offset = usize::MAX / 2,
                KeyCode::End => *offset = 0,
                _ => return false,
            }
            return true;
        }
        if ctrl && matches!(key.code, KeyCode::Char('t')) {
            self.overlay = Some(0);
            return true;
        }
        if self.approval.is_some() {
            return self.approval_key(key);
        }
        if self.picker.is_some() {
            return self.picker_key(key);
        }
        if key.code == KeyCode::Esc {
            if self.declining.take().is_some() {
                // Back to the choice.
                return true;
            }
            if self.busy() {
                self.interrupt();
                return true;
            }
            return false;
        }
        if key.code == KeyCode::Tab && self.busy() && !self.composer.is_empty() {
            // Tab while a turn runs: keep the message for after it.
            let text = self.composer.text().to_string();
            self.composer.remember(&text);
            self.composer.clear();
            self.queued.push(text);
            return true;
        }
        // The `@` popup: ↑/↓ choose, Tab or Enter put the path in.
        if self.composer.mention().is_some() && !self.files.is_empty() {
            match key.code {
                KeyCode::Up => {
                    self.file_selected = self.file_selected.saturating_sub(1);
                    return true;
                }
                KeyCode::Down => {
                    self.file_selected = (self.file_selected + 1).min(self.files.len() - 1);
                    return true;
                }
                KeyCode::Tab | KeyCode::Enter if key.modifiers.is_empty() => {
                    if let Some(path) = self.files.get(self.file_selected).cloned() {
                        self.composer.complete_mention(&path);
                    }
                    self.files.clear();
                    return true;
                }
                _ => {}
            }
        }
        // The slash popup: Tab completes the command name.
        if key.code == KeyCode::Tab && self.composer.text().starts_with('/') {
            if let Some(cmd) = slash::matches(self.composer.text()).first() {
                self.composer.set_text(&format!("/{} ", cmd.name()));
            }
            return true;
        }
        // Enter on the slash popup runs the command it shows first.
        if key.code == KeyCode::Enter && key.modifiers.is_empty() {
            let text = self.composer.text().trim_end().to_string();
            if slash::parse(&text).is_none() {
                if let Some(cmd) = slash::matches(&text).first() {
                    self.composer.set_text(&format!("/{}", cmd.name()));
                }
            }
        }
        let changed = match self.composer.key(key) {
            Outcome::Submit(text) => {
                self.submit(text);
                true
            }
            Outcome::Edited => true,
            Outcome::Ignored => false,
        };
        if changed {
            self.search_files();
        }
        changed
    }

    /// Asks the server for files matching the `@mention` being typed (once per query).
    fn search_files(&mut self) {
        let query = self.composer.mention().map(|(_, q)| q.to_string());
        if query == self.searched {
            return;
        }
        self.searched = query.clone();
        self.files.clear();
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return;
        };
        let root = if self.status.cwd.is_empty() {
            self.start.cwd.clone().unwrap_or_default()
        } else {
            self.status.cwd.clone()
        };
        // One token: a newer query cancels the older search on the server.
        self.request(
            "fuzzyFileSearch",
            json!({"query": query, "roots": [root], "cancellationToken": "tui-mention"}),
            Pending::FileSearch(query),
        );
    }

    /// A paste: a path to an image file (as terminals paste a dropped file, maybe quoted)
    /// attaches it; anything else is text.
    pub fn paste(&mut self, text: &str) {
        if self.approval.is_some() || self.overlay.is_some() {
            return;
        }
        let trimmed = text.trim();
        let unquoted = trimmed
            .strip_prefix('\'')
            .and_then(|t| t.strip_suffix('\''))
            .unwrap_or(trimmed);
        if !unquoted.contains('\n') {
            if let Some(placeholder) = self.attach_image(unquoted) {
                self.composer.insert(&format!("{placeholder} "));
                return;
            }
        }
        self.composer.paste(text);
    }

    fn interrupt(&mut self) {
        if let (Some(thread), Some(turn)) = (self.thread_id.clone(), self.turn_id.clone()) {
            // A pending approval is answered first, or the turn waits on it.
            if let Some(a) = self.approval.take() {
                self.rpc.respond(&a.id, json!({"decision": "cancel"}));
            }
            self.request(
                "turn/interrupt",
                json!({"threadId": thread, "turnId": turn}),
                Pending::Other("interrupting"),
            );
            self.hint = Some("interrupting…".into());
        }
    }

    fn approval_key(&mut self, key: KeyEvent) -> bool {
        let Some(approval) = self.approval.as_mut() else {
            return false;
        };
        let choice = match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                approval.selected = approval.selected.saturating_sub(1);
                return true;
            }
            KeyCode::Down | KeyCode::Char('j') => {
                approval.selected = (approval.selected + 1).min(APPROVAL_CHOICES.len() - 1);
                return true;
            }
            KeyCode::Enter => approval.selected,
            KeyCode::Esc => 2,
            KeyCode::Char(c) => match APPROVAL_CHOICES.iter().position(|(_, k, _)| *k == c) {
                Some(i) => i,
                None => return false,
            },
            _ => return false,
        };
        let Some(approval) = self.approval.take() else {
            return false;
        };
        let (label, _, decision) = APPROVAL_CHOICES[choice];
        if choice == 3 {
            // The reason is typed in the composer; Enter sends both.
            self.declining = Some(approval.id);
            self.composer.clear();
            return true;
        }
        self.rpc
            .respond(&approval.id, json!({"decision": decision}));
        let what = match &approval.kind {
            ApprovalKind::Command { command, .. } => crate::cells::display_command(command),
            ApprovalKind::Patch { files } => files.join(", "),
        };
        self.notice(Level::Info, format!("{label}: {what}"));
        true
    }

    fn picker_key(&mut self, key: KeyEvent) -> bool {
        let Some(picker) = self.picker.as_mut() else {
            return false;
        };
        let count = picker.visible().len();
        match key.code {
            KeyCode::Up => picker.selected = picker.selected.saturating_sub(1),
            KeyCode::Down => picker.selected = (picker.selected + 1).min(count.saturating_sub(1)),
            KeyCode::PageUp => picker.selected = picker.selected.saturating_sub(8),
            KeyCode::PageDown => {
                picker.selected = (picker.selected + 8).min(count.saturating_sub(1))
            }
            KeyCode::Backspace => {
                picker.filter.pop();
                picker.selected = 0;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                picker.filter.push(c);
                picker.selected = 0;
            }
            KeyCode::Esc => {
                let action = picker.action;
                self.picker = None;
                if action == PickerAction::Resume && self.thread_id.is_none() {
                    // Nothing chosen: a new thread, rather than none at all.
                    self.start.resume = Resume::No;
                    self.open_thread();
                }
            }
            KeyCode::Enter => {
                let Some((choice, _)) = picker.visible().get(picker.selected).map(|c| (*c).clone())
                else {
                    return true;
                };
                let action = picker.action;
                self.picker = None;
                match action {
                    PickerAction::Model => {
                        self.set_model(&choice);
                        let efforts = self.efforts.get(&choice).cloned().unwrap_or_default();
                        if !efforts.is_empty() {
                            self.picker = Some(Picker {
                                title: format!("Reasoning effort for {choice}"),
                                items: efforts,
                                selected: 0,
                                filter: String::new(),
                                action: PickerAction::Effort,
                            });
                        }
                    }
                    PickerAction::Effort => {
                        self.overrides.insert("effort".into(), json!(choice));
                        self.notice(Level::Info, format!("Reasoning effort set to {choice}"));
                    }
                    PickerAction::Approvals => {
                        self.status.approval = choice.clone();
                        self.overrides
                            .insert("approvalPolicy".into(), json!(choice));
                        self.notice(
                            Level::Info,
                            format!("Approval policy set to {choice} (from the next turn)"),
                        );
                    }
                    PickerAction::Resume => {
                        self.start.resume = Resume::Id(choice);
                        self.open_thread();
                    }
                }
            }
            _ => return false,
        }
        true
    }

    /// "12.3k tokens · 8% cached · 91% context left".
    pub fn usage_line(&self) -> String {
        let Some(usage) = &self.status.usage else {
            return "no tokens used yet".into();
        };
        let total = usage.total.total_tokens.max(0) as f64;
        let input = usage.total.input_tokens.max(1) as f64;
        let cached = usage.total.cached_input_tokens.max(0) as f64 / input * 100.0;
        let mut line = format!("{} tokens · {:.0}% cached", short_count(total), cached);
        if let Some(window) = usage.model_context_window.filter(|w| *w > 0) {
            let used = usage.last.total_tokens.max(0) as f64;
            let left = (100.0 - used / window as f64 * 100.0).clamp(0.0, 100.0);
            line.push_str(&format!(" · {left:.0}% context left"));
        }
        line
    }
}

/// How long ago a Unix time (seconds) was: `5m ago`.
fn ago(then: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let secs = (now - then).max(0);
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// `1234` → `1.2k`.
fn short_count(n: f64) -> String {
    if n >= 1_000_000.0 {
        format!("{:.1}M", n / 1_000_000.0)
    } else if n >= 1000.0 {
        format!("{:.1}k", n / 1000.0)
    } else {
        format!("{n:.0}")
    }
}

/// The wire name of a serialized enum (`{"type":"workspaceWrite",…}` or `"on-request"`).
fn enum_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(v) => v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        Err(_) => String::new(),
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
            cwd,
            status,
            aggregated_output,
            exit_code,
            duration_ms,
            ..
        } => Cell::Command {
            command: command.clone(),
            cwd: cwd.clone(),
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
        _ => return None,
    })
}
