//! The App Server's own costs: process start to the `initialize` reply, `turn/start` to the
//! model request it causes, notifications per second with 20 threads working at once, and
//! `fuzzyFileSearch` over a generated tree of [`FUZZY_TREE_FILES`] files.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, Step};

pub const TARGET_INITIALIZE_MS: f64 = 20.0;
pub const TARGET_TURN_TO_REQUEST_MS: f64 = 5.0;
pub const TARGET_FUZZY_SEARCH_MS: f64 = 100.0;
/// Files in the tree `fuzzyFileSearch` is timed on (plus one directory per 100 files).
pub const FUZZY_TREE_FILES: usize = 20_000;
const CONCURRENT_THREADS: usize = 20;
/// Commands per turn in the concurrency run; each gives started, outputDelta, completed.
const STEPS_PER_TURN: usize = 5;

pub struct Figures {
    pub initialize_ms: Vec<f64>,
    pub turn_to_request_ms: Vec<f64>,
    pub notifications: usize,
    pub notifications_per_sec: f64,
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<(Instant, Value)>,
    next_id: i64,
}

impl Server {
    fn start(bin: &Path, home: &Path) -> anyhow::Result<(Server, Instant)> {
        let started = Instant::now();
        let mut child = Command::new(bin)
            .arg("app-server")
            .env("WRIGHT_HOME", home)
            .env("HOME", home)
            .env_remove("OPENAI_API_KEY")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    if tx.send((Instant::now(), v)).is_err() {
                        break;
                    }
                }
            }
        });
        Ok((
            Server {
                child,
                stdin,
                lines,
                next_id: 1,
            },
            started,
        ))
    }

    fn send(&mut self, value: Value) -> anyhow::Result<i64> {
        let id = self.next_id;
        self.next_id += 1;
        writeln!(self.stdin, "{value}")?;
        self.stdin.flush()?;
        Ok(id)
    }

    fn request(&mut self, method: &str, params: Value) -> anyhow::Result<i64> {
        let id = self.next_id;
        self.send(json!({"id": id, "method": method, "params": params}))
    }

    /// Waits for the reply to `id`, returning when it arrived and its result.
    fn reply(&mut self, id: i64) -> anyhow::Result<(Instant, Value)> {
        loop {
            let (at, msg) = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .context("the app server went quiet")?;
            if msg.get("id").and_then(Value::as_i64) == Some(id) && msg.get("method").is_none() {
                if let Some(error) = msg.get("error") {
                    bail!("request {id} failed: {error}");
                }
                return Ok((at, msg["result"].clone()));
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(home: &Path, url: &str) -> anyhow::Result<()> {
    std::fs::write(
        home.join("config.toml"),
        format!("model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{url}\"\n"),
    )?;
    Ok(())
}

fn initialize(server: &mut Server) -> anyhow::Result<Instant> {
    let id = server.request(
        "initialize",
        json!({"clientInfo": {"name": "bench", "version": "0"}}),
    )?;
    let (at, _) = server.reply(id)?;
    server.send(json!({"method": "initialized"}))?;
    Ok(at)
}

pub fn measure(
    bin: &Path,
    runtime: &tokio::runtime::Runtime,
    runs: usize,
) -> anyhow::Result<Figures> {
    let home = tempfile::tempdir()?;
    let repo = tempfile::tempdir()?;
    let mut figures = Figures {
        initialize_ms: Vec::new(),
        turn_to_request_ms: Vec::new(),
        notifications: 0,
        notifications_per_sec: 0.0,
    };

    // 1 + 2: start, initialize, one thread, one turn; time the first model request.
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = Arc::clone(&arrivals);
    let mock = runtime.block_on(MockModel::start(Script::Dynamic(Arc::new(move |_, _| {
        if let Ok(mut seen) = seen.lock() {
            seen.push(Instant::now());
        }
        Step::message("ok")
    }))))?;
    write_config(home.path(), &mock.base_url())?;
    for run in 0..=runs {
        let (mut server, started) = Server::start(bin, home.path())?;
        let ready = initialize(&mut server)?;
        let id = server.request(
            "thread/start",
            json!({"cwd": repo.path(), "approvalPolicy": "never"}),
        )?;
        let (_, thread) = server.reply(id)?;
        let thread_id = thread["thread"]["id"]
            .as_str()
            .context("no thread id")?
            .to_string();
        let before = arrivals.lock().map(|a| a.len()).unwrap_or(0);
        let sent = Instant::now();
        let id = server.request("turn/start", json!({"threadId": thread_id, "input": [{"type": "text", "text": "hi", "text_elements": []}]}))?;
        server.reply(id)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let arrived = loop {
            if let Some(at) = arrivals.lock().ok().and_then(|a| a.get(before).copied()) {
                break at;
            }
            if Instant::now() > deadline {
                bail!("the model never saw the turn's request");
            }
            thread::sleep(Duration::from_micros(200));
        };
        // The first run warms the page cache; it is not what repeated launches see.
        if run > 0 {
            figures.initialize_ms.push(ms(ready - started));
            figures.turn_to_request_ms.push(ms(arrived - sent));
        }
    }

    // 3: 20 threads at once, each a turn of STEPS_PER_TURN echo commands and an answer.
    let mock = runtime.block_on(MockModel::start(Script::Dynamic(Arc::new(
        |_, body: &Value| {
            let calls = body["input"]
                .as_array()
                .map(|i| i.iter().filter(|x| x["type"] == "function_call").count())
                .unwrap_or(0);
            if calls < STEPS_PER_TURN {
                Step::calls(vec![OutputItem::function(
                    "exec_command",
                    json!({"cmd": format!("echo {calls}")}),
                )])
            } else {
                Step::message("done")
            }
        },
    ))))?;
    write_config(home.path(), &mock.base_url())?;
    let (mut server, _) = Server::start(bin, home.path())?;
    initialize(&mut server)?;
    let mut threads = Vec::new();
    for _ in 0..CONCURRENT_THREADS {
        let id = server.request(
            "thread/start",
            json!({"cwd": repo.path(), "approvalPolicy": "never"}),
        )?;
        let (_, thread) = server.reply(id)?;
        threads.push(
            thread["thread"]["id"]
                .as_str()
                .context("no thread id")?
                .to_string(),
        );
    }
    let started = Instant::now();
    for thread_id in &threads {
        server.request("turn/start", json!({"threadId": thread_id, "input": [{"type": "text", "text": "go", "text_elements": []}]}))?;
    }
    let mut completed = 0;
    let mut notifications = 0;
    let mut last = started;
    while completed < CONCURRENT_THREADS {
        let (at, msg) = server
            .lines
            .recv_timeout(Duration::from_secs(60))
            .context("the app server went quiet during the concurrency run")?;
        if msg.get("method").is_some() && msg.get("id").is_none() {
            notifications += 1;
            last = at;
            if msg["method"] == "turn/completed" {
                if msg["params"]["turn"]["status"] != "completed" {
                    bail!("a turn did not complete: {msg}");
                }
                completed += 1;
            }
        }
    }
    figures.notifications = notifications;
    figures.notifications_per_sec = notifications as f64 / (last - started).as_secs_f64();
    Ok(figures)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `fuzzyFileSearch` request → reply over a fresh tree of [`FUZZY_TREE_FILES`] files in 200
/// directories two levels deep (the page cache is warm after the first, discarded, run).
/// Returns the latencies in ms and the number of files the last search answered with.
pub fn fuzzy_search(bin: &Path, runs: usize) -> anyhow::Result<(Vec<f64>, usize)> {
    let home = tempfile::tempdir()?;
    let tree = tempfile::tempdir()?;
    for i in 0..FUZZY_TREE_FILES {
        let dir = tree
            .path()
            .join(format!("pkg{:02}", i % 20))
            .join(format!("mod{:02}", (i / 20) % 10));
        if i < 200 {
            std::fs::create_dir_all(&dir)?;
        }
        std::fs::write(dir.join(format!("item_{i:05}.rs")), "")?;
    }
    let (mut server, _) = Server::start(bin, home.path())?;
    initialize(&mut server)?;
    let root = tree.path().display().to_string();
    let mut times = Vec::with_capacity(runs);
    let mut found = 0;
    for run in 0..=runs {
        let sent = Instant::now();
        let id = server.request(
            "fuzzyFileSearch",
            json!({"query": "pkg07 item_123", "roots": [root]}),
        )?;
        let (at, result) = server.reply(id)?;
        found = result["files"].as_array().map_or(0, Vec::len);
        if run > 0 {
            times.push(ms(at - sent));
        }
    }
    Ok((times, found))
}
