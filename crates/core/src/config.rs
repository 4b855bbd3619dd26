//! `config.toml` with Codex's keys, profiles and `-c key=value` overrides.
//!
//! Precedence, highest first: command-line flags, `-c` overrides, the selected profile, the file,
//! built-in defaults. Layers are merged as TOML tables first and typed once at the end, so a
//! wrong type is reported with the full dotted key wherever it came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use wright_models::{Provider, WireApi};

pub use crate::config_layers::parse_override;
use crate::config_layers::LayerStack;
use crate::local_model;

pub const DEFAULT_MODEL: &str = "gpt-5.5";
pub const OPENAI_PROVIDER_ID: &str = "openai";
const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key `{key}`: {message}")]
    Type { key: String, message: String },
    #[error("invalid override `{0}`: expected key=value")]
    Override(String),
    #[error("config profile `{0}` not found")]
    UnknownProfile(String),
    #[error("model_provider `{0}` is not defined in [model_providers]")]
    UnknownProvider(String),
    #[error("model_providers.{id}.wire_api: unknown value `{value}`, expected \"responses\" or \"chat\"")]
    WireApi { id: String, value: String },
    #[error("cannot find a home directory: set WRIGHT_HOME or HOME")]
    NoHome,
    #[error("{0}")]
    Rules(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    #[default]
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
}

impl SandboxMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxMode::ReadOnly => "read-only",
            SandboxMode::WorkspaceWrite => "workspace-write",
            SandboxMode::DangerFullAccess => "danger-full-access",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalPolicy {
    Untrusted,
    OnFailure,
    OnRequest,
    #[default]
    Never,
}

impl ApprovalPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalPolicy::Untrusted => "untrusted",
            ApprovalPolicy::OnFailure => "on-failure",
            ApprovalPolicy::OnRequest => "on-request",
            ApprovalPolicy::Never => "never",
        }
    }
}

/// The file's shape. Every field is optional: absent means "use the default".
#[derive(Debug, Default, Deserialize)]
struct ConfigToml {
    model: Option<String>,
    model_provider: Option<String>,
    model_providers: Option<BTreeMap<String, ProviderToml>>,
    profile: Option<String>,
    profiles: Option<BTreeMap<String, toml::Table>>,
    approval_policy: Option<ApprovalPolicy>,
    sandbox_mode: Option<SandboxMode>,
    model_reasoning_effort: Option<String>,
    model_reasoning_summary: Option<String>,
    model_verbosity: Option<String>,
    model_context_window: Option<u64>,
    model_auto_compact_token_limit: Option<u64>,
    instructions: Option<String>,
    developer_instructions: Option<String>,
    model_instructions_file: Option<PathBuf>,
    tool_output_token_limit: Option<usize>,
    openai_base_url: Option<String>,
    /// Kill a command after this long unless the call sets its own timeout (wright's own key).
    shell_timeout_ms: Option<u64>,
    /// Stored threads untouched this long are deleted (wright's own key; 0 keeps them).
    thread_retention_days: Option<u64>,
    /// At most this many stored threads are kept, newest first (wright's own key).
    max_threads: Option<usize>,
    // Accepted now, used by later features; listed so they do not warn as unknown.
    project_doc_max_bytes: Option<usize>,
    project_doc_fallback_filenames: Option<Vec<String>>,
    compact_prompt: Option<String>,
    notify: Option<Vec<String>>,
    sandbox_workspace_write: Option<SandboxWorkspaceWriteToml>,
    /// Caps on every sandboxed command (wright's own key).
    sandbox_limits: Option<SandboxLimitsToml>,
    shell_environment_policy: Option<crate::env_policy::EnvPolicy>,
    tools: Option<toml::Table>,
    features: Option<toml::Table>,
    mcp_servers: Option<toml::Table>,
    web_search: Option<toml::Value>,
    hide_agent_reasoning: Option<bool>,
    show_raw_agent_reasoning: Option<bool>,
    skills: Option<SkillsToml>,
    /// Lifecycle hooks (read by `wright-hooks`, which reports its own problems).
    hooks: Option<toml::Value>,
    /// Cloud environments (read by `wright-cloud`, which reports its own problems).
    cloud: Option<toml::Value>,
    /// Sub-agents' limits: typed here so a misspelt key warns; `sub_agents::AgentLimits` reads
    /// them from the effective table, where a thread's own overrides are too.
    #[allow(dead_code)]
    agents: Option<AgentsToml>,
}

/// `[agents]`: Codex's keys for sub-agents; typed here so a misspelt key warns.
#[derive(Debug, Default, Deserialize)]
#[allow(dead_code)]
struct AgentsToml {
    max_threads: Option<toml::Value>,
    max_depth: Option<toml::Value>,
    job_max_runtime_seconds: Option<toml::Value>,
}

/// `[skills]`: Codex's table, plus wright's `include_claude`.
#[derive(Debug, Default, Deserialize)]
struct SkillsToml {
    /// Also read Claude Code's `.claude/skills` folders.
    #[serde(default)]
    include_claude: bool,
    #[serde(flatten)]
    codex: wright_skills::SkillsConfig,
}

#[derive(Debug, Default, Deserialize)]
struct SandboxWorkspaceWriteToml {
    #[serde(default)]
    writable_roots: Vec<PathBuf>,
    #[serde(default)]
    network_access: bool,
    #[serde(default)]
    exclude_tmpdir_env_var: bool,
    #[serde(default)]
    exclude_slash_tmp: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SandboxLimitsToml {
    /// Processes and threads alive at once (0: no cap).
    max_processes: Option<u64>,
    /// Bytes, or a string with a K/M/G/T suffix (`"8G"`), or a share of RAM (`"50%"`); 0: no cap.
    max_memory: Option<toml::Value>,
}

/// `"8G"`, `"512M"`, `"50%"`, `1073741824`.
fn parse_memory(v: &toml::Value) -> Result<u64, String> {
    match v {
        toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        toml::Value::String(s) => {
            let s = s.trim();
            if let Some(pct) = s.strip_suffix('%') {
                let pct: u64 = pct
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{s}` is not a percentage"))?;
                if pct == 0 || pct > 100 {
                    return Err(format!("`{s}`: a share of memory is 1% to 100%"));
                }
                let total = wright_sandbox::Limits::physical_memory();
                return Ok(total / 100 * pct);
            }
            let (num, mult) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
                Some((i, _)) => {
                    let mult: u64 = match s[i..].to_ascii_uppercase().trim_end_matches(['B', 'I']) {
                        "K" => 1 << 10,
                        "M" => 1 << 20,
                        "G" => 1 << 30,
                        "T" => 1 << 40,
                        "" => 1,
                        _ => return Err(format!("`{s}`: unknown unit (use K, M, G or T)")),
                    };
                    (&s[..i], mult)
                }
                None => (s, 1),
            };
            let n: u64 = num
                .trim()
                .parse()
                .map_err(|_| format!("`{s}` is not a size"))?;
            Ok(n.saturating_mul(mult))
        }
        other => Err(format!("expected bytes or a size string, found {other}")),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ProviderToml {
    name: Option<String>,
    base_url: Option<String>,
    wire_api: Option<String>,
    env_key: Option<String>,
    env_key_instructions: Option<String>,
    query_params: Option<BTreeMap<String, String>>,
    http_headers: Option<BTreeMap<String, String>>,
    env_http_headers: Option<BTreeMap<String, String>>,
    request_max_retries: Option<u32>,
    stream_max_retries: Option<u32>,
    stream_idle_timeout_ms: Option<u64>,
    requires_openai_auth: Option<bool>,
}

/// A provider wright can talk to.
#[derive(Debug, Clone)]
pub struct ProviderEntry {
    pub provider: Provider,
    /// Authenticates with the user's OpenAI credentials (`CODEX_API_KEY`, `OPENAI_API_KEY` or
    /// the key stored in `$WRIGHT_HOME/auth.json`) rather than a variable of its own.
    pub openai_auth: bool,
}

/// Values from the command line that beat everything else.
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub model: Option<String>,
    pub profile: Option<String>,
    pub sandbox_mode: Option<SandboxMode>,
    pub cwd: Option<PathBuf>,
    /// `-c key=value` pairs, in the order given (later wins).
    pub config: Vec<String>,
    /// `--add-dir`: more writable roots.
    pub add_dirs: Vec<PathBuf>,
    /// The `wright` binary that confines commands (`wright sandbox`); the CLI sets it.
    pub sandbox_exe: Option<PathBuf>,
}

/// The effective configuration of a run.
#[derive(Debug, Clone)]
pub struct Config {
    pub wright_home: PathBuf,
    pub model: String,
    pub provider_id: String,
    pub provider: Provider,
    /// The embedded model was chosen because nothing else was configured (announce it).
    pub local_by_default: bool,
    /// Every usable provider by id: the built-in `openai` and each complete
    /// `[model_providers.*]` (the one in use included).
    pub providers: BTreeMap<String, ProviderEntry>,
    pub cwd: PathBuf,
    pub sandbox_mode: SandboxMode,
    /// Writable in `workspace-write`, besides the cwd (sorted, no duplicates): temp dirs,
    /// `sandbox_workspace_write.writable_roots` and `--add-dir`.
    pub writable_roots: Vec<PathBuf>,
    /// The roots that do not come from the cwd (temp dirs, configured roots, `--add-dir`):
    /// they stay when a turn moves the cwd.
    pub extra_writable_roots: Vec<PathBuf>,
    /// `sandbox_workspace_write.network_access` (never in force in read-only).
    pub network_access: bool,
    /// `[sandbox_limits]`.
    pub sandbox_limits: wright_sandbox::Limits,
    pub approval_policy: ApprovalPolicy,
    pub model_reasoning_effort: Option<String>,
    pub model_reasoning_summary: Option<String>,
    pub model_verbosity: Option<String>,
    /// Replaces the built-in base instructions when set.
    pub base_instructions: Option<String>,
    pub developer_instructions: Option<String>,
    pub tool_output_token_limit: usize,
    pub shell_timeout: Duration,
    /// Overrides the catalog's context window for the model.
    pub model_context_window: Option<u64>,
    /// Compact the history once a request reaches this many tokens (default: 90 % of the window).
    pub model_auto_compact_token_limit: Option<u64>,
    pub project_doc_max_bytes: usize,
    pub project_doc_fallback_filenames: Vec<String>,
    /// Replaces the built-in compaction prompt.
    pub compact_prompt: Option<String>,
    /// Which environment variables commands get.
    pub shell_environment_policy: crate::env_policy::EnvPolicy,
    /// `$WRIGHT_HOME/rules/*.toml`.
    pub exec_policy: crate::exec_policy::ExecPolicy,
    /// Stored threads untouched this many days are pruned (`None`: never).
    pub thread_retention_days: Option<u64>,
    pub max_threads: usize,
    pub sandbox_exe: Option<PathBuf>,
    /// Problems worth telling the user about that do not stop the run (unknown keys, ...).
    pub warnings: Vec<String>,
    /// `[mcp_servers.*]` that parsed (bad ones are in `warnings`).
    pub mcp_servers: wright_mcp::McpServers,
    /// `[skills]`: per-skill switches, bundled skills, whether the model gets the list.
    pub skills: wright_skills::SkillsConfig,
    /// `skills.include_claude`: Claude Code's skill folders too.
    pub skills_include_claude: bool,
    /// More user skill roots (the App Server's `skills/extraRoots/set`).
    pub skills_extra_roots: Vec<PathBuf>,
    /// The user's `[hooks]` table, as written.
    pub hooks: Option<toml::Value>,
    /// The `[cloud]` table, as written (`wright cloud`).
    pub cloud: Option<toml::Value>,
    /// Dotted keys that are set but that wright does not act on: unknown keys, and Codex keys
    /// accepted so a Codex config loads. Each has its entry in `warnings` naming it.
    pub unused_keys: Vec<String>,
}

pub const DEFAULT_TOOL_OUTPUT_TOKEN_LIMIT: usize = 10_000;
pub const DEFAULT_SHELL_TIMEOUT: Duration = Duration::from_secs(600);
pub const DEFAULT_THREAD_RETENTION_DAYS: u64 = 90;
pub const DEFAULT_MAX_THREADS: usize = 10_000;

/// `$WRIGHT_HOME`, else `~/.wright`.
pub fn wright_home() -> Result<PathBuf, ConfigError> {
    if let Some(home) = std::env::var_os("WRIGHT_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".wright"))
        .ok_or(ConfigError::NoHome)
}

impl Config {
    /// Moves the cwd, and the writable root that came from it (a root configured on its own
    /// stays).
    pub fn set_cwd(&mut self, cwd: PathBuf) {
        let old = std::mem::replace(&mut self.cwd, cwd.clone());
        if !self.extra_writable_roots.contains(&old) {
            self.writable_roots.retain(|r| *r != old);
        }
        if !self.writable_roots.contains(&cwd) {
            self.writable_roots.push(cwd);
            self.writable_roots.sort();
        }
    }

    /// Reads `$WRIGHT_HOME/config.toml` (absent is fine) and applies profile and overrides.
    pub fn load(overrides: &CliOverrides) -> Result<Config, ConfigError> {
        let home = wright_home()?;
        let stack = LayerStack::load(&home, overrides)?;
        Self::from_stack(&stack, &home, overrides)
    }

    /// The config for this content of the user's file.
    pub fn from_table(
        table: toml::Table,
        home: &Path,
        overrides: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        let stack = LayerStack::with_user_table(table, home, overrides)?;
        Self::from_stack(&stack, home, overrides)
    }

    /// Types the merge of the layers.
    pub fn from_stack(
        stack: &LayerStack,
        home: &Path,
        overrides: &CliOverrides,
    ) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        let mut unused_keys = Vec::new();
        let value = toml::Value::Table(stack.effective());
        // First pass: collect keys nobody reads. Second pass: the typed read, with error paths.
        let _ = serde_ignored::deserialize(value.clone(), |path| {
            // `?` segments stand for the `Option`s around fields; they are not part of the key.
            let key = path
                .to_string()
                .split('.')
                .filter(|seg| *seg != "?")
                .collect::<Vec<_>>()
                .join(".");
            if !key.starts_with("profiles.") {
                warnings.push(format!("unknown config key `{key}` (ignored)"));
                unused_keys.push(key);
            }
        })
        .map(|_: ConfigToml| ());
        let parsed: ConfigToml =
            serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Type {
                key: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        resolve(parsed, home, overrides, warnings, unused_keys)
    }
}

fn resolve(
    t: ConfigToml,
    home: &Path,
    overrides: &CliOverrides,
    mut warnings: Vec<String>,
    mut unused_keys: Vec<String>,
) -> Result<Config, ConfigError> {
    let stored_key = match crate::auth::stored_api_key(home) {
        Ok(key) => key,
        Err(e) => {
            warnings.push(format!("{e}: the stored API key is not used"));
            None
        }
    };
    let openai_key = pick_openai_key(
        env_value("CODEX_API_KEY"),
        env_value("OPENAI_API_KEY"),
        stored_key,
    );
    // With no provider named, no OpenAI key and no OpenAI endpoint, the model runs inside
    // wright (unless a model that is not a local one was asked for by name).
    let asked_model = overrides.model.clone().or(t.model.clone());
    let local_by_default = t.model_provider.is_none()
        && openai_key.1.is_none()
        && t.openai_base_url.is_none()
        && env_value("OPENAI_BASE_URL").is_none()
        && asked_model
            .as_deref()
            .is_none_or(local_model::is_local_model);
    // A local model asked for by name runs locally whatever else is configured.
    let asked_local = asked_model
        .as_deref()
        .is_some_and(local_model::is_local_model);
    let provider_id = match &t.model_provider {
        Some(id) => id.clone(),
        None if local_by_default || asked_local => local_model::LOCAL_PROVIDER_ID.to_string(),
        None => OPENAI_PROVIDER_ID.to_string(),
    };
    let local_model_name = asked_model
        .clone()
        .filter(|m| local_model::is_local_model(m))
        .unwrap_or_else(|| local_model::DEFAULT_LOCAL_MODEL.to_string());
    let mut providers = BTreeMap::new();
    let configured = t.model_providers.unwrap_or_default();
    if !configured.contains_key(local_model::LOCAL_PROVIDER_ID) {
        providers.insert(
            local_model::LOCAL_PROVIDER_ID.to_string(),
            ProviderEntry {
                provider: local_model::local_provider(&local_model_name),
                openai_auth: false,
            },
        );
    }
    if !configured.contains_key(OPENAI_PROVIDER_ID) {
        providers.insert(
            OPENAI_PROVIDER_ID.to_string(),
            ProviderEntry {
                provider: openai_provider(t.openai_base_url.clone(), &openai_key),
                openai_auth: true,
            },
        );
    }
    for (id, p) in configured {
        match provider_from_toml(&id, p, &openai_key) {
            Ok(entry) => {
                providers.insert(id, entry);
            }
            Err(e) if id == provider_id => return Err(e),
            // Only a provider in use must be complete; the others are left out of lists.
            Err(e) => tracing::debug!("provider `{id}` is not usable: {e}"),
        }
    }
    let Some(entry) = providers.get(&provider_id) else {
        return Err(ConfigError::UnknownProvider(provider_id));
    };
    let provider = entry.provider.clone();
    let openai_auth = entry.openai_auth;
    let base_instructions = match (&t.model_instructions_file, t.instructions) {
        (Some(path), _) => {
            Some(
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?,
            )
        }
        (None, inline) => inline,
    };
    let cwd = match &overrides.cwd {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().map_err(|source| ConfigError::Read {
            path: PathBuf::from("."),
            source,
        })?,
    };
    // Codex keys wright knows but does not act on yet: accepted (so a Codex config loads), and
    // said so, never silently ignored.
    let not_acted_on = [
        ("notify", t.notify.is_some()),
        ("tools", t.tools.is_some()),
        ("features", t.features.is_some()),
        ("web_search", t.web_search.is_some()),
        ("hide_agent_reasoning", t.hide_agent_reasoning.is_some()),
        (
            "show_raw_agent_reasoning",
            t.show_raw_agent_reasoning.is_some(),
        ),
    ];
    for (key, set) in not_acted_on {
        if set {
            warnings.push(format!(
                "config key `{key}` is accepted but not acted on by this version of wright"
            ));
            unused_keys.push(key.to_string());
        }
    }
    // A bad server entry is reported and left out; the others still start.
    let mcp_servers = match &t.mcp_servers {
        None => wright_mcp::McpServers::new(),
        Some(table) => {
            let mut good = wright_mcp::McpServers::new();
            for (name, value) in table {
                match wright_mcp::config::parse_server(name, value) {
                    Ok(server) => {
                        good.insert(name.clone(), server);
                    }
                    Err(problem) => warnings.push(format!(
                        "config key `mcp_servers.{name}`: {problem}; this server is not started"
                    )),
                }
            }
            good
        }
    };
    let _ = (t.profile, t.profiles);
    let skills = t.skills.unwrap_or_default();
    if provider.api_key.is_none() {
        if let Some(var) = &provider.env_key {
            let stored = if openai_auth {
                " and no API key is stored (account/login/start stores one)"
            } else {
                ""
            };
            warnings.push(format!(
                "{var} is not set{stored}: requests to provider `{provider_id}` carry no API key"
            ));
        }
    }
    let sww = t.sandbox_workspace_write.unwrap_or_default();
    let mut extra_writable_roots = Vec::new();
    if !sww.exclude_slash_tmp {
        extra_writable_roots.push(PathBuf::from("/tmp"));
    }
    if !sww.exclude_tmpdir_env_var {
        if let Some(tmp) = std::env::var_os("TMPDIR").filter(|v| !v.is_empty()) {
            extra_writable_roots.push(PathBuf::from(tmp));
        }
    }
    extra_writable_roots.extend(sww.writable_roots);
    extra_writable_roots.extend(overrides.add_dirs.iter().cloned());
    let mut writable_roots = extra_writable_roots.clone();
    writable_roots.push(cwd.clone());
    writable_roots.sort();
    writable_roots.dedup();
    let limits_toml = t.sandbox_limits.unwrap_or_default();
    let sandbox_limits = wright_sandbox::Limits {
        max_processes: limits_toml.max_processes,
        max_memory_bytes: match &limits_toml.max_memory {
            Some(v) => Some(parse_memory(v).map_err(|message| ConfigError::Type {
                key: "sandbox_limits.max_memory".into(),
                message,
            })?),
            None => None,
        },
    };
    Ok(Config {
        wright_home: home.to_path_buf(),
        writable_roots,
        extra_writable_roots,
        network_access: sww.network_access,
        sandbox_limits,
        model: if provider.wire_api == WireApi::Local {
            local_model_name
        } else {
            asked_model.unwrap_or_else(|| DEFAULT_MODEL.to_string())
        },
        local_by_default,
        provider_id,
        provider,
        providers,
        cwd,
        sandbox_mode: overrides
            .sandbox_mode
            .or(t.sandbox_mode)
            .unwrap_or_default(),
        approval_policy: t.approval_policy.unwrap_or_default(),
        model_reasoning_effort: t.model_reasoning_effort,
        model_reasoning_summary: t.model_reasoning_summary,
        model_verbosity: t.model_verbosity,
        base_instructions,
        developer_instructions: t.developer_instructions,
        tool_output_token_limit: t
            .tool_output_token_limit
            .unwrap_or(DEFAULT_TOOL_OUTPUT_TOKEN_LIMIT),
        shell_timeout: t
            .shell_timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_SHELL_TIMEOUT),
        model_context_window: t.model_context_window,
        model_auto_compact_token_limit: t.model_auto_compact_token_limit,
        project_doc_max_bytes: t
            .project_doc_max_bytes
            .unwrap_or(crate::project_doc::DEFAULT_MAX_BYTES),
        project_doc_fallback_filenames: t.project_doc_fallback_filenames.unwrap_or_default(),
        compact_prompt: t.compact_prompt,
        shell_environment_policy: t.shell_environment_policy.unwrap_or_default(),
        exec_policy: crate::exec_policy::ExecPolicy::load(&home.join("rules"))
            .map_err(|e| ConfigError::Rules(e.to_string()))?,
        sandbox_exe: overrides.sandbox_exe.clone(),
        thread_retention_days: match t.thread_retention_days {
            Some(0) => None,
            Some(days) => Some(days),
            None => Some(DEFAULT_THREAD_RETENTION_DAYS),
        },
        max_threads: t.max_threads.unwrap_or(DEFAULT_MAX_THREADS),
        warnings,
        mcp_servers,
        skills: skills.codex,
        skills_include_claude: skills.include_claude,
        skills_extra_roots: Vec::new(),
        hooks: t.hooks,
        cloud: t.cloud,
        unused_keys,
    })
}

fn env_value(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// The OpenAI key requests would carry: the environment's, else the one stored by
/// `account/login/start` (an unreadable auth.json counts as none).
pub fn openai_api_key(home: &Path) -> Option<String> {
    let stored = crate::auth::stored_api_key(home).ok().flatten();
    pick_openai_key(
        env_value("CODEX_API_KEY"),
        env_value("OPENAI_API_KEY"),
        stored,
    )
    .1
}

/// The OpenAI credentials and the variable named in messages about them. The Codex SDK hands
/// the caller's key over as CODEX_API_KEY; as in `codex exec` it wins over an ambient
/// OPENAI_API_KEY, and both win over the key stored by `account/login/start` (an explicit
/// environment is the more specific choice).
fn pick_openai_key(
    codex_api_key: Option<String>,
    openai_api_key: Option<String>,
    stored: Option<String>,
) -> (&'static str, Option<String>) {
    match codex_api_key {
        Some(key) => ("CODEX_API_KEY", Some(key)),
        None => ("OPENAI_API_KEY", openai_api_key.or(stored)),
    }
}

fn openai_provider(base_url: Option<String>, key: &(&'static str, Option<String>)) -> Provider {
    let (env_key, api_key) = key.clone();
    Provider {
        name: "OpenAI".into(),
        base_url: base_url
            .or_else(|| env_value("OPENAI_BASE_URL"))
            .unwrap_or_else(|| OPENAI_BASE_URL.to_string()),
        wire_api: WireApi::Responses,
        env_key: Some(env_key.into()),
        api_key,
        query_params: BTreeMap::new(),
        http_headers: BTreeMap::new(),
        env_http_headers: BTreeMap::new(),
        request_max_retries: Provider::DEFAULT_REQUEST_MAX_RETRIES,
        stream_max_retries: Provider::DEFAULT_STREAM_MAX_RETRIES,
        stream_idle_timeout: Provider::DEFAULT_STREAM_IDLE_TIMEOUT,
    }
}

fn provider_from_toml(
    id: &str,
    p: ProviderToml,
    openai_key: &(&'static str, Option<String>),
) -> Result<ProviderEntry, ConfigError> {
    let wire_api = match p.wire_api.as_deref() {
        None | Some("responses") => WireApi::Responses,
        Some("chat") => WireApi::Chat,
        Some(other) => {
            return Err(ConfigError::WireApi {
                id: id.to_string(),
                value: other.to_string(),
            })
        }
    };
    let _ = p.env_key_instructions;
    // OpenAI itself, redefined, keeps using the user's OpenAI credentials unless told otherwise.
    let openai_auth = p.requires_openai_auth.unwrap_or(id == OPENAI_PROVIDER_ID);
    let base_url = match p.base_url {
        Some(url) => url,
        None if id == OPENAI_PROVIDER_ID => OPENAI_BASE_URL.to_string(),
        None => {
            return Err(ConfigError::Type {
                key: format!("model_providers.{id}.base_url"),
                message: "missing field `base_url`".into(),
            })
        }
    };
    let mut api_key = p.env_key.as_deref().and_then(env_value);
    let mut env_key = p.env_key;
    if api_key.is_none() && openai_auth {
        env_key = env_key.or(Some(openai_key.0.to_string()));
        api_key = openai_key.1.clone();
    }
    let provider = Provider {
        name: p.name.unwrap_or_else(|| id.to_string()),
        base_url,
        wire_api,
        api_key,
        env_key,
        query_params: p.query_params.unwrap_or_default(),
        http_headers: p.http_headers.unwrap_or_default(),
        env_http_headers: p.env_http_headers.unwrap_or_default(),
        request_max_retries: p
            .request_max_retries
            .unwrap_or(Provider::DEFAULT_REQUEST_MAX_RETRIES),
        stream_max_retries: p
            .stream_max_retries
            .unwrap_or(Provider::DEFAULT_STREAM_MAX_RETRIES),
        stream_idle_timeout: p
            .stream_idle_timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(Provider::DEFAULT_STREAM_IDLE_TIMEOUT),
    };
    Ok(ProviderEntry {
        provider,
        openai_auth,
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
