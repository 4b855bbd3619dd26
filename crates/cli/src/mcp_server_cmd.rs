//! `wright mcp-server`: wright as an MCP server on stdio (tools `wright` and `wright-reply`),
//! as a client of an in-process App Server.

use clap::Args;

#[derive(Args, Debug)]
pub struct McpServerArgs {
    /// Model to use (a tool call's `model` argument wins).
    #[arg(short = 'm', long)]
    pub model: Option<String>,
    /// Override a config value: `-c key=value` (value parsed as TOML).
    #[arg(short = 'c', long = "config", value_name = "key=value")]
    pub config: Vec<String>,
    /// Config profile to use.
    #[arg(short = 'p', long)]
    pub profile: Option<String>,
}

pub fn main(args: McpServerArgs) -> i32 {
    let Some(runtime) = crate::runtime() else {
        return 1;
    };
    let code = match runtime.block_on(run(args)) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("Error: {err:#}");
            1
        }
    };
    // Store writes still queued get a moment to finish; a read of stdin that never ends (it
    // cannot be cancelled) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    code
}

async fn run(args: McpServerArgs) -> anyhow::Result<()> {
    // Each session's directory comes from the tool call (`cwd`), else this process's.
    let (_, _, server) =
        crate::app_server::bridge_server(args.model, args.profile, args.config, "mcp")?;
    wright_mcp_server::serve_stdio(server.connect()).await?;
    Ok(())
}
