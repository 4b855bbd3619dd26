use std::path::PathBuf;

use super::*;
use crate::spec::{labels, Mount};

fn spec(network: Network) -> AttemptSpec {
    AttemptSpec {
        name: "wright-0a1b2c-1".into(),
        image: "localhost/wright-base:bookworm".into(),
        command: vec!["/bin/sh".into(), "/entry.sh".into()],
        env: vec![("WRIGHT_PORT".into(), "4500".into())],
        secrets: vec![("OPENAI_API_KEY".into(), "sk-secret-value".into())],
        port: 4500,
        resources: Resources {
            cpus: Some(0.5),
            memory: Some(512 << 20),
            pids: Some(256),
        },
        network,
        labels: BTreeMap::from([
            (labels::MANAGED.into(), "true".into()),
            (labels::TASK.into(), "0a1b2c".into()),
            (labels::ATTEMPT.into(), "1".into()),
            (labels::DRIVER.into(), "laptop.4242.1767225600".into()),
        ]),
        mounts: vec![Mount {
            host: PathBuf::from("/usr/local/bin/wright"),
            target: "/opt/wright/bin/wright".into(),
        }],
        seccomp: None,
    }
}

fn kinds(values: &[serde_json::Value]) -> Vec<&str> {
    values.iter().filter_map(|v| v["kind"].as_str()).collect()
}

#[test]
fn the_manifests_of_a_network_off_attempt() {
    insta::assert_json_snapshot!(manifests(
        &spec(Network::Off),
        "wright",
        &["203.0.113.0/24".to_string()]
    ));
}

#[test]
fn shown_manifests_never_hold_a_secret_value() {
    let s = spec(Network::Off);
    let shown = serde_json::to_string(&manifests(&s, "ns", &[])).unwrap();
    let encoded = serde_json::to_value(ByteString(b"sk-secret-value".to_vec())).unwrap();
    assert!(!shown.contains("sk-secret-value"));
    assert!(!shown.contains(encoded.as_str().unwrap()), "{shown}");
    // While the Secret `start` creates holds it.
    let created = serde_json::to_value(secret(&s, "ns", None).unwrap()).unwrap();
    assert_eq!(created["data"]["OPENAI_API_KEY"], encoded);
}

#[test]
fn which_objects_each_network_setting_gets() {
    let egress = ["203.0.113.0/24".to_string()];
    assert_eq!(
        kinds(&manifests(&spec(Network::Off), "ns", &egress)),
        ["Secret", "NetworkPolicy", "Job", "Service"]
    );
    assert_eq!(
        kinds(&manifests(&spec(Network::None), "ns", &egress)),
        ["Secret", "NetworkPolicy", "Job", "Service"]
    );
    assert_eq!(
        kinds(&manifests(&spec(Network::On), "ns", &egress)),
        ["Secret", "Job", "Service"]
    );
    let mut plain = spec(Network::On);
    plain.secrets.clear();
    assert_eq!(kinds(&manifests(&plain, "ns", &egress)), ["Job", "Service"]);
}

#[test]
fn network_none_has_an_empty_egress_list_not_a_missing_one() {
    let policy = network_policy(&spec(Network::None), "ns", &["10.0.0.0/8".into()], None).unwrap();
    let json = serde_json::to_value(policy).unwrap();
    assert_eq!(json["spec"]["egress"], serde_json::json!([]));
    assert_eq!(
        json["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
}

#[test]
fn no_secret_value_is_in_the_job_and_the_job_can_be_suspended() {
    let s = spec(Network::Off);
    let running = serde_json::to_string(&job(&s, "ns", false)).unwrap();
    assert!(!running.contains("sk-secret-value"));
    assert!(running.contains("secretKeyRef"));
    assert!(!running.contains("suspend"));
    let suspended = serde_json::to_value(job(&s, "ns", true)).unwrap();
    assert_eq!(suspended["spec"]["suspend"], true);
}

#[test]
fn owned_objects_point_at_the_job() {
    let s = spec(Network::Off);
    let owner = owned_by(&s.name, "uid-1");
    let service = serde_json::to_value(service(&s, "ns", Some(owner.clone()))).unwrap();
    let secret = serde_json::to_value(secret(&s, "ns", Some(owner)).unwrap()).unwrap();
    for object in [service, secret] {
        assert_eq!(
            object["metadata"]["ownerReferences"],
            serde_json::json!([{"apiVersion": "batch/v1", "kind": "Job",
                "name": "wright-0a1b2c-1", "uid": "uid-1",
                "controller": false, "blockOwnerDeletion": false}])
        );
    }
}

#[test]
fn cpu_limits_are_millicores_and_absent_caps_set_nothing() {
    let r = resources(&Resources {
        cpus: Some(2.0),
        memory: None,
        pids: Some(100),
    })
    .unwrap();
    assert_eq!(
        serde_json::to_value(r).unwrap(),
        serde_json::json!({"limits": {"cpu": "2000m"}})
    );
    assert!(resources(&Resources::default()).is_none());
}

#[test]
fn valid_label_values_are_kept() {
    for v in [
        "true",
        "1",
        "task-7",
        "laptop.4242.1767225600",
        "a_b",
        "",
        &"x".repeat(63),
    ] {
        assert_eq!(label_value(v), v);
    }
}

#[test]
fn invalid_label_values_become_valid_and_stay_distinct() {
    let long_a = format!("{}.1.2", "h".repeat(70));
    let long_b = format!("{}.1.3", "h".repeat(70));
    for raw in [
        long_a.as_str(),
        long_b.as_str(),
        "my host:42",
        "-leading",
        "trailing.",
        "ünïcode.1.2",
        "///",
    ] {
        let v = label_value(raw);
        assert!(valid_label_value(&v), "{raw:?} -> {v:?}");
        assert_ne!(v, raw);
    }
    assert_ne!(label_value(&long_a), label_value(&long_b));
    assert_eq!(label_value("my host:42"), label_value("my host:42"));
    assert!(label_value("my host:42").starts_with("my-host-42-"));
}

#[test]
fn the_original_of_a_changed_label_is_annotated() {
    let mut s = spec(Network::Off);
    s.labels
        .insert(labels::DRIVER.into(), "host with spaces.1.2".into());
    let job = serde_json::to_value(job(&s, "ns", false)).unwrap();
    assert_eq!(
        job["metadata"]["annotations"],
        serde_json::json!({labels::DRIVER: "host with spaces.1.2"})
    );
    assert!(job["metadata"]["labels"][labels::DRIVER]
        .as_str()
        .unwrap()
        .starts_with("host-with-spaces.1.2-"));
}
