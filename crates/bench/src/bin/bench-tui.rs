//! `bench-tui`: the terminal UI as a person meets it, measured on the real release binary in a
//! tmux pane against the mock model.
//!
//! 1. launch to an interactive composer on screen;
//! 2. keypress to screen (a typed character showing up);
//! 3. idle CPU over 5 s with the composer open;
//! 4. RSS of the wright process after a 200-step turn;
//! 5. scrolling a 10 000-line transcript (Ctrl+T, PgUp) key to screen.
//!
//! Times include tmux's own round trip (send-keys, then capture-pane polled every 1 ms), so
//! they bound wright's share from above. Build first with
//! `cargo build --release -p wright-cli -p wright-bench`; `WRIGHT_BIN` overrides the binary.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, Step};

const STEPS: usize = 200;

const TARGET_LAUNCH_MS: f64 = 50.0;
const TARGET_KEY_MS: f64 = 16.0;
const TARGET_RSS_MB: f64 = 40.0;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench-tui: {e:#}");
            ExitCode::from(2)
        }
    }
}

struct Pane {
    socket: String,
}

impl Pane {
    fn start(socket: &str, script: &str) -> anyhow::Result<Pane> {
        let ok = Command::new("tmux")
            .args([
                "-L",
                socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "40",
            ])
            .args(["sh", "-c", script])
            .env_remove("TMUX")
            .status()
            .context("tmux is needed (apt-get install tmux)")?
            .success();
        if !ok {
            bail!("tmux could not start a session");
        }
        Ok(Pane {
            socket: socket.into(),
        })
    }

    fn screen(&self) -> String {
        Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn keys(&self, keys: &[&str]) -> anyhow::Result<()> {
        let ok = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()?
            .success();
        if !ok {
            bail!("send-keys failed");
        }
        Ok(())
    }

    /// Polls until `done(screen)`; the time it took.
    fn until(&self, what: &str, done: impl Fn(&str) -> bool) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            if done(&self.screen()) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("the screen never showed {what}:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The pid of the wright process: the pane's own (the script `exec`s it), not a child
    /// it forks (the sandbox probe has the same command line).
    fn wright_pid(&self) -> Option<u32> {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "list-panes", "-F", "#{pane_pid}"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn proc_field(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn p90(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() * 9 / 10).copied().unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn run() -> anyhow::Result<bool> {
    let bin = match std::env::var_os("WRIGHT_BIN") {
        Some(b) => PathBuf::from(b),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/release/wright"),
    };
    let bin = std::fs::canonicalize(&bin)
        .with_context(|| format!("no wright binary at {} (build it first)", bin.display()))?;
    let bin_s = bin.display().to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // 200 commands, then an answer; a command that prints 10 000 lines for the scroll test.
    let answer = Arc::new(|index: usize, _body: &Value| -> Step {
        let shell = |cmd: &str| {
            Step::calls(vec![OutputItem::function(
                "shell",
                json!({"command": ["bash", "-c", cmd]}),
            )])
        };
        match index {
            i if i < STEPS => shell(&format!("echo step {i}")),
            i if i == STEPS => Step::message("done with the steps"),
            i if i == STEPS + 1 => shell("seq 1 10000"),
            _ => Step::message("printed them"),
        }
    });
    let mock = runtime.block_on(MockModel::start(Script::Dynamic(answer)))?;
    let home = tempfile::tempdir()?;
    let repo = tempfile::tempdir()?;
    std::fs::create_dir(repo.path().join(".git"))?;
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\n",
            mock.base_url()
        ),
    )?;
    let script = format!(
        "cd '{}' && exec env WRIGHT_HOME='{home}' HOME='{home}' TERM=xterm-256color '{bin_s}' -a never -s danger-full-access",
        repo.path().display(),
        home = home.path().display(),
    );
    // A tmux server per pane: a new session right after kill-server on the same socket races.
    let socket = |n: usize| format!("wright-bench-tui-{}-{n}", std::process::id());
    let composer = |s: &str| s.contains("Ask wright to do something");

    // 1. Launch to composer, a few times.
    let mut launches = Vec::new();
    for n in 0..5 {
        let started = Instant::now();
        let pane = Pane::start(&socket(n), &script)?;
        pane.until("the composer", composer)?;
        launches.push(ms(started.elapsed()));
        drop(pane);
    }
    let pane = Pane::start(&socket(5), &script)?;
    pane.until("the composer", composer)?;
    let pid = pane
        .wright_pid()
        .context("cannot find the wright process")?;

    // 2. Keypress to screen.
    let mut keys = Vec::new();
    let mut typed = String::new();
    for i in 0..40 {
        let c = (b'a' + (i % 26) as u8) as char;
        typed.push(c);
        let started = Instant::now();
        pane.keys(&["-l", &c.to_string()])?;
        let expect = format!("› {typed}");
        pane.until("the typed text", |s| s.contains(&expect))?;
        keys.push(ms(started.elapsed()));
    }
    pane.keys(&["C-u"])?;

    // 3. Idle CPU.
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(pid).context("cannot read the CPU time")?;
    std::thread::sleep(Duration::from_secs(5));
    let idle_ticks = cpu_ticks(pid).context("cannot read the CPU time")? - before;

    // 4. A 200-step turn, then RSS.
    pane.keys(&["-l", "go"])?;
    pane.keys(&["Enter"])?;
    let started = Instant::now();
    pane.until("the answer", |s| {
        s.contains("done with the steps") && composer(s)
    })?;
    let turn = started.elapsed();
    let rss_kib = proc_field(pid, "VmRSS:").context("cannot read VmRSS")?;
    let hwm_kib = proc_field(pid, "VmHWM:").unwrap_or(rss_kib);

    // 5. A 10 000-line output, then scroll the transcript.
    pane.keys(&["-l", "print"])?;
    pane.keys(&["Enter"])?;
    pane.until("the second answer", |s| s.contains("printed them"))?;
    pane.keys(&["C-t"])?;
    pane.until("the transcript", |s| s.contains("Transcript"))?;
    let mut scrolls = Vec::new();
    for _ in 0..30 {
        let before = pane.screen();
        let started = Instant::now();
        pane.keys(&["PPage"])?;
        pane.until("a scrolled page", |s| s != before)?;
        scrolls.push(ms(started.elapsed()));
    }

    let launch = median(launches.clone());
    let key = median(keys.clone());
    let rss_mb = rss_kib as f64 / 1024.0;
    let checks = [
        (
            format!(
                "launch to composer   median {launch:.1} ms, p90 {:.1} ms (5 runs)",
                p90(launches)
            ),
            launch < TARGET_LAUNCH_MS,
            format!("< {TARGET_LAUNCH_MS} ms"),
        ),
        (
            format!(
                "keypress to screen   median {key:.1} ms, p90 {:.1} ms (40 keys)",
                p90(keys)
            ),
            key < TARGET_KEY_MS,
            format!("< {TARGET_KEY_MS} ms"),
        ),
        (
            format!("idle CPU             {idle_ticks} ticks in 5 s"),
            idle_ticks <= 1,
            "~0".into(),
        ),
        (
            format!(
                "RSS after {STEPS} steps   {rss_mb:.1} MB (peak {:.1} MB; the turn took {:.1} s)",
                hwm_kib as f64 / 1024.0,
                turn.as_secs_f64()
            ),
            rss_mb < TARGET_RSS_MB,
            format!("< {TARGET_RSS_MB} MB"),
        ),
        (
            format!(
                "10 000-line scroll   median {:.1} ms, p90 {:.1} ms per page (30 pages)",
                median(scrolls.clone()),
                p90(scrolls.clone())
            ),
            median(scrolls) < TARGET_KEY_MS,
            format!("< {TARGET_KEY_MS} ms"),
        ),
    ];
    let mut all = true;
    for (line, ok, target) in checks {
        println!(
            "{line:<80} target {target:<8} {}",
            if ok { "ok" } else { "MISSED" }
        );
        all &= ok;
    }
    Ok(all)
}
