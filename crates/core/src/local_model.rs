//! The model that runs inside wright: its built-in provider, and when it is the default.

use std::collections::BTreeMap;
use std::path::PathBuf;

use wright_models::{Provider, WireApi};

/// The id of the built-in provider that runs the model inside wright.
pub const LOCAL_PROVIDER_ID: &str = "local";

/// The model used when nothing else is configured (`wright models pull` fetches it).
pub const DEFAULT_LOCAL_MODEL: &str = "qwen2.5-coder-0.5b";

/// Local models wright knows how to fetch.
pub const LOCAL_MODELS: &[&str] = &["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"];

pub fn is_local_model(name: &str) -> bool {
    LOCAL_MODELS.contains(&name) || name == "smollm2-135m"
}

/// Where pulled models live: `$WRIGHT_MODELS_DIR`, else `$XDG_DATA_HOME/wright/models`, else
/// `~/.local/share/wright/models`.
pub fn models_dir() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("WRIGHT_MODELS_DIR") {
        return dir;
    }
    if let Some(data) = var("XDG_DATA_HOME") {
        return data.join("wright").join("models");
    }
    var("HOME")
        .unwrap_or_else(|| PathBuf::from("/"))
        .join(".local/share/wright/models")
}

/// The GGUF file of a local model (present or not).
pub fn model_path(name: &str) -> PathBuf {
    models_dir().join(format!("{name}.gguf"))
}

/// The built-in provider for the embedded model `name`: its `base_url` is the GGUF's path.
pub fn local_provider(name: &str) -> Provider {
    Provider {
        name: "wright (embedded)".into(),
        base_url: model_path(name).display().to_string(),
        wire_api: WireApi::Local,
        env_key: None,
        api_key: None,
        query_params: BTreeMap::new(),
        http_headers: BTreeMap::new(),
        env_http_headers: BTreeMap::new(),
        // Nothing to retry over: a local failure is not transient.
        request_max_retries: 0,
        stream_max_retries: 0,
        stream_idle_timeout: Provider::DEFAULT_STREAM_IDLE_TIMEOUT,
    }
}

/// The known local models whose file is present, in the catalog's order.
pub fn installed() -> Vec<String> {
    LOCAL_MODELS
        .iter()
        .filter(|m| model_path(m).is_file())
        .map(|m| m.to_string())
        .collect()
}
