//! What an engine is asked to run for one attempt, whatever the engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::{Network, Resources};

/// The label keys every engine object of a task carries (Docker labels, Kubernetes labels).
pub mod labels {
    /// Marks an object as wright's (its value is `true`).
    pub const MANAGED: &str = "dev.wright.cloud/managed";
    /// The task's id.
    pub const TASK: &str = "dev.wright.cloud/task";
    /// The attempt's number (1-based).
    pub const ATTEMPT: &str = "dev.wright.cloud/attempt";
    /// Who drives it: `HOST.PID.START` of the driving process, so a crashed driver's
    /// containers can be told from a live one's.
    pub const DRIVER: &str = "dev.wright.cloud/driver";
}

/// One read-only bind mount (Docker; a hostPath volume on Kubernetes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// On the host.
    pub host: PathBuf,
    /// In the task.
    pub target: String,
}

/// One attempt, ready for an engine.
#[derive(Debug, Clone)]
pub struct AttemptSpec {
    /// The engine object's name: lowercase DNS-label safe, unique per attempt.
    pub name: String,
    /// The image.
    pub image: String,
    /// The command (the entry script: see `entrypoint.rs`).
    pub command: Vec<String>,
    /// Plain environment.
    pub env: Vec<(String, String)>,
    /// Secret values by name: delivered through the engine's secret mechanism (Docker: the
    /// attached stdin of a container that reads them once; Kubernetes: a Secret), never in
    /// the image, the container's config or a log.
    pub secrets: Vec<(String, String)>,
    /// The task's App Server port inside the container or pod.
    pub port: u16,
    /// Caps.
    pub resources: Resources,
    /// What commands can reach.
    pub network: Network,
    /// Labels (see [`labels`]).
    pub labels: BTreeMap<String, String>,
    /// Read-only mounts.
    pub mounts: Vec<Mount>,
    /// The container's seccomp profile (Docker engines); `None`: the engine's default.
    pub seccomp: Option<crate::config::Seccomp>,
}

/// Where the driver reaches a started attempt's App Server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host or IP.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Endpoint {
    /// `ws://host:port`.
    pub fn url(&self) -> String {
        format!("ws://{}:{}", self.host, self.port)
    }
}

/// What the engine says about an attempt's container or pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Created or scheduled, not running yet.
    Pending,
    /// Running.
    Running,
    /// Ended with this exit code.
    Exited(i64),
    /// Ended without one (OOM-killed, evicted, …): the engine's reason.
    Failed(String),
    /// The engine has no such object.
    Missing,
}

/// An engine object of wright's found by label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The engine's id (container id, Job name).
    pub id: String,
    /// [`labels::TASK`].
    pub task: String,
    /// [`labels::ATTEMPT`].
    pub attempt: u32,
    /// [`labels::DRIVER`].
    pub driver: String,
}
