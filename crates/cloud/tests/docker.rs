//! The Docker Engine API engine against a real engine: Podman's `podman system service` (CI
//! starts it; see `.ci/run`). Without an engine these tests say so and pass locally; under
//! `CI=true` they fail.

use std::collections::BTreeMap;
use std::time::Duration;

use wright_cloud::config::{Network, Resources};
use wright_cloud::docker::DockerEngine;
use wright_cloud::spec::{labels, AttemptSpec, RunState};

/// Built by `scripts/cloud-image` (CI builds it before the tests).
const IMAGE: &str = "localhost/wright-base:bookworm";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

async fn engine() -> Option<DockerEngine> {
    match DockerEngine::connect(None).await {
        Ok(engine) => Some(engine),
        Err(e) if in_ci() => panic!("CI needs a container engine for these tests: {e}"),
        Err(e) => {
            eprintln!("skipping: no container engine here ({e})");
            None
        }
    }
}

fn spec(name: &str, script: &str) -> AttemptSpec {
    AttemptSpec {
        name: format!("wright-test-{name}-{:08x}", rand_suffix()),
        image: IMAGE.into(),
        command: vec!["sh".into(), "-c".into(), script.into()],
        env: vec![("PLAIN".into(), "plain-value".into())],
        secrets: Vec::new(),
        port: 4500,
        resources: Resources::default(),
        network: Network::On,
        labels: BTreeMap::from([
            (labels::MANAGED.into(), "true".into()),
            (labels::TASK.into(), "task_test".into()),
            (labels::ATTEMPT.into(), "1".into()),
            (labels::DRIVER.into(), "nobody.1.1".into()),
        ]),
        mounts: Vec::new(),
        seccomp: None,
    }
}

fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    nanos ^ std::process::id()
}

/// Waits for `needle` in the container's output.
async fn wait_for_log(engine: &DockerEngine, id: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let logs = engine.logs(id, 50).await.unwrap();
        if logs.contains(needle) || std::time::Instant::now() > deadline {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn podman_inspect(id: &str) -> String {
    let out = std::process::Command::new("podman")
        .args(["inspect", id])
        .output()
        .expect("podman is installed where the engine runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn secrets_reach_the_container_through_stdin_and_nowhere_else() {
    let Some(engine) = engine().await else { return };
    let secret = "s3cr3t-value-4f1e";
    let mut s = spec(
        "secret",
        "IFS= read -r line; echo \"got:$(printf %s \"${line#*=}\" | base64 -d)\"; sleep 60",
    );
    s.secrets = vec![("API_KEY".into(), secret.into())];
    let id = engine.start(&s).await.unwrap();
    let logs = wait_for_log(&engine, &id, "got:").await;
    let inspect = podman_inspect(&id);
    engine.remove(&id).await.unwrap();
    // The value arrived...
    assert!(logs.contains(&format!("got:{secret}")), "{logs}");
    // ...and is in neither the container's configuration nor its environment, while a plain
    // variable is (the control: inspect does show the environment).
    assert!(inspect.contains("plain-value"), "{inspect}");
    assert!(!inspect.contains(secret), "{inspect}");
    assert!(
        !inspect.contains("czNjcjN0"),
        "the base64 of the secret is in: {inspect}"
    );
}

#[tokio::test]
async fn an_isolated_attempt_reaches_nothing_while_an_open_one_does() {
    let Some(engine) = engine().await else { return };
    // Something outside the container to reach: a listener on every host address.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let probe = format!(
        "if timeout 5 bash -c 'exec 3<>/dev/tcp/host.containers.internal/{port}' 2>/dev/null; \
         then echo probe:reached; else echo probe:blocked; fi; sleep 60"
    );
    let mut results = Vec::new();
    for network in [Network::On, Network::None] {
        let mut s = spec("net", &probe);
        s.network = network;
        let id = engine.start(&s).await.unwrap();
        let logs = wait_for_log(&engine, &id, "probe:").await;
        engine.remove(&id).await.unwrap();
        results.push(logs);
    }
    assert!(
        results[0].contains("probe:reached"),
        "control: {}",
        results[0]
    );
    assert!(
        results[1].contains("probe:blocked"),
        "isolated: {}",
        results[1]
    );
}

#[tokio::test]
async fn caps_labels_listing_and_removal() {
    let Some(engine) = engine().await else { return };
    let mut s = spec("caps", "echo started; sleep 60");
    s.resources = Resources {
        cpus: Some(0.5),
        memory: Some(64 << 20),
        pids: Some(64),
    };
    let id = engine.start(&s).await.unwrap();
    wait_for_log(&engine, &id, "started").await;
    assert_eq!(engine.state(&id).await.unwrap(), RunState::Running);
    let inspect: serde_json::Value = serde_json::from_str(&podman_inspect(&id)).unwrap();
    let host = &inspect[0]["HostConfig"];
    assert_eq!(host["PidsLimit"], 64, "{host}");
    assert_eq!(host["Memory"], 64 << 20, "{host}");
    assert_eq!(host["NanoCpus"], 500_000_000i64, "{host}");
    let found = engine.list().await.unwrap();
    assert!(
        found
            .iter()
            .any(|f| f.id == id && f.task == "task_test" && f.attempt == 1),
        "{found:?}"
    );
    // The published port is on loopback.
    let endpoint = engine.endpoint(&id, 4500).await.unwrap();
    assert_eq!(endpoint.host, "127.0.0.1");
    engine.remove(&id).await.unwrap();
    assert_eq!(engine.state(&id).await.unwrap(), RunState::Missing);
    assert!(!engine.list().await.unwrap().iter().any(|f| f.id == id));
    // Removing twice is fine.
    engine.remove(&id).await.unwrap();
}

#[tokio::test]
async fn a_missing_image_and_a_dead_engine_are_named() {
    let Some(engine) = engine().await else { return };
    let mut s = spec("noimage", "true");
    s.image = "localhost/wright-no-such-image:0".into();
    let err = engine.start(&s).await.unwrap_err().to_string();
    assert!(
        err.contains("localhost/wright-no-such-image:0") && err.contains("not present"),
        "{err}"
    );
    let err = DockerEngine::connect(Some("unix:///nonexistent/engine.sock"))
        .await
        .err()
        .expect("no engine there")
        .to_string();
    assert!(err.contains("/nonexistent/engine.sock"), "{err}");
}

#[tokio::test]
async fn an_exited_container_reports_its_status() {
    let Some(engine) = engine().await else { return };
    let s = spec("exit", "echo bye; exit 7");
    let id = engine.start(&s).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let state = loop {
        let state = engine.state(&id).await.unwrap();
        if matches!(state, RunState::Exited(_)) || std::time::Instant::now() > deadline {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let logs = engine.logs(&id, 5).await.unwrap();
    engine.remove(&id).await.unwrap();
    assert_eq!(state, RunState::Exited(7));
    assert!(logs.contains("bye"), "{logs}");
}
