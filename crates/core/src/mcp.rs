//! Starting the configured MCP servers for a session: confined by the session's sandbox (a
//! launcher of their own, so their announcement does not use up the first command's), with
//! the environment commands get plus each server's own `env`.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use wright_mcp::{Launcher, McpManager, McpOptions};

use crate::config::{Config, SandboxMode};
use crate::sandbox::SandboxLaunch;

/// The options [`McpManager::start`] and [`McpManager::reload`] take for `config`. Cheap: the
/// sandbox launcher is only prepared when the first confined server starts (in the
/// background), never on the way to the first model request.
pub fn options(config: &Config) -> McpOptions {
    let launcher: Option<Launcher> = match config.sandbox_mode {
        SandboxMode::DangerFullAccess => None,
        _ if config.mcp_servers.is_empty() => None,
        _ => {
            let config = config.clone();
            let sandbox: OnceLock<SandboxLaunch> = OnceLock::new();
            Some(Arc::new(move |argv: &[String]| {
                sandbox
                    .get_or_init(|| {
                        SandboxLaunch::for_session(&config, Arc::new(AtomicBool::new(false)))
                    })
                    .wrap(argv)
            }))
        }
    };
    McpOptions {
        servers: config.mcp_servers.clone(),
        launcher,
        env: match config.mcp_servers.is_empty() {
            true => Vec::new(),
            false => config.shell_environment_policy.apply(std::env::vars()),
        },
        cwd: config.cwd.clone(),
        oauth_home: Some(config.wright_home.clone()),
    }
}

/// Starts the servers in the background; returns at once.
pub fn start(config: &Config) -> McpManager {
    McpManager::start(options(config))
}
