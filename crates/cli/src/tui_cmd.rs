//! `wright [PROMPT]` and `wright resume`: the terminal UI, talking to an App Server in this
//! process. Without a terminal, the same request runs as `wright exec` (and says so).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tokio::sync::mpsc;
use wright_app_server::{AppServer, ServerOptions};
use wright_core::config::{CliOverrides, Config};

use crate::exec::{sandbox_mode, SandboxArg};

#[derive(Args, Debug, Default)]
pub struct TuiArgs {
    /// A first message to send.
    pub prompt: Option<String>,
    /// Model to use.
    #[arg(short = 'm', long)]
    pub model: Option<String>,
    /// Working directory for the agent.
    #[arg(short = 'C', long = "cd")]
    pub cd: Option<PathBuf>,
    /// Sandbox policy for commands the model runs.
    #[arg(short = 's', long = "sandbox", value_enum)]
    pub sandbox: Option<SandboxArg>,
    /// When to ask before acting: untrusted, on-failure, on-request, never.
    #[arg(short = 'a', long = "ask-for-approval", value_parser = ["untrusted", "on-failure", "on-request", "never"])]
    pub approval: Option<String>,
    /// `--sandbox workspace-write` and approvals on request.
    #[arg(long)]
    pub full_auto: bool,
    /// Override a config value: `-c key=value` (value parsed as TOML).
    #[arg(short = 'c', long = "config", value_name = "key=value")]
    pub config: Vec<String>,
    /// Config profile to use.
    #[arg(short = 'p', long)]
    pub profile: Option<String>,
    /// Attach image files to the first message.
    #[arg(
        short = 'i',
        long = "image",
        value_name = "FILE",
        value_delimiter = ',',
        requires = "prompt"
    )]
    pub images: Vec<PathBuf>,
    /// Attach to a running `wright app-server`: unix://PATH or ws://HOST:PORT (its token from
    /// $WRIGHT_APP_SERVER_TOKEN or --token-file).
    #[arg(long, value_name = "URL")]
    pub connect: Option<String>,
    /// File holding the ws:// server's capability token (see `app-server --ws-token-file`).
    #[arg(long, value_name = "PATH", requires = "connect")]
    pub token_file: Option<PathBuf>,
}

/// Which thread the TUI opens.
pub enum Open {
    New,
    Resume(String),
    /// The newest thread of this directory.
    Last,
    /// A picker over the stored threads.
    Pick,
}

pub fn main(args: TuiArgs, open: Open) -> i32 {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if !interactive {
        return not_a_terminal(args, open);
    }
    let Some(runtime) = crate::runtime() else {
        return 1;
    };
    match runtime.block_on(run(args, open)) {
        Ok(code) => code,
        Err(err) => {
            wright_tui::restore();
            eprintln!("Error: {err:#}");
            1
        }
    }
}

/// No terminal to draw on: a prompt runs as `wright exec` would, and says so.
fn not_a_terminal(args: TuiArgs, open: Open) -> i32 {
    if args.connect.is_some() {
        eprintln!("Error: --connect attaches the interactive UI, which needs a terminal");
        return 2;
    }
    let Some(prompt) = args.prompt else {
        eprintln!(
            "Error: wright's interactive UI needs a terminal; to run a task without one, give a prompt or use `wright exec PROMPT`"
        );
        return 2;
    };
    eprintln!("wright: not a terminal, so running as `wright exec` (no approvals are asked)");
    let mut argv: Vec<std::ffi::OsString> = vec!["wright".into(), "exec".into()];
    if let Some(m) = args.model {
        argv.extend(["--model".into(), m.into()]);
    }
    if let Some(cd) = args.cd {
        argv.extend(["--cd".into(), cd.into()]);
    }
    if let Some(p) = args.profile {
        argv.extend(["--profile".into(), p.into()]);
    }
    if args.full_auto {
        argv.push("--full-auto".into());
    }
    if let Some(s) = args.sandbox {
        use clap::ValueEnum;
        if let Some(v) = s.to_possible_value() {
            argv.extend(["--sandbox".into(), v.get_name().into()]);
        }
    }
    for c in args.config {
        argv.extend(["-c".into(), c.into()]);
    }
    for image in args.images {
        argv.extend(["--image".into(), image.into()]);
    }
    match open {
        Open::Resume(id) => argv.extend(["resume".into(), id.into()]),
        Open::Last => argv.extend(["resume".into(), "--last".into()]),
        Open::New | Open::Pick => {}
    }
    argv.push(prompt.into());
    match crate::exec_args(argv) {
        Ok(exec) => crate::exec::main(exec),
        Err(e) => e.exit(),
    }
}

async fn run(args: TuiArgs, open: Open) -> anyhow::Result<i32> {
    let cwd = match &args.cd {
        Some(dir) => std::fs::canonicalize(dir)
            .with_context(|| format!("cannot use --cd {}", dir.display()))?,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let approval = args
        .approval
        .clone()
        .or_else(|| args.full_auto.then(|| "on-request".to_string()));
    let start = wright_tui::StartOptions {
        prompt: args.prompt.clone(),
        resume: match open {
            Open::Resume(id) => wright_tui::Resume::Id(id),
            Open::Last => wright_tui::Resume::Last,
            Open::Pick => wright_tui::Resume::Pick,
            Open::New => wright_tui::Resume::No,
        },
        cwd: Some(cwd.display().to_string()),
        approval_policy: approval,
        images: args
            .images
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        sandbox_layers: None,
    };
    if let Some(url) = &args.connect {
        // The server has its own config; only the thread's settings travel with the requests.
        for (flag, set) in [
            ("--model", args.model.is_some()),
            ("--sandbox", args.sandbox.is_some()),
            ("--config", !args.config.is_empty()),
            ("--profile", args.profile.is_some()),
        ] {
            if set {
                eprintln!(
                    "warning: {flag} is ignored with --connect (the server's config applies)"
                );
            }
        }
        let lines = crate::connect::connect(url, args.token_file.as_deref()).await?;
        return Ok(wright_tui::run(lines, start).await?);
    }
    let overrides = CliOverrides {
        model: args.model.clone(),
        profile: args.profile.clone(),
        sandbox_mode: sandbox_mode(args.sandbox, args.full_auto, false),
        cwd: Some(cwd.clone()),
        config: args.config.clone(),
        add_dirs: Vec::new(),
        sandbox_exe: crate::sealed_sandbox_exe(),
    };
    // Problems with the config are reported before the screen is taken over.
    let config = Config::load(&overrides)?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    crate::local_model::prepare(&config, true)?;
    // Someone is at the terminal to answer, so unless the config or a flag says otherwise
    // the model may ask (Codex's interactive default); `never` is for runs nobody watches.
    let mut start = start;
    // The probe forks and waits: on a thread of its own, ready by the time /status asks.
    let layers = std::sync::Arc::new(std::sync::OnceLock::new());
    let probe = std::sync::Arc::clone(&layers);
    std::thread::spawn(move || {
        let _ = probe.set(wright_sandbox::check().report());
    });
    start.sandbox_layers = Some(layers);
    if start.approval_policy.is_none() {
        let layers = wright_core::config_layers::LayerStack::load(&config.wright_home, &overrides)?;
        if layers.winner(&["approval_policy".to_string()]).is_none() {
            start.approval_policy = Some("on-request".into());
        }
    }
    let server = AppServer::new(ServerOptions {
        overrides,
        wright_home: config.wright_home.clone(),
        ephemeral: false,
        source: "cli".into(),
        thread_retention_days: config.thread_retention_days,
        max_threads: config.max_threads,
    });
    let lines = bridge(server.connect());
    Ok(wright_tui::run(lines, start).await?)
}

/// The in-process connection as the TUI's pair of line channels.
fn bridge(conn: wright_app_server::Connection) -> wright_tui::Lines {
    let (to_server, mut from_tui) = mpsc::unbounded_channel::<String>();
    let (to_tui, from_server) = mpsc::unbounded_channel::<String>();
    let incoming = conn.incoming;
    tokio::spawn(async move {
        while let Some(line) = from_tui.recv().await {
            if incoming.send(line).await.is_err() {
                break;
            }
        }
    });
    let mut outgoing = conn.outgoing;
    tokio::spawn(async move {
        while let Some(line) = outgoing.recv().await {
            if to_tui.send(line).is_err() {
                break;
            }
        }
    });
    wright_tui::Lines {
        tx: to_server,
        rx: from_server,
    }
}
