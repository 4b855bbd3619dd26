//! `model/list`, `modelProvider/list` and `modelProvider/capabilities/read`.
//!
//! `model/list` asks the provider (`GET {base_url}/models`, with its credentials) and falls
//! back to wright's built-in catalog when the provider is unreachable, slow or has no model
//! list; either way the configured model is listed first, as the default.

use std::sync::Arc;
use std::time::Duration;

use wright_core::catalog::{model_info, KNOWN_MODELS};
use wright_core::config::{ProviderEntry, OPENAI_PROVIDER_ID};
use wright_models::{ModelClient, Provider};
use wright_protocol::v2::{
    GatewayAuth, InputModality, Model, ModelListParams, ModelListResponse,
    ModelProviderCapabilitiesReadParams, ModelProviderCapabilitiesReadResponse,
    ModelProviderListParams, ModelProviderListResponse, ModelProviderSummary, ProviderSettings,
    ReasoningEffort, ReasoningEffortOption,
};

use crate::config_methods::load_config;
use crate::rpc::RpcError;
use crate::state::State;

/// How long `model/list` waits for the provider before using the built-in catalog.
const MODEL_LIST_TIMEOUT: Duration = Duration::from_secs(5);

/// `model/list`: the provider's models (or the built-in catalog), paged as Codex pages.
pub(crate) async fn model_list(
    state: &Arc<State>,
    params: ModelListParams,
) -> Result<ModelListResponse, RpcError> {
    let config = load_config(state).await?;
    let provider_id = params
        .model_provider
        .clone()
        .unwrap_or_else(|| config.provider_id.clone());
    let Some(entry) = config.providers.get(&provider_id) else {
        let known: Vec<&str> = config.providers.keys().map(String::as_str).collect();
        return Err(RpcError::invalid_params(format!(
            "`modelProvider`: unknown provider `{provider_id}` (known: {})",
            known.join(", ")
        )));
    };
    let provider = entry.provider.clone();
    // The configured model is the default of the configured provider only.
    let default = (provider_id == config.provider_id).then(|| config.model.clone());
    let listed = if provider.wire_api == wright_models::WireApi::Local {
        // The embedded engine lists what is installed; nothing to ask over the network.
        let installed = tokio::task::spawn_blocking(wright_core::local_model::installed)
            .await
            .unwrap_or_default();
        Ok(installed).and_then(|ids: Vec<String>| {
            if ids.is_empty() {
                Err("no local model is installed (wright models pull)".to_string())
            } else {
                Ok(ids)
            }
        })
    } else {
        listed_models(&provider).await
    };
    let ids = match listed {
        Ok(ids) => ids,
        Err(why) => {
            tracing::info!(
                "model/list: using the built-in catalog for provider `{provider_id}`: {why}"
            );
            KNOWN_MODELS.iter().map(|m| m.to_string()).collect()
        }
    };
    // Installed local models run whatever the provider (a local model name selects the
    // embedded engine), so they are offered too.
    let mut ids = ids;
    if provider.wire_api != wright_models::WireApi::Local {
        let installed = tokio::task::spawn_blocking(wright_core::local_model::installed)
            .await
            .unwrap_or_default();
        for m in installed {
            if !ids.contains(&m) {
                ids.push(m);
            }
        }
    }
    let models = catalog(ids, default.as_deref(), &provider);
    let include_hidden = params.include_hidden.unwrap_or(false);
    let visible: Vec<Model> = models
        .into_iter()
        .filter(|m| include_hidden || !m.hidden)
        .collect();
    let (data, next_cursor) =
        crate::paging::page(&visible, params.cursor.as_deref(), params.limit)?;
    Ok(ModelListResponse { data, next_cursor })
}

async fn listed_models(provider: &Provider) -> Result<Vec<String>, String> {
    let client = ModelClient::new(provider.clone()).map_err(|e| e.to_string())?;
    let ids = client
        .list_models(MODEL_LIST_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    if ids.is_empty() {
        return Err("the provider listed no models".into());
    }
    Ok(ids)
}

/// The models to show: `default` first (added when the list lacks it), then the rest in the
/// provider's order.
fn catalog(ids: Vec<String>, default: Option<&str>, provider: &Provider) -> Vec<Model> {
    let mut ordered: Vec<String> = Vec::with_capacity(ids.len() + 1);
    if let Some(d) = default {
        ordered.push(d.to_string());
    }
    ordered.extend(ids.into_iter().filter(|id| Some(id.as_str()) != default));
    ordered
        .into_iter()
        .map(|id| {
            let is_default = Some(id.as_str()) == default;
            model(&id, is_default, provider)
        })
        .collect()
}

fn model(id: &str, is_default: bool, provider: &Provider) -> Model {
    let local = wright_core::local_model::is_local_model(id);
    let wire = if local {
        wright_models::WireApi::Local
    } else {
        provider.wire_api
    };
    let info = model_info(id, wire);
    let (supported, default_effort) = match info.default_effort {
        Some(default) if info.reasoning => (
            [
                ("low", "Fast responses with lighter reasoning"),
                ("medium", "Balances speed and reasoning depth"),
                ("high", "Greater reasoning depth for complex problems"),
            ]
            .iter()
            .map(|(effort, description)| ReasoningEffortOption {
                reasoning_effort: ReasoningEffort::new(*effort),
                description: description.to_string(),
            })
            .collect(),
            default,
        ),
        // wright sends no reasoning settings to a model that does not reason.
        _ => (Vec::new(), "none"),
    };
    Model {
        id: id.to_string(),
        model: id.to_string(),
        upgrade: None,
        upgrade_info: None,
        availability_nux: None,
        display_name: id.to_string(),
        description: if local {
            format!("{id}, running inside wright on this machine")
        } else {
            format!("{id} via {}", provider.name)
        },
        model_specialty: None,
        hidden: !is_default && not_for_chat(id),
        supported_reasoning_efforts: supported,
        default_reasoning_effort: ReasoningEffort::new(default_effort),
        input_modalities: if local {
            vec![InputModality::Text]
        } else {
            vec![InputModality::Text, InputModality::Image]
        },
        supports_personality: false,
        multi_agent_version: None,
        additional_speed_tiers: Vec::new(),
        service_tiers: Vec::new(),
        default_service_tier: None,
        available_access_programs: None,
        is_default,
    }
}

/// Models an OpenAI-style list carries that cannot run a coding turn (embeddings, speech,
/// images, moderation, legacy completions): hidden unless `includeHidden`.
fn not_for_chat(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    [
        "embedding",
        "tts",
        "whisper",
        "transcribe",
        "dall-e",
        "gpt-image",
        "moderation",
        "davinci",
        "babbage",
        "realtime",
        "audio",
        "search",
    ]
    .iter()
    .any(|w| id.contains(w))
}

/// `modelProvider/list`: the built-in `openai` and every usable `[model_providers.*]`.
pub(crate) async fn model_provider_list(
    state: &Arc<State>,
    _: ModelProviderListParams,
) -> Result<ModelProviderListResponse, RpcError> {
    let config = load_config(state).await?;
    let data = config
        .providers
        .iter()
        .map(|(id, entry)| summary(id, entry))
        .collect();
    Ok(ModelProviderListResponse {
        data,
        default_provider_id: config.provider_id,
        // modelProvider/config/write is not implemented (config/value/write can set
        // `model_provider`).
        can_change_default: false,
    })
}

fn summary(id: &str, entry: &ProviderEntry) -> ModelProviderSummary {
    let p = &entry.provider;
    let settings = if id == OPENAI_PROVIDER_ID {
        ProviderSettings::Openai
    } else if entry.openai_auth {
        ProviderSettings::CustomGateway {
            auth: GatewayAuth::ExternallyConfigured {
                env_key: p.env_key.clone(),
            },
        }
    } else if let Some(env_key) = &p.env_key {
        ProviderSettings::CustomGateway {
            auth: GatewayAuth::EnvironmentVariable {
                env_key: env_key.clone(),
            },
        }
    } else if !p.http_headers.is_empty() || !p.env_http_headers.is_empty() {
        ProviderSettings::CustomGateway {
            auth: GatewayAuth::ExternallyConfigured { env_key: None },
        }
    } else {
        ProviderSettings::CustomGateway {
            auth: GatewayAuth::None,
        }
    };
    ModelProviderSummary {
        id: id.to_string(),
        name: p.name.clone(),
        // The embedded model has no endpoint (its "base URL" is a file path).
        base_url: if p.wire_api == wright_models::WireApi::Local {
            None
        } else {
            displayable(&p.base_url)
        },
        can_edit: false,
        settings,
    }
}

/// A base URL with credentials (`user:pass@`) or a query string (keys) is not shown.
fn displayable(url: &str) -> Option<String> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    (!authority.contains('@') && !url.contains('?')).then(|| url.to_string())
}

/// `modelProvider/capabilities/read`: wright offers no hosted image generation or web
/// search, whatever the provider.
pub(crate) fn model_provider_capabilities_read(
    _: ModelProviderCapabilitiesReadParams,
) -> Result<ModelProviderCapabilitiesReadResponse, RpcError> {
    Ok(ModelProviderCapabilitiesReadResponse {
        image_generation: false,
        web_search: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Provider {
        Provider {
            name: "Local".into(),
            base_url: "http://127.0.0.1:1/v1".into(),
            wire_api: wright_models::WireApi::Responses,
            env_key: None,
            api_key: None,
            query_params: Default::default(),
            http_headers: Default::default(),
            env_http_headers: Default::default(),
            request_max_retries: 0,
            stream_max_retries: 0,
            stream_idle_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_default_comes_first_and_non_chat_models_hide() {
        let ids = vec![
            "text-embedding-3-small".to_string(),
            "o3".to_string(),
            "gpt-5.5".to_string(),
        ];
        let models = catalog(ids, Some("gpt-5.5"), &provider());
        let names: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(names, ["gpt-5.5", "text-embedding-3-small", "o3"]);
        assert!(models[0].is_default && !models[1].is_default);
        assert!(models[1].hidden && !models[2].hidden);
        assert_eq!(models[2].default_reasoning_effort.as_str(), "medium");
        assert_eq!(models[2].supported_reasoning_efforts.len(), 3);
        // A configured model the provider does not list is still offered, as the default.
        let models = catalog(vec!["o3".into()], Some("my-model"), &provider());
        assert_eq!(models[0].id, "my-model");
        assert!(models[0].is_default);
        assert_eq!(models[0].default_reasoning_effort.as_str(), "none");
    }

    #[test]
    fn credentials_in_a_url_are_not_shown() {
        assert_eq!(
            displayable("https://api.openai.com/v1").as_deref(),
            Some("https://api.openai.com/v1")
        );
        assert_eq!(displayable("https://user:pw@host/v1"), None);
        assert_eq!(displayable("https://host/v1?key=secret"), None);
        assert!(displayable("https://host/v1/@scope").is_some());
    }
}
