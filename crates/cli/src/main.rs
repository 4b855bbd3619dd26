//! The `wright` binary: parse the command line, then hand over to the subcommand.

mod app_server;
mod exec;
mod human;
mod notifications;

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
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            2
        }
    };
    std::process::exit(code);
}
