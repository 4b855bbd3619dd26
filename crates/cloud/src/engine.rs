//! One face for the engines, so the driver does not care which runs an attempt.

use std::time::Duration;

use crate::config::{self, Environment};
use crate::docker::DockerEngine;
use crate::spec::{AttemptSpec, Endpoint, Found, RunState};
use crate::CloudError;

/// A connected engine.
#[derive(Clone)]
pub enum Engine {
    /// Docker or Podman.
    Docker(DockerEngine),
    /// Kubernetes.
    #[cfg(feature = "kubernetes")]
    Kubernetes(std::sync::Arc<crate::kubernetes::KubernetesEngine>),
}

impl Engine {
    /// Connects to the environment's engine.
    pub async fn connect(env: &Environment) -> Result<Engine, CloudError> {
        match &env.engine {
            config::Engine::Docker { host } => Ok(Engine::Docker(
                DockerEngine::connect(host.as_deref()).await?,
            )),
            #[cfg(feature = "kubernetes")]
            config::Engine::Kubernetes {
                context,
                namespace,
                egress,
            } => Ok(Engine::Kubernetes(std::sync::Arc::new(
                crate::kubernetes::KubernetesEngine::connect(context.as_deref(), namespace, egress)
                    .await?,
            ))),
            #[cfg(not(feature = "kubernetes"))]
            config::Engine::Kubernetes { .. } => Err(CloudError::Engine {
                engine: "kubernetes",
                message: "this wright was built without Kubernetes support; rebuild it with \
                          `cargo build --release --features wright-cli/kubernetes`"
                    .into(),
            }),
        }
    }

    /// Whether secrets go in on the container's stdin (Docker) or as engine objects.
    pub fn secrets_on_stdin(&self) -> bool {
        matches!(self, Engine::Docker(_))
    }

    /// A line on the engine, for `wright cloud env check`.
    pub async fn check(&self, env: &Environment) -> Result<String, CloudError> {
        match self {
            Engine::Docker(d) => d.check(&env.image).await,
            #[cfg(feature = "kubernetes")]
            Engine::Kubernetes(k) => k.check().await,
        }
    }

    /// Starts one attempt; returns the engine's id for it.
    pub async fn start(&self, spec: &AttemptSpec) -> Result<String, CloudError> {
        match self {
            Engine::Docker(d) => d.start(spec).await,
            #[cfg(feature = "kubernetes")]
            Engine::Kubernetes(k) => k.start(spec).await,
        }
    }

    /// Where the attempt's App Server is reached.
    pub async fn endpoint(
        &self,
        id: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Endpoint, CloudError> {
        match self {
            Engine::Docker(d) => {
                let _ = timeout;
                d.endpoint(id, port).await
            }
            #[cfg(feature = "kubernetes")]
            Engine::Kubernetes(k) => k.endpoint(id, port, timeout).await,
        }
    }

    /// The attempt's state.
    pub async fn state(&self, id: &str) -> Result<RunState, CloudError> {
        match self {
            Engine::Docker(d) => d.state(id).await,
            #[cfg(feature = "kubernetes")]
            Engine::Kubernetes(k) => k.state(id).await,
        }
    }

    /// Its output's tail.
    pub async fn logs(&self, id: &str, lines: i64) -> Result<String, CloudError> {
        match self {
            Engine::Docker(d) => d.logs(id, lines).await,
            #[cfg(feature = "kubernetes")]
            Engine::Kubernetes(k) => k.logs(id, lines).await,
        }
    }

    /// Removes it; a missing one is fine.
    pub async fn remove(&self, id: &str) -> Result<(), CloudError> {
        match self {
            Engine::Docker(d) => d.remove(id).await,
            #[cfg(feature = "kubernetes")]
            Engine::Kubernetes(k) => k.remove(id).await,
        }
    }

    /// Everything of wright's on the engine.
    pub async fn list(&self) -> Result<Vec<Found>, CloudError> {
        match self {
            Engine::Docker(d) => d.list().await,
            #[cfg(feature = "kubernetes")]
            Engine::Kubernetes(k) => k.list().await,
        }
    }
}
