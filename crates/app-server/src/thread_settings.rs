//! A thread's settings: what clients may set on thread/start, thread/resume and thread/fork,
//! how they map onto config values, and how a stored thread's record reads back.

use serde_json::{json, Map, Value};
use wright_core::config::{ApprovalPolicy, Config, SandboxMode};
use wright_protocol::v2::{self, ApprovalsReviewer, AskForApproval};
use wright_protocol::TokenUsage;
use wright_store::ThreadRecord;

use crate::rpc::{RpcError, RpcResult};
use crate::wire::ThreadInfo;

/// The settings a client may give thread/start, thread/resume and thread/fork (and
/// `command/exec`'s scope): applied over the config files and the server's own overrides.
#[derive(Debug, Default, Clone)]
pub(crate) struct ThreadSettings {
    pub cwd: Option<String>,
    pub model: Option<String>,
    pub model_provider: Option<String>,
    pub approval_policy: Option<AskForApproval>,
    pub approvals_reviewer: Option<ApprovalsReviewer>,
    pub sandbox: Option<v2::SandboxMode>,
    pub config: Option<Map<String, Value>>,
    pub base_instructions: Option<String>,
    pub developer_instructions: Option<String>,
}

macro_rules! settings_from {
    ($($params:ty),*) => {$(
        impl From<&$params> for ThreadSettings {
            fn from(p: &$params) -> Self {
                ThreadSettings {
                    cwd: p.cwd.clone(),
                    model: p.model.clone(),
                    model_provider: p.model_provider.clone(),
                    approval_policy: p.approval_policy.clone(),
                    approvals_reviewer: p.approvals_reviewer,
                    sandbox: p.sandbox,
                    config: p.config.clone(),
                    base_instructions: p.base_instructions.clone(),
                    developer_instructions: p.developer_instructions.clone(),
                }
            }
        }
    )*};
}

settings_from!(
    v2::ThreadStartParams,
    v2::ThreadResumeParams,
    v2::ThreadForkParams
);

/// `approvalsReviewer` as it takes effect: `guardian_subagent` is Codex's legacy name for
/// `auto_review` (Codex reads both as one).
pub(crate) fn effective_reviewer(reviewer: ApprovalsReviewer) -> ApprovalsReviewer {
    match reviewer {
        ApprovalsReviewer::GuardianSubagent => ApprovalsReviewer::AutoReview,
        other => other,
    }
}

/// The reviewer a stored thread was left with (`user` for threads stored before there was a
/// choice).
pub(crate) fn stored_reviewer(rec: &ThreadRecord) -> ApprovalsReviewer {
    rec.settings
        .get("approvals_reviewer")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .map(effective_reviewer)
        .unwrap_or_default()
}

pub(crate) fn approval_policy(policy: &AskForApproval) -> RpcResult<ApprovalPolicy> {
    match policy {
        AskForApproval::Untrusted => Ok(ApprovalPolicy::Untrusted),
        AskForApproval::OnRequest => Ok(ApprovalPolicy::OnRequest),
        AskForApproval::OnFailure => Ok(ApprovalPolicy::OnFailure),
        AskForApproval::Never => Ok(ApprovalPolicy::Never),
        AskForApproval::Granular(_) => Err(RpcError::invalid_params(
            "`approvalPolicy`: granular approval is not supported; use \"untrusted\", \"on-request\" or \"never\"",
        )),
    }
}

pub(crate) fn ask_for_approval(policy: ApprovalPolicy) -> AskForApproval {
    match policy {
        ApprovalPolicy::Untrusted => AskForApproval::Untrusted,
        ApprovalPolicy::OnFailure => AskForApproval::OnFailure,
        ApprovalPolicy::OnRequest => AskForApproval::OnRequest,
        ApprovalPolicy::Never => AskForApproval::Never,
    }
}

pub(crate) fn sandbox_mode(mode: v2::SandboxMode) -> SandboxMode {
    match mode {
        v2::SandboxMode::ReadOnly => SandboxMode::ReadOnly,
        v2::SandboxMode::WorkspaceWrite => SandboxMode::WorkspaceWrite,
        v2::SandboxMode::DangerFullAccess => SandboxMode::DangerFullAccess,
    }
}

/// A JSON value as a TOML literal, for `-c key=value` overrides.
pub(crate) fn toml_literal(value: &Value) -> String {
    fn to_toml(value: &Value) -> Option<toml::Value> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(b) => toml::Value::Boolean(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => toml::Value::Integer(i),
                None => toml::Value::Float(n.as_f64()?),
            },
            Value::String(s) => toml::Value::String(s.clone()),
            Value::Array(items) => toml::Value::Array(items.iter().filter_map(to_toml).collect()),
            Value::Object(map) => toml::Value::Table(
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), to_toml(v)?)))
                    .collect(),
            ),
        })
    }
    to_toml(value).map(|v| v.to_string()).unwrap_or_default()
}

pub(crate) fn settings_of(
    config: &Config,
    git_info: Option<&v2::GitInfo>,
    reviewer: ApprovalsReviewer,
) -> Value {
    let mut settings = json!({
        "sandbox_mode": config.sandbox_mode.as_str(),
        "approval_policy": config.approval_policy.as_str(),
        "approvals_reviewer": reviewer,
    });
    if let Some(git) = git_info {
        settings["gitInfo"] = serde_json::to_value(git).unwrap_or(Value::Null);
    }
    settings
}

pub(crate) fn usage_of(value: &Value) -> TokenUsage {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

pub(crate) fn info_of(rec: &ThreadRecord) -> ThreadInfo {
    ThreadInfo {
        id: rec.id.clone(),
        created_at: rec.created_at,
        updated_at: rec.updated_at,
        name: rec.name.clone(),
        preview: rec.preview.clone(),
        cwd: rec.cwd.clone(),
        model: rec.model.clone(),
        model_provider: rec.model_provider.clone(),
        source: rec.source.clone(),
        forked_from: rec.forked_from.clone(),
        archived: rec.archived,
        ephemeral: false,
        git_info: rec
            .settings
            .get("gitInfo")
            .and_then(|g| serde_json::from_value(g.clone()).ok()),
    }
}
