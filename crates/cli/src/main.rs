//! The `wright` binary: parse the command line, then hand over to the subcommand.

mod app_server;
mod exec;
mod human;
mod notifications;
mod sandbox_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "wright",
    version,
    about = "A coding agent: point it at a repository and a task."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a task non-interactively and print the result (Codex `exec` compatible).
    #[command(visible_alias = "e")]
    Exec(Box<exec::ExecArgs>),
    /// Serve the App Server protocol (JSON-RPC) on stdio or WebSocket.
    AppServer(app_server::AppServerArgs),
    /// Continue an earlier thread with a new prompt (same as `wright exec resume`).
    Resume(ResumeArgs),
    /// Run a command confined (`--check`: what this machine can enforce).
    Sandbox(sandbox_cmd::SandboxArgs),
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
}

impl ResumeArgs {
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
        match Cli::try_parse_from(argv)?.command {
            Some(Command::Exec(args)) => Ok(*args),
            _ => Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand)),
        }
    }
}

fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Exec(args)) => exec::main(*args),
        Some(Command::AppServer(args)) => app_server::main(args),
        Some(Command::Sandbox(args)) => sandbox_cmd::main(args),
        Some(Command::Resume(args)) => match args.into_exec() {
            Ok(args) => exec::main(args),
            Err(err) => err.exit(),
        },
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            2
        }
    };
    std::process::exit(code);
}
