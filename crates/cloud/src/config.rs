//! `[cloud.environments.NAME]` in config.toml: where a task's attempts run and what they get.
//!
//! ```toml
//! [cloud.environments.dev]
//! engine = "docker"                      # or "kubernetes"
//! image = "localhost/wright-base:bookworm"
//! wright = "mount"                       # the host's own binary, read-only; or a path in the image
//! repository = "mount"                   # the local checkout, read-only, cloned inside; or "clone"
//! url = "https://git.example.com/r.git"  # with repository = "clone"
//! network = "off"                        # "off" | "on" | "none"
//! setup = "npm ci"                       # runs in /workspace before the agent starts
//! secrets = ["OPENAI_API_KEY"]           # names only; values come from this process's environment
//! resources = { cpus = 2, memory = "4g", pids = 1024 }
//! config = { model = "gpt-5.1-codex" }   # `-c` overrides for the task's wright
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::CloudError;

/// Which engine runs an environment's attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// The Docker Engine API: Docker itself, or Podman's `podman system service`.
    Docker {
        /// `unix:///path`, `tcp://host:port` or `http://host:port`; `None`: `DOCKER_HOST`, then
        /// the usual sockets of Docker and of Podman.
        host: Option<String>,
    },
    /// A Kubernetes cluster: one Job per attempt.
    Kubernetes {
        /// The kubeconfig context (`None`: the current one).
        context: Option<String>,
        /// Where the Jobs go.
        namespace: String,
        /// CIDRs a task may still reach when `network = "off"` (the model's endpoint).
        egress: Vec<String>,
    },
}

impl Engine {
    /// `docker` or `kubernetes`, as written in config.toml.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Docker { .. } => "docker",
            Engine::Kubernetes { .. } => "kubernetes",
        }
    }
}

/// Where the task's `wright` binary comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrightBinary {
    /// The host's own binary, bind-mounted read-only (the image needs only its libraries).
    Mount,
    /// A binary already in the image, at this path.
    InImage(String),
}

/// How the repository gets into the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repository {
    /// The local checkout's repository is mounted read-only and cloned inside, at the branch's
    /// commit: the task never writes the user's files.
    Mount,
    /// The task clones `url` at the branch itself (needs the network during setup).
    Clone {
        /// What `git clone` gets.
        url: String,
    },
}

/// What commands inside the task can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// The agent's commands have no network (wright's sandbox in the task gives each its own
    /// network namespace); the task's wright still reaches its model. On Kubernetes a
    /// NetworkPolicy also limits the pod's egress to DNS and `egress`.
    Off,
    /// Commands have the network.
    On,
    /// Nothing leaves the task at all (an internal network): for the embedded model.
    None,
}

impl Network {
    /// `off`, `on` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Off => "off",
            Network::On => "on",
            Network::None => "none",
        }
    }
}

/// Caps on an attempt's container or pod.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// CPUs (fractions allowed).
    pub cpus: Option<f64>,
    /// Memory in bytes.
    pub memory: Option<u64>,
    /// Processes and threads.
    pub pids: Option<i64>,
}

/// One `[cloud.environments.NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// Its name in config.toml.
    pub name: String,
    /// Which engine runs it.
    pub engine: Engine,
    /// The image every attempt starts from.
    pub image: String,
    /// Where `wright` comes from.
    pub wright: WrightBinary,
    /// How the repository gets in.
    pub repository: Repository,
    /// What commands can reach.
    pub network: Network,
    /// A shell script run in the workspace before the agent starts.
    pub setup: Option<String>,
    /// Names of environment variables whose values the task gets through the engine's secret
    /// mechanism.
    pub secrets: Vec<String>,
    /// Caps.
    pub resources: Resources,
    /// `-c key=value` overrides for the task's `wright app-server`, already in TOML form.
    pub config: Vec<(String, String)>,
    /// Extra read-only mounts `host:container` (Docker), e.g. a models folder.
    pub mounts: Vec<(PathBuf, String)>,
    /// The container's seccomp profile (Docker): the engine's default when `None`.
    pub seccomp: Option<Seccomp>,
}

/// A container's seccomp profile, when the engine's default will not do. Docker's default
/// forbids the user namespaces wright's sandbox confines each command with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seccomp {
    /// No seccomp filter on the container (each command still gets wright's own).
    Unconfined,
    /// A profile file (JSON), read when a task starts.
    Profile(PathBuf),
}

/// Every environment, by name.
pub type Environments = BTreeMap<String, Environment>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloudToml {
    #[serde(default)]
    environments: BTreeMap<String, EnvironmentToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentToml {
    engine: String,
    image: String,
    #[serde(default)]
    wright: Option<String>,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    network: Option<String>,
    #[serde(default)]
    setup: Option<String>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    resources: Option<ResourcesToml>,
    #[serde(default)]
    config: Option<toml::Table>,
    #[serde(default)]
    mounts: Vec<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    seccomp: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    egress: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourcesToml {
    cpus: Option<f64>,
    memory: Option<toml::Value>,
    pids: Option<i64>,
}

/// Reads the `[cloud]` table (as config.toml has it; `None` when absent).
pub fn environments(cloud: Option<&toml::Value>) -> Result<Environments, CloudError> {
    let Some(cloud) = cloud else {
        return Ok(Environments::new());
    };
    let parsed: CloudToml = cloud
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| CloudError::Config(format!("[cloud]: {}", e.message())))?;
    parsed
        .environments
        .into_iter()
        .map(|(name, raw)| {
            let env = environment(&name, raw)
                .map_err(|e| CloudError::Config(format!("[cloud.environments.{name}]: {e}")))?;
            Ok((name, env))
        })
        .collect()
}

fn environment(name: &str, raw: EnvironmentToml) -> Result<Environment, String> {
    if !valid_name(name) {
        return Err(
            "an environment's name is 1–40 of a-z, 0-9 and `-`, starting with a letter".into(),
        );
    }
    let engine = match raw.engine.as_str() {
        "docker" | "podman" => {
            refuse_k8s_keys(&raw)?;
            Engine::Docker { host: raw.host }
        }
        "kubernetes" => {
            if raw.host.is_some() {
                return Err("`host` is for the docker engine; use `context`".into());
            }
            if !raw.mounts.is_empty() || raw.seccomp.is_some() {
                return Err("`mounts` and `seccomp` are for the docker engine".into());
            }
            let namespace = raw.namespace.unwrap_or_else(|| "default".into());
            if !valid_dns_label(&namespace) {
                return Err(format!("namespace `{namespace}` is not a DNS label"));
            }
            for cidr in &raw.egress {
                if !valid_cidr(cidr) {
                    return Err(format!("egress `{cidr}` is not a CIDR like 10.0.0.0/8"));
                }
            }
            Engine::Kubernetes {
                context: raw.context,
                namespace,
                egress: raw.egress,
            }
        }
        other => {
            return Err(format!(
                "engine `{other}`: expected `docker` or `kubernetes`"
            ))
        }
    };
    if raw.image.trim().is_empty() {
        return Err("`image` is empty".into());
    }
    let wright = match raw.wright.as_deref() {
        None | Some("mount") => WrightBinary::Mount,
        Some(path) if path.starts_with('/') => WrightBinary::InImage(path.to_string()),
        Some(other) => {
            return Err(format!(
                "wright `{other}`: expected \"mount\" or an absolute path inside the image"
            ))
        }
    };
    let repository = match (raw.repository.as_deref(), raw.url) {
        (None | Some("mount"), None) => Repository::Mount,
        (None | Some("mount"), Some(_)) => {
            return Err("`url` needs repository = \"clone\"".into());
        }
        (Some("clone"), Some(url)) if !url.trim().is_empty() && !url.starts_with('-') => {
            Repository::Clone { url }
        }
        (Some("clone"), _) => return Err("repository = \"clone\" needs a `url`".into()),
        (Some(other), _) => {
            return Err(format!(
                "repository `{other}`: expected \"mount\" or \"clone\""
            ))
        }
    };
    let network = match raw.network.as_deref() {
        None | Some("off") => Network::Off,
        Some("on") => Network::On,
        Some("none") => Network::None,
        Some(other) => {
            return Err(format!(
                "network `{other}`: expected \"off\", \"on\" or \"none\""
            ))
        }
    };
    for secret in &raw.secrets {
        if !valid_env_name(secret) {
            return Err(format!(
                "secret `{secret}` is not an environment variable name"
            ));
        }
    }
    let resources = match raw.resources {
        None => Resources::default(),
        Some(r) => Resources {
            cpus: match r.cpus {
                Some(c) if !(c > 0.0 && c <= 1024.0) => {
                    return Err(format!("resources.cpus = {c}: expected more than 0"))
                }
                c => c,
            },
            memory: r.memory.map(|m| parse_bytes(&m)).transpose()?,
            pids: match r.pids {
                Some(p) if p < 16 => {
                    return Err(format!("resources.pids = {p}: at least 16"));
                }
                p => p,
            },
        },
    };
    let config = raw
        .config
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(k, v)| flatten(k, v))
        .collect();
    let mounts = raw
        .mounts
        .iter()
        .map(|m| {
            let (host, target) = m
                .split_once(':')
                .ok_or_else(|| format!("mount `{m}`: expected HOST_PATH:CONTAINER_PATH"))?;
            if !host.starts_with('/') || !target.starts_with('/') {
                return Err(format!("mount `{m}`: both paths must be absolute"));
            }
            Ok((PathBuf::from(host), target.to_string()))
        })
        .collect::<Result<_, String>>()?;
    let seccomp = match raw.seccomp.as_deref() {
        None | Some("default") => None,
        Some("unconfined") => Some(Seccomp::Unconfined),
        Some(path) if path.starts_with('/') => Some(Seccomp::Profile(PathBuf::from(path))),
        Some(other) => {
            return Err(format!(
                "seccomp `{other}`: expected \"default\", \"unconfined\" or the absolute path of a profile"
            ))
        }
    };
    Ok(Environment {
        name: name.to_string(),
        engine,
        image: raw.image,
        wright,
        repository,
        network,
        setup: raw.setup.filter(|s| !s.trim().is_empty()),
        secrets: raw.secrets,
        resources,
        config,
        mounts,
        seccomp,
    })
}

fn refuse_k8s_keys(raw: &EnvironmentToml) -> Result<(), String> {
    if raw.context.is_some() || raw.namespace.is_some() || !raw.egress.is_empty() {
        return Err("`context`, `namespace` and `egress` are for the kubernetes engine".into());
    }
    Ok(())
}

/// `a.b = v` pairs for `-c`, with `v` in TOML (so `-c` reads it back as written).
fn flatten(key: String, value: toml::Value) -> Vec<(String, String)> {
    match value {
        toml::Value::Table(t) => t
            .into_iter()
            .flat_map(|(k, v)| flatten(format!("{key}.{k}"), v))
            .collect(),
        v => vec![(key, v.to_string())],
    }
}

fn parse_bytes(v: &toml::Value) -> Result<u64, String> {
    let bad =
        || format!("resources.memory = {v}: expected bytes or a size like \"512m\" or \"4g\"");
    let n = match v {
        toml::Value::Integer(n) if *n > 0 => *n as u64,
        toml::Value::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            let s = s.strip_suffix('b').unwrap_or(&s);
            let (digits, mult) = match s.chars().last() {
                Some('k') => (&s[..s.len() - 1], 1u64 << 10),
                Some('m') => (&s[..s.len() - 1], 1 << 20),
                Some('g') => (&s[..s.len() - 1], 1 << 30),
                _ => (s, 1),
            };
            let n: u64 = digits.trim().parse().map_err(|_| bad())?;
            n.checked_mul(mult).ok_or_else(bad)?
        }
        _ => return Err(bad()),
    };
    if n < 16 << 20 {
        return Err(format!("resources.memory = {v}: at least 16m"));
    }
    Ok(n)
}

fn valid_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn valid_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits.parse::<u8>().is_ok_and(|b| b <= 32),
        Ok(std::net::IpAddr::V6(_)) => bits.parse::<u8>().is_ok_and(|b| b <= 128),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Environments, CloudError> {
        let table: toml::Table = toml::from_str(text).unwrap();
        environments(table.get("cloud"))
    }

    #[test]
    fn a_full_docker_environment_reads_back() {
        let envs = parse(
            r#"
            [cloud.environments.dev]
            engine = "docker"
            image = "localhost/wright-base:bookworm"
            network = "on"
            setup = "make deps"
            secrets = ["OPENAI_API_KEY"]
            resources = { cpus = 1.5, memory = "2g", pids = 256 }
            config = { model = "m", sandbox_workspace_write = { network_access = true } }
            mounts = ["/srv/models:/models"]
            "#,
        )
        .unwrap();
        let dev = &envs["dev"];
        assert_eq!(dev.engine, Engine::Docker { host: None });
        assert_eq!(dev.network, Network::On);
        assert_eq!(dev.resources.memory, Some(2 << 30));
        assert_eq!(dev.resources.cpus, Some(1.5));
        assert_eq!(
            dev.config,
            vec![
                ("model".to_string(), "\"m\"".to_string()),
                (
                    "sandbox_workspace_write.network_access".to_string(),
                    "true".to_string()
                )
            ]
        );
        assert_eq!(dev.repository, Repository::Mount);
        assert_eq!(dev.wright, WrightBinary::Mount);
    }

    #[test]
    fn defaults_are_network_off_and_mounts() {
        let envs = parse("[cloud.environments.a]\nengine='docker'\nimage='i'\n").unwrap();
        assert_eq!(envs["a"].network, Network::Off);
        assert_eq!(envs["a"].repository, Repository::Mount);
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            ("engine='lxc'\nimage='i'", "engine `lxc`"),
            (
                "engine='docker'\nimage='i'\nnetwork='maybe'",
                "network `maybe`",
            ),
            (
                "engine='docker'\nimage='i'\nrepository='clone'",
                "needs a `url`",
            ),
            (
                "engine='docker'\nimage='i'\nsecrets=['A B']",
                "secret `A B`",
            ),
            (
                "engine='docker'\nimage='i'\nresources={memory='lots'}",
                "resources.memory",
            ),
            (
                "engine='docker'\nimage='i'\nnamespace='x'",
                "kubernetes engine",
            ),
            (
                "engine='kubernetes'\nimage='i'\negress=['10.0.0.0']",
                "egress",
            ),
            (
                "engine='docker'\nimage='i'\ncolour='red'",
                "unknown field `colour`",
            ),
            (
                "engine='docker'\nimage='i'\nwright='bin/wright'",
                "absolute path",
            ),
        ] {
            let err = parse(&format!("[cloud.environments.e]\n{text}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(err.contains("[cloud"), "{err}");
        }
        let err = parse("[cloud.environments.Bad]\nengine='docker'\nimage='i'\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("name"), "{err}");
    }
}
