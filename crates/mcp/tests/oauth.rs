//! OAuth login against a real in-test authorization server (tests/support/oauth_server.rs):
//! discovery from the 401 challenge, registration, the loopback redirect, the PKCE-checked
//! exchange, the 0600 file, refresh. Each protection is shown refusing, and the same flow
//! shown succeeding without the bad input, so a test cannot pass by refusing everything.

#[path = "support/oauth_server.rs"]
mod oauth_server;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use oauth_server::{approve, param, visit, with_param, OAuthServer};
use serde_json::Value;
use wright_mcp::oauth::{self, OAuthError, OAuthLogin};
use wright_mcp::{McpServerConfig, McpTransport};

fn http(url: &str) -> McpServerConfig {
    McpServerConfig::new(McpTransport::StreamableHttp {
        url: url.to_string(),
        bearer_token_env_var: None,
        http_headers: None,
    })
}

async fn start(home: &Path, server: &OAuthServer, scopes: &[&str]) -> OAuthLogin {
    oauth::start_login(
        home,
        "docs",
        &http(&server.url()),
        scopes.iter().map(|s| s.to_string()).collect(),
        Duration::from_secs(20),
    )
    .await
    .unwrap()
}

fn stored(home: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(oauth::credentials_path(home, "docs")).unwrap()).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn login_stores_a_token_for_its_url_only_and_a_forged_state_is_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let server = OAuthServer::start().await;
    assert_eq!(server.call_mcp("no-token").await, 401);

    let login = start(home, &server, &[]).await;
    let url = &login.authorization_url;
    assert!(
        url.starts_with(&format!("{}/authorize?", server.base)),
        "{url}"
    );
    assert_eq!(param(url, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param(url, "resource"), Some(server.url()));
    // Scopes from the challenge, plus offline_access the authorization server offers.
    assert_eq!(
        param(url, "scope").as_deref(),
        Some("mcp:tools offline_access")
    );
    let redirect_uri = param(url, "redirect_uri").unwrap();
    assert!(
        redirect_uri.starts_with("http://127.0.0.1:") && redirect_uri.ends_with("/callback"),
        "{redirect_uri}"
    );
    assert_eq!(server.get(|s| s.clients.len()), 1, "registered once");

    let redirect = approve(url).await;
    assert!(redirect.starts_with(&redirect_uri), "{redirect}");

    // A redirect with another state (a forged or stale one) is refused and stores nothing...
    let (status, page) = visit(&with_param(&redirect, "state", "forged")).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("state mismatch"), "{page}");
    assert!(!oauth::credentials_path(home, "docs").exists());
    assert!(server.get(|s| s.token_requests.is_empty()), "no exchange");
    // ...and the login goes on: the real redirect completes it.
    let (status, page) = visit(&redirect).await;
    assert_eq!(status, 200, "{page}");
    login.completion.await.unwrap().unwrap();

    let path = oauth::credentials_path(home, "docs");
    assert_eq!(path, home.join(".credentials/mcp/docs.json"));
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let file = stored(home);
    let token = file["access_token"].as_str().unwrap().to_string();
    assert_eq!(file["url"], server.url());
    assert_eq!(file["client_id"], "client-1");
    assert!(file["refresh_token"].is_string());
    assert!(file["expires_at"].as_u64().unwrap() > 0);
    assert_eq!(
        file["scopes"],
        serde_json::json!(["mcp:tools", "offline_access"])
    );

    // The exchange sent the PKCE verifier and the server checked it.
    let request = server.get(|s| s.token_requests[0].clone());
    assert_eq!(request["grant_type"], "authorization_code");
    assert!(request["code_verifier"].len() >= 43);
    assert_eq!(server.get(|s| s.token_statuses.clone()), vec![200]);

    // The token is handed out for the URL it was issued for, and no other.
    assert_eq!(
        oauth::access_token(home, "docs", &server.url()),
        Some(token.clone())
    );
    assert_eq!(
        oauth::access_token(home, "docs", "http://127.0.0.1:1/mcp"),
        None
    );
    assert_eq!(oauth::access_token(home, "other", &server.url()), None);
    assert!(oauth::has_login(home, "docs", &server.url()));
    assert_eq!(server.call_mcp(&token).await, 200);

    assert!(oauth::logout(home, "docs").unwrap());
    assert!(!path.exists());
    assert_eq!(oauth::access_token(home, "docs", &server.url()), None);
    assert!(!oauth::logout(home, "docs").unwrap());
}

#[tokio::test]
async fn the_token_endpoint_checks_the_pkce_verifier() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let server = OAuthServer::start().await;

    // The server holds a challenge wright's verifier does not answer: no token.
    server.set(|s| s.swap_challenge = true);
    let login = start(home, &server, &[]).await;
    let (status, page) = visit(&approve(&login.authorization_url).await).await;
    assert_eq!(status, 400, "{page}");
    let err = login.completion.await.unwrap().unwrap_err();
    assert!(matches!(err, OAuthError::TokenExchange { .. }), "{err}");
    assert!(!oauth::credentials_path(home, "docs").exists());
    assert_eq!(server.get(|s| s.token_statuses.clone()), vec![400]);

    // The same flow with the challenge wright sent: the verifier matches.
    server.set(|s| s.swap_challenge = false);
    let login = start(home, &server, &[]).await;
    let (status, _) = visit(&approve(&login.authorization_url).await).await;
    assert_eq!(status, 200);
    login.completion.await.unwrap().unwrap();
    assert_eq!(server.get(|s| s.token_statuses.clone()), vec![400, 200]);
    assert!(oauth::access_token(home, "docs", &server.url()).is_some());
}

#[tokio::test]
async fn a_denied_login_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let server = OAuthServer::start().await;
    server.set(|s| s.deny = true);
    let login = start(home, &server, &["mcp:tools"]).await;
    let (status, page) = visit(&approve(&login.authorization_url).await).await;
    assert_eq!(status, 400);
    assert!(page.contains("denied"), "{page}");
    let err = login.completion.await.unwrap().unwrap_err();
    match &err {
        OAuthError::Denied {
            error, description, ..
        } => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("the user said no"));
        }
        other => panic!("{other}"),
    }
    assert!(!oauth::credentials_path(home, "docs").exists());
    assert!(server.get(|s| s.token_requests.is_empty()));
}

#[tokio::test]
async fn explicit_scopes_are_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let server = OAuthServer::start().await;
    let login = start(tmp.path(), &server, &["read", "write"]).await;
    assert_eq!(
        param(&login.authorization_url, "scope").as_deref(),
        Some("read write offline_access")
    );
    login.completion.abort();
}

#[tokio::test]
async fn a_login_times_out_and_says_whether_it_saw_a_foreign_state() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let server = OAuthServer::start().await;
    let short = |home: &Path, server: &OAuthServer| {
        let config = http(&server.url());
        let home = home.to_path_buf();
        async move {
            oauth::start_login(&home, "docs", &config, vec![], Duration::from_millis(1500))
                .await
                .unwrap()
        }
    };

    let login = short(home, &server).await;
    let err = login.completion.await.unwrap().unwrap_err();
    assert!(matches!(err, OAuthError::Timeout { secs: 1, .. }), "{err}");

    let login = short(home, &server).await;
    let redirect = approve(&login.authorization_url).await;
    let (status, _) = visit(&with_param(&redirect, "state", "other")).await;
    assert_eq!(status, 400);
    let err = login.completion.await.unwrap().unwrap_err();
    assert!(
        matches!(err, OAuthError::StateMismatch { count: 1, .. }),
        "{err}"
    );
    assert!(!oauth::credentials_path(home, "docs").exists());
}

#[tokio::test]
async fn errors_before_the_browser_name_the_step() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let login = |config: McpServerConfig| {
        let home = home.to_path_buf();
        async move {
            oauth::start_login(&home, "docs", &config, vec![], Duration::from_secs(5))
                .await
                .unwrap_err()
        }
    };

    let stdio = McpServerConfig::new(McpTransport::Stdio {
        command: "srv".into(),
        args: vec![],
        env: None,
        cwd: None,
    });
    let err = login(stdio).await;
    assert!(matches!(err, OAuthError::NotHttp(_)), "{err}");
    assert!(err
        .to_string()
        .contains("only supported for streamable HTTP"));

    let server = OAuthServer::start().await;
    let bearer = McpServerConfig::new(McpTransport::StreamableHttp {
        url: server.url(),
        bearer_token_env_var: Some("TOKEN".into()),
        http_headers: None,
    });
    let err = login(bearer).await;
    assert!(
        matches!(err, OAuthError::BearerTokenConfigured { .. }),
        "{err}"
    );

    server.set(|s| s.refuse_registration = true);
    let err = login(http(&server.url())).await;
    assert!(
        matches!(err, OAuthError::RegistrationRefused { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("registration is closed"), "{err}");
    server.set(|s| s.refuse_registration = false);

    server.set(|s| s.no_registration = true);
    let err = login(http(&server.url())).await;
    assert!(
        matches!(err, OAuthError::RegistrationUnsupported { .. }),
        "{err}"
    );
    server.set(|s| s.no_registration = false);

    server.set(|s| s.no_oauth = true);
    let err = login(http(&server.url())).await;
    assert!(matches!(err, OAuthError::NoOAuthSupport { .. }), "{err}");
    server.set(|s| s.no_oauth = false);

    // Nothing listens on a port taken and released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = login(http(&format!("http://127.0.0.1:{port}/mcp"))).await;
    assert!(matches!(err, OAuthError::Unreachable { .. }), "{err}");

    // The same server with none of those problems starts a login.
    let ok = oauth::start_login(
        home,
        "docs",
        &http(&server.url()),
        vec![],
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    ok.completion.abort();
    assert!(!oauth::credentials_path(home, "docs").exists());
}

/// Makes the stored token look expired.
fn expire(home: &Path) {
    let path = oauth::credentials_path(home, "docs");
    let mut file = stored(home);
    file["expires_at"] = serde_json::json!(1);
    file["obtained_at"] = serde_json::json!(0);
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
}

#[tokio::test]
async fn an_expired_token_is_refreshed_with_the_refresh_token() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let server = OAuthServer::start().await;
    let url = server.url();
    let login = start(home, &server, &[]).await;
    visit(&approve(&login.authorization_url).await).await;
    login.completion.await.unwrap().unwrap();
    let first = stored(home);

    // Valid: no request to the authorization server.
    let token = oauth::fresh_access_token(home, "docs", &url).await.unwrap();
    assert_eq!(token.as_deref(), first["access_token"].as_str());
    assert_eq!(server.get(|s| s.token_requests.len()), 1);

    expire(home);
    assert_eq!(oauth::access_token(home, "docs", &url), None, "expired");
    let token = oauth::fresh_access_token(home, "docs", &url)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(Some(token.as_str()), first["access_token"].as_str());
    let request = server.get(|s| s.token_requests[1].clone());
    assert_eq!(request["grant_type"], "refresh_token");
    assert_eq!(
        Some(request["refresh_token"].as_str()),
        first["refresh_token"].as_str()
    );
    assert_eq!(request["resource"], url);
    assert_eq!(oauth::access_token(home, "docs", &url), Some(token.clone()));
    assert_eq!(mode(&oauth::credentials_path(home, "docs")), 0o600);
    assert_eq!(server.call_mcp(&token).await, 200);

    // Another URL gets nothing, refreshed or not.
    assert_eq!(
        oauth::fresh_access_token(home, "docs", "http://127.0.0.1:1/mcp")
            .await
            .unwrap(),
        None
    );

    // A refresh token the server no longer honours: log in again.
    expire(home);
    server.set(|s| s.refresh_tokens.clear());
    let err = oauth::fresh_access_token(home, "docs", &url)
        .await
        .unwrap_err();
    assert!(matches!(err, OAuthError::LoginExpired { .. }), "{err}");
    assert!(err.to_string().contains("wright mcp login docs"), "{err}");
}
