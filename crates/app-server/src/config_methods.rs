//! `config/read`, `config/value/write`, `config/batchWrite`, `configRequirements/read`,
//! `permissionProfile/list` and `experimentalFeature/list`.
//!
//! The layers are wright's own (the user's config.toml, the selected profile, the session's
//! `-c` overrides): see `wright_core::config_layers`. Keys wright accepts but does not act on,
//! and unknown keys, are reported with a `configWarning` notification naming each one, sent
//! before the `config/read` result (and after a write that sets one).

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use wright_core::config::{CliOverrides, Config, ConfigError};
use wright_core::config_edit::{self, Edit, Strategy, WriteError};
use wright_core::config_layers::{value_at, version_of, LayerSource, LayerStack};
use wright_protocol::v2::{
    ConfigBatchWriteParams, ConfigLayer, ConfigLayerMetadata, ConfigLayerSource, ConfigReadParams,
    ConfigReadResponse, ConfigRequirementsReadResponse, ConfigValueWriteParams,
    ConfigWarningNotification, ConfigWriteErrorCode, ConfigWriteErrorData, ConfigWriteResponse,
    ExperimentalFeature, ExperimentalFeatureListParams, ExperimentalFeatureListResponse,
    MergeStrategy, NoParams, OverriddenMetadata, PermissionProfileListParams,
    PermissionProfileListResponse, PermissionProfileSummary, ServerNotification, WriteStatus,
};

use crate::conn::ConnHandle;
use crate::rpc::RpcError;
use crate::state::State;

/// `config/read`: the merged config, where each key comes from, and (with `includeLayers`)
/// the layers, highest precedence first. A config that does not type-check is still shown
/// (so a client can fix it), with a `configWarning` saying what is wrong.
pub(crate) async fn config_read(
    state: &Arc<State>,
    conn: &ConnHandle,
    params: ConfigReadParams,
) -> Result<ConfigReadResponse, RpcError> {
    // `cwd` selects project layers in Codex; wright has none, so every cwd reads the same.
    let _ = params.cwd;
    let (home, overrides) = home_and_overrides(state);
    let (stack, config) = blocking(move || {
        let stack = LayerStack::load(&home, &overrides)?;
        let config = Config::from_stack(&stack, &home, &overrides);
        Ok::<_, ConfigError>((stack, config))
    })
    .await?
    .map_err(|e| RpcError::internal(format!("cannot read the config: {e}")))?;
    match &config {
        Ok(config) => warn_unused(conn, &stack, config, |_| true),
        Err(e) => notify(
            conn,
            ServerNotification::ConfigWarning(ConfigWarningNotification {
                summary: format!("the config is not valid: {e}"),
                details: Some("threads cannot start until it is fixed".into()),
                path: layer_file(&stack.layers()[0].source),
                range: None,
            }),
        ),
    }
    let metadata: Vec<ConfigLayerMetadata> = stack.layers().iter().map(layer_metadata).collect();
    let origins = stack
        .origins()
        .into_iter()
        .map(|(key, i)| (key, metadata[i].clone()))
        .collect();
    let layers = params.include_layers.unwrap_or(false).then(|| {
        stack
            .layers()
            .iter()
            .zip(&metadata)
            .rev()
            .map(|(layer, meta)| ConfigLayer {
                name: meta.name.clone(),
                version: meta.version.clone(),
                config: Value::Object(toml_table_to_json(&layer.table)),
                disabled_reason: None,
            })
            .collect()
    });
    Ok(ConfigReadResponse {
        config: toml_table_to_json(&stack.effective()),
        origins,
        layers,
    })
}

/// `config/value/write`: one edit of the user's config.toml.
pub(crate) async fn config_value_write(
    state: &Arc<State>,
    conn: &ConnHandle,
    params: ConfigValueWriteParams,
) -> Result<ConfigWriteResponse, RpcError> {
    let edit = Edit {
        key_path: params.key_path,
        value: params.value,
        strategy: strategy(params.merge_strategy),
    };
    write(
        state,
        conn,
        params.file_path,
        params.expected_version,
        vec![edit],
    )
    .await
}

/// `config/batchWrite`: several edits, all or none.
pub(crate) async fn config_batch_write(
    state: &Arc<State>,
    conn: &ConnHandle,
    params: ConfigBatchWriteParams,
) -> Result<ConfigWriteResponse, RpcError> {
    let edits: Vec<Edit> = params
        .edits
        .into_iter()
        .map(|e| Edit {
            key_path: e.key_path,
            value: e.value,
            strategy: strategy(e.merge_strategy),
        })
        .collect();
    let response = write(
        state,
        conn,
        params.file_path,
        params.expected_version,
        edits,
    )
    .await?;
    if params.reload_user_config == Some(true) {
        notify(
            conn,
            ServerNotification::ConfigWarning(ConfigWarningNotification {
                summary: "reloadUserConfig: wright does not reload loaded threads".into(),
                details: Some(
                    "the new config applies to threads started or resumed from now on".into(),
                ),
                path: Some(response.file_path.clone()),
                range: None,
            }),
        );
    }
    Ok(response)
}

/// `configRequirements/read`: wright has no managed requirements.
pub(crate) fn config_requirements_read(
    _: NoParams,
) -> Result<ConfigRequirementsReadResponse, RpcError> {
    Ok(ConfigRequirementsReadResponse::default())
}

/// Codex's built-in permission profiles are wright's sandbox modes.
const PERMISSION_PROFILES: [(&str, &str); 3] = [
    (
        ":read-only",
        "sandbox_mode = \"read-only\": commands read the filesystem, write nothing, no network",
    ),
    (
        ":workspace",
        "sandbox_mode = \"workspace-write\": commands write the workspace and temp dirs; network per sandbox_workspace_write.network_access",
    ),
    (
        ":danger-full-access",
        "sandbox_mode = \"danger-full-access\": no sandbox",
    ),
];

/// `permissionProfile/list`: the sandbox modes, all allowed (there are no requirements).
pub(crate) fn permission_profile_list(
    params: PermissionProfileListParams,
) -> Result<PermissionProfileListResponse, RpcError> {
    // `cwd` selects project layers in Codex; wright's list does not depend on it.
    let all: Vec<PermissionProfileSummary> = PERMISSION_PROFILES
        .iter()
        .map(|(id, description)| PermissionProfileSummary {
            id: id.to_string(),
            description: Some(description.to_string()),
            allowed: true,
        })
        .collect();
    let (data, next_cursor) = crate::paging::page(&all, params.cursor.as_deref(), params.limit)?;
    Ok(PermissionProfileListResponse { data, next_cursor })
}

/// `experimentalFeature/list`: wright has no feature flags (`[features]` is accepted and
/// reported as not acted on), so the list is empty.
pub(crate) fn experimental_feature_list(
    params: ExperimentalFeatureListParams,
) -> Result<ExperimentalFeatureListResponse, RpcError> {
    let none: [ExperimentalFeature; 0] = [];
    let (data, next_cursor) = crate::paging::page(&none, params.cursor.as_deref(), params.limit)?;
    Ok(ExperimentalFeatureListResponse { data, next_cursor })
}

async fn write(
    state: &Arc<State>,
    conn: &ConnHandle,
    file_path: Option<String>,
    expected_version: Option<String>,
    edits: Vec<Edit>,
) -> Result<ConfigWriteResponse, RpcError> {
    let (home, overrides) = home_and_overrides(state);
    let outcome = blocking(move || {
        config_edit::write_user_config(
            &home,
            &overrides,
            file_path.as_deref(),
            expected_version.as_deref(),
            &edits,
        )
    })
    .await?
    .map_err(write_error)?;
    // A key just written that wright will not act on is said so now.
    let paths = &outcome.paths;
    warn_unused(conn, &outcome.stack, &outcome.config, |key| {
        let key: Vec<&str> = key.split('.').collect();
        paths.iter().any(|p| {
            let n = p.len().min(key.len());
            p.iter()
                .take(n)
                .map(String::as_str)
                .eq(key.iter().take(n).copied())
        })
    });
    let overridden_metadata = outcome
        .paths
        .iter()
        .find_map(|path| overridden(&outcome.stack, path));
    Ok(ConfigWriteResponse {
        status: if overridden_metadata.is_some() {
            WriteStatus::OkOverridden
        } else {
            WriteStatus::Ok
        },
        version: outcome.version,
        file_path: outcome.file.display().to_string(),
        overridden_metadata,
    })
}

/// When a layer above the user's decides the value at `path`.
fn overridden(stack: &LayerStack, path: &[String]) -> Option<OverriddenMetadata> {
    let (i, effective) = stack.winner(path)?;
    if i == 0 {
        return None;
    }
    let layer = &stack.layers()[i];
    let message = match &layer.source {
        LayerSource::SessionFlags => "Overridden by session flags".to_string(),
        LayerSource::Profile { name, file } => {
            format!("Overridden by profile `{name}`: {}", file.display())
        }
        LayerSource::User { file } => format!("Overridden by user config: {}", file.display()),
    };
    // The effective value is the merge of the layers, not the overriding layer alone.
    let merged = stack.effective();
    Some(OverriddenMetadata {
        message,
        overriding_layer: layer_metadata(layer),
        effective_value: value_at(&merged, path)
            .map(toml_to_json)
            .unwrap_or_else(|| toml_to_json(effective)),
    })
}

/// A `configWarning` for each unused key `select` picks, naming the file that sets it.
fn warn_unused(
    conn: &ConnHandle,
    stack: &LayerStack,
    config: &Config,
    select: impl Fn(&str) -> bool,
) {
    let origins = stack.origins();
    for key in config.unused_keys.iter().filter(|k| select(k)) {
        let Some(summary) = config
            .warnings
            .iter()
            .find(|w| w.contains(&format!("`{key}`")))
        else {
            continue;
        };
        let prefix = format!("{key}.");
        let layer = origins
            .iter()
            .find(|(k, _)| *k == key || k.starts_with(&prefix))
            .map(|(_, i)| *i);
        notify(
            conn,
            ServerNotification::ConfigWarning(ConfigWarningNotification {
                summary: summary.clone(),
                details: None,
                path: layer.and_then(|i| layer_file(&stack.layers()[i].source)),
                range: None,
            }),
        );
    }
}

fn write_error(e: WriteError) -> RpcError {
    let code = match &e {
        WriteError::ReadOnly(_) => ConfigWriteErrorCode::ConfigLayerReadonly,
        WriteError::VersionConflict(_) => ConfigWriteErrorCode::ConfigVersionConflict,
        WriteError::Validation(_) => ConfigWriteErrorCode::ConfigValidationError,
        WriteError::PathNotFound(_) => ConfigWriteErrorCode::ConfigPathNotFound,
        WriteError::Io { .. } => return RpcError::internal(e.to_string()),
    };
    let data = ConfigWriteErrorData {
        config_write_error_code: code,
    };
    let err = RpcError::invalid_request(e.to_string());
    match serde_json::to_value(data) {
        Ok(data) => err.with_data(data),
        Err(_) => err,
    }
}

fn strategy(s: MergeStrategy) -> Strategy {
    match s {
        MergeStrategy::Replace => Strategy::Replace,
        MergeStrategy::Upsert => Strategy::Upsert,
    }
}

fn layer_metadata(layer: &wright_core::config_layers::Layer) -> ConfigLayerMetadata {
    let name = match &layer.source {
        LayerSource::User { file } => ConfigLayerSource::User {
            file: absolute(file),
            profile: None,
        },
        // Codex's "profile-v2 layered on top of the base user config".
        LayerSource::Profile { name, file } => ConfigLayerSource::User {
            file: absolute(file),
            profile: Some(name.clone()),
        },
        LayerSource::SessionFlags => ConfigLayerSource::SessionFlags,
    };
    ConfigLayerMetadata {
        name,
        version: version_of(&layer.table),
    }
}

fn layer_file(source: &LayerSource) -> Option<String> {
    match source {
        LayerSource::User { file } | LayerSource::Profile { file, .. } => Some(absolute(file)),
        LayerSource::SessionFlags => None,
    }
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// TOML as JSON; dates become their TOML text (JSON has no date type).
pub(crate) fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(toml_table_to_json(t)),
    }
}

fn toml_table_to_json(table: &toml::Table) -> Map<String, Value> {
    table
        .iter()
        .map(|(k, v)| (k.clone(), toml_to_json(v)))
        .collect()
}

pub(crate) fn home_and_overrides(state: &State) -> (std::path::PathBuf, CliOverrides) {
    (
        state.options.wright_home.clone(),
        state.options.overrides.clone(),
    )
}

/// The typed config as the server's threads would get it (before a thread's own settings).
pub(crate) async fn load_config(state: &State) -> Result<Config, RpcError> {
    let (home, overrides) = home_and_overrides(state);
    blocking(move || {
        let stack = LayerStack::load(&home, &overrides)?;
        Config::from_stack(&stack, &home, &overrides)
    })
    .await?
    .map_err(|e| RpcError::invalid_request(format!("config: {e}")))
}

/// Runs file work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RpcError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| RpcError::internal(format!("internal error: {e}")))
}

/// Sends a notification to one connection.
pub(crate) fn notify(conn: &ConnHandle, notification: ServerNotification) {
    conn.notify(&notification);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_nested_tables_as_json() {
        let t: toml::Table = "d = 1979-05-27T07:32:00Z\n[a]\nb = [1, 2.5]\n"
            .parse()
            .unwrap();
        let j = Value::Object(toml_table_to_json(&t));
        assert_eq!(
            j,
            serde_json::json!({"d": "1979-05-27T07:32:00Z", "a": {"b": [1, 2.5]}})
        );
    }

    #[test]
    fn overridden_names_the_winning_layer() {
        let o = CliOverrides {
            config: vec!["model=\"flag\"".into()],
            ..Default::default()
        };
        let user: toml::Table = "model = \"file\"\napproval_policy = \"never\"\n"
            .parse()
            .unwrap();
        let stack = LayerStack::with_user_table(user, Path::new("/h"), &o).unwrap();
        let meta = overridden(&stack, &["model".to_string()]).unwrap();
        assert_eq!(meta.overriding_layer.name, ConfigLayerSource::SessionFlags);
        assert_eq!(meta.effective_value, serde_json::json!("flag"));
        assert!(overridden(&stack, &["approval_policy".to_string()]).is_none());
    }

    #[test]
    fn write_errors_carry_codexs_code() {
        let e = write_error(WriteError::VersionConflict("stale".into()));
        assert_eq!(e.code, wright_protocol::jsonrpc::INVALID_REQUEST);
        assert_eq!(
            e.data,
            Some(serde_json::json!({"config_write_error_code": "configVersionConflict"}))
        );
        let e = write_error(WriteError::Validation("bad".into()));
        assert_eq!(
            e.data,
            Some(serde_json::json!({"config_write_error_code": "configValidationError"}))
        );
    }
}
