//! A small stateful fake of the Kubernetes API server, over real HTTP on 127.0.0.1, for the
//! Kubernetes engine's tests: the REST paths and JSON of Jobs, Pods, Secrets, Services and
//! NetworkPolicies (create, get, list with `labelSelector`, merge patch, delete with
//! `propagationPolicy` and ownerReference garbage collection), a Job controller that makes a
//! Job's pod when the Job is not suspended, pod logs with `tailLines`, pod port-forward over
//! WebSocket (`v4.channel.k8s.io`) to a TCP address the test names, `/version` and the
//! discovery documents kubectl reads.
//!
//! What it leaves out: watches, resourceVersion conflicts, validation, authentication. Tests
//! change pods' and Jobs' status directly, as the kubelet and controllers would.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Decoded query parameters.
    pub query: BTreeMap<String, String>,
    /// The JSON body, `Null` when there was none.
    pub body: Value,
}

#[derive(Default)]
struct State {
    /// (resource, namespace, name) -> object.
    objects: BTreeMap<(String, String, String), Value>,
    logs: HashMap<String, String>,
    port_targets: HashMap<String, SocketAddr>,
    requests: Vec<Recorded>,
    counter: u64,
}

/// The running fake; dropping it stops the server.
pub struct FakeK8s {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeK8s {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// (apiVersion, kind) of each resource the fake serves.
fn kind_of(resource: &str) -> Option<(&'static str, &'static str)> {
    Some(match resource {
        "pods" => ("v1", "Pod"),
        "secrets" => ("v1", "Secret"),
        "services" => ("v1", "Service"),
        "jobs" => ("batch/v1", "Job"),
        "networkpolicies" => ("networking.k8s.io/v1", "NetworkPolicy"),
        _ => return None,
    })
}

impl FakeK8s {
    pub async fn start() -> FakeK8s {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        FakeK8s {
            addr,
            state,
            server,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a kubeconfig (context `fake`, a bearer token) pointing at `server`.
    pub fn kubeconfig_for(server: &str, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
             clusters:\n- name: fake\n  cluster:\n    server: {server}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n\
             users:\n- name: fake\n  user:\n    token: fake-token\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        Self::kubeconfig_for(&self.url(), dir)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn object(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&(resource.into(), ns.into(), name.into()))
            .cloned()
    }

    /// Every object of a resource in a namespace.
    pub fn objects(&self, resource: &str, ns: &str) -> Vec<Value> {
        self.lock()
            .objects
            .iter()
            .filter(|((r, n, _), _)| r == resource && n == ns)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Creates an object as another client would.
    pub fn insert(&self, resource: &str, ns: &str, mut object: Value) {
        let mut state = self.lock();
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        stamp(&mut state, &mut object, resource, ns);
        state
            .objects
            .insert((resource.into(), ns.into(), name), object);
    }

    /// The name of the pod the fake Job controller made for `job`.
    pub fn pod_of(&self, ns: &str, job: &str) -> Option<String> {
        self.objects("pods", ns)
            .into_iter()
            .find(|p| p["metadata"]["labels"]["batch.kubernetes.io/job-name"] == job)
            .and_then(|p| p["metadata"]["name"].as_str().map(str::to_string))
    }

    /// Replaces an object's `status`, as the kubelet or a controller would.
    pub fn set_status(&self, resource: &str, ns: &str, name: &str, status: Value) {
        let mut state = self.lock();
        let object = state
            .objects
            .get_mut(&(resource.into(), ns.into(), name.into()))
            .unwrap_or_else(|| panic!("no {resource} {ns}/{name}"));
        object["status"] = status;
    }

    pub fn set_log(&self, pod: &str, text: &str) {
        self.lock().logs.insert(pod.into(), text.into());
    }

    /// Port-forwards to `pod` reach `target`.
    pub fn forward_pod_to(&self, pod: &str, target: SocketAddr) {
        self.lock().port_targets.insert(pod.into(), target);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }
}

async fn handle(state: Arc<Mutex<State>>, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query().unwrap_or(""));
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    if seg.last() == Some(&"portforward") && method == "GET" {
        state.lock().unwrap().requests.push(Recorded {
            method,
            path,
            query: query.clone(),
            body: Value::Null,
        });
        return portforward(&state, &mut req, &seg, &query);
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut state = state.lock().unwrap();
    state.requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
    });
    route(&mut state, &method, &seg, &query, body)
}

fn route(
    state: &mut State,
    method: &str,
    seg: &[&str],
    query: &BTreeMap<String, String>,
    body: Value,
) -> Response<Full<Bytes>> {
    // (group prefix length, rest) for /api/v1/... and /apis/GROUP/VERSION/...
    let rest = match seg {
        ["version"] => return json_response(200, version()),
        ["api"] => {
            return json_response(
                200,
                json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
            )
        }
        ["apis"] => return json_response(200, group_list()),
        ["api", "v1"] => return json_response(200, resource_list("v1")),
        ["apis", group, version] => {
            return json_response(200, resource_list(&format!("{group}/{version}")))
        }
        ["api", "v1", rest @ ..] => rest,
        ["apis", _, _, rest @ ..] => rest,
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        }
    };
    match rest {
        ["namespaces", ns, resource] if kind_of(resource).is_some() => match method {
            "GET" => list(state, ns, resource, query),
            "POST" => create(state, ns, resource, body),
            _ => status(405, "MethodNotAllowed", "method not allowed"),
        },
        ["namespaces", ns, "pods", name, "log"] if method == "GET" => log(state, ns, name, query),
        ["namespaces", ns, resource, name] if kind_of(resource).is_some() => {
            let key = (resource.to_string(), ns.to_string(), name.to_string());
            match method {
                "GET" => match state.objects.get(&key) {
                    Some(o) => json_response(200, o.clone()),
                    None => not_found(resource, name),
                },
                "PATCH" => patch(state, key, body),
                "DELETE" => delete(state, key, &body, query),
                _ => status(405, "MethodNotAllowed", "method not allowed"),
            }
        }
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn list(
    state: &State,
    ns: &str,
    resource: &str,
    query: &BTreeMap<String, String>,
) -> Response<Full<Bytes>> {
    let selector = query.get("labelSelector").cloned().unwrap_or_default();
    let mut items: Vec<Value> = state
        .objects
        .iter()
        .filter(|((r, n, _), o)| r == resource && n == ns && matches_selector(o, &selector))
        .map(|(_, o)| o.clone())
        .collect();
    if let Some(limit) = query.get("limit").and_then(|l| l.parse::<usize>().ok()) {
        items.truncate(limit);
    }
    let (api_version, kind) = kind_of(resource).unwrap_or(("v1", "Unknown"));
    json_response(
        200,
        json!({"apiVersion": api_version, "kind": format!("{kind}List"),
            "metadata": {"resourceVersion": state.counter.to_string()}, "items": items}),
    )
}

/// Equality (`k=v`, `k==v`), inequality (`k!=v`) and existence (`k`, `!k`) terms, ANDed.
fn matches_selector(object: &Value, selector: &str) -> bool {
    let labels = &object["metadata"]["labels"];
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            labels[k.trim()].as_str() != Some(v.trim())
        } else if let Some((k, v)) = term.split_once('=') {
            let v = v.trim_start_matches('=');
            labels[k.trim()].as_str() == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            labels[k.trim()].is_null()
        } else {
            !labels[term.trim()].is_null()
        }
    })
}

fn stamp(state: &mut State, object: &mut Value, resource: &str, ns: &str) {
    state.counter += 1;
    let n = state.counter;
    let (api_version, kind) = kind_of(resource).unwrap_or(("v1", "Unknown"));
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(kind);
    let meta = &mut object["metadata"];
    meta["namespace"] = json!(ns);
    meta["uid"] = json!(format!("00000000-0000-4000-8000-{n:012}"));
    meta["resourceVersion"] = json!(n.to_string());
    // Seconds from the counter: later objects are newer, as a pod list's order needs.
    meta["creationTimestamp"] = json!(format!(
        "2026-01-01T{:02}:{:02}:{:02}Z",
        n / 3600 % 24,
        n / 60 % 60,
        n % 60
    ));
}

fn create(state: &mut State, ns: &str, resource: &str, mut object: Value) -> Response<Full<Bytes>> {
    let Some(name) = object["metadata"]["name"].as_str().map(str::to_string) else {
        return status(422, "Invalid", "metadata.name: Required value");
    };
    let key = (resource.to_string(), ns.to_string(), name.clone());
    if state.objects.contains_key(&key) {
        let (_, kind) = kind_of(resource).unwrap_or(("v1", "Unknown"));
        return status(
            409,
            "AlreadyExists",
            &format!("{resource} \"{name}\" already exists (kind {kind})"),
        );
    }
    stamp(state, &mut object, resource, ns);
    state.objects.insert(key, object.clone());
    if resource == "jobs" {
        run_job_controller(state, ns, &name);
    }
    json_response(201, object)
}

fn patch(state: &mut State, key: (String, String, String), body: Value) -> Response<Full<Bytes>> {
    let Some(object) = state.objects.get_mut(&key) else {
        return not_found(&key.0, &key.2);
    };
    merge(object, &body);
    let object = object.clone();
    if key.0 == "jobs" {
        run_job_controller(state, &key.1, &key.2);
    }
    json_response(200, object)
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = json!({});
            }
            for (k, v) in fields {
                if v.is_null() {
                    if let Some(map) = target.as_object_mut() {
                        map.remove(k);
                    }
                } else {
                    merge(&mut target[k.as_str()], v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The Job controller's one duty here: a running (not suspended) Job without a pod gets one,
/// labelled and owned as the real controller does it.
fn run_job_controller(state: &mut State, ns: &str, job_name: &str) {
    let Some(job) = state
        .objects
        .get(&("jobs".into(), ns.into(), job_name.into()))
        .cloned()
    else {
        return;
    };
    if job["spec"]["suspend"] == json!(true) {
        return;
    }
    let has_pod = state.objects.iter().any(|((r, n, _), p)| {
        r == "pods"
            && n == ns
            && p["metadata"]["labels"]["batch.kubernetes.io/job-name"] == job_name
    });
    if has_pod {
        return;
    }
    let uid = job["metadata"]["uid"].clone();
    let template = &job["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["batch.kubernetes.io/job-name"] = json!(job_name);
    labels["job-name"] = json!(job_name);
    labels["batch.kubernetes.io/controller-uid"] = uid.clone();
    let pod_name = format!("{job_name}-p{}", state.counter + 1);
    let mut pod = json!({
        "metadata": {"name": pod_name, "labels": labels, "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": uid,
            "controller": true, "blockOwnerDeletion": true}]},
        "spec": template["spec"].clone(),
        "status": {"phase": "Pending"},
    });
    stamp(state, &mut pod, "pods", ns);
    state
        .objects
        .insert(("pods".into(), ns.into(), pod_name), pod);
}

fn delete(
    state: &mut State,
    key: (String, String, String),
    body: &Value,
    query: &BTreeMap<String, String>,
) -> Response<Full<Bytes>> {
    let Some(object) = state.objects.remove(&key) else {
        return not_found(&key.0, &key.2);
    };
    let policy = body["propagationPolicy"]
        .as_str()
        .map(str::to_string)
        .or_else(|| query.get("propagationPolicy").cloned())
        // The API's default for Jobs (kept for compatibility) is to orphan their pods.
        .unwrap_or_else(|| {
            if key.0 == "jobs" {
                "Orphan".into()
            } else {
                "Background".into()
            }
        });
    if policy != "Orphan" {
        collect(state, &key.1, &object["metadata"]["uid"]);
    }
    let (_, kind) = kind_of(&key.0).unwrap_or(("v1", "Unknown"));
    json_response(
        200,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": key.2, "kind": kind.to_lowercase(), "uid": object["metadata"]["uid"]}}),
    )
}

/// The garbage collector: deletes what `uid` owns, and what that owns.
fn collect(state: &mut State, ns: &str, uid: &Value) {
    let owned: Vec<(String, String, String)> = state
        .objects
        .iter()
        .filter(|((_, n, _), o)| {
            n == ns
                && o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| &r["uid"] == uid))
        })
        .map(|(k, _)| k.clone())
        .collect();
    for key in owned {
        if let Some(o) = state.objects.remove(&key) {
            collect(state, ns, &o["metadata"]["uid"]);
        }
    }
}

fn log(
    state: &State,
    ns: &str,
    pod: &str,
    query: &BTreeMap<String, String>,
) -> Response<Full<Bytes>> {
    if !state
        .objects
        .contains_key(&("pods".into(), ns.into(), pod.into()))
    {
        return not_found("pods", pod);
    }
    let text = state.logs.get(pod).cloned().unwrap_or_default();
    let text = match query.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            lines[lines.len().saturating_sub(n)..].concat()
        }
        None => text,
    };
    Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(text)))
        .unwrap()
}

/// Answers the WebSocket upgrade of `.../pods/NAME/portforward?ports=P` and then speaks the
/// v4 channel protocol: each port's data channel (0) and error channel (1) first carry the
/// port number (little-endian), then data.
fn portforward(
    state: &Arc<Mutex<State>>,
    req: &mut Request<Incoming>,
    seg: &[&str],
    query: &BTreeMap<String, String>,
) -> Response<Full<Bytes>> {
    let pod = seg[seg.len() - 2].to_string();
    let ns = seg.get(3).copied().unwrap_or_default().to_string();
    let known = state
        .lock()
        .unwrap()
        .objects
        .contains_key(&("pods".into(), ns, pod.clone()));
    if !known {
        return not_found("pods", &pod);
    }
    let Some(port) = query.get("ports").and_then(|p| p.parse::<u16>().ok()) else {
        return status(400, "BadRequest", "ports is required");
    };
    let Some(key) = req.headers().get("sec-websocket-key").cloned() else {
        return status(400, "BadRequest", "not a WebSocket upgrade");
    };
    let offered = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !offered.split(',').any(|p| p.trim() == "v4.channel.k8s.io") {
        return status(400, "BadRequest", "v4.channel.k8s.io not offered");
    }
    let target = state.lock().unwrap().port_targets.get(&pod).copied();
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        serve_forward(ws, port, target).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
        .header("sec-websocket-protocol", "v4.channel.k8s.io")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

async fn serve_forward<S>(mut ws: WebSocketStream<S>, port: u16, target: Option<SocketAddr>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let [lo, hi] = port.to_le_bytes();
    for channel in [0u8, 1] {
        if ws
            .send(Message::binary(vec![channel, lo, hi]))
            .await
            .is_err()
        {
            return;
        }
    }
    let conn = match target {
        Some(t) => TcpStream::connect(t).await.ok(),
        None => None,
    };
    let Some(mut conn) = conn else {
        let mut error = vec![1u8];
        error.extend_from_slice(
            format!("error forwarding port {port}: connection refused").as_bytes(),
        );
        let _ = ws.send(Message::binary(error)).await;
        let _ = ws.close(None).await;
        return;
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = conn.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut frame = Vec::with_capacity(n + 1);
                    frame.push(0);
                    frame.extend_from_slice(&buf[..n]);
                    if ws.send(Message::binary(frame)).await.is_err() {
                        break;
                    }
                }
            },
            message = ws.next() => match message {
                Some(Ok(Message::Binary(data))) if data.first() == Some(&0) => {
                    if conn.write_all(&data[1..]).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = ws.close(None).await;
}

fn version() -> Value {
    json!({"major": "1", "minor": "33", "gitVersion": "v1.33.1",
        "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828", "gitTreeState": "clean",
        "buildDate": "2025-05-15T08:19:08Z", "goVersion": "go1.24.2", "compiler": "gc",
        "platform": "linux/amd64"})
}

fn group_list() -> Value {
    let group = |name: &str| {
        json!({"name": name,
            "versions": [{"groupVersion": format!("{name}/v1"), "version": "v1"}],
            "preferredVersion": {"groupVersion": format!("{name}/v1"), "version": "v1"}})
    };
    json!({"kind": "APIGroupList", "apiVersion": "v1",
        "groups": [group("batch"), group("networking.k8s.io")]})
}

fn resource_list(group_version: &str) -> Value {
    let resources: Vec<Value> = ["pods", "secrets", "services", "jobs", "networkpolicies"]
        .into_iter()
        .filter_map(|r| {
            let (gv, kind) = kind_of(r)?;
            (gv == group_version).then(|| {
                json!({"name": r, "singularName": kind.to_lowercase(), "namespaced": true,
                    "kind": kind, "verbs": ["create", "delete", "get", "list", "patch", "update"]})
            })
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
        "resources": resources})
}

fn not_found(resource: &str, name: &str) -> Response<Full<Bytes>> {
    status(404, "NotFound", &format!("{resource} \"{name}\" not found"))
}

fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}),
    )
}

fn json_response(code: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
