//! The KV state of the prompt's fixed start, kept on disk between processes.
//!
//! Every request to a small model starts with the same system prompt, tool declarations and
//! worked examples (~800 tokens with Qwen2.5's tokenizer). Within a process the KV cache keeps
//! them, but each `wright exec` is a new process and evaluated them again: several seconds on
//! two cores before the first token. The first process to evaluate a fixed start saves its KV
//! state (~6 MB with the 8-bit cache) under `$XDG_CACHE_HOME/wright/local-kv/`; later ones load
//! it in milliseconds.
//!
//! A file is named by the SHA-256 of everything its state depends on (the model file, the
//! context settings, the llama.cpp bindings) and of its tokens; llama.cpp's own header repeats
//! the tokens, which must match before the state is used. A file that does not load or match is
//! ignored and later replaced. Files are written under a temporary name and renamed, so a
//! killed process or a full disk leaves no partial file, and at most [`KEEP`] are kept.

use std::time::{SystemTime, UNIX_EPOCH};

use super::*;
use crate::prompt::fixed_start;

/// Cache files kept (one per distinct fixed start: model, sandbox wording, tools).
const KEEP: usize = 16;
/// A fixed start shorter than this is cheaper to evaluate than to load.
const MIN_TOKENS: usize = 64;
/// The bindings whose llama.cpp wrote a state; another version may lay the state out otherwise.
const BINDINGS: &str = "llama-cpp-2 =0.1.160";

pub(super) struct PrefixCache {
    dir: PathBuf,
    /// What a saved state depends on besides its tokens.
    identity: String,
}

impl PrefixCache {
    pub(super) fn new(dir: &Path, model: &Path, config: &EngineConfig, n_ctx: u32) -> Option<Self> {
        let meta = std::fs::metadata(model).ok()?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let model = std::fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf());
        let identity = format!(
            "{BINDINGS}\n{}\n{} bytes, modified {modified}\nn_ctx {n_ctx}, 8-bit kv {}\n",
            model.display(),
            meta.len(),
            config.quantized_kv_cache,
        );
        Some(Self {
            dir: dir.to_path_buf(),
            identity,
        })
    }

    fn file_for(&self, tokens: &[LlamaToken]) -> PathBuf {
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        hash.update(self.identity.as_bytes());
        for t in tokens {
            hash.update(&t.0.to_le_bytes());
        }
        let digest = hash.finish();
        let name: String = digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.dir.join(format!("{name}.kv"))
    }
}

impl Session<'_> {
    /// With nothing of `tokens` in the KV cache, fills it with the prompt's fixed start: loaded
    /// from the disk cache, or evaluated and then saved there. Returns how many leading tokens
    /// of `tokens` are now in the KV cache (0 when there is no disk cache or no fixed start
    /// worth keeping) and whether they came from disk.
    pub(super) fn restore_fixed_start(
        &mut self,
        prompt: &Prompt,
        tools: &[ToolDecl],
        tokens: &[LlamaToken],
        tx: &Tx,
    ) -> Result<(usize, bool), Stop> {
        if self.prefix_cache.is_none() || !self.cached.is_empty() {
            return Ok((0, false));
        }
        let (messages, _) = fixed_start(prompt, tools);
        let Ok((_, fixed)) = self.tokenize_chat(&messages, false) else {
            return Ok((0, false));
        };
        // The start must be the prompt's own first tokens (a template could render a message
        // differently when more follow), and one token must be left to evaluate, for the logits.
        if fixed.len() < MIN_TOKENS || fixed.len() >= tokens.len() || !tokens.starts_with(&fixed) {
            return Ok((0, false));
        }
        let Some(path) = self.prefix_cache.as_ref().map(|c| c.file_for(&fixed)) else {
            return Ok((0, false));
        };
        // A state in a directory others can write to may be theirs: not loaded, not saved.
        if let Err(e) = path.parent().map_or(Ok(()), make_private_dir) {
            warn_once(&path, &e.to_string());
            return Ok((0, false));
        }
        if self.load_state(&path, &fixed) {
            return Ok((fixed.len(), true));
        }
        self.eval(&fixed, Some(tx))?;
        self.save_state(&path, &fixed);
        Ok((fixed.len(), false))
    }

    fn load_state(&mut self, path: &Path, fixed: &[LlamaToken]) -> bool {
        if !path.is_file() {
            return false;
        }
        log::clear_errors();
        match self.ctx.state_seq_load_file(path, 0, fixed.len()) {
            Ok((tokens, _)) if tokens == fixed => {
                self.cached = tokens;
                // Recently used files are the ones pruning keeps.
                let _ = std::fs::File::options()
                    .append(true)
                    .open(path)
                    .and_then(|f| f.set_modified(SystemTime::now()));
                tracing::debug!(path = %path.display(), tokens = fixed.len(), "loaded the prompt's fixed start");
                true
            }
            outcome => {
                // Whatever part of the state was set is not ours.
                self.ctx.clear_kv_cache();
                self.cached.clear();
                let why = match outcome {
                    Ok(_) => "its tokens differ".to_string(),
                    Err(e) => format!("{e} {}", log::take_errors()),
                };
                tracing::debug!(path = %path.display(), why, "ignoring a saved prompt start");
                false
            }
        }
    }

    fn save_state(&self, path: &Path, fixed: &[LlamaToken]) {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return;
        };
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let saved = make_private_dir(dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                self.ctx
                    .state_seq_save_file(&tmp, 0, fixed)
                    .map_err(|e| format!("{e} {}", log::take_errors()))
            })
            .and_then(|_| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
        match saved {
            Ok(()) => {
                tracing::debug!(path = %path.display(), tokens = fixed.len(), "saved the prompt's fixed start");
                prune(dir);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                warn_once(path, &e);
            }
        }
    }
}

/// Says once per process that the disk cache is not used, and why.
fn warn_once(path: &Path, why: &str) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        let dir = path.parent().unwrap_or(path);
        tracing::warn!(
            "cannot keep the local model's prompt cache in {}: {why}; each run evaluates the \
             prompt's start again",
            dir.display()
        );
    }
}

/// The directory, made readable by the user alone when created here. One that another user
/// could write to is refused: llama.cpp opens the temporary file by name, and a symlink planted
/// there would have it overwrite some other file of this user's.
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(std::io::Error::other(
            "it is not a directory of this user's that only they can write to",
        ));
    }
    Ok(())
}

/// Keeps the [`KEEP`] most recently used states, and removes temporary files a killed process
/// left over an hour ago.
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    let mut states = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        if name.ends_with(".kv") && !name.starts_with('.') {
            states.push((modified, entry.path()));
        } else if name.starts_with('.')
            && name.ends_with(".tmp")
            && now
                .duration_since(modified)
                .is_ok_and(|age| age.as_secs() > 3600)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if states.len() > KEEP {
        states.sort_by_key(|s| std::cmp::Reverse(s.0));
        for (_, path) in states.drain(KEEP..) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Where this user's prompt caches live: `$XDG_CACHE_HOME/wright/local-kv`, else
/// `~/.cache/wright/local-kv`; `None` without either.
pub(crate) fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        // The XDG spec says to ignore a relative path.
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".cache"))
        })?;
    Some(base.join("wright").join("local-kv"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pruning_keeps_the_most_recently_used_states_and_drops_stale_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let touch = |name: &str, age_secs: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, b"x").unwrap();
            let file = std::fs::File::options().append(true).open(&path).unwrap();
            file.set_modified(now - Duration::from_secs(age_secs))
                .unwrap();
        };
        for i in 0..KEEP + 3 {
            touch(&format!("{i:02}.kv"), i as u64 * 10);
        }
        touch(".old.kv.1.tmp", 7200);
        touch(".fresh.kv.2.tmp", 10);
        touch("other.txt", 99_999);
        prune(dir.path());
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want: Vec<String> = (0..KEEP).map(|i| format!("{i:02}.kv")).collect();
        // A temporary file may belong to a process still writing it; other files are not ours.
        want.extend([".fresh.kv.2.tmp".to_string(), "other.txt".to_string()]);
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn a_directory_others_can_write_to_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("kv");
        make_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(make_private_dir(&dir).is_err());
        // A symlink to a private directory is refused too: it may be swapped.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(make_private_dir(&link).is_err());
        assert!(make_private_dir(&dir).is_ok());
    }

    #[test]
    fn the_file_name_depends_on_the_identity_and_the_tokens() {
        let dir = Path::new("/cache");
        let cache = |identity: &str| PrefixCache {
            dir: dir.to_path_buf(),
            identity: identity.to_string(),
        };
        let tokens = [LlamaToken(1), LlamaToken(2)];
        let a = cache("model a").file_for(&tokens);
        assert_eq!(a, cache("model a").file_for(&tokens));
        assert_ne!(a, cache("model b").file_for(&tokens));
        assert_ne!(a, cache("model a").file_for(&tokens[..1]));
        assert!(a.starts_with(dir) && a.extension().is_some_and(|e| e == "kv"));
    }
}
