//! `model/list` and `config/read`.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use wright_protocol::v2::{
    ConfigReadParams, ConfigReadResponse, Model, ModelListParams, ModelListResponse,
    ReasoningEffort, ReasoningEffortOption,
};

use crate::rpc::RpcResult;
use crate::state::{State, ThreadSettings};

pub(crate) fn model_list(state: &Arc<State>, _p: ModelListParams) -> RpcResult<ModelListResponse> {
    let default = state
        .options
        .overrides
        .model
        .clone()
        .unwrap_or_else(|| wright_core::config::DEFAULT_MODEL.to_string());
    let mut models: Vec<&str> = vec!["gpt-5.5", "gpt-5-codex", "o3", "o4-mini", "gpt-4.1"];
    if !models.contains(&default.as_str()) {
        models.insert(0, &default);
    }
    let efforts: Vec<ReasoningEffortOption> = [
        ("low", "Fast responses with lighter reasoning"),
        ("medium", "Balances speed and reasoning depth"),
        ("high", "Greater reasoning depth for complex problems"),
    ]
    .iter()
    .map(|(e, d)| ReasoningEffortOption {
        reasoning_effort: ReasoningEffort::new(*e),
        description: d.to_string(),
    })
    .collect();
    let data = models
        .iter()
        .map(|m| Model {
            id: m.to_string(),
            model: m.to_string(),
            upgrade: None,
            upgrade_info: None,
            availability_nux: None,
            display_name: m.to_string(),
            description: format!("{m} via the configured provider"),
            model_specialty: None,
            hidden: false,
            supported_reasoning_efforts: efforts.clone(),
            default_reasoning_effort: ReasoningEffort::new("medium"),
            input_modalities: vec![
                wright_protocol::v2::InputModality::Text,
                wright_protocol::v2::InputModality::Image,
            ],
            supports_personality: false,
            multi_agent_version: None,
            additional_speed_tiers: Vec::new(),
            service_tiers: Vec::new(),
            default_service_tier: None,
            available_access_programs: None,
            is_default: *m == default,
        })
        .collect();
    Ok(ModelListResponse {
        data,
        next_cursor: None,
    })
}

pub(crate) async fn config_read(
    state: &Arc<State>,
    p: ConfigReadParams,
) -> RpcResult<ConfigReadResponse> {
    let scope = ThreadSettings {
        cwd: p.cwd,
        ..Default::default()
    };
    let config = state.thread_config(&scope, None).await?;
    let value = json!({
        "model": config.model,
        "model_provider": config.provider_id,
        "approval_policy": config.approval_policy.as_str(),
        "sandbox_mode": config.sandbox_mode.as_str(),
        "model_reasoning_effort": config.model_reasoning_effort,
        "model_context_window": config.model_context_window,
        "model_auto_compact_token_limit": config.model_auto_compact_token_limit,
        "instructions": config.base_instructions,
        "developer_instructions": config.developer_instructions,
        "project_doc_max_bytes": config.project_doc_max_bytes,
    });
    let config = match value {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Ok(ConfigReadResponse {
        config,
        origins: Default::default(),
        layers: None,
    })
}
