//! The Kubernetes engine: one Job per attempt, with its Secret, NetworkPolicy and Service,
//! reached through a port-forward over the API server (the driver needs no route into the
//! cluster's network).
//!
//! Needs Kubernetes 1.27 or later (pods are found by the `batch.kubernetes.io/job-name` label)
//! and, for `network = "off"`/`"none"` to mean anything, a CNI plugin that enforces
//! NetworkPolicies.

mod forward;
pub mod manifests;
mod status;

use std::collections::HashMap;
use std::fmt::Display;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use manifests::{label_value, manifests};

use crate::spec::{labels, AttemptSpec, Endpoint, Found, RunState};
use crate::CloudError;
use status::Readiness;

/// How often `endpoint` looks at a starting pod: two GETs a second per starting attempt is
/// nothing to an API server, and simpler to get right than a watch with its resyncs.
const POLL: Duration = Duration::from_millis(500);

/// A connection to one namespace of a cluster, and the port-forwards of its attempts.
pub struct KubernetesEngine {
    client: Client,
    namespace: String,
    egress: Vec<String>,
    /// The API server's URL, for messages.
    server: String,
    /// Port-forwards by Job name, alive until `remove` (or until the engine is dropped).
    forwards: Mutex<HashMap<String, forward::Forward>>,
}

impl KubernetesEngine {
    /// Client from kubeconfig (`context`, else the current one) or, without a kubeconfig and
    /// with no `context` asked for, the in-cluster config; `KUBECONFIG` honoured. Does not
    /// contact the server: [`Self::check`] does.
    pub async fn connect(
        context: Option<&str>,
        namespace: &str,
        egress: &[String],
    ) -> Result<Self, CloudError> {
        // Reading files: off the async threads.
        let kubeconfig = blocking(Kubeconfig::read).await?;
        let config = match kubeconfig {
            Ok(kubeconfig) => config_from(kubeconfig, context).await?,
            Err(read) if context.is_none() => match blocking(Config::incluster).await? {
                Ok(config) => config,
                Err(in_cluster) => {
                    return Err(engine(format!(
                        "no kubeconfig ({}; set KUBECONFIG or write ~/.kube/config) and not \
                         inside a cluster ({})",
                        chain(&read),
                        chain(&in_cluster)
                    )))
                }
            },
            Err(read) => {
                return Err(engine(format!(
                    "reading the kubeconfig for context `{}`: {}",
                    context.unwrap_or_default(),
                    chain(&read)
                )))
            }
        };
        Self::with_config(config, namespace, egress)
    }

    /// Like [`Self::connect`], from the kubeconfig file at `path` only (tests, and
    /// `wright cloud` when it is told a file).
    pub async fn connect_kubeconfig(
        path: &Path,
        context: Option<&str>,
        namespace: &str,
        egress: &[String],
    ) -> Result<Self, CloudError> {
        let owned = path.to_path_buf();
        let kubeconfig = blocking(move || Kubeconfig::read_from(owned))
            .await?
            .map_err(|e| {
                engine(format!(
                    "reading the kubeconfig {}: {}",
                    path.display(),
                    chain(&e)
                ))
            })?;
        let config = config_from(kubeconfig, context).await?;
        Self::with_config(config, namespace, egress)
    }

    fn with_config(config: Config, namespace: &str, egress: &[String]) -> Result<Self, CloudError> {
        let server = config.cluster_url.to_string();
        let server = server.trim_end_matches('/').to_string();
        let client = Client::try_from(config).map_err(|e| {
            engine(format!(
                "a client for the API server at {server}: {}",
                chain(&e)
            ))
        })?;
        Ok(Self {
            client,
            namespace: namespace.to_string(),
            egress: egress.to_vec(),
            server,
            forwards: Mutex::new(HashMap::new()),
        })
    }

    /// Reachability and version, and that Jobs can be listed in the namespace:
    /// `Kubernetes v1.33.1 at https://…, namespace default`.
    pub async fn check(&self) -> Result<String, CloudError> {
        let info = self.client.apiserver_version().await.map_err(|e| {
            self.api(
                format!("asking the API server at {} for its version", self.server),
                e,
            )
        })?;
        self.jobs()
            .list(&ListParams::default().limit(1))
            .await
            .map_err(|e| self.api(format!("listing Jobs in namespace `{}`", self.namespace), e))?;
        Ok(format!(
            "Kubernetes {} at {}, namespace {}",
            info.git_version, self.server, self.namespace
        ))
    }

    /// Creates one attempt's objects (see [`manifests`]): the Job first, suspended, so that
    /// its Secret, NetworkPolicy and Service can be owned by it (deleting the Job, or its TTL,
    /// collects them) and its pod only starts once they all exist. On a failure part-way the
    /// Job is deleted again, taking what was created with it.
    ///
    /// Returns the engine id: the Job's name, `spec.name`.
    pub async fn start(&self, spec: &AttemptSpec) -> Result<String, CloudError> {
        let ns = self.namespace.as_str();
        let name = spec.name.as_str();
        let job = self
            .jobs()
            .create(&PostParams::default(), &manifests::job(spec, ns, true))
            .await
            .map_err(|e| self.api(format!("creating Job `{name}` in namespace `{ns}`"), e))?;
        let Some(uid) = job.metadata.uid else {
            let _ = self.remove(name).await;
            return Err(engine(format!(
                "the API server created Job `{name}` in namespace `{ns}` without a uid"
            )));
        };
        let owner = manifests::owned_by(name, &uid);
        if let Err(error) = self.start_owned(spec, owner).await {
            // Best effort: the Job's deletion collects whatever was created.
            if let Err(cleanup) = self.remove(name).await {
                tracing::warn!(%cleanup, job = name, "could not delete a half-started Job");
            }
            return Err(error);
        }
        Ok(spec.name.clone())
    }

    async fn start_owned(
        &self,
        spec: &AttemptSpec,
        owner: k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    ) -> Result<(), CloudError> {
        let ns = self.namespace.as_str();
        let name = spec.name.as_str();
        let post = PostParams::default();
        if let Some(secret) = manifests::secret(spec, ns, Some(owner.clone())) {
            Api::<Secret>::namespaced(self.client.clone(), ns)
                .create(&post, &secret)
                .await
                .map_err(|e| {
                    self.api(format!("creating Secret `{name}` in namespace `{ns}`"), e)
                })?;
        }
        if let Some(policy) = manifests::network_policy(spec, ns, &self.egress, Some(owner.clone()))
        {
            Api::<NetworkPolicy>::namespaced(self.client.clone(), ns)
                .create(&post, &policy)
                .await
                .map_err(|e| {
                    self.api(
                        format!("creating NetworkPolicy `{name}` in namespace `{ns}`"),
                        e,
                    )
                })?;
        }
        Api::<Service>::namespaced(self.client.clone(), ns)
            .create(&post, &manifests::service(spec, ns, Some(owner)))
            .await
            .map_err(|e| self.api(format!("creating Service `{name}` in namespace `{ns}`"), e))?;
        // A one-field merge patch; the typed Job would drag its required pod template along.
        let resume = serde_json::json!({"spec": {"suspend": false}});
        self.jobs()
            .patch(name, &PatchParams::default(), &Patch::Merge(&resume))
            .await
            .map_err(|e| self.api(format!("resuming Job `{name}` in namespace `{ns}`"), e))?;
        Ok(())
    }

    /// Waits (up to `timeout`) for the Job's pod to be Running and Ready (its readiness probe
    /// connects to `port`), then forwards a local port to it through the API server: the
    /// returned endpoint is on 127.0.0.1, and the forward lives until [`Self::remove`].
    ///
    /// Fails at once, naming the reason, when the pod will not come up (ImagePullBackOff,
    /// ErrImageNeverPull, CrashLoopBackOff, a container that exited, a Failed pod or Job).
    pub async fn endpoint(
        &self,
        id: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Endpoint, CloudError> {
        let ns = self.namespace.as_str();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self
                .jobs()
                .get_opt(id)
                .await
                .map_err(|e| self.api(format!("reading Job `{id}` in namespace `{ns}`"), e))?
                .ok_or_else(|| engine(format!("Job `{id}` in namespace `{ns}` is gone")))?;
            let pods = self.pods_of(id).await?;
            let pod = status::newest(&pods);
            let seen = match status::readiness(&job, pod) {
                Readiness::Ready => {
                    let pod_name = pod
                        .and_then(|p| p.metadata.name.clone())
                        .unwrap_or_default();
                    return self.forward(id, pod_name, port).await;
                }
                Readiness::Failed(why) => {
                    return Err(engine(format!(
                        "attempt `{id}` (Job in namespace `{ns}`) will not start: {why}{}",
                        image_hint(&why)
                    )))
                }
                Readiness::Waiting(seen) => seen,
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(engine(format!(
                    "attempt `{id}` (Job in namespace `{ns}`) was not ready after {timeout:?}: \
                     {seen}"
                )));
            }
            tokio::time::sleep(POLL.min(deadline - now)).await;
        }
    }

    async fn forward(&self, id: &str, pod: String, port: u16) -> Result<Endpoint, CloudError> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let forward = forward::start(pods, pod, port).await?;
        let endpoint = Endpoint {
            host: forward.local.ip().to_string(),
            port: forward.local.port(),
        };
        // A second call replaces (and so stops) the first forward.
        self.lock_forwards().insert(id.to_string(), forward);
        Ok(endpoint)
    }

    /// The attempt's state from its Job and pod (see [`RunState`]; `Missing` when the Job is
    /// gone, e.g. collected by its TTL).
    pub async fn state(&self, id: &str) -> Result<RunState, CloudError> {
        let ns = self.namespace.as_str();
        let Some(job) = self
            .jobs()
            .get_opt(id)
            .await
            .map_err(|e| self.api(format!("reading Job `{id}` in namespace `{ns}`"), e))?
        else {
            return Ok(RunState::Missing);
        };
        let pods = self.pods_of(id).await?;
        Ok(status::run_state(&job, &pods))
    }

    /// The last `lines` lines of the attempt's pod's log.
    pub async fn logs(&self, id: &str, lines: i64) -> Result<String, CloudError> {
        let ns = self.namespace.as_str();
        let pods = self.pods_of(id).await?;
        let pod = status::newest(&pods)
            .and_then(|p| p.metadata.name.clone())
            .ok_or_else(|| engine(format!("Job `{id}` in namespace `{ns}` has no pod (yet)")))?;
        let params = LogParams {
            container: Some(manifests::CONTAINER.into()),
            tail_lines: Some(lines),
            ..LogParams::default()
        };
        Api::<Pod>::namespaced(self.client.clone(), ns)
            .logs(&pod, &params)
            .await
            .map_err(|e| {
                self.api(
                    format!("reading the log of pod `{pod}` in namespace `{ns}`"),
                    e,
                )
            })
    }

    /// Stops the attempt's port-forward and deletes its Job with propagationPolicy Background:
    /// the garbage collector then deletes its pod and, through their ownerReferences, its
    /// Secret, NetworkPolicy and Service. A Job that is already gone is fine.
    pub async fn remove(&self, id: &str) -> Result<(), CloudError> {
        self.lock_forwards().remove(id);
        let ns = self.namespace.as_str();
        match self.jobs().delete(id, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(self.api(format!("deleting Job `{id}` in namespace `{ns}`"), e)),
        }
    }

    /// Every Job labelled `dev.wright.cloud/managed=true` in the namespace. The driver is the
    /// original value (kept in an annotation when the label had to be changed; see
    /// [`label_value`]). Jobs without a task or attempt label are skipped.
    pub async fn list(&self) -> Result<Vec<Found>, CloudError> {
        let ns = self.namespace.as_str();
        let selector = format!("{}=true", labels::MANAGED);
        let jobs = self
            .jobs()
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| {
                self.api(
                    format!("listing Jobs labelled {selector} in namespace `{ns}`"),
                    e,
                )
            })?;
        Ok(jobs.items.iter().filter_map(found).collect())
    }

    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    async fn pods_of(&self, id: &str) -> Result<Vec<Pod>, CloudError> {
        let selector = format!("{}={id}", manifests::JOB_NAME_LABEL);
        Api::<Pod>::namespaced(self.client.clone(), &self.namespace)
            .list(&ListParams::default().labels(&selector))
            .await
            .map(|list| list.items)
            .map_err(|e| {
                self.api(
                    format!(
                        "listing pods of Job `{id}` in namespace `{}`",
                        self.namespace
                    ),
                    e,
                )
            })
    }

    fn lock_forwards(&self) -> std::sync::MutexGuard<'_, HashMap<String, forward::Forward>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.forwards
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn api(&self, what: impl Display, e: kube::Error) -> CloudError {
        let said = match &e {
            kube::Error::Api(s) => {
                let message = if s.message.is_empty() {
                    "no message"
                } else {
                    &s.message
                };
                format!("{message} ({} {})", s.reason, s.code)
            }
            other => {
                let text = chain(other);
                // kube names its own variant first ("ServiceError: client error (Connect)…").
                let text = ["ServiceError: ", "HyperError: "]
                    .iter()
                    .find_map(|p| text.strip_prefix(p))
                    .map_or(text.clone(), str::to_string);
                let what = what.to_string();
                if what.contains(&self.server) {
                    text
                } else {
                    format!("{text} (API server {})", self.server)
                }
            }
        };
        engine(format!("{what}: {said}"))
    }
}

/// An attempt found by label, if it carries the labels of one.
fn found(job: &Job) -> Option<Found> {
    let meta = &job.metadata;
    let label = |key: &str| meta.labels.as_ref()?.get(key).cloned();
    let original = |key: &str| {
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(key).cloned())
            .or_else(|| label(key))
    };
    Some(Found {
        id: meta.name.clone()?,
        task: original(labels::TASK)?,
        attempt: original(labels::ATTEMPT)?.parse().ok()?,
        driver: original(labels::DRIVER).unwrap_or_default(),
    })
}

async fn config_from(kubeconfig: Kubeconfig, context: Option<&str>) -> Result<Config, CloudError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| {
            let which = context.map_or("the current context".to_string(), |c| {
                format!("context `{c}`")
            });
            engine(format!("the kubeconfig's {which}: {}", chain(&e)))
        })
}

/// For an image that is not on the node: how it gets there.
fn image_hint(why: &str) -> &'static str {
    if why.contains("Image") {
        "; load the image into the cluster (`kind load docker-image IMAGE`, \
         `k3s ctr images import FILE.tar`) or push it to a registry the cluster pulls from"
    } else {
        ""
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CloudError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CloudError::Io(format!("reading the kubeconfig: {e}")))
}

fn engine(message: String) -> CloudError {
    CloudError::Engine {
        engine: "kubernetes",
        message,
    }
}

/// An error and its sources, each once: kube's errors wrap hyper's, which wrap the socket's
/// ("Connection refused" is three levels down).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
