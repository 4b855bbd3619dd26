//! `wright app-server`: the JSON-RPC App Server on stdio or WebSocket, and its schema.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use tokio::signal::unix::{signal, SignalKind};
use wright_app_server::{transport, AppServer, ServerOptions};
use wright_core::config::{CliOverrides, Config};

#[derive(Args, Debug)]
pub struct AppServerArgs {
    /// Where to listen: `stdio://` (default), `ws://IP:PORT`, or `unix://PATH` (WebSocket
    /// frames over a Unix socket of mode 0600; `unix://` alone: under $WRIGHT_HOME).
    #[arg(long, default_value = "stdio://")]
    listen: String,

    /// Override a config value for every thread: `-c key=value`.
    #[arg(short = 'c', long = "config", value_name = "key=value")]
    config: Vec<String>,

    /// Keep no thread on disk.
    #[arg(long)]
    ephemeral: bool,

    /// WebSocket authentication: `capability-token` (default; a per-launch token, printed on
    /// stderr or written to --ws-token-file) or `none` (loopback listeners only).
    #[arg(long, value_name = "MODE", default_value = "capability-token", value_parser = ["capability-token", "none"])]
    ws_auth: String,

    /// Write the capability token to PATH (mode 0600) instead of printing it.
    #[arg(long, value_name = "PATH", conflicts_with = "ws_token_sha256")]
    ws_token_file: Option<PathBuf>,

    /// Accept the token whose SHA-256 is HEX (the launcher keeps the token; nothing is
    /// printed or written).
    #[arg(long, value_name = "HEX")]
    ws_token_sha256: Option<String>,

    /// Accept WebSocket requests that carry this `Origin` (repeatable; e.g. the web UI's own).
    /// Requests from any other origin are refused.
    #[arg(long = "ws-allow-origin", value_name = "ORIGIN")]
    ws_allow_origins: Vec<String>,

    #[command(subcommand)]
    command: Option<AppServerCommand>,
}

#[derive(Subcommand, Debug)]
enum AppServerCommand {
    /// Write the JSON Schema of wright's App Server protocol into DIR.
    GenerateJsonSchema {
        #[arg(long)]
        out: PathBuf,
        /// Accepted for Codex compatibility: wright's schema has no experimental part.
        #[arg(long)]
        experimental: bool,
    },
    /// Write TypeScript declarations of wright's App Server protocol into DIR.
    GenerateTs {
        #[arg(long)]
        out: PathBuf,
        /// Accepted for Codex compatibility: wright's protocol has no experimental part.
        #[arg(long)]
        experimental: bool,
    },
}

pub fn main(args: AppServerArgs) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("Error: {err:#}");
            1
        }
    }
}

fn run(args: AppServerArgs) -> anyhow::Result<()> {
    match args.command {
        Some(AppServerCommand::GenerateJsonSchema { out, .. }) => {
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let schema = wright_protocol::v2::json_schema_bundle();
            let path = out.join("wright_app_server_protocol.schemas.json");
            std::fs::write(&path, serde_json::to_string_pretty(&schema)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
            return Ok(());
        }
        Some(AppServerCommand::GenerateTs { out, .. }) => {
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let path = out.join("wright_app_server_protocol.ts");
            std::fs::write(&path, wright_protocol::v2::typescript_bundle())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
            return Ok(());
        }
        None => {}
    }
    let options = server_options(args.config.clone(), args.ephemeral)?;
    let wright_home = options.wright_home.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let server = AppServer::new(options);
        // SIGTERM and SIGINT stop the server at once. As a container's PID 1 this is what
        // makes `docker stop` work: the kernel drops a signal PID 1 has no handler for.
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
        tokio::select! {
            served = serve(&server, &args, &wright_home) => served,
            _ = term.recv() => {
                server.shutdown();
                Ok(())
            }
            _ = int.recv() => {
                server.shutdown();
                Ok(())
            }
        }
    })
}

/// Serves the transport `--listen` names until it ends.
async fn serve(server: &AppServer, args: &AppServerArgs, wright_home: &Path) -> anyhow::Result<()> {
    {
        if args.listen == "stdio://" || args.listen == "stdio" {
            transport::serve_stdio(server).await?;
        } else if let Some(addr) = args.listen.strip_prefix("ws://") {
            let addr: std::net::SocketAddr = addr
                .trim_end_matches('/')
                .parse()
                .with_context(|| format!("--listen {}: expected ws://IP:PORT", args.listen))?;
            let token_sha256 = match (args.ws_auth.as_str(), &args.ws_token_sha256) {
                ("none", _) => None,
                (_, Some(hex)) => Some(wright_app_server::ws_auth::parse_sha256_hex(hex)?),
                _ => {
                    let token = wright_app_server::ws_auth::generate_token();
                    match &args.ws_token_file {
                        Some(path) => {
                            write_private(path, &token)?;
                            eprintln!("wright app-server: token written to {}", path.display());
                        }
                        None => eprintln!("wright app-server: token {token}"),
                    }
                    Some(wright_app_server::ws_auth::token_sha256(&token))
                }
            };
            let security = wright_app_server::ws_auth::WsSecurity::new(
                addr,
                token_sha256,
                args.ws_allow_origins.clone(),
            )?;
            transport::serve_ws(server, addr, security).await?;
        } else if let Some(path) = args.listen.strip_prefix("unix://") {
            let path = if path.is_empty() {
                wright_home
                    .join("app-server-control")
                    .join("app-server-control.sock")
            } else {
                PathBuf::from(path)
            };
            transport::serve_unix(server, &path)
                .await
                .with_context(|| format!("--listen unix://{}", path.display()))?;
        } else {
            bail!(
                "--listen {}: expected stdio://, ws://IP:PORT or unix://PATH",
                args.listen
            );
        }
        Ok(())
    }
}

/// The App Server's options from `-c` overrides: config.toml is read (and its warnings shown)
/// now, so a bad one is reported at start, not on the first thread/start.
pub(crate) fn server_options(
    config: Vec<String>,
    ephemeral: bool,
) -> anyhow::Result<ServerOptions> {
    let overrides = CliOverrides {
        config,
        sandbox_exe: crate::sealed_sandbox_exe(),
        ..Default::default()
    };
    let config = Config::load(&overrides)?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    crate::local_model::announce_for_server(&config);
    Ok(ServerOptions {
        overrides,
        wright_home: config.wright_home.clone(),
        ephemeral,
        source: "vscode".into(),
        thread_retention_days: config.thread_retention_days,
        max_threads: config.max_threads,
    })
}

/// Writes `token` to `path`, readable by this user only.
/// The config and in-process App Server of a stdio bridge (`wright acp`, `wright mcp-server`):
/// each session's directory comes from its client, and since stdout carries the bridge's
/// protocol, problems with the config go to stderr, which clients keep in their log.
pub(crate) fn bridge_server(
    model: Option<String>,
    profile: Option<String>,
    config_flags: Vec<String>,
    source: &str,
) -> anyhow::Result<(Config, CliOverrides, AppServer)> {
    let overrides = CliOverrides {
        model,
        profile,
        config: config_flags,
        cwd: None,
        sandbox_exe: crate::sealed_sandbox_exe(),
        ..Default::default()
    };
    let config = Config::load(&overrides)?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    crate::local_model::prepare(&config, false)?;
    let server = AppServer::new(ServerOptions {
        overrides: overrides.clone(),
        wright_home: config.wright_home.clone(),
        ephemeral: false,
        source: source.into(),
        thread_retention_days: config.thread_retention_days,
        max_threads: config.max_threads,
    });
    Ok((config, overrides, server))
}

pub(crate) fn write_private(path: &std::path::Path, token: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // An existing file keeps its mode on open: narrow it before the token goes in.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(token.as_bytes())?;
    Ok(())
}
