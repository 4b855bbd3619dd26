//! The script every attempt's container or pod runs: take the secrets, get the repository
//! into `/workspace` at the task's commit, run the environment's setup, then become
//! `wright app-server`. Values reach it through the environment (`WRIGHT_TASK_*`), never by
//! pasting them into the script, so nothing the user wrote is parsed as shell by accident.

use base64::Engine as _;

use crate::config::{Network, Repository};

/// Where the repository is in the task.
pub const WORKSPACE: &str = "/workspace";
/// Where a mounted repository's git directory is (read-only).
pub const SOURCE_GIT_DIR: &str = "/src.git";
/// Where the host's `wright` is mounted (with its `wright-sandbox` beside it).
pub const MOUNTED_WRIGHT: &str = "/opt/wright/bin/wright";
/// The ref that marks where the attempt started, for its diff.
pub const BASE_REF: &str = "refs/wright/base";

/// The entry script. `"$@"` is the App Server's command line.
pub const SCRIPT: &str = r#"set -eu
if [ "${WRIGHT_TASK_SECRETS_STDIN:-0}" = 1 ]; then
  # name=base64(value) lines, ended by an empty line or the end of stdin.
  while IFS= read -r line; do
    [ -n "$line" ] || break
    name=${line%%=*}
    value=$(printf '%s' "${line#*=}" | base64 -d) || { echo "wright: secret $name is unreadable" >&2; exit 97; }
    export "$name=$value"
  done
fi
exec </dev/null
echo "wright: preparing $WRIGHT_TASK_WORKSPACE" >&2
case "$WRIGHT_TASK_REPOSITORY" in
  mount) git -c safe.directory='*' clone -q --no-checkout "$WRIGHT_TASK_SOURCE" "$WRIGHT_TASK_WORKSPACE" ;;
  clone) if [ -n "${WRIGHT_TASK_BRANCH:-}" ]; then
           git clone -q --no-checkout --branch "$WRIGHT_TASK_BRANCH" -- "$WRIGHT_TASK_URL" "$WRIGHT_TASK_WORKSPACE"
         else
           git clone -q --no-checkout -- "$WRIGHT_TASK_URL" "$WRIGHT_TASK_WORKSPACE"
         fi ;;
  *) echo "wright: unknown repository mode" >&2; exit 97 ;;
esac
cd "$WRIGHT_TASK_WORKSPACE"
git -c advice.detachedHead=false checkout -q "${WRIGHT_TASK_BASE:-HEAD}" --
git checkout -q -b wright-task
git update-ref refs/wright/base HEAD
if [ -n "${WRIGHT_TASK_SETUP:-}" ]; then
  echo "wright: running the setup script" >&2
  sh -c "$WRIGHT_TASK_SETUP" >&2 || { echo "wright: the setup script failed ($?)" >&2; exit 98; }
fi
unset WRIGHT_TASK_SETUP WRIGHT_TASK_SECRETS_STDIN
echo "wright: starting the agent" >&2
exec "$@"
"#;

/// What the script needs to know.
pub struct Entry<'a> {
    /// How the repository gets in.
    pub repository: &'a Repository,
    /// The branch to clone (`clone`).
    pub branch: Option<&'a str>,
    /// The commit to start from (`mount`: always known; `clone`: the branch's tip if `None`).
    pub base: Option<&'a str>,
    /// The setup script.
    pub setup: Option<&'a str>,
    /// Whether the secrets come on stdin (Docker) rather than in the environment (Kubernetes).
    pub secrets_on_stdin: bool,
}

impl Entry<'_> {
    /// The container's environment for the script.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("WRIGHT_TASK_WORKSPACE".to_string(), WORKSPACE.to_string()),
            (
                "WRIGHT_TASK_SECRETS_STDIN".to_string(),
                if self.secrets_on_stdin { "1" } else { "0" }.to_string(),
            ),
        ];
        match self.repository {
            Repository::Mount => {
                env.push(("WRIGHT_TASK_REPOSITORY".into(), "mount".into()));
                env.push(("WRIGHT_TASK_SOURCE".into(), SOURCE_GIT_DIR.into()));
            }
            Repository::Clone { url } => {
                env.push(("WRIGHT_TASK_REPOSITORY".into(), "clone".into()));
                env.push(("WRIGHT_TASK_URL".into(), url.clone()));
            }
        }
        if let Some(branch) = self.branch {
            env.push(("WRIGHT_TASK_BRANCH".into(), branch.into()));
        }
        if let Some(base) = self.base {
            env.push(("WRIGHT_TASK_BASE".into(), base.into()));
        }
        if let Some(setup) = self.setup {
            env.push(("WRIGHT_TASK_SETUP".into(), setup.into()));
        }
        env
    }
}

/// The App Server's command line in the task.
pub fn app_server_command(
    wright: &str,
    port: u16,
    token_sha256: &str,
    network: Network,
    secret_names: &[String],
    config: &[(String, String)],
) -> Vec<String> {
    let mut args = vec![
        wright.to_string(),
        "app-server".into(),
        "--listen".into(),
        format!("ws://0.0.0.0:{port}"),
        "--ws-token-sha256".into(),
        token_sha256.into(),
    ];
    let mut set = |k: &str, v: String| {
        args.push("-c".into());
        args.push(format!("{k}={v}"));
    };
    // Nobody is there to approve: the container is the boundary, and the agent's commands are
    // still confined to the workspace inside it.
    set("approval_policy", "\"never\"".into());
    set("sandbox_mode", "\"workspace-write\"".into());
    set(
        "sandbox_workspace_write.network_access",
        (network == Network::On).to_string(),
    );
    if !secret_names.is_empty() {
        // The secrets are for the setup script and for wright itself, not for the commands.
        let names: Vec<String> = secret_names.iter().map(|n| format!("{n:?}")).collect();
        set(
            "shell_environment_policy.exclude",
            format!("[{}]", names.join(", ")),
        );
    }
    for (k, v) in config {
        set(k, v.clone());
    }
    let mut command = vec![
        "sh".to_string(),
        "-c".into(),
        SCRIPT.into(),
        "wright-task".into(),
    ];
    command.extend(args);
    command
}

/// The secrets as the script reads them on stdin.
pub fn secrets_payload(secrets: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in secrets {
        out.push_str(name);
        out.push('=');
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(value));
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_ends_in_the_app_server_with_the_tokens_hash_only() {
        let cmd = app_server_command(
            MOUNTED_WRIGHT,
            4500,
            "ab12",
            Network::Off,
            &["OPENAI_API_KEY".into()],
            &[("model".into(), "\"m\"".into())],
        );
        assert_eq!(cmd[..2], ["sh", "-c"]);
        let tail = cmd[4..].join(" ");
        assert!(tail.starts_with("/opt/wright/bin/wright app-server --listen ws://0.0.0.0:4500 --ws-token-sha256 ab12"), "{tail}");
        assert!(tail.contains("sandbox_workspace_write.network_access=false"));
        assert!(tail.contains("shell_environment_policy.exclude=[\"OPENAI_API_KEY\"]"));
        assert!(tail.ends_with("-c model=\"m\""));
    }

    #[test]
    fn secrets_survive_newlines_and_equals_signs() {
        let payload = secrets_payload(&[("A".into(), "x=y\nz".into())]);
        assert_eq!(payload, "A=eD15Cno=\n\n");
    }
}
