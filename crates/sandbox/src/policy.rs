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
    /// May the command use the network? Off means: no socket reaches anything outside the
    /// sandbox (its own loopback and socketpairs still work).
    pub network: bool,
    /// Caps on processes and memory.
    #[serde(default, skip_serializing_if = "Limits::is_default")]
    pub limits: Limits,
    /// More paths that stay read-only when they lie inside a writable root: wright's own home
    /// (its config and rules) and binaries. Missing ones are skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<PathBuf>,
    /// Print one line per missing layer (what is missing and what that exposes) before the
    /// command runs. The agent sets this on the first command of a session.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub announce: bool,
}

/// Resource caps for everything one command starts (`[sandbox_limits]` in config.toml).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most processes and threads alive at once (`None`: [`Limits::DEFAULT_PROCESSES`]; 0: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_processes: Option<u64>,
    /// Most memory in bytes (`None`: [`Limits::default_memory`]; 0: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_bytes: Option<u64>,
}

impl Limits {
    /// Enough for a parallel build with threaded compilers and test runners; a fork bomb
    /// stops here.
    pub const DEFAULT_PROCESSES: u64 = 4096;

    fn is_default(&self) -> bool {
        *self == Limits::default()
    }

    /// The process cap in force (0 = none).
    pub fn processes(&self) -> u64 {
        self.max_processes.unwrap_or(Self::DEFAULT_PROCESSES)
    }

    /// The memory cap in force (0 = none).
    pub fn memory(&self) -> u64 {
        self.max_memory_bytes.unwrap_or_else(Self::default_memory)
    }

    /// Three quarters of physical memory, so a runaway build leaves the machine usable.
    pub fn default_memory() -> u64 {
        Self::physical_memory() / 4 * 3
    }

    /// Physical memory in bytes (0 if unknown).
    pub fn physical_memory() -> u64 {
        let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if pages <= 0 || page <= 0 {
            return 0;
        }
        (pages as u64).saturating_mul(page as u64)
    }
}

impl SandboxPolicy {
    /// Subdirectories of a writable root that stay read-only.
    pub const PROTECTED_NAMES: [&'static str; 3] = [".git", ".wright", ".codex"];

    /// A policy with default limits.
    pub fn new(mode: Mode, writable_roots: Vec<PathBuf>, network: bool) -> Self {
        SandboxPolicy {
            mode,
            writable_roots,
            network,
            limits: Limits::default(),
            protected: Vec::new(),
            announce: false,
        }
    }

    /// The writable roots that apply to this mode (none unless workspace-write).
    pub fn effective_writable_roots(&self) -> &[PathBuf] {
        match self.mode {
            Mode::WorkspaceWrite => &self.writable_roots,
            _ => &[],
        }
    }

    /// Network access in force: never in read-only, always in danger-full-access.
    pub fn effective_network(&self) -> bool {
        match self.mode {
            Mode::ReadOnly => false,
            Mode::WorkspaceWrite => self.network,
            Mode::DangerFullAccess => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_uses_kebab_case() {
        let p = SandboxPolicy::new(Mode::WorkspaceWrite, vec!["/w".into()], false);
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

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn read_only_never_has_network() {
        let p = SandboxPolicy::new(Mode::ReadOnly, vec![], true);
        assert!(!p.effective_network());
        let p = SandboxPolicy::new(Mode::WorkspaceWrite, vec![], true);
        assert!(p.effective_network());
        let p = SandboxPolicy::new(Mode::DangerFullAccess, vec![], false);
        assert!(p.effective_network());
    }

    #[test]
    fn limits_default_and_parse() {
        let p: SandboxPolicy =
            serde_json::from_str(r#"{"mode":"read-only","writable_roots":[],"network":false}"#)
                .unwrap();
        assert_eq!(p.limits.processes(), Limits::DEFAULT_PROCESSES);
        assert!(p.limits.memory() > 0);
        let p: SandboxPolicy = serde_json::from_str(
            r#"{"mode":"read-only","writable_roots":[],"network":false,"limits":{"max_processes":0,"max_memory_bytes":1048576}}"#,
        )
        .unwrap();
        assert_eq!(p.limits.processes(), 0);
        assert_eq!(p.limits.memory(), 1 << 20);
    }
}
