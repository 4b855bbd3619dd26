//! `$WRIGHT_HOME/auth.json`: the OpenAI API key stored by `account/login/start`, in Codex's
//! format (`{"auth_mode": "apikey", "OPENAI_API_KEY": "…"}`), readable by the user only.
//!
//! Providers that use OpenAI credentials take the key from the environment first
//! (`CODEX_API_KEY`, then `OPENAI_API_KEY`) and from this file otherwise (see
//! [`crate::config`]). The key is never logged or put in an error message.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The longest key accepted; real keys are a few hundred bytes.
const MAX_KEY_BYTES: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid auth file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the API key must be 1 to 4096 bytes without spaces or control characters")]
    BadKey,
}

#[derive(Serialize, Deserialize)]
struct AuthDotJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_mode: Option<String>,
    #[serde(rename = "OPENAI_API_KEY", default)]
    openai_api_key: Option<String>,
}

/// `$WRIGHT_HOME/auth.json`.
pub fn auth_path(home: &Path) -> PathBuf {
    home.join("auth.json")
}

/// The stored key; `None` when there is no file or it holds no key (ChatGPT tokens copied
/// from Codex, say).
pub fn stored_api_key(home: &Path) -> Result<Option<String>, AuthError> {
    let path = auth_path(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AuthError::Read { path, source }),
    };
    let parsed: AuthDotJson = serde_json::from_str(&text).map_err(|e| AuthError::Parse {
        path: path.clone(),
        // The position only: serde's message could quote part of the key.
        message: format!("invalid JSON at line {} column {}", e.line(), e.column()),
    })?;
    Ok(parsed
        .openai_api_key
        .filter(|k| !k.trim().is_empty() && valid_key(k)))
}

/// A key is sent as an HTTP header value: no whitespace or control characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_BYTES
        && !key.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Stores `key`, replacing any stored credentials: written to a temporary file (mode 0600) in
/// `$WRIGHT_HOME` and renamed over `auth.json`, so a reader sees the old file or the new one,
/// never a part, and a symlink planted as `auth.json` is replaced, not followed.
pub fn store_api_key(home: &Path, key: &str) -> Result<(), AuthError> {
    if !valid_key(key) {
        return Err(AuthError::BadKey);
    }
    let path = auth_path(home);
    let write_err = |source| AuthError::Write {
        path: path.clone(),
        source,
    };
    create_private_dir(home).map_err(write_err)?;
    let body = serde_json::to_vec_pretty(&AuthDotJson {
        auth_mode: Some("apikey".into()),
        openai_api_key: Some(key.to_string()),
    })
    .map_err(|e| write_err(std::io::Error::other(e)))?;
    // tempfile creates the file with mode 0600 and O_EXCL.
    let mut tmp = tempfile::Builder::new()
        .prefix(".auth.json.")
        .tempfile_in(home)
        .map_err(write_err)?;
    tmp.write_all(&body).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(&path).map_err(|e| write_err(e.error))?;
    sync_dir(home);
    Ok(())
}

/// Deletes the stored key; whether there was a file.
pub fn remove_api_key(home: &Path) -> Result<bool, AuthError> {
    let path = auth_path(home);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            sync_dir(home);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(AuthError::Write { path, source }),
    }
}

/// `$WRIGHT_HOME` (and missing parents), mode 0700 for the directories it creates.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Makes a rename durable. Best effort: the data is already synced, and a failure here only
/// risks the old file coming back after a crash.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn store_read_remove() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().join("nested/home");
        assert_eq!(stored_api_key(&home).unwrap(), None);
        store_api_key(&home, "sk-test-1").unwrap();
        let mode = std::fs::metadata(auth_path(&home))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(&home).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(stored_api_key(&home).unwrap().as_deref(), Some("sk-test-1"));
        let text = std::fs::read_to_string(auth_path(&home)).unwrap();
        assert!(text.contains("\"OPENAI_API_KEY\""), "{text}");
        store_api_key(&home, "sk-test-2").unwrap();
        assert_eq!(stored_api_key(&home).unwrap().as_deref(), Some("sk-test-2"));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["auth.json"]);
        assert!(remove_api_key(&home).unwrap());
        assert!(!remove_api_key(&home).unwrap());
        assert_eq!(stored_api_key(&home).unwrap(), None);
    }

    #[test]
    fn bad_keys_are_refused_and_never_echoed() {
        let home = tempfile::tempdir().unwrap();
        for key in ["", "sk with space", "sk-\n", &"x".repeat(MAX_KEY_BYTES + 1)] {
            assert!(matches!(
                store_api_key(home.path(), key),
                Err(AuthError::BadKey)
            ));
        }
        std::fs::write(auth_path(home.path()), "{\"OPENAI_API_KEY\": \"sk-secret").unwrap();
        let err = stored_api_key(home.path()).unwrap_err().to_string();
        assert!(!err.contains("sk-secret"), "{err}");
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let home = tempfile::tempdir().unwrap();
        let elsewhere = home.path().join("elsewhere.txt");
        std::fs::write(&elsewhere, "keep me").unwrap();
        std::os::unix::fs::symlink(&elsewhere, auth_path(home.path())).unwrap();
        store_api_key(home.path(), "sk-test").unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep me");
        assert!(!std::fs::symlink_metadata(auth_path(home.path()))
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
