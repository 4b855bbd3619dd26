//! Which hooks the user has agreed to run.
//!
//! A repository can ship hooks (`.codex/hooks.json`), and cloning a repository must not be
//! enough to run its commands on the user's machine. So a project hook runs only once the
//! user trusts it, and trust is recorded against a hash of what the hook does: event,
//! matcher, command, timeout, status message and the file it came from. Editing any of these
//! gives a new hash, and the hook is `modified` (untrusted) until trusted again. This is
//! Codex's model (`trusted_hash` per hook key, statuses `untrusted`/`trusted`/`modified`);
//! Codex keeps the hashes in `config.toml` (`[hooks.state]`), wright in its own file,
//! `$WRIGHT_HOME/hooks-trust.json`:
//!
//! ```json
//! {"version": 1, "trusted": {"<hook id>": "sha256:<hex>"}}
//! ```
//!
//! Codex asks for trust for user-layer hooks too. wright by default does not: the user wrote
//! those files themselves ([`TrustPolicy::require_for_user_hooks`] restores Codex's rule).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::config::{CommandHandler, ConfiguredHook, HookId};
use crate::event::HookEvent;
use crate::wire::{HookSource, HookTrustStatus};

/// The file name under `$WRIGHT_HOME`.
pub const TRUST_FILE: &str = "hooks-trust.json";

/// Which hooks need the user's trust before they run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    /// Also ask for user-layer hooks, as Codex does (default: only project hooks).
    pub require_for_user_hooks: bool,
}

/// A failure to read or write the trust file.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid hook trust file: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no hook with id {0}")]
    UnknownHook(HookId),
    #[error("trust file task failed: {0}")]
    Task(String),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TrustFile {
    version: u32,
    #[serde(default)]
    trusted: BTreeMap<String, String>,
}

/// The recorded trust, loaded from `$WRIGHT_HOME/hooks-trust.json`.
#[derive(Debug, Clone)]
pub struct TrustStore {
    path: PathBuf,
    trusted: BTreeMap<String, String>,
    policy: TrustPolicy,
}

impl TrustStore {
    /// Loads the trust file under `wright_home` (none yet: nothing trusted).
    pub async fn load(wright_home: &Path, policy: TrustPolicy) -> Result<TrustStore, TrustError> {
        let path = wright_home.join(TRUST_FILE);
        let trusted = read_file(&path).await?.trusted;
        Ok(TrustStore {
            path,
            trusted,
            policy,
        })
    }

    /// A store that trusts nothing and writes to `path` (for callers without a home).
    pub fn empty(path: PathBuf, policy: TrustPolicy) -> TrustStore {
        TrustStore {
            path,
            trusted: BTreeMap::new(),
            policy,
        }
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `hook` may run as it is now, and if not, why.
    pub fn status(&self, hook: &ConfiguredHook) -> HookTrustStatus {
        if hook.source == HookSource::User && !self.policy.require_for_user_hooks {
            return HookTrustStatus::Trusted;
        }
        match self.trusted.get(&hook.id.0) {
            Some(hash) if *hash == hook.hash => HookTrustStatus::Trusted,
            Some(_) => HookTrustStatus::Modified,
            None => HookTrustStatus::Untrusted,
        }
    }

    /// Records `hooks` as trusted in their current form and saves the file.
    ///
    /// The file is re-read first so that trust given by another session meanwhile is kept,
    /// then replaced atomically (a temporary file renamed over it), mode 0600.
    pub async fn trust(&mut self, hooks: &[&ConfiguredHook]) -> Result<(), TrustError> {
        let path = self.path.clone();
        let additions: Vec<(String, String)> = hooks
            .iter()
            .map(|hook| (hook.id.0.clone(), hook.hash.clone()))
            .collect();
        let merged = tokio::task::spawn_blocking(move || -> Result<_, TrustError> {
            let mut file = match std::fs::read_to_string(&path) {
                Ok(text) => parse(&path, &text)?,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => TrustFile::default(),
                Err(source) => return Err(TrustError::Read { path, source }),
            };
            file.version = 1;
            file.trusted.extend(additions);
            write_atomically(&path, &file)?;
            Ok(file.trusted)
        })
        .await
        .map_err(|err| TrustError::Task(err.to_string()))??;
        self.trusted = merged;
        Ok(())
    }
}

async fn read_file(path: &Path) -> Result<TrustFile, TrustError> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => parse(path, &text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(TrustFile::default()),
        Err(source) => Err(TrustError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse(path: &Path, text: &str) -> Result<TrustFile, TrustError> {
    serde_json::from_str(text).map_err(|source| TrustError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

fn write_atomically(path: &Path, file: &TrustFile) -> Result<(), TrustError> {
    let err = |source| TrustError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut text = serde_json::to_vec_pretty(file).map_err(|e| err(std::io::Error::other(e)))?;
    text.push(b'\n');
    // A unique name in the same directory, so the rename is atomic and concurrent writers do
    // not clobber each other's half-written file.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{TRUST_FILE}.{}.{nanos}.tmp", std::process::id()));
    let result = (|| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        out.write_all(&text)?;
        out.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// The hash a hook's trust is recorded against: SHA-256 of the canonical JSON (keys sorted,
/// no spaces) of its definition, as `sha256:<hex>`. Like Codex, the handler is normalized
/// first (the timeout as it will be used), so equivalent TOML and JSON spellings agree.
pub fn definition_hash(
    event: HookEvent,
    matcher: Option<&str>,
    handler: &CommandHandler,
    status_message: Option<&str>,
    source_path: &Path,
) -> String {
    let mut hook = Map::new();
    hook.insert("type".into(), json!("command"));
    hook.insert("command".into(), json!(handler.command));
    hook.insert("timeout".into(), json!(handler.timeout_sec));
    hook.insert("async".into(), json!(false));
    if let Some(message) = status_message {
        hook.insert("statusMessage".into(), json!(message));
    }
    let mut identity = Map::new();
    identity.insert("event_name".into(), json!(event.key_label()));
    if let Some(matcher) = matcher {
        identity.insert("matcher".into(), json!(matcher));
    }
    identity.insert("hooks".into(), Value::Array(vec![Value::Object(hook)]));
    identity.insert(
        "source_path".into(),
        json!(source_path.display().to_string()),
    );
    let canonical = canonical_json(&Value::Object(identity));
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    let hex: String = digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Serializes with object keys sorted at every level (serde_json keeps insertion order here).
fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|key| {
                    format!(
                        "{}:{}",
                        Value::String(key.clone()),
                        canonical_json(&map[key.as_str()])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(command: &str, timeout_sec: u64, matcher: Option<&str>, path: &str) -> String {
        definition_hash(
            HookEvent::PreToolUse,
            matcher,
            &CommandHandler {
                command: command.into(),
                timeout_sec,
            },
            None,
            Path::new(path),
        )
    }

    #[test]
    fn hash_covers_every_part_of_the_definition() {
        let base = hash("a", 5, Some("Bash"), "/r/.codex/hooks.json");
        assert!(base.starts_with("sha256:") && base.len() == 7 + 64);
        assert_eq!(base, hash("a", 5, Some("Bash"), "/r/.codex/hooks.json"));
        assert_ne!(base, hash("b", 5, Some("Bash"), "/r/.codex/hooks.json"));
        assert_ne!(base, hash("a", 6, Some("Bash"), "/r/.codex/hooks.json"));
        assert_ne!(base, hash("a", 5, None, "/r/.codex/hooks.json"));
        assert_ne!(base, hash("a", 5, Some("Bash"), "/r/.wright/hooks.json"));
        let other_event = definition_hash(
            HookEvent::PostToolUse,
            Some("Bash"),
            &CommandHandler {
                command: "a".into(),
                timeout_sec: 5,
            },
            None,
            Path::new("/r/.codex/hooks.json"),
        );
        assert_ne!(base, other_event);
    }

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let value = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": "x"}], "c": null}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":null,"d":[1,{"y":"x","z":0}]},"b":1}"#
        );
    }
}
