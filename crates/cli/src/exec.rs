//! `wright exec`: one turn, headless, driven the way `codex exec` is.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::Engine;
use clap::{Args, Subcommand, ValueEnum};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use wright_core::config::{CliOverrides, Config, SandboxMode};
use wright_core::{ImageInput, Thread, TurnInput, TurnOutcome};
use wright_protocol::exec::{ExecEventMapper, ThreadEvent};
use wright_protocol::Event;

use crate::human::HumanPrinter;

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

    /// Do not keep the session (accepted for compatibility; exec keeps nothing yet).
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
enum SandboxArg {
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
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
    if let Some(ExecCommand::Resume { .. }) = &args.command {
        bail!("`exec resume` needs the durable thread store, which this build does not have yet");
    }
    let cwd = match &args.cd {
        Some(dir) => std::fs::canonicalize(dir)
            .with_context(|| format!("cannot use --cd {}", dir.display()))?,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    if !args.skip_git_repo_check && !inside_git_repo(&cwd) {
        bail!("Not inside a trusted directory and --skip-git-repo-check was not specified.");
    }
    let sandbox_mode = if args.bypass {
        Some(SandboxMode::DangerFullAccess)
    } else if args.full_auto {
        Some(SandboxMode::WorkspaceWrite)
    } else {
        args.sandbox.map(|s| match s {
            SandboxArg::ReadOnly => SandboxMode::ReadOnly,
            SandboxArg::WorkspaceWrite => SandboxMode::WorkspaceWrite,
            SandboxArg::DangerFullAccess => SandboxMode::DangerFullAccess,
        })
    };
    let overrides = CliOverrides {
        model: args.model.take(),
        profile: args.profile.take(),
        sandbox_mode,
        cwd: Some(cwd),
        config: std::mem::take(&mut args.config),
        add_dirs: args
            .add_dir
            .iter()
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()))
            .collect(),
    };
    let config = Config::load(&overrides)?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    let _ = (
        args.ephemeral,
        &args.thread_source,
        &args.cyber_access_program,
    );

    let output_schema = match &args.output_schema {
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
    let images = args
        .images
        .iter()
        .map(|p| load_image(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let text = read_prompt(args.prompt.as_deref())?;

    let human = (!args.json).then(|| HumanPrinter::new(args.color, &config));
    let mut thread = Thread::new(config)?;
    for warning in &thread.project_docs().warnings {
        eprintln!("warning: {warning}");
    }
    let thread_id = thread.id().to_string();

    // Printing is blocking I/O: it gets its own thread, fed in order by the engine's channel.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let json = args.json;
    let printer = std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut mapper = ExecEventMapper::default();
        let mut human = human;
        if json {
            write_json(&mut out, &ThreadEvent::ThreadStarted { thread_id });
        } else if let Some(h) = human.as_mut() {
            h.thread_started(&thread_id);
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

    let cancel = CancellationToken::new();
    let signal_code = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
    spawn_signal_watch(cancel.clone(), signal_code.clone())?;

    let outcome = thread
        .run_turn(
            TurnInput {
                text,
                images,
                output_schema,
                overrides: Default::default(),
            },
            &tx,
            cancel,
        )
        .await;
    drop(tx);
    drop(thread);
    let _ = tokio::task::spawn_blocking(move || printer.join()).await;

    let last = match &outcome {
        TurnOutcome::Completed { last_message } => last_message.clone(),
        _ => None,
    };
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
    Ok(match outcome {
        TurnOutcome::Completed { .. } => 0,
        TurnOutcome::Failed { .. } => 1,
        TurnOutcome::Interrupted => match signal_code.load(std::sync::atomic::Ordering::SeqCst) {
            0 => 1,
            code => code,
        },
    })
}

fn write_json(out: &mut impl Write, event: &ThreadEvent) {
    // A closed stdout (e.g. piped into `head`) is not worth a crash; the run goes on.
    if let Ok(line) = serde_json::to_string(event) {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn spawn_signal_watch(
    cancel: CancellationToken,
    code: std::sync::Arc<std::sync::atomic::AtomicI32>,
) -> anyhow::Result<()> {
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
            code.store(exit, std::sync::atomic::Ordering::SeqCst);
            cancel.cancel();
        }
    });
    Ok(())
}

fn inside_git_repo(dir: &Path) -> bool {
    dir.ancestors().any(|d| d.join(".git").exists())
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

fn load_image(path: &Path) -> anyhow::Result<ImageInput> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read image {}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let mime = match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => bail!(
            "unsupported image type for {} (use png, jpeg, gif or webp)",
            path.display()
        ),
    };
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(ImageInput {
        data_url: format!("data:{mime};base64,{data}"),
    })
}
