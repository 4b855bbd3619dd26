//! `wright cloud`: tasks whose attempts run in containers or Kubernetes Jobs (Codex's
//! `codex cloud exec | list | status | diff | apply`), and `wright cloud env list | check`.

use std::io::Read as _;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use tokio_util::sync::CancellationToken;
use wright_cloud::config::{Environment, Environments};
use wright_cloud::driver::{self, Progress, TaskRequest};
use wright_cloud::engine::Engine;
use wright_core::config::{CliOverrides, Config};
use wright_store::{CloudAttempt, Store};

/// The most attempts one task may have.
const MAX_ATTEMPTS: u32 = 64;

#[derive(Args, Debug)]
pub struct CloudArgs {
    #[command(subcommand)]
    command: CloudCommand,
    /// Override a config value: `-c key=value`.
    #[arg(short = 'c', long = "config", value_name = "key=value", global = true)]
    config: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum CloudCommand {
    /// Start a task: its attempts run in parallel, and their progress streams here.
    Exec {
        /// The prompt (`-` or nothing: read it from stdin).
        #[arg(value_name = "QUERY")]
        query: Option<String>,
        /// The environment (`[cloud.environments.NAME]` in config.toml).
        #[arg(long = "env", value_name = "ENV_ID")]
        environment: String,
        /// The branch or commit to start from (default: the checkout's HEAD).
        #[arg(long, value_name = "BRANCH")]
        branch: Option<String>,
        /// Attempts run in parallel (best-of-N).
        #[arg(long, default_value_t = 1, value_parser = parse_attempts, value_name = "N")]
        attempts: u32,
    },
    /// The tasks, newest first.
    List {
        /// Only this environment's.
        #[arg(long = "env", value_name = "ENV_ID")]
        environment: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: usize,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// One task and its attempts.
    Status {
        #[arg(value_name = "TASK_ID")]
        task_id: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// An attempt's diff against the commit it started from.
    Diff {
        #[arg(value_name = "TASK_ID")]
        task_id: String,
        /// Which attempt (default: the first that completed).
        #[arg(long, value_parser = parse_attempts, value_name = "N")]
        attempt: Option<u32>,
    },
    /// Apply an attempt's diff to the local checkout; all of it or, on a conflict, nothing.
    Apply {
        #[arg(value_name = "TASK_ID")]
        task_id: String,
        /// Which attempt (default: the first that completed).
        #[arg(long, value_parser = parse_attempts, value_name = "N")]
        attempt: Option<u32>,
    },
    /// Remove containers and Jobs left by a `wright cloud exec` that is no longer running.
    Reap {
        /// Only this environment's engine (default: every configured one).
        #[arg(long = "env", value_name = "ENV_ID")]
        environment: Option<String>,
    },
    /// The environments: list them, or check that one's engine is reachable.
    Env {
        #[command(subcommand)]
        command: EnvCommand,
    },
}

#[derive(Subcommand, Debug)]
enum EnvCommand {
    /// The configured environments.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reach the environment's engine and check its image.
    Check {
        #[arg(value_name = "ENV_ID")]
        name: String,
    },
}

fn parse_attempts(input: &str) -> Result<u32, String> {
    match input.parse::<u32>() {
        Ok(n) if (1..=MAX_ATTEMPTS).contains(&n) => Ok(n),
        _ => Err(format!("attempts must be between 1 and {MAX_ATTEMPTS}")),
    }
}

pub fn main(args: CloudArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wright cloud: {e}");
            return 1;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wright cloud: {e:#}");
            1
        }
    }
}

struct CloudContext {
    config: Config,
    envs: Environments,
}

fn load(args: &CloudArgs) -> anyhow::Result<CloudContext> {
    let overrides = CliOverrides {
        config: args.config.clone(),
        ..CliOverrides::default()
    };
    let config = Config::load(&overrides).context("loading config")?;
    let envs = wright_cloud::config::environments(config.cloud.as_ref())?;
    Ok(CloudContext { config, envs })
}

fn environment<'a>(envs: &'a Environments, name: &str) -> anyhow::Result<&'a Environment> {
    envs.get(name).with_context(|| {
        if envs.is_empty() {
            format!("no environment `{name}`: config.toml has no [cloud.environments.NAME]")
        } else {
            format!(
                "no environment `{name}`; configured: {}",
                envs.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        }
    })
}

fn open_store(config: &Config) -> anyhow::Result<Arc<Store>> {
    let path = config.wright_home.join("state.db");
    Ok(Arc::new(Store::open(&path).with_context(|| {
        format!("cannot open the thread store {}", path.display())
    })?))
}

async fn run(args: CloudArgs) -> anyhow::Result<i32> {
    let ctx = load(&args)?;
    match args.command {
        CloudCommand::Exec {
            query,
            environment: name,
            branch,
            attempts,
        } => exec(&ctx, query, &name, branch, attempts).await,
        CloudCommand::List {
            environment,
            limit,
            json,
        } => {
            let store = open_store(&ctx.config)?;
            let tasks = tokio::task::spawn_blocking(move || store.cloud_tasks(limit.clamp(1, 200)))
                .await??;
            let tasks: Vec<_> = tasks
                .into_iter()
                .filter(|(t, _)| environment.as_ref().is_none_or(|e| &t.environment == e))
                .collect();
            if json {
                let out: Vec<_> = tasks.iter().map(|(t, a)| task_json(t, a)).collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if tasks.is_empty() {
                println!(
                    "No cloud tasks yet. Start one with `wright cloud exec --env ENV PROMPT`."
                );
            } else {
                for (task, attempts) in &tasks {
                    println!(
                        "{}  {:<10} {:<12} {}",
                        task.id,
                        overall(attempts),
                        task.environment,
                        one_line(&task.prompt, 60)
                    );
                }
            }
            Ok(0)
        }
        CloudCommand::Status { task_id, json } => {
            let (task, attempts) = find_task(&open_store(&ctx.config)?, &task_id).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&task_json(&task, &attempts))?
                );
                return Ok(0);
            }
            println!("task        {}", task.id);
            println!("environment {}", task.environment);
            println!("status      {}", overall(&attempts));
            println!(
                "base        {}{}",
                short(&task.base),
                task.branch
                    .as_deref()
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default()
            );
            println!("prompt      {}", one_line(&task.prompt, 100));
            for a in &attempts {
                let files = a
                    .diff
                    .as_deref()
                    .and_then(|d| wright_cloud::git::diff_paths(d).ok())
                    .map(|p| format!(", {} file(s) changed", p.len()))
                    .unwrap_or_default();
                println!("attempt {}   {}{}", a.attempt, a.status, files);
                if let Some(thread) = &a.thread_id {
                    println!("  thread    {thread} (open it: wright resume {thread})");
                }
                if let Some(error) = &a.error {
                    println!(
                        "  error     {}",
                        printable(error).replace('\n', "\n            ")
                    );
                }
                if let Some(summary) = &a.summary {
                    println!("  summary   {}", one_line(summary, 100));
                }
            }
            Ok(0)
        }
        CloudCommand::Diff { task_id, attempt } => {
            let (task, attempts) = find_task(&open_store(&ctx.config)?, &task_id).await?;
            let a = pick_attempt(&task.id, &attempts, attempt)?;
            print!("{}", a.diff.as_deref().unwrap_or_default());
            Ok(0)
        }
        CloudCommand::Apply { task_id, attempt } => {
            let (task, attempts) = find_task(&open_store(&ctx.config)?, &task_id).await?;
            let a = pick_attempt(&task.id, &attempts, attempt)?;
            let diff = a.diff.as_deref().unwrap_or_default();
            let checkout = wright_cloud::git::checkout(&ctx.config.cwd).await?;
            let paths = wright_cloud::git::apply(&checkout.top, diff).await?;
            if paths.is_empty() {
                println!("Attempt {} of {} changed nothing.", a.attempt, task.id);
            } else {
                println!(
                    "Applied attempt {} of {} to {} ({} file(s)):",
                    a.attempt,
                    task.id,
                    checkout.top.display(),
                    paths.len()
                );
                for p in paths {
                    println!("  {p}");
                }
            }
            Ok(0)
        }
        CloudCommand::Reap { environment: name } => {
            let store = open_store(&ctx.config)?;
            let envs: Vec<&Environment> = match &name {
                Some(n) => vec![environment(&ctx.envs, n)?],
                None => ctx.envs.values().collect(),
            };
            let mut reaped = 0;
            for env in envs {
                let engine = Engine::connect(env).await?;
                reaped += reap(&engine, &store).await?;
            }
            println!("Removed {reaped} container(s) or Job(s) left by earlier runs.");
            Ok(0)
        }
        CloudCommand::Env { command } => match command {
            EnvCommand::List { json } => {
                if json {
                    let out: Vec<_> = ctx.envs.values().map(env_json).collect();
                    println!("{}", serde_json::to_string_pretty(&out)?);
                } else if ctx.envs.is_empty() {
                    println!("No environments. Add one to config.toml as [cloud.environments.NAME] (see the README).");
                } else {
                    for env in ctx.envs.values() {
                        println!(
                            "{:<16} {:<10} {:<40} network {}",
                            env.name,
                            env.engine.name(),
                            env.image,
                            env.network.as_str()
                        );
                    }
                }
                Ok(0)
            }
            EnvCommand::Check { name } => {
                let env = environment(&ctx.envs, &name)?;
                let engine = Engine::connect(env).await?;
                let line = engine.check(env).await?;
                println!("{name}: {line}");
                Ok(0)
            }
        },
    }
}

async fn exec(
    ctx: &CloudContext,
    query: Option<String>,
    name: &str,
    branch: Option<String>,
    attempts: u32,
) -> anyhow::Result<i32> {
    let env = environment(&ctx.envs, name)?.clone();
    let prompt = match query.as_deref() {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the prompt from stdin")?;
            text
        }
        Some(q) => q.to_string(),
    };
    if prompt.trim().is_empty() {
        bail!("the prompt is empty");
    }
    let checkout = wright_cloud::git::checkout(&ctx.config.cwd).await?;
    let base = match env.repository {
        // The task clones the repository itself: the branch is resolved there.
        wright_cloud::config::Repository::Clone { .. } => None,
        wright_cloud::config::Repository::Mount => {
            Some(wright_cloud::git::base(&checkout, branch.as_deref()).await?)
        }
    };
    if let Some((base, true)) = &base {
        eprintln!(
            "wright cloud: note: the task starts from commit {}; uncommitted changes in {} are not included",
            short(base),
            checkout.top.display()
        );
    }
    let wright_exe = std::env::current_exe().context("cannot find this wright's binary")?;
    let store = open_store(&ctx.config)?;
    let engine = Engine::connect(&env).await?;
    // Containers of a crashed earlier run go first, so they do not hold the engine's memory.
    match reap(&engine, &store).await {
        Ok(0) => {}
        Ok(n) => eprintln!("wright cloud: removed {n} container(s) left by an earlier run"),
        Err(e) => eprintln!("wright cloud: warning: cannot look for leftovers: {e}"),
    }
    let request = TaskRequest {
        env,
        prompt,
        attempts,
        branch,
        repo: checkout.top.clone(),
        git_common_dir: checkout.common_dir.clone(),
        base: base.map(|(commit, _)| commit),
        wright_exe,
        local_providers: ctx.config.providers.keys().cloned().collect(),
    };
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
        eprintln!("wright cloud: interrupted; stopping the attempts");
        on_signal.cancel();
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let printer = tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            eprintln!("[{}] {}", p.attempt, printable(&p.line));
        }
    });
    let run = driver::run_task(store.clone(), engine, request, tx, cancel.clone());
    let task_id = run.await?;
    let _ = printer.await;
    let (task, attempts) = find_task(&store, &task_id).await?;
    let completed = attempts.iter().filter(|a| a.status == "completed").count();
    println!("{}", task.id);
    eprintln!(
        "wright cloud: {completed} of {} attempt(s) completed. See `wright cloud status {}`, `wright cloud diff {}` and `wright cloud apply {}`.",
        attempts.len(),
        task.id,
        task.id,
        task.id
    );
    Ok(if cancel.is_cancelled() {
        130
    } else if completed == 0 {
        1
    } else {
        0
    })
}

/// Removes what a dead driver of this host left on `engine`, marking its attempts orphaned.
async fn reap(engine: &Engine, store: &Arc<Store>) -> anyhow::Result<usize> {
    let mut reaped = 0;
    for found in engine.list().await? {
        if driver::driver_alive(&found.driver) != Some(false) {
            continue;
        }
        engine.remove(&found.id).await?;
        reaped += 1;
        let store = store.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            if let Some((_, attempts)) = store.cloud_task(&found.task)? {
                if let Some(a) = attempts.into_iter().find(|a| a.attempt == found.attempt) {
                    if !matches!(a.status.as_str(), "completed" | "failed" | "cancelled") {
                        store.put_cloud_attempt(&CloudAttempt {
                            status: "orphaned".into(),
                            error: Some("its wright cloud exec ended before it did; the container was removed".into()),
                            finished_at: Some(driver::now()),
                            ..a
                        })?;
                    }
                }
            }
            Ok(())
        })
        .await??;
    }
    Ok(reaped)
}

async fn find_task(
    store: &Arc<Store>,
    id: &str,
) -> anyhow::Result<(wright_store::CloudTask, Vec<CloudAttempt>)> {
    let store = store.clone();
    let key = id.to_string();
    tokio::task::spawn_blocking(move || store.cloud_task(&key))
        .await??
        .with_context(|| format!("no cloud task `{id}` (see `wright cloud list`)"))
}

fn pick_attempt<'a>(
    task_id: &str,
    attempts: &'a [CloudAttempt],
    wanted: Option<u32>,
) -> anyhow::Result<&'a CloudAttempt> {
    let a = match wanted {
        Some(n) => attempts.iter().find(|a| a.attempt == n).with_context(|| {
            format!("task {task_id} has {} attempt(s), not {n}", attempts.len())
        })?,
        None => attempts
            .iter()
            .find(|a| a.status == "completed")
            .with_context(|| {
                format!(
                    "no attempt of task {task_id} completed (see `wright cloud status {task_id}`)"
                )
            })?,
    };
    if a.status != "completed" {
        bail!(
            "attempt {} of task {task_id} is {}{}: it has no diff",
            a.attempt,
            a.status,
            a.error
                .as_deref()
                .map(|e| format!(" ({})", one_line(e, 200)))
                .unwrap_or_default()
        );
    }
    Ok(a)
}

/// A task's status from its attempts'.
fn overall(attempts: &[CloudAttempt]) -> &'static str {
    let any = |s: &str| attempts.iter().any(|a| a.status == s);
    if any("queued") || any("starting") || any("running") {
        "running"
    } else if any("completed") {
        "completed"
    } else if any("cancelled") {
        "cancelled"
    } else {
        "failed"
    }
}

fn task_json(task: &wright_store::CloudTask, attempts: &[CloudAttempt]) -> serde_json::Value {
    serde_json::json!({
        "id": task.id,
        "createdAt": task.created_at,
        "environment": task.environment,
        "status": overall(attempts),
        "prompt": task.prompt,
        "repo": task.repo,
        "branch": task.branch,
        "base": task.base,
        "attempts": attempts.iter().map(|a| serde_json::json!({
            "attempt": a.attempt,
            "status": a.status,
            "error": a.error,
            "threadId": a.thread_id,
            "summary": a.summary,
            "startedAt": a.started_at,
            "finishedAt": a.finished_at,
            "filesChanged": a.diff.as_deref().and_then(|d| wright_cloud::git::diff_paths(d).ok()).map(|p| p.len()),
        })).collect::<Vec<_>>(),
    })
}

fn env_json(env: &Environment) -> serde_json::Value {
    serde_json::json!({
        "name": env.name,
        "engine": env.engine.name(),
        "image": env.image,
        "network": env.network.as_str(),
        "secrets": env.secrets,
        "setup": env.setup.is_some(),
    })
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// What a task sent, safe for a terminal: its control characters (escape sequences could
/// repaint or retitle the user's terminal) are shown as `^X`, newlines kept.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn one_line(text: &str, max: usize) -> String {
    let text = printable(text);
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_cannot_write_escape_sequences_to_the_terminal() {
        assert_eq!(
            printable("ok\x1b]0;pwned\x07\n\u{9b}2J"),
            "ok^[]0;pwned^G\n\u{fffd}2J"
        );
        assert_eq!(one_line("a\x1b[2Jb\nsecond", 10), "a^[[2Jb");
    }
}
