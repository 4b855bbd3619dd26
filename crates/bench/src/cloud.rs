//! `bench --cloud`: cloud tasks on a real engine (Podman's Docker-API service) against the
//! mock model: 20 attempts in parallel (time until all complete, and the peak RSS of the
//! driving `wright cloud exec`), and the per-task overhead of running a task in a container
//! rather than in this process (one-attempt `wright cloud exec` minus the same task through
//! `wright exec`, medians).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, ServeOptions, Step};

use crate::{ms, percentile};

const IMAGE: &str = "localhost/wright-base:bookworm";
const ATTEMPTS: u32 = 20;
const RUNS: usize = 5;

/// The task every attempt does: one command, then an answer with its output.
fn script() -> Script {
    Script::Dynamic(Arc::new(|_, body: &Value| {
        let done = body["input"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["type"] == "function_call_output"));
        if done {
            Step::message("done")
        } else {
            Step::calls(vec![OutputItem::function(
                "exec_command",
                json!({"cmd": "echo hi > f.txt"}),
            )])
        }
    }))
}

fn git(repo: &Path, args: &[&str]) -> anyhow::Result<()> {
    let ok = Command::new("git")
        .args(["-c", "user.name=b", "-c", "user.email=b@b"])
        .args(args)
        .current_dir(repo)
        .stdout(Stdio::null())
        .status()?
        .success();
    ensure!(ok, "git {args:?} failed");
    Ok(())
}

/// Runs `bin` with `args` in `repo`; returns wall ms and peak RSS (KiB) from wait4.
fn timed(bin: &Path, repo: &Path, home: &Path, args: &[&str]) -> anyhow::Result<(f64, u64)> {
    let started = Instant::now();
    let child = Command::new(bin)
        .args(args)
        .current_dir(repo)
        .env("WRIGHT_HOME", home)
        .env("HOME", home)
        .env("MOCK_API_KEY", "bench")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; `usage` is a zeroed out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = ms(started.elapsed());
    ensure!(waited == pid, "wait4 failed");
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let mut err = String::new();
        if let Some(mut e) = child.stderr {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        bail!("`wright {}` failed ({status}):\n{err}", args.join(" "));
    }
    Ok((wall, usage.ru_maxrss as u64))
}

pub fn run(bin: &Path, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let image = Command::new("podman")
        .args(["image", "exists", IMAGE])
        .status()
        .is_ok_and(|s| s.success());
    ensure!(
        image,
        "the image {IMAGE} is missing: build it with scripts/cloud-image (and start \
         `podman system service --time=0 unix:///run/podman/podman.sock`)"
    );
    let options = ServeOptions {
        host: Some("0.0.0.0".parse()?),
        ..ServeOptions::default()
    };
    let mock = runtime.block_on(MockModel::start_with(script(), options))?;
    let port = mock
        .base_url()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches("/v1")
        .to_string();
    let repo = tempfile::tempdir()?;
    git(repo.path(), &["init", "-q"])?;
    std::fs::write(repo.path().join("README.md"), "bench\n")?;
    git(repo.path(), &["add", "."])?;
    git(repo.path(), &["commit", "-q", "-m", "bench"])?;
    let home = tempfile::tempdir()?;
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            r#"model_provider = "mock"
[model_providers.mock]
name = "mock"
base_url = "{local}"
wire_api = "responses"

[cloud.environments.bench]
engine = "docker"
image = "{IMAGE}"
secrets = ["MOCK_API_KEY"]
[cloud.environments.bench.config]
model_provider = "mock"
model_providers.mock = {{ name = "mock", base_url = "http://host.containers.internal:{port}/v1", wire_api = "responses", env_key = "MOCK_API_KEY" }}
"#,
            local = mock.base_url()
        ),
    )?;
    let (repo, home) = (repo.path(), home.path());
    let cloud = |n: u32| {
        let attempts = n.to_string();
        timed(
            bin,
            repo,
            home,
            &[
                "cloud",
                "exec",
                "--env",
                "bench",
                "--attempts",
                &attempts,
                "bench",
            ],
        )
    };
    let local = || timed(bin, repo, home, &["exec", "bench"]);
    // Warm the engine's and the page cache once; not counted.
    cloud(1)?;
    let mut one = Vec::new();
    let mut here = Vec::new();
    for _ in 0..RUNS {
        one.push(cloud(1)?.0);
        here.push(local()?.0);
    }
    let mut all = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..3 {
        let (wall, kib) = cloud(ATTEMPTS)?;
        all.push(wall);
        rss.push(kib as f64 / 1024.0);
    }
    let requests = mock.requests().len();
    let expected = 2 * (1 + RUNS * 2 + 3 * ATTEMPTS as usize);
    ensure!(
        requests == expected,
        "the mock saw {requests} requests, expected {expected}: some attempt did not do the task"
    );
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        percentile(v, 0.5)
    };
    let (one_med, here_med) = (med(&mut one), med(&mut here));
    println!("cloud tasks on Podman ({IMAGE}), mock model, {RUNS} runs each:");
    println!("  one attempt, `wright cloud exec`:  median {one_med:.0} ms");
    println!("  same task, `wright exec` here:      median {here_med:.0} ms");
    println!(
        "  per-task overhead (container, clone, app server, diff, cleanup): {:.0} ms",
        one_med - here_med
    );
    println!(
        "  {ATTEMPTS} attempts in parallel: all complete in median {:.0} ms (runs: {})",
        med(&mut all),
        all.iter()
            .map(|v| format!("{v:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  peak RSS of the driving `wright cloud exec` with {ATTEMPTS} attempts: max {:.1} MB",
        rss.iter().cloned().fold(0.0, f64::max)
    );
    Ok(())
}
