//! `wright mcp add|list|get|remove|login|logout`: the MCP servers in `$WRIGHT_HOME/config.toml`,
//! as Codex's `codex mcp` manages them (same flags, messages and `--json` shapes). Edits go
//! through `config_edit::write_user_config`, so comments and unrelated keys stay as they were
//! and a write that would leave an invalid config is refused. `login` runs the OAuth flow of a
//! streamable HTTP server (`wright_mcp::oauth`) and `logout` deletes its stored tokens.
//!
//! Exit codes: 0 done (also `remove` of a name that is not there, as Codex); 1 failed, nothing
//! written; 2 bad usage (clap).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context};
use clap::{ArgGroup, Args, Subcommand};
use serde_json::{json, Value as Json};
use wright_core::config::{wright_home, CliOverrides};
use wright_core::config_edit::{write_user_config, Edit, Strategy};
use wright_core::config_layers::LayerStack;
use wright_core::mcp_config::{
    is_valid_server_name, servers_in, McpServerConfig, McpServers, McpTransport,
};
use wright_mcp::oauth::{self, OAuthError};

#[derive(Args, Debug)]
pub struct McpArgs {
    #[command(subcommand)]
    command: McpCommand,
}

#[derive(Subcommand, Debug)]
enum McpCommand {
    /// List configured MCP servers.
    List {
        /// Output the configured servers as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show details for a configured MCP server.
    Get {
        /// Name of the MCP server to display.
        name: String,
        /// Output the server configuration as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a global MCP server entry: `NAME -- COMMAND [ARGS...]` or `NAME --url URL`.
    Add(AddArgs),
    /// Remove a global MCP server entry.
    Remove {
        /// Name of the MCP server configuration to remove.
        name: String,
    },
    /// Authenticate with a configured MCP server using OAuth (streamable HTTP servers).
    Login {
        /// Name of the MCP server to authenticate with.
        name: String,
        /// Comma-separated list of OAuth scopes to request.
        #[arg(long, value_delimiter = ',', value_name = "SCOPE,SCOPE")]
        scopes: Vec<String>,
    },
    /// Remove the stored OAuth credentials of an MCP server.
    Logout {
        /// Name of the MCP server to deauthenticate.
        name: String,
    },
}

#[derive(Args, Debug)]
#[command(group(
    ArgGroup::new("transport")
        .args(["command", "url"])
        .required(true)
        .multiple(false)
))]
struct AddArgs {
    /// Name for the MCP server configuration (letters, numbers, '-', '_').
    name: String,

    /// URL for a streamable HTTP MCP server.
    #[arg(long)]
    url: Option<String>,

    /// Optional environment variable to read for a bearer token.
    /// Only valid with streamable HTTP servers.
    #[arg(
        long = "bearer-token-env-var",
        value_name = "ENV_VAR",
        requires = "url"
    )]
    bearer_token_env_var: Option<String>,

    /// Environment variables to set when launching the server.
    /// Only valid with stdio servers.
    #[arg(long, value_parser = parse_env_pair, value_name = "KEY=VALUE", conflicts_with = "url")]
    env: Vec<(String, String)>,

    /// Command to launch the MCP server.
    /// Use --url for a streamable HTTP server.
    #[arg(trailing_var_arg = true, num_args = 0.., value_name = "COMMAND")]
    command: Vec<String>,
}

pub fn main(args: McpArgs) -> i32 {
    let result = match args.command {
        McpCommand::List { json } => list(json),
        McpCommand::Get { name, json } => get(&name, json),
        McpCommand::Add(add_args) => add(add_args),
        McpCommand::Remove { name } => remove(&name),
        McpCommand::Login { name, scopes } => login(&name, scopes),
        McpCommand::Logout { name } => logout(&name),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("wright mcp: {e:#}");
            1
        }
    }
}

fn parse_env_pair(raw: &str) -> Result<(String, String), String> {
    const FORM: &str = "environment entries must be in KEY=VALUE form";
    let (key, value) = raw.split_once('=').ok_or(FORM)?;
    let key = key.trim();
    if key.is_empty() {
        return Err(FORM.to_string());
    }
    Ok((key.to_string(), value.to_string()))
}

fn validate_server_name(name: &str) -> anyhow::Result<()> {
    if !is_valid_server_name(name) {
        bail!("invalid server name '{name}' (use letters, numbers, '-', '_')");
    }
    Ok(())
}

fn load_stack() -> anyhow::Result<(std::path::PathBuf, LayerStack)> {
    let home = wright_home()?;
    let stack = LayerStack::load(&home, &CliOverrides::default())
        .context("failed to load configuration")?;
    Ok((home, stack))
}

fn load_servers() -> anyhow::Result<McpServers> {
    let (_, stack) = load_stack()?;
    Ok(servers_in(&stack.effective())?)
}

fn write(home: &std::path::Path, key_path: &str, value: Json) -> anyhow::Result<()> {
    let edit = Edit {
        key_path: key_path.to_string(),
        value,
        strategy: Strategy::Replace,
    };
    write_user_config(home, &CliOverrides::default(), None, None, &[edit])
        .with_context(|| format!("failed to write MCP servers to {}", home.display()))?;
    Ok(())
}

fn add(args: AddArgs) -> anyhow::Result<()> {
    let AddArgs {
        name,
        url,
        bearer_token_env_var,
        env,
        command,
    } = args;
    validate_server_name(&name)?;
    if url.is_none() && bearer_token_env_var.is_some() {
        bail!("--bearer-token-env-var requires --url");
    }
    let transport = match url {
        Some(url) => McpTransport::StreamableHttp {
            url,
            bearer_token_env_var,
            http_headers: None,
        },
        None => {
            let mut parts = command.into_iter();
            let command = parts.next().ok_or_else(|| anyhow!("command is required"))?;
            McpTransport::Stdio {
                command,
                args: parts.collect(),
                env: (!env.is_empty()).then(|| env.into_iter().collect::<BTreeMap<_, _>>()),
                cwd: None,
            }
        }
    };
    let home = wright_home()?;
    write(
        &home,
        &format!("mcp_servers.{name}"),
        McpServerConfig::new(transport).to_config_json(),
    )?;
    println!("Added global MCP server '{name}'.");
    Ok(())
}

fn remove(name: &str) -> anyhow::Result<()> {
    validate_server_name(name)?;
    let (home, stack) = load_stack()?;
    let servers = stack
        .user()
        .get("mcp_servers")
        .and_then(|servers| servers.as_table());
    if servers.is_some_and(|servers| servers.contains_key(name)) {
        write(&home, &format!("mcp_servers.{name}"), Json::Null)?;
        println!("Removed global MCP server '{name}'.");
    } else {
        println!("No MCP server named '{name}' found.");
    }
    Ok(())
}

/// How long `wright mcp login` waits for the browser (Codex's default).
const LOGIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

fn login(name: &str, scopes: Vec<String>) -> anyhow::Result<()> {
    validate_server_name(name)?;
    let (home, stack) = load_stack()?;
    let servers = servers_in(&stack.effective())?;
    let server = servers
        .get(name)
        .ok_or_else(|| OAuthError::ServerNotFound(name.to_string()))?;
    let runtime = crate::runtime().ok_or_else(|| anyhow!("cannot start the async runtime"))?;
    runtime.block_on(async {
        let login = oauth::start_login(&home, name, server, scopes, LOGIN_TIMEOUT).await?;
        let url = &login.authorization_url;
        println!("Authorize `{name}` by opening this URL in your browser:\n{url}\n");
        let _ = std::io::Write::flush(&mut std::io::stdout());
        if !open_browser(url) {
            eprintln!("(Browser launch failed; please copy the URL above manually.)");
        }
        login
            .completion
            .await
            .map_err(|e| anyhow!("the OAuth login stopped: {e}"))??;
        anyhow::Ok(())
    })?;
    println!("Successfully logged in to MCP server '{name}'.");
    Ok(())
}

/// Opens `url` in the user's browser when there is one to open: `$BROWSER`, else `open` on
/// macOS, else `xdg-open` when a display is set. Never waits for it; `false` when none could
/// be started (the URL is printed either way).
fn open_browser(url: &str) -> bool {
    let from_env = std::env::var("BROWSER")
        .ok()
        .and_then(|b| b.split(':').next().map(str::trim).map(str::to_string))
        .filter(|b| !b.is_empty());
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    let command = match from_env {
        Some(browser) => browser,
        None if cfg!(target_os = "macos") => "open".to_string(),
        None if has_display => "xdg-open".to_string(),
        None => return false,
    };
    let mut words = command.split_whitespace();
    let Some(program) = words.next() else {
        return false;
    };
    let child = std::process::Command::new(program)
        .args(words)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            // Reaped in the background: a browser may outlive the login.
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}

fn logout(name: &str) -> anyhow::Result<()> {
    validate_server_name(name)?;
    let (home, stack) = load_stack()?;
    let servers = servers_in(&stack.effective())?;
    let Some(server) = servers.get(name) else {
        bail!("No MCP server named '{name}' found in configuration.");
    };
    if !matches!(server.transport, McpTransport::StreamableHttp { .. }) {
        bail!("OAuth logout is only supported for streamable_http transports.");
    }
    if oauth::logout(&home, name).context("failed to delete OAuth credentials")? {
        println!("Removed OAuth credentials for '{name}'.");
    } else {
        println!("No OAuth credentials stored for '{name}'.");
    }
    Ok(())
}

fn secs(d: Option<std::time::Duration>) -> Json {
    json!(d.map(|d| d.as_secs_f64()))
}

/// One server as `codex mcp list --json` / `get --json` print it, plus the keys Codex's
/// output leaves out (`cwd`, `http_headers`, `enabled_tools`, `disabled_tools`).
fn server_json(name: &str, server: &McpServerConfig) -> Json {
    let transport = match &server.transport {
        McpTransport::Stdio {
            command,
            args,
            env,
            cwd,
        } => json!({
            "type": "stdio",
            "command": command,
            "args": args,
            "env": env,
            "cwd": cwd,
        }),
        McpTransport::StreamableHttp {
            url,
            bearer_token_env_var,
            http_headers,
        } => json!({
            "type": "streamable_http",
            "url": url,
            "bearer_token_env_var": bearer_token_env_var,
            "http_headers": http_headers,
        }),
    };
    json!({
        "name": name,
        "enabled": server.enabled,
        "transport": transport,
        "startup_timeout_sec": secs(server.startup_timeout_sec),
        "tool_timeout_sec": secs(server.tool_timeout_sec),
        "enabled_tools": server.enabled_tools,
        "disabled_tools": server.disabled_tools,
    })
}

fn pairs_display(map: Option<&BTreeMap<String, String>>) -> String {
    match map {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "-".to_string(),
    }
}

fn list_display(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(" ")
    }
}

fn status(server: &McpServerConfig) -> String {
    if server.enabled {
        "enabled"
    } else {
        "disabled"
    }
    .to_string()
}

/// Columns padded to their widest cell, two spaces apart (the last one padded too, as Codex).
fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: [&str; N]| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(header));
    for row in rows {
        println!("{}", line(std::array::from_fn(|i| row[i].as_str())));
    }
}

fn list(as_json: bool) -> anyhow::Result<()> {
    let servers = load_servers()?;
    if as_json {
        let entries: Vec<Json> = servers
            .iter()
            .map(|(name, server)| server_json(name, server))
            .collect();
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    if servers.is_empty() {
        println!("No MCP servers configured yet. Try `wright mcp add my-tool -- my-command`.");
        return Ok(());
    }
    let mut stdio_rows: Vec<[String; 5]> = Vec::new();
    let mut http_rows: Vec<[String; 4]> = Vec::new();
    for (name, server) in &servers {
        match &server.transport {
            McpTransport::Stdio {
                command, args, env, ..
            } => stdio_rows.push([
                name.clone(),
                command.clone(),
                list_display(args),
                pairs_display(env.as_ref()),
                status(server),
            ]),
            McpTransport::StreamableHttp {
                url,
                bearer_token_env_var,
                ..
            } => http_rows.push([
                name.clone(),
                url.clone(),
                bearer_token_env_var.clone().unwrap_or_else(|| "-".into()),
                status(server),
            ]),
        }
    }
    if !stdio_rows.is_empty() {
        print_table(["Name", "Command", "Args", "Env", "Status"], &stdio_rows);
    }
    if !stdio_rows.is_empty() && !http_rows.is_empty() {
        println!();
    }
    if !http_rows.is_empty() {
        print_table(
            ["Name", "Url", "Bearer Token Env Var", "Status"],
            &http_rows,
        );
    }
    Ok(())
}

fn get(name: &str, as_json: bool) -> anyhow::Result<()> {
    let servers = load_servers()?;
    let Some(server) = servers.get(name) else {
        bail!("No MCP server named '{name}' found.");
    };
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&server_json(name, server))?
        );
        return Ok(());
    }
    println!("{name}");
    println!("  enabled: {}", server.enabled);
    match &server.transport {
        McpTransport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            println!("  transport: stdio");
            println!("  command: {command}");
            println!("  args: {}", list_display(args));
            println!("  env: {}", pairs_display(env.as_ref()));
            if let Some(cwd) = cwd {
                println!("  cwd: {}", cwd.display());
            }
        }
        McpTransport::StreamableHttp {
            url,
            bearer_token_env_var,
            http_headers,
        } => {
            println!("  transport: streamable_http");
            println!("  url: {url}");
            let var = bearer_token_env_var.as_deref().unwrap_or("-");
            println!("  bearer_token_env_var: {var}");
            if http_headers.is_some() {
                println!("  http_headers: {}", pairs_display(http_headers.as_ref()));
            }
        }
    }
    if let Some(tools) = &server.enabled_tools {
        println!("  enabled_tools: {}", list_display(tools));
    }
    if let Some(tools) = &server.disabled_tools {
        println!("  disabled_tools: {}", list_display(tools));
    }
    if let Some(timeout) = server.startup_timeout_sec {
        println!("  startup_timeout_sec: {}", timeout.as_secs_f64());
    }
    if let Some(timeout) = server.tool_timeout_sec {
        println!("  tool_timeout_sec: {}", timeout.as_secs_f64());
    }
    println!("  remove: wright mcp remove {name}");
    Ok(())
}
