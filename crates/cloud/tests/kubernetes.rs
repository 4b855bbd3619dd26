//! The Kubernetes engine against a fake API server over real HTTP (tests/support/k8s_fake.rs):
//! what `start` creates, how `state`, `logs`, `list`, `remove` and `endpoint` read and act on
//! the cluster, and the errors of an unreachable or refusing one.
#![cfg(feature = "kubernetes")]

#[path = "support/k8s_fake.rs"]
mod k8s_fake;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use k8s_fake::FakeK8s;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wright_cloud::config::{Network, Resources};
use wright_cloud::kubernetes::KubernetesEngine;
use wright_cloud::spec::{labels, AttemptSpec, Mount, RunState};

const NS: &str = "wright-test";
const SECRET_VALUE: &str = "sk-test-0123456789-very-secret";
/// `HOST.PID.START` with a long host name: not a valid label value (over 63 characters).
const DRIVER: &str = "builder-42.ci.region-1.compute.internal.example.com.4242.1767225600";

fn spec(name: &str, network: Network) -> AttemptSpec {
    AttemptSpec {
        name: name.into(),
        image: "localhost/wright-base:bookworm".into(),
        command: vec![
            "/bin/sh".into(),
            "-c".into(),
            "exec wright app-server".into(),
        ],
        env: vec![("RUST_LOG".into(), "info".into())],
        secrets: vec![("OPENAI_API_KEY".into(), SECRET_VALUE.into())],
        port: 4500,
        resources: Resources {
            cpus: Some(1.5),
            memory: Some(2 << 30),
            pids: Some(512),
        },
        network,
        labels: BTreeMap::from([
            (labels::MANAGED.into(), "true".into()),
            (labels::TASK.into(), "task-7".into()),
            (
                labels::ATTEMPT.into(),
                name.rsplit('-').next().unwrap().into(),
            ),
            (labels::DRIVER.into(), DRIVER.into()),
        ]),
        mounts: vec![Mount {
            host: PathBuf::from("/srv/models"),
            target: "/models".into(),
        }],
        seccomp: None,
    }
}

struct Harness {
    fake: FakeK8s,
    engine: KubernetesEngine,
    _dir: tempfile::TempDir,
}

async fn harness(egress: &[String]) -> Harness {
    let fake = FakeK8s::start().await;
    let dir = tempfile::tempdir().unwrap();
    let engine =
        KubernetesEngine::connect_kubeconfig(&fake.kubeconfig(dir.path()), None, NS, egress)
            .await
            .unwrap();
    Harness {
        fake,
        engine,
        _dir: dir,
    }
}

fn uid(object: &Value) -> &Value {
    &object["metadata"]["uid"]
}

#[tokio::test]
async fn start_creates_the_job_and_its_secret_policy_and_service_owned_by_it() {
    let h = harness(&["10.0.0.0/8".into()]).await;
    let id = h
        .engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap();
    assert_eq!(id, "wright-t7-1");

    let job = h.fake.object("jobs", NS, &id).expect("a Job");
    let secret = h.fake.object("secrets", NS, &id).expect("a Secret");
    let service = h.fake.object("services", NS, &id).expect("a Service");
    let policy = h
        .fake
        .object("networkpolicies", NS, &id)
        .expect("a NetworkPolicy");

    // The Secret holds the value; the Job only refers to it, by key.
    let stored = secret["data"]["OPENAI_API_KEY"].as_str().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .unwrap();
    assert_eq!(decoded, SECRET_VALUE.as_bytes());
    let job_text = job.to_string();
    assert!(
        !job_text.contains(SECRET_VALUE),
        "the Job holds the secret: {job_text}"
    );
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["env"],
        json!([
            {"name": "RUST_LOG", "value": "info"},
            {"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef":
                {"name": id, "key": "OPENAI_API_KEY", "optional": false}}},
        ])
    );

    // The Job's shape.
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 600);
    assert!(job["spec"]["activeDeadlineSeconds"].as_i64().unwrap() > 0);
    let pod_spec = &job["spec"]["template"]["spec"];
    assert_eq!(pod_spec["restartPolicy"], "Never");
    assert_eq!(pod_spec["automountServiceAccountToken"], false);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(
        container["resources"]["limits"],
        json!({"cpu": "1500m", "memory": (2u64 << 30).to_string()})
    );
    assert_eq!(
        container["command"],
        json!(["/bin/sh", "-c", "exec wright app-server"])
    );
    assert_eq!(container["ports"][0]["containerPort"], 4500);
    assert_eq!(pod_spec["volumes"][0]["hostPath"]["path"], "/srv/models");
    assert_eq!(container["volumeMounts"][0]["readOnly"], true);

    // Labels on the Job and its pod template; the driver's made valid, kept in an annotation.
    for labels_of in [
        &job["metadata"]["labels"],
        &job["spec"]["template"]["metadata"]["labels"],
    ] {
        assert_eq!(labels_of[labels::MANAGED], "true");
        assert_eq!(labels_of[labels::TASK], "task-7");
        assert_eq!(labels_of[labels::ATTEMPT], "1");
        let driver = labels_of[labels::DRIVER].as_str().unwrap();
        assert!(driver.len() <= 63 && driver != DRIVER, "{driver}");
    }
    assert_eq!(job["metadata"]["annotations"][labels::DRIVER], DRIVER);

    // Secret, Service and NetworkPolicy go with the Job.
    for owned in [&secret, &service, &policy] {
        let refs = owned["metadata"]["ownerReferences"].as_array().unwrap();
        assert_eq!(refs.len(), 1, "{owned}");
        assert_eq!(refs[0]["kind"], "Job");
        assert_eq!(refs[0]["name"], id.as_str());
        assert_eq!(&refs[0]["uid"], uid(&job));
    }

    // The Service and the policy select the Job's pod, on the App Server's port.
    let selector = json!({"batch.kubernetes.io/job-name": id});
    assert_eq!(service["spec"]["selector"], selector);
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert_eq!(service["spec"]["ports"][0]["port"], 4500);
    assert_eq!(policy["spec"]["podSelector"]["matchLabels"], selector);
    assert_eq!(
        policy["spec"]["ingress"],
        json!([{"ports": [{"port": 4500, "protocol": "TCP"}]}])
    );
    assert_eq!(
        policy["spec"]["egress"],
        json!([
            {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
            {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]},
        ])
    );

    // The Job was created suspended and resumed last, so its pod came after everything else.
    let writes: Vec<String> = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| {
            let after_ns = r
                .path
                .split(&format!("/namespaces/{NS}/"))
                .nth(1)
                .unwrap_or("");
            format!("{} {}", r.method, after_ns.split('/').next().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        writes,
        [
            "POST jobs",
            "POST secrets",
            "POST networkpolicies",
            "POST services",
            "PATCH jobs"
        ]
    );
    let first = &h
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert!(first.path.ends_with("/jobs"), "{}", first.path);
    assert_eq!(first.body["spec"]["suspend"], true);
    assert_eq!(job["spec"]["suspend"], false);
    assert!(
        h.fake.pod_of(NS, &id).is_some(),
        "the resumed Job has a pod"
    );
}

#[tokio::test]
async fn network_none_denies_all_egress_and_network_on_has_no_policy() {
    let h = harness(&["10.0.0.0/8".into()]).await;
    let none = h
        .engine
        .start(&spec("wright-t7-1", Network::None))
        .await
        .unwrap();
    let policy = h
        .fake
        .object("networkpolicies", NS, &none)
        .expect("a NetworkPolicy");
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    // An empty egress list denies everything (the `egress` CIDRs do not apply to `none`).
    assert_eq!(policy["spec"]["egress"], json!([]));
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], 4500);

    // The positive control: `on` creates no policy at all.
    let on = h
        .engine
        .start(&spec("wright-t7-2", Network::On))
        .await
        .unwrap();
    assert!(h.fake.object("jobs", NS, &on).is_some());
    assert!(h.fake.object("networkpolicies", NS, &on).is_none());
    assert_eq!(h.fake.objects("networkpolicies", NS).len(), 1);

    // Without secrets, no Secret and no secret reference.
    let mut plain = spec("wright-t7-3", Network::On);
    plain.secrets.clear();
    let plain = h.engine.start(&plain).await.unwrap();
    assert!(h.fake.object("secrets", NS, &plain).is_none());
    assert!(!h
        .fake
        .object("jobs", NS, &plain)
        .unwrap()
        .to_string()
        .contains("secretKeyRef"));
}

#[tokio::test]
async fn network_off_without_egress_cidrs_allows_only_dns() {
    let h = harness(&[]).await;
    let id = h
        .engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap();
    let policy = h.fake.object("networkpolicies", NS, &id).unwrap();
    // No rule with an empty `to` (that would allow every destination).
    assert_eq!(
        policy["spec"]["egress"],
        json!([{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}])
    );
}

#[tokio::test]
async fn state_follows_the_pod_and_the_job() {
    let h = harness(&[]).await;
    let id = h
        .engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap();
    let pod = h.fake.pod_of(NS, &id).unwrap();
    assert_eq!(h.engine.state(&id).await.unwrap(), RunState::Pending);

    h.fake
        .set_status("pods", NS, &pod, json!({"phase": "Running"}));
    assert_eq!(h.engine.state(&id).await.unwrap(), RunState::Running);

    h.fake.set_status(
        "pods",
        NS,
        &pod,
        json!({"phase": "Failed", "containerStatuses": [{"name": "wright", "image": "i",
            "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}]}),
    );
    assert_eq!(h.engine.state(&id).await.unwrap(), RunState::Exited(3));

    h.fake.set_status(
        "pods",
        NS,
        &pod,
        json!({"phase": "Failed", "reason": "Evicted", "message": "low on memory"}),
    );
    assert_eq!(
        h.engine.state(&id).await.unwrap(),
        RunState::Failed("Evicted: low on memory".into())
    );

    assert_eq!(
        h.engine.state("wright-nothing-1").await.unwrap(),
        RunState::Missing
    );
}

#[tokio::test]
async fn logs_are_the_tail_of_the_pods_log() {
    let h = harness(&[]).await;
    let id = h
        .engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap();
    let pod = h.fake.pod_of(NS, &id).unwrap();
    h.fake.set_log(&pod, "one\ntwo\nthree\n");
    assert_eq!(h.engine.logs(&id, 2).await.unwrap(), "two\nthree\n");
    let asked = h
        .fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/log"))
        .unwrap();
    assert_eq!(
        asked.path,
        format!("/api/v1/namespaces/{NS}/pods/{pod}/log")
    );
    assert_eq!(asked.query["tailLines"], "2");
    assert_eq!(asked.query["container"], "wright");

    let err = h
        .engine
        .logs("wright-nothing-1", 5)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no pod"), "{err}");
}

#[tokio::test]
async fn list_finds_only_managed_jobs_with_their_original_driver() {
    let h = harness(&[]).await;
    h.engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap();
    h.engine
        .start(&spec("wright-t7-2", Network::On))
        .await
        .unwrap();
    // Someone else's Job in the same namespace.
    h.fake.insert(
        "jobs",
        NS,
        json!({"metadata": {"name": "backup", "labels": {"app": "backup"}}, "spec": {"suspend": true}}),
    );
    let mut found = h.engine.list().await.unwrap();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let summary: Vec<(String, String, u32, String)> = found
        .into_iter()
        .map(|f| (f.id, f.task, f.attempt, f.driver))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("wright-t7-1".into(), "task-7".into(), 1, DRIVER.into()),
            ("wright-t7-2".into(), "task-7".into(), 2, DRIVER.into()),
        ]
    );
    let asked = h
        .fake
        .requests()
        .into_iter()
        .rfind(|r| r.method == "GET" && r.path.ends_with("/jobs"))
        .unwrap();
    assert_eq!(
        asked.query["labelSelector"],
        "dev.wright.cloud/managed=true"
    );
}

#[tokio::test]
async fn remove_deletes_the_job_in_the_background_and_its_objects_go_with_it() {
    let h = harness(&["10.0.0.0/8".into()]).await;
    let id = h
        .engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap();
    let kept = h
        .engine
        .start(&spec("wright-t7-2", Network::Off))
        .await
        .unwrap();
    h.engine.remove(&id).await.unwrap();

    let delete = h
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(
        delete.path,
        format!("/apis/batch/v1/namespaces/{NS}/jobs/{id}")
    );
    assert_eq!(delete.body["propagationPolicy"], "Background");
    for resource in ["jobs", "pods", "secrets", "services", "networkpolicies"] {
        let left: Vec<String> = h
            .fake
            .objects(resource, NS)
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert!(
            left.iter().all(|n| n.starts_with(&kept)),
            "{resource}: {left:?}"
        );
        assert!(!left.is_empty(), "{resource} of the other attempt went too");
    }
    assert_eq!(h.engine.state(&id).await.unwrap(), RunState::Missing);
    // Again: a missing Job is fine.
    h.engine.remove(&id).await.unwrap();
}

#[tokio::test]
async fn a_failure_part_way_through_start_deletes_the_job_again() {
    let h = harness(&[]).await;
    // A Service of that name exists already: creating the attempt's fails.
    h.fake.insert(
        "services",
        NS,
        json!({"metadata": {"name": "wright-t7-1"}, "spec": {"ports": [{"port": 80}]}}),
    );
    let err = h
        .engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("creating Service `wright-t7-1` in namespace `wright-test`")
            && err.contains("already exists")
            && err.contains("409"),
        "{err}"
    );
    assert!(h.fake.object("jobs", NS, "wright-t7-1").is_none());
    assert!(h.fake.object("secrets", NS, "wright-t7-1").is_none());
    assert!(h
        .fake
        .object("networkpolicies", NS, "wright-t7-1")
        .is_none());
    assert!(h.fake.pod_of(NS, "wright-t7-1").is_none());
}

#[tokio::test]
async fn check_names_the_version_server_and_namespace() {
    let h = harness(&[]).await;
    assert_eq!(
        h.engine.check().await.unwrap(),
        format!("Kubernetes v1.33.1 at {}, namespace {NS}", h.fake.url())
    );
}

#[tokio::test]
async fn an_unreachable_server_or_a_bad_kubeconfig_is_a_clear_error() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let server = format!("http://127.0.0.1:{port}");
    let kubeconfig = FakeK8s::kubeconfig_for(&server, dir.path());
    let engine = KubernetesEngine::connect_kubeconfig(&kubeconfig, None, NS, &[])
        .await
        .unwrap();
    let err = engine.check().await.unwrap_err().to_string();
    assert!(err.starts_with("kubernetes: "), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.to_lowercase().contains("connection refused"), "{err}");

    let err = KubernetesEngine::connect_kubeconfig(&kubeconfig, Some("prod"), NS, &[])
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("context `prod`"), "{err}");

    let missing = dir.path().join("nope");
    let err = KubernetesEngine::connect_kubeconfig(&missing, None, NS, &[])
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains(&missing.display().to_string()), "{err}");
}

fn waiting(reason: &str, message: &str) -> Value {
    json!({"phase": "Pending", "containerStatuses": [{"name": "wright", "image": "i",
        "imageID": "", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": reason, "message": message}}}]})
}

#[tokio::test]
async fn endpoint_fails_with_the_reason_of_an_image_pull_back_off() {
    let h = harness(&[]).await;
    let id = h
        .engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap();
    let pod = h.fake.pod_of(NS, &id).unwrap();
    h.fake.set_status(
        "pods",
        NS,
        &pod,
        waiting(
            "ImagePullBackOff",
            "Back-off pulling image \"localhost/wright-base:bookworm\"",
        ),
    );
    let started = std::time::Instant::now();
    let err = h
        .engine
        .endpoint(&id, 4500, Duration::from_secs(30))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ImagePullBackOff: Back-off pulling image"),
        "{err}"
    );
    assert!(err.contains("kind load docker-image"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it waited for the timeout"
    );
}

#[tokio::test]
async fn endpoint_times_out_saying_what_it_last_saw() {
    let h = harness(&[]).await;
    let id = h
        .engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap();
    let pod = h.fake.pod_of(NS, &id).unwrap();
    h.fake.set_status(
        "pods",
        NS,
        &pod,
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient cpu."}]}),
    );
    let err = h
        .engine
        .endpoint(&id, 4500, Duration::from_millis(700))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("was not ready after"), "{err}");
    assert!(
        err.contains("Unschedulable: 0/1 nodes are available"),
        "{err}"
    );
}

#[tokio::test]
async fn endpoint_forwards_a_local_port_to_the_ready_pod_until_remove() {
    let h = harness(&[]).await;
    let id = h
        .engine
        .start(&spec("wright-t7-1", Network::Off))
        .await
        .unwrap();
    let pod = h.fake.pod_of(NS, &id).unwrap();

    // The "App Server": answers each line with the line upper-cased.
    let app = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = app.local_addr().unwrap();
    let app_task = tokio::spawn(async move {
        loop {
            let (mut conn, _) = app.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                while let Ok(n) = conn.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let up = buf[..n].to_ascii_uppercase();
                    if conn.write_all(&up).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    h.fake.forward_pod_to(&pod, app_addr);

    // Ready only after endpoint() has started waiting.
    let engine_wait = h.engine.endpoint(&id, 4500, Duration::from_secs(20));
    let make_ready = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        h.fake.set_status(
            "pods",
            NS,
            &pod,
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}),
        );
    };
    let (endpoint, ()) = tokio::join!(engine_wait, make_ready);
    let endpoint = endpoint.unwrap();
    assert_eq!(endpoint.host, "127.0.0.1");

    // Two connections: each gets its own forward.
    for word in ["hello", "again"] {
        let mut conn = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .unwrap();
        conn.write_all(word.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; word.len()];
        tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut buf))
            .await
            .expect("an answer through the forward")
            .unwrap();
        assert_eq!(buf, word.to_ascii_uppercase().as_bytes());
    }
    let forwards = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/portforward"))
        .collect::<Vec<_>>();
    assert_eq!(forwards.len(), 2);
    assert_eq!(
        forwards[0].path,
        format!("/api/v1/namespaces/{NS}/pods/{pod}/portforward")
    );
    assert_eq!(forwards[0].query["ports"], "4500");

    h.engine.remove(&id).await.unwrap();
    // The listener is gone with the attempt (give the aborted task a moment to drop it).
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the port-forward outlived remove()");
    app_task.abort();
}

/// `connect` reads `KUBECONFIG`. Tests do not change their own process's environment, so the
/// check runs in a child: this test binary again, with `KUBECONFIG` set, running only
/// [`connect_in_a_child_with_kubeconfig_set`].
#[tokio::test]
async fn connect_reads_the_kubeconfig_that_kubeconfig_names() {
    let fake = FakeK8s::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "connect_in_a_child_with_kubeconfig_set",
            "--ignored",
            "--test-threads=1",
        ])
        .env("KUBECONFIG", fake.kubeconfig(dir.path()))
        .env("WRIGHT_TEST_K8S_SERVER", fake.url())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
#[ignore = "run by connect_reads_the_kubeconfig_that_kubeconfig_names, with KUBECONFIG set"]
async fn connect_in_a_child_with_kubeconfig_set() {
    let Ok(server) = std::env::var("WRIGHT_TEST_K8S_SERVER") else {
        return; // run on its own (`--include-ignored`): nothing to check against
    };
    let engine = KubernetesEngine::connect(None, NS, &[]).await.unwrap();
    assert_eq!(
        engine.check().await.unwrap(),
        format!("Kubernetes v1.33.1 at {server}, namespace {NS}")
    );
    let named = KubernetesEngine::connect(Some("fake"), NS, &[])
        .await
        .unwrap();
    assert!(named.check().await.is_ok());
    let err = KubernetesEngine::connect(Some("prod"), NS, &[])
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("context `prod`"), "{err}");
}
