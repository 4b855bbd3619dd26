//! The Docker Engine API engine, through `bollard` with API-version negotiation. Podman's
//! `podman system service` speaks the same API, so one engine serves both.
//!
//! Each attempt is one container: labelled (see [`crate::spec::labels`]), with an init as
//! PID 1, its App Server port published on the engine host's loopback, read-only mounts, and
//! the caps of its environment. Secrets go in through the container's attached stdin, read
//! once by the entry script before anything else runs: the Docker API has no secret store for
//! plain containers, and an environment variable would show in `docker inspect`.

use std::collections::HashMap;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::models::{ContainerCreateBody, ContainerStateStatusEnum, HostConfig, PortBinding};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::config::{Network, Seccomp};
use crate::spec::{labels, AttemptSpec, Endpoint, Found, RunState};
use crate::CloudError;

/// The internal network of `network = "none"` attempts: no route leaves it.
pub const ISOLATED_NETWORK: &str = "wright-cloud-isolated";

/// A connection to one Docker or Podman engine.
#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
    /// Where it was reached, for messages.
    address: String,
    /// Where published ports are reached: loopback for a local socket, else the engine's host.
    published_host: String,
}

fn engine_error(what: &str, e: BollardError) -> CloudError {
    let message = match e {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => format!(
            "{what}: the engine answered {status_code}: {}",
            message.trim()
        ),
        BollardError::SocketNotFoundError(path) => {
            format!("{what}: no engine socket at {path}")
        }
        e => format!("{what}: {e}"),
    };
    CloudError::Engine {
        engine: "docker",
        message,
    }
}

fn not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The sockets tried, in order, when neither the environment nor `DOCKER_HOST` names one.
fn default_sockets() -> Vec<String> {
    let mut out = vec![
        "/var/run/docker.sock".to_string(),
        "/run/podman/podman.sock".to_string(),
    ];
    if let Ok(dir) = std::env::var("XDG_RUNTIME_DIR") {
        out.push(format!("{dir}/podman/podman.sock"));
    }
    out
}

impl DockerEngine {
    /// Connects to `host` (`unix://…`, `tcp://…`, `http://…`), else `DOCKER_HOST`, else the
    /// first of Docker's and Podman's usual sockets that exists, and negotiates the API version.
    pub async fn connect(host: Option<&str>) -> Result<DockerEngine, CloudError> {
        let address = match host
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
        {
            Some(h) => h,
            None => {
                let sockets = default_sockets();
                match sockets.iter().find(|p| std::path::Path::new(p).exists()) {
                    Some(p) => format!("unix://{p}"),
                    None => {
                        return Err(CloudError::Engine {
                            engine: "docker",
                            message: format!(
                                "no engine found: none of {} exists and DOCKER_HOST is not set \
                                 (start one, e.g. `podman system service --time=0 &`, or set \
                                 `host` in the environment)",
                                sockets.join(", ")
                            ),
                        })
                    }
                }
            }
        };
        let (docker, published_host) = if let Some(path) = address.strip_prefix("unix://") {
            let d = Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)
                .map_err(|e| engine_error(&format!("connect to {address}"), e))?;
            (d, "127.0.0.1".to_string())
        } else if address.starts_with("tcp://") || address.starts_with("http://") {
            let d = Docker::connect_with_http(&address, 120, bollard::API_DEFAULT_VERSION)
                .map_err(|e| engine_error(&format!("connect to {address}"), e))?;
            let host = address
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split([':', '/']).next())
                .unwrap_or("127.0.0.1")
                .to_string();
            (d, host)
        } else {
            return Err(CloudError::Config(format!(
                "docker host `{address}`: expected unix://PATH, tcp://HOST:PORT or http://HOST:PORT"
            )));
        };
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| engine_error(&format!("reach the engine at {address}"), e))?;
        Ok(DockerEngine {
            docker,
            address,
            published_host,
        })
    }

    /// What the engine is, for `wright cloud env check`: "Podman Engine 4.3.1 (API 1.41) at …".
    pub async fn check(&self, image: &str) -> Result<String, CloudError> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|e| engine_error(&format!("ask {} its version", self.address), e))?;
        let product = v
            .components
            .as_ref()
            .and_then(|c| c.first())
            .map(|c| format!("{} {}", c.name, c.version))
            .unwrap_or_else(|| format!("Docker {}", v.version.clone().unwrap_or_default()));
        self.image_present(image).await?;
        Ok(format!(
            "{product} (API {}) at {}; image {image} present",
            self.docker.client_version(),
            self.address
        ))
    }

    /// Podman's compat API takes a seccomp profile as a path on its host; Docker's takes the
    /// profile's JSON. Asked only when a profile is configured.
    async fn is_podman(&self) -> bool {
        self.docker.version().await.is_ok_and(|v| {
            v.components
                .unwrap_or_default()
                .iter()
                .any(|c| c.name.to_ascii_lowercase().contains("podman"))
        })
    }

    async fn image_present(&self, image: &str) -> Result<(), CloudError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Err(CloudError::ImageMissing(image.to_string())),
            Err(e) => Err(engine_error(&format!("inspect image {image}"), e)),
        }
    }

    async fn ensure_isolated_network(&self) -> Result<(), CloudError> {
        match self.docker.inspect_network(ISOLATED_NETWORK, None).await {
            Ok(_) => return Ok(()),
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(engine_error("inspect the isolated network", e)),
        }
        let request = bollard::models::NetworkCreateRequest {
            name: ISOLATED_NETWORK.to_string(),
            internal: Some(true),
            labels: Some(HashMap::from([(labels::MANAGED.into(), "true".into())])),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(()),
            // Another attempt created it meanwhile.
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(engine_error("create the isolated network", e)),
        }
    }

    /// Creates and starts the attempt's container; returns its id.
    pub async fn start(&self, spec: &AttemptSpec) -> Result<String, CloudError> {
        self.image_present(&spec.image).await?;
        if spec.network == Network::None {
            self.ensure_isolated_network().await?;
        }
        let port_key = format!("{}/tcp", spec.port);
        // A local engine publishes on loopback only; a remote one on its own host.
        let host_ip = if self.published_host == "127.0.0.1" {
            "127.0.0.1"
        } else {
            "0.0.0.0"
        };
        let with_secrets = !spec.secrets.is_empty();
        let seccomp = match &spec.seccomp {
            None => None,
            Some(Seccomp::Unconfined) => Some("unconfined".to_string()),
            Some(Seccomp::Profile(path)) if self.is_podman().await => {
                Some(path.display().to_string())
            }
            Some(Seccomp::Profile(path)) => {
                Some(tokio::fs::read_to_string(path).await.map_err(|e| {
                    CloudError::Config(format!("seccomp profile {}: {e}", path.display()))
                })?)
            }
        };
        let host_config = HostConfig {
            init: Some(true),
            port_bindings: Some(HashMap::from([(
                port_key.clone(),
                Some(vec![PortBinding {
                    host_ip: Some(host_ip.into()),
                    host_port: Some(String::new()),
                }]),
            )])),
            binds: Some(
                spec.mounts
                    .iter()
                    .map(|m| format!("{}:{}:ro", m.host.display(), m.target))
                    .collect(),
            ),
            nano_cpus: spec.resources.cpus.map(|c| (c * 1e9) as i64),
            memory: spec.resources.memory.map(|m| m as i64),
            pids_limit: spec.resources.pids,
            network_mode: (spec.network == Network::None).then(|| ISOLATED_NETWORK.to_string()),
            security_opt: Some(
                std::iter::once("no-new-privileges".to_string())
                    .chain(seccomp.map(|p| format!("seccomp={p}")))
                    .collect(),
            ),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: Some(spec.command.clone()),
            entrypoint: Some(Vec::new()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(spec.labels.clone().into_iter().collect()),
            exposed_ports: Some(vec![port_key]),
            open_stdin: Some(with_secrets),
            stdin_once: Some(with_secrets),
            attach_stdin: Some(with_secrets),
            host_config: Some(host_config),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name(&spec.name)
                        .build(),
                ),
                body,
            )
            .await
            .map_err(|e| engine_error(&format!("create container {}", spec.name), e))?;
        let id = created.id;
        if let Err(e) = self.start_created(&id, spec).await {
            let _ = self.remove(&id).await;
            return Err(e);
        }
        Ok(id)
    }

    async fn start_created(&self, id: &str, spec: &AttemptSpec) -> Result<(), CloudError> {
        if spec.secrets.is_empty() {
            return self
                .docker
                .start_container(id, None)
                .await
                .map_err(|e| engine_error(&format!("start container {}", spec.name), e));
        }
        // Attach before starting, so nothing the script reads is lost.
        let attach = AttachContainerOptionsBuilder::default()
            .stdin(true)
            .stream(true)
            .build();
        let mut attached = self
            .docker
            .attach_container(id, Some(attach))
            .await
            .map_err(|e| engine_error(&format!("attach to container {}", spec.name), e))?;
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| engine_error(&format!("start container {}", spec.name), e))?;
        let payload = crate::entrypoint::secrets_payload(&spec.secrets);
        let write = async {
            attached.input.write_all(payload.as_bytes()).await?;
            attached.input.flush().await?;
            attached.input.shutdown().await
        };
        tokio::time::timeout(Duration::from_secs(30), write)
            .await
            .map_err(|_| CloudError::Engine {
                engine: "docker",
                message: format!(
                    "container {}: handing over the secrets timed out",
                    spec.name
                ),
            })?
            .map_err(|e| CloudError::Engine {
                engine: "docker",
                message: format!("container {}: handing over the secrets: {e}", spec.name),
            })?;
        Ok(())
    }

    /// Where the attempt's App Server is reached (its published port).
    pub async fn endpoint(&self, id: &str, port: u16) -> Result<Endpoint, CloudError> {
        let info = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| engine_error(&format!("inspect container {id}"), e))?;
        let key = format!("{port}/tcp");
        let host_port = info
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|mut p| p.remove(&key))
            .flatten()
            .and_then(|b| b.into_iter().find_map(|b| b.host_port))
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| CloudError::Engine {
                engine: "docker",
                message: format!("container {id} has no published port for {key}"),
            })?;
        Ok(Endpoint {
            host: self.published_host.clone(),
            port: host_port,
        })
    }

    /// The container's state.
    pub async fn state(&self, id: &str) -> Result<RunState, CloudError> {
        // Podman reports states the Docker API does not name (`stopped`, `configured`), and
        // bollard's typed answer then fails to parse. They are passing states; ask again, and
        // if it stays unreadable, wait for the exit status instead.
        let mut tries = 0;
        let info = loop {
            match self.docker.inspect_container(id, None).await {
                Ok(info) => break info,
                Err(e) if not_found(&e) => return Ok(RunState::Missing),
                Err(BollardError::JsonDataError { .. }) if tries < 8 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(BollardError::JsonDataError { .. }) => return self.exit_status(id).await,
                Err(e) => return Err(engine_error(&format!("inspect container {id}"), e)),
            }
        };
        let Some(state) = info.state else {
            return Ok(RunState::Pending);
        };
        if state.oom_killed == Some(true) {
            return Ok(RunState::Failed(
                "killed for using more memory than the environment allows".into(),
            ));
        }
        Ok(match state.status {
            Some(ContainerStateStatusEnum::RUNNING) => RunState::Running,
            Some(ContainerStateStatusEnum::CREATED) => RunState::Pending,
            Some(ContainerStateStatusEnum::EXITED) | Some(ContainerStateStatusEnum::DEAD) => {
                RunState::Exited(state.exit_code.unwrap_or(-1))
            }
            Some(other) => match state.error.filter(|e| !e.is_empty()) {
                Some(error) => RunState::Failed(error),
                None => RunState::Failed(format!("container is {other}")),
            },
            None => RunState::Pending,
        })
    }

    async fn exit_status(&self, id: &str) -> Result<RunState, CloudError> {
        let mut wait = self.docker.wait_container(id, None);
        match tokio::time::timeout(Duration::from_secs(5), wait.next()).await {
            Ok(Some(Ok(r))) => Ok(RunState::Exited(r.status_code)),
            Ok(Some(Err(BollardError::DockerContainerWaitError { code, .. }))) => {
                Ok(RunState::Exited(code))
            }
            Ok(Some(Err(e))) if not_found(&e) => Ok(RunState::Missing),
            Ok(Some(Err(e))) => Err(engine_error(&format!("wait for container {id}"), e)),
            Ok(None) => Ok(RunState::Missing),
            Err(_) => Ok(RunState::Running),
        }
    }

    /// The last `lines` lines of the container's output.
    pub async fn logs(&self, id: &str, lines: i64) -> Result<String, CloudError> {
        // The whole log, cut here: Podman's `tail` reorders the pieces of a line.
        const MAX: usize = 4 << 20;
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .build();
        let mut stream = self.docker.logs(id, Some(options));
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => {
                    out.extend_from_slice(&chunk.into_bytes());
                    if out.len() > MAX {
                        out.drain(..out.len() - MAX / 2);
                    }
                }
                Err(e) if out.is_empty() => {
                    return Err(engine_error(&format!("read the logs of {id}"), e))
                }
                Err(_) => break,
            }
        }
        let text = String::from_utf8_lossy(&out);
        let all: Vec<&str> = text.lines().collect();
        let keep = all.len().saturating_sub(lines.max(0) as usize);
        Ok(all[keep..].join("\n"))
    }

    /// Removes the container (killing it if it runs); a missing one is fine.
    pub async fn remove(&self, id: &str) -> Result<(), CloudError> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(engine_error(&format!("remove container {id}"), e)),
        }
    }

    /// Every container of wright's on this engine.
    pub async fn list(&self) -> Result<Vec<Found>, CloudError> {
        let filters: HashMap<String, Vec<String>> = HashMap::from([(
            "label".to_string(),
            vec![format!("{}=true", labels::MANAGED)],
        )]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| engine_error("list wright's containers", e))?;
        Ok(containers
            .into_iter()
            .filter_map(|c| {
                let labels_of = c.labels.unwrap_or_default();
                Some(Found {
                    id: c.id?,
                    task: labels_of.get(labels::TASK)?.clone(),
                    attempt: labels_of.get(labels::ATTEMPT)?.parse().ok()?,
                    driver: labels_of.get(labels::DRIVER).cloned().unwrap_or_default(),
                })
            })
            .collect())
    }
}
