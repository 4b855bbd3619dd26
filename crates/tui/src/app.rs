//! The TUI's state and how protocol messages and keys change it. Nothing here touches the
//! terminal: the runner draws what this holds, and tests drive it directly.

use std::collections::HashMap;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{json, Value};
use wright_protocol::jsonrpc::RequestId;
use wright_protocol::v2::{
    CommandExecutionStatus, McpServerStartupState, McpToolCallStatus, PatchApplyStatus,
    ServerNotification, ServerRequest, ThreadItem, ThreadStartResponse, ThreadTokenUsage,
    ToolRequestUserInputOption, ToolRequestUserInputQuestion, TurnStatus,
};

use crate::cells::{Cell, CommandState, Level};
use crate::composer::{Composer, Outcome};
use crate::rpc::{Incoming, RpcSender};
use crate::slash::{self, Slash};
use crate::theme::Theme;

mod commands;
mod events;
mod keys;
mod questions;

pub use events::cell_of;

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
    /// What this machine's sandbox can enforce (`wright sandbox --check`), filled in the
    /// background when the server runs in this process; `None` when it runs elsewhere.
    pub sandbox_layers: Option<std::sync::Arc<std::sync::OnceLock<String>>>,
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
    /// `mcpServerStatus/list` for `/mcp`.
    McpStatus,
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

/// What an approval is about. `McpTool` is an MCP tool call, asked as a question
/// (`item/tool/requestUserInput`, id `id`) whose answer is the label of the option picked.
#[derive(Debug, Clone)]
pub enum ApprovalKind {
    Command { command: String, cwd: String },
    Patch { files: Vec<String> },
    McpTool { question: String, id: String },
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

/// The labels an MCP tool approval answers with, by [`APPROVAL_CHOICES`] index (the server's
/// wording: `Allow`, `Allow for this session`, `Cancel`; a reason cannot be given).
pub const MCP_APPROVAL_LABELS: [&str; 4] = ["Allow", "Allow for this session", "Cancel", "Cancel"];

/// Codex's question id prefix for the approval of an MCP tool call: such a question is an
/// approval prompt, any other `item/tool/requestUserInput` is the model asking the user.
pub const MCP_APPROVAL_PREFIX: &str = "mcp_tool_call_approval";

/// The model's questions (`request_user_input`, asked as `item/tool/requestUserInput`), put
/// one at a time; the reply goes once, with every answer, after the last.
#[derive(Debug, Clone)]
pub struct UserInput {
    pub id: RequestId,
    pub questions: Vec<ToolRequestUserInputQuestion>,
    /// Index of the question on screen.
    pub current: usize,
    /// The highlighted row: an option, or "Other" after them.
    pub selected: usize,
    /// The answer being typed for "Other"; `Some` while typing.
    pub typing: Option<String>,
    /// Answers given so far, by question id, in the reply's shape.
    answers: serde_json::Map<String, Value>,
}

impl UserInput {
    fn new(id: RequestId, questions: Vec<ToolRequestUserInputQuestion>) -> UserInput {
        let mut input = UserInput {
            id,
            questions,
            current: 0,
            selected: 0,
            typing: None,
            answers: serde_json::Map::new(),
        };
        input.start_question();
        input
    }

    /// The question on screen.
    pub fn question(&self) -> Option<&ToolRequestUserInputQuestion> {
        self.questions.get(self.current)
    }

    /// Its options (none for a free-form question).
    pub fn options(&self) -> &[ToolRequestUserInputOption] {
        self.question()
            .and_then(|q| q.options.as_deref())
            .unwrap_or_default()
    }

    /// Whether "Other" (a typed answer) is offered: when the question asks for it, and for a
    /// question without options, which could not be answered otherwise.
    pub fn offers_other(&self) -> bool {
        self.question().is_some_and(|q| q.is_other) || self.options().is_empty()
    }

    /// The rows to choose from: the options, then "Other" when offered.
    pub fn rows(&self) -> usize {
        self.options().len() + usize::from(self.offers_other())
    }

    /// Resets the cursor for the question on screen; one without options is typed at once.
    fn start_question(&mut self) {
        self.selected = 0;
        self.typing = self.options().is_empty().then(String::new);
    }
}

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
    /// MCP servers whose failure was already shown (until they are ready again).
    mcp_failed: std::collections::HashSet<String>,
    pub thread_id: Option<String>,
    pub turn_id: Option<String>,
    pub turn_started: Option<Instant>,
    /// Every finished cell, for the scrollback and the transcript view.
    pub transcript: Vec<Cell>,
    /// How many of them are already written to the terminal's scrollback.
    pub written: usize,
    /// Cells of items still running, by item id, in the order they started.
    pub active: Vec<(String, Cell)>,
    pub composer: Composer,
    pub approval: Option<Approval>,
    /// The model's questions, when it asked some.
    pub user_input: Option<UserInput>,
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
            mcp_failed: Default::default(),
            thread_id: None,
            turn_id: None,
            turn_started: None,
            written: 0,
            transcript: Vec::new(),
            active: Vec::new(),
            composer: Composer::default(),
            approval: None,
            user_input: None,
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
        self.transcript.push(cell);
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
                    Pending::McpStatus => "listing MCP servers",
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
            Pending::McpStatus => self.show_mcp(&value),
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
