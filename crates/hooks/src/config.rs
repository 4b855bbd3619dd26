//! Where hooks are configured and how they are read, as Codex reads them.
//!
//! Each config layer can hold hooks in two places, and both are read:
//!
//! * `hooks.json` in the layer's folder: `{"hooks": {"PreToolUse": [ ...groups ]}}`;
//! * the `[hooks]` table of the layer's `config.toml`: `[[hooks.PreToolUse]]`.
//!
//! An event maps to a list of matcher groups, `{matcher, hooks: [handler, ...]}`, and a
//! handler is `{type = "command", command, timeout, async, statusMessage}` (`timeout` in
//! seconds, default 600). wright reads two layers, lowest precedence first, which is also the
//! order hooks are listed and numbered in:
//!
//! 1. the user's: `$WRIGHT_HOME/hooks.json` and `$WRIGHT_HOME/config.toml` (the latter passed
//!    in already parsed);
//! 2. the repository's: `<repo>/.codex/` (Codex's folder, so a repo set up for Codex works
//!    unchanged), then `<repo>/.wright/`, each with `hooks.json` and `config.toml`.
//!
//! Codex parses a layer's hooks all at once and drops the whole file on one bad entry; wright
//! reports a bad event, group or handler as a warning and keeps the rest. A file that cannot
//! be read or parsed at all is an error for that file only. Nothing here fails the caller.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::HookEvent;
use crate::matcher::Matcher;
use crate::trust::definition_hash;
use crate::wire::{HookErrorInfo, HookSource};

/// Codex's default and floor for `timeout` (seconds).
pub const DEFAULT_TIMEOUT_SEC: u64 = 600;

/// A `hooks.json` file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HooksFile {
    /// Event name (`PreToolUse`, ...) to its matcher groups.
    #[serde(default)]
    pub hooks: BTreeMap<String, Vec<MatcherGroup>>,
}

/// One matcher group: the handlers that run when `matcher` selects the event's subject.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatcherGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
    #[serde(default)]
    pub hooks: Vec<HandlerConfig>,
}

/// One handler as written. Only `command` handlers run; Codex reads `prompt` and `agent` and
/// skips them with a warning, and so does wright.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum HandlerConfig {
    #[serde(rename = "command")]
    Command {
        command: String,
        /// Seconds; absent means [`DEFAULT_TIMEOUT_SEC`], and 0 counts as 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<u64>,
        #[serde(default, rename = "async")]
        is_async: bool,
        #[serde(
            default,
            rename = "statusMessage",
            skip_serializing_if = "Option::is_none"
        )]
        status_message: Option<String>,
    },
    #[serde(rename = "prompt")]
    Prompt {},
    #[serde(rename = "agent")]
    Agent {},
}

/// A hook's stable identity: `<source path>:<event key>:<group index>:<handler index>`,
/// Codex's hook key. It names the hook's place; what the hook does is its hash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HookId(pub String);

impl std::fmt::Display for HookId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What to run: a shell command line and how long it may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandHandler {
    pub command: String,
    pub timeout_sec: u64,
}

/// One runnable hook, with where it came from.
#[derive(Debug, Clone)]
pub struct ConfiguredHook {
    pub id: HookId,
    pub event: HookEvent,
    /// The matcher as written (`None` for events that ignore matchers).
    pub matcher: Option<String>,
    pub(crate) compiled: Matcher,
    pub handler: CommandHandler,
    pub status_message: Option<String>,
    pub source: HookSource,
    /// The `hooks.json` or `config.toml` it was read from.
    pub source_path: PathBuf,
    /// Position among all discovered hooks (user before project), as Codex numbers them.
    pub display_order: i64,
    /// `sha256:<hex>` of the definition; trust is recorded against it.
    pub hash: String,
}

impl ConfiguredHook {
    /// Whether this hook applies to `matcher_input` (tool name, session source or trigger).
    pub fn matches(&self, matcher_input: Option<&str>) -> bool {
        self.compiled.is_match(matcher_input)
    }
}

/// Everything discovered: hooks in display order, and what was wrong.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    pub hooks: Vec<ConfiguredHook>,
    /// Per-entry problems; the entry was skipped (or, for a bad matcher, never matches).
    pub warnings: Vec<String>,
    /// Files that could not be read or parsed at all.
    pub errors: Vec<HookErrorInfo>,
}

/// Reads the user's and the repository's hooks (see the module docs for the places).
///
/// `user_config` is `$WRIGHT_HOME/config.toml` as already parsed by the caller; the other
/// files are read here, off the async threads.
pub async fn discover(
    wright_home: &Path,
    user_config: Option<&toml::Value>,
    repo_root: Option<&Path>,
) -> Discovered {
    let mut found = Discovered::default();
    let user_toml = user_config.map(|config| (wright_home.join("config.toml"), config.clone()));
    load_layer(&mut found, HookSource::User, wright_home, user_toml).await;
    if let Some(repo) = repo_root {
        for folder in [".codex", ".wright"] {
            let dir = repo.join(folder);
            let toml_path = dir.join("config.toml");
            let project_toml = match read_optional(&toml_path).await {
                Ok(None) => None,
                Ok(Some(text)) => match text.parse::<toml::Value>() {
                    Ok(value) => Some((toml_path, value)),
                    Err(err) => {
                        found.error(&toml_path, format!("failed to parse config: {err}"));
                        None
                    }
                },
                Err(err) => {
                    found.error(&toml_path, format!("failed to read config: {err}"));
                    None
                }
            };
            load_layer(&mut found, HookSource::Project, &dir, project_toml).await;
        }
    }
    found
}

async fn load_layer(
    found: &mut Discovered,
    source: HookSource,
    dir: &Path,
    config_toml: Option<(PathBuf, toml::Value)>,
) {
    let json_path = dir.join("hooks.json");
    let json_hooks = match read_optional(&json_path).await {
        Ok(None) => None,
        Ok(Some(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(value) => match value {
                Value::Object(mut file) => file.remove("hooks"),
                _ => {
                    found.error(&json_path, "failed to parse hooks config: not an object");
                    None
                }
            },
            Err(err) => {
                found.error(&json_path, format!("failed to parse hooks config: {err}"));
                None
            }
        },
        Err(err) => {
            found.error(&json_path, format!("failed to read hooks config: {err}"));
            None
        }
    };
    let toml_hooks = config_toml.and_then(|(path, config)| {
        let hooks = config.get("hooks")?.clone();
        // TOML and JSON have the same data model for everything hooks use.
        match serde_json::to_value(hooks) {
            Ok(value) => Some((path, value)),
            Err(err) => {
                found.error(&path, format!("failed to parse TOML hooks: {err}"));
                None
            }
        }
    });
    let has_hooks = |value: &Value| {
        value
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k != "state"))
    };
    if let (Some(json), Some((toml_path, toml))) = (&json_hooks, &toml_hooks) {
        if has_hooks(json) && has_hooks(toml) {
            found.warnings.push(format!(
                "loading hooks from both {} and {}; prefer a single representation for this layer",
                json_path.display(),
                toml_path.display()
            ));
        }
    }
    if let Some(json) = json_hooks {
        parse_hooks(found, source, &json_path, &json);
    }
    if let Some((toml_path, toml)) = toml_hooks {
        parse_hooks(found, source, &toml_path, &toml);
    }
}

/// Reads `path`, `Ok(None)` when there is no such file.
async fn read_optional(path: &Path) -> std::io::Result<Option<String>> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

impl Discovered {
    fn error(&mut self, path: &Path, message: impl Into<String>) {
        self.errors.push(HookErrorInfo {
            path: path.display().to_string(),
            message: message.into(),
        });
    }
}

/// Adds the hooks of one `hooks` value (the object under `hooks` in `hooks.json`, or the
/// `[hooks]` table of `config.toml` as JSON) read from `source_path`. Display order continues
/// from what `found` already holds.
pub fn parse_hooks(found: &mut Discovered, source: HookSource, source_path: &Path, hooks: &Value) {
    let where_ = source_path.display();
    let Some(events) = hooks.as_object() else {
        found.warnings.push(format!(
            "hooks in {where_} must be a table of events; ignored"
        ));
        return;
    };
    for name in events.keys() {
        // `state` is Codex's per-hook enablement/trust table inside `[hooks]`, not an event.
        if name != "state" && HookEvent::from_config_name(name).is_none() {
            found
                .warnings
                .push(format!("unknown hook event {name:?} in {where_}; ignored"));
        }
    }
    // Walk events in Codex's fixed order, not file order, so numbering is stable.
    for event in HookEvent::ALL {
        let Some(groups) = events.get(event.config_name()) else {
            continue;
        };
        let Some(groups) = groups.as_array() else {
            found.warnings.push(format!(
                "{event} in {where_} must be a list of matcher groups; ignored"
            ));
            continue;
        };
        for (group_index, group) in groups.iter().enumerate() {
            parse_group(found, source, source_path, event, group_index, group);
        }
    }
}

fn parse_group(
    found: &mut Discovered,
    source: HookSource,
    source_path: &Path,
    event: HookEvent,
    group_index: usize,
    group: &Value,
) {
    let where_ = format!("{} ({event}[{group_index}])", source_path.display());
    let Some(group) = group.as_object() else {
        found
            .warnings
            .push(format!("skipping matcher group in {where_}: not a table"));
        return;
    };
    let matcher = match group.get("matcher") {
        None | Some(Value::Null) => None,
        Some(Value::String(matcher)) => Some(matcher.clone()),
        Some(other) => {
            found.warnings.push(format!(
                "skipping matcher group in {where_}: matcher must be a string, not {other}"
            ));
            return;
        }
    };
    // Events without matchers run every hook; Codex drops (and never validates) the pattern.
    let matcher = matcher.filter(|_| event.uses_matcher());
    let (compiled, error) = Matcher::compile_or_never(matcher.as_deref());
    if let Some(error) = error {
        found
            .warnings
            .push(format!("{error} in {where_}; its hooks never run"));
    }
    let handlers = match group.get("hooks") {
        None => return,
        Some(Value::Array(handlers)) => handlers,
        Some(_) => {
            found.warnings.push(format!(
                "skipping matcher group in {where_}: hooks must be a list"
            ));
            return;
        }
    };
    for (handler_index, handler) in handlers.iter().enumerate() {
        let at = format!("{where_}.hooks[{handler_index}]");
        let handler = match HandlerConfig::deserialize(handler) {
            Ok(handler) => handler,
            Err(err) => {
                found.warnings.push(format!("skipping hook in {at}: {err}"));
                continue;
            }
        };
        let (command, timeout, status_message) = match handler {
            HandlerConfig::Command { is_async: true, .. } => {
                found.warnings.push(format!(
                    "skipping hook in {at}: async hooks are not supported yet"
                ));
                continue;
            }
            HandlerConfig::Command {
                command,
                timeout,
                status_message,
                ..
            } => (command, timeout, status_message),
            HandlerConfig::Prompt {} => {
                found.warnings.push(format!(
                    "skipping prompt hook in {at}: prompt hooks are not supported yet"
                ));
                continue;
            }
            HandlerConfig::Agent {} => {
                found.warnings.push(format!(
                    "skipping agent hook in {at}: agent hooks are not supported yet"
                ));
                continue;
            }
        };
        if command.trim().is_empty() {
            found
                .warnings
                .push(format!("skipping empty hook command in {at}"));
            continue;
        }
        let handler = CommandHandler {
            command,
            timeout_sec: timeout.unwrap_or(DEFAULT_TIMEOUT_SEC).max(1),
        };
        let id = HookId(format!(
            "{}:{}:{group_index}:{handler_index}",
            source_path.display(),
            event.key_label()
        ));
        let hash = definition_hash(
            event,
            matcher.as_deref(),
            &handler,
            status_message.as_deref(),
            source_path,
        );
        let display_order = i64::try_from(found.hooks.len()).unwrap_or(i64::MAX);
        found.hooks.push(ConfiguredHook {
            id,
            event,
            matcher: matcher.clone(),
            compiled: compiled.clone(),
            handler,
            status_message,
            source,
            source_path: source_path.to_path_buf(),
            display_order,
            hash,
        });
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
