//! The seam for a model that runs inside wright's own process (the embedded local model).
//!
//! The engine (llama.cpp) is heavy and optional, so this crate only defines what it must do:
//! a binary built with it registers a factory at start-up, and a provider whose `wire_api` is
//! [`WireApi::Local`](crate::WireApi::Local) streams from the engine it makes. A binary built
//! without it says so instead of failing obscurely.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::{ApiError, Prompt, ResponseStream};

/// A loaded model that answers prompts in Responses shape.
///
/// `stream` returns at once: generation runs on a thread of the engine's own (never on an
/// async worker), sends `OutputTextDelta`s as tokens come, `OutputItemDone` for each finished
/// message or `function_call` item, then `Completed` with the token counts. It stops as soon
/// as the stream's receiver is dropped (an interrupt).
pub trait LocalEngine: Send + Sync {
    fn stream(&self, prompt: &Prompt) -> Result<ResponseStream, ApiError>;
}

/// Loads the GGUF model at the path (once per process and path; engines are shared).
pub type LocalEngineFactory = fn(&Path) -> Result<Arc<dyn LocalEngine>, ApiError>;

static FACTORY: OnceLock<LocalEngineFactory> = OnceLock::new();

/// Called once by a binary that has the engine compiled in.
pub fn register_local_engine(factory: LocalEngineFactory) {
    let _ = FACTORY.set(factory);
}

pub(crate) fn load(path: &Path) -> Result<Arc<dyn LocalEngine>, ApiError> {
    match FACTORY.get() {
        Some(factory) => factory(path),
        None => Err(ApiError::fatal(
            "this wright was built without the embedded local model (cargo feature `local`); \
             configure a model provider instead",
        )),
    }
}
