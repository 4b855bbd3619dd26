//! `wright hooks list | trust`: the hooks that apply here, and trusting a repository's own.
//!
//! Hooks from `$WRIGHT_HOME` are the user's and run as configured. Hooks from a repository's
//! `.codex/` or `.wright/` run only once trusted here: the trust names each hook's exact
//! definition (a hash), so a hook changed later is untrusted again and asks anew.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use wright_core::config::{CliOverrides, Config};
use wright_hooks::HookTrustStatus;

#[derive(Args, Debug)]
pub struct HooksArgs {
    #[command(subcommand)]
    command: HooksCommand,
    /// Where to look (default: the current directory; its repository's hooks apply).
    #[arg(long = "cd", short = 'C', global = true, value_name = "DIR")]
    cwd: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
enum HooksCommand {
    /// List the hooks that apply here, with their trust.
    List {
        /// As JSON (`hooks/list`'s entry).
        #[arg(long)]
        json: bool,
    },
    /// Trust a repository's hooks as they are now: the keys given, or all with `--all`.
    Trust {
        /// Hook keys, as `wright hooks list` prints them.
        keys: Vec<String>,
        #[arg(long, conflicts_with = "keys")]
        all: bool,
    },
}

pub fn main(args: HooksArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wright hooks: {e}");
            return 1;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("wright hooks: {e:#}");
            1
        }
    }
}

async fn run(args: HooksArgs) -> anyhow::Result<()> {
    let overrides = CliOverrides {
        cwd: args.cwd.clone(),
        ..CliOverrides::default()
    };
    let config = Config::load(&overrides).context("loading config")?;
    let mut hooks = wright_core::hooks::load(&config)
        .await
        .map_err(anyhow::Error::msg)?;
    match args.command {
        HooksCommand::List { json } => {
            let entry = hooks.list_entry(&config.cwd);
            if json {
                println!("{}", serde_json::to_string_pretty(&entry)?);
                return Ok(());
            }
            if entry.hooks.is_empty() {
                println!("No hooks apply in {}.", config.cwd.display());
            }
            for hook in &entry.hooks {
                let trust = match hook.trust_status {
                    HookTrustStatus::Trusted | HookTrustStatus::Managed => "trusted",
                    HookTrustStatus::Untrusted => "NOT TRUSTED (does not run)",
                    HookTrustStatus::Modified => "CHANGED since trusted (does not run)",
                };
                println!(
                    "{:?} {} `{}` [{trust}]\n  key: {}",
                    hook.event_name,
                    hook.matcher.as_deref().unwrap_or("*"),
                    hook.command,
                    hook.key
                );
            }
            for warning in entry.warnings.iter() {
                eprintln!("warning: {warning}");
            }
            for error in entry.errors.iter() {
                eprintln!("error: {}: {}", error.path, error.message);
            }
            Ok(())
        }
        HooksCommand::Trust { keys, all } => {
            let ids: Vec<_> = hooks
                .untrusted()
                .into_iter()
                .filter(|h| all || keys.contains(&h.id.0))
                .map(|h| h.id.clone())
                .collect();
            if ids.is_empty() {
                if !all {
                    bail!("no untrusted hook has the key(s) given; `wright hooks list` shows them");
                }
                println!("Every hook here is already trusted.");
                return Ok(());
            }
            hooks.trust(&ids).await.context("recording the trust")?;
            for id in &ids {
                println!("trusted {}", id.0);
            }
            Ok(())
        }
    }
}
