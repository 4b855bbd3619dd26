//! OAuth for streamable HTTP servers (`wright mcp login NAME`, the App Server's
//! `mcpServer/oauth/login`): the OAuth 2.1 authorization-code flow with PKCE, as Codex runs it.
//!
//! [`start_login`] asks the server (an unauthenticated `initialize`) for its 401 challenge,
//! discovers the authorization server from it (RFC 9728 protected-resource metadata, then
//! RFC 8414 / OpenID metadata), registers wright as a client (RFC 7591), opens a loopback
//! listener for the redirect and returns the authorization URL at once. The returned task
//! waits for the browser's redirect, checks `state`, exchanges the code (with the PKCE
//! verifier) and stores the tokens in a file only the user can read (see `store`).
//!
//! The protocol itself is rmcp's (`AuthorizationManager`); this module picks the steps, so
//! that wright knows the registered client (and its secret, if any) and can say precisely
//! which step failed.
//!
//! Connecting reads the file with [`access_token`] (cheap, synchronous, never refreshes);
//! [`fresh_access_token`] also refreshes an expired token with its refresh token.

mod callback;
mod refresh;
mod store;

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use rmcp::transport::auth::{
    AuthError, AuthorizationManager, AuthorizationMetadata, OAuthTokenResponse,
};
use serde_json::{json, Value as Json};
use tokio::task::JoinHandle;

use crate::config::{is_valid_server_name, McpServerConfig, McpTransport};
use callback::{Callback, CallbackListener};
pub use refresh::fresh_access_token;
use store::StoredLogin;

/// The client name wright registers under.
const CLIENT_NAME: &str = "wright";

/// What went wrong, by step; never carries a token.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("No MCP server named '{0}' found.")]
    ServerNotFound(String),
    #[error("invalid server name '{0}' (use letters, numbers, '-', '_')")]
    InvalidName(String),
    #[error("OAuth login is only supported for streamable HTTP servers; '{0}' is a stdio server.")]
    NotHttp(String),
    #[error(
        "OAuth login is not supported when a bearer token is configured: remove \
         `bearer_token_env_var = \"{var}\"` from `mcp_servers.{server}` first."
    )]
    BearerTokenConfigured { server: String, var: String },
    #[error("MCP server '{server}': `{url}` is not a valid http(s) URL")]
    InvalidUrl { server: String, url: String },
    #[error("cannot reach MCP server '{server}' at {url}: {reason}")]
    Unreachable {
        server: String,
        url: String,
        reason: String,
    },
    #[error(
        "MCP server '{server}' ({url}) does not support OAuth: it publishes no protected-resource \
         or authorization-server metadata"
    )]
    NoOAuthSupport { server: String, url: String },
    #[error("OAuth discovery for MCP server '{server}' failed: {reason}")]
    Discovery { server: String, reason: String },
    #[error(
        "the authorization server of MCP server '{server}' does not support dynamic client \
         registration, and wright has no client id for it"
    )]
    RegistrationUnsupported { server: String },
    #[error(
        "the authorization server of MCP server '{server}' refused to register wright: {reason}"
    )]
    RegistrationRefused { server: String, reason: String },
    #[error("cannot start the OAuth login for MCP server '{server}': {reason}")]
    Authorization { server: String, reason: String },
    #[error("cannot listen for the OAuth redirect on 127.0.0.1: {0}")]
    Listener(std::io::Error),
    #[error("login to MCP server '{server}' was denied: {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        server: String,
        error: String,
        description: Option<String>,
    },
    #[error(
        "login to MCP server '{server}' failed: the browser's redirect carried another login's \
         state ({count} time(s)), and no redirect for this login arrived within {secs} s"
    )]
    StateMismatch {
        server: String,
        count: usize,
        secs: u64,
    },
    #[error("timed out after {secs} s waiting for the browser to finish logging in to MCP server '{server}'")]
    Timeout { server: String, secs: u64 },
    #[error("the authorization server of MCP server '{server}' did not issue a token: {reason}")]
    TokenExchange { server: String, reason: String },
    #[error(
        "the OAuth login of MCP server '{server}' has expired; run `wright mcp login {server}`"
    )]
    LoginExpired { server: String },
    #[error("cannot refresh the OAuth token of MCP server '{server}': {reason}")]
    Refresh { server: String, reason: String },
    // The I/O error is in the message, not a `source`, so `{:#}` does not say it twice.
    #[error("cannot read or write the OAuth credentials file {}: {error}", path.display())]
    Store {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// A login under way: send the user to `authorization_url`; `completion` ends when the tokens
/// are stored, or with why not (denied, timed out, ...). Dropping `completion` does not stop
/// the login; it still ends by its timeout.
#[derive(Debug)]
pub struct OAuthLogin {
    pub authorization_url: String,
    pub completion: JoinHandle<Result<(), OAuthError>>,
}

/// The stored access token for `server` at `url`, if a login stored one for that URL and it
/// has not expired. Reads one small file; never refreshes (see [`fresh_access_token`]).
pub fn access_token(home: &Path, server: &str, url: &str) -> Option<String> {
    let login = stored_for(home, server, url).ok()??;
    login.usable_at(store::now()).then_some(login.access_token)
}

/// Whether a login is stored for `server` at `url`, expired or not: what
/// `McpAuthStatus::OAuth` reports.
pub fn has_login(home: &Path, server: &str, url: &str) -> bool {
    matches!(stored_for(home, server, url), Ok(Some(_)))
}

/// Where `server`'s login is (or would be) stored: `$WRIGHT_HOME/.credentials/mcp/NAME.json`.
pub fn credentials_path(home: &Path, server: &str) -> PathBuf {
    store::path(home, server)
}

/// Deletes the stored login of `server`; whether there was one.
pub fn logout(home: &Path, server: &str) -> Result<bool, OAuthError> {
    if !is_valid_server_name(server) {
        return Err(OAuthError::InvalidName(server.to_string()));
    }
    store::remove(home, server).map_err(|error| OAuthError::Store {
        path: store::path(home, server),
        error,
    })
}

fn stored_for(home: &Path, server: &str, url: &str) -> std::io::Result<Option<StoredLogin>> {
    if !is_valid_server_name(server) {
        return Ok(None);
    }
    Ok(store::load(home, server)?.filter(|login| login.url == url && login.server == server))
}

fn install_crypto() {
    // The workspace builds reqwest with `rustls-no-provider`; whoever is first installs ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Starts logging in to `server` (named `name` in config.toml): discovery, client
/// registration, the loopback listener. Returns as soon as the authorization URL is known;
/// the login then waits up to `timeout` for the browser. `scopes` empty: the scopes the
/// server's challenge or metadata ask for.
pub async fn start_login(
    home: &Path,
    name: &str,
    server: &McpServerConfig,
    scopes: Vec<String>,
    timeout: Duration,
) -> Result<OAuthLogin, OAuthError> {
    if !is_valid_server_name(name) {
        return Err(OAuthError::InvalidName(name.to_string()));
    }
    let (url, headers) = match &server.transport {
        McpTransport::Stdio { .. } => return Err(OAuthError::NotHttp(name.to_string())),
        McpTransport::StreamableHttp {
            bearer_token_env_var: Some(var),
            ..
        } => {
            return Err(OAuthError::BearerTokenConfigured {
                server: name.to_string(),
                var: var.clone(),
            })
        }
        McpTransport::StreamableHttp {
            url, http_headers, ..
        } => (url.clone(), http_headers.clone().unwrap_or_default()),
    };
    if !Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        return Err(OAuthError::InvalidUrl {
            server: name.to_string(),
            url,
        });
    }
    install_crypto();
    let err = Errors(name);

    // Bound first: the redirect URI is part of the client registration.
    let listener = CallbackListener::bind()
        .await
        .map_err(OAuthError::Listener)?;
    let challenge = probe(name, &url, &headers).await?;

    // `new` resolves the discovered hosts through a filter: metadata cannot point wright at
    // a private or link-local address unless the server itself is on one.
    let mut manager = AuthorizationManager::new(url.as_str())
        .await
        .map_err(|e| err.discovery(e))?;
    let resolution = manager
        .resolve_metadata_from_challenge(challenge.as_deref())
        .await
        .map_err(|e| err.discovery(e))?;
    if !resolution.source.is_discovered() {
        return Err(OAuthError::NoOAuthSupport {
            server: name.to_string(),
            url,
        });
    }
    let metadata = resolution.metadata;
    manager.set_metadata(metadata.clone());

    let scopes = if scopes.is_empty() {
        manager.select_initial_scopes(&[]).await
    } else {
        with_offline_access(scopes, &metadata)
    };
    let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let client = manager
        .register_client(CLIENT_NAME, &listener.redirect_uri, &scope_refs)
        .await
        .map_err(|e| err.registration(e))?;
    let authorization_url = manager
        .get_authorization_url(&scope_refs)
        .await
        .map_err(|e| err.authorization(e))?;
    let query = |key: &str| {
        Url::parse(&authorization_url).ok().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        })
    };
    let state = query("state").ok_or_else(|| err.authorization("no state in the URL"))?;

    let mut login = StoredLogin::new(name, &url, client.client_id, metadata);
    login.client_secret = client.client_secret;
    login.scopes = scopes;
    login.resource = query("resource");
    let pending = Pending {
        home: home.to_path_buf(),
        manager,
        listener,
        state,
        login,
        timeout,
    };
    Ok(OAuthLogin {
        authorization_url,
        completion: tokio::spawn(pending.finish()),
    })
}

/// A login waiting for the browser.
struct Pending {
    home: PathBuf,
    manager: AuthorizationManager,
    listener: CallbackListener,
    state: String,
    /// What will be stored, less the tokens.
    login: StoredLogin,
    timeout: Duration,
}

impl Pending {
    async fn finish(self) -> Result<(), OAuthError> {
        let server = self.login.server.clone();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let secs = self.timeout.as_secs();
        let (callback, mut browser) = match self.listener.wait(&self.state, deadline).await {
            Ok(found) => found,
            Err(none) if none.wrong_state > 0 => {
                return Err(OAuthError::StateMismatch {
                    server,
                    count: none.wrong_state,
                    secs,
                })
            }
            Err(_) => return Err(OAuthError::Timeout { server, secs }),
        };
        let result = match callback {
            Callback::Error { error, description } => Err(OAuthError::Denied {
                server: server.clone(),
                error,
                description,
            }),
            Callback::Code { code, issuer } => self.exchange(&code, issuer.as_deref()).await,
        };
        let (status, page) = match &result {
            Ok(()) => (
                200,
                format!("Logged in to MCP server '{server}'. You may close this window."),
            ),
            Err(e) => (400, format!("wright: {e}")),
        };
        callback::respond(&mut browser, status, &page).await;
        result
    }

    async fn exchange(mut self, code: &str, issuer: Option<&str>) -> Result<(), OAuthError> {
        let server = self.login.server.clone();
        let token = self
            .manager
            .exchange_code_for_token_with_issuer(code, &self.state, issuer)
            .await
            .map_err(|e| OAuthError::TokenExchange {
                server: server.clone(),
                reason: e.to_string(),
            })?;
        apply_token(&mut self.login, &token).map_err(|reason| OAuthError::TokenExchange {
            server: server.clone(),
            reason,
        })?;
        save(&self.home, &self.login)
    }
}

fn save(home: &Path, login: &StoredLogin) -> Result<(), OAuthError> {
    store::save(home, login).map_err(|error| OAuthError::Store {
        path: store::path(home, &login.server),
        error,
    })
}

/// Copies a token response into `login` (rmcp does not re-export the `oauth2` accessors, so
/// the response is read through its serde form).
fn apply_token(login: &mut StoredLogin, token: &OAuthTokenResponse) -> Result<(), String> {
    let json = serde_json::to_value(token).map_err(|e| e.to_string())?;
    let text = |key: &str| json.get(key).and_then(Json::as_str).map(str::to_string);
    login.access_token = text("access_token").ok_or("the response has no access_token")?;
    login.token_type = text("token_type").unwrap_or_else(|| "Bearer".into());
    if let Some(refresh) = text("refresh_token") {
        login.refresh_token = Some(refresh);
    }
    login.obtained_at = store::now();
    login.expires_at = json
        .get("expires_in")
        .and_then(Json::as_u64)
        .map(|secs| login.obtained_at + secs);
    if let Some(scope) = text("scope") {
        login.scopes = scope.split_whitespace().map(str::to_string).collect();
    }
    Ok(())
}

/// Asks the server for its `WWW-Authenticate` challenge with an unauthenticated
/// `initialize`: the challenge names the protected-resource metadata (RFC 9728 §5.1).
/// `None` when the server answers without one; discovery then tries the well-known URLs.
async fn probe(
    name: &str,
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<Option<String>, OAuthError> {
    let unreachable = |reason: String| OAuthError::Unreachable {
        server: name.to_string(),
        url: url.to_string(),
        reason,
    };
    // No redirects: the configured headers may carry secrets meant for this server only.
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| unreachable(e.to_string()))?;
    let initialize = json!({
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": CLIENT_NAME, "version": env!("CARGO_PKG_VERSION")},
        },
    });
    let mut request = client
        .post(url)
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        )
        .json(&initialize);
    for (key, value) in headers {
        request = request.header(key, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Ok(response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string));
    }
    // An open server just started a session for the probe: end it (best effort).
    if let Some(session) = response.headers().get("mcp-session-id").cloned() {
        let _ = client
            .delete(url)
            .header("mcp-session-id", session)
            .send()
            .await;
    }
    Ok(None)
}

/// SEP-2207: ask for `offline_access` (a refresh token) when the authorization server
/// offers it, as rmcp does for the scopes it picks itself.
fn with_offline_access(mut scopes: Vec<String>, metadata: &AuthorizationMetadata) -> Vec<String> {
    let offered = metadata
        .scopes_supported
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s == "offline_access"));
    if offered && !scopes.iter().any(|s| s == "offline_access") {
        scopes.push("offline_access".into());
    }
    scopes
}

/// Maps rmcp's errors to the step that failed.
struct Errors<'a>(&'a str);

impl Errors<'_> {
    fn discovery(&self, e: AuthError) -> OAuthError {
        OAuthError::Discovery {
            server: self.0.to_string(),
            reason: e.to_string(),
        }
    }

    fn registration(&self, e: AuthError) -> OAuthError {
        let server = self.0.to_string();
        match e {
            // rmcp's words when the metadata has no `registration_endpoint`.
            AuthError::RegistrationFailed(reason) if reason.contains("not supported") => {
                OAuthError::RegistrationUnsupported { server }
            }
            AuthError::RegistrationFailed(reason) => {
                OAuthError::RegistrationRefused { server, reason }
            }
            other => OAuthError::Authorization {
                server,
                reason: other.to_string(),
            },
        }
    }

    fn authorization(&self, e: impl std::fmt::Display) -> OAuthError {
        OAuthError::Authorization {
            server: self.0.to_string(),
            reason: e.to_string(),
        }
    }
}
