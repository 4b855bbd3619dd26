//! Reading a Job's and its pod's status: what [`RunState`] an attempt is in, and whether its
//! App Server is ready, still coming, or never will be.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use crate::spec::RunState;

/// Reasons a container waits for that it will not get over by waiting: the pod will never run.
/// (`ErrImagePull` is left out: it turns into `ImagePullBackOff` after one retry, and a registry
/// hiccup can pass.)
const FATAL_WAITING: &[&str] = &[
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Where an attempt's App Server is on its way up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// The pod is Running and Ready (its readiness probe connected to the port).
    Ready,
    /// Not yet: what was seen, for a timeout's message.
    Waiting(String),
    /// It will not come up: why.
    Failed(String),
}

/// The newest of a Job's pods (with backoffLimit 0 there is one, but an evicted pod can be
/// replaced).
pub fn newest(pods: &[Pod]) -> Option<&Pod> {
    pods.iter().max_by(|a, b| {
        a.metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0)
            .cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0))
    })
}

/// Whether the attempt's App Server accepts connections yet.
pub fn readiness(job: &Job, pod: Option<&Pod>) -> Readiness {
    if let Some(failed) = job_failure(job) {
        return Readiness::Failed(failed);
    }
    let Some(pod) = pod else {
        return Readiness::Waiting("the Job has no pod yet".into());
    };
    if let Some(reason) = container(pod).and_then(fatal_waiting) {
        return Readiness::Failed(reason);
    }
    if let Some(ended) = container(pod).and_then(terminated) {
        return Readiness::Failed(ended);
    }
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    match phase {
        "Failed" | "Succeeded" => Readiness::Failed(pod_reason(pod, phase)),
        "Running" if condition(pod, "Ready") == Some("True") => Readiness::Ready,
        _ => Readiness::Waiting(describe(pod, phase)),
    }
}

/// What the engine says about the attempt (see [`RunState`]).
///
/// A pod whose container waits for a reason it will not get over (`ImagePullBackOff`, …) is
/// `Failed` even though Kubernetes still calls it Pending: it would only end at the Job's
/// deadline.
pub fn run_state(job: &Job, pods: &[Pod]) -> RunState {
    let pod = newest(pods);
    if let Some(pod) = pod {
        if let Some(c) = container(pod) {
            if let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) {
                return match t.reason.as_deref() {
                    // Ended without an exit code of its own, as the Docker engine reports it.
                    Some("OOMKilled") => RunState::Failed("OOMKilled".into()),
                    _ => RunState::Exited(i64::from(t.exit_code)),
                };
            }
            if let Some(reason) = fatal_waiting(c) {
                return RunState::Failed(reason);
            }
        }
        match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Running") => return RunState::Running,
            Some("Succeeded") => return RunState::Exited(0),
            Some("Failed") => return RunState::Failed(pod_reason(pod, "Failed")),
            _ => {}
        }
    }
    if let Some(failed) = job_failure(job) {
        return RunState::Failed(failed);
    }
    if condition_of_job(job, "Complete").is_some() {
        return RunState::Exited(0);
    }
    RunState::Pending
}

/// The Job's `Failed` condition (deadline exceeded, backoff limit reached): `Reason: message`.
fn job_failure(job: &Job) -> Option<String> {
    condition_of_job(job, "Failed")
}

fn condition_of_job(job: &Job, kind: &str) -> Option<String> {
    let c = job
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind && c.status == "True")?;
    Some(reason_message(
        c.reason.as_deref(),
        c.message.as_deref(),
        kind,
    ))
}

/// The attempt's container (the pod has one).
fn container(pod: &Pod) -> Option<&ContainerStatus> {
    pod.status.as_ref()?.container_statuses.as_ref()?.first()
}

fn fatal_waiting(c: &ContainerStatus) -> Option<String> {
    let waiting = c.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.as_deref()?;
    FATAL_WAITING
        .contains(&reason)
        .then(|| reason_message(Some(reason), waiting.message.as_deref(), reason))
}

fn terminated(c: &ContainerStatus) -> Option<String> {
    let t = c.state.as_ref()?.terminated.as_ref()?;
    let why = reason_message(t.reason.as_deref(), t.message.as_deref(), "Terminated");
    Some(format!(
        "the container exited with code {} ({why})",
        t.exit_code
    ))
}

fn condition<'a>(pod: &'a Pod, kind: &str) -> Option<&'a str> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.as_str())
}

/// The pod's own reason (Evicted, DeadlineExceeded, …), else its phase.
fn pod_reason(pod: &Pod, phase: &str) -> String {
    let status = pod.status.as_ref();
    reason_message(
        status.and_then(|s| s.reason.as_deref()),
        status.and_then(|s| s.message.as_deref()),
        &format!("pod {phase}"),
    )
}

/// A waiting pod as a person would want it in a timeout message: the phase, and why it is not
/// scheduled or what its container waits for.
fn describe(pod: &Pod, phase: &str) -> String {
    let unscheduled = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        })
        .map(|c| reason_message(c.reason.as_deref(), c.message.as_deref(), "not scheduled"));
    let waiting = container(pod)
        .and_then(|c| c.state.as_ref()?.waiting.as_ref())
        .map(|w| reason_message(w.reason.as_deref(), w.message.as_deref(), "waiting"));
    match unscheduled.or(waiting) {
        Some(why) => format!("pod phase {phase} ({why})"),
        None if phase == "Running" => "pod Running, not Ready yet".into(),
        None => format!("pod phase {phase}"),
    }
}

fn reason_message(reason: Option<&str>, message: Option<&str>, fallback: &str) -> String {
    let reason = reason.filter(|r| !r.is_empty()).unwrap_or(fallback);
    match message.filter(|m| !m.is_empty()) {
        Some(m) => format!("{reason}: {m}"),
        None => reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"}, "status": status,
        }))
        .unwrap()
    }

    fn job(status: serde_json::Value) -> Job {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "j"}, "status": status}))
            .unwrap()
    }

    fn waiting(reason: &str) -> serde_json::Value {
        serde_json::json!({"phase": "Pending", "containerStatuses": [{
            "name": "wright", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": reason, "message": "Back-off pulling image \"i\""}},
        }]})
    }

    #[test]
    fn an_image_pull_back_off_is_a_failure_with_its_reason() {
        let p = pod(waiting("ImagePullBackOff"));
        let Readiness::Failed(why) = readiness(&job(serde_json::json!({})), Some(&p)) else {
            panic!("expected a failure");
        };
        assert!(
            why.starts_with("ImagePullBackOff: Back-off pulling image"),
            "{why}"
        );
        assert!(
            matches!(run_state(&job(serde_json::json!({})), &[p]), RunState::Failed(r) if r.starts_with("ImagePullBackOff"))
        );
    }

    #[test]
    fn a_transient_wait_is_not_a_failure() {
        // The positive control of the test above: ContainerCreating and ErrImagePull pass.
        for reason in ["ContainerCreating", "ErrImagePull"] {
            let p = pod(waiting(reason));
            let r = readiness(&job(serde_json::json!({})), Some(&p));
            assert!(
                matches!(&r, Readiness::Waiting(w) if w.contains(reason)),
                "{r:?}"
            );
            assert_eq!(
                run_state(&job(serde_json::json!({})), &[p]),
                RunState::Pending
            );
        }
    }

    #[test]
    fn ready_needs_running_and_the_ready_condition() {
        let running = |ready: &str| {
            pod(serde_json::json!({"phase": "Running",
                "conditions": [{"type": "Ready", "status": ready}]}))
        };
        let j = job(serde_json::json!({}));
        assert_eq!(readiness(&j, Some(&running("True"))), Readiness::Ready);
        assert_eq!(
            readiness(&j, Some(&running("False"))),
            Readiness::Waiting("pod Running, not Ready yet".into())
        );
        assert_eq!(run_state(&j, &[running("False")]), RunState::Running);
    }

    #[test]
    fn exits_and_job_failures_map_to_run_states() {
        let j = job(serde_json::json!({}));
        let exited = |code: i32, reason: &str| {
            pod(
                serde_json::json!({"phase": "Failed", "containerStatuses": [{
                "name": "wright", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": code, "reason": reason}}}]}),
            )
        };
        assert_eq!(run_state(&j, &[exited(3, "Error")]), RunState::Exited(3));
        assert_eq!(
            run_state(&j, &[exited(137, "OOMKilled")]),
            RunState::Failed("OOMKilled".into())
        );
        let evicted = pod(serde_json::json!({"phase": "Failed", "reason": "Evicted",
            "message": "The node was low on resource: memory."}));
        assert_eq!(
            run_state(&j, &[evicted]),
            RunState::Failed("Evicted: The node was low on resource: memory.".into())
        );
        let deadline = job(
            serde_json::json!({"conditions": [{"type": "Failed", "status": "True",
            "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}]}),
        );
        assert_eq!(
            run_state(&deadline, &[]),
            RunState::Failed(
                "DeadlineExceeded: Job was active longer than specified deadline".into()
            )
        );
        assert!(
            matches!(readiness(&deadline, None), Readiness::Failed(r) if r.starts_with("DeadlineExceeded"))
        );
        assert_eq!(run_state(&j, &[]), RunState::Pending);
    }

    #[test]
    fn an_unschedulable_pod_says_why_while_waiting() {
        let p = pod(
            serde_json::json!({"phase": "Pending", "conditions": [{"type": "PodScheduled",
            "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available"}]}),
        );
        assert_eq!(
            readiness(&job(serde_json::json!({})), Some(&p)),
            Readiness::Waiting("pod phase Pending (Unschedulable: 0/1 nodes are available)".into())
        );
    }
}
