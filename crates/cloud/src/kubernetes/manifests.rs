//! The objects of one attempt, built with k8s-openapi's types: a Secret (when there are secrets),
//! a NetworkPolicy (network `off` or `none`), the Job and a ClusterIP Service.
//!
//! Pure functions: [`super::KubernetesEngine::start`] creates these, [`manifests`] shows them.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, HostPathVolumeSource, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, Secret, SecretKeySelector, SecurityContext, Service, ServicePort,
    ServiceSpec, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;

use crate::config::{Network, Resources};
use crate::spec::AttemptSpec;

/// The label the Job controller puts on the pods it creates (Kubernetes 1.27 and later); the
/// Service and the NetworkPolicy select the attempt's pod by it, the engine finds the pod by it.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";

/// The one container of an attempt's pod.
pub const CONTAINER: &str = "wright";

/// A finished Job (and through ownerReferences its Secret, Service and NetworkPolicy) is
/// collected this long after it ends, so a driver that died leaves no litter behind.
pub const TTL_SECONDS_AFTER_FINISHED: i32 = 600;

/// The longest an attempt's Job may run: a cap so that an attempt whose driver is gone does not
/// hold the cluster's resources forever.
pub const ACTIVE_DEADLINE_SECONDS: i64 = 6 * 60 * 60;

/// A Kubernetes label value for `raw`: `raw` itself when it is one already (at most 63 of
/// `[A-Za-z0-9._-]`, alphanumeric at both ends), else its valid characters (others become `-`),
/// cut to 50, then `-` and 12 hex digits of its SHA-256, so different values stay different.
///
/// The driver label (`HOST.PID.START`) can be longer than 63 or hold characters a label value
/// cannot (a host name with `_`, say); the Job keeps the original in an annotation of the same
/// key, which [`super::KubernetesEngine::list`] reads back.
pub fn label_value(raw: &str) -> String {
    if valid_label_value(raw) {
        return raw.to_string();
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, raw.as_bytes());
    let hash: String = digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let cut: String = cleaned.chars().take(50).collect();
    let cut = cut.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if cut.is_empty() {
        hash
    } else {
        format!("{cut}-{hash}")
    }
}

/// What [`manifests`] shows instead of a secret's value.
pub const REDACTED: &str = "(redacted)";

/// Whether `v` may be a label value as it is.
pub fn valid_label_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && (v.is_empty()
            || (v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric())))
}

/// The manifests `start` would create, as JSON: what `wright cloud` shows and what
/// `kubectl apply --dry-run=client -f -` accepts.
///
/// The Secret's values are replaced by `(redacted)`: what is shown must not leak them, and a
/// dry run does not need them.
///
/// They carry no ownerReferences and the Job is not suspended: `start` creates the Job
/// suspended first, then the others owned by it (an ownerReference needs the Job's uid, which
/// only the API server gives), then resumes the Job, so its pod never runs without its Secret
/// or its NetworkPolicy.
pub fn manifests(spec: &AttemptSpec, namespace: &str, egress: &[String]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    // Serialising k8s-openapi's types to JSON cannot fail (no maps with non-string keys).
    let redacted = AttemptSpec {
        secrets: spec
            .secrets
            .iter()
            .map(|(k, _)| (k.clone(), REDACTED.to_string()))
            .collect(),
        ..spec.clone()
    };
    if let Some(secret) = secret(&redacted, namespace, None) {
        out.push(serde_json::to_value(secret).unwrap_or_default());
    }
    if let Some(policy) = network_policy(spec, namespace, egress, None) {
        out.push(serde_json::to_value(policy).unwrap_or_default());
    }
    out.push(serde_json::to_value(job(spec, namespace, false)).unwrap_or_default());
    out.push(serde_json::to_value(service(spec, namespace, None)).unwrap_or_default());
    out
}

/// The owner reference that makes the garbage collector delete an object with its Job.
pub fn owned_by(job_name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: job_name.into(),
        uid: uid.into(),
        controller: Some(false),
        block_owner_deletion: Some(false),
    }
}

/// Every object's labels: the spec's, each value made a valid label value.
fn labels(spec: &AttemptSpec) -> BTreeMap<String, String> {
    spec.labels
        .iter()
        .map(|(k, v)| (k.clone(), label_value(v)))
        .collect()
}

/// The original values of labels that [`label_value`] had to change.
fn annotations(spec: &AttemptSpec) -> Option<BTreeMap<String, String>> {
    let changed: BTreeMap<String, String> = spec
        .labels
        .iter()
        .filter(|(_, v)| !valid_label_value(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!changed.is_empty()).then_some(changed)
}

fn meta(spec: &AttemptSpec, namespace: &str, owner: Option<OwnerReference>) -> ObjectMeta {
    ObjectMeta {
        name: Some(spec.name.clone()),
        namespace: Some(namespace.to_string()),
        labels: Some(labels(spec)),
        owner_references: owner.map(|o| vec![o]),
        ..ObjectMeta::default()
    }
}

fn pod_selector(spec: &AttemptSpec) -> BTreeMap<String, String> {
    BTreeMap::from([(JOB_NAME_LABEL.to_string(), spec.name.clone())])
}

/// The Secret holding `spec.secrets` (keys are the variables' names); `None` without secrets.
pub fn secret(
    spec: &AttemptSpec,
    namespace: &str,
    owner: Option<OwnerReference>,
) -> Option<Secret> {
    if spec.secrets.is_empty() {
        return None;
    }
    Some(Secret {
        metadata: meta(spec, namespace, owner),
        type_: Some("Opaque".into()),
        immutable: Some(true),
        data: Some(
            spec.secrets
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    })
}

/// The NetworkPolicy for `spec.network`: none for `on`; for `off`, ingress only to the App
/// Server's port and egress only to DNS and `egress`; for `none`, the same ingress and no
/// egress at all.
///
/// Enforcement is the CNI plugin's: kind's default (kindnet) enforces NetworkPolicies since
/// kind 0.24, k3s's flannel with its embedded policy controller does; a plugin without policy
/// support ignores them silently.
pub fn network_policy(
    spec: &AttemptSpec,
    namespace: &str,
    egress: &[String],
    owner: Option<OwnerReference>,
) -> Option<NetworkPolicy> {
    let egress_rules = match spec.network {
        Network::On => return None,
        Network::None => Vec::new(),
        Network::Off => {
            let dns = ["UDP", "TCP"]
                .into_iter()
                .map(|protocol| NetworkPolicyPort {
                    port: Some(IntOrString::Int(53)),
                    protocol: Some(protocol.into()),
                    end_port: None,
                })
                .collect();
            let mut rules = vec![NetworkPolicyEgressRule {
                ports: Some(dns),
                to: None,
            }];
            // A rule with no `to` would allow every destination: only add one with CIDRs.
            if !egress.is_empty() {
                rules.push(NetworkPolicyEgressRule {
                    ports: None,
                    to: Some(
                        egress
                            .iter()
                            .map(|cidr| NetworkPolicyPeer {
                                ip_block: Some(IPBlock {
                                    cidr: cidr.clone(),
                                    except: None,
                                }),
                                ..NetworkPolicyPeer::default()
                            })
                            .collect(),
                    ),
                });
            }
            rules
        }
    };
    Some(NetworkPolicy {
        metadata: meta(spec, namespace, owner),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(pod_selector(spec)),
                match_expressions: None,
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: None,
                ports: Some(vec![NetworkPolicyPort {
                    port: Some(IntOrString::Int(spec.port.into())),
                    protocol: Some("TCP".into()),
                    end_port: None,
                }]),
            }]),
            // An empty list (not an absent one) is what denies all egress.
            egress: Some(egress_rules),
        }),
    })
}

/// The attempt's Job; `suspended`: created without a pod until `start` resumes it.
pub fn job(spec: &AttemptSpec, namespace: &str, suspended: bool) -> Job {
    let mut metadata = meta(spec, namespace, None);
    metadata.annotations = annotations(spec);
    Job {
        metadata,
        spec: Some(JobSpec {
            // One try: a failed attempt is the driver's to retry, as a new attempt.
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(TTL_SECONDS_AFTER_FINISHED),
            active_deadline_seconds: Some(ACTIVE_DEADLINE_SECONDS),
            suspend: suspended.then_some(true),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(spec)),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(spec)),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// The pod of the Job.
///
/// `resources.pids` is not set: Kubernetes has no per-pod or per-container pids limit in the
/// API (only the kubelet's node-wide `podPidsLimit`), so it is the cluster's setting.
///
/// `spec.mounts` become read-only hostPath volumes: the paths are the host's, so this only
/// works where the pod runs on the machine that has them (single-node kind or k3s, with the
/// paths mounted into the kind node as `extraMounts`).
fn pod_spec(spec: &AttemptSpec) -> PodSpec {
    let volumes: Vec<Volume> = spec
        .mounts
        .iter()
        .enumerate()
        .map(|(i, m)| Volume {
            name: format!("mount-{i}"),
            host_path: Some(HostPathVolumeSource {
                path: m.host.to_string_lossy().into_owned(),
                // Unset type: a file (the host's `wright`) or a directory, unchecked.
                type_: None,
            }),
            ..Volume::default()
        })
        .collect();
    let mounts: Vec<VolumeMount> = spec
        .mounts
        .iter()
        .enumerate()
        .map(|(i, m)| VolumeMount {
            name: format!("mount-{i}"),
            mount_path: m.target.clone(),
            read_only: Some(true),
            ..VolumeMount::default()
        })
        .collect();
    let port = i32::from(spec.port);
    PodSpec {
        restart_policy: Some("Never".into()),
        // The task talks to nothing in the cluster: no API credentials in the pod.
        automount_service_account_token: Some(false),
        // No `*_SERVICE_HOST` variables of every Service in the namespace in the task's env.
        enable_service_links: Some(false),
        containers: vec![Container {
            name: CONTAINER.into(),
            image: Some(spec.image.clone()),
            // A locally loaded image (`kind load`, `k3s ctr images import`) is used as it is,
            // even when tagged `latest` (whose default policy is Always).
            image_pull_policy: Some("IfNotPresent".into()),
            command: Some(spec.command.clone()),
            env: Some(env(spec)),
            ports: Some(vec![ContainerPort {
                container_port: port,
                name: Some("app-server".into()),
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            }]),
            // Ready = the App Server accepts connections: what `endpoint` waits for.
            readiness_probe: Some(Probe {
                tcp_socket: Some(TCPSocketAction {
                    port: IntOrString::Int(port),
                    host: None,
                }),
                period_seconds: Some(1),
                failure_threshold: Some(1),
                ..Probe::default()
            }),
            resources: resources(&spec.resources),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                ..SecurityContext::default()
            }),
            volume_mounts: (!mounts.is_empty()).then_some(mounts),
            ..Container::default()
        }],
        volumes: (!volumes.is_empty()).then_some(volumes),
        ..PodSpec::default()
    }
}

/// Plain variables by value, secrets by reference to the Secret's key: a secret's value is
/// never in the Job.
fn env(spec: &AttemptSpec) -> Vec<EnvVar> {
    let plain = spec.env.iter().map(|(k, v)| EnvVar {
        name: k.clone(),
        value: Some(v.clone()),
        value_from: None,
    });
    let secret = spec.secrets.iter().map(|(k, _)| EnvVar {
        name: k.clone(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: spec.name.clone(),
                key: k.clone(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    });
    plain.chain(secret).collect()
}

/// Limits only: requests default to them, which makes the pod Guaranteed (not evicted first).
fn resources(r: &Resources) -> Option<ResourceRequirements> {
    let mut limits = BTreeMap::new();
    if let Some(cpus) = r.cpus {
        let millis = (cpus * 1000.0).round().max(1.0) as i64;
        limits.insert("cpu".to_string(), Quantity(format!("{millis}m")));
    }
    if let Some(memory) = r.memory {
        limits.insert("memory".to_string(), Quantity(memory.to_string()));
    }
    (!limits.is_empty()).then(|| ResourceRequirements {
        limits: Some(limits),
        ..ResourceRequirements::default()
    })
}

/// The ClusterIP Service in front of the pod's App Server port (for in-cluster clients; the
/// driver itself goes through a port-forward).
pub fn service(spec: &AttemptSpec, namespace: &str, owner: Option<OwnerReference>) -> Service {
    Service {
        metadata: meta(spec, namespace, owner),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(pod_selector(spec)),
            ports: Some(vec![ServicePort {
                name: Some("app-server".into()),
                port: spec.port.into(),
                target_port: Some(IntOrString::Int(spec.port.into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

#[cfg(test)]
#[path = "manifests_tests.rs"]
mod tests;
