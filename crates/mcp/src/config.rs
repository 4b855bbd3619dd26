//! `[mcp_servers.NAME]` in `config.toml`, typed and checked: Codex's keys, one transport per
//! server (`command` for stdio, `url` for streamable HTTP).
//!
//! This is the shape `wright mcp add|list|get|remove` reads and writes and the client
//! ([`crate::McpManager`]) starts. A bad entry is reported here, per server, and never stops a
//! run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value as Json};

/// The configured servers, by name (sorted).
pub type McpServers = BTreeMap<String, McpServerConfig>;

/// One `[mcp_servers.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServerConfig {
    pub transport: McpTransport,
    /// `enabled` (default true).
    pub enabled: bool,
    /// `startup_timeout_sec`: how long to wait for the server to start.
    pub startup_timeout_sec: Option<Duration>,
    /// `tool_timeout_sec`: how long one tool call may take.
    pub tool_timeout_sec: Option<Duration>,
    /// `enabled_tools`: only these tools (all when absent).
    pub enabled_tools: Option<Vec<String>>,
    /// `disabled_tools`: never these tools.
    pub disabled_tools: Option<Vec<String>>,
    /// `default_tools_approval_mode` (Codex: `auto`, `prompt`, `writes` or `approve`).
    pub default_tools_approval_mode: Option<String>,
    /// `tools.<tool>.approval_mode`: per-tool overrides of the server's default (Codex's key,
    /// by the server's own tool name).
    pub tool_approval_modes: BTreeMap<String, String>,
    /// `sandbox` (wright's key, default true): a stdio server runs confined like a command.
    /// `false` runs it with the user's full rights.
    pub sandbox: bool,
}

/// How wright reaches the server.
#[derive(Debug, Clone, PartialEq)]
pub enum McpTransport {
    /// A child process speaking MCP on stdin/stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        env: Option<BTreeMap<String, String>>,
        cwd: Option<PathBuf>,
    },
    /// A server at a URL (MCP streamable HTTP).
    StreamableHttp {
        url: String,
        /// The environment variable holding the bearer token.
        bearer_token_env_var: Option<String>,
        http_headers: Option<BTreeMap<String, String>>,
    },
}

/// What is wrong with `mcp_servers`.
#[derive(Debug, thiserror::Error)]
pub enum McpConfigError {
    #[error("config key `mcp_servers` must be a table")]
    NotATable,
    /// Every server that is wrong (each once, with its first problem), in name order.
    #[error("{}", list(.0))]
    Servers(Vec<ServerError>),
}

fn list(errors: &[ServerError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One server's problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("config key `mcp_servers.{server}`: {problem}")]
pub struct ServerError {
    pub server: String,
    pub problem: ServerProblem,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServerProblem {
    #[error("invalid server name (use letters, numbers, '-', '_')")]
    InvalidName,
    #[error("must be a table")]
    NotATable,
    #[error("has both `command` (stdio) and `url` (streamable HTTP); keep one")]
    BothTransports,
    #[error("needs `command` (a stdio server) or `url` (a streamable HTTP server)")]
    NoTransport,
    #[error("unknown key `{0}`")]
    UnknownKey(String),
    #[error("`{key}` must be {expected}")]
    WrongType { key: String, expected: &'static str },
    #[error("`{key}` is only valid for {transport} servers")]
    WrongTransport {
        key: &'static str,
        transport: &'static str,
    },
    #[error("`{key}` must be one of auto, prompt, writes, approve, not `{mode}`")]
    ApprovalMode { key: String, mode: String },
}

const STDIO_KEYS: [&str; 4] = ["command", "args", "env", "cwd"];
const HTTP_KEYS: [&str; 3] = ["url", "bearer_token_env_var", "http_headers"];
const COMMON_KEYS: [&str; 8] = [
    "tools",
    "sandbox",
    "startup_timeout_sec",
    "tool_timeout_sec",
    "enabled",
    "enabled_tools",
    "disabled_tools",
    "default_tools_approval_mode",
];
const APPROVAL_MODES: [&str; 4] = ["auto", "prompt", "writes", "approve"];

/// Whether `name` may name a server: `^[a-zA-Z0-9_-]+$`, as Codex.
pub fn is_valid_server_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The servers under `mcp_servers` in a whole config table (none when the key is absent).
pub fn servers_in(config: &toml::Table) -> Result<McpServers, McpConfigError> {
    match config.get("mcp_servers") {
        None => Ok(McpServers::new()),
        Some(toml::Value::Table(servers)) => parse_servers(servers),
        Some(_) => Err(McpConfigError::NotATable),
    }
}

/// Types the `mcp_servers` table; every bad server is reported.
pub fn parse_servers(servers: &toml::Table) -> Result<McpServers, McpConfigError> {
    let mut good = McpServers::new();
    let mut bad = Vec::new();
    for (name, value) in servers {
        match parse_server(name, value) {
            Ok(server) => {
                good.insert(name.clone(), server);
            }
            Err(problem) => bad.push(ServerError {
                server: name.clone(),
                problem,
            }),
        }
    }
    if bad.is_empty() {
        Ok(good)
    } else {
        bad.sort_by(|a, b| a.server.cmp(&b.server));
        Err(McpConfigError::Servers(bad))
    }
}

/// Types one `[mcp_servers.NAME]` value.
pub fn parse_server(name: &str, value: &toml::Value) -> Result<McpServerConfig, ServerProblem> {
    if !is_valid_server_name(name) {
        return Err(ServerProblem::InvalidName);
    }
    let toml::Value::Table(t) = value else {
        return Err(ServerProblem::NotATable);
    };
    if let Some(key) = t.keys().find(|k| {
        let k = k.as_str();
        !STDIO_KEYS.contains(&k) && !HTTP_KEYS.contains(&k) && !COMMON_KEYS.contains(&k)
    }) {
        return Err(ServerProblem::UnknownKey(key.clone()));
    }
    let transport = match (t.get("command"), t.get("url")) {
        (Some(_), Some(_)) => return Err(ServerProblem::BothTransports),
        (None, None) => return Err(ServerProblem::NoTransport),
        (Some(_), None) => {
            only_for(t, &HTTP_KEYS, "streamable HTTP")?;
            let command = string(t, "command")?.unwrap_or_default();
            if command.is_empty() {
                return Err(wrong("command", "a non-empty string"));
            }
            McpTransport::Stdio {
                command,
                args: strings(t, "args")?.unwrap_or_default(),
                env: string_map(t, "env")?,
                cwd: string(t, "cwd")?.map(PathBuf::from),
            }
        }
        (None, Some(_)) => {
            only_for(t, &STDIO_KEYS, "stdio")?;
            let url = string(t, "url")?.unwrap_or_default();
            if url.is_empty() {
                return Err(wrong("url", "a non-empty string"));
            }
            McpTransport::StreamableHttp {
                url,
                bearer_token_env_var: string(t, "bearer_token_env_var")?,
                http_headers: string_map(t, "http_headers")?,
            }
        }
    };
    let enabled = match t.get("enabled") {
        None => true,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err(wrong("enabled", "true or false")),
    };
    let default_tools_approval_mode = string(t, "default_tools_approval_mode")?;
    if let Some(mode) = &default_tools_approval_mode {
        check_mode("default_tools_approval_mode", mode)?;
    }
    let sandbox = match t.get("sandbox") {
        None => true,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err(wrong("sandbox", "true or false")),
    };
    Ok(McpServerConfig {
        transport,
        enabled,
        startup_timeout_sec: seconds(t, "startup_timeout_sec")?,
        tool_timeout_sec: seconds(t, "tool_timeout_sec")?,
        enabled_tools: strings(t, "enabled_tools")?,
        disabled_tools: strings(t, "disabled_tools")?,
        default_tools_approval_mode,
        tool_approval_modes: tool_modes(t)?,
        sandbox,
    })
}

fn check_mode(key: &str, mode: &str) -> Result<(), ServerProblem> {
    if APPROVAL_MODES.contains(&mode) {
        Ok(())
    } else {
        Err(ServerProblem::ApprovalMode {
            key: key.to_string(),
            mode: mode.to_string(),
        })
    }
}

/// `[mcp_servers.NAME.tools.TOOL]` tables: only `approval_mode` is known.
fn tool_modes(t: &toml::Table) -> Result<BTreeMap<String, String>, ServerProblem> {
    let Some(value) = t.get("tools") else {
        return Ok(BTreeMap::new());
    };
    let tools = value.as_table().ok_or_else(|| wrong("tools", "a table"))?;
    let mut modes = BTreeMap::new();
    for (tool, entry) in tools {
        let key = format!("tools.{tool}");
        let entry = entry.as_table().ok_or_else(|| wrong(&key, "a table"))?;
        if let Some(unknown) = entry.keys().find(|k| *k != "approval_mode") {
            return Err(ServerProblem::UnknownKey(format!("{key}.{unknown}")));
        }
        if let Some(mode) = string(entry, "approval_mode")? {
            check_mode(&format!("{key}.approval_mode"), &mode)?;
            modes.insert(tool.clone(), mode);
        }
    }
    Ok(modes)
}

/// The keys of the other transport are an error, not silently dropped.
fn only_for(
    t: &toml::Table,
    others: &[&'static str],
    transport: &'static str,
) -> Result<(), ServerProblem> {
    match others.iter().find(|k| t.contains_key(**k)) {
        Some(key) => Err(ServerProblem::WrongTransport { key, transport }),
        None => Ok(()),
    }
}

fn wrong(key: &str, expected: &'static str) -> ServerProblem {
    ServerProblem::WrongType {
        key: key.to_string(),
        expected,
    }
}

fn string(t: &toml::Table, key: &str) -> Result<Option<String>, ServerProblem> {
    match t.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong(key, "a string")),
    }
}

fn strings(t: &toml::Table, key: &str) -> Result<Option<Vec<String>>, ServerProblem> {
    let Some(value) = t.get(key) else {
        return Ok(None);
    };
    let items = value
        .as_array()
        .ok_or_else(|| wrong(key, "an array of strings"))?;
    items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| wrong(key, "an array of strings"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn string_map(
    t: &toml::Table,
    key: &str,
) -> Result<Option<BTreeMap<String, String>>, ServerProblem> {
    let Some(value) = t.get(key) else {
        return Ok(None);
    };
    let table = value
        .as_table()
        .ok_or_else(|| wrong(key, "a table of strings"))?;
    table
        .iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(wrong(&format!("{key}.{k}"), "a string")),
        })
        .collect::<Result<BTreeMap<_, _>, _>>()
        .map(Some)
}

fn seconds(t: &toml::Table, key: &str) -> Result<Option<Duration>, ServerProblem> {
    const EXPECTED: &str = "a non-negative number of seconds";
    let secs = match t.get(key) {
        None => return Ok(None),
        Some(toml::Value::Integer(i)) => *i as f64,
        Some(toml::Value::Float(f)) => *f,
        Some(_) => return Err(wrong(key, EXPECTED)),
    };
    Duration::try_from_secs_f64(secs)
        .map(Some)
        .map_err(|_| wrong(key, EXPECTED))
}

impl McpServerConfig {
    /// A server with this transport and every other key at its default.
    pub fn new(transport: McpTransport) -> McpServerConfig {
        McpServerConfig {
            transport,
            enabled: true,
            startup_timeout_sec: None,
            tool_timeout_sec: None,
            enabled_tools: None,
            disabled_tools: None,
            default_tools_approval_mode: None,
            tool_approval_modes: BTreeMap::new(),
            sandbox: true,
        }
    }

    /// The `[mcp_servers.NAME]` table as JSON (for a config write): only the keys that are
    /// set; `enabled` only when false.
    pub fn to_config_json(&self) -> Json {
        let mut m = Map::new();
        match &self.transport {
            McpTransport::Stdio {
                command,
                args,
                env,
                cwd,
            } => {
                m.insert("command".into(), json!(command));
                if !args.is_empty() {
                    m.insert("args".into(), json!(args));
                }
                if let Some(env) = env {
                    m.insert("env".into(), json!(env));
                }
                if let Some(cwd) = cwd {
                    m.insert("cwd".into(), json!(cwd.to_string_lossy()));
                }
            }
            McpTransport::StreamableHttp {
                url,
                bearer_token_env_var,
                http_headers,
            } => {
                m.insert("url".into(), json!(url));
                if let Some(var) = bearer_token_env_var {
                    m.insert("bearer_token_env_var".into(), json!(var));
                }
                if let Some(headers) = http_headers {
                    m.insert("http_headers".into(), json!(headers));
                }
            }
        }
        let timeout = |d: &Duration| match d.subsec_nanos() {
            0 => json!(d.as_secs()),
            _ => json!(d.as_secs_f64()),
        };
        if let Some(d) = &self.startup_timeout_sec {
            m.insert("startup_timeout_sec".into(), timeout(d));
        }
        if let Some(d) = &self.tool_timeout_sec {
            m.insert("tool_timeout_sec".into(), timeout(d));
        }
        if !self.enabled {
            m.insert("enabled".into(), json!(false));
        }
        if let Some(tools) = &self.enabled_tools {
            m.insert("enabled_tools".into(), json!(tools));
        }
        if let Some(tools) = &self.disabled_tools {
            m.insert("disabled_tools".into(), json!(tools));
        }
        if let Some(mode) = &self.default_tools_approval_mode {
            m.insert("default_tools_approval_mode".into(), json!(mode));
        }
        if !self.tool_approval_modes.is_empty() {
            let tools: Map<String, Json> = self
                .tool_approval_modes
                .iter()
                .map(|(tool, mode)| (tool.clone(), json!({ "approval_mode": mode })))
                .collect();
            m.insert("tools".into(), Json::Object(tools));
        }
        if !self.sandbox {
            m.insert("sandbox".into(), json!(false));
        }
        Json::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<McpServers, McpConfigError> {
        let table: toml::Table = text.parse().unwrap();
        servers_in(&table)
    }

    fn problems(text: &str) -> Vec<(String, ServerProblem)> {
        match parse(text) {
            Err(McpConfigError::Servers(errors)) => {
                errors.into_iter().map(|e| (e.server, e.problem)).collect()
            }
            other => panic!("expected server errors, got {other:?}"),
        }
    }

    #[test]
    fn codex_example_parses() {
        let servers = parse(
            r#"
[mcp_servers.echo]
command = "python3"
args = ["mcp_echo.py"]
env = { A = "1" }
cwd = "/some/dir"
startup_timeout_sec = 10
tool_timeout_sec = 60.5
enabled = true
enabled_tools = ["echo"]
disabled_tools = []
default_tools_approval_mode = "approve"

[mcp_servers.remote]
url = "http://127.0.0.1:9/mcp"
bearer_token_env_var = "REMOTE_TOKEN"
http_headers = { "X-A" = "b" }
enabled = false
"#,
        )
        .unwrap();
        assert_eq!(servers.len(), 2);
        let echo = &servers["echo"];
        assert_eq!(
            echo.transport,
            McpTransport::Stdio {
                command: "python3".into(),
                args: vec!["mcp_echo.py".into()],
                env: Some(BTreeMap::from([("A".into(), "1".into())])),
                cwd: Some(PathBuf::from("/some/dir")),
            }
        );
        assert!(echo.enabled);
        assert_eq!(echo.startup_timeout_sec, Some(Duration::from_secs(10)));
        assert_eq!(echo.tool_timeout_sec, Some(Duration::from_millis(60_500)));
        assert_eq!(echo.enabled_tools, Some(vec!["echo".to_string()]));
        assert_eq!(echo.disabled_tools, Some(vec![]));
        assert_eq!(echo.default_tools_approval_mode.as_deref(), Some("approve"));
        let remote = &servers["remote"];
        assert_eq!(
            remote.transport,
            McpTransport::StreamableHttp {
                url: "http://127.0.0.1:9/mcp".into(),
                bearer_token_env_var: Some("REMOTE_TOKEN".into()),
                http_headers: Some(BTreeMap::from([("X-A".into(), "b".into())])),
            }
        );
        assert!(!remote.enabled);
    }

    #[test]
    fn absent_and_empty_are_no_servers() {
        assert!(parse("model = \"x\"").unwrap().is_empty());
        assert!(parse("[mcp_servers]").unwrap().is_empty());
    }

    #[test]
    fn minimal_servers_get_defaults() {
        let servers =
            parse("[mcp_servers.a]\ncommand = \"x\"\n[mcp_servers.b]\nurl = \"u\"\n").unwrap();
        let a = &servers["a"];
        assert_eq!(
            a,
            &McpServerConfig::new(McpTransport::Stdio {
                command: "x".into(),
                args: vec![],
                env: None,
                cwd: None,
            })
        );
        assert!(servers["b"].enabled);
    }

    #[test]
    fn transport_errors_name_the_server() {
        let got = problems(
            "[mcp_servers.both]\ncommand = \"x\"\nurl = \"u\"\n[mcp_servers.neither]\nenabled = true\n[mcp_servers.ok]\ncommand = \"x\"\n",
        );
        assert_eq!(
            got,
            vec![
                ("both".to_string(), ServerProblem::BothTransports),
                ("neither".to_string(), ServerProblem::NoTransport),
            ]
        );
        let err = parse("[mcp_servers.both]\ncommand = \"x\"\nurl = \"u\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config key `mcp_servers.both`: has both `command` (stdio) and `url` (streamable HTTP); keep one"
        );
    }

    #[test]
    fn unknown_and_misplaced_keys_are_errors() {
        assert_eq!(
            problems("[mcp_servers.a]\ncommand = \"x\"\nbogus = 1\n"),
            vec![("a".into(), ServerProblem::UnknownKey("bogus".into()))]
        );
        assert_eq!(
            problems("[mcp_servers.a]\ncommand = \"x\"\nbearer_token_env_var = \"T\"\n"),
            vec![(
                "a".into(),
                ServerProblem::WrongTransport {
                    key: "bearer_token_env_var",
                    transport: "streamable HTTP"
                }
            )]
        );
        assert_eq!(
            problems("[mcp_servers.a]\nurl = \"u\"\nenv = { A = \"1\" }\n"),
            vec![(
                "a".into(),
                ServerProblem::WrongTransport {
                    key: "env",
                    transport: "stdio"
                }
            )]
        );
    }

    #[test]
    fn wrong_types_are_errors_not_panics() {
        let cases = [
            "[mcp_servers.a]\ncommand = 1\n",
            "[mcp_servers.a]\ncommand = \"\"\n",
            "[mcp_servers.a]\nurl = [\"u\"]\n",
            "[mcp_servers.a]\ncommand = \"x\"\nargs = \"one\"\n",
            "[mcp_servers.a]\ncommand = \"x\"\nargs = [1]\n",
            "[mcp_servers.a]\ncommand = \"x\"\nenv = { A = 1 }\n",
            "[mcp_servers.a]\ncommand = \"x\"\nenv = \"A=1\"\n",
            "[mcp_servers.a]\ncommand = \"x\"\nenabled = \"yes\"\n",
            "[mcp_servers.a]\ncommand = \"x\"\nstartup_timeout_sec = -1\n",
            "[mcp_servers.a]\ncommand = \"x\"\nstartup_timeout_sec = nan\n",
            "[mcp_servers.a]\ncommand = \"x\"\ntool_timeout_sec = inf\n",
            "[mcp_servers.a]\ncommand = \"x\"\ntool_timeout_sec = \"10\"\n",
            "[mcp_servers.a]\ncommand = \"x\"\nenabled_tools = [true]\n",
            "[mcp_servers.a]\ncommand = \"x\"\ndefault_tools_approval_mode = \"sometimes\"\n",
            "mcp_servers.a = 3\n",
        ];
        for case in cases {
            let got = problems(case);
            assert_eq!(got.len(), 1, "{case}: {got:?}");
            assert_eq!(got[0].0, "a", "{case}");
        }
        assert!(matches!(
            parse("mcp_servers = 1"),
            Err(McpConfigError::NotATable)
        ));
    }

    #[test]
    fn names_are_checked() {
        assert!(is_valid_server_name("my-tool_2"));
        for bad in ["", "a b", "a.b", "é", "a/b"] {
            assert!(!is_valid_server_name(bad), "{bad}");
        }
        assert_eq!(
            problems("[mcp_servers.\"a b\"]\ncommand = \"x\"\n"),
            vec![("a b".into(), ServerProblem::InvalidName)]
        );
    }

    #[test]
    fn config_json_round_trips() {
        let text = r#"
[mcp_servers.echo]
command = "python3"
args = ["a", "b"]
env = { A = "1" }
cwd = "/d"
startup_timeout_sec = 10
tool_timeout_sec = 2.5
enabled = false
enabled_tools = ["x"]
disabled_tools = ["y"]
default_tools_approval_mode = "prompt"

[mcp_servers.remote]
url = "http://h/mcp"
bearer_token_env_var = "T"
http_headers = { "X-A" = "b" }
"#;
        let servers = parse(text).unwrap();
        for (name, server) in &servers {
            let json = server.to_config_json();
            let value: toml::Value = serde_json::from_value(json).unwrap();
            assert_eq!(&parse_server(name, &value).unwrap(), server, "{name}");
        }
        let minimal = McpServerConfig::new(McpTransport::StreamableHttp {
            url: "u".into(),
            bearer_token_env_var: None,
            http_headers: None,
        });
        assert_eq!(minimal.to_config_json(), json!({ "url": "u" }));
    }
}
