//! `wright acp`: the Agent Client Protocol on stdio, as a client of an in-process App Server.

use anyhow::Context;
use clap::Args;
use wright_protocol::v2::AskForApproval;

#[derive(Args, Debug)]
pub struct AcpArgs {
    /// Model to use.
    #[arg(short = 'm', long)]
    pub model: Option<String>,
    /// Override a config value: `-c key=value` (value parsed as TOML).
    #[arg(short = 'c', long = "config", value_name = "key=value")]
    pub config: Vec<String>,
    /// Config profile to use.
    #[arg(short = 'p', long)]
    pub profile: Option<String>,
}

pub fn main(args: AcpArgs) -> i32 {
    let Some(runtime) = crate::runtime() else {
        return 1;
    };
    match runtime.block_on(run(args)) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("Error: {err:#}");
            1
        }
    }
}

async fn run(args: AcpArgs) -> anyhow::Result<()> {
    // Each session's directory comes from the editor (`session/new`'s `cwd`).
    let (config, overrides, server) =
        crate::app_server::bridge_server(args.model, args.profile, args.config, "acp")?;
    // Someone at the editor answers questions, so unless the config says otherwise the model
    // may ask (as in the TUI).
    let layers = wright_core::config_layers::LayerStack::load(&config.wright_home, &overrides)
        .context("cannot read the config layers")?;
    let default_approval = layers
        .winner(&["approval_policy".to_string()])
        .is_none()
        .then_some(AskForApproval::OnRequest);
    wright_acp::serve_stdio(server.connect(), wright_acp::Options { default_approval }).await?;
    Ok(())
}
