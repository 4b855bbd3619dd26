//! The agent toolset's costs: a keystroke's way through `write_stdin` on a terminal session
//! (echo latency, and the call's time beyond its yield, in process and through the real
//! binary), and skills discovery at thread start with 200 skills.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, Step};
use wright_tools::exec_session::{LaunchSpec, LiveProcess};

use crate::{ms, percentile};

pub struct Figures {
    /// Write of one key → its echo read back from the terminal (ms).
    pub echo: Vec<f64>,
    /// A poll with a 250 ms yield: its time beyond the yield, in process (ms).
    pub poll_overhead: Vec<f64>,
    /// `write_stdin` through `wright exec`: the tool's reported wall time beyond its yield (ms).
    pub write_stdin_overhead: Vec<f64>,
    /// Skills discovery with 200 skills (ms), and rendering their list.
    pub discover_200: Vec<f64>,
    pub render_200: Vec<f64>,
}

const YIELD_MS: u64 = 250;

pub fn measure(bin: &Path, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Figures> {
    let (echo, poll_overhead) = runtime.block_on(in_process())?;
    let write_stdin_overhead = through_exec(bin, runtime)?;
    let (discover_200, render_200) = skills()?;
    Ok(Figures {
        echo,
        poll_overhead,
        write_stdin_overhead,
        discover_200,
        render_200,
    })
}

async fn in_process() -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let dir = tempfile::tempdir()?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let spec = LaunchSpec {
        argv: vec!["/bin/cat".into()],
        cwd: dir.path().to_path_buf(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        tty: true,
    };
    let process = LiveProcess::spawn(
        &spec,
        Box::new(move |_| {
            let _ = tx.send(Instant::now());
        }),
    )?;
    let mut echo = Vec::new();
    for _ in 0..200 {
        while rx.try_recv().is_ok() {}
        let sent = Instant::now();
        process.write(b"k").await?;
        let arrived = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .context("no echo within 5 s")?
            .context("the terminal closed")?;
        echo.push(ms(arrived - sent));
    }
    let mut overhead = Vec::new();
    for _ in 0..20 {
        process.write(b"k").await?;
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(YIELD_MS);
        let chunk = process.poll_until(deadline).await;
        if chunk.exit_code.is_some() {
            bail!("cat exited");
        }
        overhead.push(ms(started.elapsed()) - YIELD_MS as f64);
    }
    process.terminate().await;
    Ok((echo, overhead))
}

/// `wright exec` with the mock: `cat` on a terminal, then 20 keystrokes through `write_stdin`;
/// each output's `Wall time` minus the yield.
fn through_exec(bin: &Path, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Vec<f64>> {
    const KEYS: usize = 20;
    let script = Script::Dynamic(Arc::new(|i, body: &Value| {
        let call = |name: &str, args: Value| OutputItem::FunctionCall {
            name: name.into(),
            arguments: args.to_string(),
            call_id: Some(format!("c{i}")),
        };
        if i == 0 {
            return Step::calls(vec![call(
                "exec_command",
                json!({"cmd": "cat", "tty": true, "yield_time_ms": YIELD_MS}),
            )]);
        }
        if i > KEYS {
            return Step::message("done");
        }
        let session = session_of(body).unwrap_or(0);
        Step::calls(vec![call(
            "write_stdin",
            json!({"session_id": session, "chars": "k", "yield_time_ms": YIELD_MS}),
        )])
    }));
    let mock = runtime.block_on(MockModel::start(script))?;
    let home = tempfile::tempdir()?;
    let repo = tempfile::tempdir()?;
    std::fs::create_dir(repo.path().join(".git"))?;
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\nwire_api = \"responses\"\n",
            mock.base_url()
        ),
    )?;
    let out = Command::new(bin)
        .args(["exec", "--json", "-s", "workspace-write", "type"])
        .current_dir(repo.path())
        .env("WRIGHT_HOME", home.path())
        .env("HOME", home.path())
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        bail!(
            "wright exec failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut overhead = Vec::new();
    for request in mock.requests().iter().skip(2) {
        let body = request.json();
        if let Some(wall) = last_output(&body).and_then(|o| wall_time(&o)) {
            overhead.push(wall * 1000.0 - YIELD_MS as f64);
        }
    }
    if overhead.len() < KEYS - 1 {
        bail!("only {} write_stdin results were seen", overhead.len());
    }
    Ok(overhead)
}

fn last_output(body: &Value) -> Option<String> {
    body["input"]
        .as_array()?
        .iter()
        .rev()
        .find(|i| i["type"] == "function_call_output")
        .and_then(|i| i["output"].as_str())
        .map(str::to_string)
}

fn session_of(body: &Value) -> Option<u64> {
    body["input"].as_array()?.iter().find_map(|i| {
        let out = i["output"].as_str()?;
        let line = out
            .lines()
            .find(|l| l.starts_with("Process running with session ID "))?;
        line.rsplit(' ').next()?.parse().ok()
    })
}

fn wall_time(output: &str) -> Option<f64> {
    output
        .lines()
        .find_map(|l| l.strip_prefix("Wall time: "))?
        .strip_suffix(" seconds")?
        .parse()
        .ok()
}

fn skills() -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let home = tempfile::tempdir()?;
    let repo = tempfile::tempdir()?;
    std::fs::create_dir(repo.path().join(".git"))?;
    for i in 0..200 {
        let (root, n) = if i % 2 == 0 {
            (home.path().join("skills"), i)
        } else {
            (repo.path().join(".agents/skills"), i)
        };
        let dir = root.join(format!("skill-{n:03}"));
        std::fs::create_dir_all(dir.join("scripts"))?;
        std::fs::write(
            dir.join("SKILL.md"),
            format!(
                "---\nname: skill-{n:03}\ndescription: Does task number {n} the way this team does it, with checks.\n---\n\n# Skill {n}\n{}\n",
                "Step. ".repeat(200)
            ),
        )?;
    }
    let mut options =
        wright_skills::DiscoverOptions::new(home.path().to_path_buf(), repo.path().to_path_buf());
    options.home = None;
    options.admin_root = None;
    let mut discover = Vec::new();
    let mut render = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let found = wright_skills::discover(&options);
        discover.push(ms(started.elapsed()));
        if found.skills.len() != 200 {
            bail!("found {} of 200 skills", found.skills.len());
        }
        let started = Instant::now();
        let text = wright_skills::render_instructions(
            &found.skills,
            wright_skills::default_budget_bytes(Some(272_000)),
        );
        render.push(ms(started.elapsed()));
        if text.is_none() {
            bail!("no skills list rendered");
        }
    }
    Ok((discover, render))
}

pub fn print(f: &mut Figures) {
    for v in [
        &mut f.echo,
        &mut f.poll_overhead,
        &mut f.write_stdin_overhead,
        &mut f.discover_200,
        &mut f.render_200,
    ] {
        v.sort_by(f64::total_cmp);
    }
    println!("\nAgent toolset");
    let row = |label: &str, v: &[f64]| {
        println!(
            "  {label:<58} median {:7.3} ms  p95 {:7.3} ms  max {:7.3} ms",
            percentile(v, 0.5),
            percentile(v, 0.95),
            v.last().copied().unwrap_or_default()
        );
    };
    row("keystroke -> echo on a PTY session (200 keys)", &f.echo);
    row(
        "poll with 250 ms yield: time beyond the yield (in process)",
        &f.poll_overhead,
    );
    row(
        "write_stdin via wright exec: wall time beyond the yield",
        &f.write_stdin_overhead,
    );
    row(
        "skills discovery, 200 skills (user + repo)",
        &f.discover_200,
    );
    row(
        "skills list rendered for the prompt, 200 skills",
        &f.render_200,
    );
}
