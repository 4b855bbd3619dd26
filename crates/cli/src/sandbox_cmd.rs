//! `wright sandbox`: run one command confined by the Linux sandbox, or report what this
//! machine can enforce.
//!
//! The agent runs every model-requested command as
//! `wright sandbox --policy '<json>' -- CMD ARGS...` (see `wright_sandbox::wrap_command`):
//! this process confines itself and `execvp`s the command, so the agent stays unconfined.
//! It must be dispatched before any thread or async runtime is started (unsharing a user
//! namespace requires a single-threaded process).
//!
//! Exit codes: the command's own code once it runs; 126 when the policy cannot be enforced
//! (or is invalid); 127 when the command cannot be executed; 2 for usage errors.

use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;
use wright_sandbox::{Mode, SandboxPolicy, EXIT_CANNOT_ENFORCE};

#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// Print what this machine can enforce, then exit: 0 if workspace-write can be enforced,
    /// 1 otherwise.
    #[arg(long, conflicts_with_all = ["policy", "mode", "writable_roots", "network", "command"])]
    pub check: bool,

    /// With --check: print the capabilities as JSON.
    #[arg(long, requires = "check")]
    pub json: bool,

    /// The policy as JSON: {"mode": "read-only"|"workspace-write"|"danger-full-access",
    /// "writable_roots": [absolute dirs], "network": bool}.
    #[arg(long, value_name = "JSON", conflicts_with_all = ["mode", "writable_roots", "network"])]
    pub policy: Option<String>,

    /// Sandbox mode, for trying the sandbox by hand (default: workspace-write with the current
    /// directory writable).
    #[arg(short = 's', long = "sandbox", value_name = "MODE", value_parser = parse_mode)]
    pub mode: Option<Mode>,

    /// An additional writable directory (workspace-write; repeatable). The current directory
    /// is always writable.
    #[arg(long = "writable-root", value_name = "DIR")]
    pub writable_roots: Vec<PathBuf>,

    /// Allow network access.
    #[arg(long)]
    pub network: bool,

    /// The command and its arguments (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
}

pub fn main(args: SandboxArgs) -> i32 {
    if args.check {
        let caps = wright_sandbox::check();
        if args.json {
            match serde_json::to_string_pretty(&caps) {
                Ok(json) => println!("{json}"),
                Err(e) => {
                    eprintln!("wright sandbox: {e}");
                    return 1;
                }
            }
        } else {
            print!("{}", caps.report());
        }
        return i32::from(caps.can_enforce(Mode::WorkspaceWrite).is_err());
    }
    if args.command.is_empty() {
        eprintln!(
            "wright sandbox: no command given (usage: wright sandbox [--policy JSON | -s MODE [--writable-root DIR]... [--network]] -- CMD [ARGS...], or wright sandbox --check)"
        );
        return 2;
    }
    let policy = match policy_from_args(&args) {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("wright sandbox: {e}");
            return EXIT_CANNOT_ENFORCE;
        }
    };
    if args.policy.is_none() {
        // By hand: the same environment the agent's commands get, so what a user tests is
        // what the model gets.
        if let Err(e) = apply_env_policy() {
            eprintln!("wright sandbox: {e}");
            return EXIT_CANNOT_ENFORCE;
        }
    }
    match wright_sandbox::run(&policy, &args.command) {
        Ok(outcome) => outcome.exit(),
        Err(err) => {
            eprintln!("wright sandbox: {err}");
            err.exit_code()
        }
    }
}

/// Replaces this process's environment with what `shell_environment_policy` gives commands.
fn apply_env_policy() -> anyhow::Result<()> {
    let config = wright_core::config::Config::load(&Default::default())?;
    let all: Vec<(std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os().collect();
    // Variables that are not UTF-8 cannot be checked against the policy: they are dropped.
    let vars: Vec<(String, String)> = all
        .iter()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v.to_str()?.to_string())))
        .collect();
    let keep = config.shell_environment_policy.apply(vars);
    for (k, _) in &all {
        std::env::remove_var(k);
    }
    for (k, v) in keep {
        std::env::set_var(k, v);
    }
    Ok(())
}

fn policy_from_args(args: &SandboxArgs) -> anyhow::Result<SandboxPolicy> {
    if let Some(json) = &args.policy {
        return serde_json::from_str(json)
            .map_err(|e| anyhow::anyhow!("invalid --policy JSON: {e}"));
    }
    let cwd = std::env::current_dir()
        .map_err(|e| anyhow::anyhow!("cannot determine the current directory: {e}"))?;
    let mut writable_roots = vec![cwd.clone()];
    for root in &args.writable_roots {
        let root = cwd.join(root);
        if !writable_roots.contains(&root) {
            writable_roots.push(root);
        }
    }
    let mut policy = SandboxPolicy::new(
        args.mode.unwrap_or(Mode::WorkspaceWrite),
        writable_roots,
        args.network,
    );
    if let Ok(config) = wright_core::config::Config::load(&Default::default()) {
        policy.limits = config.sandbox_limits;
    }
    // By hand, say what is missing.
    policy.announce = true;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    fn parse(argv: &[&str]) -> Result<SandboxArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("sandbox").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn parses_the_agent_form() {
        let json = r#"{"mode":"read-only","writable_roots":[],"network":true}"#;
        let a = parse(&["--policy", json, "--", "ls", "-la"]).unwrap();
        assert_eq!(a.command, ["ls", "-la"]);
        let p = policy_from_args(&a).unwrap();
        assert_eq!(p.mode, Mode::ReadOnly);
        assert!(p.network);
    }

    #[test]
    fn parses_the_manual_form() {
        let a = parse(&[
            "-s",
            "workspace-write",
            "--writable-root",
            "/tmp",
            "--",
            "true",
        ])
        .unwrap();
        let p = policy_from_args(&a).unwrap();
        assert_eq!(p.mode, Mode::WorkspaceWrite);
        assert_eq!(p.writable_roots[0], std::env::current_dir().unwrap());
        assert_eq!(p.writable_roots[1], PathBuf::from("/tmp"));
        assert!(!p.network);
        let a = parse(&["--", "true"]).unwrap();
        assert_eq!(policy_from_args(&a).unwrap().mode, Mode::WorkspaceWrite);
        assert!(parse(&["-s", "bogus", "--", "true"]).is_err());
        assert!(parse(&["--check", "--", "true"]).is_err());
        assert!(parse(&["--policy", "{}", "-s", "read-only", "--", "true"]).is_err());
        assert!(parse(&["--check"]).unwrap().check);
        let a = parse(&["--policy", "not json", "--", "true"]).unwrap();
        assert!(policy_from_args(&a).is_err());
    }
}
