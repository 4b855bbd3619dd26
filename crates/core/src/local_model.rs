//! The model that runs inside wright: its built-in provider, and when it is the default. The
//! models themselves (names, pinned sums, where they live) are `wright_model_store`'s.

use std::path::PathBuf;

use wright_model_store::ModelStore;
use wright_models::Provider;

/// The id of the built-in provider that runs the model inside wright.
pub const LOCAL_PROVIDER_ID: &str = "local";

/// The model used when nothing else is configured (`wright models pull` fetches it).
pub const DEFAULT_LOCAL_MODEL: &str = wright_model_store::DEFAULT_MODEL;

/// Whether `name` is a model wright can run itself.
pub fn is_local_model(name: &str) -> bool {
    wright_model_store::find(name).is_some()
}

/// The GGUF file of a local model (present or not). An unusable models directory (a relative
/// `XDG_DATA_HOME` and no HOME) gives a path that does not exist, and so the "not installed"
/// message that names it.
pub fn model_path(name: &str) -> PathBuf {
    match ModelStore::from_env() {
        Ok(store) => store.model_path(name),
        Err(e) => PathBuf::from(format!("<no models directory: {e}>/{name}.gguf")),
    }
}

/// The built-in provider for the embedded model `name`: its `base_url` is the GGUF's path.
pub fn local_provider(name: &str) -> Provider {
    Provider::local("wright (embedded)", &model_path(name))
}

/// The known local models that are installed (complete), in the registry's order; test-only
/// (hidden) models are not offered.
pub fn installed() -> Vec<String> {
    let Ok(store) = ModelStore::from_env() else {
        return Vec::new();
    };
    wright_model_store::known_models()
        .iter()
        .filter(|m| !m.hidden && store.path(m.name).is_some())
        .map(|m| m.name.to_string())
        .collect()
}
