//! One stored login per server: `$WRIGHT_HOME/.credentials/mcp/<server>.json`.
//!
//! A file per server (not one shared file) so a login, a refresh and a logout of different
//! servers never race on the same bytes, and a logout is one `unlink`. The file names the
//! server URL the token was issued for: a token is only handed to that URL, so editing a
//! server's `url` in config.toml cannot send an old token to a new host.
//!
//! Writes go to a temporary file created with mode 0600 (`O_CREAT|O_EXCL`, so it is never
//! readable by others, not even for a moment) in the same directory, then are renamed over the
//! old file: a reader sees the old login or the new one, never a part.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rmcp::transport::auth::AuthorizationMetadata;
use serde::{Deserialize, Serialize};

/// The format version written in every file.
const VERSION: u32 = 1;

/// At most this long before `expires_at` a token counts as expired, so a request does not
/// leave with a token that dies on the way (half the lifetime for very short-lived tokens).
const EXPIRY_MARGIN_SECS: u64 = 30;

/// What `wright mcp login NAME` stores.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredLogin {
    pub version: u32,
    /// The server's name in config.toml.
    pub server: String,
    /// The server URL the token was issued for; it is used for no other.
    pub url: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub access_token: String,
    #[serde(default = "bearer")]
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds; `None` when the authorization server gave no lifetime.
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// Unix seconds when the token was received.
    pub obtained_at: u64,
    /// The scopes granted (or asked for, when the server did not say).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The RFC 8707 resource the token was asked for (from the server's metadata); a
    /// refresh asks for the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The authorization server's metadata, so a refresh needs no discovery.
    pub authorization_server: AuthorizationMetadata,
}

fn bearer() -> String {
    "Bearer".into()
}

// Tokens and the client secret never reach a log through `{:?}`.
impl std::fmt::Debug for StoredLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLogin")
            .field("server", &self.server)
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl StoredLogin {
    pub fn new(
        server: &str,
        url: &str,
        client_id: String,
        authorization_server: AuthorizationMetadata,
    ) -> StoredLogin {
        StoredLogin {
            version: VERSION,
            server: server.to_string(),
            url: url.to_string(),
            client_id,
            client_secret: None,
            access_token: String::new(),
            token_type: bearer(),
            refresh_token: None,
            expires_at: None,
            obtained_at: now(),
            scopes: Vec::new(),
            resource: None,
            authorization_server,
        }
    }

    /// Whether the access token may still be sent at `now` (unix seconds).
    pub fn usable_at(&self, now: u64) -> bool {
        match self.expires_at {
            None => true,
            Some(expires_at) => {
                let lifetime = expires_at.saturating_sub(self.obtained_at);
                now + EXPIRY_MARGIN_SECS.min(lifetime / 2) < expires_at
            }
        }
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn dir(home: &Path) -> PathBuf {
    home.join(".credentials").join("mcp")
}

/// Where `server`'s login is stored. `server` must be a valid server name (no `/` or `..`),
/// which the callers check.
pub(crate) fn path(home: &Path, server: &str) -> PathBuf {
    dir(home).join(format!("{server}.json"))
}

/// The stored login of `server`, if there is a readable one.
pub(crate) fn load(home: &Path, server: &str) -> std::io::Result<Option<StoredLogin>> {
    let bytes = match std::fs::read(path(home, server)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Stores `login` for `login.server`, replacing any earlier one.
pub(crate) fn save(home: &Path, login: &StoredLogin) -> std::io::Result<()> {
    let dir = dir(home);
    // 0700 for the directories it creates: the file names say which servers the user uses.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    let body = serde_json::to_vec_pretty(login).map_err(std::io::Error::other)?;
    let tmp = temp_path(&dir, &login.server);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&body)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path(home, &login.server))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    if let Ok(d) = std::fs::File::open(&dir) {
        // Best effort: the data is synced; this only makes the rename survive a crash.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Deletes `server`'s login; whether there was one.
pub(crate) fn remove(home: &Path, server: &str) -> std::io::Result<bool> {
    // The refresh lock file holds no secret; it goes with the login.
    let _ = std::fs::remove_file(path(home, server).with_extension("lock"));
    match std::fs::remove_file(path(home, server)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A name no other writer (thread or process) uses at the same time.
fn temp_path(dir: &Path, server: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(
        ".{server}.json.{}.{nanos}.{n}.tmp",
        std::process::id()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_counts_as_expired_shortly_before_it_expires() {
        let mut login = StoredLogin::new("s", "u", "c".into(), AuthorizationMetadata::default());
        login.obtained_at = 1000;
        login.expires_at = Some(1000 + 3600);
        assert!(login.usable_at(1000));
        assert!(login.usable_at(1000 + 3600 - 31));
        assert!(!login.usable_at(1000 + 3600 - 30));
        // A 10 s token is usable for its first 5 s.
        login.expires_at = Some(1010);
        assert!(login.usable_at(1004));
        assert!(!login.usable_at(1005));
        login.expires_at = None;
        assert!(login.usable_at(u64::MAX / 2));
    }

    #[test]
    fn debug_output_has_no_secrets() {
        let mut login = StoredLogin::new("s", "u", "c".into(), AuthorizationMetadata::default());
        login.access_token = "AT-SECRET".into();
        login.refresh_token = Some("RT-SECRET".into());
        login.client_secret = Some("CS-SECRET".into());
        let shown = format!("{login:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
