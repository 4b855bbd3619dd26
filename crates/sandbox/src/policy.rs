//! The policy a sandboxed command runs under (serialized as JSON on the `wright sandbox`
//! command line).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How much of the machine a command may change.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Read (and execute) everything, write nothing but `/dev/null` and friends.
    ReadOnly,
    /// Like read-only, plus writes beneath the writable roots (except their `.git`, `.wright`
    /// and `.codex`, which stay read-only).
    WorkspaceWrite,
    /// No confinement at all.
    DangerFullAccess,
}

impl Mode {
    /// The kebab-case name (`read-only`, ...), as on the command line and in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::WorkspaceWrite => "workspace-write",
            Mode::DangerFullAccess => "danger-full-access",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read-only" => Ok(Mode::ReadOnly),
            "workspace-write" => Ok(Mode::WorkspaceWrite),
            "danger-full-access" => Ok(Mode::DangerFullAccess),
            other => Err(format!(
                "unknown sandbox mode `{other}` (expected read-only, workspace-write or danger-full-access)"
            )),
        }
    }
}

/// What a sandboxed command may do.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SandboxPolicy {
    pub mode: Mode,
    /// Absolute directories the command may write beneath (workspace-write only; ignored
    /// otherwise). The caller includes the cwd and the temp dirs. Roots that do not exist are
    /// skipped.
    pub writable_roots: Vec<PathBuf>,
    /// May the command use the network (any non-Unix socket)?
    pub network: bool,
}

impl SandboxPolicy {
    /// Subdirectories of a writable root that stay read-only.
    pub const PROTECTED_NAMES: [&'static str; 3] = [".git", ".wright", ".codex"];

    /// The writable roots that apply to this mode (none unless workspace-write).
    pub fn effective_writable_roots(&self) -> &[PathBuf] {
        match self.mode {
            Mode::WorkspaceWrite => &self.writable_roots,
            _ => &[],
        }
    }

    /// The protected paths (`<root>/.git`, ...) that exist right now.
    pub fn existing_protected_paths(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for root in self.effective_writable_roots() {
            for name in Self::PROTECTED_NAMES {
                let p = root.join(name);
                if std::fs::symlink_metadata(&p).is_ok() && !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_uses_kebab_case() {
        let p = SandboxPolicy {
            mode: Mode::WorkspaceWrite,
            writable_roots: vec!["/w".into()],
            network: false,
        };
        let s = serde_json::to_string(&p).unwrap();
        assert_eq!(
            s,
            r#"{"mode":"workspace-write","writable_roots":["/w"],"network":false}"#
        );
        assert_eq!(serde_json::from_str::<SandboxPolicy>(&s).unwrap(), p);
        for m in [Mode::ReadOnly, Mode::WorkspaceWrite, Mode::DangerFullAccess] {
            assert_eq!(m.as_str().parse::<Mode>().unwrap(), m);
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
        }
    }
}
