//! A real OAuth 2.1 authorization server and a protected MCP-ish endpoint, on one 127.0.0.1
//! port, for the login tests (wright-mcp's and the CLI's, which includes this file).
//!
//! - `POST /mcp`: 200 with a token this server issued, else 401 with
//!   `WWW-Authenticate: Bearer resource_metadata="<base>/meta/prm"` (a non-well-known path,
//!   so only a client that reads the challenge finds it).
//! - `GET /meta/prm`: RFC 9728 metadata; `GET /.well-known/oauth-authorization-server`:
//!   RFC 8414 metadata.
//! - `POST /register`: RFC 7591 registration (refused when `refuse_registration`).
//! - `GET /authorize`: plays the user approving (or denying, when `deny`): a 302 to the
//!   registered `redirect_uri` with `code` and `state`.
//! - `POST /token`: authorization code (checks the PKCE verifier against the challenge, the
//!   client and the redirect URI) and refresh token grants.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State as AxumState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

pub struct OAuthServer {
    pub base: String,
    pub state: Arc<Mutex<State>>,
}

#[derive(Default)]
pub struct State {
    pub base: String,
    /// `/register` answers 403.
    pub refuse_registration: bool,
    /// The metadata names no `registration_endpoint`.
    pub no_registration: bool,
    /// `/authorize` redirects with `error=access_denied`.
    pub deny: bool,
    /// No metadata anywhere and no challenge: a server without OAuth.
    pub no_oauth: bool,
    /// `/authorize` records a challenge other than the one sent, as if an attacker had
    /// started the flow: the exchange must then fail the PKCE check.
    pub swap_challenge: bool,
    /// `expires_in` of issued access tokens.
    pub lifetime: u64,
    pub clients: HashMap<String, Vec<String>>,
    codes: HashMap<String, Grant>,
    pub access_tokens: Vec<String>,
    pub refresh_tokens: HashMap<String, String>,
    /// Every `/token` request's form, in order.
    pub token_requests: Vec<HashMap<String, String>>,
    /// What `/token` answered (status) to each request.
    pub token_statuses: Vec<u16>,
    n: u64,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scope: Option<String>,
}

type Shared = Arc<Mutex<State>>;

impl OAuthServer {
    pub async fn start() -> OAuthServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            base: base.clone(),
            lifetime: 3600,
            ..State::default()
        }));
        let app = Router::new()
            .route("/mcp", post(mcp))
            .route("/meta/prm", get(protected_resource))
            .route(
                "/.well-known/oauth-authorization-server",
                get(authorization_server),
            )
            .route("/register", post(register))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        OAuthServer { base, state }
    }

    pub fn url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    pub fn set(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().unwrap())
    }

    pub fn get<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().unwrap())
    }

    /// Status of `POST /mcp` with `token`.
    pub async fn call_mcp(&self, token: &str) -> u16 {
        client()
            .post(self.url())
            .bearer_auth(token)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Plays the user's browser at the authorization server: where it redirects to.
pub async fn approve(authorization_url: &str) -> String {
    let response = client().get(authorization_url).send().await.unwrap();
    assert_eq!(response.status(), 302, "{:?}", response.text().await);
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// Plays the browser following a redirect: status and page.
pub async fn visit(url: &str) -> (u16, String) {
    let response = client().get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// `url` with query parameter `key` set to `value`.
pub fn with_param(url: &str, key: &str, value: &str) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(key, value);
    url.to_string()
}

pub fn param(url: &str, key: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn form(text: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{text}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn s256(verifier: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

async fn mcp(AxumState(state): AxumState<Shared>, headers: HeaderMap) -> Response {
    let state = state.lock().unwrap();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if token.is_some_and(|t| state.access_tokens.iter().any(|a| a == t)) {
        return Json(json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": []}})).into_response();
    }
    if state.no_oauth {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let challenge = format!(
        "Bearer resource_metadata=\"{}/meta/prm\", scope=\"mcp:tools\"",
        state.base
    );
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
        "unauthorized",
    )
        .into_response()
}

async fn protected_resource(AxumState(state): AxumState<Shared>) -> Response {
    let state = state.lock().unwrap();
    if state.no_oauth {
        return StatusCode::NOT_FOUND.into_response();
    }
    Json(json!({
        "resource": format!("{}/mcp", state.base),
        "authorization_servers": [state.base],
        "scopes_supported": ["mcp:tools"],
    }))
    .into_response()
}

async fn authorization_server(AxumState(state): AxumState<Shared>) -> Response {
    let state = state.lock().unwrap();
    if state.no_oauth {
        return StatusCode::NOT_FOUND.into_response();
    }
    let base = &state.base;
    let mut metadata = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "registration_endpoint": format!("{base}/register"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["mcp:tools", "offline_access"],
    });
    if state.no_registration {
        metadata
            .as_object_mut()
            .unwrap()
            .remove("registration_endpoint");
    }
    Json(metadata).into_response()
}

async fn register(AxumState(state): AxumState<Shared>, Json(body): Json<Value>) -> Response {
    let mut state = state.lock().unwrap();
    if state.refuse_registration {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "access_denied", "error_description": "registration is closed"})),
        )
            .into_response();
    }
    let redirect_uris: Vec<String> = body["redirect_uris"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if redirect_uris.is_empty() {
        return StatusCode::BAD_REQUEST.into_response();
    }
    state.n += 1;
    let client_id = format!("client-{}", state.n);
    state
        .clients
        .insert(client_id.clone(), redirect_uris.clone());
    (
        StatusCode::CREATED,
        Json(json!({
            "client_id": client_id,
            "redirect_uris": redirect_uris,
            "client_name": body["client_name"],
            "token_endpoint_auth_method": "none",
        })),
    )
        .into_response()
}

async fn authorize(AxumState(state): AxumState<Shared>, RawQuery(query): RawQuery) -> Response {
    let q = form(&query.unwrap_or_default());
    let mut state = state.lock().unwrap();
    let (Some(client_id), Some(redirect_uri), Some(st), Some(challenge)) = (
        q.get("client_id"),
        q.get("redirect_uri"),
        q.get("state"),
        q.get("code_challenge"),
    ) else {
        return (StatusCode::BAD_REQUEST, "missing parameters").into_response();
    };
    let registered = state
        .clients
        .get(client_id)
        .is_some_and(|uris| uris.contains(redirect_uri));
    if !registered || q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return (
            StatusCode::BAD_REQUEST,
            "unknown client, redirect or method",
        )
            .into_response();
    }
    let mut target = reqwest::Url::parse(redirect_uri).unwrap();
    if state.deny {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "the user said no")
            .append_pair("state", st);
    } else {
        state.n += 1;
        let code = format!("code-{}", state.n);
        let challenge = if state.swap_challenge {
            s256("an attacker's verifier")
        } else {
            challenge.clone()
        };
        let grant = Grant {
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            challenge,
            scope: q.get("scope").cloned(),
        };
        state.codes.insert(code.clone(), grant);
        target
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", st);
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

async fn token(AxumState(state): AxumState<Shared>, body: String) -> Response {
    let f = form(&body);
    let mut state = state.lock().unwrap();
    state.token_requests.push(f.clone());
    let result = issue(&mut state, &f);
    let response = match result {
        Ok(body) => (StatusCode::OK, Json(body)),
        Err(error) => (StatusCode::BAD_REQUEST, Json(json!({"error": error}))),
    };
    state.token_statuses.push(response.0.as_u16());
    response.into_response()
}

fn issue(state: &mut State, f: &HashMap<String, String>) -> Result<Value, &'static str> {
    let field = |k: &str| f.get(k).map(String::as_str);
    let (client_id, scope) = match field("grant_type") {
        Some("authorization_code") => {
            let grant = state
                .codes
                .remove(field("code").unwrap_or_default())
                .ok_or("invalid_grant")?;
            let verifier = field("code_verifier").ok_or("invalid_request")?;
            if s256(verifier) != grant.challenge
                || field("redirect_uri") != Some(&grant.redirect_uri)
                || field("client_id") != Some(&grant.client_id)
            {
                return Err("invalid_grant");
            }
            (grant.client_id, grant.scope)
        }
        Some("refresh_token") => {
            let refresh = field("refresh_token").unwrap_or_default();
            let client_id = state
                .refresh_tokens
                .remove(refresh)
                .ok_or("invalid_grant")?;
            if field("client_id") != Some(&client_id) {
                return Err("invalid_grant");
            }
            (client_id, None)
        }
        _ => return Err("unsupported_grant_type"),
    };
    state.n += 1;
    let access = format!("access-{}", state.n);
    let refresh = format!("refresh-{}", state.n);
    state.access_tokens.push(access.clone());
    state.refresh_tokens.insert(refresh.clone(), client_id);
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": state.lifetime,
        "refresh_token": refresh,
    });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    Ok(body)
}
