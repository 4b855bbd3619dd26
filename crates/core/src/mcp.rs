//! Starting the configured MCP servers for a session: confined by the session's sandbox (a
//! launcher of their own, so their announcement does not use up the first command's), with
//! the environment commands get plus each server's own `env`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use wright_mcp::{Launcher, McpManager, McpOptions};

use crate::config::Config;
use crate::sandbox::SandboxLaunch;

/// The options [`McpManager::start`] and [`McpManager::reload`] take for `config`.
pub fn options(config: &Config) -> McpOptions {
    let sandbox = SandboxLaunch::for_session(config, Arc::new(AtomicBool::new(false)));
    let launcher: Option<Launcher> = match sandbox.mode {
        crate::config::SandboxMode::DangerFullAccess => None,
        _ => Some(Arc::new(move |argv: &[String]| sandbox.wrap(argv))),
    };
    McpOptions {
        servers: config.mcp_servers.clone(),
        launcher,
        env: config.shell_environment_policy.apply(std::env::vars()),
        cwd: config.cwd.clone(),
        oauth_home: Some(config.wright_home.clone()),
    }
}

/// Starts the servers in the background; returns at once.
pub fn start(config: &Config) -> McpManager {
    McpManager::start(options(config))
}
