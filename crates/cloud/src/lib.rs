//! Cloud tasks: a task's attempts run in containers (Docker Engine API, which Podman speaks
//! too) or as Kubernetes Jobs. Each runs `wright app-server` behind a per-attempt token, and
//! this process drives it over the App Server protocol, keeping what arrives in the local
//! store. The engines schedule; wright brings no scheduler of its own.

pub mod config;
pub mod docker;
pub mod driver;
pub mod engine;
pub mod entrypoint;
pub mod git;
pub mod remote;
pub mod spec;

#[cfg(feature = "kubernetes")]
pub mod kubernetes;

/// What can go wrong with a cloud task.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// `[cloud]` in config.toml is wrong.
    #[error("config: {0}")]
    Config(String),
    /// The engine could not be reached or refused a request.
    #[error("{engine}: {message}")]
    Engine {
        /// `docker` or `kubernetes`.
        engine: &'static str,
        /// What it said, with what we asked.
        message: String,
    },
    /// The image is not there (no registry is asked).
    #[error(
        "image `{0}` is not present on the engine; build it first (see the README's cloud section)"
    )]
    ImageMissing(String),
    /// The task's App Server misbehaved or went away.
    #[error("the task's app server: {0}")]
    Remote(String),
    /// The local store.
    #[error("store: {0}")]
    Store(#[from] wright_store::StoreError),
    /// A local file or process.
    #[error("{0}")]
    Io(String),
}
