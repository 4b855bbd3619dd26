//! `wright exec`: one turn, headless, driven the way `codex exec` is.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use tokio::signal::unix::{signal, SignalKind};
use wright_app_server::{AppServer, Connection, ServerOptions};
use wright_core::config::{CliOverrides, Config, SandboxMode};
use wright_protocol::exec::{ExecEventMapper, ThreadEvent};
use wright_protocol::Event;

use crate::human::HumanPrinter;
use crate::notifications::NotificationMapper;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// The task. Read from stdin when absent or `-`.
    prompt: Option<String>,

    /// Print events as JSON lines on stdout.
    #[arg(long = "json", visible_alias = "experimental-json")]
    json: bool,

    /// Model to use.
    #[arg(short = 'm', long)]
    model: Option<String>,

    /// Working directory for the agent.
    #[arg(short = 'C', long = "cd")]
    cd: Option<PathBuf>,

    /// Run outside a git repository.
    #[arg(long)]
    skip_git_repo_check: bool,

    /// Sandbox policy for commands the model runs.
    #[arg(short = 's', long = "sandbox", value_enum)]
    sandbox: Option<SandboxArg>,

    /// Shortcut for `--sandbox workspace-write`.
    #[arg(long)]
    full_auto: bool,

    /// Run commands with no sandbox and no approvals.
    #[arg(long = "dangerously-bypass-approvals-and-sandbox", alias = "yolo")]
    bypass: bool,

    /// Override a config value: `-c key=value` (value parsed as TOML).
    #[arg(short = 'c', long = "config", value_name = "key=value")]
    config: Vec<String>,

    /// Config profile to use.
    #[arg(short = 'p', long)]
    profile: Option<String>,

    /// Extra writable directory.
    #[arg(long = "add-dir", value_name = "DIR")]
    add_dir: Vec<PathBuf>,

    /// Attach image files to the prompt.
    #[arg(
        short = 'i',
        long = "image",
        value_name = "FILE",
        value_delimiter = ','
    )]
    images: Vec<PathBuf>,

    /// Write the last agent message to FILE.
    #[arg(short = 'o', long = "output-last-message", value_name = "FILE")]
    output_last_message: Option<PathBuf>,

    /// JSON Schema the final answer must follow.
    #[arg(long = "output-schema", value_name = "FILE")]
    output_schema: Option<PathBuf>,

    /// Colour on stderr.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,

    /// Do not keep the thread on disk (no `exec resume` afterwards).
    #[arg(long)]
    ephemeral: bool,

    /// Where the thread came from (passed by the Codex SDK; recorded nowhere yet).
    #[arg(long, hide = true)]
    thread_source: Option<String>,

    /// Passed by the Codex SDK per turn; no effect with non-OpenAI-account providers.
    #[arg(long, hide = true, value_parser = ["standard", "daybreak_blue", "daybreak_red"])]
    cyber_access_program: Option<String>,

    #[command(subcommand)]
    command: Option<ExecCommand>,
}

#[derive(Subcommand, Debug)]
enum ExecCommand {
    /// Continue an earlier thread.
    Resume {
        session_id: Option<String>,
        prompt: Option<String>,
        #[arg(long)]
        last: bool,
        #[arg(short = 'i', long = "image", value_delimiter = ',')]
        images: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum SandboxArg {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Color {
    Always,
    Never,
    Auto,
}

/// Exit status of a run stopped by SIGINT / SIGTERM (128 + signal number).
const EXIT_SIGINT: i32 = 130;
const EXIT_SIGTERM: i32 = 143;

pub fn main(args: ExecArgs) -> i32 {
    let Some(runtime) = crate::runtime() else {
        return 1;
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err:#}");
            1
        }
    }
}

async fn run(mut args: ExecArgs) -> anyhow::Result<i32> {
    let cwd = match &args.cd {
        Some(dir) => std::fs::canonicalize(dir)
            .with_context(|| format!("cannot use --cd {}", dir.display()))?,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    if !args.skip_git_repo_check && !inside_git_repo(&cwd) {
        bail!("Not inside a trusted directory and --skip-git-repo-check was not specified.");
    }
    let sandbox_mode = sandbox_mode(args.sandbox, args.full_auto, args.bypass);
    let overrides = CliOverrides {
        model: args.model.take(),
        profile: args.profile.take(),
        sandbox_mode,
        cwd: Some(cwd.clone()),
        config: std::mem::take(&mut args.config),
        add_dirs: args
            .add_dir
            .iter()
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()))
            .collect(),
        sandbox_exe: crate::sealed_sandbox_exe(),
    };
    // Loaded here as well as in the server so that a bad config fails before any output.
    let config = Config::load(&overrides)?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    crate::local_model::prepare(&config, true)?;
    let _ = (&args.thread_source, &args.cyber_access_program);

    let output_schema: Option<Value> = match &args.output_schema {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --output-schema {}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("--output-schema {} is not JSON", path.display()))?,
            )
        }
        None => None,
    };
    let (resume, prompt_arg, mut image_paths) = match args.command.take() {
        Some(ExecCommand::Resume {
            session_id,
            prompt,
            last,
            images,
        }) => {
            // `exec resume --last PROMPT`: the one positional is the prompt.
            let (target, prompt) = match (last, session_id, prompt) {
                (true, Some(p), None) => (Resume::Last, Some(p)),
                (true, _, p) => (Resume::Last, p),
                (false, Some(id), p) => (Resume::Id(id), p),
                (false, None, _) => bail!("exec resume: give a thread id or --last"),
            };
            (Some(target), prompt, images)
        }
        None => (None, args.prompt.take(), Vec::new()),
    };
    image_paths.extend(args.images.iter().cloned());
    let mut input = Vec::new();
    for path in &image_paths {
        check_image(path)?;
        let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        input.push(json!({"type": "localImage", "path": path}));
    }
    let text = read_prompt(prompt_arg.as_deref())?;
    input.insert(
        0,
        json!({"type": "text", "text": text, "text_elements": []}),
    );

    let server = AppServer::new(ServerOptions {
        overrides,
        wright_home: config.wright_home.clone(),
        ephemeral: args.ephemeral,
        source: "exec".into(),
        thread_retention_days: config.thread_retention_days,
        max_threads: config.max_threads,
    });
    let mut client = Client::new(server.connect());
    client
        .request(
            "initialize",
            json!({"clientInfo": {"name": "wright_exec", "title": "wright exec", "version": env!("CARGO_PKG_VERSION")}}),
        )
        .await?;
    client.notify("initialized");
    // exec has nobody to ask, so it never asks (as `codex exec`).
    let started = match resume {
        None => {
            client
                .request("thread/start", json!({"approvalPolicy": "never"}))
                .await?
        }
        Some(target) => {
            let id = match target {
                Resume::Id(id) => id,
                Resume::Last => {
                    let page = client
                        .request(
                            "thread/list",
                            json!({"limit": 1, "cwd": cwd.display().to_string()}),
                        )
                        .await?;
                    page.pointer("/data/0/id")
                        .and_then(Value::as_str)
                        .map(String::from)
                        .context("exec resume --last: no earlier thread in this directory")?
                }
            };
            client
                .request(
                    "thread/resume",
                    json!({"threadId": id, "approvalPolicy": "never", "excludeTurns": true}),
                )
                .await?
        }
    };
    let thread_id = started
        .pointer("/thread/id")
        .and_then(Value::as_str)
        .context("the app server answered thread/start without a thread id")?
        .to_string();

    // Printing is blocking I/O: it gets its own thread, fed in order.
    let human = (!args.json).then(|| HumanPrinter::new(args.color, &config));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let json = args.json;
    let printer_thread_id = thread_id.clone();
    let printer = std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut mapper = ExecEventMapper::default();
        let mut human = human;
        if json {
            write_json(
                &mut out,
                &ThreadEvent::ThreadStarted {
                    thread_id: printer_thread_id,
                },
            );
        } else if let Some(h) = human.as_mut() {
            h.thread_started(&printer_thread_id);
        }
        while let Some(event) = rx.blocking_recv() {
            if let Some(h) = human.as_mut() {
                h.event(&event);
            } else {
                for line in mapper.map(&event) {
                    write_json(&mut out, &line);
                }
            }
        }
    });

    let (signal_tx, mut signals) = tokio::sync::mpsc::unbounded_channel();
    spawn_signal_watch(signal_tx)?;
    let mut turn_params = json!({"threadId": thread_id, "input": input});
    if let Some(schema) = output_schema {
        turn_params["outputSchema"] = schema;
    }
    let turn = client.request("turn/start", turn_params).await?;
    let turn_id = turn
        .pointer("/turn/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();

    let mut mapper = NotificationMapper::default();
    let mut last_message: Option<String> = None;
    let mut mcp_warned = std::collections::HashSet::new();
    let mut signal_code = 0;
    let status = loop {
        let message = tokio::select! {
            message = client.next() => message,
            Some(code) = signals.recv() => {
                signal_code = code;
                client.notify_request("turn/interrupt", json!({"threadId": thread_id, "turnId": turn_id}));
                continue;
            }
        };
        let Some(message) = message else {
            break "failed".to_string();
        };
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        if message.get("id").is_some() && !method.is_empty() {
            if method == "item/tool/requestUserInput" {
                // The model's questions: nobody is here to answer, and the model is told so.
                client.send(json!({"id": message["id"], "error": {
                    "code": -32000,
                    "message": "wright exec runs without a user: nobody can answer questions",
                }}));
            } else {
                // A server request (an approval): exec never asks, so say no.
                client.reply(&message["id"], json!({"decision": "decline"}));
            }
            continue;
        }
        if method == "mcpServer/startupStatus/updated" {
            // A server that cannot start is said once; the run goes on without it.
            let name = params
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let failed = params.get("status").and_then(Value::as_str) == Some("failed");
            if failed && mcp_warned.insert(name.to_string()) {
                eprintln!(
                    "warning: MCP server `{name}` failed to start: {}",
                    params
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given")
                );
            }
            continue;
        }
        if method == "warning" {
            eprintln!(
                "warning: {}",
                params
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            );
            continue;
        }
        if method == "configWarning" {
            eprintln!(
                "warning: {}",
                params
                    .get("summary")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            );
            continue;
        }
        // Sub-agents' threads are followed too (their approvals come here); their items and
        // turns are theirs, not this run's.
        if params
            .get("threadId")
            .and_then(Value::as_str)
            .is_some_and(|id| id != thread_id)
            || (method == "thread/started"
                && params.pointer("/thread/id").and_then(Value::as_str) != Some(&thread_id))
        {
            continue;
        }
        for event in mapper.map(method, &params) {
            if let Event::ItemCompleted(item) = &event {
                if let wright_protocol::ItemDetails::AgentMessage { text } = &item.details {
                    last_message = Some(text.clone());
                }
            }
            let _ = tx.send(event);
        }
        if method == "turn/completed"
            && params.pointer("/turn/id").and_then(Value::as_str) == Some(&turn_id)
        {
            break params
                .pointer("/turn/status")
                .and_then(Value::as_str)
                .unwrap_or("failed")
                .to_string();
        }
    };
    // The session ends with the run: leaving the thread lets its `SessionEnd` hooks run (the
    // answer waits for them) and stops what the model left running.
    let _ = client
        .request("thread/unsubscribe", json!({"threadId": thread_id}))
        .await;
    drop(tx);
    let _ = tokio::task::spawn_blocking(move || printer.join()).await;

    let last = (status == "completed").then_some(last_message).flatten();
    if let Some(path) = &args.output_last_message {
        // Codex leaves an empty file behind on failure, so scripts can rely on it existing.
        if let Err(e) = std::fs::write(path, last.as_deref().unwrap_or_default()) {
            eprintln!(
                "warning: cannot write --output-last-message {}: {e}",
                path.display()
            );
        }
    }
    if !args.json {
        if let Some(message) = &last {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{message}");
        }
    }
    Ok(match status.as_str() {
        "completed" => 0,
        "interrupted" if signal_code != 0 => signal_code,
        _ => 1,
    })
}

/// The sandbox the flags ask for (`--yolo` over `--full-auto` over `--sandbox`).
pub(crate) fn sandbox_mode(
    sandbox: Option<SandboxArg>,
    full_auto: bool,
    bypass: bool,
) -> Option<SandboxMode> {
    if bypass {
        Some(SandboxMode::DangerFullAccess)
    } else if full_auto {
        Some(SandboxMode::WorkspaceWrite)
    } else {
        sandbox.map(|s| match s {
            SandboxArg::ReadOnly => SandboxMode::ReadOnly,
            SandboxArg::WorkspaceWrite => SandboxMode::WorkspaceWrite,
            SandboxArg::DangerFullAccess => SandboxMode::DangerFullAccess,
        })
    }
}

enum Resume {
    Id(String),
    Last,
}

/// exec's side of the in-process App Server connection.
struct Client {
    conn: Connection,
    next_id: i64,
    /// Messages that arrived while a response was awaited.
    backlog: std::collections::VecDeque<Value>,
}

impl Client {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            next_id: 1,
            backlog: Default::default(),
        }
    }

    fn send(&self, message: Value) {
        // try_send: the channel is deep and the server reads continuously; a full queue here
        // would mean the server is gone, which the next read reports.
        let _ = self.conn.incoming.try_send(message.to_string());
    }

    fn notify(&self, method: &str) {
        self.send(json!({"method": method}));
    }

    /// A request whose answer nobody waits for (its error, if any, is not interesting).
    fn notify_request(&mut self, method: &str, params: Value) {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"id": id, "method": method, "params": params}));
    }

    fn reply(&self, id: &Value, result: Value) {
        self.send(json!({"id": id, "result": result}));
    }

    async fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"id": id, "method": method, "params": params}));
        loop {
            let line = self
                .conn
                .outgoing
                .recv()
                .await
                .with_context(|| format!("the app server stopped before answering {method}"))?;
            let message: Value = serde_json::from_str(&line)
                .with_context(|| format!("the app server sent a line that is not JSON: {line}"))?;
            if message.get("id").and_then(Value::as_i64) == Some(id)
                && message.get("method").is_none()
            {
                if let Some(error) = message.get("error") {
                    let text = error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error");
                    bail!("{text}");
                }
                return Ok(message.get("result").cloned().unwrap_or(Value::Null));
            }
            self.backlog.push_back(message);
        }
    }

    async fn next(&mut self) -> Option<Value> {
        if let Some(message) = self.backlog.pop_front() {
            return Some(message);
        }
        let line = self.conn.outgoing.recv().await?;
        serde_json::from_str(&line).ok()
    }
}

fn write_json(out: &mut impl Write, event: &ThreadEvent) {
    // A closed stdout (e.g. piped into `head`) is not worth a crash; the run goes on.
    if let Ok(line) = serde_json::to_string(event) {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn spawn_signal_watch(codes: tokio::sync::mpsc::UnboundedSender<i32>) -> anyhow::Result<()> {
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let exit = tokio::select! {
                _ = int.recv() => EXIT_SIGINT,
                _ = term.recv() => EXIT_SIGTERM,
            };
            if !first {
                // A second signal while the turn winds down: the user means it.
                std::process::exit(exit);
            }
            first = false;
            let _ = codes.send(exit);
        }
    });
    Ok(())
}

fn inside_git_repo(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // An empty mode-000 `.git` is a sandbox mask about to be removed, not a repository.
    let is_mask = |p: &Path| {
        std::fs::symlink_metadata(p)
            .is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o7777 == 0)
    };
    dir.ancestors().any(|d| {
        let git = d.join(".git");
        git.exists() && !is_mask(&git)
    })
}

/// The prompt: the argument, or stdin when the argument is absent or `-`. With an argument and
/// piped stdin, the stdin text is appended in a `<stdin>` block, as Codex does.
fn read_prompt(arg: Option<&str>) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    match arg {
        Some(prompt) if prompt != "-" => {
            if stdin.is_terminal() {
                return Ok(prompt.to_string());
            }
            let mut extra = String::new();
            stdin
                .lock()
                .read_to_string(&mut extra)
                .context("cannot read stdin")?;
            if extra.trim().is_empty() {
                Ok(prompt.to_string())
            } else {
                Ok(format!("{prompt}\n\n<stdin>\n{extra}\n</stdin>"))
            }
        }
        _ => {
            if stdin.is_terminal() {
                bail!("no prompt given: pass it as an argument or pipe it on stdin");
            }
            if arg.is_none() {
                eprintln!("Reading prompt from stdin...");
            }
            let mut text = String::new();
            stdin
                .lock()
                .read_to_string(&mut text)
                .context("cannot read the prompt from stdin")?;
            if text.trim().is_empty() {
                bail!("no prompt given: stdin was empty");
            }
            Ok(text)
        }
    }
}

/// Fails early, before any output, on an image the server could not read.
fn check_image(path: &Path) -> anyhow::Result<()> {
    std::fs::metadata(path).with_context(|| format!("cannot read image {}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !matches!(ext.as_str(), "png" | "jpg" | "jpeg" | "gif" | "webp") {
        bail!(
            "unsupported image type for {} (use png, jpeg, gif or webp)",
            path.display()
        );
    }
    Ok(())
}
