//! `bench [--quick]`: what wright itself costs, measured on the real release binary.
//!
//! Every run talks to the in-process mock model, which answers instantly, so the figures are
//! wright's own overhead: process start, config loading, request building, SSE parsing, tool
//! dispatch and bookkeeping. Three figures:
//!
//! 1. process start to first model request (`wright exec --json "hi"`, one reply, exit);
//! 2. per-step orchestration overhead: N `exec_command` round trips, minus the cost of the
//!    commands themselves (measured separately) and of a zero-step run;
//! 3. peak RSS of the longest run;
//! 4. long sessions that compact: cached share of input tokens and per-step overhead.
//!
//! Build first with `cargo build --release -p wright-cli -p wright-bench`; `WRIGHT_BIN`
//! overrides which `wright` binary is measured.

mod agent_tools;
mod app_server;
mod cloud;
mod mcp;

use std::fmt::Write as _;
use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use serde_json::{json, Value};
use tempfile::TempDir;
use wright_mock_model::{MockModel, OutputItem, RecordedRequest, Script, Step};

const USAGE: &str = "usage: bench [--quick] [--mcp] [--agent-tools] [--cloud]\n\n\
    Measures the release wright binary (target/release/wright, or $WRIGHT_BIN) against the\n\
    in-process mock model. --quick: 5 startup runs and N = 10, 50 only (CI smoke test).\n\
    --mcp: only the MCP section (first request with servers configured; catalogue size).\n\
    --agent-tools: only the agent toolset (write_stdin latency, skills discovery).\n\
    --cloud: only cloud tasks on Podman (20 attempts in parallel; per-task overhead).";

const TARGET_FIRST_REQUEST_MS: f64 = 30.0;
const TARGET_STEP_OVERHEAD_MS: f64 = 5.0;
const TARGET_PEAK_RSS_MB: f64 = 30.0;

/// A hung wright must fail the bench (e.g. in CI) rather than block it forever.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

const TARGET_CACHED_SHARE: f64 = 0.95;
const TARGET_SANDBOX_MS: f64 = 3.0;

struct SandboxCost {
    runs: usize,
    /// (label, median ms, p90 ms) over `true`.
    rows: Vec<(&'static str, f64, f64)>,
}

/// Wall time of `wright-sandbox --policy P -- true` (the launcher the agent uses) minus that
/// of `true`, in a git repository (so the protected-path mounts are counted), interleaved so
/// that load on the machine hits every variant alike; medians and p90.
fn sandbox_cost(harness: &Harness, runs: usize) -> anyhow::Result<SandboxCost> {
    let repo = harness.repo.path();
    if !repo.join(".git").exists() {
        let ok = Command::new("git")
            .args(["init", "-q"])
            .current_dir(repo)
            .status()?
            .success();
        ensure!(ok, "git init failed in {}", repo.display());
    }
    let launcher = wright_sandbox::launcher_for(&harness.bin);
    let root = repo.display().to_string();
    let policy = |mode: &str, roots: Vec<String>, network: bool| {
        json!({"mode": mode, "writable_roots": roots, "network": network}).to_string()
    };
    let variants: Vec<(&'static str, PathBuf, Vec<String>)> = vec![
        (
            "workspace-write, network off",
            launcher.clone(),
            vec![
                "sandbox".into(),
                policy("workspace-write", vec![root.clone()], false),
            ],
        ),
        (
            "workspace-write, network on",
            launcher.clone(),
            vec![
                "sandbox".into(),
                policy("workspace-write", vec![root.clone()], true),
            ],
        ),
        (
            "workspace-write + /tmp, network off",
            launcher.clone(),
            vec![
                "sandbox".into(),
                policy("workspace-write", vec![root.clone(), "/tmp".into()], false),
            ],
        ),
        (
            "read-only",
            launcher.clone(),
            vec!["sandbox".into(), policy("read-only", vec![], false)],
        ),
        (
            "workspace-write via `wright sandbox`",
            harness.bin.clone(),
            vec![
                "sandbox".into(),
                policy("workspace-write", vec![root.clone()], false),
            ],
        ),
    ];
    let time = |cmd: &mut Command| -> anyhow::Result<f64> {
        let started = Instant::now();
        let status = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        ensure!(status.success(), "{cmd:?} failed: {status}");
        Ok(ms(started.elapsed()))
    };
    let mut plain = Vec::with_capacity(runs);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); variants.len()];
    for _ in 0..runs {
        plain.push(time(Command::new("true").current_dir(repo))?);
        for (i, (_, exe, args)) in variants.iter().enumerate() {
            let mut cmd = Command::new(exe);
            // The launcher takes `--policy JSON -- CMD`; wright itself `sandbox --policy ...`.
            if exe != &launcher || launcher == harness.bin {
                cmd.arg(&args[0]);
            }
            cmd.args(["--policy", &args[1], "--", "true"])
                .current_dir(repo);
            samples[i].push(time(&mut cmd)?);
        }
    }
    let stat = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        (v[v.len() / 2], v[v.len() * 9 / 10])
    };
    let (base, base90) = stat(&mut plain);
    let rows = variants
        .iter()
        .zip(samples.iter_mut())
        .map(|((label, _, _), v)| {
            let (m, p90) = stat(v);
            (*label, m - base, p90 - base90)
        })
        .collect();
    Ok(SandboxCost { runs, rows })
}
/// `model_auto_compact_token_limit` for the compaction runs: the value of Codex's own compaction
/// capture, small enough that 200 steps of 1 KB outputs compact several times.
const COMPACT_LIMIT_TOKENS: u64 = 30_000;
/// How wright's compaction request begins (its last input message).
const COMPACT_PROMPT_START: &str = "You are performing a CONTEXT CHECKPOINT COMPACTION";

/// What the mock asks for at each step.
#[derive(Clone, Copy)]
enum Scenario {
    /// `echo i`: the cheapest possible command.
    Echo,
    /// A 1 KB output per step and a small compaction limit, so the history is compacted
    /// every few dozen steps.
    Compacting,
}

impl Scenario {
    fn command(self, i: usize) -> String {
        match self {
            Scenario::Echo => format!("echo {i}"),
            Scenario::Compacting => format!("printf '%01000d\\n' {i}"),
        }
    }

    fn expected_output(self, i: usize) -> String {
        match self {
            Scenario::Echo => format!("{i}\n"),
            Scenario::Compacting => format!("{i:0>1000}\n"),
        }
    }
}

struct Options {
    startup_runs: usize,
    step_counts: &'static [usize],
    compacting_counts: &'static [usize],
    /// Only the MCP section (`--mcp`).
    mcp_only: bool,
    /// Only the agent toolset section (`--agent-tools`).
    tools_only: bool,
    /// Only cloud tasks (`--cloud`).
    cloud_only: bool,
}

fn parse_args() -> anyhow::Result<Options> {
    let mut quick = false;
    let mut mcp_only = false;
    let mut tools_only = false;
    let mut cloud_only = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => quick = true,
            "--mcp" => mcp_only = true,
            "--agent-tools" => tools_only = true,
            "--cloud" => cloud_only = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    Ok(if quick {
        Options {
            mcp_only,
            tools_only,
            cloud_only,
            startup_runs: 5,
            step_counts: &[10, 50],
            compacting_counts: &[50],
        }
    } else {
        Options {
            mcp_only,
            tools_only,
            cloud_only,
            startup_runs: 30,
            step_counts: &[10, 50, 200],
            compacting_counts: &[50, 100, 200],
        }
    })
}

fn main() -> ExitCode {
    match run_bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_bench() -> anyhow::Result<()> {
    let bench_started = Instant::now();
    let options = parse_args()?;
    let harness = Harness::new(wright_bin()?)?;
    if options.mcp_only {
        return mcp_section(&harness, options.startup_runs.min(10));
    }
    if options.cloud_only {
        return cloud::run(&harness.bin, &harness.runtime);
    }
    if options.tools_only {
        let mut figures = agent_tools::measure(&harness.bin, &harness.runtime)?;
        agent_tools::print(&mut figures);
        return Ok(());
    }
    let shell = user_shell();
    println!(
        "wright bench: {} (commands run as `{shell} -lc ...`)\n",
        harness.bin.display()
    );

    // 1. Startup. The first run pays for cold caches (binary pages, dynamic loader), which
    // is not what repeated agent launches see, so it is discarded.
    harness.run(0)?;
    let mut first_request = Vec::with_capacity(options.startup_runs);
    let mut single_wall = Vec::with_capacity(options.startup_runs);
    for _ in 0..options.startup_runs {
        let run = harness.run(0)?;
        first_request.push(ms(run.first_request));
        single_wall.push(ms(run.wall));
    }
    first_request.sort_by(f64::total_cmp);
    single_wall.sort_by(f64::total_cmp);
    let first_median = percentile(&first_request, 0.5);
    let first_p90 = percentile(&first_request, 0.9);
    // A zero-step run is start, one request/reply, final output and exit: everything an
    // N-step run does apart from its N steps, so it is the baseline subtracted below.
    let baseline_ms = percentile(&single_wall, 0.5);
    println!(
        "process start -> first model request ({} runs after 1 warm-up)",
        options.startup_runs
    );
    println!(
        "  median {first_median:8.2} ms   target < {TARGET_FIRST_REQUEST_MS} ms  {}",
        verdict(first_median, TARGET_FIRST_REQUEST_MS)
    );
    println!("  p90    {first_p90:8.2} ms");
    println!("  whole single-reply run, start to exit: median {baseline_ms:.2} ms\n");

    // 2. Per-step overhead, and 3. peak RSS of the longest run.
    println!("per-step orchestration overhead (one `exec_command` of `echo i` per step)");
    println!(
        "  (ms; commands timed by this bench beforehand, and as a cross-check by wright in the run)"
    );
    println!(
        "  {:>5} {:>10} {:>14} {:>15} {:>15} {:>15}   target < {TARGET_STEP_OVERHEAD_MS} ms",
        "N", "total ms", "cmd mean ms", "overhead/step", "wright cmd ms", "overhead/step"
    );
    let mut overhead = serde_json::Map::new();
    let mut longest = None;
    for &steps in options.step_counts {
        let command_ms = ms(command_mean(&shell, &harness, steps, Scenario::Echo)?);
        let run = harness.run(steps)?;
        let total_ms = ms(run.wall);
        let per_step = (total_ms - baseline_ms - steps as f64 * command_ms) / steps as f64;
        // The same subtraction with the very commands of this run, as wright timed them: immune
        // to the machine's load drifting between the baseline and the run.
        let wright_command_ms = ms(run.command_time) / steps as f64;
        let per_step_wright =
            (total_ms - baseline_ms - steps as f64 * wright_command_ms) / steps as f64;
        println!(
            "  {steps:>5} {total_ms:>10.1} {command_ms:>14.2} {per_step:>15.2} {wright_command_ms:>15.2} {per_step_wright:>15.2}   {}",
            verdict(per_step, TARGET_STEP_OVERHEAD_MS)
        );
        overhead.insert(steps.to_string(), json!(round2(per_step)));
        longest = Some((steps, run));
    }
    let (steps, run) = longest.context("no step counts to run")?;
    let (peak_kib, source) = run
        .peak_rss_kib()
        .context("no usable peak RSS: ru_maxrss was the bench's own and VmHWM was unreadable")?;
    let peak_mb = mib(peak_kib);
    println!(
        "\npeak RSS of the N={steps} run: {peak_mb:.1} MB from {source}   target < {TARGET_PEAK_RSS_MB} MB  {}",
        verdict(peak_mb, TARGET_PEAK_RSS_MB)
    );
    println!(
        "  wait4 ru_maxrss {:.1} MB (floor passed on by this bench at exec: {:.1} MB), \
         VmHWM at final request {:.1} MB",
        mib(run.maxrss_kib),
        mib(run.inherited_kib),
        mib(run.hwm_kib.unwrap_or(0))
    );

    // 4. Long sessions: 1 KB of output per step and a small compaction limit. The cache
    // share is what the mock (common prefix with the previous request) reports through
    // wright's own usage totals, compaction requests included.
    println!(
        "\nlong sessions with compaction (1 KB output per step, model_auto_compact_token_limit = {COMPACT_LIMIT_TOKENS})"
    );
    println!(
        "  {:>5} {:>10} {:>12} {:>14} {:>15}   targets: cached >= {:.0} %, overhead flat in N",
        "N",
        "total ms",
        "compactions",
        "cached share",
        "overhead/step",
        TARGET_CACHED_SHARE * 100.0
    );
    let mut compacting = serde_json::Map::new();
    for &steps in options.compacting_counts {
        let command_ms = ms(command_mean(&shell, &harness, steps, Scenario::Compacting)?);
        let run = harness.run_scenario(steps, Scenario::Compacting)?;
        let total_ms = ms(run.wall);
        let per_step = (total_ms - baseline_ms - steps as f64 * command_ms) / steps as f64;
        let input = run.usage["input_tokens"].as_f64().unwrap_or(0.0);
        let cached = run.usage["cached_input_tokens"].as_f64().unwrap_or(0.0);
        let share = if input > 0.0 { cached / input } else { 0.0 };
        println!(
            "  {steps:>5} {total_ms:>10.1} {:>12} {:>13.1}% {per_step:>15.2}   {}",
            run.compactions,
            share * 100.0,
            verdict(1.0 - share, 1.0 - TARGET_CACHED_SHARE)
        );
        compacting.insert(
            steps.to_string(),
            json!({"compactions": run.compactions, "cached_share_pct": round2(share * 100.0), "overhead_ms": round2(per_step)}),
        );
    }

    // 5. The App Server.
    let server = app_server::measure(&harness.bin, &harness.runtime, options.startup_runs.min(10))?;
    let mut init = server.initialize_ms.clone();
    init.sort_by(f64::total_cmp);
    let mut turn = server.turn_to_request_ms.clone();
    turn.sort_by(f64::total_cmp);
    let (init_median, turn_median) = (percentile(&init, 0.5), percentile(&turn, 0.5));
    println!("\napp server ({} runs after 1 warm-up)", init.len());
    println!(
        "  process start -> initialize reply  median {init_median:6.2} ms  p90 {:6.2} ms   target < {} ms  {}",
        percentile(&init, 0.9),
        app_server::TARGET_INITIALIZE_MS,
        verdict(init_median, app_server::TARGET_INITIALIZE_MS)
    );
    println!(
        "  turn/start -> model request        median {turn_median:6.2} ms  p90 {:6.2} ms   target < {} ms  {}",
        percentile(&turn, 0.9),
        app_server::TARGET_TURN_TO_REQUEST_MS,
        verdict(turn_median, app_server::TARGET_TURN_TO_REQUEST_MS)
    );
    println!(
        "  20 threads at once: {} notifications, {:.0} per second",
        server.notifications, server.notifications_per_sec
    );
    let (mut fuzzy, found) = app_server::fuzzy_search(&harness.bin, options.startup_runs.min(10))?;
    fuzzy.sort_by(f64::total_cmp);
    let fuzzy_median = percentile(&fuzzy, 0.5);
    println!(
        "  fuzzyFileSearch, {} files -> {found} matches  median {fuzzy_median:6.2} ms  p90 {:6.2} ms   target < {} ms  {}",
        app_server::FUZZY_TREE_FILES,
        percentile(&fuzzy, 0.9),
        app_server::TARGET_FUZZY_SEARCH_MS,
        verdict(fuzzy_median, app_server::TARGET_FUZZY_SEARCH_MS)
    );

    // 6. The sandbox's cost per command: `wright-sandbox ... -- true` minus `true`.
    let sandbox = sandbox_cost(&harness, if options.startup_runs < 30 { 50 } else { 300 })?;
    println!(
        "\nsandbox cost per command, in a git repository ({} interleaved runs of `true` each way; median, p90)",
        sandbox.runs
    );
    for (label, median, p90) in &sandbox.rows {
        println!(
            "  {label:<40} {median:5.2} ms  p90 {p90:5.2} ms   target < {TARGET_SANDBOX_MS} ms  {}",
            verdict(*median, TARGET_SANDBOX_MS)
        );
    }

    mcp_section(&harness, options.startup_runs.min(10))?;

    println!(
        "\ntotal bench wall time {:.1} s",
        bench_started.elapsed().as_secs_f64()
    );
    let summary = json!({
        "first_request_ms_median": round2(first_median),
        "first_request_ms_p90": round2(first_p90),
        "per_step_overhead_ms": overhead,
        "peak_rss_mb": round2(peak_mb),
        "compacting": compacting,
        "sandbox_ms_per_command": sandbox
            .rows
            .iter()
            .map(|(label, median, p90)| json!({"variant": label, "median": round2(*median), "p90": round2(*p90)}))
            .collect::<Vec<_>>(),
        "app_server": {
            "initialize_ms_median": round2(init_median),
            "turn_start_to_request_ms_median": round2(turn_median),
            "notifications_per_sec_20_threads": server.notifications_per_sec.round(),
            "fuzzy_file_search_ms_median_20k_files": round2(fuzzy_median),
        },
    });
    println!("{summary}");
    Ok(())
}

/// Section 7, MCP: servers must cost the first request nothing; a big catalogue goes
/// behind `tool_search`.
fn mcp_section(harness: &Harness, runs: usize) -> anyhow::Result<()> {
    let figures = mcp::measure(&harness.bin, &harness.runtime, runs)?;
    let (mut none, mut three) = (figures.first_request_none, figures.first_request_three);
    none.sort_by(f64::total_cmp);
    three.sort_by(f64::total_cmp);
    println!("\nMCP ({runs} interleaved runs after 1 warm-up)");
    println!(
        "  start -> first model request, no servers            median {:6.2} ms  p90 {:6.2} ms",
        percentile(&none, 0.5),
        percentile(&none, 0.9)
    );
    println!(
        "  start -> first model request, 3 servers (1 hangs)   median {:6.2} ms  p90 {:6.2} ms",
        percentile(&three, 0.5),
        percentile(&three, 0.9)
    );
    println!("  prompt with a 100-tool server ready (budget: a tenth of the context window)");
    for row in &figures.catalogue {
        println!(
            "    window {:>9}: tools {:>7} bytes, request {:>7} bytes, {:>3} MCP tools declared, tool_search {}",
            row.context_window,
            row.tools_bytes,
            row.body_bytes,
            row.declared,
            if row.tool_search { "offered" } else { "not needed" }
        );
    }
    Ok(())
}

/// `$WRIGHT_BIN`, else `target/release/wright` in this workspace.
fn wright_bin() -> anyhow::Result<PathBuf> {
    let bin = match std::env::var_os("WRIGHT_BIN").filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/wright"),
    };
    ensure!(
        bin.is_file(),
        "no wright binary at {}: run `cargo build --release -p wright-cli` or set WRIGHT_BIN",
        bin.display()
    );
    Ok(bin.canonicalize()?)
}

/// Mirrors `wright_tools::shell::user_shell`, so the command baseline uses wright's shell.
fn user_shell() -> String {
    [std::env::var("SHELL").ok(), Some("/bin/bash".into())]
        .into_iter()
        .flatten()
        .find(|s| s.starts_with('/') && Path::new(s).exists())
        .unwrap_or_else(|| "/bin/sh".into())
}

/// Mean wall time of `<shell> -lc 'echo i'`, run the way wright runs it (same directory and
/// HOME, stdin null, output piped and read), so that it can be subtracted from a run's total.
fn command_mean(
    shell: &str,
    harness: &Harness,
    runs: usize,
    scenario: Scenario,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for i in 0..runs {
        let out = Command::new(shell)
            .arg("-lc")
            .arg(scenario.command(i))
            .current_dir(harness.repo.path())
            .env("HOME", harness.home.path())
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {shell}"))?;
        ensure!(
            out.status.success(),
            "`{shell} -lc {}` failed: {}",
            scenario.command(i),
            out.status
        );
    }
    Ok(started.elapsed() / runs.max(1) as u32)
}

/// The binary under test plus a scratch home (WRIGHT_HOME and HOME) and working directory,
/// shared by all runs.
struct Harness {
    bin: PathBuf,
    home: TempDir,
    repo: TempDir,
    /// Serves the mock; one worker so the mock takes as little CPU as possible from wright.
    runtime: tokio::runtime::Runtime,
}

/// What one wright run measured.
struct Run {
    /// Spawn to exit.
    wall: Duration,
    /// Spawn to the mock seeing request 0.
    first_request: Duration,
    /// The commands' wall time summed, as wright reported it to the model.
    command_time: Duration,
    /// The process's own memory high-water mark, sampled at its final request.
    hwm_kib: Option<u64>,
    /// `ru_maxrss` from wait4: the peak over the whole life of the process, but never below
    /// `inherited_kib`, because exec copies the parent's high-water mark into it.
    maxrss_kib: u64,
    /// An upper bound on the high-water mark this bench passed on at exec.
    inherited_kib: u64,
    /// Compaction requests the mock answered.
    compactions: usize,
    /// `turn.completed.usage` as wright printed it.
    usage: Value,
}

impl Run {
    /// wright's peak RSS and where it came from: ru_maxrss when it rose above what the bench
    /// passed on, so it is wright's own (or a command's, were one bigger than wright);
    /// otherwise the high-water mark sampled at the final request.
    fn peak_rss_kib(&self) -> Option<(u64, &'static str)> {
        if self.maxrss_kib > self.inherited_kib {
            Some((self.maxrss_kib, "wait4 ru_maxrss"))
        } else {
            self.hwm_kib.map(|kib| (kib, "VmHWM at final request"))
        }
    }
}

impl Harness {
    fn new(bin: PathBuf) -> anyhow::Result<Harness> {
        Ok(Harness {
            bin,
            home: tempfile::tempdir()?,
            repo: tempfile::tempdir()?,
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?,
        })
    }

    /// Runs `wright exec --json "hi"` against a fresh mock that asks for `steps` commands
    /// and then answers with a message; fails unless wright exits 0 having sent every
    /// expected request.
    fn run(&self, steps: usize) -> anyhow::Result<Run> {
        self.run_scenario(steps, Scenario::Echo)
    }

    fn run_scenario(&self, steps: usize, scenario: Scenario) -> anyhow::Result<Run> {
        let probe = Arc::new(Probe::default());
        let answer = {
            let probe = Arc::clone(&probe);
            Arc::new(move |index: usize, body: &Value| probe.answer(index, body, steps, scenario))
        };
        let mock = self
            .runtime
            .block_on(MockModel::start(Script::Dynamic(answer)))?;
        let limit = match scenario {
            Scenario::Echo => String::new(),
            Scenario::Compacting => {
                format!("model_auto_compact_token_limit = {COMPACT_LIMIT_TOKENS}\n")
            }
        };
        let config = format!(
            "{limit}model_provider = \"mock\"\n\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\n",
            mock.base_url()
        );
        std::fs::write(self.home.path().join("config.toml"), config)?;

        let mut command = Command::new(&self.bin);
        command
            // Unconfined, so the figure is orchestration alone; the sandbox's own cost per
            // command is measured separately below.
            .args([
                "exec",
                "--json",
                "--skip-git-repo-check",
                "-s",
                "danger-full-access",
                "-C",
            ])
            .arg(self.repo.path())
            .arg("hi")
            .env("WRIGHT_HOME", self.home.path())
            // Login shells then skip the user's startup files, which can cost 100 ms per
            // command with jitter that would swamp the few milliseconds being measured.
            .env("HOME", self.home.path())
            // Nothing from the caller's environment may redirect wright away from the mock.
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());

        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        let pid = child.id();
        // spawn returns only once the child has exec'd, and a high-water mark never falls,
        // so reading ours now bounds what exec copied into the child's ru_maxrss.
        let inherited_kib = own_hwm_kib().context("cannot read this process's VmHWM")?;
        probe.pid.store(pid, Ordering::Relaxed);
        // Drained on threads so a full pipe can never stall wright mid-run.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let (exited, watchdog) = mpsc::channel::<()>();
        let watchdog = thread::spawn(move || {
            let fired = watchdog.recv_timeout(RUN_TIMEOUT) == Err(RecvTimeoutError::Timeout);
            if fired {
                // SAFETY: plain syscall. The pid cannot have been recycled: it is only reaped
                // after this thread has been joined.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            fired
        });
        let exit_seen = wait_for_exit(pid);
        let wall = started.elapsed();
        drop(exited);
        let timed_out = watchdog.join().unwrap_or(false);
        exit_seen.context("waiting for wright")?;
        // Reaped with wait4 rather than `Child::wait` because only wait4 returns rusage.
        let (status, usage_rs) = wait4(pid).context("reaping wright")?;
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();

        if !status.success() {
            let why = if timed_out {
                format!("timed out after {RUN_TIMEOUT:?}")
            } else {
                format!("failed ({status})")
            };
            bail!(
                "wright ({steps} steps) {why}\n--- stderr\n{}--- stdout (tail)\n{}",
                String::from_utf8_lossy(&stderr),
                tail(&stdout, 20)
            );
        }
        let command_time = check_requests(&mock.requests(), steps, scenario)?;
        let usage = String::from_utf8_lossy(&stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| e["type"] == "turn.completed")
            .map(|e| e["usage"].clone())
            .context("wright printed no turn.completed")?;
        let first = probe
            .first_request
            .get()
            .context("the mock never saw a request")?;
        Ok(Run {
            wall,
            first_request: first.duration_since(started),
            command_time,
            hwm_kib: probe.hwm_kib.get().copied(),
            // ru_maxrss is in KiB on Linux.
            maxrss_kib: usage_rs.ru_maxrss.max(0) as u64,
            inherited_kib,
            compactions: probe.compactions.load(Ordering::Relaxed),
            usage,
        })
    }
}

/// Shared between a run and its mock's script callback.
#[derive(Default)]
struct Probe {
    first_request: OnceLock<Instant>,
    pid: AtomicU32,
    hwm_kib: OnceLock<u64>,
    /// Requests that were not compaction requests.
    main: AtomicUsize,
    compactions: AtomicUsize,
}

fn is_compaction(body: &Value) -> bool {
    body["input"]
        .as_array()
        .and_then(|input| input.last())
        .and_then(|item| item["content"][0]["text"].as_str())
        .is_some_and(|text| text.starts_with(COMPACT_PROMPT_START))
}

impl Probe {
    /// Steps 0..steps each get one command; step `steps` gets the final message. Compaction
    /// requests get a short summary and do not count as steps.
    fn answer(&self, index: usize, body: &Value, steps: usize, scenario: Scenario) -> Step {
        if index == 0 {
            // First, so that nothing below is counted in the startup figure.
            let _ = self.first_request.set(Instant::now());
        }
        if is_compaction(body) {
            let n = self.compactions.fetch_add(1, Ordering::Relaxed);
            return Step::message(format!(
                "SUMMARY {n}: printing numbered lines, one command per step; keep going."
            ));
        }
        let step = self.main.fetch_add(1, Ordering::Relaxed);
        if step < steps {
            return Step::calls(vec![OutputItem::function(
                "exec_command",
                json!({"cmd": scenario.command(step)}),
            )]);
        }
        // The fallback peak RSS: wright is alive and blocked on this reply with all its work
        // done but printing and exiting, so its high-water mark is as good as final. After
        // exit there is none to read (a zombie has no memory map).
        if let Some(kib) = vm_hwm_kib(self.pid.load(Ordering::Relaxed)) {
            let _ = self.hwm_kib.set(kib);
        }
        Step::message("done")
    }
}

/// Checks wright sent `steps + 1` requests besides compaction requests, each one after the
/// first carrying the successful output of the previous command (a failing command would make
/// the run look cheap), and returns the commands' total wall time as wright reported it. A
/// request right after a compaction ends with the summary instead; its command is not timed.
fn check_requests(
    requests: &[RecordedRequest],
    steps: usize,
    scenario: Scenario,
) -> anyhow::Result<Duration> {
    let mut bodies = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let body: Value = serde_json::from_slice(&request.body)
            .with_context(|| format!("request {index} is not JSON"))?;
        if !is_compaction(&body) {
            bodies.push(body);
        }
    }
    ensure!(
        bodies.len() == steps + 1,
        "the mock got {} step requests, expected {}",
        bodies.len(),
        steps + 1
    );
    let mut command_time = Duration::ZERO;
    for (index, body) in bodies.iter().enumerate().skip(1) {
        let last = body["input"].as_array().and_then(|input| input.last());
        if last.is_some_and(|item| item["type"] == "message") {
            ensure!(
                matches!(scenario, Scenario::Compacting),
                "request {index} ends with a message, not a command output"
            );
            continue;
        }
        let output = last
            .filter(|item| item["type"] == "function_call_output")
            .and_then(|item| item["output"].as_str())
            .unwrap_or_default();
        // exec_command output reads "Wall time: 0.0031 seconds\nProcess exited with code 0
        // \n...Output:\n<text>".
        let wall_secs = output
            .strip_prefix("Wall time: ")
            .and_then(|rest| rest.split_once(" seconds\n"))
            .and_then(|(secs, _)| secs.parse::<f64>().ok());
        let expected = format!("Output:\n{}", scenario.expected_output(index - 1));
        match wall_secs {
            Some(secs)
                if output.contains("exited with code 0\n") && output.ends_with(&expected) =>
            {
                command_time += Duration::from_secs_f64(secs);
            }
            _ => bail!(
                "request {index} does not end with the output of `{}`: {}",
                scenario.command(index - 1),
                last.unwrap_or(&Value::Null)
            ),
        }
    }
    Ok(command_time)
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error just truncates diagnostics; the exit status still decides.
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Blocks until the child has exited, leaving it unreaped (a zombie keeps its pid).
fn wait_for_exit(pid: u32) -> io::Result<()> {
    // SAFETY: siginfo_t is plain old data, for which all zeroes is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `info` is valid for writes for the duration of the call.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn wait4(pid: u32) -> io::Result<(ExitStatus, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain old data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both out-pointers are valid for writes for the duration of the call.
        let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if rc == pid as libc::pid_t {
            return Ok((ExitStatus::from_raw(status), usage));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// `VmHWM` (peak resident set of the current memory map, KiB) from `/proc/<pid>/status`.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    proc_status_kib(&format!("/proc/{pid}/status"), "VmHWM:")
}

fn own_hwm_kib() -> Option<u64> {
    proc_status_kib("/proc/self/status", "VmHWM:")
}

fn proc_status_kib(path: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix(key))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .fold(String::new(), |mut out, line| {
            let _ = writeln!(out, "{line}");
            out
        })
}

/// Nearest-rank percentile of an ascending, non-empty slice.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn verdict(value: f64, target: f64) -> &'static str {
    if value < target {
        "ok"
    } else {
        "OVER"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: Value) -> RecordedRequest {
        RecordedRequest {
            path: "/v1/responses".into(),
            headers: Vec::new(),
            body: body.to_string().into_bytes().into(),
        }
    }

    fn after_echo(i: usize, exit_code: i32) -> RecordedRequest {
        let output = format!("Wall time: 0.0030 seconds\nProcess exited with code {exit_code}\nOriginal token count: 1\nOutput:\n{i}\n");
        request(json!({"input": [
            {"type": "function_call", "name": "exec_command", "call_id": "c", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": output},
        ]}))
    }

    #[test]
    fn requests_must_carry_each_echo_output() {
        let first = request(json!({"input": []}));
        let good = [first.clone(), after_echo(0, 0), after_echo(1, 0)];
        assert_eq!(
            check_requests(&good, 2, Scenario::Echo).unwrap(),
            Duration::from_millis(6)
        );
        assert!(
            check_requests(&good, 3, Scenario::Echo).is_err(),
            "one request short"
        );
        assert!(check_requests(&[first.clone(), after_echo(0, 1)], 1, Scenario::Echo).is_err());
        assert!(check_requests(&[first, after_echo(7, 0)], 1, Scenario::Echo).is_err());
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<f64> = (1..=30).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 0.5), 15.0);
        assert_eq!(percentile(&sorted, 0.9), 27.0);
        assert_eq!(percentile(&[4.0], 0.9), 4.0);
    }

    #[test]
    fn reads_our_own_high_water_mark() {
        assert!(own_hwm_kib().is_some_and(|kib| kib > 0));
    }
}
