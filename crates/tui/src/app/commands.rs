//! What the user sends: turns, steering, `!` commands, slash commands, images, and the
//! lists (models, threads) some of them open.

use super::*;

impl App {
    /// Sends `text` as a new turn.
    pub(super) fn send_turn(&mut self, text: String) {
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
    pub(super) fn input(&mut self, text: &str) -> Value {
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
    pub(super) fn steer_or_start(&mut self, text: String) {
        match (&self.thread_id, &self.turn_id) {
            (Some(thread), Some(turn)) => {
                let params = json!({"threadId": thread, "expectedTurnId": turn,
                    "input": self.input(&text)});
                self.request("turn/steer", params, Pending::Steer(text));
            }
            _ => self.send_turn(text),
        }
    }

    pub(super) fn shell_command(&mut self, command: String) {
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

    pub(super) fn slash(&mut self, cmd: Slash, args: String) {
        let thread = self.thread_id.clone().unwrap_or_default();
        match cmd {
            Slash::Quit => self.quit = true,
            Slash::New => {
                if self.refuse_while_busy() {
                    return;
                }
                self.leave_thread();
                self.start.resume = Resume::No;
                self.notice(Level::Info, "New thread");
                self.open_thread();
            }
            Slash::Resume => {
                if self.refuse_while_busy() {
                    return;
                }
                self.request(
                    "thread/list",
                    json!({"limit": 200}),
                    Pending::ThreadList(false),
                );
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
                let layers = match &self.start.sandbox_layers {
                    Some(report) => report
                        .get()
                        .cloned()
                        .unwrap_or_else(|| "sandbox layers: still being probed".into()),
                    None => "sandbox layers: the server runs elsewhere; `wright sandbox --check` there says what it enforces".into(),
                };
                let text = format!(
                    "model {}\ncwd {}\nsandbox {}\napprovals {}\nthread {}\n{}\n{}",
                    self.status.model,
                    self.status.cwd,
                    self.status.sandbox,
                    self.status.approval,
                    self.thread_id.as_deref().unwrap_or("none"),
                    usage,
                    layers.trim_end()
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
            Slash::Mcp => self.request(
                "mcpServerStatus/list",
                json!({"detail": "toolsAndAuthOnly"}),
                Pending::McpStatus,
            ),
            Slash::Init => self.send_turn(slash::INIT_PROMPT.to_string()),
        }
    }

    /// `/mcp`: one line per server (state, tool count, auth), its error under it.
    pub(super) fn show_mcp(&mut self, value: &Value) {
        let servers = value
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if servers.is_empty() {
            self.notice(
                Level::Info,
                "No MCP servers configured (`wright mcp add NAME -- COMMAND` adds one)",
            );
            return;
        }
        let mut lines = vec!["MCP servers".to_string()];
        for server in &servers {
            let s = |k: &str| server.get(k).and_then(Value::as_str).unwrap_or_default();
            let tools = server
                .get("tools")
                .and_then(Value::as_object)
                .map_or(0, |t| t.len());
            let state = match s("runtimeStatus") {
                "" => "unknown",
                state => state,
            };
            lines.push(format!(
                "  {}  {state}  {tools} tools  auth {}",
                s("name"),
                s("authStatus")
            ));
            if !s("toolsError").is_empty() {
                lines.push(format!("    {}", s("toolsError")));
            }
        }
        self.notice(Level::Info, lines.join("\n"));
    }

    /// Whether a turn is running, said to the user: switching threads must wait for it.
    fn refuse_while_busy(&mut self) -> bool {
        if self.busy() {
            self.notice(
                Level::Warning,
                "a turn is running; press Esc to stop it first",
            );
        }
        self.busy()
    }

    /// Stops following the open thread (before another is opened in this view).
    pub(super) fn leave_thread(&mut self) {
        if let Some(thread) = self.thread_id.take() {
            self.request(
                "thread/unsubscribe",
                json!({"threadId": thread}),
                Pending::Other("leaving the thread"),
            );
        }
    }

    /// The model of the next turns: `turn/start`'s `model` sticks to the thread from then on.
    pub(super) fn set_model(&mut self, model: &str) {
        self.status.model = model.to_string();
        self.overrides.insert("model".into(), json!(model));
        self.notice(
            Level::Info,
            format!("Model set to {model} (from the next turn)"),
        );
    }

    pub(super) fn show_models(&mut self, value: &Value) {
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

    /// `thread/list`'s answer: resume the newest (`last`) or offer them all.
    pub(super) fn show_threads(&mut self, value: &Value, last: bool) {
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
