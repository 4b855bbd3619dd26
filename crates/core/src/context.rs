//! The fixed layers at the start of every thread: base instructions, the permissions message,
//! and the environment context. They are built once per thread and never rewritten, so every
//! request begins with the same bytes and the server's prompt cache keeps hitting.

use serde_json::{json, Value};

use crate::config::{ApprovalPolicy, Config, SandboxMode};

/// wright's own base instructions, sent as the Responses `instructions`.
pub const BASE_INSTRUCTIONS: &str = include_str!("../prompt.md");

/// The instructions for small models running inside wright: short, and about their two tools.
pub const LOCAL_INSTRUCTIONS: &str = include_str!("../prompt_local.md");

pub fn base_instructions(config: &Config) -> String {
    let default = if config.provider.wire_api == wright_models::WireApi::Local {
        LOCAL_INSTRUCTIONS
    } else {
        BASE_INSTRUCTIONS
    };
    config
        .base_instructions
        .clone()
        .unwrap_or_else(|| default.to_string())
}

/// A message item in Responses format.
pub fn message(role: &str, texts: &[String]) -> Value {
    let content: Vec<Value> = texts
        .iter()
        .map(|t| json!({"type": "input_text", "text": t}))
        .collect();
    json!({"type": "message", "role": role, "content": content})
}

pub fn permissions_text(config: &Config) -> String {
    if config.provider.wire_api == wright_models::WireApi::Local {
        return local_permissions_text(config);
    }
    let sandbox = match config.sandbox_mode {
        SandboxMode::ReadOnly => "`sandbox_mode` is `read-only`: The sandbox only permits reading files. Network access is restricted.".to_string(),
        SandboxMode::WorkspaceWrite => format!(
            "`sandbox_mode` is `workspace-write`: The sandbox permits reading files, and editing files in `cwd` and `writable_roots`. Editing files in other directories requires approval. Network access is {}.",
            if config.network_access { "enabled" } else { "restricted" }
        ),
        SandboxMode::DangerFullAccess => "`sandbox_mode` is `danger-full-access`: No filesystem sandboxing - all commands are permitted. Network access is enabled.".to_string(),
    };
    let approval = match config.approval_policy {
        ApprovalPolicy::Never => "Approval policy is currently never. Do not provide the `sandbox_permissions` for any reason, commands will be rejected.",
        ApprovalPolicy::OnRequest => "Approval policy is `on-request`: commands run in the sandbox. When a command cannot work inside it (network, writes outside the writable roots), run it with `sandbox_permissions: \"require_escalated\"` and a one-sentence `justification`; the user decides.",
        ApprovalPolicy::OnFailure => "Approval policy is `on-failure`: commands run in the sandbox; a failed command may be retried without it after the user approves.",
        ApprovalPolicy::Untrusted => "`approval_policy` is `unless-trusted`: The harness will require user approval before running commands unless an explicit exec policy rule allows them.",
    };
    let mut text = format!(
        "<permissions instructions>\nFilesystem sandboxing defines which files can be read or written. {sandbox}\n{approval}\n"
    );
    if config.sandbox_mode == SandboxMode::WorkspaceWrite {
        let roots: Vec<String> = config
            .writable_roots
            .iter()
            .map(|r| format!("`{}`", r.display()))
            .collect();
        text.push_str(&format!(" The writable roots are {}.\n", roots.join(", ")));
    }
    text.push_str("</permissions instructions>");
    text
}

/// Small models get one plain sentence: the Codex wording (escalation parameters their tools
/// do not have) makes them echo markup instead of acting.
fn local_permissions_text(config: &Config) -> String {
    let writes = match config.sandbox_mode {
        SandboxMode::ReadOnly => "Commands can read files but not change them.",
        SandboxMode::WorkspaceWrite => "Commands can change files only inside the repository.",
        SandboxMode::DangerFullAccess => "Commands run without restrictions.",
    };
    let network = if config.network_access || config.sandbox_mode == SandboxMode::DangerFullAccess {
        ""
    } else {
        " There is no network."
    };
    format!("<permissions instructions>{writes}{network}</permissions instructions>")
}

pub fn environment_context(config: &Config, shell: &str, date: &str) -> String {
    let shell_name = std::path::Path::new(shell)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| shell.to_string());
    let network = match config.sandbox_mode {
        SandboxMode::DangerFullAccess => "enabled",
        SandboxMode::WorkspaceWrite if config.network_access => "enabled",
        _ => "restricted",
    };
    format!(
        "<environment_context>\n  <cwd>{}</cwd>\n  <approval_policy>{}</approval_policy>\n  <sandbox_mode>{}</sandbox_mode>\n  <network_access>{network}</network_access>\n  <shell>{shell_name}</shell>\n  <current_date>{date}</current_date>\n</environment_context>",
        config.cwd.display(),
        config.approval_policy.as_str(),
        config.sandbox_mode.as_str(),
    )
}

/// Today's date (UTC) as YYYY-MM-DD, without a date library.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_417), (2025, 11, 25));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
