//! The two tools, `wright` and `wright-reply`: their arguments (named as Codex's `codex` and
//! `codex-reply` tools name them, so a client written for `codex mcp-server` works unchanged),
//! the JSON Schemas generated from those argument types, and their translation to App Server
//! requests.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wright_protocol::v2::{AskForApproval, SandboxMode, ThreadStartParams};

use crate::error::{Error, Result};

/// Name of the tool that starts a session.
pub const WRIGHT: &str = "wright";
/// Name of the tool that continues one.
pub const WRIGHT_REPLY: &str = "wright-reply";

/// Arguments of `wright`: a new session and its first prompt.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WrightArgs {
    /// The initial user prompt of the wright session.
    pub prompt: String,
    /// Model to use instead of the configured one (e.g. 'gpt-5.2-codex').
    #[serde(default)]
    pub model: Option<String>,
    /// Configuration profile from config.toml to take default options from.
    #[serde(default)]
    pub profile: Option<String>,
    /// Working directory of the session. A relative path is resolved against the server
    /// process's working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// When the user is asked before a command runs: `untrusted`, `on-failure`, `on-request`,
    /// `never`. Questions go to the MCP client as elicitations; a client that cannot answer
    /// them gets every such command declined, so use `never` with it.
    #[serde(default)]
    pub approval_policy: Option<ApprovalPolicyArg>,
    /// Sandbox mode: `read-only`, `workspace-write`, or `danger-full-access`.
    #[serde(default)]
    pub sandbox: Option<SandboxArg>,
    /// Individual config settings that override what is in WRIGHT_HOME/config.toml (keys as
    /// in config.toml, dotted for nested tables).
    #[serde(default)]
    pub config: Option<Map<String, Value>>,
    /// The set of instructions to use instead of the default ones.
    #[serde(default)]
    pub base_instructions: Option<String>,
    /// Developer instructions, injected as a developer role message.
    #[serde(default)]
    pub developer_instructions: Option<String>,
    /// Prompt used when compacting the conversation.
    #[serde(default)]
    pub compact_prompt: Option<String>,
}

/// `approval-policy`, as the tool accepts it (the App Server's type also has an object form
/// that an MCP client has no use for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalPolicyArg {
    Untrusted,
    OnFailure,
    OnRequest,
    Never,
}

/// `sandbox`, as the tool accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxArg {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
}

/// Arguments of `wright-reply`: the next prompt of a session.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplyArgs {
    /// The thread id of the wright session (the `threadId` of an earlier result). Required,
    /// unless the legacy `conversationId` is given instead.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// DEPRECATED: use threadId instead.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// The next user prompt of the wright session.
    pub prompt: String,
}

/// What both tools return as `structuredContent`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolOutput {
    /// The session's thread: pass it to `wright-reply` to continue.
    pub thread_id: String,
    /// The agent's final message of the turn.
    pub content: String,
}

impl WrightArgs {
    /// Reads the arguments of a `wright` call.
    pub fn parse(arguments: Option<JsonObject>) -> Result<WrightArgs> {
        let args: WrightArgs = parse(WRIGHT, arguments)?;
        non_empty(WRIGHT, &args.prompt)?;
        Ok(args)
    }

    /// The `thread/start` that opens the session. `profile` and `compact-prompt` have no
    /// member of their own there: they travel as the config keys they are.
    pub fn thread_start(&self) -> ThreadStartParams {
        let mut config = self.config.clone().unwrap_or_default();
        // The named arguments win over the same keys in `config`, as flags beat `-c`.
        if let Some(profile) = &self.profile {
            config.insert("profile".into(), Value::String(profile.clone()));
        }
        if let Some(prompt) = &self.compact_prompt {
            config.insert("compact_prompt".into(), Value::String(prompt.clone()));
        }
        ThreadStartParams {
            cwd: self.cwd.clone(),
            model: self.model.clone(),
            approval_policy: self.approval_policy.map(AskForApproval::from),
            sandbox: self.sandbox.map(SandboxMode::from),
            config: (!config.is_empty()).then_some(config),
            base_instructions: self.base_instructions.clone(),
            developer_instructions: self.developer_instructions.clone(),
            ..Default::default()
        }
    }
}

impl ReplyArgs {
    /// Reads the arguments of a `wright-reply` call.
    pub fn parse(arguments: Option<JsonObject>) -> Result<ReplyArgs> {
        let args: ReplyArgs = parse(WRIGHT_REPLY, arguments)?;
        non_empty(WRIGHT_REPLY, &args.prompt)?;
        args.thread()?;
        Ok(args)
    }

    /// The thread to continue: `threadId`, or the legacy `conversationId`.
    pub fn thread(&self) -> Result<&str> {
        let invalid = |message: &str| Error::InvalidArguments {
            tool: WRIGHT_REPLY,
            message: message.into(),
        };
        match (self.thread_id.as_deref(), self.conversation_id.as_deref()) {
            (Some(a), Some(b)) if a != b => Err(invalid(
                "`threadId` and `conversationId` name different threads; give only `threadId`",
            )),
            (Some(id), _) | (None, Some(id)) if !id.trim().is_empty() => Ok(id),
            (Some(_), _) | (None, Some(_)) => Err(invalid("`threadId` is empty")),
            (None, None) => Err(invalid(
                "`threadId` is required (the `threadId` of an earlier `wright` result)",
            )),
        }
    }
}

impl From<ApprovalPolicyArg> for AskForApproval {
    fn from(policy: ApprovalPolicyArg) -> AskForApproval {
        match policy {
            ApprovalPolicyArg::Untrusted => AskForApproval::Untrusted,
            ApprovalPolicyArg::OnFailure => AskForApproval::OnFailure,
            ApprovalPolicyArg::OnRequest => AskForApproval::OnRequest,
            ApprovalPolicyArg::Never => AskForApproval::Never,
        }
    }
}

impl From<SandboxArg> for SandboxMode {
    fn from(mode: SandboxArg) -> SandboxMode {
        match mode {
            SandboxArg::ReadOnly => SandboxMode::ReadOnly,
            SandboxArg::WorkspaceWrite => SandboxMode::WorkspaceWrite,
            SandboxArg::DangerFullAccess => SandboxMode::DangerFullAccess,
        }
    }
}

/// Both tools, for `tools/list`.
pub fn list() -> Vec<Tool> {
    let output = schema_of::<ToolOutput>();
    let wright = Tool::new(
        WRIGHT,
        "Run a wright coding-agent session: wright works on the prompt in `cwd` (running \
         commands, editing files) and answers with its final message and a `threadId` for \
         `wright-reply`.",
        schema_of::<WrightArgs>(),
    )
    .with_title("wright")
    .with_raw_output_schema(Arc::clone(&output))
    .with_annotations(annotations("wright"));
    let reply = Tool::new(
        WRIGHT_REPLY,
        "Continue a wright session: give the `threadId` of an earlier result and the next \
         prompt.",
        schema_of::<ReplyArgs>(),
    )
    .with_title("wright reply")
    .with_raw_output_schema(output)
    .with_annotations(annotations("wright reply"));
    vec![wright, reply]
}

/// An agent that runs commands may change anything it can reach, and talks to a model.
fn annotations(title: &str) -> ToolAnnotations {
    ToolAnnotations::with_title(title)
        .read_only(false)
        .destructive(true)
        .idempotent(false)
        .open_world(true)
}

/// The JSON Schema of `T` as MCP clients want it: one self-contained object (no `$ref`, no
/// `$schema`), tidied by [`tidy`].
fn schema_of<T: JsonSchema>() -> Arc<JsonObject> {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    tidy(&mut schema);
    let mut object = match schema {
        Value::Object(object) => object,
        // A struct's schema is always an object; an empty one accepts anything.
        _ => JsonObject::new(),
    };
    // The type's name and doc comment are about the Rust type; the tool has its own.
    object.remove("title");
    object.remove("description");
    Arc::new(object)
}

/// Everywhere in `schema`: optional members plain (`type: X`, not `[X, "null"]`, no `null`
/// branch, choice or default: a client builds forms and argument lists from these, and a null
/// is never a useful value to offer), and descriptions on one line (doc comments wrap).
fn tidy(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    object.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(branches)) = object.get_mut("anyOf") {
                branches.retain(|b| b.get("type").is_none_or(|t| t != "null"));
                if let [only] = branches.as_slice() {
                    let only = only.clone();
                    object.remove("anyOf");
                    if let Value::Object(only) = only {
                        object.extend(only);
                    }
                }
            }
            if let Some(Value::Array(values)) = object.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            if object.get("default").is_some_and(Value::is_null) {
                object.remove("default");
            }
            if let Some(Value::String(text)) = object.get_mut("description") {
                *text = text.replace('\n', " ");
            }
            object.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// Reads a tool's arguments, naming the argument that does not fit.
fn parse<T: for<'de> Deserialize<'de>>(
    tool: &'static str,
    arguments: Option<JsonObject>,
) -> Result<T> {
    let value = Value::Object(arguments.unwrap_or_default());
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let message = if path == "." {
            inner
        } else {
            format!("`{path}`: {inner}")
        };
        Error::InvalidArguments { tool, message }
    })
}

fn non_empty(tool: &'static str, prompt: &str) -> Result<()> {
    if prompt.trim().is_empty() {
        return Err(Error::InvalidArguments {
            tool,
            message: "`prompt` is empty".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "tools_tests.rs"]
mod tests;
