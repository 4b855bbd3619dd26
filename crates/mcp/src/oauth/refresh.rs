//! Refreshing an expired access token with the stored refresh token (rmcp's
//! `AuthorizationManager::refresh_token`, fed from the stored file, so no discovery is needed).

use std::path::{Path, PathBuf};

use rmcp::transport::auth::{
    AuthError, AuthorizationManager, CredentialStore, InMemoryCredentialStore, OAuthClientConfig,
    OAuthTokenResponse, StoredCredentials,
};
use serde_json::json;

use super::store::{self, StoredLogin};
use super::{apply_token, install_crypto, save, stored_for, OAuthError};

/// The stored access token for `server` at `url`, refreshed first when it has expired and
/// a refresh token is stored. `Ok(None)`: no login stored for that URL.
/// `Err(LoginExpired)`: the user must log in again.
pub async fn fresh_access_token(
    home: &Path,
    server: &str,
    url: &str,
) -> Result<Option<String>, OAuthError> {
    let load = || {
        stored_for(home, server, url).map_err(|error| OAuthError::Store {
            path: store::path(home, server),
            error,
        })
    };
    let Some(login) = load()? else {
        return Ok(None);
    };
    if login.usable_at(store::now()) {
        return Ok(Some(login.access_token));
    }
    // One refresh at a time per server, in this process and across processes (a TUI and an
    // app server may both find the token expired): a server that rotates refresh tokens
    // would reject the second one. Another refresher may have finished meanwhile.
    let lock = refresh_lock(home, server);
    let _guard = lock.lock().await;
    let _file_lock = lock_file(home, server).await;
    let Some(login) = load()? else {
        return Ok(None);
    };
    if login.usable_at(store::now()) {
        return Ok(Some(login.access_token));
    }
    let refreshed = refresh(login).await?;
    save(home, &refreshed)?;
    Ok(Some(refreshed.access_token))
}

fn refresh_lock(home: &Path, server: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    locks.entry(store::path(home, server)).or_default().clone()
}

/// An exclusive `flock` on `<server>.lock` beside the credentials, held until dropped.
/// `None` (refresh unlocked) when the lock file cannot be made: a lost race costs a login,
/// a refusal to refresh would cost it every time.
async fn lock_file(home: &Path, server: &str) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let path = store::path(home, server).with_extension("lock");
    tokio::task::spawn_blocking(move || {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path.parent()?)
            .ok()?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .ok()?;
        // SAFETY: flock on a descriptor this function owns; it blocks at most as long as
        // another refresh (whose HTTP requests time out).
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0;
        locked.then_some(file)
    })
    .await
    .ok()
    .flatten()
}

async fn refresh(mut login: StoredLogin) -> Result<StoredLogin, OAuthError> {
    let server = login.server.clone();
    let failed = |reason: String| OAuthError::Refresh {
        server: server.clone(),
        reason,
    };
    if login.refresh_token.is_none() {
        return Err(OAuthError::LoginExpired { server });
    }
    install_crypto();
    // The manager's base URL is what rmcp sends as the RFC 8707 `resource`: the one the
    // token was issued for.
    let base = login.resource.clone().unwrap_or_else(|| login.url.clone());
    let mut manager = AuthorizationManager::new(base.as_str())
        .await
        .map_err(|e| failed(e.to_string()))?;
    manager.set_metadata(login.authorization_server.clone());
    let mut client = OAuthClientConfig::new(login.client_id.clone(), login.url.clone());
    if let Some(secret) = &login.client_secret {
        client = client.with_client_secret(secret.clone());
    }
    manager
        .configure_client(client)
        .map_err(|e| failed(e.to_string()))?;
    let current: OAuthTokenResponse = serde_json::from_value(json!({
        "access_token": login.access_token,
        "token_type": login.token_type,
        "refresh_token": login.refresh_token,
    }))
    .map_err(|e| failed(e.to_string()))?;
    let credentials = InMemoryCredentialStore::new();
    credentials
        .save(StoredCredentials::new(
            login.client_id.clone(),
            Some(current),
            login.scopes.clone(),
            Some(login.obtained_at),
        ))
        .await
        .map_err(|e| failed(e.to_string()))?;
    manager.set_credential_store(credentials);
    let token = match manager.refresh_token().await {
        Ok(token) => token,
        Err(AuthError::AuthorizationRequired | AuthError::TokenRefreshRejected(_)) => {
            return Err(OAuthError::LoginExpired { server })
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    apply_token(&mut login, &token).map_err(failed)?;
    Ok(login)
}
